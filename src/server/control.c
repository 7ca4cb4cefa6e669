/*
 * control.c - the stop and status commands: they find the running server
 * through its PID file, and know it runs because it holds the file's lock
 * (server/locks.c): a stale file (its PID reused after a crash or a
 * reboot), a corrupt one, or a server that exited but is not yet reaped
 * is never signalled nor reported as running. stop signals the lock
 * holder and waits for the lock to go (the process has ended). status
 * asks the server over plain gRPC (HealthCheck + GetServerInfo); when it
 * cannot (TLS on, credentials needed, no answer) it asks the plain-HTTP
 * /health endpoint recorded in the PID file, and only then falls back to
 * the PID file alone; a server still starting is reported as STARTING.
 */
#include "server/server.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aql.pb-c.h"
#include "core/alloc.h"
#include "core/errors.h"
#include "core/timeutil.h"
#include "obs/http.h"

/* Each network probe of status (the gRPC calls, the HTTP request) gives
 * up after this long. */
#define PROBE_TIMEOUT_MS 2000
/* Cap on the /health reply status reads (it is well under 1 KiB). */
#define HTTP_REPLY_MAX (64 * 1024)

/* How often stop looks at the lock while it waits. */
#define STOP_POLL_MS 50

/* What stop and status make of the PID file. */
enum pid_state {
    PID_NONE,    /* no file (or no readable one) */
    PID_STALE,   /* a file whose lock nobody holds */
    PID_CORRUPT, /* line 1 is not a PID */
    PID_RUNNING, /* locked: a server runs or starts */
};

/* Reads the PID file at path into *pf and classifies it, with the
 * reason for any state but PID_RUNNING in why (len bytes). With fd not
 * NULL a descriptor of the file is kept in *fd (else -1). */
static enum pid_state read_pid_state(const char *path,
                                     struct amaters_pidfile *pf, int *fd,
                                     char *why, size_t len)
{
    int rc = amaters_pidfile_inspect(path, pf, fd);

    why[0] = '\0';
    if (rc == AMATERS_ENOTFOUND) {
        snprintf(why, len, "PID file %s not found", path);
        return PID_NONE;
    }
    if (rc != 0) {
        snprintf(why, len, "PID file %s cannot be read: %s", path,
                 strerror(errno));
        return PID_NONE;
    }
    if (pf->corrupt && !pf->locked) {
        snprintf(why, len, "PID file %s is corrupt (line 1: '%s') and no "
                 "process holds its lock", path, pf->line1);
        return PID_CORRUPT;
    }
    if (pf->corrupt) {
        snprintf(why, len, "PID file %s is corrupt (line 1: '%s'), although "
                 "pid %ld holds its lock", path, pf->line1, pf->holder);
        return PID_CORRUPT;
    }
    if (!pf->locked) {
        snprintf(why, len, "stale PID file %s names pid %ld, which does not "
                 "hold its lock", path, pf->pid);
        return PID_STALE;
    }
    /* the kernel's word: the file may still name a crashed server for
     * the instant between a new server's lock and its write */
    /* 0: the holder is in a PID namespace we cannot see (another
     * container on the same volume); the file's PID is of that namespace
     * and must not be signalled from here */
    pf->pid = pf->holder > 0 ? pf->holder : 0;
    return PID_RUNNING;
}

/* Waits up to timeout seconds for the lock on fd to be released: the
 * server holds it until its process ends (even unreaped). Returns true
 * when released. */
static bool wait_released(int fd, double timeout)
{
    uint64_t deadline = amaters_now_ms() + (uint64_t)(timeout * 1000);
    struct timespec step = {0, STOP_POLL_MS * 1000000L};
    bool held = true;
    long holder;

    for (;;) {
        if (amaters_lock_holder(fd, &held, &holder) != 0 || !held)
            return !held;
        if (amaters_now_ms() >= deadline)
            return false;
        nanosleep(&step, NULL);
    }
}

int amaters_cmd_stop(const struct amaters_cli *cli)
{
    struct amaters_config cfg;
    struct amaters_pidfile pf;
    char path[4096], why[4400];
    int rc = AMATERS_EXIT_ERROR, fd = -1;
    enum pid_state state;

    if (amaters_server_load_config(cli, &cfg))
        goto out;
    amaters_config_pid_path(&cfg, path, sizeof path);
    state = read_pid_state(path, &pf, &fd, why, sizeof why);
    if (state == PID_CORRUPT) {
        fprintf(stderr, "amaters-server: %s; nothing signalled\n", why);
        goto out;
    }
    if (state != PID_RUNNING) {
        fprintf(stderr, "amaters-server: no running server (%s)\n", why);
        goto out;
    }
    if (pf.pid <= 0) {
        fprintf(stderr, "amaters-server: PID file %s is locked by a process "
                "this PID namespace cannot see (a server in another "
                "container?): nothing signalled; stop it where it runs\n",
                path);
        goto out;
    }
    double timeout = cli->timeout_secs >= 0
                         ? cli->timeout_secs
                         : (double)cfg.server.shutdown_timeout_secs + 5;
    int sig = cli->force ? SIGKILL : SIGTERM;
    if (kill((pid_t)pf.pid, sig) != 0) {
        fprintf(stderr, "amaters-server: cannot signal pid %ld: %s\n", pf.pid,
                strerror(errno));
        goto out;
    }
    printf("sent %s to amaters-server (pid %ld); waiting up to %g s\n",
           cli->force ? "SIGKILL" : "SIGTERM", pf.pid, timeout);
    fflush(stdout);
    if (!wait_released(fd, timeout)) {
        fprintf(stderr,
                "amaters-server: pid %ld still running after %g s (try "
                "stop --force)\n",
                pf.pid, timeout);
        goto out;
    }
    if (cli->force)
        amaters_lock_remove_stale(path); /* a killed server cannot */
    printf("amaters-server stopped\n");
    rc = AMATERS_EXIT_OK;
out:
    if (fd >= 0)
        close(fd);
    amaters_config_free(&cfg);
    return rc;
}

/* One unary call with a 2 s deadline; returns the response bytes (caller
 * frees with grpc_slice_unref) or an empty slice on failure. */
static int unary_call(grpc_channel *ch, const char *method,
                      const ProtobufCMessage *req, grpc_slice *out,
                      grpc_status_code *status)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t buf[256];
    grpc_byte_buffer *resp = NULL, *send;
    grpc_metadata_array im, tm;
    grpc_status_code st = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_op ops[6];
    int rc = -1;

    protobuf_c_message_pack(req, buf);
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)buf, n);
    send = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    grpc_metadata_array_init(&im);
    grpc_metadata_array_init(&tm);
    gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                                   gpr_time_from_millis(PROBE_TIMEOUT_MS,
                                                        GPR_TIMESPAN));
    grpc_call *call = grpc_channel_create_call(
        ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
        grpc_slice_from_static_string(method), NULL, dl, NULL);
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &im;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &resp;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.status = &st;
    ops[5].data.recv_status_on_client.status_details = &details;
    ops[5].data.recv_status_on_client.trailing_metadata = &tm;
    if (grpc_call_start_batch(call, ops, 6, ops, NULL) == GRPC_CALL_OK) {
        grpc_completion_queue_pluck(cq, ops,
                                    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        *status = st;
        if (st == GRPC_STATUS_OK && resp) {
            grpc_byte_buffer_reader rd;
            grpc_byte_buffer_reader_init(&rd, resp);
            *out = grpc_byte_buffer_reader_readall(&rd);
            grpc_byte_buffer_reader_destroy(&rd);
            rc = 0;
        }
    }
    if (resp)
        grpc_byte_buffer_destroy(resp);
    grpc_byte_buffer_destroy(send);
    grpc_metadata_array_destroy(&im);
    grpc_metadata_array_destroy(&tm);
    grpc_slice_unref(details);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    grpc_completion_queue_destroy(cq);
    return rc;
}

/* What status learnt. health and uptime come from gRPC when answered,
 * else from /health when http_answered. */
struct probe {
    bool answered;      /* gRPC HealthCheck answered */
    bool http_answered; /* GET /health answered with a readiness */
    bool auth_required; /* the server wants credentials status has not */
    bool tls;           /* TLS on in the effective config: no plain gRPC */
    bool starting;      /* /health says phase "starting" */
    int health;
    uint64_t uptime;
    char protocol[32];
};

static void ask_server(const char *addr, struct probe *p)
{
    grpc_channel_credentials *cr = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(addr, cr, NULL);
    Amaters__Aql__HealthCheckRequest hreq =
        AMATERS__AQL__HEALTH_CHECK_REQUEST__INIT;
    Amaters__Aql__ServerInfoRequest ireq =
        AMATERS__AQL__SERVER_INFO_REQUEST__INIT;
    grpc_slice s;
    grpc_status_code st = GRPC_STATUS_UNKNOWN;

    grpc_channel_credentials_release(cr);
    if (unary_call(ch, "/amaters.aql.AqlService/HealthCheck", &hreq.base,
                   &s, &st) == 0) {
        Amaters__Aql__HealthCheckResponse *r =
            amaters__aql__health_check_response__unpack(
                NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
        if (r) {
            p->answered = true;
            p->health = r->status;
            amaters__aql__health_check_response__free_unpacked(r, NULL);
        }
        grpc_slice_unref(s);
    }
    if (st == GRPC_STATUS_UNAUTHENTICATED)
        p->auth_required = true;
    if (p->answered &&
        unary_call(ch, "/amaters.aql.AqlService/GetServerInfo", &ireq.base,
                   &s, &st) == 0) {
        Amaters__Aql__ServerInfoResponse *r =
            amaters__aql__server_info_response__unpack(
                NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
        if (r) {
            p->uptime = r->uptime_seconds;
            if (r->version)
                snprintf(p->protocol, sizeof p->protocol, "%u.%u.%u",
                         r->version->major, r->version->minor,
                         r->version->patch);
            amaters__aql__server_info_response__free_unpacked(r, NULL);
        }
        grpc_slice_unref(s);
    }
    grpc_channel_destroy(ch);
}

/* Waits until fd is ready for events or the deadline (amaters_now_ms
 * clock) passes. Returns 0 when ready (or in error: the next call on fd
 * says which), -1 on timeout. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = events};

    for (;;) {
        uint64_t now = amaters_now_ms();
        if (now >= deadline)
            return -1;
        int n = poll(&pfd, 1, (int)(deadline - now));
        if (n > 0)
            return 0;
        if (n == 0 || errno != EINTR)
            return -1;
    }
}

/* A non-blocking TCP connection to one resolved address, or -1. */
static int connect_one(const struct addrinfo *ai, uint64_t deadline)
{
    int fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    int soerr = 0;
    socklen_t len = sizeof soerr;

    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0 &&
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
        soerr == 0)
        return fd;
    close(fd);
    return -1;
}

/* Connects to "host:port" as the PID file records the HTTP address; a
 * wildcard bind address is reached through loopback. Returns the socket
 * or -1. */
static int http_connect(const char *addr, uint64_t deadline)
{
    char host[256], port[8];
    int portnum = 0, fd = -1;
    struct addrinfo hints = {.ai_flags = AI_NUMERICSERV,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;

    if (amaters_http_parse_address(addr, host, sizeof host, &portnum) != 0 ||
        portnum == 0)
        return -1; /* "disabled", or no port */
    if (strcmp(host, "0.0.0.0") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    else if (strcmp(host, "::") == 0)
        snprintf(host, sizeof host, "::1");
    snprintf(port, sizeof port, "%d", portnum);
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
        fd = connect_one(ai, deadline);
    freeaddrinfo(res);
    return fd;
}

/* Sends all n bytes of req before the deadline. Returns 0 or -1. */
static int send_all(int fd, const char *req, size_t n, uint64_t deadline)
{
    size_t off = 0;

    while (off < n) {
        ssize_t w = send(fd, req + off, n - off, MSG_NOSIGNAL);
        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        else if (wait_fd(fd, POLLOUT, deadline) != 0)
            return -1;
    }
    return 0;
}

/* Reads until the peer closes (HTTP/1.0), at most cap - 1 bytes, before
 * the deadline. Returns 0 with buf NUL-terminated and *len bytes, or -1
 * (timeout, error, reply too long). */
static int recv_all(int fd, char *buf, size_t cap, size_t *len,
                    uint64_t deadline)
{
    size_t off = 0;

    for (;;) {
        if (off == cap - 1)
            return -1;
        ssize_t r = recv(fd, buf + off, cap - 1 - off, 0);
        if (r == 0)
            break;
        if (r > 0)
            off += (size_t)r;
        else if (errno != EAGAIN && errno != EINTR)
            return -1;
        else if (wait_fd(fd, POLLIN, deadline) != 0)
            return -1;
    }
    buf[off] = '\0';
    *len = off;
    return 0;
}

/* GET path from addr over HTTP/1.0 within PROBE_TIMEOUT_MS. On success
 * *reply holds the whole reply (status line, headers, body),
 * NUL-terminated, *len bytes; the caller frees it with amaters_free.
 * Returns 0 or -1. */
static int http_get(const char *addr, const char *path, char **reply,
                    size_t *len)
{
    uint64_t deadline = amaters_now_ms() + PROBE_TIMEOUT_MS;
    char req[512];
    char *buf = NULL;
    int fd, rc = -1;

    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.0\r\nHost: %s\r\nAccept: "
                     "application/json\r\nConnection: close\r\n\r\n",
                     path, addr);
    if (n < 0 || (size_t)n >= sizeof req)
        return -1;
    fd = http_connect(addr, deadline);
    if (fd < 0)
        return -1;
    buf = amaters_malloc(HTTP_REPLY_MAX);
    if (buf == NULL || send_all(fd, req, (size_t)n, deadline) != 0 ||
        recv_all(fd, buf, HTTP_REPLY_MAX, len, deadline) != 0)
        goto out;
    *reply = buf;
    buf = NULL;
    rc = 0;
out:
    amaters_free(buf);
    close(fd);
    return rc;
}

/* Takes readiness and uptime from a /health reply (200 when healthy or
 * degraded, 503 otherwise; both carry the JSON summary). */
static void parse_health(const char *reply, size_t len, struct probe *p)
{
    const char *body = strstr(reply, "\r\n\r\n");
    int code = 0;

    if (body == NULL || sscanf(reply, "HTTP/1.%*d %d", &code) != 1 ||
        (code != 200 && code != 503))
        return;
    body += 4;
    cJSON *j = cJSON_ParseWithLength(body, len - (size_t)(body - reply));
    const cJSON *ready = cJSON_GetObjectItemCaseSensitive(j, "ready");
    const cJSON *up = cJSON_GetObjectItemCaseSensitive(j, "uptime_seconds");
    const cJSON *phase = cJSON_GetObjectItemCaseSensitive(j, "phase");
    if (cJSON_IsBool(ready)) {
        p->starting = cJSON_IsFalse(ready) && cJSON_IsString(phase) &&
                      strcmp(phase->valuestring, "starting") == 0;
        p->http_answered = true;
        p->health = cJSON_IsTrue(ready)
                        ? AMATERS__AQL__HEALTH_STATUS__HEALTH_SERVING
                        : AMATERS__AQL__HEALTH_STATUS__HEALTH_NOT_SERVING;
        /* untrusted: only values a uint64_t holds (not NaN, inf) */
        if (cJSON_IsNumber(up) && up->valuedouble >= 0 &&
            up->valuedouble < 18446744073709551616.0)
            p->uptime = (uint64_t)up->valuedouble;
    }
    cJSON_Delete(j);
}

/* Asks the plain-HTTP health endpoint at addr (as in the PID file). */
static void ask_http(const char *addr, struct probe *p)
{
    char *reply = NULL;
    size_t len = 0;

    if (http_get(addr, "/health", &reply, &len) != 0)
        return;
    parse_health(reply, len, p);
    amaters_free(reply);
}

static const char *health_name(int h)
{
    switch (h) {
    case AMATERS__AQL__HEALTH_STATUS__HEALTH_SERVING:
        return "SERVING";
    case AMATERS__AQL__HEALTH_STATUS__HEALTH_NOT_SERVING:
        return "NOT_SERVING";
    case AMATERS__AQL__HEALTH_STATUS__HEALTH_SERVICE_UNKNOWN:
        return "SERVICE_UNKNOWN";
    default:
        return "UNKNOWN";
    }
}

/* The human note after the state: where it came from, and why not from
 * gRPC. */
static const char *state_note(const struct probe *p)
{
    if (p->answered)
        return "";
    if (p->starting)
        return p->http_answered ? " (start-up in progress; from /health "
                                  "over HTTP)"
                                : " (start-up in progress: the PID file is "
                                  "locked, gRPC is not bound yet)";
    if (p->http_answered)
        return p->tls             ? " (from /health over HTTP; gRPC uses TLS)"
               : p->auth_required ? " (from /health over HTTP; gRPC needs "
                                    "credentials)"
                                  : " (from /health over HTTP; no gRPC "
                                    "answer)";
    if (p->auth_required)
        return " (gRPC needs credentials; see /readyz)";
    return p->tls ? " (gRPC uses TLS and HTTP did not answer; from the PID "
                    "file)"
                  : " (no gRPC answer; from the PID file)";
}

static void print_status(const struct amaters_cli *cli, bool running,
                         long pid, const char *addr, const char *http,
                         const struct probe *p)
{
    bool known = p->answered || p->http_answered;
    const char *status = p->starting && !p->answered ? "STARTING"
                         : known              ? health_name(p->health)
                         : p->auth_required ? "AUTHENTICATION_REQUIRED"
                         : running          ? "UNREACHABLE"
                                            : "STOPPED";
    const char *source = p->answered        ? "grpc"
                         : p->http_answered ? "http"
                                            : "pid_file";
    if (strcmp(cli->format, "json") == 0) {
        printf("{\"running\":%s,\"pid\":%ld,\"status\":\"%s\","
               "\"address\":\"%s\",\"http_address\":\"%s\","
               "\"source\":\"%s\",\"grpc_auth_required\":%s,"
               "\"uptime_seconds\":%llu,"
               "\"protocol_version\":\"%s\",\"version\":\"%s\"}\n",
               running ? "true" : "false", running ? pid : 0, status, addr,
               http, source, p->auth_required ? "true" : "false",
               (unsigned long long)p->uptime, p->protocol,
               amaters_server_version());
        return;
    }
    if (!running) {
        printf("amaters-server is not running\n");
        return;
    }
    if (pid > 0)
        printf("amaters-server is %s (pid %ld)\n",
               p->starting ? "starting" : "running", pid);
    else
        printf("amaters-server is %s (pid unknown)\n",
               p->starting ? "starting" : "running");
    printf("  status:    %s%s\n", status, state_note(p));
    printf("  gRPC:      %s\n", addr);
    printf("  HTTP:      %s\n", http);
    if (known)
        printf("  uptime:    %llu s\n", (unsigned long long)p->uptime);
    if (p->protocol[0])
        printf("  protocol:  %s\n", p->protocol);
}

int amaters_cmd_status(const struct amaters_cli *cli)
{
    struct amaters_config cfg;
    struct amaters_pidfile pf;
    char path[4096], grpc[300], http[300], why[4400];
    struct probe p = {0};
    enum pid_state state;
    bool running;

    if (amaters_server_load_config(cli, &cfg)) {
        amaters_config_free(&cfg);
        return AMATERS_EXIT_ERROR;
    }
    amaters_config_pid_path(&cfg, path, sizeof path);
    state = read_pid_state(path, &pf, NULL, why, sizeof why);
    if (state == PID_STALE || state == PID_CORRUPT)
        fprintf(stderr, "amaters-server: %s\n", why);
    running = pf.locked;
    /* a stale file's addresses were a dead server's: ask the configured
     * ones, as when there is no file */
    snprintf(grpc, sizeof grpc, "%s",
             running && pf.grpc[0] ? pf.grpc : cfg.server.bind_address);
    snprintf(http, sizeof http, "%s",
             running && pf.http[0] ? pf.http : cfg.metrics.bind_address);
    p.tls = cfg.network.tls_enabled;
    /* a server holding the lock is asked only where it says it listens
     * (a starting one has not bound gRPC yet: the configured address may
     * be some other process's) */
    if (!p.tls && (!running || pf.grpc[0])) {
        grpc_init();
        ask_server(grpc, &p);
        grpc_shutdown();
    }
    if (!p.answered && (!running || pf.http[0]))
        ask_http(http, &p);
    /* locked, nothing answers, no gRPC address yet: still starting */
    if (running && !p.answered && !p.http_answered && !p.auth_required &&
        pf.grpc[0] == '\0')
        p.starting = true;
    if ((p.answered || p.http_answered || p.auth_required) && !running)
        running = true; /* answering without a PID file we can read */
    print_status(cli, running,
                 state == PID_RUNNING ? pf.pid
                 : pf.locked          ? pf.holder
                                      : 0,
                 grpc, http, &p);
    amaters_config_free(&cfg);
    return running ? AMATERS_EXIT_OK : AMATERS_EXIT_ERROR;
}
