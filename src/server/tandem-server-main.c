/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-server"

#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tandem-http.h"
#include "tandem-server-storage.h"
#include "tandem-service.h"

/* Exit statuses: scripts and service managers rely on them. */
enum
{
  EXIT_OK = 0,
  EXIT_RUNTIME = 1,     /* the data directory, the database, the certificate or the port could not be used */
  EXIT_USAGE = 2,       /* bad command line: nothing was done */
};

#define DEFAULT_RETENTION_DAYS 30
#define DEFAULT_PURGE_INTERVAL (60 * 60)
#define DEFAULT_SHUTDOWN_TIMEOUT 10

static const char top_level_help[] =
  "Usage:\n"
  "  tandem-server serve --data DIR --listen HOST:PORT [--retention-days N]\n"
  "                      [--rate-limit REQUESTS_PER_MINUTE] [--max-body BYTES]\n"
  "                      [--tls-cert FILE --tls-key FILE] [--purge-interval SECONDS]\n"
  "                      [--shutdown-timeout SECONDS]\n"
  "  tandem-server serve --database URL --listen HOST:PORT [the same options]\n"
  "  tandem-server token create --data DIR --user NAME\n"
  "  tandem-server token revoke --data DIR --token TOKEN\n"
  "  tandem-server migrate --database URL\n"
  "\n"
  "The Tandem sync server. “serve” prints “listening on URL” on stdout once\n"
  "it accepts requests; logs go to stderr. With port 0 it picks a free port.\n"
  "On SIGTERM or SIGINT it stops accepting connections, lets the requests\n"
  "under way finish, closes the database and exits 0.\n"
  "\n"
  "Every command takes --data DIR (SQLite in DIR) or --database URL\n"
  "(PostgreSQL, postgresql://USER@HOST:PORT/DB; several servers may share\n"
  "one). Opening a database creates or upgrades its schema; “migrate” does\n"
  "only that.\n"
  "\n"
  "Run “tandem-server COMMAND --help” for the options of a command.\n"
  "\n"
  "Options:\n"
  "  -h, --help     Show this help\n"
  "  --version      Show the version\n";

static int
usage_error (const char *format,
             ...) G_GNUC_PRINTF (1, 2);

/* One line on stderr, then exit status 2. */
static int
usage_error (const char *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_printerr ("tandem-server: %s (see “tandem-server --help”)\n", message);
  return EXIT_USAGE;
}

static int
runtime_error (const char *format,
               ...) G_GNUC_PRINTF (1, 2);

static int
runtime_error (const char *format,
               ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_printerr ("tandem-server: %s\n", message);
  return EXIT_RUNTIME;
}

/* Parses the options of one command; FALSE with a usage message on stderr. */
static gboolean
parse_options (const char   *command,
               GOptionEntry *entries,
               int           argc,
               char        **argv)
{
  g_autofree char *prgname = g_strdup_printf ("tandem-server %s", command);
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char **args = g_new0 (char *, argc + 2);
  int n_args = argc + 1;

  /* GOption takes argv[0] as the program name in --help. */
  args[0] = prgname;
  memcpy (args + 1, argv, argc * sizeof (char *));

  g_set_prgname (prgname);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &n_args, &args, &error))
    {
      usage_error ("%s: %s", command, error->message);
      return FALSE;
    }
  if (n_args > 1)
    {
      usage_error ("%s: unexpected argument “%s”", command, args[1]);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_number (const char *option,
              const char *value,
              guint64     min,
              guint64     max,
              guint64    *out)
{
  g_autoptr(GError) error = NULL;

  if (value == NULL)
    return TRUE;

  if (!g_ascii_string_to_unsigned (value, 10, min, max, out, &error))
    {
      usage_error ("--%s: “%s” is not a whole number from %" G_GUINT64_FORMAT
                   " to %" G_GUINT64_FORMAT, option, value, min, max);
      return FALSE;
    }
  return TRUE;
}

/* HOST:PORT, with HOST an IP address (IPv6 in brackets) or localhost. */
static gboolean
parse_listen (const char  *value,
              char       **host,
              guint       *port)
{
  g_autofree char *parsed_host = NULL;
  const char *port_text;
  guint64 parsed_port;

  if (value[0] == '[')
    {
      const char *end = strstr (value, "]:");

      if (end == NULL)
        {
          usage_error ("--listen: “%s” is not [IPV6]:PORT", value);
          return FALSE;
        }
      parsed_host = g_strndup (value + 1, end - value - 1);
      port_text = end + 2;
      if (!g_hostname_is_ip_address (parsed_host) || strchr (parsed_host, ':') == NULL)
        {
          usage_error ("--listen: “%s” is not an IPv6 address", parsed_host);
          return FALSE;
        }
    }
  else
    {
      const char *colon = strrchr (value, ':');

      if (colon == NULL)
        {
          usage_error ("--listen: “%s” is not HOST:PORT, e.g. 127.0.0.1:8080", value);
          return FALSE;
        }
      parsed_host = g_strndup (value, colon - value);
      port_text = colon + 1;
      if (strchr (parsed_host, ':') != NULL)
        {
          usage_error ("--listen: put an IPv6 address in brackets, e.g. [::1]:8080");
          return FALSE;
        }
      if (g_ascii_strcasecmp (parsed_host, "localhost") != 0 &&
          !g_hostname_is_ip_address (parsed_host))
        {
          usage_error ("--listen: “%s” is not an IP address or localhost", parsed_host);
          return FALSE;
        }
    }

  if (!g_ascii_string_to_unsigned (port_text, 10, 0, G_MAXUINT16, &parsed_port, NULL))
    {
      usage_error ("--listen: “%s” is not a port number from 0 to 65535", port_text);
      return FALSE;
    }

  *host = g_steal_pointer (&parsed_host);
  *port = parsed_port;
  return TRUE;
}

/* Exactly one of --data DIR and --database URL; FALSE with a usage message. */
static gboolean
check_storage_options (const char *command,
                       const char *data_dir,
                       const char *database)
{
  if (data_dir != NULL && database != NULL)
    {
      usage_error ("%s: give --data DIR or --database URL, not both", command);
      return FALSE;
    }
  if (data_dir == NULL && database == NULL)
    {
      usage_error ("%s: --data DIR or --database URL is required", command);
      return FALSE;
    }
  /* Not echoed: the URL may hold a password. */
  if (database != NULL && !g_str_has_prefix (database, "postgresql://") &&
      !g_str_has_prefix (database, "postgres://"))
    {
      usage_error ("%s: --database takes a postgresql:// URL", command);
      return FALSE;
    }
  return TRUE;
}

static TandemService *
open_service (const char *data_dir,
              const char *database,
              guint       retention_days,
              int        *status)
{
  g_autoptr(TandemServerStorage) storage = NULL;
  g_autoptr(GError) error = NULL;

  if (database != NULL)
    {
      storage = tandem_pg_storage_open (database, &error);
      if (storage == NULL)
        {
          *status = runtime_error ("cannot open the database: %s", error->message);
          return NULL;
        }
      return tandem_service_new (storage, retention_days);
    }

  storage = tandem_sqlite_storage_open (data_dir, &error);
  if (storage == NULL)
    {
      *status = runtime_error ("cannot open the data directory %s: %s", data_dir, error->message);
      return NULL;
    }
  return tandem_service_new (storage, retention_days);
}

/* serve */

/* A graceful stop: on the first SIGTERM or SIGINT the server stops
 * accepting connections and waits for the requests under way, at most
 * timeout seconds; a second signal stops it at once. */
typedef struct
{
  GMainLoop  *loop;
  TandemHttp *http;
  guint       timeout;
  const char *signal_name;   /* the first signal received, or NULL */
  gulong      n_active_id;
  guint       timeout_id;
  gboolean    timed_out;
} Stop;

static void
stop_now (Stop *stop)
{
  g_clear_signal_handler (&stop->n_active_id, stop->http);
  g_clear_handle_id (&stop->timeout_id, g_source_remove);
  g_main_loop_quit (stop->loop);
}

static void
n_active_cb (GObject    *object,
             GParamSpec *pspec,
             gpointer    user_data)
{
  Stop *stop = user_data;

  if (tandem_http_get_n_active (stop->http) == 0)
    stop_now (stop);
}

static gboolean
stop_timeout_cb (gpointer user_data)
{
  Stop *stop = user_data;

  stop->timeout_id = 0;
  stop->timed_out = TRUE;
  stop_now (stop);
  return G_SOURCE_REMOVE;
}

static void
stop_on_signal (Stop       *stop,
                const char *signal_name)
{
  if (stop->signal_name != NULL)
    {
      stop_now (stop);
      return;
    }

  stop->signal_name = signal_name;
  tandem_http_stop_listening (stop->http);
  if (tandem_http_get_n_active (stop->http) == 0)
    {
      stop_now (stop);
      return;
    }
  stop->n_active_id = g_signal_connect (stop->http, "notify::n-active", G_CALLBACK (n_active_cb), stop);
  stop->timeout_id = g_timeout_add_seconds (stop->timeout, stop_timeout_cb, stop);
}

static gboolean
sigterm_cb (gpointer user_data)
{
  stop_on_signal (user_data, "SIGTERM");
  return G_SOURCE_CONTINUE;
}

static gboolean
sigint_cb (gpointer user_data)
{
  stop_on_signal (user_data, "SIGINT");
  return G_SOURCE_CONTINUE;
}

static gboolean
purge_cb (gpointer user_data)
{
  TandemService *service = user_data;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GError) error = NULL;
  guint n_purged = 0;

  /* A failed purge is retried at the next tick; serving goes on. */
  if (!tandem_service_purge (service, now, &n_purged, &error))
    g_message ("purging old tombstones and idempotency keys failed: %s", error->message);
  else if (n_purged > 0)
    g_message ("purged %u old tombstones and idempotency keys", n_purged);

  return G_SOURCE_CONTINUE;
}

typedef struct
{
  TandemService *service;
  guint          id;
} PurgeOnce;

static gboolean
purge_once_cb (gpointer user_data)
{
  PurgeOnce *once = user_data;

  once->id = 0;
  purge_cb (once->service);
  return G_SOURCE_REMOVE;
}

static int
serve (int    argc,
       char **argv)
{
  g_autofree char *data_dir = NULL;
  g_autofree char *database = NULL;
  g_autofree char *listen = NULL;
  g_autofree char *retention_text = NULL;
  g_autofree char *rate_limit_text = NULL;
  g_autofree char *max_body_text = NULL;
  g_autofree char *tls_cert = NULL;
  g_autofree char *tls_key = NULL;
  g_autofree char *purge_interval_text = NULL;
  g_autofree char *shutdown_timeout_text = NULL;
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "Keep the database in DIR", "DIR" },
    { "database", 0, 0, G_OPTION_ARG_STRING, &database,
      "Keep the data in PostgreSQL (postgresql://USER@HOST:PORT/DB)", "URL" },
    { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, "Listen on HOST:PORT (port 0: any free port)", "HOST:PORT" },
    { "retention-days", 0, 0, G_OPTION_ARG_STRING, &retention_text,
      "Keep tombstones and idempotency keys N days (default 30; 0: purge at once)", "N" },
    { "rate-limit", 0, 0, G_OPTION_ARG_STRING, &rate_limit_text,
      "Allow N requests per minute per token (default 600, 0: no limit)", "N" },
    { "max-body", 0, 0, G_OPTION_ARG_STRING, &max_body_text,
      "Refuse request bodies over BYTES (default 4194304)", "BYTES" },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &tls_cert, "Serve HTTPS with this PEM certificate", "FILE" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &tls_key, "The PEM private key of --tls-cert", "FILE" },
    { "purge-interval", 0, 0, G_OPTION_ARG_STRING, &purge_interval_text,
      "Purge expired tombstones every SECONDS (default 3600) and at start", "SECONDS" },
    { "shutdown-timeout", 0, 0, G_OPTION_ARG_STRING, &shutdown_timeout_text,
      "On SIGTERM, wait up to SECONDS for requests under way (default 10)", "SECONDS" },
    { NULL }
  };
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(TandemService) service = NULL;
  g_autoptr(TandemHttp) http = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *host = NULL;
  guint port = 0;
  guint64 retention_days = DEFAULT_RETENTION_DAYS;
  guint64 rate_limit = TANDEM_HTTP_DEFAULT_RATE_LIMIT;
  guint64 max_body = TANDEM_HTTP_DEFAULT_MAX_BODY;
  guint64 purge_interval = DEFAULT_PURGE_INTERVAL;
  guint64 shutdown_timeout = DEFAULT_SHUTDOWN_TIMEOUT;
  Stop stop = { 0 };
  guint n_cut;
  guint sigterm_id;
  guint sigint_id;
  guint purge_id;
  PurgeOnce purge_once = { 0 };
  int status = EXIT_OK;

  if (!parse_options ("serve", entries, argc, argv))
    return EXIT_USAGE;

  if (!check_storage_options ("serve", data_dir, database))
    return EXIT_USAGE;
  if (listen == NULL)
    return usage_error ("serve: --listen HOST:PORT is required");
  if (!parse_listen (listen, &host, &port) ||
      !parse_number ("retention-days", retention_text, 0, 36500, &retention_days) ||
      !parse_number ("rate-limit", rate_limit_text, 0, G_MAXUINT, &rate_limit) ||
      !parse_number ("max-body", max_body_text, 1, G_MAXINT64, &max_body) ||
      !parse_number ("purge-interval", purge_interval_text, 1, G_MAXINT32, &purge_interval) ||
      !parse_number ("shutdown-timeout", shutdown_timeout_text, 1, 3600, &shutdown_timeout))
    return EXIT_USAGE;
  if ((tls_cert == NULL) != (tls_key == NULL))
    return usage_error ("serve: --tls-cert and --tls-key go together");

  if (tls_cert != NULL)
    {
      certificate = g_tls_certificate_new_from_files (tls_cert, tls_key, &error);
      if (certificate == NULL)
        return runtime_error ("cannot load the TLS certificate %s with key %s: %s",
                              tls_cert, tls_key, error->message);
    }

  service = open_service (data_dir, database, retention_days, &status);
  if (service == NULL)
    return status;

  http = tandem_http_new (service, max_body, (guint) rate_limit);
  if (!tandem_http_listen (http, host, port, certificate, &error))
    return runtime_error ("cannot listen on %s: %s", listen, error->message);
  /* Tokens travel in every request: in the clear they belong on loopback
   * only (a TLS proxy in front on the same machine). Said, not refused: a
   * private network behind a proxy on another host is the operator's call. */
  if (certificate == NULL)
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (host);

      if (address == NULL || !g_inet_address_get_is_loopback (address))
        g_printerr ("tandem-server: warning: serving plain HTTP on %s, not a loopback address: "
                    "bearer tokens cross the network unencrypted; use --tls-cert/--tls-key or "
                    "a TLS reverse proxy (docs/deploy.md)\n", host);
    }

  loop = g_main_loop_new (NULL, FALSE);
  stop.loop = loop;
  stop.http = http;
  stop.timeout = (guint) shutdown_timeout;
  sigterm_id = g_unix_signal_add (SIGTERM, sigterm_cb, &stop);
  sigint_id = g_unix_signal_add (SIGINT, sigint_cb, &stop);
  purge_once.service = service;
  purge_once.id = g_idle_add (purge_once_cb, &purge_once);
  purge_id = g_timeout_add_seconds ((guint) purge_interval, purge_cb, service);

  /* The only line on stdout: scripts and tests wait for it. */
  printf ("listening on %s\n", tandem_http_get_url (http));
  fflush (stdout);

  g_main_loop_run (loop);

  g_source_remove (sigterm_id);
  g_source_remove (sigint_id);
  g_source_remove (purge_id);
  g_clear_handle_id (&purge_once.id, g_source_remove);
  g_clear_signal_handler (&stop.n_active_id, http);
  g_clear_handle_id (&stop.timeout_id, g_source_remove);
  n_cut = tandem_http_get_n_active (http);

  /* Closes the connections (cutting off what is still under way), then the
   * database: SQLite checkpoints its write-ahead log into the database file,
   * PostgreSQL connections end. */
  g_clear_object (&http);
  g_clear_object (&service);

  if (n_cut == 0)
    g_message ("stopped on %s: every request answered; database closed", stop.signal_name);
  else
    g_message ("stopped on %s: cut off %u %s still under way %s; database closed",
               stop.signal_name, n_cut, n_cut == 1 ? "request" : "requests",
               stop.timed_out ? "after the shutdown timeout" : "on a second signal");

  return EXIT_OK;
}

/* token */

static int
token_create (int    argc,
              char **argv)
{
  g_autofree char *data_dir = NULL;
  g_autofree char *database = NULL;
  g_autofree char *user = NULL;
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "The server's data directory", "DIR" },
    { "database", 0, 0, G_OPTION_ARG_STRING, &database, "The server's PostgreSQL database", "URL" },
    { "user", 0, 0, G_OPTION_ARG_STRING, &user, "The user the token signs in as (created if new)", "NAME" },
    { NULL }
  };
  g_autoptr(TandemService) service = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  int status = EXIT_OK;

  if (!parse_options ("token create", entries, argc, argv))
    return EXIT_USAGE;
  if (!check_storage_options ("token create", data_dir, database))
    return EXIT_USAGE;
  if (user == NULL || *user == '\0')
    return usage_error ("token create: --user NAME is required");

  service = open_service (data_dir, database, DEFAULT_RETENTION_DAYS, &status);
  if (service == NULL)
    return status;

  token = tandem_service_create_token (service, user, &error);
  if (token == NULL)
    return runtime_error ("cannot create a token for %s: %s", user, error->message);

  printf ("%s\n", token);
  fflush (stdout);
  return EXIT_OK;
}

static int
token_revoke (int    argc,
              char **argv)
{
  g_autofree char *data_dir = NULL;
  g_autofree char *database = NULL;
  g_autofree char *token = NULL;
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "The server's data directory", "DIR" },
    { "database", 0, 0, G_OPTION_ARG_STRING, &database, "The server's PostgreSQL database", "URL" },
    { "token", 0, 0, G_OPTION_ARG_STRING, &token, "The token to revoke", "TOKEN" },
    { NULL }
  };
  g_autoptr(TandemService) service = NULL;
  g_autoptr(GError) error = NULL;
  int status = EXIT_OK;

  if (!parse_options ("token revoke", entries, argc, argv))
    return EXIT_USAGE;
  if (!check_storage_options ("token revoke", data_dir, database))
    return EXIT_USAGE;
  if (token == NULL || *token == '\0')
    return usage_error ("token revoke: --token TOKEN is required");

  service = open_service (data_dir, database, DEFAULT_RETENTION_DAYS, &status);
  if (service == NULL)
    return status;

  if (!tandem_service_revoke_token (service, token, &error))
    return runtime_error ("cannot revoke the token: %s", error->message);

  return EXIT_OK;
}

/* migrate */

static int
migrate (int    argc,
         char **argv)
{
  g_autofree char *data_dir = NULL;
  g_autofree char *database = NULL;
  GOptionEntry entries[] = {
    { "database", 0, 0, G_OPTION_ARG_STRING, &database,
      "The PostgreSQL database to create or upgrade (postgresql://USER@HOST:PORT/DB)", "URL" },
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "The data directory to create or upgrade", "DIR" },
    { NULL }
  };
  g_autoptr(TandemService) service = NULL;
  int status = EXIT_OK;

  if (!parse_options ("migrate", entries, argc, argv))
    return EXIT_USAGE;
  if (!check_storage_options ("migrate", data_dir, database))
    return EXIT_USAGE;

  /* Opening brings the schema up to date (several processes may do it at
   * once: they take turns); a deployment runs this before starting servers. */
  service = open_service (data_dir, database, DEFAULT_RETENTION_DAYS, &status);
  if (service == NULL)
    return status;
  return EXIT_OK;
}

int
main (int    argc,
      char **argv)
{
  const char *command;

  setlocale (LC_ALL, "");
  /* The protocol speaks English: validation messages shared with the app
   * are translated there, never in a problem body or the server's log. */
  setlocale (LC_MESSAGES, "C");
  g_set_prgname ("tandem-server");

  /* stdout carries only "listening on URL" (or a token). */
  g_log_writer_default_set_use_stderr (TRUE);

  /* A client that goes away must not kill the server. */
  signal (SIGPIPE, SIG_IGN);

  if (argc < 2)
    return usage_error ("missing command");

  command = argv[1];
  if (g_str_equal (command, "--help") || g_str_equal (command, "-h") || g_str_equal (command, "help"))
    {
      fputs (top_level_help, stdout);
      return EXIT_OK;
    }
  if (g_str_equal (command, "--version"))
    {
      printf ("tandem-server %s\n", PACKAGE_VERSION);
      return EXIT_OK;
    }

  if (g_str_equal (command, "serve"))
    return serve (argc - 2, argv + 2);

  if (g_str_equal (command, "migrate"))
    return migrate (argc - 2, argv + 2);

  if (g_str_equal (command, "token"))
    {
      if (argc < 3)
        return usage_error ("token: missing “create” or “revoke”");
      if (g_str_equal (argv[2], "create"))
        return token_create (argc - 3, argv + 3);
      if (g_str_equal (argv[2], "revoke"))
        return token_revoke (argc - 3, argv + 3);
      return usage_error ("token: unknown command “%s”; use “create” or “revoke”", argv[2]);
    }

  if (command[0] == '-')
    return usage_error ("unknown option “%s”", command);
  return usage_error ("unknown command “%s”", command);
}
