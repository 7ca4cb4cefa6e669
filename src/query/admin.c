/*
 * admin.c - the admin tunnel for amaters-cli: a GET whose key starts with
 * "__admin__:" runs COMMAND [arg1 [arg2]] and answers single.value = a
 * CipherBlob of JSON text with valid metadata. A known command given more
 * arguments than it takes, or an argument holding a NUL byte, is refused
 * (AMATERS_EINVAL) rather than cut short. Field names follow what the
 * original CLI reads and what the original server sent (both are emitted,
 * see shared/spec/compatibility.md). Every figure is measured, none is
 * hard-coded. Unknown commands answer single{} (no value).
 */
#include "query/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/crc32.h"
#include "core/errors.h"
#include "core/timeutil.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "storage/keys.h"

/* the command and at most two arguments are kept; more are counted */
#define ADMIN_MAX_ARGS 3
#define ADMIN_LOGS_DEFAULT 100
#define ADMIN_LOGS_MAX 1000

/* argv[i] is NUL-terminated in place; lens[i] is its length in the key,
 * which is longer than strlen() when the argument holds a NUL byte. argc
 * counts every word, including those past ADMIN_MAX_ARGS (not kept). */
struct admin_args {
    char *argv[ADMIN_MAX_ARGS];
    size_t lens[ADMIN_MAX_ARGS];
    int argc;
};

/* Splits the n bytes at s (followed by a NUL) into words separated by
 * spaces and tabs; keeps the first ADMIN_MAX_ARGS, counts them all. */
static void split_args(char *s, size_t n, struct admin_args *a)
{
    size_t i = 0;

    a->argc = 0;
    for (;;) {
        while (i < n && q_admin_sep(s[i]))
            i++;
        if (i == n)
            break;
        size_t b = i;
        while (i < n && !q_admin_sep(s[i]))
            i++;
        if (a->argc < ADMIN_MAX_ARGS) {
            a->argv[a->argc] = s + b;
            a->lens[a->argc] = i - b;
            if (i < n)
                s[i++] = '\0';
        }
        a->argc++;
    }
}

/* The arguments each command takes (after its name): at least min, at
 * most max, written as usage. */
struct admin_grammar {
    const char *name;
    int min, max;
    const char *usage;
};

static const struct admin_grammar g_grammar[] = {
    {"STATS", 0, 0, ""},
    {"VERIFY", 0, 0, ""},
    {"METRICS", 0, 0, ""},
    {"CLUSTER_INFO", 0, 0, ""},
    {"NODES", 0, 0, ""},
    {"LOGS", 0, 1, "[N]"},
    {"COMPACT", 0, 1, "[COLLECTION]"},
    {"BACKUP", 1, 2, "NAME [full|incremental]"},
    {"RESTORE", 1, 1, "NAME"},
};

/* Refuses (AMATERS_EINVAL) more arguments than the known command a->argv[0]
 * takes, and an argument holding a NUL byte. COMPACT's collection is left
 * to the collection check (EBADCOLL, as queries get), and a missing
 * BACKUP/RESTORE name to cmd_backup. Unknown commands pass. */
static int check_args(struct amaters_qctx *ctx, const struct admin_args *a)
{
    const struct admin_grammar *g = NULL;
    int n = a->argc - 1;

    for (size_t i = 0; i < sizeof g_grammar / sizeof g_grammar[0]; i++)
        if (strcasecmp(a->argv[0], g_grammar[i].name) == 0)
            g = &g_grammar[i];
    if (g == NULL)
        return 0;
    if (n > g->max && g->max == 0)
        return amaters_qctx_fail(ctx, AMATERS_EINVAL,
                                 "%s takes no arguments, got %d", g->name, n);
    if (n > g->max)
        return amaters_qctx_fail(ctx, AMATERS_EINVAL,
                                 "%s takes %s%d argument%s (%s), got %d",
                                 g->name, g->max > g->min ? "at most " : "",
                                 g->max, g->max == 1 ? "" : "s", g->usage,
                                 n);
    for (int i = 1; i < a->argc; i++) {
        if (strcmp(g->name, "COMPACT") == 0 ||
            strlen(a->argv[i]) == a->lens[i])
            continue;
        return amaters_qctx_fail(ctx, AMATERS_EINVAL,
                                 "%s: argument %d contains a NUL byte",
                                 g->name, i);
    }
    return 0;
}

static uint64_t uptime_s(struct amaters_exec *x)
{
    return (amaters_now_ns() - x->started_ns) / 1000000000ull;
}

/* Counts distinct collections by hopping from one collection prefix to
 * the next (one iterator seek per collection). */
static int count_collections(struct amaters_exec *x, uint64_t *out)
{
    uint8_t start[257];
    size_t start_len = 0;
    uint64_t n = 0;
    for (;;) {
        struct amaters_engine_iter *it = NULL;
        const uint8_t *k, *v;
        size_t kl, vl;
        int rc = amaters_engine_iter_open(x->engine, start, start_len, NULL,
                                          0, &it);
        if (rc)
            return rc;
        rc = amaters_engine_iter_next(it, &k, &kl, &v, &vl);
        if (rc <= 0) {
            amaters_engine_iter_close(it);
            *out = n;
            return rc;
        }
        size_t plen = (size_t)k[0] + 1;
        if (plen > kl) {
            amaters_engine_iter_close(it);
            return AMATERS_ECORRUPT;
        }
        memcpy(start, k, plen);
        amaters_engine_iter_close(it);
        n++;
        /* successor of the prefix: increment with carry */
        size_t i = plen;
        while (i > 0 && start[i - 1] == 0xFF)
            i--;
        if (i == 0) {
            *out = n;
            return 0;
        }
        start[i - 1]++;
        start_len = i;
    }
}

static int cmd_stats(struct amaters_exec *x, cJSON *o)
{
    uint64_t keys = 0, bytes = 0, colls = 0;
    int rc = amaters_exec_stats(x, &keys, &bytes);
    if (rc == 0)
        rc = count_collections(x, &colls);
    if (rc)
        return rc;
    cJSON_AddNumberToObject(o, "key_count", (double)keys);
    cJSON_AddNumberToObject(o, "total_keys", (double)keys);
    cJSON_AddNumberToObject(o, "total_bytes", (double)bytes);
    cJSON_AddNumberToObject(o, "total_size_bytes", (double)bytes);
    cJSON_AddNumberToObject(o, "collections_count", (double)colls);
    cJSON_AddStringToObject(o, "engine", x->opts.engine_name);
    cJSON_AddNumberToObject(o, "uptime_seconds", (double)uptime_s(x));
    return 0;
}

static int cmd_verify(struct amaters_exec *x, cJSON *o)
{
    struct amaters_engine_iter *it = NULL;
    const uint8_t *k, *v;
    size_t kl, vl;
    uint64_t checked = 0, bad = 0;
    struct amaters_record r;
    cJSON *list = cJSON_CreateArray();
    int rc = amaters_engine_iter_open(x->engine, (const uint8_t *)"", 0,
                                      NULL, 0, &it);
    while (rc == 0 && (rc = amaters_engine_iter_next(it, &k, &kl, &v, &vl)) ==
                          1) {
        rc = 0;
        checked++;
        if (amaters_record_decode(v, vl, &r) == 0)
            continue;
        bad++;
        q_metrics_corrupt();
        if (bad <= 100) {
            const uint8_t *c, *u;
            size_t cl = 0, ul = 0;
            if (amaters_key_decode(k, kl, &c, &cl, &u, &ul) == 0) {
                cJSON *e = cJSON_CreateObject();
                char *cs = amaters_strndup((const char *)c, cl);
                cJSON_AddStringToObject(e, "collection", cs ? cs : "");
                cJSON_AddNumberToObject(e, "key_bytes", (double)ul);
                cJSON_AddItemToArray(list, e);
                amaters_free(cs);
            }
        }
    }
    amaters_engine_iter_close(it);
    /* Damage RocksDB itself detects (a table block failing its checksum)
     * ends the scan: it cannot step over it. That is a finding, not a
     * failure of VERIFY: report what was checked, count the damaged spot
     * as (at least) one more corrupted key, and say the scan stopped. */
    bool stopped = rc == AMATERS_ECORRUPT;
    if (rc < 0 && !stopped) {
        cJSON_Delete(list);
        return rc;
    }
    if (stopped) {
        bad++;
        q_metrics_corrupt();
    }
    cJSON_AddNumberToObject(o, "checked", (double)checked);
    cJSON_AddNumberToObject(o, "verified_keys",
                            (double)(checked - (bad - stopped)));
    cJSON_AddNumberToObject(o, "corrupted_keys", (double)bad);
    cJSON_AddBoolToObject(o, "ok", bad == 0);
    cJSON_AddBoolToObject(o, "complete", !stopped);
    if (stopped)
        cJSON_AddStringToObject(
            o, "error",
            "the storage engine found damaged data (a table block failing "
            "its checksum) and the scan stopped there: keys after it were "
            "not checked; stop the server and run `amaters-server repair`");
    cJSON_AddItemToObject(o, "corrupted", list);
    return 0;
}

struct logs_acc {
    cJSON *lines, *logs;
};

static void logs_cb(const char *ts, const char *level, const char *msg,
                    void *arg)
{
    struct logs_acc *a = arg;
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "timestamp", ts);
    cJSON_AddStringToObject(l, "level", level);
    cJSON_AddStringToObject(l, "message", msg);
    cJSON_AddItemToArray(a->lines, l);
    size_t n = strlen(ts) + strlen(level) + strlen(msg) + 4;
    char *s = amaters_malloc(n);
    if (s) {
        snprintf(s, n, "%s %s %s", ts, level, msg);
        cJSON_AddItemToArray(a->logs, cJSON_CreateString(s));
        amaters_free(s);
    }
}

static int cmd_logs(const struct admin_args *a, cJSON *o)
{
    long n = ADMIN_LOGS_DEFAULT;
    if (a->argc > 1) {
        char *end;
        n = strtol(a->argv[1], &end, 10);
        if (*end || n < 0)
            return AMATERS_EINVAL;
    }
    if (n > ADMIN_LOGS_MAX)
        n = ADMIN_LOGS_MAX;
    struct logs_acc acc = {cJSON_CreateArray(), cJSON_CreateArray()};
    amaters_log_recent((size_t)n, logs_cb, &acc);
    cJSON_AddItemToObject(o, "lines", acc.lines);
    cJSON_AddItemToObject(o, "logs", acc.logs);
    cJSON_AddNumberToObject(o, "count", cJSON_GetArraySize(acc.lines));
    return 0;
}

static int cmd_metrics(struct amaters_exec *x, cJSON *o)
{
    char *text = NULL;
    size_t len = 0;
    uint64_t keys = 0, bytes = 0;
    int rc = amaters_metrics_render(&text, &len);
    if (rc)
        return rc;
    amaters_exec_stats(x, &keys, &bytes);
    cJSON_AddNumberToObject(o, "uptime_seconds", (double)uptime_s(x));
    cJSON_AddNumberToObject(o, "key_count", (double)keys);
    cJSON_AddNumberToObject(o, "total_bytes", (double)bytes);
    cJSON_AddStringToObject(o, "format", "prometheus-text-0.0.4");
    cJSON_AddStringToObject(o, "prometheus", text);
    amaters_free(text);
    return 0;
}

static cJSON *node_json(struct amaters_exec *x)
{
    cJSON *n = cJSON_CreateObject();
    cJSON_AddNumberToObject(n, "id", (double)x->opts.node_id);
    cJSON_AddNumberToObject(n, "node_id", (double)x->opts.node_id);
    cJSON_AddStringToObject(n, "address", x->opts.node_address);
    cJSON_AddStringToObject(n, "role", "leader");
    cJSON_AddStringToObject(n, "state", "standalone");
    cJSON_AddStringToObject(n, "status", "healthy");
    return n;
}

static int cmd_cluster(struct amaters_exec *x, cJSON *o, bool nodes_only)
{
    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, node_json(x));
    if (!nodes_only) {
        cJSON_AddBoolToObject(o, "cluster_enabled", false);
        cJSON_AddStringToObject(o, "mode", "standalone");
        cJSON_AddNumberToObject(o, "node_id", (double)x->opts.node_id);
        cJSON_AddNumberToObject(o, "leader_id", (double)x->opts.node_id);
        cJSON_AddNumberToObject(o, "term", 0);
        cJSON_AddNumberToObject(o, "nodes_count", 1);
        cJSON_AddNumberToObject(o, "healthy_nodes", 1);
    }
    cJSON_AddItemToObject(o, "nodes", arr);
    return 0;
}

/* Adds the figures of a compaction: its duration and the on-disk size
 * before and after. */
static void compact_figures(cJSON *o, uint64_t ns,
                            const struct amaters_engine_stats *b,
                            const struct amaters_engine_stats *a)
{
    double disk_b = (double)b->sst_bytes + (double)b->blob_bytes;
    double disk_a = (double)a->sst_bytes + (double)a->blob_bytes;

    cJSON_AddNumberToObject(o, "duration_ms", (double)ns / 1e6);
    cJSON_AddNumberToObject(o, "sst_bytes_before", (double)b->sst_bytes);
    cJSON_AddNumberToObject(o, "sst_bytes_after", (double)a->sst_bytes);
    cJSON_AddNumberToObject(o, "blob_bytes_before", (double)b->blob_bytes);
    cJSON_AddNumberToObject(o, "blob_bytes_after", (double)a->blob_bytes);
    cJSON_AddNumberToObject(o, "size_before_bytes", disk_b);
    cJSON_AddNumberToObject(o, "size_after_bytes", disk_a);
    cJSON_AddNumberToObject(o, "reclaimed_bytes", disk_b - disk_a);
}

/* Flushes, measures, compacts [lo, hi) (NULL: everything) of
 * collection what ("*": everything), measures again. Runs without the
 * executor's transaction lock (exec.c): it uses the engine only. */
static int compact_range(struct amaters_exec *x, struct amaters_qctx *ctx,
                         const char *what, const uint8_t *lo, size_t lo_len,
                         const uint8_t *hi, size_t hi_len, cJSON *o)
{
    struct amaters_engine_stats before = {0}, after = {0};
    uint64_t t0 = amaters_now_ns();
    /* memtables first, so that both sizes count the same data */
    int rc = x->engine->ops->flush(x->engine);

    if (rc == 0)
        rc = x->engine->ops->stats(x->engine, &before);
    if (rc == 0)
        rc = amaters_engine_compact(x->engine, lo, lo_len, hi, hi_len);
    if (rc == 0)
        rc = x->engine->ops->stats(x->engine, &after);
    /* interrupted at shutdown: errmap makes it SERVER_SHUTTING_DOWN */
    if (rc == AMATERS_ESHUTDOWN)
        return amaters_qctx_fail(ctx, rc,
                                 "COMPACT %.64s: cancelled, the server is "
                                 "shutting down",
                                 what);
    if (rc)
        return amaters_qctx_fail(ctx, rc, "COMPACT %.64s: storage: %s",
                                 what, amaters_strerror(rc));
    uint64_t ns = amaters_now_ns() - t0;
    compact_figures(o, ns, &before, &after);
    amaters_log(AMATERS_LOG_INFO, "admin",
                "compacted %.64s: %llu -> %llu bytes on disk in %llu ms",
                what,
                (unsigned long long)(before.sst_bytes + before.blob_bytes),
                (unsigned long long)(after.sst_bytes + after.blob_bytes),
                (unsigned long long)(ns / 1000000));
    return 0;
}

/* COMPACT [collection]: the whole engine, or the engine key range of one
 * collection (validated as a query's collection is). Engines without a
 * compact op (memory) answer "compacted": false. */
static int cmd_compact(struct amaters_exec *x, struct amaters_qctx *ctx,
                       const struct admin_args *a, cJSON *o)
{
    const char *coll = a->argc > 1 ? a->argv[1] : NULL;
    bool can = x->engine->ops->compact != NULL;
    const char *note;
    uint8_t *lo = NULL, *hi = NULL;
    size_t lo_len = 0, hi_len = 0;
    int rc = 0;

    if (coll != NULL) {
        ProtobufCBinaryData c = {a->lens[1], (uint8_t *)a->argv[1]};
        rc = q_check_collection(ctx, c, "compact");
        if (rc == 0)
            rc = amaters_key_range(coll, c.len, NULL, 0, NULL, 0, &lo,
                                   &lo_len, &hi, &hi_len);
        if (rc)
            goto out;
    }
    if (can) {
        rc = compact_range(x, ctx, coll ? coll : "*", lo, lo_len, hi,
                           hi_len, o);
        if (rc)
            goto out;
    }
    cJSON_AddBoolToObject(o, "compacted", can);
    cJSON_AddStringToObject(o, "collection", coll ? coll : "*");
    cJSON_AddStringToObject(o, "engine", x->opts.engine_name);
    if (!can)
        note = strcmp(x->opts.engine_name, "memory") == 0
                   ? "the memory engine keeps no files: nothing to compact"
                   : "this engine has nothing to compact";
    else if (coll != NULL)
        note = "flushed, then compacted the collection's key range: with "
               "the leveled strategy the files holding its keys; universal "
               "compacts every file, fifo only applies its expiry";
    else
        note = "flushed, then compacted every file (with the fifo "
               "strategy: only applied its expiry)";
    cJSON_AddStringToObject(o, "note", note);
out:
    amaters_free(lo);
    amaters_free(hi);
    return rc;
}

static int cmd_backup(struct amaters_exec *x, struct amaters_qctx *ctx,
                      const struct admin_args *a, cJSON *o, bool restore)
{
    uint64_t keys = 0, bytes = 0;
    if (a->argc < 2)
        return amaters_qctx_fail(ctx, AMATERS_EINVAL,
                                 "%s needs a backup name",
                                 restore ? "RESTORE" : "BACKUP");
    const char *type = a->argc > 2 ? a->argv[2] : "full";
    if (!restore && strcasecmp(type, "full") != 0 &&
        strcasecmp(type, "incremental") != 0)
        return amaters_qctx_fail(ctx, AMATERS_EINVAL,
                                 "BACKUP type must be full or incremental, "
                                 "not '%s'",
                                 type);
    int rc = restore ? q_restore(x, ctx, a->argv[1], &keys, &bytes)
                     : q_backup(x, ctx, a->argv[1], &keys, &bytes);
    if (rc)
        return rc;
    cJSON_AddStringToObject(o, "name", a->argv[1]);
    if (restore) {
        cJSON_AddBoolToObject(o, "restored", true);
        cJSON_AddNumberToObject(o, "keys_restored", (double)keys);
        cJSON_AddNumberToObject(o, "bytes_restored", (double)bytes);
    } else {
        cJSON_AddBoolToObject(o, "success", true);
        cJSON_AddStringToObject(o, "requested_type", type);
        /* Every backup is a complete copy: an incremental request is
         * served as a full one, and the answer says so. */
        cJSON_AddStringToObject(o, "type", "full");
        cJSON_AddNumberToObject(o, "keys", (double)keys);
        cJSON_AddNumberToObject(o, "bytes", (double)bytes);
    }
    return 0;
}

static int run(struct amaters_exec *x, struct amaters_qctx *ctx,
               struct admin_args *a, cJSON *o, bool *known)
{
    const char *c = a->argv[0];
    *known = true;
    if (strcasecmp(c, "STATS") == 0)
        return cmd_stats(x, o);
    if (strcasecmp(c, "VERIFY") == 0)
        return cmd_verify(x, o);
    if (strcasecmp(c, "LOGS") == 0)
        return cmd_logs(a, o);
    if (strcasecmp(c, "METRICS") == 0)
        return cmd_metrics(x, o);
    if (strcasecmp(c, "CLUSTER_INFO") == 0)
        return cmd_cluster(x, o, false);
    if (strcasecmp(c, "NODES") == 0)
        return cmd_cluster(x, o, true);
    if (strcasecmp(c, "COMPACT") == 0)
        return cmd_compact(x, ctx, a, o);
    if (strcasecmp(c, "BACKUP") == 0)
        return cmd_backup(x, ctx, a, o, false);
    if (strcasecmp(c, "RESTORE") == 0)
        return cmd_backup(x, ctx, a, o, true);
    *known = false;
    return 0;
}

/* Wraps JSON text as a CipherBlob with valid metadata. */
static Amaters__Types__CipherBlob *json_blob(struct amaters_qctx *ctx,
                                             const char *text)
{
    size_t n = strlen(text);
    uint8_t *data = amaters_arena_memdup(ctx->arena, text, n);
    if (data == NULL)
        return NULL;
    struct amaters_record r = {
        .size = n,
        .checksum = amaters_crc32(0, data, n),
        .created_at = amaters_unix_seconds(),
        .data = data,
        .data_len = n,
    };
    return q_blob(ctx, &r);
}

int q_admin(struct amaters_exec *x, struct amaters_qctx *ctx,
            const Amaters__Query__GetQuery *g,
            Amaters__Query__QueryResult **out)
{
    size_t plen = strlen(AMATERS_ADMIN_PREFIX);
    struct admin_args a;
    bool known = false;
    size_t line_len = g->key->data.len - plen;
    char *line = amaters_arena_memdup(ctx->arena, g->key->data.data + plen,
                                      line_len);
    cJSON *o = cJSON_CreateObject();
    Amaters__Types__CipherBlob *blob = NULL;
    int rc = 0;

    if (line == NULL || o == NULL) {
        rc = amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
        goto out;
    }
    split_args(line, line_len, &a);
    if (a.argc == 0)
        goto answer;
    if (strlen(a.argv[0]) != a.lens[0])
        rc = amaters_qctx_fail(ctx, AMATERS_EINVAL,
                               "admin command name contains a NUL byte");
    if (rc == 0)
        rc = check_args(ctx, &a);
    if (rc == 0)
        rc = run(x, ctx, &a, o, &known);
    if (rc) {
        if (ctx->err[0] == '\0')
            amaters_qctx_fail(ctx, rc, "admin %s: %s", a.argv[0],
                              amaters_strerror(rc));
        /* operators look for failed BACKUPs and RESTOREs in the log too
         * (the message is escaped by the log) */
        amaters_log(AMATERS_LOG_WARN, "admin", "admin command failed: %s",
                    ctx->err);
        goto out;
    }
    if (known) {
        for (char *p = a.argv[0]; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        cJSON_AddStringToObject(o, "command", a.argv[0]);
        char *text = cJSON_PrintUnformatted(o);
        if (text)
            blob = json_blob(ctx, text);
        cJSON_free(text);
        if (blob == NULL) {
            rc = amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
            goto out;
        }
        amaters_log(AMATERS_LOG_INFO, "admin", "admin command %s", a.argv[0]);
    }
answer:
    *out = q_result_single(ctx, blob);
    if (*out == NULL)
        rc = amaters_qctx_fail(ctx, AMATERS_ENOMEM, "out of memory");
out:
    cJSON_Delete(o);
    if (ctx->authz && ctx->authz->admin_done)
        ctx->authz->admin_done(ctx->authz->arg, a.argc ? a.argv[0] : "",
                               rc, rc ? ctx->err : "");
    return rc;
}
