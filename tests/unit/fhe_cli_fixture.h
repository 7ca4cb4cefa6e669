/*
 * fhe_cli_fixture.h - shared harness of test_fhe_cli and
 * test_fhe_cli_errors, which run the real amaters-fhe binary (found next
 * to the test executable): a temporary directory per test program
 * (path("x") names files in it), runv / RUN to run the tool with stdout
 * captured or sent to a file, stdin from a file and stderr captured in
 * err, and helpers to encrypt, decrypt and evaluate with the keys in
 * the directory. Included by exactly one .c file per test program; every
 * function is static inline so that each program uses what it needs.
 * Single-threaded (cmocka's main thread).
 */
#ifndef AMATERS_TEST_FHE_CLI_FIXTURE_H
#define AMATERS_TEST_FHE_CLI_FIXTURE_H

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

/* "<dir>/<name>" in one of 8 rotating static buffers. */
static inline char *path(const char *name)
{
    static char buf[8][256];
    static int i;

    i = (i + 1) % 8;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
    return buf[i];
}

/* Reads at most cap - 1 bytes of file p into buf (NUL-terminated);
 * returns the number of bytes read. */
static inline size_t read_file(const char *p, char *buf, size_t cap)
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

/* Writes the string s to file p (replacing it). */
static inline void write_file(const char *p, const char *s)
{
    FILE *f = fopen(p, "wb");

    assert_non_null(f);
    assert_int_equal(fputs(s, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Runs the tool with the NULL-terminated args. stdout goes to the file
 * to_file when given, else its first cap - 1 bytes to out; stdin comes
 * from from_file when given; stderr ends up in err. Returns the exit
 * status, -1 if it did not exit normally. */
static inline int runv(char *out, size_t cap, const char *to_file,
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

/* Finds the tool and makes the temporary directory. */
static inline int fixture_setup(void)
{
    char self[2048];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash;

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

static inline int remove_cb(const char *p, const struct stat *st, int flag,
                            struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* Removes the temporary directory and everything in it. */
static inline int fixture_teardown(void)
{
    return nftw(dir, remove_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* encrypt VALUE of TYPE into file ct; returns the exit status */
static inline int enc(const char *type, const char *value, const char *ct)
{
    char out[64];

    return RUN(out, path(ct), NULL, "encrypt", "--key", path("client.key"),
               "--type", type, value);
}

/* decrypt ct (from a file argument, or stdin when via_stdin) into out */
static inline int dec(char *out, size_t cap, const char *ct, int via_stdin)
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
static inline int ev(const char *op, const char *a, const char *b,
                     const char *res)
{
    char out[64];

    if (b == NULL)
        return RUN(out, path(res), NULL, "eval", "--key", path("server.key"),
                   "--threads", "2", op, path(a));
    return RUN(out, path(res), NULL, "eval", "--key", path("server.key"),
               "--threads", "2", op, path(a), path(b));
}

/* Copies the first n bytes of file from into file to (n 0: all). */
static inline void copy_prefix(const char *from, const char *to, size_t n)
{
    static char buf[1 << 16];
    FILE *f = fopen(from, "rb"), *t = fopen(to, "wb");
    size_t got, left = n;

    assert_non_null(f);
    assert_non_null(t);
    do {
        size_t want = n == 0 || left > sizeof(buf) ? sizeof(buf) : left;

        got = fread(buf, 1, want, f);
        assert_int_equal(fwrite(buf, 1, got, t), got);
        left -= n == 0 ? 0 : got;
    } while (got > 0 && (n == 0 || left > 0));
    fclose(f);
    assert_int_equal(fclose(t), 0);
}

/* Sets byte `at` of file p to b. */
static inline void poke(const char *p, long at, unsigned char b)
{
    FILE *f = fopen(p, "r+b");

    assert_non_null(f);
    assert_int_equal(fseek(f, at, SEEK_SET), 0);
    assert_int_equal(fputc(b, f), b);
    assert_int_equal(fclose(f), 0);
}

/* Occurrences of needle in hay. */
static inline size_t count(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(hay, needle); p != NULL;
         p = strstr(p + 1, needle))
        n++;
    return n;
}

static inline mode_t mode_of(const char *p)
{
    struct stat st;

    assert_int_equal(stat(p, &st), 0);
    return st.st_mode & 07777;
}

#endif
