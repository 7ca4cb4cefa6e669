/*
 * ggsw.c - GGSW encryption to Fourier form, external product and CMUX.
 */
#include "fhe/ggsw.h"

#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/decomp.h"
#include "fhe/glwe.h"
#include "fhe/poly.h"

size_t amaters_fhe_ggsw_fft_len(const struct amaters_fhe_ggsw_shape *s)
{
    return (s->k + 1) * s->level * (s->k + 1) * s->n;
}

int amaters_fhe_ep_scratch_new(const struct amaters_fhe_ggsw_shape *s,
                               struct amaters_fhe_ep_scratch **out)
{
    struct amaters_fhe_ep_scratch *sc = amaters_calloc(1, sizeof(*sc));
    size_t n = s->n, k1 = s->k + 1;

    *out = NULL;
    if (sc == NULL)
        return AMATERS_ENOMEM;
    sc->dec_fft = amaters_malloc((s->level > k1 ? s->level : k1) * n *
                                 sizeof(double));
    sc->acc_fft = amaters_malloc(k1 * n * sizeof(double));
    sc->diff = amaters_malloc(k1 * n * sizeof(uint64_t));
    if (sc->dec_fft == NULL || sc->acc_fft == NULL ||
        sc->diff == NULL) {
        amaters_fhe_ep_scratch_free(sc);
        return AMATERS_ENOMEM;
    }
    *out = sc;
    return 0;
}

void amaters_fhe_ep_scratch_free(struct amaters_fhe_ep_scratch *sc)
{
    if (sc == NULL)
        return;
    amaters_free(sc->dec_fft);
    amaters_free(sc->acc_fft);
    amaters_free(sc->diff);
    amaters_free(sc);
}

int amaters_fhe_ggsw_row_encrypt(uint64_t *row,
                                 const struct amaters_fhe_ggsw_shape *s,
                                 size_t i, uint32_t j, uint64_t mu,
                                 const uint64_t *key, const double *key_fft,
                                 const struct amaters_fhe_fft *f, double std,
                                 struct amaters_fhe_rng *mask_rng,
                                 struct amaters_fhe_rng *noise_rng)
{
    size_t n = s->n;
    uint64_t g = mu * amaters_fhe_gadget(s->base_log, j);
    uint64_t *pt = amaters_calloc(n, sizeof(uint64_t));
    int rc;

    if (pt == NULL)
        return AMATERS_ENOMEM;
    /* Row (i < k, j) encrypts -mu g_j S_i, row (k, j) encrypts mu g_j: the
     * same phase as adding mu g_j to polynomial i, but the masks stay pure
     * XOF output (needed for the seeded form). */
    if (i < s->k) {
        for (size_t t = 0; t < n; t++)
            pt[t] = (uint64_t)0 - g * key[i * n + t];
    } else {
        pt[0] = g;
    }
    rc = amaters_fhe_glwe_encrypt(row, key_fft, f, s->k, pt, std, mask_rng,
                                  noise_rng);
    amaters_free_secret(pt, n * sizeof(uint64_t));
    return rc;
}

void amaters_fhe_ggsw_row_to_fft(double *dst, const uint64_t *row,
                                 const struct amaters_fhe_ggsw_shape *s,
                                 const struct amaters_fhe_fft *f)
{
    for (size_t c = 0; c <= s->k; c++)
        amaters_fhe_fft_forward_torus(f, dst + c * s->n, row + c * s->n);
}

int amaters_fhe_ggsw_encrypt_fft(double *out,
                                 const struct amaters_fhe_ggsw_shape *s,
                                 uint64_t mu, const uint64_t *key,
                                 const double *key_fft,
                                 const struct amaters_fhe_fft *f, double std,
                                 struct amaters_fhe_rng *mask_rng,
                                 struct amaters_fhe_rng *noise_rng)
{
    size_t n = s->n, k1 = s->k + 1;
    uint64_t *row = amaters_malloc(k1 * n * sizeof(uint64_t));
    int rc = 0;

    if (row == NULL)
        return AMATERS_ENOMEM;
    for (size_t i = 0; i < k1 && rc == 0; i++) {
        for (uint32_t j = 0; j < s->level && rc == 0; j++) {
            rc = amaters_fhe_ggsw_row_encrypt(row, s, i, j, mu, key, key_fft,
                                              f, std, mask_rng, noise_rng);
            if (rc == 0)
                amaters_fhe_ggsw_row_to_fft(
                    out + (i * s->level + j) * k1 * n, row, s, f);
        }
    }
    amaters_free_secret(row, k1 * n * sizeof(uint64_t));
    return rc;
}

void amaters_fhe_external_product_add(uint64_t *out, const double *ggsw,
                                      const uint64_t *in,
                                      const struct amaters_fhe_ggsw_shape *s,
                                      const struct amaters_fhe_fft *f,
                                      struct amaters_fhe_ep_scratch *sc)
{
    size_t n = s->n, k1 = s->k + 1, lv = s->level;

    if (k1 == 2 && lv == 1) {
        /* the default set: both digit transforms, then one fused pass */
        amaters_fhe_fft_forward_decomp(f, sc->dec_fft, in, s->base_log, 1);
        amaters_fhe_fft_forward_decomp(f, sc->dec_fft + n, in + n,
                                       s->base_log, 1);
        amaters_fhe_fft_mac2x2(f, sc->acc_fft, sc->acc_fft + n, sc->dec_fft,
                               sc->dec_fft + n, ggsw);
    } else {
        memset(sc->acc_fft, 0, k1 * n * sizeof(double));
        for (size_t i = 0; i < k1; i++) {
            amaters_fhe_fft_forward_decomp(f, sc->dec_fft, in + i * n,
                                           s->base_log, s->level);
            for (size_t j = 0; j < lv; j++) {
                const double *row = ggsw + (i * lv + j) * k1 * n;

                for (size_t c = 0; c < k1; c++)
                    amaters_fhe_fft_mac(f, sc->acc_fft + c * n,
                                        sc->dec_fft + j * n, row + c * n);
            }
        }
    }
    for (size_t c = 0; c < k1; c++)
        amaters_fhe_fft_backward_add_torus(f, out + c * n,
                                           sc->acc_fft + c * n);
}

void amaters_fhe_cmux_rotate(uint64_t *acc, const double *ggsw,
                             uint64_t rot,
                             const struct amaters_fhe_ggsw_shape *s,
                             const struct amaters_fhe_fft *f,
                             struct amaters_fhe_ep_scratch *sc)
{
    size_t n = s->n, k1 = s->k + 1;

    if (rot % (2 * n) == 0)
        return;
    for (size_t c = 0; c < k1; c++)
        amaters_fhe_poly_mul_monomial_sub(sc->diff + c * n, acc + c * n,
                                          rot, n);
    amaters_fhe_external_product_add(acc, ggsw, sc->diff, s, f, sc);
}
