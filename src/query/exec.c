/*
 * exec.c - the executor's life cycle and the single-query paths: GET, SET,
 * DELETE, RANGE (materialised through a cursor), FILTER/UPDATE refusal.
 */
#include "query/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/crc32.h"
#include "core/errors.h"
#include "core/timeutil.h"
#include "storage/keys.h"

static char *dup_or_empty(const char *s)
{
    return amaters_strdup(s ? s : "");
}

int amaters_exec_create(struct amaters_engine *engine,
                        const struct amaters_exec_options *opts,
                        struct amaters_exec **out)
{
    struct amaters_exec *x = amaters_calloc(1, sizeof *x);
    if (x == NULL)
        return AMATERS_ENOMEM;
    x->engine = engine;
    x->opts = *opts;
    x->opts.backup_dir = dup_or_empty(opts->backup_dir);
    x->opts.engine_name = dup_or_empty(opts->engine_name);
    x->opts.node_address = dup_or_empty(opts->node_address);
    if (!x->opts.backup_dir || !x->opts.engine_name ||
        !x->opts.node_address) {
        amaters_exec_destroy(x);
        return AMATERS_ENOMEM;
    }
    if (x->opts.stream_batch_size == 0)
        x->opts.stream_batch_size = 100;
    pthread_rwlock_init(&x->txn, NULL);
    for (int i = 0; i < AMATERS_DELETE_STRIPES; i++)
        pthread_mutex_init(&x->delete_mu[i], NULL);
    x->started_ns = amaters_now_ns();
    *out = x;
    return 0;
}

void amaters_exec_destroy(struct amaters_exec *x)
{
    if (x == NULL)
        return;
    amaters_free((char *)x->opts.backup_dir);
    amaters_free((char *)x->opts.engine_name);
    amaters_free((char *)x->opts.node_address);
    if (x->started_ns) {
        pthread_rwlock_destroy(&x->txn);
        for (int i = 0; i < AMATERS_DELETE_STRIPES; i++)
            pthread_mutex_destroy(&x->delete_mu[i]);
    }
    amaters_free(x);
}

void amaters_qctx_init(struct amaters_qctx *ctx, struct amaters_arena *arena)
{
    ctx->authz = NULL;
    ctx->arena = arena;
    ctx->deadline_ns = 0;
    ctx->err_index = -1;
    ctx->err[0] = '\0';
    ctx->defer_writes = false;
    ctx->has_deferred = false;
}

int amaters_qctx_fail(struct amaters_qctx *ctx, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
    va_end(ap);
    return rc;
}

const char *amaters_query_kind(const Amaters__Query__Query *q)
{
    if (q == NULL)
        return "unknown";
    switch (q->query_case) {
    case AMATERS__QUERY__QUERY__QUERY_GET:
        return "get";
    case AMATERS__QUERY__QUERY__QUERY_SET:
        return "set";
    case AMATERS__QUERY__QUERY__QUERY_DELETE:
        return "delete";
    case AMATERS__QUERY__QUERY__QUERY_FILTER:
        return "filter";
    case AMATERS__QUERY__QUERY__QUERY_UPDATE:
        return "update";
    case AMATERS__QUERY__QUERY__QUERY_RANGE:
        return "range";
    default:
        return "unknown";
    }
}

int amaters_check_version(struct amaters_qctx *ctx,
                          const Amaters__Types__Version *v)
{
    if (v == NULL || v->major == 0)
        return 0;
    return amaters_qctx_fail(ctx, AMATERS_EVERSION,
                             "protocol version %u.%u.%u is not supported; "
                             "this server speaks 0.x (0.2.0)",
                             v->major, v->minor, v->patch);
}

int q_deadline(struct amaters_qctx *ctx)
{
    if (ctx->deadline_ns && amaters_now_ns() > ctx->deadline_ns)
        return amaters_qctx_fail(ctx, AMATERS_ETIMEOUT,
                                 "request deadline exceeded");
    return 0;
}

int q_check_collection(struct amaters_qctx *ctx, ProtobufCBinaryData coll,
                       const char *what)
{
    if (amaters_key_validate_collection((const char *)coll.data, coll.len))
        return amaters_qctx_fail(
            ctx, AMATERS_EBADCOLL,
            "%s: invalid collection name (%zu bytes): a collection is 1 to "
            "255 bytes of UTF-8 without NUL",
            what, coll.len);
    return 0;
}

int q_check_key(struct amaters_exec *x, struct amaters_qctx *ctx,
                const Amaters__Types__Key *key, const char *what)
{
    if (key == NULL)
        return amaters_qctx_fail(ctx, AMATERS_EMISSING,
                                 "%s: field 'key' is required", what);
    if (key->data.len == 0)
        return amaters_qctx_fail(ctx, AMATERS_EBADKEY,
                                 "%s: key must not be empty", what);
    if (key->data.len > x->opts.max_key_bytes)
        return amaters_qctx_fail(ctx, AMATERS_ETOOBIG,
                                 "%s: key is %zu bytes; the limit is %zu",
                                 what, key->data.len, x->opts.max_key_bytes);
    return 0;
}

int q_encode_key(struct amaters_qctx *ctx, ProtobufCBinaryData coll,
                 const Amaters__Types__Key *key, struct ekey *out)
{
    uint8_t *p = NULL;
    size_t n = 0;
    int rc = amaters_key_encode((const char *)coll.data, coll.len,
                                key->data.data, key->data.len, &p, &n);
    if (rc)
        return amaters_qctx_fail(ctx, rc, "encode key: %s",
                                 amaters_strerror(rc));
    if (amaters_arena_adopt(ctx->arena, p))
        return amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
    out->p = p;
    out->len = n;
    return 0;
}

int q_encode_set(struct amaters_exec *x, struct amaters_qctx *ctx,
                 const Amaters__Query__SetQuery *s, uint8_t **rec,
                 size_t *rec_len)
{
    const Amaters__Types__CipherBlob *v = s->value;
    if (v == NULL)
        return amaters_qctx_fail(ctx, AMATERS_EMISSING,
                                 "set: field 'value' is required");
    if (v->metadata == NULL)
        return amaters_qctx_fail(ctx, AMATERS_EMISSING,
                                 "set: field 'value.metadata' is required "
                                 "(it carries the CRC-32 checksum)");
    if (v->data.len > x->opts.max_value_bytes)
        return amaters_qctx_fail(ctx, AMATERS_ETOOBIG,
                                 "set: value is %zu bytes; the limit is %zu",
                                 v->data.len, x->opts.max_value_bytes);
    uint32_t crc = amaters_crc32(0, v->data.data, v->data.len);
    if (crc != v->metadata->checksum)
        return amaters_qctx_fail(
            ctx, AMATERS_ECHECKSUM,
            "set: checksum mismatch: metadata.checksum is 0x%08x but the "
            "CRC-32 of the %zu data bytes is 0x%08x; nothing stored",
            v->metadata->checksum, v->data.len, crc);
    const Amaters__Types__CipherMetadata *m = v->metadata;
    struct amaters_record r = {
        .size = m->size,
        .compression = (uint32_t)m->compression,
        .checksum = m->checksum,
        .created_at = m->created_at,
        .has_version =
            m->_version_case == AMATERS__TYPES__CIPHER_METADATA___VERSION_VERSION,
        .version = m->version,
        .data = v->data.data,
        .data_len = v->data.len,
    };
    uint8_t *p = NULL;
    int rc = amaters_record_encode(&r, &p, rec_len);
    if (rc)
        return amaters_qctx_fail(ctx, rc, "set: encode record: %s",
                                 amaters_strerror(rc));
    if (amaters_arena_adopt(ctx->arena, p))
        return amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
    *rec = p;
    return 0;
}

Amaters__Types__CipherBlob *q_blob(struct amaters_qctx *ctx,
                                   const struct amaters_record *r)
{
    Amaters__Types__CipherBlob *b = amaters_arena_alloc(ctx->arena, sizeof *b);
    Amaters__Types__CipherMetadata *m =
        amaters_arena_alloc(ctx->arena, sizeof *m);
    if (b == NULL || m == NULL)
        return NULL;
    amaters__types__cipher_blob__init(b);
    amaters__types__cipher_metadata__init(m);
    m->size = r->size;
    m->compression = (Amaters__Types__CompressionType)r->compression;
    m->checksum = r->checksum;
    m->created_at = r->created_at;
    if (r->has_version) {
        m->_version_case = AMATERS__TYPES__CIPHER_METADATA___VERSION_VERSION;
        m->version = r->version;
    }
    b->data.data = (uint8_t *)r->data;
    b->data.len = r->data_len;
    b->metadata = m;
    return b;
}

int q_decode_blob(struct amaters_qctx *ctx, const uint8_t *ek, size_t ek_len,
                  const uint8_t *buf, size_t len,
                  Amaters__Types__CipherBlob **out)
{
    struct amaters_record r;
    int rc = amaters_record_decode(buf, len, &r);
    if (rc) {
        const uint8_t *coll, *key;
        size_t coll_len = 0, key_len = 0;
        if (amaters_key_decode(ek, ek_len, &coll, &coll_len, &key, &key_len))
            coll_len = 0;
        q_metrics_corrupt();
        return amaters_qctx_fail(ctx, AMATERS_ECORRUPT,
                                 "stored value in collection '%.*s' (key of "
                                 "%zu bytes) failed verification: %s",
                                 (int)coll_len, (const char *)coll, key_len,
                                 amaters_strerror(rc));
    }
    *out = q_blob(ctx, &r);
    if (*out == NULL)
        return amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
    return 0;
}

Amaters__Query__QueryResult *q_result_single(struct amaters_qctx *ctx,
                                             Amaters__Types__CipherBlob *b)
{
    Amaters__Query__QueryResult *res =
        amaters_arena_alloc(ctx->arena, sizeof *res);
    Amaters__Query__SingleResult *s = amaters_arena_alloc(ctx->arena, sizeof *s);
    if (res == NULL || s == NULL)
        return NULL;
    amaters__query__query_result__init(res);
    amaters__query__single_result__init(s);
    if (b) {
        s->_value_case = AMATERS__QUERY__SINGLE_RESULT___VALUE_VALUE;
        s->value = b;
    }
    res->result_case = AMATERS__QUERY__QUERY_RESULT__RESULT_SINGLE;
    res->single = s;
    return res;
}

Amaters__Query__QueryResult *q_result_success(struct amaters_qctx *ctx,
                                              uint64_t affected)
{
    Amaters__Query__QueryResult *res =
        amaters_arena_alloc(ctx->arena, sizeof *res);
    Amaters__Query__SuccessResult *s =
        amaters_arena_alloc(ctx->arena, sizeof *s);
    if (res == NULL || s == NULL)
        return NULL;
    amaters__query__query_result__init(res);
    amaters__query__success_result__init(s);
    s->affected_rows = affected;
    res->result_case = AMATERS__QUERY__QUERY_RESULT__RESULT_SUCCESS;
    res->success = s;
    return res;
}

Amaters__Query__QueryResult *q_result_multi(struct amaters_qctx *ctx,
                                            Amaters__Query__KeyValue **kv,
                                            size_t n)
{
    Amaters__Query__QueryResult *res =
        amaters_arena_alloc(ctx->arena, sizeof *res);
    Amaters__Query__MultiResult *m = amaters_arena_alloc(ctx->arena, sizeof *m);
    if (res == NULL || m == NULL)
        return NULL;
    amaters__query__query_result__init(res);
    amaters__query__multi_result__init(m);
    m->values = kv;
    m->n_values = n;
    res->result_case = AMATERS__QUERY__QUERY_RESULT__RESULT_MULTI;
    res->multi = m;
    return res;
}

Amaters__Query__KeyValue *q_kv(struct amaters_qctx *ctx, const uint8_t *ukey,
                               size_t ukey_len,
                               Amaters__Types__CipherBlob *blob)
{
    Amaters__Query__KeyValue *kv = amaters_arena_alloc(ctx->arena, sizeof *kv);
    Amaters__Types__Key *k = amaters_arena_alloc(ctx->arena, sizeof *k);
    if (kv == NULL || k == NULL)
        return NULL;
    amaters__query__key_value__init(kv);
    amaters__types__key__init(k);
    k->data.data = (uint8_t *)ukey;
    k->data.len = ukey_len;
    kv->key = k;
    kv->value = blob;
    return kv;
}

int q_is_admin(const Amaters__Query__GetQuery *g)
{
    size_t n = strlen(AMATERS_ADMIN_PREFIX);
    return g->key && g->key->data.len >= n &&
           memcmp(g->key->data.data, AMATERS_ADMIN_PREFIX, n) == 0;
}

int q_authorize(struct amaters_qctx *ctx, const Amaters__Query__Query *q)
{
    const struct amaters_authz_hook *h = ctx->authz;
    ProtobufCBinaryData coll = {0, NULL};
    int action;

    if (h == NULL || q == NULL)
        return 0;
    switch (q->query_case) {
    case AMATERS__QUERY__QUERY__QUERY_GET:
        if (q_is_admin(q->get)) {
            char cmd[64];
            size_t plen = strlen(AMATERS_ADMIN_PREFIX);
            size_t n = q->get->key->data.len - plen;
            const uint8_t *p = q->get->key->data.data + plen;
            size_t i = 0;
            while (i < n && q_admin_sep((char)p[i]))
                p++, n--; /* as split_args: leading space is no word */
            while (i < n && i < sizeof cmd - 1 && !q_admin_sep((char)p[i]) &&
                   p[i] != '\0') {
                cmd[i] = (char)p[i];
                i++;
            }
            cmd[i] = '\0';
            return h->check(h->arg, ctx, AMATERS_QACTION_ADMIN, NULL, 0, cmd);
        }
        action = AMATERS_QACTION_READ;
        coll = q->get->collection;
        break;
    case AMATERS__QUERY__QUERY__QUERY_SET:
        action = AMATERS_QACTION_WRITE;
        coll = q->set->collection;
        break;
    case AMATERS__QUERY__QUERY__QUERY_DELETE:
        action = AMATERS_QACTION_WRITE;
        coll = q->delete_->collection;
        break;
    case AMATERS__QUERY__QUERY__QUERY_RANGE:
        action = AMATERS_QACTION_READ;
        coll = q->range->collection;
        break;
    case AMATERS__QUERY__QUERY__QUERY_FILTER:
        action = AMATERS_QACTION_READ;
        coll = q->filter->collection;
        break;
    case AMATERS__QUERY__QUERY__QUERY_UPDATE:
        action = AMATERS_QACTION_WRITE;
        coll = q->update->collection;
        break;
    default:
        return 0; /* rejected later as malformed */
    }
    return h->check(h->arg, ctx, action, coll.data, coll.len,
                    amaters_query_kind(q));
}

static int exec_get(struct amaters_exec *x, struct amaters_qctx *ctx,
                    const Amaters__Query__GetQuery *g,
                    Amaters__Query__QueryResult **out)
{
    struct ekey ek;
    uint8_t *val = NULL;
    size_t len = 0;
    Amaters__Types__CipherBlob *blob = NULL;
    int rc;

    if (q_is_admin(g)) {
        /* the command line is a key: it has the keys' size limit */
        rc = q_check_key(x, ctx, g->key, "admin");
        if (rc == 0)
            return q_admin(x, ctx, g, out);
        if (ctx->authz && ctx->authz->admin_done) /* audited as refused */
            ctx->authz->admin_done(ctx->authz->arg, "(too long)", rc,
                                   ctx->err);
        return rc;
    }
    rc = q_check_collection(ctx, g->collection, "get");
    if (rc == 0)
        rc = q_check_key(x, ctx, g->key, "get");
    if (rc == 0)
        rc = q_encode_key(ctx, g->collection, g->key, &ek);
    if (rc)
        return rc;
    rc = amaters_engine_get(x->engine, ek.p, ek.len, &val, &len);
    if (rc == AMATERS_ENOTFOUND)
        goto done;
    if (rc)
        return amaters_qctx_fail(ctx, rc, "get: storage: %s",
                                 amaters_strerror(rc));
    if (amaters_arena_adopt(ctx->arena, val))
        return amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
    rc = q_decode_blob(ctx, ek.p, ek.len, val, len, &blob);
    if (rc)
        return rc;
done:
    *out = q_result_single(ctx, blob);
    return *out ? 0 : amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
}

static int exec_set(struct amaters_exec *x, struct amaters_qctx *ctx,
                    const Amaters__Query__SetQuery *s,
                    Amaters__Query__QueryResult **out)
{
    struct ekey ek;
    uint8_t *rec = NULL;
    size_t rec_len = 0;
    int rc = q_check_collection(ctx, s->collection, "set");
    if (rc == 0)
        rc = q_check_key(x, ctx, s->key, "set");
    if (rc == 0)
        rc = q_encode_set(x, ctx, s, &rec, &rec_len);
    if (rc == 0)
        rc = q_encode_key(ctx, s->collection, s->key, &ek);
    if (rc == 0)
        rc = q_deadline(ctx);
    if (rc)
        return rc;
    struct amaters_write_op op = {AMATERS_WRITE_PUT, ek.p, ek.len, rec,
                                  rec_len};
    if (ctx->defer_writes && x->engine->ops->write_async) {
        /* The caller queues it without blocking this thread on fsync. */
        ctx->deferred = op;
        ctx->has_deferred = true;
        *out = q_result_success(ctx, 1);
        return *out ? 0
                    : amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
    }
    rc = amaters_engine_write(x->engine, &op, 1);
    if (rc)
        return amaters_qctx_fail(ctx, rc, "set: storage: %s",
                                 amaters_strerror(rc));
    *out = q_result_success(ctx, 1);
    return *out ? 0 : amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
}

static unsigned stripe_of(const struct ekey *ek)
{
    uint32_t h = amaters_crc32(0, ek->p, ek->len);
    return h % AMATERS_DELETE_STRIPES;
}

static int exec_delete(struct amaters_exec *x, struct amaters_qctx *ctx,
                       const Amaters__Query__DeleteQuery *d,
                       Amaters__Query__QueryResult **out)
{
    struct ekey ek;
    uint8_t *val = NULL;
    size_t len = 0;
    int rc = q_check_collection(ctx, d->collection, "delete");
    if (rc == 0)
        rc = q_check_key(x, ctx, d->key, "delete");
    if (rc == 0)
        rc = q_encode_key(ctx, d->collection, d->key, &ek);
    if (rc)
        return rc;
    pthread_mutex_t *mu = &x->delete_mu[stripe_of(&ek)];
    pthread_mutex_lock(mu);
    rc = amaters_engine_get(x->engine, ek.p, ek.len, &val, &len);
    amaters_free(val);
    uint64_t existed = rc == 0;
    if (rc == 0) {
        struct amaters_write_op op = {AMATERS_WRITE_DELETE, ek.p, ek.len,
                                      NULL, 0};
        rc = amaters_engine_write(x->engine, &op, 1);
    } else if (rc == AMATERS_ENOTFOUND) {
        rc = 0;
    }
    pthread_mutex_unlock(mu);
    if (rc)
        return amaters_qctx_fail(ctx, rc, "delete: storage: %s",
                                 amaters_strerror(rc));
    *out = q_result_success(ctx, existed);
    return *out ? 0 : amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
}

static int exec_range(struct amaters_exec *x, struct amaters_qctx *ctx,
                      const Amaters__Query__Query *q,
                      Amaters__Query__QueryResult **out)
{
    struct amaters_cursor *c = NULL;
    Amaters__Query__KeyValue **all = NULL, **chunk;
    size_t n_all = 0, cap = 0, n, bytes = 0;
    bool more = true;
    int rc = amaters_cursor_open(x, ctx, q, &c);

    while (rc == 0 && more) {
        rc = amaters_cursor_next(c, ctx, &chunk, &n, &more);
        if (rc <= 0)
            break;
        rc = 0;
        if (n_all + n > cap) {
            size_t ncap = cap ? cap * 2 : 64;
            while (ncap < n_all + n)
                ncap *= 2;
            Amaters__Query__KeyValue **na =
                amaters_arena_alloc(ctx->arena, ncap * sizeof *na);
            if (na == NULL) {
                rc = amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
                break;
            }
            if (n_all)
                memcpy(na, all, n_all * sizeof *na);
            all = na;
            cap = ncap;
        }
        for (size_t i = 0; i < n; i++) {
            bytes += chunk[i]->key->data.len + chunk[i]->value->data.len + 32;
            all[n_all++] = chunk[i];
        }
        if (bytes > x->opts.max_result_bytes) {
            rc = amaters_qctx_fail(
                ctx, AMATERS_ETOOBIG,
                "range: the result exceeds %zu bytes; use a limit or "
                "ExecuteStream",
                x->opts.max_result_bytes);
        }
    }
    amaters_cursor_close(c);
    if (rc < 0)
        return rc;
    *out = q_result_multi(ctx, all, n_all);
    return *out ? 0 : amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
}

/* Whether q is the admin command COMPACT, decided as admin.c's dispatcher
 * decides (arguments split at spaces and tabs, the command compared up to
 * its first NUL, case-insensitively). */
static bool is_admin_compact(const Amaters__Query__Query *q)
{
    static const char cmd[] = "COMPACT";
    size_t plen = strlen(AMATERS_ADMIN_PREFIX);
    const uint8_t *p;
    size_t n, i = 0, b;

    if (q->query_case != AMATERS__QUERY__QUERY__QUERY_GET ||
        !q_is_admin(q->get))
        return false;
    p = q->get->key->data.data + plen;
    n = q->get->key->data.len - plen;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    b = i;
    while (i < n && p[i] != ' ' && p[i] != '\t' && p[i] != '\0')
        i++;
    return i - b == sizeof cmd - 1 &&
           strncasecmp((const char *)p + b, cmd, sizeof cmd - 1) == 0;
}

int amaters_exec_query(struct amaters_exec *x, struct amaters_qctx *ctx,
                       const Amaters__Query__Query *q,
                       Amaters__Query__QueryResult **out)
{
    int rc;
    bool locked;
    if (q == NULL)
        return amaters_qctx_fail(ctx, AMATERS_EMISSING,
                                 "field 'query' is required");
    rc = q_deadline(ctx);
    if (rc == 0)
        rc = q_authorize(ctx, q);
    if (rc)
        return rc;
    /* COMPACT runs without the transaction lock: it can take minutes,
     * and holding the lock even shared would make every batch (which
     * takes it exclusively) wait that long. The engine's compact() lets
     * reads and writes go on meanwhile and never changes what they
     * read, so a batch running beside it stays serializable. */
    locked = !is_admin_compact(q);
    if (locked)
        pthread_rwlock_rdlock(&x->txn);
    switch (q->query_case) {
    case AMATERS__QUERY__QUERY__QUERY_GET:
        rc = exec_get(x, ctx, q->get, out);
        break;
    case AMATERS__QUERY__QUERY__QUERY_SET:
        rc = exec_set(x, ctx, q->set, out);
        break;
    case AMATERS__QUERY__QUERY__QUERY_DELETE:
        rc = exec_delete(x, ctx, q->delete_, out);
        break;
    case AMATERS__QUERY__QUERY__QUERY_RANGE:
        rc = exec_range(x, ctx, q, out);
        break;
    case AMATERS__QUERY__QUERY__QUERY_FILTER:
    case AMATERS__QUERY__QUERY__QUERY_UPDATE:
        rc = amaters_qctx_fail(
            ctx, AMATERS_EUNSUPPORTED,
            "%s runs on encrypted values with homomorphic encryption, "
            "which this server version does not provide yet",
            q->query_case == AMATERS__QUERY__QUERY__QUERY_FILTER ? "FILTER"
                                                                 : "UPDATE");
        break;
    default:
        rc = amaters_qctx_fail(ctx, AMATERS_EMISSING,
                               "query: no query kind set (get, set, delete, "
                               "filter, update or range)");
        break;
    }
    if (locked)
        pthread_rwlock_unlock(&x->txn);
    return rc;
}

int amaters_exec_write_deferred(struct amaters_exec *x,
                                struct amaters_qctx *ctx,
                                void (*done)(void *arg, int rc), void *arg)
{
    int rc;

    if (!ctx->has_deferred || x->engine->ops->write_async == NULL)
        return AMATERS_EINVAL;
    /* Queued under the transaction lock: a batch (which holds it
     * exclusively and first waits for the queue to drain) then sees this
     * write either applied or not yet queued, never in between. */
    pthread_rwlock_rdlock(&x->txn);
    rc = x->engine->ops->write_async(x->engine, &ctx->deferred, 1, done,
                                     arg);
    pthread_rwlock_unlock(&x->txn);
    return rc;
}

int amaters_exec_engine_stats(struct amaters_exec *x,
                              struct amaters_engine_stats *out)
{
    memset(out, 0, sizeof *out);
    return x->engine->ops->stats(x->engine, out);
}

int amaters_exec_stats(struct amaters_exec *x, uint64_t *keys,
                       uint64_t *bytes)
{
    struct amaters_engine_stats st = {0};
    int rc = x->engine->ops->stats(x->engine, &st);
    *keys = st.key_count;
    *bytes = st.data_bytes;
    return rc;
}
