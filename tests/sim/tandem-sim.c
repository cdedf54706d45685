/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-sim"

#include "config.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>

#include "tandem-account.h"
#include "tandem-http.h"
#include "tandem-service.h"
#include "tandem-server-storage.h"
#include "tandem-store.h"
#include "tandem-sync-engine.h"
#include "tandem-sync-engine-private.h"

/* A deterministic simulation of several devices syncing through one server
 * (DESIGN §8). Each device is the real TandemStore and TandemSyncEngine on
 * its own database file; the server is the real TandemService on SQLite,
 * reached through tandem_http_dispatch(), the request path the HTTP server
 * uses. Between them sits a scheduler that holds every request: one seeded
 * random generator decides, step by step, whether a device acts, a sync
 * starts, or a held request is answered (in order or not) or hit by a
 * fault. Afterwards the faults stop, every device syncs until nothing
 * moves, and the invariants are checked. Same seed, same run.
 *
 *   tandem-sim --seed S | --seeds A-B | --seed-file FILE
 *              [--devices N] [--actions M | --steps M] [--verbose] [--progress]
 */

#define TRACE_LINES    30
#define SIM_URL        "https://sim.tandem.invalid"
#define QUIESCE_ROUNDS 40

typedef struct _Sim Sim;

typedef struct
{
  Sim              *sim;
  guint             index;
  char             *path;
  TandemStore      *store;
  TandemSyncEngine *engine;
  guint             epoch;        /* grows at each restart */
  gboolean          online;
  gboolean          syncing;
  gint64            not_before;   /* virtual second before which no sync starts (Retry-After) */
  TandemSyncOutcome outcome;      /* of the last sync */
  guint             n_changed;    /* records-changed emissions */
  guint             n_made;       /* counter for unique values */
} Device;

/* A request held by the scheduler. A ghost is a copy that reaches the
 * server but whose answer nobody reads (duplicates, and requests of a
 * device that crashed after sending them). */
typedef struct
{
  Device  *device;
  guint    epoch;
  GTask   *call;     /* NULL for a ghost */
  char    *method;
  char    *path;
  char    *authorization;
  GBytes  *body;
} Call;

/* What the users did, for the checks at the end. */
typedef enum
{
  EDIT_FIELD,      /* value: JSON of the new value; before: JSON of the old one */
  EDIT_TAG_ADD,    /* value: the tag */
  EDIT_TAG_REMOVE,
  EDIT_COMMENT,    /* value: the comment id */
  EDIT_DELETE,
  EDIT_RESTORE,    /* also "restore with my edits" after edit vs delete */
  EDIT_DISCARD,    /* a conflict resolved by dropping this device's version */
} EditKind;

typedef struct
{
  EditKind     kind;
  guint        device;
  guint        step;
  char        *task_id;
  TandemField  field;
  char        *value;
  char        *before;
} Edit;

struct _Sim
{
  guint64              seed;
  guint                n_devices;
  guint                n_actions;      /* user actions per device, or steps (by_steps) */
  gboolean             by_steps;
  guint                n_done;         /* user actions so far, all devices */
  gboolean             verbose;
  GRand               *rand;
  char                *dir;
  char                *server_dir;

  TandemServerStorage *storage;
  TandemService       *service;
  TandemHttp          *http;
  char                *token;
  gint64               user_id;

  Device              *devices;
  GPtrArray           *pending;    /* Call * */
  GPtrArray           *orphans;    /* GObject * of crashed devices, and their GTask calls */
  GPtrArray           *edits;      /* Edit * */
  GHashTable          *checked_conflicts;  /* "task:rev" of conflicts already checked */
  GPtrArray           *list_ids;   /* char * */

  gboolean             faults;
  guint                step;
  gint64               now;        /* virtual seconds */

  char                *trace[TRACE_LINES];
  guint                n_trace;
  char                *failure;    /* the first broken invariant */

  /* counts for the summary */
  guint                n_requests;
  guint                n_faults;
  guint                n_conflicts;
};

/* Trace and failure */

static void G_GNUC_PRINTF (2, 3)
trace (Sim        *sim,
       const char *format,
       ...)
{
  va_list args;
  char *line;
  char *text;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  line = g_strdup_printf ("[%5u] %s", sim->step, text);
  g_free (text);
  if (sim->verbose)
    g_printerr ("%s\n", line);
  g_free (sim->trace[sim->n_trace % TRACE_LINES]);
  sim->trace[sim->n_trace % TRACE_LINES] = line;
  sim->n_trace++;
}

static void G_GNUC_PRINTF (2, 3)
fail (Sim        *sim,
      const char *format,
      ...)
{
  va_list args;
  char *text;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  trace (sim, "FAIL %s", text);
  if (sim->failure == NULL)
    sim->failure = text;
  else
    g_free (text);
}

static guint
pick (Sim  *sim,
      guint n)
{
  g_assert (n > 0);
  return (guint) g_rand_int_range (sim->rand, 0, (gint32) n);
}

static gboolean
chance (Sim    *sim,
        double  p)
{
  return g_rand_double (sim->rand) < p;
}

static void
pump (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static char *
node_text (JsonNode *node)
{
  return node != NULL ? tandem_json_to_string (node, FALSE) : g_strdup ("null");
}

static void
edit_free (Edit *edit)
{
  g_free (edit->task_id);
  g_free (edit->value);
  g_free (edit->before);
  g_free (edit);
}

static Edit *
record_edit (Sim        *sim,
             EditKind    kind,
             Device     *device,
             const char *task_id,
             TandemField field,
             char       *value,     /* taken */
             char       *before)    /* taken */
{
  Edit *edit = g_new0 (Edit, 1);

  edit->kind = kind;
  edit->device = device->index;
  edit->step = sim->step;
  edit->task_id = g_strdup (task_id);
  edit->field = field;
  edit->value = value;
  edit->before = before;
  g_ptr_array_add (sim->edits, edit);
  return edit;
}

/* The server */

static void
server_open (Sim *sim)
{
  g_autoptr(GError) error = NULL;

  sim->storage = tandem_sqlite_storage_open (sim->server_dir, &error);
  g_assert_no_error (error);
  sim->service = tandem_service_new (sim->storage, 30);
  sim->http = tandem_http_new (sim->service, TANDEM_HTTP_DEFAULT_MAX_BODY, 0);
}

static void
server_close (Sim *sim)
{
  g_clear_object (&sim->http);
  g_clear_object (&sim->service);
  g_clear_object (&sim->storage);
}

/* Sends one request through the server's dispatch. */
static guint
server_dispatch (Sim         *sim,
                 const Call  *call,
                 char       **retry_after,
                 GBytes     **body)
{
  g_autoptr(SoupMessageHeaders) request_headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  g_autoptr(SoupMessageHeaders) response_headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  g_autoptr(GHashTable) query = NULL;
  g_autofree char *path = g_strdup (call->path);
  char *mark = strchr (path, '?');
  guint status;

  if (mark != NULL)
    {
      *mark = '\0';
      query = g_uri_parse_params (mark + 1, -1, "&", G_URI_PARAMS_NONE, NULL);
    }
  if (call->authorization != NULL)
    soup_message_headers_replace (request_headers, "Authorization", call->authorization);
  if (call->body != NULL)
    soup_message_headers_replace (request_headers, "Content-Type", "application/json");
  sim->n_requests++;
  status = tandem_http_dispatch (sim->http, call->method, path, query, request_headers, call->body,
                                 response_headers, body);
  if (retry_after != NULL)
    *retry_after = g_strdup (soup_message_headers_get_one (response_headers, "Retry-After"));
  return status;
}

/* Requests */

static void
call_free (Call *call)
{
  g_clear_object (&call->call);
  g_free (call->method);
  g_free (call->path);
  g_free (call->authorization);
  g_clear_pointer (&call->body, g_bytes_unref);
  g_free (call);
}

static Call *
call_ghost (const Call *call)
{
  Call *ghost = g_new0 (Call, 1);

  ghost->device = call->device;
  ghost->epoch = call->epoch;
  ghost->method = g_strdup (call->method);
  ghost->path = g_strdup (call->path);
  ghost->authorization = g_strdup (call->authorization);
  ghost->body = call->body != NULL ? g_bytes_ref (call->body) : NULL;
  return ghost;
}

static void
transport (TandemSyncEngine        *engine,
           const TandemSyncRequest *request,
           GTask                   *task,
           gpointer                 user_data)
{
  Device *device = user_data;
  Call *call = g_new0 (Call, 1);

  call->device = device;
  call->epoch = device->epoch;
  call->call = g_object_ref (task);
  call->method = g_strdup (request->method);
  call->path = g_strdup (request->path);
  call->authorization = g_strdup (request->authorization);
  call->body = request->body != NULL ? g_bytes_ref (request->body) : NULL;
  g_ptr_array_add (device->sim->pending, call);
}

static void
call_return (Call       *call,
             guint       status,
             const char *retry_after,
             GBytes     *body)
{
  g_task_return_pointer (call->call, tandem_sync_response_new (status, retry_after, body),
                         (GDestroyNotify) tandem_sync_response_free);
}

static void
call_return_error (Call       *call,
                   GIOErrorEnum code,
                   const char *message)
{
  g_task_return_new_error (call->call, G_IO_ERROR, code, "%s", message);
}

static GBytes *
problem_body (guint status)
{
  char *text = g_strdup_printf ("{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%u}",
                                soup_status_get_phrase (status), status);

  return g_bytes_new_take (text, strlen (text));
}

typedef enum
{
  FATE_DELIVER,
  FATE_DROP_REQUEST,
  FATE_DROP_RESPONSE,
  FATE_DUPLICATE,
  FATE_500,
  FATE_503,
  FATE_429,
} Fate;

static const char *fate_names[] = {
  "deliver", "drop-request", "drop-response", "duplicate", "500", "503", "429",
};

/* Answers (or not) the request at @i of the pending queue. */
static void
deliver (Sim  *sim,
         guint i,
         Fate  fate)
{
  Call *call = g_ptr_array_steal_index (sim->pending, i);
  Device *device = call->device;
  g_autofree char *retry_after = NULL;
  g_autoptr(GBytes) body = NULL;
  guint status;

  if (call->call == NULL)
    {
      /* A ghost: the server gets it, nobody reads the answer. */
      status = server_dispatch (sim, call, NULL, &body);
      trace (sim, "ghost %s %s from d%u reaches the server: %u", call->method, call->path,
             device->index, status);
      call_free (call);
      return;
    }

  if (!device->online)
    {
      trace (sim, "d%u offline: %s %s fails", device->index, call->method, call->path);
      call_return_error (call, G_IO_ERROR_NETWORK_UNREACHABLE, "Network unreachable");
      call_free (call);
      pump ();
      return;
    }

  if (fate != FATE_DELIVER)
    sim->n_faults++;

  switch (fate)
    {
    case FATE_DELIVER:
    case FATE_DUPLICATE:
    case FATE_DROP_RESPONSE:
      status = server_dispatch (sim, call, &retry_after, &body);
      trace (sim, "%s %s %s from d%u: %u", fate_names[fate], call->method, call->path,
             device->index, status);
      if (sim->verbose && g_getenv ("TANDEM_SIM_BODIES") != NULL)
        trace (sim, "  request %.*s\n  answer %.*s",
               call->body ? (int) g_bytes_get_size (call->body) : 0,
               call->body ? (const char *) g_bytes_get_data (call->body, NULL) : "",
               (int) g_bytes_get_size (body), (const char *) g_bytes_get_data (body, NULL));
      if (fate == FATE_DUPLICATE)
        g_ptr_array_insert (sim->pending, (gint) pick (sim, sim->pending->len + 1),
                            call_ghost (call));
      if (fate == FATE_DROP_RESPONSE)
        call_return_error (call, G_IO_ERROR_CONNECTION_CLOSED, "Connection reset by peer");
      else
        call_return (call, status, retry_after, body);
      break;

    case FATE_DROP_REQUEST:
      trace (sim, "drop request %s %s from d%u", call->method, call->path, device->index);
      call_return_error (call, G_IO_ERROR_CONNECTION_CLOSED, "Connection reset by peer");
      break;

    case FATE_500:
    case FATE_503:
      status = fate == FATE_500 ? 500 : 503;
      body = problem_body (status);
      if (status == 503 && chance (sim, 0.5))
        retry_after = g_strdup_printf ("%u", 1 + pick (sim, 30));
      trace (sim, "answer %u%s%s to %s %s from d%u", status, retry_after ? " retry-after " : "",
             retry_after ? retry_after : "", call->method, call->path, device->index);
      call_return (call, status, retry_after, body);
      break;

    case FATE_429:
    default:
      body = problem_body (429);
      retry_after = g_strdup_printf ("%u", 1 + pick (sim, 120));
      trace (sim, "answer 429 retry-after %s to %s %s from d%u", retry_after, call->method,
             call->path, device->index);
      call_return (call, 429, retry_after, body);
      break;
    }

  /* The engine asked to wait: the next sync of this device comes after. */
  if (retry_after != NULL)
    device->not_before = MAX (device->not_before, sim->now + g_ascii_strtoll (retry_after, NULL, 10));
  call_free (call);
  pump ();
}

/* Devices */

static void check_new_conflicts (Device *device);

static void
records_changed_cb (TandemSyncEngine *engine,
                    Device           *device)
{
  device->n_changed++;
}

static void
conflicts_changed_cb (TandemSyncEngine *engine,
                      Device           *device)
{
  check_new_conflicts (device);
}

static void
device_open (Sim    *sim,
             Device *device)
{
  g_autoptr(GError) error = NULL;

  device->store = tandem_store_open (device->path, &error);
  g_assert_no_error (error);
  device->engine = tandem_sync_engine_new (device->store);
  tandem_sync_engine_set_transport (device->engine, transport, device);
  g_signal_connect (device->engine, "records-changed", G_CALLBACK (records_changed_cb), device);
  g_signal_connect (device->engine, "conflicts-changed", G_CALLBACK (conflicts_changed_cb), device);
  device->syncing = FALSE;
}

/* Kills the device wherever it is: its engine and store are left as they
 * are (never run again), its requests in flight may or may not reach the
 * server, and the database is opened again. */
static void
device_restart (Sim    *sim,
                Device *device)
{
  trace (sim, "restart d%u%s", device->index, device->syncing ? " in the middle of a sync" : "");
  for (guint i = 0; i < sim->pending->len;)
    {
      Call *call = g_ptr_array_index (sim->pending, i);

      if (call->device != device || call->call == NULL)
        {
          i++;
          continue;
        }
      g_ptr_array_add (sim->orphans, g_steal_pointer (&call->call));
      if (chance (sim, 0.5))
        {
          /* It was on the wire already. */
          i++;
          continue;
        }
      call_free (g_ptr_array_steal_index (sim->pending, i));
    }
  g_signal_handlers_disconnect_by_data (device->engine, device);
  g_ptr_array_add (sim->orphans, g_steal_pointer (&device->engine));
  g_ptr_array_add (sim->orphans, g_steal_pointer (&device->store));
  device->epoch++;
  device_open (sim, device);
}

typedef struct
{
  Device *device;
  guint   epoch;
} SyncContext;

static void
sync_done (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  SyncContext *context = data;
  Device *device = context->device;
  g_autoptr(GError) error = NULL;
  TandemSyncOutcome outcome = tandem_sync_engine_sync_finish (TANDEM_SYNC_ENGINE (source), result,
                                                              &error);

  if (context->epoch == device->epoch && device->sim != NULL)
    {
      device->syncing = FALSE;
      device->outcome = outcome;
      if (error != NULL)
        fail (device->sim, "d%u: sync failed: %s", device->index, error->message);
      else
        trace (device->sim, "d%u sync ends: %d", device->index, outcome);
    }
  g_free (context);
}

static void
device_sync (Sim    *sim,
             Device *device)
{
  SyncContext *context = g_new0 (SyncContext, 1);

  context->device = device;
  context->epoch = device->epoch;
  device->syncing = TRUE;
  trace (sim, "d%u sync starts", device->index);
  tandem_sync_engine_sync_async (device->engine, NULL, sync_done, context);
  pump ();
}

static void
device_sign_in (Sim    *sim,
                Device *device)
{
  g_autoptr(GError) error = NULL;

  if (!tandem_account_save (device->store, SIM_URL, sim->token, NULL, &error))
    fail (sim, "d%u: could not save the account: %s", device->index, error->message);
}

/* Conflicts: asked only for the same human or text field, and resolved
 * with random choices as a user would in the merge dialog. */

static void
check_new_conflicts (Device *device)
{
  Sim *sim = device->sim;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) conflicts = tandem_store_list_conflicts (device->store, &error);

  if (conflicts == NULL)
    {
      fail (sim, "d%u: could not list conflicts: %s", device->index, error->message);
      return;
    }
  for (guint i = 0; i < conflicts->len; i++)
    {
      const TandemConflict *conflict = g_ptr_array_index (conflicts, i);
      g_autofree char *key = g_strdup_printf ("%u:%s:%" G_GINT64_FORMAT, device->index,
                                              conflict->task_id, conflict->remote_rev);

      if (g_hash_table_contains (sim->checked_conflicts, key))
        continue;
      g_hash_table_add (sim->checked_conflicts, g_steal_pointer (&key));
      sim->n_conflicts++;
      {
        g_autoptr(GString) fields = g_string_new (NULL);

        for (guint j = 0; conflict->merge != NULL && j < conflict->merge->conflicts->len; j++)
          {
            const TandemFieldConflict *c = g_ptr_array_index (conflict->merge->conflicts, j);
            g_autofree char *local = node_text (c->local);
            g_autofree char *remote = node_text (c->remote);

            g_string_append_printf (fields, "%s %s: %s | %s", j > 0 ? ";" : "",
                                    tandem_field_name (c->field), local, remote);
          }
        trace (sim, "d%u asks about %.8s at revision %" G_GINT64_FORMAT " (%s, %u fields%s)",
               device->index, conflict->task_id, conflict->remote_rev,
               tandem_conflict_kind_to_string (conflict->kind),
               conflict->merge != NULL ? conflict->merge->conflicts->len : 0, fields->str);
      }
      if (conflict->kind != TANDEM_CONFLICT_EDIT)
        continue;
      if (conflict->merge == NULL || conflict->merge->conflicts->len == 0)
        fail (sim, "d%u: an edit conflict on %s with no colliding field", device->index,
              conflict->task_id);
      for (guint j = 0; conflict->merge != NULL && j < conflict->merge->conflicts->len; j++)
        {
          const TandemFieldConflict *c = g_ptr_array_index (conflict->merge->conflicts, j);
          TandemPolicy policy = tandem_field_policy (c->field);

          /* The tombstone asks too: edit vs delete. */
          if (policy != TANDEM_POLICY_HUMAN && policy != TANDEM_POLICY_TEXT &&
              policy != TANDEM_POLICY_TOMBSTONE)
            fail (sim, "d%u: asked about %s of %s, a field that never asks", device->index,
                  tandem_field_name (c->field), conflict->task_id);
          else if (json_node_equal (c->local, c->remote))
            fail (sim, "d%u: asked about %s of %s although both sides hold the same value",
                  device->index, tandem_field_name (c->field), conflict->task_id);
          else if (c->base != NULL && policy != TANDEM_POLICY_TOMBSTONE &&
                   (json_node_equal (c->base, c->local) || json_node_equal (c->base, c->remote)))
            fail (sim, "d%u: asked about %s of %s although only one side changed it",
                  device->index, tandem_field_name (c->field), conflict->task_id);
        }
    }
}

static void
resolve_one (Sim    *sim,
             Device *device)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) conflicts = tandem_store_list_conflicts (device->store, &error);
  g_autoptr(GHashTable) values = NULL;
  const TandemConflict *conflict;
  TandemResolution resolution;
  gboolean keep_local;

  if (conflicts == NULL || conflicts->len == 0)
    return;
  conflict = g_ptr_array_index (conflicts, pick (sim, conflicts->len));

  if (conflict->kind == TANDEM_CONFLICT_EDIT)
    {
      resolution = TANDEM_RESOLUTION_FIELDS;
      values = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                      (GDestroyNotify) json_node_unref);
      for (guint i = 0; i < conflict->merge->conflicts->len; i++)
        {
          const TandemFieldConflict *c = g_ptr_array_index (conflict->merge->conflicts, i);
          g_autofree char *remote = node_text (c->remote);
          JsonNode *value;
          /* A merged text only where the dialog offers one. */
          guint choice = pick (sim, tandem_field_policy (c->field) == TANDEM_POLICY_TOMBSTONE ? 2 : 3);

          if (choice == 0)
            value = json_node_copy (c->local);
          else if (choice == 1)
            value = json_node_copy (c->remote);
          else
            {
              g_autofree char *text = g_strdup_printf ("merged d%u.%u", device->index,
                                                       device->n_made++);

              value = json_node_init_string (json_node_alloc (), text);
            }
          g_hash_table_insert (values, (gpointer) tandem_field_name (c->field), value);
          /* The value chosen is a new edit made against the remote version. */
          record_edit (sim, EDIT_FIELD, device, conflict->task_id, c->field, node_text (value),
                       g_steal_pointer (&remote));
          trace (sim, "d%u resolves %s of %.8s: %s", device->index, tandem_field_name (c->field),
                 conflict->task_id, choice == 0 ? "local" : choice == 1 ? "remote" : "merged");
        }
    }
  else
    {
      keep_local = chance (sim, 0.5);
      resolution = keep_local ? TANDEM_RESOLUTION_LOCAL : TANDEM_RESOLUTION_REMOTE;
      if (conflict->kind == TANDEM_CONFLICT_EDIT_VS_DELETE)
        record_edit (sim, keep_local ? EDIT_RESTORE : EDIT_DISCARD, device, conflict->task_id,
                     TANDEM_FIELD_DELETED, NULL, NULL);
      else if (keep_local)
        /* delete anyway */
        record_edit (sim, EDIT_DELETE, device, conflict->task_id, TANDEM_FIELD_DELETED, NULL, NULL);
      /* "Restore with my edits" answers the colliding fields shown with
       * the deleted version too (DESIGN §5: local is this device's
       * version): each value kept is a new edit made against the value it
       * was shown next to, as when a field of an edit conflict is answered
       * "local". */
      for (guint i = 0; conflict->kind == TANDEM_CONFLICT_EDIT_VS_DELETE && keep_local &&
                        conflict->merge != NULL && i < conflict->merge->conflicts->len; i++)
        {
          const TandemFieldConflict *c = g_ptr_array_index (conflict->merge->conflicts, i);

          if (tandem_field_policy (c->field) == TANDEM_POLICY_TOMBSTONE)
            continue;
          record_edit (sim, EDIT_FIELD, device, conflict->task_id, c->field, node_text (c->local),
                       node_text (c->remote));
        }
      trace (sim, "d%u resolves %.8s (%s): %s", device->index, conflict->task_id,
             tandem_conflict_kind_to_string (conflict->kind), keep_local ? "local" : "remote");
    }

  if (!tandem_store_resolve_conflict (device->store, conflict->task_id, resolution, values, &error))
    fail (sim, "d%u: could not resolve %s: %s", device->index, conflict->task_id, error->message);
}

/* User actions */

static TandemTask *
pick_task (Sim             *sim,
           Device          *device,
           TandemTaskQuery  query)
{
  g_autoptr(GPtrArray) tasks = tandem_store_list_tasks (device->store, query, NULL);

  if (tasks == NULL || tasks->len == 0)
    return NULL;
  return tandem_task_copy (g_ptr_array_index (tasks, pick (sim, tasks->len)));
}

static const char *
pick_list (Sim *sim)
{
  guint i = pick (sim, sim->list_ids->len + 1);

  return i == 0 ? NULL : g_ptr_array_index (sim->list_ids, i - 1);
}

static char *
random_due (Sim *sim)
{
  if (chance (sim, 0.2))
    return NULL;
  return g_strdup_printf ("2027-%02u-%02u", 1 + pick (sim, 12), 1 + pick (sim, 28));
}

/* New notes: a line added, or a line replaced, with a unique text. */
static char *
edit_notes (Sim        *sim,
            Device     *device,
            const char *notes,
            char      **token)
{
  g_auto(GStrv) lines = g_strsplit (notes, "\n", -1);
  guint n = g_strv_length (lines);
  GString *out = g_string_new (NULL);
  guint replace = n > 1 && chance (sim, 0.4) ? pick (sim, n) : G_MAXUINT;

  *token = g_strdup_printf ("line d%u.%u", device->index, device->n_made++);
  for (guint i = 0; i < n; i++)
    {
      if (*lines[i] == '\0' && i == n - 1)
        break;
      g_string_append (out, i == replace ? *token : lines[i]);
      g_string_append_c (out, '\n');
    }
  if (replace == G_MAXUINT)
    {
      g_string_append (out, *token);
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

static void
action_create (Sim    *sim,
               Device *device)
{
  g_autoptr(TandemTask) draft = tandem_task_new ();
  g_autoptr(TandemTask) task = NULL;
  g_autoptr(GError) error = NULL;

  g_free (draft->title);
  draft->title = g_strdup_printf ("title d%u.%u", device->index, device->n_made++);
  g_free (draft->notes);
  draft->notes = g_strdup_printf ("line d%u.%u\n", device->index, device->n_made++);
  draft->done = chance (sim, 0.2);
  draft->due = random_due (sim);
  draft->priority = (int) pick (sim, 4);
  draft->list_id = g_strdup (pick_list (sim));
  if (chance (sim, 0.5))
    {
      g_autofree char *tag = g_strdup_printf ("tag%u.%u", device->index, device->n_made++);

      tandem_task_add_tag (draft, tag);
    }
  task = tandem_store_create_task (device->store, draft, &error);
  if (task == NULL)
    {
      fail (sim, "d%u: could not create a task: %s", device->index, error->message);
      return;
    }
  trace (sim, "d%u creates %.8s", device->index, task->id);
  for (TandemField f = TANDEM_FIELD_TITLE; f <= TANDEM_FIELD_POSITION; f++)
    {
      g_autoptr(JsonNode) value = tandem_task_get_field (task, f);

      record_edit (sim, EDIT_FIELD, device, task->id, f, node_text (value), g_strdup ("null"));
    }
  for (guint i = 0; i < task->tags->len; i++)
    record_edit (sim, EDIT_TAG_ADD, device, task->id, TANDEM_FIELD_TAGS,
                 g_strdup (g_ptr_array_index (task->tags, i)), NULL);
}

static void
action_edit (Sim        *sim,
             Device     *device,
             TandemTask *task)
{
  static const TandemField fields[] = {
    TANDEM_FIELD_TITLE, TANDEM_FIELD_TITLE, TANDEM_FIELD_NOTES, TANDEM_FIELD_NOTES,
    TANDEM_FIELD_DONE, TANDEM_FIELD_DUE, TANDEM_FIELD_PRIORITY, TANDEM_FIELD_LIST_ID,
  };
  TandemField field = fields[pick (sim, G_N_ELEMENTS (fields))];
  g_autoptr(JsonObject) changes = json_object_new ();
  g_autoptr(JsonNode) before = tandem_task_get_field (task, field);
  g_autoptr(JsonNode) after = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;

  switch (field)
    {
    case TANDEM_FIELD_TITLE:
      token = g_strdup_printf ("title d%u.%u", device->index, device->n_made++);
      json_object_set_string_member (changes, "title", token);
      break;
    case TANDEM_FIELD_NOTES:
      {
        g_autofree char *notes = edit_notes (sim, device, task->notes, &token);

        json_object_set_string_member (changes, "notes", notes);
      }
      break;
    case TANDEM_FIELD_DONE:
      json_object_set_boolean_member (changes, "done", !task->done);
      break;
    case TANDEM_FIELD_DUE:
      {
        g_autofree char *due = random_due (sim);

        if (due != NULL)
          json_object_set_string_member (changes, "due", due);
        else
          json_object_set_null_member (changes, "due");
      }
      break;
    case TANDEM_FIELD_PRIORITY:
      json_object_set_int_member (changes, "priority", pick (sim, 4));
      break;
    case TANDEM_FIELD_LIST_ID:
    default:
      {
        const char *list_id = pick_list (sim);

        if (list_id != NULL)
          json_object_set_string_member (changes, "list_id", list_id);
        else
          json_object_set_null_member (changes, "list_id");
      }
      break;
    }

  if (!tandem_store_update_task (device->store, task->id, changes, &error))
    {
      fail (sim, "d%u: could not edit %s of %s: %s", device->index, tandem_field_name (field),
            task->id, error->message);
      return;
    }
  after = json_node_copy (json_object_get_member (changes, tandem_field_name (field)));
  trace (sim, "d%u edits %s of %.8s", device->index, tandem_field_name (field), task->id);
  if (json_node_equal (before, after))
    return;
  record_edit (sim, EDIT_FIELD, device, task->id, field,
               field == TANDEM_FIELD_NOTES ? g_steal_pointer (&token) : node_text (after),
               node_text (before));
}

static void
action_move (Sim        *sim,
             Device     *device,
             TandemTask *task)
{
  g_autoptr(TandemTask) other = pick_task (sim, device, TANDEM_TASK_QUERY_LIVE);
  g_autoptr(TandemTask) moved = NULL;
  g_autoptr(GError) error = NULL;
  gboolean before = chance (sim, 0.5);

  if (other == NULL || g_str_equal (other->id, task->id))
    return;
  if (!tandem_store_move_task (device->store, task->id, before ? other->id : NULL,
                               before ? NULL : other->id, &error))
    {
      fail (sim, "d%u: could not move %s: %s", device->index, task->id, error->message);
      return;
    }
  trace (sim, "d%u moves %.8s %s %.8s", device->index, task->id, before ? "before" : "after",
         other->id);
  moved = tandem_store_get_task (device->store, task->id, NULL);
  if (moved != NULL && g_strcmp0 (moved->position, task->position) != 0)
    {
      g_autoptr(JsonNode) position = tandem_task_get_field (moved, TANDEM_FIELD_POSITION);
      g_autoptr(JsonNode) old_position = tandem_task_get_field (task, TANDEM_FIELD_POSITION);

      record_edit (sim, EDIT_FIELD, device, task->id, TANDEM_FIELD_POSITION, node_text (position),
                   node_text (old_position));
    }
  if (moved != NULL && g_strcmp0 (moved->list_id, task->list_id) != 0)
    {
      g_autoptr(JsonNode) list_id = tandem_task_get_field (moved, TANDEM_FIELD_LIST_ID);
      g_autoptr(JsonNode) old_list_id = tandem_task_get_field (task, TANDEM_FIELD_LIST_ID);

      record_edit (sim, EDIT_FIELD, device, task->id, TANDEM_FIELD_LIST_ID, node_text (list_id),
                   node_text (old_list_id));
    }
}

static void
action_tag (Sim        *sim,
            Device     *device,
            TandemTask *task)
{
  g_autoptr(GError) error = NULL;

  if (task->tags->len > 0 && chance (sim, 0.4))
    {
      const char *tag = g_ptr_array_index (task->tags, pick (sim, task->tags->len));
      const char *remove[] = { tag, NULL };

      if (!tandem_store_change_tags (device->store, task->id, NULL, remove, &error))
        fail (sim, "d%u: could not remove a tag: %s", device->index, error->message);
      else
        {
          trace (sim, "d%u untags %.8s: %s", device->index, task->id, tag);
          record_edit (sim, EDIT_TAG_REMOVE, device, task->id, TANDEM_FIELD_TAGS, g_strdup (tag),
                       NULL);
        }
    }
  else if (task->tags->len < 8)
    {
      g_autofree char *tag = g_strdup_printf ("tag%u.%u", device->index, device->n_made++);
      const char *add[] = { tag, NULL };

      if (!tandem_store_change_tags (device->store, task->id, add, NULL, &error))
        fail (sim, "d%u: could not add a tag: %s", device->index, error->message);
      else
        {
          trace (sim, "d%u tags %.8s: %s", device->index, task->id, tag);
          record_edit (sim, EDIT_TAG_ADD, device, task->id, TANDEM_FIELD_TAGS,
                       g_steal_pointer (&tag), NULL);
        }
    }
}

static void
action_comment (Sim        *sim,
                Device     *device,
                TandemTask *task)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *body = g_strdup_printf ("comment d%u.%u", device->index, device->n_made++);
  g_autofree char *id = tandem_store_add_comment (device->store, task->id, body, &error);

  if (id == NULL)
    {
      fail (sim, "d%u: could not comment: %s", device->index, error->message);
      return;
    }
  trace (sim, "d%u comments on %.8s", device->index, task->id);
  record_edit (sim, EDIT_COMMENT, device, task->id, TANDEM_FIELD_COMMENTS, g_steal_pointer (&id),
               NULL);
}

static void
user_action (Sim    *sim,
             Device *device)
{
  g_autoptr(TandemTask) task = NULL;
  g_autoptr(GError) error = NULL;
  guint what = pick (sim, 100);

  if (what < 12)
    {
      action_create (sim, device);
      return;
    }
  if (what < 15)
    {
      device->online = !device->online;
      trace (sim, "d%u goes %s", device->index, device->online ? "online" : "offline");
      return;
    }
  if (what < 22)
    {
      resolve_one (sim, device);
      return;
    }
  if (what < 26)
    {
      if ((task = pick_task (sim, device, TANDEM_TASK_QUERY_DELETED)) == NULL)
        return;
      if (!tandem_store_restore_task (device->store, task->id, &error))
        fail (sim, "d%u: could not restore %s: %s", device->index, task->id, error->message);
      else
        {
          trace (sim, "d%u restores %.8s", device->index, task->id);
          record_edit (sim, EDIT_RESTORE, device, task->id, TANDEM_FIELD_DELETED, NULL, NULL);
        }
      return;
    }

  if ((task = pick_task (sim, device, TANDEM_TASK_QUERY_LIVE)) == NULL)
    {
      action_create (sim, device);
      return;
    }
  if (what < 32)
    {
      if (!tandem_store_delete_task (device->store, task->id, &error))
        fail (sim, "d%u: could not delete %s: %s", device->index, task->id, error->message);
      else
        {
          trace (sim, "d%u deletes %.8s", device->index, task->id);
          record_edit (sim, EDIT_DELETE, device, task->id, TANDEM_FIELD_DELETED, NULL, NULL);
        }
    }
  else if (what < 70)
    action_edit (sim, device, task);
  else if (what < 80)
    action_move (sim, device, task);
  else if (what < 90)
    action_tag (sim, device, task);
  else
    action_comment (sim, device, task);
}

/* Faults that are not about one request */

static void
server_restart (Sim *sim)
{
  trace (sim, "restart the server (%u requests in flight fail)", sim->pending->len);
  server_close (sim);
  server_open (sim);
  /* Connections die with the process: every request in flight fails. */
  while (sim->pending->len > 0)
    {
      Call *call = g_ptr_array_steal_index (sim->pending, 0);

      if (call->call != NULL)
        call_return_error (call, G_IO_ERROR_CONNECTION_CLOSED, "Connection reset by peer");
      call_free (call);
      pump ();
    }
}

static void
revoke_token (Sim *sim)
{
  g_autoptr(GError) error = NULL;

  trace (sim, "the token is revoked; devices get 401 until they sign in again");
  if (!tandem_service_revoke_token (sim->service, sim->token, &error))
    {
      fail (sim, "could not revoke the token: %s", error->message);
      return;
    }
  g_free (sim->token);
  sim->token = tandem_service_create_token (sim->service, "sim", &error);
  g_assert_no_error (error);
}

/* One step of the scheduler. */
static void
step (Sim *sim)
{
  guint what = pick (sim, 1000);
  Device *device = &sim->devices[pick (sim, sim->n_devices)];

  sim->step++;
  sim->now++;

  if (what < 400)
    {
      sim->n_done++;
      user_action (sim, device);
    }
  else if (what < 550)
    {
      if (!device->syncing && sim->now >= device->not_before)
        device_sync (sim, device);
    }
  else if (what < 985)
    {
      guint i;
      Fate fate = FATE_DELIVER;
      guint f = pick (sim, 100);

      if (sim->pending->len == 0)
        return;
      /* Mostly in order; sometimes a later one overtakes. */
      i = chance (sim, 0.75) ? 0 : pick (sim, sim->pending->len);
      if (f < 4)
        fate = FATE_DROP_REQUEST;
      else if (f < 8)
        fate = FATE_DROP_RESPONSE;
      else if (f < 12)
        fate = FATE_DUPLICATE;
      else if (f < 14)
        fate = FATE_500;
      else if (f < 16)
        fate = FATE_503;
      else if (f < 17)
        fate = FATE_429;
      deliver (sim, i, fate);
    }
  else if (what < 990)
    device_restart (sim, device);
  else if (what < 993)
    server_restart (sim);
  else if (what < 995)
    revoke_token (sim);
  else
    {
      trace (sim, "d%u signs in again", device->index);
      device_sign_in (sim, device);
    }
}

/* Quiescence: no faults; every device signs in, resolves what it is asked
 * and syncs, until a round where nothing moves. */

static gboolean
device_clean (Device *device)
{
  guint n_pending = 0, n_parked = 0, n_conflicts = 0;

  if (!tandem_store_get_sync_counts (device->store, &n_pending, &n_parked, &n_conflicts, NULL))
    return FALSE;
  return n_pending == 0 && n_parked == 0 && n_conflicts == 0;
}

static void
sync_to_end (Sim    *sim,
             Device *device)
{
  guint n = 0;

  device_sync (sim, device);
  while (sim->pending->len > 0 && n++ < 2000)
    deliver (sim, 0, FATE_DELIVER);
  if (sim->pending->len > 0)
    fail (sim, "d%u: the sync does not end: 2000 requests and still going", device->index);
  else if (device->syncing)
    fail (sim, "d%u: the sync did not end although every request was answered", device->index);
}

static void
quiesce (Sim *sim)
{
  trace (sim, "quiescence: faults off");
  for (guint i = 0; i < sim->n_devices; i++)
    {
      Device *device = &sim->devices[i];

      device->online = TRUE;
      device->not_before = 0;
      device_sign_in (sim, device);
    }
  /* What is still in flight arrives (or not) now. */
  while (sim->pending->len > 0)
    deliver (sim, 0, FATE_DELIVER);

  for (guint round = 0; round < QUIESCE_ROUNDS && sim->failure == NULL; round++)
    {
      gboolean quiet = TRUE;

      for (guint i = 0; i < sim->n_devices && sim->failure == NULL; i++)
        {
          Device *device = &sim->devices[i];
          guint changed = device->n_changed;
          guint n_pending = 0, n_parked = 0, n_conflicts = 0;

          for (guint k = 0; k < 50; k++)
            {
              tandem_store_get_sync_counts (device->store, &n_pending, &n_parked, &n_conflicts,
                                            NULL);
              if (n_conflicts == 0)
                break;
              resolve_one (sim, device);
              quiet = FALSE;
            }
          sim->step++;
          sync_to_end (sim, device);
          if (device->n_changed != changed || !device_clean (device) ||
              device->outcome != TANDEM_SYNC_OUTCOME_DONE)
            quiet = FALSE;
        }
      if (quiet)
        {
          trace (sim, "quiet after %u rounds", round + 1);
          return;
        }
    }
  if (sim->failure == NULL)
    {
      GString *why = g_string_new (NULL);

      for (guint i = 0; i < sim->n_devices; i++)
        {
          guint n_pending = 0, n_parked = 0, n_conflicts = 0;

          tandem_store_get_sync_counts (sim->devices[i].store, &n_pending, &n_parked,
                                        &n_conflicts, NULL);
          g_string_append_printf (why, " d%u: %u pending, %u parked, %u conflicts, outcome %d;",
                                  i, n_pending, n_parked, n_conflicts, sim->devices[i].outcome);
        }
      fail (sim, "no quiescence after %u rounds:%s", QUIESCE_ROUNDS, why->str);
      g_string_free (why, TRUE);
    }
}

/* The checks */

static GHashTable *
server_tasks (Sim *sim)
{
  GHashTable *tasks = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                             (GDestroyNotify) tandem_task_free);
  g_autofree char *cursor = NULL;
  g_autofree char *auth = g_strconcat ("Bearer ", sim->token, NULL);

  for (;;)
    {
      g_autofree char *escaped = cursor ? g_uri_escape_string (cursor, NULL, FALSE) : NULL;
      Call call = { .method = "GET", .authorization = auth };
      g_autoptr(GBytes) body = NULL;
      g_autoptr(JsonNode) node = NULL;
      g_autoptr(TandemChangesPage) page = NULL;
      g_autoptr(GError) error = NULL;
      guint status;

      call.path = escaped ? g_strdup_printf ("/v1/sync/changes?since=%s&limit=1000", escaped)
                          : g_strdup ("/v1/sync/changes?limit=1000");
      status = server_dispatch (sim, &call, NULL, &body);
      g_free (call.path);
      if (status != 200)
        {
          fail (sim, "the server's change feed answered %u", status);
          return tasks;
        }
      node = tandem_json_parse (g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error);
      if (node != NULL)
        page = tandem_changes_page_from_json (node, &error);
      if (page == NULL)
        {
          fail (sim, "the server's change feed could not be read: %s", error->message);
          return tasks;
        }
      for (guint i = 0; i < page->changes->len; i++)
        {
          TandemRecord *record = g_ptr_array_index (page->changes, i);

          if (record->entity == TANDEM_ENTITY_TASK)
            {
              TandemTask *task = tandem_task_copy (record->task);

              g_hash_table_replace (tasks, task->id, task);
            }
        }
      g_free (cursor);
      cursor = g_strdup (page->cursor);
      if (!page->has_more)
        break;
    }
  return tasks;
}

/* Whether @text (JSON) is or contains @token. */
static gboolean
text_has (const char *text,
          const char *token)
{
  return text != NULL && token != NULL && strstr (text, token) != NULL;
}

static void
check (Sim *sim)
{
  g_autoptr(GHashTable) tasks = server_tasks (sim);
  g_autoptr(GHashTable) histories = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                           (GDestroyNotify) g_ptr_array_unref);
  GHashTableIter iter;
  gpointer key, value;

  if (sim->failure != NULL)
    return;

  /* Server history per task; op ids applied once (one revision per op). */
  g_hash_table_iter_init (&iter, tasks);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GHashTable) revs = g_hash_table_new (g_str_hash, g_str_equal);
      GPtrArray *history = tandem_server_storage_list_history (sim->storage, sim->user_id, key,
                                                               &error);

      if (history == NULL)
        {
          fail (sim, "no server history for %s: %s", (char *) key, error->message);
          return;
        }
      g_hash_table_insert (histories, key, history);
      for (guint i = 0; i < history->len; i++)
        {
          TandemServerHistoryEntry *entry = g_ptr_array_index (history, i);
          gpointer rev;

          if (entry->op_id == NULL)
            continue;
          if (g_hash_table_lookup_extended (revs, entry->op_id, NULL, &rev) &&
              GPOINTER_TO_SIZE (rev) != (gsize) entry->rev)
            fail (sim, "op %s was applied twice to %s (revisions %zu and %" G_GINT64_FORMAT ")",
                  entry->op_id, (char *) key, GPOINTER_TO_SIZE (rev), entry->rev);
          g_hash_table_insert (revs, entry->op_id, GSIZE_TO_POINTER ((gsize) entry->rev));
        }
    }

  /* Every device equals the server, field by field. */
  for (guint d = 0; d < sim->n_devices; d++)
    {
      Device *device = &sim->devices[d];
      g_autoptr(GPtrArray) mine = tandem_store_list_tasks (device->store, TANDEM_TASK_QUERY_ALL, NULL);
      guint n_seen = 0;

      for (guint i = 0; mine != NULL && i < mine->len; i++)
        {
          TandemTask *local = g_ptr_array_index (mine, i);
          g_autoptr(TandemTask) full = tandem_store_get_task (device->store, local->id, NULL);
          TandemTask *remote = g_hash_table_lookup (tasks, local->id);

          if (remote == NULL)
            {
              fail (sim, "d%u has task %s that the server does not know", d, local->id);
              continue;
            }
          n_seen++;
          if (local->rev != remote->rev)
            fail (sim, "d%u holds %s at revision %" G_GINT64_FORMAT ", the server at %"
                  G_GINT64_FORMAT, d, local->id, local->rev, remote->rev);
          for (TandemField f = 0; f < TANDEM_N_FIELDS; f++)
            if (!tandem_task_field_equal (full, remote, f))
              {
                g_autoptr(JsonNode) a = tandem_task_get_field (full, f);
                g_autoptr(JsonNode) b = tandem_task_get_field (remote, f);
                g_autofree char *ta = node_text (a);
                g_autofree char *tb = node_text (b);

                fail (sim, "d%u and the server differ on %s of %s: %s / %s", d,
                      tandem_field_name (f), local->id, ta, tb);
              }
          if (local->sync_status != TANDEM_SYNC_SYNCED)
            fail (sim, "d%u: %s is still %s", d, local->id,
                  tandem_sync_status_to_string (local->sync_status));
        }
      g_hash_table_iter_init (&iter, tasks);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          g_autoptr(TandemTask) held = NULL;

          if (((TandemTask *) value)->deleted)
            continue;
          if (mine != NULL)
            held = tandem_store_get_task (device->store, key, NULL);
          if (held == NULL)
            fail (sim, "d%u does not have task %s", d, (char *) key);
        }
      (void) n_seen;
    }
  if (sim->failure != NULL)
    return;

  /* No silent loss, no resurrection, the same title always asked. */
  for (guint e = 0; e < sim->edits->len; e++)
    {
      Edit *edit = g_ptr_array_index (sim->edits, e);
      TandemTask *remote = g_hash_table_lookup (tasks, edit->task_id);
      GPtrArray *history = g_hash_table_lookup (histories, edit->task_id);
      Device *device = &sim->devices[edit->device];
      gboolean superseded = FALSE;
      gboolean found = FALSE;
      g_autoptr(GPtrArray) local_history = NULL;
      g_autoptr(JsonNode) final_node = NULL;
      g_autofree char *final_text = NULL;

      if (remote == NULL)
        {
          fail (sim, "task %s, edited by d%u at step %u, is not on the server", edit->task_id,
                edit->device, edit->step);
          continue;
        }
      if (edit->kind == EDIT_DELETE || edit->kind == EDIT_DISCARD)
        continue;
      if (edit->kind == EDIT_RESTORE)
        continue;

      /* Later decisions of the same device make the edit moot: a newer
       * value of the same field, a delete, a discard. Tags and comments
       * are checked one by one. */
      for (guint l = e + 1; l < sim->edits->len && !superseded; l++)
        {
          Edit *later = g_ptr_array_index (sim->edits, l);

          if (!g_str_equal (later->task_id, edit->task_id))
            continue;
          if (later->kind == EDIT_TAG_REMOVE && edit->kind == EDIT_TAG_ADD &&
              g_str_equal (later->value, edit->value))
            superseded = TRUE;
          if (later->device != edit->device)
            continue;
          if (later->kind == EDIT_DELETE || later->kind == EDIT_DISCARD)
            superseded = TRUE;
          if (later->kind == EDIT_FIELD && edit->kind == EDIT_FIELD && later->field == edit->field)
            superseded = TRUE;
        }
      if (superseded)
        continue;

      switch (edit->kind)
        {
        case EDIT_TAG_ADD:
          found = tandem_task_has_tag (remote, edit->value);
          break;
        case EDIT_COMMENT:
          for (guint c = 0; c < remote->comments->len; c++)
            if (g_str_equal (((TandemComment *) g_ptr_array_index (remote->comments, c))->id,
                             edit->value))
              found = TRUE;
          break;
        case EDIT_FIELD:
          final_node = tandem_task_get_field (remote, edit->field);
          final_text = node_text (final_node);
          found = edit->field == TANDEM_FIELD_NOTES ? text_has (final_text, edit->value)
                                                    : g_str_equal (final_text, edit->value);
          break;
        case EDIT_TAG_REMOVE:
          found = !tandem_task_has_tag (remote, edit->value);
          break;
        case EDIT_DELETE:
        case EDIT_RESTORE:
        case EDIT_DISCARD:
        default:
          break;
        }
      /* Or the server took it, and something later replaced it. */
      for (guint h = 0; history != NULL && h < history->len && !found; h++)
        {
          TandemServerHistoryEntry *entry = g_ptr_array_index (history, h);

          if (g_strcmp0 (entry->field, tandem_field_name (edit->field)) != 0)
            continue;
          if (edit->kind == EDIT_FIELD && edit->field != TANDEM_FIELD_NOTES)
            found = g_strcmp0 (entry->new_value, edit->value) == 0 ||
                    g_strcmp0 (entry->old_value, edit->value) == 0;
          else if (edit->kind == EDIT_TAG_REMOVE)
            found = text_has (entry->old_value, edit->value) && !text_has (entry->new_value, edit->value);
          else
            found = text_has (entry->new_value, edit->value) || text_has (entry->old_value, edit->value);
        }
      /* Or the user was asked and chose something else. */
      if (!found)
        {
          local_history = tandem_store_get_history (device->store, edit->task_id, NULL);
          for (guint h = 0; local_history != NULL && h < local_history->len && !found; h++)
            {
              TandemHistoryEntry *entry = g_ptr_array_index (local_history, h);

              if (g_strcmp0 (entry->origin, "resolve") != 0)
                continue;
              if (entry->field == NULL || text_has (entry->old_value, edit->value))
                found = TRUE;
            }
        }
      if (!found)
        {
          g_autofree char *final_value = NULL;
          g_autoptr(JsonNode) node = tandem_task_get_field (remote, edit->field);

          final_value = node_text (node);
          fail (sim, "lost: d%u's %s %s of %s (step %u) is neither on the server (%s%s) nor in "
                "its history, and nobody was asked", edit->device,
                edit->kind == EDIT_FIELD ? "value" : edit->kind == EDIT_COMMENT ? "comment" : "tag change",
                edit->value, edit->task_id, edit->step, final_value,
                remote->deleted ? ", deleted" : "");
        }
    }

  /* Deletes never come back without a restore. */
  g_hash_table_iter_init (&iter, histories);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      GPtrArray *history = value;
      TandemTask *remote = g_hash_table_lookup (tasks, key);
      gboolean deleted_once = FALSE;
      gboolean restored = FALSE;
      const TandemServerHistoryEntry *back = NULL;

      for (guint h = 0; h < history->len; h++)
        {
          TandemServerHistoryEntry *entry = g_ptr_array_index (history, h);

          if (g_strcmp0 (entry->kind, "delete") == 0)
            deleted_once = TRUE;
          else if (deleted_once && back == NULL)
            back = entry;
        }
      if (!deleted_once || remote->deleted)
        continue;
      for (guint e = 0; e < sim->edits->len && !restored; e++)
        {
          Edit *edit = g_ptr_array_index (sim->edits, e);

          restored = edit->kind == EDIT_RESTORE && g_str_equal (edit->task_id, key);
        }
      if (!restored)
        {
          guint who = G_MAXUINT;

          for (guint d = 0; d < sim->n_devices && back != NULL; d++)
            if (g_strcmp0 (tandem_store_get_device_id (sim->devices[d].store), back->device_id) == 0)
              who = d;
          fail (sim, "task %s was deleted on the server and came back without a restore "
                "(by a %s op of d%d at revision %" G_GINT64_FORMAT ")", (char *) key,
                back ? back->kind : "?", who == G_MAXUINT ? -1 : (int) who, back ? back->rev : 0);
        }
    }

  /* The same human field always asks: the server never replaced a title
   * the writing device had not seen. */
  g_hash_table_iter_init (&iter, histories);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      GPtrArray *history = value;

      for (guint h = 0; h < history->len; h++)
        {
          TandemServerHistoryEntry *entry = g_ptr_array_index (history, h);
          gboolean seen = FALSE;
          gboolean known = FALSE;

          if (g_strcmp0 (entry->field, "title") != 0 || entry->old_value == NULL ||
              g_strcmp0 (entry->kind, "restore") == 0 || g_strcmp0 (entry->kind, "create") == 0)
            continue;
          for (guint e = 0; e < sim->edits->len && !seen; e++)
            {
              Edit *edit = g_ptr_array_index (sim->edits, e);

              if (edit->kind != EDIT_FIELD || edit->field != TANDEM_FIELD_TITLE ||
                  !g_str_equal (edit->task_id, key))
                continue;
              if (g_strcmp0 (edit->value, entry->new_value) == 0)
                known = TRUE;
              /* Any value this device edited against, up to this one. */
              if (g_strcmp0 (edit->before, entry->old_value) == 0)
                {
                  for (guint l = e; l < sim->edits->len && !seen; l++)
                    {
                      Edit *later = g_ptr_array_index (sim->edits, l);

                      seen = later->kind == EDIT_FIELD && later->field == TANDEM_FIELD_TITLE &&
                             later->device == edit->device && g_str_equal (later->task_id, key) &&
                             g_strcmp0 (later->value, entry->new_value) == 0;
                    }
                }
            }
          if (known && !seen)
            fail (sim, "title of %s went from %s to %s at revision %" G_GINT64_FORMAT
                  " without asking: the device that wrote it never saw %s",
                  (char *) key, entry->old_value, entry->new_value, entry->rev, entry->old_value);
        }
    }
}

/* One run */

static void
sim_free (Sim *sim)
{
  /* Crashed devices' requests end now, so their objects can go. */
  for (guint i = 0; i < sim->pending->len; i++)
    {
      Call *call = g_ptr_array_index (sim->pending, i);

      if (call->call != NULL)
        call_return_error (call, G_IO_ERROR_CANCELLED, "the simulation ended");
    }
  g_ptr_array_set_size (sim->pending, 0);
  for (guint i = 0; i < sim->orphans->len; i++)
    if (G_IS_TASK (g_ptr_array_index (sim->orphans, i)))
      g_task_return_new_error (g_ptr_array_index (sim->orphans, i), G_IO_ERROR,
                               G_IO_ERROR_CANCELLED, "the simulation ended");
  for (guint i = 0; i < sim->n_devices; i++)
    sim->devices[i].sim = NULL;
  pump ();
  g_ptr_array_unref (sim->orphans);
  g_ptr_array_unref (sim->pending);
  for (guint i = 0; i < sim->n_devices; i++)
    {
      Device *device = &sim->devices[i];

      g_clear_object (&device->engine);
      g_clear_object (&device->store);
      g_free (device->path);
    }
  pump ();
  g_free (sim->devices);
  server_close (sim);
  g_ptr_array_unref (sim->edits);
  g_ptr_array_unref (sim->list_ids);
  g_hash_table_unref (sim->checked_conflicts);
  g_rand_free (sim->rand);
  for (guint i = 0; i < TRACE_LINES; i++)
    g_free (sim->trace[i]);
  g_free (sim->token);
  g_free (sim->failure);

  {
    g_autoptr(GDir) dir = g_dir_open (sim->server_dir, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *path = g_build_filename (sim->server_dir, name, NULL);

        g_unlink (path);
      }
    g_rmdir (sim->server_dir);
  }
  {
    g_autoptr(GDir) dir = g_dir_open (sim->dir, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *path = g_build_filename (sim->dir, name, NULL);

        g_unlink (path);
      }
    g_rmdir (sim->dir);
  }
  g_free (sim->server_dir);
  g_free (sim->dir);
  g_free (sim);
}

static const char *
scratch_root (void)
{
  const char *root = g_getenv ("TANDEM_SIM_DIR");

  if (root != NULL && *root != '\0')
    return root;
  /* Databases on tmpfs: fsync costs nothing there. */
  if (g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) && g_access ("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  return g_get_tmp_dir ();
}

/* Runs one seed; returns TRUE when every invariant held. */
static gboolean
run_seed (guint64  seed,
          guint    n_devices,
          guint    n_actions,
          gboolean by_steps,
          gboolean verbose)
{
  Sim *sim = g_new0 (Sim, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *template = g_build_filename (scratch_root (), "tandem-sim-XXXXXX", NULL);
  gboolean ok;

  sim->seed = seed;
  sim->n_devices = n_devices;
  sim->n_actions = n_actions;
  sim->by_steps = by_steps;
  sim->verbose = verbose;
  sim->rand = g_rand_new_with_seed_array ((const guint32[]) { (guint32) seed, (guint32) (seed >> 32) }, 2);
  /* Ids (UUIDv4 from g_random) follow the seed too. */
  g_random_set_seed ((guint32) (seed * 2654435761u));
  sim->dir = g_mkdtemp (g_steal_pointer (&template));
  g_assert (sim->dir != NULL);
  sim->server_dir = g_build_filename (sim->dir, "server", NULL);
  sim->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) call_free);
  sim->orphans = g_ptr_array_new_with_free_func (g_object_unref);
  sim->edits = g_ptr_array_new_with_free_func ((GDestroyNotify) edit_free);
  sim->list_ids = g_ptr_array_new_with_free_func (g_free);
  sim->checked_conflicts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  server_open (sim);
  sim->token = tandem_service_create_token (sim->service, "sim", &error);
  g_assert_no_error (error);
  tandem_service_authenticate (sim->service, sim->token, &sim->user_id, &error);
  g_assert_no_error (error);

  sim->devices = g_new0 (Device, n_devices);
  for (guint i = 0; i < n_devices; i++)
    {
      Device *device = &sim->devices[i];

      device->sim = sim;
      device->index = i;
      device->online = TRUE;
      device->path = g_strdup_printf ("%s/device%u.db", sim->dir, i);
      device_open (sim, device);
      device_sign_in (sim, device);
    }

  /* Two lists everyone knows, for list_id edits. */
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *name = g_strdup_printf ("List %u", i);
      g_autoptr(TandemList) list = tandem_store_create_list (sim->devices[0].store, name, &error);

      g_assert_no_error (error);
      g_ptr_array_add (sim->list_ids, g_strdup (list->id));
    }
  for (guint i = 0; i < n_devices; i++)
    sync_to_end (sim, &sim->devices[i]);

  sim->faults = TRUE;
  while (sim->failure == NULL &&
         (by_steps ? sim->step : sim->n_done) < n_actions * n_devices)
    step (sim);
  if (sim->failure == NULL)
    quiesce (sim);
  if (sim->failure == NULL)
    check (sim);

  ok = sim->failure == NULL;
  if (!ok)
    {
      guint first = sim->n_trace > TRACE_LINES ? sim->n_trace - TRACE_LINES : 0;

      g_printerr ("seed %" G_GUINT64_FORMAT " (%u devices, %u actions) FAILED: %s\n",
                  seed, n_devices, n_actions, sim->failure);
      g_printerr ("last events:\n");
      for (guint i = first; i < sim->n_trace; i++)
        g_printerr ("  %s\n", sim->trace[i % TRACE_LINES]);
      g_printerr ("replay: tests/sim/replay %" G_GUINT64_FORMAT " --devices %u --%s %u "
                  "--verbose\n", seed, n_devices, by_steps ? "steps" : "actions", n_actions);
    }
  else if (verbose)
    g_printerr ("seed %" G_GUINT64_FORMAT ": ok (%u requests, %u faults, %u conflicts asked)\n",
                seed, sim->n_requests, sim->n_faults, sim->n_conflicts);
  sim_free (sim);
  return ok;
}

/* A run's length counts user actions per device; or, with by_steps,
 * scheduler steps per device (syncs, deliveries and faults too), as the
 * first regression seeds were found. */
typedef struct
{
  guint64  seed;
  guint    devices;
  guint    actions;
  gboolean by_steps;
} SeedRun;

int
main (int   argc,
      char *argv[])
{
  g_autofree char *seed_text = NULL;
  g_autofree char *range = NULL;
  g_autofree char *seed_file = NULL;
  int devices = 5;
  int actions = 300;
  int steps = 0;
  gboolean verbose = FALSE;
  gboolean progress = FALSE;
  g_autoptr(GArray) runs = g_array_new (FALSE, FALSE, sizeof (SeedRun));
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  GOptionEntry entries[] = {
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, "Run one seed", "SEED" },
    { "seeds", 0, 0, G_OPTION_ARG_STRING, &range, "Run the seeds FIRST to LAST", "FIRST-LAST" },
    { "seed-file", 0, 0, G_OPTION_ARG_FILENAME, &seed_file,
      "Run the seeds listed in FILE (SEED [DEVICES [ACTIONS [steps]]] per line, # comments)",
      "FILE" },
    { "devices", 0, 0, G_OPTION_ARG_INT, &devices, "Devices (default 5)", "N" },
    { "actions", 0, 0, G_OPTION_ARG_INT, &actions, "User actions per device (default 300)", "M" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps,
      "Instead of --actions: scheduler steps per device (user actions, syncs, deliveries, faults)",
      "M" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Print every event", NULL },
    { "progress", 0, 0, G_OPTION_ARG_NONE, &progress, "Print a progress line", NULL },
    { NULL }
  };
  guint failures = 0;
  gint64 started;

  context = g_option_context_new ("- Tandem's multi-device sync simulation");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (devices < 2 || devices > 64 || actions < 1 || steps < 0)
    {
      g_printerr ("--devices must be 2 to 64, --actions and --steps at least 1\n");
      return 2;
    }

  if (seed_text != NULL)
    {
      guint64 seed;

      if (!g_ascii_string_to_unsigned (seed_text, 10, 0, G_MAXUINT64, &seed, &error))
        {
          g_printerr ("--seed: %s\n", error->message);
          return 2;
        }
      g_array_append_val (runs, ((SeedRun) { seed, devices, steps ? steps : actions, steps > 0 }));
    }
  if (range != NULL)
    {
      g_auto(GStrv) ends = g_strsplit (range, "-", 2);
      guint64 first, last;

      if (g_strv_length (ends) != 2 ||
          !g_ascii_string_to_unsigned (ends[0], 10, 0, G_MAXUINT64, &first, NULL) ||
          !g_ascii_string_to_unsigned (ends[1], 10, first, G_MAXUINT64, &last, NULL))
        {
          g_printerr ("--seeds wants FIRST-LAST with FIRST <= LAST, not “%s”\n", range);
          return 2;
        }
      for (guint64 s = first; s <= last; s++)
        g_array_append_val (runs, ((SeedRun) { s, devices, steps ? steps : actions, steps > 0 }));
    }
  if (seed_file != NULL)
    {
      g_autofree char *text = NULL;
      g_auto(GStrv) lines = NULL;

      if (!g_file_get_contents (seed_file, &text, NULL, &error))
        {
          g_printerr ("%s\n", error->message);
          return 2;
        }
      lines = g_strsplit (text, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          char *hash = strchr (lines[i], '#');
          SeedRun run = { 0, devices, steps ? steps : actions, steps > 0 };
          guint64 d = devices, a = run.actions;
          char unit[8] = "";
          int n;

          if (hash != NULL)
            *hash = '\0';
          g_strstrip (lines[i]);
          if (*lines[i] == '\0')
            continue;
          n = sscanf (lines[i], "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                      " %7s", &run.seed, &d, &a, unit);
          if (n < 1 || d < 2 || d > 64 || a < 1 || (n == 4 && !g_str_equal (unit, "steps")))
            {
              g_printerr ("%s:%u: expected “SEED [DEVICES [ACTIONS [steps]]]”\n", seed_file, i + 1);
              return 2;
            }
          run.devices = (guint) d;
          run.actions = (guint) a;
          if (n == 4)
            run.by_steps = TRUE;
          g_array_append_val (runs, run);
        }
    }
  if (runs->len == 0)
    {
      g_printerr ("Say which seeds to run: --seed, --seeds or --seed-file\n");
      return 2;
    }

  g_setenv ("TANDEM_NO_KEYRING", "1", TRUE);
  started = g_get_monotonic_time ();
  for (guint i = 0; i < runs->len; i++)
    {
      SeedRun *run = &g_array_index (runs, SeedRun, i);

      if (!run_seed (run->seed, run->devices, run->actions, run->by_steps, verbose))
        failures++;
      if (progress)
        g_printerr ("\r%u/%u seeds, %u failed, %.2f s per seed   ", i + 1, runs->len, failures,
                    (g_get_monotonic_time () - started) / 1e6 / (i + 1));
    }
  if (progress)
    g_printerr ("\n");
  g_print ("%u seeds, %u failed, %.1f s (%.3f s per seed)\n", runs->len, failures,
           (g_get_monotonic_time () - started) / 1e6,
           (g_get_monotonic_time () - started) / 1e6 / runs->len);
  return failures == 0 ? 0 : 1;
}
