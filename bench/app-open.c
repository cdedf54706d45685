/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-bench"

#include "config.h"

#include <adwaita.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench-common.h"
#include "tandem-application.h"
#include "tandem-codec.h"
#include "tandem-position.h"
#include "tandem-store.h"
#include "tandem-window-private.h"

/* How long the desktop app takes to show a large database (issue 5: "opens
 * a database with 100,000 tasks and shows the first rows in under 1 s").
 *
 * One run is one process: from the start of main() (GTK not initialised
 * yet) to the end of the first frame the window paints with task rows in
 * it, and the process's resident memory at that moment. The database is
 * made first (--seed-only, or at the start of a run without --db) the way
 * a device that pulled a large account holds it: every task synced, with
 * its base snapshot. bench/run-app-open drives it; one JSON object per
 * line on stdout, progress on stderr. */

#define GIVE_UP_SECONDS 120

static int opt_tasks = 100000;
static int opt_run = 0;
static char *opt_db = NULL;
static gboolean opt_seed_only = FALSE;

static const GOptionEntry options[] = {
  { "tasks", 0, 0, G_OPTION_ARG_INT, &opt_tasks, "Tasks in the database (100000)", "N" },
  { "db", 0, 0, G_OPTION_ARG_FILENAME, &opt_db,
    "Open this database, made first when it does not exist (default: a new one in the "
    "temporary folder, removed afterwards)", "PATH" },
  { "seed-only", 0, 0, G_OPTION_ARG_NONE, &opt_seed_only, "Only make the database of --db",
    NULL },
  { "run", 0, 0, G_OPTION_ARG_INT, &opt_run, "Add \"run\": N to the line", "N" },
  { NULL }
};

/* The database */

static gboolean
apply_page (TandemStore *store,
            GPtrArray   *records,
            int          n,
            GError     **error)
{
  g_autofree char *cursor = g_strdup_printf ("%d", n);

  if (records->len == 0)
    return TRUE;
  if (!tandem_store_apply_changes (store, records, cursor, NULL, error))
    return FALSE;
  g_ptr_array_set_size (records, 0);
  return TRUE;
}

/* Ten lists and the Inbox; half of the tasks in the Inbox, which the window
 * opens on, a third of them done (shown: "Show Completed Tasks" is on). The
 * records arrive as a pull would bring them, 1,000 to a transaction. */
static gboolean
seed (const char *path,
      GError    **error)
{
  static const char *words[] = {
    "Buy", "milk", "Call", "the", "plumber", "about", "the", "leak", "Write", "report",
    "Plan", "trip", "to", "Lisbon", "Renew", "passport", "Fix", "bike", "Read", "chapter",
  };
  static const char *tags[] = { "home", "work", "errand", "later", "urgent", "reading" };
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(GPtrArray) records =
    g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_record_free);
  g_autoptr(GPtrArray) list_ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  g_autofree char *now = tandem_now_rfc3339 ();
  g_autofree char *position = NULL;
  gint64 start = g_get_monotonic_time ();
  int rev = 0;

  if (!(store = tandem_store_open (path, error)))
    return FALSE;

  for (guint i = 0; i < 10; i++)
    {
      TandemList *list = tandem_list_new ();
      char *next = tandem_position_between (position, NULL, error);

      if (next == NULL)
        return FALSE;
      g_free (position);
      position = next;
      g_free (list->id);
      list->id = g_uuid_string_random ();
      g_free (list->name);
      list->name = g_strdup_printf ("List %u", i + 1);
      g_free (list->position);
      list->position = g_strdup (position);
      list->rev = ++rev;
      list->sync_status = TANDEM_SYNC_SYNCED;
      list->updated_at = g_strdup (now);
      g_ptr_array_add (list_ids, g_strdup (list->id));
      g_ptr_array_add (records, tandem_record_new_list (list));
    }
  if (!apply_page (store, records, rev, error))
    return FALSE;

  g_clear_pointer (&position, g_free);
  for (int i = 0; i < opt_tasks; i++)
    {
      TandemTask *task = tandem_task_new ();
      GString *title = g_string_new (NULL);
      guint n_words = g_rand_int_range (rand, 2, 7);
      char *next = tandem_position_between (position, NULL, error);

      if (next == NULL)
        {
          tandem_task_free (task);
          g_string_free (title, TRUE);
          return FALSE;
        }
      g_free (position);
      position = next;

      for (guint w = 0; w < n_words; w++)
        g_string_append_printf (title, "%s%s", w ? " " : "",
                                words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))]);
      g_string_append_printf (title, " #%d", i);
      g_free (task->id);
      task->id = g_uuid_string_random ();
      g_free (task->title);
      task->title = g_string_free (title, FALSE);
      if (g_rand_int_range (rand, 0, 4) == 0)
        {
          g_free (task->notes);
          task->notes = g_strdup ("Some notes about this task,\nspread over two lines.");
        }
      if (g_rand_boolean (rand))
        task->due = g_strdup_printf ("2026-%02d-%02d", g_rand_int_range (rand, 1, 13),
                                     g_rand_int_range (rand, 1, 29));
      task->priority = g_rand_int_range (rand, 0, TANDEM_PRIORITY_MAX + 1);
      task->done = g_rand_int_range (rand, 0, 3) == 0;
      if (g_rand_boolean (rand))
        task->list_id = g_strdup (g_ptr_array_index (list_ids,
                                                     g_rand_int_range (rand, 0, list_ids->len)));
      if (g_rand_boolean (rand))
        tandem_task_add_tag (task, tags[g_rand_int_range (rand, 0, G_N_ELEMENTS (tags))]);
      g_free (task->position);
      task->position = g_strdup (position);
      task->rev = ++rev;
      task->updated_at = g_strdup (now);
      task->sync_status = TANDEM_SYNC_SYNCED;
      g_ptr_array_add (records, tandem_record_new_task (task));

      if (records->len == 1000 && !apply_page (store, records, rev, error))
        return FALSE;
      if ((i + 1) % 20000 == 0)
        g_printerr ("app-open: %d tasks stored in %.1f s\n", i + 1,
                    (g_get_monotonic_time () - start) / 1e6);
    }
  if (!apply_page (store, records, rev, error))
    return FALSE;

  bench_print_object ("\"phase\":\"seed\",\"tasks\":%d,\"lists\":%u,\"seed_s\":%.1f", opt_tasks,
                      list_ids->len, (g_get_monotonic_time () - start) / 1e6);
  return TRUE;
}

/* The measurement */

typedef struct
{
  gint64        main_start;
  gint64        registered;
  gint64        opened;
  gint64        first_frame;
  guint         rows_shown;
  TandemWindow *window;
  gboolean      done;
} Measure;

static guint
count_task_rows (TandemWindow *window)
{
  guint n = 0;

  for (GtkWidget *item = gtk_widget_get_first_child (GTK_WIDGET (window->list_view));
       item != NULL; item = gtk_widget_get_next_sibling (item))
    {
      GtkWidget *row = gtk_widget_get_first_child (item);

      if (row != NULL && TANDEM_IS_TASK_ROW (row) &&
          tandem_task_row_get_task (TANDEM_TASK_ROW (row)) != NULL &&
          gtk_widget_get_mapped (row) && gtk_widget_get_height (row) > 0)
        n++;
    }
  return n;
}

static void
after_paint_cb (GdkFrameClock *clock,
                Measure       *measure)
{
  guint rows;

  if (measure->done)
    return;
  /* Painted with task rows in it: what the user sees first. */
  if ((rows = count_task_rows (measure->window)) == 0)
    return;
  measure->first_frame = g_get_monotonic_time ();
  measure->rows_shown = rows;
  measure->done = TRUE;
  g_main_context_wakeup (NULL);
}

static void
window_realized_cb (GtkWidget *widget,
                    Measure   *measure)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (widget);

  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), measure);
}

static gboolean
give_up_cb (gpointer data)
{
  g_printerr ("app-open: no rows painted after %d s\n", GIVE_UP_SECONDS);
  exit (1);
  return G_SOURCE_REMOVE;
}

static int
measure_open (const char *path,
              gint64      main_start)
{
  g_autoptr(TandemApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  Measure measure = { main_start };
  guint64 rss, peak;
  guint n_items;

  app = tandem_application_new ("io.github.tandem.Tandem.Bench", G_APPLICATION_NON_UNIQUE);
  if (!g_application_register (G_APPLICATION (app), NULL, &error))
    {
      g_printerr ("app-open: %s\n", error->message);
      return 1;
    }
  measure.registered = g_get_monotonic_time ();

  /* What `tandem --db PATH` does: the store, the engine and the window. The
   * window connects to its frame clock when it gets one. */
  measure.window = tandem_application_open_database (app, path, &error);
  measure.opened = g_get_monotonic_time ();
  if (measure.window == NULL)
    {
      g_printerr ("app-open: %s\n", error->message);
      return 1;
    }
  if (gtk_widget_get_realized (GTK_WIDGET (measure.window)))
    window_realized_cb (GTK_WIDGET (measure.window), &measure);
  else
    g_signal_connect (measure.window, "realize", G_CALLBACK (window_realized_cb), &measure);

  g_timeout_add_seconds (GIVE_UP_SECONDS, give_up_cb, NULL);
  while (!measure.done)
    g_main_context_iteration (NULL, TRUE);
  rss = bench_proc_status_kib (getpid (), "VmRSS");
  peak = bench_proc_status_kib (getpid (), "VmHWM");
  n_items = g_list_model_get_n_items (G_LIST_MODEL (_tandem_window_get_model (measure.window)));

  bench_print_object ("\"tasks\":%d,\"tasks_in_view\":%u,\"rows_shown\":%u,"
                      "\"startup_ms\":%.1f,\"open_ms\":%.1f,\"first_frame_ms\":%.1f,"
                      "\"rss_mib\":%.1f,\"peak_rss_mib\":%.1f,\"under_1s\":%s",
                      opt_tasks, n_items, measure.rows_shown,
                      (measure.registered - main_start) / 1e3,
                      (measure.opened - measure.registered) / 1e3,
                      (measure.first_frame - main_start) / 1e3, rss / 1024.0, peak / 1024.0,
                      measure.first_frame - main_start < G_USEC_PER_SEC ? "true" : "false");

  gtk_window_destroy (GTK_WINDOW (measure.window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  gint64 main_start = g_get_monotonic_time ();
  g_autoptr(GOptionContext) context = g_option_context_new ("— time the app to its first rows");
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  int status;

  g_option_context_add_main_entries (context, options, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("app-open: %s\n", error->message);
      return 2;
    }
  bench_set_name ("app-open", opt_run);
  if (opt_seed_only && opt_db == NULL)
    {
      g_printerr ("app-open: --seed-only needs --db PATH\n");
      return 2;
    }
  /* The token, if any, stays where the database is: no keyring prompts. */
  g_setenv ("TANDEM_NO_KEYRING", "1", TRUE);

  if (opt_db != NULL)
    path = g_strdup (opt_db);
  else
    {
      if (!(dir = g_dir_make_tmp ("tandem-app-open-XXXXXX", &error)))
        {
          g_printerr ("app-open: %s\n", error->message);
          return 1;
        }
      path = g_build_filename (dir, "tandem.db", NULL);
    }

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (!seed (path, &error))
        {
          g_printerr ("app-open: could not make %s: %s\n", path, error->message);
          return 1;
        }
      /* Measured from a fresh start, not from a process that just wrote it. */
      if (dir == NULL)
        main_start = g_get_monotonic_time ();
    }
  if (opt_seed_only)
    return 0;
  if (dir != NULL)
    main_start = g_get_monotonic_time ();

  status = measure_open (path, main_start);
  if (dir != NULL)
    bench_remove_tree (dir);
  return status;
}
