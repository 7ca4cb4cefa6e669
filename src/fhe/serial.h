/*
 * serial.h - versioned, strict binary encoding of FHE objects.
 *
 * Every encoding starts with a 40-byte header, all integers little-endian:
 *
 *   0  magic "AFHE"        4  u16 format version (1)   6  u16 type
 *   8  u32 parameter id    12 u32 flags (bit 0: seeded form)
 *   16 16-byte key id      32 u32 count (blocks; 0 for keys)
 *   36 u32 reserved (0)
 *
 * followed by the payload of the type:
 *
 *   BLOCK        count = 1; per block: u32 degree, u32 noise level, then
 *                the (k*N + 1) u64 words of the LWE (expanded), or a
 *                16-byte seed and the u64 body (seeded)
 *   RADIX        count = 1..64 blocks, each as above
 *   SERVER_KEY   compressed form: 16-byte mask seed, k*N*ks_level KSK
 *                bodies, n*(k+1)*pbs_level*N BSK bodies (u64 each)
 *   CLIENT_KEY   n bits of the LWE key then k*N bits of the GLWE key,
 *                packed LSB first (secret!)
 *
 * The key id names the server key that can evaluate a ciphertext: the
 * first 16 bytes of SHA-256 over the SERVER_KEY payload (see
 * amaters_fhe_key_id). Decoders are strict and bounded: any unknown
 * version, type, flag or parameter set, a count out of range, a degree or
 * noise level the parameters do not allow, a wrong length (short or
 * trailing bytes) is AMATERS_EPARSE / AMATERS_EUNSUPPORTED, never a crash.
 * All functions are reentrant; buffers returned through `out` are
 * allocated with amaters_malloc and owned by the caller (encodings of
 * client keys hold the secret key: wipe them with amaters_free_secret).
 */
#ifndef AMATERS_FHE_SERIAL_H
#define AMATERS_FHE_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include "fhe/block.h"
#include "fhe/keys.h"
#include "fhe/radix.h"

#define AMATERS_FHE_FORMAT_VERSION 1
#define AMATERS_FHE_HEADER_BYTES 40
#define AMATERS_FHE_KEY_ID_BYTES 16

enum amaters_fhe_obj_type {
    AMATERS_FHE_OBJ_BLOCK = 1,
    AMATERS_FHE_OBJ_RADIX = 2,
    AMATERS_FHE_OBJ_SERVER_KEY = 3,
    AMATERS_FHE_OBJ_CLIENT_KEY = 4,
};

#define AMATERS_FHE_FLAG_SEEDED 1u

/* Decoded header. */
struct amaters_fhe_header {
    uint16_t version;
    uint16_t type;
    uint32_t param_id;
    uint32_t flags;
    uint8_t key_id[AMATERS_FHE_KEY_ID_BYTES];
    uint32_t count;
};

/* Parses and validates the header of buf (len bytes) and checks that len
 * is exactly the size its type, parameters and count imply. Returns 0,
 * AMATERS_EPARSE or AMATERS_EUNSUPPORTED (other version / parameters). */
int amaters_fhe_decode_header(const uint8_t *buf, size_t len,
                              struct amaters_fhe_header *h);

/* key id of a compressed server key (16 bytes into out). Returns 0 or
 * AMATERS_EINTERNAL. */
int amaters_fhe_key_id(const struct amaters_fhe_server_key_compressed *c,
                       uint8_t out[AMATERS_FHE_KEY_ID_BYTES]);

/* Encodes blocks (count 1..64) as one RADIX (or BLOCK when as_block and
 * count == 1). */
int amaters_fhe_encode_radix(const struct amaters_fhe_radix *r,
                             const uint8_t key_id[AMATERS_FHE_KEY_ID_BYTES],
                             uint8_t **out, size_t *out_len);
int amaters_fhe_encode_block(const struct amaters_fhe_block *b,
                             const uint8_t key_id[AMATERS_FHE_KEY_ID_BYTES],
                             uint8_t **out, size_t *out_len);

/* Encodes seeded blocks (a BLOCK when count == 1, else a RADIX). */
int amaters_fhe_encode_seeded(const struct amaters_fhe_params *p,
                              const struct amaters_fhe_block_seeded *blocks,
                              size_t count,
                              const uint8_t key_id[AMATERS_FHE_KEY_ID_BYTES],
                              uint8_t **out, size_t *out_len);

/* Decodes a BLOCK or RADIX (expanded or seeded) into r, which this
 * function initializes (free with amaters_fhe_radix_destroy); a BLOCK
 * gives a one-block radix. h (optional) receives the header. */
int amaters_fhe_decode_radix(const uint8_t *buf, size_t len,
                             struct amaters_fhe_radix *r,
                             struct amaters_fhe_header *h);

/* Server key, compressed form; the header carries its own key id, which
 * the decoder verifies. */
int amaters_fhe_encode_server_key(
    const struct amaters_fhe_server_key_compressed *c, uint8_t **out,
    size_t *out_len);
int amaters_fhe_decode_server_key(
    const uint8_t *buf, size_t len,
    struct amaters_fhe_server_key_compressed **out);

/* Client key (secret); key_id names its server key. The decoded key gets
 * fresh OS-seeded encryption streams. */
int amaters_fhe_encode_client_key(
    const struct amaters_fhe_client_key *ck,
    const uint8_t key_id[AMATERS_FHE_KEY_ID_BYTES], uint8_t **out,
    size_t *out_len);
int amaters_fhe_decode_client_key(const uint8_t *buf, size_t len,
                                  struct amaters_fhe_client_key **out);

#endif
