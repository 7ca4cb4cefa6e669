/*
 * test_rpc_wirecheck.c - rpc_wire_check, the pre-decode check of request
 * bytes (src/rpc/wirecheck.c): messages packed by protobuf-c pass; nesting
 * is limited to 64 levels (5000 is refused without a crash); invalid UTF-8
 * in `string` fields is refused, valid multi-byte text is not; unknown
 * fields are limited; broken wire syntax is refused; the top-level batch
 * query count is reported; the memory estimate follows the real cost of
 * protobuf_c_message_unpack (measured with a counting allocator).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "leakcheck.h"
#include "rpc/internal.h"

static const struct rpc_wire_limits LIM = {64, 4096, (size_t)128 << 20};

/* ---- a growable byte buffer for hand-built wire bytes ---- */

struct buf {
    uint8_t *p;
    size_t n, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = (b->n + n) * 2 + 16;
        b->p = amaters_realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put_varint(struct buf *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    do {
        t[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            t[n] |= 0x80;
        n++;
    } while (v);
    put(b, t, n);
}

/* Returns a new buffer: field `num` (length-delimited) holding inner. */
static struct buf ld(uint32_t num, const struct buf *inner)
{
    struct buf b = {0};
    put_varint(&b, (uint64_t)num << 3 | 2);
    put_varint(&b, inner->n);
    put(&b, inner->p, inner->n);
    return b;
}

static void wrap(struct buf *b, uint32_t num)
{
    struct buf w = ld(num, b);
    amaters_free(b->p);
    *b = w;
}

static int check(const ProtobufCMessageDescriptor *d, const struct buf *b,
                 struct rpc_wire_stats *st, char *why, size_t whylen)
{
    return rpc_wire_check(d, b->p, b->n, &LIM, st, why, whylen);
}

/* ---- valid messages packed by protobuf-c ---- */

static struct buf pack(const ProtobufCMessage *m)
{
    struct buf b = {0};
    size_t n = protobuf_c_message_get_packed_size(m);
    b.p = amaters_malloc(n + 1);
    assert_non_null(b.p);
    b.n = protobuf_c_message_pack(m, b.p);
    b.cap = n + 1;
    return b;
}

static void test_packed_messages_pass(void **state)
{
    (void)state;
    Amaters__Types__Key key = AMATERS__TYPES__KEY__INIT;
    Amaters__Types__CipherBlob blob = AMATERS__TYPES__CIPHER_BLOB__INIT;
    Amaters__Query__SetQuery set = AMATERS__QUERY__SET_QUERY__INIT;
    Amaters__Query__Query q = AMATERS__QUERY__QUERY__INIT;
    Amaters__Types__Version v = AMATERS__TYPES__VERSION__INIT;
    Amaters__Aql__QueryRequest req = AMATERS__AQL__QUERY_REQUEST__INIT;
    Amaters__Aql__BatchRequest batch = AMATERS__AQL__BATCH_REQUEST__INIT;
    Amaters__Query__Query *qs[3] = {&q, &q, &q};
    struct rpc_wire_stats st;
    char why[128];

    key.data.data = (uint8_t *)"k\xff";
    key.data.len = 2;
    blob.data.data = (uint8_t *)"\x00\x01value";
    blob.data.len = 7;
    set.collection.data = (uint8_t *)"coll";
    set.collection.len = 4;
    set.key = &key;
    set.value = &blob;
    q.query_case = AMATERS__QUERY__QUERY__QUERY_SET;
    q.set = &set;
    v.minor = 2;
    req.query = &q;
    req._request_id_case = AMATERS__AQL__QUERY_REQUEST___REQUEST_ID_REQUEST_ID;
    req.request_id = (char *)"r\xc3\xa9q-\xe2\x82\xac-\xf0\x9f\x98\x80";
    req._timeout_ms_case = AMATERS__AQL__QUERY_REQUEST___TIMEOUT_MS_TIMEOUT_MS;
    req.timeout_ms = 30000;
    req.version = &v;

    struct buf b = pack(&req.base);
    assert_int_equal(check(&amaters__aql__query_request__descriptor, &b, &st,
                           why, sizeof why), 0);
    assert_true(st.complete);
    /* QueryRequest, Query, SetQuery, Key, CipherBlob, Version */
    assert_int_equal(st.messages, 6);
    assert_int_equal(st.depth, 3);
    assert_int_equal(st.unknown, 0);
    amaters_free(b.p);

    batch.queries = qs;
    batch.n_queries = 3;
    batch._request_id_case =
        AMATERS__AQL__BATCH_REQUEST___REQUEST_ID_REQUEST_ID;
    batch.request_id = (char *)"b";
    batch.version = &v;
    b = pack(&batch.base);
    assert_int_equal(check(&amaters__aql__batch_request__descriptor, &b, &st,
                           why, sizeof why), 0);
    assert_int_equal(st.top_level_repeated, 3);
    amaters_free(b.p);
}

/* ---- nesting ---- */

/* A Predicate nested `levels` sub-messages deep (NOT -> NotPredicate ->
 * Predicate ...): field 8 of Predicate, field 1 of NotPredicate. */
static struct buf nested_predicate(unsigned levels)
{
    struct buf b = {0};
    put(&b, "", 0);
    for (unsigned i = levels; i > 0; i--)
        wrap(&b, i % 2 ? 8 : 1);
    return b;
}

static void test_nesting(void **state)
{
    (void)state;
    static const struct {
        unsigned levels;
        int rc;
    } cases[] = {
        {1, 0}, {2, 0}, {63, 0}, {64, 0}, {65, AMATERS_EPARSE},
        {66, AMATERS_EPARSE}, {200, AMATERS_EPARSE}, {5000, AMATERS_EPARSE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rpc_wire_stats st;
        char why[128] = "";
        struct buf b = nested_predicate(cases[i].levels);
        int rc = check(&amaters__types__predicate__descriptor, &b, &st, why,
                       sizeof why);
        assert_int_equal(rc, cases[i].rc);
        if (rc == 0) {
            assert_int_equal(st.depth, cases[i].levels);
            assert_int_equal(st.messages, cases[i].levels + 1);
        } else {
            assert_string_equal(why, "message nested deeper than 64 levels");
        }
        amaters_free(b.p);
    }
}

/* The reviewer's request: a FilterQuery whose predicate is 5000 NOTs deep,
 * inside a QueryRequest (and a BatchRequest). */
static void test_nested_request_refused(void **state)
{
    (void)state;
    struct rpc_wire_stats st;
    char why[128];
    struct buf pred = nested_predicate(5000);
    struct buf coll = {0};
    put(&coll, "\x0a\x01" "c", 3); /* FilterQuery.collection = "c" */
    struct buf p2 = ld(2, &pred);  /* FilterQuery.predicate */
    put(&coll, p2.p, p2.n);
    wrap(&coll, 4); /* Query.filter */
    struct buf batch = ld(1, &coll); /* BatchRequest.queries */
    wrap(&coll, 1); /* QueryRequest.query */
    assert_int_equal(check(&amaters__aql__query_request__descriptor, &coll,
                           &st, why, sizeof why), AMATERS_EPARSE);
    assert_false(st.complete);
    assert_int_equal(check(&amaters__aql__batch_request__descriptor, &batch,
                           &st, why, sizeof why), AMATERS_EPARSE);
    assert_non_null(strstr(why, "nested deeper than 64"));
    amaters_free(pred.p);
    amaters_free(p2.p);
    amaters_free(coll.p);
    amaters_free(batch.p);
}

/* ---- UTF-8 ---- */

static void test_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
        bool ok;
    } cases[] = {
        {"", 0, true},
        {"plain ascii", 11, true},
        {"\xc3\xa9", 2, true},                 /* U+00E9 */
        {"\xe2\x82\xac", 3, true},             /* U+20AC */
        {"\xef\xbf\xbf", 3, true},             /* U+FFFF */
        {"\xf0\x9f\x98\x80", 4, true},         /* U+1F600 */
        {"\xf4\x8f\xbf\xbf", 4, true},         /* U+10FFFF */
        {"\xc3\x28", 2, false},                /* bad continuation */
        {"\xff\xfe", 2, false},                /* not a lead byte */
        {"\x80", 1, false},                    /* lone continuation */
        {"\xc0\xaf", 2, false},                /* overlong '/' */
        {"\xc1\xbf", 2, false},                /* overlong */
        {"\xe0\x80\xaf", 3, false},            /* overlong 3-byte */
        {"\xf0\x80\x80\xaf", 4, false},        /* overlong 4-byte */
        {"\xed\xa0\x80", 3, false},            /* surrogate U+D800 */
        {"\xed\xbf\xbf", 3, false},            /* surrogate U+DFFF */
        {"\xf4\x90\x80\x80", 4, false},        /* U+110000 */
        {"\xf8\x88\x80\x80\x80", 5, false},    /* 5-byte form */
        {"\xe2\x82", 2, false},                /* truncated */
        {"ok\xf0\x9f\x98", 5, false},          /* truncated at the end */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rpc_wire_stats st;
        char why[128] = "";
        struct buf s = {0}, hs;
        put(&s, cases[i].s, cases[i].n);
        /* QueryRequest.request_id, .transaction_id and
         * HealthCheckRequest.service are proto3 strings */
        uint32_t fields[] = {2, 4};
        for (size_t f = 0; f < 2; f++) {
            struct buf b = ld(fields[f], &s);
            int rc = check(&amaters__aql__query_request__descriptor, &b, &st,
                           why, sizeof why);
            assert_int_equal(rc, cases[i].ok ? 0 : AMATERS_EPARSE);
            if (!cases[i].ok)
                assert_non_null(strstr(why, "invalid UTF-8"));
            amaters_free(b.p);
        }
        hs = ld(1, &s);
        assert_int_equal(check(&amaters__aql__health_check_request__descriptor,
                               &hs, &st, why, sizeof why),
                         cases[i].ok ? 0 : AMATERS_EPARSE);
        assert_int_equal(rpc_utf8_valid((const uint8_t *)cases[i].s,
                                        cases[i].n), cases[i].ok);
        amaters_free(hs.p);
        amaters_free(s.p);
    }
}

/* bytes fields (collection, key data) may hold anything */
static void test_bytes_fields_not_checked(void **state)
{
    (void)state;
    struct rpc_wire_stats st;
    char why[128];
    struct buf b = {0};
    put(&b, "\x0a\x02\xff\xfe", 4);          /* GetQuery.collection */
    put(&b, "\x12\x03\x0a\x01\xc3", 5);      /* GetQuery.key.data */
    wrap(&b, 1);                             /* Query.get */
    wrap(&b, 1);                             /* QueryRequest.query */
    assert_int_equal(check(&amaters__aql__query_request__descriptor, &b, &st,
                           why, sizeof why), 0);
    amaters_free(b.p);
}

/* ---- unknown fields ---- */

static void test_unknown_fields(void **state)
{
    (void)state;
    static const struct {
        size_t n;
        int rc;
    } cases[] = {{1, 0}, {4096, 0}, {4097, AMATERS_ETOOBIG},
                 {100000, AMATERS_ETOOBIG}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rpc_wire_stats st;
        char why[128] = "";
        struct buf b = {0};
        for (size_t k = 0; k < cases[i].n; k++) {
            /* alternate wire types: varint 100, fixed32 101, bytes 102 */
            if (k % 3 == 0)
                put(&b, "\xa0\x06\x01", 3);
            else if (k % 3 == 1)
                put(&b, "\xad\x06\x01\x02\x03\x04", 6);
            else
                put(&b, "\xb2\x06\x01x", 4);
        }
        int rc = check(&amaters__aql__query_request__descriptor, &b, &st,
                       why, sizeof why);
        assert_int_equal(rc, cases[i].rc);
        if (rc == 0)
            assert_int_equal(st.unknown, cases[i].n);
        else
            assert_string_equal(
                why, "request carries more than 4096 unknown fields");
        amaters_free(b.p);
    }
}

/* ---- wire syntax ---- */

static void test_wire_syntax(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        const char *bytes;
        size_t n;
        int rc;
    } cases[] = {
        {"empty message", "", 0, 0},
        {"timeout varint", "\x18\xb0\xea\x01", 4, 0},
        {"10-byte varint", "\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
         11, 0},
        {"truncated varint", "\x18\x80", 2, AMATERS_EPARSE},
        {"11-byte varint",
         "\x18\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 12,
         AMATERS_EPARSE},
        {"truncated tag", "\x80", 1, AMATERS_EPARSE},
        {"length past end", "\x12\x05" "ab", 4, AMATERS_EPARSE},
        {"sub-message length past its parent",
         "\x0a\x02\x0a\x05" "abcde", 9, AMATERS_EPARSE},
        {"truncated length", "\x12", 1, AMATERS_EPARSE},
        {"huge length", "\x12\xff\xff\xff\xff\x0f", 6, AMATERS_EPARSE},
        {"start group", "\x0b", 1, AMATERS_EPARSE},
        {"end group", "\x0c", 1, AMATERS_EPARSE},
        {"wire type 6", "\x0e", 1, AMATERS_EPARSE},
        {"wire type 7", "\x0f", 1, AMATERS_EPARSE},
        {"field number 0", "\x00\x00", 2, AMATERS_EPARSE},
        {"truncated fixed64", "\xa1\x06\x01\x02", 4, AMATERS_EPARSE},
        {"truncated fixed32", "\xad\x06\x01", 3, AMATERS_EPARSE},
        {"tag over 32 bits", "\x80\x80\x80\x80\x80\x01\x00", 7,
         AMATERS_EPARSE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rpc_wire_stats st;
        char why[128] = "";
        struct buf b = {0};
        put(&b, cases[i].bytes, cases[i].n);
        int rc = check(&amaters__aql__query_request__descriptor, &b, &st,
                       why, sizeof why);
        if (rc != cases[i].rc)
            fail_msg("%s: rc %d, expected %d (%s)", cases[i].what, rc,
                     cases[i].rc, why);
        if (rc)
            assert_true(why[0] != '\0');
        amaters_free(b.p);
    }
}

/* ---- memory estimate ---- */

static size_t counted;

static void *count_alloc(void *data, size_t size)
{
    (void)data;
    counted += size;
    return amaters_malloc(size);
}

static void count_free(void *data, void *p)
{
    (void)data;
    amaters_free(p);
}

/* n empty Query entries in a BatchRequest: 2 bytes each */
static struct buf empty_queries(size_t n)
{
    struct buf b = {0};
    for (size_t i = 0; i < n; i++)
        put(&b, "\x0a\x00", 2);
    return b;
}

static void test_estimate(void **state)
{
    (void)state;
    ProtobufCAllocator a = {count_alloc, count_free, NULL};
    struct rpc_wire_stats st;
    char why[160];
    size_t prev = 0;
    static const size_t ns[] = {1000, 10000, 100000};

    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        struct buf b = empty_queries(ns[i]);
        assert_int_equal(check(&amaters__aql__batch_request__descriptor, &b,
                               &st, why, sizeof why), 0);
        assert_int_equal(st.top_level_repeated, ns[i]);
        assert_true(st.estimate > prev);
        prev = st.estimate;
        /* the estimate follows what unpack really allocates */
        counted = 0;
        ProtobufCMessage *m = protobuf_c_message_unpack(
            &amaters__aql__batch_request__descriptor, &a, b.n, b.p);
        assert_non_null(m);
        assert_int_equal(((Amaters__Aql__BatchRequest *)m)->n_queries, ns[i]);
        protobuf_c_message_free_unpacked(m, &a);
        if (st.estimate < counted || st.estimate > counted * 4)
            fail_msg("n=%zu: estimate %zu, unpack allocated %zu", ns[i],
                     st.estimate, counted);
        amaters_free(b.p);
    }
}

/* The estimate bounds what unpack allocates (bytes asked for; the arena
 * rounds to 16, which the estimate includes) for shapes that stress the
 * per-field scan records and tiny allocations: n empty strings in one
 * singular string field (each replaces the last), around the scan-record
 * block boundaries (16 on the stack, then blocks of 32, 64, ...). */
static void test_estimate_bounds_strings(void **state)
{
    (void)state;
    ProtobufCAllocator a = {count_alloc, count_free, NULL};
    struct rpc_wire_stats st;
    char why[160];
    static const size_t ns[] = {1, 16, 17, 48, 49, 112, 113, 4000, 100000};

    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        struct buf b = empty_queries(ns[i]);   /* field 1, empty: service */
        assert_int_equal(check(&amaters__aql__health_check_request__descriptor,
                               &b, &st, why, sizeof why), 0);
        counted = 0;
        ProtobufCMessage *m = protobuf_c_message_unpack(
            &amaters__aql__health_check_request__descriptor, &a, b.n, b.p);
        assert_non_null(m);
        protobuf_c_message_free_unpacked(m, &a);
        if (st.estimate < counted)
            fail_msg("n=%zu: estimate %zu below what unpack allocated %zu",
                     ns[i], st.estimate, counted);
        amaters_free(b.p);
    }
}

/* A NUL inside a string field would be cut off by the C-string decoding:
 * refused as malformed. */
static void test_nul_in_string(void **state)
{
    (void)state;
    struct rpc_wire_stats st;
    char why[160];
    struct buf b = {0};

    /* valid UTF-8, but refused in a string field */
    assert_true(rpc_utf8_valid((const uint8_t *)"a\0b", 3));
    put(&b, "\x0a\x03" "a\0b", 5);
    assert_int_equal(check(&amaters__aql__health_check_request__descriptor,
                           &b, &st, why, sizeof why), AMATERS_EPARSE);
    assert_non_null(strstr(why, "NUL character in string field"));
    amaters_free(b.p);
}

/* rpc_wire_top_string: the request_id of a request refused before
 * decoding, read from its top-level framing only. */
static void test_top_string(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        const char *wire;
        size_t len;
        const char *want; /* NULL: not found */
    } cases[] = {
        {"plain", "\x12\x03" "abc", 5, "abc"},
        {"last occurrence wins", "\x12\x01" "a" "\x12\x01" "b", 6, "b"},
        {"nested garbage skipped", "\x0a\x02\xff\xff" "\x12\x02" "id", 8,
         "id"},
        {"varint, fixed64, fixed32 before",
         "\x78\x01" "\x79" "12345678" "\x7d" "1234" "\x12\x01" "x", 19,
         "x"},
        {"empty id", "\x12\x00", 2, ""},
        {"invalid UTF-8", "\x12\x02\xff\xfe", 4, NULL},
        {"NUL inside", "\x12\x03" "a\0b", 5, NULL},
        {"length past the end", "\x12\x10" "ab", 4, NULL},
        {"broken after the id", "\x12\x02" "id" "\x0a\x50", 6, "id"},
        {"group wire type stops", "\x0b" "\x12\x02" "id", 5, NULL},
        {"request_id as a varint", "\x10\x05", 2, NULL},
        {"truncated key", "\x12\x01" "a" "\x80", 4, "a"},
        {"empty input", "", 0, NULL},
    };
    const ProtobufCMessageDescriptor *ds[] = {
        &amaters__aql__query_request__descriptor,
        &amaters__aql__batch_request__descriptor,
    };

    for (size_t d = 0; d < 2; d++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            const uint8_t *buf = (const uint8_t *)cases[i].wire;
            const uint8_t *id = NULL;
            size_t n = 0;
            bool found = rpc_wire_top_string(ds[d], buf, cases[i].len,
                                             "request_id", &id, &n);
            if (cases[i].want == NULL) {
                if (found)
                    fail_msg("%s: found an id", cases[i].what);
                continue;
            }
            if (!found)
                fail_msg("%s: no id found", cases[i].what);
            assert_true(id >= buf && id + n <= buf + cases[i].len);
            assert_int_equal(n, strlen(cases[i].want));
            assert_memory_equal(id, cases[i].want, n);
        }
    }
    /* a message without such a string field */
    const uint8_t *id = NULL;
    size_t n = 0;
    assert_false(rpc_wire_top_string(
        &amaters__aql__health_check_request__descriptor,
        (const uint8_t *)"\x12\x01" "a", 3, "request_id", &id, &n));
}

static void test_estimate_limit(void **state)
{
    (void)state;
    struct rpc_wire_stats st;
    char why[160] = "";
    struct rpc_wire_limits small = {64, 4096, (size_t)1 << 20};
    struct buf b = empty_queries(100000);

    /* about 100000 * 80 bytes: over a 1 MiB allowance */
    assert_int_equal(rpc_wire_check(&amaters__aql__batch_request__descriptor,
                                    b.p, b.n, &small, &st, why, sizeof why),
                     AMATERS_ETOOBIG);
    assert_true(st.complete);
    assert_int_equal(st.top_level_repeated, 100000);
    assert_non_null(strstr(why, "request would take about"));
    assert_non_null(strstr(why, "MiB to decode (limit 1 MiB)"));
    amaters_free(b.p);

    /* the reviewer's shape at 16 MiB, with the server's limits */
    b = empty_queries((size_t)8 << 20);
    assert_int_equal(check(&amaters__aql__batch_request__descriptor, &b, &st,
                           why, sizeof why), AMATERS_ETOOBIG);
    assert_int_equal(st.top_level_repeated, (size_t)8 << 20);
    assert_true(st.estimate > ((size_t)16 << 20) + ((size_t)128 << 20));
    amaters_free(b.p);

    /* 16 MiB of one bytes value costs about its size: accepted */
    struct buf big = {0};
    put(&big, "", 0);
    big.p = amaters_calloc(1, (size_t)16 << 20);
    big.n = big.cap = (size_t)16 << 20;
    struct buf blob = ld(1, &big); /* CipherBlob.data */
    assert_int_equal(check(&amaters__types__cipher_blob__descriptor, &blob,
                           &st, why, sizeof why), 0);
    amaters_free(big.p);
    amaters_free(blob.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LEAK_TEST(test_packed_messages_pass),
        LEAK_TEST(test_nesting),
        LEAK_TEST(test_top_string),
        LEAK_TEST(test_nested_request_refused),
        LEAK_TEST(test_utf8),
        LEAK_TEST(test_bytes_fields_not_checked),
        LEAK_TEST(test_unknown_fields),
        LEAK_TEST(test_wire_syntax),
        LEAK_TEST(test_estimate),
        LEAK_TEST(test_estimate_bounds_strings),
        LEAK_TEST(test_nul_in_string),
        LEAK_TEST(test_estimate_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
