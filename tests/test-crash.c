/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-test-crash"

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tandem-store.h"

/* Crash safety (DESIGN §3): a writer process is killed with SIGKILL at
 * random moments, over and over, on one database. After every kill the
 * database must open, hold every write the writer reported as done (row,
 * op and history line together), and its outbox must still describe every
 * row exactly.
 *
 * The writer is this binary started again with --child. It prints one line
 * before each call ("begin ...", naming the whole write) and one after it
 * returned ("done ..."). At the kill at most one write is in flight: it may
 * or may not have committed, so the task it touches must equal either the
 * confirmed state or the confirmed state with that write applied; every
 * other task must equal the confirmed state exactly. */

#define DEFAULT_ROUNDS 80
#define WRITER_TIME_LIMIT_US (20 * G_USEC_PER_SEC)
#define READY_TIME_LIMIT_US (30 * G_USEC_PER_SEC)

typedef enum
{
  WRITE_CREATE,
  WRITE_UPDATE,
  WRITE_TAGS,
  WRITE_COMMENT,
  WRITE_DELETE,
  WRITE_RESTORE,
  N_WRITE_KINDS
} WriteKind;

static const char *write_kind_names[N_WRITE_KINDS] = {
  "create", "update", "tags", "comment", "delete", "restore",
};

/* The fields a writer sets with tandem_store_update_task; tags go through
 * tandem_store_change_tags. */
static const TandemField edited_fields[] = {
  TANDEM_FIELD_TITLE, TANDEM_FIELD_NOTES,    TANDEM_FIELD_DONE,
  TANDEM_FIELD_DUE,   TANDEM_FIELD_PRIORITY, TANDEM_FIELD_LIST_ID,
};

/* The fields compared between a row and what it should be. */
static const TandemField compared_fields[] = {
  TANDEM_FIELD_TITLE,    TANDEM_FIELD_NOTES,   TANDEM_FIELD_DONE,     TANDEM_FIELD_DUE,
  TANDEM_FIELD_PRIORITY, TANDEM_FIELD_LIST_ID, TANDEM_FIELD_POSITION, TANDEM_FIELD_TAGS,
};

static char *
node_text (JsonNode *node)
{
  return json_to_string (node, FALSE);
}

static char *
object_text (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);

  return node_text (node);
}

/* The writer (child process) */

typedef struct
{
  TandemStore *store;
  GRand       *rand;
  GPtrArray   *tasks;      /* TandemTask *: every task, as this writer left it */
  GPtrArray   *list_ids;   /* char *, NULL being the Inbox */
  guint        round;
  guint        serial;     /* makes every written value unique */
} Writer;

/* One line on stdout, written at once so that it is in the pipe before the
 * writer goes on: a line that is there is a promise the parent holds us to. */
static void
say (const char *format,
     ...)
{
  g_autofree char *text = NULL;
  g_autofree char *line = NULL;
  va_list args;
  gsize len, written = 0;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  line = g_strconcat (text, "\n", NULL);
  len = strlen (line);

  while (written < len)
    {
      ssize_t n = write (STDOUT_FILENO, line + written, len - written);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        _exit (3);
      written += n;
    }
}

static char *
writer_title (Writer *w)
{
  static const char *words[] = {
    "buy milk", "call the plumber", "write the report", "café au lait ☕",
    "réserver la salle", "日本語のメモ", "fix the fence", "read “Dune”",
  };

  return g_strdup_printf ("r%u w%u %s", w->round, w->serial,
                          words[g_rand_int_range (w->rand, 0, G_N_ELEMENTS (words))]);
}

/* Never equal to @current: every edit changes what it names. */
static char *
writer_notes (Writer     *w,
              const char *current)
{
  int kind = g_rand_int_range (w->rand, 0, 20);
  GString *notes;
  gsize size;

  if (kind == 0 && *current != '\0')
    return g_strdup ("");
  if (kind > 1)
    return g_strdup_printf ("r%u w%u\nsecond line\twith a tab", w->round, w->serial);

  /* Now and then a large one, so a commit spans many WAL pages. */
  size = g_rand_int_range (w->rand, 16 * 1024, 200 * 1024);
  notes = g_string_sized_new (size + 64);
  while (notes->len < size)
    g_string_append_printf (notes, "r%u w%u line %u of a long note\n", w->round, w->serial,
                            (guint) notes->len);
  return g_string_free (notes, FALSE);
}

static char *
writer_due (Writer     *w,
            const char *current)
{
  for (;;)
    {
      g_autofree char *due = NULL;

      if (current != NULL && g_rand_boolean (w->rand))
        return NULL;
      due = g_strdup_printf ("2026-%02d-%02d", g_rand_int_range (w->rand, 1, 13),
                             g_rand_int_range (w->rand, 1, 29));
      if (g_strcmp0 (due, current) != 0)
        return g_steal_pointer (&due);
    }
}

static char *
writer_tag (Writer *w)
{
  static const char *tags[] = { "home", "work", "urgent", "later", "café", "ärger" };

  if (g_rand_boolean (w->rand))
    return g_strdup (tags[g_rand_int_range (w->rand, 0, G_N_ELEMENTS (tags))]);
  return g_strdup_printf ("r%u-w%u", w->round, w->serial);
}

static const char *
writer_list_id (Writer     *w,
                const char *not_this)
{
  for (;;)
    {
      const char *id = g_ptr_array_index (w->list_ids,
                                          g_rand_int_range (w->rand, 0, w->list_ids->len));

      if (g_strcmp0 (id, not_this) != 0)
        return id;
    }
}

/* A task to act on, live or in the Trash; -1 if there is none. */
static int
writer_pick (Writer   *w,
             gboolean  deleted)
{
  guint start;

  if (w->tasks->len == 0)
    return -1;
  start = g_rand_int_range (w->rand, 0, w->tasks->len);
  for (guint i = 0; i < w->tasks->len; i++)
    {
      guint index = (start + i) % w->tasks->len;
      TandemTask *task = g_ptr_array_index (w->tasks, index);

      if (!task->deleted == !deleted)
        return index;
    }
  return -1;
}

static gboolean
writer_reload (Writer  *w,
               guint    index,
               GError **error)
{
  TandemTask *old = g_ptr_array_index (w->tasks, index);
  TandemTask *task = tandem_store_get_task (w->store, old->id, error);

  if (task == NULL)
    return FALSE;
  tandem_task_free (old);
  g_ptr_array_index (w->tasks, index) = task;
  return TRUE;
}

static gboolean
writer_create (Writer  *w,
               GError **error)
{
  g_autoptr(TandemTask) draft = tandem_task_new ();
  g_autoptr(TandemTask) created = NULL;
  g_autoptr(JsonObject) described = json_object_new ();
  g_autofree char *text = NULL;
  guint n_tags = g_rand_int_range (w->rand, 0, 4);

  g_free (draft->title);
  draft->title = writer_title (w);
  g_free (draft->notes);
  draft->notes = g_rand_boolean (w->rand) ? writer_notes (w, "") : g_strdup ("");
  draft->done = g_rand_int_range (w->rand, 0, 5) == 0;
  draft->due = g_rand_boolean (w->rand) ? writer_due (w, NULL) : NULL;
  draft->priority = g_rand_int_range (w->rand, 0, TANDEM_PRIORITY_MAX + 1);
  draft->list_id = g_strdup (writer_list_id (w, ""));
  for (guint i = 0; i < n_tags; i++)
    {
      g_autofree char *tag = writer_tag (w);

      tandem_task_add_tag (draft, tag);
    }

  for (guint i = 0; i < G_N_ELEMENTS (edited_fields); i++)
    json_object_set_member (described, tandem_field_name (edited_fields[i]),
                            tandem_task_get_field (draft, edited_fields[i]));
  json_object_set_member (described, "tags", tandem_task_get_field (draft, TANDEM_FIELD_TAGS));
  text = object_text (described);

  say ("begin create %s", text);
  if (!(created = tandem_store_create_task (w->store, draft, error)))
    return FALSE;
  say ("done %s %s", created->id, created->position);

  g_ptr_array_add (w->tasks, g_steal_pointer (&created));
  return TRUE;
}

static gboolean
writer_update (Writer  *w,
               int      index,
               GError **error)
{
  TandemTask *task = g_ptr_array_index (w->tasks, index);
  g_autoptr(JsonObject) changes = json_object_new ();
  g_autofree char *text = NULL;
  guint n_fields = g_rand_int_range (w->rand, 1, 4);

  for (guint i = 0; i < n_fields; i++)
    {
      TandemField field =
        edited_fields[g_rand_int_range (w->rand, 0, G_N_ELEMENTS (edited_fields))];
      const char *name = tandem_field_name (field);
      g_autofree char *str = NULL;

      if (json_object_has_member (changes, name))
        continue;
      switch (field)
        {
        case TANDEM_FIELD_TITLE:
          str = writer_title (w);
          json_object_set_string_member (changes, name, str);
          break;
        case TANDEM_FIELD_NOTES:
          str = writer_notes (w, task->notes);
          json_object_set_string_member (changes, name, str);
          break;
        case TANDEM_FIELD_DONE:
          json_object_set_boolean_member (changes, name, !task->done);
          break;
        case TANDEM_FIELD_DUE:
          str = writer_due (w, task->due);
          if (str != NULL)
            json_object_set_string_member (changes, name, str);
          else
            json_object_set_null_member (changes, name);
          break;
        case TANDEM_FIELD_PRIORITY:
          json_object_set_int_member (changes, name,
                                      (task->priority + g_rand_int_range (w->rand, 1, 4)) % 4);
          break;
        case TANDEM_FIELD_LIST_ID:
          str = g_strdup (writer_list_id (w, task->list_id));
          if (str != NULL)
            json_object_set_string_member (changes, name, str);
          else
            json_object_set_null_member (changes, name);
          break;
        default:
          g_assert_not_reached ();
        }
    }
  text = object_text (changes);

  say ("begin update %s %s", task->id, text);
  if (!tandem_store_update_task (w->store, task->id, changes, error))
    return FALSE;
  say ("done");
  return writer_reload (w, index, error);
}

static gboolean
writer_change_tags (Writer  *w,
                    int      index,
                    GError **error)
{
  TandemTask *task = g_ptr_array_index (w->tasks, index);
  g_autoptr(GPtrArray) add = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) remove = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonObject) described = json_object_new ();
  g_autoptr(JsonArray) add_json = json_array_new ();
  g_autoptr(JsonArray) remove_json = json_array_new ();
  g_autofree char *text = NULL;

  if (task->tags->len > 0 && (g_rand_boolean (w->rand) || task->tags->len > TANDEM_TAGS_MAX - 4))
    {
      const char *tag = g_ptr_array_index (task->tags,
                                           g_rand_int_range (w->rand, 0, task->tags->len));

      g_ptr_array_add (remove, g_strdup (tag));
    }
  /* A new tag that is not on the task yet, so the change always changes
   * something; a common tag may already be there, a unique one is not. */
  if (remove->len == 0 || g_rand_boolean (w->rand))
    {
      g_autofree char *tag = writer_tag (w);

      if (tandem_task_has_tag (task, tag))
        {
          g_free (tag);
          tag = g_strdup_printf ("r%u-w%u", w->round, w->serial);
        }
      g_ptr_array_add (add, g_steal_pointer (&tag));
    }

  for (guint i = 0; i < add->len; i++)
    json_array_add_string_element (add_json, g_ptr_array_index (add, i));
  for (guint i = 0; i < remove->len; i++)
    json_array_add_string_element (remove_json, g_ptr_array_index (remove, i));
  json_object_set_array_member (described, "add", json_array_ref (add_json));
  json_object_set_array_member (described, "remove", json_array_ref (remove_json));
  text = object_text (described);
  g_ptr_array_add (add, NULL);
  g_ptr_array_add (remove, NULL);

  say ("begin tags %s %s", task->id, text);
  if (!tandem_store_change_tags (w->store, task->id, (const char *const *) add->pdata,
                                 (const char *const *) remove->pdata, error))
    return FALSE;
  say ("done");
  return writer_reload (w, index, error);
}

static gboolean
writer_add_comment (Writer  *w,
                    int      index,
                    GError **error)
{
  TandemTask *task = g_ptr_array_index (w->tasks, index);
  g_autofree char *body = g_strdup_printf ("r%u w%u: looked at it\nwill finish tomorrow",
                                           w->round, w->serial);
  g_autoptr(JsonNode) body_json = json_node_init_string (json_node_alloc (), body);
  g_autofree char *text = node_text (body_json);
  g_autofree char *comment_id = NULL;

  say ("begin comment %s %s", task->id, text);
  if (!(comment_id = tandem_store_add_comment (w->store, task->id, body, error)))
    return FALSE;
  say ("done %s", comment_id);
  return TRUE;
}

static gboolean
writer_set_deleted (Writer   *w,
                    int       index,
                    gboolean  deleted,
                    GError  **error)
{
  TandemTask *task = g_ptr_array_index (w->tasks, index);

  say ("begin %s %s", deleted ? "delete" : "restore", task->id);
  if (deleted ? !tandem_store_delete_task (w->store, task->id, error)
              : !tandem_store_restore_task (w->store, task->id, error))
    return FALSE;
  say ("done");
  return writer_reload (w, index, error);
}

static gboolean
writer_write_one (Writer  *w,
                  GError **error)
{
  int roll = g_rand_int_range (w->rand, 0, 100);
  int live = writer_pick (w, FALSE);
  int deleted = writer_pick (w, TRUE);

  w->serial++;
  if (roll < 15 || live < 0 || w->tasks->len < 5)
    return writer_create (w, error);
  if (roll < 55)
    return writer_update (w, live, error);
  if (roll < 70)
    return writer_change_tags (w, live, error);
  if (roll < 82)
    return writer_add_comment (w, live, error);
  if (roll < 91 || deleted < 0)
    return writer_set_deleted (w, live, TRUE, error);
  return writer_set_deleted (w, deleted, FALSE, error);
}

static int
run_writer (const char *path,
            guint32     seed,
            guint       round)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) lists = NULL;
  Writer w = { 0 };
  gint64 start = g_get_monotonic_time ();

  w.round = round;
  w.rand = g_rand_new_with_seed (seed);
  if (!(w.store = tandem_store_open (path, &error)) ||
      !(w.tasks = tandem_store_list_tasks (w.store, TANDEM_TASK_QUERY_ALL, &error)) ||
      !(lists = tandem_store_list_lists (w.store, &error)))
    {
      say ("error %s", error->message);
      return 1;
    }
  w.list_ids = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (w.list_ids, NULL);
  for (guint i = 0; i < lists->len; i++)
    g_ptr_array_add (w.list_ids, g_strdup (((TandemList *) g_ptr_array_index (lists, i))->id));

  say ("ready %u", w.tasks->len);

  /* The parent kills us long before this; the limit only keeps a writer
   * whose parent is gone from running forever. */
  while (g_get_monotonic_time () - start < WRITER_TIME_LIMIT_US)
    {
      if (!writer_write_one (&w, &error))
        {
          say ("error %s", error->message);
          return 1;
        }
    }
  say ("finished");

  g_ptr_array_unref (w.list_ids);
  g_ptr_array_unref (w.tasks);
  g_object_unref (w.store);
  g_rand_free (w.rand);
  return 0;
}

/* The checker (parent process) */

/* A write the writer announced. */
typedef struct
{
  WriteKind  kind;
  char      *task_id;  /* NULL for a create */
  JsonNode  *arg;      /* create: the draft; update: the changes; tags: {add, remove};
                        * comment: the body */
} Write;

static void
write_free (Write *write)
{
  g_free (write->task_id);
  g_clear_pointer (&write->arg, json_node_unref);
  g_free (write);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Write, write_free)

static Write *
write_parse (const char  *text,
             GError     **error)
{
  g_autoptr(Write) write = g_new0 (Write, 1);
  g_auto(GStrv) parts = g_strsplit (text, " ", 3);
  guint n_parts = g_strv_length (parts);
  const char *json = NULL;
  guint kind;

  for (kind = 0; kind < N_WRITE_KINDS; kind++)
    if (n_parts > 0 && g_str_equal (parts[0], write_kind_names[kind]))
      break;
  if (kind == N_WRITE_KINDS || n_parts < 2)
    goto bad;
  write->kind = kind;

  if (kind == WRITE_CREATE)
    json = text + strlen (parts[0]) + 1;
  else
    {
      write->task_id = g_strdup (parts[1]);
      json = parts[2];
    }
  if ((kind == WRITE_DELETE || kind == WRITE_RESTORE) != (json == NULL))
    goto bad;
  if (json != NULL && !(write->arg = json_from_string (json, error)))
    return NULL;
  if (kind == WRITE_COMMENT && !JSON_NODE_HOLDS_VALUE (write->arg))
    goto bad;
  if ((kind == WRITE_CREATE || kind == WRITE_UPDATE || kind == WRITE_TAGS) &&
      !JSON_NODE_HOLDS_OBJECT (write->arg))
    goto bad;
  return g_steal_pointer (&write);

bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the writer announced “%.200s”", text);
  return NULL;
}

/* @task with @write applied, as the store should have left it. A comment
 * with a NULL id stands for the one comment not known by id yet. */
static void
write_apply (const Write *write,
             TandemTask  *task,
             const char  *comment_id)
{
  g_autoptr(GError) error = NULL;
  JsonObject *object = write->arg != NULL && JSON_NODE_HOLDS_OBJECT (write->arg)
                         ? json_node_get_object (write->arg)
                         : NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  switch (write->kind)
    {
    case WRITE_UPDATE:
      json_object_iter_init (&iter, object);
      while (json_object_iter_next (&iter, &name, &value))
        {
          TandemField field;

          g_assert_true (tandem_field_from_name (name, &field));
          tandem_task_set_field (task, field, value, &error);
          g_assert_no_error (error);
        }
      break;
    case WRITE_TAGS:
      {
        JsonArray *add = json_object_get_array_member (object, "add");
        JsonArray *remove = json_object_get_array_member (object, "remove");

        for (guint i = 0; i < json_array_get_length (add); i++)
          tandem_task_add_tag (task, json_array_get_string_element (add, i));
        for (guint i = 0; i < json_array_get_length (remove); i++)
          tandem_task_remove_tag (task, json_array_get_string_element (remove, i));
      }
      break;
    case WRITE_COMMENT:
      g_ptr_array_add (task->comments,
                       tandem_comment_new (comment_id, json_node_get_string (write->arg),
                                           NULL, NULL));
      break;
    case WRITE_DELETE:
      task->deleted = TRUE;
      break;
    case WRITE_RESTORE:
      task->deleted = FALSE;
      break;
    case WRITE_CREATE:
    case N_WRITE_KINDS:
    default:
      g_assert_not_reached ();
    }
}

static TandemTask *
write_created_task (const Write *write,
                    const char  *id,
                    const char  *position)
{
  g_autoptr(GError) error = NULL;
  TandemTask *task = tandem_task_new ();

  g_assert_cmpint (write->kind, ==, WRITE_CREATE);
  tandem_task_apply_patch (task, json_node_get_object (write->arg), &error);
  g_assert_no_error (error);
  task->id = g_strdup (id);
  g_free (task->position);
  task->position = g_strdup (position);
  return task;
}

static char *
describe (JsonNode *value)
{
  g_autofree char *text = node_text (value);

  if (strlen (text) <= 80)
    return g_steal_pointer (&text);
  return g_strdup_printf ("%.60s… (%zu bytes)", text, strlen (text));
}

static const TandemComment *
find_comment (const TandemTask *task,
              const char       *id)
{
  for (guint i = 0; i < task->comments->len; i++)
    {
      const TandemComment *comment = g_ptr_array_index (task->comments, i);

      if (g_strcmp0 (comment->id, id) == 0)
        return comment;
    }
  return NULL;
}

/* Whether @actual holds what @expected says; the differences go to @why. */
static gboolean
task_matches (const TandemTask *expected,
              const TandemTask *actual,
              GString          *why)
{
  gboolean matches = TRUE;

  for (guint i = 0; i < G_N_ELEMENTS (compared_fields); i++)
    {
      TandemField field = compared_fields[i];
      g_autoptr(JsonNode) want = NULL;
      g_autoptr(JsonNode) have = NULL;
      g_autofree char *want_text = NULL;
      g_autofree char *have_text = NULL;

      if (tandem_task_field_equal (expected, actual, field))
        continue;
      want = tandem_task_get_field (expected, field);
      have = tandem_task_get_field (actual, field);
      want_text = describe (want);
      have_text = describe (have);
      g_string_append_printf (why, "%s is %s, should be %s; ", tandem_field_name (field),
                              have_text, want_text);
      matches = FALSE;
    }
  if (!expected->deleted != !actual->deleted)
    {
      g_string_append_printf (why, "it is %s, should be %s; ",
                              actual->deleted ? "in the Trash" : "live",
                              expected->deleted ? "in the Trash" : "live");
      matches = FALSE;
    }

  if (expected->comments->len != actual->comments->len)
    {
      g_string_append_printf (why, "it has %u comments, should have %u; ",
                              actual->comments->len, expected->comments->len);
      return FALSE;
    }
  for (guint i = 0; i < expected->comments->len; i++)
    {
      const TandemComment *want = g_ptr_array_index (expected->comments, i);
      const TandemComment *have = NULL;

      if (want->id != NULL)
        have = find_comment (actual, want->id);
      else
        {
          for (guint j = 0; j < actual->comments->len && have == NULL; j++)
            {
              const TandemComment *candidate = g_ptr_array_index (actual->comments, j);

              if (find_comment (expected, candidate->id) == NULL &&
                  g_strcmp0 (candidate->body, want->body) == 0)
                have = candidate;
            }
        }
      if (have == NULL || g_strcmp0 (have->body, want->body) != 0)
        {
          g_string_append_printf (why, "comment %s “%.40s” is %s; ",
                                  want->id ? want->id : "(new)", want->body,
                                  have ? "changed" : "missing");
          matches = FALSE;
        }
    }
  return matches;
}

typedef struct
{
  char       *dir;
  char       *path;
  char       *self_exe;
  GHashTable *model;        /* task id -> TandemTask *: every confirmed write applied */
  GPtrArray  *list_ids;

  /* For the report */
  guint       n_rounds;
  guint       n_confirmed;
  guint       n_by_kind[N_WRITE_KINDS];
  guint       n_in_flight_committed;
  guint       n_in_flight_not_committed;
  guint       n_killed_starting;
  guint       n_partial_lines;
  guint       n_ops;
} CrashTest;

typedef struct
{
  GPid     pid;
  int      fd;
  GString *buffer;
  gboolean ready;
  gint64   deadline;   /* monotonic µs of the kill; 0 while not chosen */
  Write   *in_flight;
  guint    n_done;
} Round;

static gboolean
handle_line (CrashTest   *t,
             Round       *r,
             const char  *line,
             GError     **error)
{
  if (g_str_has_prefix (line, "ready "))
    {
      r->ready = TRUE;
      if (r->deadline == 0)
        r->deadline = g_get_monotonic_time () + g_test_rand_int_range (2000, 100000);
      return TRUE;
    }

  if (g_str_has_prefix (line, "begin "))
    {
      if (r->in_flight != NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "the writer began a write before the last one was done");
          return FALSE;
        }
      r->in_flight = write_parse (line + strlen ("begin "), error);
      return r->in_flight != NULL;
    }

  if (g_str_equal (line, "done") || g_str_has_prefix (line, "done "))
    {
      g_autoptr(Write) write = g_steal_pointer (&r->in_flight);
      g_auto(GStrv) words = g_strsplit (line, " ", -1);

      if (write == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "“%s” without a write", line);
          return FALSE;
        }
      if (write->kind == WRITE_CREATE)
        {
          g_assert_cmpuint (g_strv_length (words), ==, 3);
          g_assert_false (g_hash_table_contains (t->model, words[1]));
          g_hash_table_insert (t->model, g_strdup (words[1]),
                               write_created_task (write, words[1], words[2]));
        }
      else
        {
          TandemTask *task = g_hash_table_lookup (t->model, write->task_id);

          if (task == NULL)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           "the writer changed %s, a task never confirmed", write->task_id);
              return FALSE;
            }
          write_apply (write, task, words[1]);
        }
      t->n_confirmed++;
      t->n_by_kind[write->kind]++;
      r->n_done++;
      return TRUE;
    }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the writer said “%.300s”", line);
  return FALSE;
}

/* Reads what is in the pipe (blocking until something is) and handles the
 * complete lines. A line cut short by the kill was never followed by its
 * call, so it is dropped at the end of the output. */
static gboolean
read_output (CrashTest  *t,
             Round      *r,
             gboolean   *eof,
             GError    **error)
{
  char chunk[65536];
  ssize_t n = read (r->fd, chunk, sizeof chunk);
  char *newline;

  if (n < 0)
    {
      int saved = errno;

      if (saved == EINTR)
        return TRUE;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Could not read from the writer: %s", g_strerror (saved));
      return FALSE;
    }
  if (n == 0)
    {
      *eof = TRUE;
      if (r->buffer->len > 0)
        t->n_partial_lines++;
      return TRUE;
    }

  g_string_append_len (r->buffer, chunk, n);
  while ((newline = memchr (r->buffer->str, '\n', r->buffer->len)) != NULL)
    {
      g_autofree char *line = g_strndup (r->buffer->str, newline - r->buffer->str);

      g_string_erase (r->buffer, 0, newline - r->buffer->str + 1);
      if (!handle_line (t, r, line, error))
        return FALSE;
    }
  return TRUE;
}

static TandemStore *
open_store (CrashTest  *t,
            GError    **error)
{
  return tandem_store_open (t->path, error);
}

/* The outbox of one task replayed from nothing: what the row must hold,
 * since nothing was ever sent. Also checks that every update and restore
 * keeps, as its base, the values the fields had before it. */
static TandemTask *
replay_outbox (const char *id,
               GPtrArray  *ops,
               GString    *why)
{
  g_autoptr(TandemTask) task = tandem_task_new ();

  task->id = g_strdup (id);
  for (guint i = 0; i < ops->len; i++)
    {
      const TandemOp *op = g_ptr_array_index (ops, i);
      g_autoptr(GError) error = NULL;
      JsonObjectIter iter;
      const char *name;
      JsonNode *value;

      if ((op->kind == TANDEM_OP_CREATE) != (i == 0))
        {
          g_string_append_printf (why, "op %" G_GINT64_FORMAT " is a %s at place %u; ", op->seq,
                                  tandem_op_kind_to_string (op->kind), i);
          return NULL;
        }
      if (op->state != TANDEM_OP_STATE_NEW || op->base_rev != 0)
        {
          g_string_append_printf (why, "op %" G_GINT64_FORMAT " is %s with base_rev %"
                                  G_GINT64_FORMAT " though nothing was sent; ",
                                  op->seq, tandem_op_state_to_string (op->state), op->base_rev);
          return NULL;
        }

      if (op->kind == TANDEM_OP_UPDATE || op->kind == TANDEM_OP_RESTORE)
        {
          json_object_iter_init (&iter, op->base);
          while (json_object_iter_next (&iter, &name, &value))
            {
              TandemField field;
              g_autoptr(JsonNode) before = NULL;

              if (!tandem_field_from_name (name, &field) ||
                  !json_object_has_member (op->patch, name))
                {
                  g_string_append_printf (why, "op %" G_GINT64_FORMAT " has a base for “%s” "
                                          "but does not change it; ", op->seq, name);
                  return NULL;
                }
              before = tandem_task_get_field (task, field);
              if (!json_node_equal (before, value))
                {
                  g_autofree char *want = describe (before);
                  g_autofree char *have = describe (value);

                  g_string_append_printf (why, "op %" G_GINT64_FORMAT " says %s was %s before "
                                          "it, but it was %s; ", op->seq, name, have, want);
                  return NULL;
                }
            }
          if (op->kind == TANDEM_OP_UPDATE &&
              json_object_get_size (op->base) != json_object_get_size (op->patch))
            {
              g_string_append_printf (why, "op %" G_GINT64_FORMAT " lacks a base value; ",
                                      op->seq);
              return NULL;
            }
        }

      switch (op->kind)
        {
        case TANDEM_OP_RESTORE:
          task->deleted = FALSE;
          G_GNUC_FALLTHROUGH;
        case TANDEM_OP_CREATE:
        case TANDEM_OP_UPDATE:
          if (!tandem_task_apply_patch (task, op->patch, &error))
            {
              g_string_append_printf (why, "op %" G_GINT64_FORMAT " has a bad patch: %s; ",
                                      op->seq, error->message);
              return NULL;
            }
          break;
        case TANDEM_OP_DELETE:
          task->deleted = TRUE;
          break;
        case TANDEM_OP_TAG_ADD:
          tandem_task_add_tag (task, json_object_get_string_member (op->patch, "tag"));
          break;
        case TANDEM_OP_TAG_REMOVE:
          tandem_task_remove_tag (task, json_object_get_string_member (op->patch, "tag"));
          break;
        case TANDEM_OP_COMMENT_ADD:
          g_ptr_array_add (task->comments,
                           tandem_comment_new (
                             json_object_get_string_member (op->patch, "comment_id"),
                             json_object_get_string_member (op->patch, "body"), NULL, NULL));
          break;
        default:
          g_assert_not_reached ();
        }
    }
  return g_steal_pointer (&task);
}

static guint
count_ops (GPtrArray    *ops,
           TandemOpKind  kind)
{
  guint n = 0;

  for (guint i = 0; i < ops->len; i++)
    n += ((TandemOp *) g_ptr_array_index (ops, i))->kind == kind;
  return n;
}

/* SQLite's own view of the file, on a second connection. */
static gboolean
check_sqlite (CrashTest  *t,
              GHashTable *tasks,
              GHashTable *ops_by_entity,
              GString    *why)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gboolean ok = TRUE;
  guint n_rows = 0;
  int rc;

  rc = sqlite3_open_v2 (t->path, &db, SQLITE_OPEN_READONLY, NULL);
  if (rc != SQLITE_OK)
    {
      g_string_append_printf (why, "sqlite3 cannot open it: %s; ", sqlite3_errstr (rc));
      sqlite3_close (db);
      return FALSE;
    }

  sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *result = (const char *) sqlite3_column_text (stmt, 0);

      if (g_strcmp0 (result, "ok") != 0)
        {
          g_string_append_printf (why, "integrity_check: %s; ", result);
          ok = FALSE;
        }
      n_rows++;
    }
  if (rc != SQLITE_DONE || n_rows != 1)
    {
      g_string_append_printf (why, "integrity_check failed: %s; ", sqlite3_errmsg (db));
      ok = FALSE;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);

  sqlite3_prepare_v2 (db, "PRAGMA foreign_key_check", -1, &stmt, NULL);
  if ((rc = sqlite3_step (stmt)) != SQLITE_DONE)
    {
      g_string_append_printf (why, "foreign_key_check: a row of %s points nowhere; ",
                              rc == SQLITE_ROW ? (const char *) sqlite3_column_text (stmt, 0)
                                               : sqlite3_errmsg (db));
      ok = FALSE;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);

  sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &stmt, NULL);
  if (sqlite3_step (stmt) != SQLITE_ROW ||
      g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), "wal") != 0)
    {
      g_string_append (why, "the database is not in WAL mode; ");
      ok = FALSE;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);

  /* Every action writes its history line in the same transaction as its
   * op; ops of these kinds are never merged away, so the counts agree. */
  sqlite3_prepare_v2 (db,
                      "SELECT entity_id, sum(note = 'created'), sum(note = 'commented'), "
                      "sum(note = 'deleted'), sum(note = 'restored') "
                      "FROM history GROUP BY entity_id",
                      -1, &stmt, NULL);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *id = (const char *) sqlite3_column_text (stmt, 0);
      TandemTask *task = g_hash_table_lookup (tasks, id);
      GPtrArray *ops = g_hash_table_lookup (ops_by_entity, id);

      if (task == NULL)
        continue;
      g_assert_nonnull (ops);
      if (sqlite3_column_int (stmt, 1) != 1 ||
          (guint) sqlite3_column_int (stmt, 2) != count_ops (ops, TANDEM_OP_COMMENT_ADD) ||
          (guint) sqlite3_column_int (stmt, 3) != count_ops (ops, TANDEM_OP_DELETE) ||
          (guint) sqlite3_column_int (stmt, 4) != count_ops (ops, TANDEM_OP_RESTORE))
        {
          g_string_append_printf (why, "history of %s (created %d, commented %d, deleted %d, "
                                  "restored %d) disagrees with its ops (%u comments, %u deletes, "
                                  "%u restores); ", id, sqlite3_column_int (stmt, 1),
                                  sqlite3_column_int (stmt, 2), sqlite3_column_int (stmt, 3),
                                  sqlite3_column_int (stmt, 4),
                                  count_ops (ops, TANDEM_OP_COMMENT_ADD),
                                  count_ops (ops, TANDEM_OP_DELETE),
                                  count_ops (ops, TANDEM_OP_RESTORE));
          ok = FALSE;
        }
      g_hash_table_remove (tasks, id);
    }
  if (rc != SQLITE_DONE)
    {
      g_string_append_printf (why, "reading history failed: %s; ", sqlite3_errmsg (db));
      ok = FALSE;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);
  sqlite3_close (db);

  /* Those left have no history at all. */
  if (g_hash_table_size (tasks) > 0)
    {
      g_string_append_printf (why, "%u tasks have no history; ", g_hash_table_size (tasks));
      ok = FALSE;
    }
  return ok;
}

/* Everything a kill must not break. On success the model has taken in the
 * write that was in flight if it committed. */
static gboolean
check_database (CrashTest *t,
                Round     *r,
                GString   *why)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GPtrArray) lists = NULL;
  g_autoptr(GHashTable) tasks = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                       (GDestroyNotify) tandem_task_free);
  g_autoptr(GHashTable) unchecked = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) ops_by_entity =
    g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_ptr_array_unref);
  g_autoptr(TandemTask) created = NULL;
  const Write *in_flight = r->in_flight;
  gboolean committed = FALSE;
  g_autofree char *new_comment_id = NULL;
  GHashTableIter iter;
  gpointer key, value;

  /* The database always opens. */
  if (!(store = open_store (t, &error)))
    {
      g_string_append_printf (why, "the database does not open: %s", error->message);
      return FALSE;
    }

  if (!(rows = tandem_store_list_tasks (store, TANDEM_TASK_QUERY_ALL, &error)))
    {
      g_string_append_printf (why, "listing tasks failed: %s", error->message);
      return FALSE;
    }
  for (guint i = 0; i < rows->len; i++)
    {
      const char *id = ((TandemTask *) g_ptr_array_index (rows, i))->id;
      TandemTask *task = tandem_store_get_task (store, id, &error);

      if (task == NULL)
        {
          g_string_append_printf (why, "reading %s failed: %s", id, error->message);
          return FALSE;
        }
      g_hash_table_insert (tasks, task->id, task);
      g_hash_table_add (unchecked, task->id);
    }

  /* Every confirmed write is there. */
  g_hash_table_iter_init (&iter, t->model);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      TandemTask *expected = value;
      TandemTask *actual = g_hash_table_lookup (tasks, key);

      if (actual == NULL)
        {
          g_string_append_printf (why, "task %s “%s”, reported created, is gone; ",
                                  (char *) key, expected->title);
          return FALSE;
        }
      g_hash_table_remove (unchecked, key);

      if (in_flight != NULL && g_strcmp0 (in_flight->task_id, key) == 0)
        {
          g_autoptr(TandemTask) after = tandem_task_copy (expected);
          g_autoptr(GString) not_before = g_string_new (NULL);
          g_autoptr(GString) not_after = g_string_new (NULL);

          write_apply (in_flight, after, NULL);
          if (task_matches (expected, actual, not_before))
            continue;
          if (!task_matches (after, actual, not_after))
            {
              g_string_append_printf (why, "task %s, with a %s in flight, is neither as confirmed "
                                      "(%s) nor with the %s (%s)", (char *) key,
                                      write_kind_names[in_flight->kind], not_before->str,
                                      write_kind_names[in_flight->kind], not_after->str);
              return FALSE;
            }
          committed = TRUE;
          for (guint i = 0; i < actual->comments->len && in_flight->kind == WRITE_COMMENT; i++)
            {
              const TandemComment *comment = g_ptr_array_index (actual->comments, i);

              if (find_comment (expected, comment->id) == NULL)
                new_comment_id = g_strdup (comment->id);
            }
        }
      else if (!task_matches (expected, actual, why))
        {
          g_string_append_printf (why, "in task %s, which the writer %s", (char *) key,
                                  in_flight ? "was not changing" : "had finished with");
          return FALSE;
        }
    }

  /* A task nobody confirmed can only be the create in flight. */
  g_hash_table_iter_init (&iter, unchecked);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      TandemTask *actual = g_hash_table_lookup (tasks, key);
      g_autoptr(GString) mismatch = g_string_new (NULL);

      if (in_flight == NULL || in_flight->kind != WRITE_CREATE || created != NULL)
        {
          g_string_append_printf (why, "task %s “%s” appeared without a create in flight",
                                  (char *) key, actual->title);
          return FALSE;
        }
      created = write_created_task (in_flight, actual->id, actual->position);
      if (!task_matches (created, actual, mismatch) || *actual->position == '\0')
        {
          g_string_append_printf (why, "task %s is not the create in flight: %s", (char *) key,
                                  mismatch->str);
          return FALSE;
        }
      committed = TRUE;
    }

  /* The outbox describes every row: all ops are unsent here, so replaying
   * a task's ops from nothing gives back its row exactly. */
  if (!(ops = tandem_store_outbox_list (store, 0, &error)) ||
      !(lists = tandem_store_list_lists (store, &error)))
    {
      g_string_append_printf (why, "reading the outbox failed: %s", error->message);
      return FALSE;
    }
  for (guint i = 0; i < ops->len; i++)
    {
      TandemOp *op = g_ptr_array_index (ops, i);
      GPtrArray *of_entity = g_hash_table_lookup (ops_by_entity, op->entity_id);

      if (of_entity == NULL)
        {
          of_entity = g_ptr_array_new ();
          g_hash_table_insert (ops_by_entity, op->entity_id, of_entity);
        }
      g_ptr_array_add (of_entity, op);
    }
  t->n_ops = ops->len;

  for (guint i = 0; i < lists->len; i++)
    {
      TandemList *list = g_ptr_array_index (lists, i);
      GPtrArray *of_list = g_hash_table_lookup (ops_by_entity, list->id);

      if (of_list == NULL || count_ops (of_list, TANDEM_OP_CREATE) != 1)
        {
          g_string_append_printf (why, "list “%s” lost its create op", list->name);
          return FALSE;
        }
      g_hash_table_remove (ops_by_entity, list->id);
    }

  g_hash_table_iter_init (&iter, tasks);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      TandemTask *actual = value;
      GPtrArray *of_task = g_hash_table_lookup (ops_by_entity, key);
      g_autoptr(TandemTask) replayed = NULL;
      g_autoptr(GString) mismatch = g_string_new (NULL);

      if (of_task == NULL)
        {
          g_string_append_printf (why, "task %s “%s” has no op in the outbox", (char *) key,
                                  actual->title);
          return FALSE;
        }
      if (actual->sync_status != TANDEM_SYNC_PENDING)
        {
          g_string_append_printf (why, "task %s with %u unsent ops is %s, not pending",
                                  (char *) key, of_task->len,
                                  tandem_sync_status_to_string (actual->sync_status));
          return FALSE;
        }
      if (!(replayed = replay_outbox (key, of_task, mismatch)) ||
          !task_matches (replayed, actual, mismatch))
        {
          g_string_append_printf (why, "the outbox of task %s does not give its row: %s",
                                  (char *) key, mismatch->str);
          return FALSE;
        }
    }

  g_hash_table_iter_init (&iter, ops_by_entity);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      if (!g_hash_table_contains (tasks, key))
        {
          g_string_append_printf (why, "the outbox holds ops for %s, which does not exist",
                                  (char *) key);
          return FALSE;
        }
    }

  g_clear_object (&store);
  if (!check_sqlite (t, tasks, ops_by_entity, why))
    return FALSE;

  /* All good: carry the write that made it into the model. */
  if (in_flight != NULL && committed)
    {
      t->n_in_flight_committed++;
      if (created != NULL)
        {
          char *id = g_strdup (created->id);

          g_hash_table_insert (t->model, id, g_steal_pointer (&created));
        }
      else
        write_apply (in_flight, g_hash_table_lookup (t->model, in_flight->task_id),
                     new_comment_id);
    }
  else if (in_flight != NULL)
    t->n_in_flight_not_committed++;
  return TRUE;
}

static gboolean
run_round (CrashTest *t,
           guint      round,
           GString   *why)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *seed = g_strdup_printf ("%u", (guint32) g_test_rand_int ());
  g_autofree char *round_text = g_strdup_printf ("%u", round);
  const char *argv[] = { t->self_exe, "--child", t->path, seed, round_text, NULL };
  Round r = { 0 };
  gboolean eof = FALSE, killed = FALSE, timed_out = FALSE, ok = TRUE;
  gint64 start;
  int status;

  if (!g_spawn_async_with_pipes (NULL, (char **) argv, NULL,
                                 G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL, NULL,
                                 NULL, &r.pid, NULL, &r.fd, NULL, &error))
    {
      g_string_append_printf (why, "could not start the writer: %s", error->message);
      return FALSE;
    }
  r.buffer = g_string_new (NULL);
  start = g_get_monotonic_time ();

  /* Now and then the kill lands while the writer is still opening the
   * database (recovering the WAL the last one left). */
  if (g_test_rand_int_range (0, 8) == 0)
    {
      r.deadline = start + g_test_rand_int_range (0, 20000);
      t->n_killed_starting++;
    }

  while (ok && !eof)
    {
      gint64 now = g_get_monotonic_time ();
      gint64 until = r.deadline != 0 ? r.deadline : start + READY_TIME_LIMIT_US;
      struct pollfd pfd = { r.fd, POLLIN, 0 };
      int rc;

      if (now >= until)
        {
          timed_out = r.deadline == 0;
          break;
        }
      rc = poll (&pfd, 1, (until - now + 999) / 1000);
      if (rc < 0 && errno != EINTR)
        {
          g_string_append_printf (why, "poll: %s", g_strerror (errno));
          ok = FALSE;
        }
      else if (rc > 0 && !read_output (t, &r, &eof, &error))
        {
          g_string_append_printf (why, "%s", error->message);
          ok = FALSE;
        }
    }

  if (!eof)
    {
      kill (r.pid, SIGKILL);
      killed = TRUE;
    }
  /* The lines written before the kill are still in the pipe. */
  while (ok && !eof)
    {
      if (!read_output (t, &r, &eof, &error))
        {
          g_string_append_printf (why, "%s", error->message);
          ok = FALSE;
        }
    }
  while (waitpid (r.pid, &status, 0) < 0 && errno == EINTR)
    ;
  g_spawn_close_pid (r.pid);
  close (r.fd);

  if (ok && (!killed || !WIFSIGNALED (status) || WTERMSIG (status) != SIGKILL))
    {
      g_string_append_printf (why, "the writer ended on its own (wait status 0x%x)%s", status,
                              r.ready ? "" : " before it was ready");
      ok = FALSE;
    }
  if (ok && timed_out)
    {
      g_string_append (why, "the writer did not open the database in time");
      ok = FALSE;
    }

  ok = ok && check_database (t, &r, why);

  g_clear_pointer (&r.in_flight, write_free);
  g_string_free (r.buffer, TRUE);
  return ok;
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

static void
test_kill_writer (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(GString) why = g_string_new (NULL);
  CrashTest t = { 0 };
  const char *rounds_env = g_getenv ("TANDEM_CRASH_ROUNDS");
  guint n_rounds = DEFAULT_ROUNDS;
  gint64 start = g_get_monotonic_time ();
  guint round;

  if (rounds_env != NULL)
    n_rounds = MAX (1, atoi (rounds_env));

  t.self_exe = g_file_read_link ("/proc/self/exe", &error);
  g_assert_no_error (error);
  t.dir = g_dir_make_tmp ("tandem-crash-XXXXXX", &error);
  g_assert_no_error (error);
  t.path = g_build_filename (t.dir, "tandem.db", NULL);
  t.model = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                   (GDestroyNotify) tandem_task_free);

  /* Two lists for tasks to move between; the writers never touch lists. */
  store = tandem_store_open (t.path, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(TandemList) list = tandem_store_create_list (store, i ? "Work" : "Home", &error);

      g_assert_no_error (error);
    }
  g_clear_object (&store);

  for (round = 0; round < n_rounds; round++)
    {
      if (!run_round (&t, round, why))
        break;
    }

  if (round < n_rounds)
    {
      /* Kept for a post-mortem. */
      g_test_fail_printf ("round %u: %s (the database is kept in %s)", round, why->str, t.dir);
    }
  else
    {
      g_test_message ("%u kill rounds in %.1f s on one database; %u writes confirmed "
                      "(%u create, %u update, %u tags, %u comment, %u delete, %u restore), "
                      "all found with their ops; %u tasks and %u ops at the end",
                      n_rounds, (g_get_monotonic_time () - start) / 1e6, t.n_confirmed,
                      t.n_by_kind[WRITE_CREATE], t.n_by_kind[WRITE_UPDATE],
                      t.n_by_kind[WRITE_TAGS], t.n_by_kind[WRITE_COMMENT],
                      t.n_by_kind[WRITE_DELETE], t.n_by_kind[WRITE_RESTORE],
                      g_hash_table_size (t.model), t.n_ops);
      g_test_message ("kills: %u while the writer was starting; with a write in flight, %u had "
                      "committed (not yet reported) and %u had not; %u report lines cut short",
                      t.n_killed_starting, t.n_in_flight_committed, t.n_in_flight_not_committed,
                      t.n_partial_lines);
      /* A run that confirmed next to nothing proved next to nothing. */
      g_assert_cmpuint (t.n_confirmed, >=, n_rounds);
      remove_tree (t.dir);
    }

  g_hash_table_unref (t.model);
  g_free (t.path);
  g_free (t.dir);
  g_free (t.self_exe);
}

int
main (int    argc,
      char **argv)
{
  /* The writer: re-executed by the test below, never run by hand. */
  if (argc == 5 && g_str_equal (argv[1], "--child"))
    return run_writer (argv[2], (guint32) g_ascii_strtoull (argv[3], NULL, 10),
                       (guint) g_ascii_strtoull (argv[4], NULL, 10));

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/crash/kill-writer", test_kill_writer);
  return g_test_run ();
}
