/*
 * test_apikey.c - unit tests for src/security/apikey.h: the reference
 * keys file loads; keys hashed with HMAC-SHA-256 (server secret) and with
 * the original's plain SHA-256 both verify (hashes computed here with
 * OpenSSL, not by the code under test); expiry, unknown keys, roles taken
 * from "roles" only; load errors name the file and the entry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "leakcheck.h"
#include "security/apikey.h"

#define SECRET "server-side-hash-secret"
#define NOW 1800000000LL /* 2027-01-15T08:00:00Z */

/* base64 of SHA-256(key) or HMAC-SHA-256(secret, key), via OpenSSL. */
static void ref_hash(const char *secret, const char *key, char out[64])
{
    unsigned char md[32];
    unsigned int len = 0;

    if (secret == NULL)
        SHA256((const unsigned char *)key, strlen(key), md);
    else
        HMAC(EVP_sha256(), secret, (int)strlen(secret),
             (const unsigned char *)key, strlen(key), md, &len);
    EVP_EncodeBlock((unsigned char *)out, md, 32);
}

static void test_reference_file_loads(void **state)
{
    const char *dir = getenv("AMATERS_SHARED_DIR");
    struct amaters_apikey_store *s = NULL;
    struct amaters_principal p;
    char path[1024], err[256] = "", why[64] = "";
    (void)state;

    assert_non_null(dir);
    snprintf(path, sizeof path, "%s/compat/reference-examples/api_keys.json",
             dir);
    if (amaters_apikey_store_load(&s, path, SECRET, strlen(SECRET), err,
                                  sizeof err) != 0)
        fail_msg("@", err);
    assert_int_equal(amaters_apikey_store_count(s), 3);
    assert_int_equal(amaters_apikey_verify(s, "not-a-key", NOW, &p, why,
                                           sizeof why),
                     AMATERS_EAUTH);
    assert_string_equal(why, "unknown API key");
    assert_null(p.subject);
    amaters_apikey_store_free(s);
}

/* A file with four keys: HMAC-hashed, SHA-hashed, expired, and one whose
 * attributes carry roles that must be ignored. */
static char *make_file(void)
{
    char h1[64], h2[64], h3[64], h4[64];
    char *buf = malloc(4096);

    ref_hash(SECRET, "key-alpha", h1);
    ref_hash(NULL, "key-bravo", h2);
    ref_hash(SECRET, "key-charlie", h3);
    ref_hash(NULL, "key-delta", h4);
    snprintf(buf, 4096,
             "[{\"id\":\"k1\",\"name\":\"a\",\"key_hash\":\"%s\","
             "\"user_id\":\"alice\",\"roles\":[\"user\",\"auditor\"],"
             "\"attributes\":{\"expires_at\":\"2027-06-01T00:00:00Z\"}},"
             "{\"id\":\"k2\",\"key_hash\":\"%s\",\"user_id\":\"bob\","
             "\"roles\":[\"reader\"]},"
             "{\"id\":\"k3\",\"key_hash\":\"%s\",\"user_id\":\"carol\","
             "\"roles\":[\"admin\"],\"attributes\":{\"expires_at\":"
             "\"2027-01-15T09:59:59+02:00\"}},"
             "{\"id\":\"k4\",\"key_hash\":\"%s\",\"user_id\":\"dave\","
             "\"attributes\":{\"roles\":[\"admin\"]}}]",
             h1, h2, h3, h4);
    return buf;
}

static void test_verify_table(void **state)
{
    static const struct {
        const char *key;
        int64_t now;
        int rv;
        const char *why_or_subject;
        size_t nroles;
        const char *role0;
    } cases[] = {
        {"key-alpha", NOW, 0, "alice", 2, "user"},
        {"key-bravo", NOW, 0, "bob", 1, "reader"},
        {"key-delta", NOW, 0, "dave", 0, NULL},
        /* 2027-01-15T09:59:59+02:00 is 07:59:59Z, before NOW. */
        {"key-charlie", NOW, AMATERS_EAUTH, "API key expired", 0, NULL},
        {"key-charlie", NOW - 2, 0, "carol", 1, "admin"},
        {"key-charlie", NOW - 1, AMATERS_EAUTH, "API key expired", 0, NULL},
        {"key-alpha", 1811808000LL, AMATERS_EAUTH, "API key expired", 0,
         NULL},
        {"key-alphA", NOW, AMATERS_EAUTH, "unknown API key", 0, NULL},
        {"", NOW, AMATERS_EAUTH, "missing API key", 0, NULL},
    };
    struct amaters_apikey_store *s = NULL;
    char err[256] = "";
    char *text = make_file();
    (void)state;

    if (amaters_apikey_store_load_buffer(&s, text, strlen(text), "keys.json",
                                         SECRET, strlen(SECRET), err,
                                         sizeof err) != 0)
        fail_msg("@", err);
    assert_int_equal(amaters_apikey_store_count(s), 4);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct amaters_principal p;
        char why[64] = "";
        int rv = amaters_apikey_verify(s, cases[i].key, cases[i].now, &p,
                                       why, sizeof why);
        if (rv != cases[i].rv)
            fail_msg("case %zu: rv %d (%s)", i, rv, why);
        if (rv != 0) {
            assert_string_equal(why, cases[i].why_or_subject);
            assert_null(p.subject);
            assert_null(strstr(why, cases[i].key[0] ? cases[i].key : "#"));
            continue;
        }
        assert_string_equal(p.subject, cases[i].why_or_subject);
        assert_string_equal(p.method, "api_key");
        assert_int_equal(p.nroles, cases[i].nroles);
        if (cases[i].role0 != NULL)
            assert_string_equal(p.roles[0], cases[i].role0);
        amaters_principal_free(&p);
    }
    amaters_apikey_store_free(s);

    /* Without a server secret only the plain SHA-256 entries match. */
    assert_int_equal(amaters_apikey_store_load_buffer(&s, text, strlen(text),
                                                      "keys.json", NULL, 0,
                                                      err, sizeof err),
                     0);
    {
        struct amaters_principal p;
        char why[64];
        assert_int_equal(amaters_apikey_verify(s, "key-alpha", NOW, &p, why,
                                               sizeof why),
                         AMATERS_EAUTH);
        assert_int_equal(amaters_apikey_verify(s, "key-bravo", NOW, &p, why,
                                               sizeof why),
                         0);
        assert_string_equal(p.subject, "bob");
        amaters_principal_free(&p);
    }
    amaters_apikey_store_free(s);
    free(text);
}

static void test_hash_helper_matches_openssl(void **state)
{
    char ours[AMATERS_APIKEY_HASH_LEN], ref[64];
    (void)state;

    assert_int_equal(amaters_apikey_hash(SECRET, strlen(SECRET), "k", ours,
                                         sizeof ours),
                     0);
    ref_hash(SECRET, "k", ref);
    assert_string_equal(ours, ref);
    assert_int_equal(amaters_apikey_hash(NULL, 0, "k", ours, sizeof ours),
                     0);
    ref_hash(NULL, "k", ref);
    assert_string_equal(ours, ref);
    /* Published SHA-256("abc"), base64. */
    assert_int_equal(amaters_apikey_hash(NULL, 0, "abc", ours, sizeof ours),
                     0);
    assert_string_equal(ours, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
    assert_int_equal(amaters_apikey_hash(NULL, 0, "", ours, sizeof ours),
                     AMATERS_EINVAL);
    assert_int_equal(amaters_apikey_hash(NULL, 0, "k", ours, 10),
                     AMATERS_EINVAL);
}

/* Copies tmpl into out with every '@' replaced by h. */
static void fill(char *out, size_t len, const char *tmpl, const char *h)
{
    size_t o = 0;

    for (; *tmpl != '\0' && o + 64 < len; tmpl++) {
        if (*tmpl == '@') {
            memcpy(out + o, h, strlen(h));
            o += strlen(h);
        } else {
            out[o++] = *tmpl;
        }
    }
    out[o] = '\0';
}

static void test_load_errors(void **state)
{
    static const char h[] = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
    static const struct {
        const char *json;
        int rv;
        const char *err_part;
    } cases[] = {
        {"not json", AMATERS_EPARSE, "f.json: not valid JSON"},
        {"{}", AMATERS_ECONFIG, "f.json: expected a JSON array"},
        {"[1]", AMATERS_ECONFIG, "f.json: entry 0: expected an object"},
        {"[{\"key_hash\":\"@\",\"user_id\":\"u\"}]", AMATERS_ECONFIG,
         "entry 0: id: required"},
        {"[{\"id\":\"a\",\"key_hash\":\"@\",\"user_id\":\"u\"},"
         "{\"id\":\"b\",\"key_hash\":\"abc\",\"user_id\":\"u\"}]",
         AMATERS_ECONFIG,
         "f.json: entry 1 (id \"b\"): key_hash: not base64 of 32 bytes"},
        {"[{\"id\":\"a\",\"key_hash\":\"@\"}]", AMATERS_ECONFIG,
         "entry 0 (id \"a\"): user_id: required"},
        {"[{\"id\":\"a\",\"key_hash\":\"@\",\"user_id\":\"u\","
         "\"roles\":\"admin\"}]",
         AMATERS_ECONFIG, "roles: expected an array"},
        {"[{\"id\":\"a\",\"key_hash\":\"@\",\"user_id\":\"u\","
         "\"attributes\":{\"expires_at\":\"tomorrow\"}}]",
         AMATERS_ECONFIG, "attributes.expires_at: expected an RFC 3339"},
        {"[{\"id\":\"a\",\"key_hash\":\"@\",\"user_id\":\"u\"},"
         "{\"id\":\"a\",\"key_hash\":\"@\",\"user_id\":\"v\"}]",
         AMATERS_ECONFIG, "entry 1 (id \"a\"): id: duplicate"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct amaters_apikey_store *s = (void *)1;
        char text[1024], err[256] = "";
        fill(text, sizeof text, cases[i].json, h);
        assert_int_equal(amaters_apikey_store_load_buffer(
                             &s, text, strlen(text), "f.json", SECRET,
                             strlen(SECRET), err, sizeof err),
                         cases[i].rv);
        assert_null(s);
        if (strstr(err, cases[i].err_part) == NULL)
            fail_msg("case %zu: error \"@\" lacks \"@\"", i, err,
                     cases[i].err_part);
    }
    {
        struct amaters_apikey_store *s = NULL;
        char err[256] = "";
        assert_int_equal(amaters_apikey_store_load(&s, "/nonexistent/k.json",
                                                   NULL, 0, err, sizeof err),
                         AMATERS_EIO);
        assert_non_null(strstr(err, "/nonexistent/k.json"));
    }
}

static void test_allocation_failures_do_not_leak(void **state)
{
    char *text = make_file();
    (void)state;

    for (long n = 0; n < 200; n++) {
        struct amaters_apikey_store *s = NULL;
        struct amaters_principal p;
        char err[256], why[64];
        int rv;
        amaters_alloc_fail_after(n);
        rv = amaters_apikey_store_load_buffer(&s, text, strlen(text), "k",
                                              SECRET, strlen(SECRET), err,
                                              sizeof err);
        if (rv == 0) {
            rv = amaters_apikey_verify(s, "key-alpha", NOW, &p, why,
                                       sizeof why);
            assert_true(rv == 0 || rv == AMATERS_ENOMEM);
            if (rv == 0)
                amaters_principal_free(&p);
        } else {
            assert_int_equal(rv, AMATERS_ENOMEM);
        }
        amaters_alloc_fail_after(-1);
        amaters_apikey_store_free(s);
    }
    free(text);
}

static void test_rfc3339_and_base64_helpers(void **state)
{
    /* Expected unix times computed with Python's datetime. */
    static const struct {
        const char *text;
        int rv;
        int64_t secs;
    } cases[] = {
        {"2024-02-29T00:00:00Z", 0, 1709164800},
        {"2027-01-01T00:00:00Z", 0, 1798761600},
        {"2027-01-01 00:00:00.123+01:00", 0, 1798758000},
        {"1999-12-31t23:59:59-05:30", 0, 946704599},
        {"1970-01-01T00:00:00z", 0, 0},
        {"2023-02-29T00:00:00Z", AMATERS_EPARSE, 0},
        {"2027-13-01T00:00:00Z", AMATERS_EPARSE, 0},
        {"2027-01-01T24:00:00Z", AMATERS_EPARSE, 0},
        {"2027-01-01T00:00:00", AMATERS_EPARSE, 0},
        {"2027-01-01T00:00:00Zjunk", AMATERS_EPARSE, 0},
        {"2027-01-01", AMATERS_EPARSE, 0},
        {"", AMATERS_EPARSE, 0},
    };
    static const struct {
        const char *text;
        int rv;
    } b64[] = {
        {"ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=", 0},
        {"ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa1=", AMATERS_EPARSE},
        {"ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0", AMATERS_EPARSE},
        {"ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=", AMATERS_EPARSE},
        {"ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0A", AMATERS_EPARSE},
    };
    unsigned char out[32];
    unsigned char *raw = NULL;
    size_t rawlen = 0;
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t secs = -1;
        int rv = amaters_sec_parse_rfc3339(cases[i].text, &secs);
        if (rv != cases[i].rv || (rv == 0 && secs != cases[i].secs))
            fail_msg("%s: rv %d secs %lld", cases[i].text, rv,
                     (long long)secs);
    }
    for (size_t i = 0; i < sizeof b64 / sizeof b64[0]; i++)
        assert_int_equal(amaters_sec_b64_decode_exact(
                             b64[i].text, strlen(b64[i].text), out, 32),
                         b64[i].rv);
    /* base64url: "hello" without padding; padding or '+' refused. */
    assert_int_equal(amaters_sec_b64url_decode("aGVsbG8", 7, &raw, &rawlen),
                     0);
    assert_int_equal(rawlen, 5);
    assert_memory_equal(raw, "hello", 5);
    amaters_free(raw);
    assert_int_equal(amaters_sec_b64url_decode("aGVsbG8=", 8, &raw, &rawlen),
                     AMATERS_EPARSE);
    assert_int_equal(amaters_sec_b64url_decode("a+Vs", 4, &raw, &rawlen),
                     AMATERS_EPARSE);
    assert_int_equal(amaters_sec_b64url_decode("a", 1, &raw, &rawlen),
                     AMATERS_EPARSE);
    assert_null(raw);
}

/* hash_keys = false: the file holds the keys themselves. */
static void test_plain_keys_file(void **state)
{
    (void)state;
    char path[] = "/tmp/amaters-apikey-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] =
        "[{\"id\":\"p1\",\"key_hash\":\"plain-secret-key\","
        "\"user_id\":\"svc\",\"roles\":[\"reader\"]}]";
    assert_int_equal(write(fd, text, sizeof text - 1),
                     (ssize_t)(sizeof text - 1));
    close(fd);
    struct amaters_apikey_store *st = NULL;
    struct amaters_principal p;
    char err[256] = "", why[64] = "";
    assert_int_equal(amaters_apikey_store_load_plain(&st, path, err,
                                                     sizeof err),
                     0);
    assert_int_equal(amaters_apikey_verify(st, "plain-secret-key", 0, &p, why,
                                           sizeof why),
                     0);
    assert_string_equal(p.subject, "svc");
    amaters_principal_free(&p);
    assert_int_equal(amaters_apikey_verify(st, "plain-secret-kez", 0, &p, why,
                                           sizeof why),
                     AMATERS_EAUTH);
    assert_string_equal(why, "unknown API key");
    amaters_apikey_store_free(st);
    /* the same file read as hashes is refused: not base64 of 32 bytes */
    assert_int_equal(amaters_apikey_store_load(&st, path, NULL, 0, err,
                                               sizeof err),
                     AMATERS_ECONFIG);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LEAK_TEST(test_reference_file_loads),
        LEAK_TEST(test_verify_table),
        LEAK_TEST(test_hash_helper_matches_openssl),
        LEAK_TEST(test_load_errors),
        LEAK_TEST(test_plain_keys_file),
        LEAK_TEST(test_allocation_failures_do_not_leak),
        LEAK_TEST(test_rfc3339_and_base64_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
