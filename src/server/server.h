/*
 * server.h - the amaters-server program: command line, configuration
 * assembly (defaults < file < environment < flags), and the commands
 * start / stop / status / version / validate-config / repair.
 *
 * Exit codes: 0 ok, 1 error, 2 usage error.
 */
#ifndef AMATERS_SERVER_SERVER_H
#define AMATERS_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config/config.h"
#include "storage/engine.h"

#define AMATERS_EXIT_OK 0
#define AMATERS_EXIT_ERROR 1
#define AMATERS_EXIT_USAGE 2

/* Global options shared by every command. Strings point into argv. */
struct amaters_cli {
    const char *config_path; /* -c/--config */
    const char *bind;        /* -b/--bind */
    const char *data_dir;    /* -d/--data-dir */
    const char *log_level;   /* --log-level */
    const char *command;
    /* command options */
    bool foreground, generate_config, force, verbose, show, no_backup;
    double timeout_secs; /* stop --timeout; < 0 = default */
    const char *format;  /* status --format */
};

/* Applies the global options (--bind, --data-dir, --log-level) that cli
 * carries to cfg, checked against the configuration schema. Returns 0, or
 * non-zero with the message (naming the option) in err. Main thread. */
int amaters_server_apply_flags(const struct amaters_cli *cli,
                               struct amaters_config *cfg, char *err,
                               size_t errlen);

/* Builds the effective configuration from the CLI. On failure prints the
 * error to stderr and returns non-zero. cfg is initialised either way and
 * must be freed with amaters_config_free. */
int amaters_server_load_config(const struct amaters_cli *cli,
                               struct amaters_config *cfg);

/* As amaters_server_load_config(), but the error goes into err (errlen
 * bytes; "FILE:LINE:COL: message" for a bad file) instead of stderr. */
int amaters_server_build_config(const struct amaters_cli *cli,
                                struct amaters_config *cfg, char *err,
                                size_t errlen);

/* validate-config: warns on out (one line each, naming the key) about
 * the files `start` will load (certificates, keys, CRL, CA directory,
 * JWT public key, API key and roles files) that do not exist or cannot
 * be read; `start` refuses those. Does not parse them. Returns how many
 * warnings were printed. */
int amaters_server_check_files(const struct amaters_config *cfg, FILE *out);

/* Refuses settings this build cannot honour rather than serving without
 * them (fail closed): a PID file that is also the log, audit, roles or
 * data-directory lock file, mtls without TLS, clustering, an unknown
 * engine.
 * Returns 0, or -1 with a message naming the key in why (len bytes).
 * Used by start and validate-config alike. */
int amaters_server_check_supported(const struct amaters_config *cfg,
                                   char *why, size_t len);

/* Fills *eo for the storage engine from cfg; wal_dir (wal_len bytes)
 * receives the WAL directory (storage.wal.dir, relative to the data
 * directory unless absolute) and must outlive *eo. */
void amaters_server_engine_options(const struct amaters_config *cfg,
                                   struct amaters_engine_options *eo,
                                   char *wal_dir, size_t wal_len);

/* Commands; each returns an exit code. */
int amaters_cmd_start(const struct amaters_cli *cli);
int amaters_cmd_stop(const struct amaters_cli *cli);
int amaters_cmd_status(const struct amaters_cli *cli);
/* Offline repair of a damaged lsm data directory (server/repair.c). */
int amaters_cmd_repair(const struct amaters_cli *cli);

/*
 * Locks (server/locks.c). The PID file and <data_dir>/amaters-server.lock
 * carry a POSIX write lock (fcntl F_SETLK) for the life of the server;
 * a running server is one that holds the lock.
 */
#define AMATERS_DATADIR_LOCK "amaters-server.lock"

/* What stop and status learn from a PID file. Line 1 is the PID, then
 * "grpc=ADDR" and "http=ADDR" lines give the bound addresses. */
struct amaters_pidfile {
    bool exists;    /* the file exists and could be opened */
    bool locked;    /* a process holds its lock: a server runs or starts */
    long holder;    /* the lock holder's PID (from the kernel), or 0 */
    bool corrupt;   /* line 1 is not a PID in 1..INT_MAX */
    long pid;       /* line 1; 0 when corrupt */
    char line1[48]; /* line 1 as read (cut, unprintable bytes as '?') */
    char grpc[300]; /* gRPC address, "" when not recorded (yet) */
    char http[300]; /* HTTP address, "" when not recorded (yet) */
};

/* Parses n bytes of s as a PID: decimal digits only, 1..INT_MAX (the
 * pid_t range). Returns 0 with *pid set, or AMATERS_EINVAL. */
int amaters_pid_parse(const char *s, size_t n, long *pid);

/* Reads the PID file at path into *pf and tests its lock without taking
 * it (F_GETLK). When the lock is held but line 1 is not complete (a
 * server between taking the lock and writing its PID) it reads again
 * for up to a second. With fd not NULL the open descriptor (read-only)
 * is returned in *fd for amaters_lock_holder(); the caller closes it.
 * Returns 0, AMATERS_ENOTFOUND when there is no file, or AMATERS_EIO
 * (errno set). Any thread. */
int amaters_pidfile_inspect(const char *path, struct amaters_pidfile *pf,
                            int *fd);

/* Tests the lock of the file open at fd: *held, and the holder's PID in
 * *pid (0 when not held or not visible in our PID namespace). Returns 0
 * or AMATERS_EIO. */
int amaters_lock_holder(int fd, bool *held, long *pid);

/* Opens (creating, 0644) and locks the file at path, making sure the
 * locked file is still the one at path (a holder that just exited may
 * have removed it). A lock held by another process is tried again for
 * up to 0.3 s (an exiting server releases its files one by one).
 * Returns 0 with the descriptor in *fd (keep it open: closing any
 * descriptor of the file releases the lock) and in *other the PID line
 * 1 named before (0 if none: a PID > 0 means a stale file is taken
 * over); AMATERS_EBUSY when another process holds it (*other = its PID,
 * or 0 when unknown); AMATERS_EIO (errno set). Main thread. */
int amaters_lock_take(const char *path, int *fd, long *other);

/* Writes "<our PID>\n" and then rest (may be NULL) into the locked file
 * at fd, over the old text (so that line 1 always holds a PID), and
 * syncs it. Returns 0, AMATERS_EINVAL (too long) or AMATERS_EIO. */
int amaters_lock_write_pid(int fd, const char *rest);

/* Removes the PID file at path when no process holds its lock (after
 * `stop --force`: a killed server cannot remove its own). Returns 0
 * (removed, or already gone), AMATERS_EBUSY (held by someone: kept) or
 * AMATERS_EIO. */
int amaters_lock_remove_stale(const char *path);

/* Writes "<data_dir>/amaters-server.lock" into buf. Returns buf, or NULL
 * when it does not fit in len bytes. */
const char *amaters_datadir_lock_path(const char *data_dir, char *buf,
                                      size_t len);

/* The version string, e.g. "0.1.0". */
const char *amaters_server_version(void);

#endif
