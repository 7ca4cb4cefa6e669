/*
 * http.h - the health and metrics HTTP endpoint (libmicrohttpd), bound to
 * [metrics] bind_address (default 127.0.0.1:9090).
 *
 * GET and HEAD only:
 *   /health, /healthz  amaters_health_json(), application/json, 200 / 503
 *   /readyz            200 "ready\n" when amaters_health_ready(), else 503
 *                      "not ready: <reason>\n" (text/plain)
 *   /livez             200 "ok\n" when amaters_health_live(), else 503
 *   /metrics           amaters_metrics_render(), text/plain; version=0.0.4
 * Known paths with another method get 405 and "Allow: GET, HEAD"; unknown
 * paths 404. Every response is counted in the counter family
 * amaters_http_requests_total{path,code} (path is "other" for unknown
 * paths, to bound cardinality).
 *
 * The server runs one internal polling thread of libmicrohttpd; metrics
 * collectors therefore run on that thread during a /metrics scrape. At
 * most 64 connections (16 per client address), idle ones closed after
 * 10 s.
 *
 * Threads: start and stop from one controlling thread; amaters_http_port
 * from any thread while the server runs.
 */
#ifndef AMATERS_OBS_HTTP_H
#define AMATERS_OBS_HTTP_H

#include <stddef.h>

struct amaters_http;

/* Parses "host:port", "[v6addr]:port" or ":port" (all addresses) into
 * host (hostlen bytes, brackets removed; "0.0.0.0" for an empty host) and
 * *port (0-65535). Returns 0 or AMATERS_EINVAL. */
int amaters_http_parse_address(const char *address, char *host,
                               size_t hostlen, int *port);

/* Binds bind_address (see amaters_http_parse_address; port 0 picks a free
 * port; host names are resolved, the first address wins) and starts
 * serving. On success *out is the server, owned by the caller and released
 * with amaters_http_stop(). Returns 0, AMATERS_EINVAL (bad address),
 * AMATERS_EIO (socket, bind or listen failed, e.g. port in use) or
 * AMATERS_ENOMEM / AMATERS_EINTERNAL (libmicrohttpd failed); err (errlen
 * bytes, may be NULL) gets a message naming the address and the errno
 * text. */
int amaters_http_start(const char *bind_address, struct amaters_http **out,
                       char *err, size_t errlen);

/* Returns the bound TCP port (the real one when 0 was requested). */
int amaters_http_port(const struct amaters_http *h);

/* Stops serving (waits for in-flight requests), closes the socket and
 * frees h. NULL is ignored. */
void amaters_http_stop(struct amaters_http *h);

#endif
