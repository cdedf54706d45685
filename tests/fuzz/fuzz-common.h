/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib.h>

/* The entry point every fuzz target defines: libFuzzer calls it with each
 * generated input, tests/fuzz/replay-main.c with each corpus file. It
 * returns 0; a broken invariant aborts. */
int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

/* Aborts with a message when @cond does not hold: the fuzzer keeps the
 * input as a crash, the replay test fails. */
#define FUZZ_CHECK(cond, ...)                                                \
  G_STMT_START {                                                             \
    if (G_UNLIKELY (!(cond)))                                                \
      {                                                                      \
        fprintf (stderr, "%s:%d: invariant broken: %s\n  ",                  \
                 __FILE__, __LINE__, #cond);                                 \
        fprintf (stderr, __VA_ARGS__);                                       \
        fputc ('\n', stderr);                                                \
        abort ();                                                            \
      }                                                                      \
  } G_STMT_END

/* Criticals and warnings are bugs here (a g_return_if_fail() that fires
 * on input the code should have refused). */
static inline void
fuzz_init_glib (void)
{
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
}

/* Reads input bytes from the front, as a small generator's choices; past
 * the end every read is 0. */
typedef struct
{
  const uint8_t *data;
  size_t         size;
  size_t         pos;
} FuzzBytes;

static inline guint8
fuzz_byte (FuzzBytes *in)
{
  return in->pos < in->size ? in->data[in->pos++] : 0;
}

/* A number in [0, n). */
static inline guint
fuzz_pick (FuzzBytes *in,
           guint      n)
{
  return n == 0 ? 0 : fuzz_byte (in) % n;
}
