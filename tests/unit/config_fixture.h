/*
 * config_fixture.h - the fixture and helpers shared by the configuration unit
 * tests (test_config.c, test_config_env.c, test_config_dump.c): the
 * configuration under test with its error buffer, the cmocka setup and
 * teardown (which check that no amaters_* allocation leaked), the path of a
 * fixture file in tests/data/config/, loading a TOML text, setting one key,
 * and the check of every value of tests/data/config/full.toml.
 *
 * Header-only so each test binary stays one source file: each test program
 * includes it once, from its .c file. Everything here is static (inline), so a
 * program that uses only part of it builds warning-free.
 *
 * Threads: the test's main thread only (cmocka's assertions are not
 * thread-safe). Heap memory: nothing here returns any; the strings of cfg
 * belong to cfg, and teardown frees them.
 */
#ifndef AMATERS_TESTS_CONFIG_FIXTURE_H
#define AMATERS_TESTS_CONFIG_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config/config.h"
#include "core/alloc.h"
#include "core/errors.h"
#include "leakcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* State of the running test: the configuration under test (set to the
 * defaults by setup, freed by teardown) and the buffer the error messages go
 * to. */
static struct amaters_config cfg;
static char err[1024];

/* cmocka setup: records the live allocation count (leak_mark()), sets cfg
 * to the defaults and empties err. Returns 0. */
static inline int setup(void **state)
{
    (void)state;
    leak_mark();
    assert_int_equal(amaters_config_init_defaults(&cfg), 0);
    err[0] = '\0';
    return 0;
}

/* cmocka teardown: stops failing allocations, frees cfg and fails the test
 * if an amaters_* allocation outlived it. Returns 0. */
static inline int teardown(void **state)
{
    (void)state;
    amaters_alloc_fail_after(-1);
    amaters_config_free(&cfg);
    leak_check();
    return 0;
}

/* Returns the path of name in $AMATERS_SOURCE_DIR/tests/data/config/, in a
 * static buffer the next call overwrites. */
static inline const char *data_path(const char *name)
{
    static char path[1024];
    const char *src = getenv("AMATERS_SOURCE_DIR");

    assert_non_null(src);
    snprintf(path, sizeof(path), "%s/tests/data/config/%s", src, name);
    return path;
}

/* Loads the TOML text doc (named "t.toml" in messages) onto cfg, the
 * message going to err. Returns amaters_config_load_buffer()'s result. */
static inline int load(const char *doc)
{
    return amaters_config_load_buffer(&cfg, doc, strlen(doc), "t.toml", err,
                                      sizeof(err));
}

/* Sets key to value in cfg (source "test"), failing the test with the
 * message if it is refused. */
static inline void set_ok(const char *key, const char *value)
{
    if (amaters_config_set(&cfg, key, value, "test", err, sizeof(err)) != 0)
        fail_msg("set %s=%s: %s", key, value, err);
}

/* Fails the test unless c holds every value of tests/data/config/full.toml
 * (a file that sets every key). */
static inline void check_full_fixture(const struct amaters_config *c)
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

#endif
