/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

#include "tandem-task.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_TASK_OBJECT (tandem_task_object_get_type ())
G_DECLARE_FINAL_TYPE (TandemTaskObject, tandem_task_object, TANDEM, TASK_OBJECT, GObject)

/* One task as list models and widgets see it: the store's record plus, for
 * a task whose change the server refused, the reason. */
TandemTaskObject *tandem_task_object_new            (const TandemTask *task,
                                                     const char       *sync_error);
const TandemTask *tandem_task_object_get_task       (TandemTaskObject *self);
/* Takes the new state of the same task; notifies the properties whose
 * values changed and returns whether any did. */
gboolean          tandem_task_object_update         (TandemTaskObject *self,
                                                     const TandemTask *task,
                                                     const char       *sync_error);

const char       *tandem_task_object_get_id         (TandemTaskObject *self);
const char       *tandem_task_object_get_title      (TandemTaskObject *self);
const char       *tandem_task_object_get_notes      (TandemTaskObject *self);
const char       *tandem_task_object_get_due        (TandemTaskObject *self);
const char       *tandem_task_object_get_list_id    (TandemTaskObject *self);
gboolean          tandem_task_object_get_done       (TandemTaskObject *self);
gboolean          tandem_task_object_get_deleted    (TandemTaskObject *self);
int               tandem_task_object_get_priority   (TandemTaskObject *self);
TandemSyncStatus  tandem_task_object_get_sync_status (TandemTaskObject *self);
const char       *tandem_task_object_get_sync_error (TandemTaskObject *self);

/* Whether the title, notes or a tag contains @folded (g_utf8_casefold). */
gboolean          tandem_task_object_matches        (TandemTaskObject *self,
                                                     const char       *folded);

G_END_DECLS
