/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "server-fixture.h"
#include "test-run.h"

/* tandem-server's HTTP layer and command line, against the real binary:
 * authentication, routing, limits, errors, logging, TLS and shutdown.
 * The sync semantics behind the routes are test-sync-protocol's. */

#define DEFAULT_MAX_BODY 4194304

typedef struct
{
  TestServer  *server;
  SoupSession *session;
  char        *token;
  guint        n_certificates_accepted;
} Fixture;

/* One request, with everything a well-behaved client would not do. */
typedef struct
{
  const char *method;
  const char *path;
  const char *token;
  const char *authorization;      /* the raw header, instead of @token */
  const char *content_type;       /* NULL: no Content-Type at all */
  const char *body;               /* NULL: no body; may hold any bytes */
  gsize       body_length;        /* 0: strlen (body) */
  gboolean    chunked;            /* no Content-Length */
  gboolean    expect_continue;
  gboolean    accept_certificate; /* trust the server's self-signed certificate */
} Request;

static const char *
server_binary (void)
{
  const char *path = g_getenv ("TANDEM_SERVER");

  g_assert_nonnull (path);
  return path;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->server = test_server_start (NULL, data);
  f->session = soup_session_new_with_options ("timeout", 20, NULL);
  f->token = test_server_token (f->server, "alice");
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->session);
  g_clear_pointer (&f->server, test_server_free);
  g_free (f->token);
}

static gboolean
accept_certificate_cb (SoupMessage          *message,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  guint *n_accepted = user_data;

  (*n_accepted)++;
  return TRUE;
}

static TestResponse *
send_request (Fixture       *f,
              const Request *request,
              GError       **error)
{
  g_autofree char *uri = g_strconcat (f->server->url, request->path, NULL);
  g_autoptr(SoupMessage) message = soup_message_new (request->method, uri);
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(TestResponse) response = g_new0 (TestResponse, 1);
  SoupMessageHeaders *headers;
  const char *type;
  const char *data;
  gsize size;

  g_assert_nonnull (message);
  headers = soup_message_get_request_headers (message);

  if (request->token != NULL)
    {
      g_autofree char *value = g_strconcat ("Bearer ", request->token, NULL);

      soup_message_headers_replace (headers, "Authorization", value);
    }
  if (request->authorization != NULL)
    soup_message_headers_replace (headers, "Authorization", request->authorization);

  if (request->body != NULL)
    {
      gsize length = request->body_length > 0 ? request->body_length : strlen (request->body);
      g_autoptr(GBytes) bytes = g_bytes_new (request->body, length);

      if (request->chunked)
        {
          g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_bytes (bytes);

          soup_message_set_request_body (message, request->content_type, stream, -1);
        }
      else
        soup_message_set_request_body_from_bytes (message, request->content_type, bytes);
    }
  if (request->expect_continue)
    soup_message_headers_set_expectations (headers, SOUP_EXPECTATION_CONTINUE);
  if (request->accept_certificate)
    g_signal_connect (message, "accept-certificate", G_CALLBACK (accept_certificate_cb),
                      &f->n_certificates_accepted);

  reply = soup_session_send_and_read (f->session, message, NULL, error);
  if (reply == NULL)
    return NULL;

  response->status = soup_message_get_status (message);
  response->headers = soup_message_headers_ref (soup_message_get_response_headers (message));
  data = g_bytes_get_data (reply, &size);
  response->body = g_strndup (data != NULL ? data : "", size);
  type = soup_message_headers_get_content_type (response->headers, NULL);
  if (g_strcmp0 (type, "application/json") == 0 || g_strcmp0 (type, "application/problem+json") == 0)
    response->json = test_parse_json (response->body);
  return g_steal_pointer (&response);
}

static TestResponse *
request_ok (Fixture       *f,
            const Request *request)
{
  g_autoptr(GError) error = NULL;
  TestResponse *response = send_request (f, request, &error);

  g_assert_no_error (error);
  return response;
}

#define REQUEST(f, ...) request_ok ((f), &(const Request) { __VA_ARGS__ })

/* An error answer: problem+json (RFC 9457) with the status repeated. */
static JsonObject *
assert_problem (TestResponse *response,
                guint         status)
{
  JsonObject *problem;

  g_assert_cmpuint (response->status, ==, status);
  g_assert_cmpstr (soup_message_headers_get_content_type (response->headers, NULL), ==,
                   "application/problem+json");
  g_assert_nonnull (response->json);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (response->json));
  problem = json_node_get_object (response->json);
  g_assert_nonnull (json_object_get_string_member_with_default (problem, "type", NULL));
  g_assert_nonnull (json_object_get_string_member_with_default (problem, "title", NULL));
  g_assert_nonnull (json_object_get_string_member_with_default (problem, "detail", NULL));
  g_assert_cmpint (json_object_get_int_member_with_default (problem, "status", 0), ==, status);
  return problem;
}

static guint
count_changes (Fixture    *f,
               const char *token)
{
  g_autoptr(TestResponse) response = REQUEST (f, .method = "GET", .path = "/v1/sync/changes",
                                              .token = token);

  g_assert_cmpuint (response->status, ==, 200);
  return json_array_get_length (json_object_get_array_member (json_node_get_object (response->json),
                                                              "changes"));
}

static char *
create_op (const char *task_id,
           const char *title)
{
  g_autofree char *op_id = g_uuid_string_random ();

  return g_strdup_printf ("{\"op_id\":\"%s\",\"entity\":\"task\",\"entity_id\":\"%s\","
                          "\"kind\":\"create\",\"base_rev\":0,"
                          "\"patch\":{\"title\":\"%s\",\"position\":\"V\"},\"base\":{}}",
                          op_id, task_id, title);
}

/* {"device_id":"dev-a","ops":[N create ops]} */
static char *
push_body (guint n_ops)
{
  GString *body = g_string_new ("{\"device_id\":\"dev-a\",\"ops\":[");

  for (guint i = 0; i < n_ops; i++)
    {
      g_autofree char *id = g_uuid_string_random ();
      g_autofree char *op = create_op (id, "Water the plants");

      g_string_append_printf (body, "%s%s", i > 0 ? "," : "", op);
    }
  g_string_append (body, "]}");
  return g_string_free (body, FALSE);
}

/* Waits up to a few seconds for the server's stderr to contain @text:
 * a request is logged just after its answer is written. */
static char *
wait_for_log (Fixture    *f,
              const char *text)
{
  for (guint i = 0; i < 200; i++)
    {
      g_autofree char *log = test_server_log (f->server);

      if (strstr (log, text) != NULL)
        return g_steal_pointer (&log);
      g_usleep (G_USEC_PER_SEC / 50);
    }
  g_error ("“%s” never appeared in the server log:\n%s", text, test_server_log (f->server));
}

/* Health and routing */

static void
test_health (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(TestResponse) response = REQUEST (f, .method = "GET", .path = "/v1/health");
  g_autoptr(TestResponse) with_token = NULL;

  g_assert_cmpuint (response->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_content_type (response->headers, NULL), ==,
                   "application/json");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (response->json), "status"),
                   ==, "ok");

  /* A bad token does not matter where none is needed. */
  with_token = REQUEST (f, .method = "GET", .path = "/v1/health", .token = "not-a-token");
  g_assert_cmpuint (with_token->status, ==, 200);
}

static void
test_unknown_route (Fixture       *f,
                    gconstpointer  data)
{
  static const char *paths[] = {
    "/", "/v1", "/v1/", "/v2/health", "/v1/healthz", "/v1/health/", "/v1/sync",
    "/v1/sync/pull", "/v1/tasks", "/v1/tasks/", "/v1/tasks/abc/comments", "/v1/tasks/abc/history/1",
    "/v1/lists/abc/history", "/v1/stream",
  };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr(TestResponse) anonymous = REQUEST (f, .method = "GET", .path = paths[i]);
      g_autoptr(TestResponse) signed_in = REQUEST (f, .method = "GET", .path = paths[i],
                                                   .token = f->token);

      g_test_message ("GET %s", paths[i]);
      assert_problem (anonymous, 404);
      assert_problem (signed_in, 404);
    }
}

static void
test_wrong_method (Fixture       *f,
                   gconstpointer  data)
{
  static const struct
  {
    const char *method;
    const char *path;
    const char *allow;
  } cases[] = {
    { "GET", "/v1/sync/push", "POST" },
    { "DELETE", "/v1/sync/push", "POST" },
    { "POST", "/v1/health", "GET, HEAD" },
    { "POST", "/v1/sync/changes", "GET, HEAD" },
    { "POST", "/v1/tasks/0b5a0a4e-4f4e-4c1e-9d5e-2f1a7c3b9e10", "GET, HEAD, PUT, PATCH, DELETE" },
    { "DELETE", "/v1/tasks/0b5a0a4e-4f4e-4c1e-9d5e-2f1a7c3b9e10/history", "GET, HEAD" },
    { "POST", "/v1/lists/0b5a0a4e-4f4e-4c1e-9d5e-2f1a7c3b9e10", "GET, HEAD, PUT, PATCH, DELETE" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(TestResponse) response = REQUEST (f, .method = cases[i].method, .path = cases[i].path,
                                                  .token = f->token);

      g_test_message ("%s %s", cases[i].method, cases[i].path);
      assert_problem (response, 405);
      g_assert_cmpstr (soup_message_headers_get_one (response->headers, "Allow"), ==, cases[i].allow);
    }
}

/* Authentication */

static void
assert_unauthorized (TestResponse *response)
{
  const char *challenge;

  assert_problem (response, 401);
  challenge = soup_message_headers_get_one (response->headers, "WWW-Authenticate");
  g_assert_nonnull (challenge);
  g_assert_true (g_str_has_prefix (challenge, "Bearer"));
}

static void
test_auth (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *other = test_server_token (f->server, "bob");
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) revoke = NULL;
  g_autofree char *revoke_out = NULL;
  static const char *protected[] = {
    "/v1/sync/changes", "/v1/tasks/0b5a0a4e-4f4e-4c1e-9d5e-2f1a7c3b9e10",
    "/v1/tasks/0b5a0a4e-4f4e-4c1e-9d5e-2f1a7c3b9e10/history",
    "/v1/lists/0b5a0a4e-4f4e-4c1e-9d5e-2f1a7c3b9e10",
  };

  for (guint i = 0; i < G_N_ELEMENTS (protected); i++)
    {
      g_autoptr(TestResponse) none = REQUEST (f, .method = "GET", .path = protected[i]);
      g_autoptr(TestResponse) bad = REQUEST (f, .method = "GET", .path = protected[i],
                                             .token = "tdm_not-a-real-token");
      g_autoptr(TestResponse) basic = REQUEST (f, .method = "GET", .path = protected[i],
                                               .authorization = "Basic YWxpY2U6c2VjcmV0");
      g_autoptr(TestResponse) empty = REQUEST (f, .method = "GET", .path = protected[i],
                                               .authorization = "Bearer ");

      g_test_message ("GET %s", protected[i]);
      assert_unauthorized (none);
      assert_unauthorized (bad);
      assert_unauthorized (basic);
      assert_unauthorized (empty);
    }

  /* A push without a token is refused before its body is looked at. */
  {
    g_autofree char *body = push_body (1);
    g_autoptr(TestResponse) push = REQUEST (f, .method = "POST", .path = "/v1/sync/push",
                                            .content_type = "application/json", .body = body);

    assert_unauthorized (push);
    g_assert_cmpuint (count_changes (f, f->token), ==, 0);
  }

  /* The scheme name is case-insensitive (RFC 9110 §11.1). */
  {
    g_autofree char *lower = g_strconcat ("bearer ", f->token, NULL);
    g_autoptr(TestResponse) response = REQUEST (f, .method = "GET", .path = "/v1/sync/changes",
                                                .authorization = lower);

    g_assert_cmpuint (response->status, ==, 200);
  }

  g_assert_cmpuint (count_changes (f, f->token), ==, 0);
  g_assert_cmpuint (count_changes (f, other), ==, 0);

  /* Revoking takes effect at once, on the running server, for that token only. */
  revoke = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &error,
                             server_binary (), "token", "revoke",
                             f->server->database ? "--database" : "--data",
                             f->server->database ? f->server->database : f->server->data_dir,
                             "--token", f->token, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (revoke, NULL, NULL, &revoke_out, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (revoke), ==, 0);
  g_assert_cmpstr (revoke_out, ==, "");

  {
    g_autoptr(TestResponse) revoked = REQUEST (f, .method = "GET", .path = "/v1/sync/changes",
                                               .token = f->token);

    assert_unauthorized (revoked);
  }
  g_assert_cmpuint (count_changes (f, other), ==, 0);
}

/* Bad bodies */

static void
test_bad_json (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GString) deep = g_string_new ("{\"device_id\":\"dev-a\",\"ops\":");
  g_autoptr(GString) deep_objects = g_string_new (NULL);
  g_autofree char *task_path = NULL;
  g_autofree char *task_id = g_uuid_string_random ();
  static const char *const malformed[] = {
    "",
    "{",
    "{\"device_id\":\"dev-a\",\"ops\":[}",
    "{\"device_id\":'dev-a',\"ops\":[]}",
    "not json at all",
    "{\"device_id\":\"dev-a\",\"ops\":[]} trailing",
  };
  /* Invalid UTF-8: a lone continuation byte, an overlong '/', a surrogate. */
  static const char *const invalid_utf8[] = {
    "{\"device_id\":\"dev-\x80\",\"ops\":[]}",
    "{\"device_id\":\"dev-\xc0\xaf\",\"ops\":[]}",
    "{\"device_id\":\"dev-\xed\xa0\x80\",\"ops\":[]}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      g_autoptr(TestResponse) response = REQUEST (f, .method = "POST", .path = "/v1/sync/push",
                                                  .token = f->token, .content_type = "application/json",
                                                  .body = malformed[i]);

      g_test_message ("malformed: %s", malformed[i]);
      assert_problem (response, 400);
    }

  for (guint i = 0; i < G_N_ELEMENTS (invalid_utf8); i++)
    {
      g_autoptr(TestResponse) response = REQUEST (f, .method = "POST", .path = "/v1/sync/push",
                                                  .token = f->token, .content_type = "application/json",
                                                  .body = invalid_utf8[i]);

      assert_problem (response, 400);
    }

  /* UTF-16 is not UTF-8 either. */
  {
    static const char utf16[] = "{\0\"\0o\0p\0s\0\"\0:\0[\0]\0}\0";
    g_autoptr(TestResponse) response = REQUEST (f, .method = "POST", .path = "/v1/sync/push",
                                                .token = f->token, .content_type = "application/json",
                                                .body = utf16, .body_length = sizeof utf16 - 1);

    assert_problem (response, 400);
  }

  /* Nesting far deeper than any real op: refused before the parser recurses. */
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (deep, ']');
  g_string_append_c (deep, '}');
  for (guint i = 0; i < 5000; i++)
    g_string_append (deep_objects, "{\"a\":");
  g_string_append (deep_objects, "1");
  for (guint i = 0; i < 5000; i++)
    g_string_append_c (deep_objects, '}');

  {
    g_autoptr(TestResponse) arrays = REQUEST (f, .method = "POST", .path = "/v1/sync/push",
                                              .token = f->token, .content_type = "application/json",
                                              .body = deep->str);
    g_autoptr(TestResponse) objects = REQUEST (f, .method = "POST", .path = "/v1/sync/push",
                                               .token = f->token, .content_type = "application/json",
                                               .body = deep_objects->str);

    assert_problem (arrays, 400);
    assert_problem (objects, 400);
  }

  /* The same checks guard the PUT routes. */
  task_path = g_strconcat ("/v1/tasks/", task_id, NULL);
  {
    g_autoptr(TestResponse) broken = REQUEST (f, .method = "PUT", .path = task_path, .token = f->token,
                                              .content_type = "application/json",
                                              .body = "{\"title\":");
    g_autoptr(TestResponse) invalid = REQUEST (f, .method = "PATCH", .path = task_path,
                                               .token = f->token, .content_type = "application/json",
                                               .body = "{\"title\":\"\xff\"}");

    assert_problem (broken, 400);
    assert_problem (invalid, 400);
  }

  /* Nothing of it was written, and the server is fine. */
  g_assert_cmpuint (count_changes (f, f->token), ==, 0);
  {
    g_autoptr(TestResponse) health = REQUEST (f, .method = "GET", .path = "/v1/health");

    g_assert_cmpuint (health->status, ==, 200);
  }
}

static void
test_media_type (Fixture       *f,
                 gconstpointer  data)
{
  static const char *const refused[] = {
    "text/plain", "application/x-www-form-urlencoded", "application/xml",
    "multipart/form-data; boundary=x", "application/json; charset=utf-16",
  };
  static const char *const accepted[] = {
    "application/json", "application/json; charset=utf-8", "Application/JSON",
  };
  guint n_pushed = 0;

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autofree char *body = push_body (1);
      g_autoptr(TestResponse) response = REQUEST (f, .method = "POST", .path = "/v1/sync/push",
                                                  .token = f->token, .content_type = refused[i],
                                                  .body = body);

      g_test_message ("Content-Type: %s", refused[i]);
      assert_problem (response, 415);
    }
  g_assert_cmpuint (count_changes (f, f->token), ==, 0);

  for (guint i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      g_autofree char *body = push_body (1);
      g_autoptr(TestResponse) response = REQUEST (f, .method = "POST", .path = "/v1/sync/push",
                                                  .token = f->token, .content_type = accepted[i],
                                                  .body = body);

      g_test_message ("Content-Type: %s", accepted[i]);
      g_assert_cmpuint (response->status, ==, 200);
      n_pushed++;
    }

  /* Lenient by design: no Content-Type at all is taken as JSON. */
  {
    g_autofree char *body = push_body (1);
    g_autoptr(TestResponse) response = REQUEST (f, .method = "POST", .path = "/v1/sync/push",
                                                .token = f->token, .body = body);

    g_assert_cmpuint (response->status, ==, 200);
    n_pushed++;
  }

  g_assert_cmpuint (count_changes (f, f->token), ==, n_pushed);
}

/* Limits */

/* Sends only the headers of a request announcing a huge body, on a plain
 * socket, and returns the first line of the answer: the server must answer
 * without waiting for a body that never comes. */
static char *
announce_huge_body (Fixture    *f,
                    const char *token,
                    const char *extra_header)
{
  g_autoptr(GUri) uri = g_uri_parse (f->server->url, G_URI_FLAGS_NONE, NULL);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *head = NULL;
  g_autoptr(GDataInputStream) in = NULL;
  g_autoptr(GString) rest = g_string_new (NULL);
  char *first_line;
  char buffer[4096];
  gssize n;

  connection = g_socket_client_connect_to_host (client, g_uri_get_host (uri), g_uri_get_port (uri),
                                                NULL, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (connection), 10);

  head = g_strdup_printf ("POST /v1/sync/push HTTP/1.1\r\n"
                          "Host: %s\r\n"
                          "Authorization: Bearer %s\r\n"
                          "Content-Type: application/json\r\n"
                          "Content-Length: 100000000000\r\n"
                          "%s"
                          "\r\n",
                          g_uri_get_host (uri), token, extra_header);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                             head, strlen (head), NULL, NULL, &error);
  g_assert_no_error (error);

  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  first_line = g_data_input_stream_read_line_utf8 (in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (first_line);

  /* Then the server hangs up rather than wait for 100 GB, at once for a
   * client that says it is done sending. */
  g_socket_shutdown (g_socket_connection_get_socket (connection), FALSE, TRUE, &error);
  g_assert_no_error (error);
  while ((n = g_input_stream_read (G_INPUT_STREAM (in), buffer, sizeof buffer, NULL, &error)) > 0)
    g_string_append_len (rest, buffer, n);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (rest->str, "application/problem+json"));

  return g_strstrip (first_line);
}

static void
test_max_body (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *small = push_body (1);
  g_autofree char *large = push_body (20);          /* ~4 KB against --max-body 2048 */
  g_autoptr(GString) huge = g_string_new (NULL);
  g_autofree char *status_line = NULL;
  g_autofree char *status_line_expect = NULL;

  g_assert_cmpuint (strlen (small), <, 2048);
  g_assert_cmpuint (strlen (large), >, 2048);

  {
    g_autoptr(TestResponse) response = REQUEST (f, .method = "POST", .path = "/v1/sync/push",
                                                .token = f->token, .content_type = "application/json",
                                                .body = large);

    assert_problem (response, 413);
  }

  /* Without a Content-Length the bytes are counted as they come. */
  {
    g_autoptr(TestResponse) response = REQUEST (f, .method = "POST", .path = "/v1/sync/push",
                                                .token = f->token, .content_type = "application/json",
                                                .body = large, .chunked = TRUE);

    assert_problem (response, 413);
  }

  /* A client that asks first never has to send the body. */
  {
    g_autoptr(TestResponse) response = REQUEST (f, .method = "POST", .path = "/v1/sync/push",
                                                .token = f->token, .content_type = "application/json",
                                                .body = large, .expect_continue = TRUE);

    assert_problem (response, 413);
  }

  /* A client that sends a big body anyway still reads the answer. */
  while (huge->len < 3 * 1024 * 1024)
    g_string_append (huge, large);
  {
    g_autoptr(TestResponse) response = REQUEST (f, .method = "POST", .path = "/v1/sync/push",
                                                .token = f->token, .content_type = "application/json",
                                                .body = huge->str);

    assert_problem (response, 413);
  }

  /* The Content-Length alone is enough to refuse. */
  status_line = announce_huge_body (f, f->token, "");
  g_assert_cmpstr (status_line, ==, "HTTP/1.1 413 Request Entity Too Large");
  status_line_expect = announce_huge_body (f, f->token, "Expect: 100-continue\r\n");
  g_assert_cmpstr (status_line_expect, ==, "HTTP/1.1 413 Request Entity Too Large");

  /* Within the limit all is well, and nothing refused was written. */
  {
    g_autoptr(TestResponse) response = REQUEST (f, .method = "POST", .path = "/v1/sync/push",
                                                .token = f->token, .content_type = "application/json",
                                                .body = small, .chunked = TRUE);

    g_assert_cmpuint (response->status, ==, 200);
  }
  g_assert_cmpuint (count_changes (f, f->token), ==, 1);
}

static void
test_too_many_ops (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *body = push_body (1001);
  g_autoptr(TestResponse) response = NULL;

  g_assert_cmpuint (strlen (body), <, DEFAULT_MAX_BODY);
  response = REQUEST (f, .method = "POST", .path = "/v1/sync/push", .token = f->token,
                      .content_type = "application/json", .body = body);
  assert_problem (response, 413);
  g_assert_cmpuint (count_changes (f, f->token), ==, 0);
}

static void
test_rate_limit (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *other = test_server_token (f->server, "bob");
  g_autoptr(TestResponse) limited = NULL;
  g_autoptr(TestResponse) other_user = NULL;
  const char *retry_after;
  guint64 seconds = 0;

  /* --rate-limit 5: a burst of five, then one request every 12 s. */
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(TestResponse) response = REQUEST (f, .method = "GET", .path = "/v1/sync/changes",
                                                  .token = f->token);

      g_assert_cmpuint (response->status, ==, 200);
    }

  limited = REQUEST (f, .method = "GET", .path = "/v1/sync/changes", .token = f->token);
  assert_problem (limited, 429);
  retry_after = soup_message_headers_get_one (limited->headers, "Retry-After");
  g_assert_nonnull (retry_after);
  g_assert_true (g_ascii_string_to_unsigned (retry_after, 10, 1, 60, &seconds, NULL));

  /* Every route that needs a token counts, even an unknown id. */
  {
    g_autoptr(TestResponse) response = REQUEST (f, .method = "GET",
                                                .path = "/v1/tasks/0b5a0a4e-4f4e-4c1e-9d5e-2f1a7c3b9e10",
                                                .token = f->token);

    assert_problem (response, 429);
  }

  /* Per token: another user is not slowed down; health is never limited. */
  other_user = REQUEST (f, .method = "GET", .path = "/v1/sync/changes", .token = other);
  g_assert_cmpuint (other_user->status, ==, 200);
  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(TestResponse) health = REQUEST (f, .method = "GET", .path = "/v1/health");

      g_assert_cmpuint (health->status, ==, 200);
    }
}

/* Logging */

static void
test_log_lines (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *task_id = g_uuid_string_random ();
  g_autofree char *task_path = g_strconcat ("/v1/tasks/", task_id, NULL);
  g_autofree char *history_path = g_strconcat (task_path, "/history", NULL);
  g_autofree char *push = push_body (1);
  g_autofree char *log = NULL;
  g_autoptr(GRegex) line = NULL;
  g_auto(GStrv) lines = NULL;
  guint n_requests = 0;

  {
    g_autoptr(TestResponse) health = REQUEST (f, .method = "GET", .path = "/v1/health");
    g_autoptr(TestResponse) a = REQUEST (f, .method = "GET", .path = "/v1/sync/changes");
    g_autoptr(TestResponse) b = REQUEST (f, .method = "GET", .path = "/v1/sync/changes",
                                         .token = "tdm_wrong");
    g_autoptr(TestResponse) c = REQUEST (f, .method = "POST", .path = "/v1/sync/push",
                                         .token = f->token, .content_type = "application/json",
                                         .body = push);
    g_autoptr(TestResponse) d = REQUEST (f, .method = "GET", .path = task_path, .token = f->token);
    g_autoptr(TestResponse) e = REQUEST (f, .method = "GET", .path = history_path, .token = f->token);
    g_autoptr(TestResponse) g = REQUEST (f, .method = "GET", .path = "/v1/secret-place");

    g_assert_cmpuint (d->status, ==, 404);
  }

  log = wait_for_log (f, " - 404 ");

  /* METHOD ROUTE STATUS DURATIONms user=ID, with ids replaced by the pattern. */
  g_assert_true (g_regex_match_simple ("GET /v1/health 200 [0-9]+\\.[0-9]ms user=-$", log,
                                       G_REGEX_MULTILINE, 0));
  g_assert_true (g_regex_match_simple ("GET /v1/sync/changes 401 [0-9]+\\.[0-9]ms user=-$", log,
                                       G_REGEX_MULTILINE, 0));
  g_assert_true (g_regex_match_simple ("POST /v1/sync/push 200 [0-9]+\\.[0-9]ms user=[0-9]+$", log,
                                       G_REGEX_MULTILINE, 0));
  g_assert_true (g_regex_match_simple ("GET /v1/tasks/\\{id\\} 404 [0-9]+\\.[0-9]ms user=[0-9]+$", log,
                                       G_REGEX_MULTILINE, 0));
  g_assert_true (g_regex_match_simple ("GET /v1/tasks/\\{id\\}/history [0-9]{3} [0-9]+\\.[0-9]ms user=[0-9]+$",
                                       log, G_REGEX_MULTILINE, 0));

  /* Never a token, an id or a path nobody routed. */
  g_assert_null (strstr (log, f->token));
  g_assert_null (strstr (log, "tdm_wrong"));
  g_assert_null (strstr (log, task_id));
  g_assert_null (strstr (log, "secret-place"));

  /* One line per request. */
  line = g_regex_new ("^.*(GET|POST) \\S+ [0-9]{3} [0-9]+\\.[0-9]ms user=\\S+$", G_REGEX_MULTILINE, 0, NULL);
  lines = g_strsplit (log, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_regex_match (line, lines[i], 0, NULL))
      n_requests++;
  g_assert_cmpuint (n_requests, ==, 7);
}

/* Shutdown and the command line */

static void
wait_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  *done = TRUE;
}

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_sigterm (void)
{
  g_autofree char *data_dir = g_dir_make_tmp ("tandem-server-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (data_dir, "tandem-server.db", NULL);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  char rest[256];
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autofree char *url = NULL;
  gboolean done = FALSE;
  gboolean timed_out = FALSE;
  gsize rest_length = 0;
  guint timeout_id;
  gint64 start;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                              &error, server_binary (), "serve", "--data", data_dir,
                              "--listen", "127.0.0.1:0", NULL);
  g_assert_no_error (error);

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "listening on http://127.0.0.1:"));

  url = g_strconcat (line + strlen ("listening on "), "/v1/health", NULL);
  message = soup_message_new ("GET", url);
  reply = soup_session_send_and_read (session, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (message), ==, 200);

  start = g_get_monotonic_time ();
  g_subprocess_send_signal (process, SIGTERM);
  g_subprocess_wait_async (process, NULL, wait_cb, &done);
  timeout_id = g_timeout_add_seconds (5, timeout_cb, &timed_out);
  while (!done && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!done)
    {
      g_subprocess_force_exit (process);
      g_error ("tandem-server did not stop within 5 s of SIGTERM");
    }
  g_source_remove (timeout_id);

  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);

  /* stdout carried the one line and nothing else. */
  g_input_stream_read_all (G_INPUT_STREAM (out), rest, sizeof rest, &rest_length, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rest_length, ==, 0);

  g_assert_true (g_file_test (db, G_FILE_TEST_EXISTS));
  {
    g_autoptr(GDir) dir = g_dir_open (data_dir, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *path = g_build_filename (data_dir, name, NULL);

        g_unlink (path);
      }
    g_rmdir (data_dir);
  }
}

static void
run_server (const char *const *argv,
            Run                *run)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();

  g_ptr_array_add (args, (char *) server_binary ());
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (char *) argv[i]);
  g_ptr_array_add (args, NULL);

  run_spawn (NULL, (const char *const *) args->pdata, run);
  g_assert_cmpint (run->status, >=, 0);   /* it exited, no signal ended it */
}

#define RUN(run, ...) run_server ((const char *const[]) { __VA_ARGS__, NULL }, (run))

static void
assert_one_line (const char *text)
{
  const char *newline = strchr (text, '\n');

  g_assert_nonnull (newline);
  g_assert_cmpstr (newline + 1, ==, "");
}

/* Exit status @status, nothing on stdout, one line on stderr. */
static void
assert_fails (Run *run,
              int  status)
{
  g_assert_cmpint (run->status, ==, status);
  g_assert_cmpstr (run->out, ==, "");
  g_assert_true (g_str_has_prefix (run->err, "tandem-server: "));
  assert_one_line (run->err);
}

static void
test_command_line (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *version = NULL;
  g_autofree char *port = NULL;
  g_autofree char *missing_dir = g_build_filename (f->server->data_dir, "file", "dir", NULL);
  g_autofree char *file = g_build_filename (f->server->data_dir, "file", NULL);

  {
    g_auto(Run) run = { 0 };

    RUN (&run, "--version");
    g_assert_cmpint (run.status, ==, 0);
    version = g_strdup_printf ("tandem-server %s\n", PACKAGE_VERSION);
    g_assert_cmpstr (run.out, ==, version);
  }
  {
    g_auto(Run) run = { 0 };

    RUN (&run, "--help");
    g_assert_cmpint (run.status, ==, 0);
    g_assert_nonnull (strstr (run.out, "serve --data DIR --listen HOST:PORT"));
    g_assert_nonnull (strstr (run.out, "token create --data DIR --user NAME"));
  }
  {
    g_auto(Run) run = { 0 };

    RUN (&run, "serve", "--help");
    g_assert_cmpint (run.status, ==, 0);
    g_assert_nonnull (strstr (run.out, "--max-body"));
  }

  /* Usage errors: 2, and one clear line. */
  {
    static const char *const usage_errors[][8] = {
      { NULL },
      { "frobnicate", NULL },
      { "--frobnicate", NULL },
      { "serve", "--data", "/tmp", "--listen", "127.0.0.1:0", "--frobnicate", NULL },
      { "serve", "--listen", "127.0.0.1:0", NULL },
      { "serve", "--data", "/tmp", NULL },
      { "serve", "--data", "/tmp", "--listen", "127.0.0.1", NULL },
      { "serve", "--data", "/tmp", "--listen", "127.0.0.1:65536", NULL },
      { "serve", "--data", "/tmp", "--listen", "example.org:80", NULL },
      { "serve", "--data", "/tmp", "--listen", "::1:80", NULL },
      { "serve", "--data", "/tmp", "--listen", "127.0.0.1:0", "--max-body", "-1", NULL },
      { "serve", "--data", "/tmp", "--listen", "127.0.0.1:0", "--max-body", "0", NULL },
      { "serve", "--data", "/tmp", "--listen", "127.0.0.1:0", "--rate-limit", "ten", NULL },
      { "serve", "--data", "/tmp", "--listen", "127.0.0.1:0", "--retention-days", "1.5", NULL },
      { "serve", "--data", "/tmp", "--listen", "127.0.0.1:0", "--tls-cert", "/tmp/c.pem", NULL },
      { "serve", "--data", "/tmp", "--listen", "127.0.0.1:0", "extra", NULL },
      { "token", NULL },
      { "token", "mint", NULL },
      { "token", "create", "--data", "/tmp", NULL },
      { "token", "create", "--user", "alice", NULL },
      { "token", "revoke", "--data", "/tmp", NULL },
    };

    for (guint i = 0; i < G_N_ELEMENTS (usage_errors); i++)
      {
        g_auto(Run) run = { 0 };
        g_autofree char *shown = g_strjoinv (" ", (char **) usage_errors[i]);

        g_test_message ("tandem-server %s", shown);
        run_server (usage_errors[i], &run);
        assert_fails (&run, 2);
      }
  }

  /* Runtime failures: 1. */
  port = g_strdup (strrchr (f->server->url, ':') + 1);
  {
    g_auto(Run) run = { 0 };
    g_autofree char *listen = g_strconcat ("127.0.0.1:", port, NULL);
    g_autofree char *other_dir = g_build_filename (f->server->data_dir, "other", NULL);

    RUN (&run, "serve", "--data", other_dir, "--listen", listen);
    assert_fails (&run, 1);
    g_assert_nonnull (strstr (run.err, listen));
  }
  {
    g_auto(Run) run = { 0 };

    g_assert_true (g_file_set_contents (file, "not a directory", -1, NULL));
    RUN (&run, "serve", "--data", missing_dir, "--listen", "127.0.0.1:0");
    assert_fails (&run, 1);
  }
  {
    g_auto(Run) run = { 0 };

    RUN (&run, "serve", "--data", f->server->data_dir, "--listen", "127.0.0.1:0",
         "--tls-cert", file, "--tls-key", file);
    assert_fails (&run, 1);
  }
  {
    g_auto(Run) run = { 0 };

    RUN (&run, "token", "revoke", "--data", f->server->data_dir, "--token", "tdm_never-issued");
    assert_fails (&run, 1);
  }
  g_unlink (file);

  /* token create: one line, a fresh token each time. */
  {
    g_auto(Run) first = { 0 };
    g_auto(Run) second = { 0 };

    RUN (&first, "token", "create", "--data", f->server->data_dir, "--user", "carol");
    RUN (&second, "token", "create", "--data", f->server->data_dir, "--user", "carol");
    g_assert_cmpint (first.status, ==, 0);
    g_assert_cmpint (second.status, ==, 0);
    assert_one_line (first.out);
    g_assert_cmpstr (first.err, ==, "");
    g_assert_cmpstr (first.out, !=, second.out);
  }
}

/* TLS */

static void
test_tls (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tandem-tls-XXXXXX", NULL);
  g_autofree char *cert = g_build_filename (dir, "cert.pem", NULL);
  g_autofree char *key = g_build_filename (dir, "key.pem", NULL);
  g_autoptr(GSubprocess) openssl = NULL;
  g_autoptr(GError) error = NULL;
  Fixture fixture = { 0 };
  Fixture *f = &fixture;
  const char *args[] = { "--tls-cert", cert, "--tls-key", key, NULL };

  openssl = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                              &error, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                              "-subj", "/CN=127.0.0.1", "-days", "1", "-keyout", key, "-out", cert,
                              NULL);
  g_assert_no_error (error);
  g_subprocess_wait_check (openssl, NULL, &error);
  g_assert_no_error (error);

  fixture_setup (f, args);
  g_assert_true (g_str_has_prefix (f->server->url, "https://127.0.0.1:"));

  {
    g_autoptr(TestResponse) health = REQUEST (f, .method = "GET", .path = "/v1/health",
                                              .accept_certificate = TRUE);
    g_autoptr(TestResponse) changes = REQUEST (f, .method = "GET", .path = "/v1/sync/changes",
                                               .token = f->token, .accept_certificate = TRUE);
    g_autoptr(TestResponse) refused = REQUEST (f, .method = "GET", .path = "/v1/sync/changes",
                                               .accept_certificate = TRUE);
    g_autoptr(TestResponse) too_large = NULL;
    g_autoptr(GString) huge = g_string_new (NULL);

    g_assert_cmpuint (health->status, ==, 200);
    g_assert_cmpuint (f->n_certificates_accepted, >=, 1);
    g_assert_cmpuint (changes->status, ==, 200);
    assert_unauthorized (refused);

    /* The early refusal works over TLS too. */
    while (huge->len <= DEFAULT_MAX_BODY)
      g_string_append (huge, "[1,2,3,4,5,6,7,8,9,10],");
    too_large = REQUEST (f, .method = "POST", .path = "/v1/sync/push", .token = f->token,
                         .content_type = "application/json", .body = huge->str,
                         .accept_certificate = TRUE);
    assert_problem (too_large, 413);
  }

  /* A client that does not trust the certificate gets no answer (on a
   * new connection: the session's open one was accepted above)... */
  g_object_unref (f->session);
  f->session = soup_session_new_with_options ("timeout", 20, NULL);
  {
    g_autoptr(TestResponse) response = send_request (f, &(const Request) { .method = "GET",
                                                                           .path = "/v1/health" },
                                                     &error);

    g_assert_null (response);
    g_assert_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
    g_clear_error (&error);
  }

  /* ...and neither does one that speaks plain HTTP to it. */
  {
    g_autofree char *https_url = g_strdup (f->server->url);
    g_autoptr(TestResponse) response = NULL;

    g_free (f->server->url);
    f->server->url = g_strconcat ("http://", https_url + strlen ("https://"), NULL);
    response = send_request (f, &(const Request) { .method = "GET", .path = "/v1/health" }, &error);
    g_assert_null (response);
    g_assert_nonnull (error);
    g_clear_error (&error);
  }

  fixture_teardown (f, NULL);
  g_unlink (cert);
  g_unlink (key);
  g_rmdir (dir);
}

/* A push and the change feed, end to end through HTTP. */
static void
test_push_and_changes (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *task_id = g_uuid_string_random ();
  g_autofree char *op = create_op (task_id, "Call the plumber");
  g_autofree char *body = g_strdup_printf ("{\"device_id\":\"dev-a\",\"ops\":[%s]}", op);
  g_autofree char *task_path = g_strconcat ("/v1/tasks/", task_id, NULL);
  g_autoptr(TestResponse) push = NULL;
  g_autoptr(TestResponse) changes = NULL;
  g_autoptr(TestResponse) task = NULL;
  JsonArray *results;
  JsonArray *records;
  JsonObject *record;

  push = REQUEST (f, .method = "POST", .path = "/v1/sync/push", .token = f->token,
                  .content_type = "application/json", .body = body);
  g_assert_cmpuint (push->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_content_type (push->headers, NULL), ==, "application/json");
  results = json_object_get_array_member (json_node_get_object (push->json), "results");
  g_assert_cmpuint (json_array_get_length (results), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (results, 0), "type"),
                   ==, "applied");

  changes = REQUEST (f, .method = "GET", .path = "/v1/sync/changes?limit=10", .token = f->token);
  g_assert_cmpuint (changes->status, ==, 200);
  records = json_object_get_array_member (json_node_get_object (changes->json), "changes");
  g_assert_cmpuint (json_array_get_length (records), ==, 1);
  record = json_array_get_object_element (records, 0);
  g_assert_cmpstr (json_object_get_string_member (record, "id"), ==, task_id);
  g_assert_cmpstr (json_object_get_string_member (record, "title"), ==, "Call the plumber");
  g_assert_nonnull (json_object_get_string_member (json_node_get_object (changes->json), "cursor"));

  task = REQUEST (f, .method = "GET", .path = task_path, .token = f->token);
  g_assert_cmpuint (task->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (task->headers, "ETag"), ==, "\"1\"");
}

int
main (int    argc,
      char **argv)
{
  static const char *small_body[] = { "--max-body", "2048", NULL };
  static const char *rate_limited[] = { "--rate-limit", "5", NULL };

  g_test_init (&argc, &argv, NULL);

#define ADD(name, args, func) \
  g_test_add (name, Fixture, args, fixture_setup, func, fixture_teardown)

  ADD ("/server/health", NULL, test_health);
  ADD ("/server/unknown-route", NULL, test_unknown_route);
  ADD ("/server/wrong-method", NULL, test_wrong_method);
  ADD ("/server/auth", NULL, test_auth);
  ADD ("/server/bad-json", NULL, test_bad_json);
  ADD ("/server/media-type", NULL, test_media_type);
  ADD ("/server/max-body", small_body, test_max_body);
  ADD ("/server/too-many-ops", NULL, test_too_many_ops);
  ADD ("/server/rate-limit", rate_limited, test_rate_limit);
  ADD ("/server/log-lines", NULL, test_log_lines);
  ADD ("/server/push-and-changes", NULL, test_push_and_changes);
  ADD ("/server/command-line", NULL, test_command_line);
  g_test_add_func ("/server/sigterm", test_sigterm);
  g_test_add_func ("/server/tls", test_tls);

  return g_test_run ();
}
