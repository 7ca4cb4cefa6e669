/*
 * test_fhe_cli.c - the amaters-fhe tool end to end: keygen --out (seeded),
 * info, encrypt --type for every width (stdout), eval with 2 threads for
 * a table of operations and widths, decrypt from a file and from stdin,
 * and its errors (unknown operation or type, wrong arity, value out of
 * range, mixed widths, ciphertext of another key, bad --threads).
 * The binary is found next to this test executable.
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
#include <unistd.h>
#include <cmocka.h>


static char tool[4096];
static char dir[64];

/* Runs the tool with the NULL-terminated args. stdout goes to the file
 * to_file when given, else its first cap - 1 bytes to out; stdin comes
 * from from_file when given. Returns the exit status, -1 if it did not
 * exit normally. */
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

        if (fd < 0 || in < 0)
            _exit(126);
        dup2(fd, 1);
        dup2(in, 0);
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
    return WEXITSTATUS(status);
}

#define RUN(out, to, from, ...)                                              \
    runv(out, sizeof(out), to, from, (const char *const[]){__VA_ARGS__, NULL})

static char *path(const char *name)
{
    static char buf[8][128];
    static int i;

    i = (i + 1) % 8;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
    return buf[i];
}

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
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    static const char *const files[] = {
        "client.key", "server.key", "a.ct", "b.ct", "c.ct", "d.ct",
        "other/client.key", "other/server.key", "o.ct", "other",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        remove(path(files[i]));
    return rmdir(dir);
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
    assert_int_equal(RUN(out, path("c.ct"), NULL, "eval", "--key",
                         path("server.key"), "pow", path("a.ct"),
                         path("b.ct")), 1);
    assert_int_equal(ev("add", "a.ct", NULL, "c.ct"), 1);   /* arity */
    assert_int_equal(enc("u8", "256", "c.ct"), 1);
    assert_int_equal(enc("u16", "-1", "c.ct"), 1);
    assert_int_equal(enc("u7", "1", "c.ct"), 1);
    assert_int_equal(enc("bool", "2", "c.ct"), 1);
    assert_int_equal(RUN(out, NULL, NULL, "encrypt", "--type", "u8", "1"), 1);
    assert_int_equal(RUN(out, NULL, NULL, "nosuchverb"), 1);
    assert_int_equal(RUN(out, NULL, NULL, "info", path("missing")), 1);
    assert_int_equal(RUN(out, NULL, NULL, "keygen", dir), 1);  /* no --out */
    assert_int_equal(RUN(out, NULL, NULL, "bench", "--threads", "0"), 1);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_end_to_end),
        cmocka_unit_test(test_errors),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
