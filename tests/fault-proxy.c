/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-fault-proxy"

#include "config.h"

#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* tandem-fault-proxy: an HTTP proxy in front of a tandem-server that fails
 * on purpose, for tests and simulations.
 *
 *   tandem-fault-proxy --upstream URL [--upstream URL...] [--seed N]
 *                      --listen 127.0.0.1:PORT [--verbose]
 *
 * prints "listening on URL" on stdout once it accepts connections, then
 * forwards every request to the upstream and relays its answer. With
 * several upstreams it is also a load balancer without health checks: each
 * request goes to one of them picked at random (from --seed, so a run can
 * be played again), and one that is down answers 502. Faults are
 * queued over HTTP on the proxy itself:
 *
 *   POST /__fault       {"status":500,"count":3}
 *                       {"status":429,"retry_after":2,"count":1}
 *                       {"drop_response":1,"count":2,"path":"/v1/sync/push"}
 *                       {"drop_request":1}   {"delay_ms":1500,"count":1}
 *                       {"reset":true}   (forgets faults, counters and requests)
 *   GET  /__fault       the queued faults
 *   DELETE /__fault     the same as {"reset":true}
 *   GET  /__fault/stats the counters
 *   GET  /__fault/requests  the last requests, oldest first: method, path,
 *                       query, status, what the proxy did, the upstream
 *                       (index in the order given, -1: none) and the body
 *                       (up to 1 MiB) the client sent
 *
 * A fault applies to the next @count requests (default 1; -1: until reset)
 * that match its optional "method" and "path" (a prefix of the path),
 * after letting "skip" matching requests through untouched. Faults are
 * tried in the order they were queued; the first one that matches wins.
 * With "status" the proxy answers itself and nothing reaches the upstream.
 * With "drop_request" it closes the connection without forwarding. With
 * "drop_response" it forwards, waits for the upstream's answer (so the
 * server has committed) and closes the client's connection without a byte
 * of response. "delay_ms" waits before doing any of that, or before a
 * plain forward. */

typedef struct
{
  guint     id;
  char     *method;       /* NULL: any */
  char     *path;         /* prefix, NULL: any */
  guint     skip;
  gint64    count;        /* -1: forever */
  guint     status;       /* 0: none */
  char     *retry_after;
  gboolean  drop_request;
  gboolean  drop_response;
  guint     delay_ms;
} Fault;

#define JOURNAL_MAX     256
#define JOURNAL_BODY_MAX (1024 * 1024)

typedef struct
{
  char     *method;
  char     *path;
  char     *query;
  guint     status;       /* what the upstream or the proxy answered; 0: none */
  char     *action;       /* "forwarded", "injected", "dropped_request", "dropped_response",
                           * "upstream_error" */
  GBytes   *body;         /* NULL when too large */
  int       upstream;     /* index into Proxy.upstreams, -1: not forwarded */
} JournalEntry;

typedef struct
{
  SoupServer  *server;
  SoupSession *session;
  GPtrArray   *upstreams;   /* GUri * */
  GRand       *rand;        /* picks among upstreams */
  GMainLoop   *loop;
  gboolean     verbose;

  GQueue       faults;    /* Fault * */
  guint        next_fault_id;

  /* counters */
  guint64      requests;
  guint64      forwarded;
  guint64      injected;
  guint64      dropped_requests;
  guint64      dropped_responses;
  guint64      delayed;
  guint64      upstream_errors;
  GHashTable  *forwarded_by_route;   /* "METHOD /path" -> count */
  GHashTable  *injected_by_status;   /* "500" -> count */
  GHashTable  *forwarded_by_upstream; /* "0", "1"... -> count */
  GQueue       journal;              /* JournalEntry *, oldest first */
} Proxy;

typedef struct
{
  Proxy             *proxy;
  SoupServerMessage *message;
  SoupMessage       *upstream;
  int                upstream_index;
  gboolean           drop_response;
} Exchange;

static void
fault_free (Fault *fault)
{
  g_free (fault->method);
  g_free (fault->path);
  g_free (fault->retry_after);
  g_free (fault);
}

static void
journal_entry_free (JournalEntry *entry)
{
  g_free (entry->method);
  g_free (entry->path);
  g_free (entry->query);
  g_free (entry->action);
  g_clear_pointer (&entry->body, g_bytes_unref);
  g_free (entry);
}

/* Notes what happened to the request of @message. */
static void
journal_add (Proxy             *self,
             SoupServerMessage *message,
             int                upstream,
             guint              status,
             const char        *action)
{
  JournalEntry *entry = g_new0 (JournalEntry, 1);
  GUri *uri = soup_server_message_get_uri (message);
  SoupMessageBody *body = soup_server_message_get_request_body (message);

  entry->method = g_strdup (soup_server_message_get_method (message));
  entry->path = g_strdup (g_uri_get_path (uri));
  entry->query = g_strdup (g_uri_get_query (uri));
  entry->status = status;
  entry->action = g_strdup (action);
  entry->upstream = upstream;
  if (body->length <= JOURNAL_BODY_MAX)
    entry->body = soup_message_body_flatten (body);
  g_queue_push_tail (&self->journal, entry);
  while (self->journal.length > JOURNAL_MAX)
    journal_entry_free (g_queue_pop_head (&self->journal));
}

static void
exchange_free (Exchange *exchange)
{
  g_clear_object (&exchange->message);
  g_clear_object (&exchange->upstream);
  g_free (exchange);
}

static void
count_in (GHashTable *table,
          const char *key)
{
  gpointer value = g_hash_table_lookup (table, key);

  g_hash_table_replace (table, g_strdup (key), GUINT_TO_POINTER (GPOINTER_TO_UINT (value) + 1));
}

/* Headers that describe one connection, not the message (RFC 9110 §7.6.1),
 * plus the framing that libsoup redoes on each side. */
static gboolean
is_hop_by_hop (const char *name)
{
  static const char *names[] = {
    "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
    "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length",
    "Date",   /* SoupServer writes its own */
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (name, names[i]) == 0)
      return TRUE;
  return FALSE;
}

static void
copy_headers (SoupMessageHeaders *from,
              SoupMessageHeaders *to)
{
  SoupMessageHeadersIter iter;
  const char *name;
  const char *value;

  soup_message_headers_iter_init (&iter, from);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    if (!is_hop_by_hop (name))
      soup_message_headers_append (to, name, value);
}

static const char *
status_phrase (guint status)
{
  /* libsoup 3.2 does not name every status. */
  switch (status)
    {
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 511:
      return "Network Authentication Required";
    default:
      return soup_status_get_phrase (status);
    }
}

static void
reply_json (SoupServerMessage *message,
            guint              status,
            const char        *content_type,
            JsonNode          *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  char *text;
  gsize len;

  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, &len);
  soup_server_message_set_status (message, status, status_phrase (status));
  soup_message_headers_replace (soup_server_message_get_response_headers (message), "Server",
                                "tandem-fault-proxy");
  soup_server_message_set_response (message, content_type, SOUP_MEMORY_TAKE, text, len);
}

static void
reply_problem (SoupServerMessage *message,
               guint              status,
               const char        *detail)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "about:blank");
  json_builder_set_member_name (builder, "title");
  json_builder_add_string_value (builder, status_phrase (status));
  json_builder_set_member_name (builder, "status");
  json_builder_add_int_value (builder, status);
  json_builder_set_member_name (builder, "detail");
  json_builder_add_string_value (builder, detail);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  reply_json (message, status, "application/problem+json", node);
}

/* Closes the client's connection without an answer. @message must stay
 * referenced by the caller: stealing may drop the server's reference. */
static void
close_connection (SoupServerMessage *message)
{
  g_autoptr(GIOStream) stream = soup_server_message_steal_connection (message);

  if (stream != NULL)
    g_io_stream_close (stream, NULL, NULL);
}

/* Control: /__fault */

static JsonNode *
fault_to_json (const Fault *fault)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_int_value (builder, fault->id);
  if (fault->method != NULL)
    {
      json_builder_set_member_name (builder, "method");
      json_builder_add_string_value (builder, fault->method);
    }
  if (fault->path != NULL)
    {
      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, fault->path);
    }
  json_builder_set_member_name (builder, "skip");
  json_builder_add_int_value (builder, fault->skip);
  json_builder_set_member_name (builder, "count");
  json_builder_add_int_value (builder, fault->count);
  if (fault->status != 0)
    {
      json_builder_set_member_name (builder, "status");
      json_builder_add_int_value (builder, fault->status);
    }
  if (fault->retry_after != NULL)
    {
      json_builder_set_member_name (builder, "retry_after");
      json_builder_add_string_value (builder, fault->retry_after);
    }
  json_builder_set_member_name (builder, "drop_request");
  json_builder_add_boolean_value (builder, fault->drop_request);
  json_builder_set_member_name (builder, "drop_response");
  json_builder_add_boolean_value (builder, fault->drop_response);
  json_builder_set_member_name (builder, "delay_ms");
  json_builder_add_int_value (builder, fault->delay_ms);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static JsonNode *
stats_to_json (Proxy *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  GHashTableIter iter;
  gpointer key, value;

  json_builder_begin_object (builder);
#define COUNTER(name) \
  json_builder_set_member_name (builder, #name); \
  json_builder_add_int_value (builder, (gint64) self->name)
  COUNTER (requests);
  COUNTER (forwarded);
  COUNTER (injected);
  COUNTER (dropped_requests);
  COUNTER (dropped_responses);
  COUNTER (delayed);
  COUNTER (upstream_errors);
#undef COUNTER
  json_builder_set_member_name (builder, "pending_faults");
  json_builder_add_int_value (builder, self->faults.length);

  json_builder_set_member_name (builder, "forwarded_by_route");
  json_builder_begin_object (builder);
  g_hash_table_iter_init (&iter, self->forwarded_by_route);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      json_builder_set_member_name (builder, key);
      json_builder_add_int_value (builder, GPOINTER_TO_UINT (value));
    }
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "injected_by_status");
  json_builder_begin_object (builder);
  g_hash_table_iter_init (&iter, self->injected_by_status);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      json_builder_set_member_name (builder, key);
      json_builder_add_int_value (builder, GPOINTER_TO_UINT (value));
    }
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "forwarded_by_upstream");
  json_builder_begin_object (builder);
  g_hash_table_iter_init (&iter, self->forwarded_by_upstream);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      json_builder_set_member_name (builder, key);
      json_builder_add_int_value (builder, GPOINTER_TO_UINT (value));
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static JsonNode *
journal_to_json (Proxy *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_array (builder);
  for (GList *l = self->journal.head; l != NULL; l = l->next)
    {
      JournalEntry *entry = l->data;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "method");
      json_builder_add_string_value (builder, entry->method);
      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, entry->path);
      json_builder_set_member_name (builder, "query");
      json_builder_add_string_value (builder, entry->query);
      json_builder_set_member_name (builder, "status");
      json_builder_add_int_value (builder, entry->status);
      json_builder_set_member_name (builder, "action");
      json_builder_add_string_value (builder, entry->action);
      json_builder_set_member_name (builder, "upstream");
      json_builder_add_int_value (builder, entry->upstream);
      json_builder_set_member_name (builder, "body");
      if (entry->body == NULL)
        json_builder_add_null_value (builder);
      else
        {
          gsize len;
          const char *data = g_bytes_get_data (entry->body, &len);
          g_autofree char *text = g_utf8_make_valid (data ? data : "", len);

          json_builder_add_string_value (builder, text);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  return json_builder_get_root (builder);
}

static void
reset (Proxy *self)
{
  g_queue_clear_full (&self->faults, (GDestroyNotify) fault_free);
  g_queue_clear_full (&self->journal, (GDestroyNotify) journal_entry_free);
  self->requests = self->forwarded = self->injected = 0;
  self->dropped_requests = self->dropped_responses = self->delayed = self->upstream_errors = 0;
  g_hash_table_remove_all (self->forwarded_by_route);
  g_hash_table_remove_all (self->injected_by_status);
  g_hash_table_remove_all (self->forwarded_by_upstream);
}

/* Reads an optional non-negative integer member; FALSE with @error set
 * when it is there but is not one. */
static gboolean
get_count (JsonObject *object,
           const char *name,
           gint64      min,
           gint64      max,
           gint64     *value,
           char      **error)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN)
    {
      *value = json_node_get_boolean (node);
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64 ||
      json_node_get_int (node) < min || json_node_get_int (node) > max)
    {
      *error = g_strdup_printf ("“%s” must be a whole number from %" G_GINT64_FORMAT
                                " to %" G_GINT64_FORMAT, name, min, max);
      return FALSE;
    }
  *value = json_node_get_int (node);
  return TRUE;
}

static Fault *
fault_from_json (JsonObject *object,
                 char      **error)
{
  g_autoptr(GList) members = json_object_get_members (object);
  Fault *fault = g_new0 (Fault, 1);
  gint64 status = 0, count = 1, skip = 0, drop_request = 0, drop_response = 0, delay = 0;
  static const char *known[] = {
    "status", "retry_after", "count", "skip", "method", "path", "drop_request", "drop_response",
    "delay_ms",
  };

  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (known, l->data))
      {
        *error = g_strdup_printf ("unknown member “%s”", (char *) l->data);
        goto refused;
      }

  if (!get_count (object, "status", 100, 599, &status, error) ||
      !get_count (object, "count", -1, G_MAXINT32, &count, error) ||
      !get_count (object, "skip", 0, G_MAXINT32, &skip, error) ||
      !get_count (object, "drop_request", 0, 1, &drop_request, error) ||
      !get_count (object, "drop_response", 0, 1, &drop_response, error) ||
      !get_count (object, "delay_ms", 0, 600000, &delay, error))
    goto refused;
  if (count == 0)
    {
      *error = g_strdup ("“count” is 1 or more, or -1 for “until reset”");
      goto refused;
    }
  if ((status != 0) + drop_request + drop_response > 1)
    {
      *error = g_strdup ("give at most one of “status”, “drop_request” and “drop_response”");
      goto refused;
    }
  if (status == 0 && !drop_request && !drop_response && delay == 0)
    {
      *error = g_strdup ("a fault needs “status”, “drop_request”, “drop_response” or “delay_ms”");
      goto refused;
    }

  if (json_object_has_member (object, "retry_after"))
    {
      JsonNode *node = json_object_get_member (object, "retry_after");

      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64 &&
          json_node_get_int (node) >= 0)
        fault->retry_after = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
      else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        fault->retry_after = g_strdup (json_node_get_string (node));   /* an HTTP date */
      else
        {
          *error = g_strdup ("“retry_after” is seconds or an HTTP date");
          goto refused;
        }
    }
  if (json_object_has_member (object, "method"))
    fault->method = g_strdup (json_object_get_string_member_with_default (object, "method", ""));
  if (json_object_has_member (object, "path"))
    fault->path = g_strdup (json_object_get_string_member_with_default (object, "path", ""));

  fault->status = status;
  fault->count = count;
  fault->skip = skip;
  fault->drop_request = drop_request;
  fault->drop_response = drop_response;
  fault->delay_ms = delay;
  return fault;

refused:
  fault_free (fault);
  return NULL;
}

static void
handle_control (Proxy             *self,
                SoupServerMessage *message,
                const char        *method,
                const char        *path)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *problem = NULL;
  JsonObject *object;
  Fault *fault;

  if (g_str_equal (path, "/__fault/stats") && g_str_equal (method, "GET"))
    {
      g_autoptr(JsonNode) node = stats_to_json (self);

      reply_json (message, 200, "application/json", node);
      return;
    }
  if (g_str_equal (path, "/__fault/requests") && g_str_equal (method, "GET"))
    {
      g_autoptr(JsonNode) node = journal_to_json (self);

      reply_json (message, 200, "application/json", node);
      return;
    }
  if (!g_str_equal (path, "/__fault"))
    {
      reply_problem (message, 404,
                     "the proxy knows /__fault, /__fault/stats and /__fault/requests");
      return;
    }
  if (g_str_equal (method, "GET"))
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_ARRAY);
      JsonArray *array = json_array_new ();

      for (GList *l = self->faults.head; l != NULL; l = l->next)
        json_array_add_element (array, fault_to_json (l->data));
      json_node_take_array (node, array);
      reply_json (message, 200, "application/json", node);
      return;
    }
  if (g_str_equal (method, "DELETE"))
    {
      reset (self);
      soup_server_message_set_status (message, 204, NULL);
      return;
    }
  if (!g_str_equal (method, "POST"))
    {
      reply_problem (message, 405, "use GET, POST or DELETE on /__fault");
      return;
    }

  body = soup_message_body_flatten (soup_server_message_get_request_body (message));
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                                   &error) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      reply_problem (message, 400, error ? error->message : "the body must be a JSON object");
      return;
    }
  object = json_node_get_object (json_parser_get_root (parser));

  if (json_object_get_boolean_member_with_default (object, "reset", FALSE))
    {
      if (json_object_get_size (object) != 1)
        {
          reply_problem (message, 400, "“reset” goes alone");
          return;
        }
      reset (self);
      soup_server_message_set_status (message, 204, NULL);
      return;
    }

  if (!(fault = fault_from_json (object, &problem)))
    {
      reply_problem (message, 422, problem);
      return;
    }
  fault->id = ++self->next_fault_id;
  g_queue_push_tail (&self->faults, fault);
  {
    g_autoptr(JsonNode) node = fault_to_json (fault);

    reply_json (message, 201, "application/json", node);
  }
}

/* Forwarding */

/* The fault for this request, if any; its count is used up. The returned
 * copy belongs to the caller. */
static Fault *
take_fault (Proxy      *self,
            const char *method,
            const char *path)
{
  for (GList *l = self->faults.head; l != NULL; l = l->next)
    {
      Fault *fault = l->data;
      Fault *copy;

      if (fault->method != NULL && g_ascii_strcasecmp (fault->method, method) != 0)
        continue;
      if (fault->path != NULL && !g_str_has_prefix (path, fault->path))
        continue;
      if (fault->skip > 0)
        {
          /* This one goes through untouched. */
          fault->skip--;
          return NULL;
        }

      copy = g_memdup2 (fault, sizeof *fault);
      copy->method = g_strdup (fault->method);
      copy->path = g_strdup (fault->path);
      copy->retry_after = g_strdup (fault->retry_after);
      if (fault->count > 0 && --fault->count == 0)
        {
          g_queue_delete_link (&self->faults, l);
          fault_free (fault);
        }
      return copy;
    }
  return NULL;
}

static void
upstream_done (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  Exchange *exchange = data;
  Proxy *self = exchange->proxy;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  SoupServerMessage *message = exchange->message;

  if (body == NULL)
    {
      g_autofree char *detail = g_strdup_printf ("the upstream did not answer: %s", error->message);

      self->upstream_errors++;
      if (self->verbose)
        g_printerr ("fault-proxy: %s\n", detail);
      journal_add (self, message, exchange->upstream_index, 502, "upstream_error");
      reply_problem (message, 502, detail);
      soup_server_message_unpause (message);
      exchange_free (exchange);
      return;
    }

  if (exchange->drop_response)
    {
      /* The server has done its work; the client never hears of it. */
      self->dropped_responses++;
      if (self->verbose)
        g_printerr ("fault-proxy: dropped the answer (%u)\n",
                    soup_message_get_status (exchange->upstream));
      journal_add (self, message, exchange->upstream_index,
                   soup_message_get_status (exchange->upstream), "dropped_response");
      close_connection (message);
      exchange_free (exchange);
      return;
    }

  journal_add (self, message, exchange->upstream_index,
               soup_message_get_status (exchange->upstream), "forwarded");
  soup_server_message_set_status (message, soup_message_get_status (exchange->upstream),
                                  soup_message_get_reason_phrase (exchange->upstream));
  copy_headers (soup_message_get_response_headers (exchange->upstream),
                soup_server_message_get_response_headers (message));
  soup_message_body_append_bytes (soup_server_message_get_response_body (message), body);
  soup_message_body_complete (soup_server_message_get_response_body (message));
  soup_server_message_unpause (message);
  exchange_free (exchange);
}

static void
forward (Exchange *exchange)
{
  Proxy *self = exchange->proxy;
  SoupServerMessage *message = exchange->message;
  GUri *uri = soup_server_message_get_uri (message);
  const char *method = soup_server_message_get_method (message);
  g_autoptr(GUri) target = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *route = g_strdup_printf ("%s %s", method, g_uri_get_path (uri));
  g_autofree char *base = NULL;
  g_autofree char *target_path = NULL;
  g_autofree char *index_text = NULL;
  GUri *upstream;

  exchange->upstream_index = self->upstreams->len == 1
                               ? 0
                               : g_rand_int_range (self->rand, 0, (gint32) self->upstreams->len);
  upstream = g_ptr_array_index (self->upstreams, exchange->upstream_index);
  base = g_strdup (g_uri_get_path (upstream));

  /* An upstream URL with a path is a prefix: http://host/tandem + /v1/... */
  if (g_str_has_suffix (base, "/"))
    base[strlen (base) - 1] = '\0';
  target_path = g_strconcat (base, g_uri_get_path (uri), NULL);
  target = g_uri_build (G_URI_FLAGS_ENCODED, g_uri_get_scheme (upstream), NULL,
                        g_uri_get_host (upstream), g_uri_get_port (upstream),
                        target_path, g_uri_get_query (uri), NULL);
  exchange->upstream = soup_message_new_from_uri (method, target);
  soup_message_add_flags (exchange->upstream, SOUP_MESSAGE_NO_REDIRECT);
  copy_headers (soup_server_message_get_request_headers (message),
                soup_message_get_request_headers (exchange->upstream));

  body = soup_message_body_flatten (soup_server_message_get_request_body (message));
  if (g_bytes_get_size (body) > 0 || g_str_equal (method, "POST") || g_str_equal (method, "PUT") ||
      g_str_equal (method, "PATCH"))
    soup_message_set_request_body_from_bytes (exchange->upstream, NULL, body);

  self->forwarded++;
  count_in (self->forwarded_by_route, route);
  index_text = g_strdup_printf ("%d", exchange->upstream_index);
  count_in (self->forwarded_by_upstream, index_text);
  if (self->verbose)
    g_printerr ("fault-proxy: %s%s%s\n", route, g_uri_get_query (uri) ? "?" : "",
                g_uri_get_query (uri) ? g_uri_get_query (uri) : "");
  soup_session_send_and_read_async (self->session, exchange->upstream, G_PRIORITY_DEFAULT, NULL,
                                    upstream_done, exchange);
}

/* Applies @fault (which may be NULL) to the exchange. */
static void
carry_out (Exchange *exchange,
           Fault    *fault)
{
  Proxy *self = exchange->proxy;
  SoupServerMessage *message = exchange->message;

  if (fault != NULL && fault->status != 0)
    {
      g_autofree char *key = g_strdup_printf ("%u", fault->status);

      self->injected++;
      count_in (self->injected_by_status, key);
      if (fault->retry_after != NULL)
        soup_message_headers_replace (soup_server_message_get_response_headers (message),
                                      "Retry-After", fault->retry_after);
      if (fault->status == 401)
        soup_message_headers_replace (soup_server_message_get_response_headers (message),
                                      "WWW-Authenticate", "Bearer");
      journal_add (self, message, -1, fault->status, "injected");
      reply_problem (message, fault->status, "injected by tandem-fault-proxy");
      soup_server_message_unpause (message);
      exchange_free (exchange);
      return;
    }
  if (fault != NULL && fault->drop_request)
    {
      self->injected++;
      self->dropped_requests++;
      journal_add (self, message, -1, 0, "dropped_request");
      close_connection (message);
      exchange_free (exchange);
      return;
    }
  if (fault != NULL && fault->drop_response)
    {
      self->injected++;
      exchange->drop_response = TRUE;
    }
  forward (exchange);
}

typedef struct
{
  Exchange *exchange;
  Fault    *fault;
} Delayed;

static gboolean
delay_over (gpointer data)
{
  Delayed *delayed = data;

  carry_out (delayed->exchange, delayed->fault);
  g_clear_pointer (&delayed->fault, fault_free);
  g_free (delayed);
  return G_SOURCE_REMOVE;
}

static void
handle_request (SoupServer        *server,
                SoupServerMessage *message,
                const char        *path,
                GHashTable        *query,
                gpointer           data)
{
  Proxy *self = data;
  const char *method = soup_server_message_get_method (message);
  Exchange *exchange;
  Fault *fault;

  if (g_str_equal (path, "/__fault") || g_str_has_prefix (path, "/__fault/"))
    {
      handle_control (self, message, method, path);
      return;
    }

  self->requests++;
  exchange = g_new0 (Exchange, 1);
  exchange->proxy = self;
  exchange->message = g_object_ref (message);
  soup_server_message_pause (message);

  fault = take_fault (self, method, path);
  if (fault != NULL && fault->delay_ms > 0)
    {
      Delayed *delayed = g_new0 (Delayed, 1);

      self->delayed++;
      if (fault->status == 0 && !fault->drop_request && !fault->drop_response)
        self->injected++;
      delayed->exchange = exchange;
      delayed->fault = fault;
      g_timeout_add (fault->delay_ms, delay_over, delayed);
      return;
    }
  carry_out (exchange, fault);
  g_clear_pointer (&fault, fault_free);
}

/* Setup */

static gboolean
quit (gpointer data)
{
  Proxy *self = data;

  g_main_loop_quit (self->loop);
  return G_SOURCE_CONTINUE;
}

static int
usage (const char *message)
{
  g_printerr ("tandem-fault-proxy: %s\n"
              "Usage: tandem-fault-proxy --upstream URL [--upstream URL...] [--seed N]\n"
              "                          --listen 127.0.0.1:PORT [--verbose]\n",
              message);
  return 2;
}

int
main (int    argc,
      char **argv)
{
  g_auto(GStrv) upstreams = NULL;
  g_autofree char *listen = NULL;
  g_autofree char *seed_text = NULL;
  gboolean verbose = FALSE;
  guint64 seed = 0;
  GOptionEntry entries[] = {
    { "upstream", 0, 0, G_OPTION_ARG_STRING_ARRAY, &upstreams,
      "A server to forward to (repeat for several)", "URL" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text,
      "Seed of the random choice among several upstreams", "N" },
    { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, "Where to listen (loopback only)",
      "127.0.0.1:PORT" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log every request on stderr", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSList) listeners = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *url = NULL;
  Proxy proxy = { 0 };
  const char *colon;
  guint64 port;

  g_option_context_set_summary (context, "An HTTP proxy that injects faults, for Tandem's tests.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage (error->message);
  if (upstreams == NULL || listen == NULL)
    return usage ("--upstream and --listen are required");
  if (seed_text != NULL &&
      !g_ascii_string_to_unsigned (seed_text, 10, 0, G_MAXUINT32, &seed, NULL))
    return usage ("--seed must be a whole number from 0 to 4294967295");

  proxy.upstreams = g_ptr_array_new_with_free_func ((GDestroyNotify) g_uri_unref);
  for (guint i = 0; upstreams[i] != NULL; i++)
    {
      GUri *upstream = g_uri_parse (upstreams[i], G_URI_FLAGS_ENCODED, &error);

      if (upstream == NULL)
        return usage (error->message);
      g_ptr_array_add (proxy.upstreams, upstream);
      if (g_strcmp0 (g_uri_get_scheme (upstream), "http") != 0 &&
          g_strcmp0 (g_uri_get_scheme (upstream), "https") != 0)
        return usage ("--upstream must be an http:// or https:// URL");
    }
  proxy.rand = seed_text != NULL ? g_rand_new_with_seed ((guint32) seed) : g_rand_new ();

  /* Loopback only: this proxy takes orders from anyone who can reach it. */
  colon = strrchr (listen, ':');
  if (colon == NULL || colon - listen != strlen ("127.0.0.1") ||
      strncmp (listen, "127.0.0.1", colon - listen) != 0 ||
      !g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &port, NULL))
    return usage ("--listen must be 127.0.0.1:PORT (PORT 0 picks a free one)");

  proxy.verbose = verbose;
  proxy.loop = g_main_loop_new (NULL, FALSE);
  proxy.forwarded_by_route = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  proxy.injected_by_status = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  proxy.forwarded_by_upstream = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_queue_init (&proxy.faults);
  g_queue_init (&proxy.journal);

  proxy.session = soup_session_new_with_options ("timeout", 120, "idle-timeout", 30,
                                                 "max-conns", 64, "max-conns-per-host", 32,
                                                 NULL);
  /* Relay bytes as they are, and leave authentication to the client. */
  soup_session_remove_feature_by_type (proxy.session, SOUP_TYPE_CONTENT_DECODER);
  soup_session_remove_feature_by_type (proxy.session, SOUP_TYPE_AUTH_MANAGER);

  proxy.server = soup_server_new ("server-header", NULL, NULL);
  soup_server_add_handler (proxy.server, NULL, handle_request, &proxy, NULL);

  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  address = g_inet_socket_address_new (loopback, (guint16) port);
  if (!soup_server_listen (proxy.server, address, 0, &error))
    {
      g_printerr ("tandem-fault-proxy: cannot listen on %s: %s\n", listen, error->message);
      return 1;
    }
  /* The port the system picked, from the socket itself:
   * soup_server_get_uris() leaks an address per call in libsoup 3.2. */
  listeners = soup_server_get_listeners (proxy.server);
  bound = g_socket_get_local_address (listeners->data, &error);
  if (bound == NULL)
    {
      g_printerr ("tandem-fault-proxy: cannot tell the port it listens on: %s\n", error->message);
      return 1;
    }
  url = g_strdup_printf ("http://127.0.0.1:%u",
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));

  g_unix_signal_add (SIGTERM, quit, &proxy);
  g_unix_signal_add (SIGINT, quit, &proxy);

  printf ("listening on %s\n", url);
  fflush (stdout);

  g_main_loop_run (proxy.loop);

  soup_server_disconnect (proxy.server);
  g_queue_clear_full (&proxy.faults, (GDestroyNotify) fault_free);
  g_queue_clear_full (&proxy.journal, (GDestroyNotify) journal_entry_free);
  g_clear_object (&proxy.server);
  g_clear_object (&proxy.session);
  g_clear_pointer (&proxy.upstreams, g_ptr_array_unref);
  g_clear_pointer (&proxy.rand, g_rand_free);
  g_clear_pointer (&proxy.forwarded_by_upstream, g_hash_table_unref);
  g_clear_pointer (&proxy.loop, g_main_loop_unref);
  g_clear_pointer (&proxy.forwarded_by_route, g_hash_table_unref);
  g_clear_pointer (&proxy.injected_by_status, g_hash_table_unref);
  return 0;
}
