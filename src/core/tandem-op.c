/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-core"

#include "config.h"

#include "tandem-op.h"

static gboolean
lookup (const char *const *names,
        guint              n_names,
        const char        *str,
        guint             *out)
{
  for (guint i = 0; i < n_names; i++)
    {
      if (g_strcmp0 (str, names[i]) == 0)
        {
          *out = i;
          return TRUE;
        }
    }
  return FALSE;
}

static const char *entity_names[] = {
  [TANDEM_ENTITY_TASK] = "task",
  [TANDEM_ENTITY_LIST] = "list",
};

const char *
tandem_entity_to_string (TandemEntity entity)
{
  g_return_val_if_fail (entity < G_N_ELEMENTS (entity_names), NULL);
  return entity_names[entity];
}

gboolean
tandem_entity_from_string (const char   *str,
                           TandemEntity *entity)
{
  guint value;

  if (!lookup (entity_names, G_N_ELEMENTS (entity_names), str, &value))
    return FALSE;
  *entity = value;
  return TRUE;
}

static const char *kind_names[] = {
  [TANDEM_OP_CREATE] = "create",
  [TANDEM_OP_UPDATE] = "update",
  [TANDEM_OP_DELETE] = "delete",
  [TANDEM_OP_RESTORE] = "restore",
  [TANDEM_OP_TAG_ADD] = "tag_add",
  [TANDEM_OP_TAG_REMOVE] = "tag_remove",
  [TANDEM_OP_COMMENT_ADD] = "comment_add",
};

const char *
tandem_op_kind_to_string (TandemOpKind kind)
{
  g_return_val_if_fail (kind < G_N_ELEMENTS (kind_names), NULL);
  return kind_names[kind];
}

gboolean
tandem_op_kind_from_string (const char   *str,
                            TandemOpKind *kind)
{
  guint value;

  if (!lookup (kind_names, G_N_ELEMENTS (kind_names), str, &value))
    return FALSE;
  *kind = value;
  return TRUE;
}

static const char *state_names[] = {
  [TANDEM_OP_STATE_NEW] = "new",
  [TANDEM_OP_STATE_SENT] = "sent",
  [TANDEM_OP_STATE_ERROR] = "error",
};

const char *
tandem_op_state_to_string (TandemOpState state)
{
  g_return_val_if_fail (state < G_N_ELEMENTS (state_names), NULL);
  return state_names[state];
}

gboolean
tandem_op_state_from_string (const char    *str,
                             TandemOpState *state)
{
  guint value;

  if (!lookup (state_names, G_N_ELEMENTS (state_names), str, &value))
    return FALSE;
  *state = value;
  return TRUE;
}

TandemOp *
tandem_op_new (void)
{
  TandemOp *op = g_new0 (TandemOp, 1);

  op->patch = json_object_new ();
  op->base = json_object_new ();
  return op;
}

/* json_node_copy() only takes a reference on objects and arrays, so a
 * copied op would share (and could change) the original's patch. */
static JsonNode *
node_deep_copy (JsonNode *node)
{
  JsonNode *copy;

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        JsonObject *object_copy = json_object_new ();
        g_autoptr(GList) names = json_object_get_members (object);

        for (const GList *l = names; l != NULL; l = l->next)
          json_object_set_member (object_copy, l->data,
                                  node_deep_copy (json_object_get_member (object, l->data)));
        copy = json_node_new (JSON_NODE_OBJECT);
        json_node_take_object (copy, object_copy);
        return copy;
      }

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        JsonArray *array_copy = json_array_sized_new (json_array_get_length (array));

        for (guint i = 0; i < json_array_get_length (array); i++)
          json_array_add_element (array_copy, node_deep_copy (json_array_get_element (array, i)));
        copy = json_node_new (JSON_NODE_ARRAY);
        json_node_take_array (copy, array_copy);
        return copy;
      }

    case JSON_NODE_VALUE:
    case JSON_NODE_NULL:
    default:
      return json_node_copy (node);
    }
}

static JsonObject *
object_copy (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);
  g_autoptr(JsonNode) copy = node_deep_copy (node);

  return json_object_ref (json_node_get_object (copy));
}

TandemOp *
tandem_op_copy (const TandemOp *op)
{
  TandemOp *copy;

  g_return_val_if_fail (op != NULL, NULL);

  copy = g_new0 (TandemOp, 1);
  copy->op_id = g_strdup (op->op_id);
  copy->device_id = g_strdup (op->device_id);
  copy->entity = op->entity;
  copy->entity_id = g_strdup (op->entity_id);
  copy->kind = op->kind;
  copy->base_rev = op->base_rev;
  copy->patch = object_copy (op->patch);
  copy->base = object_copy (op->base);
  copy->created_at = g_strdup (op->created_at);
  copy->seq = op->seq;
  copy->state = op->state;
  copy->error = g_strdup (op->error);
  return copy;
}

void
tandem_op_free (TandemOp *op)
{
  if (op == NULL)
    return;
  g_free (op->op_id);
  g_free (op->device_id);
  g_free (op->entity_id);
  g_clear_pointer (&op->patch, json_object_unref);
  g_clear_pointer (&op->base, json_object_unref);
  g_free (op->created_at);
  g_free (op->error);
  g_free (op);
}
