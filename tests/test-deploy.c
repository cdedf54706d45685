/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include <gio/gio.h>

#include "test-run.h"

/* The systemd unit of tandem-server (data/tandem-server.service.in), as
 * the build generates it: checked with systemd-analyze, and its command
 * line run against the real binary.
 *
 * Arguments: the generated unit, and the directory it expects the binary
 * in once installed. */

static const char *unit_path;
static const char *installed_bindir;

static const char *
server_binary (void)
{
  const char *path = g_getenv ("TANDEM_SERVER");

  g_assert_nonnull (path);
  return path;
}

static char *
read_unit (void)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (unit_path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

/* The value of the first "KEY=" line of @text, or NULL. */
static char *
unit_value (const char *text,
            const char *key)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_autofree char *prefix = g_strconcat (key, "=", NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], prefix))
      return g_strdup (lines[i] + strlen (prefix));
  return NULL;
}

/* systemd-analyze verify checks that ExecStart= names an executable, so
 * the copy it checks runs the binary of this build instead of the one
 * the unit will have once installed. */
static char *
unit_for_build (const char *text)
{
  g_autofree char *installed = g_build_filename (installed_bindir, "tandem-server", NULL);
  g_autofree char *exec_start = unit_value (text, "ExecStart");
  g_autofree char *expected = g_strconcat (installed, " serve ", NULL);
  g_auto(GStrv) parts = NULL;

  g_assert_nonnull (exec_start);
  g_assert_true (g_str_has_prefix (exec_start, expected));
  parts = g_strsplit (text, installed, -1);
  return g_strjoinv (server_binary (), parts);
}

static void
run (const char *const *argv,
     Run               *result)
{
  run_spawn (NULL, argv, result);
}

/* Writes @text as tandem-server.service in a new directory (unit files
 * are checked under their own name). */
static char *
write_unit (const char *text,
            char      **dir)
{
  g_autoptr(GError) error = NULL;
  char *path;

  *dir = g_dir_make_tmp ("tandem-unit-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (*dir, "tandem-server.service", NULL);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  return path;
}

static void
remove_unit (char *path,
             char *dir)
{
  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
}

/* systemd-analyze verify on @text: its exit status, and what it said. */
static void
verify (const char *text,
        Run        *result)
{
  char *dir = NULL;
  char *path = write_unit (text, &dir);

  /* --man=no: the unit's man page is checked by test-programs. */
  run ((const char *const[]) { "systemd-analyze", "verify", "--man=no", path, NULL }, result);
  remove_unit (path, dir);
}

static gboolean
have_systemd_analyze (void)
{
  g_autofree char *path = g_find_program_in_path ("systemd-analyze");

  if (path == NULL)
    g_test_skip ("systemd-analyze is not installed (Debian: systemd)");
  return path != NULL;
}

static void
test_unit_verifies (void)
{
  g_autofree char *text = read_unit ();
  g_autofree char *unit = NULL;
  g_auto(Run) result = { 0 };

  if (!have_systemd_analyze ())
    return;

  unit = unit_for_build (text);
  verify (unit, &result);
  /* A warning (an unknown key, a value it cannot parse) still exits 0:
   * anything said is a failure. */
  g_assert_cmpstr (result.err, ==, "");
  g_assert_cmpstr (result.out, ==, "");
  g_assert_cmpint (result.status, ==, 0);
}

/* The check above can fail: systemd-analyze reports each kind of mistake
 * it is there to catch. */
static void
test_verify_catches_mistakes (void)
{
  static const struct
  {
    const char *from;
    const char *to;
    const char *said;
  } mistakes[] = {
    { "ProtectSystem=strict", "ProtectSystem=strickt", "strickt" },
    { "DynamicUser=yes", "DynamicUsr=yes", "DynamicUsr" },
    { "/tandem-server serve", "/tandem-server-missing serve", "tandem-server-missing" },
  };
  g_autofree char *text = read_unit ();
  g_autofree char *unit = NULL;

  if (!have_systemd_analyze ())
    return;

  unit = unit_for_build (text);
  for (guint i = 0; i < G_N_ELEMENTS (mistakes); i++)
    {
      g_auto(GStrv) parts = g_strsplit (unit, mistakes[i].from, 2);
      g_autofree char *broken = NULL;
      g_auto(Run) result = { 0 };

      g_assert_cmpuint (g_strv_length (parts), ==, 2);
      broken = g_strjoinv (mistakes[i].to, parts);
      verify (broken, &result);
      if (strstr (result.err, mistakes[i].said) == NULL)
        g_error ("systemd-analyze did not report “%s”: %s", mistakes[i].to, result.err);
    }
}

/* The sandbox keeps systemd's exposure score at "OK" or better (2.0 of
 * 10; it is 1.6 as written): dropping a hardening setting fails this. */
static void
test_unit_sandbox (void)
{
  g_autofree char *text = read_unit ();
  g_autofree char *unit = NULL;
  g_auto(Run) result = { 0 };
  char *dir = NULL;
  char *path;

  if (!have_systemd_analyze ())
    return;

  unit = unit_for_build (text);
  path = write_unit (unit, &dir);
  run ((const char *const[]) { "systemd-analyze", "security", "--offline=yes", "--threshold=20",
                               path, NULL }, &result);
  remove_unit (path, dir);
  if (result.status != 0)
    g_error ("exposure above 2.0:\n%s%s", result.out, result.err);
}

/* The unit's command line, as systemd would expand it with the default
 * environment and the options of @options, is one the server accepts:
 * it serves, then stops cleanly on SIGTERM. */
static void
run_exec_start (const char *options)
{
  g_autofree char *text = read_unit ();
  g_autofree char *exec_start = unit_value (text, "ExecStart");
  g_autofree char *listen = unit_value (text, "Environment");
  g_autofree char *state = g_dir_make_tmp ("tandem-unit-state-XXXXXX", NULL);
  g_autofree char *data_dir = g_build_filename (state, "tandem-server", NULL);
  g_autofree char *db = g_build_filename (data_dir, "tandem-server.db", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) words = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  g_autoptr(GError) error = NULL;

  /* The default address is for a TLS proxy on the same machine. */
  g_assert_cmpstr (listen, ==, "TANDEM_LISTEN=127.0.0.1:8080");

  g_shell_parse_argv (exec_start, NULL, &words, &error);
  g_assert_no_error (error);
  for (guint i = 0; words[i] != NULL; i++)
    {
      if (i == 0)
        g_ptr_array_add (argv, g_strdup (server_binary ()));
      else if (g_str_equal (words[i], "%S/tandem-server"))
        g_ptr_array_add (argv, g_strdup (data_dir));
      else if (g_str_equal (words[i], "${TANDEM_LISTEN}"))
        g_ptr_array_add (argv, g_strdup ("127.0.0.1:0"));   /* a free port, for the test */
      else if (g_str_equal (words[i], "$TANDEM_SERVER_OPTIONS"))
        {
          g_auto(GStrv) more = g_strsplit_set (options, " ", -1);

          for (guint j = 0; more[j] != NULL; j++)
            if (*more[j] != '\0')
              g_ptr_array_add (argv, g_strdup (more[j]));
        }
      else
        {
          /* Nothing else is left for systemd to expand. */
          g_assert_null (strchr (words[i], '$'));
          g_assert_null (strchr (words[i], '%'));
          g_ptr_array_add (argv, g_strdup (words[i]));
        }
    }
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_newv ((const char *const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                               &error);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "listening on http://127.0.0.1:"));

  g_subprocess_send_signal (process, SIGTERM);
  g_subprocess_wait_check (process, NULL, &error);
  g_assert_no_error (error);

  /* --data made the data directory itself, as StateDirectory= would. */
  g_assert_true (g_file_test (db, G_FILE_TEST_IS_REGULAR));
  g_unlink (db);
  g_rmdir (data_dir);
  g_rmdir (state);
}

static void
test_exec_start_runs (void)
{
  run_exec_start ("");
  /* The example options of the unit's comment. */
  run_exec_start ("--rate-limit 600 --max-body 4194304 --retention-days 30");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  if (argc != 3)
    g_error ("usage: %s UNIT INSTALLED_BINDIR", argv[0]);
  unit_path = argv[1];
  installed_bindir = argv[2];

  g_test_add_func ("/deploy/unit/verifies", test_unit_verifies);
  g_test_add_func ("/deploy/unit/verify-catches-mistakes", test_verify_catches_mistakes);
  g_test_add_func ("/deploy/unit/sandbox", test_unit_sandbox);
  g_test_add_func ("/deploy/unit/exec-start-runs", test_exec_start_runs);

  return g_test_run ();
}
