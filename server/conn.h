/* conn.h - one client connection: TLS handshake, frames in, requests
 * dispatched (queries answered at once, commands to the writer), replies out.
 *
 * States (every change goes through conn_set_state()):
 *
 *   HANDSHAKE --handshake done--> OPEN --fatal frame / UNAUTHENTICATED--> CLOSING
 *       |                          |                                       |
 *       +------ error, EOF, timeout, shutdown ------+---------> CLOSED <---+ output flushed
 *
 *   CLOSED: the socket is gone; the struct lives on while commands of this
 *   connection are still at the writer, then the reaper frees it.
 * Loop thread only.
 */
#ifndef MAILLAGE_CONN_H
#define MAILLAGE_CONN_H

#include <event2/util.h>
#include <stdbool.h>

struct conn;
struct server;
struct sub;
struct writer_job;
struct evlog_txn;

enum conn_state {
	CONN_HANDSHAKE,    /* TLS handshake in progress, handshake timeout armed */
	CONN_OPEN,         /* serving requests */
	CONN_CLOSING,      /* no more reads; close once the output is flushed */
	CONN_CLOSED,       /* bufferevent freed; waiting for writer jobs */
};

/* Accept fd (owned from now on) as a new connection of srv. */
void conn_accept(struct server *srv, evutil_socket_t fd, const char *peer);

/* A command of this connection came back from the writer (owns job). */
void conn_command_done(struct server *srv, struct writer_job *job);

/* New events were committed: a subscribed connection reads on, with txn (a
 * read transaction shared by every connection woken together). */
void conn_wake(struct conn *c, struct evlog_txn *txn);

/* Close the connection now if its certificate is on a revocation list of
 * the server's (reloaded) TLS context. True when it was closed. */
bool conn_close_if_revoked(struct conn *c);

/* Stop reading and close once the replies in flight are flushed (shutdown). */
void conn_drain(struct conn *c);

/* Free a CLOSED connection with nothing left at the writer (reaper). */
bool conn_reapable(const struct conn *c);
void conn_free(struct conn *c);

/* Where the connection is in the diagram above (metrics). */
enum conn_state conn_get_state(const struct conn *c);

/* Its subscription, NULL when it has none (metrics). */
struct sub *conn_get_sub(const struct conn *c);

/* The link to the next connection in the server's list. */
struct conn *conn_next(const struct conn *c);
struct conn **conn_next_ref(struct conn *c);

#endif
