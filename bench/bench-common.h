/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What every benchmark in bench/ shares: the clock, percentiles, its JSON
 * lines on stdout, a few /proc readings and its scratch folders. GLib and
 * GIO only, so that any benchmark can link it. */

/* Names the benchmark for its JSON lines ("bench") and its messages on
 * stderr; @run > 0 adds "run": @run to every line. Call it first. */
void        bench_set_name           (const char    *name,
                                      int            run);
const char *bench_get_name           (void);

/* The monotonic clock, in µs and in s. */
double      bench_now_us             (void);
double      bench_now_s              (void);

/* For g_array_sort() of an array of doubles, ascending. */
int         bench_compare_doubles    (gconstpointer  a,
                                      gconstpointer  b);

/* The nearest-rank percentile @p (0 to 100) of @sorted, an array of doubles
 * sorted ascending: 0 is its smallest value, 100 its largest. 0 when it is
 * empty. */
double      bench_percentile         (GArray        *sorted,
                                      double         p);

/* One JSON object on a line of its own, flushed:
 * {"bench":NAME,["run":N,]FORMAT…}. @format gives the members that follow. */
void        bench_print_object       (const char    *format,
                                      ...) G_GNUC_PRINTF (1, 2);

/* bench_print_object() with "metric": @metric before the other members. */
void        bench_print_line         (const char    *metric,
                                      const char    *format,
                                      ...) G_GNUC_PRINTF (2, 3);

/* Sorts @samples and prints "p50", "p99", "max" and "n" (%.1f), then
 * @extra (",\"key\":value…", or NULL). Returns the p99. */
double      bench_print_distribution (const char    *metric,
                                      GArray        *samples,
                                      const char    *extra);

/* Sorts @samples and prints "median", "min", "max" (%.1f) and "runs", then
 * @extra (",\"key\":value…", or NULL). */
void        bench_print_median       (const char    *metric,
                                      GArray        *samples,
                                      const char    *extra);

/* User + system CPU time of this process so far, in s. */
double      bench_self_cpu_s         (void);

/* The 1-minute load average (other work on the machine shows up here);
 * -1 if unknown. */
double      bench_load_average       (void);

/* The "@name:  N kB" line of /proc/@pid/status (VmRSS, VmHWM…), in KiB; 0
 * if unknown. */
guint64     bench_proc_status_kib    (int            pid,
                                      const char    *name);

/* User + system CPU time of process @pid so far, from /proc/@pid/stat, in
 * s; 0 if unknown. */
double      bench_proc_cpu_s         (int            pid);

/* The size of the files below @path, in KiB. */
guint64     bench_tree_size_kib      (const char    *path);

/* A new folder named after @pattern ("name-XXXXXX") inside @parent, or in
 * the temporary folder when @parent is NULL. */
char       *bench_make_dir           (const char    *parent,
                                      const char    *pattern,
                                      GError       **error);

/* Deletes @path and everything below it; symbolic links are removed, not
 * followed. */
void        bench_remove_tree        (const char    *path);

G_END_DECLS
