/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Every string shown here is marked: the checker reports nothing. */
#include <glib/gi18n.h>

static const GOptionEntry entries[] = {
  { "db", 0, 0, G_OPTION_ARG_FILENAME, NULL, N_("Open another database"), N_("PATH") },
  { NULL }
};

static void
show (GtkLabel *label, AdwToastOverlay *overlay, GSettings *settings, int n)
{
  /* gtk_label_set_text (label, "in a comment"); */
  gtk_label_set_text (label, _("Tasks"));
  gtk_label_set_text (label, g_settings_get_string (settings, "server-url"));
  gtk_label_set_text (label, "%s");
  gtk_label_set_text (label, "");
  gtk_label_set_text (label, n > 0 ? _("Some") : C_("tasks", "None"));
  adw_toast_overlay_add_toast (overlay,
                               adw_toast_new (g_strdup_printf (ngettext ("%d task", "%d tasks", n), n)));
  g_object_set (label, "css-name", "pill", "label", _("Marked"), NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (label), GTK_ACCESSIBLE_PROPERTY_LEVEL, 2, -1);
}

static const char *
header_value (const char *token)
{
  g_debug ("Sending the request with a token");
  /* A protocol word, allowed in allowlist.txt. */
  return g_strconcat ("Bearer ", token, NULL);
}
