/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "tandem-store.h"

typedef struct
{
  char        *dir;
  char        *path;
  TandemStore *store;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("tandem-store-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "tandem.db", NULL);
  f->store = tandem_store_open (f->path, &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  while (handle && (name = g_dir_read_name (handle)))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        remove_tree (path);
      else
        g_unlink (path);
    }
  g_rmdir (dir);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->store);
  remove_tree (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

static TandemTask *
create (TandemStore *store,
        const char  *title)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemTask) draft = tandem_task_new ();
  TandemTask *task;

  g_free (draft->title);
  draft->title = g_strdup (title);
  task = tandem_store_create_task (store, draft, &error);
  g_assert_no_error (error);
  g_assert_nonnull (task);
  return task;
}

static GPtrArray *
outbox (TandemStore *store)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *ops = tandem_store_outbox_list (store, 0, &error);

  g_assert_no_error (error);
  return ops;
}

static TandemTask *
get (TandemStore *store,
     const char  *id)
{
  g_autoptr(GError) error = NULL;
  TandemTask *task = tandem_store_get_task (store, id, &error);

  g_assert_no_error (error);
  return task;
}

static char *
object_text (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, node);
  return json_generator_to_data (generator, NULL);
}

static void
edit (TandemStore *store,
      const char  *id,
      const char  *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));
  g_assert_true (tandem_store_update_task (store, id,
                                           json_node_get_object (json_parser_get_root (parser)),
                                           &error));
  g_assert_no_error (error);
}

static void
mark_all_sent (TandemStore *store)
{
  g_autoptr(GPtrArray) ops = outbox (store);
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < ops->len; i++)
    g_ptr_array_add (ids, ((TandemOp *) g_ptr_array_index (ops, i))->op_id);
  g_ptr_array_add (ids, NULL);
  g_assert_true (tandem_store_outbox_mark_sent (store, (const char *const *) ids->pdata, &error));
  g_assert_no_error (error);
}

static void
test_create_writes_row_and_op (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemTask) draft = tandem_task_new ();
  g_autoptr(TandemTask) task = NULL;
  g_autoptr(TandemTask) stored = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  TandemOp *op;

  g_free (draft->title);
  draft->title = g_strdup ("Buy milk");
  draft->due = g_strdup ("2026-12-01");
  draft->priority = 2;
  tandem_task_add_tag (draft, "home");
  task = tandem_store_create_task (f->store, draft, &error);
  g_assert_no_error (error);
  g_assert_true (g_uuid_string_is_valid (task->id));

  stored = get (f->store, task->id);
  g_assert_cmpstr (stored->title, ==, "Buy milk");
  g_assert_cmpstr (stored->due, ==, "2026-12-01");
  g_assert_cmpint (stored->priority, ==, 2);
  g_assert_cmpint (stored->sync_status, ==, TANDEM_SYNC_PENDING);
  g_assert_cmpint (stored->rev, ==, 0);
  g_assert_true (tandem_task_has_tag (stored, "home"));

  ops = outbox (f->store);
  g_assert_cmpuint (ops->len, ==, 1);
  op = g_ptr_array_index (ops, 0);
  g_assert_cmpint (op->kind, ==, TANDEM_OP_CREATE);
  g_assert_cmpstr (op->entity_id, ==, task->id);
  g_assert_cmpint (op->base_rev, ==, 0);
  g_assert_cmpuint (json_object_get_size (op->base), ==, 0);
  g_assert_cmpstr (json_object_get_string_member (op->patch, "title"), ==, "Buy milk");
  g_assert_cmpint (json_object_get_int_member (op->patch, "priority"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (op->patch, "position"), ==, stored->position);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (op->patch, "tags")), ==, 1);
  g_assert_true (g_uuid_string_is_valid (op->op_id));
}

static void
test_bad_input_writes_nothing (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f->store, "Plan trip");
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(GPtrArray) history_before = NULL;
  g_autoptr(GPtrArray) history_after = NULL;
  g_autoptr(TandemTask) stored = NULL;
  g_autoptr(TandemTask) draft = tandem_task_new ();
  g_autoptr(JsonObject) changes = json_object_new ();
  g_autoptr(GError) error = NULL;
  const char *bad_tags[] = { "ok", "two words", NULL };

  mark_all_sent (f->store);
  before = outbox (f->store);
  history_before = tandem_store_get_history (f->store, task->id, NULL);

  /* A valid title and an invalid priority in one change: neither lands. */
  json_object_set_string_member (changes, "title", "Plan the trip");
  json_object_set_int_member (changes, "priority", 7);
  g_assert_false (tandem_store_update_task (f->store, task->id, changes, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "priority"));
  g_clear_error (&error);

  g_assert_false (tandem_store_change_tags (f->store, task->id, bad_tags, NULL, &error));
  g_assert_nonnull (strstr (error->message, "two words"));
  g_clear_error (&error);

  g_assert_false (tandem_store_update_task (f->store, "0b6f4c52-1f0e-4d7a-9a55-2f7c1e8b3d10",
                                            changes, &error));
  g_assert_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_free (draft->title);
  draft->title = g_strdup ("   ");
  g_assert_null (tandem_store_create_task (f->store, draft, &error));
  g_assert_nonnull (strstr (error->message, "title"));
  g_clear_error (&error);

  g_free (draft->title);
  draft->title = g_strdup ("Fine");
  draft->list_id = g_strdup ("0b6f4c52-1f0e-4d7a-9a55-2f7c1e8b3d10");
  g_assert_null (tandem_store_create_task (f->store, draft, &error));
  g_assert_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_null (tandem_store_add_comment (f->store, task->id, "  ", &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  after = outbox (f->store);
  history_after = tandem_store_get_history (f->store, task->id, NULL);
  g_assert_cmpuint (after->len, ==, before->len);
  g_assert_cmpuint (history_after->len, ==, history_before->len);
  stored = get (f->store, task->id);
  g_assert_cmpstr (stored->title, ==, "Plan trip");
  g_assert_cmpint (stored->priority, ==, 0);
  g_assert_cmpuint (stored->tags->len, ==, 0);
  g_assert_cmpuint (stored->comments->len, ==, 0);
  {
    g_autoptr(GPtrArray) all = tandem_store_list_tasks (f->store, TANDEM_TASK_QUERY_ALL, NULL);
    g_assert_cmpuint (all->len, ==, 1);
  }
}

static void
test_unsent_ops_coalesce (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f->store, "Draft");
  g_autoptr(GPtrArray) ops = NULL;
  TandemOp *op;

  /* An unsent create takes later edits into its own patch. */
  edit (f->store, task->id, "{\"title\": \"Draft 2\", \"priority\": 1}");
  {
    const char *add[] = { "work", NULL };
    g_assert_true (tandem_store_change_tags (f->store, task->id, add, NULL, NULL));
  }
  ops = outbox (f->store);
  g_assert_cmpuint (ops->len, ==, 1);
  op = g_ptr_array_index (ops, 0);
  g_assert_cmpint (op->kind, ==, TANDEM_OP_CREATE);
  g_assert_cmpstr (json_object_get_string_member (op->patch, "title"), ==, "Draft 2");
  g_assert_cmpint (json_object_get_int_member (op->patch, "priority"), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (op->patch, "tags"), 0),
                   ==, "work");
  g_clear_pointer (&ops, g_ptr_array_unref);

  /* Once sent, the create is frozen; edits on the same field make one
   * update that keeps the value from before the first of them. */
  mark_all_sent (f->store);
  edit (f->store, task->id, "{\"title\": \"Draft 3\"}");
  edit (f->store, task->id, "{\"title\": \"Draft 4\", \"done\": true}");
  ops = outbox (f->store);
  g_assert_cmpuint (ops->len, ==, 2);
  op = g_ptr_array_index (ops, 1);
  g_assert_cmpint (op->kind, ==, TANDEM_OP_UPDATE);
  g_assert_cmpstr (json_object_get_string_member (op->patch, "title"), ==, "Draft 4");
  g_assert_cmpstr (json_object_get_string_member (op->base, "title"), ==, "Draft 2");
  g_assert_true (json_object_get_boolean_member (op->patch, "done"));
  g_assert_false (json_object_get_boolean_member (op->base, "done"));
  g_clear_pointer (&ops, g_ptr_array_unref);

  /* Editing back to the base value drops the field, then the whole op. */
  edit (f->store, task->id, "{\"done\": false}");
  ops = outbox (f->store);
  op = g_ptr_array_index (ops, 1);
  g_assert_false (json_object_has_member (op->patch, "done"));
  g_clear_pointer (&ops, g_ptr_array_unref);
  edit (f->store, task->id, "{\"title\": \"Draft 2\"}");
  ops = outbox (f->store);
  g_assert_cmpuint (ops->len, ==, 1);
}

static void
test_frozen_ops_never_change (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f->store, "Frozen");
  g_autoptr(GPtrArray) sent = NULL;
  g_autoptr(GPtrArray) later = NULL;
  const char *add[] = { "x", NULL };

  edit (f->store, task->id, "{\"notes\": \"one\"}");
  mark_all_sent (f->store);
  sent = outbox (f->store);

  edit (f->store, task->id, "{\"notes\": \"two\", \"title\": \"Thawed?\"}");
  g_assert_true (tandem_store_change_tags (f->store, task->id, add, NULL, NULL));
  later = outbox (f->store);

  g_assert_cmpuint (later->len, ==, sent->len + 2);
  for (guint i = 0; i < sent->len; i++)
    {
      TandemOp *a = g_ptr_array_index (sent, i);
      TandemOp *b = g_ptr_array_index (later, i);
      g_autofree char *patch_a = object_text (a->patch);
      g_autofree char *patch_b = object_text (b->patch);
      g_autofree char *base_a = object_text (a->base);
      g_autofree char *base_b = object_text (b->base);

      g_assert_cmpstr (a->op_id, ==, b->op_id);
      g_assert_cmpint (b->state, ==, TANDEM_OP_STATE_SENT);
      g_assert_cmpstr (patch_a, ==, patch_b);
      g_assert_cmpstr (base_a, ==, base_b);
      g_assert_cmpint (a->base_rev, ==, b->base_rev);
    }
}

static void
test_noop_change_writes_nothing (Fixture       *f,
                                 gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f->store, "Same");
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GPtrArray) history = NULL;
  const char *add[] = { "a", NULL };
  const char *remove[] = { "missing", NULL };

  mark_all_sent (f->store);
  edit (f->store, task->id, "{\"title\": \"Same\", \"done\": false, \"due\": null}");
  g_assert_true (tandem_store_change_tags (f->store, task->id, NULL, remove, NULL));
  ops = outbox (f->store);
  g_assert_cmpuint (ops->len, ==, 1);
  history = tandem_store_get_history (f->store, task->id, NULL);
  g_assert_cmpuint (history->len, ==, 1);

  /* Adding a present tag is nothing too. */
  g_assert_true (tandem_store_change_tags (f->store, task->id, add, NULL, NULL));
  g_assert_true (tandem_store_change_tags (f->store, task->id, add, NULL, NULL));
  g_clear_pointer (&ops, g_ptr_array_unref);
  ops = outbox (f->store);
  g_assert_cmpuint (ops->len, ==, 2);
}

static void
test_tags_delete_restore_comment (Fixture       *f,
                                  gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f->store, "Tags");
  g_autoptr(TandemTask) stored = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *comment_id = NULL;
  const char *add[] = { "b", "a", NULL };
  const char *remove[] = { "b", NULL };

  mark_all_sent (f->store);
  g_assert_true (tandem_store_change_tags (f->store, task->id, add, remove, &error));
  g_assert_no_error (error);
  stored = get (f->store, task->id);
  g_assert_cmpuint (stored->tags->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (stored->tags, 0), ==, "a");
  g_clear_pointer (&stored, tandem_task_free);

  comment_id = tandem_store_add_comment (f->store, task->id, "Called the shop", &error);
  g_assert_no_error (error);
  g_assert_true (tandem_store_delete_task (f->store, task->id, &error));
  g_assert_no_error (error);

  /* A deleted task is not edited, and not deleted twice. */
  g_assert_false (tandem_store_delete_task (f->store, task->id, &error));
  g_assert_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (tandem_store_add_comment (f->store, task->id, "late", &error));
  g_assert_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_INVALID);
  g_clear_error (&error);
  {
    g_autoptr(GPtrArray) live = tandem_store_list_tasks (f->store, TANDEM_TASK_QUERY_LIVE, NULL);
    g_autoptr(GPtrArray) trash = tandem_store_list_tasks (f->store, TANDEM_TASK_QUERY_DELETED, NULL);
    g_assert_cmpuint (live->len, ==, 0);
    g_assert_cmpuint (trash->len, ==, 1);
  }

  g_assert_true (tandem_store_restore_task (f->store, task->id, &error));
  g_assert_no_error (error);
  stored = get (f->store, task->id);
  g_assert_false (stored->deleted);
  g_assert_cmpuint (stored->comments->len, ==, 1);
  g_assert_cmpstr (((TandemComment *) g_ptr_array_index (stored->comments, 0))->id, ==, comment_id);

  ops = outbox (f->store);
  /* create, tag_add b, tag_add a, tag_remove b, comment_add, delete, restore */
  g_assert_cmpuint (ops->len, ==, 7);
  g_assert_cmpint (((TandemOp *) g_ptr_array_index (ops, 1))->kind, ==, TANDEM_OP_TAG_ADD);
  g_assert_cmpint (((TandemOp *) g_ptr_array_index (ops, 3))->kind, ==, TANDEM_OP_TAG_REMOVE);
  g_assert_cmpint (((TandemOp *) g_ptr_array_index (ops, 4))->kind, ==, TANDEM_OP_COMMENT_ADD);
  g_assert_cmpstr (json_object_get_string_member (((TandemOp *) g_ptr_array_index (ops, 4))->patch,
                                                  "comment_id"), ==, comment_id);
  g_assert_cmpint (((TandemOp *) g_ptr_array_index (ops, 5))->kind, ==, TANDEM_OP_DELETE);
  g_assert_cmpint (((TandemOp *) g_ptr_array_index (ops, 6))->kind, ==, TANDEM_OP_RESTORE);
}

static void
test_ack_sets_base_and_rebases (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f->store, "Report");
  g_autoptr(TandemTask) server = NULL;
  g_autoptr(TandemTask) stored = NULL;
  g_autoptr(TandemTask) base = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GError) error = NULL;
  TandemOp *create_op;

  base = tandem_store_get_task_base (f->store, task->id, &error);
  g_assert_no_error (error);
  g_assert_null (base);

  mark_all_sent (f->store);
  ops = outbox (f->store);
  create_op = g_ptr_array_index (ops, 0);
  /* An edit made while the create is in flight stays on top. */
  edit (f->store, task->id, "{\"notes\": \"draft\"}");

  /* The server's record also carries a change from another device. */
  server = tandem_task_copy (task);
  server->rev = 1;
  server->updated_at = g_strdup ("2026-11-25T10:00:00.000000Z");
  server->priority = 3;
  g_assert_true (tandem_store_outbox_ack (f->store, create_op->op_id, server, &error));
  g_assert_no_error (error);

  stored = get (f->store, task->id);
  g_assert_cmpint (stored->rev, ==, 1);
  g_assert_cmpint (stored->priority, ==, 3);
  g_assert_cmpstr (stored->notes, ==, "draft");
  g_assert_cmpint (stored->sync_status, ==, TANDEM_SYNC_PENDING);
  base = tandem_store_get_task_base (f->store, task->id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (base);
  g_assert_cmpint (base->rev, ==, 1);
  g_assert_cmpstr (base->notes, ==, "");
  g_assert_cmpint (base->priority, ==, 3);
  g_clear_pointer (&stored, tandem_task_free);
  g_clear_pointer (&ops, g_ptr_array_unref);

  /* Acknowledging the last op leaves the task synced. */
  ops = outbox (f->store);
  g_assert_cmpuint (ops->len, ==, 1);
  g_clear_pointer (&server, tandem_task_free);
  server = get (f->store, task->id);
  server->rev = 2;
  g_assert_true (tandem_store_outbox_ack (f->store, ((TandemOp *) g_ptr_array_index (ops, 0))->op_id,
                                          server, &error));
  g_assert_no_error (error);
  stored = get (f->store, task->id);
  g_assert_cmpint (stored->sync_status, ==, TANDEM_SYNC_SYNCED);
  g_assert_cmpint (stored->rev, ==, 2);
  g_clear_pointer (&ops, g_ptr_array_unref);
  ops = outbox (f->store);
  g_assert_cmpuint (ops->len, ==, 0);

  /* An unknown op id is refused. */
  g_assert_false (tandem_store_outbox_ack (f->store, "0b6f4c52-1f0e-4d7a-9a55-2f7c1e8b3d10", NULL,
                                           &error));
  g_assert_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND);
}

static void
test_park_marks_error (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f->store, "Parked");
  g_autoptr(TandemTask) stored = NULL;
  g_autoptr(GPtrArray) ops = outbox (f->store);
  g_autoptr(GError) error = NULL;

  g_assert_true (tandem_store_outbox_park (f->store, ((TandemOp *) g_ptr_array_index (ops, 0))->op_id,
                                           "title too long", &error));
  g_assert_no_error (error);
  stored = get (f->store, task->id);
  g_assert_cmpint (stored->sync_status, ==, TANDEM_SYNC_ERROR);
  g_clear_pointer (&ops, g_ptr_array_unref);
  ops = outbox (f->store);
  g_assert_cmpint (((TandemOp *) g_ptr_array_index (ops, 0))->state, ==, TANDEM_OP_STATE_ERROR);
  g_assert_cmpstr (((TandemOp *) g_ptr_array_index (ops, 0))->error, ==, "title too long");
}

static void
test_move_and_order (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(TandemTask) a = create (f->store, "A");
  g_autoptr(TandemTask) b = create (f->store, "B");
  g_autoptr(TandemTask) c = create (f->store, "C");
  g_autoptr(GPtrArray) tasks = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpstr (a->position, <, b->position);
  g_assert_cmpstr (b->position, <, c->position);

  g_assert_true (tandem_store_move_task (f->store, c->id, a->id, NULL, &error));
  g_assert_no_error (error);
  tasks = tandem_store_list_tasks (f->store, TANDEM_TASK_QUERY_LIVE, &error);
  g_assert_cmpstr (((TandemTask *) g_ptr_array_index (tasks, 0))->title, ==, "C");
  g_assert_cmpstr (((TandemTask *) g_ptr_array_index (tasks, 1))->title, ==, "A");
  g_assert_cmpstr (((TandemTask *) g_ptr_array_index (tasks, 2))->title, ==, "B");
  g_clear_pointer (&tasks, g_ptr_array_unref);

  g_assert_true (tandem_store_move_task (f->store, c->id, NULL, b->id, &error));
  g_assert_true (tandem_store_move_task (f->store, a->id, NULL, b->id, &error));
  g_assert_no_error (error);
  tasks = tandem_store_list_tasks (f->store, TANDEM_TASK_QUERY_LIVE, &error);
  g_assert_cmpstr (((TandemTask *) g_ptr_array_index (tasks, 0))->title, ==, "B");
  g_assert_cmpstr (((TandemTask *) g_ptr_array_index (tasks, 1))->title, ==, "A");
  g_assert_cmpstr (((TandemTask *) g_ptr_array_index (tasks, 2))->title, ==, "C");

  g_assert_false (tandem_store_move_task (f->store, a->id, a->id, NULL, &error));
  g_assert_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_INVALID);
}

static void
test_history_records_changes (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f->store, "History");
  g_autoptr(GPtrArray) history = NULL;
  TandemHistoryEntry *entry;

  edit (f->store, task->id, "{\"title\": \"History 2\"}");
  history = tandem_store_get_history (f->store, task->id, NULL);
  g_assert_cmpuint (history->len, ==, 2);
  entry = g_ptr_array_index (history, 1);
  g_assert_cmpstr (entry->origin, ==, "local");
  g_assert_cmpstr (entry->field, ==, "title");
  g_assert_cmpstr (entry->old_value, ==, "\"History\"");
  g_assert_cmpstr (entry->new_value, ==, "\"History 2\"");
  g_assert_cmpstr (entry->device_id, ==, tandem_store_get_device_id (f->store));
}

static void
test_reopen_keeps_everything (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f->store, "Persist");
  g_autofree char *device = g_strdup (tandem_store_get_device_id (f->store));
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemTask) stored = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  struct stat st;

  g_clear_object (&f->store);
  f->store = tandem_store_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tandem_store_get_device_id (f->store), ==, device);
  stored = get (f->store, task->id);
  g_assert_cmpstr (stored->title, ==, "Persist");
  ops = outbox (f->store);
  g_assert_cmpuint (ops->len, ==, 1);

  /* The database may hold a sync token: only its owner can read it. */
  g_assert_cmpint (g_stat (f->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

/* The write-ahead log under a long burst of edits, and between sessions:
 * it must not grow for as long as the store stays open (it once did, to
 * 300 MB in 10,000 edits, because its checkpoints never ran), and what the
 * burst wrote must be there in the next session. */
#define BURST_EDITS 3000

static void
test_wal_bounded_under_a_burst (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f->store, "Busy");
  g_autofree char *wal = g_strconcat (f->path, "-wal", NULL);
  g_autoptr(TandemTask) stored = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *last = NULL;
  GStatBuf st;

  for (int i = 0; i < BURST_EDITS; i++)
    {
      g_autoptr(JsonObject) changes = json_object_new ();
      g_autofree char *title = g_strdup_printf ("Edit %d", i);

      json_object_set_string_member (changes, "title", title);
      json_object_set_string_member (changes, "notes", title);
      tandem_store_update_task (f->store, task->id, changes, &error);
      g_assert_no_error (error);
      g_free (last);
      last = g_strdup (title);
    }

  /* Every edit writes several pages of 4 KiB: ~80 MB of log unless
   * checkpoints copy it into the database and the log starts over. */
  g_assert_cmpint (g_stat (wal, &st), ==, 0);
  g_assert_cmpint (st.st_size, <, 32 * 1024 * 1024);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  g_clear_object (&f->store);
  f->store = tandem_store_open (f->path, &error);
  g_assert_no_error (error);
  stored = get (f->store, task->id);
  g_assert_cmpstr (stored->title, ==, last);
  g_assert_cmpstr (stored->notes, ==, last);
}

/* A session that closes while another program reads the database leaves
 * the log as it is, without waiting, and loses nothing. */
static void
test_close_while_another_reads (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f->store, "Shared");
  g_autoptr(TandemTask) stored = NULL;
  g_autoptr(GError) error = NULL;
  sqlite3 *reader = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 start;

  g_assert_cmpint (sqlite3_open_v2 (f->path, &reader, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (reader, "BEGIN", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (reader, "SELECT count(*) FROM tasks", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 1);

  start = g_get_monotonic_time ();
  g_clear_object (&f->store);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);

  sqlite3_finalize (stmt);
  sqlite3_exec (reader, "COMMIT", NULL, NULL, NULL);
  sqlite3_close (reader);

  f->store = tandem_store_open (f->path, &error);
  g_assert_no_error (error);
  stored = get (f->store, task->id);
  g_assert_cmpstr (stored->title, ==, "Shared");
}

/* Opening files that are not ours */

static char *
file_digest (const char *path)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, len);
}

static void
sql (const char *path,
     const char *statements)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, statements, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

static void
assert_refused (const char *path,
                int         code,
                const char *phrase)
{
  g_autofree char *digest_before = file_digest (path);
  g_autofree char *digest_after = NULL;
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = tandem_store_open (path, &error);

  g_assert_null (store);
  g_assert_error (error, TANDEM_STORE_ERROR, code);
  g_assert_nonnull (strstr (error->message, phrase));
  g_assert_nonnull (strstr (error->message, path));
  digest_after = file_digest (path);
  g_assert_cmpstr (digest_before, ==, digest_after);
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
}

static void
test_corrupt_file_refused (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "garbage.db", NULL);
  GString *junk = g_string_new ("This is my shopping list, not a database.\n");

  for (int i = 0; i < 5000; i++)
    g_string_append_c (junk, (char) g_test_rand_int_range (1, 256));
  g_assert_true (g_file_set_contents (path, junk->str, junk->len, NULL));
  g_string_free (junk, TRUE);

  assert_refused (path, TANDEM_STORE_ERROR_CORRUPT, "not a Tandem database");
}

static void
test_damaged_database_refused (Fixture       *f,
                               gconstpointer  data)
{
  g_autofree char *contents = NULL;
  gsize len;

  /* A real Tandem file whose header was overwritten. */
  g_clear_object (&f->store);
  g_assert_true (g_file_get_contents (f->path, &contents, &len, NULL));
  g_assert_cmpuint (len, >, 100);
  memset (contents, 0x5a, 64);
  g_assert_true (g_file_set_contents (f->path, contents, len, NULL));

  assert_refused (f->path, TANDEM_STORE_ERROR_CORRUPT, "damaged");
}

static void
test_foreign_database_refused (Fixture       *f,
                               gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "other.db", NULL);

  sql (path, "CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('soup');");
  assert_refused (path, TANDEM_STORE_ERROR_CORRUPT, "another program");
}

static void
test_newer_database_refused (Fixture       *f,
                             gconstpointer  data)
{
  g_clear_object (&f->store);
  sql (f->path, "PRAGMA journal_mode = DELETE; PRAGMA user_version = 99;");
  assert_refused (f->path, TANDEM_STORE_ERROR_TOO_NEW, "newer version of Tandem");
}

static void
test_migrates_from_version_0 (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "empty.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  /* An empty file is a database at version 0. */
  g_assert_true (g_file_set_contents (path, "", 0, NULL));
  store = tandem_store_open (path, &error);
  g_assert_no_error (error);
  g_clear_object (&store);

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, TANDEM_STORE_SCHEMA_VERSION);
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "wal");
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  /* And opening it again finds it current. */
  store = tandem_store_open (path, &error);
  g_assert_no_error (error);
}

/* A database written by schema 2 (tests/data/store-schema-2.sql) opens
 * with everything in it: the outbox in the same order under the same
 * sequence numbers, the history, the rows; and its outbox and history no
 * longer use AUTOINCREMENT, while new ops still queue after the old ones. */
static void
test_migrates_from_version_2 (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "schema-2.db", NULL);
  g_autofree char *dump = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(TandemTask) task = NULL;
  static const char *kinds[] = { "create", "create", "create", "comment_add", "delete" };
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_true (g_file_get_contents (g_test_get_filename (G_TEST_DIST, "data",
                                                           "store-schema-2.sql", NULL),
                                      &dump, NULL, NULL));
  sql (path, dump);

  store = tandem_store_open (path, &error);
  g_assert_no_error (error);

  ops = tandem_store_outbox_list (store, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ops->len, ==, G_N_ELEMENTS (kinds));
  for (guint i = 0; i < ops->len; i++)
    {
      TandemOp *op = g_ptr_array_index (ops, i);

      g_assert_cmpint (op->seq, ==, i + 1);
      g_assert_cmpstr (tandem_op_kind_to_string (op->kind), ==, kinds[i]);
    }
  g_assert_cmpstr (((TandemOp *) g_ptr_array_index (ops, 1))->op_id, ==,
                   "6a18b428-48d9-4bfd-9f64-d4b6f276816f");

  task = tandem_store_get_task (store, "788d0bbc-565d-4904-bd62-3a6dd000a575", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (task->title, ==, "Buy oat milk");
  history = tandem_store_get_history (store, task->id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (history->len, ==, 2);   /* created, then the title */
  g_assert_cmpstr (((TandemHistoryEntry *) g_ptr_array_index (history, 1))->field, ==, "title");

  /* A new op queues after the old ones. */
  g_free (tandem_store_add_comment (store, task->id, "Oat, not soy", &error));
  g_assert_no_error (error);
  g_clear_pointer (&ops, g_ptr_array_unref);
  ops = tandem_store_outbox_list (store, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ops->len, ==, G_N_ELEMENTS (kinds) + 1);
  g_assert_cmpint (((TandemOp *) g_ptr_array_index (ops, ops->len - 1))->seq, ==, 6);
  g_clear_object (&store);

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "SELECT (SELECT user_version FROM pragma_user_version), "
                                       "count(*) FROM sqlite_schema WHERE sql LIKE '%AUTOINCREMENT%'",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, TANDEM_STORE_SCHEMA_VERSION);
  g_assert_cmpint (sqlite3_column_int (stmt, 1), ==, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

static void
test_locked_database (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(TandemTask) draft = tandem_task_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) tasks = NULL;
  sqlite3 *other = NULL;

  g_assert_cmpint (sqlite3_open (f->path, &other), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (other, "BEGIN IMMEDIATE", NULL, NULL, NULL), ==, SQLITE_OK);

  g_free (draft->title);
  draft->title = g_strdup ("Blocked");
  g_assert_null (tandem_store_create_task (f->store, draft, &error));
  g_assert_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_LOCKED);
  g_assert_nonnull (strstr (error->message, "in use by another program"));
  g_clear_error (&error);

  sqlite3_exec (other, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close (other);

  /* Nothing half-written; the next try works. */
  tasks = tandem_store_list_tasks (f->store, TANDEM_TASK_QUERY_ALL, &error);
  g_assert_cmpuint (tasks->len, ==, 0);
  g_clear_pointer (&draft->title, g_free);
  draft->title = g_strdup ("Unblocked");
  g_clear_pointer (&tasks, g_ptr_array_unref);
  {
    g_autoptr(TandemTask) task = tandem_store_create_task (f->store, draft, &error);
    g_assert_no_error (error);
  }
}

static void
test_resolve_prefix (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(TandemTask) task = create (f->store, "Prefix");
  g_autofree char *prefix = g_strndup (task->id, 8);
  g_autofree char *found = NULL;
  g_autoptr(GError) error = NULL;

  found = tandem_store_resolve_task_id (f->store, prefix, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found, ==, task->id);
  g_clear_pointer (&found, g_free);

  found = tandem_store_resolve_task_id (f->store, "abc", &error);
  g_assert_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  found = tandem_store_resolve_task_id (f->store, "zzzzzzzz", &error);
  g_assert_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/store/create-writes-row-and-op", test_create_writes_row_and_op);
  ADD ("/store/bad-input-writes-nothing", test_bad_input_writes_nothing);
  ADD ("/store/unsent-ops-coalesce", test_unsent_ops_coalesce);
  ADD ("/store/frozen-ops-never-change", test_frozen_ops_never_change);
  ADD ("/store/no-op-change-writes-nothing", test_noop_change_writes_nothing);
  ADD ("/store/tags-delete-restore-comment", test_tags_delete_restore_comment);
  ADD ("/store/ack-sets-base-and-rebases", test_ack_sets_base_and_rebases);
  ADD ("/store/park-marks-error", test_park_marks_error);
  ADD ("/store/move-and-order", test_move_and_order);
  ADD ("/store/history-records-changes", test_history_records_changes);
  ADD ("/store/reopen-keeps-everything", test_reopen_keeps_everything);
  ADD ("/store/wal-bounded-under-a-burst", test_wal_bounded_under_a_burst);
  ADD ("/store/close-while-another-reads", test_close_while_another_reads);
  ADD ("/store/corrupt-file-refused", test_corrupt_file_refused);
  ADD ("/store/damaged-database-refused", test_damaged_database_refused);
  ADD ("/store/foreign-database-refused", test_foreign_database_refused);
  ADD ("/store/newer-database-refused", test_newer_database_refused);
  ADD ("/store/migrates-from-version-0", test_migrates_from_version_0);
  ADD ("/store/migrates-from-version-2", test_migrates_from_version_2);
  ADD ("/store/locked-database", test_locked_database);
  ADD ("/store/resolve-prefix", test_resolve_prefix);

  return g_test_run ();
}
