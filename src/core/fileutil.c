/*
 * fileutil.c - small file-system helpers (see fileutil.h).
 */
#include "core/fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define COPY_CHUNK 65536

/* Writes all n bytes of buf to fd. Returns 0 or an errno value. */
static int write_all(int fd, const char *buf, size_t n)
{
    size_t off = 0;

    while (off < n) {
        ssize_t w = write(fd, buf + off, n - off);
        if (w > 0)
            off += (size_t)w;
        else if (w == 0)
            return ENOSPC; /* no progress: the disk is full */
        else if (errno != EINTR)
            return errno;
    }
    return 0;
}

int amaters_copy_file(const char *src, const char *dst, mode_t mode,
                      uint64_t *bytes)
{
    static _Thread_local char buf[COPY_CHUNK];
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = -1, e = 0;

    if (in < 0)
        return errno;
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (out < 0) {
        e = errno;
        close(in);
        return e;
    }
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            e = n < 0 ? errno : 0;
            break;
        }
        e = write_all(out, buf, (size_t)n);
        if (e != 0)
            break;
        if (bytes != NULL)
            *bytes += (uint64_t)n;
    }
    if (e == 0 && fsync(out) != 0)
        e = errno;
    if (close(out) != 0 && e == 0)
        e = errno;
    close(in);
    return e;
}
