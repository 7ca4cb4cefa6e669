/*
 * codec.c - bytes <-> protobuf-c messages for the gRPC front end, error
 * responses, deadlines, and the request metrics.
 *
 * Requests are unpacked with an allocator that carves from the call's
 * arena, so a decoded request and everything built from it are released
 * together when the call ends. Responses are packed into one buffer that a
 * gRPC slice takes over (no second copy of large values).
 */
#include "rpc/internal.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/errors.h"
#include "core/timeutil.h"
#include "obs/metrics.h"
#include "query/errmap.h"

static void *arena_pb_alloc(void *data, size_t size)
{
    return amaters_arena_alloc(data, size);
}

static void arena_pb_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

static int check_wire(struct rcall *c, const ProtobufCMessageDescriptor *d,
                      const uint8_t *buf, size_t len, size_t max_top)
{
    static const struct rpc_wire_limits lim = {
        RPC_WIRE_MAX_DEPTH, RPC_WIRE_MAX_UNKNOWN, RPC_WIRE_MAX_OVERHEAD};
    struct rpc_wire_stats st;
    char why[160];
    int rc = rpc_wire_check(d, buf, len, &lim, &st, why, sizeof why);

    /* a batch over its query limit gets the query module's message,
     * whether or not it would also be too large to decode */
    if (max_top && st.complete && st.top_level_repeated > max_top)
        return amaters_qctx_fail(&c->qctx, AMATERS_ETOOBIG,
                                 "batch has %zu queries; the limit is %zu",
                                 st.top_level_repeated, max_top);
    if (rc == AMATERS_EPARSE)
        return amaters_qctx_fail(&c->qctx, rc,
                                 "malformed request: not a valid %s "
                                 "message: %s",
                                 d->name, why);
    if (rc)
        return amaters_qctx_fail(&c->qctx, rc, "%s", why);
    return 0;
}

/* Keeps the request_id of a request that failed to decode, if its
 * top-level framing yields one (the answer echoes it). */
static void salvage_request_id(struct rcall *c,
                               const ProtobufCMessageDescriptor *d,
                               const uint8_t *buf, size_t len)
{
    const uint8_t *id = NULL;
    size_t n = 0;
    if (rpc_wire_top_string(d, buf, len, "request_id", &id, &n))
        c->salvaged_request_id =
            n > INT_MAX ? NULL
                        : amaters_arena_printf(c->arena, "%.*s", (int)n,
                                               (const char *)id);
}

int rpc_decode(struct rcall *c, grpc_byte_buffer *bb,
               const ProtobufCMessageDescriptor *d, size_t max_top_repeated,
               ProtobufCMessage **out)
{
    grpc_byte_buffer_reader rd;
    grpc_slice s;
    ProtobufCAllocator a = {arena_pb_alloc, arena_pb_free, c->arena};
    int rc;

    *out = NULL;
    c->salvaged_request_id = NULL;
    if (bb == NULL)
        return amaters_qctx_fail(&c->qctx, AMATERS_EINVAL,
                                 "the call carried no request message");
    if (!grpc_byte_buffer_reader_init(&rd, bb))
        return amaters_qctx_fail(&c->qctx, AMATERS_EPARSE,
                                 "cannot read the request message");
    s = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    size_t len = GRPC_SLICE_LENGTH(s);
    rpc_metrics_request_bytes(len);
    rc = check_wire(c, d, GRPC_SLICE_START_PTR(s), len, max_top_repeated);
    if (rc == 0)
        *out = protobuf_c_message_unpack(d, &a, len, GRPC_SLICE_START_PTR(s));
    if (rc || *out == NULL)
        salvage_request_id(c, d, GRPC_SLICE_START_PTR(s), len);
    grpc_slice_unref(s);
    if (rc)
        return rc;
    if (*out == NULL)
        return amaters_qctx_fail(&c->qctx, AMATERS_EPARSE,
                                 "malformed request: %zu bytes are not a "
                                 "valid %s message",
                                 len, d->name);
    return 0;
}

static void free_packed(void *p)
{
    amaters_free(p);
}

grpc_byte_buffer *rpc_encode(const ProtobufCMessage *m, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = amaters_malloc(n ? n : 1);
    if (buf == NULL)
        return NULL;
    protobuf_c_message_pack(m, buf);
    grpc_slice s = grpc_slice_new(buf, n, free_packed);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    *len = n;
    rpc_metrics_response_bytes(n);
    return bb;
}

void rpc_set_deadline(struct rcall *c, bool has_timeout, uint32_t timeout_ms)
{
    uint64_t now = amaters_now_ns();
    uint64_t best = 0;
    uint32_t dflt = c->rpc->opts.default_timeout_ms;

    if (!has_timeout && dflt)
        timeout_ms = dflt, has_timeout = true;
    if (has_timeout && timeout_ms)
        best = now + (uint64_t)timeout_ms * 1000000ull;
    gpr_timespec d = gpr_convert_clock_type(c->deadline, GPR_CLOCK_MONOTONIC);
    gpr_timespec n = gpr_now(GPR_CLOCK_MONOTONIC);
    if (gpr_time_cmp(d, gpr_inf_future(GPR_CLOCK_MONOTONIC)) != 0 &&
        c->deadline.tv_sec != 0) {
        gpr_timespec left = gpr_time_sub(d, n);
        int64_t left_ns = left.tv_sec * 1000000000ll + left.tv_nsec;
        uint64_t g = left_ns > 0 ? now + (uint64_t)left_ns : now;
        if (best == 0 || g < best)
            best = g;
    }
    c->qctx.deadline_ns = best;
}

/* The call's own ErrorResponse, for when the arena is exhausted: the
 * answer still carries its `error` oneof. */
static Amaters__Errors__ErrorResponse *fallback_error(
    struct rcall *c, const struct amaters_wire_error *w)
{
    Amaters__Errors__ErrorResponse *e = &c->err_fallback;
    amaters__errors__error_response__init(e);
    e->code = (Amaters__Errors__ErrorCode)w->code;
    e->category = (Amaters__Errors__ErrorCategory)w->category;
    e->message = (char *)"out of memory building the error";
    return e;
}

Amaters__Errors__ErrorResponse *rpc_error(struct rcall *c, int rc,
                                          const char *prefix)
{
    struct amaters_wire_error w = amaters_errmap(rc);
    Amaters__Errors__ErrorResponse *e =
        amaters_arena_alloc(c->arena, sizeof *e);
    if (e == NULL)
        return fallback_error(c, &w);
    amaters__errors__error_response__init(e);
    e->code = (Amaters__Errors__ErrorCode)w.code;
    e->category = (Amaters__Errors__ErrorCategory)w.category;
    const char *msg = c->qctx.err[0] ? c->qctx.err : amaters_strerror(rc);
    e->message = prefix ? amaters_arena_printf(c->arena, "%s%s", prefix, msg)
                        : amaters_arena_memdup(c->arena, msg, strlen(msg));
    if (e->message == NULL)
        return fallback_error(c, &w);
    if (w.retry_after) {
        e->_retry_after_case = AMATERS__ERRORS__ERROR_RESPONSE___RETRY_AFTER_RETRY_AFTER;
        e->retry_after = w.retry_after;
    }
    return e;
}

void rpc_send_status(struct rcall *c, grpc_status_code st, const char *msg,
                     struct rtag *tag)
{
    grpc_op ops[3];
    size_t n = 0;
    grpc_slice details = grpc_slice_from_copied_string(msg ? msg : "");
    memset(ops, 0, sizeof ops);
    if (!c->sent_initial) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        c->sent_initial = true;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = st;
    ops[n].data.send_status_from_server.status_details = &details;
    n++;
    if (tag == &c->t_done) {
        ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
        ops[n].data.recv_close_on_server.cancelled = &c->cancelled;
        n++;
    }
    rpc_start_batch(c, ops, n, tag);
    grpc_slice_unref(details);
}

/* ---- metrics ---- */

static struct amaters_metric_family *f_requests, *f_req_dur, *f_queries,
    *f_query_dur;
static void cache_ok_series(void);
static struct amaters_metric *m_bytes_in, *m_bytes_out, *m_active;

void rpc_metrics_init(void)
{
    static const char *const req_labels[] = {"method", "outcome"};
    static const char *const dur_labels[] = {"method"};
    static const char *const q_labels[] = {"kind", "outcome"};
    static const char *const qd_labels[] = {"kind"};
    f_requests = amaters_metrics_family(
        AMATERS_METRIC_COUNTER, "amaters_grpc_requests_total",
        "gRPC calls by method and outcome (ok or the wire error name)",
        req_labels, 2, NULL, 0);
    f_req_dur = amaters_metrics_family(
        AMATERS_METRIC_HISTOGRAM, "amaters_grpc_request_duration_seconds",
        "gRPC call latency by method", dur_labels, 1, amaters_latency_buckets,
        amaters_latency_buckets_count);
    f_queries = amaters_metrics_family(
        AMATERS_METRIC_COUNTER, "amaters_queries_total",
        "Queries executed by kind and outcome", q_labels, 2, NULL, 0);
    f_query_dur = amaters_metrics_family(
        AMATERS_METRIC_HISTOGRAM, "amaters_query_duration_seconds",
        "Query latency by kind", qd_labels, 1, amaters_latency_buckets,
        amaters_latency_buckets_count);
    m_bytes_in = amaters_metrics_simple(AMATERS_METRIC_COUNTER,
                                        "amaters_grpc_received_bytes_total",
                                        "Request message bytes received");
    m_bytes_out = amaters_metrics_simple(AMATERS_METRIC_COUNTER,
                                         "amaters_grpc_sent_bytes_total",
                                         "Response message bytes sent");
    m_active = amaters_metrics_simple(AMATERS_METRIC_GAUGE,
                                      "amaters_grpc_active_calls",
                                      "gRPC calls in flight");
    cache_ok_series();
}

const char *rpc_outcome(int rc)
{
    if (rc == 0)
        return "ok";
    struct amaters_wire_error w = amaters_errmap(rc);
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &amaters__errors__error_code__descriptor, w.code);
    return v ? v->name : "ERROR_UNKNOWN";
}

/* Series of the "ok" outcome, resolved once at start-up: the hot path
 * then skips the registry's lock and search. */
static const char *const query_kinds[] = {"get",    "set",   "delete",
                                          "range",  "filter", "update",
                                          "batch",  "stream", "unknown"};
#define NKINDS (sizeof query_kinds / sizeof query_kinds[0])
static struct amaters_metric *ok_req[M_COUNT + 1], *ok_req_dur[M_COUNT + 1];
static struct amaters_metric *ok_query[NKINDS], *ok_query_dur[NKINDS];

static void cache_ok_series(void)
{
    for (int m = 0; m <= M_COUNT; m++) {
        const char *labels[] = {amaters_rpc_method_names[m], "ok"};
        ok_req[m] = amaters_metric_child(f_requests, labels);
        ok_req_dur[m] = amaters_metric_child(f_req_dur, labels);
    }
    for (size_t k = 0; k < NKINDS; k++) {
        const char *labels[] = {query_kinds[k], "ok"};
        ok_query[k] = amaters_metric_child(f_queries, labels);
        ok_query_dur[k] = amaters_metric_child(f_query_dur, labels);
    }
}

static void observe(struct amaters_metric *count, struct amaters_metric *dur,
                    uint64_t started_ns)
{
    double secs = (double)(amaters_now_ns() - started_ns) / 1e9;
    if (count)
        amaters_counter_add(count, 1);
    if (dur)
        amaters_histogram_observe(dur, secs);
}

void rpc_metrics_request(enum method m, const char *outcome,
                         uint64_t started_ns, size_t in, size_t out)
{
    (void)in;
    (void)out;
    if (strcmp(outcome, "ok") == 0) {
        observe(ok_req[m], ok_req_dur[m], started_ns);
        return;
    }
    const char *labels[] = {amaters_rpc_method_names[m], outcome};
    observe(amaters_metric_child(f_requests, labels),
            amaters_metric_child(f_req_dur, labels), started_ns);
}

void rpc_metrics_query(const char *kind, const char *outcome,
                       uint64_t started_ns)
{
    if (strcmp(outcome, "ok") == 0) {
        for (size_t k = 0; k < NKINDS; k++) {
            if (strcmp(kind, query_kinds[k]) == 0) {
                observe(ok_query[k], ok_query_dur[k], started_ns);
                return;
            }
        }
    }
    const char *labels[] = {kind, outcome};
    observe(amaters_metric_child(f_queries, labels),
            amaters_metric_child(f_query_dur, labels), started_ns);
}

void rpc_metrics_request_bytes(size_t n)
{
    if (m_bytes_in)
        amaters_counter_add(m_bytes_in, (double)n);
}

void rpc_metrics_response_bytes(size_t n)
{
    if (m_bytes_out)
        amaters_counter_add(m_bytes_out, (double)n);
}

void rpc_metrics_active(long n)
{
    if (m_active)
        amaters_gauge_set(m_active, (double)n);
}

void rpc_send_status_retry(struct rcall *c, grpc_status_code st,
                           const char *msg, uint32_t retry_after)
{
    grpc_op ops[3];
    grpc_metadata md;
    char secs[16];
    grpc_slice details = grpc_slice_from_copied_string(msg ? msg : "");

    snprintf(secs, sizeof secs, "%u", retry_after);
    md.key = grpc_slice_from_static_string("retry-after");
    md.value = grpc_slice_from_copied_string(secs);
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    c->sent_initial = true;
    ops[1].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[1].data.send_status_from_server.status = st;
    ops[1].data.send_status_from_server.status_details = &details;
    ops[1].data.send_status_from_server.trailing_metadata_count = 1;
    ops[1].data.send_status_from_server.trailing_metadata = &md;
    ops[2].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[2].data.recv_close_on_server.cancelled = &c->cancelled;
    rpc_start_batch(c, ops, 3, &c->t_done);
    grpc_slice_unref(details);
    grpc_slice_unref(md.value);
}

int rpc_send_message(struct rcall *c, const ProtobufCMessage *m)
{
    grpc_op ops[2];
    size_t n = 0, len = 0;

    if (c->send_bb)
        grpc_byte_buffer_destroy(c->send_bb);
    c->send_bb = rpc_encode(m, &len);
    if (c->send_bb == NULL)
        return AMATERS_ENOMEM;
    memset(ops, 0, sizeof ops);
    if (!c->sent_initial) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        c->sent_initial = true;
    }
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = c->send_bb;
    n++;
    rpc_start_batch(c, ops, n, &c->t_send);
    return 0;
}
