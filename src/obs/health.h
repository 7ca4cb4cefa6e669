/*
 * health.h - the process's health state: lifecycle phase, per-component
 * status, version, uptime and a liveness heartbeat. The HTTP endpoints
 * (/health, /readyz, /livez) and the gRPC HealthCheck read it; the server
 * lifecycle and the components (storage, grpc, ...) write it.
 *
 * Summary status: "unhealthy" if the phase is not SERVING, a component is
 * DOWN or the heartbeat has stalled; else "degraded" if a component is
 * DEGRADED; else "healthy".
 *
 * State lives in static storage (no allocation except the JSON returned by
 * amaters_health_json). Threads: every function may be called from any
 * thread at any time.
 */
#ifndef AMATERS_OBS_HEALTH_H
#define AMATERS_OBS_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum amaters_phase {
    AMATERS_PHASE_STARTING,
    AMATERS_PHASE_SERVING,
    AMATERS_PHASE_SHUTTING_DOWN,
    AMATERS_PHASE_STOPPED
};

enum amaters_component_status {
    AMATERS_COMPONENT_UP,
    AMATERS_COMPONENT_DEGRADED,
    AMATERS_COMPONENT_DOWN
};

#define AMATERS_HEALTH_MAX_COMPONENTS 16
#define AMATERS_HEALTH_MAX_NAME 32     /* longer names are cut */
#define AMATERS_HEALTH_MAX_MESSAGE 256 /* longer messages are cut */
#define AMATERS_HEALTH_LIVE_TIMEOUT_MS 10000

/* Sets / returns the lifecycle phase (initially STARTING). The first call
 * of any setter also starts the uptime clock. */
void amaters_health_set_phase(enum amaters_phase p);
enum amaters_phase amaters_health_phase(void);

/* Returns the static lower-case name of p: "starting", "serving",
 * "shutting_down", "stopped". */
const char *amaters_health_phase_name(enum amaters_phase p);

/* Registers or updates component name (e.g. "storage", "grpc") with a
 * status and an optional message (NULL = none); both strings are copied.
 * Beyond AMATERS_HEALTH_MAX_COMPONENTS new names are ignored. */
void amaters_health_set_component(const char *name,
                                  enum amaters_component_status s,
                                  const char *message);

/* Forgets component name. Returns 0 or AMATERS_ENOTFOUND. */
int amaters_health_remove_component(const char *name);

/* Sets the version reported in the JSON summary (copied; cut to 63
 * bytes). */
void amaters_health_set_version(const char *version);

/* True when the phase is SERVING and every registered component is UP or
 * DEGRADED. */
bool amaters_health_ready(void);

/* Like amaters_health_ready(); when not ready and reason is not NULL,
 * writes a one-line explanation into reason (len bytes), e.g.
 * "phase is starting" or "component storage is down: disk full". */
bool amaters_health_ready_reason(char *reason, size_t len);

/* Records that the server's main loop is alive. Call at least every few
 * seconds. */
void amaters_health_heartbeat(void);

/* True unless a heartbeat has been recorded and the last one is older
 * than the liveness timeout (AMATERS_HEALTH_LIVE_TIMEOUT_MS by default).
 * Before the first heartbeat the process counts as live. */
bool amaters_health_live(void);

/* Changes the liveness timeout (0 restores the default). For tests. */
void amaters_health_set_live_timeout_ms(uint64_t ms);

/* Renders the summary as JSON:
 *   {"status":"healthy|degraded|unhealthy","phase":"serving",
 *    "ready":true,"live":true,"version":"0.1.0","uptime_seconds":12,
 *    "components":{"storage":{"status":"up","message":null}}}
 * *out is a NUL-terminated buffer the caller frees with amaters_free, *len
 * its length; *http_status (may be NULL) gets 200 for healthy or degraded,
 * 503 otherwise. Returns 0 or AMATERS_ENOMEM. */
int amaters_health_json(char **out, size_t *len, int *http_status);

/* Returns to the initial state (STARTING, no components, no version, no
 * heartbeat, default timeout, uptime clock stopped). For tests. */
void amaters_health_reset(void);

#endif
