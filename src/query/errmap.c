/*
 * errmap.c - the internal-code -> wire mapping table. The ErrorCode and
 * category go into unary ErrorResponses; the gRPC status column is only
 * used to end a stream, and follows protocol.md's list for streams.
 */
#include "query/errmap.h"

#include "core/errors.h"
#include "errors.pb-c.h"

#define C(x) AMATERS__ERRORS__ERROR_CODE__ERROR_##x
#define K(x) AMATERS__ERRORS__ERROR_CATEGORY__CATEGORY_##x

static const struct {
    int rc;
    struct amaters_wire_error w;
} table[] = {
    {AMATERS_EMISSING,
     {C(PROTOCOL_MISSING_FIELD), K(CLIENT_ERROR), GRPC_STATUS_INVALID_ARGUMENT, 0}},
    {AMATERS_EPARSE,
     {C(PROTOCOL_MALFORMED_MESSAGE), K(CLIENT_ERROR), GRPC_STATUS_INVALID_ARGUMENT, 0}},
    {AMATERS_EINVAL,
     {C(PROTOCOL_INVALID_REQUEST), K(CLIENT_ERROR), GRPC_STATUS_INVALID_ARGUMENT, 0}},
    {AMATERS_EVERSION,
     {C(PROTOCOL_UNSUPPORTED_VERSION), K(CLIENT_ERROR), GRPC_STATUS_INVALID_ARGUMENT, 0}},
    {AMATERS_EBADKEY,
     {C(VALIDATION_INVALID_KEY), K(CLIENT_ERROR), GRPC_STATUS_INVALID_ARGUMENT, 0}},
    {AMATERS_EBADVALUE,
     {C(VALIDATION_INVALID_VALUE), K(CLIENT_ERROR), GRPC_STATUS_INVALID_ARGUMENT, 0}},
    {AMATERS_ECHECKSUM,
     {C(VALIDATION_INVALID_VALUE), K(CLIENT_ERROR), GRPC_STATUS_INVALID_ARGUMENT, 0}},
    {AMATERS_ETOOBIG,
     {C(VALIDATION_SIZE_EXCEEDED), K(CLIENT_ERROR), GRPC_STATUS_INVALID_ARGUMENT, 0}},
    {AMATERS_EBADCOLL,
     {C(VALIDATION_INVALID_COLLECTION), K(CLIENT_ERROR), GRPC_STATUS_INVALID_ARGUMENT, 0}},
    /* streams: "storage or internal -> INTERNAL" (protocol.md); a
     * missing key is no stream error (GET answers nothing), so reaching
     * here is a storage failure */
    {AMATERS_ENOTFOUND,
     {C(STORAGE_NOT_FOUND), K(NON_RETRYABLE), GRPC_STATUS_INTERNAL, 0}},
    {AMATERS_EEXISTS,
     {C(STORAGE_ALREADY_EXISTS), K(NON_RETRYABLE), GRPC_STATUS_ALREADY_EXISTS, 0}},
    {AMATERS_ECORRUPT,
     {C(STORAGE_CORRUPTED), K(SERVER_ERROR), GRPC_STATUS_INTERNAL, 0}},
    /* streams: a full disk is a storage failure (INTERNAL), not the
     * client's overload (RESOURCE_EXHAUSTED: rate limit, overload) */
    {AMATERS_EFULL,
     {C(STORAGE_FULL), K(SERVER_ERROR), GRPC_STATUS_INTERNAL, 0}},
    {AMATERS_EIO,
     {C(STORAGE_IO), K(SERVER_ERROR), GRPC_STATUS_INTERNAL, 0}},
    {AMATERS_EUNSUPPORTED,
     {C(COMPUTE_INVALID_OPERATION), K(CLIENT_ERROR), GRPC_STATUS_FAILED_PRECONDITION, 0}},
    {AMATERS_ETIMEOUT,
     {C(NETWORK_TIMEOUT), K(RETRYABLE), GRPC_STATUS_DEADLINE_EXCEEDED, 0}},
    {AMATERS_ESHUTDOWN,
     {C(SERVER_SHUTTING_DOWN), K(RETRYABLE), GRPC_STATUS_UNAVAILABLE, 1}},
    {AMATERS_EUNAVAIL,
     {C(SERVER_UNAVAILABLE), K(RETRYABLE), GRPC_STATUS_UNAVAILABLE, 1}},
    {AMATERS_EOVERLOAD,
     {C(SERVER_OVERLOADED), K(RETRYABLE), GRPC_STATUS_RESOURCE_EXHAUSTED, 1}},
    {AMATERS_EBUSY,
     {C(SERVER_OVERLOADED), K(RETRYABLE), GRPC_STATUS_RESOURCE_EXHAUSTED, 1}},
    /* an optimistic version check failed: a newer version already
     * exists; re-read and retry */
    {AMATERS_ECONFLICT,
     {C(STORAGE_ALREADY_EXISTS), K(RETRYABLE), GRPC_STATUS_ABORTED, 0}},
    {AMATERS_EPERM,
     {C(AUTH_INSUFFICIENT_PERMISSIONS), K(AUTH), GRPC_STATUS_PERMISSION_DENIED, 0}},
    {AMATERS_EAUTH,
     {C(AUTH_FAILED), K(AUTH), GRPC_STATUS_UNAUTHENTICATED, 0}},
    /* streams: out of memory is the server overloaded */
    {AMATERS_ENOMEM,
     {C(SERVER_INTERNAL), K(SERVER_ERROR), GRPC_STATUS_RESOURCE_EXHAUSTED, 0}},
};

struct amaters_wire_error amaters_errmap(int rc)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (table[i].rc == rc)
            return table[i].w;
    }
    return (struct amaters_wire_error){C(SERVER_INTERNAL), K(SERVER_ERROR),
                                       GRPC_STATUS_INTERNAL, 0};
}
