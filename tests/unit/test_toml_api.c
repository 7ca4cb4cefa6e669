/*
 * test_toml_api.c - unit tests of the TOML 1.0 parser's API
 * (src/config/toml.h) beyond what a document parses to: the line and column of
 * values and keys, the table and array accessors, the error buffer (truncated,
 * absent) and the length bound, the UTF-8 prefix check, the nesting limit and
 * documents with thousands of keys, parsing files (and their read errors),
 * the dotted key named by an error inside a value, and failing every
 * allocation in turn. The fixture (which checks that nothing
 * leaked) is in toml_fixture.h; documents are tested in test_toml.c and
 * test_toml_invalid.c.
 */
#include "toml_fixture.h"

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
    /* "élé" is not a value: the error column counts characters, and the
     * key whose value it is (below [srv]) is named. */
    assert_int_equal(amaters_toml_parse(doc, strlen(doc), "cfg.toml", &root,
                                        err, sizeof(err)),
                     AMATERS_EPARSE);
    assert_string_equal(err, "cfg.toml:6:4: srv.list: expected a value");

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
    snprintf(want, sizeof(want), "<string>:1:%d: a: nesting deeper than 128",
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

/* An error inside a value names the value's full dotted key after the
 * position; errors outside values do not (they name the key themselves or
 * have none). */
static void test_value_errors_name_the_key(void **state)
{
    static const struct {
        const char *doc, *want;
    } cases[] = {
        {"[server]\nmax_connections = 99999999999999999999999",
         "t.toml:2:19: server.max_connections: integer out of 64-bit range "
         "'99999999999999999999999'"},
        {"x = 9223372036854775808",
         "t.toml:1:5: x: integer out of 64-bit range '9223372036854775808'"},
        {"[storage]\nwal.sync_interval_ms = 0x8000000000000000",
         "t.toml:2:24: storage.wal.sync_interval_ms: integer out of 64-bit "
         "range '0x8000000000000000'"},
        {"storage = {wal = {segment_size_mb = 1__0}}",
         "t.toml:1:37: storage.wal.segment_size_mb: invalid value '1__0'"},
        {"[\"a b\".c]\nd = [1, 2,, 3]",
         "t.toml:2:11: a b.c.d: expected a value"},
        {"[[peers]]\nid = tru", "t.toml:2:6: peers.id: invalid value 'tru'"},
        {"[a]\nb = \"open", "t.toml:2:5: a.b: unterminated string"},
        {"[a]\nb = {c = 1, c = 2}",
         "t.toml:2:13: a.b: duplicate key 'c'"},
        /* not inside a value: no key in front of the message */
        {"[a]\nb = 1 2", "t.toml:2:7: expected a newline after the value"},
        {"[a]\nb = 1\nb = 2", "t.toml:3:1: duplicate key 'b'"},
        /* a very long name is cut, marked with "..." */
        {"[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n"
         "bbbbbbbbbbbbbbbbbbbb = 1.",
         "t.toml:2:24: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
         "bbbbbbbbb...: invalid float '1.'"},
    };
    struct amaters_toml_value *root;
    char err[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        root = NULL;
        if (amaters_toml_parse(cases[i].doc, strlen(cases[i].doc), "t.toml",
                               &root, err, sizeof(err)) != AMATERS_EPARSE ||
            strcmp(err, cases[i].want) != 0)
            fail_msg("case %zu\nwant %s\ngot  %s", i, cases[i].want, err);
        assert_null(root);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LEAK_TEST(test_positions),
        LEAK_TEST(test_accessors),
        LEAK_TEST(test_error_buffer_handling),
        LEAK_TEST(test_utf8_prefix),
        LEAK_TEST(test_depth_limit),
        LEAK_TEST(test_many_keys),
        LEAK_TEST(test_parse_file),
        LEAK_TEST(test_value_errors_name_the_key),
        LEAK_TEST(test_every_allocation_failure),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
