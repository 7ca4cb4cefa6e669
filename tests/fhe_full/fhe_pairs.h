/*
 * fhe_pairs.h - shared state of amaters-fhe-pairs (fhe_pairs.c: the
 * evaluation threads, progress, summary and options; fhe_pairs_journal.c:
 * work-item identity, operands and the journal). Private to the program.
 *
 * Threads: the functions here that take a const runner read only options
 * and may run on any thread; fp_record and fp_journal_append need the
 * runner's mu held once workers run; fp_journal_open runs before them.
 */
#ifndef AMATERS_TESTS_FHE_PAIRS_H
#define AMATERS_TESTS_FHE_PAIRS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "fhe/keys.h"
#include "fhe/params.h"
#include "fhe_ops_table.h"

#define NW 5                      /* widths: bool, 8, 16, 32, 64 */
#define MAX_PAIRS 100000L
#define PROGRESS_S 30
#define SYNC_MS 2000
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_INCOMPLETE 3
#define EXIT_ERROR 4

struct item {
    uint8_t op;
    uint8_t wi;                   /* index into fp_widths */
    uint32_t index;
};

/* Per (width, op) counts over the journal and this session. */
struct group {
    uint32_t edge_done, rand_done, fails;
    double ms_sum;                /* for the mean cost (ETA) */
};

/* The runner. Options and keys are immutable once workers start; the
 * rest is guarded by mu; the client key's encryption by ck_mu. */
struct runner {
    const char *journal;
    long pairs;
    int pairs_given, seed_given, summary;
    unsigned ops_mask, widths_mask;
    size_t threads;
    uint8_t seed[16];

    const struct amaters_fhe_params *p;
    struct amaters_fhe_client_key *ck;
    struct amaters_fhe_server_key *sk;
    int fd;

    pthread_mutex_t mu, ck_mu;
    pthread_cond_t cv;
    uint8_t *status;              /* per item: 0 todo, 1 ok, 2 FAIL */
    struct group groups[NW][NOPS];
    struct item *queue;
    size_t nqueue, next, running, session_done, bad_lines;
    struct item *active;          /* threads entries, op NOPS = idle */
    double session_ms;
    uint64_t start_ms, last_sync_ms;
    int err, stop;
};

/* The widths in work order: 1 (bool), 8, 16, 32, 64. */
extern const unsigned fp_widths[NW];

/* Number of items of one (width, op) group: 4 for bool, else NEDGES +
 * pairs. */
size_t fp_group_items(const struct runner *r, size_t wi);

/* Index of item (wi, op, index) in r->status. */
size_t fp_slot(const struct runner *r, size_t wi, enum fhe_op op,
               size_t index);

/* 1 when (wi, op) is a real group selected by --ops / --widths. */
int fp_selected(const struct runner *r, size_t wi, enum fhe_op op);

/* The clear operands of item (op, w, index): the four boolean inputs,
 * the edge table, or SHA-256("amaters-fhe-pairs/1" || seed || op name ||
 * NUL || w || index as 4 bytes LE): x, y = the first two little-endian
 * 64-bit words, masked to w bits. A pure function of (seed, op, w,
 * index). Returns 0 or AMATERS_EINTERNAL (OpenSSL failure). */
int fp_operands(const struct runner *r, enum fhe_op op, unsigned w,
                uint32_t index, uint64_t *x, uint64_t *y);

/* "bool", "u8", ... for a width index (static string). */
const char *fp_wname(size_t wi);

/* Width index of w bits, NW when w is not a width. */
size_t fp_width_index(unsigned w);

/* Parses 32 hex digits into seed. Returns 0 or -1. */
int fp_parse_seed(const char *s, uint8_t seed[16]);

/* Records a finished item in r->status and the group counts. An item
 * recorded twice counts once; a FAIL is kept. */
void fp_record(struct runner *r, const struct item *it, int fail,
               double ms);

/* Opens the journal r->journal (run mode: creates it with a header, takes
 * an exclusive flock, cuts a torn last line; summary: read only), checks
 * or adopts its seed and pair count, allocates r->status (freed by the
 * caller with amaters_free) and records every valid line. Malformed lines
 * are reported and ignored. Returns 0, EXIT_USAGE (foreign or mismatched
 * journal, or in use), EXIT_INCOMPLETE (summary of a missing or empty
 * journal) or EXIT_ERROR (I/O), after a message on stderr. */
int fp_journal_open(struct runner *r);

/* Appends the result line of it with one write(); fdatasync when SYNC_MS
 * have passed since the last one. On error sets r->err and r->stop. */
void fp_journal_append(struct runner *r, const struct item *it, uint64_t x,
                       uint64_t y, uint64_t e, const char *got, int fail,
                       double ms);

#endif
