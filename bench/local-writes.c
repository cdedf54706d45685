/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-bench"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "bench-common.h"
#include "tandem-store.h"

/* How fast local writes are (DESIGN §3): a user edit is one SQLite
 * transaction (row + outbox op + history) committed with synchronous=FULL,
 * so its floor is one fsync on the same disk. Prints one JSON object per
 * line on stdout; progress goes to stderr. */

#define BLOCK_SIZE 4096
#define FSYNC_FILE_BLOCKS 1024   /* 4 MiB, reused round-robin like a WAL */

static int opt_tasks = 100000;
static int opt_edits = 10000;
static int opt_fsyncs = 1000;
static int opt_repeats = 5;
static int opt_run = 0;
static char *opt_dir = NULL;
static gboolean opt_no_sync = FALSE;
static gboolean opt_keep = FALSE;
static char *opt_from = NULL;

static const GOptionEntry options[] = {
  { "tasks", 0, 0, G_OPTION_ARG_INT, &opt_tasks, "Tasks in the database (100000)", "N" },
  { "edits", 0, 0, G_OPTION_ARG_INT, &opt_edits, "Edits to time (10000)", "N" },
  { "fsyncs", 0, 0, G_OPTION_ARG_INT, &opt_fsyncs, "Bare fsyncs to time (1000)", "N" },
  { "repeats", 0, 0, G_OPTION_ARG_INT, &opt_repeats, "Runs of open and list (5)", "N" },
  { "dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_dir,
    "Put the database in a new folder inside DIR (default: the temporary folder)", "DIR" },
  { "no-sync", 0, 0, G_OPTION_ARG_NONE, &opt_no_sync,
    "Leave the created tasks unsynced (edits then fold into their create ops)", NULL },
  { "keep", 0, 0, G_OPTION_ARG_NONE, &opt_keep, "Keep the database afterwards", NULL },
  { "from", 0, 0, G_OPTION_ARG_FILENAME, &opt_from,
    "Start from a copy of a database kept by --keep instead of populating one", "DB" },
  { "run", 0, 0, G_OPTION_ARG_INT, &opt_run, "Add \"run\": N to every line", "N" },
  { NULL }
};

static gboolean
populate (TandemStore *store,
          GPtrArray   *ids,
          GError     **error)
{
  static const char *words[] = {
    "Buy", "milk", "Call", "the", "plumber", "about", "the", "leak", "Write", "report",
    "Plan", "trip", "to", "Lisbon", "Renew", "passport", "Fix", "bike", "Read", "chapter",
  };
  static const char *tags[] = { "home", "work", "errand", "later", "urgent", "reading" };
  g_autoptr(GPtrArray) lists = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  double start = bench_now_us (), created_at;

  /* Ten lists and the Inbox, like a heavy user's account. */
  g_ptr_array_add (lists, NULL);
  for (guint i = 0; i < 10; i++)
    {
      g_autofree char *name = g_strdup_printf ("List %u", i + 1);
      g_autoptr(TandemList) list = tandem_store_create_list (store, name, error);

      if (list == NULL)
        return FALSE;
      g_ptr_array_add (lists, g_strdup (list->id));
    }

  for (int i = 0; i < opt_tasks; i++)
    {
      g_autoptr(TandemTask) draft = tandem_task_new ();
      g_autoptr(TandemTask) task = NULL;
      GString *title = g_string_new (NULL);
      guint n_words = g_rand_int_range (rand, 2, 7);

      for (guint w = 0; w < n_words; w++)
        g_string_append_printf (title, "%s%s", w ? " " : "",
                                words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))]);
      g_string_append_printf (title, " #%d", i);
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
      draft->list_id = g_strdup (g_ptr_array_index (lists, g_rand_int_range (rand, 0, lists->len)));
      if (g_rand_boolean (rand))
        tandem_task_add_tag (draft, tags[g_rand_int_range (rand, 0, G_N_ELEMENTS (tags))]);

      if (!(task = tandem_store_create_task (store, draft, error)))
        return FALSE;
      g_ptr_array_add (ids, g_strdup (task->id));
      if ((i + 1) % 10000 == 0)
        g_printerr ("created %d tasks in %.1f s\n", i + 1, (bench_now_us () - start) / 1e6);
    }
  created_at = bench_now_us ();

  /* The steady state of a large account is synced: every create has been
   * acknowledged and the task has a base snapshot. This is what the sync
   * engine does for each one (DESIGN §3). */
  if (!opt_no_sync)
    {
      g_autoptr(GPtrArray) ops = tandem_store_outbox_list (store, 0, error);
      g_autoptr(GPtrArray) op_ids = g_ptr_array_new ();

      if (ops == NULL)
        return FALSE;
      for (guint i = 0; i < ops->len; i++)
        g_ptr_array_add (op_ids, ((TandemOp *) g_ptr_array_index (ops, i))->op_id);
      g_ptr_array_add (op_ids, NULL);
      if (!tandem_store_outbox_mark_sent (store, (const char *const *) op_ids->pdata, error))
        return FALSE;

      for (guint i = 0; i < ops->len; i++)
        {
          TandemOp *op = g_ptr_array_index (ops, i);
          g_autoptr(TandemTask) server = NULL;

          if (op->entity == TANDEM_ENTITY_TASK)
            {
              if (!(server = tandem_store_get_task (store, op->entity_id, error)))
                return FALSE;
              server->rev = i + 1;
              server->updated_at = tandem_now_rfc3339 ();
              server->sync_status = TANDEM_SYNC_SYNCED;
            }
          if (!tandem_store_outbox_ack (store, op->op_id, server, error))
            return FALSE;
          if ((i + 1) % 20000 == 0)
            g_printerr ("synced %u ops in %.1f s\n", i + 1,
                        (bench_now_us () - created_at) / 1e6);
        }
    }

  bench_print_line ("populate",
                    "\"tasks\":%d,\"method\":\"api\",\"create_s\":%.1f,\"sync_s\":%.1f,"
                    "\"synced\":%s", opt_tasks, (created_at - start) / 1e6,
                    (bench_now_us () - created_at) / 1e6, opt_no_sync ? "false" : "true");
  return TRUE;
}

typedef struct
{
  gboolean done;
  int      priority;
  gboolean has_due;
} TaskState;

/* Edits random tasks, one field at a time in turn; every edit changes
 * something, so every one is a real transaction. */
static double
time_edits (TandemStore *store,
            GPtrArray   *ids,
            GError     **error)
{
  static const char *fields[] = { "title", "notes", "done", "due", "priority" };
  g_autoptr(GArray) samples = g_array_sized_new (FALSE, FALSE, sizeof (double), opt_edits);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autofree TaskState *state = g_new0 (TaskState, ids->len);
  g_autoptr(GPtrArray) tasks = NULL;
  g_autoptr(GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) ops = NULL;
  guint n_ops_before;

  /* What each task holds now, so that done/priority/due really change. */
  if (!(tasks = tandem_store_list_tasks (store, TANDEM_TASK_QUERY_ALL, error)))
    return -1;
  for (guint i = 0; i < ids->len; i++)
    g_hash_table_insert (index, g_ptr_array_index (ids, i), GUINT_TO_POINTER (i));
  for (guint i = 0; i < tasks->len; i++)
    {
      TandemTask *task = g_ptr_array_index (tasks, i);
      guint at = GPOINTER_TO_UINT (g_hash_table_lookup (index, task->id));

      state[at].done = task->done;
      state[at].priority = task->priority;
      state[at].has_due = task->due != NULL;
    }
  if (!(ops = tandem_store_outbox_list (store, 0, error)))
    return -1;
  n_ops_before = ops->len;
  g_clear_pointer (&ops, g_ptr_array_unref);

  for (int i = 0; i < opt_edits; i++)
    {
      guint at = g_rand_int_range (rand, 0, ids->len);
      const char *field = fields[i % G_N_ELEMENTS (fields)];
      g_autoptr(JsonObject) changes = json_object_new ();
      g_autofree char *text = NULL;
      double start;

      if (g_str_equal (field, "title"))
        {
          text = g_strdup_printf ("Edited task, edit %d", i);
          json_object_set_string_member (changes, field, text);
        }
      else if (g_str_equal (field, "notes"))
        {
          text = g_strdup_printf ("Notes as of edit %d:\n- first point\n- second point", i);
          json_object_set_string_member (changes, field, text);
        }
      else if (g_str_equal (field, "done"))
        {
          state[at].done = !state[at].done;
          json_object_set_boolean_member (changes, field, state[at].done);
        }
      else if (g_str_equal (field, "due"))
        {
          if (state[at].has_due)
            json_object_set_null_member (changes, field);
          else
            json_object_set_string_member (changes, field, "2027-01-15");
          state[at].has_due = !state[at].has_due;
        }
      else
        {
          state[at].priority = (state[at].priority + 1) % (TANDEM_PRIORITY_MAX + 1);
          json_object_set_int_member (changes, field, state[at].priority);
        }

      start = bench_now_us ();
      if (!tandem_store_update_task (store, g_ptr_array_index (ids, at), changes, error))
        return -1;
      g_array_append_val (samples, (double) { bench_now_us () - start });
    }

  if (!(ops = tandem_store_outbox_list (store, 0, error)))
    return -1;
  {
    g_autofree char *extra = g_strdup_printf (",\"ops_queued\":%u", ops->len - n_ops_before);

    return bench_print_distribution ("edit_us", samples, extra);
  }
}

/* The physical floor: 4 KiB written in place and made durable, on the same
 * file system, as a WAL commit does. */
static double
time_fsyncs (const char  *dir,
             GError     **error)
{
  g_autofree char *path = g_build_filename (dir, "fsync-probe", NULL);
  g_autoptr(GArray) samples = g_array_sized_new (FALSE, FALSE, sizeof (double), opt_fsyncs);
  g_autoptr(GArray) data_samples = g_array_sized_new (FALSE, FALSE, sizeof (double), opt_fsyncs);
  g_autofree char *block = g_malloc (BLOCK_SIZE);
  double p99;
  int fd;

  fd = g_open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "Could not create “%s”: %s",
                   path, g_strerror (saved));
      return -1;
    }

  /* Allocate the file first so the timed writes change no size. */
  memset (block, 'x', BLOCK_SIZE);
  for (guint i = 0; i < FSYNC_FILE_BLOCKS; i++)
    if (pwrite (fd, block, BLOCK_SIZE, (off_t) i * BLOCK_SIZE) != BLOCK_SIZE)
      goto failed;
  if (fsync (fd) != 0)
    goto failed;

  for (int i = 0; i < opt_fsyncs * 2; i++)
    {
      gboolean data_only = i % 2 == 1;
      off_t offset = (off_t) (i % FSYNC_FILE_BLOCKS) * BLOCK_SIZE;
      double start;

      block[0] = 'a' + i % 26;
      start = bench_now_us ();
      if (pwrite (fd, block, BLOCK_SIZE, offset) != BLOCK_SIZE ||
          (data_only ? fdatasync (fd) : fsync (fd)) != 0)
        goto failed;
      g_array_append_val (data_only ? data_samples : samples,
                          (double) { bench_now_us () - start });
    }
  close (fd);
  g_unlink (path);

  p99 = bench_print_distribution ("fsync_us", samples, ",\"what\":\"pwrite 4 KiB + fsync\"");
  /* SQLite itself syncs its WAL with fdatasync. */
  bench_print_distribution ("fdatasync_us", data_samples,
                            ",\"what\":\"pwrite 4 KiB + fdatasync\"");
  return p99;

failed:
  {
    int saved = errno;

    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "Writing “%s” failed: %s",
                 path, g_strerror (saved));
    close (fd);
    g_unlink (path);
    return -1;
  }
}

/* Copies a file and puts the copy on disk, so that the first checkpoint's
 * fsync in the timed part does not also write out the whole copy. */
static gboolean
copy_synced (const char  *source,
             const char  *dest,
             GError     **error)
{
  g_autoptr(GFile) from = g_file_new_for_path (source);
  g_autoptr(GFile) to = g_file_new_for_path (dest);
  int fd;

  if (!g_file_copy (from, to, G_FILE_COPY_NONE, NULL, NULL, NULL, error))
    return FALSE;
  fd = g_open (dest, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0 || fsync (fd) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Could not write “%s” to disk: %s", dest, g_strerror (saved));
      if (fd >= 0)
        close (fd);
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* A database kept by an earlier run (--keep), copied so that the original
 * stays as it was: comparing two builds on the same tasks then costs no
 * populate. The source must be closed; its WAL file, which the store keeps
 * between sessions, is copied with it. */
static gboolean
copy_from (const char  *source,
           const char  *path,
           GPtrArray   *ids,
           GError     **error)
{
  g_autofree char *wal = g_strconcat (source, "-wal", NULL);
  g_autofree char *wal_copy = g_strconcat (path, "-wal", NULL);
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(GPtrArray) tasks = NULL;

  if (!copy_synced (source, path, error)
      || (g_file_test (wal, G_FILE_TEST_EXISTS) && !copy_synced (wal, wal_copy, error)))
    return FALSE;
  if (!(store = tandem_store_open (path, error))
      || !(tasks = tandem_store_list_tasks (store, TANDEM_TASK_QUERY_ALL, error)))
    return FALSE;
  if ((int) tasks->len != opt_tasks)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "“%s” holds %u tasks, not %d; pass --tasks %u", source, tasks->len,
                   opt_tasks, tasks->len);
      return FALSE;
    }
  for (guint i = 0; i < tasks->len; i++)
    g_ptr_array_add (ids, g_strdup (((TandemTask *) g_ptr_array_index (tasks, i))->id));
  return TRUE;
}

/* Open and list are timed apart: freeing 100,000 listed tasks between two
 * opens would charge the allocator's page faults to the next open. */
static gboolean
time_open_and_list (const char  *path,
                    GError     **error)
{
  g_autoptr(GArray) open_ms = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) list_ms = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(TandemStore) store = NULL;
  g_autofree char *extra = NULL;
  guint n_listed = 0;

  for (int run = 0; run < opt_repeats; run++)
    {
      double start;

      g_clear_object (&store);
      start = bench_now_us ();
      if (!(store = tandem_store_open (path, error)))
        return FALSE;
      g_array_append_val (open_ms, (double) { (bench_now_us () - start) / 1e3 });
    }

  for (int run = 0; run < opt_repeats; run++)
    {
      g_autoptr(GPtrArray) tasks = NULL;
      double start = bench_now_us ();

      if (!(tasks = tandem_store_list_tasks (store, TANDEM_TASK_QUERY_LIVE, error)))
        return FALSE;
      g_array_append_val (list_ms, (double) { (bench_now_us () - start) / 1e3 });
      n_listed = tasks->len;
    }

  bench_print_median ("open_ms", open_ms, ",\"cache\":\"warm\"");
  extra = g_strdup_printf (",\"tasks\":%u,\"cache\":\"warm\"", n_listed);
  bench_print_median ("list_100k_ms", list_ms, extra);
  return TRUE;
}

static gboolean
run (const char  *dir,
     GError     **error)
{
  g_autofree char *path = g_build_filename (dir, "tandem.db", NULL);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(TandemStore) store = NULL;
  GStatBuf st;
  double edit_p99, fsync_p99;

  if (opt_from != NULL)
    {
      if (!copy_from (opt_from, path, ids, error))
        return FALSE;
    }
  else if (!(store = tandem_store_open (path, error)) || !populate (store, ids, error))
    return FALSE;
  /* Start the timed part from a checkpointed file, as after a restart. */
  g_clear_object (&store);
  if (!(store = tandem_store_open (path, error)))
    return FALSE;

  if ((edit_p99 = time_edits (store, ids, error)) < 0)
    return FALSE;
  {
    g_autofree char *wal = g_strconcat (path, "-wal", NULL);

    /* How far the write-ahead log grew: a log that checkpoints keep up
     * with is rewritten in place from its start; one that only grows makes
     * every commit extend the file. */
    if (g_stat (wal, &st) == 0)
      bench_print_line ("wal_size_after_edits", "\"bytes\":%" G_GINT64_FORMAT,
                        (gint64) st.st_size);
  }
  g_clear_object (&store);
  if ((fsync_p99 = time_fsyncs (dir, error)) < 0)
    return FALSE;
  bench_print_line ("edit_p99_over_fsync_p99", "\"value\":%.2f,\"target\":3",
                    edit_p99 / fsync_p99);

  if (!time_open_and_list (path, error))
    return FALSE;

  if (g_stat (path, &st) == 0)
    bench_print_line ("db_size", "\"bytes\":%" G_GINT64_FORMAT ",\"tasks\":%d",
                      (gint64) st.st_size, opt_tasks);
  return TRUE;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("— time Tandem's local writes");
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  gboolean ok;

  g_option_context_add_main_entries (context, options, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  bench_set_name ("local-writes", opt_run);
  if (opt_tasks < 1 || opt_edits < 1 || opt_fsyncs < 1 || opt_repeats < 1)
    {
      g_printerr ("--tasks, --edits, --fsyncs and --repeats must be at least 1\n");
      return 2;
    }

  if (!(dir = bench_make_dir (opt_dir, "tandem-bench-XXXXXX", &error)))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  ok = run (dir, &error);
  if (!ok)
    g_printerr ("local-writes: %s\n", error->message);
  if (opt_keep)
    g_printerr ("The database is kept in %s\n", dir);
  else
    bench_remove_tree (dir);
  return ok ? 0 : 1;
}
