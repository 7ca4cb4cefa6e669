/*
 * server.c - gRPC core server life cycle: channel args, registered
 * methods, one completion queue polled by every worker thread (see
 * internal.h for why one), arming calls, dispatching completions by tag
 * kind, graceful stop.
 */
#include "rpc/internal.h"

#include <errno.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/errors.h"
#include "core/timeutil.h"
#include "obs/http.h"
#include "obs/log.h"

/* Calls armed per method, times the number of workers: enough to absorb
 * bursts (a call arriving with no armed slot waits in gRPC until one is
 * armed again). */
#define ARMED_PER_METHOD 8
#define ARENA_CAP ((size_t)1 << 31)

const char *const amaters_rpc_method_names[M_COUNT + 1] = {
    "ExecuteQuery",       "ExecuteBatch", "ExecuteStream",
    "ExecuteInteractive", "HealthCheck",  "GetServerInfo",
    "unknown",
};

static const char *const method_paths[M_COUNT] = {
    "/amaters.aql.AqlService/ExecuteQuery",
    "/amaters.aql.AqlService/ExecuteBatch",
    "/amaters.aql.AqlService/ExecuteStream",
    "/amaters.aql.AqlService/ExecuteInteractive",
    "/amaters.aql.AqlService/HealthCheck",
    "/amaters.aql.AqlService/GetServerInfo",
};

static atomic_int global_inits;

void amaters_rpc_global_init(void)
{
    if (atomic_fetch_add(&global_inits, 1) == 0)
        grpc_init();
}

void amaters_rpc_global_shutdown(void)
{
    if (atomic_fetch_sub(&global_inits, 1) == 1)
        grpc_shutdown();
}

static void tag_init(struct rtag *t, enum tag_kind k, struct rcall *c)
{
    t->kind = k;
    t->call = c;
    atomic_init(&t->published, (int)k);
}

static struct rcall *call_new(struct amaters_rpc *r, enum method m)
{
    struct rcall *c = amaters_calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->arena = amaters_arena_create(ARENA_CAP);
    if (c->arena == NULL) {
        amaters_free(c);
        return NULL;
    }
    c->rpc = r;
    c->method = m;
    grpc_metadata_array_init(&c->md);
    grpc_call_details_init(&c->details);
    tag_init(&c->t_new, TAG_NEW, c);
    tag_init(&c->t_done, TAG_DONE, c);
    tag_init(&c->t_written, TAG_WRITTEN, c);
    tag_init(&c->t_send, TAG_SEND, c);
    tag_init(&c->t_recv, TAG_RECV, c);
    tag_init(&c->t_close, TAG_CLOSE, c);
    amaters_qctx_init(&c->qctx, c->arena);
    return c;
}

void rpc_qctx_reset(struct rcall *c)
{
    amaters_qctx_init(&c->qctx, c->arena);
    /* it pointed into the arena, which the caller may just have reset
     * (the next message of a bidi call) */
    c->identity.request_id = NULL;
    if (c->admitted)
        c->qctx.authz = &c->hook;
}

static void call_free(struct rcall *c)
{
    if (c->admitted)
        amaters_call_identity_clear(&c->identity);
    if (c->counted) {
        struct amaters_rpc *r = c->rpc;
        long left = atomic_fetch_sub(&r->active, 1) - 1;
        rpc_metrics_active(left);
        if (left == 0 && atomic_load(&r->stopping)) {
            pthread_mutex_lock(&r->mu);
            pthread_cond_broadcast(&r->cv);
            pthread_mutex_unlock(&r->mu);
        }
    }
    amaters_cursor_close(c->cursor);
    if (c->payload)
        grpc_byte_buffer_destroy(c->payload);
    if (c->send_bb)
        grpc_byte_buffer_destroy(c->send_bb);
    grpc_metadata_array_destroy(&c->md);
    grpc_call_details_destroy(&c->details);
    if (c->call)
        grpc_call_unref(c->call);
    amaters_arena_destroy(c->arena);
    amaters_free(c);
}

void rpc_call_unref(struct rcall *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        call_free(c);
}

void rpc_start_batch(struct rcall *c, const grpc_op *ops, size_t n,
                     struct rtag *tag)
{
    atomic_fetch_add(&c->refs, 1);
    rpc_tag_publish(tag); /* hands the call over to the completion */
    grpc_call_error e = grpc_call_start_batch(c->call, ops, n, tag, NULL);
    if (e != GRPC_CALL_OK) {
        amaters_log(AMATERS_LOG_ERROR, "rpc", "%s: start batch failed (%d)",
                    amaters_rpc_method_names[c->method], (int)e);
        atomic_fetch_sub(&c->refs, 1);
    }
}

int rpc_arm(struct amaters_rpc *r, enum method m)
{
    struct rcall *c = call_new(r, m);
    grpc_call_error e;
    if (c == NULL)
        return AMATERS_ENOMEM;
    atomic_init(&c->refs, 1);
    rpc_tag_publish(&c->t_new);
    if (m == M_UNKNOWN) {
        e = grpc_server_request_call(r->server, &c->call, &c->details, &c->md,
                                     r->cq, r->cq, &c->t_new);
    } else {
        bool with_payload = m != M_INTERACTIVE;
        e = grpc_server_request_registered_call(
            r->server, r->methods[m], &c->call, &c->deadline, &c->md,
            with_payload ? &c->payload : NULL, r->cq, r->cq, &c->t_new);
    }
    if (e != GRPC_CALL_OK) {
        call_free(c);
        return AMATERS_EINTERNAL;
    }
    return 0;
}

/* Runs the gate; on refusal answers the call and returns false. */
static bool admit(struct rcall *c)
{
    struct amaters_rpc *r = c->rpc;
    char why[256];
    uint32_t retry = 0;
    int rc = amaters_gate_admit(r->opts.gate, c->call, &c->md, &c->identity,
                                &retry, why, sizeof why);
    if (rc == 0) {
        c->admitted = true;
        c->hook = (struct amaters_authz_hook){
            amaters_gate_check, &c->identity, amaters_gate_admin_done};
        rpc_qctx_reset(c);
        return true;
    }
    if (rc == AMATERS_EOVERLOAD) {
        rpc_metrics_request(c->method, "rate_limited", c->started_ns, 0, 0);
        rpc_send_status_retry(c, GRPC_STATUS_RESOURCE_EXHAUSTED, why, retry);
        return false;
    }
    rpc_metrics_request(c->method, "unauthenticated", c->started_ns, 0, 0);
    rpc_send_status(c,
                    rc == AMATERS_EAUTH ? GRPC_STATUS_UNAUTHENTICATED
                                        : GRPC_STATUS_INTERNAL,
                    rc == AMATERS_EAUTH ? why : "authentication failed",
                    &c->t_done);
    return false;
}

static void start_handler(struct rcall *c)
{
    switch (c->method) {
    case M_STREAM:
        rpc_stream_start(c);
        break;
    case M_INTERACTIVE:
        rpc_bidi_start(c);
        break;
    case M_UNKNOWN:
        rpc_unknown_start(c);
        break;
    default:
        rpc_unary_start(c);
        break;
    }
}

static void on_new(struct rcall *c, bool ok)
{
    struct amaters_rpc *r = c->rpc;
    if (!ok) {
        /* The server is shutting down: the armed slot is released. */
        call_free(c);
        return;
    }
    if (!atomic_load(&r->stopping))
        rpc_arm(r, c->method);
    atomic_store(&c->refs, 1); /* the handler's reference */
    c->started_ns = amaters_now_ns();
    c->counted = true;
    long active = atomic_fetch_add(&r->active, 1) + 1;
    rpc_metrics_active(active);
    if (c->method != M_HEALTH && r->opts.max_connections &&
        active > (long)r->opts.max_connections) {
        rpc_metrics_request(c->method, "overloaded", c->started_ns, 0, 0);
        rpc_send_status(c, GRPC_STATUS_RESOURCE_EXHAUSTED,
                        "server overloaded: too many concurrent calls "
                        "(server.max_connections); retry later",
                        &c->t_done);
    } else if (r->opts.gate == NULL || admit(c)) {
        start_handler(c);
    }
    rpc_call_unref(c); /* the handler's reference */
}

static void dispatch(struct rtag *t, enum tag_kind kind, bool ok)
{
    struct rcall *c = t->call;
    switch (kind) {
    case TAG_NEW:
        on_new(c, ok);
        return;
    case TAG_DONE:
        break;
    case TAG_SEND:
        if (c->method == M_STREAM)
            rpc_stream_on_send(c, ok);
        else
            rpc_bidi_on_send(c, ok);
        break;
    case TAG_RECV:
        rpc_bidi_on_recv(c, ok);
        break;
    case TAG_CLOSE:
        break;
    case TAG_SHUTDOWN:
        return;
    case TAG_WRITTEN:
        rpc_deferred_finish(c); /* drops the deferred write's reference */
        return;
    }
    rpc_call_unref(c);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct amaters_rpc *r = w->rpc;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(
            r->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break; /* every poller sees it once the queue is drained */
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        struct rtag *t = ev.tag;
        enum tag_kind kind = rpc_tag_receive(t);
        if (kind == TAG_SHUTDOWN) {
            pthread_mutex_lock(&r->mu);
            r->shutdown_done = true;
            pthread_cond_broadcast(&r->cv);
            pthread_mutex_unlock(&r->mu);
            continue;
        }
        dispatch(t, kind, ev.success != 0);
    }
    return NULL;
}

static grpc_server *create_server(const struct amaters_rpc_options *o)
{
    int max = o->max_message_bytes > 0x7fffffff ? 0x7fffffff
                                                 : (int)o->max_message_bytes;
    grpc_arg args[] = {
        {GRPC_ARG_INTEGER, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, {.integer = max}},
        {GRPC_ARG_INTEGER, GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, {.integer = max}},
        /* Clients ping every 60 s while calls are active (and may ping
         * without calls): accept pings, never answer them with GOAWAY. */
        {GRPC_ARG_INTEGER, GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
         {.integer = 1000}},
        {GRPC_ARG_INTEGER, GRPC_ARG_HTTP2_MAX_PING_STRIKES, {.integer = 0}},
        {GRPC_ARG_INTEGER, GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, {.integer = 1}},
        {GRPC_ARG_INTEGER, GRPC_ARG_KEEPALIVE_TIME_MS,
         {.integer = (int)o->keepalive_interval_secs * 1000}},
        {GRPC_ARG_INTEGER, GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
         {.integer = (int)o->connection_timeout_secs * 1000}},
        /* gRPC sets SO_REUSEPORT by default: a second server on the same
         * port would then bind too and take half of the connections (to
         * its own data). Refuse the port instead: the bind fails. */
        {GRPC_ARG_INTEGER, GRPC_ARG_ALLOW_REUSEPORT, {.integer = 0}},
    };
    grpc_channel_args ca = {sizeof args / sizeof args[0], args};
    return grpc_server_create(&ca, NULL);
}

/* Why "host:port" cannot be bound, found by binding each address it
 * resolves to (as gRPC does, with SO_REUSEADDR but without SO_REUSEPORT):
 * a phrase for the start-up error, or NULL when the address does not
 * parse or binds fine. *in_use is set when some address is taken by
 * another listener: gRPC would still start on the others (localhost =
 * 127.0.0.1 and ::1), so that is refused before gRPC binds. */
static const char *bind_problem(const char *addr, bool *in_use)
{
    char host[256], port[16];
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int one = 1, first = 0, portnum = 0;

    *in_use = false;
    if (amaters_http_parse_address(addr, host, sizeof host, &portnum) != 0)
        return NULL; /* not host:port (a gRPC URI): no second guess */
    snprintf(port, sizeof port, "%d", portnum);
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return "the host name does not resolve";
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            if (errno == EADDRINUSE)
                *in_use = true;
            else if (first == 0)
                first = errno;
        }
        close(fd);
    }
    freeaddrinfo(res);
    if (*in_use)
        return "address already in use (another process listens on it)";
    if (first == EADDRNOTAVAIL)
        return "not an address of this machine";
    if (first == EACCES)
        return "permission denied (ports below 1024 need privileges)";
    return NULL;
}

static int start_workers(struct amaters_rpc *r)
{
    char name[16];
    unsigned armed = ARMED_PER_METHOD * r->nworkers;

    for (int m = 0; m < M_COUNT; m++) {
        for (unsigned k = 0; k < armed; k++) {
            if (rpc_arm(r, (enum method)m))
                return AMATERS_EINTERNAL;
        }
    }
    for (unsigned k = 0; k < r->nworkers; k++) {
        if (rpc_arm(r, M_UNKNOWN))
            return AMATERS_EINTERNAL;
    }
    for (unsigned i = 0; i < r->nworkers; i++) {
        struct worker *w = &r->workers[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            return AMATERS_EINTERNAL;
        snprintf(name, sizeof name, "amaters-cq%u", i % 100);
        pthread_setname_np(w->thread, name); /* for top -H, perf */
        w->index = i + 1; /* thread started */
    }
    return 0;
}

int amaters_rpc_start(const struct amaters_rpc_options *opts,
                      struct amaters_exec *exec, struct amaters_rpc **out,
                      char *err, size_t errlen)
{
    struct amaters_rpc *r = amaters_calloc(1, sizeof *r);
    grpc_server_credentials *creds = NULL;
    const char *why;
    bool in_use = false;
    int rc = AMATERS_EINTERNAL;

    if (r == NULL)
        return AMATERS_ENOMEM;
    amaters_rpc_global_init();
    rpc_metrics_init();
    r->exec = exec;
    r->opts = *opts;
    r->started_ns = amaters_now_ns();
    r->nworkers = opts->workers ? opts->workers : 1;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    pthread_mutex_init(&r->wake_mu, NULL);
    tag_init(&r->shutdown_tag, TAG_SHUTDOWN, NULL);
    r->server = create_server(opts);
    r->workers = amaters_calloc(r->nworkers, sizeof *r->workers);
    if (r->server == NULL || r->workers == NULL) {
        snprintf(err, errlen, "gRPC: cannot create the server");
        goto fail;
    }
    for (unsigned i = 0; i < r->nworkers; i++)
        r->workers[i].rpc = r;
    r->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(r->server, r->cq, NULL);
    for (int m = 0; m < M_COUNT; m++) {
        r->methods[m] = grpc_server_register_method(
            r->server, method_paths[m], NULL,
            m == M_INTERACTIVE ? GRPC_SRM_PAYLOAD_NONE
                               : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
            0);
    }
    why = bind_problem(opts->bind_address, &in_use);
    if (in_use) {
        snprintf(err, errlen, "gRPC: cannot listen on %s: %s",
                 opts->bind_address, why);
        rc = AMATERS_EIO;
        goto fail;
    }
    creds = opts->creds ? opts->creds
                        : grpc_insecure_server_credentials_create();
    r->port = grpc_server_add_http2_port(r->server, opts->bind_address, creds);
    if (opts->creds == NULL)
        grpc_server_credentials_release(creds);
    if (r->port <= 0) {
        why = bind_problem(opts->bind_address, &in_use);
        if (why)
            snprintf(err, errlen, "gRPC: cannot listen on %s: %s",
                     opts->bind_address, why);
        else
            snprintf(err, errlen,
                     "gRPC: cannot listen on %s (address in use, not "
                     "local, or malformed)",
                     opts->bind_address);
        rc = AMATERS_EIO;
        goto fail;
    }
    if (rpc_completer_start(&r->completer)) {
        snprintf(err, errlen, "gRPC: cannot start the completer thread");
        goto fail;
    }
    grpc_server_start(r->server);
    r->started = true;
    pthread_mutex_lock(&r->wake_mu);
    r->wake_ok = true;
    pthread_mutex_unlock(&r->wake_mu);
    if (start_workers(r)) {
        snprintf(err, errlen, "gRPC: cannot start worker threads");
        amaters_rpc_stop(r, 0);
        return AMATERS_EINTERNAL;
    }
    *out = r;
    return 0;
fail:
    amaters_rpc_stop(r, 0);
    return rc;
}

int amaters_rpc_port(const struct amaters_rpc *r)
{
    return r->port;
}

long amaters_rpc_active_calls(const struct amaters_rpc *r)
{
    return atomic_load(&r->active);
}

/* Waits until the shutdown tag arrived, or (drained) no call is active
 * any more, or timeout_ms passed. Returns whether the condition held. */
static bool wait_shutdown(struct amaters_rpc *r, uint64_t timeout_ms,
                          bool drained)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->mu);
    while (!r->shutdown_done && !(drained && atomic_load(&r->active) == 0)) {
        if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) != 0)
            break;
    }
    bool done = r->shutdown_done || (drained && atomic_load(&r->active) == 0);
    pthread_mutex_unlock(&r->mu);
    return done;
}

/* Frees the calls armed on the queue when no worker ever ran. */
static void drain_unstarted(grpc_completion_queue *cq)
{
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(
            cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            return;
        struct rtag *t = ev.tag;
        if (ev.type == GRPC_OP_COMPLETE && rpc_tag_receive(t) == TAG_NEW)
            call_free(t->call);
    }
}

/* Waits, without a bound, until no call is active; says so every 10 s
 * once it has waited 1 s. */
static void wait_calls_done(struct amaters_rpc *r)
{
    uint64_t t0 = amaters_now_ms(), next = 1000;
    bool said = false;

    pthread_mutex_lock(&r->mu);
    while (atomic_load(&r->active) != 0) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        if (atomic_load(&r->active) != 0 && amaters_now_ms() - t0 >= next) {
            amaters_log(AMATERS_LOG_WARN, "rpc",
                        "shutdown: waiting for %ld call(s) still running "
                        "(%ld write(s) still with the storage engine)",
                        (long)atomic_load(&r->active),
                        (long)atomic_load(&r->deferred));
            next += 10000;
            said = true;
        }
    }
    pthread_mutex_unlock(&r->mu);
    if (said)
        amaters_log(AMATERS_LOG_INFO, "rpc",
                    "shutdown: every call finished after %llu ms",
                    (unsigned long long)(amaters_now_ms() - t0));
}

/* Waits until the engine has completed every deferred write (polling:
 * the completion's last access to r is the counter itself). */
static void wait_deferred(struct amaters_rpc *r)
{
    uint64_t t0 = amaters_now_ms();
    bool said = false;

    while (atomic_load(&r->deferred) != 0) {
        if (!said && amaters_now_ms() - t0 >= 1000) {
            amaters_log(AMATERS_LOG_WARN, "rpc",
                        "shutdown: waiting for %ld write(s) still with the "
                        "storage engine",
                        (long)atomic_load(&r->deferred));
            said = true;
        }
        amaters_sleep_ms(2);
    }
    if (said)
        amaters_log(AMATERS_LOG_INFO, "rpc",
                    "shutdown: the storage engine completed every write "
                    "after %llu ms",
                    (unsigned long long)(amaters_now_ms() - t0));
}

void amaters_rpc_refuse_new(struct amaters_rpc *r)
{
    atomic_store(&r->stopping, true);
}

long amaters_rpc_stop(struct amaters_rpc *r, uint64_t timeout_ms)
{
    long cancelled = 0;
    bool threads = r->workers && r->nworkers && r->workers[0].index;

    atomic_store(&r->stopping, true);
    if (r->server && threads) {
        rpc_tag_publish(&r->shutdown_tag);
        grpc_server_shutdown_and_notify(r->server, r->cq, &r->shutdown_tag);
        /* Drain: wait for the calls in flight (bounded). gRPC core would
         * then still keep idle connections for a GOAWAY round trip; once
         * nothing is in flight there is nothing to wait for, so after a
         * short grace period for calls already on the wire, the remaining
         * connections are closed. */
        if (!wait_shutdown(r, timeout_ms, true))
            cancelled = atomic_load(&r->active);
        if (!wait_shutdown(r, 100, false)) {
            grpc_server_cancel_all_calls(r->server);
            wait_shutdown(r, 5000, false);
        }
    } else if (r->server && r->started) {
        rpc_tag_publish(&r->shutdown_tag);
        grpc_server_shutdown_and_notify(r->server, r->cq, &r->shutdown_tag);
        grpc_server_cancel_all_calls(r->server);
    }
    /* A call still active after the cancellation is in a handler (a
     * batch or DELETE waiting for the disk, a BACKUP) or has its write
     * with the engine; either will still use its queue and r. Wait for
     * all of them without a bound (the engine completes every write it
     * accepted, with an error if it fails; a disk that never answers is
     * what `stop --force` is for), then for the engine's completions to
     * have let go of r, before the queues go away. */
    if (r->server && threads)
        wait_calls_done(r);
    wait_deferred(r);
    if (r->server)
        grpc_server_destroy(r->server);
    /* after every call finished (wait_calls_done above); a write
     * the engine completes later still must not post to a dead queue */
    pthread_mutex_lock(&r->wake_mu);
    r->wake_ok = false;
    pthread_mutex_unlock(&r->wake_mu);
    rpc_completer_stop(&r->completer);
    if (r->cq) {
        grpc_completion_queue_shutdown(r->cq);
        for (unsigned i = 0; r->workers && i < r->nworkers; i++) {
            if (r->workers[i].index)
                pthread_join(r->workers[i].thread, NULL);
        }
        if (!threads)
            drain_unstarted(r->cq);
        grpc_completion_queue_destroy(r->cq);
    }
    amaters_free(r->workers);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->wake_mu);
    amaters_free(r);
    amaters_rpc_global_shutdown();
    return cancelled;
}
