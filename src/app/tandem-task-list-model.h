/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tandem-store.h"
#include "tandem-task-object.h"

G_BEGIN_DECLS

/* Which tasks a view shows. */
typedef enum
{
  TANDEM_TASK_FILTER_INBOX,   /* tasks in no list (or in a list that is gone) */
  TANDEM_TASK_FILTER_LIST,    /* the tasks of one list */
  TANDEM_TASK_FILTER_TODAY,   /* due today or overdue, not done, from every list */
  TANDEM_TASK_FILTER_TRASH,   /* deleted tasks */
} TandemTaskFilter;

#define TANDEM_TYPE_TASK_LIST_MODEL (tandem_task_list_model_get_type ())
G_DECLARE_FINAL_TYPE (TandemTaskListModel, tandem_task_list_model, TANDEM, TASK_LIST_MODEL, GObject)

/* A GListModel of TandemTaskObject. A refresh reads the store again and
 * changes only what changed: objects keep their identity and are updated in
 * place, and items-changed covers just the range that moved. */
TandemTaskListModel *tandem_task_list_model_new           (TandemStore         *store);
TandemStore         *tandem_task_list_model_get_store     (TandemTaskListModel *self);

void                 tandem_task_list_model_set_filter    (TandemTaskListModel *self,
                                                           TandemTaskFilter     filter,
                                                           const char          *list_id);
TandemTaskFilter     tandem_task_list_model_get_filter    (TandemTaskListModel *self);
const char          *tandem_task_list_model_get_list_id   (TandemTaskListModel *self);
/* Search over title, notes and tags; across every list, or the Trash when
 * the Trash is shown. NULL or "" shows the filter's tasks. */
void                 tandem_task_list_model_set_search    (TandemTaskListModel *self,
                                                           const char          *text);
const char          *tandem_task_list_model_get_search    (TandemTaskListModel *self);
void                 tandem_task_list_model_set_show_completed (TandemTaskListModel *self,
                                                                gboolean             show);
/* Whether the order shown is the list's own, so tasks can be moved. */
gboolean             tandem_task_list_model_get_reorderable (TandemTaskListModel *self);

gboolean             tandem_task_list_model_refresh       (TandemTaskListModel *self,
                                                           GError             **error);
/* The same with the live tasks already read from the store (as
 * tandem_store_list_tasks() gives them), so that one read serves the model
 * and the sidebar; the Trash reads its own. */
gboolean             tandem_task_list_model_refresh_with  (TandemTaskListModel *self,
                                                           GPtrArray           *live_tasks,
                                                           GError             **error);
/* The object of @id if shown, without its position: no scan. */
TandemTaskObject    *tandem_task_list_model_lookup        (TandemTaskListModel *self,
                                                           const char          *id);
/* The object of @id if shown, and its position. */
TandemTaskObject    *tandem_task_list_model_find          (TandemTaskListModel *self,
                                                           const char          *id,
                                                           guint               *position);

G_END_DECLS
