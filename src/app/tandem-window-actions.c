/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-app"

#include "config.h"

#include <glib/gi18n.h>

#include "tandem-merge-dialog.h"
#include "tandem-window-private.h"

/* Sync */

static void
manual_sync_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  g_autoptr(TandemWindow) self = data;
  g_autoptr(GError) error = NULL;
  TandemSyncOutcome outcome = tandem_sync_engine_sync_finish (TANDEM_SYNC_ENGINE (source), result,
                                                              &error);
  const char *reason = tandem_sync_engine_get_last_error (self->engine);
  AdwToast *toast;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (error != NULL)
    {
      _tandem_window_show_error (self, _("Couldn't sync"), error);
      return;
    }

  /* The user asked, so the user hears how it went unless it just worked. */
  switch (outcome)
    {
    case TANDEM_SYNC_OUTCOME_UNREACHABLE:
      {
        const char *sentence = _("Can't sync right now. Your changes are safe.");
        g_autofree char *message = g_strdup_printf ("%s %s", sentence, reason ? reason : "");

        tandem_window_show_toast (self, g_strstrip (message));
      }
      break;
    case TANDEM_SYNC_OUTCOME_AUTH:
      toast = adw_toast_new (_("Sign in again to sync. Your changes are kept on this device."));
      adw_toast_set_button_label (toast, _("_Preferences"));
      adw_toast_set_action_name (toast, "app.preferences");
      _tandem_window_add_toast (self, toast);
      break;
    case TANDEM_SYNC_OUTCOME_SIGNED_OUT:
      toast = adw_toast_new (_("Set up a sync account to sync your tasks."));
      adw_toast_set_button_label (toast, _("_Set Up"));
      adw_toast_set_action_name (toast, "app.preferences");
      _tandem_window_add_toast (self, toast);
      break;
    case TANDEM_SYNC_OUTCOME_PARKED:
      tandem_window_show_toast (self, _("The server refused some changes. They are marked in "
                                        "the list."));
      break;
    case TANDEM_SYNC_OUTCOME_CONFLICTS:
    case TANDEM_SYNC_OUTCOME_DONE:
    default:
      break;
    }
}

void
_tandem_window_sync_now (TandemWindow *self)
{
  tandem_sync_engine_sync_now (self->engine);
  /* Joins the attempt just started, to hear how it ends. */
  tandem_sync_engine_sync_async (self->engine, self->cancellable, manual_sync_done,
                                 g_object_ref (self));
}

static void
sync_now_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  _tandem_window_sync_now (TANDEM_WINDOW (widget));
}

/* Navigation */

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  TandemWindow *self = TANDEM_WINDOW (widget);

  if (adw_leaflet_get_folded (self->leaflet))
    adw_leaflet_set_visible_child_name (self->leaflet, "content");
  gtk_search_bar_set_search_mode (self->search_bar, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

static void
new_task_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  TandemWindow *self = TANDEM_WINDOW (widget);

  gtk_search_bar_set_search_mode (self->search_bar, FALSE);
  if (tandem_task_list_model_get_filter (self->model) == TANDEM_TASK_FILTER_TRASH)
    _tandem_window_select_sidebar (self, "inbox");
  if (adw_leaflet_get_folded (self->leaflet))
    adw_leaflet_set_visible_child_name (self->leaflet, "content");
  gtk_widget_grab_focus (GTK_WIDGET (self->new_task_entry));
}

static void
new_list_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  TandemWindow *self = TANDEM_WINDOW (widget);

  if (adw_leaflet_get_folded (self->leaflet))
    adw_leaflet_set_visible_child_name (self->leaflet, "sidebar");
  gtk_menu_button_popup (self->new_list_button);
}

/* Task actions */

static void
set_done (TandemWindow *self,
          const char   *task_id,
          gboolean      done)
{
  g_autoptr(JsonObject) changes = json_object_new ();
  g_autoptr(GError) error = NULL;

  json_object_set_boolean_member (changes, "done", done);
  if (!tandem_store_update_task (self->store, task_id, changes, &error))
    {
      _tandem_window_show_error (self, done ? _("Couldn't mark the task as done")
                                            : _("Couldn't mark the task as not done"),
                                 error);
      /* The checkbox goes back to what the store holds. */
      tandem_window_refresh (self);
      return;
    }
  _tandem_window_local_change (self);
}

static void
set_done_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  const char *task_id;
  gboolean done;

  g_variant_get (parameter, "(&sb)", &task_id, &done);
  set_done (TANDEM_WINDOW (widget), task_id, done);
}

static void
toggle_done_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  TandemWindow *self = TANDEM_WINDOW (widget);
  TandemTaskObject *task = _tandem_window_get_selected (self);

  if (task != NULL && !tandem_task_object_get_deleted (task))
    set_done (self, tandem_task_object_get_id (task), !tandem_task_object_get_done (task));
}

static void
delete_task (TandemWindow *self,
             const char   *task_id)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = g_strdup (task_id);
  AdwToast *toast;
  guint position = 0;
  gboolean shown = tandem_task_list_model_find (self->model, id, &position) != NULL;
  guint n_items;

  if (!tandem_store_delete_task (self->store, id, &error))
    {
      _tandem_window_show_error (self, _("Couldn't delete the task"), error);
      return;
    }
  g_free (self->last_deleted_id);
  self->last_deleted_id = g_strdup (id);
  _tandem_window_local_change (self);

  /* The keyboard stays where it was: on the next task. */
  n_items = g_list_model_get_n_items (G_LIST_MODEL (self->model));
  if (shown && n_items > 0 && _tandem_window_get_selected (self) == NULL)
    gtk_single_selection_set_selected (self->selection, MIN (position, n_items - 1));

  toast = adw_toast_new (_("Task deleted"));
  adw_toast_set_button_label (toast, _("_Undo"));
  adw_toast_set_action_name (toast, "win.restore-task");
  adw_toast_set_action_target_value (toast, g_variant_new_string (id));
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  _tandem_window_add_toast (self, toast);
  _tandem_window_update_actions (self);
}

static void
delete_task_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  TandemWindow *self = TANDEM_WINDOW (widget);

  delete_task (self, g_variant_get_string (parameter, NULL));
  if (adw_leaflet_get_folded (self->leaflet) &&
      g_strcmp0 (adw_leaflet_get_visible_child_name (self->leaflet), "details") == 0)
    adw_leaflet_set_visible_child_name (self->leaflet, "content");
}

static void
delete_selected_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  TandemWindow *self = TANDEM_WINDOW (widget);
  TandemTaskObject *task = _tandem_window_get_selected (self);

  if (task != NULL && !tandem_task_object_get_deleted (task))
    delete_task (self, tandem_task_object_get_id (task));
}

static void
restore_task (TandemWindow *self,
              const char   *task_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemTask) task = NULL;
  g_autofree char *id = g_strdup (task_id);

  if (g_strcmp0 (self->last_deleted_id, id) == 0)
    g_clear_pointer (&self->last_deleted_id, g_free);

  /* Undone twice (Ctrl+Z, then the toast's button): it is back already.
   * The toast is left to go by itself: libadwaita 1.2 can crash when one
   * is dismissed while it is still sliding in. */
  if ((task = tandem_store_get_task (self->store, id, NULL)) != NULL && !task->deleted)
    {
      _tandem_window_select_task (self, id, TRUE);
      _tandem_window_update_actions (self);
      return;
    }
  if (!tandem_store_restore_task (self->store, id, &error))
    {
      _tandem_window_show_error (self, _("Couldn't restore the task"), error);
      return;
    }
  _tandem_window_local_change (self);
  _tandem_window_select_task (self, id, TRUE);
}

static void
restore_task_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  restore_task (TANDEM_WINDOW (widget), g_variant_get_string (parameter, NULL));
}

static void
undo_delete_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  TandemWindow *self = TANDEM_WINDOW (widget);

  if (self->last_deleted_id != NULL)
    restore_task (self, self->last_deleted_id);
}

static void
move_task (TandemWindow *self,
           const char   *task_id,
           const char   *anchor_id,
           gboolean      before)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = g_strdup (task_id);

  if (!tandem_store_move_task (self->store, id, before ? anchor_id : NULL,
                               before ? NULL : anchor_id, &error))
    {
      _tandem_window_show_error (self, _("Couldn't move the task"), error);
      return;
    }
  _tandem_window_local_change (self);
  _tandem_window_select_task (self, id, TRUE);
}

static void
move_task_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  const char *task_id, *anchor_id;
  gboolean before;

  g_variant_get (parameter, "(&s&sb)", &task_id, &anchor_id, &before);
  move_task (TANDEM_WINDOW (widget), task_id, anchor_id, before);
}

static void
move_selected (TandemWindow *self,
               int           delta)
{
  guint position = gtk_single_selection_get_selected (self->selection);
  guint n_items = g_list_model_get_n_items (G_LIST_MODEL (self->model));
  g_autoptr(TandemTaskObject) task = NULL;
  g_autoptr(TandemTaskObject) anchor = NULL;

  if (!tandem_task_list_model_get_reorderable (self->model) ||
      position == GTK_INVALID_LIST_POSITION || (delta < 0 && position == 0) ||
      (delta > 0 && position + 1 >= n_items))
    {
      gtk_widget_error_bell (GTK_WIDGET (self));
      return;
    }
  task = g_list_model_get_item (G_LIST_MODEL (self->model), position);
  anchor = g_list_model_get_item (G_LIST_MODEL (self->model), position + delta);
  move_task (self, tandem_task_object_get_id (task), tandem_task_object_get_id (anchor), delta < 0);
  gtk_widget_grab_focus (GTK_WIDGET (self->list_view));
}

static void
move_up_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  move_selected (TANDEM_WINDOW (widget), -1);
}

static void
move_down_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  move_selected (TANDEM_WINDOW (widget), 1);
}

static void
move_to_list_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  TandemWindow *self = TANDEM_WINDOW (widget);
  g_autoptr(JsonObject) changes = json_object_new ();
  g_autoptr(GError) error = NULL;
  const char *task_id, *list_id;

  g_variant_get (parameter, "(&s&s)", &task_id, &list_id);
  if (*list_id != '\0')
    json_object_set_string_member (changes, "list_id", list_id);
  else
    json_object_set_null_member (changes, "list_id");
  if (!tandem_store_update_task (self->store, task_id, changes, &error))
    {
      _tandem_window_show_error (self, _("Couldn't move the task"), error);
      return;
    }
  _tandem_window_local_change (self);
}

/* Needs review */

static void
review_task_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  TandemWindow *self = TANDEM_WINDOW (widget);
  const char *task_id = g_variant_get_string (parameter, NULL);
  GtkWindow *dialog;

  dialog = tandem_merge_dialog_new (GTK_WINDOW (self), self->store, self->engine, task_id);
  if (dialog == NULL)
    return;
  gtk_window_set_application (dialog, gtk_window_get_application (GTK_WINDOW (self)));
  /* Whatever the user chose there shows here once the dialog is gone. */
  g_signal_connect_object (dialog, "destroy", G_CALLBACK (_tandem_window_local_change), self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (dialog);
}

/* Space on a task toggles it, unless a button in the row has the focus. */
static gboolean
space_cb (GtkWidget *widget,
          GVariant  *args,
          gpointer   data)
{
  TandemWindow *self = data;
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));
  TandemTaskObject *task = _tandem_window_get_selected (self);

  if (focus == NULL || GTK_IS_BUTTON (focus) || GTK_IS_CHECK_BUTTON (focus) ||
      GTK_IS_EDITABLE (focus) || task == NULL || tandem_task_object_get_deleted (task))
    return FALSE;
  set_done (self, tandem_task_object_get_id (task), !tandem_task_object_get_done (task));
  return TRUE;
}

void
_tandem_window_update_actions (TandemWindow *self)
{
  TandemTaskObject *task = _tandem_window_get_selected (self);
  guint position = gtk_single_selection_get_selected (self->selection);
  guint n_items = g_list_model_get_n_items (G_LIST_MODEL (self->model));
  gboolean live = task != NULL && !tandem_task_object_get_deleted (task);
  gboolean reorderable = live && tandem_task_list_model_get_reorderable (self->model);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.delete-selected", live);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.toggle-done", live);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.move-up", reorderable && position > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.move-down",
                                 reorderable && position + 1 < n_items);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.undo-delete",
                                 self->last_deleted_id != NULL);
}

void
_tandem_window_class_actions_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.sync-now", NULL, sync_now_action);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "win.new-task", NULL, new_task_action);
  gtk_widget_class_install_action (widget_class, "win.new-list", NULL, new_list_action);
  gtk_widget_class_install_property_action (widget_class, "win.show-completed", "show-completed");
  gtk_widget_class_install_action (widget_class, "win.set-done", "(sb)", set_done_action);
  gtk_widget_class_install_action (widget_class, "win.toggle-done", NULL, toggle_done_action);
  gtk_widget_class_install_action (widget_class, "win.delete-task", "s", delete_task_action);
  gtk_widget_class_install_action (widget_class, "win.delete-selected", NULL,
                                   delete_selected_action);
  gtk_widget_class_install_action (widget_class, "win.restore-task", "s", restore_task_action);
  gtk_widget_class_install_action (widget_class, "win.undo-delete", NULL, undo_delete_action);
  gtk_widget_class_install_action (widget_class, "win.review-task", "s", review_task_action);
  gtk_widget_class_install_action (widget_class, "win.move-task", "(ssb)", move_task_action);
  gtk_widget_class_install_action (widget_class, "win.move-to-list", "(ss)", move_to_list_action);
  gtk_widget_class_install_action (widget_class, "win.move-up", NULL, move_up_action);
  gtk_widget_class_install_action (widget_class, "win.move-down", NULL, move_down_action);
}

void
_tandem_window_actions_init (TandemWindow *self)
{
  GtkEventController *controller = gtk_shortcut_controller_new ();
  GtkShortcut *shortcut = gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_space, 0),
                                            gtk_callback_action_new (space_cb, self, NULL));

  /* Before the list item's own Space binding (select). */
  gtk_event_controller_set_propagation_phase (controller, GTK_PHASE_CAPTURE);
  gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (controller), shortcut);
  gtk_widget_add_controller (GTK_WIDGET (self->list_view), controller);
  _tandem_window_update_actions (self);
}
