/*
 * test_toml_invalid.c - unit tests of the TOML 1.0 parser (src/config/toml.h)
 * on invalid documents: each must fail with the line and column (and a phrase
 * of the message) given beside it, leaving no tree behind. The cases follow
 * the categories of the toml-test suite: structure, every illegal redefinition
 * of a key or table, closed inline tables and static arrays, headers, every
 * value type's malformed forms, control characters (NUL bytes included),
 * encodings. The fixture (which checks that nothing leaked) is in
 * toml_fixture.h; valid documents are tested in test_toml.c.
 */
#include "toml_fixture.h"

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

/* A malformed value of a key that names a secret is not echoed; other
 * keys' values are. */
static void test_secret_values_not_echoed(void **state)
{
    static const struct {
        const char *doc, *value, *phrase;
        int shown;
    } cases[] = {
        {"[auth.jwt]\nsecret = 123abc", "123abc", "auth.jwt.secret", 0},
        {"[a]\nhash_secret = s3cr3t", "s3cr3t", "a.hash_secret", 0},
        {"db_Password = hunter2x", "hunter2x", "db_Password", 0},
        {"[x]\napi.token = tok_9", "tok_9", "x.api.token", 0},
        {"[server]\nmode = 123abc", "123abc", "server.mode", 1},
        {"secretive.name = 12x", "12x", "secretive.name", 1},
        /* inside quoted strings: escapes */
        {"[auth.jwt]\nsecret = \"ab\\qcd\"", "\\q", "auth.jwt.secret", 0},
        {"[auth.jwt]\nsecret = \"\\uD800z\"", "D800", "auth.jwt.secret",
         0},
        {"[x]\nname = \"ab\\qcd\"", "\\q", "x.name", 1},
        {"[x]\nname = \"\\uD800z\"", "D800", "x.name", 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct amaters_toml_value *root = NULL;
        char err[256];
        int rv = amaters_toml_parse(cases[i].doc, strlen(cases[i].doc), NULL,
                                    &root, err, sizeof(err));

        assert_int_equal(rv, AMATERS_EPARSE);
        assert_null(root);
        assert_non_null(strstr(err, cases[i].phrase));
        assert_int_equal(strstr(err, cases[i].value) != NULL,
                         cases[i].shown);
    }
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        LEAK_TEST(test_invalid_documents),
        LEAK_TEST(test_nul_bytes_in_text),
        LEAK_TEST(test_secret_values_not_echoed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
