/*
 * audit.h - the audit log: one JSON Lines record per authentication
 * result, authorization denial, admin command and configuration change.
 *
 * Record fields (every record has all of them; absent values are null):
 * id (random UUID v4), timestamp (RFC 3339 UTC with microseconds, taken
 * when the event was logged), event_type ("authentication",
 * "authorization", "admin_command", "config_change"), result ("success",
 * "failure", "denied"), principal, auth_method, action, resource,
 * peer_address, request_id and reason. The log never receives secrets or
 * stored values: the event structure has no field for them, and callers
 * pass only identities, names and the short reasons produced by
 * jwt.h / apikey.h (which never quote a token or key). Each text field is
 * kept as valid UTF-8 (invalid bytes become ?) and cut at
 * AMATERS_AUDIT_MAX_FIELD bytes at a character boundary; cJSON escapes
 * control characters, so one record is always one line.
 *
 * Threads: amaters_audit_log() may be called from any thread and never
 * waits for I/O: it copies the event into a bounded queue under a mutex
 * held for a few instructions, or drops it (counted) when the queue is
 * full. One dedicated writer thread, started by amaters_audit_open() and
 * joined by amaters_audit_close(), formats the records and writes them
 * with the fsync policy chosen: none (the kernel decides), every record
 * (fdatasync after each batch the writer takes from the queue, before the
 * next batch - group commit), or interval (at most every
 * fsync_interval_ms). Records are written in the order they were queued.
 */
#ifndef AMATERS_SECURITY_AUDIT_H
#define AMATERS_SECURITY_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AMATERS_AUDIT_DEFAULT_QUEUE 10000
#define AMATERS_AUDIT_MAX_FIELD 512

enum amaters_audit_event_type {
    AMATERS_AUDIT_AUTHENTICATION,
    AMATERS_AUDIT_AUTHORIZATION,
    AMATERS_AUDIT_ADMIN_COMMAND,
    AMATERS_AUDIT_CONFIG_CHANGE,
};

enum amaters_audit_result {
    AMATERS_AUDIT_SUCCESS,
    AMATERS_AUDIT_FAILURE,
    AMATERS_AUDIT_DENIED,
};

enum amaters_audit_fsync {
    AMATERS_AUDIT_FSYNC_NONE,
    AMATERS_AUDIT_FSYNC_EVERY,
    AMATERS_AUDIT_FSYNC_INTERVAL,
};

/* One event. Every string may be NULL; all are copied by
 * amaters_audit_log(), so the caller keeps ownership. */
struct amaters_audit_event {
    enum amaters_audit_event_type type;
    enum amaters_audit_result result;
    const char *principal;   /* subject, or NULL when unauthenticated */
    const char *auth_method; /* "jwt", "api_key", "mtls" */
    const char *action;      /* "read", "write", "admin", or the command */
    const char *resource;    /* "collection:users", "server", a config key */
    const char *peer;        /* the peer's address, e.g. "ipv4:1.2.3.4:5" */
    const char *request_id;
    const char *reason; /* short reason; never a secret */
};

struct amaters_audit_options {
    const char *path; /* file appended to (created with mode 0600) */
    enum amaters_audit_fsync fsync;
    uint32_t fsync_interval_ms; /* FSYNC_INTERVAL; 0 = 1000 */
    size_t queue_capacity;      /* 0 = AMATERS_AUDIT_DEFAULT_QUEUE */
};

/* Counters, all since open. */
struct amaters_audit_stats {
    uint64_t logged;       /* accepted into the queue */
    uint64_t written;      /* written to the file */
    uint64_t dropped;      /* refused because the queue was full */
    uint64_t write_errors; /* records lost because writing failed */
};

struct amaters_audit;

/*
 * Opens (appending, creating with mode 0600) the file opt->path and starts
 * the writer thread; the log is on the process-wide list of open logs
 * (amaters_audit_reopen_all) until amaters_audit_close. Returns 0 with
 * *out owned by the caller (release it with amaters_audit_close), or
 * AMATERS_EINVAL (no path), AMATERS_EIO (err names the path and the errno
 * text), AMATERS_ENOMEM or AMATERS_EINTERNAL (thread creation failed) with
 * *out NULL.
 */
int amaters_audit_open(struct amaters_audit **out,
                       const struct amaters_audit_options *opt, char *err,
                       size_t errlen);

/*
 * Queues ev. Never blocks on I/O. Returns 0, AMATERS_EOVERLOAD when the
 * queue is full (the event is dropped and counted), AMATERS_ENOMEM (also
 * counted as dropped), AMATERS_ESHUTDOWN after close began, or
 * AMATERS_EINVAL for NULL arguments. Any thread.
 */
int amaters_audit_log(struct amaters_audit *a,
                      const struct amaters_audit_event *ev);

/* Returns the number of events lost so far: dropped from a full queue
 * plus lost because writing them failed (stats: dropped + write_errors;
 * the amaters_audit_records_dropped_total metric). Any thread. */
uint64_t amaters_audit_dropped(struct amaters_audit *a);

/* Copies the counters into *st. Any thread. */
void amaters_audit_get_stats(struct amaters_audit *a,
                             struct amaters_audit_stats *st);

/*
 * Waits until every event queued before the call is written and synced to
 * disk (whatever the fsync policy). Blocks the caller: not for the request
 * path (use it in shutdown, reload and tests). Returns 0, or AMATERS_EIO
 * when a write or sync failed since open. Any thread, not while paused.
 */
int amaters_audit_flush(struct amaters_audit *a);

/*
 * Stops / restarts the writer taking records from the queue (events keep
 * being queued or dropped meanwhile). For maintenance such as moving the
 * file aside, and for tests of the drop counter. Any thread.
 */
void amaters_audit_pause(struct amaters_audit *a, bool paused);

/*
 * Closes and reopens the file at the same path (after log rotation moved
 * it). Blocks the caller until the writer has switched files. Returns 0
 * or AMATERS_EIO (the old file stays in use). Any thread.
 */
int amaters_audit_reopen(struct amaters_audit *a);

/*
 * Process-wide: asks every audit log open in this process to reopen its
 * file (for the server's SIGHUP, which does not own the log) and waits
 * at most timeout_ms in all for the writers to switch; the list lock is
 * not held while waiting, so amaters_audit_dropped_all never waits on a
 * disk. Stores how many logs are open in *n_open (when not NULL; 0 =
 * nothing done). Returns 0; AMATERS_EIO when some log could not reopen
 * its file (it keeps writing to the old one); AMATERS_ETIMEOUT when some
 * writer had not switched in time (a stalled disk: it will reopen when it
 * gets to it); AMATERS_ENOMEM. Any thread, but not while holding a log's
 * lock or from its writer.
 */
int amaters_audit_reopen_all(size_t *n_open, unsigned timeout_ms);

/*
 * Process-wide: the sum of amaters_audit_dropped() over every audit log
 * open in this process (for the server's metrics); *n_open (when not
 * NULL) receives how many logs are open. Any thread.
 */
uint64_t amaters_audit_dropped_all(size_t *n_open);

/*
 * Takes a off the list of open logs, stops accepting events, lets the
 * writer write everything still queued (resuming it if paused), syncs and
 * closes the file, joins the thread and frees a. Returns 0, or
 * AMATERS_EIO when any write or sync failed since open. NULL is ignored
 * (returns 0). Call once, when no other thread can still log.
 */
int amaters_audit_close(struct amaters_audit *a);

/* Returns "authentication", "authorization", "admin_command",
 * "config_change" (event types) and "success", "failure", "denied"
 * (results); "unknown" otherwise. */
const char *amaters_audit_type_name(enum amaters_audit_event_type t);
const char *amaters_audit_result_name(enum amaters_audit_result r);

#endif
