/* SPDX-License-Identifier: GPL-3.0-or-later */
static const char *
greeting (void)
{
  return _("Welcome");
}
