/*
 * record.c - encoding and strict decoding of stored values (record.h).
 *
 * Layout, format version 1 (all integers little-endian):
 *
 *     off len field
 *       0   1 magic 0xA5
 *       1   1 format version (1)
 *       2   1 flags (bit 0: has_version; others zero)
 *       3   1 reserved (zero)
 *       4   8 size          u64
 *      12   4 compression   u32
 *      16   4 checksum      u32 (CRC-32/IEEE of data)
 *      20   8 created_at    i64 (two's complement)
 *      28   4 version       u32 (0 when absent)
 *      32   8 data length   u64
 *      40   n data
 */
#include "storage/record.h"

#include <string.h>

#include "core/alloc.h"
#include "core/crc32.h"
#include "core/errors.h"

enum {
    OFF_MAGIC = 0,
    OFF_FORMAT = 1,
    OFF_FLAGS = 2,
    OFF_RESERVED = 3,
    OFF_SIZE = 4,
    OFF_COMPRESSION = 12,
    OFF_CHECKSUM = 16,
    OFF_CREATED_AT = 20,
    OFF_VERSION = 28,
    OFF_DATA_LEN = 32,
    HEADER_SIZE = 40,
};

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

size_t amaters_record_header_size(void)
{
    return HEADER_SIZE;
}

int amaters_record_encode(const struct amaters_record *r, uint8_t **out,
                          size_t *out_len)
{
    uint8_t *buf;

    if (r == NULL || out == NULL || out_len == NULL ||
        (r->data == NULL && r->data_len > 0))
        return AMATERS_EINVAL;
    if (!r->has_version && r->version != 0)
        return AMATERS_EBADVALUE;
    if (r->data_len > SIZE_MAX - HEADER_SIZE)
        return AMATERS_ETOOBIG;
    buf = amaters_malloc(HEADER_SIZE + r->data_len);
    if (buf == NULL)
        return AMATERS_ENOMEM;
    buf[OFF_MAGIC] = AMATERS_RECORD_MAGIC;
    buf[OFF_FORMAT] = AMATERS_RECORD_FORMAT_VERSION;
    buf[OFF_FLAGS] = r->has_version ? AMATERS_RECORD_FLAG_HAS_VERSION : 0;
    buf[OFF_RESERVED] = 0;
    put_u64(buf + OFF_SIZE, r->size);
    put_u32(buf + OFF_COMPRESSION, r->compression);
    put_u32(buf + OFF_CHECKSUM, r->checksum);
    put_u64(buf + OFF_CREATED_AT, (uint64_t)r->created_at);
    put_u32(buf + OFF_VERSION, r->has_version ? r->version : 0);
    put_u64(buf + OFF_DATA_LEN, (uint64_t)r->data_len);
    if (r->data_len > 0)
        memcpy(buf + HEADER_SIZE, r->data, r->data_len);
    *out = buf;
    *out_len = HEADER_SIZE + r->data_len;
    return 0;
}

/* Converts a stored u64 to int64_t without implementation-defined casts. */
static int64_t to_i64(uint64_t u)
{
    if (u <= (uint64_t)INT64_MAX)
        return (int64_t)u;
    return -(int64_t)(~u) - 1;
}

/* Checks the fixed header; returns 0 or the decode error. */
static int check_header(const uint8_t *buf, size_t len)
{
    uint8_t flags;

    if (len < 2 || buf[OFF_MAGIC] != AMATERS_RECORD_MAGIC)
        return AMATERS_ECORRUPT;
    if (buf[OFF_FORMAT] != AMATERS_RECORD_FORMAT_VERSION)
        return AMATERS_EUNSUPPORTED;
    if (len < HEADER_SIZE)
        return AMATERS_ECORRUPT;
    flags = buf[OFF_FLAGS];
    if ((flags & ~AMATERS_RECORD_FLAG_HAS_VERSION) != 0 ||
        buf[OFF_RESERVED] != 0)
        return AMATERS_ECORRUPT;
    if (!(flags & AMATERS_RECORD_FLAG_HAS_VERSION) &&
        get_u32(buf + OFF_VERSION) != 0)
        return AMATERS_ECORRUPT;
    if (get_u64(buf + OFF_DATA_LEN) != (uint64_t)(len - HEADER_SIZE))
        return AMATERS_ECORRUPT;
    return 0;
}

int amaters_record_decode(const uint8_t *buf, size_t len,
                          struct amaters_record *r)
{
    int rv;

    if (r == NULL || (buf == NULL && len > 0))
        return AMATERS_EINVAL;
    rv = check_header(buf, len);
    if (rv != 0)
        return rv;
    r->size = get_u64(buf + OFF_SIZE);
    r->compression = get_u32(buf + OFF_COMPRESSION);
    r->checksum = get_u32(buf + OFF_CHECKSUM);
    r->created_at = to_i64(get_u64(buf + OFF_CREATED_AT));
    r->has_version = (buf[OFF_FLAGS] & AMATERS_RECORD_FLAG_HAS_VERSION) != 0;
    r->version = get_u32(buf + OFF_VERSION);
    r->data = buf + HEADER_SIZE;
    r->data_len = len - HEADER_SIZE;
    if (amaters_crc32(0, r->data, r->data_len) != r->checksum)
        return AMATERS_ECORRUPT;
    return 0;
}
