/*
 * http.c - the health and metrics endpoint on libmicrohttpd.
 *
 * We create, bind and listen on the socket ourselves and hand it to
 * libmicrohttpd (MHD_OPTION_LISTEN_SOCKET): that way a bind failure is
 * reported with the exact errno ("address in use") and an ephemeral port
 * is known from getsockname(). libmicrohttpd closes the socket in
 * MHD_stop_daemon(); when MHD_start_daemon() fails it leaves it open
 * (checked against 0.9.75), so we close it then.
 *
 * A request is answered on its second handler call: the first one (made
 * as soon as the headers are in, *con_cls still NULL) only marks the
 * request as seen. libmicrohttpd treats a response queued on the first
 * call as an "early response" and closes the connection after it, which
 * would defeat HTTP/1.1 keep-alive and drop pipelined requests. A request
 * that announces a body (POST and the like, answered 405 or 404) is still
 * answered on its first call, so the body is never read and the connection
 * is closed after the answer: libmicrohttpd 0.9.75 closes it without any
 * answer when one is queued while upload data is left unconsumed.
 */
#include "obs/http.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "obs/health.h"
#include "obs/log.h"
#include "obs/metrics.h"

#define CONNECTION_LIMIT 64u
#define PER_IP_LIMIT 16u
#define CONNECTION_TIMEOUT_S 10u
#define LISTEN_BACKLOG 64

#define CT_TEXT "text/plain; charset=utf-8"
#define CT_JSON "application/json"
#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"

/* Immutable after amaters_http_start() returns. */
struct amaters_http {
    struct MHD_Daemon *daemon;
    int port;
};

enum route_kind { ROUTE_HEALTH, ROUTE_READY, ROUTE_LIVE, ROUTE_METRICS };

static const struct route {
    const char *path;
    enum route_kind kind;
} routes[] = {
    {"/health", ROUTE_HEALTH}, {"/healthz", ROUTE_HEALTH},
    {"/readyz", ROUTE_READY},  {"/livez", ROUTE_LIVE},
    {"/metrics", ROUTE_METRICS},
};

/* A response under construction: a static or an owned body. */
struct reply {
    unsigned status;
    const char *content_type;
    const char *body; /* static text, or owned when owned != NULL */
    char *owned;      /* amaters_malloc'd body, freed by MHD */
    size_t len;
};

static struct amaters_metric_family *requests_family(void)
{
    static const char *const labels[] = {"path", "code"};

    return amaters_metrics_family(
        AMATERS_METRIC_COUNTER, "amaters_http_requests_total",
        "Requests to the health and metrics HTTP endpoint, by path and "
        "status code.",
        labels, 2, NULL, 0);
}

/* Looked up per request (scrapes are rare), so a metrics reset in tests
 * never leaves us with a stale pointer. */
static void count_request(const char *path, unsigned status)
{
    char code[16];
    const char *values[2] = {path, code};

    snprintf(code, sizeof code, "%u", status);
    amaters_counter_inc(amaters_metric_child(requests_family(), values));
}

static void text_reply(struct reply *r, unsigned status, const char *body)
{
    r->status = status;
    r->content_type = CT_TEXT;
    r->body = body;
    r->owned = NULL;
    r->len = strlen(body);
}

static void health_reply(struct reply *r)
{
    int status = 503;

    if (amaters_health_json(&r->owned, &r->len, &status) != 0) {
        text_reply(r, 500, "internal error\n");
        return;
    }
    r->status = (unsigned)status;
    r->content_type = CT_JSON;
    r->body = r->owned;
}

static void ready_reply(struct reply *r)
{
    char reason[300];
    char *body;

    if (amaters_health_ready_reason(reason, sizeof reason)) {
        text_reply(r, 200, "ready\n");
        return;
    }
    body = amaters_malloc(sizeof reason + 16);
    if (body == NULL) {
        text_reply(r, 503, "not ready\n");
        return;
    }
    snprintf(body, sizeof reason + 16, "not ready: %s\n", reason);
    text_reply(r, 503, body);
    r->owned = body;
}

static void metrics_reply(struct reply *r)
{
    if (amaters_metrics_render(&r->owned, &r->len) != 0) {
        text_reply(r, 500, "metrics rendering failed\n");
        return;
    }
    r->status = 200;
    r->content_type = CT_METRICS;
    r->body = r->owned;
}

static void route_reply(struct reply *r, enum route_kind kind)
{
    switch (kind) {
    case ROUTE_HEALTH:
        health_reply(r);
        break;
    case ROUTE_READY:
        ready_reply(r);
        break;
    case ROUTE_LIVE:
        if (amaters_health_live())
            text_reply(r, 200, "ok\n");
        else
            text_reply(r, 503, "not live: no heartbeat\n");
        break;
    case ROUTE_METRICS:
        metrics_reply(r);
        break;
    }
}

/* Queues r on c (taking ownership of r->owned). */
static enum MHD_Result send_reply(struct MHD_Connection *c, struct reply *r,
                                  const char *allow)
{
    struct MHD_Response *resp;
    enum MHD_Result rv;

    if (r->owned != NULL)
        resp = MHD_create_response_from_buffer_with_free_callback(
            r->len, r->owned, amaters_free);
    else
        resp = MHD_create_response_from_buffer(r->len, (void *)r->body,
                                               MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        amaters_free(r->owned);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    rv = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return rv;
}

/* Static marker stored in *con_cls after a request's first handler call;
 * nothing to free. */
static char request_seen;

/* True when the request announces a body (a non-zero Content-Length or
 * any Transfer-Encoding). */
static int has_body(struct MHD_Connection *c)
{
    const char *len = MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

    if (MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_TRANSFER_ENCODING)
        != NULL)
        return 1;
    return len != NULL && strspn(len, "0") != strlen(len);
}

static enum MHD_Result handle_cb(void *cls, struct MHD_Connection *c,
                                 const char *url, const char *method,
                                 const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    const struct route *route = NULL;
    const char *allow = NULL;
    struct reply r = {.status = 500, .content_type = CT_TEXT,
                      .body = "internal error\n", .len = 15};

    (void)cls;
    (void)version;
    (void)upload;
    (void)upload_size;
    if (*con_cls == NULL && !has_body(c)) {
        *con_cls = &request_seen; /* answer on the next call */
        return MHD_YES;
    }
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(url, routes[i].path) == 0)
            route = &routes[i];
    }
    if (route == NULL) {
        text_reply(&r, 404, "not found\n");
    } else if (strcmp(method, MHD_HTTP_METHOD_GET) != 0
               && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        text_reply(&r, 405, "method not allowed\n");
        allow = "GET, HEAD";
    } else {
        route_reply(&r, route->kind);
    }
    count_request(route != NULL ? route->path : "other", r.status);
    return send_reply(c, &r, allow);
}

__attribute__((format(printf, 2, 0))) static void
mhd_log_cb(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    amaters_logv(AMATERS_LOG_WARN, "http", NULL, 0, fmt, ap);
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int amaters_http_parse_address(const char *address, char *host,
                               size_t hostlen, int *port)
{
    const char *colon;
    const char *h = address;
    size_t hlen;
    char *end;
    long p;

    if (address == NULL)
        return AMATERS_EINVAL;
    if (address[0] == '[') {
        const char *close = strchr(address, ']');

        if (close == NULL || close[1] != ':')
            return AMATERS_EINVAL;
        h = address + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
        if (hlen == 0)
            return AMATERS_EINVAL;
    } else {
        colon = strrchr(address, ':');
        if (colon == NULL || memchr(address, ':', (size_t)(colon - address)))
            return AMATERS_EINVAL; /* no port, or an unbracketed IPv6 */
        hlen = (size_t)(colon - address);
    }
    if (colon[1] < '0' || colon[1] > '9')
        return AMATERS_EINVAL;
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || p < 0 || p > 65535)
        return AMATERS_EINVAL;
    if (hlen == 0) {
        h = "0.0.0.0";
        hlen = strlen(h);
    }
    if (hlen >= hostlen)
        return AMATERS_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

/* Creates a non-blocking listening socket on host:port. Returns the fd or
 * a negative AMATERS_E* code with a message in err. */
static int listen_on(const char *address, const char *host, int port,
                     char *err, size_t errlen)
{
    struct addrinfo hints = {0};
    struct addrinfo *ai = NULL;
    char portstr[8];
    const char *what;
    int one = 1;
    int fd = -1;
    int rv;
    int saved;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof portstr, "%d", port);
    rv = getaddrinfo(host, portstr, &hints, &ai);
    if (rv != 0) {
        set_err(err, errlen, "http: resolve %s: %s", address,
                gai_strerror(rv));
        return AMATERS_EINVAL;
    }
    what = "socket";
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                0);
    if (fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    what = "bind";
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        goto fail;
    what = "listen";
    if (listen(fd, LISTEN_BACKLOG) != 0)
        goto fail;
    freeaddrinfo(ai);
    return fd;
fail:
    saved = errno;
    set_err(err, errlen, "http: %s %s: %s", what, address, strerror(saved));
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return AMATERS_EIO;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int amaters_http_start(const char *bind_address, struct amaters_http **out,
                       char *err, size_t errlen)
{
    struct amaters_http *h = NULL;
    char host[256];
    int port;
    int fd = -1;
    int rv;

    *out = NULL;
    if (amaters_http_parse_address(bind_address, host, sizeof host, &port)
        != 0) {
        set_err(err, errlen, "http: invalid bind address \"%s\" (want "
                "host:port or [ipv6]:port)", bind_address ? bind_address : "");
        return AMATERS_EINVAL;
    }
    h = amaters_calloc(1, sizeof *h);
    if (h == NULL) {
        set_err(err, errlen, "http: out of memory");
        return AMATERS_ENOMEM;
    }
    fd = listen_on(bind_address, host, port, err, errlen);
    if (fd < 0) {
        rv = fd;
        goto fail_free;
    }
    h->port = bound_port(fd);
    requests_family(); /* so /metrics lists the family from the start */
    h->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG,
        0, NULL, NULL, handle_cb, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log_cb,
        NULL, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
        CONNECTION_LIMIT, MHD_OPTION_PER_IP_CONNECTION_LIMIT, PER_IP_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S, MHD_OPTION_END);
    if (h->daemon == NULL) {
        set_err(err, errlen, "http: cannot start server on %s", bind_address);
        rv = AMATERS_EINTERNAL;
        goto fail_close;
    }
    *out = h;
    return 0;
fail_close:
    close(fd);
fail_free:
    amaters_free(h);
    return rv;
}

int amaters_http_port(const struct amaters_http *h)
{
    return h->port;
}

void amaters_http_stop(struct amaters_http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->daemon);
    amaters_free(h);
}
