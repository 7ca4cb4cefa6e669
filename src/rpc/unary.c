/*
 * unary.c - the unary methods: ExecuteQuery, ExecuteBatch, HealthCheck,
 * GetServerInfo, and the UNIMPLEMENTED answer for unknown methods.
 *
 * Unary failures travel in the response's `error` oneof with gRPC status
 * OK, the request_id echoed and execution_time_ms set (protocol.md).
 */
#include "rpc/internal.h"

#include <stdio.h>
#include <string.h>

#include <grpc/support/alloc.h>

#include "core/arena.h"
#include "core/errors.h"
#include "core/timeutil.h"
#include "obs/health.h"
#include "obs/log.h"

#define PROTOCOL_MAJOR 0
#define PROTOCOL_MINOR 2
#define PROTOCOL_PATCH 0

static void send_response(struct rcall *c, const ProtobufCMessage *m,
                          const char *outcome)
{
    grpc_op ops[4];
    size_t out_len = 0;
    grpc_slice details = grpc_slice_from_static_string("");

    c->send_bb = rpc_encode(m, &out_len);
    if (c->send_bb == NULL) {
        rpc_metrics_request(c->method, "ERROR_SERVER_INTERNAL",
                            c->started_ns, 0, 0);
        rpc_send_status(c, GRPC_STATUS_RESOURCE_EXHAUSTED,
                        "out of memory while encoding the response",
                        &c->t_done);
        return;
    }
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = c->send_bb;
    ops[2].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[2].data.send_status_from_server.status = GRPC_STATUS_OK;
    ops[2].data.send_status_from_server.status_details = &details;
    ops[3].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[3].data.recv_close_on_server.cancelled = &c->cancelled;
    c->sent_initial = true;
    rpc_metrics_request(c->method, outcome, c->started_ns, 0, out_len);
    rpc_start_batch(c, ops, 4, &c->t_done);
}

static uint64_t elapsed_ms(const struct rcall *c)
{
    return (amaters_now_ns() - c->started_ns) / 1000000ull;
}

void rpc_decode_failed(struct rcall *c, int rc,
                       Amaters__Aql__QueryResponse *resp)
{
    amaters__aql__query_response__init(resp);
    resp->response_case = AMATERS__AQL__QUERY_RESPONSE__RESPONSE_ERROR;
    resp->error = rpc_error(c, rc, NULL); /* never NULL */
    if (c->salvaged_request_id) {
        c->identity.request_id = c->salvaged_request_id;
        resp->_request_id_case =
            AMATERS__AQL__QUERY_RESPONSE___REQUEST_ID_REQUEST_ID;
        resp->request_id = c->salvaged_request_id;
    }
}

/* Shared by ExecuteQuery and ExecuteInteractive: runs one request and
 * fills resp (arena). Returns the rc for metrics. */
int rpc_run_query(struct rcall *c, const Amaters__Aql__QueryRequest *req,
                  Amaters__Aql__QueryResponse *resp, bool defer)
{
    Amaters__Query__QueryResult *res = NULL;
    uint64_t t0 = amaters_now_ns();
    const char *kind = req ? amaters_query_kind(req->query) : "unknown";
    int rc;

    amaters__aql__query_response__init(resp);
    rpc_qctx_reset(c);
    c->qctx.defer_writes = defer;
    if (req == NULL) {
        rc = AMATERS_EPARSE;
    } else {
        rpc_set_deadline(c, req->_timeout_ms_case ==
                                AMATERS__AQL__QUERY_REQUEST___TIMEOUT_MS_TIMEOUT_MS,
                         req->timeout_ms);
        if (req->_request_id_case ==
            AMATERS__AQL__QUERY_REQUEST___REQUEST_ID_REQUEST_ID) {
            c->identity.request_id = req->request_id;
            resp->_request_id_case =
                AMATERS__AQL__QUERY_RESPONSE___REQUEST_ID_REQUEST_ID;
            resp->request_id = req->request_id;
        }
        rc = amaters_check_version(&c->qctx, req->version);
        if (rc == 0 && atomic_load(&c->rpc->stopping))
            rc = amaters_qctx_fail(&c->qctx, AMATERS_ESHUTDOWN,
                                   "the server is shutting down");
        if (rc == 0)
            rc = amaters_exec_query(c->rpc->exec, &c->qctx, req->query,
                                    &res);
    }
    if (rc == 0) {
        resp->response_case = AMATERS__AQL__QUERY_RESPONSE__RESPONSE_RESULT;
        resp->result = res;
    } else {
        resp->response_case = AMATERS__AQL__QUERY_RESPONSE__RESPONSE_ERROR;
        resp->error = rpc_error(c, rc, NULL); /* never NULL */
    }
    resp->execution_time_ms = (amaters_now_ns() - t0) / 1000000ull;
    if (!c->qctx.has_deferred)
        rpc_metrics_query(kind, rpc_outcome(rc), t0);
    return rc;
}

/* An answer that could not be sent (over limits.max_message_bytes) is
 * replaced by an ERROR_VALIDATION_SIZE_EXCEEDED answer. */
int rpc_fit_query_response(struct rcall *c,
                              Amaters__Aql__QueryResponse *resp, int rc)
{
    size_t n = protobuf_c_message_get_packed_size(&resp->base);
    size_t max = c->rpc->opts.max_message_bytes;
    if (n <= max)
        return rc;
    rc = amaters_qctx_fail(&c->qctx, AMATERS_ETOOBIG,
                           "the answer is %zu bytes, over the %zu-byte "
                           "message limit; use RANGE with a limit or "
                           "ExecuteStream",
                           n, max);
    resp->response_case = AMATERS__AQL__QUERY_RESPONSE__RESPONSE_ERROR;
    resp->error = rpc_error(c, rc, NULL);
    return rc;
}

/* The engine's completion of a deferred SET (engine thread): hand the
 * call back to a worker (or to the completer) so that the committer
 * goes on with the next group at once. */
static void deferred_done(void *arg, int rc)
{
    struct rcall *c = arg;
    struct amaters_rpc *r = c->rpc;
    grpc_call *call = c->call;
    grpc_call_error e = GRPC_CALL_ERROR;

    /* The answering thread loads the result with acquire and may free c
     * as soon as the wake-up below reaches it: every read of c (and of
     * the request buffers, by the engine) comes before this store. */
    atomic_store_explicit(&c->deferred_rc, rc, memory_order_release);
    /* A batch of zero ops completes at once on the server's queue: a
     * worker answers it, as it answers a GET, without another thread in
     * between (measured: -20% server CPU per SET, up to +15% SETs/s).
     * The completer is the fallback. */
    pthread_mutex_lock(&r->wake_mu);
    if (r->wake_ok) {
        rpc_tag_publish(&c->t_written);
        e = grpc_call_start_batch(call, NULL, 0, &c->t_written, NULL);
    }
    pthread_mutex_unlock(&r->wake_mu);
    if (e != GRPC_CALL_OK)
        rpc_completer_push(&r->completer, c);
    /* last access to r: amaters_rpc_stop may free it once this is 0 */
    atomic_fetch_sub(&r->deferred, 1);
}

void rpc_deferred_finish(struct rcall *c)
{
    /* acquire first: the engine's (and the handing-over worker's) writes
     * happen before what follows */
    int rc = atomic_load_explicit(&c->deferred_rc, memory_order_acquire);
    Amaters__Aql__QueryResponse *resp = c->deferred_resp;
    if (rc) {
        amaters_qctx_fail(&c->qctx, rc, "set: storage: %s",
                          amaters_strerror(rc));
        resp->response_case = AMATERS__AQL__QUERY_RESPONSE__RESPONSE_ERROR;
        resp->error = rpc_error(c, rc, NULL);
    }
    resp->execution_time_ms = elapsed_ms(c);
    rpc_metrics_query("set", rpc_outcome(rc), c->started_ns);
    send_response(c, &resp->base, rpc_outcome(rc));
    rpc_call_unref(c); /* the deferred write's reference */
}

static void do_query(struct rcall *c)
{
    ProtobufCMessage *m = NULL;
    Amaters__Aql__QueryResponse *resp =
        amaters_arena_alloc(c->arena, sizeof *resp);
    if (resp == NULL) {
        rpc_send_status(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory",
                        &c->t_done);
        return;
    }
    int rc = rpc_decode(c, c->payload, &amaters__aql__query_request__descriptor,
                        0, &m);
    if (rc) {
        rpc_decode_failed(c, rc, resp);
    } else {
        rc = rpc_run_query(c, (Amaters__Aql__QueryRequest *)m, resp, true);
    }
    if (rc == 0 && c->qctx.has_deferred) {
        /* Hand the write to the engine; its completion answers. This
         * thread must not touch the call after a successful hand-over. */
        c->deferred_resp = resp;
        atomic_fetch_add(&c->refs, 1);
        atomic_fetch_add(&c->rpc->deferred, 1);
        rc = amaters_exec_write_deferred(c->rpc->exec, &c->qctx,
                                         deferred_done, c);
        if (rc == 0)
            return;
        atomic_fetch_sub(&c->rpc->deferred, 1);
        atomic_fetch_sub(&c->refs, 1);
        amaters_qctx_fail(&c->qctx, rc, "set: storage: %s",
                          amaters_strerror(rc));
        resp->response_case = AMATERS__AQL__QUERY_RESPONSE__RESPONSE_ERROR;
        resp->error = rpc_error(c, rc, NULL);
        rpc_metrics_query("set", rpc_outcome(rc), c->started_ns);
    }
    rc = rpc_fit_query_response(c, resp, rc);
    resp->execution_time_ms = elapsed_ms(c);
    send_response(c, &resp->base, rpc_outcome(rc));
}

static void do_batch(struct rcall *c)
{
    ProtobufCMessage *m = NULL;
    Amaters__Aql__BatchRequest *req;
    Amaters__Aql__BatchResponse resp = AMATERS__AQL__BATCH_RESPONSE__INIT;
    Amaters__Aql__BatchResult result = AMATERS__AQL__BATCH_RESULT__INIT;
    Amaters__Query__QueryResult **res = NULL;
    char prefix[64] = "";
    int rc = rpc_decode(c, c->payload, &amaters__aql__batch_request__descriptor,
                        c->rpc->opts.max_batch_queries, &m);
    req = (Amaters__Aql__BatchRequest *)m;
    if (rc == 0) {
        rpc_set_deadline(c, req->_timeout_ms_case ==
                                AMATERS__AQL__BATCH_REQUEST___TIMEOUT_MS_TIMEOUT_MS,
                         req->timeout_ms);
        if (req->_request_id_case ==
            AMATERS__AQL__BATCH_REQUEST___REQUEST_ID_REQUEST_ID) {
            c->identity.request_id = req->request_id;
            resp._request_id_case =
                AMATERS__AQL__BATCH_RESPONSE___REQUEST_ID_REQUEST_ID;
            resp.request_id = req->request_id;
        }
        rc = amaters_check_version(&c->qctx, req->version);
    } else if (c->salvaged_request_id) {
        c->identity.request_id = c->salvaged_request_id;
        resp._request_id_case =
            AMATERS__AQL__BATCH_RESPONSE___REQUEST_ID_REQUEST_ID;
        resp.request_id = c->salvaged_request_id;
    }
    if (rc == 0 && atomic_load(&c->rpc->stopping))
        rc = amaters_qctx_fail(&c->qctx, AMATERS_ESHUTDOWN,
                               "the server is shutting down");
    if (rc == 0)
        rc = amaters_exec_batch(c->rpc->exec, &c->qctx, req->queries,
                                req->n_queries, req->isolation_level, &res);
    if (rc == 0) {
        result.results = res;
        result.n_results = req->n_queries;
        resp.response_case = AMATERS__AQL__BATCH_RESPONSE__RESPONSE_RESULTS;
        resp.results = &result;
    } else {
        if (c->qctx.err_index >= 0)
            snprintf(prefix, sizeof prefix, "query %ld: ", c->qctx.err_index);
        resp.response_case = AMATERS__AQL__BATCH_RESPONSE__RESPONSE_ERROR;
        resp.error = rpc_error(c, rc, prefix); /* never NULL */
        if (c->qctx.err_index >= 0)
            resp.error->details = amaters_arena_printf(
                c->arena, "{\"query_index\":%ld}", c->qctx.err_index);
        if (resp.error->details)
            resp.error->_details_case =
                AMATERS__ERRORS__ERROR_RESPONSE___DETAILS_DETAILS;
    }
    resp.execution_time_ms = elapsed_ms(c);
    rpc_metrics_query("batch", rpc_outcome(rc), c->started_ns);
    send_response(c, &resp.base, rpc_outcome(rc));
}

static void do_health(struct rcall *c)
{
    ProtobufCMessage *m = NULL;
    Amaters__Aql__HealthCheckResponse resp =
        AMATERS__AQL__HEALTH_CHECK_RESPONSE__INIT;
    int rc = rpc_decode(c, c->payload,
                        &amaters__aql__health_check_request__descriptor, 0,
                        &m);
    Amaters__Aql__HealthCheckRequest *req = (void *)m;
    bool ready = amaters_health_ready() && !atomic_load(&c->rpc->stopping);
    const char *svc = "";

    if (rc == 0 && req->_service_case ==
                       AMATERS__AQL__HEALTH_CHECK_REQUEST___SERVICE_SERVICE)
        svc = req->service;
    resp._message_case = AMATERS__AQL__HEALTH_CHECK_RESPONSE___MESSAGE_MESSAGE;
    if (rc) {
        resp.status = AMATERS__AQL__HEALTH_STATUS__HEALTH_UNKNOWN;
        resp.message = c->qctx.err;
    } else if (svc[0] && strcmp(svc, "amaters.aql.AqlService") != 0 &&
               strcmp(svc, "AqlService") != 0) {
        resp.status = AMATERS__AQL__HEALTH_STATUS__HEALTH_SERVICE_UNKNOWN;
        resp.message = amaters_arena_printf(c->arena, "unknown service '%s'",
                                            svc);
    } else if (ready) {
        resp.status = AMATERS__AQL__HEALTH_STATUS__HEALTH_SERVING;
        resp.message = (char *)"serving";
    } else {
        resp.status = AMATERS__AQL__HEALTH_STATUS__HEALTH_NOT_SERVING;
        resp.message = (char *)(atomic_load(&c->rpc->stopping) ||
                                        amaters_health_phase() >=
                                            AMATERS_PHASE_SHUTTING_DOWN
                                    ? "shutting down"
                                    : "starting");
    }
    send_response(c, &resp.base, rc ? rpc_outcome(rc) : "ok");
}

static const char *const capabilities[] = {
    "get", "set", "delete", "range", "batch", "atomic_batch", "stream",
    "interactive", "health", "server_info", "collections", "checksums",
    "admin",
};

static void do_info(struct rcall *c)
{
    Amaters__Aql__ServerInfoResponse resp =
        AMATERS__AQL__SERVER_INFO_RESPONSE__INIT;
    Amaters__Types__Version v = AMATERS__TYPES__VERSION__INIT;
    Amaters__Types__Version *supported[1] = {&v};
    v.major = PROTOCOL_MAJOR;
    v.minor = PROTOCOL_MINOR;
    v.patch = PROTOCOL_PATCH;
    resp.version = &v;
    resp.supported_versions = supported;
    resp.n_supported_versions = 1;
    resp.capabilities = (char **)capabilities;
    resp.n_capabilities = sizeof capabilities / sizeof capabilities[0];
    resp.uptime_seconds =
        (amaters_now_ns() - c->rpc->started_ns) / 1000000000ull;
    send_response(c, &resp.base, "ok");
}

void rpc_unary_start(struct rcall *c)
{
    switch (c->method) {
    case M_QUERY:
        do_query(c);
        break;
    case M_BATCH:
        do_batch(c);
        break;
    case M_HEALTH:
        do_health(c);
        break;
    case M_INFO:
        do_info(c);
        break;
    default:
        rpc_send_status(c, GRPC_STATUS_INTERNAL, "unexpected method",
                        &c->t_done);
        break;
    }
}

void rpc_unknown_start(struct rcall *c)
{
    char *m = grpc_slice_to_c_string(c->details.method);
    char *msg = amaters_arena_printf(c->arena, "unknown method %s", m);
    gpr_free(m);
    rpc_metrics_request(M_UNKNOWN, "unimplemented", c->started_ns, 0, 0);
    rpc_send_status(c, GRPC_STATUS_UNIMPLEMENTED, msg, &c->t_done);
}
