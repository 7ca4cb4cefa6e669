/*
 * keys.h - TFHE client (secret) and server (evaluation) keys.
 *
 * The client key holds the small LWE key (n bits) and the GLWE key (k
 * polynomials of N bits; flattened it is the "big" LWE key of dimension
 * k*N under which stored ciphertexts live), all uniform binary, plus the
 * client's own randomness for encryption. The server key holds the
 * bootstrapping key (Fourier GGSWs) and the key-switching key (big ->
 * small) and no secret. Free functions wipe secret material.
 *
 * Randomness: with seed == NULL, key bits come from getrandom(2) through
 * the AES-CTR CSPRNG (rng.h) and noise from another OS-seeded stream; with
 * a 16-byte seed everything is derived deterministically from it (golden
 * vectors and tests only - a seed known to anyone else reveals the key).
 * Public masks of the server key always come from a separate mask seed
 * (kept in the key, for the future compressed form).
 *
 * Threads: a client key may encrypt from one thread at a time (its rngs
 * are mutable); decryption is read only. A server key is immutable after
 * creation and may be shared by any number of threads.
 */
#ifndef AMATERS_FHE_KEYS_H
#define AMATERS_FHE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "fhe/bootstrap.h"
#include "fhe/fft.h"
#include "fhe/keyswitch.h"
#include "fhe/params.h"
#include "fhe/rng.h"

struct amaters_fhe_client_key {
    const struct amaters_fhe_params *params;
    uint64_t *lwe_key;          /* n values in {0,1} */
    uint64_t *glwe_key;         /* k*N values in {0,1} (= big LWE key) */
    double *glwe_key_fft;       /* k Fourier polynomials of glwe_key */
    struct amaters_fhe_fft *fft;
    struct amaters_fhe_rng noise_rng;   /* secret stream */
    struct amaters_fhe_rng mask_rng;    /* masks of fresh ciphertexts */
};

struct amaters_fhe_server_key {
    const struct amaters_fhe_params *params;
    struct amaters_fhe_fft *fft;
    struct amaters_fhe_bsk bsk;
    struct amaters_fhe_ksk ksk;
    uint8_t mask_seed[AMATERS_FHE_SEED_BYTES];
};

/* Generates a client key. seed: NULL for OS randomness (production) or 16
 * bytes for a deterministic key. *out is freed (and wiped) with
 * amaters_fhe_client_key_free. Returns 0, AMATERS_EINVAL, AMATERS_ENOMEM,
 * AMATERS_EIO or AMATERS_EINTERNAL. */
int amaters_fhe_client_key_new(const struct amaters_fhe_params *params,
                               const uint8_t *seed,
                               struct amaters_fhe_client_key **out);

/* Builds a client key from given key bits (values 0/1: n LWE bits, k*N
 * GLWE bits), with fresh OS-seeded encryption streams; for decoding a
 * stored key. Returns 0, AMATERS_EINVAL (a value > 1), AMATERS_ENOMEM,
 * AMATERS_EIO or AMATERS_EINTERNAL. */
int amaters_fhe_client_key_from_bits(const struct amaters_fhe_params *params,
                                     const uint64_t *lwe_key,
                                     const uint64_t *glwe_key,
                                     struct amaters_fhe_client_key **out);

/* Wipes and frees a client key (NULL is a no-op). */
void amaters_fhe_client_key_free(struct amaters_fhe_client_key *ck);

/* Generates the server key of ck. seed: NULL for OS randomness, else 16
 * secret bytes (deterministic, tests): the key's noise is the XOF of
 * (seed, AMATERS_FHE_DOM_KEY_NOISE) and its public mask_seed is derived
 * one-way (amaters_fhe_seed_derive, AMATERS_FHE_DOM_KEY_MASK_SEED), so a
 * published seeded key reveals neither seed nor the client key. Takes
 * about a second for the default set.
 * *out is freed with amaters_fhe_server_key_free. Same errors as above. */
int amaters_fhe_server_key_new(const struct amaters_fhe_client_key *ck,
                               const uint8_t *seed,
                               struct amaters_fhe_server_key **out);

/* Frees a server key (NULL is a no-op). */
void amaters_fhe_server_key_free(struct amaters_fhe_server_key *sk);

/*
 * Compressed (seeded) server key: the public masks are not stored but
 * re-expanded with the XOF from mask_seed (domain AMATERS_FHE_DOM_KEY_MASK)
 * in this fixed order: the KSK rows (k*N * ks_level rows, input coordinate
 * major, n mask words each), then the BSK (for each of the n GGSWs, rows
 * (i, j) with i major, k*N mask words each). Only the bodies are kept:
 * about 27 MB instead of 122 MB for the default set. Immutable; any thread.
 */
struct amaters_fhe_server_key_compressed {
    const struct amaters_fhe_params *params;
    uint8_t mask_seed[AMATERS_FHE_SEED_BYTES];
    uint64_t *ksk_bodies;   /* k*N * ks_level, owned */
    uint64_t *bsk_bodies;   /* n * (k+1) * pbs_level * N, owned */
};

/* Generates the compressed server key of ck. With the same seed it expands
 * to exactly amaters_fhe_server_key_new(ck, seed). seed: NULL for OS
 * randomness. *out is freed with amaters_fhe_server_key_compressed_free.
 * Returns 0, AMATERS_ENOMEM, AMATERS_EIO or AMATERS_EINTERNAL. */
int amaters_fhe_server_key_new_compressed(
    const struct amaters_fhe_client_key *ck, const uint8_t *seed,
    struct amaters_fhe_server_key_compressed **out);

/* Expands a compressed key into a server key (*out freed with
 * amaters_fhe_server_key_free). Same errors. */
int amaters_fhe_server_key_decompress(
    const struct amaters_fhe_server_key_compressed *c,
    struct amaters_fhe_server_key **out);

/* Frees a compressed key (NULL is a no-op). */
void amaters_fhe_server_key_compressed_free(
    struct amaters_fhe_server_key_compressed *c);

/* Encrypts the torus plaintext pt as an LWE under the big key (k*N + 1
 * words into ct) with the GLWE noise. Returns 0 or the rng's error. */
int amaters_fhe_encrypt_big(struct amaters_fhe_client_key *ck, uint64_t pt,
                            uint64_t *ct);

/* Phase (plaintext + noise) of a big-key LWE ciphertext. */
uint64_t amaters_fhe_phase_big(const struct amaters_fhe_client_key *ck,
                               const uint64_t *ct);

/* Phase of a small-key (dimension n) LWE ciphertext. */
uint64_t amaters_fhe_phase_small(const struct amaters_fhe_client_key *ck,
                                 const uint64_t *ct);

#endif
