/* watch.c - `maillage watch`: a subscription printed line by line, its
 * position kept in a file so that a restarted watch resumes where it stopped.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_json.h"
#include "mlsub.h"
#include "watch.h"

#define WATCH_EXIT_FILE 1
#define WATCH_EXIT_FAILED 2
#define WATCH_STOP_COUNT 1
#define WATCH_STOP_FILE 2
#define WATCH_STOP_OUTPUT 3

struct watch {
	const struct watch_opts *w;
	uint64_t seen;
	char tmp[4096];
};

/* Read the position file: 0 with *pos set, 1 when it does not exist, -1
 * when it cannot be read or does not hold a position. */
static int load_position(const char *path, uint64_t *pos)
{
	char buf[32], *end;
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return errno == ENOENT ? 1 : -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	if (ferror(f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[n] = 0;
	errno = 0;
	*pos = strtoull(buf, &end, 10);
	if (end == buf || (*end && *end != '\n') || errno) {
		errno = 0;           /* read, but not a position */
		return -1;
	}
	return 0;
}

static int save_position(struct watch *wt, uint64_t pos)
{
	FILE *f;

	if (!wt->w->position_file)
		return 0;
	f = fopen(wt->tmp, "w");
	if (!f || fprintf(f, "%" PRIu64 "\n", pos) < 0 || fclose(f) ||
	    rename(wt->tmp, wt->w->position_file)) {
		fprintf(stderr, "maillage: cannot write position file '%s': %s\n",
			wt->w->position_file, strerror(errno));
		return WATCH_STOP_FILE;
	}
	return 0;
}

static int on_event(void *arg, const Maillage__V1__Event *ev)
{
	struct watch *wt = arg;

	if (wt->w->json)
		cli_json_print(stdout, &ev->base);
	else
		wt->w->print_event(ev);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "maillage: cannot write the output: %s\n", strerror(errno));
		return WATCH_STOP_OUTPUT;
	}
	if (save_position(wt, ev->position))
		return WATCH_STOP_FILE;
	if (wt->w->count && ++wt->seen >= wt->w->count)
		return WATCH_STOP_COUNT;
	return 0;
}

static int on_position(void *arg, uint64_t pos)
{
	return save_position(arg, pos);
}

static void on_state(void *arg, const char *what)
{
	(void)arg;
	fprintf(stderr, "maillage: %s\n", what);
}

int watch_run(const struct mlc_opts *conn, const Maillage__V1__Subscribe *filter,
	      const struct watch_opts *w)
{
	Maillage__V1__Subscribe resumed = *filter;
	struct watch wt = { .w = w };
	struct mlc_sub_opts o = { .conn = *conn, .filter = filter, .on_event = on_event,
				  .on_position = on_position, .on_state = on_state, .arg = &wt };
	uint64_t pos = filter->from_position;
	char err[640];
	int rc;

	if (w->position_file) {
		errno = 0;
		rc = load_position(w->position_file, &pos);
		if (rc < 0) {
			fprintf(stderr, "maillage: position file '%s' %s%s\n", w->position_file,
				errno ? "cannot be read: " : "does not hold a position",
				errno ? strerror(errno) : "");
			return WATCH_EXIT_FILE;
		}
		if (rc == 0) {
			resumed.from_now = false;     /* resuming: the file says where */
			o.filter = &resumed;
		}
		snprintf(wt.tmp, sizeof(wt.tmp), "%s.tmp", w->position_file);
	}
	rc = mlc_subscribe(&o, &pos, err, sizeof(err));
	if (rc == WATCH_STOP_COUNT)
		return 0;
	if (rc == WATCH_STOP_FILE)
		return WATCH_EXIT_FILE;
	if (rc == WATCH_STOP_OUTPUT)
		return WATCH_EXIT_FAILED;
	fprintf(stderr, "maillage: %s\n", err);
	return WATCH_EXIT_FAILED;
}
