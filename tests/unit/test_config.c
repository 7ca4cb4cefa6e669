/*
 * test_config.c - unit tests of the configuration (src/config/config.h):
 * defaults, the TOML file, the environment, single keys from flags, the
 * precedence of those layers, error messages (unknown keys with line,
 * column and suggestion; wrong types, ranges and values), cross-field
 * validation, the TOML dump (round trip, redacted secrets), the generated
 * docs/configuration.md, and behaviour when allocations fail.
 *
 * Expected values are written out here from the specification, never
 * taken from the code under test. Fixtures live in tests/data/config/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config/config.h"
#include "core/alloc.h"
#include "core/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long live_before;
static struct amaters_config cfg;
static char err[1024];

static int setup(void **state)
{
    (void)state;
    live_before = amaters_alloc_live();
    assert_int_equal(amaters_config_init_defaults(&cfg), 0);
    err[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    amaters_alloc_fail_after(-1);
    amaters_config_free(&cfg);
    assert_int_equal(amaters_alloc_live(), live_before);
    return 0;
}

static const char *data_path(const char *name)
{
    static char path[1024];
    const char *src = getenv("AMATERS_SOURCE_DIR");

    assert_non_null(src);
    snprintf(path, sizeof(path), "%s/tests/data/config/%s", src, name);
    return path;
}

static int load(const char *doc)
{
    return amaters_config_load_buffer(&cfg, doc, strlen(doc), "t.toml", err,
                                      sizeof(err));
}

static void set_ok(const char *key, const char *value)
{
    if (amaters_config_set(&cfg, key, value, "test", err, sizeof(err)) != 0)
        fail_msg("set %s=%s: %s", key, value, err);
}

/* ---- defaults ---- */

static void test_defaults(void **state)
{
    (void)state;
    assert_string_equal(cfg.server.bind_address, "127.0.0.1:50051");
    assert_string_equal(cfg.server.data_dir, "./data");
    assert_string_equal(cfg.server.pid_file, "");
    assert_int_equal(cfg.server.max_connections, 1000);
    assert_int_equal(cfg.server.shutdown_timeout_secs, 30);
    assert_int_equal(cfg.server.worker_threads, 0);
    assert_string_equal(cfg.storage.engine, "lsm");
    assert_int_equal(cfg.storage.engine_id, AMATERS_STORAGE_ENGINE_LSM);
    assert_int_equal(cfg.storage.memtable_size_mb, 64);
    assert_int_equal(cfg.storage.block_cache_size_mb, 256);
    assert_true(cfg.storage.wal.enabled);
    assert_string_equal(cfg.storage.wal.dir, "wal");
    assert_int_equal(cfg.storage.wal.segment_size_mb, 64);
    assert_string_equal(cfg.storage.wal.sync_mode, "always");
    assert_int_equal(cfg.storage.wal.sync_mode_id, AMATERS_WAL_SYNC_ALWAYS);
    assert_int_equal(cfg.storage.wal.sync_interval_ms, 100);
    assert_string_equal(cfg.storage.compaction.strategy, "leveled");
    assert_int_equal(cfg.storage.compaction.strategy_id,
                     AMATERS_COMPACTION_LEVELED);
    assert_int_equal(cfg.storage.compaction.num_levels, 7);
    assert_int_equal(cfg.storage.compaction.level_multiplier, 10);
    assert_int_equal(cfg.storage.compaction.max_concurrent, 4);
    assert_false(cfg.network.tls_enabled);
    assert_string_equal(cfg.network.tls_cert, "");
    assert_string_equal(cfg.network.tls_key, "");
    assert_string_equal(cfg.network.tls_ca, "");
    assert_false(cfg.network.require_client_cert);
    assert_int_equal(cfg.network.connection_timeout_secs, 30);
    assert_int_equal(cfg.network.keepalive_interval_secs, 60);
    assert_int_equal(cfg.limits.max_message_bytes, 67108864);
    assert_int_equal(cfg.limits.max_key_bytes, 65536);
    assert_int_equal(cfg.limits.max_value_bytes, 67108864);
    assert_int_equal(cfg.limits.max_batch_queries, 10000);
    assert_int_equal(cfg.query.stream_batch_size, 100);
    assert_int_equal(cfg.query.default_timeout_ms, 30000);
    assert_false(cfg.cluster.enabled);
    assert_int_equal(cfg.cluster.node_id, 1);
    assert_int_equal(cfg.cluster.peers_count, 0);
    assert_int_equal(cfg.cluster.heartbeat_interval_ms, 100);
    assert_int_equal(cfg.cluster.election_timeout_ms, 1000);
    assert_string_equal(cfg.logging.level, "info");
    assert_int_equal(cfg.logging.level_id, AMATERS_LOG_LEVEL_INFO);
    assert_string_equal(cfg.logging.format, "pretty");
    assert_int_equal(cfg.logging.format_id, AMATERS_LOG_FORMAT_PRETTY);
    assert_false(cfg.logging.file_enabled);
    /* "" = <data_dir>/amaters-server.log, so it follows --data-dir */
    assert_string_equal(cfg.logging.file_path, "");
    assert_false(cfg.logging.rotation.enabled);
    assert_int_equal(cfg.logging.rotation.max_size_mb, 100);
    assert_int_equal(cfg.logging.rotation.max_backups, 10);
    assert_true(cfg.metrics.enabled);
    assert_string_equal(cfg.metrics.bind_address, "127.0.0.1:9090");
    assert_int_equal(cfg.metrics.export_interval_secs, 60);
    assert_false(cfg.auth.enabled);
    assert_int_equal(cfg.auth.methods_count, 0);
    assert_int_equal(cfg.auth.methods_mask, 0);
    assert_true(cfg.auth.reject_unauthenticated);
    assert_false(cfg.auth.mtls.enabled);
    assert_string_equal(cfg.auth.mtls.ca_certs_dir, "");
    assert_string_equal(cfg.auth.mtls.crl_path, "");
    assert_true(cfg.auth.mtls.verify_cn);
    assert_int_equal(cfg.auth.mtls.allowed_organizations_count, 0);
    assert_false(cfg.auth.jwt.enabled);
    assert_string_equal(cfg.auth.jwt.secret, "");
    assert_string_equal(cfg.auth.jwt.algorithm, "HS256");
    assert_int_equal(cfg.auth.jwt.algorithm_id, AMATERS_JWT_HS256);
    assert_string_equal(cfg.auth.jwt.public_key_path, "");
    assert_int_equal(cfg.auth.jwt.expiration_secs, 3600);
    assert_string_equal(cfg.auth.jwt.issuer, "");
    assert_string_equal(cfg.auth.jwt.audience, "");
    assert_int_equal(cfg.auth.jwt.leeway_secs, 60);
    assert_false(cfg.auth.api_key.enabled);
    assert_string_equal(cfg.auth.api_key.keys_file, "");
    assert_string_equal(cfg.auth.api_key.header_name, "x-api-key");
    assert_true(cfg.auth.api_key.hash_keys);
    assert_false(cfg.authz.enabled);
    assert_string_equal(cfg.authz.default_role, "");
    assert_string_equal(cfg.authz.roles_file, "");
    assert_true(cfg.authz.collection_permissions);
    assert_string_equal(cfg.authz.default_mode, "deny-by-default");
    assert_int_equal(cfg.authz.default_mode_id,
                     AMATERS_AUTHZ_DENY_BY_DEFAULT);
    assert_false(cfg.authz.audit_enabled);
    /* "" = <data_dir>/audit.jsonl, so it follows --data-dir */
    assert_string_equal(cfg.authz.audit_log_path, "");
    assert_int_equal(amaters_config_validate(&cfg, err, sizeof(err)), 0);
}

/* ---- the file ---- */

static void check_full_fixture(const struct amaters_config *c)
{
    assert_string_equal(c->server.bind_address, "[::1]:7000");
    assert_string_equal(c->server.data_dir, "/srv/amaters");
    assert_string_equal(c->server.pid_file, "/run/amaters.pid");
    assert_int_equal(c->server.max_connections, 50);
    assert_int_equal(c->server.shutdown_timeout_secs, 5);
    assert_int_equal(c->server.worker_threads, 8);
    assert_int_equal(c->storage.engine_id, AMATERS_STORAGE_ENGINE_LSM);
    assert_int_equal(c->storage.memtable_size_mb, 32);
    assert_int_equal(c->storage.block_cache_size_mb, 0);
    assert_false(c->storage.wal.enabled);
    assert_string_equal(c->storage.wal.dir, "journal");
    assert_int_equal(c->storage.wal.segment_size_mb, 16);
    assert_string_equal(c->storage.wal.sync_mode, "none");
    assert_int_equal(c->storage.wal.sync_mode_id, AMATERS_WAL_SYNC_NONE);
    assert_int_equal(c->storage.wal.sync_interval_ms, 250);
    assert_int_equal(c->storage.compaction.strategy_id,
                     AMATERS_COMPACTION_FIFO);
    assert_int_equal(c->storage.compaction.num_levels, 3);
    assert_int_equal(c->storage.compaction.level_multiplier, 8);
    assert_int_equal(c->storage.compaction.max_concurrent, 2);
    assert_true(c->network.tls_enabled);
    assert_string_equal(c->network.tls_cert, "certs/server.crt");
    assert_string_equal(c->network.tls_key, "certs/server.key");
    assert_string_equal(c->network.tls_ca, "certs/ca.crt");
    assert_true(c->network.require_client_cert);
    assert_int_equal(c->network.connection_timeout_secs, 10);
    assert_int_equal(c->network.keepalive_interval_secs, 20);
    assert_int_equal(c->limits.max_message_bytes, 1048576);
    assert_int_equal(c->limits.max_key_bytes, 1024);
    assert_int_equal(c->limits.max_value_bytes, 524288);
    assert_int_equal(c->limits.max_batch_queries, 100);
    assert_int_equal(c->query.stream_batch_size, 25);
    assert_int_equal(c->query.default_timeout_ms, 0);
    assert_true(c->cluster.enabled);
    assert_int_equal(c->cluster.node_id, 2);
    assert_int_equal(c->cluster.peers_count, 2);
    assert_string_equal(c->cluster.peers[0], "1:10.0.0.1:7000");
    assert_string_equal(c->cluster.peers[1], "3:node3.example:7000");
    assert_int_equal(c->cluster.heartbeat_interval_ms, 50);
    assert_int_equal(c->cluster.election_timeout_ms, 500);
    /* "WARNING" is an accepted spelling of warn, stored canonically. */
    assert_string_equal(c->logging.level, "warn");
    assert_int_equal(c->logging.level_id, AMATERS_LOG_LEVEL_WARN);
    assert_int_equal(c->logging.format_id, AMATERS_LOG_FORMAT_COMPACT);
    assert_true(c->logging.file_enabled);
    assert_string_equal(c->logging.file_path, "/var/log/amaters.log");
    assert_true(c->logging.rotation.enabled);
    assert_int_equal(c->logging.rotation.max_size_mb, 5);
    assert_int_equal(c->logging.rotation.max_backups, 0);
    assert_false(c->metrics.enabled);
    assert_string_equal(c->metrics.bind_address, "0.0.0.0:9100");
    assert_int_equal(c->metrics.export_interval_secs, 15);
    assert_true(c->auth.enabled);
    assert_int_equal(c->auth.methods_count, 2);
    assert_string_equal(c->auth.methods[1], "api_key");
    assert_int_equal(c->auth.methods_mask,
                     AMATERS_AUTH_METHOD_JWT | AMATERS_AUTH_METHOD_API_KEY);
    assert_false(c->auth.reject_unauthenticated);
    assert_false(c->auth.mtls.enabled);
    assert_string_equal(c->auth.mtls.ca_certs_dir, "/etc/cas");
    assert_string_equal(c->auth.mtls.crl_path, "/etc/crl.pem");
    assert_false(c->auth.mtls.verify_cn);
    assert_int_equal(c->auth.mtls.allowed_organizations_count, 2);
    assert_string_equal(c->auth.mtls.allowed_organizations[0],
                        "Org \"Quoted\"");
    assert_string_equal(c->auth.mtls.allowed_organizations[1],
                        "\xC3\x9Cn\xC3\xAF" "code Ltd");
    assert_true(c->auth.jwt.enabled);
    assert_string_equal(c->auth.jwt.secret, "fixture-secret-value");
    assert_int_equal(c->auth.jwt.algorithm_id, AMATERS_JWT_HS512);
    assert_string_equal(c->auth.jwt.public_key_path, "/etc/jwt.pub");
    assert_int_equal(c->auth.jwt.expiration_secs, 600);
    assert_string_equal(c->auth.jwt.issuer, "iss");
    assert_string_equal(c->auth.jwt.audience, "aud");
    assert_int_equal(c->auth.jwt.leeway_secs, 0);
    assert_true(c->auth.api_key.enabled);
    assert_string_equal(c->auth.api_key.keys_file, "/etc/keys.json");
    assert_string_equal(c->auth.api_key.header_name, "authorization");
    assert_false(c->auth.api_key.hash_keys);
    assert_true(c->authz.enabled);
    assert_string_equal(c->authz.default_role, "reader");
    assert_string_equal(c->authz.roles_file, "/etc/roles.toml");
    assert_false(c->authz.collection_permissions);
    assert_int_equal(c->authz.default_mode_id,
                     AMATERS_AUTHZ_ALLOW_BY_DEFAULT);
    assert_true(c->authz.audit_enabled);
    assert_string_equal(c->authz.audit_log_path, "/var/log/audit.jsonl");
}

static void test_load_every_key(void **state)
{
    (void)state;
    assert_int_equal(amaters_config_load_file(&cfg, data_path("full.toml"),
                                              err, sizeof(err)),
                     0);
    check_full_fixture(&cfg);
    assert_int_equal(amaters_config_validate(&cfg, err, sizeof(err)), 0);
}

static void test_reference_example(void **state)
{
    const char *shared = getenv("AMATERS_SHARED_DIR");
    char path[1024];

    (void)state;
    assert_non_null(shared);
    snprintf(path, sizeof(path),
             "%s/compat/reference-examples/server_with_auth.toml", shared);
    if (amaters_config_load_file(&cfg, path, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    if (amaters_config_validate(&cfg, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_string_equal(cfg.server.bind_address, "0.0.0.0:7878");
    assert_string_equal(cfg.server.pid_file, "/var/run/amaters-server.pid");
    assert_int_equal(cfg.storage.engine_id, AMATERS_STORAGE_ENGINE_LSM);
    assert_int_equal(cfg.storage.wal.sync_mode_id, AMATERS_WAL_SYNC_INTERVAL);
    assert_true(cfg.network.require_client_cert);
    assert_int_equal(cfg.logging.format_id, AMATERS_LOG_FORMAT_JSON);
    assert_int_equal(cfg.auth.methods_mask, AMATERS_AUTH_METHOD_MTLS |
                                                AMATERS_AUTH_METHOD_JWT |
                                                AMATERS_AUTH_METHOD_API_KEY);
    assert_int_equal(cfg.auth.mtls.allowed_organizations_count, 2);
    assert_string_equal(cfg.auth.mtls.allowed_organizations[0],
                        "COOLJAPAN OU");
    assert_string_equal(cfg.auth.jwt.secret,
                        "your-secret-key-change-this-in-production");
    assert_string_equal(cfg.auth.api_key.header_name, "X-API-Key");
    assert_string_equal(cfg.authz.default_role, "user");
    assert_true(cfg.authz.audit_enabled);
    /* Keys the example leaves out keep their defaults. */
    assert_int_equal(cfg.server.worker_threads, 0);
    assert_int_equal(cfg.auth.jwt.leeway_secs, 60);
    assert_int_equal(cfg.limits.max_key_bytes, 65536);
}

struct load_error_case {
    const char *doc;
    const char *want;
};

static const struct load_error_case load_errors[] = {
    {"[server]\nbind_adress = \"x\"",
     "t.toml:2:1: unknown key 'server.bind_adress' (did you mean "
     "'server.bind_address'?)"},
    {"[server]\n  max_conections = 3",
     "t.toml:2:3: unknown key 'server.max_conections' (did you mean "
     "'server.max_connections'?)"},
    {"[serverr]\nport = 1",
     "t.toml:1:2: unknown section 'serverr' (did you mean 'server'?)"},
    {"[storage.wall]\nenabled = true",
     "t.toml:1:10: unknown section 'storage.wall' (did you mean "
     "'storage.wal'?)"},
    {"server.bind_adress = \"x\"",
     "t.toml:1:1: unknown key 'server.bind_adress' (did you mean "
     "'server.bind_address'?)"},
    {"server = {bind_adress = \"x\"}",
     "t.toml:1:11: unknown key 'server.bind_adress' (did you mean "
     "'server.bind_address'?)"},
    {"completely_unrelated = 1",
     "t.toml:1:1: unknown key 'completely_unrelated'"},
    {"[[server]]", "t.toml:1:3: server: expected a table, got array"},
    {"server = 5", "t.toml:1:1: server: expected a table, got integer"},
    {"[server]\nshutdown_timeout_secs = \"abc\"",
     "t.toml:2:25: server.shutdown_timeout_secs: expected integer in "
     "0..3600, got \"abc\""},
    {"[server]\nshutdown_timeout_secs = 3601",
     "t.toml:2:25: server.shutdown_timeout_secs: expected integer in "
     "0..3600, got 3601"},
    {"[server]\nworker_threads = -1",
     "t.toml:2:18: server.worker_threads: expected integer in 0..256, "
     "got -1"},
    {"[server]\nmax_connections = 1.5",
     "t.toml:2:19: server.max_connections: expected integer in 1..1000000, "
     "got 1.5"},
    {"[storage]\nengine = \"rocks\"",
     "t.toml:2:10: storage.engine: expected one of \"memory\", \"lsm\", "
     "got \"rocks\""},
    {"[storage]\nengine = \"LSM\"",
     "t.toml:2:10: storage.engine: expected one of \"memory\", \"lsm\", "
     "got \"LSM\""},
    {"[logging]\nlevel = \"verbose\"",
     "t.toml:2:9: logging.level: expected one of \"trace\", \"debug\", "
     "\"info\", \"warn\", \"error\", got \"verbose\""},
    {"[network]\ntls_enabled = \"yes\"",
     "t.toml:2:15: network.tls_enabled: expected boolean, got \"yes\""},
    {"[metrics]\nenabled = [true]",
     "t.toml:2:11: metrics.enabled: expected boolean, got an array"},
    {"[auth]\nmethods = [\"jwt\", \"ldap\"]",
     "t.toml:2:19: auth.methods: expected array of \"mtls\", \"jwt\", "
     "\"api_key\", got \"ldap\""},
    {"[auth]\nmethods = \"jwt\"",
     "t.toml:2:11: auth.methods: expected array of \"mtls\", \"jwt\", "
     "\"api_key\", got \"jwt\""},
    {"[cluster]\npeers = [\"1:a:1\", 2]",
     "t.toml:2:19: cluster.peers: expected array of id:host:port strings, "
     "got 2"},
    {"[cluster]\npeers = [\"x:h:1\"]",
     "t.toml:2:10: cluster.peers: expected array of id:host:port strings, "
     "got \"x:h:1\""},
    {"[cluster]\nnode_id = 0",
     "t.toml:2:11: cluster.node_id: expected integer in "
     "1..9223372036854775807, got 0"},
    {"[server]\nbind_address = \"localhost\"",
     "t.toml:2:16: server.bind_address: expected host:port string, got "
     "\"localhost\""},
    {"[server]\nbind_address = {a = 1}",
     "t.toml:2:16: server.bind_address: expected host:port string, got a "
     "table"},
    {"[server]\ndata_dir = 1979-05-27",
     "t.toml:2:12: server.data_dir: expected string, got a local date"},
    {"[server]\ndata_dir = \"a\\u0000b\"",
     "t.toml:2:12: server.data_dir: expected string, got \"a\\u0000b\""},
    {"[auth.jwt]\nsecret = 12345",
     "t.toml:2:10: auth.jwt.secret: expected string, got an integer"},
    {"[server\n", "t.toml:1:8: expected ']' to close the table header"},
};

static void test_load_errors(void **state)
{
    struct amaters_config before;
    size_t i;
    int rv;

    (void)state;
    assert_int_equal(amaters_config_copy(&before, &cfg), 0);
    for (i = 0; i < sizeof(load_errors) / sizeof(load_errors[0]); i++) {
        rv = load(load_errors[i].doc);
        if (rv == 0 || strcmp(err, load_errors[i].want) != 0)
            fail_msg("case %zu: %s\nwant %s\ngot  %d %s", i,
                     load_errors[i].doc, load_errors[i].want, rv, err);
        assert_null(amaters_config_diff(&before, &cfg));
    }
    /* A quoted key containing a dot is one key, not a path. */
    assert_int_equal(load("\"server.data_dir\" = \"/x\""), AMATERS_ECONFIG);
    assert_non_null(strstr(err, "t.toml:1:1: unknown key"));
    /* Valid keys before the bad one are not applied either. */
    assert_int_equal(load("[server]\ndata_dir = \"/x\"\nmax_connections = 0"),
                     AMATERS_ECONFIG);
    assert_string_equal(cfg.server.data_dir, "./data");
    amaters_config_free(&before);
}

static void test_load_file_errors(void **state)
{
    const char *path;

    (void)state;
    path = data_path("unknown_key.toml");
    assert_int_equal(amaters_config_load_file(&cfg, path, err, sizeof(err)),
                     AMATERS_ECONFIG);
    assert_true(strncmp(err, path, strlen(path)) == 0);
    assert_string_equal(err + strlen(path),
                        ":5:1: unknown key 'server.max_conections' (did you "
                        "mean 'server.max_connections'?)");
    assert_string_equal(cfg.server.bind_address, "127.0.0.1:50051");

    path = data_path("missing.toml");
    assert_int_equal(amaters_config_load_file(&cfg, path, err, sizeof(err)),
                     AMATERS_EIO);
    assert_string_equal(err + strlen(path),
                        ": cannot read: No such file or directory");
}

static void test_load_layers_on_current_values(void **state)
{
    (void)state;
    assert_int_equal(load("[server]\ndata_dir = \"/one\"\n"), 0);
    assert_int_equal(load("[storage]\nengine = \"memory\"\n"), 0);
    assert_string_equal(cfg.server.data_dir, "/one");
    assert_int_equal(cfg.storage.engine_id, AMATERS_STORAGE_ENGINE_MEMORY);
    /* Integers are not accepted as booleans, nor floats as integers, but
     * every table is optional and may be empty or inline. */
    assert_int_equal(load("[server]\n[storage.wal]\n"), 0);
    assert_int_equal(load("storage = {wal = {sync_mode = \"interval\"}}"), 0);
    assert_int_equal(cfg.storage.wal.sync_mode_id, AMATERS_WAL_SYNC_INTERVAL);
    assert_int_equal(load("logging.level = \"TRACE\""), 0);
    assert_string_equal(cfg.logging.level, "trace");
    assert_int_equal(cfg.logging.level_id, AMATERS_LOG_LEVEL_TRACE);
}

/* ---- environment and flags ---- */

static void test_env_general_rule(void **state)
{
    char *envp[] = {
        "PATH=/bin",
        "AMATERS_SOURCE_DIR=/ignored",
        "OTHER__THING=1",
        "AMATERS_SERVER__BIND_ADDRESS=0.0.0.0:1",
        "amaters_storage__wal__sync_mode=interval",
        "Amaters_Logging__Level=Error",
        "AMATERS_AUTH__METHODS=jwt, api_key",
        "AMATERS_CLUSTER__PEERS=[\"1:a:1\", \"2:b:2\"]",
        "AMATERS_NETWORK__TLS_ENABLED=yes",
        "AMATERS_SERVER__WORKER_THREADS=+12",
        "AMATERS_AUTH__MTLS__ALLOWED_ORGANIZATIONS=",
        "NO_EQUALS_SIGN",
        NULL,
    };

    (void)state;
    assert_int_equal(amaters_config_apply_env(&cfg, envp, err, sizeof(err)),
                     0);
    assert_string_equal(cfg.server.bind_address, "0.0.0.0:1");
    assert_int_equal(cfg.storage.wal.sync_mode_id, AMATERS_WAL_SYNC_INTERVAL);
    assert_string_equal(cfg.logging.level, "error");
    assert_int_equal(cfg.auth.methods_count, 2);
    assert_string_equal(cfg.auth.methods[0], "jwt");
    assert_string_equal(cfg.auth.methods[1], "api_key");
    assert_int_equal(cfg.cluster.peers_count, 2);
    assert_string_equal(cfg.cluster.peers[1], "2:b:2");
    assert_true(cfg.network.tls_enabled);
    assert_int_equal(cfg.server.worker_threads, 12);
    assert_int_equal(cfg.auth.mtls.allowed_organizations_count, 0);
}

static void test_env_legacy_names(void **state)
{
    char *legacy[] = {"AMATERS_BIND_ADDRESS=1.1.1.1:1",
                      "AMATERS_DATA_DIR=/d", "amaters_log_level=debug",
                      "AMATERS_TLS_ENABLED=true", NULL};
    char *both_a[] = {"AMATERS_SERVER__BIND_ADDRESS=2.2.2.2:2",
                      "AMATERS_BIND_ADDRESS=1.1.1.1:1", NULL};
    char *both_b[] = {"AMATERS_BIND_ADDRESS=3.3.3.3:3",
                      "AMATERS_SERVER__BIND_ADDRESS=4.4.4.4:4", NULL};

    (void)state;
    assert_int_equal(amaters_config_apply_env(&cfg, legacy, err,
                                              sizeof(err)),
                     0);
    assert_string_equal(cfg.server.bind_address, "1.1.1.1:1");
    assert_string_equal(cfg.server.data_dir, "/d");
    assert_int_equal(cfg.logging.level_id, AMATERS_LOG_LEVEL_DEBUG);
    assert_true(cfg.network.tls_enabled);
    /* The general name wins over the legacy one, in either order. */
    assert_int_equal(amaters_config_apply_env(&cfg, both_a, err,
                                              sizeof(err)),
                     0);
    assert_string_equal(cfg.server.bind_address, "2.2.2.2:2");
    assert_int_equal(amaters_config_apply_env(&cfg, both_b, err,
                                              sizeof(err)),
                     0);
    assert_string_equal(cfg.server.bind_address, "4.4.4.4:4");
}

struct env_error_case {
    const char *var;
    const char *want;
};

static const struct env_error_case env_errors[] = {
    {"AMATERS_SERVER__BIND_ADRESS=x",
     "environment AMATERS_SERVER__BIND_ADRESS: unknown key "
     "'server.bind_adress' (did you mean 'server.bind_address'?)"},
    {"AMATERS_NOPE__NOTHING=1",
     "environment AMATERS_NOPE__NOTHING: unknown key 'nope.nothing'"},
    {"AMATERS_SERVER__MAX_CONNECTIONS=lots",
     "environment AMATERS_SERVER__MAX_CONNECTIONS: server.max_connections: "
     "expected integer in 1..1000000, got \"lots\""},
    {"AMATERS_METRICS__ENABLED=maybe",
     "environment AMATERS_METRICS__ENABLED: metrics.enabled: expected "
     "boolean, got \"maybe\""},
    {"AMATERS_TLS_ENABLED=2",
     "environment AMATERS_TLS_ENABLED: network.tls_enabled: expected "
     "boolean, got \"2\""},
    {"AMATERS_AUTH__METHODS=jwt,,api_key",
     "environment AMATERS_AUTH__METHODS: auth.methods: expected array of "
     "\"mtls\", \"jwt\", \"api_key\", got \"jwt,,api_key\""},
    {"AMATERS_AUTH__METHODS=jwt, oauth",
     "environment AMATERS_AUTH__METHODS: auth.methods: expected array of "
     "\"mtls\", \"jwt\", \"api_key\", got \"oauth\""},
    {"AMATERS_AUTH__METHODS=[\"jwt\"",
     "environment AMATERS_AUTH__METHODS: auth.methods: expected array of "
     "\"mtls\", \"jwt\", \"api_key\", got \"[\\\"jwt\\\"\""},
    {"AMATERS_CLUSTER__PEERS=[1, 2]",
     "environment AMATERS_CLUSTER__PEERS: cluster.peers: expected array of "
     "id:host:port strings, got \"[1, 2]\""},
    {"AMATERS_DATA_DIR=\xC3(",
     "environment AMATERS_DATA_DIR: server.data_dir: expected string, got "
     "\"\xC3(\""},
};

static void test_env_errors(void **state)
{
    struct amaters_config before;
    char *envp[3];
    size_t i;

    (void)state;
    assert_int_equal(amaters_config_copy(&before, &cfg), 0);
    for (i = 0; i < sizeof(env_errors) / sizeof(env_errors[0]); i++) {
        /* A valid variable first: it must not stick either. */
        envp[0] = "AMATERS_SERVER__DATA_DIR=/changed";
        envp[1] = (char *)env_errors[i].var;
        envp[2] = NULL;
        if (amaters_config_apply_env(&cfg, envp, err, sizeof(err)) !=
                AMATERS_ECONFIG ||
            strcmp(err, env_errors[i].want) != 0)
            fail_msg("case %zu\nwant %s\ngot  %s", i, env_errors[i].want,
                     err);
        assert_null(amaters_config_diff(&before, &cfg));
    }
    amaters_config_free(&before);
}

struct set_case {
    const char *key, *value;
    int ok;
};

static const struct set_case set_cases[] = {
    {"server.bind_address", "[::]:0", 1},
    {"server.bind_address", "[fe80::1]:65535", 1},
    {"server.bind_address", "my-host.example.com:1", 1},
    {"server.bind_address", "10.1.2.3:80", 1},
    {"server.bind_address", "host", 0},
    {"server.bind_address", ":80", 0},
    {"server.bind_address", "1.2.3:4", 0},
    {"server.bind_address", "256.1.1.1:80", 0},
    {"server.bind_address", "::1:80", 0},
    {"server.bind_address", "[::1]80", 0},
    {"server.bind_address", "[zz::1]:80", 0},
    {"server.bind_address", "host:65536", 0},
    {"server.bind_address", "host:-1", 0},
    {"server.bind_address", "host:8o", 0},
    {"server.bind_address", "host:", 0},
    {"server.bind_address", "ho st:1", 0},
    {"server.bind_address", "-host:1", 0},
    {"server.bind_address", "a..b:1", 0},
    {"cluster.peers", "1:10.0.0.1:7000,9223372036854775807:h:1", 1},
    {"cluster.peers", "0:h:1", 0},
    {"cluster.peers", "x:h:1", 0},
    {"cluster.peers", "1:h", 0},
    {"cluster.peers", "9223372036854775808:h:1", 0},
    {"cluster.peers", ":h:1", 0},
    {"metrics.enabled", "On", 1},
    {"metrics.enabled", "OFF", 1},
    {"metrics.enabled", "no", 1},
    {"metrics.enabled", "", 0},
    {"server.max_connections", "1000000", 1},
    {"server.max_connections", "1000001", 0},
    {"server.max_connections", " 5", 0},
    {"server.max_connections", "5x", 0},
    {"server.max_connections", "", 0},
    {"cluster.node_id", "9223372036854775807", 1},
    {"cluster.node_id", "9223372036854775808", 0},
    {"cluster.node_id", "99999999999999999999", 0},
    {"auth.jwt.algorithm", "EdDSA", 1},
    {"auth.jwt.algorithm", "eddsa", 0},
    {"auth.jwt.algorithm", "none", 0},
    {"logging.level", "Warning", 1},
    {"logging.level", "WARN", 1},
    {"logging.level", "fatal", 0},
    {"storage.compaction.strategy", "universal", 1},
    {"authz.default_mode", "allow", 0},
    {"server.data_dir", "tab\there", 1},
    {"server.bind", "1.2.3.4:5", 0},
    {"bind_address", "1.2.3.4:5", 0},
};

static void test_set(void **state)
{
    size_t i;
    int rv;

    (void)state;
    for (i = 0; i < sizeof(set_cases) / sizeof(set_cases[0]); i++) {
        rv = amaters_config_set(&cfg, set_cases[i].key, set_cases[i].value,
                                "--flag", err, sizeof(err));
        if ((rv == 0) != set_cases[i].ok)
            fail_msg("case %zu: %s=%s gave %d %s", i, set_cases[i].key,
                     set_cases[i].value, rv, rv ? err : "");
        if (rv != 0) {
            assert_int_equal(rv, AMATERS_ECONFIG);
            assert_true(strncmp(err, "--flag: ", 8) == 0);
        }
    }
    assert_int_equal(cfg.cluster.peers_count, 2);
    assert_false(cfg.metrics.enabled);
    assert_int_equal(cfg.logging.level_id, AMATERS_LOG_LEVEL_WARN);
    assert_string_equal(cfg.logging.level, "warn");
    assert_string_equal(cfg.server.data_dir, "tab\there");
    assert_int_equal(amaters_config_set(&cfg, "server.bind", "x", "--bind",
                                        err, sizeof(err)),
                     AMATERS_ECONFIG);
    assert_string_equal(err, "--bind: unknown key 'server.bind'");
    assert_int_equal(amaters_config_set(&cfg, "server.shutdown_timeout_secs",
                                        "abc", "--timeout", err, sizeof(err)),
                     AMATERS_ECONFIG);
    assert_string_equal(err, "--timeout: server.shutdown_timeout_secs: "
                             "expected integer in 0..3600, got \"abc\"");
}

static void test_precedence(void **state)
{
    char *envp[] = {"AMATERS_SERVER__BIND_ADDRESS=2.2.2.2:2",
                    "AMATERS_DATA_DIR=/env", NULL};

    (void)state;
    /* defaults < file */
    assert_int_equal(load("[server]\nbind_address = \"1.1.1.1:1\"\n"
                          "data_dir = \"/file\"\nmax_connections = 7\n"),
                     0);
    assert_string_equal(cfg.server.bind_address, "1.1.1.1:1");
    /* file < environment */
    assert_int_equal(amaters_config_apply_env(&cfg, envp, err, sizeof(err)),
                     0);
    assert_string_equal(cfg.server.bind_address, "2.2.2.2:2");
    assert_string_equal(cfg.server.data_dir, "/env");
    /* environment < command line */
    set_ok("server.bind_address", "3.3.3.3:3");
    assert_string_equal(cfg.server.bind_address, "3.3.3.3:3");
    assert_string_equal(cfg.server.data_dir, "/env");
    assert_int_equal(cfg.server.max_connections, 7);
    assert_int_equal(cfg.server.shutdown_timeout_secs, 30);
}

/* ---- validation ---- */

struct validate_case {
    const char *sets[6]; /* "key=value" */
    const char *want;    /* NULL: valid */
};

static const struct validate_case validate_cases[] = {
    {{"cluster.election_timeout_ms=100"},
     "cluster.election_timeout_ms (100) must be greater than "
     "cluster.heartbeat_interval_ms (100)"},
    {{"cluster.heartbeat_interval_ms=999"}, NULL},
    {{"cluster.peers=1:a:1,2:b:1,1:c:1"},
     "cluster.peers: id 1 is used twice"},
    {{"network.tls_enabled=true", "network.tls_cert=c"},
     "network.tls_enabled is true but network.tls_cert or network.tls_key "
     "is empty"},
    {{"network.tls_enabled=true", "network.tls_cert=c",
      "network.tls_key=k"},
     NULL},
    {{"network.require_client_cert=true", "network.tls_ca=ca"},
     "network.require_client_cert needs network.tls_enabled = true"},
    {{"network.tls_enabled=true", "network.tls_cert=c", "network.tls_key=k",
      "network.require_client_cert=true"},
     "network.require_client_cert is true but network.tls_ca is empty"},
    {{"metrics.bind_address=127.0.0.1:50051"},
     "server.bind_address and metrics.bind_address are both "
     "127.0.0.1:50051"},
    {{"metrics.bind_address=127.0.0.1:50051", "metrics.enabled=false"},
     NULL},
    {{"metrics.bind_address=127.0.0.1:0", "server.bind_address=127.0.0.1:0"},
     NULL},
    {{"auth.enabled=true"},
     "auth.enabled is true but no method is in use (set auth.methods)"},
    {{"auth.methods=api_key"}, NULL},
    {{"auth.enabled=true", "auth.methods=api_key"},
     "auth method api_key needs auth.api_key.keys_file"},
    {{"auth.enabled=true", "auth.api_key.enabled=true"},
     "auth method api_key needs auth.api_key.keys_file"},
    {{"auth.enabled=true", "auth.methods=api_key",
      "auth.api_key.keys_file=k.json"},
     NULL},
    {{"auth.enabled=true", "auth.methods=jwt"},
     "auth method jwt with algorithm HS256 needs auth.jwt.secret"},
    {{"auth.enabled=true", "auth.methods=jwt", "auth.jwt.secret=s"}, NULL},
    {{"auth.enabled=true", "auth.methods=jwt", "auth.jwt.secret=s",
      "auth.jwt.algorithm=ES384"},
     "auth method jwt with algorithm ES384 needs auth.jwt.public_key_path"},
    {{"auth.enabled=true", "auth.jwt.enabled=true",
      "auth.jwt.algorithm=EdDSA", "auth.jwt.public_key_path=k.pem"},
     NULL},
    {{"auth.enabled=true", "auth.methods=mtls"},
     "auth method mtls needs network.tls_enabled = true"},
    {{"auth.enabled=true", "auth.methods=mtls", "network.tls_enabled=true",
      "network.tls_cert=c", "network.tls_key=k"},
     "auth method mtls needs network.tls_ca or auth.mtls.ca_certs_dir"},
    {{"auth.enabled=true", "auth.mtls.enabled=true",
      "network.tls_enabled=true", "network.tls_cert=c", "network.tls_key=k",
      "auth.mtls.ca_certs_dir=/cas"},
     NULL},
    {{"server.data_dir="}, "server.data_dir is empty"},
    {{"storage.wal.dir="},
     "storage.wal.enabled is true but storage.wal.dir is empty"},
    {{"storage.wal.dir=", "storage.wal.enabled=false",
      "storage.wal.sync_mode=none"},
     NULL},
    /* Without a WAL, sync_mode does not apply: any value is accepted. */
    {{"storage.wal.enabled=false"}, NULL},
    {{"storage.wal.enabled=false", "storage.wal.sync_mode=always"}, NULL},
    {{"storage.wal.enabled=false", "storage.wal.sync_mode=interval"},
     NULL},
    /* Empty paths mean files in the data directory. */
    {{"logging.file_enabled=true", "logging.file_path="}, NULL},
    {{"authz.audit_enabled=true", "authz.audit_log_path="}, NULL},
};

static void test_validate(void **state)
{
    const struct validate_case *c;
    char key[128];
    const char *eq;
    size_t i, j;
    int rv;

    (void)state;
    for (i = 0; i < sizeof(validate_cases) / sizeof(validate_cases[0]);
         i++) {
        c = &validate_cases[i];
        amaters_config_free(&cfg);
        assert_int_equal(amaters_config_init_defaults(&cfg), 0);
        for (j = 0; j < 6 && c->sets[j] != NULL; j++) {
            eq = strchr(c->sets[j], '=');
            snprintf(key, sizeof(key), "%.*s", (int)(eq - c->sets[j]),
                     c->sets[j]);
            set_ok(key, eq + 1);
        }
        err[0] = '\0';
        rv = amaters_config_validate(&cfg, err, sizeof(err));
        if (c->want == NULL ? rv != 0
                            : rv != AMATERS_ECONFIG ||
                                  strcmp(err, c->want) != 0)
            fail_msg("case %zu\nwant %s\ngot  %d %s", i,
                     c->want ? c->want : "(valid)", rv, err);
    }
}

static void test_validate_direct_edits(void **state)
{
    char *old;

    (void)state;
    cfg.server.max_connections = 0;
    assert_int_equal(amaters_config_validate(&cfg, err, sizeof(err)),
                     AMATERS_ECONFIG);
    assert_string_equal(err, "server.max_connections: expected integer in "
                             "1..1000000, got 0");
    cfg.server.max_connections = 10;
    old = cfg.storage.engine;
    cfg.storage.engine = "disk";
    assert_int_equal(amaters_config_validate(&cfg, err, sizeof(err)),
                     AMATERS_ECONFIG);
    assert_string_equal(err, "storage.engine: expected one of \"memory\", "
                             "\"lsm\", got \"disk\"");
    cfg.storage.engine = old;
    old = cfg.server.bind_address;
    cfg.server.bind_address = "nowhere";
    assert_int_equal(amaters_config_validate(&cfg, err, sizeof(err)),
                     AMATERS_ECONFIG);
    assert_string_equal(err, "server.bind_address: expected host:port "
                             "string, got \"nowhere\"");
    cfg.server.bind_address = old;
    assert_int_equal(amaters_config_validate(&cfg, err, sizeof(err)), 0);
}

/* ---- dump, docs, helpers ---- */

static char *dump(const struct amaters_config *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    assert_int_equal(amaters_config_dump_toml(c, f), 0);
    fclose(f);
    return text;
}

static void test_dump_round_trip(void **state)
{
    struct amaters_config back;
    char *text;

    (void)state;
    /* Defaults: the dump is complete and reloads to the same values. */
    text = dump(&cfg);
    assert_non_null(strstr(text, "\n[server]\n"));
    assert_non_null(strstr(text, "\nbind_address = \"127.0.0.1:50051\"\n"));
    assert_non_null(strstr(text, "\n[storage.wal]\n"));
    assert_non_null(strstr(text, "\nsync_mode = \"always\"\n"));
    assert_non_null(strstr(text, "\npeers = []\n"));
    assert_non_null(strstr(text, "\nsecret = \"\"\n"));
    assert_non_null(strstr(text, "\n[authz]\n"));
    free(text);

    /* Every key changed, awkward strings included. */
    assert_int_equal(amaters_config_load_file(&cfg, data_path("full.toml"),
                                              err, sizeof(err)),
                     0);
    set_ok("server.data_dir", "a \"quoted\" \\ path\twith\nnewline");
    text = dump(&cfg);
    assert_null(strstr(text, "fixture-secret-value"));
    assert_non_null(strstr(text, "\nsecret = \"<redacted>\"\n"));
    assert_non_null(strstr(text, "\ndata_dir = \"a \\\"quoted\\\" \\\\ "
                                 "path\\twith\\nnewline\"\n"));
    assert_non_null(strstr(text, "\nlevel = \"warn\"\n"));
    assert_int_equal(amaters_config_init_defaults(&back), 0);
    if (amaters_config_load_buffer(&back, text, strlen(text), "dump", err,
                                   sizeof(err)) != 0)
        fail_msg("%s\n%s", err, text);
    free(text);
    /* Only the redacted secret differs. */
    assert_string_equal(amaters_config_diff(&cfg, &back), "auth.jwt.secret");
    assert_string_equal(back.auth.jwt.secret, "<redacted>");
    assert_int_equal(amaters_config_set(&back, "auth.jwt.secret",
                                        "fixture-secret-value", "test", err,
                                        sizeof(err)),
                     0);
    assert_null(amaters_config_diff(&cfg, &back));
    assert_string_equal(back.server.data_dir,
                        "a \"quoted\" \\ path\twith\nnewline");
    amaters_config_free(&back);
}

static void test_docs_up_to_date(void **state)
{
    const char *src = getenv("AMATERS_SOURCE_DIR");
    char *want = NULL, path[1024];
    size_t want_len = 0, got_len;
    char *got;
    FILE *f;

    (void)state;
    f = open_memstream(&want, &want_len);
    assert_non_null(f);
    assert_int_equal(amaters_config_write_docs_markdown(f), 0);
    fclose(f);
    /* The generated text documents each key with its env name. */
    assert_non_null(strstr(
        want, "| `sync_mode` | string | `\"always\"` | `always`, `interval`, "
              "`none` | `AMATERS_STORAGE__WAL__SYNC_MODE` | no |"));
    assert_non_null(strstr(want, "| `max_key_bytes` | integer | `65536` | "
                                 "1..65536 | `AMATERS_LIMITS__MAX_KEY_BYTES` "
                                 "| no |"));
    assert_non_null(strstr(want, "`AMATERS_AUTHZ__DEFAULT_ROLE` | yes |"));
    assert_non_null(strstr(want, "`AMATERS_TLS_ENABLED`"));
    assert_non_null(strstr(want, "\n## [auth.api_key]\n"));
    /* Descriptions that say what the key does (no stale claims). */
    assert_non_null(strstr(want, "| `file_path` | string | `\"\"` |"));
    assert_non_null(strstr(want, "| `audit_log_path` | string | `\"\"` |"));
    assert_non_null(strstr(want, "&lt;data_dir&gt;/amaters-server.log"));
    assert_non_null(strstr(want, "&lt;data_dir&gt;/audit.jsonl"));
    assert_null(strstr(want, "requires sync_mode"));
    assert_null(strstr(want, "Period of internal metric snapshots"));
    assert_non_null(strstr(want, "\"metrics snapshot: ...\""));
    assert_null(strstr(want, "Most client connections served"));
    assert_non_null(strstr(want, "calls in flight at once"));
    /* start --generate-config prints the effective configuration. */
    assert_null(strstr(want, "same TOML for the defaults"));
    {
        const char *g = strstr(want, "--generate-config");
        assert_non_null(g);
        assert_non_null(strstr(g, "effective configuration"));
        assert_true(strstr(g, "effective configuration") - g < 120);
    }

    assert_non_null(src);
    snprintf(path, sizeof(path), "%s/docs/configuration.md", src);
    f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("%s is missing: regenerate it with `cmake --build "
                 "<build-dir> --target config-docs`",
                 path);
    got = malloc(want_len + 2);
    assert_non_null(got);
    got_len = fread(got, 1, want_len + 1, f);
    fclose(f);
    if (got_len != want_len || memcmp(got, want, want_len) != 0)
        fail_msg("%s is out of date with src/config/config_schema.c: "
                 "regenerate it with `cmake --build <build-dir> --target "
                 "config-docs` (or amaters-config-docs %s)",
                 path, path);
    free(got);
    free(want);
}

static void test_pid_path(void **state)
{
    char buf[64];

    (void)state;
    assert_string_equal(amaters_config_pid_path(&cfg, buf, sizeof(buf)),
                        "./data/amaters-server.pid");
    set_ok("server.data_dir", "/var/lib/am//");
    assert_string_equal(amaters_config_pid_path(&cfg, buf, sizeof(buf)),
                        "/var/lib/am/amaters-server.pid");
    set_ok("server.data_dir", "/");
    assert_string_equal(amaters_config_pid_path(&cfg, buf, sizeof(buf)),
                        "/amaters-server.pid");
    assert_null(amaters_config_pid_path(&cfg, buf, 19));
    assert_non_null(amaters_config_pid_path(&cfg, buf, 20));
    set_ok("server.pid_file", "/run/x.pid");
    assert_string_equal(amaters_config_pid_path(&cfg, buf, sizeof(buf)),
                        "/run/x.pid");
}

/* Empty logging.file_path / authz.audit_log_path: files in data_dir. */
static void test_log_and_audit_paths(void **state)
{
    static const struct {
        const char *data_dir, *log_path, *audit_path; /* NULL: default */
        const char *want_log, *want_audit;
    } cases[] = {
        {NULL, NULL, NULL, "./data/amaters-server.log",
         "./data/audit.jsonl"},
        {"/elsewhere", NULL, NULL, "/elsewhere/amaters-server.log",
         "/elsewhere/audit.jsonl"},
        {"/var/lib/am//", NULL, NULL, "/var/lib/am/amaters-server.log",
         "/var/lib/am/audit.jsonl"},
        {"/", NULL, NULL, "/amaters-server.log", "/audit.jsonl"},
        {"rel/d", NULL, NULL, "rel/d/amaters-server.log",
         "rel/d/audit.jsonl"},
        {"/elsewhere", "/var/log/a.log", "/var/log/audit.jsonl",
         "/var/log/a.log", "/var/log/audit.jsonl"},
    };
    char buf[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        amaters_config_free(&cfg);
        assert_int_equal(amaters_config_init_defaults(&cfg), 0);
        if (cases[i].data_dir)
            set_ok("server.data_dir", cases[i].data_dir);
        if (cases[i].log_path)
            set_ok("logging.file_path", cases[i].log_path);
        if (cases[i].audit_path)
            set_ok("authz.audit_log_path", cases[i].audit_path);
        assert_string_equal(amaters_config_log_path(&cfg, buf, sizeof(buf)),
                            cases[i].want_log);
        assert_string_equal(
            amaters_config_audit_path(&cfg, buf, sizeof(buf)),
            cases[i].want_audit);
    }
    /* Too small a buffer: NULL, never a cut path. */
    amaters_config_free(&cfg);
    assert_int_equal(amaters_config_init_defaults(&cfg), 0);
    assert_null(amaters_config_log_path(&cfg, buf, 25));
    assert_non_null(amaters_config_log_path(&cfg, buf, 26));
    assert_null(amaters_config_audit_path(&cfg, buf, 18));
    assert_non_null(amaters_config_audit_path(&cfg, buf, 19));
}

static void test_copy_diff_reload(void **state)
{
    struct amaters_config copy;

    (void)state;
    assert_int_equal(amaters_config_load_file(&cfg, data_path("full.toml"),
                                              err, sizeof(err)),
                     0);
    assert_int_equal(amaters_config_copy(&copy, &cfg), 0);
    check_full_fixture(&copy);
    assert_null(amaters_config_diff(&cfg, &copy));
    assert_true(copy.cluster.peers != cfg.cluster.peers);
    assert_int_equal(amaters_config_check_reload(&cfg, &copy, err,
                                                 sizeof(err)),
                     0);
    assert_int_equal(amaters_config_set(&copy, "authz.default_role", "admin",
                                        "t", err, sizeof(err)),
                     0);
    assert_int_equal(amaters_config_set(&copy, "logging.level", "trace", "t",
                                        err, sizeof(err)),
                     0);
    assert_string_equal(amaters_config_diff(&cfg, &copy), "logging.level");
    const char *changed[4];
    assert_int_equal(amaters_config_diff_all(&cfg, &copy, changed, 4), 2);
    assert_string_equal(changed[0], "logging.level");
    assert_string_equal(changed[1], "authz.default_role");
    assert_int_equal(amaters_config_check_reload(&cfg, &copy, err,
                                                 sizeof(err)),
                     0);
    /* limits are bound into the running gRPC server: restart needed */
    assert_int_equal(amaters_config_set(&copy, "limits.max_key_bytes", "10",
                                        "t", err, sizeof(err)),
                     0);
    assert_int_equal(amaters_config_check_reload(&cfg, &copy, err,
                                                 sizeof(err)),
                     AMATERS_ECONFIG);
    assert_string_equal(err,
                        "limits.max_key_bytes: changing it needs a restart");
    char orig[32];
    snprintf(orig, sizeof orig, "%lld", (long long)cfg.limits.max_key_bytes);
    assert_int_equal(amaters_config_set(&copy, "limits.max_key_bytes", orig,
                                        "t", err, sizeof(err)),
                     0);
    assert_int_equal(amaters_config_set(&copy, "cluster.peers", "", "t", err,
                                        sizeof(err)),
                     0);
    assert_int_equal(amaters_config_check_reload(&cfg, &copy, err,
                                                 sizeof(err)),
                     AMATERS_ECONFIG);
    assert_string_equal(err, "cluster.peers: changing it needs a restart");
    amaters_config_free(&copy);
}

static void test_auth_methods(void **state)
{
    (void)state;
    set_ok("auth.methods", "jwt");
    set_ok("auth.api_key.enabled", "true");
    assert_int_equal(amaters_config_auth_methods(&cfg), 0);
    set_ok("auth.enabled", "true");
    assert_int_equal(amaters_config_auth_methods(&cfg),
                     AMATERS_AUTH_METHOD_JWT | AMATERS_AUTH_METHOD_API_KEY);
    set_ok("auth.mtls.enabled", "true");
    set_ok("auth.methods", "");
    assert_int_equal(amaters_config_auth_methods(&cfg),
                     AMATERS_AUTH_METHOD_MTLS | AMATERS_AUTH_METHOD_API_KEY);
}

/* ---- allocation failures ---- */

/* Runs op with the n-th allocation failing, for every n until op succeeds;
 * each failure must be ENOMEM, leak nothing and leave cfg unchanged. */
static void every_failure(int (*op)(void))
{
    struct amaters_config before;
    long n, live;
    int rv;

    for (n = 0;; n++) {
        assert_int_equal(amaters_config_copy(&before, &cfg), 0);
        live = amaters_alloc_live();
        amaters_alloc_fail_after(n);
        rv = op();
        amaters_alloc_fail_after(-1);
        if (rv == 0)
            break;
        assert_int_equal(rv, AMATERS_ENOMEM);
        assert_null(amaters_config_diff(&before, &cfg));
        assert_int_equal(amaters_alloc_live(), live);
        amaters_config_free(&before);
    }
    amaters_config_free(&before);
    assert_true(n > 10);
}

static int op_load(void)
{
    return amaters_config_load_file(&cfg, data_path("full.toml"), err,
                                    sizeof(err));
}

static int op_env(void)
{
    char *envp[] = {"AMATERS_AUTH__METHODS=[\"jwt\", \"mtls\"]",
                    "AMATERS_BIND_ADDRESS=1.2.3.4:5",
                    "AMATERS_CLUSTER__PEERS=1:a:1,2:b:2", NULL};

    return amaters_config_apply_env(&cfg, envp, err, sizeof(err));
}

static int op_init(void)
{
    struct amaters_config c;
    int rv = amaters_config_init_defaults(&c);

    amaters_config_free(&c);
    return rv;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    every_failure(op_load);
    check_full_fixture(&cfg);
    every_failure(op_env);
    assert_string_equal(cfg.server.bind_address, "1.2.3.4:5");
    assert_int_equal(cfg.auth.methods_mask,
                     AMATERS_AUTH_METHOD_JWT | AMATERS_AUTH_METHOD_MTLS);
    every_failure(op_init);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_load_every_key),
        T(test_reference_example),
        T(test_load_errors),
        T(test_load_file_errors),
        T(test_load_layers_on_current_values),
        T(test_env_general_rule),
        T(test_env_legacy_names),
        T(test_env_errors),
        T(test_set),
        T(test_precedence),
        T(test_validate),
        T(test_validate_direct_edits),
        T(test_dump_round_trip),
        T(test_docs_up_to_date),
        T(test_pid_path),
        T(test_log_and_audit_paths),
        T(test_copy_diff_reload),
        T(test_auth_methods),
        T(test_allocation_failures),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
