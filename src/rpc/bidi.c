/*
 * bidi.c - ExecuteInteractive: every inbound QueryRequest gets exactly the
 * answer ExecuteQuery would give, in order. The call alternates one
 * RECV_MESSAGE and one SEND_MESSAGE (so answers cannot reorder and a slow
 * reader throttles the sender); a receive that yields no message means the
 * client half-closed, and the server ends the call with OK.
 */
#include "rpc/internal.h"

#include <string.h>

#include "core/arena.h"
#include "core/errors.h"
#include "core/timeutil.h"

static void recv_next(struct rcall *c)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->payload;
    rpc_start_batch(c, &op, 1, &c->t_recv);
}

void rpc_bidi_start(struct rcall *c)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->cancelled;
    rpc_start_batch(c, &op, 1, &c->t_close);
    recv_next(c);
}

static void answer(struct rcall *c)
{
    ProtobufCMessage *m = NULL;
    Amaters__Aql__QueryResponse resp;
    uint64_t t0 = amaters_now_ns();

    amaters_arena_reset(c->arena);
    rpc_qctx_reset(c);
    int rc = rpc_decode(c, c->payload,
                        &amaters__aql__query_request__descriptor, 0, &m);
    grpc_byte_buffer_destroy(c->payload);
    c->payload = NULL;
    if (rc) {
        rpc_decode_failed(c, rc, &resp);
    } else {
        rc = rpc_run_query(c, (Amaters__Aql__QueryRequest *)m, &resp, false);
    }
    rc = rpc_fit_query_response(c, &resp, rc);
    resp.execution_time_ms = (amaters_now_ns() - t0) / 1000000ull;
    if (rpc_send_message(c, &resp.base) != 0) {
        c->stream_state = STREAM_DONE;
        rpc_send_status(c, GRPC_STATUS_RESOURCE_EXHAUSTED,
                        "out of memory while encoding a response",
                        &c->t_send);
    }
}

void rpc_bidi_on_recv(struct rcall *c, bool ok)
{
    if (!ok) {
        c->stream_state = STREAM_DONE;
        return;
    }
    if (c->payload == NULL) {
        /* Half-close: all answers were sent (one at a time). */
        c->stream_state = STREAM_DONE;
        rpc_metrics_request(c->method, "ok", c->started_ns, 0, 0);
        rpc_send_status(c, GRPC_STATUS_OK, "", &c->t_send);
        return;
    }
    answer(c);
}

void rpc_bidi_on_send(struct rcall *c, bool ok)
{
    if (!ok || c->stream_state == STREAM_DONE)
        return;
    recv_next(c);
}
