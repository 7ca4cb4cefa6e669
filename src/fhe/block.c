/*
 * block.c - shortint blocks: encryption, degree / noise bookkeeping,
 * linear operations and univariate / bivariate PBS.
 */
#include "fhe/block.h"

#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/lwe.h"
#include "fhe/torus.h"

static size_t big_dim(const struct amaters_fhe_params *p)
{
    return amaters_fhe_params_big_dim(p);
}

static uint32_t space(const struct amaters_fhe_params *p)
{
    return p->message_modulus * p->carry_modulus;
}

int amaters_fhe_block_init(struct amaters_fhe_block *b,
                           const struct amaters_fhe_params *p)
{
    memset(b, 0, sizeof(*b));
    b->ct = amaters_calloc(big_dim(p) + 1, sizeof(uint64_t));
    if (b->ct == NULL)
        return AMATERS_ENOMEM;
    b->params = p;
    return 0;
}

void amaters_fhe_block_destroy(struct amaters_fhe_block *b)
{
    if (b == NULL)
        return;
    amaters_free(b->ct);
    memset(b, 0, sizeof(*b));
}

void amaters_fhe_block_copy(struct amaters_fhe_block *dst,
                            const struct amaters_fhe_block *src)
{
    if (dst == src)
        return;
    memcpy(dst->ct, src->ct, (big_dim(src->params) + 1) * sizeof(uint64_t));
    dst->degree = src->degree;
    dst->noise_level = src->noise_level;
}

static int encrypt_value(struct amaters_fhe_client_key *ck, uint32_t v,
                         uint32_t degree, struct amaters_fhe_block *b)
{
    uint32_t dl = amaters_fhe_params_delta_log(ck->params);
    int rc = amaters_fhe_encrypt_big(ck, amaters_fhe_torus_encode(v, dl),
                                     b->ct);

    if (rc != 0)
        return rc;
    b->degree = degree;
    b->noise_level = 1;
    return 0;
}

int amaters_fhe_block_encrypt(struct amaters_fhe_client_key *ck,
                              uint32_t msg, struct amaters_fhe_block *b)
{
    uint32_t mm = ck->params->message_modulus;

    if (msg >= mm || b->params != ck->params)
        return AMATERS_EINVAL;
    return encrypt_value(ck, msg, mm - 1, b);
}

int amaters_fhe_block_encrypt_raw(struct amaters_fhe_client_key *ck,
                                  uint32_t v, struct amaters_fhe_block *b)
{
    if (v >= space(ck->params) || b->params != ck->params)
        return AMATERS_EINVAL;
    return encrypt_value(ck, v, space(ck->params) - 1, b);
}

int amaters_fhe_block_encrypt_seeded(struct amaters_fhe_client_key *ck,
                                     uint32_t msg,
                                     struct amaters_fhe_block_seeded *out)
{
    const struct amaters_fhe_params *p = ck->params;
    size_t dim = big_dim(p);
    uint32_t dl = amaters_fhe_params_delta_log(p);
    struct amaters_fhe_rng xof;
    uint64_t *ct;
    uint64_t w;
    int rc;

    memset(out, 0, sizeof(*out));
    if (msg >= p->message_modulus)
        return AMATERS_EINVAL;
    for (int i = 0; i < 2; i++) {
        w = amaters_fhe_rng_u64(&ck->mask_rng);
        memcpy(out->seed + 8 * i, &w, 8);
    }
    rc = amaters_fhe_rng_error(&ck->mask_rng);
    if (rc != 0)
        return rc;
    ct = amaters_malloc((dim + 1) * sizeof(uint64_t));
    if (ct == NULL)
        return AMATERS_ENOMEM;
    rc = amaters_fhe_rng_init_seeded(&xof, out->seed, AMATERS_FHE_DOM_MASK);
    if (rc == 0) {
        amaters_fhe_lwe_encrypt(ct, ck->glwe_key, dim,
                                amaters_fhe_torus_encode(msg, dl),
                                p->glwe_noise_std, &xof, &ck->noise_rng);
        rc = amaters_fhe_rng_error(&xof);
        if (rc == 0)
            rc = amaters_fhe_rng_error(&ck->noise_rng);
        amaters_fhe_rng_destroy(&xof);
    }
    if (rc == 0) {
        out->body = ct[dim];
        out->degree = p->message_modulus - 1;
        out->noise_level = 1;
    }
    amaters_free(ct);
    return rc;
}

int amaters_fhe_block_expand(const struct amaters_fhe_block_seeded *in,
                             struct amaters_fhe_block *b)
{
    size_t dim = big_dim(b->params);
    struct amaters_fhe_rng xof;
    int rc = amaters_fhe_rng_init_seeded(&xof, in->seed,
                                         AMATERS_FHE_DOM_MASK);

    if (rc != 0)
        return rc;
    amaters_fhe_rng_fill_u64(&xof, b->ct, dim);
    rc = amaters_fhe_rng_error(&xof);
    amaters_fhe_rng_destroy(&xof);
    b->ct[dim] = in->body;
    b->degree = in->degree;
    b->noise_level = in->noise_level;
    return rc;
}

int amaters_fhe_block_decrypt(const struct amaters_fhe_client_key *ck,
                              const struct amaters_fhe_block *b,
                              uint32_t *v)
{
    uint32_t dl = amaters_fhe_params_delta_log(ck->params);
    uint64_t x = amaters_fhe_torus_decode(amaters_fhe_phase_big(ck, b->ct),
                                          dl, 2 * (uint64_t)space(ck->params));

    *v = 0;
    if (x >= space(ck->params))
        return AMATERS_ECORRUPT;
    *v = (uint32_t)x;
    return 0;
}

void amaters_fhe_block_set_trivial(struct amaters_fhe_block *b, uint32_t v)
{
    uint32_t dl = amaters_fhe_params_delta_log(b->params);

    v %= space(b->params);
    amaters_fhe_lwe_trivial(b->ct, big_dim(b->params),
                            amaters_fhe_torus_encode(v, dl));
    b->degree = v;
    b->noise_level = 0;
}

int amaters_fhe_block_can_add(const struct amaters_fhe_block *a,
                              const struct amaters_fhe_block *b)
{
    const struct amaters_fhe_params *p = a->params;

    return a->params == b->params &&
           (uint64_t)a->degree + b->degree < space(p) &&
           (uint64_t)a->noise_level + b->noise_level <= p->max_noise_level;
}

int amaters_fhe_block_add_assign(struct amaters_fhe_block *a,
                                 const struct amaters_fhe_block *b)
{
    if (!amaters_fhe_block_can_add(a, b))
        return AMATERS_EINVAL;
    amaters_fhe_lwe_add(a->ct, a->ct, b->ct, big_dim(a->params));
    a->degree += b->degree;
    a->noise_level += b->noise_level;
    return 0;
}

int amaters_fhe_block_add_scalar(struct amaters_fhe_block *a, uint32_t c)
{
    uint32_t dl = amaters_fhe_params_delta_log(a->params);

    if ((uint64_t)a->degree + c >= space(a->params))
        return AMATERS_EINVAL;
    amaters_fhe_lwe_add_plain(a->ct, big_dim(a->params),
                              amaters_fhe_torus_encode(c, dl));
    a->degree += c;
    return 0;
}

int amaters_fhe_block_mul_scalar(struct amaters_fhe_block *a, uint32_t c)
{
    const struct amaters_fhe_params *p = a->params;

    if ((uint64_t)a->degree * c >= space(p) ||
        (uint64_t)a->noise_level * c > p->max_noise_level)
        return AMATERS_EINVAL;
    amaters_fhe_lwe_mul_scalar(a->ct, a->ct, c, big_dim(p));
    a->degree *= c;
    a->noise_level *= c;
    return 0;
}

int amaters_fhe_block_neg(struct amaters_fhe_block *a)
{
    const struct amaters_fhe_params *p = a->params;
    uint32_t mm = p->message_modulus;
    uint32_t z = (a->degree + mm - 1) / mm * mm;
    uint32_t dl = amaters_fhe_params_delta_log(p);

    if (z >= space(p))
        return AMATERS_EINVAL;
    amaters_fhe_lwe_neg(a->ct, a->ct, big_dim(p));
    amaters_fhe_lwe_add_plain(a->ct, big_dim(p),
                              amaters_fhe_torus_encode(z, dl));
    a->degree = z;
    return 0;
}

static int lut_alloc(const struct amaters_fhe_params *p,
                     struct amaters_fhe_lut **out)
{
    struct amaters_fhe_lut *lut;

    *out = NULL;
    if (space(p) > AMATERS_FHE_LUT_MAX)
        return AMATERS_EINVAL;
    lut = amaters_calloc(1, sizeof(*lut));
    if (lut == NULL)
        return AMATERS_ENOMEM;
    lut->poly = amaters_malloc(p->poly_size * sizeof(uint64_t));
    if (lut->poly == NULL) {
        amaters_free(lut);
        return AMATERS_ENOMEM;
    }
    lut->params = p;
    lut->count = space(p);
    *out = lut;
    return 0;
}

static void lut_finish(struct amaters_fhe_lut *lut)
{
    uint64_t vals[AMATERS_FHE_LUT_MAX];
    uint32_t dl = amaters_fhe_params_delta_log(lut->params);

    for (uint32_t x = 0; x < lut->count; x++)
        vals[x] = amaters_fhe_torus_encode(lut->table[x], dl);
    amaters_fhe_lut_fill(lut->poly, lut->params->poly_size, lut->count,
                         vals);
}

int amaters_fhe_lut_new(const struct amaters_fhe_params *p,
                        amaters_fhe_fn1_cb fn, void *arg,
                        struct amaters_fhe_lut **out)
{
    int rc = lut_alloc(p, out);

    if (rc != 0)
        return rc;
    for (uint32_t x = 0; x < (*out)->count; x++)
        (*out)->table[x] = fn(x, arg) % (*out)->count;
    lut_finish(*out);
    return 0;
}

int amaters_fhe_lut_new_half(const struct amaters_fhe_params *p,
                             amaters_fhe_fnh_cb fn, void *arg,
                             struct amaters_fhe_lut **out)
{
    uint64_t vals[AMATERS_FHE_LUT_MAX];
    uint32_t dl = amaters_fhe_params_delta_log(p);
    int rc = lut_alloc(p, out);

    if (rc != 0)
        return rc;
    /* table stays 0: outputs are not values of the message space */
    for (uint32_t x = 0; x < (*out)->count; x++)
        vals[x] = (uint64_t)(int64_t)fn(x, arg) << (dl - 1);
    amaters_fhe_lut_fill((*out)->poly, p->poly_size, (*out)->count, vals);
    return 0;
}

int amaters_fhe_lut2_new(const struct amaters_fhe_params *p,
                         amaters_fhe_fn2_cb fn, void *arg,
                         struct amaters_fhe_lut **out)
{
    uint32_t mm = p->message_modulus;
    int rc = lut_alloc(p, out);

    if (rc != 0)
        return rc;
    /* Packed input x * mm + y; inputs beyond mm * mm never occur. */
    for (uint32_t v = 0; v < (*out)->count; v++) {
        uint32_t x = v / mm, y = v % mm;

        (*out)->table[v] = x < mm ? fn(x, y, arg) % (*out)->count : 0;
    }
    lut_finish(*out);
    return 0;
}

void amaters_fhe_lut_free(struct amaters_fhe_lut *lut)
{
    if (lut == NULL)
        return;
    amaters_free(lut->poly);
    amaters_free(lut);
}
