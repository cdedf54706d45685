/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Per-record sync state on a device (DESIGN §2). */
typedef enum
{
  TANDEM_SYNC_SYNCED,
  TANDEM_SYNC_PENDING,
  TANDEM_SYNC_SYNCING,
  TANDEM_SYNC_ERROR,
  TANDEM_SYNC_NEEDS_REVIEW,
} TandemSyncStatus;

const char *tandem_sync_status_to_string   (TandemSyncStatus  status);
gboolean    tandem_sync_status_from_string (const char       *str,
                                            TandemSyncStatus *status);

/* The fields of a task that sync and merge know about. */
typedef enum
{
  TANDEM_FIELD_TITLE,
  TANDEM_FIELD_NOTES,
  TANDEM_FIELD_DONE,
  TANDEM_FIELD_DUE,
  TANDEM_FIELD_PRIORITY,
  TANDEM_FIELD_LIST_ID,
  TANDEM_FIELD_POSITION,
  TANDEM_FIELD_TAGS,
  TANDEM_FIELD_COMMENTS,
  TANDEM_FIELD_DELETED,
  TANDEM_N_FIELDS
} TandemField;

/* How concurrent changes of a field are reconciled (DESIGN §2). */
typedef enum
{
  TANDEM_POLICY_HUMAN,     /* three-way; same-field collision asks the user */
  TANDEM_POLICY_TEXT,      /* three-way line merge (diff3); overlapping hunks ask */
  TANDEM_POLICY_LWW,       /* last write accepted by the server wins, loser to history */
  TANDEM_POLICY_SET,       /* add/remove ops, never conflicts */
  TANDEM_POLICY_APPEND,    /* append-only rows with their own ids, never conflicts */
  TANDEM_POLICY_TOMBSTONE, /* edit vs delete asks the user */
} TandemPolicy;

const char  *tandem_field_name      (TandemField  field);
gboolean     tandem_field_from_name (const char  *name,
                                     TandemField *field);
TandemPolicy tandem_field_policy    (TandemField  field);
/* Whether a field may be set through a create/update/restore patch. */
gboolean     tandem_field_is_patchable (TandemField field);

#define TANDEM_PRIORITY_MAX   3
#define TANDEM_TITLE_MAX      1000      /* bytes */
#define TANDEM_NOTES_MAX      (256 * 1024)
#define TANDEM_TAG_MAX        64
#define TANDEM_TAGS_MAX       64        /* tags on one task */
#define TANDEM_COMMENT_MAX    (16 * 1024)
#define TANDEM_LIST_NAME_MAX  200

typedef struct
{
  char *id;
  char *body;
  char *device_id;
  char *created_at;   /* RFC 3339 */
} TandemComment;

TandemComment *tandem_comment_new  (const char          *id,
                                    const char          *body,
                                    const char          *device_id,
                                    const char          *created_at);
TandemComment *tandem_comment_copy (const TandemComment *comment);
void           tandem_comment_free (TandemComment       *comment);

typedef struct
{
  char             *id;
  char             *list_id;      /* NULL: the Inbox */
  char             *title;
  char             *notes;        /* never NULL; "" when empty */
  gboolean          done;
  char             *due;          /* "YYYY-MM-DD" or NULL */
  int               priority;     /* 0..3 */
  char             *position;     /* fractional ordering key */
  GPtrArray        *tags;         /* char *, sorted by strcmp, unique */
  GPtrArray        *comments;     /* TandemComment *, by created_at then id */
  gint64            rev;          /* last server revision known; 0 = never synced */
  char             *updated_at;   /* server time of rev, or NULL */
  gboolean          deleted;      /* tombstone */
  TandemSyncStatus  sync_status;  /* client side only */
} TandemTask;

TandemTask *tandem_task_new         (void);
TandemTask *tandem_task_copy        (const TandemTask *task);
void        tandem_task_free        (TandemTask       *task);

gboolean    tandem_task_has_tag     (const TandemTask *task,
                                     const char       *tag);
/* Both return TRUE when the set changed. */
gboolean    tandem_task_add_tag     (TandemTask       *task,
                                     const char       *tag);
gboolean    tandem_task_remove_tag  (TandemTask       *task,
                                     const char       *tag);
/* Inserts in (created_at, id) order; FALSE if a comment with that id exists. */
gboolean    tandem_task_add_comment (TandemTask       *task,
                                     TandemComment    *comment);

/* A field's value as JSON: strings, null, booleans, integers, an array of
 * tag strings, or an array of comment objects. */
JsonNode   *tandem_task_get_field   (const TandemTask *task,
                                     TandemField       field);
/* Validates the value (type, range, UTF-8, length) and sets it; on error
 * the task is unchanged and the message names the field. */
gboolean    tandem_task_set_field   (TandemTask       *task,
                                     TandemField       field,
                                     JsonNode         *value,
                                     GError          **error);
gboolean    tandem_task_field_equal (const TandemTask *a,
                                     const TandemTask *b,
                                     TandemField       field);
gboolean    tandem_task_equal       (const TandemTask *a,
                                     const TandemTask *b);

/* Applies a create/update/restore patch ({"field": value, ...}); unknown or
 * read-only members are refused. All-or-nothing. */
gboolean    tandem_task_apply_patch (TandemTask       *task,
                                     JsonObject       *patch,
                                     GError          **error);

typedef struct
{
  char             *id;
  char             *name;
  char             *position;
  gint64            rev;
  char             *updated_at;
  gboolean          deleted;
  TandemSyncStatus  sync_status;
} TandemList;

TandemList *tandem_list_new  (void);
TandemList *tandem_list_copy (const TandemList *list);
void        tandem_list_free (TandemList       *list);

/* Validation shared by the store, the codec, the CLI and the server.
 * Each sets a GError (TANDEM_VALIDATION_ERROR) a person can act on. */
#define TANDEM_VALIDATION_ERROR (tandem_validation_error_quark ())
typedef enum
{
  TANDEM_VALIDATION_ERROR_INVALID,
} TandemValidationError;
GQuark   tandem_validation_error_quark (void);

gboolean tandem_validate_uuid     (const char *id,
                                   GError    **error);
gboolean tandem_validate_title    (const char *title,
                                   GError    **error);
gboolean tandem_validate_notes    (const char *notes,
                                   GError    **error);
gboolean tandem_validate_date     (const char *date,
                                   GError    **error);
gboolean tandem_validate_priority (gint64      priority,
                                   GError    **error);
gboolean tandem_validate_tag      (const char *tag,
                                   GError    **error);
gboolean tandem_validate_comment  (const char *body,
                                   GError    **error);
gboolean tandem_validate_list_name (const char *name,
                                    GError    **error);

/* A fresh UUIDv4 (g_uuid_string_random). */
char    *tandem_new_id            (void);
/* Now as RFC 3339 UTC with microseconds: 2026-11-25T17:31:45.123456Z */
char    *tandem_now_rfc3339       (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemComment, tandem_comment_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemTask, tandem_task_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemList, tandem_list_free)

G_END_DECLS
