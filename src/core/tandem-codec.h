/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "tandem-op.h"
#include "tandem-task.h"

G_BEGIN_DECLS

/* The JSON wire formats of DESIGN §4, encoded and decoded with json-glib.
 * Decoding is strict: wrong types, missing members, unknown members where a
 * typo would silently lose data, invalid UTF-8 and out-of-range values are
 * refused with a TANDEM_CODEC_ERROR whose message names the member, e.g.
 * "ops[3].patch.priority: priority 7 is out of range; use 0 (none) to 3 (high)". */

#define TANDEM_CODEC_ERROR (tandem_codec_error_quark ())
typedef enum
{
  TANDEM_CODEC_ERROR_MALFORMED,     /* not JSON at all (HTTP 400) */
  TANDEM_CODEC_ERROR_INVALID_UTF8,  /* (HTTP 400) */
  TANDEM_CODEC_ERROR_TOO_DEEP,      /* nesting beyond TANDEM_JSON_MAX_DEPTH (HTTP 400) */
  TANDEM_CODEC_ERROR_MISSING,       /* a required member is absent (HTTP 422) */
  TANDEM_CODEC_ERROR_TYPE,          /* a member has the wrong JSON type (HTTP 422) */
  TANDEM_CODEC_ERROR_RANGE,         /* a value is out of range or too long (HTTP 422) */
  TANDEM_CODEC_ERROR_INVALID,       /* a value is not acceptable otherwise (HTTP 422) */
} TandemCodecError;

GQuark tandem_codec_error_quark (void);

#define TANDEM_JSON_MAX_DEPTH 32

/* Parses @data (@length bytes, or -1 for NUL-terminated) after checking
 * UTF-8 and nesting depth, so hostile input never reaches the parser's
 * recursion. */
JsonNode *tandem_json_parse     (const char *data,
                                 gssize      length,
                                 GError    **error);
char     *tandem_json_to_string (JsonNode   *node,
                                 gboolean    pretty);

/* A record in a changes page or a push result: a task or a list. */
typedef struct
{
  TandemEntity  entity;
  TandemTask   *task;   /* set when entity is TANDEM_ENTITY_TASK */
  TandemList   *list;   /* set when entity is TANDEM_ENTITY_LIST */
} TandemRecord;

TandemRecord *tandem_record_new_task (TandemTask   *task);   /* takes ownership */
TandemRecord *tandem_record_new_list (TandemList   *list);   /* takes ownership */
void          tandem_record_free     (TandemRecord *record);

JsonNode     *tandem_task_to_json      (const TandemTask   *task);
TandemTask   *tandem_task_from_json    (JsonNode           *node,
                                        GError            **error);
JsonNode     *tandem_list_to_json      (const TandemList   *list);
TandemList   *tandem_list_from_json    (JsonNode           *node,
                                        GError            **error);
JsonNode     *tandem_record_to_json    (const TandemRecord *record);
TandemRecord *tandem_record_from_json  (JsonNode           *node,
                                        GError            **error);

/* Ops: the wire members only (no outbox bookkeeping). Decoding checks the
 * patch against its kind and entity (DESIGN §4 "Patches by kind"). */
JsonNode     *tandem_op_to_json        (const TandemOp     *op);
TandemOp     *tandem_op_from_json      (JsonNode           *node,
                                        GError            **error);
/* Hex SHA-256 of the canonical {entity, entity_id, kind, base_rev, patch}
 * (object members sorted, no whitespace): the payload an idempotency key is
 * bound to. Device and clock fields do not take part. */
char         *tandem_op_payload_hash   (const TandemOp     *op);

typedef struct
{
  char      *device_id;
  GPtrArray *ops;        /* TandemOp * */
} TandemPushRequest;

#define TANDEM_PUSH_MAX_OPS 1000

TandemPushRequest *tandem_push_request_new       (void);
void               tandem_push_request_free      (TandemPushRequest *request);
JsonNode          *tandem_push_request_to_json   (const TandemPushRequest *request);
TandemPushRequest *tandem_push_request_from_json (JsonNode          *node,
                                                  GError           **error);

typedef struct
{
  char          *op_id;
  guint          status;      /* HTTP status number of this op's outcome */
  char          *type;        /* applied, conflict, held, in_progress, invalid, gone */
  TandemRecord  *record;      /* applied: the record as stored ("task" or "list" member) */
  TandemRecord  *current;     /* conflict: the server's record */
  GHashTable    *field_revs;  /* conflict: field name -> revision (gint64 *) of its last change */
  char          *error;       /* invalid: the reason */
} TandemPushResult;

TandemPushResult *tandem_push_result_new       (void);
void              tandem_push_result_free      (TandemPushResult *result);
JsonNode         *tandem_push_result_to_json   (const TandemPushResult *result);
TandemPushResult *tandem_push_result_from_json (JsonNode         *node,
                                                GError          **error);

/* {"results": [...]} */
JsonNode         *tandem_push_response_to_json   (GPtrArray  *results);
GPtrArray        *tandem_push_response_from_json (JsonNode   *node,
                                                  GError    **error);

typedef struct
{
  GPtrArray *changes;     /* TandemRecord * */
  char      *cursor;
  gboolean   has_more;
} TandemChangesPage;

TandemChangesPage *tandem_changes_page_new       (void);
void               tandem_changes_page_free      (TandemChangesPage *page);
JsonNode          *tandem_changes_page_to_json   (const TandemChangesPage *page);
TandemChangesPage *tandem_changes_page_from_json (JsonNode          *node,
                                                  GError           **error);

/* application/problem+json (RFC 9457): type, title, status, detail, plus extra members. */
typedef struct
{
  char       *type;
  char       *title;
  guint       status;
  char       *detail;
  JsonObject *extra;      /* may be NULL */
} TandemProblem;

TandemProblem *tandem_problem_new       (const char          *type,
                                         const char          *title,
                                         guint                status,
                                         const char          *detail);
void           tandem_problem_free      (TandemProblem       *problem);
JsonNode      *tandem_problem_to_json   (const TandemProblem *problem);
TandemProblem *tandem_problem_from_json (JsonNode            *node,
                                         GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemRecord, tandem_record_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemPushRequest, tandem_push_request_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemPushResult, tandem_push_result_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemChangesPage, tandem_changes_page_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemProblem, tandem_problem_free)

G_END_DECLS
