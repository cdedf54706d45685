/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-sync"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsecret/secret.h>
#include <string.h>

#include "tandem-account.h"

static const SecretSchema *
token_schema (void)
{
  static const SecretSchema schema = {
    "io.github.tandem.Tandem.Token", SECRET_SCHEMA_NONE,
    {
      { "device", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "url", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    }
  };
  return &schema;
}

/* Only with a session bus: without one libsecret would try to start a
 * keyring daemon (or hang on an X11 autolaunch) on every call. */
static gboolean
keyring_reachable (void)
{
  const char *bus = g_getenv ("DBUS_SESSION_BUS_ADDRESS");

  return bus != NULL && *bus != '\0' && g_getenv ("TANDEM_NO_KEYRING") == NULL;
}

static gboolean
validate (const char *url,
          const char *token,
          GError    **error)
{
  g_autoptr(GUri) uri = NULL;

  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0' ||
      (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 &&
       g_strcmp0 (g_uri_get_scheme (uri), "https") != 0))
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_INVALID,
                   _("“%s” is not a server address; use http://HOST:PORT or https://HOST"), url);
      return FALSE;
    }
  if (token == NULL || *token == '\0' || strlen (token) > 512 ||
      strspn (token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=") !=
        strlen (token))
    {
      g_set_error_literal (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_INVALID,
                           _("The token is empty or has characters a token cannot have; paste "
                             "the line “tandem-server token create” printed"));
      return FALSE;
    }
  return TRUE;
}

gboolean
tandem_account_save (TandemStore        *store,
                     const char         *url,
                     const char         *token,
                     TandemTokenStorage *storage,
                     GError            **error)
{
  g_autofree char *clean_url = NULL;
  TandemTokenStorage where = TANDEM_TOKEN_IN_DATABASE;

  g_return_val_if_fail (TANDEM_IS_STORE (store), FALSE);
  g_return_val_if_fail (url != NULL, FALSE);

  if (!validate (url, token, error))
    return FALSE;
  clean_url = g_strdup (url);
  while (g_str_has_suffix (clean_url, "/"))
    clean_url[strlen (clean_url) - 1] = '\0';

  if (keyring_reachable ())
    {
      g_autoptr(GError) keyring_error = NULL;

      if (secret_password_store_sync (token_schema (), SECRET_COLLECTION_DEFAULT,
                                      /* Translators: the name of the sign-in token in the
                                       * keyring, shown by password managers */
                                      _("Tandem sync token"),
                                      token, NULL, &keyring_error,
                                      "device", tandem_store_get_device_id (store),
                                      "url", clean_url, NULL))
        where = TANDEM_TOKEN_IN_KEYRING;
      else
        g_debug ("Keyring not usable, keeping the token in the database: %s",
                 keyring_error->message);
    }

  /* Another server knows nothing of this device's records: send them all
   * there as new, keeping everything here. */
  {
    g_autofree char *previous = tandem_store_get_setting (store, "server_url");

    if (previous != NULL && *previous != '\0' && g_strcmp0 (previous, clean_url) != 0 &&
        !tandem_store_prepare_for_new_server (store, error))
      return FALSE;
  }

  if (!tandem_store_set_setting (store, "server_url", clean_url, error) ||
      !tandem_store_set_setting (store, "token_storage",
                                 where == TANDEM_TOKEN_IN_KEYRING ? "keyring" : "database", error) ||
      !tandem_store_set_setting (store, "token", where == TANDEM_TOKEN_IN_KEYRING ? "" : token,
                                 error) ||
      !tandem_store_set_setting (store, "auth_paused", "", error))
    return FALSE;
  if (storage != NULL)
    *storage = where;
  return TRUE;
}

gboolean
tandem_account_load (TandemStore *store,
                     char       **url,
                     char       **token,
                     GError     **error)
{
  g_autofree char *stored_url = NULL;
  g_autofree char *storage = NULL;
  g_autofree char *stored_token = NULL;

  g_return_val_if_fail (TANDEM_IS_STORE (store), FALSE);

  stored_url = tandem_store_get_setting (store, "server_url");
  storage = tandem_store_get_setting (store, "token_storage");
  if (stored_url == NULL || *stored_url == '\0')
    return FALSE;

  if (g_strcmp0 (storage, "keyring") == 0 && keyring_reachable ())
    stored_token = secret_password_lookup_sync (token_schema (), NULL, error,
                                                "device", tandem_store_get_device_id (store),
                                                "url", stored_url, NULL);
  else
    stored_token = tandem_store_get_setting (store, "token");
  if (stored_token == NULL || *stored_token == '\0')
    {
      g_clear_pointer (&stored_token, g_free);
      if (error != NULL && *error != NULL)
        return FALSE;
    }

  *url = g_steal_pointer (&stored_url);
  *token = g_steal_pointer (&stored_token);
  return TRUE;
}

gboolean
tandem_account_clear (TandemStore *store,
                      GError     **error)
{
  g_autofree char *url = tandem_store_get_setting (store, "server_url");

  if (keyring_reachable () && url != NULL)
    secret_password_clear_sync (token_schema (), NULL, NULL,
                                "device", tandem_store_get_device_id (store), "url", url, NULL);
  return tandem_store_set_setting (store, "token", "", error) &&
         tandem_store_set_setting (store, "token_storage", "database", error);
}
