/*
 * tls_fixture.h - the throw-away PKI and the fixture shared by the TLS unit
 * tests (test_tls.c, test_tls_mtls.c). The cmocka group setup generates with
 * the OpenSSL API two CAs, two server certificates, client certificates (good,
 * from the other CA, O=Evil, revoked by a CRL, SAN only, and one with the
 * revoked serial from the other CA) and two CRLs, and writes the files the
 * tests name into a mkdtemp() directory; the group teardown removes them. The
 * per-test fixture is leakcheck.h's (LEAK_TEST: no amaters_* allocation may
 * outlive a test); make_opts() builds TLS options from file names in that
 * directory.
 *
 * Header-only so each test binary stays one source file: each test program
 * includes it once, from its .c file. Everything here is static (inline), so a
 * program that uses only part of it builds warning-free.
 *
 * Threads: the test's main thread only (cmocka's assertions are not
 * thread-safe); pki is read-only between group setup and teardown. Heap
 * memory: nothing here returns any; the PKI's keys and certificates belong to
 * pki, and group_teardown frees them.
 */
#ifndef AMATERS_TESTS_TLS_FIXTURE_H
#define AMATERS_TESTS_TLS_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <stdbool.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "leakcheck.h"
#include "security/tls.h"

/* Room for one PEM certificate, key or CRL. */
#define PEM_MAX 4096

/* ---- The throw-away PKI ---- */

/* What make_ident() makes: a self-signed CA, a server certificate (SAN
 * localhost and 127.0.0.1), a client certificate, or a client certificate
 * with SANs and no CN. */
enum cert_kind { KIND_CA, KIND_SERVER, KIND_CLIENT, KIND_CLIENT_SAN_ONLY };

/* A key pair and its certificate, each also in PEM. */
struct ident {
    EVP_PKEY *key;
    X509 *cert;
    char cert_pem[PEM_MAX];
    char key_pem[PEM_MAX];
};

/* The PKI: made by group_setup, freed by group_teardown, read-only for the
 * tests. */
static struct {
    char dir[64];
    struct ident ca, ca2;       /* two unrelated CAs */
    struct ident srv1, srv2;    /* CN server-v1 / server-v2, by ca */
    struct ident alice;         /* CN alice, O=Good Org, by ca */
    struct ident eve;           /* CN eve, O=Good Org, by ca2 */
    struct ident evil;          /* CN evil, O=Evil, by ca */
    struct ident mallory;       /* CN mallory, O=Good Org, revoked */
    struct ident bob;           /* no CN, SAN DNS:bob.example, by ca */
    struct ident ca2_twin;      /* by ca2 with mallory's serial */
    char crl_pem[PEM_MAX];      /* by ca, revokes mallory */
    char crl2_pem[PEM_MAX];     /* by ca2 (not in the ca bundle) */
} pki;

/* Copies the contents of the memory BIO bio into buf (cap bytes,
 * NUL-terminated) and frees bio. */
static inline void bio_to_buf(BIO *bio, char *buf, size_t cap)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);

    assert_true(n > 0 && (size_t)n < cap);
    memcpy(buf, data, (size_t)n);
    buf[n] = '\0';
    BIO_free(bio);
}

/* Adds the extension nid with value value to x. */
static inline void add_ext(X509 *x, X509V3_CTX *ctx, int nid,
                           const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* Adds field = value to the name n. */
static inline void add_name(X509_NAME *n, const char *field, const char *value)
{
    assert_int_equal(X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
                                                (const unsigned char *)value,
                                                -1, -1, 0),
                     1);
}

/* Makes id: a new P-256 key and a certificate of kind for it with CN cn and
 * O org (NULL: none), serial serial, signed by issuer (NULL: self-signed),
 * valid from an hour ago for a day. free_ident() frees them. */
static inline void make_ident(struct ident *id, const char *cn, const char *org,
                              long serial, const struct ident *issuer,
                              enum cert_kind kind)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_get_subject_name(x);
    X509V3_CTX ctx;
    BIO *bio;

    id->key = EVP_EC_gen("P-256");
    assert_non_null(id->key);
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, id->key);
    if (org != NULL)
        add_name(name, "O", org);
    if (cn != NULL)
        add_name(name, "CN", cn);
    X509_set_issuer_name(x, issuer != NULL
                                ? X509_get_subject_name(issuer->cert)
                                : name);
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer != NULL ? issuer->cert : x, x, NULL, NULL,
                   0);
    add_ext(x, &ctx, NID_subject_key_identifier, "hash");
    if (kind == KIND_CA) {
        add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, &ctx, NID_basic_constraints, "CA:FALSE");
        add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature");
        add_ext(x, &ctx, NID_ext_key_usage,
                kind == KIND_SERVER ? "serverAuth" : "clientAuth");
    }
    if (kind == KIND_SERVER)
        add_ext(x, &ctx, NID_subject_alt_name,
                "DNS:localhost,IP:127.0.0.1");
    if (kind == KIND_CLIENT_SAN_ONLY)
        add_ext(x, &ctx, NID_subject_alt_name,
                "DNS:bob.example,email:bob@example.com");
    assert_true(X509_sign(x, issuer != NULL ? issuer->key : id->key,
                          EVP_sha256()) > 0);
    id->cert = x;
    bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_X509(bio, x), 1);
    bio_to_buf(bio, id->cert_pem, sizeof id->cert_pem);
    bio = BIO_new(BIO_s_mem());
    assert_int_equal(
        PEM_write_bio_PrivateKey(bio, id->key, NULL, NULL, 0, NULL, NULL), 1);
    bio_to_buf(bio, id->key_pem, sizeof id->key_pem);
}

/* Frees id's key and certificate. */
static inline void free_ident(struct ident *id)
{
    X509_free(id->cert);
    EVP_PKEY_free(id->key);
}

/* Writes to out (PEM_MAX bytes) a CRL of ca, in PEM, revoking the
 * certificate with serial. */
static inline void make_crl(const struct ident *ca, long serial, char *out)
{
    X509_CRL *crl = X509_CRL_new();
    X509_REVOKED *rev = X509_REVOKED_new();
    ASN1_INTEGER *sn = ASN1_INTEGER_new();
    ASN1_TIME *last = X509_gmtime_adj(NULL, -3600);
    ASN1_TIME *next = X509_gmtime_adj(NULL, 86400);
    BIO *bio = BIO_new(BIO_s_mem());

    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert));
    X509_CRL_set1_lastUpdate(crl, last);
    X509_CRL_set1_nextUpdate(crl, next);
    ASN1_INTEGER_set(sn, serial);
    X509_REVOKED_set_serialNumber(rev, sn);
    X509_REVOKED_set_revocationDate(rev, last);
    assert_int_equal(X509_CRL_add0_revoked(crl, rev), 1);
    X509_CRL_sort(crl);
    assert_true(X509_CRL_sign(crl, ca->key, EVP_sha256()) > 0);
    assert_int_equal(PEM_write_bio_X509_CRL(bio, crl), 1);
    bio_to_buf(bio, out, PEM_MAX);
    ASN1_INTEGER_free(sn);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
}

/* Writes the path of name inside the temporary directory to buf (cap bytes)
 * and returns buf. */
static inline const char *path_of(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", pki.dir, name);
    return buf;
}

/* Writes text to the file name in the temporary directory. */
static inline void write_file(const char *name, const char *text)
{
    char path[256];
    FILE *f = fopen(path_of(name, path, sizeof path), "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Writes id's certificate and key to the files cert_name and key_name in
 * the temporary directory. */
static inline void write_pair(const char *cert_name, const char *key_name,
                              const struct ident *id)
{
    write_file(cert_name, id->cert_pem);
    write_file(key_name, id->key_pem);
}

/* cmocka group setup: makes the temporary directory and the PKI, writes
 * ca.pem, ca2.pem, crl.pem, crl2.pem, srv1.crt, srv1.key and garbage.pem
 * there, and initializes gRPC. Returns 0, or -1 if the directory cannot be
 * made. */
static inline int group_setup(void **state)
{
    (void)state;
    strcpy(pki.dir, "/tmp/amaters-tls-XXXXXX");
    if (mkdtemp(pki.dir) == NULL)
        return -1;
    make_ident(&pki.ca, "Test CA", "Amaters Test", 1, NULL, KIND_CA);
    make_ident(&pki.ca2, "Other CA", "Elsewhere", 1, NULL, KIND_CA);
    make_ident(&pki.srv1, "server-v1", NULL, 10, &pki.ca, KIND_SERVER);
    make_ident(&pki.srv2, "server-v2", NULL, 11, &pki.ca, KIND_SERVER);
    make_ident(&pki.alice, "alice", "Good Org", 20, &pki.ca, KIND_CLIENT);
    make_ident(&pki.eve, "eve", "Good Org", 21, &pki.ca2, KIND_CLIENT);
    make_ident(&pki.evil, "evil", "Evil", 22, &pki.ca, KIND_CLIENT);
    make_ident(&pki.mallory, "mallory", "Good Org", 23, &pki.ca,
               KIND_CLIENT);
    make_ident(&pki.bob, NULL, "Good Org", 24, &pki.ca,
               KIND_CLIENT_SAN_ONLY);
    make_ident(&pki.ca2_twin, "twin", "Good Org", 23, &pki.ca2,
               KIND_CLIENT);
    make_crl(&pki.ca, 23, pki.crl_pem);
    make_crl(&pki.ca2, 21, pki.crl2_pem);
    write_file("ca.pem", pki.ca.cert_pem);
    write_file("ca2.pem", pki.ca2.cert_pem);
    write_file("crl.pem", pki.crl_pem);
    write_file("crl2.pem", pki.crl2_pem);
    write_pair("srv1.crt", "srv1.key", &pki.srv1);
    write_file("garbage.pem", "this is not PEM\n");
    grpc_init();
    return 0;
}

/* cmocka group teardown: shuts gRPC down, frees the PKI and removes the
 * temporary directory with its files. Returns 0. */
static inline int group_teardown(void **state)
{
    char path[512];
    DIR *d;
    struct dirent *e;
    struct ident *all[] = {&pki.ca,    &pki.ca2,  &pki.srv1,    &pki.srv2,
                           &pki.alice, &pki.eve,  &pki.evil,    &pki.mallory,
                           &pki.bob,   &pki.ca2_twin};
    (void)state;

    grpc_shutdown_blocking();
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free_ident(all[i]);
    d = opendir(pki.dir);
    for (e = d != NULL ? readdir(d) : NULL; e != NULL; e = readdir(d)) {
        snprintf(path, sizeof path, "%s/%s", pki.dir, e->d_name);
        if (e->d_name[0] != '.')
            unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(pki.dir);
    return 0;
}

/* Options with the paths of the files named in the temp directory ("" for
 * an empty name). The buffers live in *bufs. */
struct opt_bufs {
    char cert[256], key[256], ca[256], dir[256], crl[256];
};

/* Fills b and returns the options described above, allowing the
 * organizations "Good Org" and "Partner Org". */
static inline struct amaters_tls_options
make_opts(struct opt_bufs *b, const char *cert, const char *key,
          const char *ca, const char *crl, bool require)
{
    static const char *const orgs[] = {"Good Org", "Partner Org"};
    struct amaters_tls_options o;

    memset(&o, 0, sizeof o);
    o.cert_path = path_of(cert, b->cert, sizeof b->cert);
    o.key_path = path_of(key, b->key, sizeof b->key);
    o.ca_path = ca[0] != '\0' ? path_of(ca, b->ca, sizeof b->ca) : "";
    o.ca_dir = "";
    o.crl_path = crl[0] != '\0' ? path_of(crl, b->crl, sizeof b->crl) : "";
    o.require_client_cert = require;
    o.allowed_orgs = orgs;
    o.n_allowed_orgs = 2;
    return o;
}

#endif
