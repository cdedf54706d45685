/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-app"

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>

#include "server-fixture.h"
#include "tandem-account.h"
#include "tandem-application.h"
#include "tandem-format.h"
#include "tandem-merge-dialog.h"
#include "tandem-task-details-private.h"
#include "tandem-window-private.h"

/* The app as a user meets it: a real window on a real database, syncing
 * with a real tandem-server on loopback, and a second device played by
 * tandem-cli. The tests run in order and share one window, as one user's
 * session would: add, sync, collide, delete and undo, search. */

#define TIMEOUT_MSEC 20000

typedef struct
{
  char              *dir;
  char              *db_path;
  char              *other_db_path;
  TestServer        *server;
  char              *token;
  TandemApplication *app;
  TandemWindow      *window;
  TandemStore       *store;
  TandemSyncEngine  *engine;
  char              *task_id;      /* the task of the first tests */
} Session;

static Session session;

/* Main loop helpers */

typedef gboolean (*Condition) (gpointer data);

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the main loop until @condition holds; fails the test after a while. */
static void
wait_until (Condition   condition,
            gpointer    data,
            const char *what)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_MSEC * 1000;
  guint wake = g_timeout_add (20, wake_up, NULL);

  while (!condition (data))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for %s", what);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (wake);
}

/* Lets pending work (layout, idles) happen without waiting for timers. */
static void
settle (void)
{
  for (int i = 0; i < 20; i++)
    while (g_main_context_iteration (NULL, FALSE))
      ;
}

static gboolean
row_shown (gpointer data)
{
  return _tandem_window_find_row (session.window, data) != NULL;
}

static TandemTaskRow *
wait_for_row (const char *task_id)
{
  wait_until (row_shown, (gpointer) task_id, "the task's row");
  return _tandem_window_find_row (session.window, task_id);
}

typedef struct
{
  gboolean started;
} SyncWait;

static gboolean
sync_finished (gpointer data)
{
  SyncWait *wait = data;
  TandemSyncState state = tandem_sync_engine_get_state (session.engine);

  if (state == TANDEM_SYNC_STATE_PUSHING || state == TANDEM_SYNC_STATE_PULLING)
    wait->started = TRUE;
  return wait->started && state != TANDEM_SYNC_STATE_PUSHING &&
         state != TANDEM_SYNC_STATE_PULLING;
}

/* Presses Sync now and waits until the engine has pushed, pulled and is
 * idle again. */
static void
sync_now (void)
{
  SyncWait wait = { FALSE };

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (session.window), "win.sync-now", NULL));
  wait_until (sync_finished, &wait, "a sync to finish");
  g_assert_cmpint (tandem_sync_engine_get_state (session.engine), ==, TANDEM_SYNC_STATE_IDLE);
  settle ();
}

static char *
add_task_through_entry (const char *title)
{
  GtkEntry *entry = _tandem_window_get_new_task_entry (session.window);
  GListModel *model = G_LIST_MODEL (_tandem_window_get_model (session.window));
  guint n_before = g_list_model_get_n_items (model);
  TandemTaskObject *task;
  guint position;

  gtk_editable_set_text (GTK_EDITABLE (entry), title);
  g_signal_emit_by_name (entry, "activate");

  /* Saved and shown at once, and the entry is ready for the next one. */
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, "");
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, n_before + 1);
  position = gtk_single_selection_get_selected (session.window->selection);
  task = gtk_single_selection_get_selected_item (session.window->selection);
  g_assert_nonnull (task);
  g_assert_cmpuint (position, ==, n_before);
  g_assert_cmpstr (tandem_task_object_get_title (task), ==, title);
  return g_strdup (tandem_task_object_get_id (task));
}

/* The second device */

static void
cli (const char *db_path,
     ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
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

  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("tandem-cli %s failed: %s\n%s", (char *) argv->pdata[3], error->message, err);
}

/* Tests */

static void
test_add_task_is_pending (void)
{
  TandemTaskRow *row;
  const char *pending = "Saved on this device. Syncing when online.";

  /* No account yet: the header says so, calmly, and nothing else does. */
  g_assert_cmpstr (_tandem_window_get_sync_status_text (session.window), ==, "Not signed in");

  session.task_id = add_task_through_entry ("Write the report");
  row = wait_for_row (session.task_id);

  g_assert_cmpstr (tandem_task_row_get_chip_label (row), ==, "Pending");
  g_assert_cmpstr (tandem_task_row_get_sync_description (row), ==, pending);
  gtk_test_accessible_assert_property (row, GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, pending);
}

/* What the task's row says at the moment the engine announces it syncing:
 * the row follows the engine's per-task signal itself (its handler runs
 * before this one), without the window reading every task again. */
typedef struct
{
  const char *task_id;
  char       *description;
} SyncingSeen;

static void
syncing_seen_cb (TandemSyncEngine *engine,
                 const char       *task_id,
                 int               status,
                 SyncingSeen      *seen)
{
  TandemTaskRow *row;

  if (status != TANDEM_SYNC_SYNCING || g_strcmp0 (task_id, seen->task_id) != 0 ||
      seen->description != NULL)
    return;
  row = _tandem_window_find_row (session.window, task_id);
  seen->description = g_strdup (row ? tandem_task_row_get_sync_description (row) : "(no row)");
}

static void
test_sync_clears_chip (void)
{
  g_autoptr(GError) error = NULL;
  TandemTaskRow *row;
  const char *status;
  SyncingSeen seen = { session.task_id, NULL };
  gulong handler;

  g_assert_true (tandem_account_save (session.store, session.server->url, session.token, NULL,
                                      &error));
  g_assert_no_error (error);

  handler = g_signal_connect (session.engine, "task-status-changed", G_CALLBACK (syncing_seen_cb),
                              &seen);
  sync_now ();
  g_signal_handler_disconnect (session.engine, handler);
  g_assert_cmpstr (seen.description, ==, tandem_sync_status_sentence (TANDEM_SYNC_SYNCING));
  g_free (seen.description);

  row = wait_for_row (session.task_id);
  g_assert_null (tandem_task_row_get_chip_label (row));
  g_assert_null (tandem_task_row_get_sync_description (row));
  gtk_test_accessible_assert_property (row, GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, NULL);

  status = _tandem_window_get_sync_status_text (session.window);
  g_assert_true (g_str_has_prefix (status, "Last synced"));
  g_assert_cmpint (tandem_sync_engine_get_last_synced (session.engine), >, 0);
}

static void
test_conflict_needs_review (void)
{
  TandemTaskDetails *details = _tandem_window_get_details (session.window);
  AdwEntryRow *title_row = _tandem_task_details_get_title_row (details);
  const char *review = "Updated in two places. Choose what to keep.";
  TandemTaskObject *task;
  TandemTaskRow *row;

  /* The other device gets the task and renames it. */
  cli (session.other_db_path, "account", "--server", session.server->url, "--token",
       session.token, NULL);
  cli (session.other_db_path, "sync", NULL);
  cli (session.other_db_path, "edit", session.task_id, "--title", "Write the final report", NULL);
  cli (session.other_db_path, "sync", NULL);

  /* Meanwhile, here, the same title changes differently in the details. */
  _tandem_window_select_task (session.window, session.task_id, TRUE);
  g_assert_cmpstr (tandem_task_details_get_task_id (details), ==, session.task_id);
  gtk_editable_set_text (GTK_EDITABLE (title_row), "Write the report today");
  g_signal_emit_by_name (title_row, "apply");
  task = tandem_task_list_model_find (_tandem_window_get_model (session.window), session.task_id,
                                      NULL);
  g_assert_cmpstr (tandem_task_object_get_title (task), ==, "Write the report today");
  g_assert_cmpint (tandem_task_object_get_sync_status (task), ==, TANDEM_SYNC_PENDING);

  sync_now ();

  row = wait_for_row (session.task_id);
  g_assert_cmpint (tandem_task_object_get_sync_status (task), ==, TANDEM_SYNC_NEEDS_REVIEW);
  g_assert_cmpstr (tandem_task_row_get_chip_label (row), ==, "Needs review");
  g_assert_cmpstr (tandem_task_row_get_sync_description (row), ==, review);
  gtk_test_accessible_assert_property (row, GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, review);
  /* Nothing was dropped: this device's title is still what it shows. */
  g_assert_cmpstr (tandem_task_object_get_title (task), ==, "Write the report today");
}

/* Widget lookup, for the clicks a user would make */

static GtkWidget *
find_button (GtkWidget  *root,
             const char *label)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (GTK_IS_BUTTON (child) && gtk_widget_get_visible (child) &&
          g_strcmp0 (gtk_button_get_label (GTK_BUTTON (child)), label) == 0)
        return child;
      if (GTK_IS_CHECK_BUTTON (child) &&
          g_strcmp0 (gtk_check_button_get_label (GTK_CHECK_BUTTON (child)), label) == 0)
        return child;
      if ((found = find_button (child, label)) != NULL)
        return found;
    }
  return NULL;
}

static GtkWidget *
find_label (GtkWidget  *root,
            const char *text)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      /* Only values shown in the dialog's body, not its title. */
      if (GTK_IS_LABEL (child) && g_strcmp0 (gtk_label_get_text (GTK_LABEL (child)), text) == 0 &&
          gtk_widget_get_ancestor (child, GTK_TYPE_GRID) != NULL)
        return child;
      if ((found = find_label (child, text)) != NULL)
        return found;
    }
  return NULL;
}

/* The column of the grid that @widget (or the frame around it) sits in. */
static int
grid_column (GtkWidget *widget,
             GtkWidget **grid_out)
{
  GtkWidget *cell = widget;
  int column = -1;

  while (cell != NULL && !GTK_IS_GRID (gtk_widget_get_parent (cell)))
    cell = gtk_widget_get_parent (cell);
  g_assert_nonnull (cell);
  gtk_grid_query_child (GTK_GRID (gtk_widget_get_parent (cell)), cell, &column, NULL, NULL, NULL);
  *grid_out = gtk_widget_get_parent (cell);
  return column;
}

static TandemMergeDialog *
find_merge_dialog (void)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (session.app)); l != NULL;
       l = l->next)
    if (TANDEM_IS_MERGE_DIALOG (l->data))
      return l->data;
  return NULL;
}

static gboolean
merge_dialog_shown (gpointer data)
{
  TandemMergeDialog *dialog = find_merge_dialog ();

  return dialog != NULL && gtk_widget_get_mapped (GTK_WIDGET (dialog));
}

static gboolean
merge_dialog_gone (gpointer data)
{
  return find_merge_dialog () == NULL;
}

static void
test_merge_dialog_resolves (void)
{
  TandemTaskListModel *model = _tandem_window_get_model (session.window);
  const char *here = "Write the report today";
  const char *there = "Write the final report";
  g_autoptr(TandemStore) other = NULL;
  g_autoptr(TandemTask) mine = NULL;
  g_autoptr(TandemTask) theirs = NULL;
  g_autoptr(GError) error = NULL;
  TandemMergeDialog *dialog;
  TandemTaskObject *task;
  TandemSyncStatus status;
  TandemTaskRow *row;
  GtkWidget *review, *local, *remote, *keep_mine, *grid_local, *grid_remote;

  /* The chip on the row is what the user presses. */
  row = wait_for_row (session.task_id);
  review = find_button (GTK_WIDGET (row), "Needs review");
  g_assert_nonnull (review);
  g_assert_true (gtk_widget_activate (review));
  wait_until (merge_dialog_shown, NULL, "the merge dialog");
  dialog = find_merge_dialog ();
  g_assert_cmpstr (tandem_merge_dialog_get_task_id (dialog), ==, session.task_id);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (dialog)) ==
                 GTK_WINDOW (session.window));

  /* Both titles, side by side: this device on the left, the other right. */
  local = find_label (GTK_WIDGET (dialog), here);
  remote = find_label (GTK_WIDGET (dialog), there);
  g_assert_nonnull (local);
  g_assert_nonnull (remote);
  g_assert_cmpint (grid_column (local, &grid_local), ==, 0);
  g_assert_cmpint (grid_column (remote, &grid_remote), ==, 1);
  g_assert_true (grid_local == grid_remote);
  g_assert_nonnull (find_label (grid_local, "This Device"));
  g_assert_nonnull (find_label (grid_local, "Other Device"));

  /* Nothing changes until the user has chosen and confirmed. */
  gtk_widget_activate_action (GTK_WIDGET (dialog), "merge.resolve", NULL);
  settle ();
  g_assert_true (find_merge_dialog () == dialog);
  g_assert_cmpint (tandem_task_object_get_sync_status (
                     tandem_task_list_model_find (model, session.task_id, NULL)),
                   ==, TANDEM_SYNC_NEEDS_REVIEW);

  /* This device's title wins: it has to travel to the other device. */
  keep_mine = find_button (GTK_WIDGET (dialog), "_Keep this device's version");
  g_assert_nonnull (keep_mine);
  gtk_check_button_set_active (GTK_CHECK_BUTTON (keep_mine), TRUE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "merge.resolve", NULL));

  /* One op through the engine: before the sync it started has run, the
   * row is Pending (or already Syncing) with the chosen title... */
  task = tandem_task_list_model_find (model, session.task_id, NULL);
  g_assert_nonnull (task);
  g_assert_cmpstr (tandem_task_object_get_title (task), ==, here);
  status = tandem_task_object_get_sync_status (task);
  g_assert_true (status == TANDEM_SYNC_PENDING || status == TANDEM_SYNC_SYNCING);
  g_assert_null (tandem_store_get_conflict (session.store, session.task_id, NULL));
  wait_until (merge_dialog_gone, NULL, "the merge dialog to close");

  /* ...and is synced once the server has it. */
  sync_now ();
  task = tandem_task_list_model_find (model, session.task_id, NULL);
  g_assert_cmpint (tandem_task_object_get_sync_status (task), ==, TANDEM_SYNC_SYNCED);
  row = wait_for_row (session.task_id);
  g_assert_null (tandem_task_row_get_chip_label (row));

  /* Both devices end equal. */
  cli (session.other_db_path, "sync", NULL);
  other = tandem_store_open (session.other_db_path, &error);
  g_assert_no_error (error);
  mine = tandem_store_get_task (session.store, session.task_id, &error);
  g_assert_no_error (error);
  theirs = tandem_store_get_task (other, session.task_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mine->title, ==, here);
  g_assert_cmpstr (theirs->title, ==, mine->title);
  g_assert_cmpstr (theirs->notes, ==, mine->notes);
  g_assert_cmpint (theirs->rev, ==, mine->rev);
  g_assert_cmpint (theirs->done, ==, mine->done);
  g_assert_cmpstr (theirs->due, ==, mine->due);
  g_assert_cmpint (theirs->priority, ==, mine->priority);
  g_assert_cmpint (theirs->sync_status, ==, TANDEM_SYNC_SYNCED);
  g_assert_cmpint (mine->sync_status, ==, TANDEM_SYNC_SYNCED);
}

static void
test_delete_and_undo (void)
{
  TandemTaskListModel *model = _tandem_window_get_model (session.window);
  g_autofree char *id = add_task_through_entry ("Water the plants");
  AdwToast *toast;
  GVariant *target;

  wait_for_row (id);
  _tandem_window_select_task (session.window, id, TRUE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (session.window), "win.delete-selected",
                                             NULL));
  settle ();
  g_assert_null (tandem_task_list_model_find (model, id, NULL));
  g_assert_null (_tandem_window_find_row (session.window, id));

  toast = _tandem_window_get_last_toast (session.window);
  g_assert_nonnull (toast);
  g_assert_cmpstr (adw_toast_get_title (toast), ==, "Task deleted");
  g_assert_cmpstr (adw_toast_get_button_label (toast), ==, "_Undo");
  g_assert_cmpstr (adw_toast_get_action_name (toast), ==, "win.restore-task");
  target = adw_toast_get_action_target_value (toast);
  g_assert_cmpstr (g_variant_get_string (target, NULL), ==, id);

  /* What the toast's Undo button does. */
  g_assert_true (gtk_widget_activate_action_variant (GTK_WIDGET (session.window),
                                                     adw_toast_get_action_name (toast), target));
  g_assert_nonnull (tandem_task_list_model_find (model, id, NULL));
  wait_for_row (id);
}

static void
set_search (const char *text)
{
  GtkSearchEntry *entry = _tandem_window_get_search_entry (session.window);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (session.window), "win.search", NULL));
  gtk_editable_set_text (GTK_EDITABLE (entry), text);
  /* The entry waits a moment before it searches; so does a user. */
  g_signal_emit_by_name (entry, "search-changed");
  settle ();
}

static gboolean
notes_saved (gpointer data)
{
  g_autoptr(TandemTask) task = tandem_store_get_task (session.store, data, NULL);

  return task != NULL && g_str_equal (task->notes, "oat milk, not cow's");
}

static void
test_search (void)
{
  TandemTaskListModel *model = _tandem_window_get_model (session.window);
  TandemTaskDetails *details = _tandem_window_get_details (session.window);
  g_autofree char *groceries = add_task_through_entry ("Groceries");
  g_autofree char *bike = add_task_through_entry ("Fix the bike");
  g_autofree char *milk = add_task_through_entry ("Buy milk");
  GtkTextBuffer *notes = gtk_text_view_get_buffer (_tandem_task_details_get_notes_view (details));
  AdwEntryRow *tag_row = _tandem_task_details_get_tag_row (details);
  guint n_all = g_list_model_get_n_items (G_LIST_MODEL (model));

  /* Notes on one task, a tag on another, both through the details pane. */
  _tandem_window_select_task (session.window, groceries, FALSE);
  gtk_text_buffer_set_text (notes, "oat milk, not cow's", -1);
  wait_until (notes_saved, groceries, "the notes to be saved");
  _tandem_window_select_task (session.window, bike, FALSE);
  gtk_editable_set_text (GTK_EDITABLE (tag_row), "errands");
  g_signal_emit_by_name (tag_row, "apply");

  set_search ("MILK");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 2);
  g_assert_nonnull (tandem_task_list_model_find (model, groceries, NULL));
  g_assert_nonnull (tandem_task_list_model_find (model, milk, NULL));

  set_search ("errands");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 1);
  g_assert_nonnull (tandem_task_list_model_find (model, bike, NULL));
  wait_for_row (bike);

  set_search ("nothing has this");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 0);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (session.window->content_stack), ==, "empty");

  set_search ("");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, n_all);
}

static gboolean
history_has (gpointer data)
{
  TandemTaskDetails *details = _tandem_window_get_details (session.window);
  g_auto(GStrv) history = _tandem_task_details_dup_history (details);

  return g_strv_contains ((const char *const *) history, data);
}

static void
test_history_from_other_device (void)
{
  TandemTaskDetails *details = _tandem_window_get_details (session.window);
  TandemTaskListModel *model = _tandem_window_get_model (session.window);
  AdwEntryRow *comment_row;
  TandemTaskObject *task;
  g_autofree char *id = NULL;

  /* A task this device made, changed on the other one. */
  task = g_list_model_get_item (G_LIST_MODEL (model), 0);
  id = g_strdup (tandem_task_object_get_id (task));
  g_object_unref (task);
  if (g_strcmp0 (id, session.task_id) == 0)
    {
      task = g_list_model_get_item (G_LIST_MODEL (model), 1);
      g_free (id);
      id = g_strdup (tandem_task_object_get_id (task));
      g_object_unref (task);
    }
  sync_now ();
  cli (session.other_db_path, "sync", NULL);
  cli (session.other_db_path, "edit", id, "--due", "2031-05-01", NULL);
  cli (session.other_db_path, "sync", NULL);
  sync_now ();

  _tandem_window_select_task (session.window, id, TRUE);
  g_assert_cmpstr (tandem_task_details_get_task_id (details), ==, id);
  task = tandem_task_list_model_find (model, id, NULL);
  g_assert_cmpstr (tandem_task_object_get_due (task), ==, "2031-05-01");
  g_assert_cmpint (tandem_task_object_get_sync_status (task), ==, TANDEM_SYNC_SYNCED);
  g_assert_true (history_has ("Due date changed on another device"));
  g_assert_true (history_has ("Created on this device"));

  /* A comment, added in the details, joins the history too. */
  comment_row = _tandem_task_details_get_comment_row (details);
  gtk_editable_set_text (GTK_EDITABLE (comment_row), "Ask Dana first");
  g_signal_emit_by_name (comment_row, "entry-activated");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (comment_row)), ==, "");
  g_assert_true (history_has ("Comment added on this device"));
}

static const char *
id_at (guint position)
{
  g_autoptr(TandemTaskObject) task =
    g_list_model_get_item (G_LIST_MODEL (_tandem_window_get_model (session.window)), position);

  /* Owned by the model, which keeps the object. */
  return tandem_task_object_get_id (task);
}

static void
test_reorder (void)
{
  TandemTaskListModel *model = _tandem_window_get_model (session.window);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (model));
  g_autofree char *last = NULL;
  g_autofree char *first = NULL;
  g_autoptr(GPtrArray) stored = NULL;

  g_assert_cmpuint (n, >=, 3);
  last = g_strdup (id_at (n - 1));
  first = g_strdup (id_at (0));

  /* Alt+Up: the selected task goes one up, and stays selected. */
  _tandem_window_select_task (session.window, last, TRUE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (session.window), "win.move-up", NULL));
  g_assert_cmpstr (id_at (n - 2), ==, last);
  g_assert_cmpuint (gtk_single_selection_get_selected (session.window->selection), ==, n - 2);

  /* A drop on the upper half of the first row puts it first. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (session.window), "win.move-task",
                                             "(ssb)", last, first, TRUE));
  g_assert_cmpstr (id_at (0), ==, last);
  g_assert_cmpstr (id_at (1), ==, first);

  /* The order is the store's, not just the view's. */
  stored = tandem_store_list_tasks (session.store, TANDEM_TASK_QUERY_LIVE, NULL);
  for (guint i = 0; i < stored->len; i++)
    {
      TandemTask *task = g_ptr_array_index (stored, i);

      if (task->list_id == NULL)
        {
          g_assert_cmpstr (task->id, ==, last);
          break;
        }
    }
}

static gboolean
window_count_is (gpointer data)
{
  return g_list_length (gtk_application_get_windows (GTK_APPLICATION (session.app))) ==
         GPOINTER_TO_UINT (data);
}

static void
test_secondary_windows (void)
{
  const char *actions[] = { "app.shortcuts", "app.about", "app.preferences" };

  for (guint i = 0; i < G_N_ELEMENTS (actions); i++)
    {
      GtkWindow *window;

      g_test_message ("%s", actions[i]);
      g_action_group_activate_action (G_ACTION_GROUP (session.app), actions[i] + 4, NULL);
      wait_until (window_count_is, GUINT_TO_POINTER (2), "a second window");
      window = gtk_application_get_windows (GTK_APPLICATION (session.app))->data;
      g_assert_true (window != GTK_WINDOW (session.window));
      g_assert_true (gtk_window_get_transient_for (window) == GTK_WINDOW (session.window));
      gtk_window_destroy (window);
      wait_until (window_count_is, GUINT_TO_POINTER (1), "the window to close");
    }
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
  GTestDBus *bus;
  g_autoptr(GError) error = NULL;
  int status;

  /* The test backend answers accessibility questions; the token lives in
   * the database, as tandem-cli on the other device keeps it too. */
  g_setenv ("GTK_A11Y", "test", TRUE);
  g_setenv ("TANDEM_NO_KEYRING", "1", TRUE);

  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      g_print ("1..0 # SKIP no display; run under xvfb-run -a\n");
      return 0;
    }
  gtk_test_init (&argc, &argv, NULL);

  /* A session bus of our own: GApplication wants one. */
  bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (bus);

  session.dir = g_dir_make_tmp ("tandem-app-XXXXXX", &error);
  g_assert_no_error (error);
  session.db_path = g_build_filename (session.dir, "this-device.db", NULL);
  session.other_db_path = g_build_filename (session.dir, "other-device.db", NULL);
  session.server = test_server_start (NULL, NULL);
  session.token = test_server_token (session.server, "alice");

  session.app = tandem_application_new ("io.github.tandem.Tandem.Test", G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (session.app), NULL, &error);
  g_assert_no_error (error);
  session.window = tandem_application_open_database (session.app, session.db_path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (session.window);
  session.store = tandem_window_get_store (session.window);
  session.engine = tandem_window_get_engine (session.window);
  settle ();

  g_test_add_func ("/app/add-task-is-pending", test_add_task_is_pending);
  g_test_add_func ("/app/sync-clears-chip", test_sync_clears_chip);
  g_test_add_func ("/app/conflict-needs-review", test_conflict_needs_review);
  g_test_add_func ("/app/merge-dialog-resolves", test_merge_dialog_resolves);
  g_test_add_func ("/app/delete-and-undo", test_delete_and_undo);
  g_test_add_func ("/app/search", test_search);
  g_test_add_func ("/app/history-from-other-device", test_history_from_other_device);
  g_test_add_func ("/app/reorder", test_reorder);
  g_test_add_func ("/app/secondary-windows", test_secondary_windows);
  status = g_test_run ();

  gtk_window_destroy (GTK_WINDOW (session.window));
  settle ();
  g_clear_object (&session.app);
  test_server_free (session.server);
  g_free (session.token);
  g_free (session.task_id);
  remove_tree (session.dir);
  g_free (session.dir);
  g_free (session.db_path);
  g_free (session.other_db_path);
  /* Stopped, not taken down: GTK's and libadwaita's singletons keep the bus
   * connection to the end, and _down() would wait for it to go away. */
  g_test_dbus_stop (bus);
  return status;
}
