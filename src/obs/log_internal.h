/*
 * log_internal.h - the pieces of the logger shared between log.c (record
 * formatting), log_sink.c (the output file and its rotation) and
 * log_ring.c (the recent-lines ring). Private to src/obs/.
 *
 * Threads: every function may be called from any thread; each file guards
 * its own state with its own mutex.
 */
#ifndef AMATERS_OBS_LOG_INTERNAL_H
#define AMATERS_OBS_LOG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Opens the output named by path (NULL = stdout) and, on success, swaps
 * it in for the current one, which is closed if it was a file. Returns 0
 * or AMATERS_EIO / AMATERS_EINVAL with a message in err. */
int obs_log_sink_open(const char *path, bool rotate, uint64_t max_size,
                      unsigned max_backups, char *err, size_t errlen);

/* Closes a log file, if any, returns output to stderr and zeroes the
 * error counter. */
void obs_log_sink_reset(void);

/* Writes len bytes (one complete line) with one write() call, rotating
 * the file first if this line would push it past its size limit. */
void obs_log_sink_write(const char *line, size_t len);

/* Counts one record that could not be written. */
void obs_log_sink_count_error(void);

/* Returns the number of records that could not be written. */
uint64_t obs_log_sink_errors(void);

/* Bytes of a record's text the ring keeps, including the NUL. log.c
 * builds the ring text with at most this many bytes so that a cut
 * multi-byte sequence is always at the very end, where the ring drops it. */
#define OBS_LOG_RING_MSG 480

/* Appends one record to the recent-lines ring (the oldest is dropped when
 * full). The strings are copied; msg is cut at a UTF-8 boundary. */
void obs_log_ring_push(const char *ts, const char *level, const char *msg,
                       size_t msglen);

/* Empties the ring. */
void obs_log_ring_clear(void);

#endif
