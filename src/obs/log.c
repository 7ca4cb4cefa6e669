/*
 * log.c - the logger's front half: level and format state, option parsing
 * and the three record formats. A record is formatted into a stack buffer
 * (heap only for very long records), then handed to log_sink.c as one line
 * and copied into the recent-lines ring (log_ring.c).
 */
#include "obs/log.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/errors.h"
#include "core/timeutil.h"
#include "obs/log_internal.h"
#include "obs/textbuf.h"

/* A line holds at most the message, its escaping and the fields. */
#define LINE_LIMIT (1024 * 1024)

static atomic_int g_level = AMATERS_LOG_INFO;
static atomic_int g_format = AMATERS_LOG_PRETTY;

static const char *const level_names[] = {"TRACE", "DEBUG", "INFO", "WARN",
                                          "ERROR"};
static const char level_letters[] = "TDIWE";

static bool level_valid(int l)
{
    return l >= AMATERS_LOG_TRACE && l <= AMATERS_LOG_ERROR;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
}

int amaters_log_init(const struct amaters_log_options *o, char *err,
                     size_t errlen)
{
    int rv;

    if (o == NULL || !level_valid((int)o->level)) {
        set_err(err, errlen, "log: invalid level");
        return AMATERS_EINVAL;
    }
    if ((int)o->format < AMATERS_LOG_PRETTY
        || (int)o->format > AMATERS_LOG_JSON) {
        set_err(err, errlen, "log: invalid format");
        return AMATERS_EINVAL;
    }
    if (o->file_path != NULL && o->rotate && o->max_size_bytes == 0) {
        set_err(err, errlen, "log: rotation needs max_size_bytes > 0");
        return AMATERS_EINVAL;
    }
    rv = obs_log_sink_open(o->file_path, o->rotate, o->max_size_bytes,
                           o->max_backups, err, errlen);
    if (rv != 0)
        return rv;
    atomic_store(&g_format, (int)o->format);
    atomic_store(&g_level, (int)o->level);
    return 0;
}

void amaters_log_shutdown(void)
{
    obs_log_sink_reset();
    obs_log_ring_clear();
    atomic_store(&g_format, AMATERS_LOG_PRETTY);
    atomic_store(&g_level, AMATERS_LOG_INFO);
}

void amaters_log_set_level(enum amaters_log_level l)
{
    if (level_valid((int)l))
        atomic_store(&g_level, (int)l);
}

enum amaters_log_level amaters_log_get_level(void)
{
    return (enum amaters_log_level)atomic_load(&g_level);
}

int amaters_log_parse_level(const char *s, enum amaters_log_level *out)
{
    static const struct {
        const char *name;
        enum amaters_log_level level;
    } names[] = {
        {"trace", AMATERS_LOG_TRACE}, {"debug", AMATERS_LOG_DEBUG},
        {"info", AMATERS_LOG_INFO},   {"warn", AMATERS_LOG_WARN},
        {"warning", AMATERS_LOG_WARN}, {"error", AMATERS_LOG_ERROR},
    };

    if (s == NULL)
        return AMATERS_EINVAL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return AMATERS_EINVAL;
}

int amaters_log_parse_format(const char *s, enum amaters_log_format *out)
{
    static const struct {
        const char *name;
        enum amaters_log_format format;
    } names[] = {
        {"pretty", AMATERS_LOG_PRETTY},
        {"text", AMATERS_LOG_PRETTY},
        {"compact", AMATERS_LOG_COMPACT},
        {"json", AMATERS_LOG_JSON},
    };

    if (s == NULL)
        return AMATERS_EINVAL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].format;
            return 0;
        }
    }
    return AMATERS_EINVAL;
}

const char *amaters_log_level_name(enum amaters_log_level l)
{
    return level_valid((int)l) ? level_names[l] : "?";
}

bool amaters_log_enabled(enum amaters_log_level l)
{
    return (int)l >= atomic_load_explicit(&g_level, memory_order_relaxed);
}

/* Formats unix time ns as RFC 3339 UTC with 6 (micro) or 3 (milli)
 * fractional digits into buf (at least 32 bytes). */
static void format_time(uint64_t ns, bool micro, char *buf, size_t len)
{
    time_t secs = (time_t)(ns / 1000000000u);
    unsigned long frac = (unsigned long)(ns % 1000000000u);
    struct tm tm;
    char base[24];

    gmtime_r(&secs, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (micro)
        snprintf(buf, len, "%s.%06luZ", base, frac / 1000u);
    else
        snprintf(buf, len, "%s.%03luZ", base, frac / 1000000u);
}

/* A text value needs quotes if it is empty or holds a space, '=', a quote,
 * a backslash or a control character. */
static bool needs_quotes(const char *v)
{
    if (*v == '\0')
        return true;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p <= ' ' || *p == '=' || *p == '"' || *p == '\\' || *p == 0x7F)
            return true;
    }
    return false;
}

static void text_fields(struct obs_textbuf *tb,
                        const struct amaters_log_field *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = fields[i].value;

        if (fields[i].key == NULL)
            continue;
        obs_tb_putc(tb, ' ');
        obs_tb_text_escaped(tb, fields[i].key, false);
        obs_tb_putc(tb, '=');
        if (v == NULL)
            obs_tb_puts(tb, "null");
        else
            obs_tb_text_escaped(tb, v, needs_quotes(v));
    }
}

static bool reserved_key(const char *k)
{
    return strcmp(k, "timestamp") == 0 || strcmp(k, "level") == 0
           || strcmp(k, "component") == 0 || strcmp(k, "message") == 0;
}

/* The fields of one record, as gathered by amaters_logv(). */
struct record {
    int level;
    const char *component;
    const char *message;
    const struct amaters_log_field *fields;
    size_t nfields;
    char ts_micro[32];
    char ts_milli[32];
};

static void format_pretty(struct obs_textbuf *tb, const struct record *r)
{
    obs_tb_printf(tb, "%s %5s ", r->ts_micro, level_names[r->level]);
    obs_tb_text_escaped(tb, r->component, false);
    obs_tb_puts(tb, ": ");
    obs_tb_text_escaped(tb, r->message, false);
    text_fields(tb, r->fields, r->nfields);
}

static void format_compact(struct obs_textbuf *tb, const struct record *r)
{
    obs_tb_printf(tb, "%s %c ", r->ts_milli, level_letters[r->level]);
    obs_tb_text_escaped(tb, r->component, false);
    obs_tb_putc(tb, ' ');
    obs_tb_text_escaped(tb, r->message, false);
    text_fields(tb, r->fields, r->nfields);
}

/* One JSON object. Fields that would collide with the four fixed keys are
 * renamed "field_<key>". */
static void format_json(struct obs_textbuf *tb, const struct record *r)
{
    obs_tb_puts(tb, "{\"timestamp\":");
    obs_tb_json_string(tb, r->ts_micro);
    obs_tb_puts(tb, ",\"level\":");
    obs_tb_json_string(tb, level_names[r->level]);
    obs_tb_puts(tb, ",\"component\":");
    obs_tb_json_string(tb, r->component);
    obs_tb_puts(tb, ",\"message\":");
    obs_tb_json_string(tb, r->message);
    for (size_t i = 0; i < r->nfields; i++) {
        const char *k = r->fields[i].key;

        if (k == NULL)
            continue;
        obs_tb_putc(tb, ',');
        if (reserved_key(k)) {
            char renamed[64];

            snprintf(renamed, sizeof renamed, "field_%s", k);
            obs_tb_json_string(tb, renamed);
        } else {
            obs_tb_json_string(tb, k);
        }
        obs_tb_putc(tb, ':');
        obs_tb_json_string(tb, r->fields[i].value);
    }
    obs_tb_putc(tb, '}');
}

/* Copies "component: message k=v" (already one line of valid UTF-8) into
 * the ring. */
static void push_ring(const struct record *r)
{
    char stack[OBS_LOG_RING_MSG + 1];
    struct obs_textbuf tb;

    obs_tb_init_fixed(&tb, stack, sizeof stack, OBS_LOG_RING_MSG, true);
    obs_tb_text_escaped(&tb, r->component, false);
    obs_tb_puts(&tb, ": ");
    obs_tb_text_escaped(&tb, r->message, false);
    text_fields(&tb, r->fields, r->nfields);
    if (tb.err == 0)
        obs_log_ring_push(r->ts_micro, level_names[r->level], tb.data,
                          tb.len);
    obs_tb_free(&tb);
}

static void emit(const struct record *r)
{
    char stack[2048];
    struct obs_textbuf tb;

    obs_tb_init_fixed(&tb, stack, sizeof stack, LINE_LIMIT, false);
    switch (atomic_load(&g_format)) {
    case AMATERS_LOG_COMPACT:
        format_compact(&tb, r);
        break;
    case AMATERS_LOG_JSON:
        format_json(&tb, r);
        break;
    default:
        format_pretty(&tb, r);
        break;
    }
    obs_tb_putc(&tb, '\n');
    if (tb.err == 0)
        obs_log_sink_write(tb.data, tb.len);
    else
        obs_log_sink_count_error();
    obs_tb_free(&tb);
}

void amaters_logv(enum amaters_log_level l, const char *component,
                  const struct amaters_log_field *fields, size_t nfields,
                  const char *fmt, va_list ap)
{
    char stack[1024];
    struct obs_textbuf msg;
    struct record r;
    uint64_t ns;

    if (!level_valid((int)l) || !amaters_log_enabled(l))
        return;
    obs_tb_init_fixed(&msg, stack, sizeof stack, AMATERS_LOG_MAX_MESSAGE,
                      true);
    obs_tb_vprintf(&msg, fmt, ap);
    while (msg.err == 0 && msg.len > 0
           && (msg.data[msg.len - 1] == '\n' || msg.data[msg.len - 1] == '\r'))
        msg.data[--msg.len] = '\0';

    memset(&r, 0, sizeof r);
    r.level = (int)l;
    r.component = component != NULL ? component : "-";
    r.message = msg.err == 0 ? msg.data : "(log message lost: out of memory)";
    r.fields = fields;
    r.nfields = fields != NULL ? nfields : 0;
    ns = amaters_unix_ns();
    format_time(ns, true, r.ts_micro, sizeof r.ts_micro);
    format_time(ns, false, r.ts_milli, sizeof r.ts_milli);
    emit(&r);
    push_ring(&r);
    obs_tb_free(&msg);
}

void amaters_log_kv(enum amaters_log_level l, const char *component,
                    const struct amaters_log_field *fields, size_t nfields,
                    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    amaters_logv(l, component, fields, nfields, fmt, ap);
    va_end(ap);
}

void amaters_log(enum amaters_log_level l, const char *component,
                 const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    amaters_logv(l, component, NULL, 0, fmt, ap);
    va_end(ap);
}

uint64_t amaters_log_write_errors(void)
{
    return obs_log_sink_errors();
}
