/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-app"

#include "config.h"

#include "tandem-preferences-window.h"

#include <glib/gi18n.h>

#include "tandem-account.h"
#include "tandem-format.h"

/* The schema keeps the interval in seconds; the window shows minutes. A
 * key in minutes is used as it is when the schema has one. */
#define INTERVAL_SECONDS_KEY "sync-interval"
#define INTERVAL_MINUTES_KEY "sync-interval-minutes"

struct _TandemPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  TandemStore          *store;
  TandemSyncEngine     *engine;
  GSettings            *settings;
  GSignalGroup         *engine_signals;
  guint                 refresh_id;

  /* template */
  AdwEntryRow          *url_row;
  AdwPasswordEntryRow  *token_row;
  AdwActionRow         *account_row;
  GtkImage             *account_icon;
  GtkButton            *sign_in_button;
  GtkButton            *sign_out_button;
  GtkRevealer          *error_revealer;
  GtkLabel             *error_label;
  AdwActionRow         *interval_row;
  GtkSpinButton        *interval_spin;
  GtkAdjustment        *interval_adjustment;
  GtkLabel             *interval_unit;
  AdwActionRow         *status_row;
  GtkSpinner           *status_spinner;
  GtkButton            *sync_now_button;
};

G_DEFINE_FINAL_TYPE (TandemPreferencesWindow, tandem_preferences_window,
                     ADW_TYPE_PREFERENCES_WINDOW)

enum {
  PROP_0,
  PROP_STORE,
  PROP_ENGINE,
  PROP_SETTINGS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

typedef enum
{
  ACCOUNT_SIGNED_OUT,
  ACCOUNT_SIGNED_IN,
  ACCOUNT_REFUSED,     /* signed in, but the server refused the token */
} AccountState;

/* Where the account stands, from the database settings tandem-account
 * keeps. The token itself is not read: that would ask the keyring, which
 * may want to be unlocked, just to draw a label. */
static AccountState
account_state (TandemPreferencesWindow *self,
               TandemTokenStorage      *storage,
               char                   **url)
{
  g_autofree char *server_url = tandem_store_get_setting (self->store, "server_url");
  g_autofree char *where = tandem_store_get_setting (self->store, "token_storage");
  g_autofree char *token = tandem_store_get_setting (self->store, "token");
  g_autofree char *paused = tandem_store_get_setting (self->store, "auth_paused");
  gboolean in_keyring = g_strcmp0 (where, "keyring") == 0;

  if (storage != NULL)
    *storage = in_keyring ? TANDEM_TOKEN_IN_KEYRING : TANDEM_TOKEN_IN_DATABASE;
  if (url != NULL)
    *url = g_strdup (server_url);
  if (server_url == NULL || *server_url == '\0' ||
      (!in_keyring && (token == NULL || *token == '\0')))
    return ACCOUNT_SIGNED_OUT;
  if ((paused != NULL && *paused != '\0') ||
      (self->engine != NULL &&
       tandem_sync_engine_get_state (self->engine) == TANDEM_SYNC_STATE_PAUSED_AUTH))
    return ACCOUNT_REFUSED;
  return ACCOUNT_SIGNED_IN;
}

static const char *
storage_sentence (TandemTokenStorage storage)
{
  if (storage == TANDEM_TOKEN_IN_KEYRING)
    return _("The token is stored in the keyring.");
  return _("No keyring is available, so the token is stored in this device's database file, "
           "which only you can read.");
}

static char *
entry_text (gpointer editable)
{
  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (editable))));
}

static void
set_icon (GtkImage   *image,
          const char *icon_name,
          const char *css_class)
{
  static const char *classes[] = { "success", "warning", "error", "dim-label" };

  gtk_image_set_from_icon_name (image, icon_name);
  for (guint i = 0; i < G_N_ELEMENTS (classes); i++)
    gtk_widget_remove_css_class (GTK_WIDGET (image), classes[i]);
  if (css_class != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (image), css_class);
}

/* Account */

static void
update_account (TandemPreferencesWindow *self)
{
  TandemTokenStorage storage;
  g_autofree char *url = NULL;
  g_autofree char *typed_url = entry_text (self->url_row);
  g_autofree char *typed_token = entry_text (self->token_row);
  AccountState state = account_state (self, &storage, &url);
  gboolean can_sign_in = *typed_url != '\0' && *typed_token != '\0';

  switch (state)
    {
    case ACCOUNT_SIGNED_IN:
      {
        g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
        g_autofree char *title = NULL;
        g_autofree char *server = NULL;

        if (uri != NULL && g_uri_get_port (uri) > 0)
          server = g_strdup_printf ("%s:%d", g_uri_get_host (uri), g_uri_get_port (uri));
        else
          server = g_strdup (uri != NULL ? g_uri_get_host (uri) : url);
        /* Translators: %s is the server's host name, maybe with a port */
        title = g_strdup_printf (_("Signed in to %s"), server);
        adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->account_row), title);
        adw_action_row_set_subtitle (self->account_row, storage_sentence (storage));
        set_icon (self->account_icon, "emblem-ok-symbolic", "success");
      }
      break;

    case ACCOUNT_REFUSED:
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->account_row),
                                     _("The server refused the token"));
      adw_action_row_set_subtitle (self->account_row,
                                   _("Sync is paused and your changes are kept. Enter a new "
                                     "token and sign in again."));
      set_icon (self->account_icon, "dialog-warning-symbolic", "warning");
      break;

    case ACCOUNT_SIGNED_OUT:
    default:
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->account_row), _("Not signed in"));
      adw_action_row_set_subtitle (self->account_row,
                                   _("Enter the server address and a token made with "
                                     "“tandem-server token create”, then sign in."));
      set_icon (self->account_icon, "avatar-default-symbolic", "dim-label");
      break;
    }

  gtk_widget_set_visible (GTK_WIDGET (self->sign_out_button), state != ACCOUNT_SIGNED_OUT);
  /* Signed in, the button is only there to change the token. */
  gtk_widget_set_visible (GTK_WIDGET (self->sign_in_button),
                          state != ACCOUNT_SIGNED_IN || *typed_token != '\0');
  gtk_widget_set_sensitive (GTK_WIDGET (self->sign_in_button), can_sign_in);
}

static void
hide_account_error (TandemPreferencesWindow *self)
{
  gtk_widget_remove_css_class (GTK_WIDGET (self->url_row), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (self->token_row), "error");
  gtk_revealer_set_reveal_child (self->error_revealer, FALSE);
}

static void
show_account_error (TandemPreferencesWindow *self,
                    GtkWidget               *row,
                    const char              *message)
{
  if (row != NULL)
    gtk_widget_add_css_class (row, "error");
  gtk_label_set_text (self->error_label, message);
  gtk_revealer_set_reveal_child (self->error_revealer, TRUE);
}

static gboolean
looks_like_server_address (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  return uri != NULL && g_uri_get_host (uri) != NULL && *g_uri_get_host (uri) != '\0' &&
         (g_strcmp0 (g_uri_get_scheme (uri), "http") == 0 ||
          g_strcmp0 (g_uri_get_scheme (uri), "https") == 0);
}

static void update_status (TandemPreferencesWindow *self);

static void
sign_in (TandemPreferencesWindow *self)
{
  g_autofree char *url = entry_text (self->url_row);
  g_autofree char *token = entry_text (self->token_row);
  g_autoptr(GError) error = NULL;
  TandemTokenStorage storage;
  AdwToast *toast;

  hide_account_error (self);

  if (*url == '\0')
    {
      show_account_error (self, GTK_WIDGET (self->url_row), _("Enter the server address."));
      gtk_widget_grab_focus (GTK_WIDGET (self->url_row));
      return;
    }
  if (*token == '\0')
    {
      show_account_error (self, GTK_WIDGET (self->token_row), _("Enter the token."));
      gtk_widget_grab_focus (GTK_WIDGET (self->token_row));
      return;
    }

  if (!tandem_account_save (self->store, url, token, &storage, &error))
    {
      g_autofree char *message = NULL;
      GtkWidget *row = NULL;

      /* The account checks both and says which in English; say it here in
       * the user's language, next to the field to fix. */
      if (!looks_like_server_address (url))
        {
          row = GTK_WIDGET (self->url_row);
          message = g_strdup_printf (_("“%s” is not a server address. Use an address like "
                                       "https://tasks.example.org or http://192.168.1.20:8080."),
                                     url);
        }
      else if (g_error_matches (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_INVALID))
        {
          row = GTK_WIDGET (self->token_row);
          message = g_strdup (_("This is not a valid token. Paste the whole token that "
                                "“tandem-server token create” printed."));
        }
      else
        message = g_strdup_printf (_("Could not save the account: %s"), error->message);

      show_account_error (self, row, message);
      if (row != NULL)
        gtk_widget_grab_focus (row);
      return;
    }

  /* The token lives in the keyring or the database now, not in the window. */
  gtk_editable_set_text (GTK_EDITABLE (self->token_row), "");
  {
    /* As saved: without trailing slashes. */
    g_autofree char *saved = tandem_store_get_setting (self->store, "server_url");

    if (saved != NULL)
      gtk_editable_set_text (GTK_EDITABLE (self->url_row), saved);
  }

  toast = adw_toast_new (storage == TANDEM_TOKEN_IN_KEYRING
                           ? _("Signed in — token stored in the keyring")
                           : _("Signed in — token stored in this device's database file, "
                               "readable only by you"));
  adw_toast_set_timeout (toast, 4);
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), toast);

  update_account (self);
  if (self->engine != NULL)
    tandem_sync_engine_sync_now (self->engine);
  update_status (self);
}

static void
sign_in_clicked_cb (TandemPreferencesWindow *self)
{
  sign_in (self);
}

static void
entry_activated_cb (TandemPreferencesWindow *self,
                    AdwEntryRow             *row)
{
  /* Enter in the address moves on to the token; in the token it signs in. */
  if (row == ADW_ENTRY_ROW (self->url_row) &&
      *gtk_editable_get_text (GTK_EDITABLE (self->token_row)) == '\0')
    gtk_widget_grab_focus (GTK_WIDGET (self->token_row));
  else
    sign_in (self);
}

static void
entries_changed_cb (TandemPreferencesWindow *self)
{
  hide_account_error (self);
  update_account (self);
}

static void
sign_out_response_cb (AdwMessageDialog        *dialog,
                      const char              *response,
                      TandemPreferencesWindow *self)
{
  g_autoptr(GError) error = NULL;
  AdwToast *toast;

  if (g_strcmp0 (response, "sign-out") != 0)
    return;

  if (!tandem_account_clear (self->store, &error))
    {
      g_autofree char *message = g_strdup_printf (_("Could not sign out: %s"), error->message);

      show_account_error (self, NULL, message);
      return;
    }
  toast = adw_toast_new (_("Signed out — your tasks stay on this device"));
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), toast);
  update_account (self);
  update_status (self);
}

static void
sign_out_clicked_cb (TandemPreferencesWindow *self)
{
  GtkWidget *dialog;

  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Sign Out?"),
                                   _("Your tasks stay on this device, and so do changes you "
                                     "make while signed out: they sync when you sign in again."));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "sign-out", _("_Sign Out"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "sign-out",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (sign_out_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Sync state */

static void
update_status (TandemPreferencesWindow *self)
{
  TandemSyncState state = TANDEM_SYNC_STATE_SIGNED_OUT;
  AccountState account = account_state (self, NULL, NULL);
  const char *last_error = NULL;
  gint64 last_synced = 0, backoff_until = 0;
  guint n_pending = 0, n_parked = 0, n_conflicts = 0;
  g_autoptr(GString) details = g_string_new (NULL);
  const char *title;
  gboolean busy;

  if (self->engine != NULL)
    {
      state = tandem_sync_engine_get_state (self->engine);
      last_error = tandem_sync_engine_get_last_error (self->engine);
      last_synced = tandem_sync_engine_get_last_synced (self->engine);
      backoff_until = tandem_sync_engine_get_backoff_until (self->engine);
    }
  if (last_synced == 0)
    {
      g_autofree char *saved = tandem_store_get_setting (self->store, "last_synced");

      if (saved != NULL)
        last_synced = g_ascii_strtoll (saved, NULL, 10);
    }
  tandem_store_get_sync_counts (self->store, &n_pending, &n_parked, &n_conflicts, NULL);
  busy = state == TANDEM_SYNC_STATE_PUSHING || state == TANDEM_SYNC_STATE_PULLING;

  if (account == ACCOUNT_SIGNED_OUT)
    {
      title = _("Not syncing");
      g_string_append (details, _("Sign in to sync your tasks with your other devices."));
      last_error = NULL;
    }
  else if (account == ACCOUNT_REFUSED)
    {
      title = _("Sync is paused");
      g_string_append (details, _("The server refused the token."));
    }
  else
    switch (state)
      {
      case TANDEM_SYNC_STATE_PUSHING:
        title = _("Sending changes…");
        break;
      case TANDEM_SYNC_STATE_PULLING:
        title = _("Receiving changes…");
        break;
      case TANDEM_SYNC_STATE_OFFLINE:
        title = _("Offline");
        g_string_append (details, _("Changes are kept on this device until the network is back."));
        break;
      case TANDEM_SYNC_STATE_BACKING_OFF:
        title = _("Server not reachable");
        if (backoff_until > 0)
          {
            g_autofree char *clock = tandem_format_clock (backoff_until);

            /* Translators: %s is a time of day, “17:35” */
            g_string_append_printf (details, _("Trying again at %s."), clock);
          }
        break;
      case TANDEM_SYNC_STATE_PAUSED_AUTH:
        title = _("Sync is paused");
        break;
      case TANDEM_SYNC_STATE_IDLE:
      case TANDEM_SYNC_STATE_SIGNED_OUT:
      default:
        if (last_error != NULL)
          title = _("The last sync did not finish");
        else if (n_conflicts > 0)
          title = _("Synced, some tasks need review");
        else if (last_synced > 0)
          title = _("Up to date");
        else
          title = _("Not synced yet");
        break;
      }

  if (last_error != NULL && *last_error != '\0')
    {
      if (details->len > 0)
        g_string_append_c (details, '\n');
      g_string_append (details, last_error);
    }
  if (n_pending > 0)
    {
      if (details->len > 0)
        g_string_append_c (details, '\n');
      g_string_append_printf (details,
                              ngettext ("%u change waiting to be sent",
                                        "%u changes waiting to be sent", n_pending),
                              n_pending);
    }
  if (n_conflicts > 0)
    {
      if (details->len > 0)
        g_string_append_c (details, '\n');
      g_string_append_printf (details,
                              ngettext ("%u task needs review", "%u tasks need review",
                                        n_conflicts),
                              n_conflicts);
    }
  if (n_parked > 0)
    {
      if (details->len > 0)
        g_string_append_c (details, '\n');
      g_string_append_printf (details,
                              ngettext ("The server refused %u change; it is kept for you",
                                        "The server refused %u changes; they are kept for you",
                                        n_parked),
                              n_parked);
    }
  if (last_synced > 0 && account != ACCOUNT_SIGNED_OUT)
    {
      g_autofree char *when = tandem_format_last_synced (last_synced);

      if (details->len > 0)
        g_string_append_c (details, '\n');
      g_string_append (details, when);
    }

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->status_row), title);
  adw_action_row_set_subtitle (self->status_row, details->str);
  gtk_spinner_set_spinning (self->status_spinner, busy);
  gtk_widget_set_visible (GTK_WIDGET (self->status_spinner), busy);
  gtk_widget_set_visible (GTK_WIDGET (self->sync_now_button), self->engine != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->sync_now_button),
                            account == ACCOUNT_SIGNED_IN && !busy);
}

static void
engine_changed_cb (TandemPreferencesWindow *self)
{
  /* A refused token shows in the account group as well. */
  update_account (self);
  update_status (self);
}

static gboolean
refresh_cb (gpointer data)
{
  /* "Last synced 5 minutes ago" goes on being true. */
  update_status (data);
  return G_SOURCE_CONTINUE;
}

static void
sync_now_clicked_cb (TandemPreferencesWindow *self)
{
  if (self->engine != NULL)
    tandem_sync_engine_sync_now (self->engine);
}

static void
interval_changed_cb (TandemPreferencesWindow *self)
{
  guint minutes = (guint) gtk_adjustment_get_value (self->interval_adjustment);

  /* Translators: the unit after the “Sync every” number */
  gtk_label_set_text (self->interval_unit, ngettext ("minute", "minutes", minutes));
}

static gboolean
seconds_to_minutes (GValue   *value,
                    GVariant *variant,
                    gpointer  user_data)
{
  guint32 seconds = g_variant_get_uint32 (variant);

  g_value_set_double (value, MAX (1, (seconds + 30) / 60));
  return TRUE;
}

static GVariant *
minutes_to_seconds (const GValue       *value,
                    const GVariantType *expected_type,
                    gpointer            user_data)
{
  return g_variant_new_uint32 ((guint32) g_value_get_double (value) * 60);
}

/* GObject */

GtkWindow *
tandem_preferences_window_new (GtkWindow        *parent,
                               TandemStore      *store,
                               TandemSyncEngine *engine,
                               GSettings        *settings)
{
  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (TANDEM_IS_STORE (store), NULL);
  g_return_val_if_fail (engine == NULL || TANDEM_IS_SYNC_ENGINE (engine), NULL);
  g_return_val_if_fail (settings == NULL || G_IS_SETTINGS (settings), NULL);

  return g_object_new (TANDEM_TYPE_PREFERENCES_WINDOW,
                       "transient-for", parent,
                       "store", store,
                       "engine", engine,
                       "settings", settings,
                       NULL);
}

static void
tandem_preferences_window_constructed (GObject *object)
{
  TandemPreferencesWindow *self = TANDEM_PREFERENCES_WINDOW (object);
  g_autofree char *url = NULL;

  G_OBJECT_CLASS (tandem_preferences_window_parent_class)->constructed (object);

  g_assert (self->store != NULL);

  account_state (self, NULL, &url);
  if (url != NULL)
    gtk_editable_set_text (GTK_EDITABLE (self->url_row), url);

  if (self->settings != NULL)
    {
      g_autoptr(GSettingsSchema) schema = NULL;

      g_object_get (self->settings, "settings-schema", &schema, NULL);
      if (g_settings_schema_has_key (schema, INTERVAL_MINUTES_KEY))
        g_settings_bind (self->settings, INTERVAL_MINUTES_KEY, self->interval_adjustment, "value",
                         G_SETTINGS_BIND_DEFAULT);
      else if (g_settings_schema_has_key (schema, INTERVAL_SECONDS_KEY))
        g_settings_bind_with_mapping (self->settings, INTERVAL_SECONDS_KEY,
                                      self->interval_adjustment, "value",
                                      G_SETTINGS_BIND_DEFAULT, seconds_to_minutes,
                                      minutes_to_seconds, NULL, NULL);
      else
        {
          g_warning ("Schema %s has no sync interval key", g_settings_schema_get_id (schema));
          gtk_widget_set_sensitive (GTK_WIDGET (self->interval_row), FALSE);
        }
    }
  else
    gtk_widget_set_sensitive (GTK_WIDGET (self->interval_row), FALSE);
  interval_changed_cb (self);

  g_signal_group_set_target (self->engine_signals, self->engine);
  update_account (self);
  update_status (self);
  self->refresh_id = g_timeout_add_seconds (30, refresh_cb, self);

  /* Signed in, start on something harmless rather than with the address
   * selected, ready to be overwritten. */
  if (gtk_widget_get_sensitive (GTK_WIDGET (self->sync_now_button)) &&
      gtk_widget_get_visible (GTK_WIDGET (self->sync_now_button)))
    gtk_window_set_focus (GTK_WINDOW (self), GTK_WIDGET (self->sync_now_button));
}

static void
tandem_preferences_window_dispose (GObject *object)
{
  TandemPreferencesWindow *self = TANDEM_PREFERENCES_WINDOW (object);

  /* No engine signal or timer may reach a half-disposed window. */
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  if (self->engine_signals != NULL)
    g_signal_group_set_target (self->engine_signals, NULL);
  if (self->settings != NULL)
    g_settings_unbind (self->interval_adjustment, "value");
  gtk_widget_dispose_template (GTK_WIDGET (self), TANDEM_TYPE_PREFERENCES_WINDOW);

  G_OBJECT_CLASS (tandem_preferences_window_parent_class)->dispose (object);
}

static void
tandem_preferences_window_finalize (GObject *object)
{
  TandemPreferencesWindow *self = TANDEM_PREFERENCES_WINDOW (object);

  g_clear_object (&self->engine_signals);
  g_clear_object (&self->store);
  g_clear_object (&self->engine);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (tandem_preferences_window_parent_class)->finalize (object);
}

static void
tandem_preferences_window_get_property (GObject    *object,
                                        guint       prop_id,
                                        GValue     *value,
                                        GParamSpec *pspec)
{
  TandemPreferencesWindow *self = TANDEM_PREFERENCES_WINDOW (object);

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
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_preferences_window_set_property (GObject      *object,
                                        guint         prop_id,
                                        const GValue *value,
                                        GParamSpec   *pspec)
{
  TandemPreferencesWindow *self = TANDEM_PREFERENCES_WINDOW (object);

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
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_preferences_window_class_init (TandemPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = tandem_preferences_window_constructed;
  object_class->dispose = tandem_preferences_window_dispose;
  object_class->finalize = tandem_preferences_window_finalize;
  object_class->get_property = tandem_preferences_window_get_property;
  object_class->set_property = tandem_preferences_window_set_property;

  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, TANDEM_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS |
                         G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_ENGINE] =
    g_param_spec_object ("engine", NULL, NULL, TANDEM_TYPE_SYNC_ENGINE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS |
                         G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS |
                         G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (
    widget_class, "/io/github/tandem/Tandem/ui/tandem-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, url_row);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, token_row);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, account_row);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, account_icon);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, sign_in_button);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, sign_out_button);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, error_label);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, interval_row);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, interval_spin);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow,
                                        interval_adjustment);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, interval_unit);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, status_row);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, status_spinner);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, sync_now_button);
  gtk_widget_class_bind_template_callback (widget_class, sign_in_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, sign_out_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, entry_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, entries_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, sync_now_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, interval_changed_cb);
}

static void
tandem_preferences_window_init (TandemPreferencesWindow *self)
{
  static const char *engine_notifies[] = {
    "notify::state", "notify::last-error", "notify::last-synced", "notify::backoff-until",
    "records-changed", "conflicts-changed",
  };

  gtk_widget_init_template (GTK_WIDGET (self));

  gtk_accessible_update_property (GTK_ACCESSIBLE (self->interval_spin),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Minutes between syncs"), -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->sync_now_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Sync Now"), -1);

  self->engine_signals = g_signal_group_new (TANDEM_TYPE_SYNC_ENGINE);
  for (guint i = 0; i < G_N_ELEMENTS (engine_notifies); i++)
    g_signal_group_connect_swapped (self->engine_signals, engine_notifies[i],
                                    G_CALLBACK (engine_changed_cb), self);
}
