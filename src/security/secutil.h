/*
 * secutil.h - small helpers shared by the files of src/security: strict
 * base64 and base64url codecs, RFC 3339 timestamp parsing, bounded file
 * reading and the principal type returned by every authentication method.
 *
 * The principal (struct amaters_principal) is public: the request path
 * receives one from amaters_jwt_verify() or amaters_apikey_verify(). The
 * other helpers are internal to src/security (their prefix is
 * amaters_sec_) but documented like any header.
 *
 * Threads: every function here is reentrant and keeps no global state.
 */
#ifndef AMATERS_SECURITY_SECUTIL_H
#define AMATERS_SECURITY_SECUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most roles a principal may carry, and the longest role name. */
#define AMATERS_PRINCIPAL_MAX_ROLES 64
#define AMATERS_PRINCIPAL_MAX_ROLE_LEN 128

/*
 * Who made a request, as authentication established it. subject and every
 * roles[i] are heap strings owned by the principal; method is a static
 * string ("jwt", "api_key", "mtls"). Release with amaters_principal_free().
 * A principal is owned by one request; share it only read-only.
 */
struct amaters_principal {
    char *subject;
    char **roles;
    size_t nroles;
    const char *method;
};

/* Frees every string of p and zeroes it. Safe on a zeroed principal. */
void amaters_principal_free(struct amaters_principal *p);

/*
 * Appends a copy of role (len bytes, no NUL inside) to p->roles. Returns 0,
 * AMATERS_ETOOBIG when p already has AMATERS_PRINCIPAL_MAX_ROLES roles or
 * the name is longer than AMATERS_PRINCIPAL_MAX_ROLE_LEN or empty
 * (AMATERS_EINVAL), or AMATERS_ENOMEM.
 */
int amaters_principal_add_role(struct amaters_principal *p, const char *role,
                               size_t len);

/*
 * Decodes len characters of unpadded base64url (RFC 4648 section 5) into a
 * new buffer. Strict: '=' padding, characters outside the alphabet, a
 * length of 1 modulo 4 and non-zero unused trailing bits are all rejected.
 * On success *out (owned by the caller, free with amaters_free; one extra
 * NUL byte follows the data) and *outlen are set. Returns 0,
 * AMATERS_EPARSE or AMATERS_ENOMEM.
 */
int amaters_sec_b64url_decode(const char *in, size_t len,
                              unsigned char **out, size_t *outlen);

/*
 * Encodes len bytes as unpadded base64url into out (NUL-terminated).
 * Returns 0, or AMATERS_ETOOBIG when out (outlen bytes) is too small.
 */
int amaters_sec_b64url_encode(const void *in, size_t len, char *out,
                              size_t outlen);

/*
 * Standard base64 (RFC 4648 section 4) with '=' padding: encode into out
 * (NUL-terminated; returns AMATERS_ETOOBIG when it does not fit), and
 * strict decode of exactly expected bytes into out (returns AMATERS_EPARSE
 * when the text is not canonical padded base64 of that many bytes).
 */
int amaters_sec_b64_encode(const void *in, size_t len, char *out,
                           size_t outlen);
int amaters_sec_b64_decode_exact(const char *in, size_t inlen,
                                 unsigned char *out, size_t expected);

/*
 * Parses an RFC 3339 date-time ("2027-01-01T00:00:00Z",
 * "2027-01-01t10:00:00.5+02:00") into unix seconds (fractions dropped).
 * Returns 0 or AMATERS_EPARSE.
 */
int amaters_sec_parse_rfc3339(const char *s, int64_t *unix_secs);

/*
 * Reads the whole file at path (at most cap bytes) into a new
 * NUL-terminated buffer owned by the caller (free with amaters_free, or
 * amaters_free_secret when it holds key material). Returns 0, AMATERS_EIO
 * (err says "PATH: cannot read: <errno text>"), AMATERS_ETOOBIG ("PATH:
 * larger than CAP bytes") or AMATERS_ENOMEM.
 */
int amaters_sec_read_file(const char *path, size_t cap, char **out,
                          size_t *outlen, char *err, size_t errlen);

/* Copies the message into why (when why is not NULL and whylen > 0). */
void amaters_sec_why(char *why, size_t whylen, const char *msg);

#endif
