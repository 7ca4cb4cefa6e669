/*
 * engine_rocks.c - the "lsm" storage engine on RocksDB: open and close,
 * point reads, snapshot iterators, flush, manual compaction (and its
 * cancellation at shutdown), stats, and the conversion of RocksDB errors
 * to AMATERS_E* codes (RocksDB's text only ever reaches callers inside an
 * error message).
 *
 * Layout: <path>/lsm is the RocksDB database, with a FORMAT file beside
 * its own files (engine_rocks_open.c). User keys live in the "default"
 * column family exactly as given (any bytes, the empty key included);
 * the "meta" column family holds the engine's own records (the exact
 * stats counters, written by the committer in the same WriteBatch as
 * the data they describe). Writes go through the group committer
 * (engine_rocks_commit.c).
 *
 * Iterators read a RocksDB snapshot taken at iter_open(): a consistent
 * view; writes made after it are not seen.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "obs/log.h"
#include "storage/engine_rocks.h"
#include "storage/engine_rocks_int.h"

/* rocksdb::BottommostLevelCompaction::kForceOptimized: a manual
 * compaction rewrites the bottommost level too (dropping the tombstones
 * and stale blob references kept there), but not the files it has just
 * written into it. */
#define BOTTOMMOST_FORCE_OPTIMIZED 3

/* AMATERS_TEST_COMMIT_DELAY_MS: see engine_rocks_int.h (tests only). */
static unsigned test_commit_delay_ms(void)
{
    const char *v = getenv("AMATERS_TEST_COMMIT_DELAY_MS");
    char *end = NULL;
    unsigned long ms;

    if (v == NULL || *v < '0' || *v > '9')
        return 0;
    ms = strtoul(v, &end, 10);
    return *end == '\0' && ms <= 600000 ? (unsigned)ms : 0;
}

/* Owned by one thread at a time (the caller's). */
struct lsm_iter {
    struct amaters_engine_iter base; /* must be first */
    struct lsm_engine *e;
    const rocksdb_snapshot_t *snap;
    rocksdb_readoptions_t *ro;
    rocksdb_iterator_t *it; /* NULL for a range known to be empty */
    uint8_t *end;           /* upper bound storage, referenced by ro */
    bool started;           /* it has returned its first entry */
    bool exhausted;
};

static const char empty_bytes[1] = "";

/* A pointer RocksDB may dereference for (p, n): never NULL. */
static const char *cptr(const uint8_t *p, size_t n)
{
    return n > 0 ? (const char *)p : empty_bytes;
}

int lsm_error(char *rerr, const char *what, char *msg, size_t msglen)
{
    int rv;

    if (rerr == NULL)
        return 0;
    if (strstr(rerr, "No space left") != NULL ||
        strstr(rerr, "NoSpace") != NULL ||
        strstr(rerr, "Disk quota exceeded") != NULL)
        rv = AMATERS_EFULL;
    else if (strncmp(rerr, "Corruption", 10) == 0)
        rv = AMATERS_ECORRUPT;
    else if (strstr(rerr, "lock") != NULL &&
             strstr(rerr, "temporarily unavailable") != NULL)
        rv = AMATERS_EBUSY; /* another process has the database open */
    else
        rv = AMATERS_EIO;
    if (msg != NULL && msglen > 0)
        snprintf(msg, msglen, "%s: %s", what ? what : "rocksdb", rerr);
    rocksdb_free(rerr);
    return rv;
}

int lsm_set_failed(struct lsm_engine *e, int rv)
{
    int none = 0;

    atomic_compare_exchange_strong(&e->failed, &none, rv);
    return rv;
}

int lsm_fail(struct lsm_engine *e, char *rerr, const char *what)
{
    char msg[sizeof e->fail_msg];
    int none = 0;
    int rv = lsm_error(rerr, what, msg, sizeof msg);

    if (rv == 0 || !atomic_compare_exchange_strong(&e->failed, &none, rv))
        return rv;
    pthread_mutex_lock(&e->mu);
    snprintf(e->fail_msg, sizeof e->fail_msg, "%s", msg);
    pthread_mutex_unlock(&e->mu);
    amaters_log(AMATERS_LOG_ERROR, "storage",
                "%s: every write now fails (%s) until the server is "
                "restarted; acknowledged data is safe. Fix the cause (free "
                "disk space, check the disk), then restart",
                msg, amaters_strerror(rv));
    return rv;
}

/* ---- open and close ---- */

static int make_dir(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST)
        return 0;
    snprintf(err, errlen, "create %s: %s", dir, strerror(errno));
    return errno == ENOSPC ? AMATERS_EFULL : AMATERS_EIO;
}

/* The WAL directory (storage.wal.dir, maybe outside the data directory)
 * holds every value written: create it 0700 like lsm/ before RocksDB
 * would create it 0755 itself (RocksDB's own files are 0644 and cannot be
 * made private through its C API; the directory keeps them out of other
 * users' reach). An existing directory is left as it is, with a warning
 * when other users may enter or list it. */
static int make_wal_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    int e;

    if (dir == NULL || dir[0] == '\0' || mkdir(dir, 0700) == 0)
        return 0;
    e = errno;
    if (e != EEXIST) {
        snprintf(err, errlen, "create WAL directory %s: %s", dir,
                 strerror(e));
        return e == ENOSPC ? AMATERS_EFULL : AMATERS_EIO;
    }
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07))
        amaters_log(AMATERS_LOG_WARN, "storage",
                    "WAL directory %s is open to other users (mode %04o) "
                    "although the WAL holds every value written: "
                    "chmod o-rwx it",
                    dir, (unsigned)(st.st_mode & 07777));
    return 0;
}

static uint64_t get_u64le(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Reads the stats counters from the meta column family (absent in a new
 * database: zero). */
static int load_stats(struct lsm_engine *e, char *err, size_t errlen)
{
    char *rerr = NULL;
    size_t len = 0;
    char *v = rocksdb_get_cf(e->db, e->ropts, e->cf_meta, LSM_META_STATS,
                             strlen(LSM_META_STATS), &len, &rerr);
    int rv = lsm_error(rerr, "read stats", err, errlen);

    if (rv != 0 || v == NULL)
        return rv;
    if (len == LSM_STATS_LEN) {
        e->key_count = get_u64le((const uint8_t *)v);
        e->data_bytes = get_u64le((const uint8_t *)v + 8);
    } else {
        snprintf(err, errlen, "stats record of %zu bytes, want %d", len,
                 LSM_STATS_LEN);
        rv = AMATERS_ECORRUPT;
    }
    rocksdb_free(v);
    return rv;
}

static int open_db(struct lsm_engine *e, const char *dir, char *err,
                   size_t errlen)
{
    const char *names[2] = {"default", LSM_META_CF};
    const rocksdb_options_t *cfopts[2] = {e->dbopts, e->dbopts};
    rocksdb_column_family_handle_t *cfs[2] = {NULL, NULL};
    char *rerr = NULL;
    char what[4200];

    e->db = rocksdb_open_column_families(e->dbopts, dir, 2, names, cfopts,
                                         cfs, &rerr);
    snprintf(what, sizeof what, "open %s", dir);
    if (rerr != NULL)
        return lsm_error(rerr, what, err, errlen);
    e->cf_data = cfs[0];
    e->cf_meta = cfs[1];
    return load_stats(e, err, errlen);
}

/* Releases everything of a (possibly partly) opened engine. */
static void lsm_teardown(struct lsm_engine *e)
{
    lsm_commit_stop(e);
    if (e->db != NULL && atomic_load(&e->failed) == 0) {
        char *rerr = NULL;
        rocksdb_flush_wal(e->db, 1, &rerr);
        lsm_error(rerr, NULL, NULL, 0);
    }
    if (e->cf_data != NULL)
        rocksdb_column_family_handle_destroy(e->cf_data);
    if (e->cf_meta != NULL)
        rocksdb_column_family_handle_destroy(e->cf_meta);
    if (e->db != NULL)
        rocksdb_close(e->db);
    if (e->ropts != NULL)
        rocksdb_readoptions_destroy(e->ropts);
    if (e->wopts != NULL)
        rocksdb_writeoptions_destroy(e->wopts);
    lsm_options_free(e);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->work_cv);
    pthread_cond_destroy(&e->done_cv);
    pthread_mutex_destroy(&e->sync_mu);
    pthread_cond_destroy(&e->sync_cv);
    amaters_free(e);
}

static int init_sync(struct lsm_engine *e)
{
    pthread_condattr_t ca;
    int rc;

    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->work_cv, NULL);
    pthread_cond_init(&e->done_cv, NULL);
    pthread_mutex_init(&e->sync_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&e->sync_cv, &ca);
    pthread_condattr_destroy(&ca);
    return rc == 0 ? 0 : AMATERS_EINTERNAL;
}

static int check_opts(const struct amaters_engine_options *opts, char *err,
                      size_t errlen)
{
    if (opts == NULL || opts->path == NULL || opts->path[0] == '\0') {
        snprintf(err, errlen, "lsm engine: no data directory given");
        return AMATERS_EINVAL;
    }
    if (opts->sync_mode != AMATERS_SYNC_ALWAYS &&
        opts->sync_mode != AMATERS_SYNC_INTERVAL &&
        opts->sync_mode != AMATERS_SYNC_NONE) {
        snprintf(err, errlen, "lsm engine: unknown sync mode %d",
                 opts->sync_mode);
        return AMATERS_EINVAL;
    }
    if (opts->sync_mode == AMATERS_SYNC_INTERVAL &&
        opts->sync_interval_ms == 0) {
        snprintf(err, errlen, "lsm engine: sync_interval_ms must be > 0");
        return AMATERS_EINVAL;
    }
    if (strlen(opts->path) > 4000) {
        snprintf(err, errlen, "lsm engine: data directory path too long");
        return AMATERS_EINVAL;
    }
    return 0;
}

static int lsm_open(const struct amaters_engine_options *opts,
                    struct amaters_engine **out, char *err, size_t errlen)
{
    char scratch[8];
    char dir[4096];
    struct lsm_engine *e = NULL;
    bool fresh = false;
    int rv;

    if (err == NULL) {
        err = scratch;
        errlen = sizeof scratch;
    }
    if (out == NULL)
        return AMATERS_EINVAL;
    rv = check_opts(opts, err, errlen);
    if (rv != 0)
        return rv;
    e = amaters_calloc(1, sizeof *e);
    if (e == NULL) {
        snprintf(err, errlen, "lsm engine: out of memory");
        return AMATERS_ENOMEM;
    }
    e->base.ops = &amaters_engine_lsm_ops;
    e->sync_mode = opts->sync_mode;
    e->sync_interval_ms = opts->sync_interval_ms;
    e->no_wal = opts->disable_wal;
    e->spin_us = opts->commit_spin_us;
    e->test_delay_ms = test_commit_delay_ms();
    if (e->test_delay_ms > 0)
        amaters_log(AMATERS_LOG_WARN, "storage",
                    "test fault injection active: "
                    "AMATERS_TEST_COMMIT_DELAY_MS=%u delays every commit "
                    "group by %u ms (never set this in production)",
                    e->test_delay_ms, e->test_delay_ms);
    rv = init_sync(e);
    if (rv != 0) {
        snprintf(err, errlen, "lsm engine: cannot create a condition");
        goto fail;
    }
    snprintf(dir, sizeof dir, "%s/lsm", opts->path);
    rv = make_dir(opts->path, err, errlen);
    if (rv == 0)
        rv = make_dir(dir, err, errlen);
    if (rv == 0)
        rv = make_wal_dir(opts->wal_dir, err, errlen);
    if (rv == 0)
        rv = lsm_format_check(dir, err, errlen);
    if (rv == 0)
        rv = lsm_current_check(dir, &fresh, err, errlen);
    if (rv == 0 && !fresh)
        rv = lsm_recovery_space_check(dir, opts->wal_dir, err, errlen);
    if (rv != 0)
        goto fail;
    rv = lsm_options_build(e, opts);
    if (rv == 0) /* an existing database must never be recreated */
        rocksdb_options_set_create_if_missing(e->dbopts, fresh);
    e->ropts = rocksdb_readoptions_create();
    e->wopts = rocksdb_writeoptions_create();
    if (rv != 0 || e->ropts == NULL || e->wopts == NULL) {
        snprintf(err, errlen, "lsm engine: out of memory");
        rv = AMATERS_ENOMEM;
        goto fail;
    }
    rocksdb_writeoptions_set_sync(e->wopts,
                                  opts->sync_mode == AMATERS_SYNC_ALWAYS &&
                                      !opts->disable_wal);
    if (opts->disable_wal)
        rocksdb_writeoptions_disable_WAL(e->wopts, 1);
    rv = open_db(e, dir, err, errlen);
    if (rv != 0)
        goto fail;
    rv = lsm_commit_start(e);
    if (rv != 0) {
        snprintf(err, errlen, "lsm engine: cannot start the committer");
        goto fail;
    }
    *out = &e->base;
    return 0;
fail:
    lsm_teardown(e);
    return rv;
}

static void lsm_close(struct amaters_engine *base)
{
    if (base != NULL)
        lsm_teardown((struct lsm_engine *)base);
}

/* ---- reads ---- */

static int lsm_get(struct amaters_engine *base, const uint8_t *key,
                   size_t key_len, uint8_t **value, size_t *value_len)
{
    struct lsm_engine *e = (struct lsm_engine *)base;
    rocksdb_pinnableslice_t *ps;
    const char *v;
    char *rerr = NULL;
    size_t len = 0;
    uint8_t *copy;

    if ((key == NULL && key_len > 0) || value == NULL || value_len == NULL)
        return AMATERS_EINVAL;
    ps = rocksdb_get_pinned_cf(e->db, e->ropts, e->cf_data,
                               cptr(key, key_len), key_len, &rerr);
    if (rerr != NULL)
        return lsm_error(rerr, NULL, NULL, 0);
    if (ps == NULL)
        return AMATERS_ENOTFOUND;
    v = rocksdb_pinnableslice_value(ps, &len);
    copy = amaters_malloc(len ? len : 1);
    if (copy != NULL && len > 0)
        memcpy(copy, v, len);
    rocksdb_pinnableslice_destroy(ps);
    if (copy == NULL)
        return AMATERS_ENOMEM;
    *value = copy;
    *value_len = len;
    return 0;
}

static int key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n > 0 ? memcmp(a, b, n) : 0;

    if (c != 0)
        return c;
    return an < bn ? -1 : an > bn;
}

static void lsm_iter_close(struct amaters_engine_iter *base)
{
    struct lsm_iter *it = (struct lsm_iter *)base;

    if (it == NULL)
        return;
    if (it->it != NULL)
        rocksdb_iter_destroy(it->it);
    if (it->ro != NULL)
        rocksdb_readoptions_destroy(it->ro);
    if (it->snap != NULL)
        rocksdb_release_snapshot(it->e->db, it->snap);
    amaters_free(it->end);
    amaters_free(it);
}

static int lsm_iter_open(struct amaters_engine *base, const uint8_t *start,
                         size_t start_len, const uint8_t *end,
                         size_t end_len, struct amaters_engine_iter **out)
{
    struct lsm_engine *e = (struct lsm_engine *)base;
    struct lsm_iter *it;

    if (out == NULL || (start == NULL && start_len > 0) ||
        (end == NULL && end_len > 0))
        return AMATERS_EINVAL;
    it = amaters_calloc(1, sizeof *it);
    if (it == NULL)
        return AMATERS_ENOMEM;
    it->base.ops = &amaters_engine_lsm_ops;
    it->e = e;
    if (end != NULL && key_cmp(start, start_len, end, end_len) >= 0) {
        it->exhausted = true; /* empty range: no RocksDB iterator */
        *out = &it->base;
        return 0;
    }
    if (end != NULL) {
        it->end = amaters_memdup(end, end_len);
        if (it->end == NULL) {
            lsm_iter_close(&it->base);
            return AMATERS_ENOMEM;
        }
    }
    it->ro = rocksdb_readoptions_create();
    it->snap = rocksdb_create_snapshot(e->db);
    rocksdb_readoptions_set_snapshot(it->ro, it->snap);
    if (end != NULL)
        rocksdb_readoptions_set_iterate_upper_bound(it->ro,
                                                    (const char *)it->end,
                                                    end_len);
    it->it = rocksdb_create_iterator_cf(e->db, it->ro, e->cf_data);
    rocksdb_iter_seek(it->it, cptr(start, start_len), start_len);
    *out = &it->base;
    return 0;
}

static int lsm_iter_next(struct amaters_engine_iter *base,
                         const uint8_t **key, size_t *key_len,
                         const uint8_t **value, size_t *value_len)
{
    struct lsm_iter *it = (struct lsm_iter *)base;
    char *rerr = NULL;

    if (it->exhausted)
        return 0;
    if (it->started)
        rocksdb_iter_next(it->it);
    it->started = true;
    if (rocksdb_iter_valid(it->it)) {
        *key = (const uint8_t *)rocksdb_iter_key(it->it, key_len);
        *value = (const uint8_t *)rocksdb_iter_value(it->it, value_len);
        return 1;
    }
    it->exhausted = true;
    rocksdb_iter_get_error(it->it, &rerr);
    return lsm_error(rerr, NULL, NULL, 0);
}

/* ---- flush, stats ---- */

/* The engine's flush(): see storage/engine.h. The two column families
 * must reach the table files at the same point of the write order: without
 * a WAL or a crash leaves the stats record ahead of (or behind) the data
 * for good, and with one the repair relies on the tables holding a prefix
 * of the writes (engine_rocks_repair.c). Atomic flush (engine_rocks_open.c)
 * does that for the flushes RocksDB starts itself, but RocksDB 7.8's C API
 * flushes one column family per call; so the committer is held meanwhile
 * (writers wait for the two memtable flushes) and both are flushed up to
 * the same write. A crash between the two flushes can still separate them
 * (docs/internals/storage.md). */
static int lsm_flush(struct amaters_engine *base)
{
    struct lsm_engine *e = (struct lsm_engine *)base;
    rocksdb_flushoptions_t *fo;
    char *rerr = NULL;
    int rv = atomic_load(&e->failed);

    if (rv != 0)
        return rv; /* see lsm_engine.failed */
    rocksdb_flush_wal(e->db, 1, &rerr);
    if (rerr != NULL)
        return lsm_fail(e, rerr, "flush: WAL sync");
    fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    /* Held with a WAL too: both column families then end at the same
     * write, so the tables always hold a prefix of the writes (the
     * repair's leaving out of flushed WAL files relies on it). */
    lsm_commit_hold(e);
    rocksdb_flush_cf(e->db, fo, e->cf_data, &rerr);
    rv = lsm_error(rerr, NULL, NULL, 0);
    if (rv == 0) {
        rocksdb_flush_cf(e->db, fo, e->cf_meta, &rerr);
        rv = lsm_error(rerr, NULL, NULL, 0);
    }
    lsm_commit_release(e);
    rocksdb_flushoptions_destroy(fo);
    return rv;
}

/* Reads an integer property of column family cf (0 if absent). */
static uint64_t prop_int_cf(struct lsm_engine *e,
                            rocksdb_column_family_handle_t *cf,
                            const char *name)
{
    uint64_t v = 0;

    if (rocksdb_property_int_cf(e->db, cf, name, &v) != 0)
        return 0;
    return v;
}

/* Reads an integer property of the data column family (0 if absent). */
static uint64_t prop_int(struct lsm_engine *e, const char *name)
{
    return prop_int_cf(e, e->cf_data, name);
}

/* Sums an integer property over both column families. */
static uint64_t prop_int_all(struct lsm_engine *e, const char *name)
{
    return prop_int_cf(e, e->cf_data, name) +
           prop_int_cf(e, e->cf_meta, name);
}

static int lsm_stats(struct amaters_engine *base,
                     struct amaters_engine_stats *out)
{
    struct lsm_engine *e = (struct lsm_engine *)base;

    if (out == NULL)
        return AMATERS_EINVAL;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&e->mu);
    out->key_count = e->key_count;
    out->data_bytes = e->data_bytes;
    out->write_failed = atomic_load(&e->failed);
    if (out->write_failed)
        snprintf(out->write_error, sizeof out->write_error, "%s",
                 e->fail_msg[0] ? e->fail_msg
                                : amaters_strerror(out->write_failed));
    pthread_mutex_unlock(&e->mu);
    lsm_write_health(e, out);
    out->sst_bytes = prop_int_all(e, "rocksdb.live-sst-files-size");
    out->blob_bytes = prop_int_all(e, "rocksdb.live-blob-file-size");
    return 0;
}

/* ---- compaction ---- */

/* Background errors RocksDB has counted since open (failed flushes and
 * compactions). */
static uint64_t bg_errors(struct lsm_engine *e)
{
    uint64_t v = 0;

    if (rocksdb_property_int(e->db, "rocksdb.background-errors", &v) != 0)
        return 0;
    return v;
}

/* The engine's compact(): see storage/engine.h. RocksDB's end bound is
 * inclusive, so a file whose first key is end itself is rewritten too
 * (harmless: compaction never changes what reads return). The C API's
 * CompactRange returns no status: a failure shows as one more background
 * error, whose cause it does not tell (AMATERS_EIO). A background flush
 * or compaction failing meanwhile counts as well: then something did
 * fail, and saying so is the right answer. A compaction cancelled by
 * lsm_interrupt() returns like a finished one (RocksDB counts no error
 * for it), hence the check of e->interrupted after it. */
static int lsm_compact(struct amaters_engine *base, const uint8_t *start,
                       size_t start_len, const uint8_t *end, size_t end_len)
{
    struct lsm_engine *e = (struct lsm_engine *)base;
    rocksdb_compactoptions_t *co;
    uint64_t errs;
    int rv;

    if ((start == NULL && start_len > 0) || (end == NULL && end_len > 0))
        return AMATERS_EINVAL;
    if (atomic_load(&e->interrupted))
        return AMATERS_ESHUTDOWN;
    rv = lsm_flush(base);
    if (rv != 0 || (start != NULL && end != NULL &&
                    key_cmp(start, start_len, end, end_len) >= 0))
        return rv;
    co = rocksdb_compactoptions_create();
    if (co == NULL)
        return AMATERS_ENOMEM;
    /* automatic compactions keep running: writes do not stall behind a
     * long manual one */
    rocksdb_compactoptions_set_exclusive_manual_compaction(co, 0);
    rocksdb_compactoptions_set_bottommost_level_compaction(
        co, BOTTOMMOST_FORCE_OPTIMIZED);
    errs = bg_errors(e);
    rocksdb_compact_range_cf_opt(
        e->db, e->cf_data, co, start ? cptr(start, start_len) : NULL,
        start_len, end ? cptr(end, end_len) : NULL, end_len);
    if (start == NULL && end == NULL && !atomic_load(&e->interrupted))
        rocksdb_compact_range_cf_opt(e->db, e->cf_meta, co, NULL, 0, NULL,
                                     0);
    rocksdb_compactoptions_destroy(co);
    if (atomic_load(&e->interrupted))
        return AMATERS_ESHUTDOWN;
    return bg_errors(e) != errs ? AMATERS_EIO : 0;
}

/* The engine's interrupt(): see storage/engine.h. The flag is set before
 * RocksDB's manual compactions are disabled, so a compact() that RocksDB
 * cancels (or refuses to start) always sees it when CompactRange
 * returns. rocksdb_disable_manual_compaction() waits until every manual
 * compaction in progress has stopped; it is called once (it counts its
 * calls, and nothing here enables manual compactions again). */
static void lsm_interrupt(struct amaters_engine *base)
{
    struct lsm_engine *e = (struct lsm_engine *)base;

    if (atomic_exchange(&e->interrupted, true))
        return;
    rocksdb_disable_manual_compaction(e->db);
}

int amaters_lsm_parse_stall(const char *dbstats, uint64_t *us)
{
    static const char tag[] = "Cumulative stall: ";
    const char *p = dbstats ? strstr(dbstats, tag) : NULL;
    unsigned h = 0, m = 0;
    double s = 0;

    if (p == NULL || sscanf(p + sizeof tag - 1, "%u:%u:%lf", &h, &m, &s) != 3
        || m > 59 || s < 0 || s >= 60)
        return AMATERS_EINVAL;
    *us = ((uint64_t)h * 3600 + m * 60) * 1000000u +
          (uint64_t)(s * 1e6 + 0.5);
    return 0;
}

void lsm_write_health(struct lsm_engine *e, struct amaters_engine_stats *out)
{
    char *dbstats = rocksdb_property_value(e->db, "rocksdb.dbstats");

    if (dbstats != NULL) {
        uint64_t us = 0;
        if (amaters_lsm_parse_stall(dbstats, &us) == 0)
            out->write_stall_us = us;
        rocksdb_free(dbstats);
    }
    out->write_stopped = prop_int(e, "rocksdb.is-write-stopped");
    out->delayed_write_rate = prop_int(e, "rocksdb.actual-delayed-write-rate");
    out->pending_compaction_bytes =
        prop_int(e, "rocksdb.estimate-pending-compaction-bytes");
    out->immutable_memtables = prop_int(e, "rocksdb.num-immutable-mem-table");
}

const struct amaters_engine_ops amaters_engine_lsm_ops = {
    .version = AMATERS_ENGINE_OPS_VERSION,
    .name = "lsm",
    .open = lsm_open,
    .close = lsm_close,
    .get = lsm_get,
    .write = lsm_write,
    .iter_open = lsm_iter_open,
    .iter_next = lsm_iter_next,
    .iter_close = lsm_iter_close,
    .flush = lsm_flush,
    .stats = lsm_stats,
    .write_async = lsm_write_async,
    .barrier = lsm_barrier,
    .compact = lsm_compact,
    .interrupt = lsm_interrupt,
};
