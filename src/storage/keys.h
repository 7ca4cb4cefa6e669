/*
 * keys.h - collection namespacing of engine keys.
 *
 * An engine stores one flat ordered key space. The query layer puts each
 * (collection, user key) pair into it as one engine key so that every
 * collection owns a contiguous, disjoint range:
 *
 *     engine key = [collection length: 1 byte, 1..255]
 *                  [collection bytes]
 *                  [user key bytes]
 *
 * This is key encoding version 1 (docs/internals/storage.md). Within one
 * collection, engine-key order equals the unsigned byte order of user keys.
 * Across collections, order is by length first, then bytes; nothing relies
 * on that order.
 *
 * Threads: every function is pure (no shared state) and may be called from
 * any thread.
 */
#ifndef AMATERS_STORAGE_KEYS_H
#define AMATERS_STORAGE_KEYS_H

#include <stddef.h>
#include <stdint.h>

/* The version of the encoding described above. */
#define AMATERS_KEY_ENCODING_VERSION 1

/* Longest collection name in bytes (the length byte's range). */
#define AMATERS_COLLECTION_MAX 255

/* Returns 0 if the len bytes at name are a valid collection name: 1..255
 * bytes of well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates
 * U+D800..U+DFFF, nothing above U+10FFFF, no truncated sequence) without a
 * NUL byte. Otherwise returns AMATERS_EBADCOLL. name may be NULL only when
 * len is 0 (which is then rejected). */
int amaters_key_validate_collection(const char *name, size_t len);

/* Builds the engine key for user key (key, key_len) in collection
 * (coll, coll_len). key may be NULL when key_len is 0. The collection is
 * validated as by amaters_key_validate_collection(). On success returns 0
 * and sets *out to a new buffer of *out_len bytes owned by the caller
 * (free with amaters_free). Returns AMATERS_EBADCOLL for a bad collection,
 * AMATERS_EINVAL for NULL out-pointers, AMATERS_ETOOBIG if the length
 * overflows, AMATERS_ENOMEM; on failure *out is left untouched. */
int amaters_key_encode(const char *coll, size_t coll_len, const uint8_t *key,
                       size_t key_len, uint8_t **out, size_t *out_len);

/* Splits engine key (ek, ek_len) into its collection and user key. The
 * output pointers point into ek (nothing is allocated); *key may point one
 * past the collection with *key_len 0. Only the structure is checked (a
 * length byte of 1..255 and at least that many collection bytes), not the
 * UTF-8 of the name. Returns 0, AMATERS_ECORRUPT for a malformed key or
 * AMATERS_EINVAL for NULL arguments. */
int amaters_key_decode(const uint8_t *ek, size_t ek_len, const uint8_t **coll,
                       size_t *coll_len, const uint8_t **key,
                       size_t *key_len);

/* Computes the engine bounds [lo, hi) of the user-key range [start, end)
 * inside collection coll. start may be NULL when start_len is 0 (the
 * collection's beginning). end == NULL means "to the end of the
 * collection": hi is then the prefix successor of the collection's prefix,
 * which always exists for a valid collection (UTF-8 never contains 0xFF).
 * If start >= end the range is empty and an engine iterating [lo, hi)
 * returns nothing. On success returns 0 and sets *lo and *hi to new
 * buffers owned by the caller (free both with amaters_free). Errors as for
 * amaters_key_encode(); on failure nothing is allocated or set. */
int amaters_key_range(const char *coll, size_t coll_len, const uint8_t *start,
                      size_t start_len, const uint8_t *end, size_t end_len,
                      uint8_t **lo, size_t *lo_len, uint8_t **hi,
                      size_t *hi_len);

#endif
