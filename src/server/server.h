/*
 * server.h - the amaters-server program: command line, configuration
 * assembly (defaults < file < environment < flags), and the commands
 * start / stop / status / version / validate-config.
 *
 * Exit codes: 0 ok, 1 error, 2 usage error.
 */
#ifndef AMATERS_SERVER_SERVER_H
#define AMATERS_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>

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

/* Refuses settings this build cannot honour rather than serving without
 * them (fail closed): mtls without TLS, clustering, an unknown engine.
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

/* PID file: line 1 is the PID, then "grpc=ADDR" and "http=ADDR" lines
 * with the bound addresses. Reads pid and (when not NULL) the addresses
 * (buffers of len bytes). Returns 0, or -1 when missing or unreadable. */
int amaters_pidfile_read(const char *path, long *pid, char *grpc,
                         char *http, size_t len);

/* The version string, e.g. "0.1.0". */
const char *amaters_server_version(void);

#endif
