/*
 * test_core.c - unit tests for src/core: error table, CRC-32 against
 * published check values, allocation accounting and fault injection, arena.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/crc32.h"
#include "core/errors.h"
#include "core/fileutil.h"

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

/* amaters_copy_file: exact copy with the given mode and the byte count;
 * never over an existing file; errors as errno values. */
static void test_copy_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/amaters-core-XXXXXX", src[64], dst[64], buf[300000];
    uint64_t bytes = 7;
    struct stat st;
    FILE *f;

    assert_non_null(mkdtemp(dir));
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(dst, sizeof dst, "%s/dst", dir);
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)(i * 131 + 7);
    f = fopen(src, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, sizeof buf, f), sizeof buf);
    fclose(f);

    assert_int_equal(amaters_copy_file(src, dst, 0640, &bytes), 0);
    assert_int_equal(bytes, 7 + sizeof buf);
    assert_int_equal(stat(dst, &st), 0);
    mode_t um = umask(0);
    umask(um);
    assert_int_equal(st.st_mode & 0777, 0640 & ~um);
    assert_int_equal(st.st_size, sizeof buf);
    char *back = malloc(sizeof buf);
    f = fopen(dst, "rb");
    assert_non_null(back);
    assert_non_null(f);
    assert_int_equal(fread(back, 1, sizeof buf, f), sizeof buf);
    fclose(f);
    assert_memory_equal(back, buf, sizeof buf);
    free(back);

    assert_int_equal(amaters_copy_file(src, dst, 0600, NULL), EEXIST);
    assert_int_equal(amaters_copy_file("/nonexistent/x", "/tmp/x", 0600,
                                       NULL), ENOENT);
    unlink(src);
    unlink(dst);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_have_names_and_messages),
        cmocka_unit_test(test_crc32_check_values),
        cmocka_unit_test(test_alloc_accounting_and_failure),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_copy_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
