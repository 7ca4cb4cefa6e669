/*
 * internal.h - state and helpers shared by the executor's files
 * (exec.c, batch.c, cursor.c, admin.c, backup.c). Not for other modules.
 */
#ifndef AMATERS_QUERY_INTERNAL_H
#define AMATERS_QUERY_INTERNAL_H

#include <pthread.h>

#include "query/query.h"
#include "storage/engine.h"
#include "storage/record.h"

#define AMATERS_ADMIN_PREFIX "__admin__:"
#define AMATERS_CHUNK_BYTES ((size_t)4 << 20)
#define AMATERS_DELETE_STRIPES 64

/* Shared by all workers. opts strings are owned copies. The rwlock makes
 * batches serializable: single queries hold it shared, batches exclusive.
 * delete_mu stripes make DELETE's "did it exist" answer exact. */
struct amaters_exec {
    struct amaters_engine *engine;
    struct amaters_exec_options opts;
    pthread_rwlock_t txn;
    pthread_mutex_t delete_mu[AMATERS_DELETE_STRIPES];
    uint64_t started_ns;
};

/* A user key in engine form, in the arena. */
struct ekey {
    uint8_t *p;
    size_t len;
};

int q_check_collection(struct amaters_qctx *ctx, ProtobufCBinaryData coll,
                       const char *what);
int q_check_key(struct amaters_exec *x, struct amaters_qctx *ctx,
                const Amaters__Types__Key *key, const char *what);
int q_encode_key(struct amaters_qctx *ctx, ProtobufCBinaryData coll,
                 const Amaters__Types__Key *key, struct ekey *out);
/* Validates a SET's value (present, metadata, size, CRC) and encodes the
 * record into the arena. */
int q_encode_set(struct amaters_exec *x, struct amaters_qctx *ctx,
                 const Amaters__Query__SetQuery *s, uint8_t **rec,
                 size_t *rec_len);
/* Builds a CipherBlob in the arena from a stored record; the record's data
 * must already live as long as the arena. */
Amaters__Types__CipherBlob *q_blob(struct amaters_qctx *ctx,
                                   const struct amaters_record *r);
/* Decodes a stored record (verifying its CRC) and returns it as a blob.
 * buf must already live as long as the arena. */
int q_decode_blob(struct amaters_qctx *ctx, const uint8_t *ek, size_t ek_len,
                  const uint8_t *buf, size_t len,
                  Amaters__Types__CipherBlob **out);
Amaters__Query__QueryResult *q_result_single(struct amaters_qctx *ctx,
                                             Amaters__Types__CipherBlob *b);
Amaters__Query__QueryResult *q_result_success(struct amaters_qctx *ctx,
                                              uint64_t affected);
Amaters__Query__QueryResult *q_result_multi(struct amaters_qctx *ctx,
                                            Amaters__Query__KeyValue **kv,
                                            size_t n);
Amaters__Query__KeyValue *q_kv(struct amaters_qctx *ctx, const uint8_t *ukey,
                               size_t ukey_len,
                               Amaters__Types__CipherBlob *blob);
int q_deadline(struct amaters_qctx *ctx);
/* Engine bounds of a RANGE query, in the arena. */
int q_range_bounds(struct amaters_exec *x, struct amaters_qctx *ctx,
                   const Amaters__Query__RangeQuery *r, struct ekey *lo,
                   struct ekey *hi);
int q_is_admin(const Amaters__Query__GetQuery *g);

/* Whether c separates the words of an admin command line: ASCII white
 * space (a trailing newline from a shell pipe is not part of a word). */
static inline bool q_admin_sep(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}
/* Asks ctx's authorization hook whether q may run. */
int q_authorize(struct amaters_qctx *ctx, const Amaters__Query__Query *q);

/* admin.c: runs an admin command GET. */
int q_admin(struct amaters_exec *x, struct amaters_qctx *ctx,
            const Amaters__Query__GetQuery *g,
            Amaters__Query__QueryResult **out);

/* backup.c */
int q_backup(struct amaters_exec *x, struct amaters_qctx *ctx,
             const char *name, uint64_t *keys, uint64_t *bytes);
int q_restore(struct amaters_exec *x, struct amaters_qctx *ctx,
              const char *name, uint64_t *keys, uint64_t *bytes);

/* metrics.c of this module: per-kind counters and latency. */
void q_metrics_corrupt(void);

#endif
