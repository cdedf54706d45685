/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-app"

#include "config.h"

#include <glib/gi18n.h>

#include "tandem-format.h"
#include "tandem-task-row.h"

struct _TandemTaskRow
{
  GtkWidget         parent_instance;

  TandemTaskObject *task;
  gulong            notify_handler;
  gboolean          updating;
  gboolean          reorderable;
  char             *description;

  GtkDragSource    *drag_source;
  GtkDropTarget    *drop_target;

  GtkCheckButton   *done_check;
  GtkLabel         *title_label;
  GtkWidget        *meta_box;
  GtkWidget        *due_box;
  GtkImage         *due_image;
  GtkLabel         *due_label;
  GtkLabel         *priority_label;
  GtkWidget        *tags_box;
  GtkLabel         *status_label;
  GtkSpinner       *syncing_spinner;
  GtkLabel         *chip_label;
  GtkWidget        *review_button;
  GtkWidget        *restore_button;
};

G_DEFINE_FINAL_TYPE (TandemTaskRow, tandem_task_row, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TASK,
  PROP_REORDERABLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
set_css_class (GtkWidget  *widget,
               const char *name,
               gboolean    set)
{
  if (set)
    gtk_widget_add_css_class (widget, name);
  else
    gtk_widget_remove_css_class (widget, name);
}

static void
update_tags (TandemTaskRow    *self,
             const TandemTask *task)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (self->tags_box)) != NULL)
    gtk_box_remove (GTK_BOX (self->tags_box), child);
  for (guint i = 0; task != NULL && i < task->tags->len; i++)
    {
      GtkWidget *label = gtk_label_new (g_ptr_array_index (task->tags, i));

      gtk_widget_add_css_class (label, "tag");
      gtk_widget_add_css_class (label, "caption");
      gtk_box_append (GTK_BOX (self->tags_box), label);
    }
  gtk_widget_set_visible (self->tags_box, task != NULL && task->tags->len > 0);
}

static void
update_sync (TandemTaskRow    *self,
             const TandemTask *task,
             const char       *sync_error)
{
  TandemSyncStatus status = task ? task->sync_status : TANDEM_SYNC_SYNCED;
  const char *chip = tandem_sync_status_chip (status);
  const char *sentence = tandem_sync_status_sentence (status);
  g_autofree char *description = NULL;

  if (status == TANDEM_SYNC_ERROR && sync_error != NULL)
    description = g_strconcat (sentence, " ", sync_error, NULL);
  else
    description = g_strdup (sentence);

  /* The syncing row alone moves; everything else stays still. */
  gtk_widget_set_visible (GTK_WIDGET (self->syncing_spinner), status == TANDEM_SYNC_SYNCING);
  gtk_spinner_set_spinning (self->syncing_spinner, status == TANDEM_SYNC_SYNCING);

  gtk_widget_set_visible (GTK_WIDGET (self->chip_label),
                          status == TANDEM_SYNC_PENDING || status == TANDEM_SYNC_ERROR);
  gtk_label_set_label (self->chip_label, chip ? chip : "");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->chip_label), description);
  set_css_class (GTK_WIDGET (self->chip_label), "pending", status == TANDEM_SYNC_PENDING);
  set_css_class (GTK_WIDGET (self->chip_label), "error", status == TANDEM_SYNC_ERROR);

  gtk_widget_set_visible (self->review_button, status == TANDEM_SYNC_NEEDS_REVIEW);
  gtk_widget_set_tooltip_text (self->review_button, description);

  /* What needs the user is said in full, where it can be read. */
  gtk_widget_set_visible (GTK_WIDGET (self->status_label),
                          status == TANDEM_SYNC_ERROR || status == TANDEM_SYNC_NEEDS_REVIEW);
  gtk_label_set_label (self->status_label, description ? description : "");
  set_css_class (GTK_WIDGET (self->status_label), "error", status == TANDEM_SYNC_ERROR);

  if (g_strcmp0 (self->description, description) != 0)
    {
      g_free (self->description);
      self->description = g_steal_pointer (&description);
      if (self->description != NULL)
        gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                        self->description, -1);
      else
        gtk_accessible_reset_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
    }
}

static void
update (TandemTaskRow *self)
{
  const TandemTask *task = self->task ? tandem_task_object_get_task (self->task) : NULL;
  g_autofree char *due = NULL;
  const char *priority = NULL;
  gboolean overdue = FALSE;
  gboolean deleted = task != NULL && task->deleted;

  self->updating = TRUE;

  gtk_label_set_label (self->title_label, task ? task->title : "");
  gtk_check_button_set_active (self->done_check, task != NULL && task->done);
  gtk_widget_set_visible (GTK_WIDGET (self->done_check), !deleted);
  gtk_widget_set_visible (self->restore_button, deleted);
  set_css_class (GTK_WIDGET (self), "done", task != NULL && task->done);

  if (task != NULL)
    {
      due = tandem_format_due (task->due, task->done, &overdue);
      priority = tandem_priority_description (task->priority);
    }
  gtk_widget_set_visible (self->due_box, due != NULL);
  gtk_label_set_label (self->due_label, due ? due : "");
  gtk_image_set_from_icon_name (self->due_image,
                                overdue ? "task-past-due-symbolic" : "x-office-calendar-symbolic");
  gtk_widget_set_tooltip_text (self->due_box, overdue ? _("Overdue") : _("Due"));
  set_css_class (self->due_box, "overdue", overdue);
  set_css_class (self->due_box, "error", overdue);

  gtk_widget_set_visible (GTK_WIDGET (self->priority_label), priority != NULL);
  gtk_label_set_label (self->priority_label, priority ? priority : "");
  for (int p = 1; p <= TANDEM_PRIORITY_MAX; p++)
    {
      char name[16];

      g_snprintf (name, sizeof name, "priority-%d", p);
      set_css_class (GTK_WIDGET (self->priority_label), name, task != NULL && task->priority == p);
    }

  update_tags (self, task);
  gtk_widget_set_visible (self->meta_box, due != NULL || priority != NULL ||
                                            (task != NULL && task->tags->len > 0));

  update_sync (self, task, self->task ? tandem_task_object_get_sync_error (self->task) : NULL);

  if (task != NULL)
    {
      gtk_actionable_set_action_target (GTK_ACTIONABLE (self->review_button), "s", task->id);
      gtk_actionable_set_action_target (GTK_ACTIONABLE (self->restore_button), "s", task->id);
    }

  self->updating = FALSE;
}

static void
done_toggled_cb (TandemTaskRow  *self,
                 GtkCheckButton *check)
{
  if (self->updating || self->task == NULL)
    return;
  gtk_widget_activate_action (GTK_WIDGET (self), "win.set-done", "(sb)",
                              tandem_task_object_get_id (self->task),
                              gtk_check_button_get_active (check));
}

/* Drag and drop: a task dropped on the upper half of a row goes before it,
 * on the lower half after it. */

static GdkContentProvider *
drag_prepare_cb (GtkDragSource *source,
                 double         x,
                 double         y,
                 TandemTaskRow *self)
{
  if (self->task == NULL || !self->reorderable)
    return NULL;
  return gdk_content_provider_new_typed (TANDEM_TYPE_TASK_OBJECT, self->task);
}

static void
drag_begin_cb (GtkDragSource *source,
               GdkDrag       *drag,
               TandemTaskRow *self)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (GTK_WIDGET (self));

  gtk_drag_source_set_icon (source, paintable, 0, 0);
}

static void
clear_drop_marks (TandemTaskRow *self)
{
  gtk_widget_remove_css_class (GTK_WIDGET (self), "drop-above");
  gtk_widget_remove_css_class (GTK_WIDGET (self), "drop-below");
}

static GdkDragAction
drop_motion_cb (GtkDropTarget *target,
                double         x,
                double         y,
                TandemTaskRow *self)
{
  gboolean above = y < gtk_widget_get_height (GTK_WIDGET (self)) / 2.0;

  set_css_class (GTK_WIDGET (self), "drop-above", above);
  set_css_class (GTK_WIDGET (self), "drop-below", !above);
  return GDK_ACTION_MOVE;
}

static void
drop_leave_cb (GtkDropTarget *target,
               TandemTaskRow *self)
{
  clear_drop_marks (self);
}

static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         TandemTaskRow *self)
{
  TandemTaskObject *dropped = g_value_get_object (value);
  gboolean before = y < gtk_widget_get_height (GTK_WIDGET (self)) / 2.0;

  clear_drop_marks (self);
  if (dropped == NULL || self->task == NULL || dropped == self->task)
    return FALSE;
  gtk_widget_activate_action (GTK_WIDGET (self), "win.move-task", "(ssb)",
                              tandem_task_object_get_id (dropped),
                              tandem_task_object_get_id (self->task), before);
  return TRUE;
}

static void
tandem_task_row_dispose (GObject *object)
{
  TandemTaskRow *self = (TandemTaskRow *) object;
  GtkWidget *child;

  tandem_task_row_set_task (self, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), TANDEM_TYPE_TASK_ROW);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (tandem_task_row_parent_class)->dispose (object);
}

static void
tandem_task_row_finalize (GObject *object)
{
  TandemTaskRow *self = (TandemTaskRow *) object;

  g_free (self->description);
  G_OBJECT_CLASS (tandem_task_row_parent_class)->finalize (object);
}

static void
tandem_task_row_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  TandemTaskRow *self = TANDEM_TASK_ROW (object);

  switch (prop_id)
    {
    case PROP_TASK:
      g_value_set_object (value, self->task);
      break;
    case PROP_REORDERABLE:
      g_value_set_boolean (value, self->reorderable);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_task_row_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  TandemTaskRow *self = TANDEM_TASK_ROW (object);

  switch (prop_id)
    {
    case PROP_TASK:
      tandem_task_row_set_task (self, g_value_get_object (value));
      break;
    case PROP_REORDERABLE:
      tandem_task_row_set_reorderable (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_task_row_class_init (TandemTaskRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tandem_task_row_dispose;
  object_class->finalize = tandem_task_row_finalize;
  object_class->get_property = tandem_task_row_get_property;
  object_class->set_property = tandem_task_row_set_property;

  properties[PROP_TASK] =
    g_param_spec_object ("task", NULL, NULL, TANDEM_TYPE_TASK_OBJECT,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_REORDERABLE] =
    g_param_spec_boolean ("reorderable", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tandem/Tandem/ui/tandem-task-row.ui");
  gtk_widget_class_bind_template_child (widget_class, TandemTaskRow, done_check);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskRow, title_label);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskRow, meta_box);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskRow, due_box);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskRow, due_image);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskRow, due_label);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskRow, priority_label);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskRow, tags_box);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskRow, status_label);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskRow, syncing_spinner);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskRow, chip_label);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskRow, review_button);
  gtk_widget_class_bind_template_child (widget_class, TandemTaskRow, restore_button);
  gtk_widget_class_bind_template_callback (widget_class, done_toggled_cb);
  gtk_widget_class_set_css_name (widget_class, "taskrow");
}

static void
tandem_task_row_init (TandemTaskRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->drag_source = gtk_drag_source_new ();
  gtk_drag_source_set_actions (self->drag_source, GDK_ACTION_MOVE);
  g_signal_connect (self->drag_source, "prepare", G_CALLBACK (drag_prepare_cb), self);
  g_signal_connect (self->drag_source, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (self->drag_source));

  self->drop_target = gtk_drop_target_new (TANDEM_TYPE_TASK_OBJECT, GDK_ACTION_MOVE);
  g_signal_connect (self->drop_target, "motion", G_CALLBACK (drop_motion_cb), self);
  g_signal_connect (self->drop_target, "leave", G_CALLBACK (drop_leave_cb), self);
  g_signal_connect (self->drop_target, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (self->drop_target));

  tandem_task_row_set_reorderable (self, FALSE);
  update (self);
}

GtkWidget *
tandem_task_row_new (void)
{
  return g_object_new (TANDEM_TYPE_TASK_ROW, NULL);
}

TandemTaskObject *
tandem_task_row_get_task (TandemTaskRow *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_ROW (self), NULL);
  return self->task;
}

static void
task_notify_cb (TandemTaskRow *self)
{
  update (self);
}

void
tandem_task_row_set_task (TandemTaskRow    *self,
                          TandemTaskObject *task)
{
  g_return_if_fail (TANDEM_IS_TASK_ROW (self));
  g_return_if_fail (task == NULL || TANDEM_IS_TASK_OBJECT (task));

  if (self->task == task)
    return;
  if (self->task != NULL)
    g_clear_signal_handler (&self->notify_handler, self->task);
  g_set_object (&self->task, task);
  if (task != NULL)
    self->notify_handler = g_signal_connect_swapped (task, "notify", G_CALLBACK (task_notify_cb),
                                                     self);
  update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TASK]);
}

void
tandem_task_row_set_reorderable (TandemTaskRow *self,
                                 gboolean       reorderable)
{
  GtkPropagationPhase phase;

  g_return_if_fail (TANDEM_IS_TASK_ROW (self));

  reorderable = !!reorderable;
  phase = reorderable ? GTK_PHASE_BUBBLE : GTK_PHASE_NONE;
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (self->drag_source), phase);
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (self->drop_target), phase);
  if (self->reorderable == reorderable)
    return;
  self->reorderable = reorderable;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REORDERABLE]);
}

const char *
tandem_task_row_get_chip_label (TandemTaskRow *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_ROW (self), NULL);

  if (gtk_widget_get_visible (self->review_button))
    return gtk_button_get_label (GTK_BUTTON (self->review_button));
  if (gtk_widget_get_visible (GTK_WIDGET (self->chip_label)))
    return gtk_label_get_label (self->chip_label);
  return NULL;
}

const char *
tandem_task_row_get_sync_description (TandemTaskRow *self)
{
  g_return_val_if_fail (TANDEM_IS_TASK_ROW (self), NULL);
  return self->description;
}
