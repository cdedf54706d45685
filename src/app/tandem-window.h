/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tandem-store.h"
#include "tandem-sync-engine.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_WINDOW (tandem_window_get_type ())
G_DECLARE_FINAL_TYPE (TandemWindow, tandem_window, TANDEM, WINDOW, AdwApplicationWindow)

/* The main window on one database: lists, tasks, details. */
TandemWindow     *tandem_window_new        (GtkApplication   *application,
                                            TandemStore      *store,
                                            TandemSyncEngine *engine,
                                            GSettings        *settings);
TandemStore      *tandem_window_get_store  (TandemWindow     *self);
TandemSyncEngine *tandem_window_get_engine (TandemWindow     *self);
/* Reads the store again: for changes made outside the window's own
 * actions, such as in a dialog. */
void              tandem_window_refresh    (TandemWindow     *self);
/* A short message at the bottom of the window. */
void              tandem_window_show_toast (TandemWindow     *self,
                                            const char       *message);

G_END_DECLS
