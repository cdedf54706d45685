/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-core"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "tandem-position.h"
#include "tandem-task.h"

G_DEFINE_QUARK (tandem-validation-error-quark, tandem_validation_error)

static const char *sync_status_names[] = {
  [TANDEM_SYNC_SYNCED] = "synced",
  [TANDEM_SYNC_PENDING] = "pending",
  [TANDEM_SYNC_SYNCING] = "syncing",
  [TANDEM_SYNC_ERROR] = "error",
  [TANDEM_SYNC_NEEDS_REVIEW] = "needs-review",
};

const char *
tandem_sync_status_to_string (TandemSyncStatus status)
{
  g_return_val_if_fail (status <= TANDEM_SYNC_NEEDS_REVIEW, NULL);
  return sync_status_names[status];
}

gboolean
tandem_sync_status_from_string (const char       *str,
                                TandemSyncStatus *status)
{
  for (guint i = 0; i < G_N_ELEMENTS (sync_status_names); i++)
    {
      if (g_strcmp0 (str, sync_status_names[i]) == 0)
        {
          *status = i;
          return TRUE;
        }
    }
  return FALSE;
}

/* The one policy table, used by client and server alike (DESIGN §2). */
static const struct
{
  const char   *name;
  TandemPolicy  policy;
  gboolean      patchable;
} fields[TANDEM_N_FIELDS] = {
  [TANDEM_FIELD_TITLE] = { "title", TANDEM_POLICY_HUMAN, TRUE },
  [TANDEM_FIELD_NOTES] = { "notes", TANDEM_POLICY_TEXT, TRUE },
  [TANDEM_FIELD_DONE] = { "done", TANDEM_POLICY_LWW, TRUE },
  [TANDEM_FIELD_DUE] = { "due", TANDEM_POLICY_LWW, TRUE },
  [TANDEM_FIELD_PRIORITY] = { "priority", TANDEM_POLICY_LWW, TRUE },
  [TANDEM_FIELD_LIST_ID] = { "list_id", TANDEM_POLICY_LWW, TRUE },
  [TANDEM_FIELD_POSITION] = { "position", TANDEM_POLICY_LWW, TRUE },
  [TANDEM_FIELD_TAGS] = { "tags", TANDEM_POLICY_SET, TRUE },
  [TANDEM_FIELD_COMMENTS] = { "comments", TANDEM_POLICY_APPEND, FALSE },
  [TANDEM_FIELD_DELETED] = { "deleted", TANDEM_POLICY_TOMBSTONE, FALSE },
};

const char *
tandem_field_name (TandemField field)
{
  g_return_val_if_fail (field < TANDEM_N_FIELDS, NULL);
  return fields[field].name;
}

gboolean
tandem_field_from_name (const char  *name,
                        TandemField *field)
{
  for (guint i = 0; i < TANDEM_N_FIELDS; i++)
    {
      if (g_strcmp0 (name, fields[i].name) == 0)
        {
          *field = i;
          return TRUE;
        }
    }
  return FALSE;
}

TandemPolicy
tandem_field_policy (TandemField field)
{
  g_return_val_if_fail (field < TANDEM_N_FIELDS, TANDEM_POLICY_HUMAN);
  return fields[field].policy;
}

gboolean
tandem_field_is_patchable (TandemField field)
{
  g_return_val_if_fail (field < TANDEM_N_FIELDS, FALSE);
  return fields[field].patchable;
}

/* Comments */

TandemComment *
tandem_comment_new (const char *id,
                    const char *body,
                    const char *device_id,
                    const char *created_at)
{
  TandemComment *comment = g_new0 (TandemComment, 1);

  comment->id = g_strdup (id);
  comment->body = g_strdup (body);
  comment->device_id = g_strdup (device_id);
  comment->created_at = g_strdup (created_at);
  return comment;
}

TandemComment *
tandem_comment_copy (const TandemComment *comment)
{
  g_return_val_if_fail (comment != NULL, NULL);
  return tandem_comment_new (comment->id, comment->body, comment->device_id, comment->created_at);
}

void
tandem_comment_free (TandemComment *comment)
{
  if (comment == NULL)
    return;
  g_free (comment->id);
  g_free (comment->body);
  g_free (comment->device_id);
  g_free (comment->created_at);
  g_free (comment);
}

static int
comment_compare (const TandemComment *a,
                 const TandemComment *b)
{
  int cmp = g_strcmp0 (a->created_at, b->created_at);

  return cmp != 0 ? cmp : g_strcmp0 (a->id, b->id);
}

/* Tasks */

TandemTask *
tandem_task_new (void)
{
  TandemTask *task = g_new0 (TandemTask, 1);

  task->title = g_strdup ("");
  task->notes = g_strdup ("");
  task->position = g_strdup ("");
  task->tags = g_ptr_array_new_with_free_func (g_free);
  task->comments = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_comment_free);
  task->sync_status = TANDEM_SYNC_PENDING;
  return task;
}

TandemTask *
tandem_task_copy (const TandemTask *task)
{
  TandemTask *copy;

  g_return_val_if_fail (task != NULL, NULL);

  copy = tandem_task_new ();
  copy->id = g_strdup (task->id);
  copy->list_id = g_strdup (task->list_id);
  g_free (copy->title);
  copy->title = g_strdup (task->title);
  g_free (copy->notes);
  copy->notes = g_strdup (task->notes);
  copy->done = task->done;
  copy->due = g_strdup (task->due);
  copy->priority = task->priority;
  g_free (copy->position);
  copy->position = g_strdup (task->position);
  for (guint i = 0; i < task->tags->len; i++)
    g_ptr_array_add (copy->tags, g_strdup (g_ptr_array_index (task->tags, i)));
  for (guint i = 0; i < task->comments->len; i++)
    g_ptr_array_add (copy->comments, tandem_comment_copy (g_ptr_array_index (task->comments, i)));
  copy->rev = task->rev;
  copy->updated_at = g_strdup (task->updated_at);
  copy->deleted = task->deleted;
  copy->sync_status = task->sync_status;
  return copy;
}

void
tandem_task_free (TandemTask *task)
{
  if (task == NULL)
    return;
  g_free (task->id);
  g_free (task->list_id);
  g_free (task->title);
  g_free (task->notes);
  g_free (task->due);
  g_free (task->position);
  g_clear_pointer (&task->tags, g_ptr_array_unref);
  g_clear_pointer (&task->comments, g_ptr_array_unref);
  g_free (task->updated_at);
  g_free (task);
}

/* Binary search in the sorted tag array; returns TRUE if found, and the
 * index where @tag is or would be inserted. */
static gboolean
find_tag (const TandemTask *task,
          const char       *tag,
          guint            *index)
{
  guint lo = 0, hi = task->tags->len;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      int cmp = strcmp (g_ptr_array_index (task->tags, mid), tag);

      if (cmp == 0)
        {
          *index = mid;
          return TRUE;
        }
      if (cmp < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  *index = lo;
  return FALSE;
}

gboolean
tandem_task_has_tag (const TandemTask *task,
                     const char       *tag)
{
  guint index;

  g_return_val_if_fail (task != NULL, FALSE);
  g_return_val_if_fail (tag != NULL, FALSE);
  return find_tag (task, tag, &index);
}

gboolean
tandem_task_add_tag (TandemTask *task,
                     const char *tag)
{
  guint index;

  g_return_val_if_fail (task != NULL, FALSE);
  g_return_val_if_fail (tag != NULL, FALSE);

  if (find_tag (task, tag, &index))
    return FALSE;
  g_ptr_array_insert (task->tags, index, g_strdup (tag));
  return TRUE;
}

gboolean
tandem_task_remove_tag (TandemTask *task,
                        const char *tag)
{
  guint index;

  g_return_val_if_fail (task != NULL, FALSE);
  g_return_val_if_fail (tag != NULL, FALSE);

  if (!find_tag (task, tag, &index))
    return FALSE;
  g_ptr_array_remove_index (task->tags, index);
  return TRUE;
}

gboolean
tandem_task_add_comment (TandemTask    *task,
                         TandemComment *comment)
{
  guint index;

  g_return_val_if_fail (task != NULL, FALSE);
  g_return_val_if_fail (comment != NULL, FALSE);

  index = task->comments->len;
  for (guint i = 0; i < task->comments->len; i++)
    {
      const TandemComment *other = g_ptr_array_index (task->comments, i);

      if (g_strcmp0 (other->id, comment->id) == 0)
        {
          tandem_comment_free (comment);
          return FALSE;
        }
    }
  while (index > 0 && comment_compare (g_ptr_array_index (task->comments, index - 1), comment) > 0)
    index--;
  g_ptr_array_insert (task->comments, index, comment);
  return TRUE;
}

static JsonNode *
string_or_null (const char *str)
{
  if (str == NULL)
    return json_node_init_null (json_node_alloc ());
  return json_node_init_string (json_node_alloc (), str);
}

/* Takes ownership of @array. */
static JsonNode *
array_node (JsonArray *array)
{
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  json_node_take_array (node, array);
  return node;
}

JsonNode *
tandem_task_get_field (const TandemTask *task,
                       TandemField       field)
{
  g_return_val_if_fail (task != NULL, NULL);

  switch (field)
    {
    case TANDEM_FIELD_TITLE:
      return json_node_init_string (json_node_alloc (), task->title);
    case TANDEM_FIELD_NOTES:
      return json_node_init_string (json_node_alloc (), task->notes);
    case TANDEM_FIELD_DONE:
      return json_node_init_boolean (json_node_alloc (), task->done);
    case TANDEM_FIELD_DUE:
      return string_or_null (task->due);
    case TANDEM_FIELD_PRIORITY:
      return json_node_init_int (json_node_alloc (), task->priority);
    case TANDEM_FIELD_LIST_ID:
      return string_or_null (task->list_id);
    case TANDEM_FIELD_POSITION:
      return json_node_init_string (json_node_alloc (), task->position);
    case TANDEM_FIELD_TAGS:
      {
        JsonArray *array = json_array_sized_new (task->tags->len);

        for (guint i = 0; i < task->tags->len; i++)
          json_array_add_string_element (array, g_ptr_array_index (task->tags, i));
        return array_node (array);
      }
    case TANDEM_FIELD_COMMENTS:
      {
        JsonArray *array = json_array_sized_new (task->comments->len);

        for (guint i = 0; i < task->comments->len; i++)
          {
            const TandemComment *c = g_ptr_array_index (task->comments, i);
            JsonObject *object = json_object_new ();

            json_object_set_string_member (object, "id", c->id);
            json_object_set_string_member (object, "body", c->body);
            json_object_set_string_member (object, "device_id", c->device_id);
            json_object_set_string_member (object, "created_at", c->created_at);
            json_array_add_object_element (array, object);
          }
        return array_node (array);
      }
    case TANDEM_FIELD_DELETED:
      return json_node_init_boolean (json_node_alloc (), task->deleted);
    case TANDEM_N_FIELDS:
    default:
      break;
    }
  g_return_val_if_reached (NULL);
}

static gboolean
invalid (GError    **error,
         const char *format,
         ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError    **error,
         const char *format,
         ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, TANDEM_VALIDATION_ERROR, TANDEM_VALIDATION_ERROR_INVALID, message);
  return FALSE;
}

/* Returns the string of a string node, or NULL (with an error) otherwise. */
static const char *
expect_string (JsonNode    *value,
               TandemField  field,
               gboolean     nullable,
               gboolean    *is_null,
               GError     **error)
{
  *is_null = FALSE;
  if (nullable && JSON_NODE_HOLDS_NULL (value))
    {
      *is_null = TRUE;
      return NULL;
    }
  if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
    {
      invalid (error, "%s: must be a string%s", tandem_field_name (field), nullable ? " or null" : "");
      return NULL;
    }
  return json_node_get_string (value);
}

static gboolean
sorted_tags_from_json (JsonNode   *value,
                       GPtrArray **out,
                       GError    **error)
{
  g_autoptr(GPtrArray) tags = NULL;
  JsonArray *array;
  TandemTask scratch = { 0 };

  if (!JSON_NODE_HOLDS_ARRAY (value))
    return invalid (error, "tags: must be an array of strings");

  array = json_node_get_array (value);
  if (json_array_get_length (array) > TANDEM_TAGS_MAX)
    return invalid (error, "tags: at most %d tags per task", TANDEM_TAGS_MAX);

  tags = g_ptr_array_new_with_free_func (g_free);
  scratch.tags = tags;
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      g_autoptr(GError) local_error = NULL;
      const char *tag;

      if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING)
        return invalid (error, "tags[%u]: must be a string", i);
      tag = json_node_get_string (element);
      if (!tandem_validate_tag (tag, &local_error))
        return invalid (error, "tags[%u]: %s", i, local_error->message);
      tandem_task_add_tag (&scratch, tag);
    }
  *out = g_steal_pointer (&tags);
  return TRUE;
}

gboolean
tandem_task_set_field (TandemTask  *task,
                       TandemField  field,
                       JsonNode    *value,
                       GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  const char *str;
  gboolean is_null;

  g_return_val_if_fail (task != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  switch (field)
    {
    case TANDEM_FIELD_TITLE:
      if (!(str = expect_string (value, field, FALSE, &is_null, error)))
        return FALSE;
      if (!tandem_validate_title (str, error))
        return FALSE;
      g_free (task->title);
      task->title = g_strdup (str);
      return TRUE;

    case TANDEM_FIELD_NOTES:
      if (!(str = expect_string (value, field, FALSE, &is_null, error)))
        return FALSE;
      if (!tandem_validate_notes (str, error))
        return FALSE;
      g_free (task->notes);
      task->notes = g_strdup (str);
      return TRUE;

    case TANDEM_FIELD_DONE:
    case TANDEM_FIELD_DELETED:
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_BOOLEAN)
        return invalid (error, "%s: must be true or false", tandem_field_name (field));
      if (field == TANDEM_FIELD_DONE)
        task->done = json_node_get_boolean (value);
      else
        task->deleted = json_node_get_boolean (value);
      return TRUE;

    case TANDEM_FIELD_DUE:
      str = expect_string (value, field, TRUE, &is_null, error);
      if (str == NULL && !is_null)
        return FALSE;
      if (str != NULL && !tandem_validate_date (str, error))
        return FALSE;
      g_free (task->due);
      task->due = g_strdup (str);
      return TRUE;

    case TANDEM_FIELD_PRIORITY:
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_INT64)
        return invalid (error, "priority: must be an integer from 0 to %d", TANDEM_PRIORITY_MAX);
      if (!tandem_validate_priority (json_node_get_int (value), error))
        return FALSE;
      task->priority = (int) json_node_get_int (value);
      return TRUE;

    case TANDEM_FIELD_LIST_ID:
      str = expect_string (value, field, TRUE, &is_null, error);
      if (str == NULL && !is_null)
        return FALSE;
      if (str != NULL && !tandem_validate_uuid (str, &local_error))
        return invalid (error, "list_id: %s", local_error->message);
      g_free (task->list_id);
      task->list_id = g_strdup (str);
      return TRUE;

    case TANDEM_FIELD_POSITION:
      if (!(str = expect_string (value, field, FALSE, &is_null, error)))
        return FALSE;
      if (!tandem_position_is_valid (str))
        return invalid (error, "position: “%s” is not a valid ordering key", str);
      g_free (task->position);
      task->position = g_strdup (str);
      return TRUE;

    case TANDEM_FIELD_TAGS:
      {
        GPtrArray *tags = NULL;

        if (!sorted_tags_from_json (value, &tags, error))
          return FALSE;
        g_ptr_array_unref (task->tags);
        task->tags = tags;
        return TRUE;
      }

    case TANDEM_FIELD_COMMENTS:
      return invalid (error, "comments: are added one at a time with comment_add, not set");

    case TANDEM_N_FIELDS:
    default:
      break;
    }
  g_return_val_if_reached (FALSE);
}

gboolean
tandem_task_field_equal (const TandemTask *a,
                         const TandemTask *b,
                         TandemField       field)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  switch (field)
    {
    case TANDEM_FIELD_TITLE:
      return g_strcmp0 (a->title, b->title) == 0;
    case TANDEM_FIELD_NOTES:
      return g_strcmp0 (a->notes, b->notes) == 0;
    case TANDEM_FIELD_DONE:
      return !a->done == !b->done;
    case TANDEM_FIELD_DUE:
      return g_strcmp0 (a->due, b->due) == 0;
    case TANDEM_FIELD_PRIORITY:
      return a->priority == b->priority;
    case TANDEM_FIELD_LIST_ID:
      return g_strcmp0 (a->list_id, b->list_id) == 0;
    case TANDEM_FIELD_POSITION:
      return g_strcmp0 (a->position, b->position) == 0;
    case TANDEM_FIELD_TAGS:
      if (a->tags->len != b->tags->len)
        return FALSE;
      for (guint i = 0; i < a->tags->len; i++)
        if (strcmp (g_ptr_array_index (a->tags, i), g_ptr_array_index (b->tags, i)) != 0)
          return FALSE;
      return TRUE;
    case TANDEM_FIELD_COMMENTS:
      if (a->comments->len != b->comments->len)
        return FALSE;
      for (guint i = 0; i < a->comments->len; i++)
        {
          const TandemComment *ca = g_ptr_array_index (a->comments, i);
          const TandemComment *cb = g_ptr_array_index (b->comments, i);

          if (g_strcmp0 (ca->id, cb->id) != 0 || g_strcmp0 (ca->body, cb->body) != 0 ||
              g_strcmp0 (ca->device_id, cb->device_id) != 0 ||
              g_strcmp0 (ca->created_at, cb->created_at) != 0)
            return FALSE;
        }
      return TRUE;
    case TANDEM_FIELD_DELETED:
      return !a->deleted == !b->deleted;
    case TANDEM_N_FIELDS:
    default:
      break;
    }
  g_return_val_if_reached (FALSE);
}

gboolean
tandem_task_equal (const TandemTask *a,
                   const TandemTask *b)
{
  if (g_strcmp0 (a->id, b->id) != 0)
    return FALSE;
  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    if (!tandem_task_field_equal (a, b, f))
      return FALSE;
  return TRUE;
}

gboolean
tandem_task_apply_patch (TandemTask  *task,
                         JsonObject  *patch,
                         GError     **error)
{
  g_autoptr(TandemTask) scratch = NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  g_return_val_if_fail (task != NULL, FALSE);
  g_return_val_if_fail (patch != NULL, FALSE);

  /* Apply to a copy first so a bad member leaves @task untouched. */
  scratch = tandem_task_copy (task);
  json_object_iter_init (&iter, patch);
  while (json_object_iter_next (&iter, &name, &value))
    {
      TandemField field;

      if (!tandem_field_from_name (name, &field) || !tandem_field_is_patchable (field))
        return invalid (error, "“%s” is not a task field that can be set", name);
      if (!tandem_task_set_field (scratch, field, value, error))
        return FALSE;
    }

  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    {
      if (!tandem_field_is_patchable (f) || tandem_task_field_equal (task, scratch, f))
        continue;
      switch ((TandemField) f)
        {
        case TANDEM_FIELD_TITLE:    g_free (task->title); task->title = g_steal_pointer (&scratch->title); break;
        case TANDEM_FIELD_NOTES:    g_free (task->notes); task->notes = g_steal_pointer (&scratch->notes); break;
        case TANDEM_FIELD_DONE:     task->done = scratch->done; break;
        case TANDEM_FIELD_DUE:      g_free (task->due); task->due = g_steal_pointer (&scratch->due); break;
        case TANDEM_FIELD_PRIORITY: task->priority = scratch->priority; break;
        case TANDEM_FIELD_LIST_ID:  g_free (task->list_id); task->list_id = g_steal_pointer (&scratch->list_id); break;
        case TANDEM_FIELD_POSITION: g_free (task->position); task->position = g_steal_pointer (&scratch->position); break;
        case TANDEM_FIELD_TAGS:     g_ptr_array_unref (task->tags); task->tags = g_steal_pointer (&scratch->tags); break;
        case TANDEM_FIELD_COMMENTS:
        case TANDEM_FIELD_DELETED:
        case TANDEM_N_FIELDS:
        default:
          g_assert_not_reached ();
        }
    }
  return TRUE;
}

/* Lists */

TandemList *
tandem_list_new (void)
{
  TandemList *list = g_new0 (TandemList, 1);

  list->name = g_strdup ("");
  list->position = g_strdup ("");
  list->sync_status = TANDEM_SYNC_PENDING;
  return list;
}

TandemList *
tandem_list_copy (const TandemList *list)
{
  TandemList *copy;

  g_return_val_if_fail (list != NULL, NULL);

  copy = g_new0 (TandemList, 1);
  copy->id = g_strdup (list->id);
  copy->name = g_strdup (list->name);
  copy->position = g_strdup (list->position);
  copy->rev = list->rev;
  copy->updated_at = g_strdup (list->updated_at);
  copy->deleted = list->deleted;
  copy->sync_status = list->sync_status;
  return copy;
}

void
tandem_list_free (TandemList *list)
{
  if (list == NULL)
    return;
  g_free (list->id);
  g_free (list->name);
  g_free (list->position);
  g_free (list->updated_at);
  g_free (list);
}

/* Validation */

/* @what names the text in messages, marked with N_() by the callers. */
static gboolean
validate_text (const char *what,
               const char *text,
               gsize       max_bytes,
               gboolean    allow_newlines,
               GError    **error)
{
  gsize len;

  if (text == NULL)
    /* Translators: %s names a piece of text, such as “title” or “list name” */
    return invalid (error, _("%s is missing"), _(what));
  len = strlen (text);
  if (!g_utf8_validate (text, len, NULL))
    /* Translators: %s names a piece of text, such as “title” or “list name” */
    return invalid (error, _("%s is not valid UTF-8"), _(what));
  if (len > max_bytes)
    /* Translators: the first %s names a piece of text, such as “title” or
     * “list name”; then come its length and the limit, both in bytes */
    return invalid (error, _("%s is too long (%zu bytes; at most %zu)"),
                    _(what), (size_t) len, (size_t) max_bytes);
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if ((c < 0x20 && !(allow_newlines && (c == '\n' || c == '\t'))) || c == 0x7f)
        /* Translators: %s names a piece of text, such as “title” or “list
         * name”; U+%04X is the code of the offending character */
        return invalid (error, _("%s contains a control character (U+%04X)"), _(what), c);
    }
  return TRUE;
}

/* g_strstrip() only knows ASCII spaces; text of no-break or ideographic
 * spaces is as empty as text of plain spaces. */
static gboolean
is_blank (const char *text)
{
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    if (!g_unichar_isspace (g_utf8_get_char (p)))
      return FALSE;
  return TRUE;
}

gboolean
tandem_validate_uuid (const char *id,
                      GError    **error)
{
  if (id == NULL || !g_uuid_string_is_valid (id))
    return invalid (error, _("“%s” is not a valid id (expected a UUID such as "
                             "0b6f4c52-1f0e-4d7a-9a55-2f7c1e8b3d10)"), id ? id : "");
  return TRUE;
}

gboolean
tandem_validate_title (const char *title,
                       GError    **error)
{
  /* Translators: the title of a task, used for %s in messages such as
   * “%s is missing” */
  if (!validate_text (N_("title"), title, TANDEM_TITLE_MAX, FALSE, error))
    return FALSE;
  if (is_blank (title))
    return invalid (error, _("title is empty; a task needs a title"));
  return TRUE;
}

gboolean
tandem_validate_notes (const char *notes,
                       GError    **error)
{
  /* Translators: the notes of a task, used for %s in messages such as
   * “%s is too long (…)” */
  return validate_text (N_("notes"), notes, TANDEM_NOTES_MAX, TRUE, error);
}

gboolean
tandem_validate_date (const char *date,
                      GError    **error)
{
  static const char shape[] = "dddd-dd-dd";
  int y, m, d;

  if (date == NULL || strlen (date) != strlen (shape))
    goto not_a_date;
  for (guint i = 0; shape[i]; i++)
    if (shape[i] == 'd' ? !g_ascii_isdigit (date[i]) : date[i] != shape[i])
      goto not_a_date;

  y = g_ascii_digit_value (date[0]) * 1000 + g_ascii_digit_value (date[1]) * 100 +
      g_ascii_digit_value (date[2]) * 10 + g_ascii_digit_value (date[3]);
  m = g_ascii_digit_value (date[5]) * 10 + g_ascii_digit_value (date[6]);
  d = g_ascii_digit_value (date[8]) * 10 + g_ascii_digit_value (date[9]);
  if (y < 1 || !g_date_valid_dmy (d, m, y))
    return invalid (error, _("“%s” is not a real calendar date"), date);
  return TRUE;

not_a_date:
  /* Translators: YYYY-MM-DD is the format the date must have; translate the
   * letters if your language names year, month and day otherwise */
  return invalid (error, _("“%s” is not a date; use YYYY-MM-DD, for example 2026-12-24"),
                  date ? date : "");
}

gboolean
tandem_validate_priority (gint64   priority,
                          GError **error)
{
  if (priority < 0 || priority > TANDEM_PRIORITY_MAX)
    /* Translators: the first number is the priority given, the second the
     * highest priority there is */
    return invalid (error, _("priority %lld is out of range; use 0 (none) to %d (high)"),
                    (long long) priority, TANDEM_PRIORITY_MAX);
  return TRUE;
}

gboolean
tandem_validate_tag (const char *tag,
                     GError    **error)
{
  /* Translators: a tag of a task, used for %s in messages such as
   * “%s is missing” */
  if (!validate_text (N_("tag"), tag, TANDEM_TAG_MAX, FALSE, error))
    return FALSE;
  if (*tag == '\0')
    return invalid (error, _("a tag cannot be empty"));
  for (const char *p = tag; *p; p = g_utf8_next_char (p))
    if (g_unichar_isspace (g_utf8_get_char (p)) || *p == ',')
      return invalid (error, _("tag “%s” contains a space or comma; tags are single words"),
                      tag);
  return TRUE;
}

gboolean
tandem_validate_comment (const char *body,
                         GError    **error)
{
  /* Translators: a comment on a task, used for %s in messages such as
   * “%s is missing” */
  if (!validate_text (N_("comment"), body, TANDEM_COMMENT_MAX, TRUE, error))
    return FALSE;
  if (is_blank (body))
    return invalid (error, _("comment is empty"));
  return TRUE;
}

gboolean
tandem_validate_list_name (const char *name,
                           GError    **error)
{
  /* Translators: the name of a list of tasks, used for %s in messages such
   * as “%s is missing” */
  if (!validate_text (N_("list name"), name, TANDEM_LIST_NAME_MAX, FALSE, error))
    return FALSE;
  if (is_blank (name))
    return invalid (error, _("list name is empty"));
  return TRUE;
}

char *
tandem_new_id (void)
{
  return g_uuid_string_random ();
}

char *
tandem_now_rfc3339 (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  return g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");
}
