/*
 * test_fhe_cli.c - the amaters-fhe tool end to end: keygen --out (seeded),
 * info, encrypt --type for every width (stdout), eval with 2 threads for
 * a table of operations and widths, decrypt from a file and from stdin,
 * and its errors: exit status 2 for usage errors (unknown command,
 * option, operation or type, wrong arity, value out of range, bad
 * --threads) and 1 for runtime errors (missing or malformed files, wrong
 * key kind, mixed widths, ciphertext of another key), each with one
 * specific message on stderr; keygen into a directory that does not
 * exist yet; --help; bench output (one name=value line per figure and
 * per operation of the chosen type, errors=0). The binary is found next
 * to this test executable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <ftw.h>
#include <unistd.h>
#include <cmocka.h>


static char tool[4096];
static char dir[64];
static char err[4096];         /* stderr of the last run */
static char err_path[128];     /* file the child's stderr goes to */

static char *path(const char *name)
{
    static char buf[8][128];
    static int i;

    i = (i + 1) % 8;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
    return buf[i];
}

/* Reads at most cap - 1 bytes of file p into buf (NUL-terminated);
 * returns the number of bytes read. */
static size_t read_file(const char *p, char *buf, size_t cap)
{
    FILE *f = fopen(p, "rb");
    size_t n = 0;

    if (f != NULL) {
        n = fread(buf, 1, cap - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    return n;
}

/* Runs the tool with the NULL-terminated args. stdout goes to the file
 * to_file when given, else its first cap - 1 bytes to out; stdin comes
 * from from_file when given; stderr ends up in err. Returns the exit
 * status, -1 if it did not exit normally. */
static int runv(char *out, size_t cap, const char *to_file,
                const char *from_file, const char *const *args)
{
    const char *argv[16] = {tool};
    int fds[2], status = 0;
    size_t got = 0, n = 1;
    pid_t pid;

    while (args[n - 1] != NULL && n < 15) {
        argv[n] = args[n - 1];
        n++;
    }
    argv[n] = NULL;
    if (pipe(fds) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        int fd = to_file != NULL ? open(to_file, O_WRONLY | O_CREAT |
                                                 O_TRUNC, 0644)
                                 : fds[1];
        int in = from_file != NULL ? open(from_file, O_RDONLY) : 0;
        int efd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        if (fd < 0 || in < 0 || efd < 0)
            _exit(126);
        dup2(fd, 1);
        dup2(in, 0);
        dup2(efd, 2);
        close(fds[0]);
        close(fds[1]);
        execv(tool, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        ssize_t r = read(fds[0], out + got, cap - 1 - got);

        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == cap - 1)
            break;
    }
    out[got] = '\0';
    close(fds[0]);
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    read_file(err_path, err, sizeof(err));
    return WEXITSTATUS(status);
}

#define RUN(out, to, from, ...)                                              \
    runv(out, sizeof(out), to, from, (const char *const[]){__VA_ARGS__, NULL})


static int group_setup(void **state)
{
    char self[2048];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash;

    (void)state;
    if (n <= 0)
        return -1;
    self[n] = '\0';
    slash = strrchr(self, '/');
    if (slash == NULL)
        return -1;
    *slash = '\0';
    snprintf(tool, sizeof(tool), "%s/amaters-fhe", self);
    snprintf(dir, sizeof(dir), "/tmp/amaters-fhe-cli-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(err_path, sizeof(err_path), "%s/stderr.txt", dir);
    return 0;
}

static int remove_cb(const char *p, const struct stat *st, int flag,
                     struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int group_teardown(void **state)
{
    (void)state;
    return nftw(dir, remove_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* encrypt VALUE of TYPE into file ct; returns the exit status */
static int enc(const char *type, const char *value, const char *ct)
{
    char out[64];

    return RUN(out, path(ct), NULL, "encrypt", "--key", path("client.key"),
               "--type", type, value);
}

/* decrypt ct (from a file argument, or stdin when via_stdin) into out */
static int dec(char *out, size_t cap, const char *ct, int via_stdin)
{
    if (via_stdin)
        return runv(out, cap, NULL, path(ct),
                    (const char *const[]){"decrypt", "--key",
                                          path("client.key"), NULL});
    return runv(out, cap, NULL, NULL,
                (const char *const[]){"decrypt", "--key", path("client.key"),
                                      path(ct), NULL});
}

/* eval OP on a (and b) into file res, with 2 threads */
static int ev(const char *op, const char *a, const char *b, const char *res)
{
    char out[64];

    if (b == NULL)
        return RUN(out, path(res), NULL, "eval", "--key", path("server.key"),
                   "--threads", "2", op, path(a));
    return RUN(out, path(res), NULL, "eval", "--key", path("server.key"),
               "--threads", "2", op, path(a), path(b));
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
    assert_int_equal(mkdir(path("other"), 0700), 0);
    assert_int_equal(RUN(out, NULL, NULL, "keygen", "--out", path("other")),
                     0);
    assert_int_equal(RUN(out, path("o.ct"), NULL, "encrypt", "--key",
                         path("other/client.key"), "--type", "u8", "5"), 0);
    assert_int_equal(ev("add", "a.ct", "o.ct", "c.ct"), 1);
}

/* Copies the first n bytes of file from into file to (n 0: all). */
static void copy_prefix(const char *from, const char *to, size_t n)
{
    static char buf[1 << 16];
    FILE *f = fopen(from, "rb"), *t = fopen(to, "wb");
    size_t got;

    assert_non_null(f);
    assert_non_null(t);
    got = fread(buf, 1, n == 0 || n > sizeof(buf) ? sizeof(buf) : n, f);
    assert_int_equal(fwrite(buf, 1, got, t), got);
    fclose(f);
    fclose(t);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(hay, needle); p != NULL;
         p = strstr(p + 1, needle))
        n++;
    return n;
}

static mode_t mode_of(const char *p)
{
    struct stat st;

    assert_int_equal(stat(p, &st), 0);
    return st.st_mode & 07777;
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
    /* an existing directory is used as is; client.key is overwritten and
     * gets mode 0600 back */
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
                         path("open/")), 0);
    assert_int_equal(mode_of(path("open")), 0755);
    assert_int_equal(mode_of(path("open/client.key")), 0600);
    /* replaced by a new file, not rewritten through the old (readable)
     * one */
    assert_int_equal(stat(path("open/client.key"), &now), 0);
    assert_true(now.st_ino != old.st_ino);
    assert_int_equal(access(path("elsewhere"), F_OK), -1);
    assert_int_equal(access(path("open/client.key.tmp"), F_OK), -1);
    assert_int_equal(access(path("open/server.key.tmp"), F_OK), -1);
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
         {"300", "does not fit", "u8", "0..255"}},
        {{"encrypt", "--key", CK, "--type", "bool", "2"}, 2,
         {"2", "does not fit", "bool", "0..1"}},
        {{"encrypt", "--key", CK, "--type", "u16", "-1"}, 2,
         {"-1", "does not fit", "u16", "0..65535"}},
        {{"encrypt", "--key", CK, "--type", "u32", "12x"}, 2,
         {"12x", "not a number"}},
        {{"encrypt", "--key", CK, "--type", "bool", "yes"}, 2,
         {"yes", "not a bool", "true", "false"}},
        {{"encrypt", "--key", CK, "--type", "u8", "true"}, 2,
         {"true", "not a number", "u8"}},
        {{"encrypt", "--key", CK, "--type", "u9", "1"}, 2,
         {"u9", "bool", "u8", "u64"}},
        {{"bench", "--type", "u9"}, 2, {"u9", "u16"}},
        /* files */
        {{"decrypt", "--key", CK, "nonexist.ct"}, 1,
         {"cannot open nonexist.ct", "No such file or directory"}},
        {{"eval", "--key", "@nokey/server.key", "not", "@a.ct"}, 1,
         {"@nokey/server.key", "No such file or directory"}},
        {{"info", "@trunc.key"}, 1, {"@trunc.key", "truncated"}},
        {{"info", "@short.ct"}, 1, {"@short.ct", "truncated"}},
        {{"info", "@junk.txt"}, 1, {"@junk.txt", "not an amaters-fhe file"}},
        {{"info", "@v9.ct"}, 1, {"@v9.ct", "version 9"}},
        {{"decrypt", "--key", "@trunc.key", "@a.ct"}, 1,
         {"@trunc.key", "truncated"}},
        {{"keygen", "--out", "@a.ct"}, 1, {"@a.ct", "not a directory"}},
        /* operands */
        {{"eval", "--key", SK, "add", "@a.ct", "@b.ct"}, 1,
         {"add", "width", "@a.ct", "@b.ct"}},
        {{"eval", "--key", SK, "add", "@a.ct", "@o.ct"}, 1,
         {"@o.ct", "another key", SK}},
        {{"decrypt", "--key", CK, "@o.ct"}, 1, {"@o.ct", "another key"}},
        /* arithmetic is not defined on bools */
        {{"eval", "--key", SK, "add", "@t.ct", "@t.ct"}, 1,
         {"add", "not defined on bool", "@t.ct", "xor"}},
        {{"eval", "--key", SK, "neg", "@t.ct"}, 1,
         {"neg", "not defined on bool", "@t.ct"}},
        /* command line */
        {{"eval", "--key", SK, "pow", "@a.ct", "@b.ct"}, 2,
         {"pow", "unknown operation", "add"}},
        {{"eval", "--key", SK, "add", "@a.ct"}, 2, {"add", "2", "got 1"}},
        {{"eval", "add", "@a.ct", "@a.ct"}, 2, {"--key"}},
        {{"encrypt", "--type", "u8", "1"}, 2, {"--key"}},
        {{"keygen"}, 2, {"--out"}},
        {{"keygen", "--out"}, 2, {"--out", "value"}},
        {{"keygen", "--out", "@x", "--seed", "abc"}, 2, {"--seed", "abc"}},
        {{"nosuchverb"}, 2, {"nosuchverb", "keygen"}},
        {{"info", "--bogus", "@a.ct"}, 2, {"--bogus"}},
        {{"info", "--key", CK, "@a.ct"}, 2, {"info", "--key"}},
        {{"bench", "--threads", "0"}, 2, {"--threads", "0"}},
        {{"info", "@a.ct", "@b.ct"}, 2, {"@b.ct"}},
    };
#undef CK
#undef SK
    static const char v9[] = "AFHE\x09";
    char out[64];
    FILE *f;

    (void)state;
    assert_int_equal(enc("u8", "7", "a.ct"), 0);
    assert_int_equal(enc("u16", "7", "b.ct"), 0);
    assert_int_equal(enc("bool", "1", "t.ct"), 0);
    assert_int_equal(RUN(out, path("o.ct"), NULL, "encrypt", "--key",
                         path("new/deep/k2/client.key"), "--type", "u8",
                         "5"), 0);
    copy_prefix(path("server.key"), path("trunc.key"), 1000);
    copy_prefix(path("a.ct"), path("short.ct"), 20);
    f = fopen(path("junk.txt"), "w");
    assert_non_null(f);
    fputs("hello, not a key\n", f);
    fclose(f);
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
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_keygen_nested),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_bench),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
