/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-bench"

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>

#include "bench-common.h"
#include "bench-server.h"
#include "tandem-codec.h"
#include "tandem-task.h"

/* How much sync traffic one tandem-server takes (DESIGN §4, §7), in one run:
 *
 * 1. N clients at once on loopback, each a device of its own user (so each
 *    has its own token, rate bucket and feed, as real accounts do). Each
 *    pushes its ops in batches (creates, then title/priority updates, tag
 *    adds and comments on its own tasks, with the right base_rev), then
 *    pulls its whole feed until has_more is false. Every request is timed.
 * 2. The same number of creates, sequentially, one push per op and then in
 *    batches, each for a fresh user: what batching buys.
 *
 * All clients run on one GMainLoop, each with a SoupSession of its own as
 * separate devices would have (clients sharing one session share its
 * connections, and libsoup then left some requests queued for seconds).
 * Each client opens its connection before the clock starts and keeps it
 * alive (see client_connect() and --fresh-connections).
 *
 * Errors are transport errors, non-200 answers and per-op results other
 * than 201 (create) or 200; checks are revisions and feed contents other
 * than the client expects. Both must be 0. One JSON object per line goes to
 * stdout; progress and errors go to stderr. */

#ifndef TANDEM_SERVER_PATH
#define TANDEM_SERVER_PATH "tandem-server"
#endif

#define PULL_LIMIT          1000
#define MAX_PRINTED_ERRORS  20
#define REQUEST_TIMEOUT_S   300

static int opt_clients = 50;
static int opt_ops = 1000;
static int opt_batch = 100;
static int opt_creates = 10000;
static int opt_creates_batch = 500;
static int opt_run = 0;
static char *opt_server = NULL;
static char *opt_dir = NULL;
static char *opt_trace = NULL;
static gboolean opt_keep = FALSE;
static gboolean opt_fresh_connections = FALSE;
static char *opt_database = NULL;
static int opt_processes = 1;

static FILE *trace_file = NULL;

static const GOptionEntry options[] = {
  { "clients", 0, 0, G_OPTION_ARG_INT, &opt_clients, "Concurrent clients (50)", "N" },
  { "ops", 0, 0, G_OPTION_ARG_INT, &opt_ops, "Ops each client pushes (1000)", "N" },
  { "batch", 0, 0, G_OPTION_ARG_INT, &opt_batch, "Ops per push of a client (100)", "N" },
  { "creates", 0, 0, G_OPTION_ARG_INT, &opt_creates,
    "Creates of the batching comparison (10000; 0 skips it)", "N" },
  { "creates-batch", 0, 0, G_OPTION_ARG_INT, &opt_creates_batch,
    "Creates per push in its batched half (500)", "N" },
  { "server", 0, 0, G_OPTION_ARG_FILENAME, &opt_server,
    "The tandem-server to run (default: the one in the build tree)", "PATH" },
  { "dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_dir,
    "Put the server's data folder inside DIR (default: the temporary folder)", "DIR" },
  { "fresh-connections", 0, 0, G_OPTION_ARG_NONE, &opt_fresh_connections,
    "Send every push on a new connection, as libsoup does for a plain POST", NULL },
  { "keep", 0, 0, G_OPTION_ARG_NONE, &opt_keep, "Keep the data folder and server log", NULL },
  { "trace", 0, 0, G_OPTION_ARG_FILENAME, &opt_trace,
    "Write one CSV line per request to FILE: phase,client,request,sent_s,ms", "FILE" },
  { "run", 0, 0, G_OPTION_ARG_INT, &opt_run, "Add \"run\": N to every line", "N" },
  { "database", 0, 0, G_OPTION_ARG_STRING, &opt_database,
    "Serve from this PostgreSQL database (an empty one) instead of SQLite", "URL" },
  { "processes", 0, 0, G_OPTION_ARG_INT, &opt_processes,
    "Server processes on the one --database (1); client N talks to process N mod P", "P" },
  { NULL }
};

/* ",\"NAME_p50_ms\":…,\"NAME_p99_ms\":…,\"NAME_max_ms\":…" of @samples (sorted here). */
static char *
latency_members (const char *name,
                 GArray     *samples)
{
  g_array_sort (samples, bench_compare_doubles);
  return g_strdup_printf (",\"%s_p50_ms\":%.2f,\"%s_p99_ms\":%.2f,\"%s_max_ms\":%.2f",
                          name, bench_percentile (samples, 50), name,
                          bench_percentile (samples, 99), name, bench_percentile (samples, 100));
}

/* The server process */

/* With --processes: the servers after the first, on the same database. */
static BenchServer *other_servers;

/* Counts the request lines of the server log by status and reports every
 * other line (warnings, criticals, storage errors) on stderr. */
static void
scan_server_log (BenchServer *server)
{
  g_autoptr(GRegex) request_line = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  guint n_requests = 0, n_not_ok = 0, n_other = 0;

  if (!g_file_get_contents (server->log_path, &contents, NULL, NULL))
    {
      g_printerr ("server-load: cannot read the server log %s\n", server->log_path);
      return;
    }
  request_line = g_regex_new (" [A-Z]+ /v1/\\S+ (\\d{3}) [0-9.]+ms user=", G_REGEX_OPTIMIZE, 0,
                              NULL);
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(GMatchInfo) match = NULL;

      if (*lines[i] == '\0' || strstr (lines[i], ": stopped on SIG") != NULL)
        continue;
      if (g_regex_match (request_line, lines[i], 0, &match))
        {
          g_autofree char *status = g_match_info_fetch (match, 1);

          n_requests++;
          if (!g_str_equal (status, "200"))
            {
              if (n_not_ok++ < MAX_PRINTED_ERRORS)
                g_printerr ("server-load: server log: %s\n", lines[i]);
            }
          continue;
        }
      if (n_other++ < MAX_PRINTED_ERRORS)
        g_printerr ("server-load: server log: %s\n", lines[i]);
    }
  bench_print_line ("server_log", "\"requests\":%u,\"not_200\":%u,\"other_lines\":%u",
                    n_requests, n_not_ok, n_other);
}

/* Clients */

typedef struct _Phase Phase;

typedef struct
{
  Phase             *phase;
  guint              index;
  SoupSession       *session;
  char              *authorization;   /* "Bearer TOKEN" */
  char              *device_id;
  GRand             *rand;
  guint              n_ops;           /* to push in all */
  guint              batch;           /* per push */
  gboolean           creates_only;
  gboolean           pull;

  guint              n_made;          /* ops made so far */
  GPtrArray         *task_ids;        /* char *, in creation order */
  GPtrArray         *titles;          /* char *, the title each task has now */
  GArray            *priorities;      /* int */
  GArray            *revs;            /* gint64: the revision each task has now */
  GHashTable        *index_of;        /* task id -> its index + 1 */

  /* The request in flight. */
  SoupMessage       *message;
  TandemPushRequest *request;
  GArray            *expected_revs;   /* gint64, one per op of request */
  gint64             sent_at;         /* monotonic, µs */

  char              *cursor;
  GHashTable        *pulled;          /* task ids seen in the feed */
  const char        *url;             /* the server process it talks to */
} Client;

struct _Phase
{
  const char  *name;
  gint64       started;       /* monotonic, µs */
  FILE        *trace;         /* or NULL */
  const char  *url;
  GMainLoop   *loop;
  guint        running;

  GArray      *push_ms;
  GArray      *pull_ms;
  GArray      *done_s;        /* when each client finished, from the start */
  guint        pushes;
  guint        pulls;
  guint        ops_applied;
  guint        records_pulled;
  guint        errors;        /* transport, non-200, per-op status */
  guint        checks_failed; /* revisions and feed contents */
  guint        printed;
};

static void client_push_next (Client *client);
static void client_pull_next (Client *client);

static Client *
client_new (Phase      *phase,
            guint       index,
            const char *token,
            guint       n_ops,
            guint       batch,
            gboolean    creates_only,
            gboolean    pull)
{
  Client *client = g_new0 (Client, 1);

  client->phase = phase;
  client->url = phase->url;
  client->index = index;
  client->session = soup_session_new_with_options ("timeout", REQUEST_TIMEOUT_S, NULL);
  client->authorization = g_strconcat ("Bearer ", token, NULL);
  client->device_id = g_uuid_string_random ();
  client->rand = g_rand_new_with_seed (1000 + index);
  client->n_ops = n_ops;
  client->batch = batch;
  client->creates_only = creates_only;
  client->pull = pull;
  client->task_ids = g_ptr_array_new_with_free_func (g_free);
  client->titles = g_ptr_array_new_with_free_func (g_free);
  client->priorities = g_array_new (FALSE, FALSE, sizeof (int));
  client->revs = g_array_new (FALSE, FALSE, sizeof (gint64));
  client->index_of = g_hash_table_new (g_str_hash, g_str_equal);
  client->pulled = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return client;
}

static void
client_free (Client *client)
{
  g_clear_object (&client->session);
  g_free (client->authorization);
  g_free (client->device_id);
  g_rand_free (client->rand);
  g_hash_table_unref (client->index_of);
  g_ptr_array_unref (client->task_ids);
  g_ptr_array_unref (client->titles);
  g_array_unref (client->priorities);
  g_array_unref (client->revs);
  g_clear_object (&client->message);
  g_clear_pointer (&client->request, tandem_push_request_free);
  g_clear_pointer (&client->expected_revs, g_array_unref);
  g_free (client->cursor);
  g_hash_table_unref (client->pulled);
  g_free (client);
}

static void
client_report (Client     *client,
               guint      *counter,
               const char *format,
               ...) G_GNUC_PRINTF (3, 4);

/* Counts one error or failed check and prints the first few. */
static void
client_report (Client     *client,
               guint      *counter,
               const char *format,
               ...)
{
  va_list args;

  (*counter)++;
  if (client->phase->printed++ >= MAX_PRINTED_ERRORS)
    return;
  va_start (args, format);
  {
    g_autofree char *message = g_strdup_vprintf (format, args);

    g_printerr ("server-load: client %u: %s\n", client->index, message);
  }
  va_end (args);
}

static void
client_done (Client *client)
{
  Phase *phase = client->phase;
  double done_s = (g_get_monotonic_time () - phase->started) / (double) G_USEC_PER_SEC;

  g_array_append_val (phase->done_s, done_s);
  if (--phase->running == 0)
    g_main_loop_quit (phase->loop);
}

static void
client_send (Client              *client,
             SoupMessage         *message,
             GAsyncReadyCallback  callback)
{
  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization",
                                client->authorization);
  g_set_object (&client->message, message);
  client->sent_at = g_get_monotonic_time ();
  soup_session_send_and_read_async (client->session, message, G_PRIORITY_DEFAULT, NULL,
                                    callback, client);
}

/* The answer of the request in flight: its body when it is a 200, else
 * NULL with the error counted. Records the latency either way. */
static GBytes *
client_finish (Client       *client,
               GAsyncResult *result,
               GArray       *latencies,
               const char   *what)
{
  g_autoptr(SoupMessage) message = g_steal_pointer (&client->message);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  double ms;
  guint status;

  body = soup_session_send_and_read_finish (client->session, result, &error);
  ms = (g_get_monotonic_time () - client->sent_at) / 1000.0;
  g_array_append_val (latencies, ms);
  if (client->phase->trace != NULL)
    fprintf (client->phase->trace, "%s,%u,%s,%.6f,%.3f\n", client->phase->name, client->index,
             what, (client->sent_at - client->phase->started) / (double) G_USEC_PER_SEC, ms);
  if (body == NULL)
    {
      client_report (client, &client->phase->errors, "%s failed: %s", what, error->message);
      return NULL;
    }
  status = soup_message_get_status (message);
  if (status != SOUP_STATUS_OK)
    {
      gsize size = 0;
      const char *data = g_bytes_get_data (body, &size);

      client_report (client, &client->phase->errors, "%s answered %u: %.*s", what, status,
                     (int) MIN (size, 300), data != NULL ? data : "");
      return NULL;
    }
  return g_steal_pointer (&body);
}

static JsonNode *
client_parse (Client     *client,
              GBytes     *body,
              const char *what)
{
  g_autoptr(GError) error = NULL;
  gsize size = 0;
  const char *data = g_bytes_get_data (body, &size);
  JsonNode *node = tandem_json_parse (data != NULL ? data : "", size, &error);

  if (node == NULL)
    client_report (client, &client->phase->errors, "%s answered with bad JSON: %s", what,
                   error->message);
  return node;
}

/* The next op of this client, as its sync engine would send it, and the
 * revision the task must have once the server applied it. Ops go round in
 * tens: 4 creates, 3 updates (title, a human field, and priority, an lww
 * one, with their base), 2 tag adds, 1 comment, the edits on tasks this
 * client created before. Every one changes its task, so every one is a
 * real write with a new revision. */
static TandemOp *
client_make_op (Client *client,
                gint64 *expected_rev)
{
  TandemOp *op = tandem_op_new ();
  guint n = client->n_made++;
  guint slot = n % 10;
  guint at;

  op->op_id = g_uuid_string_random ();
  op->device_id = g_strdup (client->device_id);
  op->entity = TANDEM_ENTITY_TASK;
  op->created_at = tandem_now_rfc3339 ();

  if (client->creates_only || slot < 4 || client->task_ids->len == 0)
    {
      char *id = g_uuid_string_random ();
      char *title = g_strdup_printf ("Load test task %u of client %u",
                                     client->task_ids->len + 1, client->index);
      int priority = n % (TANDEM_PRIORITY_MAX + 1);
      gint64 rev = 1;
      JsonArray *tags = json_array_new ();

      op->kind = TANDEM_OP_CREATE;
      op->entity_id = g_strdup (id);
      op->base_rev = 0;
      json_object_set_string_member (op->patch, "title", title);
      json_object_set_string_member (op->patch, "notes",
                                     "Made by bench/server-load.\nA second line of notes.");
      json_object_set_int_member (op->patch, "priority", priority);
      json_array_add_string_element (tags, "load-test");
      json_object_set_array_member (op->patch, "tags", tags);

      g_ptr_array_add (client->task_ids, id);
      g_ptr_array_add (client->titles, title);
      g_array_append_val (client->priorities, priority);
      g_array_append_val (client->revs, rev);
      g_hash_table_insert (client->index_of, id, GUINT_TO_POINTER (client->task_ids->len));
      *expected_rev = rev;
      return op;
    }

  at = g_rand_int_range (client->rand, 0, client->task_ids->len);
  op->entity_id = g_strdup (g_ptr_array_index (client->task_ids, at));
  op->base_rev = g_array_index (client->revs, gint64, at);

  if (slot < 7)
    {
      int *priority = &g_array_index (client->priorities, int, at);
      char *title = g_strdup_printf ("Load test task %u of client %u, edit %u", at + 1,
                                     client->index, n);

      op->kind = TANDEM_OP_UPDATE;
      json_object_set_string_member (op->base, "title", g_ptr_array_index (client->titles, at));
      json_object_set_int_member (op->base, "priority", *priority);
      *priority = (*priority + 1) % (TANDEM_PRIORITY_MAX + 1);
      json_object_set_string_member (op->patch, "title", title);
      json_object_set_int_member (op->patch, "priority", *priority);
      g_free (g_ptr_array_index (client->titles, at));
      g_ptr_array_index (client->titles, at) = title;
    }
  else if (slot < 9)
    {
      g_autofree char *tag = g_strdup_printf ("tag%u", n);

      op->kind = TANDEM_OP_TAG_ADD;
      json_object_set_string_member (op->patch, "tag", tag);
    }
  else
    {
      g_autofree char *comment_id = g_uuid_string_random ();
      g_autofree char *body = g_strdup_printf ("Comment %u from the load test", n);

      op->kind = TANDEM_OP_COMMENT_ADD;
      json_object_set_string_member (op->patch, "comment_id", comment_id);
      json_object_set_string_member (op->patch, "body", body);
    }

  g_array_index (client->revs, gint64, at)++;
  *expected_rev = g_array_index (client->revs, gint64, at);
  return op;
}

static void
push_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Client *client = user_data;
  Phase *phase = client->phase;
  g_autoptr(TandemPushRequest) request = g_steal_pointer (&client->request);
  g_autoptr(GArray) expected_revs = g_steal_pointer (&client->expected_revs);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  phase->pushes++;
  if (!(body = client_finish (client, result, phase->push_ms, "push")) ||
      !(node = client_parse (client, body, "push")))
    {
      /* Later ops would only pile up errors on the same tasks. */
      client_done (client);
      return;
    }
  if (!(results = tandem_push_response_from_json (node, &error)))
    {
      client_report (client, &phase->errors, "push answered with a bad results list: %s",
                     error->message);
      client_done (client);
      return;
    }
  if (results->len != request->ops->len)
    {
      client_report (client, &phase->errors, "push of %u ops answered %u results",
                     request->ops->len, results->len);
      client_done (client);
      return;
    }

  for (guint i = 0; i < results->len; i++)
    {
      const TandemPushResult *answer = g_ptr_array_index (results, i);
      const TandemOp *op = g_ptr_array_index (request->ops, i);
      guint wanted = op->kind == TANDEM_OP_CREATE ? 201 : 200;
      gint64 expected_rev = g_array_index (expected_revs, gint64, i);

      if (answer->status != wanted || g_strcmp0 (answer->op_id, op->op_id) != 0)
        {
          client_report (client, &phase->errors, "op %s (%s) answered %u %s%s%s", op->op_id,
                         tandem_op_kind_to_string (op->kind), answer->status,
                         answer->type ? answer->type : "", answer->error ? ": " : "",
                         answer->error ? answer->error : "");
          continue;
        }
      phase->ops_applied++;
      if (answer->record == NULL || answer->record->task == NULL ||
          g_strcmp0 (answer->record->task->id, op->entity_id) != 0 ||
          answer->record->task->rev != expected_rev)
        client_report (client, &phase->checks_failed,
                       "op %s (%s) on %s: the task came back at rev %" G_GINT64_FORMAT
                       ", expected %" G_GINT64_FORMAT, op->op_id,
                       tandem_op_kind_to_string (op->kind), op->entity_id,
                       answer->record && answer->record->task ? answer->record->task->rev : -1,
                       expected_rev);
    }

  client_push_next (client);
}

static void
client_push_next (Client *client)
{
  g_autofree char *uri = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(GBytes) bytes = NULL;
  guint n;

  if (client->n_made >= client->n_ops)
    {
      if (client->pull)
        client_pull_next (client);
      else
        client_done (client);
      return;
    }

  n = MIN (client->batch, client->n_ops - client->n_made);
  client->request = tandem_push_request_new ();
  client->request->device_id = g_strdup (client->device_id);
  client->expected_revs = g_array_sized_new (FALSE, FALSE, sizeof (gint64), n);
  for (guint i = 0; i < n; i++)
    {
      gint64 expected_rev = 0;

      g_ptr_array_add (client->request->ops, client_make_op (client, &expected_rev));
      g_array_append_val (client->expected_revs, expected_rev);
    }

  node = tandem_push_request_to_json (client->request);
  text = tandem_json_to_string (node, FALSE);
  bytes = g_bytes_new_take (text, strlen (text));
  text = NULL;

  uri = g_strconcat (client->url, "/v1/sync/push", NULL);
  message = soup_message_new ("POST", uri);
  soup_message_set_request_body_from_bytes (message, "application/json", bytes);
  /* libsoup sends a POST on a new connection unless told it is safe to
   * resend, which a push is: every op carries its idempotency key. */
  if (!opt_fresh_connections)
    soup_message_add_flags (message, SOUP_MESSAGE_IDEMPOTENT);
  client_send (client, message, push_cb);
}

static void
pull_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Client *client = user_data;
  Phase *phase = client->phase;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(TandemChangesPage) page = NULL;
  g_autoptr(GError) error = NULL;

  phase->pulls++;
  if (!(body = client_finish (client, result, phase->pull_ms, "pull")) ||
      !(node = client_parse (client, body, "pull")))
    {
      client_done (client);
      return;
    }
  if (!(page = tandem_changes_page_from_json (node, &error)))
    {
      client_report (client, &phase->errors, "pull answered with a bad page: %s",
                     error->message);
      client_done (client);
      return;
    }

  phase->records_pulled += page->changes->len;
  for (guint i = 0; i < page->changes->len; i++)
    {
      const TandemRecord *record = g_ptr_array_index (page->changes, i);
      const TandemTask *task = record->task;
      guint at;

      if (task == NULL ||
          (at = GPOINTER_TO_UINT (g_hash_table_lookup (client->index_of, task->id))) == 0)
        {
          client_report (client, &phase->checks_failed, "the feed holds a record this client "
                         "never made (another user's data?)");
          continue;
        }
      if (task->rev != g_array_index (client->revs, gint64, at - 1) || task->deleted)
        client_report (client, &phase->checks_failed,
                       "the feed has task %s at rev %" G_GINT64_FORMAT ", expected %"
                       G_GINT64_FORMAT, task->id, task->rev,
                       g_array_index (client->revs, gint64, at - 1));
      if (!g_hash_table_add (client->pulled, g_strdup (task->id)))
        client_report (client, &phase->checks_failed, "the feed has task %s twice", task->id);
    }

  g_free (client->cursor);
  client->cursor = g_strdup (page->cursor);
  if (page->has_more)
    {
      client_pull_next (client);
      return;
    }

  if (g_hash_table_size (client->pulled) != client->task_ids->len)
    client_report (client, &phase->checks_failed, "the feed has %u of the %u tasks made",
                   g_hash_table_size (client->pulled), client->task_ids->len);
  client_done (client);
}

/* The whole feed from the beginning, the biggest page at a time. */
static void
client_pull_next (Client *client)
{
  g_autofree char *uri = NULL;
  g_autoptr(SoupMessage) message = NULL;

  if (client->cursor != NULL)
    uri = g_strdup_printf ("%s/v1/sync/changes?limit=%d&since=%s", client->url,
                           PULL_LIMIT, client->cursor);
  else
    uri = g_strdup_printf ("%s/v1/sync/changes?limit=%d", client->url, PULL_LIMIT);
  message = soup_message_new ("GET", uri);
  client_send (client, message, pull_cb);
}

static void
phase_init (Phase      *phase,
            const char *name,
            const char *url)
{
  memset (phase, 0, sizeof *phase);
  phase->name = name;
  phase->trace = trace_file;
  phase->url = url;
  phase->loop = g_main_loop_new (NULL, FALSE);
  phase->push_ms = g_array_new (FALSE, FALSE, sizeof (double));
  phase->pull_ms = g_array_new (FALSE, FALSE, sizeof (double));
  phase->done_s = g_array_new (FALSE, FALSE, sizeof (double));
}

static void
phase_clear (Phase *phase)
{
  g_clear_pointer (&phase->loop, g_main_loop_unref);
  g_clear_pointer (&phase->push_ms, g_array_unref);
  g_clear_pointer (&phase->pull_ms, g_array_unref);
  g_clear_pointer (&phase->done_s, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Phase, phase_clear)

/* Opens the client's connection, which its requests then keep using.
 * tandem-server accepts one connection per turn of its main loop, behind a
 * listen backlog of 10, so a burst of new connections to a busy server
 * waits seconds in SYN retries or is reset; that is connection setup, not
 * sync, and is kept out of the timed part (see --fresh-connections). */
static gboolean
client_connect (Client *client)
{
  g_autofree char *uri = g_strconcat (client->url, "/v1/health", NULL);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;

  body = soup_session_send_and_read (client->session, message, NULL, &error);
  if (body == NULL || soup_message_get_status (message) != SOUP_STATUS_OK)
    {
      client_report (client, &client->phase->errors, "GET /v1/health: %s",
                     body == NULL ? error->message : soup_message_get_reason_phrase (message));
      return FALSE;
    }
  return TRUE;
}

/* Connects @clients one by one, then runs them at once until every one is
 * done; returns the wall time of the second part in s. */
static double
phase_run (Phase     *phase,
           GPtrArray *clients)
{
  g_autoptr(GPtrArray) connected = g_ptr_array_new ();

  for (guint i = 0; i < clients->len; i++)
    if (client_connect (g_ptr_array_index (clients, i)))
      g_ptr_array_add (connected, g_ptr_array_index (clients, i));

  phase->started = g_get_monotonic_time ();
  phase->running = connected->len;
  for (guint i = 0; i < connected->len; i++)
    client_push_next (g_ptr_array_index (connected, i));
  if (phase->running > 0)
    g_main_loop_run (phase->loop);
  return (g_get_monotonic_time () - phase->started) / (double) G_USEC_PER_SEC;
}

/* The run */

static gboolean
run_concurrent (BenchServer *server,
                GStrv        tokens)
{
  g_auto(Phase) phase = { 0 };
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func ((GDestroyNotify) client_free);
  g_autofree char *push = NULL;
  g_autofree char *pull = NULL;
  double server_cpu = bench_proc_cpu_s (server->pid), client_cpu = bench_self_cpu_s ();
  double load = bench_load_average ();
  double wall;

  phase_init (&phase, "concurrent", server->url);
  for (int i = 0; i < opt_clients; i++)
    {
      Client *client = client_new (&phase, i + 1, tokens[i], opt_ops, opt_batch, FALSE, TRUE);

      /* Sticky, as a load balancer keeps a connection on one process. */
      if (i % opt_processes != 0)
        client->url = other_servers[i % opt_processes - 1].url;
      g_ptr_array_add (clients, client);
    }

  g_printerr ("server-load: %d clients pushing %d ops each in batches of %d, then pulling\n",
              opt_clients, opt_ops, opt_batch);
  for (int i = 1; i < opt_processes; i++)
    server_cpu += bench_proc_cpu_s (other_servers[i - 1].pid);
  wall = phase_run (&phase, clients);
  server_cpu = bench_proc_cpu_s (server->pid) - server_cpu;
  for (int i = 1; i < opt_processes; i++)
    server_cpu += bench_proc_cpu_s (other_servers[i - 1].pid);
  client_cpu = bench_self_cpu_s () - client_cpu;

  push = latency_members ("push", phase.push_ms);
  pull = latency_members ("pull", phase.pull_ms);
  /* How evenly the server shares itself out: with fair service every client
   * finishes near the end. */
  g_array_sort (phase.done_s, bench_compare_doubles);
  bench_print_line ("concurrent_push",
                    "\"backend\":\"%s\",\"processes\":%d,"
                    "\"clients\":%d,\"ops_per_client\":%d,\"batch\":%d,\"ops\":%u,"
                    "\"wall_s\":%.3f,\"ops_per_s\":%.0f,\"pushes\":%u,\"pulls\":%u,"
                    "\"records_pulled\":%u%s%s,"
                    "\"first_client_done_s\":%.3f,\"median_client_done_s\":%.3f,"
                    "\"server_cpu_s\":%.2f,\"client_cpu_s\":%.2f,\"load_before\":%.2f,"
                    "\"load_after\":%.2f,\"errors\":%u,\"checks_failed\":%u",
                    opt_database != NULL ? "postgresql" : "sqlite", opt_processes,
                    opt_clients, opt_ops, opt_batch, phase.ops_applied, wall,
                    phase.ops_applied / wall, phase.pushes, phase.pulls, phase.records_pulled,
                    push, pull, bench_percentile (phase.done_s, 0),
                    bench_percentile (phase.done_s, 50), server_cpu, client_cpu, load,
                    bench_load_average (), phase.errors, phase.checks_failed);
  return phase.errors == 0 && phase.checks_failed == 0;
}

/* Pushes opt_creates creates for one fresh user, @batch per request, one
 * request at a time; returns the number of errors and failed checks. */
static guint
run_creates (BenchServer  *server,
             const char   *name,
             const char   *token,
             int           batch,
             double       *wall,
             double       *server_cpu,
             char        **latencies)
{
  g_auto(Phase) phase = { 0 };
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func ((GDestroyNotify) client_free);

  phase_init (&phase, name, server->url);
  g_ptr_array_add (clients, client_new (&phase, 0, token, opt_creates, batch, TRUE, FALSE));
  g_printerr ("server-load: %d creates, %d per push\n", opt_creates, batch);
  *server_cpu = bench_proc_cpu_s (server->pid);
  *wall = phase_run (&phase, clients);
  *server_cpu = bench_proc_cpu_s (server->pid) - *server_cpu;
  *latencies = latency_members (name, phase.push_ms);
  if (phase.ops_applied != (guint) opt_creates)
    g_printerr ("server-load: %s: %u of %d creates were applied\n", name, phase.ops_applied,
                opt_creates);
  return phase.errors + phase.checks_failed + (opt_creates - phase.ops_applied);
}

static gboolean
run_batching (BenchServer *server,
              const char  *single_token,
              const char  *batched_token)
{
  g_autofree char *single = NULL;
  g_autofree char *batched = NULL;
  double single_s = 0, batched_s = 0, single_cpu = 0, batched_cpu = 0;
  double load = bench_load_average ();
  guint errors;

  errors = run_creates (server, "single", single_token, 1, &single_s, &single_cpu, &single);
  errors += run_creates (server, "batched", batched_token, opt_creates_batch, &batched_s,
                         &batched_cpu, &batched);
  bench_print_line ("batching",
                    "\"creates\":%d,\"batch\":%d,\"single_s\":%.3f,\"batched_s\":%.3f,"
                    "\"ratio\":%.1f,\"single_ops_per_s\":%.0f,\"batched_ops_per_s\":%.0f%s%s,"
                    "\"single_server_cpu_s\":%.2f,\"batched_server_cpu_s\":%.2f,"
                    "\"load_before\":%.2f,\"load_after\":%.2f,\"errors\":%u",
                    opt_creates, opt_creates_batch, single_s, batched_s, single_s / batched_s,
                    opt_creates / single_s, opt_creates / batched_s, single, batched, single_cpu,
                    batched_cpu, load, bench_load_average (), errors);
  return errors == 0;
}

static gboolean
check_options (GError **error)
{
  if (opt_clients < 1 || opt_ops < 1 || opt_creates < 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--clients and --ops must be at least 1, --creates at least 0");
      return FALSE;
    }
  if (opt_processes < 1 || opt_processes > 16 || (opt_processes > 1 && opt_database == NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--processes must be from 1 to 16, and more than 1 needs --database URL "
                   "(several processes share one PostgreSQL database, never one SQLite file)");
      return FALSE;
    }
  if (opt_database != NULL && !g_str_has_prefix (opt_database, "postgresql://") &&
      !g_str_has_prefix (opt_database, "postgres://"))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--database must be a postgresql:// URL, not “%s”", opt_database);
      return FALSE;
    }
  if (opt_batch < 1 || opt_batch > TANDEM_PUSH_MAX_OPS ||
      opt_creates_batch < 1 || opt_creates_batch > TANDEM_PUSH_MAX_OPS)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--batch and --creates-batch must be from 1 to %d (the server's limit)",
                   TANDEM_PUSH_MAX_OPS);
      return FALSE;
    }
  return TRUE;
}

static gboolean
run (BenchServer  *server,
     GError      **error)
{
  g_autoptr(GPtrArray) tokens = g_ptr_array_new_with_free_func (g_free);
  guint64 rss_start, hwm_concurrent;
  gboolean ok;

  /* One user per client: each a device of a different person, so every
   * feed holds only that client's tasks. Made before the server starts so
   * that no token process competes with it. */
  g_printerr ("server-load: creating %d tokens in %s\n", opt_clients + 2, server->data_dir);
  for (int i = 0; i < opt_clients + 2; i++)
    {
      g_autofree char *user = g_strdup_printf ("load-user-%d", i + 1);
      char *token = bench_server_create_token (server, user, error);

      if (token == NULL)
        return FALSE;
      g_ptr_array_add (tokens, token);
    }
  g_ptr_array_add (tokens, NULL);

  if (!bench_server_start (server, error))
    return FALSE;
  g_printerr ("server-load: tandem-server pid %d on %s\n", server->pid, server->url);
  for (int i = 1; i < opt_processes; i++)
    {
      BenchServer *other = &other_servers[i - 1];

      if (!bench_server_start (other, error))
        return FALSE;
      g_printerr ("server-load: tandem-server pid %d on %s\n", other->pid, other->url);
    }
  rss_start = bench_proc_status_kib (server->pid, "VmRSS");

  ok = run_concurrent (server, (GStrv) tokens->pdata);
  hwm_concurrent = bench_proc_status_kib (server->pid, "VmHWM");
  if (opt_creates > 0)
    ok = run_batching (server, g_ptr_array_index (tokens, opt_clients),
                       g_ptr_array_index (tokens, opt_clients + 1)) && ok;

  bench_print_line ("server_rss_kib",
                    "\"peak_kib\":%" G_GUINT64_FORMAT
                    ",\"peak_after_concurrent_kib\":%" G_GUINT64_FORMAT
                    ",\"rss_start_kib\":%" G_GUINT64_FORMAT ",\"rss_end_kib\":%" G_GUINT64_FORMAT
                    ",\"data_kib\":%" G_GUINT64_FORMAT,
                    bench_proc_status_kib (server->pid, "VmHWM"), hwm_concurrent, rss_start,
                    bench_proc_status_kib (server->pid, "VmRSS"),
                    bench_tree_size_kib (server->data_dir));
  if (!ok)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                 "some requests failed or answered what was not expected (see above)");
  return ok;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *template = NULL;
  BenchServer server = { 0 };
  gboolean ok;

  g_option_context_set_summary (context,
                                "Loads a real tandem-server on loopback with concurrent sync "
                                "clients, then compares one push per op with batched pushes.\n"
                                "Prints one JSON object per line.");
  g_option_context_add_main_entries (context, options, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || !check_options (&error))
    {
      g_printerr ("server-load: %s\n", error->message);
      return 2;
    }

  bench_set_name ("server-load", opt_run);
  server.binary = g_strdup (opt_server != NULL ? opt_server : TANDEM_SERVER_PATH);
  if (!g_file_test (server.binary, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_printerr ("server-load: %s is not an executable tandem-server; build it or pass "
                  "--server PATH\n", server.binary);
      return 2;
    }
  template = g_build_filename (opt_dir != NULL ? opt_dir : g_get_tmp_dir (),
                               "tandem-server-load-XXXXXX", NULL);
  if (g_mkdtemp (template) == NULL)
    {
      g_printerr ("server-load: cannot make a folder like %s: %s\n", template,
                  g_strerror (errno));
      return 1;
    }
  server.data_dir = g_build_filename (template, "data", NULL);
  server.log_path = g_build_filename (template, "server.log", NULL);
  server.database = g_strdup (opt_database);
  g_mkdir (server.data_dir, 0700);

  if (opt_trace != NULL && (trace_file = fopen (opt_trace, "w")) == NULL)
    {
      g_printerr ("server-load: cannot write %s: %s\n", opt_trace, g_strerror (errno));
      return 2;
    }

  other_servers = g_new0 (BenchServer, MAX (opt_processes - 1, 1));
  for (int i = 1; i < opt_processes; i++)
    {
      other_servers[i - 1].binary = g_strdup (server.binary);
      other_servers[i - 1].data_dir = g_strdup (server.data_dir);
      other_servers[i - 1].database = g_strdup (opt_database);
      other_servers[i - 1].log_path = g_strdup_printf ("%s/server-%d.log", template, i + 1);
    }

  ok = run (&server, &error);
  for (int i = 1; i < opt_processes; i++)
    bench_server_stop (&other_servers[i - 1]);
  bench_server_stop (&server);
  if (trace_file != NULL)
    fclose (trace_file);
  if (server.pid != 0)
    scan_server_log (&server);
  if (!ok)
    g_printerr ("server-load: %s\n", error->message);

  if (opt_keep)
    g_printerr ("server-load: kept %s\n", template);
  else
    bench_remove_tree (template);

  bench_server_clear (&server);
  for (int i = 1; i < opt_processes; i++)
    bench_server_clear (&other_servers[i - 1]);
  g_free (other_servers);
  return ok ? 0 : 1;
}
