/*
 * rpc.h - the gRPC front end: serves amaters.aql.AqlService on gRPC core.
 *
 * It owns the gRPC server, one completion queue polled by every worker
 * thread, the registered methods (each with calls armed at all times) and
 * the generic handler that answers unknown methods with UNIMPLEMENTED.
 * Requests are decoded with protobuf-c into a per-call arena, executed by
 * the query layer (query/query.h) on the worker thread that took the
 * call's completion, and answered per shared/spec/protocol.md.
 *
 * Threads: amaters_rpc_start and amaters_rpc_stop are called by the main
 * thread only; the workers own every call (internal.h says how a call
 * passes from one worker to another).
 */
#ifndef AMATERS_RPC_RPC_H
#define AMATERS_RPC_RPC_H

#include <stddef.h>
#include <stdint.h>

struct amaters_exec;
struct amaters_rpc;
struct amaters_gate;
typedef struct grpc_server_credentials grpc_server_credentials;

struct amaters_rpc_options {
    const char *bind_address;     /* "host:port"; port 0 = ephemeral */
    unsigned workers;             /* completion-queue threads, >= 1 */
    size_t max_message_bytes;     /* receive and send limit */
    /* ExecuteBatch requests with more queries are refused before they
     * are decoded (0 = only the query module's check, after decoding) */
    size_t max_batch_queries;
    unsigned keepalive_interval_secs;
    unsigned connection_timeout_secs;
    uint32_t default_timeout_ms;  /* when a request has none; 0 = none */
    unsigned max_connections;     /* calls in flight at once */
    /* TLS credentials (borrowed; gRPC takes its own reference), or NULL
     * for plaintext. */
    grpc_server_credentials *creds;
    /* Authentication, rate limits and authorization (borrowed, must
     * outlive the server), or NULL when all are off. */
    struct amaters_gate *gate;
};

/* Binds and starts serving. *out is owned by the caller (amaters_rpc_stop
 * frees it). exec is borrowed and must outlive the server. On failure
 * writes a message naming the address into err. */
int amaters_rpc_start(const struct amaters_rpc_options *opts,
                      struct amaters_exec *exec, struct amaters_rpc **out,
                      char *err, size_t errlen);

/* The bound port (useful with port 0). */
int amaters_rpc_port(const struct amaters_rpc *r);

/* Calls in flight right now. */
long amaters_rpc_active_calls(const struct amaters_rpc *r);

/* First step of a stop, at once: from now on every new query (also on an
 * open stream) is answered ERROR_SERVER_SHUTTING_DOWN and HealthCheck says
 * NOT_SERVING. Call before readiness reports the shutdown, so that no
 * client that saw it gets a query executed. Any thread; idempotent. */
void amaters_rpc_refuse_new(struct amaters_rpc *r);

/* Graceful stop: stops accepting calls, lets in-flight calls finish for up
 * to timeout_ms, cancels the rest, joins the workers and frees r.
 * Returns the number of calls that had to be cancelled. */
long amaters_rpc_stop(struct amaters_rpc *r, uint64_t timeout_ms);

/* Initialises gRPC once per process (idempotent) / releases it. */
void amaters_rpc_global_init(void);
void amaters_rpc_global_shutdown(void);

#endif
