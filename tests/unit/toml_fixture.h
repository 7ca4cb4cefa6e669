/*
 * toml_fixture.h - the headers every one of the TOML parser's unit tests
 * (test_toml.c, test_toml_invalid.c, test_toml_api.c) includes, among them
 * leakcheck.h, whose leak_setup / leak_teardown (LEAK_TEST) are their
 * fixture: no amaters_* allocation may outlive a test.
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
#include "leakcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#endif
