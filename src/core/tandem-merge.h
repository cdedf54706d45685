/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "tandem-task.h"

G_BEGIN_DECLS

/* Three-way line merge of notes (diff3). Returns TRUE and the merged text
 * when the two sides' hunks do not overlap (or made the same change);
 * FALSE and *merged = NULL when they collide. */
gboolean tandem_merge_text (const char  *base,
                            const char  *local,
                            const char  *remote,
                            char       **merged);

typedef enum
{
  TANDEM_CONFLICT_NONE,
  TANDEM_CONFLICT_EDIT,            /* a human/text field changed on both sides */
  TANDEM_CONFLICT_EDIT_VS_DELETE,  /* edited here, deleted on the other device */
  TANDEM_CONFLICT_DELETE_VS_EDIT,  /* deleted here, edited on the other device */
} TandemConflictKind;

const char *tandem_conflict_kind_to_string   (TandemConflictKind  kind);
gboolean    tandem_conflict_kind_from_string (const char         *str,
                                              TandemConflictKind *kind);

/* A field that both sides changed and that needs the user. */
typedef struct
{
  TandemField  field;
  JsonNode    *base;
  JsonNode    *local;
  JsonNode    *remote;
} TandemFieldConflict;

/* An lww field both sides changed: the local value won (it is the later write
 * the server will accept) and the remote one is kept for history. */
typedef struct
{
  TandemField  field;
  JsonNode    *overwritten;  /* the remote value */
  JsonNode    *value;        /* the local value that won */
} TandemOverwrite;

typedef struct
{
  TandemTask         *merged;     /* full record; on a collided field it holds the local value */
  TandemConflictKind  kind;
  GPtrArray          *conflicts;  /* TandemFieldConflict *, in field order */
  GPtrArray          *overwrites; /* TandemOverwrite *, in field order */
  GPtrArray          *auto_merged;/* TandemField as GUINT_TO_POINTER: fields merged by a policy
                                   * (notes diff3, tags as sets, comments) where both changed */
} TandemMergeResult;

/* Merges @local and @remote, which both descend from @base, field by field
 * with the policy table (tandem_field_policy). Record metadata (id, rev,
 * updated_at) is taken from @remote; sync_status from @local. */
TandemMergeResult *tandem_merge_tasks        (const TandemTask  *base,
                                              const TandemTask  *local,
                                              const TandemTask  *remote);
void               tandem_merge_result_free  (TandemMergeResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemMergeResult, tandem_merge_result_free)

G_END_DECLS
