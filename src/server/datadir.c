/*
 * datadir.c - the files `start` owns outside the storage engine: the data
 * directory (created, checked, locked by <data_dir>/amaters-server.lock
 * so that no two servers, whatever their PID files, share it) and the PID
 * file (locked, PID written at once, addresses added as they are bound,
 * removed at exit). The locks are POSIX record locks (server/locks.c).
 */
#include "server/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/errors.h"
#include "obs/log.h"

/* Creates path and its missing parents (0750). On failure returns -1 with
 * errno set and, when a component exists but is not a directory, that
 * component in where (len bytes; else where is ""). */
static int mkdir_p(const char *path, char *where, size_t len)
{
    char buf[4096];
    size_t n = strlen(path);
    struct stat st;

    where[0] = '\0';
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0750) != 0 && errno != EEXIST) {
            int e = errno;
            if (e == ENOTDIR)
                snprintf(where, len, "%s", buf);
            errno = e;
            return -1;
        }
        if (stat(buf, &st) == 0 && !S_ISDIR(st.st_mode)) {
            snprintf(where, len, "%s", buf);
            errno = ENOTDIR;
            return -1;
        }
        buf[i] = saved;
    }
    return 0;
}

/* The component of where (a prefix of a failed mkdir) that is a file:
 * mkdir reports ENOTDIR for the one below it. */
static void file_component(char *where)
{
    struct stat st;

    while (where[0] != '\0' &&
           (stat(where, &st) != 0 || S_ISDIR(st.st_mode))) {
        char *slash = strrchr(where, '/');
        if (slash == NULL || slash == where) {
            where[0] = '\0';
            return;
        }
        *slash = '\0';
    }
}

int amaters_srv_prepare_data_dir(struct runtime *rt)
{
    const char *dir = rt->cfg.server.data_dir;
    char probe[4200], where[4096];
    int fd;

    if (mkdir_p(dir, where, sizeof where) != 0) {
        if (errno != ENOTDIR)
            return amaters_srv_fail("data directory %s cannot be created: "
                                    "%s", dir, strerror(errno));
        file_component(where);
        if (where[0] == '\0' || strcmp(where, dir) == 0)
            return amaters_srv_fail("data directory %s is not a directory",
                                    dir);
        return amaters_srv_fail("data directory %s cannot be created: %s "
                                "is not a directory", dir, where);
    }
    snprintf(probe, sizeof probe, "%s/.amaters-write-probe", dir);
    fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return amaters_srv_fail("data directory %s is not writable: %s", dir,
                                strerror(errno));
    close(fd);
    unlink(probe);
    if (realpath(dir, rt->data_dir) == NULL)
        snprintf(rt->data_dir, sizeof rt->data_dir, "%s", dir);
    return 0;
}

int amaters_srv_lock_data_dir(struct runtime *rt)
{
    char path[4200];
    long other = 0;
    int rc;

    if (amaters_datadir_lock_path(rt->data_dir, path, sizeof path) == NULL)
        return amaters_srv_fail("data directory %s: path too long",
                                rt->data_dir);
    rc = amaters_lock_take(path, &rt->lock_fd, &other);
    if (rc == AMATERS_EBUSY && other > 0)
        return amaters_srv_fail("data directory %s is in use by another "
                                "amaters-server (pid %ld)",
                                rt->data_dir, other);
    if (rc == AMATERS_EBUSY)
        return amaters_srv_fail("data directory %s is in use by another "
                                "amaters-server (its lock file %s is held)",
                                rt->data_dir, path);
    if (rc != 0)
        return amaters_srv_fail("data directory lock %s cannot be taken: %s",
                                path, strerror(errno));
    if (amaters_lock_write_pid(rt->lock_fd, NULL) != 0)
        return amaters_srv_fail("data directory lock %s cannot be written: "
                                "%s", path, strerror(errno));
    return 0;
}

int amaters_srv_take_pid_file(struct runtime *rt)
{
    struct stat pid_st, lock_st;
    long other = 0;
    int rc;

    amaters_config_pid_path(&rt->cfg, rt->pid_path, sizeof rt->pid_path);
    /* Not to be opened at all: a process that closes any descriptor of
     * a file loses its POSIX locks on it. */
    if (stat(rt->pid_path, &pid_st) == 0 &&
        fstat(rt->lock_fd, &lock_st) == 0 &&
        pid_st.st_dev == lock_st.st_dev && pid_st.st_ino == lock_st.st_ino)
        return amaters_srv_fail("server.pid_file %s is the data directory's "
                                "lock file; choose another path",
                                rt->pid_path);
    rc = amaters_lock_take(rt->pid_path, &rt->pid_fd, &other);
    if (rc == AMATERS_EBUSY && other > 0)
        return amaters_srv_fail("another amaters-server (pid %ld) is running "
                                "with PID file %s",
                                other, rt->pid_path);
    if (rc == AMATERS_EBUSY)
        return amaters_srv_fail("another amaters-server is running with PID "
                                "file %s (its pid is not visible from here)",
                                rt->pid_path);
    if (rc != 0)
        return amaters_srv_fail("PID file %s cannot be opened: %s",
                                rt->pid_path, strerror(errno));
    /* at once: stop and status must find a starting server */
    amaters_srv_write_pid_file(rt);
    if (other > 0 && other != (long)getpid())
        amaters_log(AMATERS_LOG_WARN, "server",
                    "stale PID file %s (pid %ld, which did not hold its "
                    "lock: a crash?) taken over",
                    rt->pid_path, other);
    return 0;
}

void amaters_srv_write_pid_file(struct runtime *rt)
{
    char rest[700] = "";
    size_t n = 0;

    if (rt->grpc_addr[0] != '\0')
        n += (size_t)snprintf(rest, sizeof rest, "grpc=%s\n", rt->grpc_addr);
    if (rt->http_addr[0] != '\0' && n < sizeof rest)
        snprintf(rest + n, sizeof rest - n, "http=%s\n", rt->http_addr);
    if (amaters_lock_write_pid(rt->pid_fd, rest) != 0)
        amaters_log(AMATERS_LOG_WARN, "server", "cannot write PID file %s: %s",
                    rt->pid_path, strerror(errno));
}

void amaters_srv_release_pid_file(struct runtime *rt)
{
    struct stat at_path, ours;

    if (rt->pid_fd < 0 || atomic_exchange(&rt->pid_removed, true))
        return;
    /* only our own file: if it was deleted and another server made a new
     * one at the same path, that one is not ours to remove */
    if (stat(rt->pid_path, &at_path) == 0 && fstat(rt->pid_fd, &ours) == 0 &&
        at_path.st_dev == ours.st_dev && at_path.st_ino == ours.st_ino)
        unlink(rt->pid_path);
    /* The descriptor, and with it the lock, stays until the process
     * exits: stop and status take the lock's release for the end of
     * the process (a server not yet reaped by its parent included). */
}

void amaters_srv_unlock_data_dir(struct runtime *rt)
{
    if (rt->lock_fd >= 0)
        close(rt->lock_fd);
    rt->lock_fd = -1;
}
