/*
 * apikey.c - loading the API keys file and verifying presented keys in
 * constant time (see apikey.h).
 */
#include "security/apikey.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "core/alloc.h"
#include "core/errors.h"

#define HASH_BYTES 32

/* One key. Immutable after load. */
struct apikey_entry {
    char *id;
    char *user_id;
    char **roles;
    size_t nroles;
    unsigned char hash[HASH_BYTES];
    bool has_expiry;
    int64_t expires_at;
};

/* The loaded keys file. Immutable after load. */
struct amaters_apikey_store {
    struct apikey_entry *entries;
    size_t count;
    unsigned char *secret;
    size_t secret_len;
    bool plain; /* key_hash holds the key itself (hash_keys = false) */
};

static void entry_free(struct apikey_entry *e)
{
    amaters_free(e->id);
    amaters_free(e->user_id);
    for (size_t i = 0; i < e->nroles; i++)
        amaters_free(e->roles[i]);
    amaters_free(e->roles);
}

void amaters_apikey_store_free(struct amaters_apikey_store *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->count; i++)
        entry_free(&s->entries[i]);
    amaters_free(s->entries);
    if (s->secret != NULL)
        amaters_free_secret(s->secret, s->secret_len);
    amaters_free(s);
}

size_t amaters_apikey_store_count(const struct amaters_apikey_store *s)
{
    return s == NULL ? 0 : s->count;
}

/* Returns the member's string, or NULL when absent or not a non-empty
 * string. */
static const char *get_string(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
        return NULL;
    return v->valuestring;
}

static int load_roles(struct apikey_entry *e, const cJSON *roles,
                      const char **what)
{
    size_t n;
    size_t i = 0;

    if (roles == NULL)
        return 0;
    if (!cJSON_IsArray(roles)) {
        *what = "roles: expected an array of strings";
        return AMATERS_ECONFIG;
    }
    n = (size_t)cJSON_GetArraySize(roles);
    if (n > AMATERS_PRINCIPAL_MAX_ROLES) {
        *what = "roles: too many roles";
        return AMATERS_ECONFIG;
    }
    e->roles = amaters_calloc(n + 1, sizeof *e->roles);
    if (e->roles == NULL)
        return AMATERS_ENOMEM;
    for (const cJSON *r = roles->child; r != NULL; r = r->next) {
        if (!cJSON_IsString(r) || r->valuestring[0] == '\0' ||
            strlen(r->valuestring) > AMATERS_PRINCIPAL_MAX_ROLE_LEN) {
            *what = "roles: expected an array of role names";
            return AMATERS_ECONFIG;
        }
        e->roles[i] = amaters_strdup(r->valuestring);
        if (e->roles[i] == NULL)
            return AMATERS_ENOMEM;
        e->nroles = ++i;
    }
    return 0;
}

static int load_expiry(struct apikey_entry *e, const cJSON *item,
                       const char **what)
{
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(item, "attributes");
    const cJSON *exp;

    if (attrs == NULL || cJSON_IsNull(attrs))
        return 0;
    if (!cJSON_IsObject(attrs)) {
        *what = "attributes: expected an object";
        return AMATERS_ECONFIG;
    }
    exp = cJSON_GetObjectItemCaseSensitive(attrs, "expires_at");
    if (exp == NULL || cJSON_IsNull(exp))
        return 0;
    if (!cJSON_IsString(exp) ||
        amaters_sec_parse_rfc3339(exp->valuestring, &e->expires_at) != 0) {
        *what = "attributes.expires_at: expected an RFC 3339 time";
        return AMATERS_ECONFIG;
    }
    e->has_expiry = true;
    return 0;
}

/* Fills e from item. On AMATERS_ECONFIG *what says what is wrong. */
static int hash_key(const void *secret, size_t secret_len, const char *key,
                    size_t keylen, unsigned char md[HASH_BYTES]);

static int load_entry(struct apikey_entry *e, const cJSON *item, bool plain,
                      const char **what)
{
    const char *id = get_string(item, "id");
    const char *hash = get_string(item, "key_hash");
    const char *user = get_string(item, "user_id");
    int rv;

    if (!cJSON_IsObject(item)) {
        *what = "expected an object";
        return AMATERS_ECONFIG;
    }
    if (id == NULL || hash == NULL || user == NULL) {
        *what = id == NULL     ? "id: required non-empty string"
                : hash == NULL ? "key_hash: required non-empty string"
                               : "user_id: required non-empty string";
        return AMATERS_ECONFIG;
    }
    if (plain) {
        /* hash_keys = false: the file holds the key; keep only its
         * SHA-256, compared like the original's hashed form. */
        if (hash_key(NULL, 0, hash, strlen(hash), e->hash) != 0)
            return AMATERS_EINTERNAL;
    } else if (amaters_sec_b64_decode_exact(hash, strlen(hash), e->hash,
                                            HASH_BYTES) != 0) {
        *what = "key_hash: not base64 of 32 bytes";
        return AMATERS_ECONFIG;
    }
    e->id = amaters_strdup(id);
    e->user_id = amaters_strdup(user);
    if (e->id == NULL || e->user_id == NULL)
        return AMATERS_ENOMEM;
    rv = load_roles(e, cJSON_GetObjectItemCaseSensitive(item, "roles"), what);
    if (rv == 0)
        rv = load_expiry(e, item, what);
    return rv;
}

/* Rejects an entry whose id or hash repeats an earlier one. */
static const char *check_unique(const struct amaters_apikey_store *s,
                                size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (strcmp(s->entries[j].id, s->entries[i].id) == 0)
            return "id: duplicate of an earlier entry";
        if (memcmp(s->entries[j].hash, s->entries[i].hash, HASH_BYTES) == 0)
            return "key_hash: duplicate of an earlier entry";
    }
    return NULL;
}

static int load_entries(struct amaters_apikey_store *s, const cJSON *root,
                        const char *name, char *err, size_t errlen)
{
    const char *what = NULL;
    size_t n = (size_t)cJSON_GetArraySize(root);
    const cJSON *item = root->child;
    int rv = 0;

    s->entries = amaters_calloc(n + 1, sizeof *s->entries);
    if (s->entries == NULL)
        return AMATERS_ENOMEM;
    for (size_t i = 0; i < n && item != NULL; i++, item = item->next) {
        s->count = i + 1;
        rv = load_entry(&s->entries[i], item, s->plain, &what);
        if (rv == 0) {
            what = check_unique(s, i);
            rv = what != NULL ? AMATERS_ECONFIG : 0;
        }
        if (rv == AMATERS_ECONFIG) {
            const char *id = get_string(item, "id");
            if (id != NULL)
                snprintf(err, errlen, "%s: entry %zu (id \"%.64s\"): %s",
                         name, i, id, what);
            else
                snprintf(err, errlen, "%s: entry %zu: %s", name, i, what);
        }
        if (rv != 0)
            return rv;
    }
    return 0;
}

/* Set by amaters_apikey_store_load_plain for the load it makes. */
static _Thread_local bool plain_next;

int amaters_apikey_store_load_buffer(struct amaters_apikey_store **out,
                                     const char *text, size_t len,
                                     const char *name, const void *secret,
                                     size_t secret_len, char *err,
                                     size_t errlen)
{
    struct amaters_apikey_store *s;
    cJSON *root = NULL;
    int rv;

    *out = NULL;
    if (name == NULL)
        name = "<string>";
    s = amaters_calloc(1, sizeof *s);
    if (s == NULL)
        return AMATERS_ENOMEM;
    s->plain = plain_next;
    plain_next = false;
    if (secret != NULL && secret_len > 0 && !s->plain) {
        s->secret = amaters_memdup(secret, secret_len);
        if (s->secret == NULL) {
            rv = AMATERS_ENOMEM;
            goto fail;
        }
        s->secret_len = secret_len;
    }
    root = cJSON_ParseWithLength(text, len);
    if (root == NULL) {
        snprintf(err, errlen, "%s: not valid JSON", name);
        rv = AMATERS_EPARSE;
        goto fail;
    }
    if (!cJSON_IsArray(root)) {
        snprintf(err, errlen, "%s: expected a JSON array of keys", name);
        rv = AMATERS_ECONFIG;
        goto fail;
    }
    rv = load_entries(s, root, name, err, errlen);
    if (rv != 0)
        goto fail;
    cJSON_Delete(root);
    *out = s;
    return 0;
fail:
    cJSON_Delete(root);
    amaters_apikey_store_free(s);
    return rv;
}

int amaters_apikey_store_load(struct amaters_apikey_store **out,
                              const char *path, const void *secret,
                              size_t secret_len, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rv;

    *out = NULL;
    rv = amaters_sec_read_file(path, AMATERS_APIKEY_MAX_FILE, &text, &len,
                               err, errlen);
    if (rv != 0)
        return rv;
    rv = amaters_apikey_store_load_buffer(out, text, len, path, secret,
                                          secret_len, err, errlen);
    amaters_free(text);
    return rv;
}

int amaters_apikey_store_load_plain(struct amaters_apikey_store **out,
                                    const char *path, char *err,
                                    size_t errlen)
{
    plain_next = true;
    int rv = amaters_apikey_store_load(out, path, NULL, 0, err, errlen);
    plain_next = false;
    return rv;
}

/* Computes HMAC-SHA-256(secret, key) or SHA-256(key) into md. */
static int hash_key(const void *secret, size_t secret_len, const char *key,
                    size_t keylen, unsigned char md[HASH_BYTES])
{
    unsigned int mdlen = 0;

    if (secret_len == 0)
        return SHA256((const unsigned char *)key, keylen, md) == NULL
                   ? AMATERS_EINTERNAL
                   : 0;
    if (secret_len > (size_t)INT32_MAX ||
        HMAC(EVP_sha256(), secret, (int)secret_len,
             (const unsigned char *)key, keylen, md, &mdlen) == NULL ||
        mdlen != HASH_BYTES)
        return AMATERS_EINTERNAL;
    return 0;
}

int amaters_apikey_hash(const void *secret, size_t secret_len,
                        const char *key, char *out, size_t outlen)
{
    unsigned char md[HASH_BYTES];
    size_t keylen;
    int rv;

    if (key == NULL || out == NULL || outlen < AMATERS_APIKEY_HASH_LEN)
        return AMATERS_EINVAL;
    keylen = strnlen(key, AMATERS_APIKEY_MAX_KEY + 1);
    if (keylen == 0 || keylen > AMATERS_APIKEY_MAX_KEY)
        return AMATERS_EINVAL;
    rv = hash_key(secret, secret == NULL ? 0 : secret_len, key, keylen, md);
    if (rv == 0)
        rv = amaters_sec_b64_encode(md, HASH_BYTES, out, outlen);
    OPENSSL_cleanse(md, sizeof md);
    return rv;
}

/* Index of the first entry matching either hash, visiting every entry
 * without branching on the comparison results; s->count when none. */
static size_t find_entry(const struct amaters_apikey_store *s,
                         const unsigned char *mac, const unsigned char *sha)
{
    size_t found = s->count;
    size_t have = 0;

    for (size_t i = 0; i < s->count; i++) {
        size_t m1 = (size_t)(CRYPTO_memcmp(s->entries[i].hash, sha,
                                           HASH_BYTES) == 0);
        size_t m2 = mac == NULL ? 0
                                : (size_t)(CRYPTO_memcmp(s->entries[i].hash,
                                                         mac, HASH_BYTES) == 0);
        size_t take = (m1 | m2) & (have ^ 1u);
        size_t mask = (size_t)0 - take;
        found = (found & ~mask) | (i & mask);
        have |= take;
    }
    return found;
}

static int fill_principal(const struct apikey_entry *e,
                          struct amaters_principal *out)
{
    int rv = 0;

    out->method = "api_key";
    out->subject = amaters_strdup(e->user_id);
    if (out->subject == NULL)
        return AMATERS_ENOMEM;
    for (size_t i = 0; i < e->nroles && rv == 0; i++)
        rv = amaters_principal_add_role(out, e->roles[i],
                                        strlen(e->roles[i]));
    return rv;
}

int amaters_apikey_verify(const struct amaters_apikey_store *s,
                          const char *presented, int64_t now,
                          struct amaters_principal *out, char *why,
                          size_t whylen)
{
    unsigned char mac[HASH_BYTES], sha[HASH_BYTES];
    size_t keylen;
    size_t idx;
    int rv = AMATERS_EAUTH;

    if (out == NULL)
        return AMATERS_EINVAL;
    memset(out, 0, sizeof *out);
    if (s == NULL || presented == NULL)
        return AMATERS_EINVAL;
    keylen = strnlen(presented, AMATERS_APIKEY_MAX_KEY + 1);
    if (keylen == 0) {
        amaters_sec_why(why, whylen, "missing API key");
        return AMATERS_EAUTH;
    }
    if (keylen > AMATERS_APIKEY_MAX_KEY) {
        amaters_sec_why(why, whylen, "unknown API key");
        return AMATERS_EAUTH;
    }
    if (hash_key(NULL, 0, presented, keylen, sha) != 0 ||
        (s->secret_len > 0 &&
         hash_key(s->secret, s->secret_len, presented, keylen, mac) != 0)) {
        rv = AMATERS_EINTERNAL;
        goto out;
    }
    idx = find_entry(s, s->secret_len > 0 ? mac : NULL, sha);
    if (idx == s->count) {
        amaters_sec_why(why, whylen, "unknown API key");
        goto out;
    }
    if (s->entries[idx].has_expiry && now >= s->entries[idx].expires_at) {
        amaters_sec_why(why, whylen, "API key expired");
        goto out;
    }
    rv = fill_principal(&s->entries[idx], out);
    if (rv != 0)
        amaters_principal_free(out);
out:
    OPENSSL_cleanse(mac, sizeof mac);
    OPENSSL_cleanse(sha, sizeof sha);
    return rv;
}
