/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What a program run by a test printed, and how it ended. */
typedef struct
{
  int   status;   /* exit status, or -1 when a signal ended it */
  char *out;
  char *err;
} Run;

static inline void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

/* Runs @argv to its end with @launcher (NULL: one that only pipes stdout
 * and stderr, which a given launcher must do too) and fills @result. */
static inline void
run_spawn (GSubprocessLauncher *launcher,
           const char *const   *argv,
           Run                 *result)
{
  g_autoptr(GSubprocessLauncher) plain = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  if (launcher == NULL)
    launcher = plain = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                  G_SUBPROCESS_FLAGS_STDERR_PIPE);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &result->out, &result->err, &error);
  g_assert_no_error (error);
  result->status = g_subprocess_get_if_exited (process) ? g_subprocess_get_exit_status (process)
                                                        : -1;
}

G_END_DECLS
