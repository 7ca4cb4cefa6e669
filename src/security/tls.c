/*
 * tls.c - the TLS object: reading and validating the certificate, key, CA
 * and CRL files, the gRPC server credentials and their certificate-config
 * fetcher that reloads rotated files (see tls.h). The client-certificate
 * checks (CRL, organizations, principal name) live in tls_peer.c.
 */
#include "security/tls.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "core/timeutil.h"
#include "obs/log.h"

/* Identity of one file as stat() sees it; all zero when stat failed. */
struct file_sig {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    struct timespec ctime;
    int err; /* errno of a failed stat */
};

/* The view one credentials object has of the reload state: the generation
 * it last handed to gRPC (0 = none yet). Guarded by t->mu. */
struct tls_binding {
    struct amaters_tls *t;
    uint64_t gen_seen;
    struct tls_binding *next;
};

/* Fields above mu are immutable after create; the rest is guarded by mu. */
struct amaters_tls {
    char *cert_path;
    char *key_path;
    grpc_ssl_client_certificate_request_type request_type;
    char *ca_pem; /* NUL-terminated bundle, NULL when no CA */
    struct amaters_tls_peer_policy policy;
    pthread_mutex_t mu;
    char *cert_pem;
    size_t cert_len;
    char *key_pem;
    size_t key_len;
    uint64_t gen; /* bumped on every good load; 1 after create */
    struct file_sig sig[2];
    uint64_t last_check_ms;
    uint64_t reloads;
    uint64_t failures;
    struct tls_binding *bindings;
};

/* Reads path into a NUL-terminated heap buffer (see amaters_sec_read_file);
 * err names the file. */
static int read_file(const char *path, char **buf, size_t *len, char *err,
                     size_t errlen)
{
    return amaters_sec_read_file(path, AMATERS_TLS_MAX_FILE, buf, len, err,
                                 errlen);
}

/* PEM pass-phrase callback: encrypted keys are refused, never prompted. */
static int no_passphrase_cb(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* Parses the private key in pem and checks it matches leaf. */
static int check_key(const char *key_path, const char *pem, size_t len,
                     X509 *leaf, char *err, size_t errlen)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = NULL;
    int rv = 0;

    if (bio == NULL) {
        rv = AMATERS_ENOMEM;
        goto out;
    }
    pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase_cb, NULL);
    if (pkey == NULL) {
        snprintf(err, errlen, "%s: no unencrypted PEM private key",
                 key_path);
        rv = AMATERS_EPARSE;
        goto out;
    }
    if (X509_check_private_key(leaf, pkey) != 1) {
        snprintf(err, errlen,
                 "%s: private key does not match the certificate",
                 key_path);
        rv = AMATERS_ECONFIG;
        goto out;
    }
out:
    ERR_clear_error();
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    return rv;
}

/*
 * Reads and validates a certificate chain and its key. On success the
 * caller owns *cert and *key (free the key with amaters_free_secret).
 */
static int load_pair(const char *cert_path, const char *key_path,
                     char **cert, size_t *clen, char **key, size_t *klen,
                     char *err, size_t errlen)
{
    STACK_OF(X509) *chain = NULL;
    int rv;

    *key = NULL;
    rv = read_file(cert_path, cert, clen, err, errlen);
    if (rv != 0)
        return rv;
    rv = read_file(key_path, key, klen, err, errlen);
    if (rv != 0)
        goto fail;
    rv = amaters_sec_tls_parse_certs(*cert, *clen, &chain);
    if (rv == AMATERS_EPARSE)
        snprintf(err, errlen, "%s: no PEM certificate", cert_path);
    if (rv != 0)
        goto fail;
    rv = check_key(key_path, *key, *klen, sk_X509_value(chain, 0), err,
                   errlen);
    sk_X509_pop_free(chain, X509_free);
    if (rv != 0)
        goto fail;
    return 0;
fail:
    amaters_free(*cert);
    if (*key != NULL)
        amaters_free_secret(*key, *klen + 1);
    *cert = NULL;
    *key = NULL;
    return rv;
}

/* Appends text (len bytes) and a newline to the growing bundle. */
static int bundle_append(char **bundle, size_t *blen, const char *text,
                         size_t len)
{
    char *nb = amaters_realloc(*bundle, *blen + len + 2);

    if (nb == NULL)
        return AMATERS_ENOMEM;
    memcpy(nb + *blen, text, len);
    nb[*blen + len] = '\n';
    nb[*blen + len + 1] = '\0';
    *bundle = nb;
    *blen += len + 1;
    return 0;
}

/* Reads one CA file, checks it holds certificates, appends it. */
static int bundle_add_file(const char *path, char **bundle, size_t *blen,
                           char *err, size_t errlen)
{
    STACK_OF(X509) *certs = NULL;
    char *text = NULL;
    size_t len = 0;
    int rv = read_file(path, &text, &len, err, errlen);

    if (rv != 0)
        return rv;
    rv = amaters_sec_tls_parse_certs(text, len, &certs);
    if (rv == AMATERS_EPARSE)
        snprintf(err, errlen, "%s: no PEM certificate", path);
    if (rv == 0)
        rv = bundle_append(bundle, blen, text, len);
    sk_X509_pop_free(certs, X509_free);
    amaters_free(text);
    return rv;
}

static int ca_file_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);

    if (d->d_name[0] == '.')
        return 0;
    return (n > 4 && strcmp(d->d_name + n - 4, ".pem") == 0) ||
           (n > 4 && strcmp(d->d_name + n - 4, ".crt") == 0);
}

/* Appends every *.pem / *.crt of dir (sorted by name) to the bundle. */
static int bundle_add_dir(const char *dir, char **bundle, size_t *blen,
                          char *err, size_t errlen)
{
    struct dirent **names = NULL;
    char path[4096];
    int n = scandir(dir, &names, ca_file_filter, alphasort);
    int rv = 0;

    if (n < 0) {
        snprintf(err, errlen, "%s: cannot read directory: %s", dir,
                 strerror(errno));
        return AMATERS_EIO;
    }
    for (int i = 0; i < n; i++) {
        if (rv == 0) {
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            rv = bundle_add_file(path, bundle, blen, err, errlen);
        }
        free(names[i]); /* allocated by scandir() with malloc */
    }
    free(names);
    return rv;
}

/* Builds t->ca_pem from ca_path and ca_dir and parses it into *cas. */
static int load_ca(struct amaters_tls *t, const struct amaters_tls_options *o,
                   STACK_OF(X509) **cas, char *err, size_t errlen)
{
    size_t blen = 0;
    int rv = 0;

    *cas = NULL;
    if (o->ca_path[0] != '\0')
        rv = bundle_add_file(o->ca_path, &t->ca_pem, &blen, err, errlen);
    if (rv == 0 && o->ca_dir[0] != '\0')
        rv = bundle_add_dir(o->ca_dir, &t->ca_pem, &blen, err, errlen);
    if (rv != 0)
        return rv;
    if (t->ca_pem == NULL) {
        if (o->ca_dir[0] != '\0') {
            snprintf(err, errlen, "%s: no *.pem or *.crt CA file",
                     o->ca_dir);
            return AMATERS_ECONFIG;
        }
        return 0;
    }
    return amaters_sec_tls_parse_certs(t->ca_pem, blen, cas);
}

/* Reads the CRL file; every CRL must be signed by a CA of cas. */
static int load_crls(struct amaters_tls *t, const char *path,
                     STACK_OF(X509) *cas, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    char issuer[256];
    int rv = read_file(path, &text, &len, err, errlen);

    if (rv != 0)
        return rv;
    rv = amaters_sec_tls_parse_crls(text, len, &t->policy.crls);
    if (rv == AMATERS_EPARSE)
        snprintf(err, errlen, "%s: no PEM CRL", path);
    for (int i = 0; rv == 0 && i < sk_X509_CRL_num(t->policy.crls); i++) {
        X509_CRL *crl = sk_X509_CRL_value(t->policy.crls, i);
        if (amaters_sec_tls_crl_signed_by(crl, cas))
            continue;
        X509_NAME_oneline(X509_CRL_get_issuer(crl), issuer, sizeof issuer);
        snprintf(err, errlen,
                 "%s: CRL of %s is not signed by a CA of the bundle", path,
                 issuer);
        rv = AMATERS_ECONFIG;
    }
    amaters_free(text);
    return rv;
}

/* Records the identity of path in *s. */
static void file_sig_of(const char *path, struct file_sig *s)
{
    struct stat st;

    memset(s, 0, sizeof *s);
    if (stat(path, &st) != 0) {
        s->err = errno;
        return;
    }
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    s->size = st.st_size;
    s->mtime = st.st_mtim;
    s->ctime = st.st_ctim;
}

static bool file_sig_equal(const struct file_sig *a, const struct file_sig *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec &&
           a->ctime.tv_nsec == b->ctime.tv_nsec && a->err == b->err;
}

static int copy_options(struct amaters_tls *t,
                        const struct amaters_tls_options *o)
{
    t->policy.ignore_cn = o->ignore_cn;
    t->cert_path = amaters_strdup(o->cert_path);
    t->key_path = amaters_strdup(o->key_path);
    if (t->cert_path == NULL || t->key_path == NULL)
        return AMATERS_ENOMEM;
    if (o->n_allowed_orgs == 0)
        return 0;
    t->policy.orgs = amaters_calloc(o->n_allowed_orgs, sizeof(char *));
    if (t->policy.orgs == NULL)
        return AMATERS_ENOMEM;
    for (size_t i = 0; i < o->n_allowed_orgs; i++) {
        t->policy.orgs[i] = amaters_strdup(o->allowed_orgs[i]);
        if (t->policy.orgs[i] == NULL)
            return AMATERS_ENOMEM;
        t->policy.norgs = i + 1;
    }
    return 0;
}

static int check_options(const struct amaters_tls_options *o, char *err,
                         size_t errlen)
{
    if (o == NULL || o->cert_path == NULL || o->key_path == NULL ||
        o->ca_path == NULL || o->ca_dir == NULL || o->crl_path == NULL ||
        (o->n_allowed_orgs > 0 && o->allowed_orgs == NULL)) {
        snprintf(err, errlen, "tls: missing option");
        return AMATERS_EINVAL;
    }
    if (o->cert_path[0] == '\0' || o->key_path[0] == '\0') {
        snprintf(err, errlen, "tls: tls_cert and tls_key are required");
        return AMATERS_ECONFIG;
    }
    for (size_t i = 0; i < o->n_allowed_orgs; i++) {
        if (o->allowed_orgs[i] == NULL || o->allowed_orgs[i][0] == '\0') {
            snprintf(err, errlen, "tls: empty allowed organization");
            return AMATERS_EINVAL;
        }
    }
    return 0;
}

/* Loads every file into t (freshly zeroed, options copied). */
static int load_all(struct amaters_tls *t,
                    const struct amaters_tls_options *o, char *err,
                    size_t errlen)
{
    STACK_OF(X509) *cas = NULL;
    int rv;

    file_sig_of(t->cert_path, &t->sig[0]);
    file_sig_of(t->key_path, &t->sig[1]);
    rv = load_pair(t->cert_path, t->key_path, &t->cert_pem, &t->cert_len,
                   &t->key_pem, &t->key_len, err, errlen);
    if (rv == 0)
        rv = load_ca(t, o, &cas, err, errlen);
    if (rv == 0 && cas == NULL &&
        (o->require_client_cert || o->crl_path[0] != '\0')) {
        snprintf(err, errlen, "tls: %s needs a CA (tls_ca or ca_certs_dir)",
                 o->require_client_cert ? "require_client_cert" : "crl_path");
        rv = AMATERS_ECONFIG;
    }
    if (rv == 0 && o->crl_path[0] != '\0')
        rv = load_crls(t, o->crl_path, cas, err, errlen);
    sk_X509_pop_free(cas, X509_free);
    return rv;
}

int amaters_tls_create(const struct amaters_tls_options *o,
                       struct amaters_tls **out, char *err, size_t errlen)
{
    struct amaters_tls *t = NULL;
    int rv;

    *out = NULL;
    rv = check_options(o, err, errlen);
    if (rv != 0)
        return rv;
    t = amaters_calloc(1, sizeof *t);
    if (t == NULL)
        return AMATERS_ENOMEM;
    if (pthread_mutex_init(&t->mu, NULL) != 0) {
        amaters_free(t);
        return AMATERS_ENOMEM;
    }
    rv = copy_options(t, o);
    if (rv == 0)
        rv = load_all(t, o, err, errlen);
    if (rv == AMATERS_ENOMEM)
        snprintf(err, errlen, "tls: out of memory");
    if (rv != 0)
        goto fail;
    if (o->require_client_cert)
        t->request_type =
            GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    else if (t->ca_pem != NULL)
        t->request_type = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
    else
        t->request_type = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
    t->gen = 1;
    t->last_check_ms = amaters_now_ms();
    *out = t;
    return 0;
fail:
    amaters_tls_free(t);
    return rv;
}

void amaters_tls_free(struct amaters_tls *t)
{
    struct tls_binding *b;

    if (t == NULL)
        return;
    while (t->bindings != NULL) {
        b = t->bindings;
        t->bindings = b->next;
        amaters_free(b);
    }
    amaters_free(t->cert_path);
    amaters_free(t->key_path);
    amaters_free(t->ca_pem);
    amaters_free(t->cert_pem);
    if (t->key_pem != NULL)
        amaters_free_secret(t->key_pem, t->key_len + 1);
    amaters_sec_tls_policy_clear(&t->policy);
    pthread_mutex_destroy(&t->mu);
    amaters_free(t);
}

/*
 * Looks at the files (throttled) and loads them when they changed. Called
 * with t->mu held.
 */
static void maybe_reload(struct amaters_tls *t)
{
    struct file_sig sig[2];
    char err[512];
    char *cert = NULL, *key = NULL;
    size_t clen = 0, klen = 0;
    uint64_t now = amaters_now_ms();

    if (now - t->last_check_ms < AMATERS_TLS_RELOAD_THROTTLE_MS)
        return;
    t->last_check_ms = now;
    file_sig_of(t->cert_path, &sig[0]);
    file_sig_of(t->key_path, &sig[1]);
    if (file_sig_equal(&sig[0], &t->sig[0]) &&
        file_sig_equal(&sig[1], &t->sig[1]))
        return;
    t->sig[0] = sig[0];
    t->sig[1] = sig[1];
    if (load_pair(t->cert_path, t->key_path, &cert, &clen, &key, &klen, err,
                  sizeof err) != 0) {
        t->failures++;
        amaters_log(AMATERS_LOG_WARN, "tls",
                    "certificate reload rejected, keeping the current "
                    "certificate: %s",
                    err);
        return;
    }
    amaters_free(t->cert_pem);
    amaters_free_secret(t->key_pem, t->key_len + 1);
    t->cert_pem = cert;
    t->cert_len = clen;
    t->key_pem = key;
    t->key_len = klen;
    t->gen++;
    t->reloads++;
    amaters_log(AMATERS_LOG_INFO, "tls",
                "reloaded certificate %s and key %s for new connections",
                t->cert_path, t->key_path);
}

/* gRPC's certificate-config fetcher; gRPC owns and destroys *config. */
static grpc_ssl_certificate_config_reload_status
fetch_config_cb(void *user_data, grpc_ssl_server_certificate_config **config)
{
    struct tls_binding *b = user_data;
    struct amaters_tls *t = b->t;
    grpc_ssl_pem_key_cert_pair pair;
    grpc_ssl_certificate_config_reload_status st;

    *config = NULL;
    pthread_mutex_lock(&t->mu);
    maybe_reload(t);
    if (b->gen_seen == t->gen) {
        st = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
        goto out;
    }
    pair.private_key = t->key_pem;
    pair.cert_chain = t->cert_pem;
    /* gRPC 1.51 asserts on NULL roots in a fetched config; without a CA
     * client certificates are not requested, so the (validated) server
     * chain serves as a placeholder that is never used to verify. */
    *config = grpc_ssl_server_certificate_config_create(
        t->ca_pem != NULL ? t->ca_pem : t->cert_pem, &pair, 1);
    if (*config == NULL) {
        st = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_FAIL;
        goto out;
    }
    b->gen_seen = t->gen;
    st = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
out:
    pthread_mutex_unlock(&t->mu);
    return st;
}

grpc_server_credentials *amaters_tls_server_credentials(struct amaters_tls *t)
{
    grpc_ssl_server_credentials_options *opts;
    struct tls_binding *b = amaters_calloc(1, sizeof *b);

    if (b == NULL)
        return NULL;
    b->t = t;
    pthread_mutex_lock(&t->mu);
    b->next = t->bindings;
    t->bindings = b;
    pthread_mutex_unlock(&t->mu);
    opts = grpc_ssl_server_credentials_create_options_using_config_fetcher(
        t->request_type, fetch_config_cb, b);
    if (opts == NULL)
        return NULL;
    return grpc_ssl_server_credentials_create_with_options(opts);
}

uint64_t amaters_tls_reloads(struct amaters_tls *t)
{
    uint64_t n;

    pthread_mutex_lock(&t->mu);
    n = t->reloads;
    pthread_mutex_unlock(&t->mu);
    return n;
}

uint64_t amaters_tls_reload_failures(struct amaters_tls *t)
{
    uint64_t n;

    pthread_mutex_lock(&t->mu);
    n = t->failures;
    pthread_mutex_unlock(&t->mu);
    return n;
}

int amaters_tls_cert_principal(struct amaters_tls *t, const char *pem,
                               size_t len, struct amaters_principal *out,
                               char *why, size_t whylen)
{
    return amaters_sec_tls_cert_principal(&t->policy, pem, len, out, why,
                                          whylen);
}

/* Whether a certificate of the chain the peer presented (the leaf's
 * issuers: an intermediate CA) is revoked by a configured CRL. */
static bool chain_revoked(struct amaters_tls *t, grpc_auth_context *ctx)
{
    grpc_auth_property_iterator it = grpc_auth_context_find_properties_by_name(
        ctx, GRPC_X509_PEM_CERT_CHAIN_PROPERTY_NAME);
    const grpc_auth_property *prop = grpc_auth_property_iterator_next(&it);

    return prop != NULL && prop->value != NULL &&
           amaters_sec_tls_chain_revoked(&t->policy, prop->value,
                                         prop->value_length);
}

int amaters_tls_peer_principal(struct amaters_tls *t, grpc_call *call,
                               struct amaters_principal *out, char *why,
                               size_t whylen)
{
    grpc_auth_context *ctx;
    grpc_auth_property_iterator it;
    const grpc_auth_property *prop = NULL;
    int rv;

    memset(out, 0, sizeof *out);
    ctx = grpc_call_auth_context(call);
    if (ctx != NULL && grpc_auth_context_peer_is_authenticated(ctx)) {
        it = grpc_auth_context_find_properties_by_name(
            ctx, GRPC_X509_PEM_CERT_PROPERTY_NAME);
        prop = grpc_auth_property_iterator_next(&it);
    }
    if (prop == NULL || prop->value == NULL) {
        amaters_sec_why(why, whylen, "no client certificate");
        rv = AMATERS_ENOTFOUND;
    } else {
        rv = amaters_tls_cert_principal(t, prop->value, prop->value_length,
                                        out, why, whylen);
    }
    if (rv == 0 && chain_revoked(t, ctx)) {
        amaters_principal_free(out);
        amaters_sec_why(why, whylen,
                        "a certificate in the client's chain is revoked");
        rv = AMATERS_EAUTH;
    }
    if (ctx != NULL)
        grpc_auth_context_release(ctx);
    return rv;
}
