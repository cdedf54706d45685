/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The three-way task merge with tasks made by a small generator that
 * reads its choices from the input: a base task, then two sides that each
 * keep or change every field (values from small pools, so the two sides
 * often meet on the same value). Checked are the rules of DESIGN §2, §5
 * and §8 as tandem-merge.h states them. */

#include "config.h"

#include <string.h>

#include "fuzz-common.h"
#include "tandem-merge.h"

#define TASK_ID "0b6f4c52-1f0e-4d7a-9a55-2f7c1e8b3d10"

static const char *titles[] = { "Eggs", "A dozen eggs", "Milk", "", "Ünïcödé ✓", "eggs" };
static const char *note_lines[] = {
  "Flights\n", "book the train\n", "book the 9:40 train\n", "\n", "Hotel\n",
  "ask for a quiet room\n", "chargers", "passport\n", "ø\n",
};
static const char *dues[] = { NULL, "2026-12-01", "2026-12-24", "2027-01-31" };
static const char *list_ids[] = {
  NULL, "6a1d8f7e-2c3b-4e5f-8a9b-0c1d2e3f4a5b", "7b2e9a8f-3d4c-4f6a-9b0c-1d2e3f4a5b6c",
};
static const char *positions[] = { "V", "VV", "K", "n", "Vk" };
static const char *tag_pool[] = { "home", "shop", "urgent", "travel", "wäre", "z" };
static const struct
{
  const char *id;
  const char *body;
  const char *device_id;
  const char *created_at;
} comment_pool[] = {
  { "cccccccc-0000-4000-8000-000000000001", "Booked", "laptop", "2026-11-19T09:00:00.000000Z" },
  { "cccccccc-0000-4000-8000-000000000002", "Hotel confirmed", "phone", "2026-11-20T12:00:00.000000Z" },
  { "cccccccc-0000-4000-8000-000000000003", "Passport", "laptop", "2026-11-20T15:00:00.000000Z" },
  { "cccccccc-0000-4000-8000-000000000004", "Window seat", "laptop", "2026-11-20T12:00:00.000000Z" },
  /* The same id as the first with other content (a broken client). */
  { "cccccccc-0000-4000-8000-000000000001", "Booked!", "phone", "2026-11-19T09:00:00.000000Z" },
};
static const char *timestamps[] = {
  NULL, "2026-11-20T10:00:00.000000Z", "2026-11-21T08:30:00.000000Z",
};

static char *
make_notes (FuzzBytes *in)
{
  GString *notes = g_string_new (NULL);
  guint n = fuzz_pick (in, 6);

  for (guint i = 0; i < n; i++)
    g_string_append (notes, note_lines[fuzz_pick (in, G_N_ELEMENTS (note_lines))]);
  return g_string_free (notes, FALSE);
}

static void
add_comment (TandemTask *task,
             guint       index)
{
  tandem_task_add_comment (task, tandem_comment_new (comment_pool[index].id,
                                                     comment_pool[index].body,
                                                     comment_pool[index].device_id,
                                                     comment_pool[index].created_at));
}

static void
replace (char       **dest,
         const char  *value)
{
  g_free (*dest);
  *dest = g_strdup (value);
}

static TandemTask *
make_base (FuzzBytes *in)
{
  TandemTask *task = tandem_task_new ();
  guint bits;

  task->id = g_strdup (TASK_ID);
  replace (&task->title, titles[fuzz_pick (in, G_N_ELEMENTS (titles))]);
  g_free (task->notes);
  task->notes = make_notes (in);
  task->done = fuzz_pick (in, 2);
  task->due = g_strdup (dues[fuzz_pick (in, G_N_ELEMENTS (dues))]);
  task->priority = fuzz_pick (in, TANDEM_PRIORITY_MAX + 1);
  task->list_id = g_strdup (list_ids[fuzz_pick (in, G_N_ELEMENTS (list_ids))]);
  replace (&task->position, positions[fuzz_pick (in, G_N_ELEMENTS (positions))]);
  bits = fuzz_byte (in);
  for (guint i = 0; i < G_N_ELEMENTS (tag_pool); i++)
    if (bits & (1u << i))
      tandem_task_add_tag (task, tag_pool[i]);
  bits = fuzz_byte (in);
  for (guint i = 0; i < 3; i++)
    if (bits & (1u << i))
      add_comment (task, i);
  task->rev = fuzz_byte (in);
  task->updated_at = g_strdup (timestamps[fuzz_pick (in, G_N_ELEMENTS (timestamps))]);
  task->deleted = fuzz_pick (in, 4) == 0;
  task->sync_status = TANDEM_SYNC_SYNCED;
  return task;
}

/* One device's version: each field kept or changed. Comments are only
 * added (append-only), tags added or removed, metadata as a server or a
 * device would hold it. */
static TandemTask *
make_side (FuzzBytes        *in,
           const TandemTask *base)
{
  TandemTask *task = tandem_task_copy (base);
  guint changes = fuzz_byte (in) | (fuzz_byte (in) << 8);

  if (changes & (1 << TANDEM_FIELD_TITLE))
    replace (&task->title, titles[fuzz_pick (in, G_N_ELEMENTS (titles))]);
  if (changes & (1 << TANDEM_FIELD_NOTES))
    {
      g_free (task->notes);
      task->notes = make_notes (in);
    }
  if (changes & (1 << TANDEM_FIELD_DONE))
    task->done = !task->done;
  if (changes & (1 << TANDEM_FIELD_DUE))
    replace (&task->due, dues[fuzz_pick (in, G_N_ELEMENTS (dues))]);
  if (changes & (1 << TANDEM_FIELD_PRIORITY))
    task->priority = fuzz_pick (in, TANDEM_PRIORITY_MAX + 1);
  if (changes & (1 << TANDEM_FIELD_LIST_ID))
    replace (&task->list_id, list_ids[fuzz_pick (in, G_N_ELEMENTS (list_ids))]);
  if (changes & (1 << TANDEM_FIELD_POSITION))
    replace (&task->position, positions[fuzz_pick (in, G_N_ELEMENTS (positions))]);
  if (changes & (1 << TANDEM_FIELD_TAGS))
    {
      guint n = 1 + fuzz_pick (in, 3);

      for (guint i = 0; i < n; i++)
        {
          const char *tag = tag_pool[fuzz_pick (in, G_N_ELEMENTS (tag_pool))];

          if (!tandem_task_remove_tag (task, tag))
            tandem_task_add_tag (task, tag);
        }
    }
  if (changes & (1 << TANDEM_FIELD_COMMENTS))
    add_comment (task, fuzz_pick (in, G_N_ELEMENTS (comment_pool)));
  if (changes & (1 << TANDEM_FIELD_DELETED))
    task->deleted = !task->deleted;
  if (changes & (1 << 12))
    {
      task->rev = base->rev + 1 + fuzz_pick (in, 3);
      replace (&task->updated_at, timestamps[fuzz_pick (in, G_N_ELEMENTS (timestamps))]);
    }
  task->sync_status = fuzz_pick (in, TANDEM_SYNC_NEEDS_REVIEW + 1);
  return task;
}

static gboolean
edited (const TandemTask *base,
        const TandemTask *side)
{
  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    if (f != TANDEM_FIELD_DELETED && !tandem_task_field_equal (base, side, f))
      return TRUE;
  return FALSE;
}

static gboolean
has_field (GPtrArray   *array,
           TandemField  field)
{
  /* TandemFieldConflict and TandemOverwrite both start with the field. */
  for (guint i = 0; i < array->len; i++)
    if (*(TandemField *) g_ptr_array_index (array, i) == field)
      return TRUE;
  return FALSE;
}

static gboolean
auto_merged (const TandemMergeResult *result,
             TandemField              field)
{
  for (guint i = 0; i < result->auto_merged->len; i++)
    if (GPOINTER_TO_UINT (g_ptr_array_index (result->auto_merged, i)) == field)
      return TRUE;
  return FALSE;
}

static void
check_field_order (GPtrArray  *array,
                   const char *what)
{
  for (guint i = 1; i < array->len; i++)
    FUZZ_CHECK (*(TandemField *) g_ptr_array_index (array, i - 1) <
                *(TandemField *) g_ptr_array_index (array, i),
                "%s are not in field order, or repeat a field", what);
}

static gboolean
node_equal (JsonNode *a,
            JsonNode *b)
{
  return json_node_equal (a, b);
}

/* The rules every merge follows, whatever the sides did. */
static void
check_merge (const TandemTask        *base,
             const TandemTask        *local,
             const TandemTask        *remote,
             const TandemMergeResult *result)
{
  const TandemTask *merged = result->merged;
  gboolean local_deleted_changed = local->deleted != base->deleted;
  gboolean remote_deleted_changed = remote->deleted != base->deleted;

  FUZZ_CHECK (merged != NULL, "no merged task");
  FUZZ_CHECK ((result->kind == TANDEM_CONFLICT_NONE) == (result->conflicts->len == 0),
              "kind %d with %u conflicts", result->kind, result->conflicts->len);
  check_field_order (result->conflicts, "conflicts");
  check_field_order (result->overwrites, "overwrites");

  /* Metadata: the record as the server holds it, the local sync state. */
  FUZZ_CHECK (g_strcmp0 (merged->id, remote->id) == 0, "id not taken from remote");
  FUZZ_CHECK (merged->rev == remote->rev, "rev not taken from remote");
  FUZZ_CHECK (g_strcmp0 (merged->updated_at, remote->updated_at) == 0,
              "updated_at not taken from remote");
  FUZZ_CHECK (merged->sync_status == local->sync_status, "sync_status not taken from local");

  /* Tags are a set, comments are ordered and unique by id. */
  for (guint i = 1; i < merged->tags->len; i++)
    FUZZ_CHECK (strcmp (g_ptr_array_index (merged->tags, i - 1),
                        g_ptr_array_index (merged->tags, i)) < 0,
                "merged tags are not a sorted set");
  for (guint i = 0; i < merged->comments->len; i++)
    for (guint j = i + 1; j < merged->comments->len; j++)
      FUZZ_CHECK (!g_str_equal (((TandemComment *) g_ptr_array_index (merged->comments, i))->id,
                                ((TandemComment *) g_ptr_array_index (merged->comments, j))->id),
                  "a comment id is in the merged task twice");

  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    {
      TandemField field = f;
      const char *name = tandem_field_name (field);
      TandemPolicy policy = tandem_field_policy (field);
      gboolean local_changed = !tandem_task_field_equal (base, local, field);
      gboolean remote_changed = !tandem_task_field_equal (base, remote, field);
      gboolean same = tandem_task_field_equal (local, remote, field);
      gboolean conflict = has_field (result->conflicts, field);
      gboolean overwrite = has_field (result->overwrites, field);

      FUZZ_CHECK (!conflict || policy == TANDEM_POLICY_HUMAN || policy == TANDEM_POLICY_TEXT ||
                  policy == TANDEM_POLICY_TOMBSTONE, "%s (never conflicts) conflicts", name);
      FUZZ_CHECK (!overwrite || policy == TANDEM_POLICY_LWW, "%s is not lww but overwritten", name);

      if (field == TANDEM_FIELD_DELETED)
        continue;

      /* One side changed it, or both the same way: that change, silently. */
      if (!remote_changed || same)
        {
          FUZZ_CHECK (tandem_task_field_equal (merged, local, field), "%s: local change lost", name);
          FUZZ_CHECK (!conflict && !overwrite, "%s changed on one side only asks", name);
          continue;
        }
      if (!local_changed)
        {
          FUZZ_CHECK (tandem_task_field_equal (merged, remote, field), "%s: remote change lost", name);
          FUZZ_CHECK (!conflict && !overwrite, "%s changed on one side only asks", name);
          continue;
        }

      /* Both changed it, to different values. */
      switch (policy)
        {
        case TANDEM_POLICY_HUMAN:
          FUZZ_CHECK (conflict, "%s changed on both sides does not ask", name);
          FUZZ_CHECK (tandem_task_field_equal (merged, local, field),
                      "%s: a collided field must hold the local value", name);
          break;

        case TANDEM_POLICY_TEXT:
          {
            g_autofree char *text = NULL;
            gboolean clean = tandem_merge_text (base->notes, local->notes, remote->notes, &text);

            FUZZ_CHECK (clean != conflict, "%s: conflict does not follow the line merge", name);
            FUZZ_CHECK (clean == auto_merged (result, field), "%s: auto-merge not reported", name);
            FUZZ_CHECK (g_str_equal (merged->notes, clean ? text : local->notes),
                        "%s: the merged text is neither the line merge nor local", name);
          }
          break;

        case TANDEM_POLICY_LWW:
          {
            const TandemOverwrite *entry = NULL;
            g_autoptr(JsonNode) local_value = tandem_task_get_field (local, field);
            g_autoptr(JsonNode) remote_value = tandem_task_get_field (remote, field);

            FUZZ_CHECK (overwrite, "%s: the overwritten value is not kept for history", name);
            for (guint i = 0; i < result->overwrites->len; i++)
              if (((TandemOverwrite *) g_ptr_array_index (result->overwrites, i))->field == field)
                entry = g_ptr_array_index (result->overwrites, i);
            FUZZ_CHECK (node_equal (entry->overwritten, remote_value) &&
                        node_equal (entry->value, local_value),
                        "%s: the overwrite records other values", name);
            FUZZ_CHECK (tandem_task_field_equal (merged, local, field),
                        "%s: the later (local) write did not win", name);
          }
          break;

        case TANDEM_POLICY_SET:
          FUZZ_CHECK (auto_merged (result, field), "%s: set merge not reported", name);
          for (guint i = 0; i < G_N_ELEMENTS (tag_pool); i++)
            {
              const char *tag = tag_pool[i];
              gboolean in_base = tandem_task_has_tag (base, tag);
              gboolean in_local = tandem_task_has_tag (local, tag);
              gboolean in_remote = tandem_task_has_tag (remote, tag);
              gboolean expected = (in_local && in_remote) || (in_local && !in_base) ||
                                  (in_remote && !in_base);

              FUZZ_CHECK (tandem_task_has_tag (merged, tag) == expected,
                          "tag %s: base %d local %d remote %d merged %d", tag, in_base, in_local,
                          in_remote, !expected);
            }
          break;

        case TANDEM_POLICY_APPEND:
          FUZZ_CHECK (auto_merged (result, field), "%s: comment merge not reported", name);
          {
            const TandemTask *sides[] = { local, remote };

            for (guint s = 0; s < 2; s++)
              for (guint i = 0; i < sides[s]->comments->len; i++)
                {
                  const TandemComment *c = g_ptr_array_index (sides[s]->comments, i);
                  gboolean found = FALSE;

                  for (guint j = 0; j < merged->comments->len; j++)
                    found = found ||
                            g_str_equal (((TandemComment *) g_ptr_array_index (merged->comments, j))->id,
                                         c->id);
                  FUZZ_CHECK (found, "comment %s was dropped", c->id);
                }
          }
          break;

        case TANDEM_POLICY_TOMBSTONE:
        default:
          FUZZ_CHECK (FALSE, "unexpected policy for %s", name);
        }
    }

  /* The tombstone (DESIGN §5): a delete against an edit asks; a restore
   * or a delete against no edit simply happens. */
  if (local_deleted_changed == remote_deleted_changed)
    {
      FUZZ_CHECK (!has_field (result->conflicts, TANDEM_FIELD_DELETED), "deleted both ways asks");
      FUZZ_CHECK (merged->deleted == local->deleted, "deleted: local state not kept");
    }
  else
    {
      const TandemTask *changer = local_deleted_changed ? local : remote;
      const TandemTask *other = local_deleted_changed ? remote : local;
      gboolean asks = changer->deleted && edited (base, other);

      FUZZ_CHECK (has_field (result->conflicts, TANDEM_FIELD_DELETED) == asks,
                  "edit vs delete: asks %d, expected %d", !asks, asks);
      if (asks)
        {
          FUZZ_CHECK (result->kind == (local_deleted_changed ? TANDEM_CONFLICT_DELETE_VS_EDIT
                                                             : TANDEM_CONFLICT_EDIT_VS_DELETE),
                      "edit vs delete has kind %d", result->kind);
          FUZZ_CHECK (merged->deleted == local->deleted, "edit vs delete: local state not kept");
        }
      else
        FUZZ_CHECK (merged->deleted == changer->deleted, "a delete or restore was lost");
    }
  if (!has_field (result->conflicts, TANDEM_FIELD_DELETED))
    FUZZ_CHECK (result->kind == TANDEM_CONFLICT_NONE || result->kind == TANDEM_CONFLICT_EDIT,
                "kind %d without a tombstone conflict", result->kind);

  /* Each conflict carries the three versions of its field. */
  for (guint i = 0; i < result->conflicts->len; i++)
    {
      const TandemFieldConflict *c = g_ptr_array_index (result->conflicts, i);
      g_autoptr(JsonNode) b = tandem_task_get_field (base, c->field);
      g_autoptr(JsonNode) l = tandem_task_get_field (local, c->field);
      g_autoptr(JsonNode) r = tandem_task_get_field (remote, c->field);

      FUZZ_CHECK (node_equal (c->base, b) && node_equal (c->local, l) && node_equal (c->remote, r),
                  "conflict on %s carries other values", tandem_field_name (c->field));
    }
}

/* merge(base, side, base) and merge(base, base, side) give the side, and
 * so does merge(base, side, side): nothing to ask. */
static void
check_trivial (const TandemTask *base,
               const TandemTask *side)
{
  const TandemTask *cases[][2] = { { side, base }, { base, side }, { side, side } };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(TandemMergeResult) result = tandem_merge_tasks (base, cases[c][0], cases[c][1]);

      check_merge (base, cases[c][0], cases[c][1], result);
      FUZZ_CHECK (result->kind == TANDEM_CONFLICT_NONE && result->conflicts->len == 0 &&
                  result->overwrites->len == 0, "trivial merge %u asks or overwrites", c);
      for (guint f = 0; f < TANDEM_N_FIELDS; f++)
        FUZZ_CHECK (tandem_task_field_equal (result->merged, side, f),
                    "trivial merge %u changed %s", c, tandem_field_name (f));
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  FuzzBytes in = { data, size, 0 };
  g_autoptr(TandemTask) base = NULL;
  g_autoptr(TandemTask) local = NULL;
  g_autoptr(TandemTask) remote = NULL;
  g_autoptr(TandemMergeResult) result = NULL;
  g_autoptr(TandemMergeResult) swapped = NULL;

  fuzz_init_glib ();
  base = make_base (&in);
  local = make_side (&in, base);
  remote = make_side (&in, base);

  check_trivial (base, local);
  check_trivial (base, remote);

  result = tandem_merge_tasks (base, local, remote);
  check_merge (base, local, remote, result);

  /* Which device merges must not change what asks (DESIGN §8: both end
   * on the same state after resolving). */
  swapped = tandem_merge_tasks (base, remote, local);
  check_merge (base, remote, local, swapped);
  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    FUZZ_CHECK (has_field (result->conflicts, f) == has_field (swapped->conflicts, f),
                "%s asks on one device only", tandem_field_name (f));
  FUZZ_CHECK (has_field (result->conflicts, TANDEM_FIELD_DELETED) ||
              result->kind == swapped->kind, "kinds %d and %d", result->kind, swapped->kind);
  if (!has_field (result->conflicts, TANDEM_FIELD_TAGS))
    FUZZ_CHECK (tandem_task_field_equal (result->merged, swapped->merged, TANDEM_FIELD_TAGS),
                "tags merge differently on the two devices");
  return 0;
}
