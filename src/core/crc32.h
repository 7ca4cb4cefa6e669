/*
 * crc32.h - CRC-32/IEEE (the zlib polynomial), as used by the wire's
 * CipherMetadata.checksum. A thin wrapper over zlib so that large buffers
 * (over 4 GiB chunks of uInt) are handled in one call.
 */
#ifndef AMATERS_CORE_CRC32_H
#define AMATERS_CORE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc over n bytes at p; start with crc = 0. */
uint32_t amaters_crc32(uint32_t crc, const void *p, size_t n);

#endif
