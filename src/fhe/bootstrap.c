/*
 * bootstrap.c - BSK generation, LUT layout, blind rotation and PBS.
 */
#include "fhe/bootstrap.h"

#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/glwe.h"
#include "fhe/mem.h"
#include "fhe/poly.h"
#include "fhe/torus.h"

int amaters_fhe_bsk_alloc(struct amaters_fhe_bsk *bsk, size_t lwe_dim,
                          const struct amaters_fhe_ggsw_shape *shape)
{
    size_t len = amaters_fhe_ggsw_fft_len(shape);

    memset(bsk, 0, sizeof(*bsk));
    bsk->fft = amaters_fhe_alloc_large(lwe_dim * len * sizeof(double));
    if (bsk->fft == NULL)
        return AMATERS_ENOMEM;
    bsk->shape = *shape;
    bsk->lwe_dim = lwe_dim;
    return 0;
}

int amaters_fhe_bsk_generate(struct amaters_fhe_bsk *bsk,
                             const uint64_t *lwe_key, size_t lwe_dim,
                             const uint64_t *glwe_key,
                             const double *glwe_key_fft,
                             const struct amaters_fhe_ggsw_shape *shape,
                             const struct amaters_fhe_fft *f, double std,
                             struct amaters_fhe_rng *mask_rng,
                             struct amaters_fhe_rng *noise_rng)
{
    size_t len = amaters_fhe_ggsw_fft_len(shape);
    int rc = 0;

    rc = amaters_fhe_bsk_alloc(bsk, lwe_dim, shape);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < lwe_dim && rc == 0; i++)
        rc = amaters_fhe_ggsw_encrypt_fft(bsk->fft + i * len, shape,
                                          lwe_key[i], glwe_key, glwe_key_fft,
                                          f, std, mask_rng, noise_rng);
    if (rc == 0)
        rc = amaters_fhe_rng_error(mask_rng);
    if (rc == 0)
        rc = amaters_fhe_rng_error(noise_rng);
    if (rc != 0)
        amaters_fhe_bsk_destroy(bsk);
    return rc;
}

void amaters_fhe_bsk_destroy(struct amaters_fhe_bsk *bsk)
{
    if (bsk == NULL)
        return;
    amaters_free(bsk->fft);
    memset(bsk, 0, sizeof(*bsk));
}

int amaters_fhe_pbs_scratch_new(const struct amaters_fhe_bsk *bsk,
                                struct amaters_fhe_pbs_scratch **out)
{
    struct amaters_fhe_pbs_scratch *sc = amaters_calloc(1, sizeof(*sc));
    size_t words = (bsk->shape.k + 1) * bsk->shape.n;
    int rc;

    *out = NULL;
    if (sc == NULL)
        return AMATERS_ENOMEM;
    rc = amaters_fhe_ep_scratch_new(&bsk->shape, &sc->ep);
    if (rc == 0) {
        sc->acc = amaters_malloc(words * sizeof(uint64_t));
        if (sc->acc == NULL)
            rc = AMATERS_ENOMEM;
    }
    if (rc != 0) {
        amaters_fhe_pbs_scratch_free(sc);
        return rc;
    }
    *out = sc;
    return 0;
}

void amaters_fhe_pbs_scratch_free(struct amaters_fhe_pbs_scratch *sc)
{
    if (sc == NULL)
        return;
    amaters_fhe_ep_scratch_free(sc->ep);
    amaters_free(sc->acc);
    amaters_free(sc);
}

void amaters_fhe_lut_fill(uint64_t *lut, size_t n, size_t count,
                          const uint64_t *values)
{
    size_t box = n / count;

    /* Coefficient j answers phase j (in units of 1/2N): message
     * round(j / box). The top half box answers the small negative phases
     * of message 0 through the negacyclic wrap, hence -values[0]. */
    for (size_t j = 0; j < n; j++) {
        size_t m = (j + box / 2) / box;

        lut[j] = m < count ? values[m] : (uint64_t)0 - values[0];
    }
}

static uint32_t log2_size(size_t x)
{
    uint32_t r = 0;

    while (((size_t)1 << r) < x)
        r++;
    return r;
}

void amaters_fhe_blind_rotate(const struct amaters_fhe_bsk *bsk,
                              const struct amaters_fhe_fft *f,
                              const uint64_t *lwe_in, const uint64_t *lut,
                              struct amaters_fhe_pbs_scratch *sc)
{
    const struct amaters_fhe_ggsw_shape *s = &bsk->shape;
    size_t n = s->n, two_n = 2 * n;
    uint32_t log2n2 = log2_size(two_n);
    size_t len = amaters_fhe_ggsw_fft_len(s);
    uint64_t b = amaters_fhe_torus_mod_switch(lwe_in[bsk->lwe_dim], log2n2);

    memset(sc->acc, 0, s->k * n * sizeof(uint64_t));
    amaters_fhe_poly_mul_monomial(sc->acc + s->k * n, lut,
                                  (two_n - b) % two_n, n);
    for (size_t i = 0; i < bsk->lwe_dim; i++) {
        uint64_t a = amaters_fhe_torus_mod_switch(lwe_in[i], log2n2);

        amaters_fhe_cmux_rotate(sc->acc, bsk->fft + i * len, a, s, f,
                                sc->ep);
    }
}

void amaters_fhe_pbs(const struct amaters_fhe_bsk *bsk,
                     const struct amaters_fhe_fft *f, uint64_t *out,
                     const uint64_t *in, const uint64_t *lut,
                     struct amaters_fhe_pbs_scratch *sc)
{
    amaters_fhe_blind_rotate(bsk, f, in, lut, sc);
    amaters_fhe_glwe_sample_extract(out, sc->acc, bsk->shape.k,
                                    bsk->shape.n, 0);
}
