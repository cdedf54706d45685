/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <locale.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "tandem-position.h"
#include "tandem-store.h"

/* The translations as people get them: the catalogs built from po/ are
 * found by the app (through $TANDEM_LOCALEDIR, as `meson devenv` sets it)
 * and by the core it links, and the language follows the environment.
 *
 * Arguments: the app's binary and the directory of the built catalogs
 * (LANG/LC_MESSAGES/tandem.mo). */

static const char *app_binary;
static const char *locale_dir;

/* Runs the app with @args under @language (NULL: untranslated) and returns
 * its standard output. */
static char *
run_app (const char         *language,
         const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  /* --help needs no display; keep the app away from any there is. */
  g_subprocess_launcher_unsetenv (launcher, "DISPLAY");
  g_subprocess_launcher_unsetenv (launcher, "WAYLAND_DISPLAY");
  g_subprocess_launcher_unsetenv (launcher, "LANG");
  g_subprocess_launcher_unsetenv (launcher, "LC_MESSAGES");
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_setenv (launcher, "TANDEM_LOCALEDIR", locale_dir, TRUE);
  if (language != NULL)
    g_subprocess_launcher_setenv (launcher, "LANGUAGE", language, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "LANGUAGE");

  g_ptr_array_add (argv, (char *) app_binary);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    g_error ("%s %s failed: %s", app_binary, args[0], err);
  return g_steal_pointer (&out);
}

static void
assert_contains (const char *haystack,
                 const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_error ("“%s” not found in:\n%s", needle, haystack);
}

static void
assert_lacks (const char *haystack,
              const char *needle)
{
  if (strstr (haystack, needle) != NULL)
    g_error ("“%s” should not appear in:\n%s", needle, haystack);
}

static void
test_app_help_french (void)
{
  const char * const args[] = { "--help", NULL };
  g_autofree char *out = run_app ("fr", args);

  assert_contains (out, "--db=CHEMIN");
  assert_contains (out, "Ouvrir les tâches de la base de données située à CHEMIN");
  assert_contains (out, "Afficher la version et quitter");
  assert_lacks (out, "Show the version and quit");
}

static void
test_app_help_german (void)
{
  const char * const args[] = { "--help", NULL };
  g_autofree char *out = run_app ("de", args);

  assert_contains (out, "--db=PFAD");
  assert_contains (out, "Version anzeigen und beenden");
  assert_lacks (out, "Show the version and quit");
}

/* Without a language the same binary speaks English: the difference above
 * comes from the catalogs. */
static void
test_app_help_untranslated (void)
{
  const char * const args[] = { "--help", NULL };
  g_autofree char *out = run_app (NULL, args);

  assert_contains (out, "--db=PATH");
  assert_contains (out, "Show the version and quit");
}

/* An unknown language falls back to English rather than to another one. */
static void
test_app_help_unknown_language (void)
{
  const char * const args[] = { "--help", NULL };
  g_autofree char *out = run_app ("xx", args);

  assert_contains (out, "Show the version and quit");
}

/* What the app shows when the database cannot be opened comes from the
 * core: it is French too. */
static void
test_core_errors_french (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *key = NULL;
  g_autoptr(GString) list = g_string_new ("Liste de courses, pas une base de données.\n");

  dir = g_dir_make_tmp ("tandem-i18n-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (dir, "courses.db", NULL);
  for (int i = 0; i < 40; i++)
    g_string_append (list, "Lait, œufs, pain, beurre, farine, sucre, sel.\n");
  g_assert_true (g_file_set_contents (path, list->str, list->len, &error));
  g_assert_no_error (error);

  store = tandem_store_open (path, &error);
  g_assert_null (store);
  g_assert_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_CORRUPT);
  assert_contains (error->message, "n’est pas une base de données Tandem");
  assert_contains (error->message, path);
  g_clear_error (&error);

  key = tandem_position_between ("b", "a", &error);
  g_assert_null (key);
  g_assert_nonnull (error);
  g_assert_cmpstr (error->message, ==, "la position «\u00a0b\u00a0» n’est pas avant «\u00a0a\u00a0»");

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  if (argc != 3)
    g_error ("usage: %s APP_BINARY LOCALE_DIR", argv[0]);
  app_binary = argv[1];
  locale_dir = argv[2];

  /* As the app's main () does, in French. */
  g_setenv ("LANGUAGE", "fr", TRUE);
  setlocale (LC_ALL, "C.UTF-8");
  bindtextdomain (GETTEXT_PACKAGE, locale_dir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_test_add_func ("/i18n/app/help/french", test_app_help_french);
  g_test_add_func ("/i18n/app/help/german", test_app_help_german);
  g_test_add_func ("/i18n/app/help/untranslated", test_app_help_untranslated);
  g_test_add_func ("/i18n/app/help/unknown-language", test_app_help_unknown_language);
  g_test_add_func ("/i18n/core/errors/french", test_core_errors_french);

  return g_test_run ();
}
