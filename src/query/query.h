/*
 * query.h - the AQL executor: GET / SET / DELETE / RANGE, atomic batches,
 * streaming cursors and the admin tunnel, on top of a storage engine.
 *
 * The executor works directly on the protobuf-c structs of the wire
 * (amaters.query.*): decoding into a second set of internal structs would
 * only copy bytes twice. Everything a call returns is allocated in the
 * call's arena (struct amaters_qctx.arena) and lives until the caller
 * destroys or resets that arena; the executor never frees it.
 *
 * Errors: functions return 0 or a negative AMATERS_E* code and leave a
 * message for the client in ctx->err (query/errmap.h maps the code to the
 * wire). The message never contains stored values.
 *
 * Threads: one struct amaters_exec is shared by all worker threads; every
 * function may be called concurrently. A struct amaters_qctx and a cursor
 * belong to one call and are used by one thread at a time.
 */
#ifndef AMATERS_QUERY_QUERY_H
#define AMATERS_QUERY_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aql.pb-c.h"
#include "query.pb-c.h"
#include "storage/engine.h"

struct amaters_engine;
struct amaters_arena;
struct amaters_exec;
struct amaters_cursor;

struct amaters_exec_options {
    size_t max_key_bytes;       /* user key limit (default 64 KiB) */
    size_t max_value_bytes;     /* CipherBlob.data limit */
    size_t max_result_bytes;    /* unary RANGE answers above this fail */
    size_t max_batch_queries;
    size_t stream_batch_size;   /* key/values per stream chunk */
    const char *backup_dir;     /* BACKUP/RESTORE live here (copied) */
    const char *engine_name;    /* shown by STATS (copied) */
    const char *node_address;   /* shown by CLUSTER_INFO / NODES (copied) */
    uint64_t node_id;
};

/* Actions for authorization (the values of security/rbac.h's
 * enum amaters_action). */
#define AMATERS_QACTION_READ 1
#define AMATERS_QACTION_WRITE 2
#define AMATERS_QACTION_ADMIN 4

struct amaters_qctx;

/* Authorization hook, consulted before each query touches data (every
 * query of a batch too). check: collection is NULL for server-wide actions
 * (admin commands, whose name is in what); returns 0 to allow, or
 * AMATERS_EPERM after setting a message with amaters_qctx_fail.
 * admin_done (may be NULL): called once an admin command that check
 * allowed has run, with its name, 0 or its error code, and the message the
 * client gets ("" on success); for the audit trail. Both run on the
 * calling thread. */
struct amaters_authz_hook {
    int (*check)(void *arg, struct amaters_qctx *ctx, int action,
                 const uint8_t *collection, size_t collection_len,
                 const char *what);
    void *arg;
    void (*admin_done)(void *arg, const char *what, int rc, const char *err);
};

/* Per-call context. The caller owns the arena and sets the deadline. */
struct amaters_qctx {
    const struct amaters_authz_hook *authz; /* NULL = everything allowed */
    struct amaters_arena *arena;
    uint64_t deadline_ns; /* amaters_now_ns() clock; 0 = no deadline */
    long err_index;       /* batch: index of the failing query, else -1 */
    char err[512];        /* message for the client when rc < 0 */
    /* Set by the caller: a single SET may then be handed back in
     * `deferred` instead of written (engines with write_async only), and
     * the caller must pass it to amaters_exec_write_deferred before it
     * answers. */
    bool defer_writes;
    bool has_deferred;
    struct amaters_write_op deferred;
};

/* Creates an executor over engine (borrowed: it must outlive the
 * executor). *out is owned by the caller; free with amaters_exec_destroy. */
int amaters_exec_create(struct amaters_engine *engine,
                        const struct amaters_exec_options *opts,
                        struct amaters_exec **out);
void amaters_exec_destroy(struct amaters_exec *x);

/* Removes the temporary files (<name>.amb.tmp.<pid>.<serial>) that a BACKUP
 * interrupted by a crash left in the backup directory, logging each (WARN)
 * and any it cannot remove. Other files are never touched. Call at start-up
 * while holding the data-directory lock, before serving (no BACKUP can be
 * running). Returns the number of files removed. */
unsigned amaters_exec_clean_stale_backups(struct amaters_exec *x);

/* Initialises ctx for a call with the given arena (deadline 0). */
void amaters_qctx_init(struct amaters_qctx *ctx, struct amaters_arena *arena);

/* Sets a message for the client and returns rc (for `return fail(...)`). */
int amaters_qctx_fail(struct amaters_qctx *ctx, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Returns "get", "set", "delete", "filter", "update", "range" or
 * "unknown" for metrics and logs. */
const char *amaters_query_kind(const Amaters__Query__Query *q);

/* Checks a request's protocol version (absent or 0.x is accepted). */
int amaters_check_version(struct amaters_qctx *ctx,
                          const Amaters__Types__Version *v);

/* Executes one query. On success *out points to a QueryResult in the
 * arena. */
int amaters_exec_query(struct amaters_exec *x, struct amaters_qctx *ctx,
                       const Amaters__Query__Query *q,
                       Amaters__Query__QueryResult **out);

/* Executes n queries as one atomic, serializable unit: reads see earlier
 * writes of the batch, all writes commit together or none do. On failure
 * ctx->err_index names the failing query. *out is an arena array of n
 * results. */
int amaters_exec_batch(struct amaters_exec *x, struct amaters_qctx *ctx,
                       Amaters__Query__Query *const *queries, size_t n,
                       Amaters__Aql__IsolationLevel isolation,
                       Amaters__Query__QueryResult ***out);

/* Opens a streaming cursor for a GET or RANGE query (other kinds:
 * AMATERS_EUNSUPPORTED). The cursor reads from a live engine iterator, one
 * chunk at a time. *out is owned by the caller: amaters_cursor_close. */
int amaters_cursor_open(struct amaters_exec *x, struct amaters_qctx *ctx,
                        const Amaters__Query__Query *q,
                        struct amaters_cursor **out);

/* Fills the next chunk: up to stream_batch_size key/values (fewer when
 * they grow past the chunk byte budget) allocated in ctx->arena. Returns 1
 * with *values / *n set, 0 when the cursor is exhausted (no values), or a
 * negative code. *has_more tells whether another call may return values. */
int amaters_cursor_next(struct amaters_cursor *c, struct amaters_qctx *ctx,
                        Amaters__Query__KeyValue ***values, size_t *n,
                        bool *has_more);

/* Total key/values returned so far. */
uint64_t amaters_cursor_count(const struct amaters_cursor *c);
void amaters_cursor_close(struct amaters_cursor *c);

/* Hands ctx->deferred to the engine's write_async: returns 0 when queued
 * (done(arg, rc) then runs exactly once on an engine thread, and ctx and
 * its arena must stay alive until then), or a negative code (done is not
 * called). */
int amaters_exec_write_deferred(struct amaters_exec *x,
                                struct amaters_qctx *ctx,
                                void (*done)(void *arg, int rc), void *arg);

/* Engine figures for STATS and the metrics collector. */
int amaters_exec_stats(struct amaters_exec *x, uint64_t *keys,
                       uint64_t *bytes);

/* All of the engine's figures (keys, bytes and write-path health). */
int amaters_exec_engine_stats(struct amaters_exec *x,
                              struct amaters_engine_stats *out);

#endif
