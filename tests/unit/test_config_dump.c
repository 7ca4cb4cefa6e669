/*
 * test_config_dump.c - unit tests of what the configuration
 * (src/config/config.h) gives back: the TOML dump (round trip, escaping,
 * secrets never shown and their placeholder refused when loaded back from a
 * file, the environment or a flag), the generated docs/configuration.md (up
 * to date with the
 * schema), the pid, log and audit paths derived from data_dir, copy, diff and
 * the reload check (keys that need a restart), and the authentication methods
 * in use. The fixture is in config_fixture.h; the rest of the configuration's
 * tests are in test_config.c and test_config_env.c.
 *
 * Expected values are written out here from the specification, never taken
 * from the code under test. Fixtures live in tests/data/config/.
 */
#include "config_fixture.h"

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
    /* A secret that is set: commented out, so the dump still loads. */
    assert_non_null(strstr(text, "\n# secret = \"<redacted>\"\n"));
    assert_null(strstr(text, "\nsecret = \"<redacted>\""));
    assert_non_null(strstr(text, "AMATERS_AUTH__JWT__SECRET"));
    assert_non_null(strstr(text, "\ndata_dir = \"a \\\"quoted\\\" \\\\ "
                                 "path\\twith\\nnewline\"\n"));
    assert_non_null(strstr(text, "\nlevel = \"warn\"\n"));
    assert_int_equal(amaters_config_init_defaults(&back), 0);
    if (amaters_config_load_buffer(&back, text, strlen(text), "dump", err,
                                   sizeof(err)) != 0)
        fail_msg("%s\n%s", err, text);
    free(text);
    /* Only the hidden secret differs: it loads back empty. */
    assert_string_equal(amaters_config_diff(&cfg, &back), "auth.jwt.secret");
    assert_string_equal(back.auth.jwt.secret, "");
    assert_int_equal(amaters_config_set(&back, "auth.jwt.secret",
                                        "fixture-secret-value", "test", err,
                                        sizeof(err)),
                     0);
    assert_null(amaters_config_diff(&cfg, &back));
    assert_string_equal(back.server.data_dir,
                        "a \"quoted\" \\ path\twith\nnewline");
    amaters_config_free(&back);
}

/* The secret keys (docs/configuration.md, docs/security.md) and their
 * environment variables. */
static const struct {
    const char *key, *section, *name, *env;
} secrets[] = {
    {"auth.jwt.secret", "auth.jwt", "secret", "AMATERS_AUTH__JWT__SECRET"},
    {"auth.api_key.hash_secret", "auth.api_key", "hash_secret",
     "AMATERS_AUTH__API_KEY__HASH_SECRET"},
};
#define NSECRETS (sizeof(secrets) / sizeof(secrets[0]))

/* Counts the occurrences of needle in hay. */
static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;

    for (hay = strstr(hay, needle); hay != NULL;
         hay = strstr(hay + 1, needle))
        n++;
    return n;
}

/* "generate, edit, deploy": the dump never shows a secret, still loads
 * when auth is off, and the placeholder it writes can never become the
 * secret, whether it comes back through a file (the line an older dump
 * wrote, or an uncommented one), the environment or a flag. */
static void test_dump_placeholder_never_loads(void **state)
{
    char doc[256], want[512], var[128], line[64];
    char *envp[2] = {var, NULL};
    struct amaters_config back;
    char *text;
    size_t i;

    (void)state;
    /* Defaults (auth off, secrets empty): the dump loads and validates. */
    text = dump(&cfg);
    assert_int_equal(count_of(text, "<redacted>"), 1); /* header only */
    assert_int_equal(amaters_config_init_defaults(&back), 0);
    assert_int_equal(amaters_config_load_buffer(&back, text, strlen(text),
                                                "gen.toml", err, sizeof(err)),
                     0);
    assert_int_equal(amaters_config_validate(&back, err, sizeof(err)), 0);
    assert_null(amaters_config_diff(&cfg, &back));
    amaters_config_free(&back);
    free(text);

    /* Both secrets set, auth off: each line is commented out with the
     * placeholder, and the dump loads with both secrets empty. */
    for (i = 0; i < NSECRETS; i++)
        set_ok(secrets[i].key, "s3cr3t-value");
    text = dump(&cfg);
    assert_null(strstr(text, "s3cr3t-value"));
    for (i = 0; i < NSECRETS; i++) {
        snprintf(line, sizeof(line), "\n# %s = \"<redacted>\"\n",
                 secrets[i].name);
        assert_non_null(strstr(text, line));
        assert_non_null(strstr(text, secrets[i].env));
    }
    assert_int_equal(amaters_config_init_defaults(&back), 0);
    assert_int_equal(amaters_config_load_buffer(&back, text, strlen(text),
                                                "gen.toml", err, sizeof(err)),
                     0);
    assert_int_equal(amaters_config_validate(&back, err, sizeof(err)), 0);
    assert_string_equal(back.auth.jwt.secret, "");
    assert_string_equal(back.auth.api_key.hash_secret, "");
    amaters_config_free(&back);
    free(text);

    for (i = 0; i < NSECRETS; i++) {
        /* In a file: refused with file:line:col, the key and the fix. */
        snprintf(doc, sizeof(doc), "[auth]\nenabled = true\n[%s]\n%s = "
                 "\"<redacted>\"\n",
                 secrets[i].section, secrets[i].name);
        snprintf(want, sizeof(want),
                 "gen.toml:4:%zu: %s is the placeholder \"<redacted>\" "
                 "written by --generate-config/--show, not a secret: put the "
                 "real secret here (or set it via %s)",
                 strlen(secrets[i].name) + 4, secrets[i].key,
                 secrets[i].env);
        assert_int_equal(amaters_config_load_buffer(&cfg, doc, strlen(doc),
                                                    "gen.toml", err,
                                                    sizeof(err)),
                         AMATERS_ECONFIG);
        assert_string_equal(err, want);
        assert_string_equal(cfg.auth.jwt.secret, "s3cr3t-value");
        assert_false(cfg.auth.enabled);

        /* In the environment. */
        snprintf(var, sizeof(var), "%s=<redacted>", secrets[i].env);
        assert_int_equal(amaters_config_apply_env(&cfg, envp, err,
                                                  sizeof(err)),
                         AMATERS_ECONFIG);
        snprintf(want, sizeof(want),
                 "environment %s: %s is the placeholder \"<redacted>\" "
                 "written by --generate-config/--show, not a secret: give "
                 "the real secret",
                 secrets[i].env, secrets[i].key);
        assert_string_equal(err, want);

        /* From a flag (or any amaters_config_set() caller). */
        assert_int_equal(amaters_config_set(&cfg, secrets[i].key,
                                            "<redacted>", "--secret", err,
                                            sizeof(err)),
                         AMATERS_ECONFIG);
        assert_non_null(strstr(err, "--secret: "));
        assert_non_null(strstr(err, "is the placeholder"));

        /* Anything else is a secret like any other. */
        set_ok(secrets[i].key, "<redacted>x");
        set_ok(secrets[i].key, "s3cr3t-value");
    }
    assert_string_equal(cfg.auth.jwt.secret, "s3cr3t-value");
    assert_string_equal(cfg.auth.api_key.hash_secret, "s3cr3t-value");

    /* Put there directly: validation refuses it too. */
    text = cfg.auth.jwt.secret;
    cfg.auth.jwt.secret = "<redacted>";
    assert_int_equal(amaters_config_validate(&cfg, err, sizeof(err)),
                     AMATERS_ECONFIG);
    assert_string_equal(err, "auth.jwt.secret is the placeholder "
                             "\"<redacted>\" written by "
                             "--generate-config/--show, not a secret: give "
                             "the real secret");
    cfg.auth.jwt.secret = text;
}

/* The secret the reference example sets: its dump does not hold it, and
 * the dump loads only with the secret supplied again (here by the
 * environment), never as "<redacted>". */
static void test_reference_dump_needs_the_secret(void **state)
{
    const char *shared = getenv("AMATERS_SHARED_DIR");
    char *envp[] = {"AMATERS_AUTH__JWT__SECRET=from-the-environment", NULL};
    struct amaters_config back;
    char path[1024];
    char *text;

    (void)state;
    assert_non_null(shared);
    snprintf(path, sizeof(path),
             "%s/compat/reference-examples/server_with_auth.toml", shared);
    assert_int_equal(amaters_config_load_file(&cfg, path, err, sizeof(err)),
                     0);
    text = dump(&cfg);
    assert_null(strstr(text, cfg.auth.jwt.secret));
    assert_int_equal(amaters_config_init_defaults(&back), 0);
    assert_int_equal(amaters_config_load_buffer(&back, text, strlen(text),
                                                "shown.toml", err,
                                                sizeof(err)),
                     0);
    assert_int_equal(amaters_config_validate(&back, err, sizeof(err)),
                     AMATERS_ECONFIG);
    assert_non_null(strstr(err, "needs auth.jwt.secret"));
    assert_int_equal(amaters_config_apply_env(&back, envp, err, sizeof(err)),
                     0);
    assert_string_equal(back.auth.jwt.secret, "from-the-environment");
    assert_string_equal(amaters_config_diff(&cfg, &back), "auth.jwt.secret");
    amaters_config_free(&back);
    free(text);
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
    /* logging.file_enabled says where the log goes (not "also"). */
    assert_null(strstr(want, "Also write the log to file_path"));
    assert_non_null(strstr(want, "to file_path only (nothing to the "
                                 "console)"));
    assert_non_null(strstr(want, "false = to standard output"));
    /* Secrets: the placeholder is described as refused. */
    assert_non_null(strstr(want, "`auth.jwt.secret`, "
                                 "`auth.api_key.hash_secret`"));
    assert_non_null(strstr(want, "itself is refused"));
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

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_dump_round_trip),
        T(test_dump_placeholder_never_loads),
        T(test_reference_dump_needs_the_secret),
        T(test_docs_up_to_date),
        T(test_pid_path),
        T(test_log_and_audit_paths),
        T(test_copy_diff_reload),
        T(test_auth_methods),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
