/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "proxy-fixture.h"

static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

TestProxy *
test_proxy_start (const char *upstream_url)
{
  const char *upstreams[] = { upstream_url, NULL };

  return test_proxy_start_balanced (upstreams, 0);
}

TestProxy *
test_proxy_start_balanced (const char *const *upstream_urls,
                           guint32            seed)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *seed_text = g_strdup_printf ("%u", seed);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *path = g_getenv ("TANDEM_FAULT_PROXY");
  TestProxy *proxy = g_new0 (TestProxy, 1);

  g_assert_nonnull (path);
  g_assert_nonnull (upstream_urls[0]);
  g_ptr_array_add (argv, (char *) path);
  for (guint i = 0; upstream_urls[i] != NULL; i++)
    {
      g_ptr_array_add (argv, "--upstream");
      g_ptr_array_add (argv, (char *) upstream_urls[i]);
    }
  g_ptr_array_add (argv, "--seed");
  g_ptr_array_add (argv, seed_text);
  g_ptr_array_add (argv, "--listen");
  g_ptr_array_add (argv, "127.0.0.1:0");
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  proxy->process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata,
                                                 &error);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proxy->process));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (out), FALSE);
  line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "listening on "));
  proxy->url = g_strdup (line + strlen ("listening on "));
  if (g_str_has_suffix (proxy->url, "/"))
    proxy->url[strlen (proxy->url) - 1] = '\0';
  proxy->session = soup_session_new ();
  return proxy;
}

void
test_proxy_free (TestProxy *proxy)
{
  if (proxy == NULL)
    return;
  g_subprocess_send_signal (proxy->process, SIGTERM);
  g_subprocess_wait (proxy->process, NULL, NULL);
  /* It stops cleanly: anything else is a crash or a sanitizer's report,
   * on the stderr it shares with the test. */
  if (!g_subprocess_get_if_exited (proxy->process) ||
      g_subprocess_get_exit_status (proxy->process) != 0)
    g_error ("tandem-fault-proxy did not stop cleanly on SIGTERM (wait status 0x%x)",
             g_subprocess_get_status (proxy->process));
  g_clear_object (&proxy->process);
  g_clear_object (&proxy->session);
  g_free (proxy->url);
  g_free (proxy);
}

static TestResponse *
control (TestProxy  *proxy,
         const char *method,
         const char *path,
         const char *body)
{
  TestServer target = { .url = proxy->url };

  return test_request (proxy->session, &target, method, path, NULL, body, NULL);
}

void
test_proxy_inject (TestProxy  *proxy,
                   const char *fault)
{
  g_autoptr(TestResponse) response = control (proxy, "POST", "/__fault", fault);

  if (response->status != 201 && response->status != 204)
    g_error ("the proxy refused %s: %u %s", fault, response->status, response->body);
}

gint64
test_proxy_count (TestProxy  *proxy,
                  const char *group,
                  const char *key)
{
  g_autoptr(TestResponse) response = control (proxy, "GET", "/__fault/stats", NULL);
  JsonObject *object;

  g_assert_cmpuint (response->status, ==, 200);
  object = json_node_get_object (response->json);
  if (group == NULL)
    return json_object_get_int_member_with_default (object, key, 0);
  if (!json_object_has_member (object, group))
    return 0;
  return json_object_get_int_member_with_default (json_object_get_object_member (object, group),
                                                  key, 0);
}
