/*
 * test_log.c - unit tests for src/obs/log: level and format parsing, the
 * exact shape of pretty and compact lines, JSON lines (escaping checked by
 * parsing them back with cJSON), level filtering and the lazy macros,
 * size-based rotation and its backups, the recent-lines ring, write errors,
 * reconfiguration failures and whole lines under concurrent writers.
 *
 * Each test logs into a file in a fresh temporary directory; the fixture
 * removes the directory and checks that nothing leaked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "leakcheck.h"
#include "obs/log.h"

struct fixture {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);

    if (fx == NULL)
        return -1;
    amaters_log_shutdown();
    snprintf(fx->dir, sizeof fx->dir, "/tmp/amaters-test-log-XXXXXX");
    if (mkdtemp(fx->dir) == NULL)
        return -1;
    snprintf(fx->path, sizeof fx->path, "%s/amaters.log", fx->dir);
    leak_mark();
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    DIR *d;
    struct dirent *e;
    char p[512];

    amaters_log_shutdown();
    d = opendir(fx->dir);
    for (e = d ? readdir(d) : NULL; e != NULL; e = readdir(d)) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", fx->dir, e->d_name);
        unlink(p);
    }
    if (d != NULL)
        closedir(d);
    rmdir(fx->dir);
    free(fx);
    leak_check();
    return 0;
}

/* Reads a whole file into a malloc'd string (NULL if missing). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void assert_matches(const char *text, const char *pattern)
{
    regex_t re;
    int rv;

    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    rv = regexec(&re, text, 0, NULL, 0);
    regfree(&re);
    if (rv != 0)
        fail_msg("\"%s\" does not match /%s/", text, pattern);
}

static void init_file(struct fixture *fx, enum amaters_log_level level,
                      enum amaters_log_format format)
{
    struct amaters_log_options o = {
        .level = level, .format = format, .file_path = fx->path};
    char err[256];

    assert_int_equal(amaters_log_init(&o, err, sizeof err), 0);
}

static void test_parse_level(void **state)
{
    static const struct {
        const char *in;
        int rv;
        enum amaters_log_level out;
    } cases[] = {
        {"trace", 0, AMATERS_LOG_TRACE},
        {"DEBUG", 0, AMATERS_LOG_DEBUG},
        {"Info", 0, AMATERS_LOG_INFO},
        {"warn", 0, AMATERS_LOG_WARN},
        {"WARNING", 0, AMATERS_LOG_WARN},
        {"error", 0, AMATERS_LOG_ERROR},
        {"fatal", AMATERS_EINVAL, AMATERS_LOG_TRACE},
        {"", AMATERS_EINVAL, AMATERS_LOG_TRACE},
        {"info ", AMATERS_EINVAL, AMATERS_LOG_TRACE},
        {NULL, AMATERS_EINVAL, AMATERS_LOG_TRACE},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum amaters_log_level out = AMATERS_LOG_TRACE;

        assert_int_equal(amaters_log_parse_level(cases[i].in, &out),
                         cases[i].rv);
        assert_int_equal(out, cases[i].out);
    }
}

static void test_parse_format(void **state)
{
    static const struct {
        const char *in;
        int rv;
        enum amaters_log_format out;
    } cases[] = {
        {"pretty", 0, AMATERS_LOG_PRETTY},
        {"TEXT", 0, AMATERS_LOG_PRETTY},
        {"compact", 0, AMATERS_LOG_COMPACT},
        {"Json", 0, AMATERS_LOG_JSON},
        {"yaml", AMATERS_EINVAL, AMATERS_LOG_PRETTY},
        {NULL, AMATERS_EINVAL, AMATERS_LOG_PRETTY},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum amaters_log_format out = AMATERS_LOG_PRETTY;

        assert_int_equal(amaters_log_parse_format(cases[i].in, &out),
                         cases[i].rv);
        assert_int_equal(out, cases[i].out);
    }
}

/* RFC 3339 UTC timestamps with 6 and 3 fractional digits. */
#define TS_DATE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
#define TS_MICRO TS_DATE "\\.[0-9]{6}Z"
#define TS_MILLI TS_DATE "\\.[0-9]{3}Z"

static void test_text_formats(void **state)
{
    struct fixture *fx = *state;
    static const struct amaters_log_field fields[] = {
        {"request_id", "r-42"},
        {"peer", "10.0.0.1:5000"},
        {"note", "two words"},
        {"empty", ""},
        {"q", "say \"hi\""},
        {NULL, "skipped"},
        {"nil", NULL},
    };
    static const struct {
        enum amaters_log_format format;
        enum amaters_log_level level;
        const char *pattern;
    } cases[] = {
        {AMATERS_LOG_PRETTY, AMATERS_LOG_INFO,
         TS_MICRO "  INFO storage: opened 42 keys request_id=r-42 "
                  "peer=10\\.0\\.0\\.1:5000 note=\"two words\" empty=\"\" "
                  "q=\"say \\\\\"hi\\\\\"\" nil=null\n$"},
        {AMATERS_LOG_PRETTY, AMATERS_LOG_ERROR,
         TS_MICRO " ERROR storage: opened 42 keys request_id=r-42 "},
        {AMATERS_LOG_COMPACT, AMATERS_LOG_INFO,
         TS_MILLI " I storage opened 42 keys request_id=r-42 "
                  "peer=10\\.0\\.0\\.1:5000 note=\"two words\""},
        {AMATERS_LOG_COMPACT, AMATERS_LOG_WARN,
         TS_MILLI " W storage opened 42 keys "},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text;

        unlink(fx->path);
        init_file(fx, AMATERS_LOG_TRACE, cases[i].format);
        amaters_log_kv(cases[i].level, "storage", fields,
                       sizeof fields / sizeof fields[0], "opened %d keys",
                       42);
        text = slurp(fx->path);
        assert_non_null(text);
        assert_int_equal(count_lines(text), 1);
        assert_matches(text, cases[i].pattern);
        free(text);
    }
}

static void test_text_escapes_control_characters(void **state)
{
    struct fixture *fx = *state;
    char *text;

    init_file(fx, AMATERS_LOG_INFO, AMATERS_LOG_PRETTY);
    amaters_log(AMATERS_LOG_INFO, NULL, "line1\nline2\ttab\x01 bad\xff ok");
    amaters_log(AMATERS_LOG_INFO, "c", "trailing newline dropped\n");
    text = slurp(fx->path);
    assert_non_null(text);
    assert_int_equal(count_lines(text), 2);
    assert_non_null(
        strstr(text, "  INFO -: line1\\nline2\\ttab\\x01 bad\\xff ok\n"));
    assert_non_null(strstr(text, "  INFO c: trailing newline dropped\n"));
    free(text);
}

static void test_json_escaping(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        const char *message;
        const char *expected; /* what the parsed "message" must be */
    } cases[] = {
        {"plain", "plain"},
        {"quote \" and backslash \\", "quote \" and backslash \\"},
        {"newline\nreturn\rtab\t", "newline\nreturn\rtab\t"},
        {"ctl \x01\x1f\x7f end", "ctl \x01\x1f\x7f end"},
        {"utf8 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "utf8 é€😀"},
        {"bad \xff\xc3 x", "bad \xef\xbf\xbd\xef\xbf\xbd x"},
        {"surrogate \xed\xa0\x80!", "surrogate \xef\xbf\xbd\xef\xbf\xbd"
                                    "\xef\xbf\xbd!"},
    };
    static const struct amaters_log_field fields[] = {
        {"peer", "[::1]:50051"},
        {"weird\"key", "v\n"},
        {"message", "shadowed"},
        {"nil", NULL},
    };
    char *text;
    char *line;
    char *save = NULL;
    size_t n = 0;

    init_file(fx, AMATERS_LOG_INFO, AMATERS_LOG_JSON);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        amaters_log_kv(AMATERS_LOG_WARN, "rpc\"x", fields,
                       sizeof fields / sizeof fields[0], "%s",
                       cases[i].message);
    text = slurp(fx->path);
    assert_non_null(text);
    assert_int_equal(count_lines(text), sizeof cases / sizeof cases[0]);
    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save), n++) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *v;

        if (o == NULL)
            fail_msg("not JSON: %s", line);
        v = cJSON_GetObjectItemCaseSensitive(o, "timestamp");
        assert_true(cJSON_IsString(v));
        assert_matches(v->valuestring, TS_MICRO "$");
        assert_string_equal(
            cJSON_GetObjectItemCaseSensitive(o, "level")->valuestring,
            "WARN");
        assert_string_equal(
            cJSON_GetObjectItemCaseSensitive(o, "component")->valuestring,
            "rpc\"x");
        assert_string_equal(
            cJSON_GetObjectItemCaseSensitive(o, "message")->valuestring,
            cases[n].expected);
        assert_string_equal(
            cJSON_GetObjectItemCaseSensitive(o, "peer")->valuestring,
            "[::1]:50051");
        assert_string_equal(
            cJSON_GetObjectItemCaseSensitive(o, "weird\"key")->valuestring,
            "v\n");
        assert_string_equal(
            cJSON_GetObjectItemCaseSensitive(o, "field_message")
                ->valuestring,
            "shadowed");
        assert_true(
            cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "nil")));
        cJSON_Delete(o);
    }
    assert_int_equal(n, sizeof cases / sizeof cases[0]);
    free(text);
}

static int side_effects;

static int bump(void)
{
    return ++side_effects;
}

static void test_level_filtering(void **state)
{
    struct fixture *fx = *state;
    char *text;

    init_file(fx, AMATERS_LOG_WARN, AMATERS_LOG_COMPACT);
    assert_false(amaters_log_enabled(AMATERS_LOG_INFO));
    assert_true(amaters_log_enabled(AMATERS_LOG_WARN));
    assert_true(amaters_log_enabled(AMATERS_LOG_ERROR));
    amaters_log(AMATERS_LOG_TRACE, "t", "trace");
    amaters_log(AMATERS_LOG_DEBUG, "t", "debug");
    amaters_log(AMATERS_LOG_INFO, "t", "info");
    amaters_log(AMATERS_LOG_WARN, "t", "warn");
    amaters_log(AMATERS_LOG_ERROR, "t", "error");
    side_effects = 0;
    AMATERS_LOG_DEBUG("t", "lazy %d", bump());
    AMATERS_LOG_INFO("t", "lazy %d", bump());
    assert_int_equal(side_effects, 0);
    AMATERS_LOG_ERROR("t", "eager %d", bump());
    assert_int_equal(side_effects, 1);

    amaters_log_set_level(AMATERS_LOG_TRACE);
    assert_int_equal(amaters_log_get_level(), AMATERS_LOG_TRACE);
    AMATERS_LOG_TRACE("t", "now %s", "visible");

    text = slurp(fx->path);
    assert_non_null(text);
    assert_int_equal(count_lines(text), 4);
    assert_null(strstr(text, " info"));
    assert_null(strstr(text, "lazy"));
    assert_non_null(strstr(text, " W t warn\n"));
    assert_non_null(strstr(text, " E t error\n"));
    assert_non_null(strstr(text, " E t eager 1\n"));
    assert_non_null(strstr(text, " T t now visible\n"));
    free(text);
}

static void test_reinit_failure_keeps_previous_output(void **state)
{
    struct fixture *fx = *state;
    struct amaters_log_options bad = {.level = AMATERS_LOG_INFO,
                                      .format = AMATERS_LOG_JSON,
                                      .file_path = "/nonexistent/dir/x.log"};
    struct amaters_log_options norot = {.level = AMATERS_LOG_INFO,
                                        .file_path = fx->path,
                                        .rotate = true};
    char err[256] = "";
    char *text;

    init_file(fx, AMATERS_LOG_INFO, AMATERS_LOG_PRETTY);
    assert_int_equal(amaters_log_init(&bad, err, sizeof err), AMATERS_EIO);
    assert_non_null(strstr(err, "/nonexistent/dir/x.log"));
    assert_non_null(strstr(err, strerror(ENOENT)));
    assert_int_equal(amaters_log_init(&norot, err, sizeof err),
                     AMATERS_EINVAL);
    amaters_log(AMATERS_LOG_INFO, "t", "still here");
    text = slurp(fx->path);
    assert_non_null(text);
    /* Still the pretty format and the first file. */
    assert_non_null(strstr(text, "  INFO t: still here\n"));
    free(text);
}

static void test_write_errors_are_counted(void **state)
{
    struct amaters_log_options o = {.level = AMATERS_LOG_INFO,
                                    .file_path = "/dev/full"};
    char err[256];

    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    assert_int_equal(amaters_log_init(&o, err, sizeof err), 0);
    assert_int_equal(amaters_log_write_errors(), 0);
    amaters_log(AMATERS_LOG_INFO, "t", "lost");
    amaters_log(AMATERS_LOG_INFO, "t", "lost again");
    assert_int_equal(amaters_log_write_errors(), 2);
    amaters_log_shutdown();
    assert_int_equal(amaters_log_write_errors(), 0);
}

static off_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Parses the numbers of "seq=N" records in a file, in order. */
static size_t read_seqs(const char *path, int *out, size_t max)
{
    char *text = slurp(path);
    size_t n = 0;

    if (text == NULL)
        return 0;
    for (const char *p = strstr(text, "record "); p != NULL && n < max;
         p = strstr(p + 1, "record "))
        out[n++] = atoi(p + 7);
    free(text);
    return n;
}

static void test_rotation(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        unsigned max_backups;
        int records;
    } cases[] = {{2, 40}, {0, 40}, {5, 8}};

    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct amaters_log_options o = {
            .level = AMATERS_LOG_INFO,
            .format = AMATERS_LOG_COMPACT,
            .file_path = fx->path,
            .rotate = true,
            .max_size_bytes = 300,
            .max_backups = cases[c].max_backups,
        };
        char err[256];
        char name[256];
        int seqs[200];
        int last = -1;
        size_t total = 0;

        for (unsigned i = 0; i <= 6; i++) {
            snprintf(name, sizeof name, i ? "%s.%u" : "%s", fx->path, i);
            unlink(name);
        }
        assert_int_equal(amaters_log_init(&o, err, sizeof err), 0);
        /* Each line is about 60 bytes, so about 5 fit in a file. */
        for (int i = 0; i < cases[c].records; i++)
            amaters_log(AMATERS_LOG_INFO, "rot", "record %03d pad", i);
        amaters_log_shutdown();

        /* Oldest backup first; records must be contiguous, ending with
         * the newest. */
        for (unsigned i = cases[c].max_backups + 1; i-- > 0;) {
            size_t n;

            snprintf(name, sizeof name, i ? "%s.%u" : "%s", fx->path, i);
            n = read_seqs(name, seqs, 200);
            if (i > 0 && cases[c].records == 40)
                assert_true(n > 0); /* every backup slot was used */
            assert_true(file_size(name) <= 300);
            for (size_t k = 0; k < n; k++) {
                if (last >= 0)
                    assert_int_equal(seqs[k], last + 1);
                last = seqs[k];
            }
            total += n;
        }
        assert_int_equal(last, cases[c].records - 1);
        if (cases[c].records == 8)
            assert_int_equal(total, 8);
        else
            assert_true(total < 40);
        snprintf(name, sizeof name, "%s.%u", fx->path,
                 cases[c].max_backups + 1);
        assert_int_equal(file_size(name), -1);
    }
}

struct collected {
    char messages[20][512];
    char levels[20][8];
    size_t n;
};

static void collect_cb(const char *ts, const char *level, const char *msg,
                       void *arg)
{
    struct collected *c = arg;

    assert_matches(ts, TS_MICRO "$");
    if (c->n < 20) {
        snprintf(c->messages[c->n], sizeof c->messages[0], "%s", msg);
        snprintf(c->levels[c->n], sizeof c->levels[0], "%s", level);
    }
    c->n++;
    /* Logging from the callback must not deadlock. */
    amaters_log(AMATERS_LOG_DEBUG, "cb", "inside callback");
}

static void count_cb(const char *ts, const char *level, const char *msg,
                     void *arg)
{
    (void)ts;
    (void)level;
    (void)msg;
    ++*(size_t *)arg;
}

static void test_recent_ring(void **state)
{
    struct fixture *fx = *state;
    struct collected c = {.n = 0};
    struct amaters_log_field f = {"k", "v"};
    size_t counted = 0;
    char big[2000];

    init_file(fx, AMATERS_LOG_DEBUG, AMATERS_LOG_JSON);
    assert_int_equal(amaters_log_recent(10, collect_cb, &c), 0);
    for (int i = 0; i < 1005; i++)
        amaters_log(i % 2 ? AMATERS_LOG_WARN : AMATERS_LOG_INFO, "ring",
                    "line %d", i);
    amaters_log_kv(AMATERS_LOG_ERROR, "ring", &f, 1, "with field");

    assert_int_equal(amaters_log_recent(3, collect_cb, &c), 3);
    assert_string_equal(c.messages[0], "ring: line 1003");
    assert_string_equal(c.levels[0], "WARN");
    assert_string_equal(c.messages[1], "ring: line 1004");
    assert_string_equal(c.levels[1], "INFO");
    assert_string_equal(c.messages[2], "ring: with field k=v");
    assert_string_equal(c.levels[2], "ERROR");

    /* At most 1000 records are kept: 1005 lines, the field line and the
     * three lines logged by the callbacks push out lines 0..8. */
    c.n = 0;
    assert_int_equal(amaters_log_recent(5000, collect_cb, &c), 1000);
    assert_string_equal(c.messages[0], "ring: line 9");

    /* Long records are cut at a UTF-8 boundary. */
    for (size_t i = 0; i + 2 < sizeof big; i += 2) {
        big[i] = '\xc3';
        big[i + 1] = '\xa9';
    }
    big[sizeof big - 2] = '\0';
    amaters_log(AMATERS_LOG_INFO, "ring", "%s", big);
    c.n = 0;
    amaters_log_recent(1, collect_cb, &c);
    assert_true(strlen(c.messages[0]) < 480);
    assert_true(strlen(c.messages[0]) > 400);
    assert_int_equal((strlen(c.messages[0]) - strlen("ring: ")) % 2, 0);

    amaters_log_shutdown();
    assert_int_equal(amaters_log_recent(100, count_cb, &counted), 0);
}

static void test_long_message_is_cut_but_valid(void **state)
{
    struct fixture *fx = *state;
    size_t n = 40000;
    char *big = malloc(n + 1);
    char *text;
    cJSON *o;

    assert_non_null(big);
    memset(big, '"', n);
    big[n] = '\0';
    init_file(fx, AMATERS_LOG_INFO, AMATERS_LOG_JSON);
    amaters_log(AMATERS_LOG_INFO, "big", "%s", big);
    text = slurp(fx->path);
    assert_non_null(text);
    assert_int_equal(count_lines(text), 1);
    o = cJSON_Parse(text);
    assert_non_null(o);
    assert_int_equal(
        strlen(cJSON_GetObjectItemCaseSensitive(o, "message")->valuestring),
        AMATERS_LOG_MAX_MESSAGE);
    cJSON_Delete(o);
    free(text);
    free(big);
}

#define THREADS 4
#define PER_THREAD 2000

static void *writer(void *arg)
{
    long id = (long)(intptr_t)arg;
    struct amaters_log_field f = {"thread", "t"};

    for (int i = 0; i < PER_THREAD; i++)
        amaters_log_kv(AMATERS_LOG_INFO, "mt", &f, 1,
                       "thread %ld record %d with some padding text", id, i);
    return NULL;
}

static void test_concurrent_lines_stay_whole(void **state)
{
    struct fixture *fx = *state;
    pthread_t t[THREADS];
    int next[THREADS] = {0};
    char *text;
    char *line;
    char *save = NULL;
    size_t n = 0;

    init_file(fx, AMATERS_LOG_INFO, AMATERS_LOG_JSON);
    for (long i = 0; i < THREADS; i++)
        assert_int_equal(
            pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    text = slurp(fx->path);
    assert_non_null(text);
    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save), n++) {
        cJSON *o = cJSON_Parse(line);
        long id;
        int rec;

        if (o == NULL)
            fail_msg("torn line: %s", line);
        assert_int_equal(
            sscanf(cJSON_GetObjectItemCaseSensitive(o, "message")
                       ->valuestring,
                   "thread %ld record %d", &id, &rec),
            2);
        /* Each thread's records appear in its own order. */
        assert_true(id >= 0 && id < THREADS);
        assert_int_equal(rec, next[id]);
        next[id]++;
        cJSON_Delete(o);
    }
    assert_int_equal(n, THREADS * PER_THREAD);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_escapes_control_characters,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_filtering, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_reinit_failure_keeps_previous_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_errors_are_counted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recent_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_message_is_cut_but_valid,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_lines_stay_whole,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
