/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum
{
  TANDEM_ENTITY_TASK,
  TANDEM_ENTITY_LIST,
} TandemEntity;

const char *tandem_entity_to_string   (TandemEntity  entity);
gboolean    tandem_entity_from_string (const char   *str,
                                       TandemEntity *entity);

typedef enum
{
  TANDEM_OP_CREATE,
  TANDEM_OP_UPDATE,
  TANDEM_OP_DELETE,
  TANDEM_OP_RESTORE,
  TANDEM_OP_TAG_ADD,
  TANDEM_OP_TAG_REMOVE,
  TANDEM_OP_COMMENT_ADD,
} TandemOpKind;

const char *tandem_op_kind_to_string   (TandemOpKind  kind);
gboolean    tandem_op_kind_from_string (const char   *str,
                                        TandemOpKind *kind);

/* Where an op stands in a device's outbox. */
typedef enum
{
  TANDEM_OP_STATE_NEW,     /* not sent yet: may still be coalesced */
  TANDEM_OP_STATE_SENT,    /* sent at least once: frozen, key and payload never change */
  TANDEM_OP_STATE_ERROR,   /* parked: refused by the server, kept for the user */
} TandemOpState;

const char *tandem_op_state_to_string   (TandemOpState  state);
gboolean    tandem_op_state_from_string (const char    *str,
                                         TandemOpState *state);

/* One user intent, as stored in the outbox and sent in a push (DESIGN §3, §4). */
typedef struct
{
  char          *op_id;       /* UUIDv4, the idempotency key */
  char          *device_id;
  TandemEntity   entity;
  char          *entity_id;
  TandemOpKind   kind;
  gint64         base_rev;    /* 0 for create */
  JsonObject    *patch;       /* never NULL */
  JsonObject    *base;        /* never NULL; pre-edit values of the patched fields */
  char          *created_at;  /* RFC 3339, device clock (informational) */

  /* Outbox bookkeeping, client side only; not on the wire. */
  gint64         seq;
  TandemOpState  state;
  char          *error;
} TandemOp;

TandemOp *tandem_op_new  (void);
TandemOp *tandem_op_copy (const TandemOp *op);
void      tandem_op_free (TandemOp       *op);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemOp, tandem_op_free)

G_END_DECLS
