/*
 * test_jwt.c - unit tests for src/security/jwt.h. Every token is built
 * here with OpenSSL directly (keys generated in the test: RSA-2048, EC
 * P-256 and P-384, Ed25519, HMAC secrets), independently of the code
 * under test, then fed to amaters_jwt_verify(): valid tokens pass for
 * every algorithm, and expired, not-yet-valid, wrong issuer, wrong
 * audience, wrong key, tampered, "none" and algorithm-confusion tokens
 * are refused with the right reason.
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
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "leakcheck.h"
#include "security/jwt.h"

#define NOW 1800000000LL /* 2027-01-15 */
#define SECRET "test-secret-0123456789-abcdefghijklmnop"

/* ---- token construction, independent of the library ---- */

static void b64url(const unsigned char *in, size_t len, char *out)
{
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    int o = 0;

    for (int i = 0; i < n; i++) {
        if (out[i] == '=')
            break;
        out[o++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    out[o] = '\0';
}

/* Keys generated once per run. */
struct keys {
    EVP_PKEY *rsa, *rsa2, *p256, *p256b, *p384, *p384b, *ed, *ed2;
};
static struct keys K;

struct alg_case {
    enum amaters_jwt_algorithm alg;
    const char *name;
    EVP_PKEY **key, **other; /* NULL for HMAC */
    const char *md;          /* digest name; NULL for EdDSA */
    size_t coord;            /* ECDSA r/s bytes */
};

static const struct alg_case algs[] = {
    {AMATERS_JWT_HS256, "HS256", NULL, NULL, "SHA256", 0},
    {AMATERS_JWT_HS384, "HS384", NULL, NULL, "SHA384", 0},
    {AMATERS_JWT_HS512, "HS512", NULL, NULL, "SHA512", 0},
    {AMATERS_JWT_RS256, "RS256", &K.rsa, &K.rsa2, "SHA256", 0},
    {AMATERS_JWT_RS384, "RS384", &K.rsa, &K.rsa2, "SHA384", 0},
    {AMATERS_JWT_RS512, "RS512", &K.rsa, &K.rsa2, "SHA512", 0},
    {AMATERS_JWT_ES256, "ES256", &K.p256, &K.p256b, "SHA256", 32},
    {AMATERS_JWT_ES384, "ES384", &K.p384, &K.p384b, "SHA384", 48},
    {AMATERS_JWT_EDDSA, "EdDSA", &K.ed, &K.ed2, NULL, 0},
};

/* Signs data with key per c (or HMAC with secret); writes the raw JOSE
 * signature into sig and returns its length. */
static size_t sign(const struct alg_case *c, EVP_PKEY *key,
                   const char *secret, size_t secret_len, const char *data,
                   unsigned char *sig)
{
    const EVP_MD *md = c->md == NULL ? NULL : EVP_get_digestbyname(c->md);
    unsigned char der[1024];
    size_t len = sizeof der;
    EVP_MD_CTX *ctx;

    if (key == NULL) {
        unsigned int mlen = 0;
        assert_non_null(HMAC(md, secret, (int)secret_len,
                             (const unsigned char *)data, strlen(data), sig,
                             &mlen));
        return mlen;
    }
    ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, md, NULL, key), 1);
    assert_int_equal(EVP_DigestSign(ctx, der, &len,
                                    (const unsigned char *)data,
                                    strlen(data)),
                     1);
    EVP_MD_CTX_free(ctx);
    if (c->coord == 0) {
        memcpy(sig, der, len);
        return len;
    }
    {
        const unsigned char *p = der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
        assert_non_null(es);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, (int)c->coord);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + c->coord, (int)c->coord);
        ECDSA_SIG_free(es);
    }
    return 2 * c->coord;
}

/* Bytes cut from the end of the next signatures (to test short ones). */
static size_t sig_trim;

/* Builds header.payload.signature into out (malloc'd by the test). */
static char *make_token_raw(const struct alg_case *c, const char *header,
                            const char *payload, EVP_PKEY *key,
                            const char *secret, size_t secret_len)
{
    char *out = malloc(16384);
    unsigned char sig[1024];
    size_t siglen;
    size_t n;

    assert_non_null(out);
    b64url((const unsigned char *)header, strlen(header), out);
    n = strlen(out);
    out[n++] = '.';
    b64url((const unsigned char *)payload, strlen(payload), out + n);
    siglen = sign(c, key, secret, secret_len, out, sig);
    siglen -= sig_trim < siglen ? sig_trim : siglen;
    n = strlen(out);
    out[n++] = '.';
    b64url(sig, siglen, out + n);
    return out;
}

static char *make_token(const struct alg_case *c, const char *payload)
{
    char header[128];

    snprintf(header, sizeof header, "{\"alg\":\"%s\",\"typ\":\"JWT\"}",
             c->name);
    return make_token_raw(c, header, payload, c->key ? *c->key : NULL,
                          SECRET, strlen(SECRET));
}

static char *public_pem(EVP_PKEY *key, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    char *copy;
    long n;

    assert_int_equal(PEM_write_bio_PUBKEY(bio, key), 1);
    n = BIO_get_mem_data(bio, &data);
    copy = malloc((size_t)n + 1);
    memcpy(copy, data, (size_t)n);
    copy[n] = '\0';
    *len = (size_t)n;
    BIO_free(bio);
    return copy;
}

/* Configures c's algorithm with issuer "amaters-server", audience
 * "amaters-clients" and 30 s leeway. */
static void config_for(struct amaters_jwt_config *cfg,
                       const struct alg_case *c)
{
    char err[256] = "";
    size_t pem_len = 0;
    char *pem = c->key == NULL ? NULL : public_pem(*c->key, &pem_len);
    int rv = amaters_jwt_config_init(
        cfg, c->alg, c->key == NULL ? SECRET : NULL,
        c->key == NULL ? strlen(SECRET) : 0, pem, pem_len, "amaters-server",
        "amaters-clients", 30, err, sizeof err);
    if (rv != 0)
        fail_msg("config %s: %s", c->name, err);
    free(pem);
}

static int group_setup(void **state)
{
    (void)state;
    K.rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    K.rsa2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    K.p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    K.p256b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    K.p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    K.p384b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    K.ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    K.ed2 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    return K.rsa && K.rsa2 && K.p256 && K.p256b && K.p384 && K.p384b &&
                   K.ed && K.ed2
               ? 0
               : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(K.rsa);
    EVP_PKEY_free(K.rsa2);
    EVP_PKEY_free(K.p256);
    EVP_PKEY_free(K.p256b);
    EVP_PKEY_free(K.p384);
    EVP_PKEY_free(K.p384b);
    EVP_PKEY_free(K.ed);
    EVP_PKEY_free(K.ed2);
    return 0;
}

/* Verifies token and checks the outcome: why_expected NULL = success. */
static void expect(const struct amaters_jwt_config *cfg, const char *token,
                   const char *why_expected, const char *label)
{
    struct amaters_principal p;
    char why[128] = "";
    int rv = amaters_jwt_verify(cfg, token, NOW, &p, why, sizeof why);

    if (why_expected == NULL) {
        if (rv != 0)
            fail_msg("%s: expected success, got %d (%s)", label, rv, why);
        assert_string_equal(p.method, "jwt");
        amaters_principal_free(&p);
        return;
    }
    if (rv != AMATERS_EAUTH || strcmp(why, why_expected) != 0)
        fail_msg("%s: expected \"%s\", got %d \"%s\"", label, why_expected,
                 rv, why);
    assert_null(p.subject);
    assert_null(p.roles);
    assert_null(strstr(why, SECRET));
}

/* Claims with the given replacements; %s slots: iss, aud, exp, nbf, iat
 * as JSON fragments (each including its key and a trailing comma, or ""). */
static void claims(char *buf, size_t len, const char *iss, const char *aud,
                   const char *times)
{
    snprintf(buf, len, "{%s%s%s\"sub\":\"alice\",\"roles\":[\"reader\","
             "\"user\"]}", iss, aud, times);
}

#define GOOD_ISS "\"iss\":\"amaters-server\","
#define GOOD_AUD "\"aud\":\"amaters-clients\","
#define T(exp, nbf, iat)                                                    \
    "\"exp\":" #exp ",\"nbf\":" #nbf ",\"iat\":" #iat ","

/* NOW = 1800000000; leeway 30. */
static const struct claim_case {
    const char *label;
    const char *iss, *aud, *times;
    const char *why; /* NULL: accepted */
} claim_cases[] = {
    {"valid", GOOD_ISS, GOOD_AUD, T(1800003600, 1799999990, 1799999990),
     NULL},
    {"aud array", GOOD_ISS, "\"aud\":[\"x\",\"amaters-clients\"],",
     T(1800003600, 1799999990, 1799999990), NULL},
    {"exp within leeway", GOOD_ISS, GOOD_AUD,
     T(1799999971, 1799999000, 1799999000), NULL},
    {"exp at leeway edge", GOOD_ISS, GOOD_AUD,
     T(1799999970, 1799999000, 1799999000), "token expired"},
    {"expired", GOOD_ISS, GOOD_AUD, T(1799990000, 1799980000, 1799980000),
     "token expired"},
    {"nbf within leeway", GOOD_ISS, GOOD_AUD,
     T(1800003600, 1800000030, 1799999990), NULL},
    {"not yet valid", GOOD_ISS, GOOD_AUD,
     T(1800003600, 1800000031, 1799999990), "token not yet valid"},
    {"iat in the future", GOOD_ISS, GOOD_AUD,
     T(1800003600, 1799999990, 1800000100), "token issued in the future"},
    {"wrong issuer", "\"iss\":\"evil\",", GOOD_AUD,
     T(1800003600, 1799999990, 1799999990), "wrong issuer"},
    {"missing issuer", "", GOOD_AUD, T(1800003600, 1799999990, 1799999990),
     "wrong issuer"},
    {"wrong audience", GOOD_ISS, "\"aud\":\"other\",",
     T(1800003600, 1799999990, 1799999990), "wrong audience"},
    {"audience not in array", GOOD_ISS, "\"aud\":[\"a\",\"b\"],",
     T(1800003600, 1799999990, 1799999990), "wrong audience"},
    {"missing audience", GOOD_ISS, "",
     T(1800003600, 1799999990, 1799999990), "wrong audience"},
    {"missing exp", GOOD_ISS, GOOD_AUD, "\"iat\":1799999990,",
     "missing expiry"},
    {"exp not a number", GOOD_ISS, GOOD_AUD, "\"exp\":\"1800003600\",",
     "malformed token"},
};

static void test_claims_every_algorithm(void **state)
{
    (void)state;
    for (size_t a = 0; a < sizeof algs / sizeof algs[0]; a++) {
        struct amaters_jwt_config cfg;
        config_for(&cfg, &algs[a]);
        for (size_t i = 0; i < sizeof claim_cases / sizeof claim_cases[0];
             i++) {
            const struct claim_case *cc = &claim_cases[i];
            char payload[512], label[128];
            char *tok;
            claims(payload, sizeof payload, cc->iss, cc->aud, cc->times);
            tok = make_token(&algs[a], payload);
            snprintf(label, sizeof label, "%s %s", algs[a].name, cc->label);
            expect(&cfg, tok, cc->why, label);
            free(tok);
        }
        amaters_jwt_config_free(&cfg);
    }
}

static void test_principal_from_claims(void **state)
{
    static const struct {
        const char *roles_json; /* "" = no roles claim */
        size_t nroles;
        const char *first;
    } cases[] = {
        {",\"roles\":[\"reader\",\"user\"]", 2, "reader"},
        {",\"roles\":\"admin\"", 1, "admin"},
        {"", 0, NULL},
        {",\"roles\":[]", 0, NULL},
    };
    struct amaters_jwt_config cfg;
    (void)state;
    config_for(&cfg, &algs[0]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char payload[512];
        struct amaters_principal p;
        char why[128] = "";
        char *tok;
        snprintf(payload, sizeof payload,
                 "{" GOOD_ISS GOOD_AUD "\"exp\":1800003600,"
                 "\"sub\":\"bob\"%s}", cases[i].roles_json);
        tok = make_token(&algs[0], payload);
        assert_int_equal(amaters_jwt_verify(&cfg, tok, NOW, &p, why,
                                            sizeof why), 0);
        assert_string_equal(p.subject, "bob");
        assert_string_equal(p.method, "jwt");
        assert_int_equal(p.nroles, cases[i].nroles);
        if (cases[i].first != NULL)
            assert_string_equal(p.roles[0], cases[i].first);
        if (cases[i].nroles == 2)
            assert_string_equal(p.roles[1], "user");
        amaters_principal_free(&p);
        free(tok);
    }
    amaters_jwt_config_free(&cfg);
}

/* Replaces the payload part of tok with base64url(payload). */
static char *swap_payload(const char *tok, const char *payload)
{
    const char *d1 = strchr(tok, '.');
    const char *d2 = strrchr(tok, '.');
    char *out = malloc(16384);
    size_t n = (size_t)(d1 - tok) + 1;

    memcpy(out, tok, n);
    b64url((const unsigned char *)payload, strlen(payload), out + n);
    strcat(out, d2);
    return out;
}

#define VALID_PAYLOAD                                                       \
    "{" GOOD_ISS GOOD_AUD "\"exp\":1800003600,\"sub\":\"alice\","           \
    "\"roles\":[\"reader\"]}"
#define EVIL_PAYLOAD                                                        \
    "{" GOOD_ISS GOOD_AUD "\"exp\":1800003600,\"sub\":\"alice\","           \
    "\"roles\":[\"admin\"]}"

static void test_signature_attacks_every_algorithm(void **state)
{
    (void)state;
    for (size_t a = 0; a < sizeof algs / sizeof algs[0]; a++) {
        const struct alg_case *c = &algs[a];
        struct amaters_jwt_config cfg;
        char header[128], label[64];
        char *good, *tok;
        size_t pem_len = 0;
        char *pem;

        config_for(&cfg, c);
        snprintf(header, sizeof header, "{\"alg\":\"%s\"}", c->name);
        good = make_token(c, VALID_PAYLOAD);
        snprintf(label, sizeof label, "%s valid", c->name);
        expect(&cfg, good, NULL, label);

        /* Signed with another key (or secret) of the right type. */
        tok = make_token_raw(c, header, VALID_PAYLOAD,
                             c->other ? *c->other : NULL, "wrong-secret",
                             12);
        snprintf(label, sizeof label, "%s wrong key", c->name);
        expect(&cfg, tok, "bad signature", label);
        free(tok);

        /* Payload changed after signing. */
        tok = swap_payload(good, EVIL_PAYLOAD);
        snprintf(label, sizeof label, "%s tampered", c->name);
        expect(&cfg, tok, "bad signature", label);
        free(tok);

        /* Signature one byte short. */
        sig_trim = 1;
        tok = make_token_raw(c, header, VALID_PAYLOAD,
                             c->key ? *c->key : NULL, SECRET,
                             strlen(SECRET));
        sig_trim = 0;
        snprintf(label, sizeof label, "%s short signature", c->name);
        expect(&cfg, tok, "bad signature", label);
        free(tok);

        /* alg "none" with no signature. */
        {
            char none[1200];
            char h[64], p[512];
            b64url((const unsigned char *)"{\"alg\":\"none\"}", 14, h);
            b64url((const unsigned char *)VALID_PAYLOAD,
                   strlen(VALID_PAYLOAD), p);
            snprintf(none, sizeof none, "%s.%s.", h, p);
            snprintf(label, sizeof label, "%s alg none", c->name);
            expect(&cfg, none, "algorithm mismatch", label);
        }

        /* Confusion: HS256 keyed with the public key's PEM bytes (for
         * asymmetric configs), RS256 by a real key (for HMAC configs). */
        if (c->key != NULL) {
            pem = public_pem(*c->key, &pem_len);
            tok = make_token_raw(&algs[0], "{\"alg\":\"HS256\"}",
                                 VALID_PAYLOAD, NULL, pem, pem_len);
            free(pem);
        } else {
            tok = make_token_raw(&algs[3], "{\"alg\":\"RS256\"}",
                                 VALID_PAYLOAD, K.rsa, NULL, 0);
        }
        snprintf(label, sizeof label, "%s confusion", c->name);
        expect(&cfg, tok, "algorithm mismatch", label);
        free(tok);
        free(good);
        amaters_jwt_config_free(&cfg);
    }
}

static void test_malformed_tokens(void **state)
{
    struct amaters_jwt_config cfg;
    char *good;
    char buf[4096];
    char *long_tok;
    (void)state;

    config_for(&cfg, &algs[0]);
    good = make_token(&algs[0], VALID_PAYLOAD);
    expect(&cfg, good, NULL, "baseline");
    {
        static const struct {
            const char *label;
            const char *header; /* raw JSON; NULL = use a fixed token */
            const char *token;
        } cases[] = {
            {"empty", NULL, ""},
            {"no dots", NULL, "abcdef"},
            {"one dot", NULL, "abc.def"},
            {"four parts", NULL, "a.b.c.d"},
            {"empty parts", NULL, ".."},
            {"header not base64url", NULL, "e30+.e30.AAAA"},
            {"header padded", NULL, "e30=.e30.AAAA"},
            {"header not JSON", "not json", NULL},
            {"header is an array", "[\"alg\",\"HS256\"]", NULL},
            {"header trailing garbage", "{\"alg\":\"HS256\"}x", NULL},
            {"alg not a string", "{\"alg\":256}", NULL},
            {"no alg", "{\"typ\":\"JWT\"}", NULL},
            {"typ not a string", "{\"alg\":\"HS256\",\"typ\":1}", NULL},
            {"duplicate alg", "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
             NULL},
            {"crit header", "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", NULL},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char *tok;
            if (cases[i].header == NULL) {
                expect(&cfg, cases[i].token, "malformed token",
                       cases[i].label);
                continue;
            }
            tok = make_token_raw(&algs[0], cases[i].header, VALID_PAYLOAD,
                                 NULL, SECRET, strlen(SECRET));
            expect(&cfg, tok, "malformed token", cases[i].label);
            free(tok);
        }
        /* Signature with a character outside the alphabet. */
        snprintf(buf, sizeof buf, "%.*s*", (int)(strlen(good) - 1), good);
        expect(&cfg, buf, "malformed token", "bad signature char");
        /* Valid signature over a payload that is not a JSON object. */
        {
            char *tok = make_token_raw(&algs[0], "{\"alg\":\"HS256\"}",
                                       "[1,2,3]", NULL, SECRET,
                                       strlen(SECRET));
            expect(&cfg, tok, "malformed token", "payload array");
            free(tok);
            tok = make_token_raw(&algs[0], "{\"alg\":\"HS256\"}",
                                 "{\"sub\":\"a\",\"sub\":\"b\"}", NULL,
                                 SECRET, strlen(SECRET));
            expect(&cfg, tok, "malformed token", "duplicate claim");
            free(tok);
            tok = make_token_raw(
                &algs[0], "{\"alg\":\"HS256\"}",
                "{" GOOD_ISS GOOD_AUD "\"exp\":1800003600}", NULL, SECRET,
                strlen(SECRET));
            expect(&cfg, tok, "missing subject", "no sub");
            free(tok);
            tok = make_token_raw(
                &algs[0], "{\"alg\":\"HS256\"}",
                "{" GOOD_ISS GOOD_AUD "\"exp\":1800003600,\"sub\":\"a\","
                "\"roles\":[1]}",
                NULL, SECRET, strlen(SECRET));
            expect(&cfg, tok, "malformed roles claim", "roles of numbers");
            free(tok);
        }
    }
    /* Longer than AMATERS_JWT_MAX_TOKEN. */
    long_tok = malloc(AMATERS_JWT_MAX_TOKEN + 10);
    memset(long_tok, 'a', AMATERS_JWT_MAX_TOKEN + 9);
    long_tok[AMATERS_JWT_MAX_TOKEN + 9] = '\0';
    long_tok[10] = '.';
    long_tok[20] = '.';
    expect(&cfg, long_tok, "malformed token", "too long");
    free(long_tok);
    free(good);
    amaters_jwt_config_free(&cfg);
}

static void test_unchecked_issuer_and_audience(void **state)
{
    struct amaters_jwt_config cfg;
    char err[128];
    char *tok;
    (void)state;

    assert_int_equal(amaters_jwt_config_init(&cfg, AMATERS_JWT_HS256,
                                             SECRET, strlen(SECRET), NULL, 0,
                                             "", NULL, 0, err, sizeof err),
                     0);
    tok = make_token(&algs[0], "{\"exp\":1800000001,\"sub\":\"x\","
                               "\"iss\":\"any\",\"aud\":\"any\"}");
    expect(&cfg, tok, NULL, "no iss/aud configured");
    free(tok);
    /* Leeway 0: exp == now is expired. */
    tok = make_token(&algs[0], "{\"exp\":1800000000,\"sub\":\"x\"}");
    expect(&cfg, tok, "token expired", "exp == now");
    free(tok);
    cfg.require_exp = false;
    tok = make_token(&algs[0], "{\"sub\":\"x\"}");
    expect(&cfg, tok, NULL, "exp optional");
    free(tok);
    /* auth.jwt.expiration_secs: exp - iat bounded; no iat, no bound. */
    cfg.require_exp = true;
    cfg.max_lifetime_secs = 3600;
    tok = make_token(&algs[0], "{\"sub\":\"x\",\"iat\":1799999000,"
                               "\"exp\":1800002600}");
    expect(&cfg, tok, NULL, "lifetime 3600");
    free(tok);
    tok = make_token(&algs[0], "{\"sub\":\"x\",\"iat\":1799999000,"
                               "\"exp\":1800002601}");
    expect(&cfg, tok, "token lifetime exceeds auth.jwt.expiration_secs",
           "lifetime 3601");
    free(tok);
    tok = make_token(&algs[0], "{\"sub\":\"x\",\"exp\":2147483648}");
    expect(&cfg, tok, NULL, "no iat: not limited");
    free(tok);
    amaters_jwt_config_free(&cfg);
}

static void test_config_rejects_unfit_keys(void **state)
{
    static const struct {
        enum amaters_jwt_algorithm alg;
        EVP_PKEY **key;
        const char *err_part;
    } cases[] = {
        {AMATERS_JWT_RS256, &K.p256, "RSA"},
        {AMATERS_JWT_ES256, &K.p384, "P-256"},
        {AMATERS_JWT_ES384, &K.p256, "P-384"},
        {AMATERS_JWT_ES256, &K.rsa, "EC"},
        {AMATERS_JWT_EDDSA, &K.p256, "Ed25519"},
    };
    struct amaters_jwt_config cfg;
    char err[256];
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        char *pem = public_pem(*cases[i].key, &len);
        err[0] = '\0';
        assert_int_equal(amaters_jwt_config_init(&cfg, cases[i].alg, NULL, 0,
                                                 pem, len, NULL, NULL, 0,
                                                 err, sizeof err),
                         AMATERS_ECONFIG);
        assert_non_null(strstr(err, cases[i].err_part));
        free(pem);
    }
    /* A 1024-bit RSA key is too small. */
    {
        EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
        size_t len;
        char *pem = public_pem(small, &len);
        assert_int_equal(amaters_jwt_config_init(&cfg, AMATERS_JWT_RS256,
                                                 NULL, 0, pem, len, NULL,
                                                 NULL, 0, err, sizeof err),
                         AMATERS_ECONFIG);
        assert_non_null(strstr(err, "2048"));
        free(pem);
        EVP_PKEY_free(small);
    }
    /* HMAC without a secret; RSA without a key; garbage PEM. */
    assert_int_equal(amaters_jwt_config_init(&cfg, AMATERS_JWT_HS256, "", 0,
                                             NULL, 0, NULL, NULL, 0, err,
                                             sizeof err),
                     AMATERS_ECONFIG);
    assert_int_equal(amaters_jwt_config_init(&cfg, AMATERS_JWT_RS256, NULL,
                                             0, NULL, 0, NULL, NULL, 0, err,
                                             sizeof err),
                     AMATERS_ECONFIG);
    assert_int_equal(amaters_jwt_config_init(&cfg, AMATERS_JWT_RS256, NULL,
                                             0, "-----BEGIN x", 12, NULL,
                                             NULL, 0, err, sizeof err),
                     AMATERS_ECONFIG);
}

static void test_config_load_from_section(void **state)
{
    struct amaters_config_auth_jwt jc;
    struct amaters_jwt_config cfg;
    char path[] = "/tmp/test_jwt_keyXXXXXX";
    char err[256] = "";
    size_t len;
    char *pem = public_pem(K.ed, &len);
    int fd = mkstemp(path);
    char *tok;
    (void)state;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, pem, len), (ssize_t)len);
    close(fd);
    free(pem);
    memset(&jc, 0, sizeof jc);
    jc.algorithm_id = AMATERS_JWT_EDDSA;
    jc.secret = "";
    jc.public_key_path = path;
    jc.issuer = "amaters-server";
    jc.audience = "amaters-clients";
    jc.leeway_secs = 30;
    assert_int_equal(amaters_jwt_config_load(&cfg, &jc, err, sizeof err), 0);
    tok = make_token(&algs[8], VALID_PAYLOAD);
    expect(&cfg, tok, NULL, "loaded EdDSA");
    free(tok);
    amaters_jwt_config_free(&cfg);

    /* Missing file: EIO naming the path. */
    jc.public_key_path = "/nonexistent/key.pem";
    assert_int_equal(amaters_jwt_config_load(&cfg, &jc, err, sizeof err),
                     AMATERS_EIO);
    assert_non_null(strstr(err, "/nonexistent/key.pem"));
    /* Wrong key type in the file: ECONFIG naming the path. */
    jc.public_key_path = path;
    jc.algorithm_id = AMATERS_JWT_RS256;
    assert_int_equal(amaters_jwt_config_load(&cfg, &jc, err, sizeof err),
                     AMATERS_ECONFIG);
    assert_non_null(strstr(err, path));
    unlink(path);
    /* HS256 from the reference secret; errors never quote it. */
    jc.algorithm_id = AMATERS_JWT_HS256;
    jc.secret = "your-secret-key-change-this-in-production";
    assert_int_equal(amaters_jwt_config_load(&cfg, &jc, err, sizeof err), 0);
    assert_int_equal(cfg.secret_len, strlen(jc.secret));
    amaters_jwt_config_free(&cfg);
    jc.secret = "";
    assert_int_equal(amaters_jwt_config_load(&cfg, &jc, err, sizeof err),
                     AMATERS_ECONFIG);
}

static void test_null_arguments(void **state)
{
    struct amaters_jwt_config cfg;
    struct amaters_principal p;
    char why[64];
    (void)state;

    config_for(&cfg, &algs[0]);
    assert_int_equal(amaters_jwt_verify(&cfg, NULL, NOW, &p, why,
                                        sizeof why),
                     AMATERS_EINVAL);
    assert_int_equal(amaters_jwt_verify(NULL, "a.b.c", NOW, &p, why,
                                        sizeof why),
                     AMATERS_EINVAL);
    assert_int_equal(amaters_jwt_verify(&cfg, "a.b.c", NOW, NULL, why,
                                        sizeof why),
                     AMATERS_EINVAL);
    amaters_jwt_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LEAK_TEST(test_claims_every_algorithm),
        LEAK_TEST(test_principal_from_claims),
        LEAK_TEST(test_signature_attacks_every_algorithm),
        LEAK_TEST(test_malformed_tokens),
        LEAK_TEST(test_unchecked_issuer_and_audience),
        LEAK_TEST(test_config_rejects_unfit_keys),
        LEAK_TEST(test_config_load_from_section),
        LEAK_TEST(test_null_arguments),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
