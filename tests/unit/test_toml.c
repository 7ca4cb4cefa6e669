/*
 * test_toml.c - unit tests of the TOML 1.0 parser (src/config/toml.h).
 *
 * Valid documents are rendered by a small printer of this file into a
 * compact, unambiguous text form and compared with the rendering written
 * by hand below; invalid documents must fail with the line and column (and
 * a phrase of the message) given beside them. The cases follow the
 * categories of the toml-test suite: every value type and its edge cases,
 * every way to define (and illegally redefine) a table, control
 * characters, encodings, and nesting limits. Every test checks that
 * nothing leaked; one test fails every allocation in turn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config/toml.h"
#include "core/alloc.h"
#include "core/errors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- fixture ---- */

static long live_before;

static int setup(void **state)
{
    (void)state;
    live_before = amaters_alloc_live();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    amaters_alloc_fail_after(-1);
    assert_int_equal(amaters_alloc_live(), live_before);
    return 0;
}

/* ---- a printer for parsed trees ---- */

struct out {
    char buf[8192];
    size_t len;
};

static void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(o->buf) - o->len);
    o->len += (size_t)n;
}

/* Strings print in double quotes; '"' '\' and control bytes escaped as
 * \" \\ \xNN; other bytes (UTF-8) as they are. */
static void put_str(struct out *o, const char *s, size_t len)
{
    size_t i;
    unsigned char c;

    put(o, "\"");
    for (i = 0; i < len; i++) {
        c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            put(o, "\\%c", c);
        else if (c < 0x20 || c == 0x7F)
            put(o, "\\x%02X", c);
        else
            put(o, "%c", c);
    }
    put(o, "\"");
}

/* Floats print as f: and the shortest %g form that reads back exactly. */
static void put_float(struct out *o, double d)
{
    char tmp[64];
    int prec;

    if (isnan(d)) {
        put(o, "f:nan");
        return;
    }
    if (isinf(d)) {
        put(o, "f:%sinf", d < 0 ? "-" : "");
        return;
    }
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    put(o, "f:%s", tmp);
}

static void put_time(struct out *o, const struct amaters_toml_datetime *t)
{
    put(o, "%02d:%02d:%02d", t->hour, t->minute, t->second);
    if (t->nanosecond != 0)
        put(o, ".%09d", t->nanosecond);
}

static void render(struct out *o, const struct amaters_toml_value *v)
{
    const struct amaters_toml_datetime *t = &v->u.datetime;
    const char *key;
    size_t i, klen;
    int off;

    switch (v->type) {
    case AMATERS_TOML_TABLE:
        put(o, "{");
        for (i = 0; i < amaters_toml_table_count(v); i++) {
            const struct amaters_toml_value *c =
                amaters_toml_table_at(v, i, &key, &klen);
            if (i > 0)
                put(o, ",");
            put_str(o, key, klen);
            put(o, ":");
            render(o, c);
        }
        put(o, "}");
        return;
    case AMATERS_TOML_ARRAY:
        put(o, "[");
        for (i = 0; i < amaters_toml_array_count(v); i++) {
            if (i > 0)
                put(o, ",");
            render(o, amaters_toml_array_at(v, i));
        }
        put(o, "]");
        return;
    case AMATERS_TOML_STRING:
        put_str(o, v->u.string.ptr, v->u.string.len);
        return;
    case AMATERS_TOML_INTEGER:
        put(o, "%lld", (long long)v->u.integer);
        return;
    case AMATERS_TOML_FLOAT:
        put_float(o, v->u.floating);
        return;
    case AMATERS_TOML_BOOLEAN:
        put(o, "%s", v->u.boolean ? "true" : "false");
        return;
    case AMATERS_TOML_LOCAL_DATE:
        put(o, "ld:%04d-%02d-%02d", t->year, t->month, t->day);
        return;
    case AMATERS_TOML_LOCAL_TIME:
        put(o, "lt:");
        put_time(o, t);
        return;
    case AMATERS_TOML_LOCAL_DATETIME:
    case AMATERS_TOML_OFFSET_DATETIME:
        put(o, "%s:%04d-%02d-%02dT",
            v->type == AMATERS_TOML_LOCAL_DATETIME ? "ldt" : "odt", t->year,
            t->month, t->day);
        put_time(o, t);
        if (v->type == AMATERS_TOML_OFFSET_DATETIME) {
            off = t->offset_minutes < 0 ? -t->offset_minutes
                                        : t->offset_minutes;
            put(o, "%c%02d:%02d", t->offset_minutes < 0 ? '-' : '+',
                off / 60, off % 60);
        }
        return;
    }
    fail_msg("unknown type %d", (int)v->type);
}

/* Parses doc and returns its rendering (static buffer). */
static const char *parse_render(const char *doc, size_t len)
{
    static struct out o;
    struct amaters_toml_value *root = NULL;
    char err[256];
    int rv;

    rv = amaters_toml_parse(doc, len, NULL, &root, err, sizeof(err));
    if (rv != 0)
        fail_msg("document failed: %s\n---\n%s\n---", err, doc);
    o.len = 0;
    o.buf[0] = '\0';
    render(&o, root);
    amaters_toml_free(root);
    return o.buf;
}

/* ---- valid documents ---- */

struct valid_case {
    const char *doc;
    const char *want;
};

static const struct valid_case valid_cases[] = {
    /* empty and trivia */
    {"", "{}"},
    {"# only a comment", "{}"},
    {"\n\n  \t\n", "{}"},
    {"\xEF\xBB\xBF" "a = 1", "{\"a\":1}"},
    {"a = 1 # comment", "{\"a\":1}"},
    {"a = 1\r\nb = 2\r\n", "{\"a\":1,\"b\":2}"},
    {"a=1#x\nb=\"#\"#y", "{\"a\":1,\"b\":\"#\"}"},
    {"# \xC3\xA9t\xC3\xA9 \t comment\na = 1", "{\"a\":1}"},
    /* keys */
    {"bare_key-1 = 1\n1234 = 2", "{\"bare_key-1\":1,\"1234\":2}"},
    {"\"quoted key\" = 1\n'lit key' = 2",
     "{\"quoted key\":1,\"lit key\":2}"},
    {"\"\" = 1", "{\"\":1}"},
    {"'' = 1", "{\"\":1}"},
    {"\"a.b\" = 1", "{\"a.b\":1}"},
    {"\"\\u00e9\\n\" = 1", "{\"\xC3\xA9\\x0A\":1}"},
    {"a.b.c = 1\na.b.d = 2", "{\"a\":{\"b\":{\"c\":1,\"d\":2}}}"},
    {"a . b = 1\n a\t.\"c\" = 2", "{\"a\":{\"b\":1,\"c\":2}}"},
    {"3.14159 = \"pi\"", "{\"3\":{\"14159\":\"pi\"}}"},
    {"A = 1\na = 2", "{\"A\":1,\"a\":2}"},
    {"true = 1\nfalse = 2\ninf = 3\nnan = 4",
     "{\"true\":1,\"false\":2,\"inf\":3,\"nan\":4}"},
    /* basic strings and escapes */
    {"s = \"a\\b\\t\\n\\f\\r\\\"\\\\z\"",
     "{\"s\":\"a\\x08\\x09\\x0A\\x0C\\x0D\\\"\\\\z\"}"},
    {"s = \"\\u0041\\u00E9\\u20AC\\U0001F600\"",
     "{\"s\":\"A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"}"},
    {"s = \"\\u0000x\"", "{\"s\":\"\\x00x\"}"},
    {"s = \"\\uD7FF\\uE000\\U0010FFFF\"",
     "{\"s\":\"\xED\x9F\xBF\xEE\x80\x80\xF4\x8F\xBF\xBF\"}"},
    {"s = \"tab\there\"", "{\"s\":\"tab\\x09here\"}"},
    {"s = \"\xE6\x97\xA5\xE6\x9C\xAC\"",
     "{\"s\":\"\xE6\x97\xA5\xE6\x9C\xAC\"}"},
    {"s = \"'\"", "{\"s\":\"'\"}"},
    /* literal strings */
    {"s = 'C:\\Users\\x'", "{\"s\":\"C:\\\\Users\\\\x\"}"},
    {"s = '<\\i\\c*\\s*>'", "{\"s\":\"<\\\\i\\\\c*\\\\s*>\"}"},
    {"s = 'a\"b'", "{\"s\":\"a\\\"b\"}"},
    /* multi-line basic */
    {"s = \"\"\"\nline1\nline2\"\"\"", "{\"s\":\"line1\\x0Aline2\"}"},
    {"s = \"\"\"\r\nx\r\ny\"\"\"", "{\"s\":\"x\\x0Ay\"}"},
    {"s = \"\"\"one \\\n    two \\\n\n   three\"\"\"",
     "{\"s\":\"one two three\"}"},
    {"s = \"\"\"a \\  \t \r\n  b\"\"\"", "{\"s\":\"a b\"}"},
    {"s = \"\"\"\\\n\"\"\"", "{\"s\":\"\"}"},
    {"s = \"\"\"a\"b\"\"c\"\"\"", "{\"s\":\"a\\\"b\\\"\\\"c\"}"},
    {"s = \"\"\"a\"\"\"\"", "{\"s\":\"a\\\"\"}"},
    {"s = \"\"\"a\"\"\"\"\"", "{\"s\":\"a\\\"\\\"\"}"},
    {"s = \"\"\"\"\"\"", "{\"s\":\"\"}"},
    {"s = \"\"\"\"\"\"\"", "{\"s\":\"\\\"\"}"},
    {"s = \"\"\"\"a\"\"\"\"", "{\"s\":\"\\\"a\\\"\"}"},
    {"s = \"\"\"\\\"\\\"\\\"\"\"\"", "{\"s\":\"\\\"\\\"\\\"\"}"},
    {"s = \"\"\"\n\n\"\"\"", "{\"s\":\"\\x0A\"}"},
    /* multi-line literal */
    {"s = '''\nno \\escapes\n'''", "{\"s\":\"no \\\\escapes\\x0A\"}"},
    {"s = '''a''b'''''", "{\"s\":\"a''b''\"}"},
    {"s = ''''a'''", "{\"s\":\"'a\"}"},
    /* integers */
    {"a = 0\nb = +0\nc = -0\nd = 99\ne = -17\nf = +42",
     "{\"a\":0,\"b\":0,\"c\":0,\"d\":99,\"e\":-17,\"f\":42}"},
    {"a = 1_000\nb = 5_349_221\nc = 1_2_3_4_5",
     "{\"a\":1000,\"b\":5349221,\"c\":12345}"},
    {"a = 9223372036854775807\nb = -9223372036854775808",
     "{\"a\":9223372036854775807,\"b\":-9223372036854775808}"},
    {"a = 0xDEADBEEF\nb = 0xdead_beef\nc = 0x0\nd = 0x00_01",
     "{\"a\":3735928559,\"b\":3735928559,\"c\":0,\"d\":1}"},
    {"a = 0x7FFFFFFFFFFFFFFF", "{\"a\":9223372036854775807}"},
    {"a = 0o01234567\nb = 0o755\nc = 0o7_7",
     "{\"a\":342391,\"b\":493,\"c\":63}"},
    {"a = 0b11010110\nb = 0b1_0\nc = 0b0", "{\"a\":214,\"b\":2,\"c\":0}"},
    /* floats */
    {"a = 1.0\nb = 3.1415\nc = -0.01\nd = +1.5",
     "{\"a\":f:1,\"b\":f:3.1415,\"c\":f:-0.01,\"d\":f:1.5}"},
    {"a = 5e+22\nb = 1e06\nc = -2E-2\nd = 6.626e-34",
     "{\"a\":f:5e+22,\"b\":f:1e+06,\"c\":f:-0.02,\"d\":f:6.626e-34}"},
    {"a = 224_617.445_991_228\nb = 1e1_0",
     "{\"a\":f:224617.445991228,\"b\":f:1e+10}"},
    {"a = 0.0\nb = -0.0\nc = 0e0\nd = 0E+0\ne = 0.1e-0_1",
     "{\"a\":f:0,\"b\":f:-0,\"c\":f:0,\"d\":f:0,\"e\":f:0.01}"},
    {"a = inf\nb = +inf\nc = -inf\nd = nan\ne = +nan\nf = -nan",
     "{\"a\":f:inf,\"b\":f:inf,\"c\":f:-inf,\"d\":f:nan,\"e\":f:nan,"
     "\"f\":f:nan}"},
    {"a = 1e-400", "{\"a\":f:0}"},
    {"a = 1.7976931348623157e308", "{\"a\":f:1.7976931348623157e+308}"},
    /* booleans */
    {"t = true\nf = false", "{\"t\":true,\"f\":false}"},
    /* dates and times */
    {"a = 1979-05-27T07:32:00Z", "{\"a\":odt:1979-05-27T07:32:00+00:00}"},
    {"a = 1979-05-27T00:32:00-07:00\nb = 1979-05-27 00:32:00.999999+05:30",
     "{\"a\":odt:1979-05-27T00:32:00-07:00,"
     "\"b\":odt:1979-05-27T00:32:00.999999000+05:30}"},
    {"a = 1979-05-27t07:32:00z", "{\"a\":odt:1979-05-27T07:32:00+00:00}"},
    {"a = 1979-05-27T07:32:00.1234567891Z",
     "{\"a\":odt:1979-05-27T07:32:00.123456789+00:00}"},
    {"a = 1979-05-27T07:32:00\nb = 1979-05-27 07:32:00.5",
     "{\"a\":ldt:1979-05-27T07:32:00,"
     "\"b\":ldt:1979-05-27T07:32:00.500000000}"},
    {"a = 1979-05-27\nb = 0000-01-01\nc = 9999-12-31",
     "{\"a\":ld:1979-05-27,\"b\":ld:0000-01-01,\"c\":ld:9999-12-31}"},
    {"a = 07:32:00\nb = 00:32:00.999999\nc = 23:59:60",
     "{\"a\":lt:07:32:00,\"b\":lt:00:32:00.999999000,\"c\":lt:23:59:60}"},
    {"a = 2000-02-29\nb = 2024-02-29T00:00:00Z",
     "{\"a\":ld:2000-02-29,\"b\":odt:2024-02-29T00:00:00+00:00}"},
    {"a = 1979-05-27 # date then comment", "{\"a\":ld:1979-05-27}"},
    {"a = [1979-05-27 07:32:00,1979-05-27]",
     "{\"a\":[ldt:1979-05-27T07:32:00,ld:1979-05-27]}"},
    /* arrays */
    {"a = []\nb = [ ]\nc = [1]\nd = [1,]\ne = [1, 2 , 3 ,]",
     "{\"a\":[],\"b\":[],\"c\":[1],\"d\":[1],\"e\":[1,2,3]}"},
    {"a = [1, \"x\", 2.5, true, [], {}, 1979-05-27]",
     "{\"a\":[1,\"x\",f:2.5,true,[],{},ld:1979-05-27]}"},
    {"a = [[1, 2], [\"a\", [\"b\"]]]", "{\"a\":[[1,2],[\"a\",[\"b\"]]]}"},
    {"a = [\n  1, # one\n  # alone\n  2\n  ,\n]\n", "{\"a\":[1,2]}"},
    {"a = [\r\n1,\r\n2\r\n]", "{\"a\":[1,2]}"},
    {"a = [{x = 1}, {x = 2, y = {z = 3}}]",
     "{\"a\":[{\"x\":1},{\"x\":2,\"y\":{\"z\":3}}]}"},
    {"a = [\"a, b\", 'c]', \"\"\"d\n]\"\"\"]",
     "{\"a\":[\"a, b\",\"c]\",\"d\\x0A]\"]}"},
    /* inline tables */
    {"a = {}\nb = { }", "{\"a\":{},\"b\":{}}"},
    {"p = { x = 1, y = 2 }", "{\"p\":{\"x\":1,\"y\":2}}"},
    {"p = {a.b = 1, a.c = 2, d = {e = [1, {f = 3}]}}",
     "{\"p\":{\"a\":{\"b\":1,\"c\":2},\"d\":{\"e\":[1,{\"f\":3}]}}}"},
    {"p = {a = [\n1,\n2]}", "{\"p\":{\"a\":[1,2]}}"},
    {"[t]\np = {x=1}\nq.r = {y=2}",
     "{\"t\":{\"p\":{\"x\":1},\"q\":{\"r\":{\"y\":2}}}}"},
    /* tables */
    {"[a]\nx = 1\n[b]\ny = 2", "{\"a\":{\"x\":1},\"b\":{\"y\":2}}"},
    {"[a.b.c]\nx = 1", "{\"a\":{\"b\":{\"c\":{\"x\":1}}}}"},
    {"[ a . \"b c\" . 'd' ]\nx = 1", "{\"a\":{\"b c\":{\"d\":{\"x\":1}}}}"},
    {"[a]\n[a.b]\n[a.c]", "{\"a\":{\"b\":{},\"c\":{}}}"},
    {"[a.b.c]\nz = 1\n[a]\ny = 2",
     "{\"a\":{\"b\":{\"c\":{\"z\":1}},\"y\":2}}"},
    {"[a.b.c]\nz = 1\n[a]\nb.d = 2",
     "{\"a\":{\"b\":{\"c\":{\"z\":1},\"d\":2}}}"},
    {"x = 0\n[a]#c\n[b] # c\n", "{\"x\":0,\"a\":{},\"b\":{}}"},
    {"a.b = 1\n[a.c]\nd = 2", "{\"a\":{\"b\":1,\"c\":{\"d\":2}}}"},
    {"[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n"
     "[fruit.apple.texture]\nsmooth = true",
     "{\"fruit\":{\"apple\":{\"color\":\"red\",\"taste\":{\"sweet\":true},"
     "\"texture\":{\"smooth\":true}}}}"},
    {"[\"\"]\nx = 1", "{\"\":{\"x\":1}}"},
    /* arrays of tables */
    {"[[p]]\nn = 1\n[[p]]\n[[p]]\nn = 3",
     "{\"p\":[{\"n\":1},{},{\"n\":3}]}"},
    {"[[f]]\nn = \"a\"\n[f.phys]\nc = 1\n[[f.v]]\nn = \"x\"\n[[f.v]]\n"
     "n = \"y\"\n[[f]]\nn = \"b\"\n[[f.v]]\nn = \"z\"",
     "{\"f\":[{\"n\":\"a\",\"phys\":{\"c\":1},\"v\":[{\"n\":\"x\"},"
     "{\"n\":\"y\"}]},{\"n\":\"b\",\"v\":[{\"n\":\"z\"}]}]}"},
    {"[[a]]\nb.c = 1\n[[a]]\nb.c = 2",
     "{\"a\":[{\"b\":{\"c\":1}},{\"b\":{\"c\":2}}]}"},
    {"[fruit]\napple.color = \"red\"\n[[fruit.apple.seeds]]\nsize = 2",
     "{\"fruit\":{\"apple\":{\"color\":\"red\",\"seeds\":[{\"size\":2}]}}}"},
    {"[[ a . b ]]\nx = 1", "{\"a\":{\"b\":[{\"x\":1}]}}"},
    {"[[a]]\n[a.b]\nx = 1\n[[a]]\n[a.b]\nx = 2",
     "{\"a\":[{\"b\":{\"x\":1}},{\"b\":{\"x\":2}}]}"},
};

static void test_valid_documents(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
        const char *got = parse_render(valid_cases[i].doc,
                                       strlen(valid_cases[i].doc));
        if (strcmp(got, valid_cases[i].want) != 0)
            fail_msg("case %zu\n---\n%s\n---\nwant %s\ngot  %s", i,
                     valid_cases[i].doc, valid_cases[i].want, got);
    }
}

/* Text with NUL bytes inside cannot be written as a C string literal. */
static void test_valid_with_nul_escape_in_key(void **state)
{
    const struct amaters_toml_value *v;
    struct amaters_toml_value *root = NULL;
    const char doc[] = "\"a\\u0000b\" = 1\n";
    const char *key;
    size_t klen;
    char err[128];

    (void)state;
    assert_int_equal(amaters_toml_parse(doc, sizeof(doc) - 1, NULL, &root,
                                        err, sizeof(err)),
                     0);
    v = amaters_toml_table_at(root, 0, &key, &klen);
    assert_non_null(v);
    assert_int_equal(klen, 3);
    assert_memory_equal(key, "a\0b", 3);
    /* A C-string lookup cannot reach a key with a NUL inside. */
    assert_null(amaters_toml_table_get(root, "a"));
    amaters_toml_free(root);
}

/* ---- invalid documents ---- */

struct invalid_case {
    const char *doc;
    int line, col;
    const char *phrase; /* must appear in the message */
};

static const struct invalid_case invalid_cases[] = {
    /* structure */
    {"a", 1, 2, "expected '='"},
    {"a =", 1, 4, "expected a value"},
    {"a = \n1", 1, 5, "expected a value"},
    {"a = 1 b = 2", 1, 7, "expected a newline"},
    {"= 1", 1, 1, "expected a key"},
    {".a = 1", 1, 1, "expected a key"},
    {"a. = 1", 1, 4, "expected a key"},
    {"a..b = 1", 1, 3, "expected a key"},
    {"a b = 1", 1, 3, "expected '='"},
    {"a = = 1", 1, 5, "expected a value"},
    {"\xC3\xA9 = 1", 1, 1, "expected a key"},
    {"x = 1\n  \"multi\nline\" = 1", 2, 3, "unterminated string"},
    {"\"\"\"k\"\"\" = 1", 1, 1, "multi-line"},
    {"a = 1\n\ra = 2", 2, 1, "expected a key"},
    {"a = 1\rb = 2", 1, 6, "expected a newline"},
    {"a = \"x\" \"y\"", 1, 9, "expected a newline"},
    /* duplicate keys and tables */
    {"a = 1\na = 2", 2, 1, "duplicate key 'a'"},
    {"a = 1\n\"a\" = 2", 2, 1, "duplicate key 'a'"},
    {"a.b = 1\na.b = 2", 2, 1, "duplicate key 'a.b'"},
    {"a = 1\na.b = 2", 2, 1, "already defined as an integer"},
    {"a.b = 1\na = 2", 2, 1, "duplicate key 'a'"},
    {"[a]\n[a]", 2, 2, "table 'a' is already defined"},
    {"[a]\nb = 1\n[a.b]", 3, 2, "already defined as an integer"},
    {"[a.b]\n[a]\n[a]", 3, 2, "already defined"},
    {"[a]\nb.c = 1\n[a.b]", 3, 2, "table 'a.b' is already defined"},
    {"[a]\nb.c.d = 1\n[a.b.c]", 3, 2, "table 'a.b.c' is already defined"},
    {"[a.b.c]\nz = 1\n[a]\nb.c.t = 2", 4, 1, "table 'b.c' is already"},
    {"[a.b.c.d]\nz = 9\n[a]\n  b.c.d.k.t = 8", 4, 3, "already defined"},
    {"a.b = 1\n[x]\n[a]", 3, 2, "table 'a' is already defined"},
    {"[a]\nb.x = 1\n[c]\n[a]\nb.y = 2", 4, 2, "already defined"},
    {"[t1]\nt2.t3.v = 0\n[t1.t2.t3]", 3, 2, "already defined"},
    /* inline tables are closed */
    {"a = {b = 1}\na.c = 2", 2, 1, "table 'a' is already defined"},
    {"a = {b = 1}\n[a]", 2, 2, "already defined"},
    {"a = {b = 1}\n[a.c]", 2, 2, "already defined"},
    {"a = {b = {c = 1}, b.d = 2}", 1, 19, "table 'b' is already defined"},
    {"a = {b = 1, b = 2}", 1, 13, "duplicate key 'b'"},
    {"a = {b.c = 1, b = 2}", 1, 15, "duplicate key 'b'"},
    {"a = {b = 1,}", 1, 12, "trailing comma"},
    {"a = {,}", 1, 6, "expected a key"},
    {"a = {b = 1\n}", 1, 11, "one line"},
    {"a = {\nb = 1}", 1, 6, "expected a key"},
    {"a = {b = 1 c = 2}", 1, 12, "expected ',' or '}'"},
    {"a = {b = 1", 1, 11, "expected ',' or '}'"},
    /* static arrays are closed */
    {"a = []\n[[a]]", 2, 3, "already defined as an array"},
    {"a = [{b = 1}]\n[a.c]", 2, 2, "already defined as an array"},
    {"[[a.b]]\n[a]\nb.y = 2", 3, 1, "already defined as an array"},
    {"[a]\n[[a]]", 2, 3, "already defined as a table"},
    {"[[a]]\n[a]", 2, 2, "already defined as an array"},
    {"[[a.b]]\nx = 1\n[[a]]", 3, 3, "already defined as a table"},
    {"a = 1\n[a.b.c]", 2, 2, "already defined as an integer"},
    /* headers */
    {"[]", 1, 2, "expected a key"},
    {"[a", 1, 3, "expected ']'"},
    {"[a]]", 1, 4, "expected a newline"},
    {"[[a]", 1, 4, "expected ']]'"},
    {"[[a] ]", 1, 4, "expected ']]'"},
    {"[ [a]]", 1, 3, "expected a key"},
    {"[a b]", 1, 4, "expected ']'"},
    {"[a.]", 1, 4, "expected a key"},
    {"[a#b]", 1, 3, "expected ']'"},
    {"[a = 1]", 1, 4, "expected ']'"},
    {"[a] b = 1", 1, 5, "expected a newline"},
    {"[\"\"\"a\"\"\"]", 1, 2, "multi-line"},
    /* arrays */
    {"a = [1 2]", 1, 8, "expected ',' or ']'"},
    {"a = [1,,2]", 1, 8, "expected a value"},
    {"a = [,]", 1, 6, "expected a value"},
    {"a = [1", 1, 7, "expected ',' or ']'"},
    {"a = [\n1,\n2\n", 4, 1, "expected ',' or ']'"},
    {"a = [1] 2", 1, 9, "expected a newline"},
    /* booleans and bare words */
    {"a = True", 1, 5, "expected a value"},
    {"a = tru", 1, 5, "invalid value 'tru'"},
    {"a = truee", 1, 5, "invalid value"},
    {"a = falsey", 1, 5, "invalid value"},
    {"a = t", 1, 5, "invalid value"},
    {"a = xyz", 1, 5, "expected a value"},
    /* integers */
    {"a = 01", 1, 5, "leading zero"},
    {"a = -01", 1, 5, "leading zero"},
    {"a = 0_0", 1, 5, "leading zero"},
    {"a = 1__2", 1, 5, "invalid value"},
    {"a = _1", 1, 5, "expected a value"},
    {"a = 1_", 1, 5, "invalid value"},
    {"a = ++1", 1, 5, "invalid value"},
    {"a = --1", 1, 5, "invalid value"},
    {"a = 1-2", 1, 5, "invalid value"},
    {"a = 9223372036854775808", 1, 5, "out of 64-bit range"},
    {"a = -9223372036854775809", 1, 5, "out of 64-bit range"},
    {"a = 99999999999999999999999", 1, 5, "out of 64-bit range"},
    {"a = 0x8000000000000000", 1, 5, "out of 64-bit range"},
    {"a = 0xFFFFFFFFFFFFFFFF", 1, 5, "out of 64-bit range"},
    {"a = 0b1111111111111111111111111111111111111111111111111111111111111111",
     1, 5, "out of 64-bit range"},
    {"a = 0o1777777777777777777777", 1, 5, "out of 64-bit range"},
    {"a = 0x", 1, 5, "invalid value"},
    {"a = 0xG", 1, 5, "invalid integer"},
    {"a = 0o8", 1, 5, "invalid integer"},
    {"a = 0b2", 1, 5, "invalid integer"},
    {"a = 0X1", 1, 5, "invalid value"},
    {"a = 0B1", 1, 5, "invalid value"},
    {"a = 0x_1", 1, 5, "invalid integer"},
    {"a = 0x1_", 1, 5, "invalid integer"},
    {"a = +0x1", 1, 5, "sign not allowed"},
    {"a = -0o7", 1, 5, "sign not allowed"},
    {"a = 1 2", 1, 7, "expected a newline"},
    /* floats */
    {"a = .5", 1, 5, "expected a value"},
    {"a = 5.", 1, 5, "invalid float"},
    {"a = 1.e2", 1, 5, "invalid float"},
    {"a = +.5", 1, 5, "invalid value"},
    {"a = 03.14", 1, 5, "leading zero"},
    {"a = 1.2.3", 1, 5, "invalid value"},
    {"a = 1e", 1, 5, "invalid float"},
    {"a = 1e+", 1, 5, "invalid float"},
    {"a = 1e2.5", 1, 5, "invalid value"},
    {"a = 1ee2", 1, 5, "invalid float"},
    {"a = 1_.5", 1, 5, "invalid value"},
    {"a = 1._5", 1, 5, "invalid float"},
    {"a = 1e_5", 1, 5, "invalid float"},
    {"a = 1e5_", 1, 5, "invalid value"},
    {"a = 1e400", 1, 5, "float out of range"},
    {"a = -1e400", 1, 5, "float out of range"},
    {"a = Inf", 1, 5, "expected a value"},
    {"a = NaN", 1, 5, "expected a value"},
    {"a = infinity", 1, 5, "invalid value"},
    {"a = in", 1, 5, "invalid value"},
    {"a = inf_", 1, 5, "invalid value"},
    /* dates and times */
    {"a = 1979-13-01", 1, 5, "invalid date-time"},
    {"a = 1979-00-01", 1, 5, "invalid date-time"},
    {"a = 1979-01-00", 1, 5, "invalid date-time"},
    {"a = 1979-01-32", 1, 5, "invalid date-time"},
    {"a = 1979-04-31", 1, 5, "invalid date-time"},
    {"a = 2023-02-29", 1, 5, "invalid date-time"},
    {"a = 1900-02-29", 1, 5, "invalid date-time"},
    {"a = 2000-02-30", 1, 5, "invalid date-time"},
    {"a = 1979-5-27", 1, 5, "invalid date-time"},
    {"a = 1979-05-7", 1, 5, "invalid date-time"},
    {"a = 1979-05-27T", 1, 5, "invalid date-time"},
    {"a = 1979-05-27X07:32:00", 1, 5, "invalid date-time"},
    {"a = 1979-05-27T07:32", 1, 5, "invalid date-time"},
    {"a = 1979-05-27T7:32:00", 1, 5, "invalid date-time"},
    {"a = 1979-05-27T24:00:00", 1, 5, "invalid date-time"},
    {"a = 1979-05-27T23:60:00", 1, 5, "invalid date-time"},
    {"a = 1979-05-27T23:59:61", 1, 5, "invalid date-time"},
    {"a = 1979-05-27T07:32:00.", 1, 5, "invalid date-time"},
    {"a = 1979-05-27T07:32:00+7:00", 1, 5, "invalid date-time"},
    {"a = 1979-05-27T07:32:00+24:00", 1, 5, "invalid date-time"},
    {"a = 1979-05-27T07:32:00+07:60", 1, 5, "invalid date-time"},
    {"a = 1979-05-27T07:32:00+0700", 1, 5, "invalid date-time"},
    {"a = 1979-05-27T07:32:00ZZ", 1, 5, "invalid date-time"},
    {"a = 1979-05-2707:32:00", 1, 5, "invalid date-time"},
    {"a = 1979-05-27 07:32", 1, 5, "invalid date-time"},
    {"a = 1979-05-27  07:32:00", 1, 17, "expected a newline"},
    {"a = 12:32", 1, 5, "invalid date-time"},
    {"a = 1:32:00", 1, 5, "invalid value"},
    {"a = 01:32:0", 1, 5, "invalid date-time"},
    {"a = 01:32:00Z", 1, 5, "invalid date-time"},
    {"a = 25:00:00", 1, 5, "invalid date-time"},
    {"a = +1979-05-27", 1, 5, "invalid value"},
    /* strings */
    {"a = \"abc", 1, 5, "unterminated string"},
    {"a = \"abc\nd\"", 1, 5, "unterminated string"},
    {"a = 'abc", 1, 5, "unterminated string"},
    {"a = 'a\nb'", 1, 5, "unterminated string"},
    {"a = \"\"\"abc", 1, 5, "unterminated string"},
    {"a = '''abc''", 1, 5, "unterminated string"},
    {"a = \"\\q\"", 1, 6, "invalid escape sequence '\\q'"},
    {"a = \"\\x41\"", 1, 6, "invalid escape sequence '\\x'"},
    {"a = \"\\/\"", 1, 6, "invalid escape sequence '\\/'"},
    {"a = \"\\e\"", 1, 6, "invalid escape sequence '\\e'"},
    {"a = \"\\ \"", 1, 6, "invalid escape sequence"},
    {"a = \"\\", 1, 6, "invalid escape sequence"},
    {"a = \"\\u12\"", 1, 6, "4 hex digits"},
    {"a = \"\\u12G4\"", 1, 6, "4 hex digits"},
    {"a = \"\\U0001F60\"", 1, 6, "8 hex digits"},
    {"a = \"\\uD800\"", 1, 6, "not a Unicode scalar value"},
    {"a = \"\\uDFFF\"", 1, 6, "not a Unicode scalar value"},
    {"a = \"\\U00110000\"", 1, 6, "not a Unicode scalar value"},
    {"a = \"\\UFFFFFFFF\"", 1, 6, "not a Unicode scalar value"},
    {"a = \"\"\"x\\ y\"\"\"", 1, 9, "invalid escape sequence"},
    {"a = \"\"\"x\\q\"\"\"", 1, 9, "invalid escape sequence '\\q'"},
    {"a = \"a\x01\"", 1, 7, "control character U+0001"},
    {"a = \"a\x7F\"", 1, 7, "control character U+007F"},
    {"a = \"a\x08\"", 1, 7, "control character U+0008"},
    {"a = \"a\x1F\"", 1, 7, "control character U+001F"},
    {"a = \"a\rb\"", 1, 7, "control character U+000D"},
    {"a = 'a\x0C'", 1, 7, "control character U+000C"},
    {"a = \"\"\"a\rb\"\"\"", 1, 9, "control character U+000D"},
    {"a = '''a\x7F'''", 1, 9, "control character U+007F"},
    {"a = \"\"\"a\"\"\"\"\"\"", 1, 9, "too many quotes"},
    {"a = '''a''''''", 1, 9, "too many quotes"},
    {"a = \"\"\"\"\"\"\"\"\"", 1, 8, "too many quotes"},
    {"a = \"\"\"a\"\"\" \"\"\"", 1, 13, "expected a newline"},
    /* comments */
    {"# a\x01", 1, 4, "control character U+0001 in comment"},
    {"a = 1 # \x7F", 1, 9, "control character U+007F in comment"},
    {"# a\rb", 1, 4, "control character U+000D in comment"},
    {"a = [1, # \x08\n]", 1, 11, "control character U+0008 in comment"},
    /* bare control characters */
    {"a = 1\n\x0C", 2, 1, "expected a key"},
    {"\x0B" "a = 1", 1, 1, "expected a key"},
    /* encoding */
    {"a = \"\xC3\"", 1, 6, "invalid UTF-8 byte 0xC3"},
    {"a = \"\xC0\xAF\"", 1, 6, "invalid UTF-8 byte 0xC0"},
    {"a = \"\xE0\x80\xAF\"", 1, 6, "invalid UTF-8 byte 0xE0"},
    {"a = \"\xED\xA0\x80\"", 1, 6, "invalid UTF-8 byte 0xED"},
    {"a = \"\xF4\x90\x80\x80\"", 1, 6, "invalid UTF-8 byte 0xF4"},
    {"a = \"\xF5\x80\x80\x80\"", 1, 6, "invalid UTF-8 byte 0xF5"},
    {"a = \"\x80\"", 1, 6, "invalid UTF-8 byte 0x80"},
    {"# \xC3\xA9\xFF", 1, 4, "invalid UTF-8 byte 0xFF"},
    {"a = 1\n\xC3\xA9\xC3\xA9 = \"\xFE\"", 2, 7, "invalid UTF-8"},
    {"a = 1\n\xEF\xBB\xBF", 2, 1, "expected a key"},
    {"\xFF\xFE" "a", 1, 1, "invalid UTF-8 byte 0xFF"},
    /* columns count characters, not bytes */
    {"\"\xC3\xA9\xC3\xA9\" = 1 2", 1, 10, "expected a newline"},
};

/* Returns 1 (after printing why) when doc does not fail as described. */
static int error_mismatch(const char *doc, size_t len, int line, int col,
                          const char *phrase, size_t idx)
{
    struct amaters_toml_value *root = (void *)1;
    char err[256], prefix[64];
    int rv;

    rv = amaters_toml_parse(doc, len, NULL, &root, err, sizeof(err));
    snprintf(prefix, sizeof(prefix), "<string>:%d:%d: ", line, col);
    if (rv == AMATERS_EPARSE && root == NULL &&
        strncmp(err, prefix, strlen(prefix)) == 0 &&
        strstr(err, phrase) != NULL)
        return 0;
    if (rv == 0)
        amaters_toml_free(root);
    print_error("case %zu\n---\n%s\n---\nwant %d: %s...%s\ngot  %d: %s\n",
                idx, doc, AMATERS_EPARSE, prefix, phrase, rv,
                rv ? err : "");
    return 1;
}

static void test_invalid_documents(void **state)
{
    size_t i;
    int bad = 0;

    (void)state;
    for (i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]); i++)
        bad += error_mismatch(invalid_cases[i].doc,
                              strlen(invalid_cases[i].doc),
                              invalid_cases[i].line, invalid_cases[i].col,
                              invalid_cases[i].phrase, i);
    assert_int_equal(bad, 0);
}

static void test_nul_bytes_in_text(void **state)
{
    static const char in_value[] = "a = 1\nb = \"x\0y\"";
    static const char bare[] = "a = 1\n\0";
    static const char in_comment[] = "# x\0y";
    static const char in_ml[] = "a = \"\"\"a\0\"\"\"";

    (void)state;
    assert_int_equal(error_mismatch(in_value, sizeof(in_value) - 1, 2, 7,
                                    "control character U+0000", 0),
                     0);
    assert_int_equal(error_mismatch(bare, sizeof(bare) - 1, 2, 1,
                                    "expected a key", 1),
                     0);
    assert_int_equal(error_mismatch(in_comment, sizeof(in_comment) - 1, 1,
                                    4, "control character U+0000 in comment",
                                    2),
                     0);
    assert_int_equal(error_mismatch(in_ml, sizeof(in_ml) - 1, 1, 9,
                                    "control character U+0000", 3),
                     0);
}

/* ---- positions, accessors, API edges ---- */

static void test_positions(void **state)
{
    const char *doc = "# c\n[srv]\n  port = 80\nname = \"x\"\n"
                      "list = [1,\n   \xC3\xA9l\xC3\xA9]\n"
                      "[[arr]]\n[t.u]\nv.w = 1\n";
    struct amaters_toml_value *root = NULL;
    const struct amaters_toml_value *srv, *v, *t;
    char err[128];

    (void)state;
    /* "élé" is not a value: the error column counts characters. */
    assert_int_equal(amaters_toml_parse(doc, strlen(doc), "cfg.toml", &root,
                                        err, sizeof(err)),
                     AMATERS_EPARSE);
    assert_string_equal(err, "cfg.toml:6:4: expected a value");

    doc = "# c\n[srv]\n  port = 80\nname = \"x\"\n"
          "list = [1,\n   \"\xC3\xA9\", 3]\n[[arr]]\n[t.u]\nv.w = 1\n";
    assert_int_equal(amaters_toml_parse(doc, strlen(doc), "cfg.toml", &root,
                                        err, sizeof(err)),
                     0);
    srv = amaters_toml_table_get(root, "srv");
    assert_non_null(srv);
    assert_int_equal(srv->type, AMATERS_TOML_TABLE);
    assert_int_equal(srv->line, 2);
    assert_int_equal(srv->col, 1);
    assert_int_equal(srv->key_line, 2);
    assert_int_equal(srv->key_col, 2);
    v = amaters_toml_table_get(srv, "port");
    assert_int_equal(v->line, 3);
    assert_int_equal(v->col, 10);
    assert_int_equal(v->key_line, 3);
    assert_int_equal(v->key_col, 3);
    v = amaters_toml_table_get(srv, "list");
    assert_int_equal(v->line, 5);
    assert_int_equal(v->col, 8);
    assert_int_equal(amaters_toml_array_count(v), 3);
    assert_int_equal(amaters_toml_array_at(v, 1)->line, 6);
    assert_int_equal(amaters_toml_array_at(v, 1)->col, 4);
    assert_int_equal(amaters_toml_array_at(v, 2)->col, 9);
    assert_int_equal(amaters_toml_array_at(v, 2)->key_line, 0);
    v = amaters_toml_table_get(root, "arr");
    assert_int_equal(v->type, AMATERS_TOML_ARRAY);
    assert_int_equal(amaters_toml_array_at(v, 0)->line, 7);
    t = amaters_toml_table_get(amaters_toml_table_get(root, "t"), "u");
    assert_int_equal(t->line, 8);
    v = amaters_toml_table_get(t, "v");
    assert_int_equal(v->key_line, 9);
    assert_int_equal(v->key_col, 1);
    amaters_toml_free(root);
}

static void test_accessors(void **state)
{
    const char *doc = "b = 2\na = 1\nc = [true]\n";
    struct amaters_toml_value *root = NULL;
    const struct amaters_toml_value *c;
    const char *key = NULL;
    size_t klen = 0;

    (void)state;
    assert_int_equal(amaters_toml_parse(doc, strlen(doc), NULL, &root, NULL,
                                        0),
                     0);
    assert_int_equal(amaters_toml_table_count(root), 3);
    assert_non_null(amaters_toml_table_at(root, 0, &key, &klen));
    assert_string_equal(key, "b");
    assert_int_equal(klen, 1);
    assert_non_null(amaters_toml_table_at(root, 1, &key, NULL));
    assert_string_equal(key, "a");
    assert_null(amaters_toml_table_at(root, 3, &key, NULL));
    assert_null(amaters_toml_table_get(root, "missing"));
    assert_null(amaters_toml_table_get(root, NULL));
    assert_null(amaters_toml_table_get(NULL, "a"));
    c = amaters_toml_table_get(root, "c");
    assert_int_equal(amaters_toml_table_count(c), 0);
    assert_null(amaters_toml_table_get(c, "x"));
    assert_int_equal(amaters_toml_array_count(c), 1);
    assert_true(amaters_toml_array_at(c, 0)->u.boolean);
    assert_null(amaters_toml_array_at(c, 1));
    assert_int_equal(amaters_toml_array_count(root), 0);
    assert_null(amaters_toml_array_at(root, 0));
    assert_int_equal(amaters_toml_array_count(NULL), 0);
    assert_string_equal(amaters_toml_type_name(AMATERS_TOML_LOCAL_TIME),
                        "local time");
    assert_string_equal(amaters_toml_type_name(AMATERS_TOML_FLOAT), "float");
    amaters_toml_free(root);
    amaters_toml_free(NULL);
}

static void test_error_buffer_handling(void **state)
{
    struct amaters_toml_value *root = NULL;
    char small[12];

    (void)state;
    /* Truncated but terminated. */
    assert_int_equal(amaters_toml_parse("a = ?", 5, "file.toml", &root,
                                        small, sizeof(small)),
                     AMATERS_EPARSE);
    assert_string_equal(small, "file.toml:1");
    /* No buffer at all. */
    assert_int_equal(amaters_toml_parse("a = ?", 5, NULL, &root, NULL, 0),
                     AMATERS_EPARSE);
    assert_null(root);
    /* Only len bytes are read: the rest of the text is not looked at. */
    assert_int_equal(amaters_toml_parse("a = 1 garbage", 5, NULL, &root,
                                        NULL, 0),
                     0);
    assert_int_equal(amaters_toml_table_get(root, "a")->u.integer, 1);
    amaters_toml_free(root);
    assert_int_equal(amaters_toml_parse(NULL, 0, NULL, &root, NULL, 0), 0);
    assert_int_equal(amaters_toml_table_count(root), 0);
    amaters_toml_free(root);
}

static void test_utf8_prefix(void **state)
{
    static const struct {
        const char *s;
        size_t want;
    } cases[] = {
        {"", 0},
        {"plain ascii", 11},
        {"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 9},
        {"ab\xC3", 2},            /* truncated sequence */
        {"ab\xC3(", 2},           /* bad continuation */
        {"a\xC1\xBF", 1},         /* overlong two-byte form */
        {"a\xE0\x9F\xBF", 1},     /* overlong three-byte form */
        {"a\xED\x9F\xBF\xED\xA0\x80", 4}, /* U+D7FF ok, U+D800 not */
        {"a\xF4\x8F\xBF\xBF\xF4\x90", 5}, /* U+10FFFF ok, above not */
        {"a\x80", 1},             /* lone continuation byte */
        {"a\xFE", 1},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(amaters_toml_utf8_prefix(cases[i].s,
                                                  strlen(cases[i].s)),
                         cases[i].want);
    /* Only len bytes are looked at. */
    assert_int_equal(amaters_toml_utf8_prefix("ab\xFF", 2), 2);
}

/* ---- size and depth ---- */

static char *nested(const char *head, const char *open, const char *close,
                    const char *mid, int n)
{
    size_t len = strlen(head) + (strlen(open) + strlen(close)) * (size_t)n +
                 strlen(mid) + 1;
    char *s = malloc(len);
    int i;

    assert_non_null(s);
    strcpy(s, head);
    for (i = 0; i < n; i++)
        strcat(s, open);
    strcat(s, mid);
    for (i = 0; i < n; i++)
        strcat(s, close);
    return s;
}

static void test_depth_limit(void **state)
{
    struct amaters_toml_value *root = NULL;
    char err[128], want[64];
    char *doc;

    (void)state;
    /* The array holding 'a' is at depth 1: 128 levels fit, 129 do not. */
    doc = nested("a = ", "[", "]", "", 128);
    assert_int_equal(amaters_toml_parse(doc, strlen(doc), NULL, &root, err,
                                        sizeof(err)),
                     0);
    amaters_toml_free(root);
    free(doc);
    doc = nested("a = ", "[", "]", "", 129);
    assert_int_equal(amaters_toml_parse(doc, strlen(doc), NULL, &root, err,
                                        sizeof(err)),
                     AMATERS_EPARSE);
    snprintf(want, sizeof(want), "<string>:1:%d: nesting deeper than 128",
             4 + 129);
    assert_memory_equal(err, want, strlen(want));
    free(doc);

    doc = nested("a = ", "{b = ", "}", "1", 200);
    assert_int_equal(amaters_toml_parse(doc, strlen(doc), NULL, &root, err,
                                        sizeof(err)),
                     AMATERS_EPARSE);
    assert_non_null(strstr(err, "nesting deeper than 128 levels"));
    free(doc);

    /* Dotted keys and headers count too. */
    doc = nested("", "k.", "", "k = 1", 200);
    assert_int_equal(amaters_toml_parse(doc, strlen(doc), NULL, &root, err,
                                        sizeof(err)),
                     AMATERS_EPARSE);
    assert_non_null(strstr(err, "nesting deeper than 128 levels"));
    free(doc);
    doc = nested("[", "k.", "", "k]", 127);
    assert_int_equal(amaters_toml_parse(doc, strlen(doc), NULL, &root, err,
                                        sizeof(err)),
                     0);
    amaters_toml_free(root);
    free(doc);
    doc = nested("[", "k.", "", "k]\nx.y = {z = [1]}", 127);
    assert_int_equal(amaters_toml_parse(doc, strlen(doc), NULL, &root, err,
                                        sizeof(err)),
                     AMATERS_EPARSE);
    assert_non_null(strstr(err, "nesting deeper than 128 levels"));
    free(doc);
}

static void test_many_keys(void **state)
{
    struct amaters_toml_value *root = NULL;
    const struct amaters_toml_value *t;
    size_t cap = 5000 * 24, len = 0;
    char *doc = malloc(cap);
    char key[32], err[128];
    int i;

    (void)state;
    assert_non_null(doc);
    len += (size_t)snprintf(doc + len, cap - len, "[t]\n");
    for (i = 0; i < 5000; i++)
        len += (size_t)snprintf(doc + len, cap - len, "k%d = %d\n", i, i);
    assert_int_equal(amaters_toml_parse(doc, len, NULL, &root, err,
                                        sizeof(err)),
                     0);
    t = amaters_toml_table_get(root, "t");
    assert_int_equal(amaters_toml_table_count(t), 5000);
    for (i = 0; i < 5000; i += 7) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(amaters_toml_table_get(t, key)->u.integer, i);
        assert_int_equal(amaters_toml_table_get(t, key)->line, i + 2);
    }
    assert_null(amaters_toml_table_get(t, "k5000"));
    amaters_toml_free(root);
    /* A duplicate among thousands is still found (line 5002 is the new
     * key, after 5000 keys and the header). */
    len += (size_t)snprintf(doc + len, cap - len, "k4321 = 0\n");
    assert_int_equal(amaters_toml_parse(doc, len, NULL, &root, err,
                                        sizeof(err)),
                     AMATERS_EPARSE);
    assert_string_equal(err, "<string>:5002:1: duplicate key 'k4321'");
    free(doc);
}

/* ---- files ---- */

static void test_parse_file(void **state)
{
    struct amaters_toml_value *root = NULL;
    const char *src = getenv("AMATERS_SOURCE_DIR");
    char path[1024], err[1200];

    (void)state;
    assert_non_null(src);
    snprintf(path, sizeof(path), "%s/tests/data/config/types.toml", src);
    assert_int_equal(amaters_toml_parse_file(path, &root, err, sizeof(err)),
                     0);
    assert_string_equal(
        amaters_toml_table_get(amaters_toml_table_get(root, "owner"), "name")
            ->u.string.ptr,
        "Tom Preston-Werner");
    assert_int_equal(
        amaters_toml_array_count(amaters_toml_table_get(root, "products")), 2);
    amaters_toml_free(root);

    snprintf(path, sizeof(path), "%s/tests/data/config/bad_syntax.toml", src);
    assert_int_equal(amaters_toml_parse_file(path, &root, err, sizeof(err)),
                     AMATERS_EPARSE);
    assert_null(root);
    assert_true(strncmp(err, path, strlen(path)) == 0);
    assert_string_equal(err + strlen(path), ":4:3: duplicate key 'port'");

    snprintf(path, sizeof(path), "%s/tests/data/config/no-such.toml", src);
    assert_int_equal(amaters_toml_parse_file(path, &root, err, sizeof(err)),
                     AMATERS_EIO);
    assert_true(strncmp(err, path, strlen(path)) == 0);
    assert_string_equal(err + strlen(path),
                        ": cannot read: No such file or directory");

    snprintf(path, sizeof(path), "%s/tests/data/config", src);
    assert_int_equal(amaters_toml_parse_file(path, &root, err, sizeof(err)),
                     AMATERS_EIO);
    assert_string_equal(err + strlen(path), ": cannot read: Is a directory");
    assert_null(root);
}

/* ---- allocation failures ---- */

static void test_every_allocation_failure(void **state)
{
    const char *doc =
        "# all kinds\n"
        "title = \"T\\u00e9st\"\n"
        "lit = '''\nmulti'''\n"
        "ints = [1, 0x10, 0o7, 0b1, -5]\n"
        "floats = [1.5, -inf, nan, 1e3]\n"
        "when = [1979-05-27T07:32:00Z, 1979-05-27, 07:32:00]\n"
        "a.b.c = {d = 1, e.f = [true, {g = \"h\"}]}\n"
        "k1 = 1\nk2 = 2\nk3 = 3\nk4 = 4\nk5 = 5\nk6 = 6\nk7 = 7\nk8 = 8\n"
        "k9 = 9\n"
        "[t.u]\nv = 1\n[[arr]]\nx = 1\n[[arr]]\n[arr.sub]\ny = 2\n";
    struct amaters_toml_value *root;
    char err[256];
    long n, before;
    int rv;

    (void)state;
    for (n = 0;; n++) {
        before = amaters_alloc_live();
        amaters_alloc_fail_after(n);
        root = NULL;
        rv = amaters_toml_parse(doc, strlen(doc), NULL, &root, err,
                                sizeof(err));
        amaters_alloc_fail_after(-1);
        if (rv == 0)
            break;
        assert_int_equal(rv, AMATERS_ENOMEM);
        assert_non_null(strstr(err, "out of memory"));
        assert_null(root);
        assert_int_equal(amaters_alloc_live(), before);
    }
    assert_true(n > 40);
    assert_int_equal(amaters_toml_table_count(root), 17);
    amaters_toml_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_documents, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_valid_with_nul_escape_in_key,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_documents, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_nul_bytes_in_text, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_positions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accessors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_buffer_handling, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_utf8_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_depth_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_allocation_failure, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
