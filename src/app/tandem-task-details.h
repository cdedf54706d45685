/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "tandem-store.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_TASK_DETAILS (tandem_task_details_get_type ())
G_DECLARE_FINAL_TYPE (TandemTaskDetails, tandem_task_details, TANDEM, TASK_DETAILS, GtkWidget)

/* The details pane: title, notes, due date, priority, list, tags,
 * comments and history of one task. Each change is written to the store at
 * once; then ::changed is emitted (or ::error with a sentence to show). */
GtkWidget  *tandem_task_details_new         (void);
void        tandem_task_details_set_store   (TandemTaskDetails *self,
                                             TandemStore       *store);
const char *tandem_task_details_get_task_id (TandemTaskDetails *self);
/* NULL shows "No Task Selected". */
void        tandem_task_details_set_task_id (TandemTaskDetails *self,
                                             const char        *task_id);
/* Reads the task again, keeping what the user is in the middle of typing. */
void        tandem_task_details_reload      (TandemTaskDetails *self);
/* Writes notes still being typed. */
void        tandem_task_details_save_now    (TandemTaskDetails *self);
void        tandem_task_details_focus_title (TandemTaskDetails *self);

G_END_DECLS
