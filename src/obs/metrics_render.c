/*
 * metrics_render.c - collectors (callbacks that refresh gauges just before
 * a scrape) and the Prometheus text exposition, format 0.0.4:
 *
 *   # HELP name help text (\\ and \n escaped)
 *   # TYPE name counter|gauge|histogram
 *   name{label="value"} 1
 *   hist_bucket{label="value",le="0.1"} 3       (cumulative)
 *   hist_bucket{label="value",le="+Inf"} 4
 *   hist_sum{label="value"} 0.52
 *   hist_count{label="value"} 4
 *
 * A histogram's count is rendered as the sum of its buckets read in the
 * same pass, so _count always equals the +Inf bucket even while other
 * threads observe.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "obs/metrics_internal.h"
#include "obs/textbuf.h"

#define MAX_COLLECTORS 64

struct collector {
    void (*cb)(void *arg);
    void *arg;
};

/* Guarded by coll_mu, which is also held while collectors run. */
static pthread_mutex_t coll_mu = PTHREAD_MUTEX_INITIALIZER;
static struct collector collectors[MAX_COLLECTORS];
static size_t ncollectors;

int amaters_metrics_add_collector(void (*cb)(void *arg), void *arg)
{
    int rv = 0;

    if (cb == NULL)
        return AMATERS_EINVAL;
    pthread_mutex_lock(&coll_mu);
    for (size_t i = 0; i < ncollectors; i++) {
        if (collectors[i].cb == cb && collectors[i].arg == arg) {
            rv = AMATERS_EEXISTS;
            goto out;
        }
    }
    if (ncollectors == MAX_COLLECTORS) {
        rv = AMATERS_ETOOBIG;
        goto out;
    }
    collectors[ncollectors].cb = cb;
    collectors[ncollectors].arg = arg;
    ncollectors++;
out:
    pthread_mutex_unlock(&coll_mu);
    return rv;
}

int amaters_metrics_remove_collector(void (*cb)(void *arg), void *arg)
{
    int rv = AMATERS_ENOTFOUND;

    pthread_mutex_lock(&coll_mu);
    for (size_t i = 0; i < ncollectors; i++) {
        if (collectors[i].cb == cb && collectors[i].arg == arg) {
            memmove(&collectors[i], &collectors[i + 1],
                    (ncollectors - i - 1) * sizeof collectors[0]);
            ncollectors--;
            rv = 0;
            break;
        }
    }
    pthread_mutex_unlock(&coll_mu);
    return rv;
}

void obs_metrics_collectors_clear(void)
{
    pthread_mutex_lock(&coll_mu);
    ncollectors = 0;
    pthread_mutex_unlock(&coll_mu);
}

static void run_collectors(void)
{
    pthread_mutex_lock(&coll_mu);
    for (size_t i = 0; i < ncollectors; i++)
        collectors[i].cb(collectors[i].arg);
    pthread_mutex_unlock(&coll_mu);
}

char *amaters_metrics_format_double(double v, char *buf, size_t len)
{
    if (isnan(v))
        snprintf(buf, len, "NaN");
    else if (isinf(v))
        snprintf(buf, len, "%s", v > 0 ? "+Inf" : "-Inf");
    else if (v == 0)
        snprintf(buf, len, "0");
    else if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
        snprintf(buf, len, "%lld", (long long)v);
    else {
        snprintf(buf, len, "%.15g", v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, len, "%.17g", v);
    }
    return buf;
}

/* Help text: backslash and newline escaped. */
static void put_help(struct obs_textbuf *tb, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            obs_tb_puts(tb, "\\\\");
        else if (*s == '\n')
            obs_tb_puts(tb, "\\n");
        else
            obs_tb_putc(tb, *s);
    }
}

/* Label value: backslash, quote and newline escaped; invalid UTF-8
 * replaced by U+FFFD so parsers accept the text. */
static void put_label_value(struct obs_textbuf *tb, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);

    while (n > 0) {
        size_t seq = 1;

        if (*p == '\\')
            obs_tb_puts(tb, "\\\\");
        else if (*p == '"')
            obs_tb_puts(tb, "\\\"");
        else if (*p == '\n')
            obs_tb_puts(tb, "\\n");
        else if (*p < 0x80)
            obs_tb_putc(tb, (char)*p);
        else {
            seq = obs_utf8_seq_len(p, n);
            if (seq == 0) {
                obs_tb_puts(tb, "\xEF\xBF\xBD");
                seq = 1;
            } else {
                obs_tb_append(tb, (const char *)p, seq);
            }
        }
        p += seq;
        n -= seq;
    }
}

/* Writes {a="x",b="y"} (plus le="..." when le is not NULL); nothing for
 * an unlabeled series without le. */
static void put_labels(struct obs_textbuf *tb,
                       const struct amaters_metric *m, const char *le)
{
    const struct amaters_metric_family *f = m->family;

    if (f->nlabels == 0 && le == NULL)
        return;
    obs_tb_putc(tb, '{');
    for (size_t i = 0; i < f->nlabels; i++) {
        if (i > 0)
            obs_tb_putc(tb, ',');
        obs_tb_printf(tb, "%s=\"", f->label_names[i]);
        put_label_value(tb, m->label_values[i]);
        obs_tb_putc(tb, '"');
    }
    if (le != NULL)
        obs_tb_printf(tb, "%sle=\"%s\"", f->nlabels > 0 ? "," : "", le);
    obs_tb_putc(tb, '}');
}

static void put_histogram(struct obs_textbuf *tb,
                          const struct amaters_metric *m)
{
    const struct amaters_metric_family *f = m->family;
    uint64_t cumulative = 0;
    char num[40];

    for (size_t i = 0; i <= f->nbounds; i++) {
        cumulative +=
            atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
        obs_tb_printf(tb, "%s_bucket", f->name);
        put_labels(tb, m,
                   i < f->nbounds ? amaters_metrics_format_double(
                                        f->bounds[i], num, sizeof num)
                                  : "+Inf");
        obs_tb_printf(tb, " %" PRIu64 "\n", cumulative);
    }
    obs_tb_printf(tb, "%s_sum", f->name);
    put_labels(tb, m, NULL);
    obs_tb_printf(tb, " %s\n", amaters_metrics_format_double(
                                   amaters_metric_value(m), num, sizeof num));
    obs_tb_printf(tb, "%s_count", f->name);
    put_labels(tb, m, NULL);
    obs_tb_printf(tb, " %" PRIu64 "\n", cumulative);
}

static void put_family(struct obs_textbuf *tb,
                       const struct amaters_metric_family *f)
{
    static const char *const type_names[] = {"counter", "gauge",
                                             "histogram"};
    char num[40];

    obs_tb_printf(tb, "# HELP %s", f->name);
    if (f->help[0] != '\0') {
        obs_tb_putc(tb, ' ');
        put_help(tb, f->help);
    }
    obs_tb_printf(tb, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
    for (size_t i = 0; i < f->nchildren; i++) {
        const struct amaters_metric *m = f->children[i];

        if (f->type == AMATERS_METRIC_HISTOGRAM) {
            put_histogram(tb, m);
            continue;
        }
        obs_tb_puts(tb, f->name);
        put_labels(tb, m, NULL);
        obs_tb_printf(tb, " %s\n", amaters_metrics_format_double(
                                       amaters_metric_value(m), num,
                                       sizeof num));
    }
}

int amaters_metrics_render(char **out, size_t *len)
{
    struct amaters_metric_family *const *fams;
    struct obs_textbuf tb;
    size_t n;

    run_collectors();
    obs_tb_init(&tb, AMATERS_METRICS_MAX_RENDER);
    obs_metrics_lock();
    fams = obs_metrics_families(&n);
    for (size_t i = 0; i < n && tb.err == 0; i++)
        put_family(&tb, fams[i]);
    obs_metrics_unlock();
    return obs_tb_take(&tb, out, len);
}
