/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The notes merge (diff3) on arbitrary texts. The input is base, ours and
 * theirs separated by NUL bytes (a missing part is empty); or, when it
 * starts with the byte 0xff, choices for a generator that edits one base
 * text into two sides line by line (lines from a small pool, so hunks meet,
 * touch and overlap far more often than in random bytes). Checked: the
 * result is NULL exactly when the merge collides; a clean merge of UTF-8
 * texts is UTF-8; the cases where only one side changed, or both made the
 * same change, are clean and give that change; and the merge does not
 * depend on which side is called ours. */

#include "config.h"

#include <string.h>

#include "fuzz-common.h"
#include "tandem-merge.h"

static gboolean
merge (const char  *base,
       const char  *ours,
       const char  *theirs,
       char       **merged)
{
  gboolean clean = tandem_merge_text (base, ours, theirs, merged);

  FUZZ_CHECK (clean == (*merged != NULL), "clean is %d but merged is %p", clean, *merged);
  return clean;
}

static void
check_one_sided (const char *base,
                 const char *changed)
{
  g_autofree char *merged = NULL;

  FUZZ_CHECK (merge (base, changed, base, &merged), "a change on our side only collided");
  FUZZ_CHECK (g_str_equal (merged, changed), "our change alone merged to something else");
  g_clear_pointer (&merged, g_free);

  FUZZ_CHECK (merge (base, base, changed, &merged), "a change on their side only collided");
  FUZZ_CHECK (g_str_equal (merged, changed), "their change alone merged to something else");
  g_clear_pointer (&merged, g_free);

  FUZZ_CHECK (merge (base, changed, changed, &merged), "the same change on both sides collided");
  FUZZ_CHECK (g_str_equal (merged, changed), "the same change on both sides merged to something else");
}

static const char *line_pool[] = {
  "Flights\n", "book the train\n", "\n", "Hotel\n", "ask for a quiet room\n", "chargers\n",
  "passport\n", "ø ü\n", "x\n", "y\n", "chargers", "x",
};

/* Base: up to 12 pool lines. A side: for each base line keep it, drop it,
 * replace it or insert a line before it; maybe append at the end. */
static char *
generate (FuzzBytes   *in,
          GPtrArray   *base_lines)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i <= base_lines->len; i++)
    {
      guint action = fuzz_pick (in, 8);

      if (action == 1)
        g_string_append (text, line_pool[fuzz_pick (in, G_N_ELEMENTS (line_pool))]);
      if (i == base_lines->len)
        break;
      if (action == 2)
        continue;   /* dropped */
      if (action == 3)
        g_string_append (text, line_pool[fuzz_pick (in, G_N_ELEMENTS (line_pool))]);
      else
        g_string_append (text, g_ptr_array_index (base_lines, i));
    }
  return g_string_free (text, FALSE);
}

static void
generate_three (const uint8_t *data,
                size_t         size,
                char         **base,
                char         **ours,
                char         **theirs)
{
  FuzzBytes in = { data, size, 0 };
  g_autoptr(GPtrArray) lines = g_ptr_array_new ();
  guint n = fuzz_pick (&in, 13);
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    {
      const char *line = line_pool[fuzz_pick (&in, G_N_ELEMENTS (line_pool))];

      /* Only the last line may lack its newline. */
      if (i + 1 < n && !g_str_has_suffix (line, "\n"))
        line = "\n";
      g_ptr_array_add (lines, (gpointer) line);
      g_string_append (text, line);
    }
  *base = g_string_free (text, FALSE);
  *ours = generate (&in, lines);
  *theirs = generate (&in, lines);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const char *parts[3] = { "", "", "" };
  g_autofree char *gen_base = NULL;
  g_autofree char *gen_ours = NULL;
  g_autofree char *gen_theirs = NULL;
  g_autofree char *copy = NULL;
  g_autofree char *merged = NULL;
  g_autofree char *swapped = NULL;
  gboolean clean, clean_swapped, all_utf8 = TRUE;
  char *p, *end;

  fuzz_init_glib ();

  if (size > 0 && data[0] == 0xff)
    {
      generate_three (data + 1, size - 1, &gen_base, &gen_ours, &gen_theirs);
      parts[0] = gen_base;
      parts[1] = gen_ours;
      parts[2] = gen_theirs;
    }
  else
    {
      /* A NUL-terminated copy, cut into three C strings at its NUL bytes. */
      copy = g_malloc (size + 1);
      memcpy (copy, data, size);
      copy[size] = '\0';
      p = copy;
      end = copy + size;
      for (guint i = 0; i < 3 && p <= end; i++)
        {
          parts[i] = p;
          p += strlen (p) + 1;
        }
    }
  for (guint i = 0; i < 3; i++)
    all_utf8 = all_utf8 && g_utf8_validate (parts[i], -1, NULL);

  clean = merge (parts[0], parts[1], parts[2], &merged);
  if (clean && all_utf8)
    FUZZ_CHECK (g_utf8_validate (merged, -1, NULL), "a merge of UTF-8 texts is not UTF-8");

  /* Which device is "ours" must not decide the outcome. */
  clean_swapped = merge (parts[0], parts[2], parts[1], &swapped);
  FUZZ_CHECK (clean == clean_swapped, "the merge collides only one way round");
  if (clean)
    FUZZ_CHECK (g_str_equal (merged, swapped), "the merge depends on the order of the sides:\n"
                "  %.200s\n  %.200s", merged, swapped);

  check_one_sided (parts[0], parts[1]);
  check_one_sided (parts[0], parts[2]);
  return 0;
}
