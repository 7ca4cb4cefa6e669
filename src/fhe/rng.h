/*
 * rng.h - randomness for TFHE: OS entropy, a seeded XOF, Gaussian noise.
 *
 * Every random value of the scheme comes from a struct amaters_fhe_rng,
 * which is the keystream of AES-128-CTR (OpenSSL EVP) keyed by a 128-bit
 * seed. The XOF is specified exactly so that seeded (compressed) masks can
 * be re-expanded by anyone holding the seed:
 *
 *   key   = the 16 seed bytes
 *   IV    = domain (uint64, big-endian) || 0^64, incremented as one
 *           128-bit big-endian counter (standard CTR mode)
 *   value = successive 8-byte little-endian words of the keystream
 *
 * Secrets (keys, noise) use a generator seeded from getrandom(2)
 * (amaters_fhe_rng_init_os); a fixed seed (amaters_fhe_rng_init_seeded) is
 * for public masks and deterministic tests. A generator is not
 * thread-safe: one thread at a time. Destroy wipes the state.
 */
#ifndef AMATERS_FHE_RNG_H
#define AMATERS_FHE_RNG_H

#include <stddef.h>
#include <stdint.h>

#define AMATERS_FHE_SEED_BYTES 16
#define AMATERS_FHE_RNG_BUF 4096

/* Domain tags so that different uses of one seed never share a stream. */
enum amaters_fhe_rng_domain {
    AMATERS_FHE_DOM_SECRET = 1,   /* key bits */
    AMATERS_FHE_DOM_NOISE = 2,    /* Gaussian noise */
    AMATERS_FHE_DOM_MASK = 3,     /* public masks of fresh ciphertexts */
    AMATERS_FHE_DOM_KEY_NOISE = 4, /* server key noise */
    AMATERS_FHE_DOM_KEY_MASK = 5, /* server key masks (public) */
    AMATERS_FHE_DOM_KEY_MASK_SEED = 6, /* seeded server key: its public
                                          mask seed, derived one-way */
};

struct amaters_fhe_rng {
    void *ctx;                       /* EVP_CIPHER_CTX, owned */
    unsigned char buf[AMATERS_FHE_RNG_BUF];
    size_t pos;
    int err;                         /* sticky 0 / AMATERS_E* */
    int have_spare;
    double spare;                    /* second Box-Muller output */
    int os_seeded;                   /* 1: reseeded in a forked child */
    uint64_t domain;
    unsigned long fork_gen;          /* fork generation at (re)seeding */
};

/* Fills buf with n bytes from getrandom(2). Returns 0 or AMATERS_EIO. */
int amaters_fhe_os_random(void *buf, size_t n);

/* Initializes r as the XOF of (seed, domain). Returns 0, AMATERS_ENOMEM
 * or AMATERS_EINTERNAL (OpenSSL failure). On error r needs no destroy. */
int amaters_fhe_rng_init_seeded(struct amaters_fhe_rng *r,
                                const uint8_t seed[AMATERS_FHE_SEED_BYTES],
                                uint64_t domain);

/* Writes to out the first 16 bytes of the XOF of (seed, domain): a seed
 * derived one-way (recovering seed from out is recovering an AES key from
 * one known block), so out may be published while seed stays secret.
 * Returns 0 or the errors of amaters_fhe_rng_init_seeded; out is zero on
 * error. */
int amaters_fhe_seed_derive(const uint8_t seed[AMATERS_FHE_SEED_BYTES],
                            uint64_t domain,
                            uint8_t out[AMATERS_FHE_SEED_BYTES]);

/* Initializes r from a fresh 128-bit seed read from the OS CSPRNG. The
 * seed is wiped from the stack. Same errors as above plus AMATERS_EIO.
 * Fork-safe: the first draw from r in a child process (of fork(2) after
 * this call) reseeds r from the OS, wiping the buffered keystream and the
 * spare Gaussian, so parent and child never share masks or noise (which
 * would reveal the difference of their plaintexts). A failed reseed sets
 * the sticky error. Seeded streams are deterministic by design and are
 * not reseeded. */
int amaters_fhe_rng_init_os(struct amaters_fhe_rng *r, uint64_t domain);

/* Releases and wipes r. Safe on a zeroed struct. */
void amaters_fhe_rng_destroy(struct amaters_fhe_rng *r);

/* Returns the sticky error of r: 0 while every refill succeeded. Callers
 * that generate keys or ciphertexts must check it before using them. */
int amaters_fhe_rng_error(const struct amaters_fhe_rng *r);

/* Next 64 uniform bits. */
uint64_t amaters_fhe_rng_u64(struct amaters_fhe_rng *r);

/* Fills out[0..n) with uniform torus elements. */
void amaters_fhe_rng_fill_u64(struct amaters_fhe_rng *r, uint64_t *out,
                              size_t n);

/* One sample of N(0, 1) by Box-Muller from two 53-bit uniforms: the
 * largest magnitude it can produce is sqrt(2 * 53 * ln 2) = 8.57; below
 * that the density error is that of double precision. log, sin and cos
 * are computed from IEEE basic operations only, so a seeded stream gives
 * bit-identical samples on every build (no libm dependence). */
double amaters_fhe_rng_normal(struct amaters_fhe_rng *r);

/* The deterministic log (x > 0) and sin / cos of 2 pi u (0 <= u < 1) used
 * by the sampler; exposed for tests. */
double amaters_fhe_det_log(double x);
void amaters_fhe_det_sincos_turn(double u, double *sn, double *cs);

/* Torus element round(2^64 * std * N(0,1)); std is a torus fraction. */
uint64_t amaters_fhe_rng_torus_gaussian(struct amaters_fhe_rng *r,
                                        double std);

#endif
