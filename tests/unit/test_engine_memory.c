/*
 * test_engine_memory.c - the "memory" engine: the engine registry, things
 * only this engine promises (every open starts empty, independent
 * instances, allocation failures on each call), then the whole engine
 * conformance suite (engine_conformance.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "engine_conformance.h"
#include "leakcheck.h"
#include "storage/engine.h"

static void test_registry(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const struct amaters_engine_ops *want;
    } cases[] = {
        {"memory", &amaters_engine_memory_ops},
        {"Memory", NULL},
        {"", NULL},
        {"memory ", NULL},
        {"rocksdb", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_ptr_equal(amaters_engine_find(cases[i].name), cases[i].want);
    assert_null(amaters_engine_find(NULL));
#ifndef AMATERS_HAVE_ROCKSDB
    assert_null(amaters_engine_find("lsm"));
#endif
    assert_int_equal(amaters_engine_memory_ops.version,
                     AMATERS_ENGINE_OPS_VERSION);
    assert_string_equal(amaters_engine_memory_ops.name, "memory");
}

static struct amaters_engine *open_mem(void)
{
    struct amaters_engine *e = NULL;
    char err[128];

    assert_int_equal(amaters_engine_memory_ops.open(NULL, &e, err,
                                                    sizeof err),
                     0);
    return e;
}

/* Two instances share nothing; opts may be NULL. */
static void test_instances_independent(void **state)
{
    (void)state;
    struct amaters_engine *a = open_mem();
    struct amaters_engine *b = open_mem();
    struct amaters_write_op op = {AMATERS_WRITE_PUT, (const uint8_t *)"k", 1,
                                  (const uint8_t *)"v", 1};
    uint8_t *v = NULL;
    size_t n = 0;

    assert_int_equal(amaters_engine_write(a, &op, 1), 0);
    assert_int_equal(amaters_engine_get(a, op.key, 1, &v, &n), 0);
    amaters_free(v);
    assert_int_equal(amaters_engine_get(b, op.key, 1, &v, &n),
                     AMATERS_ENOTFOUND);
    amaters_engine_close(a);
    amaters_engine_close(b);
    amaters_engine_close(NULL);
}

/* Every allocation of open() can fail cleanly, with a message. */
static void test_open_alloc_faults(void **state)
{
    (void)state;
    int rv = -1;

    for (long k = 0; k < 100 && rv != 0; k++) {
        struct amaters_engine *e = NULL;
        char err[128] = "";
        amaters_alloc_fail_after(k);
        rv = amaters_engine_memory_ops.open(NULL, &e, err, sizeof err);
        amaters_alloc_fail_after(-1);
        if (rv != 0) {
            assert_int_equal(rv, AMATERS_ENOMEM);
            assert_non_null(strstr(err, "out of memory"));
            leak_check();
        } else {
            assert_true(k >= 2); /* engine + head sentinel */
            amaters_engine_close(e);
        }
    }
    assert_int_equal(rv, 0);
}

/* The memory engine allocates for a batch before it locks: the first
 * allocation (k = 0) and the one per put must fail cleanly, with
 * AMATERS_ENOMEM (the conformance suite checks nothing is applied). */
static void test_write_alloc_faults(void **state)
{
    (void)state;
    struct amaters_engine *e = open_mem();
    const struct amaters_write_op ops[] = {
        {AMATERS_WRITE_PUT, (const uint8_t *)"a", 1, (const uint8_t *)"1", 1},
        {AMATERS_WRITE_DELETE, (const uint8_t *)"z", 1, NULL, 0},
        {AMATERS_WRITE_PUT, (const uint8_t *)"b", 1, (const uint8_t *)"2", 1},
    };
    int fails = 0;
    int rv = -1;

    for (long k = 0; k < 100 && rv != 0; k++) {
        amaters_alloc_fail_after(k);
        rv = amaters_engine_write(e, ops, 3);
        amaters_alloc_fail_after(-1);
        if (rv != 0) {
            assert_int_equal(rv, AMATERS_ENOMEM);
            fails++;
        }
    }
    assert_int_equal(rv, 0);
    assert_int_equal(fails, 3); /* op array + two puts */
    amaters_engine_close(e);
}

/* Arguments the engine refuses without touching anything. */
static void test_invalid_arguments(void **state)
{
    (void)state;
    struct amaters_engine *e = open_mem();
    struct amaters_engine_iter *it = NULL;
    struct amaters_write_op bad_key = {AMATERS_WRITE_PUT, NULL, 3,
                                       (const uint8_t *)"v", 1};
    struct amaters_write_op bad_val = {AMATERS_WRITE_PUT,
                                       (const uint8_t *)"k", 1, NULL, 4};
    uint8_t *v = NULL;
    size_t n = 0;

    assert_int_equal(amaters_engine_write(e, &bad_key, 1), AMATERS_EINVAL);
    assert_int_equal(amaters_engine_write(e, &bad_val, 1), AMATERS_EINVAL);
    assert_int_equal(amaters_engine_write(e, NULL, 2), AMATERS_EINVAL);
    assert_int_equal(amaters_engine_get(e, NULL, 2, &v, &n), AMATERS_EINVAL);
    assert_int_equal(amaters_engine_get(e, (const uint8_t *)"k", 1, NULL, &n),
                     AMATERS_EINVAL);
    assert_int_equal(amaters_engine_iter_open(e, NULL, 1, NULL, 0, &it),
                     AMATERS_EINVAL);
    assert_int_equal(amaters_engine_memory_ops.open(NULL, NULL, NULL, 0),
                     AMATERS_EINVAL);
    assert_int_equal(e->ops->stats(e, NULL), AMATERS_EINVAL);
    amaters_engine_close(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LEAK_TEST(test_registry),
        LEAK_TEST(test_instances_independent),
        LEAK_TEST(test_open_alloc_faults),
        LEAK_TEST(test_write_alloc_faults),
        LEAK_TEST(test_invalid_arguments),
    };
    char scratch[] = "/tmp/amaters-engine-memory-XXXXXX";
    int failed = cmocka_run_group_tests_name("memory engine", tests, NULL,
                                             NULL);

    if (mkdtemp(scratch) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    failed += amaters_engine_conformance_run(&amaters_engine_memory_ops,
                                             scratch, false);
    rmdir(scratch);
    return failed;
}
