/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-app"

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "tandem-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(TandemApplication) app = NULL;

  setlocale (LC_ALL, "");
  /* meson devenv points this at the translations in the build tree. */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("TANDEM_LOCALEDIR") ? g_getenv ("TANDEM_LOCALEDIR")
                                                                 : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  app = tandem_application_new (APPLICATION_ID, G_APPLICATION_HANDLES_COMMAND_LINE);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
