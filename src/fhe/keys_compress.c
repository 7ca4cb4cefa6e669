/*
 * keys_compress.c - the seeded (compressed) server key: generation that
 * keeps only ciphertext bodies, and expansion back to a server key by
 * replaying the mask XOF in the order documented in keys.h.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/decomp.h"
#include "fhe/ggsw.h"
#include "fhe/keys.h"
#include "fhe/lwe.h"

static struct amaters_fhe_ggsw_shape pbs_shape(
    const struct amaters_fhe_params *p)
{
    struct amaters_fhe_ggsw_shape s = {
        .k = p->glwe_dim, .n = p->poly_size,
        .base_log = p->pbs_base_log, .level = p->pbs_level,
    };

    return s;
}

static size_t ksk_rows(const struct amaters_fhe_params *p)
{
    return (size_t)amaters_fhe_params_big_dim(p) * p->ks_level;
}

/* Words of BSK bodies: n GGSWs of (k+1)*level rows of N. */
static size_t bsk_body_words(const struct amaters_fhe_params *p)
{
    return (size_t)p->lwe_dim * (p->glwe_dim + 1) * p->pbs_level *
           p->poly_size;
}

void amaters_fhe_server_key_compressed_free(
    struct amaters_fhe_server_key_compressed *c)
{
    if (c == NULL)
        return;
    amaters_free(c->ksk_bodies);
    amaters_free(c->bsk_bodies);
    amaters_free(c);
}

/* KSK bodies, drawing masks and noise exactly as amaters_fhe_ksk_generate
 * does. */
static int compress_ksk(const struct amaters_fhe_client_key *ck,
                        struct amaters_fhe_server_key_compressed *c,
                        struct amaters_fhe_rng *mask,
                        struct amaters_fhe_rng *noise)
{
    const struct amaters_fhe_params *p = ck->params;
    size_t n = p->lwe_dim;
    uint64_t *row = amaters_malloc((n + 1) * sizeof(uint64_t));

    if (row == NULL)
        return AMATERS_ENOMEM;
    for (size_t r = 0; r < ksk_rows(p); r++) {
        size_t i = r / p->ks_level;
        uint32_t j = (uint32_t)(r % p->ks_level);
        uint64_t pt = ck->glwe_key[i] *
                      amaters_fhe_gadget(p->ks_base_log, j);

        amaters_fhe_lwe_encrypt(row, ck->lwe_key, n, pt, p->lwe_noise_std,
                                mask, noise);
        c->ksk_bodies[r] = row[n];
    }
    amaters_free(row);
    return 0;
}

static int compress_bsk(const struct amaters_fhe_client_key *ck,
                        struct amaters_fhe_server_key_compressed *c,
                        struct amaters_fhe_rng *mask,
                        struct amaters_fhe_rng *noise)
{
    const struct amaters_fhe_params *p = ck->params;
    struct amaters_fhe_ggsw_shape s = pbs_shape(p);
    size_t N = s.n, k1 = s.k + 1;
    uint64_t *row = amaters_malloc(k1 * N * sizeof(uint64_t));
    uint64_t *dst = c->bsk_bodies;
    int rc = 0;

    if (row == NULL)
        return AMATERS_ENOMEM;
    for (size_t g = 0; g < p->lwe_dim && rc == 0; g++) {
        for (size_t i = 0; i < k1 && rc == 0; i++) {
            for (uint32_t j = 0; j < s.level && rc == 0; j++) {
                rc = amaters_fhe_ggsw_row_encrypt(
                    row, &s, i, j, ck->lwe_key[g], ck->glwe_key,
                    ck->glwe_key_fft, ck->fft, p->glwe_noise_std, mask,
                    noise);
                if (rc == 0)
                    memcpy(dst, row + s.k * N, N * sizeof(uint64_t));
                dst += N;
            }
        }
    }
    amaters_free(row);
    return rc;
}

int amaters_fhe_server_key_new_compressed(
    const struct amaters_fhe_client_key *ck, const uint8_t *seed,
    struct amaters_fhe_server_key_compressed **out)
{
    const struct amaters_fhe_params *p = ck->params;
    struct amaters_fhe_server_key_compressed *c;
    struct amaters_fhe_rng noise, mask;
    int rc = 0;

    *out = NULL;
    memset(&noise, 0, sizeof(noise));
    memset(&mask, 0, sizeof(mask));
    c = amaters_calloc(1, sizeof(*c));
    if (c == NULL)
        return AMATERS_ENOMEM;
    c->params = p;
    c->ksk_bodies = amaters_malloc(ksk_rows(p) * sizeof(uint64_t));
    c->bsk_bodies = amaters_malloc(bsk_body_words(p) * sizeof(uint64_t));
    if (c->ksk_bodies == NULL || c->bsk_bodies == NULL)
        rc = AMATERS_ENOMEM;
    if (rc == 0 && seed != NULL)   /* public: never the seed itself */
        rc = amaters_fhe_seed_derive(seed, AMATERS_FHE_DOM_KEY_MASK_SEED,
                                     c->mask_seed);
    else if (rc == 0)
        rc = amaters_fhe_os_random(c->mask_seed, AMATERS_FHE_SEED_BYTES);
    if (rc == 0)
        rc = seed != NULL
                 ? amaters_fhe_rng_init_seeded(&noise, seed,
                                               AMATERS_FHE_DOM_KEY_NOISE)
                 : amaters_fhe_rng_init_os(&noise, AMATERS_FHE_DOM_KEY_NOISE);
    if (rc == 0)
        rc = amaters_fhe_rng_init_seeded(&mask, c->mask_seed,
                                         AMATERS_FHE_DOM_KEY_MASK);
    if (rc == 0)
        rc = compress_ksk(ck, c, &mask, &noise);
    if (rc == 0)
        rc = compress_bsk(ck, c, &mask, &noise);
    if (rc == 0)
        rc = amaters_fhe_rng_error(&mask);
    if (rc == 0)
        rc = amaters_fhe_rng_error(&noise);
    amaters_fhe_rng_destroy(&noise);
    amaters_fhe_rng_destroy(&mask);
    if (rc != 0) {
        amaters_fhe_server_key_compressed_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static int expand_ksk(const struct amaters_fhe_server_key_compressed *c,
                      struct amaters_fhe_ksk *ksk,
                      struct amaters_fhe_rng *mask)
{
    size_t n = ksk->out_dim;
    uint64_t *row = amaters_malloc((n + 1) * sizeof(uint64_t));

    if (row == NULL)
        return AMATERS_ENOMEM;
    for (size_t r = 0; r < ksk_rows(c->params); r++) {
        amaters_fhe_rng_fill_u64(mask, row, n);
        row[n] = c->ksk_bodies[r];
        amaters_fhe_ksk_set_row(ksk, r, row);
    }
    amaters_free(row);
    return 0;
}

static int expand_bsk(const struct amaters_fhe_server_key_compressed *c,
                      struct amaters_fhe_server_key *sk,
                      struct amaters_fhe_rng *mask)
{
    struct amaters_fhe_ggsw_shape s = pbs_shape(c->params);
    size_t N = s.n, k1 = s.k + 1, len = amaters_fhe_ggsw_fft_len(&s);
    uint64_t *row = amaters_malloc(k1 * N * sizeof(uint64_t));
    const uint64_t *src = c->bsk_bodies;

    if (row == NULL)
        return AMATERS_ENOMEM;
    for (size_t g = 0; g < c->params->lwe_dim; g++) {
        for (size_t r = 0; r < k1 * s.level; r++) {
            amaters_fhe_rng_fill_u64(mask, row, s.k * N);
            memcpy(row + s.k * N, src, N * sizeof(uint64_t));
            src += N;
            amaters_fhe_ggsw_row_to_fft(sk->bsk.fft + g * len + r * k1 * N,
                                        row, &s, sk->fft);
        }
    }
    amaters_free(row);
    return 0;
}

int amaters_fhe_server_key_decompress(
    const struct amaters_fhe_server_key_compressed *c,
    struct amaters_fhe_server_key **out)
{
    const struct amaters_fhe_params *p = c->params;
    struct amaters_fhe_ggsw_shape s = pbs_shape(p);
    struct amaters_fhe_server_key *sk;
    struct amaters_fhe_rng mask;
    int rc;

    *out = NULL;
    memset(&mask, 0, sizeof(mask));
    sk = amaters_calloc(1, sizeof(*sk));
    if (sk == NULL)
        return AMATERS_ENOMEM;
    sk->params = p;
    memcpy(sk->mask_seed, c->mask_seed, AMATERS_FHE_SEED_BYTES);
    rc = amaters_fhe_fft_new(p->poly_size, &sk->fft);
    if (rc == 0)
        rc = amaters_fhe_ksk_alloc(&sk->ksk, amaters_fhe_params_big_dim(p),
                                   p->lwe_dim, p->ks_base_log, p->ks_level);
    if (rc == 0)
        rc = amaters_fhe_bsk_alloc(&sk->bsk, p->lwe_dim, &s);
    if (rc == 0)
        rc = amaters_fhe_rng_init_seeded(&mask, c->mask_seed,
                                         AMATERS_FHE_DOM_KEY_MASK);
    if (rc == 0)
        rc = expand_ksk(c, &sk->ksk, &mask);
    if (rc == 0)
        rc = expand_bsk(c, sk, &mask);
    if (rc == 0)
        rc = amaters_fhe_rng_error(&mask);
    amaters_fhe_rng_destroy(&mask);
    if (rc != 0) {
        amaters_fhe_server_key_free(sk);
        return rc;
    }
    *out = sk;
    return 0;
}
