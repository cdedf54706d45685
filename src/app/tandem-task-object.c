/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-app"

#include "config.h"

#include <string.h>

#include "tandem-task-object.h"

struct _TandemTaskObject
{
  GObject     parent_instance;

  TandemTask *task;
  char       *sync_error;
  char       *folded;       /* title, notes and tags, casefolded, for search */
};

G_DEFINE_FINAL_TYPE (TandemTaskObject, tandem_task_object, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_TITLE,
  PROP_NOTES,
  PROP_DONE,
  PROP_DUE,
  PROP_PRIORITY,
  PROP_TAGS,
  PROP_LIST_ID,
  PROP_DELETED,
  PROP_SYNC_STATUS,
  PROP_SYNC_ERROR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static char **
dup_tags (const TandemTask *task)
{
  char **tags = g_new0 (char *, task->tags->len + 1);

  for (guint i = 0; i < task->tags->len; i++)
    tags[i] = g_strdup (g_ptr_array_index (task->tags, i));
  return tags;
}

static void
tandem_task_object_finalize (GObject *object)
{
  TandemTaskObject *self = (TandemTaskObject *) object;

  g_clear_pointer (&self->task, tandem_task_free);
  g_clear_pointer (&self->sync_error, g_free);
  g_clear_pointer (&self->folded, g_free);
  G_OBJECT_CLASS (tandem_task_object_parent_class)->finalize (object);
}

static void
tandem_task_object_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  TandemTaskObject *self = TANDEM_TASK_OBJECT (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->task->id);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->task->title);
      break;
    case PROP_NOTES:
      g_value_set_string (value, self->task->notes);
      break;
    case PROP_DONE:
      g_value_set_boolean (value, self->task->done);
      break;
    case PROP_DUE:
      g_value_set_string (value, self->task->due);
      break;
    case PROP_PRIORITY:
      g_value_set_int (value, self->task->priority);
      break;
    case PROP_TAGS:
      g_value_take_boxed (value, dup_tags (self->task));
      break;
    case PROP_LIST_ID:
      g_value_set_string (value, self->task->list_id);
      break;
    case PROP_DELETED:
      g_value_set_boolean (value, self->task->deleted);
      break;
    case PROP_SYNC_STATUS:
      g_value_set_int (value, self->task->sync_status);
      break;
    case PROP_SYNC_ERROR:
      g_value_set_string (value, self->sync_error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_task_object_class_init (TandemTaskObjectClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = tandem_task_object_finalize;
  object_class->get_property = tandem_task_object_get_property;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, flags);
  properties[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL, flags);
  properties[PROP_NOTES] = g_param_spec_string ("notes", NULL, NULL, NULL, flags);
  properties[PROP_DONE] = g_param_spec_boolean ("done", NULL, NULL, FALSE, flags);
  properties[PROP_DUE] = g_param_spec_string ("due", NULL, NULL, NULL, flags);
  properties[PROP_PRIORITY] = g_param_spec_int ("priority", NULL, NULL, 0, TANDEM_PRIORITY_MAX, 0,
                                                flags);
  properties[PROP_TAGS] = g_param_spec_boxed ("tags", NULL, NULL, G_TYPE_STRV, flags);
  properties[PROP_LIST_ID] = g_param_spec_string ("list-id", NULL, NULL, NULL, flags);
  properties[PROP_DELETED] = g_param_spec_boolean ("deleted", NULL, NULL, FALSE, flags);
  properties[PROP_SYNC_STATUS] = g_param_spec_int ("sync-status", NULL, NULL, TANDEM_SYNC_SYNCED,
                                                   TANDEM_SYNC_NEEDS_REVIEW, TANDEM_SYNC_SYNCED,
                                                   flags);
  properties[PROP_SYNC_ERROR] = g_param_spec_string ("sync-error", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tandem_task_object_init (TandemTaskObject *self)
{
}

static void
update_folded (TandemTaskObject *self)
{
  g_autoptr(GString) text = g_string_new (self->task->title);

  g_string_append_c (text, '\n');
  g_string_append (text, self->task->notes);
  for (guint i = 0; i < self->task->tags->len; i++)
    {
      g_string_append_c (text, '\n');
      g_string_append (text, g_ptr_array_index (self->task->tags, i));
    }
  g_free (self->folded);
  self->folded = g_utf8_casefold (text->str, -1);
}

TandemTaskObject *
tandem_task_object_new (const TandemTask *task,
                        const char       *sync_error)
{
  TandemTaskObject *self;

  g_return_val_if_fail (task != NULL && task->id != NULL, NULL);

  self = g_object_new (TANDEM_TYPE_TASK_OBJECT, NULL);
  self->task = tandem_task_copy (task);
  self->sync_error = g_strdup (sync_error);
  update_folded (self);
  return self;
}

static gboolean
tags_equal (const TandemTask *a,
            const TandemTask *b)
{
  if (a->tags->len != b->tags->len)
    return FALSE;
  for (guint i = 0; i < a->tags->len; i++)
    if (!g_str_equal (g_ptr_array_index (a->tags, i), g_ptr_array_index (b->tags, i)))
      return FALSE;
  return TRUE;
}

gboolean
tandem_task_object_update (TandemTaskObject *self,
                           const TandemTask *task,
                           const char       *sync_error)
{
  TandemTask *old;
  GParamSpec *changed[N_PROPS];
  guint n_changed = 0;

  g_return_val_if_fail (TANDEM_IS_TASK_OBJECT (self), FALSE);
  g_return_val_if_fail (task != NULL && g_strcmp0 (task->id, self->task->id) == 0, FALSE);

  old = self->task;
#define CHECK(cond, prop) \
  if (cond)               \
    changed[n_changed++] = properties[prop];
  CHECK (g_strcmp0 (old->title, task->title) != 0, PROP_TITLE);
  CHECK (g_strcmp0 (old->notes, task->notes) != 0, PROP_NOTES);
  CHECK (old->done != task->done, PROP_DONE);
  CHECK (g_strcmp0 (old->due, task->due) != 0, PROP_DUE);
  CHECK (old->priority != task->priority, PROP_PRIORITY);
  CHECK (!tags_equal (old, task), PROP_TAGS);
  CHECK (g_strcmp0 (old->list_id, task->list_id) != 0, PROP_LIST_ID);
  CHECK (old->deleted != task->deleted, PROP_DELETED);
  CHECK (old->sync_status != task->sync_status, PROP_SYNC_STATUS);
  CHECK (g_strcmp0 (self->sync_error, sync_error) != 0, PROP_SYNC_ERROR);
#undef CHECK

  /* Position, revision and the like change without anything to show. */
  self->task = tandem_task_copy (task);
  tandem_task_free (old);
  if (n_changed == 0)
    return FALSE;

  g_free (self->sync_error);
  self->sync_error = g_strdup (sync_error);
  update_folded (self);

  g_object_freeze_notify (G_OBJECT (self));
  for (guint i = 0; i < n_changed; i++)
    g_object_notify_by_pspec (G_OBJECT (self), changed[i]);
  g_object_thaw_notify (G_OBJECT (self));
  return TRUE;
}

const TandemTask *
tandem_task_object_get_task (TandemTaskObject *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_OBJECT (self), NULL);
  return self->task;
}

const char *
tandem_task_object_get_id (TandemTaskObject *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_OBJECT (self), NULL);
  return self->task->id;
}

const char *
tandem_task_object_get_title (TandemTaskObject *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_OBJECT (self), NULL);
  return self->task->title;
}

const char *
tandem_task_object_get_notes (TandemTaskObject *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_OBJECT (self), NULL);
  return self->task->notes;
}

const char *
tandem_task_object_get_due (TandemTaskObject *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_OBJECT (self), NULL);
  return self->task->due;
}

const char *
tandem_task_object_get_list_id (TandemTaskObject *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_OBJECT (self), NULL);
  return self->task->list_id;
}

gboolean
tandem_task_object_get_done (TandemTaskObject *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_OBJECT (self), FALSE);
  return self->task->done;
}

gboolean
tandem_task_object_get_deleted (TandemTaskObject *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_OBJECT (self), FALSE);
  return self->task->deleted;
}

int
tandem_task_object_get_priority (TandemTaskObject *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_OBJECT (self), 0);
  return self->task->priority;
}

TandemSyncStatus
tandem_task_object_get_sync_status (TandemTaskObject *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_OBJECT (self), TANDEM_SYNC_SYNCED);
  return self->task->sync_status;
}

const char *
tandem_task_object_get_sync_error (TandemTaskObject *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_OBJECT (self), NULL);
  return self->sync_error;
}

gboolean
tandem_task_object_matches (TandemTaskObject *self,
                            const char       *folded)
{
  g_return_val_if_fail (TANDEM_IS_TASK_OBJECT (self), FALSE);

  return folded == NULL || *folded == '\0' || strstr (self->folded, folded) != NULL;
}
