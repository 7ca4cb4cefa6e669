/*
 * batch.c - ExecuteBatch: n queries as one atomic, serializable unit.
 *
 * The batch holds the executor's transaction lock exclusively, so no other
 * query runs between its reads and its commit (every isolation level gets
 * serializable execution, the strongest). Writes go to an overlay (a hash
 * map from engine key to the pending record, or a tombstone) that later
 * reads of the batch consult first; RANGE merges the overlay with the
 * engine. At the end every pending write is applied with one atomic engine
 * write, or nothing is applied when any query failed. Before its first
 * read the batch waits until writes other calls already queued with the
 * engine are applied (amaters_engine_barrier), so it reads the latest
 * acknowledged or queued state.
 *
 * Read-modify-write across calls (optimistic versions): a client that
 * reads a value, computes a new one and writes it back can lose a
 * concurrent update, because its read and its write are separate calls.
 * In a batch with isolation SERIALIZABLE or REPEATABLE_READ, a SET whose
 * metadata carries `version` v >= 1 of a key that an earlier GET of the
 * same batch read is conditional: it commits only if the version that GET
 * saw is v - 1 (an absent key, or a value stored without a version, counts
 * as version 0). Otherwise the batch fails with AMATERS_ECONFLICT
 * (ERROR_STORAGE_ALREADY_EXISTS, category RETRYABLE), nothing is applied,
 * and the client re-reads and retries. Other isolation levels, SETs
 * without a version and keys the batch did not read are unconditional.
 */
#include "query/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/crc32.h"
#include "core/errors.h"
#include "storage/keys.h"

struct pending {
    struct pending *next_in_bucket;
    uint8_t *key;
    size_t key_len;
    uint8_t *rec; /* NULL = deleted */
    size_t rec_len;
    size_t order; /* first-write order, for the commit */
    uint32_t read_version; /* reads table only: version the GET saw */
};

struct overlay {
    struct pending **buckets;
    size_t nbuckets;
    struct pending **all;
    size_t n, cap;
};

struct batch {
    struct amaters_exec *x;
    struct amaters_qctx *ctx;
    struct overlay ov;
    struct overlay reads; /* keys GET read, when versions are checked */
    bool check_versions;  /* SERIALIZABLE or REPEATABLE_READ */
    size_t answer_bytes;  /* values the answer will carry */
};

/* Counts bytes the answer will carry; the batch fails (and applies
 * nothing) when its answer could not be sent. */
static int account(struct batch *b, size_t n)
{
    b->answer_bytes += n + 64;
    if (b->answer_bytes > b->x->opts.max_result_bytes)
        return amaters_qctx_fail(b->ctx, AMATERS_ETOOBIG,
                                 "the batch's answer would exceed %zu bytes "
                                 "(limits.max_message_bytes); nothing was "
                                 "applied",
                                 b->x->opts.max_result_bytes);
    return 0;
}

static struct pending *ov_find(struct overlay *ov, const uint8_t *k,
                               size_t len)
{
    uint32_t h = amaters_crc32(0, k, len) % ov->nbuckets;
    for (struct pending *p = ov->buckets[h]; p; p = p->next_in_bucket) {
        if (p->key_len == len && memcmp(p->key, k, len) == 0)
            return p;
    }
    return NULL;
}

static int ov_put_in(struct batch *b, struct overlay *ov,
                     const struct ekey *ek, uint8_t *rec, size_t rec_len)
{
    struct pending *p = ov_find(ov, ek->p, ek->len);
    if (p == NULL) {
        p = amaters_arena_alloc(b->ctx->arena, sizeof *p);
        if (p == NULL || ov->n == ov->cap)
            return AMATERS_ENOMEM;
        uint32_t h = amaters_crc32(0, ek->p, ek->len) % ov->nbuckets;
        p->key = ek->p;
        p->key_len = ek->len;
        p->next_in_bucket = ov->buckets[h];
        ov->buckets[h] = p;
        p->order = ov->n;
        ov->all[ov->n++] = p;
    }
    p->rec = rec;
    p->rec_len = rec_len;
    return 0;
}

static int ov_put(struct batch *b, const struct ekey *ek, uint8_t *rec,
                  size_t rec_len)
{
    return ov_put_in(b, &b->ov, ek, rec, rec_len);
}

/* The version a value carries: metadata.version, 0 when unset. */
static uint32_t blob_version(const Amaters__Types__CipherBlob *blob)
{
    const Amaters__Types__CipherMetadata *m = blob ? blob->metadata : NULL;

    if (m == NULL ||
        m->_version_case != AMATERS__TYPES__CIPHER_METADATA___VERSION_VERSION)
        return 0;
    return m->version;
}

/* Remembers that the batch's GET saw key at version v (last GET wins). */
static int note_read(struct batch *b, const struct ekey *ek, uint32_t v)
{
    int rc = ov_put_in(b, &b->reads, ek, NULL, 0);

    if (rc == 0)
        ov_find(&b->reads, ek->p, ek->len)->read_version = v;
    return rc;
}

/* Writes up to 48 bytes of k into out (200 bytes) for a message:
 * printable ASCII as is, other bytes as \xNN, "..." when cut. */
static void key_text(const ProtobufCBinaryData *k, char *out)
{
    size_t o = 0;
    size_t n = k->len < 48 ? k->len : 48;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = k->data[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
    }
    if (k->len > n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* The optimistic version check of a SET (see the file comment). */
static int check_version(struct batch *b, const struct ekey *ek,
                         const Amaters__Query__SetQuery *s)
{
    uint32_t want = blob_version(s->value);
    struct pending *r;
    char kt[200], ct[200];

    if (!b->check_versions || want == 0)
        return 0;
    r = ov_find(&b->reads, ek->p, ek->len);
    if (r == NULL || r->read_version == want - 1)
        return 0;
    key_text(&s->key->data, kt);
    key_text(&s->collection, ct);
    return amaters_qctx_fail(
        b->ctx, AMATERS_ECONFLICT,
        "set: write conflict on key '%s' in collection '%s': it is at "
        "version %u but this write (version %u) expects %u; nothing was "
        "applied: read the key again and retry the batch",
        kt, ct, r->read_version, want, want - 1);
}

/* Reads key through the overlay: 1 found (rec set), 0 absent, <0 error.
 * A record read from the engine is adopted by the arena. */
static int read_through(struct batch *b, const struct ekey *ek, uint8_t **rec,
                        size_t *rec_len)
{
    struct pending *p = ov_find(&b->ov, ek->p, ek->len);
    if (p) {
        *rec = p->rec;
        *rec_len = p->rec_len;
        return p->rec != NULL;
    }
    int rc = amaters_engine_get(b->x->engine, ek->p, ek->len, rec, rec_len);
    if (rc == AMATERS_ENOTFOUND)
        return 0;
    if (rc)
        return amaters_qctx_fail(b->ctx, rc, "storage: %s",
                                 amaters_strerror(rc));
    if (amaters_arena_adopt(b->ctx->arena, *rec))
        return amaters_qctx_fail(b->ctx, AMATERS_ENOMEM, "out of memory");
    return 1;
}

static int b_get(struct batch *b, const Amaters__Query__GetQuery *g,
                 Amaters__Query__QueryResult **out)
{
    struct ekey ek;
    uint8_t *rec = NULL;
    size_t len = 0;
    Amaters__Types__CipherBlob *blob = NULL;
    int rc;

    if (q_is_admin(g))
        return amaters_qctx_fail(b->ctx, AMATERS_EINVAL,
                                 "admin commands cannot run in a batch");
    rc = q_check_collection(b->ctx, g->collection, "get");
    if (rc == 0)
        rc = q_check_key(b->x, b->ctx, g->key, "get");
    if (rc == 0)
        rc = q_encode_key(b->ctx, g->collection, g->key, &ek);
    if (rc == 0)
        rc = read_through(b, &ek, &rec, &len);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        rc = q_decode_blob(b->ctx, ek.p, ek.len, rec, len, &blob);
        if (rc == 0)
            rc = account(b, len);
        if (rc)
            return rc;
    }
    if (b->check_versions && note_read(b, &ek, blob_version(blob)))
        return amaters_qctx_fail(b->ctx, AMATERS_ENOMEM, "out of memory");
    *out = q_result_single(b->ctx, blob);
    return *out ? 0 : AMATERS_ENOMEM;
}

static int b_set(struct batch *b, const Amaters__Query__SetQuery *s,
                 Amaters__Query__QueryResult **out)
{
    struct ekey ek;
    uint8_t *rec = NULL;
    size_t rec_len = 0;
    int rc = q_check_collection(b->ctx, s->collection, "set");
    if (rc == 0)
        rc = q_check_key(b->x, b->ctx, s->key, "set");
    if (rc == 0)
        rc = q_encode_set(b->x, b->ctx, s, &rec, &rec_len);
    if (rc == 0)
        rc = q_encode_key(b->ctx, s->collection, s->key, &ek);
    if (rc == 0)
        rc = check_version(b, &ek, s);
    if (rc == 0)
        rc = ov_put(b, &ek, rec, rec_len);
    if (rc)
        return rc;
    *out = q_result_success(b->ctx, 1);
    return *out ? 0 : AMATERS_ENOMEM;
}

static int b_delete(struct batch *b, const Amaters__Query__DeleteQuery *d,
                    Amaters__Query__QueryResult **out)
{
    struct ekey ek;
    uint8_t *rec = NULL;
    size_t len = 0;
    int rc = q_check_collection(b->ctx, d->collection, "delete");
    if (rc == 0)
        rc = q_check_key(b->x, b->ctx, d->key, "delete");
    if (rc == 0)
        rc = q_encode_key(b->ctx, d->collection, d->key, &ek);
    if (rc == 0)
        rc = read_through(b, &ek, &rec, &len);
    if (rc < 0)
        return rc;
    int existed = rc;
    rc = ov_put(b, &ek, NULL, 0);
    if (rc)
        return rc;
    *out = q_result_success(b->ctx, (uint64_t)existed);
    return *out ? 0 : AMATERS_ENOMEM;
}

static int cmp_key(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

static int cmp_pending(const void *a, const void *b)
{
    const struct pending *x = *(const struct pending *const *)a;
    const struct pending *y = *(const struct pending *const *)b;
    return cmp_key(x->key, x->key_len, y->key, y->key_len);
}

/* Collects overlay entries in [lo, hi), sorted. */
static int ov_slice(struct batch *b, const struct ekey *lo,
                    const struct ekey *hi, struct pending ***out, size_t *n)
{
    struct pending **arr =
        amaters_arena_alloc(b->ctx->arena, (b->ov.n + 1) * sizeof *arr);
    if (arr == NULL)
        return AMATERS_ENOMEM;
    *n = 0;
    for (size_t i = 0; i < b->ov.n; i++) {
        struct pending *p = b->ov.all[i];
        if (cmp_key(p->key, p->key_len, lo->p, lo->len) >= 0 &&
            cmp_key(p->key, p->key_len, hi->p, hi->len) < 0)
            arr[(*n)++] = p;
    }
    qsort(arr, *n, sizeof *arr, cmp_pending);
    *out = arr;
    return 0;
}

struct range_out {
    Amaters__Query__KeyValue **kv;
    size_t n, cap;
};

static int emit(struct batch *b, struct range_out *ro, const uint8_t *k,
                size_t kl, const uint8_t *rec, size_t rl)
{
    const uint8_t *coll, *ukey;
    size_t cl, ul;
    Amaters__Types__CipherBlob *blob;
    if (ro->n == ro->cap) {
        size_t ncap = ro->cap ? ro->cap * 2 : 64;
        Amaters__Query__KeyValue **na =
            amaters_arena_alloc(b->ctx->arena, ncap * sizeof *na);
        if (na == NULL)
            return AMATERS_ENOMEM;
        if (ro->n)
            memcpy(na, ro->kv, ro->n * sizeof *na);
        ro->kv = na;
        ro->cap = ncap;
    }
    /* Engine iterator buffers live only until its next call: copy. */
    k = amaters_arena_memdup(b->ctx->arena, k, kl);
    rec = amaters_arena_memdup(b->ctx->arena, rec, rl);
    if (k == NULL || rec == NULL)
        return AMATERS_ENOMEM;
    if (amaters_key_decode(k, kl, &coll, &cl, &ukey, &ul))
        return amaters_qctx_fail(b->ctx, AMATERS_ECORRUPT,
                                 "range: stored key is malformed");
    int rc = q_decode_blob(b->ctx, k, kl, rec, rl, &blob);
    if (rc)
        return rc;
    ro->kv[ro->n] = q_kv(b->ctx, ukey, ul, blob);
    if (ro->kv[ro->n] == NULL)
        return AMATERS_ENOMEM;
    ro->n++;
    return account(b, kl + rl);
}

static int b_range(struct batch *b, const Amaters__Query__RangeQuery *r,
                   Amaters__Query__QueryResult **out)
{
    struct ekey lo, hi;
    struct pending **ov = NULL;
    size_t nov = 0, oi = 0;
    struct amaters_engine_iter *it = NULL;
    struct range_out ro = {0};
    bool has_limit = r->_limit_case == AMATERS__QUERY__RANGE_QUERY___LIMIT_LIMIT;
    const uint8_t *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    int erc = 0, rc = q_range_bounds(b->x, b->ctx, r, &lo, &hi);

    if (rc == 0 && cmp_key(lo.p, lo.len, hi.p, hi.len) >= 0)
        goto done;
    if (rc == 0)
        rc = ov_slice(b, &lo, &hi, &ov, &nov);
    if (rc == 0)
        rc = amaters_engine_iter_open(b->x->engine, lo.p, lo.len, hi.p,
                                      hi.len, &it);
    if (rc == 0)
        erc = amaters_engine_iter_next(it, &k, &kl, &v, &vl);
    while (rc == 0 && erc >= 0 && (erc == 1 || oi < nov)) {
        if (has_limit && ro.n >= r->limit)
            break;
        int c = erc == 0   ? 1
                : oi == nov ? -1
                            : cmp_key(k, kl, ov[oi]->key, ov[oi]->key_len);
        if (c < 0) {
            rc = emit(b, &ro, k, kl, v, vl);
            erc = amaters_engine_iter_next(it, &k, &kl, &v, &vl);
            continue;
        }
        if (ov[oi]->rec)
            rc = emit(b, &ro, ov[oi]->key, ov[oi]->key_len, ov[oi]->rec,
                      ov[oi]->rec_len);
        oi++;
        if (c == 0 && rc == 0)
            erc = amaters_engine_iter_next(it, &k, &kl, &v, &vl);
    }
    if (rc == 0 && erc < 0)
        rc = amaters_qctx_fail(b->ctx, erc, "range: storage: %s",
                               amaters_strerror(erc));
done:
    amaters_engine_iter_close(it);
    if (rc)
        return rc;
    *out = q_result_multi(b->ctx, ro.kv, ro.n);
    return *out ? 0 : AMATERS_ENOMEM;
}

static int b_one(struct batch *b, const Amaters__Query__Query *q,
                 Amaters__Query__QueryResult **out)
{
    if (q == NULL)
        return amaters_qctx_fail(b->ctx, AMATERS_EMISSING, "query is empty");
    int rc = q_authorize(b->ctx, q);
    if (rc)
        return rc;
    switch (q->query_case) {
    case AMATERS__QUERY__QUERY__QUERY_GET:
        return b_get(b, q->get, out);
    case AMATERS__QUERY__QUERY__QUERY_SET:
        return b_set(b, q->set, out);
    case AMATERS__QUERY__QUERY__QUERY_DELETE:
        return b_delete(b, q->delete_, out);
    case AMATERS__QUERY__QUERY__QUERY_RANGE:
        return b_range(b, q->range, out);
    case AMATERS__QUERY__QUERY__QUERY_FILTER:
    case AMATERS__QUERY__QUERY__QUERY_UPDATE:
        return amaters_qctx_fail(b->ctx, AMATERS_EUNSUPPORTED,
                                 "%s on encrypted values is not provided by "
                                 "this server version yet",
                                 amaters_query_kind(q));
    default:
        return amaters_qctx_fail(b->ctx, AMATERS_EMISSING,
                                 "no query kind set");
    }
}

static int commit(struct batch *b)
{
    size_t n = b->ov.n;
    if (n == 0)
        return 0;
    struct amaters_write_op *ops =
        amaters_arena_alloc(b->ctx->arena, n * sizeof *ops);
    if (ops == NULL)
        return AMATERS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct pending *p = b->ov.all[i];
        ops[i].kind = p->rec ? AMATERS_WRITE_PUT : AMATERS_WRITE_DELETE;
        ops[i].key = p->key;
        ops[i].key_len = p->key_len;
        ops[i].value = p->rec;
        ops[i].value_len = p->rec_len;
    }
    int rc = amaters_engine_write(b->x->engine, ops, n);
    if (rc)
        return amaters_qctx_fail(b->ctx, rc, "commit: storage: %s",
                                 amaters_strerror(rc));
    return 0;
}

static int overlay_init(struct batch *b, struct overlay *ov, size_t n)
{
    ov->nbuckets = n < 8 ? 16 : n * 2;
    ov->cap = n;
    ov->buckets =
        amaters_arena_alloc(b->ctx->arena, ov->nbuckets * sizeof(void *));
    ov->all = amaters_arena_alloc(b->ctx->arena, (n + 1) * sizeof(void *));
    return ov->buckets && ov->all ? 0 : AMATERS_ENOMEM;
}

int amaters_exec_batch(struct amaters_exec *x, struct amaters_qctx *ctx,
                       Amaters__Query__Query *const *queries, size_t n,
                       Amaters__Aql__IsolationLevel isolation,
                       Amaters__Query__QueryResult ***out)
{
    struct batch b = {x, ctx, {0}, {0}, false, 0};
    Amaters__Query__QueryResult **res;
    int rc;

    /* every level runs serializable (see the file comment); the two
     * strongest also check optimistic versions */
    b.check_versions =
        isolation == AMATERS__AQL__ISOLATION_LEVEL__ISOLATION_SERIALIZABLE ||
        isolation == AMATERS__AQL__ISOLATION_LEVEL__ISOLATION_REPEATABLE_READ;
    if (n > x->opts.max_batch_queries)
        return amaters_qctx_fail(ctx, AMATERS_ETOOBIG,
                                 "batch has %zu queries; the limit is %zu", n,
                                 x->opts.max_batch_queries);
    res = amaters_arena_alloc(ctx->arena, (n + 1) * sizeof *res);
    if (res == NULL || overlay_init(&b, &b.ov, n) ||
        (b.check_versions && overlay_init(&b, &b.reads, n)))
        return amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
    rc = q_deadline(ctx);
    if (rc)
        return rc;
    pthread_rwlock_wrlock(&x->txn);
    amaters_engine_barrier(x->engine);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = b_one(&b, queries[i], &res[i]);
        if (rc == 0)
            rc = q_deadline(ctx);
        if (rc) {
            ctx->err_index = (long)i;
            if (ctx->err[0] == '\0')
                amaters_qctx_fail(ctx, rc, "%s", amaters_strerror(rc));
        }
    }
    if (rc == 0)
        rc = commit(&b);
    pthread_rwlock_unlock(&x->txn);
    if (rc == 0)
        *out = res;
    return rc;
}
