/*
 * jwt.h - verification of JSON Web Tokens (RFC 7519) presented as
 * "authorization: Bearer <token>".
 *
 * Only the compact JWS form is accepted, signed with the one algorithm the
 * server is configured for: HS256/384/512 (HMAC with a shared secret),
 * RS256/384/512 (RSA PKCS#1 v1.5), ES256/ES384 (ECDSA on P-256/P-384 with
 * the JOSE r||s signature) or EdDSA (Ed25519). The token's "alg" header
 * must equal the configured algorithm, so "none" and algorithm confusion
 * (an HS256 token "signed" with the RSA public key as secret) are refused
 * before any signature is checked. Decoding is strict: unpadded base64url
 * only, a JSON object per part with no duplicate names, no "crit" header.
 * Claims checked: exp (required unless require_exp is false), nbf and iat
 * (not in the future beyond the leeway), iss and aud when configured.
 * The principal gets "sub" as subject and the "roles" claim (an array of
 * strings or one string) as roles.
 *
 * Failure messages (the why buffer) say what was wrong and never contain
 * the secret, the key or the token: "malformed token", "algorithm
 * mismatch", "bad signature", "token expired", "token not yet valid",
 * "token issued in the future", "wrong issuer", "wrong audience",
 * "missing subject", "missing expiry".
 *
 * Threads: a struct amaters_jwt_config is built on one thread and is then
 * read-only; any number of threads may call amaters_jwt_verify() with it
 * concurrently (OpenSSL EVP_PKEY objects are safe for concurrent
 * verification). Replacing the configuration (key rotation) means building
 * a new one and swapping the pointer the request path uses; freeing the old
 * one only after no verification can still use it.
 */
#ifndef AMATERS_SECURITY_JWT_H
#define AMATERS_SECURITY_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "config/config.h"
#include "security/secutil.h"

/* Longest token accepted, in bytes (the whole compact form). */
#define AMATERS_JWT_MAX_TOKEN 8192

/*
 * How tokens are verified. Filled by amaters_jwt_config_init() or
 * amaters_jwt_config_load(); owns secret (wiped on free), pkey, issuer and
 * audience. issuer / audience NULL or "" means "not checked".
 */
struct amaters_jwt_config {
    enum amaters_jwt_algorithm alg;
    unsigned char *secret; /* HS* only */
    size_t secret_len;
    EVP_PKEY *pkey; /* RS*, ES*, EdDSA only: the public key */
    char *issuer;
    char *audience;
    int64_t leeway_secs; /* clock skew allowed on exp, nbf and iat */
    bool require_exp;    /* tokens without "exp" are refused (default) */
    /* Longest lifetime accepted (auth.jwt.expiration_secs): exp - iat
     * may not exceed it (plus leeway); tokens without iat are not
     * limited; 0 = any. */
    int64_t max_lifetime_secs;
};

/*
 * Fills cfg for algorithm alg. For HS* pass the secret (secret_len > 0
 * bytes; pem must be NULL); for the others pass pem (pem_len bytes of a
 * PEM "PUBLIC KEY" or "CERTIFICATE") whose key type must fit alg: RSA of at
 * least 2048 bits for RS*, EC P-256 for ES256, EC P-384 for ES384, Ed25519
 * for EdDSA. issuer and audience may be NULL. leeway_secs is clamped to
 * 0..10^9. require_exp starts true.
 * cfg's previous contents are overwritten, not freed. Returns 0,
 * AMATERS_ECONFIG with err saying what is wrong (never quoting the secret),
 * or AMATERS_ENOMEM; on failure cfg is zeroed. Free with
 * amaters_jwt_config_free().
 */
int amaters_jwt_config_init(struct amaters_jwt_config *cfg,
                            enum amaters_jwt_algorithm alg,
                            const void *secret, size_t secret_len,
                            const char *pem, size_t pem_len,
                            const char *issuer, const char *audience,
                            int64_t leeway_secs, char *err, size_t errlen);

/*
 * Fills cfg from the [auth.jwt] section: algorithm_id, secret (HS*),
 * public_key_path (read from disk, others), issuer, audience, leeway_secs.
 * Errors as amaters_jwt_config_init(); an unreadable key file gives
 * AMATERS_EIO with err naming the path.
 */
int amaters_jwt_config_load(struct amaters_jwt_config *cfg,
                            const struct amaters_config_auth_jwt *jc,
                            char *err, size_t errlen);

/* Releases what cfg owns (the secret is wiped) and zeroes it. Safe on a
 * zeroed config. */
void amaters_jwt_config_free(struct amaters_jwt_config *cfg);

/* Returns the JOSE name of alg ("HS256", ..., "EdDSA"). */
const char *amaters_jwt_alg_name(enum amaters_jwt_algorithm alg);

/*
 * Verifies token (NUL-terminated compact JWS, without "Bearer ") at unix
 * time now. On success returns 0 and fills *out (the caller frees it with
 * amaters_principal_free(); method is "jwt"). On failure returns
 * AMATERS_EAUTH with a short reason in why (see the file comment),
 * AMATERS_EINVAL for NULL arguments or AMATERS_ENOMEM; *out is then
 * zeroed.
 */
int amaters_jwt_verify(const struct amaters_jwt_config *cfg,
                       const char *token, int64_t now,
                       struct amaters_principal *out, char *why,
                       size_t whylen);

/*
 * Checks sig (siglen bytes, already base64url-decoded) over data (len
 * bytes) with cfg's algorithm and key. Returns 0 when valid, AMATERS_EAUTH
 * when not. Used by amaters_jwt_verify(); exposed for tests.
 */
int amaters_jwt_check_signature(const struct amaters_jwt_config *cfg,
                                const void *data, size_t len,
                                const unsigned char *sig, size_t siglen);

#endif
