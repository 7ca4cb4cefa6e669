/*
 * test_keys.c - unit tests for storage/keys.h: collection-name validation
 * (strict UTF-8), golden engine-key encodings, decoding and its errors,
 * range bounds, and the property that one collection's engine range holds
 * exactly that collection's keys (checked with the memory engine).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "leakcheck.h"
#include "storage/engine.h"
#include "storage/keys.h"

struct bytes {
    const char *p;
    size_t n;
};
#define B(s) {(s), sizeof(s) - 1}
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_validate_collection(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        struct bytes name;
        int want;
    } cases[] = {
        {"ascii", B("users"), 0},
        {"one byte", B("a"), 0},
        {"punctuation", B("a/b.c-d_e f"), 0},
        {"2-byte U+0080", B("\xc2\x80"), 0},
        {"2-byte U+07FF", B("\xdf\xbf"), 0},
        {"3-byte U+0800", B("\xe0\xa0\x80"), 0},
        {"3-byte CJK", B("\xe6\x97\xa5\xe6\x9c\xac"), 0},
        {"3-byte U+D7FF", B("\xed\x9f\xbf"), 0},
        {"3-byte U+E000", B("\xee\x80\x80"), 0},
        {"3-byte U+FFFF", B("\xef\xbf\xbf"), 0},
        {"4-byte emoji", B("\xf0\x9f\x98\x80"), 0},
        {"4-byte U+10000", B("\xf0\x90\x80\x80"), 0},
        {"4-byte U+10FFFF", B("\xf4\x8f\xbf\xbf"), 0},
        {"DEL", B("\x7f"), 0},
        {"empty", B(""), AMATERS_EBADCOLL},
        {"NUL alone", B("\x00"), AMATERS_EBADCOLL},
        {"NUL inside", B("a\x00" "b"), AMATERS_EBADCOLL},
        {"NUL at end", B("ab\x00"), AMATERS_EBADCOLL},
        {"overlong C0", B("\xc0\xaf"), AMATERS_EBADCOLL},
        {"overlong C1", B("\xc1\xbf"), AMATERS_EBADCOLL},
        {"overlong NUL", B("\xc0\x80"), AMATERS_EBADCOLL},
        {"overlong 3-byte", B("\xe0\x80\xaf"), AMATERS_EBADCOLL},
        {"overlong 3-byte max", B("\xe0\x9f\xbf"), AMATERS_EBADCOLL},
        {"overlong 4-byte", B("\xf0\x8f\xbf\xbf"), AMATERS_EBADCOLL},
        {"surrogate D800", B("\xed\xa0\x80"), AMATERS_EBADCOLL},
        {"surrogate DFFF", B("\xed\xbf\xbf"), AMATERS_EBADCOLL},
        {"surrogate pair", B("\xed\xa0\xbd\xed\xb8\x80"), AMATERS_EBADCOLL},
        {"above U+10FFFF", B("\xf4\x90\x80\x80"), AMATERS_EBADCOLL},
        {"lead F5", B("\xf5\x80\x80\x80"), AMATERS_EBADCOLL},
        {"byte FE", B("\xfe"), AMATERS_EBADCOLL},
        {"byte FF", B("a\xff"), AMATERS_EBADCOLL},
        {"lone continuation", B("\x80"), AMATERS_EBADCOLL},
        {"continuation after ascii", B("a\xbf"), AMATERS_EBADCOLL},
        {"truncated 2-byte", B("abc\xc2"), AMATERS_EBADCOLL},
        {"truncated 3-byte", B("\xe6\x97"), AMATERS_EBADCOLL},
        {"truncated 4-byte", B("\xf0\x9f\x98"), AMATERS_EBADCOLL},
        {"bad continuation", B("\xc2\x41"), AMATERS_EBADCOLL},
        {"bad 3rd byte", B("\xe6\x97\x41"), AMATERS_EBADCOLL},
        {"bad 4th byte", B("\xf0\x9f\x98\xc0"), AMATERS_EBADCOLL},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        int got = amaters_key_validate_collection(cases[i].name.p,
                                                  cases[i].name.n);
        if (got != cases[i].want)
            fail_msg("%s: got %s", cases[i].what, amaters_errname(got));
    }
    assert_int_equal(amaters_key_validate_collection(NULL, 3),
                     AMATERS_EBADCOLL);
    assert_int_equal(amaters_key_validate_collection(NULL, 0),
                     AMATERS_EBADCOLL);
}

/* 255 bytes is the limit, counted in bytes, not characters. */
static void test_validate_collection_length(void **state)
{
    (void)state;
    char name[300];

    memset(name, 'a', sizeof name);
    assert_int_equal(amaters_key_validate_collection(name, 255), 0);
    assert_int_equal(amaters_key_validate_collection(name, 256),
                     AMATERS_EBADCOLL);
    /* 85 three-byte characters = 255 bytes. */
    for (size_t i = 0; i < 86; i++)
        memcpy(name + 3 * i, "\xe6\x97\xa5", 3);
    assert_int_equal(amaters_key_validate_collection(name, 255), 0);
    assert_int_equal(amaters_key_validate_collection(name, 258),
                     AMATERS_EBADCOLL);
    /* A character cut by the length is truncated UTF-8. */
    assert_int_equal(amaters_key_validate_collection(name, 254),
                     AMATERS_EBADCOLL);
}

static void test_encode_decode_golden(void **state)
{
    (void)state;
    static const struct {
        struct bytes coll;
        struct bytes key;
        struct bytes want;
    } cases[] = {
        {B("a"), B("k"), B("\x01" "ak")},
        {B("users"), B(""), B("\x05users")},
        {B("ab"), B("\x00\xff"), B("\x02" "ab\x00\xff")},
        {B("a"), B("bk"), B("\x01" "abk")},
        {B("ab"), B("k"), B("\x02" "abk")},
        {B("\xc3\xa9t\xc3\xa9"), B("\x00"), B("\x05\xc3\xa9t\xc3\xa9\x00")},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        uint8_t *ek = NULL;
        size_t n = 0;
        const uint8_t *c;
        const uint8_t *k;
        size_t cn;
        size_t kn;

        assert_int_equal(amaters_key_encode(cases[i].coll.p, cases[i].coll.n,
                                            (const uint8_t *)cases[i].key.p,
                                            cases[i].key.n, &ek, &n),
                         0);
        assert_int_equal(n, cases[i].want.n);
        assert_memory_equal(ek, cases[i].want.p, n);
        assert_int_equal(amaters_key_decode(ek, n, &c, &cn, &k, &kn), 0);
        assert_ptr_equal(c, ek + 1);
        assert_int_equal(cn, cases[i].coll.n);
        assert_memory_equal(c, cases[i].coll.p, cn);
        assert_ptr_equal(k, ek + 1 + cn);
        assert_int_equal(kn, cases[i].key.n);
        if (kn > 0)
            assert_memory_equal(k, cases[i].key.p, kn);
        amaters_free(ek);
    }
}

/* A 255-byte collection's length byte is 0xFF; a 64 KiB key fits. */
static void test_encode_limits(void **state)
{
    (void)state;
    char coll[255];
    size_t klen = 64 * 1024;
    uint8_t *key = malloc(klen);
    uint8_t *ek = NULL;
    size_t n = 0;

    assert_non_null(key);
    memset(coll, 'c', sizeof coll);
    memset(key, 0xff, klen);
    assert_int_equal(amaters_key_encode(coll, 255, key, klen, &ek, &n), 0);
    assert_int_equal(n, 1 + 255 + klen);
    assert_int_equal(ek[0], 0xff);
    assert_int_equal(ek[255], 'c');
    assert_int_equal(ek[256], 0xff);
    amaters_free(ek);
    free(key);
}

static void test_encode_errors(void **state)
{
    (void)state;
    uint8_t *ek = (uint8_t *)"untouched";
    size_t n = 7;

    assert_int_equal(amaters_key_encode("", 0, (const uint8_t *)"k", 1, &ek,
                                        &n),
                     AMATERS_EBADCOLL);
    assert_int_equal(amaters_key_encode("a\0", 2, (const uint8_t *)"k", 1,
                                        &ek, &n),
                     AMATERS_EBADCOLL);
    assert_int_equal(amaters_key_encode("a", 1, NULL, 1, &ek, &n),
                     AMATERS_EINVAL);
    assert_int_equal(amaters_key_encode("a", 1, NULL, 0, NULL, &n),
                     AMATERS_EINVAL);
    amaters_alloc_fail_after(0);
    assert_int_equal(amaters_key_encode("a", 1, NULL, 0, &ek, &n),
                     AMATERS_ENOMEM);
    amaters_alloc_fail_after(-1);
    assert_string_equal((const char *)ek, "untouched");
    assert_int_equal(n, 7);
}

static void test_decode_errors(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        struct bytes ek;
    } cases[] = {
        {"empty", B("")},
        {"length byte only", B("\x01")},
        {"zero collection length", B("\x00" "abc")},
        {"collection cut short", B("\x05" "abc")},
        {"length 255, 1 byte", B("\xff" "a")},
    };
    const uint8_t *c;
    const uint8_t *k;
    size_t cn;
    size_t kn;

    for (size_t i = 0; i < NELEM(cases); i++) {
        int got = amaters_key_decode((const uint8_t *)cases[i].ek.p,
                                     cases[i].ek.n, &c, &cn, &k, &kn);
        if (got != AMATERS_ECORRUPT)
            fail_msg("%s: got %s", cases[i].what, amaters_errname(got));
    }
    assert_int_equal(amaters_key_decode(NULL, 0, &c, &cn, &k, &kn),
                     AMATERS_ECORRUPT);
    assert_int_equal(amaters_key_decode(NULL, 3, &c, &cn, &k, &kn),
                     AMATERS_EINVAL);
    assert_int_equal(amaters_key_decode((const uint8_t *)"\x01" "a", 2, NULL,
                                        &cn, &k, &kn),
                     AMATERS_EINVAL);
    /* The smallest valid key: a one-byte collection, empty user key. */
    assert_int_equal(amaters_key_decode((const uint8_t *)"\x01" "a", 2, &c,
                                        &cn, &k, &kn),
                     0);
    assert_int_equal(cn, 1);
    assert_int_equal(kn, 0);
}

static void test_range_bounds(void **state)
{
    (void)state;
    static const struct bytes end_y = B("y"), end_a = B("a"),
                              end_empty = B("");
    static const struct {
        struct bytes coll;
        struct bytes start;
        const struct bytes *end;
        struct bytes lo;
        struct bytes hi;
    } cases[] = {
        {B("a"), B(""), NULL, B("\x01" "a"), B("\x01" "b")},
        {B("ab"), B("x"), &end_y, B("\x02" "abx"), B("\x02" "aby")},
        {B("ab"), B("k"), NULL, B("\x02" "abk"), B("\x02" "ac")},
        {B("z"), B("b"), &end_a, B("\x01" "zb"), B("\x01" "za")},
        {B("z"), B(""), &end_empty, B("\x01" "z"), B("\x01" "z")},
        /* U+10FFFF ends in 0xBF: the successor bumps it to 0xC0. */
        {B("a\xf4\x8f\xbf\xbf"), B(""), NULL, B("\x05" "a\xf4\x8f\xbf\xbf"),
         B("\x05" "a\xf4\x8f\xbf\xc0")},
        {B("\x7f"), B("\xff\xff"), NULL, B("\x01\x7f\xff\xff"),
         B("\x01\x80")},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        uint8_t *lo = NULL;
        uint8_t *hi = NULL;
        size_t ln = 0;
        size_t hn = 0;
        const struct bytes *end = cases[i].end;

        assert_int_equal(amaters_key_range(cases[i].coll.p, cases[i].coll.n,
                                           (const uint8_t *)cases[i].start.p,
                                           cases[i].start.n,
                                           end ? (const uint8_t *)end->p
                                               : NULL,
                                           end ? end->n : 0, &lo, &ln, &hi,
                                           &hn),
                         0);
        assert_int_equal(ln, cases[i].lo.n);
        assert_memory_equal(lo, cases[i].lo.p, ln);
        assert_int_equal(hn, cases[i].hi.n);
        assert_memory_equal(hi, cases[i].hi.p, hn);
        amaters_free(lo);
        amaters_free(hi);
    }
}

static void test_range_errors(void **state)
{
    (void)state;
    uint8_t *lo = NULL;
    uint8_t *hi = NULL;
    size_t ln = 0;
    size_t hn = 0;
    int rv = -1;

    assert_int_equal(amaters_key_range("\xff", 1, NULL, 0, NULL, 0, &lo, &ln,
                                       &hi, &hn),
                     AMATERS_EBADCOLL);
    assert_int_equal(amaters_key_range("a", 1, NULL, 2, NULL, 0, &lo, &ln,
                                       &hi, &hn),
                     AMATERS_EINVAL);
    assert_int_equal(amaters_key_range("a", 1, NULL, 0, NULL, 0, &lo, &ln,
                                       NULL, &hn),
                     AMATERS_EINVAL);
    assert_null(lo);
    assert_null(hi);
    /* Each allocation may fail; nothing leaks, nothing is returned. */
    for (long k = 0; k < 10 && rv != 0; k++) {
        amaters_alloc_fail_after(k);
        rv = amaters_key_range("a", 1, (const uint8_t *)"s", 1,
                               (const uint8_t *)"t", 1, &lo, &ln, &hi, &hn);
        amaters_alloc_fail_after(-1);
        if (rv != 0) {
            assert_int_equal(rv, AMATERS_ENOMEM);
            assert_null(lo);
            assert_null(hi);
            leak_check();
        }
    }
    assert_int_equal(rv, 0);
    amaters_free(lo);
    amaters_free(hi);
}

/* ---- property: collections never overlap in the engine ---- */

static const struct bytes prop_colls[] = {
    B("a"), B("ab"), B("aa"), B("b"), B("a\x7f"), B("\x7f"), B("\xc2\x80"),
    B("a\xf4\x8f\xbf\xbf"), B("a\xc3\xbf"), B("\xf4\x8f\xbf\xbf"),
    B("users"), B("user"), B("users2"),
};
enum { PROP_KEYS = 300, PROP_KMAX = 5 };

struct prop_key {
    size_t coll;
    uint8_t key[PROP_KMAX];
    size_t len;
};

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static int ucmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    }
    return an < bn ? -1 : an > bn;
}

/* Counts the distinct model keys of collection c in [start, end). */
static size_t model_count(const struct prop_key *keys, size_t n, size_t c,
                          const uint8_t *start, size_t sn,
                          const uint8_t *end, size_t en, bool has_end)
{
    size_t count = 0;

    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        if (keys[i].coll != c ||
            ucmp(keys[i].key, keys[i].len, start, sn) < 0 ||
            (has_end && ucmp(keys[i].key, keys[i].len, end, en) >= 0))
            continue;
        for (size_t j = 0; j < i && !dup; j++)
            dup = keys[j].coll == c &&
                  ucmp(keys[j].key, keys[j].len, keys[i].key,
                       keys[i].len) == 0;
        count += !dup;
    }
    return count;
}

/* Scans the engine range of collection c for user keys [start, end) and
 * checks every key decodes to c, lies in range, ascends; returns count. */
static size_t scan_coll(struct amaters_engine *e, size_t c,
                        const uint8_t *start, size_t sn, const uint8_t *end,
                        size_t en)
{
    const struct bytes *coll = &prop_colls[c];
    struct amaters_engine_iter *it = NULL;
    uint8_t *lo = NULL;
    uint8_t *hi = NULL;
    size_t ln;
    size_t hn;
    size_t count = 0;
    uint8_t prev[PROP_KMAX];
    size_t prevn = 0;

    assert_int_equal(amaters_key_range(coll->p, coll->n, start, sn, end, en,
                                       &lo, &ln, &hi, &hn),
                     0);
    assert_int_equal(amaters_engine_iter_open(e, lo, ln, hi, hn, &it), 0);
    for (;;) {
        const uint8_t *ek;
        const uint8_t *v;
        const uint8_t *cp;
        const uint8_t *kp;
        size_t ekn;
        size_t vn;
        size_t cn;
        size_t kn;
        int rv = amaters_engine_iter_next(it, &ek, &ekn, &v, &vn);
        assert_true(rv >= 0);
        if (rv == 0)
            break;
        assert_int_equal(amaters_key_decode(ek, ekn, &cp, &cn, &kp, &kn), 0);
        assert_int_equal(cn, coll->n);
        assert_memory_equal(cp, coll->p, cn);
        assert_true(ucmp(kp, kn, start, sn) >= 0);
        if (end != NULL)
            assert_true(ucmp(kp, kn, end, en) < 0);
        if (count > 0)
            assert_true(ucmp(prev, prevn, kp, kn) < 0);
        assert_true(kn <= PROP_KMAX);
        memcpy(prev, kp, kn);
        prevn = kn;
        count++;
    }
    amaters_engine_iter_close(it);
    amaters_free(lo);
    amaters_free(hi);
    return count;
}

static void test_collections_never_overlap(void **state)
{
    (void)state;
    static const uint8_t alphabet[] = {0x00, 0x01, 'a', 'b', 0x7f, 0x80,
                                       0xbf, 0xc0, 0xff};
    static struct prop_key keys[PROP_KEYS];
    const struct amaters_engine_ops *ops = amaters_engine_find("memory");
    struct amaters_engine *e = NULL;
    char err[64];
    uint64_t rng = 77;

    assert_non_null(ops);
    assert_int_equal(ops->open(NULL, &e, err, sizeof err), 0);
    for (size_t i = 0; i < PROP_KEYS; i++) {
        struct prop_key *k = &keys[i];
        uint8_t *ek = NULL;
        size_t ekn = 0;
        k->coll = rng_next(&rng) % NELEM(prop_colls);
        k->len = rng_next(&rng) % (PROP_KMAX + 1);
        for (size_t j = 0; j < k->len; j++)
            k->key[j] = alphabet[rng_next(&rng) % sizeof alphabet];
        assert_int_equal(amaters_key_encode(prop_colls[k->coll].p,
                                            prop_colls[k->coll].n, k->key,
                                            k->len, &ek, &ekn),
                         0);
        struct amaters_write_op op = {AMATERS_WRITE_PUT, ek, ekn, NULL, 0};
        assert_int_equal(amaters_engine_write(e, &op, 1), 0);
        amaters_free(ek);
    }
    for (size_t c = 0; c < NELEM(prop_colls); c++) {
        /* Whole collection, then random sub-ranges. */
        assert_int_equal(scan_coll(e, c, NULL, 0, NULL, 0),
                         model_count(keys, PROP_KEYS, c, NULL, 0, NULL, 0,
                                     false));
        for (int r = 0; r < 20; r++) {
            uint8_t s[2] = {alphabet[rng_next(&rng) % sizeof alphabet],
                            alphabet[rng_next(&rng) % sizeof alphabet]};
            uint8_t t[1] = {alphabet[rng_next(&rng) % sizeof alphabet]};
            size_t sn = rng_next(&rng) % 3;
            bool has_end = r % 2 == 0;
            size_t got = scan_coll(e, c, s, sn, has_end ? t : NULL, 1);
            assert_int_equal(got, model_count(keys, PROP_KEYS, c, s, sn, t,
                                              1, has_end));
        }
    }
    amaters_engine_close(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LEAK_TEST(test_validate_collection),
        LEAK_TEST(test_validate_collection_length),
        LEAK_TEST(test_encode_decode_golden),
        LEAK_TEST(test_encode_limits),
        LEAK_TEST(test_encode_errors),
        LEAK_TEST(test_decode_errors),
        LEAK_TEST(test_range_bounds),
        LEAK_TEST(test_range_errors),
        LEAK_TEST(test_collections_never_overlap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
