/*
 * cursor.c - streaming reads: a cursor over a GET (zero or one value) or a
 * RANGE (a live engine iterator), producing bounded chunks. One item is
 * read ahead so that each chunk knows whether another follows (has_more).
 * Only the current chunk and the look-ahead item are held in memory.
 */
#include "query/internal.h"

#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/errors.h"
#include "storage/keys.h"

struct amaters_cursor {
    struct amaters_exec *x;
    struct amaters_engine_iter *it; /* RANGE only */
    bool is_get;
    bool has_limit;
    uint32_t limit;
    uint64_t count;
    bool exhausted;
    /* look-ahead item (heap copies, owned by the cursor) */
    bool have_next;
    uint8_t *nk, *nv;
    size_t nk_len, nv_len;
};

int q_range_bounds(struct amaters_exec *x, struct amaters_qctx *ctx,
                   const Amaters__Query__RangeQuery *r, struct ekey *lo,
                   struct ekey *hi)
{
    const uint8_t *s = NULL, *e = NULL;
    size_t sl = 0, el = 0;
    uint8_t *lp = NULL, *hp = NULL;
    int rc = q_check_collection(ctx, r->collection, "range");
    if (rc)
        return rc;
    if (r->start) {
        s = r->start->data.data;
        sl = r->start->data.len;
    }
    if (r->end) {
        e = r->end->data.data ? r->end->data.data : (const uint8_t *)"";
        el = r->end->data.len;
    }
    if (sl > x->opts.max_key_bytes || el > x->opts.max_key_bytes)
        return amaters_qctx_fail(ctx, AMATERS_ETOOBIG,
                                 "range: bound key is longer than %zu bytes",
                                 x->opts.max_key_bytes);
    rc = amaters_key_range((const char *)r->collection.data,
                           r->collection.len, s ? s : (const uint8_t *)"", sl,
                           e, el, &lp, &lo->len, &hp, &hi->len);
    if (rc)
        return amaters_qctx_fail(ctx, rc, "range: bounds: %s",
                                 amaters_strerror(rc));
    if (amaters_arena_adopt(ctx->arena, lp) ||
        amaters_arena_adopt(ctx->arena, hp))
        return amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
    lo->p = lp;
    hi->p = hp;
    return 0;
}

/* Reads the next engine item into the look-ahead slot. */
static int read_ahead(struct amaters_cursor *c, struct amaters_qctx *ctx)
{
    const uint8_t *k, *v;
    size_t kl, vl;

    c->have_next = false;
    amaters_free(c->nk);
    amaters_free(c->nv);
    c->nk = c->nv = NULL;
    if (c->exhausted || c->it == NULL ||
        (c->has_limit && c->count >= c->limit))
        return 0;
    int rc = amaters_engine_iter_next(c->it, &k, &kl, &v, &vl);
    if (rc < 0)
        return amaters_qctx_fail(ctx, rc, "range: storage: %s",
                                 amaters_strerror(rc));
    if (rc == 0) {
        c->exhausted = true;
        return 0;
    }
    c->nk = amaters_memdup(k, kl);
    c->nv = amaters_memdup(v, vl);
    if (c->nk == NULL || c->nv == NULL)
        return amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
    c->nk_len = kl;
    c->nv_len = vl;
    c->have_next = true;
    return 0;
}

static int open_get(struct amaters_cursor *c, struct amaters_qctx *ctx,
                    const Amaters__Query__GetQuery *g)
{
    struct ekey ek;
    uint8_t *val = NULL;
    size_t len = 0;
    int rc;

    if (q_is_admin(g))
        return amaters_qctx_fail(ctx, AMATERS_EUNSUPPORTED,
                                 "admin commands are not streamed; use "
                                 "ExecuteQuery");
    rc = q_check_collection(ctx, g->collection, "get");
    if (rc == 0)
        rc = q_check_key(c->x, ctx, g->key, "get");
    if (rc == 0)
        rc = q_encode_key(ctx, g->collection, g->key, &ek);
    if (rc)
        return rc;
    c->is_get = true;
    rc = amaters_engine_get(c->x->engine, ek.p, ek.len, &val, &len);
    if (rc == AMATERS_ENOTFOUND) {
        c->exhausted = true;
        return 0;
    }
    if (rc)
        return amaters_qctx_fail(ctx, rc, "get: storage: %s",
                                 amaters_strerror(rc));
    c->nk = amaters_memdup(ek.p, ek.len);
    c->nv = val;
    if (c->nk == NULL)
        return amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
    c->nk_len = ek.len;
    c->nv_len = len;
    c->have_next = true;
    c->exhausted = true; /* nothing after the look-ahead item */
    return 0;
}

static int open_range(struct amaters_cursor *c, struct amaters_qctx *ctx,
                      const Amaters__Query__RangeQuery *r)
{
    struct ekey lo, hi;
    int rc = q_range_bounds(c->x, ctx, r, &lo, &hi);
    if (rc)
        return rc;
    c->has_limit = r->_limit_case == AMATERS__QUERY__RANGE_QUERY___LIMIT_LIMIT;
    c->limit = r->limit;
    /* start >= end: an empty range (the bounds say so; do not scan). */
    size_t m = lo.len < hi.len ? lo.len : hi.len;
    int cmp = memcmp(lo.p, hi.p, m);
    if (cmp > 0 || (cmp == 0 && lo.len >= hi.len)) {
        c->exhausted = true;
        return 0;
    }
    rc = amaters_engine_iter_open(c->x->engine, lo.p, lo.len, hi.p, hi.len,
                                  &c->it);
    if (rc)
        return amaters_qctx_fail(ctx, rc, "range: storage: %s",
                                 amaters_strerror(rc));
    return read_ahead(c, ctx);
}

int amaters_cursor_open(struct amaters_exec *x, struct amaters_qctx *ctx,
                        const Amaters__Query__Query *q,
                        struct amaters_cursor **out)
{
    int rc;
    struct amaters_cursor *c;

    *out = NULL;
    if (q == NULL)
        return amaters_qctx_fail(ctx, AMATERS_EMISSING,
                                 "field 'query' is required");
    if (q->query_case != AMATERS__QUERY__QUERY__QUERY_GET &&
        q->query_case != AMATERS__QUERY__QUERY__QUERY_RANGE) {
        if (q->query_case == AMATERS__QUERY__QUERY__QUERY__NOT_SET)
            return amaters_qctx_fail(ctx, AMATERS_EMISSING,
                                     "query: no query kind set");
        return amaters_qctx_fail(ctx, AMATERS_EUNSUPPORTED,
                                 "ExecuteStream serves GET and RANGE only, "
                                 "not %s",
                                 amaters_query_kind(q));
    }
    rc = q_authorize(ctx, q);
    if (rc)
        return rc;
    c = amaters_calloc(1, sizeof *c);
    if (c == NULL)
        return amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
    c->x = x;
    if (q->query_case == AMATERS__QUERY__QUERY__QUERY_GET)
        rc = open_get(c, ctx, q->get);
    else
        rc = open_range(c, ctx, q->range);
    if (rc) {
        amaters_cursor_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Moves the look-ahead item into the chunk (arena) and reads the next. */
static int take(struct amaters_cursor *c, struct amaters_qctx *ctx,
                Amaters__Query__KeyValue **kv, size_t *bytes)
{
    const uint8_t *coll, *ukey;
    size_t coll_len, ukey_len;
    Amaters__Types__CipherBlob *blob;
    uint8_t *k = c->nk, *v = c->nv;
    size_t kl = c->nk_len, vl = c->nv_len;

    c->nk = c->nv = NULL;
    c->have_next = false;
    if (amaters_arena_adopt(ctx->arena, k) ||
        amaters_arena_adopt(ctx->arena, v))
        return amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
    int rc = amaters_key_decode(k, kl, &coll, &coll_len, &ukey, &ukey_len);
    if (rc)
        return amaters_qctx_fail(ctx, AMATERS_ECORRUPT,
                                 "range: stored key is malformed");
    rc = q_decode_blob(ctx, k, kl, v, vl, &blob);
    if (rc)
        return rc;
    *kv = q_kv(ctx, ukey, ukey_len, blob);
    if (*kv == NULL)
        return amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
    *bytes += kl + vl + 64;
    c->count++;
    if (c->is_get)
        return 0;
    return read_ahead(c, ctx);
}

int amaters_cursor_next(struct amaters_cursor *c, struct amaters_qctx *ctx,
                        Amaters__Query__KeyValue ***values, size_t *n,
                        bool *has_more)
{
    size_t max = c->x->opts.stream_batch_size, got = 0, bytes = 0;
    Amaters__Query__KeyValue **arr;
    int rc;

    *n = 0;
    *has_more = false;
    if (!c->have_next)
        return 0;
    rc = q_deadline(ctx);
    if (rc)
        return rc;
    arr = amaters_arena_alloc(ctx->arena, max * sizeof *arr);
    if (arr == NULL)
        return amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
    /* A chunk holds at most `max` values and stays under the byte budget
     * (a single larger value travels alone). */
    size_t budget = c->x->opts.max_result_bytes < AMATERS_CHUNK_BYTES
                        ? c->x->opts.max_result_bytes
                        : AMATERS_CHUNK_BYTES;
    while (c->have_next && got < max &&
           (got == 0 || bytes + c->nk_len + c->nv_len + 64 <= budget)) {
        rc = take(c, ctx, &arr[got], &bytes);
        if (rc)
            return rc;
        got++;
    }
    *values = arr;
    *n = got;
    *has_more = c->have_next;
    return 1;
}

uint64_t amaters_cursor_count(const struct amaters_cursor *c)
{
    return c->count;
}

void amaters_cursor_close(struct amaters_cursor *c)
{
    if (c == NULL)
        return;
    amaters_engine_iter_close(c->it);
    amaters_free(c->nk);
    amaters_free(c->nv);
    amaters_free(c);
}
