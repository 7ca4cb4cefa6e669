/*
 * log_sink.c - where log lines go: stderr (default), stdout or a file with
 * size-based rotation (file -> file.1 -> ... -> file.N, the oldest
 * dropped). One mutex serialises writes, so each line reaches the kernel
 * with a single write() and rotation never races a write. Errors are
 * counted and never stop the process; if a rotated file cannot be reopened
 * the lines go to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/errors.h"
#include "obs/log_internal.h"

/* The output. Guarded by sink_mu. */
struct sink {
    int fd;
    bool owns_fd; /* fd is our file (closed on switch) */
    bool rotate;
    uint64_t max_size;
    unsigned max_backups;
    uint64_t size; /* bytes in the current file */
    char path[PATH_MAX];
};

static pthread_mutex_t sink_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sink g_sink = {.fd = STDERR_FILENO};
static atomic_uint_fast64_t g_errors;

static int open_file(const char *path, uint64_t *size)
{
    struct stat st;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

    if (fd < 0)
        return -1;
    *size = 0;
    if (fstat(fd, &st) == 0)
        *size = (uint64_t)st.st_size;
    return fd;
}

int obs_log_sink_open(const char *path, bool rotate, uint64_t max_size,
                      unsigned max_backups, char *err, size_t errlen)
{
    struct sink next = {.fd = STDOUT_FILENO};
    int old_fd = -1;

    if (path != NULL) {
        if (strlen(path) + 16 >= sizeof next.path) {
            if (err != NULL && errlen > 0)
                snprintf(err, errlen, "log file path too long");
            return AMATERS_EINVAL;
        }
        next.fd = open_file(path, &next.size);
        if (next.fd < 0) {
            if (err != NULL && errlen > 0)
                snprintf(err, errlen, "open log file %s: %s", path,
                         strerror(errno));
            return AMATERS_EIO;
        }
        next.owns_fd = true;
        next.rotate = rotate;
        next.max_size = max_size;
        next.max_backups = max_backups;
        snprintf(next.path, sizeof next.path, "%s", path);
    }
    pthread_mutex_lock(&sink_mu);
    if (g_sink.owns_fd)
        old_fd = g_sink.fd;
    g_sink = next;
    pthread_mutex_unlock(&sink_mu);
    if (old_fd >= 0)
        close(old_fd);
    return 0;
}

void obs_log_sink_reset(void)
{
    int old_fd = -1;

    pthread_mutex_lock(&sink_mu);
    if (g_sink.owns_fd)
        old_fd = g_sink.fd;
    memset(&g_sink, 0, sizeof g_sink);
    g_sink.fd = STDERR_FILENO;
    pthread_mutex_unlock(&sink_mu);
    if (old_fd >= 0)
        close(old_fd);
    atomic_store(&g_errors, 0);
}

void obs_log_sink_count_error(void)
{
    atomic_fetch_add(&g_errors, 1);
}

uint64_t obs_log_sink_errors(void)
{
    return (uint64_t)atomic_load(&g_errors);
}

/* Renames path.(i) to path.(i+1) for i = n-1 .. 1, then path to path.1;
 * with no backups the file is simply removed. Returns 0 or -1 (errno). */
static int shift_backups(const char *path, unsigned n)
{
    char from[PATH_MAX + 16];
    char to[PATH_MAX + 16];

    if (n == 0)
        return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    for (unsigned i = n - 1; i >= 1; i--) {
        snprintf(from, sizeof from, "%s.%u", path, i);
        snprintf(to, sizeof to, "%s.%u", path, i + 1);
        if (rename(from, to) != 0 && errno != ENOENT)
            return -1;
    }
    snprintf(to, sizeof to, "%s.1", path);
    return rename(path, to);
}

/* Closes the current file, shifts the backups and opens a fresh file.
 * Called with sink_mu held. On failure lines go to stderr from now on. */
static void rotate_locked(void)
{
    int rv;

    close(g_sink.fd);
    rv = shift_backups(g_sink.path, g_sink.max_backups);
    g_sink.fd = open_file(g_sink.path, &g_sink.size);
    if (rv != 0)
        atomic_fetch_add(&g_errors, 1);
    if (g_sink.fd < 0) {
        atomic_fetch_add(&g_errors, 1);
        g_sink.fd = STDERR_FILENO;
        g_sink.owns_fd = false;
        g_sink.rotate = false;
    }
}

void obs_log_sink_write(const char *line, size_t len)
{
    size_t done = 0;

    pthread_mutex_lock(&sink_mu);
    if (g_sink.owns_fd && g_sink.rotate && g_sink.size > 0
        && g_sink.size + len > g_sink.max_size)
        rotate_locked();
    while (done < len) {
        ssize_t n = write(g_sink.fd, line + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            atomic_fetch_add(&g_errors, 1);
            break;
        }
        done += (size_t)n;
    }
    g_sink.size += done;
    pthread_mutex_unlock(&sink_mu);
}
