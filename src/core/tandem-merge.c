/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-core"

#include "config.h"

#include "tandem-merge.h"

#include <string.h>

#include <git2.h>

static const char *conflict_kind_names[] = {
  [TANDEM_CONFLICT_NONE] = "none",
  [TANDEM_CONFLICT_EDIT] = "edit",
  [TANDEM_CONFLICT_EDIT_VS_DELETE] = "edit-vs-delete",
  [TANDEM_CONFLICT_DELETE_VS_EDIT] = "delete-vs-edit",
};

const char *
tandem_conflict_kind_to_string (TandemConflictKind kind)
{
  g_return_val_if_fail (kind <= TANDEM_CONFLICT_DELETE_VS_EDIT, NULL);

  return conflict_kind_names[kind];
}

gboolean
tandem_conflict_kind_from_string (const char         *str,
                                  TandemConflictKind *kind)
{
  g_return_val_if_fail (kind != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (conflict_kind_names); i++)
    {
      if (g_strcmp0 (str, conflict_kind_names[i]) == 0)
        {
          *kind = i;
          return TRUE;
        }
    }
  return FALSE;
}

/* Text */

static void
ensure_libgit2 (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      /* Never shut down: git_merge_file keeps no state between calls and the
       * process may merge again at any time. */
      git_libgit2_init ();
      g_once_init_leave (&initialized, 1);
    }
}

/* A note whose last line has no '\n'. xdiff sees such a line as different
 * from the same line with a newline, so appending a line to it would also
 * "change" the old last line and collide with edits next to it. */
static gboolean
has_unterminated_line (const char *text)
{
  gsize len = strlen (text);

  return len > 0 && text[len - 1] != '\n';
}

static char *
terminate (const char *text)
{
  if (has_unterminated_line (text))
    return g_strconcat (text, "\n", NULL);
  return g_strdup (text);
}

static void
input_init (git_merge_file_input *input,
            const char           *text)
{
  git_merge_file_input_init (input, GIT_MERGE_FILE_INPUT_VERSION);
  input->ptr = text;
  input->size = strlen (text);
}

gboolean
tandem_merge_text (const char  *base,
                   const char  *local,
                   const char  *remote,
                   char       **merged)
{
  g_autofree char *base_nl = NULL;
  g_autofree char *local_nl = NULL;
  g_autofree char *remote_nl = NULL;
  git_merge_file_input base_input, local_input, remote_input;
  git_merge_file_options options;
  git_merge_file_result result = { 0 };
  gboolean base_open, local_open, remote_open, merged_open;
  gboolean clean;
  int rc;

  g_return_val_if_fail (base != NULL, FALSE);
  g_return_val_if_fail (local != NULL, FALSE);
  g_return_val_if_fail (remote != NULL, FALSE);
  g_return_val_if_fail (merged != NULL, FALSE);

  *merged = NULL;

  if (strcmp (local, remote) == 0 || strcmp (remote, base) == 0)
    {
      *merged = g_strdup (local);
      return TRUE;
    }
  if (strcmp (local, base) == 0)
    {
      *merged = g_strdup (remote);
      return TRUE;
    }

  /* Merge the texts with every last line terminated, and merge "ends
   * without a newline" separately as a three-way boolean, which can never
   * collide: if both sides changed it, they changed it the same way. */
  base_open = has_unterminated_line (base);
  local_open = has_unterminated_line (local);
  remote_open = has_unterminated_line (remote);
  merged_open = (local_open != base_open) ? local_open : remote_open;

  base_nl = terminate (base);
  local_nl = terminate (local);
  remote_nl = terminate (remote);

  ensure_libgit2 ();
  input_init (&base_input, base_nl);
  input_init (&local_input, local_nl);
  input_init (&remote_input, remote_nl);
  git_merge_file_options_init (&options, GIT_MERGE_FILE_OPTIONS_VERSION);
  options.favor = GIT_MERGE_FILE_FAVOR_NORMAL;

  rc = git_merge_file (&result, &base_input, &local_input, &remote_input, &options);
  if (rc < 0)
    {
      const git_error *error = git_error_last ();

      /* Treated as a collision: the user sees both versions, nothing is lost. */
      g_message ("Could not merge notes: %s", error != NULL ? error->message : "unknown error");
      git_merge_file_result_free (&result);
      return FALSE;
    }

  clean = result.automergeable != 0;
  if (clean)
    {
      gsize len = result.len;

      if (merged_open && len > 0 && result.ptr[len - 1] == '\n')
        len--;
      *merged = g_strndup (result.ptr, len);
    }
  git_merge_file_result_free (&result);
  return clean;
}

/* Tasks */

static void
field_conflict_free (TandemFieldConflict *conflict)
{
  g_clear_pointer (&conflict->base, json_node_unref);
  g_clear_pointer (&conflict->local, json_node_unref);
  g_clear_pointer (&conflict->remote, json_node_unref);
  g_free (conflict);
}

static void
overwrite_free (TandemOverwrite *overwrite)
{
  g_clear_pointer (&overwrite->overwritten, json_node_unref);
  g_clear_pointer (&overwrite->value, json_node_unref);
  g_free (overwrite);
}

void
tandem_merge_result_free (TandemMergeResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer (&result->merged, tandem_task_free);
  g_clear_pointer (&result->conflicts, g_ptr_array_unref);
  g_clear_pointer (&result->overwrites, g_ptr_array_unref);
  g_clear_pointer (&result->auto_merged, g_ptr_array_unref);
  g_free (result);
}

static void
add_conflict (TandemMergeResult *result,
              TandemField        field,
              const TandemTask  *base,
              const TandemTask  *local,
              const TandemTask  *remote)
{
  TandemFieldConflict *conflict = g_new0 (TandemFieldConflict, 1);

  conflict->field = field;
  conflict->base = tandem_task_get_field (base, field);
  conflict->local = tandem_task_get_field (local, field);
  conflict->remote = tandem_task_get_field (remote, field);
  g_ptr_array_add (result->conflicts, conflict);
}

static void
add_overwrite (TandemMergeResult *result,
               TandemField        field,
               const TandemTask  *local,
               const TandemTask  *remote)
{
  TandemOverwrite *overwrite = g_new0 (TandemOverwrite, 1);

  overwrite->field = field;
  overwrite->overwritten = tandem_task_get_field (remote, field);
  overwrite->value = tandem_task_get_field (local, field);
  g_ptr_array_add (result->overwrites, overwrite);
}

static void
replace_string (char       **dest,
                const char  *src)
{
  g_free (*dest);
  *dest = g_strdup (src);
}

/* Copies one field's value as it is, without the validation of
 * tandem_task_set_field: a merge must carry whatever the two sides hold. */
static void
copy_field (TandemTask       *dest,
            const TandemTask *src,
            TandemField       field)
{
  switch (field)
    {
    case TANDEM_FIELD_TITLE:
      replace_string (&dest->title, src->title);
      break;
    case TANDEM_FIELD_NOTES:
      replace_string (&dest->notes, src->notes);
      break;
    case TANDEM_FIELD_DONE:
      dest->done = src->done;
      break;
    case TANDEM_FIELD_DUE:
      replace_string (&dest->due, src->due);
      break;
    case TANDEM_FIELD_PRIORITY:
      dest->priority = src->priority;
      break;
    case TANDEM_FIELD_LIST_ID:
      replace_string (&dest->list_id, src->list_id);
      break;
    case TANDEM_FIELD_POSITION:
      replace_string (&dest->position, src->position);
      break;
    case TANDEM_FIELD_TAGS:
      g_ptr_array_set_size (dest->tags, 0);
      for (guint i = 0; i < src->tags->len; i++)
        g_ptr_array_add (dest->tags, g_strdup (g_ptr_array_index (src->tags, i)));
      break;
    case TANDEM_FIELD_COMMENTS:
      g_ptr_array_set_size (dest->comments, 0);
      for (guint i = 0; i < src->comments->len; i++)
        g_ptr_array_add (dest->comments, tandem_comment_copy (g_ptr_array_index (src->comments, i)));
      break;
    case TANDEM_FIELD_DELETED:
      dest->deleted = src->deleted;
      break;
    case TANDEM_N_FIELDS:
    default:
      g_assert_not_reached ();
    }
}

/* Whether @side changed any field but the tombstone since @base. Metadata
 * (rev, updated_at, sync_status) is not a field and does not count. */
static gboolean
edited_since (const TandemTask *base,
              const TandemTask *side)
{
  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    {
      if (f != TANDEM_FIELD_DELETED && !tandem_task_field_equal (base, side, f))
        return TRUE;
    }
  return FALSE;
}

/* Three-way set merge: a tag is kept when both sides have it or when a side
 * added it; a tag removed on either side is gone. */
static void
merge_tags (TandemTask       *merged,
            const TandemTask *base,
            const TandemTask *local,
            const TandemTask *remote)
{
  const TandemTask *sides[] = { local, remote };

  g_ptr_array_set_size (merged->tags, 0);
  for (guint s = 0; s < G_N_ELEMENTS (sides); s++)
    {
      const TandemTask *side = sides[s];
      const TandemTask *other = sides[1 - s];

      for (guint i = 0; i < side->tags->len; i++)
        {
          const char *tag = g_ptr_array_index (side->tags, i);

          if (!tandem_task_has_tag (base, tag) || tandem_task_has_tag (other, tag))
            tandem_task_add_tag (merged, tag);
        }
    }
}

/* Union by comment id, in (created_at, id) order. Ids are made on the
 * device that wrote the comment, so the same id on both sides is the same
 * comment; should the copies differ, the local one is kept. */
static void
merge_comments (TandemTask       *merged,
                const TandemTask *local,
                const TandemTask *remote)
{
  g_ptr_array_set_size (merged->comments, 0);
  for (guint i = 0; i < local->comments->len; i++)
    tandem_task_add_comment (merged, tandem_comment_copy (g_ptr_array_index (local->comments, i)));
  for (guint i = 0; i < remote->comments->len; i++)
    tandem_task_add_comment (merged, tandem_comment_copy (g_ptr_array_index (remote->comments, i)));
}

/* The tombstone: a delete on one side collides with any edit on the other
 * (DESIGN §5); a restore (deleted going back to false) simply wins. */
static void
merge_deleted (TandemMergeResult *result,
               const TandemTask  *base,
               const TandemTask  *local,
               const TandemTask  *remote)
{
  TandemTask *merged = result->merged;
  gboolean local_changed = !tandem_task_field_equal (base, local, TANDEM_FIELD_DELETED);
  gboolean remote_changed = !tandem_task_field_equal (base, remote, TANDEM_FIELD_DELETED);
  const TandemTask *changer, *other;

  /* Neither changed it, or both did: a boolean changes only one way. */
  if (local_changed == remote_changed)
    {
      merged->deleted = local->deleted;
      return;
    }

  changer = local_changed ? local : remote;
  other = local_changed ? remote : local;

  if (!changer->deleted || !edited_since (base, other))
    {
      merged->deleted = changer->deleted;
      return;
    }

  /* Deleted on one side, edited on the other: keep the local state and ask. */
  merged->deleted = local->deleted;
  add_conflict (result, TANDEM_FIELD_DELETED, base, local, remote);
  result->kind = local_changed ? TANDEM_CONFLICT_DELETE_VS_EDIT : TANDEM_CONFLICT_EDIT_VS_DELETE;
}

TandemMergeResult *
tandem_merge_tasks (const TandemTask *base,
                    const TandemTask *local,
                    const TandemTask *remote)
{
  TandemMergeResult *result;
  TandemTask *merged;

  g_return_val_if_fail (base != NULL, NULL);
  g_return_val_if_fail (local != NULL, NULL);
  g_return_val_if_fail (remote != NULL, NULL);

  result = g_new0 (TandemMergeResult, 1);
  result->kind = TANDEM_CONFLICT_NONE;
  result->conflicts = g_ptr_array_new_with_free_func ((GDestroyNotify) field_conflict_free);
  result->overwrites = g_ptr_array_new_with_free_func ((GDestroyNotify) overwrite_free);
  result->auto_merged = g_ptr_array_new ();
  result->merged = merged = tandem_task_copy (local);

  replace_string (&merged->id, remote->id);
  merged->rev = remote->rev;
  replace_string (&merged->updated_at, remote->updated_at);
  merged->sync_status = local->sync_status;

  for (guint f = 0; f < TANDEM_N_FIELDS; f++)
    {
      TandemField field = f;
      gboolean local_changed = !tandem_task_field_equal (base, local, field);
      gboolean remote_changed = !tandem_task_field_equal (base, remote, field);
      gboolean same = tandem_task_field_equal (local, remote, field);

      if (tandem_field_policy (field) == TANDEM_POLICY_TOMBSTONE)
        {
          g_assert (field == TANDEM_FIELD_DELETED);
          merge_deleted (result, base, local, remote);
          continue;
        }

      /* Local is already in @merged; the trivial cases of every policy. */
      if (!remote_changed || same)
        continue;
      if (!local_changed)
        {
          copy_field (merged, remote, field);
          continue;
        }

      /* Both sides changed the field, to different values. */
      switch (tandem_field_policy (field))
        {
        case TANDEM_POLICY_HUMAN:
          add_conflict (result, field, base, local, remote);
          break;

        case TANDEM_POLICY_TEXT:
          {
            g_autofree char *text = NULL;

            g_assert (field == TANDEM_FIELD_NOTES);
            if (tandem_merge_text (base->notes, local->notes, remote->notes, &text))
              {
                replace_string (&merged->notes, text);
                g_ptr_array_add (result->auto_merged, GUINT_TO_POINTER (field));
              }
            else
              {
                add_conflict (result, field, base, local, remote);
              }
          }
          break;

        case TANDEM_POLICY_LWW:
          add_overwrite (result, field, local, remote);
          break;

        case TANDEM_POLICY_SET:
          g_assert (field == TANDEM_FIELD_TAGS);
          merge_tags (merged, base, local, remote);
          g_ptr_array_add (result->auto_merged, GUINT_TO_POINTER (field));
          break;

        case TANDEM_POLICY_APPEND:
          g_assert (field == TANDEM_FIELD_COMMENTS);
          merge_comments (merged, local, remote);
          g_ptr_array_add (result->auto_merged, GUINT_TO_POINTER (field));
          break;

        case TANDEM_POLICY_TOMBSTONE:
        default:
          g_assert_not_reached ();
        }
    }

  /* An edit-vs-delete conflict is the question the user answers first
   * (restore or discard), so it names the kind even with other conflicts. */
  if (result->kind == TANDEM_CONFLICT_NONE && result->conflicts->len > 0)
    result->kind = TANDEM_CONFLICT_EDIT;

  return result;
}
