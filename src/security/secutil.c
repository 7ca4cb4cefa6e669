/*
 * secutil.c - base64 codecs, RFC 3339 parsing, bounded file reading and
 * the principal type shared by the authentication methods.
 */
#include "security/secutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"

static const char b64std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void amaters_principal_free(struct amaters_principal *p)
{
    if (p == NULL)
        return;
    amaters_free(p->subject);
    for (size_t i = 0; i < p->nroles; i++)
        amaters_free(p->roles[i]);
    amaters_free(p->roles);
    memset(p, 0, sizeof *p);
}

int amaters_principal_add_role(struct amaters_principal *p, const char *role,
                               size_t len)
{
    char **grown;
    char *copy;

    if (len == 0 || memchr(role, '\0', len) != NULL)
        return AMATERS_EINVAL;
    if (len > AMATERS_PRINCIPAL_MAX_ROLE_LEN ||
        p->nroles >= AMATERS_PRINCIPAL_MAX_ROLES)
        return AMATERS_ETOOBIG;
    copy = amaters_strndup(role, len);
    if (copy == NULL)
        return AMATERS_ENOMEM;
    grown = amaters_realloc(p->roles, (p->nroles + 1) * sizeof *grown);
    if (grown == NULL) {
        amaters_free(copy);
        return AMATERS_ENOMEM;
    }
    grown[p->nroles++] = copy;
    p->roles = grown;
    return 0;
}

/* Value of c in alphabet, or -1. */
static int b64_value(const char *alphabet, char c)
{
    const char *hit;

    if (c == '\0')
        return -1;
    hit = strchr(alphabet, c);
    return hit == NULL ? -1 : (int)(hit - alphabet);
}

/* Decodes len characters (no padding) of alphabet into out, which has room
 * for len * 3 / 4 bytes. */
static int b64_decode_core(const char *alphabet, const char *in, size_t len,
                           unsigned char *out, size_t *outlen)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;

    if (len % 4 == 1)
        return AMATERS_EPARSE;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(alphabet, in[i]);
        if (v < 0)
            return AMATERS_EPARSE;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1u;
        }
    }
    if (acc != 0) /* unused trailing bits must be zero */
        return AMATERS_EPARSE;
    *outlen = n;
    return 0;
}

int amaters_sec_b64url_decode(const char *in, size_t len,
                              unsigned char **out, size_t *outlen)
{
    unsigned char *buf;
    size_t n = 0;
    int rv;

    *out = NULL;
    *outlen = 0;
    buf = amaters_malloc(len * 3 / 4 + 1);
    if (buf == NULL)
        return AMATERS_ENOMEM;
    rv = b64_decode_core(b64url, in, len, buf, &n);
    if (rv != 0) {
        amaters_free(buf);
        return rv;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
}

static int b64_encode_core(const char *alphabet, bool pad, const void *in,
                           size_t len, char *out, size_t outlen)
{
    const unsigned char *p = in;
    size_t need = pad ? (len + 2) / 3 * 4 : (len * 4 + 2) / 3;
    size_t o = 0;
    size_t i = 0;

    if (need + 1 > outlen)
        return AMATERS_ETOOBIG;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return 0;
}

int amaters_sec_b64url_encode(const void *in, size_t len, char *out,
                              size_t outlen)
{
    return b64_encode_core(b64url, false, in, len, out, outlen);
}

int amaters_sec_b64_encode(const void *in, size_t len, char *out,
                           size_t outlen)
{
    return b64_encode_core(b64std, true, in, len, out, outlen);
}

int amaters_sec_b64_decode_exact(const char *in, size_t inlen,
                                 unsigned char *out, size_t expected)
{
    unsigned char buf[96];
    size_t body = inlen;
    size_t pad = 0;
    size_t n = 0;
    int rv;

    if (inlen % 4 != 0 || inlen / 4 * 3 > sizeof buf)
        return AMATERS_EPARSE;
    while (body > 0 && pad < 2 && in[body - 1] == '=') {
        body--;
        pad++;
    }
    if (pad != (3 - expected % 3) % 3)
        return AMATERS_EPARSE;
    rv = b64_decode_core(b64std, in, body, buf, &n);
    if (rv == 0 && n != expected)
        rv = AMATERS_EPARSE;
    if (rv == 0)
        memcpy(out, buf, n);
    memset(buf, 0, sizeof buf);
    return rv;
}

/* Reads exactly n decimal digits at *s. Returns -1 when they are not. */
static int read_digits(const char **s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*s)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *s += n;
    return v;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era;
    int64_t yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int amaters_sec_parse_rfc3339(const char *s, int64_t *unix_secs)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30,
                                31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, off = 0;

    y = read_digits(&s, 4);
    if (y < 0 || *s++ != '-')
        return AMATERS_EPARSE;
    mo = read_digits(&s, 2);
    if (mo < 1 || mo > 12 || *s++ != '-')
        return AMATERS_EPARSE;
    d = read_digits(&s, 2);
    if (d < 1 || d > mdays[mo - 1] + (mo == 2 && is_leap(y)))
        return AMATERS_EPARSE;
    if (*s != 'T' && *s != 't' && *s != ' ')
        return AMATERS_EPARSE;
    s++;
    h = read_digits(&s, 2);
    if (h < 0 || h > 23 || *s++ != ':')
        return AMATERS_EPARSE;
    mi = read_digits(&s, 2);
    if (mi < 0 || mi > 59 || *s++ != ':')
        return AMATERS_EPARSE;
    sec = read_digits(&s, 2);
    if (sec < 0 || sec > 60)
        return AMATERS_EPARSE;
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return AMATERS_EPARSE;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int sign = *s++ == '-' ? -1 : 1;
        int oh = read_digits(&s, 2);
        int om;
        if (oh < 0 || oh > 23 || *s++ != ':')
            return AMATERS_EPARSE;
        om = read_digits(&s, 2);
        if (om < 0 || om > 59)
            return AMATERS_EPARSE;
        off = sign * (oh * 60 + om);
    } else {
        return AMATERS_EPARSE;
    }
    if (*s != '\0')
        return AMATERS_EPARSE;
    *unix_secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
                 sec - (int64_t)off * 60;
    return 0;
}

int amaters_sec_read_file(const char *path, size_t cap, char **out,
                          size_t *outlen, char *err, size_t errlen)
{
    FILE *f;
    char *buf = NULL;
    size_t size = 0, len = 0;
    int rv = 0;

    *out = NULL;
    *outlen = 0;
    f = fopen(path, "rbe");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return AMATERS_EIO;
    }
    for (;;) {
        size_t n;
        if (len == size) {
            size_t grown = size == 0 ? 4096 : size * 2;
            char *nb;
            if (size > cap) {
                snprintf(err, errlen, "%s: larger than %zu bytes", path,
                         cap);
                rv = AMATERS_ETOOBIG;
                goto out;
            }
            nb = amaters_malloc(grown + 1);
            if (nb == NULL) {
                rv = AMATERS_ENOMEM;
                goto out;
            }
            if (buf != NULL)
                memcpy(nb, buf, len);
            amaters_free_secret(buf, size + 1);
            buf = nb;
            size = grown;
        }
        n = fread(buf + len, 1, size - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        rv = AMATERS_EIO;
    } else if (len > cap) {
        snprintf(err, errlen, "%s: larger than %zu bytes", path, cap);
        rv = AMATERS_ETOOBIG;
    }
out:
    fclose(f);
    if (rv != 0) {
        if (buf != NULL)
            amaters_free_secret(buf, size + 1);
        return rv;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
}

void amaters_sec_why(char *why, size_t whylen, const char *msg)
{
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, "%s", msg);
}
