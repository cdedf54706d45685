/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tandem-task-details.h"

G_BEGIN_DECLS

/* For tests: the editing widgets, and the history as shown. */
AdwEntryRow *_tandem_task_details_get_title_row   (TandemTaskDetails *self);
GtkTextView *_tandem_task_details_get_notes_view  (TandemTaskDetails *self);
AdwEntryRow *_tandem_task_details_get_tag_row     (TandemTaskDetails *self);
AdwEntryRow *_tandem_task_details_get_comment_row (TandemTaskDetails *self);
GStrv        _tandem_task_details_dup_history     (TandemTaskDetails *self);

G_END_DECLS
