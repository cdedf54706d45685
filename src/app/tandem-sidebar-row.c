/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-app"

#include "config.h"

#include <glib/gi18n.h>

#include "tandem-sidebar-row.h"

struct _TandemSidebarRow
{
  GtkListBoxRow     parent_instance;

  TandemTaskFilter  filter;
  char             *list_id;
  char             *key;
  guint             count;

  GtkImage         *image;
  GtkLabel         *title_label;
  GtkLabel         *count_label;
};

G_DEFINE_FINAL_TYPE (TandemSidebarRow, tandem_sidebar_row, GTK_TYPE_LIST_BOX_ROW)

enum {
  PROP_0,
  PROP_TITLE,
  PROP_COUNT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
drop_cb (GtkDropTarget    *target,
         const GValue     *value,
         double            x,
         double            y,
         TandemSidebarRow *self)
{
  TandemTaskObject *task = g_value_get_object (value);

  if (task == NULL)
    return FALSE;
  gtk_widget_activate_action (GTK_WIDGET (self), "win.move-to-list", "(ss)",
                              tandem_task_object_get_id (task),
                              self->list_id ? self->list_id : "");
  return TRUE;
}

static void
tandem_sidebar_row_finalize (GObject *object)
{
  TandemSidebarRow *self = (TandemSidebarRow *) object;

  g_free (self->list_id);
  g_free (self->key);
  G_OBJECT_CLASS (tandem_sidebar_row_parent_class)->finalize (object);
}

static void
tandem_sidebar_row_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), TANDEM_TYPE_SIDEBAR_ROW);
  G_OBJECT_CLASS (tandem_sidebar_row_parent_class)->dispose (object);
}

static void
tandem_sidebar_row_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  TandemSidebarRow *self = TANDEM_SIDEBAR_ROW (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, gtk_label_get_label (self->title_label));
      break;
    case PROP_COUNT:
      g_value_set_uint (value, self->count);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_sidebar_row_class_init (TandemSidebarRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tandem_sidebar_row_dispose;
  object_class->finalize = tandem_sidebar_row_finalize;
  object_class->get_property = tandem_sidebar_row_get_property;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_COUNT] =
    g_param_spec_uint ("count", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tandem/Tandem/ui/tandem-sidebar-row.ui");
  gtk_widget_class_bind_template_child (widget_class, TandemSidebarRow, image);
  gtk_widget_class_bind_template_child (widget_class, TandemSidebarRow, title_label);
  gtk_widget_class_bind_template_child (widget_class, TandemSidebarRow, count_label);
}

static void
tandem_sidebar_row_init (TandemSidebarRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
tandem_sidebar_row_new (TandemTaskFilter  filter,
                        const char       *list_id,
                        const char       *icon_name,
                        const char       *title)
{
  TandemSidebarRow *self;

  g_return_val_if_fail ((filter == TANDEM_TASK_FILTER_LIST) == (list_id != NULL), NULL);

  self = g_object_new (TANDEM_TYPE_SIDEBAR_ROW, NULL);
  self->filter = filter;
  self->list_id = g_strdup (list_id);
  switch (filter)
    {
    case TANDEM_TASK_FILTER_INBOX:
      self->key = g_strdup ("inbox");
      break;
    case TANDEM_TASK_FILTER_TODAY:
      self->key = g_strdup ("today");
      break;
    case TANDEM_TASK_FILTER_TRASH:
      self->key = g_strdup ("trash");
      break;
    case TANDEM_TASK_FILTER_LIST:
    default:
      self->key = g_strconcat ("list:", list_id, NULL);
      break;
    }
  gtk_image_set_from_icon_name (self->image, icon_name);
  gtk_label_set_label (self->title_label, title);
  tandem_sidebar_row_set_count (self, 0);

  /* Tasks can be dropped where they can live. */
  if (filter == TANDEM_TASK_FILTER_INBOX || filter == TANDEM_TASK_FILTER_LIST)
    {
      GtkDropTarget *target = gtk_drop_target_new (TANDEM_TYPE_TASK_OBJECT, GDK_ACTION_MOVE);

      g_signal_connect (target, "drop", G_CALLBACK (drop_cb), self);
      gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));
    }
  return GTK_WIDGET (self);
}

TandemTaskFilter
tandem_sidebar_row_get_filter (TandemSidebarRow *self)
{
  g_return_val_if_fail (TANDEM_IS_SIDEBAR_ROW (self), TANDEM_TASK_FILTER_INBOX);
  return self->filter;
}

const char *
tandem_sidebar_row_get_list_id (TandemSidebarRow *self)
{
  g_return_val_if_fail (TANDEM_IS_SIDEBAR_ROW (self), NULL);
  return self->list_id;
}

const char *
tandem_sidebar_row_get_key (TandemSidebarRow *self)
{
  g_return_val_if_fail (TANDEM_IS_SIDEBAR_ROW (self), NULL);
  return self->key;
}

const char *
tandem_sidebar_row_get_title (TandemSidebarRow *self)
{
  g_return_val_if_fail (TANDEM_IS_SIDEBAR_ROW (self), NULL);
  return gtk_label_get_label (self->title_label);
}

void
tandem_sidebar_row_set_title (TandemSidebarRow *self,
                              const char       *title)
{
  g_return_if_fail (TANDEM_IS_SIDEBAR_ROW (self));

  if (g_strcmp0 (title, gtk_label_get_label (self->title_label)) == 0)
    return;
  gtk_label_set_label (self->title_label, title);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

void
tandem_sidebar_row_set_count (TandemSidebarRow *self,
                              guint             count)
{
  g_autofree char *text = NULL;
  g_autofree char *description = NULL;

  g_return_if_fail (TANDEM_IS_SIDEBAR_ROW (self));

  /* The Trash counts nothing: deleted tasks are not work to do. */
  if (count > 0 && self->filter != TANDEM_TASK_FILTER_TRASH)
    {
      text = g_strdup_printf ("%u", count);
      description = g_strdup_printf (ngettext ("%u open task", "%u open tasks", count), count);
    }
  gtk_label_set_label (self->count_label, text ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->count_label), text != NULL);
  if (description != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                    description, -1);
  else
    gtk_accessible_reset_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);

  if (self->count == count)
    return;
  self->count = count;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COUNT]);
}
