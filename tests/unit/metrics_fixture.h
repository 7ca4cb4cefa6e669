/*
 * metrics_fixture.h - the fixture shared by the metrics registry's unit tests
 * (test_metrics.c, test_metrics_registry.c): a cmocka setup and teardown that
 * empty the registry and check that no amaters_* allocation leaked, and a
 * check of the exact rendered Prometheus text.
 *
 * Header-only so each test binary stays one source file: each test program
 * includes it once, from its .c file. Everything here is static (inline), so a
 * program that uses only part of it builds warning-free.
 *
 * Threads: the test's main thread only (cmocka's assertions are not
 * thread-safe). Heap memory: nothing here returns any.
 */
#ifndef AMATERS_TESTS_METRICS_FIXTURE_H
#define AMATERS_TESTS_METRICS_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "leakcheck.h"
#include "obs/metrics.h"

/* cmocka setup: empties the metrics registry and records the live
 * allocation count (leak_mark()). Returns 0. */
static inline int setup(void **state)
{
    (void)state;
    amaters_metrics_reset();
    leak_mark();
    return 0;
}

/* cmocka teardown: stops failing allocations, empties the registry and
 * fails the test if an amaters_* allocation outlived it. Returns 0. */
static inline int teardown(void **state)
{
    (void)state;
    amaters_alloc_fail_after(-1);
    amaters_metrics_reset();
    leak_check();
    return 0;
}

/* Renders the registry and fails the test unless the text is exactly
 * expected. */
static inline void assert_render(const char *expected)
{
    char *out = NULL;
    size_t len = 0;

    assert_int_equal(amaters_metrics_render(&out, &len), 0);
    assert_non_null(out);
    assert_int_equal(len, strlen(out));
    if (strcmp(out, expected) != 0)
        fail_msg("rendered:\n%s\nexpected:\n%s", out, expected);
    amaters_free(out);
}

#endif
