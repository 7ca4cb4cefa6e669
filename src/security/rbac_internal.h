/*
 * rbac_internal.h - the data behind struct amaters_rbac, shared by
 * rbac.c (built-ins, inheritance, decisions) and rbac_load.c (reading
 * TOML and JSON role files). Not for use outside src/security.
 *
 * Threads: as struct amaters_rbac (built on one thread, then immutable).
 */
#ifndef AMATERS_SECURITY_RBAC_INTERNAL_H
#define AMATERS_SECURITY_RBAC_INTERNAL_H

#include <stddef.h>

#include "security/rbac.h"

/* One permission: a resource pattern and a bit set of actions. */
struct rbac_perm {
    const char *pattern; /* owned by the role in own[], borrowed in eff[] */
    unsigned actions;
};

struct rbac_role {
    char *name;
    struct rbac_perm *own; /* patterns owned */
    size_t nown;
    char **parents;
    size_t nparents;
    struct rbac_perm *eff; /* own + inherited; patterns borrowed */
    size_t neff;
    int mark; /* resolution: 0 new, 1 in progress, 2 done */
};

/* A growable list of roles. */
struct rbac_roles {
    struct rbac_role *v;
    size_t count, cap;
};

struct amaters_rbac {
    struct rbac_roles roles;
    char *default_role; /* NULL = none */
    enum amaters_authz_mode mode;
};

/* Frees what role owns (not role itself) and zeroes it. */
void amaters_rbac_role_clear(struct rbac_role *role);

/* Frees every role of list and the list's array. */
void amaters_rbac_roles_clear(struct rbac_roles *list);

/* Appends an empty role named name (copied); returns it or NULL on
 * allocation failure. The pointer is valid until the next append. */
struct rbac_role *amaters_rbac_roles_add(struct rbac_roles *list,
                                         const char *name);

/* Adds a permission (pattern copied) to role. Returns 0 or AMATERS_ENOMEM.
 */
int amaters_rbac_role_add_perm(struct rbac_role *role, const char *pattern,
                               unsigned actions);

/* Adds a parent name (copied) to role. Returns 0 or AMATERS_ENOMEM. */
int amaters_rbac_role_add_parent(struct rbac_role *role, const char *name);

/*
 * Parses a roles file in TOML or JSON into list (appending). Errors in
 * err as described in rbac.h. Returns 0, AMATERS_EPARSE, AMATERS_ECONFIG
 * or AMATERS_ENOMEM.
 */
int amaters_rbac_parse_toml(struct rbac_roles *list, const char *text,
                            size_t len, const char *name, char *err,
                            size_t errlen);
int amaters_rbac_parse_json(struct rbac_roles *list, const char *text,
                            size_t len, const char *name, char *err,
                            size_t errlen);

/* Returns the action bit for "read" / "write" / "admin", else 0. */
unsigned amaters_rbac_action_bit(const char *s);

/* Returns NULL when pattern is a valid resource pattern, else why not. */
const char *amaters_rbac_pattern_error(const char *pattern);

#endif
