/* metrics.c - GET /metrics (see metrics.h). */
#include <stdio.h>

#include "err.h"
#include "metrics.h"

int metrics_start(struct server *srv, struct metrics **out, char *err, size_t errlen)
{
	(void)srv;
	*out = NULL;
	snprintf(err, errlen, "metrics_listen: the metrics listener is not built yet");
	return ML_ECONFIG;
}

void metrics_free(struct metrics *m)
{
	(void)m;
}
