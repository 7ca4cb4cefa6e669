/*
 * fhe_keys_fixture.h - the key fixture shared by the FHE unit tests:
 * deterministic client and server keys from a seed byte, an evaluation
 * context, and a teardown that reports leaks (leakcheck.h's group mark).
 * Header-only so each test binary stays one source file.
 *
 * A test's fixture struct declares FHE_KEY_FIELDS first, then calls
 * FHE_KEYS_OPEN(&f, seed_byte, threads) in its group setup and
 * FHE_KEYS_CLOSE(&f) last in its teardown.
 */
#ifndef AMATERS_TESTS_FHE_KEYS_FIXTURE_H
#define AMATERS_TESTS_FHE_KEYS_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "fhe/block.h"
#include "fhe/keys.h"
#include "fhe/params.h"
#include "leakcheck.h"

#define FHE_KEY_FIELDS                                                      \
    const struct amaters_fhe_params *p;                                     \
    struct amaters_fhe_client_key *ck;                                      \
    struct amaters_fhe_server_key *sk;                                      \
    struct amaters_fhe_eval *ev;                                            \
    uint8_t server_seed[16] /* also seeds the test's own RNG */

/* Records the live allocation count (leak_group_mark()), then makes a
 * client key from 16 bytes of seed_byte; server key from the same with
 * byte 0 set to seed_byte + 1 (kept in server_seed); an evaluation context
 * with threads threads (0 or 1: single-threaded). Returns 0 or -1. */
static inline int fhe_keys_open(
    uint8_t seed_byte, size_t threads, const struct amaters_fhe_params **p,
    struct amaters_fhe_client_key **ck, struct amaters_fhe_server_key **sk,
    struct amaters_fhe_eval **ev, uint8_t server_seed[16])
{
    uint8_t seed[16];

    leak_group_mark();
    *p = &amaters_fhe_param_msg2_carry2;
    memset(seed, seed_byte, sizeof seed);
    if (amaters_fhe_client_key_new(*p, seed, ck) != 0)
        return -1;
    seed[0] = (uint8_t)(seed_byte + 1);
    memcpy(server_seed, seed, sizeof seed);
    if (amaters_fhe_server_key_new(*ck, seed, sk) != 0)
        return -1;
    return (threads > 1 ? amaters_fhe_eval_new_threads(*sk, threads, ev)
                        : amaters_fhe_eval_new(*sk, ev)) == 0
               ? 0
               : -1;
}

/* Frees what fhe_keys_open made; returns 0 when nothing leaked since
 * fhe_keys_open (leak_group_check()), else -1. */
static inline int fhe_keys_close(struct amaters_fhe_client_key *ck,
                                 struct amaters_fhe_server_key *sk,
                                 struct amaters_fhe_eval *ev)
{
    amaters_fhe_eval_free(ev);
    amaters_fhe_server_key_free(sk);
    amaters_fhe_client_key_free(ck);
    return leak_group_check();
}

#define FHE_KEYS_OPEN(f, seed_byte, threads)                                \
    fhe_keys_open((seed_byte), (threads), &(f)->p, &(f)->ck, &(f)->sk,      \
                  &(f)->ev, (f)->server_seed)
#define FHE_KEYS_CLOSE(f) fhe_keys_close((f)->ck, (f)->sk, (f)->ev)

#endif
