/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The server answers in English: not checked, and not to be listed. */
static void
refuse (GError **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "The request is not valid");
}
