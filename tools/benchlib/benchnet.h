/* benchnet.h - the non-blocking side the maillage benchmarks share: many
 * mutual-TLS connections on one libevent loop (tls.c, the only benchmark
 * file that calls OpenSSL; mlclient has its own), their frames and the
 * server's address (net.c).
 *
 * Everything here runs on the thread that dispatches the loop.
 */
#ifndef MAILLAGE_BENCHNET_H
#define MAILLAGE_BENCHNET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "benchlib.h"

#define BENCH_MAX_FRAME (64u << 20)       /* what a client takes, as mlclient */

struct bufferevent;
struct evbuffer;
struct event_base;
struct ssl_ctx_st;          /* OpenSSL's SSL_CTX, only tls.c looks inside */

/* ------------------------------------------------------------------------- */
/* TLS (tls.c). */

/* A client TLS context: the certificate and key of an organisation, the CA
 * that signed the server's certificate, the server's address (host, numeric)
 * checked against that certificate. NULL after printing why. */
struct ssl_ctx_st *bench_tls_ctx_new(const char *ca, const char *cert, const char *key,
				     const char *host);

/* Free ctx (NULL is a no-op). */
void bench_tls_ctx_free(struct ssl_ctx_st *ctx);

/* A bufferevent on base for the client side of a handshake, not yet
 * connected, owning its SSL and the socket it will make. NULL with the
 * reason in *why. */
struct bufferevent *bench_tls_bufferevent_new(struct event_base *base, struct ssl_ctx_st *ctx,
					      const char **why);

/* Send a close_notify on bev (best effort; bev is still to be freed). */
void bench_tls_shutdown(struct bufferevent *bev);

/* What ended bev, given the events of its event callback: "connection closed
 * by server", or the TLS or socket error, into buf. */
void bench_tls_describe_end(struct bufferevent *bev, short what, char *buf, size_t len);

/* ------------------------------------------------------------------------- */
/* Addresses and frames (net.c). */

/* A numeric "HOST:PORT" or "[HOST]:PORT" into its address and its host (for
 * bench_tls_ctx_new()). 0, or -1 after printing why. */
int bench_parse_addr(const char *addr, struct sockaddr_storage *ss, int *sslen, char *host,
		     size_t hostlen);

/* Queue req as one frame (length prefix, then the packed Request) on bev's
 * output. 0 or -1. */
int bench_frame_send(struct bufferevent *bev, const mlc_request *req);

/* The next whole frame of in, decoded and drained; NULL when none is complete
 * yet, or with *bad set when the server sent what no client takes (a frame
 * over BENCH_MAX_FRAME, not a Response). Free with mlc_response_free(). */
mlc_response *bench_frame_next(struct evbuffer *in, bool *bad);

/* Disable Nagle on bev's socket: frames leave as soon as they are queued. */
void bench_nodelay(struct bufferevent *bev);

#endif
