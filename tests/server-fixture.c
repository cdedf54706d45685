/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/prctl.h>
#include <string.h>

#include "server-fixture.h"

static const char *
server_binary (void)
{
  const char *path = g_getenv ("TANDEM_SERVER");

  g_assert_nonnull (path);
  return path;
}

/* PostgreSQL: each server gets a database of its own on the cluster named
 * by $TANDEM_TEST_DATABASE, so tests stay independent as with data dirs. */

static void
run_admin_sql (const char *sql)
{
  PGconn *conn = PQconnectdb (g_getenv ("TANDEM_TEST_DATABASE"));
  PGresult *result;

  if (PQstatus (conn) != CONNECTION_OK)
    g_error ("cannot connect to $TANDEM_TEST_DATABASE: %s", PQerrorMessage (conn));
  result = PQexec (conn, sql);
  if (PQresultStatus (result) != PGRES_COMMAND_OK)
    g_error ("%s: %s", sql, PQerrorMessage (conn));
  PQclear (result);
  PQfinish (conn);
}

/* Where the database name of a postgresql:// @url starts (after the
 * slash) and ends (at the query or the end). */
static void
find_database_name (const char  *url,
                    const char **start,
                    const char **end)
{
  const char *authority = strstr (url, "://");

  g_assert_nonnull (authority);
  authority += 3;
  *end = authority + strcspn (authority, "?");
  *start = memchr (authority, '/', *end - authority);
  *start = *start != NULL ? *start + 1 : *end;
}

static char *
create_database (void)
{
  const char *base = g_getenv ("TANDEM_TEST_DATABASE");
  g_autofree char *name = g_strdup_printf ("tandem_test_%08x%08x", g_random_int (), g_random_int ());
  g_autofree char *sql = g_strdup_printf ("CREATE DATABASE %s ENCODING 'UTF8'", name);
  const char *start, *end;

  run_admin_sql (sql);
  find_database_name (base, &start, &end);
  /* "postgresql://host:port" has no slash before the name: add one. */
  return g_strdup_printf ("%.*s%s%s%s", (int) (start - base), base,
                          start == end && start[-1] != '/' ? "/" : "", name, end);
}

static void
drop_database (const char *url)
{
  const char *start, *end;
  g_autofree char *sql = NULL;

  find_database_name (url, &start, &end);
  sql = g_strdup_printf ("DROP DATABASE IF EXISTS %.*s WITH (FORCE)", (int) (end - start), start);
  run_admin_sql (sql);
}

static gpointer
read_log (gpointer data)
{
  TestServer *server = data;
  GInputStream *err = g_subprocess_get_stderr_pipe (server->process);
  g_autoptr(GDataInputStream) lines = g_data_input_stream_new (err);
  char *line;

  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (lines), FALSE);
  while ((line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, NULL)) != NULL)
    {
      G_LOCK_DEFINE_STATIC (log);

      G_LOCK (log);
      g_string_append (server->log, line);
      g_string_append_c (server->log, '\n');
      G_UNLOCK (log);
      if (g_getenv ("TANDEM_TEST_SERVER_LOG"))
        g_printerr ("server: %s\n", line);
      g_free (line);
    }
  return NULL;
}

/* A server outlives no test that aborts. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
launch (TestServer *server)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;

  g_ptr_array_add (argv, (char *) server_binary ());
  g_ptr_array_add (argv, "serve");
  g_ptr_array_add (argv, server->database ? "--database" : "--data");
  g_ptr_array_add (argv, server->database ? server->database : server->data_dir);
  g_ptr_array_add (argv, "--listen");
  g_ptr_array_add (argv, "127.0.0.1:0");
  for (guint i = 0; i < server->extra_args->len; i++)
    g_ptr_array_add (argv, g_ptr_array_index (server->extra_args, i));
  g_ptr_array_add (argv, NULL);

  {
    g_autoptr(GSubprocessLauncher) launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);

    g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
    server->process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata,
                                                    &error);
  }
  g_assert_no_error (error);
  server->log_reader = g_thread_new ("server-log", read_log, server);

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server->process));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (out), FALSE);
  line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);
  g_assert_no_error (error);
  if (line == NULL || !g_str_has_prefix (line, "listening on "))
    g_error ("tandem-server did not start: %s", server->log->str);
  g_free (server->url);
  server->url = g_strdup (line + strlen ("listening on "));
  /* "http://127.0.0.1:PORT/" → without the slash, paths start with one */
  if (g_str_has_suffix (server->url, "/"))
    server->url[strlen (server->url) - 1] = '\0';
}

TestServer *
test_server_start (const char        *data_dir,
                   const char *const *extra_args)
{
  TestServer *server = g_new0 (TestServer, 1);

  server->data_dir = data_dir ? g_strdup (data_dir) : g_dir_make_tmp ("tandem-server-XXXXXX", NULL);
  g_assert_nonnull (server->data_dir);
  if (g_getenv ("TANDEM_TEST_DATABASE") != NULL && *g_getenv ("TANDEM_TEST_DATABASE") != '\0')
    server->database = create_database ();
  server->log = g_string_new (NULL);
  server->extra_args = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (server->extra_args, g_strdup (extra_args[i]));
  launch (server);
  return server;
}

TestServer *
test_server_start_sibling (TestServer        *first,
                           const char *const *extra_args)
{
  TestServer *server = g_new0 (TestServer, 1);

  g_assert_nonnull (first->database);
  server->data_dir = g_dir_make_tmp ("tandem-server-XXXXXX", NULL);
  g_assert_nonnull (server->data_dir);
  server->database = g_strdup (first->database);
  server->shares_database = TRUE;
  server->log = g_string_new (NULL);
  server->extra_args = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (server->extra_args, g_strdup (extra_args[i]));
  launch (server);
  return server;
}

static void
reap (TestServer *server)
{
  g_subprocess_wait (server->process, NULL, NULL);
  g_thread_join (server->log_reader);
  server->log_reader = NULL;
  g_clear_object (&server->process);
}

/* SIGTERM stops a server cleanly, with exit status 0. Anything else fails
 * the test: a crash on the way out, or a sanitizer's report (a leak, a bad
 * memory access), which a server only makes as it exits. A server a test
 * has killed itself (SIGKILL) is left to that test. */
static void
stop (TestServer *server)
{
  g_autofree char *how = NULL;

  g_subprocess_send_signal (server->process, SIGTERM);
  g_subprocess_wait (server->process, NULL, NULL);
  if (g_subprocess_get_if_exited (server->process))
    {
      if (g_subprocess_get_exit_status (server->process) != 0)
        how = g_strdup_printf ("exit status %d", g_subprocess_get_exit_status (server->process));
    }
  else if (g_subprocess_get_if_signaled (server->process) &&
           g_subprocess_get_term_sig (server->process) != SIGKILL)
    how = g_strdup_printf ("signal %d", g_subprocess_get_term_sig (server->process));
  reap (server);
  if (how != NULL)
    g_error ("tandem-server did not stop cleanly on SIGTERM (%s); it wrote:\n%s", how,
             server->log->str);
}

void
test_server_kill (TestServer *server)
{
  if (server->process == NULL)
    return;
  g_subprocess_send_signal (server->process, SIGKILL);
  reap (server);
}

void
test_server_restart (TestServer *server)
{
  if (server->process != NULL)
    stop (server);
  launch (server);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

void
test_server_free (TestServer *server)
{
  if (server == NULL)
    return;
  if (server->process != NULL)
    stop (server);
  remove_tree (server->data_dir);
  if (server->database != NULL && !server->shares_database)
    drop_database (server->database);
  g_free (server->data_dir);
  g_free (server->database);
  g_free (server->url);
  g_string_free (server->log, TRUE);
  g_ptr_array_unref (server->extra_args);
  g_free (server);
}

char *
test_server_token (TestServer *server,
                   const char *user)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                              &error, server_binary (), "token", "create",
                              server->database ? "--database" : "--data",
                              server->database ? server->database : server->data_dir,
                              "--user", user, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (g_subprocess_get_exit_status (process) != 0)
    g_error ("token create failed: %s", err);
  return g_strdup (g_strstrip (out));
}

char *
test_server_log (TestServer *server)
{
  return g_strdup (server->log->str);
}

void
test_response_free (TestResponse *response)
{
  if (response == NULL)
    return;
  g_clear_pointer (&response->headers, soup_message_headers_unref);
  g_free (response->body);
  g_clear_pointer (&response->json, json_node_unref);
  g_free (response);
}

TestResponse *
test_request (SoupSession       *session,
              TestServer        *server,
              const char        *method,
              const char        *path,
              const char        *token,
              const char        *body,
              const char *const *headers)
{
  g_autofree char *uri = g_strconcat (server->url, path, NULL);
  g_autoptr(SoupMessage) message = soup_message_new (method, uri);
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(GError) error = NULL;
  TestResponse *response = g_new0 (TestResponse, 1);
  SoupMessageHeaders *request_headers;
  gsize len = 0;
  const char *data;
  const char *type;

  g_assert_nonnull (message);
  request_headers = soup_message_get_request_headers (message);
  if (token != NULL)
    {
      g_autofree char *auth = g_strconcat ("Bearer ", token, NULL);

      soup_message_headers_replace (request_headers, "Authorization", auth);
    }
  for (guint i = 0; headers != NULL && headers[i] != NULL; i += 2)
    soup_message_headers_replace (request_headers, headers[i], headers[i + 1]);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (message, "application/json", bytes);
    }

  reply = soup_session_send_and_read (session, message, NULL, &error);
  g_assert_no_error (error);

  response->status = soup_message_get_status (message);
  response->headers = soup_message_headers_ref (soup_message_get_response_headers (message));
  data = g_bytes_get_data (reply, &len);
  response->body = g_strndup (data ? data : "", len);
  type = soup_message_headers_get_content_type (response->headers, NULL);
  if (type != NULL && (g_str_equal (type, "application/json") ||
                       g_str_equal (type, "application/problem+json")))
    response->json = test_parse_json (response->body);
  return response;
}

JsonNode *
test_parse_json (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  if (!json_parser_load_from_data (parser, text, -1, &error))
    g_error ("not JSON (%s): %.200s", error->message, text);
  return json_node_copy (json_parser_get_root (parser));
}

char *
test_to_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, node);
  return json_generator_to_data (generator, NULL);
}

/* The test's own database connection */

struct _TestDatabase
{
  PGconn *conn;
};

TestDatabase *
test_database_open (const char *url)
{
  TestDatabase *db = g_new0 (TestDatabase, 1);

  g_assert_nonnull (url);
  db->conn = PQconnectdb (url);
  if (PQstatus (db->conn) != CONNECTION_OK)
    g_error ("cannot connect to %s: %s", url, PQerrorMessage (db->conn));
  return db;
}

void
test_database_close (TestDatabase *db)
{
  if (db == NULL)
    return;
  PQfinish (db->conn);
  g_free (db);
}

char *
test_database_value (TestDatabase      *db,
                     const char        *sql,
                     const char *const *params)
{
  int n_params = 0;
  PGresult *result;
  ExecStatusType status;
  char *value = NULL;

  while (params != NULL && params[n_params] != NULL)
    n_params++;
  result = PQexecParams (db->conn, sql, n_params, NULL, (const char *const *) params, NULL, NULL,
                         0);
  status = PQresultStatus (result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    g_error ("%s: %s", sql, PQerrorMessage (db->conn));
  if (status == PGRES_TUPLES_OK && PQntuples (result) > 0 && !PQgetisnull (result, 0, 0))
    value = g_strdup (PQgetvalue (result, 0, 0));
  PQclear (result);
  return value;
}
