/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "test-run.h"

/* What every installed program owes its user: --version, and a manual page
 * that groff formats without a warning and that names every command and
 * option the program's --help prints (and no option it does not have).
 *
 * Arguments: the directory of the manual pages and the app's binary; the
 * others come from $TANDEM_CLI and $TANDEM_SERVER. */

static const char *man_dir;
static const char *app_binary;

typedef struct
{
  const char *name;          /* as in the man page's file name and --version */
  const char *const *help[6];   /* the argument lists whose output is the whole help */
  gboolean    commands_from_usage;
} Program;

static const Program programs[] = {
  { "tandem", { (const char *const[]) { "--help-all", NULL } }, FALSE },
  { "tandem-cli", { (const char *const[]) { "--help", NULL } }, FALSE },
  { "tandem-server", {
      (const char *const[]) { "--help", NULL },
      (const char *const[]) { "serve", "--help", NULL },
      (const char *const[]) { "token", "create", "--help", NULL },
      (const char *const[]) { "token", "revoke", "--help", NULL },
      (const char *const[]) { "migrate", "--help", NULL },
    }, TRUE },
};

static const char *
binary (const Program *program)
{
  const char *path;

  if (g_str_equal (program->name, "tandem"))
    return app_binary;
  path = g_getenv (g_str_equal (program->name, "tandem-cli") ? "TANDEM_CLI" : "TANDEM_SERVER");
  g_assert_nonnull (path);
  return path;
}

/* Runs @program with @args, with no display and in English. */
static void
run (const char        *program,
     const char *const *args,
     Run               *result)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_subprocess_launcher_unsetenv (launcher, "DISPLAY");
  g_subprocess_launcher_unsetenv (launcher, "WAYLAND_DISPLAY");
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_ptr_array_add (argv, (char *) program);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  run_spawn (launcher, (const char *const *) argv->pdata, result);
}

static char *
man_page_path (const Program *program)
{
  g_autofree char *file = g_strconcat (program->name, ".1", NULL);

  return g_build_filename (man_dir, file, NULL);
}

/* --version prints "NAME VERSION" and nothing else, even without a
 * display for the app. */
static void
test_version (gconstpointer data)
{
  const Program *program = data;
  g_autofree char *expected = g_strdup_printf ("%s %s\n", program->name, PACKAGE_VERSION);
  g_auto(Run) result = { 0 };

  run (binary (program), (const char *const[]) { "--version", NULL }, &result);
  g_assert_cmpstr (result.err, ==, "");
  g_assert_cmpstr (result.out, ==, expected);
  g_assert_cmpint (result.status, ==, 0);
}

/* groff formats the page without a single warning. */
static void
test_man_page_formats (gconstpointer data)
{
  const Program *program = data;
  g_autofree char *page = man_page_path (program);
  g_autofree char *groff = g_find_program_in_path ("groff");
  g_auto(Run) result = { 0 };

  if (groff == NULL)
    g_error ("groff is missing; install groff-base (scripts/dev does)");

  run (groff, (const char *const[]) { "-man", "-ww", "-z", page, NULL }, &result);
  g_assert_cmpstr (result.err, ==, "");
  g_assert_cmpint (result.status, ==, 0);
}

/* The page as text to search: without font changes, with plain dashes and
 * quotes. */
static char *
man_page_text (const Program *program,
               gboolean       without_examples)
{
  g_autofree char *page = man_page_path (program);
  g_autofree char *source = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;
  gboolean skipping = FALSE;

  g_file_get_contents (page, &source, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (source, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], ".SH "))
        skipping = without_examples && (strstr (lines[i], "EXAMPLES") != NULL ||
                                        strstr (lines[i], "SEE ALSO") != NULL);
      if (!skipping)
        {
          g_string_append (text, lines[i]);
          g_string_append_c (text, '\n');
        }
    }

  g_string_replace (text, "\\fB", "", 0);
  g_string_replace (text, "\\fI", "", 0);
  g_string_replace (text, "\\fR", "", 0);
  g_string_replace (text, "\\fP", "", 0);
  g_string_replace (text, "\\-", "-", 0);
  g_string_replace (text, "\\c", "", 0);
  g_string_replace (text, "\"", " ", 0);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* The long options in @text ("--name" not followed by more of a name). */
static GPtrArray *
long_options (const char *text)
{
  g_autoptr(GRegex) regex = g_regex_new ("(?<![A-Za-z0-9-])--[a-z][a-z0-9-]*[a-z0-9]", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  GPtrArray *options = g_ptr_array_new_with_free_func (g_free);

  g_regex_match (regex, text, 0, &match);
  while (g_match_info_matches (match))
    {
      char *option = g_match_info_fetch (match, 0);

      if (!g_ptr_array_find_with_equal_func (options, option, g_str_equal, NULL))
        g_ptr_array_add (options, option);
      else
        g_free (option);
      g_match_info_next (match, NULL);
    }
  return options;
}

static gboolean
has_word (const char *text,
          const char *word)
{
  g_autofree char *escaped = g_regex_escape_string (word, -1);
  g_autofree char *pattern = g_strdup_printf ("(?<![A-Za-z0-9-])%s(?![A-Za-z0-9-])", escaped);

  return g_regex_match_simple (pattern, text, 0, 0);
}

/* The commands of @program as its help lists them: the lines under
 * "Commands:" (tandem-cli), or the words after the name on the "Usage:"
 * lines (tandem-server). */
static GPtrArray *
help_commands (const Program *program,
               const char    *help)
{
  g_auto(GStrv) lines = g_strsplit (help, "\n", -1);
  GPtrArray *commands = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *prefix = g_strconcat (program->name, " ", NULL);
  gboolean in_commands = FALSE;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = g_strstrip (lines[i]);
      g_autofree char *command = NULL;

      if (program->commands_from_usage)
        {
          g_auto(GStrv) words = NULL;

          if (!g_str_has_prefix (line, prefix))
            continue;
          words = g_strsplit (line + strlen (prefix), " ", 3);
          if (words[0] == NULL || words[0][0] == '-' || words[0][0] == '[')
            continue;
          command = words[1] != NULL && g_ascii_islower (words[1][0])
                      ? g_strjoin (" ", words[0], words[1], NULL)
                      : g_strdup (words[0]);
        }
      else
        {
          if (g_str_equal (line, "Commands:"))
            {
              in_commands = TRUE;
              continue;
            }
          if (*line == '\0')
            in_commands = FALSE;
          if (!in_commands)
            continue;
          command = g_strndup (line, strcspn (line, " "));
        }

      if (!g_ptr_array_find_with_equal_func (commands, command, g_str_equal, NULL))
        g_ptr_array_add (commands, g_steal_pointer (&command));
    }
  return commands;
}

static char *
whole_help (const Program *program)
{
  g_autoptr(GString) help = g_string_new (NULL);

  for (guint i = 0; program->help[i] != NULL; i++)
    {
      g_auto(Run) result = { 0 };

      run (binary (program), program->help[i], &result);
      g_assert_cmpint (result.status, ==, 0);
      g_string_append (help, result.out);
    }
  return g_string_free (g_steal_pointer (&help), FALSE);
}

/* Every command and long option of --help is in the page, and the page
 * (outside its examples, which show other programs too) names no option
 * the program lacks. */
static void
test_man_page_matches_help (gconstpointer data)
{
  const Program *program = data;
  g_autofree char *help = whole_help (program);
  g_autofree char *page = man_page_text (program, FALSE);
  g_autofree char *described = man_page_text (program, TRUE);
  g_autoptr(GPtrArray) help_options = long_options (help);
  g_autoptr(GPtrArray) page_options = long_options (described);
  g_autoptr(GPtrArray) commands = help_commands (program, help);

  g_assert_cmpuint (help_options->len, >=, 2);
  for (guint i = 0; i < help_options->len; i++)
    if (!has_word (page, g_ptr_array_index (help_options, i)))
      g_error ("%s.1 does not describe %s", program->name, (char *) g_ptr_array_index (help_options, i));

  for (guint i = 0; i < page_options->len; i++)
    if (!has_word (help, g_ptr_array_index (page_options, i)))
      g_error ("%s.1 describes %s, which --help does not know", program->name,
               (char *) g_ptr_array_index (page_options, i));

  if (!g_str_equal (program->name, "tandem"))
    g_assert_cmpuint (commands->len, >=, 4);
  for (guint i = 0; i < commands->len; i++)
    {
      g_autofree char *escaped = g_regex_escape_string (g_ptr_array_index (commands, i), -1);
      /* A command is described under a tag of its own: the line after
       * ".TP" starts with it. */
      g_autofree char *pattern = g_strdup_printf ("^\\.TP\\n(\\.B[IR]? +)?%s( |$)", escaped);

      if (!g_regex_match_simple (pattern, page, G_REGEX_MULTILINE, 0))
        g_error ("%s.1 has no entry for the command “%s”", program->name,
                 (char *) g_ptr_array_index (commands, i));
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  if (argc != 3)
    g_error ("usage: %s MAN_DIR APP_BINARY", argv[0]);
  man_dir = argv[1];
  app_binary = argv[2];

  for (guint i = 0; i < G_N_ELEMENTS (programs); i++)
    {
      const Program *program = &programs[i];
      g_autofree char *version = g_strdup_printf ("/programs/%s/version", program->name);
      g_autofree char *formats = g_strdup_printf ("/programs/%s/man-page-formats", program->name);
      g_autofree char *matches = g_strdup_printf ("/programs/%s/man-page-matches-help", program->name);

      g_test_add_data_func (version, program, test_version);
      g_test_add_data_func (formats, program, test_man_page_formats);
      g_test_add_data_func (matches, program, test_man_page_matches_help);
    }

  return g_test_run ();
}
