/*
 * test_record.c - unit tests for storage/record.h: a golden byte layout,
 * round trips of varied metadata, and strict rejection of every truncation,
 * trailing bytes, a bad CRC, unknown format versions, bad magic and
 * inconsistent flags.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "core/crc32.h"
#include "core/errors.h"
#include "leakcheck.h"
#include "storage/record.h"

/* "123456789" has the published CRC-32 check value 0xCBF43926. */
static const uint8_t check_data[] = "123456789";
#define CHECK_CRC 0xCBF43926u

static void encode_ok(const struct amaters_record *r, uint8_t **buf,
                      size_t *len)
{
    assert_int_equal(amaters_record_encode(r, buf, len), 0);
    assert_non_null(*buf);
}

static void test_header_size(void **state)
{
    (void)state;
    assert_int_equal(amaters_record_header_size(), 40);
}

/* The layout documented in docs/internals/storage.md, byte by byte. */
static void test_golden_layout(void **state)
{
    (void)state;
    static const uint8_t golden[] = {
        0xA5, 0x01, 0x01, 0x00,                         /* magic fmt fl r */
        0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* size 9 */
        0x02, 0x00, 0x00, 0x00,                         /* compression 2 */
        0x26, 0x39, 0xF4, 0xCB,                         /* checksum */
        0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, /* created_at -2 */
        0x07, 0x00, 0x00, 0x00,                         /* version 7 */
        0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* data length 9 */
        '1', '2', '3', '4', '5', '6', '7', '8', '9',
    };
    struct amaters_record r = {
        .size = 9, .compression = 2, .checksum = CHECK_CRC,
        .created_at = -2, .has_version = true, .version = 7,
        .data = check_data, .data_len = 9,
    };
    uint8_t *buf = NULL;
    size_t len = 0;
    struct amaters_record d;

    encode_ok(&r, &buf, &len);
    assert_int_equal(len, sizeof golden);
    assert_memory_equal(buf, golden, sizeof golden);
    amaters_free(buf);

    /* And the golden bytes decode to the same record. */
    assert_int_equal(amaters_record_decode(golden, sizeof golden, &d), 0);
    assert_int_equal(d.size, 9);
    assert_int_equal(d.compression, 2);
    assert_int_equal(d.checksum, CHECK_CRC);
    assert_true(d.created_at == -2);
    assert_true(d.has_version);
    assert_int_equal(d.version, 7);
    assert_int_equal(d.data_len, 9);
    assert_ptr_equal(d.data, golden + 40);
}

static void test_round_trip_table(void **state)
{
    (void)state;
    static uint8_t big[1 << 20];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 131u + 7u);
    const struct amaters_record cases[] = {
        /* Empty data: CRC of nothing is 0. */
        {.size = 0, .checksum = 0, .data = NULL, .data_len = 0},
        {.size = 9, .compression = 0, .checksum = CHECK_CRC,
         .created_at = 1700000000, .data = check_data, .data_len = 9},
        {.size = UINT64_MAX, .compression = 1, .checksum = CHECK_CRC,
         .created_at = INT64_MIN, .has_version = true, .version = 0,
         .data = check_data, .data_len = 9},
        {.size = 1, .compression = UINT32_MAX, .checksum = CHECK_CRC,
         .created_at = INT64_MAX, .has_version = true,
         .version = UINT32_MAX, .data = check_data, .data_len = 9},
        {.size = 12345, .compression = 2, .checksum = 0,
         .created_at = -1, .has_version = false, .data = big,
         .data_len = sizeof big},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct amaters_record r = cases[i];
        struct amaters_record d;
        uint8_t *buf = NULL;
        size_t len = 0;

        if (r.data == big)
            r.checksum = amaters_crc32(0, big, sizeof big);
        encode_ok(&r, &buf, &len);
        assert_int_equal(len, 40 + r.data_len);
        memset(&d, 0xAB, sizeof d);
        assert_int_equal(amaters_record_decode(buf, len, &d), 0);
        assert_true(d.size == r.size);
        assert_int_equal(d.compression, r.compression);
        assert_int_equal(d.checksum, r.checksum);
        assert_true(d.created_at == r.created_at);
        assert_int_equal(d.has_version, r.has_version);
        assert_int_equal(d.version, r.has_version ? r.version : 0);
        assert_int_equal(d.data_len, r.data_len);
        assert_ptr_equal(d.data, buf + 40);
        if (r.data_len > 0)
            assert_memory_equal(d.data, r.data, r.data_len);
        amaters_free(buf);
    }
}

/* A valid record of "123456789" without a version, for mutation tests. */
static void make_valid(uint8_t **buf, size_t *len)
{
    struct amaters_record r = {
        .size = 9, .checksum = CHECK_CRC, .created_at = 5,
        .data = check_data, .data_len = 9,
    };
    encode_ok(&r, buf, len);
}

static void test_every_truncation_rejected(void **state)
{
    (void)state;
    uint8_t *buf = NULL;
    size_t len = 0;
    struct amaters_record d;

    make_valid(&buf, &len);
    for (size_t cut = 0; cut < len; cut++) {
        /* A fresh, exactly sized copy so ASan catches over-reads. */
        uint8_t *t = amaters_malloc(cut);
        assert_non_null(t);
        memcpy(t, buf, cut);
        assert_int_equal(amaters_record_decode(t, cut, &d), AMATERS_ECORRUPT);
        amaters_free(t);
    }
    assert_int_equal(amaters_record_decode(NULL, 0, &d), AMATERS_ECORRUPT);
    amaters_free(buf);
}

static void test_trailing_bytes_rejected(void **state)
{
    (void)state;
    uint8_t *buf = NULL;
    size_t len = 0;
    struct amaters_record d;

    make_valid(&buf, &len);
    uint8_t *longer = amaters_malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, buf, len);
    longer[len] = 0;
    assert_int_equal(amaters_record_decode(longer, len + 1, &d),
                     AMATERS_ECORRUPT);
    amaters_free(longer);
    amaters_free(buf);
}

/* Single-byte mutations of a valid record and the expected verdict. */
static void test_mutations_rejected(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        size_t off;
        uint8_t value; /* XORed into the byte */
        int expect;
    } cases[] = {
        {"bad magic", 0, 0xFF, AMATERS_ECORRUPT},
        {"format version 0", 1, 0x01, AMATERS_EUNSUPPORTED},
        {"format version 3", 1, 0x02, AMATERS_EUNSUPPORTED},
        {"format version 255", 1, 0xFE, AMATERS_EUNSUPPORTED},
        {"unknown flag bit", 2, 0x80, AMATERS_ECORRUPT},
        {"reserved byte set", 3, 0x01, AMATERS_ECORRUPT},
        {"checksum field changed", 16, 0x01, AMATERS_ECORRUPT},
        {"version without flag", 28, 0x01, AMATERS_ECORRUPT},
        {"data length 8 (short)", 32, 0x01, AMATERS_ECORRUPT},
        {"data length 10 (long)", 32, 0x03, AMATERS_ECORRUPT},
        {"data length huge", 39, 0x80, AMATERS_ECORRUPT},
        {"data byte flipped", 40, 0x01, AMATERS_ECORRUPT},
        {"last data byte flipped", 48, 0x40, AMATERS_ECORRUPT},
    };
    uint8_t *buf = NULL;
    size_t len = 0;
    struct amaters_record d;

    make_valid(&buf, &len);
    assert_int_equal(len, 49);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf[cases[i].off] ^= cases[i].value;
        if (amaters_record_decode(buf, len, &d) != cases[i].expect)
            fail_msg("%s: got %s", cases[i].what,
                     amaters_errname(amaters_record_decode(buf, len, &d)));
        buf[cases[i].off] ^= cases[i].value;
    }
    /* Metadata fields the server stores as sent are not validated. */
    buf[12] = 0x7F; /* compression 127 */
    assert_int_equal(amaters_record_decode(buf, len, &d), 0);
    assert_int_equal(d.compression, 127);
    amaters_free(buf);
}

/* An unknown format version is refused even when the rest is garbage or
 * short: the reader must not guess at a layout it does not know. */
static void test_unknown_version_short(void **state)
{
    (void)state;
    const uint8_t v2[] = {0xA5, 0x02};
    struct amaters_record d;

    assert_int_equal(amaters_record_decode(v2, sizeof v2, &d),
                     AMATERS_EUNSUPPORTED);
}

static void test_encode_errors(void **state)
{
    (void)state;
    struct amaters_record r = {.data = NULL, .data_len = 1};
    uint8_t *buf = (uint8_t *)"untouched";
    size_t len = 0;

    assert_int_equal(amaters_record_encode(&r, &buf, &len), AMATERS_EINVAL);
    r.data_len = 0;
    assert_int_equal(amaters_record_encode(NULL, &buf, &len), AMATERS_EINVAL);
    assert_int_equal(amaters_record_encode(&r, NULL, &len), AMATERS_EINVAL);
    assert_int_equal(amaters_record_encode(&r, &buf, NULL), AMATERS_EINVAL);
    r.version = 3; /* but has_version false */
    assert_int_equal(amaters_record_encode(&r, &buf, &len),
                     AMATERS_EBADVALUE);
    assert_string_equal((const char *)buf, "untouched");

    r.version = 0;
    amaters_alloc_fail_after(0);
    assert_int_equal(amaters_record_encode(&r, &buf, &len), AMATERS_ENOMEM);
    amaters_alloc_fail_after(-1);
    assert_string_equal((const char *)buf, "untouched");
}

static void test_decode_errors(void **state)
{
    (void)state;
    uint8_t one = 0xA5;
    struct amaters_record d;

    assert_int_equal(amaters_record_decode(NULL, 5, &d), AMATERS_EINVAL);
    assert_int_equal(amaters_record_decode(&one, 1, NULL), AMATERS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LEAK_TEST(test_header_size),
        LEAK_TEST(test_golden_layout),
        LEAK_TEST(test_round_trip_table),
        LEAK_TEST(test_every_truncation_rejected),
        LEAK_TEST(test_trailing_bytes_rejected),
        LEAK_TEST(test_mutations_rejected),
        LEAK_TEST(test_unknown_version_short),
        LEAK_TEST(test_encode_errors),
        LEAK_TEST(test_decode_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
