/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tandem-sync-engine.h"

G_BEGIN_DECLS

/* The engine's transport seam, for the in-process simulation
 * (tests/sim/): every request the engine makes (push, changes, health)
 * is described by a TandemSyncRequest and answered by a
 * TandemSyncResponse. By default libsoup carries them over HTTP; a
 * transport set here gets them instead and answers when it likes, which
 * lets a test order, drop, repeat or fail requests without sockets. Not
 * for the app or tandem-cli. */

typedef struct
{
  const char *method;         /* "GET", "POST" */
  const char *path;           /* path and query, e.g. "/v1/sync/changes?limit=1000" */
  const char *authorization;  /* "Bearer TOKEN", or NULL (health) */
  const char *content_type;   /* of @body, or NULL */
  GBytes     *body;           /* may be NULL */
} TandemSyncRequest;

typedef struct
{
  guint   status;             /* HTTP status */
  char   *retry_after;        /* the Retry-After header, or NULL */
  GBytes *body;               /* never NULL (may be empty) */
} TandemSyncResponse;

TandemSyncResponse *tandem_sync_response_new  (guint               status,
                                               const char         *retry_after,
                                               GBytes             *body);
void                tandem_sync_response_free (TandemSyncResponse *response);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemSyncResponse, tandem_sync_response_free)

/* Called for each request; the transport keeps a reference on @call and
 * completes it exactly once, later, with g_task_return_pointer (call,
 * response, (GDestroyNotify) tandem_sync_response_free) or with an error
 * (a G_IO_ERROR for a connection that failed). @request is only valid
 * during the call. */
typedef void (*TandemSyncTransportFunc) (TandemSyncEngine        *engine,
                                         const TandemSyncRequest *request,
                                         GTask                   *call,
                                         gpointer                 user_data);

/* NULL @func goes back to HTTP. */
void tandem_sync_engine_set_transport (TandemSyncEngine        *self,
                                       TandemSyncTransportFunc  func,
                                       gpointer                 user_data);

G_END_DECLS
