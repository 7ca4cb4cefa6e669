/*
 * errors.h - the project's internal error codes.
 *
 * Every function that can fail returns int: 0 on success or a negative
 * AMATERS_E* code. One X-macro defines each code together with its name and
 * a human message, so the enum, amaters_strerror() and amaters_errname()
 * can never drift apart. Foreign errors (gRPC, protobuf-c, libc, RocksDB)
 * are converted to these codes at the adapter boundary.
 *
 * The mapping from these codes to the wire's ErrorCode / ErrorCategory and
 * gRPC status lives in query/errmap.h, not here: core knows nothing of the
 * protocol.
 */
#ifndef AMATERS_CORE_ERRORS_H
#define AMATERS_CORE_ERRORS_H

/* X(name, value, message) */
#define AMATERS_ERRNO_MAP(X)                                                 \
    X(OK, 0, "success")                                                      \
    X(NOMEM, -1, "out of memory")                                            \
    X(INVAL, -2, "invalid argument")                                         \
    X(NOTFOUND, -3, "not found")                                             \
    X(EXISTS, -4, "already exists")                                          \
    X(IO, -5, "I/O error")                                                   \
    X(CORRUPT, -6, "data corrupted")                                         \
    X(FULL, -7, "storage full")                                              \
    X(TOOBIG, -8, "size limit exceeded")                                     \
    X(PARSE, -9, "parse error")                                              \
    X(MISSING, -10, "required field missing")                                \
    X(BADKEY, -11, "invalid key")                                            \
    X(BADVALUE, -12, "invalid value")                                        \
    X(BADCOLL, -13, "invalid collection")                                    \
    X(CHECKSUM, -14, "checksum mismatch")                                    \
    X(UNSUPPORTED, -15, "operation not supported")                           \
    X(TIMEOUT, -16, "deadline exceeded")                                     \
    X(SHUTDOWN, -17, "server shutting down")                                 \
    X(UNAVAIL, -18, "service unavailable")                                   \
    X(OVERLOAD, -19, "server overloaded")                                    \
    X(INTERNAL, -20, "internal error")                                       \
    X(CONFIG, -21, "configuration error")                                    \
    X(BUSY, -22, "resource busy")                                            \
    X(CONFLICT, -23, "transaction conflict")                                 \
    X(PERM, -24, "permission denied")                                        \
    X(AUTH, -25, "authentication failed")                                    \
    X(VERSION, -26, "unsupported protocol version")

enum amaters_errno {
#define AMATERS_ERRNO_ENUM(name, value, msg) AMATERS_E##name = (value),
    AMATERS_ERRNO_MAP(AMATERS_ERRNO_ENUM)
#undef AMATERS_ERRNO_ENUM
};

/* Returns a static message for code (never NULL; unknown codes get a
 * generic message). */
const char *amaters_strerror(int code);

/* Returns the static symbolic name of code, e.g. "AMATERS_ENOMEM". */
const char *amaters_errname(int code);

#endif
