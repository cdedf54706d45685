/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-store"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "tandem-codec.h"
#include "tandem-position.h"
#include "tandem-store.h"

/* "TAND": marks a SQLite file as ours (PRAGMA application_id). */
#define TANDEM_APPLICATION_ID 0x54414e44

/* Bytes the WAL file keeps when it restarts (see wal_hook): a file that
 * stays its size is rewritten in place, one that is cut is extended again. */
#define WAL_SIZE_LIMIT 33554432

struct _TandemStore
{
  GObject     parent_instance;

  sqlite3    *db;
  char       *path;
  char       *device_id;
  GHashTable *statements;   /* SQL literal -> sqlite3_stmt */

  /* Checkpoints run on a thread of their own (see wal_hook). The fields
   * below the mutex are shared with that thread and guarded by it. */
  GThread    *checkpointer;
  GMutex      checkpoint_mutex;
  GCond       checkpoint_cond;
  gboolean    checkpoint_wanted;
  gboolean    checkpoint_running;
  gboolean    checkpoint_quit;
  int         checkpoint_done;   /* WAL frames the thread's last round left in the file */
};

G_DEFINE_FINAL_TYPE (TandemStore, tandem_store, G_TYPE_OBJECT)

G_DEFINE_QUARK (tandem-store-error-quark, tandem_store_error)

/* Each entry moves the schema from version N to N + 1. Never edit one that
 * has shipped: add a new one. */
static const char *migrations[] = {
  /* 0 -> 1 */
  "CREATE TABLE settings ("
  "  key   TEXT PRIMARY KEY,"
  "  value TEXT NOT NULL"
  ") WITHOUT ROWID;"
  "CREATE TABLE lists ("
  "  id          TEXT PRIMARY KEY,"
  "  name        TEXT NOT NULL,"
  "  position    TEXT NOT NULL,"
  "  rev         INTEGER NOT NULL DEFAULT 0,"
  "  updated_at  TEXT,"
  "  deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),"
  "  sync_status TEXT NOT NULL DEFAULT 'pending',"
  "  base        TEXT"
  ");"
  "CREATE TABLE tasks ("
  "  id          TEXT PRIMARY KEY,"
  "  list_id     TEXT,"
  "  title       TEXT NOT NULL,"
  "  notes       TEXT NOT NULL DEFAULT '',"
  "  done        INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),"
  "  due         TEXT,"
  "  priority    INTEGER NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 3),"
  "  position    TEXT NOT NULL,"
  "  tags        TEXT NOT NULL DEFAULT '',"   /* sorted, space-separated: tags hold no spaces */
  "  rev         INTEGER NOT NULL DEFAULT 0,"
  "  updated_at  TEXT,"
  "  deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),"
  "  sync_status TEXT NOT NULL DEFAULT 'pending',"
  "  base        TEXT"                         /* JSON snapshot at rev, NULL if never synced */
  ");"
  "CREATE INDEX tasks_in_order ON tasks (list_id, position, id);"
  "CREATE TABLE comments ("
  "  id         TEXT PRIMARY KEY,"
  "  task_id    TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,"
  "  body       TEXT NOT NULL,"
  "  device_id  TEXT NOT NULL,"
  "  created_at TEXT NOT NULL"
  ");"
  "CREATE INDEX comments_of_task ON comments (task_id, created_at, id);"
  "CREATE TABLE outbox ("
  "  seq        INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  op_id      TEXT NOT NULL UNIQUE,"
  "  entity     TEXT NOT NULL,"
  "  entity_id  TEXT NOT NULL,"
  "  kind       TEXT NOT NULL,"
  "  base_rev   INTEGER NOT NULL,"
  "  patch      TEXT NOT NULL,"
  "  base       TEXT NOT NULL,"
  "  created_at TEXT NOT NULL,"
  "  state      TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'sent', 'error')),"
  "  error      TEXT"
  ");"
  "CREATE INDEX outbox_of_entity ON outbox (entity_id, seq);"
  "CREATE TABLE history ("
  "  id         INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  entity_id  TEXT NOT NULL,"
  "  at         TEXT NOT NULL,"
  "  device_id  TEXT,"
  "  origin     TEXT NOT NULL,"
  "  field      TEXT,"
  "  old_value  TEXT,"
  "  new_value  TEXT,"
  "  note       TEXT"
  ");"
  "CREATE INDEX history_of_entity ON history (entity_id, id);",

  /* 1 -> 2: conflicts waiting for the user (DESIGN §5) */
  "CREATE TABLE conflicts ("
  "  entity_id  TEXT PRIMARY KEY,"
  "  kind       TEXT NOT NULL,"
  "  remote_rev INTEGER NOT NULL,"
  "  base       TEXT NOT NULL,"      /* snapshot the local edits started from */
  "  remote     TEXT NOT NULL,"      /* snapshot of the server's record */
  "  created_at TEXT NOT NULL"
  ");",

  /* 2 -> 3: plain rowids for the outbox and the history. AUTOINCREMENT
   * only adds a guarantee nothing here needs (an id never reused after the
   * newest row is deleted) and costs a write to sqlite_sequence, one more
   * page in every commit of a user edit. Both tables keep their columns and
   * rows; the order of seq and id is unchanged. */
  "CREATE TABLE outbox_3 ("
  "  seq        INTEGER PRIMARY KEY,"
  "  op_id      TEXT NOT NULL UNIQUE,"
  "  entity     TEXT NOT NULL,"
  "  entity_id  TEXT NOT NULL,"
  "  kind       TEXT NOT NULL,"
  "  base_rev   INTEGER NOT NULL,"
  "  patch      TEXT NOT NULL,"
  "  base       TEXT NOT NULL,"
  "  created_at TEXT NOT NULL,"
  "  state      TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'sent', 'error')),"
  "  error      TEXT"
  ");"
  "INSERT INTO outbox_3 SELECT seq, op_id, entity, entity_id, kind, base_rev, patch, base, "
  "  created_at, state, error FROM outbox;"
  "DROP TABLE outbox;"
  "ALTER TABLE outbox_3 RENAME TO outbox;"
  "CREATE INDEX outbox_of_entity ON outbox (entity_id, seq);"
  "CREATE TABLE history_3 ("
  "  id         INTEGER PRIMARY KEY,"
  "  entity_id  TEXT NOT NULL,"
  "  at         TEXT NOT NULL,"
  "  device_id  TEXT,"
  "  origin     TEXT NOT NULL,"
  "  field      TEXT,"
  "  old_value  TEXT,"
  "  new_value  TEXT,"
  "  note       TEXT"
  ");"
  "INSERT INTO history_3 SELECT id, entity_id, at, device_id, origin, field, old_value, "
  "  new_value, note FROM history;"
  "DROP TABLE history;"
  "ALTER TABLE history_3 RENAME TO history;"
  "CREATE INDEX history_of_entity ON history (entity_id, id);",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == TANDEM_STORE_SCHEMA_VERSION);

#define TASK_COLUMNS \
  "id, list_id, title, notes, done, due, priority, position, tags, rev, updated_at, deleted, sync_status"
#define LIST_COLUMNS "id, name, position, rev, updated_at, deleted, sync_status"
#define OP_COLUMNS \
  "seq, op_id, entity, entity_id, kind, base_rev, patch, base, created_at, state, error"

void
tandem_history_entry_free (TandemHistoryEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->entity_id);
  g_free (entry->at);
  g_free (entry->device_id);
  g_free (entry->origin);
  g_free (entry->field);
  g_free (entry->old_value);
  g_free (entry->new_value);
  g_free (entry->note);
  g_free (entry);
}

static void
tandem_store_finalize (GObject *object)
{
  TandemStore *self = (TandemStore *) object;

  if (self->checkpointer != NULL)
    {
      g_mutex_lock (&self->checkpoint_mutex);
      self->checkpoint_quit = TRUE;
      g_cond_signal (&self->checkpoint_cond);
      g_mutex_unlock (&self->checkpoint_mutex);
      g_clear_pointer (&self->checkpointer, g_thread_join);
    }
  g_mutex_clear (&self->checkpoint_mutex);
  g_cond_clear (&self->checkpoint_cond);

  g_clear_pointer (&self->statements, g_hash_table_unref);
  if (self->db != NULL)
    sqlite3_close_v2 (self->db);
  g_free (self->path);
  g_free (self->device_id);

  G_OBJECT_CLASS (tandem_store_parent_class)->finalize (object);
}

static void
tandem_store_class_init (TandemStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tandem_store_finalize;
}

static void
finalize_statement (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static void
tandem_store_init (TandemStore *self)
{
  /* Keyed by the address of the SQL literal: every query is a constant. */
  self->statements = g_hash_table_new_full (NULL, NULL, NULL, finalize_statement);
  g_mutex_init (&self->checkpoint_mutex);
  g_cond_init (&self->checkpoint_cond);
}

/* Errors */

/* @doing is what failed, marked with NC_("database action", …) by the
 * callers: a phrase that fits “Could not %s in “%s”: %s”, such as “read a
 * task”. */
static gboolean
set_db_error (TandemStore *self,
              int          rc,
              const char  *doing,
              GError     **error)
{
  int code;
  const char *path = self->path;

  switch (rc & 0xff)
    {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_CORRUPT,
                   /* Translators: the first %s is the path of the database file,
                    * the second SQLite's description of the problem (in English) */
                   _("“%s” is not a Tandem database or is damaged (%s); it was left untouched"),
                   path, sqlite3_errstr (rc));
      return FALSE;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_LOCKED,
                   /* Translators: %s is the path of the database file */
                   _("“%s” is in use by another program; close it and try again"), path);
      return FALSE;
    case SQLITE_FULL:
      code = TANDEM_STORE_ERROR_IO;
      g_set_error (error, TANDEM_STORE_ERROR, code,
                   /* Translators: %s is the path of the database file */
                   _("The disk holding “%s” is full; nothing was saved"), path);
      return FALSE;
    default:
      code = TANDEM_STORE_ERROR_IO;
      /* Translators: the first %s is what failed, one of the phrases with
       * the context “database action”, such as “read a task”; the second is
       * the path of the database file, the third SQLite's description of the
       * problem (in English) */
      g_set_error (error, TANDEM_STORE_ERROR, code, _("Could not %s in “%s”: %s"),
                   g_dpgettext2 (GETTEXT_PACKAGE, "database action", doing), path,
                   self->db ? sqlite3_errmsg (self->db) : sqlite3_errstr (rc));
      return FALSE;
    }
}

/* @message is a sentence with one %s for @id, marked with N_() by the
 * callers, such as “There is no task with id “%s””. */
static gboolean
not_found (GError    **error,
           const char *message,
           const char *id)
{
  g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND, _(message), id);
  return FALSE;
}

static gboolean
invalid_request (GError    **error,
                 const char *message)
{
  g_set_error_literal (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_INVALID, message);
  return FALSE;
}

/* Statements */

static sqlite3_stmt *
prepare (TandemStore *self,
         const char  *sql,
         GError     **error)
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
      set_db_error (self, rc, NC_("database action", "prepare a query"), error);
      return NULL;
    }
  g_hash_table_insert (self->statements, (gpointer) sql, stmt);
  return stmt;
}

static gboolean
exec (TandemStore *self,
      const char  *sql,
      const char  *doing,
      GError     **error)
{
  int rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    return set_db_error (self, rc, doing, error);
  return TRUE;
}

/* Steps a statement that returns no row. */
static gboolean
step_done (TandemStore  *self,
           sqlite3_stmt *stmt,
           const char   *doing,
           GError      **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return set_db_error (self, rc, doing, error);
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

static gpointer
column_dup_first (gpointer      self,
                  sqlite3_stmt *stmt)
{
  return column_dup (stmt, 0);
}

typedef gpointer (*RowFunc) (TandemStore  *self,
                            sqlite3_stmt *stmt);

/* Every row of a prepared and bound statement, made by @row. */
static GPtrArray *
collect_rows (TandemStore    *self,
              sqlite3_stmt   *stmt,
              RowFunc         row,
              GDestroyNotify  free_func,
              const char     *doing,
              GError        **error)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (free_func);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (rows, row (self, stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_db_error (self, rc, doing, error);
      return NULL;
    }
  return g_steal_pointer (&rows);
}

/* The one row a prepared and bound statement finds by @key; NOT_FOUND
 * (with @not_found_message, see not_found()) when there is none. */
static gpointer
fetch_row (TandemStore  *self,
           sqlite3_stmt *stmt,
           RowFunc       row,
           const char   *not_found_message,
           const char   *key,
           const char   *doing,
           GError      **error)
{
  gpointer found = NULL;
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW)
    found = row (self, stmt);
  sqlite3_reset (stmt);
  if (rc == SQLITE_DONE)
    not_found (error, not_found_message, key);
  else if (rc != SQLITE_ROW)
    set_db_error (self, rc, doing, error);
  return found;
}

static gboolean
begin (TandemStore *self,
       GError     **error)
{
  return exec (self, "BEGIN IMMEDIATE", NC_("database action", "start a change"), error);
}

static gboolean
commit (TandemStore *self,
        GError     **error)
{
  if (!exec (self, "COMMIT", NC_("database action", "save the change"), error))
    {
      sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
  return TRUE;
}

static void
rollback (TandemStore *self)
{
  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

/* JSON helpers */

static char *
node_to_string (JsonNode *node)
{
  return tandem_json_to_string (node, FALSE);
}

static char *
object_to_string (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);

  return node_to_string (node);
}

static JsonObject *
object_from_string (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  /* Written by this store; a failure means the file was damaged. */
  if (text == NULL || !json_parser_load_from_data (parser, text, -1, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return json_object_new ();
  return json_object_ref (json_node_get_object (root));
}

/* Settings */

static char *
get_setting (TandemStore *self,
             const char  *key,
             GError     **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT value FROM settings WHERE key = ?", error);
  char *value = NULL;
  int rc;

  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, key);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    value = column_dup (stmt, 0);
  else if (rc != SQLITE_DONE)
    set_db_error (self, rc, NC_("database action", "read a setting"), error);
  sqlite3_reset (stmt);
  return value;
}

static gboolean
put_setting (TandemStore *self,
             const char  *key,
             const char  *value,
             GError     **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "INSERT INTO settings (key, value) VALUES (?, ?) "
                                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, key);
  bind_text (stmt, 2, value);
  return step_done (self, stmt, NC_("database action", "save a setting"), error);
}

char *
tandem_store_get_setting (TandemStore *self,
                          const char  *key)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  return get_setting (self, key, NULL);
}

gboolean
tandem_store_set_setting (TandemStore *self,
                          const char  *key,
                          const char  *value,
                          GError     **error)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (key != NULL && value != NULL, FALSE);

  return put_setting (self, key, value, error);
}

/* Opening */

static gboolean
pragma_int (TandemStore *self,
            const char  *sql,
            gint64      *value,
            GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL);

  if (rc == SQLITE_OK)
    {
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          *value = sqlite3_column_int64 (stmt, 0);
          rc = SQLITE_OK;
        }
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_OK)
    return set_db_error (self, rc, NC_("database action", "read the database header"), error);
  return TRUE;
}

/* Creates the file (and its folder) private to the user before SQLite sees
 * it: the database may hold a sync token. */
static gboolean
ensure_private_file (const char *path,
                     GError    **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   /* Translators: %s are the path of a folder and why it failed */
                   _("Could not create the folder “%s”: %s"), dir, g_strerror (saved));
      return FALSE;
    }

  fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   /* Translators: %s are the path of the database file and why it failed */
                   _("Could not open “%s”: %s"), path, g_strerror (saved));
      return FALSE;
    }
  g_close (fd, NULL);
  return TRUE;
}

static gboolean
check_and_migrate (TandemStore *self,
                   GError     **error)
{
  gint64 version = 0, app_id = 0, n_objects = 0;

  /* Reads only: a foreign or damaged file must not be written to. */
  if (!pragma_int (self, "PRAGMA user_version", &version, error) ||
      !pragma_int (self, "PRAGMA application_id", &app_id, error) ||
      !pragma_int (self, "SELECT count(*) FROM sqlite_master", &n_objects, error))
    return FALSE;

  if (app_id != TANDEM_APPLICATION_ID && (version != 0 || n_objects != 0 || app_id != 0))
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_CORRUPT,
                   /* Translators: %s is the path of the database file */
                   _("“%s” is a database of another program, not Tandem's; "
                     "it was left untouched"),
                   self->path);
      return FALSE;
    }
  if (version > TANDEM_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_TOO_NEW,
                   /* Translators: %s is the path of the database file; the numbers
                    * are versions of its layout (schema) */
                   _("“%s” was written by a newer version of Tandem (schema %lld, "
                     "this program knows up to %d); update Tandem to open it"),
                   self->path, (long long) version, TANDEM_STORE_SCHEMA_VERSION);
      return FALSE;
    }

  if (!exec (self, "PRAGMA journal_mode = WAL",
             NC_("database action", "switch to write-ahead logging"), error) ||
      !exec (self, "PRAGMA synchronous = FULL",
             NC_("database action", "configure durability"), error) ||
      !exec (self, "PRAGMA foreign_keys = ON",
             NC_("database action", "enable foreign keys"), error))
    return FALSE;

  while (version < TANDEM_STORE_SCHEMA_VERSION)
    {
      g_autofree char *set_version = NULL;

      if (!begin (self, error))
        return FALSE;
      set_version = g_strdup_printf ("PRAGMA user_version = %" G_GINT64_FORMAT ";"
                                     "PRAGMA application_id = %d;",
                                     version + 1, TANDEM_APPLICATION_ID);
      if (!exec (self, migrations[version],
                 NC_("database action", "upgrade the database"), error) ||
          !exec (self, set_version, NC_("database action", "upgrade the database"), error) ||
          !commit (self, error))
        {
          rollback (self);
          return FALSE;
        }
      version++;
    }
  return TRUE;
}

static gboolean
ensure_device_id (TandemStore *self,
                  GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  self->device_id = get_setting (self, "device_id", &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (self->device_id == NULL)
    {
      self->device_id = tandem_new_id ();
      if (!put_setting (self, "device_id", self->device_id, error))
        return FALSE;
    }
  return TRUE;
}

/* Moving WAL frames into the database file costs a write of every page
 * they touch and an fsync of the file. Done in a commit (SQLite's automatic
 * checkpoint) it stalls the one user edit that happens to cross the
 * threshold, about one in a hundred; so the store turns automatic
 * checkpoints off and, once the WAL has grown past CHECKPOINT_PAGES, wakes a
 * thread that runs passive checkpoints on a connection of its own. Passive
 * checkpoints never block writers; the last close checkpoints the rest.
 *
 * A checkpoint alone does not shrink the WAL: SQLite starts writing it from
 * the beginning again only when a transaction begins while every frame in
 * it is in the database file. Under a steady stream of edits the thread is
 * always one commit behind, so the log would grow for as long as the
 * stream lasts, every commit extending the file (a costlier fsync) and
 * every page read searching a longer WAL index. So once the thread has
 * caught up to within CHECKPOINT_TAIL_PAGES, the commit that sees it
 * copies that small rest itself, in the WAL hook, and the next transaction
 * restarts the log. That commit pays for a few pages and one fsync of the
 * database file, once every CHECKPOINT_PAGES.
 *
 * How often: each checkpoint cycle costs a burst of edits two slow commits
 * (the one that takes over, ~10 ms while the database file's fsync writes
 * what the thread copied, and the one that restarts the log, which fsyncs
 * the WAL header too), so the fewer cycles the better, until a cycle's
 * copy is so long that edits queue behind it. In a burst of 10,000 edits,
 * 1,000 pages put those commits into the p99; 2,000 to 8,000 kept them out
 * (docs/benchmarks.md). Waiting for a pause in the writes with a cap of
 * 16,000 pages was tried earlier and made the p99 worse. */
#define CHECKPOINT_PAGES 4000
#define CHECKPOINT_TAIL_PAGES 64
#define CHECKPOINT_ROUNDS 8

static gpointer
checkpoint_thread (gpointer data)
{
  TandemStore *self = data;
  sqlite3 *db = NULL;

  if (sqlite3_open_v2 (self->path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
    g_clear_pointer (&db, sqlite3_close_v2);
  else
    {
      sqlite3_busy_timeout (db, 1000);
      /* A connection learns that the file is in WAL mode on its first read;
       * until then a checkpoint does nothing and reports -1 frames. */
      sqlite3_exec (db, "PRAGMA synchronous = FULL; SELECT count(*) FROM sqlite_schema", NULL,
                    NULL, NULL);
    }

  g_mutex_lock (&self->checkpoint_mutex);
  for (;;)
    {
      int n_log = -1, n_done = -1;

      while (!self->checkpoint_wanted && !self->checkpoint_quit)
        g_cond_wait (&self->checkpoint_cond, &self->checkpoint_mutex);
      if (self->checkpoint_quit)
        break;
      self->checkpoint_wanted = FALSE;
      self->checkpoint_running = TRUE;
      g_mutex_unlock (&self->checkpoint_mutex);

      /* Each round copies what the commits made during the last one added,
       * so the rounds shrink until one copies so little that the rest is
       * small enough for a commit to take over. SQLite itself fsyncs the
       * database file only in a round that catches up with the last
       * commit; when edits go on meanwhile, that fsync is the taking
       * over commit's. Doing it here instead was tried: the edits whose WAL
       * fsync queued behind it made the p99 three times worse. */
      for (int round = 0, last_done = 0; db != NULL && round < CHECKPOINT_ROUNDS; round++)
        {
          if (sqlite3_wal_checkpoint_v2 (db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                         &n_log, &n_done) != SQLITE_OK
              || n_done - last_done <= CHECKPOINT_TAIL_PAGES)
            break;
          last_done = n_done;
        }

      g_mutex_lock (&self->checkpoint_mutex);
      self->checkpoint_running = FALSE;
      self->checkpoint_done = n_done;
    }
  g_mutex_unlock (&self->checkpoint_mutex);

  /* Closed before the store's own connection, so that one is the last and
   * its close checkpoints the WAL and removes it. */
  sqlite3_close_v2 (db);
  return NULL;
}

static int
wal_hook (gpointer    data,
          sqlite3    *db,
          const char *name,
          int         n_pages)
{
  TandemStore *self = data;
  gboolean copy_rest = FALSE;

  g_mutex_lock (&self->checkpoint_mutex);
  if (!self->checkpoint_running)
    {
      /* A log shorter than what the thread checkpointed has restarted. */
      if (n_pages < self->checkpoint_done)
        self->checkpoint_done = 0;
      if (self->checkpoint_done > 0 && n_pages - self->checkpoint_done <= CHECKPOINT_TAIL_PAGES)
        {
          copy_rest = TRUE;
          self->checkpoint_done = 0;
        }
      else if (n_pages >= CHECKPOINT_PAGES && !self->checkpoint_wanted)
        {
          self->checkpoint_wanted = TRUE;
          if (self->checkpointer == NULL)
            self->checkpointer = g_thread_new ("tandem-checkpoint", checkpoint_thread, self);
          g_cond_signal (&self->checkpoint_cond);
        }
    }
  g_mutex_unlock (&self->checkpoint_mutex);

  if (copy_rest)
    sqlite3_wal_checkpoint_v2 (db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  return SQLITE_OK;
}

TandemStore *
tandem_store_open (const char *path,
                   GError    **error)
{
  g_autoptr(TandemStore) self = NULL;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (TANDEM_TYPE_STORE, NULL);
  self->path = g_strdup (path);

  if (!ensure_private_file (path, error))
    return NULL;

  rc = sqlite3_open_v2 (path, &self->db, SQLITE_OPEN_READWRITE, NULL);
  if (rc != SQLITE_OK)
    {
      set_db_error (self, rc, NC_("database action", "open the database"), error);
      return NULL;
    }
  sqlite3_extended_result_codes (self->db, TRUE);
  sqlite3_busy_timeout (self->db, 5000);

  if (!check_and_migrate (self, error) || !ensure_device_id (self, error))
    return NULL;

  sqlite3_exec (self->db, "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL);
  sqlite3_wal_hook (self->db, wal_hook, self);
  sqlite3_exec (self->db, "PRAGMA journal_size_limit = " G_STRINGIFY (WAL_SIZE_LIMIT), NULL, NULL,
                NULL);

  return g_steal_pointer (&self);
}

char *
tandem_store_default_path (void)
{
  const char *env = g_getenv ("TANDEM_DB");

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  return g_build_filename (g_get_user_data_dir (), "tandem", "tandem.db", NULL);
}

const char *
tandem_store_get_path (TandemStore *self)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  return self->path;
}

const char *
tandem_store_get_device_id (TandemStore *self)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  return self->device_id;
}

/* Rows */

static char *
tags_to_column (GPtrArray *tags)
{
  GString *str = g_string_new (NULL);

  for (guint i = 0; i < tags->len; i++)
    {
      if (i > 0)
        g_string_append_c (str, ' ');
      g_string_append (str, g_ptr_array_index (tags, i));
    }
  return g_string_free (str, FALSE);
}

static TandemTask *
task_from_row (TandemStore  *self,
               sqlite3_stmt *stmt)
{
  TandemTask *task = tandem_task_new ();
  const char *tags = (const char *) sqlite3_column_text (stmt, 8);

  task->id = column_dup (stmt, 0);
  task->list_id = column_dup (stmt, 1);
  g_free (task->title);
  task->title = column_dup (stmt, 2);
  g_free (task->notes);
  task->notes = column_dup (stmt, 3);
  task->done = sqlite3_column_int (stmt, 4) != 0;
  task->due = column_dup (stmt, 5);
  task->priority = sqlite3_column_int (stmt, 6);
  g_free (task->position);
  task->position = column_dup (stmt, 7);
  if (tags != NULL && *tags != '\0')
    {
      g_auto(GStrv) split = g_strsplit (tags, " ", -1);

      for (guint i = 0; split[i] != NULL; i++)
        g_ptr_array_add (task->tags, g_steal_pointer (&split[i]));
    }
  task->rev = sqlite3_column_int64 (stmt, 9);
  task->updated_at = column_dup (stmt, 10);
  task->deleted = sqlite3_column_int (stmt, 11) != 0;
  if (!tandem_sync_status_from_string ((const char *) sqlite3_column_text (stmt, 12),
                                       &task->sync_status))
    task->sync_status = TANDEM_SYNC_PENDING;
  return task;
}

static gboolean
load_comments (TandemStore *self,
               TandemTask  *task,
               GError     **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "SELECT id, body, device_id, created_at FROM comments "
                                "WHERE task_id = ? ORDER BY created_at, id",
                                error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, task->id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (task->comments,
                     tandem_comment_new ((const char *) sqlite3_column_text (stmt, 0),
                                         (const char *) sqlite3_column_text (stmt, 1),
                                         (const char *) sqlite3_column_text (stmt, 2),
                                         (const char *) sqlite3_column_text (stmt, 3)));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return set_db_error (self, rc, NC_("database action", "read comments"), error);
  return TRUE;
}

/* Loads a task with its comments; NOT_FOUND when there is none. */
static TandemTask *
load_task (TandemStore *self,
           const char  *id,
           GError     **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT " TASK_COLUMNS " FROM tasks WHERE id = ?", error);
  g_autoptr(TandemTask) task = NULL;

  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, id);
  task = fetch_row (self, stmt, (RowFunc) task_from_row,
                    /* Translators: %s is the id of a task, a UUID (or the
                     * start of one, as given in the command line tool) */
                    N_("There is no task with id “%s”"), id,
                    NC_("database action", "read a task"), error);
  if (task == NULL || !load_comments (self, task, error))
    return NULL;
  return g_steal_pointer (&task);
}

/* Writes the row; with @base, the base snapshot in the same statement
 * (a rebase), else the base is left as it is (NULL for a new row).
 *
 * Most writes are edits that leave the list and the position alone. SQLite
 * rewrites an index entry whenever its columns are assigned, equal or not,
 * so those go through an UPDATE that does not assign them: the order index
 * is not touched and the commit writes one page less. A new row, or one
 * that moved, takes the upsert. */
static gboolean
write_task_row_with_base (TandemStore      *self,
                          const TandemTask *task,
                          const char       *base,
                          GError          **error)
{
  static const char *queries[] = {
    "UPDATE tasks SET title = ?3, notes = ?4, done = ?5, due = ?6, priority = ?7, "
    "tags = ?9, rev = ?10, updated_at = ?11, deleted = ?12, sync_status = ?13, "
    "base = coalesce (?14, base) "
    "WHERE id = ?1 AND list_id IS ?2 AND position = ?8",

    "INSERT INTO tasks (" TASK_COLUMNS ", base) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET "
    "list_id = excluded.list_id, title = excluded.title, "
    "notes = excluded.notes, done = excluded.done, "
    "due = excluded.due, priority = excluded.priority, "
    "position = excluded.position, tags = excluded.tags, "
    "rev = excluded.rev, updated_at = excluded.updated_at, "
    "deleted = excluded.deleted, sync_status = excluded.sync_status, "
    "base = coalesce (excluded.base, tasks.base)",
  };
  g_autofree char *tags = tags_to_column (task->tags);

  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      sqlite3_stmt *stmt = prepare (self, queries[i], error);

      if (stmt == NULL)
        return FALSE;
      bind_text (stmt, 1, task->id);
      bind_text (stmt, 2, task->list_id);
      bind_text (stmt, 3, task->title);
      bind_text (stmt, 4, task->notes);
      sqlite3_bind_int (stmt, 5, task->done ? 1 : 0);
      bind_text (stmt, 6, task->due);
      sqlite3_bind_int (stmt, 7, task->priority);
      bind_text (stmt, 8, task->position);
      bind_text (stmt, 9, tags);
      sqlite3_bind_int64 (stmt, 10, task->rev);
      bind_text (stmt, 11, task->updated_at);
      sqlite3_bind_int (stmt, 12, task->deleted ? 1 : 0);
      bind_text (stmt, 13, tandem_sync_status_to_string (task->sync_status));
      bind_text (stmt, 14, base);
      if (!step_done (self, stmt, NC_("database action", "save a task"), error))
        return FALSE;
      if (sqlite3_changes (self->db) > 0)
        return TRUE;
    }
  return TRUE;
}

static gboolean
write_task_row (TandemStore      *self,
                const TandemTask *task,
                GError          **error)
{
  return write_task_row_with_base (self, task, NULL, error);
}

static gboolean
insert_comment (TandemStore         *self,
                const char          *task_id,
                const TandemComment *comment,
                GError             **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "INSERT INTO comments (id, task_id, body, device_id, created_at) "
                                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                                "created_at = excluded.created_at, device_id = excluded.device_id",
                                error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, comment->id);
  bind_text (stmt, 2, task_id);
  bind_text (stmt, 3, comment->body);
  bind_text (stmt, 4, comment->device_id);
  bind_text (stmt, 5, comment->created_at);
  return step_done (self, stmt, NC_("database action", "save a comment"), error);
}

static gboolean
set_sync_status (TandemStore      *self,
                 TandemEntity      entity,
                 const char       *id,
                 TandemSyncStatus  status,
                 GError          **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                entity == TANDEM_ENTITY_TASK
                                  ? "UPDATE tasks SET sync_status = ? WHERE id = ?"
                                  : "UPDATE lists SET sync_status = ? WHERE id = ?",
                                error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, tandem_sync_status_to_string (status));
  bind_text (stmt, 2, id);
  return step_done (self, stmt, NC_("database action", "update the sync state"), error);
}

/* What a record's chip says follows from its ops: parked ones mean error,
 * any other means pending, none means synced; an open conflict wins. */
static TandemSyncStatus
sync_status_of (gint64 n_conflicts,
                gint64 n_parked,
                gint64 n_ops)
{
  return n_conflicts > 0 ? TANDEM_SYNC_NEEDS_REVIEW
         : n_parked > 0  ? TANDEM_SYNC_ERROR
         : n_ops > 0     ? TANDEM_SYNC_PENDING
                         : TANDEM_SYNC_SYNCED;
}

static gboolean
refresh_sync_status (TandemStore  *self,
                     TandemEntity  entity,
                     const char   *id,
                     GError      **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "SELECT count(*), coalesce(sum(state = 'error'), 0), "
                                "(SELECT count(*) FROM conflicts WHERE entity_id = ?1) "
                                "FROM outbox WHERE entity_id = ?1",
                                error);
  gint64 n_ops, n_parked, n_conflicts;
  int rc;

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, id);
  rc = sqlite3_step (stmt);
  n_ops = sqlite3_column_int64 (stmt, 0);
  n_parked = sqlite3_column_int64 (stmt, 1);
  n_conflicts = sqlite3_column_int64 (stmt, 2);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW)
    return set_db_error (self, rc, NC_("database action", "read the outbox"), error);

  return set_sync_status (self, entity, id, sync_status_of (n_conflicts, n_parked, n_ops), error);
}

/* History */

static gboolean
add_history (TandemStore *self,
             const char  *entity_id,
             const char  *origin,
             const char  *device_id,
             const char  *field,
             JsonNode    *old_value,
             JsonNode    *new_value,
             const char  *note,
             GError     **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "INSERT INTO history (entity_id, at, device_id, origin, field, "
                                "old_value, new_value, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                error);
  g_autofree char *at = tandem_now_rfc3339 ();
  g_autofree char *old_text = old_value ? node_to_string (old_value) : NULL;
  g_autofree char *new_text = new_value ? node_to_string (new_value) : NULL;

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, entity_id);
  bind_text (stmt, 2, at);
  bind_text (stmt, 3, device_id);
  bind_text (stmt, 4, origin);
  bind_text (stmt, 5, field);
  bind_text (stmt, 6, old_text);
  bind_text (stmt, 7, new_text);
  bind_text (stmt, 8, note);
  return step_done (self, stmt, NC_("database action", "record history"), error);
}

/* One history line per field that differs between @before and @after. */
static gboolean
add_field_history (TandemStore      *self,
                   const TandemTask *before,
                   const TandemTask *after,
                   GError          **error)
{
  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    {
      g_autoptr(JsonNode) old_value = NULL;
      g_autoptr(JsonNode) new_value = NULL;

      if (f == TANDEM_FIELD_COMMENTS || f == TANDEM_FIELD_DELETED ||
          tandem_task_field_equal (before, after, f))
        continue;
      old_value = tandem_task_get_field (before, f);
      new_value = tandem_task_get_field (after, f);
      if (!add_history (self, after->id, "local", self->device_id, tandem_field_name (f),
                        old_value, new_value, NULL, error))
        return FALSE;
    }
  return TRUE;
}

/* Outbox */

/* Ops in this store are all this device's own. */
static TandemOp *
op_from_row (TandemStore  *self,
             sqlite3_stmt *stmt)
{
  TandemOp *op = g_new0 (TandemOp, 1);

  op->device_id = g_strdup (self->device_id);
  op->seq = sqlite3_column_int64 (stmt, 0);
  op->op_id = column_dup (stmt, 1);
  tandem_entity_from_string ((const char *) sqlite3_column_text (stmt, 2), &op->entity);
  op->entity_id = column_dup (stmt, 3);
  tandem_op_kind_from_string ((const char *) sqlite3_column_text (stmt, 4), &op->kind);
  op->base_rev = sqlite3_column_int64 (stmt, 5);
  op->patch = object_from_string ((const char *) sqlite3_column_text (stmt, 6));
  op->base = object_from_string ((const char *) sqlite3_column_text (stmt, 7));
  op->created_at = column_dup (stmt, 8);
  tandem_op_state_from_string ((const char *) sqlite3_column_text (stmt, 9), &op->state);
  op->error = column_dup (stmt, 10);
  return op;
}

static gboolean
insert_op (TandemStore *self,
           TandemOp    *op,
           GError     **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "INSERT INTO outbox (op_id, entity, entity_id, kind, base_rev, "
                                "patch, base, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                error);
  g_autofree char *patch = NULL;
  g_autofree char *base = NULL;

  if (stmt == NULL)
    return FALSE;
  patch = object_to_string (op->patch);
  base = object_to_string (op->base);
  bind_text (stmt, 1, op->op_id);
  bind_text (stmt, 2, tandem_entity_to_string (op->entity));
  bind_text (stmt, 3, op->entity_id);
  bind_text (stmt, 4, tandem_op_kind_to_string (op->kind));
  sqlite3_bind_int64 (stmt, 5, op->base_rev);
  bind_text (stmt, 6, patch);
  bind_text (stmt, 7, base);
  bind_text (stmt, 8, op->created_at);
  if (!step_done (self, stmt, NC_("database action", "queue the change for sync"), error))
    return FALSE;
  op->seq = sqlite3_last_insert_rowid (self->db);
  return TRUE;
}

/* The newest op of a record if it was never sent, so it may still absorb
 * later changes; NULL otherwise. */
static TandemOp *
coalescable_op (TandemStore *self,
                const char  *entity_id,
                GError     **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "SELECT " OP_COLUMNS " FROM outbox WHERE entity_id = ? "
                                "ORDER BY seq DESC LIMIT 1",
                                error);
  TandemOp *op = NULL;
  int rc;

  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, entity_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    op = op_from_row (self, stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    set_db_error (self, rc, NC_("database action", "read the outbox"), error);
  if (op != NULL && op->state != TANDEM_OP_STATE_NEW)
    g_clear_pointer (&op, tandem_op_free);
  return op;
}

static gboolean
rewrite_op_payload (TandemStore    *self,
                    const TandemOp *op,
                    GError        **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "UPDATE outbox SET patch = ?, base = ? "
                                "WHERE seq = ? AND state = 'new'",
                                error);
  g_autofree char *patch = NULL;
  g_autofree char *base = NULL;

  if (stmt == NULL)
    return FALSE;
  patch = object_to_string (op->patch);
  base = object_to_string (op->base);
  bind_text (stmt, 1, patch);
  bind_text (stmt, 2, base);
  sqlite3_bind_int64 (stmt, 3, op->seq);
  return step_done (self, stmt, NC_("database action", "update a queued change"), error);
}

static gboolean
delete_op (TandemStore *self,
           gint64       seq,
           GError     **error)
{
  sqlite3_stmt *stmt = prepare (self, "DELETE FROM outbox WHERE seq = ?", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, seq);
  return step_done (self, stmt, NC_("database action", "update the outbox"), error);
}

static TandemOp *
new_op (TandemStore  *self,
        TandemEntity  entity,
        const char   *entity_id,
        TandemOpKind  kind,
        gint64        base_rev)
{
  TandemOp *op = tandem_op_new ();

  op->op_id = tandem_new_id ();
  op->device_id = g_strdup (self->device_id);
  op->entity = entity;
  op->entity_id = g_strdup (entity_id);
  op->kind = kind;
  op->base_rev = base_rev;
  op->created_at = tandem_now_rfc3339 ();
  return op;
}

/* Queues an update of the fields in @patch, whose values before the edit are
 * in @before. An unsent create/update/restore of the same task absorbs it:
 * its patch takes the new values, its base keeps the oldest pre-edit value,
 * and fields edited back to their base value drop out of an update. */
static gboolean
queue_task_update (TandemStore      *self,
                   const TandemTask *before,
                   JsonObject       *patch,
                   GError          **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(TandemOp) pending = coalescable_op (self, before->id, &local_error);
  g_autoptr(TandemOp) op = NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  if (pending != NULL && (pending->kind == TANDEM_OP_CREATE || pending->kind == TANDEM_OP_UPDATE ||
                          pending->kind == TANDEM_OP_RESTORE))
    {
      json_object_iter_init (&iter, patch);
      while (json_object_iter_next (&iter, &name, &value))
        {
          TandemField field;

          if (pending->kind != TANDEM_OP_CREATE && !json_object_has_member (pending->base, name))
            {
              tandem_field_from_name (name, &field);
              json_object_set_member (pending->base, name, tandem_task_get_field (before, field));
            }
          json_object_set_member (pending->patch, name, json_node_copy (value));
        }

      if (pending->kind == TANDEM_OP_UPDATE)
        {
          g_autoptr(GList) names = json_object_get_members (pending->patch);

          for (GList *l = names; l != NULL; l = l->next)
            {
              /* The names belong to the object: removing the member frees them. */
              g_autofree char *name_copy = g_strdup (l->data);
              JsonNode *base_value = json_object_get_member (pending->base, name_copy);

              if (base_value != NULL &&
                  json_node_equal (base_value, json_object_get_member (pending->patch, name_copy)))
                {
                  json_object_remove_member (pending->patch, name_copy);
                  json_object_remove_member (pending->base, name_copy);
                }
            }
          if (json_object_get_size (pending->patch) == 0)
            return delete_op (self, pending->seq, error);
        }
      return rewrite_op_payload (self, pending, error);
    }

  op = new_op (self, TANDEM_ENTITY_TASK, before->id, TANDEM_OP_UPDATE, before->rev);
  json_object_iter_init (&iter, patch);
  while (json_object_iter_next (&iter, &name, &value))
    {
      TandemField field;

      tandem_field_from_name (name, &field);
      json_object_set_member (op->patch, name, json_node_copy (value));
      json_object_set_member (op->base, name, tandem_task_get_field (before, field));
    }
  return insert_op (self, op, error);
}

/* Queues a tag change; an unsent create takes it into its own tag list. */
static gboolean
queue_tag_change (TandemStore      *self,
                  const TandemTask *before,
                  const TandemTask *after,
                  const char       *tag,
                  TandemOpKind      kind,
                  GError          **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(TandemOp) pending = coalescable_op (self, before->id, &local_error);
  g_autoptr(TandemOp) op = NULL;

  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  if (pending != NULL && pending->kind == TANDEM_OP_CREATE)
    {
      json_object_set_member (pending->patch, "tags",
                              tandem_task_get_field (after, TANDEM_FIELD_TAGS));
      return rewrite_op_payload (self, pending, error);
    }

  op = new_op (self, TANDEM_ENTITY_TASK, before->id, kind, before->rev);
  json_object_set_string_member (op->patch, "tag", tag);
  return insert_op (self, op, error);
}

/* Lists, for the list_id checks */

static TandemList *
list_from_row (TandemStore  *self,
               sqlite3_stmt *stmt)
{
  TandemList *list = g_new0 (TandemList, 1);

  list->id = column_dup (stmt, 0);
  list->name = column_dup (stmt, 1);
  list->position = column_dup (stmt, 2);
  list->rev = sqlite3_column_int64 (stmt, 3);
  list->updated_at = column_dup (stmt, 4);
  list->deleted = sqlite3_column_int (stmt, 5) != 0;
  if (!tandem_sync_status_from_string ((const char *) sqlite3_column_text (stmt, 6),
                                       &list->sync_status))
    list->sync_status = TANDEM_SYNC_PENDING;
  return list;
}

static TandemList *
load_list (TandemStore *self,
           const char  *id,
           GError     **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT " LIST_COLUMNS " FROM lists WHERE id = ?", error);

  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, id);
  return fetch_row (self, stmt, (RowFunc) list_from_row,
                    /* Translators: %s is the id of a list, a UUID */
                    N_("There is no list with id “%s”"), id,
                    NC_("database action", "read a list"), error);
}

/* A task may only be put into a list that exists here and is not deleted. */
static gboolean
check_list_id (TandemStore *self,
               const char  *list_id,
               GError     **error)
{
  g_autoptr(TandemList) list = NULL;

  if (list_id == NULL)
    return TRUE;
  if (!tandem_validate_uuid (list_id, error))
    return FALSE;
  if (!(list = load_list (self, list_id, error)))
    return FALSE;
  if (list->deleted)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_INVALID,
                   /* Translators: %s is the name of a list */
                   _("The list “%s” is deleted"), list->name);
      return FALSE;
    }
  return TRUE;
}

/* The position key after the last task of a list (NULL list: the Inbox). */
static char *
position_at_end (TandemStore *self,
                 const char  *list_id,
                 GError     **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "SELECT max(position) FROM tasks WHERE list_id IS ?",
                                error);
  g_autofree char *last = NULL;
  int rc;

  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, list_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    last = column_dup (stmt, 0);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW)
    {
      set_db_error (self, rc, NC_("database action", "read the list order"), error);
      return NULL;
    }
  return tandem_position_between (last, NULL, error);
}

/* Actions */

typedef gboolean (*TaskAction) (TandemStore *self,
                                gpointer     data,
                                GError     **error);

/* Runs @action in one transaction, all or nothing. */
static gboolean
in_transaction (TandemStore *self,
                TaskAction   action,
                gpointer     data,
                GError     **error)
{
  if (!begin (self, error))
    return FALSE;
  if (!action (self, data, error) || !commit (self, error))
    {
      rollback (self);
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  const TandemTask *draft;
  TandemTask       *created;
} CreateTask;

static gboolean
create_task (TandemStore *self,
             gpointer     data,
             GError     **error)
{
  CreateTask *c = data;
  const TandemTask *draft = c->draft;
  g_autoptr(TandemTask) task = tandem_task_new ();
  g_autoptr(TandemOp) op = NULL;

  if (!tandem_validate_title (draft->title, error) ||
      !tandem_validate_notes (draft->notes ? draft->notes : "", error) ||
      (draft->due != NULL && !tandem_validate_date (draft->due, error)) ||
      !tandem_validate_priority (draft->priority, error) ||
      !check_list_id (self, draft->list_id, error))
    return FALSE;
  for (guint i = 0; i < draft->tags->len; i++)
    if (!tandem_validate_tag (g_ptr_array_index (draft->tags, i), error))
      return FALSE;
  if (draft->tags->len > TANDEM_TAGS_MAX)
    return invalid_request (error, _("Too many tags; a task has at most 64"));

  task->id = tandem_new_id ();
  task->list_id = g_strdup (draft->list_id);
  g_free (task->title);
  task->title = g_strdup (draft->title);
  g_free (task->notes);
  task->notes = g_strdup (draft->notes ? draft->notes : "");
  task->done = draft->done;
  task->due = g_strdup (draft->due);
  task->priority = draft->priority;
  for (guint i = 0; i < draft->tags->len; i++)
    tandem_task_add_tag (task, g_ptr_array_index (draft->tags, i));
  g_free (task->position);
  if (!(task->position = position_at_end (self, task->list_id, error)))
    return FALSE;
  task->sync_status = TANDEM_SYNC_PENDING;

  op = new_op (self, TANDEM_ENTITY_TASK, task->id, TANDEM_OP_CREATE, 0);
  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    if (tandem_field_is_patchable (f))
      json_object_set_member (op->patch, tandem_field_name (f), tandem_task_get_field (task, f));

  if (!write_task_row (self, task, error) || !insert_op (self, op, error) ||
      !add_history (self, task->id, "local", self->device_id, NULL, NULL, NULL, "created", error))
    return FALSE;

  c->created = g_steal_pointer (&task);
  return TRUE;
}

TandemTask *
tandem_store_create_task (TandemStore      *self,
                          const TandemTask *draft,
                          GError          **error)
{
  CreateTask c = { draft, NULL };

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (draft != NULL, NULL);

  if (!in_transaction (self, create_task, &c, error))
    return NULL;
  return c.created;
}

/* Loads a live task for editing. */
static TandemTask *
load_live_task (TandemStore *self,
                const char  *id,
                GError     **error)
{
  TandemTask *task = load_task (self, id, error);

  if (task != NULL && task->deleted)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_INVALID,
                   /* Translators: %s is the title of a task */
                   _("The task “%s” is in the Trash; restore it first"), task->title);
      tandem_task_free (task);
      return NULL;
    }
  return task;
}

/* Writes @after as the new row, queues the fields that differ from @before
 * as one update and records them in history. */
static gboolean
save_field_changes (TandemStore      *self,
                    const TandemTask *before,
                    TandemTask       *after,
                    GError          **error)
{
  g_autoptr(JsonObject) patch = json_object_new ();

  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    {
      if (!tandem_field_is_patchable (f) || f == TANDEM_FIELD_TAGS ||
          tandem_task_field_equal (before, after, f))
        continue;
      json_object_set_member (patch, tandem_field_name (f), tandem_task_get_field (after, f));
    }
  if (json_object_get_size (patch) == 0)
    return TRUE;

  after->sync_status = TANDEM_SYNC_PENDING;
  return write_task_row (self, after, error) &&
         queue_task_update (self, before, patch, error) &&
         refresh_sync_status (self, TANDEM_ENTITY_TASK, after->id, error) &&
         add_field_history (self, before, after, error);
}

typedef struct
{
  const char *id;
  JsonObject *changes;
} UpdateTask;

static gboolean
update_task (TandemStore *self,
             gpointer     data,
             GError     **error)
{
  UpdateTask *u = data;
  g_autoptr(TandemTask) before = load_live_task (self, u->id, error);
  g_autoptr(TandemTask) after = NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  if (before == NULL)
    return FALSE;

  after = tandem_task_copy (before);
  json_object_iter_init (&iter, u->changes);
  while (json_object_iter_next (&iter, &name, &value))
    {
      TandemField field;

      if (!tandem_field_from_name (name, &field) || !tandem_field_is_patchable (field) ||
          field == TANDEM_FIELD_TAGS)
        {
          g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_INVALID,
                       /* Translators: %s is the name of a field of a task, such as
                        * “tags” (not translated) */
                       _("“%s” cannot be changed this way"), name);
          return FALSE;
        }
      if (!tandem_task_set_field (after, field, value, error))
        return FALSE;
    }
  if (!tandem_task_field_equal (before, after, TANDEM_FIELD_LIST_ID) &&
      !check_list_id (self, after->list_id, error))
    return FALSE;

  return save_field_changes (self, before, after, error);
}

gboolean
tandem_store_update_task (TandemStore *self,
                          const char  *id,
                          JsonObject  *changes,
                          GError     **error)
{
  UpdateTask u = { id, changes };

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);
  g_return_val_if_fail (changes != NULL, FALSE);

  return in_transaction (self, update_task, &u, error);
}

typedef struct
{
  const char        *id;
  const char *const *add;
  const char *const *remove;
} ChangeTags;

static gboolean
change_tags (TandemStore *self,
             gpointer     data,
             GError     **error)
{
  ChangeTags *c = data;
  g_autoptr(TandemTask) before = load_live_task (self, c->id, error);
  g_autoptr(TandemTask) after = NULL;

  if (before == NULL)
    return FALSE;
  after = tandem_task_copy (before);
  after->sync_status = TANDEM_SYNC_PENDING;

  for (guint i = 0; c->add != NULL && c->add[i] != NULL; i++)
    if (!tandem_validate_tag (c->add[i], error))
      return FALSE;
  for (guint i = 0; c->remove != NULL && c->remove[i] != NULL; i++)
    if (!tandem_validate_tag (c->remove[i], error))
      return FALSE;

  for (guint i = 0; c->add != NULL && c->add[i] != NULL; i++)
    {
      g_autoptr(TandemTask) step = tandem_task_copy (after);

      if (!tandem_task_add_tag (after, c->add[i]))
        continue;
      if (after->tags->len > TANDEM_TAGS_MAX)
        return invalid_request (error, _("Too many tags; a task has at most 64"));
      if (!queue_tag_change (self, step, after, c->add[i], TANDEM_OP_TAG_ADD, error))
        return FALSE;
    }
  for (guint i = 0; c->remove != NULL && c->remove[i] != NULL; i++)
    {
      g_autoptr(TandemTask) step = tandem_task_copy (after);

      if (!tandem_task_remove_tag (after, c->remove[i]))
        continue;
      if (!queue_tag_change (self, step, after, c->remove[i], TANDEM_OP_TAG_REMOVE, error))
        return FALSE;
    }

  if (tandem_task_field_equal (before, after, TANDEM_FIELD_TAGS))
    return TRUE;
  return write_task_row (self, after, error) &&
         refresh_sync_status (self, TANDEM_ENTITY_TASK, after->id, error) &&
         add_field_history (self, before, after, error);
}

gboolean
tandem_store_change_tags (TandemStore       *self,
                          const char        *id,
                          const char *const *add,
                          const char *const *remove,
                          GError           **error)
{
  ChangeTags c = { id, add, remove };

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  return in_transaction (self, change_tags, &c, error);
}

typedef struct
{
  const char *id;
  const char *body;
  char       *comment_id;
} AddComment;

static gboolean
add_comment (TandemStore *self,
             gpointer     data,
             GError     **error)
{
  AddComment *a = data;
  g_autoptr(TandemTask) task = load_live_task (self, a->id, error);
  g_autoptr(TandemComment) comment = NULL;
  g_autoptr(TandemOp) op = NULL;
  g_autoptr(JsonNode) body = NULL;

  if (task == NULL || !tandem_validate_comment (a->body, error))
    return FALSE;

  op = new_op (self, TANDEM_ENTITY_TASK, task->id, TANDEM_OP_COMMENT_ADD, task->rev);
  comment = tandem_comment_new (NULL, a->body, self->device_id, op->created_at);
  comment->id = tandem_new_id ();
  json_object_set_string_member (op->patch, "comment_id", comment->id);
  json_object_set_string_member (op->patch, "body", comment->body);
  body = json_node_init_string (json_node_alloc (), comment->body);

  if (!insert_comment (self, task->id, comment, error) || !insert_op (self, op, error) ||
      !refresh_sync_status (self, TANDEM_ENTITY_TASK, task->id, error) ||
      !add_history (self, task->id, "local", self->device_id, "comments", NULL, body,
                    "commented", error))
    return FALSE;

  a->comment_id = g_strdup (comment->id);
  return TRUE;
}

char *
tandem_store_add_comment (TandemStore *self,
                          const char  *id,
                          const char  *body,
                          GError     **error)
{
  AddComment a = { id, body, NULL };

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  if (!in_transaction (self, add_comment, &a, error))
    {
      g_free (a.comment_id);
      return NULL;
    }
  return a.comment_id;
}

typedef struct
{
  const char *id;
  gboolean    deleted;
} SetDeleted;

static gboolean handle_conflict (TandemStore       *self,
                                 const TandemOp    *op,
                                 const TandemTask  *remote,
                                 TandemPushSummary *summary,
                                 GError           **error);
static gboolean clear_conflict (TandemStore *self,
                                const char  *task_id,
                                GError     **error);
static GPtrArray *ops_of_entity (TandemStore *self,
                                 const char  *entity_id,
                                 GError     **error);

/* The open question about @task_id into @conflict, or NULL when there is
 * none; FALSE only on a database error. */
static gboolean
lookup_question (TandemStore     *self,
                 const char      *task_id,
                 TandemConflict **conflict,
                 GError         **error)
{
  g_autoptr(GError) local_error = NULL;

  *conflict = tandem_store_get_conflict (self, task_id, &local_error);
  if (*conflict != NULL ||
      g_error_matches (local_error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND))
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

/* A question with nothing left to ask goes, and the held changes merge
 * with @remote by the field policies, as a 409 that merges cleanly does
 * (DESIGN §5 step 2), against the first of them, the op the server would
 * refuse. */
static gboolean
merge_instead_of_asking (TandemStore      *self,
                         const char       *task_id,
                         const TandemTask *remote,
                         GError          **error)
{
  g_autoptr(GPtrArray) ops = NULL;
  TandemPushSummary ignored = { 0 };

  if (!clear_conflict (self, task_id, error) || !(ops = ops_of_entity (self, task_id, error)))
    return FALSE;
  if (ops->len == 0)
    return refresh_sync_status (self, TANDEM_ENTITY_TASK, task_id, error);
  return handle_conflict (self, g_ptr_array_index (ops, 0), remote, &ignored, error);
}

/* "Deleted here, edited there" is open and the user restores the task:
 * that answers it. When nothing else collides (no value edited on both
 * sides), the held changes merge with the other device's version by the
 * field policies, as a 409 that merges cleanly does; otherwise the
 * question becomes the one about the values (complete_conflict()). */
static gboolean
settle_question_after_restore (TandemStore *self,
                               const char  *task_id,
                               GError     **error)
{
  g_autoptr(TandemConflict) conflict = NULL;

  if (!lookup_question (self, task_id, &conflict, error))
    return FALSE;
  if (conflict == NULL || conflict->kind != TANDEM_CONFLICT_DELETE_VS_EDIT ||
      conflict->local->deleted || conflict->merge->conflicts->len > 0)
    return TRUE;
  return merge_instead_of_asking (self, task_id, conflict->remote, error);
}

static gboolean
set_deleted (TandemStore *self,
             gpointer     data,
             GError     **error)
{
  SetDeleted *s = data;
  g_autoptr(TandemTask) task = load_task (self, s->id, error);
  g_autoptr(TandemOp) op = NULL;

  if (task == NULL)
    return FALSE;
  if (task->deleted == s->deleted)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_INVALID,
                   /* Translators: %s is the title of a task */
                   s->deleted ? _("The task “%s” is already in the Trash")
                              /* Translators: %s is the title of a task */
                              : _("The task “%s” is not in the Trash"),
                   task->title);
      return FALSE;
    }

  op = new_op (self, TANDEM_ENTITY_TASK, task->id,
               s->deleted ? TANDEM_OP_DELETE : TANDEM_OP_RESTORE, task->rev);
  if (s->deleted)
    {
      /* The fields as the user saw them when deleting, like the base of an
       * edit (DESIGN §3): when an earlier edit of this task is acknowledged
       * first, the base snapshot moves on to a revision that may hold
       * another device's change, and only this tells that change (which
       * must be asked about) from this device's own. */
      static const TandemField seen[] = {
        TANDEM_FIELD_TITLE, TANDEM_FIELD_NOTES, TANDEM_FIELD_DONE, TANDEM_FIELD_DUE,
        TANDEM_FIELD_PRIORITY, TANDEM_FIELD_LIST_ID, TANDEM_FIELD_POSITION, TANDEM_FIELD_TAGS,
      };

      for (guint i = 0; i < G_N_ELEMENTS (seen); i++)
        json_object_set_member (op->base, tandem_field_name (seen[i]),
                                tandem_task_get_field (task, seen[i]));
    }
  task->deleted = s->deleted;
  task->sync_status = TANDEM_SYNC_PENDING;

  return write_task_row (self, task, error) && insert_op (self, op, error) &&
         refresh_sync_status (self, TANDEM_ENTITY_TASK, task->id, error) &&
         add_history (self, task->id, "local", self->device_id, NULL, NULL, NULL,
                      s->deleted ? "deleted" : "restored", error) &&
         (s->deleted || settle_question_after_restore (self, task->id, error));
}

gboolean
tandem_store_delete_task (TandemStore *self,
                          const char  *id,
                          GError     **error)
{
  SetDeleted s = { id, TRUE };

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  return in_transaction (self, set_deleted, &s, error);
}

gboolean
tandem_store_restore_task (TandemStore *self,
                           const char  *id,
                           GError     **error)
{
  SetDeleted s = { id, FALSE };

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  return in_transaction (self, set_deleted, &s, error);
}

typedef struct
{
  const char *id;
  const char *before_id;
  const char *after_id;
} MoveTask;

/* The nearest position of a live task in @list_id strictly on one side of
 * @key (ties by id), skipping @skip_id; NULL at the end of the list. */
static gboolean
neighbour_position (TandemStore *self,
                    const char  *list_id,
                    const TandemTask *anchor,
                    gboolean     before,
                    const char  *skip_id,
                    char       **position,
                    GError     **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                before
                                  ? "SELECT position FROM tasks WHERE list_id IS ?1 AND deleted = 0 "
                                    "AND id != ?4 AND position < ?2 "
                                    "ORDER BY position DESC, id DESC LIMIT 1"
                                  : "SELECT position FROM tasks WHERE list_id IS ?1 AND deleted = 0 "
                                    "AND id != ?4 AND position > ?2 "
                                    "ORDER BY position, id LIMIT 1",
                                error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, list_id);
  bind_text (stmt, 2, anchor->position);
  bind_text (stmt, 4, skip_id);
  rc = sqlite3_step (stmt);
  *position = rc == SQLITE_ROW ? column_dup (stmt, 0) : NULL;
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return set_db_error (self, rc, NC_("database action", "read the list order"), error);
  return TRUE;
}

static gboolean
move_task (TandemStore *self,
           gpointer     data,
           GError     **error)
{
  MoveTask *m = data;
  const char *anchor_id = m->before_id ? m->before_id : m->after_id;
  g_autoptr(TandemTask) before = load_live_task (self, m->id, error);
  g_autoptr(TandemTask) anchor = NULL;
  g_autoptr(TandemTask) after = NULL;
  g_autofree char *neighbour = NULL;
  g_autofree char *position = NULL;

  if (before == NULL || !(anchor = load_live_task (self, anchor_id, error)))
    return FALSE;
  if (g_strcmp0 (before->id, anchor->id) == 0)
    return invalid_request (error, _("A task cannot be moved next to itself"));

  /* Positions that tie (two devices made the same key) are skipped over, so
   * the new key always lands strictly on the requested side. */
  if (!neighbour_position (self, anchor->list_id, anchor, m->before_id != NULL, m->id,
                           &neighbour, error))
    return FALSE;
  position = m->before_id ? tandem_position_between (neighbour, anchor->position, error)
                          : tandem_position_between (anchor->position, neighbour, error);
  if (position == NULL)
    return FALSE;

  after = tandem_task_copy (before);
  g_free (after->position);
  after->position = g_steal_pointer (&position);
  g_free (after->list_id);
  after->list_id = g_strdup (anchor->list_id);
  return save_field_changes (self, before, after, error);
}

gboolean
tandem_store_move_task (TandemStore *self,
                        const char  *id,
                        const char  *before_id,
                        const char  *after_id,
                        GError     **error)
{
  MoveTask m = { id, before_id, after_id };

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);
  g_return_val_if_fail ((before_id == NULL) != (after_id == NULL), FALSE);

  return in_transaction (self, move_task, &m, error);
}

/* Reading */

/* The one row of @sql's table whose id starts with @prefix (at least 4
 * characters of a UUID, lowercase). The messages name the kind of row. */
static char *
resolve_id (TandemStore *self,
            const char  *sql,
            const char  *id_or_prefix,
            const char  *not_an_id,
            const char  *not_found_format,
            const char  *ambiguous,
            const char  *action,
            GError     **error)
{
  g_autofree char *upper = NULL;
  g_autofree char *found = NULL;
  sqlite3_stmt *stmt;
  gsize len;
  int rc, n = 0;

  len = strlen (id_or_prefix);
  if (len < 4 || len > 36 || strspn (id_or_prefix, "0123456789abcdef-") != len)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND, not_an_id,
                   id_or_prefix);
      return NULL;
    }

  /* Ids are lowercase hex and '-'; every id with the prefix sorts below
   * the prefix followed by 'g'. */
  upper = g_strconcat (id_or_prefix, "g", NULL);
  if (!(stmt = prepare (self, sql, error)))
    return NULL;
  bind_text (stmt, 1, id_or_prefix);
  bind_text (stmt, 2, upper);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      if (n++ == 0)
        found = column_dup (stmt, 0);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_db_error (self, rc, action, error);
      return NULL;
    }
  if (n == 0)
    {
      not_found (error, not_found_format, id_or_prefix);
      return NULL;
    }
  if (n > 1)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND, ambiguous,
                   id_or_prefix);
      return NULL;
    }
  return g_steal_pointer (&found);
}

char *
tandem_store_resolve_task_id (TandemStore *self,
                              const char  *id_or_prefix,
                              GError     **error)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (id_or_prefix != NULL, NULL);

  return resolve_id (self, "SELECT id FROM tasks WHERE id >= ? AND id < ? ORDER BY id LIMIT 2",
                     id_or_prefix,
                     /* Translators: %s is what was given as the id of a task */
                     _("“%s” is not a task id (a UUID, or at least its first 4 characters)"),
                     N_("There is no task with id “%s”"),
                     /* Translators: %s is the start of the id of a task */
                     _("“%s” matches more than one task; give more of the id"),
                     NC_("database action", "look up a task"), error);
}

char *
tandem_store_resolve_list_id (TandemStore *self,
                              const char  *id_or_prefix,
                              GError     **error)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (id_or_prefix != NULL, NULL);

  return resolve_id (self,
                     "SELECT id FROM lists WHERE id >= ? AND id < ? AND NOT deleted "
                     "ORDER BY id LIMIT 2",
                     id_or_prefix,
                     /* Translators: %s is what was given as the id of a list */
                     _("“%s” is not a list id (a UUID, or at least its first 4 characters)"),
                     N_("There is no list with id “%s”"),
                     /* Translators: %s is the start of the id of a list */
                     _("“%s” matches more than one list; give more of the id"),
                     NC_("database action", "look up a list"), error);
}

TandemTask *
tandem_store_get_task (TandemStore *self,
                       const char  *id,
                       GError     **error)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  return load_task (self, id, error);
}

GPtrArray *
tandem_store_list_tasks (TandemStore     *self,
                         TandemTaskQuery  query,
                         GError         **error)
{
  static const char *sql[] = {
    [TANDEM_TASK_QUERY_LIVE] = "SELECT " TASK_COLUMNS " FROM tasks WHERE deleted = 0 "
                               "ORDER BY list_id, position, id",
    [TANDEM_TASK_QUERY_ALL] = "SELECT " TASK_COLUMNS " FROM tasks ORDER BY list_id, position, id",
    [TANDEM_TASK_QUERY_DELETED] = "SELECT " TASK_COLUMNS " FROM tasks WHERE deleted = 1 "
                                  "ORDER BY list_id, position, id",
  };
  sqlite3_stmt *stmt;

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (query < G_N_ELEMENTS (sql), NULL);

  if (!(stmt = prepare (self, sql[query], error)))
    return NULL;
  return collect_rows (self, stmt, (RowFunc) task_from_row, (GDestroyNotify) tandem_task_free,
                       NC_("database action", "read tasks"), error);
}

/* Base snapshots are stored as {"rev", "updated_at", field: value...}. */
static char *
snapshot_to_string (const TandemTask *task)
{
  g_autoptr(JsonObject) object = json_object_new ();

  json_object_set_int_member (object, "rev", task->rev);
  if (task->updated_at != NULL)
    json_object_set_string_member (object, "updated_at", task->updated_at);
  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    json_object_set_member (object, tandem_field_name (f), tandem_task_get_field (task, f));
  return object_to_string (object);
}

static TandemTask *
snapshot_from_string (const char *id,
                      const char *text)
{
  g_autoptr(JsonObject) object = object_from_string (text);
  TandemTask *task = tandem_task_new ();

  task->id = g_strdup (id);
  task->rev = json_object_get_int_member_with_default (object, "rev", 0);
  task->updated_at = g_strdup (json_object_get_string_member_with_default (object, "updated_at",
                                                                           NULL));
  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    {
      JsonNode *value = json_object_get_member (object, tandem_field_name (f));

      if (value == NULL)
        continue;
      if (f == TANDEM_FIELD_COMMENTS)
        {
          JsonArray *array = json_node_get_array (value);

          for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
            {
              JsonObject *c = json_array_get_object_element (array, i);

              tandem_task_add_comment (
                task, tandem_comment_new (json_object_get_string_member (c, "id"),
                                          json_object_get_string_member (c, "body"),
                                          json_object_get_string_member (c, "device_id"),
                                          json_object_get_string_member (c, "created_at")));
            }
        }
      else
        tandem_task_set_field (task, f, value, NULL);
    }
  task->sync_status = TANDEM_SYNC_SYNCED;
  return task;
}

TandemTask *
tandem_store_get_task_base (TandemStore *self,
                            const char  *id,
                            GError     **error)
{
  sqlite3_stmt *stmt;
  TandemTask *base = NULL;
  int rc;

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  if (!(stmt = prepare (self, "SELECT base FROM tasks WHERE id = ?", error)))
    return NULL;
  bind_text (stmt, 1, id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
    base = snapshot_from_string (id, (const char *) sqlite3_column_text (stmt, 0));
  sqlite3_reset (stmt);
  if (rc == SQLITE_DONE)
    not_found (error, N_("There is no task with id “%s”"), id);
  else if (rc != SQLITE_ROW)
    set_db_error (self, rc, NC_("database action", "read a task"), error);
  return base;
}

/* Lists */

typedef struct
{
  const char *name;
  TandemList *created;
} CreateList;

static gboolean
create_list (TandemStore *self,
             gpointer     data,
             GError     **error)
{
  CreateList *c = data;
  sqlite3_stmt *stmt;
  g_autoptr(TandemList) list = tandem_list_new ();
  g_autoptr(TandemOp) op = NULL;
  g_autofree char *last = NULL;
  int rc;

  if (!tandem_validate_list_name (c->name, error))
    return FALSE;
  if (!(stmt = prepare (self, "SELECT max(position) FROM lists", error)))
    return FALSE;
  rc = sqlite3_step (stmt);
  last = rc == SQLITE_ROW ? column_dup (stmt, 0) : NULL;
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW)
    return set_db_error (self, rc, NC_("database action", "read lists"), error);

  list->id = tandem_new_id ();
  g_free (list->name);
  list->name = g_strdup (c->name);
  g_free (list->position);
  if (!(list->position = tandem_position_between (last, NULL, error)))
    return FALSE;

  if (!(stmt = prepare (self,
                        "INSERT INTO lists (id, name, position, sync_status) "
                        "VALUES (?, ?, ?, 'pending')",
                        error)))
    return FALSE;
  bind_text (stmt, 1, list->id);
  bind_text (stmt, 2, list->name);
  bind_text (stmt, 3, list->position);
  if (!step_done (self, stmt, NC_("database action", "save a list"), error))
    return FALSE;

  op = new_op (self, TANDEM_ENTITY_LIST, list->id, TANDEM_OP_CREATE, 0);
  json_object_set_string_member (op->patch, "name", list->name);
  json_object_set_string_member (op->patch, "position", list->position);
  if (!insert_op (self, op, error) ||
      !add_history (self, list->id, "local", self->device_id, NULL, NULL, NULL, "created", error))
    return FALSE;

  c->created = g_steal_pointer (&list);
  return TRUE;
}

TandemList *
tandem_store_create_list (TandemStore *self,
                          const char  *name,
                          GError     **error)
{
  CreateList c = { name, NULL };

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (!in_transaction (self, create_list, &c, error))
    return NULL;
  return c.created;
}

TandemList *
tandem_store_get_list (TandemStore *self,
                       const char  *id,
                       GError     **error)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  return load_list (self, id, error);
}

GPtrArray *
tandem_store_list_lists (TandemStore *self,
                         GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);

  if (!(stmt = prepare (self,
                        "SELECT " LIST_COLUMNS " FROM lists WHERE deleted = 0 "
                        "ORDER BY position, id",
                        error)))
    return NULL;
  return collect_rows (self, stmt, (RowFunc) list_from_row, (GDestroyNotify) tandem_list_free,
                       NC_("database action", "read lists"), error);
}

/* Outbox API */

GPtrArray *
tandem_store_outbox_list (TandemStore *self,
                          guint        limit,
                          GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);

  if (!(stmt = prepare (self, "SELECT " OP_COLUMNS " FROM outbox ORDER BY seq LIMIT ?", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, limit == 0 ? -1 : (gint64) limit);
  return collect_rows (self, stmt, (RowFunc) op_from_row, (GDestroyNotify) tandem_op_free,
                       NC_("database action", "read the outbox"), error);
}

static gboolean
mark_sent (TandemStore *self,
           gpointer     data,
           GError     **error)
{
  const char *const *op_ids = data;

  for (guint i = 0; op_ids[i] != NULL; i++)
    {
      sqlite3_stmt *stmt = prepare (self,
                                    "UPDATE outbox SET state = 'sent' "
                                    "WHERE op_id = ? AND state = 'new'",
                                    error);

      if (stmt == NULL)
        return FALSE;
      bind_text (stmt, 1, op_ids[i]);
      if (!step_done (self, stmt, NC_("database action", "update the outbox"), error))
        return FALSE;

      /* The row shows it is on its way. */
      for (guint t = 0; t < 2; t++)
        {
          stmt = prepare (self,
                          t == 0 ? "UPDATE tasks SET sync_status = 'syncing' WHERE sync_status = "
                                   "'pending' AND id = (SELECT entity_id FROM outbox WHERE op_id = ?)"
                                 : "UPDATE lists SET sync_status = 'syncing' WHERE sync_status = "
                                   "'pending' AND id = (SELECT entity_id FROM outbox WHERE op_id = ?)",
                          error);
          if (stmt == NULL)
            return FALSE;
          bind_text (stmt, 1, op_ids[i]);
          if (!step_done (self, stmt, NC_("database action", "update the sync state"), error))
            return FALSE;
        }
    }
  return TRUE;
}

gboolean
tandem_store_outbox_mark_sent (TandemStore       *self,
                               const char *const *op_ids,
                               GError           **error)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (op_ids != NULL, FALSE);

  return in_transaction (self, mark_sent, (gpointer) op_ids, error);
}

static GPtrArray *
ops_of_entity (TandemStore *self,
               const char  *entity_id,
               GError     **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "SELECT " OP_COLUMNS " FROM outbox WHERE entity_id = ? "
                                "ORDER BY seq",
                                error);

  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, entity_id);
  return collect_rows (self, stmt, (RowFunc) op_from_row, (GDestroyNotify) tandem_op_free,
                       NC_("database action", "read the outbox"), error);
}

/* Replays a queued op on top of @task (the rebase of DESIGN §3). */
static void
replay_op (TandemTask     *task,
           const TandemOp *op)
{
  switch (op->kind)
    {
    case TANDEM_OP_RESTORE:
      task->deleted = FALSE;
      G_GNUC_FALLTHROUGH;
    case TANDEM_OP_CREATE:
    case TANDEM_OP_UPDATE:
      /* Validated when queued; a value the server's record makes invalid
       * (none today) would leave the server's value in place. */
      tandem_task_apply_patch (task, op->patch, NULL);
      break;
    case TANDEM_OP_DELETE:
      task->deleted = TRUE;
      break;
    case TANDEM_OP_TAG_ADD:
      tandem_task_add_tag (task, json_object_get_string_member (op->patch, "tag"));
      break;
    case TANDEM_OP_TAG_REMOVE:
      tandem_task_remove_tag (task, json_object_get_string_member (op->patch, "tag"));
      break;
    case TANDEM_OP_COMMENT_ADD:
      /* The comment row is already stored locally. */
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Comments are append-only, but one this device added and then gave up
 * (its op dropped when the user took the other device's version) must go:
 * keeps the server's comments and those still queued. */
static gboolean
prune_comments (TandemStore      *self,
                const TandemTask *server,
                GPtrArray        *ops,
                GError          **error)
{
  g_autoptr(GHashTable) keep = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt;
  int rc;

  for (guint i = 0; i < server->comments->len; i++)
    g_hash_table_add (keep, ((TandemComment *) g_ptr_array_index (server->comments, i))->id);
  for (guint i = 0; i < ops->len; i++)
    {
      const TandemOp *op = g_ptr_array_index (ops, i);

      if (op->kind == TANDEM_OP_COMMENT_ADD)
        g_hash_table_add (keep, (gpointer) json_object_get_string_member (op->patch, "comment_id"));
    }

  if (!(stmt = prepare (self, "SELECT id FROM comments WHERE task_id = ?", error)))
    return FALSE;
  bind_text (stmt, 1, server->id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    if (!g_hash_table_contains (keep, sqlite3_column_text (stmt, 0)))
      g_ptr_array_add (ids, column_dup (stmt, 0));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return set_db_error (self, rc, NC_("database action", "read comments"), error);

  for (guint i = 0; i < ids->len; i++)
    {
      if (!(stmt = prepare (self, "DELETE FROM comments WHERE id = ?", error)))
        return FALSE;
      bind_text (stmt, 1, g_ptr_array_index (ids, i));
      if (!step_done (self, stmt, NC_("database action", "remove a comment"), error))
        return FALSE;
    }
  return TRUE;
}

/* Makes @server the base snapshot of its task and rebuilds the row from it
 * with the ops still in the outbox on top. */
static gboolean
rebase_task_with_snapshot (TandemStore      *self,
                           const TandemTask *server,
                           const char       *server_snapshot,
                           GError          **error)
{
  g_autoptr(GPtrArray) ops = ops_of_entity (self, server->id, error);
  g_autoptr(TandemTask) row = NULL;
  g_autofree char *snapshot = NULL;
  gint64 n_conflicts, n_parked = 0;
  sqlite3_stmt *stmt;
  int rc;

  if (ops == NULL)
    return FALSE;

  row = tandem_task_copy (server);
  for (guint i = 0; i < ops->len; i++)
    {
      const TandemOp *op = g_ptr_array_index (ops, i);

      replay_op (row, op);
      /* Deleted elsewhere while this device still edits it: it stays in
       * sight until the user decides (DESIGN §5), not in the Trash. */
      if (server->deleted && op->kind != TANDEM_OP_DELETE && op->kind != TANDEM_OP_CREATE)
        row->deleted = FALSE;
    }

  /* The chip follows from the ops just read, by the rule of
   * refresh_sync_status(), written into the row with it. */
  if (!(stmt = prepare (self, "SELECT count(*) FROM conflicts WHERE entity_id = ?", error)))
    return FALSE;
  bind_text (stmt, 1, server->id);
  rc = sqlite3_step (stmt);
  n_conflicts = rc == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : 0;
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW)
    return set_db_error (self, rc, NC_("database action", "read the outbox"), error);
  for (guint i = 0; i < ops->len; i++)
    if (((const TandemOp *) g_ptr_array_index (ops, i))->state == TANDEM_OP_STATE_ERROR)
      n_parked++;
  row->sync_status = sync_status_of (n_conflicts, n_parked, ops->len);

  if (server_snapshot == NULL)
    server_snapshot = snapshot = snapshot_to_string (server);
  if (!write_task_row_with_base (self, row, server_snapshot, error) ||
      !prune_comments (self, server, ops, error))
    return FALSE;
  for (guint i = 0; i < server->comments->len; i++)
    if (!insert_comment (self, server->id, g_ptr_array_index (server->comments, i), error))
      return FALSE;
  return TRUE;
}

/* Makes @server the task's base and replays its pending ops on top. */
static gboolean
rebase_task (TandemStore      *self,
             const TandemTask *server,
             GError          **error)
{
  return rebase_task_with_snapshot (self, server, NULL, error);
}

typedef struct
{
  const char       *op_id;
  const TandemTask *task;
} AckOp;

static TandemOp *
load_op (TandemStore *self,
         const char  *op_id,
         GError     **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT " OP_COLUMNS " FROM outbox WHERE op_id = ?", error);

  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, op_id);
  return fetch_row (self, stmt, (RowFunc) op_from_row,
                    /* Translators: %s is the id of a change waiting to be sent to the
                     * server, a UUID */
                    N_("There is no queued change with id “%s”"), op_id,
                    NC_("database action", "read the outbox"), error);
}

static gboolean
ack_op (TandemStore *self,
        gpointer     data,
        GError     **error)
{
  AckOp *a = data;
  g_autoptr(TandemOp) op = load_op (self, a->op_id, error);

  if (op == NULL || !delete_op (self, op->seq, error))
    return FALSE;

  if (a->task != NULL)
    {
      if (op->entity != TANDEM_ENTITY_TASK || g_strcmp0 (a->task->id, op->entity_id) != 0)
        return invalid_request (error, _("The server's record is not the one this change was for"));
      return rebase_task (self, a->task, error);
    }
  return refresh_sync_status (self, op->entity, op->entity_id, error);
}

gboolean
tandem_store_outbox_ack (TandemStore      *self,
                         const char       *op_id,
                         const TandemTask *task,
                         GError          **error)
{
  AckOp a = { op_id, task };

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (op_id != NULL, FALSE);

  return in_transaction (self, ack_op, &a, error);
}

typedef struct
{
  const char *op_id;
  const char *message;
} ParkOp;

static gboolean
park_op (TandemStore *self,
         gpointer     data,
         GError     **error)
{
  ParkOp *p = data;
  g_autoptr(TandemOp) op = load_op (self, p->op_id, error);
  sqlite3_stmt *stmt;

  if (op == NULL)
    return FALSE;
  if (!(stmt = prepare (self, "UPDATE outbox SET state = 'error', error = ? WHERE seq = ?", error)))
    return FALSE;
  bind_text (stmt, 1, p->message);
  sqlite3_bind_int64 (stmt, 2, op->seq);
  return step_done (self, stmt, NC_("database action", "update the outbox"), error) &&
         refresh_sync_status (self, op->entity, op->entity_id, error);
}

gboolean
tandem_store_outbox_park (TandemStore *self,
                          const char  *op_id,
                          const char  *message,
                          GError     **error)
{
  ParkOp p = { op_id, message };

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (op_id != NULL && message != NULL, FALSE);

  return in_transaction (self, park_op, &p, error);
}

/* History API */

static TandemHistoryEntry *
history_from_row (TandemStore  *self,
                  sqlite3_stmt *stmt)
{
  TandemHistoryEntry *entry = g_new0 (TandemHistoryEntry, 1);

  entry->id = sqlite3_column_int64 (stmt, 0);
  entry->entity_id = column_dup (stmt, 1);
  entry->at = column_dup (stmt, 2);
  entry->device_id = column_dup (stmt, 3);
  entry->origin = column_dup (stmt, 4);
  entry->field = column_dup (stmt, 5);
  entry->old_value = column_dup (stmt, 6);
  entry->new_value = column_dup (stmt, 7);
  entry->note = column_dup (stmt, 8);
  return entry;
}

GPtrArray *
tandem_store_get_history (TandemStore *self,
                          const char  *entity_id,
                          GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (entity_id != NULL, NULL);

  if (!(stmt = prepare (self,
                        "SELECT id, entity_id, at, device_id, origin, field, old_value, "
                        "new_value, note FROM history WHERE entity_id = ? ORDER BY id",
                        error)))
    return NULL;
  bind_text (stmt, 1, entity_id);
  return collect_rows (self, stmt, (RowFunc) history_from_row,
                       (GDestroyNotify) tandem_history_entry_free,
                       NC_("database action", "read history"), error);
}

/* Sync: what the sync engine asks of the store (DESIGN §3, §5). Each call is
 * one transaction, so a crash in the middle of applying a server answer
 * leaves the outbox as it was and the same answer is simply applied again. */

void
tandem_conflict_free (TandemConflict *conflict)
{
  if (conflict == NULL)
    return;
  g_free (conflict->task_id);
  g_clear_pointer (&conflict->base, tandem_task_free);
  g_clear_pointer (&conflict->local, tandem_task_free);
  g_clear_pointer (&conflict->remote, tandem_task_free);
  g_clear_pointer (&conflict->merge, tandem_merge_result_free);
  g_free (conflict);
}

GPtrArray *
tandem_store_outbox_next_batch (TandemStore *self,
                                guint        limit,
                                GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (limit > 0, NULL);

  /* Parked ops wait for the user; so do all ops of a record with an open
   * conflict (they are held until it is resolved). */
  if (!(stmt = prepare (self,
                        "SELECT " OP_COLUMNS " FROM outbox WHERE state != 'error' "
                        "AND entity_id NOT IN (SELECT entity_id FROM conflicts) "
                        "ORDER BY seq LIMIT ?",
                        error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, limit);
  return collect_rows (self, stmt, (RowFunc) op_from_row, (GDestroyNotify) tandem_op_free,
                       NC_("database action", "read the outbox"), error);
}

static gboolean
reset_syncing (TandemStore *self,
               gpointer     data,
               GError     **error)
{
  static const char *queries[] = {
    "SELECT id FROM tasks WHERE sync_status = 'syncing'",
    "SELECT id FROM lists WHERE sync_status = 'syncing'",
  };

  for (guint t = 0; t < G_N_ELEMENTS (queries); t++)
    {
      g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
      sqlite3_stmt *stmt = prepare (self, queries[t], error);
      int rc;

      if (stmt == NULL)
        return FALSE;
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        g_ptr_array_add (ids, column_dup (stmt, 0));
      sqlite3_reset (stmt);
      if (rc != SQLITE_DONE)
        return set_db_error (self, rc, NC_("database action", "read the sync state"), error);
      for (guint i = 0; i < ids->len; i++)
        if (!refresh_sync_status (self, t == 0 ? TANDEM_ENTITY_TASK : TANDEM_ENTITY_LIST,
                                  g_ptr_array_index (ids, i), error))
          return FALSE;
    }
  return TRUE;
}

gboolean
tandem_store_reset_syncing (TandemStore *self,
                            GError     **error)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);

  return in_transaction (self, reset_syncing, NULL, error);
}

/* Lists from the server */

static gboolean
write_list_row (TandemStore      *self,
                const TandemList *list,
                GError          **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "INSERT INTO lists (" LIST_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?) "
                                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
                                "position = excluded.position, rev = excluded.rev, "
                                "updated_at = excluded.updated_at, deleted = excluded.deleted",
                                error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, list->id);
  bind_text (stmt, 2, list->name);
  bind_text (stmt, 3, list->position);
  sqlite3_bind_int64 (stmt, 4, list->rev);
  bind_text (stmt, 5, list->updated_at);
  sqlite3_bind_int (stmt, 6, list->deleted ? 1 : 0);
  bind_text (stmt, 7, tandem_sync_status_to_string (list->sync_status));
  return step_done (self, stmt, NC_("database action", "save a list"), error);
}

/* The list as the server has it, with this device's queued changes on top. */
static gboolean
rebase_list (TandemStore      *self,
             const TandemList *server,
             GError          **error)
{
  g_autoptr(GPtrArray) ops = ops_of_entity (self, server->id, error);
  g_autoptr(TandemList) row = NULL;

  if (ops == NULL)
    return FALSE;
  row = tandem_list_copy (server);
  for (guint i = 0; i < ops->len; i++)
    {
      const TandemOp *op = g_ptr_array_index (ops, i);
      const char *name = json_object_get_string_member_with_default (op->patch, "name", NULL);
      const char *position = json_object_get_string_member_with_default (op->patch, "position",
                                                                          NULL);

      if (op->kind == TANDEM_OP_DELETE)
        row->deleted = TRUE;
      if (op->kind == TANDEM_OP_RESTORE)
        row->deleted = FALSE;
      if (name != NULL)
        {
          g_free (row->name);
          row->name = g_strdup (name);
        }
      if (position != NULL)
        {
          g_free (row->position);
          row->position = g_strdup (position);
        }
    }
  return write_list_row (self, row, error) &&
         refresh_sync_status (self, TANDEM_ENTITY_LIST, server->id, error);
}

/* Conflicts */

/* What the local edits of a task started from: its base snapshot with each
 * field the queued ops changed set back to the value the user saw when
 * changing it (the op's own base, DESIGN §3). A delete's base holds every
 * field as the user saw it, not values this device wrote, and a pull since
 * may have moved the row on to another device's values. Once a later
 * restore undid that delete it tells nothing: taken as the base, it would
 * make another device's change look like this device's own edit, which
 * then collides with any newer one. */
static TandemTask *
edit_base (TandemStore      *self,
           const TandemTask *local,
           const TandemTask *remote,
           GPtrArray        *ops,
           GError          **error)
{
  g_autoptr(GError) local_error = NULL;
  TandemTask *base = tandem_store_get_task_base (self, local->id, &local_error);
  gboolean restored_later = FALSE;

  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  /* Never synced: the edits started from nothing the server knows, so
   * treat the server's record as their base and keep this device's values. */
  if (base == NULL)
    base = tandem_task_copy (remote);

  for (guint i = ops->len; i > 0; i--)
    {
      const TandemOp *op = g_ptr_array_index (ops, i - 1);
      JsonObjectIter iter;
      const char *name;
      JsonNode *value;

      if (op->kind == TANDEM_OP_RESTORE)
        restored_later = TRUE;
      if (op->kind == TANDEM_OP_DELETE && restored_later)
        continue;
      json_object_iter_init (&iter, op->base);
      while (json_object_iter_next (&iter, &name, &value))
        {
          TandemField field;

          if (tandem_field_from_name (name, &field))
            tandem_task_set_field (base, field, value, NULL);
        }
    }
  return base;
}

static const TandemField value_fields[] = {
  TANDEM_FIELD_TITLE, TANDEM_FIELD_NOTES, TANDEM_FIELD_DONE, TANDEM_FIELD_DUE,
  TANDEM_FIELD_PRIORITY, TANDEM_FIELD_LIST_ID, TANDEM_FIELD_POSITION,
};

/* Whether @ops hold a delete no later restore undid. */
static gboolean
delete_stands (GPtrArray *ops)
{
  gboolean deleted = FALSE;

  for (guint i = 0; i < ops->len; i++)
    {
      TandemOpKind kind = ((const TandemOp *) g_ptr_array_index (ops, i))->kind;

      if (kind == TANDEM_OP_DELETE)
        deleted = TRUE;
      else if (kind == TANDEM_OP_RESTORE)
        deleted = FALSE;
    }
  return deleted;
}

/* This device's side of a merge for a task it deleted: a value field no
 * queued op wrote holds what the user saw when deleting (the delete's
 * base, in @base), not the row's copy of it. A pull since the delete moved
 * the row on to another device's values; compared with @base they would
 * pass for this device's own edits and collide with any newer ones. */
static void
own_side (TandemTask       *local,
          const TandemTask *base,
          GPtrArray        *ops)
{
  if (!local->deleted || !delete_stands (ops))
    return;

  for (guint f = 0; f < G_N_ELEMENTS (value_fields); f++)
    {
      const char *name = tandem_field_name (value_fields[f]);
      g_autoptr(JsonNode) value = NULL;
      gboolean written = FALSE;

      for (guint i = 0; i < ops->len && !written; i++)
        written = json_object_has_member (((const TandemOp *) g_ptr_array_index (ops, i))->patch,
                                          name);
      if (written)
        continue;
      value = tandem_task_get_field (base, value_fields[f]);
      tandem_task_set_field (local, value_fields[f], value, NULL);
    }
}

static gboolean
delete_ops_of (TandemStore *self,
               const char  *entity_id,
               gboolean     field_ops_only,
               GError     **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                field_ops_only
                                  ? "DELETE FROM outbox WHERE entity_id = ? AND kind IN "
                                    "('create', 'update', 'restore', 'delete')"
                                  : "DELETE FROM outbox WHERE entity_id = ?",
                                error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, entity_id);
  return step_done (self, stmt, NC_("database action", "update the outbox"), error);
}

/* A new key for an op the server refused for good, so the change it
 * carries can be sent again (and be applied) later. */
static gboolean
rekey_op (TandemStore *self,
          gint64       seq,
          GError     **error)
{
  sqlite3_stmt *stmt = prepare (self, "UPDATE outbox SET op_id = ?, state = 'new' WHERE seq = ?",
                                error);
  g_autofree char *op_id = tandem_new_id ();

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, op_id);
  sqlite3_bind_int64 (stmt, 2, seq);
  return step_done (self, stmt, NC_("database action", "update the outbox"), error);
}

/* Puts the remaining ops of a record after the ones just queued, keeping
 * their keys and payloads (they were held, never applied). */
static gboolean
requeue_ops_of (TandemStore *self,
                const char  *entity_id,
                gint64       after_seq,
                GError     **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "UPDATE outbox SET seq = seq + (SELECT max(seq) FROM outbox) "
                                "WHERE entity_id = ? AND seq < ?",
                                error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, entity_id);
  sqlite3_bind_int64 (stmt, 2, after_seq);
  return step_done (self, stmt, NC_("database action", "update the outbox"), error);
}

/* Replaces the field ops of @final's task by one op of @kind on the
 * server's revision, carrying every value that differs from @remote; tag
 * and comment ops stay queued behind it. Then rebuilds the row. */
static gboolean
queue_on_remote (TandemStore      *self,
                 const TandemTask *remote,
                 const TandemTask *final,
                 TandemOpKind      kind,
                 GError          **error)
{
  g_autoptr(TandemOp) op = new_op (self, TANDEM_ENTITY_TASK, remote->id, kind, remote->rev);

  for (guint i = 0; i < G_N_ELEMENTS (value_fields); i++)
    {
      TandemField f = value_fields[i];

      if (tandem_task_field_equal (final, remote, f))
        continue;
      json_object_set_member (op->patch, tandem_field_name (f), tandem_task_get_field (final, f));
      json_object_set_member (op->base, tandem_field_name (f), tandem_task_get_field (remote, f));
    }

  if (!delete_ops_of (self, remote->id, TRUE, error))
    return FALSE;
  if (kind != TANDEM_OP_UPDATE || json_object_get_size (op->patch) > 0)
    {
      if (!insert_op (self, op, error) || !requeue_ops_of (self, remote->id, op->seq, error))
        return FALSE;
    }
  return rebase_task (self, remote, error);
}

/* Queues @task as new to the server: one create with every field and tag,
 * then its comments; the server's old versions are forgotten. For a task
 * the server no longer knows (its tombstone was purged) and for moving to
 * another server. */
static gboolean
queue_create_of (TandemStore      *self,
                 const TandemTask *task,
                 GError          **error)
{
  g_autoptr(TandemOp) create = new_op (self, TANDEM_ENTITY_TASK, task->id, TANDEM_OP_CREATE, 0);
  g_autoptr(TandemTask) row = tandem_task_copy (task);
  sqlite3_stmt *stmt;

  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    if (tandem_field_is_patchable (f))
      json_object_set_member (create->patch, tandem_field_name (f), tandem_task_get_field (task, f));
  if (!delete_ops_of (self, task->id, FALSE, error) || !insert_op (self, create, error))
    return FALSE;

  for (guint i = 0; i < task->comments->len; i++)
    {
      const TandemComment *comment = g_ptr_array_index (task->comments, i);
      g_autoptr(TandemOp) op = new_op (self, TANDEM_ENTITY_TASK, task->id, TANDEM_OP_COMMENT_ADD, 0);

      json_object_set_string_member (op->patch, "comment_id", comment->id);
      json_object_set_string_member (op->patch, "body", comment->body);
      if (!insert_op (self, op, error))
        return FALSE;
    }

  row->rev = 0;
  row->deleted = FALSE;
  g_clear_pointer (&row->updated_at, g_free);
  if (!write_task_row (self, row, error))
    return FALSE;
  if (!(stmt = prepare (self, "UPDATE tasks SET base = NULL WHERE id = ?", error)))
    return FALSE;
  bind_text (stmt, 1, task->id);
  return step_done (self, stmt, NC_("database action", "forget the synced state"), error) &&
         refresh_sync_status (self, TANDEM_ENTITY_TASK, task->id, error);
}

static gboolean
store_conflict (TandemStore        *self,
                TandemConflictKind  kind,
                const TandemTask   *base,
                const TandemTask   *remote,
                GError            **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "INSERT INTO conflicts (entity_id, kind, remote_rev, base, remote, "
                                "created_at) VALUES (?, ?, ?, ?, ?, ?) "
                                "ON CONFLICT (entity_id) DO UPDATE SET kind = excluded.kind, "
                                "remote_rev = excluded.remote_rev, remote = excluded.remote",
                                error);
  g_autofree char *base_text = snapshot_to_string (base);
  g_autofree char *remote_text = snapshot_to_string (remote);
  g_autofree char *now = tandem_now_rfc3339 ();

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, remote->id);
  bind_text (stmt, 2, tandem_conflict_kind_to_string (kind));
  sqlite3_bind_int64 (stmt, 3, remote->rev);
  bind_text (stmt, 4, base_text);
  bind_text (stmt, 5, remote_text);
  bind_text (stmt, 6, now);
  return step_done (self, stmt, NC_("database action", "record a conflict"), error) &&
         refresh_sync_status (self, TANDEM_ENTITY_TASK, remote->id, error);
}

static gboolean
record_merge_history (TandemStore             *self,
                      const TandemMergeResult *merge,
                      const char              *id,
                      GError                 **error)
{
  for (guint i = 0; i < merge->auto_merged->len; i++)
    {
      TandemField f = GPOINTER_TO_UINT (g_ptr_array_index (merge->auto_merged, i));
      g_autoptr(JsonNode) value = tandem_task_get_field (merge->merged, f);
      g_autofree char *note = g_strdup_printf ("%s merged with a change from another device",
                                               tandem_field_name (f));

      if (!add_history (self, id, "merge", self->device_id, tandem_field_name (f), NULL, value,
                        note, error))
        return FALSE;
    }
  for (guint i = 0; i < merge->overwrites->len; i++)
    {
      const TandemOverwrite *o = g_ptr_array_index (merge->overwrites, i);

      if (!add_history (self, id, "overwrite", self->device_id, tandem_field_name (o->field),
                        o->overwritten, o->value,
                        "this device's later change replaced the other device's value", error))
        return FALSE;
    }
  return TRUE;
}

/* Whether @ops hold a restore made on a revision older than @rev. */
static gboolean
restore_predates (GPtrArray *ops,
                  gint64     rev)
{
  for (guint i = 0; i < ops->len; i++)
    {
      const TandemOp *op = g_ptr_array_index (ops, i);

      if (op->kind == TANDEM_OP_RESTORE && op->base_rev < rev)
        return TRUE;
    }
  return FALSE;
}

/* A 409 for an op of @local: merge with the field policies, or keep the
 * question for the user (DESIGN §5 steps 1-3). */
static gboolean
handle_conflict (TandemStore       *self,
                 const TandemOp    *op,
                 const TandemTask  *remote,
                 TandemPushSummary *summary,
                 GError           **error)
{
  g_autoptr(TandemTask) local = NULL;
  g_autoptr(TandemTask) base = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(TandemMergeResult) merge = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!(local = load_task (self, op->entity_id, &local_error)))
    {
      /* The row is gone (it never is: rows are tombstoned, not removed). */
      if (g_error_matches (local_error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND))
        return delete_ops_of (self, op->entity_id, FALSE, error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (!(ops = ops_of_entity (self, op->entity_id, error)) ||
      !(base = edit_base (self, local, remote, ops, error)))
    return FALSE;
  own_side (local, base, ops);

  /* A row kept in sight while its edits wait (the task was deleted
   * elsewhere) was not restored here; only a restore op says so. Its
   * edits were made on a live task and meet the delete: ask (DESIGN §5). */
  if (remote->deleted && !local->deleted && base->deleted)
    {
      gboolean restored = FALSE;

      for (guint i = 0; i < ops->len; i++)
        {
          TandemOpKind kind = ((const TandemOp *) g_ptr_array_index (ops, i))->kind;

          restored |= kind == TANDEM_OP_RESTORE || kind == TANDEM_OP_CREATE;
        }
      if (!restored)
        base->deleted = FALSE;
    }

  /* A restore refused on a tombstone: another device deleted the task
   * again after the version this device restored. Restore with this
   * device's edits, or let it go: the user decides (DESIGN §5). The same
   * holds when the 409 came back for an op queued before the restore (an
   * edit, then a delete and a restore here): that restore undid this
   * device's own delete, older than the tombstone, so the merge below must
   * not send it again on the newest revision without a question. */
  if (remote->deleted && (op->kind == TANDEM_OP_RESTORE || restore_predates (ops, remote->rev)))
    {
      base->deleted = FALSE;
      summary->conflicts++;
      return store_conflict (self, TANDEM_CONFLICT_EDIT_VS_DELETE, base, remote, error);
    }

  merge = tandem_merge_tasks (base, local, remote);
  if (merge->kind != TANDEM_CONFLICT_NONE)
    {
      summary->conflicts++;
      return store_conflict (self, merge->kind, base, remote, error);
    }

  summary->merged++;
  /* Deleted on both sides: the tags and comments still queued here have
   * no record to land on; replayed on the tombstone they would bring the
   * task back in sight and be refused again and again. */
  if (merge->merged->deleted && remote->deleted)
    return delete_ops_of (self, remote->id, FALSE, error) && rebase_task (self, remote, error) &&
           record_merge_history (self, merge, remote->id, error);
  /* The merge may keep this device's delete (nothing was edited elsewhere
   * since) or its restore: the tombstone is not a value field, so it goes
   * out as an op of its own kind, never dropped with the replaced ops. */
  if (!merge->merged->deleted && remote->deleted)
    return queue_on_remote (self, remote, merge->merged, TANDEM_OP_RESTORE, error) &&
           record_merge_history (self, merge, remote->id, error);
  if (!queue_on_remote (self, remote, merge->merged, TANDEM_OP_UPDATE, error))
    return FALSE;
  if (merge->merged->deleted && !remote->deleted)
    {
      g_autoptr(TandemOp) delete = new_op (self, TANDEM_ENTITY_TASK, remote->id, TANDEM_OP_DELETE,
                                           remote->rev);

      if (!insert_op (self, delete, error) || !rebase_task (self, remote, error))
        return FALSE;
    }
  return record_merge_history (self, merge, remote->id, error);
}

typedef struct
{
  GPtrArray         *results;
  TandemPushSummary *summary;
} PushResults;

static gboolean
apply_push_results (TandemStore *self,
                    gpointer     data,
                    GError     **error)
{
  PushResults *p = data;
  g_autoptr(GHashTable) handled = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < p->results->len; i++)
    {
      const TandemPushResult *result = g_ptr_array_index (p->results, i);
      g_autoptr(GError) local_error = NULL;
      g_autoptr(TandemOp) op = NULL;

      if (result->op_id == NULL)
        continue;
      op = load_op (self, result->op_id, &local_error);
      if (op == NULL)
        {
          /* Already dealt with (a conflict earlier in this batch replaced
           * the ops of its record). */
          if (g_error_matches (local_error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND))
            continue;
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }

      switch (result->status)
        {
        case 200:
        case 201:
          if (!delete_op (self, op->seq, error))
            return FALSE;
          if (result->record != NULL && result->record->task != NULL &&
              !rebase_task (self, result->record->task, error))
            return FALSE;
          if (result->record != NULL && result->record->list != NULL &&
              !rebase_list (self, result->record->list, error))
            return FALSE;
          if (result->record == NULL && !refresh_sync_status (self, op->entity, op->entity_id, error))
            return FALSE;
          p->summary->applied++;
          break;

        case 409:
          /* The server keeps this answer with the op's key and gives it
           * again to every resend: a tag or comment op, which stays queued
           * behind the conflict, goes out later under a new key. */
          if ((op->kind == TANDEM_OP_TAG_ADD || op->kind == TANDEM_OP_TAG_REMOVE ||
               op->kind == TANDEM_OP_COMMENT_ADD) &&
              !rekey_op (self, op->seq, error))
            return FALSE;
          if (g_hash_table_contains (handled, op->entity_id))
            break;
          g_hash_table_add (handled, g_strdup (op->entity_id));
          if (op->entity == TANDEM_ENTITY_TASK && result->current != NULL &&
              result->current->task != NULL)
            {
              g_autoptr(TandemTask) known = tandem_store_get_task_base (self, op->entity_id, NULL);
              const TandemTask *remote = result->current->task;

              /* A stored answer replayed can be older than what this
               * device has read since: merge with the newest version. */
              if (known != NULL && known->rev > remote->rev)
                remote = known;
              if (!handle_conflict (self, op, remote, p->summary, error))
                return FALSE;
            }
          else
            {
              /* Lists have one human field; their conflicts are rare enough
               * to take the server's record and keep the op's effect in
               * history only. */
              if (!delete_ops_of (self, op->entity_id, FALSE, error))
                return FALSE;
              if (result->current != NULL && result->current->list != NULL &&
                  !rebase_list (self, result->current->list, error))
                return FALSE;
              p->summary->merged++;
            }
          break;

        case 404:
          /* The server forgot the record (its tombstone was purged): this
           * device's change meets a delete (DESIGN §4). */
          if (op->entity == TANDEM_ENTITY_TASK && op->kind != TANDEM_OP_DELETE)
            {
              g_autoptr(TandemTask) gone = tandem_store_get_task_base (self, op->entity_id, NULL);
              g_autoptr(TandemTask) local = load_task (self, op->entity_id, NULL);
              g_autoptr(GPtrArray) ops = NULL;
              g_autoptr(TandemTask) base = NULL;

              if (local == NULL)
                break;
              if (gone == NULL)
                gone = tandem_task_copy (local);
              gone->deleted = TRUE;
              /* Revision 0: the server knows no version of it any more. */
              gone->rev = 0;
              if (!(ops = ops_of_entity (self, op->entity_id, error)) ||
                  !(base = edit_base (self, local, gone, ops, error)))
                return FALSE;
              base->deleted = FALSE;
              p->summary->conflicts++;
              if (!store_conflict (self, TANDEM_CONFLICT_EDIT_VS_DELETE, base, gone, error))
                return FALSE;
            }
          else
            {
              if (!delete_op (self, op->seq, error) ||
                  !refresh_sync_status (self, op->entity, op->entity_id, error))
                return FALSE;
              p->summary->applied++;
            }
          break;

        case 422:
          if (!park_op (self, &(ParkOp) { op->op_id, result->error ? result->error
                                                                    : "refused by the server" },
                        error))
            return FALSE;
          p->summary->parked++;
          break;

        case 424:
        case 503:
        default:
          /* Held behind a refused op, or in progress elsewhere: sent again
           * later, unchanged. */
          if (!refresh_sync_status (self, op->entity, op->entity_id, error))
            return FALSE;
          p->summary->retry++;
          break;
        }
    }
  return TRUE;
}

gboolean
tandem_store_apply_push_results (TandemStore       *self,
                                 GPtrArray         *results,
                                 TandemPushSummary *summary,
                                 GError           **error)
{
  TandemPushSummary ignored = { 0 };
  PushResults p = { results, summary ? summary : &ignored };

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (results != NULL, FALSE);

  return in_transaction (self, apply_push_results, &p, error);
}

/* Pull */

typedef struct
{
  GPtrArray  *records;
  const char *cursor;
  GHashTable *seen;
} ApplyChanges;

/* History lines for what another device changed: the fields where the new
 * server record differs from the last one this device knew. */
static gboolean
record_remote_history (TandemStore      *self,
                       const TandemTask *known,
                       const TandemTask *server,
                       GError          **error)
{
  if (known == NULL)
    return add_history (self, server->id, "remote", NULL, NULL, NULL, NULL,
                        server->deleted ? "deleted on another device"
                                        : "created on another device",
                        error);

  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    {
      g_autoptr(JsonNode) old_value = NULL;
      g_autoptr(JsonNode) new_value = NULL;

      if (tandem_task_field_equal (known, server, f))
        continue;
      if (f == TANDEM_FIELD_DELETED)
        {
          if (!add_history (self, server->id, "remote", NULL, NULL, NULL, NULL,
                            server->deleted ? "deleted on another device"
                                            : "restored on another device",
                            error))
            return FALSE;
          continue;
        }
      old_value = tandem_task_get_field (known, f);
      new_value = tandem_task_get_field (server, f);
      if (!add_history (self, server->id, "remote", NULL, tandem_field_name (f), old_value,
                        new_value, "changed on another device", error))
        return FALSE;
    }
  return TRUE;
}

/* A question about values still open when a newer version of its task
 * arrives: when the other device's value has moved on so that it no longer
 * collides with this device's (its notes hunk now apart from the one
 * written here, say), nothing is left to ask, and the held edits merge. */
static gboolean
merge_settled_question (TandemStore      *self,
                        const TandemTask *server,
                        GError          **error)
{
  g_autoptr(TandemConflict) conflict = NULL;

  if (server->deleted)
    return TRUE;
  if (!lookup_question (self, server->id, &conflict, error))
    return FALSE;
  /* A question that already holds a newer version waits for that one. */
  if (conflict == NULL || conflict->remote_rev != server->rev ||
      conflict->kind != TANDEM_CONFLICT_EDIT || conflict->merge->conflicts->len > 0)
    return TRUE;
  return merge_instead_of_asking (self, server->id, server, error);
}

static gboolean
apply_remote_task (TandemStore      *self,
                   const TandemTask *server,
                   GError          **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(TandemTask) known = tandem_store_get_task_base (self, server->id, &local_error);
  g_autoptr(TandemTask) row = NULL;
  g_autofree char *snapshot = NULL;
  gboolean question_moved = FALSE;

  if (local_error != NULL &&
      !g_error_matches (local_error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  g_clear_error (&local_error);

  /* Not newer than the version this device has: its own acknowledged
   * write, or a page read twice. Revisions alone do not order versions: a
   * task whose tombstone was purged and that a device then created again
   * starts over at revision 1, later by the server's clock. */
  if (known != NULL && server->rev <= known->rev &&
      g_strcmp0 (server->updated_at, known->updated_at) <= 0)
    return TRUE;

  row = load_task (self, server->id, &local_error);
  if (row == NULL && !g_error_matches (local_error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  /* A question still open is answered against the newest server version:
   * resolving must not send back values the server has since replaced.
   * When that version is a tombstone, a question about fields has become
   * one about the delete (restore with my edits, or let it go). */
  snapshot = snapshot_to_string (server);
  {
    sqlite3_stmt *stmt = prepare (self,
                                  "UPDATE conflicts SET remote = ?1, remote_rev = ?2, "
                                  "kind = CASE WHEN ?5 AND kind = 'edit' THEN 'edit-vs-delete' "
                                  "ELSE kind END "
                                  "WHERE entity_id = ?3 AND remote_rev < ?4",
                                  error);

    if (stmt == NULL)
      return FALSE;
    bind_text (stmt, 1, snapshot);
    sqlite3_bind_int64 (stmt, 2, server->rev);
    bind_text (stmt, 3, server->id);
    sqlite3_bind_int64 (stmt, 4, server->rev);
    sqlite3_bind_int (stmt, 5, server->deleted ? 1 : 0);
    if (!step_done (self, stmt, NC_("database action", "update a conflict"), error))
      return FALSE;
    /* Only a question that now holds this version can have settled: the
     * other records of a long pull cost no lookup. */
    question_moved = sqlite3_changes (self->db) > 0;
  }

  /* A record this device never had that was deleted before it arrived has
   * nothing to show but the Trash; keep it there like any other. */
  return record_remote_history (self, known, server, error) &&
         rebase_task_with_snapshot (self, server, snapshot, error) &&
         (!question_moved || merge_settled_question (self, server, error));
}

static gboolean
apply_changes (TandemStore *self,
               gpointer     data,
               GError     **error)
{
  ApplyChanges *a = data;

  for (guint i = 0; i < a->records->len; i++)
    {
      const TandemRecord *record = g_ptr_array_index (a->records, i);

      if (record->task != NULL)
        {
          if (a->seen != NULL)
            g_hash_table_add (a->seen, g_strdup (record->task->id));
          if (!apply_remote_task (self, record->task, error))
            return FALSE;
        }
      else if (record->list != NULL)
        {
          g_autoptr(TandemList) known = NULL;

          if (a->seen != NULL)
            g_hash_table_add (a->seen, g_strdup (record->list->id));
          known = load_list (self, record->list->id, NULL);
          if (known != NULL && known->rev >= record->list->rev)
            continue;
          if (!rebase_list (self, record->list, error))
            return FALSE;
        }
    }
  return a->cursor == NULL || put_setting (self, "cursor", a->cursor, error);
}

gboolean
tandem_store_apply_changes (TandemStore *self,
                            GPtrArray   *records,
                            const char  *cursor,
                            GHashTable  *seen,
                            GError     **error)
{
  ApplyChanges a = { records, cursor, seen };

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (records != NULL, FALSE);

  return in_transaction (self, apply_changes, &a, error);
}

static gboolean
forget_unseen (TandemStore *self,
               gpointer     data,
               GError     **error)
{
  GHashTable *seen = data;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt;
  int rc;

  /* Synced records (no queued change, no conflict) that a full read of the
   * server did not return were purged there: they were tombstones. */
  if (!(stmt = prepare (self,
                        "SELECT id FROM tasks WHERE rev > 0 AND id NOT IN "
                        "(SELECT entity_id FROM outbox) AND id NOT IN "
                        "(SELECT entity_id FROM conflicts)",
                        error)))
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    if (!g_hash_table_contains (seen, sqlite3_column_text (stmt, 0)))
      g_ptr_array_add (ids, column_dup (stmt, 0));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return set_db_error (self, rc, NC_("database action", "read tasks"), error);

  for (guint i = 0; i < ids->len; i++)
    {
      if (!(stmt = prepare (self, "DELETE FROM tasks WHERE id = ?", error)))
        return FALSE;
      bind_text (stmt, 1, g_ptr_array_index (ids, i));
      if (!step_done (self, stmt, NC_("database action", "forget a purged task"), error))
        return FALSE;
    }
  return TRUE;
}

gboolean
tandem_store_forget_unseen (TandemStore *self,
                            GHashTable  *seen,
                            GError     **error)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (seen != NULL, FALSE);

  return in_transaction (self, forget_unseen, seen, error);
}

/* Conflicts for the user */

static TandemConflict *
conflict_from_row (TandemStore  *self,
                   sqlite3_stmt *stmt)
{
  g_autoptr(TandemConflict) conflict = g_new0 (TandemConflict, 1);

  conflict->task_id = column_dup (stmt, 0);
  tandem_conflict_kind_from_string ((const char *) sqlite3_column_text (stmt, 1), &conflict->kind);
  conflict->remote_rev = sqlite3_column_int64 (stmt, 2);
  conflict->base = snapshot_from_string (conflict->task_id,
                                         (const char *) sqlite3_column_text (stmt, 3));
  conflict->remote = snapshot_from_string (conflict->task_id,
                                           (const char *) sqlite3_column_text (stmt, 4));
  return g_steal_pointer (&conflict);
}

/* Fills in the local side and a fresh merge (the user may have edited the
 * task since the conflict was found). */
static gboolean
complete_conflict (TandemStore    *self,
                   TandemConflict *conflict,
                   GError        **error)
{
  g_autoptr(GPtrArray) ops = NULL;

  if (!(conflict->local = load_task (self, conflict->task_id, error)) ||
      !(ops = ops_of_entity (self, conflict->task_id, error)))
    return FALSE;
  own_side (conflict->local, conflict->base, ops);
  conflict->merge = tandem_merge_tasks (conflict->base, conflict->local, conflict->remote);
  /* The user deleted the task here, or restored it, while the question was
   * open: it is now about the delete (keep it deleted, or take the other
   * device's version), or again about the values; never a value to choose
   * for the tombstone, which only this side changed. */
  if ((conflict->kind == TANDEM_CONFLICT_EDIT &&
       conflict->merge->kind == TANDEM_CONFLICT_DELETE_VS_EDIT) ||
      (conflict->kind == TANDEM_CONFLICT_DELETE_VS_EDIT && !conflict->local->deleted &&
       conflict->merge->kind == TANDEM_CONFLICT_EDIT))
    conflict->kind = conflict->merge->kind;
  /* Otherwise the kind found when the server refused stays the question
   * asked. */
  if (conflict->merge->kind == TANDEM_CONFLICT_NONE || conflict->kind != TANDEM_CONFLICT_EDIT)
    conflict->merge->kind = conflict->kind;
  return TRUE;
}

GPtrArray *
tandem_store_list_conflicts (TandemStore *self,
                             GError     **error)
{
  g_autoptr(GPtrArray) conflicts = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);

  if (!(stmt = prepare (self,
                        "SELECT entity_id, kind, remote_rev, base, remote FROM conflicts "
                        "ORDER BY created_at, entity_id",
                        error)))
    return NULL;
  conflicts = collect_rows (self, stmt, (RowFunc) conflict_from_row,
                            (GDestroyNotify) tandem_conflict_free,
                            NC_("database action", "read conflicts"), error);
  if (conflicts == NULL)
    return NULL;
  for (guint i = 0; i < conflicts->len; i++)
    if (!complete_conflict (self, g_ptr_array_index (conflicts, i), error))
      return NULL;
  return g_steal_pointer (&conflicts);
}

TandemConflict *
tandem_store_get_conflict (TandemStore *self,
                           const char  *task_id,
                           GError     **error)
{
  g_autoptr(TandemConflict) conflict = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (task_id != NULL, NULL);

  if (!(stmt = prepare (self,
                        "SELECT entity_id, kind, remote_rev, base, remote FROM conflicts "
                        "WHERE entity_id = ?",
                        error)))
    return NULL;
  bind_text (stmt, 1, task_id);
  conflict = fetch_row (self, stmt, (RowFunc) conflict_from_row,
                        /* Translators: %s is the id of a task, a UUID */
                        N_("There is no conflict to resolve for the task with id “%s”"),
                        task_id, NC_("database action", "read conflicts"), error);
  if (conflict == NULL)
    return NULL;
  if (!complete_conflict (self, conflict, error))
    return NULL;
  return g_steal_pointer (&conflict);
}

typedef struct
{
  const char       *task_id;
  TandemResolution  resolution;
  GHashTable       *values;     /* field name -> JsonNode, for TANDEM_RESOLUTION_FIELDS */
} Resolve;

static gboolean
clear_conflict (TandemStore *self,
                const char  *task_id,
                GError     **error)
{
  sqlite3_stmt *stmt = prepare (self, "DELETE FROM conflicts WHERE entity_id = ?", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, task_id);
  return step_done (self, stmt, NC_("database action", "clear a conflict"), error);
}

static gboolean
resolve (TandemStore *self,
         gpointer     data,
         GError     **error)
{
  Resolve *r = data;
  g_autoptr(TandemConflict) conflict = tandem_store_get_conflict (self, r->task_id, error);
  g_autoptr(TandemTask) final = NULL;
  const TandemTask *remote;
  const char *note;

  if (conflict == NULL)
    return FALSE;
  remote = conflict->remote;

  /* Unqueue the conflict first: the ops queued below must be sendable. */
  if (!clear_conflict (self, r->task_id, error))
    return FALSE;

  if (conflict->kind == TANDEM_CONFLICT_EDIT)
    {
      final = tandem_task_copy (conflict->merge->merged);
      for (guint i = 0; i < conflict->merge->conflicts->len; i++)
        {
          const TandemFieldConflict *c = g_ptr_array_index (conflict->merge->conflicts, i);
          const char *name = tandem_field_name (c->field);
          JsonNode *value = NULL;
          g_autoptr(JsonNode) old_value = tandem_task_get_field (conflict->local, c->field);
          g_autoptr(JsonNode) new_value = NULL;
          g_autoptr(GError) local_error = NULL;

          switch (r->resolution)
            {
            case TANDEM_RESOLUTION_LOCAL:
              value = c->local;
              break;
            case TANDEM_RESOLUTION_REMOTE:
              value = c->remote;
              break;
            case TANDEM_RESOLUTION_FIELDS:
            default:
              value = r->values ? g_hash_table_lookup (r->values, name) : NULL;
              break;
            }
          if (value == NULL)
            {
              g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_INVALID,
                           /* Translators: %s is the name of a field of a task, such as
                            * “title”; “local” and “remote” are words to type (in the
                            * command line tool) and must not be translated */
                           _("Choose what to keep for “%s” (local, remote or a value)"), name);
              return FALSE;
            }
          if (!tandem_task_set_field (final, c->field, value, &local_error))
            {
              g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_INVALID, "%s",
                           local_error->message);
              return FALSE;
            }
          new_value = tandem_task_get_field (final, c->field);
          note = json_node_equal (value, c->local) ? "you kept this device's version"
               : json_node_equal (value, c->remote) ? "you chose the other device's version"
                                                    : "you wrote a merged version";
          if (!add_history (self, r->task_id, "resolve", self->device_id, name, old_value,
                            new_value, note, error))
            return FALSE;
        }
      /* A value the user did not choose for is refused rather than lost. */
      if (r->values != NULL)
        {
          GHashTableIter iter;
          gpointer key;

          g_hash_table_iter_init (&iter, r->values);
          while (g_hash_table_iter_next (&iter, &key, NULL))
            {
              gboolean colliding = FALSE;

              for (guint i = 0; i < conflict->merge->conflicts->len; i++)
                if (g_str_equal (key, tandem_field_name (((TandemFieldConflict *) g_ptr_array_index (
                                                                conflict->merge->conflicts, i))->field)))
                  colliding = TRUE;
              if (!colliding)
                {
                  g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_INVALID,
                               /* Translators: %s is the name of a field of a task,
                                * such as “title” (not translated) */
                               _("“%s” is not in conflict for this task"), (char *) key);
                  return FALSE;
                }
            }
        }
      return queue_on_remote (self, remote, final, TANDEM_OP_UPDATE, error) &&
             record_merge_history (self, conflict->merge, r->task_id, error);
    }

  if (r->resolution == TANDEM_RESOLUTION_FIELDS)
    /* Translators: “local” and “remote” are words to type (in the command
     * line tool) and must not be translated */
    return invalid_request (error, _("This task was deleted on one device and edited on the "
                                     "other: keep this device's version (local) or the "
                                     "server's (remote)"));

  if (r->resolution == TANDEM_RESOLUTION_REMOTE)
    {
      /* Whatever the server holds: drop this device's changes. */
      if (!delete_ops_of (self, r->task_id, FALSE, error) || !rebase_task (self, remote, error))
        return FALSE;
      note = conflict->kind == TANDEM_CONFLICT_EDIT_VS_DELETE
               ? "you discarded this device's changes to a task deleted elsewhere"
               : "you kept the task that was edited elsewhere";
      return add_history (self, r->task_id, "resolve", self->device_id, NULL, NULL, NULL, note,
                          error);
    }

  if (conflict->kind == TANDEM_CONFLICT_EDIT_VS_DELETE)
    {
      /* Restore with this device's edits: the values shown side by side
       * keep this device's, and a field only the other side changed before
       * deleting keeps theirs (the merge's), not this device's older copy
       * of it, which would go out as an edit nobody made. The server may
       * no longer know the task at all (revision 0): then this device's
       * version is created again. */
      final = tandem_task_copy (remote->rev == 0 ? conflict->local : conflict->merge->merged);
      final->deleted = FALSE;
      if (remote->rev == 0)
        return queue_create_of (self, final, error) &&
               add_history (self, r->task_id, "resolve", self->device_id, NULL, NULL, NULL,
                            "you restored the task with this device's changes", error);
      return queue_on_remote (self, remote, final, TANDEM_OP_RESTORE, error) &&
             add_history (self, r->task_id, "resolve", self->device_id, NULL, NULL, NULL,
                          "you restored the task with this device's changes", error);
    }

  /* Delete anyway. */
  {
    g_autoptr(TandemOp) op = new_op (self, TANDEM_ENTITY_TASK, r->task_id, TANDEM_OP_DELETE,
                                     remote->rev);

    return delete_ops_of (self, r->task_id, FALSE, error) && insert_op (self, op, error) &&
           rebase_task (self, remote, error) &&
           add_history (self, r->task_id, "resolve", self->device_id, NULL, NULL, NULL,
                        "you deleted the task although it was edited elsewhere", error);
  }
}

gboolean
tandem_store_resolve_conflict (TandemStore      *self,
                               const char       *task_id,
                               TandemResolution  resolution,
                               GHashTable       *values,
                               GError          **error)
{
  Resolve r = { task_id, resolution, values };

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (task_id != NULL, FALSE);

  return in_transaction (self, resolve, &r, error);
}

gboolean
tandem_store_get_sync_counts (TandemStore *self,
                              guint       *n_pending,
                              guint       *n_parked,
                              guint       *n_conflicts,
                              GError     **error)
{
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);

  if (!(stmt = prepare (self,
                        "SELECT (SELECT count(*) FROM outbox WHERE state != 'error'), "
                        "(SELECT count(*) FROM outbox WHERE state = 'error'), "
                        "(SELECT count(*) FROM conflicts)",
                        error)))
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *n_pending = sqlite3_column_int (stmt, 0);
      *n_parked = sqlite3_column_int (stmt, 1);
      *n_conflicts = sqlite3_column_int (stmt, 2);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW)
    return set_db_error (self, rc, NC_("database action", "read the outbox"), error);
  return TRUE;
}

/* Moving to another server */

static gboolean
prepare_for_new_server (TandemStore *self,
                        gpointer     data,
                        GError     **error)
{
  g_autoptr(GPtrArray) tasks = NULL;
  g_autoptr(GPtrArray) lists = NULL;
  sqlite3_stmt *stmt;

  /* Lists first, so that their tasks' list ids are known when they land. */
  if (!(stmt = prepare (self, "SELECT " LIST_COLUMNS " FROM lists WHERE deleted = 0", error)) ||
      !(lists = collect_rows (self, stmt, (RowFunc) list_from_row,
                              (GDestroyNotify) tandem_list_free,
                              NC_("database action", "read lists"), error)))
    return FALSE;
  for (guint i = 0; i < lists->len; i++)
    {
      TandemList *list = g_ptr_array_index (lists, i);
      g_autoptr(TandemOp) op = new_op (self, TANDEM_ENTITY_LIST, list->id, TANDEM_OP_CREATE, 0);

      json_object_set_string_member (op->patch, "name", list->name);
      json_object_set_string_member (op->patch, "position", list->position);
      list->rev = 0;
      if (!delete_ops_of (self, list->id, FALSE, error) || !insert_op (self, op, error) ||
          !write_list_row (self, list, error) ||
          !refresh_sync_status (self, TANDEM_ENTITY_LIST, list->id, error))
        return FALSE;
    }

  /* Open conflicts stay: they hold a choice only the user can make. Tasks
   * in review keep their ops too (resolving them writes the op the server
   * needs, and a server that never knew the task answers 404, which asks
   * again as edit vs delete): nothing is decided behind the user's back. */
  if (!(stmt = prepare (self,
                        "SELECT id FROM tasks WHERE deleted = 0 "
                        "AND id NOT IN (SELECT entity_id FROM conflicts)", error)))
    return FALSE;
  {
    g_autoptr(GPtrArray) ids = collect_rows (self, stmt, (RowFunc) column_dup_first, g_free,
                                             NC_("database action", "read tasks"), error);

    if (ids == NULL)
      return FALSE;
    for (guint i = 0; i < ids->len; i++)
      {
        g_autoptr(TandemTask) task = load_task (self, g_ptr_array_index (ids, i), error);

        if (task == NULL || !queue_create_of (self, task, error))
          return FALSE;
      }
  }

  /* The Trash stays on this device. A delete not yet acknowledged keeps its
   * op and base: if the "new" server is the old one under another name the
   * delete still lands, and a server that never had the task answers 404,
   * which acknowledges a delete. The cursor goes: another server's sequence
   * numbers mean nothing here, and a cursor that happens to be valid there
   * would skip changes; pulling from the start is a rebase, never a loss. */
  return exec (self,
               "UPDATE tasks SET rev = 0, base = NULL WHERE deleted = 1 "
               "AND id NOT IN (SELECT entity_id FROM outbox) "
               "AND id NOT IN (SELECT entity_id FROM conflicts);"
               "DELETE FROM settings WHERE key = 'cursor';",
               NC_("database action", "prepare for the new server"), error) &&
         reset_syncing (self, NULL, error);
}

gboolean
tandem_store_prepare_for_new_server (TandemStore *self,
                                     GError     **error)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);

  return in_transaction (self, prepare_for_new_server, NULL, error);
}
