/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tandem-store.h"

G_BEGIN_DECLS

typedef enum
{
  TANDEM_SYNC_STATE_IDLE,
  TANDEM_SYNC_STATE_PUSHING,
  TANDEM_SYNC_STATE_PULLING,
  TANDEM_SYNC_STATE_BACKING_OFF,   /* waiting until backoff-until before trying again */
  TANDEM_SYNC_STATE_PAUSED_AUTH,   /* the server refused the token: sign in again */
  TANDEM_SYNC_STATE_OFFLINE,       /* no network */
  TANDEM_SYNC_STATE_SIGNED_OUT,    /* no account */
} TandemSyncState;

const char *tandem_sync_state_to_string (TandemSyncState state);

/* How one sync attempt ended, worst first as tandem-cli reports it. */
typedef enum
{
  TANDEM_SYNC_OUTCOME_DONE,         /* outbox empty, nothing parked, no conflict */
  TANDEM_SYNC_OUTCOME_CONFLICTS,    /* some tasks need review */
  TANDEM_SYNC_OUTCOME_UNREACHABLE,  /* network, 5xx or 429: the outbox is kept for later */
  TANDEM_SYNC_OUTCOME_AUTH,         /* 401/403: sync paused until a new token is set */
  TANDEM_SYNC_OUTCOME_PARKED,       /* some ops were refused as invalid */
  TANDEM_SYNC_OUTCOME_SIGNED_OUT,   /* no account set */
} TandemSyncOutcome;

#define TANDEM_TYPE_SYNC_ENGINE (tandem_sync_engine_get_type ())
G_DECLARE_FINAL_TYPE (TandemSyncEngine, tandem_sync_engine, TANDEM, SYNC_ENGINE, GObject)

/* Properties: "store" (construct-only), "network-monitor" (construct-only,
 * GNetworkMonitor, default g_network_monitor_get_default(); tests and
 * embedders may pass their own), "state" (TandemSyncState as int),
 * "last-synced", "backoff-until", "last-error"; each notified only when
 * its value really changes.
 *
 * Signals:
 *   records-changed ()       rows changed in the store because of sync
 *   conflicts-changed ()     conflicts were added, merged or resolved
 *   task-status-changed (const char *task_id, int status)
 *                            the sync_status (a TandemSyncStatus) of an
 *                            existing task changed because of the engine:
 *                            syncing when its ops go out, then synced,
 *                            pending, error or needs-review. Tasks first
 *                            seen in a pull are announced by records-changed
 *                            only. The store is only asked for these when a
 *                            handler is connected. */
TandemSyncEngine *tandem_sync_engine_new            (TandemStore        *store);
/* The same with @monitor (may be NULL: the default one) deciding when the
 * network is gone or back. */
TandemSyncEngine *tandem_sync_engine_new_with_network_monitor (TandemStore     *store,
                                                               GNetworkMonitor *monitor);
GNetworkMonitor  *tandem_sync_engine_get_network_monitor      (TandemSyncEngine *self);
TandemStore      *tandem_sync_engine_get_store      (TandemSyncEngine   *self);
TandemSyncState   tandem_sync_engine_get_state      (TandemSyncEngine   *self);
/* Unix time of the last complete sync, 0 if never. */
gint64            tandem_sync_engine_get_last_synced (TandemSyncEngine  *self);
/* Unix time until which the engine waits before retrying, 0 if not waiting. */
gint64            tandem_sync_engine_get_backoff_until (TandemSyncEngine *self);
/* A sentence for people about the last failure, or NULL. */
const char       *tandem_sync_engine_get_last_error (TandemSyncEngine   *self);

/* Ops per push request (1 to 500, default 500); for measurements. */
void              tandem_sync_engine_set_batch_size (TandemSyncEngine   *self,
                                                     guint               batch_size);

/* One attempt: push every op that can go (batches of up to 500), then pull
 * the change feed until it has no more. Never blocks: runs on the thread's
 * default main context. */
void              tandem_sync_engine_sync_async     (TandemSyncEngine   *self,
                                                     GCancellable       *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer            user_data);
TandemSyncOutcome tandem_sync_engine_sync_finish    (TandemSyncEngine   *self,
                                                     GAsyncResult       *result,
                                                     GError            **error);

/* Attempts until done or @timeout_seconds have passed: transient failures
 * are retried after Retry-After or an exponential backoff with full jitter,
 * as long as the wait fits in the time left. */
void              tandem_sync_engine_sync_bounded_async  (TandemSyncEngine   *self,
                                                          guint               timeout_seconds,
                                                          GCancellable       *cancellable,
                                                          GAsyncReadyCallback callback,
                                                          gpointer            user_data);
TandemSyncOutcome tandem_sync_engine_sync_bounded_finish (TandemSyncEngine   *self,
                                                          GAsyncResult       *result,
                                                          GError            **error);

/* Background sync for a long-running program: at start, on local edits
 * (debounced), when the network comes back (after a GET /v1/health that
 * answers 200), every @interval_seconds (1 or more, so tests and
 * fine-grained settings can use short periods), and on sync_now; with
 * backoff after failures. When the network monitor reports the network
 * gone, the state becomes offline and edits, the timer and retries wait
 * for it to come back; sync_now still tries (the monitor may be wrong). */
void              tandem_sync_engine_start          (TandemSyncEngine   *self,
                                                     guint               interval_seconds);
void              tandem_sync_engine_stop           (TandemSyncEngine   *self);
void              tandem_sync_engine_sync_now       (TandemSyncEngine   *self);
/* Call after each local edit; syncs about a second after the last one. */
void              tandem_sync_engine_local_change   (TandemSyncEngine   *self);

/* The delay before retry number @attempt (0-based): full jitter over
 * min(cap, base * 2^attempt), base 1 s, cap 5 min. In microseconds. */
gint64            tandem_sync_backoff_delay         (guint               attempt,
                                                     guint32             random);

G_END_DECLS
