/*
 * crc32.c - CRC-32 through zlib's crc32_z.
 */
#include "core/crc32.h"

#include <zlib.h>

uint32_t amaters_crc32(uint32_t crc, const void *p, size_t n)
{
    if (n == 0)
        return crc;
    return (uint32_t)crc32_z(crc, p, n);
}
