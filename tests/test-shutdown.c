/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>

#include "server-fixture.h"

/* How tandem-server stops under a service manager: on SIGTERM or SIGINT it
 * refuses new connections, lets the requests under way finish (up to
 * --shutdown-timeout), closes the database and exits 0. The client side of
 * a request is written by hand here, so that the signal can arrive while
 * the server holds half of its body. */

#define N_OPS 20

/* Waits for the server to exit and returns its exit status (-1 when a
 * signal killed it); its whole stderr is in server->log afterwards. */
static int
wait_for_exit (TestServer *server)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_subprocess_wait (server->process, NULL, &error);
  g_assert_no_error (error);
  g_thread_join (server->log_reader);
  server->log_reader = NULL;
  status = g_subprocess_get_if_exited (server->process)
             ? g_subprocess_get_exit_status (server->process)
             : -1;
  g_clear_object (&server->process);
  return status;
}

static guint
server_port (TestServer *server)
{
  g_autoptr(GUri) uri = g_uri_parse (server->url, G_URI_FLAGS_NONE, NULL);

  g_assert_nonnull (uri);
  return g_uri_get_port (uri);
}

static GSocketConnection *
connect_to (TestServer  *server,
            GError     **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();

  return g_socket_client_connect_to_host (client, "127.0.0.1", server_port (server), NULL, error);
}

static void
write_text (GSocketConnection *connection,
            const char        *text,
            gsize              length)
{
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                             text, length, NULL, NULL, &error);
  g_assert_no_error (error);
}

/* Once the signal has been handled the listening socket is gone: a new
 * connection is refused rather than left waiting. Tries until then. */
static void
assert_connections_refused_soon (TestServer *server)
{
  for (guint attempt = 0; attempt < 2000; attempt++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocketConnection) probe = connect_to (server, &error);

      if (probe == NULL)
        {
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
          return;
        }
      g_io_stream_close (G_IO_STREAM (probe), NULL, NULL);
      g_usleep (G_USEC_PER_SEC / 100);
    }
  g_error ("tandem-server still accepts connections after the signal");
}

/* A push of N_OPS new tasks; their ids go to @ids. */
static char *
push_body (GPtrArray *ids)
{
  g_autoptr(GString) body = g_string_new ("{\"device_id\":\"dev-a\",\"ops\":[");

  for (guint i = 0; i < N_OPS; i++)
    {
      g_autofree char *op_id = g_uuid_string_random ();
      char *id = g_uuid_string_random ();

      g_ptr_array_add (ids, id);
      g_string_append_printf (body,
                              "%s{\"op_id\":\"%s\",\"entity\":\"task\",\"entity_id\":\"%s\","
                              "\"kind\":\"create\",\"base_rev\":0,"
                              "\"patch\":{\"title\":\"Task %u\",\"position\":\"V\"}}",
                              i ? "," : "", op_id, id, i);
    }
  g_string_append (body, "]}");
  return g_string_free (g_steal_pointer (&body), FALSE);
}

/* Sends the headers of a push, waits for "100 Continue" (so the server has
 * read them and counts the request as under way), then the first half of
 * @body. The caller sends the rest, or not. */
static GSocketConnection *
start_push (TestServer       *server,
            const char       *token,
            const char       *body,
            GDataInputStream **reader)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection = connect_to (server, &error);
  g_autofree char *headers = NULL;
  g_autofree char *status_line = NULL;
  g_autofree char *header = NULL;

  g_assert_no_error (error);
  headers = g_strdup_printf ("POST /v1/sync/push HTTP/1.1\r\n"
                             "Host: 127.0.0.1\r\n"
                             "Authorization: Bearer %s\r\n"
                             "Content-Type: application/json\r\n"
                             "Content-Length: %zu\r\n"
                             "Expect: 100-continue\r\n"
                             "\r\n", token, strlen (body));
  write_text (connection, headers, strlen (headers));

  *reader = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_data_input_stream_set_newline_type (*reader, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (*reader), FALSE);
  status_line = g_data_input_stream_read_line_utf8 (*reader, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (status_line, ==, "HTTP/1.1 100 Continue");
  /* Its headers, up to the blank line. */
  do
    {
      g_free (header);
      header = g_data_input_stream_read_line_utf8 (*reader, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (header);
    }
  while (*header != '\0');

  write_text (connection, body, strlen (body) / 2);
  return g_steal_pointer (&connection);
}

typedef struct
{
  guint       status;
  GHashTable *headers;   /* lower-case name -> value */
  char       *body;
} RawResponse;

static void
raw_response_free (RawResponse *response)
{
  g_hash_table_unref (response->headers);
  g_free (response->body);
  g_free (response);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RawResponse, raw_response_free)

/* Reads one response, or returns NULL when the server closed the
 * connection before sending one. */
static RawResponse *
read_response (GDataInputStream *reader)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *status_line = g_data_input_stream_read_line_utf8 (reader, NULL, NULL, &error);
  RawResponse *response;
  const char *length;
  guint64 size;
  gsize n_read = 0;

  if (status_line == NULL)
    return NULL;
  g_assert_true (g_str_has_prefix (status_line, "HTTP/1.1 "));

  response = g_new0 (RawResponse, 1);
  response->status = (guint) g_ascii_strtoull (status_line + strlen ("HTTP/1.1 "), NULL, 10);
  response->headers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line_utf8 (reader, NULL, NULL, &error);
      const char *colon;

      g_assert_no_error (error);
      g_assert_nonnull (line);
      if (*line == '\0')
        break;
      colon = strchr (line, ':');
      g_assert_nonnull (colon);
      g_hash_table_replace (response->headers, g_ascii_strdown (line, colon - line),
                            g_strstrip (g_strdup (colon + 1)));
    }

  length = g_hash_table_lookup (response->headers, "content-length");
  g_assert_nonnull (length);
  size = g_ascii_strtoull (length, NULL, 10);
  response->body = g_malloc0 (size + 1);
  g_input_stream_read_all (G_INPUT_STREAM (reader), response->body, size, &n_read, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n_read, ==, size);
  return response;
}

/* The ids in the user's change feed. */
static GHashTable *
feed_ids (TestServer *server,
          const char *token)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  GHashTable *ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *cursor = NULL;
  gboolean more = TRUE;

  while (more)
    {
      g_autofree char *path = cursor ? g_strdup_printf ("/v1/sync/changes?since=%s", cursor)
                                     : g_strdup ("/v1/sync/changes");
      g_autoptr(TestResponse) page = test_request (session, server, "GET", path, token, NULL, NULL);
      JsonObject *object;
      JsonArray *changes;

      g_assert_cmpuint (page->status, ==, 200);
      object = json_node_get_object (page->json);
      changes = json_object_get_array_member (object, "changes");
      for (guint i = 0; i < json_array_get_length (changes); i++)
        {
          JsonObject *record = json_array_get_object_element (changes, i);

          g_hash_table_add (ids, g_strdup (json_object_get_string_member (record, "id")));
        }
      g_free (cursor);
      cursor = g_strdup (json_object_get_string_member (object, "cursor"));
      more = json_object_get_boolean_member (object, "has_more");
    }
  return ids;
}

static void
assert_log_has (TestServer *server,
                const char *text)
{
  g_autofree char *log = test_server_log (server);

  if (strstr (log, text) == NULL)
    g_error ("the server log lacks “%s”:\n%s", text, log);
}

/* The signal arrives while the server holds half of a push: new
 * connections are refused at once, the push is still applied and answered,
 * and the server then exits 0. After a restart the ops are in the feed. */
static void
test_in_flight_request_finishes (void)
{
  g_autoptr(TestServer) server = test_server_start (NULL, NULL);
  g_autofree char *token = test_server_token (server, "alice");
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *body = push_body (ids);
  g_autoptr(GDataInputStream) reader = NULL;
  g_autoptr(GSocketConnection) connection = start_push (server, token, body, &reader);
  g_autoptr(RawResponse) response = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GHashTable) stored = NULL;
  JsonArray *results;

  g_subprocess_send_signal (server->process, SIGTERM);
  assert_connections_refused_soon (server);

  write_text (connection, body + strlen (body) / 2, strlen (body) - strlen (body) / 2);
  response = read_response (reader);
  g_assert_nonnull (response);
  g_assert_cmpuint (response->status, ==, 200);
  /* Nothing more on this connection: the server is on its way out. */
  g_assert_cmpstr (g_hash_table_lookup (response->headers, "connection"), ==, "close");
  reply = test_parse_json (response->body);
  results = json_object_get_array_member (json_node_get_object (reply), "results");
  g_assert_cmpuint (json_array_get_length (results), ==, N_OPS);
  for (guint i = 0; i < N_OPS; i++)
    g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (results, i), "status"),
                     ==, 201);

  g_assert_cmpint (wait_for_exit (server), ==, 0);
  assert_log_has (server, "stopped on SIGTERM: every request answered; database closed");

  test_server_restart (server);
  stored = feed_ids (server, token);
  g_assert_cmpuint (g_hash_table_size (stored), ==, N_OPS);
  for (guint i = 0; i < ids->len; i++)
    g_assert_true (g_hash_table_contains (stored, g_ptr_array_index (ids, i)));
}

/* A kept-alive connection between requests is not a request under way:
 * the server does not wait for it. SIGINT stops it like SIGTERM. */
static void
test_idle_connection_does_not_hold_stop (void)
{
  g_autoptr(TestServer) server = test_server_start (NULL, NULL);
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(TestResponse) health = test_request (session, server, "GET", "/v1/health", NULL, NULL,
                                                 NULL);

  g_assert_cmpuint (health->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (health->headers, "Connection"), !=, "close");

  g_subprocess_send_signal (server->process, SIGINT);
  g_assert_cmpint (wait_for_exit (server), ==, 0);
  assert_log_has (server, "stopped on SIGINT: every request answered; database closed");
}

/* A client that stalls mid-body does not keep the server up past
 * --shutdown-timeout: its request is cut off and the server exits 0. */
static void
test_stalled_request_cut_off (void)
{
  g_autoptr(TestServer) server = test_server_start (NULL, (const char *[]) { "--shutdown-timeout", "1", NULL });
  g_autofree char *token = test_server_token (server, "alice");
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *body = push_body (ids);
  g_autoptr(GDataInputStream) reader = NULL;
  g_autoptr(GSocketConnection) connection = start_push (server, token, body, &reader);
  g_autoptr(GHashTable) stored = NULL;

  g_subprocess_send_signal (server->process, SIGTERM);
  g_assert_cmpint (wait_for_exit (server), ==, 0);
  assert_log_has (server, "stopped on SIGTERM: cut off 1 request still under way after the "
                          "shutdown timeout; database closed");
  /* The connection was closed without an answer, and nothing was applied. */
  g_assert_null (read_response (reader));

  test_server_restart (server);
  stored = feed_ids (server, token);
  g_assert_cmpuint (g_hash_table_size (stored), ==, 0);
}

static const char *const sqlite_suffixes[] = { "", "-wal", "-shm", "-journal" };

static gint64
sqlite_count (sqlite3    *db,
              const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return value;
}

/* SQLite: the write-ahead log is checkpointed into the database file on
 * the way out, so the file alone holds every acknowledged change. */
static void
test_sqlite_closed_cleanly (void)
{
  g_autoptr(TestServer) server = test_server_start (NULL, NULL);
  g_autofree char *token = test_server_token (server, "alice");
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *body = push_body (ids);
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(TestResponse) pushed = test_request (session, server, "POST", "/v1/sync/push", token,
                                                 body, NULL);
  g_autofree char *db_path = g_build_filename (server->data_dir, "tandem-server.db", NULL);
  g_autofree char *wal_path = g_strconcat (db_path, "-wal", NULL);
  g_autofree char *copy_dir = g_dir_make_tmp ("tandem-shutdown-XXXXXX", NULL);
  g_autofree char *copy_path = g_build_filename (copy_dir, "copy.db", NULL);
  g_autofree char *contents = NULL;
  gsize length = 0;
  GStatBuf st;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpuint (pushed->status, ==, 200);
  /* While serving, the changes sit in the write-ahead log. */
  g_assert_cmpint (g_stat (wal_path, &st), ==, 0);
  g_assert_cmpint (st.st_size, >, 0);

  g_subprocess_send_signal (server->process, SIGTERM);
  g_assert_cmpint (wait_for_exit (server), ==, 0);
  g_assert_false (g_file_test (wal_path, G_FILE_TEST_EXISTS));

  /* The database file on its own, with no log beside it. */
  g_assert_true (g_file_get_contents (db_path, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (copy_path, contents, length, NULL));
  g_assert_cmpint (sqlite3_open_v2 (copy_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "ok");
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite_count (db, "SELECT count(*) FROM records"), ==, N_OPS);
  sqlite3_close (db);

  for (guint i = 0; i < G_N_ELEMENTS (sqlite_suffixes); i++)
    {
      g_autofree char *file = g_strconcat (copy_path, sqlite_suffixes[i], NULL);

      g_unlink (file);
    }
  g_rmdir (copy_dir);
}

int
main (int    argc,
      char **argv)
{
  const char *database = g_getenv ("TANDEM_TEST_DATABASE");

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/shutdown/in-flight-request-finishes", test_in_flight_request_finishes);
  g_test_add_func ("/shutdown/idle-connection-does-not-hold-stop",
                   test_idle_connection_does_not_hold_stop);
  g_test_add_func ("/shutdown/stalled-request-cut-off", test_stalled_request_cut_off);
  /* PostgreSQL has no file of its own to check. */
  if (database == NULL || *database == '\0')
    g_test_add_func ("/shutdown/sqlite-closed-cleanly", test_sqlite_closed_cleanly);

  return g_test_run ();
}
