/*
 * config_dump.c - printing the configuration: the effective values as TOML
 * (validate-config --show, start --generate-config) and the reference
 * documentation as Markdown (docs/configuration.md), both generated from
 * the schema table.
 *
 * A secret that is set is never printed. Its line is written commented
 * out with the placeholder "<redacted>", so that the output (which
 * operators edit and deploy) still loads: the secret is then empty, and
 * validation names it when something needs it. The placeholder itself is
 * refused when loaded (config.c), so it can never become the secret.
 */
#include "config/config_schema.h"

#include "core/errors.h"

#include <stdio.h>
#include <string.h>

#define WRAP 76

/* Writes s as a TOML basic string. */
static void put_toml_string(FILE *out, const char *s)
{
    unsigned char c;

    fputc('"', out);
    for (; *s != '\0'; s++) {
        c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20 || c == 0x7F)
            fprintf(out, "\\u%04X", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* Writes the value of f in cfg as a TOML value. */
static void put_value(FILE *out, const struct cfg_field *f,
                      const struct amaters_config *cfg)
{
    struct cfg_val v;
    size_t i;

    cfg_val_view(f, cfg, &v);
    switch (f->type) {
    case CFG_BOOL:
        fputs(v.b ? "true" : "false", out);
        return;
    case CFG_INT:
        fprintf(out, "%lld", (long long)v.i);
        return;
    case CFG_STRING:
    case CFG_ENUM:
        if ((f->flags & CFG_SECRET) && v.s != NULL && v.s[0] != '\0')
            put_toml_string(out, CFG_PLACEHOLDER); /* not reached */
        else
            put_toml_string(out, v.s != NULL ? v.s : "");
        return;
    case CFG_LIST:
        break;
    }
    fputc('[', out);
    for (i = 0; i < v.count; i++) {
        fputs(i ? ", " : "", out);
        put_toml_string(out, v.list[i] != NULL ? v.list[i] : "");
    }
    fputc(']', out);
}

/* Writes text as comment lines ("# ...") wrapped at WRAP columns. */
static void put_comment(FILE *out, const char *text)
{
    size_t len, col = 0, w;

    while (*text != '\0') {
        w = strcspn(text, " ");
        len = col == 0 ? w : col + 1 + w;
        if (col > 0 && len + 2 > WRAP) {
            fputc('\n', out);
            col = 0;
        }
        fprintf(out, "%s%.*s", col == 0 ? "# " : " ", (int)w, text);
        col += (col == 0 ? 0 : 1) + w;
        text += w;
        text += strspn(text, " ");
    }
    if (col > 0)
        fputc('\n', out);
}

/* True when f is a secret that is set (and so is not shown). */
static bool hidden_secret(const struct cfg_field *f,
                          const struct amaters_config *cfg)
{
    struct cfg_val v;

    cfg_val_view(f, cfg, &v);
    return (f->flags & CFG_SECRET) && v.s != NULL && v.s[0] != '\0';
}

/* Writes the commented-out line of a secret that is set, after a note on
 * how to supply it. */
static void put_hidden_secret(FILE *out, const struct cfg_field *f)
{
    char env[128], note[256];

    cfg_env_name(f, env, sizeof(env));
    snprintf(note, sizeof(note),
             "Set, but not shown: to use this file, write the real secret "
             "here and remove the '#', or set %s.",
             env);
    put_comment(out, note);
    fprintf(out, "# %s = ", f->name + cfg_section_len(f) + 1);
    put_toml_string(out, CFG_PLACEHOLDER);
    fputc('\n', out);
}

int amaters_config_dump_toml(const struct amaters_config *cfg, FILE *out)
{
    const struct cfg_field *f, *prev = NULL;
    size_t i, sl;

    fputs("# amaters-server configuration: every key with its effective "
          "value.\n# A secret that is set is not shown: its line is "
          "commented out, with\n# \"" CFG_PLACEHOLDER "\" in place of the "
          "value.\n",
          out);
    for (i = 0; i < cfg_nfields; i++) {
        f = &cfg_fields[i];
        sl = cfg_section_len(f);
        if (prev == NULL || cfg_section_len(prev) != sl ||
            memcmp(prev->name, f->name, sl) != 0)
            fprintf(out, "\n[%.*s]\n", (int)sl, f->name);
        put_comment(out, f->desc);
        if (hidden_secret(f, cfg)) {
            put_hidden_secret(out, f);
        } else {
            fprintf(out, "%s = ", f->name + sl + 1);
            put_value(out, f, cfg);
            fputc('\n', out);
        }
        prev = f;
    }
    fflush(out);
    return ferror(out) ? AMATERS_EIO : 0;
}

/* ---- Markdown ---- */

/* Writes text for a table cell: '|' escaped, '<' and '>' as entities. */
static void put_cell(FILE *out, const char *text)
{
    for (; *text != '\0'; text++) {
        if (*text == '|')
            fputs("\\|", out);
        else if (*text == '<')
            fputs("&lt;", out);
        else if (*text == '>')
            fputs("&gt;", out);
        else
            fputc(*text, out);
    }
}

static const char *type_name(const struct cfg_field *f)
{
    switch (f->type) {
    case CFG_BOOL:
        return "boolean";
    case CFG_INT:
        return "integer";
    case CFG_STRING:
    case CFG_ENUM:
        return "string";
    case CFG_LIST:
        break;
    }
    return "array of strings";
}

static void put_allowed(FILE *out, const struct cfg_field *f)
{
    const char *const *a;

    if (f->type == CFG_INT) {
        fprintf(out, "%lld..%lld", (long long)f->min, (long long)f->max);
    } else if (f->type == CFG_BOOL) {
        fputs("`true`, `false`", out);
    } else if (f->allowed != NULL) {
        for (a = f->allowed; *a != NULL; a++)
            fprintf(out, "%s`%s`", a == f->allowed ? "" : ", ", *a);
    } else if (f->format != NULL) {
        fprintf(out, "%s", f->format);
    } else {
        fputs("any", out);
    }
}

static void put_row(FILE *out, const struct cfg_field *f)
{
    char env[128];

    cfg_env_name(f, env, sizeof(env));
    fprintf(out, "| `%s` | %s | `", f->name + cfg_section_len(f) + 1,
            type_name(f));
    if (f->type == CFG_STRING || f->type == CFG_ENUM)
        put_toml_string(out, f->def_str);
    else if (f->type == CFG_LIST)
        fputs("[]", out);
    else if (f->type == CFG_BOOL)
        fputs(f->def_int ? "true" : "false", out);
    else
        fprintf(out, "%lld", (long long)f->def_int);
    fputs("` | ", out);
    put_allowed(out, f);
    fprintf(out, " | `%s` | %s | ", env,
            (f->flags & CFG_RELOADABLE) ? "yes" : "no");
    put_cell(out, f->desc);
    fputs(" |\n", out);
}

static const char docs_intro[] =
    "# Configuration reference\n"
    "\n"
    "<!-- Generated by amaters-config-docs from src/config/config_schema.c."
    "\n     Do not edit: change the table there and run\n"
    "     `cmake --build <build-dir> --target config-docs`. -->\n"
    "\n"
    "amaters-server takes its settings from four layers, each overriding "
    "the one\nbefore it:\n"
    "\n"
    "**built-in defaults < TOML file (`-c/--config`) < environment < "
    "command-line flags**\n"
    "\n"
    "The defaults are a working single-node server: gRPC on "
    "`127.0.0.1:50051`,\nhealth and metrics HTTP on `127.0.0.1:9090`, data "
    "in `./data`. Every section\nand every key of the file is optional. A "
    "key the server does not know is an\nerror that names the file, line "
    "and column, with a suggestion when a known\nkey is close:\n"
    "\n"
    "    amaters.toml:3:1: unknown key 'server.bind_adress' (did you mean "
    "'server.bind_address'?)\n"
    "\n"
    "So are values of the wrong type, numbers out of range and values "
    "outside\nthe allowed set:\n"
    "\n"
    "    amaters.toml:6:25: server.shutdown_timeout_secs: expected integer "
    "in 0..3600, got \"abc\"\n"
    "\n"
    "`amaters-server validate-config` checks a configuration without "
    "starting\nthe server; `--show` prints the effective configuration "
    "as TOML.\n`amaters-server start --generate-config` prints the same "
    "TOML and exits\nwithout starting: the effective configuration too "
    "(file, environment and\nflags applied), so without `-c`, `AMATERS_*` "
    "variables or flags it is the\nbuilt-in defaults.\n"
    "\n"
    "Secrets (";

/* After the list of secret keys. */
static const char docs_intro_rest[] =
    ") are never printed. An\nempty one is written as `\"\"`; one that is "
    "set is written commented out,\n`# secret = \"<redacted>\"`, so the output "
    "loads with that secret empty: put\nthe real secret there (and remove "
    "the `#`) or set its environment variable.\nThe placeholder "
    "`\"<redacted>\"` itself is refused as the value of a secret,\nfrom "
    "a file, the environment or a flag:\n"
    "\n"
    "    gen.toml:12:10: auth.jwt.secret is the placeholder \"<redacted>\" "
    "written by --generate-config/--show, not a secret: put the real secret "
    "here (or set it via AMATERS_AUTH__JWT__SECRET)\n"
    "\n"
    "A broken rule between keys (below) names where each key involved got "
    "its\nvalue: a file position, an environment variable, a flag or the "
    "built-in\ndefault:\n"
    "\n"
    "    server.data_dir is empty (from environment AMATERS_DATA_DIR)\n"
    "\n"
    "## Environment\n"
    "\n"
    "Every key can be set from the environment as "
    "`AMATERS_<SECTION>__<KEY>`,\n"
    "nested sections joined by `__` too: `storage.wal.sync_mode` is\n"
    "`AMATERS_STORAGE__WAL__SYNC_MODE`. Names are not case-sensitive. A\n"
    "variable that starts with `AMATERS_` and contains `__` but names no "
    "key is\n"
    "an error (so is one naming a table, like `AMATERS_STORAGE__WAL`: set "
    "its\nkeys, e.g. `AMATERS_STORAGE__WAL__ENABLED`). Values: booleans\n"
    "`true`/`false`/`1`/`0`/`yes`/`no`/`on`/`off`, integers in decimal, "
    "arrays of\nstrings either as a TOML array (`[\"a\", \"b\"]`) or "
    "comma-separated (`a,b`;\nan empty value is the empty array).\n"
    "\n"
    "The original server's names keep working; when both are set, the "
    "general\nname wins:\n"
    "\n"
    "| Variable | Key |\n"
    "|---|---|\n"
    "| `AMATERS_BIND_ADDRESS` | `server.bind_address` |\n"
    "| `AMATERS_DATA_DIR` | `server.data_dir` |\n"
    "| `AMATERS_LOG_LEVEL` | `logging.level` |\n"
    "| `AMATERS_TLS_ENABLED` | `network.tls_enabled` |\n"
    "\n"
    "## Rules between keys\n"
    "\n"
    "Checked after all layers are applied (files named by the "
    "configuration are\nnot opened):\n"
    "\n"
    "- `cluster.election_timeout_ms` must be greater than\n"
    "  `cluster.heartbeat_interval_ms`; peer ids must differ.\n"
    "- `network.tls_enabled` needs `tls_cert` and `tls_key`;\n"
    "  `network.require_client_cert` needs `tls_enabled` and `tls_ca`.\n"
    "- `server.bind_address` and `metrics.bind_address` must differ "
    "(unless the\n  port is 0).\n"
    "- `auth.enabled` needs at least one method. The methods in use are "
    "those in\n  `auth.methods` plus those whose own section says "
    "`enabled = true`.\n"
    "  `api_key` needs `auth.api_key.keys_file`; `jwt` needs "
    "`auth.jwt.secret`\n  for HS256/HS384/HS512 and `auth.jwt.public_key_path`"
    " otherwise; `mtls`\n  needs `network.tls_enabled` and `network.tls_ca` "
    "or `auth.mtls.ca_certs_dir`.\n"
    "- `server.data_dir`, and `storage.wal.dir` when the WAL is on, must "
    "not be\n  empty. An empty `server.pid_file`, `logging.file_path` or\n"
    "  `authz.audit_log_path` means a file in the data directory.\n"
    "- With `storage.wal.enabled = false`, `storage.wal.sync_mode` has no "
    "effect\n  (writes are not synced; the server warns at start-up).\n"
    "\n"
    "Keys marked *Reload: yes* may change on a configuration reload; any "
    "other\nchange needs a restart.\n";

int amaters_config_write_docs_markdown(FILE *out)
{
    const struct cfg_field *f, *prev = NULL;
    const char *sep = "";
    size_t i, sl;

    fputs(docs_intro, out);
    for (i = 0; i < cfg_nfields; i++) {
        if (cfg_fields[i].flags & CFG_SECRET) {
            fprintf(out, "%s`%s`", sep, cfg_fields[i].name);
            sep = ", ";
        }
    }
    fputs(docs_intro_rest, out);
    for (i = 0; i < cfg_nfields; i++) {
        f = &cfg_fields[i];
        sl = cfg_section_len(f);
        if (prev == NULL || cfg_section_len(prev) != sl ||
            memcmp(prev->name, f->name, sl) != 0)
            fprintf(out,
                    "\n## [%.*s]\n\n"
                    "| Key | Type | Default | Allowed | Environment | Reload "
                    "| Description |\n"
                    "|---|---|---|---|---|---|---|\n",
                    (int)sl, f->name);
        put_row(out, f);
        prev = f;
    }
    fflush(out);
    return ferror(out) ? AMATERS_EIO : 0;
}
