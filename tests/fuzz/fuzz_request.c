/*
 * fuzz_request.c - libFuzzer harness for request decoding and execution:
 * arbitrary bytes are decoded as QueryRequest and BatchRequest (the first
 * byte picks which) with the arena allocator the server uses, and every
 * decoded request is executed against a memory engine. Finds crashes,
 * leaks and undefined behaviour on untrusted wire input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "aql.pb-c.h"
#include "core/arena.h"
#include "query/query.h"
#include "storage/engine.h"

static struct amaters_engine *engine;
static struct amaters_exec *exec;

static void *pb_alloc(void *data, size_t n)
{
    return amaters_arena_alloc(data, n);
}

static void pb_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

static void init_once(void)
{
    char err[128];
    struct amaters_engine_options eo = {.path = "."};
    struct amaters_exec_options xo = {
        .max_key_bytes = 65536,
        .max_value_bytes = 1 << 20,
        .max_result_bytes = 4 << 20,
        .max_batch_queries = 1000,
        .stream_batch_size = 10,
        .backup_dir = "",
        .engine_name = "memory",
        .node_address = "fuzz",
        .node_id = 1,
    };
    if (amaters_engine_memory_ops.open(&eo, &engine, err, sizeof err) ||
        amaters_exec_create(engine, &xo, &exec))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (engine == NULL)
        init_once();
    if (size == 0)
        return 0;
    struct amaters_arena *a = amaters_arena_create(64 << 20);
    ProtobufCAllocator al = {pb_alloc, pb_free, a};
    struct amaters_qctx ctx;
    amaters_qctx_init(&ctx, a);
    if (data[0] & 1) {
        Amaters__Aql__BatchRequest *b =
            amaters__aql__batch_request__unpack(&al, size - 1, data + 1);
        Amaters__Query__QueryResult **res;
        if (b)
            amaters_exec_batch(exec, &ctx, b->queries, b->n_queries,
                               b->isolation_level, &res);
    } else {
        Amaters__Aql__QueryRequest *q =
            amaters__aql__query_request__unpack(&al, size - 1, data + 1);
        Amaters__Query__QueryResult *res;
        struct amaters_cursor *c = NULL;
        if (q) {
            amaters_check_version(&ctx, q->version);
            amaters_exec_query(exec, &ctx, q->query, &res);
            if (amaters_cursor_open(exec, &ctx, q->query, &c) == 0) {
                Amaters__Query__KeyValue **kv;
                size_t n;
                bool more = true;
                while (more && amaters_cursor_next(c, &ctx, &kv, &n, &more) > 0)
                    ;
                amaters_cursor_close(c);
            }
        }
    }
    amaters_arena_destroy(a);
    return 0;
}
