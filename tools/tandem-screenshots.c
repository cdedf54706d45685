/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-screenshots"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>

#include "server-fixture.h"
#include "tandem-account.h"
#include "tandem-application.h"
#include "tandem-format.h"
#include "tandem-merge-dialog.h"
#include "tandem-window-private.h"

/* Renders Tandem's windows into PNGs for docs/screenshots: a sample of
 * tasks on a real database, synced with a real tandem-server, one of them
 * changed on a second device (tandem-cli) so that it needs review. Run it
 * through tools/screenshots, which provides the display and environment. */

static TandemApplication *app;
static TandemStore *store;
static TandemSyncEngine *engine;
static const char *output_dir;

static void
run_for (guint msec)
{
  gint64 end = g_get_monotonic_time () + (gint64) msec * 1000;

  while (g_get_monotonic_time () < end)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10000);
    }
}

static void
save_png (GtkWidget  *widget,
          const char *name)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *path = g_build_filename (output_dir, name, NULL);
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  texture = gsk_renderer_render_texture (renderer, node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path))
    g_error ("could not write %s", path);
  g_print ("%s (%d×%d)\n", path, width, height);
}

static void
each_scheme (GtkWidget  *widget,
             const char *name)
{
  AdwStyleManager *style = adw_style_manager_get_default ();
  g_autofree char *light = g_strdup_printf ("%s-light.png", name);
  g_autofree char *dark = g_strdup_printf ("%s-dark.png", name);

  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_LIGHT);
  run_for (400);
  save_png (widget, light);
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_DARK);
  run_for (400);
  save_png (widget, dark);
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_LIGHT);
}

static void
sync_done (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  gboolean *done = data;

  tandem_sync_engine_sync_finish (TANDEM_SYNC_ENGINE (source), result, NULL);
  *done = TRUE;
}

static void
sync_with_server (void)
{
  gboolean done = FALSE;

  tandem_sync_engine_sync_async (engine, NULL, sync_done, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static void
cli (const char *db_path,
     ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *arg;
  va_list args;
  int status;

  g_ptr_array_add (argv, (char *) g_getenv ("TANDEM_CLI"));
  g_ptr_array_add (argv, "--db");
  g_ptr_array_add (argv, (char *) db_path);
  va_start (args, db_path);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                     NULL, NULL, &status, &error) ||
      !g_spawn_check_wait_status (status, &error))
    g_error ("tandem-cli %s: %s", (char *) argv->pdata[3], error->message);
}

static char *
day (int offset)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autoptr(GDateTime) then = g_date_time_add_days (now, offset);

  return g_date_time_format (then, "%Y-%m-%d");
}

static char *
add (const char *title,
     const char *list_id,
     int         due,
     int         priority,
     const char *tags,
     const char *notes)
{
  g_autoptr(TandemTask) draft = tandem_task_new ();
  g_autoptr(TandemTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) tag_list = tags ? g_strsplit (tags, ",", -1) : NULL;

  g_free (draft->title);
  draft->title = g_strdup (title);
  draft->list_id = g_strdup (list_id);
  draft->due = due != G_MININT ? day (due) : NULL;
  draft->priority = priority;
  if (notes != NULL)
    {
      g_free (draft->notes);
      draft->notes = g_strdup (notes);
    }
  for (guint i = 0; tag_list != NULL && tag_list[i] != NULL; i++)
    tandem_task_add_tag (draft, tag_list[i]);
  if (!(task = tandem_store_create_task (store, draft, &error)))
    g_error ("%s", error->message);
  return g_strdup (task->id);
}

static void
set (const char *id,
     const char *field,
     JsonNode   *value)
{
  g_autoptr(JsonObject) changes = json_object_new ();
  g_autoptr(GError) error = NULL;

  json_object_set_member (changes, field, value);
  if (!tandem_store_update_task (store, id, changes, &error))
    g_error ("%s", error->message);
}

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

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TestServer) server = NULL;
  g_autofree char *token = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *db = NULL;
  g_autofree char *other_db = NULL;
  g_autofree char *report = NULL;
  g_autoptr(TandemList) home = NULL;
  g_autoptr(TandemList) work = NULL;
  g_autofree char *done_id = NULL;
  TandemWindow *window;
  GSettings *settings;

  if (argc != 2)
    {
      g_printerr ("Usage: %s OUTPUT-DIR (see tools/screenshots)\n", argv[0]);
      return 2;
    }
  output_dir = argv[1];
  setlocale (LC_ALL, "");
  if (g_getenv ("TANDEM_LOCALEDIR") != NULL)
    bindtextdomain (GETTEXT_PACKAGE, g_getenv ("TANDEM_LOCALEDIR"));
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_mkdir_with_parents (output_dir, 0755);
  g_setenv ("TANDEM_NO_KEYRING", "1", TRUE);

  dir = g_dir_make_tmp ("tandem-screenshots-XXXXXX", &error);
  g_assert_no_error (error);
  db = g_build_filename (dir, "tandem.db", NULL);
  other_db = g_build_filename (dir, "other-device.db", NULL);
  server = test_server_start (NULL, NULL);
  token = test_server_token (server, "sam");

  app = tandem_application_new ("io.github.tandem.Tandem.Screenshots", G_APPLICATION_NON_UNIQUE);
  if (!g_application_register (G_APPLICATION (app), NULL, &error))
    g_error ("%s", error->message);
  g_object_set (gtk_settings_get_default (), "gtk-font-name", "Cantarell 11", NULL);
  settings = tandem_application_get_settings (app);
  g_settings_set_int (settings, "window-width", 1180);
  g_settings_set_int (settings, "window-height", 760);

  store = tandem_store_open (db, &error);
  g_assert_no_error (error);
  if (!tandem_account_save (store, server->url, token, NULL, &error))
    g_error ("%s", error->message);

  /* A week of a person's tasks. */
  home = tandem_store_create_list (store, "Home", &error);
  work = tandem_store_create_list (store, "Work", &error);
  g_assert_no_error (error);
  g_free (add ("Renew passport", NULL, -2, 3, "errands", NULL));
  g_free (add ("Call the plumber about the leak", NULL, 0, 0, "home", NULL));
  g_free (add ("Book train tickets to Berlin", NULL, 3, 2, "travel", NULL));
  report = add ("Write the quarterly report", NULL, 1, 2, "work",
                "Numbers are in the shared folder.\nAsk Dana for the Q3 chart.");
  done_id = add ("Read “The Left Hand of Darkness”", NULL, G_MININT, 0, "books", NULL);
  set (done_id, "done", json_node_init_boolean (json_node_alloc (), TRUE));
  g_free (add ("Fix the garden gate", home->id, 5, 1, NULL, NULL));
  g_free (add ("Review the design proposal", work->id, 0, 2, NULL, NULL));
  g_free (add ("Prepare slides for Monday", work->id, 4, 0, "talks", NULL));

  window = tandem_application_open_database (app, db, &error);
  g_assert_no_error (error);
  /* The app's engine, on the app's store: the one the window shows. */
  store = tandem_window_get_store (window);
  engine = tandem_window_get_engine (window);
  sync_with_server ();

  /* The second device renames the report while this one edits it too. */
  cli (other_db, "account", "--server", server->url, "--token", token, NULL);
  cli (other_db, "sync", NULL);
  cli (other_db, "edit", report, "--title", "Write the Q3 report", "--notes",
       "Numbers are in the shared folder.\nAsk Dana for the Q3 chart by Friday.", NULL);
  cli (other_db, "sync", NULL);
  set (report, "title",
       json_node_init_string (json_node_alloc (), "Write the quarterly report for Dana"));
  set (report, "notes",
       json_node_init_string (json_node_alloc (),
                              "Numbers are in the shared folder.\n"
                              "Ask Dana for the Q3 chart and last year's totals."));
  sync_with_server ();

  /* Two tasks just added, not synced yet. */
  tandem_sync_engine_stop (engine);
  g_free (add ("Buy oat milk", NULL, G_MININT, 0, "errands", NULL));
  g_free (add ("Plan the birthday dinner", NULL, 6, 0, NULL, NULL));
  tandem_window_refresh (window);

  _tandem_window_select_sidebar (window, "inbox");
  _tandem_window_select_task (window, report, TRUE);
  run_for (500);
  each_scheme (GTK_WIDGET (window), "main-window");

  /* Today, a search and the Trash, in light only. */
  _tandem_window_select_sidebar (window, "today");
  run_for (400);
  save_png (GTK_WIDGET (window), "today-light.png");
  _tandem_window_select_sidebar (window, "inbox");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.search", NULL);
  gtk_editable_set_text (GTK_EDITABLE (_tandem_window_get_search_entry (window)), "errands");
  run_for (600);
  save_png (GTK_WIDGET (window), "search-light.png");
  gtk_editable_set_text (GTK_EDITABLE (_tandem_window_get_search_entry (window)), "");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.search", NULL);
  gtk_search_bar_set_search_mode (window->search_bar, FALSE);
  {
    g_autofree char *old_id = add ("Sort the old photos", NULL, G_MININT, 0, NULL, NULL);

    if (!tandem_store_delete_task (store, old_id, &error))
      g_error ("%s", error->message);
    tandem_window_refresh (window);
    _tandem_window_select_sidebar (window, "trash");
    _tandem_window_select_task (window, old_id, FALSE);
    run_for (400);
    save_png (GTK_WIDGET (window), "trash-light.png");
    _tandem_window_select_sidebar (window, "inbox");
  }

  /* Narrow: the list alone, with the Needs review row. */
  gtk_window_destroy (GTK_WINDOW (window));
  g_settings_set_int (settings, "window-width", 400);
  g_settings_set_int (settings, "window-height", 720);
  window = tandem_application_open_database (app, db, &error);
  g_assert_no_error (error);
  _tandem_window_select_sidebar (window, "inbox");
  run_for (500);
  each_scheme (GTK_WIDGET (window), "needs-review-narrow");

  {
    GtkWindow *dialog;

    gtk_window_destroy (GTK_WINDOW (window));
    g_settings_set_int (settings, "window-width", 1180);
    window = tandem_application_open_database (app, db, &error);
    g_assert_no_error (error);
    dialog = tandem_merge_dialog_new (GTK_WINDOW (window), store, engine, report);
    gtk_window_present (dialog);
    run_for (500);
    each_scheme (GTK_WIDGET (dialog), "merge-dialog");
    gtk_window_destroy (dialog);
  }

  /* A new database without an account: empty, and not signed in. */
  {
    g_autofree char *fresh = g_build_filename (dir, "fresh.db", NULL);
    TandemWindow *empty;

    g_settings_set_int (settings, "window-width", 900);
    g_settings_set_int (settings, "window-height", 560);
    empty = tandem_application_open_database (app, fresh, &error);
    g_assert_no_error (error);
    run_for (800);
    save_png (GTK_WIDGET (empty), "signed-out-light.png");
    gtk_window_destroy (GTK_WINDOW (empty));
  }

  gtk_window_destroy (GTK_WINDOW (window));
  run_for (100);
  g_object_unref (app);
  remove_tree (dir);
  return 0;
}
