/* subc.c - one subscriber of the fleet: its connection, its Subscribe, the
 * frames it receives (notifications, heartbeats, pongs) and its Pings; every
 * change of its state (the diagram is in fleet.h).
 */
#include <inttypes.h>
#include <stdio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "fleet.h"

#define SUBSCRIBE_ID 1                    /* request_id of every Subscribe */

/* Each change of state goes through here, which keeps the counts. */
static void subc_set_state(struct subc *s, enum subc_state next)
{
	struct fleet *fl = s->fl;

	if (s->state == SUBC_CONNECTING || s->state == SUBC_SUBSCRIBING)
		fl->connecting--;
	else if (s->state == SUBC_LIVE)
		fl->live--;
	s->state = next;
	if (next == SUBC_CONNECTING || next == SUBC_SUBSCRIBING)
		fl->connecting++;
	else if (next == SUBC_LIVE)
		fl->live++;
	else if (next == SUBC_GONE)
		fl->gone++;
}

/* Give up on s (freed with the others at the end); the first reasons are shown. */
static void subc_gone(struct subc *s, const char *why)
{
	if (s->state == SUBC_GONE)
		return;
	if (s->fl->reasons_shown++ < 5)
		fprintf(stderr, PROG ": subscriber %zu: %s\n", s->index, why);
	if (s->bev)
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
	subc_set_state(s, SUBC_GONE);
	if (s->fl->mode == FLEET_CATCHUP)
		event_base_loopbreak(s->fl->base);
}

void subc_send_ping(struct subc *s)
{
	Maillage__V1__Ping ping = MAILLAGE__V1__PING__INIT;
	mlc_request req = MAILLAGE__V1__REQUEST__INIT;

	req.request_id = s->next_id++;
	req.body_case = MAILLAGE__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	if (bench_frame_send(s->bev, &req))
		subc_gone(s, "cannot queue a ping");
	s->fl->pings++;
}

/* Catch-up: every event up to position was delivered; stop at the head. */
static void subc_reached(struct subc *s, uint64_t position)
{
	struct fleet *fl = s->fl;

	if (fl->mode == FLEET_CATCHUP && position >= fl->head && !fl->caught_up_us) {
		fl->caught_up_us = bench_mono_us();
		event_base_loopbreak(fl->base);
	}
}

static void subc_subscribed(struct subc *s, const mlc_response *resp)
{
	struct fleet *fl = s->fl;
	char why[300];

	if (!resp_ok(resp) || resp->result_case != MAILLAGE__V1__RESPONSE__RESULT_SUBSCRIBED) {
		snprintf(why, sizeof(why), "subscribe refused: %s", resp_message(resp));
		subc_gone(s, why);
		return;
	}
	s->position = resp->subscribed->from_position;
	fl->head = resp->subscribed->head_position;
	subc_set_state(s, SUBC_LIVE);
	if (!event_pending(fl->ping_ev, EV_TIMEOUT, NULL)) {
		uint32_t ms = resp->subscribed->heartbeat_ms / 2;
		struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

		if (ms < 100)
			tv = (struct timeval){ .tv_usec = 100000 };
		event_add(fl->ping_ev, &tv);
	}
	subc_reached(s, s->position);
}

static void subc_notified(struct subc *s, const Maillage__V1__EventNotification *n)
{
	struct fleet *fl = s->fl;
	int64_t now = bench_wall_us();

	if (!n || !n->event)
		return;
	if (n->event->position <= s->position)
		fl->disorder++;          /* out of order */
	if (fl->mode == FLEET_CATCHUP && n->event->position != s->position + 1)
		fl->disorder++;          /* a gap: every event is of the platform */
	s->position = n->event->position;
	fl->notifications++;
	if (fl->mode == FLEET_CATCHUP) {
		subc_reached(s, s->position);
	} else if (samples_add(&fl->delivery, now - n->event->recorded_at)) {
		fprintf(stderr, PROG ": out of memory for the latency samples\n");
		fl->failed = true;
		event_base_loopbreak(fl->base);
	}
}

/* One frame from the server on subscriber s. */
static void subc_handle(struct subc *s, const mlc_response *resp)
{
	char why[300];

	if (s->state == SUBC_SUBSCRIBING) {
		subc_subscribed(s, resp);
		return;
	}
	switch (resp->result_case) {
	case MAILLAGE__V1__RESPONSE__RESULT_NOTIFICATION:
		subc_notified(s, resp->notification);
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_HEARTBEAT:
		s->fl->heartbeats++;
		if (resp->heartbeat->position > s->position)
			s->position = resp->heartbeat->position;
		subc_reached(s, s->position);
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_ENDED:
		snprintf(why, sizeof(why), "subscription ended by the server: %s",
			 resp_message(resp));
		subc_gone(s, why);
		break;
	default:
		if (!resp_ok(resp)) {
			snprintf(why, sizeof(why), "request %" PRIu64 " refused: %s",
				 resp->request_id, resp_message(resp));
			subc_gone(s, why);
		}
		break;  /* a Pong */
	}
}

static void subc_on_read(struct bufferevent *bev, void *arg)
{
	struct subc *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	bool was_subscribing = s->state == SUBC_SUBSCRIBING;
	mlc_response *resp;
	bool bad = false;

	while (s->state != SUBC_GONE && (resp = bench_frame_next(in, &bad))) {
		subc_handle(s, resp);
		maillage__v1__response__free_unpacked(resp, NULL);
	}
	if (bad)
		subc_gone(s, "the server sent a frame over 64 MiB or not a maillage.v1.Response");
	if (was_subscribing && s->state != SUBC_SUBSCRIBING)
		fleet_launch(s->fl);
}

static void subc_subscribe(struct subc *s)
{
	Maillage__V1__Subscribe sub = MAILLAGE__V1__SUBSCRIBE__INIT;
	mlc_request req = MAILLAGE__V1__REQUEST__INIT;

	bench_nodelay(s->bev);
	sub.from_now = s->fl->mode == FLEET_LATENCY;
	sub.platform = (char *)s->fl->o->platform;
	req.request_id = SUBSCRIBE_ID;
	req.body_case = MAILLAGE__V1__REQUEST__BODY_SUBSCRIBE;
	req.subscribe = &sub;
	s->next_id = SUBSCRIBE_ID + 1;
	if (bench_frame_send(s->bev, &req) || bufferevent_enable(s->bev, EV_READ | EV_WRITE)) {
		subc_gone(s, "cannot queue the subscription");
		return;
	}
	s->fl->subscribe_us = bench_mono_us();
	subc_set_state(s, SUBC_SUBSCRIBING);
}

static void subc_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct subc *s = arg;
	char why[300];

	if (s->state == SUBC_GONE)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		subc_subscribe(s);
	} else if (s->state == SUBC_CONNECTING) {
		char reason[200];

		bench_tls_describe_end(bev, what, reason, sizeof(reason));
		snprintf(why, sizeof(why), "cannot connect (refused, or the tls handshake "
			 "failed): %s", reason);
		subc_gone(s, why);
	} else {
		bench_tls_describe_end(bev, what, why, sizeof(why));
		subc_gone(s, why);
	}
	if (s->state == SUBC_GONE)
		fleet_launch(s->fl);
}

int subc_connect(struct subc *s)
{
	struct fleet *fl = s->fl;
	const char *why;

	s->bev = bench_tls_bufferevent_new(fl->base, fl->ctx, &why);
	if (!s->bev) {
		subc_gone(s, why);
		return -1;
	}
	bufferevent_setcb(s->bev, subc_on_read, NULL, subc_on_event, s);
	subc_set_state(s, SUBC_CONNECTING);
	if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&fl->addr, fl->addrlen)) {
		subc_gone(s, "cannot connect");
		return -1;
	}
	return 0;
}

void subc_close(struct subc *s)
{
	if (!s->bev)
		return;
	if (s->state == SUBC_SUBSCRIBING || s->state == SUBC_LIVE)
		bench_tls_shutdown(s->bev);
	bufferevent_free(s->bev);
	s->bev = NULL;
}
