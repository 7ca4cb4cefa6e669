/*
 * test_query.c - the query executor on the memory engine (and the lsm one when
 * RocksDB is there): single queries, validation errors and their wire mapping
 * (unary codes and stream statuses), ranges, batches (atomicity, reads of
 * earlier writes, overlay ranges), streaming cursors, and the authorization
 * hook. Admin commands are tested in test_query_admin.c; the fixture and query
 * builders both use are in query_fixture.h.
 *
 * Expected answers are derived from the inputs (CRC computed with zlib).
 */
#include "query_fixture.h"

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
    struct amaters_authz_hook hook = {deny_secret_writes, &seen, NULL};
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
        T(test_cursor_chunks, ch), T(test_authz_hook, ch)

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
