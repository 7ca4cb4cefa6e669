/*
 * test_query_admin.c - the query executor's admin commands (GET of
 * "__admin__:<command>") on the memory engine (and the lsm one when RocksDB is
 * there): STATS and VERIFY, unknown commands and refused BACKUP paths, COMPACT
 * (collections validated as queries validate theirs, the engine's figures, no
 * stored value changed), and a COMPACT in progress not holding up batches (and
 * its answer when cancelled at shutdown), and arguments refused rather than
 * ignored or cut short (too many, a NUL byte inside). The other executor
 * tests are in test_query.c; the fixture and query builders both use are
 * in query_fixture.h.
 *
 * Expected answers are derived from the inputs (CRC computed with zlib).
 */
#include "query_fixture.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <cjson/cJSON.h>

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

/* More arguments than a command takes, or a NUL byte inside one, are
 * refused with AMATERS_EINVAL (ERROR_PROTOCOL_INVALID_REQUEST) and a
 * message naming the command; the documented forms still pass the
 * argument check (the fixture has no backup directory, so BACKUP and
 * RESTORE then fail with AMATERS_EUNSUPPORTED, and RESTORE's name is not
 * looked up). */
/* a string literal and its length (it may hold a NUL) */
#define CMD(s) s, sizeof(s) - 1

static void test_admin_args(void **state)
{
    struct fx *f = *state;
    const struct {
        const char *cmd;
        size_t len;
        int rc;
        const char *msg;
    } cases[] = {
        {CMD("STATS x y"), AMATERS_EINVAL, "STATS takes no arguments, got 2"},
        {CMD("verify x"), AMATERS_EINVAL, "VERIFY takes no arguments, got 1"},
        {CMD("METRICS x"), AMATERS_EINVAL, "METRICS takes no arguments, got 1"},
        {CMD("NODES x"), AMATERS_EINVAL, "NODES takes no arguments, got 1"},
        {CMD("CLUSTER_INFO x"), AMATERS_EINVAL,
         "CLUSTER_INFO takes no arguments, got 1"},
        {CMD("LOGS 2 3"), AMATERS_EINVAL,
         "LOGS takes at most 1 argument ([N]), got 2"},
        {CMD("COMPACT users extra"), AMATERS_EINVAL,
         "COMPACT takes at most 1 argument ([COLLECTION]), got 2"},
        {CMD("RESTORE ok1 bogus"), AMATERS_EINVAL,
         "RESTORE takes 1 argument (NAME), got 2"},
        {CMD("BACKUP n full extra"), AMATERS_EINVAL,
         "BACKUP takes at most 2 arguments (NAME [full|incremental]), "
         "got 3"},
        {CMD("BACKUP n full a b c"), AMATERS_EINVAL, "got 5"},
        {CMD("BACKUP a\0/../../etc"), AMATERS_EINVAL,
         "BACKUP: argument 1 contains a NUL byte"},
        {CMD("RESTORE a\0b"), AMATERS_EINVAL,
         "RESTORE: argument 1 contains a NUL byte"},
        {CMD("BACKUP n full\0x"), AMATERS_EINVAL,
         "BACKUP: argument 2 contains a NUL byte"},
        {CMD("LOGS 5\0x"), AMATERS_EINVAL, "LOGS: argument 1 contains a NUL"},
        {CMD("STATS\0x"), AMATERS_EINVAL, "command name contains a NUL"},
        {CMD("BACKUP n incremental"), AMATERS_EUNSUPPORTED,
         "no backup directory"},
        {CMD("BACKUP n"), AMATERS_EUNSUPPORTED, "no backup directory"},
        {CMD("RESTORE n"), AMATERS_EUNSUPPORTED, "no backup directory"},
        {CMD("BACKUP"), AMATERS_EINVAL, "BACKUP needs a backup name"},
        {CMD("LOGS 2"), 0, NULL},
        {CMD("COMPACT users"), 0, NULL},
        {CMD("STATS"), 0, NULL},
    };
    cJSON *j = NULL;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        f->ctx.err[0] = '\0';
        int rc = admin_json(f, cases[i].cmd, cases[i].len, &j);
        if (rc != cases[i].rc)
            fail_msg("%s: rc %d, want %d (%s)", cases[i].cmd, rc,
                     cases[i].rc, f->ctx.err);
        if (cases[i].msg != NULL && strstr(f->ctx.err, cases[i].msg) == NULL)
            fail_msg("%s: message '%s' lacks '%s'", cases[i].cmd, f->ctx.err,
                     cases[i].msg);
        cJSON_Delete(j);
        j = NULL;
    }
    assert_int_equal(amaters_errmap(AMATERS_EINVAL).code, 2000);
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

#define T(fn, ch) cmocka_unit_test_prestate_setup_teardown(fn, setup, \
                                                         teardown, ch)
#define ENGINE_TESTS(ch)                                                   \
    T(test_admin_stats_verify, ch), T(test_admin_compact, ch),             \
        T(test_compact_does_not_block, ch), T(test_admin_args, ch)

int main(void)
{
    static struct engine_choice memory = {&amaters_engine_memory_ops};
    const struct CMUnitTest mem_tests[] = {
        ENGINE_TESTS(&memory),
    };
    int failed = cmocka_run_group_tests_name("query admin on memory",
                                             mem_tests, NULL, NULL);
#ifdef AMATERS_HAVE_ROCKSDB
    static struct engine_choice lsm = {&amaters_engine_lsm_ops};
    const struct CMUnitTest lsm_tests[] = {ENGINE_TESTS(&lsm)};
    failed += cmocka_run_group_tests_name("query admin on lsm", lsm_tests,
                                          NULL, NULL);
#endif
    return failed;
}
