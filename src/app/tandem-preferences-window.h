/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tandem-store.h"
#include "tandem-sync-engine.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_PREFERENCES_WINDOW (tandem_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (TandemPreferencesWindow, tandem_preferences_window, TANDEM,
                      PREFERENCES_WINDOW, AdwPreferencesWindow)

/* The sync account of @store (server address, token, sign in and out) and
 * the sync settings: "sync-interval-minutes" of @settings, bound both ways,
 * and the state of @engine. Modal and transient for @parent. */
GtkWindow *tandem_preferences_window_new (GtkWindow        *parent,
                                          TandemStore      *store,
                                          TandemSyncEngine *engine,
                                          GSettings        *settings);

G_END_DECLS
