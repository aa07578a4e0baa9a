/* watch.h - `maillage watch`: print events as they commit, resuming from a
 * position file. */
#ifndef MAILLAGE_WATCH_H
#define MAILLAGE_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "mlclient.h"

struct watch_opts {
	const char *position_file;  /* NULL: start at filter->from_position, keep none */
	uint64_t count;             /* stop after this many events; 0 = never */
	bool json;                  /* one JSON object (the Event) per line */
	void (*print_event)(const Maillage__V1__Event *ev);  /* the human line */
};

/* Follow the log with filter (mlc_subscribe() in mlsub.h) and print each
 * event on stdout, then record its position in the position file (written to
 * FILE.tmp, then renamed: the file always holds a whole position). The file,
 * when it exists, says where to resume; otherwise filter->from_position does.
 * Returns 0 (count reached), 1 for a position file that cannot be read or
 * written, 2 when the subscription fails or stdout cannot be written
 * (message on stderr). */
int watch_run(const struct mlc_opts *conn, const Maillage__V1__Subscribe *filter,
	      const struct watch_opts *w);

#endif
