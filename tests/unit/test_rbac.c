/*
 * test_rbac.c - unit tests for src/security/rbac.h: the built-in roles as
 * a table of role x action x resource -> answer in both default modes;
 * the reference roles.toml (data_scientist inherits reader); the same
 * roles as JSON; inheritance cycles and other load errors; the query and
 * admin-command action mapping; admin on "server" needing an explicit
 * grant in allow-by-default mode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "leakcheck.h"
#include "security/rbac.h"

#define R AMATERS_ACTION_READ
#define W AMATERS_ACTION_WRITE
#define A AMATERS_ACTION_ADMIN
#define DENY AMATERS_AUTHZ_DENY_BY_DEFAULT
#define ALLOW AMATERS_AUTHZ_ALLOW_BY_DEFAULT

struct check_case {
    const char *role; /* NULL: principal without roles */
    enum amaters_action action;
    const char *resource;
    bool allowed;
};

static void run_cases(const struct amaters_rbac *r,
                      const struct check_case *cases, size_t n,
                      const char *label)
{
    for (size_t i = 0; i < n; i++) {
        const char *roles[1] = {cases[i].role};
        bool allowed = !cases[i].allowed;
        int rv = amaters_rbac_check(r, roles, cases[i].role ? 1 : 0,
                                    cases[i].action, cases[i].resource,
                                    &allowed);
        if (rv != 0 || allowed != cases[i].allowed)
            fail_msg("%s case %zu: %s %s %s: expected %s, got rv %d %s",
                     label, i, cases[i].role ? cases[i].role : "(none)",
                     amaters_action_name(cases[i].action),
                     cases[i].resource, cases[i].allowed ? "allow" : "deny",
                     rv, allowed ? "allow" : "deny");
    }
}

#define N(x) (sizeof(x) / sizeof((x)[0]))

static void test_builtin_matrix_deny_by_default(void **state)
{
    static const struct check_case cases[] = {
        /* role     action resource            allowed */
        {"admin", R, "collection:users", true},
        {"admin", W, "collection:users", true},
        {"admin", A, "collection:users", true},
        {"admin", R, "server", true},
        {"admin", W, "server", true},
        {"admin", A, "server", true},
        {"user", R, "collection:users", true},
        {"user", W, "collection:orders", true},
        {"user", A, "collection:users", false},
        {"user", R, "server", false},
        {"user", W, "server", false},
        {"user", A, "server", false},
        {"reader", R, "collection:users", true},
        {"reader", W, "collection:users", false},
        {"reader", A, "collection:users", false},
        {"reader", R, "server", false},
        {"reader", A, "server", false},
        {"ghost", R, "collection:users", false},
        {"ghost", A, "server", false},
        {NULL, R, "collection:users", false}, /* no default role */
        {"user", R, "collection:", false},    /* no collection name */
        {"user", R, "collections:x", false},
    };
    struct amaters_rbac *r = NULL;
    char err[256] = "";
    (void)state;

    assert_int_equal(amaters_rbac_load(&r, NULL, AMATERS_RBAC_FORMAT_AUTO,
                                       NULL, DENY, err, sizeof err),
                     0);
    run_cases(r, cases, N(cases), "deny");
    amaters_rbac_free(r);
}

static void test_builtin_matrix_allow_by_default(void **state)
{
    /* Allow-by-default only opens read and write on collections none of
     * the principal's permissions mention; a mentioned resource is still
     * decided by them, and admin or anything on "server" always needs an
     * explicit grant (docs/security.md). */
    static const struct check_case cases[] = {
        {"user", R, "server", false},
        {"user", A, "server", false},
        {"user", A, "collection:users", false},
        {"reader", W, "collection:users", false},
        {"reader", A, "server", false},
        {"ghost", W, "collection:users", true},
        {"ghost", R, "collection:users", true},
        {"ghost", A, "server", false},
        {"ghost", A, "collection:users", false},
        {"admin", W, "server", true},
        {"admin", A, "server", true},
        {NULL, W, "collection:x", false}, /* default role "reader" */
        {NULL, R, "collection:x", true},
        {NULL, A, "server", false},
    };
    struct amaters_rbac *r = NULL;
    char err[256] = "";
    (void)state;

    assert_int_equal(amaters_rbac_load(&r, "", AMATERS_RBAC_FORMAT_AUTO,
                                       "reader", ALLOW, err, sizeof err),
                     0);
    run_cases(r, cases, N(cases), "allow");
    amaters_rbac_free(r);
}

static void test_default_role_and_multiple_roles(void **state)
{
    struct amaters_rbac *r = NULL;
    char err[256] = "";
    const char *both[] = {"reader", "ghost", "user"};
    bool allowed = false;
    (void)state;

    assert_int_equal(amaters_rbac_load(&r, NULL, AMATERS_RBAC_FORMAT_AUTO,
                                       "user", DENY, err, sizeof err),
                     0);
    /* No roles: the default role "user" applies. */
    assert_int_equal(amaters_rbac_check(r, NULL, 0, W, "collection:a",
                                        &allowed),
                     0);
    assert_true(allowed);
    /* Roles present: the default role does not add to them. */
    assert_int_equal(amaters_rbac_check(r, both, 1, W, "collection:a",
                                        &allowed),
                     0);
    assert_false(allowed);
    /* Any of several roles may grant. */
    assert_int_equal(amaters_rbac_check(r, both, 3, W, "collection:a",
                                        &allowed),
                     0);
    assert_true(allowed);
    /* Bad arguments. */
    assert_int_equal(amaters_rbac_check(r, both, 1, W, "", &allowed),
                     AMATERS_EINVAL);
    assert_false(allowed);
    assert_int_equal(amaters_rbac_check(r, both, 1, (enum amaters_action)3,
                                        "server", &allowed),
                     AMATERS_EINVAL);
    assert_int_equal(amaters_rbac_check(r, NULL, 2, R, "server", &allowed),
                     AMATERS_EINVAL);
    amaters_rbac_free(r);

    /* A default role that does not exist is a load error. */
    assert_int_equal(amaters_rbac_load(&r, NULL, AMATERS_RBAC_FORMAT_AUTO,
                                       "nobody", DENY, err, sizeof err),
                     AMATERS_ECONFIG);
    assert_null(r);
    assert_non_null(strstr(err, "nobody"));
}

static const struct check_case reference_cases[] = {
    {"data_scientist", R, "collection:anything", true}, /* from reader */
    {"data_scientist", W, "collection:datasets", true},
    {"data_scientist", W, "collection:results", true},
    {"data_scientist", W, "collection:models", false},
    {"data_scientist", W, "collection:users", false},
    {"data_scientist", R, "server", false},
    {"power_user", A, "collection:x", true},
    {"power_user", W, "collection:x", true},
    {"power_user", R, "server", true},
    {"power_user", A, "server", false},
    {"auditor", R, "server", true},
    {"auditor", R, "collection:logs", true},
    {"auditor", W, "collection:logs", false},
    {"service_account", W, "collection:events", true},
    {"service_account", W, "collection:metrics", true},
    {"service_account", R, "collection:events", false},
    {"service_account", W, "collection:users", false},
    {"admin", W, "collection:x", true}, /* admin on "*" implies write */
    {"admin", R, "server", true},
    {"admin", A, "server", true},
    {"reader", W, "collection:x", false},
    {"user", W, "collection:x", true},
};

static void test_reference_roles_toml(void **state)
{
    const char *dir = getenv("AMATERS_SHARED_DIR");
    struct amaters_rbac *r = NULL;
    char path[1024], err[256] = "";
    (void)state;

    assert_non_null(dir);
    snprintf(path, sizeof path, "%s/compat/reference-examples/roles.toml",
             dir);
    if (amaters_rbac_load(&r, path, AMATERS_RBAC_FORMAT_AUTO, "user", DENY,
                          err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_true(amaters_rbac_has_role(r, "data_scientist"));
    assert_true(amaters_rbac_has_role(r, "service_account"));
    assert_false(amaters_rbac_has_role(r, "ghost"));
    run_cases(r, reference_cases, N(reference_cases), "reference");
    amaters_rbac_free(r);
}

/* Admin-tunnel commands (admin on "server") need an explicit grant in
 * allow-by-default mode too: only a permission on "*" or "server" that
 * lists admin grants it; "collection:*" admin or "server" read do not. */
static void test_admin_needs_explicit_grant_allow_by_default(void **state)
{
    static const struct check_case ref_cases[] = {
        {"admin", A, "server", true},
        {"power_user", A, "server", false}, /* read on server only */
        {"auditor", A, "server", false},
        {"data_scientist", A, "server", false},
        {"service_account", A, "server", false},
        {"service_account", R, "collection:misc", true}, /* unmentioned */
        {"service_account", W, "collection:misc", true},
        {"user", A, "server", false},
        {"reader", A, "server", false},
        {"ghost", A, "server", false},
        {NULL, A, "server", false}, /* no roles, no default role */
        {NULL, R, "collection:misc", true},
    };
    static const char extra[] =
        "[[roles]]\nname = \"ops\"\npermissions = "
        "[{ resource = \"server\", actions = [\"admin\"] }]\n"
        "[[roles]]\nname = \"ops_child\"\ninherits = [\"ops\"]\n"
        "permissions = []\n"
        "[[roles]]\nname = \"coll_admin\"\npermissions = "
        "[{ resource = \"collection:*\", actions = [\"admin\"] }]\n";
    static const struct check_case extra_cases[] = {
        {"ops", A, "server", true},
        {"ops_child", A, "server", true}, /* inherited grant */
        {"coll_admin", A, "server", false},
        {"coll_admin", W, "collection:x", true},
    };
    const char *dir = getenv("AMATERS_SHARED_DIR");
    const char *mixed[] = {"reader", "ghost", "admin"};
    struct amaters_rbac *r = NULL;
    char path[1024], err[256] = "";
    bool allowed = false;
    (void)state;

    assert_non_null(dir);
    snprintf(path, sizeof path, "%s/compat/reference-examples/roles.toml",
             dir);
    if (amaters_rbac_load(&r, path, AMATERS_RBAC_FORMAT_AUTO, NULL, ALLOW,
                          err, sizeof err) != 0)
        fail_msg("%s", err);
    run_cases(r, ref_cases, N(ref_cases), "allow-ref");
    /* One granting role among several is enough. */
    assert_int_equal(amaters_rbac_check(r, mixed, 3, A, "server", &allowed),
                     0);
    assert_true(allowed);
    assert_int_equal(amaters_rbac_check(r, mixed, 2, A, "server", &allowed),
                     0);
    assert_false(allowed);
    amaters_rbac_free(r);

    /* A default role without admin does not open the tunnel either. */
    assert_int_equal(amaters_rbac_load(&r, NULL, AMATERS_RBAC_FORMAT_AUTO,
                                       "user", ALLOW, err, sizeof err),
                     0);
    assert_int_equal(amaters_rbac_check(r, NULL, 0, A, "server", &allowed),
                     0);
    assert_false(allowed);
    amaters_rbac_free(r);

    if (amaters_rbac_load_buffer(&r, extra, strlen(extra), "extra.toml",
                                 AMATERS_RBAC_FORMAT_TOML, NULL, ALLOW, err,
                                 sizeof err) != 0)
        fail_msg("%s", err);
    run_cases(r, extra_cases, N(extra_cases), "allow-extra");
    amaters_rbac_free(r);
}

static const char json_roles[] =
    "{\"roles\": ["
    "{\"name\":\"data_scientist\",\"permissions\":["
    "{\"resource\":\"collection:datasets\",\"actions\":[\"read\",\"write\"]},"
    "{\"resource\":\"collection:models\",\"actions\":[\"read\"]},"
    "{\"resource\":\"collection:results\",\"actions\":[\"read\",\"write\"]}"
    "],\"inherits\":[\"reader\"]},"
    "{\"name\":\"power_user\",\"permissions\":["
    "{\"resource\":\"collection:*\",\"actions\":[\"read\",\"write\","
    "\"admin\"]},{\"resource\":\"server\",\"actions\":[\"read\"]}]},"
    "{\"name\":\"auditor\",\"description\":\"d\",\"permissions\":["
    "{\"resource\":\"collection:*\",\"actions\":[\"read\"]},"
    "{\"resource\":\"server\",\"actions\":[\"read\"]}]},"
    "{\"name\":\"service_account\",\"permissions\":["
    "{\"resource\":\"collection:events\",\"actions\":[\"write\"]},"
    "{\"resource\":\"collection:metrics\",\"actions\":[\"write\"]}]}"
    "]}";

static void test_json_roles_and_override(void **state)
{
    struct amaters_rbac *r = NULL;
    char err[256] = "";
    bool allowed = true;
    const char *reader[] = {"reader"};
    static const char override[] =
        "[[roles]]\nname = \"reader\"\npermissions = "
        "[{ resource = \"collection:public\", actions = [\"read\"] }]\n";
    (void)state;

    if (amaters_rbac_load_buffer(&r, json_roles, strlen(json_roles),
                                 "roles.json", AMATERS_RBAC_FORMAT_AUTO,
                                 NULL, DENY, err, sizeof err) != 0)
        fail_msg("%s", err);
    run_cases(r, reference_cases, N(reference_cases), "json");
    amaters_rbac_free(r);

    /* A file role named like a built-in replaces it. */
    assert_int_equal(amaters_rbac_load_buffer(&r, override, strlen(override),
                                              "o.toml",
                                              AMATERS_RBAC_FORMAT_TOML, NULL,
                                              DENY, err, sizeof err),
                     0);
    assert_int_equal(amaters_rbac_check(r, reader, 1, R, "collection:x",
                                        &allowed),
                     0);
    assert_false(allowed);
    assert_int_equal(amaters_rbac_check(r, reader, 1, R, "collection:public",
                                        &allowed),
                     0);
    assert_true(allowed);
    amaters_rbac_free(r);
}

static void test_load_errors(void **state)
{
    static const struct {
        enum amaters_rbac_format fmt;
        const char *text;
        const char *err_part;
    } cases[] = {
        {AMATERS_RBAC_FORMAT_TOML,
         "[[roles]]\nname=\"a\"\ninherits=[\"b\"]\n"
         "[[roles]]\nname=\"b\"\ninherits=[\"c\"]\n"
         "[[roles]]\nname=\"c\"\ninherits=[\"a\"]\n",
         "f: inheritance cycle: a -> b -> c -> a"},
        {AMATERS_RBAC_FORMAT_TOML, "[[roles]]\nname=\"x\"\ninherits=[\"x\"]\n",
         "inheritance cycle: x -> x"},
        {AMATERS_RBAC_FORMAT_JSON,
         "[{\"name\":\"d\",\"inherits\":[\"e\"]},"
         "{\"name\":\"e\",\"inherits\":[\"user\",\"d\"]}]",
         "inheritance cycle: d -> e -> d"},
        {AMATERS_RBAC_FORMAT_TOML,
         "[[roles]]\nname=\"a\"\ninherits=[\"nope\"]\n",
         "role \"a\" inherits unknown role \"nope\""},
        {AMATERS_RBAC_FORMAT_TOML,
         "[[roles]]\nname=\"a\"\npermissions=[{resource=\"*\","
         "actions=[\"exec\"]}]\n",
         "f: role 0 (\"a\"): permissions: actions: unknown action \"exec\""},
        {AMATERS_RBAC_FORMAT_TOML,
         "[[roles]]\nname=\"a\"\n[[roles]]\nname=\"b\"\ncolour=\"red\"\n",
         "f: role 1 (\"b\"): unknown key \"colour\""},
        {AMATERS_RBAC_FORMAT_TOML, "[[roles]]\nname=\"a\"\n[[roles]]\n"
                                   "name=\"a\"\n",
         "role 1 (\"a\"): name: defined twice"},
        {AMATERS_RBAC_FORMAT_TOML, "[[roles]]\ndescription=\"x\"\n",
         "f: role 0: name: required"},
        {AMATERS_RBAC_FORMAT_TOML,
         "[[roles]]\nname=\"a\"\npermissions=[{resource=\"coll*\","
         "actions=[\"read\"]}]\n",
         "'*' only as"},
        {AMATERS_RBAC_FORMAT_TOML, "roles = 3\n", "f: roles: expected"},
        {AMATERS_RBAC_FORMAT_TOML, "other = 3\n", "unknown top-level key"},
        {AMATERS_RBAC_FORMAT_TOML, "[[roles]\n", "f:1:"},
        {AMATERS_RBAC_FORMAT_JSON, "{\"roles\":", "f: not valid JSON"},
    };
    (void)state;

    for (size_t i = 0; i < N(cases); i++) {
        struct amaters_rbac *r = (void *)1;
        char err[256] = "";
        int rv = amaters_rbac_load_buffer(&r, cases[i].text,
                                          strlen(cases[i].text), "f",
                                          cases[i].fmt, NULL, DENY, err,
                                          sizeof err);
        assert_true(rv == AMATERS_ECONFIG || rv == AMATERS_EPARSE);
        assert_null(r);
        if (strstr(err, cases[i].err_part) == NULL)
            fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err,
                     cases[i].err_part);
    }
}

static void test_action_mapping(void **state)
{
    static const struct {
        const char *kind;
        int rv;
        enum amaters_action action;
    } cases[] = {
        {"get", 0, R},    {"range", 0, R},  {"filter", 0, R},
        {"set", 0, W},    {"delete", 0, W}, {"update", 0, W},
        {"unknown", AMATERS_EINVAL, R},     {"GET", AMATERS_EINVAL, R},
    };
    static const char *const admin_cmds[] = {
        "STATS", "METRICS", "CLUSTER_INFO", "NODES", "LOGS",
        "VERIFY", "compact", "BACKUP", "RESTORE", "WHATEVER"};
    char buf[32];
    (void)state;

    for (size_t i = 0; i < N(cases); i++) {
        enum amaters_action a = (enum amaters_action)0;
        assert_int_equal(amaters_rbac_action_for_query(cases[i].kind, &a),
                         cases[i].rv);
        if (cases[i].rv == 0)
            assert_int_equal(a, cases[i].action);
    }
    for (size_t i = 0; i < N(admin_cmds); i++) {
        const char *res = NULL;
        assert_int_equal(amaters_rbac_action_for_admin(admin_cmds[i], &res),
                         A);
        assert_string_equal(res, "server");
    }
    assert_int_equal(amaters_rbac_collection_resource("users", buf,
                                                      sizeof buf),
                     0);
    assert_string_equal(buf, "collection:users");
    assert_int_equal(amaters_rbac_collection_resource(
                         "a-very-long-collection-name", buf, sizeof buf),
                     AMATERS_ETOOBIG);
}

static void test_allocation_failures_do_not_leak(void **state)
{
    (void)state;
    for (long n = 0; n < 300; n++) {
        struct amaters_rbac *r = NULL;
        char err[256];
        int rv;
        amaters_alloc_fail_after(n);
        rv = amaters_rbac_load_buffer(&r, json_roles, strlen(json_roles),
                                      "r.json", AMATERS_RBAC_FORMAT_JSON,
                                      "user", DENY, err, sizeof err);
        amaters_alloc_fail_after(-1);
        assert_true(rv == 0 || rv == AMATERS_ENOMEM);
        amaters_rbac_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LEAK_TEST(test_builtin_matrix_deny_by_default),
        LEAK_TEST(test_builtin_matrix_allow_by_default),
        LEAK_TEST(test_default_role_and_multiple_roles),
        LEAK_TEST(test_reference_roles_toml),
        LEAK_TEST(test_admin_needs_explicit_grant_allow_by_default),
        LEAK_TEST(test_json_roles_and_override),
        LEAK_TEST(test_load_errors),
        LEAK_TEST(test_action_mapping),
        LEAK_TEST(test_allocation_failures_do_not_leak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
