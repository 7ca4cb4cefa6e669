/*
 * test_engine_lsm_walskip.c - the repair's second attempt without WAL
 * files whose data writes are all in table files (engine_rocks_repair.c)
 * must never leave out a WAL holding writes that only it has.
 *
 * The case (found by review): before atomic flush, RocksDB flushed the
 * "meta" column family alone when the WAL grew too large, so its tables
 * could end at a sequence number past data writes that only a WAL held.
 * Comparing WALs with the largest sequence number of ALL tables then left
 * out such a WAL and lost 100 of 200 synced writes. The directory is built
 * here with RocksDB's C API exactly so: 100 batches (data + stats record),
 * a copy of that WAL kept (flushed later: the "stale WAL" that makes
 * RocksDB's own repair fail), data flushed, 100 more batches, meta flushed
 * alone, closed without a flush, the stale WAL put back, the MANIFEST
 * damaged. The repair must bring back all 200 keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scratch_dir.h"
#include "core/alloc.h"
#include "core/errors.h"
#include "leakcheck.h"
#include "repair_fixture.h"
#include "obs/metrics.h"
#include "storage/engine.h"
#include "storage/engine_rocks.h"

#define BATCHES 100


static int setup(void **state)
{
    struct repair_fx *f = repair_fx_new("amaters-walskip", (size_t)-1);

    snprintf(f->wal, sizeof f->wal, "%s/wal", f->dir);
    snprintf(f->saved, sizeof f->saved, "%s/saved", f->dir);
    f->opts.wal_dir = f->wal;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    repair_fx_free(*state);
    return 0;
}

static void ck(char *err, const char *what)
{
    if (err != NULL)
        fail_msg("%s: %s", what, err);
}

/* One of our batches: a data write, then the stats record in meta. */
static void batch(rocksdb_t *db, rocksdb_writeoptions_t *wo,
                  rocksdb_column_family_handle_t **cf, int i)
{
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    char k[32], v[100], st[16] = {0};
    char *err = NULL;

    memset(v, 'v', sizeof v);
    snprintf(k, sizeof k, "walskip-key-%05d", i);
    st[0] = (char)i;
    rocksdb_writebatch_put_cf(wb, cf[0], k, strlen(k), v, sizeof v);
    rocksdb_writebatch_put_cf(wb, cf[1], "stats", 5, st, sizeof st);
    rocksdb_write(db, wo, wb, &err);
    ck(err, "write");
    rocksdb_writebatch_destroy(wb);
}

/* Copies every *.log of from into to (created); with only_missing, files
 * already in to are left alone. */
static void copy_logs(const char *from, const char *to, bool only_missing)
{
    DIR *d = opendir(from);
    struct dirent *ent;

    assert_non_null(d);
    mkdir(to, 0700);
    while ((ent = readdir(d)) != NULL) {
        char src[512], dst[512], buf[65536];
        size_t n = strlen(ent->d_name);
        if (n < 5 || strcmp(ent->d_name + n - 4, ".log") != 0)
            continue;
        snprintf(src, sizeof src, "%s/%s", from, ent->d_name);
        snprintf(dst, sizeof dst, "%s/%s", to, ent->d_name);
        if (only_missing && access(dst, F_OK) == 0)
            continue;
        FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
        assert_non_null(in);
        assert_non_null(out);
        while ((n = fread(buf, 1, sizeof buf, in)) > 0)
            assert_int_equal(fwrite(buf, 1, n, out), n);
        fclose(in);
        fclose(out);
    }
    closedir(d);
}

/* The state a server without atomic flush could leave (file comment). */
static void build_old_regime(struct repair_fx *f)
{
    char lsm[128], *err = NULL;
    const char *names[2] = {"default", "meta"};
    rocksdb_options_t *o = rocksdb_options_create();
    const rocksdb_options_t *co[2] = {o, o};
    rocksdb_column_family_handle_t *cf[2];
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    struct amaters_engine *e = NULL;
    char msg[256] = "";

    /* an amaters directory first: FORMAT, column families */
    if (amaters_engine_lsm_ops.open(&f->opts, &e, msg, sizeof msg) != 0)
        fail_msg("open: %s", msg);
    amaters_engine_close(e);
    snprintf(lsm, sizeof lsm, "%s/lsm", f->dir);
    rocksdb_options_set_wal_dir(o, f->wal);
    rocksdb_options_set_disable_auto_compactions(o, 1);
    rocksdb_t *db = rocksdb_open_column_families(o, lsm, 2, names, co, cf,
                                                 &err);
    ck(err, "rocksdb open");
    rocksdb_writeoptions_set_sync(wo, 1);
    rocksdb_flushoptions_set_wait(fo, 1);
    for (int i = 0; i < BATCHES; i++)
        batch(db, wo, cf, i);
    copy_logs(f->wal, f->saved, false); /* the WAL before its flush */
    rocksdb_flush_cf(db, fo, cf[0], &err); /* data at X */
    ck(err, "flush data");
    for (int i = BATCHES; i < 2 * BATCHES; i++)
        batch(db, wo, cf, i); /* only in the WAL */
    rocksdb_flush_cf(db, fo, cf[1], &err); /* meta alone, at Y > X */
    ck(err, "flush meta");
    rocksdb_column_family_handle_destroy(cf[0]);
    rocksdb_column_family_handle_destroy(cf[1]);
    rocksdb_close(db); /* no flush of data: as a crash */
    rocksdb_flushoptions_destroy(fo);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_options_destroy(o);
    copy_logs(f->saved, f->wal, true); /* the stale WAL is back */
    scratch_rmtree(f->saved);
}

static void test_no_unflushed_wal_left_out(void **state)
{
    struct repair_fx *f = *state;
    struct amaters_lsm_repair_report rep;
    char err[2048] = "";

    build_old_regime(f);
    repair_damage_manifest(f->dir);
    int rc = amaters_engine_lsm_repair(&f->opts, &rep, err, sizeof err);
    if (rc != 0)
        fail_msg("repair failed: %s", err);
    /* every one of the 200 synced writes (the second 100 only in a WAL) */
    assert_int_equal(rep.keys, 2 * BATCHES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_unflushed_wal_left_out,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
