/*
 * errmap.h - how internal error codes travel on the wire.
 *
 * One table maps each negative AMATERS_E* code to the protocol's ErrorCode,
 * ErrorCategory and the gRPC status used when an error ends a stream (see
 * the "How errors travel" section of shared/spec/protocol.md). Thread-safe,
 * no state.
 */
#ifndef AMATERS_QUERY_ERRMAP_H
#define AMATERS_QUERY_ERRMAP_H

#include <grpc/status.h>
#include <stdint.h>

struct amaters_wire_error {
    int code;            /* amaters.errors.ErrorCode value */
    int category;        /* amaters.errors.ErrorCategory value */
    /* The status that ends a stream on this error, per protocol.md's
     * list for streams: missing field / malformed INVALID_ARGUMENT,
     * unsupported FAILED_PRECONDITION, every storage failure (full disk
     * and not found included) and internal error INTERNAL, timeout
     * DEADLINE_EXCEEDED, shutting down / unavailable UNAVAILABLE,
     * authentication UNAUTHENTICATED, permission PERMISSION_DENIED,
     * overload (out of memory included) RESOURCE_EXHAUSTED. Two
     * storage outcomes keep their own status because no stream can
     * produce them (only writes do): already exists ALREADY_EXISTS and
     * a write conflict ABORTED. */
    grpc_status_code status;
    uint32_t retry_after;    /* seconds, 0 = do not send the field */
};

/* Maps an internal code (negative AMATERS_E*) to its wire form. Unknown
 * codes map to ERROR_SERVER_INTERNAL / INTERNAL. */
struct amaters_wire_error amaters_errmap(int rc);

#endif
