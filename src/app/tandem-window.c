/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-app"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "tandem-format.h"
#include "tandem-sidebar-row.h"
#include "tandem-window-private.h"

#define FOCUS_SYNC_DELAY_MSEC 1500
#define FOCUS_SYNC_MIN_GAP    30     /* seconds since the last sync */
#define CLOCK_SECONDS         30

G_DEFINE_FINAL_TYPE (TandemWindow, tandem_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_STORE,
  PROP_ENGINE,
  PROP_SETTINGS,
  PROP_SHOW_COMPLETED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Toasts and errors */

AdwToast *
_tandem_window_add_toast (TandemWindow *self,
                          AdwToast     *toast)
{
  g_set_weak_pointer (&self->last_toast, toast);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
  return toast;
}

void
tandem_window_show_toast (TandemWindow *self,
                          const char   *message)
{
  g_autofree char *escaped = NULL;

  g_return_if_fail (TANDEM_IS_WINDOW (self));
  g_return_if_fail (message != NULL);

  escaped = g_markup_escape_text (message, -1);
  _tandem_window_add_toast (self, adw_toast_new (escaped));
}

void
_tandem_window_show_error (TandemWindow *self,
                           const char   *what,
                           const GError *error)
{
  /* Translators: "what could not be done: why", in a toast */
  g_autofree char *message = g_strdup_printf (_("%s: %s"), what, error->message);

  g_debug ("%s", message);
  tandem_window_show_toast (self, message);
}

/* Sync status in the header */

static void
update_sync_status (TandemWindow *self)
{
  TandemSyncState state = tandem_sync_engine_get_state (self->engine);
  const char *last_error = tandem_sync_engine_get_last_error (self->engine);
  gint64 last = tandem_sync_engine_get_last_synced (self->engine);
  g_autofree char *last_synced = tandem_format_last_synced (last);
  g_autofree char *subtitle = NULL;
  g_autofree char *tooltip = NULL;
  const char *icon = NULL;
  const char *action = NULL;

  /* One quiet line under the title: when the last sync was, and a state
   * that lasts (offline, signed out, waiting to retry) in front of it. A
   * button next to it explains that state and leads to what helps. */
  switch (state)
    {
    case TANDEM_SYNC_STATE_OFFLINE:
      icon = "network-offline-symbolic";
      /* Translators: %s is "Last synced 5 minutes ago" or "Not synced yet" */
      subtitle = g_strdup_printf (_("Offline · %s"), last_synced);
      tooltip = g_strdup (_("Offline. Your changes are saved on this device and sync when the "
                            "network is back."));
      break;
    case TANDEM_SYNC_STATE_SIGNED_OUT:
      icon = "avatar-default-symbolic";
      subtitle = g_strdup (_("Not signed in"));
      tooltip = g_strdup (_("Your changes stay on this device. Set up a sync account in "
                            "Preferences to sync your tasks with your other devices."));
      action = "app.preferences";
      break;
    case TANDEM_SYNC_STATE_PAUSED_AUTH:
      icon = "dialog-password-symbolic";
      subtitle = g_strdup (_("Sign in again to sync"));
      tooltip = g_strdup_printf ("%s\n%s", _("The server no longer accepts this device's sign-in. "
                                             "Your changes are kept on this device."),
                                 last_error ? last_error : "");
      action = "app.preferences";
      break;
    case TANDEM_SYNC_STATE_BACKING_OFF:
      {
        gint64 until = tandem_sync_engine_get_backoff_until (self->engine);
        g_autofree char *clock = tandem_format_clock (until);

        icon = "network-error-symbolic";
        /* Translators: %s is a time of day */
        subtitle = g_strdup_printf (_("Retrying at %s"), clock);
        tooltip = g_strdup_printf ("%s\n%s", _("Can't sync right now. Your changes are safe."),
                                   last_error ? last_error : "");
        action = "win.sync-now";
      }
      break;
    case TANDEM_SYNC_STATE_IDLE:
    case TANDEM_SYNC_STATE_PUSHING:
    case TANDEM_SYNC_STATE_PULLING:
    default:
      /* Calm: nothing changes on screen while a sync runs. */
      subtitle = g_strdup (last_synced);
      break;
    }

  adw_window_title_set_subtitle (self->content_title, subtitle);
  gtk_widget_set_visible (self->state_button, icon != NULL);
  if (icon != NULL)
    {
      g_strstrip (tooltip);
      gtk_button_set_icon_name (GTK_BUTTON (self->state_button), icon);
      gtk_widget_set_tooltip_text (self->state_button, tooltip);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->state_button), action);
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->state_button),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, subtitle,
                                      GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, tooltip, -1);
    }
  gtk_widget_set_tooltip_text (self->sync_button,
                               state == TANDEM_SYNC_STATE_PUSHING ||
                                   state == TANDEM_SYNC_STATE_PULLING
                                 ? _("Syncing…")
                                 : _("Sync Now"));
}

static gboolean
clock_cb (gpointer data)
{
  update_sync_status (data);
  return G_SOURCE_CONTINUE;
}

/* Sidebar */

static gboolean
is_open_in (const TandemTask *task,
            GHashTable       *live_lists,
            const char       *list_id)
{
  if (task->deleted || task->done)
    return FALSE;
  if (list_id == NULL)
    return task->list_id == NULL || !g_hash_table_contains (live_lists, task->list_id);
  return g_strcmp0 (task->list_id, list_id) == 0;
}

static void
sidebar_header_func (GtkListBoxRow *row,
                     GtkListBoxRow *before,
                     gpointer       data)
{
  TandemTaskFilter filter = tandem_sidebar_row_get_filter (TANDEM_SIDEBAR_ROW (row));
  gboolean separate = FALSE;

  if (before != NULL)
    {
      TandemTaskFilter previous = tandem_sidebar_row_get_filter (TANDEM_SIDEBAR_ROW (before));

      separate = filter == TANDEM_TASK_FILTER_TRASH ||
                 (filter == TANDEM_TASK_FILTER_LIST && previous != TANDEM_TASK_FILTER_LIST);
    }
  if (separate && gtk_list_box_row_get_header (row) == NULL)
    gtk_list_box_row_set_header (row, gtk_separator_new (GTK_ORIENTATION_HORIZONTAL));
  else if (!separate)
    gtk_list_box_row_set_header (row, NULL);
}

static GtkWidget *
add_sidebar_row (TandemWindow     *self,
                 TandemTaskFilter  filter,
                 const char       *list_id,
                 const char       *icon,
                 const char       *title,
                 int               position)
{
  GtkWidget *row = tandem_sidebar_row_new (filter, list_id, icon, title);

  gtk_list_box_insert (self->sidebar_list, row, position);
  g_hash_table_insert (self->sidebar_rows,
                       g_strdup (tandem_sidebar_row_get_key (TANDEM_SIDEBAR_ROW (row))), row);
  return row;
}

/* @tasks: the live tasks, as tandem_store_list_tasks() gives them. */
static void
refresh_sidebar (TandemWindow *self,
                 GPtrArray    *tasks)
{
  g_autoptr(GPtrArray) lists = NULL;
  g_autoptr(GHashTable) live_lists = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  g_autofree char *today = tandem_today ();
  GtkListBoxRow *selected = gtk_list_box_get_selected_row (self->sidebar_list);
  g_autofree char *selected_key =
    selected ? g_strdup (tandem_sidebar_row_get_key (TANDEM_SIDEBAR_ROW (selected))) : NULL;
  gboolean lists_changed = FALSE;
  guint inbox = 0, due = 0;
  int n_rows = 0;

  if (!(lists = tandem_store_list_lists (self->store, &error)))
    {
      _tandem_window_show_error (self, _("Couldn't read your lists"), error);
      return;
    }
  for (guint i = 0; i < lists->len; i++)
    g_hash_table_add (live_lists, ((TandemList *) g_ptr_array_index (lists, i))->id);

  if (g_hash_table_size (self->sidebar_rows) == 0)
    {
      add_sidebar_row (self, TANDEM_TASK_FILTER_INBOX, NULL, "tandem-inbox-symbolic", _("Inbox"),
                       -1);
      add_sidebar_row (self, TANDEM_TASK_FILTER_TODAY, NULL, "x-office-calendar-symbolic",
                       _("Today"), -1);
      add_sidebar_row (self, TANDEM_TASK_FILTER_TRASH, NULL, "user-trash-symbolic", _("Trash"), -1);
    }

  /* User lists sit between Today and the Trash, in their own order. */
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->sidebar_list));
       child != NULL; child = gtk_widget_get_next_sibling (child))
    if (TANDEM_IS_SIDEBAR_ROW (child) &&
        tandem_sidebar_row_get_filter (TANDEM_SIDEBAR_ROW (child)) == TANDEM_TASK_FILTER_LIST)
      {
        TandemList *list = (guint) n_rows < lists->len ? g_ptr_array_index (lists, n_rows) : NULL;

        const char *row_list_id = tandem_sidebar_row_get_list_id (TANDEM_SIDEBAR_ROW (child));

        if (list == NULL || g_strcmp0 (list->id, row_list_id) != 0)
          lists_changed = TRUE;
        n_rows++;
      }
  if (lists_changed || (guint) n_rows != lists->len)
    {
      GHashTableIter iter;
      gpointer row;

      self->selecting_sidebar = TRUE;
      g_hash_table_iter_init (&iter, self->sidebar_rows);
      while (g_hash_table_iter_next (&iter, NULL, &row))
        if (tandem_sidebar_row_get_filter (row) == TANDEM_TASK_FILTER_LIST)
          {
            gtk_list_box_remove (self->sidebar_list, row);
            g_hash_table_iter_remove (&iter);
          }
      for (guint i = 0; i < lists->len; i++)
        {
          TandemList *list = g_ptr_array_index (lists, i);

          add_sidebar_row (self, TANDEM_TASK_FILTER_LIST, list->id, "view-list-bullet-symbolic",
                           list->name, 2 + (int) i);
        }
      self->selecting_sidebar = FALSE;
    }

  for (guint i = 0; i < lists->len; i++)
    {
      TandemList *list = g_ptr_array_index (lists, i);
      g_autofree char *key = g_strconcat ("list:", list->id, NULL);
      TandemSidebarRow *row = g_hash_table_lookup (self->sidebar_rows, key);
      guint count = 0;

      for (guint j = 0; j < tasks->len; j++)
        count += is_open_in (g_ptr_array_index (tasks, j), live_lists, list->id);
      tandem_sidebar_row_set_title (row, list->name);
      tandem_sidebar_row_set_count (row, count);
    }
  for (guint j = 0; j < tasks->len; j++)
    {
      TandemTask *task = g_ptr_array_index (tasks, j);

      inbox += is_open_in (task, live_lists, NULL);
      due += !task->done && task->due != NULL && strcmp (task->due, today) <= 0;
    }
  tandem_sidebar_row_set_count (g_hash_table_lookup (self->sidebar_rows, "inbox"), inbox);
  tandem_sidebar_row_set_count (g_hash_table_lookup (self->sidebar_rows, "today"), due);
  gtk_list_box_invalidate_headers (self->sidebar_list);

  /* A list that went away (deleted on another device) leaves for the Inbox. */
  if (selected_key != NULL && gtk_list_box_get_selected_row (self->sidebar_list) == NULL)
    _tandem_window_select_sidebar (self, selected_key);
}

void
_tandem_window_select_sidebar (TandemWindow *self,
                               const char   *key)
{
  GtkListBoxRow *row = g_hash_table_lookup (self->sidebar_rows, key);

  if (row == NULL)
    row = g_hash_table_lookup (self->sidebar_rows, "inbox");
  gtk_list_box_select_row (self->sidebar_list, row);
}

/* Content */

static void
update_content (TandemWindow *self)
{
  TandemTaskFilter filter = tandem_task_list_model_get_filter (self->model);
  gboolean searching = tandem_task_list_model_get_search (self->model) != NULL;
  GtkListBoxRow *row = gtk_list_box_get_selected_row (self->sidebar_list);
  gboolean empty = g_list_model_get_n_items (G_LIST_MODEL (self->model)) == 0;

  if (searching)
    adw_window_title_set_title (self->content_title, _("Search"));
  else if (row != NULL)
    adw_window_title_set_title (self->content_title,
                                tandem_sidebar_row_get_title (TANDEM_SIDEBAR_ROW (row)));

  gtk_widget_set_visible (self->new_task_clamp, filter != TANDEM_TASK_FILTER_TRASH && !searching);
  gtk_stack_set_visible_child_name (self->content_stack, empty ? "empty" : "tasks");
  if (!empty)
    return;

  if (searching)
    {
      adw_status_page_set_icon_name (self->empty_page, "edit-find-symbolic");
      adw_status_page_set_title (self->empty_page, _("No Results"));
      adw_status_page_set_description (self->empty_page,
                                       _("No task has this in its title, notes or tags."));
    }
  else if (filter == TANDEM_TASK_FILTER_TODAY)
    {
      adw_status_page_set_icon_name (self->empty_page, "x-office-calendar-symbolic");
      adw_status_page_set_title (self->empty_page, _("Nothing Due Today"));
      adw_status_page_set_description (self->empty_page,
                                       _("Tasks due today or earlier show up here."));
    }
  else if (filter == TANDEM_TASK_FILTER_TRASH)
    {
      adw_status_page_set_icon_name (self->empty_page, "user-trash-symbolic");
      adw_status_page_set_title (self->empty_page, _("Trash Is Empty"));
      adw_status_page_set_description (self->empty_page,
                                       _("Deleted tasks show up here and can be restored."));
    }
  else
    {
      adw_status_page_set_icon_name (self->empty_page, "checkbox-checked-symbolic");
      adw_status_page_set_title (self->empty_page, _("No Tasks"));
      adw_status_page_set_description (self->empty_page,
                                       _("Add one above. It is saved on this device right away."));
    }
}

static void
foreach_row (TandemWindow *self,
             GFunc         func,
             gpointer      data)
{
  for (GtkWidget *item = gtk_widget_get_first_child (GTK_WIDGET (self->list_view)); item != NULL;
       item = gtk_widget_get_next_sibling (item))
    {
      GtkWidget *child = gtk_widget_get_first_child (item);

      if (child != NULL && TANDEM_IS_TASK_ROW (child))
        func (child, data);
    }
}

static void
set_row_reorderable (gpointer row,
                     gpointer data)
{
  tandem_task_row_set_reorderable (row, GPOINTER_TO_INT (data));
}

static void
reorderable_changed_cb (TandemWindow *self)
{
  foreach_row (self, set_row_reorderable,
               GINT_TO_POINTER (tandem_task_list_model_get_reorderable (self->model)));
}

static void
model_refresh_failed_cb (TandemWindow *self,
                         GError       *error)
{
  _tandem_window_show_error (self, _("Couldn't read your tasks"), error);
}

TandemTaskObject *
_tandem_window_get_selected (TandemWindow *self)
{
  return gtk_single_selection_get_selected_item (self->selection);
}

void
_tandem_window_select_task (TandemWindow *self,
                            const char   *task_id,
                            gboolean      scroll)
{
  guint position;

  if (tandem_task_list_model_find (self->model, task_id, &position) == NULL)
    return;
  gtk_single_selection_set_selected (self->selection, position);
  if (scroll)
    gtk_widget_activate_action (GTK_WIDGET (self->list_view), "list.scroll-to-item", "u",
                                position);
}

void
tandem_window_refresh (TandemWindow *self)
{
  TandemTaskObject *selected;
  g_autofree char *selected_id = NULL;
  g_autoptr(GPtrArray) tasks = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (TANDEM_IS_WINDOW (self));

  if (self->model == NULL)
    return;
  selected = _tandem_window_get_selected (self);
  selected_id = selected ? g_strdup (tandem_task_object_get_id (selected)) : NULL;

  /* One read of the store serves the tasks shown and the sidebar's counts:
   * with a large database, each read is what the user waits for. */
  if (!(tasks = tandem_store_list_tasks (self->store, TANDEM_TASK_QUERY_LIVE, &error)) ||
      !tandem_task_list_model_refresh_with (self->model, tasks, &error))
    _tandem_window_show_error (self, _("Couldn't read your tasks"), error);
  if (tasks != NULL)
    refresh_sidebar (self, tasks);

  /* The selected task keeps its selection when it moved. */
  if (selected_id != NULL && _tandem_window_get_selected (self) == NULL)
    _tandem_window_select_task (self, selected_id, FALSE);

  update_content (self);
  tandem_task_details_reload (self->details);
  _tandem_window_update_actions (self);
}

void
_tandem_window_local_change (TandemWindow *self)
{
  tandem_window_refresh (self);
  tandem_sync_engine_local_change (self->engine);
}

void
_tandem_window_show_details (TandemWindow *self)
{
  if (adw_leaflet_get_folded (self->leaflet))
    adw_leaflet_set_visible_child_name (self->leaflet, "details");
  tandem_task_details_focus_title (self->details);
}

/* Template callbacks */

static char *
dup_stripped_text (gpointer editable)
{
  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (editable))));
}

static void
leaflet_folded_cb (TandemWindow *self)
{
  gboolean folded = adw_leaflet_get_folded (self->leaflet);

  /* Narrow, a tap on a task opens it, as on a phone. */
  gtk_list_view_set_single_click_activate (self->list_view, folded);

  /* Folded onto an empty details page: show the tasks instead. */
  if (folded &&
      g_strcmp0 (adw_leaflet_get_visible_child_name (self->leaflet), "details") == 0 &&
      _tandem_window_get_selected (self) == NULL)
    adw_leaflet_set_visible_child_name (self->leaflet, "content");
}

static void
content_back_cb (TandemWindow *self)
{
  adw_leaflet_set_visible_child_name (self->leaflet, "sidebar");
}

static void
details_back_cb (TandemWindow *self)
{
  adw_leaflet_set_visible_child_name (self->leaflet, "content");
  gtk_widget_grab_focus (GTK_WIDGET (self->list_view));
}

static void
sidebar_row_selected_cb (TandemWindow  *self,
                         GtkListBoxRow *row)
{
  TandemSidebarRow *sidebar_row;

  if (row == NULL || self->selecting_sidebar)
    return;
  sidebar_row = TANDEM_SIDEBAR_ROW (row);
  tandem_task_list_model_set_filter (self->model, tandem_sidebar_row_get_filter (sidebar_row),
                                     tandem_sidebar_row_get_list_id (sidebar_row));
  g_settings_set_string (self->settings, "selected-list", tandem_sidebar_row_get_key (sidebar_row));
  update_content (self);
  _tandem_window_update_actions (self);
}

static void
sidebar_row_activated_cb (TandemWindow  *self,
                          GtkListBoxRow *row)
{
  if (adw_leaflet_get_folded (self->leaflet))
    adw_leaflet_set_visible_child_name (self->leaflet, "content");
}

static void
new_task_activate_cb (TandemWindow *self)
{
  g_autofree char *title = dup_stripped_text (self->new_task_entry);
  g_autoptr(TandemTask) draft = NULL;
  g_autoptr(TandemTask) created = NULL;
  g_autoptr(GError) error = NULL;

  if (*title == '\0')
    {
      gtk_widget_error_bell (GTK_WIDGET (self->new_task_entry));
      return;
    }

  draft = tandem_task_new ();
  draft->title = g_steal_pointer (&title);
  switch (tandem_task_list_model_get_filter (self->model))
    {
    case TANDEM_TASK_FILTER_LIST:
      draft->list_id = g_strdup (tandem_task_list_model_get_list_id (self->model));
      break;
    case TANDEM_TASK_FILTER_TODAY:
      /* Added to Today: due today, kept in the Inbox. */
      draft->due = tandem_today ();
      break;
    case TANDEM_TASK_FILTER_INBOX:
    case TANDEM_TASK_FILTER_TRASH:
    default:
      break;
    }

  if (!(created = tandem_store_create_task (self->store, draft, &error)))
    {
      /* The title stays in the entry, to fix and try again. */
      _tandem_window_show_error (self, _("Couldn't add the task"), error);
      return;
    }
  gtk_editable_set_text (GTK_EDITABLE (self->new_task_entry), "");
  _tandem_window_local_change (self);
  _tandem_window_select_task (self, created->id, TRUE);
}

static void
search_changed_cb (TandemWindow *self)
{
  tandem_task_list_model_set_search (self->model,
                                     gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
  update_content (self);
  _tandem_window_update_actions (self);
}

static void
search_activate_cb (TandemWindow *self)
{
  if (g_list_model_get_n_items (G_LIST_MODEL (self->model)) > 0)
    {
      gtk_single_selection_set_selected (self->selection, 0);
      gtk_widget_grab_focus (GTK_WIDGET (self->list_view));
    }
}

static void
search_mode_cb (TandemWindow *self)
{
  if (!gtk_search_bar_get_search_mode (self->search_bar))
    gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
}

static void
list_view_activate_cb (TandemWindow *self,
                       guint         position)
{
  gtk_single_selection_set_selected (self->selection, position);
  _tandem_window_show_details (self);
}

static void
details_changed_cb (TandemWindow *self)
{
  _tandem_window_local_change (self);
}

static void
details_error_cb (TandemWindow *self,
                  const char   *message)
{
  tandem_window_show_toast (self, message);
}

static void
new_list_activate_cb (TandemWindow *self)
{
  g_autofree char *name = dup_stripped_text (self->new_list_entry);
  g_autoptr(TandemList) list = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *key = NULL;

  if (*name == '\0')
    {
      gtk_widget_error_bell (GTK_WIDGET (self->new_list_entry));
      return;
    }
  if (!(list = tandem_store_create_list (self->store, name, &error)))
    {
      _tandem_window_show_error (self, _("Couldn't create the list"), error);
      return;
    }
  gtk_popover_popdown (self->new_list_popover);
  _tandem_window_local_change (self);
  key = g_strconcat ("list:", list->id, NULL);
  _tandem_window_select_sidebar (self, key);
  gtk_widget_grab_focus (GTK_WIDGET (self->new_task_entry));
}

static void
new_list_closed_cb (TandemWindow *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->new_list_entry), "");
}

/* List items */

static void
setup_item_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *item,
               TandemWindow             *self)
{
  gtk_list_item_set_child (item, tandem_task_row_new ());
}

static void
bind_item_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *item,
              TandemWindow             *self)
{
  TandemTaskRow *row = TANDEM_TASK_ROW (gtk_list_item_get_child (item));

  tandem_task_row_set_task (row, gtk_list_item_get_item (item));
  tandem_task_row_set_reorderable (row, tandem_task_list_model_get_reorderable (self->model));
}

static void
unbind_item_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *item,
                TandemWindow             *self)
{
  tandem_task_row_set_task (TANDEM_TASK_ROW (gtk_list_item_get_child (item)), NULL);
}

static void
selection_changed_cb (TandemWindow *self)
{
  TandemTaskObject *task = _tandem_window_get_selected (self);

  tandem_task_details_set_task_id (self->details, task ? tandem_task_object_get_id (task) : NULL);
  _tandem_window_update_actions (self);
}

/* Engine */

static void
records_changed_cb (TandemWindow *self)
{
  tandem_window_refresh (self);
}

static gboolean
state_refresh_cb (gpointer data)
{
  TandemWindow *self = data;

  self->state_refresh_id = 0;
  tandem_window_refresh (self);
  return G_SOURCE_REMOVE;
}

static void
engine_state_cb (TandemWindow *self)
{
  /* The header only: rows follow task-status-changed one by one, and
   * records-changed reloads the list when an attempt changed records. */
  update_sync_status (self);
}

/* One row's chip, without reading every task again: what makes Sync now
 * cheap on a large database. An error needs its reason, which the whole
 * refresh collects. */
static void
task_status_changed_cb (TandemWindow *self,
                        const char   *task_id,
                        int           status)
{
  TandemTaskObject *object;
  g_autoptr(TandemTask) task = NULL;

  if (self->model == NULL || (object = tandem_task_list_model_lookup (self->model, task_id)) == NULL)
    return;
  if (status == TANDEM_SYNC_ERROR ||
      (task = tandem_store_get_task (self->store, task_id, NULL)) == NULL)
    {
      if (self->state_refresh_id == 0)
        self->state_refresh_id = g_idle_add (state_refresh_cb, self);
      return;
    }
  tandem_task_object_update (object, task, NULL);
}

static gboolean
focus_sync_cb (gpointer data)
{
  TandemWindow *self = data;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  self->focus_sync_id = 0;
  if (gtk_window_is_active (GTK_WINDOW (self)) &&
      tandem_sync_engine_get_state (self->engine) == TANDEM_SYNC_STATE_IDLE &&
      now - tandem_sync_engine_get_last_synced (self->engine) >= FOCUS_SYNC_MIN_GAP)
    tandem_sync_engine_sync_now (self->engine);
  return G_SOURCE_REMOVE;
}

static void
is_active_cb (TandemWindow *self)
{
  if (!gtk_window_is_active (GTK_WINDOW (self)))
    return;
  /* Back from the terminal: show what tandem-cli did meanwhile. The first
   * time, as the window opens, it shows what it has just read. */
  if (self->activated_before)
    tandem_window_refresh (self);
  self->activated_before = TRUE;
  if (!g_settings_get_boolean (self->settings, "sync-on-focus"))
    return;
  g_clear_handle_id (&self->focus_sync_id, g_source_remove);
  self->focus_sync_id = g_timeout_add (FOCUS_SYNC_DELAY_MSEC, focus_sync_cb, self);
}

/* GObject */

static gboolean
tandem_window_close_request (GtkWindow *window)
{
  TandemWindow *self = TANDEM_WINDOW (window);
  int width, height;

  tandem_task_details_save_now (self->details);
  gtk_window_get_default_size (window, &width, &height);
  g_settings_delay (self->settings);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
  if (!gtk_window_is_maximized (window))
    {
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
    }
  g_settings_apply (self->settings);

  return GTK_WINDOW_CLASS (tandem_window_parent_class)->close_request (window);
}

static void
tandem_window_constructed (GObject *object)
{
  TandemWindow *self = TANDEM_WINDOW (object);
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  g_autofree char *selected_list = NULL;

  G_OBJECT_CLASS (tandem_window_parent_class)->constructed (object);

  g_assert (self->store != NULL && self->engine != NULL && self->settings != NULL);

  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  self->model = tandem_task_list_model_new (self->store);
  g_settings_bind (self->settings, "show-completed", self, "show-completed",
                   G_SETTINGS_BIND_DEFAULT);
  g_signal_connect_object (self->model, "notify::reorderable", G_CALLBACK (reorderable_changed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->model, "refresh-failed", G_CALLBACK (model_refresh_failed_cb),
                           self, G_CONNECT_SWAPPED);

  self->selection = gtk_single_selection_new (g_object_ref (G_LIST_MODEL (self->model)));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  g_signal_connect_object (self->selection, "notify::selected-item",
                           G_CALLBACK (selection_changed_cb), self, G_CONNECT_SWAPPED);

  g_signal_connect (factory, "setup", G_CALLBACK (setup_item_cb), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_item_cb), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_item_cb), self);
  gtk_list_view_set_factory (self->list_view, factory);
  gtk_list_view_set_model (self->list_view, GTK_SELECTION_MODEL (self->selection));

  tandem_task_details_set_store (self->details, self->store);

  g_signal_connect_object (self->engine, "records-changed", G_CALLBACK (records_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->engine, "conflicts-changed", G_CALLBACK (records_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->engine, "notify::state", G_CALLBACK (engine_state_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->engine, "task-status-changed",
                           G_CALLBACK (task_status_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->engine, "notify::last-synced", G_CALLBACK (update_sync_status),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->engine, "notify::backoff-until", G_CALLBACK (update_sync_status),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->engine, "notify::last-error", G_CALLBACK (update_sync_status),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect (self, "notify::is-active", G_CALLBACK (is_active_cb), NULL);
  self->clock_id = g_timeout_add_seconds (CLOCK_SECONDS, clock_cb, self);

  _tandem_window_actions_init (self);
  /* The Inbox first, as the model starts on it; another list the user left
   * open reads its tasks once more. */
  tandem_window_refresh (self);
  selected_list = g_settings_get_string (self->settings, "selected-list");
  _tandem_window_select_sidebar (self, selected_list);
  update_sync_status (self);

  if (DEVELOPMENT_BUILD)
    gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
}

static void
tandem_window_dispose (GObject *object)
{
  TandemWindow *self = (TandemWindow *) object;

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->clock_id, g_source_remove);
  g_clear_handle_id (&self->focus_sync_id, g_source_remove);
  g_clear_handle_id (&self->state_refresh_id, g_source_remove);
  if (self->engine != NULL)
    g_signal_handlers_disconnect_by_data (self->engine, self);
  g_clear_weak_pointer (&self->last_toast);
  gtk_widget_dispose_template (GTK_WIDGET (self), TANDEM_TYPE_WINDOW);
  g_clear_object (&self->selection);
  g_clear_object (&self->model);
  G_OBJECT_CLASS (tandem_window_parent_class)->dispose (object);
}

static void
tandem_window_finalize (GObject *object)
{
  TandemWindow *self = (TandemWindow *) object;

  g_clear_object (&self->store);
  g_clear_object (&self->engine);
  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->sidebar_rows, g_hash_table_unref);
  g_clear_pointer (&self->last_deleted_id, g_free);
  G_OBJECT_CLASS (tandem_window_parent_class)->finalize (object);
}

static void
tandem_window_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  TandemWindow *self = TANDEM_WINDOW (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_ENGINE:
      g_value_set_object (value, self->engine);
      break;
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;
    case PROP_SHOW_COMPLETED:
      g_value_set_boolean (value, self->show_completed);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_window_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  TandemWindow *self = TANDEM_WINDOW (object);

  switch (prop_id)
    {
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    case PROP_ENGINE:
      self->engine = g_value_dup_object (value);
      break;
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;
    case PROP_SHOW_COMPLETED:
      if (self->show_completed != g_value_get_boolean (value))
        {
          self->show_completed = g_value_get_boolean (value);
          if (self->model != NULL)
            {
              tandem_task_list_model_set_show_completed (self->model, self->show_completed);
              update_content (self);
            }
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_window_class_init (TandemWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = tandem_window_constructed;
  object_class->dispose = tandem_window_dispose;
  object_class->finalize = tandem_window_finalize;
  object_class->get_property = tandem_window_get_property;
  object_class->set_property = tandem_window_set_property;
  window_class->close_request = tandem_window_close_request;

  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, TANDEM_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ENGINE] =
    g_param_spec_object ("engine", NULL, NULL, TANDEM_TYPE_SYNC_ENGINE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_COMPLETED] =
    g_param_spec_boolean ("show-completed", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (TANDEM_TYPE_TASK_DETAILS);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tandem/Tandem/ui/tandem-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, new_list_button);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, new_list_popover);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, new_list_entry);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, sidebar_list);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, content_title);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, sync_button);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, search_button);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, state_button);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, search_bar);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, new_task_clamp);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, new_task_entry);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, content_stack);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, list_view);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, empty_page);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, details);
  gtk_widget_class_bind_template_callback (widget_class, leaflet_folded_cb);
  gtk_widget_class_bind_template_callback (widget_class, content_back_cb);
  gtk_widget_class_bind_template_callback (widget_class, details_back_cb);
  gtk_widget_class_bind_template_callback (widget_class, sidebar_row_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, sidebar_row_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, new_task_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, search_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, search_mode_cb);
  gtk_widget_class_bind_template_callback (widget_class, list_view_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, details_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, details_error_cb);
  gtk_widget_class_bind_template_callback (widget_class, new_list_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, new_list_closed_cb);

  _tandem_window_class_actions_init (widget_class);
}

static void
tandem_window_init (TandemWindow *self)
{
  self->sidebar_rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->cancellable = g_cancellable_new ();
  self->show_completed = TRUE;

  gtk_widget_init_template (GTK_WIDGET (self));
  /* Folded, the window opens on the tasks. */
  adw_leaflet_set_visible_child_name (self->leaflet, "content");
  gtk_list_box_set_header_func (self->sidebar_list, sidebar_header_func, NULL, NULL);
  gtk_search_bar_connect_entry (self->search_bar, GTK_EDITABLE (self->search_entry));
}

TandemWindow *
tandem_window_new (GtkApplication   *application,
                   TandemStore      *store,
                   TandemSyncEngine *engine,
                   GSettings        *settings)
{
  g_return_val_if_fail (GTK_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (TANDEM_IS_STORE (store), NULL);
  g_return_val_if_fail (TANDEM_IS_SYNC_ENGINE (engine), NULL);
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  return g_object_new (TANDEM_TYPE_WINDOW,
                       "application", application,
                       "store", store,
                       "engine", engine,
                       "settings", settings,
                       NULL);
}

TandemStore *
tandem_window_get_store (TandemWindow *self)
{
  g_return_val_if_fail (TANDEM_IS_WINDOW (self), NULL);
  return self->store;
}

TandemSyncEngine *
tandem_window_get_engine (TandemWindow *self)
{
  g_return_val_if_fail (TANDEM_IS_WINDOW (self), NULL);
  return self->engine;
}

/* For tests */

TandemTaskListModel *
_tandem_window_get_model (TandemWindow *self)
{
  return self->model;
}

typedef struct
{
  const char    *task_id;
  TandemTaskRow *found;
} FindRow;

static void
find_row (gpointer row,
          gpointer data)
{
  FindRow *find = data;
  TandemTaskObject *task = tandem_task_row_get_task (row);

  if (task != NULL && g_strcmp0 (tandem_task_object_get_id (task), find->task_id) == 0)
    find->found = row;
}

TandemTaskRow *
_tandem_window_find_row (TandemWindow *self,
                         const char   *task_id)
{
  FindRow find = { task_id, NULL };

  foreach_row (self, find_row, &find);
  return find.found;
}

GtkEntry *
_tandem_window_get_new_task_entry (TandemWindow *self)
{
  return self->new_task_entry;
}

GtkSearchEntry *
_tandem_window_get_search_entry (TandemWindow *self)
{
  return self->search_entry;
}

TandemTaskDetails *
_tandem_window_get_details (TandemWindow *self)
{
  return self->details;
}

const char *
_tandem_window_get_sync_status_text (TandemWindow *self)
{
  return adw_window_title_get_subtitle (self->content_title);
}

AdwToast *
_tandem_window_get_last_toast (TandemWindow *self)
{
  return self->last_toast;
}
