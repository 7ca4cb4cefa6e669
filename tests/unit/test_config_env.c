/*
 * test_config_env.c - unit tests of the configuration layers above the file
 * (src/config/config.h): environment variables (the general
 * AMATERS_<SECTION>__<KEY> rule, the legacy names and which wins, the error
 * messages, nothing applied on error), single keys set from flags (accepted
 * and refused values, messages naming the flag), the precedence of
 * defaults, file, environment and command line, and the origin each value
 * keeps (file position, variable, flag) as validation messages show it.
 * The fixture is in config_fixture.h; the rest of the configuration's tests
 * are in test_config.c and test_config_dump.c.
 *
 * Expected values are written out here from the specification, never taken
 * from the code under test.
 */
#include "config_fixture.h"

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
    /* A table is not a key: say so, name one of its variables, and never
     * suggest the name itself. */
    {"AMATERS_STORAGE__WAL=1",
     "environment AMATERS_STORAGE__WAL: storage.wal is a table; set its "
     "keys, e.g. AMATERS_STORAGE__WAL__ENABLED"},
    {"amaters_auth__jwt=x",
     "environment amaters_auth__jwt: auth.jwt is a table; set its keys, "
     "e.g. AMATERS_AUTH__JWT__ENABLED"},
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
    assert_int_equal(amaters_config_set(&cfg, "storage.wal", "x", "--wal",
                                        err, sizeof(err)),
                     AMATERS_ECONFIG);
    assert_string_equal(err, "--wal: storage.wal is a table; set its keys, "
                             "e.g. storage.wal.enabled");
    /* A near miss still gets a suggestion, never the name itself. */
    assert_int_equal(amaters_config_set(&cfg, "storage.wall", "x", "--w",
                                        err, sizeof(err)),
                     AMATERS_ECONFIG);
    assert_string_equal(err, "--w: unknown key 'storage.wall' (did you mean "
                             "'storage.wal'?)");
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

/* ---- origins ---- */

static void test_origins(void **state)
{
    char *envp[] = {"AMATERS_DATA_DIR=", "AMATERS_LOGGING__LEVEL=debug",
                    NULL};
    char *bad_env[] = {"AMATERS_SERVER__PID_FILE=/p",
                       "AMATERS_SERVER__MAX_CONNECTIONS=0", NULL};
    struct amaters_config copy;

    (void)state;
    assert_string_equal(amaters_config_origin(&cfg, "server.data_dir"),
                        "built-in default");
    assert_string_equal(amaters_config_origin(&cfg, "no.such_key"),
                        "built-in default");
    assert_int_equal(load("[server]\ndata_dir = \"/f\"\n"
                          "bind_address = \"127.0.0.1:9090\"\n"),
                     0);
    assert_string_equal(amaters_config_origin(&cfg, "server.data_dir"),
                        "t.toml:2:12");
    assert_string_equal(amaters_config_origin(&cfg, "server.bind_address"),
                        "t.toml:3:16");
    assert_string_equal(amaters_config_origin(&cfg, "server.pid_file"),
                        "built-in default");

    /* Cross-key rules name where the values came from. */
    assert_int_equal(amaters_config_validate(&cfg, err, sizeof(err)),
                     AMATERS_ECONFIG);
    assert_string_equal(err, "server.bind_address and metrics.bind_address "
                             "are both 127.0.0.1:9090 (server.bind_address: "
                             "from t.toml:3:16; metrics.bind_address: "
                             "built-in default)");
    set_ok("server.bind_address", "127.0.0.1:50051");

    /* The environment replaces the file's origin: an empty data_dir names
     * the variable (the legacy name here). */
    assert_int_equal(amaters_config_apply_env(&cfg, envp, err, sizeof(err)),
                     0);
    assert_string_equal(amaters_config_origin(&cfg, "server.data_dir"),
                        "environment AMATERS_DATA_DIR");
    assert_string_equal(amaters_config_origin(&cfg, "logging.level"),
                        "environment AMATERS_LOGGING__LEVEL");
    assert_int_equal(amaters_config_validate(&cfg, err, sizeof(err)),
                     AMATERS_ECONFIG);
    assert_string_equal(err, "server.data_dir is empty (from environment "
                             "AMATERS_DATA_DIR)");

    /* A failed layer changes no origin either. */
    assert_int_equal(amaters_config_apply_env(&cfg, bad_env, err,
                                              sizeof(err)),
                     AMATERS_ECONFIG);
    assert_string_equal(amaters_config_origin(&cfg, "server.pid_file"),
                        "built-in default");
    assert_int_equal(load("[server]\npid_file = \"/p\"\nworker_threads = "
                          "-1\n"),
                     AMATERS_ECONFIG);
    assert_string_equal(amaters_config_origin(&cfg, "server.pid_file"),
                        "built-in default");

    /* A flag (amaters_config_set's source) is the origin last. */
    assert_int_equal(amaters_config_set(&cfg, "server.data_dir", "",
                                        "--data-dir", err, sizeof(err)),
                     0);
    assert_int_equal(amaters_config_validate(&cfg, err, sizeof(err)),
                     AMATERS_ECONFIG);
    assert_string_equal(err, "server.data_dir is empty (from --data-dir)");

    /* Copies keep them, as their own strings. */
    assert_int_equal(amaters_config_copy(&copy, &cfg), 0);
    assert_string_equal(amaters_config_origin(&copy, "server.data_dir"),
                        "--data-dir");
    assert_true(amaters_config_origin(&copy, "server.data_dir") !=
                amaters_config_origin(&cfg, "server.data_dir"));
    amaters_config_free(&copy);

    /* A file's value that breaks a rule: named by position. */
    assert_int_equal(load("[cluster]\nheartbeat_interval_ms = 5000\n"), 0);
    assert_int_equal(amaters_config_validate(&cfg, err, sizeof(err)),
                     AMATERS_ECONFIG);
    assert_non_null(strstr(err, "server.data_dir is empty"));
    set_ok("server.data_dir", "/d");
    assert_int_equal(amaters_config_validate(&cfg, err, sizeof(err)),
                     AMATERS_ECONFIG);
    assert_string_equal(err, "cluster.election_timeout_ms (1000) must be "
                             "greater than cluster.heartbeat_interval_ms "
                             "(5000) (cluster.election_timeout_ms: built-in "
                             "default; cluster.heartbeat_interval_ms: from "
                             "t.toml:2:25)");
}

/* Setting a key records its origin: every allocation failing in turn
 * gives ENOMEM, leaks nothing and changes neither value nor origin. */
static void test_set_allocation_failures(void **state)
{
    long n, live;
    int rv;

    (void)state;
    for (n = 0;; n++) {
        live = amaters_alloc_live();
        amaters_alloc_fail_after(n);
        rv = amaters_config_set(&cfg, "storage.engine", "memory", "--e", err,
                                sizeof(err));
        amaters_alloc_fail_after(-1);
        if (rv == 0)
            break;
        assert_int_equal(rv, AMATERS_ENOMEM);
        assert_int_equal(amaters_alloc_live(), live);
        assert_string_equal(cfg.storage.engine, "lsm");
        assert_string_equal(amaters_config_origin(&cfg, "storage.engine"),
                            "built-in default");
    }
    assert_true(n >= 3);
    assert_string_equal(cfg.storage.engine, "memory");
    assert_string_equal(amaters_config_origin(&cfg, "storage.engine"),
                        "--e");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_env_general_rule),
        T(test_env_legacy_names),
        T(test_env_errors),
        T(test_set),
        T(test_precedence),
        T(test_origins),
        T(test_set_allocation_failures),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
