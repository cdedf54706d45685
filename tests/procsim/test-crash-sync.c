/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-test-crash-sync"

#include "config.h"

#include <signal.h>

#include "procsim-common.h"

/* Crash safety of sync (DESIGN §3, §8): a syncing tandem-cli is killed with
 * SIGKILL at random moments, round after round, with new local edits
 * between rounds and other devices syncing too; then the server itself is
 * killed with SIGKILL during pushes and pulls and started again on the same
 * data. After each part everyone syncs to the end and the checks of
 * procsim-common hold: every device equals the server, every edit a
 * device's command reported done is on the server or in a question that
 * was answered, no op took effect twice, no task exists twice.
 *
 *   PROCSIM_SEED=N          the seed (default 7)
 *   PROCSIM_CLIENT_KILLS=N  client kills to reach (default 200)
 *   PROCSIM_SERVER_KILLS=N  server kills to reach (default 20)
 *
 * Device 0 keeps its database on the disk (real fsyncs); the others and
 * the server use /dev/shm when there is one. */

#define DEFAULT_SEED 7
#define DEFAULT_CLIENT_KILLS 200
#define DEFAULT_SERVER_KILLS 20
#define N_DEVICES 3

static guint32 seed;

static guint
env_uint (const char *name,
          guint       fallback)
{
  const char *text = g_getenv (name);
  guint64 value;

  if (text == NULL || *text == '\0')
    return fallback;
  if (!g_ascii_string_to_unsigned (text, 10, 0, 1000000, &value, NULL))
    g_error ("$%s must be a whole number, not “%s”", name, text);
  return (guint) value;
}

/* Some delays in the network, so that kills also land while a request is
 * on its way or the server has answered and the client has not heard. */
static void
slow_network (PsWorld *world,
              GRand   *rand)
{
  g_autofree char *fault = NULL;

  switch (g_rand_int_range (rand, 0, 4))
    {
    case 0:
      fault = g_strdup_printf ("{\"delay_ms\":%d,\"path\":\"/v1/sync/push\"}",
                               g_rand_int_range (rand, 10, 120));
      break;
    case 1:
      fault = g_strdup_printf ("{\"delay_ms\":%d,\"path\":\"/v1/sync/changes\"}",
                               g_rand_int_range (rand, 10, 120));
      break;
    case 2:
      ps_random_fault (world);
      return;
    default:
      return;
    }
  test_proxy_inject (ps_world_proxy (world), fault);
}

static void
test_client_kills (void)
{
  guint target = env_uint ("PROCSIM_CLIENT_KILLS", DEFAULT_CLIENT_KILLS);
  PsWorld *world = ps_world_new ("test-crash-sync/client", seed, N_DEVICES, TRUE);
  GRand *rand = ps_world_rand (world);
  gint64 start = g_get_monotonic_time ();
  guint kills = 0, attempts = 0, checks = 0;
  g_autofree char *counts = NULL;

  for (guint dev = 0; dev < N_DEVICES; dev++)
    g_free (ps_add_task (world, dev));

  while (kills < target)
    {
      guint victim = g_rand_int_range (rand, 0, N_DEVICES);
      guint other = (victim + 1 + g_rand_int_range (rand, 0, N_DEVICES - 1)) % N_DEVICES;
      guint n_edits = g_rand_int_range (rand, 1, 4);

      if (++attempts > target * 6)
        g_error ("only %u of %u syncs were still running at their kill (seed %u)", kills, target,
                 seed);

      for (guint i = 0; i < n_edits; i++)
        ps_random_action (world, victim);
      if (g_rand_boolean (rand))
        {
          ps_random_action (world, other);
          if (ps_sync (world, other) == 3 && g_rand_boolean (rand))
            ps_resolve_all (world, other);
        }
      slow_network (world, rand);
      /* A sync takes a few tens of milliseconds here: most kills land in
       * it, at every stage. */
      if (ps_sync_killed (world, victim, g_rand_int_range (rand, 0, 60000)))
        kills++;

      if (g_rand_int_range (rand, 0, 4) == 0)
        {
          int status = ps_sync (world, victim);

          if (status == 3 && g_rand_boolean (rand))
            ps_resolve_all (world, victim);
        }
      if (kills > 0 && kills % 50 == 0 && checks < kills / 50)
        {
          checks++;
          ps_quiesce (world);
          ps_check_all (world);
        }
    }

  ps_quiesce (world);
  ps_check_all (world);
  counts = ps_counts_text (world);
  g_test_message ("client kills: %u of %u syncs killed while running (target %u); %s; %.1f s",
                  kills, attempts, target, counts, (g_get_monotonic_time () - start) / 1e6);
  g_assert_cmpuint (ps_world_counts (world)->client_kills, ==, kills);
  ps_world_free (world);
}

static void
test_server_kills (void)
{
  guint target = env_uint ("PROCSIM_SERVER_KILLS", DEFAULT_SERVER_KILLS);
  PsWorld *world = ps_world_new ("test-crash-sync/server", seed ^ 0x5eed, N_DEVICES, FALSE);
  GRand *rand = ps_world_rand (world);
  gint64 start = g_get_monotonic_time ();
  guint kills = 0, during = 0, attempts = 0;
  g_autofree char *counts = NULL;

  for (guint dev = 0; dev < N_DEVICES; dev++)
    g_free (ps_add_task (world, dev));

  while (during < target)
    {
      guint dev = g_rand_int_range (rand, 0, N_DEVICES);
      /* Bigger pushes now and then, so that the kill can land while the
       * server applies them. */
      guint n_edits = g_rand_int_range (rand, 0, 4) == 0 ? g_rand_int_range (rand, 10, 30)
                                                         : g_rand_int_range (rand, 1, 4);

      if (++attempts > target * 8)
        g_error ("only %u of %u server kills landed during a sync (seed %u)", during, target,
                 seed);
      for (guint i = 0; i < n_edits; i++)
        ps_random_action (world, dev);
      if (g_rand_int_range (rand, 0, 3) == 0)
        ps_random_action (world, (dev + 1) % N_DEVICES);
      if (ps_kill_server_during_sync (world, dev, g_rand_int_range (rand, 0, 30000)))
        during++;
      kills++;
      if (g_rand_boolean (rand))
        {
          guint other = (dev + 1) % N_DEVICES;

          if (ps_sync (world, other) == 3 && g_rand_boolean (rand))
            ps_resolve_all (world, other);
        }
    }

  ps_quiesce (world);
  ps_check_all (world);
  counts = ps_counts_text (world);
  g_test_message ("server kills: %u SIGKILLs, %u of them while a sync ran (target %u); %s; "
                  "%.1f s", kills, during, target, counts,
                  (g_get_monotonic_time () - start) / 1e6);
  ps_world_free (world);
}

int
main (int    argc,
      char **argv)
{
  gboolean given;

  seed = ps_seed_from_env (&argc, &argv, DEFAULT_SEED, &given);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/crash-sync/client-sigkill", test_client_kills);
  g_test_add_func ("/crash-sync/server-sigkill", test_server_kills);
  return g_test_run ();
}
