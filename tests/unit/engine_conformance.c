/*
 * engine_conformance.c - the storage engine conformance suite's runner,
 * per-test fixture and shared helpers (see engine_conformance.h). The
 * cases live in engine_conformance_basic.c (single-threaded behaviour)
 * and engine_conformance_mt.c (threads, persistence, allocation faults).
 * Expected results come from hand-written tables or from models kept by
 * the tests, never from the engine under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scratch_dir.h"
#include "core/alloc.h"
#include "obs/metrics.h"
#include "core/errors.h"
#include "engine_conformance.h"
#include "engine_conformance_int.h"
#include "leakcheck.h"

static atomic_uint dir_counter;

/* ---- fixture ---- */

void ec_open_engine(struct fixture *f)
{
    char err[256] = "";
    int rv = f->s->ops->open(&f->opts, &f->e, err, sizeof err);

    if (rv != 0)
        fail_msg("open %s: %s: %s", f->dir, amaters_errname(rv), err);
    assert_non_null(f->e);
    assert_ptr_equal(f->e->ops, f->s->ops);
}

void ec_close_engine(struct fixture *f)
{
    amaters_engine_close(f->e);
    f->e = NULL;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    assert_non_null(f);
    f->s = *state;
    leak_mark();
    snprintf(f->dir, sizeof f->dir, "%s/t%04u", f->s->scratch,
             atomic_fetch_add(&dir_counter, 1));
    assert_int_equal(mkdir(f->dir, 0700), 0);
    f->opts.path = f->dir;
    f->opts.memtable_size_mb = 4;
    f->opts.block_cache_size_mb = 8;
    f->opts.sync_mode = AMATERS_SYNC_NONE;
    f->opts.sync_interval_ms = 100;
    ec_open_engine(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    amaters_alloc_fail_after(-1);
    ec_close_engine(f);
    amaters_metrics_reset(); /* engines may register metrics */
    scratch_rmtree(f->dir);
    free(f);
    leak_check();
    return 0;
}

/* ---- helpers (main thread: they assert) ---- */

void ec_put(struct amaters_engine *e, struct bytes k, struct bytes v)
{
    struct amaters_write_op op = {AMATERS_WRITE_PUT, k.p, k.n, v.p, v.n};
    int rv = amaters_engine_write(e, &op, 1);

    if (rv != 0)
        fail_msg("put: %s", amaters_errname(rv));
}

void ec_del(struct amaters_engine *e, struct bytes k)
{
    struct amaters_write_op op = {AMATERS_WRITE_DELETE, k.p, k.n, NULL, 0};

    assert_int_equal(amaters_engine_write(e, &op, 1), 0);
}

void ec_check_value(struct amaters_engine *e, struct bytes k,
                    struct bytes v)
{
    uint8_t *got = NULL;
    size_t len = 12345;
    int rv = amaters_engine_get(e, k.p, k.n, &got, &len);

    if (rv != 0)
        fail_msg("get (key of %zu bytes): %s", k.n, amaters_errname(rv));
    assert_non_null(got);
    assert_int_equal(len, v.n);
    if (v.n > 0)
        assert_memory_equal(got, v.p, v.n);
    amaters_free(got);
}

void ec_check_missing(struct amaters_engine *e, struct bytes k)
{
    uint8_t *got = NULL;
    size_t len = 0;

    assert_int_equal(amaters_engine_get(e, k.p, k.n, &got, &len),
                     AMATERS_ENOTFOUND);
}

void ec_check_stats(struct amaters_engine *e, uint64_t keys, uint64_t bytes)
{
    struct amaters_engine_stats st;

    memset(&st, 0x63, sizeof st); /* the engine must fill every field */
    assert_int_equal(e->ops->stats(e, &st), 0);
    assert_int_equal(st.key_count, keys);
    assert_int_equal(st.data_bytes, bytes);
    assert_int_equal(st.write_stopped, 0); /* filled, and nothing stalls */
    assert_true(st.write_stall_us < 0x6363636363636363ull);
}

int ec_bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    }
    return an < bn ? -1 : an > bn;
}

/* Names the case being scanned in failure messages. */
char ec_scan_ctx[64];

/* Scans [start, end) (end NULL: unbounded) and checks the keys equal
 * want[0..n) in order. If vals is not NULL, checks the values too. */
void ec_check_scan(struct amaters_engine *e, struct bytes start,
                   const struct bytes *end, const struct bytes *want,
                   const struct bytes *vals, size_t n)
{
    struct amaters_engine_iter *it = NULL;
    const uint8_t *k;
    const uint8_t *v;
    size_t kn;
    size_t vn;
    size_t i = 0;
    int rv;

    rv = amaters_engine_iter_open(e, start.p, start.n, end ? end->p : NULL,
                                  end ? end->n : 0, &it);
    if (rv != 0)
        fail_msg("%s: iter_open: %s", ec_scan_ctx, amaters_errname(rv));
    for (;;) {
        rv = amaters_engine_iter_next(it, &k, &kn, &v, &vn);
        if (rv != 1)
            break;
        if (i >= n)
            fail_msg("%s: scan returned more than %zu keys", ec_scan_ctx, n);
        if (ec_bytes_cmp(k, kn, want[i].p, want[i].n) != 0)
            fail_msg("%s: key %zu differs (got %zu bytes, want %zu)",
                     ec_scan_ctx, i, kn, want[i].n);
        if (vals != NULL &&
            ec_bytes_cmp(v, vn, vals[i].p, vals[i].n) != 0)
            fail_msg("%s: value %zu differs", ec_scan_ctx, i);
        i++;
    }
    if (rv != 0 || i != n)
        fail_msg("%s: scan ended with %d after %zu keys, want %zu",
                 ec_scan_ctx, rv, i, n);
    /* An exhausted iterator stays exhausted. */
    assert_int_equal(amaters_engine_iter_next(it, &k, &kn, &v, &vn), 0);
    amaters_engine_iter_close(it);
    ec_scan_ctx[0] = '\0';
}

uint64_t ec_rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

uint8_t *ec_pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 2654435761u) >> 13 ^ seed);
    return p;
}

/* ---- runner ---- */

int amaters_engine_conformance_run(const struct amaters_engine_ops *ops,
                                   const char *scratch_dir, bool persistent)
{
    struct suite s = {ops, scratch_dir, persistent};
    struct CMUnitTest tests[64];
    const struct {
        const struct ec_case *cases;
        size_t n;
    } tables[] = {{ec_basic_cases, ec_basic_count},
                  {ec_mt_cases, ec_mt_count}};
    size_t n = 0;
    char name[96];

    for (size_t t = 0; t < NELEM(tables); t++) {
        for (size_t i = 0; i < tables[t].n && n < NELEM(tests); i++) {
            tests[n++] = (struct CMUnitTest){
                .name = tables[t].cases[i].name,
                .test_func = tables[t].cases[i].fn,
                .setup_func = setup,
                .teardown_func = teardown,
                .initial_state = &s,
            };
        }
    }
    snprintf(name, sizeof name, "engine conformance (%s)", ops->name);
    return _cmocka_run_group_tests(name, tests, n, NULL, NULL);
}
