/* metrics.h - the operator's Prometheus endpoint: a plain-HTTP listener
 * (libevent's evhttp) on cfg->metrics_listen serving GET /metrics in the
 * Prometheus text exposition format. Off unless metrics_listen is set.
 * Loop thread only.
 */
#ifndef MAILLAGE_METRICS_H
#define MAILLAGE_METRICS_H

#include <stddef.h>

struct server;
struct metrics;

/* Bind srv->cfg->metrics_listen and serve /metrics from srv's loop. On
 * failure returns an ML_E* code with a message in err. */
int metrics_start(struct server *srv, struct metrics **out, char *err, size_t errlen);

/* Close the listener and its connections; m may be NULL. */
void metrics_free(struct metrics *m);

#endif
