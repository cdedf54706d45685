/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Runs a fuzz target over stored inputs, without libFuzzer: each argument
 * is a file, or a directory whose files (not its subdirectories) are read
 * in name order. Every corpus is thus a regression test in every build.
 * Exits 0 when every input ran; a broken invariant aborts inside the
 * target and names the file it was reading. */

#include "config.h"

#include <errno.h>
#include <string.h>

#include "fuzz-common.h"

static const char *current_input;

static void
name_current_input (void)
{
  if (current_input != NULL)
    fprintf (stderr, "replay: the last input was %s\n", current_input);
}

static gboolean
run_file (const char  *path,
          GError     **error)
{
  g_autofree char *contents = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, error))
    return FALSE;
  current_input = path;
  LLVMFuzzerTestOneInput ((const uint8_t *) contents, length);
  current_input = NULL;
  return TRUE;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

int
main (int   argc,
      char *argv[])
{
  guint n_inputs = 0;

  if (argc < 2)
    {
      fprintf (stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
      return 2;
    }
  atexit (name_current_input);

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GError) error = NULL;

      if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          g_autoptr(GDir) dir = g_dir_open (argv[i], 0, &error);
          g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
          const char *name;

          if (dir == NULL)
            {
              fprintf (stderr, "replay: %s\n", error->message);
              return 1;
            }
          while ((name = g_dir_read_name (dir)) != NULL)
            g_ptr_array_add (names, g_build_filename (argv[i], name, NULL));
          g_ptr_array_sort (names, compare_names);
          for (guint j = 0; j < names->len; j++)
            {
              const char *path = g_ptr_array_index (names, j);

              if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
                continue;
              if (!run_file (path, &error))
                {
                  fprintf (stderr, "replay: %s\n", error->message);
                  return 1;
                }
              n_inputs++;
            }
        }
      else
        {
          if (!run_file (argv[i], &error))
            {
              fprintf (stderr, "replay: %s\n", error->message);
              return 1;
            }
          n_inputs++;
        }
    }

  if (n_inputs == 0)
    {
      fprintf (stderr, "replay: no input files in the arguments\n");
      return 1;
    }
  printf ("replayed %u inputs\n", n_inputs);
  return 0;
}
