/*
 * fhe_pairs_journal.c - amaters-fhe-pairs' work items and journal: the
 * item operands (a pure function of seed, op, width and index), and the
 * journal file: a header "# amaters-fhe-pairs seed=HEX32 pairs=N", then
 * one line per finished item "op width index x y expected got ok|FAIL
 * ms" appended with a single write(). Reading it back checks every line
 * against a recomputation (operands, expected value), ignores malformed
 * lines and cuts a torn last line, so a run killed at any moment resumes
 * without losing or faking completed work.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "core/timeutil.h"
#include "fhe_pairs.h"

const unsigned fp_widths[NW] = {1, 8, 16, 32, 64};

size_t fp_group_items(const struct runner *r, size_t wi)
{
    return fp_widths[wi] == 1 ? 4 : NEDGES + (size_t)r->pairs;
}

size_t fp_slot(const struct runner *r, size_t wi, enum fhe_op op,
               size_t index)
{
    return (wi * NOPS + (size_t)op) * (NEDGES + (size_t)r->pairs) + index;
}

int fp_selected(const struct runner *r, size_t wi, enum fhe_op op)
{
    if (fp_widths[wi] == 1 && !fhe_op_is_bool(op))
        return 0;
    return (r->ops_mask >> op & 1) && (r->widths_mask >> wi & 1);
}

int fp_operands(const struct runner *r, enum fhe_op op, unsigned w,
                uint32_t index, uint64_t *x, uint64_t *y)
{
    unsigned char msg[64], h[EVP_MAX_MD_SIZE];
    unsigned int hlen = 0;
    size_t n = 0, len = strlen(op_names[op]);
    uint64_t m = fhe_width_mask(w);

    if (w == 1 || index < NEDGES) {
        if (w == 1) {
            *x = index >> 1 & 1;
            *y = index & 1;
        } else {
            fhe_edge(index, m, x, y);
        }
        return 0;
    }
    memcpy(msg, "amaters-fhe-pairs/1", 19);
    n = 19;
    memcpy(msg + n, r->seed, 16);
    n += 16;
    memcpy(msg + n, op_names[op], len + 1);      /* with the NUL */
    n += len + 1;
    msg[n++] = (unsigned char)w;
    for (int i = 0; i < 4; i++)
        msg[n++] = (unsigned char)(index >> (8 * i));
    if (EVP_Digest(msg, n, h, &hlen, EVP_sha256(), NULL) != 1 || hlen < 16)
        return AMATERS_EINTERNAL;
    *x = *y = 0;
    for (int i = 7; i >= 0; i--) {
        *x = *x << 8 | h[i];
        *y = *y << 8 | h[8 + i];
    }
    *x &= m;
    *y &= m;
    return 0;
}

const char *fp_wname(size_t wi)
{
    static const char *const names[NW] = {"bool", "u8", "u16", "u32", "u64"};

    return names[wi];
}

/* ---- journal --------------------------------------------------------- */

static void seed_hex(const uint8_t seed[16], char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", seed[i]);
}

int fp_parse_seed(const char *s, uint8_t seed[16])
{
    if (strlen(s) != 32 || strspn(s, "0123456789abcdefABCDEF") != 32)
        return -1;
    for (int i = 0; i < 16; i++) {
        unsigned v;

        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        seed[i] = (uint8_t)v;
    }
    return 0;
}

/* Checks (or adopts, when not given on the command line) the header's
 * seed and pair count. Returns 0 or EXIT_USAGE after a message. */
static int check_header(struct runner *r, const char *line)
{
    char hex[33], want[33];
    uint8_t seed[16];
    long pairs;

    if (sscanf(line, "# amaters-fhe-pairs seed=%32s pairs=%ld", hex,
               &pairs) != 2 || fp_parse_seed(hex, seed) != 0) {
        fprintf(stderr, "%s: not an amaters-fhe-pairs journal (first line "
                "\"%.60s\")\n", r->journal, line);
        return EXIT_USAGE;
    }
    seed_hex(r->seed, want);
    if ((r->seed_given && memcmp(seed, r->seed, 16) != 0) ||
        (r->pairs_given && pairs != r->pairs)) {
        fprintf(stderr, "%s: journal was made with seed=%s pairs=%ld, this "
                "run has seed=%s pairs=%ld; refusing to mix them (use the "
                "journal's --seed / --pairs or another --journal)\n",
                r->journal, hex, pairs, want, r->pairs);
        return EXIT_USAGE;
    }
    if (pairs < 0 || pairs > MAX_PAIRS) {
        fprintf(stderr, "%s: bad pair count %ld in header\n", r->journal,
                pairs);
        return EXIT_USAGE;
    }
    memcpy(r->seed, seed, 16);
    r->pairs = pairs;
    return 0;
}

size_t fp_width_index(unsigned w)
{
    size_t wi = 0;

    while (wi < NW && fp_widths[wi] != w)
        wi++;
    return wi;
}

/* Parses one result line and checks it against a recomputation of its
 * operands and expected value. Returns 0 and fills *it and *fail, or -1
 * for a malformed or foreign line. */
static int parse_line(const struct runner *r, const char *line,
                      struct item *it, int *fail, double *ms)
{
    char opn[24], got[32], st[8];
    unsigned w;
    unsigned long idx;
    unsigned long long x, y, e, g;
    uint64_t ex, ey;
    int n = -1;
    enum fhe_op op;
    size_t wi;

    if (sscanf(line, "%23s %u %lu %llu %llu %llu %31s %7s %lf%n", opn, &w,
               &idx, &x, &y, &e, got, st, ms, &n) != 9 ||
        (size_t)n != strlen(line))
        return -1;
    op = fhe_op_by_name(opn);
    wi = fp_width_index(w);
    if (op == NOPS || wi == NW || (w == 1 && !fhe_op_is_bool(op)) ||
        idx >= fp_group_items(r, wi) ||
        fp_operands(r, op, w, (uint32_t)idx, &ex, &ey) != 0 || ex != x ||
        ey != y || expect(op, x, y, w) != e)
        return -1;
    if (strcmp(st, "ok") == 0) {
        if (sscanf(got, "%llu", &g) != 1 || g != e)
            return -1;
        *fail = 0;
    } else if (strcmp(st, "FAIL") == 0) {
        *fail = 1;
    } else {
        return -1;
    }
    it->op = (uint8_t)op;
    it->wi = (uint8_t)wi;
    it->index = (uint32_t)idx;
    return 0;
}

/* Records a finished item in the status map and group counts (mu held or
 * single-threaded). A repeated item counts once; FAIL wins. */
void fp_record(struct runner *r, const struct item *it, int fail, double ms)
{
    uint8_t *s = &r->status[fp_slot(r, it->wi, (enum fhe_op)it->op,
                                 it->index)];
    struct group *g = &r->groups[it->wi][it->op];

    if (*s == 0) {
        if (it->index < NEDGES || fp_widths[it->wi] == 1)
            g->edge_done++;
        else
            g->rand_done++;
        g->ms_sum += ms;
    }
    if (fail && *s != 2)
        g->fails++;
    if (*s != 2)
        *s = (uint8_t)(fail ? 2 : 1);
}

/* Reads the journal text buf[0..len): header, then result lines. Sets
 * *keep to the length of the complete lines (a torn tail is dropped).
 * Returns 0, EXIT_USAGE or EXIT_ERROR. */
static int load_text(struct runner *r, char *buf, size_t len, size_t *keep)
{
    size_t pos = 0, lineno = 0;
    int rc = 0;

    *keep = len;
    while (pos < len && rc == 0) {
        char *nl = memchr(buf + pos, '\n', len - pos);
        struct item it;
        double ms;
        int fail;

        if (nl == NULL) {
            fprintf(stderr, "%s: ignoring torn last line \"%.*s\"\n",
                    r->journal, (int)(len - pos > 60 ? 60 : len - pos),
                    buf + pos);
            *keep = pos;
            break;
        }
        *nl = '\0';
        if (lineno++ == 0) {
            rc = check_header(r, buf + pos);
            if (rc == 0) {
                r->status = amaters_calloc((size_t)NW * NOPS,
                                           NEDGES + (size_t)r->pairs);
                rc = r->status == NULL ? EXIT_ERROR : 0;
            }
        } else if (buf[pos] != '#' &&
                   parse_line(r, buf + pos, &it, &fail, &ms) == 0) {
            fp_record(r, &it, fail, ms);
        } else if (buf[pos] != '#' && r->bad_lines++ < 5) {
            fprintf(stderr, "%s:%zu: ignoring malformed line \"%.60s\"\n",
                    r->journal, lineno, buf + pos);
        }
        pos = (size_t)(nl - buf) + 1;
    }
    return rc;
}

static int read_all(int fd, char **out, size_t *len)
{
    struct stat st;
    char *buf;
    size_t got = 0;

    *out = NULL;
    if (fstat(fd, &st) != 0)
        return -1;
    buf = amaters_malloc((size_t)st.st_size + 1);
    if (buf == NULL)
        return -1;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

        if (n <= 0) {
            amaters_free(buf);
            return -1;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

/* Writes the header of a new journal and syncs file and directory. */
static int write_header(struct runner *r)
{
    char line[128], hex[33], dir[4096];
    const char *slash = strrchr(r->journal, '/');
    int n, dfd;

    seed_hex(r->seed, hex);
    n = snprintf(line, sizeof line, "# amaters-fhe-pairs seed=%s pairs=%ld\n",
                 hex, r->pairs);
    if (write(r->fd, line, (size_t)n) != n || fdatasync(r->fd) != 0)
        return -1;
    snprintf(dir, sizeof dir, "%.*s",
             slash == NULL ? 1 : (int)(slash - r->journal + 1),
             slash == NULL ? "." : r->journal);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* Opens (run: creates and locks) the journal and loads it. Returns 0,
 * EXIT_USAGE, EXIT_INCOMPLETE (summary of a missing journal) or
 * EXIT_ERROR. */
int fp_journal_open(struct runner *r)
{
    char *buf = NULL;
    size_t len = 0, keep = 0;
    int rc = EXIT_ERROR;

    r->fd = open(r->journal, r->summary ? O_RDONLY | O_CLOEXEC
                 : O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (r->fd < 0) {
        fprintf(stderr, "%s: %s\n", r->journal, strerror(errno));
        return r->summary && errno == ENOENT ? EXIT_INCOMPLETE : EXIT_ERROR;
    }
    if (!r->summary && flock(r->fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "%s: in use by another amaters-fhe-pairs\n",
                r->journal);
        return EXIT_USAGE;
    }
    if (read_all(r->fd, &buf, &len) != 0)
        goto io_error;
    rc = load_text(r, buf, len, &keep);
    if (rc == 0 && keep < len && !r->summary && ftruncate(r->fd, (off_t)keep))
        goto io_error;
    if (rc == 0 && keep == 0 && r->summary) {
        fprintf(stderr, "%s: empty journal\n", r->journal);
        rc = EXIT_INCOMPLETE;
    } else if (rc == 0 && keep == 0) {     /* new, or only a torn header */
        r->status = amaters_calloc((size_t)NW * NOPS,
                                   NEDGES + (size_t)r->pairs);
        if (r->status == NULL || write_header(r) != 0)
            goto io_error;
    }
    goto out;
io_error:
    fprintf(stderr, "%s: %s\n", r->journal, strerror(errno));
    rc = EXIT_ERROR;
out:
    amaters_free(buf);
    return rc;
}

/* Appends one result line (mu held); syncs when SYNC_MS have passed. */
void fp_journal_append(struct runner *r, const struct item *it, uint64_t x,
                       uint64_t y, uint64_t e, const char *got, int fail,
                       double ms)
{
    char line[256];
    int n;

    n = snprintf(line, sizeof line, "%s %u %" PRIu32 " %" PRIu64 " %" PRIu64
                 " %" PRIu64 " %s %s %.1f\n", op_names[it->op],
                 fp_widths[it->wi], it->index, x, y, e, got,
                 fail ? "FAIL" : "ok", ms);
    if (write(r->fd, line, (size_t)n) != n) {
        fprintf(stderr, "%s: write: %s\n", r->journal, strerror(errno));
        r->err = AMATERS_EIO;
        r->stop = 1;
        return;
    }
    if (amaters_now_ms() - r->last_sync_ms >= SYNC_MS) {
        r->last_sync_ms = amaters_now_ms();
        if (fdatasync(r->fd) != 0) {
            r->err = AMATERS_EIO;
            r->stop = 1;
        }
    }
}
