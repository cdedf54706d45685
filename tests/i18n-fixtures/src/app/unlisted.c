/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <glib/gi18n.h>

static const char *
greeting (void)
{
  return _("Welcome");
}
