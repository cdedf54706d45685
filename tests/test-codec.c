/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "tandem-codec.h"
#include "tandem-position.h"

#define LIST_ID   "0b6f4c52-1f0e-4d7a-9a55-2f7c1e8b3d10"
#define TASK_ID   "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
#define OP_ID     "9d8c7b6a-5f4e-4d3c-ab2a-1f0e9d8c7b6a"
#define COMMENT_1 "11111111-2222-4333-8444-555555555555"
#define COMMENT_2 "22222222-3333-4444-8555-666666666666"
#define DEVICE    "laptop-7f3a"

/* Helpers */

/* Fails the test when @error is not @code of TANDEM_CODEC_ERROR or its
 * message does not contain @needle (the member path a user needs). */
#define assert_codec_error(error, code, needle)                                   \
  G_STMT_START                                                                    \
  {                                                                               \
    g_assert_error ((error), TANDEM_CODEC_ERROR, (int) (code));                   \
    if (strstr ((error)->message, (needle)) == NULL)                              \
      g_error ("error message “%s” does not contain “%s”", (error)->message,     \
               (needle));                                                         \
  }                                                                               \
  G_STMT_END

static JsonNode *
parse (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = tandem_json_parse (text, -1, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

static JsonObject *
parse_object (const char *text)
{
  g_autoptr(JsonNode) node = parse (text);

  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

/* Encodes @node to text and parses it back, so round trips go through
 * the bytes a peer would see. Takes @node. */
static JsonNode *
through_text (JsonNode *node)
{
  g_autoptr(JsonNode) owned = node;
  g_autofree char *text = tandem_json_to_string (owned, FALSE);

  return parse (text);
}

static void
assert_objects_equal (JsonObject *a,
                      JsonObject *b)
{
  g_autoptr(JsonNode) na = json_node_init_object (json_node_alloc (), a);
  g_autoptr(JsonNode) nb = json_node_init_object (json_node_alloc (), b);

  if (!json_node_equal (na, nb))
    {
      g_autofree char *sa = tandem_json_to_string (na, FALSE);
      g_autofree char *sb = tandem_json_to_string (nb, FALSE);

      g_error ("objects differ: %s vs %s", sa, sb);
    }
}

static char *
new_position (void)
{
  g_autoptr(GError) error = NULL;
  char *position = tandem_position_between (NULL, NULL, &error);

  g_assert_no_error (error);
  return position;
}

static TandemTask *
make_task (void)
{
  TandemTask *task = tandem_task_new ();

  task->id = g_strdup (TASK_ID);
  task->list_id = g_strdup (LIST_ID);
  g_free (task->title);
  task->title = g_strdup ("Buy “oat” milk \"now\" \\ é 😀");
  g_free (task->notes);
  task->notes = g_strdup ("line one\n\tline two\n");
  task->done = TRUE;
  task->due = g_strdup ("2028-02-29");
  task->priority = 2;
  g_free (task->position);
  task->position = new_position ();
  tandem_task_add_tag (task, "work");
  tandem_task_add_tag (task, "home");
  tandem_task_add_tag (task, "ünïcödé");
  tandem_task_add_comment (task, tandem_comment_new (COMMENT_2, "second", DEVICE,
                                                     "2026-11-25T17:31:46.000000Z"));
  tandem_task_add_comment (task, tandem_comment_new (COMMENT_1, "first\nwith two lines", "phone",
                                                     "2026-11-25T17:31:45.123456Z"));
  task->rev = 7;
  task->updated_at = g_strdup ("2026-11-25T17:31:47.000001Z");
  task->deleted = FALSE;
  task->sync_status = TANDEM_SYNC_SYNCED;
  return task;
}

static TandemList *
make_list (void)
{
  TandemList *list = tandem_list_new ();

  list->id = g_strdup (LIST_ID);
  g_free (list->name);
  list->name = g_strdup ("Groceries & “errands”");
  g_free (list->position);
  list->position = new_position ();
  list->rev = 3;
  list->updated_at = g_strdup ("2026-11-25T10:00:00Z");
  list->sync_status = TANDEM_SYNC_SYNCED;
  return list;
}

static void
assert_task_equal (const TandemTask *a,
                   const TandemTask *b)
{
  /* tandem_task_equal() covers id and every field, comments included. */
  g_assert_true (tandem_task_equal (a, b));
  g_assert_cmpstr (a->title, ==, b->title);
  g_assert_cmpint (a->rev, ==, b->rev);
  g_assert_cmpstr (a->updated_at, ==, b->updated_at);
  g_assert_cmpint (a->deleted, ==, b->deleted);
}

static void
assert_list_equal (const TandemList *a,
                   const TandemList *b)
{
  g_assert_cmpstr (a->id, ==, b->id);
  g_assert_cmpstr (a->name, ==, b->name);
  g_assert_cmpstr (a->position, ==, b->position);
  g_assert_cmpint (a->rev, ==, b->rev);
  g_assert_cmpstr (a->updated_at, ==, b->updated_at);
  g_assert_cmpint (a->deleted, ==, b->deleted);
}

static void
assert_record_equal (const TandemRecord *a,
                     const TandemRecord *b)
{
  g_assert_nonnull (a);
  g_assert_nonnull (b);
  g_assert_cmpint (a->entity, ==, b->entity);
  if (a->entity == TANDEM_ENTITY_TASK)
    {
      g_assert_null (a->list);
      g_assert_null (b->list);
      assert_task_equal (a->task, b->task);
    }
  else
    {
      g_assert_null (a->task);
      g_assert_null (b->task);
      assert_list_equal (a->list, b->list);
    }
}

static TandemOp *
make_op (TandemEntity  entity,
         TandemOpKind  kind,
         gint64        base_rev,
         const char   *patch,
         const char   *base)
{
  TandemOp *op = tandem_op_new ();

  op->op_id = tandem_new_id ();
  op->entity = entity;
  op->entity_id = tandem_new_id ();
  op->kind = kind;
  op->base_rev = base_rev;
  json_object_unref (op->patch);
  op->patch = parse_object (patch);
  if (base != NULL)
    {
      json_object_unref (op->base);
      op->base = parse_object (base);
    }
  op->created_at = g_strdup ("2026-11-25T17:31:45.123456Z");
  return op;
}

static void
assert_op_equal (const TandemOp *a,
                 const TandemOp *b)
{
  g_assert_cmpstr (a->op_id, ==, b->op_id);
  g_assert_cmpint (a->entity, ==, b->entity);
  g_assert_cmpstr (a->entity_id, ==, b->entity_id);
  g_assert_cmpint (a->kind, ==, b->kind);
  g_assert_cmpint (a->base_rev, ==, b->base_rev);
  assert_objects_equal (a->patch, b->patch);
  assert_objects_equal (a->base, b->base);
  g_assert_cmpstr (a->created_at, ==, b->created_at);
  g_assert_cmpstr (a->device_id, ==, b->device_id);
}

/* Parsing */

static void
test_parse_valid (void)
{
  g_autoptr(JsonNode) object = parse ("  {\"a\": [1, 2.5, true, null, \"x\"]}\n");
  g_autoptr(JsonNode) number = parse ("42");
  g_autoptr(JsonNode) string = parse ("\"\\ud83d\\ude00 \\\" \\\\ \\/ \\n\"");
  g_autoptr(JsonNode) nested = NULL;
  g_autoptr(GString) deep = g_string_new (NULL);

  g_assert_true (JSON_NODE_HOLDS_OBJECT (object));
  g_assert_cmpint (json_node_get_int (number), ==, 42);
  g_assert_cmpstr (json_node_get_string (string), ==, "😀 \" \\ / \n");

  {
    g_autoptr(JsonNode) numbers = parse ("[0, -0, 7, -12, 9223372036854775807, -9223372036854775808,"
                                         " 1.5, -0.25, 1e3, 2E-2, 1.5e+2, 1e-400]");
    JsonArray *array = json_node_get_array (numbers);

    g_assert_cmpuint (json_array_get_length (array), ==, 12);
    g_assert_cmpint (json_array_get_int_element (array, 4), ==, G_MAXINT64);
    g_assert_cmpint (json_array_get_int_element (array, 5), ==, G_MININT64);
    g_assert_cmpfloat (json_array_get_double_element (array, 10), ==, 150.0);
  }

  /* Exactly TANDEM_JSON_MAX_DEPTH levels is still fine. */
  for (guint i = 0; i < TANDEM_JSON_MAX_DEPTH; i++)
    g_string_append_c (deep, '[');
  for (guint i = 0; i < TANDEM_JSON_MAX_DEPTH; i++)
    g_string_append_c (deep, ']');
  nested = parse (deep->str);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (nested));
}

static void
test_parse_length (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;

  /* Only @length bytes count: the rest is not part of the text. */
  node = tandem_json_parse ("[1]garbage", 3, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
}

static void
assert_parse_fails (const char       *text,
                    gssize            length,
                    TandemCodecError  code,
                    const char       *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = tandem_json_parse (text, length, &error);

  g_assert_null (node);
  assert_codec_error (error, code, needle);
}

static void
test_parse_invalid_utf8 (void)
{
  assert_parse_fails ("{\"title\": \"caf\xe9\"}", -1, TANDEM_CODEC_ERROR_INVALID_UTF8, "UTF-8");
  /* An overlong "/" and a UTF-8-encoded surrogate are not UTF-8 either. */
  assert_parse_fails ("[\"\xc0\xaf\"]", -1, TANDEM_CODEC_ERROR_INVALID_UTF8, "byte 2");
  assert_parse_fails ("[\"\xed\xa0\x80\"]", -1, TANDEM_CODEC_ERROR_INVALID_UTF8, "UTF-8");
  /* Escapes that would give text json-glib mangles. */
  assert_parse_fails ("[\"a\\u0000b\"]", -1, TANDEM_CODEC_ERROR_INVALID_UTF8, "\\u0000");
  assert_parse_fails ("[\"\\udc00x\"]", -1, TANDEM_CODEC_ERROR_INVALID_UTF8, "surrogate");
  assert_parse_fails ("[\"\\ud800x\"]", -1, TANDEM_CODEC_ERROR_INVALID_UTF8, "surrogate");
  assert_parse_fails ("[\"\\ud800\\u0041\"]", -1, TANDEM_CODEC_ERROR_INVALID_UTF8, "surrogate");
}

static void
test_parse_nul (void)
{
  static const char with_nul[] = "{\"a\":1}\0{}";
  static const char utf16[] = "{\0\"\0a\0\"\0:\0001\0}\0";

  assert_parse_fails (with_nul, sizeof with_nul - 1, TANDEM_CODEC_ERROR_INVALID_UTF8, "NUL byte at byte 7");
  assert_parse_fails (utf16, sizeof utf16 - 1, TANDEM_CODEC_ERROR_INVALID_UTF8, "NUL");
}

static void
test_parse_malformed (void)
{
  static const char *cases[] = {
    "",
    "   \n",
    "{\"title\": \"abc",
    "{\"a\": 1,",
    "[1, 2",
    "[1,]",
    "{a: 1}",
    "{\"a\" 1}",
    "nul",
    "[1] [2]",         /* json-glib alone would take the first value */
    "{} {}",
    "1 2",
    "\"a\" \"b\"",
    "1[2]",
    "[1]]",
    "['x']",           /* json-glib alone accepts single quotes */
    "/* c */ [1]",     /* and comments */
    "[\"\\x41\"]",     /* and unknown escapes */
    "[\"\\u12\"]",
    "[0x10]",          /* and numbers JSON does not have */
    "[01]",
    "[.5]",
    "[1.]",
    "[+1]",
    "[1e]",
    "[-]",
    "{\"a\": 1.5.5}",
    "12 3",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("malformed: %s", cases[i]);
      assert_parse_fails (cases[i], -1, TANDEM_CODEC_ERROR_MALFORMED, "malformed JSON");
    }

  /* Numbers json-glib would wrap or make infinite. */
  assert_parse_fails ("[9223372036854775808]", -1, TANDEM_CODEC_ERROR_RANGE,
                      "the integer 9223372036854775808 at byte 1 does not fit in 64 bits");
  assert_parse_fails ("{\"rev\": 18446744073709551617}", -1, TANDEM_CODEC_ERROR_RANGE, "64 bits");
  assert_parse_fails ("[-9223372036854775809]", -1, TANDEM_CODEC_ERROR_RANGE, "64 bits");
  assert_parse_fails ("[1e400]", -1, TANDEM_CODEC_ERROR_RANGE, "the number 1e400 at byte 1 is too large");

  /* The parser's own message, without its "<data>:" file name. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) node = tandem_json_parse ("{\"a\": tru}", -1, &error);

    g_assert_null (node);
    assert_codec_error (error, TANDEM_CODEC_ERROR_MALFORMED, "malformed JSON: 1:");
    g_assert_null (strstr (error->message, "<data>"));
  }
}

static void
test_parse_deep (void)
{
  const gsize n = 100000;
  g_autofree char *arrays = g_malloc (2 * n + 1);
  g_autoptr(GString) objects = g_string_new (NULL);
  g_autoptr(GString) too_deep = g_string_new (NULL);

  memset (arrays, '[', n);
  memset (arrays + n, ']', n);
  arrays[2 * n] = '\0';

  g_test_timer_start ();
  assert_parse_fails (arrays, -1, TANDEM_CODEC_ERROR_TOO_DEEP, "32");
  /* Unclosed: refused for depth before anything else. */
  assert_parse_fails (arrays, n, TANDEM_CODEC_ERROR_TOO_DEEP, "deep");
  for (gsize i = 0; i < n; i++)
    g_string_append (objects, "{\"a\":");
  assert_parse_fails (objects->str, -1, TANDEM_CODEC_ERROR_TOO_DEEP, "deep");
  g_assert_cmpfloat (g_test_timer_elapsed (), <, 1.0);

  /* One level more than allowed. */
  for (guint i = 0; i <= TANDEM_JSON_MAX_DEPTH; i++)
    g_string_append_c (too_deep, '[');
  for (guint i = 0; i <= TANDEM_JSON_MAX_DEPTH; i++)
    g_string_append_c (too_deep, ']');
  assert_parse_fails (too_deep->str, -1, TANDEM_CODEC_ERROR_TOO_DEEP, "deep");
}

/* Brackets inside strings do not nest; the depth scan must know where
 * strings end, escaped quotes and backslashes included. */
static void
test_parse_deep_strings (void)
{
  g_autoptr(GString) in_string = g_string_new ("[\"a\\\"");
  g_autoptr(GString) after_backslash = g_string_new ("[\"a\\\\\", ");
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 100; i++)
    g_string_append (in_string, "[{");
  g_string_append (in_string, "\"]");
  node = tandem_json_parse (in_string->str, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (json_array_get_string_element (json_node_get_array (node), 0)), ==, 202);

  /* Here the string ends after the escaped backslash: the brackets count. */
  for (guint i = 0; i < 100; i++)
    g_string_append_c (after_backslash, '[');
  for (guint i = 0; i < 101; i++)
    g_string_append_c (after_backslash, ']');
  assert_parse_fails (after_backslash->str, -1, TANDEM_CODEC_ERROR_TOO_DEEP, "deep");
}

static void
test_to_string (void)
{
  g_autoptr(TandemTask) task = make_task ();
  g_autoptr(JsonNode) node = tandem_task_to_json (task);
  g_autofree char *compact = tandem_json_to_string (node, FALSE);
  g_autofree char *pretty = tandem_json_to_string (node, TRUE);
  g_autoptr(JsonNode) from_compact = parse (compact);
  g_autoptr(JsonNode) from_pretty = parse (pretty);

  g_assert_null (strchr (compact, '\n'));
  g_assert_nonnull (strstr (pretty, "\n  \"entity\""));
  g_assert_true (json_node_equal (node, from_compact));
  g_assert_true (json_node_equal (node, from_pretty));
}

/* Tasks and lists */

static void
test_task_round_trip (void)
{
  g_autoptr(TandemTask) task = make_task ();
  g_autoptr(TandemTask) inbox = make_task ();
  g_autoptr(TandemTask) bare = make_task ();
  TandemTask *tasks[3];

  /* Inbox, no due date, never synced. */
  g_clear_pointer (&inbox->list_id, g_free);
  g_clear_pointer (&inbox->due, g_free);
  g_clear_pointer (&inbox->updated_at, g_free);
  inbox->rev = 0;
  inbox->priority = 0;
  inbox->done = FALSE;

  /* No tags, no comments, a tombstone. */
  g_ptr_array_set_size (bare->tags, 0);
  g_ptr_array_set_size (bare->comments, 0);
  g_free (bare->notes);
  bare->notes = g_strdup ("");
  bare->deleted = TRUE;

  tasks[0] = task;
  tasks[1] = inbox;
  tasks[2] = bare;
  for (guint i = 0; i < G_N_ELEMENTS (tasks); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = through_text (tandem_task_to_json (tasks[i]));
      g_autoptr(TandemTask) decoded = tandem_task_from_json (node, &error);

      g_assert_no_error (error);
      assert_task_equal (tasks[i], decoded);
      g_assert_cmpint (decoded->sync_status, ==, TANDEM_SYNC_SYNCED);
    }
}

static void
test_task_shape (void)
{
  static const char *members[] = {
    "entity", "id", "list_id", "title", "notes", "done", "due", "priority",
    "position", "tags", "comments", "rev", "updated_at", "deleted",
  };
  g_autoptr(TandemTask) task = make_task ();
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GList) names = NULL;
  JsonObject *object, *comment;
  JsonArray *tags, *comments;
  guint i = 0;

  g_clear_pointer (&task->due, g_free);
  g_clear_pointer (&task->list_id, g_free);
  node = tandem_task_to_json (task);
  object = json_node_get_object (node);
  names = json_object_get_members (object);
  g_assert_cmpuint (g_list_length (names), ==, G_N_ELEMENTS (members));
  for (const GList *l = names; l != NULL; l = l->next, i++)
    g_assert_cmpstr (l->data, ==, members[i]);

  g_assert_cmpstr (json_object_get_string_member (object, "entity"), ==, "task");
  g_assert_cmpstr (json_object_get_string_member (object, "id"), ==, TASK_ID);
  g_assert_true (json_object_get_null_member (object, "list_id"));
  g_assert_true (json_object_get_null_member (object, "due"));
  g_assert_true (json_object_get_boolean_member (object, "done"));
  g_assert_cmpint (json_object_get_int_member (object, "priority"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (object, "rev"), ==, 7);
  g_assert_false (json_object_get_boolean_member (object, "deleted"));

  tags = json_object_get_array_member (object, "tags");
  g_assert_cmpuint (json_array_get_length (tags), ==, 3);
  g_assert_cmpstr (json_array_get_string_element (tags, 0), ==, "home");
  g_assert_cmpstr (json_array_get_string_element (tags, 1), ==, "work");

  comments = json_object_get_array_member (object, "comments");
  g_assert_cmpuint (json_array_get_length (comments), ==, 2);
  comment = json_array_get_object_element (comments, 0);
  g_assert_cmpuint (json_object_get_size (comment), ==, 4);
  g_assert_cmpstr (json_object_get_string_member (comment, "id"), ==, COMMENT_1);
  g_assert_cmpstr (json_object_get_string_member (comment, "device_id"), ==, "phone");
  g_assert_cmpstr (json_object_get_string_member (comment, "created_at"), ==,
                   "2026-11-25T17:31:45.123456Z");
}

static void
test_task_unknown_members (void)
{
  g_autoptr(TandemTask) task = make_task ();
  g_autoptr(JsonNode) node = tandem_task_to_json (task);
  g_autoptr(TandemTask) decoded = NULL;
  g_autoptr(GError) error = NULL;

  /* A newer server may send members this version does not know. */
  json_object_set_string_member (json_node_get_object (node), "color", "teal");
  json_object_set_int_member (json_node_get_object (node), "estimate", 30);
  decoded = tandem_task_from_json (node, &error);
  g_assert_no_error (error);
  assert_task_equal (task, decoded);
}

typedef struct
{
  const char       *member;
  const char       *json;    /* NULL: remove the member */
  TandemCodecError  code;
  const char       *needle;
} BadMember;

static const BadMember bad_task_members[] = {
  { "entity", NULL, TANDEM_CODEC_ERROR_MISSING, "entity: required member is missing" },
  { "entity", "\"list\"", TANDEM_CODEC_ERROR_INVALID, "entity: expected “task”" },
  { "entity", "1", TANDEM_CODEC_ERROR_TYPE, "entity: must be a string" },
  { "id", NULL, TANDEM_CODEC_ERROR_MISSING, "id: required member is missing" },
  { "id", "5", TANDEM_CODEC_ERROR_TYPE, "id: must be a string, got the integer 5" },
  { "id", "null", TANDEM_CODEC_ERROR_TYPE, "id: must be a string, got null" },
  { "id", "\"not-a-uuid\"", TANDEM_CODEC_ERROR_INVALID, "id: “not-a-uuid” is not a valid id" },
  { "id", "\"6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4\"", TANDEM_CODEC_ERROR_INVALID, "id:" },
  { "list_id", NULL, TANDEM_CODEC_ERROR_MISSING, "list_id: required member is missing" },
  { "list_id", "42", TANDEM_CODEC_ERROR_TYPE, "list_id: must be a string or null" },
  { "list_id", "\"inbox\"", TANDEM_CODEC_ERROR_INVALID, "list_id: “inbox” is not a valid id" },
  { "title", NULL, TANDEM_CODEC_ERROR_MISSING, "title: required member is missing" },
  { "title", "1", TANDEM_CODEC_ERROR_TYPE, "title: must be a string, got the integer 1" },
  { "title", "null", TANDEM_CODEC_ERROR_TYPE, "title: must be a string, got null" },
  { "title", "[\"a\"]", TANDEM_CODEC_ERROR_TYPE, "title: must be a string, got an array" },
  { "title", "\"\"", TANDEM_CODEC_ERROR_INVALID, "title: title is empty" },
  { "title", "\"  \"", TANDEM_CODEC_ERROR_INVALID, "title: title is empty" },
  { "title", "\"a\\u0007b\"", TANDEM_CODEC_ERROR_INVALID, "title: title contains a control character" },
  { "title", "\"two\\nlines\"", TANDEM_CODEC_ERROR_INVALID, "title: title contains a control character" },
  { "notes", NULL, TANDEM_CODEC_ERROR_MISSING, "notes: required member is missing" },
  { "notes", "true", TANDEM_CODEC_ERROR_TYPE, "notes: must be a string, got true" },
  { "notes", "null", TANDEM_CODEC_ERROR_TYPE, "notes: must be a string" },
  { "notes", "\"a\\u001bb\"", TANDEM_CODEC_ERROR_INVALID, "notes: notes contains a control character" },
  { "done", NULL, TANDEM_CODEC_ERROR_MISSING, "done: required member is missing" },
  { "done", "\"true\"", TANDEM_CODEC_ERROR_TYPE, "done: must be true or false, got a string" },
  { "done", "1", TANDEM_CODEC_ERROR_TYPE, "done: must be true or false, got the integer 1" },
  { "done", "null", TANDEM_CODEC_ERROR_TYPE, "done: must be true or false" },
  { "due", NULL, TANDEM_CODEC_ERROR_MISSING, "due: required member is missing" },
  { "due", "20260101", TANDEM_CODEC_ERROR_TYPE, "due: must be a string or null" },
  { "due", "\"2026-02-30\"", TANDEM_CODEC_ERROR_INVALID, "due: “2026-02-30” is not a real calendar date" },
  { "due", "\"2027-02-29\"", TANDEM_CODEC_ERROR_INVALID, "due: “2027-02-29” is not a real calendar date" },
  { "due", "\"2026-2-3\"", TANDEM_CODEC_ERROR_INVALID, "due: “2026-2-3” is not a date" },
  { "due", "\"2026-01-01T00:00:00Z\"", TANDEM_CODEC_ERROR_INVALID, "due:" },
  { "priority", NULL, TANDEM_CODEC_ERROR_MISSING, "priority: required member is missing" },
  { "priority", "7", TANDEM_CODEC_ERROR_RANGE,
    "priority: priority 7 is out of range; use 0 (none) to 3 (high)" },
  { "priority", "-1", TANDEM_CODEC_ERROR_RANGE, "priority: priority -1 is out of range" },
  { "priority", "9223372036854775807", TANDEM_CODEC_ERROR_RANGE, "priority: priority 9223372036854775807" },
  { "priority", "\"2\"", TANDEM_CODEC_ERROR_TYPE, "priority: must be an integer from 0 to 3, got a string" },
  { "priority", "2.0", TANDEM_CODEC_ERROR_TYPE, "priority: must be an integer" },
  { "priority", "1.5", TANDEM_CODEC_ERROR_TYPE, "got the number 1.5" },
  { "priority", "null", TANDEM_CODEC_ERROR_TYPE, "priority: must be an integer" },
  { "position", NULL, TANDEM_CODEC_ERROR_MISSING, "position: required member is missing" },
  { "position", "1", TANDEM_CODEC_ERROR_TYPE, "position: must be a string" },
  { "position", "\"!!\"", TANDEM_CODEC_ERROR_INVALID, "position: “!!” is not a valid ordering key" },
  { "tags", NULL, TANDEM_CODEC_ERROR_MISSING, "tags: required member is missing" },
  { "tags", "\"work\"", TANDEM_CODEC_ERROR_TYPE, "tags: must be an array, got a string" },
  { "tags", "{}", TANDEM_CODEC_ERROR_TYPE, "tags: must be an array, got an object" },
  { "tags", "[\"ok\", 1]", TANDEM_CODEC_ERROR_TYPE, "tags[1]: must be a string, got the integer 1" },
  { "tags", "[\"two words\"]", TANDEM_CODEC_ERROR_INVALID, "tags[0]: tag “two words” contains a space" },
  { "tags", "[\"a,b\"]", TANDEM_CODEC_ERROR_INVALID, "tags[0]:" },
  { "tags", "[\"ok\", \"\"]", TANDEM_CODEC_ERROR_INVALID, "tags[1]: a tag cannot be empty" },
  { "comments", NULL, TANDEM_CODEC_ERROR_MISSING, "comments: required member is missing" },
  { "comments", "{}", TANDEM_CODEC_ERROR_TYPE, "comments: must be an array" },
  { "comments", "[1]", TANDEM_CODEC_ERROR_TYPE, "comments[0]: must be an object, got the integer 1" },
  { "comments",
    "[{\"id\":\"x\",\"body\":\"b\",\"device_id\":\"d\",\"created_at\":\"2026-01-01T00:00:00Z\"}]",
    TANDEM_CODEC_ERROR_INVALID, "comments[0].id: “x” is not a valid id" },
  { "comments", "[{\"id\":\"" COMMENT_1 "\",\"device_id\":\"d\",\"created_at\":\"2026-01-01T00:00:00Z\"}]",
    TANDEM_CODEC_ERROR_MISSING, "comments[0].body: required member is missing" },
  { "comments",
    "[{\"id\":\"" COMMENT_1 "\",\"body\":\" \",\"device_id\":\"d\",\"created_at\":\"2026-01-01T00:00:00Z\"}]",
    TANDEM_CODEC_ERROR_INVALID, "comments[0].body: comment is empty" },
  { "comments",
    "[{\"id\":\"" COMMENT_1 "\",\"body\":\"b\",\"device_id\":\"\",\"created_at\":\"2026-01-01T00:00:00Z\"}]",
    TANDEM_CODEC_ERROR_INVALID, "comments[0].device_id: must not be empty" },
  { "comments",
    "[{\"id\":\"" COMMENT_1 "\",\"body\":\"b\",\"device_id\":\"d\",\"created_at\":\"yesterday\"}]",
    TANDEM_CODEC_ERROR_INVALID, "comments[0].created_at: “yesterday” is not an RFC 3339 timestamp" },
  { "comments",
    "[{\"id\":\"" COMMENT_1 "\",\"body\":\"b\",\"device_id\":\"d\",\"created_at\":\"2026-01-01T00:00:00Z\"},"
    " {\"id\":\"" COMMENT_1 "\",\"body\":\"c\",\"device_id\":\"d\",\"created_at\":\"2026-01-02T00:00:00Z\"}]",
    TANDEM_CODEC_ERROR_INVALID, "comments[1].id: a comment with this id is already in the task" },
  { "rev", NULL, TANDEM_CODEC_ERROR_MISSING, "rev: required member is missing" },
  { "rev", "-1", TANDEM_CODEC_ERROR_RANGE, "rev: must be an integer of 0 or more, got -1" },
  { "rev", "1.5", TANDEM_CODEC_ERROR_TYPE, "rev: must be an integer, got the number 1.5" },
  { "rev", "3.0", TANDEM_CODEC_ERROR_TYPE, "rev: must be an integer" },
  { "rev", "\"3\"", TANDEM_CODEC_ERROR_TYPE, "rev: must be an integer, got a string" },
  { "rev", "null", TANDEM_CODEC_ERROR_TYPE, "rev: must be an integer, got null" },
  { "updated_at", NULL, TANDEM_CODEC_ERROR_MISSING, "updated_at: required member is missing" },
  { "updated_at", "5", TANDEM_CODEC_ERROR_TYPE, "updated_at: must be a string or null" },
  { "updated_at", "\"2026-13-01T00:00:00Z\"", TANDEM_CODEC_ERROR_INVALID, "updated_at: “2026-13-01T00:00:00Z”" },
  { "updated_at", "\"2026-01-01T00:00:00\"", TANDEM_CODEC_ERROR_INVALID, "updated_at:" },
  { "deleted", NULL, TANDEM_CODEC_ERROR_MISSING, "deleted: required member is missing" },
  { "deleted", "\"false\"", TANDEM_CODEC_ERROR_TYPE, "deleted: must be true or false" },
  { "deleted", "0", TANDEM_CODEC_ERROR_TYPE, "deleted: must be true or false" },
};

static void
set_or_remove (JsonObject *object,
               const char *member,
               JsonNode   *value)
{
  if (value == NULL)
    {
      g_assert_true (json_object_has_member (object, member));
      json_object_remove_member (object, member);
    }
  else
    json_object_set_member (object, member, value);
}

static guint
count_occurrences (const char *haystack,
                   const char *needle)
{
  guint n = 0;

  for (const char *p = strstr (haystack, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

static void
test_task_bad_members (void)
{
  g_autoptr(TandemTask) task = make_task ();

  for (guint i = 0; i < G_N_ELEMENTS (bad_task_members); i++)
    {
      const BadMember *bad = &bad_task_members[i];
      g_autoptr(JsonNode) node = tandem_task_to_json (task);
      g_autoptr(TandemTask) decoded = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("task.%s = %s", bad->member, bad->json ? bad->json : "(absent)");
      set_or_remove (json_node_get_object (node), bad->member, bad->json ? parse (bad->json) : NULL);
      decoded = tandem_task_from_json (node, &error);
      g_assert_null (decoded);
      assert_codec_error (error, bad->code, bad->needle);

      /* The message starts with the member, named once ("list_id: …",
       * never "list_id: list_id: …"). */
      {
        g_autofree char *prefix = g_strconcat (bad->member, ": ", NULL);

        g_assert_true (g_str_has_prefix (error->message, bad->member));
        g_assert_cmpuint (count_occurrences (error->message, prefix), <=, 1);
      }
    }
}

static JsonNode *
string_of_length (gsize      length,
                  char       fill)
{
  g_autofree char *str = g_strnfill (length, fill);

  return json_node_init_string (json_node_alloc (), str);
}

static void
assert_task_member_refused (const TandemTask *task,
                            const char       *member,
                            JsonNode         *value,
                            TandemCodecError  code,
                            const char       *needle)
{
  g_autoptr(JsonNode) node = tandem_task_to_json (task);
  g_autoptr(TandemTask) decoded = NULL;
  g_autoptr(GError) error = NULL;

  json_object_set_member (json_node_get_object (node), member, value);
  decoded = tandem_task_from_json (node, &error);
  g_assert_null (decoded);
  assert_codec_error (error, code, needle);
}

static void
test_task_limits (void)
{
  g_autoptr(TandemTask) task = make_task ();
  g_autoptr(JsonNode) node = tandem_task_to_json (task);
  g_autoptr(TandemTask) decoded = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *tags = json_array_new ();
  JsonArray *long_tag = json_array_new ();
  JsonObject *object = json_node_get_object (node);

  /* At the limits: accepted. */
  json_object_set_member (object, "title", string_of_length (TANDEM_TITLE_MAX, 't'));
  json_object_set_member (object, "notes", string_of_length (TANDEM_NOTES_MAX, 'n'));
  decoded = tandem_task_from_json (node, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (decoded->title), ==, TANDEM_TITLE_MAX);

  /* One byte over: a range error naming the member. */
  assert_task_member_refused (task, "title", string_of_length (TANDEM_TITLE_MAX + 1, 't'),
                              TANDEM_CODEC_ERROR_RANGE, "title: title is too long (1001 bytes; at most 1000)");
  assert_task_member_refused (task, "notes", string_of_length (TANDEM_NOTES_MAX + 1, 'n'),
                              TANDEM_CODEC_ERROR_RANGE, "notes: notes is too long");
  /* A huge string does not make a huge message. */
  {
    g_autoptr(JsonNode) big = tandem_task_to_json (task);
    g_autoptr(TandemTask) refused = NULL;
    g_autoptr(GError) big_error = NULL;

    json_object_set_member (json_node_get_object (big), "id", string_of_length (4 * 1024 * 1024, 'x'));
    refused = tandem_task_from_json (big, &big_error);
    assert_codec_error (big_error, TANDEM_CODEC_ERROR_INVALID, "id: ");
    g_assert_cmpuint (strlen (big_error->message), <=, 1100);
  }

  for (guint i = 0; i <= TANDEM_TAGS_MAX; i++)
    {
      char tag[16];

      g_snprintf (tag, sizeof tag, "t%u", i);
      json_array_add_string_element (tags, tag);
    }
  assert_task_member_refused (task, "tags", json_node_init_array (json_node_alloc (), tags),
                              TANDEM_CODEC_ERROR_RANGE, "tags: 65 tags; a task has at most 64");
  json_array_unref (tags);

  json_array_add_element (long_tag, string_of_length (TANDEM_TAG_MAX + 1, 'g'));
  assert_task_member_refused (task, "tags", json_node_init_array (json_node_alloc (), long_tag),
                              TANDEM_CODEC_ERROR_RANGE, "tags[0]: tag is too long");
  json_array_unref (long_tag);

  {
    g_autofree char *body = g_strnfill (TANDEM_COMMENT_MAX + 1, 'c');
    g_autofree char *text = g_strdup_printf ("[{\"id\":\"" COMMENT_1 "\",\"body\":\"%s\","
                                             "\"device_id\":\"d\",\"created_at\":\"2026-01-01T00:00:00Z\"}]",
                                             body);

    assert_task_member_refused (task, "comments", parse (text), TANDEM_CODEC_ERROR_RANGE,
                                "comments[0].body: comment is too long");
  }
}

/* Strings in trees built by hand have not been through the parser. */
static void
test_task_hand_built_invalid_utf8 (void)
{
  g_autoptr(TandemTask) task = make_task ();

  assert_task_member_refused (task, "title", json_node_init_string (json_node_alloc (), "caf\xe9"),
                              TANDEM_CODEC_ERROR_INVALID_UTF8, "title: is not valid UTF-8");
}

static void
test_task_not_object (void)
{
  g_autoptr(JsonNode) node = parse ("[1, 2]");
  g_autoptr(TandemTask) task = NULL;
  g_autoptr(GError) error = NULL;

  task = tandem_task_from_json (node, &error);
  g_assert_null (task);
  assert_codec_error (error, TANDEM_CODEC_ERROR_TYPE, "a task must be a JSON object, got an array");
}

static void
test_list_round_trip (void)
{
  g_autoptr(TandemList) list = make_list ();
  g_autoptr(TandemList) tombstone = make_list ();
  TandemList *lists[2];

  tombstone->deleted = TRUE;
  g_clear_pointer (&tombstone->updated_at, g_free);
  lists[0] = list;
  lists[1] = tombstone;

  for (guint i = 0; i < G_N_ELEMENTS (lists); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = through_text (tandem_list_to_json (lists[i]));
      g_autoptr(TandemList) decoded = tandem_list_from_json (node, &error);
      g_autoptr(GList) names = json_object_get_members (json_node_get_object (node));

      g_assert_no_error (error);
      assert_list_equal (lists[i], decoded);
      g_assert_cmpuint (g_list_length (names), ==, 7);
    }
}

static const BadMember bad_list_members[] = {
  { "entity", "\"task\"", TANDEM_CODEC_ERROR_INVALID, "entity: expected “list”, got “task”" },
  { "id", "\"\"", TANDEM_CODEC_ERROR_INVALID, "id:" },
  { "name", NULL, TANDEM_CODEC_ERROR_MISSING, "name: required member is missing" },
  { "name", "7", TANDEM_CODEC_ERROR_TYPE, "name: must be a string" },
  { "name", "\" \"", TANDEM_CODEC_ERROR_INVALID, "name: list name is empty" },
  { "position", "\"\\u00e9\"", TANDEM_CODEC_ERROR_INVALID, "position:" },
  { "rev", "-3", TANDEM_CODEC_ERROR_RANGE, "rev:" },
  { "rev", "2.5", TANDEM_CODEC_ERROR_TYPE, "rev:" },
  { "updated_at", NULL, TANDEM_CODEC_ERROR_MISSING, "updated_at:" },
  { "deleted", "null", TANDEM_CODEC_ERROR_TYPE, "deleted: must be true or false" },
};

static void
test_list_bad_members (void)
{
  g_autoptr(TandemList) list = make_list ();

  for (guint i = 0; i < G_N_ELEMENTS (bad_list_members); i++)
    {
      const BadMember *bad = &bad_list_members[i];
      g_autoptr(JsonNode) node = tandem_list_to_json (list);
      g_autoptr(TandemList) decoded = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("list.%s = %s", bad->member, bad->json ? bad->json : "(absent)");
      set_or_remove (json_node_get_object (node), bad->member, bad->json ? parse (bad->json) : NULL);
      decoded = tandem_list_from_json (node, &error);
      g_assert_null (decoded);
      assert_codec_error (error, bad->code, bad->needle);
    }

  {
    g_autoptr(JsonNode) node = tandem_list_to_json (list);
    g_autoptr(TandemList) decoded = NULL;
    g_autoptr(GError) error = NULL;

    json_object_set_member (json_node_get_object (node), "name",
                            string_of_length (TANDEM_LIST_NAME_MAX + 1, 'l'));
    decoded = tandem_list_from_json (node, &error);
    assert_codec_error (error, TANDEM_CODEC_ERROR_RANGE, "name: list name is too long");
  }
}

static void
test_record (void)
{
  g_autoptr(TandemRecord) task = tandem_record_new_task (make_task ());
  g_autoptr(TandemRecord) list = tandem_record_new_list (make_list ());
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) task_node = through_text (tandem_record_to_json (task));
  g_autoptr(JsonNode) list_node = through_text (tandem_record_to_json (list));
  g_autoptr(TandemRecord) task_back = tandem_record_from_json (task_node, &error);
  g_autoptr(TandemRecord) list_back = NULL;
  g_autoptr(JsonNode) project = parse ("{\"entity\": \"project\", \"id\": \"" TASK_ID "\"}");
  g_autoptr(JsonNode) no_entity = parse ("{\"id\": \"" TASK_ID "\"}");
  g_autoptr(TandemRecord) refused = NULL;

  g_assert_no_error (error);
  assert_record_equal (task, task_back);
  list_back = tandem_record_from_json (list_node, &error);
  g_assert_no_error (error);
  assert_record_equal (list, list_back);

  refused = tandem_record_from_json (project, &error);
  g_assert_null (refused);
  assert_codec_error (error, TANDEM_CODEC_ERROR_INVALID, "entity: “project” is not an entity (task, list)");
  g_clear_error (&error);
  refused = tandem_record_from_json (no_entity, &error);
  g_assert_null (refused);
  assert_codec_error (error, TANDEM_CODEC_ERROR_MISSING, "entity: required member is missing");
}

/* Ops */

static GPtrArray *
make_all_ops (void)
{
  GPtrArray *ops = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_op_free);
  g_autofree char *position = new_position ();
  g_autofree char *create = g_strdup_printf (
      "{\"title\": \"Buy milk\", \"notes\": \"2 litres\\n\", \"done\": false, \"due\": \"2026-12-24\","
      " \"priority\": 3, \"list_id\": \"" LIST_ID "\", \"position\": \"%s\", \"tags\": [\"home\", \"errand\"]}",
      position);
  g_autofree char *list_create = g_strdup_printf ("{\"name\": \"Groceries\", \"position\": \"%s\"}",
                                                  position);

  g_ptr_array_add (ops, make_op (TANDEM_ENTITY_TASK, TANDEM_OP_CREATE, 0, create, NULL));
  g_ptr_array_add (ops, make_op (TANDEM_ENTITY_TASK, TANDEM_OP_CREATE, 0, "{\"title\": \"Inbox\", \"list_id\": null, \"due\": null}", "{}"));
  g_ptr_array_add (ops, make_op (TANDEM_ENTITY_TASK, TANDEM_OP_UPDATE, 4,
                                 "{\"title\": \"Buy oat milk\", \"priority\": 1}",
                                 "{\"title\": \"Buy milk\", \"priority\": 3}"));
  g_ptr_array_add (ops, make_op (TANDEM_ENTITY_TASK, TANDEM_OP_UPDATE, 0, "{\"done\": true}", NULL));
  g_ptr_array_add (ops, make_op (TANDEM_ENTITY_TASK, TANDEM_OP_DELETE, 5, "{}", NULL));
  g_ptr_array_add (ops, make_op (TANDEM_ENTITY_TASK, TANDEM_OP_RESTORE, 6, "{}", NULL));
  g_ptr_array_add (ops, make_op (TANDEM_ENTITY_TASK, TANDEM_OP_RESTORE, 6, "{\"notes\": \"kept\"}", "{\"notes\": \"\"}"));
  g_ptr_array_add (ops, make_op (TANDEM_ENTITY_TASK, TANDEM_OP_TAG_ADD, 7, "{\"tag\": \"urgent\"}", NULL));
  g_ptr_array_add (ops, make_op (TANDEM_ENTITY_TASK, TANDEM_OP_TAG_REMOVE, 8, "{\"tag\": \"home\"}", NULL));
  g_ptr_array_add (ops, make_op (TANDEM_ENTITY_TASK, TANDEM_OP_COMMENT_ADD, 9,
                                 "{\"comment_id\": \"" COMMENT_1 "\", \"body\": \"Done by Friday?\\nThanks\"}", NULL));
  g_ptr_array_add (ops, make_op (TANDEM_ENTITY_LIST, TANDEM_OP_CREATE, 0, list_create, NULL));
  g_ptr_array_add (ops, make_op (TANDEM_ENTITY_LIST, TANDEM_OP_CREATE, 0, "{\"name\": \"Work\"}", NULL));
  g_ptr_array_add (ops, make_op (TANDEM_ENTITY_LIST, TANDEM_OP_UPDATE, 2, "{\"name\": \"Work stuff\"}", "{\"name\": \"Work\"}"));
  g_ptr_array_add (ops, make_op (TANDEM_ENTITY_LIST, TANDEM_OP_DELETE, 3, "{}", NULL));
  g_ptr_array_add (ops, make_op (TANDEM_ENTITY_LIST, TANDEM_OP_RESTORE, 4, "{}", NULL));
  g_ptr_array_add (ops, make_op (TANDEM_ENTITY_LIST, TANDEM_OP_RESTORE, 4, "{\"name\": \"Back\"}", NULL));
  return ops;
}

static void
test_op_round_trip (void)
{
  g_autoptr(GPtrArray) ops = make_all_ops ();
  gboolean kinds[TANDEM_OP_COMMENT_ADD + 1][2] = { { FALSE } };

  for (guint i = 0; i < ops->len; i++)
    {
      TandemOp *op = g_ptr_array_index (ops, i);
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = through_text (tandem_op_to_json (op));
      g_autoptr(TandemOp) decoded = tandem_op_from_json (node, &error);

      g_test_message ("op %u: %s %s", i, tandem_entity_to_string (op->entity),
                      tandem_op_kind_to_string (op->kind));
      g_assert_no_error (error);
      assert_op_equal (op, decoded);
      kinds[op->kind][op->entity] = TRUE;
    }

  /* Every kind for tasks, the four record kinds for lists. */
  for (guint k = 0; k <= TANDEM_OP_COMMENT_ADD; k++)
    {
      g_assert_true (kinds[k][TANDEM_ENTITY_TASK]);
      g_assert_true (kinds[k][TANDEM_ENTITY_LIST] == (k <= TANDEM_OP_RESTORE));
    }
}

static void
test_op_shape (void)
{
  static const char *members[] = {
    "op_id", "entity", "entity_id", "kind", "base_rev", "patch", "base", "created_at",
  };
  g_autoptr(TandemOp) op = make_op (TANDEM_ENTITY_TASK, TANDEM_OP_DELETE, 5, "{}", NULL);
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonNode) bare_node = NULL;
  g_autoptr(TandemOp) decoded = NULL;
  g_autoptr(GList) names = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  guint i = 0;

  /* device_id travels in the push envelope, not in the op. */
  op->device_id = g_strdup (DEVICE);
  node = tandem_op_to_json (op);
  object = json_node_get_object (node);
  names = json_object_get_members (object);
  g_assert_cmpuint (g_list_length (names), ==, G_N_ELEMENTS (members));
  for (const GList *l = names; l != NULL; l = l->next, i++)
    g_assert_cmpstr (l->data, ==, members[i]);
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (object, "base")), ==, 0);
  g_assert_cmpstr (json_object_get_string_member (object, "kind"), ==, "delete");
  g_assert_cmpint (json_object_get_int_member (object, "base_rev"), ==, 5);

  /* base and created_at are optional; absent base is an empty object. */
  json_object_remove_member (object, "base");
  json_object_remove_member (object, "created_at");
  decoded = tandem_op_from_json (node, &error);
  g_assert_no_error (error);
  g_assert_nonnull (decoded->base);
  g_assert_cmpuint (json_object_get_size (decoded->base), ==, 0);
  g_assert_null (decoded->created_at);
  g_assert_null (decoded->device_id);

  g_clear_pointer (&op->created_at, g_free);
  bare_node = tandem_op_to_json (op);
  g_assert_false (json_object_has_member (json_node_get_object (bare_node), "created_at"));
}

/* The decoded op must not share the caller's tree, nor the encoded tree
 * the op's. */
static void
test_op_no_aliasing (void)
{
  g_autoptr(JsonNode) node = parse ("{\"op_id\": \"" OP_ID "\", \"entity\": \"task\", \"entity_id\": \""
                                    TASK_ID "\", \"kind\": \"update\", \"base_rev\": 2,"
                                    " \"patch\": {\"tags\": [\"a\"]}, \"base\": {\"tags\": []}}");
  g_autoptr(TandemOp) op = NULL;
  g_autoptr(JsonNode) encoded = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *patch;

  op = tandem_op_from_json (node, &error);
  g_assert_no_error (error);
  patch = json_object_get_object_member (json_node_get_object (node), "patch");
  json_array_add_string_element (json_object_get_array_member (patch, "tags"), "b");
  json_object_set_int_member (patch, "priority", 1);
  g_assert_cmpuint (json_object_get_size (op->patch), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (op->patch, "tags")), ==, 1);

  encoded = tandem_op_to_json (op);
  json_object_set_int_member (json_object_get_object_member (json_node_get_object (encoded), "patch"),
                              "priority", 2);
  g_assert_false (json_object_has_member (op->patch, "priority"));
}

static const char valid_op[] =
  "{\"op_id\": \"" OP_ID "\", \"entity\": \"task\", \"entity_id\": \"" TASK_ID "\","
  " \"kind\": \"update\", \"base_rev\": 3, \"patch\": {\"title\": \"New\"},"
  " \"base\": {\"title\": \"Old\"}, \"created_at\": \"2026-11-25T17:31:45Z\"}";

static const BadMember bad_op_members[] = {
  { "op_id", NULL, TANDEM_CODEC_ERROR_MISSING, "op_id: required member is missing" },
  { "op_id", "5", TANDEM_CODEC_ERROR_TYPE, "op_id: must be a string" },
  { "op_id", "\"abc\"", TANDEM_CODEC_ERROR_INVALID, "op_id: “abc” is not a valid id" },
  { "entity", NULL, TANDEM_CODEC_ERROR_MISSING, "entity: required member is missing" },
  { "entity", "\"project\"", TANDEM_CODEC_ERROR_INVALID, "entity: “project” is not an entity (task, list)" },
  { "entity", "true", TANDEM_CODEC_ERROR_TYPE, "entity: must be a string" },
  { "entity_id", NULL, TANDEM_CODEC_ERROR_MISSING, "entity_id: required member is missing" },
  { "entity_id", "\"6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4g\"", TANDEM_CODEC_ERROR_INVALID, "entity_id:" },
  { "kind", NULL, TANDEM_CODEC_ERROR_MISSING, "kind: required member is missing" },
  { "kind", "\"frobnicate\"", TANDEM_CODEC_ERROR_INVALID,
    "kind: “frobnicate” is not an op kind (create, update, delete, restore, tag_add, tag_remove, comment_add)" },
  { "kind", "\"UPDATE\"", TANDEM_CODEC_ERROR_INVALID, "kind: “UPDATE”" },
  { "kind", "1", TANDEM_CODEC_ERROR_TYPE, "kind: must be a string" },
  { "base_rev", NULL, TANDEM_CODEC_ERROR_MISSING, "base_rev: required member is missing" },
  { "base_rev", "-1", TANDEM_CODEC_ERROR_RANGE, "base_rev: must be an integer of 0 or more, got -1" },
  { "base_rev", "1.5", TANDEM_CODEC_ERROR_TYPE, "base_rev: must be an integer, got the number 1.5" },
  { "base_rev", "\"3\"", TANDEM_CODEC_ERROR_TYPE, "base_rev: must be an integer, got a string" },
  { "patch", NULL, TANDEM_CODEC_ERROR_MISSING, "patch: required member is missing" },
  { "patch", "[]", TANDEM_CODEC_ERROR_TYPE, "patch: must be an object, got an array" },
  { "patch", "null", TANDEM_CODEC_ERROR_TYPE, "patch: must be an object, got null" },
  { "patch", "{}", TANDEM_CODEC_ERROR_INVALID, "patch: an update must set at least one field" },
  { "patch", "{\"priority\": 7}", TANDEM_CODEC_ERROR_RANGE,
    "patch.priority: priority 7 is out of range; use 0 (none) to 3 (high)" },
  { "patch", "{\"priority\": \"high\"}", TANDEM_CODEC_ERROR_TYPE, "patch.priority: must be an integer" },
  { "patch", "{\"titel\": \"typo\"}", TANDEM_CODEC_ERROR_INVALID, "patch.titel: not a task field a patch can set" },
  { "patch", "{\"title\": \"ok\", \"deleted\": true}", TANDEM_CODEC_ERROR_INVALID, "patch.deleted:" },
  { "patch", "{\"comments\": []}", TANDEM_CODEC_ERROR_INVALID, "patch.comments:" },
  { "patch", "{\"id\": \"" TASK_ID "\"}", TANDEM_CODEC_ERROR_INVALID, "patch.id:" },
  { "patch", "{\"title\": \"\"}", TANDEM_CODEC_ERROR_INVALID, "patch.title: title is empty" },
  { "patch", "{\"due\": \"2026-02-30\"}", TANDEM_CODEC_ERROR_INVALID, "patch.due: “2026-02-30” is not a real calendar date" },
  { "patch", "{\"done\": \"yes\"}", TANDEM_CODEC_ERROR_TYPE, "patch.done: must be true or false" },
  { "patch", "{\"list_id\": 3}", TANDEM_CODEC_ERROR_TYPE, "patch.list_id: must be a string or null" },
  { "patch", "{\"tags\": [\"ok\", \"not ok\"]}", TANDEM_CODEC_ERROR_INVALID, "patch.tags[1]: tag “not ok”" },
  { "patch", "{\"tags\": \"one\"}", TANDEM_CODEC_ERROR_TYPE, "patch.tags: must be an array" },
  { "base", "\"old\"", TANDEM_CODEC_ERROR_TYPE, "base: must be an object, got a string" },
  { "base", "[]", TANDEM_CODEC_ERROR_TYPE, "base: must be an object" },
  { "created_at", "5", TANDEM_CODEC_ERROR_TYPE, "created_at: must be a string" },
  { "created_at", "null", TANDEM_CODEC_ERROR_TYPE, "created_at: must be a string" },
  { "created_at", "\"soon\"", TANDEM_CODEC_ERROR_INVALID, "created_at: “soon” is not an RFC 3339 timestamp" },
};

static void
test_op_bad_members (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad_op_members); i++)
    {
      const BadMember *bad = &bad_op_members[i];
      g_autoptr(JsonNode) node = parse (valid_op);
      g_autoptr(TandemOp) decoded = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("op.%s = %s", bad->member, bad->json ? bad->json : "(absent)");
      set_or_remove (json_node_get_object (node), bad->member, bad->json ? parse (bad->json) : NULL);
      decoded = tandem_op_from_json (node, &error);
      g_assert_null (decoded);
      assert_codec_error (error, bad->code, bad->needle);
    }
}

typedef struct
{
  const char       *entity;
  const char       *kind;
  gint64            base_rev;
  const char       *patch;
  TandemCodecError  code;     /* -1: accepted */
  const char       *needle;
} PatchCase;

#define ACCEPTED ((TandemCodecError) -1)

static const PatchCase patch_cases[] = {
  /* Task create. */
  { "task", "create", 0, "{\"title\": \"A\"}", ACCEPTED, NULL },
  { "task", "create", 0, "{\"notes\": \"no title\"}", TANDEM_CODEC_ERROR_MISSING,
    "patch.title: required member is missing; a create needs a title" },
  { "task", "create", 0, "{}", TANDEM_CODEC_ERROR_MISSING, "patch.title:" },
  { "task", "create", 3, "{\"title\": \"A\"}", TANDEM_CODEC_ERROR_INVALID, "base_rev: must be 0 for a create, got 3" },
  { "task", "create", 0, "{\"title\": \"A\", \"tags\": [\"x\", \"y\"], \"priority\": 0}", ACCEPTED, NULL },
  { "task", "create", 0, "{\"title\": \"A\", \"deleted\": false}", TANDEM_CODEC_ERROR_INVALID, "patch.deleted:" },
  { "task", "create", 0, "{\"title\": \"A\", \"priority\": 4}", TANDEM_CODEC_ERROR_RANGE, "patch.priority: priority 4" },
  /* Update: base_rev 0 is allowed (a plain client may send it). */
  { "task", "update", 0, "{\"notes\": \"\"}", ACCEPTED, NULL },
  { "task", "update", 1, "{}", TANDEM_CODEC_ERROR_INVALID, "patch: an update must set at least one field" },
  /* Delete. */
  { "task", "delete", 2, "{}", ACCEPTED, NULL },
  { "task", "delete", 2, "{\"title\": \"x\"}", TANDEM_CODEC_ERROR_INVALID,
    "patch.title: a delete carries no fields; its patch must be {}" },
  /* Restore. */
  { "task", "restore", 2, "{}", ACCEPTED, NULL },
  { "task", "restore", 2, "{\"title\": \"Back\", \"done\": false}", ACCEPTED, NULL },
  { "task", "restore", 2, "{\"flag\": true}", TANDEM_CODEC_ERROR_INVALID, "patch.flag:" },
  /* Tags. */
  { "task", "tag_add", 2, "{\"tag\": \"urgent\"}", ACCEPTED, NULL },
  { "task", "tag_remove", 2, "{\"tag\": \"urgent\"}", ACCEPTED, NULL },
  { "task", "tag_add", 2, "{}", TANDEM_CODEC_ERROR_MISSING, "patch.tag: required member is missing" },
  { "task", "tag_add", 2, "{\"tag\": 5}", TANDEM_CODEC_ERROR_TYPE, "patch.tag: must be a string" },
  { "task", "tag_add", 2, "{\"tag\": \"two words\"}", TANDEM_CODEC_ERROR_INVALID, "patch.tag: tag “two words”" },
  { "task", "tag_remove", 2, "{\"tag\": \"\"}", TANDEM_CODEC_ERROR_INVALID, "patch.tag: a tag cannot be empty" },
  { "task", "tag_add", 2, "{\"tag\": \"a\", \"color\": \"red\"}", TANDEM_CODEC_ERROR_INVALID,
    "patch.color: not a member of a tag_add patch (it holds only tag)" },
  { "task", "tag_add", 2, "{\"tags\": [\"a\"]}", TANDEM_CODEC_ERROR_INVALID, "patch.tags:" },
  /* Comments. */
  { "task", "comment_add", 2, "{\"comment_id\": \"" COMMENT_1 "\", \"body\": \"hi\"}", ACCEPTED, NULL },
  { "task", "comment_add", 2, "{\"comment_id\": \"" COMMENT_1 "\"}", TANDEM_CODEC_ERROR_MISSING,
    "patch.body: required member is missing" },
  { "task", "comment_add", 2, "{\"body\": \"hi\"}", TANDEM_CODEC_ERROR_MISSING, "patch.comment_id:" },
  { "task", "comment_add", 2, "{\"comment_id\": \"1\", \"body\": \"hi\"}", TANDEM_CODEC_ERROR_INVALID,
    "patch.comment_id: “1” is not a valid id" },
  { "task", "comment_add", 2, "{\"comment_id\": \"" COMMENT_1 "\", \"body\": \"\\n\"}",
    TANDEM_CODEC_ERROR_INVALID, "patch.body: comment is empty" },
  { "task", "comment_add", 2, "{\"comment_id\": \"" COMMENT_1 "\", \"body\": [\"hi\"]}",
    TANDEM_CODEC_ERROR_TYPE, "patch.body: must be a string" },
  { "task", "comment_add", 2, "{\"comment_id\": \"" COMMENT_1 "\", \"body\": \"hi\", \"author\": \"me\"}",
    TANDEM_CODEC_ERROR_INVALID, "patch.author:" },
  /* Lists. */
  { "list", "create", 0, "{\"name\": \"Home\"}", ACCEPTED, NULL },
  { "list", "create", 0, "{\"position\": \"V\"}", TANDEM_CODEC_ERROR_MISSING,
    "patch.name: required member is missing; a list create needs a name" },
  { "list", "create", 1, "{\"name\": \"Home\"}", TANDEM_CODEC_ERROR_INVALID, "base_rev: must be 0 for a create" },
  { "list", "create", 0, "{\"name\": \"Home\", \"title\": \"x\"}", TANDEM_CODEC_ERROR_INVALID,
    "patch.title: not a member of a create patch (it holds only name, position)" },
  { "list", "create", 0, "{\"name\": \"\"}", TANDEM_CODEC_ERROR_INVALID, "patch.name: list name is empty" },
  { "list", "create", 0, "{\"name\": 1}", TANDEM_CODEC_ERROR_TYPE, "patch.name: must be a string" },
  { "list", "update", 2, "{\"position\": \"!\"}", TANDEM_CODEC_ERROR_INVALID, "patch.position: “!” is not a valid ordering key" },
  { "list", "update", 2, "{}", TANDEM_CODEC_ERROR_INVALID, "patch: an update must set at least one field" },
  { "list", "delete", 2, "{}", ACCEPTED, NULL },
  { "list", "delete", 2, "{\"name\": \"x\"}", TANDEM_CODEC_ERROR_INVALID, "patch.name: a delete carries no fields" },
  { "list", "restore", 2, "{}", ACCEPTED, NULL },
  { "list", "tag_add", 2, "{\"tag\": \"a\"}", TANDEM_CODEC_ERROR_INVALID, "kind: a list has no tag_add" },
  { "list", "tag_remove", 2, "{\"tag\": \"a\"}", TANDEM_CODEC_ERROR_INVALID, "kind: a list has no tag_remove" },
  { "list", "comment_add", 2, "{\"comment_id\": \"" COMMENT_1 "\", \"body\": \"hi\"}",
    TANDEM_CODEC_ERROR_INVALID, "kind: a list has no comment_add" },
};

static void
test_op_patches (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (patch_cases); i++)
    {
      const PatchCase *c = &patch_cases[i];
      g_autofree char *text = g_strdup_printf ("{\"op_id\": \"" OP_ID "\", \"entity\": \"%s\","
                                               " \"entity_id\": \"" TASK_ID "\", \"kind\": \"%s\","
                                               " \"base_rev\": %" G_GINT64_FORMAT ", \"patch\": %s}",
                                               c->entity, c->kind, c->base_rev, c->patch);
      g_autoptr(JsonNode) node = parse (text);
      g_autoptr(TandemOp) op = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", text);
      op = tandem_op_from_json (node, &error);
      if (c->code == ACCEPTED)
        {
          g_autoptr(JsonObject) patch = parse_object (c->patch);

          g_assert_no_error (error);
          g_assert_cmpstr (tandem_op_kind_to_string (op->kind), ==, c->kind);
          assert_objects_equal (op->patch, patch);
        }
      else
        {
          g_assert_null (op);
          assert_codec_error (error, c->code, c->needle);
        }
    }
}

static void
test_op_patch_limits (void)
{
  g_autofree char *long_tag = g_strnfill (TANDEM_TAG_MAX + 1, 't');
  g_autofree char *long_body = g_strnfill (TANDEM_COMMENT_MAX + 1, 'b');
  g_autofree char *long_title = g_strnfill (TANDEM_TITLE_MAX + 1, 'x');
  struct { const char *kind; char *patch; const char *needle; } cases[] = {
    { "tag_add", g_strdup_printf ("{\"tag\": \"%s\"}", long_tag), "patch.tag: tag is too long" },
    { "comment_add", g_strdup_printf ("{\"comment_id\": \"" COMMENT_1 "\", \"body\": \"%s\"}", long_body),
      "patch.body: comment is too long" },
    { "update", g_strdup_printf ("{\"title\": \"%s\"}", long_title), "patch.title: title is too long" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *patch = cases[i].patch;
      g_autofree char *text = g_strdup_printf ("{\"op_id\": \"" OP_ID "\", \"entity\": \"task\","
                                               " \"entity_id\": \"" TASK_ID "\", \"kind\": \"%s\","
                                               " \"base_rev\": 1, \"patch\": %s}",
                                               cases[i].kind, patch);
      g_autoptr(JsonNode) node = parse (text);
      g_autoptr(TandemOp) op = NULL;
      g_autoptr(GError) error = NULL;

      op = tandem_op_from_json (node, &error);
      g_assert_null (op);
      assert_codec_error (error, TANDEM_CODEC_ERROR_RANGE, cases[i].needle);
    }
}

/* Payload hash */

static TandemOp *
op_from_text (const char *text)
{
  g_autoptr(JsonNode) node = parse (text);
  g_autoptr(GError) error = NULL;
  TandemOp *op = tandem_op_from_json (node, &error);

  g_assert_no_error (error);
  return op;
}

static void
test_payload_hash (void)
{
  g_autoptr(TandemOp) a = op_from_text (
      "{\"op_id\": \"" OP_ID "\", \"entity\": \"task\", \"entity_id\": \"" TASK_ID "\","
      " \"kind\": \"update\", \"base_rev\": 3,"
      " \"patch\": {\"title\": \"Buy\", \"notes\": \"\\\"milk\\\"\\n\", \"priority\": 2, \"done\": true,"
      " \"due\": null, \"tags\": [\"b\", \"a\"]}, \"base\": {}, \"created_at\": \"2026-11-25T17:31:45Z\"}");
  /* The same payload, members in another order, other device and clock
   * fields, another key: the same hash. */
  g_autoptr(TandemOp) same = op_from_text (
      "{\"patch\": {\"tags\": [\"b\", \"a\"], \"due\": null, \"done\": true, \"priority\": 2,"
      " \"notes\": \"\\\"milk\\\"\\n\", \"title\": \"Buy\"}, \"base_rev\": 3, \"kind\": \"update\","
      " \"entity_id\": \"" TASK_ID "\", \"entity\": \"task\", \"op_id\": \"" COMMENT_1 "\","
      " \"base\": {\"title\": \"Old\"}, \"created_at\": \"2030-01-01T00:00:00Z\"}");
  static const char canonical[] =
    "{\"base_rev\":3,\"entity\":\"task\",\"entity_id\":\"" TASK_ID "\",\"kind\":\"update\","
    "\"patch\":{\"done\":true,\"due\":null,\"notes\":\"\\\"milk\\\"\\n\",\"priority\":2,"
    "\"tags\":[\"b\",\"a\"],\"title\":\"Buy\"}}";
  g_autofree char *expected = g_compute_checksum_for_string (G_CHECKSUM_SHA256, canonical, -1);
  g_autofree char *hash_a = tandem_op_payload_hash (a);
  g_autofree char *hash_same = NULL;
  g_autofree char *hash_copy = NULL;
  g_autoptr(TandemOp) copy = NULL;

  g_assert_cmpuint (strlen (hash_a), ==, 64);
  g_assert_cmpstr (hash_a, ==, expected);

  same->device_id = g_strdup ("another-device");
  hash_same = tandem_op_payload_hash (same);
  g_assert_cmpstr (hash_a, ==, hash_same);

  copy = tandem_op_copy (a);
  hash_copy = tandem_op_payload_hash (copy);
  g_assert_cmpstr (hash_a, ==, hash_copy);

  /* Each part of the payload changes the hash. */
  for (guint i = 0; i < 7; i++)
    {
      g_autoptr(TandemOp) other = tandem_op_copy (a);
      g_autofree char *hash_other = NULL;

      switch (i)
        {
        case 0:
          other->base_rev = 4;
          break;
        case 1:
          other->kind = TANDEM_OP_RESTORE;
          break;
        case 2:
          other->entity = TANDEM_ENTITY_LIST;
          break;
        case 3:
          g_free (other->entity_id);
          other->entity_id = g_strdup (LIST_ID);
          break;
        case 4:
          json_object_set_int_member (other->patch, "priority", 1);
          break;
        case 5:
          json_object_remove_member (other->patch, "due");
          break;
        case 6:
          /* Array order is part of the value. */
          json_object_set_array_member (other->patch, "tags", json_array_new ());
          json_array_add_string_element (json_object_get_array_member (other->patch, "tags"), "a");
          json_array_add_string_element (json_object_get_array_member (other->patch, "tags"), "b");
          break;
        default:
          g_assert_not_reached ();
        }
      hash_other = tandem_op_payload_hash (other);
      g_test_message ("change %u", i);
      g_assert_cmpstr (hash_a, !=, hash_other);
    }
}

/* Push */

static void
test_push_request_round_trip (void)
{
  g_autoptr(TandemPushRequest) request = tandem_push_request_new ();
  g_autoptr(GPtrArray) ops = make_all_ops ();
  g_autoptr(TandemPushRequest) decoded = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;

  request->device_id = g_strdup (DEVICE);
  for (guint i = 0; i < ops->len; i++)
    {
      TandemOp *op = tandem_op_copy (g_ptr_array_index (ops, i));

      op->device_id = g_strdup (DEVICE);
      g_ptr_array_add (request->ops, op);
    }

  node = through_text (tandem_push_request_to_json (request));
  g_assert_cmpuint (json_object_get_size (json_node_get_object (node)), ==, 2);
  decoded = tandem_push_request_from_json (node, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (decoded->device_id, ==, DEVICE);
  g_assert_cmpuint (decoded->ops->len, ==, request->ops->len);
  for (guint i = 0; i < request->ops->len; i++)
    assert_op_equal (g_ptr_array_index (request->ops, i), g_ptr_array_index (decoded->ops, i));
}

static void
test_push_request_empty (void)
{
  g_autoptr(JsonNode) node = parse ("{\"device_id\": \"d\", \"ops\": []}");
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemPushRequest) request = tandem_push_request_from_json (node, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (request->ops->len, ==, 0);
}

static char *
push_text (guint       n_ops,
           const char *op_text)
{
  GString *text = g_string_new ("{\"device_id\": \"" DEVICE "\", \"ops\": [");

  for (guint i = 0; i < n_ops; i++)
    {
      if (i > 0)
        g_string_append_c (text, ',');
      g_string_append (text, op_text);
    }
  g_string_append (text, "]}");
  return g_string_free (text, FALSE);
}

static void
test_push_request_limit (void)
{
  g_autofree char *at_limit = push_text (TANDEM_PUSH_MAX_OPS, valid_op);
  g_autofree char *over = push_text (TANDEM_PUSH_MAX_OPS + 1, valid_op);
  g_autoptr(JsonNode) at_node = parse (at_limit);
  g_autoptr(JsonNode) over_node = parse (over);
  g_autoptr(TandemPushRequest) request = NULL;
  g_autoptr(GError) error = NULL;

  request = tandem_push_request_from_json (at_node, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (request->ops->len, ==, TANDEM_PUSH_MAX_OPS);
  g_clear_pointer (&request, tandem_push_request_free);

  request = tandem_push_request_from_json (over_node, &error);
  g_assert_null (request);
  assert_codec_error (error, TANDEM_CODEC_ERROR_RANGE, "ops: 1001 ops in one push; at most 1000");
}

static void
test_push_request_bad (void)
{
  static const struct
  {
    const char       *text;
    TandemCodecError  code;
    const char       *needle;
  } cases[] = {
    { "[]", TANDEM_CODEC_ERROR_TYPE, "a push request must be a JSON object" },
    { "{\"ops\": []}", TANDEM_CODEC_ERROR_MISSING, "device_id: required member is missing" },
    { "{\"device_id\": 7, \"ops\": []}", TANDEM_CODEC_ERROR_TYPE, "device_id: must be a string" },
    { "{\"device_id\": \"\", \"ops\": []}", TANDEM_CODEC_ERROR_INVALID, "device_id: must not be empty" },
    { "{\"device_id\": \"a\\tb\", \"ops\": []}", TANDEM_CODEC_ERROR_INVALID, "device_id: contains a character that is not printable" },
    { "{\"device_id\": \"d\"}", TANDEM_CODEC_ERROR_MISSING, "ops: required member is missing" },
    { "{\"device_id\": \"d\", \"ops\": {}}", TANDEM_CODEC_ERROR_TYPE, "ops: must be an array" },
    { "{\"device_id\": \"d\", \"ops\": [\"op\"]}", TANDEM_CODEC_ERROR_TYPE, "ops[0]: must be an object, got a string" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonNode) node = parse (cases[i].text);
      g_autoptr(TandemPushRequest) request = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", cases[i].text);
      request = tandem_push_request_from_json (node, &error);
      g_assert_null (request);
      assert_codec_error (error, cases[i].code, cases[i].needle);
    }

  {
    g_autofree char *long_id = g_strnfill (101, 'd');
    g_autofree char *text = g_strdup_printf ("{\"device_id\": \"%s\", \"ops\": []}", long_id);
    g_autofree char *ok_id = g_strnfill (100, 'd');
    g_autofree char *ok_text = g_strdup_printf ("{\"device_id\": \"%s\", \"ops\": []}", ok_id);
    g_autoptr(JsonNode) node = parse (text);
    g_autoptr(JsonNode) ok_node = parse (ok_text);
    g_autoptr(TandemPushRequest) request = NULL;
    g_autoptr(GError) error = NULL;

    request = tandem_push_request_from_json (node, &error);
    assert_codec_error (error, TANDEM_CODEC_ERROR_RANGE, "device_id: is 101 bytes long; at most 100");
    g_clear_error (&error);
    request = tandem_push_request_from_json (ok_node, &error);
    g_assert_no_error (error);
  }
}

static void
test_push_request_op_error_path (void)
{
  GString *text = g_string_new ("{\"device_id\": \"d\", \"ops\": [");
  g_autofree char *str = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(TandemPushRequest) request = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 5; i++)
    g_string_append_printf (text, "%s{\"op_id\": \"" OP_ID "\", \"entity\": \"task\","
                            " \"entity_id\": \"" TASK_ID "\", \"kind\": \"update\", \"base_rev\": 1,"
                            " \"patch\": {\"priority\": %d}}",
                            i > 0 ? "," : "", i == 3 ? 7 : 1);
  g_string_append (text, "]}");
  str = g_string_free (text, FALSE);
  node = parse (str);
  request = tandem_push_request_from_json (node, &error);
  g_assert_null (request);
  assert_codec_error (error, TANDEM_CODEC_ERROR_RANGE,
                      "ops[3].patch.priority: priority 7 is out of range; use 0 (none) to 3 (high)");
  g_assert_true (g_str_has_prefix (error->message, "ops[3]."));
}

static TandemPushResult *
make_result (const char *type,
             guint       status)
{
  TandemPushResult *result = tandem_push_result_new ();

  result->op_id = tandem_new_id ();
  result->type = g_strdup (type);
  result->status = status;
  return result;
}

static GPtrArray *
make_all_results (void)
{
  GPtrArray *results = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_push_result_free);
  TandemPushResult *result;
  TandemTask *tombstone;
  gint64 rev = 4;

  result = make_result ("applied", 201);
  result->record = tandem_record_new_task (make_task ());
  g_ptr_array_add (results, result);

  result = make_result ("applied", 200);
  result->record = tandem_record_new_list (make_list ());
  g_ptr_array_add (results, result);

  result = make_result ("conflict", 409);
  result->current = tandem_record_new_task (make_task ());
  g_hash_table_insert (result->field_revs, g_strdup ("title"), g_memdup2 (&rev, sizeof rev));
  rev = 6;
  g_hash_table_insert (result->field_revs, g_strdup ("notes"), g_memdup2 (&rev, sizeof rev));
  g_ptr_array_add (results, result);

  /* Edit vs delete: the current record is a tombstone. */
  result = make_result ("conflict", 409);
  tombstone = make_task ();
  tombstone->deleted = TRUE;
  result->current = tandem_record_new_task (tombstone);
  g_ptr_array_add (results, result);

  g_ptr_array_add (results, make_result ("held", 424));
  g_ptr_array_add (results, make_result ("in_progress", 503));

  result = make_result ("invalid", 422);
  result->error = g_strdup ("patch.priority: priority 7 is out of range; use 0 (none) to 3 (high)");
  g_ptr_array_add (results, result);

  g_ptr_array_add (results, make_result ("gone", 404));
  return results;
}

static void
assert_result_equal (const TandemPushResult *a,
                     const TandemPushResult *b)
{
  GHashTableIter iter;
  gpointer key, value;

  g_assert_cmpstr (a->op_id, ==, b->op_id);
  g_assert_cmpuint (a->status, ==, b->status);
  g_assert_cmpstr (a->type, ==, b->type);
  g_assert_cmpstr (a->error, ==, b->error);
  g_assert_true ((a->record == NULL) == (b->record == NULL));
  if (a->record != NULL)
    assert_record_equal (a->record, b->record);
  g_assert_true ((a->current == NULL) == (b->current == NULL));
  if (a->current != NULL)
    assert_record_equal (a->current, b->current);
  g_assert_cmpuint (g_hash_table_size (a->field_revs), ==, g_hash_table_size (b->field_revs));
  g_hash_table_iter_init (&iter, a->field_revs);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const gint64 *other = g_hash_table_lookup (b->field_revs, key);

      g_assert_nonnull (other);
      g_assert_cmpint (*(gint64 *) value, ==, *other);
    }
}

static void
test_push_result_round_trip (void)
{
  g_autoptr(GPtrArray) results = make_all_results ();

  for (guint i = 0; i < results->len; i++)
    {
      TandemPushResult *result = g_ptr_array_index (results, i);
      g_autoptr(JsonNode) node = through_text (tandem_push_result_to_json (result));
      g_autoptr(TandemPushResult) decoded = NULL;
      g_autoptr(GError) error = NULL;
      JsonObject *object = json_node_get_object (node);

      g_test_message ("result %u: %s", i, result->type);
      decoded = tandem_push_result_from_json (node, &error);
      g_assert_no_error (error);
      assert_result_equal (result, decoded);

      /* The record sits under its entity's name. */
      g_assert_true (json_object_has_member (object, "task") ==
                     (result->record != NULL && result->record->entity == TANDEM_ENTITY_TASK));
      g_assert_true (json_object_has_member (object, "list") ==
                     (result->record != NULL && result->record->entity == TANDEM_ENTITY_LIST));
      g_assert_true (json_object_has_member (object, "current") == (result->current != NULL));
      g_assert_true (json_object_has_member (object, "field_revs") == (result->current != NULL));
      g_assert_true (json_object_has_member (object, "error") == (result->error != NULL));
    }
}

static void
test_push_response_round_trip (void)
{
  g_autoptr(GPtrArray) results = make_all_results ();
  g_autoptr(JsonNode) node = through_text (tandem_push_response_to_json (results));
  g_autoptr(GPtrArray) decoded = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (json_object_get_size (json_node_get_object (node)), ==, 1);
  decoded = tandem_push_response_from_json (node, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (decoded->len, ==, results->len);
  for (guint i = 0; i < results->len; i++)
    assert_result_equal (g_ptr_array_index (results, i), g_ptr_array_index (decoded, i));
}

static void
test_push_result_bad (void)
{
  static const struct
  {
    const char       *text;
    TandemCodecError  code;
    const char       *needle;
  } cases[] = {
    { "{\"status\": 424, \"type\": \"held\"}", TANDEM_CODEC_ERROR_MISSING, "op_id: required member is missing" },
    { "{\"op_id\": \"" OP_ID "\", \"type\": \"held\"}", TANDEM_CODEC_ERROR_MISSING, "status: required member is missing" },
    { "{\"op_id\": \"" OP_ID "\", \"status\": \"424\", \"type\": \"held\"}", TANDEM_CODEC_ERROR_TYPE, "status: must be an integer" },
    { "{\"op_id\": \"" OP_ID "\", \"status\": 42, \"type\": \"held\"}", TANDEM_CODEC_ERROR_RANGE,
      "status: must be an integer from 100 to 599, got 42" },
    { "{\"op_id\": \"" OP_ID "\", \"status\": 424}", TANDEM_CODEC_ERROR_MISSING, "type: required member is missing" },
    { "{\"op_id\": \"" OP_ID "\", \"status\": 424, \"type\": \"\"}", TANDEM_CODEC_ERROR_INVALID, "type: must not be empty" },
    { "{\"op_id\": \"" OP_ID "\", \"status\": 200, \"type\": \"applied\"}", TANDEM_CODEC_ERROR_MISSING,
      "task: required member is missing; an applied result carries the record" },
    { "{\"op_id\": \"" OP_ID "\", \"status\": 409, \"type\": \"conflict\"}", TANDEM_CODEC_ERROR_MISSING,
      "current: required member is missing" },
    { "{\"op_id\": \"" OP_ID "\", \"status\": 422, \"type\": \"invalid\"}", TANDEM_CODEC_ERROR_MISSING,
      "error: required member is missing" },
    { "{\"op_id\": \"" OP_ID "\", \"status\": 422, \"type\": \"invalid\", \"error\": 5}", TANDEM_CODEC_ERROR_TYPE,
      "error: must be a string" },
    { "{\"op_id\": \"" OP_ID "\", \"status\": 424, \"type\": \"held\", \"field_revs\": []}", TANDEM_CODEC_ERROR_TYPE,
      "field_revs: must be an object" },
    { "{\"op_id\": \"" OP_ID "\", \"status\": 424, \"type\": \"held\", \"field_revs\": {\"title\": -2}}",
      TANDEM_CODEC_ERROR_RANGE, "field_revs.title: must be an integer of 0 or more" },
    { "{\"op_id\": \"" OP_ID "\", \"status\": 424, \"type\": \"held\", \"field_revs\": {\"title\": \"2\"}}",
      TANDEM_CODEC_ERROR_TYPE, "field_revs.title: must be an integer" },
    { "{\"op_id\": \"" OP_ID "\", \"status\": 200, \"type\": \"applied\", \"task\": {}, \"list\": {}}",
      TANDEM_CODEC_ERROR_INVALID, "list: a result carries one record" },
    { "{\"op_id\": \"" OP_ID "\", \"status\": 200, \"type\": \"applied\", \"task\": {\"entity\": \"list\"}}",
      TANDEM_CODEC_ERROR_INVALID, "task.entity: expected “task”, got “list”" },
    { "{\"op_id\": \"" OP_ID "\", \"status\": 409, \"type\": \"conflict\", \"current\": {\"entity\": \"note\"}}",
      TANDEM_CODEC_ERROR_INVALID, "current.entity: “note” is not an entity" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonNode) node = parse (cases[i].text);
      g_autoptr(TandemPushResult) result = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", cases[i].text);
      result = tandem_push_result_from_json (node, &error);
      g_assert_null (result);
      assert_codec_error (error, cases[i].code, cases[i].needle);
    }
}

static void
test_push_response_bad (void)
{
  g_autoptr(GPtrArray) results = make_all_results ();
  g_autoptr(JsonNode) node = tandem_push_response_to_json (results);
  g_autoptr(JsonNode) not_array = parse ("{\"results\": {}}");
  g_autoptr(GPtrArray) decoded = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *array = json_object_get_array_member (json_node_get_object (node), "results");
  JsonObject *conflict = json_array_get_object_element (array, 2);
  JsonObject *current = json_object_get_object_member (conflict, "current");

  json_object_set_string_member (current, "title", "");
  decoded = tandem_push_response_from_json (node, &error);
  g_assert_null (decoded);
  assert_codec_error (error, TANDEM_CODEC_ERROR_INVALID, "results[2].current.title: title is empty");
  g_clear_error (&error);

  decoded = tandem_push_response_from_json (not_array, &error);
  g_assert_null (decoded);
  assert_codec_error (error, TANDEM_CODEC_ERROR_TYPE, "results: must be an array");
}

/* Changes */

static void
test_changes_round_trip (void)
{
  g_autoptr(TandemChangesPage) page = tandem_changes_page_new ();
  g_autoptr(TandemChangesPage) empty = tandem_changes_page_new ();
  g_autoptr(TandemChangesPage) decoded = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  TandemTask *task_tombstone = make_task ();
  TandemList *list_tombstone = make_list ();

  task_tombstone->deleted = TRUE;
  list_tombstone->deleted = TRUE;
  g_ptr_array_add (page->changes, tandem_record_new_task (make_task ()));
  g_ptr_array_add (page->changes, tandem_record_new_list (make_list ()));
  g_ptr_array_add (page->changes, tandem_record_new_task (task_tombstone));
  g_ptr_array_add (page->changes, tandem_record_new_list (list_tombstone));
  page->cursor = g_strdup ("c:000042");
  page->has_more = TRUE;

  node = through_text (tandem_changes_page_to_json (page));
  g_assert_cmpuint (json_object_get_size (json_node_get_object (node)), ==, 3);
  decoded = tandem_changes_page_from_json (node, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (decoded->cursor, ==, "c:000042");
  g_assert_true (decoded->has_more);
  g_assert_cmpuint (decoded->changes->len, ==, 4);
  for (guint i = 0; i < page->changes->len; i++)
    assert_record_equal (g_ptr_array_index (page->changes, i), g_ptr_array_index (decoded->changes, i));
  g_assert_true (((TandemRecord *) g_ptr_array_index (decoded->changes, 2))->task->deleted);
  g_assert_true (((TandemRecord *) g_ptr_array_index (decoded->changes, 3))->list->deleted);

  g_clear_pointer (&node, json_node_unref);
  g_clear_pointer (&decoded, tandem_changes_page_free);
  empty->cursor = g_strdup ("");
  node = through_text (tandem_changes_page_to_json (empty));
  decoded = tandem_changes_page_from_json (node, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (decoded->changes->len, ==, 0);
  g_assert_false (decoded->has_more);
  g_assert_cmpstr (decoded->cursor, ==, "");
}

static void
test_changes_bad (void)
{
  static const struct
  {
    const char       *text;
    TandemCodecError  code;
    const char       *needle;
  } cases[] = {
    { "{\"cursor\": \"c\", \"has_more\": false}", TANDEM_CODEC_ERROR_MISSING, "changes: required member is missing" },
    { "{\"changes\": {}, \"cursor\": \"c\", \"has_more\": false}", TANDEM_CODEC_ERROR_TYPE, "changes: must be an array" },
    { "{\"changes\": [], \"has_more\": false}", TANDEM_CODEC_ERROR_MISSING, "cursor: required member is missing" },
    { "{\"changes\": [], \"cursor\": 12, \"has_more\": false}", TANDEM_CODEC_ERROR_TYPE, "cursor: must be a string" },
    { "{\"changes\": [], \"cursor\": \"c\"}", TANDEM_CODEC_ERROR_MISSING, "has_more: required member is missing" },
    { "{\"changes\": [], \"cursor\": \"c\", \"has_more\": \"no\"}", TANDEM_CODEC_ERROR_TYPE, "has_more: must be true or false" },
    { "{\"changes\": [{\"entity\": \"task\"}], \"cursor\": \"c\", \"has_more\": false}", TANDEM_CODEC_ERROR_MISSING,
      "changes[0].id: required member is missing" },
    { "{\"changes\": [{\"entity\": 1}], \"cursor\": \"c\", \"has_more\": false}", TANDEM_CODEC_ERROR_TYPE,
      "changes[0].entity: must be a string" },
    { "{\"changes\": [null], \"cursor\": \"c\", \"has_more\": false}", TANDEM_CODEC_ERROR_TYPE,
      "changes[0]: must be an object, got null" },
  };
  g_autoptr(TandemChangesPage) page = tandem_changes_page_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(TandemChangesPage) decoded = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *second;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonNode) case_node = parse (cases[i].text);
      g_autoptr(TandemChangesPage) case_page = NULL;
      g_autoptr(GError) case_error = NULL;

      g_test_message ("%s", cases[i].text);
      case_page = tandem_changes_page_from_json (case_node, &case_error);
      g_assert_null (case_page);
      assert_codec_error (case_error, cases[i].code, cases[i].needle);
    }

  g_ptr_array_add (page->changes, tandem_record_new_list (make_list ()));
  g_ptr_array_add (page->changes, tandem_record_new_task (make_task ()));
  page->cursor = g_strdup ("c");
  node = tandem_changes_page_to_json (page);
  second = json_array_get_object_element (json_object_get_array_member (json_node_get_object (node), "changes"), 1);
  json_object_set_int_member (second, "priority", 9);
  decoded = tandem_changes_page_from_json (node, &error);
  g_assert_null (decoded);
  assert_codec_error (error, TANDEM_CODEC_ERROR_RANGE, "changes[1].priority: priority 9 is out of range");
}

/* Problems */

static void
test_problem_round_trip (void)
{
  g_autoptr(TandemProblem) problem = tandem_problem_new ("https://tandem.example/problems/too-many-ops",
                                                         "Too many ops", 413,
                                                         "1001 ops in one push; at most 1000");
  g_autoptr(TandemProblem) plain = tandem_problem_new (NULL, "Not found", 404, NULL);
  g_autoptr(TandemProblem) decoded = NULL;
  g_autoptr(TandemProblem) plain_decoded = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonNode) plain_node = NULL;
  g_autoptr(JsonNode) extra_a = NULL;
  g_autoptr(JsonNode) extra_b = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;

  problem->extra = parse_object ("{\"max_ops\": 1000, \"op_ids\": [\"" OP_ID "\"],"
                                 " \"current\": {\"entity\": \"list\", \"nested\": {\"a\": null}},"
                                 " \"retry\": false, \"ratio\": 0.5}");
  node = through_text (tandem_problem_to_json (problem));
  object = json_node_get_object (node);
  g_assert_cmpuint (json_object_get_size (object), ==, 9);
  g_assert_cmpint (json_object_get_int_member (object, "max_ops"), ==, 1000);
  g_assert_cmpint (json_object_get_int_member (object, "status"), ==, 413);

  decoded = tandem_problem_from_json (node, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (decoded->type, ==, problem->type);
  g_assert_cmpstr (decoded->title, ==, problem->title);
  g_assert_cmpuint (decoded->status, ==, 413);
  g_assert_cmpstr (decoded->detail, ==, problem->detail);
  g_assert_nonnull (decoded->extra);
  g_assert_cmpuint (json_object_get_size (decoded->extra), ==, 5);
  extra_a = json_node_init_object (json_node_alloc (), problem->extra);
  extra_b = json_node_init_object (json_node_alloc (), decoded->extra);
  g_assert_true (json_node_equal (extra_a, extra_b));

  /* No type means about:blank (RFC 9457); no extra members, no extra. */
  plain_node = through_text (tandem_problem_to_json (plain));
  g_assert_false (json_object_has_member (json_node_get_object (plain_node), "detail"));
  plain_decoded = tandem_problem_from_json (plain_node, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (plain_decoded->type, ==, "about:blank");
  g_assert_cmpstr (plain_decoded->title, ==, "Not found");
  g_assert_cmpuint (plain_decoded->status, ==, 404);
  g_assert_null (plain_decoded->detail);
  g_assert_null (plain_decoded->extra);
}

static void
test_problem_extra_cannot_override (void)
{
  g_autoptr(TandemProblem) problem = tandem_problem_new ("about:blank", "Gone", 410, "purged");
  g_autoptr(JsonNode) node = NULL;
  JsonObject *object;

  problem->extra = parse_object ("{\"status\": 200, \"title\": \"fine\", \"hint\": \"resync\"}");
  node = tandem_problem_to_json (problem);
  object = json_node_get_object (node);
  g_assert_cmpint (json_object_get_int_member (object, "status"), ==, 410);
  g_assert_cmpstr (json_object_get_string_member (object, "title"), ==, "Gone");
  g_assert_cmpstr (json_object_get_string_member (object, "hint"), ==, "resync");
}

static void
test_problem_bad (void)
{
  static const struct
  {
    const char       *text;
    TandemCodecError  code;
    const char       *needle;
  } cases[] = {
    { "\"oops\"", TANDEM_CODEC_ERROR_TYPE, "a problem must be a JSON object" },
    { "{\"type\": 5}", TANDEM_CODEC_ERROR_TYPE, "type: must be a string" },
    { "{\"title\": null}", TANDEM_CODEC_ERROR_TYPE, "title: must be a string" },
    { "{\"status\": \"404\"}", TANDEM_CODEC_ERROR_TYPE, "status: must be an integer" },
    { "{\"status\": 404.5}", TANDEM_CODEC_ERROR_TYPE, "status: must be an integer" },
    { "{\"status\": 1000}", TANDEM_CODEC_ERROR_RANGE, "status: must be an integer from 100 to 599" },
    { "{\"detail\": {}}", TANDEM_CODEC_ERROR_TYPE, "detail: must be a string" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonNode) node = parse (cases[i].text);
      g_autoptr(TandemProblem) problem = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", cases[i].text);
      problem = tandem_problem_from_json (node, &error);
      g_assert_null (problem);
      assert_codec_error (error, cases[i].code, cases[i].needle);
    }
}

/* Bad bytes in a whole document end at the parser, before any decoder. */
static void
test_document_bad_bytes (void)
{
  g_autoptr(TandemTask) task = make_task ();
  g_autoptr(JsonNode) node = tandem_task_to_json (task);
  g_autofree char *text = tandem_json_to_string (node, FALSE);
  g_autofree char *truncated = g_strndup (text, strlen (text) / 2);
  g_autofree char *latin1 = NULL;
  char *accent;

  assert_parse_fails (truncated, -1, TANDEM_CODEC_ERROR_MALFORMED, "malformed JSON");

  /* Replace "é" (UTF-8 c3 a9) in the title by its Latin-1 byte e9. */
  latin1 = g_strdup (text);
  accent = strstr (latin1, "\xc3\xa9");
  g_assert_nonnull (accent);
  accent[0] = '\xe9';
  accent[1] = ' ';
  assert_parse_fails (latin1, -1, TANDEM_CODEC_ERROR_INVALID_UTF8, "not valid UTF-8");
}

/* The compact writer must give what json-glib's generator gives, to the
 * byte: stored records, snapshots and every server answer go through it,
 * and two server processes or a server before and after an upgrade must
 * answer the same bytes. */
static char *
generator_text (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, node);
  return json_generator_to_data (generator, NULL);
}

static void
assert_same_as_generator (JsonNode *node)
{
  g_autofree char *ours = tandem_json_to_string (node, FALSE);
  g_autofree char *theirs = generator_text (node);

  g_assert_cmpstr (ours, ==, theirs);
}

static JsonNode *
random_node (GRand *rand,
             guint  depth)
{
  static const char *const words[] = { "", "a", "title", "Ünïcødé €", "😀", "line\nbreak",
                                       "tab\there", "quote\"s", "back\\slash", "/slash",
                                       "\x1f\x1e\x7f\x01", "\u2028" };
  guint kind = g_rand_int_range (rand, 0, depth >= 4 ? 4 : 6);
  JsonNode *node;

  switch (kind)
    {
    case 0:
      return json_node_init_null (json_node_alloc ());
    case 1:
      node = json_node_init_boolean (json_node_alloc (), g_rand_boolean (rand));
      return node;
    case 2:
      return json_node_init_int (json_node_alloc (),
                                 (gint64) g_rand_int (rand) * (g_rand_boolean (rand) ? -1 : 1) *
                                   (g_rand_boolean (rand) ? 1 : 1000003));
    case 3:
      return json_node_init_string (json_node_alloc (),
                                    words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))]);
    case 4:
      {
        JsonArray *array = json_array_new ();
        guint n = g_rand_int_range (rand, 0, 5);

        for (guint i = 0; i < n; i++)
          json_array_add_element (array, random_node (rand, depth + 1));
        /* The node takes a reference of its own, as with the object below. */
        node = json_node_init_array (json_node_alloc (), array);
        json_array_unref (array);
        return node;
      }
    default:
      {
        JsonObject *object = json_object_new ();
        guint n = g_rand_int_range (rand, 0, 6);

        for (guint i = 0; i < n; i++)
          {
            g_autofree char *name = g_strdup_printf ("%s%u",
                                                     words[g_rand_int_range (rand, 0,
                                                                             G_N_ELEMENTS (words))],
                                                     g_rand_int_range (rand, 0, 50));

            json_object_set_member (object, name, random_node (rand, depth + 1));
          }
        node = json_node_init_object (json_node_alloc (), object);
        json_object_unref (object);
        return node;
      }
    }
}

static void
test_compact_writer_matches_generator (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261203);
  char every_byte[128];

  /* Every ASCII character, where the escapes differ most. */
  for (int c = 1; c < 128; c++)
    every_byte[c - 1] = (char) c;
  every_byte[127] = '\0';
  {
    g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), every_byte);

    assert_same_as_generator (node);
  }
  /* Extremes and empty containers. */
  {
    g_autoptr(JsonNode) node = NULL;
    JsonObject *object = json_object_new ();

    json_object_set_int_member (object, "max", G_MAXINT64);
    json_object_set_int_member (object, "min", G_MININT64);
    json_object_set_array_member (object, "empty", json_array_new ());
    json_object_set_object_member (object, "nothing", json_object_new ());
    json_object_set_null_member (object, "null");
    json_object_set_boolean_member (object, "no", FALSE);
    node = json_node_init_object (json_node_alloc (), object);
    json_object_unref (object);
    assert_same_as_generator (node);
  }
  /* A task as the wire has it. */
  {
    g_autoptr(TandemTask) task = tandem_task_new ();
    g_autoptr(JsonNode) node = NULL;

    task->id = g_strdup ("6f1c8a8e-3c1e-4d2a-9d55-1b2c3d4e5f60");
    /* tandem_task_new() set these to "": replace, not leak. */
    g_free (task->title);
    task->title = g_strdup ("Write the \"quarterly\" report\tnow");
    g_free (task->notes);
    task->notes = g_strdup ("Line one\nLine two € 😀");
    g_free (task->position);
    task->position = g_strdup ("a0");
    task->rev = 7;
    tandem_task_add_tag (task, "work");
    node = tandem_task_to_json (task);
    assert_same_as_generator (node);
  }
  /* Doubles without an exponent come out as json-glib writes them. */
  {
    g_autoptr(JsonNode) node = json_node_init_double (json_node_alloc (), 0.1);

    assert_same_as_generator (node);
  }
  /* With one, json-glib writes "1e+40.0", which is not JSON; ours is, and
   * reads back as the same double. */
  {
    static const double values[] = { 1e40, -2.5e-300, 1e300 };

    for (guint i = 0; i < G_N_ELEMENTS (values); i++)
      {
        g_autoptr(JsonNode) node = json_node_init_double (json_node_alloc (), values[i]);
        g_autofree char *text = tandem_json_to_string (node, FALSE);
        g_autoptr(JsonNode) back = NULL;
        g_autoptr(GError) error = NULL;

        back = json_from_string (text, &error);
        g_assert_no_error (error);
        g_assert_cmpint (json_node_get_value_type (back), ==, G_TYPE_DOUBLE);
        g_assert_cmpfloat (json_node_get_double (back), ==, values[i]);
      }
  }
  for (guint i = 0; i < 2000; i++)
    {
      g_autoptr(JsonNode) node = random_node (rand, 0);

      assert_same_as_generator (node);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/codec/parse/valid", test_parse_valid);
  g_test_add_func ("/codec/parse/length", test_parse_length);
  g_test_add_func ("/codec/parse/invalid-utf8", test_parse_invalid_utf8);
  g_test_add_func ("/codec/parse/nul", test_parse_nul);
  g_test_add_func ("/codec/parse/malformed", test_parse_malformed);
  g_test_add_func ("/codec/parse/deep", test_parse_deep);
  g_test_add_func ("/codec/parse/deep-strings", test_parse_deep_strings);
  g_test_add_func ("/codec/parse/document-bad-bytes", test_document_bad_bytes);
  g_test_add_func ("/codec/to-string", test_to_string);
  g_test_add_func ("/codec/task/round-trip", test_task_round_trip);
  g_test_add_func ("/codec/task/shape", test_task_shape);
  g_test_add_func ("/codec/task/unknown-members", test_task_unknown_members);
  g_test_add_func ("/codec/task/bad-members", test_task_bad_members);
  g_test_add_func ("/codec/task/limits", test_task_limits);
  g_test_add_func ("/codec/task/hand-built-invalid-utf8", test_task_hand_built_invalid_utf8);
  g_test_add_func ("/codec/task/not-object", test_task_not_object);
  g_test_add_func ("/codec/list/round-trip", test_list_round_trip);
  g_test_add_func ("/codec/list/bad-members", test_list_bad_members);
  g_test_add_func ("/codec/record", test_record);
  g_test_add_func ("/codec/op/round-trip", test_op_round_trip);
  g_test_add_func ("/codec/op/shape", test_op_shape);
  g_test_add_func ("/codec/op/no-aliasing", test_op_no_aliasing);
  g_test_add_func ("/codec/op/bad-members", test_op_bad_members);
  g_test_add_func ("/codec/op/patches", test_op_patches);
  g_test_add_func ("/codec/op/patch-limits", test_op_patch_limits);
  g_test_add_func ("/codec/op/payload-hash", test_payload_hash);
  g_test_add_func ("/codec/push/request-round-trip", test_push_request_round_trip);
  g_test_add_func ("/codec/push/request-empty", test_push_request_empty);
  g_test_add_func ("/codec/push/request-limit", test_push_request_limit);
  g_test_add_func ("/codec/push/request-bad", test_push_request_bad);
  g_test_add_func ("/codec/push/request-op-error-path", test_push_request_op_error_path);
  g_test_add_func ("/codec/push/result-round-trip", test_push_result_round_trip);
  g_test_add_func ("/codec/push/response-round-trip", test_push_response_round_trip);
  g_test_add_func ("/codec/push/result-bad", test_push_result_bad);
  g_test_add_func ("/codec/push/response-bad", test_push_response_bad);
  g_test_add_func ("/codec/changes/round-trip", test_changes_round_trip);
  g_test_add_func ("/codec/changes/bad", test_changes_bad);
  g_test_add_func ("/codec/problem/round-trip", test_problem_round_trip);
  g_test_add_func ("/codec/problem/extra-cannot-override", test_problem_extra_cannot_override);
  g_test_add_func ("/codec/problem/bad", test_problem_bad);
  g_test_add_func ("/codec/json/compact-writer-matches-generator",
                   test_compact_writer_matches_generator);

  return g_test_run ();
}
