/*
 * internal.h - the gRPC front end's shared state (rpc/ only).
 *
 * Every completion-queue tag is a struct rtag: a kind and the call that
 * owns it, never a bare pointer cast.
 *
 * Threads: the server has ONE completion queue, polled by every worker
 * thread (server.worker_threads). gRPC core pins each connection to one of
 * the server's queues when it is accepted; with one queue per worker, a
 * long handler (BACKUP, COMPACT, a big batch) on one worker stalled every
 * connection pinned to that worker's queue even while the others idled.
 * With one shared queue, a call waits only when every worker is busy.
 *
 * A call's completions may therefore be handled by different workers, one
 * after another. That needs no lock because a call never has two
 * completions whose handlers touch its state in flight at once: unary
 * calls have one batch at a time; a stream or bidi call has one send (or
 * receive) at a time plus its RECV_CLOSE_ON_SERVER batch, whose handler
 * only drops a reference. Every handler starts its next batch as its last
 * use of the call (the completion queue orders the hand-over). A call is
 * freed when its last reference goes (refs: atomic). A deferred write
 * (unary SET on an engine with write_async) is handed to the engine and
 * comes back on the queue as a TAG_WRITTEN completion (or through the
 * completer), again with nothing else in flight.
 */
#ifndef AMATERS_RPC_INTERNAL_H
#define AMATERS_RPC_INTERNAL_H

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "query/query.h"
#include "rpc/auth.h"
#include "rpc/rpc.h"

enum method {
    M_QUERY,
    M_BATCH,
    M_STREAM,
    M_INTERACTIVE,
    M_HEALTH,
    M_INFO,
    M_COUNT,
    M_UNKNOWN = M_COUNT,
};

enum tag_kind {
    TAG_NEW,      /* a registered or generic call arrived */
    TAG_DONE,     /* the final batch of a unary / unknown call */
    TAG_SEND,     /* a streaming send finished */
    TAG_RECV,     /* a bidi receive finished */
    TAG_CLOSE,    /* RECV_CLOSE_ON_SERVER finished */
    TAG_SHUTDOWN, /* the server finished shutting down */
    TAG_WRITTEN,  /* a deferred write is durable: answer it */
};

struct rcall;

/* A tag. `published` is stored (release) by the thread that starts a batch
 * carrying the tag and loaded (acquire) by the worker that receives the
 * completion: the hand-off of the call from one thread to another, made
 * visible to ThreadSanitizer (the completion queue orders it too, but
 * inside Debian's uninstrumented gRPC). */
struct rtag {
    enum tag_kind kind;
    struct rcall *call;
    atomic_int published;
};

/* Before a batch (or a request for a call) carrying t is started. */
static inline void rpc_tag_publish(struct rtag *t)
{
    atomic_store_explicit(&t->published, (int)t->kind, memory_order_release);
}

/* The receiving side: the tag's kind, with everything its publisher did
 * before publishing visible. */
static inline enum tag_kind rpc_tag_receive(struct rtag *t)
{
    return (enum tag_kind)atomic_load_explicit(&t->published,
                                               memory_order_acquire);
}

/* A thread polling the server's completion queue. */
struct worker {
    struct amaters_rpc *rpc;
    pthread_t thread;
    unsigned index; /* 1-based once the thread runs, 0 before */
};

/* The completer: a thread that answers deferred writes (completer.c). */
struct rpc_completer {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct rcall *head, *tail; /* guarded by mu */
    bool stop;                 /* guarded by mu */
    bool running;
    pthread_t thread;
};

struct amaters_rpc {
    grpc_server *server;
    grpc_completion_queue *cq; /* the one queue, polled by every worker */
    struct rpc_completer completer;
    struct worker *workers;
    unsigned nworkers;
    void *methods[M_COUNT];
    struct amaters_exec *exec;
    struct amaters_rpc_options opts;
    int port;
    bool started;
    uint64_t started_ns;
    atomic_long active;
    atomic_bool stopping;
    /* Deferred SETs handed to the engine and not yet completed by it:
     * their completion (engine thread) uses this structure, so
     * amaters_rpc_stop waits for 0 before freeing it. */
    atomic_long deferred;
    /* shutdown notification */
    struct rtag shutdown_tag;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool shutdown_done;
    /* Deferred writes wake a worker with a zero-op batch on cq while
     * wake_ok; cleared (under wake_mu) before the queue shuts down. */
    pthread_mutex_t wake_mu;
    bool wake_ok;
};

struct rcall {
    struct amaters_rpc *rpc;
    enum method method;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_call_details details; /* generic calls only */
    grpc_byte_buffer *payload; /* the request, or a bidi message */
    grpc_byte_buffer *send_bb;
    /* Outstanding batches, plus one while a handler runs and one while a
     * deferred write is with the engine (whose completion runs on another
     * thread: hence atomic). */
    atomic_int refs;
    int cancelled;
    bool counted;      /* counted in rpc->active */
    bool sent_initial; /* initial metadata already sent */
    uint64_t started_ns;
    struct amaters_arena *arena;
    struct amaters_qctx qctx;
    struct amaters_call_identity identity;
    struct amaters_authz_hook hook;
    bool admitted; /* identity filled by the gate */
    Amaters__Aql__QueryResponse *deferred_resp; /* waiting for the engine */
    /* The engine's result: stored with release by the engine thread
     * after it is done with the call's buffers (key, value), loaded with
     * acquire by the thread that answers, so that everything the engine
     * did happens before the answer and the arena's release, whatever
     * queue carried the wake-up. */
    atomic_int deferred_rc;
    struct rcall *next_done;     /* completer queue link */
    struct rtag t_new, t_done, t_send, t_recv, t_close, t_written;
    /* ExecuteStream */
    struct amaters_cursor *cursor;
    uint64_t seq;
    enum { STREAM_RUNNING, STREAM_END_SENT, STREAM_DONE } stream_state;
    /* ExecuteInteractive */
    bool half_closed;
    /* request_id read from a request that failed to decode (rpc_decode;
     * arena), for the error answer to echo; NULL if it had none */
    char *salvaged_request_id;
    /* rpc_error's answer when the arena cannot hold one (never NULL) */
    Amaters__Errors__ErrorResponse err_fallback;
};

extern const char *const amaters_rpc_method_names[M_COUNT + 1];

/* server.c */
/* Arms one call slot of method m on the server's queue. Returns 0,
 * AMATERS_ENOMEM or AMATERS_EINTERNAL (gRPC refused). Any worker. */
int rpc_arm(struct amaters_rpc *r, enum method m);
void rpc_call_unref(struct rcall *c);
void rpc_start_batch(struct rcall *c, const grpc_op *ops, size_t n,
                     struct rtag *tag);

/* completer.c */
int rpc_completer_start(struct rpc_completer *q);
void rpc_completer_push(struct rpc_completer *q, struct rcall *c);
void rpc_completer_stop(struct rpc_completer *q);
/* unary.c: answers a call whose deferred write finished (completer). */
void rpc_deferred_finish(struct rcall *c);

/* server.c: resets the call's query context (keeps the authz hook) and
 * forgets the request id of the previous message. */
void rpc_qctx_reset(struct rcall *c);

/* wirecheck.c: the pre-decode check of a request's wire bytes. */
#define RPC_WIRE_MAX_DEPTH 64              /* nested sub-message levels */
#define RPC_WIRE_MAX_UNKNOWN 4096          /* unknown fields per request */
#define RPC_WIRE_MAX_OVERHEAD ((size_t)128 << 20) /* decode bytes beyond len */

struct rpc_wire_limits {
    unsigned max_depth;  /* <= RPC_WIRE_MAX_DEPTH (larger is clamped) */
    size_t max_unknown;  /* unknown fields allowed in the whole request */
    size_t max_overhead; /* estimated unpacked bytes allowed beyond len */
};

struct rpc_wire_stats {
    size_t messages;           /* the top message and every sub-message */
    size_t unknown;            /* unknown fields seen */
    size_t estimate;           /* estimated bytes unpack will allocate */
    size_t top_level_repeated; /* top-level repeated message elements */
    unsigned depth;            /* deepest nesting seen (top = 0) */
    bool complete;             /* the whole buffer was walked */
};

/* Walks buf[0..len) as a message of descriptor d, without recursion or
 * allocation: checks the wire syntax (varints of at most 10 bytes, lengths
 * within their message, wire types 0, 1, 2 and 5 only), the nesting depth,
 * that every proto3 `string` holds valid UTF-8 (no overlongs, surrogates or
 * code points above U+10FFFF), the number of unknown fields, and the
 * memory protobuf_c_message_unpack would need (estimate). Fills st (also
 * on failure, with complete = false unless only the estimate failed).
 * Returns 0; AMATERS_EPARSE for malformed input or too deep a nesting;
 * AMATERS_ETOOBIG for too many unknown fields or an estimate over
 * len + lim->max_overhead. On failure a one-line reason goes to why
 * (whylen bytes, may be NULL). Pure function: any thread. */
int rpc_wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                   size_t len, const struct rpc_wire_limits *lim,
                   struct rpc_wire_stats *st, char *why, size_t whylen);

/* True if s[0..n) is valid UTF-8 (as above). Any thread. */
bool rpc_utf8_valid(const uint8_t *s, size_t n);

/* Looks for the string field `name` of message d among the TOP-LEVEL fields
 * of buf[0..len), reading only the top-level framing (nested messages are
 * skipped unread), so that it works on a request refused before decoding
 * (too deep, too many fields, a batch over its limit). On success points
 * *out / *outlen into buf at the last occurrence, which is valid UTF-8
 * without NUL, and returns true; false when absent, invalid, or the
 * framing breaks before any occurrence. Pure function: any thread. */
bool rpc_wire_top_string(const ProtobufCMessageDescriptor *d,
                         const uint8_t *buf, size_t len, const char *name,
                         const uint8_t **out, size_t *outlen);

/* codec.c: decodes the request bb into *out (allocated in the call's
 * arena, released with it) after rpc_wire_check with the RPC_WIRE_*
 * limits. When max_top_repeated is not 0 (ExecuteBatch), a request whose
 * top-level repeated message field has more elements is refused before
 * unpacking (AMATERS_ETOOBIG, "batch has N queries; the limit is M").
 * Returns 0, or an AMATERS_E* code with the reason in c->qctx and, when
 * the bytes carry a top-level request_id, that id in
 * c->salvaged_request_id (else NULL). The thread handling the call's
 * current completion only. */
int rpc_decode(struct rcall *c, grpc_byte_buffer *bb,
               const ProtobufCMessageDescriptor *d, size_t max_top_repeated,
               ProtobufCMessage **out);
grpc_byte_buffer *rpc_encode(const ProtobufCMessage *m, size_t *len);
void rpc_set_deadline(struct rcall *c, bool has_timeout, uint32_t timeout_ms);
/* The ErrorResponse for rc (wire code from query/errmap.h), message
 * prefix + the call's qctx reason. Allocated in the call's arena; when the
 * arena is full, the call's err_fallback (same code, message "out of
 * memory building the error"): never NULL. The thread handling the
 * call only. */
Amaters__Errors__ErrorResponse *rpc_error(struct rcall *c, int rc,
                                          const char *prefix);
void rpc_send_status(struct rcall *c, grpc_status_code st, const char *msg,
                     struct rtag *tag);
/* Sends one message of a stream (with the initial metadata the first
 * time) on the call's t_send tag. Returns 0 or AMATERS_ENOMEM (nothing
 * sent). */
int rpc_send_message(struct rcall *c, const ProtobufCMessage *m);
/* Ends a unary-style call with st and a `retry-after: N` trailer. */
void rpc_send_status_retry(struct rcall *c, grpc_status_code st,
                           const char *msg, uint32_t retry_after);
void rpc_metrics_request(enum method m, const char *outcome,
                         uint64_t started_ns, size_t in, size_t out);
void rpc_metrics_query(const char *kind, const char *outcome,
                       uint64_t started_ns);
void rpc_metrics_init(void);
void rpc_metrics_request_bytes(size_t n);
void rpc_metrics_response_bytes(size_t n);
void rpc_metrics_active(long n);
const char *rpc_outcome(int rc);

/* unary.c: fills resp (arena) with the error answer to a QueryRequest
 * that rpc_decode refused with rc, echoing its salvaged request_id. */
void rpc_decode_failed(struct rcall *c, int rc,
                       Amaters__Aql__QueryResponse *resp);

/* unary.c: runs one QueryRequest (NULL = undecodable) into resp. */
int rpc_run_query(struct rcall *c, const Amaters__Aql__QueryRequest *req,
                  Amaters__Aql__QueryResponse *resp, bool defer);

/* unary.c: replaces an answer too large to send by an error answer. */
int rpc_fit_query_response(struct rcall *c, Amaters__Aql__QueryResponse *resp,
                           int rc);

/* unary.c / stream.c / bidi.c: handle the arrival of a call, and later
 * completions of its batches. */
void rpc_unary_start(struct rcall *c);
void rpc_unknown_start(struct rcall *c);
void rpc_stream_start(struct rcall *c);
void rpc_stream_on_send(struct rcall *c, bool ok);
void rpc_bidi_start(struct rcall *c);
void rpc_bidi_on_recv(struct rcall *c, bool ok);
void rpc_bidi_on_send(struct rcall *c, bool ok);

#endif
