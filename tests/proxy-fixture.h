/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "server-fixture.h"

G_BEGIN_DECLS

/* tandem-fault-proxy (from $TANDEM_FAULT_PROXY) in front of a test server. */
typedef struct
{
  GSubprocess *process;
  char        *url;
  SoupSession *session;
} TestProxy;

TestProxy *test_proxy_start  (const char *upstream_url);
/* A proxy in front of several servers (NULL-terminated), each request sent
 * to one picked at random from @seed: a load balancer that fails on
 * purpose. */
TestProxy *test_proxy_start_balanced (const char *const *upstream_urls,
                                      guint32            seed);
/* Stops the proxy (SIGTERM); fails the test unless it exits with status 0. */
void       test_proxy_free   (TestProxy  *proxy);
/* POST /__fault with @fault (JSON); {"reset":true} clears them. */
void       test_proxy_inject (TestProxy  *proxy,
                              const char *fault);
/* A counter of GET /__fault/stats: @key of the object @group
 * ("forwarded_by_route", "injected_by_status"), or of the top level
 * ("forwarded", "injected") when @group is NULL. */
gint64     test_proxy_count  (TestProxy  *proxy,
                              const char *group,
                              const char *key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestProxy, test_proxy_free)

G_END_DECLS
