/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "proxy-fixture.h"
#include "tandem-account.h"
#include "tandem-sync-engine.h"

/* The sync engine as the app runs it, in this process against the real
 * server behind the fault proxy: debounced edits, backoff, Retry-After,
 * the pause after a refused token. */

typedef struct
{
  TestServer       *server;
  TestProxy        *proxy;
  char             *dir;
  TandemStore      *store;
  TandemSyncEngine *engine;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *path = NULL;

  g_setenv ("TANDEM_NO_KEYRING", "1", TRUE);
  f->server = test_server_start (NULL, NULL);
  f->proxy = test_proxy_start (f->server->url);
  token = test_server_token (f->server, "me");
  f->dir = g_dir_make_tmp ("tandem-engine-XXXXXX", NULL);
  path = g_build_filename (f->dir, "device.db", NULL);
  f->store = tandem_store_open (path, &error);
  g_assert_no_error (error);
  g_assert_true (tandem_account_save (f->store, f->proxy->url, token, NULL, &error));
  g_assert_no_error (error);
  f->engine = tandem_sync_engine_new (f->store);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  tandem_sync_engine_stop (f->engine);
  g_clear_object (&f->engine);
  g_clear_object (&f->store);
  while (dir && (name = g_dir_read_name (dir)))
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
  g_clear_pointer (&f->proxy, test_proxy_free);
  g_clear_pointer (&f->server, test_server_free);
}

typedef gboolean (*Condition) (Fixture *f);

/* Runs the main loop until @done holds or @seconds pass. */
static gboolean
wait_for (Fixture   *f,
          Condition  done,
          double     seconds)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);

  while (!done (f) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (5000), TRUE);
  return done (f);
}

static gboolean
outbox_empty (Fixture *f)
{
  guint pending = 1, parked = 0, conflicts = 0;

  tandem_store_get_sync_counts (f->store, &pending, &parked, &conflicts, NULL);
  return pending == 0 && tandem_sync_engine_get_state (f->engine) == TANDEM_SYNC_STATE_IDLE;
}

/* For letting the loop run a while. */
static gboolean
never (Fixture *f)
{
  return FALSE;
}

static gboolean
backing_off (Fixture *f)
{
  return tandem_sync_engine_get_state (f->engine) == TANDEM_SYNC_STATE_BACKING_OFF;
}

static gboolean
paused (Fixture *f)
{
  return tandem_sync_engine_get_state (f->engine) == TANDEM_SYNC_STATE_PAUSED_AUTH;
}

static void
add_task (Fixture    *f,
          const char *title)
{
  g_autoptr(TandemTask) draft = tandem_task_new ();
  g_autoptr(TandemTask) task = NULL;
  g_autoptr(GError) error = NULL;

  g_free (draft->title);
  draft->title = g_strdup (title);
  task = tandem_store_create_task (f->store, draft, &error);
  g_assert_no_error (error);
  tandem_sync_engine_local_change (f->engine);
}

static gint64
pushes (Fixture *f)
{
  return test_proxy_count (f->proxy, "forwarded_by_route", "POST /v1/sync/push");
}

static void
test_edits_are_debounced (Fixture       *f,
                          gconstpointer  data)
{
  gint64 before;

  tandem_sync_engine_start (f->engine, 3600);
  g_assert_true (wait_for (f, outbox_empty, 10));
  before = pushes (f);

  /* Three edits in quick succession go out together, about a second after
   * the last one. */
  add_task (f, "One");
  wait_for (f, never, 0.3);
  add_task (f, "Two");
  wait_for (f, never, 0.3);
  add_task (f, "Three");
  g_assert_cmpint (pushes (f), ==, before);
  g_assert_true (wait_for (f, outbox_empty, 10));
  g_assert_cmpint (pushes (f), ==, before + 1);
  g_assert_cmpint (tandem_sync_engine_get_last_synced (f->engine), >, 0);
}

static void
test_backs_off_then_recovers (Fixture       *f,
                              gconstpointer  data)
{
  gint64 now;

  test_proxy_inject (f->proxy, "{\"status\":503,\"count\":-1}");
  add_task (f, "Patient");
  tandem_sync_engine_start (f->engine, 3600);

  g_assert_true (wait_for (f, backing_off, 10));
  now = g_get_real_time () / G_USEC_PER_SEC;
  /* The first retry waits at most the base delay, with jitter. */
  g_assert_cmpint (tandem_sync_engine_get_backoff_until (f->engine), >=, now);
  g_assert_cmpint (tandem_sync_engine_get_backoff_until (f->engine), <=, now + 2);
  g_assert_nonnull (tandem_sync_engine_get_last_error (f->engine));
  g_assert_nonnull (strstr (tandem_sync_engine_get_last_error (f->engine), "503"));

  test_proxy_inject (f->proxy, "{\"reset\":true}");
  g_assert_true (wait_for (f, outbox_empty, 15));
  g_assert_null (tandem_sync_engine_get_last_error (f->engine));
}

static void
test_retry_after_is_honoured (Fixture       *f,
                              gconstpointer  data)
{
  gint64 start, now;

  tandem_sync_engine_start (f->engine, 3600);
  g_assert_true (wait_for (f, outbox_empty, 10));

  test_proxy_inject (f->proxy, "{\"status\":429,\"retry_after\":\"3\",\"count\":1}");
  add_task (f, "Later");
  g_assert_true (wait_for (f, backing_off, 10));
  start = g_get_monotonic_time ();
  now = g_get_real_time () / G_USEC_PER_SEC;
  g_assert_cmpint (tandem_sync_engine_get_backoff_until (f->engine), >=, now + 2);
  g_assert_true (wait_for (f, outbox_empty, 10));
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 2 * G_USEC_PER_SEC);
}

static void
test_refused_token_pauses (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  gint64 seen;

  test_proxy_inject (f->proxy, "{\"status\":401,\"count\":-1}");
  add_task (f, "Kept");
  tandem_sync_engine_start (f->engine, 1);
  g_assert_true (wait_for (f, paused, 10));
  seen = test_proxy_count (f->proxy, NULL, "requests");

  /* No more attempts: not on edits, not on the timer. */
  add_task (f, "Also kept");
  g_assert_false (wait_for (f, outbox_empty, 2.5));
  g_assert_cmpint (test_proxy_count (f->proxy, NULL, "requests"), ==, seen);
  ops = tandem_store_outbox_list (f->store, 0, NULL);
  g_assert_cmpuint (ops->len, ==, 2);

  /* Signing in again resumes. */
  test_proxy_inject (f->proxy, "{\"reset\":true}");
  token = test_server_token (f->server, "me");
  g_assert_true (tandem_account_save (f->store, f->proxy->url, token, NULL, &error));
  g_assert_no_error (error);
  tandem_sync_engine_sync_now (f->engine);
  g_assert_true (wait_for (f, outbox_empty, 10));
}

static void
test_backoff_delay (void)
{
  /* Full jitter: anywhere from 0 to min(cap, base * 2^attempt). */
  g_assert_cmpint (tandem_sync_backoff_delay (0, 0), ==, 0);
  g_assert_cmpint (tandem_sync_backoff_delay (0, G_MAXUINT32), ==, 1 * G_USEC_PER_SEC);
  g_assert_cmpint (tandem_sync_backoff_delay (3, G_MAXUINT32), ==, 8 * G_USEC_PER_SEC);
  g_assert_cmpint (tandem_sync_backoff_delay (3, G_MAXUINT32 / 2), <=, 4 * G_USEC_PER_SEC + 1);
  g_assert_cmpint (tandem_sync_backoff_delay (9, G_MAXUINT32), ==, 300 * G_USEC_PER_SEC);
  g_assert_cmpint (tandem_sync_backoff_delay (60, G_MAXUINT32), ==, 300 * G_USEC_PER_SEC);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/engine/edits-are-debounced", test_edits_are_debounced);
  ADD ("/engine/backs-off-then-recovers", test_backs_off_then_recovers);
  ADD ("/engine/retry-after-is-honoured", test_retry_after_is_honoured);
  ADD ("/engine/refused-token-pauses", test_refused_token_pauses);
  g_test_add_func ("/engine/backoff-delay", test_backoff_delay);

  return g_test_run ();
}
