/*
 * keys.c - collection namespacing of engine keys: validation of collection
 * names (strict UTF-8), encoding and decoding of engine keys, and the
 * engine bounds of a range inside one collection. See keys.h for the
 * encoding.
 */
#include "storage/keys.h"

#include <stdbool.h>
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"

/* Returns the length (2..4) of the well-formed UTF-8 sequence that starts
 * with lead byte b0 at s (n bytes available), or 0 if it is malformed. The
 * allowed second-byte ranges follow RFC 3629, table 3-7 of Unicode. */
static size_t utf8_multibyte_len(const uint8_t *s, size_t n)
{
    uint8_t b0 = s[0];
    uint8_t lo = 0x80;
    uint8_t hi = 0xBF;
    size_t len;

    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        if (b0 == 0xE0)
            lo = 0xA0; /* below: overlong */
        else if (b0 == 0xED)
            hi = 0x9F; /* above: surrogates */
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        if (b0 == 0xF0)
            lo = 0x90; /* below: overlong */
        else if (b0 == 0xF4)
            hi = 0x8F; /* above: beyond U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, F5..FF */
    }
    if (n < len)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    }
    return len;
}

int amaters_key_validate_collection(const char *name, size_t len)
{
    const uint8_t *s = (const uint8_t *)name;
    size_t i = 0;

    if (name == NULL || len == 0 || len > AMATERS_COLLECTION_MAX)
        return AMATERS_EBADCOLL;
    while (i < len) {
        if (s[i] == 0)
            return AMATERS_EBADCOLL;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t step = utf8_multibyte_len(s + i, len - i);
        if (step == 0)
            return AMATERS_EBADCOLL;
        i += step;
    }
    return 0;
}

/* Writes prefix + key into a new buffer; the collection is already valid. */
static int build_key(const char *coll, size_t coll_len, const uint8_t *key,
                     size_t key_len, uint8_t **out, size_t *out_len)
{
    size_t head = 1 + coll_len;
    uint8_t *buf;

    if (key_len > SIZE_MAX - head)
        return AMATERS_ETOOBIG;
    buf = amaters_malloc(head + key_len);
    if (buf == NULL)
        return AMATERS_ENOMEM;
    buf[0] = (uint8_t)coll_len;
    memcpy(buf + 1, coll, coll_len);
    if (key_len > 0)
        memcpy(buf + head, key, key_len);
    *out = buf;
    *out_len = head + key_len;
    return 0;
}

int amaters_key_encode(const char *coll, size_t coll_len, const uint8_t *key,
                       size_t key_len, uint8_t **out, size_t *out_len)
{
    int rv;

    if (out == NULL || out_len == NULL || (key == NULL && key_len > 0))
        return AMATERS_EINVAL;
    rv = amaters_key_validate_collection(coll, coll_len);
    if (rv != 0)
        return rv;
    return build_key(coll, coll_len, key, key_len, out, out_len);
}

int amaters_key_decode(const uint8_t *ek, size_t ek_len, const uint8_t **coll,
                       size_t *coll_len, const uint8_t **key,
                       size_t *key_len)
{
    size_t clen;

    if (coll == NULL || coll_len == NULL || key == NULL || key_len == NULL ||
        (ek == NULL && ek_len > 0))
        return AMATERS_EINVAL;
    if (ek_len < 2)
        return AMATERS_ECORRUPT;
    clen = ek[0];
    if (clen == 0 || ek_len - 1 < clen)
        return AMATERS_ECORRUPT;
    *coll = ek + 1;
    *coll_len = clen;
    *key = ek + 1 + clen;
    *key_len = ek_len - 1 - clen;
    return 0;
}

/* Builds the smallest byte string greater than every string that starts
 * with the collection's prefix: the prefix with trailing 0xFF bytes
 * dropped and the last remaining byte incremented. */
static int prefix_successor(const char *coll, size_t coll_len, uint8_t **out,
                            size_t *out_len)
{
    uint8_t *buf;
    size_t n = 1 + coll_len;
    int rv = build_key(coll, coll_len, NULL, 0, &buf, &n);

    if (rv != 0)
        return rv;
    while (n > 0 && buf[n - 1] == 0xFF)
        n--;
    /* n > 0 always: buf[0] is the length byte, 1..255, and a valid
     * collection holds no 0xFF; keep the check for safety. */
    if (n == 0) {
        amaters_free(buf);
        return AMATERS_EINTERNAL;
    }
    buf[n - 1]++;
    *out = buf;
    *out_len = n;
    return 0;
}

int amaters_key_range(const char *coll, size_t coll_len, const uint8_t *start,
                      size_t start_len, const uint8_t *end, size_t end_len,
                      uint8_t **lo, size_t *lo_len, uint8_t **hi,
                      size_t *hi_len)
{
    uint8_t *l = NULL;
    uint8_t *h = NULL;
    size_t llen = 0;
    size_t hlen = 0;
    int rv;

    if (lo == NULL || lo_len == NULL || hi == NULL || hi_len == NULL ||
        (start == NULL && start_len > 0))
        return AMATERS_EINVAL;
    rv = amaters_key_encode(coll, coll_len, start, start_len, &l, &llen);
    if (rv != 0)
        goto out;
    if (end != NULL)
        rv = build_key(coll, coll_len, end, end_len, &h, &hlen);
    else
        rv = prefix_successor(coll, coll_len, &h, &hlen);
    if (rv != 0)
        goto out;
    *lo = l;
    *lo_len = llen;
    *hi = h;
    *hi_len = hlen;
    l = NULL; /* ownership passed to the caller */
out:
    amaters_free(l);
    return rv;
}
