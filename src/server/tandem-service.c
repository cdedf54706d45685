/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-server"

#include "config.h"

#include <string.h>

#include "tandem-position.h"
#include "tandem-service.h"

struct _TandemService
{
  GObject              parent_instance;

  TandemServerStorage *storage;
  guint                retention_days;
  gint64               buckets_pruned;   /* wall clock, µs */
};

G_DEFINE_FINAL_TYPE (TandemService, tandem_service, G_TYPE_OBJECT)

static void
tandem_service_finalize (GObject *object)
{
  TandemService *self = (TandemService *) object;

  g_clear_object (&self->storage);
  G_OBJECT_CLASS (tandem_service_parent_class)->finalize (object);
}

static void
tandem_service_class_init (TandemServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tandem_service_finalize;
}

static void
tandem_service_init (TandemService *self)
{
}

TandemService *
tandem_service_new (TandemServerStorage *storage,
                    guint                retention_days)
{
  TandemService *self;

  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (storage), NULL);

  self = g_object_new (TANDEM_TYPE_SERVICE, NULL);
  self->storage = g_object_ref (storage);
  self->retention_days = retention_days;
  return self;
}

TandemServerStorage *
tandem_service_get_storage (TandemService *self)
{
  g_return_val_if_fail (TANDEM_IS_SERVICE (self), NULL);
  return self->storage;
}

/* Replies */

void
tandem_service_reply_clear (TandemServiceReply *reply)
{
  g_clear_pointer (&reply->body, json_node_unref);
  g_clear_pointer (&reply->problem, tandem_problem_free);
  memset (reply, 0, sizeof *reply);
}

static const char *
status_title (guint status)
{
  switch (status)
    {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default:  return "Error";
    }
}

void
tandem_service_reply_problem (TandemServiceReply *reply,
                              guint               status,
                              const char         *type,
                              const char         *detail)
{
  g_autofree char *valid = NULL;

  g_return_if_fail (reply != NULL);

  /* Details quote what the client sent (a query value, an id, a header),
   * which may be any bytes; the problem body is JSON, so UTF-8. */
  if (detail != NULL && !g_utf8_validate (detail, -1, NULL))
    detail = valid = g_utf8_make_valid (detail, -1);

  tandem_service_reply_clear (reply);
  reply->status = status;
  reply->problem = tandem_problem_new (type, status_title (status), status, detail);
}

static void
reply_problem_printf (TandemServiceReply *reply,
                      guint               status,
                      const char         *type,
                      const char         *format,
                      ...) G_GNUC_PRINTF (4, 5);

static void
reply_problem_printf (TandemServiceReply *reply,
                      guint               status,
                      const char         *type,
                      const char         *format,
                      ...)
{
  g_autofree char *detail = NULL;
  va_list args;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  tandem_service_reply_problem (reply, status, type, detail);
}

/* A storage failure: nothing was written (the transaction is rolled back by
 * the caller); busy means the client should simply retry. */
static void
reply_storage_error (TandemServiceReply *reply,
                     const GError       *error)
{
  g_message ("%s", error->message);
  if (g_error_matches (error, TANDEM_SERVER_STORAGE_ERROR, TANDEM_SERVER_STORAGE_ERROR_BUSY))
    {
      tandem_service_reply_problem (reply, 503, "busy",
                                    "The server is busy; nothing was written. Retry shortly.");
      reply->retry_after = 1;
    }
  else
    tandem_service_reply_problem (reply, 500, "storage-failed",
                                  "The server could not store the change; nothing was written.");
}

static void
reply_json (TandemServiceReply *reply,
            guint               status,
            JsonNode           *body)
{
  tandem_service_reply_clear (reply);
  reply->status = status;
  reply->body = body;
}

/* Tokens */

static char *
hash_token (const char *token)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, token, -1);
}

char *
tandem_service_create_token (TandemService *self,
                             const char    *user_name,
                             GError       **error)
{
  g_autofree char *token = NULL;
  g_autofree char *hash = NULL;
  guint8 bytes[32];

  g_return_val_if_fail (TANDEM_IS_SERVICE (self), NULL);
  g_return_val_if_fail (user_name != NULL, NULL);

  if (*user_name == '\0' || strlen (user_name) > 200 || !g_utf8_validate (user_name, -1, NULL))
    {
      g_set_error_literal (error, TANDEM_SERVER_STORAGE_ERROR, TANDEM_SERVER_STORAGE_ERROR_FAILED,
                           "A user name must be 1 to 200 bytes of UTF-8");
      return NULL;
    }

  /* 256 random bits from the system's generator, as URL-safe text. */
  {
    g_autoptr(GFile) urandom = g_file_new_for_path ("/dev/urandom");
    g_autoptr(GFileInputStream) in = g_file_read (urandom, NULL, error);
    gsize n = 0;

    if (in == NULL ||
        !g_input_stream_read_all (G_INPUT_STREAM (in), bytes, sizeof bytes, &n, NULL, error))
      return NULL;
    if (n != sizeof bytes)
      {
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not read random bytes");
        return NULL;
      }
  }
  token = g_base64_encode (bytes, sizeof bytes);
  g_strdelimit (token, "+", '-');
  g_strdelimit (token, "/", '_');
  g_strdelimit (token, "=", '\0');
  {
    g_autofree char *prefixed = g_strconcat ("tdm_", token, NULL);

    g_free (token);
    token = g_steal_pointer (&prefixed);
  }
  hash = hash_token (token);

  if (!tandem_server_storage_begin (self->storage, error))
    return NULL;
  if (!tandem_server_storage_add_token (self->storage, user_name, hash, error) ||
      !tandem_server_storage_commit (self->storage, error))
    {
      tandem_server_storage_rollback (self->storage);
      return NULL;
    }
  return g_steal_pointer (&token);
}

gboolean
tandem_service_revoke_token (TandemService *self,
                             const char    *token,
                             GError       **error)
{
  g_autofree char *hash = NULL;

  g_return_val_if_fail (TANDEM_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (token != NULL, FALSE);

  hash = hash_token (token);
  if (!tandem_server_storage_begin (self->storage, error))
    return FALSE;
  if (!tandem_server_storage_revoke_token (self->storage, hash, error) ||
      !tandem_server_storage_commit (self->storage, error))
    {
      tandem_server_storage_rollback (self->storage);
      return FALSE;
    }
  return TRUE;
}

gboolean
tandem_service_authenticate (TandemService *self,
                             const char    *token,
                             gint64        *user_id,
                             GError       **error)
{
  g_autofree char *hash = NULL;

  g_return_val_if_fail (TANDEM_IS_SERVICE (self), FALSE);

  *user_id = 0;
  if (token == NULL || *token == '\0' || strlen (token) > 512)
    return FALSE;
  hash = hash_token (token);
  return tandem_server_storage_lookup_token (self->storage, hash, user_id, error);
}

/* Rate limits: a token bucket per token, kept by the storage so that every
 * process serving the same users draws from the same bucket. Levels are in
 * millionths of a request, times in µs of the wall clock (processes on
 * several machines share no monotonic clock). */

#define RATE_UNIT            G_GINT64_CONSTANT (1000000)
#define RATE_REFILL_USEC     (60 * G_USEC_PER_SEC)   /* an idle bucket is full again */
#define RATE_MAX_ATTEMPTS    8

gboolean
tandem_service_take_request (TandemService *self,
                             const char    *token,
                             guint          per_minute,
                             guint         *retry_after)
{
  g_autofree char *key = NULL;
  g_autoptr(GError) error = NULL;
  gint64 capacity;

  g_return_val_if_fail (TANDEM_IS_SERVICE (self), TRUE);
  g_return_val_if_fail (token != NULL, TRUE);
  g_return_val_if_fail (retry_after != NULL, TRUE);

  if (per_minute == 0)
    return TRUE;

  key = hash_token (token);
  capacity = per_minute * RATE_UNIT;

  for (guint attempt = 0; attempt < RATE_MAX_ATTEMPTS; attempt++)
    {
      gint64 now = g_get_real_time ();
      gint64 level = capacity, updated_at = now, version = 0, elapsed;
      gboolean stored = FALSE;

      /* A bucket idle for a refill period is full, the same as none. */
      if (now - self->buckets_pruned > RATE_REFILL_USEC)
        {
          if (!tandem_server_storage_prune_rate_buckets (self->storage, now - RATE_REFILL_USEC,
                                                         &error))
            break;
          self->buckets_pruned = now;
        }

      if (!tandem_server_storage_get_rate_bucket (self->storage, key, &level, &updated_at,
                                                  &version, &error) && error != NULL)
        break;

      /* per_minute requests flow in per minute; a clock that went back
       * refills nothing. */
      elapsed = CLAMP (now - updated_at, 0, RATE_REFILL_USEC);
      level = MIN (capacity, level + elapsed * (gint64) per_minute * RATE_UNIT / RATE_REFILL_USEC);

      if (level < RATE_UNIT)
        {
          gint64 missing = RATE_UNIT - level;
          gint64 usec = missing * RATE_REFILL_USEC / ((gint64) per_minute * RATE_UNIT);

          *retry_after = (guint) MAX (1, (usec + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
          return FALSE;
        }

      if (!tandem_server_storage_put_rate_bucket (self->storage, key, version, level - RATE_UNIT,
                                                  now, &stored, &error))
        break;
      if (stored)
        return TRUE;
      /* Another request (of this or another process) took from the bucket
       * between our read and write: read it again. */
    }

  if (error != NULL)
    g_message ("rate limit not checked: %s", error->message);
  else
    g_message ("rate limit not checked: the bucket kept changing under %u attempts",
               RATE_MAX_ATTEMPTS);
  return TRUE;
}

/* Records */

static JsonNode *
object_node (JsonObject *object)
{
  return json_node_init_object (json_node_alloc (), object);
}

/* The stored record as a task. Records were validated on the way in. */
static TandemTask *
record_task (const TandemServerRecord *record)
{
  g_autoptr(JsonNode) node = object_node (record->body);
  g_autoptr(GError) error = NULL;
  TandemTask *task = tandem_task_from_json (node, &error);

  if (task == NULL)
    g_error ("Stored task %s does not decode: %s", record->id, error->message);
  return task;
}

static TandemList *
record_list (const TandemServerRecord *record)
{
  g_autoptr(JsonNode) node = object_node (record->body);
  g_autoptr(GError) error = NULL;
  TandemList *list = tandem_list_from_json (node, &error);

  if (list == NULL)
    g_error ("Stored list %s does not decode: %s", record->id, error->message);
  return list;
}

static JsonObject *
take_object (JsonNode *node)
{
  JsonObject *object = json_object_ref (json_node_get_object (node));

  json_node_unref (node);
  return object;
}

/* A copy of a record's field revisions that the next revision can change
 * without touching the previous one's. */
static JsonObject *
copy_field_revs (JsonObject *field_revs)
{
  JsonObject *copy = json_object_new ();
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  json_object_iter_init (&iter, field_revs);
  while (json_object_iter_next (&iter, &name, &value))
    json_object_set_member (copy, name, json_node_copy (value));
  return copy;
}

static TandemRecord *
record_for_wire (const TandemServerRecord *record)
{
  if (record->entity == TANDEM_ENTITY_TASK)
    return tandem_record_new_task (record_task (record));
  return tandem_record_new_list (record_list (record));
}

/* A change to be stored: the new value of a record and what it changed. */
typedef struct
{
  gint64      user_id;
  const char *device_id;
  const char *op_id;
  const char *kind;
  const char *now;
} WriteContext;

static gboolean
history_line (TandemService      *self,
              const WriteContext *ctx,
              const char         *entity_id,
              gint64              rev,
              const char         *field,
              JsonNode           *old_value,
              JsonNode           *new_value,
              GError            **error)
{
  TandemServerHistoryEntry entry = { 0 };
  g_autofree char *old_text = old_value ? tandem_json_to_string (old_value, FALSE) : NULL;
  g_autofree char *new_text = new_value ? tandem_json_to_string (new_value, FALSE) : NULL;

  entry.at = (char *) ctx->now;
  entry.device_id = (char *) ctx->device_id;
  entry.op_id = (char *) ctx->op_id;
  entry.kind = (char *) ctx->kind;
  entry.field = (char *) field;
  entry.old_value = old_text;
  entry.new_value = new_text;
  entry.rev = rev;
  return tandem_server_storage_add_history (self->storage, ctx->user_id, entity_id, &entry, error);
}

/* Stores @task as the next revision after @previous (NULL: a new record),
 * with one history line per field that changed. */
static TandemServerRecord *
store_task (TandemService            *self,
            const WriteContext       *ctx,
            const TandemServerRecord *previous,
            TandemTask               *task,
            GError                  **error)
{
  g_autoptr(TandemServerRecord) record = tandem_server_record_new ();
  g_autoptr(TandemTask) before = previous ? record_task (previous) : NULL;

  record->id = g_strdup (task->id);
  record->entity = TANDEM_ENTITY_TASK;
  record->rev = previous ? previous->rev + 1 : 1;
  record->updated_at = g_strdup (ctx->now);
  record->deleted = task->deleted;
  if (task->deleted)
    record->deleted_at = g_strdup (previous && previous->deleted ? previous->deleted_at : ctx->now);
  if (previous != NULL)
    {
      json_object_unref (record->field_revs);
      record->field_revs = copy_field_revs (previous->field_revs);
    }

  task->rev = record->rev;
  g_free (task->updated_at);
  task->updated_at = g_strdup (ctx->now);

  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    {
      g_autoptr(JsonNode) old_value = NULL;
      g_autoptr(JsonNode) new_value = NULL;

      if (before != NULL && tandem_task_field_equal (before, task, f))
        continue;
      json_object_set_int_member (record->field_revs, tandem_field_name (f), record->rev);
      if (before == NULL)
        continue;
      old_value = tandem_task_get_field (before, f);
      new_value = tandem_task_get_field (task, f);
      if (!history_line (self, ctx, task->id, record->rev, tandem_field_name (f), old_value,
                         new_value, error))
        return NULL;
    }
  if (before == NULL && !history_line (self, ctx, task->id, record->rev, NULL, NULL, NULL, error))
    return NULL;

  json_object_unref (record->body);
  record->body = take_object (tandem_task_to_json (task));
  if (!tandem_server_storage_put_record (self->storage, ctx->user_id, record, error))
    return NULL;
  return g_steal_pointer (&record);
}

static TandemServerRecord *
store_list (TandemService            *self,
            const WriteContext       *ctx,
            const TandemServerRecord *previous,
            TandemList               *list,
            GError                  **error)
{
  g_autoptr(TandemServerRecord) record = tandem_server_record_new ();
  g_autoptr(TandemList) before = previous ? record_list (previous) : NULL;
  struct { const char *name; gboolean changed; char *old_value, *new_value; } fields[] = {
    { "name", !before || g_strcmp0 (before->name, list->name) != 0,
      before ? before->name : NULL, list->name },
    { "position", !before || g_strcmp0 (before->position, list->position) != 0,
      before ? before->position : NULL, list->position },
    { "deleted", !before || !before->deleted != !list->deleted, NULL, NULL },
  };

  record->id = g_strdup (list->id);
  record->entity = TANDEM_ENTITY_LIST;
  record->rev = previous ? previous->rev + 1 : 1;
  record->updated_at = g_strdup (ctx->now);
  record->deleted = list->deleted;
  if (list->deleted)
    record->deleted_at = g_strdup (previous && previous->deleted ? previous->deleted_at : ctx->now);
  if (previous != NULL)
    {
      json_object_unref (record->field_revs);
      record->field_revs = copy_field_revs (previous->field_revs);
    }
  list->rev = record->rev;
  g_free (list->updated_at);
  list->updated_at = g_strdup (ctx->now);

  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      g_autoptr(JsonNode) old_value = NULL;
      g_autoptr(JsonNode) new_value = NULL;

      if (!fields[i].changed)
        continue;
      json_object_set_int_member (record->field_revs, fields[i].name, record->rev);
      if (before == NULL)
        continue;
      if (i == 2)
        {
          old_value = json_node_init_boolean (json_node_alloc (), before->deleted);
          new_value = json_node_init_boolean (json_node_alloc (), list->deleted);
        }
      else
        {
          old_value = json_node_init_string (json_node_alloc (), fields[i].old_value);
          new_value = json_node_init_string (json_node_alloc (), fields[i].new_value);
        }
      if (!history_line (self, ctx, list->id, record->rev, fields[i].name, old_value, new_value,
                         error))
        return NULL;
    }
  if (before == NULL && !history_line (self, ctx, list->id, record->rev, NULL, NULL, NULL, error))
    return NULL;

  json_object_unref (record->body);
  record->body = take_object (tandem_list_to_json (list));
  if (!tandem_server_storage_put_record (self->storage, ctx->user_id, record, error))
    return NULL;
  return g_steal_pointer (&record);
}

/* Op outcomes */

static TandemPushResult *
result_new (const char *op_id,
            guint       status,
            const char *type)
{
  TandemPushResult *result = tandem_push_result_new ();

  result->op_id = g_strdup (op_id);
  result->status = status;
  result->type = g_strdup (type);
  return result;
}

static TandemPushResult *
result_applied (const char               *op_id,
                guint                     status,
                const TandemServerRecord *record)
{
  TandemPushResult *result = result_new (op_id, status, "applied");

  result->record = record_for_wire (record);
  return result;
}

static TandemPushResult *
result_conflict (const char               *op_id,
                 const TandemServerRecord *current)
{
  TandemPushResult *result = result_new (op_id, 409, "conflict");
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  result->current = record_for_wire (current);
  json_object_iter_init (&iter, current->field_revs);
  while (json_object_iter_next (&iter, &name, &value))
    {
      gint64 rev = json_node_get_int (value);

      g_hash_table_insert (result->field_revs, g_strdup (name), g_memdup2 (&rev, sizeof rev));
    }
  return result;
}

static TandemPushResult *
result_invalid (const char *op_id,
                const char *message)
{
  TandemPushResult *result = result_new (op_id, 422, "invalid");

  result->error = g_strdup (message);
  return result;
}

static gint64
field_rev (const TandemServerRecord *record,
           const char               *field)
{
  return json_object_get_int_member_with_default (record->field_revs, field, 1);
}

/* DESIGN §4: a patched human/text field collides when the server changed it
 * after base_rev, and its server value differs both from the value the
 * client edited (base; any value when base is absent) and from the new one. */
static gboolean
collides (const TandemServerRecord *record,
          const TandemOp           *op,
          JsonNode                 *current,
          const char               *field)
{
  JsonNode *new_value = json_object_get_member (op->patch, field);
  JsonNode *base_value = json_object_get_member (op->base, field);

  if (field_rev (record, field) <= op->base_rev)
    return FALSE;
  if (json_node_equal (current, new_value))
    return FALSE;
  return base_value == NULL || !json_node_equal (current, base_value);
}

/* Whether another device (or a plain HTTP client) wrote the record after
 * @base_rev: a device's own later writes are no news to it. */
static gboolean
changed_by_others_since (TandemService            *self,
                         gint64                    user_id,
                         const TandemServerRecord *record,
                         gint64                    base_rev,
                         const char               *device_id,
                         gboolean                 *changed,
                         GError                  **error)
{
  g_autoptr(GPtrArray) history = NULL;

  *changed = FALSE;
  if (record->rev <= base_rev)
    return TRUE;
  if (device_id == NULL)
    {
      *changed = TRUE;
      return TRUE;
    }
  if (!(history = tandem_server_storage_list_history (self->storage, user_id, record->id, error)))
    return FALSE;
  for (guint i = 0; i < history->len; i++)
    {
      const TandemServerHistoryEntry *entry = g_ptr_array_index (history, i);

      if (entry->rev > base_rev && g_strcmp0 (entry->device_id, device_id) != 0)
        *changed = TRUE;
    }
  return TRUE;
}

/* A task created without an ordering key (a plain HTTP client) goes to
 * the middle of the key space; clients order ties by id. */
static void
ensure_position (TandemTask *task)
{
  if (!tandem_position_is_valid (task->position))
    {
      g_free (task->position);
      task->position = tandem_position_between (NULL, NULL, NULL);
    }
}

static TandemPushResult *
apply_task_op (TandemService      *self,
               const WriteContext *ctx,
               const TandemOp     *op,
               GError            **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(TandemServerRecord) record = NULL;
  g_autoptr(TandemServerRecord) stored = NULL;
  g_autoptr(TandemTask) task = NULL;
  gboolean changed;

  record = tandem_server_storage_get_record (self->storage, ctx->user_id, op->entity_id,
                                             &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (record != NULL && record->entity != TANDEM_ENTITY_TASK)
    return result_invalid (op->op_id, "entity_id names a list, not a task");

  if (op->kind == TANDEM_OP_CREATE)
    {
      g_autoptr(TandemTask) created = tandem_task_new ();
      g_autoptr(GError) patch_error = NULL;

      created->id = g_strdup (op->entity_id);
      if (!tandem_task_apply_patch (created, op->patch, &patch_error))
        return result_invalid (op->op_id, patch_error->message);
      ensure_position (created);

      if (record != NULL)
        {
          /* Idempotent by content: the same create again changes nothing. */
          task = record_task (record);
          for (guint f = 0; f < TANDEM_N_FIELDS; f++)
            if (json_object_has_member (op->patch, tandem_field_name (f)) &&
                !tandem_task_field_equal (task, created, f))
              return result_conflict (op->op_id, record);
          if (record->deleted)
            return result_conflict (op->op_id, record);
          return result_applied (op->op_id, 200, record);
        }

      if (!(stored = store_task (self, ctx, NULL, created, error)))
        return NULL;
      return result_applied (op->op_id, 201, stored);
    }

  /* Every other kind needs the record. */
  if (record == NULL)
    {
      TandemPushResult *result = result_new (op->op_id, 404, "gone");

      result->error = g_strdup ("The server no longer knows this task (its tombstone was purged)");
      return result;
    }
  task = record_task (record);

  switch (op->kind)
    {
    case TANDEM_OP_DELETE:
      if (record->deleted)
        return result_applied (op->op_id, 200, record);
      if (!changed_by_others_since (self, ctx->user_id, record, op->base_rev, ctx->device_id,
                                    &changed, error))
        return NULL;
      if (changed)
        return result_conflict (op->op_id, record);
      task->deleted = TRUE;
      break;

    case TANDEM_OP_RESTORE:
    case TANDEM_OP_UPDATE:
      {
        g_autoptr(GError) patch_error = NULL;
        g_autoptr(TandemTask) patched = NULL;
        JsonObjectIter iter;
        const char *name;
        JsonNode *value;

        if (record->deleted && op->kind == TANDEM_OP_UPDATE)
          return result_conflict (op->op_id, record);
        /* A restore undoes the delete its device saw. When another device
         * restored, edited and deleted the task again since, this is a new
         * delete meeting a restore: the user is asked, like a delete that
         * meets an edit. */
        if (record->deleted && op->kind == TANDEM_OP_RESTORE)
          {
            gboolean changed;

            if (!changed_by_others_since (self, ctx->user_id, record, op->base_rev,
                                          ctx->device_id, &changed, error))
              return NULL;
            if (changed)
              return result_conflict (op->op_id, record);
          }

        json_object_iter_init (&iter, op->patch);
        while (json_object_iter_next (&iter, &name, &value))
          {
            TandemField field;
            g_autoptr(JsonNode) current = NULL;

            if (!tandem_field_from_name (name, &field))
              continue;
            if (tandem_field_policy (field) != TANDEM_POLICY_HUMAN &&
                tandem_field_policy (field) != TANDEM_POLICY_TEXT)
              continue;
            current = tandem_task_get_field (task, field);
            if (collides (record, op, current, name))
              return result_conflict (op->op_id, record);
          }

        patched = tandem_task_copy (task);
        if (!tandem_task_apply_patch (patched, op->patch, &patch_error))
          return result_invalid (op->op_id, patch_error->message);
        patched->deleted = FALSE;
        g_clear_pointer (&task, tandem_task_free);
        task = g_steal_pointer (&patched);
      }
      break;

    case TANDEM_OP_TAG_ADD:
    case TANDEM_OP_TAG_REMOVE:
      {
        const char *tag = json_object_get_string_member (op->patch, "tag");

        if (record->deleted)
          return result_conflict (op->op_id, record);
        if (op->kind == TANDEM_OP_TAG_ADD && task->tags->len >= TANDEM_TAGS_MAX &&
            !tandem_task_has_tag (task, tag))
          return result_invalid (op->op_id, "The task already has the most tags allowed (64)");
        if (op->kind == TANDEM_OP_TAG_ADD)
          tandem_task_add_tag (task, tag);
        else
          tandem_task_remove_tag (task, tag);
      }
      break;

    case TANDEM_OP_COMMENT_ADD:
      if (record->deleted)
        return result_conflict (op->op_id, record);
      tandem_task_add_comment (task,
                               tandem_comment_new (json_object_get_string_member (op->patch,
                                                                                  "comment_id"),
                                                   json_object_get_string_member (op->patch, "body"),
                                                   ctx->device_id ? ctx->device_id : "",
                                                   ctx->now));
      break;

    case TANDEM_OP_CREATE:
    default:
      g_assert_not_reached ();
    }

  /* Idempotent by content: an op whose effect is already there writes
   * nothing and answers with the record. */
  {
    g_autoptr(TandemTask) before = record_task (record);

    if (tandem_task_equal (before, task))
      return result_applied (op->op_id, 200, record);
  }

  if (!(stored = store_task (self, ctx, record, task, error)))
    return NULL;
  return result_applied (op->op_id, 200, stored);
}

static TandemPushResult *
apply_list_op (TandemService      *self,
               const WriteContext *ctx,
               const TandemOp     *op,
               GError            **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(TandemServerRecord) record = NULL;
  g_autoptr(TandemServerRecord) stored = NULL;
  g_autoptr(TandemList) list = NULL;
  const char *name = json_object_get_string_member_with_default (op->patch, "name", NULL);
  const char *position = json_object_get_string_member_with_default (op->patch, "position", NULL);
  gboolean changed;

  record = tandem_server_storage_get_record (self->storage, ctx->user_id, op->entity_id,
                                             &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (record != NULL && record->entity != TANDEM_ENTITY_LIST)
    return result_invalid (op->op_id, "entity_id names a task, not a list");

  if (op->kind == TANDEM_OP_CREATE)
    {
      if (record != NULL)
        {
          list = record_list (record);
          if (!record->deleted && g_strcmp0 (list->name, name) == 0 &&
              (position == NULL || g_strcmp0 (list->position, position) == 0))
            return result_applied (op->op_id, 200, record);
          return result_conflict (op->op_id, record);
        }
      list = tandem_list_new ();
      list->id = g_strdup (op->entity_id);
      g_free (list->name);
      list->name = g_strdup (name);
      g_free (list->position);
      list->position = g_strdup (position ? position : "V");
      if (!(stored = store_list (self, ctx, NULL, list, error)))
        return NULL;
      return result_applied (op->op_id, 201, stored);
    }

  if (record == NULL)
    {
      TandemPushResult *result = result_new (op->op_id, 404, "gone");

      result->error = g_strdup ("The server no longer knows this list (its tombstone was purged)");
      return result;
    }
  list = record_list (record);

  switch (op->kind)
    {
    case TANDEM_OP_DELETE:
      {
        gint64 n_tasks = 0;

        if (record->deleted)
          return result_applied (op->op_id, 200, record);
        if (!changed_by_others_since (self, ctx->user_id, record, op->base_rev, ctx->device_id,
                                      &changed, error) ||
            !tandem_server_storage_count_tasks_in_list (self->storage, ctx->user_id, record->id,
                                                        &n_tasks, error))
          return NULL;
        if (changed)
          return result_conflict (op->op_id, record);
        if (n_tasks > 0)
          {
            g_autofree char *message = g_strdup_printf ("The list still has %" G_GINT64_FORMAT
                                                        " %s; move them first", n_tasks,
                                                        n_tasks == 1 ? "task" : "tasks");
            return result_invalid (op->op_id, message);
          }
        list->deleted = TRUE;
      }
      break;

    case TANDEM_OP_UPDATE:
    case TANDEM_OP_RESTORE:
      if (record->deleted && op->kind == TANDEM_OP_UPDATE)
        return result_conflict (op->op_id, record);
      if (name != NULL)
        {
          g_autoptr(JsonNode) current = json_node_init_string (json_node_alloc (), list->name);

          if (collides (record, op, current, "name"))
            return result_conflict (op->op_id, record);
          g_free (list->name);
          list->name = g_strdup (name);
        }
      if (position != NULL)
        {
          g_free (list->position);
          list->position = g_strdup (position);
        }
      list->deleted = FALSE;
      break;

    case TANDEM_OP_CREATE:
    case TANDEM_OP_TAG_ADD:
    case TANDEM_OP_TAG_REMOVE:
    case TANDEM_OP_COMMENT_ADD:
    default:
      return result_invalid (op->op_id, "Lists take create, update, delete and restore ops only");
    }

  {
    g_autoptr(TandemList) before = record_list (record);

    if (g_strcmp0 (before->name, list->name) == 0 &&
        g_strcmp0 (before->position, list->position) == 0 && !before->deleted == !list->deleted)
      return result_applied (op->op_id, 200, record);
  }
  if (!(stored = store_list (self, ctx, record, list, error)))
    return NULL;
  return result_applied (op->op_id, 200, stored);
}

/* Outcomes that are the same whenever the op is sent again are kept with its
 * key; held, invalid and in-progress ones are not (the op is resent later
 * and must then be applied). */
static gboolean
result_is_final (const TandemPushResult *result)
{
  return result->status == 200 || result->status == 201 || result->status == 409 ||
         result->status == 404;
}

/* Applies one decoded op with its idempotency record, inside the caller's
 * savepoint. */
static TandemPushResult *
apply_op (TandemService      *self,
          const WriteContext *ctx,
          const TandemOp     *op,
          GError            **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *hash = tandem_op_payload_hash (op);
  g_autofree char *stored_hash = NULL;
  g_autofree char *stored_result = NULL;
  g_autoptr(TandemPushResult) result = NULL;

  if (tandem_server_storage_get_idempotency (self->storage, ctx->user_id, op->op_id, &stored_hash,
                                             &stored_result, &local_error))
    {
      g_autoptr(JsonNode) node = NULL;

      if (g_strcmp0 (stored_hash, hash) != 0)
        return result_invalid (op->op_id,
                               "This op_id was already used for a different op; "
                               "an idempotency key names one op only");
      node = tandem_json_parse (stored_result, -1, &local_error);
      if (node != NULL)
        result = tandem_push_result_from_json (node, &local_error);
      if (result == NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      return g_steal_pointer (&result);
    }
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  if (op->entity == TANDEM_ENTITY_TASK)
    result = apply_task_op (self, ctx, op, error);
  else
    result = apply_list_op (self, ctx, op, error);
  if (result == NULL)
    return NULL;

  if (result_is_final (result))
    {
      g_autoptr(JsonNode) node = tandem_push_result_to_json (result);
      g_autofree char *text = tandem_json_to_string (node, FALSE);

      if (!tandem_server_storage_put_idempotency (self->storage, ctx->user_id, op->op_id, hash,
                                                  text, ctx->now, error))
        return NULL;
    }
  return g_steal_pointer (&result);
}

/* Push */

static const char *
string_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* The device id ends up in comments and history, which are read back
 * through the codec: the same rule as there. */
static gboolean
valid_device_id (const char *device_id)
{
  if (device_id == NULL || *device_id == '\0' || strlen (device_id) > 100 ||
      !g_utf8_validate (device_id, -1, NULL))
    return FALSE;
  for (const char *p = device_id; *p; p = g_utf8_next_char (p))
    if (!g_unichar_isprint (g_utf8_get_char (p)))
      return FALSE;
  return TRUE;
}

void
tandem_service_push (TandemService      *self,
                     gint64              user_id,
                     JsonNode           *body,
                     TandemServiceReply *reply)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GHashTable) refused = NULL;
  g_autoptr(GPtrArray) keys = NULL;
  g_autofree int *key_of_op = NULL;
  g_autofree gboolean *claimed = NULL;
  g_autofree char *now = tandem_now_rfc3339 ();
  const char *device_id;
  JsonObject *object;
  JsonArray *ops;
  guint n_ops;
  guint n_in_progress = 0;
  WriteContext ctx = { 0 };

  g_return_if_fail (TANDEM_IS_SERVICE (self));
  g_return_if_fail (body != NULL && reply != NULL);

  /* The envelope: errors here reject the whole request. */
  if (!JSON_NODE_HOLDS_OBJECT (body))
    {
      tandem_service_reply_problem (reply, 400, "invalid-request",
                                    "The body must be an object {\"device_id\", \"ops\"}");
      return;
    }
  object = json_node_get_object (body);
  device_id = string_member (object, "device_id");
  if (!valid_device_id (device_id))
    {
      tandem_service_reply_problem (reply, 400, "invalid-request",
                                    "device_id: must be 1 to 100 bytes of printable UTF-8");
      return;
    }
  if (!json_object_has_member (object, "ops") ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (object, "ops")))
    {
      tandem_service_reply_problem (reply, 400, "invalid-request", "ops: must be an array of ops");
      return;
    }
  ops = json_object_get_array_member (object, "ops");
  if (json_array_get_length (ops) > TANDEM_PUSH_MAX_OPS)
    {
      reply_problem_printf (reply, 413, "too-many-ops",
                            "%u ops in one push; at most %d. Split the batch.",
                            json_array_get_length (ops), TANDEM_PUSH_MAX_OPS);
      return;
    }

  ctx.user_id = user_id;
  ctx.device_id = device_id;
  ctx.now = now;
  results = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_push_result_free);
  refused = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  /* The op ids, claimed before anything waits for this user's other
   * writes: an op whose id another request is still applying answers
   * in_progress at once (see claim_keys in tandem-server-storage.h). */
  n_ops = json_array_get_length (ops);
  keys = g_ptr_array_new ();
  key_of_op = g_new (int, n_ops);
  for (guint i = 0; i < n_ops; i++)
    {
      JsonNode *node = json_array_get_element (ops, i);
      const char *op_id = NULL;

      if (JSON_NODE_HOLDS_OBJECT (node))
        op_id = string_member (json_node_get_object (node), "op_id");
      key_of_op[i] = op_id != NULL ? (int) keys->len : -1;
      if (op_id != NULL)
        g_ptr_array_add (keys, (gpointer) op_id);
    }
  claimed = g_new0 (gboolean, MAX (keys->len, 1));

  if (!tandem_server_storage_begin (self->storage, &error))
    {
      reply_storage_error (reply, error);
      return;
    }
  if (!tandem_server_storage_claim_keys (self->storage, user_id,
                                         (const char *const *) keys->pdata, keys->len, claimed,
                                         &error))
    goto failed;

  for (guint i = 0; i < n_ops; i++)
    {
      JsonNode *node = json_array_get_element (ops, i);
      g_autoptr(TandemOp) op = NULL;
      g_autoptr(GError) op_error = NULL;
      TandemPushResult *result;
      const char *op_id = NULL;
      const char *entity_id = NULL;

      if (JSON_NODE_HOLDS_OBJECT (node))
        {
          op_id = string_member (json_node_get_object (node), "op_id");
          entity_id = string_member (json_node_get_object (node), "entity_id");
        }

      if (entity_id != NULL && g_hash_table_contains (refused, entity_id))
        {
          result = result_new (op_id, 424, "held");
          result->error = g_strdup ("An earlier op of this record in the same push was refused; "
                                    "resend after resolving it");
          g_ptr_array_add (results, result);
          continue;
        }

      if (!(op = tandem_op_from_json (node, &op_error)))
        {
          g_ptr_array_add (results, result_invalid (op_id, op_error->message));
          if (entity_id != NULL)
            g_hash_table_add (refused, g_strdup (entity_id));
          continue;
        }
      g_free (op->device_id);
      op->device_id = g_strdup (device_id);

      /* Not stored (see result_is_final()): the retry is applied, or
       * replays what the other request stored. */
      if (key_of_op[i] >= 0 && !claimed[key_of_op[i]])
        {
          g_ptr_array_add (results, result_new (op->op_id, 503, "in_progress"));
          g_hash_table_add (refused, g_strdup (op->entity_id));
          n_in_progress++;
          continue;
        }

      ctx.op_id = op->op_id;
      ctx.kind = tandem_op_kind_to_string (op->kind);
      if (!tandem_server_storage_savepoint (self->storage, &error))
        goto failed;
      if (!(result = apply_op (self, &ctx, op, &error)))
        {
          tandem_server_storage_rollback_to (self->storage);
          goto failed;
        }
      if (!tandem_server_storage_release (self->storage, &error))
        {
          tandem_push_result_free (result);
          goto failed;
        }
      if (result->status >= 300)
        g_hash_table_add (refused, g_strdup (op->entity_id));
      g_ptr_array_add (results, result);
    }

  /* Answers go out only once every op is on disk. */
  if (!tandem_server_storage_commit (self->storage, &error))
    {
      reply_storage_error (reply, error);
      return;
    }
  reply_json (reply, 200, tandem_push_response_to_json (results));
  if (n_in_progress > 0)
    reply->retry_after = 1;
  return;

failed:
  tandem_server_storage_rollback (self->storage);
  reply_storage_error (reply, error);
}

/* Changes */

/* A cursor carries the feed position and the purge horizon when it was
 * given out. It is stale only if tombstones past its position were purged
 * after that: a client reading the feed from the beginning may hold a
 * position below the horizon and still have missed nothing. */
static char *
encode_cursor (gint64 seq,
               gint64 horizon)
{
  g_autofree char *text = g_strdup_printf ("tandem-feed:2:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT,
                                           seq, horizon);
  char *cursor = g_base64_encode ((const guchar *) text, strlen (text));

  g_strdelimit (cursor, "+", '-');
  g_strdelimit (cursor, "/", '_');
  return cursor;
}

static gboolean
decode_cursor (const char *cursor,
               gint64     *seq,
               gint64     *horizon)
{
  g_autofree char *copy = NULL;
  g_autofree guchar *decoded = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) parts = NULL;
  gsize len = 0;
  guint64 values[2];

  if (*cursor == '\0' || strlen (cursor) > 96 ||
      strspn (cursor, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=") !=
        strlen (cursor))
    return FALSE;
  copy = g_strdup (cursor);
  g_strdelimit (copy, "-", '+');
  g_strdelimit (copy, "_", '/');
  decoded = g_base64_decode (copy, &len);
  text = g_strndup ((const char *) decoded, len);
  parts = g_strsplit (text, ":", -1);
  if (g_strv_length (parts) != 4 || g_strcmp0 (parts[0], "tandem-feed") != 0 ||
      g_strcmp0 (parts[1], "2") != 0)
    return FALSE;
  for (guint i = 0; i < 2; i++)
    if (!g_ascii_string_to_unsigned (parts[2 + i], 10, 0, G_MAXINT64, &values[i], NULL))
      return FALSE;
  *seq = (gint64) values[0];
  *horizon = (gint64) values[1];
  return TRUE;
}

void
tandem_service_changes (TandemService      *self,
                        gint64              user_id,
                        const char         *since,
                        const char         *limit,
                        TandemServiceReply *reply)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(TandemChangesPage) page = NULL;
  gint64 since_seq = 0, since_horizon = 0, purged_seq = 0, last_seq = 0;
  guint64 max = 500;

  g_return_if_fail (TANDEM_IS_SERVICE (self));

  if (limit != NULL &&
      !g_ascii_string_to_unsigned (limit, 10, 1, TANDEM_PUSH_MAX_OPS, &max, NULL))
    {
      reply_problem_printf (reply, 400, "invalid-limit",
                            "limit must be a whole number from 1 to %d, got “%s”",
                            TANDEM_PUSH_MAX_OPS, limit);
      return;
    }
  if (since != NULL && !decode_cursor (since, &since_seq, &since_horizon))
    {
      tandem_service_reply_problem (reply, 400, "invalid-cursor",
                                    "since is not a cursor this server gave out; "
                                    "leave it out to read from the beginning");
      return;
    }

  if (!tandem_server_storage_get_feed_bounds (self->storage, user_id, &purged_seq, &last_seq,
                                              &error))
    {
      reply_storage_error (reply, error);
      return;
    }
  /* Tombstones past the cursor were purged since it was given out: deletes
   * may have been missed. Past anything given out: the cursor belongs to
   * another server. */
  if (since != NULL &&
      ((purged_seq > since_horizon && since_seq < purged_seq) || since_seq > last_seq))
    {
      tandem_service_reply_problem (reply, 410, "cursor-expired",
                                    "The cursor is older than the server keeps deleted records, "
                                    "or from another server; read again from the beginning");
      return;
    }

  if (!(records = tandem_server_storage_list_changes (self->storage, user_id, since_seq,
                                                      (guint) max + 1, &error)))
    {
      reply_storage_error (reply, error);
      return;
    }

  page = tandem_changes_page_new ();
  page->has_more = records->len > max;
  for (guint i = 0; i < records->len && i < max; i++)
    {
      const TandemServerRecord *record = g_ptr_array_index (records, i);

      g_ptr_array_add (page->changes, record_for_wire (record));
      since_seq = record->seq;
    }
  /* At the end of the feed the position is everything given out so far, so
   * a feed whose newest records were purged does not hand out a position
   * below the horizon. (One writer at a time: nothing at or below last_seq
   * commits later.) */
  if (!page->has_more)
    since_seq = MAX (since_seq, last_seq);
  page->cursor = encode_cursor (since_seq, purged_seq);
  reply_json (reply, 200, tandem_changes_page_to_json (page));
}

/* Single records */

static gboolean
check_id (TandemServiceReply *reply,
          const char         *id)
{
  if (id == NULL || !g_uuid_string_is_valid (id))
    {
      reply_problem_printf (reply, 404, "not-found", "“%s” is not a record id (a UUID)",
                            id ? id : "");
      return FALSE;
    }
  return TRUE;
}

/* Loads a record of @entity; replies 404 when there is none. */
static TandemServerRecord *
load_record (TandemService      *self,
             gint64              user_id,
             TandemEntity        entity,
             const char         *id,
             TandemServiceReply *reply)
{
  g_autoptr(GError) error = NULL;
  TandemServerRecord *record;

  if (!check_id (reply, id))
    return NULL;
  record = tandem_server_storage_get_record (self->storage, user_id, id, &error);
  if (error != NULL)
    {
      reply_storage_error (reply, error);
      return NULL;
    }
  if (record == NULL || record->entity != entity)
    {
      reply_problem_printf (reply, 404, "not-found", "There is no %s with id %s",
                            tandem_entity_to_string (entity), id);
      g_clear_pointer (&record, tandem_server_record_free);
    }
  return record;
}

static JsonNode *
record_json (const TandemServerRecord *record)
{
  g_autoptr(TandemRecord) wire = record_for_wire (record);

  return tandem_record_to_json (wire);
}

void
tandem_service_get (TandemService      *self,
                    gint64              user_id,
                    TandemEntity        entity,
                    const char         *id,
                    TandemServiceReply *reply)
{
  g_autoptr(TandemServerRecord) record = NULL;

  g_return_if_fail (TANDEM_IS_SERVICE (self));

  if (!(record = load_record (self, user_id, entity, id, reply)))
    return;
  if (record->deleted)
    {
      reply_problem_printf (reply, 410, "deleted", "The %s %s was deleted at %s",
                            tandem_entity_to_string (entity), id, record->deleted_at);
      json_object_set_member (reply->problem->extra ? reply->problem->extra
                                                    : (reply->problem->extra = json_object_new ()),
                              "current", record_json (record));
      reply->etag_rev = record->rev;
      return;
    }
  reply_json (reply, 200, record_json (record));
  reply->etag_rev = record->rev;
}

void
tandem_service_history (TandemService      *self,
                        gint64              user_id,
                        const char         *id,
                        TandemServiceReply *reply)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemServerRecord) record = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  JsonArray *array;
  JsonObject *object;

  g_return_if_fail (TANDEM_IS_SERVICE (self));

  if (!(record = load_record (self, user_id, TANDEM_ENTITY_TASK, id, reply)))
    return;
  if (!(entries = tandem_server_storage_list_history (self->storage, user_id, id, &error)))
    {
      reply_storage_error (reply, error);
      return;
    }

  array = json_array_sized_new (entries->len);
  for (guint i = 0; i < entries->len; i++)
    {
      const TandemServerHistoryEntry *entry = g_ptr_array_index (entries, i);
      JsonObject *line = json_object_new ();

      json_object_set_string_member (line, "at", entry->at);
      json_object_set_int_member (line, "rev", entry->rev);
      json_object_set_string_member (line, "device_id", entry->device_id);
      json_object_set_string_member (line, "op_id", entry->op_id);
      json_object_set_string_member (line, "kind", entry->kind);
      json_object_set_string_member (line, "field", entry->field);
      json_object_set_member (line, "old", entry->old_value
                                             ? tandem_json_parse (entry->old_value, -1, NULL)
                                             : json_node_init_null (json_node_alloc ()));
      json_object_set_member (line, "new", entry->new_value
                                             ? tandem_json_parse (entry->new_value, -1, NULL)
                                             : json_node_init_null (json_node_alloc ()));
      json_array_add_object_element (array, line);
    }
  object = json_object_new ();
  json_object_set_string_member (object, "id", id);
  json_object_set_array_member (object, "history", array);
  reply_json (reply, 200, json_node_init_object (json_node_alloc (), object));
  json_object_unref (object);
}

/* PUT and DELETE: conditional writes for plain HTTP clients. They are turned
 * into ops (so the same rules apply) with a strict precondition on top. */

static gboolean
parse_if_match (const char *value,
                gint64     *rev)
{
  guint64 n;
  gsize len;

  if (value == NULL)
    return FALSE;
  len = strlen (value);
  if (len < 3 || value[0] != '"' || value[len - 1] != '"')
    return FALSE;
  {
    g_autofree char *inner = g_strndup (value + 1, len - 2);

    if (!g_ascii_string_to_unsigned (inner, 10, 1, G_MAXINT64, &n, NULL))
      return FALSE;
  }
  *rev = (gint64) n;
  return TRUE;
}

/* Replays a stored PUT/DELETE outcome: {"status", "body"} or a problem. */
static gboolean
replay_stored (TandemServiceReply *reply,
               const char         *stored)
{
  g_autoptr(JsonNode) node = tandem_json_parse (stored, -1, NULL);
  JsonObject *object;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  object = json_node_get_object (node);
  tandem_service_reply_clear (reply);
  reply->status = json_object_get_int_member_with_default (object, "status", 500);
  if (json_object_has_member (object, "body"))
    reply->body = json_node_copy (json_object_get_member (object, "body"));
  if (json_object_has_member (object, "problem"))
    reply->problem = tandem_problem_from_json (json_object_get_member (object, "problem"), NULL);
  reply->etag_rev = json_object_get_int_member_with_default (object, "etag", 0);
  reply->replayed = TRUE;
  return TRUE;
}

static char *
stored_outcome (const TandemServiceReply *reply)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) node = NULL;

  json_object_set_int_member (object, "status", reply->status);
  if (reply->body != NULL)
    json_object_set_member (object, "body", json_node_copy (reply->body));
  if (reply->problem != NULL)
    json_object_set_member (object, "problem", tandem_problem_to_json (reply->problem));
  if (reply->etag_rev > 0)
    json_object_set_int_member (object, "etag", reply->etag_rev);
  node = json_node_init_object (json_node_alloc (), object);
  return tandem_json_to_string (node, FALSE);
}

/* Runs a conditional write in one transaction: idempotency check, then
 * @write, then the stored outcome. */
typedef void (*ConditionalWrite) (TandemService      *self,
                                  const WriteContext *ctx,
                                  const TandemOp     *op,
                                  gpointer            data,
                                  TandemServiceReply *reply,
                                  GError            **error);

static void
run_conditional (TandemService      *self,
                 gint64              user_id,
                 TandemOp           *op,
                 const char         *idempotency_key,
                 ConditionalWrite    write,
                 gpointer            data,
                 TandemServiceReply *reply)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *now = tandem_now_rfc3339 ();
  g_autofree char *hash = NULL;
  g_autofree char *stored_hash = NULL;
  g_autofree char *stored = NULL;
  g_autofree char *outcome = NULL;
  g_autofree char *stored_key = NULL;
  gboolean claimed = FALSE;
  WriteContext ctx = { user_id, NULL, idempotency_key, NULL, now };

  if (idempotency_key == NULL || *idempotency_key == '\0')
    {
      tandem_service_reply_problem (reply, 400, "idempotency-key-missing",
                                    "PUT and DELETE need an Idempotency-Key header (a UUID you "
                                    "make once per change and reuse when you retry it)");
      return;
    }
  if (strlen (idempotency_key) > 200)
    {
      tandem_service_reply_problem (reply, 400, "idempotency-key-invalid",
                                    "The Idempotency-Key is longer than 200 bytes; use a UUID");
      return;
    }
  /* Keys of plain HTTP writes live apart from pushed op ids: the stored
   * outcomes have different shapes, and a client may reuse a UUID. */
  stored_key = g_strconcat ("http:", idempotency_key, NULL);
  g_free (op->op_id);
  op->op_id = g_strdup (idempotency_key);
  ctx.kind = op->kind == TANDEM_OP_DELETE ? "delete" : "put";
  hash = tandem_op_payload_hash (op);

  if (!tandem_server_storage_begin (self->storage, &error))
    {
      reply_storage_error (reply, error);
      return;
    }
  /* Claimed before anything waits for this user's other writes: a key
   * another request is still processing answers at once, and is not
   * stored, so the retry replays or applies it. */
  if (!tandem_server_storage_claim_keys (self->storage, user_id,
                                         (const char *const[]) { stored_key }, 1, &claimed,
                                         &error))
    goto failed;
  if (!claimed)
    {
      tandem_server_storage_rollback (self->storage);
      tandem_service_reply_problem (reply, 409, "idempotency-key-in-use",
                                    "Another request with this Idempotency-Key is still being "
                                    "processed; retry shortly to get its outcome");
      reply->retry_after = 1;
      return;
    }
  if (tandem_server_storage_get_idempotency (self->storage, user_id, stored_key,
                                             &stored_hash, &stored, &error))
    {
      tandem_server_storage_rollback (self->storage);
      if (g_strcmp0 (stored_hash, hash) != 0)
        tandem_service_reply_problem (reply, 422, "idempotency-key-reused",
                                      "This Idempotency-Key was already used for a different "
                                      "request; make a new key for a new change");
      else if (!replay_stored (reply, stored))
        tandem_service_reply_problem (reply, 500, "storage-failed",
                                      "The stored outcome of this request is unreadable");
      return;
    }
  if (error != NULL)
    goto failed;

  write (self, &ctx, op, data, reply, &error);
  if (error != NULL)
    goto failed;

  /* Outcomes that would be the same on a retry are kept with the key. */
  if (reply->status < 300 || reply->status == 412 || reply->status == 409)
    {
      outcome = stored_outcome (reply);
      if (!tandem_server_storage_put_idempotency (self->storage, user_id, stored_key, hash,
                                                  outcome, now, &error))
        goto failed;
    }
  if (!tandem_server_storage_commit (self->storage, &error))
    {
      reply_storage_error (reply, error);
      return;
    }
  return;

failed:
  tandem_server_storage_rollback (self->storage);
  reply_storage_error (reply, error);
}

typedef struct
{
  TandemEntity entity;
  const char  *id;
  gboolean     create;       /* If-None-Match: * */
  gint64       if_match;
} Precondition;

static void
reply_precondition_failed (TandemServiceReply       *reply,
                           const TandemServerRecord *current,
                           const char               *detail)
{
  tandem_service_reply_problem (reply, 412, "precondition-failed", detail);
  reply->problem->extra = json_object_new ();
  json_object_set_member (reply->problem->extra, "current", record_json (current));
  reply->etag_rev = current->rev;
}

static void
put_write (TandemService      *self,
           const WriteContext *ctx,
           const TandemOp     *op,
           gpointer            data,
           TandemServiceReply *reply,
           GError            **error)
{
  Precondition *pre = data;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(TandemServerRecord) record = NULL;
  g_autoptr(TandemServerRecord) stored = NULL;

  record = tandem_server_storage_get_record (self->storage, ctx->user_id, pre->id, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return;
    }
  if (record != NULL && record->entity != pre->entity)
    {
      reply_problem_printf (reply, 409, "wrong-entity", "The id %s belongs to a %s", pre->id,
                            tandem_entity_to_string (record->entity));
      return;
    }

  if (pre->create)
    {
      if (record != NULL)
        {
          reply_precondition_failed (reply, record, "A record with this id exists already "
                                                    "(If-None-Match: *)");
          return;
        }
    }
  else
    {
      if (record == NULL)
        {
          reply_problem_printf (reply, 404, "not-found", "There is no %s with id %s",
                                tandem_entity_to_string (pre->entity), pre->id);
          return;
        }
      if (record->rev != pre->if_match)
        {
          reply_precondition_failed (reply, record, "The record changed since the revision in "
                                                    "If-Match; merge with \"current\" and retry");
          return;
        }
      if (record->deleted)
        {
          reply_problem_printf (reply, 410, "deleted", "The %s %s was deleted",
                                tandem_entity_to_string (pre->entity), pre->id);
          return;
        }
    }

  if (pre->entity == TANDEM_ENTITY_TASK)
    {
      g_autoptr(TandemTask) task = record ? record_task (record) : tandem_task_new ();
      g_autoptr(TandemTask) before = record ? record_task (record) : NULL;
      g_autoptr(GError) patch_error = NULL;

      if (record == NULL)
        task->id = g_strdup (pre->id);
      if (!tandem_task_apply_patch (task, op->patch, &patch_error))
        {
          tandem_service_reply_problem (reply, 422, "invalid", patch_error->message);
          return;
        }
      ensure_position (task);
      if (record == NULL && (task->title == NULL || *task->title == '\0'))
        {
          tandem_service_reply_problem (reply, 422, "invalid", "title: a new task needs a title");
          return;
        }
      if (before != NULL && tandem_task_equal (before, task))
        stored = g_steal_pointer (&record);
      else if (!(stored = store_task (self, ctx, record, task, error)))
        return;
    }
  else
    {
      g_autoptr(TandemList) list = record ? record_list (record) : tandem_list_new ();
      g_autoptr(TandemList) before_list = record ? record_list (record) : NULL;
      const char *name = json_object_get_string_member_with_default (op->patch, "name", NULL);
      const char *position = json_object_get_string_member_with_default (op->patch, "position",
                                                                          NULL);

      if (record == NULL)
        {
          list->id = g_strdup (pre->id);
          g_free (list->position);
          list->position = g_strdup ("V");
          if (name == NULL)
            {
              tandem_service_reply_problem (reply, 422, "invalid", "name: a new list needs a name");
              return;
            }
        }
      if (name != NULL)
        {
          g_free (list->name);
          list->name = g_strdup (name);
        }
      if (position != NULL)
        {
          g_free (list->position);
          list->position = g_strdup (position);
        }
      if (before_list != NULL && g_strcmp0 (before_list->name, list->name) == 0 &&
          g_strcmp0 (before_list->position, list->position) == 0)
        stored = g_steal_pointer (&record);
      else if (!(stored = store_list (self, ctx, record, list, error)))
        return;
    }

  reply_json (reply, stored->rev == 1 && pre->create ? 201 : 200, record_json (stored));
  reply->etag_rev = stored->rev;
}

/* Turns a PUT body into an op of @kind, validated by the codec like a
 * pushed one. */
static TandemOp *
op_from_body (TandemEntity        entity,
              const char         *id,
              TandemOpKind        kind,
              gint64              base_rev,
              JsonNode           *body,
              TandemServiceReply *reply)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *placeholder = tandem_new_id ();
  TandemOp *op;

  json_object_set_string_member (object, "op_id", placeholder);
  json_object_set_string_member (object, "entity", tandem_entity_to_string (entity));
  json_object_set_string_member (object, "entity_id", id);
  json_object_set_string_member (object, "kind", tandem_op_kind_to_string (kind));
  json_object_set_int_member (object, "base_rev", base_rev);
  json_object_set_member (object, "patch", json_node_copy (body));
  node = json_node_init_object (json_node_alloc (), object);

  if (!(op = tandem_op_from_json (node, &error)))
    {
      const char *message = error->message;

      /* The body is the patch: name its members without the prefix. */
      if (g_str_has_prefix (message, "patch."))
        message += strlen ("patch.");
      else if (g_str_has_prefix (message, "patch: "))
        message += strlen ("patch: ");
      tandem_service_reply_problem (reply, 422, "invalid", message);
    }
  return op;
}

void
tandem_service_put (TandemService      *self,
                    gint64              user_id,
                    TandemEntity        entity,
                    const char         *id,
                    JsonNode           *body,
                    const char         *if_match,
                    const char         *if_none_match,
                    const char         *idempotency_key,
                    TandemServiceReply *reply)
{
  g_autoptr(TandemOp) op = NULL;
  Precondition pre = { entity, id, FALSE, 0 };

  g_return_if_fail (TANDEM_IS_SERVICE (self));

  if (!check_id (reply, id))
    return;
  if (if_match == NULL && if_none_match == NULL)
    {
      tandem_service_reply_problem (reply, 428, "precondition-required",
                                    "Send If-Match: \"REV\" with the revision you read (ETag), "
                                    "or If-None-Match: * to create");
      return;
    }
  if (if_none_match != NULL)
    {
      g_autofree char *value = g_strstrip (g_strdup (if_none_match));

      if (g_strcmp0 (value, "*") != 0)
        {
          tandem_service_reply_problem (reply, 400, "invalid-precondition",
                                        "If-None-Match takes only * (create if absent)");
          return;
        }
      pre.create = TRUE;
    }
  else if (!parse_if_match (if_match, &pre.if_match))
    {
      tandem_service_reply_problem (reply, 400, "invalid-precondition",
                                    "If-Match must be a revision in quotes, as in the ETag: \"3\"");
      return;
    }
  if (!JSON_NODE_HOLDS_OBJECT (body))
    {
      tandem_service_reply_problem (reply, 422, "invalid",
                                    "The body must be an object with the fields to set");
      return;
    }

  op = op_from_body (entity, id, pre.create ? TANDEM_OP_CREATE : TANDEM_OP_UPDATE,
                     pre.create ? 0 : pre.if_match, body, reply);
  if (op == NULL)
    return;
  run_conditional (self, user_id, op, idempotency_key, put_write, &pre, reply);
}

static void
delete_write (TandemService      *self,
              const WriteContext *ctx,
              const TandemOp     *op,
              gpointer            data,
              TandemServiceReply *reply,
              GError            **error)
{
  Precondition *pre = data;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(TandemServerRecord) record = NULL;
  g_autoptr(TandemServerRecord) stored = NULL;

  record = tandem_server_storage_get_record (self->storage, ctx->user_id, pre->id, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return;
    }
  if (record == NULL || record->entity != pre->entity)
    {
      reply_problem_printf (reply, 404, "not-found", "There is no %s with id %s",
                            tandem_entity_to_string (pre->entity), pre->id);
      return;
    }
  if (record->deleted)
    {
      /* Idempotent by content: deleting a tombstone changes nothing. */
      reply_json (reply, 200, record_json (record));
      reply->etag_rev = record->rev;
      return;
    }
  if (record->rev != pre->if_match)
    {
      reply_precondition_failed (reply, record, "The record changed since the revision in "
                                                "If-Match; read it again before deleting");
      return;
    }

  if (pre->entity == TANDEM_ENTITY_TASK)
    {
      g_autoptr(TandemTask) task = record_task (record);

      task->deleted = TRUE;
      if (!(stored = store_task (self, ctx, record, task, error)))
        return;
    }
  else
    {
      g_autoptr(TandemList) list = record_list (record);
      gint64 n_tasks = 0;

      if (!tandem_server_storage_count_tasks_in_list (self->storage, ctx->user_id, record->id,
                                                      &n_tasks, error))
        return;
      if (n_tasks > 0)
        {
          reply_problem_printf (reply, 422, "list-not-empty",
                                "The list still has %" G_GINT64_FORMAT " %s; move them first",
                                n_tasks, n_tasks == 1 ? "task" : "tasks");
          return;
        }
      list->deleted = TRUE;
      if (!(stored = store_list (self, ctx, record, list, error)))
        return;
    }
  reply_json (reply, 200, record_json (stored));
  reply->etag_rev = stored->rev;
}

void
tandem_service_delete (TandemService      *self,
                       gint64              user_id,
                       TandemEntity        entity,
                       const char         *id,
                       const char         *if_match,
                       const char         *idempotency_key,
                       TandemServiceReply *reply)
{
  g_autoptr(TandemOp) op = tandem_op_new ();
  Precondition pre = { entity, id, FALSE, 0 };

  g_return_if_fail (TANDEM_IS_SERVICE (self));

  if (!check_id (reply, id))
    return;
  if (if_match == NULL)
    {
      tandem_service_reply_problem (reply, 428, "precondition-required",
                                    "Send If-Match: \"REV\" with the revision you read (ETag)");
      return;
    }
  if (!parse_if_match (if_match, &pre.if_match))
    {
      tandem_service_reply_problem (reply, 400, "invalid-precondition",
                                    "If-Match must be a revision in quotes, as in the ETag: \"3\"");
      return;
    }

  op->entity = entity;
  op->entity_id = g_strdup (id);
  op->kind = TANDEM_OP_DELETE;
  op->base_rev = pre.if_match;
  run_conditional (self, user_id, op, idempotency_key, delete_write, &pre, reply);
}

/* Purging */

gboolean
tandem_service_purge (TandemService *self,
                      GDateTime     *now,
                      guint         *n_purged,
                      GError       **error)
{
  g_autoptr(GDateTime) cutoff = NULL;
  g_autofree char *text = NULL;

  g_return_val_if_fail (TANDEM_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (now != NULL, FALSE);

  cutoff = g_date_time_add_days (now, -(gint) self->retention_days);
  text = g_date_time_format (cutoff, "%Y-%m-%dT%H:%M:%S.%fZ");
  return tandem_server_storage_purge (self->storage, text, n_purged, error);
}
