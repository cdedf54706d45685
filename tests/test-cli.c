/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "test-run.h"

/* tandem-cli end to end: the real binary on a real database, as people and
 * scripts use it. */

typedef struct
{
  char *dir;
  char *db;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->dir = g_dir_make_tmp ("tandem-cli-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->db = g_build_filename (f->dir, "tasks.db", NULL);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GFile) dir = g_file_new_for_path (f->dir);
  g_autoptr(GFileEnumerator) children = g_file_enumerate_children (dir, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                                                    G_FILE_QUERY_INFO_NONE, NULL, NULL);
  GFileInfo *info;

  while (children && (info = g_file_enumerator_next_file (children, NULL, NULL)))
    {
      g_autoptr(GFile) child = g_file_get_child (dir, g_file_info_get_name (info));

      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        {
          /* one level is all the tests make */
          g_autoptr(GFileEnumerator) inner = g_file_enumerate_children (
            child, G_FILE_ATTRIBUTE_STANDARD_NAME, G_FILE_QUERY_INFO_NONE, NULL, NULL);
          GFileInfo *inner_info;

          while (inner && (inner_info = g_file_enumerator_next_file (inner, NULL, NULL)))
            {
              g_autoptr(GFile) grandchild = g_file_get_child (child, g_file_info_get_name (inner_info));

              g_file_delete (grandchild, NULL, NULL);
              g_object_unref (inner_info);
            }
        }
      g_file_delete (child, NULL, NULL);
      g_object_unref (info);
    }
  g_file_delete (dir, NULL, NULL);
  g_free (f->db);
  g_free (f->dir);
}

static const char *
cli_path (void)
{
  const char *path = g_getenv ("TANDEM_CLI");

  g_assert_nonnull (path);
  return path;
}

/* Runs tandem-cli with @argv (NULL-terminated), --db pointing at the
 * fixture's database unless @db is NULL. */
static void
run_argv (Fixture           *f,
          const char        *db,
          const char *const *env,
          const char *const *argv,
          Run               *run)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                       G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) args = g_ptr_array_new ();

  g_subprocess_launcher_unsetenv (launcher, "TANDEM_DB");
  for (guint i = 0; env != NULL && env[i] != NULL; i += 2)
    g_subprocess_launcher_setenv (launcher, env[i], env[i + 1], TRUE);

  g_ptr_array_add (args, (char *) cli_path ());
  if (db != NULL)
    {
      g_ptr_array_add (args, "--db");
      g_ptr_array_add (args, (char *) db);
    }
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (char *) argv[i]);
  g_ptr_array_add (args, NULL);
  run_spawn (launcher, (const char *const *) args->pdata, run);
}

#define cli(f, run, ...) \
  run_argv ((f), (f)->db, NULL, (const char *const[]) { __VA_ARGS__, NULL }, (run))

/* Runs a command that must succeed and returns its stdout, trimmed. */
static char *
ok (Fixture           *f,
    const char *const *argv)
{
  g_auto(Run) run = { 0 };

  run_argv (f, f->db, NULL, argv, &run);
  if (run.status != 0)
    g_error ("tandem-cli %s failed (%d): %s", argv[0], run.status, run.err);
  g_assert_cmpstr (run.err, ==, "");
  return g_strstrip (g_steal_pointer (&run.out));
}

#define OK(f, ...) ok ((f), (const char *const[]) { __VA_ARGS__, NULL })

static JsonNode *
parse (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

static JsonNode *
ok_json (Fixture           *f,
         const char *const *argv)
{
  g_autofree char *out = ok (f, argv);

  return parse (out);
}

#define OK_JSON(f, ...) ok_json ((f), (const char *const[]) { __VA_ARGS__, NULL })

static JsonObject *
find_task (JsonNode   *list,
           const char *id)
{
  JsonArray *array = json_node_get_array (list);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *task = json_array_get_object_element (array, i);

      if (g_strcmp0 (json_object_get_string_member (task, "id"), id) == 0)
        return task;
    }
  return NULL;
}

static void
test_add_list_show (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *id = OK (f, "add", "Buy milk", "--due", "2026-12-01", "--priority", "2",
                            "--tag", "home", "--tag", "errands", "--notes", "Oat, not cow");
  g_autoptr(JsonNode) list = NULL;
  g_autoptr(JsonNode) shown = NULL;
  g_autofree char *text = NULL;
  JsonObject *task;
  JsonArray *tags;
  static const char *keys[] = { "id", "list_id", "title", "notes", "done", "due", "priority",
                                "position", "tags", "rev", "sync_status", "deleted" };

  g_assert_true (g_uuid_string_is_valid (id));

  list = OK_JSON (f, "list", "--json");
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 1);
  task = find_task (list, id);
  g_assert_nonnull (task);
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    g_assert_true (json_object_has_member (task, keys[i]));
  g_assert_cmpstr (json_object_get_string_member (task, "title"), ==, "Buy milk");
  g_assert_cmpstr (json_object_get_string_member (task, "notes"), ==, "Oat, not cow");
  g_assert_cmpstr (json_object_get_string_member (task, "due"), ==, "2026-12-01");
  g_assert_cmpint (json_object_get_int_member (task, "priority"), ==, 2);
  g_assert_false (json_object_get_boolean_member (task, "done"));
  g_assert_false (json_object_get_boolean_member (task, "deleted"));
  g_assert_cmpstr (json_object_get_string_member (task, "sync_status"), ==, "pending");
  g_assert_cmpint (json_object_get_int_member (task, "rev"), ==, 0);
  g_assert_true (json_object_get_null_member (task, "list_id"));
  tags = json_object_get_array_member (task, "tags");
  g_assert_cmpuint (json_array_get_length (tags), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (tags, 0), ==, "errands");
  g_assert_cmpstr (json_array_get_string_element (tags, 1), ==, "home");

  shown = OK_JSON (f, "show", id, "--json");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (shown), "id"), ==, id);

  text = OK (f, "list");
  g_assert_nonnull (strstr (text, id));
  g_assert_nonnull (strstr (text, "Buy milk"));
  g_assert_nonnull (strstr (text, "due 2026-12-01"));
  g_assert_nonnull (strstr (text, "#errands #home"));
}

static void
test_edit_tag_comment (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *id = OK (f, "add", "Report", "--due", "2026-12-01");
  g_autofree char *prefix = g_strndup (id, 6);
  g_autofree char *out = NULL;
  g_autofree char *comment_id = NULL;
  g_autoptr(JsonNode) shown = NULL;
  JsonObject *task;
  JsonArray *comments;

  out = OK (f, "edit", prefix, "--title", "Quarterly report", "--notes", "one\ntwo", "--no-due",
            "--priority", "3", "--done");
  g_assert_cmpstr (out, ==, "");
  g_clear_pointer (&out, g_free);
  out = OK (f, "tag", id, "+work", "+q4", "-missing");
  g_clear_pointer (&out, g_free);
  out = OK (f, "tag", id, "-q4");
  comment_id = OK (f, "comment", id, "Sent to Ana");
  g_assert_true (g_uuid_string_is_valid (comment_id));

  shown = OK_JSON (f, "show", id, "--json");
  task = json_node_get_object (shown);
  g_assert_cmpstr (json_object_get_string_member (task, "title"), ==, "Quarterly report");
  g_assert_cmpstr (json_object_get_string_member (task, "notes"), ==, "one\ntwo");
  g_assert_true (json_object_get_null_member (task, "due"));
  g_assert_cmpint (json_object_get_int_member (task, "priority"), ==, 3);
  g_assert_true (json_object_get_boolean_member (task, "done"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (task, "tags")), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (task, "tags"), 0),
                   ==, "work");
  comments = json_object_get_array_member (task, "comments");
  g_assert_cmpuint (json_array_get_length (comments), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (comments, 0), "body"),
                   ==, "Sent to Ana");

  g_clear_pointer (&out, g_free);
  out = OK (f, "edit", id, "--undone");
  g_clear_pointer (&shown, json_node_unref);
  shown = OK_JSON (f, "show", id, "--json");
  g_assert_false (json_object_get_boolean_member (json_node_get_object (shown), "done"));
}

static void
test_delete_restore (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *id = OK (f, "add", "Old idea");
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) live = NULL;
  g_autoptr(JsonNode) all = NULL;
  g_autoptr(JsonNode) restored = NULL;

  out = OK (f, "delete", id);
  live = OK_JSON (f, "list", "--json");
  g_assert_null (find_task (live, id));
  all = OK_JSON (f, "list", "--all", "--json");
  g_assert_nonnull (find_task (all, id));
  g_assert_true (json_object_get_boolean_member (find_task (all, id), "deleted"));

  g_clear_pointer (&out, g_free);
  out = OK (f, "restore", id);
  restored = OK_JSON (f, "list", "--json");
  g_assert_nonnull (find_task (restored, id));
  g_assert_false (json_object_get_boolean_member (find_task (restored, id), "deleted"));
}

static void
test_move_and_lists (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *a = OK (f, "add", "A");
  g_autofree char *b = OK (f, "add", "B");
  g_autofree char *c = OK (f, "add", "C");
  g_autofree char *list_id = OK (f, "list-add", "Work");
  g_autofree char *w = NULL;
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) tasks = NULL;
  g_autoptr(JsonNode) lists = NULL;
  JsonArray *array;

  out = OK (f, "move", c, "--before", a);
  g_clear_pointer (&out, g_free);
  out = OK (f, "move", a, "--after", b);
  tasks = OK_JSON (f, "list", "--json");
  array = json_node_get_array (tasks);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (array, 0), "id"), ==, c);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (array, 1), "id"), ==, b);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (array, 2), "id"), ==, a);

  lists = OK_JSON (f, "lists", "--json");
  g_assert_cmpuint (json_array_get_length (json_node_get_array (lists)), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (json_node_get_array (lists), 0),
                                                  "name"), ==, "Work");

  w = OK (f, "add", "In Work", "--list", list_id);
  g_clear_pointer (&tasks, json_node_unref);
  tasks = OK_JSON (f, "show", w, "--json");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (tasks), "list_id"), ==, list_id);

  /* A list id may be shortened like a task id, in either case. */
  {
    g_autofree char *prefix = g_ascii_strup (list_id, 8);
    g_autofree char *short_w = OK (f, "add", "Also in Work", "--list", prefix);

    g_clear_pointer (&tasks, json_node_unref);
    tasks = OK_JSON (f, "show", short_w, "--json");
    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (tasks), "list_id"), ==,
                     list_id);
  }
}

static void
test_outbox_and_history (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *id = OK (f, "add", "Ship it", "--tag", "release", "--priority", "1");
  g_autoptr(JsonNode) ops = NULL;
  g_autoptr(JsonNode) history = NULL;
  JsonObject *op, *patch;
  JsonArray *entries;
  static const char *keys[] = { "op_id", "entity", "entity_id", "kind", "base_rev", "patch", "base" };
  static const char *fields[] = { "title", "notes", "done", "due", "priority", "list_id",
                                  "position", "tags" };

  ops = OK_JSON (f, "outbox", "--json");
  g_assert_cmpuint (json_array_get_length (json_node_get_array (ops)), ==, 1);
  op = json_array_get_object_element (json_node_get_array (ops), 0);
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    g_assert_true (json_object_has_member (op, keys[i]));
  g_assert_cmpstr (json_object_get_string_member (op, "kind"), ==, "create");
  g_assert_cmpstr (json_object_get_string_member (op, "entity"), ==, "task");
  g_assert_cmpstr (json_object_get_string_member (op, "entity_id"), ==, id);
  g_assert_cmpint (json_object_get_int_member (op, "base_rev"), ==, 0);
  /* A create is one op holding every initial field, tags included. */
  patch = json_object_get_object_member (op, "patch");
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    g_assert_true (json_object_has_member (patch, fields[i]));
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (patch, "tags"), 0),
                   ==, "release");

  {
    g_autofree char *out = OK (f, "edit", id, "--title", "Ship it now");
  }
  history = OK_JSON (f, "history", id, "--json");
  entries = json_node_get_array (history);
  g_assert_cmpuint (json_array_get_length (entries), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (entries, 1), "field"),
                   ==, "title");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (entries, 1), "old"),
                   ==, "Ship it");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (entries, 1), "new"),
                   ==, "Ship it now");
}

static void
test_default_database_path (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *env_db = g_build_filename (f->dir, "from-env.db", NULL);
  g_autofree char *xdg_db = g_build_filename (f->dir, "tandem", "tandem.db", NULL);
  const char *env[] = { "TANDEM_DB", env_db, NULL };
  const char *xdg[] = { "XDG_DATA_HOME", f->dir, NULL };
  g_auto(Run) a = { 0 };
  g_auto(Run) b = { 0 };

  run_argv (f, NULL, env, (const char *const[]) { "add", "Via env", NULL }, &a);
  g_assert_cmpint (a.status, ==, 0);
  g_assert_true (g_file_test (env_db, G_FILE_TEST_EXISTS));

  run_argv (f, NULL, xdg, (const char *const[]) { "add", "Via XDG", NULL }, &b);
  g_assert_cmpint (b.status, ==, 0);
  g_assert_true (g_file_test (xdg_db, G_FILE_TEST_EXISTS));
}

/* Everything a database holds that a command could change. */
static char *
snapshot (Fixture *f)
{
  g_autofree char *tasks = OK (f, "list", "--all", "--json");
  g_autofree char *ops = OK (f, "outbox", "--json");
  g_autofree char *lists = OK (f, "lists", "--json");

  return g_strconcat (tasks, ops, lists, NULL);
}

typedef struct
{
  const char *argv[12];
  const char *phrase;   /* what the one line on stderr must say */
} BadInput;

static void
test_bad_input (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *id = OK (f, "add", "Keep me", "--due", "2026-12-01");
  g_autofree char *gone = OK (f, "add", "Gone");
  g_autofree char *out = OK (f, "delete", gone);
  g_autofree char *before = NULL;
  const char *unknown = "0b6f4c52-1f0e-4d7a-9a55-2f7c1e8b3d10";
  const BadInput cases[] = {
    { { "show", unknown }, "no task" },
    { { "edit", unknown, "--title", "x" }, "no task" },
    { { "delete", unknown }, "no task" },
    { { "tag", unknown, "+x" }, "no task" },
    { { "comment", unknown, "hi" }, "no task" },
    { { "history", unknown }, "no task" },
    { { "move", id, "--before", unknown }, "no task" },
    { { "show", "nope" }, "not a task id" },
    { { "add", "x", "--due", "2026-02-30" }, "2026-02-30" },
    { { "add", "x", "--due", "tomorrow" }, "YYYY-MM-DD" },
    { { "edit", id, "--due", "2026-13-01" }, "2026-13-01" },
    { { "add", "x", "--priority", "7" }, "priority 7" },
    { { "add", "x", "--priority", "high" }, "not a number" },
    { { "edit", id, "--priority", "-1" }, "priority -1" },
    { { "add", "" }, "title" },
    { { "add", "   " }, "title" },
    { { "edit", id, "--title", "" }, "title" },
    { { "add", "x", "--color", "red" }, "unknown option “--color”" },
    { { "list", "-x" }, "unknown option “-x”" },
    { { "frobnicate" }, "unknown command" },
    { { "add" }, "wrong number of arguments" },
    { { "show", id, "extra" }, "wrong number of arguments" },
    { { "add", "x", "--due" }, "needs a value" },
    { { "add", "x", "--notes", "a", "--notes", "b" }, "more than once" },
    { { "edit", id }, "nothing to change" },
    { { "edit", id, "--due", "2026-12-02", "--no-due" }, "either --due or --no-due" },
    { { "edit", id, "--done", "--undone" }, "either --done or --undone" },
    { { "tag", id, "work" }, "must start with +" },
    { { "tag", id, "+two words" }, "space" },
    { { "tag", id, "+" }, "empty" },
    { { "move", id }, "exactly one" },
    { { "move", id, "--before", id }, "itself" },
    { { "list-add", "" }, "list name" },
    { { "comment", id, " " }, "comment is empty" },
    { { "add", "x", "--list", unknown }, "no list" },
    { { "add", "x", "--list", "Work" }, "not a list id" },
    { { "add", "x", "--list", "abc" }, "not a list id" },
    { { "edit", gone, "--title", "Back?" }, "Trash" },
    { { "delete", gone }, "already in the Trash" },
    { { "restore", id }, "not in the Trash" },
  };

  before = snapshot (f);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(Run) run = { 0 };
      g_autofree char *after = NULL;
      g_autofree char *joined = g_strjoinv (" ", (char **) cases[i].argv);
      const char *newline;

      g_test_message ("tandem-cli %s", joined);
      run_argv (f, f->db, NULL, cases[i].argv, &run);
      g_assert_cmpint (run.status, ==, 2);
      g_assert_cmpstr (run.out, ==, "");
      /* one line, that says what is wrong */
      g_assert_true (g_str_has_prefix (run.err, "tandem-cli: "));
      newline = strchr (run.err, '\n');
      g_assert_nonnull (newline);
      g_assert_cmpstr (newline + 1, ==, "");
      if (strstr (run.err, cases[i].phrase) == NULL)
        g_error ("“%s” answered “%s”, expected it to mention “%s”", joined, run.err, cases[i].phrase);

      after = snapshot (f);
      g_assert_cmpstr (after, ==, before);
    }
}

/* After "--" everything is the command's: a title may look like an option,
 * even like the global --db. */
static void
test_double_dash (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *id = OK (f, "add", "--", "--db");
  g_autoptr(JsonNode) shown = OK_JSON (f, "show", id, "--json");

  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (shown), "title"), ==,
                   "--db");
}

/* Bad input on a database that does not exist yet leaves no file behind;
 * good input then creates it as usual. */
static void
test_bad_input_creates_nothing (Fixture       *f,
                                gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "fresh.db", NULL);
  const char *const bad[][5] = {
    { "add", "x", "--priority", "7" },
    { "add", "x", "--due", "2026-02-30" },
    { "show", "0b6f4c52-1f0e-4d7a-9a55-2f7c1e8b3d10", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_auto(Run) run = { 0 };
      g_autofree char *wal = g_strconcat (path, "-wal", NULL);

      run_argv (f, path, NULL, bad[i], &run);
      g_assert_cmpint (run.status, ==, 2);
      g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
      g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
    }

  {
    g_auto(Run) run = { 0 };

    run_argv (f, path, NULL, (const char *const[]) { "add", "Now it exists", NULL }, &run);
    g_assert_cmpint (run.status, ==, 0);
    g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  }
}

static void
test_unusable_database (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "notes.txt", NULL);
  g_autofree char *contents = NULL;
  g_auto(Run) run = { 0 };
  const char *text = "Not a database, but precious.\n";

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  run_argv (f, path, NULL, (const char *const[]) { "list", NULL }, &run);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "not a Tandem database"));
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, text);
}

static void
test_help_and_version (Fixture       *f,
                       gconstpointer  data)
{
  g_auto(Run) help = { 0 };
  g_auto(Run) version = { 0 };
  g_auto(Run) nothing = { 0 };

  cli (f, &help, "--help");
  g_assert_cmpint (help.status, ==, 0);
  g_assert_nonnull (strstr (help.out, "add TITLE"));
  g_assert_nonnull (strstr (help.out, "--db PATH"));
  cli (f, &version, "--version");
  g_assert_cmpint (version.status, ==, 0);
  g_assert_true (g_str_has_prefix (version.out, "tandem-cli " PACKAGE_VERSION));
  run_argv (f, f->db, NULL, (const char *const[]) { NULL }, &nothing);
  g_assert_cmpint (nothing.status, ==, 2);
  g_assert_nonnull (strstr (nothing.err, "Usage"));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/cli/add-list-show", test_add_list_show);
  ADD ("/cli/edit-tag-comment", test_edit_tag_comment);
  ADD ("/cli/delete-restore", test_delete_restore);
  ADD ("/cli/move-and-lists", test_move_and_lists);
  ADD ("/cli/outbox-and-history", test_outbox_and_history);
  ADD ("/cli/default-database-path", test_default_database_path);
  ADD ("/cli/bad-input", test_bad_input);
  ADD ("/cli/bad-input-creates-nothing", test_bad_input_creates_nothing);
  ADD ("/cli/double-dash", test_double_dash);
  ADD ("/cli/unusable-database", test_unusable_database);
  ADD ("/cli/help-and-version", test_help_and_version);

  return g_test_run ();
}
