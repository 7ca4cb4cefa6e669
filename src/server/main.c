/*
 * main.c - amaters-server's command line: parses global and command
 * options (accepted before or after the command, as the original's CLI
 * did), assembles the configuration, and dispatches to a command.
 */
#include "server/server.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "core/alloc.h"

#ifndef AMATERS_VERSION
#define AMATERS_VERSION "0.0.0"
#endif
#ifndef AMATERS_GIT_COMMIT
#define AMATERS_GIT_COMMIT "unknown"
#endif

static const char usage_text[] =
    "Usage: amaters-server [OPTIONS] <COMMAND> [COMMAND OPTIONS]\n"
    "\n"
    "A database server that stores encrypted values (AmateRS AQL over "
    "gRPC).\n"
    "\n"
    "Commands:\n"
    "  start             run the server in the foreground until SIGTERM or "
    "SIGINT\n"
    "  stop              ask the running server to shut down and wait\n"
    "  status            show whether a server is running and its health\n"
    "  version           print the version\n"
    "  validate-config   check the configuration and exit\n"
    "  repair            rebuild a damaged lsm data directory (server "
    "stopped)\n"
    "\n"
    "Options (for every command):\n"
    "  -c, --config FILE      TOML configuration file (default: none; "
    "built-in\n"
    "                         defaults give a working single-node server)\n"
    "  -b, --bind ADDR        gRPC listen address host:port "
    "(server.bind_address)\n"
    "  -d, --data-dir DIR     data directory (server.data_dir)\n"
    "      --log-level LEVEL  trace, debug, info, warn or error "
    "(logging.level)\n"
    "  -h, --help             show help (also: amaters-server COMMAND "
    "--help)\n"
    "  -V, --version          print the version (as the version command)\n"
    "\n"
    "Configuration precedence: built-in defaults < config file < "
    "environment\n"
    "(AMATERS_<SECTION>__<KEY>, e.g. AMATERS_SERVER__BIND_ADDRESS) < "
    "options.\n"
    "Exit codes: 0 ok, 1 error, 2 usage error.\n";

static const struct {
    const char *name;
    const char *help;
} command_help[] = {
    {"start",
     "Usage: amaters-server [OPTIONS] start [--foreground] "
     "[--generate-config]\n\n"
     "Runs the server in the foreground: gRPC on server.bind_address, "
     "health and\nmetrics HTTP on metrics.bind_address. SIGTERM or SIGINT "
     "shut it down\ngracefully (a second signal exits at once). SIGHUP "
     "re-reads the configuration\nand applies logging.level, "
     "authz.default_role, authz.default_mode and the\nroles file (other "
     "changes need a restart), and reopens the audit log\n(for log "
     "rotation).\n\n"
     "  --foreground        accepted for compatibility (start always runs in "
     "the\n                      foreground; use a service manager to "
     "daemonize)\n"
     "  --generate-config   print the effective configuration as TOML and "
     "exit\n"},
    {"stop",
     "Usage: amaters-server [OPTIONS] stop [--force] [--timeout S]\n\n"
     "Signals the server that holds the lock of the PID file "
     "(server.pid_file)\nand waits for it to exit. A PID file nobody holds "
     "the lock of is stale:\nnothing is signalled. Exit 0 when stopped, 1 "
     "otherwise.\n\n"
     "  --force        SIGKILL instead of a graceful SIGTERM\n"
     "  --timeout S    seconds to wait for the process to exit, a decimal "
     "number\n                 from 0 to 86400 (default: "
     "server.shutdown_timeout_secs + 5)\n"},
    {"status",
     "Usage: amaters-server [OPTIONS] status [--format human|json]\n\n"
     "Asks the running server over gRPC (HealthCheck, GetServerInfo); when "
     "gRPC\ncannot be used (TLS on, credentials needed, no answer) asks GET "
     "/health on\nthe HTTP address in the PID file; falls back to the PID "
     "file when neither\nanswers. --format json prints one object (fields in "
     "docs/operations.md).\nExit 0 when running, 1 otherwise.\n"},
    {"version",
     "Usage: amaters-server version [--verbose]\n\nPrints the version; "
     "--verbose adds protocol, build and library versions.\n"},
    {"repair",
     "Usage: amaters-server [OPTIONS] repair [--no-backup]\n\n"
     "Rebuilds the lsm data directory when the server refuses to start "
     "because it\nis damaged (corrupted or missing MANIFEST/CURRENT, lost "
     "files). The server\nmust be stopped. First copies <data_dir>/lsm and "
     "the WAL directory to\n<data_dir>/repair-backup-<time>/ (--no-backup "
     "skips this), then runs\nRocksDB's repair (every readable table and "
     "log is kept; what cannot be read\nis moved to <data_dir>/lsm/lost/), "
     "recounts the keys and prints them. Run\nthe VERIFY admin command "
     "afterwards. Exit 0 when repaired, 1 otherwise.\n"},
    {"validate-config",
     "Usage: amaters-server [OPTIONS] validate-config [--show]\n\n"
     "Loads the configuration (file, environment, options), checks every "
     "key, and\nexits 0 when valid. It does not load the certificates, "
     "keys, roles or API\nkey files (start does): it warns about those that "
     "do not exist or cannot\nbe read. --show prints the effective "
     "configuration (secrets redacted).\n"},
};

const char *amaters_server_version(void)
{
    return AMATERS_VERSION;
}

static int print_command_help(const char *cmd)
{
    for (size_t i = 0; i < sizeof command_help / sizeof command_help[0];
         i++) {
        if (strcmp(command_help[i].name, cmd) == 0) {
            fputs(command_help[i].help, stdout);
            return AMATERS_EXIT_OK;
        }
    }
    fputs(usage_text, stdout);
    return AMATERS_EXIT_OK;
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "amaters-server: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'amaters-server --help'.\n");
    return AMATERS_EXIT_USAGE;
}

/* A bad value of a global option is a usage error (exit 2), found before
 * any command runs: checked against the configuration schema. */
static int check_flag_values(const struct amaters_cli *cli)
{
    struct amaters_config tmp;
    char err[1024] = "";
    int rc;

    amaters_config_init_defaults(&tmp);
    rc = amaters_server_apply_flags(cli, &tmp, err, sizeof err);
    amaters_config_free(&tmp);
    return rc ? usage_error("%s", err) : 0;
}

static int cmd_version(const struct amaters_cli *cli)
{
    printf("amaters-server %s\n", AMATERS_VERSION);
    if (cli->verbose) {
        printf("protocol:     AmateRS AQL 0.2.0 (amaters.aql.AqlService)\n");
        printf("commit:       %s\n", AMATERS_GIT_COMMIT);
        printf("built:        %s %s, C%ld, %s\n", __DATE__, __TIME__,
               __STDC_VERSION__, __VERSION__);
        printf("gRPC core:    %s\n", grpc_version_string());
        printf("protobuf-c:   %s\n", protobuf_c_version());
        printf("engines:      memory, lsm\n");
    }
    return AMATERS_EXIT_OK;
}

static int cmd_validate(const struct amaters_cli *cli)
{
    struct amaters_config cfg;
    char why[512];
    int rc = amaters_server_load_config(cli, &cfg);
    if (rc == 0 && amaters_server_check_supported(&cfg, why, sizeof why)) {
        fprintf(stderr, "amaters-server: configuration error: %s\n", why);
        rc = -1;
    }
    if (rc == 0)
        amaters_server_check_files(&cfg, stderr);
    if (rc == 0) {
        if (cli->show) {
            amaters_config_dump_toml(&cfg, stdout);
        } else {
            printf("configuration OK (%s)\n",
                   cli->config_path ? cli->config_path : "built-in defaults");
        }
    }
    amaters_config_free(&cfg);
    return rc ? AMATERS_EXIT_ERROR : AMATERS_EXIT_OK;
}

enum opt_id {
    OPT_LOG_LEVEL = 256,
    OPT_FOREGROUND,
    OPT_GENERATE,
    OPT_FORCE,
    OPT_TIMEOUT,
    OPT_FORMAT,
    OPT_VERBOSE,
    OPT_SHOW,
    OPT_NO_BACKUP,
    OPT_VERSION = 'V',
};

static const struct option long_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"bind", required_argument, NULL, 'b'},
    {"data-dir", required_argument, NULL, 'd'},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},
    {"foreground", no_argument, NULL, OPT_FOREGROUND},
    {"generate-config", no_argument, NULL, OPT_GENERATE},
    {"force", no_argument, NULL, OPT_FORCE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"show", no_argument, NULL, OPT_SHOW},
    {"no-backup", no_argument, NULL, OPT_NO_BACKUP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* Which command may take which command option. */
static int option_allowed(int id, const char *cmd)
{
    switch (id) {
    case OPT_FOREGROUND:
    case OPT_GENERATE:
        return strcmp(cmd, "start") == 0;
    case OPT_FORCE:
    case OPT_TIMEOUT:
        return strcmp(cmd, "stop") == 0;
    case OPT_FORMAT:
        return strcmp(cmd, "status") == 0;
    case OPT_VERBOSE:
        return strcmp(cmd, "version") == 0;
    case OPT_SHOW:
        return strcmp(cmd, "validate-config") == 0;
    case OPT_NO_BACKUP:
        return strcmp(cmd, "repair") == 0;
    case OPT_VERSION:
        return cmd[0] == '\0' || strcmp(cmd, "version") == 0;
    default:
        return 1;
    }
}

/* stop --timeout: a plain decimal number of seconds ("5", "0.5"), 0 to
 * 86400; not a sign, exponent, hex, "inf" or "nan" (strtod takes all of
 * those). Returns 0 with *secs set, or -1. */
static int parse_timeout(const char *arg, double *secs)
{
    size_t int_digits = strspn(arg, "0123456789");
    const char *p = arg + int_digits;
    char *end;

    if (*p == '.') {
        size_t frac = strspn(p + 1, "0123456789");
        if (frac == 0)
            return -1;
        p += 1 + frac;
    }
    if (int_digits == 0 || *p != '\0' || int_digits > 6)
        return -1;
    *secs = strtod(arg, &end);
    return *secs >= 0 && *secs <= 86400 ? 0 : -1;
}

static int set_option(struct amaters_cli *cli, int id, const char *arg)
{
    switch (id) {
    case 'c':
        cli->config_path = arg;
        break;
    case 'b':
        cli->bind = arg;
        break;
    case 'd':
        cli->data_dir = arg;
        break;
    case OPT_LOG_LEVEL:
        cli->log_level = arg;
        break;
    case OPT_FOREGROUND:
        cli->foreground = true;
        break;
    case OPT_GENERATE:
        cli->generate_config = true;
        break;
    case OPT_FORCE:
        cli->force = true;
        break;
    case OPT_TIMEOUT:
        if (parse_timeout(arg, &cli->timeout_secs) != 0)
            return usage_error("--timeout takes a number of seconds from 0 "
                               "to 86400 (e.g. 30 or 2.5), not '%s'",
                               arg);
        break;
    case OPT_FORMAT:
        if (strcmp(arg, "human") && strcmp(arg, "json"))
            return usage_error("--format takes human or json, not '%s'", arg);
        cli->format = arg;
        break;
    case OPT_VERBOSE:
        cli->verbose = true;
        break;
    case OPT_SHOW:
        cli->show = true;
        break;
    case OPT_NO_BACKUP:
        cli->no_backup = true;
        break;
    case OPT_VERSION:
        cli->command = "version";
        break;
    default:
        return AMATERS_EXIT_USAGE;
    }
    return 0;
}

static const char *const commands[] = {"start", "stop", "status", "version",
                                       "validate-config", "repair"};

static int known_command(const char *s)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i], s) == 0)
            return 1;
    }
    return 0;
}

/* An option as given, for messages: "--timeout", "-c". */
struct parsed_opt {
    int id;
    const char *arg;
    int longindex; /* into long_opts, or -1 for a short option */
};

static void opt_name(const struct parsed_opt *o, char *buf, size_t len)
{
    if (o->longindex >= 0)
        snprintf(buf, len, "--%s", long_opts[o->longindex].name);
    else
        snprintf(buf, len, "-%c", o->id);
}

/* A word that is not an option: the command, or an error (no command
 * takes arguments). */
static int positional(struct amaters_cli *cli, const char *arg)
{
    if (cli->command)
        return usage_error("unexpected argument '%s' (the %s command takes "
                           "no arguments)",
                           arg, cli->command);
    if (!known_command(arg))
        return usage_error("unknown command '%s' (expected start, stop, "
                           "status, version, validate-config or repair)",
                           arg);
    cli->command = arg;
    return 0;
}

/* 1 when opts[i] takes a value and an earlier option set the same
 * thing (the last one would silently win). */
static int repeated(const struct parsed_opt *opts, size_t i)
{
    if (opts[i].arg == NULL)
        return 0;
    for (size_t j = 0; j < i; j++)
        if (opts[j].id == opts[i].id)
            return 1;
    return 0;
}

/* Checks each option against the command and applies it. */
static int apply_options(struct amaters_cli *cli,
                         const struct parsed_opt *opts, size_t nopts)
{
    char name[64];
    int rc = 0;

    for (size_t i = 0; i < nopts && rc == 0; i++) {
        opt_name(&opts[i], name, sizeof name);
        if (repeated(opts, i))
            rc = usage_error("option '%s' given twice: give it once", name);
        else if (opts[i].id == 'c' && opts[i].arg[0] == '\0')
            rc = usage_error("--config needs a file name ('%s' was given "
                             "an empty one)", name);
        else if (cli->command && !option_allowed(opts[i].id, cli->command))
            rc = usage_error("option '%s' does not apply to the %s command",
                             name, cli->command);
        else if (!cli->command && !option_allowed(opts[i].id, ""))
            rc = usage_error("option '%s' needs a command", name);
        else
            rc = set_option(cli, opts[i].id, opts[i].arg);
    }
    return rc;
}

static int parse(int argc, char **argv, struct amaters_cli *cli, bool *help)
{
    struct parsed_opt *opts = amaters_calloc((size_t)argc + 1, sizeof *opts);
    size_t nopts = 0;
    int c, rc = 0, longindex = -1;

    if (opts == NULL)
        return AMATERS_EXIT_ERROR;
    opterr = 0;
    /* '+' would stop at the command; '-' returns it as argument 1. */
    while (rc == 0 && (c = getopt_long(argc, argv, "-c:b:d:hV", long_opts,
                                       &longindex)) != -1) {
        if (c == 1) {
            rc = positional(cli, optarg);
        } else if (c == 'h') {
            *help = true;
        } else if (c == '?' || c == ':') {
            rc = usage_error("invalid or incomplete option '%s'",
                             argv[optind - 1]);
        } else {
            opts[nopts++] = (struct parsed_opt){c, optarg, longindex};
        }
        longindex = -1;
    }
    /* after "--": operands only */
    for (int i = optind; rc == 0 && i < argc; i++)
        rc = positional(cli, argv[i]);
    if (rc == 0)
        rc = apply_options(cli, opts, nopts);
    amaters_free(opts);
    return rc;
}

int main(int argc, char **argv)
{
    struct amaters_cli cli = {.timeout_secs = -1, .format = "human"};
    bool help = false;
    int rc = parse(argc, argv, &cli, &help);

    if (rc == 0 && !help)
        rc = check_flag_values(&cli);
    if (rc)
        return rc;
    if (help)
        return cli.command ? print_command_help(cli.command)
                           : print_command_help("");
    if (cli.command == NULL) {
        fputs("amaters-server: no command given (expected start, stop, "
              "status, version, validate-config or repair)\n\n",
              stderr);
        fputs(usage_text, stderr);
        return AMATERS_EXIT_USAGE;
    }
    if (strcmp(cli.command, "version") == 0)
        return cmd_version(&cli);
    if (strcmp(cli.command, "validate-config") == 0)
        return cmd_validate(&cli);
    if (strcmp(cli.command, "start") == 0)
        return amaters_cmd_start(&cli);
    if (strcmp(cli.command, "stop") == 0)
        return amaters_cmd_stop(&cli);
    if (strcmp(cli.command, "repair") == 0)
        return amaters_cmd_repair(&cli);
    return amaters_cmd_status(&cli);
}
