/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-test-procsim"

#include "config.h"

#include <signal.h>

#include "procsim-common.h"

/* The invariants of DESIGN §8 over real processes: tandem-server behind
 * tandem-fault-proxy and several tandem-cli devices doing random things a
 * person does, syncing through a network that drops, repeats, delays and
 * refuses, a server that is restarted (sometimes with SIGKILL) and a token
 * that is revoked. Everything random comes from one seed; a failure prints
 * it with the last events, and PROCSIM_SEED=N plays the same run again.
 *
 *   PROCSIM_SEED=N     one seed instead of the default ones
 *   PROCSIM_STEPS=N    steps per seed (default 140)
 *   PROCSIM_DEVICES=N  devices (default 3) */

#define DEFAULT_STEPS 140
#define DEFAULT_DEVICES 3

static const guint32 default_seeds[] = { 1, 2, 3 };

static guint
env_uint (const char *name,
          guint       fallback)
{
  const char *text = g_getenv (name);
  guint64 value;

  if (text == NULL || *text == '\0')
    return fallback;
  if (!g_ascii_string_to_unsigned (text, 10, 1, 1000000, &value, NULL))
    g_error ("$%s must be a whole number from 1, not “%s”", name, text);
  return (guint) value;
}

static void
run_seed (gconstpointer data)
{
  guint32 seed = GPOINTER_TO_UINT (data);
  guint steps = env_uint ("PROCSIM_STEPS", DEFAULT_STEPS);
  guint n = env_uint ("PROCSIM_DEVICES", DEFAULT_DEVICES);
  PsWorld *world = ps_world_new ("test-procsim", seed, MAX (n, 2), FALSE);
  GRand *rand = ps_world_rand (world);
  gint64 start = g_get_monotonic_time ();
  g_autofree char *counts = NULL;

  n = ps_world_n_devices (world);
  for (guint dev = 0; dev < n; dev++)
    g_free (ps_add_task (world, dev));

  for (guint step = 0; step < steps; step++)
    {
      guint dev = g_rand_int_range (rand, 0, n);
      guint roll = g_rand_int_range (rand, 0, 1000);

      ps_random_action (world, dev);
      if (g_rand_int_range (rand, 0, 100) < 20)
        ps_random_fault (world);

      if (roll < 350)
        {
          int status = ps_sync (world, dev);

          if (status == 3 && g_rand_int_range (rand, 0, 2) == 0)
            ps_resolve_all (world, dev);
        }
      else if (roll < 375)
        {
          ps_server_stop (world, g_rand_boolean (rand) ? SIGKILL : SIGTERM);
          /* The devices work offline for a while. */
          for (guint i = 0; i < 3; i++)
            ps_random_action (world, g_rand_int_range (rand, 0, n));
          ps_server_start (world);
        }
      else if (roll < 400)
        ps_kill_server_during_sync (world, dev, g_rand_int_range (rand, 0, 40000));
      else if (roll < 415)
        ps_rotate_token (world);

      /* Now and then everyone settles, the invariants hold, and two
       * devices check the merge rules under faults. */
      if (step % 70 == 69)
        {
          guint a = g_rand_int_range (rand, 0, n);
          guint b = (a + 1 + g_rand_int_range (rand, 0, n - 1)) % n;

          ps_quiesce (world);
          ps_check_all (world);
          ps_random_fault (world);
          ps_probe_merge (world, a, b);
        }
    }

  ps_quiesce (world);
  ps_check_all (world);

  counts = ps_counts_text (world);
  g_test_message ("%s; %.1f s", counts, (g_get_monotonic_time () - start) / 1e6);
  ps_world_free (world);
}

/* Seed 1 found it: a device edits a task and deletes it while another
 * device changed the task; the edit is applied, the delete answered 409,
 * and the merge (with nothing left to ask) dropped the delete instead of
 * sending it again. The task came back on the device that deleted it. */
static void
test_delete_after_applied_edit (void)
{
  PsWorld *world = ps_world_new ("test-procsim/delete-after-applied-edit", 1, 2, FALSE);
  g_autofree char *id = ps_add_task (world, 0);

  g_assert_cmpint (ps_sync (world, 0), ==, 0);
  g_assert_cmpint (ps_sync (world, 1), ==, 0);
  ps_edit_field (world, 1, id, "done", "true");
  g_assert_cmpint (ps_sync (world, 1), ==, 0);
  ps_edit_field (world, 0, id, "notes", "other notes\n");
  ps_edit_field (world, 0, id, "done", "true");
  ps_edit_field (world, 0, id, "priority", "2");
  ps_delete_task (world, 0, id);
  g_assert_cmpint (ps_sync (world, 0), ==, 0);
  ps_quiesce (world);
  ps_check_all (world);
  ps_world_free (world);
}

/* Found with the one above: the same device edits the title, then
 * deletes, while another device changed the priority. The title edit is
 * applied first and moved the base on, so the delete met no visible change
 * and went through without asking (edit vs delete always asks). */
static void
test_delete_after_applied_edit_asks (void)
{
  PsWorld *world = ps_world_new ("test-procsim/delete-after-applied-edit-asks", 2, 2, FALSE);
  g_autofree char *id = ps_add_task (world, 0);

  g_assert_cmpint (ps_sync (world, 0), ==, 0);
  g_assert_cmpint (ps_sync (world, 1), ==, 0);
  ps_edit_field (world, 1, id, "priority", "3");
  g_assert_cmpint (ps_sync (world, 1), ==, 0);
  ps_edit_field (world, 0, id, "title", "Renamed, then deleted");
  ps_delete_task (world, 0, id);
  g_assert_cmpint (ps_sync (world, 0), ==, 3);
  ps_quiesce (world);
  ps_check_all (world);
  ps_world_free (world);
}

/* Seed 100 of test-crash-sync found it: a title question waits on B when
 * the task is deleted on A. The pull moved the question onto the
 * tombstone but kept calling it a question about fields ("edit", with
 * "deleted" among them), so it could be answered field by field as if
 * nothing had been deleted. It is a question about the delete. */
static void
test_question_on_deleted_task (void)
{
  PsWorld *world = ps_world_new ("test-procsim/question-on-deleted-task", 3, 2, FALSE);
  g_autofree char *id = ps_add_task (world, 0);

  g_assert_cmpint (ps_sync (world, 0), ==, 0);
  g_assert_cmpint (ps_sync (world, 1), ==, 0);
  ps_edit_field (world, 0, id, "title", "From A");
  g_assert_cmpint (ps_sync (world, 0), ==, 0);
  ps_edit_field (world, 1, id, "title", "From B");
  g_assert_cmpint (ps_sync (world, 1), ==, 3);
  ps_delete_task (world, 0, id);
  g_assert_cmpint (ps_sync (world, 0), ==, 0);
  /* Checks every question B holds: none names "deleted" as an edit. */
  g_assert_cmpint (ps_sync (world, 1), ==, 3);
  ps_quiesce (world);
  ps_check_all (world);
  ps_world_free (world);
}

/* Seed 3 found it: A restores a task it saw deleted, offline; meanwhile B
 * restores it too, renames it and deletes it again. A's restore landed on
 * B's new delete and brought the task back without asking anyone. */
static void
test_stale_restore_asks (void)
{
  PsWorld *world = ps_world_new ("test-procsim/stale-restore-asks", 4, 2, FALSE);
  g_autofree char *id = ps_add_task (world, 0);

  g_assert_cmpint (ps_sync (world, 0), ==, 0);
  g_assert_cmpint (ps_sync (world, 1), ==, 0);
  ps_delete_task (world, 1, id);
  g_assert_cmpint (ps_sync (world, 1), ==, 0);
  g_assert_cmpint (ps_sync (world, 0), ==, 0);
  ps_restore_task (world, 0, id);
  ps_restore_task (world, 1, id);
  ps_edit_field (world, 1, id, "title", "Restored, renamed, deleted again");
  ps_delete_task (world, 1, id);
  g_assert_cmpint (ps_sync (world, 1), ==, 0);
  g_assert_cmpint (ps_sync (world, 0), ==, 3);
  ps_quiesce (world);
  ps_check_all (world);
  ps_world_free (world);
}

/* A run of seed 3 once ended with a task back from the Trash that nobody
 * restored, after this: A restores a task it saw deleted, offline; C
 * restores it too and syncs; B edits it, syncs, deletes it and syncs, and
 * the answer to that push is lost after the server took it, so B sends it
 * again. A's restore, based on the old delete, must still ask: others
 * wrote after it. */
static void
test_stale_restore_after_lost_answer (void)
{
  PsWorld *world = ps_world_new ("test-procsim/stale-restore-after-lost-answer", 3, 3, FALSE);
  g_autofree char *id = ps_add_task (world, 0);

  for (guint dev = 0; dev < 3; dev++)
    g_assert_cmpint (ps_sync (world, dev), ==, 0);
  ps_delete_task (world, 0, id);
  for (guint dev = 0; dev < 3; dev++)
    g_assert_cmpint (ps_sync (world, dev), ==, 0);
  ps_restore_task (world, 0, id);
  ps_restore_task (world, 2, id);
  g_assert_cmpint (ps_sync (world, 2), ==, 0);
  g_assert_cmpint (ps_sync (world, 1), ==, 0);
  ps_edit_field (world, 1, id, "title", "Restored elsewhere, renamed, deleted");
  g_assert_cmpint (ps_sync (world, 1), ==, 0);
  ps_delete_task (world, 1, id);
  test_proxy_inject (ps_world_proxy (world),
                     "{\"drop_response\":true,\"path\":\"/v1/sync/push\"}");
  ps_trace (world, "fault: the answer to the next push is lost");
  ps_sync (world, 1);
  g_assert_cmpint (test_proxy_count (ps_world_proxy (world), NULL, "injected"), ==, 1);
  g_assert_cmpint (ps_sync (world, 1), ==, 0);
  g_assert_cmpint (ps_sync (world, 0), ==, 3);
  ps_quiesce (world);
  ps_check_all (world);
  ps_world_free (world);
}

int
main (int    argc,
      char **argv)
{
  gboolean given;
  guint32 seed = ps_seed_from_env (&argc, &argv, 0, &given);

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/procsim/regression/delete-after-applied-edit",
                   test_delete_after_applied_edit);
  g_test_add_func ("/procsim/regression/delete-after-applied-edit-asks",
                   test_delete_after_applied_edit_asks);
  g_test_add_func ("/procsim/regression/question-on-deleted-task",
                   test_question_on_deleted_task);
  g_test_add_func ("/procsim/regression/stale-restore-asks", test_stale_restore_asks);
  g_test_add_func ("/procsim/regression/stale-restore-after-lost-answer",
                   test_stale_restore_after_lost_answer);
  if (given)
    {
      g_autofree char *path = g_strdup_printf ("/procsim/seed/%u", seed);

      g_test_add_data_func (path, GUINT_TO_POINTER (seed), run_seed);
    }
  else
    for (guint i = 0; i < G_N_ELEMENTS (default_seeds); i++)
      {
        g_autofree char *path = g_strdup_printf ("/procsim/seed/%u", default_seeds[i]);

        g_test_add_data_func (path, GUINT_TO_POINTER (default_seeds[i]), run_seed);
      }
  return g_test_run ();
}
