/*
 * test_engine_lsm_stage.c - the transactional repair of a damaged "lsm"
 * directory (amaters_engine_lsm_repair_staged, engine_rocks_stage.c):
 * a failure injected at any step before the exchange leaves lsm/ and the
 * WAL directory byte for byte as they were (still refused, still
 * repairable); one after the exchange leaves the complete repaired
 * database (every key, exact stats, old WAL files still beside it), and
 * the next repair finishes the interrupted one. Table-driven over the
 * steps, with the WAL in lsm/ or in a directory of its own; plus a stale
 * staging copy, which is deleted unread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scratch_dir.h"
#include "core/alloc.h"
#include "core/crc32.h"
#include "core/errors.h"
#include "leakcheck.h"
#include "repair_fixture.h"
#include "obs/metrics.h"
#include "storage/engine.h"
#include "storage/engine_rocks.h"

#define KEYS 300
#define SNAP_LEN 8192


static int setup(void **state)
{
    *state = repair_fx_new("amaters-stage", (size_t)-1);
    return 0;
}

static int teardown(void **state)
{
    repair_fx_free(*state);
    return 0;
}

/* The WAL in a directory of its own (or, by default, in lsm/). */
static void separate_wal(struct repair_fx *f)
{
    snprintf(f->wal, sizeof f->wal, "%s/wal-elsewhere", f->dir);
    f->opts.wal_dir = f->wal;
}

static size_t value_of(int i, uint8_t *buf)
{
    for (size_t j = 0; j < 100; j++)
        buf[j] = (uint8_t)(i * 7 + j);
    return 100;
}

/* Writes KEYS keys, the first half flushed to a table, the rest left in
 * the WAL; closes. */
static void fill(struct repair_fx *f)
{
    struct amaters_engine *e = NULL;
    char err[256] = "";

    if (amaters_engine_lsm_ops.open(&f->opts, &e, err, sizeof err) != 0)
        fail_msg("open %s: %s", f->dir, err);
    for (int i = 0; i < KEYS; i++) {
        uint8_t buf[100];
        char k[16];
        struct amaters_write_op op = {AMATERS_WRITE_PUT, (const uint8_t *)k,
                                      0, buf, value_of(i, buf)};

        op.key_len = (size_t)snprintf(k, sizeof k, "k%04d", i);
        assert_int_equal(amaters_engine_write(e, &op, 1), 0);
        if (i == KEYS / 2)
            assert_int_equal(e->ops->flush(e), 0);
    }
    amaters_engine_close(e);
}

/* Appends "path size crc\n" for each regular file of dir in name order
 * (RocksDB's info LOG files left out). */
static void snap_dir(const char *dir, char *out, size_t len)
{
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, alphasort);

    for (int i = 0; i < n; i++) {
        char p[512];
        uint8_t buf[4096];
        uint32_t crc = 0;
        size_t got, size = 0;
        struct stat st;
        FILE *fp;

        snprintf(p, sizeof p, "%s/%s", dir, ents[i]->d_name);
        if (strncmp(ents[i]->d_name, "LOG", 3) == 0 || lstat(p, &st) != 0 ||
            !S_ISREG(st.st_mode)) {
            free(ents[i]);
            continue;
        }
        fp = fopen(p, "rb");
        assert_non_null(fp);
        while ((got = fread(buf, 1, sizeof buf, fp)) > 0) {
            crc = amaters_crc32(crc, buf, got);
            size += got;
        }
        fclose(fp);
        snprintf(out + strlen(out), len - strlen(out), "%s %zu %08x\n",
                 p, size, crc);
        free(ents[i]);
    }
    free(ents);
}

static void snapshot(const struct repair_fx *f, char *out, size_t len)
{
    char p[256];

    out[0] = '\0';
    snprintf(p, sizeof p, "%s/lsm", f->dir);
    snap_dir(p, out, len);
    if (f->wal[0] != '\0')
        snap_dir(f->wal, out, len);
    assert_true(strlen(out) + 1 < len);
}

static bool exists(const char *dir, const char *name)
{
    char p[4700];
    struct stat st;

    snprintf(p, sizeof p, "%s/%s", dir, name);
    return lstat(p, &st) == 0;
}

/* Every key reads back exactly; the stats count them all. */
static void check_all(struct repair_fx *f)
{
    struct amaters_engine *e = NULL;
    struct amaters_engine_stats st = {0};
    char err[256] = "";

    if (amaters_engine_lsm_ops.open(&f->opts, &e, err, sizeof err) != 0)
        fail_msg("open after repair: %s", err);
    for (int i = 0; i < KEYS; i++) {
        uint8_t want[100], *v = NULL;
        size_t vl = 0, n = value_of(i, want);
        char k[16];
        int kl = snprintf(k, sizeof k, "k%04d", i);

        assert_int_equal(amaters_engine_get(e, (const uint8_t *)k,
                                            (size_t)kl, &v, &vl), 0);
        assert_int_equal(vl, n);
        assert_memory_equal(v, want, n);
        amaters_free(v);
    }
    assert_int_equal(e->ops->stats(e, &st), 0);
    assert_int_equal(st.key_count, KEYS);
    amaters_engine_close(e);
}

static int fail_at_cb(void *arg, const char *step)
{
    return strcmp((const char *)arg, step) == 0 ? -1 : 0;
}

static const struct {
    const char *step;
    bool separate_wal;
    bool committed; /* the failure comes after the exchange */
} cases[] = {
    {"staged", true, false},           {"rocksdb-repaired", true, false},
    {"rocksdb-repaired", false, false}, {"reopened", true, false},
    {"marked", true, false},           {"marked", false, false},
    {"exchanged", true, true},         {"exchanged", false, true},
    {"wal-moved", true, true},
};

static void run_case(void **state, size_t i)
{
    struct repair_fx *f = *state;
    struct amaters_lsm_repair_report *rep = calloc(1, sizeof *rep);
    char *before = calloc(1, SNAP_LEN), *after = calloc(1, SNAP_LEN);
    char err[2048] = "", staging[128];
    struct amaters_engine *e = NULL;
    int rc;

    assert_true(rep != NULL && before != NULL && after != NULL);
    if (cases[i].separate_wal)
        separate_wal(f);
    fill(f);
    repair_damage_manifest(f->dir);
    snapshot(f, before, SNAP_LEN);
    snprintf(staging, sizeof staging, "%s/repair-staging", f->dir);
    rc = amaters_engine_lsm_repair_staged(&f->opts, fail_at_cb,
                                          (void *)cases[i].step, rep, err,
                                          sizeof err);
    if (!cases[i].committed) {
        if (rc != AMATERS_EIO)
            fail_msg("%s: repair gave %s (%s)", cases[i].step,
                     amaters_errname(rc), err);
        assert_non_null(strstr(err, "the repair changed nothing"));
        snapshot(f, after, SNAP_LEN);
        assert_string_equal(after, before);
        assert_false(exists(f->dir, "repair-staging"));
        assert_int_equal(amaters_engine_lsm_ops.open(&f->opts, &e, NULL, 0),
                         AMATERS_ECORRUPT); /* still refused */
        amaters_engine_close(e);
    } else {
        if (rc != 0)
            fail_msg("%s: repair gave %s (%s)", cases[i].step,
                     amaters_errname(rc), err);
        assert_true(rep->warning[0] != '\0');
        assert_true(rep->replaced[0] == '\0');
        assert_true(exists(staging, "lsm/CURRENT")); /* the original */
        check_all(f); /* old WAL files, if any, still beside it */
    }
    memset(rep, 0, sizeof *rep);
    rc = amaters_engine_lsm_repair(&f->opts, rep, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: second repair gave %s (%s)", cases[i].step,
                 amaters_errname(rc), err);
    assert_int_equal(rep->keys, KEYS);
    assert_int_equal(rep->resumed, cases[i].committed);
    assert_int_equal(rep->stale_removed, false); /* failures clean up */
    assert_non_null(strstr(rep->method, cases[i].committed
                                            ? "none needed"
                                            : "RocksDB repair"));
    assert_true(rep->replaced[0] != '\0');
    assert_true(exists(rep->replaced, "lsm/CURRENT"));
    assert_false(exists(f->dir, "repair-staging"));
    check_all(f);
    free(rep);
    free(before);
    free(after);
}

static void test_fail_staged(void **s) { run_case(s, 0); }
static void test_fail_rocksdb_repaired(void **s) { run_case(s, 1); }
static void test_fail_rocksdb_repaired_wal_in_lsm(void **s) { run_case(s, 2); }
static void test_fail_reopened(void **s) { run_case(s, 3); }
static void test_fail_marked(void **s) { run_case(s, 4); }
static void test_fail_marked_wal_in_lsm(void **s) { run_case(s, 5); }
static void test_fail_exchanged(void **s) { run_case(s, 6); }
static void test_fail_exchanged_wal_in_lsm(void **s) { run_case(s, 7); }
static void test_fail_wal_moved(void **s) { run_case(s, 8); }

/* A leftover staging copy without a matching marker is never trusted:
 * deleted, and the healthy database beside it is used as it is. */
static void test_stale_staging_deleted(void **state)
{
    struct repair_fx *f = *state;
    struct amaters_lsm_repair_report *rep = calloc(1, sizeof *rep);
    char p[256], err[1024] = "";
    FILE *fp;

    assert_non_null(rep);
    separate_wal(f);
    fill(f);
    snprintf(p, sizeof p, "%s/repair-staging", f->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/repair-staging/lsm", f->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/repair-staging/lsm/CURRENT", f->dir);
    fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("MANIFEST-000001\n", fp);
    fclose(fp);
    snprintf(p, sizeof p, "%s/repair-staging/REPAIR-STATE", f->dir);
    fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("lsm 1 2 3\n", fp); /* names no inode of ours */
    fclose(fp);
    assert_int_equal(amaters_engine_lsm_repair(&f->opts, rep, err,
                                               sizeof err), 0);
    assert_true(rep->stale_removed);
    assert_false(rep->resumed);
    assert_non_null(strstr(rep->method, "none needed"));
    assert_false(exists(f->dir, "repair-staging"));
    check_all(f);
    free(rep);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_fail_staged),
        T(test_fail_rocksdb_repaired),
        T(test_fail_rocksdb_repaired_wal_in_lsm),
        T(test_fail_reopened),
        T(test_fail_marked),
        T(test_fail_marked_wal_in_lsm),
        T(test_fail_exchanged),
        T(test_fail_exchanged_wal_in_lsm),
        T(test_fail_wal_moved),
        T(test_stale_staging_deleted),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
