/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-app"

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "tandem-format.h"

static GDateTime *
parse_date (const char *date)
{
  int y, m, d;

  if (date == NULL || sscanf (date, "%4d-%2d-%2d", &y, &m, &d) != 3)
    return NULL;
  return g_date_time_new_local (y, m, d, 0, 0, 0);
}

char *
tandem_today (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  return g_date_time_format (now, "%Y-%m-%d");
}

/* Whole days from today to @when (both local midnight). */
static int
days_from_today (GDateTime *when)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autoptr(GDateTime) today = g_date_time_new_local (g_date_time_get_year (now),
                                                      g_date_time_get_month (now),
                                                      g_date_time_get_day_of_month (now), 0, 0, 0);
  g_autoptr(GDateTime) day = g_date_time_new_local (g_date_time_get_year (when),
                                                    g_date_time_get_month (when),
                                                    g_date_time_get_day_of_month (when), 0, 0, 0);
  GTimeSpan span = g_date_time_difference (day, today);

  /* Round: a day is not always 24 h long around daylight saving changes. */
  return (int) ((span + (span < 0 ? -G_TIME_SPAN_HOUR * 12 : G_TIME_SPAN_HOUR * 12)) /
                G_TIME_SPAN_DAY);
}

char *
tandem_format_due (const char *due,
                   gboolean    done,
                   gboolean   *overdue)
{
  g_autoptr(GDateTime) date = parse_date (due);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  int days;

  if (overdue != NULL)
    *overdue = FALSE;
  if (date == NULL)
    return NULL;

  days = days_from_today (date);
  if (overdue != NULL)
    *overdue = days < 0 && !done;

  if (days == 0)
    return g_strdup (_("Today"));
  if (days == 1)
    return g_strdup (_("Tomorrow"));
  if (days == -1)
    return g_strdup (_("Yesterday"));
  if (days > 1 && days < 7)
    return g_date_time_format (date, "%A");
  if (g_date_time_get_year (date) == g_date_time_get_year (now))
    /* Translators: a due date in this year, see strftime(3): "1 Dec" */
    return g_date_time_format (date, _("%-d %b"));
  /* Translators: a due date in another year, see strftime(3): "1 Dec 2027" */
  return g_date_time_format (date, _("%-d %b %Y"));
}

char *
tandem_format_clock (gint64 unix_time)
{
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_local (unix_time);

  if (when == NULL)
    return g_strdup ("");
  /* Translators: a time of day, see strftime(3) */
  return g_date_time_format (when, _("%H:%M"));
}

char *
tandem_format_last_synced (gint64 unix_time)
{
  g_autoptr(GDateTime) when = NULL;
  g_autofree char *clock = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 ago = now - unix_time;
  int days;

  if (unix_time <= 0)
    return g_strdup (_("Not synced yet"));
  if (ago < 60)
    return g_strdup (_("Last synced just now"));
  if (ago < 3600)
    {
      int minutes = (int) (ago / 60);

      return g_strdup_printf (ngettext ("Last synced %d minute ago", "Last synced %d minutes ago",
                                        minutes),
                              minutes);
    }

  when = g_date_time_new_from_unix_local (unix_time);
  clock = tandem_format_clock (unix_time);
  days = days_from_today (when);
  if (days == 0)
    /* Translators: %s is a time of day */
    return g_strdup_printf (_("Last synced today at %s"), clock);
  if (days == -1)
    /* Translators: %s is a time of day */
    return g_strdup_printf (_("Last synced yesterday at %s"), clock);
  {
    /* Translators: a date, see strftime(3) */
    g_autofree char *date = g_date_time_format (when, _("%-d %b %Y"));

    /* Translators: %s is a date */
    return g_strdup_printf (_("Last synced on %s"), date);
  }
}

char *
tandem_format_timestamp (const char *rfc3339)
{
  g_autoptr(GDateTime) utc = rfc3339 ? g_date_time_new_from_iso8601 (rfc3339, NULL) : NULL;
  g_autoptr(GDateTime) when = NULL;
  g_autofree char *clock = NULL;
  int days;

  if (utc == NULL)
    return g_strdup ("");
  when = g_date_time_to_local (utc);
  clock = tandem_format_clock (g_date_time_to_unix (when));
  days = days_from_today (when);
  if (days == 0)
    /* Translators: %s is a time of day */
    return g_strdup_printf (_("Today at %s"), clock);
  if (days == -1)
    /* Translators: %s is a time of day */
    return g_strdup_printf (_("Yesterday at %s"), clock);
  {
    /* Translators: a date, see strftime(3) */
    g_autofree char *date = g_date_time_format (when, _("%-d %b %Y"));

    /* Translators: a date and a time of day */
    return g_strdup_printf (C_("date and time", "%s, %s"), date, clock);
  }
}

const char *
tandem_priority_label (int priority)
{
  switch (priority)
    {
    case 1:
      return _("Low");
    case 2:
      return _("Medium");
    case 3:
      return _("High");
    default:
      return NULL;
    }
}

const char *
tandem_priority_description (int priority)
{
  switch (priority)
    {
    case 1:
      return _("Low priority");
    case 2:
      return _("Medium priority");
    case 3:
      return _("High priority");
    default:
      return NULL;
    }
}

const char *
tandem_sync_status_chip (TandemSyncStatus status)
{
  switch (status)
    {
    case TANDEM_SYNC_PENDING:
      return _("Pending");
    case TANDEM_SYNC_SYNCING:
      return _("Syncing");
    case TANDEM_SYNC_ERROR:
      /* Translators: a chip on a task whose change the server refused */
      return C_("sync state", "Error");
    case TANDEM_SYNC_NEEDS_REVIEW:
      return _("Needs review");
    case TANDEM_SYNC_SYNCED:
    default:
      return NULL;
    }
}

const char *
tandem_sync_status_sentence (TandemSyncStatus status)
{
  switch (status)
    {
    case TANDEM_SYNC_PENDING:
      return _("Saved on this device. Syncing when online.");
    case TANDEM_SYNC_SYNCING:
      return _("Syncing…");
    case TANDEM_SYNC_ERROR:
      return _("Can't sync right now. Your changes are safe.");
    case TANDEM_SYNC_NEEDS_REVIEW:
      return _("Updated in two places. Choose what to keep.");
    case TANDEM_SYNC_SYNCED:
    default:
      return NULL;
    }
}

static const char *
field_label (const char *field)
{
  static const struct
  {
    const char *field;
    const char *label;
  } labels[] = {
    { "title", N_("Title") },
    { "notes", N_("Notes") },
    { "due", N_("Due date") },
    { "priority", N_("Priority") },
    { "list_id", N_("List") },
    { "position", N_("Order") },
    { "tags", N_("Tags") },
    { "comments", N_("Comments") },
    { "done", N_("Completion") },
  };

  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    if (g_strcmp0 (field, labels[i].field) == 0)
      return _(labels[i].label);
  return field;
}

static JsonNode *
parse_value (const char *text)
{
  return text != NULL ? json_from_string (text, NULL) : NULL;
}

static gboolean
value_is_true (const char *text)
{
  g_autoptr(JsonNode) node = parse_value (text);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_BOOLEAN && json_node_get_boolean (node);
}

char *
tandem_format_history (const TandemHistoryEntry *entry)
{
  static const struct
  {
    const char *note;
    const char *sentence;
  } whole_record[] = {
    { "created", N_("Created on this device") },
    { "deleted", N_("Deleted on this device") },
    { "restored", N_("Restored on this device") },
    { "created on another device", N_("Created on another device") },
    { "deleted on another device", N_("Deleted on another device") },
    { "restored on another device", N_("Restored on another device") },
    { "you discarded this device's changes to a task deleted elsewhere",
      N_("You chose to discard this device's changes; the task stays deleted") },
    { "you kept the task that was edited elsewhere", N_("You chose the other device's version") },
    { "you restored the task with this device's changes",
      N_("You chose to restore the task with this device's changes") },
    { "you deleted the task although it was edited elsewhere",
      N_("You chose to delete the task although it was edited elsewhere") },
  };
  const char *origin = entry->origin ? entry->origin : "";
  const char *field = entry->field;
  gboolean remote = g_str_equal (origin, "remote");

  if (field == NULL)
    {
      for (guint i = 0; i < G_N_ELEMENTS (whole_record); i++)
        if (g_strcmp0 (entry->note, whole_record[i].note) == 0)
          return g_strdup (_(whole_record[i].sentence));
      return g_strdup (entry->note ? entry->note : "");
    }

  if (g_str_equal (origin, "merge"))
    /* Translators: %s is a field of a task, such as "Notes" */
    return g_strdup_printf (_("%s merged automatically with a change from another device"),
                            field_label (field));
  if (g_str_equal (origin, "overwrite"))
    /* Translators: %s is a field of a task, such as "Due date" */
    return g_strdup_printf (_("%s: this device's later change replaced the other device's value"),
                            field_label (field));
  if (g_str_equal (origin, "resolve"))
    {
      if (g_strcmp0 (entry->note, "you kept this device's version") == 0)
        /* Translators: %s is a field of a task, such as "Title" */
        return g_strdup_printf (_("%s: you chose this device's version"), field_label (field));
      if (g_strcmp0 (entry->note, "you chose the other device's version") == 0)
        /* Translators: %s is a field of a task, such as "Title" */
        return g_strdup_printf (_("%s: you chose the other device's version"),
                                field_label (field));
      /* Translators: %s is a field of a task, such as "Title" */
      return g_strdup_printf (_("%s: you chose a merged version"), field_label (field));
    }

  if (g_str_equal (field, "done"))
    {
      if (value_is_true (entry->new_value))
        return g_strdup (remote ? _("Marked as done on another device")
                                : _("Marked as done on this device"));
      return g_strdup (remote ? _("Marked as not done on another device")
                              : _("Marked as not done on this device"));
    }
  if (g_str_equal (field, "comments"))
    return g_strdup (remote ? _("Comment added on another device")
                            : _("Comment added on this device"));
  if (g_str_equal (field, "position"))
    return g_strdup (remote ? _("Moved on another device") : _("Moved on this device"));
  if (g_str_equal (field, "list_id"))
    return g_strdup (remote ? _("Moved to another list on another device")
                            : _("Moved to another list on this device"));
  if (remote)
    /* Translators: %s is a field of a task, such as "Title" */
    return g_strdup_printf (_("%s changed on another device"), field_label (field));
  /* Translators: %s is a field of a task, such as "Title" */
  return g_strdup_printf (_("%s changed on this device"), field_label (field));
}

char *
tandem_format_history_value (const TandemHistoryEntry *entry)
{
  g_autoptr(JsonNode) node = NULL;

  if (entry->field == NULL || entry->new_value == NULL)
    return NULL;
  if (!(node = parse_value (entry->new_value)))
    return NULL;

  if (g_str_equal (entry->field, "title") && JSON_NODE_HOLDS_VALUE (node))
    return g_strdup_printf ("“%s”", json_node_get_string (node));
  if (g_str_equal (entry->field, "due"))
    {
      if (JSON_NODE_HOLDS_NULL (node))
        return g_strdup (_("No due date"));
      return tandem_format_due (json_node_get_string (node), TRUE, NULL);
    }
  if (g_str_equal (entry->field, "priority") && JSON_NODE_HOLDS_VALUE (node))
    {
      const char *label = tandem_priority_label ((int) json_node_get_int (node));

      return g_strdup (label ? label : C_("priority", "None"));
    }
  if (g_str_equal (entry->field, "tags") && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      g_autoptr(GString) text = g_string_new (NULL);

      if (json_array_get_length (array) == 0)
        return g_strdup (_("No tags"));
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          if (i > 0)
            g_string_append (text, ", ");
          g_string_append (text, json_array_get_string_element (array, i));
        }
      return g_string_free (g_steal_pointer (&text), FALSE);
    }
  return NULL;
}
