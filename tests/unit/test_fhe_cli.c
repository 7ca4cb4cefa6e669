/*
 * test_fhe_cli.c - the amaters-fhe tool end to end, run as the real
 * binary (harness: fhe_cli_fixture.h; its errors: test_fhe_cli_errors.c):
 * keygen --out (seeded), info, encrypt --type for every width (stdout),
 * eval with 2 threads for a table of operations and widths, decrypt from
 * a file and from stdin; keygen into a directory that does not exist
 * yet, its refusal to replace keys without --force, --force keeping the
 * previous pair as *.old, and the restore of the previous pair when a
 * rename fails (fault injection); VALUE syntax; chains of bool
 * operations (not of xor, and, eq); info's full check of the body, block
 * degrees and the client key note; write errors on standard output
 * (/dev/full); the terminal checks of encrypt, eval and decrypt (a
 * pseudo-terminal); --help; bench output (one name=value line per figure
 * and per operation of the chosen type, errors=0).
 */
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/file.h>
#include <time.h>

#include "fhe_cli_fixture.h"

static int group_setup(void **state)
{
    (void)state;
    return fixture_setup();
}

static int group_teardown(void **state)
{
    (void)state;
    return fixture_teardown();
}

static void test_end_to_end(void **state)
{
    /* op, type, a, b, expected (computed by hand) */
    static const struct {
        const char *op, *type, *a, *b, *want;
    } cases[] = {
        {"add", "u8", "200", "77", "21\n"},          /* 277 mod 256 */
        {"sub", "u8", "77", "200", "133\n"},         /* 77 - 200 mod 256 */
        {"lt", "u8", "77", "200", "1\n"},
        {"ge", "u8", "77", "200", "0\n"},
        {"not", "u8", "200", NULL, "55\n"},          /* ~200 & 255 */
        {"mul", "u8", "13", "21", "17\n"},           /* 273 mod 256 */
        {"max", "u16", "65535", "1", "65535\n"},
        {"eq", "u16", "4660", "4660", "1\n"},
        {"neg", "u16", "1", NULL, "65535\n"},
        {"xor", "u32", "4294967295", "305419896", "3989547399\n"},
        {"ne", "u32", "7", "7", "0\n"},
        {"add", "u64", "18446744073709551615", "2", "1\n"},
        {"and", "bool", "1", "0", "0\n"},
        {"or", "bool", "1", "0", "1\n"},
        {"not", "bool", "0", NULL, "1\n"},
        {"xor", "bool", "true", "FALSE", "1\n"},
        {"and", "bool", "True", "true", "1\n"},
    };
    char out[512];
    struct stat st;

    (void)state;
    assert_int_equal(RUN(out, NULL, NULL, "keygen", "--out", dir, "--seed",
                         "00112233445566778899aabbccddeeff"), 0);
    assert_int_equal(strlen(out), 33);          /* 32 hex digits + \n */
    assert_int_equal(stat(path("client.key"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(enc("u8", "200", "a.ct"), 0);
    assert_int_equal(RUN(out, NULL, NULL, "info", path("a.ct")), 0);
    assert_non_null(strstr(out, "type radix"));
    assert_non_null(strstr(out, "seeded yes"));
    assert_non_null(strstr(out, "bytes 168"));
    assert_non_null(strstr(out, "value u8\n"));
    assert_int_equal(enc("bool", "true", "b.ct"), 0);
    assert_int_equal(RUN(out, NULL, NULL, "info", path("b.ct")), 0);
    assert_non_null(strstr(out, "value bool\n"));
    assert_int_equal(RUN(out, NULL, NULL, "info", path("client.key")), 0);
    assert_null(strstr(out, "value "));
    assert_non_null(strstr(out, "type client-key\n"));
    assert_int_equal(RUN(out, NULL, NULL, "info", path("server.key")), 0);
    assert_non_null(strstr(out, "type server-key\n"));
    assert_non_null(strstr(out, "seeded yes\n"));       /* compressed */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
#ifdef AMATERS_SANITIZE
        if (i % 3 != 0)
            continue;          /* ~4x slower: every third case */
#endif
        assert_int_equal(enc(cases[i].type, cases[i].a, "a.ct"), 0);
        if (cases[i].b != NULL)
            assert_int_equal(enc(cases[i].type, cases[i].b, "b.ct"), 0);
        assert_int_equal(ev(cases[i].op, "a.ct",
                            cases[i].b != NULL ? "b.ct" : NULL, "c.ct"), 0);
        assert_int_equal(dec(out, sizeof(out), "c.ct", (int)(i % 2)), 0);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("%s %s %s %s: got %s", cases[i].op, cases[i].type,
                     cases[i].a, cases[i].b ? cases[i].b : "", out);
    }
    /* every width round-trips its maximum */
    assert_int_equal(enc("u64", "18446744073709551615", "d.ct"), 0);
    assert_int_equal(dec(out, sizeof(out), "d.ct", 1), 0);
    assert_string_equal(out, "18446744073709551615\n");
    assert_int_equal(enc("u32", "0xffffffff", "d.ct"), 0);
    assert_int_equal(dec(out, sizeof(out), "d.ct", 0), 0);
    assert_string_equal(out, "4294967295\n");
}

static void test_keygen_nested(void **state)
{
    char out[512];
    struct stat old, now;

    (void)state;
    /* a directory chain that does not exist yet: mkdir -p, mode 0700 */
    assert_int_equal(RUN(out, NULL, NULL, "keygen", "--out",
                         path("new/deep/k2")), 0);
    assert_int_equal(strlen(out), 33);
    assert_string_equal(err, "");
    assert_int_equal(mode_of(path("new")), 0700);
    assert_int_equal(mode_of(path("new/deep")), 0700);
    assert_int_equal(mode_of(path("new/deep/k2")), 0700);
    assert_int_equal(mode_of(path("new/deep/k2/client.key")), 0600);
    assert_int_equal(RUN(out, NULL, NULL, "info",
                         path("new/deep/k2/server.key")), 0);
    assert_non_null(strstr(out, "type server-key"));
    /* an existing directory is used as is; with --force client.key is
     * replaced (the old one kept as client.key.old) and gets mode 0600
     * back */
    assert_int_equal(mkdir(path("open"), 0755), 0);
    assert_int_equal(chmod(path("open"), 0755), 0);
    assert_int_equal(RUN(out, NULL, NULL, "keygen", "--out", path("open")),
                     0);
    assert_int_equal(chmod(path("open/client.key"), 0644), 0);
    assert_int_equal(stat(path("open/client.key"), &old), 0);
    /* a leftover temp name that is a symlink is not followed */
    assert_int_equal(symlink(path("elsewhere"), path("open/client.key.tmp")),
                     0);
    assert_int_equal(RUN(out, NULL, NULL, "keygen", "--out",
                         path("open/"), "--force"), 0);
    assert_int_equal(mode_of(path("open")), 0755);
    assert_int_equal(mode_of(path("open/client.key")), 0600);
    /* replaced by a new file, not rewritten through the old (readable)
     * one, which is kept */
    assert_int_equal(stat(path("open/client.key"), &now), 0);
    assert_true(now.st_ino != old.st_ino);
    assert_int_equal(stat(path("open/client.key.old"), &now), 0);
    assert_true(now.st_ino == old.st_ino);
    assert_int_equal(access(path("elsewhere"), F_OK), -1);
    assert_int_equal(access(path("open/client.key.tmp"), F_OK), -1);
    assert_int_equal(access(path("open/server.key.tmp"), F_OK), -1);
}

/* keygen refuses to replace keys (exit 1, nothing touched) unless
 * --force, which keeps the previous pair as *.old and then refuses to
 * overwrite that pair. The old "keys" are plain files: keygen does not
 * read them. */
/* A keygen into a directory another keygen is writing (its lock held
 * here) is refused before anything is written. */
static void test_keygen_concurrent(void **state)
{
    char out[512], want[512];
    int fd;

    (void)state;
    assert_int_equal(mkdir(path("kc"), 0700), 0);
    fd = open(path("kc"), O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    assert_int_equal(RUN(out, NULL, NULL, "keygen", "--out", path("kc")), 1);
    snprintf(want, sizeof(want), "amaters-fhe: %s: another amaters-fhe "
             "keygen is writing keys into this directory; wait for it or "
             "use another --out\n", path("kc"));
    assert_string_equal(err, want);
    assert_string_equal(out, "");
    assert_int_equal(access(path("kc/client.key"), F_OK), -1);
    assert_int_equal(access(path("kc/server.key.tmp"), F_OK), -1);
    close(fd);
    assert_int_equal(RUN(out, NULL, NULL, "keygen", "--out", path("kc")), 0);
    assert_int_equal(access(path("kc/client.key"), F_OK), 0);
    assert_int_equal(access(path("kc/server.key"), F_OK), 0);
}

static void test_keygen_replace(void **state)
{
    char out[512], buf[64], want[512], id[64];

    (void)state;
    /* the reported case: server.key is a directory */
    assert_int_equal(mkdir(path("k"), 0700), 0);
    write_file(path("k/client.key"), "old client\n");
    assert_int_equal(mkdir(path("k/server.key"), 0700), 0);
    assert_int_equal(RUN(out, NULL, NULL, "keygen", "--out", path("k")), 1);
    snprintf(want, sizeof(want), "amaters-fhe: %s exists: keygen does not "
             "replace keys (data encrypted under them could no longer be "
             "decrypted); use --force to replace them, or another --out\n",
             path("k/client.key"));
    assert_string_equal(err, want);
    assert_string_equal(out, "");
    read_file(path("k/client.key"), buf, sizeof(buf));
    assert_string_equal(buf, "old client\n");
    assert_int_equal(access(path("k/client.key.tmp"), F_OK), -1);
    assert_int_equal(access(path("k/server.key.tmp"), F_OK), -1);
    /* one key alone is refused too, and named */
    assert_int_equal(mkdir(path("k1"), 0700), 0);
    write_file(path("k1/server.key"), "old server\n");
    assert_int_equal(RUN(out, NULL, NULL, "keygen", "--out",
                         path("k1/")), 1);
    assert_non_null(strstr(err, path("k1/server.key exists")));
    assert_int_equal(access(path("k1/client.key"), F_OK), -1);
    /* --force: the previous pair is kept as *.old */
    assert_int_equal(rmdir(path("k/server.key")), 0);
    write_file(path("k/server.key"), "old server\n");
    assert_int_equal(RUN(out, NULL, NULL, "keygen", "--out", path("k"),
                         "--force"), 0);
    assert_int_equal(strlen(out), 33);
    snprintf(id, sizeof(id), "key id %.40s", out);
    snprintf(want, sizeof(want), "amaters-fhe: previous keys kept as %s "
             "and %s\n", path("k/client.key.old"), path("k/server.key.old"));
    assert_string_equal(err, want);
    read_file(path("k/client.key.old"), buf, sizeof(buf));
    assert_string_equal(buf, "old client\n");
    read_file(path("k/server.key.old"), buf, sizeof(buf));
    assert_string_equal(buf, "old server\n");
    assert_int_equal(mode_of(path("k/client.key")), 0600);
    /* the new pair is complete and matching: both carry keygen's id */
    assert_int_equal(RUN(out, NULL, NULL, "info", path("k/client.key")), 0);
    assert_non_null(strstr(out, id));
    assert_int_equal(RUN(out, NULL, NULL, "info", path("k/server.key")), 0);
    assert_non_null(strstr(out, id));
    /* a second --force would overwrite the kept pair: refused */
    assert_int_equal(RUN(out, NULL, NULL, "keygen", "--out", path("k"),
                         "--force"), 1);
    assert_non_null(strstr(err, path("k/client.key.old exists")));
    assert_non_null(strstr(err, "move the .old files away first"));
    read_file(path("k/client.key.old"), buf, sizeof(buf));
    assert_string_equal(buf, "old client\n");
}

/* A rename of keygen fails (AMATERS_FHE_TEST_FAIL_RENAME=N fails the
 * Nth one; with two keys present they are: client and server to *.old,
 * then the new client and server into place): the directory is put back
 * as it was, a matching pair, with no *.old or temp file left. */
static void test_keygen_restore(void **state)
{
    static const struct {
        const char *dir, *fail;
        int had_keys;
    } cases[] = {
        {"r2", "2", 1},     /* after the client key went to .old */
        {"r4", "4", 1},     /* after the new client key went in */
        {"r0", "2", 0},     /* no previous keys: the new client key is
                             * dropped when the server key cannot follow */
    };
    char out[512], buf[64], p[96];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *d = cases[i].dir;
        static const char *const names[] = {
            "client.key", "server.key", "client.key.old", "server.key.old",
            "client.key.tmp", "server.key.tmp"};

        assert_int_equal(mkdir(path(d), 0700), 0);
        if (cases[i].had_keys) {
            snprintf(p, sizeof(p), "%s/client.key", d);
            write_file(path(p), "old client\n");
            snprintf(p, sizeof(p), "%s/server.key", d);
            write_file(path(p), "old server\n");
        }
        assert_int_equal(setenv("AMATERS_FHE_TEST_FAIL_RENAME",
                                cases[i].fail, 1), 0);
        assert_int_equal(RUN(out, NULL, NULL, "keygen", "--out", path(d),
                             "--force"), 1);
        assert_int_equal(unsetenv("AMATERS_FHE_TEST_FAIL_RENAME"), 0);
        assert_int_equal(count(err, "amaters-fhe: "), 1);
        assert_non_null(strstr(err, "cannot rename "));
        snprintf(p, sizeof(p), "; %s was left as it was\n", path(d));
        assert_non_null(strstr(err, p));
        assert_string_equal(out, "");
        for (size_t j = cases[i].had_keys ? 2 : 0; j < 6; j++) {
            snprintf(p, sizeof(p), "%s/%s", d, names[j]);
            if (access(path(p), F_OK) == 0)
                fail_msg("fail at %s: %s left", cases[i].fail, p);
        }
        if (!cases[i].had_keys)
            continue;
        snprintf(p, sizeof(p), "%s/client.key", d);
        read_file(path(p), buf, sizeof(buf));
        assert_string_equal(buf, "old client\n");
        snprintf(p, sizeof(p), "%s/server.key", d);
        read_file(path(p), buf, sizeof(buf));
        assert_string_equal(buf, "old server\n");
    }
}

/* VALUE: decimal digits, or 0x and hex digits, nothing else; a bool is
 * exactly 0, 1, true or false (any case). Refusals are usage errors that
 * quote the value. */
static void test_values(void **state)
{
    static const struct {
        const char *type, *value;
        int status;
        const char *want;       /* decrypted value, or a word of stderr */
    } cases[] = {
        {"u64", "0xFFFFFFFFFFFFFFFB", 0, "18446744073709551611\n"},
        {"u64", "0x0000000000000000ffffffffffffffff", 0,
         "18446744073709551615\n"},
        {"u16", "0X00fF", 0, "255\n"},
        {"u8", "007", 0, "7\n"},                /* not octal */
        {"bool", "TRUE", 0, "1\n"},
        {"bool", "False", 0, "0\n"},
        {"bool", "0", 0, "0\n"},
        {"bool", "1", 0, "1\n"},
        {"u64", "0x-5", 2, "not a number"},
        {"u64", "0x+5", 2, "not a number"},
        {"u64", "0x 5", 2, "not a number"},
        {"u64", "0x0x5", 2, "not a number"},
        {"u64", "0x", 2, "not a number"},
        {"u64", "0xg", 2, "not a number"},
        {"u64", "-0x5", 2, "not a number"},
        {"u32", "0x5 ", 2, "not a number"},
        {"u64", " 5", 2, "not a number"},
        {"u64", "+5", 2, "not a number"},
        {"u64", "5 ", 2, "not a number"},
        {"u64", "", 2, "not a number"},
        {"u64", "1e3", 2, "not a number"},
        {"u64", "0x10000000000000000", 2, "does not fit u64"},
        {"u64", "18446744073709551616", 2, "does not fit u64"},
        {"u8", "0x100", 2, "does not fit u8 (0..255)"},
        {"u8", "-1", 2, "does not fit u8"},
        {"bool", "0x1", 2, "not a bool (0, 1, true or false)"},
        {"bool", "01", 2, "not a bool"},
        {"bool", "00", 2, "not a bool"},
        {"bool", "2", 2, "not a bool"},
        {"bool", "tru", 2, "not a bool"},
        {"bool", " 1", 2, "not a bool"},
        {"bool", "", 2, "not a bool"},
    };
    char out[512], quoted[64];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int st = enc(cases[i].type, cases[i].value, "v.ct");

        if (st != cases[i].status)
            fail_msg("%s '%s': exit %d, want %d; stderr: %s", cases[i].type,
                     cases[i].value, st, cases[i].status, err);
        if (st == 0) {
            assert_int_equal(dec(out, sizeof(out), "v.ct", 0), 0);
            if (strcmp(out, cases[i].want) != 0)
                fail_msg("%s '%s': decrypts to %s", cases[i].type,
                         cases[i].value, out);
            continue;
        }
        snprintf(quoted, sizeof(quoted), "value '%s' ", cases[i].value);
        if (strstr(err, quoted) == NULL || strstr(err, cases[i].want) == NULL)
            fail_msg("%s '%s': stderr lacks \"%s\" or \"%s\": %s",
                     cases[i].type, cases[i].value, quoted, cases[i].want,
                     err);
        assert_int_equal(read_file(path("v.ct"), out, sizeof(out)), 0);
    }
}

/* The result of a bool operation is a clean bool that not accepts:
 * not(xor(a, b)) for every pair, not(and), not(eq). */
static void test_bool_chains(void **state)
{
    static const struct {
        const char *op, *a, *b, *want;     /* want: not(a op b) */
    } cases[] = {
        {"xor", "0", "0", "1\n"}, {"xor", "0", "1", "0\n"},
        {"xor", "1", "0", "0\n"}, {"xor", "1", "1", "1\n"},
        {"and", "1", "1", "0\n"}, {"eq", "1", "0", "1\n"},
    };
    char out[512];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(enc("bool", cases[i].a, "p.ct"), 0);
        assert_int_equal(enc("bool", cases[i].b, "q.ct"), 0);
        assert_int_equal(ev(cases[i].op, "p.ct", "q.ct", "r.ct"), 0);
        if (i == 1) {          /* a bool's bound, as info shows it */
            assert_int_equal(RUN(out, NULL, NULL, "info", path("r.ct")), 0);
            assert_non_null(strstr(out, "\ndegrees 1\n"));
        }
        if (ev("not", "r.ct", NULL, "n.ct") != 0)
            fail_msg("not(%s %s %s) failed: %s", cases[i].a, cases[i].op,
                     cases[i].b, err);
        assert_int_equal(dec(out, sizeof(out), "n.ct", 0), 0);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("not(%s %s %s): got %s", cases[i].a, cases[i].op,
                     cases[i].b, out);
    }
}

/* XORs mask into byte `at` of file p. */
static void poke_xor(const char *p, long at, unsigned char mask)
{
    FILE *f = fopen(p, "rb");
    int c;

    assert_non_null(f);
    assert_int_equal(fseek(f, at, SEEK_SET), 0);
    c = fgetc(f);
    fclose(f);
    assert_true(c >= 0);
    poke(p, at, (unsigned char)(c ^ mask));
}

/* info decodes the whole file: a body the decoders refuse is an error
 * naming the fault (layout of serial.h: a 40-byte header; a seeded block
 * is u32 degree, u32 noise level, 16-byte seed, u64 body; a client key
 * packs n = 834 LWE key bits, then 2048 GLWE bits). */
static void test_info_checks_body(void **state)
{
    static const struct {
        const char *file, *from;
        long at;
        unsigned char mask;
        const char *want;
    } bad[] = {
        {"deg.ct", "u8.ct", 40, 0xfc,                    /* 3 -> 255 */
         "deg.ct: malformed ciphertext (block 0: degree 255, at most 15)\n"},
        {"noise.ct", "u8.ct", 40 + 32 + 4, 0x08,         /* 1 -> 9 */
         "noise.ct: malformed ciphertext (block 1: noise level 9, at most "
         "5)\n"},
        /* bits 2..7 of the 105th key byte are padding (834 = 8*104 + 2) */
        {"pad.key", "client.key", 40 + 104, 0x80,
         "pad.key: malformed client key (padding bits not zero)\n"},
        {"body.key", "server.key", 100000, 0x01,
         "body.key: malformed server key (its contents do not match its "
         "key id)\n"},
    };
    char out[512], want[256];

    (void)state;
    assert_int_equal(enc("u8", "200", "u8.ct"), 0);
    assert_int_equal(RUN(out, NULL, NULL, "info", path("u8.ct")), 0);
    assert_non_null(strstr(out, "\nvalue u8\ndegrees 3 3 3 3\n"));
    assert_null(strstr(out, "secret"));
    assert_int_equal(enc("bool", "true", "b.ct"), 0);
    assert_int_equal(RUN(out, NULL, NULL, "info", path("b.ct")), 0);
    assert_non_null(strstr(out, "\nvalue bool\ndegrees 1\n"));
    assert_int_equal(RUN(out, NULL, NULL, "info", path("client.key")), 0);
    assert_non_null(strstr(out, "\nsecret yes (keep this file private)\n"));
    assert_null(strstr(out, "degrees"));
    assert_int_equal(RUN(out, NULL, NULL, "info", path("server.key")), 0);
    assert_null(strstr(out, "secret"));
    assert_null(strstr(out, "degrees"));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        copy_prefix(path(bad[i].from), path(bad[i].file), 0);
        poke_xor(path(bad[i].file), bad[i].at, bad[i].mask);
        if (RUN(out, NULL, NULL, "info", path(bad[i].file)) != 1)
            fail_msg("info %s: not refused: %s", bad[i].file, out);
        assert_string_equal(out, "");
        snprintf(want, sizeof(want), "amaters-fhe: %s/%s", dir,
                 bad[i].want);
        assert_string_equal(err, want);
    }
}

/* A failed write on standard output (a full device) is an error, for
 * the printf output of decrypt, info and --help too. */
static void test_stdout_full(void **state)
{
    const char *const cases[][7] = {
        {"decrypt", "--key", path("client.key"), path("u8.ct")},
        {"info", path("u8.ct")},
        {"--help"},
        {"encrypt", "--key", path("client.key"), "--type", "u8", "1"},
    };
    char out[64];

    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(runv(out, sizeof(out), "/dev/full", NULL,
                              cases[i]), 1);
        if (strcmp(err, "amaters-fhe: cannot write standard output: No "
                   "space left on device\n") != 0)
            fail_msg("%s > /dev/full: stderr %s", cases[i][0], err);
    }
}

/* Runs the tool with a pseudo-terminal as its fd tty_fd (0 or 1; the
 * other one is /dev/null) and stderr in err; what it writes to the
 * terminal lands in out. Returns the exit status; -1 if it did not exit
 * within 60 s (then it is killed: a tool waiting on the terminal). */
static int run_tty(int tty_fd, char *out, size_t cap,
                   const char *const *args)
{
    const char *argv[16] = {tool};
    struct timespec t0, now;
    int master, slave, status = -1;
    size_t got = 0;
    pid_t pid;

    for (size_t n = 0; args[n] != NULL && n < 14; n++)
        argv[n + 1] = args[n];
    if (openpty(&master, &slave, NULL, NULL, NULL) != 0)
        return -2;
    pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        int efd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        if (null < 0 || efd < 0)
            _exit(126);
        dup2(null, 0);
        dup2(null, 1);
        dup2(slave, tty_fd);
        dup2(efd, 2);
        close(master);
        close(slave);
        execv(tool, (char *const *)argv);
        _exit(127);
    }
    close(slave);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd pf = {master, POLLIN, 0};
        pid_t w = waitpid(pid, &status, WNOHANG);

        if (w == pid || w < 0)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > 60) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            status = -1;
            break;
        }
        /* the child's output, so that it never blocks on a full pty */
        if (poll(&pf, 1, 20) > 0 && (pf.revents & POLLIN) != 0) {
            ssize_t r = read(master, out + got, cap - 1 - got);

            got += r > 0 ? (size_t)r : 0;
        }
    }
    for (ssize_t r = 1; r > 0 && got < cap - 1; got += (size_t)r) {
        struct pollfd pf = {master, POLLIN, 0};

        r = poll(&pf, 1, 0) > 0 && (pf.revents & POLLIN) != 0
                ? read(master, out + got, cap - 1 - got)
                : 0;
        r = r < 0 ? 0 : r;
    }
    out[got] = '\0';
    close(master);
    read_file(err_path, err, sizeof(err));
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* encrypt and eval do not write a ciphertext to a terminal; decrypt
 * does not wait for one on a terminal (but prints to one). */
static void test_terminal(void **state)
{
    static const char no_tty[] = "amaters-fhe: standard output is a "
        "terminal: redirect the ciphertext to a file (e.g. > x.ct)\n";
    const char *const enc_args[] = {"encrypt", "--key", path("client.key"),
                                    "--type", "u8", "1", NULL};
    const char *const ev_args[] = {"eval", "--key", path("server.key"),
                                   "not", path("b.ct"), NULL};
    const char *const dec_stdin[] = {"decrypt", "--key", path("client.key"),
                                     NULL};
    const char *const dec_file[] = {"decrypt", "--key", path("client.key"),
                                    path("u8.ct"), NULL};
    char out[4096];

    (void)state;
    if (run_tty(1, out, sizeof(out), dec_file) == -2)
        skip();                         /* no pseudo-terminals here */
    assert_non_null(strstr(out, "200"));
    assert_string_equal(err, "");
    assert_int_equal(run_tty(1, out, sizeof(out), enc_args), 1);
    assert_string_equal(err, no_tty);
    assert_string_equal(out, "");
    assert_int_equal(run_tty(1, out, sizeof(out), ev_args), 1);
    assert_string_equal(err, no_tty);
    assert_string_equal(out, "");
    assert_int_equal(run_tty(0, out, sizeof(out), dec_stdin), 1);
    assert_string_equal(err, "amaters-fhe: no ciphertext: give CT_FILE or "
                        "pipe one into standard input\n");
}

static void test_help(void **state)
{
    static const char *const forms[][3] = {
        {"--help"}, {"help"}, {"-h"}, {"encrypt", "--help"},
    };
    char out[4096];

    (void)state;
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        int st = runv(out, sizeof(out), NULL, NULL, forms[i]);

        assert_int_equal(st, 0);
        assert_non_null(strstr(out, "usage:"));
        assert_non_null(strstr(out, "keygen --out DIR"));
        assert_non_null(strstr(out, "decrypt"));
        assert_string_equal(err, "");
    }
    /* --help anywhere after a verb wins over other arguments */
    assert_int_equal(RUN(out, NULL, NULL, "eval", "--key", "k", "--help"),
                     0);
    assert_non_null(strstr(out, "usage:"));
    /* usage errors do not print the usage block */
    assert_int_equal(RUN(out, NULL, NULL, "nosuchverb"), 2);
    assert_null(strstr(err, "usage:"));
    assert_string_equal(out, "");
}

/* Value of the line "name=<number>" in out, or -1 when absent. */
static double bench_value(const char *out, const char *name)
{
    char key[64];
    const char *at;

    snprintf(key, sizeof(key), "\n%s=", name);
    at = strstr(out, key);
    if (at == NULL)
        return -1;
    return strtod(at + strlen(key), NULL);
}

/* bench prints one name=value line per figure: the KS-PBS split and
 * <op>_<type>_ms for every operation of the type, then errors=0. */
static void test_bench(void **state)
{
    static const char *const bool_ops[] = {"and", "or", "xor", "not"};
    char out[4096], name[64];

    (void)state;
    assert_int_equal(RUN(out, NULL, NULL, "bench", "--type", "bool"), 0);
    assert_true(bench_value(out, "ks_pbs_ms") > 0);
    assert_true(bench_value(out, "pbs_ms") > 0);
    assert_true(bench_value(out, "ks_pbs_ms") >=
                bench_value(out, "pbs_ms"));
    assert_true(bench_value(out, "fft_pair_us") > 0);
    assert_non_null(strstr(out, "\nerrors=0\n"));
    for (size_t i = 0; i < 4; i++) {
        snprintf(name, sizeof(name), "%s_bool_ms", bool_ops[i]);
        if (bench_value(out, name) < 0)
            fail_msg("bench --type bool: no %s line in:\n%s", name, out);
    }
    assert_true(bench_value(out, "add_u8_ms") < 0);   /* only --type */
#ifndef AMATERS_SANITIZE
    static const char *const int_ops[] = {
        "add", "sub", "neg", "scalar_add", "scalar_sub", "scalar_mul",
        "mul", "eq", "ne", "lt", "le", "gt", "ge", "select", "and", "or",
        "xor", "not", "min", "max"};

    assert_int_equal(RUN(out, NULL, NULL, "bench", "--type", "u8",
                         "--threads", "2"), 0);
    assert_non_null(strstr(out, "\nthreads=2\n"));
    assert_non_null(strstr(out, "\nerrors=0\n"));
    for (size_t i = 0; i < sizeof(int_ops) / sizeof(int_ops[0]); i++) {
        snprintf(name, sizeof(name), "%s_u8_ms", int_ops[i]);
        if (bench_value(out, name) < 0)
            fail_msg("bench --type u8: no %s line in:\n%s", name, out);
    }
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_end_to_end),
        cmocka_unit_test(test_keygen_nested),
        cmocka_unit_test(test_keygen_replace),
        cmocka_unit_test(test_keygen_concurrent),
        cmocka_unit_test(test_keygen_restore),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_bool_chains),
        cmocka_unit_test(test_info_checks_body),
        cmocka_unit_test(test_stdout_full),
        cmocka_unit_test(test_terminal),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_bench),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
