/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-bench"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench-common.h"
#include "bench-server.h"
#include "tandem-account.h"
#include "tandem-store.h"
#include "tandem-sync-engine.h"

/* How fast the client sync engine is against a real tandem-server on
 * loopback (DESIGN §4, §6), in one run:
 *
 * 1. push: a device with --ops tasks created offline syncs once with the
 *    default batch size (500), and another device (another user) with the
 *    same number of ops syncs once with a batch size of 1 — one request per
 *    op, as the guide's loop does. Push and the pull that follows are timed
 *    apart (the engine's state changes from pushing to pulling).
 * 2. initial pull: for each of --pull-sizes, a user whose server already
 *    holds that many tasks (pushed by a seeding device, not timed) and a
 *    fresh, empty device of that user that syncs once.
 * 3. edit to visible: devices A and B of one user both poll (each starts a
 *    sync every --poll-ms, skipping a tick while its sync runs, at a phase of
 *    its own); A edits a title and the clock stops when B's store shows it
 *    after one of B's syncs.
 *
 * Every sync runs tandem_sync_engine_sync_async on a GMainLoop. Devices
 * that are measured keep their database in the data folder (--dir), on disk,
 * so their commits pay real fsyncs; seeding devices use --seed-dir (default
 * /dev/shm) because their work is not measured. The server's own log (one
 * line per request with its duration) is read back to split the time into
 * server and client. One JSON object per line goes to stdout; progress goes
 * to stderr. */

#ifndef TANDEM_SERVER_PATH
#define TANDEM_SERVER_PATH "tandem-server"
#endif

#define DEFAULT_BATCH      500
#define PUSH_TARGET_S      2.0
#define PULL_TARGET_TASKS  100000
#define PULL_TARGET_S      5.0
#define EDIT_TASKS         1000
#define IDLE_SYNCS         20
#define EDIT_TIMEOUT_S     60

static int opt_ops = 10000;
static char *opt_pull_sizes = NULL;
static char *opt_poll_ms = NULL;
static int opt_edits = 20;
static int opt_run = 0;
static char *opt_server = NULL;
static char *opt_dir = NULL;
static char *opt_seed_dir = NULL;
static char *opt_server_wrapper = NULL;
static char **opt_perf_fifos = NULL;
static gboolean opt_keep = FALSE;
static gboolean opt_no_one_per_op = FALSE;

static const GOptionEntry options[] = {
  { "ops", 0, 0, G_OPTION_ARG_INT, &opt_ops,
    "Offline ops each push device sends (10000; 0 skips the push part)", "N" },
  { "pull-sizes", 0, 0, G_OPTION_ARG_STRING, &opt_pull_sizes,
    "Tasks on the server for each initial pull (1000,10000,100000; 0 skips)", "N,N,..." },
  { "poll-ms", 0, 0, G_OPTION_ARG_STRING, &opt_poll_ms,
    "Polling intervals of the edit-to-visible part (250,1000)", "MS,MS,..." },
  { "edits", 0, 0, G_OPTION_ARG_INT, &opt_edits,
    "Edits timed per polling interval (20; 0 skips the part)", "N" },
  { "server", 0, 0, G_OPTION_ARG_FILENAME, &opt_server,
    "The tandem-server to run (default: the one in the build tree)", "PATH" },
  { "dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_dir,
    "Put the server's data and the measured devices in a new folder inside DIR "
    "(default: the temporary folder)", "DIR" },
  { "seed-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_seed_dir,
    "Put the databases of the (untimed) seeding devices in DIR (default: /dev/shm if "
    "present, else the data folder)", "DIR" },
  { "server-wrapper", 0, 0, G_OPTION_ARG_STRING, &opt_server_wrapper,
    "Run the server under this command, e.g. \"perf record -g -o server.data --\"", "CMD" },
  { "perf-fifo", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_perf_fifos,
    "Write enable/disable to this perf --control FIFO around each timed sync (repeatable)",
    "FIFO" },
  { "no-one-per-op", 0, 0, G_OPTION_ARG_NONE, &opt_no_one_per_op,
    "Time only the batched push (e.g. to profile it)", NULL },
  { "keep", 0, 0, G_OPTION_ARG_NONE, &opt_keep, "Keep the data folder and server log", NULL },
  { "run", 0, 0, G_OPTION_ARG_INT, &opt_run, "Add \"run\": N to every line", "N" },
  { NULL }
};

/* perf record --control: profiles cover the timed syncs only. */
static void
perf_control (const char *command)
{
  for (guint i = 0; opt_perf_fifos != NULL && opt_perf_fifos[i] != NULL; i++)
    {
      int fd = g_open (opt_perf_fifos[i], O_WRONLY | O_CLOEXEC, 0);
      g_autofree char *line = g_strconcat (command, "\n", NULL);

      if (fd < 0)
        {
          g_printerr ("sync: cannot open %s: %s\n", opt_perf_fifos[i], g_strerror (errno));
          continue;
        }
      if (write (fd, line, strlen (line)) < 0)
        g_printerr ("sync: cannot write to %s: %s\n", opt_perf_fifos[i], g_strerror (errno));
      close (fd);
    }
}

/* What the server did */

/* Requests the server logged, per route. */
typedef struct
{
  guint  pushes;
  double push_ms;
  guint  pulls;
  double pull_ms;
  guint  others;
  guint  failed;      /* status >= 400 */
} ServerRequests;

typedef struct
{
  BenchServer *server;
  gsize        log_offset;   /* what server_requests_since has read */
  char        *dir;          /* the measured devices */
  char        *seed_dir;     /* the seeding devices */
} Bench;

/* Bytes written through write()/pwrite() so far by process @pid (0: this
 * one), from /proc/PID/io: SQLite's WAL frames, checkpoints and sockets. */
static double
written_mb (int pid)
{
  g_autofree char *path = pid > 0 ? g_strdup_printf ("/proc/%d/io", pid)
                                  : g_strdup ("/proc/self/io");
  g_autofree char *contents = NULL;
  const char *wchar;

  if (!g_file_get_contents (path, &contents, NULL, NULL) ||
      (wchar = strstr (contents, "wchar:")) == NULL)
    return 0;
  return g_ascii_strtod (wchar + strlen ("wchar:"), NULL) / (1024 * 1024);
}

/* The request lines the server logged since the last call, e.g.
 * "…: POST /v1/sync/push 200 12.3ms user=2". */
static void
server_requests_since (Bench          *bench,
                       ServerRequests *requests)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_auto(GStrv) lines = NULL;

  memset (requests, 0, sizeof *requests);
  if (!g_file_get_contents (bench->server->log_path, &contents, &length, NULL) ||
      length <= bench->log_offset)
    return;
  lines = g_strsplit (contents + bench->log_offset, "\n", -1);
  /* Only whole lines: a line being written is read next time. */
  bench->log_offset = length;
  if (length > 0 && contents[length - 1] != '\n')
    {
      guint n = g_strv_length (lines);

      bench->log_offset -= strlen (lines[n - 1]);
    }

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *at;
      guint status = 0;
      double ms = 0;
      gboolean push;

      if ((at = strstr (lines[i], " POST /v1/sync/push ")) != NULL)
        push = TRUE;
      else if ((at = strstr (lines[i], " GET /v1/sync/changes ")) != NULL)
        push = FALSE;
      else
        {
          if (strstr (lines[i], " /v1/") != NULL)
            requests->others++;
          continue;
        }
      at = strchr (at + 1, ' ');
      at = strchr (at + 1, ' ');
      if (at == NULL || sscanf (at, " %u %lfms", &status, &ms) != 2)
        continue;
      if (status >= 400)
        requests->failed++;
      if (push)
        {
          requests->pushes++;
          requests->push_ms += ms;
        }
      else
        {
          requests->pulls++;
          requests->pull_ms += ms;
        }
    }
}

/* Devices */

typedef struct
{
  char             *path;
  TandemStore      *store;
  TandemSyncEngine *engine;
  gulong            state_handler;
  double            pull_started;   /* when the engine last moved to pulling */
} Device;

static void
device_free (Device *device)
{
  if (device == NULL)
    return;
  g_clear_signal_handler (&device->state_handler, device->engine);
  g_clear_object (&device->engine);
  g_clear_object (&device->store);
  g_free (device->path);
  g_free (device);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Device, device_free)

static void
device_state_changed (TandemSyncEngine *engine,
                      GParamSpec       *pspec,
                      Device           *device)
{
  if (tandem_sync_engine_get_state (engine) == TANDEM_SYNC_STATE_PULLING &&
      device->pull_started == 0)
    device->pull_started = bench_now_s ();
}

/* A device of @token's user with a database of its own at DIR/NAME.db. */
static Device *
device_new (const char   *dir,
            const char   *name,
            BenchServer  *server,
            const char   *token,
            GError      **error)
{
  g_autoptr(Device) device = g_new0 (Device, 1);
  g_autofree char *file = g_strconcat (name, ".db", NULL);
  TandemTokenStorage storage;

  device->path = g_build_filename (dir, file, NULL);
  if (!(device->store = tandem_store_open (device->path, error)) ||
      !tandem_account_save (device->store, server->url, token, &storage, error))
    return NULL;
  g_assert (storage == TANDEM_TOKEN_IN_DATABASE);
  device->engine = tandem_sync_engine_new (device->store);
  device->state_handler = g_signal_connect (device->engine, "notify::state",
                                            G_CALLBACK (device_state_changed), device);
  return g_steal_pointer (&device);
}

static void
remove_database (const char *path)
{
  static const char *suffixes[] = { "", "-wal", "-shm", "-journal" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (path, suffixes[i], NULL);

      g_unlink (file);
    }
}

/* Closes the device and deletes its database, unless --keep. */
static void
device_discard (Device *device)
{
  g_autofree char *path = g_strdup (device->path);

  device_free (device);
  if (!opt_keep)
    remove_database (path);
}

typedef struct
{
  GMainLoop         *loop;
  TandemSyncOutcome  outcome;
  GError            *error;
} SyncWait;

static void
sync_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  SyncWait *wait = user_data;

  wait->outcome = tandem_sync_engine_sync_finish (TANDEM_SYNC_ENGINE (source), result,
                                                  &wait->error);
  g_main_loop_quit (wait->loop);
}

/* One sync attempt, run to its end on a main loop; it must end DONE. */
static gboolean
device_sync (Device  *device,
             GError **error)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  SyncWait wait = { loop, 0, NULL };

  device->pull_started = 0;
  tandem_sync_engine_sync_async (device->engine, NULL, sync_done_cb, &wait);
  g_main_loop_run (loop);
  if (wait.error != NULL)
    {
      g_propagate_error (error, wait.error);
      return FALSE;
    }
  if (wait.outcome != TANDEM_SYNC_OUTCOME_DONE)
    {
      const char *last = tandem_sync_engine_get_last_error (device->engine);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "a sync of %s ended with outcome %d: %s",
                   device->path, wait.outcome, last ? last : "no error given");
      return FALSE;
    }
  return TRUE;
}

/* Timing of one sync: wall time split at the moment the engine moved from
 * pushing to pulling, CPU of this process and of the server, and the
 * requests the server logged with their own durations. */
typedef struct
{
  double         total_s;
  double         push_s;
  double         pull_s;
  double         client_cpu_s;
  double         server_cpu_s;
  double         client_written_mb;
  double         server_written_mb;
  ServerRequests requests;
} SyncTiming;

static gboolean
device_sync_timed (Device      *device,
                   Bench       *bench,
                   SyncTiming  *timing,
                   GError     **error)
{
  BenchServer *server = bench->server;
  ServerRequests before;
  double start, end, cpu, server_cpu, written, server_written;

  server_requests_since (bench, &before);
  perf_control ("enable");
  cpu = bench_self_cpu_s ();
  server_cpu = bench_proc_cpu_s (server->pid);
  written = written_mb (0);
  server_written = written_mb (server->pid);
  start = bench_now_s ();
  if (!device_sync (device, error))
    {
      perf_control ("disable");
      return FALSE;
    }
  end = bench_now_s ();
  timing->client_cpu_s = bench_self_cpu_s () - cpu;
  timing->server_cpu_s = bench_proc_cpu_s (server->pid) - server_cpu;
  timing->client_written_mb = written_mb (0) - written;
  timing->server_written_mb = written_mb (server->pid) - server_written;
  perf_control ("disable");
  timing->total_s = end - start;
  timing->push_s = (device->pull_started > 0 ? device->pull_started : end) - start;
  timing->pull_s = end - (device->pull_started > 0 ? device->pull_started : end);
  /* The server logs a request after answering it, so by now all are there. */
  server_requests_since (bench, &timing->requests);
  return TRUE;
}

static char *
timing_members (const SyncTiming *timing)
{
  return g_strdup_printf ("\"total_s\":%.3f,\"push_s\":%.3f,\"pull_s\":%.3f,"
                          "\"push_requests\":%u,\"server_push_s\":%.3f,"
                          "\"pull_requests\":%u,\"server_pull_s\":%.3f,"
                          "\"client_cpu_s\":%.2f,\"server_cpu_s\":%.2f,"
                          "\"client_written_mb\":%.1f,\"server_written_mb\":%.1f",
                          timing->total_s, timing->push_s, timing->pull_s,
                          timing->requests.pushes, timing->requests.push_ms / 1e3,
                          timing->requests.pulls, timing->requests.pull_ms / 1e3,
                          timing->client_cpu_s, timing->server_cpu_s,
                          timing->client_written_mb, timing->server_written_mb);
}

static gboolean
check_requests (const SyncTiming  *timing,
                GError           **error)
{
  if (timing->requests.failed > 0 || timing->requests.others > 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "the timed sync made %u failed and %u unexpected requests",
                   timing->requests.failed, timing->requests.others);
      return FALSE;
    }
  return TRUE;
}

/* @n tasks made offline, like a user's: 2–6 word titles, some notes, due
 * dates, priorities, done flags and tags; all in the Inbox, so that the
 * outbox holds exactly @n ops (one create each). */
static gboolean
create_tasks (Device  *device,
              guint    n,
              guint32  seed,
              GError **error)
{
  static const char *words[] = {
    "Buy", "milk", "Call", "the", "plumber", "about", "the", "leak", "Write", "report",
    "Plan", "trip", "to", "Lisbon", "Renew", "passport", "Fix", "bike", "Read", "chapter",
  };
  static const char *tags[] = { "home", "work", "errand", "later", "urgent", "reading" };
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(TandemTask) draft = tandem_task_new ();
      g_autoptr(TandemTask) task = NULL;
      GString *title = g_string_new (NULL);
      guint n_words = g_rand_int_range (rand, 2, 7);

      for (guint w = 0; w < n_words; w++)
        g_string_append_printf (title, "%s%s", w ? " " : "",
                                words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))]);
      g_string_append_printf (title, " #%u", i);
      g_free (draft->title);
      draft->title = g_string_free (title, FALSE);
      if (g_rand_int_range (rand, 0, 4) == 0)
        {
          g_free (draft->notes);
          draft->notes = g_strdup ("Some notes about this task,\nspread over two lines.");
        }
      if (g_rand_boolean (rand))
        draft->due = g_strdup_printf ("2026-%02d-%02d", g_rand_int_range (rand, 1, 13),
                                      g_rand_int_range (rand, 1, 29));
      draft->priority = g_rand_int_range (rand, 0, TANDEM_PRIORITY_MAX + 1);
      draft->done = g_rand_int_range (rand, 0, 3) == 0;
      if (g_rand_boolean (rand))
        tandem_task_add_tag (draft, tags[g_rand_int_range (rand, 0, G_N_ELEMENTS (tags))]);

      if (!(task = tandem_store_create_task (device->store, draft, error)))
        return FALSE;
    }
  return TRUE;
}

static gboolean
count_tasks (Device  *device,
             guint   *n_tasks,
             guint   *n_pending,
             GError **error)
{
  g_autoptr(GPtrArray) tasks = tandem_store_list_tasks (device->store, TANDEM_TASK_QUERY_LIVE,
                                                        error);
  guint n_parked = 0, n_conflicts = 0;

  if (tasks == NULL ||
      !tandem_store_get_sync_counts (device->store, n_pending, &n_parked, &n_conflicts, error))
    return FALSE;
  *n_tasks = tasks->len;
  if (n_parked > 0 || n_conflicts > 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s has %u parked ops and %u conflicts",
                   device->path, n_parked, n_conflicts);
      return FALSE;
    }
  return TRUE;
}

/* 1. Push */

static gboolean
time_push (Bench      *bench,
           const char *name,
           guint       batch_size,
           SyncTiming *timing,
           GError    **error)
{
  g_autofree char *token = NULL;
  g_autoptr(Device) device = NULL;
  g_autofree char *extra = NULL;
  guint n_tasks = 0, n_pending = 0;
  double start;

  if (!(token = bench_server_create_token (bench->server, name, error)) ||
      !(device = device_new (bench->dir, name, bench->server, token, error)))
    return FALSE;
  tandem_sync_engine_set_batch_size (device->engine, batch_size);

  start = bench_now_s ();
  if (!create_tasks (device, opt_ops, 42, error))
    return FALSE;
  g_printerr ("sync: %s: %d tasks created offline in %.1f s; syncing with batches of %u\n",
              name, opt_ops, bench_now_s () - start, batch_size);

  if (!device_sync_timed (device, bench, timing, error) ||
      !check_requests (timing, error) ||
      !count_tasks (device, &n_tasks, &n_pending, error))
    return FALSE;
  if (n_pending != 0 || n_tasks != (guint) opt_ops)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "after the push %s holds %u tasks and %u pending ops, not %d and 0", name,
                   n_tasks, n_pending, opt_ops);
      return FALSE;
    }

  extra = timing_members (timing);
  bench_print_line (batch_size == 1 ? "push_one_per_op" : "push_batched",
                    "\"ops\":%d,\"batch\":%u,%s,\"push_ops_per_s\":%.0f%s", opt_ops, batch_size,
                    extra, opt_ops / timing->push_s,
                    batch_size == DEFAULT_BATCH && opt_ops == 10000
                      ? (timing->push_s < PUSH_TARGET_S ? ",\"target_s\":2,\"met\":true"
                                                        : ",\"target_s\":2,\"met\":false")
                      : "");
  device_discard (g_steal_pointer (&device));
  return TRUE;
}

static gboolean
bench_push (Bench   *bench,
            GError **error)
{
  SyncTiming batched = { 0 }, single = { 0 };

  if (!time_push (bench, "push-batched", DEFAULT_BATCH, &batched, error))
    return FALSE;
  if (opt_no_one_per_op)
    return TRUE;
  if (!time_push (bench, "push-one-per-op", 1, &single, error))
    return FALSE;
  bench_print_line ("push_ratio",
                    "\"ops\":%d,\"value\":%.1f,\"what\":\"push_s one per op / push_s batched\","
                    "\"whole_sync_value\":%.1f", opt_ops, single.push_s / batched.push_s,
                    single.total_s / batched.total_s);
  return TRUE;
}

/* 2. Initial pull */

/* A user whose server holds @n tasks: pushed by a seeding device that is
 * then thrown away. */
static char *
seed_user (Bench       *bench,
           const char  *user,
           guint        n,
           GError     **error)
{
  g_autofree char *token = NULL;
  g_autofree char *name = g_strconcat (user, "-seed", NULL);
  g_autoptr(Device) seeder = NULL;
  double start = bench_now_s ();

  if (!(token = bench_server_create_token (bench->server, user, error)) ||
      !(seeder = device_new (bench->seed_dir, name, bench->server, token, error)) ||
      !create_tasks (seeder, n, n, error))
    return NULL;
  g_printerr ("sync: %s: %u tasks created in %.1f s", user, n, bench_now_s () - start);
  start = bench_now_s ();
  if (!device_sync (seeder, error))
    return NULL;
  g_printerr (", pushed in %.1f s\n", bench_now_s () - start);
  device_discard (g_steal_pointer (&seeder));
  return g_steal_pointer (&token);
}

static gboolean
bench_pull (Bench   *bench,
            GArray  *sizes,
            GError **error)
{
  for (guint i = 0; i < sizes->len; i++)
    {
      guint n = g_array_index (sizes, guint, i);
      g_autofree char *user = g_strdup_printf ("pull-%u", n);
      g_autofree char *token = NULL;
      g_autoptr(Device) device = NULL;
      g_autofree char *extra = NULL;
      g_autofree char *target = NULL;
      SyncTiming timing = { 0 };
      guint n_tasks = 0, n_pending = 0;
      g_autofree char *wal = NULL;
      GStatBuf st;
      gint64 db_bytes = 0;

      if (!(token = seed_user (bench, user, n, error)) ||
          !(device = device_new (bench->dir, user, bench->server, token, error)) ||
          !device_sync_timed (device, bench, &timing, error) ||
          !check_requests (&timing, error) ||
          !count_tasks (device, &n_tasks, &n_pending, error))
        return FALSE;
      if (n_tasks != n || n_pending != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "the pulling device holds %u tasks and %u pending ops, not %u and 0",
                       n_tasks, n_pending, n);
          return FALSE;
        }
      wal = g_strconcat (device->path, "-wal", NULL);
      /* WAL mode: what was pulled may still be in the -wal file. */
      if (g_stat (device->path, &st) == 0)
        db_bytes = st.st_size;
      if (g_stat (wal, &st) == 0)
        db_bytes += st.st_size;

      extra = timing_members (&timing);
      if (n == PULL_TARGET_TASKS)
        target = g_strdup_printf (",\"target_s\":%.0f,\"met\":%s", PULL_TARGET_S,
                                  timing.total_s < PULL_TARGET_S ? "true" : "false");
      bench_print_line ("initial_pull", "\"tasks\":%u,\"s\":%.3f,\"rows_per_s\":%.0f,%s,"
                        "\"db_bytes\":%" G_GINT64_FORMAT "%s", n, timing.total_s,
                        n / timing.total_s, extra, db_bytes, target ? target : "");
      device_discard (g_steal_pointer (&device));
    }
  return TRUE;
}

/* 3. Edit to visible, both devices polling */

typedef struct _EditRun EditRun;

typedef struct
{
  EditRun *run;
  Device  *device;
  guint    timer_id;
  gboolean busy;
  double   started;     /* of the sync running now */
  guint    skipped;     /* ticks that found the previous sync still running */
} Poller;

struct _EditRun
{
  GMainLoop  *loop;
  GError     *error;
  guint       interval_ms;
  Poller      a;
  Poller      b;
  char       *task_id;
  char       *expected;      /* the title B must show */
  double      edited;        /* t0 */
  double      a_pushed;      /* end of A's first sync that started after t0 */
  double      visible;       /* end of the B sync that showed it */
  gboolean    stopping;
  guint       timeout_id;
  GArray     *a_sync_ms;     /* every sync while polling */
  GArray     *b_sync_ms;
};

static void poller_start_sync (Poller *poller);

static gboolean
poller_tick (gpointer data)
{
  Poller *poller = data;

  if (poller->busy)
    poller->skipped++;
  else
    poller_start_sync (poller);
  return G_SOURCE_CONTINUE;
}

/* The first tick comes at a phase of its own, then one every interval. */
static gboolean
poller_first_tick (gpointer data)
{
  Poller *poller = data;

  poller->timer_id = g_timeout_add (poller->run->interval_ms, poller_tick, poller);
  poller_start_sync (poller);
  return G_SOURCE_REMOVE;
}

static void
edit_run_maybe_quit (EditRun *run)
{
  if (run->stopping && !run->a.busy && !run->b.busy)
    g_main_loop_quit (run->loop);
}

static void
edit_run_stop (EditRun *run)
{
  run->stopping = TRUE;
  g_clear_handle_id (&run->a.timer_id, g_source_remove);
  g_clear_handle_id (&run->b.timer_id, g_source_remove);
  g_clear_handle_id (&run->timeout_id, g_source_remove);
  edit_run_maybe_quit (run);
}

static void
poller_sync_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  Poller *poller = data;
  EditRun *run = poller->run;
  g_autoptr(GError) error = NULL;
  TandemSyncOutcome outcome;
  double end = bench_now_s ();

  outcome = tandem_sync_engine_sync_finish (TANDEM_SYNC_ENGINE (source), result, &error);
  poller->busy = FALSE;
  g_array_append_val (poller == &run->a ? run->a_sync_ms : run->b_sync_ms,
                      (double) { (end - poller->started) * 1e3 });

  if (error == NULL && outcome != TANDEM_SYNC_OUTCOME_DONE)
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "a polling sync ended with outcome %d: %s",
                 outcome, tandem_sync_engine_get_last_error (TANDEM_SYNC_ENGINE (source)));
  if (error != NULL)
    {
      if (run->error == NULL)
        run->error = g_steal_pointer (&error);
      edit_run_stop (run);
      return;
    }

  if (poller == &run->a && run->a_pushed == 0 && poller->started >= run->edited)
    run->a_pushed = end;
  if (poller == &run->b && run->visible == 0)
    {
      g_autoptr(TandemTask) task = tandem_store_get_task (poller->device->store, run->task_id,
                                                          &error);

      if (task == NULL)
        {
          run->error = g_steal_pointer (&error);
          edit_run_stop (run);
          return;
        }
      if (g_strcmp0 (task->title, run->expected) == 0)
        {
          run->visible = end;
          edit_run_stop (run);
          return;
        }
    }
  edit_run_maybe_quit (run);
}

static void
poller_start_sync (Poller *poller)
{
  if (poller->run->stopping)
    return;
  poller->busy = TRUE;
  poller->started = bench_now_s ();
  tandem_sync_engine_sync_async (poller->device->engine, NULL, poller_sync_done, poller);
}

static gboolean
edit_timeout_cb (gpointer data)
{
  EditRun *run = data;

  run->timeout_id = 0;
  if (run->error == NULL)
    g_set_error (&run->error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                 "device B did not show the edit within %d s", EDIT_TIMEOUT_S);
  edit_run_stop (run);
  return G_SOURCE_REMOVE;
}

/* One edit on A while both poll; returns the latency in ms, or < 0. */
static double
time_one_edit (EditRun  *run,
               GRand    *rand,
               guint     number,
               double   *a_part_ms,
               GError  **error)
{
  g_autoptr(JsonObject) changes = json_object_new ();
  guint a_phase = g_rand_int_range (rand, 0, run->interval_ms);
  guint b_phase = g_rand_int_range (rand, 0, run->interval_ms);

  g_free (run->expected);
  run->expected = g_strdup_printf ("Edited on A, edit %u every %u ms", number, run->interval_ms);
  run->stopping = FALSE;
  run->a_pushed = run->visible = 0;
  run->a.timer_id = g_timeout_add (a_phase, poller_first_tick, &run->a);
  run->b.timer_id = g_timeout_add (b_phase, poller_first_tick, &run->b);
  run->timeout_id = g_timeout_add_seconds (EDIT_TIMEOUT_S, edit_timeout_cb, run);

  /* Both pollers started at phases of their own: the edit lands at a
   * uniformly random moment of each one's cycle. */
  json_object_set_string_member (changes, "title", run->expected);
  run->edited = bench_now_s ();
  if (!tandem_store_update_task (run->a.device->store, run->task_id, changes, error))
    {
      edit_run_stop (run);
      return -1;
    }

  g_main_loop_run (run->loop);
  if (run->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&run->error));
      return -1;
    }
  *a_part_ms = run->a_pushed > 0 ? (run->a_pushed - run->edited) * 1e3 : 0;
  return (run->visible - run->edited) * 1e3;
}

static char *
distribution_members (const char *name,
                      GArray     *samples)
{
  g_array_sort (samples, bench_compare_doubles);
  return g_strdup_printf ("\"%s_p50\":%.1f,\"%s_p95\":%.1f,\"%s_max\":%.1f", name,
                          bench_percentile (samples, 50), name, bench_percentile (samples, 95),
                          name, bench_percentile (samples, 100));
}

static gboolean
bench_edit_to_visible (Bench   *bench,
                       GArray  *intervals,
                       GError **error)
{
  g_autofree char *token = NULL;
  g_autoptr(Device) a = NULL;
  g_autoptr(Device) b = NULL;
  g_autoptr(GPtrArray) tasks = NULL;
  g_autoptr(GArray) idle_ms = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree char *idle = NULL;
  guint number = 0;

  /* Two devices of one user that already share an account of 1,000 tasks. */
  if (!(token = bench_server_create_token (bench->server, "edit", error)) ||
      !(a = device_new (bench->dir, "edit-a", bench->server, token, error)) ||
      !(b = device_new (bench->dir, "edit-b", bench->server, token, error)) ||
      !create_tasks (a, EDIT_TASKS, 5, error) ||
      !device_sync (a, error) || !device_sync (b, error) ||
      !(tasks = tandem_store_list_tasks (a->store, TANDEM_TASK_QUERY_LIVE, error)))
    return FALSE;

  /* What one poll costs when there is nothing to do: push nothing, read an
   * empty page of the feed. */
  for (guint i = 0; i < IDLE_SYNCS; i++)
    {
      double start = bench_now_s ();

      if (!device_sync (b, error))
        return FALSE;
      g_array_append_val (idle_ms, (double) { (bench_now_s () - start) * 1e3 });
    }
  idle = distribution_members ("ms", idle_ms);
  bench_print_line ("idle_sync", "%s,\"n\":%u,\"tasks\":%u", idle, idle_ms->len, EDIT_TASKS);

  for (guint i = 0; i < intervals->len; i++)
    {
      g_autoptr(GArray) latency = g_array_new (FALSE, FALSE, sizeof (double));
      g_autoptr(GArray) a_part = g_array_new (FALSE, FALSE, sizeof (double));
      g_autofree char *latency_text = NULL;
      g_autofree char *a_text = NULL;
      g_autofree char *a_sync_text = NULL;
      g_autofree char *b_sync_text = NULL;
      EditRun run = { 0 };
      double mean = 0;
      guint skipped;

      run.loop = loop;
      run.interval_ms = g_array_index (intervals, guint, i);
      run.a = (Poller) { &run, a, 0, FALSE, 0, 0 };
      run.b = (Poller) { &run, b, 0, FALSE, 0, 0 };
      run.a_sync_ms = g_array_new (FALSE, FALSE, sizeof (double));
      run.b_sync_ms = g_array_new (FALSE, FALSE, sizeof (double));

      for (int e = 0; e < opt_edits; e++)
        {
          TandemTask *task = g_ptr_array_index (tasks, g_rand_int_range (rand, 0, tasks->len));
          double a_ms = 0, ms;

          g_free (run.task_id);
          run.task_id = g_strdup (task->id);
          if ((ms = time_one_edit (&run, rand, ++number, &a_ms, error)) < 0)
            {
              g_free (run.task_id);
              g_free (run.expected);
              g_array_unref (run.a_sync_ms);
              g_array_unref (run.b_sync_ms);
              return FALSE;
            }
          g_array_append_val (latency, ms);
          g_array_append_val (a_part, a_ms);
          mean += ms / opt_edits;
        }

      skipped = run.a.skipped + run.b.skipped;
      latency_text = distribution_members ("ms", latency);
      a_text = distribution_members ("edit_to_a_synced_ms", a_part);
      a_sync_text = distribution_members ("a_sync_ms", run.a_sync_ms);
      b_sync_text = distribution_members ("b_sync_ms", run.b_sync_ms);
      bench_print_line ("edit_to_visible", "\"poll_ms\":%u,%s,\"mean_ms\":%.1f,\"n\":%d,%s,%s,%s,"
                        "\"ticks_skipped\":%u", run.interval_ms, latency_text, mean, opt_edits,
                        a_text, a_sync_text, b_sync_text, skipped);

      g_free (run.task_id);
      g_free (run.expected);
      g_array_unref (run.a_sync_ms);
      g_array_unref (run.b_sync_ms);
    }
  return TRUE;
}

/* Setup */

static GArray *
parse_list (const char  *option,
            const char  *text,
            GError     **error)
{
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (guint));
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      guint64 value;

      if (!g_ascii_string_to_unsigned (g_strstrip (parts[i]), 10, 0, 10000000, &value, error))
        {
          g_prefix_error (error, "--%s: ", option);
          return NULL;
        }
      if (value > 0)
        g_array_append_val (values, (guint) { value });
    }
  return g_steal_pointer (&values);
}

static gboolean
run (Bench   *bench,
     GArray  *pull_sizes,
     GArray  *intervals,
     GError **error)
{
  double start = bench_now_s ();

  bench_print_line ("setup", "\"cpus\":%ld,\"load_1min\":%.2f,\"server\":\"%s\",\"dir\":\"%s\","
                    "\"seed_dir\":\"%s\"", sysconf (_SC_NPROCESSORS_ONLN), bench_load_average (),
                    bench->server->binary, bench->dir, bench->seed_dir);

  if (opt_ops > 0 && !bench_push (bench, error))
    return FALSE;
  if (pull_sizes->len > 0 && !bench_pull (bench, pull_sizes, error))
    return FALSE;
  if (opt_edits > 0 && intervals->len > 0 && !bench_edit_to_visible (bench, intervals, error))
    return FALSE;

  bench_print_line ("done", "\"wall_s\":%.1f,\"load_1min\":%.2f", bench_now_s () - start,
                    bench_load_average ());
  return TRUE;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context =
    g_option_context_new ("— time Tandem's sync engine against a tandem-server on loopback");
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) pull_sizes = NULL;
  g_autoptr(GArray) intervals = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *seed_dir = NULL;
  BenchServer server = { 0 };
  Bench bench = { &server, 0, NULL, NULL };
  gboolean ok = FALSE;

  /* The token stays in each device's database, never in a keyring. */
  g_setenv ("TANDEM_NO_KEYRING", "1", TRUE);

  g_option_context_add_main_entries (context, options, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (opt_ops < 0 || opt_edits < 0)
    {
      g_printerr ("--ops and --edits must not be negative\n");
      return 2;
    }
  bench_set_name ("sync", opt_run);
  if (!(pull_sizes = parse_list ("pull-sizes", opt_pull_sizes ? opt_pull_sizes
                                                              : "1000,10000,100000", &error)) ||
      !(intervals = parse_list ("poll-ms", opt_poll_ms ? opt_poll_ms : "250,1000", &error)))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  if (!(dir = bench_make_dir (opt_dir, "tandem-sync-bench-XXXXXX", &error)))
    {
      g_printerr ("sync: %s\n", error->message);
      return 1;
    }
  if (opt_seed_dir != NULL || g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR))
    seed_dir = bench_make_dir (opt_seed_dir ? opt_seed_dir : "/dev/shm",
                               "tandem-sync-bench-XXXXXX", &error);
  else
    seed_dir = g_strdup (dir);
  if (seed_dir == NULL)
    {
      g_printerr ("sync: %s\n", error->message);
      bench_remove_tree (dir);
      return 1;
    }

  server.binary = g_strdup (opt_server ? opt_server : TANDEM_SERVER_PATH);
  server.data_dir = g_build_filename (dir, "server", NULL);
  server.log_path = g_build_filename (dir, "server.log", NULL);
  bench.dir = dir;
  bench.seed_dir = seed_dir;

  if (g_mkdir (server.data_dir, 0700) != 0)
    g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (errno), "Could not create “%s”: %s",
                 server.data_dir, g_strerror (errno));
  else if ((opt_server_wrapper == NULL ||
            g_shell_parse_argv (opt_server_wrapper, NULL, &server.wrapper, &error)) &&
           bench_server_start (&server, &error))
    ok = run (&bench, pull_sizes, intervals, &error);

  bench_server_stop (&server);
  if (!ok)
    g_printerr ("sync: %s (server log: %s)\n", error->message, server.log_path);
  if (opt_keep || !ok)
    g_printerr ("sync: the data folder is kept in %s\n", dir);
  else
    bench_remove_tree (dir);
  if (g_strcmp0 (seed_dir, dir) != 0 && !opt_keep)
    bench_remove_tree (seed_dir);
  else if (g_strcmp0 (seed_dir, dir) != 0)
    g_printerr ("sync: the seeding devices are kept in %s\n", seed_dir);

  bench_server_clear (&server);
  return ok ? 0 : 1;
}
