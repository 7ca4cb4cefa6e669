/*
 * lsm_fixture.h - the fixture and helpers shared by the "lsm" engine
 * (RocksDB) unit tests, test_engine_lsm.c and test_engine_lsm_compact.c:
 * the per-test fixture (struct fx: a fresh scratch directory, engine
 * options, the engine, buffers teardown frees) with its cmocka setup and
 * teardown (which checks that no amaters_* allocation leaked), opening and
 * reopening the engine, a one-key put, checks of a value and of the exact
 * stats, a deterministic byte pattern, and the sizes of the database's
 * table and blob files on disk.
 *
 * Header-only so each test binary stays one source file: each test
 * program includes it once, from its .c file. Everything here is static
 * inline, so a program that uses only part of it builds warning-free.
 *
 * Threads: cmocka's assertions are not thread-safe; every function here
 * is for the test's main thread only. Heap memory: pattern() returns a
 * buffer from malloc() that the caller frees with free() (or hands to
 * f->bufs[], which teardown frees); nothing else returns heap memory.
 */
#ifndef AMATERS_TESTS_LSM_FIXTURE_H
#define AMATERS_TESTS_LSM_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "scratch_dir.h"
#include "core/alloc.h"
#include "core/errors.h"
#include "leakcheck.h"
#include "obs/metrics.h"
#include "storage/engine.h"
#include "storage/engine_rocks.h"

/* Per-test fixture: a fresh scratch directory and engine options. */
struct fx {
    char dir[64];
    char format[128]; /* <dir>/lsm/FORMAT */
    struct amaters_engine_options opts;
    struct amaters_engine *e;
    bool mounted;
    uint8_t *bufs[4]; /* test data, freed by teardown even on failure */
};

/* cmocka setup: allocates the fixture (freed by teardown), records the
 * live allocation count (leak_mark()), makes a fresh
 * /tmp/amaters-lsm-XXXXXX directory and sets the options: path = that
 * directory, 4 MiB memtable, 8 MiB block cache, AMATERS_SYNC_ALWAYS, 20 ms
 * sync interval. No engine is opened. Returns 0. */
static inline int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);

    assert_non_null(f);
    leak_mark();
    snprintf(f->dir, sizeof f->dir, "/tmp/amaters-lsm-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->format, sizeof f->format, "%s/lsm/FORMAT", f->dir);
    f->opts.path = f->dir;
    f->opts.memtable_size_mb = 4;
    f->opts.block_cache_size_mb = 8;
    f->opts.sync_mode = AMATERS_SYNC_ALWAYS;
    f->opts.sync_interval_ms = 20;
    *state = f;
    return 0;
}

/* cmocka teardown: closes the engine (if open), resets the metrics the
 * engine registered, unmounts the directory when the test mounted a tmpfs
 * on it (f->mounted), removes the directory tree, frees f->bufs[] and the
 * fixture, and fails the test if an amaters_* allocation outlived it.
 * Returns 0. */
static inline int teardown(void **state)
{
    struct fx *f = *state;

    amaters_engine_close(f->e);
    amaters_metrics_reset(); /* the engine's group-commit metrics */
    if (f->mounted)
        umount2(f->dir, MNT_DETACH);
    scratch_rmtree(f->dir);
    for (size_t i = 0; i < sizeof f->bufs / sizeof f->bufs[0]; i++)
        free(f->bufs[i]);
    free(f);
    leak_check();
    return 0;
}

/* Opens the "lsm" engine with f->opts into f->e; err (errlen bytes) gets
 * the engine's message on failure. Returns the engine's open() result. */
static inline int open_rc(struct fx *f, char *err, size_t errlen)
{
    return amaters_engine_lsm_ops.open(&f->opts, &f->e, err, errlen);
}

/* Opens the engine into f->e, failing the test with the error name and
 * message if it does not open. */
static inline void open_ok(struct fx *f)
{
    char err[512] = "";
    int rv = open_rc(f, err, sizeof err);

    if (rv != 0)
        fail_msg("open %s: %s: %s", f->dir, amaters_errname(rv), err);
}

/* Closes f->e and opens the engine again with the same options (as
 * open_ok). */
static inline void reopen(struct fx *f)
{
    amaters_engine_close(f->e);
    f->e = NULL;
    open_ok(f);
}

/* Writes one put of key k (a C string) with the vn bytes at v to e.
 * Returns amaters_engine_write()'s result. */
static inline int put(struct amaters_engine *e, const char *k, const void *v,
                      size_t vn)
{
    struct amaters_write_op op = {AMATERS_WRITE_PUT, (const uint8_t *)k,
                                  strlen(k), v, vn};
    return amaters_engine_write(e, &op, 1);
}

/* Fails the test unless key k (a C string) reads back from e as the wn
 * bytes at want. */
static inline void check_value(struct amaters_engine *e, const char *k,
                               const void *want, size_t wn)
{
    uint8_t *v = NULL;
    size_t n = 0;
    int rv = amaters_engine_get(e, (const uint8_t *)k, strlen(k), &v, &n);

    if (rv != 0)
        fail_msg("get %s: %s", k, amaters_errname(rv));
    assert_int_equal(n, wn);
    if (wn > 0)
        assert_memory_equal(v, want, wn);
    amaters_free(v);
}

/* Fails the test unless e's stats say exactly keys keys and bytes key +
 * value bytes, with writes neither stopped nor delayed. */
static inline void check_stats(struct amaters_engine *e, uint64_t keys,
                               uint64_t bytes)
{
    struct amaters_engine_stats st = {0};

    assert_int_equal(e->ops->stats(e, &st), 0);
    assert_int_equal(st.key_count, keys);
    assert_int_equal(st.data_bytes, bytes);
    /* a quiet engine: no stall, writes flowing */
    assert_int_equal(st.write_stopped, 0);
    assert_int_equal(st.delayed_write_rate, 0);
}

/* Returns n bytes (at least one allocated) of a pattern fixed by seed,
 * from malloc(); the caller frees it with free(). */
static inline uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n ? n : 1);

    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 2654435761u) >> 11 ^ seed);
    return p;
}

/* Returns the total size of the files named *suffix in dir's database. */
static inline uint64_t suffix_bytes(const char *dir, const char *suffix)
{
    char path[PATH_MAX];
    DIR *d;
    struct dirent *de;
    struct stat st;
    uint64_t n = 0;
    size_t sl = strlen(suffix);

    snprintf(path, sizeof path, "%s/lsm", dir);
    d = opendir(path);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len <= sl || strcmp(de->d_name + len - sl, suffix) != 0)
            continue;
        snprintf(path, sizeof path, "%s/lsm/%s", dir, de->d_name);
        assert_int_equal(stat(path, &st), 0);
        n += (uint64_t)st.st_size;
    }
    closedir(d);
    return n;
}

/* Returns the total size of the blob files in dir's database. */
static inline uint64_t blob_bytes(const char *dir)
{
    return suffix_bytes(dir, ".blob");
}

#endif
