/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Fractional ordering keys: printable ASCII strings compared bytewise
 * (strcmp, SQLite's BINARY collation) so that a key can always be made
 * between any two distinct keys without renumbering the others. */

#define TANDEM_POSITION_ERROR (tandem_position_error_quark ())
typedef enum
{
  TANDEM_POSITION_ERROR_INVALID,   /* not a key this module could have made */
  TANDEM_POSITION_ERROR_ORDER,     /* before >= after */
} TandemPositionError;

GQuark   tandem_position_error_quark (void);

/* A key strictly between @before and @after; either may be NULL for "the
 * start" / "the end" of the list. Returns NULL with an error when a key is
 * invalid or @before is not smaller than @after. */
char    *tandem_position_between  (const char  *before,
                                   const char  *after,
                                   GError     **error);

gboolean tandem_position_is_valid (const char  *key);

G_END_DECLS
