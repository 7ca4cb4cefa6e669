/*
 * test_toml.c - unit tests of the TOML 1.0 parser (src/config/toml.h) on valid
 * documents.
 *
 * Valid documents are rendered by a small printer of this file into a compact,
 * unambiguous text form and compared with the rendering written by hand below.
 * The cases follow the categories of the toml-test suite: every value type and
 * its edge cases, every way to define a table, encodings. Invalid documents
 * are tested in test_toml_invalid.c; positions, accessors, limits, files and
 * allocation failures in test_toml_api.c; the fixture all three use (which
 * checks that nothing leaked) is in toml_fixture.h.
 */
#include "toml_fixture.h"

#include <math.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        LEAK_TEST(test_valid_documents),
        LEAK_TEST(test_valid_with_nul_escape_in_key),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
