/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tandem-store.h"

G_BEGIN_DECLS

/* The sync account of a database (DESIGN §6): the server URL in the
 * database's settings, the token in the keyring through libsecret when one
 * is reachable, else in the settings of the (0600) database file. The app
 * and tandem-cli share it for the same database. */

typedef enum
{
  TANDEM_TOKEN_IN_KEYRING,
  TANDEM_TOKEN_IN_DATABASE,
} TandemTokenStorage;

/* Checks that @url is an http(s) URL and @token a plausible bearer token,
 * then saves both. Local data, outbox and cursor are kept. */
gboolean tandem_account_save  (TandemStore         *store,
                               const char          *url,
                               const char          *token,
                               TandemTokenStorage  *storage,
                               GError             **error);
/* FALSE with no error when no account is set. */
gboolean tandem_account_load  (TandemStore         *store,
                               char               **url,
                               char               **token,
                               GError             **error);
/* Signs out: forgets the token, keeps the URL and all local data. */
gboolean tandem_account_clear (TandemStore         *store,
                               GError             **error);

G_END_DECLS
