/*
 * rbac.h - role-based access control: roles, their permissions and
 * inheritance, and the question "may these roles do this action on this
 * resource?".
 *
 * Roles. Three are built in: admin (admin on "*", which implies
 * everything), user (read and write on "collection:*") and reader (read
 * on "collection:*"). A roles file adds roles and may redefine the
 * built-in ones (a file role with the same name replaces it). Files are
 * TOML (the original's format: reference-examples/roles.toml loads
 * unchanged) or JSON ({"roles": [...]} or a bare array) with the same
 * fields per role: name (required), description, permissions (array of
 * {resource, actions}), inherits (array of role names). A role has its own
 * permissions plus those of every role it inherits from, transitively;
 * unknown parents and inheritance cycles are load errors (the message
 * names the cycle, "a -> b -> a").
 *
 * Resources are strings: "collection:<name>" for a collection, "server"
 * for server-wide admin commands. Patterns: "*" matches every resource,
 * "<prefix>:*" (notably "collection:*") every resource starting with
 * "<prefix>:" followed by at least one character, anything else matches
 * only itself. Actions: read, write, admin. Our choice, documented in
 * docs/security.md: admin on a resource implies read and write on it
 * (the reference admin role lists only "admin" on "*" yet must be able to
 * do everything).
 *
 * Decision: the principal's roles (or the default role when it has none;
 * unknown role names grant nothing) are expanded; if any of their
 * permissions matches the resource, the action is allowed exactly when
 * one matching permission grants it. When none of them mentions the
 * resource at all, the mode decides for read and write on a collection
 * ("collection:<name>"): deny-by-default refuses, allow-by-default
 * permits. Anything else (notably admin on "server", i.e. every
 * admin-tunnel command) needs an explicit grant whatever the mode: a
 * permission whose pattern ("server" or "*") matches and that lists the
 * action.
 *
 * Threads: a struct amaters_rbac is built on one thread and is then
 * immutable; any number of threads may call amaters_rbac_check()
 * concurrently. Reload means building a new one and swapping pointers.
 */
#ifndef AMATERS_SECURITY_RBAC_H
#define AMATERS_SECURITY_RBAC_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/* Actions, usable as bits. */
enum amaters_action {
    AMATERS_ACTION_READ = 1,
    AMATERS_ACTION_WRITE = 2,
    AMATERS_ACTION_ADMIN = 4,
};

enum amaters_rbac_format {
    AMATERS_RBAC_FORMAT_AUTO, /* by file name: ".json" is JSON, else TOML */
    AMATERS_RBAC_FORMAT_TOML,
    AMATERS_RBAC_FORMAT_JSON,
};

/* Limits on a roles file. */
#define AMATERS_RBAC_MAX_ROLES 1024
#define AMATERS_RBAC_MAX_RULES 256 /* permissions per role */

struct amaters_rbac;

/*
 * Builds the role set: the built-in roles, then the roles of the file at
 * path when path is neither NULL nor "" (format chosen as described for
 * enum amaters_rbac_format). default_role (NULL or "" = none) is used for
 * principals without roles and must name a role; mode decides read and
 * write on collections no permission of the principal mentions. Errors
 * name the file and the role:
 * "PATH: role 3 (\"x\"): permissions[0].actions: unknown action \"exec\"".
 * Returns 0 with *out owned by the caller (free with
 * amaters_rbac_free), or AMATERS_EIO, AMATERS_ETOOBIG, AMATERS_EPARSE,
 * AMATERS_ECONFIG or AMATERS_ENOMEM with *out NULL.
 */
int amaters_rbac_load(struct amaters_rbac **out, const char *path,
                      enum amaters_rbac_format format,
                      const char *default_role, enum amaters_authz_mode mode,
                      char *err, size_t errlen);

/* As amaters_rbac_load() for len bytes of text in the given format (AUTO
 * decides by name); name stands for the file in messages. */
int amaters_rbac_load_buffer(struct amaters_rbac **out, const char *text,
                             size_t len, const char *name,
                             enum amaters_rbac_format format,
                             const char *default_role,
                             enum amaters_authz_mode mode, char *err,
                             size_t errlen);

/* amaters_rbac_load() with the [authz] section's roles_file,
 * default_role and default_mode_id. */
int amaters_rbac_load_config(struct amaters_rbac **out,
                             const struct amaters_config_authz *az,
                             char *err, size_t errlen);

/* Frees r. NULL is ignored. */
void amaters_rbac_free(struct amaters_rbac *r);

/* Returns true when r has a role called name. */
bool amaters_rbac_has_role(const struct amaters_rbac *r, const char *name);

/*
 * Decides whether a principal holding roles[0..nroles) may perform a on
 * resource ("collection:users", "server"). nroles 0 means the default
 * role. Stores the answer in *allowed and returns 0, or returns
 * AMATERS_EINVAL (NULL or empty resource, a not one of the three actions,
 * roles NULL with nroles > 0) leaving *allowed false.
 */
int amaters_rbac_check(const struct amaters_rbac *r,
                       const char *const *roles, size_t nroles,
                       enum amaters_action a, const char *resource,
                       bool *allowed);

/*
 * Maps a query kind as named by amaters_query_kind() to its action: "get",
 * "range" and "filter" read; "set", "delete" and "update" write. The
 * resource is "collection:<collection>". Returns 0, or AMATERS_EINVAL for
 * any other kind (the caller refuses the request).
 */
int amaters_rbac_action_for_query(const char *kind, enum amaters_action *out);

/*
 * Maps an admin-tunnel command (METRICS, CLUSTER_INFO, NODES, STATS,
 * VERIFY, COMPACT, LOGS, BACKUP, RESTORE, any case; also unknown ones) to
 * its action and resource: always AMATERS_ACTION_ADMIN on "server", since
 * every admin command reveals or changes server-wide state. Sets
 * *resource to the static string "server" and returns the action.
 */
enum amaters_action amaters_rbac_action_for_admin(const char *command,
                                                  const char **resource);

/*
 * Writes "collection:<name>" into buf. Returns 0, or AMATERS_ETOOBIG when
 * it does not fit in len bytes.
 */
int amaters_rbac_collection_resource(const char *name, char *buf,
                                     size_t len);

/* Returns "read", "write", "admin" or "unknown". */
const char *amaters_action_name(enum amaters_action a);

#endif
