/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tandem-window.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_APPLICATION (tandem_application_get_type ())
G_DECLARE_FINAL_TYPE (TandemApplication, tandem_application, TANDEM, APPLICATION, AdwApplication)

/* One process for all windows (single instance); each database opened gets
 * one store, one sync engine and a window. `tandem --db PATH` opens another
 * database, in the running instance if there is one. */
TandemApplication *tandem_application_new           (const char         *application_id,
                                                     GApplicationFlags   flags);
GSettings         *tandem_application_get_settings  (TandemApplication  *self);
/* Presents the window of @path (opening the store and starting its sync
 * engine the first time); NULL and @error when the database cannot be
 * used. */
TandemWindow      *tandem_application_open_database (TandemApplication  *self,
                                                     const char         *path,
                                                     GError            **error);

G_END_DECLS
