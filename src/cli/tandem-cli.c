/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-cli"

#include "config.h"

#include <glib/gstdio.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "tandem-account.h"
#include "tandem-store.h"
#include "tandem-sync-engine.h"

/* Exit statuses: scripts rely on them. */
enum
{
  EXIT_OK = 0,
  EXIT_FAILURE_OTHER = 1,   /* the database could not be used */
  EXIT_BAD_INPUT = 2,       /* usage, unknown id, invalid value: nothing was written */
  EXIT_CONFLICTS = 3,       /* sync: conflicts wait for the user */
  EXIT_UNREACHABLE = 4,     /* sync: server unreachable, still failing, or sign-in needed */
  EXIT_PARKED = 5,          /* sync: the server refused some changes */
};

#define SYNC_BOUND_SECONDS 30

typedef struct
{
  const char *name;       /* without the leading "--" */
  gboolean    takes_value;
  gboolean    repeatable;
} OptionSpec;

typedef struct
{
  GHashTable *values;       /* name -> GPtrArray of char * (NULL entries for flags) */
  GPtrArray  *positionals;  /* char * */
} Args;

typedef struct
{
  TandemStore *store;
  Args        *args;
  gboolean     json;
} Context;

typedef int (*CommandFunc) (Context *ctx,
                            GError **error);

typedef struct
{
  const char       *name;
  const char       *usage;
  guint             min_positionals;
  guint             max_positionals;
  const OptionSpec *options;
  gboolean          raw_positionals;  /* "-TAG" is an argument, not an option */
  CommandFunc       func;
} Command;

static void
args_free (Args *args)
{
  g_hash_table_unref (args->values);
  g_ptr_array_unref (args->positionals);
  g_free (args);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Args, args_free)

static gboolean
usage_error (GError    **error,
             const char *format,
             ...) G_GNUC_PRINTF (2, 3);

static gboolean
usage_error (GError    **error,
             const char *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, message);
  return FALSE;
}

static const char *
args_get (Args       *args,
          const char *name)
{
  GPtrArray *values = g_hash_table_lookup (args->values, name);

  return values != NULL ? g_ptr_array_index (values, values->len - 1) : NULL;
}

static gboolean
args_has (Args       *args,
          const char *name)
{
  return g_hash_table_contains (args->values, name);
}

static Args *
parse_args (const Command *command,
            int            argc,
            char         **argv,
            GError       **error)
{
  g_autoptr(Args) args = g_new0 (Args, 1);
  gboolean only_positionals = command->raw_positionals;

  args->values = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                        (GDestroyNotify) g_ptr_array_unref);
  args->positionals = g_ptr_array_new ();

  for (int i = 0; i < argc; i++)
    {
      const char *arg = argv[i];
      const OptionSpec *spec = NULL;
      g_autofree char *name = NULL;
      const char *value = NULL;
      const char *eq;
      GPtrArray *values;

      if (only_positionals || arg[0] != '-' || arg[1] == '\0')
        {
          g_ptr_array_add (args->positionals, (char *) arg);
          continue;
        }
      if (g_str_equal (arg, "--"))
        {
          only_positionals = TRUE;
          continue;
        }
      if (arg[1] != '-')
        {
          usage_error (error, "%s: unknown option “%s”; see “tandem-cli help %s”",
                       command->name, arg, command->name);
          return NULL;
        }

      eq = strchr (arg, '=');
      name = eq ? g_strndup (arg + 2, eq - arg - 2) : g_strdup (arg + 2);
      for (guint j = 0; command->options != NULL && command->options[j].name != NULL; j++)
        if (g_str_equal (command->options[j].name, name))
          spec = &command->options[j];
      if (spec == NULL)
        {
          usage_error (error, "%s: unknown option “--%s”; see “tandem-cli help %s”",
                       command->name, name, command->name);
          return NULL;
        }

      if (spec->takes_value)
        {
          if (eq != NULL)
            value = eq + 1;
          else if (i + 1 < argc)
            value = argv[++i];
          else
            {
              usage_error (error, "%s: --%s needs a value", command->name, spec->name);
              return NULL;
            }
        }
      else if (eq != NULL)
        {
          usage_error (error, "%s: --%s takes no value", command->name, spec->name);
          return NULL;
        }

      values = g_hash_table_lookup (args->values, spec->name);
      if (values != NULL && !spec->repeatable)
        {
          usage_error (error, "%s: --%s given more than once", command->name, spec->name);
          return NULL;
        }
      if (values == NULL)
        {
          values = g_ptr_array_new ();
          g_hash_table_insert (args->values, (gpointer) spec->name, values);
        }
      g_ptr_array_add (values, (char *) value);
    }

  if (args->positionals->len < command->min_positionals ||
      args->positionals->len > command->max_positionals)
    {
      usage_error (error, "%s: wrong number of arguments; usage: tandem-cli %s",
                   command->name, command->usage);
      return NULL;
    }
  return g_steal_pointer (&args);
}

/* Output */

static void
print_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

static JsonNode *
parse_json_text (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  if (text == NULL || !json_parser_load_from_data (parser, text, -1, NULL))
    return json_node_init_null (json_node_alloc ());
  return json_node_copy (json_parser_get_root (parser));
}

static JsonNode *
task_to_json (const TandemTask *task,
              gboolean          with_comments)
{
  JsonObject *object = json_object_new ();
  JsonNode *node;
  static const TandemField fields[] = {
    TANDEM_FIELD_LIST_ID, TANDEM_FIELD_TITLE, TANDEM_FIELD_NOTES, TANDEM_FIELD_DONE,
    TANDEM_FIELD_DUE, TANDEM_FIELD_PRIORITY, TANDEM_FIELD_POSITION, TANDEM_FIELD_TAGS,
  };

  json_object_set_string_member (object, "id", task->id);
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    json_object_set_member (object, tandem_field_name (fields[i]),
                            tandem_task_get_field (task, fields[i]));
  if (with_comments)
    json_object_set_member (object, "comments",
                            tandem_task_get_field (task, TANDEM_FIELD_COMMENTS));
  json_object_set_int_member (object, "rev", task->rev);
  json_object_set_string_member (object, "sync_status",
                                 tandem_sync_status_to_string (task->sync_status));
  json_object_set_boolean_member (object, "deleted", task->deleted);
  node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, object);
  return node;
}

static char *
task_summary (const TandemTask *task)
{
  GString *line = g_string_new (NULL);

  g_string_append_printf (line, "%s  [%c] %s", task->id, task->done ? 'x' : ' ', task->title);
  if (task->due != NULL)
    g_string_append_printf (line, "  due %s", task->due);
  if (task->priority > 0)
    g_string_append_printf (line, "  priority %d", task->priority);
  for (guint i = 0; i < task->tags->len; i++)
    g_string_append_printf (line, "%s#%s", i == 0 ? "  " : " ",
                            (char *) g_ptr_array_index (task->tags, i));
  if (task->sync_status != TANDEM_SYNC_SYNCED)
    g_string_append_printf (line, "  (%s)", tandem_sync_status_to_string (task->sync_status));
  if (task->deleted)
    g_string_append (line, "  (deleted)");
  return g_string_free (line, FALSE);
}

/* Common argument checks */

static char *
resolve_task (Context    *ctx,
              const char *id,
              GError    **error)
{
  g_autofree char *lower = g_ascii_strdown (id, -1);

  return tandem_store_resolve_task_id (ctx->store, lower, error);
}

static gboolean
parse_priority (const char *text,
                int        *priority,
                GError    **error)
{
  gint64 value;

  if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &value, NULL))
    return usage_error (error, "priority “%s” is not a number; use 0 (none) to 3 (high)", text);
  if (!tandem_validate_priority (value, error))
    return FALSE;
  *priority = (int) value;
  return TRUE;
}

/* Commands */

static int
cmd_add (Context *ctx,
         GError **error)
{
  g_autoptr(TandemTask) draft = tandem_task_new ();
  g_autoptr(TandemTask) task = NULL;
  GPtrArray *tags = g_hash_table_lookup (ctx->args->values, "tag");
  const char *value;

  g_free (draft->title);
  draft->title = g_strdup (g_ptr_array_index (ctx->args->positionals, 0));
  if ((value = args_get (ctx->args, "notes")))
    {
      g_free (draft->notes);
      draft->notes = g_strdup (value);
    }
  if ((value = args_get (ctx->args, "due")))
    {
      if (!tandem_validate_date (value, error))
        return EXIT_BAD_INPUT;
      draft->due = g_strdup (value);
    }
  if ((value = args_get (ctx->args, "priority")) && !parse_priority (value, &draft->priority, error))
    return EXIT_BAD_INPUT;
  if ((value = args_get (ctx->args, "list")))
    {
      g_autofree char *lower = g_ascii_strdown (value, -1);

      if (!(draft->list_id = tandem_store_resolve_list_id (ctx->store, lower, error)))
        return EXIT_BAD_INPUT;
    }
  for (guint i = 0; tags != NULL && i < tags->len; i++)
    {
      if (!tandem_validate_tag (g_ptr_array_index (tags, i), error))
        return EXIT_BAD_INPUT;
      tandem_task_add_tag (draft, g_ptr_array_index (tags, i));
    }

  if (!(task = tandem_store_create_task (ctx->store, draft, error)))
    return -1;
  g_print ("%s\n", task->id);
  return EXIT_OK;
}

static int
cmd_list (Context *ctx,
          GError **error)
{
  g_autoptr(GPtrArray) tasks = NULL;
  TandemTaskQuery query = args_has (ctx->args, "all") ? TANDEM_TASK_QUERY_ALL
                                                      : TANDEM_TASK_QUERY_LIVE;

  if (!(tasks = tandem_store_list_tasks (ctx->store, query, error)))
    return -1;

  if (ctx->json)
    {
      g_autoptr(JsonNode) node = NULL;
      JsonArray *array = json_array_sized_new (tasks->len);

      for (guint i = 0; i < tasks->len; i++)
        json_array_add_element (array, task_to_json (g_ptr_array_index (tasks, i), FALSE));
      node = json_node_new (JSON_NODE_ARRAY);
      json_node_take_array (node, array);
      print_json (node);
      return EXIT_OK;
    }

  for (guint i = 0; i < tasks->len; i++)
    {
      g_autofree char *line = task_summary (g_ptr_array_index (tasks, i));

      g_print ("%s\n", line);
    }
  return EXIT_OK;
}

static int
cmd_show (Context *ctx,
          GError **error)
{
  g_autofree char *id = resolve_task (ctx, g_ptr_array_index (ctx->args->positionals, 0), error);
  g_autoptr(TandemTask) task = NULL;
  g_autofree char *summary = NULL;

  if (id == NULL || !(task = tandem_store_get_task (ctx->store, id, error)))
    return EXIT_BAD_INPUT;

  if (ctx->json)
    {
      g_autoptr(JsonNode) node = task_to_json (task, TRUE);

      print_json (node);
      return EXIT_OK;
    }

  summary = task_summary (task);
  g_print ("%s\n", summary);
  if (task->list_id != NULL)
    g_print ("  list      %s\n", task->list_id);
  g_print ("  revision  %" G_GINT64_FORMAT "\n", task->rev);
  if (*task->notes != '\0')
    {
      g_autofree char *notes = g_strdup (task->notes);
      g_auto(GStrv) lines = NULL;

      /* A final newline ends the last line; it does not start another. */
      if (g_str_has_suffix (notes, "\n"))
        notes[strlen (notes) - 1] = '\0';
      lines = g_strsplit (notes, "\n", -1);

      g_print ("  notes\n");
      for (guint i = 0; lines[i] != NULL; i++)
        g_print ("    %s\n", lines[i]);
    }
  for (guint i = 0; i < task->comments->len; i++)
    {
      const TandemComment *comment = g_ptr_array_index (task->comments, i);

      g_print ("  comment   %s  %s\n", comment->created_at, comment->body);
    }
  return EXIT_OK;
}

static int
cmd_edit (Context *ctx,
          GError **error)
{
  g_autofree char *id = resolve_task (ctx, g_ptr_array_index (ctx->args->positionals, 0), error);
  g_autoptr(JsonObject) changes = json_object_new ();
  const char *value;

  if (id == NULL)
    return EXIT_BAD_INPUT;
  if (args_has (ctx->args, "due") && args_has (ctx->args, "no-due"))
    return usage_error (error, "edit: use either --due or --no-due, not both"), EXIT_BAD_INPUT;
  if (args_has (ctx->args, "done") && args_has (ctx->args, "undone"))
    return usage_error (error, "edit: use either --done or --undone, not both"), EXIT_BAD_INPUT;

  if ((value = args_get (ctx->args, "title")))
    json_object_set_string_member (changes, "title", value);
  if ((value = args_get (ctx->args, "notes")))
    json_object_set_string_member (changes, "notes", value);
  if ((value = args_get (ctx->args, "due")))
    {
      if (!tandem_validate_date (value, error))
        return EXIT_BAD_INPUT;
      json_object_set_string_member (changes, "due", value);
    }
  if (args_has (ctx->args, "no-due"))
    json_object_set_null_member (changes, "due");
  if ((value = args_get (ctx->args, "priority")))
    {
      int priority;

      if (!parse_priority (value, &priority, error))
        return EXIT_BAD_INPUT;
      json_object_set_int_member (changes, "priority", priority);
    }
  if (args_has (ctx->args, "done") || args_has (ctx->args, "undone"))
    json_object_set_boolean_member (changes, "done", args_has (ctx->args, "done"));

  if (json_object_get_size (changes) == 0)
    return usage_error (error, "edit: nothing to change; give --title, --notes, --due, --no-due, "
                               "--priority, --done or --undone"), EXIT_BAD_INPUT;

  return tandem_store_update_task (ctx->store, id, changes, error) ? EXIT_OK : -1;
}

static int
cmd_tag (Context *ctx,
         GError **error)
{
  GPtrArray *positionals = ctx->args->positionals;
  g_autofree char *id = resolve_task (ctx, g_ptr_array_index (positionals, 0), error);
  g_autoptr(GPtrArray) add = g_ptr_array_new ();
  g_autoptr(GPtrArray) remove = g_ptr_array_new ();

  if (id == NULL)
    return EXIT_BAD_INPUT;
  for (guint i = 1; i < positionals->len; i++)
    {
      const char *arg = g_ptr_array_index (positionals, i);

      if (arg[0] == '+')
        g_ptr_array_add (add, (char *) arg + 1);
      else if (arg[0] == '-')
        g_ptr_array_add (remove, (char *) arg + 1);
      else
        return usage_error (error, "tag: “%s” must start with + (add) or - (remove)", arg),
               EXIT_BAD_INPUT;
    }
  g_ptr_array_add (add, NULL);
  g_ptr_array_add (remove, NULL);

  return tandem_store_change_tags (ctx->store, id, (const char *const *) add->pdata,
                                   (const char *const *) remove->pdata, error)
           ? EXIT_OK : -1;
}

static int
cmd_comment (Context *ctx,
             GError **error)
{
  g_autofree char *id = resolve_task (ctx, g_ptr_array_index (ctx->args->positionals, 0), error);
  g_autofree char *comment_id = NULL;

  if (id == NULL)
    return EXIT_BAD_INPUT;
  comment_id = tandem_store_add_comment (ctx->store, id,
                                         g_ptr_array_index (ctx->args->positionals, 1), error);
  if (comment_id == NULL)
    return -1;
  g_print ("%s\n", comment_id);
  return EXIT_OK;
}

static int
cmd_delete_or_restore (Context *ctx,
                       gboolean delete,
                       GError **error)
{
  g_autofree char *id = resolve_task (ctx, g_ptr_array_index (ctx->args->positionals, 0), error);

  if (id == NULL)
    return EXIT_BAD_INPUT;
  if (delete)
    return tandem_store_delete_task (ctx->store, id, error) ? EXIT_OK : -1;
  return tandem_store_restore_task (ctx->store, id, error) ? EXIT_OK : -1;
}

static int
cmd_delete (Context *ctx,
            GError **error)
{
  return cmd_delete_or_restore (ctx, TRUE, error);
}

static int
cmd_restore (Context *ctx,
             GError **error)
{
  return cmd_delete_or_restore (ctx, FALSE, error);
}

static int
cmd_move (Context *ctx,
          GError **error)
{
  g_autofree char *id = resolve_task (ctx, g_ptr_array_index (ctx->args->positionals, 0), error);
  g_autofree char *anchor = NULL;
  const char *before = args_get (ctx->args, "before");
  const char *after = args_get (ctx->args, "after");

  if (id == NULL)
    return EXIT_BAD_INPUT;
  if ((before == NULL) == (after == NULL))
    return usage_error (error, "move: give exactly one of --before ID or --after ID"),
           EXIT_BAD_INPUT;
  if (!(anchor = resolve_task (ctx, before ? before : after, error)))
    return EXIT_BAD_INPUT;

  return tandem_store_move_task (ctx->store, id, before ? anchor : NULL, after ? anchor : NULL,
                                 error)
           ? EXIT_OK : -1;
}

static int
cmd_lists (Context *ctx,
           GError **error)
{
  g_autoptr(GPtrArray) lists = tandem_store_list_lists (ctx->store, error);

  if (lists == NULL)
    return -1;
  if (ctx->json)
    {
      g_autoptr(JsonNode) node = NULL;
      JsonArray *array = json_array_sized_new (lists->len);

      for (guint i = 0; i < lists->len; i++)
        {
          const TandemList *list = g_ptr_array_index (lists, i);
          JsonObject *object = json_object_new ();

          json_object_set_string_member (object, "id", list->id);
          json_object_set_string_member (object, "name", list->name);
          json_object_set_string_member (object, "position", list->position);
          json_object_set_int_member (object, "rev", list->rev);
          json_object_set_string_member (object, "sync_status",
                                         tandem_sync_status_to_string (list->sync_status));
          json_object_set_boolean_member (object, "deleted", list->deleted);
          json_array_add_object_element (array, object);
        }
      node = json_node_new (JSON_NODE_ARRAY);
      json_node_take_array (node, array);
      print_json (node);
      return EXIT_OK;
    }
  for (guint i = 0; i < lists->len; i++)
    {
      const TandemList *list = g_ptr_array_index (lists, i);

      if (list->sync_status == TANDEM_SYNC_SYNCED)
        g_print ("%s  %s\n", list->id, list->name);
      else
        g_print ("%s  %s  (%s)\n", list->id, list->name,
                 tandem_sync_status_to_string (list->sync_status));
    }
  return EXIT_OK;
}

static int
cmd_list_add (Context *ctx,
              GError **error)
{
  g_autoptr(TandemList) list = tandem_store_create_list (ctx->store,
                                                         g_ptr_array_index (ctx->args->positionals, 0),
                                                         error);

  if (list == NULL)
    return -1;
  g_print ("%s\n", list->id);
  return EXIT_OK;
}

static int
cmd_outbox (Context *ctx,
            GError **error)
{
  g_autoptr(GPtrArray) ops = tandem_store_outbox_list (ctx->store, 0, error);

  if (ops == NULL)
    return -1;
  if (ctx->json)
    {
      g_autoptr(JsonNode) node = NULL;
      JsonArray *array = json_array_sized_new (ops->len);

      for (guint i = 0; i < ops->len; i++)
        {
          const TandemOp *op = g_ptr_array_index (ops, i);
          JsonObject *object = json_object_new ();

          json_object_set_string_member (object, "op_id", op->op_id);
          json_object_set_string_member (object, "entity", tandem_entity_to_string (op->entity));
          json_object_set_string_member (object, "entity_id", op->entity_id);
          json_object_set_string_member (object, "kind", tandem_op_kind_to_string (op->kind));
          json_object_set_int_member (object, "base_rev", op->base_rev);
          json_object_set_object_member (object, "patch", json_object_ref (op->patch));
          json_object_set_object_member (object, "base", json_object_ref (op->base));
          json_object_set_string_member (object, "created_at", op->created_at);
          json_object_set_string_member (object, "state", tandem_op_state_to_string (op->state));
          if (op->error != NULL)
            json_object_set_string_member (object, "error", op->error);
          json_array_add_object_element (array, object);
        }
      node = json_node_new (JSON_NODE_ARRAY);
      json_node_take_array (node, array);
      print_json (node);
      return EXIT_OK;
    }

  for (guint i = 0; i < ops->len; i++)
    {
      const TandemOp *op = g_ptr_array_index (ops, i);
      g_autoptr(JsonNode) patch = json_node_init_object (json_node_alloc (), op->patch);
      g_autoptr(JsonGenerator) generator = json_generator_new ();
      g_autofree char *patch_text = NULL;

      json_generator_set_root (generator, patch);
      patch_text = json_generator_to_data (generator, NULL);
      g_print ("%s  %s %s %s  base_rev %" G_GINT64_FORMAT "  %s  [%s]%s%s\n", op->op_id,
               tandem_op_kind_to_string (op->kind), tandem_entity_to_string (op->entity),
               op->entity_id, op->base_rev, patch_text, tandem_op_state_to_string (op->state),
               op->error ? "  " : "", op->error ? op->error : "");
    }
  return EXIT_OK;
}

static int
cmd_history (Context *ctx,
             GError **error)
{
  g_autofree char *id = resolve_task (ctx, g_ptr_array_index (ctx->args->positionals, 0), error);
  g_autoptr(GPtrArray) entries = NULL;

  if (id == NULL)
    return EXIT_BAD_INPUT;
  if (!(entries = tandem_store_get_history (ctx->store, id, error)))
    return -1;

  if (ctx->json)
    {
      g_autoptr(JsonNode) node = NULL;
      JsonArray *array = json_array_sized_new (entries->len);

      for (guint i = 0; i < entries->len; i++)
        {
          const TandemHistoryEntry *entry = g_ptr_array_index (entries, i);
          JsonObject *object = json_object_new ();

          json_object_set_string_member (object, "at", entry->at);
          json_object_set_string_member (object, "device_id", entry->device_id);
          json_object_set_string_member (object, "origin", entry->origin);
          json_object_set_string_member (object, "field", entry->field);
          json_object_set_member (object, "old", parse_json_text (entry->old_value));
          json_object_set_member (object, "new", parse_json_text (entry->new_value));
          json_object_set_string_member (object, "note", entry->note);
          json_array_add_object_element (array, object);
        }
      node = json_node_new (JSON_NODE_ARRAY);
      json_node_take_array (node, array);
      print_json (node);
      return EXIT_OK;
    }

  for (guint i = 0; i < entries->len; i++)
    {
      const TandemHistoryEntry *entry = g_ptr_array_index (entries, i);

      g_print ("%s  %-9s", entry->at, entry->origin);
      if (entry->field != NULL)
        g_print ("  %s: %s → %s", entry->field, entry->old_value ? entry->old_value : "∅",
                 entry->new_value ? entry->new_value : "∅");
      if (entry->note != NULL)
        g_print ("  %s", entry->note);
      g_print ("\n");
    }
  return EXIT_OK;
}

static int
cmd_account (Context *ctx,
             GError **error)
{
  const char *url = args_get (ctx->args, "server");
  const char *token = args_get (ctx->args, "token");
  TandemTokenStorage storage;

  if (url == NULL || token == NULL)
    return usage_error (error, "account: give both --server URL and --token TOKEN"),
           EXIT_BAD_INPUT;
  if (!tandem_account_save (ctx->store, url, token, &storage, error))
    return EXIT_BAD_INPUT;
  g_print ("Account set: %s (token kept in %s)\n", url,
           storage == TANDEM_TOKEN_IN_KEYRING ? "the keyring" : "this device's database");
  return EXIT_OK;
}

typedef struct
{
  GMainLoop         *loop;
  TandemSyncOutcome  outcome;
  GError            *error;
} SyncWait;

static void
sync_done (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  SyncWait *wait = data;

  wait->outcome = tandem_sync_engine_sync_bounded_finish (TANDEM_SYNC_ENGINE (source), result,
                                                          &wait->error);
  g_main_loop_quit (wait->loop);
}

static int
cmd_sync (Context *ctx,
          GError **error)
{
  g_autoptr(TandemSyncEngine) engine = tandem_sync_engine_new (ctx->store);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  SyncWait wait = { loop, TANDEM_SYNC_OUTCOME_DONE, NULL };
  const char *reason;

  tandem_sync_engine_sync_bounded_async (engine, SYNC_BOUND_SECONDS, NULL, sync_done, &wait);
  g_main_loop_run (loop);
  if (wait.error != NULL)
    {
      g_propagate_error (error, wait.error);
      return EXIT_FAILURE_OTHER;
    }

  reason = tandem_sync_engine_get_last_error (engine);
  switch (wait.outcome)
    {
    case TANDEM_SYNC_OUTCOME_DONE:
      g_print ("Up to date.\n");
      return EXIT_OK;
    case TANDEM_SYNC_OUTCOME_CONFLICTS:
      g_printerr ("tandem-cli: some tasks were changed on two devices; "
                  "see “tandem-cli conflicts” and “tandem-cli resolve”\n");
      return EXIT_CONFLICTS;
    case TANDEM_SYNC_OUTCOME_PARKED:
      g_printerr ("tandem-cli: the server refused some changes; see “tandem-cli outbox”\n");
      return EXIT_PARKED;
    case TANDEM_SYNC_OUTCOME_AUTH:
      g_printerr ("tandem-cli: sync is paused until you sign in again "
                  "(tandem-cli account --server URL --token TOKEN): %s\n", reason ? reason : "");
      return EXIT_UNREACHABLE;
    case TANDEM_SYNC_OUTCOME_SIGNED_OUT:
      g_printerr ("tandem-cli: no sync account; set one with "
                  "“tandem-cli account --server URL --token TOKEN”\n");
      return EXIT_UNREACHABLE;
    case TANDEM_SYNC_OUTCOME_UNREACHABLE:
    default:
      g_printerr ("tandem-cli: could not sync within %d s; your changes are kept on this "
                  "device: %s\n", SYNC_BOUND_SECONDS, reason ? reason : "server unreachable");
      return EXIT_UNREACHABLE;
    }
}

static int
cmd_status (Context *ctx,
            GError **error)
{
  g_autofree char *url = tandem_store_get_setting (ctx->store, "server_url");
  g_autofree char *cursor = tandem_store_get_setting (ctx->store, "cursor");
  g_autofree char *last = tandem_store_get_setting (ctx->store, "last_synced");
  g_autofree char *paused = tandem_store_get_setting (ctx->store, "auth_paused");
  g_autofree char *last_text = NULL;
  guint n_pending = 0, n_parked = 0, n_conflicts = 0;

  if (!tandem_store_get_sync_counts (ctx->store, &n_pending, &n_parked, &n_conflicts, error))
    return -1;
  if (last != NULL && *last != '\0')
    {
      g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (g_ascii_strtoll (last, NULL, 10));

      last_text = g_date_time_format_iso8601 (when);
    }

  if (ctx->json)
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
      JsonObject *object = json_object_new ();

      json_object_set_string_member (object, "server", url && *url ? url : NULL);
      json_object_set_int_member (object, "pending", n_pending);
      json_object_set_int_member (object, "conflicts", n_conflicts);
      json_object_set_int_member (object, "parked", n_parked);
      json_object_set_string_member (object, "last_synced", last_text);
      json_object_set_string_member (object, "cursor", cursor && *cursor ? cursor : NULL);
      json_object_set_boolean_member (object, "auth_paused", paused != NULL && *paused != '\0');
      json_node_take_object (node, object);
      print_json (node);
      return EXIT_OK;
    }

  g_print ("server       %s\n", url && *url ? url : "(none; see tandem-cli account)");
  g_print ("pending      %u\n", n_pending);
  g_print ("conflicts    %u\n", n_conflicts);
  g_print ("parked       %u\n", n_parked);
  g_print ("last synced  %s\n", last_text ? last_text : "never");
  g_print ("cursor       %s\n", cursor && *cursor ? cursor : "(none: the next sync reads the whole feed)");
  if (paused != NULL && *paused != '\0')
    g_print ("sync is paused: the server refused the token; sign in again\n");
  return EXIT_OK;
}

static JsonNode *
conflict_to_json (const TandemConflict *conflict)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *object = json_object_new ();
  JsonArray *fields = json_array_new ();

  json_object_set_string_member (object, "task_id", conflict->task_id);
  json_object_set_string_member (object, "kind", tandem_conflict_kind_to_string (conflict->kind));
  json_object_set_int_member (object, "remote_rev", conflict->remote_rev);
  for (guint i = 0; i < conflict->merge->conflicts->len; i++)
    {
      const TandemFieldConflict *c = g_ptr_array_index (conflict->merge->conflicts, i);
      JsonObject *field = json_object_new ();

      json_object_set_string_member (field, "name", tandem_field_name (c->field));
      json_object_set_member (field, "base", json_node_copy (c->base));
      json_object_set_member (field, "local", json_node_copy (c->local));
      json_object_set_member (field, "remote", json_node_copy (c->remote));
      json_array_add_object_element (fields, field);
    }
  json_object_set_array_member (object, "fields", fields);
  json_node_take_object (node, object);
  return node;
}

static int
cmd_conflicts (Context *ctx,
               GError **error)
{
  g_autoptr(GPtrArray) conflicts = tandem_store_list_conflicts (ctx->store, error);

  if (conflicts == NULL)
    return -1;
  if (ctx->json)
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_ARRAY);
      JsonArray *array = json_array_new ();

      for (guint i = 0; i < conflicts->len; i++)
        json_array_add_element (array, conflict_to_json (g_ptr_array_index (conflicts, i)));
      json_node_take_array (node, array);
      print_json (node);
      return EXIT_OK;
    }

  for (guint i = 0; i < conflicts->len; i++)
    {
      const TandemConflict *conflict = g_ptr_array_index (conflicts, i);

      g_print ("%s  %s  (%s)\n", conflict->task_id, conflict->local->title,
               tandem_conflict_kind_to_string (conflict->kind));
      for (guint j = 0; j < conflict->merge->conflicts->len; j++)
        {
          const TandemFieldConflict *c = g_ptr_array_index (conflict->merge->conflicts, j);
          g_autofree char *local = NULL;
          g_autofree char *remote = NULL;
          g_autoptr(JsonGenerator) generator = json_generator_new ();

          json_generator_set_root (generator, c->local);
          local = json_generator_to_data (generator, NULL);
          json_generator_set_root (generator, c->remote);
          remote = json_generator_to_data (generator, NULL);
          g_print ("  %-8s this device: %s\n  %-8s other device: %s\n",
                   tandem_field_name (c->field), local, "", remote);
        }
    }
  return EXIT_OK;
}

static int
cmd_resolve (Context *ctx,
             GError **error)
{
  g_autofree char *id = resolve_task (ctx, g_ptr_array_index (ctx->args->positionals, 0), error);
  const char *take = args_get (ctx->args, "take");
  GPtrArray *fields = g_hash_table_lookup (ctx->args->values, "field");
  g_autoptr(GHashTable) values = NULL;
  g_autoptr(TandemConflict) conflict = NULL;
  TandemResolution resolution;

  if (id == NULL)
    return EXIT_BAD_INPUT;
  if ((take == NULL) == (fields == NULL))
    return usage_error (error, "resolve: give either --take local|remote or --field NAME=CHOICE"),
           EXIT_BAD_INPUT;
  if (!(conflict = tandem_store_get_conflict (ctx->store, id, error)))
    return EXIT_BAD_INPUT;

  if (take != NULL)
    {
      if (g_str_equal (take, "local"))
        resolution = TANDEM_RESOLUTION_LOCAL;
      else if (g_str_equal (take, "remote"))
        resolution = TANDEM_RESOLUTION_REMOTE;
      else
        return usage_error (error, "resolve: --take is local or remote, not “%s”", take),
               EXIT_BAD_INPUT;
    }
  else
    {
      resolution = TANDEM_RESOLUTION_FIELDS;
      values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) json_node_unref);
      for (guint i = 0; i < fields->len; i++)
        {
          const char *spec = g_ptr_array_index (fields, i);
          const char *eq = strchr (spec, '=');
          g_autofree char *name = eq ? g_strndup (spec, eq - spec) : NULL;
          const TandemFieldConflict *found = NULL;
          JsonNode *value;

          if (name == NULL)
            return usage_error (error, "resolve: --field takes NAME=local, NAME=remote or "
                                       "NAME=value:TEXT, not “%s”", spec), EXIT_BAD_INPUT;
          for (guint j = 0; j < conflict->merge->conflicts->len; j++)
            {
              const TandemFieldConflict *c = g_ptr_array_index (conflict->merge->conflicts, j);

              if (g_str_equal (tandem_field_name (c->field), name))
                found = c;
            }
          if (found == NULL)
            return usage_error (error, "resolve: “%s” is not in conflict for this task", name),
                   EXIT_BAD_INPUT;
          if (g_str_equal (eq + 1, "local"))
            value = json_node_copy (found->local);
          else if (g_str_equal (eq + 1, "remote"))
            value = json_node_copy (found->remote);
          else if (g_str_has_prefix (eq + 1, "value:"))
            value = json_node_init_string (json_node_alloc (), eq + 1 + strlen ("value:"));
          else
            return usage_error (error, "resolve: --field %s= takes local, remote or value:TEXT",
                                name), EXIT_BAD_INPUT;
          g_hash_table_replace (values, g_steal_pointer (&name), value);
        }
    }

  return tandem_store_resolve_conflict (ctx->store, id, resolution, values, error) ? EXIT_OK
                                                                                    : EXIT_BAD_INPUT;
}

static const OptionSpec json_only[] = { { "json", FALSE, FALSE }, { NULL } };
static const OptionSpec list_options[] = { { "all" }, { "json" }, { NULL } };
static const OptionSpec add_options[] = {
  { "list", TRUE }, { "notes", TRUE }, { "due", TRUE }, { "priority", TRUE },
  { "tag", TRUE, TRUE }, { NULL }
};
static const OptionSpec edit_options[] = {
  { "title", TRUE }, { "notes", TRUE }, { "due", TRUE }, { "no-due" }, { "priority", TRUE },
  { "done" }, { "undone" }, { NULL }
};
static const OptionSpec move_options[] = { { "before", TRUE }, { "after", TRUE }, { NULL } };
static const OptionSpec account_options[] = { { "server", TRUE }, { "token", TRUE }, { NULL } };
static const OptionSpec resolve_options[] = { { "take", TRUE }, { "field", TRUE, TRUE }, { NULL } };

static const Command commands[] = {
  { "add", "add TITLE [--list ID] [--notes TEXT] [--due YYYY-MM-DD] [--priority 0-3] [--tag TAG]...",
    1, 1, add_options, FALSE, cmd_add },
  { "list", "list [--all] [--json]", 0, 0, list_options, FALSE, cmd_list },
  { "show", "show ID [--json]", 1, 1, json_only, FALSE, cmd_show },
  { "edit", "edit ID [--title T] [--notes T] [--due D | --no-due] [--priority N] [--done | --undone]",
    1, 1, edit_options, FALSE, cmd_edit },
  { "tag", "tag ID (+TAG | -TAG)...", 2, G_MAXUINT, NULL, TRUE, cmd_tag },
  { "comment", "comment ID TEXT", 2, 2, NULL, FALSE, cmd_comment },
  { "delete", "delete ID", 1, 1, NULL, FALSE, cmd_delete },
  { "restore", "restore ID", 1, 1, NULL, FALSE, cmd_restore },
  { "move", "move ID (--before ID | --after ID)", 1, 1, move_options, FALSE, cmd_move },
  { "lists", "lists [--json]", 0, 0, json_only, FALSE, cmd_lists },
  { "list-add", "list-add NAME", 1, 1, NULL, FALSE, cmd_list_add },
  { "outbox", "outbox [--json]", 0, 0, json_only, FALSE, cmd_outbox },
  { "history", "history ID [--json]", 1, 1, json_only, FALSE, cmd_history },
  { "account", "account --server URL --token TOKEN", 0, 0, account_options, FALSE, cmd_account },
  { "sync", "sync", 0, 0, NULL, FALSE, cmd_sync },
  { "status", "status [--json]", 0, 0, json_only, FALSE, cmd_status },
  { "conflicts", "conflicts [--json]", 0, 0, json_only, FALSE, cmd_conflicts },
  { "resolve", "resolve TASK_ID (--take local | --take remote | --field NAME=local|remote|value:TEXT ...)",
    1, 1, resolve_options, FALSE, cmd_resolve },
};

static void
print_help (FILE *out)
{
  fprintf (out,
           "Usage: tandem-cli [--db PATH] COMMAND [ARGUMENTS]\n"
           "\n"
           "Tandem's tasks from the terminal, on the same local database as the app.\n"
           "\n"
           "Commands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %s\n", commands[i].usage);
  fprintf (out,
           "\n"
           "Options:\n"
           "  --db PATH     the database (default: $TANDEM_DB, else\n"
           "                $XDG_DATA_HOME/tandem/tandem.db)\n"
           "  --help        show this help\n"
           "  --version     show the version\n"
           "\n"
           "IDs may be shortened to a unique prefix of at least 4 characters.\n"
           "Exit status: 0 done, 1 the database could not be used, 2 bad input\n"
           "(nothing was written). sync: 3 conflicts remain, 4 server unreachable or\n"
           "sign-in needed (changes kept), 5 the server refused some changes.\n");
}

static int
fail (const char *message,
      int         status)
{
  g_printerr ("tandem-cli: %s\n", message);
  return status;
}

/* Removes a database this run created, with SQLite's side files. */
static void
remove_database (const char *path)
{
  static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (path, suffixes[i], NULL);

      g_unlink (file);
    }
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rest = g_ptr_array_new ();
  g_autoptr(Args) args = NULL;
  g_autoptr(TandemStore) store = NULL;
  g_autofree char *db_path = NULL;
  const Command *command = NULL;
  Context ctx = { 0 };
  gboolean existed;
  int status;

  setlocale (LC_ALL, "");

  /* --db may stand anywhere before "--"; everything else belongs to the
   * command (after "--", "--db" is a title like any other). */
  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--"))
        {
          for (; i < argc; i++)
            g_ptr_array_add (rest, argv[i]);
          break;
        }
      if (g_str_equal (argv[i], "--db") || g_str_has_prefix (argv[i], "--db="))
        {
          const char *value = argv[i][4] == '=' ? argv[i] + 5 : (i + 1 < argc ? argv[++i] : NULL);

          if (value == NULL || *value == '\0')
            return fail ("--db needs a path", EXIT_BAD_INPUT);
          g_free (db_path);
          db_path = g_strdup (value);
        }
      else
        g_ptr_array_add (rest, argv[i]);
    }

  if (rest->len == 0)
    {
      print_help (stderr);
      return EXIT_BAD_INPUT;
    }
  if (g_str_equal (g_ptr_array_index (rest, 0), "--help") ||
      g_str_equal (g_ptr_array_index (rest, 0), "help"))
    {
      if (rest->len > 1)
        for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
          if (g_str_equal (commands[i].name, g_ptr_array_index (rest, 1)))
            {
              g_print ("Usage: tandem-cli %s\n", commands[i].usage);
              return EXIT_OK;
            }
      print_help (stdout);
      return EXIT_OK;
    }
  if (g_str_equal (g_ptr_array_index (rest, 0), "--version"))
    {
      g_print ("tandem-cli %s\n", PACKAGE_VERSION);
      return EXIT_OK;
    }

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (commands[i].name, g_ptr_array_index (rest, 0)))
      command = &commands[i];
  if (command == NULL)
    {
      g_autofree char *message = g_strdup_printf ("unknown command “%s”; see “tandem-cli --help”",
                                                  (char *) g_ptr_array_index (rest, 0));
      return fail (message, EXIT_BAD_INPUT);
    }

  if (!(args = parse_args (command, rest->len - 1, (char **) rest->pdata + 1, &error)))
    return fail (error->message, EXIT_BAD_INPUT);

  if (db_path == NULL)
    db_path = tandem_store_default_path ();
  existed = g_file_test (db_path, G_FILE_TEST_EXISTS);
  if (!(store = tandem_store_open (db_path, &error)))
    return fail (error->message, EXIT_FAILURE_OTHER);

  ctx.store = store;
  ctx.args = args;
  ctx.json = args_has (args, "json");
  status = command->func (&ctx, &error);

  if (error != NULL)
    {
      /* -1: the store refused; whether that is the caller's fault depends
       * on why. */
      if (status == -1)
        status = (error->domain == TANDEM_STORE_ERROR &&
                  error->code != TANDEM_STORE_ERROR_NOT_FOUND &&
                  error->code != TANDEM_STORE_ERROR_INVALID)
                   ? EXIT_FAILURE_OTHER
                   : EXIT_BAD_INPUT;
    }
  /* Bad input writes nothing, not even a new, empty database. */
  if (status == EXIT_BAD_INPUT && !existed)
    {
      g_clear_object (&store);
      remove_database (db_path);
    }
  if (error != NULL)
    return fail (error->message, status);
  return status;
}
