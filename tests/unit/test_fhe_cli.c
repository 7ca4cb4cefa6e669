/*
 * test_fhe_cli.c - the amaters-fhe tool end to end: keygen (seeded),
 * info, encrypt, eval (add, sub, lt, ge, not), decrypt, and its errors
 * (unknown operation, value wider than BITS, ciphertext of another key).
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
#include <unistd.h>
#include <cmocka.h>


static char tool[4096];
static char dir[64];

/* Runs the tool with up to 6 arguments; stdout (first cap-1 bytes) goes
 * to out. Returns the exit status, -1 if it did not exit normally. */
static int run(char *out, size_t cap, const char *a0, const char *a1,
               const char *a2, const char *a3, const char *a4,
               const char *a5)
{
    const char *argv[8] = {tool, a0, a1, a2, a3, a4, a5, NULL};
    int fds[2], status = 0;
    size_t got = 0;
    pid_t pid;

    if (pipe(fds) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(tool, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        ssize_t n = read(fds[0], out + got, cap - 1 - got);

        if (n <= 0)
            break;
        got += (size_t)n;
        if (got == cap - 1)
            break;
    }
    out[got] = '\0';
    close(fds[0]);
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

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

static void test_end_to_end(void **state)
{
    char out[512];
    struct stat st;

    (void)state;
    assert_int_equal(run(out, sizeof(out), "keygen", dir,
                         "00112233445566778899aabbccddeeff", NULL, NULL,
                         NULL), 0);
    assert_int_equal(strlen(out), 33);          /* 32 hex digits + \n */
    assert_int_equal(stat(path("client.key"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(run(out, sizeof(out), "encrypt", path("client.key"),
                         "8", "200", path("a.ct"), NULL), 0);
    assert_int_equal(run(out, sizeof(out), "encrypt", path("client.key"),
                         "8", "77", path("b.ct"), NULL), 0);
    assert_int_equal(run(out, sizeof(out), "info", path("a.ct"), NULL, NULL,
                         NULL, NULL), 0);
    assert_non_null(strstr(out, "type radix"));
    assert_non_null(strstr(out, "seeded yes"));
    assert_non_null(strstr(out, "bytes 168"));
    assert_int_equal(run(out, sizeof(out), "eval", path("server.key"), "add",
                         path("a.ct"), path("b.ct"), path("c.ct")), 0);
    assert_int_equal(run(out, sizeof(out), "decrypt", path("client.key"),
                         path("c.ct"), NULL, NULL, NULL), 0);
    assert_string_equal(out, "21\n");          /* 277 mod 256 */
    assert_int_equal(run(out, sizeof(out), "eval", path("server.key"), "sub",
                         path("b.ct"), path("a.ct"), path("c.ct")), 0);
    assert_int_equal(run(out, sizeof(out), "decrypt", path("client.key"),
                         path("c.ct"), NULL, NULL, NULL), 0);
    assert_string_equal(out, "133\n");         /* 77 - 200 mod 256 */
    assert_int_equal(run(out, sizeof(out), "eval", path("server.key"), "lt",
                         path("b.ct"), path("a.ct"), path("d.ct")), 0);
    assert_int_equal(run(out, sizeof(out), "decrypt", path("client.key"),
                         path("d.ct"), NULL, NULL, NULL), 0);
    assert_string_equal(out, "1\n");
    assert_int_equal(run(out, sizeof(out), "eval", path("server.key"), "ge",
                         path("b.ct"), path("a.ct"), path("d.ct")), 0);
    assert_int_equal(run(out, sizeof(out), "decrypt", path("client.key"),
                         path("d.ct"), NULL, NULL, NULL), 0);
    assert_string_equal(out, "0\n");
    assert_int_equal(run(out, sizeof(out), "eval", path("server.key"), "not",
                         path("a.ct"), path("c.ct"), NULL), 0);
    assert_int_equal(run(out, sizeof(out), "decrypt", path("client.key"),
                         path("c.ct"), NULL, NULL, NULL), 0);
    assert_string_equal(out, "55\n");          /* ~200 & 255 */
}

static void test_errors(void **state)
{
    char out[512];

    (void)state;
    assert_int_equal(run(out, sizeof(out), "eval", path("server.key"), "pow",
                         path("a.ct"), path("b.ct"), path("c.ct")), 1);
    assert_int_equal(run(out, sizeof(out), "encrypt", path("client.key"),
                         "8", "256", path("c.ct"), NULL), 1);
    assert_int_equal(run(out, sizeof(out), "encrypt", path("client.key"),
                         "7", "1", path("c.ct"), NULL), 1);
    assert_int_equal(run(out, sizeof(out), "nosuchverb", NULL, NULL, NULL,
                         NULL, NULL), 1);
    assert_int_equal(run(out, sizeof(out), "info", path("missing"), NULL,
                         NULL, NULL, NULL), 1);
    /* a ciphertext under another key is refused by eval */
    assert_int_equal(mkdir(path("other"), 0700), 0);
    assert_int_equal(run(out, sizeof(out), "keygen", path("other"), NULL,
                         NULL, NULL, NULL), 0);
    assert_int_equal(run(out, sizeof(out), "encrypt",
                         path("other/client.key"), "8", "5", path("o.ct"),
                         NULL), 0);
    assert_int_equal(run(out, sizeof(out), "eval", path("server.key"), "add",
                         path("a.ct"), path("o.ct"), path("c.ct")), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_end_to_end),
        cmocka_unit_test(test_errors),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
