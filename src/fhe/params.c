/*
 * params.c - the static TFHE parameter tables and their sanity checks.
 *
 * Values copied from the published TFHE-rs parameter set named in
 * params.h; see docs/internals/fhe.md for the noise model they imply.
 */
#include "fhe/params.h"

#include <stddef.h>

#include "core/errors.h"

const struct amaters_fhe_params amaters_fhe_param_msg2_carry2 = {
    .id = AMATERS_FHE_PARAM_MSG2_CARRY2_KS_PBS,
    .name = "PARAM_MESSAGE_2_CARRY_2_KS_PBS",
    .lwe_dim = 834,
    .glwe_dim = 1,
    .poly_size = 2048,
    .lwe_noise_std = 3.5539902359442825e-06,
    .glwe_noise_std = 2.845267479601915e-15,
    .pbs_base_log = 23,
    .pbs_level = 1,
    .ks_base_log = 3,
    .ks_level = 5,
    .message_modulus = 4,
    .carry_modulus = 4,
    .max_noise_level = 5,
    .log2_p_fail = -64.074,
};

const struct amaters_fhe_params *amaters_fhe_params_get(uint32_t id)
{
    if (id == AMATERS_FHE_PARAM_MSG2_CARRY2_KS_PBS)
        return &amaters_fhe_param_msg2_carry2;
    return NULL;
}

static int is_pow2(uint32_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

uint32_t amaters_fhe_params_delta_log(const struct amaters_fhe_params *p)
{
    uint32_t bits = 0;
    uint32_t total = p->message_modulus * p->carry_modulus;

    while ((1u << bits) < total)
        bits++;
    return 63 - bits;
}

int amaters_fhe_params_check(const struct amaters_fhe_params *p)
{
    if (p == NULL || p->lwe_dim == 0 || p->glwe_dim == 0)
        return AMATERS_EINVAL;
    if (!is_pow2(p->poly_size) || p->poly_size < 16 || p->poly_size > 65536)
        return AMATERS_EINVAL;
    if (!is_pow2(p->message_modulus) || !is_pow2(p->carry_modulus))
        return AMATERS_EINVAL;
    if (p->message_modulus * p->carry_modulus > p->poly_size / 2)
        return AMATERS_EINVAL;
    if (p->pbs_level == 0 || p->pbs_base_log == 0 ||
        p->pbs_level * p->pbs_base_log > 64)
        return AMATERS_EINVAL;
    if (p->ks_level == 0 || p->ks_base_log == 0 ||
        p->ks_level * p->ks_base_log > 64)
        return AMATERS_EINVAL;
    if (p->max_noise_level == 0)
        return AMATERS_EINVAL;
    return 0;
}
