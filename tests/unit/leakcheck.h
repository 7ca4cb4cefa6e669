/*
 * leakcheck.h - the leak check every unit-test fixture makes: note the
 * number of live amaters_* allocations (amaters_alloc_live()) when a test
 * starts and fail the test if the number differs when it ends.
 *
 * What it provides:
 *   leak_setup / leak_teardown   cmocka per-test fixtures that do only the
 *                                leak check: pass them straight to
 *                                cmocka_unit_test_setup_teardown().
 *   LEAK_TEST(fn)                shorthand for that table entry: test fn
 *                                (named "fn", as cmocka names it) with
 *                                leak_setup and leak_teardown.
 *   leak_mark / leak_check       the same two steps, for a file whose own
 *                                setup and teardown do more: call
 *                                leak_mark() in setup and leak_check()
 *                                last in teardown, once the fixture has
 *                                freed everything (a failed check leaves
 *                                the teardown at once, as every cmocka
 *                                assertion does).
 *                                Tests may call leak_check() themselves to
 *                                assert that nothing is live beyond the
 *                                mark at some point.
 *   leak_group_mark /            the same for a cmocka group setup and
 *   leak_group_check             teardown, which report failure by return
 *                                value: leak_group_check() returns 0 or
 *                                -1 and asserts nothing. The group mark is
 *                                kept apart from the per-test one, so a
 *                                file may use both.
 *
 * Use: #include "leakcheck.h" (it sits next to the tests, so the quoted
 * include finds it from any file in tests/unit), then for example
 *     const struct CMUnitTest tests[] = {
 *         LEAK_TEST(test_x),
 *         cmocka_unit_test_setup_teardown(test_y, leak_setup, leak_teardown),
 *     };
 * or, in a fixture of one's own,
 *     static int teardown(void **state)
 *     {
 *         free_my_fixture(*state);
 *         leak_check();
 *         return 0;
 *     }
 *
 * Header-only so each test binary stays one source file. Two macros
 * (leak_check, LEAK_TEST), the rest static inline functions; each
 * translation unit has its own marks (function-local statics), and a
 * program that uses only part of it builds warning-free. Nothing here
 * returns heap memory.
 *
 * Threads: the marks are plain statics and cmocka's assertions are not
 * thread-safe, so call everything here from the test's main thread only.
 * The count is process-wide: a test must join every thread it started
 * (and free what they allocated) before its teardown runs.
 */
#ifndef AMATERS_TESTS_LEAKCHECK_H
#define AMATERS_TESTS_LEAKCHECK_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/alloc.h"

/* Returns the storage of the per-test mark (one per translation unit). */
static inline long *leak_test_slot(void)
{
    static long mark;

    return &mark;
}

/* Returns the storage of the group mark (one per translation unit). */
static inline long *leak_group_slot(void)
{
    static long mark;

    return &mark;
}

/* Records the current number of live amaters_* allocations as the per-test
 * mark that leak_check() compares with. */
static inline void leak_mark(void)
{
    *leak_test_slot() = amaters_alloc_live();
}

/* leak_check(): fails the running test (a cmocka assertion, which does not
 * return) if the number of live amaters_* allocations differs from the mark
 * leak_mark() recorded. A macro, so that the failure names the caller's
 * file and line. */
#define leak_check() assert_int_equal(amaters_alloc_live(), *leak_test_slot())

/* cmocka setup: records the per-test mark (leak_mark()). Returns 0. */
static inline int leak_setup(void **state)
{
    (void)state;
    leak_mark();
    return 0;
}

/* cmocka teardown: stops failing allocations (amaters_alloc_fail_after(-1),
 * a no-op unless a test left fault injection armed), then fails the test
 * if an amaters_* allocation outlived it (leak_check()). Returns 0. */
static inline int leak_teardown(void **state)
{
    (void)state;
    amaters_alloc_fail_after(-1);
    leak_check();
    return 0;
}

/* A cmocka table entry: test fn with leak_setup and leak_teardown. */
#define LEAK_TEST(fn) cmocka_unit_test_setup_teardown(fn, leak_setup, \
                                                      leak_teardown)

/* Records the current number of live amaters_* allocations as the group
 * mark that leak_group_check() compares with. */
static inline void leak_group_mark(void)
{
    *leak_group_slot() = amaters_alloc_live();
}

/* Returns 0 if the number of live amaters_* allocations equals the group
 * mark, else prints both numbers (cmocka's print_error) and returns -1;
 * asserts nothing, for a group teardown's return value. */
static inline int leak_group_check(void)
{
    long live = amaters_alloc_live();

    if (live == *leak_group_slot())
        return 0;
    print_error("leak: %ld amaters_* allocations live, %ld at group setup\n",
                live, *leak_group_slot());
    return -1;
}

#endif
