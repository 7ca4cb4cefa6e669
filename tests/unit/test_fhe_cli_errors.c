/*
 * test_fhe_cli_errors.c - the errors of the amaters-fhe tool, run as the
 * real binary (harness: fhe_cli_fixture.h): exit status 2 for usage
 * errors (unknown command, option, operation or type, wrong arity, a
 * value that is not a number or does not fit, bad --threads / --seed,
 * --force on another verb) and 1 for runtime errors (missing or
 * malformed files, wrong key kind, mixed widths, ciphertext of another
 * key, not on a bool that is not clean, existing keys), each with one
 * specific message on stderr that names what is at fault. The operands
 * of eval are checked before its server key is loaded. Keys: a seeded
 * pair made once by the group setup, and a second pair ("other").
 */
#include "fhe_cli_fixture.h"

static int group_setup(void **state)
{
    char out[128];

    (void)state;
    if (fixture_setup() != 0)
        return -1;
    if (RUN(out, NULL, NULL, "keygen", "--out", dir, "--seed",
            "00112233445566778899aabbccddeeff") != 0)
        return -1;
    return RUN(out, NULL, NULL, "keygen", "--out", path("other")) == 0
               ? 0
               : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    return fixture_teardown();
}

static void test_errors(void **state)
{
    char out[512];

    (void)state;
    /* usage errors exit 2, runtime errors 1 */
    assert_int_equal(RUN(out, path("c.ct"), NULL, "eval", "--key",
                         path("server.key"), "pow", path("a.ct"),
                         path("b.ct")), 2);
    assert_int_equal(ev("add", "a.ct", NULL, "c.ct"), 2);   /* arity */
    assert_int_equal(enc("u8", "256", "c.ct"), 2);
    assert_int_equal(enc("u16", "-1", "c.ct"), 2);
    assert_int_equal(enc("u7", "1", "c.ct"), 2);
    assert_int_equal(enc("bool", "2", "c.ct"), 2);
    assert_int_equal(RUN(out, NULL, NULL, "encrypt", "--type", "u8", "1"), 2);
    assert_int_equal(RUN(out, NULL, NULL, "nosuchverb"), 2);
    assert_int_equal(RUN(out, NULL, NULL, "info", path("missing")), 1);
    assert_int_equal(RUN(out, NULL, NULL, "keygen", dir), 2);  /* no --out */
    assert_int_equal(RUN(out, NULL, NULL, "bench", "--threads", "0"), 2);
    /* widths must match */
    assert_int_equal(enc("u8", "1", "a.ct"), 0);
    assert_int_equal(enc("u16", "1", "b.ct"), 0);
    assert_int_equal(ev("add", "a.ct", "b.ct", "c.ct"), 1);
    /* a ciphertext under another key is refused by eval */
    assert_int_equal(RUN(out, path("o.ct"), NULL, "encrypt", "--key",
                         path("other/client.key"), "--type", "u8", "5"), 0);
    assert_int_equal(ev("add", "a.ct", "o.ct", "c.ct"), 1);
}

/* One error case: args ("@x" stands for path("x")), the exit status, and
 * words stderr must contain ("@x" likewise). */
struct err_case {
    const char *args[9];
    int status;
    const char *words[4];
};

static const char *expand(const char *s)
{
    return s != NULL && s[0] == '@' ? path(s + 1) : s;
}

static void check_case(const struct err_case *c)
{
    const char *args[10] = {NULL};
    char out[512], words[4][128];
    int st;

    for (size_t i = 0; i < 9 && c->args[i] != NULL; i++)
        args[i] = expand(c->args[i]);
    st = runv(out, sizeof(out), NULL, NULL, args);
    if (st != c->status)
        fail_msg("%s %s: exit %d, want %d; stderr: %s", c->args[0],
                 c->args[1] ? c->args[1] : "", st, c->status, err);
    for (size_t i = 0; i < 4 && c->words[i] != NULL; i++) {
        snprintf(words[i], sizeof(words[i]), "%s", expand(c->words[i]));
        if (strstr(err, words[i]) == NULL)
            fail_msg("%s %s: stderr lacks '%s': %s", c->args[0],
                     c->args[1] ? c->args[1] : "", words[i], err);
    }
    /* one specific line; the usage hint only for usage errors */
    assert_int_equal(count(err, "amaters-fhe: "), 1);
    assert_int_equal(count(err, "--help") != 0, c->status == 2);
    assert_null(strstr(err, "I/O error"));
    assert_null(strstr(err, "parse error"));
    assert_null(strstr(err, "invalid argument"));
}

static void test_error_messages(void **state)
{
#define CK "@client.key"
#define SK "@server.key"
#define NOKEY "@nokey/server.key"
    static const struct err_case cases[] = {
        /* keys of the wrong kind */
        {{"decrypt", "--key", SK, "@a.ct"}, 1,
         {SK, "server key", "client key"}},
        {{"encrypt", "--key", SK, "--type", "u8", "1"}, 1,
         {SK, "expected a client key"}},
        {{"eval", "--key", CK, "add", "@a.ct", "@a.ct"}, 1,
         {CK, "expected a server key"}},
        {{"eval", "--key", SK, "add", "@a.ct", CK}, 1,
         {CK, "ciphertext"}},
        /* values and types */
        {{"encrypt", "--key", CK, "--type", "u8", "300"}, 2,
         {"'300'", "does not fit", "u8", "0..255"}},
        {{"encrypt", "--key", CK, "--type", "bool", "2"}, 2,
         {"'2'", "not a bool", "true", "false"}},
        {{"encrypt", "--key", CK, "--type", "u16", "-1"}, 2,
         {"'-1'", "does not fit", "u16", "0..65535"}},
        {{"encrypt", "--key", CK, "--type", "u32", "12x"}, 2,
         {"'12x'", "not a number"}},
        {{"encrypt", "--key", CK, "--type", "bool", "yes"}, 2,
         {"'yes'", "not a bool", "true", "false"}},
        {{"encrypt", "--key", CK, "--type", "u8", "true"}, 2,
         {"'true'", "not a number", "u8"}},
        {{"encrypt", "--key", CK, "--type", "u9", "1"}, 2,
         {"u9", "bool", "u8", "u64"}},
        {{"bench", "--type", "u9"}, 2, {"u9", "u16"}},
        /* files */
        {{"decrypt", "--key", CK, "nonexist.ct"}, 1,
         {"cannot open nonexist.ct", "No such file or directory"}},
        {{"eval", "--key", NOKEY, "not", "@a.ct"}, 1,
         {NOKEY, "No such file or directory"}},
        {{"info", "@trunc.key"}, 1, {"@trunc.key", "truncated"}},
        {{"info", "@short.ct"}, 1, {"@short.ct", "truncated"}},
        {{"info", "@junk.txt"}, 1, {"@junk.txt", "not an amaters-fhe file"}},
        {{"info", "@v9.ct"}, 1, {"@v9.ct", "version 9"}},
        {{"decrypt", "--key", "@trunc.key", "@a.ct"}, 1,
         {"@trunc.key", "truncated"}},
        {{"keygen", "--out", "@a.ct"}, 1, {"@a.ct", "not a directory"}},
        /* a body the strict decoder refuses: every verb says why */
        {{"decrypt", "--key", CK, "@deg255.ct"}, 1,
         {"@deg255.ct", "malformed ciphertext", "block 0: degree 255",
          "at most 15"}},
        {{"eval", "--key", SK, "not", "@deg255.ct"}, 1,
         {"@deg255.ct", "malformed ciphertext", "degree 255"}},
        /* operands */
        {{"eval", "--key", SK, "add", "@a.ct", "@b.ct"}, 1,
         {"add", "width", "@a.ct", "@b.ct"}},
        {{"eval", "--key", SK, "add", "@a.ct", "@o.ct"}, 1,
         {"@o.ct", "another key", SK}},
        {{"decrypt", "--key", CK, "@o.ct"}, 1, {"@o.ct", "another key"}},
        /* the operands are checked before the server key is loaded */
        {{"eval", "--key", NOKEY, "add", "@a.ct", "@b.ct"}, 1,
         {"add", "width", "@a.ct", "@b.ct"}},
        {{"eval", "--key", NOKEY, "add", "@t.ct", "@t.ct"}, 1,
         {"add", "not defined on bool", "@t.ct"}},
        {{"eval", "--key", NOKEY, "or", "@a.ct", "@short.ct"}, 1,
         {"@short.ct", "truncated"}},
        /* arithmetic is not defined on bools */
        {{"eval", "--key", SK, "add", "@t.ct", "@t.ct"}, 1,
         {"add", "not defined on bool", "@t.ct", "xor"}},
        {{"eval", "--key", SK, "neg", "@t.ct"}, 1,
         {"neg", "not defined on bool", "@t.ct"}},
        /* not is 1 - x: only on a bool of degree <= 1 */
        {{"eval", "--key", SK, "not", "@deg3.ct"}, 1,
         {"not: ", "@deg3.ct", "is not a clean bool", "(block degree 3)"}},
        {{"eval", "--key", NOKEY, "not", "@deg3.ct"}, 1,
         {"@deg3.ct", "is not a clean bool"}},
        /* command line */
        {{"eval", "--key", SK, "pow", "@a.ct", "@b.ct"}, 2,
         {"pow", "unknown operation", "add"}},
        {{"eval", "--key", SK, "add", "@a.ct"}, 2, {"add", "2", "got 1"}},
        {{"eval", "add", "@a.ct", "@a.ct"}, 2, {"--key"}},
        {{"encrypt", "--type", "u8", "1"}, 2, {"--key"}},
        {{"keygen"}, 2, {"--out"}},
        {{"keygen", "--out"}, 2, {"--out", "value"}},
        {{"keygen", "--out", "@x", "--seed", "abc"}, 2, {"--seed", "abc"}},
        {{"keygen", "--out", "@x", "--force", "--force"}, 2,
         {"--force", "twice"}},
        {{"encrypt", "--force", "--key", CK, "--type", "u8", "1"}, 2,
         {"encrypt", "--force"}},
        {{"nosuchverb"}, 2, {"nosuchverb", "keygen"}},
        {{"info", "--bogus", "@a.ct"}, 2, {"--bogus"}},
        {{"info", "--key", CK, "@a.ct"}, 2, {"info", "--key"}},
        {{"bench", "--threads", "0"}, 2, {"--threads", "0"}},
        {{"info", "@a.ct", "@b.ct"}, 2, {"@b.ct"}},
    };
#undef CK
#undef SK
#undef NOKEY
    static const char v9[] = "AFHE\x09";
    char out[64];
    FILE *f;

    (void)state;
    assert_int_equal(enc("u8", "7", "a.ct"), 0);
    assert_int_equal(enc("u16", "7", "b.ct"), 0);
    assert_int_equal(enc("bool", "1", "t.ct"), 0);
    assert_int_equal(enc("bool", "1", "deg3.ct"), 0);
    /* the first block's u32 degree follows the 40-byte header
     * (serial.h); 3 is a valid degree, 255 is not */
    poke(path("deg3.ct"), 40, 3);
    copy_prefix(path("deg3.ct"), path("deg255.ct"), 0);
    poke(path("deg255.ct"), 40, 255);
    assert_int_equal(RUN(out, path("o.ct"), NULL, "encrypt", "--key",
                         path("other/client.key"), "--type", "u8", "5"), 0);
    copy_prefix(path("server.key"), path("trunc.key"), 1000);
    copy_prefix(path("a.ct"), path("short.ct"), 20);
    write_file(path("junk.txt"), "hello, not a key\n");
    copy_prefix(path("a.ct"), path("v9.ct"), 0);
    f = fopen(path("v9.ct"), "r+b");
    assert_non_null(f);
    fwrite(v9, 1, 5, f);       /* format version 9 */
    fclose(f);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i]);
    /* a refused keygen wrote nothing */
    assert_int_equal(access(path("x"), F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_messages),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
