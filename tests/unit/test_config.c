/*
 * test_config.c - unit tests of the configuration (src/config/config.h):
 * defaults, the TOML file (every key, the reference example, loading onto the
 * current values), load error messages (unknown keys with line, column and
 * suggestion; wrong types, ranges and values), cross-field validation, and
 * behaviour when allocations fail. The environment and flags are tested in
 * test_config_env.c; the TOML dump, the generated docs/configuration.md and
 * the helpers in test_config_dump.c; the fixture all three use is in
 * config_fixture.h.
 *
 * Expected values are written out here from the specification, never taken
 * from the code under test. Fixtures live in tests/data/config/.
 */
#include "config_fixture.h"

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
    /* A TOML error inside a value names the key. */
    {"[server]\nmax_connections = 99999999999999999999999",
     "t.toml:2:19: server.max_connections: integer out of 64-bit range "
     "'99999999999999999999999'"},
    {"server.max_connections = -99999999999999999999",
     "t.toml:1:26: server.max_connections: integer out of 64-bit range "
     "'-99999999999999999999'"},
    /* The placeholder the dump writes for a secret is never a secret. */
    {"[auth.jwt]\nsecret = \"<redacted>\"",
     "t.toml:2:10: auth.jwt.secret is the placeholder \"<redacted>\" "
     "written by --generate-config/--show, not a secret: put the real "
     "secret here (or set it via AMATERS_AUTH__JWT__SECRET)"},
    {"auth.api_key = {hash_secret = '<redacted>'}",
     "t.toml:1:31: auth.api_key.hash_secret is the placeholder "
     "\"<redacted>\" written by --generate-config/--show, not a secret: "
     "put the real secret here (or set it via "
     "AMATERS_AUTH__API_KEY__HASH_SECRET)"},
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

    /* An empty name (-c ""): say so, not ": cannot read". */
    assert_int_equal(amaters_config_load_file(&cfg, "", err, sizeof(err)),
                     AMATERS_EIO);
    assert_string_equal(err, "the configuration file name is empty "
                             "(--config needs a file name)");
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

/* ---- validation ---- */

struct validate_case {
    const char *sets[6]; /* "key=value" */
    const char *want;    /* NULL: valid */
};

static const struct validate_case validate_cases[] = {
    {{"cluster.election_timeout_ms=100"},
     "cluster.election_timeout_ms (100) must be greater than "
     "cluster.heartbeat_interval_ms (100) (cluster.election_timeout_ms: "
     "from test; cluster.heartbeat_interval_ms: built-in default)"},
    {{"cluster.heartbeat_interval_ms=999"}, NULL},
    {{"cluster.peers=1:a:1,2:b:1,1:c:1"},
     "cluster.peers: id 1 is used twice (from test)"},
    {{"network.tls_enabled=true", "network.tls_cert=c"},
     "network.tls_enabled is true but network.tls_key is empty "
     "(network.tls_enabled: from test; network.tls_key: built-in default)"},
    {{"network.tls_enabled=true", "network.tls_key=k"},
     "network.tls_enabled is true but network.tls_cert is empty "
     "(network.tls_enabled: from test; network.tls_cert: built-in "
     "default)"},
    {{"network.tls_enabled=true", "network.tls_cert=c",
      "network.tls_key=k"},
     NULL},
    {{"network.require_client_cert=true", "network.tls_ca=ca"},
     "network.require_client_cert needs network.tls_enabled = true "
     "(network.require_client_cert: from test; network.tls_enabled: "
     "built-in default)"},
    {{"network.tls_enabled=true", "network.tls_cert=c", "network.tls_key=k",
      "network.require_client_cert=true"},
     "network.require_client_cert is true but network.tls_ca is empty "
     "(network.require_client_cert: from test; network.tls_ca: built-in "
     "default)"},
    {{"metrics.bind_address=127.0.0.1:50051"},
     "server.bind_address and metrics.bind_address are both "
     "127.0.0.1:50051 (server.bind_address: built-in default; "
     "metrics.bind_address: from test)"},
    {{"metrics.bind_address=127.0.0.1:50051", "metrics.enabled=false"},
     NULL},
    {{"metrics.bind_address=127.0.0.1:0", "server.bind_address=127.0.0.1:0"},
     NULL},
    {{"auth.enabled=true"},
     "auth.enabled is true (from test) but no method is in use: set "
     "auth.methods"},
    {{"auth.methods=api_key"}, NULL},
    {{"auth.enabled=true", "auth.methods=api_key"},
     "auth method api_key needs auth.api_key.keys_file (auth.methods: from "
     "test; auth.api_key.keys_file: built-in default)"},
    {{"auth.enabled=true", "auth.api_key.enabled=true"},
     "auth method api_key needs auth.api_key.keys_file "
     "(auth.api_key.enabled: from test; auth.api_key.keys_file: built-in "
     "default)"},
    {{"auth.enabled=true", "auth.methods=api_key",
      "auth.api_key.keys_file=k.json"},
     NULL},
    {{"auth.enabled=true", "auth.methods=jwt"},
     "auth method jwt with algorithm HS256 needs auth.jwt.secret "
     "(auth.methods: from test; auth.jwt.algorithm: built-in default; "
     "auth.jwt.secret: built-in default)"},
    {{"auth.enabled=true", "auth.methods=jwt", "auth.jwt.secret=s"}, NULL},
    {{"auth.enabled=true", "auth.methods=jwt", "auth.jwt.secret=s",
      "auth.jwt.algorithm=ES384"},
     "auth method jwt with algorithm ES384 needs auth.jwt.public_key_path "
     "(auth.methods: from test; auth.jwt.algorithm: from test; "
     "auth.jwt.public_key_path: built-in default)"},
    {{"auth.enabled=true", "auth.jwt.enabled=true",
      "auth.jwt.algorithm=EdDSA", "auth.jwt.public_key_path=k.pem"},
     NULL},
    {{"auth.enabled=true", "auth.methods=mtls"},
     "auth method mtls needs network.tls_enabled = true (auth.methods: "
     "from test; network.tls_enabled: built-in default)"},
    {{"auth.enabled=true", "auth.methods=mtls", "network.tls_enabled=true",
      "network.tls_cert=c", "network.tls_key=k"},
     "auth method mtls needs network.tls_ca or auth.mtls.ca_certs_dir "
     "(auth.methods: from test; network.tls_ca: built-in default; "
     "auth.mtls.ca_certs_dir: built-in default)"},
    {{"auth.enabled=true", "auth.mtls.enabled=true",
      "network.tls_enabled=true", "network.tls_cert=c", "network.tls_key=k",
      "auth.mtls.ca_certs_dir=/cas"},
     NULL},
    {{"server.data_dir="}, "server.data_dir is empty (from test)"},
    {{"storage.wal.dir="},
     "storage.wal.enabled is true but storage.wal.dir is empty "
     "(storage.wal.enabled: built-in default; storage.wal.dir: from test)"},
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
        T(test_validate),
        T(test_validate_direct_edits),
        T(test_allocation_failures),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
