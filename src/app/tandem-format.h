/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "tandem-store.h"

G_BEGIN_DECLS

/* What the app says about tasks, sync and history, in the user's words. */

/* "Today", "Tomorrow", "Yesterday", a weekday within the coming week, else a
 * date; *overdue is set when @due is before today and the task is not done. */
char       *tandem_format_due            (const char             *due,
                                          gboolean                done,
                                          gboolean               *overdue);
/* Today's date as YYYY-MM-DD in local time. */
char       *tandem_today                 (void);
/* "Last synced just now", "… 5 minutes ago", "… today at 14:05", … */
char       *tandem_format_last_synced    (gint64                  unix_time);
/* A point in time for lists of comments and history: "Today at 14:05". */
char       *tandem_format_timestamp      (const char             *rfc3339);
/* A clock time for a Unix time today (or a date and time if not today). */
char       *tandem_format_clock          (gint64                  unix_time);
/* "Low", "Medium", "High"; NULL for none. */
const char *tandem_priority_label        (int                     priority);
/* "Low priority", "Medium priority", "High priority"; NULL for none. */
const char *tandem_priority_description  (int                     priority);
/* The short chip text ("Pending") and the sentence the row and the chip's
 * tooltip say; NULL for synced. */
const char *tandem_sync_status_chip      (TandemSyncStatus        status);
const char *tandem_sync_status_sentence  (TandemSyncStatus        status);
/* The sentence for a history line ("Title changed on another device"). */
char       *tandem_format_history        (const TandemHistoryEntry *entry);
/* A value from a history line for people: "“Buy milk”", "1 Dec", "High". */
char       *tandem_format_history_value  (const TandemHistoryEntry *entry);

G_END_DECLS
