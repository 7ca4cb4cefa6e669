/*
 * lifecycle.c - the start command: refuse what this build cannot honour,
 * create the data directory, bring up logging, take the PID file, start
 * HTTP health/metrics, storage, the executor and gRPC; serve until
 * SIGTERM/SIGINT, logging a metrics snapshot every
 * metrics.export_interval_secs; then drain and shut down in order
 * (NOT_SERVING, stop accepting, drain in-flight calls bounded by
 * shutdown_timeout_secs, flush and close storage, remove the PID file).
 * A second SIGTERM/SIGINT during shutdown exits at once. SIGHUP re-reads
 * the configuration file and applies logging.level, authz.default_role,
 * authz.default_mode and the roles file (other changes need a restart),
 * and reopens the audit log so that it can be rotated.
 *
 * Signals are blocked in every thread (the mask is set before any thread
 * exists) and taken synchronously by the main thread with sigtimedwait,
 * so no work happens in a signal handler.
 */
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
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

struct runtime {
    const struct amaters_cli *cli;
    struct amaters_config cfg;
    char pid_path[4096];
    int pid_fd;
    struct amaters_http *http;
    struct amaters_engine *engine;
    struct amaters_exec *exec;
    struct amaters_rpc *rpc;
    struct amaters_tls *tls;
    grpc_server_credentials *creds;
    struct amaters_gate *gate;
    sigset_t sigs;
    char grpc_addr[300], http_addr[300];
    uint64_t started_ns;
    uint64_t snapshot_due_ns; /* next metrics snapshot; main thread only */
};

static struct runtime *g_rt; /* for the second-signal thread only */

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "amaters-server: %s\n", msg);
    amaters_log(AMATERS_LOG_ERROR, "server", "start-up failed: %s", msg);
    return -1;
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            return -1;
        buf[i] = saved;
    }
    return 0;
}

static int check_data_dir(const char *dir)
{
    char probe[4200];
    if (mkdir_p(dir) != 0)
        return fail("data directory %s cannot be created: %s", dir,
                    strerror(errno));
    snprintf(probe, sizeof probe, "%s/.amaters-write-probe", dir);
    int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return fail("data directory %s is not writable: %s", dir,
                    strerror(errno));
    close(fd);
    unlink(probe);
    return 0;
}

static int check_supported(const struct amaters_config *cfg)
{
    char why[512];

    if (amaters_server_check_supported(cfg, why, sizeof why))
        return fail("%s", why);
    return 0;
}

static int take_pid_file(struct runtime *rt)
{
    long other = 0;
    amaters_config_pid_path(&rt->cfg, rt->pid_path, sizeof rt->pid_path);
    rt->pid_fd = open(rt->pid_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (rt->pid_fd < 0)
        return fail("PID file %s cannot be opened: %s", rt->pid_path,
                    strerror(errno));
    if (flock(rt->pid_fd, LOCK_EX | LOCK_NB) != 0) {
        amaters_pidfile_read(rt->pid_path, &other, NULL, NULL, 0);
        close(rt->pid_fd);
        rt->pid_fd = -1;
        return fail("another amaters-server (pid %ld) is running with PID "
                    "file %s",
                    other, rt->pid_path);
    }
    return 0;
}

static void write_pid_file(struct runtime *rt)
{
    char buf[800];
    int n = snprintf(buf, sizeof buf, "%ld\ngrpc=%s\nhttp=%s\n",
                     (long)getpid(), rt->grpc_addr, rt->http_addr);
    if (ftruncate(rt->pid_fd, 0) != 0 ||
        pwrite(rt->pid_fd, buf, (size_t)n, 0) != n)
        amaters_log(AMATERS_LOG_WARN, "server", "cannot write PID file %s: %s",
                    rt->pid_path, strerror(errno));
    fsync(rt->pid_fd);
}

static void release_pid_file(struct runtime *rt)
{
    if (rt->pid_fd < 0)
        return;
    unlink(rt->pid_path);
    close(rt->pid_fd);
    rt->pid_fd = -1;
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

/* Write-path health of the engine (write stalls and what causes them). */
static void collect_write_health(const struct amaters_engine_stats *st)
{
    static struct amaters_metric *stall, *stopped, *rate, *debt, *imm;
    double now;

    if (stall == NULL) {
        stall = amaters_metrics_simple(
            AMATERS_METRIC_COUNTER, "amaters_storage_write_stall_seconds_total",
            "Time the storage engine slowed down or stopped writes (RocksDB "
            "write stalls)");
        stopped = amaters_metrics_simple(
            AMATERS_METRIC_GAUGE, "amaters_storage_write_stopped",
            "1 while the storage engine stops writes until compaction or "
            "flushes catch up");
        rate = amaters_metrics_simple(
            AMATERS_METRIC_GAUGE, "amaters_storage_delayed_write_rate_bytes",
            "Bytes per second writes are held to while slowed down; 0 when "
            "not slowed");
        debt = amaters_metrics_simple(
            AMATERS_METRIC_GAUGE, "amaters_storage_pending_compaction_bytes",
            "Estimated bytes compaction must rewrite to reach its targets");
        imm = amaters_metrics_simple(
            AMATERS_METRIC_GAUGE, "amaters_storage_immutable_memtables",
            "Full memtables waiting to be flushed to disk");
    }
    now = (double)st->write_stall_us / 1e6;
    if (stall && now > amaters_metric_value(stall))
        amaters_counter_add(stall, now - amaters_metric_value(stall));
    amaters_gauge_set(stopped, (double)st->write_stopped);
    amaters_gauge_set(rate, (double)st->delayed_write_rate);
    amaters_gauge_set(debt, (double)st->pending_compaction_bytes);
    amaters_gauge_set(imm, (double)st->immutable_memtables);
}

/* Audit records dropped (queue full), when an audit log is open. */
static void collect_audit(void)
{
    static struct amaters_metric *dropped;
    size_t n_open = 0;
    double now = (double)amaters_audit_dropped_all(&n_open);

    if (n_open == 0)
        return;
    if (dropped == NULL)
        dropped = amaters_metrics_simple(
            AMATERS_METRIC_COUNTER, "amaters_audit_records_dropped_total",
            "Audit records dropped because the audit queue was full (or "
            "memory ran out)");
    if (dropped && now > amaters_metric_value(dropped))
        amaters_counter_add(dropped, now - amaters_metric_value(dropped));
}

static void collect_cb(void *arg)
{
    struct runtime *rt = arg;
    static struct amaters_metric *keys, *bytes, *up;
    struct amaters_engine_stats st;
    if (keys == NULL) {
        keys = amaters_metrics_simple(AMATERS_METRIC_GAUGE,
                                      "amaters_keys_stored",
                                      "Keys stored in all collections");
        bytes = amaters_metrics_simple(AMATERS_METRIC_GAUGE,
                                       "amaters_bytes_stored",
                                       "Key and value bytes stored");
        up = amaters_metrics_simple(AMATERS_METRIC_GAUGE,
                                    "amaters_uptime_seconds",
                                    "Seconds since the server started");
    }
    if (rt->exec && amaters_exec_engine_stats(rt->exec, &st) == 0) {
        amaters_gauge_set(keys, (double)st.key_count);
        amaters_gauge_set(bytes, (double)st.data_bytes);
        collect_write_health(&st);
    }
    amaters_gauge_set(up, (double)(amaters_now_ns() - rt->started_ns) / 1e9);
    collect_audit();
}

static void register_build_info(void)
{
    static const char *const labels[] = {"version", "protocol"};
    const char *values[] = {amaters_server_version(), "0.2.0"};
    struct amaters_metric_family *f = amaters_metrics_family(
        AMATERS_METRIC_GAUGE, "amaters_build_info",
        "Build information (always 1)", labels, 2, NULL, 0);
    struct amaters_metric *m = f ? amaters_metric_child(f, values) : NULL;
    if (m)
        amaters_gauge_set(m, 1);
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
        return fail("health/metrics HTTP: %s", err);
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
    if (rc == AMATERS_ECORRUPT && strstr(err, "amaters-server repair") == NULL &&
        strstr(err, "/FORMAT") == NULL)
        return fail("storage engine %s: %s. The data directory is damaged: "
                    "`amaters-server repair` rebuilds it (it keeps a copy of "
                    "the damaged files)", ops->name, err);
    if (rc != 0)
        return fail("storage engine %s: %s", ops->name, err);
    char backups[4200];
    snprintf(backups, sizeof backups, "%s/backups", rt->cfg.server.data_dir);
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
    amaters_health_set_component("storage", AMATERS_COMPONENT_UP, ops->name);
    return 0;
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
            .allowed_orgs = (const char *const *)c->auth.mtls.allowed_organizations,
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

static int start_rpc(struct runtime *rt)
{
    char err[512];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    struct amaters_rpc_options o = {
        .bind_address = rt->cfg.server.bind_address,
        .workers = rt->cfg.server.worker_threads
                       ? (unsigned)rt->cfg.server.worker_threads
                       : (unsigned)(cpus > 0 ? cpus : 2),
        .max_message_bytes = (size_t)rt->cfg.limits.max_message_bytes,
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
                strsignal(sig));
    if (g_rt && g_rt->pid_fd >= 0)
        unlink(g_rt->pid_path);
    _exit(AMATERS_EXIT_ERROR);
}

/* How long SIGHUP waits for the audit writer to switch files: the main
 * thread also beats the liveness heartbeat and handles SIGTERM. */
#define AUDIT_REOPEN_WAIT_MS 2000

/* SIGHUP: reopens the audit log at its configured path, so that a file
 * moved aside by log rotation is replaced by a new one. */
static void reopen_audit(const struct runtime *rt)
{
    char path[4200];
    size_t n_open = 0;
    int rc = amaters_audit_reopen_all(&n_open, AUDIT_REOPEN_WAIT_MS);

    if (amaters_config_audit_path(&rt->cfg, path, sizeof path) == NULL)
        snprintf(path, sizeof path, "(authz.audit_log_path)");
    if (n_open == 0)
        amaters_log(AMATERS_LOG_DEBUG, "server",
                    "SIGHUP: no audit log to reopen");
    else if (rc == 0)
        amaters_log(AMATERS_LOG_INFO, "server",
                    "SIGHUP: audit log %s reopened", path);
    else if (rc == AMATERS_ETIMEOUT)
        amaters_log(AMATERS_LOG_WARN, "server",
                    "SIGHUP: audit log %s not reopened within %d ms (slow "
                    "disk?); it will be when its writer gets to it",
                    path, AUDIT_REOPEN_WAIT_MS);
    else
        amaters_log(AMATERS_LOG_WARN, "server",
                    "SIGHUP: audit log %s cannot be reopened; records still "
                    "go to the file that was open",
                    path);
}

/* SIGHUP: reopens the audit log, then re-reads the configuration and
 * applies what can change while running (logging.level,
 * authz.default_role, authz.default_mode and the roles file); anything
 * else that changed is reported as needing a restart and nothing is
 * applied. */
static void reload_config(struct runtime *rt)
{
    struct amaters_config fresh;
    enum amaters_log_level lvl;
    const char *changed[32];
    char err[512];

    reopen_audit(rt);
    if (amaters_server_load_config(rt->cli, &fresh) != 0) {
        amaters_log(AMATERS_LOG_WARN, "server",
                    "SIGHUP: configuration not reloaded (invalid)");
        goto out;
    }
    if (amaters_config_check_reload(&rt->cfg, &fresh, err, sizeof err)) {
        amaters_log(AMATERS_LOG_WARN, "server",
                    "SIGHUP: configuration not reloaded: %s", err);
        goto out;
    }
    size_t n = amaters_config_diff_all(&rt->cfg, &fresh, changed, 32);
    if (n > 32)
        n = 32;
    if (rt->gate &&
        amaters_gate_reload(rt->gate, &fresh, changed, n, err, sizeof err)) {
        amaters_log(AMATERS_LOG_WARN, "server",
                    "SIGHUP: configuration not reloaded: %s", err);
        goto out;
    }
    if (amaters_log_parse_level(fresh.logging.level, &lvl) == 0)
        amaters_log_set_level(lvl);
    for (size_t i = 0; i < n; i++)
        amaters_log(AMATERS_LOG_INFO, "server", "SIGHUP: %s reloaded",
                    changed[i]);
    if (n == 0)
        amaters_log(AMATERS_LOG_INFO, "server",
                    "SIGHUP: configuration unchanged");
    /* Keep the applied values so the next reload compares against them
     * (the reloadable keys are not referenced by running components). */
    struct amaters_config tmp = rt->cfg;
    rt->cfg = fresh;
    fresh = tmp;
out:
    amaters_config_free(&fresh);
}

/* metrics.export_interval_secs: one INFO line of key figures. */
static void log_snapshot(const struct runtime *rt)
{
    struct amaters_engine_stats st;
    char audit[64] = "";
    size_t n_audit = 0;
    uint64_t dropped = amaters_audit_dropped_all(&n_audit);

    if (rt->exec == NULL || amaters_exec_engine_stats(rt->exec, &st) != 0)
        memset(&st, 0, sizeof st);
    if (n_audit > 0)
        snprintf(audit, sizeof audit, " audit_records_dropped=%llu",
                 (unsigned long long)dropped);
    amaters_log(AMATERS_LOG_INFO, "server",
                "metrics snapshot: uptime_secs=%llu keys_stored=%llu "
                "bytes_stored=%llu grpc_calls=%.0f grpc_errors=%.0f%s",
                (unsigned long long)((amaters_now_ns() - rt->started_ns) /
                                     1000000000u),
                (unsigned long long)st.key_count,
                (unsigned long long)st.data_bytes,
                amaters_metrics_sum("amaters_grpc_requests_total", NULL,
                                    NULL),
                amaters_metrics_sum("amaters_grpc_requests_total",
                                    "outcome", "ok"),
                audit);
}

/* Logs a snapshot when one is due (checked on every tick of serve). */
static void snapshot_tick(struct runtime *rt)
{
    uint64_t period =
        (uint64_t)rt->cfg.metrics.export_interval_secs * 1000000000u;
    uint64_t now = amaters_now_ns();

    if (!rt->cfg.metrics.enabled)
        return;
    if (rt->snapshot_due_ns == 0) {
        rt->snapshot_due_ns = now + period;
        return;
    }
    if (now < rt->snapshot_due_ns)
        return;
    log_snapshot(rt);
    rt->snapshot_due_ns += period;
    if (rt->snapshot_due_ns <= now)
        rt->snapshot_due_ns = now + period;
}

/* Serves until SIGTERM or SIGINT; returns the signal. */
static int serve(struct runtime *rt)
{
    struct timespec tick = {1, 0};
    for (;;) {
        siginfo_t si;
        amaters_health_heartbeat();
        snapshot_tick(rt);
        int sig = sigtimedwait(&rt->sigs, &si, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            return sig;
        if (sig == SIGHUP)
            reload_config(rt);
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

    amaters_health_set_phase(AMATERS_PHASE_SHUTTING_DOWN);
    amaters_log(AMATERS_LOG_INFO, "server",
                "%s: shutting down (draining in-flight calls for up to %lld "
                "s)",
                strsignal(sig), (long long)rt->cfg.server.shutdown_timeout_secs);
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

static void teardown(struct runtime *rt)
{
    if (rt->rpc)
        amaters_rpc_stop(rt->rpc, 0);
    /* before the executor and the engine go: a /metrics scrape reads them
     * through collect_cb (removal waits for a scrape in progress) */
    amaters_metrics_remove_collector(collect_cb, rt);
    amaters_gate_free(rt->gate);
    if (rt->creds)
        grpc_server_credentials_release(rt->creds);
    amaters_tls_free(rt->tls);
    amaters_exec_destroy(rt->exec);
    amaters_engine_close(rt->engine);
    amaters_health_set_phase(AMATERS_PHASE_STOPPED);
    amaters_http_stop(rt->http);
    release_pid_file(rt);
    amaters_config_free(&rt->cfg);
    amaters_log_shutdown();
}

static int start_everything(struct runtime *rt)
{
    if (check_supported(&rt->cfg) ||
        check_data_dir(rt->cfg.server.data_dir) || init_logging(&rt->cfg) ||
        take_pid_file(rt))
        return -1;
    amaters_health_set_version(amaters_server_version());
    amaters_health_set_phase(AMATERS_PHASE_STARTING);
    register_build_info();
    if (start_http(rt) || start_security(rt) || start_storage(rt))
        return -1;
    /* after start_storage: the HTTP thread reads rt->exec through it */
    amaters_metrics_add_collector(collect_cb, rt);
    if (start_rpc(rt))
        return -1;
    write_pid_file(rt);
    amaters_health_set_phase(AMATERS_PHASE_SERVING);
    amaters_log(AMATERS_LOG_INFO, "server",
                "amaters-server %s serving gRPC on %s, health/metrics on %s, "
                "engine %s, data in %s",
                amaters_server_version(), rt->grpc_addr, rt->http_addr,
                rt->cfg.storage.engine, rt->cfg.server.data_dir);
    return 0;
}

int amaters_cmd_start(const struct amaters_cli *cli)
{
    struct runtime rt = {.cli = cli, .pid_fd = -1,
                         .started_ns = amaters_now_ns()};
    int rc;

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
    teardown(&rt);
    amaters_rpc_global_shutdown();
    g_rt = NULL;
    return rc ? AMATERS_EXIT_ERROR : AMATERS_EXIT_OK;
}
