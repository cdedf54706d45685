/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-server"

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "tandem-codec.h"
#include "tandem-server-storage.h"

/* The server's storage on one SQLite file (WAL, synchronous=FULL: a 2xx is
 * only sent after the commit is on disk). */

#define TANDEM_SERVER_APPLICATION_ID 0x54534552  /* "TSER" */

#define TANDEM_TYPE_SQLITE_STORAGE (tandem_sqlite_storage_get_type ())
G_DECLARE_FINAL_TYPE (TandemSqliteStorage, tandem_sqlite_storage, TANDEM, SQLITE_STORAGE, GObject)

struct _TandemSqliteStorage
{
  GObject     parent_instance;

  sqlite3    *db;
  char       *path;
  GHashTable *statements;   /* SQL literal -> sqlite3_stmt */
};

static void storage_iface_init (TandemServerStorageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TandemSqliteStorage, tandem_sqlite_storage, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TANDEM_TYPE_SERVER_STORAGE,
                                                      storage_iface_init))

static const char *migrations[] = {
  /* 0 -> 1 */
  "CREATE TABLE users ("
  "  id         INTEGER PRIMARY KEY,"
  "  name       TEXT NOT NULL UNIQUE,"
  "  seq        INTEGER NOT NULL DEFAULT 0,"   /* last change sequence given out */
  "  purged_seq INTEGER NOT NULL DEFAULT 0,"   /* cursors below this are stale */
  "  created_at TEXT NOT NULL"
  ");"
  "CREATE TABLE tokens ("
  "  hash       TEXT PRIMARY KEY,"              /* hex SHA-256 of the token */
  "  user_id    INTEGER NOT NULL REFERENCES users (id),"
  "  created_at TEXT NOT NULL"
  ") WITHOUT ROWID;"
  "CREATE TABLE records ("
  "  user_id    INTEGER NOT NULL REFERENCES users (id),"
  "  id         TEXT NOT NULL,"
  "  entity     TEXT NOT NULL,"
  "  rev        INTEGER NOT NULL,"
  "  seq        INTEGER NOT NULL,"
  "  deleted    INTEGER NOT NULL,"
  "  updated_at TEXT NOT NULL,"
  "  deleted_at TEXT,"
  "  list_id    TEXT,"
  "  body       TEXT NOT NULL,"
  "  field_revs TEXT NOT NULL,"
  "  PRIMARY KEY (user_id, id)"
  ") WITHOUT ROWID;"
  "CREATE UNIQUE INDEX records_feed ON records (user_id, seq);"
  "CREATE INDEX records_tombstones ON records (deleted_at) WHERE deleted = 1;"
  "CREATE INDEX records_in_list ON records (user_id, list_id) WHERE deleted = 0;"
  "CREATE TABLE idempotency ("
  "  user_id      INTEGER NOT NULL,"
  "  key          TEXT NOT NULL,"
  "  payload_hash TEXT NOT NULL,"
  "  result       TEXT NOT NULL,"
  "  created_at   TEXT NOT NULL,"
  "  PRIMARY KEY (user_id, key)"
  ") WITHOUT ROWID;"
  "CREATE INDEX idempotency_age ON idempotency (created_at);"
  "CREATE TABLE history ("
  "  id         INTEGER PRIMARY KEY,"
  "  user_id    INTEGER NOT NULL,"
  "  entity_id  TEXT NOT NULL,"
  "  at         TEXT NOT NULL,"
  "  device_id  TEXT,"
  "  op_id      TEXT,"
  "  kind       TEXT,"
  "  field      TEXT,"
  "  old_value  TEXT,"
  "  new_value  TEXT,"
  "  rev        INTEGER NOT NULL"
  ");"
  "CREATE INDEX history_of_entity ON history (user_id, entity_id, id);",
};

#define SCHEMA_VERSION ((gint64) G_N_ELEMENTS (migrations))

static void
tandem_sqlite_storage_finalize (GObject *object)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) object;

  g_clear_pointer (&self->statements, g_hash_table_unref);
  if (self->db != NULL)
    sqlite3_close_v2 (self->db);
  g_free (self->path);

  G_OBJECT_CLASS (tandem_sqlite_storage_parent_class)->finalize (object);
}

static void
tandem_sqlite_storage_class_init (TandemSqliteStorageClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tandem_sqlite_storage_finalize;
}

static void
finalize_statement (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static void
tandem_sqlite_storage_init (TandemSqliteStorage *self)
{
  self->statements = g_hash_table_new_full (NULL, NULL, NULL, finalize_statement);
}

static gboolean
set_error (TandemSqliteStorage *self,
           int                  rc,
           const char          *doing,
           GError             **error)
{
  int code = TANDEM_SERVER_STORAGE_ERROR_FAILED;

  switch (rc & 0xff)
    {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = TANDEM_SERVER_STORAGE_ERROR_BUSY;
      break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      code = TANDEM_SERVER_STORAGE_ERROR_CORRUPT;
      break;
    default:
      break;
    }
  g_set_error (error, TANDEM_SERVER_STORAGE_ERROR, code, "Could not %s in “%s”: %s", doing,
               self->path, self->db ? sqlite3_errmsg (self->db) : sqlite3_errstr (rc));
  return FALSE;
}

static sqlite3_stmt *
prepare (TandemSqliteStorage *self,
         const char          *sql,
         GError             **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (self->statements, sql);
  int rc;

  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }
  rc = sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      set_error (self, rc, "prepare a query", error);
      return NULL;
    }
  g_hash_table_insert (self->statements, (gpointer) sql, stmt);
  return stmt;
}

static gboolean
exec (TandemSqliteStorage *self,
      const char          *sql,
      const char          *doing,
      GError             **error)
{
  int rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    return set_error (self, rc, doing, error);
  return TRUE;
}

static gboolean
step_done (TandemSqliteStorage *self,
           sqlite3_stmt        *stmt,
           const char          *doing,
           GError             **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return set_error (self, rc, doing, error);
  return TRUE;
}

static void
bind_text (sqlite3_stmt *stmt,
           int           index,
           const char   *text)
{
  if (text == NULL)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
}

static char *
column_dup (sqlite3_stmt *stmt,
            int           index)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, index));
}

static char *
object_to_string (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);

  return tandem_json_to_string (node, FALSE);
}

static JsonObject *
object_from_string (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root;

  if (text == NULL || !json_parser_load_from_data (parser, text, -1, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return json_object_new ();
  return json_object_ref (json_node_get_object (root));
}

/* Transactions */

static gboolean
storage_begin (TandemServerStorage *storage,
               GError             **error)
{
  return exec ((TandemSqliteStorage *) storage, "BEGIN IMMEDIATE", "start a transaction", error);
}

static gboolean
storage_commit (TandemServerStorage *storage,
                GError             **error)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;

  if (!exec (self, "COMMIT", "commit", error))
    {
      sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
  return TRUE;
}

static void
storage_rollback (TandemServerStorage *storage)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;

  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

static gboolean
storage_savepoint (TandemServerStorage *storage,
                   GError             **error)
{
  return exec ((TandemSqliteStorage *) storage, "SAVEPOINT op", "start an op", error);
}

static gboolean
storage_release (TandemServerStorage *storage,
                 GError             **error)
{
  return exec ((TandemSqliteStorage *) storage, "RELEASE op", "finish an op", error);
}

static void
storage_rollback_to (TandemServerStorage *storage)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;

  sqlite3_exec (self->db, "ROLLBACK TO op; RELEASE op", NULL, NULL, NULL);
}

/* Tokens */

static gboolean
storage_add_token (TandemServerStorage *storage,
                   const char          *user_name,
                   const char          *token_hash,
                   GError             **error)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *at = g_date_time_format_iso8601 (now);
  sqlite3_stmt *stmt;

  if (!(stmt = prepare (self, "INSERT INTO users (name, created_at) VALUES (?, ?) "
                              "ON CONFLICT (name) DO NOTHING", error)))
    return FALSE;
  bind_text (stmt, 1, user_name);
  bind_text (stmt, 2, at);
  if (!step_done (self, stmt, "add a user", error))
    return FALSE;

  if (!(stmt = prepare (self, "INSERT INTO tokens (hash, user_id, created_at) "
                              "SELECT ?, id, ? FROM users WHERE name = ?", error)))
    return FALSE;
  bind_text (stmt, 1, token_hash);
  bind_text (stmt, 2, at);
  bind_text (stmt, 3, user_name);
  return step_done (self, stmt, "add a token", error);
}

static gboolean
storage_revoke_token (TandemServerStorage *storage,
                      const char          *token_hash,
                      GError             **error)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;
  sqlite3_stmt *stmt;

  if (!(stmt = prepare (self, "DELETE FROM tokens WHERE hash = ?", error)))
    return FALSE;
  bind_text (stmt, 1, token_hash);
  if (!step_done (self, stmt, "revoke a token", error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error_literal (error, TANDEM_SERVER_STORAGE_ERROR,
                           TANDEM_SERVER_STORAGE_ERROR_NOT_FOUND,
                           "No such token (it may have been revoked already)");
      return FALSE;
    }
  return TRUE;
}

static gboolean
storage_lookup_token (TandemServerStorage *storage,
                      const char          *token_hash,
                      gint64              *user_id,
                      GError             **error)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;
  sqlite3_stmt *stmt;
  int rc;

  if (!(stmt = prepare (self, "SELECT user_id FROM tokens WHERE hash = ?", error)))
    return FALSE;
  bind_text (stmt, 1, token_hash);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *user_id = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc != SQLITE_DONE)
    return set_error (self, rc, "check a token", error);
  return FALSE;
}

/* Idempotency */

static gboolean
storage_get_idempotency (TandemServerStorage *storage,
                         gint64               user_id,
                         const char          *key,
                         char               **payload_hash,
                         char               **result,
                         GError             **error)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;
  sqlite3_stmt *stmt;
  int rc;

  if (!(stmt = prepare (self, "SELECT payload_hash, result FROM idempotency "
                              "WHERE user_id = ? AND key = ?", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  bind_text (stmt, 2, key);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *payload_hash = column_dup (stmt, 0);
      *result = column_dup (stmt, 1);
    }
  sqlite3_reset (stmt);
  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc != SQLITE_DONE)
    return set_error (self, rc, "read an idempotency key", error);
  return FALSE;
}

static gboolean
storage_put_idempotency (TandemServerStorage *storage,
                         gint64               user_id,
                         const char          *key,
                         const char          *payload_hash,
                         const char          *result,
                         const char          *created_at,
                         GError             **error)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;
  sqlite3_stmt *stmt;

  if (!(stmt = prepare (self, "INSERT INTO idempotency (user_id, key, payload_hash, result, "
                              "created_at) VALUES (?, ?, ?, ?, ?)", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  bind_text (stmt, 2, key);
  bind_text (stmt, 3, payload_hash);
  bind_text (stmt, 4, result);
  bind_text (stmt, 5, created_at);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      int rc = sqlite3_reset (stmt);

      if ((rc & 0xff) == SQLITE_CONSTRAINT)
        {
          g_set_error_literal (error, TANDEM_SERVER_STORAGE_ERROR,
                               TANDEM_SERVER_STORAGE_ERROR_EXISTS, "The key is already used");
          return FALSE;
        }
      return set_error (self, rc, "store an idempotency key", error);
    }
  sqlite3_reset (stmt);
  return TRUE;
}

/* Every claim succeeds: no key is ever in flight in another transaction
 * when this runs. The transaction began with BEGIN IMMEDIATE, which holds
 * the database's one write lock from the start; any other transaction that
 * could have read or written the same key (in this process or in another
 * one on the same file) has therefore already committed or rolled back,
 * and its idempotency record, if any, is there to be read. Inside the
 * process nothing else runs meanwhile either: requests are served one at a
 * time on the main loop, and a request's transaction, from BEGIN to
 * COMMIT, never returns to the loop. */
static gboolean
storage_claim_keys (TandemServerStorage *storage,
                    gint64               user_id,
                    const char *const   *keys,
                    guint                n_keys,
                    gboolean            *claimed,
                    GError             **error)
{
  for (guint i = 0; i < n_keys; i++)
    claimed[i] = TRUE;
  return TRUE;
}

/* Records */

#define RECORD_COLUMNS "id, entity, rev, seq, deleted, updated_at, deleted_at, body, field_revs"

/* With @with_field_revs FALSE the record's field_revs stay NULL: the
 * change feed never reads them, and parsing them was a third of a page. */
static TandemServerRecord *
record_from_row_with (sqlite3_stmt *stmt,
                      gboolean      with_field_revs)
{
  TandemServerRecord *record = g_new0 (TandemServerRecord, 1);

  record->id = column_dup (stmt, 0);
  tandem_entity_from_string ((const char *) sqlite3_column_text (stmt, 1), &record->entity);
  record->rev = sqlite3_column_int64 (stmt, 2);
  record->seq = sqlite3_column_int64 (stmt, 3);
  record->deleted = sqlite3_column_int (stmt, 4) != 0;
  record->updated_at = column_dup (stmt, 5);
  record->deleted_at = column_dup (stmt, 6);
  record->body = object_from_string ((const char *) sqlite3_column_text (stmt, 7));
  if (with_field_revs)
    record->field_revs = object_from_string ((const char *) sqlite3_column_text (stmt, 8));
  return record;
}

static TandemServerRecord *
record_from_row (sqlite3_stmt *stmt)
{
  return record_from_row_with (stmt, TRUE);
}

static TandemServerRecord *
storage_get_record (TandemServerStorage *storage,
                    gint64               user_id,
                    const char          *id,
                    GError             **error)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;
  TandemServerRecord *record = NULL;
  sqlite3_stmt *stmt;
  int rc;

  if (!(stmt = prepare (self, "SELECT " RECORD_COLUMNS " FROM records "
                              "WHERE user_id = ? AND id = ?", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  bind_text (stmt, 2, id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    record = record_from_row (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    set_error (self, rc, "read a record", error);
  return record;
}

static gboolean
storage_put_record (TandemServerStorage *storage,
                    gint64               user_id,
                    TandemServerRecord  *record,
                    GError             **error)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;
  g_autofree char *body = NULL;
  g_autofree char *field_revs = NULL;
  sqlite3_stmt *stmt;
  const char *list_id = NULL;
  int rc;

  /* The next change sequence of this user: one writer at a time, so the
   * feed has no gaps a reader could skip. */
  if (!(stmt = prepare (self, "UPDATE users SET seq = seq + 1 WHERE id = ? RETURNING seq", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    record->seq = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW)
    return set_error (self, rc, "advance the change feed", error);

  if (record->entity == TANDEM_ENTITY_TASK && json_object_has_member (record->body, "list_id") &&
      !json_object_get_null_member (record->body, "list_id"))
    list_id = json_object_get_string_member (record->body, "list_id");
  body = object_to_string (record->body);
  field_revs = object_to_string (record->field_revs);

  if (!(stmt = prepare (self,
                        "INSERT INTO records (user_id, " RECORD_COLUMNS ", list_id) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (user_id, id) DO UPDATE SET "
                        "entity = excluded.entity, rev = excluded.rev, seq = excluded.seq, "
                        "deleted = excluded.deleted, updated_at = excluded.updated_at, "
                        "deleted_at = excluded.deleted_at, body = excluded.body, "
                        "field_revs = excluded.field_revs, list_id = excluded.list_id",
                        error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  bind_text (stmt, 2, record->id);
  bind_text (stmt, 3, tandem_entity_to_string (record->entity));
  sqlite3_bind_int64 (stmt, 4, record->rev);
  sqlite3_bind_int64 (stmt, 5, record->seq);
  sqlite3_bind_int (stmt, 6, record->deleted ? 1 : 0);
  bind_text (stmt, 7, record->updated_at);
  bind_text (stmt, 8, record->deleted_at);
  bind_text (stmt, 9, body);
  bind_text (stmt, 10, field_revs);
  bind_text (stmt, 11, list_id);
  return step_done (self, stmt, "store a record", error);
}

static gboolean
storage_count_tasks_in_list (TandemServerStorage *storage,
                             gint64               user_id,
                             const char          *list_id,
                             gint64              *count,
                             GError             **error)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;
  sqlite3_stmt *stmt;
  int rc;

  if (!(stmt = prepare (self, "SELECT count(*) FROM records WHERE user_id = ? AND list_id = ? "
                              "AND deleted = 0", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  bind_text (stmt, 2, list_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *count = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW)
    return set_error (self, rc, "count tasks", error);
  return TRUE;
}

static GPtrArray *
storage_list_changes (TandemServerStorage *storage,
                      gint64               user_id,
                      gint64               after_seq,
                      guint                limit,
                      GError             **error)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;
  g_autoptr(GPtrArray) records = NULL;
  sqlite3_stmt *stmt;
  int rc;

  if (!(stmt = prepare (self, "SELECT " RECORD_COLUMNS " FROM records "
                              "WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, after_seq);
  sqlite3_bind_int64 (stmt, 3, limit);
  records = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_server_record_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (records, record_from_row_with (stmt, FALSE));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_error (self, rc, "read changes", error);
      return NULL;
    }
  return g_steal_pointer (&records);
}

static gboolean
storage_get_feed_bounds (TandemServerStorage *storage,
                         gint64               user_id,
                         gint64              *purged_seq,
                         gint64              *last_seq,
                         GError             **error)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;
  sqlite3_stmt *stmt;
  int rc;

  if (!(stmt = prepare (self, "SELECT purged_seq, seq FROM users WHERE id = ?", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  rc = sqlite3_step (stmt);
  *purged_seq = rc == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : 0;
  *last_seq = rc == SQLITE_ROW ? sqlite3_column_int64 (stmt, 1) : 0;
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return set_error (self, rc, "read the change feed", error);
  return TRUE;
}

/* History */

static gboolean
storage_add_history (TandemServerStorage            *storage,
                     gint64                          user_id,
                     const char                     *entity_id,
                     const TandemServerHistoryEntry *entry,
                     GError                        **error)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;
  sqlite3_stmt *stmt;

  if (!(stmt = prepare (self, "INSERT INTO history (user_id, entity_id, at, device_id, op_id, "
                              "kind, field, old_value, new_value, rev) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, user_id);
  bind_text (stmt, 2, entity_id);
  bind_text (stmt, 3, entry->at);
  bind_text (stmt, 4, entry->device_id);
  bind_text (stmt, 5, entry->op_id);
  bind_text (stmt, 6, entry->kind);
  bind_text (stmt, 7, entry->field);
  bind_text (stmt, 8, entry->old_value);
  bind_text (stmt, 9, entry->new_value);
  sqlite3_bind_int64 (stmt, 10, entry->rev);
  return step_done (self, stmt, "record history", error);
}

static GPtrArray *
storage_list_history (TandemServerStorage *storage,
                      gint64               user_id,
                      const char          *entity_id,
                      GError             **error)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;
  g_autoptr(GPtrArray) entries = NULL;
  sqlite3_stmt *stmt;
  int rc;

  if (!(stmt = prepare (self, "SELECT at, device_id, op_id, kind, field, old_value, new_value, rev "
                              "FROM history WHERE user_id = ? AND entity_id = ? ORDER BY id",
                        error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, user_id);
  bind_text (stmt, 2, entity_id);
  entries = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_server_history_entry_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      TandemServerHistoryEntry *entry = g_new0 (TandemServerHistoryEntry, 1);

      entry->at = column_dup (stmt, 0);
      entry->device_id = column_dup (stmt, 1);
      entry->op_id = column_dup (stmt, 2);
      entry->kind = column_dup (stmt, 3);
      entry->field = column_dup (stmt, 4);
      entry->old_value = column_dup (stmt, 5);
      entry->new_value = column_dup (stmt, 6);
      entry->rev = sqlite3_column_int64 (stmt, 7);
      g_ptr_array_add (entries, entry);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_error (self, rc, "read history", error);
      return NULL;
    }
  return g_steal_pointer (&entries);
}

/* Purging */

static gboolean
storage_purge (TandemServerStorage *storage,
               const char          *cutoff,
               guint               *n_purged,
               GError             **error)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;
  sqlite3_stmt *stmt;
  guint purged = 0;

  if (!storage_begin (storage, error))
    return FALSE;

  /* A client whose cursor is below a purged tombstone might have missed
   * that delete: such cursors answer 410 from now on. */
  if (!(stmt = prepare (self,
                        "UPDATE users SET purged_seq = max(purged_seq, "
                        "  (SELECT coalesce(max(seq), 0) FROM records "
                        "   WHERE records.user_id = users.id AND deleted = 1 AND deleted_at < ?1))",
                        error)))
    goto failed;
  bind_text (stmt, 1, cutoff);
  if (!step_done (self, stmt, "purge", error))
    goto failed;

  if (!(stmt = prepare (self,
                        "DELETE FROM history WHERE (user_id, entity_id) IN "
                        "(SELECT user_id, id FROM records WHERE deleted = 1 AND deleted_at < ?)",
                        error)))
    goto failed;
  bind_text (stmt, 1, cutoff);
  if (!step_done (self, stmt, "purge", error))
    goto failed;

  if (!(stmt = prepare (self, "DELETE FROM records WHERE deleted = 1 AND deleted_at < ?", error)))
    goto failed;
  bind_text (stmt, 1, cutoff);
  if (!step_done (self, stmt, "purge", error))
    goto failed;
  purged += sqlite3_changes (self->db);

  if (!(stmt = prepare (self, "DELETE FROM idempotency WHERE created_at < ?", error)))
    goto failed;
  bind_text (stmt, 1, cutoff);
  if (!step_done (self, stmt, "purge", error))
    goto failed;
  purged += sqlite3_changes (self->db);

  if (!storage_commit (storage, error))
    return FALSE;
  if (n_purged != NULL)
    *n_purged = purged;
  return TRUE;

failed:
  storage_rollback (storage);
  return FALSE;
}

/* Rate limits. SQLite serves from one process, so its buckets live in a
 * TEMP table of this connection: shared by every request of the process,
 * and never written to disk (a request must not cost an fsync for its
 * rate limit). */

static gboolean
storage_get_rate_bucket (TandemServerStorage *storage,
                         const char          *key,
                         gint64              *level,
                         gint64              *updated_at,
                         gint64              *version,
                         GError             **error)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;
  sqlite3_stmt *stmt;
  int rc;

  if (!(stmt = prepare (self, "SELECT level, updated_at, version FROM temp.rate_buckets "
                              "WHERE key = ?", error)))
    return FALSE;
  bind_text (stmt, 1, key);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *level = sqlite3_column_int64 (stmt, 0);
      *updated_at = sqlite3_column_int64 (stmt, 1);
      *version = sqlite3_column_int64 (stmt, 2);
    }
  sqlite3_reset (stmt);
  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc != SQLITE_DONE)
    return set_error (self, rc, "read a rate limit", error);
  return FALSE;
}

static gboolean
storage_put_rate_bucket (TandemServerStorage *storage,
                         const char          *key,
                         gint64               seen_version,
                         gint64               level,
                         gint64               updated_at,
                         gboolean            *stored,
                         GError             **error)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;
  sqlite3_stmt *stmt;

  if (seen_version == 0)
    stmt = prepare (self, "INSERT INTO temp.rate_buckets (key, level, updated_at, version) "
                          "VALUES (?1, ?2, ?3, 1) ON CONFLICT (key) DO NOTHING", error);
  else
    stmt = prepare (self, "UPDATE temp.rate_buckets SET level = ?2, updated_at = ?3, "
                          "version = version + 1 WHERE key = ?1 AND version = ?4", error);
  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, key);
  sqlite3_bind_int64 (stmt, 2, level);
  sqlite3_bind_int64 (stmt, 3, updated_at);
  if (seen_version != 0)
    sqlite3_bind_int64 (stmt, 4, seen_version);
  if (!step_done (self, stmt, "store a rate limit", error))
    return FALSE;
  *stored = sqlite3_changes (self->db) == 1;
  return TRUE;
}

static gboolean
storage_prune_rate_buckets (TandemServerStorage *storage,
                            gint64               before,
                            GError             **error)
{
  TandemSqliteStorage *self = (TandemSqliteStorage *) storage;
  sqlite3_stmt *stmt;

  if (!(stmt = prepare (self, "DELETE FROM temp.rate_buckets WHERE updated_at < ?", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, before);
  return step_done (self, stmt, "prune rate limits", error);
}

static void
storage_iface_init (TandemServerStorageInterface *iface)
{
  iface->begin = storage_begin;
  iface->commit = storage_commit;
  iface->rollback = storage_rollback;
  iface->savepoint = storage_savepoint;
  iface->release = storage_release;
  iface->rollback_to = storage_rollback_to;
  iface->add_token = storage_add_token;
  iface->revoke_token = storage_revoke_token;
  iface->lookup_token = storage_lookup_token;
  iface->get_idempotency = storage_get_idempotency;
  iface->put_idempotency = storage_put_idempotency;
  iface->claim_keys = storage_claim_keys;
  iface->get_record = storage_get_record;
  iface->put_record = storage_put_record;
  iface->count_tasks_in_list = storage_count_tasks_in_list;
  iface->list_changes = storage_list_changes;
  iface->get_feed_bounds = storage_get_feed_bounds;
  iface->add_history = storage_add_history;
  iface->list_history = storage_list_history;
  iface->purge = storage_purge;
  iface->get_rate_bucket = storage_get_rate_bucket;
  iface->put_rate_bucket = storage_put_rate_bucket;
  iface->prune_rate_buckets = storage_prune_rate_buckets;
}

/* Opening */

static gboolean
pragma_int (TandemSqliteStorage *self,
            const char          *sql,
            gint64              *value,
            GError             **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL);

  if (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      *value = sqlite3_column_int64 (stmt, 0);
      rc = SQLITE_OK;
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_OK)
    return set_error (self, rc, "read the database header", error);
  return TRUE;
}

TandemServerStorage *
tandem_sqlite_storage_open (const char *data_dir,
                            GError    **error)
{
  g_autoptr(TandemSqliteStorage) self = NULL;
  gint64 version = 0, app_id = 0, n_objects = 0;
  int rc;

  g_return_val_if_fail (data_dir != NULL, NULL);

  if (g_mkdir_with_parents (data_dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, TANDEM_SERVER_STORAGE_ERROR, TANDEM_SERVER_STORAGE_ERROR_FAILED,
                   "Could not create the data folder “%s”: %s", data_dir, g_strerror (saved));
      return NULL;
    }

  self = g_object_new (TANDEM_TYPE_SQLITE_STORAGE, NULL);
  self->path = g_build_filename (data_dir, "tandem-server.db", NULL);
  rc = sqlite3_open_v2 (self->path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK)
    {
      set_error (self, rc, "open the database", error);
      return NULL;
    }
  sqlite3_extended_result_codes (self->db, TRUE);
  sqlite3_busy_timeout (self->db, 5000);

  if (!pragma_int (self, "PRAGMA user_version", &version, error) ||
      !pragma_int (self, "PRAGMA application_id", &app_id, error) ||
      !pragma_int (self, "SELECT count(*) FROM sqlite_master", &n_objects, error))
    return NULL;
  if (app_id != TANDEM_SERVER_APPLICATION_ID && (version != 0 || n_objects != 0 || app_id != 0))
    {
      g_set_error (error, TANDEM_SERVER_STORAGE_ERROR, TANDEM_SERVER_STORAGE_ERROR_CORRUPT,
                   "“%s” is not a Tandem server database; it was left untouched", self->path);
      return NULL;
    }
  if (version > SCHEMA_VERSION)
    {
      g_set_error (error, TANDEM_SERVER_STORAGE_ERROR, TANDEM_SERVER_STORAGE_ERROR_CORRUPT,
                   "“%s” was written by a newer tandem-server (schema %" G_GINT64_FORMAT "); "
                   "update tandem-server to use it", self->path, version);
      return NULL;
    }

  if (!exec (self, "PRAGMA journal_mode = WAL", "switch to write-ahead logging", error) ||
      !exec (self, "PRAGMA synchronous = FULL", "configure durability", error) ||
      !exec (self, "PRAGMA foreign_keys = ON", "enable foreign keys", error))
    return NULL;

  while (version < SCHEMA_VERSION)
    {
      g_autofree char *set_version = g_strdup_printf ("PRAGMA user_version = %" G_GINT64_FORMAT ";"
                                                      "PRAGMA application_id = %d;",
                                                      version + 1, TANDEM_SERVER_APPLICATION_ID);

      if (!storage_begin ((TandemServerStorage *) self, error))
        return NULL;
      if (!exec (self, migrations[version], "upgrade the database", error) ||
          !exec (self, set_version, "upgrade the database", error) ||
          !storage_commit ((TandemServerStorage *) self, error))
        {
          storage_rollback ((TandemServerStorage *) self);
          return NULL;
        }
      version++;
    }

  if (!exec (self, "CREATE TEMP TABLE rate_buckets ("
                   "  key        TEXT PRIMARY KEY,"
                   "  level      INTEGER NOT NULL,"
                   "  updated_at INTEGER NOT NULL,"
                   "  version    INTEGER NOT NULL"
                   ") WITHOUT ROWID",
             "prepare rate limits", error))
    return NULL;

  return (TandemServerStorage *) g_steal_pointer (&self);
}
