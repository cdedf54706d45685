/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-app"

#include "config.h"

#include <glib/gi18n.h>

#include "tandem-application.h"
#include "tandem-preferences-window.h"
#include "tandem-window.h"

#define SCHEMA_ID "io.github.tandem.Tandem"

typedef struct
{
  TandemStore      *store;
  TandemSyncEngine *engine;
} Database;

struct _TandemApplication
{
  AdwApplication  parent_instance;

  GSettings      *settings;
  GHashTable     *databases;    /* canonical path → Database */
};

G_DEFINE_FINAL_TYPE (TandemApplication, tandem_application, ADW_TYPE_APPLICATION)

static void
database_free (Database *database)
{
  tandem_sync_engine_stop (database->engine);
  g_object_unref (database->engine);
  g_object_unref (database->store);
  g_free (database);
}

static const GOptionEntry option_entries[] = {
  { "db", 0, 0, G_OPTION_ARG_FILENAME, NULL,
    N_("Open the tasks in the database at PATH instead of the default one"), N_("PATH") },
  { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Show the version and quit"), NULL },
  { NULL }
};

static TandemWindow *
active_window (TandemApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (TANDEM_IS_WINDOW (window))
    return TANDEM_WINDOW (window);
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    if (TANDEM_IS_WINDOW (l->data))
      return l->data;
  return NULL;
}

static guint
sync_interval (TandemApplication *self)
{
  return MAX (30u, g_settings_get_uint (self->settings, "sync-interval"));
}

static void
show_open_error (TandemApplication *self,
                 const char        *path,
                 const GError      *error)
{
  GtkWidget *dialog;
  g_autofree char *body = NULL;

  g_printerr ("tandem: %s: %s\n", path, error->message);
  /* Translators: the first %s is a file name, the second says what is wrong */
  body = g_strdup_printf (_("The task database “%s” can't be used: %s\n\n"
                            "It was left as it is."),
                          path, error->message);
  dialog = adw_message_dialog_new (GTK_WINDOW (active_window (self)),
                                   _("Can't Open Your Tasks"), body);
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_set_application (GTK_WINDOW (dialog), GTK_APPLICATION (self));
  gtk_window_present (GTK_WINDOW (dialog));
}

TandemWindow *
tandem_application_open_database (TandemApplication  *self,
                                  const char         *path,
                                  GError            **error)
{
  g_autofree char *key = NULL;
  Database *database;
  TandemWindow *window;

  g_return_val_if_fail (TANDEM_IS_APPLICATION (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (self->settings != NULL, NULL);   /* after startup */

  key = g_canonicalize_filename (path, NULL);
  if ((database = g_hash_table_lookup (self->databases, key)) == NULL)
    {
      g_autoptr(TandemStore) store = tandem_store_open (key, error);

      if (store == NULL)
        return NULL;
      database = g_new0 (Database, 1);
      database->store = g_steal_pointer (&store);
      database->engine = tandem_sync_engine_new (database->store);
      g_hash_table_insert (self->databases, g_strdup (key), database);
      tandem_sync_engine_start (database->engine, sync_interval (self));
    }

  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    if (TANDEM_IS_WINDOW (l->data) && tandem_window_get_store (l->data) == database->store)
      {
        gtk_window_present (l->data);
        return l->data;
      }

  window = tandem_window_new (GTK_APPLICATION (self), database->store, database->engine,
                              self->settings);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

static void
open_or_report (TandemApplication *self,
                const char        *path)
{
  g_autoptr(GError) error = NULL;

  if (!tandem_application_open_database (self, path, &error))
    show_open_error (self, path, error);
}

/* Actions */

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       data)
{
  TandemApplication *self = data;
  g_autoptr(GList) windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));

  /* Closing saves each window's size and the notes being typed. */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       data)
{
  TandemApplication *self = data;
  const char *developers[] = { _("The Tandem developers"), NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "application", self,
                        "transient-for", active_window (self),
                        "application-name", _("Tandem"),
                        "application-icon", APPLICATION_ID,
                        "version", PACKAGE_VERSION,
                        "developer-name", _("The Tandem developers"),
                        "developers", developers,
                        "comments", _("Tasks that are safe on this device the moment you write "
                                      "them, and sync between your devices when they can."),
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "translator-credits", _("translator-credits"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       data)
{
  TandemApplication *self = data;
  TandemWindow *window = active_window (self);
  GtkWindow *preferences;

  if (window == NULL)
    return;
  preferences = tandem_preferences_window_new (GTK_WINDOW (window),
                                               tandem_window_get_store (window),
                                               tandem_window_get_engine (window),
                                               self->settings);
  if (preferences == NULL)
    return;
  gtk_window_set_application (preferences, GTK_APPLICATION (self));
  /* An account set up there shows here once the window is gone. */
  g_signal_connect_object (preferences, "destroy", G_CALLBACK (tandem_window_refresh), window,
                           G_CONNECT_SWAPPED);
  gtk_window_present (preferences);
}

static void
shortcuts_action (GSimpleAction *action,
                  GVariant      *parameter,
                  gpointer       data)
{
  TandemApplication *self = data;
  g_autoptr(GtkBuilder) builder =
    gtk_builder_new_from_resource ("/io/github/tandem/Tandem/ui/tandem-shortcuts-window.ui");
  GtkWindow *shortcuts = GTK_WINDOW (gtk_builder_get_object (builder, "shortcuts_window"));

  gtk_window_set_transient_for (shortcuts, GTK_WINDOW (active_window (self)));
  gtk_window_set_application (shortcuts, GTK_APPLICATION (self));
  gtk_window_present (shortcuts);
}

static const GActionEntry app_actions[] = {
  { "quit", quit_action },
  { "about", about_action },
  { "preferences", preferences_action },
  { "shortcuts", shortcuts_action },
};

static void
sync_interval_changed_cb (TandemApplication *self)
{
  GHashTableIter iter;
  Database *database;

  g_hash_table_iter_init (&iter, self->databases);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &database))
    tandem_sync_engine_start (database->engine, sync_interval (self));
}

/* GApplication */

static int
tandem_application_handle_local_options (GApplication *application,
                                         GVariantDict *options)
{
  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("tandem %s\n", PACKAGE_VERSION);
      return 0;
    }
  return -1;
}

static void
tandem_application_startup (GApplication *application)
{
  TandemApplication *self = TANDEM_APPLICATION (application);
  static const struct
  {
    const char *action;
    const char *accels[3];
  } accels[] = {
    { "app.quit", { "<Primary>q", NULL } },
    { "app.preferences", { "<Primary>comma", NULL } },
    { "app.shortcuts", { "<Primary>question", NULL } },
    { "win.sync-now", { "<Primary>r", "F5", NULL } },
    { "win.search", { "<Primary>f", NULL } },
    { "win.new-task", { "<Primary>n", NULL } },
    { "win.new-list", { "<Primary><Shift>n", NULL } },
    { "window.close", { "<Primary>w", NULL } },
  };

  G_APPLICATION_CLASS (tandem_application_parent_class)->startup (application);

  self->settings = g_settings_new (SCHEMA_ID);
  g_signal_connect_object (self->settings, "changed::sync-interval",
                           G_CALLBACK (sync_interval_changed_cb), self, G_CONNECT_SWAPPED);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions),
                                   self);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self), accels[i].action,
                                           accels[i].accels);
}

static void
tandem_application_activate (GApplication *application)
{
  TandemApplication *self = TANDEM_APPLICATION (application);
  TandemWindow *window = active_window (self);
  g_autofree char *path = NULL;

  if (window != NULL)
    {
      gtk_window_present (GTK_WINDOW (window));
      return;
    }
  path = tandem_store_default_path ();
  open_or_report (self, path);
}

static int
tandem_application_command_line (GApplication            *application,
                                 GApplicationCommandLine *command_line)
{
  TandemApplication *self = TANDEM_APPLICATION (application);
  GVariantDict *options = g_application_command_line_get_options_dict (command_line);
  const char *db = NULL;

  if (g_variant_dict_lookup (options, "db", "^&ay", &db) && db != NULL && *db != '\0')
    {
      /* Relative to where `tandem` was run, which may be another process. */
      g_autoptr(GFile) file = g_application_command_line_create_file_for_arg (command_line, db);
      g_autofree char *path = g_file_get_path (file);

      open_or_report (self, path);
    }
  else
    g_application_activate (application);
  return 0;
}

static void
tandem_application_shutdown (GApplication *application)
{
  TandemApplication *self = TANDEM_APPLICATION (application);

  g_hash_table_remove_all (self->databases);
  G_APPLICATION_CLASS (tandem_application_parent_class)->shutdown (application);
}

static void
tandem_application_finalize (GObject *object)
{
  TandemApplication *self = (TandemApplication *) object;

  g_clear_object (&self->settings);
  g_clear_pointer (&self->databases, g_hash_table_unref);
  G_OBJECT_CLASS (tandem_application_parent_class)->finalize (object);
}

static void
tandem_application_class_init (TandemApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = tandem_application_finalize;
  app_class->handle_local_options = tandem_application_handle_local_options;
  app_class->startup = tandem_application_startup;
  app_class->activate = tandem_application_activate;
  app_class->command_line = tandem_application_command_line;
  app_class->shutdown = tandem_application_shutdown;
}

static void
tandem_application_init (TandemApplication *self)
{
  self->databases = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) database_free);
  g_application_add_main_option_entries (G_APPLICATION (self), option_entries);
}

TandemApplication *
tandem_application_new (const char        *application_id,
                        GApplicationFlags  flags)
{
  g_return_val_if_fail (g_application_id_is_valid (application_id), NULL);

  /* The same resources in development builds, whose id ends in .Devel. */
  return g_object_new (TANDEM_TYPE_APPLICATION,
                       "application-id", application_id,
                       "flags", flags,
                       "resource-base-path", "/io/github/tandem/Tandem",
                       NULL);
}

GSettings *
tandem_application_get_settings (TandemApplication *self)
{
  g_return_val_if_fail (TANDEM_IS_APPLICATION (self), NULL);
  return self->settings;
}
