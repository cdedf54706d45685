/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The server's request handling (TandemService on real SQLite storage) on
 * hostile requests. The first byte picks the route:
 *   P  POST /v1/sync/push               the rest is the body
 *   C  GET /v1/sync/changes             lines: since, limit
 *   G  GET /v1/tasks/ID   g  lists      line: ID
 *   H  GET /v1/tasks/ID/history         line: ID
 *   U  PUT /v1/tasks/ID   u  lists      lines: ID, If-Match, If-None-Match,
 *                                       Idempotency-Key; the rest is the body
 *   D  DELETE /v1/tasks/ID  d  lists    lines: ID, If-Match, Idempotency-Key
 *   X  a purge, the next byte is how many days ahead of now
 * (any other byte picks one of these by its value). An empty line stands
 * for an absent header or query parameter. Bodies are parsed as the HTTP
 * layer parses them.
 *
 * Checked on every reply: a status from 200 to 599; errors carry a
 * problem with type, title, status and detail, successes a body; both
 * encode to JSON that reads back; success bodies decode with the codec
 * as the client decodes them; a push answers one result per op, and a
 * repeated push or PUT replays every stored outcome unchanged. The
 * database lives in a temporary directory for the whole process and is
 * started afresh when it grows large. */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "fuzz-common.h"
#include "tandem-codec.h"
#include "tandem-service.h"

#define DB_LIMIT (64 * 1024 * 1024)

static char *data_dir;
static TandemService *service;
static gint64 user_id;
static guint n_inputs;

static void
remove_data_dir (void)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (data_dir == NULL)
    return;
  dir = g_dir_open (data_dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (data_dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (data_dir);
}

static void
close_service (void)
{
  g_clear_object (&service);
  remove_data_dir ();
  g_clear_pointer (&data_dir, g_free);
}

static void
open_service (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemServerStorage) storage = NULL;
  g_autofree char *token = NULL;

  data_dir = g_dir_make_tmp ("tandem-fuzz-server-XXXXXX", &error);
  FUZZ_CHECK (data_dir != NULL, "no temporary directory: %s", error->message);
  storage = tandem_sqlite_storage_open (data_dir, &error);
  FUZZ_CHECK (storage != NULL, "could not open the storage: %s", error->message);
  service = tandem_service_new (storage, 30);
  token = tandem_service_create_token (service, "fuzz", &error);
  FUZZ_CHECK (token != NULL, "could not create a token: %s", error->message);
  FUZZ_CHECK (tandem_service_authenticate (service, token, &user_id, &error),
              "the new token does not authenticate");
}

static void
ensure_service (void)
{
  static gboolean registered;

  if (service != NULL && ++n_inputs % 1000 == 0)
    {
      g_autofree char *db = g_build_filename (data_dir, "tandem-server.db", NULL);
      GStatBuf st;

      if (g_stat (db, &st) == 0 && st.st_size > DB_LIMIT)
        close_service ();
    }
  if (service == NULL)
    open_service ();
  if (!registered)
    {
      atexit (close_service);
      registered = TRUE;
    }
}

/* The JSON text of @node, checked to read back as the same tree. */
static char *
encode_checked (JsonNode   *node,
                const char *what)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) again = NULL;
  char *text = tandem_json_to_string (node, FALSE);

  FUZZ_CHECK (text != NULL, "%s does not encode", what);
  again = tandem_json_parse (text, -1, &error);
  FUZZ_CHECK (again != NULL, "%s encodes to JSON a client cannot read: %s\n  %.300s", what,
              error->message, text);
  return text;
}

static void
check_reply (const TandemServiceReply *reply)
{
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;

  FUZZ_CHECK (reply->status >= 200 && reply->status <= 599, "HTTP status %u", reply->status);
  if (reply->status >= 400)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TandemProblem) decoded = NULL;
      JsonObject *object;

      FUZZ_CHECK (reply->problem != NULL, "status %u without a problem", reply->status);
      FUZZ_CHECK (reply->body == NULL, "status %u with a body", reply->status);
      FUZZ_CHECK (reply->problem->status == reply->status, "problem status %u for HTTP %u",
                  reply->problem->status, reply->status);
      node = tandem_problem_to_json (reply->problem);
      text = encode_checked (node, "a problem");
      object = json_node_get_object (node);
      for (const char *const *m = (const char *const[]) { "type", "title", "status", "detail", NULL };
           *m != NULL; m++)
        FUZZ_CHECK (json_object_has_member (object, *m), "a problem without “%s”: %s", *m, text);
      FUZZ_CHECK (*reply->problem->type != '\0' && *reply->problem->detail != '\0',
                  "a problem with an empty type or detail: %s", text);
      decoded = tandem_problem_from_json (node, &error);
      FUZZ_CHECK (decoded != NULL, "a problem the codec refuses: %s", error->message);
    }
  else
    {
      FUZZ_CHECK (reply->problem == NULL, "status %u with a problem", reply->status);
      FUZZ_CHECK (reply->body != NULL, "status %u without a body", reply->status);
      text = encode_checked (reply->body, "a reply body");
    }
}

static const char *
type_of_status (guint status)
{
  switch (status)
    {
    case 200: case 201: return "applied";
    case 404: return "gone";
    case 409: return "conflict";
    case 422: return "invalid";
    case 424: return "held";
    case 503: return "in_progress";
    default: return NULL;
    }
}

static GPtrArray *
check_push_reply (const TandemServiceReply *reply,
                  JsonNode                 *body)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  guint n_ops;

  check_reply (reply);
  if (reply->status != 200)
    return NULL;
  results = tandem_push_response_from_json (reply->body, &error);
  FUZZ_CHECK (results != NULL, "a push response the client cannot read: %s", error->message);
  n_ops = json_array_get_length (json_object_get_array_member (json_node_get_object (body), "ops"));
  FUZZ_CHECK (results->len == n_ops, "%u results for %u ops", results->len, n_ops);
  for (guint i = 0; i < results->len; i++)
    {
      const TandemPushResult *result = g_ptr_array_index (results, i);

      FUZZ_CHECK (g_strcmp0 (result->type, type_of_status (result->status)) == 0,
                  "result %u: status %u with type %s", i, result->status, result->type);
      if (result->status < 300)
        FUZZ_CHECK (result->record != NULL, "result %u applied without the record", i);
    }
  return g_steal_pointer (&results);
}

static void
push (JsonNode *body)
{
  g_auto(TandemServiceReply) reply = { 0 };
  g_auto(TandemServiceReply) again = { 0 };
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) results_again = NULL;

  tandem_service_push (service, user_id, body, &reply);
  results = check_push_reply (&reply, body);
  if (results == NULL)
    return;

  /* The same push again: every stored outcome (applied, conflict, gone)
   * comes back as it was, so no op takes effect twice. */
  tandem_service_push (service, user_id, body, &again);
  results_again = check_push_reply (&again, body);
  FUZZ_CHECK (results_again != NULL, "a repeated push answers %u", again.status);
  for (guint i = 0; i < results->len; i++)
    {
      TandemPushResult *first = g_ptr_array_index (results, i);
      TandemPushResult *second = g_ptr_array_index (results_again, i);
      g_autoptr(JsonNode) first_node = NULL;
      g_autoptr(JsonNode) second_node = NULL;
      g_autofree char *first_text = NULL;
      g_autofree char *second_text = NULL;

      if (first->status != 200 && first->status != 201 && first->status != 409 &&
          first->status != 404)
        continue;
      first_node = tandem_push_result_to_json (first);
      second_node = tandem_push_result_to_json (second);
      first_text = tandem_json_to_string (first_node, FALSE);
      second_text = tandem_json_to_string (second_node, FALSE);
      FUZZ_CHECK (g_str_equal (first_text, second_text),
                  "op %u answers differently when repeated:\n  %.300s\n  %.300s", i, first_text,
                  second_text);
    }
}

static void
changes (const char *since,
         const char *limit)
{
  g_auto(TandemServiceReply) reply = { 0 };
  g_autoptr(TandemChangesPage) page = NULL;
  g_autoptr(GError) error = NULL;
  guint64 max = 500;

  tandem_service_changes (service, user_id, since, limit, &reply);
  check_reply (&reply);
  if (reply.status != 200)
    return;
  page = tandem_changes_page_from_json (reply.body, &error);
  FUZZ_CHECK (page != NULL, "a changes page the client cannot read: %s", error->message);
  if (limit != NULL)
    FUZZ_CHECK (g_ascii_string_to_unsigned (limit, 10, 1, TANDEM_PUSH_MAX_OPS, &max, NULL),
                "limit “%s” was accepted", limit);
  FUZZ_CHECK (page->changes->len <= max, "%u changes for a limit of %" G_GUINT64_FORMAT,
              page->changes->len, max);
}

static void
check_record_reply (const TandemServiceReply *reply,
                    TandemEntity              entity,
                    const char               *id)
{
  g_autoptr(TandemRecord) record = NULL;
  g_autoptr(GError) error = NULL;

  record = tandem_record_from_json (reply->body, &error);
  FUZZ_CHECK (record != NULL, "a record the client cannot read: %s", error->message);
  FUZZ_CHECK (record->entity == entity, "a %s answers for a %s",
              tandem_entity_to_string (record->entity), tandem_entity_to_string (entity));
  if (entity == TANDEM_ENTITY_TASK)
    {
      FUZZ_CHECK (g_strcmp0 (record->task->id, id) == 0, "another task answers");
      FUZZ_CHECK (reply->etag_rev == record->task->rev, "ETag %" G_GINT64_FORMAT " for rev %"
                  G_GINT64_FORMAT, reply->etag_rev, record->task->rev);
    }
  else
    {
      FUZZ_CHECK (g_strcmp0 (record->list->id, id) == 0, "another list answers");
      FUZZ_CHECK (reply->etag_rev == record->list->rev, "ETag %" G_GINT64_FORMAT " for rev %"
                  G_GINT64_FORMAT, reply->etag_rev, record->list->rev);
    }
}

static void
get (TandemEntity  entity,
     const char   *id)
{
  g_auto(TandemServiceReply) reply = { 0 };

  tandem_service_get (service, user_id, entity, id, &reply);
  check_reply (&reply);
  if (reply.status == 200)
    check_record_reply (&reply, entity, id);
}

static void
history (const char *id)
{
  g_auto(TandemServiceReply) reply = { 0 };

  tandem_service_history (service, user_id, id, &reply);
  check_reply (&reply);
  if (reply.status == 200)
    FUZZ_CHECK (json_object_has_member (json_node_get_object (reply.body), "history"),
                "a history without its lines");
}

static gboolean
stored_outcome (guint status)
{
  return status < 300 || status == 409 || status == 412;
}

/* A repeated PUT or DELETE with the same key replays a stored outcome. */
static void
check_replay (const TandemServiceReply *first,
              const TandemServiceReply *again)
{
  g_autofree char *first_text = NULL;
  g_autofree char *again_text = NULL;

  check_reply (again);
  /* 409 idempotency-key-in-use is not stored: nothing else holds the key here. */
  FUZZ_CHECK (again->status == first->status, "a repeated request answers %u, first %u",
              again->status, first->status);
  FUZZ_CHECK (again->replayed, "a repeated request is not marked replayed");
  FUZZ_CHECK (again->etag_rev == first->etag_rev, "a repeated request has another ETag");
  if (first->body != NULL)
    {
      first_text = tandem_json_to_string (first->body, FALSE);
      again_text = tandem_json_to_string (again->body, FALSE);
    }
  else
    {
      g_autoptr(JsonNode) a = tandem_problem_to_json (first->problem);
      g_autoptr(JsonNode) b = tandem_problem_to_json (again->problem);

      first_text = tandem_json_to_string (a, FALSE);
      again_text = tandem_json_to_string (b, FALSE);
    }
  FUZZ_CHECK (g_str_equal (first_text, again_text), "a replay differs:\n  %.300s\n  %.300s",
              first_text, again_text);
}

static void
put (TandemEntity  entity,
     const char   *id,
     JsonNode     *body,
     const char   *if_match,
     const char   *if_none_match,
     const char   *key)
{
  g_auto(TandemServiceReply) reply = { 0 };
  g_auto(TandemServiceReply) again = { 0 };

  tandem_service_put (service, user_id, entity, id, body, if_match, if_none_match, key, &reply);
  check_reply (&reply);
  if (reply.status < 300)
    check_record_reply (&reply, entity, id);
  if (key == NULL || !stored_outcome (reply.status))
    return;
  tandem_service_put (service, user_id, entity, id, body, if_match, if_none_match, key, &again);
  check_replay (&reply, &again);
}

static void
delete (TandemEntity  entity,
        const char   *id,
        const char   *if_match,
        const char   *key)
{
  g_auto(TandemServiceReply) reply = { 0 };
  g_auto(TandemServiceReply) again = { 0 };

  tandem_service_delete (service, user_id, entity, id, if_match, key, &reply);
  check_reply (&reply);
  if (key == NULL || !stored_outcome (reply.status))
    return;
  tandem_service_delete (service, user_id, entity, id, if_match, key, &again);
  check_replay (&reply, &again);
}

static void
purge (guint days)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) later = g_date_time_add_days (now, days);
  g_autoptr(GError) error = NULL;
  guint n_purged = 0;

  FUZZ_CHECK (tandem_service_purge (service, later, &n_purged, &error),
              "purge failed: %s", error->message);
}

/* Splits off the next line of @rest; an empty line is NULL (absent). */
static char *
next_line (const char **rest,
           const char  *end)
{
  const char *nl;
  char *line;

  if (*rest >= end)
    return NULL;
  nl = memchr (*rest, '\n', end - *rest);
  if (nl == NULL)
    nl = end;
  line = g_strndup (*rest, nl - *rest);
  *rest = nl < end ? nl + 1 : end;
  if (*line == '\0')
    g_clear_pointer (&line, g_free);
  return line;
}

/* The body as the HTTP layer reads it; NULL when it refuses it (400). */
static JsonNode *
parse_body (const char *data,
            gsize       size)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node;

  if (size == 0)
    return NULL;
  node = tandem_json_parse (data, size, &error);
  if (node == NULL)
    {
      FUZZ_CHECK (error != NULL && error->message[0] != '\0', "a refused body without a message");
      FUZZ_CHECK (g_utf8_validate (error->message, -1, NULL), "a parse error is not UTF-8");
    }
  return node;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static const char routes[] = "PCGgHUuDdX";
  const char *rest = (const char *) data + 1;
  const char *end = (const char *) data + size;
  char route;

  if (size == 0)
    return 0;
  fuzz_init_glib ();
  ensure_service ();

  route = strchr (routes, data[0]) != NULL && data[0] != '\0'
            ? (char) data[0]
            : routes[data[0] % (sizeof routes - 1)];

  switch (route)
    {
    case 'P':
      {
        g_autoptr(JsonNode) body = parse_body (rest, end - rest);

        if (body != NULL)
          push (body);
      }
      break;

    case 'C':
      {
        g_autofree char *since = next_line (&rest, end);
        g_autofree char *limit = next_line (&rest, end);

        changes (since, limit);
      }
      break;

    case 'G':
    case 'g':
      {
        g_autofree char *id = next_line (&rest, end);

        get (route == 'G' ? TANDEM_ENTITY_TASK : TANDEM_ENTITY_LIST, id);
      }
      break;

    case 'H':
      {
        g_autofree char *id = next_line (&rest, end);

        history (id);
      }
      break;

    case 'U':
    case 'u':
      {
        g_autofree char *id = next_line (&rest, end);
        g_autofree char *if_match = next_line (&rest, end);
        g_autofree char *if_none_match = next_line (&rest, end);
        g_autofree char *key = next_line (&rest, end);
        g_autoptr(JsonNode) body = parse_body (rest, end - rest);

        if (body != NULL)
          put (route == 'U' ? TANDEM_ENTITY_TASK : TANDEM_ENTITY_LIST, id, body, if_match,
               if_none_match, key);
      }
      break;

    case 'D':
    case 'd':
      {
        g_autofree char *id = next_line (&rest, end);
        g_autofree char *if_match = next_line (&rest, end);
        g_autofree char *key = next_line (&rest, end);

        delete (route == 'D' ? TANDEM_ENTITY_TASK : TANDEM_ENTITY_LIST, id, if_match, key);
      }
      break;

    case 'X':
      purge (rest < end ? (guint8) *rest : 0);
      break;

    default:
      g_assert_not_reached ();
    }
  return 0;
}
