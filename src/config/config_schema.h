/*
 * config_schema.h - the declarative description of every configuration
 * key, and the typed operations that every other part of the config module
 * performs through it.
 *
 * config_schema.c holds the table (one row per key) and the string
 * checkers; config_value.c the per-type operations (defaults, parsing,
 * checking, storing, copying, comparing, freeing). config.c (loading,
 * environment, set), config_validate.c and config_dump.c (TOML and
 * Markdown) only walk the table. Not part of the public API.
 */
#ifndef AMATERS_CONFIG_SCHEMA_H
#define AMATERS_CONFIG_SCHEMA_H

#include "config/config.h"
#include "config/toml.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cfg_type {
    CFG_BOOL,   /* bool */
    CFG_INT,    /* int64_t in [min, max] */
    CFG_STRING, /* char *, optionally checked by check() */
    CFG_ENUM,   /* char * from allowed[], plus an enum in the _id field */
    CFG_LIST,   /* char ** + size_t count; items checked or from allowed[] */
};

/* Bits of cfg_field.flags. */
#define CFG_SECRET 1u     /* never shown: dumped as CFG_PLACEHOLDER */
#define CFG_RELOADABLE 2u /* may change on reload without a restart */
#define CFG_NOCASE 4u     /* allowed values match without regard to case */
#define CFG_MASK 8u       /* CFG_LIST: bit mask of allowed[] at aux2 */

/* What the dump shows instead of a secret that is set; refused as the
 * value of a secret key wherever it comes from. */
#define CFG_PLACEHOLDER "<redacted>"

/* An alternative spelling of an allowed value ("warning" for "warn"). */
struct cfg_alias {
    const char *from, *to;
};

/* Checks one string; writes nothing and returns 0 when it is fine, else
 * returns -1. */
typedef int (*cfg_check_cb)(const char *s);

struct cfg_field {
    const char *name; /* "storage.wal.sync_mode" */
    enum cfg_type type;
    size_t offset;   /* of the value in struct amaters_config */
    size_t aux;      /* CFG_ENUM: the _id field; CFG_LIST: the _count */
    size_t aux2;     /* CFG_LIST with CFG_MASK: the mask field */
    int64_t def_int; /* CFG_BOOL (0/1) and CFG_INT default */
    const char *def_str;         /* CFG_STRING and CFG_ENUM default */
    int64_t min, max;            /* CFG_INT bounds */
    const char *const *allowed;  /* CFG_ENUM, CFG_LIST: NULL-terminated */
    const struct cfg_alias *aliases; /* NULL-terminated, or NULL */
    cfg_check_cb check;          /* CFG_STRING and CFG_LIST items */
    const char *format;          /* what check() accepts, e.g. host:port */
    unsigned flags;
    const char *desc;
};

/* The table, in dump order: the keys of each section are contiguous. */
extern const struct cfg_field cfg_fields[];
extern const size_t cfg_nfields;

/* Returns the field named name (nlen bytes), or NULL. */
const struct cfg_field *cfg_find(const char *name, size_t nlen);

/* True when name (nlen bytes) is a section: a proper prefix of some key
 * followed by a dot. */
bool cfg_is_section(const char *name, size_t nlen);

/* Returns the length of the section part of f->name ("storage.wal" for
 * "storage.wal.sync_mode"). */
size_t cfg_section_len(const struct cfg_field *f);

/* Writes the environment variable name of f into buf. */
void cfg_env_name(const struct cfg_field *f, char *buf, size_t n);

/* Checkers used by the table, exposed for validation. */
int cfg_check_host_port(const char *s);
int cfg_check_peer(const char *s);

/* Parses the leading "id" of a valid "id:host:port" peer. */
int64_t cfg_peer_id(const char *peer);

/*
 * A value on its way into the config: parsed from TOML or text, checked,
 * then stored. Owns its strings until cfg_val_store() takes them.
 */
struct cfg_val {
    bool b;
    int64_t i;
    char *s;
    char **list;
    size_t count;
    int id;        /* CFG_ENUM: index into allowed[] after cfg_val_check */
    unsigned mask; /* CFG_LIST with CFG_MASK: after cfg_val_check */
};

/* Releases what v owns (wiping it when f is secret) and zeroes v. */
void cfg_val_release(const struct cfg_field *f, struct cfg_val *v);

/*
 * Converts a TOML value for field f into v. On a type mismatch returns
 * AMATERS_ECONFIG and, when bad is not NULL, stores the offending TOML
 * value (v itself or an array element) in *bad.
 */
int cfg_val_from_toml(const struct cfg_field *f,
                      const struct amaters_toml_value *tv, struct cfg_val *v,
                      const struct amaters_toml_value **bad);

/*
 * Converts text for field f into v, as amaters_config_set() documents.
 * Returns 0, AMATERS_ECONFIG (with the index of an empty list item in
 * *bad_item, or -1 when the whole text is at fault) or AMATERS_ENOMEM.
 */
int cfg_val_from_text(const struct cfg_field *f, const char *text,
                      struct cfg_val *v, long *bad_item);

/*
 * Checks v against f's range, allowed values and checker, and fills v->id
 * and v->mask. Returns 0, or AMATERS_ECONFIG with the index of the failing
 * list item in *bad_item (-1 when it is not a list item).
 */
int cfg_val_check(const struct cfg_field *f, struct cfg_val *v,
                  long *bad_item);

/* Moves v into cfg (freeing, and for secrets wiping, the old value). For
 * CFG_ENUM the canonical spelling is stored. Returns 0 or AMATERS_ENOMEM
 * (then cfg is unchanged and v still owns its strings). */
int cfg_val_store(const struct cfg_field *f, struct amaters_config *cfg,
                  struct cfg_val *v);

/* Fills v with a borrowed view of f's current value in cfg (v owns
 * nothing; do not release it). */
void cfg_val_view(const struct cfg_field *f, const struct amaters_config *cfg,
                  struct cfg_val *v);

/* Writes "expected ..." for f into buf (the first half of a type error). */
void cfg_expected(const struct cfg_field *f, char *buf, size_t n);

/* Writes s quoted and escaped, shortened to about 60 characters. */
void cfg_quote(const char *s, size_t len, char *buf, size_t n);

/* Sets f to its default in cfg (which holds nothing for f yet). Returns 0,
 * AMATERS_ENOMEM, or AMATERS_ECONFIG when the table's default is not an
 * allowed value (a bug in the table). */
int cfg_field_default(const struct cfg_field *f, struct amaters_config *cfg);

/* True when f is a secret key and s is the placeholder CFG_PLACEHOLDER. */
bool cfg_is_placeholder(const struct cfg_field *f, const char *s);

/* Writes into err the message for a secret key f set to the placeholder:
 * "WHERE: " first unless where is NULL, then what the placeholder is and
 * the fix; in_file: the value is in a file (the fix names the line and
 * the environment variable that may hold the secret instead). */
void cfg_placeholder_error(const struct cfg_field *f, const char *where,
                           bool in_file, char *err, size_t errlen);

/*
 * Origins (config_origin.c): where each key's value came from, kept in
 * cfg->origins (one string per field in table order; NULL = default).
 */

/* Returns the origin of f in cfg, or NULL for a built-in default. */
const char *cfg_origin(const struct amaters_config *cfg,
                       const struct cfg_field *f);

/* Makes sure cfg->origins exists. *fresh says whether it was created now
 * (so that cfg_origin_undo() can restore cfg on a later failure). Returns
 * 0 or AMATERS_ENOMEM. */
int cfg_origin_reserve(struct amaters_config *cfg, bool *fresh);

/* Frees cfg->origins again when cfg_origin_reserve() created it (fresh). */
void cfg_origin_undo(struct amaters_config *cfg, bool fresh);

/* Records origin (a heap string, now owned by cfg) for f; needs
 * cfg_origin_reserve() first. */
void cfg_origin_put(struct amaters_config *cfg, const struct cfg_field *f,
                    char *origin);

/* Deep-copies src->origins into dst (which has none). 0 or ENOMEM. */
int cfg_origin_copy(struct amaters_config *dst,
                    const struct amaters_config *src);

/* Frees cfg->origins and sets it to NULL. */
void cfg_origin_free(struct amaters_config *cfg);

/* Frees f's value in cfg (wiping secrets) and zeroes it. */
void cfg_field_free(const struct cfg_field *f, struct amaters_config *cfg);

/* Deep-copies f from src into dst (which holds nothing for f yet). */
int cfg_field_copy(const struct cfg_field *f, struct amaters_config *dst,
                   const struct amaters_config *src);

/* True when f has the same value in a and b. */
bool cfg_field_equal(const struct cfg_field *f, const struct amaters_config *a,
                     const struct amaters_config *b);

#endif
