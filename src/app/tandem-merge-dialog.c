/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-app"

#include "config.h"

#include "tandem-merge-dialog.h"

#include <glib/gi18n.h>

#include "tandem-format.h"

/* Above this many cells the line diff gives up on the middle part and marks
 * it changed as a whole: a long note must not freeze the dialog. */
#define DIFF_MAX_CELLS (4 * 1024 * 1024)

struct _TandemMergeDialog
{
  AdwWindow          parent_instance;

  TandemStore       *store;
  TandemSyncEngine  *engine;
  char              *task_id;
  TandemConflict    *conflict;
  GPtrArray         *choices;      /* FieldChoice * */
  GPtrArray         *text_views;   /* GtkTextView *, whose "changed" tags follow the style */
  gulong             conflicts_changed_id;
  gulong             dark_id;

  /* template */
  AdwWindowTitle    *window_title;
  GtkButton         *cancel_button;
  GtkButton         *resolve_button;
  GtkRevealer       *error_revealer;
  GtkLabel          *error_label;
  GtkStack          *stack;
  GtkLabel          *fields_intro;
  GtkBox            *fields_box;
  GtkLabel          *delete_intro;
  GtkLabel          *changes_heading;
  GtkListBox        *changes_list;
  AdwActionRow      *keep_row;
  GtkCheckButton    *keep_check;
  AdwActionRow      *drop_row;
  GtkCheckButton    *drop_check;
};

G_DEFINE_FINAL_TYPE (TandemMergeDialog, tandem_merge_dialog, ADW_TYPE_WINDOW)

enum {
  PROP_0,
  PROP_STORE,
  PROP_ENGINE,
  PROP_TASK_ID,
  N_PROPS
};

enum {
  RESOLVED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* The user's choice for one colliding field. */
typedef struct
{
  TandemField     field;
  JsonNode       *local;
  JsonNode       *remote;
  GtkCheckButton *keep_local;
  GtkCheckButton *keep_remote;
  GtkCheckButton *keep_merged;     /* text fields only */
  GtkTextBuffer  *merged_buffer;   /* text fields only */
} FieldChoice;

static void
field_choice_free (FieldChoice *choice)
{
  g_clear_pointer (&choice->local, json_node_unref);
  g_clear_pointer (&choice->remote, json_node_unref);
  g_free (choice);
}

/* Line diff */

static guint
count_lines (char **lines)
{
  return lines ? g_strv_length (lines) : 0;
}

/* For each line of @a, the index of the line of @b it is matched to in a
 * longest common subsequence, or -1 (@match has n_a entries). */
static void
match_lines (char **a,
             guint  n_a,
             char **b,
             guint  n_b,
             int   *match)
{
  guint prefix = 0, suffix = 0;
  guint rows, cols;

  for (guint i = 0; i < n_a; i++)
    match[i] = -1;

  /* Most edits touch a few lines: the common ends need no table. */
  while (prefix < n_a && prefix < n_b && g_str_equal (a[prefix], b[prefix]))
    {
      match[prefix] = prefix;
      prefix++;
    }
  while (suffix < n_a - prefix && suffix < n_b - prefix &&
         g_str_equal (a[n_a - 1 - suffix], b[n_b - 1 - suffix]))
    {
      match[n_a - 1 - suffix] = n_b - 1 - suffix;
      suffix++;
    }

  rows = n_a - prefix - suffix;
  cols = n_b - prefix - suffix;
  if (rows == 0 || cols == 0 || (guint64) rows * cols > DIFF_MAX_CELLS)
    return;

  {
    /* lcs[i][j]: length of the LCS of the middle parts from i and j on. */
    g_autofree guint32 *lcs = g_new0 (guint32, (gsize) (rows + 1) * (cols + 1));
    guint i = 0, j = 0;

#define LCS(i, j) lcs[(gsize) (i) * (cols + 1) + (j)]
    for (guint r = rows; r-- > 0;)
      for (guint c = cols; c-- > 0;)
        {
          if (g_str_equal (a[prefix + r], b[prefix + c]))
            LCS (r, c) = LCS (r + 1, c + 1) + 1;
          else
            LCS (r, c) = MAX (LCS (r + 1, c), LCS (r, c + 1));
        }

    while (i < rows && j < cols)
      {
        if (g_str_equal (a[prefix + i], b[prefix + j]))
          {
            match[prefix + i] = prefix + j;
            i++;
            j++;
          }
        else if (LCS (i + 1, j) >= LCS (i, j + 1))
          i++;
        else
          j++;
      }
#undef LCS
  }
}

/* Which lines of @text are not in @base: added or changed there. */
static GArray *
changed_lines (const char *base,
               const char *text)
{
  g_auto(GStrv) base_lines = g_strsplit (base ? base : "", "\n", -1);
  g_auto(GStrv) lines = g_strsplit (text ? text : "", "\n", -1);
  guint n_base = count_lines (base_lines), n = count_lines (lines);
  g_autofree int *match = g_new (int, MAX (n_base, 1));
  GArray *changed = g_array_sized_new (FALSE, TRUE, sizeof (gboolean), n);

  g_array_set_size (changed, n);
  for (guint i = 0; i < n; i++)
    g_array_index (changed, gboolean, i) = TRUE;
  match_lines (base_lines, n_base, lines, n, match);
  for (guint i = 0; i < n_base; i++)
    if (match[i] >= 0)
      g_array_index (changed, gboolean, match[i]) = FALSE;
  return changed;
}

static gboolean
chunks_equal (char **a,
              guint  a_start,
              guint  a_end,
              char **b,
              guint  b_start,
              guint  b_end)
{
  if (a_end - a_start != b_end - b_start)
    return FALSE;
  for (guint i = 0; i < a_end - a_start; i++)
    if (!g_str_equal (a[a_start + i], b[b_start + i]))
      return FALSE;
  return TRUE;
}

static void
append_chunk (GString  *out,
              GArray   *flags,
              char    **lines,
              guint     start,
              guint     end,
              gboolean  flag)
{
  for (guint i = start; i < end; i++)
    {
      if (flags->len > 0)
        g_string_append_c (out, '\n');
      g_string_append (out, lines[i]);
      g_array_append_val (flags, flag);
    }
}

/* A starting point for the merged text, diff3 style: what only one side
 * changed is taken as is; where both changed the same lines, this device's
 * lines come first, then the other device's, each flagged in @flags (one
 * entry per line of the result) so the user sees what to settle. */
static char *
draft_merge (const char *base,
             const char *local,
             const char *remote,
             GArray    **flags)
{
  g_auto(GStrv) b = g_strsplit (base ? base : "", "\n", -1);
  g_auto(GStrv) l = g_strsplit (local ? local : "", "\n", -1);
  g_auto(GStrv) r = g_strsplit (remote ? remote : "", "\n", -1);
  guint n_b = count_lines (b), n_l = count_lines (l), n_r = count_lines (r);
  g_autofree int *to_local = g_new (int, MAX (n_b, 1));
  g_autofree int *to_remote = g_new (int, MAX (n_b, 1));
  GString *out = g_string_new (NULL);
  guint pos_b = 0, pos_l = 0, pos_r = 0;

  *flags = g_array_new (FALSE, TRUE, sizeof (gboolean));
  match_lines (b, n_b, l, n_l, to_local);
  match_lines (b, n_b, r, n_r, to_remote);

  /* Walk the base lines both sides kept; between two of them is a chunk. */
  for (guint s = 0; s <= n_b; s++)
    {
      guint end_l, end_r;

      if (s < n_b && (to_local[s] < 0 || to_remote[s] < 0))
        continue;
      end_l = s < n_b ? (guint) to_local[s] : n_l;
      end_r = s < n_b ? (guint) to_remote[s] : n_r;

      if (chunks_equal (b, pos_b, s, l, pos_l, end_l))
        append_chunk (out, *flags, r, pos_r, end_r, FALSE);
      else if (chunks_equal (b, pos_b, s, r, pos_r, end_r) ||
               chunks_equal (l, pos_l, end_l, r, pos_r, end_r))
        append_chunk (out, *flags, l, pos_l, end_l, FALSE);
      else
        {
          append_chunk (out, *flags, l, pos_l, end_l, TRUE);
          append_chunk (out, *flags, r, pos_r, end_r, TRUE);
        }

      if (s < n_b)
        append_chunk (out, *flags, b, s, s + 1, FALSE);
      pos_b = s + 1;
      pos_l = end_l + 1;
      pos_r = end_r + 1;
    }

  return g_string_free (out, FALSE);
}

/* Presentation */

static const char *
field_label (TandemField field)
{
  switch (field)
    {
    case TANDEM_FIELD_TITLE:
      return _("Title");
    case TANDEM_FIELD_NOTES:
      return _("Notes");
    case TANDEM_FIELD_DONE:
      return _("Done");
    case TANDEM_FIELD_DUE:
      return _("Due Date");
    case TANDEM_FIELD_PRIORITY:
      return _("Priority");
    case TANDEM_FIELD_LIST_ID:
      return _("List");
    case TANDEM_FIELD_POSITION:
      return _("Order");
    case TANDEM_FIELD_TAGS:
      return _("Tags");
    case TANDEM_FIELD_COMMENTS:
      return _("Comments");
    case TANDEM_FIELD_DELETED:
    case TANDEM_N_FIELDS:
    default:
      return tandem_field_name (field);
    }
}

static gboolean
is_text_field (TandemField field)
{
  return tandem_field_policy (field) == TANDEM_POLICY_TEXT;
}

static const char *
node_string (JsonNode *node)
{
  if (node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);
  return NULL;
}

/* A field's value the way a person reads it. */
static char *
format_value (TandemMergeDialog *self,
              TandemField        field,
              JsonNode          *node)
{
  gboolean is_null = node == NULL || JSON_NODE_HOLDS_NULL (node);

  switch (field)
    {
    case TANDEM_FIELD_TITLE:
    case TANDEM_FIELD_NOTES:
      return g_strdup (node_string (node) ? node_string (node) : "");

    case TANDEM_FIELD_DONE:
      return g_strdup (!is_null && json_node_get_boolean (node) ? _("Done") : _("Not done"));

    case TANDEM_FIELD_DUE:
      {
        char *due = node_string (node) ? tandem_format_due (node_string (node), FALSE, NULL) : NULL;

        return due ? due : g_strdup (_("No due date"));
      }

    case TANDEM_FIELD_PRIORITY:
      {
        const char *label = tandem_priority_label (is_null ? 0 : (int) json_node_get_int (node));

        return g_strdup (label ? label : _("No priority"));
      }

    case TANDEM_FIELD_LIST_ID:
      {
        g_autoptr(TandemList) list = NULL;

        if (node_string (node) == NULL)
          return g_strdup (_("Inbox"));
        list = tandem_store_get_list (self->store, node_string (node), NULL);
        return g_strdup (list && list->name ? list->name : _("Another list"));
      }

    case TANDEM_FIELD_POSITION:
      return g_strdup (_("Moved within the list"));

    case TANDEM_FIELD_TAGS:
      {
        GString *tags = g_string_new (NULL);
        JsonArray *array = !is_null && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node)
                                                                    : NULL;

        for (guint i = 0; array && i < json_array_get_length (array); i++)
          {
            if (tags->len > 0)
              /* Translators: between two tags of a list of tags */
              g_string_append (tags, _(", "));
            g_string_append (tags, json_array_get_string_element (array, i));
          }
        if (tags->len == 0)
          g_string_append (tags, _("No tags"));
        return g_string_free (tags, FALSE);
      }

    case TANDEM_FIELD_COMMENTS:
      {
        guint n = !is_null && JSON_NODE_HOLDS_ARRAY (node)
                    ? json_array_get_length (json_node_get_array (node)) : 0;

        return g_strdup_printf (ngettext ("%u comment", "%u comments", n), n);
      }

    case TANDEM_FIELD_DELETED:
    case TANDEM_N_FIELDS:
    default:
      return is_null ? g_strdup ("") : json_to_string (node, FALSE);
    }
}

static void
update_highlight_colors (TandemMergeDialog *self)
{
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  /* Adwaita's yellow: strong enough to find, calm enough to read through. */
  GdkRGBA changed = { 0.965, 0.827, 0.176, dark ? 0.22 : 0.35 };

  for (guint i = 0; i < self->text_views->len; i++)
    {
      GtkTextBuffer *buffer = gtk_text_view_get_buffer (g_ptr_array_index (self->text_views, i));
      GtkTextTag *tag = gtk_text_tag_table_lookup (gtk_text_buffer_get_tag_table (buffer),
                                                   "changed");

      if (tag != NULL)
        g_object_set (tag, "paragraph-background-rgba", &changed, NULL);
    }
}

static void
highlight_lines (GtkTextBuffer *buffer,
                 GArray        *flags)
{
  GtkTextTag *tag = gtk_text_buffer_create_tag (buffer, "changed", NULL);

  for (guint i = 0; i < flags->len; i++)
    {
      GtkTextIter start, end;

      if (!g_array_index (flags, gboolean, i))
        continue;
      gtk_text_buffer_get_iter_at_line (buffer, &start, i);
      end = start;
      if (!gtk_text_iter_forward_line (&end))
        gtk_text_buffer_get_end_iter (buffer, &end);
      gtk_text_buffer_apply_tag (buffer, tag, &start, &end);
    }
}

/* A framed value: a label for a line, a text view for text, whose lines can
 * be highlighted and edited. No scrolling of its own: the page scrolls. */
static GtkWidget *
text_frame (TandemMergeDialog *self,
            const char        *text,
            gboolean           multiline,
            gboolean           editable,
            const char        *accessible_label,
            GArray            *changed,
            GtkTextView      **out_view)
{
  GtkWidget *frame = gtk_frame_new (NULL);
  GtkWidget *view;
  GtkTextBuffer *buffer;

  if ((!multiline || *text == '\0') && !editable)
    {
      GtkWidget *label = gtk_label_new (*text != '\0' ? text : _("Empty"));

      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_label_set_wrap (GTK_LABEL (label), TRUE);
      gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
      gtk_label_set_selectable (GTK_LABEL (label), *text != '\0');
      gtk_widget_set_valign (label, GTK_ALIGN_START);
      /* Lined up with the text of the text views next to it. */
      gtk_widget_set_margin_start (label, 8);
      gtk_widget_set_margin_end (label, 8);
      gtk_widget_set_margin_top (label, 9);
      gtk_widget_set_margin_bottom (label, 9);
      if (*text == '\0')
        gtk_widget_add_css_class (label, "dim-label");
      gtk_accessible_update_property (GTK_ACCESSIBLE (label), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      accessible_label, -1);
      gtk_frame_set_child (GTK_FRAME (frame), label);
      return frame;
    }

  view = gtk_text_view_new ();
  buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (view));
  gtk_text_buffer_set_text (buffer, text, -1);
  gtk_text_view_set_editable (GTK_TEXT_VIEW (view), editable);
  gtk_text_view_set_cursor_visible (GTK_TEXT_VIEW (view), editable);
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (view), GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_left_margin (GTK_TEXT_VIEW (view), 12);
  gtk_text_view_set_right_margin (GTK_TEXT_VIEW (view), 12);
  gtk_text_view_set_top_margin (GTK_TEXT_VIEW (view), 9);
  gtk_text_view_set_bottom_margin (GTK_TEXT_VIEW (view), 9);
  gtk_text_view_set_pixels_below_lines (GTK_TEXT_VIEW (view), 2);
  gtk_text_view_set_accepts_tab (GTK_TEXT_VIEW (view), FALSE);
  if (editable)
    gtk_widget_set_size_request (view, -1, 120);
  gtk_accessible_update_property (GTK_ACCESSIBLE (view),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, accessible_label,
                                  GTK_ACCESSIBLE_PROPERTY_READ_ONLY, !editable,
                                  GTK_ACCESSIBLE_PROPERTY_MULTI_LINE, TRUE,
                                  -1);
  if (changed != NULL)
    {
      highlight_lines (buffer, changed);
      g_ptr_array_add (self->text_views, view);
    }
  gtk_frame_set_child (GTK_FRAME (frame), view);

  if (out_view != NULL)
    *out_view = GTK_TEXT_VIEW (view);
  return frame;
}

static GtkWidget *
caption (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_widget_add_css_class (label, "caption-heading");
  gtk_widget_add_css_class (label, "dim-label");
  return label;
}

/* @label without its mnemonic underscores. */
static char *
strip_mnemonic (const char *label)
{
  GString *text = g_string_new (NULL);

  for (const char *p = label; *p; p++)
    {
      if (*p == '_' && p[1] != '_')
        continue;
      if (*p == '_')
        p++;
      g_string_append_c (text, *p);
    }
  return g_string_free (text, FALSE);
}

static GtkCheckButton *
choice_button (const char     *label,
               const char     *field_name,
               GtkCheckButton *group)
{
  GtkWidget *button = gtk_check_button_new_with_mnemonic (label);
  g_autofree char *plain = strip_mnemonic (label);
  /* Translators: the accessible name of a choice, “Title: Keep this device's version” */
  g_autofree char *name = g_strdup_printf (_("%s: %s"), field_name, plain);

  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, name,
                                  -1);
  if (group != NULL)
    gtk_check_button_set_group (GTK_CHECK_BUTTON (button), group);
  return GTK_CHECK_BUTTON (button);
}

static void update_resolve_action (TandemMergeDialog *self);

static void
choice_toggled_cb (TandemMergeDialog *self)
{
  update_resolve_action (self);
}

static void
merged_toggled_cb (GtkCheckButton *button,
                   GParamSpec     *pspec,
                   GtkWidget      *merged_view)
{
  /* Choosing to write it means writing it now. */
  if (gtk_check_button_get_active (button))
    gtk_widget_grab_focus (merged_view);
}

/* One colliding field: this device | other device, the original on demand,
 * and for text a merged version to edit. */
static GtkWidget *
field_section (TandemMergeDialog         *self,
               const TandemFieldConflict *conflict)
{
  FieldChoice *choice = g_new0 (FieldChoice, 1);
  const char *name = field_label (conflict->field);
  gboolean text = is_text_field (conflict->field);
  g_autofree char *base = format_value (self, conflict->field, conflict->base);
  g_autofree char *local = format_value (self, conflict->field, conflict->local);
  g_autofree char *remote = format_value (self, conflict->field, conflict->remote);
  g_autofree char *local_label = NULL;
  g_autofree char *remote_label = NULL;
  g_autofree char *base_label = NULL;
  g_autoptr(GArray) local_changed = NULL;
  g_autoptr(GArray) remote_changed = NULL;
  GtkWidget *section, *header, *heading, *show_base, *base_revealer, *base_box, *grid;
  GtkWidget *local_frame, *remote_frame;

  choice->field = conflict->field;
  choice->local = json_node_ref (conflict->local);
  choice->remote = json_node_ref (conflict->remote);
  g_ptr_array_add (self->choices, choice);

  section = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);

  header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  heading = gtk_label_new (name);
  gtk_label_set_xalign (GTK_LABEL (heading), 0);
  gtk_widget_set_hexpand (heading, TRUE);
  gtk_widget_add_css_class (heading, "title-4");
  gtk_accessible_update_property (GTK_ACCESSIBLE (heading), GTK_ACCESSIBLE_PROPERTY_LEVEL, 2, -1);
  if (text)
    {
      GtkWidget *titles = gtk_box_new (GTK_ORIENTATION_VERTICAL, 3);
      GtkWidget *legend = gtk_label_new (_("Highlighted lines differ from the original."));

      gtk_label_set_xalign (GTK_LABEL (legend), 0);
      gtk_label_set_wrap (GTK_LABEL (legend), TRUE);
      gtk_widget_add_css_class (legend, "dim-label");
      gtk_widget_set_hexpand (titles, TRUE);
      gtk_box_append (GTK_BOX (titles), heading);
      gtk_box_append (GTK_BOX (titles), legend);
      gtk_box_append (GTK_BOX (header), titles);
    }
  else
    gtk_box_append (GTK_BOX (header), heading);
  show_base = gtk_toggle_button_new_with_mnemonic (_("Show _Original"));
  gtk_widget_set_valign (show_base, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (show_base, "flat");
  gtk_widget_set_tooltip_text (show_base, _("Show the value before either device changed it"));
  gtk_box_append (GTK_BOX (header), show_base);
  gtk_box_append (GTK_BOX (section), header);

  base_revealer = gtk_revealer_new ();
  g_object_bind_property (show_base, "active", base_revealer, "reveal-child",
                          G_BINDING_SYNC_CREATE);
  base_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_box_append (GTK_BOX (base_box), caption (_("Original")));
  /* Translators: accessible name of a text, “Title, original” */
  base_label = g_strdup_printf (_("%s, original"), name);
  gtk_box_append (GTK_BOX (base_box),
                  text_frame (self, base, text, FALSE, base_label, NULL, NULL));
  gtk_revealer_set_child (GTK_REVEALER (base_revealer), base_box);
  gtk_box_append (GTK_BOX (section), base_revealer);

  /* Two columns of equal width; frames in the same row share a height. */
  grid = gtk_grid_new ();
  gtk_grid_set_column_homogeneous (GTK_GRID (grid), TRUE);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 18);
  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);

  if (text)
    {
      local_changed = changed_lines (base, local);
      remote_changed = changed_lines (base, remote);
    }
  /* Translators: accessible name of a text, “Title on this device” */
  local_label = g_strdup_printf (_("%s on this device"), name);
  /* Translators: accessible name of a text, “Title on the other device” */
  remote_label = g_strdup_printf (_("%s on the other device"), name);
  local_frame = text_frame (self, local, text, FALSE, local_label, local_changed, NULL);
  remote_frame = text_frame (self, remote, text, FALSE, remote_label, remote_changed, NULL);

  choice->keep_local = choice_button (_("_Keep this device's version"), name, NULL);
  choice->keep_remote = choice_button (_("K_eep the other device's version"), name,
                                       choice->keep_local);
  g_signal_connect_swapped (choice->keep_local, "notify::active",
                            G_CALLBACK (choice_toggled_cb), self);
  g_signal_connect_swapped (choice->keep_remote, "notify::active",
                            G_CALLBACK (choice_toggled_cb), self);

  gtk_grid_attach (GTK_GRID (grid), caption (_("This Device")), 0, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), caption (_("Other Device")), 1, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), local_frame, 0, 1, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), remote_frame, 1, 1, 1, 1);
  gtk_widget_set_margin_top (GTK_WIDGET (choice->keep_local), 6);
  gtk_widget_set_margin_top (GTK_WIDGET (choice->keep_remote), 6);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (choice->keep_local), 0, 2, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (choice->keep_remote), 1, 2, 1, 1);
  gtk_box_append (GTK_BOX (section), grid);

  if (text)
    {
      g_autoptr(GArray) draft_flags = NULL;
      g_autofree char *draft = draft_merge (base, local, remote, &draft_flags);
      /* Translators: accessible name of a text, “Notes, merged” */
      g_autofree char *merged_label = g_strdup_printf (_("%s, merged"), name);
      GtkWidget *merged_revealer, *merged_box, *hint;
      GtkTextView *merged_view;

      choice->keep_merged = choice_button (_("_Write a merged version"), name, choice->keep_local);
      g_signal_connect_swapped (choice->keep_merged, "notify::active",
                                G_CALLBACK (choice_toggled_cb), self);
      gtk_box_append (GTK_BOX (section), GTK_WIDGET (choice->keep_merged));

      merged_revealer = gtk_revealer_new ();
      merged_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
      hint = gtk_label_new (_("Where both devices changed the same lines, this device's lines "
                              "come first, then the other device's. Edit the text until it "
                              "reads right."));
      gtk_label_set_xalign (GTK_LABEL (hint), 0);
      gtk_label_set_wrap (GTK_LABEL (hint), TRUE);
      gtk_widget_add_css_class (hint, "dim-label");
      gtk_box_append (GTK_BOX (merged_box), hint);
      gtk_box_append (GTK_BOX (merged_box),
                      text_frame (self, draft, TRUE, TRUE, merged_label, draft_flags,
                                  &merged_view));
      gtk_revealer_set_child (GTK_REVEALER (merged_revealer), merged_box);
      gtk_box_append (GTK_BOX (section), merged_revealer);
      choice->merged_buffer = gtk_text_view_get_buffer (merged_view);
      g_object_bind_property (choice->keep_merged, "active", merged_revealer, "reveal-child",
                              G_BINDING_SYNC_CREATE);
      g_signal_connect_object (choice->keep_merged, "notify::active",
                               G_CALLBACK (merged_toggled_cb), merged_view, 0);
    }

  return section;
}

static void
add_change_row (TandemMergeDialog *self,
                const char        *title,
                const char        *subtitle)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 4);
  gtk_list_box_append (self->changes_list, row);
}

/* The fields @version changed since the base, for the edit-vs-delete page. */
static void
fill_changes (TandemMergeDialog *self,
              const TandemTask  *version)
{
  const TandemTask *base = self->conflict->base;
  GtkWidget *child;
  guint n = 0;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->changes_list))))
    gtk_list_box_remove (self->changes_list, child);

  for (TandemField field = 0; field < TANDEM_N_FIELDS; field++)
    {
      g_autoptr(JsonNode) value = NULL;
      g_autofree char *text = NULL;

      if (field == TANDEM_FIELD_DELETED)
        continue;
      if (base != NULL ? tandem_task_field_equal (base, version, field)
                       : field != TANDEM_FIELD_TITLE && field != TANDEM_FIELD_NOTES)
        continue;

      value = tandem_task_get_field (version, field);
      if (field == TANDEM_FIELD_COMMENTS && base != NULL)
        {
          guint before = base->comments ? base->comments->len : 0;
          guint after = version->comments ? version->comments->len : 0;
          guint added = after > before ? after - before : 0;

          text = g_strdup_printf (ngettext ("%u new comment", "%u new comments", added), added);
        }
      else
        text = format_value (self, field, value);
      if (field == TANDEM_FIELD_NOTES && *text == '\0')
        {
          g_free (text);
          text = g_strdup (_("No notes"));
        }
      add_change_row (self, field_label (field), text);
      n++;
    }

  if (n == 0)
    add_change_row (self, _("No changes to the task itself"), "");
}

static void
set_resolve_label (TandemMergeDialog *self,
                   const char        *label,
                   gboolean           destructive)
{
  GtkWidget *button = GTK_WIDGET (self->resolve_button);

  gtk_button_set_label (self->resolve_button, label);
  if (destructive)
    {
      gtk_widget_remove_css_class (button, "suggested-action");
      gtk_widget_add_css_class (button, "destructive-action");
    }
  else
    {
      gtk_widget_remove_css_class (button, "destructive-action");
      gtk_widget_add_css_class (button, "suggested-action");
    }
}

static void
delete_choice_changed_cb (TandemMergeDialog *self)
{
  gboolean edit_here = self->conflict != NULL &&
                       self->conflict->kind == TANDEM_CONFLICT_EDIT_VS_DELETE;

  if (gtk_check_button_get_active (self->keep_check))
    set_resolve_label (self, edit_here ? _("_Restore") : _("_Keep"), FALSE);
  else if (gtk_check_button_get_active (self->drop_check))
    set_resolve_label (self, edit_here ? _("_Discard") : _("_Delete"), TRUE);
  else
    set_resolve_label (self, _("_Resolve"), FALSE);
  update_resolve_action (self);
}

/* Whether every colliding field, or the fate of the task, has a choice. */
static gboolean
choices_complete (TandemMergeDialog *self)
{
  gboolean ready = self->conflict != NULL;

  if (ready && self->conflict->kind == TANDEM_CONFLICT_EDIT)
    {
      for (guint i = 0; i < self->choices->len; i++)
        {
          FieldChoice *choice = g_ptr_array_index (self->choices, i);

          if (!gtk_check_button_get_active (choice->keep_local) &&
              !gtk_check_button_get_active (choice->keep_remote) &&
              !(choice->keep_merged && gtk_check_button_get_active (choice->keep_merged)))
            ready = FALSE;
        }
    }
  else if (ready)
    ready = gtk_check_button_get_active (self->keep_check) ||
            gtk_check_button_get_active (self->drop_check);

  return ready;
}

static void
update_resolve_action (TandemMergeDialog *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "merge.resolve", choices_complete (self));
}

static void
show_error (TandemMergeDialog *self,
            const char        *message)
{
  gtk_label_set_text (self->error_label, message);
  gtk_revealer_set_reveal_child (self->error_revealer, TRUE);
}

static void
dismiss_error_cb (TandemMergeDialog *self)
{
  gtk_revealer_set_reveal_child (self->error_revealer, FALSE);
}

/* Builds the page for the conflict now in the store. */
static void
load_conflict (TandemMergeDialog *self)
{
  g_autoptr(GError) error = NULL;
  const TandemTask *shown;
  GtkWidget *child;

  g_clear_pointer (&self->conflict, tandem_conflict_free);
  g_ptr_array_set_size (self->choices, 0);
  g_ptr_array_set_size (self->text_views, 0);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->fields_box))))
    gtk_box_remove (self->fields_box, child);
  gtk_check_button_set_active (self->keep_check, FALSE);
  gtk_check_button_set_active (self->drop_check, FALSE);

  self->conflict = tandem_store_get_conflict (self->store, self->task_id, &error);
  if (self->conflict == NULL)
    {
      if (error != NULL &&
          !g_error_matches (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND))
        show_error (self, error->message);
      adw_window_title_set_subtitle (self->window_title, NULL);
      gtk_button_set_label (self->cancel_button, _("_Close"));
      gtk_widget_set_visible (GTK_WIDGET (self->resolve_button), FALSE);
      gtk_window_set_default_size (GTK_WINDOW (self), 560, 480);
      gtk_stack_set_visible_child_name (self->stack, "gone");
      update_resolve_action (self);
      return;
    }

  shown = self->conflict->local;
  if (shown->title == NULL || *shown->title == '\0')
    shown = self->conflict->remote;
  adw_window_title_set_subtitle (self->window_title, shown->title);
  gtk_button_set_label (self->cancel_button, _("_Cancel"));
  /* A choice between two outcomes needs less room than two columns. */
  if (self->conflict->kind != TANDEM_CONFLICT_EDIT)
    gtk_window_set_default_size (GTK_WINDOW (self), 640, 600);

  switch (self->conflict->kind)
    {
    case TANDEM_CONFLICT_EDIT_VS_DELETE:
      gtk_label_set_text (self->delete_intro,
                          _("You changed this task on this device, but it was deleted on "
                            "another device. Nothing is lost until you choose."));
      gtk_label_set_text (self->changes_heading, _("Your Changes"));
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->keep_row),
                                     _("Restore with my changes"));
      adw_action_row_set_subtitle (self->keep_row,
                                   _("The task comes back on all your devices, with the "
                                     "changes made on this device."));
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->drop_row),
                                     _("Discard my changes"));
      adw_action_row_set_subtitle (self->drop_row,
                                   _("The task stays deleted, and the changes made on this "
                                     "device are let go."));
      fill_changes (self, self->conflict->local);
      gtk_stack_set_visible_child_name (self->stack, "delete");
      break;

    case TANDEM_CONFLICT_DELETE_VS_EDIT:
      gtk_label_set_text (self->delete_intro,
                          _("You deleted this task on this device, but it was changed on "
                            "another device. Nothing is lost until you choose."));
      gtk_label_set_text (self->changes_heading, _("Changes on the Other Device"));
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->keep_row),
                                     _("Keep the other device's version"));
      adw_action_row_set_subtitle (self->keep_row,
                                   _("The task stays, with the changes made on the other "
                                     "device."));
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->drop_row), _("Delete anyway"));
      adw_action_row_set_subtitle (self->drop_row,
                                   _("The task is deleted on all your devices, the other "
                                     "device's changes included."));
      fill_changes (self, self->conflict->remote);
      gtk_stack_set_visible_child_name (self->stack, "delete");
      break;

    case TANDEM_CONFLICT_EDIT:
    case TANDEM_CONFLICT_NONE:
    default:
      {
        TandemMergeResult *merge = self->conflict->merge;
        g_autoptr(GString) intro = g_string_new (NULL);
        gboolean any_text = FALSE;

        /* Sentences joined by a space; each translated on its own. */
        g_string_append (intro, _("This task was changed on this device and on another device "
                                  "at the same time."));
        g_string_append_c (intro, ' ');
        if (merge->conflicts->len == 1)
          g_string_append (intro, _("Choose the version to keep."));
        else
          g_string_append (intro, _("Choose the version to keep for each part."));
        if (merge->auto_merged->len > 0 || merge->overwrites->len > 0)
          {
            g_string_append_c (intro, ' ');
            g_string_append (intro, _("Other changes were combined automatically."));
          }
        g_string_append_c (intro, ' ');
        g_string_append (intro, _("Nothing changes until you press Resolve."));
        gtk_label_set_text (self->fields_intro, intro->str);

        for (guint i = 0; i < merge->conflicts->len; i++)
          {
            const TandemFieldConflict *conflict = g_ptr_array_index (merge->conflicts, i);

            any_text |= is_text_field (conflict->field);
            gtk_box_append (self->fields_box, field_section (self, conflict));
          }
        /* Short values need no tall window. */
        if (!any_text)
          gtk_window_set_default_size (GTK_WINDOW (self), 760, 460);
        update_highlight_colors (self);
        gtk_stack_set_visible_child_name (self->stack, "fields");
      }
      break;
    }

  gtk_widget_set_visible (GTK_WIDGET (self->resolve_button), TRUE);
  delete_choice_changed_cb (self);
}

/* Whether the store still holds the conflict the user is looking at. */
static gboolean
conflict_unchanged (TandemMergeDialog *self,
                    TandemConflict    *now)
{
  if (now == NULL || self->conflict == NULL)
    return now == self->conflict;
  if (now->kind != self->conflict->kind || now->remote_rev != self->conflict->remote_rev ||
      now->merge->conflicts->len != self->conflict->merge->conflicts->len)
    return FALSE;
  for (guint i = 0; i < now->merge->conflicts->len; i++)
    {
      const TandemFieldConflict *a = g_ptr_array_index (now->merge->conflicts, i);
      const TandemFieldConflict *b = g_ptr_array_index (self->conflict->merge->conflicts, i);

      if (a->field != b->field || !json_node_equal (a->local, b->local) ||
          !json_node_equal (a->remote, b->remote))
        return FALSE;
    }
  return TRUE;
}

static GHashTable *
chosen_values (TandemMergeDialog *self)
{
  GHashTable *values = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                              (GDestroyNotify) json_node_unref);

  for (guint i = 0; i < self->choices->len; i++)
    {
      FieldChoice *choice = g_ptr_array_index (self->choices, i);
      JsonNode *value;

      if (gtk_check_button_get_active (choice->keep_local))
        value = json_node_copy (choice->local);
      else if (gtk_check_button_get_active (choice->keep_remote))
        value = json_node_copy (choice->remote);
      else
        {
          GtkTextIter start, end;
          g_autofree char *text = NULL;

          g_assert (choice->merged_buffer != NULL);
          gtk_text_buffer_get_bounds (choice->merged_buffer, &start, &end);
          text = gtk_text_buffer_get_text (choice->merged_buffer, &start, &end, FALSE);
          value = json_node_init_string (json_node_alloc (), text);
        }
      g_hash_table_insert (values, (gpointer) tandem_field_name (choice->field), value);
    }
  return values;
}

static void
resolve_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  TandemMergeDialog *self = TANDEM_MERGE_DIALOG (widget);
  g_autoptr(TandemConflict) now = NULL;
  g_autoptr(GHashTable) values = NULL;
  g_autoptr(GError) error = NULL;
  TandemResolution resolution;

  if (!choices_complete (self))
    return;

  /* Choices made against an older state must not land on a newer one. */
  now = tandem_store_get_conflict (self->store, self->task_id, NULL);
  if (!conflict_unchanged (self, now))
    {
      load_conflict (self);
      if (self->conflict != NULL)
        show_error (self, _("This task was changed again on the other device while you were "
                            "choosing. Here is its latest version; please choose again."));
      return;
    }

  if (self->conflict->kind == TANDEM_CONFLICT_EDIT)
    {
      resolution = TANDEM_RESOLUTION_FIELDS;
      values = chosen_values (self);
    }
  else
    {
      gboolean keep = gtk_check_button_get_active (self->keep_check);

      /* Keeping is this device's version after an edit here, the server's
       * after a delete here; and the other way round. */
      if (self->conflict->kind == TANDEM_CONFLICT_EDIT_VS_DELETE)
        resolution = keep ? TANDEM_RESOLUTION_LOCAL : TANDEM_RESOLUTION_REMOTE;
      else
        resolution = keep ? TANDEM_RESOLUTION_REMOTE : TANDEM_RESOLUTION_LOCAL;
    }

  if (!tandem_store_resolve_conflict (self->store, self->task_id, resolution, values, &error))
    {
      g_autofree char *message = g_strdup_printf (_("Could not resolve the conflict: %s"),
                                                  error->message);

      show_error (self, message);
      return;
    }

  if (self->engine != NULL)
    tandem_sync_engine_sync_now (self->engine);
  g_signal_emit (self, signals[RESOLVED], 0, self->task_id);
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
conflicts_changed_cb (TandemMergeDialog *self)
{
  g_autoptr(TandemConflict) now = NULL;

  /* Resolved elsewhere (tandem-cli, another window): say so rather than
   * offer choices that no longer apply. A newer remote version is checked
   * when the user resolves, so a half-made choice is not thrown away. */
  now = tandem_store_get_conflict (self->store, self->task_id, NULL);
  if (now == NULL && self->conflict != NULL)
    load_conflict (self);
}

static void
dark_changed_cb (TandemMergeDialog *self)
{
  update_highlight_colors (self);
}

/* GObject */

GtkWindow *
tandem_merge_dialog_new (GtkWindow        *parent,
                         TandemStore      *store,
                         TandemSyncEngine *engine,
                         const char       *task_id)
{
  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (TANDEM_IS_STORE (store), NULL);
  g_return_val_if_fail (engine == NULL || TANDEM_IS_SYNC_ENGINE (engine), NULL);
  g_return_val_if_fail (task_id != NULL, NULL);

  return g_object_new (TANDEM_TYPE_MERGE_DIALOG,
                       "transient-for", parent,
                       "store", store,
                       "engine", engine,
                       "task-id", task_id,
                       NULL);
}

const char *
tandem_merge_dialog_get_task_id (TandemMergeDialog *self)
{
  g_return_val_if_fail (TANDEM_IS_MERGE_DIALOG (self), NULL);

  return self->task_id;
}

static void
tandem_merge_dialog_constructed (GObject *object)
{
  TandemMergeDialog *self = TANDEM_MERGE_DIALOG (object);

  G_OBJECT_CLASS (tandem_merge_dialog_parent_class)->constructed (object);

  g_assert (self->store != NULL && self->task_id != NULL);
  if (self->engine != NULL)
    self->conflicts_changed_id = g_signal_connect_object (self->engine, "conflicts-changed",
                                                          G_CALLBACK (conflicts_changed_cb), self,
                                                          G_CONNECT_SWAPPED);
  load_conflict (self);
}

static void
tandem_merge_dialog_dispose (GObject *object)
{
  TandemMergeDialog *self = TANDEM_MERGE_DIALOG (object);

  g_clear_signal_handler (&self->dark_id, adw_style_manager_get_default ());
  if (self->engine != NULL)
    g_clear_signal_handler (&self->conflicts_changed_id, self->engine);
  gtk_widget_dispose_template (GTK_WIDGET (self), TANDEM_TYPE_MERGE_DIALOG);

  G_OBJECT_CLASS (tandem_merge_dialog_parent_class)->dispose (object);
}

static void
tandem_merge_dialog_finalize (GObject *object)
{
  TandemMergeDialog *self = TANDEM_MERGE_DIALOG (object);

  g_clear_pointer (&self->choices, g_ptr_array_unref);
  g_clear_pointer (&self->text_views, g_ptr_array_unref);
  g_clear_pointer (&self->conflict, tandem_conflict_free);
  g_clear_object (&self->store);
  g_clear_object (&self->engine);
  g_clear_pointer (&self->task_id, g_free);

  G_OBJECT_CLASS (tandem_merge_dialog_parent_class)->finalize (object);
}

static void
tandem_merge_dialog_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  TandemMergeDialog *self = TANDEM_MERGE_DIALOG (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_ENGINE:
      g_value_set_object (value, self->engine);
      break;
    case PROP_TASK_ID:
      g_value_set_string (value, self->task_id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_merge_dialog_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  TandemMergeDialog *self = TANDEM_MERGE_DIALOG (object);

  switch (prop_id)
    {
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    case PROP_ENGINE:
      self->engine = g_value_dup_object (value);
      break;
    case PROP_TASK_ID:
      self->task_id = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_merge_dialog_class_init (TandemMergeDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = tandem_merge_dialog_constructed;
  object_class->dispose = tandem_merge_dialog_dispose;
  object_class->finalize = tandem_merge_dialog_finalize;
  object_class->get_property = tandem_merge_dialog_get_property;
  object_class->set_property = tandem_merge_dialog_set_property;

  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, TANDEM_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS |
                         G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_ENGINE] =
    g_param_spec_object ("engine", NULL, NULL, TANDEM_TYPE_SYNC_ENGINE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS |
                         G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_TASK_ID] =
    g_param_spec_string ("task-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS |
                         G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The conflict of the task was resolved and one op queued. */
  signals[RESOLVED] = g_signal_new ("resolved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                    NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (
    widget_class, "/io/github/tandem/Tandem/ui/tandem-merge-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, TandemMergeDialog, window_title);
  gtk_widget_class_bind_template_child (widget_class, TandemMergeDialog, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, TandemMergeDialog, resolve_button);
  gtk_widget_class_bind_template_child (widget_class, TandemMergeDialog, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, TandemMergeDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, TandemMergeDialog, stack);
  gtk_widget_class_bind_template_child (widget_class, TandemMergeDialog, fields_intro);
  gtk_widget_class_bind_template_child (widget_class, TandemMergeDialog, fields_box);
  gtk_widget_class_bind_template_child (widget_class, TandemMergeDialog, delete_intro);
  gtk_widget_class_bind_template_child (widget_class, TandemMergeDialog, changes_heading);
  gtk_widget_class_bind_template_child (widget_class, TandemMergeDialog, changes_list);
  gtk_widget_class_bind_template_child (widget_class, TandemMergeDialog, keep_row);
  gtk_widget_class_bind_template_child (widget_class, TandemMergeDialog, keep_check);
  gtk_widget_class_bind_template_child (widget_class, TandemMergeDialog, drop_row);
  gtk_widget_class_bind_template_child (widget_class, TandemMergeDialog, drop_check);
  gtk_widget_class_bind_template_callback (widget_class, dismiss_error_cb);
  gtk_widget_class_bind_template_callback (widget_class, delete_choice_changed_cb);

  gtk_widget_class_install_action (widget_class, "merge.resolve", NULL, resolve_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
tandem_merge_dialog_init (TandemMergeDialog *self)
{
  GtkEventController *shortcuts;
  GtkShortcutTrigger *trigger;

  self->choices = g_ptr_array_new_with_free_func ((GDestroyNotify) field_choice_free);
  self->text_views = g_ptr_array_new ();

  gtk_widget_init_template (GTK_WIDGET (self));

  /* Ctrl+Enter resolves from anywhere, a text view included: catch it
   * before the focused widget does. */
  shortcuts = gtk_shortcut_controller_new ();
  gtk_event_controller_set_propagation_phase (shortcuts, GTK_PHASE_CAPTURE);
  trigger = gtk_alternative_trigger_new (gtk_keyval_trigger_new (GDK_KEY_Return, GDK_CONTROL_MASK),
                                         gtk_keyval_trigger_new (GDK_KEY_KP_Enter,
                                                                 GDK_CONTROL_MASK));
  gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts),
                                        gtk_shortcut_new (trigger,
                                                          gtk_named_action_new ("merge.resolve")));
  gtk_widget_add_controller (GTK_WIDGET (self), shortcuts);

  self->dark_id = g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                                           G_CALLBACK (dark_changed_cb), self, G_CONNECT_SWAPPED);
}
