/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-app"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <stdio.h>

#include "tandem-format.h"
#include "tandem-task-details-private.h"

#define NOTES_SAVE_DELAY_MSEC 800

struct _TandemTaskDetails
{
  GtkWidget        parent_instance;

  TandemStore     *store;
  char            *task_id;
  TandemTask      *task;          /* as last read, with comments */
  gboolean         loading;
  gboolean         notes_dirty;
  guint            notes_timeout;
  GPtrArray       *list_ids;      /* the list row's choices: NULL (Inbox), then list ids */
  GPtrArray       *history_rows;

  GtkStack        *stack;
  GtkWidget       *review_group;
  GtkWidget       *review_button;
  GtkWidget       *error_group;
  AdwActionRow    *error_row;
  GtkWidget       *trash_group;
  GtkWidget       *restore_button;
  GtkWidget       *fields_group;
  AdwEntryRow     *title_row;
  AdwActionRow    *due_row;
  GtkPopover      *due_popover;
  GtkWidget       *due_clear_button;
  GtkCalendar     *calendar;
  AdwComboRow     *priority_row;
  AdwComboRow     *list_row;
  GtkWidget       *notes_group;
  GtkTextView     *notes_view;
  GtkWidget       *tags_group;
  AdwEntryRow     *tag_row;
  GtkFlowBox      *tags_box;
  GtkWidget       *comments_group;
  GtkListBox      *comments_list;
  AdwEntryRow     *comment_row;
  AdwExpanderRow  *history_row;
  GtkWidget       *delete_button;
};

G_DEFINE_FINAL_TYPE (TandemTaskDetails, tandem_task_details, GTK_TYPE_WIDGET)

enum {
  CHANGED,
  ERROR,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
emit_error (TandemTaskDetails *self,
            const GError      *error)
{
  g_autofree char *message = g_strdup_printf (_("Couldn't save the change: %s"), error->message);

  g_signal_emit (self, signals[ERROR], 0, message);
}

static char *
dup_stripped_text (gpointer editable)
{
  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (editable))));
}

static gboolean
has_focus_within (GtkWidget *widget)
{
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkWidget *focus = root ? gtk_root_get_focus (root) : NULL;

  return focus != NULL && (focus == widget || gtk_widget_is_ancestor (focus, widget));
}

/* Writing */

static gboolean
update_field (TandemTaskDetails *self,
              const char        *field,
              JsonNode          *value)
{
  g_autoptr(JsonObject) changes = json_object_new ();
  g_autoptr(GError) error = NULL;

  json_object_set_member (changes, field, value);
  if (self->task_id == NULL)
    return FALSE;
  if (!tandem_store_update_task (self->store, self->task_id, changes, &error))
    {
      emit_error (self, error);
      tandem_task_details_reload (self);
      return FALSE;
    }
  g_signal_emit (self, signals[CHANGED], 0);
  return TRUE;
}

static void
title_apply_cb (TandemTaskDetails *self)
{
  g_autofree char *title = dup_stripped_text (self->title_row);
  g_autoptr(JsonNode) node = NULL;

  if (self->loading || self->task == NULL || g_strcmp0 (title, self->task->title) == 0)
    return;
  if (*title == '\0')
    {
      g_signal_emit (self, signals[ERROR], 0, _("A task needs a title."));
      gtk_editable_set_text (GTK_EDITABLE (self->title_row), self->task->title);
      return;
    }
  node = json_node_init_string (json_node_alloc (), title);
  update_field (self, "title", g_steal_pointer (&node));
}

static void
set_due (TandemTaskDetails *self,
         const char        *due)
{
  JsonNode *node = json_node_alloc ();

  if (due != NULL)
    json_node_init_string (node, due);
  else
    json_node_init_null (node);
  gtk_popover_popdown (self->due_popover);
  update_field (self, "due", node);
}

static void
calendar_day_selected_cb (TandemTaskDetails *self)
{
  g_autoptr(GDateTime) date = NULL;
  g_autofree char *due = NULL;

  if (self->loading || self->task == NULL)
    return;
  date = gtk_calendar_get_date (self->calendar);
  due = g_date_time_format (date, "%Y-%m-%d");
  if (g_strcmp0 (due, self->task->due) != 0)
    set_due (self, due);
}

static void
due_today_cb (TandemTaskDetails *self)
{
  g_autofree char *today = tandem_today ();

  if (self->task != NULL && g_strcmp0 (today, self->task->due) != 0)
    set_due (self, today);
  else
    gtk_popover_popdown (self->due_popover);
}

static void
due_clear_cb (TandemTaskDetails *self)
{
  if (self->task != NULL && self->task->due != NULL)
    set_due (self, NULL);
  else
    gtk_popover_popdown (self->due_popover);
}

static void
priority_selected_cb (TandemTaskDetails *self)
{
  guint selected = adw_combo_row_get_selected (self->priority_row);

  if (self->loading || self->task == NULL || selected == GTK_INVALID_LIST_POSITION ||
      (int) selected == self->task->priority)
    return;
  update_field (self, "priority", json_node_init_int (json_node_alloc (), selected));
}

static void
list_selected_cb (TandemTaskDetails *self)
{
  guint selected = adw_combo_row_get_selected (self->list_row);
  const char *list_id;
  JsonNode *node;

  if (self->loading || self->task == NULL || selected >= self->list_ids->len)
    return;
  list_id = g_ptr_array_index (self->list_ids, selected);
  if (g_strcmp0 (list_id, self->task->list_id) == 0)
    return;
  node = json_node_alloc ();
  if (list_id != NULL)
    json_node_init_string (node, list_id);
  else
    json_node_init_null (node);
  update_field (self, "list_id", node);
}

static char *
notes_text (TandemTaskDetails *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->notes_view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

void
tandem_task_details_save_now (TandemTaskDetails *self)
{
  g_autofree char *notes = NULL;

  g_return_if_fail (TANDEM_IS_TASK_DETAILS (self));

  g_clear_handle_id (&self->notes_timeout, g_source_remove);
  if (!self->notes_dirty || self->task == NULL)
    return;
  self->notes_dirty = FALSE;
  notes = notes_text (self);
  if (g_strcmp0 (notes, self->task->notes) != 0)
    update_field (self, "notes", json_node_init_string (json_node_alloc (), notes));
}

static gboolean
notes_timeout_cb (gpointer data)
{
  TandemTaskDetails *self = data;

  self->notes_timeout = 0;
  tandem_task_details_save_now (self);
  return G_SOURCE_REMOVE;
}

static void
notes_changed_cb (TandemTaskDetails *self)
{
  if (self->loading)
    return;
  /* Saved shortly after typing stops, and when the focus leaves. */
  self->notes_dirty = TRUE;
  g_clear_handle_id (&self->notes_timeout, g_source_remove);
  self->notes_timeout = g_timeout_add (NOTES_SAVE_DELAY_MSEC, notes_timeout_cb, self);
}

static void
notes_focus_leave_cb (TandemTaskDetails *self)
{
  tandem_task_details_save_now (self);
}

static void
tag_apply_cb (TandemTaskDetails *self)
{
  g_autofree char *tag = dup_stripped_text (self->tag_row);
  g_autoptr(GError) error = NULL;
  const char *add[] = { tag, NULL };

  if (self->task == NULL || *tag == '\0')
    return;
  if (!tandem_validate_tag (tag, &error) ||
      !tandem_store_change_tags (self->store, self->task_id, add, NULL, &error))
    {
      emit_error (self, error);
      return;
    }
  gtk_editable_set_text (GTK_EDITABLE (self->tag_row), "");
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
tag_remove_cb (GtkButton         *button,
               TandemTaskDetails *self)
{
  const char *tag = g_object_get_data (G_OBJECT (button), "tag");
  const char *remove[] = { tag, NULL };
  g_autoptr(GError) error = NULL;

  if (self->task == NULL || tag == NULL)
    return;
  if (!tandem_store_change_tags (self->store, self->task_id, NULL, remove, &error))
    {
      emit_error (self, error);
      return;
    }
  g_signal_emit (self, signals[CHANGED], 0);
  gtk_widget_grab_focus (GTK_WIDGET (self->tag_row));
}

static void
comment_apply_cb (TandemTaskDetails *self)
{
  g_autofree char *body = dup_stripped_text (self->comment_row);
  g_autofree char *comment_id = NULL;
  g_autoptr(GError) error = NULL;

  if (self->task == NULL || *body == '\0')
    return;
  if (!(comment_id = tandem_store_add_comment (self->store, self->task_id, body, &error)))
    {
      emit_error (self, error);
      return;
    }
  gtk_editable_set_text (GTK_EDITABLE (self->comment_row), "");
  g_signal_emit (self, signals[CHANGED], 0);
}

/* Reading */

static void
show_tags (TandemTaskDetails *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->tags_box))) != NULL)
    gtk_flow_box_remove (self->tags_box, child);

  for (guint i = 0; i < self->task->tags->len; i++)
    {
      const char *tag = g_ptr_array_index (self->task->tags, i);
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 2);
      GtkWidget *label = gtk_label_new (tag);
      GtkWidget *button = gtk_button_new_from_icon_name ("window-close-symbolic");
      g_autofree char *remove_label = g_strdup_printf (_("Remove the tag “%s”"), tag);

      gtk_widget_add_css_class (box, "tag-chip");
      gtk_widget_set_margin_start (label, 8);
      gtk_widget_add_css_class (button, "flat");
      gtk_widget_add_css_class (button, "circular");
      gtk_widget_set_tooltip_text (button, remove_label);
      gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      remove_label, -1);
      g_object_set_data_full (G_OBJECT (button), "tag", g_strdup (tag), g_free);
      g_signal_connect (button, "clicked", G_CALLBACK (tag_remove_cb), self);
      gtk_box_append (GTK_BOX (box), label);
      gtk_box_append (GTK_BOX (box), button);
      gtk_flow_box_append (self->tags_box, box);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->tags_box), self->task->tags->len > 0);
}

static void
show_comments (TandemTaskDetails *self)
{
  GtkWidget *child;

  /* The entry for a new comment is a list of its own: a refresh never
   * takes the focus from it. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->comments_list))) != NULL)
    gtk_list_box_remove (self->comments_list, child);
  for (guint i = 0; i < self->task->comments->len; i++)
    {
      TandemComment *comment = g_ptr_array_index (self->task->comments, i);
      g_autofree char *when = tandem_format_timestamp (comment->created_at);
      gboolean mine = g_strcmp0 (comment->device_id, tandem_store_get_device_id (self->store)) == 0;
      g_autofree char *subtitle = g_strdup_printf ("%s · %s", when,
                                                   mine ? _("this device") : _("another device"));
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), comment->body);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      gtk_list_box_append (self->comments_list, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->comments_list), self->task->comments->len > 0);
}

static void
show_history (TandemTaskDetails *self)
{
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *count = NULL;

  for (guint i = 0; i < self->history_rows->len; i++)
    adw_expander_row_remove (self->history_row, g_ptr_array_index (self->history_rows, i));
  g_ptr_array_set_size (self->history_rows, 0);

  if (!(entries = tandem_store_get_history (self->store, self->task_id, &error)))
    {
      g_autofree char *message = g_strdup_printf (_("Couldn't read the history: %s"),
                                                  error->message);

      adw_expander_row_set_subtitle (self->history_row, message);
      return;
    }

  /* Newest first. */
  for (guint i = entries->len; i > 0; i--)
    {
      const TandemHistoryEntry *entry = g_ptr_array_index (entries, i - 1);
      g_autofree char *title = tandem_format_history (entry);
      g_autofree char *value = tandem_format_history_value (entry);
      g_autofree char *when = tandem_format_timestamp (entry->at);
      g_autofree char *subtitle = value ? g_strdup_printf ("%s · %s", value, when)
                                        : g_strdup (when);
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      adw_expander_row_add_row (self->history_row, row);
      g_ptr_array_add (self->history_rows, row);
    }
  count = g_strdup_printf (ngettext ("%u change", "%u changes", entries->len), entries->len);
  adw_expander_row_set_subtitle (self->history_row, count);
}

static void
show_lists (TandemTaskDetails *self)
{
  g_autoptr(GPtrArray) lists = NULL;
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  g_autoptr(GError) error = NULL;
  guint selected = 0;

  g_ptr_array_set_size (self->list_ids, 0);
  g_ptr_array_add (self->list_ids, NULL);
  gtk_string_list_append (names, _("Inbox"));
  if (!(lists = tandem_store_list_lists (self->store, &error)))
    g_signal_emit (self, signals[ERROR], 0, error->message);
  for (guint i = 0; lists != NULL && i < lists->len; i++)
    {
      TandemList *list = g_ptr_array_index (lists, i);

      g_ptr_array_add (self->list_ids, g_strdup (list->id));
      gtk_string_list_append (names, list->name);
      if (g_strcmp0 (list->id, self->task->list_id) == 0)
        selected = i + 1;
    }
  adw_combo_row_set_model (self->list_row, G_LIST_MODEL (names));
  adw_combo_row_set_selected (self->list_row, selected);
}

static char *
sync_error_of (TandemTaskDetails *self)
{
  g_autoptr(GPtrArray) ops = tandem_store_outbox_list (self->store, 0, NULL);

  for (guint i = 0; ops != NULL && i < ops->len; i++)
    {
      TandemOp *op = g_ptr_array_index (ops, i);

      if (op->state == TANDEM_OP_STATE_ERROR && g_strcmp0 (op->entity_id, self->task_id) == 0)
        return g_strdup (op->error);
    }
  return NULL;
}

static void
show_task (TandemTaskDetails *self)
{
  const TandemTask *task = self->task;
  g_autofree char *due = tandem_format_due (task->due, task->done, NULL);
  g_autofree char *sync_error = NULL;
  gboolean editable = !task->deleted;

  gtk_stack_set_visible_child_name (self->stack, "task");

  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->review_button), "s", task->id);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->restore_button), "s", task->id);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->delete_button), "s", task->id);

  gtk_widget_set_visible (self->review_group, task->sync_status == TANDEM_SYNC_NEEDS_REVIEW);
  gtk_widget_set_visible (self->error_group, task->sync_status == TANDEM_SYNC_ERROR);
  if (task->sync_status == TANDEM_SYNC_ERROR)
    {
      sync_error = sync_error_of (self);
      adw_action_row_set_subtitle (self->error_row, sync_error ? sync_error : "");
    }
  gtk_widget_set_visible (self->trash_group, task->deleted);
  gtk_widget_set_visible (self->delete_button, !task->deleted);
  gtk_widget_set_sensitive (self->fields_group, editable);
  gtk_widget_set_sensitive (self->notes_group, editable);
  gtk_widget_set_sensitive (self->tags_group, editable);
  gtk_widget_set_sensitive (self->comments_group, editable);

  /* Keep a title being typed. */
  if (!has_focus_within (GTK_WIDGET (self->title_row)) ||
      g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->title_row)), task->title) == 0)
    gtk_editable_set_text (GTK_EDITABLE (self->title_row), task->title);

  adw_action_row_set_subtitle (self->due_row, due ? due : _("None"));
  gtk_widget_set_visible (self->due_clear_button, task->due != NULL);
  if (task->due != NULL)
    {
      int y, m, d;

      if (sscanf (task->due, "%4d-%2d-%2d", &y, &m, &d) == 3)
        {
          g_autoptr(GDateTime) date = g_date_time_new_local (y, m, d, 0, 0, 0);

          if (date != NULL)
            gtk_calendar_select_day (self->calendar, date);
        }
    }
  adw_combo_row_set_selected (self->priority_row, (guint) task->priority);
  show_lists (self);

  if (!self->notes_dirty)
    gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->notes_view), task->notes, -1);

  show_tags (self);
  show_comments (self);
  show_history (self);
}

void
tandem_task_details_reload (TandemTaskDetails *self)
{
  g_autoptr(GError) error = NULL;
  TandemTask *task = NULL;

  g_return_if_fail (TANDEM_IS_TASK_DETAILS (self));

  if (self->task_id != NULL && self->store != NULL)
    {
      task = tandem_store_get_task (self->store, self->task_id, &error);
      if (task == NULL &&
          !g_error_matches (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND))
        {
          g_autofree char *message = g_strdup_printf (_("Couldn't read the task: %s"),
                                                      error->message);

          g_signal_emit (self, signals[ERROR], 0, message);
        }
    }

  g_clear_pointer (&self->task, tandem_task_free);
  self->task = task;
  self->loading = TRUE;
  if (self->task != NULL)
    show_task (self);
  else
    gtk_stack_set_visible_child_name (self->stack, "empty");
  self->loading = FALSE;
}

/* GObject */

static void
tandem_task_details_dispose (GObject *object)
{
  TandemTaskDetails *self = (TandemTaskDetails *) object;
  GtkWidget *child;

  g_clear_handle_id (&self->notes_timeout, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), TANDEM_TYPE_TASK_DETAILS);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (tandem_task_details_parent_class)->dispose (object);
}

static void
tandem_task_details_finalize (GObject *object)
{
  TandemTaskDetails *self = (TandemTaskDetails *) object;

  g_clear_object (&self->store);
  g_clear_pointer (&self->task_id, g_free);
  g_clear_pointer (&self->task, tandem_task_free);
  g_clear_pointer (&self->list_ids, g_ptr_array_unref);
  g_clear_pointer (&self->history_rows, g_ptr_array_unref);
  G_OBJECT_CLASS (tandem_task_details_parent_class)->finalize (object);
}

static void
tandem_task_details_class_init (TandemTaskDetailsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tandem_task_details_dispose;
  object_class->finalize = tandem_task_details_finalize;

  /* The task was changed in the store. */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* A change could not be made; the argument says why, for people. */
  signals[ERROR] = g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                 NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (
    widget_class, "/io/github/tandem/Tandem/ui/tandem-task-details.ui");
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, stack);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, review_group);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, review_button);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, error_group);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, error_row);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, trash_group);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, restore_button);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, fields_group);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, title_row);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, due_row);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, due_popover);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, due_clear_button);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, calendar);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, priority_row);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, list_row);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, notes_group);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, notes_view);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, tags_group);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, tag_row);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, tags_box);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, comments_group);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, comments_list);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, comment_row);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, history_row);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskDetails, delete_button);
  gtk_widget_class_bind_template_callback (widget_class, title_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, calendar_day_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, due_today_cb);
  gtk_widget_class_bind_template_callback (widget_class, due_clear_cb);
  gtk_widget_class_bind_template_callback (widget_class, priority_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, list_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, tag_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, comment_apply_cb);
}

static void
tandem_task_details_init (TandemTaskDetails *self)
{
  GtkEventController *focus;

  self->list_ids = g_ptr_array_new_with_free_func (g_free);
  self->history_rows = g_ptr_array_new ();

  gtk_widget_init_template (GTK_WIDGET (self));

  g_signal_connect_swapped (gtk_text_view_get_buffer (self->notes_view), "changed",
                            G_CALLBACK (notes_changed_cb), self);
  focus = gtk_event_controller_focus_new ();
  g_signal_connect_swapped (focus, "leave", G_CALLBACK (notes_focus_leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->notes_view), focus);

  /* A title typed and left without Enter is kept too. */
  focus = gtk_event_controller_focus_new ();
  g_signal_connect_swapped (focus, "leave", G_CALLBACK (title_apply_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->title_row), focus);
}

GtkWidget *
tandem_task_details_new (void)
{
  return g_object_new (TANDEM_TYPE_TASK_DETAILS, NULL);
}

void
tandem_task_details_set_store (TandemTaskDetails *self,
                               TandemStore       *store)
{
  g_return_if_fail (TANDEM_IS_TASK_DETAILS (self));
  g_return_if_fail (store == NULL || TANDEM_IS_STORE (store));

  g_set_object (&self->store, store);
  tandem_task_details_reload (self);
}

const char *
tandem_task_details_get_task_id (TandemTaskDetails *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_DETAILS (self), NULL);
  return self->task_id;
}

void
tandem_task_details_set_task_id (TandemTaskDetails *self,
                                 const char        *task_id)
{
  g_return_if_fail (TANDEM_IS_TASK_DETAILS (self));

  if (g_strcmp0 (self->task_id, task_id) == 0)
    return;
  /* What was typed for the previous task is kept. */
  title_apply_cb (self);
  tandem_task_details_save_now (self);
  self->notes_dirty = FALSE;
  g_free (self->task_id);
  self->task_id = g_strdup (task_id);
  gtk_editable_set_text (GTK_EDITABLE (self->tag_row), "");
  gtk_editable_set_text (GTK_EDITABLE (self->comment_row), "");
  adw_expander_row_set_expanded (self->history_row, FALSE);
  tandem_task_details_reload (self);
}

void
tandem_task_details_focus_title (TandemTaskDetails *self)
{
  g_return_if_fail (TANDEM_IS_TASK_DETAILS (self));

  if (self->task != NULL)
    gtk_widget_grab_focus (GTK_WIDGET (self->title_row));
}

AdwEntryRow *
_tandem_task_details_get_title_row (TandemTaskDetails *self)
{
  return self->title_row;
}

GtkTextView *
_tandem_task_details_get_notes_view (TandemTaskDetails *self)
{
  return self->notes_view;
}

AdwEntryRow *
_tandem_task_details_get_tag_row (TandemTaskDetails *self)
{
  return self->tag_row;
}

AdwEntryRow *
_tandem_task_details_get_comment_row (TandemTaskDetails *self)
{
  return self->comment_row;
}

GStrv
_tandem_task_details_dup_history (TandemTaskDetails *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < self->history_rows->len; i++)
    g_strv_builder_add (builder,
                        adw_preferences_row_get_title (g_ptr_array_index (self->history_rows, i)));
  return g_strv_builder_end (builder);
}
