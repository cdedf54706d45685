/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "tandem-op.h"
#include "tandem-position.h"
#include "tandem-task.h"

#define TASK_ID   "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
#define LIST_ID   "0b6f4c52-1f0e-4d7a-9a55-2f7c1e8b3d10"
#define COMMENT_A "aaaaaaaa-0000-4000-8000-000000000000"
#define COMMENT_B "bbbbbbbb-0000-4000-8000-000000000000"
#define COMMENT_C "cccccccc-0000-4000-8000-000000000000"

/* Helpers */

static JsonNode *
json (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
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
  task->title = g_strdup ("Water the plants");
  g_free (task->notes);
  task->notes = g_strdup ("the big one\nand the fern\n");
  task->done = FALSE;
  task->due = g_strdup ("2026-06-01");
  task->priority = 1;
  g_free (task->position);
  task->position = new_position ();
  tandem_task_add_tag (task, "home");
  tandem_task_add_tag (task, "garden");
  tandem_task_add_comment (task, tandem_comment_new (COMMENT_A, "Done last week", "laptop",
                                                     "2026-05-20T08:00:00.000000Z"));
  task->rev = 4;
  task->updated_at = g_strdup ("2026-05-20T08:00:01.000000Z");
  task->sync_status = TANDEM_SYNC_SYNCED;
  return task;
}

/* Everything a task holds, including what tandem_task_equal() leaves out. */
static void
assert_task_identical (const TandemTask *a,
                       const TandemTask *b)
{
  g_assert_true (tandem_task_equal (a, b));
  g_assert_cmpstr (a->id, ==, b->id);
  g_assert_cmpstr (a->title, ==, b->title);
  g_assert_cmpstr (a->notes, ==, b->notes);
  g_assert_cmpstr (a->due, ==, b->due);
  g_assert_cmpstr (a->list_id, ==, b->list_id);
  g_assert_cmpstr (a->position, ==, b->position);
  g_assert_cmpint (a->priority, ==, b->priority);
  g_assert_cmpint (a->done, ==, b->done);
  g_assert_cmpint (a->deleted, ==, b->deleted);
  g_assert_cmpuint (a->tags->len, ==, b->tags->len);
  g_assert_cmpuint (a->comments->len, ==, b->comments->len);
  g_assert_cmpint (a->rev, ==, b->rev);
  g_assert_cmpstr (a->updated_at, ==, b->updated_at);
  g_assert_cmpint (a->sync_status, ==, b->sync_status);
}

static void
assert_valid (gboolean (*validate) (const char *, GError **),
              const char *value)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *escaped = g_strescape (value, NULL);

  /* Escaped, so that a value with line breaks stays one TAP comment line. */
  g_test_message ("valid: “%.60s”", escaped);
  g_assert_true (validate (value, &error));
  g_assert_no_error (error);
}

static void
assert_invalid (gboolean (*validate) (const char *, GError **),
                const char *value,
                const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *escaped = value ? g_strescape (value, NULL) : g_strdup ("(null)");

  g_test_message ("invalid: “%.60s”", escaped);
  g_assert_false (validate (value, &error));
  g_assert_error (error, TANDEM_VALIDATION_ERROR, TANDEM_VALIDATION_ERROR_INVALID);
  if (strstr (error->message, needle) == NULL)
    g_error ("message “%s” does not contain “%s”", error->message, needle);
}

static char *
repeat (const char *unit,
        guint       times)
{
  GString *str = g_string_new (NULL);

  for (guint i = 0; i < times; i++)
    g_string_append (str, unit);
  return g_string_free (str, FALSE);
}

/* Field table */

static void
test_field_table (void)
{
  static const struct
  {
    TandemField   field;
    const char   *name;
    TandemPolicy  policy;
    gboolean      patchable;
  } expected[] = {
    { TANDEM_FIELD_TITLE, "title", TANDEM_POLICY_HUMAN, TRUE },
    { TANDEM_FIELD_NOTES, "notes", TANDEM_POLICY_TEXT, TRUE },
    { TANDEM_FIELD_DONE, "done", TANDEM_POLICY_LWW, TRUE },
    { TANDEM_FIELD_DUE, "due", TANDEM_POLICY_LWW, TRUE },
    { TANDEM_FIELD_PRIORITY, "priority", TANDEM_POLICY_LWW, TRUE },
    { TANDEM_FIELD_LIST_ID, "list_id", TANDEM_POLICY_LWW, TRUE },
    { TANDEM_FIELD_POSITION, "position", TANDEM_POLICY_LWW, TRUE },
    { TANDEM_FIELD_TAGS, "tags", TANDEM_POLICY_SET, TRUE },
    { TANDEM_FIELD_COMMENTS, "comments", TANDEM_POLICY_APPEND, FALSE },
    { TANDEM_FIELD_DELETED, "deleted", TANDEM_POLICY_TOMBSTONE, FALSE },
  };
  TandemField field;

  g_assert_cmpuint (G_N_ELEMENTS (expected), ==, TANDEM_N_FIELDS);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_assert_cmpstr (tandem_field_name (expected[i].field), ==, expected[i].name);
      g_assert_true (tandem_field_from_name (expected[i].name, &field));
      g_assert_cmpint (field, ==, expected[i].field);
      g_assert_cmpint (tandem_field_policy (expected[i].field), ==, expected[i].policy);
      g_assert_cmpint (tandem_field_is_patchable (expected[i].field), ==, expected[i].patchable);
    }

  g_assert_false (tandem_field_from_name ("Title", &field));
  g_assert_false (tandem_field_from_name ("id", &field));
  g_assert_false (tandem_field_from_name ("", &field));
  g_assert_false (tandem_field_from_name (NULL, &field));
}

static void
test_sync_status_strings (void)
{
  static const char *names[] = { "synced", "pending", "syncing", "error", "needs-review" };
  TandemSyncStatus status;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_assert_cmpstr (tandem_sync_status_to_string (i), ==, names[i]);
      g_assert_true (tandem_sync_status_from_string (names[i], &status));
      g_assert_cmpint (status, ==, i);
    }
  g_assert_false (tandem_sync_status_from_string ("needs_review", &status));
  g_assert_false (tandem_sync_status_from_string (NULL, &status));
}

static void
test_op_strings (void)
{
  static const char *kinds[] = {
    "create", "update", "delete", "restore", "tag_add", "tag_remove", "comment_add",
  };
  static const char *states[] = { "new", "sent", "error" };
  TandemEntity entity;
  TandemOpKind kind;
  TandemOpState state;

  g_assert_true (tandem_entity_from_string ("task", &entity));
  g_assert_cmpint (entity, ==, TANDEM_ENTITY_TASK);
  g_assert_true (tandem_entity_from_string ("list", &entity));
  g_assert_cmpint (entity, ==, TANDEM_ENTITY_LIST);
  g_assert_cmpstr (tandem_entity_to_string (TANDEM_ENTITY_TASK), ==, "task");
  g_assert_cmpstr (tandem_entity_to_string (TANDEM_ENTITY_LIST), ==, "list");
  g_assert_false (tandem_entity_from_string ("comment", &entity));

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_assert_cmpstr (tandem_op_kind_to_string (i), ==, kinds[i]);
      g_assert_true (tandem_op_kind_from_string (kinds[i], &kind));
      g_assert_cmpint (kind, ==, i);
    }
  g_assert_false (tandem_op_kind_from_string ("tag-add", &kind));

  for (guint i = 0; i < G_N_ELEMENTS (states); i++)
    {
      g_assert_cmpstr (tandem_op_state_to_string (i), ==, states[i]);
      g_assert_true (tandem_op_state_from_string (states[i], &state));
      g_assert_cmpint (state, ==, i);
    }
  g_assert_false (tandem_op_state_from_string ("parked", &state));
}

/* Validators */

static void
test_validate_uuid (void)
{
  assert_valid (tandem_validate_uuid, TASK_ID);
  assert_valid (tandem_validate_uuid, LIST_ID);
  assert_invalid (tandem_validate_uuid, "", "is not a valid id");
  assert_invalid (tandem_validate_uuid, NULL, "is not a valid id");
  assert_invalid (tandem_validate_uuid, "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4", "“6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4”");
  assert_invalid (tandem_validate_uuid, "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4ff", "not a valid id");
  assert_invalid (tandem_validate_uuid, "6f1c2d3e4b5a4c6d8e7f9a0b1c2d3e4f", "not a valid id");
  assert_invalid (tandem_validate_uuid, "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4g", "not a valid id");
  assert_invalid (tandem_validate_uuid, "{6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f}", "not a valid id");
}

static void
test_new_id (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < 1000; i++)
    {
      char *id = tandem_new_id ();

      assert_valid (tandem_validate_uuid, id);
      g_assert_cmpint (id[14], ==, '4');   /* version 4 */
      g_assert_true (g_hash_table_add (seen, id));
    }
}

static void
test_now_rfc3339 (void)
{
  g_autofree char *now = tandem_now_rfc3339 ();
  g_autoptr(GDateTime) parsed = g_date_time_new_from_iso8601 (now, NULL);
  g_autoptr(GDateTime) reference = g_date_time_new_now_utc ();

  g_assert_nonnull (parsed);
  g_assert_cmpuint (strlen (now), ==, strlen ("2026-11-25T17:31:45.123456Z"));
  g_assert_true (g_str_has_suffix (now, "Z"));
  g_assert_cmpint (now[19], ==, '.');
  g_assert_cmpint (ABS (g_date_time_difference (reference, parsed)), <, 10 * G_TIME_SPAN_SECOND);
}

static void
test_validate_title (void)
{
  g_autofree char *max = g_strnfill (TANDEM_TITLE_MAX, 'x');
  g_autofree char *over = g_strnfill (TANDEM_TITLE_MAX + 1, 'x');
  g_autofree char *max_accents = repeat ("é", TANDEM_TITLE_MAX / 2);       /* 1000 bytes */
  g_autofree char *over_euros = repeat ("€", TANDEM_TITLE_MAX / 3 + 1);    /* 1002 bytes */

  assert_valid (tandem_validate_title, "Buy milk");
  assert_valid (tandem_validate_title, " leading and trailing spaces ");
  assert_valid (tandem_validate_title, "日本語のタスク 😀");
  assert_valid (tandem_validate_title, max);
  assert_valid (tandem_validate_title, max_accents);

  assert_invalid (tandem_validate_title, NULL, "title is missing");
  assert_invalid (tandem_validate_title, "", "title is empty");
  assert_invalid (tandem_validate_title, "    ", "title is empty");
  /* Unicode spaces are as empty as ASCII ones. */
  assert_invalid (tandem_validate_title, "\u00a0\u3000\u2003", "title is empty");
  assert_invalid (tandem_validate_title, over, "title is too long (1001 bytes; at most 1000)");
  assert_invalid (tandem_validate_title, over_euros, "title is too long (1002 bytes");
  assert_invalid (tandem_validate_title, "a\x01z", "title contains a control character (U+0001)");
  assert_invalid (tandem_validate_title, "bell\a", "U+0007");
  assert_invalid (tandem_validate_title, "del\x7f", "U+007F");
  assert_invalid (tandem_validate_title, "two\nlines", "U+000A");
  assert_invalid (tandem_validate_title, "tab\there", "U+0009");
  assert_invalid (tandem_validate_title, "caf\xe9", "title is not valid UTF-8");
}

static void
test_validate_notes (void)
{
  g_autofree char *max = g_strnfill (TANDEM_NOTES_MAX, 'n');
  g_autofree char *over = g_strnfill (TANDEM_NOTES_MAX + 1, 'n');

  assert_valid (tandem_validate_notes, "");
  assert_valid (tandem_validate_notes, "   ");
  assert_valid (tandem_validate_notes, "- eggs\n- flour\n\tindented\n");
  assert_valid (tandem_validate_notes, max);

  assert_invalid (tandem_validate_notes, over, "notes is too long");
  assert_invalid (tandem_validate_notes, "esc\x1b[0m", "notes contains a control character (U+001B)");
  assert_invalid (tandem_validate_notes, "\xff\xfe", "notes is not valid UTF-8");
  assert_invalid (tandem_validate_notes, NULL, "notes is missing");
}

static void
test_validate_date (void)
{
  static const char *valid[] = {
    "2026-01-01", "2026-12-31", "2026-02-28", "2024-02-29", "2000-02-29", "2026-04-30",
    "0001-01-01", "9999-12-31",
  };
  static const struct
  {
    const char *date;
    const char *needle;
  } invalid[] = {
    { "2026-02-30", "“2026-02-30” is not a real calendar date" },
    { "2026-02-29", "not a real calendar date" },   /* not a leap year */
    { "1900-02-29", "not a real calendar date" },   /* century, not a leap year */
    { "2100-02-29", "not a real calendar date" },
    { "2026-04-31", "not a real calendar date" },
    { "2026-13-01", "not a real calendar date" },
    { "2026-00-10", "not a real calendar date" },
    { "2026-01-00", "not a real calendar date" },
    { "2026-01-32", "not a real calendar date" },
    { "0000-01-01", "not a real calendar date" },
    { "2026-1-01", "“2026-1-01” is not a date; use YYYY-MM-DD" },
    { "2026/01/01", "is not a date" },
    { "20260101", "is not a date" },
    { " 2026-01-01", "is not a date" },
    { "2026-01-01 ", "is not a date" },
    { "2026-01-01T00:00:00Z", "is not a date" },
    { "２０２６-01-01", "is not a date" },
    { "tomorrow", "is not a date" },
    { "", "is not a date" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    assert_valid (tandem_validate_date, valid[i]);
  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    assert_invalid (tandem_validate_date, invalid[i].date, invalid[i].needle);
  assert_invalid (tandem_validate_date, NULL, "is not a date");
}

static void
test_validate_priority (void)
{
  static const gint64 invalid[] = { -1, 4, 100, G_MAXINT64, G_MININT64 };

  for (gint64 p = 0; p <= TANDEM_PRIORITY_MAX; p++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (tandem_validate_priority (p, &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *expected = g_strdup_printf ("priority %" G_GINT64_FORMAT " is out of range; "
                                                   "use 0 (none) to 3 (high)", invalid[i]);

      g_assert_false (tandem_validate_priority (invalid[i], &error));
      g_assert_error (error, TANDEM_VALIDATION_ERROR, TANDEM_VALIDATION_ERROR_INVALID);
      g_assert_cmpstr (error->message, ==, expected);
    }
}

static void
test_validate_tag (void)
{
  g_autofree char *max = g_strnfill (TANDEM_TAG_MAX, 't');
  g_autofree char *over = g_strnfill (TANDEM_TAG_MAX + 1, 't');

  assert_valid (tandem_validate_tag, "work");
  assert_valid (tandem_validate_tag, "ünïcödé");
  assert_valid (tandem_validate_tag, "to-do_2026");
  assert_valid (tandem_validate_tag, max);

  assert_invalid (tandem_validate_tag, "", "a tag cannot be empty");
  assert_invalid (tandem_validate_tag, over, "tag is too long (65 bytes; at most 64)");
  assert_invalid (tandem_validate_tag, "two words", "tag “two words” contains a space or comma");
  assert_invalid (tandem_validate_tag, "a,b", "contains a space or comma");
  assert_invalid (tandem_validate_tag, " lead", "contains a space or comma");
  assert_invalid (tandem_validate_tag, "no\u00a0break", "contains a space or comma");
  assert_invalid (tandem_validate_tag, "tab\tbed", "control character");
  assert_invalid (tandem_validate_tag, "new\nline", "control character");
  assert_invalid (tandem_validate_tag, NULL, "tag is missing");
}

static void
test_validate_comment (void)
{
  g_autofree char *max = g_strnfill (TANDEM_COMMENT_MAX, 'c');
  g_autofree char *over = g_strnfill (TANDEM_COMMENT_MAX + 1, 'c');

  assert_valid (tandem_validate_comment, "Looks good");
  assert_valid (tandem_validate_comment, "first line\n\tsecond line");
  assert_valid (tandem_validate_comment, max);

  assert_invalid (tandem_validate_comment, "", "comment is empty");
  assert_invalid (tandem_validate_comment, " \n\t ", "comment is empty");
  assert_invalid (tandem_validate_comment, "\u3000", "comment is empty");
  assert_invalid (tandem_validate_comment, over, "comment is too long");
  assert_invalid (tandem_validate_comment, "nul\x02", "control character");
}

static void
test_validate_list_name (void)
{
  g_autofree char *max = g_strnfill (TANDEM_LIST_NAME_MAX, 'l');
  g_autofree char *over = g_strnfill (TANDEM_LIST_NAME_MAX + 1, 'l');

  assert_valid (tandem_validate_list_name, "Groceries");
  assert_valid (tandem_validate_list_name, max);

  assert_invalid (tandem_validate_list_name, "", "list name is empty");
  assert_invalid (tandem_validate_list_name, "  ", "list name is empty");
  assert_invalid (tandem_validate_list_name, over, "list name is too long");
  assert_invalid (tandem_validate_list_name, "a\nb", "control character");
}

/* Tags and comments */

static void
assert_tags (const TandemTask *task,
             const char * const *expected)
{
  guint n = g_strv_length ((char **) expected);

  g_assert_cmpuint (task->tags->len, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr (g_ptr_array_index (task->tags, i), ==, expected[i]);
}

static void
test_tags_sorted_unique (void)
{
  g_autoptr(TandemTask) task = tandem_task_new ();
  static const char * const after_adds[] = { "B", "a", "b", "c", "é", NULL };
  static const char * const after_removes[] = { "B", "a", "c", NULL };

  g_assert_true (tandem_task_add_tag (task, "b"));
  g_assert_true (tandem_task_add_tag (task, "é"));
  g_assert_true (tandem_task_add_tag (task, "a"));
  g_assert_true (tandem_task_add_tag (task, "c"));
  g_assert_false (tandem_task_add_tag (task, "a"));
  g_assert_false (tandem_task_add_tag (task, "é"));
  g_assert_true (tandem_task_add_tag (task, "B"));   /* tags are case-sensitive */
  /* Sorted by bytes (strcmp), as SQLite's BINARY collation does. */
  assert_tags (task, after_adds);

  g_assert_true (tandem_task_has_tag (task, "c"));
  g_assert_false (tandem_task_has_tag (task, "C"));
  g_assert_false (tandem_task_has_tag (task, "d"));

  g_assert_true (tandem_task_remove_tag (task, "b"));
  g_assert_false (tandem_task_remove_tag (task, "b"));
  g_assert_false (tandem_task_remove_tag (task, "zzz"));
  g_assert_true (tandem_task_remove_tag (task, "é"));
  assert_tags (task, after_removes);
  g_assert_false (tandem_task_has_tag (task, "b"));
}

static void
test_tags_many (void)
{
  g_autoptr(TandemTask) task = tandem_task_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);

  /* Random adds and removes against a simple model of the set. */
  for (guint i = 0; i < 2000; i++)
    {
      char tag[8];
      gboolean had;

      g_snprintf (tag, sizeof tag, "t%02d", g_rand_int_range (rand, 0, 50));
      had = tandem_task_has_tag (task, tag);
      if (g_rand_boolean (rand))
        g_assert_true (tandem_task_add_tag (task, tag) == !had);
      else
        g_assert_true (tandem_task_remove_tag (task, tag) == had);
      for (guint j = 1; j < task->tags->len; j++)
        g_assert_cmpint (strcmp (g_ptr_array_index (task->tags, j - 1), g_ptr_array_index (task->tags, j)), <, 0);
    }
}

static void
test_comments_ordered (void)
{
  g_autoptr(TandemTask) task = tandem_task_new ();
  static const char *expected[] = { COMMENT_B, COMMENT_A, COMMENT_C, COMMENT_B "x" };

  g_assert_true (tandem_task_add_comment (task, tandem_comment_new (COMMENT_C, "third", "d",
                                                                    "2026-01-02T00:00:00.000000Z")));
  g_assert_true (tandem_task_add_comment (task, tandem_comment_new (COMMENT_B "x", "fourth", "d",
                                                                    "2026-01-03T00:00:00.000000Z")));
  /* Same time: ordered by id. */
  g_assert_true (tandem_task_add_comment (task, tandem_comment_new (COMMENT_A, "second", "d",
                                                                    "2026-01-01T00:00:00.000000Z")));
  g_assert_true (tandem_task_add_comment (task, tandem_comment_new (COMMENT_B, "first", "d",
                                                                    "2025-12-31T23:59:59.999999Z")));
  /* A comment whose id is there already is refused (and freed). */
  g_assert_false (tandem_task_add_comment (task, tandem_comment_new (COMMENT_A, "replay", "d",
                                                                     "2020-01-01T00:00:00.000000Z")));

  g_assert_cmpuint (task->comments->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      const TandemComment *comment = g_ptr_array_index (task->comments, i);

      g_assert_cmpstr (comment->id, ==, expected[i]);
    }
  g_assert_cmpstr (((TandemComment *) g_ptr_array_index (task->comments, 1))->body, ==, "second");
}

static void
test_comments_same_time (void)
{
  g_autoptr(TandemTask) task = tandem_task_new ();

  g_assert_true (tandem_task_add_comment (task, tandem_comment_new (COMMENT_C, "c", "d", "2026-01-01T00:00:00Z")));
  g_assert_true (tandem_task_add_comment (task, tandem_comment_new (COMMENT_A, "a", "d", "2026-01-01T00:00:00Z")));
  g_assert_true (tandem_task_add_comment (task, tandem_comment_new (COMMENT_B, "b", "d", "2026-01-01T00:00:00Z")));
  g_assert_cmpstr (((TandemComment *) g_ptr_array_index (task->comments, 0))->id, ==, COMMENT_A);
  g_assert_cmpstr (((TandemComment *) g_ptr_array_index (task->comments, 1))->id, ==, COMMENT_B);
  g_assert_cmpstr (((TandemComment *) g_ptr_array_index (task->comments, 2))->id, ==, COMMENT_C);
}

/* Fields */

static void
test_get_field (void)
{
  g_autoptr(TandemTask) task = make_task ();
  g_autoptr(TandemTask) inbox = make_task ();
  g_autoptr(JsonNode) title = tandem_task_get_field (task, TANDEM_FIELD_TITLE);
  g_autoptr(JsonNode) notes = tandem_task_get_field (task, TANDEM_FIELD_NOTES);
  g_autoptr(JsonNode) done = tandem_task_get_field (task, TANDEM_FIELD_DONE);
  g_autoptr(JsonNode) due = tandem_task_get_field (task, TANDEM_FIELD_DUE);
  g_autoptr(JsonNode) priority = tandem_task_get_field (task, TANDEM_FIELD_PRIORITY);
  g_autoptr(JsonNode) list_id = tandem_task_get_field (task, TANDEM_FIELD_LIST_ID);
  g_autoptr(JsonNode) position = tandem_task_get_field (task, TANDEM_FIELD_POSITION);
  g_autoptr(JsonNode) tags = tandem_task_get_field (task, TANDEM_FIELD_TAGS);
  g_autoptr(JsonNode) comments = tandem_task_get_field (task, TANDEM_FIELD_COMMENTS);
  g_autoptr(JsonNode) deleted = tandem_task_get_field (task, TANDEM_FIELD_DELETED);
  g_autoptr(JsonNode) no_due = NULL;
  g_autoptr(JsonNode) no_list = NULL;
  JsonArray *array;
  JsonObject *comment;

  g_assert_cmpint (json_node_get_value_type (title), ==, G_TYPE_STRING);
  g_assert_cmpstr (json_node_get_string (title), ==, "Water the plants");
  g_assert_cmpstr (json_node_get_string (notes), ==, "the big one\nand the fern\n");
  g_assert_cmpint (json_node_get_value_type (done), ==, G_TYPE_BOOLEAN);
  g_assert_false (json_node_get_boolean (done));
  g_assert_cmpstr (json_node_get_string (due), ==, "2026-06-01");
  g_assert_cmpint (json_node_get_value_type (priority), ==, G_TYPE_INT64);
  g_assert_cmpint (json_node_get_int (priority), ==, 1);
  g_assert_cmpstr (json_node_get_string (list_id), ==, LIST_ID);
  g_assert_cmpstr (json_node_get_string (position), ==, task->position);
  g_assert_cmpint (json_node_get_value_type (deleted), ==, G_TYPE_BOOLEAN);
  g_assert_false (json_node_get_boolean (deleted));

  g_assert_true (JSON_NODE_HOLDS_ARRAY (tags));
  array = json_node_get_array (tags);
  g_assert_cmpuint (json_array_get_length (array), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (array, 0), ==, "garden");
  g_assert_cmpstr (json_array_get_string_element (array, 1), ==, "home");

  g_assert_true (JSON_NODE_HOLDS_ARRAY (comments));
  array = json_node_get_array (comments);
  g_assert_cmpuint (json_array_get_length (array), ==, 1);
  comment = json_array_get_object_element (array, 0);
  g_assert_cmpuint (json_object_get_size (comment), ==, 4);
  g_assert_cmpstr (json_object_get_string_member (comment, "id"), ==, COMMENT_A);
  g_assert_cmpstr (json_object_get_string_member (comment, "body"), ==, "Done last week");
  g_assert_cmpstr (json_object_get_string_member (comment, "device_id"), ==, "laptop");
  g_assert_cmpstr (json_object_get_string_member (comment, "created_at"), ==, "2026-05-20T08:00:00.000000Z");

  g_clear_pointer (&inbox->due, g_free);
  g_clear_pointer (&inbox->list_id, g_free);
  no_due = tandem_task_get_field (inbox, TANDEM_FIELD_DUE);
  no_list = tandem_task_get_field (inbox, TANDEM_FIELD_LIST_ID);
  g_assert_true (JSON_NODE_HOLDS_NULL (no_due));
  g_assert_true (JSON_NODE_HOLDS_NULL (no_list));
}

/* set_field(get_field(x)) is the identity, for every settable field. */
static void
test_get_set_field (void)
{
  g_autoptr(TandemTask) source = make_task ();

  source->done = TRUE;
  source->priority = 3;
  source->deleted = TRUE;
  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    {
      g_autoptr(TandemTask) target = tandem_task_new ();
      g_autoptr(JsonNode) value = tandem_task_get_field (source, f);
      g_autoptr(GError) error = NULL;

      if (f == TANDEM_FIELD_COMMENTS)
        continue;
      g_test_message ("field %s", tandem_field_name (f));
      g_assert_false (tandem_task_field_equal (source, target, f));
      g_assert_true (tandem_task_set_field (target, f, value, &error));
      g_assert_no_error (error);
      g_assert_true (tandem_task_field_equal (source, target, f));
    }
}

static void
test_set_field_values (void)
{
  g_autoptr(TandemTask) task = make_task ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) tags = json ("[\"zeta\", \"alpha\", \"zeta\", \"mid\"]");
  g_autoptr(JsonNode) null = json ("null");
  g_autoptr(JsonNode) priority = json ("3");
  g_autoptr(JsonNode) deleted = json ("true");
  static const char * const sorted[] = { "alpha", "mid", "zeta", NULL };

  /* Tags are stored sorted and unique, whatever order they came in. */
  g_assert_true (tandem_task_set_field (task, TANDEM_FIELD_TAGS, tags, &error));
  g_assert_no_error (error);
  assert_tags (task, sorted);

  g_assert_true (tandem_task_set_field (task, TANDEM_FIELD_DUE, null, &error));
  g_assert_null (task->due);
  g_assert_true (tandem_task_set_field (task, TANDEM_FIELD_LIST_ID, null, &error));
  g_assert_null (task->list_id);
  g_assert_true (tandem_task_set_field (task, TANDEM_FIELD_PRIORITY, priority, &error));
  g_assert_cmpint (task->priority, ==, 3);
  g_assert_true (tandem_task_set_field (task, TANDEM_FIELD_DELETED, deleted, &error));
  g_assert_true (task->deleted);
  g_assert_no_error (error);
}

static void
test_set_field_refused (void)
{
  static const struct
  {
    TandemField  field;
    const char  *json;
    const char  *needle;
  } cases[] = {
    { TANDEM_FIELD_TITLE, "1", "title: must be a string" },
    { TANDEM_FIELD_TITLE, "null", "title: must be a string" },
    { TANDEM_FIELD_TITLE, "[\"x\"]", "title: must be a string" },
    { TANDEM_FIELD_TITLE, "\"\"", "title is empty" },
    { TANDEM_FIELD_TITLE, "\" \\u00a0 \"", "title is empty" },
    { TANDEM_FIELD_TITLE, "\"a\\u0001\"", "title contains a control character" },
    { TANDEM_FIELD_NOTES, "null", "notes: must be a string" },
    { TANDEM_FIELD_NOTES, "false", "notes: must be a string" },
    { TANDEM_FIELD_NOTES, "\"\\u001b\"", "notes contains a control character" },
    { TANDEM_FIELD_DONE, "\"true\"", "done: must be true or false" },
    { TANDEM_FIELD_DONE, "1", "done: must be true or false" },
    { TANDEM_FIELD_DONE, "null", "done: must be true or false" },
    { TANDEM_FIELD_DUE, "20260101", "due: must be a string or null" },
    { TANDEM_FIELD_DUE, "true", "due: must be a string or null" },
    { TANDEM_FIELD_DUE, "\"2026-02-30\"", "is not a real calendar date" },
    { TANDEM_FIELD_DUE, "\"next week\"", "is not a date" },
    { TANDEM_FIELD_PRIORITY, "\"1\"", "priority: must be an integer from 0 to 3" },
    { TANDEM_FIELD_PRIORITY, "1.0", "priority: must be an integer from 0 to 3" },
    { TANDEM_FIELD_PRIORITY, "null", "priority: must be an integer" },
    { TANDEM_FIELD_PRIORITY, "4", "priority 4 is out of range" },
    { TANDEM_FIELD_PRIORITY, "-1", "priority -1 is out of range" },
    { TANDEM_FIELD_LIST_ID, "7", "list_id: must be a string or null" },
    { TANDEM_FIELD_LIST_ID, "\"inbox\"", "list_id: “inbox” is not a valid id" },
    { TANDEM_FIELD_POSITION, "1", "position: must be a string" },
    { TANDEM_FIELD_POSITION, "null", "position: must be a string" },
    { TANDEM_FIELD_POSITION, "\"!!\"", "position: “!!” is not a valid ordering key" },
    { TANDEM_FIELD_TAGS, "\"home\"", "tags: must be an array of strings" },
    { TANDEM_FIELD_TAGS, "{\"home\": true}", "tags: must be an array of strings" },
    { TANDEM_FIELD_TAGS, "[\"ok\", 2]", "tags[1]: must be a string" },
    { TANDEM_FIELD_TAGS, "[\"ok\", \"not ok\"]", "tags[1]: tag “not ok” contains a space" },
    { TANDEM_FIELD_TAGS, "[\"\"]", "tags[0]: a tag cannot be empty" },
    { TANDEM_FIELD_COMMENTS, "[]", "comments: are added one at a time" },
    { TANDEM_FIELD_DELETED, "\"false\"", "deleted: must be true or false" },
    { TANDEM_FIELD_DELETED, "0", "deleted: must be true or false" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(TandemTask) task = make_task ();
      g_autoptr(TandemTask) before = tandem_task_copy (task);
      g_autoptr(JsonNode) value = json (cases[i].json);
      g_autoptr(GError) error = NULL;

      g_test_message ("%s = %s", tandem_field_name (cases[i].field), cases[i].json);
      g_assert_false (tandem_task_set_field (task, cases[i].field, value, &error));
      g_assert_error (error, TANDEM_VALIDATION_ERROR, TANDEM_VALIDATION_ERROR_INVALID);
      if (strstr (error->message, cases[i].needle) == NULL)
        g_error ("message “%s” does not contain “%s”", error->message, cases[i].needle);
      assert_task_identical (task, before);
    }
}

static void
test_set_field_too_many_tags (void)
{
  g_autoptr(TandemTask) task = make_task ();
  g_autoptr(TandemTask) before = tandem_task_copy (task);
  g_autoptr(JsonNode) max_node = NULL;
  g_autoptr(JsonNode) over_node = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *max = json_array_new ();
  JsonArray *over = json_array_new ();

  for (guint i = 0; i <= TANDEM_TAGS_MAX; i++)
    {
      char tag[8];

      g_snprintf (tag, sizeof tag, "t%02u", i);
      if (i < TANDEM_TAGS_MAX)
        json_array_add_string_element (max, tag);
      json_array_add_string_element (over, tag);
    }
  max_node = json_node_init_array (json_node_alloc (), max);
  over_node = json_node_init_array (json_node_alloc (), over);
  json_array_unref (max);
  json_array_unref (over);

  g_assert_false (tandem_task_set_field (task, TANDEM_FIELD_TAGS, over_node, &error));
  g_assert_error (error, TANDEM_VALIDATION_ERROR, TANDEM_VALIDATION_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "at most 64 tags"));
  assert_task_identical (task, before);
  g_clear_error (&error);

  g_assert_true (tandem_task_set_field (task, TANDEM_FIELD_TAGS, max_node, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (task->tags->len, ==, TANDEM_TAGS_MAX);
}

/* Changes @field of @task to a different valid value. */
static void
change_field (TandemTask  *task,
              TandemField  field)
{
  switch (field)
    {
    case TANDEM_FIELD_TITLE:
      g_free (task->title);
      task->title = g_strdup ("Water the plants!");
      break;
    case TANDEM_FIELD_NOTES:
      g_free (task->notes);
      task->notes = g_strdup ("");
      break;
    case TANDEM_FIELD_DONE:
      task->done = !task->done;
      break;
    case TANDEM_FIELD_DUE:
      g_clear_pointer (&task->due, g_free);
      break;
    case TANDEM_FIELD_PRIORITY:
      task->priority = 3;
      break;
    case TANDEM_FIELD_LIST_ID:
      g_clear_pointer (&task->list_id, g_free);
      break;
    case TANDEM_FIELD_POSITION:
      {
        g_autoptr(GError) error = NULL;
        char *after = tandem_position_between (task->position, NULL, &error);

        g_assert_no_error (error);
        g_free (task->position);
        task->position = after;
      }
      break;
    case TANDEM_FIELD_TAGS:
      tandem_task_add_tag (task, "zzz");
      break;
    case TANDEM_FIELD_COMMENTS:
      tandem_task_add_comment (task, tandem_comment_new (COMMENT_B, "more", "phone",
                                                         "2026-05-21T08:00:00.000000Z"));
      break;
    case TANDEM_FIELD_DELETED:
      task->deleted = !task->deleted;
      break;
    case TANDEM_N_FIELDS:
    default:
      g_assert_not_reached ();
    }
}

static void
test_field_equal (void)
{
  g_autoptr(TandemTask) a = make_task ();

  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    {
      g_autoptr(TandemTask) b = tandem_task_copy (a);

      g_test_message ("field %s", tandem_field_name (f));
      g_assert_true (tandem_task_field_equal (a, b, f));
      change_field (b, f);
      g_assert_false (tandem_task_field_equal (a, b, f));
      g_assert_false (tandem_task_field_equal (b, a, f));
      for (guint g = 0; g < TANDEM_N_FIELDS; g++)
        if (g != f)
          g_assert_true (tandem_task_field_equal (a, b, g));
      g_assert_false (tandem_task_equal (a, b));
    }
}

static void
test_field_equal_details (void)
{
  g_autoptr(TandemTask) a = make_task ();
  g_autoptr(TandemTask) b = tandem_task_copy (a);
  TandemComment *comment;

  /* Same number of tags, different tags. */
  tandem_task_remove_tag (b, "home");
  tandem_task_add_tag (b, "hone");
  g_assert_false (tandem_task_field_equal (a, b, TANDEM_FIELD_TAGS));
  g_clear_pointer (&b, tandem_task_free);

  /* A comment whose body differs, same id. */
  b = tandem_task_copy (a);
  comment = g_ptr_array_index (b->comments, 0);
  g_free (comment->body);
  comment->body = g_strdup ("Done last month");
  g_assert_false (tandem_task_field_equal (a, b, TANDEM_FIELD_COMMENTS));
  g_clear_pointer (&b, tandem_task_free);

  /* Due set on one side only. */
  b = tandem_task_copy (a);
  g_clear_pointer (&a->due, g_free);
  g_assert_false (tandem_task_field_equal (a, b, TANDEM_FIELD_DUE));
  g_assert_false (tandem_task_field_equal (b, a, TANDEM_FIELD_DUE));
  g_clear_pointer (&b->due, g_free);
  g_assert_true (tandem_task_field_equal (a, b, TANDEM_FIELD_DUE));

  /* Another id is another task, whatever the fields. */
  g_free (b->id);
  b->id = g_strdup (LIST_ID);
  g_assert_false (tandem_task_equal (a, b));
}

/* Patches */

static void
test_apply_patch (void)
{
  g_autoptr(TandemTask) task = make_task ();
  g_autoptr(TandemTask) before = tandem_task_copy (task);
  g_autoptr(JsonNode) patch = json ("{\"title\": \"Water the cactus\", \"done\": true, \"due\": null,"
                                    " \"priority\": 0, \"list_id\": null, \"tags\": [\"plants\", \"home\"]}");
  g_autoptr(JsonNode) empty = json ("{}");
  g_autoptr(GError) error = NULL;
  static const char * const tags[] = { "home", "plants", NULL };

  g_assert_true (tandem_task_apply_patch (task, json_node_get_object (patch), &error));
  g_assert_no_error (error);
  g_assert_cmpstr (task->title, ==, "Water the cactus");
  g_assert_true (task->done);
  g_assert_null (task->due);
  g_assert_cmpint (task->priority, ==, 0);
  g_assert_null (task->list_id);
  assert_tags (task, tags);

  /* Fields the patch does not name keep their values. */
  g_assert_cmpstr (task->notes, ==, before->notes);
  g_assert_cmpstr (task->position, ==, before->position);
  g_assert_true (tandem_task_field_equal (task, before, TANDEM_FIELD_COMMENTS));
  g_assert_cmpint (task->rev, ==, before->rev);

  g_clear_pointer (&before, tandem_task_free);
  before = tandem_task_copy (task);
  g_assert_true (tandem_task_apply_patch (task, json_node_get_object (empty), &error));
  g_assert_no_error (error);
  assert_task_identical (task, before);
}

static void
test_apply_patch_all_or_nothing (void)
{
  static const struct
  {
    const char *patch;
    const char *needle;
  } cases[] = {
    /* Many good members and one bad: nothing of it is applied. */
    { "{\"title\": \"New\", \"notes\": \"new\", \"done\": true, \"due\": \"2027-01-01\", \"tags\": [\"x\"],"
      " \"list_id\": null, \"priority\": 9}", "priority 9 is out of range" },
    { "{\"priority\": 9, \"title\": \"New\", \"notes\": \"new\", \"done\": true, \"due\": \"2027-01-01\","
      " \"tags\": [\"x\"], \"list_id\": null}", "priority 9 is out of range" },
    { "{\"title\": \"New\", \"tags\": [\"x\", \"y z\"]}", "contains a space" },
    { "{\"title\": \"New\", \"due\": \"2026-02-29\"}", "not a real calendar date" },
    { "{\"title\": \"New\", \"done\": \"yes\"}", "done: must be true or false" },
    /* Unknown and read-only members. */
    { "{\"title\": \"New\", \"titel\": \"typo\"}", "“titel” is not a task field that can be set" },
    { "{\"title\": \"New\", \"deleted\": true}", "“deleted” is not a task field that can be set" },
    { "{\"comments\": []}", "“comments” is not a task field that can be set" },
    { "{\"id\": \"" LIST_ID "\"}", "“id” is not a task field that can be set" },
    { "{\"rev\": 9}", "“rev” is not a task field that can be set" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(TandemTask) task = make_task ();
      g_autoptr(TandemTask) before = tandem_task_copy (task);
      g_autoptr(JsonNode) patch = json (cases[i].patch);
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", cases[i].patch);
      g_assert_false (tandem_task_apply_patch (task, json_node_get_object (patch), &error));
      g_assert_error (error, TANDEM_VALIDATION_ERROR, TANDEM_VALIDATION_ERROR_INVALID);
      if (strstr (error->message, cases[i].needle) == NULL)
        g_error ("message “%s” does not contain “%s”", error->message, cases[i].needle);
      assert_task_identical (task, before);
      g_assert_cmpstr (task->title, ==, "Water the plants");
    }
}

/* Copies */

static void
test_task_copy_deep (void)
{
  g_autoptr(TandemTask) task = make_task ();
  g_autoptr(TandemTask) copy = tandem_task_copy (task);
  g_autoptr(TandemTask) pristine = tandem_task_copy (task);
  TandemComment *comment;

  task->deleted = TRUE;
  task->done = TRUE;
  g_clear_pointer (&copy, tandem_task_free);
  copy = tandem_task_copy (task);
  assert_task_identical (task, copy);
  g_assert_true (copy->deleted);
  g_assert_true (copy->done);
  task->deleted = FALSE;
  task->done = FALSE;
  g_clear_pointer (&copy, tandem_task_free);
  copy = tandem_task_copy (task);

  g_assert_true (copy->title != task->title);
  g_assert_true (copy->notes != task->notes);
  g_assert_true (copy->position != task->position);
  g_assert_true (copy->tags != task->tags);
  g_assert_true (g_ptr_array_index (copy->tags, 0) != g_ptr_array_index (task->tags, 0));
  g_assert_true (copy->comments != task->comments);
  g_assert_true (g_ptr_array_index (copy->comments, 0) != g_ptr_array_index (task->comments, 0));

  /* Changing everything in the copy leaves the original as it was. */
  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    change_field (copy, f);
  comment = g_ptr_array_index (copy->comments, 0);
  g_free (comment->body);
  comment->body = g_strdup ("edited");
  ((char *) g_ptr_array_index (copy->tags, 0))[0] = 'G';
  g_free (copy->updated_at);
  copy->updated_at = NULL;
  copy->rev = 99;
  copy->sync_status = TANDEM_SYNC_NEEDS_REVIEW;

  assert_task_identical (task, pristine);
  g_assert_cmpstr (((TandemComment *) g_ptr_array_index (task->comments, 0))->body, ==, "Done last week");
  g_assert_cmpstr (g_ptr_array_index (task->tags, 0), ==, "garden");
}

static void
test_comment_copy (void)
{
  g_autoptr(TandemComment) comment = tandem_comment_new (COMMENT_A, "body", "device", "2026-01-01T00:00:00Z");
  g_autoptr(TandemComment) copy = tandem_comment_copy (comment);

  g_assert_cmpstr (copy->id, ==, COMMENT_A);
  g_assert_cmpstr (copy->body, ==, "body");
  g_assert_cmpstr (copy->device_id, ==, "device");
  g_assert_cmpstr (copy->created_at, ==, "2026-01-01T00:00:00Z");
  g_assert_true (copy->body != comment->body);
}

static void
test_list_copy_deep (void)
{
  g_autoptr(TandemList) list = tandem_list_new ();
  g_autoptr(TandemList) copy = NULL;

  list->id = g_strdup (LIST_ID);
  g_free (list->name);
  list->name = g_strdup ("Garden");
  g_free (list->position);
  list->position = new_position ();
  list->rev = 3;
  list->updated_at = g_strdup ("2026-01-01T00:00:00Z");
  list->deleted = TRUE;
  list->sync_status = TANDEM_SYNC_ERROR;

  copy = tandem_list_copy (list);
  g_assert_cmpstr (copy->id, ==, list->id);
  g_assert_cmpstr (copy->name, ==, "Garden");
  g_assert_cmpstr (copy->position, ==, list->position);
  g_assert_cmpint (copy->rev, ==, 3);
  g_assert_cmpstr (copy->updated_at, ==, list->updated_at);
  g_assert_true (copy->deleted);
  g_assert_cmpint (copy->sync_status, ==, TANDEM_SYNC_ERROR);
  g_assert_true (copy->name != list->name);

  copy->name[0] = 'X';
  g_assert_cmpstr (list->name, ==, "Garden");
}

static void
test_op_copy_deep (void)
{
  g_autoptr(TandemOp) op = tandem_op_new ();
  g_autoptr(TandemOp) copy = NULL;
  g_autoptr(JsonNode) patch = json ("{\"title\": \"New\", \"tags\": [\"a\", \"b\"]}");
  g_autoptr(JsonNode) base = json ("{\"title\": \"Old\", \"tags\": []}");
  g_autoptr(JsonNode) patch_before = NULL;
  g_autoptr(JsonNode) copy_patch = NULL;
  g_autoptr(JsonNode) op_patch = NULL;
  g_autoptr(JsonNode) op_base = NULL;

  op->op_id = tandem_new_id ();
  op->device_id = g_strdup ("laptop");
  op->entity = TANDEM_ENTITY_TASK;
  op->entity_id = g_strdup (TASK_ID);
  op->kind = TANDEM_OP_UPDATE;
  op->base_rev = 5;
  json_object_unref (op->patch);
  op->patch = json_object_ref (json_node_get_object (patch));
  json_object_unref (op->base);
  op->base = json_object_ref (json_node_get_object (base));
  op->created_at = tandem_now_rfc3339 ();
  op->seq = 17;
  op->state = TANDEM_OP_STATE_SENT;
  op->error = g_strdup ("nope");
  patch_before = json_node_copy (patch);

  copy = tandem_op_copy (op);
  g_assert_cmpstr (copy->op_id, ==, op->op_id);
  g_assert_cmpstr (copy->device_id, ==, "laptop");
  g_assert_cmpint (copy->entity, ==, TANDEM_ENTITY_TASK);
  g_assert_cmpstr (copy->entity_id, ==, TASK_ID);
  g_assert_cmpint (copy->kind, ==, TANDEM_OP_UPDATE);
  g_assert_cmpint (copy->base_rev, ==, 5);
  g_assert_cmpstr (copy->created_at, ==, op->created_at);
  g_assert_cmpint (copy->seq, ==, 17);
  g_assert_cmpint (copy->state, ==, TANDEM_OP_STATE_SENT);
  g_assert_cmpstr (copy->error, ==, "nope");

  copy_patch = json_node_init_object (json_node_alloc (), copy->patch);
  op_patch = json_node_init_object (json_node_alloc (), op->patch);
  g_assert_true (json_node_equal (copy_patch, op_patch));

  /* A sent op is frozen: editing a copy must not reach it. */
  g_assert_true (copy->patch != op->patch);
  g_assert_true (copy->base != op->base);
  json_object_set_string_member (copy->patch, "title", "Changed");
  json_array_add_string_element (json_object_get_array_member (copy->patch, "tags"), "c");
  json_array_add_string_element (json_object_get_array_member (copy->base, "tags"), "z");
  g_assert_cmpstr (json_object_get_string_member (op->patch, "title"), ==, "New");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (op->patch, "tags")), ==, 2);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (op->base, "tags")), ==, 0);
  g_assert_true (json_node_equal (op_patch, patch_before));
  op_base = json_node_init_object (json_node_alloc (), op->base);
  g_assert_cmpuint (json_object_get_size (json_node_get_object (op_base)), ==, 2);
}

static void
test_task_new (void)
{
  g_autoptr(TandemTask) task = tandem_task_new ();
  g_autoptr(TandemList) list = tandem_list_new ();
  g_autoptr(TandemOp) op = tandem_op_new ();

  g_assert_null (task->id);
  g_assert_null (task->list_id);
  g_assert_cmpstr (task->title, ==, "");
  g_assert_cmpstr (task->notes, ==, "");
  g_assert_null (task->due);
  g_assert_cmpint (task->priority, ==, 0);
  g_assert_cmpuint (task->tags->len, ==, 0);
  g_assert_cmpuint (task->comments->len, ==, 0);
  g_assert_cmpint (task->rev, ==, 0);
  g_assert_false (task->deleted);
  g_assert_cmpint (task->sync_status, ==, TANDEM_SYNC_PENDING);
  g_assert_cmpstr (list->name, ==, "");
  g_assert_cmpint (list->sync_status, ==, TANDEM_SYNC_PENDING);
  g_assert_nonnull (op->patch);
  g_assert_nonnull (op->base);
  g_assert_cmpuint (json_object_get_size (op->patch), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/task/field-table", test_field_table);
  g_test_add_func ("/task/sync-status-strings", test_sync_status_strings);
  g_test_add_func ("/task/op-strings", test_op_strings);
  g_test_add_func ("/task/new", test_task_new);
  g_test_add_func ("/task/validate/uuid", test_validate_uuid);
  g_test_add_func ("/task/validate/new-id", test_new_id);
  g_test_add_func ("/task/validate/now-rfc3339", test_now_rfc3339);
  g_test_add_func ("/task/validate/title", test_validate_title);
  g_test_add_func ("/task/validate/notes", test_validate_notes);
  g_test_add_func ("/task/validate/date", test_validate_date);
  g_test_add_func ("/task/validate/priority", test_validate_priority);
  g_test_add_func ("/task/validate/tag", test_validate_tag);
  g_test_add_func ("/task/validate/comment", test_validate_comment);
  g_test_add_func ("/task/validate/list-name", test_validate_list_name);
  g_test_add_func ("/task/tags/sorted-unique", test_tags_sorted_unique);
  g_test_add_func ("/task/tags/many", test_tags_many);
  g_test_add_func ("/task/comments/ordered", test_comments_ordered);
  g_test_add_func ("/task/comments/same-time", test_comments_same_time);
  g_test_add_func ("/task/field/get", test_get_field);
  g_test_add_func ("/task/field/get-set", test_get_set_field);
  g_test_add_func ("/task/field/set-values", test_set_field_values);
  g_test_add_func ("/task/field/set-refused", test_set_field_refused);
  g_test_add_func ("/task/field/set-too-many-tags", test_set_field_too_many_tags);
  g_test_add_func ("/task/field/equal", test_field_equal);
  g_test_add_func ("/task/field/equal-details", test_field_equal_details);
  g_test_add_func ("/task/patch/apply", test_apply_patch);
  g_test_add_func ("/task/patch/all-or-nothing", test_apply_patch_all_or_nothing);
  g_test_add_func ("/task/copy/task", test_task_copy_deep);
  g_test_add_func ("/task/copy/comment", test_comment_copy);
  g_test_add_func ("/task/copy/list", test_list_copy_deep);
  g_test_add_func ("/task/copy/op", test_op_copy_deep);

  return g_test_run ();
}
