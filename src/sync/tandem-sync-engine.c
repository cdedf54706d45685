/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-sync"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "tandem-account.h"
#include "tandem-codec.h"
#include "tandem-sync-engine.h"
#include "tandem-sync-engine-private.h"

#define PUSH_BATCH_MAX      500
#define PULL_PAGE           1000
#define BACKOFF_BASE_USEC   (1 * G_USEC_PER_SEC)
#define BACKOFF_CAP_USEC    (300 * G_USEC_PER_SEC)
#define DEBOUNCE_MSEC       1000
#define REQUEST_TIMEOUT_SEC 30

struct _TandemSyncEngine
{
  GObject          parent_instance;

  TandemStore     *store;
  SoupSession     *session;
  GNetworkMonitor *monitor;
  /* Set by tests to carry requests instead of libsoup (see
   * tandem-sync-engine-private.h); NULL: HTTP. */
  TandemSyncTransportFunc transport;
  gpointer         transport_data;

  TandemSyncState  state;
  gint64           last_synced;
  gint64           backoff_until;
  char            *last_error;

  /* the attempt running now, if any, and who waits for it */
  GTask           *running;
  GPtrArray       *waiting;       /* GTask */

  /* background scheduling */
  gboolean         started;
  guint            interval;
  guint            periodic_id;
  guint            debounce_id;
  guint            retry_id;
  guint            attempts;      /* failed attempts in a row */
  guint            retry_after;   /* seconds the server asked for last time, 0 if none */
  /* Why the last attempt stopped (DONE when it ran through). The outcome
   * callers get says conflicts first, as that is what the user must act
   * on; retrying and the engine's state go by this instead, so an open
   * conflict never hides a server that is down or a token that was refused. */
  TandemSyncOutcome last_failure;
  gulong           network_handler;
  /* The monitor said the network went away and has not said it is back:
   * background triggers wait instead of failing into backoff. */
  gboolean         network_lost;
  gboolean         sync_again;
  guint            batch_size;
};

G_DEFINE_FINAL_TYPE (TandemSyncEngine, tandem_sync_engine, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STORE,
  PROP_NETWORK_MONITOR,
  PROP_STATE,
  PROP_LAST_SYNCED,
  PROP_BACKOFF_UNTIL,
  PROP_LAST_ERROR,
  N_PROPS
};

enum {
  RECORDS_CHANGED,
  CONFLICTS_CHANGED,
  TASK_STATUS_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static const char *state_names[] = {
  [TANDEM_SYNC_STATE_IDLE] = "idle",
  [TANDEM_SYNC_STATE_PUSHING] = "pushing",
  [TANDEM_SYNC_STATE_PULLING] = "pulling",
  [TANDEM_SYNC_STATE_BACKING_OFF] = "backing-off",
  [TANDEM_SYNC_STATE_PAUSED_AUTH] = "paused-auth",
  [TANDEM_SYNC_STATE_OFFLINE] = "offline",
  [TANDEM_SYNC_STATE_SIGNED_OUT] = "signed-out",
};

const char *
tandem_sync_state_to_string (TandemSyncState state)
{
  g_return_val_if_fail (state < G_N_ELEMENTS (state_names), NULL);
  return state_names[state];
}

gint64
tandem_sync_backoff_delay (guint   attempt,
                           guint32 random)
{
  gint64 ceiling = BACKOFF_CAP_USEC;

  if (attempt < 20)
    ceiling = MIN (BACKOFF_CAP_USEC, BACKOFF_BASE_USEC << attempt);
  /* Full jitter: anywhere between zero and the ceiling, so that devices that
   * failed together do not come back together. */
  return (gint64) ((double) random / G_MAXUINT32 * ceiling);
}

/* Properties */

static void
set_state (TandemSyncEngine *self,
           TandemSyncState   state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
set_last_error (TandemSyncEngine *self,
                const char       *message)
{
  if (g_strcmp0 (self->last_error, message) == 0)
    return;
  g_free (self->last_error);
  self->last_error = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_ERROR]);
}

static void
set_backoff_until (TandemSyncEngine *self,
                   gint64            until)
{
  if (self->backoff_until == until)
    return;
  self->backoff_until = until;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BACKOFF_UNTIL]);
}

static void
tandem_sync_engine_dispose (GObject *object)
{
  TandemSyncEngine *self = (TandemSyncEngine *) object;

  tandem_sync_engine_stop (self);
  g_clear_object (&self->session);
  g_clear_object (&self->monitor);
  G_OBJECT_CLASS (tandem_sync_engine_parent_class)->dispose (object);
}

static void
tandem_sync_engine_finalize (GObject *object)
{
  TandemSyncEngine *self = (TandemSyncEngine *) object;

  g_clear_object (&self->store);
  g_clear_pointer (&self->waiting, g_ptr_array_unref);
  g_free (self->last_error);
  G_OBJECT_CLASS (tandem_sync_engine_parent_class)->finalize (object);
}

static void
tandem_sync_engine_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  TandemSyncEngine *self = TANDEM_SYNC_ENGINE (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_NETWORK_MONITOR:
      g_value_set_object (value, self->monitor);
      break;
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    case PROP_LAST_SYNCED:
      g_value_set_int64 (value, self->last_synced);
      break;
    case PROP_BACKOFF_UNTIL:
      g_value_set_int64 (value, self->backoff_until);
      break;
    case PROP_LAST_ERROR:
      g_value_set_string (value, self->last_error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_sync_engine_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  TandemSyncEngine *self = TANDEM_SYNC_ENGINE (object);

  switch (prop_id)
    {
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    case PROP_NETWORK_MONITOR:
      self->monitor = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_sync_engine_constructed (GObject *object)
{
  TandemSyncEngine *self = TANDEM_SYNC_ENGINE (object);
  g_autofree char *last = NULL;

  G_OBJECT_CLASS (tandem_sync_engine_parent_class)->constructed (object);

  g_assert (TANDEM_IS_STORE (self->store));
  if (self->monitor == NULL)
    self->monitor = g_object_ref (g_network_monitor_get_default ());
  last = tandem_store_get_setting (self->store, "last_synced");
  if (last != NULL)
    self->last_synced = g_ascii_strtoll (last, NULL, 10);
}

static void
tandem_sync_engine_class_init (TandemSyncEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = tandem_sync_engine_constructed;
  object_class->dispose = tandem_sync_engine_dispose;
  object_class->finalize = tandem_sync_engine_finalize;
  object_class->get_property = tandem_sync_engine_get_property;
  object_class->set_property = tandem_sync_engine_set_property;

  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, TANDEM_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /* Whose "network-changed" starts the health check; NULL: the default. */
  properties[PROP_NETWORK_MONITOR] =
    g_param_spec_object ("network-monitor", NULL, NULL, G_TYPE_NETWORK_MONITOR,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL, 0, TANDEM_SYNC_STATE_SIGNED_OUT, 0,
                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LAST_SYNCED] =
    g_param_spec_int64 ("last-synced", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_BACKOFF_UNTIL] =
    g_param_spec_int64 ("backoff-until", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LAST_ERROR] =
    g_param_spec_string ("last-error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Rows changed in the store because of sync (pushed, pulled, merged). */
  signals[RECORDS_CHANGED] = g_signal_new ("records-changed", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[CONFLICTS_CHANGED] = g_signal_new ("conflicts-changed", G_TYPE_FROM_CLASS (klass),
                                             G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                             0);
  /* A task's sync_status changed because of sync: (task id, TandemSyncStatus). */
  signals[TASK_STATUS_CHANGED] = g_signal_new ("task-status-changed", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_INT);
}

static void
tandem_sync_engine_init (TandemSyncEngine *self)
{
  self->session = soup_session_new_with_options ("timeout", REQUEST_TIMEOUT_SEC,
                                                 "idle-timeout", 60,
                                                 "user-agent", "Tandem/" PACKAGE_VERSION,
                                                 NULL);
  self->waiting = g_ptr_array_new_with_free_func (g_object_unref);
  self->batch_size = PUSH_BATCH_MAX;
}

void
tandem_sync_engine_set_batch_size (TandemSyncEngine *self,
                                   guint             batch_size)
{
  g_return_if_fail (TANDEM_IS_SYNC_ENGINE (self));
  g_return_if_fail (batch_size >= 1 && batch_size <= PUSH_BATCH_MAX);

  self->batch_size = batch_size;
}

TandemSyncEngine *
tandem_sync_engine_new (TandemStore *store)
{
  return tandem_sync_engine_new_with_network_monitor (store, NULL);
}

TandemSyncEngine *
tandem_sync_engine_new_with_network_monitor (TandemStore     *store,
                                             GNetworkMonitor *monitor)
{
  g_return_val_if_fail (TANDEM_IS_STORE (store), NULL);
  g_return_val_if_fail (monitor == NULL || G_IS_NETWORK_MONITOR (monitor), NULL);

  return g_object_new (TANDEM_TYPE_SYNC_ENGINE,
                       "store", store,
                       "network-monitor", monitor,
                       NULL);
}

GNetworkMonitor *
tandem_sync_engine_get_network_monitor (TandemSyncEngine *self)
{
  g_return_val_if_fail (TANDEM_IS_SYNC_ENGINE (self), NULL);
  return self->monitor;
}

TandemStore *
tandem_sync_engine_get_store (TandemSyncEngine *self)
{
  g_return_val_if_fail (TANDEM_IS_SYNC_ENGINE (self), NULL);
  return self->store;
}

TandemSyncState
tandem_sync_engine_get_state (TandemSyncEngine *self)
{
  g_return_val_if_fail (TANDEM_IS_SYNC_ENGINE (self), TANDEM_SYNC_STATE_IDLE);
  return self->state;
}

gint64
tandem_sync_engine_get_last_synced (TandemSyncEngine *self)
{
  g_return_val_if_fail (TANDEM_IS_SYNC_ENGINE (self), 0);
  return self->last_synced;
}

gint64
tandem_sync_engine_get_backoff_until (TandemSyncEngine *self)
{
  g_return_val_if_fail (TANDEM_IS_SYNC_ENGINE (self), 0);
  return self->backoff_until;
}

const char *
tandem_sync_engine_get_last_error (TandemSyncEngine *self)
{
  g_return_val_if_fail (TANDEM_IS_SYNC_ENGINE (self), NULL);
  return self->last_error;
}

/* Per-task status changes */

/* Reading statuses costs a lookup per task: only done for listeners. */
static gboolean
wants_task_statuses (TandemSyncEngine *self)
{
  return g_signal_has_handler_pending (self, signals[TASK_STATUS_CHANGED], 0, FALSE);
}

/* The sync_status of each task among @ids (a set) as the store has it now,
 * keyed by id; ids that are not tasks are left out. */
static GHashTable *
task_statuses (TandemSyncEngine *self,
               GHashTable       *ids)
{
  GHashTable *statuses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer id;

  g_hash_table_iter_init (&iter, ids);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    {
      g_autoptr(TandemTask) task = tandem_store_get_task (self->store, id, NULL);

      if (task != NULL)
        g_hash_table_insert (statuses, g_strdup (id), GINT_TO_POINTER (task->sync_status));
    }
  return statuses;
}

/* Emits task-status-changed for each task of @before (from task_statuses())
 * whose status is not the same any more. */
static void
announce_task_statuses (TandemSyncEngine *self,
                        GHashTable       *before)
{
  GHashTableIter iter;
  gpointer id, status;

  g_hash_table_iter_init (&iter, before);
  while (g_hash_table_iter_next (&iter, &id, &status))
    {
      g_autoptr(TandemTask) task = tandem_store_get_task (self->store, id, NULL);

      if (task != NULL && task->sync_status != (TandemSyncStatus) GPOINTER_TO_INT (status))
        g_signal_emit (self, signals[TASK_STATUS_CHANGED], 0, (const char *) id,
                       (int) task->sync_status);
    }
}

/* The task ids of @ops (TandemOp *), as a set. */
static GHashTable *
task_ids_of_ops (GPtrArray *ops)
{
  GHashTable *ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < ops->len; i++)
    {
      const TandemOp *op = g_ptr_array_index (ops, i);

      if (op->entity == TANDEM_ENTITY_TASK)
        g_hash_table_add (ids, g_strdup (op->entity_id));
    }
  return ids;
}

/* One attempt */

typedef struct
{
  char              *url;
  char              *token;
  guint              push_limit;     /* halves on 413 */
  GPtrArray         *batch;          /* TandemOp * in flight */
  char              *cursor;
  gboolean           full_resync;
  /* Pages read but not stored yet, oldest first, and the idle source that
   * stores them; the next page is asked for while one is being stored. */
  GQueue            *pages;          /* TandemChangesPage * */
  guint              store_pages_id;
  gboolean           stopped;        /* the attempt has answered; late pages are dropped */
  GHashTable        *seen;           /* ids read during a full resync */
  /* For task-status-changed, only while someone listens: */
  GHashTable        *sent_tasks;     /* ids of tasks marked syncing by this attempt */
  GHashTable        *pull_watch;     /* ids of tasks with queued ops, read when the pull starts */
  guint              retry_after;    /* seconds, from the server */
  gboolean           changed;
  gboolean           conflicts_changed;
  TandemSyncOutcome  failure;        /* set when the attempt stops early */
  gboolean           failed;
} Attempt;

static void
attempt_free (Attempt *attempt)
{
  g_free (attempt->url);
  g_free (attempt->token);
  g_clear_pointer (&attempt->batch, g_ptr_array_unref);
  g_free (attempt->cursor);
  g_clear_pointer (&attempt->seen, g_hash_table_unref);
  g_clear_pointer (&attempt->sent_tasks, g_hash_table_unref);
  g_clear_pointer (&attempt->pull_watch, g_hash_table_unref);
  if (attempt->pages != NULL)
    g_queue_free_full (attempt->pages, (GDestroyNotify) tandem_changes_page_free);
  g_clear_handle_id (&attempt->store_pages_id, g_source_remove);
  g_free (attempt);
}

static void push_next (GTask *task);
static void pull_next (GTask *task);

static void
finish_attempt (GTask *task)
{
  TandemSyncEngine *self = g_task_get_source_object (task);
  Attempt *attempt = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  TandemSyncOutcome outcome = TANDEM_SYNC_OUTCOME_DONE;
  guint n_pending = 0, n_parked = 0, n_conflicts = 0;
  g_autoptr(GHashTable) before = NULL;

  attempt->stopped = TRUE;

  /* Rows still syncing (their request failed) go back to pending. */
  if (attempt->sent_tasks != NULL)
    before = task_statuses (self, attempt->sent_tasks);
  if (!tandem_store_reset_syncing (self->store, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (before != NULL)
    announce_task_statuses (self, before);
  if (!tandem_store_get_sync_counts (self->store, &n_pending, &n_parked, &n_conflicts, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  self->last_failure = attempt->failed ? attempt->failure : TANDEM_SYNC_OUTCOME_DONE;
  if (attempt->failed)
    outcome = attempt->failure;
  else if (n_conflicts > 0)
    outcome = TANDEM_SYNC_OUTCOME_CONFLICTS;
  else if (n_parked > 0)
    outcome = TANDEM_SYNC_OUTCOME_PARKED;
  /* Conflicts win over everything: they are what the user must act on. */
  if (n_conflicts > 0 && outcome != TANDEM_SYNC_OUTCOME_SIGNED_OUT)
    outcome = TANDEM_SYNC_OUTCOME_CONFLICTS;

  if (!attempt->failed)
    {
      self->retry_after = 0;
      tandem_store_set_setting (self->store, "auth_paused", "", NULL);
    }
  if (!attempt->failed)
    {
      gint64 now = g_get_real_time () / G_USEC_PER_SEC;

      /* To the second: two syncs within one leave it as it is. */
      if (self->last_synced != now)
        {
          g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, now);

          self->last_synced = now;
          tandem_store_set_setting (self->store, "last_synced", text, NULL);
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_SYNCED]);
        }
      set_last_error (self, NULL);
    }

  if (attempt->changed)
    g_signal_emit (self, signals[RECORDS_CHANGED], 0);
  if (attempt->conflicts_changed)
    g_signal_emit (self, signals[CONFLICTS_CHANGED], 0);

  g_task_return_int (task, outcome);
}

/* Stops the attempt early; the outbox stays as it is. */
static void
fail_attempt (GTask             *task,
              TandemSyncOutcome  outcome,
              const char        *message)
{
  TandemSyncEngine *self = g_task_get_source_object (task);
  Attempt *attempt = g_task_get_task_data (task);

  attempt->failed = TRUE;
  attempt->failure = outcome;
  self->retry_after = attempt->retry_after;
  set_last_error (self, message);
  if (outcome == TANDEM_SYNC_OUTCOME_AUTH)
    tandem_store_set_setting (self->store, "auth_paused", "1", NULL);
  finish_attempt (task);
}

/* Requests: over libsoup, or through the transport a test set. */

TandemSyncResponse *
tandem_sync_response_new (guint       status,
                          const char *retry_after,
                          GBytes     *body)
{
  TandemSyncResponse *response = g_new0 (TandemSyncResponse, 1);

  response->status = status;
  response->retry_after = g_strdup (retry_after);
  response->body = body != NULL ? g_bytes_ref (body) : g_bytes_new (NULL, 0);
  return response;
}

void
tandem_sync_response_free (TandemSyncResponse *response)
{
  if (response == NULL)
    return;
  g_free (response->retry_after);
  g_bytes_unref (response->body);
  g_free (response);
}

void
tandem_sync_engine_set_transport (TandemSyncEngine        *self,
                                  TandemSyncTransportFunc  func,
                                  gpointer                 user_data)
{
  g_return_if_fail (TANDEM_IS_SYNC_ENGINE (self));

  self->transport = func;
  self->transport_data = user_data;
}

static void
soup_sent (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(GTask) call = data;
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  GError *error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);

  if (body == NULL)
    {
      g_task_return_error (call, error);
      return;
    }
  g_task_return_pointer (call,
                         tandem_sync_response_new (soup_message_get_status (message),
                                                   soup_message_headers_get_one (
                                                     soup_message_get_response_headers (message),
                                                     "Retry-After"),
                                                   body),
                         (GDestroyNotify) tandem_sync_response_free);
}

/* Sends @request to the server at @url; @callback gets the answer from
 * receive_response(). */
static void
send_request (TandemSyncEngine        *self,
              const char              *url,
              const TandemSyncRequest *request,
              GCancellable            *cancellable,
              GAsyncReadyCallback      callback,
              gpointer                 data)
{
  GTask *call = g_task_new (self, cancellable, callback, data);
  g_autofree char *uri = NULL;
  g_autoptr(SoupMessage) message = NULL;

  /* A cancelled request answers like libsoup does, with its own error. */
  g_task_set_check_cancellable (call, FALSE);
  if (self->transport != NULL)
    {
      self->transport (self, request, call, self->transport_data);
      g_object_unref (call);
      return;
    }

  uri = g_strconcat (url, request->path, NULL);
  if ((message = soup_message_new (request->method, uri)) == NULL)
    {
      g_task_return_new_error (call, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("“%s” is not a valid server address"), url);
      g_object_unref (call);
      return;
    }
  if (request->authorization != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization",
                                  request->authorization);
  if (request->body != NULL)
    soup_message_set_request_body_from_bytes (message, request->content_type, request->body);
  /* libsoup sends a GET again by itself when a kept-alive connection
   * closes before any answer, and libsoup 3.2 can then crash: the read it
   * was waiting for completes without error on a message whose I/O has
   * been torn down (run_until_read_done() asks a NULL io for the response
   * stream). A GET on a connection of its own is never re-sent that way:
   * its failure comes back here, and the attempt is retried like any
   * other. POSTs are never re-sent by libsoup and keep reusing
   * connections. */
  if (g_strcmp0 (request->method, "POST") != 0)
    soup_message_add_flags (message, SOUP_MESSAGE_NEW_CONNECTION);
  soup_session_send_and_read_async (self->session, message, G_PRIORITY_DEFAULT, cancellable,
                                    soup_sent, call);
}

static TandemSyncResponse *
receive_response (GAsyncResult  *result,
                  GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Sends an authorized request of the attempt running. */
static void
send_attempt_request (GTask               *task,
                      const char          *method,
                      const char          *path,
                      GBytes              *body,
                      GAsyncReadyCallback  callback)
{
  TandemSyncEngine *self = g_task_get_source_object (task);
  Attempt *attempt = g_task_get_task_data (task);
  g_autofree char *auth = g_strconcat ("Bearer ", attempt->token, NULL);
  TandemSyncRequest request = {
    .method = method,
    .path = path,
    .authorization = auth,
    .content_type = body != NULL ? "application/json" : NULL,
    .body = body,
  };

  send_request (self, attempt->url, &request, g_task_get_cancellable (task), callback, task);
}

/* Retry-After in seconds or as an HTTP date; 0 when absent. */
static guint
retry_after (const char *value)
{
  guint64 seconds;

  if (value == NULL)
    return 0;
  if (g_ascii_string_to_unsigned (value, 10, 0, 24 * 3600, &seconds, NULL))
    return (guint) seconds;
  {
    g_autoptr(GDateTime) date = soup_date_time_new_from_http_string (value);
    g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

    if (date != NULL && g_date_time_compare (date, now) > 0)
      return (guint) (g_date_time_difference (date, now) / G_USEC_PER_SEC) + 1;
  }
  return 0;
}

/* The problem+json detail of a failed response, for the user. */
static char *
problem_detail (GBytes *body)
{
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(TandemProblem) problem = NULL;

  if (body == NULL || g_bytes_get_size (body) == 0)
    return NULL;
  node = tandem_json_parse (g_bytes_get_data (body, NULL), g_bytes_get_size (body), NULL);
  if (node == NULL || !(problem = tandem_problem_from_json (node, NULL)))
    return NULL;
  return g_strdup (problem->detail ? problem->detail : problem->title);
}

/* Whether a response status stops the attempt; if so, it has been failed
 * with the right outcome. */
static gboolean
handle_common_failure (GTask              *task,
                       TandemSyncResponse *response,
                       GError             *error)
{
  Attempt *attempt = g_task_get_task_data (task);
  guint status;
  g_autofree char *detail = NULL;
  g_autofree char *text = NULL;

  if (error != NULL)
    {
      text = g_strdup_printf (_("Can't reach the server: %s"), error->message);
      fail_attempt (task, TANDEM_SYNC_OUTCOME_UNREACHABLE, text);
      return TRUE;
    }

  status = response->status;
  /* Only an error answer carries a problem: a page of changes is not read twice. */
  if (status >= 400)
    detail = problem_detail (response->body);
  if (status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN)
    {
      text = g_strdup_printf (_("The server refused the token (%s); sign in again. "
                                "Your changes are kept on this device."),
                              detail ? detail : soup_status_get_phrase (status));
      fail_attempt (task, TANDEM_SYNC_OUTCOME_AUTH, text);
      return TRUE;
    }
  if (status == 429 || status == SOUP_STATUS_SERVICE_UNAVAILABLE || status >= 500)
    {
      attempt->retry_after = retry_after (response->retry_after);
      text = g_strdup_printf (_("The server is busy or failing (%u %s)%s%s"), status,
                              soup_status_get_phrase (status), detail ? ": " : "",
                              detail ? detail : "");
      fail_attempt (task, TANDEM_SYNC_OUTCOME_UNREACHABLE, text);
      return TRUE;
    }
  return FALSE;
}

/* Push */

static void
push_done (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(GTask) task = data;
  TandemSyncEngine *self = g_task_get_source_object (task);
  Attempt *attempt = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemSyncResponse) response = receive_response (result, &error);
  GBytes *body = response != NULL ? response->body : NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GHashTable) before = NULL;
  TandemPushSummary summary = { 0 };
  guint status;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (handle_common_failure (task, response, error))
    return;

  status = response->status;
  if (status == 413 || status == 400 || status == 422)
    {
      /* The request as a whole was refused. Halve the batch until the op
       * responsible is alone, then park only that op (DESIGN §4). */
      if (attempt->batch->len > 1)
        {
          attempt->push_limit = MAX (1, attempt->batch->len / 2);
          push_next (g_steal_pointer (&task));
          return;
        }
      {
        g_autofree char *detail = problem_detail (body);
        g_autofree char *message_text = g_strdup_printf (_("The server refused this change (%u): %s"),
                                                         status, detail ? detail : _("no reason given"));
        TandemPushResult *refused = tandem_push_result_new ();

        refused->op_id = g_strdup (((TandemOp *) g_ptr_array_index (attempt->batch, 0))->op_id);
        refused->status = 422;
        refused->type = g_strdup ("invalid");
        refused->error = g_steal_pointer (&message_text);
        results = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_push_result_free);
        g_ptr_array_add (results, refused);
      }
    }
  else if (status != 200)
    {
      g_autofree char *text = g_strdup_printf (_("Unexpected answer from the server: %u %s"), status,
                                               soup_status_get_phrase (status));

      fail_attempt (task, TANDEM_SYNC_OUTCOME_UNREACHABLE, text);
      return;
    }
  else
    {
      node = tandem_json_parse (g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error);
      if (node != NULL)
        results = tandem_push_response_from_json (node, &error);
      if (results == NULL)
        {
          g_autofree char *text = g_strdup_printf (_("The server's answer could not be read: %s"),
                                                   error->message);

          fail_attempt (task, TANDEM_SYNC_OUTCOME_UNREACHABLE, text);
          return;
        }
    }

  if (attempt->sent_tasks != NULL)
    {
      g_autoptr(GHashTable) ids = task_ids_of_ops (attempt->batch);

      before = task_statuses (self, ids);
    }
  if (!tandem_store_apply_push_results (self->store, results, &summary, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (before != NULL)
    announce_task_statuses (self, before);
  attempt->changed = TRUE;
  if (summary.conflicts > 0 || summary.merged > 0)
    attempt->conflicts_changed = TRUE;

  /* Nothing moved (everything held or in progress elsewhere): try later. */
  if (summary.applied + summary.merged + summary.conflicts + summary.parked == 0)
    {
      attempt->retry_after = 1;
      fail_attempt (task, TANDEM_SYNC_OUTCOME_UNREACHABLE,
                    _("The server is still applying these changes; trying again shortly"));
      return;
    }
  push_next (g_steal_pointer (&task));
}

static void
push_next (GTask *task)
{
  TandemSyncEngine *self = g_task_get_source_object (task);
  Attempt *attempt = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemPushRequest) request = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GPtrArray) ids = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GHashTable) sent = NULL;
  g_autoptr(GHashTable) before = NULL;
  g_autofree char *text = NULL;
  gsize len;

  g_clear_pointer (&attempt->batch, g_ptr_array_unref);
  attempt->batch = tandem_store_outbox_next_batch (self->store, attempt->push_limit, &error);
  if (attempt->batch == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  if (attempt->batch->len == 0)
    {
      if (wants_task_statuses (self))
        {
          g_autoptr(GPtrArray) queued = tandem_store_outbox_list (self->store, 0, NULL);

          if (queued != NULL)
            attempt->pull_watch = task_ids_of_ops (queued);
        }
      set_state (self, TANDEM_SYNC_STATE_PULLING);
      pull_next (task);
      return;
    }

  set_state (self, TANDEM_SYNC_STATE_PUSHING);
  ids = g_ptr_array_new ();
  request = tandem_push_request_new ();
  request->device_id = g_strdup (tandem_store_get_device_id (self->store));
  for (guint i = 0; i < attempt->batch->len; i++)
    {
      TandemOp *op = g_ptr_array_index (attempt->batch, i);

      g_ptr_array_add (ids, op->op_id);
      g_ptr_array_add (request->ops, tandem_op_copy (op));
    }
  g_ptr_array_add (ids, NULL);

  if (attempt->sent_tasks != NULL || wants_task_statuses (self))
    {
      sent = task_ids_of_ops (attempt->batch);
      before = task_statuses (self, sent);
    }

  /* Frozen from here on: a retry sends exactly these ops again. */
  if (!tandem_store_outbox_mark_sent (self->store, (const char *const *) ids->pdata, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  if (before != NULL)
    {
      GHashTableIter iter;
      gpointer id;

      announce_task_statuses (self, before);
      if (attempt->sent_tasks == NULL)
        attempt->sent_tasks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_hash_table_iter_init (&iter, sent);
      while (g_hash_table_iter_next (&iter, &id, NULL))
        g_hash_table_add (attempt->sent_tasks, g_strdup (id));
    }
  attempt->changed = TRUE;

  node = tandem_push_request_to_json (request);
  text = tandem_json_to_string (node, FALSE);
  len = strlen (text);
  bytes = g_bytes_new_take (g_steal_pointer (&text), len);
  send_attempt_request (task, "POST", "/v1/sync/push", bytes, push_done);
}

/* Pull */

/* Ends the attempt with @error from inside the pull. */
static void
stop_pull_with_error (GTask  *task,
                      GError *error)
{
  Attempt *attempt = g_task_get_task_data (task);

  attempt->stopped = TRUE;
  g_task_return_error (task, error);
}

/* Stores the oldest page read; FALSE when there is nothing more to store
 * for now (the queue is empty, or the attempt has ended). */
static gboolean
store_one_page (GTask *task)
{
  TandemSyncEngine *self = g_task_get_source_object (task);
  Attempt *attempt = g_task_get_task_data (task);
  g_autoptr(TandemChangesPage) page = NULL;
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GError) error = NULL;

  if (attempt->stopped || attempt->pages == NULL || g_queue_is_empty (attempt->pages))
    return FALSE;
  page = g_queue_pop_head (attempt->pages);

  /* Only tasks with queued ops can change status in a pull (a syncing one
   * whose op was held goes back to pending); the others stay synced. */
  if (attempt->pull_watch != NULL && g_hash_table_size (attempt->pull_watch) > 0)
    {
      g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);

      for (guint i = 0; i < page->changes->len; i++)
        {
          const TandemRecord *record = g_ptr_array_index (page->changes, i);

          if (record->entity == TANDEM_ENTITY_TASK &&
              g_hash_table_contains (attempt->pull_watch, record->task->id))
            g_hash_table_add (ids, record->task->id);
        }
      before = task_statuses (self, ids);
    }

  /* The page and its cursor land together: a crash here re-reads it. */
  if (!tandem_store_apply_changes (self->store, page->changes, page->cursor, attempt->seen, &error))
    {
      stop_pull_with_error (task, g_steal_pointer (&error));
      return FALSE;
    }
  if (before != NULL)
    announce_task_statuses (self, before);
  if (page->changes->len > 0)
    attempt->changed = TRUE;

  if (page->has_more)
    return !g_queue_is_empty (attempt->pages);

  if (attempt->full_resync &&
      !tandem_store_forget_unseen (self->store, attempt->seen, &error))
    {
      stop_pull_with_error (task, g_steal_pointer (&error));
      return FALSE;
    }
  finish_attempt (task);
  return FALSE;
}

/* Stores the pages read, in order, one per main loop turn, so that the
 * answer to the next request is read as soon as it comes. */
static gboolean
store_pages_cb (gpointer data)
{
  GTask *task = data;
  Attempt *attempt = g_task_get_task_data (task);

  if (store_one_page (task))
    return G_SOURCE_CONTINUE;
  attempt->store_pages_id = 0;
  return G_SOURCE_REMOVE;
}

static void
pull_done (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(GTask) task = data;
  Attempt *attempt = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemSyncResponse) response = receive_response (result, &error);
  GBytes *body = response != NULL ? response->body : NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(TandemChangesPage) page = NULL;
  guint status;

  if (attempt->stopped)
    return;
  /* Pages read before this answer are stored first, whatever it says: a
   * failure here must not cost what already arrived. */
  while (store_one_page (task))
    ;
  if (attempt->stopped)
    return;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      stop_pull_with_error (task, g_steal_pointer (&error));
      return;
    }
  if (handle_common_failure (task, response, error))
    return;

  status = response->status;
  if ((status == 410 || (status == 400 && attempt->cursor != NULL)) && !attempt->full_resync)
    {
      /* The cursor is older than the server keeps tombstones, from another
       * server, or one this server no longer reads (400): read everything
       * again. Pending ops and conflicts stay; records the server no longer
       * has are forgotten at the end. */
      attempt->full_resync = TRUE;
      g_clear_pointer (&attempt->cursor, g_free);
      attempt->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      pull_next (g_steal_pointer (&task));
      return;
    }
  if (status != 200)
    {
      g_autofree char *text = g_strdup_printf (_("Unexpected answer from the server: %u %s"), status,
                                               soup_status_get_phrase (status));

      fail_attempt (task, TANDEM_SYNC_OUTCOME_UNREACHABLE, text);
      return;
    }

  node = tandem_json_parse (g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error);
  if (node != NULL)
    page = tandem_changes_page_from_json (node, &error);
  if (page == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("The server's changes could not be read: %s"),
                                               error->message);

      fail_attempt (task, TANDEM_SYNC_OUTCOME_UNREACHABLE, text);
      return;
    }

  /* Ask for the next page before storing this one: the server reads it
   * while this device writes. */
  g_free (attempt->cursor);
  attempt->cursor = g_strdup (page->cursor);
  if (page->has_more)
    pull_next (g_object_ref (task));

  if (attempt->pages == NULL)
    attempt->pages = g_queue_new ();
  g_queue_push_tail (attempt->pages, g_steal_pointer (&page));
  if (attempt->store_pages_id == 0)
    /* Above GTK's redraw (a window animating a spinner must not starve the
     * pull), below I/O (the request for the next page goes out first). */
    attempt->store_pages_id = g_idle_add_full (G_PRIORITY_HIGH_IDLE, store_pages_cb,
                                               g_object_ref (task), g_object_unref);
}

static void
pull_next (GTask *task)
{
  Attempt *attempt = g_task_get_task_data (task);
  g_autofree char *path = NULL;

  if (attempt->cursor != NULL)
    {
      g_autofree char *escaped = g_uri_escape_string (attempt->cursor, NULL, FALSE);

      path = g_strdup_printf ("/v1/sync/changes?since=%s&limit=%d", escaped, PULL_PAGE);
    }
  else
    path = g_strdup_printf ("/v1/sync/changes?limit=%d", PULL_PAGE);

  send_attempt_request (task, "GET", path, NULL, pull_done);
}

/* Completes everyone who asked for this attempt. */
static void
attempt_completed (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  TandemSyncEngine *self = TANDEM_SYNC_ENGINE (source);
  g_autoptr(GPtrArray) waiting = g_steal_pointer (&self->waiting);
  g_autoptr(GError) error = NULL;
  gssize outcome = g_task_propagate_int (G_TASK (result), &error);

  self->waiting = g_ptr_array_new_with_free_func (g_object_unref);
  g_clear_object (&self->running);

  switch (outcome == TANDEM_SYNC_OUTCOME_CONFLICTS ? self->last_failure : outcome)
    {
    case TANDEM_SYNC_OUTCOME_AUTH:
      set_state (self, TANDEM_SYNC_STATE_PAUSED_AUTH);
      break;
    case TANDEM_SYNC_OUTCOME_SIGNED_OUT:
      set_state (self, TANDEM_SYNC_STATE_SIGNED_OUT);
      break;
    default:
      set_state (self, TANDEM_SYNC_STATE_IDLE);
      break;
    }

  for (guint i = 0; i < waiting->len; i++)
    {
      GTask *task = g_ptr_array_index (waiting, i);

      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_int (task, outcome);
    }
}

void
tandem_sync_engine_sync_async (TandemSyncEngine   *self,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data)
{
  g_autoptr(GTask) waiter = NULL;
  g_autoptr(GError) error = NULL;
  Attempt *attempt;
  GTask *task;

  g_return_if_fail (TANDEM_IS_SYNC_ENGINE (self));

  waiter = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (waiter, tandem_sync_engine_sync_async);
  g_ptr_array_add (self->waiting, g_steal_pointer (&waiter));

  /* One attempt at a time; later callers share the one running. */
  if (self->running != NULL)
    return;

  attempt = g_new0 (Attempt, 1);
  attempt->push_limit = self->batch_size;
  task = g_task_new (self, NULL, attempt_completed, NULL);
  g_task_set_task_data (task, attempt, (GDestroyNotify) attempt_free);
  self->running = g_object_ref (task);

  if (!tandem_account_load (self->store, &attempt->url, &attempt->token, &error))
    {
      if (error != NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          g_object_unref (task);
          return;
        }
      fail_attempt (task, TANDEM_SYNC_OUTCOME_SIGNED_OUT,
                    _("No sync account: set a server and a token to sync"));
      g_object_unref (task);
      return;
    }
  if (attempt->token == NULL)
    {
      fail_attempt (task, TANDEM_SYNC_OUTCOME_AUTH, _("Signed out: sign in with a token to sync"));
      g_object_unref (task);
      return;
    }
  attempt->cursor = tandem_store_get_setting (self->store, "cursor");
  if (attempt->cursor != NULL && *attempt->cursor == '\0')
    g_clear_pointer (&attempt->cursor, g_free);

  push_next (task);
}

TandemSyncOutcome
tandem_sync_engine_sync_finish (TandemSyncEngine *self,
                                GAsyncResult     *result,
                                GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), TANDEM_SYNC_OUTCOME_UNREACHABLE);

  return (TandemSyncOutcome) g_task_propagate_int (G_TASK (result), error);
}

/* Bounded: retries within a deadline */

typedef struct
{
  gint64 deadline;   /* monotonic µs */
  guint  attempt;
  guint  timeout_id;
} Bounded;

static void bounded_try (GTask *task);

static gboolean
bounded_retry (gpointer data)
{
  GTask *task = data;
  Bounded *bounded = g_task_get_task_data (task);

  bounded->timeout_id = 0;
  bounded_try (task);
  return G_SOURCE_REMOVE;
}

static void
bounded_done (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  GTask *task = data;
  TandemSyncEngine *self = TANDEM_SYNC_ENGINE (source);
  Bounded *bounded = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  TandemSyncOutcome outcome = tandem_sync_engine_sync_finish (self, result, &error);
  gint64 delay, now = g_get_monotonic_time ();

  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  if (self->last_failure != TANDEM_SYNC_OUTCOME_UNREACHABLE)
    {
      g_task_return_int (task, outcome);
      g_object_unref (task);
      return;
    }

  /* The server's Retry-After wins over our own backoff. */
  if (self->retry_after > 0)
    delay = (gint64) self->retry_after * G_USEC_PER_SEC;
  else
    delay = tandem_sync_backoff_delay (bounded->attempt, g_random_int ());
  bounded->attempt++;

  if (now + delay >= bounded->deadline)
    {
      g_task_return_int (task, outcome);
      g_object_unref (task);
      return;
    }
  set_backoff_until (self, g_get_real_time () / G_USEC_PER_SEC + delay / G_USEC_PER_SEC);
  set_state (self, TANDEM_SYNC_STATE_BACKING_OFF);
  bounded->timeout_id = g_timeout_add ((guint) (delay / 1000), bounded_retry, task);
}

static void
bounded_try (GTask *task)
{
  TandemSyncEngine *self = g_task_get_source_object (task);

  set_backoff_until (self, 0);
  tandem_sync_engine_sync_async (self, g_task_get_cancellable (task), bounded_done, task);
}

void
tandem_sync_engine_sync_bounded_async (TandemSyncEngine   *self,
                                       guint               timeout_seconds,
                                       GCancellable       *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer            user_data)
{
  GTask *task;
  Bounded *bounded;

  g_return_if_fail (TANDEM_IS_SYNC_ENGINE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  bounded = g_new0 (Bounded, 1);
  bounded->deadline = g_get_monotonic_time () + (gint64) timeout_seconds * G_USEC_PER_SEC;
  g_task_set_task_data (task, bounded, g_free);
  bounded_try (task);
}

TandemSyncOutcome
tandem_sync_engine_sync_bounded_finish (TandemSyncEngine *self,
                                        GAsyncResult     *result,
                                        GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), TANDEM_SYNC_OUTCOME_UNREACHABLE);

  return (TandemSyncOutcome) g_task_propagate_int (G_TASK (result), error);
}

/* Background scheduling */

static void schedule_retry (TandemSyncEngine *self);

static void
background_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  TandemSyncEngine *self = TANDEM_SYNC_ENGINE (source);
  g_autoptr(GError) error = NULL;

  /* What happened is in last_failure; the outcome is for callers. */
  tandem_sync_engine_sync_finish (self, result, &error);
  if (error != NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        set_last_error (self, error->message);
      g_object_unref (self);
      return;
    }

  if (self->last_failure == TANDEM_SYNC_OUTCOME_UNREACHABLE && self->started && self->network_lost)
    /* No backoff without a network: its return starts the next attempt. */
    set_state (self, TANDEM_SYNC_STATE_OFFLINE);
  else if (self->last_failure == TANDEM_SYNC_OUTCOME_UNREACHABLE && self->started)
    schedule_retry (self);
  else
    {
      /* The server answered: whatever the monitor said, there is a network. */
      if (self->last_failure != TANDEM_SYNC_OUTCOME_UNREACHABLE)
        self->network_lost = FALSE;
      self->attempts = 0;
      set_backoff_until (self, 0);
      /* A change made while the attempt ran goes out now. */
      if (self->sync_again && self->started && self->last_failure != TANDEM_SYNC_OUTCOME_AUTH &&
          self->last_failure != TANDEM_SYNC_OUTCOME_SIGNED_OUT)
        {
          self->sync_again = FALSE;
          g_object_ref (self);
          tandem_sync_engine_sync_async (self, NULL, background_done, self);
        }
    }
  g_object_unref (self);
}

static gboolean
auth_paused (TandemSyncEngine *self)
{
  g_autofree char *paused = tandem_store_get_setting (self->store, "auth_paused");

  return paused != NULL && *paused != '\0';
}

static void
start_background_attempt (TandemSyncEngine *self)
{
  /* The server refused the token: trying again on every edit or timer
   * would only be refused again. A new token (or Sync now) resumes. */
  if (auth_paused (self))
    {
      set_state (self, TANDEM_SYNC_STATE_PAUSED_AUTH);
      return;
    }
  if (self->running != NULL)
    {
      self->sync_again = TRUE;
      return;
    }
  self->sync_again = FALSE;
  g_object_ref (self);
  tandem_sync_engine_sync_async (self, NULL, background_done, self);
}

/* For the timers: an attempt, unless the network monitor said the network
 * is gone, in which case it would only fail. */
static void
start_attempt_when_online (TandemSyncEngine *self)
{
  if (self->network_lost)
    {
      if (self->running == NULL)
        set_state (self, TANDEM_SYNC_STATE_OFFLINE);
      return;
    }
  start_background_attempt (self);
}

static gboolean
retry_cb (gpointer data)
{
  TandemSyncEngine *self = data;

  self->retry_id = 0;
  start_attempt_when_online (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (TandemSyncEngine *self)
{
  gint64 delay = self->retry_after > 0 ? (gint64) self->retry_after * G_USEC_PER_SEC
                                       : tandem_sync_backoff_delay (self->attempts,
                                                                    g_random_int ());

  self->attempts++;
  g_clear_handle_id (&self->retry_id, g_source_remove);
  self->retry_id = g_timeout_add ((guint) (delay / 1000) + 1, retry_cb, self);
  set_backoff_until (self, g_get_real_time () / G_USEC_PER_SEC + delay / G_USEC_PER_SEC + 1);
  set_state (self, TANDEM_SYNC_STATE_BACKING_OFF);
}

static gboolean
periodic_cb (gpointer data)
{
  TandemSyncEngine *self = data;

  /* Backing off already has its own timer. */
  if (self->retry_id == 0)
    start_attempt_when_online (self);
  return G_SOURCE_CONTINUE;
}

static gboolean
debounce_cb (gpointer data)
{
  TandemSyncEngine *self = data;

  self->debounce_id = 0;
  if (self->retry_id == 0)
    start_attempt_when_online (self);
  return G_SOURCE_REMOVE;
}

static void
health_done (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  TandemSyncEngine *self = data;
  g_autoptr(TandemSyncResponse) response = receive_response (result, NULL);

  /* The network claims to be back: only a server that answers counts. */
  if (!self->started || self->network_lost)
    ;
  else if (response != NULL && response->status == SOUP_STATUS_OK)
    {
      self->attempts = 0;
      g_clear_handle_id (&self->retry_id, g_source_remove);
      set_backoff_until (self, 0);
      start_background_attempt (self);
    }
  else if (self->retry_id == 0 && self->running == NULL)
    schedule_retry (self);
  g_object_unref (self);
}

static void
network_changed (GNetworkMonitor  *monitor,
                 gboolean          available,
                 TandemSyncEngine *self)
{
  g_autofree char *url = NULL;
  g_autofree char *token = NULL;
  TandemSyncRequest request = { .method = "GET", .path = "/v1/health" };

  if (!available)
    {
      /* Backing off makes no sense without a network; nothing is sent
       * until it is back. */
      self->network_lost = TRUE;
      g_clear_handle_id (&self->retry_id, g_source_remove);
      set_backoff_until (self, 0);
      if (self->running == NULL)
        set_state (self, TANDEM_SYNC_STATE_OFFLINE);
      return;
    }
  self->network_lost = FALSE;
  if (!tandem_account_load (self->store, &url, &token, NULL))
    return;
  send_request (self, url, &request, NULL, health_done, g_object_ref (self));
}

void
tandem_sync_engine_start (TandemSyncEngine *self,
                          guint             interval_seconds)
{
  g_return_if_fail (TANDEM_IS_SYNC_ENGINE (self));
  g_return_if_fail (interval_seconds > 0);

  if (self->started)
    tandem_sync_engine_stop (self);
  self->started = TRUE;
  self->interval = interval_seconds;
  self->periodic_id = g_timeout_add_seconds (interval_seconds, periodic_cb, self);
  self->network_lost = FALSE;
  self->network_handler = g_signal_connect (self->monitor, "network-changed",
                                            G_CALLBACK (network_changed), self);
  start_background_attempt (self);
}

void
tandem_sync_engine_stop (TandemSyncEngine *self)
{
  g_return_if_fail (TANDEM_IS_SYNC_ENGINE (self));

  self->started = FALSE;
  g_clear_handle_id (&self->periodic_id, g_source_remove);
  g_clear_handle_id (&self->debounce_id, g_source_remove);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  if (self->monitor != NULL)
    g_clear_signal_handler (&self->network_handler, self->monitor);
}

void
tandem_sync_engine_sync_now (TandemSyncEngine *self)
{
  g_return_if_fail (TANDEM_IS_SYNC_ENGINE (self));

  /* The user asked: skip whatever backoff or pause is left. */
  self->attempts = 0;
  g_clear_handle_id (&self->retry_id, g_source_remove);
  set_backoff_until (self, 0);
  tandem_store_set_setting (self->store, "auth_paused", "", NULL);
  start_background_attempt (self);
}

void
tandem_sync_engine_local_change (TandemSyncEngine *self)
{
  g_return_if_fail (TANDEM_IS_SYNC_ENGINE (self));

  if (!self->started)
    return;
  g_clear_handle_id (&self->debounce_id, g_source_remove);
  self->debounce_id = g_timeout_add (DEBOUNCE_MSEC, debounce_cb, self);
}
