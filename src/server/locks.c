/*
 * locks.c - the PID file and the data directory lock, and how stop,
 * status and repair read them.
 *
 * Both files carry a POSIX record lock (fcntl F_SETLK, write lock on
 * the whole file) for the life of the server. Whether a server is
 * running is decided by the lock, never by the PID in the file alone: a
 * PID file left by a crash (or a reboot) may name a PID that an
 * unrelated process now has, and a server that has exited but is not
 * yet reaped by its parent (a zombie) still answers kill(pid, 0). The
 * kernel releases the lock when the process ends, however it ends.
 *
 * stop and status test the lock with F_GETLK, which takes nothing (a
 * server starting at that moment cannot find the lock taken by a mere
 * observer, as it could if they tried flock(LOCK_SH) and released it)
 * and reports the holder's PID, so the PID to signal comes from the
 * kernel, not from the text of the file.
 *
 * The catch of POSIX locks: a process loses its lock on a file when it
 * closes any descriptor of that file. The server opens each of the two
 * files once and keeps that descriptor until it exits; nothing else in
 * it opens them.
 */
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/errors.h"

/* How long a reader waits for the PID line of a lock just taken. */
#define PID_LINE_WAIT_MS 1000
/* How long a second taker retries a lock that is held: covers the
 * moment in which an exiting server closes its files one by one and
 * `stop --force` removes a stale PID file. */
#define TAKE_RETRY_MS 300
#define STEP_MS 20

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int amaters_pid_parse(const char *s, size_t n, long *pid)
{
    long v = 0;

    if (n == 0 || n > 10)
        return AMATERS_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return AMATERS_EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > INT_MAX)
        return AMATERS_EINVAL;
    *pid = v;
    return 0;
}

int amaters_lock_holder(int fd, bool *held, long *pid)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

    if (fcntl(fd, F_GETLK, &fl) != 0)
        return AMATERS_EIO;
    *held = fl.l_type != F_UNLCK;
    /* 0 when the holder is in a PID namespace we cannot see */
    *pid = *held && fl.l_pid > 0 ? (long)fl.l_pid : 0;
    return 0;
}

/* Reads at most len - 1 bytes of fd from offset 0 into buf (NUL
 * terminated). Returns the byte count, or -1. */
static ssize_t read_all(int fd, char *buf, size_t len)
{
    ssize_t n = pread(fd, buf, len - 1, 0);

    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

/* Copies line 1 (without its newline) into out, cut and with
 * unprintable bytes as '?', for messages. */
static void copy_line1(const char *text, size_t n, char *out, size_t len)
{
    size_t i = 0;

    for (; i < n && i + 1 < len; i++) {
        unsigned char c = (unsigned char)text[i];
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[i] = '\0';
}

/* Fills pf from the text of the file. Returns true when line 1 is
 * complete (ends with a newline). */
static bool parse_text(const char *text, struct amaters_pidfile *pf)
{
    const char *nl = strchr(text, '\n');
    size_t n = nl ? (size_t)(nl - text) : strlen(text);
    const char *line = nl ? nl + 1 : NULL;

    pf->pid = 0;
    pf->grpc[0] = pf->http[0] = '\0';
    copy_line1(text, n, pf->line1, sizeof pf->line1);
    pf->corrupt = amaters_pid_parse(text, n, &pf->pid) != 0;
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 5 && strncmp(line, "grpc=", 5) == 0)
            snprintf(pf->grpc, sizeof pf->grpc, "%.*s", (int)len - 5,
                     line + 5);
        else if (len > 5 && strncmp(line, "http=", 5) == 0)
            snprintf(pf->http, sizeof pf->http, "%.*s", (int)len - 5,
                     line + 5);
        line = end ? end + 1 : NULL;
    }
    return nl != NULL;
}

int amaters_pidfile_inspect(const char *path, struct amaters_pidfile *pf,
                            int *fd_out)
{
    char text[1024];
    int fd, waited = 0;
    bool complete;

    memset(pf, 0, sizeof *pf);
    if (fd_out)
        *fd_out = -1;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? AMATERS_ENOTFOUND
                                                   : AMATERS_EIO;
    pf->exists = true;
    for (;;) {
        if (amaters_lock_holder(fd, &pf->locked, &pf->holder) != 0 ||
            read_all(fd, text, sizeof text) < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return AMATERS_EIO;
        }
        complete = parse_text(text, pf);
        /* a server between taking the lock and writing its PID */
        if (!pf->locked || complete || waited >= PID_LINE_WAIT_MS)
            break;
        sleep_ms(STEP_MS);
        waited += STEP_MS;
    }
    if (fd_out)
        *fd_out = fd;
    else
        close(fd);
    return 0;
}

/* Same file: the descriptor's inode is still the one at path. */
static bool same_file(int fd, const char *path)
{
    struct stat a, b;

    return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* PID on line 1 of the file open at fd, or 0. */
static long pid_in(int fd)
{
    char text[64];
    struct amaters_pidfile pf;

    if (read_all(fd, text, sizeof text) < 0)
        return 0;
    parse_text(text, &pf);
    return pf.corrupt ? 0 : pf.pid;
}

/* One attempt: 0 (locked, *fd set, *other the PID the file named
 * before), AMATERS_EBUSY (held: *other is the holder's PID or 0), 1
 * (the file was replaced under us: try again) or AMATERS_EIO (errno
 * set). */
static int take_once(const char *path, int *fd, long *other)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    int e;

    if (f < 0)
        return AMATERS_EIO;
    if (fcntl(f, F_SETLK, &fl) != 0) {
        bool held = false;
        e = errno;
        if (amaters_lock_holder(f, &held, other) != 0 || *other == 0)
            *other = pid_in(f);
        close(f);
        errno = e;
        return e == EAGAIN || e == EACCES ? AMATERS_EBUSY : AMATERS_EIO;
    }
    /* the holder we waited for may have removed the file meanwhile:
     * a lock on an unlinked inode protects nothing */
    if (!same_file(f, path)) {
        close(f);
        return 1;
    }
    *other = pid_in(f);
    *fd = f;
    return 0;
}

int amaters_lock_take(const char *path, int *fd, long *other)
{
    int rc, waited = 0;

    *fd = -1;
    *other = 0;
    for (;;) {
        rc = take_once(path, fd, other);
        if (rc == 0 || rc == AMATERS_EIO || waited >= TAKE_RETRY_MS)
            break;
        sleep_ms(STEP_MS);
        waited += STEP_MS;
    }
    return rc == 1 ? AMATERS_EBUSY : rc;
}

int amaters_lock_write_pid(int fd, const char *rest)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "%ld\n%s", (long)getpid(),
                     rest ? rest : "");

    if (n < 0 || (size_t)n >= sizeof buf)
        return AMATERS_EINVAL;
    /* written over the old text, then cut: line 1 always holds a PID */
    if (pwrite(fd, buf, (size_t)n, 0) != n || ftruncate(fd, n) != 0 ||
        fdatasync(fd) != 0)
        return AMATERS_EIO;
    return 0;
}

int amaters_lock_remove_stale(const char *path)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
    int rc = AMATERS_EBUSY;

    if (fd < 0)
        return errno == ENOENT ? 0 : AMATERS_EIO;
    if (fcntl(fd, F_SETLK, &fl) == 0 && same_file(fd, path))
        rc = unlink(path) == 0 ? 0 : AMATERS_EIO;
    close(fd); /* releases the lock */
    return rc;
}

const char *amaters_datadir_lock_path(const char *data_dir, char *buf,
                                      size_t len)
{
    int n = snprintf(buf, len, "%s/" AMATERS_DATADIR_LOCK, data_dir);

    return n >= 0 && (size_t)n < len ? buf : NULL;
}
