/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "tandem-codec.h"
#include "tandem-merge.h"
#include "tandem-op.h"
#include "tandem-task.h"

G_BEGIN_DECLS

#define TANDEM_STORE_ERROR (tandem_store_error_quark ())
typedef enum
{
  TANDEM_STORE_ERROR_CORRUPT,    /* not a Tandem database, or damaged */
  TANDEM_STORE_ERROR_LOCKED,     /* another program holds it for too long */
  TANDEM_STORE_ERROR_TOO_NEW,    /* written by a newer Tandem */
  TANDEM_STORE_ERROR_NOT_FOUND,  /* no task, list or op with that id */
  TANDEM_STORE_ERROR_INVALID,    /* the request itself is wrong */
  TANDEM_STORE_ERROR_IO,         /* any other failure of the database */
} TandemStoreError;

GQuark tandem_store_error_quark (void);

/* The schema version this program writes (PRAGMA user_version). */
#define TANDEM_STORE_SCHEMA_VERSION 3

typedef enum
{
  TANDEM_TASK_QUERY_LIVE,       /* not deleted, done included */
  TANDEM_TASK_QUERY_ALL,        /* live and deleted */
  TANDEM_TASK_QUERY_DELETED,    /* tombstones only (the Trash) */
} TandemTaskQuery;

/* One line of a record's history: what changed, where, and what it replaced. */
typedef struct
{
  gint64  id;
  char   *entity_id;
  char   *at;          /* RFC 3339 */
  char   *device_id;   /* the device the change came from, NULL if unknown */
  char   *origin;      /* local, remote, merge, resolve, overwrite */
  char   *field;       /* NULL for whole-record events (created, deleted, restored) */
  char   *old_value;   /* JSON text or NULL */
  char   *new_value;   /* JSON text or NULL */
  char   *note;        /* a short sentence for people, may be NULL */
} TandemHistoryEntry;

void tandem_history_entry_free (TandemHistoryEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemHistoryEntry, tandem_history_entry_free)

#define TANDEM_TYPE_STORE (tandem_store_get_type ())
G_DECLARE_FINAL_TYPE (TandemStore, tandem_store, TANDEM, STORE, GObject)

/* Opens (creating if needed, with mode 0600) and migrates the database at
 * @path. A file that is not a Tandem database, is damaged, locked, or was
 * written by a newer version is refused and left untouched. */
TandemStore *tandem_store_open              (const char        *path,
                                             GError           **error);
/* $TANDEM_DB, else $XDG_DATA_HOME/tandem/tandem.db */
char        *tandem_store_default_path      (void);
const char  *tandem_store_get_path          (TandemStore       *self);
const char  *tandem_store_get_device_id     (TandemStore       *self);

char        *tandem_store_get_setting       (TandemStore       *self,
                                             const char        *key);
gboolean     tandem_store_set_setting       (TandemStore       *self,
                                             const char        *key,
                                             const char        *value,
                                             GError           **error);

/* User actions. Each is one transaction: the row changes, its sync_status
 * becomes pending, an op is appended to the outbox and a history line is
 * written; on any error nothing is written. */

/* Creates a task from @draft's title, notes, done, due, priority, list_id and
 * tags, at the end of its list. Returns the stored task with its new id. */
TandemTask  *tandem_store_create_task       (TandemStore       *self,
                                             const TandemTask  *draft,
                                             GError           **error);
/* @changes maps field names to new values: title, notes, done, due,
 * priority, list_id, position. Fields that already hold the value are
 * skipped; a change that changes nothing writes nothing. */
gboolean     tandem_store_update_task       (TandemStore       *self,
                                             const char        *id,
                                             JsonObject        *changes,
                                             GError           **error);
gboolean     tandem_store_change_tags       (TandemStore       *self,
                                             const char        *id,
                                             const char *const *add,
                                             const char *const *remove,
                                             GError           **error);
/* Returns the new comment's id. */
char        *tandem_store_add_comment       (TandemStore       *self,
                                             const char        *id,
                                             const char        *body,
                                             GError           **error);
gboolean     tandem_store_delete_task       (TandemStore       *self,
                                             const char        *id,
                                             GError           **error);
gboolean     tandem_store_restore_task      (TandemStore       *self,
                                             const char        *id,
                                             GError           **error);
/* Moves @id directly before @before_id or directly after @after_id (exactly
 * one of them), into that task's list. */
gboolean     tandem_store_move_task         (TandemStore       *self,
                                             const char        *id,
                                             const char        *before_id,
                                             const char        *after_id,
                                             GError           **error);

/* A full task id for @id_or_prefix: the id itself, or the one task whose
 * id starts with a prefix of at least 4 characters. */
char        *tandem_store_resolve_task_id   (TandemStore       *self,
                                             const char        *id_or_prefix,
                                             GError           **error);
char        *tandem_store_resolve_list_id   (TandemStore       *self,
                                             const char        *id_or_prefix,
                                             GError           **error);
TandemTask  *tandem_store_get_task          (TandemStore       *self,
                                             const char        *id,
                                             GError           **error);
/* Tasks in list order (list, position, id). Comments are not loaded. */
GPtrArray   *tandem_store_list_tasks        (TandemStore       *self,
                                             TandemTaskQuery    query,
                                             GError           **error);
/* The base snapshot: the task as the server last sent it, or NULL with no
 * error when it was never synced. */
TandemTask  *tandem_store_get_task_base     (TandemStore       *self,
                                             const char        *id,
                                             GError           **error);

TandemList  *tandem_store_create_list       (TandemStore       *self,
                                             const char        *name,
                                             GError           **error);
TandemList  *tandem_store_get_list          (TandemStore       *self,
                                             const char        *id,
                                             GError           **error);
GPtrArray   *tandem_store_list_lists        (TandemStore       *self,
                                             GError           **error);

/* The outbox, oldest first; @limit 0 means all. */
GPtrArray   *tandem_store_outbox_list       (TandemStore       *self,
                                             guint              limit,
                                             GError           **error);
/* Freezes ops: from now on their key and payload never change. */
gboolean     tandem_store_outbox_mark_sent  (TandemStore       *self,
                                             const char *const *op_ids,
                                             GError           **error);
/* The server accepted @op_id: the op leaves the outbox. @task, when given,
 * is the server's record after the op; it becomes the base snapshot and the
 * row is rebuilt from it with the ops still pending on top. */
gboolean     tandem_store_outbox_ack        (TandemStore       *self,
                                             const char        *op_id,
                                             const TandemTask  *task,
                                             GError           **error);
/* The server refused @op_id for good: it stays, marked with @message. */
gboolean     tandem_store_outbox_park       (TandemStore       *self,
                                             const char        *op_id,
                                             const char        *message,
                                             GError           **error);

GPtrArray   *tandem_store_get_history       (TandemStore       *self,
                                             const char        *entity_id,
                                             GError           **error);

/* Sync: used by the sync engine. */

/* The next ops to push, oldest first: not parked, and not of a record with
 * an open conflict (those are held until it is resolved). */
GPtrArray   *tandem_store_outbox_next_batch (TandemStore       *self,
                                             guint              limit,
                                             GError           **error);
/* Rows left "syncing" by a request that failed (or a crash) go back to
 * what their outbox says. */
gboolean     tandem_store_reset_syncing     (TandemStore       *self,
                                             GError           **error);

typedef struct
{
  guint applied;     /* acknowledged */
  guint merged;      /* refused, merged automatically and queued again */
  guint conflicts;   /* refused, now waiting for the user */
  guint parked;      /* refused as invalid, kept for the user */
  guint retry;       /* held or in progress: to be sent again */
} TandemPushSummary;

/* Applies the per-op results of a push (TandemPushResult *) in one
 * transaction: acknowledged ops leave the outbox and their records become
 * the base (with the remaining ops replayed on top); conflicts are merged
 * with the field policies or kept for the user; invalid ops are parked. */
gboolean     tandem_store_apply_push_results (TandemStore       *self,
                                              GPtrArray         *results,
                                              TandemPushSummary *summary,
                                              GError           **error);
/* Applies a page of the change feed (TandemRecord *) and saves @cursor, in
 * one transaction; ids are added to @seen when it is not NULL. */
gboolean     tandem_store_apply_changes     (TandemStore       *self,
                                             GPtrArray         *records,
                                             const char        *cursor,
                                             GHashTable        *seen,
                                             GError           **error);
/* After a full resync: forgets synced records the server no longer has. */
gboolean     tandem_store_forget_unseen     (TandemStore       *self,
                                             GHashTable        *seen,
                                             GError           **error);

typedef struct
{
  char               *task_id;
  TandemConflictKind  kind;
  gint64              remote_rev;
  TandemTask         *base;     /* what this device's edits started from */
  TandemTask         *local;    /* this device's version now */
  TandemTask         *remote;   /* the server's record */
  TandemMergeResult  *merge;    /* the colliding fields and everything that merges */
} TandemConflict;

void tandem_conflict_free (TandemConflict *conflict);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemConflict, tandem_conflict_free)

GPtrArray      *tandem_store_list_conflicts   (TandemStore  *self,
                                               GError      **error);
TandemConflict *tandem_store_get_conflict     (TandemStore  *self,
                                               const char   *task_id,
                                               GError      **error);

typedef enum
{
  TANDEM_RESOLUTION_LOCAL,   /* this device's values; restore / delete anyway */
  TANDEM_RESOLUTION_REMOTE,  /* the server's values, whatever it holds */
  TANDEM_RESOLUTION_FIELDS,  /* a value per colliding field (edit conflicts) */
} TandemResolution;

/* Resolves with one new op on the server's revision that also carries the
 * held changes of the task; @values maps colliding field names to the
 * JsonNode to keep (TANDEM_RESOLUTION_FIELDS). */
gboolean     tandem_store_resolve_conflict  (TandemStore       *self,
                                             const char        *task_id,
                                             TandemResolution   resolution,
                                             GHashTable        *values,
                                             GError           **error);

/* The account now points at another server: every live task and list is
 * queued as new (with its comments), conflicts and the cursor are dropped,
 * the Trash stays on this device. Nothing local is lost. */
gboolean     tandem_store_prepare_for_new_server (TandemStore  *self,
                                                  GError      **error);

gboolean     tandem_store_get_sync_counts   (TandemStore       *self,
                                             guint             *n_pending,
                                             guint             *n_parked,
                                             guint             *n_conflicts,
                                             GError           **error);

G_END_DECLS
