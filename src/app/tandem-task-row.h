/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "tandem-task-object.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_TASK_ROW (tandem_task_row_get_type ())
G_DECLARE_FINAL_TYPE (TandemTaskRow, tandem_task_row, TANDEM, TASK_ROW, GtkWidget)

/* A task in a list: done checkbox, title, due date, priority, tags and the
 * sync chip. Its changes go through the window's actions (win.set-done,
 * win.review-task, win.restore-task, win.move-task). */
GtkWidget        *tandem_task_row_new                  (void);
TandemTaskObject *tandem_task_row_get_task             (TandemTaskRow    *self);
void              tandem_task_row_set_task             (TandemTaskRow    *self,
                                                        TandemTaskObject *task);
/* Whether tasks may be dragged onto this row to reorder them. */
void              tandem_task_row_set_reorderable      (TandemTaskRow    *self,
                                                        gboolean          reorderable);
/* The chip as shown ("Pending"), NULL when there is none. */
const char       *tandem_task_row_get_chip_label       (TandemTaskRow    *self);
/* What the chip says in full, which is also the row's accessible
 * description; NULL for a synced task. */
const char       *tandem_task_row_get_sync_description (TandemTaskRow    *self);

G_END_DECLS
