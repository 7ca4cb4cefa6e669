/*
 * engine_conformance_int.h - private to the engine conformance suite
 * (engine_conformance*.c): the fixture, byte-string helpers that assert
 * through cmocka (main thread only), and the case tables each file
 * contributes to the runner.
 */
#ifndef AMATERS_TESTS_ENGINE_CONFORMANCE_INT_H
#define AMATERS_TESTS_ENGINE_CONFORMANCE_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/engine.h"

/* What the runner passes to every test as its initial state. */
struct suite {
    const struct amaters_engine_ops *ops;
    const char *scratch;
    bool persistent;
};

/* Per-test fixture (the test's *state): a fresh engine in a fresh
 * directory, opened with opts. */
struct fixture {
    const struct suite *s;
    struct amaters_engine_options opts;
    struct amaters_engine *e;
    char dir[PATH_MAX];
};

/* A borrowed byte string; B("lit") spans a literal without its NUL. */
struct bytes {
    const uint8_t *p;
    size_t n;
};
#define B(s) {(const uint8_t *)(s), sizeof(s) - 1}
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* One conformance case and the tables the runner concatenates. */
struct ec_case {
    const char *name;
    void (*fn)(void **state);
};
#define EC_CASE(fn) {#fn, fn}
extern const struct ec_case ec_basic_cases[];
extern const size_t ec_basic_count;
extern const struct ec_case ec_mt_cases[];
extern const size_t ec_mt_count;

/* (Re)opens f->e with f->opts / closes it; both assert. */
void ec_open_engine(struct fixture *f);
void ec_close_engine(struct fixture *f);

/* Single-op writes and reads that assert success / the expected result. */
void ec_put(struct amaters_engine *e, struct bytes k, struct bytes v);
void ec_del(struct amaters_engine *e, struct bytes k);
void ec_check_value(struct amaters_engine *e, struct bytes k,
                    struct bytes v);
void ec_check_missing(struct amaters_engine *e, struct bytes k);
void ec_check_stats(struct amaters_engine *e, uint64_t keys, uint64_t bytes);

/* Scans [start, end) (end NULL: unbounded) and checks the keys are
 * want[0..n) in order, and the values vals[0..n) unless vals is NULL.
 * Failure messages start with ec_scan_ctx (cleared after each scan). */
void ec_check_scan(struct amaters_engine *e, struct bytes start,
                   const struct bytes *end, const struct bytes *want,
                   const struct bytes *vals, size_t n);
extern char ec_scan_ctx[64];

/* Unsigned byte-order comparison (<0, 0, >0); thread-safe. */
int ec_bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);

/* xorshift64 step; *s must not be 0. Thread-safe on distinct states. */
uint64_t ec_rng_next(uint64_t *s);

/* A malloc'ed (free with free()) buffer of n pseudo-random bytes. */
uint8_t *ec_pattern(size_t n, unsigned seed);

#endif
