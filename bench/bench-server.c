/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-bench"

#include "config.h"

#include "bench-server.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "bench-common.h"

#define STOP_TIMEOUT_S 60

static const char *
storage_option (BenchServer *server)
{
  return server->database != NULL ? "--database" : "--data";
}

static const char *
storage (BenchServer *server)
{
  return server->database != NULL ? server->database : server->data_dir;
}

/* A server outlives no benchmark that dies. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

char *
bench_server_create_token (BenchServer  *server,
                           const char   *user,
                           GError      **error)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                              error, server->binary, "token", "create", storage_option (server),
                              storage (server), "--user", user, NULL);
  if (process == NULL || !g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, error))
    return NULL;
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "“%s token create --user %s” failed: %s", server->binary, user, err);
      return NULL;
    }
  return g_strdup (g_strstrip (out));
}

/* The pid of the tandem-server process at or below @pid: a wrapper such as
 * perf runs it as a child. */
static int
find_server_pid (int pid)
{
  for (guint depth = 0; depth < 4; depth++)
    {
      g_autofree char *exe_link = g_strdup_printf ("/proc/%d/exe", pid);
      g_autofree char *exe = g_file_read_link (exe_link, NULL);
      g_autofree char *children_path = g_strdup_printf ("/proc/%d/task/%d/children", pid, pid);
      g_autofree char *children = NULL;

      if (exe != NULL && g_str_has_suffix (exe, "/tandem-server"))
        return pid;
      if (!g_file_get_contents (children_path, &children, NULL, NULL) || *children == '\0')
        return pid;
      pid = atoi (children);
    }
  return pid;
}

gboolean
bench_server_start (BenchServer  *server,
                    GError      **error)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  const char *identifier;
  int pid;

  g_return_val_if_fail (server->process == NULL, FALSE);

  for (guint i = 0; server->wrapper != NULL && server->wrapper[i] != NULL; i++)
    g_ptr_array_add (argv, server->wrapper[i]);
  g_ptr_array_add (argv, server->binary);
  g_ptr_array_add (argv, "serve");
  g_ptr_array_add (argv, (char *) storage_option (server));
  g_ptr_array_add (argv, (char *) storage (server));
  g_ptr_array_add (argv, "--listen");
  g_ptr_array_add (argv, "127.0.0.1:0");
  g_ptr_array_add (argv, "--rate-limit");
  g_ptr_array_add (argv, "0");
  g_ptr_array_add (argv, NULL);

  /* A file, not a pipe: nobody has to keep reading it for the server to go
   * on, and the benchmark reads it back. */
  g_subprocess_launcher_set_stderr_file_path (launcher, server->log_path);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  server->process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata,
                                                  error);
  if (server->process == NULL)
    return FALSE;

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server->process));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (out), FALSE);
  line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, error);
  if (line == NULL || !g_str_has_prefix (line, "listening on "))
    {
      g_autofree char *log = NULL;

      g_file_get_contents (server->log_path, &log, NULL, NULL);
      g_clear_error (error);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "tandem-server did not start: %s",
                   log != NULL ? log : "(no output)");
      return FALSE;
    }
  server->url = g_strdup (line + strlen ("listening on "));
  if (g_str_has_suffix (server->url, "/"))
    server->url[strlen (server->url) - 1] = '\0';
  identifier = g_subprocess_get_identifier (server->process);
  pid = identifier != NULL ? atoi (identifier) : 0;
  server->pid = server->wrapper != NULL && pid > 0 ? find_server_pid (pid) : pid;
  return TRUE;
}

static void
server_exited_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GMainLoop *loop = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  g_main_loop_quit (loop);
  g_main_loop_unref (loop);
}

static gboolean
stop_timeout_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

void
bench_server_stop (BenchServer *server)
{
  g_autoptr(GMainLoop) loop = NULL;
  const char *identifier;
  guint timeout_id;

  if (server->process == NULL)
    return;

  loop = g_main_loop_new (NULL, FALSE);
  identifier = g_subprocess_get_identifier (server->process);
  /* Under a wrapper the server is a process of its own; without one the
   * subprocess knows whether it is still there to be signalled. */
  if (server->pid > 0 && identifier != NULL && server->pid != atoi (identifier))
    kill (server->pid, SIGTERM);
  else
    g_subprocess_send_signal (server->process, SIGTERM);
  g_subprocess_wait_async (server->process, NULL, server_exited_cb, g_main_loop_ref (loop));
  timeout_id = g_timeout_add_seconds (STOP_TIMEOUT_S, stop_timeout_cb, loop);
  g_main_loop_run (loop);
  if (g_subprocess_get_identifier (server->process) != NULL)
    {
      g_printerr ("%s: tandem-server did not stop on SIGTERM; killing it\n", bench_get_name ());
      g_subprocess_force_exit (server->process);
      g_subprocess_wait (server->process, NULL, NULL);
    }
  else
    g_source_remove (timeout_id);
  if (!g_subprocess_get_if_exited (server->process) ||
      g_subprocess_get_exit_status (server->process) != 0)
    g_printerr ("%s: tandem-server ended with wait status %d\n", bench_get_name (),
                g_subprocess_get_status (server->process));
  g_clear_object (&server->process);
}

void
bench_server_clear (BenchServer *server)
{
  g_clear_pointer (&server->binary, g_free);
  g_clear_pointer (&server->data_dir, g_free);
  g_clear_pointer (&server->database, g_free);
  g_clear_pointer (&server->log_path, g_free);
  g_clear_pointer (&server->wrapper, g_strfreev);
  g_clear_pointer (&server->url, g_free);
  g_clear_object (&server->process);
}
