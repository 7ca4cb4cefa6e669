/*
 * test_tls.c - unit tests for src/security/tls.h. A throw-away PKI is
 * generated here with the OpenSSL API (two CAs, two server certificates,
 * client certificates: good, from the other CA, O=Evil, revoked by a CRL,
 * SAN only) and written to a mkdtemp() directory. File validation errors
 * are checked directly; the mTLS policy is checked through a real gRPC
 * core server on 127.0.0.1:0 whose one generic handler answers every call
 * with status OK and the principal (or the refusal reason) as details.
 * Rotation replaces the server certificate files while a client stays
 * connected: a new connection must see the new certificate, the old one
 * keeps working, and a garbage file is counted and ignored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "security/tls.h"

#define PEM_MAX 4096
#define CALL_TIMEOUT_MS 5000

/* ---- The throw-away PKI ---- */

enum cert_kind { KIND_CA, KIND_SERVER, KIND_CLIENT, KIND_CLIENT_SAN_ONLY };

struct ident {
    EVP_PKEY *key;
    X509 *cert;
    char cert_pem[PEM_MAX];
    char key_pem[PEM_MAX];
};

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

static void bio_to_buf(BIO *bio, char *buf, size_t cap)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);

    assert_true(n > 0 && (size_t)n < cap);
    memcpy(buf, data, (size_t)n);
    buf[n] = '\0';
    BIO_free(bio);
}

static void add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

static void add_name(X509_NAME *n, const char *field, const char *value)
{
    assert_int_equal(X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
                                                (const unsigned char *)value,
                                                -1, -1, 0),
                     1);
}

static void make_ident(struct ident *id, const char *cn, const char *org,
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

static void free_ident(struct ident *id)
{
    X509_free(id->cert);
    EVP_PKEY_free(id->key);
}

/* A CRL of ca revoking the certificate with serial. */
static void make_crl(const struct ident *ca, long serial, char *out)
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

/* Path of name inside the temporary directory. */
static const char *path_of(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", pki.dir, name);
    return buf;
}

static void write_file(const char *name, const char *text)
{
    char path[256];
    FILE *f = fopen(path_of(name, path, sizeof path), "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void write_pair(const char *cert_name, const char *key_name,
                       const struct ident *id)
{
    write_file(cert_name, id->cert_pem);
    write_file(key_name, id->key_pem);
}

static int group_setup(void **state)
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

static int group_teardown(void **state)
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

static long live_before;

static int setup(void **state)
{
    (void)state;
    live_before = amaters_alloc_live();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(amaters_alloc_live(), live_before);
    return 0;
}

/* Options with the paths of the files named in the temp directory ("" for
 * an empty name). The buffers live in *bufs. */
struct opt_bufs {
    char cert[256], key[256], ca[256], dir[256], crl[256];
};

static struct amaters_tls_options
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

/* ---- File validation ---- */

static void test_create_validates_files(void **state)
{
    static const struct {
        const char *cert, *key, *ca, *crl;
        bool require;
        int rv;
        const char *err_has; /* expected in the message */
    } cases[] = {
        {"srv1.crt", "srv1.key", "ca.pem", "crl.pem", true, 0, ""},
        {"srv1.crt", "srv1.key", "", "", false, 0, ""},
        {"missing.crt", "srv1.key", "", "", false, AMATERS_EIO,
         "missing.crt: cannot read"},
        {"garbage.pem", "srv1.key", "", "", false, AMATERS_EPARSE,
         "garbage.pem: no PEM certificate"},
        {"srv1.crt", "garbage.pem", "", "", false, AMATERS_EPARSE,
         "garbage.pem: no unencrypted PEM private key"},
        {"srv1.crt", "srv2.key", "", "", false, AMATERS_ECONFIG,
         "srv2.key: private key does not match the certificate"},
        {"srv1.crt", "srv1.key", "garbage.pem", "", false, AMATERS_EPARSE,
         "garbage.pem: no PEM certificate"},
        {"srv1.crt", "srv1.key", "", "", true, AMATERS_ECONFIG,
         "require_client_cert needs a CA"},
        {"srv1.crt", "srv1.key", "ca.pem", "garbage.pem", true,
         AMATERS_EPARSE, "garbage.pem: no PEM CRL"},
        {"srv1.crt", "srv1.key", "ca.pem", "crl2.pem", true,
         AMATERS_ECONFIG, "crl2.pem: CRL of /O=Elsewhere/CN=Other CA is "
                          "not signed by a CA of the bundle"},
        {"srv1.crt", "srv1.key", "ca.pem", "missing.pem", false,
         AMATERS_EIO, "missing.pem: cannot read"},
    };
    (void)state;

    write_pair("srv2.crt", "srv2.key", &pki.srv2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct opt_bufs b;
        struct amaters_tls_options o =
            make_opts(&b, cases[i].cert, cases[i].key, cases[i].ca,
                      cases[i].crl, cases[i].require);
        struct amaters_tls *t = (struct amaters_tls *)&b; /* not NULL */
        char err[512] = "";
        int rv = amaters_tls_create(&o, &t, err, sizeof err);
        if (rv != cases[i].rv || strstr(err, cases[i].err_has) == NULL)
            fail_msg("case %zu: rv %d (want %d), err \"%s\"", i, rv,
                     cases[i].rv, err);
        if (rv == 0)
            assert_non_null(t);
        else
            assert_null(t);
        amaters_tls_free(t);
    }
}

/* ca_certs_dir: every *.pem / *.crt is appended; other files ignored. */
static void test_create_ca_dir(void **state)
{
    char dir[256], path[300], err[512] = "";
    struct opt_bufs b;
    struct amaters_tls_options o =
        make_opts(&b, "srv1.crt", "srv1.key", "", "crl2.pem", true);
    struct amaters_tls *t = NULL;
    (void)state;

    path_of("cas", dir, sizeof dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    o.ca_dir = dir;
    /* empty directory: no CA */
    assert_int_equal(amaters_tls_create(&o, &t, err, sizeof err),
                     AMATERS_ECONFIG);
    assert_non_null(strstr(err, "no *.pem or *.crt CA file"));
    write_file("cas/one.pem", pki.ca.cert_pem);
    write_file("cas/two.crt", pki.ca2.cert_pem);
    write_file("cas/notes.txt", "not a certificate\n");
    /* crl2 is signed by ca2, which only the directory provides */
    assert_int_equal(amaters_tls_create(&o, &t, err, sizeof err), 0);
    amaters_tls_free(t);
    write_file("cas/bad.pem", "garbage\n");
    assert_int_equal(amaters_tls_create(&o, &t, err, sizeof err),
                     AMATERS_EPARSE);
    assert_non_null(strstr(err, "cas/bad.pem: no PEM certificate"));
    assert_null(t);
    unlink(path_of("cas/one.pem", path, sizeof path));
    unlink(path_of("cas/two.crt", path, sizeof path));
    unlink(path_of("cas/notes.txt", path, sizeof path));
    unlink(path_of("cas/bad.pem", path, sizeof path));
    assert_int_equal(rmdir(dir), 0);
}

/* The client-certificate policy on PEM input, without a network. */
static void test_cert_principal(void **state)
{
    const struct {
        const char *pem;
        int rv;
        const char *expect; /* subject, or the reason */
    } cases[] = {
        {pki.alice.cert_pem, 0, "alice"},
        {pki.mallory.cert_pem, AMATERS_EAUTH, "client certificate revoked"},
        {pki.evil.cert_pem, AMATERS_EAUTH, "organization not allowed"},
        {pki.bob.cert_pem, 0, "bob.example"},
        /* same serial as mallory, other issuer: not revoked */
        {pki.ca2_twin.cert_pem, 0, "twin"},
        {"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
         AMATERS_EAUTH, "bad client certificate"},
    };
    struct opt_bufs b;
    struct amaters_tls_options o =
        make_opts(&b, "srv1.crt", "srv1.key", "ca.pem", "crl.pem", true);
    struct amaters_tls *t = NULL;
    char err[512] = "";
    (void)state;

    assert_int_equal(amaters_tls_create(&o, &t, err, sizeof err), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct amaters_principal p;
        char why[128] = "";
        int rv = amaters_tls_cert_principal(t, cases[i].pem,
                                            strlen(cases[i].pem), &p, why,
                                            sizeof why);
        assert_int_equal(rv, cases[i].rv);
        if (rv == 0) {
            assert_string_equal(p.subject, cases[i].expect);
            assert_string_equal(p.method, "mtls");
            assert_int_equal(p.nroles, 0);
        } else {
            assert_null(p.subject);
            assert_string_equal(why, cases[i].expect);
        }
        amaters_principal_free(&p);
    }
    amaters_tls_free(t);

    /* auth.mtls.verify_cn = false: only SANs name the principal, so a
     * client certificate with a CN but no SAN names nobody. */
    t = NULL;
    o.ignore_cn = true;
    assert_int_equal(amaters_tls_create(&o, &t, err, sizeof err), 0);
    struct amaters_principal p;
    char why[128] = "";
    assert_int_equal(amaters_tls_cert_principal(t, pki.bob.cert_pem,
                                                strlen(pki.bob.cert_pem), &p,
                                                why, sizeof why),
                     0);
    assert_string_equal(p.subject, "bob.example");
    amaters_principal_free(&p);
    assert_int_equal(amaters_tls_cert_principal(t, pki.alice.cert_pem,
                                                strlen(pki.alice.cert_pem),
                                                &p, why, sizeof why),
                     AMATERS_EAUTH);
    assert_string_equal(why, "bad client certificate");
    amaters_tls_free(t);
}

/* ---- A gRPC core server answering with the principal ---- */

enum tag_kind { TAG_NEW_CALL, TAG_CALL_DONE, TAG_SHUTDOWN };

struct server;

/* One call of the server; owned by the server thread. */
struct call_ctx {
    enum tag_kind kind;
    struct server *srv;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
    grpc_slice status_details;
    int cancelled;
};

struct server {
    grpc_server *server;
    grpc_completion_queue *cq;
    pthread_t thread;
    struct amaters_tls *tls;
    int port;
    struct call_ctx shutdown_tag;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool shutdown_seen; /* guarded by mu */
};

static void ctx_free(struct call_ctx *c)
{
    if (c->call != NULL)
        grpc_call_unref(c->call);
    if (c->kind == TAG_CALL_DONE)
        grpc_slice_unref(c->status_details);
    grpc_call_details_destroy(&c->details);
    grpc_metadata_array_destroy(&c->md);
    free(c);
}

static void arm(struct server *s)
{
    struct call_ctx *c = calloc(1, sizeof *c);

    if (c == NULL)
        abort();
    c->kind = TAG_NEW_CALL;
    c->srv = s;
    grpc_call_details_init(&c->details);
    grpc_metadata_array_init(&c->md);
    if (grpc_server_request_call(s->server, &c->call, &c->details, &c->md,
                                 s->cq, s->cq, c) != GRPC_CALL_OK)
        ctx_free(c);
}

/* Answers with status OK and the principal or the reason as details. */
static void answer(struct call_ctx *c)
{
    struct amaters_principal p;
    char why[128] = "", text[256];
    grpc_op ops[3];
    int rv = amaters_tls_peer_principal(c->srv->tls, c->call, &p, why,
                                        sizeof why);

    snprintf(text, sizeof text, "%s", rv == 0 ? p.subject : why);
    amaters_principal_free(&p);
    c->status_details = grpc_slice_from_copied_string(text);
    c->kind = TAG_CALL_DONE;
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[1].data.send_status_from_server.status = GRPC_STATUS_OK;
    ops[1].data.send_status_from_server.status_details = &c->status_details;
    ops[2].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[2].data.recv_close_on_server.cancelled = &c->cancelled;
    if (grpc_call_start_batch(c->call, ops, 3, c, NULL) != GRPC_CALL_OK)
        ctx_free(c);
}

static void *server_main(void *arg)
{
    struct server *s = arg;

    for (;;) {
        grpc_event ev = grpc_completion_queue_next(
            s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        struct call_ctx *c = ev.tag;
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (c->kind == TAG_SHUTDOWN) {
            pthread_mutex_lock(&s->mu);
            s->shutdown_seen = true;
            pthread_cond_signal(&s->cond);
            pthread_mutex_unlock(&s->mu);
        } else if (c->kind == TAG_NEW_CALL && ev.success) {
            arm(s);
            answer(c);
        } else {
            ctx_free(c);
        }
    }
    return NULL;
}

static void server_start(struct server *s, struct amaters_tls *tls)
{
    grpc_server_credentials *creds;

    memset(s, 0, sizeof *s);
    s->tls = tls;
    s->shutdown_tag.kind = TAG_SHUTDOWN;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->cq = grpc_completion_queue_create_for_next(NULL);
    s->server = grpc_server_create(NULL, NULL);
    grpc_server_register_completion_queue(s->server, s->cq, NULL);
    creds = amaters_tls_server_credentials(tls);
    assert_non_null(creds);
    s->port = grpc_server_add_http2_port(s->server, "127.0.0.1:0", creds);
    grpc_server_credentials_release(creds);
    assert_true(s->port > 0);
    grpc_server_start(s->server);
    arm(s);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(struct server *s)
{
    struct timespec until;
    bool seen;

    grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
    grpc_server_cancel_all_calls(s->server);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&s->mu);
    while (!s->shutdown_seen &&
           pthread_cond_timedwait(&s->cond, &s->mu, &until) == 0)
        ;
    seen = s->shutdown_seen;
    pthread_mutex_unlock(&s->mu);
    assert_true(seen);
    grpc_server_destroy(s->server);
    grpc_completion_queue_shutdown(s->cq);
    pthread_join(s->thread, NULL);
    grpc_completion_queue_destroy(s->cq);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
}

/* ---- Clients ---- */

struct result {
    grpc_status_code status;
    char details[256];
    char server_cn[128]; /* CN of the certificate the server presented */
};

/* A channel trusting ca, presenting client's certificate (may be NULL);
 * never shares a connection with another channel. */
static grpc_channel *client_connect(int port, const struct ident *client)
{
    grpc_ssl_pem_key_cert_pair pair;
    grpc_channel_credentials *creds;
    grpc_arg args[2];
    grpc_channel_args chargs = {2, args};
    grpc_channel *ch;
    char target[64];

    if (client != NULL) {
        pair.private_key = client->key_pem;
        pair.cert_chain = client->cert_pem;
    }
    creds = grpc_ssl_credentials_create(pki.ca.cert_pem,
                                        client != NULL ? &pair : NULL, NULL,
                                        NULL);
    args[0].type = GRPC_ARG_STRING;
    args[0].key = GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
    args[0].value.string = "localhost";
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
    args[1].value.integer = 1;
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    ch = grpc_channel_create(target, creds, &chargs);
    grpc_channel_credentials_release(creds);
    assert_non_null(ch);
    return ch;
}

static void copy_slice(grpc_slice s, char *out, size_t cap)
{
    size_t n = GRPC_SLICE_LENGTH(s);

    if (n >= cap)
        n = cap - 1;
    memcpy(out, GRPC_SLICE_START_PTR(s), n);
    out[n] = '\0';
}

/* One unary call without a message, bounded by CALL_TIMEOUT_MS. */
static void client_call(grpc_channel *ch, struct result *r)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    gpr_timespec deadline = gpr_time_add(
        gpr_now(GPR_CLOCK_MONOTONIC),
        gpr_time_from_millis(CALL_TIMEOUT_MS, GPR_TIMESPAN));
    grpc_slice method = grpc_slice_from_static_string("/test.Tls/Who");
    grpc_metadata_array initial, trailing;
    grpc_slice details = grpc_empty_slice();
    grpc_op ops[4];
    grpc_event ev;
    grpc_call *call;
    grpc_auth_context *ctx;

    memset(r, 0, sizeof *r);
    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailing);
    call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                    method, NULL, deadline, NULL);
    assert_non_null(call);
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[2].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[2].data.recv_initial_metadata.recv_initial_metadata = &initial;
    ops[3].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[3].data.recv_status_on_client.trailing_metadata = &trailing;
    ops[3].data.recv_status_on_client.status = &r->status;
    ops[3].data.recv_status_on_client.status_details = &details;
    assert_int_equal(grpc_call_start_batch(call, ops, 4, call, NULL),
                     GRPC_CALL_OK);
    ev = grpc_completion_queue_next(
        cq, gpr_time_add(deadline, gpr_time_from_seconds(2, GPR_TIMESPAN)),
        NULL);
    assert_int_equal(ev.type, GRPC_OP_COMPLETE);
    copy_slice(details, r->details, sizeof r->details);
    ctx = grpc_call_auth_context(call);
    if (ctx != NULL) {
        grpc_auth_property_iterator it =
            grpc_auth_context_find_properties_by_name(
                ctx, GRPC_X509_CN_PROPERTY_NAME);
        const grpc_auth_property *p = grpc_auth_property_iterator_next(&it);
        if (p != NULL)
            snprintf(r->server_cn, sizeof r->server_cn, "%s", p->value);
        grpc_auth_context_release(ctx);
    }
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailing);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME),
                                      NULL)
               .type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
}

/* Connects with client's certificate, makes one call, disconnects. */
static void call_once(int port, const struct ident *client, struct result *r)
{
    grpc_channel *ch = client_connect(port, client);

    client_call(ch, r);
    grpc_channel_destroy(ch);
}

/* ---- mTLS through the network ---- */

static void test_mtls_required(void **state)
{
    const struct {
        const struct ident *client;
        bool connects;
        const char *details;
    } cases[] = {
        {&pki.alice, true, "alice"},
        {NULL, false, ""},
        {&pki.eve, false, ""}, /* other CA */
        {&pki.mallory, true, "client certificate revoked"},
        {&pki.evil, true, "organization not allowed"},
        {&pki.bob, true, "bob.example"},
    };
    struct opt_bufs b;
    struct amaters_tls_options o =
        make_opts(&b, "srv1.crt", "srv1.key", "ca.pem", "crl.pem", true);
    struct amaters_tls *t = NULL;
    struct server s;
    char err[512] = "";
    (void)state;

    assert_int_equal(amaters_tls_create(&o, &t, err, sizeof err), 0);
    server_start(&s, t);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct result r;
        call_once(s.port, cases[i].client, &r);
        if (!cases[i].connects) {
            if (r.status == GRPC_STATUS_OK)
                fail_msg("case %zu: call succeeded (%s)", i, r.details);
            assert_int_equal(r.status, GRPC_STATUS_UNAVAILABLE);
            continue;
        }
        if (r.status != GRPC_STATUS_OK)
            fail_msg("case %zu: status %d (%s)", i, r.status, r.details);
        assert_string_equal(r.details, cases[i].details);
        assert_string_equal(r.server_cn, "server-v1");
    }
    server_stop(&s);
    amaters_tls_free(t);
}

/* CA configured, client certificate optional: still verified if sent. */
static void test_mtls_optional(void **state)
{
    struct opt_bufs b;
    struct amaters_tls_options o =
        make_opts(&b, "srv1.crt", "srv1.key", "ca.pem", "", false);
    struct amaters_tls *t = NULL;
    struct server s;
    struct result r;
    char err[512] = "";
    (void)state;

    o.n_allowed_orgs = 0;
    assert_int_equal(amaters_tls_create(&o, &t, err, sizeof err), 0);
    server_start(&s, t);
    call_once(s.port, NULL, &r);
    assert_int_equal(r.status, GRPC_STATUS_OK);
    assert_string_equal(r.details, "no client certificate");
    call_once(s.port, &pki.evil, &r); /* any organization */
    assert_int_equal(r.status, GRPC_STATUS_OK);
    assert_string_equal(r.details, "evil");
    call_once(s.port, &pki.eve, &r);
    assert_int_equal(r.status, GRPC_STATUS_UNAVAILABLE);
    server_stop(&s);
    amaters_tls_free(t);
}

/* ---- Certificate rotation without restart ---- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/*
 * Makes new connections (bounded) until one sees the server certificate
 * want_cn and the failure counter reaches want_failures; every call must
 * succeed.
 */
static void poll_new_connections(struct server *s, const char *want_cn,
                                 uint64_t want_failures)
{
    struct result r;

    for (int i = 0; i < 60; i++) {
        call_once(s->port, NULL, &r);
        if (r.status != GRPC_STATUS_OK)
            fail_msg("new connection failed: %d %s", r.status, r.details);
        if (strcmp(r.server_cn, want_cn) == 0 &&
            amaters_tls_reload_failures(s->tls) == want_failures)
            return;
        sleep_ms(100);
    }
    fail_msg("new connections still see %s, %llu failures (want %s, %llu)",
             r.server_cn,
             (unsigned long long)amaters_tls_reload_failures(s->tls),
             want_cn, (unsigned long long)want_failures);
}

static void expect_old_connection_works(grpc_channel *a)
{
    struct result r;

    client_call(a, &r);
    assert_int_equal(r.status, GRPC_STATUS_OK);
    assert_string_equal(r.details, "no client certificate");
    assert_string_equal(r.server_cn, "server-v1");
}

static void test_rotation(void **state)
{
    struct opt_bufs b;
    struct amaters_tls_options o;
    struct amaters_tls *t = NULL;
    struct server s;
    grpc_channel *a;
    char err[512] = "";
    (void)state;

    write_pair("live.crt", "live.key", &pki.srv1);
    o = make_opts(&b, "live.crt", "live.key", "", "", false);
    o.n_allowed_orgs = 0;
    assert_int_equal(amaters_tls_create(&o, &t, err, sizeof err), 0);
    server_start(&s, t);
    a = client_connect(s.port, NULL);
    expect_old_connection_works(a);
    assert_int_equal(amaters_tls_reloads(t), 0);

    /* new certificate: new connections see it, A keeps its session */
    write_pair("live.crt", "live.key", &pki.srv2);
    poll_new_connections(&s, "server-v2", 0);
    assert_int_equal(amaters_tls_reloads(t), 1);
    expect_old_connection_works(a);

    /* garbage certificate: rejected, server-v2 stays */
    write_file("live.crt", "garbage\n");
    poll_new_connections(&s, "server-v2", 1);
    /* a certificate that does not match the key: rejected too */
    write_file("live.crt", pki.srv1.cert_pem);
    poll_new_connections(&s, "server-v2", 2);
    assert_int_equal(amaters_tls_reloads(t), 1);
    expect_old_connection_works(a);

    /* the matching key arrives: the pair is taken */
    write_file("live.key", pki.srv1.key_pem);
    poll_new_connections(&s, "server-v1", 2);
    assert_int_equal(amaters_tls_reloads(t), 2);
    expect_old_connection_works(a);

    grpc_channel_destroy(a);
    server_stop(&s);
    amaters_tls_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_validates_files, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_create_ca_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_principal, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mtls_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mtls_optional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
