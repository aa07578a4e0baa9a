/* tls.h - the server's TLS: context from the configuration (TLS 1.2 minimum,
 * forward-secret ciphers, client certificates required and verified against
 * the platform CA, no renegotiation) and TLS bufferevents.
 * The only server file that includes OpenSSL's libssl headers.
 */
#ifndef MAILLAGE_TLS_H
#define MAILLAGE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <event2/util.h>

#include "config.h"

struct tls_ctx;
struct bufferevent;
struct event_base;

/* Load certificate, key, CA and (when cfg->tls_crl is set) the certificate
 * revocation lists named in cfg: a client certificate listed there fails the
 * handshake. Called again on SIGHUP to reload them all. On failure returns
 * ML_ETLS with a message naming the file into err. On success logs
 * tls_cert_expires_soon (warning) when the server's certificate expires in
 * fewer than 30 days, tls_cert_expired (error) when it has: it is used all
 * the same. Loop thread only. */
int tls_ctx_new(const struct config *cfg, struct tls_ctx **out, char *err, size_t errlen);

/* The number of revoked certificates ctx knows of. */
size_t tls_ctx_revoked(const struct tls_ctx *ctx);

/* True when bev's verified peer certificate is on one of ctx's revocation
 * lists (a connection made before the list was reloaded). */
bool tls_peer_revoked(const struct tls_ctx *ctx, struct bufferevent *bev);
void tls_ctx_free(struct tls_ctx *ctx);

/* A bufferevent doing the server side of a handshake on fd; it owns fd and
 * its SSL (BEV_OPT_CLOSE_ON_FREE). NULL on failure (fd is then closed). */
struct bufferevent *tls_bufferevent_new(struct tls_ctx *ctx, struct event_base *base,
					evutil_socket_t fd);

/* The verified peer certificate's subject CN, copied into out. 0, or ML_ETLS
 * when there is no verified certificate or no CN (or it does not fit). */
int tls_peer_cn(struct bufferevent *bev, char *out, size_t outlen);

/* The verified peer certificate's notAfter: in *when (seconds since the
 * epoch, may be NULL) and as "2026-11-24T07:40:11Z" in iso (may be NULL;
 * "unknown" on failure). 0, or ML_ETLS when there is no verified
 * certificate. */
int tls_peer_not_after(struct bufferevent *bev, time_t *when, char *iso, size_t isolen);

/* The last TLS error on bev, for logs ("" if none). When the client's
 * certificate failed verification, says which and why instead of OpenSSL's
 * "certificate verify failed": "client certificate refused: certificate has
 * expired (subject CN 'ccas-vaulx', depth 0, not after 2026-11-24T07:40:11Z)". */
const char *tls_error(struct bufferevent *bev, char *buf, size_t len);

#endif
