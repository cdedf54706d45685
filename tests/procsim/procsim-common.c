/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-procsim"

#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "procsim-common.h"

#define TRACE_MAX 400
#define QUIESCE_ROUNDS 12

/* One thing a device was told was done, that must survive: a field set to
 * a value, a tag added, a comment written. */
typedef struct
{
  guint64   seq;
  guint     dev;
  char     *task;
  char     *field;      /* title, notes, done, due, priority, tag, comment */
  JsonNode *value;
} PsEdit;

typedef struct
{
  char      *id;
  guint      creator;
  JsonObject *initial;  /* the fields it was created with */
  guint64    last_delete;    /* seq of the last delete reported done, 0: none */
  guint64    last_undelete;  /* seq of the last restore (or kept-on-conflict) */
} PsTask;

typedef struct
{
  guint64 seq;
  int     status;
} PsSyncMark;

typedef struct
{
  char   *db;
  char    name[8];
  GArray *syncs;        /* PsSyncMark: every sync that ran to its end */
} PsDevice;

struct _PsWorld
{
  char        *name;
  guint32      seed;
  GRand       *rand;
  char        *dir;          /* devices' databases (tmpfs when there is one) */
  char        *disk_dir;     /* one device's database on the disk */
  char        *server_dir;
  guint        port;
  char        *server_url;
  GSubprocess *server;
  TestProxy   *proxy;
  SoupSession *session;
  char        *token;
  GPtrArray   *old_tokens;
  GPtrArray   *devices;      /* PsDevice * */
  GQueue       trace;
  guint64      seq;
  guint        counter;      /* makes every written value unique */
  GPtrArray   *edits;        /* PsEdit * */
  GHashTable  *tasks;        /* id -> PsTask * */
  PsCounts     counts;
};

/* Trace and failure */

void
ps_trace (PsWorld    *world,
          const char *format,
          ...)
{
  va_list args;
  char *line;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  g_queue_push_tail (&world->trace, g_strdup_printf ("%6" G_GUINT64_FORMAT " %s", world->seq, line));
  g_free (line);
  while (world->trace.length > TRACE_MAX)
    g_free (g_queue_pop_head (&world->trace));
  if (g_getenv ("PROCSIM_VERBOSE"))
    g_printerr ("%s\n", (char *) world->trace.tail->data);
}

void
ps_fail (PsWorld    *world,
         const char *format,
         ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("\n=== %s failed with seed %u (rerun: PROCSIM_SEED=%u) ===\n", world->name,
              world->seed, world->seed);
  g_printerr ("--- the last %u events ---\n", world->trace.length);
  for (GList *l = world->trace.head; l != NULL; l = l->next)
    g_printerr ("%s\n", (char *) l->data);
  g_printerr ("--- server data: %s ---\n", world->server_dir);
  g_error ("%s [seed %u]", message, world->seed);
}

void
ps_run_clear (PsRun *run)
{
  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
}

static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* The server, on one port for its whole life so that the proxy's upstream
 * stays right across restarts. */

static const char *
env_path (const char *name)
{
  const char *path = g_getenv (name);

  if (path == NULL || *path == '\0')
    g_error ("$%s is not set (run through meson test)", name);
  return path;
}

static gboolean
try_start_server (PsWorld *world)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", world->port);
  g_autofree char *log = g_build_filename (world->server_dir, "server.log", NULL);
  g_autofree char *line = NULL;

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  /* Appended to, so a restart keeps what the last run said. */
  {
    int fd = g_open (log, O_WRONLY | O_CREAT | O_APPEND, 0600);

    g_assert_cmpint (fd, >=, 0);
    g_subprocess_launcher_take_stderr_fd (launcher, fd);
  }
  world->server = g_subprocess_launcher_spawn (launcher, &error, env_path ("TANDEM_SERVER"),
                                               "serve", "--data", world->server_dir,
                                               "--listen", listen, NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (world->server));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (out), FALSE);
  line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, NULL);
  if (line == NULL || !g_str_has_prefix (line, "listening on http://127.0.0.1:"))
    {
      g_subprocess_send_signal (world->server, SIGKILL);
      g_subprocess_wait (world->server, NULL, NULL);
      g_clear_object (&world->server);
      return FALSE;
    }
  if (world->port == 0)
    {
      world->port = (guint) g_ascii_strtoull (line + strlen ("listening on http://127.0.0.1:"),
                                              NULL, 10);
      world->server_url = g_strdup_printf ("http://127.0.0.1:%u", world->port);
    }
  return TRUE;
}

void
ps_server_start (PsWorld *world)
{
  g_assert_null (world->server);
  for (guint i = 0; i < 50; i++)
    {
      if (try_start_server (world))
        {
          ps_trace (world, "server started on port %u", world->port);
          return;
        }
      g_usleep (100 * 1000);
    }
  ps_fail (world, "tandem-server did not start again on port %u", world->port);
}

void
ps_server_stop (PsWorld *world,
                int      signal)
{
  if (world->server == NULL)
    return;
  g_subprocess_send_signal (world->server, signal);
  g_subprocess_wait (world->server, NULL, NULL);
  if (signal == SIGTERM &&
      !(g_subprocess_get_if_exited (world->server) &&
        g_subprocess_get_exit_status (world->server) == 0))
    ps_fail (world, "tandem-server did not stop cleanly on SIGTERM");
  g_clear_object (&world->server);
  if (signal == SIGKILL)
    world->counts.server_kills++;
  world->counts.server_restarts++;
  ps_trace (world, "server stopped with %s", signal == SIGKILL ? "SIGKILL" : "SIGTERM");
}

static char *
server_tool (PsWorld    *world,
             const char *what,
             const char *arg_name,
             const char *arg)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                              &error, env_path ("TANDEM_SERVER"), "token", what,
                              "--data", world->server_dir, arg_name, arg, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (g_subprocess_get_exit_status (process) != 0)
    ps_fail (world, "tandem-server token %s failed: %s", what, err);
  return g_strdup (g_strstrip (out));
}

void
ps_rotate_token (PsWorld *world)
{
  g_free (server_tool (world, "revoke", "--token", world->token));
  g_ptr_array_add (world->old_tokens, world->token);
  world->token = server_tool (world, "create", "--user", "sim");
  world->counts.token_rotations++;
  ps_trace (world, "token revoked; a new one made");
}

/* tandem-cli */

static GSubprocessLauncher *
cli_launcher (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_unsetenv (launcher, "TANDEM_DB");
  g_subprocess_launcher_setenv (launcher, "TANDEM_NO_KEYRING", "1", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  return launcher;
}

static GPtrArray *
cli_argv (PsWorld           *world,
          guint              dev,
          const char *const *argv)
{
  PsDevice *device = g_ptr_array_index (world->devices, dev);
  GPtrArray *args = g_ptr_array_new ();
  const char *wrapper = g_getenv ("PROCSIM_SYNC_WRAPPER");

  /* For hunting a crash: `sync` run under a debugger or checker program
   * (a path; it gets the whole command line and must pass on the exit
   * status). Never set in CI. */
  if (wrapper != NULL && *wrapper != '\0' && g_str_equal (argv[0], "sync"))
    g_ptr_array_add (args, (char *) wrapper);
  g_ptr_array_add (args, (char *) env_path ("TANDEM_CLI"));
  g_ptr_array_add (args, "--db");
  g_ptr_array_add (args, device->db);
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (char *) argv[i]);
  g_ptr_array_add (args, NULL);
  return args;
}

void
ps_cli (PsWorld           *world,
        guint              dev,
        const char *const *argv,
        PsRun             *run)
{
  g_autoptr(GSubprocessLauncher) launcher =
    cli_launcher (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) args = cli_argv (world, dev, argv);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  ps_run_clear (run);
  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) args->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &run->out, &run->err, &error);
  g_assert_no_error (error);
  world->counts.cli_runs++;
  if (!g_subprocess_get_if_exited (process))
    ps_fail (world, "tandem-cli %s on device %u died of signal %d: %s", argv[0], dev,
             g_subprocess_get_term_sig (process), run->err);
  run->status = g_subprocess_get_exit_status (process);
}

#define CLI(world, dev, run, ...) \
  ps_cli ((world), (dev), (const char *const[]) { __VA_ARGS__, NULL }, (run))

/* A command that must succeed; its stdout, trimmed. */
static char *
cli_ok (PsWorld           *world,
        guint              dev,
        const char *const *argv)
{
  g_auto(PsRun) run = { 0 };

  ps_cli (world, dev, argv, &run);
  if (run.status != 0)
    ps_fail (world, "tandem-cli %s on device %u exited %d: %s", argv[0], dev, run.status, run.err);
  return g_strstrip (g_steal_pointer (&run.out));
}

static JsonNode *
cli_json (PsWorld           *world,
          guint              dev,
          const char *const *argv)
{
  g_autofree char *out = cli_ok (world, dev, argv);

  return test_parse_json (out);
}

#define JSON(world, dev, ...) cli_json ((world), (dev), (const char *const[]) { __VA_ARGS__, NULL })

static void
sign_in (PsWorld *world,
         guint    dev)
{
  g_free (cli_ok (world, dev, (const char *const[]) { "account", "--server", world->proxy->url,
                                                      "--token", world->token, NULL }));
}

/* The world */

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
edit_free (PsEdit *edit)
{
  g_free (edit->task);
  g_free (edit->field);
  json_node_unref (edit->value);
  g_free (edit);
}

static void
task_free (PsTask *task)
{
  g_free (task->id);
  json_object_unref (task->initial);
  g_free (task);
}

static void
device_free (PsDevice *device)
{
  g_free (device->db);
  g_array_unref (device->syncs);
  g_free (device);
}

PsWorld *
ps_world_new (const char *name,
              guint32     seed,
              guint       n_devices,
              gboolean    on_disk)
{
  PsWorld *world = g_new0 (PsWorld, 1);
  g_autofree char *shm_template = NULL;

  world->name = g_strdup (name);
  world->seed = seed;
  world->rand = g_rand_new_with_seed (seed);
  if (g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) && g_access ("/dev/shm", W_OK) == 0)
    {
      shm_template = g_strdup ("/dev/shm/tandem-procsim-XXXXXX");
      world->dir = g_mkdtemp (g_steal_pointer (&shm_template));
    }
  if (world->dir == NULL)
    world->dir = g_dir_make_tmp ("tandem-procsim-XXXXXX", NULL);
  g_assert_nonnull (world->dir);
  world->server_dir = g_build_filename (world->dir, "server", NULL);
  g_assert_cmpint (g_mkdir (world->server_dir, 0700), ==, 0);
  if (on_disk)
    {
      /* The build dir is on a real disk where /tmp may not be. */
      g_autofree char *template = g_build_filename (g_getenv ("G_TEST_BUILDDIR")
                                                      ? g_getenv ("G_TEST_BUILDDIR")
                                                      : g_get_tmp_dir (),
                                                    "procsim-disk-XXXXXX", NULL);

      world->disk_dir = g_mkdtemp (g_steal_pointer (&template));
      g_assert_nonnull (world->disk_dir);
    }

  world->old_tokens = g_ptr_array_new_with_free_func (g_free);
  world->devices = g_ptr_array_new_with_free_func ((GDestroyNotify) device_free);
  world->edits = g_ptr_array_new_with_free_func ((GDestroyNotify) edit_free);
  world->tasks = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) task_free);
  g_queue_init (&world->trace);
  world->session = soup_session_new ();

  ps_trace (world, "%s: seed %u, %u devices, data in %s", name, seed, n_devices, world->dir);
  ps_server_start (world);
  world->proxy = test_proxy_start (world->server_url);
  world->token = server_tool (world, "create", "--user", "sim");

  for (guint i = 0; i < n_devices; i++)
    {
      PsDevice *device = g_new0 (PsDevice, 1);
      g_autofree char *file = g_strdup_printf ("device-%u.db", i);

      g_snprintf (device->name, sizeof device->name, "%u", i);
      device->db = g_build_filename (i == 0 && world->disk_dir ? world->disk_dir : world->dir,
                                     file, NULL);
      device->syncs = g_array_new (FALSE, FALSE, sizeof (PsSyncMark));
      g_ptr_array_add (world->devices, device);
      sign_in (world, i);
    }
  return world;
}

void
ps_world_free (PsWorld *world)
{
  if (world == NULL)
    return;
  g_clear_pointer (&world->proxy, test_proxy_free);
  if (world->server != NULL)
    {
      g_subprocess_send_signal (world->server, SIGTERM);
      g_subprocess_wait (world->server, NULL, NULL);
      g_clear_object (&world->server);
    }
  remove_tree (world->dir);
  if (world->disk_dir != NULL)
    remove_tree (world->disk_dir);
  g_free (world->dir);
  g_free (world->disk_dir);
  g_free (world->server_dir);
  g_free (world->server_url);
  g_free (world->token);
  g_free (world->name);
  g_ptr_array_unref (world->old_tokens);
  g_ptr_array_unref (world->devices);
  g_ptr_array_unref (world->edits);
  g_hash_table_unref (world->tasks);
  g_queue_clear_full (&world->trace, g_free);
  g_clear_object (&world->session);
  g_rand_free (world->rand);
  g_free (world);
}

GRand *
ps_world_rand (PsWorld *world)
{
  return world->rand;
}

guint
ps_world_n_devices (PsWorld *world)
{
  return world->devices->len;
}

TestProxy *
ps_world_proxy (PsWorld *world)
{
  return world->proxy;
}

const PsCounts *
ps_world_counts (PsWorld *world)
{
  return &world->counts;
}

char *
ps_counts_text (PsWorld *world)
{
  const PsCounts *c = &world->counts;

  return g_strdup_printf ("seed %u: %u actions (%u edits), %u syncs, %u conflicts, "
                          "%u resolutions, %u faults, %u server restarts (%u SIGKILL), "
                          "%u client SIGKILLs, %u token rotations, %u probes, %u tandem-cli runs",
                          world->seed, c->actions, c->edits, c->syncs, c->conflicts,
                          c->resolutions, c->faults, c->server_restarts, c->server_kills,
                          c->client_kills, c->token_rotations, c->probes, c->cli_runs);
}

guint32
ps_seed_from_env (int      *argc,
                  char   ***argv,
                  guint32   fallback,
                  gboolean *given)
{
  const char *text = g_getenv ("PROCSIM_SEED");
  guint64 value;

  /* --procsim-seed=N (g_test_init() has a --seed of its own); taken out of
   * argv before g_test_init() sees it. */
  for (int i = 1; i < *argc; i++)
    if (g_str_has_prefix ((*argv)[i], "--procsim-seed="))
      {
        text = (*argv)[i] + strlen ("--procsim-seed=");
        for (int j = i; j + 1 < *argc; j++)
          (*argv)[j] = (*argv)[j + 1];
        (*argc)--;
        break;
      }
  *given = text != NULL && *text != '\0';
  if (!*given)
    return fallback;
  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, &value, NULL))
    g_error ("the seed must be a whole number from 0 to 4294967295, not “%s”", text);
  return (guint32) value;
}

/* The model */

static void
record_edit (PsWorld    *world,
             guint       dev,
             const char *task,
             const char *field,
             JsonNode   *value)
{
  PsEdit *edit = g_new0 (PsEdit, 1);
  g_autofree char *text = json_to_string (value, FALSE);

  edit->seq = ++world->seq;
  edit->dev = dev;
  edit->task = g_strdup (task);
  edit->field = g_strdup (field);
  edit->value = value;
  g_ptr_array_add (world->edits, edit);
  world->counts.edits++;
  ps_trace (world, "dev %u: %s of %.8s = %s", dev, field, task, text);
}

static PsTask *
model_task (PsWorld    *world,
            const char *id)
{
  PsTask *task = g_hash_table_lookup (world->tasks, id);

  if (task == NULL)
    ps_fail (world, "task %s is not one any device created", id);
  return task;
}

static char *
unique (PsWorld    *world,
        const char *prefix,
        guint       dev)
{
  return g_strdup_printf ("%s%u-%u", prefix, dev, ++world->counter);
}

/* User actions */

/* Every task on @dev (the Trash included). */
static JsonArray *
device_tasks (PsWorld *world,
              guint    dev,
              JsonNode **holder)
{
  *holder = JSON (world, dev, "list", "--all", "--json");
  return json_node_get_array (*holder);
}

/* A random task of @array: live ones when @deleted is FALSE. NULL: none. */
static const char *
pick_task (PsWorld   *world,
           JsonArray *array,
           gboolean   deleted)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *task = json_array_get_object_element (array, i);

      if (json_object_get_boolean_member (task, "deleted") == deleted)
        g_ptr_array_add (ids, (char *) json_object_get_string_member (task, "id"));
    }
  if (ids->len == 0)
    return NULL;
  return g_ptr_array_index (ids, g_rand_int_range (world->rand, 0, ids->len));
}

static JsonObject *
find_task (JsonArray  *array,
           const char *id)
{
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *task = json_array_get_object_element (array, i);

      if (g_str_equal (json_object_get_string_member (task, "id"), id))
        return task;
    }
  return NULL;
}

char *
ps_add_task (PsWorld *world,
             guint    dev)
{
  g_autofree char *title = unique (world, "T", dev);
  g_autofree char *notes = g_strdup_printf ("line a %u\nline b %u\nline c %u\n", world->counter,
                                            world->counter, world->counter);
  g_autofree char *tag = unique (world, "g", dev);
  g_autofree char *priority = g_strdup_printf ("%d", g_rand_int_range (world->rand, 0, 4));
  g_auto(PsRun) run = { 0 };
  PsTask *task;
  char *id;

  CLI (world, dev, &run, "add", title, "--notes", notes, "--priority", priority, "--tag", tag);
  if (run.status != 0)
    ps_fail (world, "add on device %u exited %d: %s", dev, run.status, run.err);
  id = g_strdup (g_strstrip (run.out));
  task = g_new0 (PsTask, 1);
  task->id = g_strdup (id);
  task->creator = dev;
  task->initial = json_object_new ();
  json_object_set_string_member (task->initial, "title", title);
  json_object_set_string_member (task->initial, "notes", notes);
  json_object_set_int_member (task->initial, "priority", g_ascii_strtoll (priority, NULL, 10));
  json_object_set_boolean_member (task->initial, "done", FALSE);
  json_object_set_null_member (task->initial, "due");
  json_object_set_string_member (task->initial, "tag", tag);
  g_hash_table_insert (world->tasks, task->id, task);
  world->seq++;
  ps_trace (world, "dev %u: add %.8s '%s'", dev, id, title);
  return id;
}

static JsonNode *
value_node (const char *field,
            const char *value)
{
  if (value == NULL)
    return json_node_init_null (json_node_alloc ());
  if (g_str_equal (field, "priority"))
    return json_node_init_int (json_node_alloc (), g_ascii_strtoll (value, NULL, 10));
  if (g_str_equal (field, "done"))
    return json_node_init_boolean (json_node_alloc (), g_str_equal (value, "true"));
  return json_node_init_string (json_node_alloc (), value);
}

/* `edit ID --FIELD VALUE` (done: "true"/"false"; due: NULL clears it). */
gboolean
ps_edit_field (PsWorld    *world,
               guint       dev,
               const char *id,
               const char *field,
               const char *value)
{
  g_auto(PsRun) run = { 0 };
  g_autofree char *option = g_strdup_printf ("--%s", field);

  if (g_str_equal (field, "done"))
    CLI (world, dev, &run, "edit", id, g_str_equal (value, "true") ? "--done" : "--undone");
  else if (g_str_equal (field, "due") && value == NULL)
    CLI (world, dev, &run, "edit", id, "--no-due");
  else
    CLI (world, dev, &run, "edit", id, option, value);
  if (run.status != 0)
    {
      ps_trace (world, "dev %u: edit %s of %.8s refused (%d): %s", dev, field, id, run.status,
                g_strstrip (run.err));
      return FALSE;
    }
  record_edit (world, dev, id, field, value_node (field, value));
  return TRUE;
}

/* Notes with one line changed or added, so that notes merge line by line. */
static char *
new_notes (PsWorld    *world,
           guint       dev,
           const char *notes)
{
  g_auto(GStrv) lines = g_strsplit (notes, "\n", -1);
  guint n = g_strv_length (lines);
  g_autofree char *line = unique (world, "n", dev);
  GString *out = g_string_new (NULL);
  guint pick;

  /* The last element is the empty rest after the final newline. */
  if (n > 0 && *lines[n - 1] == '\0')
    n--;
  pick = g_rand_int_range (world->rand, 0, n + 1);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (out, "%s\n", i == pick ? line : lines[i]);
  if (pick == n)
    g_string_append_printf (out, "%s\n", line);
  return g_string_free (out, FALSE);
}

static void
run_action (PsWorld           *world,
            guint              dev,
            const char        *what,
            const char        *id,
            const char *const *argv)
{
  g_auto(PsRun) run = { 0 };

  ps_cli (world, dev, argv, &run);
  if (run.status != 0)
    ps_fail (world, "%s on device %u exited %d: %s", what, dev, run.status, run.err);
  world->seq++;
  ps_trace (world, "dev %u: %s %.8s", dev, what, id);
}

void
ps_random_action (PsWorld *world,
                  guint    dev)
{
  g_autoptr(JsonNode) holder = NULL;
  JsonArray *tasks = device_tasks (world, dev, &holder);
  const char *id = pick_task (world, tasks, FALSE);
  guint roll = g_rand_int_range (world->rand, 0, 100);
  JsonObject *task;

  world->counts.actions++;
  if (id == NULL || roll < 12)
    {
      g_free (ps_add_task (world, dev));
      return;
    }
  task = find_task (tasks, id);

  if (roll < 26)
    {
      g_autofree char *title = unique (world, "T", dev);

      ps_edit_field (world, dev, id, "title", title);
    }
  else if (roll < 38)
    {
      g_autofree char *notes = new_notes (world, dev, json_object_get_string_member (task, "notes"));

      ps_edit_field (world, dev, id, "notes", notes);
    }
  else if (roll < 46)
    ps_edit_field (world, dev, id, "done",
                   json_object_get_boolean_member (task, "done") ? "false" : "true");
  else if (roll < 52)
    {
      g_autofree char *due = g_strdup_printf ("2031-%02d-%02d",
                                              g_rand_int_range (world->rand, 1, 13),
                                              g_rand_int_range (world->rand, 1, 29));

      ps_edit_field (world, dev, id, "due", g_rand_boolean (world->rand) ? due : NULL);
    }
  else if (roll < 58)
    {
      g_autofree char *priority = g_strdup_printf ("%d", g_rand_int_range (world->rand, 0, 4));

      ps_edit_field (world, dev, id, "priority", priority);
    }
  else if (roll < 68)
    {
      JsonArray *tags = json_object_get_array_member (task, "tags");

      if (json_array_get_length (tags) > 0 && g_rand_int_range (world->rand, 0, 3) == 0)
        {
          g_autofree char *arg = g_strdup_printf (
            "-%s", json_array_get_string_element (
                     tags, g_rand_int_range (world->rand, 0, json_array_get_length (tags))));

          run_action (world, dev, arg, id, (const char *const[]) { "tag", id, arg, NULL });
          /* Not checked itself; it lets an unsent add of the same tag go. */
          record_edit (world, dev, id, "untag", json_node_init_string (json_node_alloc (), arg + 1));
        }
      else
        {
          g_autofree char *tag = unique (world, "g", dev);
          g_autofree char *arg = g_strdup_printf ("+%s", tag);
          g_auto(PsRun) run = { 0 };

          CLI (world, dev, &run, "tag", id, arg);
          if (run.status != 0)
            ps_fail (world, "tag on device %u exited %d: %s", dev, run.status, run.err);
          record_edit (world, dev, id, "tag", json_node_init_string (json_node_alloc (), tag));
        }
    }
  else if (roll < 78)
    {
      g_autofree char *body = unique (world, "c", dev);
      g_auto(PsRun) run = { 0 };

      CLI (world, dev, &run, "comment", id, body);
      if (run.status != 0)
        ps_fail (world, "comment on device %u exited %d: %s", dev, run.status, run.err);
      record_edit (world, dev, id, "comment", json_node_init_string (json_node_alloc (), body));
    }
  else if (roll < 85)
    {
      const char *other = pick_task (world, tasks, FALSE);

      if (other != NULL && !g_str_equal (other, id))
        run_action (world, dev, "move", id,
                    (const char *const[]) { "move", id,
                                            g_rand_boolean (world->rand) ? "--before" : "--after",
                                            other, NULL });
    }
  else if (roll < 92)
    {
      ps_delete_task (world, dev, id);
    }
  else
    {
      const char *gone = pick_task (world, tasks, TRUE);

      if (gone != NULL)
        {
          ps_restore_task (world, dev, gone);
        }
    }
}

void
ps_delete_task (PsWorld    *world,
                guint       dev,
                const char *id)
{
  run_action (world, dev, "delete", id, (const char *const[]) { "delete", id, NULL });
  model_task (world, id)->last_delete = world->seq;
  /* Not checked itself: it tells which edits their author threw away. */
  record_edit (world, dev, id, "deleted", json_node_init_boolean (json_node_alloc (), TRUE));
}

void
ps_restore_task (PsWorld    *world,
                 guint       dev,
                 const char *id)
{
  run_action (world, dev, "restore", id, (const char *const[]) { "restore", id, NULL });
  model_task (world, id)->last_undelete = world->seq;
}

/* Sync */

static JsonNode *
device_status (PsWorld *world,
               guint    dev)
{
  return JSON (world, dev, "status", "--json");
}

static void
note_sync (PsWorld *world,
           guint    dev,
           int      status)
{
  PsDevice *device = g_ptr_array_index (world->devices, dev);
  PsSyncMark mark = { ++world->seq, status };

  g_array_append_val (device->syncs, mark);
}

/* The questions a device holds must be real ones (DESIGN §2, §5): an
 * "edit" conflict only ever names title or notes, each with two different
 * values. */
static JsonNode *
checked_conflicts (PsWorld *world,
                   guint    dev)
{
  JsonNode *conflicts = JSON (world, dev, "conflicts", "--json");
  JsonArray *array = json_node_get_array (conflicts);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *conflict = json_array_get_object_element (array, i);
      const char *kind = json_object_get_string_member (conflict, "kind");
      JsonArray *fields = json_object_get_array_member (conflict, "fields");
      g_autofree char *text = json_to_string (json_array_get_element (array, i), FALSE);

      if (g_str_equal (kind, "edit"))
        {
          if (json_array_get_length (fields) == 0)
            ps_fail (world, "device %u asks about no field: %s", dev, text);
          for (guint j = 0; j < json_array_get_length (fields); j++)
            {
              JsonObject *field = json_array_get_object_element (fields, j);
              const char *name = json_object_get_string_member (field, "name");

              if (!g_str_equal (name, "title") && !g_str_equal (name, "notes"))
                ps_fail (world, "device %u asks about %s, which merges by itself: %s", dev, name,
                         text);
              if (json_node_equal (json_object_get_member (field, "local"),
                                   json_object_get_member (field, "remote")))
                ps_fail (world, "device %u asks about a field both sides agree on: %s", dev, text);
            }
        }
      else if (!g_str_equal (kind, "edit-vs-delete") && !g_str_equal (kind, "delete-vs-edit"))
        ps_fail (world, "device %u holds a conflict of unknown kind: %s", dev, text);
    }
  return conflicts;
}

int
ps_sync (PsWorld *world,
         guint    dev)
{
  g_auto(PsRun) run = { 0 };

  CLI (world, dev, &run, "sync");
  world->counts.syncs++;
  note_sync (world, dev, run.status);
  ps_trace (world, "dev %u: sync -> %d%s%s", dev, run.status, run.status ? ": " : "",
            run.status ? g_strstrip (run.err) : "");
  switch (run.status)
    {
    case 0:
      break;
    case 3:
      world->counts.conflicts++;
      json_node_unref (checked_conflicts (world, dev));
      break;
    case 4:
      {
        g_autoptr(JsonNode) status = device_status (world, dev);

        if (json_object_get_boolean_member (json_node_get_object (status), "auth_paused"))
          {
            ps_trace (world, "dev %u: signs in again", dev);
            sign_in (world, dev);
          }
      }
      break;
    default:
      {
        g_autoptr(JsonNode) outbox = JSON (world, dev, "outbox", "--json");
        g_autofree char *text = json_to_string (outbox, TRUE);

        ps_fail (world, "sync on device %u exited %d (%s); outbox: %s", dev, run.status, run.err,
                 text);
      }
    }
  return run.status;
}

static GSubprocess *
spawn_sync (PsWorld *world,
            guint    dev)
{
  g_autoptr(GSubprocessLauncher) launcher =
    cli_launcher (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr(GPtrArray) args = cli_argv (world, dev, (const char *const[]) { "sync", NULL });
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) args->pdata, &error);
  g_assert_no_error (error);
  world->counts.cli_runs++;
  world->counts.syncs++;
  return process;
}

/* The exit status of a sync that ran to its end (-1: killed). */
static int
reap_sync (PsWorld     *world,
           guint        dev,
           GSubprocess *process)
{
  int status;

  g_subprocess_wait (process, NULL, NULL);
  if (g_subprocess_get_if_signaled (process))
    {
      if (g_subprocess_get_term_sig (process) != SIGKILL)
        ps_fail (world, "sync on device %u died of signal %d", dev,
                 g_subprocess_get_term_sig (process));
      note_sync (world, dev, -1);
      return -1;
    }
  status = g_subprocess_get_exit_status (process);
  note_sync (world, dev, status);
  if (status != 0 && status != 3 && status != 4)
    ps_fail (world, "sync on device %u exited %d", dev, status);
  if (status == 4)
    {
      g_autoptr(JsonNode) info = device_status (world, dev);

      if (json_object_get_boolean_member (json_node_get_object (info), "auth_paused"))
        sign_in (world, dev);
    }
  return status;
}

gboolean
ps_sync_killed (PsWorld *world,
                guint    dev,
                gint64   delay_us)
{
  g_autoptr(GSubprocess) process = spawn_sync (world, dev);
  int status;

  g_usleep (delay_us);
  g_subprocess_send_signal (process, SIGKILL);
  status = reap_sync (world, dev, process);
  if (status == -1)
    {
      world->counts.client_kills++;
      ps_trace (world, "dev %u: sync killed after %.1f ms", dev, delay_us / 1000.0);
      return TRUE;
    }
  ps_trace (world, "dev %u: sync -> %d before the kill at %.1f ms", dev, status, delay_us / 1000.0);
  return FALSE;
}

gboolean
ps_kill_server_during_sync (PsWorld *world,
                            guint    dev,
                            gint64   delay_us)
{
  g_autoptr(GSubprocess) process = spawn_sync (world, dev);
  gboolean running;
  int status;

  g_usleep (delay_us);
  running = g_subprocess_get_identifier (process) != NULL;
  ps_server_stop (world, SIGKILL);
  ps_trace (world, "server killed after %.1f ms of a sync on dev %u (%s)", delay_us / 1000.0, dev,
            running ? "still syncing" : "it had ended");
  ps_server_start (world);
  status = reap_sync (world, dev, process);
  ps_trace (world, "dev %u: sync -> %d", dev, status);
  return running;
}

static void
note_undelete (PsWorld    *world,
               const char *id)
{
  model_task (world, id)->last_undelete = ++world->seq;
}

void
ps_resolve_all (PsWorld *world,
                guint    dev)
{
  g_autoptr(JsonNode) conflicts = checked_conflicts (world, dev);
  JsonArray *array = json_node_get_array (conflicts);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *conflict = json_array_get_object_element (array, i);
      const char *id = json_object_get_string_member (conflict, "task_id");
      const char *kind = json_object_get_string_member (conflict, "kind");
      JsonArray *fields = json_object_get_array_member (conflict, "fields");
      g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
      guint roll = g_rand_int_range (world->rand, 0, 3);
      g_autoptr(GPtrArray) written = g_ptr_array_new_with_free_func (g_free);
      g_auto(PsRun) run = { 0 };

      g_ptr_array_add (args, g_strdup ("resolve"));
      g_ptr_array_add (args, g_strdup (id));
      if (!g_str_equal (kind, "edit") || roll < 2)
        {
          gboolean local = g_rand_boolean (world->rand);

          g_ptr_array_add (args, g_strdup ("--take"));
          g_ptr_array_add (args, g_strdup (local ? "local" : "remote"));
          if ((g_str_equal (kind, "edit-vs-delete") && local) ||
              (g_str_equal (kind, "delete-vs-edit") && !local))
            note_undelete (world, id);
          if (g_str_equal (kind, "delete-vs-edit") && local)
            model_task (world, id)->last_delete = world->seq + 1;
        }
      else
        for (guint j = 0; j < json_array_get_length (fields); j++)
          {
            const char *name = json_object_get_string_member (
              json_array_get_object_element (fields, j), "name");
            guint pick = g_rand_int_range (world->rand, 0, 3);
            char *value = NULL;

            if (pick == 2)
              {
                g_autofree char *text = unique (world, g_str_equal (name, "title") ? "R" : "r", dev);

                value = g_str_equal (name, "notes") ? g_strdup_printf ("%s\n", text)
                                                    : g_steal_pointer (&text);
                g_ptr_array_add (written, g_strdup (name));
                g_ptr_array_add (written, g_strdup (value));
              }
            g_ptr_array_add (args, g_strdup ("--field"));
            g_ptr_array_add (args, g_strdup_printf ("%s=%s%s", name,
                                                    pick == 0 ? "local"
                                                    : pick == 1 ? "remote"
                                                                : "value:",
                                                    value ? value : ""));
            g_free (value);
          }
      g_ptr_array_add (args, NULL);

      ps_cli (world, dev, (const char *const *) args->pdata, &run);
      if (run.status != 0)
        ps_fail (world, "resolve %s on device %u exited %d: %s", id, dev, run.status, run.err);
      world->counts.resolutions++;
      {
        g_autofree char *line = g_strjoinv (" ", (char **) args->pdata);

        world->seq++;
        ps_trace (world, "dev %u: %s (%s)", dev, line, kind);
      }
      for (guint j = 0; j < written->len; j += 2)
        record_edit (world, dev, id, g_ptr_array_index (written, j),
                     json_node_init_string (json_node_alloc (), g_ptr_array_index (written, j + 1)));
    }
}

/* Faults */

static const char *fault_paths[] = { "/v1/sync/push", "/v1/sync/changes", NULL };

/* Sends an earlier push again, as a network that delivers twice would, and
 * late: whatever it holds must change nothing. */
static void
replay_old_push (PsWorld *world)
{
  TestServer proxy = { .url = world->proxy->url };
  g_autoptr(TestResponse) journal = test_request (world->session, &proxy, "GET",
                                                  "/__fault/requests", NULL, NULL, NULL);
  g_autoptr(GPtrArray) bodies = g_ptr_array_new ();
  JsonArray *entries;

  if (journal->status != 200)
    ps_fail (world, "the proxy's journal: %u", journal->status);
  entries = json_node_get_array (journal->json);
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);

      if (g_str_equal (json_object_get_string_member (entry, "path"), "/v1/sync/push") &&
          !JSON_NODE_HOLDS_NULL (json_object_get_member (entry, "body")))
        g_ptr_array_add (bodies, (char *) json_object_get_string_member (entry, "body"));
    }
  if (bodies->len == 0)
    return;
  {
    const char *body = g_ptr_array_index (bodies, g_rand_int_range (world->rand, 0, bodies->len));
    TestServer server = { .url = world->server_url };
    g_autoptr(TestResponse) answer = NULL;

    if (world->server == NULL)
      return;
    answer = test_request (world->session, &server, "POST", "/v1/sync/push", world->token, body,
                           NULL);
    world->counts.faults++;
    ps_trace (world, "an earlier push (%zu bytes) delivered again -> %u", strlen (body),
              answer->status);
    if (answer->status != 200)
      ps_fail (world, "a push delivered twice answered %u: %s", answer->status, answer->body);
  }
}

void
ps_random_fault (PsWorld *world)
{
  guint roll = g_rand_int_range (world->rand, 0, 8);
  const char *path = fault_paths[g_rand_int_range (world->rand, 0, G_N_ELEMENTS (fault_paths))];
  g_autofree char *where = path ? g_strdup_printf (",\"path\":\"%s\"", path) : g_strdup ("");
  g_autofree char *fault = NULL;
  guint skip = g_rand_int_range (world->rand, 0, 3);

  switch (roll)
    {
    case 0:
      fault = g_strdup_printf ("{\"drop_request\":true,\"skip\":%u%s}", skip, where);
      break;
    case 1:
    case 2:
      fault = g_strdup_printf ("{\"drop_response\":true,\"skip\":%u%s}", skip, where);
      break;
    case 3:
      fault = g_strdup_printf ("{\"delay_ms\":%d,\"skip\":%u%s}",
                               g_rand_int_range (world->rand, 50, 700), skip, where);
      break;
    case 4:
      fault = g_strdup_printf ("{\"status\":%d,\"count\":%d,\"skip\":%u%s}",
                               g_rand_boolean (world->rand) ? 500 : 503,
                               g_rand_int_range (world->rand, 1, 3), skip, where);
      break;
    case 5:
      fault = g_strdup_printf ("{\"status\":429,\"retry_after\":1,\"skip\":%u%s}", skip, where);
      break;
    case 6:
      fault = g_strdup_printf ("{\"delay_ms\":%d,\"drop_response\":true%s}",
                               g_rand_int_range (world->rand, 50, 400), where);
      break;
    default:
      replay_old_push (world);
      return;
    }
  test_proxy_inject (world->proxy, fault);
  world->counts.faults++;
  ps_trace (world, "fault %s", fault);
}

/* Convergence */

static guint
outbox_length (PsWorld *world,
               guint    dev)
{
  g_autoptr(JsonNode) outbox = JSON (world, dev, "outbox", "--json");

  return json_array_get_length (json_node_get_array (outbox));
}

void
ps_quiesce (PsWorld *world)
{
  test_proxy_inject (world->proxy, "{\"reset\":true}");
  if (world->server == NULL)
    ps_server_start (world);
  ps_trace (world, "quiesce");

  for (guint round = 0; round < QUIESCE_ROUNDS; round++)
    {
      gboolean clean = TRUE;

      for (guint dev = 0; dev < world->devices->len; dev++)
        {
          int status = ps_sync (world, dev);

          for (guint tries = 0; status == 3 && tries < 5; tries++)
            {
              ps_resolve_all (world, dev);
              status = ps_sync (world, dev);
            }
          if (status == 4)
            status = ps_sync (world, dev);
          if (status != 0)
            {
              ps_trace (world, "dev %u still not clean (%d)", dev, status);
              clean = FALSE;
            }
        }
      if (!clean)
        continue;
      for (guint dev = 0; dev < world->devices->len; dev++)
        if (outbox_length (world, dev) != 0)
          clean = FALSE;
      if (!clean)
        continue;
      /* Everyone pulls what the last ones pushed. */
      for (guint dev = 0; dev < world->devices->len; dev++)
        if (ps_sync (world, dev) != 0)
          ps_fail (world, "device %u did not sync cleanly once everything was settled", dev);
      return;
    }
  ps_fail (world, "the devices did not settle within %u rounds without faults", QUIESCE_ROUNDS);
}

/* The directed checks */

static JsonObject *
show (PsWorld    *world,
      guint       dev,
      const char *id,
      JsonNode  **holder)
{
  *holder = JSON (world, dev, "show", id, "--json");
  return json_node_get_object (*holder);
}

/* Syncs until the device is not blocked by the network or sign-in. */
static int
sync_through (PsWorld *world,
              guint    dev)
{
  int status = 4;

  for (guint i = 0; i < 6 && status == 4; i++)
    status = ps_sync (world, dev);
  if (status == 4)
    ps_fail (world, "device %u could not reach the server six times in a row", dev);
  return status;
}

void
ps_probe_merge (PsWorld *world,
                guint    a,
                guint    b)
{
  g_autofree char *id = NULL;
  g_autofree char *title = unique (world, "P", a);
  g_autofree char *title_b = unique (world, "Q", b);
  g_autofree char *notes = NULL;
  g_autofree char *priority = g_strdup_printf ("%d", g_rand_int_range (world->rand, 0, 4));
  g_autoptr(JsonNode) on_a = NULL;
  g_autoptr(JsonNode) conflicts = NULL;
  JsonObject *task;
  gboolean found = FALSE;
  int status;

  world->counts.probes++;
  ps_trace (world, "probe: devices %u and %u", a, b);
  /* A fresh task both know, with nothing else pending about it. */
  id = ps_add_task (world, a);
  if (sync_through (world, a) != 0 || sync_through (world, b) != 0)
    {
      ps_trace (world, "probe skipped: questions were pending");
      return;
    }

  /* Different fields: no question. */
  task = show (world, b, id, &on_a);
  notes = new_notes (world, b, json_object_get_string_member (task, "notes"));
  ps_edit_field (world, a, id, "title", title);
  ps_edit_field (world, b, id, "notes", notes);
  ps_edit_field (world, b, id, "priority", priority);
  if ((status = sync_through (world, a)) != 0)
    ps_fail (world, "probe: device %u asked after editing only the title (%d)", a, status);
  if ((status = sync_through (world, b)) != 0)
    ps_fail (world, "probe: device %u asked after editing notes and priority while %u edited "
                    "the title (%d)", b, a, status);
  if (sync_through (world, a) != 0)
    ps_fail (world, "probe: device %u asked on its second sync", a);
  {
    g_autoptr(JsonNode) h1 = NULL;
    g_autoptr(JsonNode) h2 = NULL;
    JsonObject *x = show (world, a, id, &h1);

    show (world, b, id, &h2);

    if (g_strcmp0 (json_object_get_string_member (x, "title"), title) != 0 ||
        g_strcmp0 (json_object_get_string_member (x, "notes"), notes) != 0 ||
        json_object_get_int_member (x, "priority") != g_ascii_strtoll (priority, NULL, 10) ||
        !json_node_equal (h1, h2))
      ps_fail (world, "probe: the merge of different fields of %s lost something", id);
  }

  /* The same title: the second device is asked. */
  {
    g_autofree char *t1 = unique (world, "P", a);

    ps_edit_field (world, a, id, "title", t1);
    ps_edit_field (world, b, id, "title", title_b);
    if (sync_through (world, a) != 0)
      ps_fail (world, "probe: device %u asked after the first title change", a);
    status = sync_through (world, b);
    if (status != 3)
      ps_fail (world, "probe: two titles for %s and device %u was not asked (%d)", id, b, status);
    conflicts = checked_conflicts (world, b);
    for (guint i = 0; i < json_array_get_length (json_node_get_array (conflicts)); i++)
      {
        JsonObject *c = json_array_get_object_element (json_node_get_array (conflicts), i);
        JsonArray *fields = json_object_get_array_member (c, "fields");

        if (!g_str_equal (json_object_get_string_member (c, "task_id"), id))
          continue;
        for (guint j = 0; j < json_array_get_length (fields); j++)
          {
            JsonObject *field = json_array_get_object_element (fields, j);

            if (g_str_equal (json_object_get_string_member (field, "name"), "title") &&
                g_strcmp0 (json_object_get_string_member (field, "local"), title_b) == 0 &&
                g_strcmp0 (json_object_get_string_member (field, "remote"), t1) == 0)
              found = TRUE;
          }
      }
    if (!found)
      {
        g_autofree char *text = json_to_string (conflicts, TRUE);

        ps_fail (world, "probe: device %u holds no title question for %s: %s", b, id, text);
      }
  }
}

/* The checks */

typedef struct
{
  GHashTable *records;     /* id -> JsonObject * (the server's latest body) */
  GHashTable *seen;        /* "id|field|json" of every value the server accepted */
} ServerView;

static void
server_view_clear (ServerView *view)
{
  g_clear_pointer (&view->records, g_hash_table_unref);
  g_clear_pointer (&view->seen, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ServerView, server_view_clear)

static void
see (GHashTable *seen,
     const char *id,
     const char *field,
     JsonNode   *value)
{
  if (g_str_equal (field, "tags") && JSON_NODE_HOLDS_ARRAY (value))
    {
      JsonArray *tags = json_node_get_array (value);

      for (guint i = 0; i < json_array_get_length (tags); i++)
        {
          g_autofree char *text = json_to_string (json_array_get_element (tags, i), FALSE);

          g_hash_table_add (seen, g_strdup_printf ("%s|tag|%s", id, text));
        }
      return;
    }
  if (g_str_equal (field, "comments") && JSON_NODE_HOLDS_ARRAY (value))
    {
      JsonArray *comments = json_node_get_array (value);

      for (guint i = 0; i < json_array_get_length (comments); i++)
        {
          JsonNode *body = json_object_get_member (json_array_get_object_element (comments, i),
                                                   "body");
          g_autofree char *text = json_to_string (body, FALSE);

          g_hash_table_add (seen, g_strdup_printf ("%s|comment|%s", id, text));
        }
      return;
    }
  {
    g_autofree char *text = json_to_string (value, FALSE);

    g_hash_table_add (seen, g_strdup_printf ("%s|%s|%s", id, field, text));
  }
}

static sqlite3 *
open_server_db (PsWorld *world)
{
  g_autofree char *path = g_build_filename (world->server_dir, "tandem-server.db", NULL);
  sqlite3 *db = NULL;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    ps_fail (world, "cannot open the server's database %s: %s", path, sqlite3_errmsg (db));
  sqlite3_busy_timeout (db, 5000);
  return db;
}

static void
server_view_load (PsWorld    *world,
                  ServerView *view)
{
  sqlite3 *db = open_server_db (world);
  sqlite3_stmt *stmt = NULL;

  view->records = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) json_object_unref);
  view->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT id, body FROM records WHERE entity = 'task'",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_autoptr(JsonNode) node = test_parse_json ((const char *) sqlite3_column_text (stmt, 1));
      JsonObject *body = json_node_get_object (node);
      const char *id = (const char *) sqlite3_column_text (stmt, 0);
      g_autoptr(GList) members = json_object_get_members (body);

      for (GList *l = members; l != NULL; l = l->next)
        see (view->seen, id, l->data, json_object_get_member (body, l->data));
      g_hash_table_insert (view->records, g_strdup (id), json_object_ref (body));
    }
  sqlite3_finalize (stmt);

  /* Old values too: an edit folded into the create of its task (unsent
   * ops coalesce) shows up first as what a later change replaced. */
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT entity_id, field, new_value, old_value "
                                           "FROM history WHERE field IS NOT NULL", -1, &stmt,
                                       NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    for (int column = 2; column <= 3; column++)
      {
        const char *value = (const char *) sqlite3_column_text (stmt, column);
        g_autoptr(JsonNode) node = value ? test_parse_json (value)
                                         : json_node_init_null (json_node_alloc ());

        see (view->seen, (const char *) sqlite3_column_text (stmt, 0),
             (const char *) sqlite3_column_text (stmt, 1), node);
      }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

/* The server's history of @task_id, for a failure about it: revision,
 * device, op id and kind of every change tell which write did what. */
static void
print_server_history (PsWorld    *world,
                      const char *task_id)
{
  sqlite3 *db = open_server_db (world);
  sqlite3_stmt *stmt = NULL;

  g_printerr ("--- the server's history of %s: rev at device op kind field old -> new ---\n", task_id);
  if (sqlite3_prepare_v2 (db, "SELECT rev, at, device_id, op_id, kind, field, old_value, new_value "
                              "FROM history WHERE entity_id = ? ORDER BY id",
                          -1, &stmt, NULL) == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, task_id, -1, SQLITE_STATIC);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        g_printerr ("%d %s %s %s %s %s %.60s -> %.60s\n", sqlite3_column_int (stmt, 0),
                    sqlite3_column_text (stmt, 1), sqlite3_column_text (stmt, 2),
                    sqlite3_column_text (stmt, 3), sqlite3_column_text (stmt, 4),
                    sqlite3_column_text (stmt, 5), sqlite3_column_text (stmt, 6),
                    sqlite3_column_text (stmt, 7));
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

/* No op took effect twice: each op id the server recorded belongs to one
 * revision; no record was brought back from the Trash but by a restore. */
static void
check_server_log (PsWorld *world)
{
  sqlite3 *db = open_server_db (world);
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT op_id, COUNT(DISTINCT rev), "
                                           "group_concat(DISTINCT entity_id) FROM history "
                                           "WHERE op_id IS NOT NULL GROUP BY op_id "
                                           "HAVING COUNT(DISTINCT rev) > 1 "
                                           "OR COUNT(DISTINCT entity_id) > 1",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    ps_fail (world, "the server applied op %s %d times (on %s)", sqlite3_column_text (stmt, 0),
             sqlite3_column_int (stmt, 1), sqlite3_column_text (stmt, 2));
  sqlite3_finalize (stmt);

  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT entity_id, rev, kind, op_id FROM history "
                                           "WHERE field = 'deleted' AND old_value = 'true' "
                                           "AND new_value = 'false' "
                                           "AND (kind IS NULL OR kind <> 'restore')",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      print_server_history (world, (const char *) sqlite3_column_text (stmt, 0));
      ps_fail (world, "task %s came back from the Trash at revision %d by a “%s” op (%s)",
             sqlite3_column_text (stmt, 0), sqlite3_column_int (stmt, 1),
             sqlite3_column_text (stmt, 2), sqlite3_column_text (stmt, 3));
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* A device's whole state, in a fixed order, as text. */
static char *
canonical_tasks (GPtrArray *objects)   /* JsonObject *, with "comments" */
{
  static const char *fields[] = {
    "id", "list_id", "title", "notes", "done", "due", "priority", "position", "tags", "rev",
    "deleted",
  };
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GPtrArray) sorted = g_ptr_array_new ();

  for (guint i = 0; i < objects->len; i++)
    g_ptr_array_add (sorted, g_ptr_array_index (objects, i));

  for (guint i = 0; i < sorted->len; i++)
    for (guint j = i + 1; j < sorted->len; j++)
      if (g_strcmp0 (json_object_get_string_member (g_ptr_array_index (sorted, i), "id"),
                     json_object_get_string_member (g_ptr_array_index (sorted, j), "id")) > 0)
        {
          gpointer t = sorted->pdata[i];

          sorted->pdata[i] = sorted->pdata[j];
          sorted->pdata[j] = t;
        }
  for (guint i = 0; i < sorted->len; i++)
    {
      JsonObject *task = g_ptr_array_index (sorted, i);
      JsonArray *comments = json_object_get_array_member (task, "comments");
      g_autoptr(GPtrArray) ids = g_ptr_array_new ();

      for (guint j = 0; j < G_N_ELEMENTS (fields); j++)
        {
          JsonNode *value = json_object_get_member (task, fields[j]);
          g_autofree char *text = value ? json_to_string (value, FALSE) : g_strdup ("(absent)");

          g_string_append_printf (out, "%s=%s ", fields[j], text);
        }
      for (guint j = 0; comments && j < json_array_get_length (comments); j++)
        g_ptr_array_add (ids, (char *) json_object_get_string_member (
                                json_array_get_object_element (comments, j), "id"));
      g_ptr_array_sort (ids, compare_strings);
      g_string_append (out, "comments=");
      for (guint j = 0; j < ids->len; j++)
        g_string_append_printf (out, "%s,", (char *) g_ptr_array_index (ids, j));
      g_string_append_c (out, '\n');
    }
  return g_strdup (out->str);
}

static char *
server_state (PsWorld *world)
{
  TestServer server = { .url = world->server_url };
  g_autoptr(GPtrArray) objects = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(GHashTable) ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *cursor = NULL;
  gboolean more = TRUE;

  while (more)
    {
      g_autofree char *path = cursor ? g_strdup_printf ("/v1/sync/changes?since=%s&limit=1000",
                                                        cursor)
                                     : g_strdup ("/v1/sync/changes?limit=1000");
      g_autoptr(TestResponse) page = test_request (world->session, &server, "GET", path,
                                                   world->token, NULL, NULL);
      JsonObject *object;
      JsonArray *changes;

      if (page->status != 200)
        ps_fail (world, "the server's feed answered %u: %s", page->status, page->body);
      object = json_node_get_object (page->json);
      changes = json_object_get_array_member (object, "changes");
      for (guint i = 0; i < json_array_get_length (changes); i++)
        {
          JsonObject *record = json_array_get_object_element (changes, i);

          if (!g_str_equal (json_object_get_string_member (record, "entity"), "task"))
            continue;
          if (!g_hash_table_add (ids, g_strdup (json_object_get_string_member (record, "id"))))
            ps_fail (world, "the feed lists task %s twice",
                     json_object_get_string_member (record, "id"));
          g_ptr_array_add (objects, json_object_ref (record));
        }
      g_free (cursor);
      cursor = g_strdup (json_object_get_string_member (object, "cursor"));
      more = json_object_get_boolean_member (object, "has_more");
    }
  return canonical_tasks (objects);
}

static char *
device_state (PsWorld *world,
              guint    dev)
{
  g_autoptr(JsonNode) list = JSON (world, dev, "list", "--all", "--json");
  JsonArray *array = json_node_get_array (list);
  g_autoptr(GPtrArray) objects = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *task = json_array_get_object_element (array, i);
      const char *id = json_object_get_string_member (task, "id");
      g_autoptr(JsonNode) full = JSON (world, dev, "show", id, "--json");
      JsonObject *copy = json_object_new ();
      g_autoptr(GList) members = json_object_get_members (task);

      if (!g_str_equal (json_object_get_string_member (task, "sync_status"), "synced"))
        ps_fail (world, "task %s on device %u is still %s after everything settled", id, dev,
                 json_object_get_string_member (task, "sync_status"));
      for (GList *l = members; l != NULL; l = l->next)
        json_object_set_member (copy, l->data,
                                json_node_copy (json_object_get_member (task, l->data)));
      json_object_set_member (copy, "comments",
                              json_node_copy (json_object_get_member (json_node_get_object (full),
                                                                      "comments")));
      g_ptr_array_add (objects, copy);
    }
  return canonical_tasks (objects);
}

static void
check_converged (PsWorld *world)
{
  g_autofree char *server = server_state (world);

  for (guint dev = 0; dev < world->devices->len; dev++)
    {
      g_autoptr(JsonNode) status = device_status (world, dev);
      JsonObject *object = json_node_get_object (status);
      g_autofree char *state = NULL;

      if (json_object_get_int_member (object, "pending") != 0 ||
          json_object_get_int_member (object, "conflicts") != 0 ||
          json_object_get_int_member (object, "parked") != 0 ||
          json_object_get_boolean_member (object, "auth_paused"))
        {
          g_autofree char *text = json_to_string (status, FALSE);

          ps_fail (world, "device %u is not settled: %s", dev, text);
        }
      state = device_state (world, dev);
      if (!g_str_equal (state, server))
        {
          g_printerr ("device %u:\n%s\nserver:\n%s\n", dev, state, server);
          ps_fail (world, "device %u differs from the server", dev);
        }
    }
}

/* Whether @dev's history of @task holds a record of a question about
 * @field (or about the whole task) being answered or merged. */
static gboolean
device_history_explains (PsWorld    *world,
                         guint       dev,
                         const char *task,
                         const char *field)
{
  g_autoptr(JsonNode) history = JSON (world, dev, "history", task, "--json");
  JsonArray *array = json_node_get_array (history);
  const char *name = g_str_equal (field, "tag") ? "tags"
                     : g_str_equal (field, "comment") ? "comments" : field;

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *entry = json_array_get_object_element (array, i);
      const char *origin = json_object_get_string_member_with_default (entry, "origin", "");
      const char *f = json_object_get_string_member_with_default (entry, "field", NULL);

      if (g_str_equal (origin, "resolve") && (f == NULL || g_str_equal (f, name)))
        return TRUE;
      if (g_str_equal (origin, "merge") && f != NULL && g_str_equal (f, name))
        return TRUE;
    }
  return FALSE;
}

/* A later edit of the same field by the same device, with no clean sync in
 * between: the earlier value may never have left the device (unsent ops
 * coalesce). */
static gboolean
superseded (PsWorld      *world,
            const PsEdit *edit,
            guint         index)
{
  PsDevice *device = g_ptr_array_index (world->devices, edit->dev);

  /* A tag added and removed again before it left cancels out. */
  const char *undone_by = g_str_equal (edit->field, "tag") ? "untag" : edit->field;

  if (g_str_equal (edit->field, "comment"))
    return FALSE;
  for (guint i = index + 1; i < world->edits->len; i++)
    {
      const PsEdit *later = g_ptr_array_index (world->edits, i);

      if (later->dev != edit->dev || !g_str_equal (later->task, edit->task) ||
          !g_str_equal (later->field, undone_by) ||
          (g_str_equal (undone_by, "untag") && !json_node_equal (later->value, edit->value)))
        continue;
      for (guint j = 0; j < device->syncs->len; j++)
        {
          PsSyncMark *mark = &g_array_index (device->syncs, PsSyncMark, j);

          if (mark->seq > edit->seq && mark->seq < later->seq && mark->status == 0)
            return FALSE;
        }
      return TRUE;
    }
  return FALSE;
}

/* The device that made the edit deleted the task afterwards: when another
 * device's delete got there first, the edit is dropped with the task
 * without a question (both sides agree it is gone, even if someone
 * restores it later); the device's own history still has it. */
static gboolean
deleted_by_author (PsWorld      *world,
                   const PsEdit *edit,
                   guint         index)
{
  for (guint i = index + 1; i < world->edits->len; i++)
    {
      const PsEdit *later = g_ptr_array_index (world->edits, i);

      if (later->dev == edit->dev && g_str_equal (later->task, edit->task) &&
          g_str_equal (later->field, "deleted"))
        return TRUE;
    }
  return FALSE;
}

static void
check_edits_kept (PsWorld    *world,
                  ServerView *view)
{
  g_autoptr(GHashTable) comment_count = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer key, value;
  guint explained = 0, coalesced = 0, dropped = 0, checked = 0;

  /* Every task made is on the server once; nothing else is. */
  g_hash_table_iter_init (&iter, world->tasks);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!g_hash_table_contains (view->records, key))
      ps_fail (world, "task %s, created on device %u, never reached the server", (char *) key,
               ((PsTask *) value)->creator);
  if (g_hash_table_size (view->records) != g_hash_table_size (world->tasks))
    ps_fail (world, "the server holds %u tasks; the devices created %u",
             g_hash_table_size (view->records), g_hash_table_size (world->tasks));

  /* Every comment once. */
  g_hash_table_iter_init (&iter, view->records);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      JsonArray *comments = json_object_get_array_member (value, "comments");

      for (guint i = 0; comments && i < json_array_get_length (comments); i++)
        {
          const char *body = json_object_get_string_member (
            json_array_get_object_element (comments, i), "body");
          guint n = GPOINTER_TO_UINT (g_hash_table_lookup (comment_count, body));

          if (n > 0)
            ps_fail (world, "comment “%s” is on the server twice", body);
          g_hash_table_insert (comment_count, g_strdup (body), GUINT_TO_POINTER (n + 1));
        }
    }

  for (guint i = 0; i < world->edits->len; i++)
    {
      const PsEdit *edit = g_ptr_array_index (world->edits, i);
      g_autofree char *text = json_to_string (edit->value, FALSE);
      g_autofree char *key_text = g_strdup_printf ("%s|%s|%s", edit->task, edit->field, text);
      PsTask *task = model_task (world, edit->task);
      JsonNode *initial = json_object_get_member (task->initial,
                                                  g_str_equal (edit->field, "tag") ? "tag"
                                                                                   : edit->field);

      if (g_str_equal (edit->field, "untag") || g_str_equal (edit->field, "deleted"))
        continue;
      checked++;

      if (g_hash_table_contains (view->seen, key_text))
        continue;
      if (initial != NULL && json_node_equal (initial, edit->value))
        continue;
      if (superseded (world, edit, i))
        {
          coalesced++;
          continue;
        }
      if (device_history_explains (world, edit->dev, edit->task, edit->field))
        {
          explained++;
          continue;
        }
      if (deleted_by_author (world, edit, i))
        {
          dropped++;
          continue;
        }
      ps_fail (world, "device %u set %s of %s to %s (event %" G_GUINT64_FORMAT "); the server "
                      "never had it and no question about it was answered", edit->dev,
               edit->field, edit->task, text, edit->seq);
    }
  ps_trace (world, "edits: %u kept on the server, %u replaced on their device before they left, "
                   "%u settled by a question, %u deleted with their task by their author",
            checked - explained - coalesced - dropped, coalesced, explained, dropped);
}

/* Deletes stick unless someone restored (or kept) the task. */
static void
check_deletes (PsWorld    *world,
               ServerView *view)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, world->tasks);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      PsTask *task = value;
      JsonObject *record = g_hash_table_lookup (view->records, key);
      gboolean deleted = json_object_get_boolean_member (record, "deleted");

      if (!deleted && task->last_delete > task->last_undelete)
        {
          gboolean asked = FALSE;

          /* A delete refused because the task was edited elsewhere is a
           * question; the device that asked it has it in history. */
          for (guint dev = 0; dev < world->devices->len && !asked; dev++)
            asked = device_history_explains (world, dev, task->id, "deleted");
          if (!asked)
            {
              print_server_history (world, task->id);
              ps_fail (world, "task %s was deleted (event %" G_GUINT64_FORMAT ") and is live on "
                              "the server, though nobody restored it", task->id, task->last_delete);
            }
        }
      if (deleted && task->last_delete == 0)
        ps_fail (world, "task %s is deleted on the server, though nobody deleted it", task->id);
    }
}

void
ps_check_all (PsWorld *world)
{
  g_auto(ServerView) view = { 0 };

  check_converged (world);
  check_server_log (world);
  server_view_load (world, &view);
  check_edits_kept (world, &view);
  check_deletes (world, &view);
  ps_trace (world, "all checks passed");
}
