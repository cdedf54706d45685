/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-app"

#include "config.h"

#include <string.h>

#include "tandem-format.h"
#include "tandem-task-list-model.h"

struct _TandemTaskListModel
{
  GObject           parent_instance;

  TandemStore      *store;
  GPtrArray        *items;          /* TandemTaskObject */
  /* id -> its object in items; the ids are copies, as an object's task is
   * replaced when it is updated */
  GHashTable       *by_id;

  TandemTaskFilter  filter;
  char             *list_id;
  char             *search;
  char             *search_folded;
  gboolean          show_completed;
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TandemTaskListModel, tandem_task_list_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum {
  PROP_0,
  PROP_STORE,
  PROP_SEARCH,
  PROP_SHOW_COMPLETED,
  PROP_REORDERABLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  REFRESH_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static GType
tandem_task_list_model_get_item_type (GListModel *model)
{
  return TANDEM_TYPE_TASK_OBJECT;
}

static guint
tandem_task_list_model_get_n_items (GListModel *model)
{
  return TANDEM_TASK_LIST_MODEL (model)->items->len;
}

static gpointer
tandem_task_list_model_get_item (GListModel *model,
                                 guint       position)
{
  TandemTaskListModel *self = TANDEM_TASK_LIST_MODEL (model);

  if (position >= self->items->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->items, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = tandem_task_list_model_get_item_type;
  iface->get_n_items = tandem_task_list_model_get_n_items;
  iface->get_item = tandem_task_list_model_get_item;
}

static void
tandem_task_list_model_finalize (GObject *object)
{
  TandemTaskListModel *self = (TandemTaskListModel *) object;

  g_clear_object (&self->store);
  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_clear_pointer (&self->by_id, g_hash_table_unref);
  g_clear_pointer (&self->list_id, g_free);
  g_clear_pointer (&self->search, g_free);
  g_clear_pointer (&self->search_folded, g_free);
  G_OBJECT_CLASS (tandem_task_list_model_parent_class)->finalize (object);
}

static void
tandem_task_list_model_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  TandemTaskListModel *self = TANDEM_TASK_LIST_MODEL (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_SEARCH:
      g_value_set_string (value, self->search);
      break;
    case PROP_SHOW_COMPLETED:
      g_value_set_boolean (value, self->show_completed);
      break;
    case PROP_REORDERABLE:
      g_value_set_boolean (value, tandem_task_list_model_get_reorderable (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_task_list_model_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  TandemTaskListModel *self = TANDEM_TASK_LIST_MODEL (object);

  switch (prop_id)
    {
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    case PROP_SEARCH:
      tandem_task_list_model_set_search (self, g_value_get_string (value));
      break;
    case PROP_SHOW_COMPLETED:
      tandem_task_list_model_set_show_completed (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_task_list_model_class_init (TandemTaskListModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tandem_task_list_model_finalize;
  object_class->get_property = tandem_task_list_model_get_property;
  object_class->set_property = tandem_task_list_model_set_property;

  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, TANDEM_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SEARCH] =
    g_param_spec_string ("search", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SHOW_COMPLETED] =
    g_param_spec_boolean ("show-completed", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_REORDERABLE] =
    g_param_spec_boolean ("reorderable", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A refresh the model started itself (a new filter or search) could not
   * read the store; whoever shows the model tells the user. */
  signals[REFRESH_FAILED] = g_signal_new ("refresh-failed", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                                          G_TYPE_ERROR);
}

static void
tandem_task_list_model_init (TandemTaskListModel *self)
{
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
  self->by_id = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->show_completed = TRUE;
}

TandemTaskListModel *
tandem_task_list_model_new (TandemStore *store)
{
  g_return_val_if_fail (TANDEM_IS_STORE (store), NULL);

  return g_object_new (TANDEM_TYPE_TASK_LIST_MODEL, "store", store, NULL);
}

TandemStore *
tandem_task_list_model_get_store (TandemTaskListModel *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_LIST_MODEL (self), NULL);
  return self->store;
}

gboolean
tandem_task_list_model_get_reorderable (TandemTaskListModel *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_LIST_MODEL (self), FALSE);

  return (self->filter == TANDEM_TASK_FILTER_INBOX || self->filter == TANDEM_TASK_FILTER_LIST) &&
         (self->search == NULL || *self->search == '\0');
}

static void
refresh_or_warn (TandemTaskListModel *self)
{
  g_autoptr(GError) error = NULL;

  if (!tandem_task_list_model_refresh (self, &error))
    g_signal_emit (self, signals[REFRESH_FAILED], 0, error);
}

void
tandem_task_list_model_set_filter (TandemTaskListModel *self,
                                   TandemTaskFilter     filter,
                                   const char          *list_id)
{
  gboolean was_reorderable;

  g_return_if_fail (TANDEM_IS_TASK_LIST_MODEL (self));
  g_return_if_fail ((filter == TANDEM_TASK_FILTER_LIST) == (list_id != NULL));

  if (self->filter == filter && g_strcmp0 (self->list_id, list_id) == 0)
    return;
  was_reorderable = tandem_task_list_model_get_reorderable (self);
  self->filter = filter;
  g_free (self->list_id);
  self->list_id = g_strdup (list_id);
  refresh_or_warn (self);
  if (was_reorderable != tandem_task_list_model_get_reorderable (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REORDERABLE]);
}

TandemTaskFilter
tandem_task_list_model_get_filter (TandemTaskListModel *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_LIST_MODEL (self), TANDEM_TASK_FILTER_INBOX);
  return self->filter;
}

const char *
tandem_task_list_model_get_list_id (TandemTaskListModel *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_LIST_MODEL (self), NULL);
  return self->list_id;
}

void
tandem_task_list_model_set_search (TandemTaskListModel *self,
                                   const char          *text)
{
  gboolean was_reorderable;

  g_return_if_fail (TANDEM_IS_TASK_LIST_MODEL (self));

  if (text != NULL && *text == '\0')
    text = NULL;
  if (g_strcmp0 (self->search, text) == 0)
    return;
  was_reorderable = tandem_task_list_model_get_reorderable (self);
  g_free (self->search);
  self->search = g_strdup (text);
  g_free (self->search_folded);
  self->search_folded = text ? g_utf8_casefold (text, -1) : NULL;
  refresh_or_warn (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SEARCH]);
  if (was_reorderable != tandem_task_list_model_get_reorderable (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REORDERABLE]);
}

const char *
tandem_task_list_model_get_search (TandemTaskListModel *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_LIST_MODEL (self), NULL);
  return self->search;
}

void
tandem_task_list_model_set_show_completed (TandemTaskListModel *self,
                                           gboolean             show)
{
  g_return_if_fail (TANDEM_IS_TASK_LIST_MODEL (self));

  show = !!show;
  if (self->show_completed == show)
    return;
  self->show_completed = show;
  refresh_or_warn (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_COMPLETED]);
}

static gboolean
includes (TandemTaskListModel *self,
          const TandemTask    *task,
          GHashTable          *live_lists,
          const char          *today)
{
  gboolean searching = self->search_folded != NULL;

  if (self->filter == TANDEM_TASK_FILTER_TRASH)
    return task->deleted;
  if (task->deleted)
    return FALSE;
  /* A search looks everywhere and finds done tasks too. */
  if (searching)
    return TRUE;
  if (task->done && !self->show_completed && self->filter != TANDEM_TASK_FILTER_TODAY)
    return FALSE;

  switch (self->filter)
    {
    case TANDEM_TASK_FILTER_INBOX:
      return task->list_id == NULL || !g_hash_table_contains (live_lists, task->list_id);
    case TANDEM_TASK_FILTER_LIST:
      return g_strcmp0 (task->list_id, self->list_id) == 0;
    case TANDEM_TASK_FILTER_TODAY:
      return !task->done && task->due != NULL && strcmp (task->due, today) <= 0;
    case TANDEM_TASK_FILTER_TRASH:
    default:
      return FALSE;
    }
}

static int
compare_due (gconstpointer a,
             gconstpointer b)
{
  TandemTaskObject *x = *(TandemTaskObject **) a;
  TandemTaskObject *y = *(TandemTaskObject **) b;

  return g_strcmp0 (tandem_task_object_get_due (x), tandem_task_object_get_due (y));
}

/* The reason the server gave for each task whose change it refused. */
static GHashTable *
collect_sync_errors (TandemStore *store,
                     GPtrArray   *tasks,
                     GError     **error)
{
  g_autoptr(GHashTable) errors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GPtrArray) ops = NULL;
  gboolean any = FALSE;

  for (guint i = 0; i < tasks->len && !any; i++)
    any = ((TandemTask *) g_ptr_array_index (tasks, i))->sync_status == TANDEM_SYNC_ERROR;
  if (!any)
    return g_steal_pointer (&errors);

  if (!(ops = tandem_store_outbox_list (store, 0, error)))
    return NULL;
  for (guint i = 0; i < ops->len; i++)
    {
      TandemOp *op = g_ptr_array_index (ops, i);

      if (op->state == TANDEM_OP_STATE_ERROR && op->error != NULL &&
          !g_hash_table_contains (errors, op->entity_id))
        g_hash_table_insert (errors, g_strdup (op->entity_id), g_strdup (op->error));
    }
  return g_steal_pointer (&errors);
}

gboolean
tandem_task_list_model_refresh (TandemTaskListModel *self,
                                GError             **error)
{
  return tandem_task_list_model_refresh_with (self, NULL, error);
}

gboolean
tandem_task_list_model_refresh_with (TandemTaskListModel *self,
                                     GPtrArray           *live_tasks,
                                     GError             **error)
{
  g_autoptr(GPtrArray) tasks = NULL;
  g_autoptr(GPtrArray) lists = NULL;
  g_autoptr(GHashTable) live_lists = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) known = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) errors = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autofree char *today = tandem_today ();
  guint old_len, new_len, prefix = 0, suffix = 0;

  g_return_val_if_fail (TANDEM_IS_TASK_LIST_MODEL (self), FALSE);

  if (self->filter == TANDEM_TASK_FILTER_TRASH)
    tasks = tandem_store_list_tasks (self->store, TANDEM_TASK_QUERY_DELETED, error);
  else if (live_tasks != NULL)
    tasks = g_ptr_array_ref (live_tasks);
  else
    tasks = tandem_store_list_tasks (self->store, TANDEM_TASK_QUERY_LIVE, error);
  if (tasks == NULL || !(lists = tandem_store_list_lists (self->store, error)) ||
      !(errors = collect_sync_errors (self->store, tasks, error)))
    return FALSE;
  for (guint i = 0; i < lists->len; i++)
    g_hash_table_add (live_lists, ((TandemList *) g_ptr_array_index (lists, i))->id);
  for (guint i = 0; i < self->items->len; i++)
    {
      TandemTaskObject *object = g_ptr_array_index (self->items, i);

      g_hash_table_insert (known, g_strdup (tandem_task_object_get_id (object)), object);
    }

  items = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < tasks->len; i++)
    {
      TandemTask *task = g_ptr_array_index (tasks, i);
      const char *sync_error = g_hash_table_lookup (errors, task->id);
      TandemTaskObject *object;

      if (!includes (self, task, live_lists, today))
        continue;
      /* The same object for the same task: rows and the selection follow it. */
      if ((object = g_hash_table_lookup (known, task->id)) != NULL)
        {
          g_object_ref (object);
          tandem_task_object_update (object, task, sync_error);
        }
      else
        object = tandem_task_object_new (task, sync_error);

      if (tandem_task_object_matches (object, self->search_folded))
        g_ptr_array_add (items, object);
      else
        g_object_unref (object);
    }
  if (self->filter == TANDEM_TASK_FILTER_TODAY && self->search_folded == NULL)
    g_ptr_array_sort (items, compare_due);

  /* Only the range between the unchanged head and tail is replaced. */
  old_len = self->items->len;
  new_len = items->len;
  while (prefix < old_len && prefix < new_len &&
         g_ptr_array_index (self->items, prefix) == g_ptr_array_index (items, prefix))
    prefix++;
  while (suffix < old_len - prefix && suffix < new_len - prefix &&
         g_ptr_array_index (self->items, old_len - 1 - suffix) ==
           g_ptr_array_index (items, new_len - 1 - suffix))
    suffix++;

  g_ptr_array_unref (self->items);
  self->items = g_steal_pointer (&items);
  g_hash_table_remove_all (self->by_id);
  for (guint i = 0; i < self->items->len; i++)
    {
      TandemTaskObject *object = g_ptr_array_index (self->items, i);

      g_hash_table_insert (self->by_id, g_strdup (tandem_task_object_get_id (object)), object);
    }
  if (old_len - prefix - suffix > 0 || new_len - prefix - suffix > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), prefix, old_len - prefix - suffix,
                                new_len - prefix - suffix);
  return TRUE;
}

TandemTaskObject *
tandem_task_list_model_lookup (TandemTaskListModel *self,
                               const char          *id)
{
  g_return_val_if_fail (TANDEM_IS_TASK_LIST_MODEL (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  return g_hash_table_lookup (self->by_id, id);
}

TandemTaskObject *
tandem_task_list_model_find (TandemTaskListModel *self,
                             const char          *id,
                             guint               *position)
{
  g_return_val_if_fail (TANDEM_IS_TASK_LIST_MODEL (self), NULL);

  for (guint i = 0; i < self->items->len; i++)
    {
      TandemTaskObject *object = g_ptr_array_index (self->items, i);

      if (g_strcmp0 (tandem_task_object_get_id (object), id) == 0)
        {
          if (position != NULL)
            *position = i;
          return object;
        }
    }
  return NULL;
}
