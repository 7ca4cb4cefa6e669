/*
 * query_fixture.h - the fixture and query builders shared by the query
 * executor's unit tests (test_query.c, test_query_admin.c): the per-test
 * fixture (a scratch directory, the engine chosen by the group's prestate open
 * on it, the executor, an arena and a query context) with its cmocka setup and
 * teardown (which checks that no amaters_* allocation leaked), builders of
 * SET, GET, DELETE and RANGE queries (SET values carry their CRC32, computed
 * with zlib), running one query, and a checked SET.
 *
 * Header-only so each test binary stays one source file: each test program
 * includes it once, from its .c file. Everything here is static (inline), so a
 * program that uses only part of it builds warning-free.
 *
 * Threads: the test's main thread only (cmocka's assertions are not
 * thread-safe). Heap memory: setup's fixture comes from calloc() and teardown
 * frees it; query results live in the fixture's arena; the builders keep
 * everything in the caller's struct qbuf and point at the caller's strings.
 */
#ifndef AMATERS_TESTS_QUERY_FIXTURE_H
#define AMATERS_TESTS_QUERY_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/errors.h"
#include "leakcheck.h"
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

/* Per-test fixture: a scratch directory, the engine open on it, the
 * executor, an arena and the query context using it. */
struct fx {
    char dir[64];
    struct amaters_engine *engine;
    struct amaters_exec *x;
    struct amaters_arena *arena;
    struct amaters_qctx ctx;
};

/* cmocka setup: *state is the group's struct engine_choice (the prestate);
 * replaces it with a new fixture (teardown frees it): a fresh
 * /tmp/amaters-tq-XXXXXX directory, the chosen engine open there without
 * sync, an executor with stream batches of 3 and at most 100 queries a
 * batch, and an arena for the context. Returns 0. */
static inline int setup(void **state)
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
    leak_mark();
    assert_int_equal(ch->ops->open(&eo, &f->engine, err, sizeof err), 0);
    assert_int_equal(amaters_exec_create(f->engine, &xo, &f->x), 0);
    f->arena = amaters_arena_create(0);
    amaters_qctx_init(&f->ctx, f->arena);
    *state = f;
    return 0;
}

/* cmocka teardown: destroys the arena, executor and engine, resets the
 * metrics, fails the test if an amaters_* allocation outlived them
 * (leak_check()), and removes the directory. Returns 0. */
static inline int teardown(void **state)
{
    struct fx *f = *state;
    amaters_arena_destroy(f->arena);
    amaters_exec_destroy(f->x);
    amaters_engine_close(f->engine);
    amaters_metrics_reset();
    leak_check();
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

/* Returns the bytes of the C string s (not copied). */
static inline ProtobufCBinaryData bin(const char *s)
{
    return (ProtobufCBinaryData){strlen(s), (uint8_t *)s};
}

/* Fills b with a SET of key = val in coll (the CRC32 of val as checksum, a
 * wrong one when good_crc is 0) and returns its query. */
static inline Amaters__Query__Query *mk_set(struct qbuf *b, const char *coll,
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

/* Fills b with a GET of key in coll and returns its query. */
static inline Amaters__Query__Query *mk_get(struct qbuf *b, const char *coll,
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

/* Fills b with a DELETE of key in coll and returns its query. */
static inline Amaters__Query__Query *mk_del(struct qbuf *b, const char *coll,
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

/* Fills b with a RANGE over coll from start to end (NULL: no end) with
 * limit (negative: none) and returns its query. */
static inline Amaters__Query__Query *mk_range(struct qbuf *b, const char *coll,
                                              const char *start,
                                              const char *end, int limit)
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

/* Runs q with f's executor and context (its message cleared first); *res
 * gets the result, in f's arena. Returns amaters_exec_query()'s result. */
static inline int run(struct fx *f, Amaters__Query__Query *q,
                      Amaters__Query__QueryResult **res)
{
    f->ctx.err[0] = '\0';
    return amaters_exec_query(f->x, &f->ctx, q, res);
}

/* Stores key = val in coll with a SET, failing the test unless it succeeds. */
static inline void put(struct fx *f, const char *coll, const char *key,
                       const char *val)
{
    struct qbuf b;
    Amaters__Query__QueryResult *r;
    assert_int_equal(run(f, mk_set(&b, coll, key, val, 1), &r), 0);
    assert_int_equal(r->result_case,
                     AMATERS__QUERY__QUERY_RESULT__RESULT_SUCCESS);
}

#endif
