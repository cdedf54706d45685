/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-core"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "tandem-position.h"

#include <string.h>

/* A key is a sequence of signed integers, each written as a self-delimiting
 * base-62 number whose text sorts like its value (docs/position-keys.md).
 * Since no number's text is a prefix of another's, strcmp() on keys is the
 * lexicographic order of the sequences, a sequence sorting before its own
 * extensions. The head character of each number says how long it is:
 *
 *   '0'..'9'            negative, followed by 10..1 digits
 *   'A'..'Z', 'a'..'p'  a small number, -21..20, on its own
 *   'q'..'z'            positive, followed by 1..10 digits
 *
 * Each tier starts where the one before it ends, so every number has exactly
 * one text and every string that parses is a key this module could make. */

#define MAX_KEY_LEN 1024
#define BASE        62
#define MAX_DIGITS  10 /* 62^10 fits a gint64 with room for sums */
#define SMALL_MIN   (-21)
#define SMALL_MAX   20
#define HEAD_NEG    10 /* head digit HEAD_NEG - n: negative, n digits follow */
#define HEAD_ZERO   31 /* head digit of the small number 0, 'V' */
#define HEAD_POS    51 /* head digit HEAD_POS + n: positive, n digits follow */

/* The last value of the ten-digit positive tier: 20 + 62 + 62^2 + ... + 62^10 */
#define VALUE_MAX   G_GINT64_CONSTANT (853058371866181886)
#define VALUE_MIN   (-VALUE_MAX - 1)

/* Bounds standing for "no limit" at one depth of the sequence. No key ends in
 * VALUE_MIN (parse_key()), so a lower bound of VALUE_MIN leaves exactly the
 * same numbers to pick from as no lower bound at all. */
#define LOW_OPEN    VALUE_MIN
#define HIGH_OPEN   (VALUE_MAX + 1)

static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

G_DEFINE_QUARK (tandem-position-error-quark, tandem_position_error)

static int
digit_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'Z')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 36;
  return -1;
}

/* Tier 0 holds the small numbers; tier n (-n) the positive (negative)
 * numbers with n digits after the head. Negative tiers mirror positive ones
 * through v ↦ -v - 1. */
static void
tier_bounds (int     tier,
             gint64 *first,
             gint64 *last)
{
  gint64 start = SMALL_MAX + 1;
  gint64 size = BASE;

  if (tier == 0)
    {
      *first = SMALL_MIN;
      *last = SMALL_MAX;
      return;
    }

  for (int n = 1; n < ABS (tier); n++)
    {
      start += size;
      size *= BASE;
    }

  if (tier > 0)
    {
      *first = start;
      *last = start + size - 1;
    }
  else
    {
      *first = -(start + size);
      *last = -start - 1;
    }
}

static int
tier_of (gint64  value,
         gint64 *first,
         gint64 *last)
{
  g_assert (value >= VALUE_MIN && value <= VALUE_MAX);

  for (int n = 0;; n++)
    {
      int tier = value < 0 ? -n : n;

      tier_bounds (tier, first, last);
      if (value >= *first && value <= *last)
        return tier;
    }
}

static void
append_number (GString *key,
               gint64   value)
{
  gint64 first, last;
  int tier = tier_of (value, &first, &last);
  int n = ABS (tier);
  gint64 offset = value - first;
  char text[MAX_DIGITS];

  if (tier == 0)
    {
      g_string_append_c (key, digits[HEAD_ZERO + value]);
      return;
    }

  g_string_append_c (key, digits[tier > 0 ? HEAD_POS + n : HEAD_NEG - n]);
  for (int i = n - 1; i >= 0; i--)
    {
      text[i] = digits[offset % BASE];
      offset /= BASE;
    }
  g_string_append_len (key, text, n);
}

/* Reads one number at *p and moves *p past it. */
static gboolean
read_number (const char **p,
             gint64      *value)
{
  int head = digit_value (**p);
  gint64 offset = 0;
  gint64 first, last;
  int tier;

  if (head < 0)
    return FALSE;
  (*p)++;

  if (head >= HEAD_NEG && head <= HEAD_POS)
    {
      *value = head - HEAD_ZERO;
      return TRUE;
    }

  tier = head > HEAD_POS ? head - HEAD_POS : -(HEAD_NEG - head);
  for (int i = 0; i < ABS (tier); i++)
    {
      /* stops at the terminating NUL too, which is not a digit */
      int d = digit_value ((*p)[i]);

      if (d < 0)
        return FALSE;
      offset = offset * BASE + d;
    }
  *p += ABS (tier);

  tier_bounds (tier, &first, &last);
  *value = first + offset;
  return TRUE;
}

/* Why a key is too long: a format taking MAX_KEY_LEN, unlike the other
 * reasons parse_key() gives. */
static const char too_long[] = N_("it is longer than %d characters");

/* Splits @key into its numbers; on failure @why says what is wrong, marked
 * for translation but not translated (see tandem_position_between()). */
static gboolean
parse_key (const char  *key,
           GArray      *numbers,
           const char **why)
{
  const char *p = key;
  gsize len = strnlen (key, MAX_KEY_LEN + 1);

  if (len == 0)
    {
      *why = N_("it is empty");
      return FALSE;
    }
  if (len > MAX_KEY_LEN)
    {
      *why = too_long;
      return FALSE;
    }

  if (strspn (key, digits) != len)
    {
      *why = N_("only the characters 0-9, A-Z and a-z may appear");
      return FALSE;
    }

  while (*p != '\0')
    {
      gint64 value;

      if (!read_number (&p, &value))
        {
          *why = N_("it ends in the middle of a number");
          return FALSE;
        }
      g_array_append_val (numbers, value);
    }

  /* Nothing sorts between K and K followed by the lowest number, so a key
   * ending in it would leave no room before itself. */
  if (g_array_index (numbers, gint64, numbers->len - 1) == VALUE_MIN)
    {
      *why = N_("it ends in the lowest number, which leaves no room before it");
      return FALSE;
    }

  return TRUE;
}

/* The number to put strictly between @lo and @hi (hi - lo >= 2).
 *
 * Small numbers cost one character, so they are used first, halving the room
 * each time: inserts closing in on one spot from both sides then spend a
 * character per five or six inserts, as plain bisection would. Outside them,
 * an open side (the end of the list, or past the last number at this depth)
 * is approached by steps of one, so inserting again and again at the same
 * end costs one more character per factor of 62 inserts rather than one per
 * six. A bounded gap is halved within the shortest tier it reaches. */
static gint64
pick (gint64 lo,
      gint64 hi)
{
  gint64 nearest = CLAMP (0, lo + 1, hi - 1);
  gint64 first, last;
  int tier = tier_of (nearest, &first, &last);

  if (tier != 0 && (lo == LOW_OPEN || hi == HIGH_OPEN))
    return nearest;

  lo = MAX (lo, first - 1);
  hi = MIN (hi, last + 1);
  return lo + (hi - lo + 1) / 2;
}

/* Appends to @key the numbers of a sequence strictly between @a and @b, where
 * an empty @a is the start of the list and an empty @b its end. */
static void
append_between (const gint64 *a,
                guint         na,
                const gint64 *b,
                guint         nb,
                GString      *key)
{
  for (;;)
    {
      gint64 lo = na > 0 ? a[0] : LOW_OPEN;
      gint64 hi = nb > 0 ? b[0] : HIGH_OPEN;

      if (na > 0 && nb > 0 && a[0] == b[0])
        {
          /* b is longer than the common part, or it would not be after a */
          append_number (key, a[0]);
          a++, na--;
          b++, nb--;
          g_assert (nb > 0);
        }
      else if (hi - lo >= 2)
        {
          append_number (key, pick (lo, hi));
          return;
        }
      else if (na > 0)
        {
          /* No number fits at this depth: extend a, whose extensions all
           * sort before b. The next depth is then open at the top, so
           * inserting again and again right before b steps up by one there
           * instead of closing in. */
          append_number (key, a[0]);
          a++, na--;
          nb = 0;
        }
      else if (hi > VALUE_MIN)
        {
          /* b starts with the second-lowest number: anything that starts
           * with the lowest one is before it. */
          append_number (key, VALUE_MIN);
          nb = 0;
        }
      else
        {
          /* b starts with the lowest number, so it goes on (parse_key()) */
          append_number (key, b[0]);
          b++, nb--;
          g_assert (nb > 0);
        }
    }
}

/* A key as shown in an error: escaped, since a refused one may hold any
 * bytes, and shortened, since it may be a kilobyte long. NULL stands for
 * @end, an open end of the list. */
static char *
describe (const char *key,
          const char *end)
{
  g_autofree char *escaped = NULL;

  if (key == NULL)
    return g_strdup (end);

  escaped = g_strescape (key, NULL);
  if (strlen (escaped) > 40)
    /* Translators: the first 40 characters of a position key (one may be
     * very long) in quotation marks, ending in an ellipsis */
    return g_strdup_printf (_("“%.40s…”"), escaped);
  /* Translators: a position key in quotation marks */
  return g_strdup_printf (_("“%s”"), escaped);
}

char *
tandem_position_between (const char  *before,
                         const char  *after,
                         GError     **error)
{
  g_autoptr(GArray) a = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) b = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GString) key = NULL;
  const char *bad = NULL;
  const char *why = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (before != NULL && !parse_key (before, a, &why))
    bad = before;
  else if (after != NULL && !parse_key (after, b, &why))
    bad = after;

  if (bad != NULL)
    {
      g_autofree char *shown = describe (bad, NULL);
      g_autofree char *reason = why == too_long ? g_strdup_printf (_(too_long), MAX_KEY_LEN)
                                                : g_strdup (_(why));

      g_set_error (error, TANDEM_POSITION_ERROR, TANDEM_POSITION_ERROR_INVALID,
                   /* Translators: the first %s is a position key in quotation
                    * marks, the second says what is wrong with it, such as
                    * “it is empty” */
                   _("position %s is not valid: %s"), shown, reason);
      return NULL;
    }

  if (before != NULL && after != NULL && strcmp (before, after) >= 0)
    {
      g_autofree char *from = describe (before, NULL);
      g_autofree char *to = describe (after, NULL);

      g_set_error (error, TANDEM_POSITION_ERROR, TANDEM_POSITION_ERROR_ORDER,
                   /* Translators: both %s are position keys in quotation marks */
                   _("position %s is not before %s"), from, to);
      return NULL;
    }

  key = g_string_new (NULL);
  append_between ((const gint64 *) a->data, a->len, (const gint64 *) b->data, b->len, key);

  /* Only a long run of inserts alternating around one spot gets here; the
   * caller has to give that part of the list fresh positions. */
  if (key->len > MAX_KEY_LEN)
    {
      /* Translators: the start of a list, used for the first %s in “no
       * position of at most %d characters fits between %s and %s” */
      g_autofree char *from = describe (before, _("the start"));
      /* Translators: the end of a list, used for the second %s in “no
       * position of at most %d characters fits between %s and %s” */
      g_autofree char *to = describe (after, _("the end"));

      g_set_error (error, TANDEM_POSITION_ERROR, TANDEM_POSITION_ERROR_INVALID,
                   /* Translators: %d is a number of characters; each %s is a
                    * position key in quotation marks, or “the start” or “the
                    * end” of the list */
                   _("no position of at most %d characters fits between %s and %s"),
                   MAX_KEY_LEN, from, to);
      return NULL;
    }

  return g_string_free (g_steal_pointer (&key), FALSE);
}

gboolean
tandem_position_is_valid (const char *key)
{
  g_autoptr(GArray) numbers = NULL;
  const char *why;

  if (key == NULL)
    return FALSE;

  numbers = g_array_new (FALSE, FALSE, sizeof (gint64));
  return parse_key (key, numbers, &why);
}
