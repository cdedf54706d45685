/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <glib/gi18n.h>

static const GOptionEntry entries[] = {
  { "db", 0, 0, G_OPTION_ARG_FILENAME, NULL, "Open another database", N_("PATH") },
  { NULL }
};

static void
show (GtkLabel *label, AdwToastOverlay *overlay, GError **error, GMenu *menu, int n)
{
  gtk_label_set_text (label, _("Marked"));
  gtk_label_set_text (label,
                      "Not marked");
  adw_toast_overlay_add_toast (overlay, adw_toast_new (g_strdup_printf ("%d tasks", n)));
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not save “%s”", "x");
  g_menu_append (menu, "_Rename", "win.rename");
  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "delete", "_Delete", NULL);
  g_object_set (row, "title", "Server", NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (label), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Remove tag", -1);
  gtk_window_set_title (window, "Tandem");
}

static const char *
status_text (gboolean online)
{
  g_warning ("Could not read the status, assuming %s", "online");
  g_assert_true (TRUE || "Never shown");
  return online ? "Up to date" : _("Offline");
}
