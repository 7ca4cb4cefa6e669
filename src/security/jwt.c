/*
 * jwt.c - amaters_jwt_verify(): splits the compact JWS, decodes and
 * checks the header, verifies the signature (jwt_key.c), then decodes the
 * claims, checks time, issuer and audience, and builds the principal.
 * The order matters: nothing in the payload is looked at before the
 * signature is known to be good.
 */
#include "security/jwt.h"

#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/alloc.h"
#include "core/errors.h"

/* Most members a header or claims object may have. */
#define JWT_MAX_MEMBERS 64

/* Largest |NumericDate| accepted (far beyond any real date). */
#define JWT_MAX_TIME 1e15

/* Parses len bytes of JSON that must be a single object with distinct,
 * bounded member names. Returns NULL otherwise. */
static cJSON *parse_object(const unsigned char *buf, size_t len)
{
    const char *end = NULL;
    cJSON *obj;
    size_t n = 0;

    obj = cJSON_ParseWithLengthOpts((const char *)buf, len, &end, false);
    if (obj == NULL)
        return NULL;
    while (end != NULL && end < (const char *)buf + len &&
           (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (!cJSON_IsObject(obj) || end != (const char *)buf + len)
        goto bad;
    for (const cJSON *a = obj->child; a != NULL; a = a->next) {
        if (++n > JWT_MAX_MEMBERS || a->string == NULL)
            goto bad;
        for (const cJSON *b = obj->child; b != a; b = b->next)
            if (strcmp(a->string, b->string) == 0)
                goto bad;
    }
    return obj;
bad:
    cJSON_Delete(obj);
    return NULL;
}

/* Decodes one base64url part and parses it as a JSON object. */
static cJSON *decode_part(const char *p, size_t len)
{
    unsigned char *raw = NULL;
    size_t rawlen = 0;
    cJSON *obj;

    if (len == 0 || amaters_sec_b64url_decode(p, len, &raw, &rawlen) != 0)
        return NULL;
    obj = parse_object(raw, rawlen);
    amaters_free(raw);
    return obj;
}

/* Checks the header: alg must be the configured one, typ a string when
 * present, no crit. Returns 0 or AMATERS_EAUTH with why set. */
static int check_header(const struct amaters_jwt_config *cfg,
                        const cJSON *hdr, char *why, size_t whylen)
{
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
    const cJSON *typ = cJSON_GetObjectItemCaseSensitive(hdr, "typ");

    if (!cJSON_IsString(alg) ||
        (typ != NULL && !cJSON_IsString(typ)) ||
        cJSON_GetObjectItemCaseSensitive(hdr, "crit") != NULL) {
        amaters_sec_why(why, whylen, "malformed token");
        return AMATERS_EAUTH;
    }
    if (strcmp(alg->valuestring, amaters_jwt_alg_name(cfg->alg)) != 0) {
        amaters_sec_why(why, whylen, "algorithm mismatch");
        return AMATERS_EAUTH;
    }
    return 0;
}

/* Reads an optional NumericDate claim. Returns 0 (present: *has set),
 * or AMATERS_EAUTH when it is not a finite number in range. */
static int numeric_date(const cJSON *claims, const char *name, bool *has,
                        int64_t *val)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(claims, name);

    *has = false;
    if (c == NULL)
        return 0;
    if (!cJSON_IsNumber(c) || !isfinite(c->valuedouble) ||
        fabs(c->valuedouble) > JWT_MAX_TIME)
        return AMATERS_EAUTH;
    *has = true;
    *val = (int64_t)floor(c->valuedouble);
    return 0;
}

static const char *check_times(const struct amaters_jwt_config *cfg,
                               const cJSON *claims, int64_t now)
{
    int64_t exp = 0, nbf = 0, iat = 0;
    bool has_exp, has_nbf, has_iat;
    int64_t lw = cfg->leeway_secs;

    if (numeric_date(claims, "exp", &has_exp, &exp) != 0 ||
        numeric_date(claims, "nbf", &has_nbf, &nbf) != 0 ||
        numeric_date(claims, "iat", &has_iat, &iat) != 0)
        return "malformed token";
    if (!has_exp && cfg->require_exp)
        return "missing expiry";
    if (has_exp && now >= exp + lw)
        return "token expired";
    if (has_nbf && now + lw < nbf)
        return "token not yet valid";
    if (has_iat && iat > now + lw)
        return "token issued in the future";
    if (has_exp && has_iat && cfg->max_lifetime_secs > 0 &&
        exp - iat > cfg->max_lifetime_secs + lw)
        return "token lifetime exceeds auth.jwt.expiration_secs";
    return NULL;
}

static const char *check_iss_aud(const struct amaters_jwt_config *cfg,
                                 const cJSON *claims)
{
    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(claims, "iss");
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");
    bool found = false;

    if (cfg->issuer != NULL &&
        (!cJSON_IsString(iss) || strcmp(iss->valuestring, cfg->issuer) != 0))
        return "wrong issuer";
    if (cfg->audience == NULL)
        return NULL;
    if (cJSON_IsString(aud)) {
        found = strcmp(aud->valuestring, cfg->audience) == 0;
    } else if (cJSON_IsArray(aud)) {
        for (const cJSON *a = aud->child; a != NULL; a = a->next)
            if (cJSON_IsString(a) &&
                strcmp(a->valuestring, cfg->audience) == 0)
                found = true;
    }
    return found ? NULL : "wrong audience";
}

/* Fills out from sub and roles. Returns 0, AMATERS_EAUTH (why set) or
 * AMATERS_ENOMEM. */
static int make_principal(const cJSON *claims, struct amaters_principal *out,
                          char *why, size_t whylen)
{
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(claims, "sub");
    const cJSON *roles = cJSON_GetObjectItemCaseSensitive(claims, "roles");
    int rv = 0;

    if (!cJSON_IsString(sub) || sub->valuestring[0] == '\0') {
        amaters_sec_why(why, whylen, "missing subject");
        return AMATERS_EAUTH;
    }
    out->method = "jwt";
    out->subject = amaters_strdup(sub->valuestring);
    if (out->subject == NULL)
        return AMATERS_ENOMEM;
    if (cJSON_IsString(roles)) {
        rv = amaters_principal_add_role(out, roles->valuestring,
                                        strlen(roles->valuestring));
    } else if (cJSON_IsArray(roles)) {
        for (const cJSON *r = roles->child; r != NULL && rv == 0; r = r->next)
            rv = cJSON_IsString(r)
                     ? amaters_principal_add_role(out, r->valuestring,
                                                  strlen(r->valuestring))
                     : AMATERS_EINVAL;
    } else if (roles != NULL && !cJSON_IsNull(roles)) {
        rv = AMATERS_EINVAL;
    }
    if (rv == AMATERS_ENOMEM)
        return rv;
    if (rv != 0) {
        amaters_sec_why(why, whylen, "malformed roles claim");
        return AMATERS_EAUTH;
    }
    return 0;
}

/* Decodes and checks the signature of "header.payload". */
static int check_sig_part(const struct amaters_jwt_config *cfg,
                          const char *token, size_t signed_len,
                          const char *sig64, size_t sig64_len)
{
    unsigned char *sig = NULL;
    size_t siglen = 0;
    int rv;

    if (amaters_sec_b64url_decode(sig64, sig64_len, &sig, &siglen) != 0)
        return AMATERS_EPARSE;
    rv = amaters_jwt_check_signature(cfg, token, signed_len, sig, siglen);
    amaters_free(sig);
    return rv;
}

int amaters_jwt_verify(const struct amaters_jwt_config *cfg,
                       const char *token, int64_t now,
                       struct amaters_principal *out, char *why,
                       size_t whylen)
{
    const char *dot1, *dot2, *end;
    cJSON *hdr = NULL, *claims = NULL;
    const char *msg = "malformed token";
    size_t len;
    int rv = AMATERS_EAUTH;

    if (out == NULL)
        return AMATERS_EINVAL;
    memset(out, 0, sizeof *out);
    if (cfg == NULL || token == NULL)
        return AMATERS_EINVAL;
    len = strnlen(token, AMATERS_JWT_MAX_TOKEN + 1);
    if (len > AMATERS_JWT_MAX_TOKEN)
        goto fail;
    end = token + len;
    dot1 = memchr(token, '.', len);
    dot2 = dot1 == NULL ? NULL
                        : memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1));
    if (dot2 == NULL || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)) != NULL)
        goto fail;
    hdr = decode_part(token, (size_t)(dot1 - token));
    if (hdr == NULL)
        goto fail;
    if (check_header(cfg, hdr, why, whylen) != 0)
        goto out;
    rv = check_sig_part(cfg, token, (size_t)(dot2 - token), dot2 + 1,
                        (size_t)(end - dot2 - 1));
    if (rv != 0) {
        msg = rv == AMATERS_EPARSE ? "malformed token" : "bad signature";
        rv = AMATERS_EAUTH;
        goto fail;
    }
    rv = AMATERS_EAUTH;
    claims = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (claims == NULL)
        goto fail;
    msg = check_times(cfg, claims, now);
    if (msg == NULL)
        msg = check_iss_aud(cfg, claims);
    if (msg != NULL)
        goto fail;
    rv = make_principal(claims, out, why, whylen);
    goto out;
fail:
    amaters_sec_why(why, whylen, msg);
out:
    if (rv != 0)
        amaters_principal_free(out);
    cJSON_Delete(hdr);
    cJSON_Delete(claims);
    return rv;
}
