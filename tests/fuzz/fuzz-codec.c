/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The protocol codec on hostile input. The first byte picks the decoder,
 * the rest is the JSON text. Decoding either fails with a
 * TANDEM_CODEC_ERROR that carries a readable message, or succeeds; a
 * decoded value encodes to JSON that decodes again to the same value, and
 * encoding is then a fixed point (the same text both times). The decoders,
 * by first byte: '0' task, '1' list, '2' record, '3' op, '4' push request,
 * '5' push result, '6' push response, '7' changes page, '8' problem. */

#include "config.h"

#include <string.h>

#include "fuzz-common.h"
#include "tandem-codec.h"

typedef enum
{
  DECODE_TASK,
  DECODE_LIST,
  DECODE_RECORD,
  DECODE_OP,
  DECODE_PUSH_REQUEST,
  DECODE_PUSH_RESULT,
  DECODE_PUSH_RESPONSE,
  DECODE_CHANGES_PAGE,
  DECODE_PROBLEM,
  N_DECODERS
} Decoder;

static const char *decoder_names[] = {
  "task", "list", "record", "op", "push request", "push result", "push response",
  "changes page", "problem",
};

/* Codec messages quote what they refuse, cut at 1000 bytes. */
#define MESSAGE_LIMIT 1100

static void
check_error (const GError *error,
             const char   *what)
{
  FUZZ_CHECK (error != NULL, "%s: failed without an error", what);
  FUZZ_CHECK (error->domain == TANDEM_CODEC_ERROR, "%s: error from domain %s: %s", what,
              g_quark_to_string (error->domain), error->message);
  FUZZ_CHECK (error->message != NULL && error->message[0] != '\0', "%s: empty message", what);
  FUZZ_CHECK (g_utf8_validate (error->message, -1, NULL), "%s: message is not UTF-8", what);
  FUZZ_CHECK (strlen (error->message) <= MESSAGE_LIMIT, "%s: message of %zu bytes", what,
              strlen (error->message));
}

/* Decodes @node with @decoder and returns the value encoded as compact
 * JSON text, or NULL with @error set. */
static char *
decode_encode (Decoder    decoder,
               JsonNode  *node,
               GError   **error)
{
  g_autoptr(JsonNode) encoded = NULL;

  switch (decoder)
    {
    case DECODE_TASK:
      {
        g_autoptr(TandemTask) task = tandem_task_from_json (node, error);

        if (task == NULL)
          return NULL;
        FUZZ_CHECK (task->notes != NULL && task->title != NULL && task->position != NULL,
                    "a decoded task lacks a string field");
        for (guint i = 1; i < task->tags->len; i++)
          FUZZ_CHECK (strcmp (g_ptr_array_index (task->tags, i - 1),
                              g_ptr_array_index (task->tags, i)) < 0,
                      "decoded tags are not a sorted set");
        encoded = tandem_task_to_json (task);
        {
          /* The model round trip too: the decoded copy equals the original. */
          g_autoptr(TandemTask) again = tandem_task_from_json (encoded, error);

          FUZZ_CHECK (again != NULL, "an encoded task does not decode: %s", (*error)->message);
          FUZZ_CHECK (tandem_task_equal (task, again), "a task differs after a round trip");
        }
      }
      break;

    case DECODE_LIST:
      {
        g_autoptr(TandemList) list = tandem_list_from_json (node, error);

        if (list == NULL)
          return NULL;
        encoded = tandem_list_to_json (list);
      }
      break;

    case DECODE_RECORD:
      {
        g_autoptr(TandemRecord) record = tandem_record_from_json (node, error);

        if (record == NULL)
          return NULL;
        FUZZ_CHECK ((record->entity == TANDEM_ENTITY_TASK) == (record->task != NULL) &&
                    (record->entity == TANDEM_ENTITY_LIST) == (record->list != NULL),
                    "a record's entity does not match its value");
        encoded = tandem_record_to_json (record);
      }
      break;

    case DECODE_OP:
      {
        g_autoptr(TandemOp) op = tandem_op_from_json (node, error);
        g_autoptr(TandemOp) again = NULL;
        g_autofree char *hash = NULL;
        g_autofree char *hash_again = NULL;

        if (op == NULL)
          return NULL;
        FUZZ_CHECK (op->patch != NULL && op->base != NULL, "a decoded op lacks patch or base");
        FUZZ_CHECK (op->kind != TANDEM_OP_CREATE || op->base_rev == 0,
                    "a create with base_rev %" G_GINT64_FORMAT, op->base_rev);
        encoded = tandem_op_to_json (op);
        /* The idempotency key is bound to the payload hash: a round trip
         * must not change it. */
        again = tandem_op_from_json (encoded, error);
        FUZZ_CHECK (again != NULL, "an encoded op does not decode: %s", (*error)->message);
        hash = tandem_op_payload_hash (op);
        hash_again = tandem_op_payload_hash (again);
        FUZZ_CHECK (g_str_equal (hash, hash_again), "the payload hash changed in a round trip");
      }
      break;

    case DECODE_PUSH_REQUEST:
      {
        g_autoptr(TandemPushRequest) request = tandem_push_request_from_json (node, error);

        if (request == NULL)
          return NULL;
        FUZZ_CHECK (request->ops->len <= TANDEM_PUSH_MAX_OPS, "%u ops", request->ops->len);
        for (guint i = 0; i < request->ops->len; i++)
          {
            TandemOp *op = g_ptr_array_index (request->ops, i);

            FUZZ_CHECK (g_strcmp0 (op->device_id, request->device_id) == 0,
                        "op %u does not carry the request's device id", i);
          }
        encoded = tandem_push_request_to_json (request);
      }
      break;

    case DECODE_PUSH_RESULT:
      {
        g_autoptr(TandemPushResult) result = tandem_push_result_from_json (node, error);

        if (result == NULL)
          return NULL;
        FUZZ_CHECK (result->status >= 100 && result->status <= 599, "status %u", result->status);
        encoded = tandem_push_result_to_json (result);
      }
      break;

    case DECODE_PUSH_RESPONSE:
      {
        g_autoptr(GPtrArray) results = tandem_push_response_from_json (node, error);

        if (results == NULL)
          return NULL;
        encoded = tandem_push_response_to_json (results);
      }
      break;

    case DECODE_CHANGES_PAGE:
      {
        g_autoptr(TandemChangesPage) page = tandem_changes_page_from_json (node, error);

        if (page == NULL)
          return NULL;
        FUZZ_CHECK (page->cursor != NULL, "a decoded page has no cursor");
        encoded = tandem_changes_page_to_json (page);
      }
      break;

    case DECODE_PROBLEM:
      {
        g_autoptr(TandemProblem) problem = tandem_problem_from_json (node, error);

        if (problem == NULL)
          return NULL;
        FUZZ_CHECK (problem->type != NULL, "a decoded problem has no type");
        encoded = tandem_problem_to_json (problem);
      }
      break;

    case N_DECODERS:
    default:
      g_assert_not_reached ();
    }

  return tandem_json_to_string (encoded, FALSE);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonNode) node_again = NULL;
  g_autoptr(JsonNode) reparsed = NULL;
  g_autofree char *text = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  Decoder decoder;
  const char *what;

  if (size == 0)
    return 0;
  fuzz_init_glib ();
  /* '0' to '8' name a decoder readably in corpus files. */
  if (data[0] >= '0' && data[0] < '0' + N_DECODERS)
    decoder = data[0] - '0';
  else
    decoder = data[0] % N_DECODERS;
  what = decoder_names[decoder];

  node = tandem_json_parse ((const char *) data + 1, size - 1, &error);
  if (node == NULL)
    {
      check_error (error, "parse");
      return 0;
    }
  FUZZ_CHECK (error == NULL, "parse succeeded with an error set");

  /* The JSON text round trip: what we write reads back as the same tree. */
  text = tandem_json_to_string (node, FALSE);
  FUZZ_CHECK (text != NULL, "a parsed tree does not encode");
  reparsed = tandem_json_parse (text, -1, &error);
  FUZZ_CHECK (reparsed != NULL, "encoded JSON does not parse: %s\n  text: %.200s",
              error->message, text);
  FUZZ_CHECK (json_node_equal (node, reparsed), "JSON differs after a round trip: %.200s", text);

  first = decode_encode (decoder, node, &error);
  if (first == NULL)
    {
      check_error (error, what);
      return 0;
    }
  FUZZ_CHECK (error == NULL, "%s: decoded with an error set", what);

  node_again = tandem_json_parse (first, -1, &error);
  FUZZ_CHECK (node_again != NULL, "%s: the encoding does not parse: %s", what, error->message);
  second = decode_encode (decoder, node_again, &error);
  FUZZ_CHECK (second != NULL, "%s: the encoding does not decode: %s\n  text: %.300s", what,
              error->message, first);
  FUZZ_CHECK (g_str_equal (first, second), "%s: encoding is not stable:\n  %.300s\n  %.300s",
              what, first, second);
  return 0;
}
