/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-server"

#include "config.h"

#include "tandem-http.h"

#include <libsoup/soup.h>
#include <string.h>

/* How a request goes through TandemHttp:
 *
 * 1. "request-started": a Request is attached to the message for the log line.
 * 2. The early handler runs as soon as the headers are in, before any of the
 *    body is read: route (404), method (405), bearer token (401), rate limit
 *    (429), media type (415) and Content-Length (413). A refused request
 *    never has its body stored, and usually not even read (see
 *    reject_early()).
 * 3. A chunked body has no length up front: its bytes are counted as they
 *    arrive and the request is refused the moment it passes the limit.
 * 4. The handler parses the JSON (400) and hands it to TandemService,
 *    whose reply becomes the response.
 * 5. "request-finished" logs one line: method, route pattern (never an id),
 *    status, duration and user id (never the token). */

/* After refusing a request whose body is on its way, the connection is
 * drained (read and thrown away) so the client gets to read the answer
 * instead of a reset, but not forever. */
#define DRAIN_MAX_BYTES    (64 * 1024 * 1024)
#define DRAIN_IDLE_SECONDS 5

typedef enum
{
  ROUTE_HEALTH,
  ROUTE_PUSH,
  ROUTE_CHANGES,
  ROUTE_TASK,
  ROUTE_TASK_HISTORY,
  ROUTE_LIST,
} RouteKind;

typedef struct
{
  RouteKind   kind;
  const char *pattern;          /* as logged */
  const char *methods[6];
  gboolean    needs_auth;
} Route;

static const Route routes[] = {
  { ROUTE_HEALTH, "/v1/health", { "GET", "HEAD", NULL }, FALSE },
  { ROUTE_PUSH, "/v1/sync/push", { "POST", NULL }, TRUE },
  { ROUTE_CHANGES, "/v1/sync/changes", { "GET", "HEAD", NULL }, TRUE },
  { ROUTE_TASK, "/v1/tasks/{id}", { "GET", "HEAD", "PUT", "PATCH", "DELETE", NULL }, TRUE },
  { ROUTE_TASK_HISTORY, "/v1/tasks/{id}/history", { "GET", "HEAD", NULL }, TRUE },
  { ROUTE_LIST, "/v1/lists/{id}", { "GET", "HEAD", "PUT", "PATCH", "DELETE", NULL }, TRUE },
};

/* What we know about one request; attached to its SoupServerMessage. */
typedef struct
{
  gint64       started;   /* monotonic, µs */
  const Route *route;     /* NULL until routed, or for an unknown route */
  char        *id;        /* the {id} of the route */
  gboolean     authenticated;
  gint64       user_id;
  guint64      received;  /* body bytes of a chunked request so far */
  gboolean     active;    /* counted in TandemHttp.n_active */
} Request;

typedef struct
{
  TandemHttp   *self;       /* unowned; NULL once self is disposed */
  GIOStream    *stream;
  GCancellable *cancellable;
  GBytes       *response;
  guint64       left;       /* body bytes still announced, G_MAXUINT64 when unknown */
  guint64       drained;
  guint         idle_id;
} Drain;

struct _TandemHttp
{
  GObject        parent_instance;

  TandemService *service;
  guint64        max_body;
  guint          rate_limit;

  SoupServer    *server;
  char          *url;

  GPtrArray     *drains;    /* Drain */

  guint          n_active;  /* requests whose headers are in and whose answer is not sent */
  gboolean       stopping;  /* no longer listening: answers close their connections */
};

G_DEFINE_FINAL_TYPE (TandemHttp, tandem_http, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_SERVICE,
  PROP_MAX_BODY,
  PROP_RATE_LIMIT,
  PROP_URL,
  PROP_N_ACTIVE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

#define STATUS_PRECONDITION_REQUIRED 428   /* RFC 6585; libsoup 3.2 has no name for them */
#define STATUS_TOO_MANY_REQUESTS     429

static GQuark request_quark (void);
G_DEFINE_QUARK (tandem-http-request, request)

static const char *
status_phrase (guint status)
{
  switch (status)
    {
    case STATUS_PRECONDITION_REQUIRED:
      return "Precondition Required";
    case STATUS_TOO_MANY_REQUESTS:
      return "Too Many Requests";
    default:
      return soup_status_get_phrase (status);
    }
}

/* Requests */

static void
request_free (Request *request)
{
  g_free (request->id);
  g_free (request);
}

static Request *
request_get (SoupServerMessage *msg)
{
  Request *request = g_object_get_qdata (G_OBJECT (msg), request_quark ());

  if (request == NULL)
    {
      request = g_new0 (Request, 1);
      request->started = g_get_monotonic_time ();
      g_object_set_qdata_full (G_OBJECT (msg), request_quark (), request,
                               (GDestroyNotify) request_free);
    }
  return request;
}

static void
log_request (SoupServerMessage *msg,
             guint              status,
             const char        *note)
{
  Request *request = request_get (msg);
  const char *method = soup_server_message_get_method (msg);
  double ms = (g_get_monotonic_time () - request->started) / 1000.0;
  char user[32] = "-";

  if (request->authenticated)
    g_snprintf (user, sizeof user, "%" G_GINT64_FORMAT, request->user_id);

  g_message ("%s %s %u %.1fms user=%s%s%s",
             method != NULL ? method : "-",
             request->route != NULL ? request->route->pattern : "-",
             status, ms, user,
             note != NULL ? " " : "", note != NULL ? note : "");
}

/* A request is active from its headers to its answer (or its end): what a
 * graceful stop waits for. A connection kept alive between requests is not. */
static void
request_set_active (TandemHttp        *self,
                    SoupServerMessage *msg,
                    gboolean           active)
{
  Request *request = request_get (msg);

  if (request->active == active)
    return;
  request->active = active;
  if (active)
    self->n_active++;
  else
    self->n_active--;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ACTIVE]);
}

/* While stopping, every answer closes its connection. */
static void
close_if_stopping (TandemHttp        *self,
                   SoupServerMessage *msg)
{
  if (self->stopping)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                  "Connection", "close");
}

static const Route *
match_route (const char  *path,
             char       **id)
{
  g_auto(GStrv) parts = NULL;
  guint n_parts;

  if (!g_str_has_prefix (path, "/v1/"))
    return NULL;

  parts = g_strsplit (path + strlen ("/v1/"), "/", 4);
  n_parts = g_strv_length (parts);

  if (n_parts == 1 && g_str_equal (parts[0], "health"))
    return &routes[ROUTE_HEALTH];

  if (n_parts == 2 && g_str_equal (parts[0], "sync"))
    {
      if (g_str_equal (parts[1], "push"))
        return &routes[ROUTE_PUSH];
      if (g_str_equal (parts[1], "changes"))
        return &routes[ROUTE_CHANGES];
      return NULL;
    }

  if ((n_parts == 2 || n_parts == 3) && parts[1][0] != '\0')
    {
      const Route *route = NULL;

      if (n_parts == 2 && g_str_equal (parts[0], "tasks"))
        route = &routes[ROUTE_TASK];
      else if (n_parts == 2 && g_str_equal (parts[0], "lists"))
        route = &routes[ROUTE_LIST];
      else if (n_parts == 3 && g_str_equal (parts[0], "tasks") && g_str_equal (parts[2], "history"))
        route = &routes[ROUTE_TASK_HISTORY];

      if (route != NULL)
        *id = g_strdup (parts[1]);
      return route;
    }

  return NULL;
}

static gboolean
route_allows (const Route *route,
              const char  *method)
{
  return method != NULL && g_strv_contains (route->methods, method);
}

static gboolean
request_takes_body (const char  *method,
                    const Route *route)
{
  switch (route->kind)
    {
    case ROUTE_PUSH:
      return TRUE;
    case ROUTE_TASK:
    case ROUTE_LIST:
      return g_str_equal (method, "PUT") || g_str_equal (method, "PATCH");
    case ROUTE_HEALTH:
    case ROUTE_CHANGES:
    case ROUTE_TASK_HISTORY:
    default:
      return FALSE;
    }
}

/* Whether a request body follows the headers. */
static gboolean
request_has_body (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  switch (soup_message_headers_get_encoding (headers))
    {
    case SOUP_ENCODING_CONTENT_LENGTH:
      return soup_message_headers_get_content_length (headers) > 0;
    case SOUP_ENCODING_CHUNKED:
    case SOUP_ENCODING_EOF:
      return TRUE;
    case SOUP_ENCODING_NONE:
    case SOUP_ENCODING_UNRECOGNIZED:
    case SOUP_ENCODING_BYTERANGES:
    default:
      return FALSE;
    }
}

/* The token of "Authorization: Bearer TOKEN" (RFC 6750), or NULL. */
static char *
bearer_token (SoupMessageHeaders *headers)
{
  const char *value = soup_message_headers_get_one (headers, "Authorization");
  g_autofree char *token = NULL;

  if (value == NULL || g_ascii_strncasecmp (value, "Bearer ", strlen ("Bearer ")) != 0)
    return NULL;

  token = g_strstrip (g_strdup (value + strlen ("Bearer ")));
  if (*token == '\0')
    return NULL;
  return g_steal_pointer (&token);
}

/* Missing Content-Type is accepted: the body is parsed as JSON whatever it
 * claims to be, and hand-written requests (curl --data-binary) often omit
 * it. What is refused is a body that says it is something else, such as
 * the form data "curl -d" sends by default, or JSON in another charset. */
static gboolean
content_type_acceptable (SoupMessageHeaders  *headers,
                         char               **detail)
{
  g_autoptr(GHashTable) params = NULL;
  const char *type = soup_message_headers_get_content_type (headers, &params);
  const char *charset;

  if (soup_message_headers_get_one (headers, "Content-Type") == NULL)
    return TRUE;

  if (type == NULL || g_ascii_strcasecmp (type, "application/json") != 0)
    {
      *detail = g_strdup_printf ("the request body must be application/json, not “%s”",
                                 soup_message_headers_get_one (headers, "Content-Type"));
      return FALSE;
    }

  charset = params != NULL ? g_hash_table_lookup (params, "charset") : NULL;
  if (charset != NULL && g_ascii_strcasecmp (charset, "utf-8") != 0)
    {
      *detail = g_strdup_printf ("the request body must be UTF-8, not %s", charset);
      return FALSE;
    }

  return TRUE;
}

/* Rate limiting: the buckets are shared by every process (see
 * tandem_service_take_request()). */

static gboolean
rate_limit_take (TandemHttp *self,
                 const char *token,
                 guint      *retry_after)
{
  return tandem_service_take_request (self->service, token, self->rate_limit, retry_after);
}

/* Replies */

/* Turns @reply into a status, headers on @headers and a body (NULL for
 * none) of type *@content_type. */
static char *
render_reply (TandemServiceReply  *reply,
              SoupMessageHeaders  *headers,
              guint               *status_out,
              const char         **content_type_out)
{
  g_autofree char *text = NULL;
  const char *content_type = NULL;
  guint status = reply->status;

  if (status < 100 || status > 599)
    {
      g_critical ("TandemService answered with HTTP status %u", status);
      tandem_service_reply_problem (reply, SOUP_STATUS_INTERNAL_SERVER_ERROR, NULL,
                                    "the server could not answer this request");
      status = reply->status;
    }

  /* Errors are problem+json everywhere, even where the service gave none. */
  if (status >= 400 && reply->problem == NULL)
    {
      g_clear_pointer (&reply->body, json_node_unref);
      reply->problem = tandem_problem_new (NULL, status_phrase (status), status, NULL);
    }

  if (reply->problem != NULL)
    {
      g_autoptr(JsonNode) node = NULL;

      reply->problem->status = status;
      node = tandem_problem_to_json (reply->problem);
      text = tandem_json_to_string (node, FALSE);
      content_type = "application/problem+json";
    }
  else if (reply->body != NULL)
    {
      text = tandem_json_to_string (reply->body, FALSE);
      content_type = "application/json";
    }

  if (reply->etag_rev > 0)
    {
      g_autofree char *etag = g_strdup_printf ("\"%" G_GINT64_FORMAT "\"", reply->etag_rev);

      soup_message_headers_replace (headers, "ETag", etag);
    }
  if (reply->replayed)
    soup_message_headers_replace (headers, "Idempotent-Replayed", "true");
  if (reply->retry_after > 0)
    {
      char seconds[16];

      g_snprintf (seconds, sizeof seconds, "%u", reply->retry_after);
      soup_message_headers_replace (headers, "Retry-After", seconds);
    }

  *status_out = status;
  *content_type_out = content_type;
  return g_steal_pointer (&text);
}

static void
set_reply (SoupServerMessage  *msg,
           TandemServiceReply *reply)
{
  const char *content_type = NULL;
  guint status;
  g_autofree char *text = render_reply (reply, soup_server_message_get_response_headers (msg),
                                        &status, &content_type);

  soup_server_message_set_status (msg, status, status_phrase (status));
  if (text != NULL)
    {
      gsize length = strlen (text);

      soup_server_message_set_response (msg, content_type, SOUP_MEMORY_TAKE,
                                        g_steal_pointer (&text), length);
    }
  else
    soup_server_message_set_response (msg, NULL, SOUP_MEMORY_STATIC, NULL, 0);
}

/* Draining a refused connection */

static void drain_read (Drain *drain);

static void
drain_free (Drain *drain)
{
  g_clear_handle_id (&drain->idle_id, g_source_remove);
  g_clear_object (&drain->stream);
  g_clear_object (&drain->cancellable);
  g_clear_pointer (&drain->response, g_bytes_unref);
  g_free (drain);
}

static void
drain_closed_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Drain *drain = user_data;

  g_io_stream_close_finish (G_IO_STREAM (object), result, NULL);
  drain_free (drain);
}

static void
drain_finish (Drain *drain)
{
  g_clear_handle_id (&drain->idle_id, g_source_remove);
  if (drain->self != NULL)
    g_ptr_array_remove_fast (drain->self->drains, drain);
  g_io_stream_close_async (drain->stream, G_PRIORITY_DEFAULT, NULL, drain_closed_cb, drain);
}

static gboolean
drain_idle_cb (gpointer user_data)
{
  Drain *drain = user_data;

  drain->idle_id = 0;
  g_cancellable_cancel (drain->cancellable);
  return G_SOURCE_REMOVE;
}

static void
drain_read_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Drain *drain = user_data;
  g_autoptr(GBytes) bytes = NULL;
  gsize size;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, NULL);
  size = bytes != NULL ? g_bytes_get_size (bytes) : 0;
  drain->drained += size;
  drain->left = size >= drain->left ? 0 : drain->left - size;

  if (size == 0 || drain->left == 0 || drain->drained >= DRAIN_MAX_BYTES)
    {
      drain_finish (drain);
      return;
    }

  drain_read (drain);
}

static void
drain_read (Drain *drain)
{
  g_clear_handle_id (&drain->idle_id, g_source_remove);
  drain->idle_id = g_timeout_add_seconds (DRAIN_IDLE_SECONDS, drain_idle_cb, drain);
  g_input_stream_read_bytes_async (g_io_stream_get_input_stream (drain->stream), 64 * 1024,
                                   G_PRIORITY_DEFAULT, drain->cancellable, drain_read_cb, drain);
}

static void
drain_wrote_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  Drain *drain = user_data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL))
    {
      drain_finish (drain);
      return;
    }

  drain_read (drain);
}

/* Writes the response already set on @msg ourselves, on the connection
 * taken from libsoup, then drains and closes it: libsoup would read the
 * whole body before answering, which is what the limit is there to avoid. */
static void
answer_and_close (TandemHttp        *self,
                  SoupServerMessage *msg,
                  guint64            left)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_response_body (msg));
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = soup_date_time_to_string (now, SOUP_DATE_HTTP);
  guint status = soup_server_message_get_status (msg);
  GString *response = g_string_new (NULL);
  SoupMessageHeadersIter iter;
  const char *name;
  const char *value;
  gsize body_size;
  const char *body_data = g_bytes_get_data (body, &body_size);
  Drain *drain;

  soup_message_headers_replace (headers, "Date", date);
  soup_message_headers_replace (headers, "Connection", "close");
  soup_message_headers_set_content_length (headers, body_size);

  g_string_append_printf (response, "HTTP/1.%c %u %s\r\n",
                          soup_server_message_get_http_version (msg) == SOUP_HTTP_1_0 ? '0' : '1',
                          status, status_phrase (status));
  soup_message_headers_iter_init (&iter, headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    g_string_append_printf (response, "%s: %s\r\n", name, value);
  g_string_append (response, "\r\n");
  g_string_append_len (response, body_data, body_size);

  drain = g_new0 (Drain, 1);
  drain->self = self;
  drain->cancellable = g_cancellable_new ();
  drain->response = g_string_free_to_bytes (response);
  drain->left = left;
  drain->stream = soup_server_message_steal_connection (msg);
  if (drain->stream == NULL)
    {
      /* libsoup answers after all, once it has read the body. */
      drain_free (drain);
      return;
    }
  g_ptr_array_add (self->drains, drain);

  /* A stolen message never reaches "request-finished". */
  log_request (msg, status, NULL);
  request_set_active (self, msg, FALSE);

  g_output_stream_write_all_async (g_io_stream_get_output_stream (drain->stream),
                                   g_bytes_get_data (drain->response, NULL),
                                   g_bytes_get_size (drain->response),
                                   G_PRIORITY_DEFAULT, drain->cancellable,
                                   drain_wrote_cb, drain);
}

/* Answers @msg with @reply from the early handler, before the body. */
static void
reject_early (TandemHttp         *self,
              SoupServerMessage  *msg,
              TandemServiceReply *reply)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  set_reply (msg, reply);
  close_if_stopping (self, msg);

  /* Nothing follows the headers: libsoup skips the handler and answers. */
  if (!request_has_body (msg))
    return;

  /* libsoup still reads the body, but keeps none of it. */
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);

  /* With "Expect: 100-continue" the client waits for our answer before
   * sending the body, and libsoup answers without reading it. Closing
   * afterwards keeps a client that sends it anyway from having its body
   * read as the next request. */
  if (soup_message_headers_get_expectations (headers) & SOUP_EXPECTATION_CONTINUE)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Connection", "close");
      return;
    }

  /* A body within the limit is cheap to skip, and the connection stays
   * usable. A larger one, or one of unknown length, is not read at all. */
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
    {
      guint64 length = soup_message_headers_get_content_length (headers);

      if (length <= self->max_body)
        return;
      answer_and_close (self, msg, length);
    }
  else
    answer_and_close (self, msg, G_MAXUINT64);
}

static void
too_large (TandemHttp         *self,
           TandemServiceReply *reply)
{
  g_autofree char *detail = g_strdup_printf ("the request body is larger than %" G_GUINT64_FORMAT " bytes",
                                             self->max_body);

  tandem_service_reply_problem (reply, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too-large", detail);
}

static void
got_chunk_cb (SoupServerMessage *msg,
              GBytes            *chunk,
              gpointer           user_data)
{
  TandemHttp *self = user_data;
  Request *request = request_get (msg);
  g_auto(TandemServiceReply) reply = { 0 };

  if (soup_server_message_get_status (msg) != 0)
    return;

  request->received += g_bytes_get_size (chunk);
  if (request->received <= self->max_body)
    return;

  too_large (self, &reply);
  set_reply (msg, &reply);
  answer_and_close (self, msg, G_MAXUINT64);
}

/* Handlers */

/* Runs after libsoup's own header checks and our early handler: gives the
 * errors libsoup answers by itself (a ".." path, a wrong scheme) a
 * problem+json body like ours. */
static void
got_headers_cb (SoupServerMessage *msg,
                gpointer           user_data)
{
  TandemHttp *self = user_data;
  guint status = soup_server_message_get_status (msg);
  g_auto(TandemServiceReply) reply = { 0 };

  request_set_active (self, msg, TRUE);

  if (status < 400 || soup_server_message_get_response_body (msg)->length > 0)
    return;

  tandem_service_reply_problem (&reply, status, NULL, status_phrase (status));
  set_reply (msg, &reply);
}

static void
request_started_cb (SoupServer        *server,
                    SoupServerMessage *msg,
                    gpointer           user_data)
{
  request_get (msg);
  g_signal_connect_object (msg, "got-headers", G_CALLBACK (got_headers_cb), user_data, 0);
}

static void
request_finished_cb (SoupServer        *server,
                     SoupServerMessage *msg,
                     gpointer           user_data)
{
  log_request (msg, soup_server_message_get_status (msg), NULL);
  request_set_active (user_data, msg, FALSE);
}

static void
request_aborted_cb (SoupServer        *server,
                    SoupServerMessage *msg,
                    gpointer           user_data)
{
  guint status = soup_server_message_get_status (msg);

  /* libsoup reports our own 500s as aborted too. */
  log_request (msg, status, status == SOUP_STATUS_INTERNAL_SERVER_ERROR ? NULL : "aborted");
  request_set_active (user_data, msg, FALSE);
}

/* The checks made as soon as the headers are in: route (404), method
 * (405), bearer token (401; 503 when it cannot be checked), rate limit
 * (429) and, when a body follows, its media type (415). FALSE with @reply
 * (and headers such as Allow on @response_headers) for a refused request. */
static gboolean
check_request (TandemHttp         *self,
               const char         *method,
               const char         *path,
               SoupMessageHeaders *headers,
               gboolean            has_body,
               SoupMessageHeaders *response_headers,
               Request            *request,
               TandemServiceReply *reply)
{
  g_autofree char *detail = NULL;

  request->route = match_route (path, &request->id);
  if (request->route == NULL)
    {
      tandem_service_reply_problem (reply, SOUP_STATUS_NOT_FOUND, "not-found",
                                    "there is no such route in the Tandem protocol");
      return FALSE;
    }

  if (!route_allows (request->route, method))
    {
      g_autofree char *allow = g_strjoinv (", ", (char **) request->route->methods);

      soup_message_headers_replace (response_headers, "Allow", allow);
      detail = g_strdup_printf ("%s is not allowed on %s; use %s",
                                method, request->route->pattern, allow);
      tandem_service_reply_problem (reply, SOUP_STATUS_METHOD_NOT_ALLOWED, "method-not-allowed",
                                    detail);
      return FALSE;
    }

  if (request->route->needs_auth)
    {
      g_autofree char *token = bearer_token (headers);
      gint64 user_id = 0;
      guint retry_after = 0;

      g_autoptr(GError) auth_error = NULL;

      if (token != NULL && !tandem_service_authenticate (self->service, token, &user_id, &auth_error) &&
          auth_error != NULL)
        {
          /* The token could not be checked: not the client's fault. */
          tandem_service_reply_problem (reply, SOUP_STATUS_SERVICE_UNAVAILABLE, "busy",
                                        "the server could not check the token; retry shortly");
          reply->retry_after = 1;
          return FALSE;
        }
      if (token == NULL || user_id == 0)
        {
          /* RFC 6750 §3: error="invalid_token" when a token was presented. */
          soup_message_headers_replace (response_headers, "WWW-Authenticate",
                                        token == NULL
                                          ? "Bearer realm=\"tandem\""
                                          : "Bearer realm=\"tandem\", error=\"invalid_token\"");
          tandem_service_reply_problem (reply, SOUP_STATUS_UNAUTHORIZED, "unauthorized",
                                        token == NULL
                                          ? "this route needs “Authorization: Bearer TOKEN”"
                                          : "the token is unknown or revoked");
          return FALSE;
        }
      request->authenticated = TRUE;
      request->user_id = user_id;

      if (!rate_limit_take (self, token, &retry_after))
        {
          detail = g_strdup_printf ("more than %u requests per minute with this token; "
                                    "retry in %u seconds", self->rate_limit, retry_after);
          tandem_service_reply_problem (reply, STATUS_TOO_MANY_REQUESTS, "rate-limited",
                                        detail);
          reply->retry_after = retry_after;
          return FALSE;
        }
    }

  if (has_body && request_takes_body (method, request->route) &&
      !content_type_acceptable (headers, &detail))
    {
      tandem_service_reply_problem (reply, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE,
                                    "unsupported-media-type", detail);
      return FALSE;
    }

  return TRUE;
}

static void
early_handler (SoupServer        *server,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  TandemHttp *self = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response_headers = soup_server_message_get_response_headers (msg);
  const char *method = soup_server_message_get_method (msg);
  Request *request = request_get (msg);
  g_auto(TandemServiceReply) reply = { 0 };

  /* "request-started" fires while a kept-alive connection is idle. */
  request->started = g_get_monotonic_time ();

  if (!check_request (self, method, path, headers, request_has_body (msg), response_headers,
                      request, &reply))
    {
      reject_early (self, msg, &reply);
      return;
    }

  if (!request_has_body (msg))
    return;

  switch (soup_message_headers_get_encoding (headers))
    {
    case SOUP_ENCODING_CONTENT_LENGTH:
      if ((guint64) soup_message_headers_get_content_length (headers) > self->max_body)
        {
          too_large (self, &reply);
          reject_early (self, msg, &reply);
        }
      break;

    case SOUP_ENCODING_CHUNKED:
    case SOUP_ENCODING_EOF:
      g_signal_connect_object (msg, "got-chunk", G_CALLBACK (got_chunk_cb), self, 0);
      break;

    case SOUP_ENCODING_NONE:
    case SOUP_ENCODING_UNRECOGNIZED:
    case SOUP_ENCODING_BYTERANGES:
    default:
      break;
    }
}

static JsonNode *
parse_body (GBytes             *bytes,
            TandemServiceReply *reply)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  const char *data;
  gsize size;

  data = g_bytes_get_data (bytes, &size);
  if (size == 0)
    {
      tandem_service_reply_problem (reply, SOUP_STATUS_BAD_REQUEST, "malformed-json",
                                    "the request body is empty; send a JSON object");
      return NULL;
    }

  node = tandem_json_parse (data, size, &error);
  if (node == NULL)
    {
      const char *type = "malformed-json";

      if (g_error_matches (error, TANDEM_CODEC_ERROR, TANDEM_CODEC_ERROR_INVALID_UTF8))
        type = "invalid-utf8";
      else if (g_error_matches (error, TANDEM_CODEC_ERROR, TANDEM_CODEC_ERROR_TOO_DEEP))
        type = "too-deep";
      tandem_service_reply_problem (reply, SOUP_STATUS_BAD_REQUEST, type, error->message);
      return NULL;
    }

  return g_steal_pointer (&node);
}

/* Hands a checked request to TandemService. */
static void
route_request (TandemHttp         *self,
               Request            *request,
               const char         *method,
               GHashTable         *query,
               SoupMessageHeaders *headers,
               JsonNode           *body,
               TandemServiceReply *reply)
{
  TandemEntity entity = TANDEM_ENTITY_TASK;

  switch (request->route->kind)
    {
    case ROUTE_HEALTH:
      {
        JsonObject *object = json_object_new ();

        json_object_set_string_member (object, "status", "ok");
        reply->body = json_node_init_object (json_node_alloc (), object);
        reply->status = SOUP_STATUS_OK;
        json_object_unref (object);
      }
      break;

    case ROUTE_PUSH:
      tandem_service_push (self->service, request->user_id, body, reply);
      break;

    case ROUTE_CHANGES:
      tandem_service_changes (self->service, request->user_id,
                              query != NULL ? g_hash_table_lookup (query, "since") : NULL,
                              query != NULL ? g_hash_table_lookup (query, "limit") : NULL,
                              reply);
      break;

    case ROUTE_TASK_HISTORY:
      tandem_service_history (self->service, request->user_id, request->id, reply);
      break;

    case ROUTE_LIST:
      entity = TANDEM_ENTITY_LIST;
      G_GNUC_FALLTHROUGH;
    case ROUTE_TASK:
      if (g_str_equal (method, "GET") || g_str_equal (method, "HEAD"))
        tandem_service_get (self->service, request->user_id, entity, request->id, reply);
      else if (g_str_equal (method, "DELETE"))
        tandem_service_delete (self->service, request->user_id, entity, request->id,
                               soup_message_headers_get_one (headers, "If-Match"),
                               soup_message_headers_get_one (headers, "Idempotency-Key"),
                               reply);
      else
        tandem_service_put (self->service, request->user_id, entity, request->id, body,
                            soup_message_headers_get_one (headers, "If-Match"),
                            soup_message_headers_get_one (headers, "If-None-Match"),
                            soup_message_headers_get_one (headers, "Idempotency-Key"),
                            reply);
      break;

    default:
      g_assert_not_reached ();
    }
}

static void
handler (SoupServer        *server,
         SoupServerMessage *msg,
         const char        *path,
         GHashTable        *query,
         gpointer           user_data)
{
  TandemHttp *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  Request *request = request_get (msg);
  g_auto(TandemServiceReply) reply = { 0 };
  g_autoptr(JsonNode) body = NULL;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  /* The early handler routed and authenticated every request that gets here. */
  g_assert (request->route != NULL);
  g_assert (request->authenticated || !request->route->needs_auth);

  if (request_takes_body (method, request->route))
    {
      g_autoptr(GBytes) bytes = soup_message_body_flatten (soup_server_message_get_request_body (msg));

      body = parse_body (bytes, &reply);
      if (body == NULL)
        {
          set_reply (msg, &reply);
          return;
        }
    }

  route_request (self, request, method, query, headers, body, &reply);

  set_reply (msg, &reply);
  close_if_stopping (self, msg);
}

/* GObject */

static void
tandem_http_dispose (GObject *object)
{
  TandemHttp *self = (TandemHttp *)object;

  for (guint i = 0; i < self->drains->len; i++)
    {
      Drain *drain = g_ptr_array_index (self->drains, i);

      /* The drain frees itself once its pending operation is cancelled. */
      drain->self = NULL;
      g_cancellable_cancel (drain->cancellable);
    }
  g_ptr_array_set_size (self->drains, 0);

  if (self->server != NULL)
    {
      soup_server_disconnect (self->server);
      g_signal_handlers_disconnect_by_data (self->server, self);
      g_clear_object (&self->server);
    }
  g_clear_object (&self->service);

  G_OBJECT_CLASS (tandem_http_parent_class)->dispose (object);
}

static void
tandem_http_finalize (GObject *object)
{
  TandemHttp *self = (TandemHttp *)object;

  g_clear_pointer (&self->drains, g_ptr_array_unref);
  g_clear_pointer (&self->url, g_free);

  G_OBJECT_CLASS (tandem_http_parent_class)->finalize (object);
}

static void
tandem_http_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  TandemHttp *self = TANDEM_HTTP (object);

  switch (prop_id)
    {
    case PROP_SERVICE:
      g_value_set_object (value, self->service);
      break;

    case PROP_MAX_BODY:
      g_value_set_uint64 (value, self->max_body);
      break;

    case PROP_RATE_LIMIT:
      g_value_set_uint (value, self->rate_limit);
      break;

    case PROP_URL:
      g_value_set_string (value, self->url);
      break;

    case PROP_N_ACTIVE:
      g_value_set_uint (value, self->n_active);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_http_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  TandemHttp *self = TANDEM_HTTP (object);

  switch (prop_id)
    {
    case PROP_SERVICE:
      self->service = g_value_dup_object (value);
      break;

    case PROP_MAX_BODY:
      self->max_body = g_value_get_uint64 (value);
      break;

    case PROP_RATE_LIMIT:
      self->rate_limit = g_value_get_uint (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_http_class_init (TandemHttpClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tandem_http_dispose;
  object_class->finalize = tandem_http_finalize;
  object_class->get_property = tandem_http_get_property;
  object_class->set_property = tandem_http_set_property;

  properties[PROP_SERVICE] =
    g_param_spec_object ("service", NULL, NULL,
                         TANDEM_TYPE_SERVICE,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));

  properties[PROP_MAX_BODY] =
    g_param_spec_uint64 ("max-body", NULL, NULL,
                         1, G_MAXUINT64, TANDEM_HTTP_DEFAULT_MAX_BODY,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));

  properties[PROP_RATE_LIMIT] =
    g_param_spec_uint ("rate-limit", NULL, NULL,
                       0, G_MAXUINT, TANDEM_HTTP_DEFAULT_RATE_LIMIT,
                       (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                        G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));

  properties[PROP_URL] =
    g_param_spec_string ("url", NULL, NULL,
                         NULL,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));

  properties[PROP_N_ACTIVE] =
    g_param_spec_uint ("n-active", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tandem_http_init (TandemHttp *self)
{
  self->drains = g_ptr_array_new ();

  /* A trailing space makes libsoup add its own product token. */
  self->server = soup_server_new ("server-header", "tandem-server/" PACKAGE_VERSION " ", NULL);

  g_signal_connect (self->server, "request-started", G_CALLBACK (request_started_cb), self);
  g_signal_connect (self->server, "request-finished", G_CALLBACK (request_finished_cb), self);
  g_signal_connect (self->server, "request-aborted", G_CALLBACK (request_aborted_cb), self);

  /* One handler for every path, so that unknown routes answer problem+json too. */
  soup_server_add_early_handler (self->server, NULL, early_handler, self, NULL);
  soup_server_add_handler (self->server, NULL, handler, self, NULL);
}

TandemHttp *
tandem_http_new (TandemService *service,
                 guint64        max_body,
                 guint          rate_limit)
{
  g_return_val_if_fail (TANDEM_IS_SERVICE (service), NULL);
  g_return_val_if_fail (max_body > 0, NULL);

  return g_object_new (TANDEM_TYPE_HTTP,
                       "service", service,
                       "max-body", max_body,
                       "rate-limit", rate_limit,
                       NULL);
}

TandemService *
tandem_http_get_service (TandemHttp *self)
{
  g_return_val_if_fail (TANDEM_IS_HTTP (self), NULL);

  return self->service;
}

guint64
tandem_http_get_max_body (TandemHttp *self)
{
  g_return_val_if_fail (TANDEM_IS_HTTP (self), 0);

  return self->max_body;
}

guint
tandem_http_get_rate_limit (TandemHttp *self)
{
  g_return_val_if_fail (TANDEM_IS_HTTP (self), 0);

  return self->rate_limit;
}

gboolean
tandem_http_listen (TandemHttp       *self,
                    const char       *host,
                    guint             port,
                    GTlsCertificate  *tls_certificate,
                    GError          **error)
{
  SoupServerListenOptions options = 0;
  g_autoptr(GSList) listeners = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GInetAddress) address = NULL;
  gboolean ipv6 = FALSE;

  g_return_val_if_fail (TANDEM_IS_HTTP (self), FALSE);
  g_return_val_if_fail (host != NULL, FALSE);
  g_return_val_if_fail (port <= G_MAXUINT16, FALSE);
  g_return_val_if_fail (tls_certificate == NULL || G_IS_TLS_CERTIFICATE (tls_certificate), FALSE);
  g_return_val_if_fail (self->url == NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (tls_certificate != NULL)
    {
      soup_server_set_tls_certificate (self->server, tls_certificate);
      options |= SOUP_SERVER_LISTEN_HTTPS;
    }

  if (g_ascii_strcasecmp (host, "localhost") == 0)
    {
      if (!soup_server_listen_local (self->server, port, options, error))
        return FALSE;
    }
  else
    {
      g_autoptr(GSocketAddress) socket_address = NULL;

      address = g_inet_address_new_from_string (host);
      if (address == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "“%s” is not an IP address or “localhost”", host);
          return FALSE;
        }
      ipv6 = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6;
      socket_address = g_inet_socket_address_new (address, port);
      if (!soup_server_listen (self->server, socket_address, options, error))
        return FALSE;
    }

  /* With port 0 the system chose one: ask the socket. */
  listeners = soup_server_get_listeners (self->server);
  if (listeners != NULL)
    bound = g_socket_get_local_address (listeners->data, NULL);
  if (bound != NULL && G_IS_INET_SOCKET_ADDRESS (bound))
    port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  self->url = g_strdup_printf ("%s://%s%s%s:%u",
                               tls_certificate != NULL ? "https" : "http",
                               ipv6 ? "[" : "", host, ipv6 ? "]" : "",
                               port);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_URL]);
  return TRUE;
}

const char *
tandem_http_get_url (TandemHttp *self)
{
  g_return_val_if_fail (TANDEM_IS_HTTP (self), NULL);

  return self->url;
}

guint
tandem_http_get_n_active (TandemHttp *self)
{
  g_return_val_if_fail (TANDEM_IS_HTTP (self), 0);

  return self->n_active;
}

void
tandem_http_stop_listening (TandemHttp *self)
{
  g_autoptr(GSList) listeners = NULL;

  g_return_if_fail (TANDEM_IS_HTTP (self));

  if (self->stopping)
    return;
  self->stopping = TRUE;

  /* Shutting a listening socket down (rather than closing it) keeps its
   * descriptor, which libsoup still polls, until the server disconnects:
   * connection attempts are refused at once, and libsoup's accept fails
   * and stops watching it. */
  listeners = soup_server_get_listeners (self->server);
  for (GSList *l = listeners; l != NULL; l = l->next)
    {
      g_autoptr(GError) error = NULL;

      if (!g_socket_shutdown (l->data, TRUE, FALSE, &error))
        g_message ("could not stop listening: %s", error->message);
    }
}

guint
tandem_http_dispatch (TandemHttp          *self,
                      const char          *method,
                      const char          *path,
                      GHashTable          *query,
                      SoupMessageHeaders  *request_headers,
                      GBytes              *request_body,
                      SoupMessageHeaders  *response_headers,
                      GBytes             **response_body)
{
  g_auto(TandemServiceReply) reply = { 0 };
  g_autoptr(JsonNode) body = NULL;
  g_autofree char *text = NULL;
  const char *content_type = NULL;
  gsize body_size = request_body != NULL ? g_bytes_get_size (request_body) : 0;
  Request request = { 0 };
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  guint status;

  g_return_val_if_fail (TANDEM_IS_HTTP (self), 0);
  g_return_val_if_fail (method != NULL && path != NULL, 0);
  g_return_val_if_fail (request_headers != NULL && response_headers != NULL, 0);
  g_return_val_if_fail (response_body != NULL, 0);

  /* The same steps as a request on a connection: the checks on the
   * headers, the size limit, the JSON, then the route. */
  if (!check_request (self, method, path, request_headers, body_size > 0, response_headers,
                      &request, &reply))
    ;
  else if (body_size > self->max_body)
    too_large (self, &reply);
  else if (request_takes_body (method, request.route) &&
           (body = parse_body (request_body != NULL ? request_body : empty, &reply)) == NULL)
    ;
  else
    route_request (self, &request, method, query, request_headers, body, &reply);
  g_free (request.id);

  text = render_reply (&reply, response_headers, &status, &content_type);
  if (content_type != NULL)
    soup_message_headers_replace (response_headers, "Content-Type", content_type);
  if (text != NULL)
    {
      gsize length = strlen (text);

      *response_body = g_bytes_new_take (g_steal_pointer (&text), length);
    }
  else
    *response_body = g_bytes_new (NULL, 0);
  return status;
}
