/*
 * fhe_bench.c - amaters-fhe-bench: single-thread timings of the FHE core
 * (key generation, FFT per kernel, key switch, PBS) with the default
 * parameter set. Usage: amaters-fhe-bench [reps]. Keys come from the OS
 * CSPRNG and are discarded. Times are thread CPU time. The integer
 * operation timings (and ks_pbs_ms) are printed by `amaters-fhe bench`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/block.h"
#include "fhe/fft.h"
#include "fhe/keys.h"
#include "fhe/noise.h"

static double now_s(void)
{
    struct timespec ts;

    /* thread CPU time: the machine is shared, wall time is noisy */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void bench_fft(int reps)
{
    static const char *const impls[] = {"portable", "avx2", "avx512"};
    uint64_t *t = amaters_calloc(2048, sizeof(uint64_t));
    double *buf = amaters_malloc(2048 * sizeof(double));

    for (int i = 0; i < 3 && t != NULL && buf != NULL; i++) {
        struct amaters_fhe_fft *f = NULL;
        double t0;

        if (amaters_fhe_fft_new_impl(2048, impls[i], &f) != 0) {
            printf("fft %-8s unsupported on this CPU\n", impls[i]);
            continue;
        }
        t0 = now_s();
        for (int r = 0; r < reps * 100; r++) {
            amaters_fhe_fft_forward_torus(f, buf, t);
            amaters_fhe_fft_backward_add_torus(f, t, buf);
        }
        printf("fft %-8s N=2048 forward+inverse: %.2f us\n", impls[i],
               (now_s() - t0) / (reps * 100) * 1e6);
        amaters_fhe_fft_free(f);
    }
    amaters_free(t);
    amaters_free(buf);
}

int main(int argc, char **argv)
{
    const struct amaters_fhe_params *p = &amaters_fhe_param_msg2_carry2;
    struct amaters_fhe_client_key *ck = NULL;
    struct amaters_fhe_server_key *sk = NULL;
    struct amaters_fhe_eval *ev = NULL;
    struct amaters_fhe_block b;
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    double t0, tks = 0, tpbs = 0;
    int rc;

    if (reps < 1)
        reps = 1;
    b.ct = NULL;
    printf("params %s: n=%u k=%u N=%u, model log2 p_fail %.2f\n", p->name,
           p->lwe_dim, p->glwe_dim, p->poly_size,
           amaters_fhe_noise_log2_pfail(p));
    bench_fft(reps);
    t0 = now_s();
    rc = amaters_fhe_client_key_new(p, NULL, &ck);
    if (rc == 0)
        rc = amaters_fhe_server_key_new(ck, NULL, &sk);
    if (rc == 0)
        printf("keygen (client + server): %.1f ms\n", (now_s() - t0) * 1e3);
    if (rc == 0)
        rc = amaters_fhe_eval_new(sk, &ev);
    if (rc == 0)
        rc = amaters_fhe_block_init(&b, p);
    if (rc == 0)
        rc = amaters_fhe_block_encrypt(ck, 2, &b);
    if (rc != 0)
        goto out;
    for (int i = 0; i < reps; i++) {
        t0 = now_s();
        amaters_fhe_keyswitch(&sk->ksk, ev->small, b.ct);
        tks += now_s() - t0;
        t0 = now_s();
        amaters_fhe_pbs(&sk->bsk, sk->fft, b.ct, ev->small,
                        ev->lut_clean->poly, ev->sc);
        tpbs += now_s() - t0;
    }
    printf("key switch: %.2f ms\nPBS (%s FFT): %.2f ms\n"
           "KS-PBS: %.2f ms (single thread, %d reps)\n",
           tks / reps * 1e3, amaters_fhe_fft_impl_name(sk->fft),
           tpbs / reps * 1e3, (tks + tpbs) / reps * 1e3, reps);
out:
    if (rc != 0)
        fprintf(stderr, "amaters-fhe-bench: %s\n", amaters_strerror(rc));
    amaters_fhe_block_destroy(&b);
    amaters_fhe_eval_free(ev);
    amaters_fhe_server_key_free(sk);
    amaters_fhe_client_key_free(ck);
    return rc == 0 ? 0 : 1;
}
