/*
 * toml_fixture.h - the fixture shared by the TOML parser's unit tests
 * (test_toml.c, test_toml_invalid.c, test_toml_api.c): a cmocka setup and
 * teardown that check no amaters_* allocation leaked, with the headers every
 * one of those tests includes.
 *
 * Header-only so each test binary stays one source file: each test program
 * includes it once, from its .c file. Everything here is static (inline), so a
 * program that uses only part of it builds warning-free.
 *
 * Threads: the test's main thread only (cmocka's assertions are not
 * thread-safe). Heap memory: nothing here returns any.
 */
#ifndef AMATERS_TESTS_TOML_FIXTURE_H
#define AMATERS_TESTS_TOML_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config/toml.h"
#include "core/alloc.h"
#include "core/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The live allocation count setup saw. */
static long live_before;

/* cmocka setup: records the live allocation count. Returns 0. */
static inline int setup(void **state)
{
    (void)state;
    live_before = amaters_alloc_live();
    return 0;
}

/* cmocka teardown: stops failing allocations and fails the test if an
 * amaters_* allocation outlived it. Returns 0. */
static inline int teardown(void **state)
{
    (void)state;
    amaters_alloc_fail_after(-1);
    assert_int_equal(amaters_alloc_live(), live_before);
    return 0;
}

#endif
