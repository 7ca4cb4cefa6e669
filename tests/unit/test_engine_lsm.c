/*
 * test_engine_lsm.c - the "lsm" engine (RocksDB): the whole engine
 * conformance suite (engine_conformance.h) with persistent = true, then
 * what only this engine promises: data and exact stats survive reopen in
 * every sync mode, a FORMAT file it does not know is refused with a clear
 * message, concurrent writers share WAL syncs (group commit), large values
 * round-trip through blob files, a full disk gives AMATERS_EFULL while
 * reads keep working. Manual compaction and the test fault injection
 * variable are tested in test_engine_lsm_compact.c; the fixture and
 * helpers both use are in lsm_fixture.h.
 */
#include "lsm_fixture.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "core/timeutil.h"
#include "engine_conformance.h"
#include "storage/engine.h"
#include "storage/engine_rocks.h"

/* ---- write-stall figures ---- */

/* The "Cumulative stall" line of rocksdb.dbstats (format of RocksDB 7.8,
 * read off a real DB) parses to microseconds; anything else is refused. */
static void test_parse_stall(void **state)
{
    static const struct {
        const char *text;
        int rc;
        uint64_t us;
    } cases[] = {
        {"\n** DB Stats **\nUptime(secs): 0.0 total, 0.0 interval\n"
         "Cumulative stall: 00:00:0.000 H:M:S, 0.0 percent\n"
         "Interval stall: 00:00:9.000 H:M:S, 0.0 percent\n", 0, 0},
        {"Cumulative stall: 00:01:2.500 H:M:S, 1.2 percent", 0, 62500000},
        {"Cumulative stall: 10:00:0.001 H:M:S", 0, 36000001000ull},
        {"Cumulative stall: 123:59:59.999 H:M:S", 0,
         (123ull * 3600 + 59 * 60 + 59) * 1000000 + 999000},
        {"Interval stall: 00:00:1.000 H:M:S", AMATERS_EINVAL, 0},
        {"Cumulative stall: soon", AMATERS_EINVAL, 0},
        {"Cumulative stall: 00:61:0.000 H:M:S", AMATERS_EINVAL, 0},
        {"Cumulative stall: 00:00:60.000 H:M:S", AMATERS_EINVAL, 0},
        {"", AMATERS_EINVAL, 0},
        {NULL, AMATERS_EINVAL, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t us = 7;
        int rc = amaters_lsm_parse_stall(cases[i].text, &us);

        assert_int_equal(rc, cases[i].rc);
        assert_true(us == (rc == 0 ? cases[i].us : 7));
    }
}

/* The engine fills the write-health figures from RocksDB: on a fresh
 * engine after writes and a flush nothing is stalled or waiting. */
static void test_write_health(void **state)
{
    struct fx *f = *state;
    struct amaters_engine_stats st;

    open_ok(f);
    for (int i = 0; i < 200; i++) {
        char k[16];
        snprintf(k, sizeof k, "wh%04d", i);
        assert_int_equal(put(f->e, k, k, strlen(k)), 0);
    }
    assert_int_equal(f->e->ops->flush(f->e), 0);
    memset(&st, 0xff, sizeof st);
    assert_int_equal(f->e->ops->stats(f->e, &st), 0);
    assert_int_equal(st.key_count, 200);
    assert_int_equal(st.write_stall_us, 0);
    assert_int_equal(st.write_stopped, 0);
    assert_int_equal(st.delayed_write_rate, 0);
    assert_true(st.immutable_memtables <= 1);
    assert_true(st.pending_compaction_bytes < (1u << 30));
}

/* ---- registry and arguments ---- */

static void test_registry(void **state)
{
    (void)state;
    assert_ptr_equal(amaters_engine_find("lsm"), &amaters_engine_lsm_ops);
    assert_string_equal(amaters_engine_lsm_ops.name, "lsm");
    assert_int_equal(amaters_engine_lsm_ops.version,
                     AMATERS_ENGINE_OPS_VERSION);
}

static void test_open_rejects(void **state)
{
    struct fx *f = *state;
    char file[80];
    char err[512];
    static const struct {
        int sync_mode;
        unsigned interval;
        const char *path; /* NULL: the fixture's; "F": under a file */
        int want;
        const char *msg;
    } cases[] = {
        {7, 10, NULL, AMATERS_EINVAL, "sync mode"},
        {AMATERS_SYNC_INTERVAL, 0, NULL, AMATERS_EINVAL, "sync_interval_ms"},
        {AMATERS_SYNC_ALWAYS, 0, "", AMATERS_EINVAL, "directory"},
        {AMATERS_SYNC_ALWAYS, 0, "F", AMATERS_EIO,
         "/plain/x: Not a directory"},
    };

    snprintf(file, sizeof file, "%s/plain", f->dir);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(file, sizeof file, "%s/plain/x", f->dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct amaters_engine_options o = f->opts;
        struct amaters_engine *e = NULL;
        o.sync_mode = cases[i].sync_mode;
        o.sync_interval_ms = cases[i].interval;
        if (cases[i].path != NULL)
            o.path = strcmp(cases[i].path, "F") == 0 ? file : cases[i].path;
        err[0] = '\0';
        assert_int_equal(amaters_engine_lsm_ops.open(&o, &e, err, sizeof err),
                         cases[i].want);
        assert_null(e);
        if (strstr(err, cases[i].msg) == NULL)
            fail_msg("case %zu: message '%s' lacks '%s'", i, err,
                     cases[i].msg);
    }
    assert_int_equal(amaters_engine_lsm_ops.open(NULL, &f->e, NULL, 0),
                     AMATERS_EINVAL);
    assert_int_equal(amaters_engine_lsm_ops.open(&f->opts, NULL, NULL, 0),
                     AMATERS_EINVAL);
}

/* ---- persistence and exact stats in every sync mode ---- */

static void test_reopen_stats(void **state)
{
    struct fx *f = *state;
    static const int modes[] = {AMATERS_SYNC_ALWAYS, AMATERS_SYNC_INTERVAL,
                                AMATERS_SYNC_NONE};
    char key[16];
    char val[64];

    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        f->opts.sync_mode = modes[m];
        open_ok(f);
        /* Generation m: keys r0..r99, value length i % 50 + m; every
         * third key of the previous generation's is deleted after. */
        for (unsigned i = 0; i < 100; i++) {
            snprintf(key, sizeof key, "r%02u", i);
            memset(val, 'a' + (int)m, sizeof val);
            assert_int_equal(put(f->e, key, val, i % 50 + m), 0);
        }
        for (unsigned i = 0; i < 100; i += 3) {
            struct amaters_write_op op = {AMATERS_WRITE_DELETE,
                                          (const uint8_t *)key, 3, NULL, 0};
            snprintf(key, sizeof key, "r%02u", i);
            assert_int_equal(amaters_engine_write(f->e, &op, 1), 0);
        }
        /* 66 keys of 3 bytes; values i % 50 + m for i not divisible by
         * 3, summed by hand: sum over i<100, i%3!=0 of i % 50 is 1617. */
        uint64_t bytes = 66 * 3 + 1617 + 66 * m;
        check_stats(f->e, 66, bytes);
        reopen(f);
        check_stats(f->e, 66, bytes);
        memset(val, 'a' + (int)m, sizeof val);
        check_value(f->e, "r98", val, 48 + m);
        uint8_t *v = NULL;
        size_t n = 0;
        assert_int_equal(amaters_engine_get(f->e, (const uint8_t *)"r99", 3,
                                            &v, &n),
                         AMATERS_ENOTFOUND);
        amaters_engine_close(f->e);
        f->e = NULL;
    }
}

/* ---- FORMAT ---- */

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static void test_format(void **state)
{
    struct fx *f = *state;
    static const char good[] =
        "amaters-lsm\nlayout 1\nkey-encoding 1\nrecord-format 1\n";
    static const struct {
        const char *text; /* NULL: no FORMAT file */
        int want;
        const char *msg; /* besides the file name */
    } cases[] = {
        {"amaters-lsm\nlayout 2\nkey-encoding 1\nrecord-format 1\n",
         AMATERS_EUNSUPPORTED, "file has layout 2, key-encoding 1"},
        {"amaters-lsm\nlayout 1\nkey-encoding 3\nrecord-format 1\n",
         AMATERS_EUNSUPPORTED, "key-encoding 3, record-format 1; this "
                               "build supports layout 1, key-encoding 1"},
        {"amaters-lsm\nlayout 1\nkey-encoding 1\nrecord-format 2\n",
         AMATERS_EUNSUPPORTED, "record-format 2;"},
        {"amaters-lsm\nlayout 1\nkey-encoding 1\nrecord-format 1\n"
         "compression 1\n", AMATERS_EUNSUPPORTED,
         "unknown field 'compression'"},
        {"amaters-lsm\nlayout 1\nkey-encoding 1\n", AMATERS_ECORRUPT,
         "malformed"},
        {"something else\n", AMATERS_ECORRUPT, "not a valid"},
        {"amaters-lsm\nlayout one\nkey-encoding 1\nrecord-format 1\n",
         AMATERS_ECORRUPT, "malformed"},
        {"", AMATERS_ECORRUPT, "malformed"},
        {NULL, AMATERS_ECORRUPT, "missing"},
    };
    char err[512];
    char text[256] = "";

    open_ok(f);
    assert_int_equal(put(f->e, "kept", "yes", 3), 0);
    amaters_engine_close(f->e);
    f->e = NULL;
    FILE *fp = fopen(f->format, "r");
    assert_non_null(fp);
    assert_true(fread(text, 1, sizeof text - 1, fp) > 0);
    fclose(fp);
    assert_string_equal(text, good);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].text != NULL)
            write_file(f->format, cases[i].text);
        else
            assert_int_equal(unlink(f->format), 0);
        err[0] = '\0';
        assert_int_equal(open_rc(f, err, sizeof err), cases[i].want);
        assert_null(f->e);
        if (strstr(err, f->format) == NULL ||
            strstr(err, cases[i].msg) == NULL)
            fail_msg("case %zu: message '%s' lacks '%s'", i, err,
                     cases[i].msg);
    }
    /* The data was never touched: the right FORMAT opens it again. */
    write_file(f->format, good);
    open_ok(f);
    check_value(f->e, "kept", "yes", 3);
    check_stats(f->e, 1, 7);
}

/* ---- group commit ---- */

enum { GC_THREADS = 32, GC_WRITES = 200 };

struct gc_arg {
    struct amaters_engine *e;
    unsigned id;
    int failures;
};

static void *gc_worker(void *p)
{
    struct gc_arg *a = p;
    char key[16];
    char val[16];

    for (unsigned i = 0; i < GC_WRITES; i++) {
        snprintf(key, sizeof key, "g%02u-%03u", a->id, i);
        snprintf(val, sizeof val, "v%u.%u", a->id, i);
        if (put(a->e, key, val, strlen(val)) != 0)
            a->failures++;
    }
    return NULL;
}

static uint64_t run_writers(struct amaters_engine *e, unsigned threads)
{
    struct gc_arg args[GC_THREADS];
    pthread_t th[GC_THREADS];

    for (unsigned i = 0; i < threads; i++) {
        args[i] = (struct gc_arg){e, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, gc_worker, &args[i]),
                         0);
    }
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    return (uint64_t)threads * GC_WRITES;
}

static void check_writers(struct amaters_engine *e, unsigned threads)
{
    char key[16];
    char val[16];
    uint64_t bytes = 0;

    for (unsigned t = 0; t < threads; t++) {
        for (unsigned i = 0; i < GC_WRITES; i++) {
            snprintf(key, sizeof key, "g%02u-%03u", t, i);
            snprintf(val, sizeof val, "v%u.%u", t, i);
            check_value(e, key, val, strlen(val));
            bytes += strlen(key) + strlen(val);
        }
    }
    check_stats(e, (uint64_t)threads * GC_WRITES, bytes);
}

static void test_group_commit(void **state)
{
    struct fx *f = *state;
    uint64_t writes;
    uint64_t groups;

    open_ok(f);
    assert_int_equal(amaters_engine_lsm_commit_groups(f->e), 0);
    writes = run_writers(f->e, GC_THREADS);
    groups = amaters_engine_lsm_commit_groups(f->e);
    print_message("group commit: %llu writes in %llu groups\n",
                  (unsigned long long)writes, (unsigned long long)groups);
    assert_true(groups > 0);
    assert_true(groups < writes);
    amaters_engine_close(f->e);
    f->e = NULL;
    open_ok(f);
    assert_int_equal(amaters_engine_lsm_commit_groups(f->e), 0);
    check_writers(f->e, GC_THREADS);
}

/* ---- write_async ---- */

#define ASYNC_WRITES 2000

struct async_state {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int failed;
    int calls[ASYNC_WRITES]; /* completions per write: must end at 1 */
};

struct async_write {
    struct async_state *st;
    int index;
    char key[16];
    struct amaters_write_op op;
};

static void async_done(void *arg, int rc)
{
    struct async_write *w = arg;
    pthread_mutex_lock(&w->st->mu);
    w->st->calls[w->index]++;
    w->st->done++;
    if (rc != 0)
        w->st->failed++;
    pthread_cond_signal(&w->st->cv);
    pthread_mutex_unlock(&w->st->mu);
}

/* Thousands of queued writes complete exactly once each, are grouped, are
 * all visible after a barrier, and are all there after a reopen. */
static void test_write_async(void **state)
{
    struct fx *f = *state;
    static struct async_state st;
    static struct async_write w[ASYNC_WRITES];

    memset(&st, 0, sizeof st);
    pthread_mutex_init(&st.mu, NULL);
    pthread_cond_init(&st.cv, NULL);
    open_ok(f);
    assert_non_null(f->e->ops->write_async);
    for (int i = 0; i < ASYNC_WRITES; i++) {
        w[i].st = &st;
        w[i].index = i;
        snprintf(w[i].key, sizeof w[i].key, "async%05d", i);
        w[i].op = (struct amaters_write_op){
            AMATERS_WRITE_PUT, (const uint8_t *)w[i].key, strlen(w[i].key),
            (const uint8_t *)w[i].key, strlen(w[i].key)};
        assert_int_equal(f->e->ops->write_async(f->e, &w[i].op, 1,
                                                async_done, &w[i]),
                         0);
    }
    /* the barrier returns once every queued write is applied: all are
     * readable before we wait for a single completion */
    assert_non_null(f->e->ops->barrier);
    amaters_engine_barrier(f->e);
    for (int i = 0; i < ASYNC_WRITES; i++) {
        uint8_t *v = NULL;
        size_t vl = 0;
        assert_int_equal(amaters_engine_get(f->e, (const uint8_t *)w[i].key,
                                            strlen(w[i].key), &v, &vl), 0);
        amaters_free(v);
    }
    amaters_engine_barrier(f->e); /* idle queue: returns at once */
    pthread_mutex_lock(&st.mu);
    while (st.done < ASYNC_WRITES)
        pthread_cond_wait(&st.cv, &st.mu);
    pthread_mutex_unlock(&st.mu);
    assert_int_equal(st.failed, 0);
    for (int i = 0; i < ASYNC_WRITES; i++)
        assert_int_equal(st.calls[i], 1);
    /* queued faster than one fsync each: they were grouped */
    assert_true(amaters_engine_lsm_commit_groups(f->e) < ASYNC_WRITES);
    /* bad arguments are refused without a completion */
    assert_int_equal(f->e->ops->write_async(f->e, NULL, 1, async_done, &w[0]),
                     AMATERS_EINVAL);
    reopen(f);
    for (int i = 0; i < ASYNC_WRITES; i += 97)
        check_value(f->e, w[i].key, w[i].key, strlen(w[i].key));
    check_stats(f->e, ASYNC_WRITES, 2 * ASYNC_WRITES * strlen("async00000"));
    pthread_mutex_destroy(&st.mu);
    pthread_cond_destroy(&st.cv);
}

/* With groups of one call, every write is its own RocksDB write. */
static void test_group_limit(void **state)
{
    struct fx *f = *state;
    uint64_t writes;

    f->opts.sync_mode = AMATERS_SYNC_NONE;
    open_ok(f);
    amaters_engine_lsm_set_max_group(f->e, 1);
    writes = run_writers(f->e, 4);
    assert_int_equal(amaters_engine_lsm_commit_groups(f->e), writes);
    amaters_engine_lsm_set_max_group(f->e, 0);
    check_writers(f->e, 4);
}

/* Many callers overwrite and delete the same few keys at once, so groups
 * often hold several ops on one key from different callers: the stats
 * must still equal what a full scan of the engine adds up, before and
 * after reopen. */
enum { SK_THREADS = 16, SK_OPS = 300, SK_KEYS = 6 };

static void *sk_worker(void *p)
{
    struct gc_arg *a = p;
    uint64_t rng = 0x9E3779B97F4A7C15ull * (a->id + 1);
    char key[8];
    char val[64];

    for (unsigned i = 0; i < SK_OPS; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        snprintf(key, sizeof key, "s%u", (unsigned)(rng % SK_KEYS));
        struct amaters_write_op ops[2] = {
            {AMATERS_WRITE_PUT, (const uint8_t *)key, 2,
             (const uint8_t *)val, (size_t)(rng >> 8) % sizeof val},
            {AMATERS_WRITE_DELETE, (const uint8_t *)key, 2, NULL, 0},
        };
        memset(val, 'a' + (int)(rng >> 20) % 26, sizeof val);
        /* put; put + delete (absent); delete */
        size_t first = (rng >> 16) % 3 == 2 ? 1 : 0;
        size_t n = (rng >> 16) % 3 == 1 ? 2 : 1;
        if (amaters_engine_write(a->e, ops + first, n) != 0)
            a->failures++;
    }
    return NULL;
}

/* Counts keys and key + value bytes by a full scan. */
static void scan_totals(struct amaters_engine *e, uint64_t *keys,
                        uint64_t *bytes)
{
    struct amaters_engine_iter *it = NULL;
    const uint8_t *k;
    const uint8_t *v;
    size_t kn;
    size_t vn;
    int rv;

    *keys = 0;
    *bytes = 0;
    assert_int_equal(amaters_engine_iter_open(e, NULL, 0, NULL, 0, &it), 0);
    for (;;) {
        rv = amaters_engine_iter_next(it, &k, &kn, &v, &vn);
        if (rv != 1)
            break;
        *keys += 1;
        *bytes += kn + vn;
    }
    assert_int_equal(rv, 0);
    amaters_engine_iter_close(it);
}

static void test_group_same_keys(void **state)
{
    struct fx *f = *state;
    struct gc_arg args[SK_THREADS];
    pthread_t th[SK_THREADS];
    uint64_t keys;
    uint64_t bytes;

    f->opts.sync_mode = AMATERS_SYNC_NONE;
    open_ok(f);
    for (unsigned i = 0; i < SK_THREADS; i++) {
        args[i] = (struct gc_arg){f->e, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, sk_worker, &args[i]),
                         0);
    }
    for (unsigned i = 0; i < SK_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    assert_true(amaters_engine_lsm_commit_groups(f->e) <
                SK_THREADS * SK_OPS);
    scan_totals(f->e, &keys, &bytes);
    check_stats(f->e, keys, bytes);
    reopen(f);
    check_stats(f->e, keys, bytes);
}

/* ---- large values and blob files ---- */

static void test_large_values(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *key;
        size_t len;
    } cases[] = {
        {"one-mib", 1u << 20}, {"eight-mib", 8u << 20},
        {"tiny", 100},         {"just-blob", 4096},
    };
    enum { N = sizeof cases / sizeof cases[0] };
    uint8_t **vals = f->bufs;
    uint64_t bytes = 0;

    open_ok(f);
    for (size_t i = 0; i < N; i++) {
        vals[i] = pattern(cases[i].len, (unsigned)i + 1);
        assert_int_equal(put(f->e, cases[i].key, vals[i], cases[i].len), 0);
        bytes += strlen(cases[i].key) + cases[i].len;
    }
    for (size_t i = 0; i < N; i++)
        check_value(f->e, cases[i].key, vals[i], cases[i].len);
    assert_int_equal(f->e->ops->flush(f->e), 0);
    /* Flushed: the values of 4 KiB and more are in blob files, kept out
     * of the SST files that compactions rewrite. */
    assert_true(blob_bytes(f->dir) >= (1u << 20) + (8u << 20) + 4096);
    reopen(f);
    for (size_t i = 0; i < N; i++)
        check_value(f->e, cases[i].key, vals[i], cases[i].len);
    check_stats(f->e, N, bytes);
}

/* ---- a full disk ---- */

static void test_disk_full(void **state)
{
    struct fx *f = *state;
    enum { VLEN = 256 * 1024, MAXW = 200 };
    uint8_t *v = f->bufs[0] = pattern(VLEN, 5);
    char key[16];
    int rv = 0;
    unsigned ok = 0;

    if (mount("tmpfs", f->dir, "tmpfs", 0, "size=6m,mode=0700") != 0)
        skip(); /* not root, or no mount namespace: cannot test */
    f->mounted = true;
    f->opts.memtable_size_mb = 1;
    open_ok(f);
    for (unsigned i = 0; i < MAXW; i++) {
        snprintf(key, sizeof key, "full%03u", i);
        rv = put(f->e, key, v, VLEN);
        if (rv != 0)
            break;
        ok++;
    }
    print_message("disk full after %u writes of %d bytes: %s\n", ok, VLEN,
                  amaters_errname(rv));
    assert_int_equal(rv, AMATERS_EFULL);
    assert_true(ok > 0);
    /* Further writes and flush fail the same way; reads keep working. */
    assert_int_equal(put(f->e, "more", "x", 1), AMATERS_EFULL);
    assert_int_equal(f->e->ops->flush(f->e), AMATERS_EFULL);
    for (unsigned i = 0; i < ok; i++) {
        snprintf(key, sizeof key, "full%03u", i);
        check_value(f->e, key, v, VLEN);
    }
    check_stats(f->e, ok, (uint64_t)ok * (7 + VLEN));
    /* With space again, a reopened engine has every acknowledged write,
     * exact stats, and takes writes. */
    amaters_engine_close(f->e);
    f->e = NULL;
    assert_int_equal(mount("tmpfs", f->dir, "tmpfs", MS_REMOUNT,
                           "size=32m,mode=0700"),
                     0);
    open_ok(f);
    for (unsigned i = 0; i < ok; i++) {
        snprintf(key, sizeof key, "full%03u", i);
        check_value(f->e, key, v, VLEN);
    }
    check_stats(f->e, ok, (uint64_t)ok * (7 + VLEN));
    assert_int_equal(put(f->e, "more", "x", 1), 0);
    check_stats(f->e, ok + 1, (uint64_t)ok * (7 + VLEN) + 5);
}

/* Counts files ending in suffix in dir. */
static int count_suffix(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    size_t sl = strlen(suffix);
    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len > sl && strcmp(de->d_name + len - sl, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* Config-driven options: the WAL in its own directory, and blob files
 * turned off keep large values in the LSM tree. */
static void test_wal_dir_and_no_blobs(void **state)
{
    struct fx *f = *state;
    char wal[160], lsm[160];
    snprintf(wal, sizeof wal, "%s/wal-here", f->dir);
    snprintf(lsm, sizeof lsm, "%s/lsm", f->dir);
    f->opts.wal_dir = wal;
    f->opts.blob_min_size = (size_t)-1;
    f->opts.compaction_style = AMATERS_COMPACTION_STYLE_UNIVERSAL;
    f->opts.num_levels = 4;
    open_ok(f);
    f->bufs[0] = pattern(1 << 20, 7);
    assert_int_equal(put(f->e, "big", f->bufs[0], 1 << 20), 0);
    assert_int_equal(f->e->ops->flush(f->e), 0);
    assert_true(count_suffix(wal, ".log") >= 1);
    assert_int_equal(count_suffix(lsm, ".log"), 0);
    assert_int_equal(count_suffix(lsm, ".blob"), 0);
    reopen(f);
    check_value(f->e, "big", f->bufs[0], 1 << 20);
}

/* ---- committer spin (storage.wal.commit_spin_us) ---- */

/* A lone writer with the committer watching for work: every write lands
 * (one group each), async writes interleave correctly, and close() is not
 * held up by a spin in progress (it ends within spin_us). */
static void test_commit_spin(void **state)
{
    struct fx *f = *state;
    static struct async_state st;
    static struct async_write w[64];
    uint64_t t0;

    f->opts.commit_spin_us = 5000;
    open_ok(f);
    for (int i = 0; i < 64; i++) {
        char k[16];
        snprintf(k, sizeof k, "spin%03d", i);
        assert_int_equal(put(f->e, k, k, strlen(k)), 0);
    }
    assert_int_equal(amaters_engine_lsm_commit_groups(f->e), 64);
    memset(&st, 0, sizeof st);
    pthread_mutex_init(&st.mu, NULL);
    pthread_cond_init(&st.cv, NULL);
    for (int i = 0; i < 64; i++) {
        w[i].st = &st;
        w[i].index = i;
        snprintf(w[i].key, sizeof w[i].key, "spinasync%03d", i);
        w[i].op = (struct amaters_write_op){
            AMATERS_WRITE_PUT, (const uint8_t *)w[i].key, strlen(w[i].key),
            (const uint8_t *)w[i].key, strlen(w[i].key)};
        assert_int_equal(f->e->ops->write_async(f->e, &w[i].op, 1,
                                                async_done, &w[i]), 0);
        pthread_mutex_lock(&st.mu);
        while (st.done <= i)
            pthread_cond_wait(&st.cv, &st.mu);
        pthread_mutex_unlock(&st.mu);
    }
    assert_int_equal(st.failed, 0);
    check_stats(f->e, 128, 2 * (64 * strlen("spin000") +
                                64 * strlen("spinasync000")));
    t0 = amaters_now_ns();
    amaters_engine_close(f->e); /* the committer may be spinning now */
    f->e = NULL;
    assert_true(amaters_now_ns() - t0 < 2000000000ull);
    open_ok(f);
    check_value(f->e, "spin063", "spin063", 7);
    check_value(f->e, "spinasync063", "spinasync063", 12);
    pthread_mutex_destroy(&st.mu);
    pthread_cond_destroy(&st.cv);
}

/* storage.block_cache_size_mb = 0 ("disables it") opens, reads and
 * reopens: index and filter blocks are then not cached (RocksDB refuses
 * to open when asked to cache them without a cache). */
static void test_no_block_cache(void **state)
{
    struct fx *f = *state;

    f->opts.block_cache_size_mb = 0;
    open_ok(f);
    assert_int_equal(put(f->e, "nc", "value", 5), 0);
    assert_int_equal(f->e->ops->flush(f->e), 0);
    reopen(f);
    check_value(f->e, "nc", "value", 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_async, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_spin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_block_cache, setup,
                                        teardown),
        cmocka_unit_test(test_parse_stall),
        cmocka_unit_test_setup_teardown(test_write_health, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_dir_and_no_blobs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_group_same_keys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_large_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
    };
    char scratch[] = "/tmp/amaters-engine-lsm-XXXXXX";
    int failed = cmocka_run_group_tests_name("lsm engine", tests, NULL, NULL);

    if (mkdtemp(scratch) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    failed += amaters_engine_conformance_run(&amaters_engine_lsm_ops,
                                             scratch, true);
    rmdir(scratch);
    return failed;
}
