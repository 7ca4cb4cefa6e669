/*
 * stats.c - the server's own metrics: storage figures (keys, bytes, write
 * stalls), dropped audit records and uptime, refreshed by a collector on
 * each /metrics scrape; the amaters_build_info gauge; and the metrics
 * snapshot line logged every metrics.export_interval_secs.
 */
#include "server/runtime.h"

#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"
#include "obs/health.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "query/query.h"
#include "security/audit.h"
#include "storage/engine.h"

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

void amaters_srv_collect_cb(void *arg)
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

void amaters_srv_register_build_info(void)
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

void amaters_srv_storage_tick(struct runtime *rt)
{
    struct amaters_engine_stats st;
    char msg[sizeof st.write_error + 64]; /* health cuts it to 255 */

    if (rt->storage_failed || rt->exec == NULL ||
        amaters_exec_engine_stats(rt->exec, &st) != 0 || !st.write_failed)
        return;
    rt->storage_failed = true;
    snprintf(msg, sizeof msg,
             "writes fail until restart: %s", st.write_error);
    amaters_health_set_component("storage", AMATERS_COMPONENT_DEGRADED, msg);
}

/* Logs a snapshot when one is due (checked on every tick of serve). */
void amaters_srv_snapshot_tick(struct runtime *rt)
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
