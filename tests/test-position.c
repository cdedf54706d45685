/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "tandem-position.h"

#define N_INSERTS   10000
#define RANDOM_SEED 20240517

/* A key strictly between @before and @after, checked to be valid. */
static char *
between_ok (const char *before,
            const char *after)
{
  g_autoptr(GError) error = NULL;
  char *key = tandem_position_between (before, after, &error);

  g_assert_no_error (error);
  g_assert_nonnull (key);
  g_assert_true (tandem_position_is_valid (key));
  if (before != NULL)
    g_assert_cmpstr (before, <, key);
  if (after != NULL)
    g_assert_cmpstr (key, <, after);
  return key;
}

/* Puts a new key at @index of @list, which holds keys in list order, the way
 * the app inserts a task between its neighbours, and keeps @longest up to date. */
static void
insert_at (GPtrArray *list,
           guint      index,
           guint     *longest)
{
  const char *before = index > 0 ? g_ptr_array_index (list, index - 1) : NULL;
  const char *after = index < list->len ? g_ptr_array_index (list, index) : NULL;
  char *key = between_ok (before, after);

  g_ptr_array_insert (list, index, key);
  *longest = MAX (*longest, strlen (key));
}

/* Sorting the keys must give back the list order, with no ties. */
static void
assert_sorts_as_listed (GPtrArray *list)
{
  for (guint i = 1; i < list->len; i++)
    g_assert_cmpstr (g_ptr_array_index (list, i - 1), <, g_ptr_array_index (list, i));
}

static int
compare_keys (gconstpointer a,
              gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
test_random_inserts (void)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) sorted = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (RANDOM_SEED);
  guint longest = 0;

  g_test_message ("random inserts, seed %u", RANDOM_SEED);

  for (guint i = 0; i < N_INSERTS; i++)
    {
      guint index = g_rand_int_range (rand, 0, list->len + 1);

      insert_at (list, index, &longest);
      assert_sorts_as_listed (list);
    }

  /* The same check the way the store does it: sort, compare with the list. */
  sorted = g_ptr_array_sized_new (list->len);
  for (guint i = 0; i < list->len; i++)
    g_ptr_array_add (sorted, g_ptr_array_index (list, i));
  g_ptr_array_sort (sorted, compare_keys);
  for (guint i = 0; i < list->len; i++)
    g_assert_true (g_ptr_array_index (sorted, i) == g_ptr_array_index (list, i));

  g_test_message ("%u random inserts: longest key %u characters", N_INSERTS, longest);
  /* Random inserts have no hard bound; over 1,300 other seeds the longest
   * key was 6 to 8 characters. 10 still catches a scheme that goes a level
   * deeper more often than it needs to. */
  g_assert_cmpuint (longest, <=, 10);
}

static void
test_appends (void)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func (g_free);
  guint longest = 0;

  for (guint i = 0; i < N_INSERTS; i++)
    insert_at (list, list->len, &longest);
  assert_sorts_as_listed (list);

  g_test_message ("%u appends: longest key %u characters, last \"%s\"", N_INSERTS, longest,
                  (const char *) g_ptr_array_index (list, list->len - 1));
  /* After the few one-character numbers, each append adds one to the number:
   * about 10,020 after 10,000 appends, which is a head and three digits. */
  g_assert_cmpuint (longest, <=, 4);
}

static void
test_prepends (void)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func (g_free);
  guint longest = 0;

  for (guint i = 0; i < N_INSERTS; i++)
    insert_at (list, 0, &longest);
  assert_sorts_as_listed (list);

  g_test_message ("%u prepends: longest key %u characters, first \"%s\"", N_INSERTS, longest,
                  (const char *) g_ptr_array_index (list, 0));
  /* the mirror image of appending */
  g_assert_cmpuint (longest, <=, 4);
}

/* Short lists to insert into, with the item that stays put; the second has
 * an anchor two numbers deep, at the edge of the one-character numbers. */
static const struct
{
  const char *keys[3];
  guint       anchor;
} same_spot_lists[] = {
  { { "V", "g", "l" }, 1 },
  { { "V", "VA", "W" }, 1 },
};

static void
insert_at_same_spot (gboolean after_anchor)
{
  for (guint l = 0; l < G_N_ELEMENTS (same_spot_lists); l++)
    {
      g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func (g_free);
      guint anchor = same_spot_lists[l].anchor;
      const char *anchor_key;
      guint longest = 0;
      guint bound;

      for (guint i = 0; i < G_N_ELEMENTS (same_spot_lists[l].keys); i++)
        g_ptr_array_add (list, g_strdup (same_spot_lists[l].keys[i]));
      assert_sorts_as_listed (list);
      anchor_key = g_ptr_array_index (list, anchor);

      for (guint i = 0; i < N_INSERTS; i++)
        {
          insert_at (list, after_anchor ? anchor + 1 : anchor, &longest);
          if (!after_anchor)
            anchor++; /* the new item went in above it */
          assert_sorts_as_listed (list);
          g_assert_true (g_ptr_array_index (list, anchor) == anchor_key);
        }

      /* Directly after A the keys settle into A followed by one number that
       * goes down by one per insert, so 10,000 inserts add at most a head and
       * three digits. Directly before B they settle into B with its last
       * number lowered (one character longer at worst) followed by a number
       * going up by one per insert. */
      bound = strlen (anchor_key) + (after_anchor ? 4 : 5);
      g_test_message ("%u inserts always %s \"%s\": longest key %u characters, bound %u",
                      N_INSERTS, after_anchor ? "after" : "before", anchor_key, longest, bound);
      g_assert_cmpuint (longest, <=, bound);
    }
}

static void
test_same_spot_after (void)
{
  insert_at_same_spot (TRUE);
}

static void
test_same_spot_before (void)
{
  insert_at_same_spot (FALSE);
}

/* The worst pattern for any scheme: each insert goes between the two keys
 * made last, so the gap closes in from both sides. Whatever the keys, 2^k
 * such runs end in 2^k different keys, so some need k / log2(62) ≈ k / 6
 * characters; halving the one-character numbers gets close to that. */
static void
test_alternating (void)
{
  g_autofree char *lo = g_strdup ("V");
  g_autofree char *hi = g_strdup ("W");
  guint longest = 0;
  const guint n = 1000;

  for (guint i = 0; i < n; i++)
    {
      char *key = between_ok (lo, hi);

      longest = MAX (longest, strlen (key));
      if (i % 2 == 0)
        {
          g_free (lo);
          lo = key;
        }
      else
        {
          g_free (hi);
          hi = key;
        }
    }

  g_test_message ("%u alternating inserts: longest key %u characters", n, longest);
  /* Each character holds one of 42 small numbers, halved at least five times
   * before the gap closes and the next character starts. */
  g_assert_cmpuint (longest, <=, 2 + n / 5);
}

/* Neighbours with as little room between them as keys can have. */
static void
test_adjacent (void)
{
  static const char *const pairs[][2] = {
    { NULL, NULL },
    { "V", "W" },                       /* consecutive small numbers */
    { "V", "VV" },                      /* a key and its first extension */
    { "VV", "W" },
    { "p", "q0" },                      /* last small, first one-digit number */
    { "A", "B" },
    { "9zV", "A" },
    { "9z", "A" },                      /* last one-digit negative, first small */
    { "V", "V00000000000V" },           /* extension by the lowest number */
    { "V00000000000V", "V00000000001" },
    { NULL, "00000000001" },            /* the second-lowest number */
    { NULL, "00000000000V" },
    { "zzzzzzzzzzz", NULL },            /* the highest number */
    { "zzzzzzzzzzy", "zzzzzzzzzzz" },
    { "zzzzzzzzzzzV", "zzzzzzzzzzzW" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (pairs); i++)
    {
      const char *before = pairs[i][0];
      const char *after = pairs[i][1];
      g_autofree char *middle = between_ok (before, after);
      g_autofree char *low = between_ok (before, middle);
      g_autofree char *high = between_ok (middle, after);

      g_test_message ("between %s and %s: %s, then %s and %s either side",
                      before ? before : "(start)", after ? after : "(end)", middle, low, high);
    }
}

static void
test_invalid (void)
{
  static const char *const invalid[] = {
    "",
    "V W",           /* not base 62 */
    "V-",
    "caf\xc3\xa9",
    "q",             /* the head promises a digit */
    "Vz123",         /* the head promises ten digits */
    "00000000000",   /* the lowest number: no room before it */
    "V00000000000",
  };
  g_autofree char *too_long = g_strnfill (1025, 'V');
  g_autofree char *longest = g_strnfill (1024, 'V');

  g_assert_false (tandem_position_is_valid (NULL));
  g_assert_false (tandem_position_is_valid (too_long));
  g_assert_true (tandem_position_is_valid (longest));
  g_assert_true (tandem_position_is_valid ("zzzzzzzzzzz"));
  g_assert_true (tandem_position_is_valid ("00000000000V"));

  for (guint i = 0; i < G_N_ELEMENTS (invalid) + 1; i++)
    {
      const char *key = i < G_N_ELEMENTS (invalid) ? invalid[i] : too_long;
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) error2 = NULL;
      g_autofree char *result = NULL;
      g_autofree char *result2 = NULL;

      g_assert_false (tandem_position_is_valid (key));

      result = tandem_position_between (key, NULL, &error);
      g_assert_null (result);
      g_assert_error (error, TANDEM_POSITION_ERROR, TANDEM_POSITION_ERROR_INVALID);
      g_assert_true (g_str_has_prefix (error->message, "position “"));

      result2 = tandem_position_between ("V", key, &error2);
      g_assert_null (result2);
      g_assert_error (error2, TANDEM_POSITION_ERROR, TANDEM_POSITION_ERROR_INVALID);
      g_test_message ("%s", error2->message);
    }
}

static void
test_wrong_order (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error2 = NULL;
  g_autofree char *same = tandem_position_between ("V", "V", &error);
  g_autofree char *reversed = tandem_position_between ("VV", "V", &error2);

  g_assert_null (same);
  g_assert_error (error, TANDEM_POSITION_ERROR, TANDEM_POSITION_ERROR_ORDER);
  g_assert_cmpstr (error->message, ==, "position “V” is not before “V”");

  g_assert_null (reversed);
  g_assert_error (error2, TANDEM_POSITION_ERROR, TANDEM_POSITION_ERROR_ORDER);
}

/* When the room between two keys would need a key over the length limit the
 * caller gets an error, not an invalid key. */
static void
test_too_long (void)
{
  g_autofree char *before = g_strnfill (1024, 'V');
  g_autofree char *after = g_strnfill (1024, 'V');
  g_autoptr(GError) error = NULL;
  g_autofree char *key = NULL;

  /* (0, …, 0) and (0, …, 0, 1): only extending the first fits between */
  after[1023] = 'W';
  key = tandem_position_between (before, after, &error);

  g_assert_null (key);
  g_assert_error (error, TANDEM_POSITION_ERROR, TANDEM_POSITION_ERROR_INVALID);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/position/random", test_random_inserts);
  g_test_add_func ("/position/append", test_appends);
  g_test_add_func ("/position/prepend", test_prepends);
  g_test_add_func ("/position/same-spot/after", test_same_spot_after);
  g_test_add_func ("/position/same-spot/before", test_same_spot_before);
  g_test_add_func ("/position/alternating", test_alternating);
  g_test_add_func ("/position/adjacent", test_adjacent);
  g_test_add_func ("/position/invalid", test_invalid);
  g_test_add_func ("/position/wrong-order", test_wrong_order);
  g_test_add_func ("/position/too-long", test_too_long);

  return g_test_run ();
}
