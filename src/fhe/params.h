/*
 * params.h - TFHE parameter sets.
 *
 * A parameter set fixes every dimension, noise level and decomposition of
 * the scheme. Sets are immutable static tables; any thread may read them.
 * The one set shipped today is TFHE-rs PARAM_MESSAGE_2_CARRY_2_KS_PBS, an
 * alias of PARAM_MESSAGE_2_CARRY_2_KS_PBS_GAUSSIAN_2M64 (TFHE-rs 0.8-0.10,
 * tfhe/src/shortint/parameters/classic/gaussian/p_fail_2_minus_64/
 * ks_pbs.rs; "p-fail = 2^-64.074, 2-norm = 5"),
 * 128-bit security, Gaussian noise, failure probability 2^-64.07 per PBS,
 * key switch before PBS ("big" key: ciphertexts rest under the k*N key).
 * Noise standard deviations are fractions of the torus (multiply by 2^64
 * for the integer representation).
 */
#ifndef AMATERS_FHE_PARAMS_H
#define AMATERS_FHE_PARAMS_H

#include <stdint.h>

enum amaters_fhe_param_id {
    AMATERS_FHE_PARAM_MSG2_CARRY2_KS_PBS = 1,
};

struct amaters_fhe_params {
    uint32_t id;
    const char *name;
    uint32_t lwe_dim;           /* n: small LWE key (PBS input) */
    uint32_t glwe_dim;          /* k */
    uint32_t poly_size;         /* N, power of two */
    double lwe_noise_std;       /* KSK noise, torus fraction */
    double glwe_noise_std;      /* BSK and fresh big-key noise */
    uint32_t pbs_base_log;
    uint32_t pbs_level;
    uint32_t ks_base_log;
    uint32_t ks_level;
    uint32_t message_modulus;   /* 4 */
    uint32_t carry_modulus;     /* 4 */
    uint32_t max_noise_level;   /* sums of blocks allowed before a PBS */
    double log2_p_fail;
};

/* The default set: n=834, k=1, N=2048, PBS 23/1, KS 3/5, 2+2 bits. */
extern const struct amaters_fhe_params amaters_fhe_param_msg2_carry2;

/* Returns the static parameter set with the given id, or NULL. */
const struct amaters_fhe_params *amaters_fhe_params_get(uint32_t id);

/* Big LWE dimension k*N (dimension of stored ciphertexts). */
static inline uint32_t amaters_fhe_params_big_dim(
    const struct amaters_fhe_params *p)
{
    return p->glwe_dim * p->poly_size;
}

/* log2 of the encoding step Delta = 2^63 / (message * carry): the top bit
 * is the padding bit. */
uint32_t amaters_fhe_params_delta_log(const struct amaters_fhe_params *p);

/* Returns 0 when the set is internally consistent (powers of two, decomp
 * fits 64 bits, ...), AMATERS_EINVAL otherwise. */
int amaters_fhe_params_check(const struct amaters_fhe_params *p);

#endif
