/*
 * test_audit.c - unit tests for src/security/audit.h: records are JSON
 * Lines with every field; nothing secret reaches the file; a full queue
 * drops and counts instead of blocking; all fsync policies write every
 * record; concurrent loggers; reopen after rotation; open errors; the
 * process-wide list of open logs (reopen_all after rotation, a failed
 * reopen, dropped_all summing the drop counters).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "leakcheck.h"
#include "security/audit.h"
#include "security/jwt.h"

static char path[64];

static int setup(void **state)
{
    int fd;
    (void)state;
    leak_mark();
    snprintf(path, sizeof path, "/tmp/test_audit_XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    leak_check();
    return 0;
}

/* Reads the whole file (malloc'd, NUL-terminated). */
static char *slurp(const char *p)
{
    FILE *f = fopen(p, "rb");
    char *buf = malloc(1 << 22);
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, (1 << 22) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

static struct amaters_audit *open_log(enum amaters_audit_fsync pol,
                                      size_t cap)
{
    struct amaters_audit_options o = {path, pol, 20, cap};
    struct amaters_audit *a = NULL;
    char err[256] = "";

    if (amaters_audit_open(&a, &o, err, sizeof err) != 0)
        fail_msg("open: %s", err);
    return a;
}

static void test_records_have_every_field(void **state)
{
    static const struct amaters_audit_event events[] = {
        {AMATERS_AUDIT_AUTHENTICATION, AMATERS_AUDIT_SUCCESS, "alice", "jwt",
         NULL, NULL, "ipv4:127.0.0.1:5000", "req-1", NULL},
        {AMATERS_AUDIT_AUTHORIZATION, AMATERS_AUDIT_DENIED, "bob",
         "api_key", "write", "collection:users", "ipv6:[::1]:9", "req-2",
         "missing write permission"},
        {AMATERS_AUDIT_ADMIN_COMMAND, AMATERS_AUDIT_SUCCESS, "root", "mtls",
         "STATS", "server", NULL, "req-3", NULL},
        {AMATERS_AUDIT_CONFIG_CHANGE, AMATERS_AUDIT_FAILURE, NULL, NULL,
         "reload", "logging.level", NULL, NULL, "bad value"},
    };
    static const char *const expect_type[] = {
        "authentication", "authorization", "admin_command", "config_change"};
    static const char *const expect_result[] = {"success", "denied",
                                                "success", "failure"};
    static const char *const keys[] = {
        "id",       "timestamp", "event_type",   "result",
        "principal", "auth_method", "action",    "resource",
        "peer_address", "request_id", "reason"};
    struct amaters_audit *a = open_log(AMATERS_AUDIT_FSYNC_NONE, 0);
    char *text, *line, *save = NULL;
    size_t i = 0;
    (void)state;

    for (size_t k = 0; k < 4; k++)
        assert_int_equal(amaters_audit_log(a, &events[k]), 0);
    assert_int_equal(amaters_audit_flush(a), 0);
    assert_int_equal(amaters_audit_close(a), 0);
    text = slurp(path);
    assert_int_equal(count_lines(text), 4);
    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save), i++) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *id, *ts;
        int y, mo, d, h, mi, s, us;
        char z = 0;
        assert_non_null(o);
        assert_int_equal(cJSON_GetArraySize(o), 11);
        for (size_t k = 0; k < 11; k++)
            assert_non_null(cJSON_GetObjectItemCaseSensitive(o, keys[k]));
        id = cJSON_GetObjectItemCaseSensitive(o, "id");
        assert_true(cJSON_IsString(id));
        assert_int_equal(strlen(id->valuestring), 36);
        assert_int_equal(id->valuestring[14], '4'); /* UUID v4 */
        ts = cJSON_GetObjectItemCaseSensitive(o, "timestamp");
        assert_int_equal(sscanf(ts->valuestring,
                                "%4d-%2d-%2dT%2d:%2d:%2d.%6d%c", &y, &mo, &d,
                                &h, &mi, &s, &us, &z),
                         8);
        assert_int_equal(z, 'Z');
        assert_true(y >= 2024);
        assert_string_equal(
            cJSON_GetObjectItemCaseSensitive(o, "event_type")->valuestring,
            expect_type[i]);
        assert_string_equal(
            cJSON_GetObjectItemCaseSensitive(o, "result")->valuestring,
            expect_result[i]);
        cJSON_Delete(o);
    }
    assert_int_equal(i, 4);
    /* Spot checks of values and nulls. */
    free(text);
    text = slurp(path);
    assert_non_null(strstr(text, "\"peer_address\":\"ipv6:[::1]:9\""));
    assert_non_null(strstr(text, "\"resource\":\"collection:users\""));
    assert_non_null(strstr(text, "\"principal\":null"));
    free(text);
}

/* Fields are cut at a character boundary and stay valid UTF-8: a long
 * collection name of 3-byte characters is not split (it was cut at 256
 * bytes, mid-character, and two collections then shared one resource),
 * and invalid bytes become '?'. */
static void test_fields_stay_valid_utf8(void **state)
{
    char resource[11 + 255 + 1], longest[700], principal[] = "ab\xff\xfe"
                                                          "\xed\xa0\x80"
                                                          "c";
    struct amaters_audit_event ev = {AMATERS_AUDIT_AUTHORIZATION,
                                     AMATERS_AUDIT_DENIED, principal, "jwt",
                                     "write", resource, NULL, NULL, longest};
    struct amaters_audit *a = open_log(AMATERS_AUDIT_FSYNC_NONE, 0);
    (void)state;

    strcpy(resource, "collection:");
    for (int i = 0; i < 85; i++)
        strcat(resource, "\xe2\x82\xac"); /* the euro sign, 255 bytes */
    longest[0] = '\0';
    for (int i = 0; i < 233; i++)
        strcat(longest, "\xe2\x82\xac"); /* 699 bytes */
    assert_int_equal(amaters_audit_log(a, &ev), 0);
    assert_int_equal(amaters_audit_flush(a), 0);
    assert_int_equal(amaters_audit_close(a), 0);
    char *text = slurp(path);
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    const char *res =
        cJSON_GetObjectItemCaseSensitive(o, "resource")->valuestring;
    const char *why = cJSON_GetObjectItemCaseSensitive(o, "reason")->valuestring;
    const char *who =
        cJSON_GetObjectItemCaseSensitive(o, "principal")->valuestring;
    assert_string_equal(res, resource); /* whole: 266 bytes fit */
    /* cut at 512 bytes, at a character boundary: 170 euro signs */
    assert_int_equal(strlen(why), 510);
    assert_memory_equal(why, longest, 510);
    assert_string_equal(who, "ab?????c"); /* 0xff 0xfe, a surrogate */
    cJSON_Delete(o);
    free(text);
}

static void test_no_secret_in_output(void **state)
{
    static const char secret[] = "super-secret-hmac-key-0123456789";
    /* A token signed with another key: header {"alg":"HS256"}, payload
     * {"sub":"x"}. */
    static const char token[] =
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0."
        "c2lnbmF0dXJlLWJ5dGVzLWJ5LWFub3RoZXIta2V5LXh4eHg";
    struct amaters_jwt_config cfg;
    struct amaters_principal p;
    struct amaters_audit *a = open_log(AMATERS_AUDIT_FSYNC_EVERY, 0);
    struct amaters_audit_event ev = {0};
    char why[128] = "", err[64], longf[AMATERS_AUDIT_MAX_FIELD + 200], *text;
    (void)state;

    assert_int_equal(amaters_jwt_config_init(&cfg, AMATERS_JWT_HS256, secret,
                                             strlen(secret), NULL, 0, NULL,
                                             NULL, 0, err, sizeof err),
                     0);
    assert_int_equal(amaters_jwt_verify(&cfg, token, 1800000000, &p, why,
                                        sizeof why),
                     AMATERS_EAUTH);
    amaters_jwt_config_free(&cfg);
    ev.type = AMATERS_AUDIT_AUTHENTICATION;
    ev.result = AMATERS_AUDIT_FAILURE;
    ev.auth_method = "jwt";
    ev.reason = why;
    ev.request_id = "line1\nline2\"quoted\"";
    memset(longf, 'p', sizeof longf - 1);
    longf[sizeof longf - 1] = '\0';
    ev.peer = longf;
    assert_int_equal(amaters_audit_log(a, &ev), 0);
    assert_int_equal(amaters_audit_close(a), 0);
    text = slurp(path);
    assert_null(strstr(text, secret));
    assert_null(strstr(text, token));
    assert_null(strstr(text, "c2lnbmF0dXJl"));
    assert_non_null(strstr(text, "\"reason\":\"bad signature\""));
    /* One record, one line: the newline in a field is escaped. */
    assert_int_equal(count_lines(text), 1);
    assert_non_null(strstr(text, "line1\\nline2\\\"quoted\\\""));
    /* Fields are cut at AMATERS_AUDIT_MAX_FIELD bytes. */
    {
        char cut[AMATERS_AUDIT_MAX_FIELD + 3];
        cut[0] = '"';
        memset(cut + 1, 'p', AMATERS_AUDIT_MAX_FIELD);
        cut[AMATERS_AUDIT_MAX_FIELD + 1] = '"';
        cut[AMATERS_AUDIT_MAX_FIELD + 2] = '\0';
        assert_non_null(strstr(text, cut));
    }
    free(text);
}

static void test_full_queue_drops_and_counts(void **state)
{
    struct amaters_audit *a = open_log(AMATERS_AUDIT_FSYNC_NONE, 8);
    struct amaters_audit_event ev = {0};
    struct amaters_audit_stats st;
    int ok = 0, over = 0;
    char *text;
    (void)state;

    ev.type = AMATERS_AUDIT_AUTHORIZATION;
    ev.result = AMATERS_AUDIT_DENIED;
    amaters_audit_pause(a, true);
    for (int i = 0; i < 20; i++) {
        int rv = amaters_audit_log(a, &ev);
        ok += rv == 0;
        over += rv == AMATERS_EOVERLOAD;
    }
    assert_int_equal(ok, 8);
    assert_int_equal(over, 12);
    assert_int_equal(amaters_audit_dropped(a), 12);
    amaters_audit_pause(a, false);
    assert_int_equal(amaters_audit_flush(a), 0);
    /* Room again after the writer drained the queue. */
    assert_int_equal(amaters_audit_log(a, &ev), 0);
    assert_int_equal(amaters_audit_flush(a), 0);
    amaters_audit_get_stats(a, &st);
    assert_int_equal(st.logged, 9);
    assert_int_equal(st.written, 9);
    assert_int_equal(st.dropped, 12);
    assert_int_equal(st.write_errors, 0);
    assert_int_equal(amaters_audit_close(a), 0);
    text = slurp(path);
    assert_int_equal(count_lines(text), 9);
    free(text);
}

/* A log whose writes fail (/dev/full: ENOSPC): the records are lost, and
 * counted as such (dropped() is what the metric reports); flush says so. */
static void test_failed_writes_are_counted(void **state)
{
    struct amaters_audit_options o = {"/dev/full", AMATERS_AUDIT_FSYNC_NONE,
                                      20, 64};
    struct amaters_audit *a = NULL;
    struct amaters_audit_event ev = {0};
    struct amaters_audit_stats st;
    char err[256] = "";
    (void)state;

    if (amaters_audit_open(&a, &o, err, sizeof err) != 0)
        skip(); /* no /dev/full here */
    ev.type = AMATERS_AUDIT_ADMIN_COMMAND;
    ev.result = AMATERS_AUDIT_SUCCESS;
    for (int i = 0; i < 5; i++)
        assert_int_equal(amaters_audit_log(a, &ev), 0);
    assert_int_equal(amaters_audit_flush(a), AMATERS_EIO);
    amaters_audit_get_stats(a, &st);
    assert_int_equal(st.logged, 5);
    assert_int_equal(st.written, 0);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.write_errors, 5);
    assert_int_equal(amaters_audit_dropped(a), 5);
    assert_int_equal(amaters_audit_close(a), AMATERS_EIO);
}

static void test_every_fsync_policy_writes_all(void **state)
{
    static const enum amaters_audit_fsync pols[] = {
        AMATERS_AUDIT_FSYNC_NONE, AMATERS_AUDIT_FSYNC_EVERY,
        AMATERS_AUDIT_FSYNC_INTERVAL};
    (void)state;

    for (size_t p = 0; p < 3; p++) {
        struct amaters_audit *a;
        struct amaters_audit_event ev = {0};
        char *text;
        assert_int_equal(truncate(path, 0), 0);
        a = open_log(pols[p], 0);
        ev.principal = "u";
        for (int i = 0; i < 300; i++)
            assert_int_equal(amaters_audit_log(a, &ev), 0);
        if (pols[p] == AMATERS_AUDIT_FSYNC_INTERVAL)
            usleep(50 * 1000); /* let the 20 ms interval sync happen */
        assert_int_equal(amaters_audit_close(a), 0);
        text = slurp(path);
        assert_int_equal(count_lines(text), 300);
        free(text);
    }
}

struct worker {
    struct amaters_audit *a;
    int accepted;
};

static void *log_many(void *arg)
{
    struct worker *w = arg;
    struct amaters_audit_event ev = {0};

    ev.principal = "concurrent";
    for (int i = 0; i < 500; i++)
        w->accepted += amaters_audit_log(w->a, &ev) == 0;
    return NULL;
}

static void test_concurrent_loggers(void **state)
{
    struct amaters_audit *a = open_log(AMATERS_AUDIT_FSYNC_NONE, 0);
    struct worker w[4];
    pthread_t t[4];
    int accepted = 0;
    char *text;
    (void)state;

    for (int i = 0; i < 4; i++) {
        w[i].a = a;
        w[i].accepted = 0;
        assert_int_equal(pthread_create(&t[i], NULL, log_many, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        accepted += w[i].accepted;
    }
    assert_int_equal((uint64_t)accepted + amaters_audit_dropped(a), 2000);
    assert_int_equal(amaters_audit_close(a), 0);
    text = slurp(path);
    assert_int_equal(count_lines(text), (size_t)accepted);
    free(text);
}

static void test_reopen_after_rotation(void **state)
{
    struct amaters_audit *a = open_log(AMATERS_AUDIT_FSYNC_NONE, 0);
    struct amaters_audit_event ev = {0};
    char rotated[80], *text;
    (void)state;

    ev.principal = "before";
    assert_int_equal(amaters_audit_log(a, &ev), 0);
    assert_int_equal(amaters_audit_flush(a), 0);
    snprintf(rotated, sizeof rotated, "%s.1", path);
    assert_int_equal(rename(path, rotated), 0);
    assert_int_equal(amaters_audit_reopen(a), 0);
    ev.principal = "after";
    assert_int_equal(amaters_audit_log(a, &ev), 0);
    assert_int_equal(amaters_audit_close(a), 0);
    text = slurp(rotated);
    assert_non_null(strstr(text, "\"before\""));
    assert_null(strstr(text, "\"after\""));
    free(text);
    text = slurp(path);
    assert_non_null(strstr(text, "\"after\""));
    assert_int_equal(count_lines(text), 1);
    free(text);
    unlink(rotated);
}

static void test_open_errors(void **state)
{
    struct amaters_audit_options o = {"/nonexistent/dir/audit.jsonl",
                                      AMATERS_AUDIT_FSYNC_NONE, 0, 0};
    struct amaters_audit *a = (void *)1;
    char err[256] = "";
    (void)state;

    assert_int_equal(amaters_audit_open(&a, &o, err, sizeof err),
                     AMATERS_EIO);
    assert_null(a);
    assert_non_null(strstr(err, "/nonexistent/dir/audit.jsonl"));
    o.path = "";
    assert_int_equal(amaters_audit_open(&a, &o, err, sizeof err),
                     AMATERS_EINVAL);
    assert_int_equal(amaters_audit_close(NULL), 0);
}

/* ---- the process-wide list of open logs ---- */

static char dir[64];

static int rm_entry(const char *p, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* Fixture with a temporary directory (removed with its contents); also
 * checks that no test leaves a log on the list. */
static int setup_dir(void **state)
{
    size_t n_open = 99;

    (void)state;
    leak_mark();
    snprintf(dir, sizeof dir, "/tmp/test_audit_dir_XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    if (amaters_audit_dropped_all(&n_open) != 0 || n_open != 0)
        return -1;
    return 0;
}

static int teardown_dir(void **state)
{
    size_t n_open = 99;

    (void)state;
    (void)nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    amaters_audit_dropped_all(&n_open);
    assert_int_equal(n_open, 0);
    leak_check();
    return 0;
}

/* Opens a log at dir/name with queue capacity cap (0 = default). */
static struct amaters_audit *open_in_dir(const char *name, size_t cap)
{
    char p[128];
    struct amaters_audit_options o = {p, AMATERS_AUDIT_FSYNC_NONE, 0, cap};
    struct amaters_audit *a = NULL;
    char err[256] = "";

    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (amaters_audit_open(&a, &o, err, sizeof err) != 0)
        fail_msg("open %s: %s", p, err);
    return a;
}

static void log_principal(struct amaters_audit *a, const char *principal)
{
    struct amaters_audit_event ev = {0};

    ev.type = AMATERS_AUDIT_ADMIN_COMMAND;
    ev.principal = principal;
    assert_int_equal(amaters_audit_log(a, &ev), 0);
}

/* Asserts that dir/name exists and holds exactly nlines lines, among them
 * a record of principal want (when not NULL) and none of principal
 * unwanted (when not NULL). */
static void assert_file(const char *name, size_t nlines, const char *want,
                        const char *unwanted)
{
    char p[128], quoted[64], *text;

    snprintf(p, sizeof p, "%s/%s", dir, name);
    text = slurp(p);
    if (count_lines(text) != nlines)
        fail_msg("%s: %zu lines, expected %zu:\n%s", name,
                 count_lines(text), nlines, text);
    if (want != NULL) {
        snprintf(quoted, sizeof quoted, "\"principal\":\"%s\"", want);
        if (strstr(text, quoted) == NULL)
            fail_msg("%s lacks %s:\n%s", name, quoted, text);
    }
    if (unwanted != NULL) {
        snprintf(quoted, sizeof quoted, "\"principal\":\"%s\"", unwanted);
        if (strstr(text, quoted) != NULL)
            fail_msg("%s has %s:\n%s", name, quoted, text);
    }
    free(text);
}

static void rename_in_dir(const char *from, const char *to)
{
    char a[128], b[128];

    snprintf(a, sizeof a, "%s/%s", dir, from);
    snprintf(b, sizeof b, "%s/%s", dir, to);
    assert_int_equal(rename(a, b), 0);
}

static void test_list_empty(void **state)
{
    size_t n_open = 99;
    (void)state;

    assert_int_equal(amaters_audit_dropped_all(&n_open), 0);
    assert_int_equal(n_open, 0);
    n_open = 99;
    assert_int_equal(amaters_audit_reopen_all(&n_open, 5000), 0);
    assert_int_equal(n_open, 0);
    /* n_open may be NULL. */
    assert_int_equal(amaters_audit_dropped_all(NULL), 0);
    assert_int_equal(amaters_audit_reopen_all(NULL, 5000), 0);
}

static void test_reopen_all_after_rotation(void **state)
{
    /* Log "a" is moved aside before the reopen, log "b" is not. */
    static const struct {
        const char *file;
        const char *rotated; /* NULL: stays in place */
        const char *before;
        const char *after;
    } logs[] = {
        {"a.jsonl", "a.jsonl.1", "a-before", "a-after"},
        {"b.jsonl", NULL, "b-before", "b-after"},
    };
    struct amaters_audit *a[2];
    size_t n_open = 99;
    (void)state;

    for (size_t i = 0; i < 2; i++) {
        a[i] = open_in_dir(logs[i].file, 0);
        log_principal(a[i], logs[i].before);
        assert_int_equal(amaters_audit_flush(a[i]), 0);
    }
    assert_int_equal(amaters_audit_dropped_all(&n_open), 0);
    assert_int_equal(n_open, 2);
    for (size_t i = 0; i < 2; i++) {
        if (logs[i].rotated != NULL)
            rename_in_dir(logs[i].file, logs[i].rotated);
    }
    n_open = 99;
    assert_int_equal(amaters_audit_reopen_all(&n_open, 5000), 0);
    assert_int_equal(n_open, 2);
    for (size_t i = 0; i < 2; i++) {
        log_principal(a[i], logs[i].after);
        assert_int_equal(amaters_audit_flush(a[i]), 0);
    }
    for (size_t i = 0; i < 2; i++) {
        if (logs[i].rotated != NULL) {
            assert_file(logs[i].rotated, 1, logs[i].before, logs[i].after);
            assert_file(logs[i].file, 1, logs[i].after, logs[i].before);
        } else {
            assert_file(logs[i].file, 2, logs[i].before, NULL);
            assert_file(logs[i].file, 2, logs[i].after, NULL);
        }
    }

    /* Closing one takes it off the list; the other still reopens. */
    assert_int_equal(amaters_audit_close(a[0]), 0);
    n_open = 99;
    assert_int_equal(amaters_audit_dropped_all(&n_open), 0);
    assert_int_equal(n_open, 1);
    rename_in_dir("b.jsonl", "b.jsonl.1");
    n_open = 99;
    assert_int_equal(amaters_audit_reopen_all(&n_open, 5000), 0);
    assert_int_equal(n_open, 1);
    log_principal(a[1], "b-last");
    assert_int_equal(amaters_audit_close(a[1]), 0);
    assert_file("b.jsonl", 1, "b-last", NULL);
    assert_file("b.jsonl.1", 2, "b-after", "b-last");
    assert_file("a.jsonl", 1, "a-after", NULL);
    n_open = 99;
    assert_int_equal(amaters_audit_reopen_all(&n_open, 5000), 0);
    assert_int_equal(n_open, 0);
}

static void test_reopen_all_failure(void **state)
{
    struct amaters_audit *good, *bad;
    char sub[96];
    size_t n_open = 99;
    (void)state;

    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    bad = open_in_dir("sub/bad.jsonl", 0);
    good = open_in_dir("good.jsonl", 0);
    log_principal(bad, "bad-before");
    log_principal(good, "good-before");
    assert_int_equal(amaters_audit_flush(bad), 0);
    assert_int_equal(amaters_audit_flush(good), 0);
    /* The directory of "bad" disappears: its file cannot be reopened. */
    rename_in_dir("sub", "sub.old");
    rename_in_dir("good.jsonl", "good.jsonl.1");
    assert_int_equal(amaters_audit_reopen_all(&n_open, 5000), AMATERS_EIO);
    assert_int_equal(n_open, 2);
    log_principal(bad, "bad-after");
    log_principal(good, "good-after");
    assert_int_equal(amaters_audit_close(bad), 0);
    assert_int_equal(amaters_audit_close(good), 0);
    /* "bad" kept writing to its old file; "good" was reopened anyway. */
    assert_file("sub.old/bad.jsonl", 2, "bad-after", NULL);
    assert_file("good.jsonl", 1, "good-after", "good-before");
    assert_file("good.jsonl.1", 1, "good-before", "good-after");
}

static void test_dropped_all_sums(void **state)
{
    /* A paused writer and a tiny queue: log n events, cap are kept. */
    static const struct {
        const char *file;
        size_t cap;
        int n;
    } logs[] = {
        {"x.jsonl", 2, 5},  /* 3 dropped */
        {"y.jsonl", 3, 7},  /* 4 dropped */
        {"z.jsonl", 4, 4},  /* none dropped */
    };
    struct amaters_audit *a[3];
    uint64_t sum = 0;
    size_t n_open = 99;
    (void)state;

    for (size_t i = 0; i < 3; i++) {
        a[i] = open_in_dir(logs[i].file, logs[i].cap);
        amaters_audit_pause(a[i], true);
    }
    assert_int_equal(amaters_audit_dropped_all(&n_open), 0);
    assert_int_equal(n_open, 3);
    for (size_t i = 0; i < 3; i++) {
        struct amaters_audit_event ev = {0};
        uint64_t want = (uint64_t)(logs[i].n - (int)logs[i].cap);

        for (int k = 0; k < logs[i].n; k++)
            (void)amaters_audit_log(a[i], &ev);
        assert_int_equal(amaters_audit_dropped(a[i]), want);
        sum += want;
        n_open = 99;
        assert_int_equal(amaters_audit_dropped_all(&n_open), sum);
        assert_int_equal(n_open, 3);
    }
    assert_int_equal(sum, 7);
    assert_int_equal(amaters_audit_dropped_all(NULL), 7);
    /* A closed log's drops leave the sum with it. */
    for (size_t i = 0; i < 3; i++) {
        sum -= amaters_audit_dropped(a[i]);
        assert_int_equal(amaters_audit_close(a[i]), 0);
        n_open = 99;
        assert_int_equal(amaters_audit_dropped_all(&n_open), sum);
        assert_int_equal(n_open, 2 - i);
        assert_file(logs[i].file, logs[i].cap, NULL, NULL);
    }
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static atomic_int stall_done;
static int stall_rc;

static void *reopen_3s_main(void *arg)
{
    (void)arg;
    stall_rc = amaters_audit_reopen_all(NULL, 3000);
    atomic_store(&stall_done, 1);
    return NULL;
}

/* A writer stuck on its file (a stalled disk; here: after rotation the
 * path is a FIFO nobody reads, so the writer's open(2) of it blocks) makes
 * reopen_all give up after its timeout with ETIMEOUT instead of blocking
 * SIGHUP's thread, and meanwhile dropped_all answers (the list lock is not
 * held while waiting). A request made during that stuck reopen gets a
 * reopen of its own (not merged into the one already under way, which
 * opened the file before the latest rotation). */
static void test_reopen_all_stalled_writer(void **state)
{
    char p[128], old[160], fifo[160];
    struct amaters_audit *a = open_in_dir("stall.jsonl", 0);
    size_t n_open = 0;
    int rfd;
    double t0, worst = 0;
    pthread_t th;

    (void)state;
    snprintf(p, sizeof p, "%s/stall.jsonl", dir);
    snprintf(old, sizeof old, "%s/stall.jsonl.1", dir);
    log_principal(a, "before");
    assert_int_equal(amaters_audit_flush(a), 0);
    assert_int_equal(rename(p, old), 0);
    assert_int_equal(mkfifo(p, 0600), 0);
    /* reopen_all waits 3 s in a thread; meanwhile dropped_all answers
     * at once every time (it would wait the 3 s out if the list lock
     * were held while waiting) */
    t0 = now_s();
    atomic_store(&stall_done, 0);
    assert_int_equal(pthread_create(&th, NULL, reopen_3s_main, NULL), 0);
    while (!atomic_load(&stall_done)) {
        double c0 = now_s();

        n_open = 0;
        assert_int_equal(amaters_audit_dropped_all(&n_open), 0);
        assert_int_equal(n_open, 1);
        if (now_s() - c0 > worst)
            worst = now_s() - c0;
        usleep(1000);
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(stall_rc, AMATERS_ETIMEOUT);
    assert_true(now_s() - t0 < 10.0);
    assert_true(worst < 1.5);
    /* the writer is still in open() of the FIFO (inode, not path):
     * rotate again and ask again while it is. That request must get a
     * reopen of its own once the writer goes on: it was made after the
     * writer began the first one, whose open() precedes the rename. */
    rename_in_dir("stall.jsonl", "stall.fifo");
    assert_int_equal(amaters_audit_reopen_all(&n_open, 100),
                     AMATERS_ETIMEOUT);
    snprintf(fifo, sizeof fifo, "%s/stall.fifo", dir);
    rfd = open(fifo, O_RDONLY | O_NONBLOCK);   /* the writer goes on */
    assert_true(rfd >= 0);
    log_principal(a, "after");
    (void)amaters_audit_flush(a);   /* a FIFO cannot be synced: EIO ok */
    (void)amaters_audit_close(a);
    close(rfd);
    assert_file("stall.jsonl.1", 1, "before", "after");
    assert_file("stall.jsonl", 1, "after", "before");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_records_have_every_field, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_secret_in_output, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fields_stay_valid_utf8, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_full_queue_drops_and_counts,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_writes_are_counted,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_fsync_policy_writes_all,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_loggers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reopen_after_rotation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_empty, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_reopen_all_after_rotation,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_reopen_all_failure, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_reopen_all_stalled_writer,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_dropped_all_sums, setup_dir,
                                        teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
