/* fleet.c - the event loop of the benchmark's subscribers: its setup and
 * release, the pace at which connections start, and its timers (the Pings
 * that keep subscribers alive, the phase's tick).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/util.h>

#include "fleet.h"

#define BENCH_TICK_MS 100                 /* how often the loop looks around */
#define BENCH_CONNECT_PARALLEL 64         /* handshakes under way at once */

/* Every half heartbeat: a Ping on each live connection, so that the server,
 * which drops subscribers silent for three heartbeats, keeps them. */
static void fleet_on_ping_timer(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *fl = arg;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < fl->n_subs; i++)
		if (fl->subs[i].state == SUBC_LIVE)
			subc_send_ping(&fl->subs[i]);
}

/* Every BENCH_TICK_MS: the phase looks around. */
static void fleet_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *fl = arg;

	(void)fd;
	(void)what;
	if (fl->on_tick)
		fl->on_tick(fl);
}

void fleet_launch(struct fleet *fl)
{
	while (fl->next_start < fl->n_subs && fl->connecting < BENCH_CONNECT_PARALLEL)
		subc_connect(&fl->subs[fl->next_start++]);
	if (fl->next_start < fl->n_subs || fl->connecting > 0 || fl->failed)
		return;
	if (fl->on_settled && !fl->settled) {
		fl->settled = true;
		fl->on_settled(fl);
	} else if (fl->live == 0) {
		event_base_loopbreak(fl->base);     /* every subscriber is gone */
	}
}

int fleet_init(struct fleet *fl, const struct bench_opts *o, enum fleet_mode mode,
	       size_t n_subs)
{
	char host[128];

	fl->o = o;
	fl->mode = mode;
	if (bench_parse_addr(o->addr, &fl->addr, &fl->addrlen, host, sizeof(host)))
		return -1;
	fl->ctx = bench_tls_ctx_new(o->ca, o->subscriber_cert, o->subscriber_key, host);
	if (!fl->ctx)
		return -1;
	fl->base = event_base_new();
	fl->n_subs = n_subs;
	fl->subs = calloc(fl->n_subs, sizeof(*fl->subs));
	if (fl->base) {
		fl->tick_ev = event_new(fl->base, -1, EV_PERSIST, fleet_on_tick, fl);
		fl->ping_ev = event_new(fl->base, -1, EV_PERSIST, fleet_on_ping_timer, fl);
	}
	if (!fl->subs || !fl->tick_ev || !fl->ping_ev ||
	    event_add(fl->tick_ev, &(struct timeval){ .tv_usec = BENCH_TICK_MS * 1000 })) {
		fprintf(stderr, PROG ": cannot set up the event loop\n");
		return -1;
	}
	for (size_t i = 0; i < fl->n_subs; i++) {
		fl->subs[i].fl = fl;
		fl->subs[i].index = i;
	}
	return 0;
}

void fleet_release(struct fleet *fl)
{
	for (size_t i = 0; fl->subs && i < fl->n_subs; i++)
		subc_close(&fl->subs[i]);
	free(fl->subs);
	if (fl->tick_ev)
		event_free(fl->tick_ev);
	if (fl->ping_ev)
		event_free(fl->ping_ev);
	if (fl->base)
		event_base_free(fl->base);
	bench_tls_ctx_free(fl->ctx);
	samples_release(&fl->delivery);
}
