/*
 * runtime.h - the state of a running `start` command, shared by the
 * files of the server program that implement it: lifecycle.c (start-up,
 * serving, shutdown), stats.c (metrics collection and the periodic
 * snapshot line) and reload.c (SIGHUP). Private to src/server.
 */
#ifndef AMATERS_SERVER_RUNTIME_H
#define AMATERS_SERVER_RUNTIME_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include <grpc/grpc_security.h>

#include "server/server.h"

struct amaters_http;
struct amaters_exec;
struct amaters_rpc;
struct amaters_tls;
struct amaters_gate;

/* Main thread only, except where a field says otherwise. */
struct runtime {
    const struct amaters_cli *cli;
    struct amaters_config cfg;
    char data_dir[4096]; /* absolute path of server.data_dir */
    char pid_path[4096];
    int pid_fd;  /* holds the PID file lock until the process exits */
    atomic_bool pid_removed; /* read by the second-signal thread */
    int lock_fd; /* holds the data directory lock */
    struct amaters_http *http;
    struct amaters_engine *engine; /* read by the HTTP thread (stats) */
    struct amaters_exec *exec;     /* read by the HTTP thread (stats) */
    struct amaters_rpc *rpc;
    struct amaters_tls *tls;
    grpc_server_credentials *creds;
    struct amaters_gate *gate;
    sigset_t sigs;
    int interrupted; /* SIGTERM/SIGINT that ended the start-up, or 0 */
    char grpc_addr[300], http_addr[300];
    uint64_t started_ns;
    uint64_t snapshot_due_ns; /* next metrics snapshot */
    bool storage_failed;      /* the engine's write failure is reported */
};

/* Prints "amaters-server: MESSAGE" to stderr and logs "start-up failed:
 * MESSAGE" (lifecycle.c). Returns -1. */
int amaters_srv_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* datadir.c. Each returns 0 or -1 after amaters_srv_fail(). */

/* Creates server.data_dir if needed, checks that it is a writable
 * directory and stores its absolute path in rt->data_dir. */
int amaters_srv_prepare_data_dir(struct runtime *rt);

/* Takes <data_dir>/amaters-server.lock (rt->lock_fd) and writes our PID
 * into it; refuses a directory another server holds, naming its PID. */
int amaters_srv_lock_data_dir(struct runtime *rt);

/* Takes the PID file lock (rt->pid_fd, rt->pid_path) and writes our PID
 * at once; logs the takeover of a stale file. */
int amaters_srv_take_pid_file(struct runtime *rt);

/* Rewrites the PID file: the PID, then the addresses bound so far
 * (rt->grpc_addr, rt->http_addr when not ""). Logs a failure. */
void amaters_srv_write_pid_file(struct runtime *rt);

/* Removes the PID file; its lock is kept until the process exits. */
void amaters_srv_release_pid_file(struct runtime *rt);

/* Releases the data directory lock. */
void amaters_srv_unlock_data_dir(struct runtime *rt);

/* Registers the amaters_build_info gauge (stats.c). */
void amaters_srv_register_build_info(void);

/* Metrics collector (stats.c): refreshes the storage, audit and uptime
 * gauges from rt (a struct runtime). Called by the metrics registry on
 * the HTTP thread for each /metrics scrape. */
void amaters_srv_collect_cb(void *rt);

/* Logs a metrics snapshot line when metrics.export_interval_secs has
 * passed since the last one (stats.c). Called on every serve tick. */
void amaters_srv_snapshot_tick(struct runtime *rt);

/* stats.c: once the storage engine reports that writes fail (full disk,
 * I/O error; sticky until restart), marks the "storage" health component
 * degraded with the cause (/health shows it; reads still work, so the
 * server stays ready). Called on every tick of serve (main thread). */
void amaters_srv_storage_tick(struct runtime *rt);

/* SIGHUP (reload.c): reopens the audit log, then re-reads the
 * configuration and applies the reloadable keys; an invalid file or a
 * change that needs a restart is logged with its reason and nothing is
 * applied. */
void amaters_srv_reload(struct runtime *rt);

#endif
