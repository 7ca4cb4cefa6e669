/*
 * fuzz_wire.c - libFuzzer harness for the check the gRPC front end runs
 * on request bytes before decoding them (rpc_wire_check): arbitrary bytes
 * are checked as each request type (the first byte picks QueryRequest,
 * BatchRequest or HealthCheckRequest) and, when the check passes, unpacked
 * with protobuf-c. Finds crashes in the walk itself, and inputs the check
 * accepts whose decoding then nests too deep (a stack overflow) or
 * allocates more than the check's estimate (which must bound it).
 * Also runs rpc_wire_top_string (the request_id salvaged from a refused
 * request) on every input: its answer must lie inside the input and be
 * valid UTF-8, and on input that decodes it must be the decoded id.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aql.pb-c.h"
#include "core/alloc.h"
#include "rpc/internal.h"

/* Counts what protobuf-c allocates while unpacking one message. */
static size_t allocated;

static void *count_alloc(void *data, size_t n)
{
    (void)data;
    allocated += n;
    return amaters_malloc(n);
}

static void count_free(void *data, void *p)
{
    (void)data;
    amaters_free(p);
}

/* The decoded request_id of m (a QueryRequest or BatchRequest), or NULL. */
static const char *decoded_request_id(const ProtobufCMessage *m)
{
    if (m->descriptor == &amaters__aql__query_request__descriptor) {
        const Amaters__Aql__QueryRequest *q = (const void *)m;
        return q->_request_id_case ? q->request_id : NULL;
    }
    if (m->descriptor == &amaters__aql__batch_request__descriptor) {
        const Amaters__Aql__BatchRequest *b = (const void *)m;
        return b->_request_id_case ? b->request_id : NULL;
    }
    return NULL;
}

/* Checks rpc_wire_top_string on buf; m is its decoding (or NULL). */
static void check_salvage(const ProtobufCMessageDescriptor *d,
                          const uint8_t *buf, size_t len,
                          const ProtobufCMessage *m)
{
    const uint8_t *id = NULL;
    size_t n = 0;
    bool found = rpc_wire_top_string(d, buf, len, "request_id", &id, &n);
    if (found && (id < buf || n > len || (size_t)(id - buf) > len - n ||
                  !rpc_utf8_valid(id, n) || memchr(id, 0, n) != NULL))
        abort();
    if (m == NULL)
        return;
    const char *want = decoded_request_id(m);
    if ((want != NULL) != found)
        abort();
    if (want && (strlen(want) != n || memcmp(want, id, n) != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ProtobufCMessageDescriptor *const types[] = {
        &amaters__aql__query_request__descriptor,
        &amaters__aql__batch_request__descriptor,
        &amaters__aql__health_check_request__descriptor,
    };
    static const struct rpc_wire_limits lim = {
        RPC_WIRE_MAX_DEPTH, RPC_WIRE_MAX_UNKNOWN, RPC_WIRE_MAX_OVERHEAD};
    ProtobufCAllocator a = {count_alloc, count_free, NULL};
    struct rpc_wire_stats st;
    char why[160];
    const ProtobufCMessageDescriptor *d;
    ProtobufCMessage *m;

    if (size == 0)
        return 0;
    d = types[data[0] % 3];
    if (rpc_wire_check(d, data + 1, size - 1, &lim, &st, why,
                       sizeof why) != 0) {
        check_salvage(d, data + 1, size - 1, NULL);
        return 0;
    }
    allocated = 0;
    m = protobuf_c_message_unpack(d, &a, size - 1, data + 1);
    /* the estimate is an upper bound of what decoding allocates (the
     * nesting bound is the check's own: protobuf-c recursing deeper
     * would overflow the stack under the sanitizers first) */
    if (allocated > st.estimate)
        abort();
    check_salvage(d, data + 1, size - 1, m);
    if (m != NULL)
        protobuf_c_message_free_unpacked(m, &a);
    return 0;
}
