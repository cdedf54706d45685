/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include "tandem-merge.h"

/* Every case starts from one fixture task. Changes, expected records and
 * expected lists are written as JSON with ' for " so the table stays
 * readable; no value in the table contains an apostrophe. */

#define LIST_A "6a1d8f7e-2c3b-4e5f-8a9b-0c1d2e3f4a5b"
#define LIST_B "7b2e9a8f-3d4c-4f6a-9b0c-1d2e3f4a5b6c"
#define LIST_C "8c3fab90-4e5d-4a7b-8c1d-2e3f4a5b6c7d"

#define TASK_ID "0b6f4c52-1f0e-4d7a-9a55-2f7c1e8b3d10"
#define BASE_UPDATED_AT "2026-11-20T10:00:00.000000Z"
#define REMOTE_UPDATED_AT "2026-11-21T08:30:00.000000Z"
#define BASE_REV 4
#define REMOTE_REV 7

#define NOTES "Flights\nbook the train\n\nHotel\nask for a quiet room\n\nPacking\nchargers\n"
#define NOTES_J "Flights\\nbook the train\\n\\nHotel\\nask for a quiet room\\n\\nPacking\\nchargers\\n"
/* NOTES with the train line changed (local) or the packing line (remote). */
#define NOTES_TRAIN_J "Flights\\nbook the 9:40 train\\n\\nHotel\\nask for a quiet room\\n\\nPacking\\nchargers\\n"
#define NOTES_TRAIN2_J "Flights\\nbook the 11:10 train\\n\\nHotel\\nask for a quiet room\\n\\nPacking\\nchargers\\n"
#define NOTES_PACK_J "Flights\\nbook the train\\n\\nHotel\\nask for a quiet room\\n\\nPacking\\nchargers, passport\\n"
#define NOTES_BOTH_J "Flights\\nbook the 9:40 train\\n\\nHotel\\nask for a quiet room\\n\\nPacking\\nchargers, passport\\n"

/* The comments a case may hold, by id. c2 and c4 share a timestamp, so
 * they are ordered by id; c3 is the newest although its id sorts before c4. */
static const struct
{
  const char *id;
  const char *body;
  const char *device_id;
  const char *created_at;
} comment_pool[] = {
  { "c1", "Booked the train", "laptop", "2026-11-19T09:00:00.000000Z" },
  { "c2", "Hotel confirmed", "phone", "2026-11-20T12:00:00.000000Z" },
  { "c3", "Passport expires in March", "laptop", "2026-11-20T15:00:00.000000Z" },
  { "c4", "Window seat please", "laptop", "2026-11-20T12:00:00.000000Z" },
};

static JsonNode *
parse_json (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *json = g_strdelimit (g_strdup (text), "'", '"');

  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

static char *
node_to_string (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, node);
  return json_generator_to_data (generator, NULL);
}

/* Re-serializes table JSON so it compares with what the code produced. */
static char *
normalize_json (const char *text)
{
  g_autoptr(JsonNode) node = parse_json (text != NULL ? text : "[]");

  return node_to_string (node);
}

/* Replaces the task's comments with pool comments, in the order given (not
 * sorted), so that an expected list states the order it expects. */
static void
set_comments (TandemTask *task,
              JsonArray  *ids)
{
  g_ptr_array_set_size (task->comments, 0);
  for (guint i = 0; i < json_array_get_length (ids); i++)
    {
      const char *id = json_array_get_string_element (ids, i);
      gboolean found = FALSE;

      for (guint j = 0; j < G_N_ELEMENTS (comment_pool); j++)
        {
          if (g_str_equal (comment_pool[j].id, id))
            {
              g_ptr_array_add (task->comments,
                               tandem_comment_new (comment_pool[j].id, comment_pool[j].body,
                                                   comment_pool[j].device_id,
                                                   comment_pool[j].created_at));
              found = TRUE;
            }
        }
      g_assert_true (found);
    }
}

/* Applies {'field': value, ...} through tandem_task_set_field, so every
 * value in the table is a valid one. Tags and comments give the whole set;
 * comments and deleted cannot be set that way and are set directly. */
static void
apply_changes (TandemTask *task,
               const char *changes)
{
  g_autoptr(JsonNode) root = NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  if (changes == NULL)
    return;

  root = parse_json (changes);
  json_object_iter_init (&iter, json_node_get_object (root));
  while (json_object_iter_next (&iter, &name, &value))
    {
      g_autoptr(GError) error = NULL;
      TandemField field;

      if (g_str_equal (name, "deleted"))
        {
          task->deleted = json_node_get_boolean (value);
        }
      else if (g_str_equal (name, "comments"))
        {
          set_comments (task, json_node_get_array (value));
        }
      else
        {
          g_assert_true (tandem_field_from_name (name, &field));
          tandem_task_set_field (task, field, value, &error);
          g_assert_no_error (error);
        }
    }
}

static TandemTask *
make_fixture (void)
{
  TandemTask *task = tandem_task_new ();

  task->id = g_strdup (TASK_ID);
  apply_changes (task,
                 "{'title': 'Plan the trip',"
                 " 'notes': '" NOTES_J "',"
                 " 'done': false, 'due': '2026-12-01', 'priority': 1,"
                 " 'list_id': '" LIST_A "', 'position': 'V',"
                 " 'tags': ['travel', 'home'], 'comments': ['c1']}");
  task->rev = BASE_REV;
  task->updated_at = g_strdup (BASE_UPDATED_AT);
  task->sync_status = TANDEM_SYNC_SYNCED;
  return task;
}

static char *
fields_to_string (GPtrArray *fields)
{
  g_autoptr(GString) str = g_string_new (NULL);

  for (guint i = 0; i < fields->len; i++)
    {
      if (i > 0)
        g_string_append_c (str, ',');
      g_string_append (str, tandem_field_name (GPOINTER_TO_UINT (g_ptr_array_index (fields, i))));
    }
  return g_string_free (g_steal_pointer (&str), FALSE);
}

static char *
conflicts_to_string (GPtrArray *conflicts)
{
  g_autoptr(JsonNode) node = NULL;
  JsonArray *array = json_array_new ();

  for (guint i = 0; i < conflicts->len; i++)
    {
      const TandemFieldConflict *conflict = g_ptr_array_index (conflicts, i);
      JsonObject *object = json_object_new ();

      json_object_set_string_member (object, "field", tandem_field_name (conflict->field));
      json_object_set_member (object, "base", json_node_copy (conflict->base));
      json_object_set_member (object, "local", json_node_copy (conflict->local));
      json_object_set_member (object, "remote", json_node_copy (conflict->remote));
      json_array_add_object_element (array, object);
    }
  node = json_node_init_array (json_node_alloc (), array);
  json_array_unref (array);
  return node_to_string (node);
}

static char *
overwrites_to_string (GPtrArray *overwrites)
{
  g_autoptr(JsonNode) node = NULL;
  JsonArray *array = json_array_new ();

  for (guint i = 0; i < overwrites->len; i++)
    {
      const TandemOverwrite *overwrite = g_ptr_array_index (overwrites, i);
      JsonObject *object = json_object_new ();

      json_object_set_string_member (object, "field", tandem_field_name (overwrite->field));
      json_object_set_member (object, "overwritten", json_node_copy (overwrite->overwritten));
      json_object_set_member (object, "value", json_node_copy (overwrite->value));
      json_array_add_object_element (array, object);
    }
  node = json_node_init_array (json_node_alloc (), array);
  json_array_unref (array);
  return node_to_string (node);
}

static char *
field_to_string (const TandemTask *task,
                 TandemField       field)
{
  g_autoptr(JsonNode) node = tandem_task_get_field (task, field);
  g_autofree char *value = node_to_string (node);

  return g_strdup_printf ("%s=%s", tandem_field_name (field), value);
}

/* Asserts every field of @task, so a value taken from the wrong side fails
 * with the field named. */
static void
assert_fields_equal (const TandemTask *task,
                     const TandemTask *expected)
{
  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    {
      g_autofree char *got = field_to_string (task, f);
      g_autofree char *want = field_to_string (expected, f);

      g_assert_cmpstr (got, ==, want);
      g_assert_true (tandem_task_field_equal (task, expected, f));
    }
}

static void
assert_same_record (const TandemTask *task,
                    const TandemTask *expected)
{
  assert_fields_equal (task, expected);
  g_assert_cmpstr (task->id, ==, expected->id);
  g_assert_cmpint (task->rev, ==, expected->rev);
  g_assert_cmpstr (task->updated_at, ==, expected->updated_at);
  g_assert_cmpint (task->sync_status, ==, expected->sync_status);
}

/* Tasks */

typedef struct
{
  const char         *name;
  const char         *base;        /* changes to the fixture that give the base, or NULL */
  const char         *local;       /* changes made on this device */
  const char         *remote;      /* changes made on the other device */
  const char         *merged;      /* the merged record, as changes to the base */
  TandemConflictKind  kind;
  const char         *conflicts;   /* [{field, base, local, remote}], NULL for none */
  const char         *overwrites;  /* [{field, overwritten, value}], NULL for none */
  const char         *auto_merged; /* field names, comma-separated, NULL for none */
} MergeCase;

static const MergeCase merge_cases[] = {
  /* No-op changes list nothing. */
  { "noop/unchanged-everywhere",
    NULL, NULL, NULL, NULL,
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },
  { "noop/both-made-the-same-changes",
    NULL,
    "{'title': 'Plan the trip to Lyon', 'notes': '" NOTES_TRAIN_J "', 'done': true,"
    " 'due': null, 'priority': 3, 'list_id': '" LIST_B "', 'position': 'g',"
    " 'tags': ['travel', 'lyon'], 'comments': ['c1', 'c2']}",
    "{'title': 'Plan the trip to Lyon', 'notes': '" NOTES_TRAIN_J "', 'done': true,"
    " 'due': null, 'priority': 3, 'list_id': '" LIST_B "', 'position': 'g',"
    " 'tags': ['travel', 'lyon'], 'comments': ['c1', 'c2']}",
    "{'title': 'Plan the trip to Lyon', 'notes': '" NOTES_TRAIN_J "', 'done': true,"
    " 'due': null, 'priority': 3, 'list_id': '" LIST_B "', 'position': 'g',"
    " 'tags': ['travel', 'lyon'], 'comments': ['c1', 'c2']}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },

  /* Concurrent edits of different fields merge without asking. */
  { "fields/different-fields-merge-silently",
    NULL,
    "{'title': 'Plan the trip to Lyon', 'done': true, 'tags': ['travel', 'home', 'lyon']}",
    "{'notes': '" NOTES_PACK_J "', 'priority': 2, 'due': null, 'comments': ['c1', 'c2']}",
    "{'title': 'Plan the trip to Lyon', 'done': true, 'tags': ['travel', 'home', 'lyon'],"
    " 'notes': '" NOTES_PACK_J "', 'priority': 2, 'due': null, 'comments': ['c1', 'c2']}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },

  /* human: title */
  { "human/title-changed-differently-asks",
    NULL,
    "{'title': 'Plan the trip to Lyon'}",
    "{'title': 'Plan the trip to Porto'}",
    "{'title': 'Plan the trip to Lyon'}",
    TANDEM_CONFLICT_EDIT,
    "[{'field': 'title', 'base': 'Plan the trip',"
    "  'local': 'Plan the trip to Lyon', 'remote': 'Plan the trip to Porto'}]",
    NULL, NULL },
  { "human/title-changed-identically",
    NULL,
    "{'title': 'Plan the trip to Lyon'}",
    "{'title': 'Plan the trip to Lyon'}",
    "{'title': 'Plan the trip to Lyon'}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },
  { "human/title-changed-here-only",
    NULL,
    "{'title': 'Plan the trip to Lyon'}",
    NULL,
    "{'title': 'Plan the trip to Lyon'}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },
  { "human/title-changed-there-only",
    NULL,
    NULL,
    "{'title': 'Plan the trip to Porto'}",
    "{'title': 'Plan the trip to Porto'}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },

  /* text: notes */
  { "text/notes-separate-paragraphs-merge",
    NULL,
    "{'notes': '" NOTES_TRAIN_J "'}",
    "{'notes': '" NOTES_PACK_J "'}",
    "{'notes': '" NOTES_BOTH_J "'}",
    TANDEM_CONFLICT_NONE, NULL, NULL, "notes" },
  { "text/notes-same-line-asks",
    NULL,
    "{'notes': '" NOTES_TRAIN_J "'}",
    "{'notes': '" NOTES_TRAIN2_J "'}",
    "{'notes': '" NOTES_TRAIN_J "'}",
    TANDEM_CONFLICT_EDIT,
    "[{'field': 'notes', 'base': '" NOTES_J "',"
    "  'local': '" NOTES_TRAIN_J "', 'remote': '" NOTES_TRAIN2_J "'}]",
    NULL, NULL },
  { "text/notes-changed-here-only",
    NULL,
    "{'notes': '" NOTES_TRAIN_J "'}",
    "{'priority': 2}",
    "{'notes': '" NOTES_TRAIN_J "', 'priority': 2}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },
  { "text/notes-changed-there-only",
    NULL,
    "{'priority': 2}",
    "{'notes': '" NOTES_PACK_J "'}",
    "{'notes': '" NOTES_PACK_J "', 'priority': 2}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },
  { "text/notes-without-final-newline-merge",
    "{'notes': 'Flights\\nHotel\\nPacking'}",
    "{'notes': 'Flights: 9:40\\nHotel\\nPacking'}",
    "{'notes': 'Flights\\nHotel\\nPacking: chargers'}",
    "{'notes': 'Flights: 9:40\\nHotel\\nPacking: chargers'}",
    TANDEM_CONFLICT_NONE, NULL, NULL, "notes" },
  { "text/notes-emptied-vs-edited-asks",
    NULL,
    "{'notes': ''}",
    "{'notes': '" NOTES_PACK_J "'}",
    "{'notes': ''}",
    TANDEM_CONFLICT_EDIT,
    "[{'field': 'notes', 'base': '" NOTES_J "', 'local': '', 'remote': '" NOTES_PACK_J "'}]",
    NULL, NULL },

  /* lww: the local value wins, the remote one is kept for history. */
  { "lww/priority-both-changed-local-wins",
    NULL,
    "{'priority': 3}",
    "{'priority': 2}",
    "{'priority': 3}",
    TANDEM_CONFLICT_NONE, NULL,
    "[{'field': 'priority', 'overwritten': 2, 'value': 3}]",
    NULL },
  { "lww/due-moved-here-cleared-there",
    NULL,
    "{'due': '2026-12-24'}",
    "{'due': null}",
    "{'due': '2026-12-24'}",
    TANDEM_CONFLICT_NONE, NULL,
    "[{'field': 'due', 'overwritten': null, 'value': '2026-12-24'}]",
    NULL },
  { "lww/due-cleared-here-moved-there",
    NULL,
    "{'due': null}",
    "{'due': '2026-12-05'}",
    "{'due': null}",
    TANDEM_CONFLICT_NONE, NULL,
    "[{'field': 'due', 'overwritten': '2026-12-05', 'value': null}]",
    NULL },
  { "lww/done-set-on-both-no-overwrite",
    NULL,
    "{'done': true}",
    "{'done': true}",
    "{'done': true}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },
  { "lww/done-undone-there-only",
    "{'done': true}",
    NULL,
    "{'done': false}",
    "{'done': false}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },
  { "lww/moved-to-different-lists",
    NULL,
    "{'list_id': '" LIST_B "'}",
    "{'list_id': '" LIST_C "'}",
    "{'list_id': '" LIST_B "'}",
    TANDEM_CONFLICT_NONE, NULL,
    "[{'field': 'list_id', 'overwritten': '" LIST_C "', 'value': '" LIST_B "'}]",
    NULL },
  { "lww/moved-to-inbox-here",
    NULL,
    "{'list_id': null}",
    "{'list_id': '" LIST_C "'}",
    "{'list_id': null}",
    TANDEM_CONFLICT_NONE, NULL,
    "[{'field': 'list_id', 'overwritten': '" LIST_C "', 'value': null}]",
    NULL },
  /* Reordering on two devices: positions are lww, never a conflict. */
  { "lww/reordered-on-both",
    NULL,
    "{'position': 'g'}",
    "{'position': 'K'}",
    "{'position': 'g'}",
    TANDEM_CONFLICT_NONE, NULL,
    "[{'field': 'position', 'overwritten': 'K', 'value': 'g'}]",
    NULL },
  { "lww/one-field-each-side",
    NULL,
    "{'due': '2026-12-24', 'position': 'g'}",
    "{'priority': 0, 'done': true}",
    "{'due': '2026-12-24', 'position': 'g', 'priority': 0, 'done': true}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },
  { "lww/all-changed-on-both-in-field-order",
    NULL,
    "{'position': 'g', 'list_id': '" LIST_B "', 'priority': 3, 'due': '2026-12-24'}",
    "{'due': '2026-12-05', 'priority': 0, 'list_id': '" LIST_C "', 'position': 'K'}",
    "{'position': 'g', 'list_id': '" LIST_B "', 'priority': 3, 'due': '2026-12-24'}",
    TANDEM_CONFLICT_NONE, NULL,
    "[{'field': 'due', 'overwritten': '2026-12-05', 'value': '2026-12-24'},"
    " {'field': 'priority', 'overwritten': 0, 'value': 3},"
    " {'field': 'list_id', 'overwritten': '" LIST_C "', 'value': '" LIST_B "'},"
    " {'field': 'position', 'overwritten': 'K', 'value': 'g'}]",
    NULL },

  /* set: tags (base: home, travel) */
  { "set/tags-added-on-both-sides",
    NULL,
    "{'tags': ['home', 'travel', 'errand']}",
    "{'tags': ['home', 'travel', 'lyon']}",
    "{'tags': ['errand', 'home', 'lyon', 'travel']}",
    TANDEM_CONFLICT_NONE, NULL, NULL, "tags" },
  { "set/tag-removed-here-other-added-there",
    NULL,
    "{'tags': ['travel']}",
    "{'tags': ['home', 'travel', 'lyon']}",
    "{'tags': ['lyon', 'travel']}",
    TANDEM_CONFLICT_NONE, NULL, NULL, "tags" },
  { "set/tag-added-here-other-removed-there",
    NULL,
    "{'tags': ['home', 'travel', 'lyon']}",
    "{'tags': ['travel']}",
    "{'tags': ['lyon', 'travel']}",
    TANDEM_CONFLICT_NONE, NULL, NULL, "tags" },
  { "set/same-tag-removed-on-both",
    NULL,
    "{'tags': ['travel']}",
    "{'tags': ['travel']}",
    "{'tags': ['travel']}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },
  { "set/same-tag-removed-on-both-one-adds",
    NULL,
    "{'tags': ['travel', 'urgent']}",
    "{'tags': ['travel']}",
    "{'tags': ['travel', 'urgent']}",
    TANDEM_CONFLICT_NONE, NULL, NULL, "tags" },
  { "set/same-tag-added-on-both-kept-once",
    NULL,
    "{'tags': ['home', 'travel', 'lyon', 'errand']}",
    "{'tags': ['home', 'travel', 'lyon']}",
    "{'tags': ['errand', 'home', 'lyon', 'travel']}",
    TANDEM_CONFLICT_NONE, NULL, NULL, "tags" },
  /* The other side removed "travel" and added it back (so it still has it)
   * while adding "lyon": against the base it never touched "travel", so our
   * removal stands. */
  { "set/removed-here-removed-and-re-added-there",
    NULL,
    "{'tags': ['home']}",
    "{'tags': ['home', 'travel', 'lyon']}",
    "{'tags': ['home', 'lyon']}",
    TANDEM_CONFLICT_NONE, NULL, NULL, "tags" },
  /* We added "lyon" and removed "home"; the other side added "lyon" too and
   * removed "travel": every removal wins, the shared add is kept once. */
  { "set/added-and-removed-on-both",
    NULL,
    "{'tags': ['travel', 'lyon']}",
    "{'tags': ['home', 'lyon']}",
    "{'tags': ['lyon']}",
    TANDEM_CONFLICT_NONE, NULL, NULL, "tags" },
  { "set/tags-changed-there-only",
    NULL,
    NULL,
    "{'tags': []}",
    "{'tags': []}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },

  /* append: comments (base: c1) */
  { "append/comments-from-both-sides-ordered",
    NULL,
    "{'comments': ['c1', 'c4', 'c3']}",
    "{'comments': ['c1', 'c2']}",
    "{'comments': ['c1', 'c2', 'c4', 'c3']}",
    TANDEM_CONFLICT_NONE, NULL, NULL, "comments" },
  { "append/same-comment-on-both-kept-once",
    NULL,
    "{'comments': ['c1', 'c2', 'c3']}",
    "{'comments': ['c1', 'c2']}",
    "{'comments': ['c1', 'c2', 'c3']}",
    TANDEM_CONFLICT_NONE, NULL, NULL, "comments" },
  { "append/comment-added-there-only",
    NULL,
    "{'title': 'Plan the trip to Lyon'}",
    "{'comments': ['c1', 'c3']}",
    "{'title': 'Plan the trip to Lyon', 'comments': ['c1', 'c3']}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },

  /* tombstone */
  { "tombstone/edited-here-deleted-there",
    NULL,
    "{'title': 'Plan the trip to Lyon'}",
    "{'deleted': true}",
    "{'title': 'Plan the trip to Lyon'}",
    TANDEM_CONFLICT_EDIT_VS_DELETE,
    "[{'field': 'deleted', 'base': false, 'local': false, 'remote': true}]",
    NULL, NULL },
  { "tombstone/commented-here-deleted-there",
    NULL,
    "{'comments': ['c1', 'c3']}",
    "{'deleted': true}",
    "{'comments': ['c1', 'c3']}",
    TANDEM_CONFLICT_EDIT_VS_DELETE,
    "[{'field': 'deleted', 'base': false, 'local': false, 'remote': true}]",
    NULL, NULL },
  { "tombstone/lww-edit-here-deleted-there",
    NULL,
    "{'priority': 3}",
    "{'deleted': true}",
    "{'priority': 3}",
    TANDEM_CONFLICT_EDIT_VS_DELETE,
    "[{'field': 'deleted', 'base': false, 'local': false, 'remote': true}]",
    NULL, NULL },
  { "tombstone/deleted-here-edited-there",
    NULL,
    "{'deleted': true}",
    "{'notes': '" NOTES_PACK_J "'}",
    "{'deleted': true, 'notes': '" NOTES_PACK_J "'}",
    TANDEM_CONFLICT_DELETE_VS_EDIT,
    "[{'field': 'deleted', 'base': false, 'local': true, 'remote': false}]",
    NULL, NULL },
  { "tombstone/deleted-here-tagged-there",
    NULL,
    "{'deleted': true}",
    "{'tags': ['home', 'travel', 'lyon']}",
    "{'deleted': true, 'tags': ['home', 'lyon', 'travel']}",
    TANDEM_CONFLICT_DELETE_VS_EDIT,
    "[{'field': 'deleted', 'base': false, 'local': true, 'remote': false}]",
    NULL, NULL },
  { "tombstone/deleted-on-both",
    NULL,
    "{'deleted': true}",
    "{'deleted': true}",
    "{'deleted': true}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },
  { "tombstone/deleted-there-unchanged-here",
    NULL,
    NULL,
    "{'deleted': true}",
    "{'deleted': true}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },
  { "tombstone/deleted-here-unchanged-there",
    NULL,
    "{'deleted': true}",
    NULL,
    "{'deleted': true}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },
  /* Edit vs delete names the kind even when a field collided as well. */
  { "tombstone/edit-vs-delete-with-title-collision",
    NULL,
    "{'title': 'Plan the trip to Lyon'}",
    "{'title': 'Plan the trip to Porto', 'deleted': true}",
    "{'title': 'Plan the trip to Lyon'}",
    TANDEM_CONFLICT_EDIT_VS_DELETE,
    "[{'field': 'title', 'base': 'Plan the trip',"
    "  'local': 'Plan the trip to Lyon', 'remote': 'Plan the trip to Porto'},"
    " {'field': 'deleted', 'base': false, 'local': false, 'remote': true}]",
    NULL, NULL },
  /* A restore is a change of the tombstone that simply wins. */
  { "tombstone/restored-here-with-edit",
    "{'deleted': true}",
    "{'deleted': false, 'title': 'Plan the trip to Lyon'}",
    NULL,
    "{'deleted': false, 'title': 'Plan the trip to Lyon'}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },
  { "tombstone/restored-there",
    "{'deleted': true}",
    NULL,
    "{'deleted': false, 'priority': 2}",
    "{'deleted': false, 'priority': 2}",
    TANDEM_CONFLICT_NONE, NULL, NULL, NULL },

  /* Everything at once: each list in field order. */
  { "mixed/every-policy-at-once",
    NULL,
    "{'title': 'Plan the trip to Lyon', 'notes': '" NOTES_TRAIN_J "', 'done': true,"
    " 'due': '2026-12-24', 'position': 'g', 'tags': ['travel', 'lyon'],"
    " 'comments': ['c1', 'c3']}",
    "{'title': 'Plan the trip to Porto', 'notes': '" NOTES_PACK_J "', 'priority': 2,"
    " 'due': null, 'position': 'K', 'tags': ['home', 'travel', 'errand'],"
    " 'comments': ['c1', 'c2']}",
    "{'title': 'Plan the trip to Lyon', 'notes': '" NOTES_BOTH_J "', 'done': true,"
    " 'due': '2026-12-24', 'priority': 2, 'position': 'g',"
    " 'tags': ['errand', 'lyon', 'travel'], 'comments': ['c1', 'c2', 'c3']}",
    TANDEM_CONFLICT_EDIT,
    "[{'field': 'title', 'base': 'Plan the trip',"
    "  'local': 'Plan the trip to Lyon', 'remote': 'Plan the trip to Porto'}]",
    "[{'field': 'due', 'overwritten': null, 'value': '2026-12-24'},"
    " {'field': 'position', 'overwritten': 'K', 'value': 'g'}]",
    "notes,tags,comments" },
  { "mixed/title-and-notes-collide-in-field-order",
    NULL,
    "{'notes': '" NOTES_TRAIN_J "', 'title': 'Plan the trip to Lyon'}",
    "{'notes': '" NOTES_TRAIN2_J "', 'title': 'Plan the trip to Porto'}",
    "{'notes': '" NOTES_TRAIN_J "', 'title': 'Plan the trip to Lyon'}",
    TANDEM_CONFLICT_EDIT,
    "[{'field': 'title', 'base': 'Plan the trip',"
    "  'local': 'Plan the trip to Lyon', 'remote': 'Plan the trip to Porto'},"
    " {'field': 'notes', 'base': '" NOTES_J "',"
    "  'local': '" NOTES_TRAIN_J "', 'remote': '" NOTES_TRAIN2_J "'}]",
    NULL, NULL },
};

static void
test_merge_case (gconstpointer data)
{
  const MergeCase *c = data;
  g_autoptr(TandemTask) base = make_fixture ();
  g_autoptr(TandemTask) local = NULL;
  g_autoptr(TandemTask) remote = NULL;
  g_autoptr(TandemTask) expected = NULL;
  g_autoptr(TandemTask) local_before = NULL;
  g_autoptr(TandemTask) remote_before = NULL;
  g_autoptr(TandemTask) base_before = NULL;
  g_autoptr(TandemMergeResult) result = NULL;
  g_autofree char *conflicts = NULL;
  g_autofree char *want_conflicts = NULL;
  g_autofree char *overwrites = NULL;
  g_autofree char *want_overwrites = NULL;
  g_autofree char *auto_merged = NULL;

  apply_changes (base, c->base);

  local = tandem_task_copy (base);
  apply_changes (local, c->local);
  local->sync_status = TANDEM_SYNC_PENDING;

  remote = tandem_task_copy (base);
  apply_changes (remote, c->remote);
  remote->rev = REMOTE_REV;
  g_free (remote->updated_at);
  remote->updated_at = g_strdup (REMOTE_UPDATED_AT);
  remote->sync_status = TANDEM_SYNC_SYNCED;

  /* Metadata: id, rev and updated_at from remote, sync_status from local. */
  expected = tandem_task_copy (base);
  apply_changes (expected, c->merged);
  expected->rev = REMOTE_REV;
  g_free (expected->updated_at);
  expected->updated_at = g_strdup (REMOTE_UPDATED_AT);
  expected->sync_status = TANDEM_SYNC_PENDING;

  base_before = tandem_task_copy (base);
  local_before = tandem_task_copy (local);
  remote_before = tandem_task_copy (remote);

  result = tandem_merge_tasks (base, local, remote);
  g_assert_nonnull (result);

  assert_same_record (result->merged, expected);

  g_assert_cmpstr (tandem_conflict_kind_to_string (result->kind), ==,
                   tandem_conflict_kind_to_string (c->kind));

  conflicts = conflicts_to_string (result->conflicts);
  want_conflicts = normalize_json (c->conflicts);
  g_assert_cmpstr (conflicts, ==, want_conflicts);

  overwrites = overwrites_to_string (result->overwrites);
  want_overwrites = normalize_json (c->overwrites);
  g_assert_cmpstr (overwrites, ==, want_overwrites);

  auto_merged = fields_to_string (result->auto_merged);
  g_assert_cmpstr (auto_merged, ==, c->auto_merged != NULL ? c->auto_merged : "");

  /* The inputs are left as they were. */
  assert_same_record (base, base_before);
  assert_same_record (local, local_before);
  assert_same_record (remote, remote_before);
}

/* The table builds every record from the same fixture; this checks the
 * fixture really holds what the cases assume, so a broken helper cannot
 * make the table pass vacuously. */
static void
test_merge_fixture (void)
{
  g_autoptr(TandemTask) task = make_fixture ();
  g_autoptr(TandemTask) changed = make_fixture ();
  const TandemComment *comment;

  g_assert_cmpstr (task->title, ==, "Plan the trip");
  g_assert_cmpstr (task->notes, ==, NOTES);
  g_assert_false (task->done);
  g_assert_cmpstr (task->due, ==, "2026-12-01");
  g_assert_cmpint (task->priority, ==, 1);
  g_assert_cmpstr (task->list_id, ==, LIST_A);
  g_assert_cmpstr (task->position, ==, "V");
  g_assert_cmpuint (task->tags->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (task->tags, 0), ==, "home");
  g_assert_cmpstr (g_ptr_array_index (task->tags, 1), ==, "travel");
  g_assert_cmpuint (task->comments->len, ==, 1);
  comment = g_ptr_array_index (task->comments, 0);
  g_assert_cmpstr (comment->id, ==, "c1");
  g_assert_cmpstr (comment->body, ==, "Booked the train");
  g_assert_false (task->deleted);

  apply_changes (changed, "{'notes': '" NOTES_TRAIN_J "', 'comments': ['c1', 'c4', 'c3'],"
                          " 'deleted': true, 'due': null, 'position': 'K'}");
  g_assert_cmpstr (changed->notes, ==,
                   "Flights\nbook the 9:40 train\n\nHotel\nask for a quiet room\n\nPacking\nchargers\n");
  g_assert_cmpuint (changed->comments->len, ==, 3);
  comment = g_ptr_array_index (changed->comments, 2);
  g_assert_cmpstr (comment->id, ==, "c3");
  g_assert_true (changed->deleted);
  g_assert_null (changed->due);
  g_assert_cmpstr (changed->position, ==, "K");
}

/* A collided field keeps local's value in the merged record, and the
 * conflict carries the three values as independent copies. */
static void
test_merge_conflict_values_are_copies (void)
{
  g_autoptr(TandemTask) base = make_fixture ();
  g_autoptr(TandemTask) local = make_fixture ();
  g_autoptr(TandemTask) remote = make_fixture ();
  g_autoptr(TandemMergeResult) result = NULL;
  const TandemFieldConflict *conflict;

  apply_changes (local, "{'title': 'Plan the trip to Lyon'}");
  apply_changes (remote, "{'title': 'Plan the trip to Porto'}");
  result = tandem_merge_tasks (base, local, remote);

  g_clear_pointer (&base, tandem_task_free);
  g_clear_pointer (&local, tandem_task_free);
  g_clear_pointer (&remote, tandem_task_free);

  g_assert_cmpuint (result->conflicts->len, ==, 1);
  conflict = g_ptr_array_index (result->conflicts, 0);
  g_assert_cmpint (conflict->field, ==, TANDEM_FIELD_TITLE);
  g_assert_cmpstr (json_node_get_string (conflict->base), ==, "Plan the trip");
  g_assert_cmpstr (json_node_get_string (conflict->local), ==, "Plan the trip to Lyon");
  g_assert_cmpstr (json_node_get_string (conflict->remote), ==, "Plan the trip to Porto");
  g_assert_cmpstr (result->merged->title, ==, "Plan the trip to Lyon");
}

/* Comment ids are made on the device that wrote the comment, so one id on
 * both sides is one comment; should the copies differ, the local one stays
 * and the comment is not duplicated. */
static void
test_merge_same_comment_id_keeps_local_copy (void)
{
  g_autoptr(TandemTask) base = make_fixture ();
  g_autoptr(TandemTask) local = make_fixture ();
  g_autoptr(TandemTask) remote = make_fixture ();
  g_autoptr(TandemMergeResult) result = NULL;
  const TandemComment *comment;

  tandem_task_add_comment (local, tandem_comment_new ("c9", "Local copy", "laptop",
                                                      "2026-11-20T13:00:00.000000Z"));
  tandem_task_add_comment (local, tandem_comment_new ("c3", "Passport expires in March", "laptop",
                                                      "2026-11-20T15:00:00.000000Z"));
  tandem_task_add_comment (remote, tandem_comment_new ("c9", "Remote copy", "laptop",
                                                       "2026-11-20T13:00:00.000000Z"));
  tandem_task_add_comment (remote, tandem_comment_new ("c2", "Hotel confirmed", "phone",
                                                       "2026-11-20T12:00:00.000000Z"));
  result = tandem_merge_tasks (base, local, remote);

  g_assert_cmpint (result->kind, ==, TANDEM_CONFLICT_NONE);
  g_assert_cmpuint (result->merged->comments->len, ==, 4);
  comment = g_ptr_array_index (result->merged->comments, 0);
  g_assert_cmpstr (comment->id, ==, "c1");
  comment = g_ptr_array_index (result->merged->comments, 1);
  g_assert_cmpstr (comment->id, ==, "c2");
  comment = g_ptr_array_index (result->merged->comments, 2);
  g_assert_cmpstr (comment->id, ==, "c9");
  g_assert_cmpstr (comment->body, ==, "Local copy");
  comment = g_ptr_array_index (result->merged->comments, 3);
  g_assert_cmpstr (comment->id, ==, "c3");
}

static void
test_merge_result_free_null (void)
{
  tandem_merge_result_free (NULL);
}

/* Text */

typedef struct
{
  const char *name;
  const char *base;
  const char *local;
  const char *remote;
  const char *merged;   /* NULL: the two sides collide */
} TextCase;

static const TextCase text_cases[] = {
  { "unchanged", "a\nb\n", "a\nb\n", "a\nb\n", "a\nb\n" },
  { "changed-here-only", "a\nb\n", "a\nB\n", "a\nb\n", "a\nB\n" },
  { "changed-there-only", "a\nb\n", "a\nb\n", "A\nb\n", "A\nb\n" },
  { "identical-changes", "a\nb\nc\n", "a\nB\nc\n", "a\nB\nc\n", "a\nB\nc\n" },
  /* Both made one same change, and one side made another elsewhere. */
  { "identical-change-plus-separate-one",
    "a\nb\nc\nd\ne\n", "A\nb\nc\nd\nE\n", "A\nb\nc\nd\ne\n", "A\nb\nc\nd\nE\n" },
  { "separate-hunks-merge",
    "one\ntwo\nthree\nfour\nfive\n", "ONE\ntwo\nthree\nfour\nfive\n",
    "one\ntwo\nthree\nfour\nFIVE\n", "ONE\ntwo\nthree\nfour\nFIVE\n" },
  { "one-unchanged-line-between-merges",
    "a\nb\nc\nd\ne\n", "a\nB\nc\nd\ne\n", "a\nb\nc\nD\ne\n", "a\nB\nc\nD\ne\n" },
  { "insertions-in-separate-places-merge",
    "a\nb\nc\nd\n", "a\nnew here\nb\nc\nd\n", "a\nb\nc\nnew there\nd\n",
    "a\nnew here\nb\nc\nnew there\nd\n" },
  { "same-line-collides", "a\nb\nc\n", "a\nB1\nc\n", "a\nB2\nc\n", NULL },
  /* Like git, libgit2 takes changes to neighbouring lines as one hunk, so
   * edits of two adjacent lines collide; accepted, the user picks. */
  { "adjacent-lines-collide", "a\nb\nc\nd\n", "a\nB\nc\nd\n", "a\nb\nC\nd\n", NULL },
  /* Both appended at the same place (the end): which goes first is a
   * human decision. */
  { "both-appended-at-end-collide", "a\n", "a\nb\n", "a\nc\n", NULL },
  { "deleted-here-changed-there-collides", "a\nb\nc\n", "a\nc\n", "a\nB\nc\n", NULL },
  { "same-line-deleted-on-both",
    "a\nb\nc\nd\ne\n", "a\nc\nd\nE\n", "a\nc\nd\ne\n", "a\nc\nd\nE\n" },
  /* Notes without a trailing newline. */
  { "no-trailing-newline-merge", "a\nb\nc", "A\nb\nc", "a\nb\nC", "A\nb\nC" },
  /* Appending to a note that ends without a newline does not "change" its
   * old last line, so it does not collide with an edit next to it. */
  { "appended-to-unterminated-note-next-to-edit",
    "a\nb\nc", "a\nb\nc\nd", "a\nB\nc", "a\nB\nc\nd" },
  { "trailing-newline-added-here", "a\nb\nc", "a\nb\nc\n", "A\nb\nc", "A\nb\nc\n" },
  { "trailing-newline-removed-there", "a\nb\nc\n", "A\nb\nc\n", "a\nb\nc", "A\nb\nc" },
  { "single-line-without-newline-collides", "hello", "hello world", "hi", NULL },
  /* Empty notes. */
  { "all-empty", "", "", "", "" },
  { "empty-base-written-here", "", "x\n", "", "x\n" },
  { "empty-base-same-text-on-both", "", "x", "x", "x" },
  { "empty-base-different-text-collides", "", "x\n", "y\n", NULL },
  { "emptied-here-unchanged-there", "a\nb\n", "", "a\nb\n", "" },
  { "emptied-here-edited-there-collides", "a\nb\n", "", "a\nB\n", NULL },
  { "utf8-lines-merge",
    "café\nthé\nnoël\n", "café ☕\nthé\nnoël\n", "café\nthé\nnoël 🎄\n",
    "café ☕\nthé\nnoël 🎄\n" },
};

static void
test_merge_text_case (gconstpointer data)
{
  const TextCase *c = data;
  g_autofree char *merged = NULL;
  gboolean clean;

  clean = tandem_merge_text (c->base, c->local, c->remote, &merged);

  if (c->merged != NULL)
    {
      g_assert_true (clean);
      g_assert_cmpstr (merged, ==, c->merged);
    }
  else
    {
      g_assert_false (clean);
      g_assert_null (merged);
    }
}

/* *merged is cleared on a collision even if it held something. */
static void
test_merge_text_collision_clears_out (void)
{
  char sentinel[] = "sentinel";
  char *merged = sentinel;

  g_assert_false (tandem_merge_text ("a\n", "b\n", "c\n", &merged));
  g_assert_null (merged);
}

/* Conflict kinds */

static void
test_conflict_kind_strings (void)
{
  static const struct
  {
    TandemConflictKind  kind;
    const char         *name;
  } kinds[] = {
    { TANDEM_CONFLICT_NONE, "none" },
    { TANDEM_CONFLICT_EDIT, "edit" },
    { TANDEM_CONFLICT_EDIT_VS_DELETE, "edit-vs-delete" },
    { TANDEM_CONFLICT_DELETE_VS_EDIT, "delete-vs-edit" },
  };
  TandemConflictKind kind;

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_assert_cmpstr (tandem_conflict_kind_to_string (kinds[i].kind), ==, kinds[i].name);
      kind = (kinds[i].kind + 1) % G_N_ELEMENTS (kinds);
      g_assert_true (tandem_conflict_kind_from_string (kinds[i].name, &kind));
      g_assert_cmpint (kind, ==, kinds[i].kind);
    }

  kind = TANDEM_CONFLICT_EDIT;
  g_assert_false (tandem_conflict_kind_from_string ("conflict", &kind));
  g_assert_false (tandem_conflict_kind_from_string ("Edit", &kind));
  g_assert_false (tandem_conflict_kind_from_string ("", &kind));
  g_assert_false (tandem_conflict_kind_from_string (NULL, &kind));
  g_assert_cmpint (kind, ==, TANDEM_CONFLICT_EDIT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/merge/fixture", test_merge_fixture);
  for (guint i = 0; i < G_N_ELEMENTS (merge_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/merge/tasks/%s", merge_cases[i].name);

      g_test_add_data_func (path, &merge_cases[i], test_merge_case);
    }
  g_test_add_func ("/merge/tasks/conflict-values-are-copies", test_merge_conflict_values_are_copies);
  g_test_add_func ("/merge/tasks/same-comment-id-keeps-local-copy",
                   test_merge_same_comment_id_keeps_local_copy);
  g_test_add_func ("/merge/tasks/result-free-null", test_merge_result_free_null);

  for (guint i = 0; i < G_N_ELEMENTS (text_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/merge/text/%s", text_cases[i].name);

      g_test_add_data_func (path, &text_cases[i], test_merge_text_case);
    }
  g_test_add_func ("/merge/text/collision-clears-out", test_merge_text_collision_clears_out);

  g_test_add_func ("/merge/conflict-kind/strings", test_conflict_kind_strings);

  return g_test_run ();
}
