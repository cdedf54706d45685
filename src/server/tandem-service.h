/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "tandem-codec.h"
#include "tandem-op.h"
#include "tandem-server-storage.h"

G_BEGIN_DECLS

/* The sync protocol's rules (DESIGN §4), independent of HTTP: tandem-http
 * turns requests into these calls and replies into responses. Every call
 * answers through a TandemServiceReply and never leaves a half-written
 * change behind. */

typedef struct
{
  guint          status;       /* HTTP status */
  JsonNode      *body;         /* the JSON body of a successful reply, or NULL */
  TandemProblem *problem;      /* the problem+json body of a failed one, or NULL */
  gint64         etag_rev;     /* > 0: send ETag: "REV" */
  gboolean       replayed;     /* send Idempotent-Replayed: true */
  guint          retry_after;  /* > 0: send Retry-After: N (seconds) */
} TandemServiceReply;

void tandem_service_reply_clear (TandemServiceReply *reply);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TandemServiceReply, tandem_service_reply_clear)

/* Sets @reply to a problem (type, title from the status, detail). */
void tandem_service_reply_problem (TandemServiceReply *reply,
                                   guint               status,
                                   const char         *type,
                                   const char         *detail);

#define TANDEM_TYPE_SERVICE (tandem_service_get_type ())
G_DECLARE_FINAL_TYPE (TandemService, tandem_service, TANDEM, SERVICE, GObject)

/* @retention_days: how long tombstones and idempotency keys are kept; 0
 * purges them at the next purge (for tests and short-lived servers). */
TandemService *tandem_service_new            (TandemServerStorage *storage,
                                              guint                retention_days);
TandemServerStorage *tandem_service_get_storage (TandemService    *self);

/* Tokens: only a SHA-256 of each token is stored. */
char     *tandem_service_create_token   (TandemService      *self,
                                         const char         *user_name,
                                         GError            **error);
gboolean  tandem_service_revoke_token   (TandemService      *self,
                                         const char         *token,
                                         GError            **error);
/* TRUE and the user's id for a valid, unrevoked token; FALSE without an
 * error for any other token, with one when the storage failed. */
gboolean  tandem_service_authenticate   (TandemService      *self,
                                         const char         *token,
                                         gint64             *user_id,
                                         GError            **error);

/* Takes one request from @token's rate limit of @per_minute requests per
 * minute (bursts up to @per_minute), shared by every server process on the
 * same storage. FALSE when the limit is reached, with @retry_after in
 * seconds. A storage failure lets the request through (and is logged): the
 * request itself then meets the failure and answers it. */
gboolean  tandem_service_take_request   (TandemService      *self,
                                         const char         *token,
                                         guint               per_minute,
                                         guint              *retry_after);

/* POST /v1/sync/push with the parsed body. */
void      tandem_service_push           (TandemService      *self,
                                         gint64              user_id,
                                         JsonNode           *body,
                                         TandemServiceReply *reply);
/* GET /v1/sync/changes?since=&limit= with the raw query values (NULL when absent). */
void      tandem_service_changes        (TandemService      *self,
                                         gint64              user_id,
                                         const char         *since,
                                         const char         *limit,
                                         TandemServiceReply *reply);
/* GET /v1/tasks/ID, /v1/lists/ID */
void      tandem_service_get            (TandemService      *self,
                                         gint64              user_id,
                                         TandemEntity        entity,
                                         const char         *id,
                                         TandemServiceReply *reply);
/* GET /v1/tasks/ID/history */
void      tandem_service_history        (TandemService      *self,
                                         gint64              user_id,
                                         const char         *id,
                                         TandemServiceReply *reply);
/* PUT or PATCH /v1/tasks/ID, /v1/lists/ID with the parsed body and the raw
 * If-Match, If-None-Match and Idempotency-Key headers (NULL when absent). */
void      tandem_service_put            (TandemService      *self,
                                         gint64              user_id,
                                         TandemEntity        entity,
                                         const char         *id,
                                         JsonNode           *body,
                                         const char         *if_match,
                                         const char         *if_none_match,
                                         const char         *idempotency_key,
                                         TandemServiceReply *reply);
/* DELETE /v1/tasks/ID, /v1/lists/ID */
void      tandem_service_delete         (TandemService      *self,
                                         gint64              user_id,
                                         TandemEntity        entity,
                                         const char         *id,
                                         const char         *if_match,
                                         const char         *idempotency_key,
                                         TandemServiceReply *reply);

/* Removes tombstones and idempotency keys older than the retention. */
gboolean  tandem_service_purge          (TandemService      *self,
                                         GDateTime          *now,
                                         guint              *n_purged,
                                         GError            **error);

G_END_DECLS
