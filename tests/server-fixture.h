/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* A real tandem-server process on 127.0.0.1, for integration tests. The
 * binary comes from $TANDEM_SERVER. */
typedef struct
{
  char        *data_dir;
  char        *database;   /* postgresql:// URL the server uses, or NULL: SQLite in data_dir */
  char        *url;        /* http://127.0.0.1:PORT */
  GSubprocess *process;
  GString     *log;        /* what the server wrote on stderr */
  GThread     *log_reader;
  GPtrArray   *extra_args;
  gboolean     shares_database;   /* a sibling: the database is not its own to drop */
} TestServer;

/* Starts a server on a fresh data dir (or @data_dir) with @extra_args
 * (NULL-terminated, may be NULL) and waits for its "listening on" line.
 * With $TANDEM_TEST_DATABASE (a postgresql:// URL, see tests/pg-cluster)
 * the server keeps its data in a new database on that cluster instead,
 * dropped by test_server_free(); data_dir is still made, as scratch. */
TestServer *test_server_start   (const char         *data_dir,
                                 const char *const  *extra_args);
/* Another server process on @first's PostgreSQL database (as behind a load
 * balancer), with @extra_args; its own scratch data dir. Only with
 * $TANDEM_TEST_DATABASE. Freeing it leaves the database to @first. */
TestServer *test_server_start_sibling (TestServer        *first,
                                       const char *const *extra_args);
/* Restarts on the same data dir and arguments (the port may change). Like
 * test_server_free(), it fails the test when the running server does not
 * exit with status 0 on SIGTERM (a crash, a sanitizer's report). */
void        test_server_restart (TestServer         *server);
void        test_server_kill    (TestServer         *server);
/* Stops the server (SIGTERM), fails the test unless it exits with status 0,
 * and removes its data dir. */
void        test_server_free    (TestServer         *server);
/* Runs `tandem-server token create` for @user and returns the token. */
char       *test_server_token   (TestServer         *server,
                                 const char         *user);
/* The server's stderr so far. */
char       *test_server_log     (TestServer         *server);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestServer, test_server_free)

typedef struct
{
  guint               status;
  SoupMessageHeaders *headers;   /* response headers */
  char               *body;
  JsonNode           *json;      /* parsed body, when it is JSON */
} TestResponse;

void test_response_free (TestResponse *response);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestResponse, test_response_free)

/* Sends a request and waits for the answer. @token may be NULL; @body is
 * sent as application/json when not NULL; @headers is NULL or a
 * NULL-terminated list of name, value pairs. */
TestResponse *test_request (SoupSession       *session,
                            TestServer        *server,
                            const char        *method,
                            const char        *path,
                            const char        *token,
                            const char        *body,
                            const char *const *headers);

/* A connection of the test's own to a server's PostgreSQL database
 * (TestServer.database), for what only SQL can do: holding locks, looking
 * behind the protocol. Every failure ends the test. */
typedef struct _TestDatabase TestDatabase;

TestDatabase *test_database_open  (const char         *url);
void          test_database_close (TestDatabase       *db);
/* Runs @sql with @params (NULL-terminated text parameters, may be NULL)
 * and returns the first column of the first row, or NULL when there is
 * no row or it is SQL NULL. */
char         *test_database_value (TestDatabase       *db,
                                   const char         *sql,
                                   const char *const  *params);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestDatabase, test_database_close)

/* JSON helpers for assertions. */
JsonNode   *test_parse_json   (const char *text);
char       *test_to_json      (JsonNode   *node);

G_END_DECLS
