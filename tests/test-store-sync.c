/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "tandem-store.h"

/* The store's side of sync, without a network: push results, pulled pages,
 * conflicts and their resolution, as the sync engine drives them. The
 * server is played by hand-made records. */

typedef struct
{
  char        *dir;
  TandemStore *store;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  f->dir = g_dir_make_tmp ("tandem-sync-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (f->dir, "device.db", NULL);
  f->store = tandem_store_open (path, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  g_clear_object (&f->store);
  while (dir && (name = g_dir_read_name (dir)))
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
}

static TandemTask *
create (Fixture    *f,
        const char *title,
        const char *notes)
{
  g_autoptr(TandemTask) draft = tandem_task_new ();
  g_autoptr(GError) error = NULL;
  TandemTask *task;

  g_free (draft->title);
  draft->title = g_strdup (title);
  g_free (draft->notes);
  draft->notes = g_strdup (notes);
  task = tandem_store_create_task (f->store, draft, &error);
  g_assert_no_error (error);
  return task;
}

static GPtrArray *
outbox (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *ops = tandem_store_outbox_list (f->store, 0, &error);

  g_assert_no_error (error);
  return ops;
}

/* The one op the outbox holds, of @kind (a copy). */
static TandemOp *
only_op (Fixture      *f,
         TandemOpKind  kind)
{
  g_autoptr(GPtrArray) ops = outbox (f);
  const TandemOp *op;

  g_assert_cmpuint (ops->len, ==, 1);
  op = g_ptr_array_index (ops, 0);
  g_assert_cmpint (op->kind, ==, kind);
  return tandem_op_copy (op);
}

static TandemTask *
get (Fixture    *f,
     const char *id)
{
  g_autoptr(GError) error = NULL;
  TandemTask *task = tandem_store_get_task (f->store, id, &error);

  g_assert_no_error (error);
  return task;
}

static void
edit (Fixture    *f,
      const char *id,
      const char *field,
      const char *value)
{
  g_autoptr(JsonObject) changes = json_object_new ();
  g_autoptr(GError) error = NULL;

  json_object_set_string_member (changes, field, value);
  g_assert_true (tandem_store_update_task (f->store, id, changes, &error));
  g_assert_no_error (error);
}

/* Plays the server answering every queued op with "applied" and the
 * record as this device has it, at consecutive revisions. */
static TandemTask *
acknowledge_all (Fixture *f,
                 gint64   rev)
{
  g_autoptr(GPtrArray) ops = outbox (f);
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_push_result_free);
  g_autoptr(GError) error = NULL;
  TandemTask *server = NULL;

  for (guint i = 0; i < ops->len; i++)
    {
      TandemOp *op = g_ptr_array_index (ops, i);
      TandemPushResult *result = tandem_push_result_new ();

      g_clear_pointer (&server, tandem_task_free);
      server = get (f, op->entity_id);
      server->rev = rev;
      server->sync_status = TANDEM_SYNC_SYNCED;
      result->op_id = g_strdup (op->op_id);
      result->status = 200;
      result->type = g_strdup ("applied");
      result->record = tandem_record_new_task (tandem_task_copy (server));
      g_ptr_array_add (results, result);
    }
  g_assert_true (tandem_store_apply_push_results (f->store, results, NULL, &error));
  g_assert_no_error (error);
  return server;
}

/* The server's next version of @server: revision @rev, in the Trash or
 * not, and with another title when @title is given. */
static TandemTask *
server_version (const TandemTask *server,
                gint64            rev,
                gboolean          deleted,
                const char       *title)
{
  TandemTask *version = tandem_task_copy (server);

  version->rev = rev;
  version->deleted = deleted;
  if (title != NULL)
    {
      g_free (version->title);
      version->title = g_strdup (title);
    }
  return version;
}

/* Plays a pulled page holding one record: @version, then @cursor. */
static void
pull_one (Fixture          *f,
          const TandemTask *version,
          const char       *cursor)
{
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_record_free);
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (records, tandem_record_new_task (tandem_task_copy (version)));
  g_assert_true (tandem_store_apply_changes (f->store, records, cursor, NULL, &error));
  g_assert_no_error (error);
}

static TandemPushSummary
answer_conflict (Fixture          *f,
                 const TandemTask *current)
{
  g_autoptr(GPtrArray) ops = tandem_store_outbox_next_batch (f->store, 500, NULL);
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_push_result_free);
  g_autoptr(GError) error = NULL;
  TandemPushSummary summary = { 0 };

  for (guint i = 0; i < ops->len; i++)
    {
      TandemPushResult *result = tandem_push_result_new ();

      result->op_id = g_strdup (((TandemOp *) g_ptr_array_index (ops, i))->op_id);
      if (i == 0)
        {
          result->status = 409;
          result->type = g_strdup ("conflict");
          result->current = tandem_record_new_task (tandem_task_copy (current));
        }
      else
        {
          result->status = 424;
          result->type = g_strdup ("held");
        }
      g_ptr_array_add (results, result);
    }
  g_assert_true (tandem_store_apply_push_results (f->store, results, &summary, &error));
  g_assert_no_error (error);
  return summary;
}

static void
test_ack_makes_synced (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f, "Synced", "");
  g_autoptr(TandemTask) server = acknowledge_all (f, 1);
  g_autoptr(TandemTask) row = get (f, task->id);
  g_autoptr(GPtrArray) ops = outbox (f);

  g_assert_cmpuint (ops->len, ==, 0);
  g_assert_cmpint (row->rev, ==, 1);
  g_assert_cmpint (row->sync_status, ==, TANDEM_SYNC_SYNCED);
}

static void
test_clean_conflict_merges (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f, "Trip", "day 1\nday 2\nday 3\nday 4\n");
  g_autoptr(TandemTask) server = acknowledge_all (f, 1);
  g_autoptr(TandemTask) remote = NULL;
  g_autoptr(TandemTask) row = NULL;
  g_autoptr(GPtrArray) history = NULL;
  TandemPushSummary summary;
  g_autoptr(TandemOp) op = NULL;
  gboolean merged_line = FALSE;

  /* Here: the first paragraph. There: the last one, and the title. */
  edit (f, task->id, "notes", "day 1 (museum)\nday 2\nday 3\nday 4\n");
  remote = server_version (server, 2, FALSE, NULL);
  g_free (remote->notes);
  remote->notes = g_strdup ("day 1\nday 2\nday 3\nday 4 (beach)\n");
  g_free (remote->title);
  remote->title = g_strdup ("Trip to Porto");

  summary = answer_conflict (f, remote);
  g_assert_cmpuint (summary.merged, ==, 1);
  g_assert_cmpuint (summary.conflicts, ==, 0);

  row = get (f, task->id);
  g_assert_cmpstr (row->title, ==, "Trip to Porto");
  g_assert_cmpstr (row->notes, ==, "day 1 (museum)\nday 2\nday 3\nday 4 (beach)\n");
  g_assert_cmpint (row->sync_status, ==, TANDEM_SYNC_PENDING);

  /* One op on the remote revision carrying only what differs from it. */
  op = only_op (f, TANDEM_OP_UPDATE);
  g_assert_cmpint (op->base_rev, ==, 2);
  g_assert_cmpuint (json_object_get_size (op->patch), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (op->patch, "notes"), ==, row->notes);
  g_assert_cmpstr (json_object_get_string_member (op->base, "notes"), ==, remote->notes);

  history = tandem_store_get_history (f->store, task->id, NULL);
  for (guint i = 0; i < history->len; i++)
    {
      TandemHistoryEntry *entry = g_ptr_array_index (history, i);

      if (g_strcmp0 (entry->origin, "merge") == 0 && g_strcmp0 (entry->field, "notes") == 0)
        merged_line = TRUE;
    }
  g_assert_true (merged_line);
}

static void
test_same_title_needs_review_then_resolve (Fixture       *f,
                                           gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f, "Draft", "");
  g_autoptr(TandemTask) server = acknowledge_all (f, 1);
  g_autoptr(TandemTask) remote = NULL;
  g_autoptr(TandemTask) row = NULL;
  g_autoptr(TandemConflict) conflict = NULL;
  g_autoptr(GPtrArray) batch = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GHashTable) values = NULL;
  g_autoptr(GError) error = NULL;
  const char *add[] = { "later", NULL };
  TandemFieldConflict *field;
  TandemPushSummary summary;
  TandemOp *op;

  edit (f, task->id, "title", "Draft here");
  /* A held change made after the edit: it must survive the resolution. */
  g_assert_true (tandem_store_change_tags (f->store, task->id, add, NULL, NULL));
  remote = server_version (server, 2, FALSE, "Draft there");

  summary = answer_conflict (f, remote);
  g_assert_cmpuint (summary.conflicts, ==, 1);
  row = get (f, task->id);
  g_assert_cmpint (row->sync_status, ==, TANDEM_SYNC_NEEDS_REVIEW);
  g_assert_cmpstr (row->title, ==, "Draft here");

  /* Held: nothing of this task goes out until the user decides. */
  batch = tandem_store_outbox_next_batch (f->store, 500, NULL);
  g_assert_cmpuint (batch->len, ==, 0);

  conflict = tandem_store_get_conflict (f->store, task->id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (conflict->kind, ==, TANDEM_CONFLICT_EDIT);
  g_assert_cmpint (conflict->remote_rev, ==, 2);
  g_assert_cmpuint (conflict->merge->conflicts->len, ==, 1);
  field = g_ptr_array_index (conflict->merge->conflicts, 0);
  g_assert_cmpint (field->field, ==, TANDEM_FIELD_TITLE);
  g_assert_cmpstr (json_node_get_string (field->base), ==, "Draft");
  g_assert_cmpstr (json_node_get_string (field->local), ==, "Draft here");
  g_assert_cmpstr (json_node_get_string (field->remote), ==, "Draft there");

  /* A value for a field that is not in conflict is refused, nothing lost. */
  values = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) json_node_unref);
  g_hash_table_insert (values, "notes", json_node_init_string (json_node_alloc (), "x"));
  g_assert_false (tandem_store_resolve_conflict (f->store, task->id, TANDEM_RESOLUTION_FIELDS,
                                                 values, &error));
  g_assert_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_clear_pointer (&conflict, tandem_conflict_free);
  conflict = tandem_store_get_conflict (f->store, task->id, &error);
  g_assert_no_error (error);

  g_hash_table_remove_all (values);
  g_hash_table_insert (values, "title", json_node_init_string (json_node_alloc (), "Draft, merged"));
  g_assert_true (tandem_store_resolve_conflict (f->store, task->id, TANDEM_RESOLUTION_FIELDS,
                                                values, &error));
  g_assert_no_error (error);

  g_clear_pointer (&row, tandem_task_free);
  row = get (f, task->id);
  g_assert_cmpstr (row->title, ==, "Draft, merged");
  g_assert_true (tandem_task_has_tag (row, "later"));
  g_assert_cmpint (row->sync_status, ==, TANDEM_SYNC_PENDING);

  /* One update on revision 2, then the held tag op behind it. */
  ops = outbox (f);
  g_assert_cmpuint (ops->len, ==, 2);
  op = g_ptr_array_index (ops, 0);
  g_assert_cmpint (op->kind, ==, TANDEM_OP_UPDATE);
  g_assert_cmpint (op->base_rev, ==, 2);
  g_assert_cmpstr (json_object_get_string_member (op->patch, "title"), ==, "Draft, merged");
  g_assert_cmpstr (json_object_get_string_member (op->base, "title"), ==, "Draft there");
  g_assert_cmpint (((TandemOp *) g_ptr_array_index (ops, 1))->kind, ==, TANDEM_OP_TAG_ADD);
  g_assert_null (tandem_store_get_conflict (f->store, task->id, NULL));
}

static void
test_edit_vs_delete_restore_or_discard (Fixture       *f,
                                        gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f, "Keep?", "");
  g_autoptr(TandemTask) server = acknowledge_all (f, 1);
  g_autoptr(TandemTask) remote = NULL;
  g_autoptr(TandemTask) row = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemOp) op = NULL;
  TandemPushSummary summary;

  edit (f, task->id, "notes", "worth keeping");
  remote = server_version (server, 2, TRUE, NULL);

  summary = answer_conflict (f, remote);
  g_assert_cmpuint (summary.conflicts, ==, 1);
  {
    g_autoptr(TandemConflict) conflict = tandem_store_get_conflict (f->store, task->id, &error);

    g_assert_no_error (error);
    g_assert_cmpint (conflict->kind, ==, TANDEM_CONFLICT_EDIT_VS_DELETE);
  }
  /* "Choose a value" makes no sense here. */
  g_assert_false (tandem_store_resolve_conflict (f->store, task->id, TANDEM_RESOLUTION_FIELDS,
                                                 NULL, &error));
  g_clear_error (&error);

  /* Restore with my changes: one restore op on the tombstone's revision. */
  g_assert_true (tandem_store_resolve_conflict (f->store, task->id, TANDEM_RESOLUTION_LOCAL, NULL,
                                                &error));
  g_assert_no_error (error);
  row = get (f, task->id);
  g_assert_false (row->deleted);
  g_assert_cmpstr (row->notes, ==, "worth keeping");
  op = only_op (f, TANDEM_OP_RESTORE);
  g_assert_cmpint (op->base_rev, ==, 2);
  g_assert_cmpstr (json_object_get_string_member (op->patch, "notes"), ==, "worth keeping");
}

/* A question about a title is open, and the user deletes the task before
 * answering: the question becomes "deleted here, edited there" (keep it
 * deleted, or take the other device's version), never a choice of values
 * for the tombstone, which merges by itself. Restoring it again brings the
 * title question back. */
static void
test_delete_while_edit_question_open (Fixture       *f,
                                      gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f, "Draft", "");
  g_autoptr(TandemTask) server = acknowledge_all (f, 1);
  g_autoptr(TandemTask) remote = NULL;
  g_autoptr(TandemTask) row = NULL;
  g_autoptr(GError) error = NULL;
  TandemPushSummary summary;

  edit (f, task->id, "title", "Draft here");
  remote = server_version (server, 2, FALSE, "Draft there");
  summary = answer_conflict (f, remote);
  g_assert_cmpuint (summary.conflicts, ==, 1);

  g_assert_true (tandem_store_delete_task (f->store, task->id, &error));
  g_assert_no_error (error);
  {
    g_autoptr(GPtrArray) conflicts = tandem_store_list_conflicts (f->store, &error);
    TandemConflict *conflict;

    g_assert_no_error (error);
    g_assert_cmpuint (conflicts->len, ==, 1);
    conflict = g_ptr_array_index (conflicts, 0);
    g_assert_cmpint (conflict->kind, ==, TANDEM_CONFLICT_DELETE_VS_EDIT);
    g_assert_cmpint (conflict->merge->kind, ==, TANDEM_CONFLICT_DELETE_VS_EDIT);
  }

  g_assert_true (tandem_store_restore_task (f->store, task->id, &error));
  g_assert_no_error (error);
  {
    g_autoptr(TandemConflict) conflict = tandem_store_get_conflict (f->store, task->id, &error);

    g_assert_no_error (error);
    g_assert_cmpint (conflict->kind, ==, TANDEM_CONFLICT_EDIT);
    g_assert_cmpuint (conflict->merge->conflicts->len, ==, 1);
    g_assert_cmpint (((TandemFieldConflict *) g_ptr_array_index (conflict->merge->conflicts, 0))->field,
                     ==, TANDEM_FIELD_TITLE);
  }

  /* Deleted again and answered "keep it deleted": one delete goes out on
   * the other device's revision. */
  g_assert_true (tandem_store_delete_task (f->store, task->id, &error));
  g_assert_true (tandem_store_resolve_conflict (f->store, task->id, TANDEM_RESOLUTION_LOCAL, NULL,
                                                &error));
  g_assert_no_error (error);
  row = get (f, task->id);
  g_assert_true (row->deleted);
  {
    g_autoptr(TandemOp) op = only_op (f, TANDEM_OP_DELETE);

    g_assert_cmpint (op->base_rev, ==, 2);
  }
}

/* Deleted here, renamed on another device: "deleted here, edited there"
 * is asked. The user restores the task instead of answering: that is the
 * answer. Nothing else collides, so the question goes, the other device's
 * title shows, and nothing of the delete is left to go out. */
static void
test_restore_answers_delete_question (Fixture       *f,
                                      gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f, "Errand", "");
  g_autoptr(TandemTask) server = acknowledge_all (f, 1);
  g_autoptr(TandemTask) remote = NULL;
  g_autoptr(TandemTask) row = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GError) error = NULL;
  TandemPushSummary summary;

  g_assert_true (tandem_store_delete_task (f->store, task->id, &error));
  remote = server_version (server, 2, FALSE, "Errand, renamed");
  summary = answer_conflict (f, remote);
  g_assert_cmpuint (summary.conflicts, ==, 1);
  {
    g_autoptr(TandemConflict) conflict = tandem_store_get_conflict (f->store, task->id, &error);

    g_assert_no_error (error);
    g_assert_cmpint (conflict->kind, ==, TANDEM_CONFLICT_DELETE_VS_EDIT);
  }

  g_assert_true (tandem_store_restore_task (f->store, task->id, &error));
  g_assert_no_error (error);
  g_assert_null (tandem_store_get_conflict (f->store, task->id, NULL));
  row = get (f, task->id);
  g_assert_false (row->deleted);
  g_assert_cmpstr (row->title, ==, "Errand, renamed");
  ops = outbox (f);
  for (guint i = 0; i < ops->len; i++)
    g_assert_cmpint (((TandemOp *) g_ptr_array_index (ops, i))->kind, !=, TANDEM_OP_DELETE);
}

/* This device edited a task, deleted it and restored it, all before it
 * heard that another device deleted it. The 409 comes back for the edit,
 * the first op queued, not for the restore: the restore undid this
 * device's own delete, not the other device's, so the edit meets that
 * delete and the user is asked. Sending the restore again on the newest
 * tombstone would bring the task back without a question. */
static void
test_restore_of_own_delete_meets_newer_delete (Fixture       *f,
                                               gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f, "Mine", "");
  g_autoptr(TandemTask) server = acknowledge_all (f, 1);
  g_autoptr(TandemTask) remote = NULL;
  g_autoptr(TandemConflict) conflict = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GError) error = NULL;
  TandemPushSummary summary;

  edit (f, task->id, "title", "Mine, edited");
  g_assert_true (tandem_store_delete_task (f->store, task->id, &error));
  g_assert_true (tandem_store_restore_task (f->store, task->id, &error));
  g_assert_no_error (error);

  /* The other device's delete, read before the ops went out. */
  remote = server_version (server, 2, TRUE, NULL);
  pull_one (f, remote, "cursor-2");

  summary = answer_conflict (f, remote);
  g_assert_cmpuint (summary.conflicts, ==, 1);
  g_assert_cmpuint (summary.merged, ==, 0);
  conflict = tandem_store_get_conflict (f->store, task->id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (conflict->kind, ==, TANDEM_CONFLICT_EDIT_VS_DELETE);

  /* Nothing goes out until the user answers. */
  ops = tandem_store_outbox_next_batch (f->store, 500, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < ops->len; i++)
    g_assert_cmpstr (((TandemOp *) g_ptr_array_index (ops, i))->entity_id, !=, task->id);
}

/* "Restore with my edits" answers the title shown next to the deleted
 * version: when the restore meets a newer revision (restored and edited
 * elsewhere meanwhile), the title kept goes out against the title the user
 * saw without asking again; a title changed after that asks again. */
static void
test_restore_keeps_answered_title (Fixture       *f,
                                   gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f, "Plan", "");
  g_autoptr(TandemTask) server = acknowledge_all (f, 1);
  g_autoptr(TandemTask) deleted = NULL;
  g_autoptr(TandemTask) restored = NULL;
  g_autoptr(TandemTask) renamed = NULL;
  g_autoptr(TandemTask) row = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GError) error = NULL;
  TandemPushSummary summary;
  g_autoptr(TandemOp) op = NULL;

  edit (f, task->id, "title", "Plan here");
  deleted = server_version (server, 2, TRUE, "Plan there");

  summary = answer_conflict (f, deleted);
  g_assert_cmpuint (summary.conflicts, ==, 1);
  {
    g_autoptr(TandemConflict) conflict = tandem_store_get_conflict (f->store, task->id, &error);
    gboolean title_asked = FALSE;

    g_assert_no_error (error);
    g_assert_cmpint (conflict->kind, ==, TANDEM_CONFLICT_EDIT_VS_DELETE);
    for (guint i = 0; i < conflict->merge->conflicts->len; i++)
      {
        const TandemFieldConflict *c = g_ptr_array_index (conflict->merge->conflicts, i);

        if (c->field != TANDEM_FIELD_TITLE)
          continue;
        title_asked = TRUE;
        g_assert_cmpstr (json_node_get_string (c->local), ==, "Plan here");
        g_assert_cmpstr (json_node_get_string (c->remote), ==, "Plan there");
      }
    g_assert_true (title_asked);
  }
  g_assert_true (tandem_store_resolve_conflict (f->store, task->id, TANDEM_RESOLUTION_LOCAL, NULL,
                                                &error));
  g_assert_no_error (error);

  /* Meanwhile another device restored it and wrote notes: revision 4. */
  restored = tandem_task_copy (deleted);
  restored->rev = 4;
  restored->deleted = FALSE;
  g_free (restored->notes);
  restored->notes = g_strdup ("written there\n");
  summary = answer_conflict (f, restored);
  g_assert_cmpuint (summary.conflicts, ==, 0);
  g_assert_cmpuint (summary.merged, ==, 1);
  g_assert_null (tandem_store_get_conflict (f->store, task->id, NULL));
  op = only_op (f, TANDEM_OP_UPDATE);
  g_assert_cmpint (op->base_rev, ==, 4);
  g_assert_cmpstr (json_object_get_string_member (op->patch, "title"), ==, "Plan here");
  g_assert_cmpstr (json_object_get_string_member (op->base, "title"), ==, "Plan there");
  g_assert_false (json_object_has_member (op->patch, "notes"));
  row = get (f, task->id);
  g_assert_cmpstr (row->title, ==, "Plan here");
  g_assert_cmpstr (row->notes, ==, "written there\n");

  /* The title changed once more there before that update arrived: ask. */
  renamed = tandem_task_copy (restored);
  renamed->rev = 5;
  g_free (renamed->title);
  renamed->title = g_strdup ("Plan, third");
  summary = answer_conflict (f, renamed);
  g_assert_cmpuint (summary.conflicts, ==, 1);
  {
    g_autoptr(TandemConflict) conflict = tandem_store_get_conflict (f->store, task->id, &error);
    const TandemFieldConflict *c;

    g_assert_no_error (error);
    g_assert_cmpint (conflict->kind, ==, TANDEM_CONFLICT_EDIT);
    g_assert_cmpuint (conflict->merge->conflicts->len, ==, 1);
    c = g_ptr_array_index (conflict->merge->conflicts, 0);
    g_assert_cmpint (c->field, ==, TANDEM_FIELD_TITLE);
    g_assert_cmpstr (json_node_get_string (c->base), ==, "Plan there");
    g_assert_cmpstr (json_node_get_string (c->local), ==, "Plan here");
    g_assert_cmpstr (json_node_get_string (c->remote), ==, "Plan, third");
  }
}

/* This device deleted a task, read another device's new title for it
 * (its row, in the Trash, follows the server), restored it and commented,
 * all before its ops went out; meanwhile a third device renamed it again.
 * The titles that collide are both from elsewhere: the title this device
 * saw when deleting is no edit of its own once the delete is undone, so
 * the 409 merges by itself, without a question about nothing. */
static void
test_undone_delete_claims_no_field (Fixture       *f,
                                 gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f, "Plan", "");
  g_autoptr(TandemTask) server = acknowledge_all (f, 1);
  g_autoptr(TandemTask) renamed = NULL;
  g_autoptr(TandemTask) remote = NULL;
  g_autoptr(TandemTask) row = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *comment_id = NULL;
  TandemPushSummary summary;
  g_autoptr(TandemOp) op = NULL;

  g_assert_true (tandem_store_delete_task (f->store, task->id, &error));
  g_assert_no_error (error);
  renamed = server_version (server, 2, FALSE, "Plan, second");
  pull_one (f, renamed, "cursor-2");
  g_assert_true (tandem_store_restore_task (f->store, task->id, &error));
  g_assert_no_error (error);
  comment_id = tandem_store_add_comment (f->store, task->id, "still on", &error);
  g_assert_no_error (error);

  /* The delete, first in the outbox, meets revision 3. */
  remote = tandem_task_copy (renamed);
  remote->rev = 3;
  g_free (remote->title);
  remote->title = g_strdup ("Plan, third");
  summary = answer_conflict (f, remote);
  g_assert_cmpuint (summary.conflicts, ==, 0);
  g_assert_cmpuint (summary.merged, ==, 1);
  g_assert_null (tandem_store_get_conflict (f->store, task->id, NULL));

  row = get (f, task->id);
  g_assert_false (row->deleted);
  g_assert_cmpstr (row->title, ==, "Plan, third");
  g_assert_cmpint (row->rev, ==, 3);
  /* Only the comment goes out: the delete and the restore cancel out. */
  op = only_op (f, TANDEM_OP_COMMENT_ADD);
  g_assert_cmpstr (json_object_get_string_member (op->patch, "comment_id"), ==, comment_id);
}

/* This device deleted a task, then read another device's new title for it
 * (the row, in the Trash, follows the server) before its delete went out;
 * meanwhile a third device renamed it again. The title this device holds
 * came from elsewhere: it is no edit of its own, so it collides with
 * nothing. When the third device also deleted the task, the 409 merges
 * (deleted on both sides) without a question; when it did not, the
 * question is only the delete's. */
static void
test_pulled_title_under_delete_claims_nothing (Fixture       *f,
                                               gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f, "Plan", "");
  g_autoptr(TandemTask) server = acknowledge_all (f, 1);
  g_autoptr(TandemTask) renamed = NULL;
  g_autoptr(TandemTask) row = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GError) error = NULL;
  gboolean deleted_there = GPOINTER_TO_INT (data);
  g_autoptr(TandemTask) remote = NULL;
  TandemPushSummary summary;

  g_assert_true (tandem_store_delete_task (f->store, task->id, &error));
  g_assert_no_error (error);
  renamed = server_version (server, 2, FALSE, "Plan, second");
  pull_one (f, renamed, "cursor-2");
  row = get (f, task->id);
  g_assert_true (row->deleted);
  g_assert_cmpstr (row->title, ==, "Plan, second");
  g_clear_pointer (&row, tandem_task_free);

  remote = server_version (renamed, 3, deleted_there, "Plan, third");
  summary = answer_conflict (f, remote);
  if (deleted_there)
    {
      g_assert_cmpuint (summary.conflicts, ==, 0);
      g_assert_cmpuint (summary.merged, ==, 1);
      g_assert_null (tandem_store_get_conflict (f->store, task->id, NULL));
      ops = outbox (f);
      g_assert_cmpuint (ops->len, ==, 0);
      row = get (f, task->id);
      g_assert_true (row->deleted);
      g_assert_cmpstr (row->title, ==, "Plan, third");
      g_assert_cmpint (row->rev, ==, 3);
      g_assert_cmpint (row->sync_status, ==, TANDEM_SYNC_SYNCED);
    }
  else
    {
      g_autoptr(TandemConflict) conflict = NULL;
      g_autoptr(TandemOp) op = NULL;
      TandemFieldConflict *c;

      g_assert_cmpuint (summary.conflicts, ==, 1);
      conflict = tandem_store_get_conflict (f->store, task->id, &error);
      g_assert_no_error (error);
      g_assert_cmpint (conflict->kind, ==, TANDEM_CONFLICT_DELETE_VS_EDIT);
      g_assert_cmpuint (conflict->merge->conflicts->len, ==, 1);
      c = g_ptr_array_index (conflict->merge->conflicts, 0);
      g_assert_cmpint (c->field, ==, TANDEM_FIELD_DELETED);
      /* "Delete anyway" sends the delete on the newest revision. */
      g_assert_true (tandem_store_resolve_conflict (f->store, task->id, TANDEM_RESOLUTION_LOCAL,
                                                    NULL, &error));
      g_assert_no_error (error);
      op = only_op (f, TANDEM_OP_DELETE);
      g_assert_cmpint (op->base_rev, ==, 3);
    }
}

/* A notes question is open when the other device's notes change again, now
 * on a line apart from the one edited here: the pull leaves nothing to ask,
 * so the edits merge by themselves and one update goes out on the newest
 * revision, instead of a question without a colliding field. */
static void
test_question_gone_after_pull_merges (Fixture       *f,
                                      gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f, "Trip", "day 1\nday 2\n");
  g_autoptr(TandemTask) server = acknowledge_all (f, 1);
  g_autoptr(TandemTask) remote = NULL;
  g_autoptr(TandemTask) row = NULL;
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(GError) error = NULL;
  TandemPushSummary summary;
  g_autoptr(TandemOp) op = NULL;
  gboolean merged_line = FALSE;

  edit (f, task->id, "notes", "day 1 (museum)\nday 2\n");
  remote = server_version (server, 2, FALSE, NULL);
  g_free (remote->notes);
  remote->notes = g_strdup ("day 1 (beach)\nday 2\n");
  summary = answer_conflict (f, remote);
  g_assert_cmpuint (summary.conflicts, ==, 1);

  /* There, the first line went back and a third one came. */
  remote->rev = 3;
  g_free (remote->notes);
  remote->notes = g_strdup ("day 1\nday 2\nday 3\n");
  pull_one (f, remote, "cursor-3");

  g_assert_null (tandem_store_get_conflict (f->store, task->id, NULL));
  row = get (f, task->id);
  g_assert_cmpstr (row->notes, ==, "day 1 (museum)\nday 2\nday 3\n");
  g_assert_cmpint (row->sync_status, ==, TANDEM_SYNC_PENDING);
  op = only_op (f, TANDEM_OP_UPDATE);
  g_assert_cmpint (op->base_rev, ==, 3);
  g_assert_cmpstr (json_object_get_string_member (op->patch, "notes"), ==,
                   "day 1 (museum)\nday 2\nday 3\n");
  history = tandem_store_get_history (f->store, task->id, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < history->len; i++)
    merged_line |= g_strcmp0 (((TandemHistoryEntry *) g_ptr_array_index (history, i))->note,
                              "notes merged with a change from another device") == 0;
  g_assert_true (merged_line);
}

/* Another device renamed a task and then deleted it while this device,
 * which never heard of the new title, edited its notes. "Restore with my
 * edits" restores the notes written here; the title, which only the other
 * device changed and the question did not show, keeps that device's value
 * instead of going out as this device's older copy. */
static void
test_restore_with_my_edits_keeps_their_title (Fixture       *f,
                                              gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f, "Plan", "");
  g_autoptr(TandemTask) server = acknowledge_all (f, 1);
  g_autoptr(TandemTask) deleted = NULL;
  g_autoptr(TandemTask) row = NULL;
  g_autoptr(GError) error = NULL;
  TandemPushSummary summary;
  g_autoptr(TandemOp) op = NULL;

  edit (f, task->id, "notes", "written here\n");
  deleted = server_version (server, 3, TRUE, "Plan there");

  summary = answer_conflict (f, deleted);
  g_assert_cmpuint (summary.conflicts, ==, 1);
  {
    g_autoptr(TandemConflict) conflict = tandem_store_get_conflict (f->store, task->id, &error);

    g_assert_no_error (error);
    g_assert_cmpint (conflict->kind, ==, TANDEM_CONFLICT_EDIT_VS_DELETE);
    for (guint i = 0; i < conflict->merge->conflicts->len; i++)
      g_assert_cmpint (((TandemFieldConflict *) g_ptr_array_index (conflict->merge->conflicts, i))->field,
                       !=, TANDEM_FIELD_TITLE);
  }
  g_assert_true (tandem_store_resolve_conflict (f->store, task->id, TANDEM_RESOLUTION_LOCAL, NULL,
                                                &error));
  g_assert_no_error (error);

  op = only_op (f, TANDEM_OP_RESTORE);
  g_assert_cmpint (op->base_rev, ==, 3);
  g_assert_cmpstr (json_object_get_string_member (op->patch, "notes"), ==, "written here\n");
  g_assert_false (json_object_has_member (op->patch, "title"));
  row = get (f, task->id);
  g_assert_false (row->deleted);
  g_assert_cmpstr (row->title, ==, "Plan there");
  g_assert_cmpstr (row->notes, ==, "written here\n");
}

static void
test_discard_takes_tombstone (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f, "Let go", "");
  g_autoptr(TandemTask) server = acknowledge_all (f, 1);
  g_autoptr(TandemTask) remote = NULL;
  g_autoptr(TandemTask) row = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GError) error = NULL;

  edit (f, task->id, "title", "Let go, edited");
  remote = server_version (server, 2, TRUE, NULL);
  answer_conflict (f, remote);

  g_assert_true (tandem_store_resolve_conflict (f->store, task->id, TANDEM_RESOLUTION_REMOTE, NULL,
                                                &error));
  g_assert_no_error (error);
  row = get (f, task->id);
  g_assert_true (row->deleted);
  g_assert_cmpint (row->sync_status, ==, TANDEM_SYNC_SYNCED);
  ops = outbox (f);
  g_assert_cmpuint (ops->len, ==, 0);
}

static void
test_pull_rebases_pending (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f, "Pulled", "");
  g_autoptr(TandemTask) server = acknowledge_all (f, 1);
  g_autoptr(TandemTask) remote = NULL;
  g_autoptr(TandemTask) row = NULL;
  g_autoptr(GPtrArray) ops_before = NULL;
  g_autoptr(GPtrArray) ops_after = NULL;
  g_autofree char *cursor = NULL;

  /* A pending local edit, then a pulled change to another field. */
  edit (f, task->id, "title", "Pulled here");
  ops_before = outbox (f);
  remote = server_version (server, 2, FALSE, NULL);
  remote->priority = 3;
  pull_one (f, remote, "cursor-2");

  row = get (f, task->id);
  g_assert_cmpstr (row->title, ==, "Pulled here");   /* the local edit stays on top */
  g_assert_cmpint (row->priority, ==, 3);            /* the remote change shows */
  g_assert_cmpint (row->rev, ==, 2);
  g_assert_cmpint (row->sync_status, ==, TANDEM_SYNC_PENDING);

  /* A pull never rewrites a pending op. */
  ops_after = outbox (f);
  g_assert_cmpuint (ops_after->len, ==, 1);
  g_assert_cmpint (((TandemOp *) g_ptr_array_index (ops_after, 0))->base_rev, ==,
                   ((TandemOp *) g_ptr_array_index (ops_before, 0))->base_rev);
  g_assert_cmpstr (json_object_get_string_member (((TandemOp *) g_ptr_array_index (ops_after, 0))->base,
                                                  "title"), ==, "Pulled");

  cursor = tandem_store_get_setting (f->store, "cursor");
  g_assert_cmpstr (cursor, ==, "cursor-2");

  /* The same page again (a crash before the next one) changes nothing. */
  pull_one (f, remote, "cursor-2");
  g_clear_pointer (&row, tandem_task_free);
  row = get (f, task->id);
  g_assert_cmpstr (row->title, ==, "Pulled here");
}

static void
test_pull_new_and_tombstone (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(TandemTask) remote = tandem_task_new ();
  g_autoptr(TandemTask) row = NULL;
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_record_free);
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) error = NULL;

  remote->id = g_uuid_string_random ();
  g_free (remote->title);
  remote->title = g_strdup ("From elsewhere");
  g_free (remote->position);
  remote->position = g_strdup ("V");
  remote->rev = 1;
  g_ptr_array_add (records, tandem_record_new_task (tandem_task_copy (remote)));
  g_assert_true (tandem_store_apply_changes (f->store, records, "c1", NULL, &error));
  g_assert_no_error (error);
  row = get (f, remote->id);
  g_assert_cmpint (row->sync_status, ==, TANDEM_SYNC_SYNCED);
  history = tandem_store_get_history (f->store, remote->id, NULL);
  g_assert_cmpstr (((TandemHistoryEntry *) g_ptr_array_index (history, 0))->note, ==,
                   "created on another device");

  /* Deleted elsewhere: to the Trash, not resurrected by a later old page. */
  g_ptr_array_set_size (records, 0);
  remote->rev = 2;
  remote->deleted = TRUE;
  g_ptr_array_add (records, tandem_record_new_task (tandem_task_copy (remote)));
  g_assert_true (tandem_store_apply_changes (f->store, records, "c2", NULL, &error));
  g_ptr_array_set_size (records, 0);
  remote->rev = 1;
  remote->deleted = FALSE;
  g_ptr_array_add (records, tandem_record_new_task (tandem_task_copy (remote)));
  g_assert_true (tandem_store_apply_changes (f->store, records, "c1", NULL, &error));
  g_clear_pointer (&row, tandem_task_free);
  row = get (f, remote->id);
  g_assert_true (row->deleted);

  /* A full resync that no longer returns it: the purged tombstone goes. */
  g_assert_true (tandem_store_forget_unseen (f->store, seen, &error));
  g_assert_no_error (error);
  g_assert_null (tandem_store_get_task (f->store, remote->id, NULL));
}

static void
test_invalid_parks_and_counts (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f, "Refused", "");
  g_autoptr(GPtrArray) ops = outbox (f);
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_push_result_free);
  g_autoptr(GPtrArray) batch = NULL;
  g_autoptr(TandemTask) row = NULL;
  TandemPushResult *result = tandem_push_result_new ();
  TandemPushSummary summary = { 0 };
  guint pending, parked, conflicts;

  result->op_id = g_strdup (((TandemOp *) g_ptr_array_index (ops, 0))->op_id);
  result->status = 422;
  result->type = g_strdup ("invalid");
  result->error = g_strdup ("patch.title: too long");
  g_ptr_array_add (results, result);
  g_assert_true (tandem_store_apply_push_results (f->store, results, &summary, NULL));
  g_assert_cmpuint (summary.parked, ==, 1);

  row = get (f, task->id);
  g_assert_cmpint (row->sync_status, ==, TANDEM_SYNC_ERROR);
  batch = tandem_store_outbox_next_batch (f->store, 10, NULL);
  g_assert_cmpuint (batch->len, ==, 0);
  g_assert_true (tandem_store_get_sync_counts (f->store, &pending, &parked, &conflicts, NULL));
  g_assert_cmpuint (pending, ==, 0);
  g_assert_cmpuint (parked, ==, 1);
  g_assert_cmpuint (conflicts, ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/store-sync/ack-makes-synced", test_ack_makes_synced);
  ADD ("/store-sync/clean-conflict-merges", test_clean_conflict_merges);
  ADD ("/store-sync/same-title-needs-review-then-resolve", test_same_title_needs_review_then_resolve);
  ADD ("/store-sync/edit-vs-delete-restore", test_edit_vs_delete_restore_or_discard);
  ADD ("/store-sync/restore-keeps-answered-title", test_restore_keeps_answered_title);
  ADD ("/store-sync/delete-while-edit-question-open", test_delete_while_edit_question_open);
  ADD ("/store-sync/restore-answers-delete-question", test_restore_answers_delete_question);
  ADD ("/store-sync/restore-of-own-delete-meets-newer-delete",
       test_restore_of_own_delete_meets_newer_delete);
  ADD ("/store-sync/undone-delete-claims-no-field", test_undone_delete_claims_no_field);
  ADD ("/store-sync/question-gone-after-pull-merges", test_question_gone_after_pull_merges);
  g_test_add ("/store-sync/pulled-title-under-delete/deleted-there", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_pulled_title_under_delete_claims_nothing, fixture_teardown);
  g_test_add ("/store-sync/pulled-title-under-delete/edited-there", Fixture, GINT_TO_POINTER (FALSE),
              fixture_setup, test_pulled_title_under_delete_claims_nothing, fixture_teardown);
  ADD ("/store-sync/restore-with-my-edits-keeps-their-title",
       test_restore_with_my_edits_keeps_their_title);
  ADD ("/store-sync/discard-takes-tombstone", test_discard_takes_tombstone);
  ADD ("/store-sync/pull-rebases-pending", test_pull_rebases_pending);
  ADD ("/store-sync/pull-new-and-tombstone", test_pull_new_and_tombstone);
  ADD ("/store-sync/invalid-parks-and-counts", test_invalid_parks_and_counts);

  return g_test_run ();
}
