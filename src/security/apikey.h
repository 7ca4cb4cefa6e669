/*
 * apikey.h - API key authentication: the keys file and verification of a
 * presented key.
 *
 * The keys file is the original server's format (a JSON array, see
 * reference-examples/api_keys.json): per entry "id", "name", "key_hash",
 * "user_id", "roles" and "attributes" (free-form; "expires_at", an RFC 3339
 * time, is honoured). key_hash is standard padded base64 of 32 bytes:
 * either HMAC-SHA-256(server secret, key) - our format, which a stolen
 * keys file cannot be brute-forced from without the secret - or plain
 * SHA-256(key), the original's format, still accepted so existing files
 * keep working. Keys are never stored or logged in clear.
 *
 * Verification hashes the presented key both ways and compares the result
 * with every entry using CRYPTO_memcmp, visiting all entries whatever the
 * position of the match, so timing reveals neither the key nor which entry
 * matched. The principal is the entry's user_id with the entry's "roles"
 * (not anything under "attributes").
 *
 * Threads: a store is built on one thread and is then read-only; any
 * number of threads may call amaters_apikey_verify() concurrently. Reload
 * means loading a new store and swapping the pointer the request path
 * uses.
 */
#ifndef AMATERS_SECURITY_APIKEY_H
#define AMATERS_SECURITY_APIKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "security/secutil.h"

/* Longest keys file read, longest presented key, and the size of the text
 * written by amaters_apikey_hash() (44 characters and a NUL). */
#define AMATERS_APIKEY_MAX_FILE (16u * 1024u * 1024u)
#define AMATERS_APIKEY_MAX_KEY 1024
#define AMATERS_APIKEY_HASH_LEN 45

struct amaters_apikey_store;

/*
 * Loads the keys file at path. secret (secret_len bytes; may be NULL / 0,
 * then only plain SHA-256 hashes can match) is copied into the store and
 * wiped when it is freed. Entries need a non-empty string "id" (unique),
 * "key_hash" (valid base64 of 32 bytes, unique) and "user_id"; "roles" is
 * an optional array of role-name strings; "attributes.expires_at" an
 * optional RFC 3339 string. Errors name the file and the entry:
 * "PATH: entry 2 (id \"key-003\"): key_hash: not base64 of 32 bytes".
 * Returns 0 with *out owned by the caller (free with
 * amaters_apikey_store_free), or AMATERS_EIO, AMATERS_ETOOBIG,
 * AMATERS_EPARSE (not JSON), AMATERS_ECONFIG (bad entry) or
 * AMATERS_ENOMEM with *out NULL.
 */
int amaters_apikey_store_load(struct amaters_apikey_store **out,
                              const char *path, const void *secret,
                              size_t secret_len, char *err, size_t errlen);

/* As amaters_apikey_store_load() for len bytes of JSON text; name stands
 * for the file in messages. */
int amaters_apikey_store_load_buffer(struct amaters_apikey_store **out,
                                     const char *text, size_t len,
                                     const char *name, const void *secret,
                                     size_t secret_len, char *err,
                                     size_t errlen);

/* As amaters_apikey_store_load for a file whose key_hash fields hold the
 * keys themselves (auth.api_key.hash_keys = false, not recommended): only
 * their SHA-256 is kept in memory. */
int amaters_apikey_store_load_plain(struct amaters_apikey_store **out,
                                    const char *path, char *err,
                                    size_t errlen);

/* Frees the store (the secret is wiped). NULL is ignored. */
void amaters_apikey_store_free(struct amaters_apikey_store *s);

/* Returns the number of entries in s. */
size_t amaters_apikey_store_count(const struct amaters_apikey_store *s);

/*
 * Verifies presented (the header's value) at unix time now. On success
 * returns 0 and fills *out (method "api_key", subject = user_id, roles
 * copied; the caller frees it with amaters_principal_free()). Otherwise
 * returns AMATERS_EAUTH with why = "missing API key", "unknown API key"
 * or "API key expired" (never the key), AMATERS_EINVAL for NULL arguments,
 * or AMATERS_ENOMEM; *out is then zeroed.
 */
int amaters_apikey_verify(const struct amaters_apikey_store *s,
                          const char *presented, int64_t now,
                          struct amaters_principal *out, char *why,
                          size_t whylen);

/*
 * Writes the key_hash text for key into out (at least
 * AMATERS_APIKEY_HASH_LEN bytes): base64 of HMAC-SHA-256(secret, key), or
 * of plain SHA-256(key) when secret_len is 0 (the original's format). For
 * tools that issue keys. Returns 0, AMATERS_EINVAL (key empty or longer
 * than AMATERS_APIKEY_MAX_KEY, out too small) or AMATERS_EINTERNAL.
 */
int amaters_apikey_hash(const void *secret, size_t secret_len,
                        const char *key, char *out, size_t outlen);

#endif
