/*
 * tls_peer.c - the X.509 side of tls.h: parsing PEM certificates and CRLs,
 * checking a CRL's signature, and the client-certificate policy gRPC does
 * not apply itself (revocation by a CRL of the certificate's issuer,
 * allowed subject organizations) together with naming the principal after
 * the subject CN or the first subject alternative name.
 */
#include "security/tls.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/alloc.h"
#include "core/errors.h"

/* PEM pass-phrase callback: encrypted input is refused, never prompted. */
static int no_passphrase_cb(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

void amaters_sec_tls_policy_clear(struct amaters_tls_peer_policy *p)
{
    sk_X509_CRL_pop_free(p->crls, X509_CRL_free);
    for (size_t i = 0; i < p->norgs; i++)
        amaters_free(p->orgs[i]);
    amaters_free(p->orgs);
    memset(p, 0, sizeof *p);
}

int amaters_sec_tls_parse_certs(const char *pem, size_t len,
                                STACK_OF(X509) **out)
{
    BIO *bio = NULL;
    STACK_OF(X509) *sk = NULL;
    X509 *x;
    int rv = AMATERS_ENOMEM;

    *out = NULL;
    if (len > INT32_MAX)
        return AMATERS_ETOOBIG;
    bio = BIO_new_mem_buf(pem, (int)len);
    sk = sk_X509_new_null();
    if (bio == NULL || sk == NULL)
        goto out;
    for (;;) {
        x = PEM_read_bio_X509(bio, NULL, no_passphrase_cb, NULL);
        if (x == NULL)
            break;
        if (sk_X509_push(sk, x) <= 0) {
            X509_free(x);
            goto out;
        }
    }
    rv = AMATERS_EPARSE;
    if (sk_X509_num(sk) == 0)
        goto out;
    *out = sk;
    sk = NULL;
    rv = 0;
out:
    ERR_clear_error();
    sk_X509_pop_free(sk, X509_free);
    BIO_free(bio);
    return rv;
}

int amaters_sec_tls_parse_crls(const char *pem, size_t len,
                               STACK_OF(X509_CRL) **out)
{
    BIO *bio = NULL;
    STACK_OF(X509_CRL) *sk = NULL;
    X509_CRL *c;
    int rv = AMATERS_ENOMEM;

    *out = NULL;
    if (len > INT32_MAX)
        return AMATERS_ETOOBIG;
    bio = BIO_new_mem_buf(pem, (int)len);
    sk = sk_X509_CRL_new_null();
    if (bio == NULL || sk == NULL)
        goto out;
    for (;;) {
        c = PEM_read_bio_X509_CRL(bio, NULL, no_passphrase_cb, NULL);
        if (c == NULL)
            break;
        if (sk_X509_CRL_push(sk, c) <= 0) {
            X509_CRL_free(c);
            goto out;
        }
    }
    rv = AMATERS_EPARSE;
    if (sk_X509_CRL_num(sk) == 0)
        goto out;
    *out = sk;
    sk = NULL;
    rv = 0;
out:
    ERR_clear_error();
    sk_X509_CRL_pop_free(sk, X509_CRL_free);
    BIO_free(bio);
    return rv;
}

bool amaters_sec_tls_crl_signed_by(X509_CRL *crl, STACK_OF(X509) *cas)
{
    bool ok = false;

    for (int i = 0; !ok && i < sk_X509_num(cas); i++) {
        X509 *ca = sk_X509_value(cas, i);
        EVP_PKEY *key;
        if (X509_NAME_cmp(X509_get_subject_name(ca),
                          X509_CRL_get_issuer(crl)) != 0)
            continue;
        key = X509_get0_pubkey(ca);
        ok = key != NULL && X509_CRL_verify(crl, key) == 1;
    }
    ERR_clear_error();
    return ok;
}

/* True when a CRL of cert's issuer lists cert's serial as revoked. */
static bool is_revoked(const struct amaters_tls_peer_policy *p, X509 *cert)
{
    X509_NAME *issuer = X509_get_issuer_name(cert);
    const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);

    for (int i = 0; i < sk_X509_CRL_num(p->crls); i++) {
        X509_CRL *crl = sk_X509_CRL_value(p->crls, i);
        X509_REVOKED *rev = NULL;
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), issuer) != 0)
            continue;
        /* 1 = revoked; 2 = listed with reason removeFromCRL */
        if (X509_CRL_get0_by_serial(crl, &rev, serial) == 1)
            return true;
    }
    return false;
}

bool amaters_sec_tls_chain_revoked(const struct amaters_tls_peer_policy *p,
                                   const char *pem, size_t len)
{
    BIO *bio = NULL;
    X509 *cert;
    bool revoked = false;

    if (p->crls == NULL || pem == NULL || len > INT32_MAX)
        return false;
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL)
        return true; /* cannot check: refuse rather than let it pass */
    while (!revoked &&
           (cert = PEM_read_bio_X509(bio, NULL, no_passphrase_cb, NULL)) !=
               NULL) {
        revoked = is_revoked(p, cert);
        X509_free(cert);
    }
    ERR_clear_error(); /* the end of the PEM text */
    BIO_free(bio);
    return revoked;
}

/*
 * Copies an ASN.1 string as UTF-8 into *out, a new heap string the caller
 * frees with amaters_free. Returns 0, AMATERS_EAUTH when the string cannot
 * be converted, is empty or holds a NUL byte, or AMATERS_ENOMEM.
 */
static int asn1_to_cstr(const ASN1_STRING *s, char **out)
{
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, s);
    int rv = AMATERS_EAUTH;

    *out = NULL;
    if (n > 0 && memchr(utf8, '\0', (size_t)n) == NULL) {
        *out = amaters_strndup((const char *)utf8, (size_t)n);
        rv = *out != NULL ? 0 : AMATERS_ENOMEM;
    }
    OPENSSL_free(utf8);
    ERR_clear_error();
    return rv;
}

/* True when the UTF-8 form of s is one of p->orgs. */
static bool org_listed(const struct amaters_tls_peer_policy *p,
                       const ASN1_STRING *s)
{
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, s);
    bool ok = false;

    for (size_t i = 0; n > 0 && !ok && i < p->norgs; i++)
        ok = strlen(p->orgs[i]) == (size_t)n &&
             memcmp(p->orgs[i], utf8, (size_t)n) == 0;
    OPENSSL_free(utf8);
    ERR_clear_error();
    return ok;
}

/* True when a subject O= of cert is one of p->orgs. */
static bool org_allowed(const struct amaters_tls_peer_policy *p, X509 *cert)
{
    X509_NAME *subject = X509_get_subject_name(cert);
    int idx = -1;
    bool ok = false;

    while (!ok) {
        idx = X509_NAME_get_index_by_NID(subject, NID_organizationName, idx);
        if (idx < 0)
            break;
        ok = org_listed(p, X509_NAME_ENTRY_get_data(
                               X509_NAME_get_entry(subject, idx)));
    }
    return ok;
}

/* The text of one SAN (DNS, e-mail, URI or IP address) into *out; see
 * asn1_to_cstr() for the results. */
static int san_to_cstr(const GENERAL_NAME *gn, char **out)
{
    char ip[INET6_ADDRSTRLEN];
    int type;
    const ASN1_STRING *s = GENERAL_NAME_get0_value(gn, &type);
    int family = 0;

    *out = NULL;
    if (type == GEN_DNS || type == GEN_EMAIL || type == GEN_URI)
        return asn1_to_cstr(s, out);
    if (type != GEN_IPADD)
        return AMATERS_EAUTH;
    if (ASN1_STRING_length(s) == 4)
        family = AF_INET;
    else if (ASN1_STRING_length(s) == 16)
        family = AF_INET6;
    if (family == 0 ||
        inet_ntop(family, ASN1_STRING_get0_data(s), ip, sizeof ip) == NULL)
        return AMATERS_EAUTH;
    *out = amaters_strdup(ip);
    return *out != NULL ? 0 : AMATERS_ENOMEM;
}

/* The subject CN (unless ignore_cn), else the first usable SAN, into
 * *out. Returns 0, AMATERS_EAUTH (no usable name) or AMATERS_ENOMEM. */
static int principal_name(X509 *cert, bool ignore_cn, char **out)
{
    X509_NAME *subject = X509_get_subject_name(cert);
    int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    GENERAL_NAMES *sans;
    int rv = AMATERS_EAUTH;

    *out = NULL;
    if (idx >= 0 && !ignore_cn)
        return asn1_to_cstr(
            X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx)),
            out);
    sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; rv == AMATERS_EAUTH && i < sk_GENERAL_NAME_num(sans);
         i++)
        rv = san_to_cstr(sk_GENERAL_NAME_value(sans, i), out);
    GENERAL_NAMES_free(sans);
    ERR_clear_error();
    return rv;
}

int amaters_sec_tls_cert_principal(const struct amaters_tls_peer_policy *p,
                                   const char *pem, size_t len,
                                   struct amaters_principal *out, char *why,
                                   size_t whylen)
{
    BIO *bio = NULL;
    X509 *cert = NULL;
    int rv = AMATERS_EAUTH;

    memset(out, 0, sizeof *out);
    if (len <= INT32_MAX)
        bio = BIO_new_mem_buf(pem, (int)len);
    if (bio != NULL)
        cert = PEM_read_bio_X509(bio, NULL, no_passphrase_cb, NULL);
    if (cert == NULL) {
        amaters_sec_why(why, whylen, "bad client certificate");
        goto out;
    }
    if (p->crls != NULL && is_revoked(p, cert)) {
        amaters_sec_why(why, whylen, "client certificate revoked");
        goto out;
    }
    if (p->norgs > 0 && !org_allowed(p, cert)) {
        amaters_sec_why(why, whylen, "organization not allowed");
        goto out;
    }
    rv = principal_name(cert, p->ignore_cn, &out->subject);
    if (rv == AMATERS_EAUTH)
        amaters_sec_why(why, whylen, "bad client certificate");
    if (rv == 0)
        out->method = "mtls";
out:
    ERR_clear_error();
    X509_free(cert);
    BIO_free(bio);
    return rv;
}
