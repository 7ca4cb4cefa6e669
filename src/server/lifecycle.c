/*
 * lifecycle.c - the start command: refuse what this build cannot honour,
 * create and lock the data directory, bring up logging, take the PID
 * file, start HTTP health/metrics, security, storage, the executor and
 * gRPC; serve until SIGTERM/SIGINT (stats.c logs a metrics snapshot every
 * metrics.export_interval_secs, reload.c handles SIGHUP); then drain and
 * shut down in order (NOT_SERVING, stop accepting, drain in-flight calls
 * bounded by shutdown_timeout_secs, flush and close storage, remove the
 * PID file). A second SIGTERM/SIGINT during shutdown exits at once.
 *
 * Signals are blocked in every thread (the mask is set before any thread
 * exists) and taken synchronously by the main thread with sigtimedwait,
 * so no work happens in a signal handler. During start-up a pending
 * SIGTERM/SIGINT is looked for between two steps: it ends the start-up
 * cleanly (exit 0) without ever serving.
 */
#include "server/runtime.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/timeutil.h"
#include "obs/health.h"
#include "obs/http.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "query/query.h"
#include "rpc/auth.h"
#include "rpc/rpc.h"
#include "security/audit.h"
#include "security/tls.h"
#include "storage/engine.h"

static struct runtime *g_rt; /* for the second-signal thread only */

__attribute__((format(printf, 1, 0)))
static void report_failure(const char *fmt, va_list ap)
{
    char msg[2048];

    vsnprintf(msg, sizeof msg, fmt, ap);
    fprintf(stderr, "amaters-server: %s\n", msg);
    amaters_log(AMATERS_LOG_ERROR, "server", "start-up failed: %s", msg);
}

int amaters_srv_fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_failure(fmt, ap);
    va_end(ap);
    return -1;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_failure(fmt, ap);
    va_end(ap);
    return -1;
}

/* "SIGTERM", "SIGINT", else the description. */
static const char *signal_name(int sig)
{
    return sig == SIGTERM ? "SIGTERM"
           : sig == SIGINT ? "SIGINT"
           : sig == SIGHUP ? "SIGHUP"
                           : strsignal(sig);
}

/* Takes a pending SIGTERM or SIGINT without waiting. Returns it, or 0. */
static int take_stop_signal(void)
{
    static const struct timespec now = {0, 0};
    sigset_t stop;
    siginfo_t si;
    int sig;

    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sig = sigtimedwait(&stop, &si, &now);
    return sig > 0 ? sig : 0;
}

static int check_supported(struct runtime *rt)
{
    char why[512];

    if (amaters_server_check_supported(&rt->cfg, why, sizeof why))
        return fail("%s", why);
    return 0;
}

/* After check_data_dir: the default log file is in the data directory. */
static int init_logging(const struct amaters_config *cfg)
{
    struct amaters_log_options o = {0};
    char err[4400], path[4200];
    if (amaters_log_parse_level(cfg->logging.level, &o.level) ||
        amaters_log_parse_format(cfg->logging.format, &o.format))
        return fail("logging: bad level or format");
    if (cfg->logging.file_enabled &&
        amaters_config_log_path(cfg, path, sizeof path) == NULL)
        return fail("logging: logging.file_path is too long");
    o.file_path = cfg->logging.file_enabled ? path : NULL;
    o.rotate = cfg->logging.rotation.enabled;
    o.max_size_bytes = (uint64_t)cfg->logging.rotation.max_size_mb << 20;
    o.max_backups = (unsigned)cfg->logging.rotation.max_backups;
    if (amaters_log_init(&o, err, sizeof err))
        return fail("logging: %s", err);
    return 0;
}

static int start_http(struct runtime *rt)
{
    char err[512];
    if (!rt->cfg.metrics.enabled) {
        snprintf(rt->http_addr, sizeof rt->http_addr, "disabled");
        return 0;
    }
    if (amaters_http_start(rt->cfg.metrics.bind_address, &rt->http, err,
                           sizeof err))
        /* the HTTP module's own "http: " prefix adds nothing here */
        return fail("health/metrics HTTP: %s",
                    strncmp(err, "http: ", 6) == 0 ? err + 6 : err);
    char host[256];
    int port = 0;
    amaters_http_parse_address(rt->cfg.metrics.bind_address, host,
                               sizeof host, &port);
    snprintf(rt->http_addr, sizeof rt->http_addr,
             strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
             amaters_http_port(rt->http));
    return 0;
}

static int start_storage(struct runtime *rt)
{
    char err[512] = "";
    int rc;
    const struct amaters_engine_ops *ops =
        amaters_engine_find(rt->cfg.storage.engine);
    char wal_dir[4200];
    struct amaters_engine_options eo;

    amaters_server_engine_options(&rt->cfg, &eo, wal_dir, sizeof wal_dir);
    if (!rt->cfg.storage.wal.enabled)
        amaters_log(AMATERS_LOG_WARN, "server",
                    "storage.wal.enabled = false: a crash loses the writes "
                    "not yet flushed from memory to disk; "
                    "storage.wal.sync_mode (\"%s\") has no effect",
                    rt->cfg.storage.wal.sync_mode);
    amaters_health_set_component("storage", AMATERS_COMPONENT_DOWN,
                                 "opening");
    rc = ops->open(&eo, &rt->engine, err, sizeof err);
    /* a damaged database (not a FORMAT problem, which repair refuses) */
    if (rc == AMATERS_ECORRUPT &&
        strstr(err, "amaters-server repair") == NULL &&
        strstr(err, "/FORMAT") == NULL)
        return fail("storage engine %s: %s. The data directory is damaged: "
                    "`amaters-server repair` rebuilds it (it keeps a copy of "
                    "the damaged files)", ops->name, err);
    if (rc != 0)
        return fail("storage engine %s: %s", ops->name, err);
    char backups[4200];
    snprintf(backups, sizeof backups, "%s/backups", rt->data_dir);
    struct amaters_exec_options xo = {
        .max_key_bytes = (size_t)rt->cfg.limits.max_key_bytes,
        .max_value_bytes = (size_t)rt->cfg.limits.max_value_bytes,
        .max_result_bytes = (size_t)rt->cfg.limits.max_message_bytes * 15 / 16,
        .max_batch_queries = (size_t)rt->cfg.limits.max_batch_queries,
        .stream_batch_size = (size_t)rt->cfg.query.stream_batch_size,
        .backup_dir = backups,
        .engine_name = ops->name,
        .node_address = rt->cfg.server.bind_address,
        .node_id = (uint64_t)rt->cfg.cluster.node_id,
    };
    if (amaters_exec_create(rt->engine, &xo, &rt->exec))
        return fail("query executor: out of memory");
    amaters_exec_clean_stale_backups(rt->exec);
    amaters_health_set_component("storage", AMATERS_COMPONENT_UP, ops->name);
    return 0;
}

/* An HMAC secret anyone may know or guess lets anyone mint tokens with
 * any roles (admin included): warned, not refused (the reference example
 * configuration uses the published one and must load). RFC 7518 3.2: at
 * least the hash size. The secret itself is never logged. */
static void warn_weak_jwt_secret(const struct amaters_config *c)
{
    static const size_t need[] = {32, 48, 64}; /* HS256, HS384, HS512 */
    const char *sec = c->auth.jwt.secret;
    int alg = (int)c->auth.jwt.algorithm_id;

    if (!c->auth.enabled || !(c->auth.methods_mask & AMATERS_AUTH_METHOD_JWT) ||
        alg > AMATERS_JWT_HS512 || sec == NULL || sec[0] == '\0')
        return;
    if (strcmp(sec, "your-secret-key-change-this-in-production") == 0)
        amaters_log(AMATERS_LOG_WARN, "server",
                    "auth.jwt.secret is the published example secret: "
                    "anyone can sign tokens with any roles; set a random "
                    "secret (e.g. `openssl rand -base64 48`)");
    else if (strlen(sec) < need[alg])
        amaters_log(AMATERS_LOG_WARN, "server",
                    "auth.jwt.secret is %zu bytes, shorter than the %zu "
                    "that %s needs (RFC 7518 3.2): a short secret can be "
                    "guessed and then used to sign admin tokens; set a "
                    "random secret (e.g. `openssl rand -base64 48`)",
                    strlen(sec), need[alg], c->auth.jwt.algorithm);
}

/* Describes the limits for the start-up line: "off", or "on (...)". */
static void describe_limits(const struct amaters_config_limits *l,
                            char *buf, size_t len)
{
    char rps[40] = "", global[40] = "", calls[64] = "", all[160];

    if (l->rps)
        snprintf(rps, sizeof rps, ", %lld/s per client", (long long)l->rps);
    if (l->global_rps)
        snprintf(global, sizeof global, ", %lld/s in total",
                 (long long)l->global_rps);
    if (l->max_calls_per_client)
        snprintf(calls, sizeof calls, ", %lld calls in flight per client",
                 (long long)l->max_calls_per_client);
    snprintf(all, sizeof all, "%s%s%s", rps, global, calls);
    if (all[0] == '\0')
        snprintf(buf, len, "off");
    else
        snprintf(buf, len, "on (%s)", all + 2);
}

static int start_security(struct runtime *rt)
{
    const struct amaters_config *c = &rt->cfg;
    /* What the gate is built from: c with the audit path resolved (a
     * shallow copy; the gate copies what it keeps). */
    struct amaters_config gate_cfg = *c;
    char err[1024], audit_path[4200], limits[200];
    if (c->network.tls_enabled) {
        struct amaters_tls_options o = {
            .cert_path = c->network.tls_cert,
            .key_path = c->network.tls_key,
            .ca_path = c->network.tls_ca,
            .ca_dir = c->auth.mtls.ca_certs_dir,
            .require_client_cert = c->network.require_client_cert,
            .crl_path = c->auth.mtls.crl_path,
            .allowed_orgs =
                (const char *const *)c->auth.mtls.allowed_organizations,
            .n_allowed_orgs = c->auth.mtls.allowed_organizations_count,
            .ignore_cn = !c->auth.mtls.verify_cn,
        };
        if (amaters_tls_create(&o, &rt->tls, err, sizeof err))
            return fail("TLS: %s", err);
        rt->creds = amaters_tls_server_credentials(rt->tls);
        if (rt->creds == NULL)
            return fail("TLS: cannot create server credentials");
    }
    if (amaters_config_audit_path(c, audit_path, sizeof audit_path) == NULL)
        return fail("security: authz.audit_log_path is too long");
    gate_cfg.authz.audit_log_path = audit_path;
    if (c->auth.enabled || c->authz.enabled || c->authz.audit_enabled ||
        c->limits.rps || c->limits.global_rps ||
        c->limits.max_calls_per_client) {
        if (amaters_gate_create(&gate_cfg, rt->tls, &rt->gate, err,
                                sizeof err))
            return fail("security: %s", err);
    }
    warn_weak_jwt_secret(c);
    describe_limits(&c->limits, limits, sizeof limits);
    amaters_log(AMATERS_LOG_INFO, "server",
                "security: tls %s%s, authentication %s, authorization %s, "
                "audit %s%s, limits %s",
                c->network.tls_enabled ? "on" : "off",
                c->network.require_client_cert ? " (client certificates "
                                                 "required)"
                                               : "",
                c->auth.enabled ? "on" : "off",
                c->authz.enabled ? "on" : "off",
                c->authz.audit_enabled ? "on, to " : "off",
                c->authz.audit_enabled ? audit_path : "", limits);
    return 0;
}

/* Whether every address host (of "host:port", brackets allowed) resolves
 * to is a loopback address. A name that does not resolve counts as
 * loopback: gRPC's bind fails on it anyway. */
static bool loopback_only(const char *bind_address)
{
    char host[256];
    const char *colon = strrchr(bind_address, ':');
    size_t n = colon ? (size_t)(colon - bind_address) : 0;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    bool loop = true;

    if (n >= 2 && bind_address[0] == '[' && bind_address[n - 1] == ']') {
        bind_address++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof host)
        return n != 0; /* ":port": every interface */
    memcpy(host, bind_address, n);
    host[n] = '\0';
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return true;
    for (const struct addrinfo *ai = res; ai && loop; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            const struct sockaddr_in *a = (const void *)ai->ai_addr;
            loop = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
        } else if (ai->ai_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const void *)ai->ai_addr;
            loop = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
                   (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) &&
                    a->sin6_addr.s6_addr[12] == 127);
        }
    }
    freeaddrinfo(res);
    return loop;
}

/* Warns when anyone who can reach the gRPC address can use it: not
 * loopback only, no authentication, no required client certificate. */
static void warn_if_exposed(const struct amaters_config *c)
{
    const char *a = c->server.bind_address;

    if (c->auth.enabled ||
        (c->network.tls_enabled && c->network.require_client_cert) ||
        loopback_only(a))
        return;
    amaters_log(AMATERS_LOG_WARN, "server",
                "gRPC on %s (not a loopback address) has %s off: anyone "
                "who can reach %s can read and write all data (bind to "
                "127.0.0.1, or turn on auth.enabled)",
                a, c->network.tls_enabled ? "authentication"
                                          : "TLS and authentication", a);
}

/* The gRPC message limit: limits.max_message_bytes, raised when needed so
 * that a value of limits.max_value_bytes always fits in a request and in
 * its GET answer, with its key, collection, metadata and ids around it
 * (with both limits at their 64 MiB default, a value of exactly 64 MiB
 * could otherwise never be stored). */
static size_t message_limit(const struct amaters_config *cfg)
{
    size_t msg = (size_t)cfg->limits.max_message_bytes;
    size_t one = (size_t)cfg->limits.max_value_bytes +
                 (size_t)cfg->limits.max_key_bytes + ((size_t)64 << 10);
    size_t cap = 0x7fffffff; /* gRPC core's int */
    size_t lim = msg > one ? msg : one;
    return lim > cap ? cap : lim;
}

static int start_rpc(struct runtime *rt)
{
    char err[512];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    struct amaters_rpc_options o = {
        .bind_address = rt->cfg.server.bind_address,
        .workers = rt->cfg.server.worker_threads
                       ? (unsigned)rt->cfg.server.worker_threads
                       : (unsigned)(cpus > 0 ? cpus : 2),
        .max_message_bytes = message_limit(&rt->cfg),
        .max_batch_queries = (size_t)rt->cfg.limits.max_batch_queries,
        .keepalive_interval_secs =
            (unsigned)rt->cfg.network.keepalive_interval_secs,
        .connection_timeout_secs =
            (unsigned)rt->cfg.network.connection_timeout_secs,
        .default_timeout_ms = (uint32_t)rt->cfg.query.default_timeout_ms,
        .max_connections = (unsigned)rt->cfg.server.max_connections,
        .creds = rt->creds,
        .gate = rt->gate,
    };
    amaters_health_set_component("grpc", AMATERS_COMPONENT_DOWN, "starting");
    warn_if_exposed(&rt->cfg);
    if (amaters_rpc_start(&o, rt->exec, &rt->rpc, err, sizeof err))
        return fail("%s", err);
    const char *colon = strrchr(rt->cfg.server.bind_address, ':');
    int hostlen = colon ? (int)(colon - rt->cfg.server.bind_address) : 0;
    snprintf(rt->grpc_addr, sizeof rt->grpc_addr, "%.*s:%d", hostlen,
             rt->cfg.server.bind_address, amaters_rpc_port(rt->rpc));
    amaters_health_set_component("grpc", AMATERS_COMPONENT_UP,
                                 rt->grpc_addr);
    return 0;
}

static void *second_signal_main(void *arg)
{
    sigset_t *sigs = arg;
    int sig = 0;
    sigwait(sigs, &sig);
    amaters_log(AMATERS_LOG_WARN, "server",
                "second signal (%s) during shutdown: exiting now",
                signal_name(sig));
    if (g_rt && g_rt->pid_fd >= 0 &&
        !atomic_exchange(&g_rt->pid_removed, true))
        unlink(g_rt->pid_path);
    _exit(AMATERS_EXIT_ERROR);
}

/* Serves until SIGTERM or SIGINT; returns the signal. */
static int serve(struct runtime *rt)
{
    struct timespec tick = {1, 0};
    for (;;) {
        siginfo_t si;
        amaters_health_heartbeat();
        amaters_srv_snapshot_tick(rt);
        amaters_srv_storage_tick(rt);
        int sig = sigtimedwait(&rt->sigs, &si, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            return sig;
        if (sig == SIGHUP)
            amaters_srv_reload(rt);
    }
}

/* While shutdown drains, the main thread (which beats the liveness
 * heartbeat otherwise) is busy: this thread beats it every second until
 * told to stop, so /livez stays 200 for a process that is not wedged. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
} g_beat = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};

static void *shutdown_beat_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_beat.mu);
    while (!g_beat.stop) {
        struct timespec ts;

        amaters_health_heartbeat();
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&g_beat.cv, &g_beat.mu, &ts);
    }
    pthread_mutex_unlock(&g_beat.mu);
    return NULL;
}

static void shutdown_all(struct runtime *rt, int sig)
{
    uint64_t t0 = amaters_now_ns();
    pthread_t th, beat;
    bool beating;
    /* Static: the detached thread may outlive this frame. */
    static sigset_t second;

    /* queries refused before readiness says so: a client that saw the
     * 503 never gets a query executed afterwards */
    if (rt->rpc)
        amaters_rpc_refuse_new(rt->rpc);
    amaters_health_set_phase(AMATERS_PHASE_SHUTTING_DOWN);
    amaters_log(AMATERS_LOG_INFO, "server",
                "%s: shutting down (draining in-flight calls for up to %lld "
                "s)",
                signal_name(sig),
                (long long)rt->cfg.server.shutdown_timeout_secs);
    /* A SIGTERM or SIGINT that came with this one (or during start-up)
     * is not a second signal: only one sent from now on is. */
    while (take_stop_signal() != 0)
        ;
    sigemptyset(&second);
    sigaddset(&second, SIGTERM);
    sigaddset(&second, SIGINT);
    if (pthread_create(&th, NULL, second_signal_main, &second) == 0)
        pthread_detach(th);
    beating = pthread_create(&beat, NULL, shutdown_beat_main, NULL) == 0;
    /* Before the RPC layer waits for the calls in flight: a COMPACT
     * running in one of them stops now (its caller gets
     * SERVER_SHUTTING_DOWN) instead of holding the shutdown for minutes;
     * this may wait a moment for the compaction to notice (beat above). */
    amaters_engine_interrupt(rt->engine);
    if (rt->rpc) {
        long cancelled = amaters_rpc_stop(
            rt->rpc, (uint64_t)rt->cfg.server.shutdown_timeout_secs * 1000);
        rt->rpc = NULL;
        if (cancelled)
            amaters_log(AMATERS_LOG_WARN, "server",
                        "%ld call(s) cancelled at the shutdown deadline",
                        cancelled);
    }
    amaters_health_set_component("grpc", AMATERS_COMPONENT_DOWN, "stopped");
    if (rt->engine && rt->engine->ops->flush(rt->engine))
        amaters_log(AMATERS_LOG_ERROR, "server", "storage flush failed");
    if (beating) {
        pthread_mutex_lock(&g_beat.mu);
        g_beat.stop = true;
        pthread_cond_signal(&g_beat.cv);
        pthread_mutex_unlock(&g_beat.mu);
        pthread_join(beat, NULL);
    }
    amaters_log(AMATERS_LOG_INFO, "server", "shutdown complete in %llu ms",
                (unsigned long long)((amaters_now_ns() - t0) / 1000000));
}

/* The start-up was interrupted by a SIGTERM or SIGINT: nothing served;
 * what was opened is flushed here and closed by teardown. */
static void abort_startup(struct runtime *rt)
{
    amaters_health_set_phase(AMATERS_PHASE_SHUTTING_DOWN);
    amaters_log(AMATERS_LOG_INFO, "server",
                "start-up interrupted by %s: stopping without serving",
                signal_name(rt->interrupted));
    if (rt->rpc) { /* bound in the last step, never ready */
        amaters_rpc_stop(rt->rpc, 0);
        rt->rpc = NULL;
        amaters_health_set_component("grpc", AMATERS_COMPONENT_DOWN,
                                     "stopped");
    }
    if (rt->engine && rt->engine->ops->flush(rt->engine))
        amaters_log(AMATERS_LOG_ERROR, "server", "storage flush failed");
}

static void teardown(struct runtime *rt)
{
    if (rt->rpc)
        amaters_rpc_stop(rt->rpc, 0);
    /* before the executor and the engine go: a /metrics scrape reads them
     * through the collector (removal waits for a scrape in progress) */
    amaters_metrics_remove_collector(amaters_srv_collect_cb, rt);
    amaters_gate_free(rt->gate);
    if (rt->creds)
        grpc_server_credentials_release(rt->creds);
    amaters_tls_free(rt->tls);
    amaters_exec_destroy(rt->exec);
    amaters_engine_close(rt->engine);
    amaters_health_set_phase(AMATERS_PHASE_STOPPED);
    amaters_http_stop(rt->http);
    amaters_srv_release_pid_file(rt);
    amaters_config_free(&rt->cfg);
    amaters_log_shutdown();
    amaters_srv_unlock_data_dir(rt);
}

/* Writes the absolute form of path (whose directory exists) into buf;
 * path itself when that fails. */
static void absolute(const char *path, char *buf, size_t len)
{
    char dir[4096], real[4096];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;

    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1,
             slash ? path : ".");
    if (slash == path)
        snprintf(dir, sizeof dir, "/");
    if (realpath(dir, real) == NULL)
        snprintf(buf, len, "%s", path);
    else
        snprintf(buf, len, "%s%s%s", real, strcmp(real, "/") ? "/" : "",
                 base);
}

/* Logs where the configuration, the data and the PID file are. */
static int log_starting(struct runtime *rt)
{
    char conf[4096], pid[4200];
    const char *c = rt->cli->config_path;

    if (c)
        absolute(c, conf, sizeof conf);
    amaters_config_pid_path(&rt->cfg, rt->pid_path, sizeof rt->pid_path);
    absolute(rt->pid_path, pid, sizeof pid);
    amaters_log(AMATERS_LOG_INFO, "server",
                "amaters-server %s starting: configuration %s, data "
                "directory %s, PID file %s",
                amaters_server_version(), c ? conf : "built-in defaults",
                rt->data_dir, pid);
    return 0;
}

static int begin_health(struct runtime *rt)
{
    (void)rt;
    amaters_health_set_version(amaters_server_version());
    amaters_health_set_phase(AMATERS_PHASE_STARTING);
    amaters_srv_register_build_info();
    return 0;
}

static int start_http_step(struct runtime *rt)
{
    if (start_http(rt))
        return -1;
    amaters_srv_write_pid_file(rt); /* status can ask /health now */
    return 0;
}

static int start_storage_step(struct runtime *rt)
{
    if (start_storage(rt))
        return -1;
    /* after start_storage: the HTTP thread reads rt->exec through it */
    amaters_metrics_add_collector(amaters_srv_collect_cb, rt);
    return 0;
}

static int init_logging_step(struct runtime *rt)
{
    return init_logging(&rt->cfg);
}

/* The start-up, in order. Between two steps a pending SIGTERM or SIGINT
 * ends it (signals are blocked: one that comes during a step waits for
 * the step to finish). */
static int (*const start_steps[])(struct runtime *) = {
    check_supported,          amaters_srv_prepare_data_dir,
    amaters_srv_lock_data_dir, init_logging_step,
    log_starting,             amaters_srv_take_pid_file,
    begin_health,             start_http_step,
    start_security,           start_storage_step,
    start_rpc,
};

/* Returns 0 when serving, -1 on a start-up error, 1 when a signal
 * interrupted the start-up (rt->interrupted). */
static int start_everything(struct runtime *rt)
{
    for (size_t i = 0; i < sizeof start_steps / sizeof start_steps[0]; i++) {
        if (start_steps[i](rt))
            return -1;
        rt->interrupted = take_stop_signal();
        if (rt->interrupted)
            return 1;
    }
    amaters_srv_write_pid_file(rt);
    amaters_health_set_phase(AMATERS_PHASE_SERVING);
    amaters_log(AMATERS_LOG_INFO, "server",
                "amaters-server %s serving gRPC on %s, health/metrics on %s, "
                "engine %s, data in %s",
                amaters_server_version(), rt->grpc_addr, rt->http_addr,
                rt->cfg.storage.engine, rt->data_dir);
    return 0;
}

int amaters_cmd_start(const struct amaters_cli *cli)
{
    struct runtime rt = {.cli = cli, .pid_fd = -1, .lock_fd = -1,
                         .started_ns = amaters_now_ns()};
    int rc;

    atomic_init(&rt.pid_removed, false);
    if (amaters_server_load_config(cli, &rt.cfg)) {
        amaters_config_free(&rt.cfg);
        return AMATERS_EXIT_ERROR;
    }
    if (cli->generate_config) {
        amaters_config_dump_toml(&rt.cfg, stdout);
        amaters_config_free(&rt.cfg);
        return AMATERS_EXIT_OK;
    }
    /* Block the signals before any thread exists. */
    sigemptyset(&rt.sigs);
    sigaddset(&rt.sigs, SIGTERM);
    sigaddset(&rt.sigs, SIGINT);
    sigaddset(&rt.sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &rt.sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    g_rt = &rt;
    amaters_rpc_global_init();
    rc = start_everything(&rt);
    if (rc == 0)
        shutdown_all(&rt, serve(&rt));
    else if (rc > 0)
        abort_startup(&rt);
    teardown(&rt);
    amaters_rpc_global_shutdown();
    g_rt = NULL;
    return rc < 0 ? AMATERS_EXIT_ERROR : AMATERS_EXIT_OK;
}
