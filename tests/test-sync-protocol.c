/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "server-fixture.h"

/* The sync protocol of DESIGN §4 against the real tandem-server: push
 * semantics, idempotency, conflicts, the change feed, conditional writes
 * and isolation between users. */

typedef struct
{
  TestServer  *server;
  SoupSession *session;
  char        *alice;
  char        *bob;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->server = test_server_start (NULL, data);
  f->session = soup_session_new ();
  f->alice = test_server_token (f->server, "alice");
  f->bob = test_server_token (f->server, "bob");
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->session);
  g_clear_pointer (&f->server, test_server_free);
  g_free (f->alice);
  g_free (f->bob);
}

/* Ops */

static char *
op_json (const char *op_id,
         const char *kind,
         const char *entity_id,
         gint64      base_rev,
         const char *patch,
         const char *base)
{
  g_autofree char *fresh = op_id ? NULL : g_uuid_string_random ();

  return g_strdup_printf ("{\"op_id\":\"%s\",\"entity\":\"task\",\"entity_id\":\"%s\","
                          "\"kind\":\"%s\",\"base_rev\":%" G_GINT64_FORMAT ",\"patch\":%s%s%s%s}",
                          op_id ? op_id : fresh, entity_id, kind, base_rev, patch ? patch : "{}",
                          base ? ",\"base\":" : "", base ? base : "", "");
}

static TestResponse *
push_ops (Fixture    *f,
          const char *token,
          const char *device,
          GPtrArray  *ops)
{
  g_autoptr(GString) body = g_string_new (NULL);

  g_string_append_printf (body, "{\"device_id\":\"%s\",\"ops\":[", device);
  for (guint i = 0; i < ops->len; i++)
    g_string_append_printf (body, "%s%s", i ? "," : "", (char *) g_ptr_array_index (ops, i));
  g_string_append (body, "]}");
  return test_request (f->session, f->server, "POST", "/v1/sync/push", token, body->str, NULL);
}

/* Pushes one op and returns its result object (owned by *response). */
static JsonObject *
push_one (Fixture       *f,
          const char    *token,
          const char    *device,
          char          *op,
          TestResponse **response)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
  JsonArray *results;

  g_ptr_array_add (ops, op);
  *response = push_ops (f, token, device, ops);
  g_assert_cmpuint ((*response)->status, ==, 200);
  results = json_object_get_array_member (json_node_get_object ((*response)->json), "results");
  g_assert_cmpuint (json_array_get_length (results), ==, 1);
  return json_array_get_object_element (results, 0);
}

static char *
create_task (Fixture    *f,
             const char *token,
             const char *title)
{
  g_autofree char *id = g_uuid_string_random ();
  g_autofree char *op_id = g_uuid_string_random ();
  g_autofree char *patch = g_strdup_printf ("{\"title\":\"%s\",\"notes\":\"one\\ntwo\\nthree\\n\","
                                            "\"priority\":1,\"tags\":[\"a\"],"
                                            "\"position\":\"V\"}", title);
  g_autoptr(TestResponse) response = NULL;
  JsonObject *result = push_one (f, token, "dev-a", op_json (op_id, "create", id, 0, patch, NULL),
                                 &response);

  g_assert_cmpint (json_object_get_int_member (result, "status"), ==, 201);
  g_assert_cmpstr (json_object_get_string_member (result, "type"), ==, "applied");
  return g_steal_pointer (&id);
}

static JsonObject *
result_task (JsonObject *result)
{
  g_assert_true (json_object_has_member (result, "task"));
  return json_object_get_object_member (result, "task");
}

static TestResponse *
get_task (Fixture    *f,
          const char *token,
          const char *id)
{
  g_autofree char *path = g_strconcat ("/v1/tasks/", id, NULL);

  return test_request (f->session, f->server, "GET", path, token, NULL, NULL);
}

/* All records of the feed, following cursors with @limit per page. */
static GPtrArray *
read_feed (Fixture    *f,
           const char *token,
           guint       limit,
           char      **cursor_inout)
{
  GPtrArray *records = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  g_autofree char *cursor = cursor_inout && *cursor_inout ? g_strdup (*cursor_inout) : NULL;
  gboolean more = TRUE;

  while (more)
    {
      g_autofree char *path = cursor ? g_strdup_printf ("/v1/sync/changes?since=%s&limit=%u",
                                                        cursor, limit)
                                     : g_strdup_printf ("/v1/sync/changes?limit=%u", limit);
      g_autoptr(TestResponse) page = test_request (f->session, f->server, "GET", path, token, NULL,
                                                   NULL);
      JsonObject *object;
      JsonArray *changes;

      g_assert_cmpuint (page->status, ==, 200);
      object = json_node_get_object (page->json);
      changes = json_object_get_array_member (object, "changes");
      g_assert_cmpuint (json_array_get_length (changes), <=, limit);
      for (guint i = 0; i < json_array_get_length (changes); i++)
        g_ptr_array_add (records, json_node_copy (json_array_get_element (changes, i)));
      g_free (cursor);
      cursor = g_strdup (json_object_get_string_member (object, "cursor"));
      more = json_object_get_boolean_member (object, "has_more");
    }
  if (cursor_inout)
    {
      g_free (*cursor_inout);
      *cursor_inout = g_steal_pointer (&cursor);
    }
  return records;
}

/* Tests */

static void
test_create_and_read (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *id = create_task (f, f->alice, "Buy milk");
  g_autoptr(TestResponse) got = get_task (f, f->alice, id);
  g_autoptr(GPtrArray) feed = NULL;
  JsonObject *task;

  g_assert_cmpuint (got->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (got->headers, "ETag"), ==, "\"1\"");
  task = json_node_get_object (got->json);
  g_assert_cmpstr (json_object_get_string_member (task, "entity"), ==, "task");
  g_assert_cmpstr (json_object_get_string_member (task, "title"), ==, "Buy milk");
  g_assert_cmpint (json_object_get_int_member (task, "rev"), ==, 1);
  g_assert_false (json_object_get_boolean_member (task, "deleted"));
  g_assert_nonnull (json_object_get_string_member (task, "updated_at"));

  feed = read_feed (f, f->alice, 500, NULL);
  g_assert_cmpuint (feed->len, ==, 1);
}

static void
test_replay_returns_stored_result (Fixture       *f,
                                   gconstpointer  data)
{
  g_autofree char *id = g_uuid_string_random ();
  g_autofree char *op_id = g_uuid_string_random ();
  g_autoptr(TestResponse) first = NULL;
  g_autoptr(TestResponse) second = NULL;
  g_autoptr(TestResponse) reused = NULL;
  g_autoptr(GPtrArray) feed = NULL;
  JsonObject *a, *b, *c;

  /* The response to the first push was "lost": the client sends it again. */
  a = push_one (f, f->alice, "dev-a",
                op_json (op_id, "create", id, 0, "{\"title\":\"Once\"}", NULL), &first);
  b = push_one (f, f->alice, "dev-a",
                op_json (op_id, "create", id, 0, "{\"title\":\"Once\"}", NULL), &second);
  g_assert_cmpint (json_object_get_int_member (a, "status"), ==, 201);
  g_assert_cmpint (json_object_get_int_member (b, "status"), ==, 201);
  g_assert_cmpint (json_object_get_int_member (result_task (b), "rev"), ==, 1);

  /* The same key with another payload is refused. */
  c = push_one (f, f->alice, "dev-a",
                op_json (op_id, "create", id, 0, "{\"title\":\"Twice\"}", NULL), &reused);
  g_assert_cmpint (json_object_get_int_member (c, "status"), ==, 422);
  g_assert_cmpstr (json_object_get_string_member (c, "type"), ==, "invalid");

  feed = read_feed (f, f->alice, 500, NULL);
  g_assert_cmpuint (feed->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (g_ptr_array_index (feed, 0)),
                                                  "title"), ==, "Once");
}

static void
test_idempotent_by_content (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *id = create_task (f, f->alice, "Same");
  g_autofree char *op1 = g_uuid_string_random ();
  g_autofree char *op2 = g_uuid_string_random ();
  g_autoptr(TestResponse) r1 = NULL;
  g_autoptr(TestResponse) r2 = NULL;
  JsonObject *a, *b;

  /* New keys (as after key expiry) for changes already there: no write. */
  a = push_one (f, f->alice, "dev-a", op_json (op1, "tag_add", id, 1, "{\"tag\":\"a\"}", NULL), &r1);
  g_assert_cmpint (json_object_get_int_member (a, "status"), ==, 200);
  g_assert_cmpint (json_object_get_int_member (result_task (a), "rev"), ==, 1);
  b = push_one (f, f->alice, "dev-a",
                op_json (op2, "update", id, 1, "{\"title\":\"Same\"}", "{\"title\":\"Same\"}"), &r2);
  g_assert_cmpint (json_object_get_int_member (b, "status"), ==, 200);
  g_assert_cmpint (json_object_get_int_member (result_task (b), "rev"), ==, 1);
}

static void
test_different_fields_merge (Fixture       *f,
                             gconstpointer  data)
{
  g_autofree char *id = create_task (f, f->alice, "Plan");
  g_autofree char *op1 = g_uuid_string_random ();
  g_autofree char *op2 = g_uuid_string_random ();
  g_autoptr(TestResponse) r1 = NULL;
  g_autoptr(TestResponse) r2 = NULL;
  g_autoptr(TestResponse) got = NULL;
  JsonObject *a, *b, *task;

  /* Both devices edited revision 1, different fields. */
  a = push_one (f, f->alice, "dev-a",
                op_json (op1, "update", id, 1, "{\"title\":\"Plan trip\"}", "{\"title\":\"Plan\"}"), &r1);
  b = push_one (f, f->alice, "dev-b",
                op_json (op2, "update", id, 1, "{\"notes\":\"x\\n\"}", "{\"notes\":\"one\\ntwo\\nthree\\n\"}"),
                &r2);
  g_assert_cmpint (json_object_get_int_member (a, "status"), ==, 200);
  g_assert_cmpint (json_object_get_int_member (b, "status"), ==, 200);

  got = get_task (f, f->alice, id);
  task = json_node_get_object (got->json);
  g_assert_cmpstr (json_object_get_string_member (task, "title"), ==, "Plan trip");
  g_assert_cmpstr (json_object_get_string_member (task, "notes"), ==, "x\n");
  g_assert_cmpint (json_object_get_int_member (task, "rev"), ==, 3);
}

static void
test_same_title_conflicts (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *id = create_task (f, f->alice, "Draft");
  g_autofree char *op1 = g_uuid_string_random ();
  g_autofree char *op2 = g_uuid_string_random ();
  g_autofree char *op3 = g_uuid_string_random ();
  g_autoptr(TestResponse) r1 = NULL;
  g_autoptr(TestResponse) r2 = NULL;
  g_autoptr(TestResponse) r3 = NULL;
  JsonObject *a, *b, *c;

  a = push_one (f, f->alice, "dev-a",
                op_json (op1, "update", id, 1, "{\"title\":\"Draft A\"}", "{\"title\":\"Draft\"}"), &r1);
  g_assert_cmpint (json_object_get_int_member (a, "status"), ==, 200);

  b = push_one (f, f->alice, "dev-b",
                op_json (op2, "update", id, 1, "{\"title\":\"Draft B\"}", "{\"title\":\"Draft\"}"), &r2);
  g_assert_cmpint (json_object_get_int_member (b, "status"), ==, 409);
  g_assert_cmpstr (json_object_get_string_member (b, "type"), ==, "conflict");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (b, "current"), "title"),
                   ==, "Draft A");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (b, "field_revs"), "title"),
                   ==, 2);

  /* The same change made on both devices is no collision. */
  c = push_one (f, f->alice, "dev-c",
                op_json (op3, "update", id, 1, "{\"title\":\"Draft A\"}", "{\"title\":\"Draft\"}"), &r3);
  g_assert_cmpint (json_object_get_int_member (c, "status"), ==, 200);
}

static void
test_lww_overwrite_in_history (Fixture       *f,
                               gconstpointer  data)
{
  g_autofree char *id = create_task (f, f->alice, "Prio");
  g_autofree char *op1 = g_uuid_string_random ();
  g_autofree char *op2 = g_uuid_string_random ();
  g_autofree char *path = g_strdup_printf ("/v1/tasks/%s/history", id);
  g_autoptr(TestResponse) r1 = NULL;
  g_autoptr(TestResponse) r2 = NULL;
  g_autoptr(TestResponse) history = NULL;
  JsonObject *a, *b;
  JsonArray *lines;
  gboolean found = FALSE;

  a = push_one (f, f->alice, "dev-a", op_json (op1, "update", id, 1, "{\"priority\":2}",
                                               "{\"priority\":1}"), &r1);
  b = push_one (f, f->alice, "dev-b", op_json (op2, "update", id, 1, "{\"priority\":3}",
                                               "{\"priority\":1}"), &r2);
  g_assert_cmpint (json_object_get_int_member (a, "status"), ==, 200);
  g_assert_cmpint (json_object_get_int_member (b, "status"), ==, 200);
  g_assert_cmpint (json_object_get_int_member (result_task (b), "priority"), ==, 3);

  history = test_request (f->session, f->server, "GET", path, f->alice, NULL, NULL);
  g_assert_cmpuint (history->status, ==, 200);
  lines = json_object_get_array_member (json_node_get_object (history->json), "history");
  for (guint i = 0; i < json_array_get_length (lines); i++)
    {
      JsonObject *line = json_array_get_object_element (lines, i);

      if (g_strcmp0 (json_object_get_string_member (line, "field"), "priority") == 0 &&
          json_object_get_int_member (line, "old") == 2 && json_object_get_int_member (line, "new") == 3)
        {
          g_assert_cmpstr (json_object_get_string_member (line, "device_id"), ==, "dev-b");
          found = TRUE;
        }
    }
  g_assert_true (found);
}

static void
test_tags_and_comments (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *id = create_task (f, f->alice, "Set");
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(TestResponse) response = NULL;
  g_autoptr(TestResponse) got = NULL;
  g_autofree char *c1 = g_uuid_string_random ();
  g_autofree char *c2 = g_uuid_string_random ();
  g_autofree char *p1 = g_strdup_printf ("{\"comment_id\":\"%s\",\"body\":\"from a\"}", c1);
  g_autofree char *p2 = g_strdup_printf ("{\"comment_id\":\"%s\",\"body\":\"from b\"}", c2);
  JsonObject *task;
  JsonArray *tags, *comments;

  /* Both on base revision 1: sets and append-only rows never conflict. */
  g_ptr_array_add (ops, op_json (NULL, "tag_add", id, 1, "{\"tag\":\"b\"}", NULL));
  g_ptr_array_add (ops, op_json (NULL, "tag_remove", id, 1, "{\"tag\":\"a\"}", NULL));
  g_ptr_array_add (ops, op_json (NULL, "comment_add", id, 1, p1, NULL));
  response = push_ops (f, f->alice, "dev-a", ops);
  g_assert_cmpuint (response->status, ==, 200);
  g_clear_pointer (&response, test_response_free);
  g_ptr_array_set_size (ops, 0);
  g_ptr_array_add (ops, op_json (NULL, "tag_add", id, 1, "{\"tag\":\"c\"}", NULL));
  g_ptr_array_add (ops, op_json (NULL, "comment_add", id, 1, p2, NULL));
  response = push_ops (f, f->alice, "dev-b", ops);
  g_assert_cmpuint (response->status, ==, 200);

  got = get_task (f, f->alice, id);
  task = json_node_get_object (got->json);
  tags = json_object_get_array_member (task, "tags");
  g_assert_cmpuint (json_array_get_length (tags), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (tags, 0), ==, "b");
  g_assert_cmpstr (json_array_get_string_element (tags, 1), ==, "c");
  comments = json_object_get_array_member (task, "comments");
  g_assert_cmpuint (json_array_get_length (comments), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (comments, 0), "body"),
                   ==, "from a");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (comments, 0),
                                                  "device_id"), ==, "dev-a");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (comments, 1), "body"),
                   ==, "from b");
}

static void
test_edit_vs_delete (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *id = create_task (f, f->alice, "Doomed");
  g_autofree char *other = create_task (f, f->alice, "Edited first");
  g_autoptr(TestResponse) r1 = NULL;
  g_autoptr(TestResponse) r2 = NULL;
  g_autoptr(TestResponse) r3 = NULL;
  g_autoptr(TestResponse) r4 = NULL;
  g_autoptr(TestResponse) gone = NULL;
  JsonObject *a, *b, *c, *d;

  /* Deleted on one device, then edited on another. */
  a = push_one (f, f->alice, "dev-a", op_json (NULL, "delete", id, 1, NULL, NULL), &r1);
  g_assert_cmpint (json_object_get_int_member (a, "status"), ==, 200);
  g_assert_true (json_object_get_boolean_member (result_task (a), "deleted"));
  b = push_one (f, f->alice, "dev-b", op_json (NULL, "update", id, 1,
                                               "{\"priority\":3}", "{\"priority\":1}"), &r2);
  g_assert_cmpint (json_object_get_int_member (b, "status"), ==, 409);
  g_assert_true (json_object_get_boolean_member (json_object_get_object_member (b, "current"),
                                                 "deleted"));

  /* Edited on one device, then deleted on another that had not seen it. */
  c = push_one (f, f->alice, "dev-a", op_json (NULL, "update", other, 1,
                                               "{\"due\":\"2026-12-24\"}", "{\"due\":null}"), &r3);
  g_assert_cmpint (json_object_get_int_member (c, "status"), ==, 200);
  d = push_one (f, f->alice, "dev-b", op_json (NULL, "delete", other, 1, NULL, NULL),
                &r4);
  g_assert_cmpint (json_object_get_int_member (d, "status"), ==, 409);

  gone = get_task (f, f->alice, id);
  g_assert_cmpuint (gone->status, ==, 410);
}

static void
test_own_changes_are_no_news (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree char *id = g_uuid_string_random ();
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(TestResponse) response = NULL;
  JsonArray *results;

  /* Made offline: create, edit and delete, all queued against revision 0. */
  g_ptr_array_add (ops, op_json (NULL, "create", id, 0, "{\"title\":\"Oops\"}", NULL));
  g_ptr_array_add (ops, op_json (NULL, "update", id, 0, "{\"title\":\"Oops!\"}",
                                 "{\"title\":\"Oops\"}"));
  g_ptr_array_add (ops, op_json (NULL, "delete", id, 0, NULL, NULL));
  response = push_ops (f, f->alice, "dev-a", ops);
  results = json_object_get_array_member (json_node_get_object (response->json), "results");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (results, 0), "status"), ==, 201);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (results, 1), "status"), ==, 200);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (results, 2), "status"), ==, 200);
}

static void
test_held_gone_invalid (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *id = create_task (f, f->alice, "Held");
  g_autofree char *fresh = g_uuid_string_random ();
  g_autofree char *unknown = g_uuid_string_random ();
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(TestResponse) r0 = NULL;
  g_autoptr(TestResponse) response = NULL;
  g_autoptr(GPtrArray) feed = NULL;
  JsonArray *results;
  JsonObject *first;

  first = push_one (f, f->alice, "dev-a", op_json (NULL, "update", id, 1,
                                                   "{\"title\":\"Held A\"}", "{\"title\":\"Held\"}"), &r0);
  g_assert_cmpint (json_object_get_int_member (first, "status"), ==, 200);

  g_ptr_array_add (ops, op_json (NULL, "update", id, 1, "{\"title\":\"Held B\"}",
                                 "{\"title\":\"Held\"}"));
  g_ptr_array_add (ops, op_json (NULL, "tag_add", id, 1, "{\"tag\":\"later\"}", NULL));
  g_ptr_array_add (ops, op_json (NULL, "update", unknown, 3, "{\"done\":true}",
                                 "{\"done\":false}"));
  g_ptr_array_add (ops, op_json (NULL, "create", fresh, 0, "{\"title\":\"\"}", NULL));
  g_ptr_array_add (ops, g_strdup ("{\"op_id\":42}"));
  g_ptr_array_add (ops, op_json (NULL, "create", fresh, 0, "{\"title\":\"Fine\"}",
                                 NULL));
  response = push_ops (f, f->alice, "dev-b", ops);
  g_assert_cmpuint (response->status, ==, 200);
  results = json_object_get_array_member (json_node_get_object (response->json), "results");
  g_assert_cmpuint (json_array_get_length (results), ==, 6);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (results, 0), "status"), ==, 409);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (results, 1), "status"), ==, 424);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (results, 1), "type"), ==, "held");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (results, 2), "status"), ==, 404);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (results, 2), "type"), ==, "gone");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (results, 3), "status"), ==, 422);
  g_assert_nonnull (strstr (json_object_get_string_member (json_array_get_object_element (results, 3), "error"),
                            "title"));
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (results, 4), "status"), ==, 422);
  /* An invalid op holds later ops of its record: the create is held. */
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (results, 5), "status"), ==, 424);

  feed = read_feed (f, f->alice, 500, NULL);
  g_assert_cmpuint (feed->len, ==, 1);
}

static void
test_envelope_errors_write_nothing (Fixture       *f,
                                    gconstpointer  data)
{
  g_autoptr(GString) big = g_string_new ("{\"device_id\":\"d\",\"ops\":[");
  g_autoptr(GPtrArray) feed = NULL;
  const char *bad[] = {
    "{\"device_id\":\"d\",\"ops\":[",                 /* truncated */
    "[1,2,3]",                                       /* not an object */
    "{\"ops\":[]}",                                   /* no device */
    "{\"device_id\":\"d\",\"ops\":{}}",               /* ops not an array */
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(TestResponse) response = test_request (f->session, f->server, "POST",
                                                       "/v1/sync/push", f->alice, bad[i], NULL);

      g_assert_cmpuint (response->status, ==, 400);
      g_assert_cmpstr (soup_message_headers_get_content_type (response->headers, NULL), ==,
                       "application/problem+json");
      g_assert_cmpint (json_object_get_int_member (json_node_get_object (response->json), "status"),
                       ==, 400);
    }

  for (guint i = 0; i < 1001; i++)
    {
      g_autofree char *id = g_uuid_string_random ();
      g_autofree char *op = op_json (NULL, "create", id, 0,
                                     "{\"title\":\"Many\"}", NULL);

      g_string_append_printf (big, "%s%s", i ? "," : "", op);
    }
  g_string_append (big, "]}");
  {
    g_autoptr(TestResponse) response = test_request (f->session, f->server, "POST", "/v1/sync/push",
                                                     f->alice, big->str, NULL);

    g_assert_cmpuint (response->status, ==, 413);
  }

  feed = read_feed (f, f->alice, 500, NULL);
  g_assert_cmpuint (feed->len, ==, 0);
}

static void
test_pagination_with_deletes (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GHashTable) expected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *cursor = NULL;
  guint n_pages = 0, n_deleted = 0, n_deleted_after_read = 0, n_live_then_deleted = 0;
  gboolean more = TRUE;
  enum { LIVE = 1, DELETED = 2 };

  for (guint batch = 0; batch < 3; batch++)
    {
      g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(TestResponse) response = NULL;

      for (guint i = 0; i < 400; i++)
        {
          char *id = g_uuid_string_random ();
          g_autofree char *patch = g_strdup_printf ("{\"title\":\"Task %u\"}", batch * 400 + i);

          g_ptr_array_add (ops, op_json (NULL, "create", id, 0, patch, NULL));
          g_ptr_array_add (ids, id);
          g_hash_table_add (expected, g_strdup (id));
        }
      response = push_ops (f, f->alice, "dev-a", ops);
      g_assert_cmpuint (response->status, ==, 200);
    }

  /* Read page by page; between pages another device deletes tasks, some
   * already read and some not yet. A delete moves a record to the end of
   * the feed: nothing is skipped, a record read before its delete shows up
   * again as its tombstone, and one deleted before it was read shows up
   * once, deleted. */
  while (more)
    {
      g_autofree char *path = cursor ? g_strdup_printf ("/v1/sync/changes?since=%s&limit=250", cursor)
                                     : g_strdup ("/v1/sync/changes?limit=250");
      g_autoptr(TestResponse) page = test_request (f->session, f->server, "GET", path, f->alice,
                                                   NULL, NULL);
      JsonObject *object = json_node_get_object (page->json);
      JsonArray *changes = json_object_get_array_member (object, "changes");

      for (guint i = 0; i < json_array_get_length (changes); i++)
        {
          JsonObject *record = json_array_get_object_element (changes, i);
          const char *id = json_object_get_string_member (record, "id");
          gboolean deleted = json_object_get_boolean_member (record, "deleted");
          guint seen_as = GPOINTER_TO_UINT (g_hash_table_lookup (seen, id));

          /* never live twice, nothing after its tombstone */
          g_assert_true (seen_as == 0 || (seen_as == LIVE && deleted));
          g_hash_table_insert (seen, g_strdup (id), GUINT_TO_POINTER (deleted ? DELETED : LIVE));
          if (deleted && seen_as == LIVE)
            n_live_then_deleted++;
        }
      g_free (cursor);
      cursor = g_strdup (json_object_get_string_member (object, "cursor"));
      more = json_object_get_boolean_member (object, "has_more");
      n_pages++;

      if (n_pages == 2)
        {
          g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
          g_autoptr(TestResponse) response = NULL;

          for (guint i = 0; i < ids->len; i += 97)
            {
              g_ptr_array_add (ops, op_json (NULL, "delete", g_ptr_array_index (ids, i), 1, NULL, NULL));
              n_deleted++;
              if (g_hash_table_contains (seen, g_ptr_array_index (ids, i)))
                n_deleted_after_read++;
            }
          response = push_ops (f, f->alice, "dev-b", ops);
          g_assert_cmpuint (response->status, ==, 200);
        }
    }

  g_assert_cmpuint (n_pages, >=, 5);
  g_assert_cmpuint (n_deleted_after_read, >, 0);
  g_assert_cmpuint (n_deleted_after_read, <, n_deleted);
  g_assert_cmpuint (n_live_then_deleted, ==, n_deleted_after_read);
  g_assert_cmpuint (g_hash_table_size (seen), ==, g_hash_table_size (expected));
  for (guint i = 0; i < ids->len; i++)
    g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (seen, g_ptr_array_index (ids, i))), ==,
                      i % 97 == 0 ? DELETED : LIVE);
}

static void
test_changes_bad_queries (Fixture       *f,
                          gconstpointer  data)
{
  const char *paths[] = {
    "/v1/sync/changes?limit=0",
    "/v1/sync/changes?limit=1001",
    "/v1/sync/changes?limit=ten",
    "/v1/sync/changes?since=not-a-cursor",
  };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr(TestResponse) response = test_request (f->session, f->server, "GET", paths[i],
                                                       f->alice, NULL, NULL);

      g_assert_cmpuint (response->status, ==, 400);
    }
}

static void
test_cursor_stale_after_purge (Fixture       *f,
                               gconstpointer  data)
{
  g_autofree char *id = create_task (f, f->alice, "Short-lived");
  g_autofree char *cursor = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GPtrArray) before = read_feed (f, f->alice, 500, &cursor);
  g_autoptr(TestResponse) r = NULL;
  g_autoptr(TestResponse) stale = NULL;
  g_autoptr(TestResponse) gone = NULL;
  JsonObject *deleted, *late;
  gint64 start = g_get_monotonic_time ();

  deleted = push_one (f, f->alice, "dev-a", op_json (NULL, "delete", id, 1, NULL, NULL),
                      &r);
  g_assert_cmpint (json_object_get_int_member (deleted, "status"), ==, 200);

  /* The server purges every second with no retention (see the fixture's
   * arguments); wait until the tombstone is gone. */
  path = g_strdup_printf ("/v1/sync/changes?since=%s", cursor);
  do
    {
      g_clear_pointer (&stale, test_response_free);
      g_usleep (100 * 1000);
      stale = test_request (f->session, f->server, "GET", path, f->alice, NULL, NULL);
    }
  while (stale->status == 200 && g_get_monotonic_time () - start < 10 * G_USEC_PER_SEC);
  g_assert_cmpuint (stale->status, ==, 410);

  /* An op on the purged id is answered 404 gone. */
  late = push_one (f, f->alice, "dev-b", op_json (NULL, "update", id, 1,
                                                  "{\"done\":true}", "{\"done\":false}"), &gone);
  g_assert_cmpint (json_object_get_int_member (late, "status"), ==, 404);
}

static void
test_conditional_writes (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *id = g_uuid_string_random ();
  g_autofree char *path = g_strconcat ("/v1/tasks/", id, NULL);
  g_autofree char *key1 = g_uuid_string_random ();
  g_autofree char *key2 = g_uuid_string_random ();
  g_autofree char *key3 = g_uuid_string_random ();
  g_autofree char *key4 = g_uuid_string_random ();
  g_autofree char *key5 = g_uuid_string_random ();
  const char *create_headers[] = { "If-None-Match", "*", "Idempotency-Key", key1, NULL };
  const char *update_headers[] = { "If-Match", "\"1\"", "Idempotency-Key", key2, NULL };
  const char *stale_headers[] = { "If-Match", "\"1\"", "Idempotency-Key", key3, NULL };
  const char *no_precondition[] = { "Idempotency-Key", key4, NULL };
  const char *delete_headers[] = { "If-Match", "\"2\"", "Idempotency-Key", key4, NULL };
  g_autoptr(TestResponse) created = NULL;
  g_autoptr(TestResponse) replayed = NULL;
  g_autoptr(TestResponse) updated = NULL;
  g_autoptr(TestResponse) stale = NULL;
  g_autoptr(TestResponse) missing = NULL;
  g_autoptr(TestResponse) reused = NULL;
  g_autoptr(TestResponse) deleted = NULL;
  g_autoptr(TestResponse) exists = NULL;

  created = test_request (f->session, f->server, "PUT", path, f->alice,
                          "{\"title\":\"Via HTTP\"}", create_headers);
  g_assert_cmpuint (created->status, ==, 201);
  g_assert_cmpstr (soup_message_headers_get_one (created->headers, "ETag"), ==, "\"1\"");

  /* A lost response retried with the same key: the stored answer. */
  replayed = test_request (f->session, f->server, "PUT", path, f->alice,
                           "{\"title\":\"Via HTTP\"}", create_headers);
  g_assert_cmpuint (replayed->status, ==, 201);
  g_assert_cmpstr (soup_message_headers_get_one (replayed->headers, "Idempotent-Replayed"), ==, "true");

  exists = test_request (f->session, f->server, "PUT", path, f->alice, "{\"title\":\"Again\"}",
                         (const char *[]) { "If-None-Match", "*", "Idempotency-Key", key5, NULL });
  g_assert_cmpuint (exists->status, ==, 412);

  updated = test_request (f->session, f->server, "PATCH", path, f->alice,
                          "{\"title\":\"Via HTTP 2\"}", update_headers);
  g_assert_cmpuint (updated->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (updated->headers, "ETag"), ==, "\"2\"");

  /* The guide's 412 flow: a write against a stale revision. */
  stale = test_request (f->session, f->server, "PUT", path, f->alice, "{\"title\":\"Stale\"}",
                        stale_headers);
  g_assert_cmpuint (stale->status, ==, 412);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (json_node_get_object (stale->json),
                                                                                 "current"), "title"),
                   ==, "Via HTTP 2");

  missing = test_request (f->session, f->server, "PUT", path, f->alice, "{\"title\":\"x\"}",
                          no_precondition);
  g_assert_cmpuint (missing->status, ==, 428);

  reused = test_request (f->session, f->server, "PUT", path, f->alice, "{\"title\":\"Other\"}",
                         update_headers);
  g_assert_cmpuint (reused->status, ==, 422);

  deleted = test_request (f->session, f->server, "DELETE", path, f->alice, NULL, delete_headers);
  g_assert_cmpuint (deleted->status, ==, 200);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (deleted->json), "deleted"));
}

static void
test_users_are_isolated (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *id = create_task (f, f->alice, "Alice's");
  g_autofree char *path = g_strconcat ("/v1/tasks/", id, NULL);
  g_autofree char *history = g_strconcat (path, "/history", NULL);
  g_autofree char *key1 = g_uuid_string_random ();
  g_autofree char *key2 = g_uuid_string_random ();
  g_autoptr(TestResponse) get = test_request (f->session, f->server, "GET", path, f->bob, NULL, NULL);
  g_autoptr(TestResponse) hist = test_request (f->session, f->server, "GET", history, f->bob, NULL, NULL);
  g_autoptr(TestResponse) put = test_request (f->session, f->server, "PUT", path, f->bob,
                                              "{\"title\":\"Mine now\"}",
                                              (const char *[]) { "If-Match", "\"1\"", "Idempotency-Key",
                                                                 key1, NULL });
  g_autoptr(TestResponse) del = test_request (f->session, f->server, "DELETE", path, f->bob, NULL,
                                              (const char *[]) { "If-Match", "\"1\"", "Idempotency-Key",
                                                                 key2, NULL });
  g_autoptr(GPtrArray) bob_feed = read_feed (f, f->bob, 500, NULL);
  g_autoptr(TestResponse) pushed = NULL;
  g_autoptr(TestResponse) still = NULL;
  JsonObject *result;

  g_assert_cmpuint (get->status, ==, 404);
  g_assert_cmpuint (hist->status, ==, 404);
  g_assert_cmpuint (put->status, ==, 404);
  g_assert_cmpuint (del->status, ==, 404);
  g_assert_cmpuint (bob_feed->len, ==, 0);

  /* Bob may even use the same id: it is his own record. */
  result = push_one (f, f->bob, "bob-1", op_json (NULL, "create", id, 0,
                                                  "{\"title\":\"Bob's\"}", NULL), &pushed);
  g_assert_cmpint (json_object_get_int_member (result, "status"), ==, 201);
  still = get_task (f, f->alice, id);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (still->json), "title"),
                   ==, "Alice's");
}

/* Two requests carrying the same op arrive at once (a client retried while
 * the first was still in flight): one task, the same answer to both. */
typedef struct
{
  GMainLoop *loop;
  guint      pending;
  guint      status[2];
  char      *body[2];
} Concurrent;

static void
concurrent_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  Concurrent *c = data;
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (message), "index"));

  c->status[index] = soup_message_get_status (message);
  c->body[index] = bytes ? g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes))
                         : g_strdup ("");
  if (--c->pending == 0)
    g_main_loop_quit (c->loop);
}

static void
test_concurrent_same_op (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *id = g_uuid_string_random ();
  g_autofree char *op_id = g_uuid_string_random ();
  g_autofree char *op = op_json (op_id, "create", id, 0, "{\"title\":\"Raced\"}", NULL);
  g_autofree char *body = g_strdup_printf ("{\"device_id\":\"dev-a\",\"ops\":[%s]}", op);
  g_autofree char *uri = g_strconcat (f->server->url, "/v1/sync/push", NULL);
  g_autofree char *auth = g_strconcat ("Bearer ", f->alice, NULL);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GPtrArray) feed = NULL;
  Concurrent c = { 0 };
  g_autoptr(SoupSession) session = NULL;

  g_main_context_push_thread_default (context);
  session = soup_session_new ();
  c.loop = g_main_loop_new (context, FALSE);
  c.pending = 2;
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(SoupMessage) message = soup_message_new ("POST", uri);
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (message, "application/json", bytes);
      soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", auth);
      g_object_set_data (G_OBJECT (message), "index", GUINT_TO_POINTER (i));
      soup_session_send_and_read_async (session, message, G_PRIORITY_DEFAULT, NULL, concurrent_done, &c);
    }
  g_main_loop_run (c.loop);
  g_main_loop_unref (c.loop);
  g_clear_object (&session);
  g_main_context_pop_thread_default (context);

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(JsonNode) node = NULL;
      JsonObject *result;

      g_assert_cmpuint (c.status[i], ==, 200);
      node = test_parse_json (c.body[i]);
      result = json_array_get_object_element (json_object_get_array_member (json_node_get_object (node),
                                                                            "results"), 0);
      /* either the first application or the stored answer, never 2 tasks */
      g_assert_cmpint (json_object_get_int_member (result, "status"), ==, 201);
      g_assert_cmpint (json_object_get_int_member (result_task (result), "rev"), ==, 1);
      g_free (c.body[i]);
    }

  feed = read_feed (f, f->alice, 500, NULL);
  g_assert_cmpuint (feed->len, ==, 1);
}

/* Ops that are well-formed JSON but hostile or wrong: each refused on its
 * own with 422 and a message naming the member; nothing written. */
static void
test_hostile_ops (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GString) huge = g_string_new (NULL);
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(TestResponse) response = NULL;
  g_autoptr(GPtrArray) feed = NULL;
  JsonArray *results;
  const char *members[] = { "title", "priority", "due", "base_rev", "kind", "entity", "tags",
                            "op_id", "entity_id", "title", "tag" };

  for (guint i = 0; i < 300 * 1024; i++)
    g_string_append_c (huge, 'x');
  {
    g_autofree char *patch = g_strdup_printf ("{\"title\":\"%s\"}", huge->str);
    g_ptr_array_add (ops, op_json (NULL, "create", "8a1f3c8e-6d9c-4a57-9f0e-1c2b3d4e5f60", 0, patch, NULL));
  }
  g_ptr_array_add (ops, op_json (NULL, "create", "8a1f3c8e-6d9c-4a57-9f0e-1c2b3d4e5f61", 0,
                                 "{\"title\":\"x\",\"priority\":\"high\"}", NULL));
  g_ptr_array_add (ops, op_json (NULL, "create", "8a1f3c8e-6d9c-4a57-9f0e-1c2b3d4e5f62", 0,
                                 "{\"title\":\"x\",\"due\":\"2026-02-30\"}", NULL));
  g_ptr_array_add (ops, op_json (NULL, "create", "8a1f3c8e-6d9c-4a57-9f0e-1c2b3d4e5f63", -1,
                                 "{\"title\":\"x\"}", NULL));
  g_ptr_array_add (ops, op_json (NULL, "explode", "8a1f3c8e-6d9c-4a57-9f0e-1c2b3d4e5f64", 0,
                                 "{\"title\":\"x\"}", NULL));
  g_ptr_array_add (ops, g_strdup ("{\"op_id\":\"8a1f3c8e-6d9c-4a57-9f0e-1c2b3d4e5f70\",\"entity\":\"planet\","
                                  "\"entity_id\":\"8a1f3c8e-6d9c-4a57-9f0e-1c2b3d4e5f65\",\"kind\":\"create\","
                                  "\"base_rev\":0,\"patch\":{\"title\":\"x\"}}"));
  g_ptr_array_add (ops, op_json (NULL, "create", "8a1f3c8e-6d9c-4a57-9f0e-1c2b3d4e5f66", 0,
                                 "{\"title\":\"x\",\"tags\":[1,2]}", NULL));
  g_ptr_array_add (ops, g_strdup ("{\"op_id\":\"not-a-uuid\",\"entity\":\"task\","
                                  "\"entity_id\":\"8a1f3c8e-6d9c-4a57-9f0e-1c2b3d4e5f67\",\"kind\":\"create\","
                                  "\"base_rev\":0,\"patch\":{\"title\":\"x\"}}"));
  g_ptr_array_add (ops, op_json (NULL, "create", "12345", 0, "{\"title\":\"x\"}", NULL));
  g_ptr_array_add (ops, op_json (NULL, "create", "8a1f3c8e-6d9c-4a57-9f0e-1c2b3d4e5f68", 0,
                                 "{\"title\":[\"x\"]}", NULL));
  g_ptr_array_add (ops, op_json (NULL, "tag_add", "8a1f3c8e-6d9c-4a57-9f0e-1c2b3d4e5f69", 1,
                                 "{\"tag\":\"two words\"}", NULL));

  response = push_ops (f, f->alice, "dev-a", ops);
  g_assert_cmpuint (response->status, ==, 200);
  results = json_object_get_array_member (json_node_get_object (response->json), "results");
  g_assert_cmpuint (json_array_get_length (results), ==, G_N_ELEMENTS (members));
  for (guint i = 0; i < json_array_get_length (results); i++)
    {
      JsonObject *result = json_array_get_object_element (results, i);
      const char *message = json_object_get_string_member (result, "error");

      g_test_message ("op %u: %s", i, message);
      g_assert_cmpint (json_object_get_int_member (result, "status"), ==, 422);
      g_assert_cmpstr (json_object_get_string_member (result, "type"), ==, "invalid");
      g_assert_cmpuint (strlen (message), <, 2000);
      if (strstr (message, members[i]) == NULL)
        g_error ("op %u refused with “%s”, which does not name “%s”", i, message, members[i]);
    }

  feed = read_feed (f, f->alice, 500, NULL);
  g_assert_cmpuint (feed->len, ==, 0);
}

static void
test_lists (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *list_id = g_uuid_string_random ();
  g_autofree char *task_id = g_uuid_string_random ();
  g_autofree char *path = g_strconcat ("/v1/lists/", list_id, NULL);
  g_autofree char *create = g_strdup_printf ("{\"op_id\":\"%s\",\"entity\":\"list\",\"entity_id\":\"%s\","
                                             "\"kind\":\"create\",\"base_rev\":0,\"patch\":{\"name\":\"Work\","
                                             "\"position\":\"V\"}}", task_id, list_id);
  g_autofree char *in_list = g_strdup_printf ("{\"title\":\"Filed\",\"list_id\":\"%s\"}", list_id);
  g_autofree char *delete = g_strdup_printf ("{\"op_id\":\"%s\",\"entity\":\"list\",\"entity_id\":\"%s\","
                                             "\"kind\":\"delete\",\"base_rev\":1,\"patch\":{}}",
                                             list_id, list_id);
  g_autoptr(TestResponse) r1 = NULL;
  g_autoptr(TestResponse) r2 = NULL;
  g_autoptr(TestResponse) r3 = NULL;
  g_autoptr(TestResponse) mine = NULL;
  g_autoptr(TestResponse) theirs = NULL;
  g_autofree char *filed = g_uuid_string_random ();
  JsonObject *a, *b, *c;

  a = push_one (f, f->alice, "dev-a", g_strdup (create), &r1);
  g_assert_cmpint (json_object_get_int_member (a, "status"), ==, 201);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (a, "list"), "name"),
                   ==, "Work");
  b = push_one (f, f->alice, "dev-a", op_json (NULL, "create", filed, 0, in_list, NULL), &r2);
  g_assert_cmpint (json_object_get_int_member (b, "status"), ==, 201);

  /* A list with live tasks cannot be deleted. */
  c = push_one (f, f->alice, "dev-a", g_strdup (delete), &r3);
  g_assert_cmpint (json_object_get_int_member (c, "status"), ==, 422);
  g_assert_nonnull (strstr (json_object_get_string_member (c, "error"), "move them first"));

  mine = test_request (f->session, f->server, "GET", path, f->alice, NULL, NULL);
  g_assert_cmpuint (mine->status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (mine->json), "entity"), ==, "list");
  theirs = test_request (f->session, f->server, "GET", path, f->bob, NULL, NULL);
  g_assert_cmpuint (theirs->status, ==, 404);
}

/* Regressions found while documenting the protocol. */
static void
test_control_character_device_refused (Fixture       *f,
                                       gconstpointer  data)
{
  g_autofree char *id = create_task (f, f->alice, "Commented");
  g_autofree char *comment = g_uuid_string_random ();
  g_autofree char *patch = g_strdup_printf ("{\"comment_id\":\"%s\",\"body\":\"hi\"}", comment);
  g_autofree char *op = op_json (NULL, "comment_add", id, 1, patch, NULL);
  g_autofree char *body = g_strdup_printf ("{\"device_id\":\"tab\\there\",\"ops\":[%s]}", op);
  g_autoptr(TestResponse) refused = test_request (f->session, f->server, "POST", "/v1/sync/push",
                                                  f->alice, body, NULL);
  g_autoptr(TestResponse) still = get_task (f, f->alice, id);

  g_assert_cmpuint (refused->status, ==, 400);
  g_assert_nonnull (strstr (refused->body, "device_id"));
  /* the server is still there and the task unchanged */
  g_assert_cmpuint (still->status, ==, 200);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (json_node_get_object (still->json),
                                                                         "comments")), ==, 0);
}

static void
test_keys_of_put_and_push_apart (Fixture       *f,
                                 gconstpointer  data)
{
  g_autofree char *id = g_uuid_string_random ();
  g_autofree char *key = g_uuid_string_random ();
  g_autofree char *path = g_strconcat ("/v1/tasks/", id, NULL);
  const char *headers[] = { "If-None-Match", "*", "Idempotency-Key", key, NULL };
  g_autoptr(TestResponse) put = test_request (f->session, f->server, "PUT", path, f->alice,
                                              "{\"title\":\"Shared key\"}", headers);
  g_autoptr(TestResponse) pushed = NULL;
  JsonObject *result;

  g_assert_cmpuint (put->status, ==, 201);
  /* The same UUID as an op id: an op of its own, not the PUT's answer. */
  result = push_one (f, f->alice, "dev-a", op_json (key, "create", id, 0, "{\"title\":\"Shared key\"}",
                                                    NULL), &pushed);
  g_assert_cmpint (json_object_get_int_member (result, "status"), ==, 200);
  g_assert_cmpint (json_object_get_int_member (result_task (result), "rev"), ==, 1);
}

static void
test_unchanged_list_put_writes_nothing (Fixture       *f,
                                        gconstpointer  data)
{
  g_autofree char *id = g_uuid_string_random ();
  g_autofree char *path = g_strconcat ("/v1/lists/", id, NULL);
  g_autofree char *k1 = g_uuid_string_random ();
  g_autofree char *k2 = g_uuid_string_random ();
  g_autoptr(TestResponse) created = test_request (f->session, f->server, "PUT", path, f->alice,
                                                  "{\"name\":\"Same\"}",
                                                  (const char *[]) { "If-None-Match", "*",
                                                                     "Idempotency-Key", k1, NULL });
  g_autoptr(TestResponse) again = test_request (f->session, f->server, "PATCH", path, f->alice,
                                                "{\"name\":\"Same\"}",
                                                (const char *[]) { "If-Match", "\"1\"",
                                                                   "Idempotency-Key", k2, NULL });

  g_assert_cmpuint (created->status, ==, 201);
  g_assert_cmpuint (again->status, ==, 200);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (again->json), "rev"), ==, 1);
}

static void
test_full_read_after_purge_is_not_stale (Fixture       *f,
                                         gconstpointer  data)
{
  g_autofree char *keep = create_task (f, f->alice, "Kept");
  g_autofree char *gone = create_task (f, f->alice, "Purged");
  g_autoptr(TestResponse) r = NULL;
  g_autofree char *cursor = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GPtrArray) feed = NULL;
  g_autoptr(TestResponse) next = NULL;
  gint64 start = g_get_monotonic_time ();
  JsonObject *deleted;

  deleted = push_one (f, f->alice, "dev-a", op_json (NULL, "delete", gone, 1, NULL, NULL), &r);
  g_assert_cmpint (json_object_get_int_member (deleted, "status"), ==, 200);

  /* Wait until the purge removed the tombstone (the newest record). */
  do
    {
      g_clear_pointer (&feed, g_ptr_array_unref);
      g_clear_pointer (&cursor, g_free);
      g_usleep (100 * 1000);
      feed = read_feed (f, f->alice, 500, &cursor);
    }
  while (feed->len > 1 && g_get_monotonic_time () - start < 10 * G_USEC_PER_SEC);
  g_assert_cmpuint (feed->len, ==, 1);

  /* A client that just read everything is not told to read it all again. */
  path = g_strdup_printf ("/v1/sync/changes?since=%s", cursor);
  next = test_request (f->session, f->server, "GET", path, f->alice, NULL, NULL);
  g_assert_cmpuint (next->status, ==, 200);
}

/* The server is killed while a client pushes; every op that was answered
 * 2xx must be there exactly once after a restart, and retrying the rest
 * applies each once. */
typedef struct
{
  TestServer *server;
  guint       delay_ms;
  gint        armed;      /* atomic: a first batch was answered, or the pushes ended */
} Killer;

static gpointer
kill_later (gpointer data)
{
  Killer *killer = data;

  /* The delay counts from the first answered batch, so that some ops are
   * acknowledged before the kill however slowly the server runs (a busy
   * machine, a sanitizer build). */
  while (!g_atomic_int_get (&killer->armed))
    g_usleep (1000);
  g_usleep (killer->delay_ms * 1000);
  g_subprocess_send_signal (killer->server->process, SIGKILL);
  return NULL;
}

static void
test_kill_during_push (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) op_ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) acknowledged = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) feed = NULL;
  guint rounds = 5;

  for (guint round = 0; round < rounds; round++)
    {
      Killer killer = { f->server, g_test_rand_int_range (5, 60), FALSE };
      GThread *thread = g_thread_new ("killer", kill_later, &killer);
      g_autoptr(SoupSession) session = soup_session_new ();

      for (guint batch = 0; batch < 200; batch++)
        {
          g_autoptr(GString) body = g_string_new ("{\"device_id\":\"dev-k\",\"ops\":[");
          g_autofree char *uri = g_strconcat (f->server->url, "/v1/sync/push", NULL);
          g_autoptr(SoupMessage) message = soup_message_new ("POST", uri);
          g_autofree char *auth = g_strconcat ("Bearer ", f->alice, NULL);
          g_autoptr(GBytes) request = NULL;
          g_autoptr(GBytes) reply = NULL;
          guint first = ids->len;

          for (guint i = 0; i < 20; i++)
            {
              char *id = g_uuid_string_random ();
              char *op_id = g_uuid_string_random ();
              g_autofree char *op = op_json (op_id, "create", id, 0, "{\"title\":\"Durable\"}", NULL);

              g_string_append_printf (body, "%s%s", i ? "," : "", op);
              g_ptr_array_add (ids, id);
              g_ptr_array_add (op_ids, op_id);
            }
          g_string_append (body, "]}");
          request = g_bytes_new (body->str, body->len);
          soup_message_set_request_body_from_bytes (message, "application/json", request);
          soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization",
                                        auth);
          reply = soup_session_send_and_read (session, message, NULL, NULL);
          if (reply == NULL || soup_message_get_status (message) != 200)
            break;
          for (guint i = first; i < ids->len; i++)
            g_hash_table_add (acknowledged, g_ptr_array_index (ids, i));
          g_atomic_int_set (&killer.armed, TRUE);
        }
      g_atomic_int_set (&killer.armed, TRUE);
      g_thread_join (thread);
      test_server_kill (f->server);
      test_server_restart (f->server);
    }

  /* Retry every op, as clients do with their outboxes. */
  for (guint start = 0; start < op_ids->len; start += 500)
    {
      g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(TestResponse) response = NULL;

      for (guint i = start; i < op_ids->len && i < start + 500; i++)
        g_ptr_array_add (ops, op_json (g_ptr_array_index (op_ids, i), "create",
                                       g_ptr_array_index (ids, i), 0, "{\"title\":\"Durable\"}", NULL));
      response = push_ops (f, f->alice, "dev-k", ops);
      g_assert_cmpuint (response->status, ==, 200);
    }

  feed = read_feed (f, f->alice, 1000, NULL);
  g_test_message ("%u ops sent, %u acknowledged before a kill", op_ids->len,
                  g_hash_table_size (acknowledged));
  g_assert_cmpuint (g_hash_table_size (acknowledged), >, 0);
  g_assert_cmpuint (feed->len, ==, ids->len);
  {
    g_autoptr(GHashTable) in_feed = g_hash_table_new (g_str_hash, g_str_equal);

    for (guint i = 0; i < feed->len; i++)
      {
        JsonObject *record = json_node_get_object (g_ptr_array_index (feed, i));
        const char *id = json_object_get_string_member (record, "id");

        g_assert_false (g_hash_table_contains (in_feed, id));
        g_hash_table_add (in_feed, (gpointer) id);
        g_assert_cmpint (json_object_get_int_member (record, "rev"), ==, 1);
      }
  }
}

int
main (int    argc,
      char **argv)
{
  static const char *purging[] = { "--retention-days", "0", "--purge-interval", "1", NULL };

  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/protocol/create-and-read", test_create_and_read);
  ADD ("/protocol/replay-returns-stored-result", test_replay_returns_stored_result);
  ADD ("/protocol/idempotent-by-content", test_idempotent_by_content);
  ADD ("/protocol/different-fields-merge", test_different_fields_merge);
  ADD ("/protocol/same-title-conflicts", test_same_title_conflicts);
  ADD ("/protocol/lww-overwrite-in-history", test_lww_overwrite_in_history);
  ADD ("/protocol/tags-and-comments", test_tags_and_comments);
  ADD ("/protocol/edit-vs-delete", test_edit_vs_delete);
  ADD ("/protocol/own-changes-are-no-news", test_own_changes_are_no_news);
  ADD ("/protocol/held-gone-invalid", test_held_gone_invalid);
  ADD ("/protocol/envelope-errors-write-nothing", test_envelope_errors_write_nothing);
  ADD ("/protocol/pagination-with-deletes", test_pagination_with_deletes);
  ADD ("/protocol/changes-bad-queries", test_changes_bad_queries);
  g_test_add ("/protocol/cursor-stale-after-purge", Fixture, purging, fixture_setup,
              test_cursor_stale_after_purge, fixture_teardown);
  ADD ("/protocol/conditional-writes", test_conditional_writes);
  ADD ("/protocol/users-are-isolated", test_users_are_isolated);
  ADD ("/protocol/concurrent-same-op", test_concurrent_same_op);
  ADD ("/protocol/hostile-ops", test_hostile_ops);
  ADD ("/protocol/lists", test_lists);
  ADD ("/protocol/control-character-device-refused", test_control_character_device_refused);
  ADD ("/protocol/keys-of-put-and-push-apart", test_keys_of_put_and_push_apart);
  ADD ("/protocol/unchanged-list-put-writes-nothing", test_unchanged_list_put_writes_nothing);
  g_test_add ("/protocol/full-read-after-purge-is-not-stale", Fixture, purging, fixture_setup,
              test_full_read_after_purge_is_not_stale, fixture_teardown);
  ADD ("/protocol/kill-during-push", test_kill_during_push);

  return g_test_run ();
}
