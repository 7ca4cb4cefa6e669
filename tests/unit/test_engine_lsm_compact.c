/*
 * test_engine_lsm_compact.c - the "lsm" engine (RocksDB), its background
 * maintenance and test fault injection: compact() drops dead versions in
 * the range asked for only and the stats' file sizes are the real ones
 * (table and blob files), a compaction that cannot write its output
 * reports the failure and changes nothing, interrupt() (shutdown) makes
 * compact() return AMATERS_ESHUTDOWN at once and stops one running in
 * another thread, without a WAL the flushes keep the stats record
 * consistent with the data across a crash (atomic flush), and the test
 * fault injection variable is announced with a WARN line. The rest of
 * the engine's tests are in test_engine_lsm.c; the fixture and helpers
 * both use are in lsm_fixture.h.
 */
#include "lsm_fixture.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/timeutil.h"
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

/* ---- interruption (shutdown) ---- */

/* Fails the test unless e holds exactly keys "<prefix>00000".."n-1", each
 * with the vlen-byte value of seed, and nothing else. */
static void check_all(struct amaters_engine *e, const char *prefix,
                      unsigned n, size_t vlen, unsigned seed)
{
    struct amaters_engine_iter *it = NULL;
    uint8_t *want = pattern(vlen, seed);
    const uint8_t *k, *v;
    size_t kn, vn;
    char key[24];
    unsigned i = 0;
    int rv;

    assert_int_equal(amaters_engine_iter_open(e, NULL, 0, NULL, 0, &it), 0);
    for (;;) {
        int kl;
        rv = amaters_engine_iter_next(it, &k, &kn, &v, &vn);
        if (rv != 1)
            break;
        kl = snprintf(key, sizeof key, "%s%05u", prefix, i);
        assert_true(i < n);
        assert_int_equal(kn, (size_t)kl);
        assert_memory_equal(k, key, kn);
        assert_int_equal(vn, vlen);
        assert_memory_equal(v, want, vlen);
        i++;
    }
    assert_int_equal(rv, 0);
    assert_int_equal(i, n);
    amaters_engine_iter_close(it);
    free(want);
}

/* After interrupt() (twice: idempotent), compact() returns
 * AMATERS_ESHUTDOWN at once, for any range, and compacts nothing: the
 * two versions of every value stay on disk. Everything else works as
 * before (reads, writes, flush, stats), and a reopened engine compacts
 * again. */
static void test_interrupt_then_compact(void **state)
{
    struct fx *f = *state;
    enum { N = 2000, VLEN = 100 };
    struct amaters_engine_stats s0, s1;
    static const char *const starts[] = {NULL, "a", "a"};
    static const char *const ends[] = {NULL, "b", NULL};

    f->opts.sync_mode = AMATERS_SYNC_NONE;
    open_ok(f);
    write_many(f->e, "a", N, VLEN, 1, false, true);
    write_many(f->e, "a", N, VLEN, 2, false, true);
    s0 = stats_of(f->e);
    amaters_engine_interrupt(f->e);
    amaters_engine_interrupt(f->e);
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++)
        assert_int_equal(
            amaters_engine_compact(
                f->e, (const uint8_t *)starts[i],
                starts[i] ? strlen(starts[i]) : 0,
                (const uint8_t *)ends[i], ends[i] ? strlen(ends[i]) : 0),
            AMATERS_ESHUTDOWN);
    s1 = stats_of(f->e);
    assert_int_equal(s1.sst_bytes, s0.sst_bytes); /* nothing rewritten */
    check_disk_figures(f);
    check_all(f->e, "a", N, VLEN, 2);
    check_stats(f->e, N, (uint64_t)N * (6 + VLEN));
    assert_int_equal(put(f->e, "b", "v", 1), 0);
    assert_int_equal(f->e->ops->flush(f->e), 0);
    check_value(f->e, "b", "v", 1);
    check_stats(f->e, N + 1, (uint64_t)N * (6 + VLEN) + 2);

    reopen(f);
    assert_int_equal(amaters_engine_compact(f->e, NULL, 0, NULL, 0), 0);
    s1 = stats_of(f->e);
    assert_true(s1.sst_bytes + (uint64_t)N * VLEN / 2 < s0.sst_bytes);
    check_value(f->e, "b", "v", 1);
    check_stats(f->e, N + 1, (uint64_t)N * (6 + VLEN) + 2);
}

struct compact_run {
    struct amaters_engine *e;
    int rv;
    uint64_t end_ns;
};

static void *compact_main(void *arg)
{
    struct compact_run *r = arg;

    r->rv = amaters_engine_compact(r->e, NULL, 0, NULL, 0);
    r->end_ns = amaters_now_ns();
    return NULL;
}

/* Returns the number of table (.sst) files in dir's database. */
static unsigned sst_files(const char *dir)
{
    char path[PATH_MAX];
    DIR *d;
    struct dirent *de;
    unsigned n = 0;

    snprintf(path, sizeof path, "%s/lsm", dir);
    d = opendir(path);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len > 4 && strcmp(de->d_name + len - 4, ".sst") == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* A compaction running in another thread returns AMATERS_ESHUTDOWN soon
 * after interrupt(), long before it would have finished, installs
 * nothing and leaves the data intact. ROUNDS versions of N values of VLEN
 * bytes, kept in the table files (no blob files), one L0 file per version
 * (a memtable larger than a version, and fewer files than RocksDB's
 * trigger of four for an automatic compaction, which a manual one would
 * wait for): the full compaction rewrites them all into the bottommost
 * level in one job. It is interrupted as soon as its first output file
 * appears (so it is known to be running, and far from done: had it
 * finished, its output would be installed). It must stop within a
 * generous 5 s (it takes ~0.7 s to run to its end here; a bound relative
 * to a second run would depend on the machine's load during each). The
 * same compaction then runs to its end after a reopen. No WAL: half the
 * I/O. */
static void test_interrupt_running(void **state)
{
    struct fx *f = *state;
    enum { N = 20000, VLEN = 4000, ROUNDS = 3 };
    struct compact_run r = {0};
    struct amaters_engine_stats s0;
    pthread_t th;
    uint64_t t_start, t_int, ran_ns, stop_ns, full_ns;
    unsigned files;

    f->opts.sync_mode = AMATERS_SYNC_NONE;
    f->opts.disable_wal = true;
    f->opts.memtable_size_mb = 256;
    f->opts.blob_min_size = (size_t)-1;
    open_ok(f);
    for (unsigned round = 1; round <= ROUNDS; round++)
        write_many(f->e, "k", N, VLEN, round, false, true);
    s0 = stats_of(f->e);
    files = sst_files(f->dir);
    r.e = f->e;
    t_start = amaters_now_ns();
    assert_int_equal(pthread_create(&th, NULL, compact_main, &r), 0);
    /* wait (at most 30 s) for the compaction's first output file */
    while (sst_files(f->dir) <= files &&
           amaters_now_ns() - t_start < 30000000000ull)
        usleep(1000);
    assert_true(sst_files(f->dir) > files);
    t_int = amaters_now_ns();
    amaters_engine_interrupt(f->e);
    assert_int_equal(pthread_join(th, NULL), 0);
    ran_ns = t_int - t_start;
    stop_ns = r.end_ns - t_int;
    assert_int_equal(r.rv, AMATERS_ESHUTDOWN);
    /* the cancelled job installed nothing */
    assert_int_equal(stats_of(f->e).sst_bytes, s0.sst_bytes);
    check_all(f->e, "k", N, VLEN, ROUNDS);
    check_stats(f->e, N, (uint64_t)N * (6 + VLEN));

    reopen(f);
    t_start = amaters_now_ns();
    assert_int_equal(amaters_engine_compact(f->e, NULL, 0, NULL, 0), 0);
    full_ns = amaters_now_ns() - t_start;
    print_message("interrupted after %llu ms, the compaction stopped %llu "
                  "ms later; run to its end it takes %llu ms\n",
                  (unsigned long long)(ran_ns / 1000000),
                  (unsigned long long)(stop_ns / 1000000),
                  (unsigned long long)(full_ns / 1000000));
    assert_true(stop_ns < 5000000000ull);   /* it stopped promptly */
    assert_true(stats_of(f->e).sst_bytes < s0.sst_bytes / 2);
    check_all(f->e, "k", N, VLEN, ROUNDS);
    check_stats(f->e, N, (uint64_t)N * (6 + VLEN));
}

/* ---- crash consistency without a WAL ---- */

/* The argument that makes this program a child of the crash tests below
 * (a fresh process: a fork() alone would inherit RocksDB's background
 * thread pools without their threads, and hang at the first flush):
 * NO_WAL_CHILD_ARG <dir> fill|flush. No cmocka in the children. */
#define NO_WAL_CHILD_ARG "--no-wal-child"
#define FILL_KEYS 6000
#define FILL_VLEN 1000
#define FLUSH_VLEN 100

/* Writes keys "<prefix>NNNNNNN" from *next on, n per batch, with vlen
 * bytes each; _exit(3) if a write fails. */
static void child_write(struct amaters_engine *e, const char *prefix,
                        unsigned *next, unsigned n, size_t vlen,
                        const uint8_t *v)
{
    struct amaters_write_op ops[100];
    char keys[100][24];

    for (unsigned j = 0; j < n && j < 100; j++) {
        int kl = snprintf(keys[j], sizeof keys[j], "%s%07u", prefix,
                          (*next)++);
        ops[j] = (struct amaters_write_op){AMATERS_WRITE_PUT,
                                           (const uint8_t *)keys[j],
                                           (size_t)kl, v, vlen};
    }
    if (amaters_engine_write(e, ops, n < 100 ? n : 100) != 0)
        _exit(3);
}

static void *child_writer_main(void *arg)
{
    uint8_t *v = pattern(FLUSH_VLEN, 6);
    unsigned next = 0;

    for (;;)
        child_write(arg, "f", &next, 10, FLUSH_VLEN, v);
    return NULL;
}

/* The child: opens the engine in dir without a WAL. "fill": 1 MiB
 * memtables, FILL_KEYS keys of FILL_VLEN bytes in batches of 100 (the
 * data column family flushes several times on its own). "flush": 64 MiB
 * memtables (no automatic flush); a thread writes keys without pause
 * while flush() runs twice. Then it ends without closing the engine (a
 * crash: what is only in memtables is lost), exit code 0. */
static int no_wal_child(const char *dir, const char *mode)
{
    bool fill = strcmp(mode, "fill") == 0;
    struct amaters_engine_options opts = {
        .path = dir,
        .memtable_size_mb = fill ? 1 : 64,
        .block_cache_size_mb = 8,
        .sync_mode = AMATERS_SYNC_NONE,
        .disable_wal = true,
    };
    struct amaters_engine *e = NULL;
    unsigned next = 0;
    pthread_t th;

    alarm(60);   /* never outlive a hung parent test (SIGALRM ends it) */
    if (amaters_engine_lsm_ops.open(&opts, &e, NULL, 0) != 0)
        _exit(2);
    if (fill) {
        uint8_t *v = pattern(FILL_VLEN, 5);
        while (next < FILL_KEYS)
            child_write(e, "w", &next, 100, FILL_VLEN, v);
        _exit(0);
    }
    if (pthread_create(&th, NULL, child_writer_main, e) != 0)
        _exit(4);
    for (int i = 0; i < 2; i++) {
        usleep(50000);
        if (e->ops->flush(e) != 0)
            _exit(5);
    }
    _exit(0);
}

/* Runs the child in mode mode on f->dir, then opens the engine with its
 * options and sums the keys and key + value bytes an iteration finds. */
static void crash_child(struct fx *f, const char *mode, uint64_t *keys,
                        uint64_t *bytes)
{
    struct amaters_engine_iter *it = NULL;
    const uint8_t *k, *v;
    size_t kn, vn;
    int status = 0, rv;
    pid_t pid;

    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/proc/self/exe", "test_engine_lsm_compact", NO_WAL_CHILD_ARG,
              f->dir, mode, (char *)NULL);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    f->opts.disable_wal = true;
    f->opts.sync_mode = AMATERS_SYNC_NONE;
    open_ok(f);
    *keys = *bytes = 0;
    assert_int_equal(amaters_engine_iter_open(f->e, NULL, 0, NULL, 0, &it),
                     0);
    for (;;) {
        rv = amaters_engine_iter_next(it, &k, &kn, &v, &vn);
        if (rv != 1)
            break;
        (*keys)++;
        *bytes += kn + vn;
    }
    assert_int_equal(rv, 0);
    amaters_engine_iter_close(it);
    print_message("%s: %llu keys survived the crash\n", mode,
                  (unsigned long long)*keys);
}

/* storage.wal.enabled = false: a process killed after its data column
 * family flushed several times on its own (1 MiB memtables) restarts
 * with the stats record describing exactly the keys that survived (the
 * meta column family is flushed with the data: atomic flush). Without
 * it the stats record, never flushed, would be lost for good. */
static void test_no_wal_crash(void **state)
{
    struct fx *f = *state;
    uint64_t keys, bytes;

    crash_child(f, "fill", &keys, &bytes);
    /* several flushes happened, and the last memtable was lost */
    assert_true(keys >= FILL_KEYS / 4 && keys < FILL_KEYS);
    assert_int_equal(bytes, keys * (8 + FILL_VLEN));
    check_stats(f->e, keys, bytes);
}

/* The same after flush() under a steady stream of writes: it flushes the
 * two column families up to the same write (writes wait meanwhile), so
 * the stats record is not ahead of the data that survived. */
static void test_no_wal_flush_crash(void **state)
{
    struct fx *f = *state;
    uint64_t keys, bytes;

    crash_child(f, "flush", &keys, &bytes);
    assert_true(keys > 0);
    assert_int_equal(bytes, keys * (8 + FLUSH_VLEN));
    check_stats(f->e, keys, bytes);
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

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], NO_WAL_CHILD_ARG) == 0)
        return no_wal_child(argv[2], argv[3]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_compact_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_blobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_disk_full, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_then_compact, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_running, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_wal_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_wal_flush_crash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_commit_delay_warns, setup,
                                        teardown),
    };

    return cmocka_run_group_tests_name("lsm engine compaction", tests, NULL,
                                       NULL);
}
