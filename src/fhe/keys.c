/*
 * keys.c - client and server key generation, big-key encrypt/decrypt.
 */
#include "fhe/keys.h"

#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/lwe.h"

static void fill_bits(struct amaters_fhe_rng *r, uint64_t *out, size_t n)
{
    uint64_t w = 0;

    for (size_t i = 0; i < n; i++) {
        if (i % 64 == 0)
            w = amaters_fhe_rng_u64(r);
        out[i] = (w >> (i % 64)) & 1;
    }
}

/* Derives the streams of a key: from the OS, or from (seed, domain). */
static int rng_for(struct amaters_fhe_rng *r, const uint8_t *seed,
                   uint64_t domain)
{
    if (seed == NULL)
        return amaters_fhe_rng_init_os(r, domain);
    return amaters_fhe_rng_init_seeded(r, seed, domain);
}

/* Allocates ck with its arrays and FFT plan (keys zero, no rngs). */
static int ck_alloc(const struct amaters_fhe_params *params,
                    struct amaters_fhe_client_key **out)
{
    struct amaters_fhe_client_key *ck;
    size_t big = amaters_fhe_params_big_dim(params);
    int rc;

    *out = NULL;
    ck = amaters_calloc(1, sizeof(*ck));
    if (ck == NULL)
        return AMATERS_ENOMEM;
    ck->params = params;
    ck->lwe_key = amaters_calloc(params->lwe_dim, sizeof(uint64_t));
    ck->glwe_key = amaters_calloc(big, sizeof(uint64_t));
    ck->glwe_key_fft = amaters_calloc(big, sizeof(double));
    rc = ck->lwe_key && ck->glwe_key && ck->glwe_key_fft ? 0
                                                         : AMATERS_ENOMEM;
    if (rc == 0)
        rc = amaters_fhe_fft_new(params->poly_size, &ck->fft);
    if (rc != 0) {
        amaters_fhe_client_key_free(ck);
        return rc;
    }
    *out = ck;
    return 0;
}

/* Computes the Fourier form of the GLWE key. */
static int ck_finish(struct amaters_fhe_client_key *ck)
{
    size_t N = ck->params->poly_size;
    int64_t *tmp = amaters_malloc(N * sizeof(int64_t));

    if (tmp == NULL)
        return AMATERS_ENOMEM;
    for (size_t i = 0; i < ck->params->glwe_dim; i++) {
        for (size_t j = 0; j < N; j++)
            tmp[j] = (int64_t)ck->glwe_key[i * N + j];
        amaters_fhe_fft_forward_i64(ck->fft, ck->glwe_key_fft + i * N, tmp);
    }
    amaters_free_secret(tmp, N * sizeof(int64_t));
    return 0;
}

int amaters_fhe_client_key_new(const struct amaters_fhe_params *params,
                               const uint8_t *seed,
                               struct amaters_fhe_client_key **out)
{
    struct amaters_fhe_client_key *ck = NULL;
    struct amaters_fhe_rng secret;
    int rc;

    *out = NULL;
    memset(&secret, 0, sizeof(secret));
    rc = amaters_fhe_params_check(params);
    if (rc == 0)
        rc = ck_alloc(params, &ck);
    if (rc == 0)
        rc = rng_for(&secret, seed, AMATERS_FHE_DOM_SECRET);
    if (rc == 0)
        rc = rng_for(&ck->noise_rng, seed, AMATERS_FHE_DOM_NOISE);
    if (rc == 0)
        rc = rng_for(&ck->mask_rng, seed, AMATERS_FHE_DOM_MASK);
    if (rc == 0) {
        fill_bits(&secret, ck->lwe_key, params->lwe_dim);
        fill_bits(&secret, ck->glwe_key, amaters_fhe_params_big_dim(params));
        rc = amaters_fhe_rng_error(&secret);
    }
    if (rc == 0)
        rc = ck_finish(ck);
    amaters_fhe_rng_destroy(&secret);
    if (rc != 0) {
        amaters_fhe_client_key_free(ck);
        return rc;
    }
    *out = ck;
    return 0;
}

int amaters_fhe_client_key_from_bits(const struct amaters_fhe_params *params,
                                     const uint64_t *lwe_key,
                                     const uint64_t *glwe_key,
                                     struct amaters_fhe_client_key **out)
{
    struct amaters_fhe_client_key *ck = NULL;
    size_t big = amaters_fhe_params_big_dim(params);
    int rc;

    *out = NULL;
    rc = amaters_fhe_params_check(params);
    for (size_t i = 0; rc == 0 && i < params->lwe_dim; i++)
        rc = lwe_key[i] > 1 ? AMATERS_EINVAL : 0;
    for (size_t i = 0; rc == 0 && i < big; i++)
        rc = glwe_key[i] > 1 ? AMATERS_EINVAL : 0;
    if (rc == 0)
        rc = ck_alloc(params, &ck);
    if (rc != 0)
        return rc;
    memcpy(ck->lwe_key, lwe_key, params->lwe_dim * sizeof(uint64_t));
    memcpy(ck->glwe_key, glwe_key, big * sizeof(uint64_t));
    rc = amaters_fhe_rng_init_os(&ck->noise_rng, AMATERS_FHE_DOM_NOISE);
    if (rc == 0)
        rc = amaters_fhe_rng_init_os(&ck->mask_rng, AMATERS_FHE_DOM_MASK);
    if (rc == 0)
        rc = ck_finish(ck);
    if (rc != 0) {
        amaters_fhe_client_key_free(ck);
        return rc;
    }
    *out = ck;
    return 0;
}

void amaters_fhe_client_key_free(struct amaters_fhe_client_key *ck)
{
    const struct amaters_fhe_params *p;
    size_t big;

    if (ck == NULL)
        return;
    p = ck->params;
    big = amaters_fhe_params_big_dim(p);
    if (ck->lwe_key != NULL)
        amaters_free_secret(ck->lwe_key, p->lwe_dim * sizeof(uint64_t));
    if (ck->glwe_key != NULL)
        amaters_free_secret(ck->glwe_key, big * sizeof(uint64_t));
    if (ck->glwe_key_fft != NULL)
        amaters_free_secret(ck->glwe_key_fft, big * sizeof(double));
    amaters_fhe_fft_free(ck->fft);
    amaters_fhe_rng_destroy(&ck->noise_rng);
    amaters_fhe_rng_destroy(&ck->mask_rng);
    amaters_free_secret(ck, sizeof(*ck));
}

int amaters_fhe_server_key_new(const struct amaters_fhe_client_key *ck,
                               const uint8_t *seed,
                               struct amaters_fhe_server_key **out)
{
    const struct amaters_fhe_params *p = ck->params;
    struct amaters_fhe_server_key *sk;
    struct amaters_fhe_rng noise, mask;
    struct amaters_fhe_ggsw_shape shape = {
        .k = p->glwe_dim, .n = p->poly_size,
        .base_log = p->pbs_base_log, .level = p->pbs_level,
    };
    int rc = 0;

    *out = NULL;
    memset(&noise, 0, sizeof(noise));
    memset(&mask, 0, sizeof(mask));
    sk = amaters_calloc(1, sizeof(*sk));
    if (sk == NULL)
        return AMATERS_ENOMEM;
    sk->params = p;
    if (seed != NULL)      /* public: never the secret seed itself */
        rc = amaters_fhe_seed_derive(seed, AMATERS_FHE_DOM_KEY_MASK_SEED,
                                     sk->mask_seed);
    else
        rc = amaters_fhe_os_random(sk->mask_seed, AMATERS_FHE_SEED_BYTES);
    if (rc == 0)
        rc = amaters_fhe_fft_new(p->poly_size, &sk->fft);
    if (rc == 0)
        rc = rng_for(&noise, seed, AMATERS_FHE_DOM_KEY_NOISE);
    if (rc == 0)
        rc = amaters_fhe_rng_init_seeded(&mask, sk->mask_seed,
                                         AMATERS_FHE_DOM_KEY_MASK);
    if (rc == 0)
        rc = amaters_fhe_ksk_generate(&sk->ksk, ck->glwe_key,
                                      amaters_fhe_params_big_dim(p),
                                      ck->lwe_key, p->lwe_dim,
                                      p->ks_base_log, p->ks_level,
                                      p->lwe_noise_std, &mask, &noise);
    if (rc == 0)
        rc = amaters_fhe_bsk_generate(&sk->bsk, ck->lwe_key, p->lwe_dim,
                                      ck->glwe_key, ck->glwe_key_fft, &shape,
                                      sk->fft,
                                      p->glwe_noise_std, &mask, &noise);
    amaters_fhe_rng_destroy(&noise);
    amaters_fhe_rng_destroy(&mask);
    if (rc != 0) {
        amaters_fhe_server_key_free(sk);
        return rc;
    }
    *out = sk;
    return 0;
}

void amaters_fhe_server_key_free(struct amaters_fhe_server_key *sk)
{
    if (sk == NULL)
        return;
    amaters_fhe_bsk_destroy(&sk->bsk);
    amaters_fhe_ksk_destroy(&sk->ksk);
    amaters_fhe_fft_free(sk->fft);
    amaters_free(sk);
}

int amaters_fhe_encrypt_big(struct amaters_fhe_client_key *ck, uint64_t pt,
                            uint64_t *ct)
{
    amaters_fhe_lwe_encrypt(ct, ck->glwe_key,
                            amaters_fhe_params_big_dim(ck->params), pt,
                            ck->params->glwe_noise_std, &ck->mask_rng,
                            &ck->noise_rng);
    if (amaters_fhe_rng_error(&ck->mask_rng) != 0)
        return amaters_fhe_rng_error(&ck->mask_rng);
    return amaters_fhe_rng_error(&ck->noise_rng);
}

uint64_t amaters_fhe_phase_big(const struct amaters_fhe_client_key *ck,
                               const uint64_t *ct)
{
    return amaters_fhe_lwe_phase(ct, ck->glwe_key,
                                 amaters_fhe_params_big_dim(ck->params));
}

uint64_t amaters_fhe_phase_small(const struct amaters_fhe_client_key *ck,
                                 const uint64_t *ct)
{
    return amaters_fhe_lwe_phase(ct, ck->lwe_key, ck->params->lwe_dim);
}
