/*
 * jwt_key.c - the verification side of JWT cryptography: building a
 * struct amaters_jwt_config (secret or PEM public key, checked against
 * the algorithm) and checking a signature with OpenSSL EVP. OpenSSL
 * errors are turned into AMATERS_E* codes here and its error queue is
 * cleared so that nothing leaks to other code on the thread.
 */
#include "security/jwt.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/alloc.h"
#include "core/errors.h"

/* Leeway is clamped to [0, JWT_MAX_LEEWAY] seconds (no overflow). */
#define JWT_MAX_LEEWAY 1000000000LL

/* Largest PEM key file read by amaters_jwt_config_load(). */
#define JWT_MAX_PEM (64u * 1024u)

struct alg_info {
    const char *name;
    int family; /* 'H' HMAC, 'R' RSA, 'E' ECDSA, 'D' EdDSA */
    const char *digest;
    const char *group;  /* ECDSA: OpenSSL group name */
    size_t coord_bytes; /* ECDSA: bytes of r and of s */
};

static const struct alg_info algs[] = {
    [AMATERS_JWT_HS256] = {"HS256", 'H', "SHA256", NULL, 0},
    [AMATERS_JWT_HS384] = {"HS384", 'H', "SHA384", NULL, 0},
    [AMATERS_JWT_HS512] = {"HS512", 'H', "SHA512", NULL, 0},
    [AMATERS_JWT_RS256] = {"RS256", 'R', "SHA256", NULL, 0},
    [AMATERS_JWT_RS384] = {"RS384", 'R', "SHA384", NULL, 0},
    [AMATERS_JWT_RS512] = {"RS512", 'R', "SHA512", NULL, 0},
    [AMATERS_JWT_ES256] = {"ES256", 'E', "SHA256", "prime256v1", 32},
    [AMATERS_JWT_ES384] = {"ES384", 'E', "SHA384", "secp384r1", 48},
    [AMATERS_JWT_EDDSA] = {"EdDSA", 'D', NULL, NULL, 0},
};

static const struct alg_info *alg_info(enum amaters_jwt_algorithm alg)
{
    if ((unsigned)alg >= sizeof algs / sizeof algs[0])
        return NULL;
    return &algs[alg];
}

const char *amaters_jwt_alg_name(enum amaters_jwt_algorithm alg)
{
    const struct alg_info *ai = alg_info(alg);
    return ai == NULL ? "unknown" : ai->name;
}

void amaters_jwt_config_free(struct amaters_jwt_config *cfg)
{
    if (cfg == NULL)
        return;
    if (cfg->secret != NULL)
        amaters_free_secret(cfg->secret, cfg->secret_len);
    EVP_PKEY_free(cfg->pkey);
    amaters_free(cfg->issuer);
    amaters_free(cfg->audience);
    memset(cfg, 0, sizeof *cfg);
}

/* Parses a PEM public key or certificate. Returns NULL when neither. */
static EVP_PKEY *parse_pem(const char *pem, size_t len)
{
    BIO *bio;
    EVP_PKEY *pkey;
    X509 *cert;

    if (len > JWT_MAX_PEM)
        return NULL;
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL)
        return NULL;
    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (pkey == NULL) {
        (void)BIO_reset(bio);
        cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (cert != NULL) {
            pkey = X509_get_pubkey(cert);
            X509_free(cert);
        }
    }
    BIO_free(bio);
    ERR_clear_error();
    return pkey;
}

/* Checks that pkey's type fits ai. Returns 0 or AMATERS_ECONFIG. */
static int check_key_type(const struct alg_info *ai, EVP_PKEY *pkey,
                          char *err, size_t errlen)
{
    char group[64] = "";
    size_t glen = 0;

    switch (ai->family) {
    case 'R':
        if (!EVP_PKEY_is_a(pkey, "RSA")) {
            snprintf(err, errlen, "%s needs an RSA public key", ai->name);
            return AMATERS_ECONFIG;
        }
        if (EVP_PKEY_get_bits(pkey) < 2048) {
            snprintf(err, errlen, "%s: RSA key of %d bits, need >= 2048",
                     ai->name, EVP_PKEY_get_bits(pkey));
            return AMATERS_ECONFIG;
        }
        return 0;
    case 'E':
        if (!EVP_PKEY_is_a(pkey, "EC") ||
            EVP_PKEY_get_group_name(pkey, group, sizeof group, &glen) != 1 ||
            strcmp(group, ai->group) != 0) {
            ERR_clear_error();
            snprintf(err, errlen, "%s needs an EC public key on %s",
                     ai->name, ai->coord_bytes == 32 ? "P-256" : "P-384");
            return AMATERS_ECONFIG;
        }
        return 0;
    default:
        if (!EVP_PKEY_is_a(pkey, "ED25519")) {
            snprintf(err, errlen, "EdDSA needs an Ed25519 public key");
            return AMATERS_ECONFIG;
        }
        return 0;
    }
}

static int set_claim_string(char **dst, const char *src)
{
    if (src == NULL || src[0] == '\0')
        return 0;
    *dst = amaters_strdup(src);
    return *dst == NULL ? AMATERS_ENOMEM : 0;
}

int amaters_jwt_config_init(struct amaters_jwt_config *cfg,
                            enum amaters_jwt_algorithm alg,
                            const void *secret, size_t secret_len,
                            const char *pem, size_t pem_len,
                            const char *issuer, const char *audience,
                            int64_t leeway_secs, char *err, size_t errlen)
{
    const struct alg_info *ai = alg_info(alg);
    int rv = 0;

    memset(cfg, 0, sizeof *cfg);
    cfg->alg = alg;
    cfg->leeway_secs = leeway_secs < 0             ? 0
                       : leeway_secs > JWT_MAX_LEEWAY ? JWT_MAX_LEEWAY
                                                      : leeway_secs;
    cfg->require_exp = true;
    if (ai == NULL) {
        snprintf(err, errlen, "unknown JWT algorithm %d", (int)alg);
        rv = AMATERS_ECONFIG;
        goto fail;
    }
    if (ai->family == 'H') {
        if (secret == NULL || secret_len == 0) {
            snprintf(err, errlen, "%s needs a non-empty secret", ai->name);
            rv = AMATERS_ECONFIG;
            goto fail;
        }
        cfg->secret = amaters_memdup(secret, secret_len);
        if (cfg->secret == NULL) {
            rv = AMATERS_ENOMEM;
            goto fail;
        }
        cfg->secret_len = secret_len;
    } else {
        if (pem == NULL || pem_len == 0) {
            snprintf(err, errlen, "%s needs a public key", ai->name);
            rv = AMATERS_ECONFIG;
            goto fail;
        }
        cfg->pkey = parse_pem(pem, pem_len);
        if (cfg->pkey == NULL) {
            snprintf(err, errlen, "%s: not a PEM public key or certificate",
                     ai->name);
            rv = AMATERS_ECONFIG;
            goto fail;
        }
        rv = check_key_type(ai, cfg->pkey, err, errlen);
        if (rv != 0)
            goto fail;
    }
    rv = set_claim_string(&cfg->issuer, issuer);
    if (rv == 0)
        rv = set_claim_string(&cfg->audience, audience);
    if (rv != 0)
        goto fail;
    return 0;
fail:
    amaters_jwt_config_free(cfg);
    return rv;
}

int amaters_jwt_config_load(struct amaters_jwt_config *cfg,
                            const struct amaters_config_auth_jwt *jc,
                            char *err, size_t errlen)
{
    const struct alg_info *ai = alg_info(jc->algorithm_id);
    const char *secret = jc->secret != NULL ? jc->secret : "";
    char *pem = NULL;
    size_t pem_len = 0;
    char sub[256];
    int rv;

    memset(cfg, 0, sizeof *cfg);
    if (ai != NULL && ai->family != 'H') {
        if (jc->public_key_path == NULL || jc->public_key_path[0] == '\0') {
            snprintf(err, errlen, "auth.jwt.public_key_path: required for %s",
                     ai->name);
            return AMATERS_ECONFIG;
        }
        rv = amaters_sec_read_file(jc->public_key_path, JWT_MAX_PEM, &pem,
                                   &pem_len, err, errlen);
        if (rv != 0)
            return rv;
    }
    rv = amaters_jwt_config_init(cfg, jc->algorithm_id, secret,
                                 strlen(secret), pem, pem_len, jc->issuer,
                                 jc->audience, jc->leeway_secs, sub,
                                 sizeof sub);
    if (rv == 0)
        cfg->max_lifetime_secs = jc->expiration_secs;
    if (rv == AMATERS_ECONFIG && pem != NULL)
        snprintf(err, errlen, "%s: %s", jc->public_key_path, sub);
    else if (rv == AMATERS_ECONFIG)
        snprintf(err, errlen, "auth.jwt: %s", sub);
    amaters_free(pem);
    return rv;
}

static int check_hmac(const struct amaters_jwt_config *cfg,
                      const struct alg_info *ai, const void *data,
                      size_t len, const unsigned char *sig, size_t siglen)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    const EVP_MD *md = EVP_get_digestbyname(ai->digest);
    int rv = AMATERS_EAUTH;

    if (md == NULL || cfg->secret_len > (size_t)INT32_MAX)
        return AMATERS_EAUTH;
    if (HMAC(md, cfg->secret, (int)cfg->secret_len, data, len, mac,
             &maclen) == NULL)
        goto out;
    if (siglen == maclen && CRYPTO_memcmp(mac, sig, maclen) == 0)
        rv = 0;
out:
    OPENSSL_cleanse(mac, sizeof mac);
    return rv;
}

/* Converts a JOSE r||s ECDSA signature into DER. Returns its length, or 0.
 * The caller frees *der with OPENSSL_free. */
static size_t ecdsa_raw_to_der(const unsigned char *sig, size_t coord,
                               unsigned char **der)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)coord, NULL);
    BIGNUM *s = BN_bin2bn(sig + coord, (int)coord, NULL);
    int n = 0;

    *der = NULL;
    if (es == NULL || r == NULL || s == NULL ||
        ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        goto out;
    }
    n = i2d_ECDSA_SIG(es, der);
out:
    ECDSA_SIG_free(es);
    return n > 0 ? (size_t)n : 0;
}

static int check_pkey(const struct amaters_jwt_config *cfg,
                      const struct alg_info *ai, const void *data,
                      size_t len, const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *ctx = NULL;
    const EVP_MD *md = NULL;
    unsigned char *der = NULL;
    int rv = AMATERS_EAUTH;

    if (cfg->pkey == NULL)
        return AMATERS_EAUTH;
    if (ai->family == 'E') {
        if (siglen != 2 * ai->coord_bytes)
            return AMATERS_EAUTH;
        siglen = ecdsa_raw_to_der(sig, ai->coord_bytes, &der);
        if (siglen == 0)
            goto out;
        sig = der;
    }
    if (ai->digest != NULL) {
        md = EVP_get_digestbyname(ai->digest);
        if (md == NULL)
            goto out;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL ||
        EVP_DigestVerifyInit(ctx, NULL, md, NULL, cfg->pkey) != 1)
        goto out;
    if (EVP_DigestVerify(ctx, sig, siglen, data, len) == 1)
        rv = 0;
out:
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ERR_clear_error();
    return rv;
}

int amaters_jwt_check_signature(const struct amaters_jwt_config *cfg,
                                const void *data, size_t len,
                                const unsigned char *sig, size_t siglen)
{
    const struct alg_info *ai = alg_info(cfg->alg);

    if (ai == NULL)
        return AMATERS_EAUTH;
    if (ai->family == 'H')
        return check_hmac(cfg, ai, data, len, sig, siglen);
    return check_pkey(cfg, ai, data, len, sig, siglen);
}
