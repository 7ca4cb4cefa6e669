/*
 * test_http.c - unit tests for src/obs/http and src/obs/health: the
 * endpoint server on 127.0.0.1 with an ephemeral port, spoken to by a
 * plain-socket HTTP/1.1 client written here. Covers every endpoint's
 * status, content type and body in every lifecycle phase and component
 * state, HEAD, 404, 405 with Allow, the request counter, liveness, address
 * parsing, bind failures and concurrent scrapes.
 *
 * Each test starts its own server; the fixture stops it, resets the
 * registry and health state and checks that nothing leaked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "leakcheck.h"
#include "obs/health.h"
#include "obs/http.h"
#include "obs/log.h"
#include "obs/metrics.h"

struct fixture {
    struct amaters_http *http;
    int port;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    char err[256];

    if (fx == NULL)
        return -1;
    amaters_metrics_reset();
    amaters_health_reset();
    leak_mark();
    if (amaters_http_start("127.0.0.1:0", &fx->http, err, sizeof err) != 0) {
        fprintf(stderr, "start: %s\n", err);
        return -1;
    }
    fx->port = amaters_http_port(fx->http);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    amaters_http_stop(fx->http);
    amaters_metrics_reset();
    amaters_health_reset();
    free(fx);
    leak_check();
    return 0;
}

/* ---- a minimal HTTP/1.1 client ---- */

struct response {
    int status;
    char headers[4096]; /* raw header block, "\r\n" separated */
    char *body;         /* malloc'd, NUL-terminated */
    size_t body_len;
};

static void response_free(struct response *r)
{
    free(r->body);
    r->body = NULL;
}

/* Returns the value of header name (case-insensitive) in buf, or NULL. */
static const char *header(const struct response *r, const char *name,
                          char *buf, size_t len)
{
    const char *p = r->headers;
    size_t n = strlen(name);

    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            const char *end = strstr(v, "\r\n");
            size_t vl;

            while (*v == ' ')
                v++;
            vl = end ? (size_t)(end - v) : strlen(v);
            if (vl >= len)
                vl = len - 1;
            memcpy(buf, v, vl);
            buf[vl] = '\0';
            return buf;
        }
    }
    return NULL;
}

static int connect_to(int family, int port)
{
    struct timeval tv = {.tv_sec = 5};
    int fd = socket(family, SOCK_STREAM, 0);
    int rv;

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (family == AF_INET6) {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6,
                                 .sin6_port = htons((uint16_t)port),
                                 .sin6_addr = IN6ADDR_LOOPBACK_INIT};

        rv = connect(fd, (struct sockaddr *)&a, sizeof a);
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port)};

        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rv = connect(fd, (struct sockaddr *)&a, sizeof a);
    }
    if (rv != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends "METHOD path HTTP/1.1" with Connection: close (plus extra header
 * lines and a body, if given) and reads the whole response. */
static int http_request(int family, int port, const char *method,
                        const char *path, const char *extra,
                        struct response *r)
{
    char req[1024];
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    char *split;
    int fd = connect_to(family, port);
    int n;

    memset(r, 0, sizeof *r);
    if (fd < 0)
        return -1;
    n = snprintf(req, sizeof req,
                 "%s %s HTTP/1.1\r\nHost: localhost\r\n"
                 "Connection: close\r\n%s\r\n",
                 method, path, extra ? extra : "");
    if (write(fd, req, (size_t)n) != n)
        goto fail;
    for (;;) {
        ssize_t got;

        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap);
            if (buf == NULL)
                goto fail;
        }
        got = read(fd, buf + len, cap - len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            goto fail;
        if (got == 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    buf[len] = '\0';
    split = strstr(buf, "\r\n\r\n");
    if (split == NULL || sscanf(buf, "HTTP/1.1 %d", &r->status) != 1) {
        free(buf);
        return -1;
    }
    snprintf(r->headers, sizeof r->headers, "%.*s\r\n", (int)(split - buf),
             buf);
    r->body_len = len - (size_t)(split + 4 - buf);
    r->body = malloc(r->body_len + 1);
    memcpy(r->body, split + 4, r->body_len);
    r->body[r->body_len] = '\0';
    free(buf);
    return 0;
fail:
    close(fd);
    free(buf);
    return -1;
}

static void get(const struct fixture *fx, const char *method,
                const char *path, struct response *r)
{
    assert_int_equal(http_request(AF_INET, fx->port, method, path, NULL, r),
                     0);
}

/* ---- tests ---- */

enum scenario {
    STARTING,
    SERVING_ALL_UP,
    SERVING_DEGRADED,
    SERVING_STORAGE_DOWN,
    SERVING_NO_COMPONENTS,
    SHUTTING_DOWN,
    STOPPED,
};

static void apply(enum scenario s)
{
    amaters_health_reset();
    amaters_health_set_version("9.8.7");
    amaters_health_set_component("storage", AMATERS_COMPONENT_UP, NULL);
    amaters_health_set_component("grpc", AMATERS_COMPONENT_UP, "listening");
    switch (s) {
    case STARTING:
        amaters_health_set_component("storage", AMATERS_COMPONENT_DOWN,
                                     "opening");
        break;
    case SERVING_ALL_UP:
        amaters_health_set_phase(AMATERS_PHASE_SERVING);
        break;
    case SERVING_DEGRADED:
        amaters_health_set_phase(AMATERS_PHASE_SERVING);
        amaters_health_set_component("storage", AMATERS_COMPONENT_DEGRADED,
                                     "compaction behind");
        break;
    case SERVING_STORAGE_DOWN:
        amaters_health_set_phase(AMATERS_PHASE_SERVING);
        amaters_health_set_component("storage", AMATERS_COMPONENT_DOWN,
                                     "disk full");
        break;
    case SERVING_NO_COMPONENTS:
        amaters_health_reset();
        amaters_health_set_phase(AMATERS_PHASE_SERVING);
        break;
    case SHUTTING_DOWN:
        amaters_health_set_phase(AMATERS_PHASE_SHUTTING_DOWN);
        break;
    case STOPPED:
        amaters_health_set_phase(AMATERS_PHASE_STOPPED);
        break;
    }
}

static void test_endpoints_by_phase(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        enum scenario s;
        const char *status; /* expected summary status */
        const char *phase;
        int health;
        int ready;
        const char *ready_body;
        const char *storage; /* expected components.storage.status */
    } cases[] = {
        {STARTING, "unhealthy", "starting", 503, 503,
         "not ready: phase is starting\n", "down"},
        {SERVING_ALL_UP, "healthy", "serving", 200, 200, "ready\n", "up"},
        {SERVING_DEGRADED, "degraded", "serving", 200, 200, "ready\n",
         "degraded"},
        {SERVING_STORAGE_DOWN, "unhealthy", "serving", 503, 503,
         "not ready: component storage is down: disk full\n", "down"},
        {SERVING_NO_COMPONENTS, "healthy", "serving", 200, 200, "ready\n",
         NULL},
        {SHUTTING_DOWN, "unhealthy", "shutting_down", 503, 503,
         "not ready: phase is shutting_down\n", "up"},
        {STOPPED, "unhealthy", "stopped", 503, 503,
         "not ready: phase is stopped\n", "up"},
    };
    static const char *const health_paths[] = {"/health", "/healthz"};
    struct response r;
    char v[256];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("scenario %zu\n", i);
        apply(cases[i].s);
        for (size_t p = 0; p < 2; p++) {
            cJSON *o;
            const cJSON *comps;

            get(fx, "GET", health_paths[p], &r);
            assert_int_equal(r.status, cases[i].health);
            assert_string_equal(header(&r, "Content-Type", v, sizeof v),
                                "application/json");
            o = cJSON_Parse(r.body);
            assert_non_null(o);
            assert_string_equal(
                cJSON_GetObjectItemCaseSensitive(o, "status")->valuestring,
                cases[i].status);
            assert_string_equal(
                cJSON_GetObjectItemCaseSensitive(o, "phase")->valuestring,
                cases[i].phase);
            assert_string_equal(
                cJSON_GetObjectItemCaseSensitive(o, "version")->valuestring,
                cases[i].s == SERVING_NO_COMPONENTS ? "" : "9.8.7");
            assert_true(cJSON_IsNumber(
                cJSON_GetObjectItemCaseSensitive(o, "uptime_seconds")));
            assert_true(cJSON_IsBool(
                cJSON_GetObjectItemCaseSensitive(o, "ready")));
            comps = cJSON_GetObjectItemCaseSensitive(o, "components");
            assert_true(cJSON_IsObject(comps));
            if (cases[i].storage != NULL) {
                const cJSON *st =
                    cJSON_GetObjectItemCaseSensitive(comps, "storage");
                const cJSON *grpc =
                    cJSON_GetObjectItemCaseSensitive(comps, "grpc");

                assert_string_equal(
                    cJSON_GetObjectItemCaseSensitive(st, "status")
                        ->valuestring,
                    cases[i].storage);
                assert_string_equal(
                    cJSON_GetObjectItemCaseSensitive(grpc, "message")
                        ->valuestring,
                    "listening");
            } else {
                assert_null(comps->child);
            }
            cJSON_Delete(o);
            response_free(&r);
        }

        get(fx, "GET", "/readyz", &r);
        assert_int_equal(r.status, cases[i].ready);
        assert_string_equal(r.body, cases[i].ready_body);
        assert_string_equal(header(&r, "Content-Type", v, sizeof v),
                            "text/plain; charset=utf-8");
        response_free(&r);

        get(fx, "GET", "/livez", &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "ok\n");
        response_free(&r);

        get(fx, "GET", "/metrics", &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(header(&r, "Content-Type", v, sizeof v),
                            "text/plain; version=0.0.4; charset=utf-8");
        response_free(&r);
    }
}

static void test_metrics_endpoint_counts_requests(void **state)
{
    struct fixture *fx = *state;
    struct response r;

    amaters_gauge_set(
        amaters_metrics_simple(AMATERS_METRIC_GAUGE, "amaters_test_gauge",
                               "A gauge set by the test."),
        12.5);
    get(fx, "GET", "/readyz", &r); /* 503: still starting */
    response_free(&r);
    get(fx, "GET", "/readyz", &r);
    response_free(&r);
    get(fx, "GET", "/nowhere", &r);
    response_free(&r);
    get(fx, "GET", "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "# TYPE amaters_http_requests_total "
                                   "counter\n"));
    assert_non_null(strstr(r.body, "amaters_http_requests_total{path=\""
                                   "/readyz\",code=\"503\"} 2\n"));
    assert_non_null(strstr(r.body, "amaters_http_requests_total{path=\""
                                   "other\",code=\"404\"} 1\n"));
    assert_non_null(strstr(r.body, "# HELP amaters_test_gauge A gauge set "
                                   "by the test.\n"
                                   "# TYPE amaters_test_gauge gauge\n"
                                   "amaters_test_gauge 12.5\n"));
    response_free(&r);
}

static void test_unknown_paths_and_methods(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        const char *method;
        const char *path;
        int status;
    } cases[] = {
        {"GET", "/", 404},
        {"GET", "/nope", 404},
        {"GET", "/metrics/", 404},
        {"GET", "/HEALTH", 404},
        {"POST", "/nope", 404},
        {"POST", "/metrics", 405},
        {"PUT", "/health", 405},
        {"DELETE", "/readyz", 405},
        {"OPTIONS", "/livez", 405},
        {"PATCH", "/healthz", 405},
        {"GET", "/readyz?verbose=1", 503},
    };
    struct response r;
    char v[256];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        get(fx, cases[i].method, cases[i].path, &r);
        assert_int_equal(r.status, cases[i].status);
        if (cases[i].status == 405)
            assert_string_equal(header(&r, "Allow", v, sizeof v),
                                "GET, HEAD");
        else
            assert_null(header(&r, "Allow", v, sizeof v));
        response_free(&r);
    }

    /* A POST with a body is refused without reading it. */
    assert_int_equal(http_request(AF_INET, fx->port, "POST", "/metrics",
                                  "Content-Length: 5\r\n\r\nhello", &r),
                     0);
    assert_int_equal(r.status, 405);
    response_free(&r);
}

static void test_head_has_headers_but_no_body(void **state)
{
    struct fixture *fx = *state;
    static const char *const paths[] = {"/healthz", "/readyz", "/livez",
                                        "/metrics"};
    struct response g;
    struct response h;
    char v1[256];
    char v2[256];

    apply(SERVING_ALL_UP);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        get(fx, "HEAD", paths[i], &h);
        get(fx, "GET", paths[i], &g);
        assert_int_equal(h.status, g.status);
        assert_int_equal(h.body_len, 0);
        assert_true(g.body_len > 0);
        assert_string_equal(header(&h, "Content-Type", v1, sizeof v1),
                            header(&g, "Content-Type", v2, sizeof v2));
        assert_non_null(header(&h, "Content-Length", v1, sizeof v1));
        response_free(&h);
        response_free(&g);
    }
}

static void test_livez_follows_heartbeat(void **state)
{
    struct fixture *fx = *state;
    struct timespec ts = {.tv_nsec = 30 * 1000000};
    struct response r;
    cJSON *o;

    apply(SERVING_ALL_UP);
    amaters_health_set_live_timeout_ms(5);
    amaters_health_heartbeat();
    nanosleep(&ts, NULL); /* the behaviour under test is the timeout */
    assert_false(amaters_health_live());
    get(fx, "GET", "/livez", &r);
    assert_int_equal(r.status, 503);
    response_free(&r);
    get(fx, "GET", "/health", &r);
    assert_int_equal(r.status, 503);
    o = cJSON_Parse(r.body);
    assert_non_null(o);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(o, "status")->valuestring,
        "unhealthy");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "live")));
    cJSON_Delete(o);
    response_free(&r);

    amaters_health_set_live_timeout_ms(60000);
    amaters_health_heartbeat();
    get(fx, "GET", "/livez", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");
    response_free(&r);
}

static void test_health_state_api(void **state)
{
    char reason[128];

    (void)state;
    assert_int_equal(amaters_health_phase(), AMATERS_PHASE_STARTING);
    assert_true(amaters_health_live()); /* no heartbeat yet */
    amaters_health_set_phase(AMATERS_PHASE_SERVING);
    assert_true(amaters_health_ready());
    amaters_health_set_component("storage", AMATERS_COMPONENT_DOWN, NULL);
    assert_false(amaters_health_ready_reason(reason, sizeof reason));
    assert_string_equal(reason, "component storage is down");
    assert_int_equal(amaters_health_remove_component("storage"), 0);
    assert_int_equal(amaters_health_remove_component("storage"),
                     AMATERS_ENOTFOUND);
    assert_true(amaters_health_ready());
    /* The table is bounded; extra components are ignored. */
    for (int i = 0; i < AMATERS_HEALTH_MAX_COMPONENTS + 4; i++) {
        char name[16];

        snprintf(name, sizeof name, "c%d", i);
        amaters_health_set_component(name, AMATERS_COMPONENT_UP, "x");
    }
    amaters_health_set_component("overflow", AMATERS_COMPONENT_DOWN, "x");
    assert_true(amaters_health_ready());
    assert_string_equal(amaters_health_phase_name(AMATERS_PHASE_STOPPED),
                        "stopped");
}

static void test_parse_address(void **state)
{
    static const struct {
        const char *in;
        int rv;
        const char *host;
        int port;
    } cases[] = {
        {"127.0.0.1:9090", 0, "127.0.0.1", 9090},
        {"0.0.0.0:0", 0, "0.0.0.0", 0},
        {"[::1]:9090", 0, "::1", 9090},
        {"[::]:80", 0, "::", 80},
        {":8080", 0, "0.0.0.0", 8080},
        {"localhost:65535", 0, "localhost", 65535},
        {"", AMATERS_EINVAL, NULL, 0},
        {"localhost", AMATERS_EINVAL, NULL, 0},
        {"1.2.3.4:", AMATERS_EINVAL, NULL, 0},
        {"1.2.3.4:65536", AMATERS_EINVAL, NULL, 0},
        {"1.2.3.4:-1", AMATERS_EINVAL, NULL, 0},
        {"1.2.3.4:+1", AMATERS_EINVAL, NULL, 0},
        {"1.2.3.4:12ab", AMATERS_EINVAL, NULL, 0},
        {"[::1", AMATERS_EINVAL, NULL, 0},
        {"[::1]9090", AMATERS_EINVAL, NULL, 0},
        {"[]:9090", AMATERS_EINVAL, NULL, 0},
        {"::1:9090", AMATERS_EINVAL, NULL, 0},
        {NULL, AMATERS_EINVAL, NULL, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char host[64] = "";
        int port = -1;

        assert_int_equal(
            amaters_http_parse_address(cases[i].in, host, sizeof host, &port),
            cases[i].rv);
        if (cases[i].rv == 0) {
            assert_string_equal(host, cases[i].host);
            assert_int_equal(port, cases[i].port);
        }
    }
}

static void test_start_failures(void **state)
{
    struct fixture *fx = *state;
    struct amaters_http *h = (struct amaters_http *)1;
    char addr[64];
    char err[256] = "";

    snprintf(addr, sizeof addr, "127.0.0.1:%d", fx->port);
    assert_int_equal(amaters_http_start(addr, &h, err, sizeof err),
                     AMATERS_EIO);
    assert_null(h);
    assert_non_null(strstr(err, addr));
    assert_non_null(strstr(err, strerror(EADDRINUSE)));

    assert_int_equal(amaters_http_start("nonsense", &h, err, sizeof err),
                     AMATERS_EINVAL);
    assert_non_null(strstr(err, "nonsense"));
    /* An address this host does not have. */
    assert_int_equal(
        amaters_http_start("192.0.2.1:0", &h, err, sizeof err), AMATERS_EIO);
    assert_non_null(strstr(err, "192.0.2.1:0"));
    assert_non_null(strstr(err, strerror(EADDRNOTAVAIL)));
    amaters_http_stop(NULL);
}

static void test_ipv6_loopback(void **state)
{
    struct amaters_http *h = NULL;
    char err[256];
    struct response r;
    int rv;

    (void)state;
    rv = amaters_http_start("[::1]:0", &h, err, sizeof err);
    if (rv == AMATERS_EIO) {
        print_message("no IPv6 loopback: %s\n", err);
        skip();
    }
    assert_int_equal(rv, 0);
    assert_true(amaters_http_port(h) > 0);
    assert_int_equal(
        http_request(AF_INET6, amaters_http_port(h), "GET", "/livez", NULL,
                     &r),
        0);
    assert_int_equal(r.status, 200);
    response_free(&r);
    amaters_http_stop(h);
}

#define CLIENTS 4
#define SCRAPES 25

struct scrape_arg {
    int port;
    int failures;
};

static void *scraper(void *arg)
{
    struct scrape_arg *a = arg;
    struct amaters_metric *m = amaters_metrics_simple(
        AMATERS_METRIC_COUNTER, "scrapes", "Scrapes done by the test.");

    for (int i = 0; i < SCRAPES; i++) {
        struct response r;

        amaters_counter_inc(m);
        if (http_request(AF_INET, a->port, "GET", "/metrics", NULL, &r) != 0
            || r.status != 200
            || strstr(r.body, "# TYPE scrapes_total counter\n") == NULL)
            a->failures++;
        response_free(&r);
    }
    return NULL;
}

static void test_concurrent_scrapes(void **state)
{
    struct fixture *fx = *state;
    pthread_t t[CLIENTS];
    struct scrape_arg args[CLIENTS];
    struct response r;

    amaters_metrics_simple(AMATERS_METRIC_COUNTER, "scrapes", "Scrapes.");
    for (int i = 0; i < CLIENTS; i++) {
        args[i].port = fx->port;
        args[i].failures = 0;
        assert_int_equal(pthread_create(&t[i], NULL, scraper, &args[i]), 0);
    }
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    get(fx, "GET", "/metrics", &r);
    assert_non_null(strstr(r.body, "scrapes_total 100\n"));
    assert_non_null(strstr(r.body, "amaters_http_requests_total{path=\""
                                   "/metrics\",code=\"200\"} 100\n"));
    response_free(&r);
}

/* Keep-alive: two pipelined HTTP/1.1 requests on one connection, the
 * first without Connection: close, are both answered, and the first
 * answer does not announce a close. */
static void test_keep_alive_pipelined(void **state)
{
    static const char req[] =
        "GET /livez HTTP/1.1\r\nHost: localhost\r\n\r\n"
        "GET /nope HTTP/1.1\r\nHost: localhost\r\n"
        "Connection: close\r\n\r\n";
    struct fixture *fx = *state;
    char buf[4096];
    size_t len = 0;
    const char *second;
    int fd;

    amaters_health_heartbeat();
    fd = connect_to(AF_INET, fx->port);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, req, sizeof req - 1),
                     (ssize_t)(sizeof req - 1));
    for (;;) {
        ssize_t got = read(fd, buf + len, sizeof buf - 1 - len);

        if (got < 0 && errno == EINTR)
            continue;
        assert_true(got >= 0);
        if (got == 0 || len + (size_t)got == sizeof buf - 1) {
            len += (size_t)got;
            break;
        }
        len += (size_t)got;
    }
    close(fd);
    buf[len] = '\0';
    assert_int_equal(strncmp(buf, "HTTP/1.1 200 ", 13), 0);
    second = strstr(buf + 1, "HTTP/1.1 404 ");
    assert_non_null(second);
    /* No Connection: close in the first answer's headers. */
    assert_null(memmem(buf, (size_t)(second - buf), "Connection: close",
                       17));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_endpoints_by_phase, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_endpoint_counts_requests,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_paths_and_methods, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_head_has_headers_but_no_body,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_livez_follows_heartbeat, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_health_state_api, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_parse_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_loopback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive_pipelined, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_scrapes, setup,
                                        teardown),
    };
    struct amaters_log_options quiet = {.level = AMATERS_LOG_ERROR};
    int rv;

    /* Keep libmicrohttpd's warnings (e.g. about the refused POST body)
     * out of the test output. */
    amaters_log_init(&quiet, NULL, 0);
    rv = cmocka_run_group_tests(tests, NULL, NULL);
    amaters_log_shutdown();
    return rv;
}
