/*
 * rbac_load.c - reading role files. JSON is parsed with cJSON; TOML with
 * our own parser (config/toml.h) and then converted to the same cJSON
 * shape, so one function checks every field of every role for both
 * formats and produces the same error messages.
 */
#include "security/rbac_internal.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config/toml.h"
#include "core/alloc.h"
#include "core/errors.h"
#include "security/secutil.h"

/* Converts a TOML value into cJSON. Returns NULL on allocation failure or
 * for date/time values (*bad_type set). */
static cJSON *toml_to_json(const struct amaters_toml_value *v, bool *bad_type)
{
    cJSON *j = NULL;

    switch (v->type) {
    case AMATERS_TOML_TABLE:
        j = cJSON_CreateObject();
        for (size_t i = 0; j != NULL && i < amaters_toml_table_count(v); i++) {
            const char *key = NULL;
            const struct amaters_toml_value *c =
                amaters_toml_table_at(v, i, &key, NULL);
            cJSON *cj = toml_to_json(c, bad_type);
            if (cj == NULL || !cJSON_AddItemToObject(j, key, cj)) {
                cJSON_Delete(cj);
                cJSON_Delete(j);
                return NULL;
            }
        }
        return j;
    case AMATERS_TOML_ARRAY:
        j = cJSON_CreateArray();
        for (size_t i = 0; j != NULL && i < amaters_toml_array_count(v); i++) {
            cJSON *cj = toml_to_json(amaters_toml_array_at(v, i), bad_type);
            if (cj == NULL || !cJSON_AddItemToArray(j, cj)) {
                cJSON_Delete(cj);
                cJSON_Delete(j);
                return NULL;
            }
        }
        return j;
    case AMATERS_TOML_STRING:
        return cJSON_CreateString(v->u.string.ptr);
    case AMATERS_TOML_INTEGER:
        return cJSON_CreateNumber((double)v->u.integer);
    case AMATERS_TOML_FLOAT:
        return cJSON_CreateNumber(v->u.floating);
    case AMATERS_TOML_BOOLEAN:
        return cJSON_CreateBool(v->u.boolean);
    default:
        *bad_type = true;
        return NULL;
    }
}

/* Error context: file name, role index and (when known) role name. */
struct ctx {
    const char *file;
    size_t index;
    const char *role;
    char *err;
    size_t errlen;
};

static int fail(const struct ctx *c, const char *what, const char *arg)
{
    char msg[256];

    if (arg != NULL)
        snprintf(msg, sizeof msg, "%s \"%.64s\"", what, arg);
    else
        snprintf(msg, sizeof msg, "%s", what);
    if (c->role != NULL)
        snprintf(c->err, c->errlen, "%s: role %zu (\"%.64s\"): %s", c->file,
                 c->index, c->role, msg);
    else
        snprintf(c->err, c->errlen, "%s: role %zu: %s", c->file, c->index,
                 msg);
    return AMATERS_ECONFIG;
}

static bool is_name(const cJSON *v)
{
    return cJSON_IsString(v) && v->valuestring[0] != '\0' &&
           strlen(v->valuestring) <= AMATERS_PRINCIPAL_MAX_ROLE_LEN;
}

static int parse_perm(const struct ctx *c, struct rbac_role *role,
                      const cJSON *p)
{
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(p, "resource");
    const cJSON *acts = cJSON_GetObjectItemCaseSensitive(p, "actions");
    const char *why;
    unsigned mask = 0;

    if (!cJSON_IsObject(p))
        return fail(c, "permissions: each entry must be a table", NULL);
    for (const cJSON *k = p->child; k != NULL; k = k->next)
        if (strcmp(k->string, "resource") != 0 &&
            strcmp(k->string, "actions") != 0)
            return fail(c, "permissions: unknown key", k->string);
    if (!cJSON_IsString(res))
        return fail(c, "permissions: resource: required string", NULL);
    why = amaters_rbac_pattern_error(res->valuestring);
    if (why != NULL)
        return fail(c, why, res->valuestring);
    if (!cJSON_IsArray(acts) || acts->child == NULL)
        return fail(c, "permissions: actions: required non-empty array",
                    NULL);
    for (const cJSON *a = acts->child; a != NULL; a = a->next) {
        unsigned bit = cJSON_IsString(a)
                           ? amaters_rbac_action_bit(a->valuestring)
                           : 0;
        if (bit == 0)
            return fail(c, "permissions: actions: unknown action",
                        cJSON_IsString(a) ? a->valuestring : "?");
        mask |= bit;
    }
    return amaters_rbac_role_add_perm(role, res->valuestring, mask);
}

static int parse_role_fields(const struct ctx *c, struct rbac_role *role,
                             const cJSON *r)
{
    const cJSON *perms = cJSON_GetObjectItemCaseSensitive(r, "permissions");
    const cJSON *inh = cJSON_GetObjectItemCaseSensitive(r, "inherits");
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(r, "description");
    int rv = 0;

    if (desc != NULL && !cJSON_IsString(desc))
        return fail(c, "description: expected a string", NULL);
    if (perms != NULL && !cJSON_IsArray(perms))
        return fail(c, "permissions: expected an array", NULL);
    if (cJSON_GetArraySize(perms) > AMATERS_RBAC_MAX_RULES)
        return fail(c, "permissions: too many entries", NULL);
    for (const cJSON *p = perms == NULL ? NULL : perms->child;
         p != NULL && rv == 0; p = p->next)
        rv = parse_perm(c, role, p);
    if (rv != 0)
        return rv;
    if (inh != NULL && !cJSON_IsArray(inh))
        return fail(c, "inherits: expected an array of role names", NULL);
    for (const cJSON *p = inh == NULL ? NULL : inh->child;
         p != NULL && rv == 0; p = p->next)
        rv = is_name(p) ? amaters_rbac_role_add_parent(role, p->valuestring)
                        : fail(c, "inherits: expected role names", NULL);
    return rv;
}

static int parse_role(struct ctx *c, struct rbac_roles *list, const cJSON *r)
{
    static const char *const keys[] = {"name", "description", "permissions",
                                       "inherits"};
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(r, "name");
    struct rbac_role *role;

    if (!cJSON_IsObject(r))
        return fail(c, "expected a table", NULL);
    if (!is_name(name))
        return fail(c, "name: required non-empty string", NULL);
    c->role = name->valuestring;
    for (const cJSON *k = r->child; k != NULL; k = k->next) {
        size_t i = 0;
        while (i < 4 && strcmp(k->string, keys[i]) != 0)
            i++;
        if (i == 4)
            return fail(c, "unknown key", k->string);
    }
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->v[i].name, name->valuestring) == 0)
            return fail(c, "name: defined twice in this file", NULL);
    role = amaters_rbac_roles_add(list, name->valuestring);
    if (role == NULL)
        return AMATERS_ENOMEM;
    return parse_role_fields(c, role, r);
}

/* Walks the roles of a parsed document (object with "roles" or array). */
static int parse_doc(struct rbac_roles *list, const cJSON *root,
                     const char *name, char *err, size_t errlen)
{
    struct ctx c = {name, 0, NULL, err, errlen};
    const cJSON *roles = root;
    int rv = 0;

    if (cJSON_IsObject(root)) {
        for (const cJSON *k = root->child; k != NULL; k = k->next)
            if (strcmp(k->string, "roles") != 0) {
                snprintf(err, errlen, "%s: unknown top-level key \"%.64s\"",
                         name, k->string);
                return AMATERS_ECONFIG;
            }
        roles = cJSON_GetObjectItemCaseSensitive(root, "roles");
        if (roles == NULL)
            return 0;
    }
    if (!cJSON_IsArray(roles)) {
        snprintf(err, errlen, "%s: roles: expected an array of tables", name);
        return AMATERS_ECONFIG;
    }
    if (cJSON_GetArraySize(roles) > AMATERS_RBAC_MAX_ROLES) {
        snprintf(err, errlen, "%s: more than %d roles", name,
                 AMATERS_RBAC_MAX_ROLES);
        return AMATERS_ECONFIG;
    }
    for (const cJSON *r = roles->child; r != NULL && rv == 0; r = r->next) {
        c.role = NULL;
        rv = parse_role(&c, list, r);
        c.index++;
    }
    return rv;
}

int amaters_rbac_parse_json(struct rbac_roles *list, const char *text,
                            size_t len, const char *name, char *err,
                            size_t errlen)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    int rv;

    if (root == NULL) {
        snprintf(err, errlen, "%s: not valid JSON", name);
        return AMATERS_EPARSE;
    }
    rv = parse_doc(list, root, name, err, errlen);
    cJSON_Delete(root);
    return rv;
}

int amaters_rbac_parse_toml(struct rbac_roles *list, const char *text,
                            size_t len, const char *name, char *err,
                            size_t errlen)
{
    struct amaters_toml_value *root = NULL;
    cJSON *j;
    bool bad_type = false;
    int rv;

    rv = amaters_toml_parse(text, len, name, &root, err, errlen);
    if (rv != 0)
        return rv;
    j = toml_to_json(root, &bad_type);
    amaters_toml_free(root);
    if (j == NULL && bad_type) {
        snprintf(err, errlen, "%s: dates and times are not allowed here",
                 name);
        return AMATERS_ECONFIG;
    }
    if (j == NULL)
        return AMATERS_ENOMEM;
    rv = parse_doc(list, j, name, err, errlen);
    cJSON_Delete(j);
    return rv;
}
