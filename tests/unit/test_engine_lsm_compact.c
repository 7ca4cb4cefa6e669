/*
 * test_engine_lsm_compact.c - the "lsm" engine (RocksDB), manual
 * compaction and test fault injection: compact() drops dead versions in
 * the range asked for only and the stats' file sizes are the real ones
 * (table and blob files), a compaction that cannot write its output
 * reports the failure and changes nothing, and the test fault injection
 * variable is announced with a WARN line. The rest of the engine's tests
 * are in test_engine_lsm.c; the fixture and helpers both use are in
 * lsm_fixture.h.
 */
#include "lsm_fixture.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "core/errors.h"
#include "obs/log.h"
#include "storage/engine.h"

/* ---- manual compaction ---- */

/* Writes keys "<prefix>NNNNN" 0..n-1 with vlen-byte values (seed), or
 * deletes them, in batches of 100, then flushes when flush is set. */
static void write_many(struct amaters_engine *e, const char *prefix,
                       unsigned n, size_t vlen, unsigned seed, bool del,
                       bool flush)
{
    enum { BATCH = 100 };
    struct amaters_write_op ops[BATCH];
    char keys[BATCH][24];
    uint8_t *v = pattern(vlen, seed);

    for (unsigned i = 0; i < n; i += BATCH) {
        unsigned m = n - i < BATCH ? n - i : BATCH;
        for (unsigned j = 0; j < m; j++) {
            int kl = snprintf(keys[j], sizeof keys[j], "%s%05u", prefix,
                              i + j);
            ops[j] = (struct amaters_write_op){
                del ? AMATERS_WRITE_DELETE : AMATERS_WRITE_PUT,
                (const uint8_t *)keys[j], (size_t)kl, del ? NULL : v,
                del ? 0 : vlen};
        }
        assert_int_equal(amaters_engine_write(e, ops, m), 0);
    }
    free(v);
    if (flush)
        assert_int_equal(e->ops->flush(e), 0);
}

static struct amaters_engine_stats stats_of(struct amaters_engine *e)
{
    struct amaters_engine_stats st;

    assert_int_equal(e->ops->stats(e, &st), 0);
    return st;
}

/* The stats' file sizes are the real ones: they equal the sizes of the
 * .sst and .blob files in the directory (files a compaction made
 * obsolete are deleted right after it, so this is waited for, briefly). */
static void check_disk_figures(struct fx *f)
{
    struct amaters_engine_stats st = stats_of(f->e);
    uint64_t sst = suffix_bytes(f->dir, ".sst");
    uint64_t blob = blob_bytes(f->dir);

    for (int i = 0; i < 200 && (sst != st.sst_bytes || blob != st.blob_bytes);
         i++) {
        usleep(10000);
        sst = suffix_bytes(f->dir, ".sst");
        blob = blob_bytes(f->dir);
    }
    if (sst != st.sst_bytes || blob != st.blob_bytes)
        fail_msg("stats say %llu sst + %llu blob bytes, the directory holds "
                 "%llu + %llu",
                 (unsigned long long)st.sst_bytes,
                 (unsigned long long)st.blob_bytes, (unsigned long long)sst,
                 (unsigned long long)blob);
}

/* Overwritten and deleted versions are dropped by compact(), and only in
 * the range asked for: "a" keys are written twice (two table files),
 * "b" keys put and deleted (a file of tombstones). Compacting [a, b)
 * shrinks the tables but keeps the tombstones, which only compacting
 * [b, c) drops. Every figure matches the files on disk. Three flushes
 * stay below RocksDB's trigger of four L0 files, so no automatic
 * compaction interferes. */
static void test_compact_range(void **state)
{
    struct fx *f = *state;
    enum { N = 2000, VLEN = 100 };
    struct amaters_engine_stats s0, s1, s2;

    f->opts.sync_mode = AMATERS_SYNC_NONE;
    open_ok(f);
    write_many(f->e, "a", N, VLEN, 1, false, true);
    write_many(f->e, "a", N, VLEN, 2, false, true);
    write_many(f->e, "b", N, VLEN, 3, false, false);
    write_many(f->e, "b", N, VLEN, 3, true, true);
    s0 = stats_of(f->e);
    check_disk_figures(f);
    /* two versions of N "a" values at least, and the tombstones */
    assert_true(s0.sst_bytes > 2u * N * VLEN);
    assert_int_equal(s0.blob_bytes, 0); /* 100-byte values stay in SSTs */

    assert_int_equal(amaters_engine_compact(f->e, (const uint8_t *)"a", 1,
                                            (const uint8_t *)"b", 1),
                     0);
    s1 = stats_of(f->e);
    check_disk_figures(f);
    print_message("compact [a, b): %llu -> %llu sst bytes\n",
                  (unsigned long long)s0.sst_bytes,
                  (unsigned long long)s1.sst_bytes);
    /* one version of the "a" values is gone */
    assert_true(s1.sst_bytes + (uint64_t)N * VLEN / 2 < s0.sst_bytes);

    assert_int_equal(amaters_engine_compact(f->e, (const uint8_t *)"b", 1,
                                            (const uint8_t *)"c", 1),
                     0);
    s2 = stats_of(f->e);
    check_disk_figures(f);
    print_message("compact [b, c): %llu -> %llu sst bytes\n",
                  (unsigned long long)s1.sst_bytes,
                  (unsigned long long)s2.sst_bytes);
    /* the first compaction had left the "b" tombstones alone */
    assert_true(s2.sst_bytes + (uint64_t)N * 4 < s1.sst_bytes);
    check_stats(f->e, N, (uint64_t)N * (6 + VLEN));
    f->bufs[0] = pattern(VLEN, 2);
    check_value(f->e, "a00000", f->bufs[0], VLEN);
    check_value(f->e, "a01999", f->bufs[0], VLEN);
    reopen(f);
    check_stats(f->e, N, (uint64_t)N * (6 + VLEN));
    check_disk_figures(f);
}

/* Values of blob size: once they are all overwritten, compacting
 * everything lets RocksDB drop the blob file that held the old ones. */
static void test_compact_blobs(void **state)
{
    struct fx *f = *state;
    enum { N = 64, VLEN = 16 * 1024 };
    struct amaters_engine_stats s0, s1;

    f->opts.sync_mode = AMATERS_SYNC_NONE;
    open_ok(f);
    write_many(f->e, "blob", N, VLEN, 1, false, true);
    write_many(f->e, "blob", N, VLEN, 2, false, true);
    s0 = stats_of(f->e);
    check_disk_figures(f);
    assert_true(s0.blob_bytes >= 2u * N * VLEN);
    assert_int_equal(amaters_engine_compact(f->e, NULL, 0, NULL, 0), 0);
    s1 = stats_of(f->e);
    check_disk_figures(f);
    print_message("compact: %llu -> %llu blob bytes\n",
                  (unsigned long long)s0.blob_bytes,
                  (unsigned long long)s1.blob_bytes);
    assert_true(s1.blob_bytes >= (uint64_t)N * VLEN);
    assert_true(s1.blob_bytes + (uint64_t)N * VLEN / 2 < s0.blob_bytes);
    f->bufs[0] = pattern(VLEN, 2);
    check_value(f->e, "blob00063", f->bufs[0], VLEN);
    check_stats(f->e, N, (uint64_t)N * (9 + VLEN));
}

/* A compaction that cannot write its output (disk full) reports a
 * failure, not success, and changes nothing: every value reads back,
 * also after a reopen with space again, when compaction works. */
static void test_compact_disk_full(void **state)
{
    struct fx *f = *state;
    enum { N = 2000, VLEN = 100 };
    char filler[128];
    char buf[4096];
    int fd;

    if (mount("tmpfs", f->dir, "tmpfs", 0, "size=4m,mode=0700") != 0)
        skip(); /* not root, or no mount namespace: cannot test */
    f->mounted = true;
    f->opts.sync_mode = AMATERS_SYNC_NONE;
    open_ok(f);
    write_many(f->e, "a", N, VLEN, 1, false, true);
    write_many(f->e, "a", N, VLEN, 2, false, true);
    snprintf(filler, sizeof filler, "%s/filler", f->dir);
    fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    memset(buf, 0, sizeof buf);
    while (write(fd, buf, sizeof buf) > 0)
        ;
    close(fd);
    assert_int_equal(amaters_engine_compact(f->e, NULL, 0, NULL, 0),
                     AMATERS_EIO);
    f->bufs[0] = pattern(VLEN, 2);
    check_value(f->e, "a00000", f->bufs[0], VLEN);
    check_value(f->e, "a01999", f->bufs[0], VLEN);
    amaters_engine_close(f->e);
    f->e = NULL;
    assert_int_equal(unlink(filler), 0);
    open_ok(f);
    assert_int_equal(amaters_engine_compact(f->e, NULL, 0, NULL, 0), 0);
    check_value(f->e, "a01999", f->bufs[0], VLEN);
    check_stats(f->e, N, (uint64_t)N * (6 + VLEN));
}

/* ---- test fault injection ---- */

struct warn_seen {
    int lines;
};

static void warn_cb(const char *ts, const char *level, const char *msg,
                    void *arg)
{
    struct warn_seen *w = arg;

    (void)ts;
    if (strcmp(level, "WARN") == 0 &&
        strstr(msg, "test fault injection") != NULL &&
        strstr(msg, "AMATERS_TEST_COMMIT_DELAY_MS=7") != NULL)
        w->lines++;
}

/* AMATERS_TEST_COMMIT_DELAY_MS set at open gives exactly one WARN line
 * naming it and its value; unset, none. */
static void test_commit_delay_warns(void **state)
{
    struct fx *f = *state;
    struct warn_seen w = {0};

    open_ok(f);
    amaters_log_recent(AMATERS_LOG_RECENT_LINES, warn_cb, &w);
    assert_int_equal(w.lines, 0);
    amaters_engine_close(f->e);
    f->e = NULL;
    assert_int_equal(setenv("AMATERS_TEST_COMMIT_DELAY_MS", "7", 1), 0);
    open_ok(f);
    assert_int_equal(unsetenv("AMATERS_TEST_COMMIT_DELAY_MS"), 0);
    amaters_log_recent(AMATERS_LOG_RECENT_LINES, warn_cb, &w);
    assert_int_equal(w.lines, 1);
    assert_int_equal(put(f->e, "k", "v", 1), 0); /* still works */
    check_value(f->e, "k", "v", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_compact_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_blobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_disk_full, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_commit_delay_warns, setup,
                                        teardown),
    };

    return cmocka_run_group_tests_name("lsm engine compaction", tests, NULL,
                                       NULL);
}
