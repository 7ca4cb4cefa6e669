/*
 * qmetrics.c - metrics owned by the query layer.
 */
#include "query/internal.h"

#include "obs/metrics.h"

void q_metrics_corrupt(void)
{
    /* Looked up each time (corruption is rare): a cached pointer would
     * dangle after amaters_metrics_reset() in tests. */
    struct amaters_metric *m = amaters_metrics_simple(AMATERS_METRIC_COUNTER,
                                   "amaters_storage_corruption_total",
                                   "Stored records that failed CRC or format "
                                   "verification on read");
    if (m)
        amaters_counter_add(m, 1);
}
