/* idle.c - maillage-bench --idle N: N connections that finish their
 * handshake, say hello (one Ping) and then stay quiet for o->hold_s seconds;
 * the server's memory before, with them open, and after they close.
 */
#include <inttypes.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bench.h"

#define IDLE_SETTLE_S 1            /* after closing, before the last look */

static void idle_on_settled(struct pool *p)
{
	event_base_loopbreak(p->base);
}

static void idle_on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Run p's loop for secs seconds (the connections stay served). */
static int idle_wait(struct pool *p, uint64_t secs)
{
	struct event *t = evtimer_new(p->base, idle_on_timer, p->base);
	int rc = -1;

	if (t && !evtimer_add(t, &(struct timeval){ .tv_sec = (time_t)secs }))
		rc = event_base_dispatch(p->base) < 0 ? -1 : 0;
	if (t)
		event_free(t);
	return rc;
}

int idle_run(const struct bench_opts *o)
{
	const unsigned share[3] = { 1, 1, (unsigned)o->n_partners };
	struct server_watch w = { 0 };
	struct server_snap before = { 0 }, open = { 0 }, after = { 0 };
	struct pool p = { 0 };
	size_t held = 0;
	int rc = 1;

	printf("== idle: %" PRIu64 " connections, held %" PRIu64 " s\n", o->idle, o->hold_s);
	if (server_watch_open(&w, o) || server_snap_take(&w, &before))
		goto out;
	if (pool_init(&p, o, o->idle, 1, share))
		goto out;
	p.hooks.on_settled = idle_on_settled;
	p.connect_start_us = bench_mono_us();
	pool_launch(&p);
	if (!p.settled && event_base_dispatch(p.base) < 0)
		goto out;
	printf("connections            %zu ready after %.1f s (%zu failed)\n", p.ready,
	       bench_seconds_between(p.connect_start_us, p.settled_us), p.gone);
	if (idle_wait(&p, o->hold_s))
		goto out;
	held = p.ready;
	if (server_snap_take(&w, &open))
		goto out;
	printf("held                   %zu still open after %" PRIu64 " s\n", held, o->hold_s);
	server_print_memory(&before, &open, held);
	pool_release(&p);
	p = (struct pool){ 0 };
	sleep(IDLE_SETTLE_S);
	if (server_snap_take(&w, &after) == 0) {
		printf("after closing          rss %.1f MiB", (double)server_rss_bytes(&after) /
		       (1024.0 * 1024.0));
		if (after.counted)
			printf(", %" PRIu32 " connections open", after.c->connections);
		printf(" (freed memory is not always given back to the system)\n");
	}
	printf("maillage idle connections: %zu, server rss: %.0f MiB\n", held,
	       (double)server_rss_bytes(&open) / (1024.0 * 1024.0));
	rc = held == o->idle ? 0 : 1;
out:
	pool_release(&p);
	server_snap_release(&before);
	server_snap_release(&open);
	server_snap_release(&after);
	server_watch_close(&w);
	return rc;
}
