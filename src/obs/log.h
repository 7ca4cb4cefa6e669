/*
 * log.h - structured logging: levels, three line formats (pretty, compact,
 * JSON), output to stdout or a file with size-based rotation, and a ring of
 * the most recent lines for the admin LOGS command.
 *
 * Every record is one line: a timestamp (RFC 3339, UTC), a level, a
 * component ("storage", "rpc", ...), a printf-formatted message and optional
 * key=value fields (request_id, peer, method...). A line is built in memory
 * and handed to the kernel with one write() under a mutex, so lines from
 * different threads never interleave. Write errors are counted, never fatal.
 *
 * Before amaters_log_init() (and after amaters_log_shutdown()) records go
 * to stderr at level INFO in the pretty format.
 *
 * Threads: every function may be called from any thread at any time,
 * including concurrently with amaters_log_init() reconfiguring the output.
 * Nothing here allocates memory that outlives the call (the recent-lines
 * ring is static storage), so logging never shows up in leak checks.
 */
#ifndef AMATERS_OBS_LOG_H
#define AMATERS_OBS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum amaters_log_level {
    AMATERS_LOG_TRACE,
    AMATERS_LOG_DEBUG,
    AMATERS_LOG_INFO,
    AMATERS_LOG_WARN,
    AMATERS_LOG_ERROR
};

enum amaters_log_format {
    AMATERS_LOG_PRETTY,  /* 2026-11-27T21:00:00.123456Z  INFO comp: msg k=v */
    AMATERS_LOG_COMPACT, /* 2026-11-27T21:00:00.123Z I comp msg k=v */
    AMATERS_LOG_JSON     /* {"timestamp":..,"level":..,"component":..,
                          *  "message":.., "k":"v"} */
};

/* Output configuration. Strings are copied by amaters_log_init(). */
struct amaters_log_options {
    enum amaters_log_level level;
    enum amaters_log_format format;
    const char *file_path;   /* NULL = stdout */
    bool rotate;             /* size-based rotation (file output only) */
    uint64_t max_size_bytes; /* rotate before a line would exceed this */
    unsigned max_backups;    /* keep file.1 .. file.N; 0 = keep none */
};

/* One key=value field of a record. NULL values print as null. */
struct amaters_log_field {
    const char *key;
    const char *value;
};

/* Limits: longer messages are cut (at a byte boundary; the escapers keep
 * the output valid UTF-8). */
#define AMATERS_LOG_MAX_MESSAGE 16384
#define AMATERS_LOG_RECENT_LINES 1000

/* Configures (or reconfigures) level, format and output. Opens the file
 * (append, created 0644) before switching, so on failure the previous
 * configuration stays in effect. Returns 0, AMATERS_EINVAL for bad options
 * (rotate with max_size_bytes == 0, unknown level or format) or
 * AMATERS_EIO if the file cannot be opened; err (errlen bytes, may be NULL)
 * receives a message naming the path and the errno text. */
int amaters_log_init(const struct amaters_log_options *o, char *err,
                     size_t errlen);

/* Closes the log file and returns to the defaults (stderr, INFO, pretty);
 * also empties the recent-lines ring and the write-error counter. */
void amaters_log_shutdown(void);

/* Changes only the level (e.g. on a configuration reload). */
void amaters_log_set_level(enum amaters_log_level l);

/* Returns the current level. */
enum amaters_log_level amaters_log_get_level(void);

/* Parses "trace", "debug", "info", "warn"/"warning", "error" (any case)
 * into *out. Returns 0 or AMATERS_EINVAL (then *out is unchanged). */
int amaters_log_parse_level(const char *s, enum amaters_log_level *out);

/* Parses "pretty" (alias "text"), "compact", "json" (any case) into *out.
 * Returns 0 or AMATERS_EINVAL (then *out is unchanged). */
int amaters_log_parse_format(const char *s, enum amaters_log_format *out);

/* Returns the static upper-case name of l ("TRACE" .. "ERROR"). */
const char *amaters_log_level_name(enum amaters_log_level l);

/* Returns true when records of level l are currently written. Cheap (one
 * atomic load); use it to skip building expensive arguments. */
bool amaters_log_enabled(enum amaters_log_level l);

/* Writes one record if level l is enabled. component may be NULL ("-").
 * Trailing newlines of the message are dropped; other control characters
 * are escaped so a record is always one line. */
void amaters_log(enum amaters_log_level l, const char *component,
                 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Like amaters_log() with nfields key=value fields appended (fields may be
 * NULL when nfields is 0; entries with a NULL key are skipped). */
void amaters_log_kv(enum amaters_log_level l, const char *component,
                    const struct amaters_log_field *fields, size_t nfields,
                    const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* va_list form of amaters_log_kv(), for adapters of other libraries'
 * log callbacks. */
void amaters_logv(enum amaters_log_level l, const char *component,
                  const struct amaters_log_field *fields, size_t nfields,
                  const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

/* Calls cb for up to n of the most recent records (at most
 * AMATERS_LOG_RECENT_LINES are kept), oldest first, and returns how many
 * calls were made. timestamp is RFC 3339 UTC with microseconds, level the
 * upper-case level name, message "component: message k=v" (one line of
 * valid UTF-8, cut to a few hundred bytes). The strings are valid only
 * during the call. cb runs without any log lock held, so it may log. */
size_t amaters_log_recent(size_t n,
                          void (*cb)(const char *timestamp, const char *level,
                                     const char *message, void *arg),
                          void *arg);

/* Returns how many records could not be written (write or rotation
 * errors, out of memory, a record over 1 MiB once escaped) since start or
 * the last shutdown. */
uint64_t amaters_log_write_errors(void);

/* Convenience macros: arguments are not evaluated when the level is off.
 * (They share their names with the enum constants; a function-like macro
 * only expands when followed by '(', so both uses coexist.) */
#define AMATERS_LOG_AT(lvl, component, ...)                                  \
    do {                                                                     \
        if (amaters_log_enabled(lvl))                                        \
            amaters_log((lvl), (component), __VA_ARGS__);                    \
    } while (0)
#define AMATERS_LOG_KV(lvl, component, fields, nfields, ...)                 \
    do {                                                                     \
        if (amaters_log_enabled(lvl))                                        \
            amaters_log_kv((lvl), (component), (fields), (nfields),          \
                           __VA_ARGS__);                                     \
    } while (0)
#define AMATERS_LOG_TRACE(component, ...)                                    \
    AMATERS_LOG_AT(AMATERS_LOG_TRACE, component, __VA_ARGS__)
#define AMATERS_LOG_DEBUG(component, ...)                                    \
    AMATERS_LOG_AT(AMATERS_LOG_DEBUG, component, __VA_ARGS__)
#define AMATERS_LOG_INFO(component, ...)                                     \
    AMATERS_LOG_AT(AMATERS_LOG_INFO, component, __VA_ARGS__)
#define AMATERS_LOG_WARN(component, ...)                                     \
    AMATERS_LOG_AT(AMATERS_LOG_WARN, component, __VA_ARGS__)
#define AMATERS_LOG_ERROR(component, ...)                                    \
    AMATERS_LOG_AT(AMATERS_LOG_ERROR, component, __VA_ARGS__)

#endif
