/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-bench"

#include "config.h"

#include "bench-common.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const char *bench_name = "bench";
static int bench_run = 0;

void
bench_set_name (const char *name,
                int         run)
{
  g_assert (name != NULL);

  bench_name = name;
  bench_run = run;
}

const char *
bench_get_name (void)
{
  return bench_name;
}

double
bench_now_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

double
bench_now_s (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
bench_compare_doubles (gconstpointer a,
                       gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

double
bench_percentile (GArray *sorted,
                  double  p)
{
  guint rank;

  /* A phase whose every request failed has no samples; its line still
   * prints, with the errors counted beside it. */
  if (sorted->len == 0)
    return 0;
  rank = (guint) (p / 100.0 * sorted->len + 0.999999);
  rank = CLAMP (rank, 1, sorted->len);
  return g_array_index (sorted, double, rank - 1);
}

void
bench_print_object (const char *format,
                    ...)
{
  g_autofree char *members = NULL;
  g_autofree char *run = NULL;
  va_list args;

  va_start (args, format);
  members = g_strdup_vprintf (format, args);
  va_end (args);
  run = bench_run > 0 ? g_strdup_printf ("\"run\":%d,", bench_run) : g_strdup ("");
  printf ("{\"bench\":\"%s\",%s%s}\n", bench_name, run, members);
  fflush (stdout);
}

void
bench_print_line (const char *metric,
                  const char *format,
                  ...)
{
  g_autofree char *members = NULL;
  va_list args;

  va_start (args, format);
  members = g_strdup_vprintf (format, args);
  va_end (args);
  bench_print_object ("\"metric\":\"%s\",%s", metric, members);
}

double
bench_print_distribution (const char *metric,
                          GArray     *samples,
                          const char *extra)
{
  double p99;

  g_array_sort (samples, bench_compare_doubles);
  p99 = bench_percentile (samples, 99);
  bench_print_line (metric, "\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f,\"n\":%u%s",
                    bench_percentile (samples, 50), p99, bench_percentile (samples, 100),
                    samples->len, extra != NULL ? extra : "");
  return p99;
}

void
bench_print_median (const char *metric,
                    GArray     *samples,
                    const char *extra)
{
  g_array_sort (samples, bench_compare_doubles);
  bench_print_line (metric, "\"median\":%.1f,\"min\":%.1f,\"max\":%.1f,\"runs\":%u%s",
                    bench_percentile (samples, 50), bench_percentile (samples, 0),
                    bench_percentile (samples, 100), samples->len, extra != NULL ? extra : "");
}

double
bench_self_cpu_s (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
         usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

double
bench_load_average (void)
{
  g_autofree char *contents = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &contents, NULL, NULL))
    return -1;
  return g_ascii_strtod (contents, NULL);
}

guint64
bench_proc_status_kib (int         pid,
                       const char *name)
{
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  const char *line;
  gsize name_length = strlen (name);

  if (pid <= 0)
    return 0;
  path = g_strdup_printf ("/proc/%d/status", pid);
  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return 0;
  for (line = contents; line != NULL && *line != '\0'; line = strchr (line, '\n'))
    {
      if (*line == '\n')
        line++;
      if (strncmp (line, name, name_length) == 0 && line[name_length] == ':')
        return g_ascii_strtoull (line + name_length + 1, NULL, 10);
    }
  return 0;
}

double
bench_proc_cpu_s (int pid)
{
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after_name;

  if (pid <= 0)
    return 0;
  path = g_strdup_printf ("/proc/%d/stat", pid);
  /* The name in parentheses may hold spaces: split after its last ')'. */
  if (!g_file_get_contents (path, &contents, NULL, NULL) ||
      (after_name = strrchr (contents, ')')) == NULL)
    return 0;
  /* After "pid (comm) " the fields start at 3 (state); utime is 14, stime 15. */
  fields = g_strsplit (after_name + 2, " ", 16);
  if (g_strv_length (fields) < 14)
    return 0;
  return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL)) /
         sysconf (_SC_CLK_TCK);
}

guint64
bench_tree_size_kib (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  guint64 total = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      GStatBuf buf;

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        total += bench_tree_size_kib (child);
      else if (g_stat (child, &buf) == 0)
        total += buf.st_size / 1024;
    }
  return total;
}

char *
bench_make_dir (const char  *parent,
                const char  *pattern,
                GError     **error)
{
  g_autofree char *template = NULL;

  if (parent == NULL)
    return g_dir_make_tmp (pattern, error);
  template = g_build_filename (parent, pattern, NULL);
  if (g_mkdtemp (template) == NULL)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Could not create a folder in “%s”: %s", parent, g_strerror (saved));
      return NULL;
    }
  return g_steal_pointer (&template);
}

void
bench_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        bench_remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}
