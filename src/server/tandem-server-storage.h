/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "tandem-op.h"

G_BEGIN_DECLS

/* The server's storage: the small interface the protocol logic
 * (TandemService) stands on, so that SQLite and PostgreSQL implement only
 * reading and writing, never the rules. */

#define TANDEM_SERVER_STORAGE_ERROR (tandem_server_storage_error_quark ())
typedef enum
{
  TANDEM_SERVER_STORAGE_ERROR_FAILED,     /* the database failed */
  TANDEM_SERVER_STORAGE_ERROR_BUSY,       /* locked for too long; retry */
  TANDEM_SERVER_STORAGE_ERROR_CORRUPT,    /* not our database, damaged or too new */
  TANDEM_SERVER_STORAGE_ERROR_NOT_FOUND,
  TANDEM_SERVER_STORAGE_ERROR_EXISTS,
} TandemServerStorageError;

GQuark tandem_server_storage_error_quark (void);

/* One stored record (task or list) of one user. */
typedef struct
{
  char         *id;
  TandemEntity  entity;
  gint64        rev;
  gint64        seq;          /* position in the user's change feed */
  gboolean      deleted;
  char         *updated_at;   /* RFC 3339, server clock */
  char         *deleted_at;   /* RFC 3339 or NULL */
  JsonObject   *body;         /* the wire record (DESIGN §4) */
  JsonObject   *field_revs;   /* field name -> revision of its last change */
} TandemServerRecord;

TandemServerRecord *tandem_server_record_new  (void);
void                tandem_server_record_free (TandemServerRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemServerRecord, tandem_server_record_free)

/* One line of a record's server history. */
typedef struct
{
  char *at;
  char *device_id;
  char *op_id;
  char *kind;        /* the op kind, or "put" / "delete" for plain HTTP writes */
  char *field;       /* NULL for whole-record events */
  char *old_value;   /* JSON text or NULL */
  char *new_value;   /* JSON text or NULL */
  gint64 rev;        /* the revision this change made */
} TandemServerHistoryEntry;

void tandem_server_history_entry_free (TandemServerHistoryEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemServerHistoryEntry, tandem_server_history_entry_free)

#define TANDEM_TYPE_SERVER_STORAGE (tandem_server_storage_get_type ())
G_DECLARE_INTERFACE (TandemServerStorage, tandem_server_storage, TANDEM, SERVER_STORAGE, GObject)

struct _TandemServerStorageInterface
{
  GTypeInterface parent_iface;

  /* Transactions: begin/commit/rollback around a request, savepoints around
   * each op inside it. */
  gboolean (*begin)            (TandemServerStorage *self, GError **error);
  gboolean (*commit)           (TandemServerStorage *self, GError **error);
  void     (*rollback)         (TandemServerStorage *self);
  gboolean (*savepoint)        (TandemServerStorage *self, GError **error);
  gboolean (*release)          (TandemServerStorage *self, GError **error);
  void     (*rollback_to)      (TandemServerStorage *self);

  /* Users and tokens (token_hash: hex SHA-256). */
  gboolean (*add_token)        (TandemServerStorage *self, const char *user_name,
                                const char *token_hash, GError **error);
  gboolean (*revoke_token)     (TandemServerStorage *self, const char *token_hash, GError **error);
  gboolean (*lookup_token)     (TandemServerStorage *self, const char *token_hash,
                                gint64 *user_id, GError **error);

  /* Idempotency records. FALSE with no error when there is none. */
  gboolean (*get_idempotency)  (TandemServerStorage *self, gint64 user_id, const char *key,
                                char **payload_hash, char **result, GError **error);
  gboolean (*put_idempotency)  (TandemServerStorage *self, gint64 user_id, const char *key,
                                const char *payload_hash, const char *result,
                                const char *created_at, GError **error);
  /* Claims @n_keys idempotency keys of @user_id for the current
   * transaction, without waiting: @claimed[i] is TRUE when keys[i] is now
   * this transaction's until it ends, FALSE when another transaction that
   * has not ended yet holds it (the key is still being processed there).
   * Called right after begin, before anything that waits for the user's
   * other writes, so that a request never queues behind the very request
   * whose key it carries. A key claimed twice by one transaction stays
   * claimed. */
  gboolean (*claim_keys)       (TandemServerStorage *self, gint64 user_id,
                                const char *const *keys, guint n_keys, gboolean *claimed,
                                GError **error);

  /* Records. get returns NULL with no error when there is none. put stores
   * the record and gives it the user's next change sequence (record->seq). */
  TandemServerRecord *(*get_record) (TandemServerStorage *self, gint64 user_id,
                                     const char *id, GError **error);
  gboolean (*put_record)       (TandemServerStorage *self, gint64 user_id,
                                TandemServerRecord *record, GError **error);
  /* Live tasks whose list_id is @list_id. */
  gboolean (*count_tasks_in_list) (TandemServerStorage *self, gint64 user_id,
                                   const char *list_id, gint64 *count, GError **error);

  /* Changes after @after_seq in sequence order, at most @limit; their
   * field_revs are NULL (the feed does not carry them). */
  GPtrArray *(*list_changes)   (TandemServerStorage *self, gint64 user_id, gint64 after_seq,
                                guint limit, GError **error);
  /* The user's feed: @purged_seq, the highest sequence purged (cursors
   * below it are stale), and @last_seq, the highest given out. */
  gboolean (*get_feed_bounds)  (TandemServerStorage *self, gint64 user_id, gint64 *purged_seq,
                                gint64 *last_seq, GError **error);

  gboolean (*add_history)      (TandemServerStorage *self, gint64 user_id, const char *entity_id,
                                const TandemServerHistoryEntry *entry, GError **error);
  GPtrArray *(*list_history)   (TandemServerStorage *self, gint64 user_id, const char *entity_id,
                                GError **error);

  /* Removes tombstones deleted before @cutoff (with their history) and
   * idempotency records created before it; raises each user's purged seq. */
  gboolean (*purge)            (TandemServerStorage *self, const char *cutoff, guint *n_purged,
                                GError **error);

  /* Rate limits: one bucket per key, as seen by every process that serves
   * the same users. Only storage here; the policy is TandemService's.
   * get_rate_bucket: FALSE with no error when there is none.
   * put_rate_bucket stores the bucket only if it is still at @seen_version
   * (0: only if there is none) and gives it the next version; @stored is
   * FALSE when another request changed it meanwhile (read it again).
   * prune_rate_buckets drops buckets last updated before @before. Times
   * are µs of the wall clock. */
  gboolean (*get_rate_bucket)  (TandemServerStorage *self, const char *key, gint64 *level,
                                gint64 *updated_at, gint64 *version, GError **error);
  gboolean (*put_rate_bucket)  (TandemServerStorage *self, const char *key, gint64 seen_version,
                                gint64 level, gint64 updated_at, gboolean *stored,
                                GError **error);
  gboolean (*prune_rate_buckets) (TandemServerStorage *self, gint64 before, GError **error);
};

gboolean tandem_server_storage_begin       (TandemServerStorage *self, GError **error);
gboolean tandem_server_storage_commit      (TandemServerStorage *self, GError **error);
void     tandem_server_storage_rollback    (TandemServerStorage *self);
gboolean tandem_server_storage_savepoint   (TandemServerStorage *self, GError **error);
gboolean tandem_server_storage_release     (TandemServerStorage *self, GError **error);
void     tandem_server_storage_rollback_to (TandemServerStorage *self);
gboolean tandem_server_storage_add_token   (TandemServerStorage *self, const char *user_name,
                                            const char *token_hash, GError **error);
gboolean tandem_server_storage_revoke_token (TandemServerStorage *self, const char *token_hash,
                                             GError **error);
gboolean tandem_server_storage_lookup_token (TandemServerStorage *self, const char *token_hash,
                                             gint64 *user_id, GError **error);
gboolean tandem_server_storage_get_idempotency (TandemServerStorage *self, gint64 user_id,
                                                const char *key, char **payload_hash,
                                                char **result, GError **error);
gboolean tandem_server_storage_put_idempotency (TandemServerStorage *self, gint64 user_id,
                                                const char *key, const char *payload_hash,
                                                const char *result, const char *created_at,
                                                GError **error);
gboolean tandem_server_storage_claim_keys  (TandemServerStorage *self, gint64 user_id,
                                            const char *const *keys, guint n_keys,
                                            gboolean *claimed, GError **error);
TandemServerRecord *tandem_server_storage_get_record (TandemServerStorage *self, gint64 user_id,
                                                      const char *id, GError **error);
gboolean tandem_server_storage_put_record  (TandemServerStorage *self, gint64 user_id,
                                            TandemServerRecord *record, GError **error);
gboolean tandem_server_storage_count_tasks_in_list (TandemServerStorage *self, gint64 user_id,
                                                    const char *list_id, gint64 *count,
                                                    GError **error);
GPtrArray *tandem_server_storage_list_changes (TandemServerStorage *self, gint64 user_id,
                                               gint64 after_seq, guint limit, GError **error);
gboolean tandem_server_storage_get_feed_bounds (TandemServerStorage *self, gint64 user_id,
                                                gint64 *purged_seq, gint64 *last_seq,
                                                GError **error);
gboolean tandem_server_storage_add_history (TandemServerStorage *self, gint64 user_id,
                                            const char *entity_id,
                                            const TandemServerHistoryEntry *entry, GError **error);
GPtrArray *tandem_server_storage_list_history (TandemServerStorage *self, gint64 user_id,
                                               const char *entity_id, GError **error);
gboolean tandem_server_storage_purge       (TandemServerStorage *self, const char *cutoff,
                                            guint *n_purged, GError **error);
gboolean tandem_server_storage_get_rate_bucket (TandemServerStorage *self, const char *key,
                                                gint64 *level, gint64 *updated_at,
                                                gint64 *version, GError **error);
gboolean tandem_server_storage_put_rate_bucket (TandemServerStorage *self, const char *key,
                                                gint64 seen_version, gint64 level,
                                                gint64 updated_at, gboolean *stored,
                                                GError **error);
gboolean tandem_server_storage_prune_rate_buckets (TandemServerStorage *self, gint64 before,
                                                   GError **error);

/* The SQLite implementation: one file, tandem-server.db, in @data_dir
 * (created 0700 if missing). */
TandemServerStorage *tandem_sqlite_storage_open (const char *data_dir,
                                                 GError    **error);
/* The PostgreSQL implementation, for several server processes on one
 * database: @conninfo is a libpq URL (postgresql://USER@HOST:PORT/DB). It
 * creates or upgrades the schema first (what `tandem-server migrate` does). */
TandemServerStorage *tandem_pg_storage_open     (const char *conninfo,
                                                 GError    **error);

G_END_DECLS
