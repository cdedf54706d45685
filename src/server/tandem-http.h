/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tandem-service.h"

G_BEGIN_DECLS

/* The HTTP face of TandemService (DESIGN §4): routing, bearer tokens, body
 * limits, rate limits, problem+json errors and one log line per request. */

#define TANDEM_HTTP_DEFAULT_MAX_BODY   (4 * 1024 * 1024)
#define TANDEM_HTTP_DEFAULT_RATE_LIMIT 600

#define TANDEM_TYPE_HTTP (tandem_http_get_type ())
G_DECLARE_FINAL_TYPE (TandemHttp, tandem_http, TANDEM, HTTP, GObject)

/* @max_body: the largest request body accepted, in bytes.
 * @rate_limit: requests per minute per token; 0 turns limiting off. */
TandemHttp *tandem_http_new         (TandemService    *service,
                                     guint64           max_body,
                                     guint             rate_limit);
TandemService *tandem_http_get_service (TandemHttp    *self);
guint64     tandem_http_get_max_body   (TandemHttp    *self);
guint       tandem_http_get_rate_limit (TandemHttp    *self);

/* Listens on @host (an IP address, or "localhost" for the loopback
 * addresses) and @port (0 picks a free one); over TLS when
 * @tls_certificate is given. */
gboolean    tandem_http_listen      (TandemHttp       *self,
                                     const char       *host,
                                     guint             port,
                                     GTlsCertificate  *tls_certificate,
                                     GError          **error);
/* The base URL clients use, e.g. "http://127.0.0.1:8080", with the port
 * actually bound; NULL before tandem_http_listen() succeeded. */
const char *tandem_http_get_url     (TandemHttp       *self);

G_END_DECLS
