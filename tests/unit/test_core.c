/*
 * test_core.c - unit tests for src/core: error table, CRC-32 against
 * published check values, allocation accounting and fault injection, arena.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/crc32.h"
#include "core/errors.h"

static void test_errors_have_names_and_messages(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *name;
        const char *msg;
    } cases[] = {
        {AMATERS_EOK, "AMATERS_EOK", "success"},
        {AMATERS_ENOMEM, "AMATERS_ENOMEM", "out of memory"},
        {AMATERS_ECHECKSUM, "AMATERS_ECHECKSUM", "checksum mismatch"},
        {AMATERS_EAUTH, "AMATERS_EAUTH", "authentication failed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_string_equal(amaters_errname(cases[i].code), cases[i].name);
        assert_string_equal(amaters_strerror(cases[i].code), cases[i].msg);
    }
    assert_string_equal(amaters_strerror(-9999), "unknown error");
}

static void test_crc32_check_values(void **state)
{
    (void)state;
    /* Published CRC-32/ISO-HDLC check value and simple vectors. */
    static const struct {
        const char *in;
        uint32_t crc;
    } cases[] = {
        {"", 0x00000000u},
        {"123456789", 0xCBF43926u},
        {"a", 0xE8B7BE43u},
        {"The quick brown fox jumps over the lazy dog", 0x414FA339u},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(amaters_crc32(0, cases[i].in, strlen(cases[i].in)),
                         cases[i].crc);
    /* Incremental equals one-shot. */
    uint32_t c = amaters_crc32(0, "1234", 4);
    c = amaters_crc32(c, "56789", 5);
    assert_int_equal(c, 0xCBF43926u);
}

static void test_alloc_accounting_and_failure(void **state)
{
    (void)state;
    long before = amaters_alloc_live();
    void *p = amaters_malloc(10);
    char *s = amaters_strdup("abc");
    assert_non_null(p);
    assert_string_equal(s, "abc");
    assert_int_equal(amaters_alloc_live(), before + 2);
    amaters_free(p);
    amaters_free(s);
    assert_int_equal(amaters_alloc_live(), before);

    amaters_alloc_fail_after(1);
    p = amaters_malloc(1);
    assert_non_null(p);
    assert_null(amaters_malloc(1));
    void *q = amaters_malloc(1);
    assert_non_null(q);
    amaters_free(p);
    amaters_free(q);
    assert_int_equal(amaters_alloc_live(), before);
}

static void test_arena(void **state)
{
    (void)state;
    long before = amaters_alloc_live();
    struct amaters_arena *a = amaters_arena_create(1 << 20);
    assert_non_null(a);
    for (int i = 0; i < 1000; i++) {
        unsigned char *p = amaters_arena_alloc(a, (size_t)(i % 100) + 1);
        assert_non_null(p);
        assert_int_equal(((uintptr_t)p) % 16, 0);
        assert_int_equal(p[0], 0);
        p[0] = 0xAA;
    }
    char *s = amaters_arena_printf(a, "%s-%d", "x", 42);
    assert_string_equal(s, "x-42");
    assert_non_null(amaters_arena_alloc(a, 100000));
    /* Over the cap fails cleanly. */
    assert_null(amaters_arena_alloc(a, 2 << 20));
    amaters_arena_reset(a);
    assert_int_equal(amaters_arena_used(a), 0);
    assert_non_null(amaters_arena_memdup(a, "abc", 3));
    amaters_arena_destroy(a);
    assert_int_equal(amaters_alloc_live(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_have_names_and_messages),
        cmocka_unit_test(test_crc32_check_values),
        cmocka_unit_test(test_alloc_accounting_and_failure),
        cmocka_unit_test(test_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
