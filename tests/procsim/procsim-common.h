/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "proxy-fixture.h"

G_BEGIN_DECLS

/* A world of real processes for the simulations of tests/procsim: one
 * tandem-server (SQLite in a data dir) on a fixed loopback port, the fault
 * proxy in front of it, and N devices, each a tandem-cli database of its
 * own pointed at the proxy. Every user action goes through tandem-cli; the
 * world keeps a model of what each device was told was done, and the
 * checkers hold the end state to the invariants of DESIGN §8.
 *
 * Everything random comes from the world's seed. What happened is kept in
 * a trace whose tail is printed, with the seed, when a check fails. */

typedef struct _PsWorld PsWorld;

typedef struct
{
  int   status;    /* exit status */
  char *out;
  char *err;
} PsRun;

void ps_run_clear (PsRun *run);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PsRun, ps_run_clear)

/* @on_disk: one device (0) and nothing else keeps its database on the
 * disk, with real fsyncs; the rest live in /dev/shm when it exists. */
PsWorld    *ps_world_new           (const char *name,
                                    guint32     seed,
                                    guint       n_devices,
                                    gboolean    on_disk);
void        ps_world_free          (PsWorld    *world);
GRand      *ps_world_rand          (PsWorld    *world);
guint       ps_world_n_devices     (PsWorld    *world);
TestProxy  *ps_world_proxy         (PsWorld    *world);

/* Adds a line to the trace (printf-style). */
void        ps_trace               (PsWorld    *world,
                                    const char *format,
                                    ...) G_GNUC_PRINTF (2, 3);
/* Fails the test with @message, the seed and the tail of the trace. */
G_NORETURN void ps_fail            (PsWorld    *world,
                                    const char *format,
                                    ...) G_GNUC_PRINTF (2, 3);

/* Runs tandem-cli on @dev; never fails the test by itself. */
void        ps_cli                 (PsWorld           *world,
                                    guint              dev,
                                    const char *const *argv,
                                    PsRun             *run);
/* Starts `tandem-cli sync` on @dev and kills it with SIGKILL after
 * @delay_us unless it ended before; TRUE when it was killed. */
gboolean    ps_sync_killed         (PsWorld    *world,
                                    guint       dev,
                                    gint64      delay_us);
/* Starts a sync on @dev, kills the server with SIGKILL after @delay_us,
 * starts it again on the same data, and waits for the sync. TRUE when the
 * server was killed while the sync was still running. */
gboolean    ps_kill_server_during_sync (PsWorld *world,
                                        guint    dev,
                                        gint64   delay_us);

/* The server */
void        ps_server_stop         (PsWorld    *world,
                                    int         signal);
void        ps_server_start        (PsWorld    *world);
/* Revokes the devices' token and makes a new one; each device signs in
 * again with it when its sync reports that sign-in is needed. */
void        ps_rotate_token        (PsWorld    *world);

/* User actions, recorded in the model. */
void        ps_random_action       (PsWorld    *world,
                                    guint       dev);
char       *ps_add_task            (PsWorld    *world,
                                    guint       dev);
gboolean    ps_edit_field          (PsWorld    *world,
                                    guint       dev,
                                    const char *id,
                                    const char *field,
                                    const char *value);
void        ps_delete_task         (PsWorld    *world,
                                    guint       dev,
                                    const char *id);
void        ps_restore_task        (PsWorld    *world,
                                    guint       dev,
                                    const char *id);

/* One sync; signs in again when asked to, and checks every question the
 * device then holds. Returns the exit status. */
int         ps_sync                (PsWorld    *world,
                                    guint       dev);
/* Answers every question on @dev with random choices. */
void        ps_resolve_all         (PsWorld    *world,
                                    guint       dev);
/* A random fault queued on the proxy (drop request, drop response after
 * commit, delay, 500/503, 429 + Retry-After, duplicate). */
void        ps_random_fault        (PsWorld    *world);
/* Faults off; every device syncs and answers until all agree. */
void        ps_quiesce             (PsWorld    *world);

/* The directed checks: two devices edit different fields of one task (no
 * question) and then the same title (a question on the second). */
void        ps_probe_merge         (PsWorld    *world,
                                    guint       a,
                                    guint       b);

/* Every invariant, after ps_quiesce(). */
void        ps_check_all           (PsWorld    *world);

/* Counters for the TAP output. */
typedef struct
{
  guint actions;
  guint edits;
  guint syncs;
  guint conflicts;
  guint resolutions;
  guint faults;
  guint server_restarts;
  guint server_kills;
  guint client_kills;
  guint token_rotations;
  guint probes;
  guint cli_runs;
} PsCounts;

const PsCounts *ps_world_counts    (PsWorld    *world);
char       *ps_counts_text         (PsWorld    *world);

/* The seed: --procsim-seed=N on the command line or $PROCSIM_SEED, else
 * @fallback; *@given tells which. */
guint32     ps_seed_from_env       (int        *argc,
                                    char     ***argv,
                                    guint32     fallback,
                                    gboolean   *given);

G_END_DECLS
