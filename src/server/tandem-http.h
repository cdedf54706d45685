/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

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

/* For a graceful stop: refuses new connections from now on, and has every
 * answer from now on close its connection. The requests under way go on;
 * the "n-active" property counts them (from their headers to their answer;
 * an idle kept-alive connection is not counted). */
void        tandem_http_stop_listening (TandemHttp    *self);
guint       tandem_http_get_n_active   (TandemHttp    *self);

/* One request through the same steps as over HTTP (route, method, token,
 * rate limit, media type, size limit, JSON, then TandemService), without
 * a connection or a log line: for in-process simulations (tests/sim/).
 * @query is the parsed query string (may be NULL), @request_body may be
 * NULL. Sets the response headers (Content-Type, ETag, Retry-After, ...)
 * on @response_headers and the body (empty for none) in @response_body;
 * returns the HTTP status. */
guint       tandem_http_dispatch    (TandemHttp          *self,
                                     const char          *method,
                                     const char          *path,
                                     GHashTable          *query,
                                     SoupMessageHeaders  *request_headers,
                                     GBytes              *request_body,
                                     SoupMessageHeaders  *response_headers,
                                     GBytes             **response_body);

G_END_DECLS
