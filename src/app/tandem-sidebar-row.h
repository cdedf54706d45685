/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "tandem-task-list-model.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_SIDEBAR_ROW (tandem_sidebar_row_get_type ())
G_DECLARE_FINAL_TYPE (TandemSidebarRow, tandem_sidebar_row, TANDEM, SIDEBAR_ROW, GtkListBoxRow)

/* One entry of the sidebar: Inbox, Today, a list or the Trash, with the
 * number of open tasks. Tasks dropped on the Inbox or a list move there
 * (win.move-to-list). */
GtkWidget        *tandem_sidebar_row_new         (TandemTaskFilter  filter,
                                                  const char       *list_id,
                                                  const char       *icon_name,
                                                  const char       *title);
TandemTaskFilter  tandem_sidebar_row_get_filter  (TandemSidebarRow *self);
const char       *tandem_sidebar_row_get_list_id (TandemSidebarRow *self);
/* "inbox", "today", "trash" or "list:ID", as kept in GSettings. */
const char       *tandem_sidebar_row_get_key     (TandemSidebarRow *self);
const char       *tandem_sidebar_row_get_title   (TandemSidebarRow *self);
void              tandem_sidebar_row_set_title   (TandemSidebarRow *self,
                                                  const char       *title);
void              tandem_sidebar_row_set_count   (TandemSidebarRow *self,
                                                  guint             count);

G_END_DECLS
