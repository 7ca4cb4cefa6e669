/*
 * record.h - the stored value format: one engine value per CipherBlob.
 *
 * A record is a fixed 40-byte little-endian header (magic, format version,
 * flags, the client's CipherMetadata as sent, data length) followed by the
 * data bytes. The byte layout and the versioning rule (readers refuse
 * unknown format versions) are in docs/internals/storage.md. The server
 * stores the client's metadata exactly as sent and returns it on GET; the
 * query layer verifies the CRC-32 on SET and amaters_record_decode()
 * verifies it again on every read.
 *
 * Threads: every function is pure (no shared state) and may be called from
 * any thread.
 */
#ifndef AMATERS_STORAGE_RECORD_H
#define AMATERS_STORAGE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* First byte of every record. */
#define AMATERS_RECORD_MAGIC 0xA5
/* The format version this code writes and the only one it reads. */
#define AMATERS_RECORD_FORMAT_VERSION 1
/* Flag bits (byte 2). Bits not defined here must be zero. */
#define AMATERS_RECORD_FLAG_HAS_VERSION 0x01

/* One CipherBlob as stored: the wire's CipherMetadata plus the data. */
struct amaters_record {
    uint64_t size;        /* CipherMetadata.size, as sent */
    uint32_t compression; /* CipherMetadata.compression, as sent */
    uint32_t checksum;    /* CRC-32/IEEE of data, as sent */
    int64_t created_at;   /* CipherMetadata.created_at, as sent */
    bool has_version;     /* CipherMetadata.version present */
    uint32_t version;     /* valid when has_version */
    const uint8_t *data;  /* may be NULL when data_len is 0 */
    size_t data_len;
};

/* Returns the size in bytes of the record header (the encoded length of a
 * record with no data). */
size_t amaters_record_header_size(void);

/* Encodes r into a new buffer. The metadata is written exactly as given;
 * r->checksum is not checked here (the query layer checks it on SET;
 * decode checks it on read). On success returns 0 and sets *out to a
 * buffer of *out_len bytes owned by the caller (free with amaters_free).
 * Returns AMATERS_EINVAL for NULL arguments or data == NULL with data_len
 * > 0, AMATERS_EBADVALUE if has_version is false but version is not 0,
 * AMATERS_ETOOBIG if the length overflows, AMATERS_ENOMEM; on failure
 * *out is untouched. */
int amaters_record_encode(const struct amaters_record *r, uint8_t **out,
                          size_t *out_len);

/* Decodes the len bytes at buf into *r. r->data points into buf (valid as
 * long as buf is); nothing is allocated. Strict: a format version other
 * than AMATERS_RECORD_FORMAT_VERSION returns AMATERS_EUNSUPPORTED; a wrong
 * magic, a truncated or over-long buffer, unknown flag bits, a non-zero
 * reserved byte, a version field set without its flag, or a CRC-32 of the
 * data that differs from the stored checksum returns AMATERS_ECORRUPT.
 * AMATERS_EINVAL for NULL arguments. On failure *r is unspecified. */
int amaters_record_decode(const uint8_t *buf, size_t len,
                          struct amaters_record *r);

#endif
