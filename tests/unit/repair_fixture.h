/*
 * repair_fixture.h - the fixture of the offline-repair unit tests
 * (test_engine_repair, test_engine_lsm_stage, test_engine_lsm_walskip): a
 * fresh data directory under /tmp with lsm engine options (sync always,
 * 4 MiB memtables), checked for leaks, and the MANIFEST damage they all
 * apply (8 bytes overwritten at offset 30: its checksum fails).
 *
 * Use: `struct repair_fx *f = repair_fx_new("amaters-stage", blob_min)`
 * in a cmocka setup (store it in *state), `repair_fx_free(f)` in the
 * teardown (which also fails the test on a leak: leakcheck.h). The
 * fixture is heap memory from calloc, owned by the test. Main thread only.
 */
#ifndef AMATERS_TESTS_REPAIR_FIXTURE_H
#define AMATERS_TESTS_REPAIR_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leakcheck.h"
#include "obs/metrics.h"
#include "scratch_dir.h"
#include "storage/engine.h"

struct repair_fx {
    char dir[64];   /* the data directory (opts.path) */
    char wal[96];   /* a WAL directory of its own, "" for the default */
    char saved[96]; /* scratch room inside dir */
    struct amaters_engine_options opts;
};

/* A new fixture in /tmp/<name>-XXXXXX (name at most 40 bytes); values
 * of blob_min bytes and more go to blob files ((size_t)-1: none). Marks
 * the leak check. */
static inline struct repair_fx *repair_fx_new(const char *name,
                                              size_t blob_min)
{
    struct repair_fx *f = calloc(1, sizeof *f);

    assert_non_null(f);
    leak_mark();
    snprintf(f->dir, sizeof f->dir, "/tmp/%.40s-XXXXXX", name);
    assert_non_null(mkdtemp(f->dir));
    f->opts.path = f->dir;
    f->opts.memtable_size_mb = 4;
    f->opts.sync_mode = AMATERS_SYNC_ALWAYS;
    f->opts.blob_min_size = blob_min;
    return f;
}

/* Deletes the directory, frees f, then checks for leaks. */
static inline void repair_fx_free(struct repair_fx *f)
{
    amaters_metrics_reset();
    scratch_rmtree(f->dir);
    free(f);
    leak_check();
}

/* Damages the MANIFEST of the closed directory dir (its lsm/). */
static inline void repair_damage_manifest(const char *dir)
{
    char p[512], name[256] = "";
    DIR *d;
    struct dirent *ent;
    FILE *fp;

    snprintf(p, sizeof p, "%s/lsm", dir);
    d = opendir(p);
    assert_non_null(d);
    while ((ent = readdir(d)) != NULL)
        if (strncmp(ent->d_name, "MANIFEST-", 9) == 0)
            snprintf(name, sizeof name, "%s", ent->d_name);
    closedir(d);
    assert_true(name[0] != '\0');
    snprintf(p, sizeof p, "%s/lsm/%s", dir, name);
    fp = fopen(p, "r+b");
    assert_non_null(fp);
    fseek(fp, 30, SEEK_SET);
    fwrite("\xde\xad\xbe\xef\xde\xad\xbe\xef", 1, 8, fp);
    fclose(fp);
}

#endif
