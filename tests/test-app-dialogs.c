/* SPDX-License-Identifier: GPL-3.0-or-later */
/* UI tests of the merge dialog and the preferences window under Xvfb:
 * stores with real conflicts (made as tests/test-store-sync.c makes them),
 * the user's clicks played on the widgets, the store checked after. */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <glib/gi18n.h>

#include "tandem-codec.h"
#include "tandem-merge-dialog.h"
#include "tandem-preferences-window.h"
#include "tandem-store.h"
#include "tandem-sync-engine.h"
#include "tandem-account.h"

static TandemStore *
new_store (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tandem-ui-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "device.db", NULL);
  TandemStore *store = tandem_store_open (path, &error);

  g_assert_no_error (error);
  return store;
}

static TandemTask *
create (TandemStore *store,
        const char  *title,
        const char  *notes)
{
  g_autoptr(TandemTask) draft = tandem_task_new ();
  g_autoptr(GError) error = NULL;
  TandemTask *task;

  g_free (draft->title);
  draft->title = g_strdup (title);
  g_free (draft->notes);
  draft->notes = g_strdup (notes);
  task = tandem_store_create_task (store, draft, &error);
  g_assert_no_error (error);
  return task;
}

static void
edit (TandemStore *store,
      const char  *id,
      const char  *field,
      const char  *value)
{
  g_autoptr(JsonObject) changes = json_object_new ();
  g_autoptr(GError) error = NULL;

  json_object_set_string_member (changes, field, value);
  g_assert_true (tandem_store_update_task (store, id, changes, &error));
  g_assert_no_error (error);
}

static TandemTask *
acknowledge_all (TandemStore *store,
                 gint64       rev)
{
  g_autoptr(GPtrArray) ops = tandem_store_outbox_list (store, 0, NULL);
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_push_result_free);
  g_autoptr(GError) error = NULL;
  TandemTask *server = NULL;

  for (guint i = 0; i < ops->len; i++)
    {
      TandemOp *op = g_ptr_array_index (ops, i);
      TandemPushResult *result = tandem_push_result_new ();

      g_clear_pointer (&server, tandem_task_free);
      server = tandem_store_get_task (store, op->entity_id, NULL);
      server->rev = rev;
      server->sync_status = TANDEM_SYNC_SYNCED;
      result->op_id = g_strdup (op->op_id);
      result->status = 200;
      result->type = g_strdup ("applied");
      result->record = tandem_record_new_task (tandem_task_copy (server));
      g_ptr_array_add (results, result);
    }
  g_assert_true (tandem_store_apply_push_results (store, results, NULL, &error));
  g_assert_no_error (error);
  return server;
}

static void
answer_conflict (TandemStore      *store,
                 const TandemTask *current)
{
  g_autoptr(GPtrArray) ops = tandem_store_outbox_next_batch (store, 500, NULL);
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_push_result_free);
  g_autoptr(GError) error = NULL;
  TandemPushSummary summary = { 0 };

  for (guint i = 0; i < ops->len; i++)
    {
      TandemPushResult *result = tandem_push_result_new ();

      result->op_id = g_strdup (((TandemOp *) g_ptr_array_index (ops, i))->op_id);
      if (i == 0)
        {
          result->status = 409;
          result->type = g_strdup ("conflict");
          result->current = tandem_record_new_task (tandem_task_copy (current));
        }
      else
        {
          result->status = 424;
          result->type = g_strdup ("held");
        }
      g_ptr_array_add (results, result);
    }
  g_assert_true (tandem_store_apply_push_results (store, results, &summary, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (summary.conflicts, ==, 1);
}

#define BASE_NOTES   "Pack list:\n- passport\n- charger\n- rain jacket\n\nBook the train to Porto on Friday."
#define LOCAL_NOTES  "Pack list:\n- passport\n- phone charger and cable\n- rain jacket\n\nBook the train to Porto on Friday morning."
#define REMOTE_NOTES "Pack list:\n- passport\n- charger\n- rain jacket\n- sunscreen\n\nBook the 9:40 train to Porto on Friday."

static char *
make_edit_conflict (TandemStore *store)
{
  g_autoptr(TandemTask) task = create (store, "Trip to Porto", BASE_NOTES);
  g_autoptr(TandemTask) server = acknowledge_all (store, 1);
  g_autoptr(TandemTask) remote = tandem_task_copy (server);

  edit (store, task->id, "title", "Trip to Porto (Friday)");
  edit (store, task->id, "notes", LOCAL_NOTES);
  remote->rev = 2;
  g_free (remote->title);
  remote->title = g_strdup ("Porto weekend");
  g_free (remote->notes);
  remote->notes = g_strdup (REMOTE_NOTES);
  remote->priority = 2;
  answer_conflict (store, remote);
  return g_strdup (task->id);
}

static char *
make_edit_vs_delete (TandemStore *store)
{
  g_autoptr(TandemTask) task = create (store, "Renew library card", "");
  g_autoptr(TandemTask) server = acknowledge_all (store, 1);
  g_autoptr(TandemTask) remote = tandem_task_copy (server);
  g_autoptr(JsonObject) changes = json_object_new ();
  const char *add[] = { "errands", NULL };

  edit (store, task->id, "notes", "Bring a photo and proof of address.");
  json_object_set_string_member (changes, "due", "2026-12-01");
  g_assert_true (tandem_store_update_task (store, task->id, changes, NULL));
  g_assert_true (tandem_store_change_tags (store, task->id, add, NULL, NULL));
  remote->rev = 2;
  remote->deleted = TRUE;
  answer_conflict (store, remote);
  return g_strdup (task->id);
}

static char *
make_delete_vs_edit (TandemStore *store)
{
  g_autoptr(TandemTask) task = create (store, "Call the plumber", "");
  g_autoptr(TandemTask) server = acknowledge_all (store, 1);
  g_autoptr(TandemTask) remote = tandem_task_copy (server);

  g_assert_true (tandem_store_delete_task (store, task->id, NULL));
  remote->rev = 2;
  g_free (remote->title);
  remote->title = g_strdup ("Call the plumber about the boiler");
  g_free (remote->notes);
  remote->notes = g_strdup ("Number is on the fridge.");
  remote->priority = 3;
  answer_conflict (store, remote);
  return g_strdup (task->id);
}

/* Rendering */

static gboolean
quit_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  g_main_context_wakeup (NULL);
  return G_SOURCE_REMOVE;
}

static void
spin (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, quit_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/* Widget lookup for scripted clicks */

static GtkWidget *
find_widget (GtkWidget  *root,
             GType       type,
             const char *label)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type))
        {
          const char *text = NULL;

          if (GTK_IS_CHECK_BUTTON (child))
            text = gtk_check_button_get_label (GTK_CHECK_BUTTON (child));
          else if (GTK_IS_BUTTON (child))
            text = gtk_button_get_label (GTK_BUTTON (child));
          else if (ADW_IS_PREFERENCES_ROW (child))
            text = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (child));
          if (label == NULL || g_strcmp0 (text, label) == 0)
            return child;
        }
      if ((found = find_widget (child, type, label)))
        return found;
    }
  return NULL;
}

/* nth match, in tree order */
static GtkWidget *
find_nth (GtkWidget  *root,
          GType       type,
          const char *label,
          guint      *n)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type))
        {
          const char *text = NULL;

          if (GTK_IS_CHECK_BUTTON (child))
            text = gtk_check_button_get_label (GTK_CHECK_BUTTON (child));
          else if (GTK_IS_BUTTON (child))
            text = gtk_button_get_label (GTK_BUTTON (child));
          if (label == NULL || g_strcmp0 (text, label) == 0)
            {
              if (*n == 0)
                return child;
              (*n)--;
            }
        }
      if ((found = find_nth (child, type, label, n)))
        return found;
    }
  return NULL;
}

static GtkCheckButton *
check (GtkWidget  *root,
       const char *label,
       guint       index)
{
  GtkWidget *w = find_nth (root, GTK_TYPE_CHECK_BUTTON, label, &index);

  g_assert_nonnull (w);
  return GTK_CHECK_BUTTON (w);
}

static GtkWidget *
resolve_button (GtkWidget *dialog)
{
  GtkWidget *header = find_widget (dialog, ADW_TYPE_HEADER_BAR, NULL);
  guint n = 1;   /* Cancel is the first button of the header */
  GtkWidget *button;

  g_assert_nonnull (header);
  button = find_nth (header, GTK_TYPE_BUTTON, NULL, &n);
  g_assert_nonnull (button);
  return button;
}

static GtkTextBuffer *
merged_buffer (GtkWidget *dialog)
{
  /* The only editable text view. */
  GtkWidget *found = NULL;
  guint n = 0;
  GtkWidget *w;

  while ((w = find_nth (dialog, GTK_TYPE_TEXT_VIEW, NULL, &(guint) { n })))
    {
      if (gtk_text_view_get_editable (GTK_TEXT_VIEW (w)))
        found = w;
      n++;
    }
  g_assert_nonnull (found);
  return gtk_text_view_get_buffer (GTK_TEXT_VIEW (found));
}

static char *
buffer_text (GtkTextBuffer *buffer)
{
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static void
count_resolved (TandemMergeDialog *dialog,
                const char        *task_id,
                guint             *n)
{
  (*n)++;
}

/* Scripted checks */

static void
test_edit_resolve (void)
{
  g_autoptr(TandemStore) store = new_store ();
  g_autoptr(TandemSyncEngine) engine = tandem_sync_engine_new (store);
  g_autofree char *id = make_edit_conflict (store);
  GtkWidget *dialog = GTK_WIDGET (tandem_merge_dialog_new (NULL, store, engine, id));
  g_autofree char *draft = NULL;
  g_autoptr(TandemTask) row = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  guint resolved = 0;

  g_signal_connect (dialog, "resolved", G_CALLBACK (count_resolved), &resolved);
  g_object_ref (dialog);
  gtk_window_present (GTK_WINDOW (dialog));
  spin (300);

  /* Nothing chosen: Resolve waits. */
  g_assert_false (gtk_widget_get_sensitive (resolve_button (dialog)));
  gtk_check_button_set_active (check (dialog, _("_Keep this device's version"), 0), TRUE);
  g_assert_false (gtk_widget_get_sensitive (resolve_button (dialog)));
  /* Ctrl+Enter before every field has a choice does nothing. */
  gtk_widget_activate_action (dialog, "merge.resolve", NULL);
  g_assert_cmpuint (resolved, ==, 0);
  {
    g_autoptr(TandemConflict) still = tandem_store_get_conflict (store, id, NULL);

    g_assert_nonnull (still);
  }

  /* The draft keeps what only one side changed and lists both versions of
   * the line both changed. */
  draft = buffer_text (merged_buffer (dialog));
    g_assert_cmpstr (draft, ==,
                   "Pack list:\n- passport\n- phone charger and cable\n- rain jacket\n- sunscreen\n\n"
                   "Book the train to Porto on Friday morning.\nBook the 9:40 train to Porto on Friday.");

  gtk_check_button_set_active (check (dialog, _("_Write a merged version"), 0), TRUE);
  g_assert_true (gtk_widget_get_sensitive (resolve_button (dialog)));
  gtk_text_buffer_set_text (merged_buffer (dialog),
                            "Pack list:\n- passport\n- phone charger and cable\n- rain jacket\n- sunscreen\n\n"
                            "Book the 9:40 train to Porto on Friday morning.", -1);

  /* Ctrl+Enter is the same as the button: use the action. */
  g_assert_true (gtk_widget_activate_action (dialog, "merge.resolve", NULL));
  spin (100);
  g_assert_cmpuint (resolved, ==, 1);
  g_assert_false (gtk_widget_get_visible (dialog));

  row = tandem_store_get_task (store, id, NULL);
  g_assert_cmpstr (row->title, ==, "Trip to Porto (Friday)");
  g_assert_true (g_str_has_suffix (row->notes, "9:40 train to Porto on Friday morning."));
  g_assert_cmpint (row->priority, ==, 2);   /* merged from the other side */
  g_assert_null (tandem_store_get_conflict (store, id, NULL));
  ops = tandem_store_outbox_list (store, 0, NULL);
  g_assert_cmpuint (ops->len, ==, 1);
  g_assert_cmpint (((TandemOp *) g_ptr_array_index (ops, 0))->base_rev, ==, 2);
  g_object_unref (dialog);
}

static void
test_edit_cancel_keeps (void)
{
  g_autoptr(TandemStore) store = new_store ();
  g_autofree char *id = make_edit_conflict (store);
  GtkWidget *dialog = GTK_WIDGET (tandem_merge_dialog_new (NULL, store, NULL, id));
  g_autoptr(TandemConflict) conflict = NULL;

  gtk_window_present (GTK_WINDOW (dialog));
  spin (200);
  gtk_check_button_set_active (check (dialog, _("_Keep this device's version"), 0), TRUE);
  gtk_check_button_set_active (check (dialog, _("K_eep the other device's version"), 1), TRUE);
  g_assert_true (gtk_widget_get_sensitive (resolve_button (dialog)));
  /* Escape = window.close */
  g_assert_true (gtk_widget_activate_action (dialog, "window.close", NULL));
  spin (100);
  conflict = tandem_store_get_conflict (store, id, NULL);
  g_assert_nonnull (conflict);
}

static void
test_edit_vs_delete (gboolean restore)
{
  g_autoptr(TandemStore) store = new_store ();
  g_autofree char *id = make_edit_vs_delete (store);
  GtkWidget *dialog = GTK_WIDGET (tandem_merge_dialog_new (NULL, store, NULL, id));
  g_autoptr(TandemTask) row = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  GtkWidget *row_widget;

  gtk_window_present (GTK_WINDOW (dialog));
  spin (200);
  g_assert_false (gtk_widget_get_sensitive (resolve_button (dialog)));
  row_widget = find_widget (dialog, ADW_TYPE_ACTION_ROW,
                            restore ? _("Restore with my changes") : _("Discard my changes"));
  g_assert_nonnull (row_widget);
  adw_action_row_activate (ADW_ACTION_ROW (row_widget));
  g_assert_true (gtk_widget_get_sensitive (resolve_button (dialog)));
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (resolve_button (dialog))), ==,
                   restore ? "_Restore" : "_Discard");
  g_assert_true (gtk_widget_has_css_class (resolve_button (dialog),
                                           restore ? "suggested-action" : "destructive-action"));
  g_assert_true (gtk_widget_activate_action (dialog, "merge.resolve", NULL));
  spin (100);

  row = tandem_store_get_task (store, id, NULL);
  ops = tandem_store_outbox_list (store, 0, NULL);
  if (restore)
    {
      g_assert_false (row->deleted);
      g_assert_cmpstr (row->notes, ==, "Bring a photo and proof of address.");
      g_assert_cmpuint (ops->len, >=, 1);
      g_assert_cmpint (((TandemOp *) g_ptr_array_index (ops, 0))->kind, ==, TANDEM_OP_RESTORE);
    }
  else
    {
      g_assert_true (row->deleted);
      g_assert_cmpuint (ops->len, ==, 0);
    }
}

static void
test_delete_vs_edit (gboolean delete_anyway)
{
  g_autoptr(TandemStore) store = new_store ();
  g_autofree char *id = make_delete_vs_edit (store);
  GtkWidget *dialog = GTK_WIDGET (tandem_merge_dialog_new (NULL, store, NULL, id));
  g_autoptr(TandemTask) row = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  GtkWidget *row_widget;

  gtk_window_present (GTK_WINDOW (dialog));
  spin (200);
  row_widget = find_widget (dialog, ADW_TYPE_ACTION_ROW,
                            delete_anyway ? _("Delete anyway") : _("Keep the other device's version"));
  g_assert_nonnull (row_widget);
  adw_action_row_activate (ADW_ACTION_ROW (row_widget));
  g_assert_true (gtk_widget_activate_action (dialog, "merge.resolve", NULL));
  spin (100);
  row = tandem_store_get_task (store, id, NULL);
  ops = tandem_store_outbox_list (store, 0, NULL);
  if (delete_anyway)
    {
      g_assert_cmpuint (ops->len, ==, 1);
      g_assert_cmpint (((TandemOp *) g_ptr_array_index (ops, 0))->kind, ==, TANDEM_OP_DELETE);
    }
  else
    {
      g_assert_false (row->deleted);
      g_assert_cmpstr (row->title, ==, "Call the plumber about the boiler");
      g_assert_cmpuint (ops->len, ==, 0);
    }
}

static void
test_resolved_elsewhere (void)
{
  g_autoptr(TandemStore) store = new_store ();
  g_autofree char *id = make_edit_conflict (store);
  GtkWidget *dialog = GTK_WIDGET (tandem_merge_dialog_new (NULL, store, NULL, id));
  GtkStack *stack;

  g_object_ref (dialog);
  gtk_window_present (GTK_WINDOW (dialog));
  spin (200);
  gtk_check_button_set_active (check (dialog, _("_Keep this device's version"), 0), TRUE);
  gtk_check_button_set_active (check (dialog, _("_Keep this device's version"), 1), TRUE);
  /* tandem-cli resolves it meanwhile */
  g_assert_true (tandem_store_resolve_conflict (store, id, TANDEM_RESOLUTION_REMOTE, NULL, NULL));
  g_assert_true (gtk_widget_activate_action (dialog, "merge.resolve", NULL));
  spin (100);
  g_assert_true (gtk_widget_get_visible (dialog));
  stack = GTK_STACK (find_widget (dialog, GTK_TYPE_STACK, NULL));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "gone");
  g_assert_false (gtk_widget_get_visible (resolve_button (dialog)));
  gtk_window_destroy (GTK_WINDOW (dialog));
  g_object_unref (dialog);
}

static void
test_preferences (GSettings *settings)
{
  g_autoptr(TandemStore) store = new_store ();
  g_autoptr(TandemSyncEngine) engine = tandem_sync_engine_new (store);
  GtkWidget *window = GTK_WIDGET (tandem_preferences_window_new (NULL, store, engine, settings));
  GtkWidget *url = find_widget (window, ADW_TYPE_ENTRY_ROW, _("Server Address"));
  GtkWidget *token = find_widget (window, ADW_TYPE_PASSWORD_ENTRY_ROW, _("Token"));
  GtkWidget *sign_in = find_widget (window, GTK_TYPE_BUTTON, _("Sign _In"));
  GtkWidget *sign_out = find_widget (window, GTK_TYPE_BUTTON, _("Sign _Out…"));
  GtkWidget *spin_button = find_widget (window, GTK_TYPE_SPIN_BUTTON, NULL);
  g_autofree char *saved_url = NULL;
  g_autofree char *saved_token = NULL;

  g_object_ref (window);
  gtk_window_present (GTK_WINDOW (window));
  spin (300);
  g_assert_nonnull (url);
  g_assert_nonnull (token);
  g_assert_false (gtk_widget_get_sensitive (sign_in));
  g_assert_false (gtk_widget_get_visible (sign_out));

  /* GSettings both ways */
  g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (spin_button)), ==, 5);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin_button), 30);
  g_assert_cmpuint (g_settings_get_uint (settings, "sync-interval"), ==, 1800);
  g_settings_set_uint (settings, "sync-interval", 900);
  g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (spin_button)), ==, 15);
  g_settings_set_uint (settings, "sync-interval", 30);   /* the schema's minimum */
  g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (spin_button)), ==, 1);

  /* A bad address is refused, next to the field. */
  gtk_editable_set_text (GTK_EDITABLE (url), "tasks.example.org");
  gtk_editable_set_text (GTK_EDITABLE (token), "abc123");
  g_assert_true (gtk_widget_get_sensitive (sign_in));
  g_signal_emit_by_name (sign_in, "clicked");
  g_assert_true (gtk_widget_has_css_class (url, "error"));
  g_assert_false (tandem_account_load (store, &saved_url, &saved_token, NULL));

  /* A bad token too. */
  gtk_editable_set_text (GTK_EDITABLE (url), "http://127.0.0.1:9/");
  g_assert_false (gtk_widget_has_css_class (url, "error"));
  gtk_editable_set_text (GTK_EDITABLE (token), "not a token!");
  g_signal_emit_by_name (sign_in, "clicked");
  g_assert_true (gtk_widget_has_css_class (token, "error"));

  /* A good one: saved, token field emptied, Sign Out offered. */
  gtk_editable_set_text (GTK_EDITABLE (token), "tok_abcdef0123456789");
  g_signal_emit_by_name (token, "entry-activated");
  g_assert_true (tandem_account_load (store, &saved_url, &saved_token, NULL));
  g_assert_cmpstr (saved_url, ==, "http://127.0.0.1:9");
  g_assert_cmpstr (saved_token, ==, "tok_abcdef0123456789");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (token)), ==, "");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (url)), ==, "http://127.0.0.1:9");
  g_assert_true (gtk_widget_get_visible (sign_out));
  g_assert_false (gtk_widget_get_visible (sign_in));
  g_assert_nonnull (find_widget (window, ADW_TYPE_ACTION_ROW, "Signed in to 127.0.0.1:9"));

  spin (1500);   /* the engine tries, the port refuses */
  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (window);
}


static void
test_edit_vs_delete_restore (void)
{
  test_edit_vs_delete (TRUE);
}

static void
test_edit_vs_delete_discard (void)
{
  test_edit_vs_delete (FALSE);
}

static void
test_delete_vs_edit_delete (void)
{
  test_delete_vs_edit (TRUE);
}

static void
test_delete_vs_edit_keep (void)
{
  test_delete_vs_edit (FALSE);
}

static void
test_preferences_account (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.tandem.Tandem");

  test_preferences (settings);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GTestDBus) bus = NULL;
  int status;

  /* The test backend answers accessibility questions without a bus. */
  g_setenv ("GTK_A11Y", "test", TRUE);
  g_setenv ("TANDEM_NO_KEYRING", "1", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      g_print ("1..0 # SKIP no display; run under xvfb-run -a\n");
      return 0;
    }
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  /* A session bus of our own, as GTK wants one. */
  bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (bus);

  g_test_add_func ("/merge-dialog/edit/resolve-with-merged-text", test_edit_resolve);
  g_test_add_func ("/merge-dialog/edit/cancel-keeps-conflict", test_edit_cancel_keeps);
  g_test_add_func ("/merge-dialog/edit-vs-delete/restore", test_edit_vs_delete_restore);
  g_test_add_func ("/merge-dialog/edit-vs-delete/discard", test_edit_vs_delete_discard);
  g_test_add_func ("/merge-dialog/delete-vs-edit/delete-anyway", test_delete_vs_edit_delete);
  g_test_add_func ("/merge-dialog/delete-vs-edit/keep-theirs", test_delete_vs_edit_keep);
  g_test_add_func ("/merge-dialog/resolved-elsewhere", test_resolved_elsewhere);
  g_test_add_func ("/preferences/account-and-interval", test_preferences_account);
  status = g_test_run ();

  /* Stopped, not taken down: GTK keeps its bus connection to the end. */
  g_test_dbus_stop (bus);
  return status;
}
