/*
 * stream.c - ExecuteStream: a GET or RANGE answered as `batch` chunks
 * numbered by `sequence` from 0 (has_more on all but the last), then
 * `end{total_count}` whose sequence is the number of batches. One
 * SEND_MESSAGE is in flight at a time: the next chunk is read from the
 * cursor only when the previous send completed, so a slow reader slows the
 * producer and memory stays flat. The arena is reset between chunks.
 * Errors end the stream with a gRPC status (protocol.md).
 */
#include "rpc/internal.h"

#include <string.h>

#include "core/arena.h"
#include "core/errors.h"
#include "core/timeutil.h"
#include "query/errmap.h"

static void finish(struct rcall *c, int rc)
{
    struct amaters_wire_error w = amaters_errmap(rc);
    c->stream_state = STREAM_DONE;
    rpc_metrics_request(c->method, rpc_outcome(rc), c->started_ns, 0, 0);
    rpc_metrics_query("stream", rpc_outcome(rc), c->started_ns);
    if (rc == 0)
        rpc_send_status(c, GRPC_STATUS_OK, "", &c->t_send);
    else
        rpc_send_status(c, w.status,
                        c->qctx.err[0] ? c->qctx.err : amaters_strerror(rc),
                        &c->t_send);
}

static void send_msg(struct rcall *c, Amaters__Aql__StreamResponse *m)
{
    if (rpc_send_message(c, &m->base) != 0)
        finish(c, AMATERS_ENOMEM);
}

/* Produces and sends the next chunk (a batch, or the end marker). */
static void next_chunk(struct rcall *c)
{
    Amaters__Aql__StreamResponse m = AMATERS__AQL__STREAM_RESPONSE__INIT;
    Amaters__Aql__StreamBatch b = AMATERS__AQL__STREAM_BATCH__INIT;
    Amaters__Aql__StreamEnd e = AMATERS__AQL__STREAM_END__INIT;
    Amaters__Query__KeyValue **kv = NULL;
    size_t n = 0;
    bool more = false;
    int rc;

    amaters_arena_reset(c->arena);
    c->qctx.err[0] = '\0';
    if (atomic_load(&c->rpc->stopping) && c->cursor &&
        amaters_cursor_count(c->cursor) == 0 && c->seq == 0) {
        finish(c, amaters_qctx_fail(&c->qctx, AMATERS_ESHUTDOWN,
                                    "the server is shutting down"));
        return;
    }
    rc = c->cursor ? amaters_cursor_next(c->cursor, &c->qctx, &kv, &n, &more)
                   : 0;
    if (rc < 0) {
        finish(c, rc);
        return;
    }
    m.sequence = c->seq++;
    if (rc == 1) {
        b.values = kv;
        b.n_values = n;
        b.has_more = more;
        m.chunk_case = AMATERS__AQL__STREAM_RESPONSE__CHUNK_BATCH;
        m.batch = &b;
    } else {
        e.total_count = c->cursor ? amaters_cursor_count(c->cursor) : 0;
        m.chunk_case = AMATERS__AQL__STREAM_RESPONSE__CHUNK_END;
        m.end = &e;
        amaters_cursor_close(c->cursor);
        c->cursor = NULL;
        c->stream_state = STREAM_END_SENT; /* then the status */
    }
    send_msg(c, &m);
}

void rpc_stream_start(struct rcall *c)
{
    ProtobufCMessage *m = NULL;
    Amaters__Aql__QueryRequest *req;
    grpc_op op;
    int rc;

    /* Learn of cancellation early, in a batch of its own. */
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->cancelled;
    rpc_start_batch(c, &op, 1, &c->t_close);

    rc = rpc_decode(c, c->payload, &amaters__aql__query_request__descriptor,
                    0, &m);
    req = (Amaters__Aql__QueryRequest *)m;
    if (rc == 0) {
        rpc_set_deadline(c, req->_timeout_ms_case ==
                                AMATERS__AQL__QUERY_REQUEST___TIMEOUT_MS_TIMEOUT_MS,
                         req->timeout_ms);
        rc = amaters_check_version(&c->qctx, req->version);
    }
    if (rc == 0)
        rc = amaters_cursor_open(c->rpc->exec, &c->qctx, req->query,
                                 &c->cursor);
    if (rc) {
        finish(c, rc);
        return;
    }
    /* The cursor copied what it needs; the request can go with the
     * arena's first reset. */
    c->stream_state = STREAM_RUNNING;
    next_chunk(c);
}

void rpc_stream_on_send(struct rcall *c, bool ok)
{
    if (!ok) {
        /* The client went away: stop producing; refs free the call. */
        c->stream_state = STREAM_DONE;
        return;
    }
    switch (c->stream_state) {
    case STREAM_RUNNING:
        next_chunk(c);
        break;
    case STREAM_END_SENT:
        finish(c, 0);
        break;
    case STREAM_DONE:
        break;
    }
}
