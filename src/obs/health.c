/*
 * health.c - phase, components, version and heartbeat, kept in static
 * storage under one mutex (the heartbeat and phase are atomics so the
 * frequent calls take no lock), and the JSON summary.
 */
#include "obs/health.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/errors.h"
#include "core/timeutil.h"
#include "obs/textbuf.h"

struct component {
    char name[AMATERS_HEALTH_MAX_NAME];
    char message[AMATERS_HEALTH_MAX_MESSAGE];
    bool has_message;
    enum amaters_component_status status;
};

/* Guarded by health_mu. */
static pthread_mutex_t health_mu = PTHREAD_MUTEX_INITIALIZER;
static struct component components[AMATERS_HEALTH_MAX_COMPONENTS];
static size_t ncomponents;
static char version[64];

static atomic_int g_phase = AMATERS_PHASE_STARTING;
static atomic_uint_fast64_t g_start_ms;     /* 0 = not started */
static atomic_uint_fast64_t g_heartbeat_ms; /* 0 = never */
static atomic_uint_fast64_t g_live_timeout_ms = AMATERS_HEALTH_LIVE_TIMEOUT_MS;

static const char *const phase_names[] = {"starting", "serving",
                                          "shutting_down", "stopped"};
static const char *const status_names[] = {"up", "degraded", "down"};

/* Monotonic milliseconds, never 0 (0 means "unset" above). */
static uint64_t now_ms(void)
{
    return amaters_now_ms() + 1;
}

static void start_clock(void)
{
    uint_fast64_t zero = 0;

    atomic_compare_exchange_strong(&g_start_ms, &zero, now_ms());
}

static void copy_cut(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

void amaters_health_set_phase(enum amaters_phase p)
{
    if ((int)p < AMATERS_PHASE_STARTING || (int)p > AMATERS_PHASE_STOPPED)
        return;
    start_clock();
    atomic_store(&g_phase, (int)p);
}

enum amaters_phase amaters_health_phase(void)
{
    return (enum amaters_phase)atomic_load(&g_phase);
}

const char *amaters_health_phase_name(enum amaters_phase p)
{
    if ((int)p < AMATERS_PHASE_STARTING || (int)p > AMATERS_PHASE_STOPPED)
        return "unknown";
    return phase_names[p];
}

/* Returns the index of component name or ncomponents. Call with
 * health_mu held. */
static size_t find_component(const char *name)
{
    char cut[AMATERS_HEALTH_MAX_NAME];
    size_t i;

    copy_cut(cut, sizeof cut, name);
    for (i = 0; i < ncomponents; i++) {
        if (strcmp(components[i].name, cut) == 0)
            break;
    }
    return i;
}

void amaters_health_set_component(const char *name,
                                  enum amaters_component_status s,
                                  const char *message)
{
    struct component *c;
    size_t i;

    if (name == NULL || (int)s < AMATERS_COMPONENT_UP
        || (int)s > AMATERS_COMPONENT_DOWN)
        return;
    start_clock();
    pthread_mutex_lock(&health_mu);
    i = find_component(name);
    if (i == ncomponents) {
        if (ncomponents == AMATERS_HEALTH_MAX_COMPONENTS)
            goto out;
        ncomponents++;
        copy_cut(components[i].name, sizeof components[i].name, name);
    }
    c = &components[i];
    c->status = s;
    c->has_message = message != NULL;
    copy_cut(c->message, sizeof c->message, message ? message : "");
out:
    pthread_mutex_unlock(&health_mu);
}

int amaters_health_remove_component(const char *name)
{
    int rv = AMATERS_ENOTFOUND;
    size_t i;

    if (name == NULL)
        return AMATERS_EINVAL;
    pthread_mutex_lock(&health_mu);
    i = find_component(name);
    if (i < ncomponents) {
        memmove(&components[i], &components[i + 1],
                (ncomponents - i - 1) * sizeof components[0]);
        ncomponents--;
        rv = 0;
    }
    pthread_mutex_unlock(&health_mu);
    return rv;
}

void amaters_health_set_version(const char *v)
{
    start_clock();
    pthread_mutex_lock(&health_mu);
    copy_cut(version, sizeof version, v ? v : "");
    pthread_mutex_unlock(&health_mu);
}

/* Readiness with health_mu held. */
static bool ready_locked(char *reason, size_t len)
{
    enum amaters_phase p = amaters_health_phase();

    if (p != AMATERS_PHASE_SERVING) {
        if (reason != NULL && len > 0)
            snprintf(reason, len, "phase is %s", phase_names[p]);
        return false;
    }
    for (size_t i = 0; i < ncomponents; i++) {
        const struct component *c = &components[i];

        if (c->status != AMATERS_COMPONENT_DOWN)
            continue;
        if (reason != NULL && len > 0)
            snprintf(reason, len, "component %s is down%s%s", c->name,
                     c->has_message ? ": " : "", c->message);
        return false;
    }
    return true;
}

bool amaters_health_ready_reason(char *reason, size_t len)
{
    bool ready;

    pthread_mutex_lock(&health_mu);
    ready = ready_locked(reason, len);
    pthread_mutex_unlock(&health_mu);
    return ready;
}

bool amaters_health_ready(void)
{
    return amaters_health_ready_reason(NULL, 0);
}

void amaters_health_heartbeat(void)
{
    atomic_store(&g_heartbeat_ms, now_ms());
}

bool amaters_health_live(void)
{
    uint64_t last = atomic_load(&g_heartbeat_ms);

    if (last == 0)
        return true;
    return now_ms() - last <= atomic_load(&g_live_timeout_ms);
}

void amaters_health_set_live_timeout_ms(uint64_t ms)
{
    atomic_store(&g_live_timeout_ms,
                 ms ? ms : (uint64_t)AMATERS_HEALTH_LIVE_TIMEOUT_MS);
}

/* "healthy", "degraded" or "unhealthy". Call with health_mu held. */
static const char *summary_locked(bool live)
{
    bool degraded = false;

    if (amaters_health_phase() != AMATERS_PHASE_SERVING || !live)
        return "unhealthy";
    for (size_t i = 0; i < ncomponents; i++) {
        if (components[i].status == AMATERS_COMPONENT_DOWN)
            return "unhealthy";
        if (components[i].status == AMATERS_COMPONENT_DEGRADED)
            degraded = true;
    }
    return degraded ? "degraded" : "healthy";
}

static void put_components(struct obs_textbuf *tb)
{
    obs_tb_puts(tb, "\"components\":{");
    for (size_t i = 0; i < ncomponents; i++) {
        const struct component *c = &components[i];

        if (i > 0)
            obs_tb_putc(tb, ',');
        obs_tb_json_string(tb, c->name);
        obs_tb_puts(tb, ":{\"status\":");
        obs_tb_json_string(tb, status_names[c->status]);
        obs_tb_puts(tb, ",\"message\":");
        obs_tb_json_string(tb, c->has_message ? c->message : NULL);
        obs_tb_putc(tb, '}');
    }
    obs_tb_putc(tb, '}');
}

int amaters_health_json(char **out, size_t *len, int *http_status)
{
    struct obs_textbuf tb;
    bool live = amaters_health_live();
    uint64_t start = atomic_load(&g_start_ms);
    uint64_t uptime = start ? (now_ms() - start) / 1000 : 0;
    const char *status;

    obs_tb_init(&tb, 64 * 1024);
    pthread_mutex_lock(&health_mu);
    status = summary_locked(live);
    obs_tb_puts(&tb, "{\"status\":");
    obs_tb_json_string(&tb, status);
    obs_tb_puts(&tb, ",\"phase\":");
    obs_tb_json_string(&tb, phase_names[amaters_health_phase()]);
    obs_tb_printf(&tb, ",\"ready\":%s,\"live\":%s,\"version\":",
                  ready_locked(NULL, 0) ? "true" : "false",
                  live ? "true" : "false");
    obs_tb_json_string(&tb, version);
    obs_tb_printf(&tb, ",\"uptime_seconds\":%llu,",
                  (unsigned long long)uptime);
    put_components(&tb);
    obs_tb_putc(&tb, '}');
    pthread_mutex_unlock(&health_mu);
    if (http_status != NULL)
        *http_status = strcmp(status, "unhealthy") == 0 ? 503 : 200;
    return obs_tb_take(&tb, out, len);
}

void amaters_health_reset(void)
{
    pthread_mutex_lock(&health_mu);
    ncomponents = 0;
    memset(components, 0, sizeof components);
    version[0] = '\0';
    pthread_mutex_unlock(&health_mu);
    atomic_store(&g_phase, AMATERS_PHASE_STARTING);
    atomic_store(&g_start_ms, 0);
    atomic_store(&g_heartbeat_ms, 0);
    atomic_store(&g_live_timeout_ms, AMATERS_HEALTH_LIVE_TIMEOUT_MS);
}
