/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "server-fixture.h"

/* The client sync engine end to end: two or three devices (separate
 * databases driven through the real tandem-cli) against the real
 * tandem-server on loopback, sometimes through tandem-fault-proxy. Each case
 * of the offline-first guide is played in every order that matters, and the
 * tests check what people rely on: after everyone syncs (and answers the
 * questions asked), every device shows what the server holds. */

enum
{
  A,
  B,
  C,
  N_DEVICES
};

static const char *device_names[] = { "A", "B", "C" };

/* One registered case: the server's extra arguments and a variant. */
typedef struct
{
  const char *const *server_args;
  int                variant;
} Case;

typedef struct
{
  TestServer  *server;
  SoupSession *session;
  char        *token;
  char        *dir;
  char        *db[N_DEVICES];
  GSubprocess *proxy;
  char        *proxy_url;
} Fixture;

typedef struct
{
  int    status;
  char  *out;
  char  *err;
  gint64 usec;     /* how long the command took */
} Run;

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

/* Processes started here die with the test, even when it aborts. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  const Case *tc = data;

  f->server = test_server_start (NULL, tc ? tc->server_args : NULL);
  f->session = soup_session_new ();
  f->token = test_server_token (f->server, "alice");
  f->dir = g_dir_make_tmp ("tandem-sync-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  for (guint i = 0; i < N_DEVICES; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s.db", device_names[i]);

      f->db[i] = g_build_filename (f->dir, name, NULL);
    }
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  if (f->proxy != NULL)
    {
      g_subprocess_send_signal (f->proxy, SIGTERM);
      g_subprocess_wait (f->proxy, NULL, NULL);
      g_clear_object (&f->proxy);
    }
  g_free (f->proxy_url);
  g_clear_object (&f->session);
  g_clear_pointer (&f->server, test_server_free);
  g_free (f->token);

  /* The databases and their -wal and -shm files. */
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
  for (guint i = 0; i < N_DEVICES; i++)
    g_free (f->db[i]);
}

/* tandem-cli */

static const char *
cli_path (void)
{
  const char *path = g_getenv ("TANDEM_CLI");

  g_assert_nonnull (path);
  return path;
}

static GSubprocessLauncher *
cli_launcher (void)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                             G_SUBPROCESS_FLAGS_STDERR_PIPE);

  /* The token stays in each device's database, never in a keyring the
   * devices would share. */
  g_subprocess_launcher_unsetenv (launcher, "TANDEM_DB");
  g_subprocess_launcher_setenv (launcher, "TANDEM_NO_KEYRING", "1", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  return launcher;
}

static void
run_cli (Fixture           *f,
         guint              dev,
         const char *const *argv,
         Run               *run)
{
  g_autoptr(GSubprocessLauncher) launcher = cli_launcher ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  g_ptr_array_add (args, (char *) cli_path ());
  g_ptr_array_add (args, "--db");
  g_ptr_array_add (args, f->db[dev]);
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (char *) argv[i]);
  g_ptr_array_add (args, NULL);

  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) args->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &run->out, &run->err, &error);
  g_assert_no_error (error);
  run->usec = g_get_monotonic_time () - start;
  if (!g_subprocess_get_if_exited (process))
    g_error ("tandem-cli %s on device %s did not exit normally (signal %d): %s", argv[0],
             device_names[dev], g_subprocess_get_term_sig (process), run->err);
  run->status = g_subprocess_get_exit_status (process);
}

#define CLI(f, dev, run, ...) \
  run_cli ((f), (dev), (const char *const[]) { __VA_ARGS__, NULL }, (run))

/* A command that must succeed; its stdout, trimmed. */
static char *
ok_cli (Fixture           *f,
        guint              dev,
        const char *const *argv)
{
  g_auto(Run) run = { 0 };

  run_cli (f, dev, argv, &run);
  if (run.status != 0)
    {
      g_test_message ("tandem-cli %s on device %s exited %d\nstdout: %s\nstderr: %s", argv[0],
                      device_names[dev], run.status, run.out, run.err);
      g_assert_cmpint (run.status, ==, 0);
    }
  g_assert_cmpstr (run.err, ==, "");
  return g_strstrip (g_steal_pointer (&run.out));
}

#define OK(f, dev, ...) ok_cli ((f), (dev), (const char *const[]) { __VA_ARGS__, NULL })
#define DO(f, dev, ...) g_free (OK (f, dev, __VA_ARGS__))

/* Runs `sync` and checks its exit status; the run is left in @run for more
 * checks. */
static void
sync_run (Fixture *f,
          guint    dev,
          int      expected,
          Run     *run)
{
  CLI (f, dev, run, "sync");
  if (run->status != expected)
    {
      g_test_message ("sync on device %s exited %d, expected %d (%.1f s)\nstdout: %s\nstderr: %s",
                      device_names[dev], run->status, expected, run->usec / 1e6, run->out,
                      run->err);
      g_assert_cmpint (run->status, ==, expected);
    }
  if (expected == 0)
    g_assert_cmpstr (run->err, ==, "");
  else
    g_assert_cmpstr (run->err, !=, "");
}

static void
sync_expect (Fixture *f,
             guint    dev,
             int      expected)
{
  g_auto(Run) run = { 0 };

  sync_run (f, dev, expected, &run);
}

static JsonNode *
cli_json (Fixture           *f,
          guint              dev,
          const char *const *argv)
{
  g_autofree char *out = ok_cli (f, dev, argv);

  return test_parse_json (out);
}

#define JSON(f, dev, ...) cli_json ((f), (dev), (const char *const[]) { __VA_ARGS__, NULL })

static void
connect_device (Fixture    *f,
                guint       dev,
                const char *url,
                const char *token)
{
  DO (f, dev, "account", "--server", url, "--token", token ? token : f->token);
}

/* The task as `show --json` has it on @dev. */
static JsonNode *
show (Fixture    *f,
      guint       dev,
      const char *id)
{
  return JSON (f, dev, "show", id, "--json");
}

static const char *
str_member (JsonNode   *node,
            const char *name)
{
  JsonObject *object = json_node_get_object (node);

  g_assert_true (json_object_has_member (object, name));
  return json_object_get_string_member (object, name);
}

static gint64
int_member (JsonNode   *node,
            const char *name)
{
  JsonObject *object = json_node_get_object (node);

  g_assert_true (json_object_has_member (object, name));
  return json_object_get_int_member (object, name);
}

static gboolean
bool_member (JsonNode   *node,
             const char *name)
{
  JsonObject *object = json_node_get_object (node);

  g_assert_true (json_object_has_member (object, name));
  return json_object_get_boolean_member (object, name);
}

/* The tags as "a,b,c". */
static char *
tags_of (JsonNode *task)
{
  JsonArray *tags = json_object_get_array_member (json_node_get_object (task), "tags");
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (tags); i++)
    g_string_append_printf (text, "%s%s", i ? "," : "", json_array_get_string_element (tags, i));
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static guint
array_length (JsonNode *node)
{
  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  return json_array_get_length (json_node_get_array (node));
}

static JsonObject *
array_object (JsonNode *node,
              guint     index)
{
  return json_array_get_object_element (json_node_get_array (node), index);
}

/* The server, directly */

static TestResponse *
server_get (Fixture    *f,
            const char *path)
{
  return test_request (f->session, f->server, "GET", path, f->token, NULL, NULL);
}

/* Every record of @entity in the change feed, from the beginning. */
static GPtrArray *
server_feed_of (Fixture    *f,
                const char *entity)
{
  GPtrArray *records = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  g_autofree char *cursor = NULL;
  gboolean more = TRUE;

  while (more)
    {
      g_autofree char *path = cursor ? g_strdup_printf ("/v1/sync/changes?since=%s&limit=1000",
                                                        cursor)
                                     : g_strdup ("/v1/sync/changes?limit=1000");
      g_autoptr(TestResponse) page = server_get (f, path);
      JsonObject *object;
      JsonArray *changes;

      g_assert_cmpuint (page->status, ==, 200);
      object = json_node_get_object (page->json);
      changes = json_object_get_array_member (object, "changes");
      for (guint i = 0; i < json_array_get_length (changes); i++)
        {
          JsonObject *record = json_array_get_object_element (changes, i);

          if (g_strcmp0 (json_object_get_string_member (record, "entity"), entity) == 0)
            g_ptr_array_add (records, json_node_copy (json_array_get_element (changes, i)));
        }
      g_free (cursor);
      cursor = g_strdup (json_object_get_string_member (object, "cursor"));
      more = json_object_get_boolean_member (object, "has_more");
    }
  return records;
}

static GPtrArray *
server_feed (Fixture *f)
{
  return server_feed_of (f, "task");
}

static JsonNode *
server_history (Fixture    *f,
                const char *id)
{
  g_autofree char *path = g_strdup_printf ("/v1/tasks/%s/history", id);
  g_autoptr(TestResponse) response = server_get (f, path);

  g_assert_cmpuint (response->status, ==, 200);
  return json_node_copy (json_object_get_member (json_node_get_object (response->json),
                                                 "history"));
}

/* How many accepted writes the server recorded for @op_id (one revision
 * each; an op applied twice would show two). */
static guint
server_revs_of_op (JsonNode   *history,
                   const char *op_id)
{
  g_autoptr(GHashTable) revs = g_hash_table_new (g_direct_hash, g_direct_equal);
  JsonArray *entries = json_node_get_array (history);

  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (entry, "op_id", ""), op_id) == 0)
        g_hash_table_add (revs, GINT_TO_POINTER (json_object_get_int_member (entry, "rev")));
    }
  return g_hash_table_size (revs);
}

/* What everyone must agree on */

static const char *compared_fields[] = {
  "id", "list_id", "title", "notes", "done", "due", "priority", "position", "tags", "rev",
  "deleted",
};

static int
compare_comments (gconstpointer a,
                  gconstpointer b)
{
  JsonObject *x = json_node_get_object (*(JsonNode **) a);
  JsonObject *y = json_node_get_object (*(JsonNode **) b);
  int cmp = g_strcmp0 (json_object_get_string_member (x, "created_at"),
                       json_object_get_string_member (y, "created_at"));

  return cmp != 0 ? cmp : g_strcmp0 (json_object_get_string_member (x, "id"),
                                     json_object_get_string_member (y, "id"));
}

/* The fields that matter, in a fixed order, comments included when
 * @comments is not NULL. */
static JsonNode *
canonical_task (JsonObject *task,
                JsonArray  *comments)
{
  JsonObject *out = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  for (guint i = 0; i < G_N_ELEMENTS (compared_fields); i++)
    {
      JsonNode *value = json_object_get_member (task, compared_fields[i]);

      if (value == NULL)
        g_error ("a task without “%s”", compared_fields[i]);
      json_object_set_member (out, compared_fields[i], json_node_copy (value));
    }
  if (comments != NULL)
    {
      g_autoptr(GPtrArray) sorted = g_ptr_array_new ();
      JsonArray *array = json_array_new ();

      for (guint i = 0; i < json_array_get_length (comments); i++)
        g_ptr_array_add (sorted, json_array_get_element (comments, i));
      g_ptr_array_sort (sorted, compare_comments);
      for (guint i = 0; i < sorted->len; i++)
        {
          JsonObject *comment = json_node_get_object (g_ptr_array_index (sorted, i));
          JsonObject *copy = json_object_new ();

          json_object_set_member (copy, "id", json_node_copy (json_object_get_member (comment, "id")));
          json_object_set_member (copy, "body",
                                  json_node_copy (json_object_get_member (comment, "body")));
          json_object_set_member (copy, "device_id",
                                  json_node_copy (json_object_get_member (comment, "device_id")));
          json_object_set_member (copy, "created_at",
                                  json_node_copy (json_object_get_member (comment, "created_at")));
          json_array_add_object_element (array, copy);
        }
      json_object_set_array_member (out, "comments", array);
    }
  json_node_take_object (node, out);
  return node;
}

static int
compare_by_id (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (json_object_get_string_member (json_node_get_object (*(JsonNode **) a), "id"),
                    json_object_get_string_member (json_node_get_object (*(JsonNode **) b), "id"));
}

static char *
canonical_text (GPtrArray *tasks)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_ARRAY);
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  JsonArray *array = json_array_new ();

  g_ptr_array_sort (tasks, compare_by_id);
  for (guint i = 0; i < tasks->len; i++)
    json_array_add_element (array, json_node_copy (g_ptr_array_index (tasks, i)));
  json_node_take_array (node, array);
  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, TRUE);
  return json_generator_to_data (generator, NULL);
}

/* Every task on @dev (the Trash included), as canonical text. */
static char *
device_state (Fixture  *f,
              guint     dev,
              gboolean  with_comments)
{
  g_autoptr(JsonNode) list = JSON (f, dev, "list", "--all", "--json");
  g_autoptr(GPtrArray) tasks = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);

  for (guint i = 0; i < array_length (list); i++)
    {
      JsonObject *task = array_object (list, i);
      g_autoptr(JsonNode) full = NULL;
      JsonArray *comments = NULL;

      if (with_comments)
        {
          full = show (f, dev, json_object_get_string_member (task, "id"));
          comments = json_object_get_array_member (json_node_get_object (full), "comments");
        }
      g_ptr_array_add (tasks, canonical_task (task, comments));
    }
  return canonical_text (tasks);
}

/* Every task the server holds (tombstones included), as canonical text;
 * each live one is also read through GET /v1/tasks/ID and must agree. */
static char *
server_state (Fixture  *f,
              gboolean  with_comments,
              gboolean  check_each)
{
  g_autoptr(GPtrArray) feed = server_feed (f);
  g_autoptr(GPtrArray) tasks = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < feed->len; i++)
    {
      JsonObject *record = json_node_get_object (g_ptr_array_index (feed, i));
      const char *id = json_object_get_string_member (record, "id");
      JsonArray *comments = with_comments ? json_object_get_array_member (record, "comments")
                                          : NULL;

      /* One record per task: the feed holds each once, at its latest
       * revision. */
      if (!g_hash_table_add (ids, (gpointer) id))
        g_error ("the server's feed lists task %s twice", id);
      g_ptr_array_add (tasks, canonical_task (record, comments));

      if (check_each)
        {
          g_autofree char *path = g_strdup_printf ("/v1/tasks/%s", id);
          g_autoptr(TestResponse) one = server_get (f, path);

          if (json_object_get_boolean_member (record, "deleted"))
            g_assert_cmpuint (one->status, ==, 410);
          else
            {
              g_autofree char *etag = g_strdup_printf ("\"%" G_GINT64_FORMAT "\"",
                                                       json_object_get_int_member (record, "rev"));
              g_autoptr(JsonNode) a = canonical_task (record, comments);
              g_autoptr(JsonNode) b = NULL;
              g_autofree char *ta = NULL;
              g_autofree char *tb = NULL;

              g_assert_cmpuint (one->status, ==, 200);
              g_assert_cmpstr (soup_message_headers_get_one (one->headers, "ETag"), ==, etag);
              b = canonical_task (json_node_get_object (one->json),
                                  with_comments ? json_object_get_array_member (
                                                    json_node_get_object (one->json), "comments")
                                                : NULL);
              ta = test_to_json (a);
              tb = test_to_json (b);
              g_assert_cmpstr (ta, ==, tb);
            }
        }
    }
  return canonical_text (tasks);
}

static JsonNode *
canonical_list (JsonObject *list)
{
  static const char *fields[] = { "id", "name", "position", "rev" };
  JsonObject *out = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    json_object_set_member (out, fields[i], json_node_copy (json_object_get_member (list, fields[i])));
  json_node_take_object (node, out);
  return node;
}

/* The live lists, on a device and on the server. */
static char *
device_lists (Fixture *f,
              guint    dev)
{
  g_autoptr(JsonNode) lists = JSON (f, dev, "lists", "--json");
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);

  for (guint i = 0; i < array_length (lists); i++)
    g_ptr_array_add (out, canonical_list (array_object (lists, i)));
  return canonical_text (out);
}

static char *
server_lists (Fixture *f)
{
  g_autoptr(GPtrArray) feed = server_feed_of (f, "list");
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);

  for (guint i = 0; i < feed->len; i++)
    {
      JsonObject *list = json_node_get_object (g_ptr_array_index (feed, i));

      if (!json_object_get_boolean_member (list, "deleted"))
        g_ptr_array_add (out, canonical_list (list));
    }
  return canonical_text (out);
}

/* Nothing waits on @dev: no queued op, no question, every row synced. */
static void
assert_settled (Fixture *f,
                guint    dev)
{
  g_autoptr(JsonNode) outbox = JSON (f, dev, "outbox", "--json");
  g_autoptr(JsonNode) conflicts = JSON (f, dev, "conflicts", "--json");
  g_autoptr(JsonNode) list = JSON (f, dev, "list", "--all", "--json");
  g_autoptr(JsonNode) status = JSON (f, dev, "status", "--json");

  if (array_length (outbox) != 0 || array_length (conflicts) != 0)
    {
      g_autofree char *o = test_to_json (outbox);
      g_autofree char *c = test_to_json (conflicts);

      g_test_message ("device %s is not settled:\noutbox %s\nconflicts %s", device_names[dev], o, c);
    }
  g_assert_cmpuint (array_length (outbox), ==, 0);
  g_assert_cmpuint (array_length (conflicts), ==, 0);
  for (guint i = 0; i < array_length (list); i++)
    g_assert_cmpstr (json_object_get_string_member (array_object (list, i), "sync_status"), ==,
                     "synced");
  g_assert_cmpint (int_member (status, "pending"), ==, 0);
  g_assert_cmpint (int_member (status, "conflicts"), ==, 0);
  g_assert_cmpint (int_member (status, "parked"), ==, 0);
  g_assert_false (bool_member (status, "auth_paused"));
}

static void
assert_device_matches_server (Fixture    *f,
                              guint       dev,
                              const char *server,
                              gboolean    with_comments)
{
  g_autofree char *state = device_state (f, dev, with_comments);

  if (g_strcmp0 (state, server) != 0)
    g_test_message ("device %s differs from the server.\ndevice: %s\nserver: %s",
                    device_names[dev], state, server);
  g_assert_cmpstr (state, ==, server);
}

/* After everyone synced: every device settled and equal to the server. */
static void
assert_converged (Fixture *f,
                  guint    n_devices)
{
  g_autofree char *server = server_state (f, TRUE, TRUE);
  g_autofree char *lists = server_lists (f);

  for (guint dev = 0; dev < n_devices; dev++)
    {
      g_autofree char *mine = device_lists (f, dev);

      assert_settled (f, dev);
      assert_device_matches_server (f, dev, server, TRUE);
      g_assert_cmpstr (mine, ==, lists);
    }
}

/* A device that was never synced (C) joins and shows the same. */
static void
assert_newcomer_converges (Fixture *f)
{
  connect_device (f, C, f->server->url, NULL);
  sync_expect (f, C, 0);
  assert_converged (f, 3);
}

static gboolean
history_has (JsonNode   *history,
             const char *origin,
             const char *field,
             const char *note_part)
{
  for (guint i = 0; i < array_length (history); i++)
    {
      JsonObject *entry = array_object (history, i);
      const char *note = json_object_get_string_member_with_default (entry, "note", NULL);

      if (g_strcmp0 (json_object_get_string_member_with_default (entry, "origin", NULL),
                     origin) != 0)
        continue;
      if (field != NULL &&
          g_strcmp0 (json_object_get_string_member_with_default (entry, "field", NULL), field) != 0)
        continue;
      if (note_part != NULL && (note == NULL || strstr (note, note_part) == NULL))
        continue;
      return TRUE;
    }
  return FALSE;
}

static void
assert_history_has (Fixture    *f,
                    guint       dev,
                    const char *id,
                    const char *origin,
                    const char *field,
                    const char *note_part)
{
  g_autoptr(JsonNode) history = JSON (f, dev, "history", id, "--json");

  if (!history_has (history, origin, field, note_part))
    {
      g_autofree char *text = test_to_json (history);

      g_test_message ("device %s: no %s history entry for %s (“%s”) in %s", device_names[dev],
                      origin, field ? field : "the task", note_part ? note_part : "", text);
    }
  g_assert_true (history_has (history, origin, field, note_part));
}

/* The op ids in @dev's outbox, in order. */
static GPtrArray *
outbox_ids (Fixture *f,
            guint    dev)
{
  g_autoptr(JsonNode) outbox = JSON (f, dev, "outbox", "--json");
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < array_length (outbox); i++)
    g_ptr_array_add (ids, g_strdup (json_object_get_string_member (array_object (outbox, i),
                                                                   "op_id")));
  return ids;
}

static void
assert_same_ids (GPtrArray *a,
                 GPtrArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    g_assert_cmpstr (g_ptr_array_index (a, i), ==, g_ptr_array_index (b, i));
}

/* Two devices on the server with one synced task; returns its id. */
static char *
shared_task (Fixture    *f,
             const char *title,
             const char *notes,
             const char *tags)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) tag_list = g_strsplit (tags ? tags : "", ",", -1);
  g_auto(Run) run = { 0 };

  g_ptr_array_add (args, g_strdup ("add"));
  g_ptr_array_add (args, g_strdup (title));
  if (notes != NULL)
    {
      g_ptr_array_add (args, g_strdup ("--notes"));
      g_ptr_array_add (args, g_strdup (notes));
    }
  for (guint i = 0; tag_list[i] != NULL; i++)
    if (*tag_list[i] != '\0')
      {
        g_ptr_array_add (args, g_strdup ("--tag"));
        g_ptr_array_add (args, g_strdup (tag_list[i]));
      }
  g_ptr_array_add (args, NULL);

  run_cli (f, A, (const char *const *) args->pdata, &run);
  g_assert_cmpint (run.status, ==, 0);
  sync_expect (f, A, 0);
  sync_expect (f, B, 0);
  return g_strdup (g_strstrip (run.out));
}

static void
connect_pair (Fixture *f)
{
  connect_device (f, A, f->server->url, NULL);
  connect_device (f, B, f->server->url, NULL);
}

/* tandem-fault-proxy */

static void
start_proxy (Fixture *f)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  const char *path = g_getenv ("TANDEM_FAULT_PROXY");

  g_assert_nonnull (path);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  f->proxy = g_subprocess_launcher_spawn (launcher, &error, path, "--upstream", f->server->url,
                                          "--listen", "127.0.0.1:0", NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (f->proxy));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (out), FALSE);
  line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "listening on http://127.0.0.1:"));
  f->proxy_url = g_strdup (line + strlen ("listening on "));
  if (g_str_has_suffix (f->proxy_url, "/"))
    f->proxy_url[strlen (f->proxy_url) - 1] = '\0';
}

static TestResponse *
proxy_request (Fixture    *f,
               const char *method,
               const char *path,
               const char *body)
{
  TestServer proxy = { .url = f->proxy_url };

  return test_request (f->session, &proxy, method, path, NULL, body, NULL);
}

static void
inject (Fixture    *f,
        const char *fault)
{
  g_autoptr(TestResponse) response = proxy_request (f, "POST", "/__fault", fault);

  if (response->status != (strstr (fault, "\"reset\"") ? 204 : 201))
    g_error ("the proxy refused %s: %u %s", fault, response->status, response->body);
}

static JsonNode *
proxy_stats (Fixture *f)
{
  g_autoptr(TestResponse) response = proxy_request (f, "GET", "/__fault/stats", NULL);

  g_assert_cmpuint (response->status, ==, 200);
  return json_node_ref (response->json);
}

static gint64
stats_in (JsonNode   *stats,
          const char *group,
          const char *key)
{
  JsonObject *object = json_object_get_object_member (json_node_get_object (stats), group);

  return json_object_get_int_member_with_default (object, key, 0);
}

/* The requests the proxy saw for @route ("METHOD /path"), oldest first. */
static GPtrArray *
proxy_requests (Fixture    *f,
                const char *route)
{
  g_autoptr(TestResponse) response = proxy_request (f, "GET", "/__fault/requests", NULL);
  GPtrArray *found = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  JsonArray *all;

  g_assert_cmpuint (response->status, ==, 200);
  all = json_node_get_array (response->json);
  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      JsonObject *entry = json_array_get_object_element (all, i);
      g_autofree char *key = g_strdup_printf ("%s %s",
                                              json_object_get_string_member (entry, "method"),
                                              json_object_get_string_member (entry, "path"));

      if (g_str_equal (key, route))
        g_ptr_array_add (found, json_node_copy (json_array_get_element (all, i)));
    }
  return found;
}

/* The op ids of a push request the proxy saw. */
static GPtrArray *
pushed_op_ids (JsonNode *entry)
{
  const char *body = json_object_get_string_member (json_node_get_object (entry), "body");
  g_autoptr(JsonNode) request = NULL;
  JsonArray *ops;
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);

  g_assert_nonnull (body);
  request = test_parse_json (body);
  ops = json_object_get_array_member (json_node_get_object (request), "ops");
  for (guint i = 0; i < json_array_get_length (ops); i++)
    g_ptr_array_add (ids, g_strdup (json_object_get_string_member (
                                      json_array_get_object_element (ops, i), "op_id")));
  return ids;
}

/* Cases of the guide */

/* Different fields edited on two devices merge without asking; on the one
 * lww field both changed, the later write wins and the value it replaced
 * stays in history. */
static void
test_different_fields (Fixture       *f,
                       gconstpointer  data)
{
  const Case *tc = data;
  guint first = tc->variant == 0 ? A : B;
  guint second = first == A ? B : A;
  g_autofree char *id = NULL;
  g_autoptr(JsonNode) task = NULL;
  g_autoptr(JsonNode) history = NULL;
  g_autofree char *tags = NULL;
  /* A sets priority 2, B sets 3 */
  gint64 first_priority = first == A ? 2 : 3;
  gint64 second_priority = first == A ? 3 : 2;
  guint priority_entries = 0;

  connect_pair (f);
  id = shared_task (f, "Plan the trip", "Flights\n", "travel");

  DO (f, A, "edit", id, "--title", "Plan the summer trip", "--done", "--priority", "2");
  DO (f, B, "edit", id, "--notes", "Flights\nHotel\n", "--due", "2031-07-01", "--priority", "3");
  DO (f, B, "tag", id, "+summer");

  sync_expect (f, first, 0);
  sync_expect (f, second, 0);
  sync_expect (f, first, 0);

  for (guint dev = A; dev <= B; dev++)
    {
      g_clear_pointer (&task, json_node_unref);
      g_clear_pointer (&tags, g_free);
      task = show (f, dev, id);
      tags = tags_of (task);
      g_assert_cmpstr (str_member (task, "title"), ==, "Plan the summer trip");
      g_assert_true (bool_member (task, "done"));
      g_assert_cmpstr (str_member (task, "notes"), ==, "Flights\nHotel\n");
      g_assert_cmpstr (str_member (task, "due"), ==, "2031-07-01");
      g_assert_cmpstr (tags, ==, "summer,travel");
      /* lww: the write the server accepted last */
      g_assert_cmpint (int_member (task, "priority"), ==, second_priority);
    }

  /* The overwritten priority is not lost: the server's history and the
   * overwritten device's history both show it. */
  history = server_history (f, id);
  for (guint i = 0; i < array_length (history); i++)
    {
      JsonObject *entry = array_object (history, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (entry, "field", NULL),
                     "priority") != 0)
        continue;
      priority_entries++;
      if (priority_entries == 2)
        {
          g_assert_cmpint (json_object_get_int_member (entry, "old"), ==, first_priority);
          g_assert_cmpint (json_object_get_int_member (entry, "new"), ==, second_priority);
        }
    }
  g_assert_cmpuint (priority_entries, ==, 2);
  assert_history_has (f, first, id, "remote", "priority", NULL);

  assert_converged (f, 2);
  assert_newcomer_converges (f);
}

/* The same title changed on both devices: the device that syncs second is
 * asked; once it answers, both devices agree. Its other changes to the
 * task, held meanwhile, are neither lost nor asked about. */
enum
{
  TITLE_A_FIRST_TAKE_LOCAL,
  TITLE_B_FIRST_WRITE_MERGED,
  TITLE_B_FIRST_TAKE_REMOTE,
};

static void
test_same_title (Fixture       *f,
                 gconstpointer  data)
{
  const Case *tc = data;
  guint first = tc->variant == TITLE_A_FIRST_TAKE_LOCAL ? A : B;
  guint second = first == A ? B : A;
  const char *titles[] = { "Buy oat milk", "Buy soy milk" };
  g_autofree char *id = NULL;
  g_autoptr(JsonNode) conflicts = NULL;
  g_autoptr(JsonNode) status = NULL;
  g_autoptr(JsonNode) task = NULL;
  g_autoptr(JsonNode) remote = NULL;
  g_auto(Run) run = { 0 };
  JsonObject *conflict, *field;
  JsonArray *fields;
  const char *expected;
  g_autofree char *tags = NULL;

  connect_pair (f);
  id = shared_task (f, "Buy milk", NULL, "shopping");

  /* Each device changes the title and something else; the second device's
   * other changes are a separate op that waits behind the conflict. */
  DO (f, A, "edit", id, "--title", titles[A], "--done");
  DO (f, B, "edit", id, "--title", titles[B], "--priority", "2");
  DO (f, B, "tag", id, "+dairy");
  DO (f, A, "comment", id, "Out of oat milk at the corner shop");

  sync_expect (f, first, 0);
  sync_run (f, second, 3, &run);
  g_assert_nonnull (strstr (run.err, "tandem-cli conflicts"));
  g_assert_nonnull (strstr (run.err, "tandem-cli resolve"));

  /* Asked on the second device only, with both versions and the base. */
  conflicts = JSON (f, first, "conflicts", "--json");
  g_assert_cmpuint (array_length (conflicts), ==, 0);
  g_clear_pointer (&conflicts, json_node_unref);
  conflicts = JSON (f, second, "conflicts", "--json");
  g_assert_cmpuint (array_length (conflicts), ==, 1);
  conflict = array_object (conflicts, 0);
  g_assert_cmpstr (json_object_get_string_member (conflict, "task_id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (conflict, "kind"), ==, "edit");
  fields = json_object_get_array_member (conflict, "fields");
  g_assert_cmpuint (json_array_get_length (fields), ==, 1);
  field = json_array_get_object_element (fields, 0);
  g_assert_cmpstr (json_object_get_string_member (field, "name"), ==, "title");
  g_assert_cmpstr (json_object_get_string_member (field, "base"), ==, "Buy milk");
  g_assert_cmpstr (json_object_get_string_member (field, "local"), ==, titles[second]);
  g_assert_cmpstr (json_object_get_string_member (field, "remote"), ==, titles[first]);

  status = JSON (f, second, "status", "--json");
  g_assert_cmpint (int_member (status, "conflicts"), ==, 1);
  task = show (f, second, id);
  g_assert_cmpstr (str_member (task, "sync_status"), ==, "needs-review");
  /* Until the user answers, this device keeps showing its own title. */
  g_assert_cmpstr (str_member (task, "title"), ==, titles[second]);

  /* Asking again changes nothing and sends nothing of that task. */
  run_clear (&run);
  memset (&run, 0, sizeof run);
  sync_run (f, second, 3, &run);
  {
    g_autofree char *path = g_strdup_printf ("/v1/tasks/%s", id);
    g_autoptr(TestResponse) r = server_get (f, path);

    remote = json_node_ref (r->json);
    g_assert_cmpstr (str_member (remote, "title"), ==, titles[first]);
  }

  switch (tc->variant)
    {
    case TITLE_A_FIRST_TAKE_LOCAL:
      DO (f, second, "resolve", id, "--take", "local");
      expected = titles[second];
      assert_history_has (f, second, id, "resolve", "title", "kept this device's version");
      break;
    case TITLE_B_FIRST_WRITE_MERGED:
      DO (f, second, "resolve", id, "--field", "title=value:Buy oat and soy milk");
      expected = "Buy oat and soy milk";
      assert_history_has (f, second, id, "resolve", "title", "merged version");
      break;
    case TITLE_B_FIRST_TAKE_REMOTE:
    default:
      DO (f, second, "resolve", id, "--take", "remote");
      expected = titles[first];
      assert_history_has (f, second, id, "resolve", "title", "other device's version");
      break;
    }

  sync_expect (f, second, 0);
  sync_expect (f, first, 0);

  for (guint dev = A; dev <= B; dev++)
    {
      g_clear_pointer (&task, json_node_unref);
      g_clear_pointer (&tags, g_free);
      task = show (f, dev, id);
      tags = tags_of (task);
      g_assert_cmpstr (str_member (task, "title"), ==, expected);
      /* what was not in question went through on both sides */
      g_assert_true (bool_member (task, "done"));
      g_assert_cmpint (int_member (task, "priority"), ==, 2);
      g_assert_cmpstr (tags, ==, "dairy,shopping");
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                          json_node_get_object (task), "comments")), ==, 1);
    }
  assert_converged (f, 2);
  assert_newcomer_converges (f);
}

/* Both devices type the same new title: nothing to ask. */
static void
test_same_title_same_value (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *id = NULL;
  g_autoptr(JsonNode) task = NULL;

  connect_pair (f);
  id = shared_task (f, "Call the plumber", NULL, NULL);
  DO (f, A, "edit", id, "--title", "Call the plumber today");
  DO (f, B, "edit", id, "--title", "Call the plumber today");
  sync_expect (f, A, 0);
  sync_expect (f, B, 0);
  sync_expect (f, A, 0);
  task = show (f, B, id);
  g_assert_cmpstr (str_member (task, "title"), ==, "Call the plumber today");
  assert_converged (f, 2);
}

/* While B's question is open, A changes the task again (another field,
 * twice). B's answer must carry only what B decided and B's own edits: it
 * must not send back a value B merely received from the server, over A's
 * newer one. */
static void
test_same_title_remote_moves_on (Fixture       *f,
                                 gconstpointer  data)
{
  g_autofree char *id = NULL;
  g_autoptr(JsonNode) task = NULL;

  connect_pair (f);
  id = shared_task (f, "Buy milk", NULL, NULL);
  DO (f, A, "edit", id, "--title", "Buy oat milk");
  DO (f, B, "edit", id, "--title", "Buy soy milk");
  sync_expect (f, A, 0);
  sync_expect (f, B, 3);

  /* A keeps working; B pulls the first of these changes, not the second. */
  DO (f, A, "edit", id, "--priority", "3");
  sync_expect (f, A, 0);
  sync_expect (f, B, 3);
  task = show (f, B, id);
  g_assert_cmpint (int_member (task, "priority"), ==, 3);
  DO (f, A, "edit", id, "--priority", "1", "--done");
  sync_expect (f, A, 0);

  DO (f, B, "resolve", id, "--take", "local");
  sync_expect (f, B, 0);
  sync_expect (f, A, 0);

  for (guint dev = A; dev <= B; dev++)
    {
      g_clear_pointer (&task, json_node_unref);
      task = show (f, dev, id);
      g_assert_cmpstr (str_member (task, "title"), ==, "Buy soy milk");
      /* A's latest priority: B never touched it */
      g_assert_cmpint (int_member (task, "priority"), ==, 1);
      g_assert_true (bool_member (task, "done"));
    }
  assert_converged (f, 2);
}

/* Title collides while the notes merge line by line: only the title is
 * asked, the notes already hold both edits. */
static void
test_title_asks_notes_merge (Fixture       *f,
                             gconstpointer  data)
{
  g_autofree char *id = NULL;
  g_autoptr(JsonNode) conflicts = NULL;
  JsonArray *fields;

  connect_pair (f);
  id = shared_task (f, "Buy milk", "Milk\n\nBread\n\nEggs\n", NULL);
  DO (f, A, "edit", id, "--title", "Buy oat milk", "--notes", "Oat milk\n\nBread\n\nEggs\n");
  DO (f, B, "edit", id, "--title", "Buy soy milk", "--notes", "Milk\n\nBread\n\nFree-range eggs\n");
  sync_expect (f, A, 0);
  sync_expect (f, B, 3);

  conflicts = JSON (f, B, "conflicts", "--json");
  g_assert_cmpuint (array_length (conflicts), ==, 1);
  fields = json_object_get_array_member (array_object (conflicts, 0), "fields");
  g_assert_cmpuint (json_array_get_length (fields), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (fields, 0), "name"),
                   ==, "title");

  DO (f, B, "resolve", id, "--take", "remote");
  sync_expect (f, B, 0);
  sync_expect (f, A, 0);
  for (guint dev = A; dev <= B; dev++)
    {
      g_autoptr(JsonNode) task = show (f, dev, id);

      g_assert_cmpstr (str_member (task, "title"), ==, "Buy oat milk");
      g_assert_cmpstr (str_member (task, "notes"), ==, "Oat milk\n\nBread\n\nFree-range eggs\n");
    }
  assert_history_has (f, B, id, "merge", "notes", NULL);
  assert_converged (f, 2);
}

/* Two fields collide: the user chooses per field; a partial answer is
 * refused and leaves the question open. */
static void
test_per_field_choice (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *id = NULL;
  g_autoptr(JsonNode) conflicts = NULL;
  g_auto(Run) run = { 0 };
  JsonArray *fields;

  connect_pair (f);
  id = shared_task (f, "Call mom", "Ask about the weekend\n", NULL);
  DO (f, A, "edit", id, "--title", "Call mom today", "--notes", "Ask about Sunday\n");
  DO (f, B, "edit", id, "--title", "Call mom tonight", "--notes", "Ask about Saturday\n");
  sync_expect (f, B, 0);
  sync_expect (f, A, 3);

  conflicts = JSON (f, A, "conflicts", "--json");
  g_assert_cmpuint (array_length (conflicts), ==, 1);
  fields = json_object_get_array_member (array_object (conflicts, 0), "fields");
  g_assert_cmpuint (json_array_get_length (fields), ==, 2);

  CLI (f, A, &run, "resolve", id, "--field", "title=local");
  g_assert_cmpint (run.status, ==, 2);
  g_assert_nonnull (strstr (run.err, "notes"));
  g_clear_pointer (&conflicts, json_node_unref);
  conflicts = JSON (f, A, "conflicts", "--json");
  g_assert_cmpuint (array_length (conflicts), ==, 1);

  DO (f, A, "resolve", id, "--field", "title=local", "--field", "notes=remote");
  sync_expect (f, A, 0);
  sync_expect (f, B, 0);
  for (guint dev = A; dev <= B; dev++)
    {
      g_autoptr(JsonNode) task = show (f, dev, id);

      g_assert_cmpstr (str_member (task, "title"), ==, "Call mom today");
      g_assert_cmpstr (str_member (task, "notes"), ==, "Ask about Saturday\n");
    }
  assert_converged (f, 2);
}

static const char *notes_base = "Milk\n\nBread\n\nEggs\n";

/* Notes edited in separate paragraphs merge line by line, without asking,
 * and the merge is written in history. */
static void
test_notes_merge (Fixture       *f,
                  gconstpointer  data)
{
  const Case *tc = data;
  guint first = tc->variant == 0 ? A : B;
  guint second = first == A ? B : A;
  g_autofree char *id = NULL;

  connect_pair (f);
  id = shared_task (f, "Groceries", notes_base, NULL);

  DO (f, A, "edit", id, "--notes", "Oat milk\n\nBread\n\nEggs\n");
  DO (f, B, "edit", id, "--notes", "Milk\n\nBread\n\nFree-range eggs\n");

  sync_expect (f, first, 0);
  sync_expect (f, second, 0);
  sync_expect (f, first, 0);

  for (guint dev = A; dev <= B; dev++)
    {
      g_autoptr(JsonNode) task = show (f, dev, id);
      g_autoptr(JsonNode) conflicts = JSON (f, dev, "conflicts", "--json");

      g_assert_cmpstr (str_member (task, "notes"), ==, "Oat milk\n\nBread\n\nFree-range eggs\n");
      g_assert_cmpuint (array_length (conflicts), ==, 0);
    }
  assert_history_has (f, second, id, "merge", "notes", "merged with a change from another device");
  assert_converged (f, 2);
}

/* Notes edited on the same line on both devices: asked, with the three
 * versions; a merged text written by the user goes everywhere. */
static void
test_notes_same_line (Fixture       *f,
                      gconstpointer  data)
{
  const Case *tc = data;
  guint first = tc->variant == 0 ? A : B;
  guint second = first == A ? B : A;
  const char *notes[] = { "Oat milk\n\nBread\n\nEggs\n", "Soy milk\n\nBread\n\nEggs\n" };
  const char *merged = "Oat milk and soy milk\n\nBread\n\nEggs\n";
  g_autofree char *id = NULL;
  g_autofree char *choice = g_strconcat ("notes=value:", merged, NULL);
  g_autoptr(JsonNode) conflicts = NULL;
  JsonObject *field;
  JsonArray *fields;

  connect_pair (f);
  id = shared_task (f, "Groceries", notes_base, NULL);

  DO (f, A, "edit", id, "--notes", notes[A]);
  DO (f, B, "edit", id, "--notes", notes[B]);

  sync_expect (f, first, 0);
  sync_expect (f, second, 3);

  conflicts = JSON (f, second, "conflicts", "--json");
  g_assert_cmpuint (array_length (conflicts), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (array_object (conflicts, 0), "kind"), ==, "edit");
  fields = json_object_get_array_member (array_object (conflicts, 0), "fields");
  g_assert_cmpuint (json_array_get_length (fields), ==, 1);
  field = json_array_get_object_element (fields, 0);
  g_assert_cmpstr (json_object_get_string_member (field, "name"), ==, "notes");
  g_assert_cmpstr (json_object_get_string_member (field, "base"), ==, notes_base);
  g_assert_cmpstr (json_object_get_string_member (field, "local"), ==, notes[second]);
  g_assert_cmpstr (json_object_get_string_member (field, "remote"), ==, notes[first]);

  DO (f, second, "resolve", id, "--field", choice);
  sync_expect (f, second, 0);
  sync_expect (f, first, 0);

  for (guint dev = A; dev <= B; dev++)
    {
      g_autoptr(JsonNode) task = show (f, dev, id);

      g_assert_cmpstr (str_member (task, "notes"), ==, merged);
    }
  assert_converged (f, 2);
  assert_newcomer_converges (f);
}

/* Tags are a set: adds and removes from both devices all apply. */
static void
test_tags (Fixture       *f,
           gconstpointer  data)
{
  const Case *tc = data;
  guint first = tc->variant == 0 ? A : B;
  guint second = first == A ? B : A;
  g_autofree char *id = NULL;

  connect_pair (f);
  id = shared_task (f, "Tidy the garage", NULL, "a,b,c");

  DO (f, A, "tag", id, "+x", "-a", "+z");
  DO (f, B, "tag", id, "+y", "-b", "+z", "-c");

  sync_expect (f, first, 0);
  sync_expect (f, second, 0);
  sync_expect (f, first, 0);

  for (guint dev = A; dev <= B; dev++)
    {
      g_autoptr(JsonNode) task = show (f, dev, id);
      g_autofree char *tags = tags_of (task);

      g_assert_cmpstr (tags, ==, "x,y,z");
    }
  assert_converged (f, 2);
  assert_newcomer_converges (f);
}

/* Comments are append-only: every comment from every device is kept, once. */
static void
test_comments (Fixture       *f,
               gconstpointer  data)
{
  const Case *tc = data;
  guint first = tc->variant == 0 ? A : B;
  guint second = first == A ? B : A;
  g_autofree char *id = NULL;
  g_autofree char *a1 = NULL;
  g_autofree char *a2 = NULL;
  g_autofree char *b1 = NULL;

  connect_pair (f);
  id = shared_task (f, "Paint the fence", NULL, NULL);

  a1 = OK (f, A, "comment", id, "Bought white paint");
  a2 = OK (f, A, "comment", id, "Two coats needed");
  b1 = OK (f, B, "comment", id, "Neighbour lends a ladder");
  DO (f, B, "edit", id, "--title", "Paint the garden fence");

  sync_expect (f, first, 0);
  sync_expect (f, second, 0);
  sync_expect (f, first, 0);

  for (guint dev = A; dev <= B; dev++)
    {
      g_autoptr(JsonNode) task = show (f, dev, id);
      JsonArray *comments = json_object_get_array_member (json_node_get_object (task), "comments");
      g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

      g_assert_cmpstr (str_member (task, "title"), ==, "Paint the garden fence");
      g_assert_cmpuint (json_array_get_length (comments), ==, 3);
      for (guint i = 0; i < 3; i++)
        g_hash_table_add (seen, (gpointer) json_object_get_string_member (
                                  json_array_get_object_element (comments, i), "id"));
      g_assert_true (g_hash_table_contains (seen, a1));
      g_assert_true (g_hash_table_contains (seen, a2));
      g_assert_true (g_hash_table_contains (seen, b1));
    }
  assert_converged (f, 2);
  assert_newcomer_converges (f);
}

/* Edit vs delete, both ways, and both answers. A deletes; B changes the
 * title, adds a tag and a comment. */
enum
{
  DELETE_FIRST_RESTORE,      /* B is asked and restores with its edits */
  DELETE_FIRST_DISCARD,      /* B is asked and lets the delete stand */
  EDIT_FIRST_DELETE_ANYWAY,  /* A is asked and deletes anyway */
  EDIT_FIRST_KEEP,           /* A is asked and keeps the edited task */
};

static void
test_edit_vs_delete (Fixture       *f,
                     gconstpointer  data)
{
  const Case *tc = data;
  gboolean delete_first = tc->variant == DELETE_FIRST_RESTORE ||
                          tc->variant == DELETE_FIRST_DISCARD;
  guint asked = delete_first ? B : A;
  gboolean survives = tc->variant == DELETE_FIRST_RESTORE || tc->variant == EDIT_FIRST_KEEP;
  g_autofree char *id = NULL;
  g_autofree char *comment = NULL;
  g_autofree char *path = NULL;
  g_autoptr(JsonNode) conflicts = NULL;
  g_autoptr(TestResponse) remote = NULL;

  connect_pair (f);
  id = shared_task (f, "Renew passport", NULL, "papers");
  path = g_strdup_printf ("/v1/tasks/%s", id);

  DO (f, A, "delete", id);
  DO (f, B, "edit", id, "--title", "Renew passport (urgent)");
  DO (f, B, "tag", id, "+admin");
  comment = OK (f, B, "comment", id, "Appointment on Tuesday");

  if (delete_first)
    {
      sync_expect (f, A, 0);
      sync_expect (f, B, 3);
    }
  else
    {
      sync_expect (f, B, 0);
      sync_expect (f, A, 3);
    }

  conflicts = JSON (f, asked, "conflicts", "--json");
  g_assert_cmpuint (array_length (conflicts), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (array_object (conflicts, 0), "task_id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (array_object (conflicts, 0), "kind"), ==,
                   delete_first ? "edit-vs-delete" : "delete-vs-edit");
  {
    g_autoptr(JsonNode) other = JSON (f, asked == A ? B : A, "conflicts", "--json");

    g_assert_cmpuint (array_length (other), ==, 0);
  }

  /* Nothing is decided before the user answers: the server keeps what it
   * accepted first, and the asked device keeps showing its own version. */
  remote = server_get (f, path);
  g_assert_cmpuint (remote->status, ==, delete_first ? 410 : 200);
  {
    g_autoptr(JsonNode) task = show (f, asked, id);

    g_assert_cmpstr (str_member (task, "sync_status"), ==, "needs-review");
    g_assert_cmpint (bool_member (task, "deleted"), ==, !delete_first);
  }

  DO (f, asked, "resolve", id, "--take",
      (tc->variant == DELETE_FIRST_RESTORE || tc->variant == EDIT_FIRST_DELETE_ANYWAY) ? "local"
                                                                                      : "remote");
  {
    static const char *notes[] = {
      [DELETE_FIRST_RESTORE] = "restored the task",
      [DELETE_FIRST_DISCARD] = "discarded this device's changes",
      [EDIT_FIRST_DELETE_ANYWAY] = "deleted the task although",
      [EDIT_FIRST_KEEP] = "kept the task that was edited elsewhere",
    };

    assert_history_has (f, asked, id, "resolve", NULL, notes[tc->variant]);
  }
  sync_expect (f, asked, 0);
  sync_expect (f, asked == A ? B : A, 0);

  for (guint dev = A; dev <= B; dev++)
    {
      g_autoptr(JsonNode) task = show (f, dev, id);
      g_autoptr(JsonNode) live = JSON (f, dev, "list", "--json");

      g_assert_cmpint (bool_member (task, "deleted"), ==, !survives);
      g_assert_cmpuint (array_length (live), ==, survives ? 1 : 0);
      if (survives)
        {
          g_autofree char *tags = tags_of (task);
          JsonArray *comments = json_object_get_array_member (json_node_get_object (task),
                                                              "comments");

          /* restored with every edit of the editing device */
          g_assert_cmpstr (str_member (task, "title"), ==, "Renew passport (urgent)");
          g_assert_cmpstr (tags, ==, "admin,papers");
          g_assert_cmpuint (json_array_get_length (comments), ==, 1);
          g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (comments, 0),
                                                          "id"), ==, comment);
        }
    }
  g_clear_pointer (&remote, test_response_free);
  remote = server_get (f, path);
  g_assert_cmpuint (remote->status, ==, survives ? 200 : 410);
  assert_converged (f, 2);
  assert_newcomer_converges (f);
}

/* A delete reaches every device, a delete made twice is no question, and
 * nothing comes back however often everyone syncs. */
static void
test_delete_propagates (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *list = NULL;
  g_autofree char *t1 = NULL;
  g_autofree char *t2 = NULL;
  g_autofree char *t3 = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  for (guint dev = A; dev <= C; dev++)
    connect_device (f, dev, f->server->url, NULL);
  list = OK (f, A, "list-add", "Home");
  t1 = OK (f, A, "add", "Old task", "--list", list);
  t2 = OK (f, A, "add", "Deleted twice", "--list", list);
  t3 = OK (f, A, "add", "Stays", "--list", list);
  for (guint dev = A; dev <= C; dev++)
    sync_expect (f, dev, 0);

  /* A deletes t1; B and C, both offline, delete t2; C edits t3. */
  DO (f, A, "delete", t1);
  DO (f, B, "delete", t2);
  DO (f, C, "delete", t2);
  DO (f, C, "edit", t3, "--priority", "1");

  sync_expect (f, A, 0);
  sync_expect (f, B, 0);
  sync_expect (f, C, 0);
  sync_expect (f, A, 0);
  sync_expect (f, B, 0);

  for (guint dev = A; dev <= C; dev++)
    {
      g_autoptr(JsonNode) live = JSON (f, dev, "list", "--json");
      g_autoptr(JsonNode) gone = show (f, dev, t1);

      g_assert_cmpuint (array_length (live), ==, 1);
      g_assert_cmpstr (json_object_get_string_member (array_object (live, 0), "id"), ==, t3);
      g_assert_cmpstr (json_object_get_string_member (array_object (live, 0), "list_id"), ==, list);
      g_assert_true (bool_member (gone, "deleted"));
    }
  assert_history_has (f, C, t1, "remote", NULL, "deleted on another device");
  assert_converged (f, 3);

  /* More rounds change nothing: no resurrection, no new revision. */
  before = server_state (f, TRUE, FALSE);
  for (guint round = 0; round < 2; round++)
    for (guint dev = A; dev <= C; dev++)
      sync_expect (f, dev, 0);
  after = server_state (f, TRUE, FALSE);
  g_assert_cmpstr (before, ==, after);
  assert_converged (f, 3);
}

/* The ids of the live tasks on @dev, in the order the device shows them. */
static char *
shown_order (Fixture *f,
             guint    dev)
{
  g_autoptr(JsonNode) live = JSON (f, dev, "list", "--json");
  g_autoptr(GString) order = g_string_new (NULL);

  for (guint i = 0; i < array_length (live); i++)
    g_string_append_printf (order, "%s\n", json_object_get_string_member (array_object (live, i),
                                                                          "title"));
  return g_string_free (g_steal_pointer (&order), FALSE);
}

/* Reorders on two devices converge to one order and stay there. */
static void
test_reorder (Fixture       *f,
              gconstpointer  data)
{
  const Case *tc = data;
  guint first = tc->variant == 0 ? A : B;
  guint second = first == A ? B : A;
  g_autoptr(GPtrArray) t = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *order_a = NULL;
  g_autofree char *order_b = NULL;
  g_autofree char *state = NULL;
  g_autofree char *again = NULL;

  connect_pair (f);
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *title = g_strdup_printf ("Step %u", i + 1);

      g_ptr_array_add (t, OK (f, A, "add", title));
    }
  sync_expect (f, A, 0);
  sync_expect (f, B, 0);

  /* Different tasks moved, the same task moved to two places, and a new
   * task appended on each device (they may get the same key). */
  DO (f, A, "move", g_ptr_array_index (t, 3), "--before", g_ptr_array_index (t, 0));
  DO (f, B, "move", g_ptr_array_index (t, 0), "--after", g_ptr_array_index (t, 2));
  DO (f, A, "move", g_ptr_array_index (t, 1), "--after", g_ptr_array_index (t, 3));
  DO (f, B, "move", g_ptr_array_index (t, 1), "--before", g_ptr_array_index (t, 0));
  DO (f, A, "add", "Appended on A");
  DO (f, B, "add", "Appended on B");

  sync_expect (f, first, 0);
  sync_expect (f, second, 0);
  sync_expect (f, first, 0);

  order_a = shown_order (f, A);
  order_b = shown_order (f, B);
  g_assert_cmpstr (order_a, ==, order_b);
  assert_converged (f, 2);

  /* No oscillation: more syncs leave every position and revision alone. */
  state = server_state (f, FALSE, FALSE);
  for (guint round = 0; round < 2; round++)
    {
      sync_expect (f, second, 0);
      sync_expect (f, first, 0);
    }
  again = server_state (f, FALSE, FALSE);
  g_assert_cmpstr (state, ==, again);
  g_clear_pointer (&order_b, g_free);
  order_b = shown_order (f, B);
  g_assert_cmpstr (order_a, ==, order_b);

  assert_newcomer_converges (f);
  g_clear_pointer (&order_b, g_free);
  order_b = shown_order (f, C);
  g_assert_cmpstr (order_a, ==, order_b);
}

/* Network faults */

/* Makes @n tasks on @dev with two shells at once (one tandem-cli each). */
static void
add_many (Fixture *f,
          guint    dev,
          guint    n)
{
  static const char *script =
    "i=0; while [ $i -lt $COUNT ]; do "
    "  \"$TANDEM_CLI\" --db \"$DB\" add \"Offline task $PART-$i\" >/dev/null || exit 1; "
    "  i=$((i + 1)); "
    "done";
  GSubprocess *workers[2];
  g_autoptr(GError) error = NULL;

  for (guint w = 0; w < 2; w++)
    {
      g_autoptr(GSubprocessLauncher) launcher = cli_launcher ();
      g_autofree char *count = g_strdup_printf ("%u", n / 2 + (w == 0 ? n % 2 : 0));
      g_autofree char *part = g_strdup_printf ("%u", w);

      g_subprocess_launcher_setenv (launcher, "COUNT", count, TRUE);
      g_subprocess_launcher_setenv (launcher, "PART", part, TRUE);
      g_subprocess_launcher_setenv (launcher, "DB", f->db[dev], TRUE);
      g_subprocess_launcher_setenv (launcher, "TANDEM_CLI", cli_path (), TRUE);
      workers[w] = g_subprocess_launcher_spawn (launcher, &error, "/bin/sh", "-c", script, NULL);
      g_assert_no_error (error);
    }
  for (guint w = 0; w < 2; w++)
    {
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;

      g_subprocess_communicate_utf8 (workers[w], NULL, NULL, &out, &err, &error);
      g_assert_no_error (error);
      if (g_subprocess_get_exit_status (workers[w]) != 0)
        g_error ("making tasks failed: %s", err);
      g_object_unref (workers[w]);
    }
}

/* 1,000 changes made offline go out in a few batches and land once. */
static void
test_thousand_offline_ops (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(JsonNode) outbox = NULL;
  g_autoptr(JsonNode) stats = NULL;
  g_autoptr(GPtrArray) pushes = NULL;
  g_autoptr(GPtrArray) feed = NULL;
  g_autoptr(GHashTable) pushed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) titles = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *server = NULL;
  guint n_pushed = 0;

  start_proxy (f);
  connect_device (f, A, f->proxy_url, NULL);
  connect_device (f, B, f->server->url, NULL);

  /* One task synced before going offline: B then reads 1,001 changes,
   * more than one page. */
  DO (f, A, "add", "Synced before");
  sync_expect (f, A, 0);
  inject (f, "{\"reset\":true}");

  DO (f, A, "add", "Offline task first");
  add_many (f, A, 999);
  outbox = JSON (f, A, "outbox", "--json");
  g_assert_cmpuint (array_length (outbox), ==, 1000);

  sync_expect (f, A, 0);

  /* In batches (the engine sends up to 500 ops a request), each op once. */
  stats = proxy_stats (f);
  g_assert_cmpint (stats_in (stats, "forwarded_by_route", "POST /v1/sync/push"), >=, 2);
  g_assert_cmpint (stats_in (stats, "forwarded_by_route", "POST /v1/sync/push"), <=, 3);
  pushes = proxy_requests (f, "POST /v1/sync/push");
  for (guint i = 0; i < pushes->len; i++)
    {
      g_autoptr(GPtrArray) ids = pushed_op_ids (g_ptr_array_index (pushes, i));

      for (guint j = 0; j < ids->len; j++)
        {
          n_pushed++;
          if (!g_hash_table_add (pushed, g_strdup (g_ptr_array_index (ids, j))))
            g_error ("op %s was pushed twice", (char *) g_ptr_array_index (ids, j));
        }
    }
  g_assert_cmpuint (n_pushed, ==, 1000);

  /* The server holds each task once, written once. */
  feed = server_feed (f);
  g_assert_cmpuint (feed->len, ==, 1001);
  for (guint i = 0; i < feed->len; i++)
    {
      JsonNode *record = g_ptr_array_index (feed, i);

      g_assert_cmpint (int_member (record, "rev"), ==, 1);
      g_hash_table_add (titles, (gpointer) str_member (record, "title"));
    }
  g_assert_cmpuint (g_hash_table_size (titles), ==, 1001);

  sync_expect (f, B, 0);
  server = server_state (f, FALSE, FALSE);
  for (guint dev = A; dev <= B; dev++)
    {
      assert_settled (f, dev);
      assert_device_matches_server (f, dev, server, FALSE);
    }
}

/* Changes made on A for the fault cases: two new tasks, and on a synced
 * one an edit, a tag and a comment. Returns the synced task's id. */
static char *
offline_changes (Fixture *f)
{
  g_autofree char *id = OK (f, A, "add", "Synced before");

  sync_expect (f, A, 0);
  DO (f, A, "add", "New while offline", "--tag", "offline");
  DO (f, A, "add", "Another new one", "--priority", "3");
  DO (f, A, "edit", id, "--title", "Synced before, edited offline", "--due", "2032-02-29");
  DO (f, A, "tag", id, "+edited");
  DO (f, A, "comment", id, "Written without a network");
  /* The proxy counts from here. */
  if (f->proxy_url != NULL)
    inject (f, "{\"reset\":true}");
  return g_steal_pointer (&id);
}

/* Every op in @ids was applied exactly once by the server: one revision
 * in the history of @task for each of its ops. */
static void
assert_applied_once (Fixture    *f,
                     const char *task,
                     GPtrArray  *ids,
                     guint       expected_on_task)
{
  g_autoptr(JsonNode) history = server_history (f, task);
  guint found = 0;

  for (guint i = 0; i < ids->len; i++)
    {
      guint revs = server_revs_of_op (history, g_ptr_array_index (ids, i));

      g_assert_cmpuint (revs, <=, 1);
      found += revs;
    }
  g_assert_cmpuint (found, ==, expected_on_task);
}

/* The server fails twice with 500, then recovers: sync retries with backoff
 * and finishes within its bound. */
static void
test_server_errors_then_recovery (Fixture       *f,
                                  gconstpointer  data)
{
  g_autofree char *id = NULL;
  g_autoptr(GPtrArray) ids = NULL;
  g_autoptr(JsonNode) stats = NULL;
  g_autoptr(JsonNode) task = NULL;
  g_auto(Run) run = { 0 };

  start_proxy (f);
  connect_device (f, A, f->proxy_url, NULL);
  connect_device (f, B, f->server->url, NULL);
  id = offline_changes (f);
  ids = outbox_ids (f, A);
  g_assert_cmpuint (ids->len, ==, 5);

  inject (f, "{\"status\":500,\"count\":2}");
  sync_run (f, A, 0, &run);
  g_assert_cmpint (run.usec, <, 30 * G_USEC_PER_SEC);

  stats = proxy_stats (f);
  g_assert_cmpint (stats_in (stats, "injected_by_status", "500"), ==, 2);
  g_assert_cmpint (stats_in (stats, "forwarded_by_route", "POST /v1/sync/push"), ==, 1);
  assert_applied_once (f, id, ids, 3);

  task = show (f, A, id);
  g_assert_cmpstr (str_member (task, "title"), ==, "Synced before, edited offline");
  sync_expect (f, B, 0);
  assert_converged (f, 2);
}

/* A pull that fails on its second page keeps the first: the device asks
 * for the next page while it stores the one before, and a failure of that
 * request must not cost what already arrived (the engine stores the pages
 * read before it looks at an answer). The retry goes on from the stored
 * cursor and every task arrives once. */
static void
test_pull_fails_mid_feed (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(JsonNode) stats = NULL;
  g_autoptr(JsonNode) tasks = NULL;
  g_autoptr(GPtrArray) feed = NULL;
  g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);

  start_proxy (f);
  connect_device (f, A, f->server->url, NULL);
  connect_device (f, B, f->proxy_url, NULL);
  add_many (f, A, 2100);
  sync_expect (f, A, 0);

  inject (f, "{\"status\":500,\"count\":1,\"method\":\"GET\",\"path\":\"/v1/sync/changes\","
             "\"skip\":1}");
  sync_expect (f, B, 0);

  /* Pages of 1,000: the first, the second (refused once, then read), the
   * third. Starting over would read the first page again. */
  stats = proxy_stats (f);
  g_assert_cmpint (stats_in (stats, "injected_by_status", "500"), ==, 1);
  g_assert_cmpint (stats_in (stats, "forwarded_by_route", "GET /v1/sync/changes"), ==, 3);

  tasks = JSON (f, B, "list", "--json");
  g_assert_cmpuint (array_length (tasks), ==, 2100);
  for (guint i = 0; i < 2100; i++)
    g_assert_true (g_hash_table_add (ids, (gpointer) str_member (
                     json_array_get_element (json_node_get_array (tasks), i), "id")));
  feed = server_feed (f);
  g_assert_cmpuint (feed->len, ==, 2100);
  for (guint i = 0; i < feed->len; i++)
    g_assert_true (g_hash_table_contains (ids, str_member (g_ptr_array_index (feed, i), "id")));
}

/* An open conflict does not stop retries: the server fails twice while a
 * task waits for review, and sync still gets the other edit through before
 * it reports the conflict. */
static void
test_server_errors_with_open_conflict (Fixture       *f,
                                       gconstpointer  data)
{
  g_autofree char *shared = NULL;
  g_autofree char *other = NULL;
  g_autoptr(JsonNode) status = NULL;
  g_autoptr(JsonNode) stats = NULL;

  start_proxy (f);
  connect_device (f, A, f->proxy_url, NULL);
  connect_device (f, B, f->server->url, NULL);
  shared = OK (f, A, "add", "Shared title");
  other = OK (f, A, "add", "Other task");
  sync_expect (f, A, 0);
  sync_expect (f, B, 0);
  DO (f, B, "edit", shared, "--title", "Title from B");
  sync_expect (f, B, 0);
  DO (f, A, "edit", shared, "--title", "Title from A");
  sync_expect (f, A, 3);

  DO (f, A, "edit", other, "--notes", "Written while the server was failing");
  inject (f, "{\"status\":500,\"count\":2}");
  sync_expect (f, A, 3);

  stats = proxy_stats (f);
  g_assert_cmpint (stats_in (stats, "injected_by_status", "500"), ==, 2);
  status = JSON (f, A, "status", "--json");
  g_assert_cmpint (int_member (status, "conflicts"), ==, 1);
  sync_expect (f, B, 0);
  {
    g_autoptr(JsonNode) on_a = show (f, A, other);
    g_autoptr(JsonNode) on_b = show (f, B, other);

    g_assert_cmpstr (str_member (on_a, "sync_status"), ==, "synced");

    g_assert_cmpstr (str_member (on_b, "notes"), ==, "Written while the server was failing");
  }
}

/* A server that keeps failing and asks to come back much later: sync gives
 * up at once (exit 4, saying why) and keeps every change. */
static void
test_server_still_failing (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *id = NULL;
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(JsonNode) status = NULL;
  g_auto(Run) run = { 0 };

  start_proxy (f);
  connect_device (f, A, f->proxy_url, NULL);
  connect_device (f, B, f->server->url, NULL);
  id = offline_changes (f);
  before = outbox_ids (f, A);

  inject (f, "{\"status\":503,\"retry_after\":3600,\"count\":-1}");
  sync_run (f, A, 4, &run);
  g_assert_cmpint (run.usec, <, 20 * G_USEC_PER_SEC);
  g_assert_nonnull (strstr (run.err, "kept on this device"));
  g_assert_nonnull (strstr (run.err, "503"));

  after = outbox_ids (f, A);
  assert_same_ids (before, after);
  status = JSON (f, A, "status", "--json");
  g_assert_cmpint (int_member (status, "pending"), ==, before->len);
  g_assert_false (bool_member (status, "auth_paused"));

  /* The server is back: everything goes out. */
  inject (f, "{\"reset\":true}");
  sync_expect (f, A, 0);
  sync_expect (f, B, 0);
  assert_converged (f, 2);
}

/* 429 with Retry-After: 2 is waited out, then sync finishes. */
static void
test_rate_limited (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *id = NULL;
  g_autoptr(GPtrArray) ids = NULL;
  g_autoptr(JsonNode) stats = NULL;
  g_auto(Run) run = { 0 };

  start_proxy (f);
  connect_device (f, A, f->proxy_url, NULL);
  connect_device (f, B, f->server->url, NULL);
  id = offline_changes (f);
  ids = outbox_ids (f, A);

  inject (f, "{\"status\":429,\"retry_after\":2,\"count\":1}");
  sync_run (f, A, 0, &run);
  g_assert_cmpint (run.usec, >=, 1900 * 1000);
  g_assert_cmpint (run.usec, <, 30 * G_USEC_PER_SEC);

  stats = proxy_stats (f);
  g_assert_cmpint (stats_in (stats, "injected_by_status", "429"), ==, 1);
  g_assert_cmpint (stats_in (stats, "forwarded_by_route", "POST /v1/sync/push"), ==, 1);
  assert_applied_once (f, id, ids, 3);
  sync_expect (f, B, 0);
  assert_converged (f, 2);
}

/* A revoked token: sync pauses (exit 4, "sign in"), keeps the outbox and
 * says so in status; a new token resumes where it stopped. */
static void
test_token_revoked (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *old_token = test_server_token (f->server, "alice");
  g_autofree char *new_token = NULL;
  g_autofree char *id = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(JsonNode) status = NULL;
  g_autoptr(GSubprocess) revoke = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Run) run = { 0 };

  connect_device (f, A, f->server->url, old_token);
  connect_device (f, B, f->server->url, NULL);
  id = offline_changes (f);
  before = outbox_ids (f, A);

  revoke = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, g_getenv ("TANDEM_SERVER"), "token",
                             "revoke", f->server->database ? "--database" : "--data",
                             f->server->database ? f->server->database : f->server->data_dir,
                             "--token", old_token, NULL);
  g_assert_no_error (error);
  g_subprocess_wait_check (revoke, NULL, &error);
  g_assert_no_error (error);

  for (guint attempt = 0; attempt < 2; attempt++)
    {
      run_clear (&run);
      memset (&run, 0, sizeof run);
      sync_run (f, A, 4, &run);
      g_assert_nonnull (strstr (run.err, "sign in"));
      g_assert_cmpint (run.usec, <, 10 * G_USEC_PER_SEC);

      g_clear_pointer (&after, g_ptr_array_unref);
      after = outbox_ids (f, A);
      assert_same_ids (before, after);
      g_clear_pointer (&status, json_node_unref);
      status = JSON (f, A, "status", "--json");
      g_assert_true (bool_member (status, "auth_paused"));
      g_assert_cmpint (int_member (status, "pending"), ==, before->len);
    }
  text = OK (f, A, "status");
  g_assert_nonnull (strstr (text, "paused"));

  new_token = test_server_token (f->server, "alice");
  connect_device (f, A, f->server->url, new_token);
  sync_expect (f, A, 0);
  g_clear_pointer (&status, json_node_unref);
  status = JSON (f, A, "status", "--json");
  g_assert_false (bool_member (status, "auth_paused"));
  assert_applied_once (f, id, before, 3);
  sync_expect (f, B, 0);
  assert_converged (f, 2);
}

/* A 401 from the network path (here the proxy) pauses the same way; the
 * next sync that gets through resumes. */
static void
test_unauthorized_once (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *id = NULL;
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(JsonNode) status = NULL;
  g_auto(Run) run = { 0 };

  start_proxy (f);
  connect_device (f, A, f->proxy_url, NULL);
  connect_device (f, B, f->server->url, NULL);
  id = offline_changes (f);
  before = outbox_ids (f, A);

  inject (f, "{\"status\":401,\"count\":1}");
  sync_run (f, A, 4, &run);
  g_assert_nonnull (strstr (run.err, "sign in"));
  after = outbox_ids (f, A);
  assert_same_ids (before, after);
  status = JSON (f, A, "status", "--json");
  g_assert_true (bool_member (status, "auth_paused"));

  sync_expect (f, A, 0);
  sync_expect (f, B, 0);
  assert_converged (f, 2);
}

/* The server commits a push but the answer never arrives: sync sends the
 * very same ops again and nothing is applied twice. */
static void
test_response_lost_after_commit (Fixture       *f,
                                 gconstpointer  data)
{
  g_autofree char *id = NULL;
  g_autoptr(GPtrArray) ids = NULL;
  g_autoptr(GPtrArray) pushes = NULL;
  g_autoptr(JsonNode) stats = NULL;
  g_autoptr(GPtrArray) feed = NULL;
  g_auto(Run) run = { 0 };

  start_proxy (f);
  connect_device (f, A, f->proxy_url, NULL);
  connect_device (f, B, f->server->url, NULL);
  id = offline_changes (f);
  ids = outbox_ids (f, A);
  inject (f, "{\"drop_response\":1,\"count\":1,\"path\":\"/v1/sync/push\"}");
  /* and the answer of the first pull after it */
  inject (f, "{\"drop_response\":1,\"count\":1,\"path\":\"/v1/sync/changes\"}");
  sync_run (f, A, 0, &run);

  stats = proxy_stats (f);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (stats), "dropped_responses"),
                   ==, 2);

  /* The lost push and its retry carried the same ops, with the same ids. */
  pushes = proxy_requests (f, "POST /v1/sync/push");
  g_assert_cmpuint (pushes->len, >=, 2);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (g_ptr_array_index (pushes, 0)),
                                                  "action"), ==, "dropped_response");
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (g_ptr_array_index (pushes, 0)),
                                               "status"), ==, 200);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GPtrArray) sent = pushed_op_ids (g_ptr_array_index (pushes, i));

      assert_same_ids (ids, sent);
    }

  /* Each op took effect once: one revision each, one comment, each task
   * once. */
  assert_applied_once (f, id, ids, 3);
  feed = server_feed (f);
  g_assert_cmpuint (feed->len, ==, 3);
  for (guint i = 0; i < feed->len; i++)
    {
      JsonNode *record = g_ptr_array_index (feed, i);

      if (g_str_equal (str_member (record, "id"), id))
        {
          g_assert_cmpint (int_member (record, "rev"), ==, 4);
          g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                              json_node_get_object (record), "comments")), ==, 1);
        }
      else
        g_assert_cmpint (int_member (record, "rev"), ==, 1);
    }
  sync_expect (f, B, 0);
  assert_converged (f, 2);
}

/* 429 with Retry-After as an HTTP date two seconds ahead: waited out too. */
static void
test_rate_limited_until_date (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) later = g_date_time_add_seconds (now, 3);
  g_autofree char *date = g_date_time_format (later, "%a, %d %b %Y %H:%M:%S GMT");
  g_autofree char *fault = g_strdup_printf ("{\"status\":429,\"retry_after\":\"%s\",\"count\":1}",
                                            date);
  g_autofree char *id = NULL;
  g_autoptr(JsonNode) stats = NULL;
  g_auto(Run) run = { 0 };

  start_proxy (f);
  connect_device (f, A, f->proxy_url, NULL);
  connect_device (f, B, f->server->url, NULL);
  id = offline_changes (f);

  inject (f, fault);
  sync_run (f, A, 0, &run);
  /* the date has a one-second resolution */
  g_assert_cmpint (run.usec, >=, 1 * G_USEC_PER_SEC);
  g_assert_cmpint (run.usec, <, 30 * G_USEC_PER_SEC);
  stats = proxy_stats (f);
  g_assert_cmpint (stats_in (stats, "injected_by_status", "429"), ==, 1);
  g_assert_cmpint (stats_in (stats, "forwarded_by_route", "POST /v1/sync/push"), ==, 1);
  sync_expect (f, B, 0);
  assert_converged (f, 2);
}

/* A push refused as too large (413) is split and sent again in halves;
 * every op lands once. */
static void
test_push_too_large_is_split (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree char *id = NULL;
  g_autoptr(GPtrArray) ids = NULL;
  g_autoptr(GPtrArray) pushes = NULL;
  g_autoptr(GHashTable) sent = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  start_proxy (f);
  connect_device (f, A, f->proxy_url, NULL);
  connect_device (f, B, f->server->url, NULL);
  id = offline_changes (f);
  ids = outbox_ids (f, A);

  inject (f, "{\"status\":413,\"count\":1,\"path\":\"/v1/sync/push\"}");
  sync_expect (f, A, 0);

  /* The refused request, then halves that together carry every op once. */
  pushes = proxy_requests (f, "POST /v1/sync/push");
  g_assert_cmpuint (pushes->len, >=, 3);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (g_ptr_array_index (pushes, 0)),
                                                  "action"), ==, "injected");
  for (guint i = 1; i < pushes->len; i++)
    {
      g_autoptr(GPtrArray) batch = pushed_op_ids (g_ptr_array_index (pushes, i));

      g_assert_cmpuint (batch->len, <, ids->len);
      for (guint j = 0; j < batch->len; j++)
        if (!g_hash_table_add (sent, g_strdup (g_ptr_array_index (batch, j))))
          g_error ("op %s was sent twice after the split", (char *) g_ptr_array_index (batch, j));
    }
  g_assert_cmpuint (g_hash_table_size (sent), ==, ids->len);
  assert_applied_once (f, id, ids, 3);
  sync_expect (f, B, 0);
  assert_converged (f, 2);
}

/* The answer to a push that met a conflict is lost, and so is the answer
 * to the push of the resolution: the conflict is still found once, and the
 * resolution applied once. */
static void
test_response_lost_on_conflict (Fixture       *f,
                                gconstpointer  data)
{
  g_autofree char *id = NULL;
  g_autoptr(JsonNode) conflicts = NULL;
  g_autoptr(GPtrArray) resolution = NULL;
  g_autoptr(JsonNode) stats = NULL;

  start_proxy (f);
  connect_device (f, A, f->server->url, NULL);
  connect_device (f, B, f->proxy_url, NULL);
  id = shared_task (f, "Water the plants", NULL, NULL);
  DO (f, A, "edit", id, "--title", "Water the plants on the balcony");
  DO (f, B, "edit", id, "--title", "Water the plants in the kitchen");
  sync_expect (f, A, 0);

  inject (f, "{\"drop_response\":1,\"count\":1,\"path\":\"/v1/sync/push\"}");
  sync_expect (f, B, 3);
  conflicts = JSON (f, B, "conflicts", "--json");
  g_assert_cmpuint (array_length (conflicts), ==, 1);

  DO (f, B, "resolve", id, "--field", "title=value:Water the plants everywhere");
  resolution = outbox_ids (f, B);
  g_assert_cmpuint (resolution->len, ==, 1);
  inject (f, "{\"drop_response\":1,\"count\":1,\"path\":\"/v1/sync/push\"}");
  sync_expect (f, B, 0);
  stats = proxy_stats (f);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (stats), "dropped_responses"),
                   ==, 2);
  assert_applied_once (f, id, resolution, 1);

  sync_expect (f, A, 0);
  {
    g_autoptr(JsonNode) task = show (f, A, id);

    g_assert_cmpstr (str_member (task, "title"), ==, "Water the plants everywhere");
  }
  assert_converged (f, 2);
}

/* Waits until the server purged what @dev's cursor still needs, so that
 * the cursor answers 410. */
static void
wait_for_stale_cursor (Fixture *f,
                       guint    dev)
{
  g_autoptr(JsonNode) status = JSON (f, dev, "status", "--json");
  g_autofree char *path = g_strdup_printf ("/v1/sync/changes?since=%s",
                                           str_member (status, "cursor"));
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  guint answer;

  do
    {
      g_autoptr(TestResponse) response = server_get (f, path);

      answer = response->status;
      if (answer == 410)
        break;
      g_usleep (100 * 1000);
    }
  while (g_get_monotonic_time () < deadline);
  g_assert_cmpuint (answer, ==, 410);
}

/* B's cursor goes stale (A deleted a task and the server purged its
 * tombstone) while B has an offline edit: B reads everything again, keeps
 * and pushes its edit, forgets the purged task, and ends like the server. */
static void
test_stale_cursor (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *t1 = NULL;
  g_autofree char *t2 = NULL;
  g_autofree char *t3 = NULL;
  g_autofree char *server = NULL;
  g_autoptr(GPtrArray) pulls = NULL;
  g_autoptr(JsonNode) task = NULL;
  g_autoptr(JsonNode) live_a = NULL;
  g_autoptr(JsonNode) live_b = NULL;
  gboolean saw_gone = FALSE, saw_full_read = FALSE;

  start_proxy (f);
  connect_device (f, A, f->server->url, NULL);
  connect_device (f, B, f->proxy_url, NULL);
  t1 = OK (f, A, "add", "Deleted and purged");
  t2 = OK (f, A, "add", "Edited offline on B");
  t3 = OK (f, A, "add", "Untouched");
  sync_expect (f, A, 0);
  sync_expect (f, B, 0);

  DO (f, A, "delete", t1);
  sync_expect (f, A, 0);
  wait_for_stale_cursor (f, B);

  DO (f, B, "edit", t2, "--title", "Edited offline on B, after the purge");
  inject (f, "{\"reset\":true}");
  sync_expect (f, B, 0);

  /* B was told its cursor is gone and read everything from the start. */
  pulls = proxy_requests (f, "GET /v1/sync/changes");
  for (guint i = 0; i < pulls->len; i++)
    {
      JsonObject *entry = json_node_get_object (g_ptr_array_index (pulls, i));
      const char *query = json_object_get_string_member (entry, "query");

      if (json_object_get_int_member (entry, "status") == 410)
        saw_gone = TRUE;
      else if (saw_gone && (query == NULL || strstr (query, "since=") == NULL))
        saw_full_read = TRUE;
    }
  g_assert_true (saw_gone);
  g_assert_true (saw_full_read);

  /* The pending edit went out; the purged task is forgotten. */
  task = show (f, B, t2);
  g_assert_cmpstr (str_member (task, "title"), ==, "Edited offline on B, after the purge");
  {
    g_autofree char *path = g_strdup_printf ("/v1/tasks/%s", t2);
    g_autoptr(TestResponse) r = server_get (f, path);

    g_assert_cmpuint (r->status, ==, 200);
    g_assert_cmpstr (str_member (r->json, "title"), ==, "Edited offline on B, after the purge");
  }
  server = server_state (f, TRUE, TRUE);
  assert_settled (f, B);
  assert_device_matches_server (f, B, server, TRUE);

  /* A still sees the same live tasks as B. */
  sync_expect (f, A, 0);
  live_a = JSON (f, A, "list", "--json");
  live_b = JSON (f, B, "list", "--json");
  {
    g_autofree char *ta = test_to_json (live_a);
    g_autofree char *tb = test_to_json (live_b);

    g_assert_cmpstr (ta, ==, tb);
  }
  g_assert_cmpuint (array_length (live_b), ==, 2);
  g_clear_pointer (&task, json_node_unref);
  task = show (f, B, t3);
  g_assert_cmpstr (str_member (task, "title"), ==, "Untouched");
  g_assert_cmpstr (str_member (task, "sync_status"), ==, "synced");
}

/* B edited a task offline that A deleted and the server then purged: B's
 * edit is not dropped but asked about (edit vs delete), and restoring it
 * brings the task back everywhere. */
static void
test_edit_of_purged_task (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *t1 = NULL;
  g_autofree char *t2 = NULL;
  g_autoptr(JsonNode) conflicts = NULL;
  g_autoptr(JsonNode) task = NULL;

  connect_pair (f);
  t1 = OK (f, A, "add", "Deleted on A");
  t2 = OK (f, A, "add", "Untouched");
  sync_expect (f, A, 0);
  sync_expect (f, B, 0);

  DO (f, A, "delete", t1);
  sync_expect (f, A, 0);
  wait_for_stale_cursor (f, B);

  DO (f, B, "edit", t1, "--title", "Still needed, says B");
  sync_expect (f, B, 3);
  conflicts = JSON (f, B, "conflicts", "--json");
  g_assert_cmpuint (array_length (conflicts), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (array_object (conflicts, 0), "task_id"), ==, t1);
  g_assert_cmpstr (json_object_get_string_member (array_object (conflicts, 0), "kind"), ==,
                   "edit-vs-delete");
  task = show (f, B, t1);
  g_assert_cmpstr (str_member (task, "title"), ==, "Still needed, says B");

  DO (f, B, "resolve", t1, "--take", "local");
  sync_expect (f, B, 0);
  sync_expect (f, A, 0);
  for (guint dev = A; dev <= B; dev++)
    {
      g_clear_pointer (&task, json_node_unref);
      task = show (f, dev, t1);
      g_assert_false (bool_member (task, "deleted"));
      g_assert_cmpstr (str_member (task, "title"), ==, "Still needed, says B");
    }
  g_clear_pointer (&task, json_node_unref);
  task = show (f, B, t2);
  g_assert_cmpstr (str_member (task, "title"), ==, "Untouched");
  assert_converged (f, 2);
}

/* Exit statuses: 5 when the server refused changes (they stay, parked, with
 * its reason), 3 as long as a question is open, which wins over 5 and 4. */
static void
test_exit_statuses (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *crowded = NULL;
  g_autofree char *titled = NULL;
  g_autoptr(GPtrArray) add_a = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) add_b = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonNode) outbox = NULL;
  g_autoptr(JsonNode) status = NULL;
  g_autoptr(JsonNode) task = NULL;
  g_auto(Run) run = { 0 };
  guint parked = 0;

  start_proxy (f);
  connect_device (f, A, f->server->url, NULL);
  connect_device (f, B, f->proxy_url, NULL);
  crowded = OK (f, A, "add", "Crowded with tags");
  titled = OK (f, A, "add", "Title both change");
  sync_expect (f, A, 0);
  sync_expect (f, B, 0);

  /* 40 tags on each device: together more than the 64 a task may have. */
  g_ptr_array_add (add_a, g_strdup ("tag"));
  g_ptr_array_add (add_a, g_strdup (crowded));
  g_ptr_array_add (add_b, g_strdup ("tag"));
  g_ptr_array_add (add_b, g_strdup (crowded));
  for (guint i = 0; i < 40; i++)
    {
      g_ptr_array_add (add_a, g_strdup_printf ("+a%02u", i));
      g_ptr_array_add (add_b, g_strdup_printf ("+b%02u", i));
    }
  g_ptr_array_add (add_a, NULL);
  g_ptr_array_add (add_b, NULL);
  g_free (ok_cli (f, A, (const char *const *) add_a->pdata));
  g_free (ok_cli (f, B, (const char *const *) add_b->pdata));
  DO (f, A, "edit", titled, "--title", "Title from A");
  DO (f, B, "edit", titled, "--title", "Title from B");

  sync_expect (f, A, 0);

  /* B: a conflict and refused ops; the conflict is what the exit says. */
  sync_run (f, B, 3, &run);
  outbox = JSON (f, B, "outbox", "--json");
  for (guint i = 0; i < array_length (outbox); i++)
    {
      JsonObject *op = array_object (outbox, i);

      if (g_str_equal (json_object_get_string_member (op, "state"), "error"))
        {
          parked++;
          g_assert_true (json_object_has_member (op, "error"));
          g_assert_cmpstr (json_object_get_string_member (op, "error"), !=, "");
        }
    }
  g_assert_cmpuint (parked, ==, 16);
  status = JSON (f, B, "status", "--json");
  g_assert_cmpint (int_member (status, "parked"), ==, 16);
  g_assert_cmpint (int_member (status, "conflicts"), ==, 1);
  task = show (f, B, crowded);
  g_assert_cmpstr (str_member (task, "sync_status"), ==, "error");
  {
    g_autofree char *path = g_strdup_printf ("/v1/tasks/%s", crowded);
    g_autoptr(TestResponse) r = server_get (f, path);

    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                        json_node_get_object (r->json), "tags")), ==, 64);
  }

  /* The server failing for a long time does not hide the question. */
  inject (f, "{\"status\":503,\"retry_after\":3600,\"count\":-1}");
  run_clear (&run);
  memset (&run, 0, sizeof run);
  sync_run (f, B, 3, &run);
  g_assert_nonnull (strstr (run.err, "tandem-cli conflicts"));
  inject (f, "{\"reset\":true}");

  /* Answered: the parked ops remain, and say so. */
  DO (f, B, "resolve", titled, "--take", "local");
  run_clear (&run);
  memset (&run, 0, sizeof run);
  sync_run (f, B, 5, &run);
  g_assert_nonnull (strstr (run.err, "refused"));
  g_assert_nonnull (strstr (run.err, "tandem-cli outbox"));
  g_clear_pointer (&status, json_node_unref);
  status = JSON (f, B, "status", "--json");
  g_assert_cmpint (int_member (status, "parked"), ==, 16);
  g_assert_cmpint (int_member (status, "conflicts"), ==, 0);
  g_assert_cmpint (int_member (status, "pending"), ==, 0);
}

/* Pointing a device at another server keeps everything it has and sends it
 * there: nothing is forgotten when the new server answers 410 and the
 * device reads its (empty) feed. */
static void
test_move_to_another_server (Fixture       *f,
                             gconstpointer  data)
{
  g_autofree char *t1 = NULL;
  g_autofree char *t2 = NULL;
  g_autofree char *old_token = NULL;
  g_autoptr(TestServer) other = test_server_start (NULL, NULL);
  g_autofree char *other_token = test_server_token (other, "me");
  g_autoptr(JsonNode) before = NULL;
  g_autoptr(JsonNode) after = NULL;
  g_autoptr(GPtrArray) feed = NULL;
  g_autoptr(JsonNode) task = NULL;
  TestServer *first;

  connect_device (f, A, f->server->url, NULL);
  t1 = OK (f, A, "add", "Moves along", "--tag", "travel");
  t2 = OK (f, A, "add", "Also moves");
  DO (f, A, "comment", t1, "with its comment");
  sync_expect (f, A, 0);
  DO (f, A, "delete", t2);
  sync_expect (f, A, 0);
  before = JSON (f, A, "list", "--all", "--json");

  connect_device (f, A, other->url, other_token);
  after = JSON (f, A, "list", "--all", "--json");
  g_assert_cmpuint (array_length (after), ==, array_length (before));
  sync_expect (f, A, 0);
  g_clear_pointer (&after, json_node_unref);
  after = JSON (f, A, "list", "--all", "--json");
  g_assert_cmpuint (array_length (after), ==, 2);

  /* The new server has the live task with its tag and comment; the Trash
   * stayed on the device. */
  first = f->server;
  old_token = f->token;
  f->server = other;
  f->token = other_token;
  feed = server_feed (f);
  f->server = first;
  f->token = old_token;
  old_token = NULL;
  g_assert_cmpuint (feed->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (g_ptr_array_index (feed, 0)),
                                                  "id"), ==, t1);
  task = show (f, A, t1);
  g_assert_cmpstr (str_member (task, "sync_status"), ==, "synced");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (json_node_get_object (task),
                                                                         "comments")), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                      json_node_get_object (g_ptr_array_index (feed, 0)), "comments")), ==, 1);
  {
    g_autofree char *tags = tags_of (task);

    g_assert_cmpstr (tags, ==, "travel");
  }
}

/* The same server under another name (an alias, a new port forward) looks
 * like a move: nothing waiting on the device may be lost by it. A delete
 * not yet sent still lands, and an open conflict stays open for the user. */
static void
test_same_server_other_name (Fixture       *f,
                             gconstpointer  data)
{
  g_autofree char *gone = NULL;
  g_autofree char *both = NULL;
  g_autofree char *alias = NULL;
  g_autoptr(JsonNode) status = NULL;
  g_autoptr(GPtrArray) feed = NULL;
  gboolean deleted_seen = FALSE;

  g_assert_true (g_str_has_prefix (f->server->url, "http://127.0.0.1:"));
  alias = g_strconcat ("http://localhost:", f->server->url + strlen ("http://127.0.0.1:"), NULL);

  connect_device (f, A, f->server->url, NULL);
  connect_device (f, B, f->server->url, NULL);
  gone = OK (f, A, "add", "Pay rent");
  both = OK (f, A, "add", "Shared title");
  sync_expect (f, A, 0);
  sync_expect (f, B, 0);
  DO (f, B, "edit", both, "--title", "Title from B");
  sync_expect (f, B, 0);
  DO (f, A, "edit", both, "--title", "Title from A");
  sync_expect (f, A, 3);
  DO (f, A, "delete", gone);

  connect_device (f, A, alias, NULL);
  status = JSON (f, A, "status", "--json");
  g_assert_cmpint (int_member (status, "conflicts"), ==, 1);
  sync_expect (f, A, 3);

  feed = server_feed (f);
  for (guint i = 0; i < feed->len; i++)
    {
      JsonObject *record = json_node_get_object (g_ptr_array_index (feed, i));

      if (g_strcmp0 (json_object_get_string_member (record, "id"), gone) == 0)
        deleted_seen = json_object_get_boolean_member (record, "deleted");
    }
  g_assert_true (deleted_seen);

  DO (f, A, "resolve", both, "--take", "local");
  sync_expect (f, A, 0);
  sync_expect (f, B, 0);
  {
    g_autoptr(JsonNode) on_b = show (f, B, both);

    g_assert_cmpstr (str_member (on_b, "title"), ==, "Title from A");
  }
}

int
main (int    argc,
      char **argv)
{
  static const char *purging[] = { "--retention-days", "0", "--purge-interval", "1", NULL };
  static const Case a_first = { NULL, 0 }, b_first = { NULL, 1 };
  static const Case titles[] = {
    { NULL, TITLE_A_FIRST_TAKE_LOCAL },
    { NULL, TITLE_B_FIRST_WRITE_MERGED },
    { NULL, TITLE_B_FIRST_TAKE_REMOTE },
  };
  static const Case deletes[] = {
    { NULL, DELETE_FIRST_RESTORE },
    { NULL, DELETE_FIRST_DISCARD },
    { NULL, EDIT_FIRST_DELETE_ANYWAY },
    { NULL, EDIT_FIRST_KEEP },
  };
  static const Case purge = { purging, 0 };

  g_test_init (&argc, &argv, NULL);

#define ADD(name, tc, func) \
  g_test_add (name, Fixture, tc, fixture_setup, func, fixture_teardown)

  ADD ("/sync/different-fields/a-first", &a_first, test_different_fields);
  ADD ("/sync/account/move-to-another-server", &a_first, test_move_to_another_server);
  ADD ("/sync/account/same-server-other-name", &a_first, test_same_server_other_name);
  ADD ("/sync/different-fields/b-first", &b_first, test_different_fields);
  ADD ("/sync/same-title/a-first/take-local", &titles[0], test_same_title);
  ADD ("/sync/same-title/b-first/write-merged", &titles[1], test_same_title);
  ADD ("/sync/same-title/b-first/take-remote", &titles[2], test_same_title);
  ADD ("/sync/same-title/same-value", &a_first, test_same_title_same_value);
  ADD ("/sync/same-title/remote-moves-on", &a_first, test_same_title_remote_moves_on);
  ADD ("/sync/same-title/notes-merge-meanwhile", &a_first, test_title_asks_notes_merge);
  ADD ("/sync/same-title/per-field-choice", &a_first, test_per_field_choice);
  ADD ("/sync/notes/separate-paragraphs/a-first", &a_first, test_notes_merge);
  ADD ("/sync/notes/separate-paragraphs/b-first", &b_first, test_notes_merge);
  ADD ("/sync/notes/same-line/a-first", &a_first, test_notes_same_line);
  ADD ("/sync/notes/same-line/b-first", &b_first, test_notes_same_line);
  ADD ("/sync/tags/a-first", &a_first, test_tags);
  ADD ("/sync/tags/b-first", &b_first, test_tags);
  ADD ("/sync/comments/a-first", &a_first, test_comments);
  ADD ("/sync/comments/b-first", &b_first, test_comments);
  ADD ("/sync/edit-vs-delete/delete-first/restore", &deletes[0], test_edit_vs_delete);
  ADD ("/sync/edit-vs-delete/delete-first/discard", &deletes[1], test_edit_vs_delete);
  ADD ("/sync/edit-vs-delete/edit-first/delete-anyway", &deletes[2], test_edit_vs_delete);
  ADD ("/sync/edit-vs-delete/edit-first/keep", &deletes[3], test_edit_vs_delete);
  ADD ("/sync/delete/propagates-never-resurrects", &a_first, test_delete_propagates);
  ADD ("/sync/reorder/a-first", &a_first, test_reorder);
  ADD ("/sync/reorder/b-first", &b_first, test_reorder);
  ADD ("/sync/batch/thousand-offline-ops", &a_first, test_thousand_offline_ops);
  ADD ("/sync/faults/500-then-recovery", &a_first, test_server_errors_then_recovery);
  ADD ("/sync/faults/still-failing", &a_first, test_server_still_failing);
  ADD ("/sync/faults/500-with-open-conflict", &a_first, test_server_errors_with_open_conflict);
  ADD ("/sync/faults/pull-fails-mid-feed", &a_first, test_pull_fails_mid_feed);
  ADD ("/sync/faults/429-retry-after", &a_first, test_rate_limited);
  ADD ("/sync/faults/429-retry-after-date", &a_first, test_rate_limited_until_date);
  ADD ("/sync/faults/413-split", &a_first, test_push_too_large_is_split);
  ADD ("/sync/faults/401-token-revoked", &a_first, test_token_revoked);
  ADD ("/sync/faults/401-once", &a_first, test_unauthorized_once);
  ADD ("/sync/faults/response-lost-after-commit", &a_first, test_response_lost_after_commit);
  ADD ("/sync/faults/response-lost-on-conflict", &a_first, test_response_lost_on_conflict);
  ADD ("/sync/stale-cursor/full-resync", &purge, test_stale_cursor);
  ADD ("/sync/stale-cursor/edit-of-purged-task", &purge, test_edit_of_purged_task);
  ADD ("/sync/exit-statuses", &a_first, test_exit_statuses);

  return g_test_run ();
}
