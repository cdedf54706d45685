/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "proxy-fixture.h"

/* Several tandem-server processes on one PostgreSQL database, as behind a
 * load balancer (DESIGN §7, issue 8): one truth whichever process answers.
 * Run by tests/pg-cluster (suite "postgres"), which sets
 * $TANDEM_TEST_DATABASE; each test gets a database of its own.
 *
 * Random choices come from one seed ($TANDEM_TEST_SEED, else a fixed one),
 * printed with every run so that a failure can be played again. */

#define N_SERVERS 2

typedef struct
{
  TestServer  *servers[N_SERVERS];
  SoupSession *session;
  char        *token;
  guint32      seed;
} Fixture;

static const char *rate_limited_args[] = { "--rate-limit", "5", NULL };
static const char *unlimited_args[] = { "--rate-limit", "0", NULL };

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  const char *const *args = data;
  const char *seed = g_getenv ("TANDEM_TEST_SEED");

  f->seed = seed != NULL ? (guint32) g_ascii_strtoull (seed, NULL, 10) : 20240608;
  g_test_message ("seed %u (set TANDEM_TEST_SEED to play another)", f->seed);

  f->servers[0] = test_server_start (NULL, args);
  for (guint i = 1; i < N_SERVERS; i++)
    f->servers[i] = test_server_start_sibling (f->servers[0], args);
  f->session = soup_session_new_with_options ("timeout", 60, NULL);
  /* `token create --database`: made once, good on every process. */
  f->token = test_server_token (f->servers[0], "alice");
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  /* Siblings first: the first one drops the database. */
  for (guint i = N_SERVERS; i-- > 0;)
    g_clear_pointer (&f->servers[i], test_server_free);
  g_clear_object (&f->session);
  g_free (f->token);
}

/* HTTP helpers */

static char *
create_op (const char *op_id,
           const char *task_id,
           const char *title)
{
  return g_strdup_printf ("{\"op_id\":\"%s\",\"entity\":\"task\",\"entity_id\":\"%s\","
                          "\"kind\":\"create\",\"base_rev\":0,\"patch\":{\"title\":\"%s\"}}",
                          op_id, task_id, title);
}

static char *
push_body (const char *device,
           GPtrArray  *ops)
{
  GString *body = g_string_new (NULL);

  g_string_append_printf (body, "{\"device_id\":\"%s\",\"ops\":[", device);
  for (guint i = 0; i < ops->len; i++)
    g_string_append_printf (body, "%s%s", i ? "," : "", (char *) g_ptr_array_index (ops, i));
  g_string_append (body, "]}");
  return g_string_free (body, FALSE);
}

/* A request that may meet a dead server: FALSE (and no response) when the
 * connection failed. */
static gboolean
try_request (SoupSession   *session,
             const char    *url,
             const char    *method,
             const char    *path,
             const char    *token,
             const char    *body,
             TestResponse **response)
{
  g_autofree char *uri = g_strconcat (url, path, NULL);
  g_autoptr(SoupMessage) message = soup_message_new (method, uri);
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *auth = g_strconcat ("Bearer ", token, NULL);
  const char *type;
  gsize len = 0;
  const char *data;

  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", auth);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (message, "application/json", bytes);
    }
  reply = soup_session_send_and_read (session, message, NULL, &error);
  if (reply == NULL)
    {
      g_test_message ("%s %s: %s", method, uri, error->message);
      return FALSE;
    }
  *response = g_new0 (TestResponse, 1);
  (*response)->status = soup_message_get_status (message);
  (*response)->headers = soup_message_headers_ref (soup_message_get_response_headers (message));
  data = g_bytes_get_data (reply, &len);
  (*response)->body = g_strndup (data ? data : "", len);
  type = soup_message_headers_get_content_type ((*response)->headers, NULL);
  if (type != NULL && (g_str_equal (type, "application/json") ||
                       g_str_equal (type, "application/problem+json")))
    (*response)->json = test_parse_json ((*response)->body);
  return TRUE;
}

static TestResponse *
request (SoupSession *session,
         TestServer  *server,
         const char  *method,
         const char  *path,
         const char  *token,
         const char  *body)
{
  TestResponse *response = NULL;

  if (!try_request (session, server->url, method, path, token, body, &response))
    g_error ("%s %s%s failed", method, server->url, path);
  return response;
}

/* Reads the feed after @cursor (NULL: from the beginning) to its end, and
 * notes each record's revision in @revs (id -> rev); returns the last
 * cursor. */
static char *
read_feed (SoupSession *session,
           TestServer  *server,
           const char  *token,
           const char  *cursor,
           GHashTable  *revs)
{
  g_autofree char *at = g_strdup (cursor);
  gboolean more = TRUE;

  while (more)
    {
      g_autofree char *path = at ? g_strdup_printf ("/v1/sync/changes?since=%s&limit=1000", at)
                                 : g_strdup ("/v1/sync/changes?limit=1000");
      g_autoptr(TestResponse) page = request (session, server, "GET", path, token, NULL);
      JsonObject *object;
      JsonArray *changes;

      if (page->status != 200)
        g_error ("GET %s answered %u: %s", path, page->status, page->body);
      object = json_node_get_object (page->json);
      changes = json_object_get_array_member (object, "changes");
      for (guint i = 0; i < json_array_get_length (changes); i++)
        {
          JsonObject *record = json_array_get_object_element (changes, i);

          g_hash_table_insert (revs, g_strdup (json_object_get_string_member (record, "id")),
                               GINT_TO_POINTER ((int) json_object_get_int_member (record, "rev")));
        }
      g_free (at);
      at = g_strdup (json_object_get_string_member (object, "cursor"));
      more = json_object_get_boolean_member (object, "has_more");
    }
  return g_steal_pointer (&at);
}

/* How many revisions the server's history shows for @op_id on @task_id:
 * an op applied twice would show two. */
static guint
revisions_of_op (SoupSession *session,
                 TestServer  *server,
                 const char  *token,
                 const char  *task_id,
                 const char  *op_id)
{
  g_autofree char *path = g_strdup_printf ("/v1/tasks/%s/history", task_id);
  g_autoptr(TestResponse) response = request (session, server, "GET", path, token, NULL);
  g_autoptr(GHashTable) revs = g_hash_table_new (g_direct_hash, g_direct_equal);
  JsonArray *entries;

  g_assert_cmpuint (response->status, ==, 200);
  entries = json_object_get_array_member (json_node_get_object (response->json), "history");
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (entry, "op_id", ""), op_id) == 0)
        g_hash_table_add (revs, GINT_TO_POINTER (json_object_get_int_member (entry, "rev")));
    }
  return g_hash_table_size (revs);
}

/* Whether a push answer holds an in_progress result; checks the
 * Retry-After that must come with one. */
static gboolean
has_in_progress (TestResponse *response)
{
  JsonArray *results;
  gboolean found = FALSE;

  g_assert_cmpuint (response->status, ==, 200);
  results = json_object_get_array_member (json_node_get_object (response->json), "results");
  for (guint i = 0; i < json_array_get_length (results); i++)
    {
      JsonObject *result = json_array_get_object_element (results, i);

      if (g_strcmp0 (json_object_get_string_member (result, "type"), "in_progress") == 0)
        {
          g_assert_cmpint (json_object_get_int_member (result, "status"), ==, 503);
          found = TRUE;
        }
    }
  if (found)
    g_assert_cmpstr (soup_message_headers_get_one (response->headers, "Retry-After"), ==, "1");
  return found;
}

/* What a client does with in_progress results: the same push again a
 * little later, until every op has its own outcome. */
static TestResponse *
push_settled (SoupSession *session,
              TestServer  *server,
              const char  *token,
              const char  *body)
{
  for (guint attempt = 0;; attempt++)
    {
      TestResponse *response = request (session, server, "POST", "/v1/sync/push", token, body);

      if (!has_in_progress (response))
        return response;
      test_response_free (response);
      if (attempt == 100)
        g_error ("ops still in progress after %u attempts", attempt + 1);
      g_usleep (G_USEC_PER_SEC / 10);   /* shorter than Retry-After: a test need not wait */
    }
}

/* Rate limits: one bucket per token, whichever process counts. */

static void
test_rate_limit_shared (Fixture       *f,
                        gconstpointer  data)
{
  /* --rate-limit 5 on both: five requests in all, then 429 on either. */
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(TestResponse) response = request (f->session, f->servers[i % N_SERVERS], "GET",
                                                  "/v1/sync/changes", f->token, NULL);

      g_assert_cmpuint (response->status, ==, 200);
    }
  for (guint i = 0; i < N_SERVERS; i++)
    {
      g_autoptr(TestResponse) response = request (f->session, f->servers[i], "GET",
                                                  "/v1/sync/changes", f->token, NULL);

      g_assert_cmpuint (response->status, ==, 429);
      g_assert_nonnull (soup_message_headers_get_one (response->headers, "Retry-After"));
    }
}

/* Tokens are rows in the database: one made on any process works on all,
 * and one revoked (by `tandem-server token revoke --database`, while both
 * run) is refused by all at once. */
static void
test_token_revoked_everywhere (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(GSubprocess) revoke = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < N_SERVERS; i++)
    {
      g_autoptr(TestResponse) response = request (f->session, f->servers[i], "GET",
                                                  "/v1/sync/changes", f->token, NULL);

      g_assert_cmpuint (response->status, ==, 200);
    }

  revoke = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, g_getenv ("TANDEM_SERVER"),
                             "token", "revoke", "--database", f->servers[0]->database,
                             "--token", f->token, NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (revoke, NULL, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < N_SERVERS; i++)
    {
      g_autoptr(TestResponse) response = request (f->session, f->servers[i], "GET",
                                                  "/v1/sync/changes", f->token, NULL);

      g_assert_cmpuint (response->status, ==, 401);
    }
}

/* Idempotency: the same op given to two processes at once is applied once;
 * the one that comes second while the first is still at work answers
 * in_progress for it, and once it retries, both answer its one result. */

typedef struct
{
  TestServer   *server;
  const char   *token;
  const char   *body;
  GMutex       *start;      /* held by the main thread until both are connected */
  TestResponse *response;
} Sender;

static gpointer
send_push (gpointer data)
{
  Sender *sender = data;
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 60, NULL);

  /* Connect first, so both requests leave as close together as can be. */
  g_autoptr(TestResponse) health = request (session, sender->server, "GET", "/v1/health",
                                            sender->token, NULL);

  g_assert_cmpuint (health->status, ==, 200);
  g_mutex_lock (sender->start);
  g_mutex_unlock (sender->start);
  sender->response = push_settled (session, sender->server, sender->token, sender->body);
  return NULL;
}

static void
test_same_op_two_processes (Fixture       *f,
                            gconstpointer  data)
{
  GMutex start;

  g_mutex_init (&start);
  for (guint round = 0; round < 20; round++)
    {
      g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GPtrArray) op_ids = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *body = NULL;
      Sender senders[N_SERVERS] = { { 0 } };
      GThread *threads[N_SERVERS];

      for (guint i = 0; i < 10; i++)
        {
          g_autofree char *title = g_strdup_printf ("Round %u task %u", round, i);

          g_ptr_array_add (ids, g_uuid_string_random ());
          g_ptr_array_add (op_ids, g_uuid_string_random ());
          g_ptr_array_add (ops, create_op (op_ids->pdata[i], ids->pdata[i], title));
        }
      body = push_body ("dev-a", ops);

      /* Both threads connect, then wait on the lock and leave together. */
      g_mutex_lock (&start);
      for (guint s = 0; s < N_SERVERS; s++)
        {
          senders[s] = (Sender) { f->servers[s], f->token, body, &start, NULL };
          threads[s] = g_thread_new ("sender", send_push, &senders[s]);
        }
      g_usleep (G_USEC_PER_SEC / 20);   /* not a timing assertion: only helps them overlap */
      g_mutex_unlock (&start);
      for (guint s = 0; s < N_SERVERS; s++)
        g_thread_join (threads[s]);

      for (guint s = 0; s < N_SERVERS; s++)
        {
          JsonArray *results;

          g_assert_cmpuint (senders[s].response->status, ==, 200);
          results = json_object_get_array_member (json_node_get_object (senders[s].response->json),
                                                  "results");
          g_assert_cmpuint (json_array_get_length (results), ==, ops->len);
          for (guint i = 0; i < ops->len; i++)
            {
              JsonObject *result = json_array_get_object_element (results, i);

              /* Applied, or the stored result of the other process: 201
               * both times. */
              g_assert_cmpstr (json_object_get_string_member (result, "type"), ==, "applied");
              g_assert_cmpint (json_object_get_int_member (result, "status"), ==, 201);
            }
        }
      /* The same answer, byte for byte. */
      g_assert_cmpstr (senders[0].response->body, ==, senders[1].response->body);
      for (guint i = 0; i < ids->len; i++)
        g_assert_cmpuint (revisions_of_op (f->session, f->servers[round % N_SERVERS], f->token,
                                           ids->pdata[i], op_ids->pdata[i]), ==, 1);
      for (guint s = 0; s < N_SERVERS; s++)
        test_response_free (senders[s].response);
    }
  g_mutex_clear (&start);
}

/* The change feed: writers on both processes, a reader paging through
 * both while they write. Each write creates a record of its own, so a
 * change the reader's cursor passed before it committed would be missing
 * for good. */

typedef struct
{
  Fixture  *f;
  guint     index;
  guint     n_pushes;
  GPtrArray *acknowledged;   /* task ids */
} Writer;

static gpointer
write_tasks (gpointer data)
{
  Writer *writer = data;
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 60, NULL);
  g_autofree char *device = g_strdup_printf ("writer-%u", writer->index);

  for (guint push = 0; push < writer->n_pushes; push++)
    {
      g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *body = NULL;
      g_autoptr(TestResponse) response = NULL;
      JsonArray *results;

      for (guint i = 0; i < 5; i++)
        {
          g_autofree char *op_id = g_uuid_string_random ();

          g_ptr_array_add (ids, g_uuid_string_random ());
          g_ptr_array_add (ops, create_op (op_id, ids->pdata[i], device));
        }
      body = push_body (device, ops);
      response = request (session, writer->f->servers[(writer->index + push) % N_SERVERS], "POST",
                          "/v1/sync/push", writer->f->token, body);
      g_assert_cmpuint (response->status, ==, 200);
      results = json_object_get_array_member (json_node_get_object (response->json), "results");
      for (guint i = 0; i < ids->len; i++)
        {
          g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (results, i),
                                                       "status"), ==, 201);
          g_ptr_array_add (writer->acknowledged, g_strdup (ids->pdata[i]));
        }
    }
  return NULL;
}

static void
test_feed_concurrent_writers (Fixture       *f,
                              gconstpointer  data)
{
  enum { N_WRITERS = 4, N_PUSHES = 25 };
  Writer writers[N_WRITERS];
  GThread *threads[N_WRITERS];
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) all = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *cursor = NULL;
  guint n_acknowledged = 0, n_reads = 0;
  gboolean writing = TRUE;

  for (guint w = 0; w < N_WRITERS; w++)
    {
      writers[w] = (Writer) { f, w, N_PUSHES, g_ptr_array_new_with_free_func (g_free) };
      threads[w] = g_thread_new ("writer", write_tasks, &writers[w]);
    }

  /* The reader never starts over: it goes on from its cursor, through
   * either process, while the writers write. */
  while (writing)
    {
      g_autofree char *next = read_feed (f->session, f->servers[n_reads % N_SERVERS], f->token,
                                         cursor, seen);

      g_free (cursor);
      cursor = g_steal_pointer (&next);
      n_reads++;
      writing = FALSE;
      for (guint w = 0; w < N_WRITERS; w++)
        if (writers[w].acknowledged->len < N_PUSHES * 5)
          writing = TRUE;
    }
  for (guint w = 0; w < N_WRITERS; w++)
    g_thread_join (threads[w]);
  /* A last read after every write was acknowledged. */
  g_free (read_feed (f->session, f->servers[n_reads % N_SERVERS], f->token, cursor, seen));
  g_test_message ("%u incremental reads", n_reads + 1);

  g_free (read_feed (f->session, f->servers[0], f->token, NULL, all));
  for (guint w = 0; w < N_WRITERS; w++)
    {
      for (guint i = 0; i < writers[w].acknowledged->len; i++)
        {
          const char *id = writers[w].acknowledged->pdata[i];

          if (!g_hash_table_contains (seen, id))
            g_error ("the reader's pulls skipped task %s", id);
          g_assert_true (g_hash_table_contains (all, id));
        }
      n_acknowledged += writers[w].acknowledged->len;
      g_ptr_array_unref (writers[w].acknowledged);
    }
  g_assert_cmpuint (n_acknowledged, ==, N_WRITERS * N_PUSHES * 5);
  g_assert_cmpuint (g_hash_table_size (seen), ==, n_acknowledged);
  g_assert_cmpuint (g_hash_table_size (all), ==, n_acknowledged);
}

/* A server process killed (SIGKILL) in the middle of pushes: every op it
 * acknowledged is there on the other one; what it had not acknowledged is
 * resent there and applied once. */

typedef struct
{
  Fixture    *f;
  GMutex      lock;
  guint       n_acknowledged_pushes;
  gboolean    killed;           /* set by the main thread */
  GPtrArray  *acknowledged;     /* task ids */
  GPtrArray  *resent_ids;       /* task ids of the push that met the kill */
  GPtrArray  *resent_op_ids;
} Pusher;

static gpointer
push_until_killed (gpointer data)
{
  Pusher *pusher = data;
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 60, NULL);
  gboolean failed_over = FALSE;
  guint after_failover = 0;

  /* Pushes of 200 creates, back to back, to server 0 until it dies, then
   * to server 1: the dead one is nearly always in the middle of one. */
  for (guint push = 0; after_failover < 3 && push < 1000; push++)
    {
      g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GPtrArray) op_ids = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *body = NULL;
      g_autoptr(TestResponse) response = NULL;
      JsonArray *results;

      for (guint i = 0; i < 200; i++)
        {
          g_autofree char *title = g_strdup_printf ("Push %u op %u", push, i);

          g_ptr_array_add (ids, g_uuid_string_random ());
          g_ptr_array_add (op_ids, g_uuid_string_random ());
          g_ptr_array_add (ops, create_op (op_ids->pdata[i], ids->pdata[i], title));
        }
      body = push_body ("dev-kill", ops);

      if (!failed_over &&
          (!try_request (session, pusher->f->servers[0]->url, "POST", "/v1/sync/push",
                         pusher->f->token, body, &response) ||
           response->status >= 500))
        {
          gboolean killed;

          g_mutex_lock (&pusher->lock);
          killed = pusher->killed;
          g_mutex_unlock (&pusher->lock);
          g_assert_true (killed);
          /* What the client does: the same ops, same ids, elsewhere. */
          failed_over = TRUE;
          g_clear_pointer (&response, test_response_free);
          pusher->resent_ids = g_ptr_array_ref (ids);
          pusher->resent_op_ids = g_ptr_array_ref (op_ids);
        }
      if (failed_over)
        {
          /* The dead process's transaction may hold the ops' keys a moment
           * longer, until PostgreSQL notices: in_progress, then applied. */
          response = push_settled (session, pusher->f->servers[1], pusher->f->token, body);
          after_failover++;
        }

      g_assert_cmpuint (response->status, ==, 200);
      results = json_object_get_array_member (json_node_get_object (response->json), "results");
      g_assert_cmpuint (json_array_get_length (results), ==, ids->len);
      for (guint i = 0; i < ids->len; i++)
        {
          JsonObject *result = json_array_get_object_element (results, i);

          g_assert_cmpstr (json_object_get_string_member (result, "type"), ==, "applied");
          g_ptr_array_add (pusher->acknowledged, g_strdup (ids->pdata[i]));
        }
      g_mutex_lock (&pusher->lock);
      pusher->n_acknowledged_pushes++;
      g_mutex_unlock (&pusher->lock);
    }
  g_assert_true (failed_over);
  return NULL;
}

static void
test_kill_mid_push (Fixture       *f,
                    gconstpointer  data)
{
  Pusher pusher = { .f = f, .acknowledged = g_ptr_array_new_with_free_func (g_free) };
  g_autoptr(GHashTable) revs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GThread *thread;
  guint done = 0;

  g_mutex_init (&pusher.lock);
  thread = g_thread_new ("pusher", push_until_killed, &pusher);

  /* Kill server 0 once it has acknowledged a few pushes; the pusher is
   * sending the next one. */
  while (done < 3)
    {
      g_usleep (G_USEC_PER_SEC / 100);
      g_mutex_lock (&pusher.lock);
      done = pusher.n_acknowledged_pushes;
      if (done >= 3)
        pusher.killed = TRUE;
      g_mutex_unlock (&pusher.lock);
    }
  test_server_kill (f->servers[0]);
  g_thread_join (thread);

  /* Everything acknowledged, by either process, is in the feed once, at
   * revision 1. */
  g_free (read_feed (f->session, f->servers[1], f->token, NULL, revs));
  g_test_message ("%u ops acknowledged", pusher.acknowledged->len);
  g_assert_cmpuint (g_hash_table_size (revs), ==, pusher.acknowledged->len);
  for (guint i = 0; i < pusher.acknowledged->len; i++)
    {
      gpointer rev = NULL;

      if (!g_hash_table_lookup_extended (revs, pusher.acknowledged->pdata[i], NULL, &rev))
        g_error ("acknowledged task %s is lost", (char *) pusher.acknowledged->pdata[i]);
      g_assert_cmpint (GPOINTER_TO_INT (rev), ==, 1);
    }
  /* The push that met the kill: applied once, whether or not the dead
   * process had committed it. */
  g_assert_nonnull (pusher.resent_ids);
  for (guint i = 0; i < pusher.resent_ids->len; i += 37)
    g_assert_cmpuint (revisions_of_op (f->session, f->servers[1], f->token,
                                       pusher.resent_ids->pdata[i],
                                       pusher.resent_op_ids->pdata[i]), ==, 1);

  g_ptr_array_unref (pusher.acknowledged);
  g_clear_pointer (&pusher.resent_ids, g_ptr_array_unref);
  g_clear_pointer (&pusher.resent_op_ids, g_ptr_array_unref);
  g_mutex_clear (&pusher.lock);
}

/* A key still being processed: another transaction holds its claim, the
 * advisory lock of docs/architecture.md, computed here again in SQL from
 * the documented derivation (SHA-256 of "USER_ID:KEY", the first 8 bytes
 * as two big-endian int4). The test's own connection holds it, for as long
 * as it likes: no timing involved. */

static const char claim_sql[] =
  "SELECT %s (('x' || substr (k.h, 1, 8))::bit(32)::int4, "
  "           ('x' || substr (k.h, 9, 8))::bit(32)::int4) "
  "FROM (SELECT encode (sha256 (convert_to (t.user_id || ':' || $2, 'UTF8')), 'hex') AS h "
  "      FROM tokens t WHERE t.hash = encode (sha256 (convert_to ($1, 'UTF8')), 'hex')) AS k";

static void
hold_key (TestDatabase *db,
          const char   *token,
          const char   *key,
          gboolean      hold)
{
  g_autofree char *sql = g_strdup_printf (claim_sql, hold ? "pg_try_advisory_lock"
                                                          : "pg_advisory_unlock");
  g_autofree char *done = test_database_value (db, sql, (const char *[]) { token, key, NULL });

  g_assert_cmpstr (done, ==, "t");
}

static TestResponse *
put_task (SoupSession *session,
          TestServer  *server,
          const char  *token,
          const char  *id,
          const char  *key,
          const char  *body)
{
  g_autofree char *path = g_strdup_printf ("/v1/tasks/%s", id);

  return test_request (session, server, "PUT", path, token, body,
                       (const char *[]) { "If-None-Match", "*", "Idempotency-Key", key, NULL });
}

static void
assert_no_task (Fixture    *f,
                const char *id)
{
  g_autofree char *path = g_strdup_printf ("/v1/tasks/%s", id);

  for (guint s = 0; s < N_SERVERS; s++)
    {
      g_autoptr(TestResponse) response = request (f->session, f->servers[s], "GET", path, f->token,
                                                  NULL);

      g_assert_cmpuint (response->status, ==, 404);
    }
}

static void
test_key_in_progress (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(TestDatabase) db = test_database_open (f->servers[0]->database);
  g_autofree char *busy_op = g_uuid_string_random ();
  g_autofree char *next_op = g_uuid_string_random ();
  g_autofree char *other_op = g_uuid_string_random ();
  g_autofree char *task = g_uuid_string_random ();
  g_autofree char *other_task = g_uuid_string_random ();
  g_autofree char *put_id = g_uuid_string_random ();
  g_autofree char *free_id = g_uuid_string_random ();
  g_autofree char *put_key = g_uuid_string_random ();
  g_autofree char *http_key = g_strconcat ("http:", put_key, NULL);
  g_autofree char *update = NULL;
  g_autofree char *body = NULL;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(TestResponse) held = NULL;
  g_autoptr(TestResponse) applied = NULL;
  g_autoptr(TestResponse) replayed = NULL;
  g_autoptr(TestResponse) in_use = NULL;
  g_autoptr(TestResponse) put = NULL;
  g_autoptr(TestResponse) put_again = NULL;
  g_autoptr(TestResponse) same_uuid = NULL;
  JsonArray *results;
  JsonObject *problem;

  /* A push: the held key's op, a later op of the same task, another task. */
  update = g_strdup_printf ("{\"op_id\":\"%s\",\"entity\":\"task\",\"entity_id\":\"%s\","
                            "\"kind\":\"update\",\"base_rev\":1,\"patch\":{\"done\":true},"
                            "\"base\":{\"done\":false}}", next_op, task);
  g_ptr_array_add (ops, create_op (busy_op, task, "Claimed elsewhere"));
  g_ptr_array_add (ops, g_steal_pointer (&update));
  g_ptr_array_add (ops, create_op (other_op, other_task, "Not claimed"));
  body = push_body ("dev-a", ops);

  hold_key (db, f->token, busy_op, TRUE);
  hold_key (db, f->token, http_key, TRUE);

  held = request (f->session, f->servers[0], "POST", "/v1/sync/push", f->token, body);
  g_assert_true (has_in_progress (held));
  results = json_object_get_array_member (json_node_get_object (held->json), "results");
  g_assert_cmpuint (json_array_get_length (results), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (results, 0),
                                                  "op_id"), ==, busy_op);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (results, 0),
                                                  "type"), ==, "in_progress");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (results, 1),
                                               "status"), ==, 424);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (results, 1),
                                                  "type"), ==, "held");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (results, 2),
                                               "status"), ==, 201);
  assert_no_task (f, task);

  /* PUT with a key in use: 409, on either process, nothing written. */
  in_use = put_task (f->session, f->servers[1], f->token, put_id, put_key, "{\"title\":\"Put\"}");
  g_assert_cmpuint (in_use->status, ==, 409);
  g_assert_cmpstr (soup_message_headers_get_content_type (in_use->headers, NULL), ==,
                   "application/problem+json");
  g_assert_cmpstr (soup_message_headers_get_one (in_use->headers, "Retry-After"), ==, "1");
  problem = json_node_get_object (in_use->json);
  g_assert_cmpstr (json_object_get_string_member (problem, "type"), ==, "idempotency-key-in-use");
  g_assert_cmpint (json_object_get_int_member (problem, "status"), ==, 409);
  assert_no_task (f, put_id);

  /* Keys of PUT/DELETE live apart from op ids, and so do their claims:
   * the held op id as an Idempotency-Key is free. */
  same_uuid = put_task (f->session, f->servers[0], f->token, free_id, busy_op,
                        "{\"title\":\"Not claimed\"}");
  g_assert_cmpuint (same_uuid->status, ==, 201);

  /* Released: the retries are applied once, then replayed. */
  hold_key (db, f->token, busy_op, FALSE);
  hold_key (db, f->token, http_key, FALSE);

  applied = request (f->session, f->servers[1], "POST", "/v1/sync/push", f->token, body);
  g_assert_false (has_in_progress (applied));
  results = json_object_get_array_member (json_node_get_object (applied->json), "results");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (results, 0),
                                               "status"), ==, 201);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (results, 1),
                                               "status"), ==, 200);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (results, 2),
                                               "status"), ==, 201);
  g_assert_null (soup_message_headers_get_one (applied->headers, "Retry-After"));
  replayed = request (f->session, f->servers[0], "POST", "/v1/sync/push", f->token, body);
  g_assert_cmpstr (replayed->body, ==, applied->body);
  g_assert_cmpuint (revisions_of_op (f->session, f->servers[0], f->token, task, busy_op), ==, 1);
  g_assert_cmpuint (revisions_of_op (f->session, f->servers[0], f->token, task, next_op), ==, 1);

  put = put_task (f->session, f->servers[1], f->token, put_id, put_key, "{\"title\":\"Put\"}");
  g_assert_cmpuint (put->status, ==, 201);
  g_assert_null (soup_message_headers_get_one (put->headers, "Idempotent-Replayed"));
  put_again = put_task (f->session, f->servers[0], f->token, put_id, put_key,
                        "{\"title\":\"Put\"}");
  g_assert_cmpuint (put_again->status, ==, 201);
  g_assert_cmpstr (soup_message_headers_get_one (put_again->headers, "Idempotent-Replayed"), ==,
                   "true");
  g_assert_cmpstr (put_again->body, ==, put->body);
}

/* Devices (tandem-cli processes, each with its own database) syncing through
 * a fault-injecting load balancer that sends each request to either process
 * at random: no op applied twice, no change skipped by a pull, every device
 * ends up with what the server holds. */

#define N_DEVICES 3

typedef struct
{
  char *db;
  GPtrArray *own;   /* ids of the tasks this device made */
} Device;

/* Processes started here die with the test, even when it aborts. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Runs tandem-cli on @device; its exit status, and its stdout in @out. */
static int
run_cli (Device            *device,
         const char *const *argv,
         char             **out)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *stdout_text = NULL;
  g_autofree char *stderr_text = NULL;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_unsetenv (launcher, "TANDEM_DB");
  g_subprocess_launcher_setenv (launcher, "TANDEM_NO_KEYRING", "1", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  g_ptr_array_add (args, (char *) g_getenv ("TANDEM_CLI"));
  g_ptr_array_add (args, "--db");
  g_ptr_array_add (args, device->db);
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (char *) argv[i]);
  g_ptr_array_add (args, NULL);
  g_assert_nonnull (args->pdata[0]);

  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) args->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &stdout_text, &stderr_text, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  if (g_subprocess_get_exit_status (process) != 0)
    g_test_message ("tandem-cli %s: exit %d: %s", argv[0], g_subprocess_get_exit_status (process),
                    stderr_text);
  if (out != NULL)
    *out = g_strstrip (g_steal_pointer (&stdout_text));
  return g_subprocess_get_exit_status (process);
}

#define CLI_OK(device, out, ...) \
  g_assert_cmpint (run_cli ((device), (const char *const[]) { __VA_ARGS__, NULL }, (out)), ==, 0)

static const char *faults[] = {
  "{\"drop_response\":1,\"count\":1,\"path\":\"/v1/sync/push\"}",
  "{\"drop_response\":1,\"count\":1,\"path\":\"/v1/sync/changes\"}",
  "{\"drop_request\":1,\"count\":1}",
  "{\"status\":500,\"count\":1}",
  "{\"status\":503,\"count\":1,\"path\":\"/v1/sync/push\"}",
};

/* One random local change on @device. */
static void
random_change (Device *device,
               guint   number,
               GRand  *rand)
{
  g_autofree char *title = g_strdup_printf ("%s change %u", device->db, number);
  guint kind = device->own->len == 0 ? 0 : (guint) g_rand_int_range (rand, 0, 5);

  if (kind == 0)
    {
      g_autofree char *out = NULL;

      CLI_OK (device, &out, "add", title);
      /* `add` prints the new id. */
      g_assert_cmpuint (strlen (out), >, 0);
      g_ptr_array_add (device->own, g_strdup (out));
    }
  else
    {
      const char *id = device->own->pdata[g_rand_int_range (rand, 0, (gint32) device->own->len)];
      g_autofree char *tag = g_strdup_printf ("+t%u", number % 4);

      switch (kind)
        {
        case 1:
          CLI_OK (device, NULL, "edit", id, "--title", title);
          break;
        case 2:
          CLI_OK (device, NULL, "tag", id, tag);
          break;
        case 3:
          CLI_OK (device, NULL, "comment", id, title);
          break;
        default:
          CLI_OK (device, NULL, "edit", id, number % 2 ? "--done" : "--undone");
          break;
        }
    }
}

/* The tasks as a device or the server has them: id -> "rev title done". */
static void
note_task (GHashTable *state,
           JsonObject *task)
{
  g_hash_table_insert (state, g_strdup (json_object_get_string_member (task, "id")),
                       g_strdup_printf ("%" G_GINT64_FORMAT " %s %d",
                                        json_object_get_int_member (task, "rev"),
                                        json_object_get_string_member (task, "title"),
                                        json_object_get_boolean_member (task, "done")));
}

static void
assert_same_state (GHashTable *device,
                   GHashTable *server,
                   const char *name)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, server);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *mine = g_hash_table_lookup (device, key);

      if (g_strcmp0 (mine, value) != 0)
        g_error ("device %s has task %s as “%s”, the server as “%s”", name, (char *) key,
                 mine ? mine : "(missing)", (char *) value);
    }
  g_assert_cmpuint (g_hash_table_size (device), ==, g_hash_table_size (server));
}

static void
test_clients_alternate (Fixture       *f,
                        gconstpointer  data)
{
  const char *upstreams[N_SERVERS + 1] = { NULL };
  g_autoptr(TestProxy) proxy = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (f->seed);
  g_autofree char *dir = g_dir_make_tmp ("tandem-scale-out-XXXXXX", NULL);
  g_autoptr(GHashTable) server = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) feed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Device devices[N_DEVICES];
  guint number = 0, n_faults = 0;
  gboolean settled = FALSE;

  for (guint i = 0; i < N_SERVERS; i++)
    upstreams[i] = f->servers[i]->url;
  proxy = test_proxy_start_balanced (upstreams, f->seed);

  for (guint d = 0; d < N_DEVICES; d++)
    {
      devices[d].db = g_strdup_printf ("%s/device-%u.db", dir, d);
      devices[d].own = g_ptr_array_new_with_free_func (g_free);
      CLI_OK (&devices[d], NULL, "account", "--server", proxy->url, "--token", f->token);
    }

  for (guint round = 0; round < 6; round++)
    for (guint turn = 0; turn < N_DEVICES; turn++)
      {
        Device *device = &devices[g_rand_int_range (rand, 0, N_DEVICES)];
        guint n_changes = (guint) g_rand_int_range (rand, 1, 4);
        int status;

        for (guint c = 0; c < n_changes; c++)
          random_change (device, number++, rand);
        if (g_rand_boolean (rand))
          {
            test_proxy_inject (proxy, faults[g_rand_int_range (rand, 0, G_N_ELEMENTS (faults))]);
            n_faults++;
          }
        /* 0, or 4 when the faults outlasted sync's retries (changes kept). */
        status = run_cli (device, (const char *const[]) { "sync", NULL }, NULL);
        g_assert_true (status == 0 || status == 4);
      }

  /* Faults off; everyone syncs until a whole pass is clean. */
  test_proxy_inject (proxy, "{\"reset\":true}");
  for (guint pass = 0; pass < 4 && !settled; pass++)
    {
      settled = TRUE;
      for (guint d = 0; d < N_DEVICES; d++)
        if (run_cli (&devices[d], (const char *const[]) { "sync", NULL }, NULL) != 0)
          settled = FALSE;
    }
  g_assert_true (settled);
  /* The requests really went to both processes. */
  for (guint i = 0; i < N_SERVERS; i++)
    {
      g_autofree char *index = g_strdup_printf ("%u", i);

      g_assert_cmpint (test_proxy_count (proxy, "forwarded_by_upstream", index), >, 0);
    }
  g_test_message ("%u changes, %u faults", number, n_faults);

  /* What the server holds, read from the start of the feed. */
  {
    g_autofree char *cursor = NULL;
    gboolean more = TRUE;

    while (more)
      {
        g_autofree char *path = cursor
                                  ? g_strdup_printf ("/v1/sync/changes?since=%s&limit=1000", cursor)
                                  : g_strdup ("/v1/sync/changes?limit=1000");
        g_autoptr(TestResponse) page = request (f->session, f->servers[1], "GET", path, f->token,
                                                NULL);
        JsonArray *changes = json_object_get_array_member (json_node_get_object (page->json),
                                                           "changes");

        for (guint i = 0; i < json_array_get_length (changes); i++)
          note_task (server, json_array_get_object_element (changes, i));
        g_free (cursor);
        cursor = g_strdup (json_object_get_string_member (json_node_get_object (page->json),
                                                          "cursor"));
        more = json_object_get_boolean_member (json_node_get_object (page->json), "has_more");
      }
  }

  /* No op applied twice: one revision per op id in every task's history. */
  {
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init (&iter, server);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      {
        g_autofree char *path = g_strdup_printf ("/v1/tasks/%s/history", (char *) key);
        g_autoptr(TestResponse) response = request (f->session, f->servers[0], "GET", path,
                                                    f->token, NULL);
        g_autoptr(GHashTable) op_revs = g_hash_table_new (g_str_hash, g_str_equal);
        JsonArray *entries;

        g_assert_cmpuint (response->status, ==, 200);
        entries = json_object_get_array_member (json_node_get_object (response->json), "history");
        for (guint i = 0; i < json_array_get_length (entries); i++)
          {
            JsonObject *entry = json_array_get_object_element (entries, i);
            const char *op_id = json_object_get_string_member_with_default (entry, "op_id", NULL);
            gint64 rev = json_object_get_int_member (entry, "rev");
            gpointer seen;

            if (op_id == NULL)
              continue;
            if (g_hash_table_lookup_extended (op_revs, op_id, NULL, &seen) &&
                GPOINTER_TO_INT (seen) != (int) rev)
              g_error ("op %s was applied twice to task %s (revisions %d and %d)", op_id,
                       (char *) key, GPOINTER_TO_INT (seen), (int) rev);
            g_hash_table_insert (op_revs, (gpointer) op_id, GINT_TO_POINTER ((int) rev));
          }
      }
  }

  /* Every device settled, and shows what the server holds. */
  for (guint d = 0; d < N_DEVICES; d++)
    {
      g_autoptr(GHashTable) mine = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_autofree char *outbox = NULL;
      g_autofree char *list = NULL;
      g_autoptr(JsonNode) outbox_json = NULL;
      g_autoptr(JsonNode) list_json = NULL;
      JsonArray *tasks;

      CLI_OK (&devices[d], &outbox, "outbox", "--json");
      outbox_json = test_parse_json (outbox);
      g_assert_cmpuint (json_array_get_length (json_node_get_array (outbox_json)), ==, 0);
      CLI_OK (&devices[d], &list, "list", "--all", "--json");
      list_json = test_parse_json (list);
      tasks = json_node_get_array (list_json);
      for (guint i = 0; i < json_array_get_length (tasks); i++)
        note_task (mine, json_array_get_object_element (tasks, i));
      assert_same_state (mine, server, devices[d].db);
    }

  for (guint d = 0; d < N_DEVICES; d++)
    {
      g_autofree char *wal = g_strconcat (devices[d].db, "-wal", NULL);
      g_autofree char *shm = g_strconcat (devices[d].db, "-shm", NULL);

      g_unlink (devices[d].db);
      g_unlink (wal);
      g_unlink (shm);
      g_free (devices[d].db);
      g_ptr_array_unref (devices[d].own);
    }
  g_rmdir (dir);
}

int
main (int    argc,
      char **argv)
{
  const char *database = g_getenv ("TANDEM_TEST_DATABASE");

  g_test_init (&argc, &argv, NULL);

  if (database == NULL || *database == '\0')
    {
      /* Only tests/pg-cluster runs this (suite "postgres"), and it fails
       * loudly in CI when it cannot start PostgreSQL. */
      g_test_skip ("needs $TANDEM_TEST_DATABASE: run it through tests/pg-cluster");
      return g_test_run ();
    }

#define ADD(path, args, func) \
  g_test_add ("/scale-out" path, Fixture, args, fixture_setup, func, fixture_teardown)
  ADD ("/rate-limit-shared", rate_limited_args, test_rate_limit_shared);
  ADD ("/token-revoked-everywhere", unlimited_args, test_token_revoked_everywhere);
  ADD ("/same-op-two-processes", unlimited_args, test_same_op_two_processes);
  ADD ("/key-in-progress", unlimited_args, test_key_in_progress);
  ADD ("/feed-concurrent-writers", unlimited_args, test_feed_concurrent_writers);
  ADD ("/kill-mid-push", unlimited_args, test_kill_mid_push);
  ADD ("/clients-alternate", unlimited_args, test_clients_alternate);
#undef ADD

  return g_test_run ();
}
