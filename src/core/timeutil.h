/*
 * timeutil.h - clocks. Monotonic time for durations and deadlines, wall
 * time for timestamps shown to users.
 */
#ifndef AMATERS_CORE_TIMEUTIL_H
#define AMATERS_CORE_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic clock in nanoseconds / milliseconds (arbitrary epoch). */
uint64_t amaters_now_ns(void);
uint64_t amaters_now_ms(void);

/* Sleeps ms milliseconds (resumes after signal interruptions). */
void amaters_sleep_ms(uint64_t ms);

/* Wall clock, unix seconds and nanoseconds. */
int64_t amaters_unix_seconds(void);
uint64_t amaters_unix_ns(void);

/* Formats the current wall time as RFC 3339 UTC with microseconds, e.g.
 * "2026-11-27T21:00:00.123456Z", into buf (at least 32 bytes). */
void amaters_rfc3339_now(char *buf, size_t len);

#endif
