/*
 * config_schema.c - the one table that describes every configuration key
 * (name, type, place in struct amaters_config, default, bounds or allowed
 * values, flags, description), plus the checkers for host:port and
 * id:host:port strings and the lookups over the table.
 *
 * To add a key: add the field to struct amaters_config in config.h and one
 * row here (keeping each section's rows together), then regenerate
 * docs/configuration.md with the amaters-config-docs tool. Parsing, the
 * environment variable, validation, the dump and the docs follow.
 */
#include "config/config_schema.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define OFF(m) offsetof(struct amaters_config, m)

#define BOOL(n, m, d, fl, ds)                                                 \
    {.name = n, .type = CFG_BOOL, .offset = OFF(m), .def_int = d,            \
     .flags = fl, .desc = ds}
#define INT(n, m, d, lo, hi, fl, ds)                                          \
    {.name = n, .type = CFG_INT, .offset = OFF(m), .def_int = d, .min = lo,  \
     .max = hi, .flags = fl, .desc = ds}
#define STR(n, m, d, fl, ds)                                                  \
    {.name = n, .type = CFG_STRING, .offset = OFF(m), .def_str = d,          \
     .flags = fl, .desc = ds}
#define ADDR(n, m, d, fl, ds)                                                 \
    {.name = n, .type = CFG_STRING, .offset = OFF(m), .def_str = d,          \
     .check = cfg_check_host_port, .format = "host:port", .flags = fl,       \
     .desc = ds}
#define ENUM(n, m, d, al, fl, ds)                                             \
    {.name = n, .type = CFG_ENUM, .offset = OFF(m), .aux = OFF(m##_id),      \
     .def_str = d, .allowed = al, .flags = fl, .desc = ds}
#define LIST(n, m, fl, ds)                                                    \
    {.name = n, .type = CFG_LIST, .offset = OFF(m), .aux = OFF(m##_count),   \
     .flags = fl, .desc = ds}

#define RELOAD CFG_RELOADABLE
#define SECS_DAY 86400

static const char *const engines[] = {"memory", "lsm", NULL};
static const char *const sync_modes[] = {"always", "interval", "none", NULL};
static const char *const strategies[] = {"leveled", "universal", "fifo",
                                         NULL};
static const char *const levels[] = {"trace", "debug", "info",
                                     "warn",  "error", NULL};
static const struct cfg_alias level_aliases[] = {{"warning", "warn"},
                                                 {NULL, NULL}};
static const char *const formats[] = {"pretty", "compact", "json", NULL};
static const char *const methods[] = {"mtls", "jwt", "api_key", NULL};
static const char *const algorithms[] = {
    "HS256", "HS384", "HS512", "RS256", "RS384",
    "RS512", "ES256", "ES384", "EdDSA", NULL};
static const char *const fsync_modes[] = {"none", "always", "interval",
                                          NULL};
static const char *const authz_modes[] = {"deny-by-default",
                                          "allow-by-default", NULL};

const struct cfg_field cfg_fields[] = {
    /* [server] */
    ADDR("server.bind_address", server.bind_address, "127.0.0.1:50051", 0,
         "Address of the gRPC listener. Port 0 picks a free port."),
    STR("server.data_dir", server.data_dir, "./data", 0,
        "Directory for the database, WAL and PID file, and by default "
        "for the log file and the audit log."),
    STR("server.pid_file", server.pid_file, "", 0,
        "PID file path; empty means <data_dir>/amaters-server.pid."),
    INT("server.max_connections", server.max_connections, 1000, 1, 1000000,
        0,
        "Most gRPC calls in flight at once, all clients together (a "
        "stream counts until it ends), despite the original's name; calls "
        "over it are refused with RESOURCE_EXHAUSTED (HealthCheck never "
        "is)."),
    INT("server.shutdown_timeout_secs", server.shutdown_timeout_secs, 30, 0,
        3600, 0, "How long shutdown waits for in-flight calls to finish."),
    INT("server.worker_threads", server.worker_threads, 0, 0, 256, 0,
        "Completion-queue worker threads; 0 means one per CPU."),

    /* [storage] */
    ENUM("storage.engine", storage.engine, "lsm", engines, 0,
         "Storage engine: lsm (RocksDB on disk, durable per "
         "storage.wal.sync_mode) or memory (nothing survives a restart)."),
    INT("storage.memtable_size_mb", storage.memtable_size_mb, 64, 1, 65536,
        0, "Size of one in-memory write buffer before it is flushed."),
    INT("storage.block_cache_size_mb", storage.block_cache_size_mb, 256, 0,
        1048576, 0, "Read cache for on-disk blocks; 0 disables it."),
    INT("storage.blob_min_size_kb", storage.blob_min_size_kb, 4, 0, 1048576,
        0,
        "Values at least this large are kept in blob files, which "
        "compactions do not rewrite (ciphertexts are KBs to MBs); 0 keeps "
        "every value in the LSM tree."),
    BOOL("storage.wal.enabled", storage.wal.enabled, 1, 0,
         "Write-ahead log; without it a crash loses the writes not yet "
         "flushed from the memtables, and sync_mode has no effect."),
    STR("storage.wal.dir", storage.wal.dir, "wal", 0,
        "WAL directory; a relative path is inside data_dir."),
    INT("storage.wal.segment_size_mb", storage.wal.segment_size_mb, 64, 1,
        4096, 0,
        "WAL bytes kept before the memtables they cover are flushed and "
        "the old WAL files freed."),
    ENUM("storage.wal.sync_mode", storage.wal.sync_mode, "always",
         sync_modes, 0,
         "When the WAL is synced to disk: always (before acknowledging), "
         "interval (every sync_interval_ms) or none (left to the OS)."),
    INT("storage.wal.sync_interval_ms", storage.wal.sync_interval_ms, 100, 1,
        60000, 0, "Sync period for sync_mode = \"interval\"."),
    INT("storage.wal.commit_spin_us", storage.wal.commit_spin_us, 300, 0,
        10000, 0,
        "After committing a group of a single write, the committer watches "
        "for the next write this long (yielding the CPU) before it sleeps: "
        "a lone client's next write starts without a thread wake-up (about "
        "15% lower latency here) at the cost of some CPU while such a "
        "client writes. 0 disables."),
    ENUM("storage.compaction.strategy", storage.compaction.strategy,
         "leveled", strategies, 0, "Compaction strategy of the lsm engine."),
    INT("storage.compaction.num_levels", storage.compaction.num_levels, 7, 1,
        20, 0, "Number of LSM levels."),
    INT("storage.compaction.level_multiplier",
        storage.compaction.level_multiplier, 10, 2, 100, 0,
        "Size ratio between adjacent LSM levels."),
    INT("storage.compaction.max_concurrent",
        storage.compaction.max_concurrent, 4, 1, 64, 0,
        "Most compactions running at once."),

    /* [network] */
    BOOL("network.tls_enabled", network.tls_enabled, 0, 0,
         "Serve gRPC over TLS (needs tls_cert and tls_key)."),
    STR("network.tls_cert", network.tls_cert, "", 0,
        "PEM server certificate chain."),
    STR("network.tls_key", network.tls_key, "", 0, "PEM server private key."),
    STR("network.tls_ca", network.tls_ca, "", 0,
        "PEM CA bundle used to verify client certificates."),
    BOOL("network.require_client_cert", network.require_client_cert, 0, 0,
         "Refuse TLS clients without a certificate signed by tls_ca."),
    INT("network.connection_timeout_secs", network.connection_timeout_secs,
        30, 1, 3600, 0,
        "Time a new connection has to finish its TLS and HTTP/2 "
        "handshake; slower connections are closed."),
    INT("network.keepalive_interval_secs", network.keepalive_interval_secs,
        60, 1, SECS_DAY, 0, "Interval of HTTP/2 keepalive pings."),

    /* [limits] */
    INT("limits.max_message_bytes", limits.max_message_bytes, 67108864, 1024,
        2147483647, 0, "Largest gRPC request or response message; raised "
        "to max_value_bytes + max_key_bytes + 64 KiB when smaller, so that "
        "a value of the maximum size always fits in a request and its "
        "answer."),
    INT("limits.max_key_bytes", limits.max_key_bytes, 65536, 1, 65536,
        0, "Longest key."),
    INT("limits.max_value_bytes", limits.max_value_bytes, 67108864, 0,
        2147483647, 0, "Largest stored value."),
    INT("limits.max_batch_queries", limits.max_batch_queries, 10000, 1,
        1000000, 0, "Most queries in one ExecuteBatch call."),
    INT("limits.rps", limits.rps, 0, 0, 10000000, 0,
        "Calls per second allowed to each principal (each peer IP when "
        "anonymous); 0 = no limit. Over it: RESOURCE_EXHAUSTED with a "
        "retry-after trailer."),
    INT("limits.burst", limits.burst, 0, 0, 10000000, 0,
        "Bucket size of the per-principal limit; 0 = same as rps."),
    INT("limits.global_rps", limits.global_rps, 0, 0, 10000000, 0,
        "Calls per second allowed in total; 0 = no limit."),
    INT("limits.global_burst", limits.global_burst, 0, 0, 10000000, 0,
        "Bucket size of the global limit; 0 = same as global_rps."),
    INT("limits.max_calls_per_client", limits.max_calls_per_client, 0, 0,
        1000000, 0,
        "Calls one principal (or peer IP when anonymous) may have in flight; "
        "0 = no limit (server.max_connections bounds all calls). Over it: "
        "RESOURCE_EXHAUSTED with a retry-after trailer."),

    /* [query] */
    INT("query.stream_batch_size", query.stream_batch_size, 100, 1, 100000,
        0, "Results per chunk of ExecuteStream."),
    INT("query.default_timeout_ms", query.default_timeout_ms, 30000, 0,
        86400000, 0,
        "Timeout of a query whose client sends none; 0 means no timeout."),

    /* [cluster] */
    BOOL("cluster.enabled", cluster.enabled, 0, 0,
         "Replicate through Raft with the peers below."),
    INT("cluster.node_id", cluster.node_id, 1, 1, INT64_MAX, 0,
        "This node's id, unique in the cluster."),
    {.name = "cluster.peers",
     .type = CFG_LIST,
     .offset = OFF(cluster.peers),
     .aux = OFF(cluster.peers_count),
     .check = cfg_check_peer,
     .format = "id:host:port",
     .desc = "The other members, each as \"id:host:port\"."},
    INT("cluster.heartbeat_interval_ms", cluster.heartbeat_interval_ms, 100,
        1, 60000, 0, "Raft leader heartbeat period."),
    INT("cluster.election_timeout_ms", cluster.election_timeout_ms, 1000, 1,
        600000, 0,
        "Raft election timeout; must exceed heartbeat_interval_ms."),

    /* [logging] */
    {.name = "logging.level",
     .type = CFG_ENUM,
     .offset = OFF(logging.level),
     .aux = OFF(logging.level_id),
     .def_str = "info",
     .allowed = levels,
     .aliases = level_aliases,
     .flags = CFG_NOCASE | RELOAD,
     .desc = "Least severe level logged; any case, \"warning\" means "
             "warn."},
    ENUM("logging.format", logging.format, "pretty", formats, 0,
         "Log line format."),
    BOOL("logging.file_enabled", logging.file_enabled, 0, 0,
         "Where log lines go once logging is set up: true = to file_path "
         "only (nothing to the console); false = to standard output, every "
         "level (ERROR too). Either way, configuration errors, start-up "
         "failures and lines logged before logging is set up go to "
         "standard error."),
    STR("logging.file_path", logging.file_path, "", 0,
        "Log file used when file_enabled is true; empty means "
        "<data_dir>/amaters-server.log. Its directory must exist."),
    BOOL("logging.rotation.enabled", logging.rotation.enabled, 0, 0,
         "Rotate the log file by size."),
    INT("logging.rotation.max_size_mb", logging.rotation.max_size_mb, 100, 1,
        1048576, 0, "Size at which the log file is rotated."),
    INT("logging.rotation.max_backups", logging.rotation.max_backups, 10, 0,
        1000, 0, "Rotated files kept; older ones are deleted."),

    /* [metrics] */
    BOOL("metrics.enabled", metrics.enabled, 1, 0,
         "Serve /metrics and the health endpoints over HTTP."),
    ADDR("metrics.bind_address", metrics.bind_address, "127.0.0.1:9090", 0,
         "Address of the health and metrics HTTP listener."),
    INT("metrics.export_interval_secs", metrics.export_interval_secs, 60, 1,
        SECS_DAY, 0,
        "While metrics.enabled is true, the server logs one INFO line "
        "\"metrics snapshot: ...\" this often (checked every second): "
        "uptime, keys and bytes stored, gRPC calls and failed calls so far, "
        "and audit records dropped when the audit log is on."),

    /* [auth] */
    BOOL("auth.enabled", auth.enabled, 0, 0,
         "Authenticate clients with the methods below."),
    {.name = "auth.methods",
     .type = CFG_LIST,
     .offset = OFF(auth.methods),
     .aux = OFF(auth.methods_count),
     .aux2 = OFF(auth.methods_mask),
     .allowed = methods,
     .flags = CFG_MASK,
     .desc = "Methods in use; a method whose own section has enabled = true "
             "is in use too."},
    BOOL("auth.reject_unauthenticated", auth.reject_unauthenticated, 1, 0,
         "Refuse calls that present no credentials."),
    BOOL("auth.mtls.enabled", auth.mtls.enabled, 0, 0,
         "Authenticate by TLS client certificate."),
    STR("auth.mtls.ca_certs_dir", auth.mtls.ca_certs_dir, "", 0,
        "Directory of trusted client CA certificates."),
    STR("auth.mtls.crl_path", auth.mtls.crl_path, "", 0,
        "PEM certificate revocation list."),
    BOOL("auth.mtls.verify_cn", auth.mtls.verify_cn, 1, 0,
         "Use the client certificate's common name as the principal (else "
         "its first subject alternative name); false: only the SANs."),
    LIST("auth.mtls.allowed_organizations", auth.mtls.allowed_organizations,
         0, "If not empty, only certificates of these organizations."),
    BOOL("auth.jwt.enabled", auth.jwt.enabled, 0, 0,
         "Authenticate by JSON Web Token."),
    STR("auth.jwt.secret", auth.jwt.secret, "", CFG_SECRET,
        "Shared secret of the HS* algorithms. Never logged or shown."),
    ENUM("auth.jwt.algorithm", auth.jwt.algorithm, "HS256", algorithms, 0,
         "Token signature algorithm."),
    STR("auth.jwt.public_key_path", auth.jwt.public_key_path, "", 0,
        "PEM public key of the RS*, ES* and EdDSA algorithms."),
    INT("auth.jwt.expiration_secs", auth.jwt.expiration_secs, 3600, 1,
        31536000, 0,
        "Longest token lifetime accepted: exp - iat may not exceed it "
        "(plus leeway_secs); tokens without iat are not limited."),
    STR("auth.jwt.issuer", auth.jwt.issuer, "", 0,
        "Required iss claim; empty accepts any."),
    STR("auth.jwt.audience", auth.jwt.audience, "", 0,
        "Required aud claim; empty accepts any."),
    INT("auth.jwt.leeway_secs", auth.jwt.leeway_secs, 60, 0, 3600, 0,
        "Clock skew tolerated on exp and nbf."),
    BOOL("auth.api_key.enabled", auth.api_key.enabled, 0, 0,
         "Authenticate by API key."),
    STR("auth.api_key.keys_file", auth.api_key.keys_file, "", 0,
        "JSON file of API keys."),
    STR("auth.api_key.header_name", auth.api_key.header_name, "x-api-key",
        0, "Request metadata key carrying the API key (any case)."),
    BOOL("auth.api_key.hash_keys", auth.api_key.hash_keys, 1, 0,
         "key_hash values in keys_file are hashes (base64 SHA-256, or "
         "HMAC-SHA-256 with hash_secret); false: they are the keys "
         "themselves (not recommended)."),
    STR("auth.api_key.hash_secret", auth.api_key.hash_secret, "",
        CFG_SECRET,
        "Server secret: key_hash values are base64 HMAC-SHA-256(secret, "
        "key); the original's plain SHA-256 form is accepted too. Never "
        "logged or shown."),

    /* [authz] */
    BOOL("authz.enabled", authz.enabled, 0, 0,
         "Check role permissions on every call."),
    STR("authz.default_role", authz.default_role, "", RELOAD,
        "Role of an authenticated user with no role; empty means none."),
    STR("authz.roles_file", authz.roles_file, "", 0,
        "TOML file defining the roles."),
    BOOL("authz.collection_permissions", authz.collection_permissions, 1, 0,
         "Permissions may name single collections; false: only rules on "
         "every collection (collection:*, *) apply."),
    ENUM("authz.default_mode", authz.default_mode, "deny-by-default",
         authz_modes, RELOAD,
         "Whether what no permission mentions is denied or allowed."),
    BOOL("authz.audit_enabled", authz.audit_enabled, 0, 0,
         "Append to audit_log_path every authentication result, every "
         "denied call, every admin command and every configuration "
         "reload (allowed data calls are not recorded)."),
    STR("authz.audit_log_path", authz.audit_log_path, "", 0,
        "Audit log, one JSON object per line; empty means "
        "<data_dir>/audit.jsonl. SIGHUP reopens it (for rotation)."),
    ENUM("authz.audit_fsync", authz.audit_fsync, "interval", fsync_modes, 0,
         "When the audit log is synced: after every record (always), every "
         "audit_fsync_interval_ms (interval), or never (none)."),
    INT("authz.audit_fsync_interval_ms", authz.audit_fsync_interval_ms, 1000,
        1, 60000, 0, "Sync interval of the audit log in interval mode."),
};

const size_t cfg_nfields = sizeof(cfg_fields) / sizeof(cfg_fields[0]);

const struct cfg_field *cfg_find(const char *name, size_t nlen)
{
    size_t i;

    for (i = 0; i < cfg_nfields; i++) {
        if (strlen(cfg_fields[i].name) == nlen &&
            memcmp(cfg_fields[i].name, name, nlen) == 0)
            return &cfg_fields[i];
    }
    return NULL;
}

bool cfg_is_section(const char *name, size_t nlen)
{
    size_t i;

    for (i = 0; i < cfg_nfields; i++) {
        if (strlen(cfg_fields[i].name) > nlen &&
            memcmp(cfg_fields[i].name, name, nlen) == 0 &&
            cfg_fields[i].name[nlen] == '.')
            return true;
    }
    return false;
}

size_t cfg_section_len(const struct cfg_field *f)
{
    return (size_t)(strrchr(f->name, '.') - f->name);
}

void cfg_env_name(const struct cfg_field *f, char *buf, size_t n)
{
    size_t o, i;

    o = (size_t)snprintf(buf, n, "AMATERS_");
    for (i = 0; f->name[i] != '\0' && o + 2 < n; i++) {
        if (f->name[i] == '.') {
            buf[o++] = '_';
            buf[o++] = '_';
        } else {
            buf[o++] = (char)toupper((unsigned char)f->name[i]);
        }
    }
    buf[o < n ? o : n - 1] = '\0';
}

/* A DNS name: labels of letters, digits, '-' and '_' separated by dots. */
static int check_hostname(const char *h, size_t n)
{
    size_t i, label = 0;

    if (n == 0 || n > 253)
        return -1;
    for (i = 0; i < n; i++) {
        if (h[i] == '.') {
            if (label == 0)
                return -1;
            label = 0;
        } else if (isalnum((unsigned char)h[i]) || h[i] == '_' ||
                   (h[i] == '-' && label > 0)) {
            if (++label > 63)
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

static int check_port(const char *s)
{
    long port = 0;
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (!isdigit((unsigned char)s[i]) || i >= 5)
            return -1;
        port = port * 10 + (s[i] - '0');
    }
    return i == 0 || port > 65535 ? -1 : 0;
}

int cfg_check_host_port(const char *s)
{
    unsigned char addr[16];
    char host[256];
    const char *colon, *end;
    size_t n;
    bool numeric = true;

    if (s[0] == '[') {
        end = strchr(s, ']');
        if (end == NULL || end[1] != ':' || (size_t)(end - s - 1) >= 64)
            return -1;
        n = (size_t)(end - s - 1);
        memcpy(host, s + 1, n);
        host[n] = '\0';
        if (inet_pton(AF_INET6, host, addr) != 1)
            return -1;
        return check_port(end + 2);
    }
    colon = strrchr(s, ':');
    if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
        return -1;
    n = (size_t)(colon - s);
    memcpy(host, s, n);
    host[n] = '\0';
    for (end = host; *end != '\0'; end++) {
        if (!isdigit((unsigned char)*end) && *end != '.')
            numeric = false;
    }
    if (numeric && inet_pton(AF_INET, host, addr) != 1)
        return -1;
    if (!numeric && check_hostname(host, n) != 0)
        return -1;
    return check_port(colon + 1);
}

int64_t cfg_peer_id(const char *peer)
{
    int64_t id = 0;

    for (; isdigit((unsigned char)*peer); peer++) {
        if (id > (INT64_MAX - (*peer - '0')) / 10)
            return -1;
        id = id * 10 + (*peer - '0');
    }
    return id;
}

int cfg_check_peer(const char *s)
{
    const char *colon = strchr(s, ':');

    if (colon == NULL || colon == s || !isdigit((unsigned char)s[0]))
        return -1;
    if ((size_t)(colon - s) > 19 || cfg_peer_id(s) <= 0)
        return -1;
    if (strspn(s, "0123456789") != (size_t)(colon - s))
        return -1;
    return cfg_check_host_port(colon + 1);
}
