/*
 * test_engine_repair.c - opening and repairing a damaged "lsm" directory
 * (storage/engine_rocks.h): a missing CURRENT next to database files is
 * refused without touching the directory; amaters_engine_lsm_repair does
 * the least that works (nothing / CURRENT rebuilt / RocksDB repair),
 * recounts exact stats, refuses when blob files would be lost, and never
 * repairs an unknown FORMAT. Table-driven over the kinds of damage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
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

#define SMALL 150
#define LARGE 6 /* values over the blob threshold */

enum damage { NONE, NO_CURRENT, BAD_MANIFEST, BAD_FORMAT };


static int setup(void **state)
{
    *state = repair_fx_new("amaters-repair", 4096);
    return 0;
}

static int teardown(void **state)
{
    repair_fx_free(*state);
    return 0;
}

/* Key i's value: 100 bytes, or 8 KiB (a blob) for i < large. */
static size_t value_of(int i, int large, uint8_t *buf)
{
    size_t n = i < large ? 8192 : 100;

    for (size_t j = 0; j < n; j++)
        buf[j] = (uint8_t)(i * 31 + j);
    return n;
}

/* Writes SMALL + large keys, flushes half to tables, closes. Returns the
 * expected key + value bytes. */
static uint64_t fill(struct repair_fx *f, int large)
{
    static uint8_t buf[8192];
    struct amaters_engine *e = NULL;
    char err[256] = "";
    uint64_t bytes = 0;

    if (amaters_engine_lsm_ops.open(&f->opts, &e, err, sizeof err) != 0)
        fail_msg("open %s: %s", f->dir, err);
    for (int i = 0; i < SMALL + large; i++) {
        char k[16];
        size_t n = value_of(i, large, buf);
        struct amaters_write_op op = {AMATERS_WRITE_PUT, (const uint8_t *)k,
                                      0, buf, n};

        op.key_len = (size_t)snprintf(k, sizeof k, "k%04d", i);
        assert_int_equal(amaters_engine_write(e, &op, 1), 0);
        bytes += op.key_len + n;
        if (i == (SMALL + large) / 2)
            assert_int_equal(e->ops->flush(e), 0);
    }
    amaters_engine_close(e);
    return bytes;
}

static void path_in(const struct repair_fx *f, const char *name, char *out,
                    size_t len)
{
    snprintf(out, len, "%s/lsm/%s", f->dir, name);
}

/* Applies the damage to the closed directory. */
static void damage(struct repair_fx *f, enum damage d)
{
    char p[512];
    FILE *fp;

    if (d == NO_CURRENT) {
        path_in(f, "CURRENT", p, sizeof p);
        assert_int_equal(unlink(p), 0);
    } else if (d == BAD_FORMAT) {
        path_in(f, "FORMAT", p, sizeof p);
        fp = fopen(p, "w");
        assert_non_null(fp);
        /* well formed, but a record format from a later build */
        fputs("amaters-lsm\nlayout 1\nkey-encoding 1\nrecord-format 99\n", fp);
        fclose(fp);
    } else if (d == BAD_MANIFEST) {
        repair_damage_manifest(f->dir);
    }
}

/* Every key reads back exactly; stats match. */
static void check_all(struct repair_fx *f, int large, uint64_t bytes)
{
    static uint8_t buf[8192];
    struct amaters_engine *e = NULL;
    struct amaters_engine_stats st = {0};
    char err[256] = "";

    assert_int_equal(amaters_engine_lsm_ops.open(&f->opts, &e, err,
                                                 sizeof err), 0);
    for (int i = 0; i < SMALL + large; i++) {
        char k[16];
        uint8_t *v = NULL;
        size_t vl = 0, n = value_of(i, large, buf);
        int kl = snprintf(k, sizeof k, "k%04d", i);

        assert_int_equal(amaters_engine_get(e, (const uint8_t *)k,
                                            (size_t)kl, &v, &vl), 0);
        assert_int_equal(vl, n);
        assert_memory_equal(v, buf, n);
        amaters_free(v);
    }
    assert_int_equal(e->ops->stats(e, &st), 0);
    assert_int_equal(st.key_count, SMALL + large);
    assert_int_equal(st.data_bytes, bytes);
    amaters_engine_close(e);
}

static const struct {
    const char *name;
    enum damage d;
    int large;
    int open_rc;        /* plain open after the damage */
    int repair_rc;
    const char *method; /* word in report.method, or in err */
} cases[] = {
    {"healthy", NONE, LARGE, 0, 0, "none needed"},
    {"no CURRENT, blob files", NO_CURRENT, LARGE, AMATERS_ECORRUPT, 0,
     "CURRENT rebuilt"},
    {"bad MANIFEST, small values", BAD_MANIFEST, 0, AMATERS_ECORRUPT, 0,
     "RocksDB repair"},
    {"bad MANIFEST, blob files", BAD_MANIFEST, LARGE, AMATERS_ECORRUPT,
     AMATERS_EUNSUPPORTED, "blob files"},
    {"unknown FORMAT", BAD_FORMAT, 0, AMATERS_EUNSUPPORTED,
     AMATERS_EUNSUPPORTED, "FORMAT"},
};

static void run_case(void **state, size_t i)
{
    struct repair_fx *f = *state;
    struct amaters_engine *e = NULL;
    struct amaters_lsm_repair_report rep;
    char err[1024] = "";
    uint64_t bytes = fill(f, cases[i].large);
    int rc;

    damage(f, cases[i].d);
    rc = amaters_engine_lsm_ops.open(&f->opts, &e, err, sizeof err);
    amaters_engine_close(e);
    e = NULL;
    if (rc != cases[i].open_rc)
        fail_msg("%s: open gave %s (%s)", cases[i].name, amaters_errname(rc),
                 err);
    if (cases[i].d == NO_CURRENT) {
        char p[256];
        struct stat st;

        assert_non_null(strstr(err, "amaters-server repair"));
        path_in(f, "CURRENT", p, sizeof p); /* not recreated by the open */
        assert_int_not_equal(stat(p, &st), 0);
    }
    err[0] = '\0';
    rc = amaters_engine_lsm_repair(&f->opts, &rep, err, sizeof err);
    if (rc != cases[i].repair_rc)
        fail_msg("%s: repair gave %s (%s)", cases[i].name,
                 amaters_errname(rc), err);
    if (rc == 0) {
        assert_non_null(strstr(rep.method, cases[i].method));
        assert_int_equal(rep.keys, SMALL + cases[i].large);
        assert_int_equal(rep.bytes, bytes);
        check_all(f, cases[i].large, bytes);
    } else {
        assert_non_null(strstr(err, cases[i].method));
    }
}

static void test_healthy(void **s) { run_case(s, 0); }
static void test_no_current(void **s) { run_case(s, 1); }
static void test_bad_manifest(void **s) { run_case(s, 2); }
static void test_bad_manifest_blobs(void **s) { run_case(s, 3); }
static void test_unknown_format(void **s) { run_case(s, 4); }

/* Bad arguments are refused with a message. */
static void test_bad_args(void **state)
{
    struct amaters_engine_options o = {0};
    struct amaters_lsm_repair_report rep;
    char err[128] = "";

    (void)state;
    assert_int_equal(amaters_engine_lsm_repair(&o, &rep, err, sizeof err),
                     AMATERS_EINVAL);
    assert_true(err[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_current, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_manifest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_manifest_blobs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_format, setup,
                                        teardown),
        cmocka_unit_test(test_bad_args),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
