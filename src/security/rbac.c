/*
 * rbac.c - the role set: built-in roles, merging a roles file over them,
 * resolving inheritance (with cycle detection) into each role's effective
 * permissions, and the access decision (see rbac.h for the semantics).
 */
#include "security/rbac_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "security/secutil.h"

/* Largest roles file read. */
#define RBAC_MAX_FILE (4u * 1024u * 1024u)

#define ALL_ACTIONS                                                         \
    (AMATERS_ACTION_READ | AMATERS_ACTION_WRITE | AMATERS_ACTION_ADMIN)

void amaters_rbac_role_clear(struct rbac_role *role)
{
    amaters_free(role->name);
    for (size_t i = 0; i < role->nown; i++)
        amaters_free((char *)role->own[i].pattern);
    amaters_free(role->own);
    for (size_t i = 0; i < role->nparents; i++)
        amaters_free(role->parents[i]);
    amaters_free(role->parents);
    amaters_free(role->eff);
    memset(role, 0, sizeof *role);
}

void amaters_rbac_roles_clear(struct rbac_roles *list)
{
    for (size_t i = 0; i < list->count; i++)
        amaters_rbac_role_clear(&list->v[i]);
    amaters_free(list->v);
    memset(list, 0, sizeof *list);
}

struct rbac_role *amaters_rbac_roles_add(struct rbac_roles *list,
                                         const char *name)
{
    struct rbac_role *role;

    if (list->count == list->cap) {
        size_t cap = list->cap == 0 ? 8 : list->cap * 2;
        struct rbac_role *v = amaters_realloc(list->v, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        list->v = v;
        list->cap = cap;
    }
    role = &list->v[list->count];
    memset(role, 0, sizeof *role);
    role->name = amaters_strdup(name);
    if (role->name == NULL)
        return NULL;
    list->count++;
    return role;
}

int amaters_rbac_role_add_perm(struct rbac_role *role, const char *pattern,
                               unsigned actions)
{
    struct rbac_perm *v;
    char *copy = amaters_strdup(pattern);

    if (copy == NULL)
        return AMATERS_ENOMEM;
    v = amaters_realloc(role->own, (role->nown + 1) * sizeof *v);
    if (v == NULL) {
        amaters_free(copy);
        return AMATERS_ENOMEM;
    }
    v[role->nown].pattern = copy;
    v[role->nown].actions = actions;
    role->own = v;
    role->nown++;
    return 0;
}

int amaters_rbac_role_add_parent(struct rbac_role *role, const char *name)
{
    char **v;
    char *copy = amaters_strdup(name);

    if (copy == NULL)
        return AMATERS_ENOMEM;
    v = amaters_realloc(role->parents, (role->nparents + 1) * sizeof *v);
    if (v == NULL) {
        amaters_free(copy);
        return AMATERS_ENOMEM;
    }
    v[role->nparents++] = copy;
    role->parents = v;
    return 0;
}

unsigned amaters_rbac_action_bit(const char *s)
{
    if (strcmp(s, "read") == 0)
        return AMATERS_ACTION_READ;
    if (strcmp(s, "write") == 0)
        return AMATERS_ACTION_WRITE;
    if (strcmp(s, "admin") == 0)
        return AMATERS_ACTION_ADMIN;
    return 0;
}

const char *amaters_rbac_pattern_error(const char *pattern)
{
    const char *star = strchr(pattern, '*');
    size_t len = strlen(pattern);

    if (len == 0)
        return "permissions: resource: must not be empty";
    if (star == NULL || strcmp(pattern, "*") == 0)
        return NULL;
    if (star == pattern + len - 1 && len >= 3 && pattern[len - 2] == ':' &&
        memchr(pattern, '*', len - 1) == NULL)
        return NULL;
    return "permissions: resource: '*' only as \"*\" or \"<prefix>:*\", got";
}

static const struct rbac_role *find_role(const struct amaters_rbac *r,
                                         const char *name)
{
    for (size_t i = 0; i < r->roles.count; i++)
        if (strcmp(r->roles.v[i].name, name) == 0)
            return &r->roles.v[i];
    return NULL;
}

bool amaters_rbac_has_role(const struct amaters_rbac *r, const char *name)
{
    return r != NULL && name != NULL && find_role(r, name) != NULL;
}

static int add_builtins(struct rbac_roles *list)
{
    static const struct {
        const char *name, *pattern;
        unsigned actions;
    } builtins[] = {
        {"admin", "*", AMATERS_ACTION_ADMIN},
        {"user", "collection:*", AMATERS_ACTION_READ | AMATERS_ACTION_WRITE},
        {"reader", "collection:*", AMATERS_ACTION_READ},
    };
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        struct rbac_role *role = amaters_rbac_roles_add(list, builtins[i].name);
        if (role == NULL ||
            amaters_rbac_role_add_perm(role, builtins[i].pattern,
                                       builtins[i].actions) != 0)
            return AMATERS_ENOMEM;
    }
    return 0;
}

/* Moves the file's roles into r: same-named built-ins are replaced. The
 * file list is left empty. */
static int merge_roles(struct amaters_rbac *r, struct rbac_roles *file)
{
    for (size_t i = 0; i < file->count; i++) {
        struct rbac_role *dst = (struct rbac_role *)find_role(r,
                                                              file->v[i].name);
        if (dst != NULL) {
            amaters_rbac_role_clear(dst);
        } else {
            dst = amaters_rbac_roles_add(&r->roles, file->v[i].name);
            if (dst == NULL)
                return AMATERS_ENOMEM;
            amaters_rbac_role_clear(dst);
        }
        *dst = file->v[i];
        memset(&file->v[i], 0, sizeof file->v[i]);
    }
    amaters_rbac_roles_clear(file);
    return 0;
}

/* Most effective permissions of one role after inheritance. */
#define RBAC_MAX_EFFECTIVE 4096

struct resolve_ctx {
    struct amaters_rbac *r;
    const char **stack; /* role names on the current inheritance path */
    const char *file;
    char *err;
    size_t errlen;
};

static int cycle_error(struct resolve_ctx *c, size_t depth, const char *name)
{
    size_t start = 0;
    size_t off;

    while (start < depth && strcmp(c->stack[start], name) != 0)
        start++;
    off = (size_t)snprintf(c->err, c->errlen, "%s: inheritance cycle: ",
                           c->file);
    for (size_t i = start; i < depth && off < c->errlen; i++)
        off += (size_t)snprintf(c->err + off, c->errlen - off, "%s -> ",
                                c->stack[i]);
    if (off < c->errlen)
        snprintf(c->err + off, c->errlen - off, "%s", name);
    return AMATERS_ECONFIG;
}

static bool has_perm(const struct rbac_role *role, const struct rbac_perm *p)
{
    for (size_t i = 0; i < role->neff; i++)
        if (role->eff[i].pattern == p->pattern &&
            role->eff[i].actions == p->actions)
            return true;
    return false;
}

static int add_eff(struct rbac_role *role, const struct rbac_perm *p,
                   size_t *cap)
{
    if (has_perm(role, p))
        return 0;
    if (role->neff == RBAC_MAX_EFFECTIVE)
        return AMATERS_ETOOBIG;
    if (role->neff == *cap) {
        size_t ncap = *cap == 0 ? 8 : *cap * 2;
        struct rbac_perm *v = amaters_realloc(role->eff, ncap * sizeof *v);
        if (v == NULL)
            return AMATERS_ENOMEM;
        role->eff = v;
        *cap = ncap;
    }
    role->eff[role->neff++] = *p;
    return 0;
}

/* Computes role i's effective permissions after its parents'. */
static int resolve(struct resolve_ctx *c, size_t i, size_t depth)
{
    struct rbac_role *role = &c->r->roles.v[i];
    size_t cap = 0;
    int rv = 0;

    if (role->mark == 2)
        return 0;
    if (role->mark == 1)
        return cycle_error(c, depth, role->name);
    role->mark = 1;
    c->stack[depth] = role->name;
    for (size_t k = 0; k < role->nown && rv == 0; k++)
        rv = add_eff(role, &role->own[k], &cap);
    for (size_t p = 0; p < role->nparents && rv == 0; p++) {
        const struct rbac_role *parent = find_role(c->r, role->parents[p]);
        if (parent == NULL) {
            snprintf(c->err, c->errlen,
                     "%s: role \"%.64s\" inherits unknown role \"%.64s\"",
                     c->file, role->name, role->parents[p]);
            return AMATERS_ECONFIG;
        }
        rv = resolve(c, (size_t)(parent - c->r->roles.v), depth + 1);
        role = &c->r->roles.v[i];
        for (size_t k = 0; k < parent->neff && rv == 0; k++)
            rv = add_eff(role, &parent->eff[k], &cap);
    }
    if (rv == AMATERS_ETOOBIG) {
        snprintf(c->err, c->errlen,
                 "%s: role \"%.64s\": more than %d permissions after "
                 "inheritance", c->file, role->name, RBAC_MAX_EFFECTIVE);
        rv = AMATERS_ECONFIG;
    }
    role->mark = 2;
    return rv;
}

static int resolve_all(struct amaters_rbac *r, const char *file, char *err,
                       size_t errlen)
{
    struct resolve_ctx c = {r, NULL, file, err, errlen};
    int rv = 0;

    c.stack = amaters_calloc(r->roles.count + 1, sizeof *c.stack);
    if (c.stack == NULL)
        return AMATERS_ENOMEM;
    for (size_t i = 0; i < r->roles.count && rv == 0; i++)
        rv = resolve(&c, i, 0);
    amaters_free(c.stack);
    return rv;
}

void amaters_rbac_free(struct amaters_rbac *r)
{
    if (r == NULL)
        return;
    amaters_rbac_roles_clear(&r->roles);
    amaters_free(r->default_role);
    amaters_free(r);
}

static enum amaters_rbac_format pick_format(enum amaters_rbac_format f,
                                            const char *name)
{
    size_t n = name == NULL ? 0 : strlen(name);

    if (f != AMATERS_RBAC_FORMAT_AUTO)
        return f;
    if (n >= 5 && strcasecmp(name + n - 5, ".json") == 0)
        return AMATERS_RBAC_FORMAT_JSON;
    return AMATERS_RBAC_FORMAT_TOML;
}

/* Parses the file text (when text is not NULL) and finishes r. */
static int build(struct amaters_rbac *r, const char *text, size_t len,
                 const char *name, enum amaters_rbac_format format,
                 char *err, size_t errlen)
{
    struct rbac_roles file = {0};
    int rv = add_builtins(&r->roles);

    if (rv == 0 && text != NULL) {
        rv = pick_format(format, name) == AMATERS_RBAC_FORMAT_JSON
                 ? amaters_rbac_parse_json(&file, text, len, name, err,
                                           errlen)
                 : amaters_rbac_parse_toml(&file, text, len, name, err,
                                           errlen);
        if (rv == 0)
            rv = merge_roles(r, &file);
        amaters_rbac_roles_clear(&file);
    }
    if (rv == 0)
        rv = resolve_all(r, name, err, errlen);
    if (rv == 0 && r->default_role != NULL &&
        find_role(r, r->default_role) == NULL) {
        snprintf(err, errlen, "authz.default_role: no role \"%.64s\"",
                 r->default_role);
        rv = AMATERS_ECONFIG;
    }
    return rv;
}

int amaters_rbac_load_buffer(struct amaters_rbac **out, const char *text,
                             size_t len, const char *name,
                             enum amaters_rbac_format format,
                             const char *default_role,
                             enum amaters_authz_mode mode, char *err,
                             size_t errlen)
{
    struct amaters_rbac *r;
    int rv = AMATERS_ENOMEM;

    *out = NULL;
    r = amaters_calloc(1, sizeof *r);
    if (r == NULL)
        return AMATERS_ENOMEM;
    r->mode = mode;
    if (default_role != NULL && default_role[0] != '\0') {
        r->default_role = amaters_strdup(default_role);
        if (r->default_role == NULL)
            goto fail;
    }
    rv = build(r, text, len, name == NULL ? "<string>" : name, format, err,
               errlen);
    if (rv != 0)
        goto fail;
    *out = r;
    return 0;
fail:
    amaters_rbac_free(r);
    return rv;
}

int amaters_rbac_load(struct amaters_rbac **out, const char *path,
                      enum amaters_rbac_format format,
                      const char *default_role, enum amaters_authz_mode mode,
                      char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rv;

    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return amaters_rbac_load_buffer(out, NULL, 0, "<built-in>", format,
                                        default_role, mode, err, errlen);
    rv = amaters_sec_read_file(path, RBAC_MAX_FILE, &text, &len, err,
                               errlen);
    if (rv != 0)
        return rv;
    rv = amaters_rbac_load_buffer(out, text, len, path, format, default_role,
                                  mode, err, errlen);
    amaters_free(text);
    return rv;
}

int amaters_rbac_load_config(struct amaters_rbac **out,
                             const struct amaters_config_authz *az,
                             char *err, size_t errlen)
{
    return amaters_rbac_load(out, az->roles_file, AMATERS_RBAC_FORMAT_AUTO,
                             az->default_role, az->default_mode_id, err,
                             errlen);
}

/* Does pattern match resource? (see rbac.h) */
static bool pattern_matches(const char *pattern, const char *resource)
{
    size_t plen;

    if (strcmp(pattern, "*") == 0)
        return true;
    plen = strlen(pattern);
    if (plen >= 2 && pattern[plen - 1] == '*')
        return strncmp(pattern, resource, plen - 1) == 0 &&
               resource[plen - 1] != '\0';
    return strcmp(pattern, resource) == 0;
}

/* Applies one role's effective permissions to the question. */
static void check_role(const struct rbac_role *role, unsigned a,
                       const char *resource, bool *mentioned, bool *granted)
{
    for (size_t i = 0; i < role->neff; i++) {
        unsigned acts = role->eff[i].actions;
        if (!pattern_matches(role->eff[i].pattern, resource))
            continue;
        *mentioned = true;
        if (acts & AMATERS_ACTION_ADMIN)
            acts |= AMATERS_ACTION_READ | AMATERS_ACTION_WRITE;
        if (acts & a)
            *granted = true;
    }
}

/* May the default mode decide for an unmentioned resource? Only for data
 * actions (read, write) on a collection: admin, and anything on "server",
 * always needs an explicit grant, whatever the mode. */
static bool mode_may_decide(unsigned a, const char *resource)
{
    static const char prefix[] = "collection:";

    return (a == AMATERS_ACTION_READ || a == AMATERS_ACTION_WRITE) &&
           strncmp(resource, prefix, sizeof prefix - 1) == 0;
}

int amaters_rbac_check(const struct amaters_rbac *r,
                       const char *const *roles, size_t nroles,
                       enum amaters_action a, const char *resource,
                       bool *allowed)
{
    bool mentioned = false;
    bool granted = false;
    const struct rbac_role *role;

    if (allowed == NULL)
        return AMATERS_EINVAL;
    *allowed = false;
    if (r == NULL || resource == NULL || resource[0] == '\0' ||
        (roles == NULL && nroles > 0) ||
        (a != AMATERS_ACTION_READ && a != AMATERS_ACTION_WRITE &&
         a != AMATERS_ACTION_ADMIN))
        return AMATERS_EINVAL;
    if (nroles == 0 && r->default_role != NULL) {
        role = find_role(r, r->default_role);
        if (role != NULL)
            check_role(role, (unsigned)a, resource, &mentioned, &granted);
    }
    for (size_t i = 0; i < nroles; i++) {
        role = roles[i] == NULL ? NULL : find_role(r, roles[i]);
        if (role != NULL)
            check_role(role, (unsigned)a, resource, &mentioned, &granted);
    }
    *allowed = granted ||
               (!mentioned && r->mode == AMATERS_AUTHZ_ALLOW_BY_DEFAULT &&
                mode_may_decide((unsigned)a, resource));
    return 0;
}

int amaters_rbac_action_for_query(const char *kind, enum amaters_action *out)
{
    static const struct {
        const char *kind;
        enum amaters_action action;
    } map[] = {
        {"get", AMATERS_ACTION_READ},     {"range", AMATERS_ACTION_READ},
        {"filter", AMATERS_ACTION_READ},  {"set", AMATERS_ACTION_WRITE},
        {"delete", AMATERS_ACTION_WRITE}, {"update", AMATERS_ACTION_WRITE},
    };
    if (kind == NULL || out == NULL)
        return AMATERS_EINVAL;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(kind, map[i].kind) == 0) {
            *out = map[i].action;
            return 0;
        }
    }
    return AMATERS_EINVAL;
}

enum amaters_action amaters_rbac_action_for_admin(const char *command,
                                                  const char **resource)
{
    (void)command;
    if (resource != NULL)
        *resource = "server";
    return AMATERS_ACTION_ADMIN;
}

int amaters_rbac_collection_resource(const char *name, char *buf,
                                     size_t len)
{
    int n = snprintf(buf, len, "collection:%s", name);
    return n < 0 || (size_t)n >= len ? AMATERS_ETOOBIG : 0;
}

const char *amaters_action_name(enum amaters_action a)
{
    switch (a) {
    case AMATERS_ACTION_READ:
        return "read";
    case AMATERS_ACTION_WRITE:
        return "write";
    case AMATERS_ACTION_ADMIN:
        return "admin";
    default:
        return "unknown";
    }
}
