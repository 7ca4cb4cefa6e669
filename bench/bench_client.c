/*
 * bench_client.c - the client threads of amaters-bench.
 *
 * Each thread owns one channel (with its own subchannel pool, so its own
 * HTTP/2 connection) and one completion queue, and keeps n_slots calls in
 * flight: a slot's call is started again as soon as the previous one
 * completes (a closed loop), until the run's end time. Requests are
 * protobuf-c messages packed into a buffer that the gRPC slice takes over;
 * answers are decoded and checked (a GET must return the value that was
 * stored, with its metadata) so that any failure shows up in the counts.
 *
 * A unary call is one batch (send everything, receive everything). An
 * ExecuteStream call is a send+status batch plus a chain of RECV_MESSAGE
 * batches; the call is finished when both chains have ended.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "aql.pb-c.h"
#include "core/alloc.h"
#include "core/errors.h"
#include "core/timeutil.h"

#define CALL_DEADLINE_S 30
#define ERRORS_SHOWN 3

enum tag_kind { TAG_MAIN, TAG_RECV };

struct bench_tag {
    struct bench_slot *slot;
    enum tag_kind kind;
};

/* One call in flight. Touched only by its thread. */
struct bench_slot {
    struct bench_thread *t;
    struct bench_tag main_tag, recv_tag;
    grpc_call *call;
    grpc_byte_buffer *req, *resp;
    grpc_metadata_array im, tm;
    grpc_status_code status;
    grpc_slice details;
    uint64_t t0;
    enum bench_workload op;   /* SET, GET, RANGE or STREAM */
    bool main_done, recv_done, main_ok;
    /* Outcome of the answer(s), filled while decoding. */
    int app_code;             /* ErrorResponse code, -1 if none */
    bool bad, not_found;
    uint64_t rows, bytes;
};

size_t bench_slot_size(void)
{
    return sizeof(struct bench_slot);
}

struct bench_slot *bench_slot_at(struct bench_slot *slots, int i)
{
    return &slots[i];
}

static void *pb_alloc(void *data, size_t n)
{
    (void)data;
    return amaters_malloc(n);
}

static void pb_free(void *data, void *p)
{
    (void)data;
    amaters_free(p);
}

static ProtobufCAllocator pb_allocator = {pb_alloc, pb_free, NULL};

static uint32_t rnd(struct bench_thread *t)
{
    uint32_t x = t->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    t->rng = x;
    return x;
}

/* Packs m into a byte buffer whose slice owns the packed bytes. */
static grpc_byte_buffer *pack(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = amaters_malloc(len ? len : 1);
    if (buf == NULL)
        return NULL;
    protobuf_c_message_pack(m, buf);
    grpc_slice s = grpc_slice_new(buf, len, amaters_free);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

/* Builds the request of one call of kind op on key k. */
static grpc_byte_buffer *make_request(const struct bench_run *r,
                                      enum bench_workload op, long k)
{
    char key[32];
    int kl = snprintf(key, sizeof key, "key%08ld", k);
    const struct bench_opts *o = r->o;
    ProtobufCBinaryData coll = {strlen(o->collection),
                                (uint8_t *)o->collection};
    Amaters__Types__Key pk = AMATERS__TYPES__KEY__INIT;
    Amaters__Types__CipherMetadata md = AMATERS__TYPES__CIPHER_METADATA__INIT;
    Amaters__Types__CipherBlob blob = AMATERS__TYPES__CIPHER_BLOB__INIT;
    Amaters__Query__SetQuery sq = AMATERS__QUERY__SET_QUERY__INIT;
    Amaters__Query__GetQuery gq = AMATERS__QUERY__GET_QUERY__INIT;
    Amaters__Query__RangeQuery rq = AMATERS__QUERY__RANGE_QUERY__INIT;
    Amaters__Query__Query q = AMATERS__QUERY__QUERY__INIT;
    Amaters__Aql__QueryRequest req = AMATERS__AQL__QUERY_REQUEST__INIT;

    pk.data.data = (uint8_t *)key;
    pk.data.len = (size_t)kl;
    if (op == BENCH_SET) {
        md.size = o->value_size;
        md.checksum = r->value_crc;
        md.created_at = amaters_unix_seconds();
        blob.data.data = (uint8_t *)r->value;
        blob.data.len = o->value_size;
        blob.metadata = &md;
        sq.collection = coll;
        sq.key = &pk;
        sq.value = &blob;
        q.query_case = AMATERS__QUERY__QUERY__QUERY_SET;
        q.set = &sq;
    } else if (op == BENCH_GET) {
        gq.collection = coll;
        gq.key = &pk;
        q.query_case = AMATERS__QUERY__QUERY__QUERY_GET;
        q.get = &gq;
    } else {
        rq.collection = coll;
        rq.start = &pk;
        rq._limit_case = AMATERS__QUERY__RANGE_QUERY___LIMIT_LIMIT;
        rq.limit = o->range_size;
        q.query_case = AMATERS__QUERY__QUERY__QUERY_RANGE;
        q.range = &rq;
    }
    req.query = &q;
    return pack(&req.base);
}

/* Reads a whole byte buffer into one slice. */
static grpc_slice read_all(grpc_byte_buffer *bb)
{
    grpc_byte_buffer_reader rd;
    if (!grpc_byte_buffer_reader_init(&rd, bb))
        return grpc_empty_slice();
    grpc_slice s = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    return s;
}

/* Checks one returned value against the stored one. */
static void check_blob(struct bench_slot *s,
                       const Amaters__Types__CipherBlob *b)
{
    const struct bench_run *r = s->t->run;
    if (b == NULL || b->metadata == NULL ||
        b->data.len != r->o->value_size ||
        b->metadata->checksum != r->value_crc ||
        b->metadata->size != r->o->value_size) {
        s->bad = true;
        return;
    }
    s->rows++;
    s->bytes += b->data.len;
}

static void check_rows(struct bench_slot *s, Amaters__Query__KeyValue **kv,
                       size_t n)
{
    for (size_t i = 0; i < n; i++)
        check_blob(s, kv[i] ? kv[i]->value : NULL);
}

static void check_result(struct bench_slot *s,
                         const Amaters__Query__QueryResult *res)
{
    int rc = res ? (int)res->result_case : 0;
    if (s->op == BENCH_SET &&
        rc == AMATERS__QUERY__QUERY_RESULT__RESULT_SUCCESS) {
        s->bytes += s->t->run->o->value_size;
    } else if (s->op == BENCH_GET &&
               rc == AMATERS__QUERY__QUERY_RESULT__RESULT_SINGLE) {
        if (res->single->_value_case ==
            AMATERS__QUERY__SINGLE_RESULT___VALUE_VALUE)
            check_blob(s, res->single->value);
        else
            s->not_found = true;
    } else if (s->op == BENCH_RANGE &&
               rc == AMATERS__QUERY__QUERY_RESULT__RESULT_MULTI) {
        check_rows(s, res->multi->values, res->multi->n_values);
    } else {
        s->bad = true;
    }
}

/* Decodes the answer of a unary call. */
static void decode_unary(struct bench_slot *s)
{
    grpc_slice sl = read_all(s->resp);
    Amaters__Aql__QueryResponse *m = amaters__aql__query_response__unpack(
        &pb_allocator, GRPC_SLICE_LENGTH(sl), GRPC_SLICE_START_PTR(sl));
    grpc_slice_unref(sl);
    if (m == NULL) {
        s->bad = true;
        return;
    }
    if (m->response_case == AMATERS__AQL__QUERY_RESPONSE__RESPONSE_ERROR)
        s->app_code = m->error ? (int)m->error->code : 0;
    else if (m->response_case == AMATERS__AQL__QUERY_RESPONSE__RESPONSE_RESULT)
        check_result(s, m->result);
    else
        s->bad = true;
    if (s->app_code >= 0 && s->t->errors_printed < ERRORS_SHOWN &&
        m->error != NULL) {
        s->t->errors_printed++;
        fprintf(stderr, "amaters-bench: error response %d: %s\n",
                s->app_code, m->error->message);
    }
    amaters__aql__query_response__free_unpacked(m, &pb_allocator);
}

/* Decodes one ExecuteStream message. */
static void decode_chunk(struct bench_slot *s, grpc_byte_buffer *bb)
{
    grpc_slice sl = read_all(bb);
    Amaters__Aql__StreamResponse *m = amaters__aql__stream_response__unpack(
        &pb_allocator, GRPC_SLICE_LENGTH(sl), GRPC_SLICE_START_PTR(sl));
    grpc_slice_unref(sl);
    if (m == NULL) {
        s->bad = true;
        return;
    }
    switch (m->chunk_case) {
    case AMATERS__AQL__STREAM_RESPONSE__CHUNK_BATCH:
        check_rows(s, m->batch->values, m->batch->n_values);
        break;
    case AMATERS__AQL__STREAM_RESPONSE__CHUNK_VALUE:
        check_rows(s, &m->value, 1);
        break;
    case AMATERS__AQL__STREAM_RESPONSE__CHUNK_END:
        break;
    case AMATERS__AQL__STREAM_RESPONSE__CHUNK_ERROR:
        s->app_code = m->error ? (int)m->error->code : 0;
        break;
    default:
        s->bad = true;
        break;
    }
    amaters__aql__stream_response__free_unpacked(m, &pb_allocator);
}

static int start_recv(struct bench_slot *s)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &s->resp;
    s->resp = NULL;
    return grpc_call_start_batch(s->call, &op, 1, &s->recv_tag, NULL) ==
                   GRPC_CALL_OK
               ? 0
               : AMATERS_EINTERNAL;
}

/* Picks the next call of the slot; returns false when the slot retires. */
static bool next_call(struct bench_slot *s, long *key)
{
    struct bench_thread *t = s->t;
    struct bench_run *r = t->run;
    if (r->preload) {
        *key = __atomic_fetch_add(&r->next_key, 1, __ATOMIC_RELAXED);
        s->op = BENCH_SET;
        return *key < r->o->keyspace;
    }
    if (amaters_now_ns() >= r->end_ns)
        return false;
    *key = (long)(rnd(t) % (uint32_t)r->o->keyspace);
    s->op = r->o->workload;
    if (s->op == BENCH_MIX)
        s->op = rnd(t) % 10 == 0 ? BENCH_SET : BENCH_GET;
    return true;
}

/* Starts the slot's next call. Returns false if the slot is retired. */
static bool slot_start(struct bench_slot *s)
{
    struct bench_thread *t = s->t;
    long key = 0;
    if (!next_call(s, &key))
        return false;
    bool stream = s->op == BENCH_STREAM;
    s->req = make_request(t->run, s->op, key);
    if (s->req == NULL) {
        fprintf(stderr, "amaters-bench: out of memory\n");
        return false;
    }
    grpc_slice method = grpc_slice_from_static_string(
        stream ? "/amaters.aql.AqlService/ExecuteStream"
               : "/amaters.aql.AqlService/ExecuteQuery");
    gpr_timespec dl =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                     gpr_time_from_seconds(CALL_DEADLINE_S, GPR_TIMESPAN));
    s->call = grpc_channel_create_call(t->channel, NULL,
                                       GRPC_PROPAGATE_DEFAULTS, t->cq,
                                       method, NULL, dl, NULL);
    grpc_metadata_array_init(&s->im);
    grpc_metadata_array_init(&s->tm);
    s->resp = NULL;
    s->details = grpc_empty_slice();
    s->main_done = false;
    s->recv_done = !stream;
    s->main_ok = false;
    s->app_code = -1;
    s->bad = s->not_found = false;
    s->rows = s->bytes = 0;

    grpc_op ops[6];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = s->req;
    ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[n++].data.recv_initial_metadata.recv_initial_metadata = &s->im;
    if (!stream) {
        ops[n].op = GRPC_OP_RECV_MESSAGE;
        ops[n++].data.recv_message.recv_message = &s->resp;
    }
    ops[n].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[n].data.recv_status_on_client.trailing_metadata = &s->tm;
    ops[n].data.recv_status_on_client.status = &s->status;
    ops[n++].data.recv_status_on_client.status_details = &s->details;
    s->t0 = amaters_now_ns();
    if (grpc_call_start_batch(s->call, ops, n, &s->main_tag, NULL) !=
        GRPC_CALL_OK) {
        fprintf(stderr, "amaters-bench: grpc_call_start_batch failed\n");
        abort();
    }
    if (stream && start_recv(s)) {
        fprintf(stderr, "amaters-bench: grpc_call_start_batch failed\n");
        abort();
    }
    return true;
}

static void show_status(struct bench_slot *s)
{
    if (s->t->errors_printed >= ERRORS_SHOWN)
        return;
    s->t->errors_printed++;
    char *d = grpc_slice_to_c_string(s->details);
    fprintf(stderr, "amaters-bench: call failed: gRPC status %d: %s\n",
            (int)s->status, d);
    gpr_free(d);
}

/* Counts the finished call into the thread's figures. */
static void slot_account(struct bench_slot *s, uint64_t now)
{
    struct bench_stats *st = &s->t->stats;
    const struct bench_run *r = s->t->run;
    bool counted = now >= r->measure_from_ns && now <= r->end_ns;

    if (!s->main_ok) {
        st->failed_batch++;
    } else if (s->status != GRPC_STATUS_OK) {
        unsigned c = (unsigned)s->status;
        st->grpc[c < BENCH_GRPC_CODES ? c : GRPC_STATUS_UNKNOWN]++;
        show_status(s);
    } else if (s->app_code >= 0) {
        bench_stats_add_code(st, s->app_code);
    } else if (s->bad) {
        st->bad_reply++;
    } else if (s->not_found && (r->o->preload || r->preload)) {
        st->not_found++;
    } else if (counted) {
        st->ops++;
        st->rows += s->rows;
        st->value_bytes += s->bytes;
        bench_hist_record(&st->hist, now - s->t0);
    }
}

static void slot_release(struct bench_slot *s)
{
    grpc_byte_buffer_destroy(s->req);
    s->req = NULL;
    if (s->resp)
        grpc_byte_buffer_destroy(s->resp);
    s->resp = NULL;
    grpc_metadata_array_destroy(&s->im);
    grpc_metadata_array_destroy(&s->tm);
    grpc_slice_unref(s->details);
    grpc_call_unref(s->call);
    s->call = NULL;
}

/* Handles one completion; returns true if the slot's call finished. */
static bool on_event(struct bench_tag *tag, bool success)
{
    struct bench_slot *s = tag->slot;
    if (tag->kind == TAG_MAIN) {
        s->main_done = true;
        s->main_ok = success;
        if (success && s->op != BENCH_STREAM) {
            if (s->resp)
                decode_unary(s);
            else if (s->status == GRPC_STATUS_OK)
                s->bad = true;
        }
    } else if (success && s->resp != NULL) {
        decode_chunk(s, s->resp);
        grpc_byte_buffer_destroy(s->resp);
        s->resp = NULL;
        if (start_recv(s))
            s->recv_done = true;
    } else {
        s->recv_done = true;
    }
    return s->main_done && s->recv_done;
}

static int thread_setup(struct bench_thread *t)
{
    grpc_arg args[3];
    memset(args, 0, sizeof args);
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = -1;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[1].value.integer = -1;
    /* Own subchannel pool: one connection per client thread. */
    args[2].type = GRPC_ARG_INTEGER;
    args[2].key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
    args[2].value.integer = 1;
    grpc_channel_args ca = {3, args};
    grpc_channel_credentials *cr = grpc_insecure_credentials_create();
    t->channel = grpc_channel_create(t->run->o->target, cr, &ca);
    grpc_channel_credentials_release(cr);
    t->cq = grpc_completion_queue_create_for_next(NULL);
    if (t->channel == NULL || t->cq == NULL)
        return AMATERS_EINTERNAL;
    return 0;
}

static void thread_teardown(struct bench_thread *t)
{
    grpc_channel_destroy(t->channel);
    grpc_completion_queue_shutdown(t->cq);
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(
            t->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
    }
    grpc_completion_queue_destroy(t->cq);
}

void *bench_client_thread(void *arg)
{
    struct bench_thread *t = arg;
    int outstanding = 0;

    if (thread_setup(t)) {
        fprintf(stderr, "amaters-bench: cannot create a channel to %s\n",
                t->run->o->target);
        t->stats.failed_batch++;
        return arg;
    }
    for (int i = 0; i < t->n_slots; i++) {
        struct bench_slot *s = &t->slots[i];
        s->t = t;
        s->main_tag = (struct bench_tag){s, TAG_MAIN};
        s->recv_tag = (struct bench_tag){s, TAG_RECV};
        if (slot_start(s))
            outstanding++;
    }
    while (outstanding > 0) {
        grpc_event ev = grpc_completion_queue_next(
            t->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        struct bench_tag *tag = ev.tag;
        if (!on_event(tag, ev.success != 0))
            continue;
        struct bench_slot *s = tag->slot;
        slot_account(s, amaters_now_ns());
        slot_release(s);
        if (!slot_start(s))
            outstanding--;
    }
    thread_teardown(t);
    return arg;
}
