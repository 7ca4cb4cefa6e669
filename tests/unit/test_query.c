/*
 * test_query.c - the query executor on the memory engine: single queries,
 * validation errors and their wire mapping, batches (atomicity, reads of
 * earlier writes, overlay ranges), streaming cursors, admin commands (a
 * COMPACT does not hold up batches).
 * Expected answers are derived from the inputs (CRC computed with zlib).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/errors.h"
#include "obs/metrics.h"
#include "query/errmap.h"
#include "query/query.h"
#include "storage/engine.h"
#ifdef AMATERS_HAVE_ROCKSDB
#include "storage/engine_rocks.h"
#endif

/* Which engine a group of tests runs on (the prestate). */
struct engine_choice {
    const struct amaters_engine_ops *ops;
};

struct fx {
    char dir[64];
    struct amaters_engine *engine;
    struct amaters_exec *x;
    struct amaters_arena *arena;
    struct amaters_qctx ctx;
    long live_before;
};

static int setup(void **state)
{
    const struct engine_choice *ch = *state;
    struct fx *f = calloc(1, sizeof *f);
    char err[256];
    snprintf(f->dir, sizeof f->dir, "/tmp/amaters-tq-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    struct amaters_engine_options eo = {.path = f->dir,
                                        .memtable_size_mb = 4,
                                        .block_cache_size_mb = 4,
                                        .sync_mode = AMATERS_SYNC_NONE};
    struct amaters_exec_options xo = {
        .max_key_bytes = 65536,
        .max_value_bytes = 1 << 20,
        .max_result_bytes = 8 << 20,
        .max_batch_queries = 100,
        .stream_batch_size = 3,
        .backup_dir = "",
        .engine_name = ch->ops->name,
        .node_address = "127.0.0.1:1",
        .node_id = 1,
    };
    f->live_before = amaters_alloc_live();
    assert_int_equal(ch->ops->open(&eo, &f->engine, err, sizeof err), 0);
    assert_int_equal(amaters_exec_create(f->engine, &xo, &f->x), 0);
    f->arena = amaters_arena_create(0);
    amaters_qctx_init(&f->ctx, f->arena);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    amaters_arena_destroy(f->arena);
    amaters_exec_destroy(f->x);
    amaters_engine_close(f->engine);
    amaters_metrics_reset();
    assert_int_equal(amaters_alloc_live(), f->live_before);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Builders (static storage per call site is enough for these tests). */
struct qbuf {
    Amaters__Query__Query q;
    Amaters__Query__GetQuery g;
    Amaters__Query__SetQuery s;
    Amaters__Query__DeleteQuery d;
    Amaters__Query__RangeQuery r;
    Amaters__Types__Key k, k2;
    Amaters__Types__CipherBlob b;
    Amaters__Types__CipherMetadata m;
};

static ProtobufCBinaryData bin(const char *s)
{
    return (ProtobufCBinaryData){strlen(s), (uint8_t *)s};
}

static Amaters__Query__Query *mk_set(struct qbuf *b, const char *coll,
                                     const char *key, const char *val,
                                     int good_crc)
{
    amaters__query__query__init(&b->q);
    amaters__query__set_query__init(&b->s);
    amaters__types__key__init(&b->k);
    amaters__types__cipher_blob__init(&b->b);
    amaters__types__cipher_metadata__init(&b->m);
    b->k.data = bin(key);
    b->b.data = bin(val);
    b->m.size = strlen(val);
    b->m.checksum = (uint32_t)crc32(0, (const Bytef *)val, (uInt)strlen(val));
    if (!good_crc)
        b->m.checksum ^= 1;
    b->m.created_at = 1700000000;
    b->b.metadata = &b->m;
    b->s.collection = bin(coll);
    b->s.key = &b->k;
    b->s.value = &b->b;
    b->q.query_case = AMATERS__QUERY__QUERY__QUERY_SET;
    b->q.set = &b->s;
    return &b->q;
}

static Amaters__Query__Query *mk_get(struct qbuf *b, const char *coll,
                                     const char *key)
{
    amaters__query__query__init(&b->q);
    amaters__query__get_query__init(&b->g);
    amaters__types__key__init(&b->k);
    b->k.data = bin(key);
    b->g.collection = bin(coll);
    b->g.key = &b->k;
    b->q.query_case = AMATERS__QUERY__QUERY__QUERY_GET;
    b->q.get = &b->g;
    return &b->q;
}

static Amaters__Query__Query *mk_del(struct qbuf *b, const char *coll,
                                     const char *key)
{
    amaters__query__query__init(&b->q);
    amaters__query__delete_query__init(&b->d);
    amaters__types__key__init(&b->k);
    b->k.data = bin(key);
    b->d.collection = bin(coll);
    b->d.key = &b->k;
    b->q.query_case = AMATERS__QUERY__QUERY__QUERY_DELETE;
    b->q.delete_ = &b->d;
    return &b->q;
}

static Amaters__Query__Query *mk_range(struct qbuf *b, const char *coll,
                                       const char *start, const char *end,
                                       int limit)
{
    amaters__query__query__init(&b->q);
    amaters__query__range_query__init(&b->r);
    amaters__types__key__init(&b->k);
    amaters__types__key__init(&b->k2);
    b->k.data = bin(start);
    b->r.collection = bin(coll);
    b->r.start = &b->k;
    if (end) {
        b->k2.data = bin(end);
        b->r.end = &b->k2;
    }
    if (limit >= 0) {
        b->r._limit_case = AMATERS__QUERY__RANGE_QUERY___LIMIT_LIMIT;
        b->r.limit = (uint32_t)limit;
    }
    b->q.query_case = AMATERS__QUERY__QUERY__QUERY_RANGE;
    b->q.range = &b->r;
    return &b->q;
}

static int run(struct fx *f, Amaters__Query__Query *q,
               Amaters__Query__QueryResult **res)
{
    f->ctx.err[0] = '\0';
    return amaters_exec_query(f->x, &f->ctx, q, res);
}

static void put(struct fx *f, const char *coll, const char *key,
                const char *val)
{
    struct qbuf b;
    Amaters__Query__QueryResult *r;
    assert_int_equal(run(f, mk_set(&b, coll, key, val, 1), &r), 0);
    assert_int_equal(r->result_case,
                     AMATERS__QUERY__QUERY_RESULT__RESULT_SUCCESS);
}

static void test_set_get_delete(void **state)
{
    struct fx *f = *state;
    struct qbuf b;
    Amaters__Query__QueryResult *r;

    put(f, "users", "k1", "hello");
    assert_int_equal(run(f, mk_get(&b, "users", "k1"), &r), 0);
    assert_int_equal(r->single->_value_case,
                     AMATERS__QUERY__SINGLE_RESULT___VALUE_VALUE);
    assert_int_equal(r->single->value->data.len, 5);
    assert_memory_equal(r->single->value->data.data, "hello", 5);
    assert_int_equal(r->single->value->metadata->checksum,
                     (uint32_t)crc32(0, (const Bytef *)"hello", 5));
    assert_int_equal(r->single->value->metadata->created_at, 1700000000);
    /* same key, other collection: absent */
    assert_int_equal(run(f, mk_get(&b, "orders", "k1"), &r), 0);
    assert_int_equal(r->single->_value_case,
                     AMATERS__QUERY__SINGLE_RESULT___VALUE__NOT_SET);
    /* delete reports existence */
    assert_int_equal(run(f, mk_del(&b, "users", "k1"), &r), 0);
    assert_int_equal(r->success->affected_rows, 1);
    assert_int_equal(run(f, mk_del(&b, "users", "k1"), &r), 0);
    assert_int_equal(r->success->affected_rows, 0);
    /* empty value is a value */
    put(f, "users", "empty", "");
    assert_int_equal(run(f, mk_get(&b, "users", "empty"), &r), 0);
    assert_int_equal(r->single->_value_case,
                     AMATERS__QUERY__SINGLE_RESULT___VALUE_VALUE);
    assert_int_equal(r->single->value->data.len, 0);
}

struct err_case {
    const char *name;
    int rc;
    int wire_code;
    int category;
};

static void test_validation_errors(void **state)
{
    struct fx *f = *state;
    struct qbuf b;
    Amaters__Query__QueryResult *r;
    static char big[65538];
    memset(big, 'k', sizeof big - 1);

    struct {
        const char *what;
        Amaters__Query__Query *q;
        int rc;
    } cases[] = {
        {"bad crc", mk_set(&b, "c", "k", "v", 0), AMATERS_ECHECKSUM},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(run(f, cases[i].q, &r), cases[i].rc);
    assert_non_null(strstr(f->ctx.err, "checksum"));

    mk_set(&b, "c", "k", "v", 1);
    b.b.metadata = NULL;
    assert_int_equal(run(f, &b.q, &r), AMATERS_EMISSING);
    mk_set(&b, "c", "k", "v", 1);
    b.s.key = NULL;
    assert_int_equal(run(f, &b.q, &r), AMATERS_EMISSING);
    assert_int_equal(run(f, mk_set(&b, "c", "", "v", 1), &r),
                     AMATERS_EBADKEY);
    assert_int_equal(run(f, mk_set(&b, "", "k", "v", 1), &r),
                     AMATERS_EBADCOLL);
    assert_int_equal(run(f, mk_get(&b, "c", big), &r), AMATERS_ETOOBIG);
    big[65536] = '\0';
    assert_int_equal(run(f, mk_get(&b, "c", big), &r), 0);
    /* collection with NUL / invalid UTF-8 (bytes on the wire) */
    mk_get(&b, "c", "k");
    b.g.collection = (ProtobufCBinaryData){3, (uint8_t *)"a\0b"};
    assert_int_equal(run(f, &b.q, &r), AMATERS_EBADCOLL);
    b.g.collection = (ProtobufCBinaryData){2, (uint8_t *)"\xc3\x28"};
    assert_int_equal(run(f, &b.q, &r), AMATERS_EBADCOLL);
    /* FILTER refused clearly */
    Amaters__Query__Query fq = AMATERS__QUERY__QUERY__INIT;
    Amaters__Query__FilterQuery fil = AMATERS__QUERY__FILTER_QUERY__INIT;
    fq.query_case = AMATERS__QUERY__QUERY__QUERY_FILTER;
    fq.filter = &fil;
    assert_int_equal(run(f, &fq, &r), AMATERS_EUNSUPPORTED);
    /* no query kind */
    Amaters__Query__Query empty = AMATERS__QUERY__QUERY__INIT;
    assert_int_equal(run(f, &empty, &r), AMATERS_EMISSING);
    /* nothing was stored by the failures */
    uint64_t keys, bytes;
    assert_int_equal(amaters_exec_stats(f->x, &keys, &bytes), 0);
    assert_int_equal(keys, 0);
}

static void test_error_mapping(void **state)
{
    (void)state;
    static const struct err_case cases[] = {
        {"missing", AMATERS_EMISSING, 2003, 4},
        {"malformed", AMATERS_EPARSE, 2002, 4},
        {"version", AMATERS_EVERSION, 2001, 4},
        {"bad key", AMATERS_EBADKEY, 6000, 4},
        {"checksum", AMATERS_ECHECKSUM, 6001, 4},
        {"too big", AMATERS_ETOOBIG, 6002, 4},
        {"collection", AMATERS_EBADCOLL, 6003, 4},
        {"corrupt", AMATERS_ECORRUPT, 4002, 5},
        {"full", AMATERS_EFULL, 4003, 5},
        {"io", AMATERS_EIO, 4004, 5},
        {"unsupported", AMATERS_EUNSUPPORTED, 5001, 4},
        {"timeout", AMATERS_ETIMEOUT, 1000, 1},
        {"shutdown", AMATERS_ESHUTDOWN, 7003, 1},
        {"overload", AMATERS_EOVERLOAD, 7002, 1},
        {"perm", AMATERS_EPERM, 3002, 3},
        {"auth", AMATERS_EAUTH, 3000, 3},
        {"internal", AMATERS_EINTERNAL, 7000, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct amaters_wire_error w = amaters_errmap(cases[i].rc);
        if (w.code != cases[i].wire_code || w.category != cases[i].category)
            fail_msg("%s: got %d/%d", cases[i].name, w.code, w.category);
    }
    assert_int_equal(amaters_errmap(AMATERS_EUNSUPPORTED).status,
                     GRPC_STATUS_FAILED_PRECONDITION);
    assert_int_equal(amaters_errmap(AMATERS_EMISSING).status,
                     GRPC_STATUS_INVALID_ARGUMENT);
    assert_int_equal(amaters_errmap(AMATERS_ETIMEOUT).status,
                     GRPC_STATUS_DEADLINE_EXCEEDED);
    assert_int_equal(amaters_errmap(AMATERS_ESHUTDOWN).status,
                     GRPC_STATUS_UNAVAILABLE);
    assert_true(amaters_errmap(AMATERS_EOVERLOAD).retry_after > 0);
}

/* The status that ends a stream, per protocol.md ("How errors travel",
 * streams): missing field / malformed -> INVALID_ARGUMENT; unsupported
 * query kind -> FAILED_PRECONDITION; storage or internal -> INTERNAL;
 * timeout -> DEADLINE_EXCEEDED; shutting down / unavailable ->
 * UNAVAILABLE; authentication -> UNAUTHENTICATED; permission ->
 * PERMISSION_DENIED; rate limit / overload -> RESOURCE_EXHAUSTED. The
 * ErrorResponse code of unary answers stays the specific one. */
static void test_stream_status(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int rc;
        grpc_status_code status;
        int wire_code; /* unchanged for unary answers */
    } cases[] = {
        {"missing", AMATERS_EMISSING, GRPC_STATUS_INVALID_ARGUMENT, 2003},
        {"malformed", AMATERS_EPARSE, GRPC_STATUS_INVALID_ARGUMENT, 2002},
        {"unsupported", AMATERS_EUNSUPPORTED, GRPC_STATUS_FAILED_PRECONDITION,
         5001},
        {"storage full", AMATERS_EFULL, GRPC_STATUS_INTERNAL, 4003},
        {"not found", AMATERS_ENOTFOUND, GRPC_STATUS_INTERNAL, 4000},
        {"corrupt", AMATERS_ECORRUPT, GRPC_STATUS_INTERNAL, 4002},
        {"io", AMATERS_EIO, GRPC_STATUS_INTERNAL, 4004},
        {"internal", AMATERS_EINTERNAL, GRPC_STATUS_INTERNAL, 7000},
        {"timeout", AMATERS_ETIMEOUT, GRPC_STATUS_DEADLINE_EXCEEDED, 1000},
        {"shutdown", AMATERS_ESHUTDOWN, GRPC_STATUS_UNAVAILABLE, 7003},
        {"unavailable", AMATERS_EUNAVAIL, GRPC_STATUS_UNAVAILABLE, 7001},
        {"auth", AMATERS_EAUTH, GRPC_STATUS_UNAUTHENTICATED, 3000},
        {"perm", AMATERS_EPERM, GRPC_STATUS_PERMISSION_DENIED, 3002},
        {"overload", AMATERS_EOVERLOAD, GRPC_STATUS_RESOURCE_EXHAUSTED,
         7002},
        {"out of memory", AMATERS_ENOMEM, GRPC_STATUS_RESOURCE_EXHAUSTED,
         7000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct amaters_wire_error w = amaters_errmap(cases[i].rc);
        if (w.status != cases[i].status || w.code != cases[i].wire_code)
            fail_msg("%s: stream status %d (want %d), code %d (want %d)",
                     cases[i].name, (int)w.status, (int)cases[i].status,
                     w.code, cases[i].wire_code);
    }
}

static void test_range(void **state)
{
    struct fx *f = *state;
    struct qbuf b;
    Amaters__Query__QueryResult *r;
    const char *keys[] = {"a", "b", "ba", "c", "d"};
    for (size_t i = 0; i < 5; i++)
        put(f, "r", keys[i], keys[i]);
    put(f, "r2", "b", "other");
    put(f, "rr", "b", "other");

    struct {
        const char *start, *end;
        int limit;
        size_t n;
        const char *first;
    } cases[] = {
        {"b", "d", -1, 3, "b"}, {"", NULL, -1, 5, "a"},
        {"b", NULL, 2, 2, "b"}, {"d", "b", -1, 0, NULL},
        {"b", "b", -1, 0, NULL}, {"bb", "z", -1, 2, "c"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(run(f, mk_range(&b, "r", cases[i].start,
                                         cases[i].end, cases[i].limit),
                             &r),
                         0);
        assert_int_equal(r->multi->n_values, cases[i].n);
        if (cases[i].first)
            assert_memory_equal(r->multi->values[0]->key->data.data,
                                cases[i].first, strlen(cases[i].first));
        for (size_t j = 0; j < r->multi->n_values; j++)
            assert_memory_not_equal(r->multi->values[j]->value->data.data,
                                    "other", 5);
    }
}

static void test_batch_atomic_and_overlay(void **state)
{
    struct fx *f = *state;
    struct qbuf b[6];
    Amaters__Query__QueryResult **res;
    Amaters__Query__QueryResult *r;

    put(f, "t", "x", "old");
    Amaters__Query__Query *qs[] = {
        mk_set(&b[0], "t", "y", "new", 1),
        mk_get(&b[1], "t", "y"),
        mk_del(&b[2], "t", "x"),
        mk_range(&b[3], "t", "", NULL, -1),
        mk_del(&b[4], "t", "x"),
    };
    assert_int_equal(amaters_exec_batch(f->x, &f->ctx, qs, 5, 0, &res), 0);
    assert_int_equal(res[1]->single->value->data.len, 3);
    assert_int_equal(res[2]->success->affected_rows, 1);
    assert_int_equal(res[3]->multi->n_values, 1); /* y only: x deleted */
    assert_memory_equal(res[3]->multi->values[0]->key->data.data, "y", 1);
    assert_int_equal(res[4]->success->affected_rows, 0);

    /* RANGE merges engine rows (whose buffers the engine reuses) with
     * the batch's own writes, in key order. */
    put(f, "m", "a", "1");
    put(f, "m", "b", "2");
    put(f, "m", "c", "3");
    Amaters__Query__Query *mq[] = {
        mk_set(&b[0], "m", "bb", "4", 1),
        mk_range(&b[1], "m", "", NULL, -1),
    };
    assert_int_equal(amaters_exec_batch(f->x, &f->ctx, mq, 2, 0, &res), 0);
    static const char *const want[] = {"a", "b", "bb", "c"};
    static const char *const vals[] = {"1", "2", "4", "3"};
    assert_int_equal(res[1]->multi->n_values, 4);
    for (size_t i = 0; i < 4; i++) {
        Amaters__Query__KeyValue *kv = res[1]->multi->values[i];
        assert_int_equal(kv->key->data.len, strlen(want[i]));
        assert_memory_equal(kv->key->data.data, want[i], strlen(want[i]));
        assert_memory_equal(kv->value->data.data, vals[i], 1);
    }

    /* A failing query applies nothing. */
    Amaters__Query__Query *bad[] = {
        mk_set(&b[0], "t", "z", "zz", 1),
        mk_set(&b[1], "t", "w", "ww", 0),
    };
    f->ctx.err_index = -1;
    assert_int_equal(amaters_exec_batch(f->x, &f->ctx, bad, 2, 0, &res),
                     AMATERS_ECHECKSUM);
    assert_int_equal(f->ctx.err_index, 1);
    assert_int_equal(run(f, mk_get(&b[2], "t", "z"), &r), 0);
    assert_int_equal(r->single->_value_case,
                     AMATERS__QUERY__SINGLE_RESULT___VALUE__NOT_SET);
}

static void test_cursor_chunks(void **state)
{
    struct fx *f = *state;
    struct qbuf b;
    char key[8];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "k%02d", i);
        put(f, "s", key, "v");
    }
    struct amaters_cursor *c;
    assert_int_equal(
        amaters_cursor_open(f->x, &f->ctx, mk_range(&b, "s", "", NULL, -1), &c),
        0);
    size_t sizes[8], nchunks = 0, n;
    bool more = true;
    Amaters__Query__KeyValue **kv;
    while (more) {
        int rc = amaters_cursor_next(c, &f->ctx, &kv, &n, &more);
        assert_int_equal(rc, 1);
        sizes[nchunks++] = n;
    }
    assert_int_equal(nchunks, 4); /* 3 + 3 + 3 + 1 */
    assert_int_equal(sizes[3], 1);
    assert_int_equal(amaters_cursor_count(c), 10);
    assert_int_equal(amaters_cursor_next(c, &f->ctx, &kv, &n, &more), 0);
    amaters_cursor_close(c);
    /* SET is not streamable */
    assert_int_equal(amaters_cursor_open(f->x, &f->ctx,
                                         mk_set(&b, "s", "k", "v", 1), &c),
                     AMATERS_EUNSUPPORTED);
}

static void test_admin_stats_verify(void **state)
{
    struct fx *f = *state;
    struct qbuf b;
    Amaters__Query__QueryResult *r;
    put(f, "a", "1", "x");
    put(f, "a", "2", "y");
    put(f, "b", "1", "z");
    assert_int_equal(run(f, mk_get(&b, "any", "__admin__:stats"), &r), 0);
    const Amaters__Types__CipherBlob *v = r->single->value;
    assert_non_null(v);
    assert_int_equal(v->metadata->checksum,
                     (uint32_t)crc32(0, v->data.data, (uInt)v->data.len));
    assert_non_null(strstr((const char *)v->data.data, "\"key_count\":3"));
    assert_non_null(
        strstr((const char *)v->data.data, "\"collections_count\":2"));
    assert_int_equal(run(f, mk_get(&b, "any", "__admin__:VERIFY"), &r), 0);
    assert_non_null(
        strstr((const char *)r->single->value->data.data, "\"ok\":true"));
    assert_int_equal(run(f, mk_get(&b, "any", "__admin__:NOPE"), &r), 0);
    assert_int_equal(r->single->_value_case,
                     AMATERS__QUERY__SINGLE_RESULT___VALUE__NOT_SET);
    assert_int_equal(
        run(f, mk_get(&b, "any", "__admin__:BACKUP ../../etc/x"), &r),
        AMATERS_EINVAL);
}

/* Runs the admin GET "__admin__:<n bytes of cmd>" and returns its code;
 * on success *json is the parsed answer (free with cJSON_Delete). */
static int admin_json(struct fx *f, const char *cmd, size_t n, cJSON **json)
{
    struct qbuf b;
    Amaters__Query__QueryResult *r;
    char key[512];
    size_t plen = strlen("__admin__:");
    int rc;

    assert_true(plen + n <= sizeof key);
    memcpy(key, "__admin__:", plen);
    memcpy(key + plen, cmd, n);
    mk_get(&b, "any", "k");
    b.k.data = (ProtobufCBinaryData){plen + n, (uint8_t *)key};
    *json = NULL;
    rc = run(f, &b.q, &r);
    if (rc != 0)
        return rc;
    assert_non_null(r->single->value);
    *json = cJSON_ParseWithLength((const char *)r->single->value->data.data,
                                  r->single->value->data.len);
    assert_non_null(*json);
    return 0;
}

static double jnum(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v))
        fail_msg("field %s missing or not a number", name);
    return v->valuedouble;
}

static void check_values(struct fx *f, const char *coll, int from, int to,
                         const char *tag)
{
    struct qbuf b;
    Amaters__Query__QueryResult *r;
    char k[16], v[32];
    for (int i = from; i < to; i++) {
        snprintf(k, sizeof k, "k%04d", i);
        snprintf(v, sizeof v, "%s-%s-%04d", tag, coll, i);
        assert_int_equal(run(f, mk_get(&b, coll, k), &r), 0);
        assert_non_null(r->single->value);
        assert_int_equal(r->single->value->data.len, strlen(v));
        assert_memory_equal(r->single->value->data.data, v, strlen(v));
    }
}

/* COMPACT [collection]: a collection is validated as queries validate
 * theirs (EBADCOLL, the query's message), "compacted" says whether a
 * compaction ran (the memory engine has none), the figures are the
 * engine's, and no stored value changes. */
static void test_admin_compact(void **state)
{
    struct fx *f = *state;
    bool can = f->engine->ops->compact != NULL;
    char k[16], v[32], longname[320];
    cJSON *j = NULL;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 200; i++) {
            snprintf(k, sizeof k, "k%04d", i);
            snprintf(v, sizeof v, "v%d-%s-%04d", round, "a", i);
            put(f, "a", k, v);
            snprintf(v, sizeof v, "v%d-%s-%04d", round, "b", i);
            put(f, "b", k, v);
        }
        assert_int_equal(f->engine->ops->flush(f->engine), 0);
    }
    /* invalid collections: too long, bad UTF-8, a NUL inside */
    memset(longname, 'x', sizeof longname);
    memcpy(longname, "COMPACT ", 8);
    const struct {
        const char *cmd;
        size_t len;
    } bad[] = {
        {longname, 8 + 300},
        {"COMPACT \xff\xfe", 10},
        {"COMPACT a\0b", 11},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(admin_json(f, bad[i].cmd, bad[i].len, &j),
                         AMATERS_EBADCOLL);
        assert_non_null(strstr(f->ctx.err, "invalid collection name"));
        assert_int_equal(amaters_errmap(AMATERS_EBADCOLL).code, 6003);
    }
    /* one collection, then everything */
    static const char *const cmds[] = {"COMPACT a", "compact"};
    static const char *const colls[] = {"a", "*"};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(admin_json(f, cmds[i], strlen(cmds[i]), &j), 0);
        assert_true(cJSON_IsBool(cJSON_GetObjectItem(j, "compacted")));
        assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(j, "compacted")),
                         can);
        assert_string_equal(
            cJSON_GetStringValue(cJSON_GetObjectItem(j, "collection")),
            colls[i]);
        assert_string_equal(
            cJSON_GetStringValue(cJSON_GetObjectItem(j, "engine")),
            f->engine->ops->name);
        assert_string_equal(
            cJSON_GetStringValue(cJSON_GetObjectItem(j, "command")),
            "COMPACT");
        assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(j, "note")));
        if (can) {
            /* three versions of 400 keys on disk before, one after */
            assert_true(jnum(j, "duration_ms") >= 0);
            if (i == 0) {
                assert_true(jnum(j, "sst_bytes_before") > 0);
                assert_true(jnum(j, "sst_bytes_after") <
                            jnum(j, "sst_bytes_before"));
            }
            assert_true(jnum(j, "size_before_bytes") ==
                        jnum(j, "sst_bytes_before") +
                            jnum(j, "blob_bytes_before"));
            assert_true(jnum(j, "reclaimed_bytes") ==
                        jnum(j, "size_before_bytes") -
                            jnum(j, "size_after_bytes"));
        } else {
            assert_null(cJSON_GetObjectItem(j, "sst_bytes_after"));
        }
        cJSON_Delete(j);
        j = NULL;
    }
    check_values(f, "a", 0, 200, "v2");
    check_values(f, "b", 0, 200, "v2");
}

/* Stands in for the compaction of a large database: blocks until the
 * test releases it or 5 s pass (timed_out), then returns
 * AMATERS_ESHUTDOWN, as one cancelled at shutdown does. */
static atomic_bool g_entered, g_released, g_timed_out;

static int slow_compact(struct amaters_engine *e, const uint8_t *start,
                        size_t start_len, const uint8_t *end, size_t end_len)
{
    (void)e;
    (void)start;
    (void)start_len;
    (void)end;
    (void)end_len;
    atomic_store(&g_entered, true);
    for (int ms = 0; ms < 5000 && !atomic_load(&g_released); ms++)
        usleep(1000);
    atomic_store(&g_timed_out, !atomic_load(&g_released));
    return AMATERS_ESHUTDOWN;
}

struct admin_call {
    struct amaters_exec *x;
    struct amaters_qctx ctx;
    int rc;
};

static void *admin_compact_main(void *arg)
{
    struct admin_call *c = arg;
    struct qbuf b;
    Amaters__Query__QueryResult *r;

    c->rc = amaters_exec_query(c->x, &c->ctx,
                               mk_get(&b, "any", "__admin__:COMPACT"), &r);
    return NULL;
}

/* A COMPACT in progress does not hold the executor's transaction lock: a
 * batch (which takes it exclusively) completes while the compaction is
 * still running. A compaction cancelled at shutdown (AMATERS_ESHUTDOWN)
 * answers SERVER_SHUTTING_DOWN (7003 in protocol.md) with a message. */
static void test_compact_does_not_block(void **state)
{
    struct fx *f = *state;
    static struct amaters_engine_ops slow_ops; /* outlives a failed test */
    const struct amaters_engine_ops *orig = f->engine->ops;
    struct admin_call call = {.x = f->x};
    struct qbuf b;
    Amaters__Query__Query *q[1] = {mk_set(&b, "c", "k", "v", 1)};
    Amaters__Query__QueryResult **res, *r;
    bool entered, timed_out;
    pthread_t th;
    int rc;

    slow_ops = *orig;
    slow_ops.compact = slow_compact;
    f->engine->ops = &slow_ops;
    atomic_store(&g_entered, false);
    atomic_store(&g_released, false);
    atomic_store(&g_timed_out, false);
    amaters_qctx_init(&call.ctx, amaters_arena_create(0));
    assert_int_equal(pthread_create(&th, NULL, admin_compact_main, &call), 0);
    for (int ms = 0; ms < 5000 && !atomic_load(&g_entered); ms++)
        usleep(1000);
    entered = atomic_load(&g_entered);
    rc = amaters_exec_batch(f->x, &f->ctx, q, 1, 0, &res);
    /* timed out: the batch waited for the compaction to end */
    timed_out = atomic_load(&g_timed_out);
    atomic_store(&g_released, true);
    pthread_join(th, NULL);
    f->engine->ops = orig;
    amaters_arena_destroy(call.ctx.arena); /* call.ctx.err stays */

    assert_true(entered);
    assert_false(timed_out);
    assert_int_equal(rc, 0);
    assert_int_equal(run(f, mk_get(&b, "c", "k"), &r), 0);
    assert_non_null(r->single->value);
    assert_int_equal(call.rc, AMATERS_ESHUTDOWN);
    assert_int_equal(amaters_errmap(call.rc).code, 7003);
    assert_non_null(strstr(call.ctx.err, "shutting down"));
}

struct seen {
    int calls;
    int last_action;
    char last_coll[32];
};

static int deny_secret_writes(void *arg, struct amaters_qctx *ctx, int action,
                              const uint8_t *coll, size_t len,
                              const char *what)
{
    struct seen *s = arg;
    s->calls++;
    s->last_action = action;
    snprintf(s->last_coll, sizeof s->last_coll, "%.*s", (int)len,
             coll ? (const char *)coll : "");
    if (action == AMATERS_QACTION_ADMIN ||
        (action == AMATERS_QACTION_WRITE && len == 6 &&
         memcmp(coll, "secret", 6) == 0))
        return amaters_qctx_fail(ctx, AMATERS_EPERM, "denied %s", what);
    return 0;
}

static void test_authz_hook(void **state)
{
    struct fx *f = *state;
    struct qbuf b[2];
    Amaters__Query__QueryResult *r, **res;
    struct seen seen = {0};
    struct amaters_authz_hook hook = {deny_secret_writes, &seen};
    struct amaters_cursor *c = NULL;

    f->ctx.authz = &hook;
    assert_int_equal(run(f, mk_set(&b[0], "open", "k", "v", 1), &r), 0);
    assert_int_equal(seen.last_action, AMATERS_QACTION_WRITE);
    assert_string_equal(seen.last_coll, "open");
    assert_int_equal(run(f, mk_set(&b[0], "secret", "k", "v", 1), &r),
                     AMATERS_EPERM);
    assert_int_equal(run(f, mk_get(&b[0], "secret", "k"), &r), 0);
    assert_int_equal(seen.last_action, AMATERS_QACTION_READ);
    assert_int_equal(run(f, mk_get(&b[0], "x", "__admin__:STATS now"), &r),
                     AMATERS_EPERM);
    assert_string_equal(f->ctx.err, "denied STATS");
    /* a batch with one denied write applies nothing */
    Amaters__Query__Query *qs[] = {mk_set(&b[0], "open", "k2", "v", 1),
                                   mk_del(&b[1], "secret", "k")};
    assert_int_equal(amaters_exec_batch(f->x, &f->ctx, qs, 2, 0, &res),
                     AMATERS_EPERM);
    assert_int_equal(f->ctx.err_index, 1);
    f->ctx.authz = NULL;
    assert_int_equal(run(f, mk_get(&b[0], "open", "k2"), &r), 0);
    assert_int_equal(r->single->_value_case,
                     AMATERS__QUERY__SINGLE_RESULT___VALUE__NOT_SET);
    f->ctx.authz = &hook;
    int calls = seen.calls;
    assert_int_equal(amaters_cursor_open(f->x, &f->ctx,
                                         mk_range(&b[0], "open", "", NULL, -1),
                                         &c),
                     0);
    assert_int_equal(seen.calls, calls + 1);
    amaters_cursor_close(c);
}

#define T(fn, ch) cmocka_unit_test_prestate_setup_teardown(fn, setup, \
                                                         teardown, ch)
#define ENGINE_TESTS(ch)                                                   \
    T(test_set_get_delete, ch), T(test_validation_errors, ch),             \
        T(test_range, ch), T(test_batch_atomic_and_overlay, ch),           \
        T(test_cursor_chunks, ch), T(test_admin_stats_verify, ch),         \
        T(test_authz_hook, ch), T(test_admin_compact, ch),                 \
        T(test_compact_does_not_block, ch)

int main(void)
{
    static struct engine_choice memory = {&amaters_engine_memory_ops};
    const struct CMUnitTest mem_tests[] = {
        cmocka_unit_test(test_error_mapping),
        cmocka_unit_test(test_stream_status),
        ENGINE_TESTS(&memory),
    };
    int failed = cmocka_run_group_tests_name("query on memory", mem_tests,
                                             NULL, NULL);
#ifdef AMATERS_HAVE_ROCKSDB
    static struct engine_choice lsm = {&amaters_engine_lsm_ops};
    const struct CMUnitTest lsm_tests[] = {ENGINE_TESTS(&lsm)};
    failed += cmocka_run_group_tests_name("query on lsm", lsm_tests, NULL,
                                          NULL);
#endif
    return failed;
}
