/* sub.h - a subscription on a connection: the log read at the subscriber's
 * pace, heartbeats, and its end.
 *
 * Pull, not push (DESIGN.md section 3): the subscription keeps its position in
 * the log. While the connection's output holds less than SUB_OUTPUT_HIGH
 * bytes it reads the events after that position, in log order, and writes
 * those its feed lets through; over the mark it waits for the output to drain
 * (sub_drained). A commit only wakes it (sub_wake). Catch-up and live are the
 * same path, and reads never see an uncommitted event, so no notification
 * leaves before the commit that holds its event. A subscriber that leaves its
 * output over the mark and takes nothing from it for cfg->subscriber_stall_s,
 * or whose read of the log fails,
 * is ended (its last frame queued) and reported through on_end.
 *
 * Loop thread only. The bufferevent must outlive the subscription: free the
 * subscription before the bufferevent.
 */
#ifndef MAILLAGE_SUB_H
#define MAILLAGE_SUB_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "evlog.h"
#include "wire.h"

/* What one subscriber may leave unread in the server, and where reading the
 * log resumes. */
#define SUB_OUTPUT_HIGH (256u << 10)
#define SUB_OUTPUT_LOW (64u << 10)

struct bufferevent;
struct event_base;
struct sub;

/* The subscription ended itself; why says so for the logs. */
typedef void (*sub_end_fn)(void *arg, const char *why);

/* Start the subscription asked by req (a Subscribe) for org: check it, queue
 * the Subscribed answer on bev and schedule the catch-up. Returns 0, or an
 * ML_E* code with st filled (the caller answers it; nothing was queued). */
int sub_new(struct event_base *base, struct evlog *log, const struct config *cfg,
	      const struct org *org, const ml_request *req, struct bufferevent *bev,
	      sub_end_fn on_end, void *arg, struct sub **out, struct status *st);

/* New events were committed: read on with txn (a read transaction of the
 * loop thread, shared by every subscription woken together). */
void sub_wake(struct sub *s, struct evlog_txn *txn);

/* The connection's output fell under SUB_OUTPUT_LOW: read on. */
void sub_drained(struct sub *s);

/* End the subscription: queue its last frame (status err with message why,
 * and the position to resume after), then stop reading and beating. */
void sub_end(struct sub *s, int err, const char *why);

/* The position every matching event up to which was queued. */
uint64_t sub_position(const struct sub *s);

/* Cancel the subscription's timers and free it (NULL is a no-op). Its
 * bufferevent must still exist; frames already queued stay queued. */
void sub_free(struct sub *s);

/* True once sub_end() ran: the subscription queues nothing more and waits
 * to be freed with its connection. */
bool sub_ended(const struct sub *s);

#endif
