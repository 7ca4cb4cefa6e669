/*
 * tls.h - TLS and mutual TLS for the gRPC server: loading and validating the
 * certificate files of [network] / [auth.mtls], building gRPC core SSL
 * server credentials that pick up rotated certificate files without a
 * restart, and turning a verified client certificate into a principal.
 *
 * Rotation: the credentials use gRPC's certificate-config fetcher. gRPC
 * calls it before every TLS handshake; it stats the certificate and key
 * files (at most once per AMATERS_TLS_RELOAD_THROTTLE_MS) and, when they
 * changed, loads and validates them. A good pair is handed to gRPC and is
 * used for new connections (existing connections keep their session); a
 * bad pair is logged (component "tls"), counted, and the previous
 * certificate stays in use.
 *
 * mTLS: gRPC verifies the client chain against the CA bundle (tls_ca plus
 * every *.pem / *.crt of ca_certs_dir). amaters_tls_peer_principal() adds
 * what gRPC does not do: the CRL check and the allowed-organizations check,
 * and names the principal after the subject CN (or the first SAN).
 *
 * Threads: amaters_tls_create() and amaters_tls_free() from one thread;
 * everything else from any thread (the reload state is guarded by a
 * mutex; the CA bundle, CRL and organization list are immutable after
 * create).
 */
#ifndef AMATERS_SECURITY_TLS_H
#define AMATERS_SECURITY_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "security/secutil.h"

/* The fetcher looks at the files at most this often. */
#define AMATERS_TLS_RELOAD_THROTTLE_MS 500

/* Largest certificate, key, CA or CRL file accepted. */
#define AMATERS_TLS_MAX_FILE (4u * 1024u * 1024u)

/*
 * What amaters_tls_create() needs. Every string is copied; none may be
 * NULL except allowed_orgs when n_allowed_orgs is 0. ca_path, ca_dir and
 * crl_path may be "" (not configured).
 */
struct amaters_tls_options {
    const char *cert_path; /* server certificate chain (PEM), leaf first */
    const char *key_path;  /* private key of the leaf (PEM) */
    const char *ca_path;   /* CA bundle for client certificates, or "" */
    const char *ca_dir;    /* auth.mtls.ca_certs_dir: every *.pem and *.crt
                            * in it is appended to the CA bundle, or "" */
    bool require_client_cert;
    const char *crl_path;  /* PEM CRL(s) for client certificates, or "" */
    const char *const *allowed_orgs; /* subject O= values accepted */
    size_t n_allowed_orgs;           /* 0 = any organization */
    bool ignore_cn; /* principal from the SANs only (auth.mtls.verify_cn
                     * = false); default: the CN, else the first SAN */
};

struct amaters_tls;

/*
 * Reads and validates every configured file: the certificate chain and the
 * key must parse as PEM and the key must match the leaf certificate; the CA
 * bundle (ca_path and ca_dir together) must hold at least one certificate
 * when either is set, and is required when require_client_cert is true or
 * a CRL is configured; every CRL must parse and carry a valid signature of
 * a CA of the bundle. On success *out is a new object owned by the caller
 * (release with amaters_tls_free). Returns 0, AMATERS_EINVAL (bad options),
 * AMATERS_EIO (a file cannot be read), AMATERS_ETOOBIG (a file larger than
 * AMATERS_TLS_MAX_FILE), AMATERS_EPARSE (a file is not the expected PEM),
 * AMATERS_ECONFIG (key does not match the certificate, missing CA, CRL not
 * signed by a CA of the bundle) or AMATERS_ENOMEM; err (errlen bytes) then
 * names the file and the problem.
 */
int amaters_tls_create(const struct amaters_tls_options *o,
                       struct amaters_tls **out, char *err, size_t errlen);

/*
 * Returns new gRPC server credentials for grpc_server_add_http2_port(),
 * owned by the caller (release with grpc_server_credentials_release once
 * the port is added). Call once per grpc_server_add_http2_port() call:
 * each credentials object gets its own view of the reload state so that
 * its first fetch always delivers the current certificate. Client
 * certificates are required and verified when require_client_cert is set,
 * requested and verified when only a CA is configured, otherwise not
 * requested. Returns NULL when out of memory. grpc_init() must have been
 * called. t must outlive every server using the credentials.
 */
grpc_server_credentials *amaters_tls_server_credentials(struct amaters_tls *t);

/*
 * Establishes the principal of call's TLS client. Returns
 * AMATERS_ENOTFOUND (why: "no client certificate") when the connection
 * carries no verified client certificate; AMATERS_EAUTH with why "client
 * certificate revoked" when a configured CRL of the certificate's issuer
 * lists its serial, "organization not allowed" when allowed organizations
 * are configured and no subject O= matches, or "bad client certificate"
 * when it cannot be parsed or names nobody; AMATERS_ENOMEM. On success
 * *out (zeroed first on every path) holds subject = the CN (or the first
 * SAN when there is no CN), no roles and method "mtls"; the caller frees it
 * with amaters_principal_free(). why (whylen bytes) may be NULL. Any
 * thread; call must be a server call.
 */
int amaters_tls_peer_principal(struct amaters_tls *t, grpc_call *call,
                               struct amaters_principal *out, char *why,
                               size_t whylen);

/*
 * Like amaters_tls_peer_principal() for a PEM certificate already in hand
 * (the x509_pem_cert auth property): runs the CRL and organization checks
 * and names the principal. pem (len bytes) need not be NUL-terminated.
 * Returns 0, AMATERS_EAUTH or AMATERS_ENOMEM as above.
 */
int amaters_tls_cert_principal(struct amaters_tls *t, const char *pem,
                               size_t len, struct amaters_principal *out,
                               char *why, size_t whylen);

/* How many certificate reloads succeeded / were rejected since create
 * (the initial load counts as neither). Any thread. */
uint64_t amaters_tls_reloads(struct amaters_tls *t);
uint64_t amaters_tls_reload_failures(struct amaters_tls *t);

/*
 * Frees t and everything it owns. Only after every server using
 * credentials from t has been destroyed. Safe on NULL.
 */
void amaters_tls_free(struct amaters_tls *t);

/*
 * Internal to src/security (tls.c and tls_peer.c share them; other code
 * uses the functions above). OpenSSL types appear only as incomplete
 * struct tags so that this header does not pull in OpenSSL.
 */
struct stack_st_X509;
struct stack_st_X509_CRL;
struct X509_crl_st;

/* What a client certificate must satisfy. Immutable after create. */
struct amaters_tls_peer_policy {
    struct stack_st_X509_CRL *crls; /* STACK_OF(X509_CRL), or NULL */
    char **orgs;                    /* allowed subject O= values */
    size_t norgs;                   /* 0 = any organization */
    bool ignore_cn;                 /* name from the SANs only */
};

/* Frees what p owns and zeroes it. */
void amaters_sec_tls_policy_clear(struct amaters_tls_peer_policy *p);

/*
 * Parses every PEM certificate (resp. CRL) of pem (len bytes) into a new
 * OpenSSL stack owned by the caller (sk_X509_pop_free / sk_X509_CRL_
 * pop_free). Encrypted PEM is refused. Returns 0, AMATERS_EPARSE when
 * there is none, or AMATERS_ENOMEM. Clears the OpenSSL error queue.
 */
int amaters_sec_tls_parse_certs(const char *pem, size_t len,
                                struct stack_st_X509 **out);
int amaters_sec_tls_parse_crls(const char *pem, size_t len,
                               struct stack_st_X509_CRL **out);

/* Returns true when a certificate of cas (may be NULL) whose subject is
 * the CRL's issuer signed crl. */
bool amaters_sec_tls_crl_signed_by(struct X509_crl_st *crl,
                                   struct stack_st_X509 *cas);

/* True when a certificate of the PEM chain pem[0..len) (the leaf and the
 * intermediates the client presented) is listed in a CRL of p by its
 * issuer; false without CRLs. Revoking an intermediate CA revokes every
 * certificate under it. Any thread. */
bool amaters_sec_tls_chain_revoked(const struct amaters_tls_peer_policy *p,
                                   const char *pem, size_t len);

/* amaters_tls_cert_principal() against policy p. */
int amaters_sec_tls_cert_principal(const struct amaters_tls_peer_policy *p,
                                   const char *pem, size_t len,
                                   struct amaters_principal *out, char *why,
                                   size_t whylen);

#endif
