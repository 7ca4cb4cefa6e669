/*
 * config.h - the server's configuration: one struct with one nested struct
 * per TOML section, and the functions that fill it from built-in defaults,
 * a TOML file, the environment and command-line flags, check it, print it
 * back as TOML and document it.
 *
 * Every key is described once, in the declarative table of
 * config_schema.c (name, type, place in the struct, default, bounds or
 * allowed values, secret and reloadable flags, description). Defaults,
 * parsing, environment names, validation, the TOML dump and
 * docs/configuration.md are all driven from that table, so they cannot
 * disagree. Field names are the TOML key names: `server.bind_address` in
 * the file is cfg->server.bind_address here.
 *
 * Types: integers are int64_t, booleans bool, strings char * (never NULL
 * after amaters_config_init_defaults(); owned by the config), string arrays
 * char ** plus a <name>_count. Keys with a fixed set of values keep the
 * string (canonical spelling) and also an enum in <name>_id; auth.methods
 * also has a bit mask, methods_mask.
 *
 * Layering: amaters_config_init_defaults(), then amaters_config_load_file()
 * (or _load_buffer()), amaters_config_apply_env(), amaters_config_set() for
 * each command-line flag, and finally amaters_config_validate(). Each step
 * checks the type, range and allowed values of what it sets and changes
 * nothing when it fails; cross-field rules are checked by validate only,
 * because a later layer may still repair an earlier one.
 *
 * Threads: a struct amaters_config has no locking. Build it on one thread;
 * afterwards any number of threads may read it while nobody writes it.
 * The functions below keep no global state and may run on any thread.
 */
#ifndef AMATERS_CONFIG_CONFIG_H
#define AMATERS_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum amaters_storage_engine {
    AMATERS_STORAGE_ENGINE_MEMORY,
    AMATERS_STORAGE_ENGINE_LSM,
};

enum amaters_wal_sync_mode {
    AMATERS_WAL_SYNC_ALWAYS,
    AMATERS_WAL_SYNC_INTERVAL,
    AMATERS_WAL_SYNC_NONE,
};

enum amaters_compaction_strategy {
    AMATERS_COMPACTION_LEVELED,
    AMATERS_COMPACTION_UNIVERSAL,
    AMATERS_COMPACTION_FIFO,
};

enum amaters_config_log_level {
    AMATERS_LOG_LEVEL_TRACE,
    AMATERS_LOG_LEVEL_DEBUG,
    AMATERS_LOG_LEVEL_INFO,
    AMATERS_LOG_LEVEL_WARN,
    AMATERS_LOG_LEVEL_ERROR,
};

enum amaters_config_log_format {
    AMATERS_LOG_FORMAT_PRETTY,
    AMATERS_LOG_FORMAT_COMPACT,
    AMATERS_LOG_FORMAT_JSON,
};

/* Bits of auth.methods_mask (order of the allowed values of auth.methods). */
enum amaters_auth_method {
    AMATERS_AUTH_METHOD_MTLS = 1u << 0,
    AMATERS_AUTH_METHOD_JWT = 1u << 1,
    AMATERS_AUTH_METHOD_API_KEY = 1u << 2,
};

enum amaters_jwt_algorithm {
    AMATERS_JWT_HS256,
    AMATERS_JWT_HS384,
    AMATERS_JWT_HS512,
    AMATERS_JWT_RS256,
    AMATERS_JWT_RS384,
    AMATERS_JWT_RS512,
    AMATERS_JWT_ES256,
    AMATERS_JWT_ES384,
    AMATERS_JWT_EDDSA,
};

enum amaters_audit_fsync_mode {
    AMATERS_AUDIT_FSYNC_MODE_NONE,
    AMATERS_AUDIT_FSYNC_MODE_ALWAYS,
    AMATERS_AUDIT_FSYNC_MODE_INTERVAL,
};

enum amaters_authz_mode {
    AMATERS_AUTHZ_DENY_BY_DEFAULT,
    AMATERS_AUTHZ_ALLOW_BY_DEFAULT,
};

/* The complete configuration. See docs/configuration.md for every key. */
struct amaters_config {
    struct amaters_config_server {
        char *bind_address; /* host:port of the gRPC listener; port 0 ok */
        char *data_dir;
        char *pid_file; /* "" = <data_dir>/amaters-server.pid */
        int64_t max_connections;
        int64_t shutdown_timeout_secs;
        int64_t worker_threads; /* 0 = number of CPUs */
    } server;
    struct amaters_config_storage {
        char *engine;
        enum amaters_storage_engine engine_id;
        int64_t memtable_size_mb;
        int64_t block_cache_size_mb;
        int64_t blob_min_size_kb; /* 0 = no blob files */
        struct amaters_config_storage_wal {
            bool enabled;
            char *dir;
            int64_t segment_size_mb;
            char *sync_mode;
            enum amaters_wal_sync_mode sync_mode_id;
            int64_t sync_interval_ms;
            int64_t commit_spin_us;
        } wal;
        struct amaters_config_storage_compaction {
            char *strategy;
            enum amaters_compaction_strategy strategy_id;
            int64_t num_levels;
            int64_t level_multiplier;
            int64_t max_concurrent;
        } compaction;
    } storage;
    struct amaters_config_network {
        bool tls_enabled;
        char *tls_cert;
        char *tls_key;
        char *tls_ca;
        bool require_client_cert;
        int64_t connection_timeout_secs;
        int64_t keepalive_interval_secs;
    } network;
    struct amaters_config_limits {
        int64_t max_message_bytes;
        int64_t max_key_bytes;
        int64_t max_value_bytes;
        int64_t max_batch_queries;
        int64_t rps;          /* per principal (or peer IP); 0 = no limit */
        int64_t burst;        /* 0 = same as rps */
        int64_t global_rps;   /* all calls; 0 = no limit */
        int64_t global_burst; /* 0 = same as global_rps */
        int64_t max_calls_per_client; /* calls in flight; 0 = no limit */
    } limits;
    struct amaters_config_query {
        int64_t stream_batch_size;
        int64_t default_timeout_ms; /* 0 = no timeout */
    } query;
    struct amaters_config_cluster {
        bool enabled;
        int64_t node_id;
        char **peers; /* "id:host:port" */
        size_t peers_count;
        int64_t heartbeat_interval_ms;
        int64_t election_timeout_ms;
    } cluster;
    struct amaters_config_logging {
        char *level; /* canonical: lower case, "warning" stored as "warn" */
        enum amaters_config_log_level level_id;
        char *format;
        enum amaters_config_log_format format_id;
        bool file_enabled;
        char *file_path; /* "" = <data_dir>/amaters-server.log */
        struct amaters_config_logging_rotation {
            bool enabled;
            int64_t max_size_mb;
            int64_t max_backups;
        } rotation;
    } logging;
    struct amaters_config_metrics {
        bool enabled;
        char *bind_address;
        int64_t export_interval_secs;
    } metrics;
    struct amaters_config_auth {
        bool enabled;
        char **methods;
        size_t methods_count;
        unsigned methods_mask; /* enum amaters_auth_method bits */
        bool reject_unauthenticated;
        struct amaters_config_auth_mtls {
            bool enabled;
            char *ca_certs_dir;
            char *crl_path;
            bool verify_cn;
            char **allowed_organizations;
            size_t allowed_organizations_count;
        } mtls;
        struct amaters_config_auth_jwt {
            bool enabled;
            char *secret; /* secret: never logged or dumped */
            char *algorithm;
            enum amaters_jwt_algorithm algorithm_id;
            char *public_key_path;
            int64_t expiration_secs;
            char *issuer;
            char *audience;
            int64_t leeway_secs;
        } jwt;
        struct amaters_config_auth_api_key {
            bool enabled;
            char *keys_file;
            char *header_name;
            bool hash_keys;
            char *hash_secret; /* secret: HMAC key of key_hash */
        } api_key;
    } auth;
    struct amaters_config_authz {
        bool enabled;
        char *default_role;
        char *roles_file;
        bool collection_permissions;
        char *default_mode;
        enum amaters_authz_mode default_mode_id;
        bool audit_enabled;
        char *audit_log_path; /* "" = <data_dir>/audit.jsonl */
        char *audit_fsync;
        enum amaters_audit_fsync_mode audit_fsync_id;
        int64_t audit_fsync_interval_ms;
    } authz;
    /* Where each key's value came from, for messages: one string per key
     * in schema order, NULL for a built-in default (the whole array is
     * NULL until a key is set). Owned by the config, copied and freed with
     * it; read it through amaters_config_origin(). Set by the load, env
     * and set functions only: a direct edit of a field keeps the origin of
     * the value it replaced. */
    char **origins;
};

/*
 * Fills cfg with the built-in defaults (a working single-node server).
 * cfg's previous contents are overwritten, not freed. Returns 0, or
 * AMATERS_ENOMEM when a default string cannot be copied (cfg is then
 * zeroed and safe to free). The caller frees cfg with amaters_config_free().
 */
int amaters_config_init_defaults(struct amaters_config *cfg);

/*
 * Releases every string and array owned by cfg (secrets are wiped first)
 * and zeroes it. Safe on a zeroed or already freed config.
 */
void amaters_config_free(struct amaters_config *cfg);

/*
 * Reads the TOML file at path and applies every key in it on top of cfg.
 * Unknown sections or keys, wrong types, out-of-range numbers and values
 * outside the allowed set are errors: err gets
 * "PATH:LINE:COL: message" (an unknown key also gets a "did you mean"
 * suggestion when one is close). So is a secret key whose value is the
 * placeholder "<redacted>" that the dump writes in place of a secret. Each
 * key applied records "PATH:LINE:COL" of its value as its origin. On any
 * error cfg is left unchanged. Returns 0, AMATERS_EIO (unreadable, or an
 * empty path; err names the path and errno text), AMATERS_EPARSE (not
 * TOML; an error inside a value names its dotted key after the position),
 * AMATERS_ECONFIG (bad key or value) or AMATERS_ENOMEM.
 */
int amaters_config_load_file(struct amaters_config *cfg, const char *path,
                             char *err, size_t errlen);

/*
 * As amaters_config_load_file() for len bytes of TOML text; name stands
 * for the file name in messages (NULL = "<string>").
 */
int amaters_config_load_buffer(struct amaters_config *cfg, const char *text,
                               size_t len, const char *name, char *err,
                               size_t errlen);

/*
 * Applies environment overrides from envp (a NULL-terminated array of
 * "NAME=VALUE" strings, e.g. environ). Names are matched without regard to
 * case. AMATERS_<SECTION>__<KEY>, with nested tables also joined by "__"
 * (AMATERS_STORAGE__WAL__SYNC_MODE), sets that key; so do the legacy names
 * AMATERS_BIND_ADDRESS, AMATERS_DATA_DIR, AMATERS_LOG_LEVEL and
 * AMATERS_TLS_ENABLED, which are applied first so that the general name
 * wins when both are set. Other variables without "__" are ignored; an
 * AMATERS_..."__"... variable naming no key is an error naming it (one
 * naming a table, such as AMATERS_STORAGE__WAL, says so and names one of
 * its keys). Values are read as amaters_config_set() reads them, and each
 * key set records "environment NAME" as its origin. On error cfg is
 * unchanged, err says "environment NAME: ...", and the result is
 * AMATERS_ECONFIG or AMATERS_ENOMEM.
 */
int amaters_config_apply_env(struct amaters_config *cfg, char *const *envp,
                             char *err, size_t errlen);

/*
 * Sets one key from text, as the environment and command-line flags do.
 * dotted_key is "section.key" ("storage.wal.sync_mode"). Booleans accept
 * true/false/1/0/yes/no/on/off (any case), integers an optional sign and
 * decimal digits, string arrays either a TOML array literal ["a", "b"] or
 * comma-separated items (surrounding blanks trimmed; "" is the empty
 * array). source says where the text came from ("--bind",
 * "environment AMATERS_X"); it starts the error message,
 * "SOURCE: key: expected integer in 0..3600, got \"abc\"", and becomes the
 * key's origin. A table's name is refused with "SOURCE: storage.wal is a
 * table; set its keys, e.g. storage.wal.enabled", and a secret key set to
 * the placeholder "<redacted>" is refused too. On error cfg is unchanged.
 * Returns 0, AMATERS_ECONFIG or AMATERS_ENOMEM.
 */
int amaters_config_set(struct amaters_config *cfg, const char *dotted_key,
                       const char *value, const char *source, char *err,
                       size_t errlen);

/*
 * Checks every key against its type, range and allowed values (so direct
 * edits of the struct are checked too), then the rules between keys:
 * election timeout above heartbeat interval, TLS needs certificate and key,
 * client certificates need TLS and a CA, enabled authentication needs a
 * method and what each method needs (api_key: keys_file; jwt: a secret for
 * HS*, a public_key_path otherwise; mtls: TLS and a CA), distinct cluster
 * peer ids, and the like; a secret that is the placeholder "<redacted>"
 * is refused as well. A message about a rule between keys ends with the
 * origins of the keys involved: "server.data_dir is empty (from
 * environment AMATERS_DATA_DIR)", "(built-in default)", or for several
 * keys "(server.bind_address: from t.toml:2:16; metrics.bind_address:
 * built-in default)". Files are not opened. Returns 0 or AMATERS_ECONFIG
 * with the first problem in err.
 */
int amaters_config_validate(const struct amaters_config *cfg, char *err,
                            size_t errlen);

/*
 * Writes the complete effective configuration to out as TOML that loads
 * back to the same configuration, with each key's description as a
 * comment, except for secrets: an empty secret is written as "", but a
 * secret that is set is never shown: its line is written commented out,
 * as # key = "<redacted>", with a note to put the real secret there or in
 * its environment variable. Loading the output back therefore leaves such
 * a secret empty (and a config that needs it fails validation, naming
 * it); loading the placeholder itself is refused. Returns 0 or AMATERS_EIO
 * when writing fails.
 */
int amaters_config_dump_toml(const struct amaters_config *cfg, FILE *out);

/*
 * Writes the configuration reference (docs/configuration.md) to out:
 * precedence, the environment rule, the legacy variable names, and per
 * section a table of key, type, default, allowed values, environment
 * variable, reloadability and description. Returns 0 or AMATERS_EIO.
 */
int amaters_config_write_docs_markdown(FILE *out);

/*
 * Writes the PID file path into buf: server.pid_file, or when that is
 * empty "<data_dir>/amaters-server.pid". Returns buf, or NULL when it does
 * not fit in len bytes.
 */
const char *amaters_config_pid_path(const struct amaters_config *cfg,
                                    char *buf, size_t len);

/*
 * Writes the log file path into buf: logging.file_path, or when that is
 * empty "<data_dir>/amaters-server.log". Returns buf, or NULL when it does
 * not fit in len bytes.
 */
const char *amaters_config_log_path(const struct amaters_config *cfg,
                                    char *buf, size_t len);

/*
 * Writes the audit log path into buf: authz.audit_log_path, or when that
 * is empty "<data_dir>/audit.jsonl". Returns buf, or NULL when it does not
 * fit in len bytes.
 */
const char *amaters_config_audit_path(const struct amaters_config *cfg,
                                      char *buf, size_t len);

/*
 * Returns where the value of dotted_key ("server.data_dir") in cfg came
 * from: "PATH:LINE:COL" of the value in a file, "environment NAME", the
 * source given to amaters_config_set() (a flag such as "--data-dir"), or
 * "built-in default" (also for an unknown key). The string belongs to cfg
 * and stays valid until cfg is next changed by the functions above or
 * freed. Any thread that may read cfg may call it.
 */
const char *amaters_config_origin(const struct amaters_config *cfg,
                                  const char *dotted_key);

/*
 * Makes dst a deep copy of src (dst's previous contents are overwritten,
 * not freed). Returns 0 or AMATERS_ENOMEM (dst is then empty and safe to
 * free). The caller frees dst with amaters_config_free().
 */
int amaters_config_copy(struct amaters_config *dst,
                        const struct amaters_config *src);

/*
 * Compares a and b key by key in table order. Returns NULL when they are
 * equal, else the dotted name of the first key that differs (a static
 * string).
 */
const char *amaters_config_diff(const struct amaters_config *a,
                                const struct amaters_config *b);

/*
 * Like amaters_config_diff, but stores up to max names of every key that
 * differs (static strings, table order) in names and returns how many keys
 * differ in all (which may exceed max).
 */
size_t amaters_config_diff_all(const struct amaters_config *a,
                               const struct amaters_config *b,
                               const char **names, size_t max);

/*
 * For a reload: returns 0 when new_cfg differs from old_cfg only in keys
 * marked reloadable, else AMATERS_ECONFIG with err naming the first key
 * that needs a restart.
 */
int amaters_config_check_reload(const struct amaters_config *old_cfg,
                                const struct amaters_config *new_cfg,
                                char *err, size_t errlen);

/*
 * Returns the authentication methods in effect as amaters_auth_method bits:
 * 0 when auth.enabled is false, else the methods listed in auth.methods
 * plus those whose own section says enabled = true.
 */
unsigned amaters_config_auth_methods(const struct amaters_config *cfg);

#endif
