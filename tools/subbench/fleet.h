/* fleet.h - the subscribers of maillage-subbench: non-blocking connections on
 * one libevent loop (a fleet), which either follow the log from now while the
 * producer sends (latency) or read it from position 0 up to its head
 * (catch-up). fleet.c runs the loop, subc.c speaks for one connection;
 * ../benchlib/benchnet.h has their TLS and frames. Each connection:
 *
 *   IDLE -> CONNECTING -> SUBSCRIBING -> LIVE
 *              \______________\____________\____> GONE
 *
 * Everything here runs on the thread that dispatches fl->base.
 */
#ifndef MAILLAGE_SUBBENCH_FLEET_H
#define MAILLAGE_SUBBENCH_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bench.h"
#include "../benchlib/benchnet.h"

struct bufferevent;
struct event;
struct event_base;
struct ssl_ctx_st;

enum subc_state {
	SUBC_IDLE,          /* not started */
	SUBC_CONNECTING,    /* TCP connect and TLS handshake under way */
	SUBC_SUBSCRIBING,   /* Subscribe sent, Subscribed not yet received */
	SUBC_LIVE,          /* subscribed: notifications arrive, Pings go out */
	SUBC_GONE,          /* failed, refused or disconnected; bev disabled */
};

struct fleet;

/* One subscriber connection; its state changes only in subc.c. */
struct subc {
	struct fleet *fl;
	struct bufferevent *bev;   /* owns its SSL and socket */
	enum subc_state state;
	size_t index;
	uint64_t next_id;          /* request_id of the next Ping */
	uint64_t position;         /* of the last notification */
};

enum fleet_mode {
	FLEET_LATENCY,      /* from now; a latency sample per notification */
	FLEET_CATCHUP,      /* from position 0 until the head of the log */
};

struct fleet {
	const struct bench_opts *o;
	enum fleet_mode mode;
	struct event_base *base;
	struct ssl_ctx_st *ctx;
	struct sockaddr_storage addr;
	int addrlen;
	struct subc *subs;
	size_t n_subs;
	size_t next_start;         /* subs[] started so far */
	size_t connecting, live, gone;
	struct event *tick_ev;
	struct event *ping_ev;     /* added at the first Subscribed */
	int64_t connect_start_us;  /* set by the phase before fleet_launch */
	bool settled;              /* on_settled was called */
	bool failed;
	struct samples delivery;
	uint64_t notifications, heartbeats, pings, disorder;
	unsigned reasons_shown;
	/* catch-up */
	uint64_t head;             /* the head of the log when subscribed */
	int64_t subscribe_us, caught_up_us;
	/* The phase's hooks, set before fleet_launch (NULL: none). on_settled runs
	 * once, when every subscriber has started and none is still connecting
	 * (unless the fleet failed first); on_tick every BENCH_TICK_MS. */
	void (*on_settled)(struct fleet *fl);
	void (*on_tick)(struct fleet *fl);
	void *phase;               /* the phase's own state, for its hooks */
};

/* ------------------------------------------------------------------------- */
/* The fleet (fleet.c). */

/* Set up fl, zeroed by the caller, for n_subs subscribers in mode: the
 * server's address from o->addr (numeric), the subscriber's TLS context, the
 * event loop and its timers. 0, or -1 after printing why; fleet_release()
 * in both cases. */
int fleet_init(struct fleet *fl, const struct bench_opts *o, enum fleet_mode mode,
	       size_t n_subs);

/* Keep BENCH_CONNECT_PARALLEL handshakes going until every subscriber has
 * started; once all are settled, call on_settled the first time, and later
 * stop the loop when no subscriber is live. Called again by subc.c whenever
 * a connection settles. */
void fleet_launch(struct fleet *fl);

/* Close every connection and free what fleet_init() made. */
void fleet_release(struct fleet *fl);

/* ------------------------------------------------------------------------- */
/* One subscriber (subc.c). */

/* Start the connection of s, which is IDLE: TCP, TLS, then the Subscribe.
 * 0, or -1 and s is GONE. */
int subc_connect(struct subc *s);

/* Queue a Ping on s, which is LIVE, so that the server keeps it. */
void subc_send_ping(struct subc *s);

/* Close s, with a close_notify when it is still open (best effort: the
 * socket is non-blocking and nothing else is waiting to be sent). */
void subc_close(struct subc *s);

#endif
