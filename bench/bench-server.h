/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A real tandem-server for a benchmark: a child process on a loopback port
 * it picks, with --rate-limit 0 (a benchmark's requests come from a few
 * tokens), killed by the kernel if the benchmark dies. Messages go to
 * stderr under bench_get_name(). */

typedef struct
{
  /* Set by the caller; bench_server_clear() frees them. */
  char        *binary;
  char        *data_dir;    /* --data DIR */
  char        *database;    /* --database URL instead of data_dir, or NULL */
  char        *log_path;    /* the server's stderr: one line per request */
  char       **wrapper;     /* a command it runs under, e.g. perf record … --, or NULL */

  /* Set by bench_server_start(). */
  char        *url;         /* http://127.0.0.1:PORT, no trailing slash */
  GSubprocess *process;
  int          pid;         /* of tandem-server itself, also under a wrapper */
} BenchServer;

/* Runs `tandem-server token create --user @user` on the server's storage
 * and returns the token. */
char     *bench_server_create_token (BenchServer  *server,
                                     const char   *user,
                                     GError      **error);

/* Starts the server and waits for its "listening on URL" line. */
gboolean  bench_server_start        (BenchServer  *server,
                                     GError      **error);

/* SIGTERM to the server itself, as a service manager would (a wrapper then
 * ends on its own); SIGKILL if it is not gone within a minute. Says so on
 * stderr when it ends in any other way than with status 0. */
void      bench_server_stop         (BenchServer  *server);

/* Frees what @server holds; stop it first. */
void      bench_server_clear        (BenchServer  *server);

G_END_DECLS
