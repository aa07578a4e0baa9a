/* mlsub.h - follow the event log: a subscription that reconnects and resumes
 * on its own, delivering each event once, in log order, to a callback.
 *
 * Blocking; one call runs the whole subscription on the calling thread.
 */
#ifndef MAILLAGE_MLSUB_H
#define MAILLAGE_MLSUB_H

#include <stdint.h>

#include "mlclient.h"

struct mlc_sub_opts {
	struct mlc_opts conn;          /* where, and as which organisation */
	/* The filters (platform, case_id, event_types, involved_only) and, for
	 * the first connection only, from_now. from_position is ignored: the
	 * start is *position of mlc_subscribe(). */
	const Maillage__V1__Subscribe *filter;
	/* Each event, in log order, exactly once per call of mlc_subscribe().
	 * Return 0 to go on; anything else ends mlc_subscribe() with that value
	 * (the event counts as not processed). Required. */
	int (*on_event)(void *arg, const Maillage__V1__Event *ev);
	/* The resume position moved without an event (a heartbeat said every
	 * matching event up to it was delivered, or from_now started at the
	 * head): persist it if you keep one.
	 * Same return rule. Optional. */
	int (*on_position)(void *arg, uint64_t position);
	/* A line on the connection's life ("subscribed after position 42",
	 * "reconnecting in 400 ms: connection closed by server"). Optional. */
	void (*on_state)(void *arg, const char *what);
	void *arg;
	/* Consecutive failed attempts before giving up; 0 = never give up. */
	int max_attempts;
};

/*
 * Subscribe with the filters of o, from *position (the last position already
 * processed; 0 = from the start of the log), and deliver. On a lost
 * connection, a server shutting down (UNAVAILABLE), a subscriber found too
 * slow (RESOURCE_EXHAUSTED) or a server silent for three heartbeat intervals,
 * reconnect after a pause (200 ms, doubling up to 10 s) and resume after the
 * last position processed: no event is skipped or delivered twice. A Ping
 * goes out every heartbeat interval, which tells the server we are alive.
 * The pause is reset only by a session that moved the position.
 *
 * *position is kept up to date (the last event processed, or the position a
 * heartbeat vouched for). Returns the non-zero value a callback returned; or
 * -1 with a message in err when the options cannot work (mlc_opts_check()),
 * when the server refuses the subscription (PERMISSION_DENIED,
 * INVALID_ARGUMENT, NOT_FOUND, UNAUTHENTICATED, FAILED_PRECONDITION: retrying
 * would not help) or after max_attempts failed attempts in a row.
 */
int mlc_subscribe(const struct mlc_sub_opts *o, uint64_t *position, char *err, size_t errlen);

#endif
