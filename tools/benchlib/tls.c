/* tls.c - the OpenSSL side of the benchmarks' non-blocking connections:
 * their client contexts, their TLS bufferevents and what a TLS or socket
 * error says. The only benchmark file that calls OpenSSL (mlclient has its
 * own).
 */
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/util.h>

#include "benchnet.h"

/* What OpenSSL error e says, lowercase where it is a system error. */
static const char *tls_reason(unsigned long e, char *buf, size_t len)
{
	const char *reason = ERR_reason_error_string(e);

	if (ERR_SYSTEM_ERROR(e))
		snprintf(buf, len, "%s", evutil_socket_error_to_string(ERR_GET_REASON(e)));
	else if (reason)
		snprintf(buf, len, "%s", reason);
	else
		ERR_error_string_n(e, buf, len);
	buf[0] = (char)(buf[0] >= 'A' && buf[0] <= 'Z' ? buf[0] - 'A' + 'a' : buf[0]);
	return buf;
}

SSL_CTX *bench_tls_ctx_new(const char *ca, const char *cert, const char *key, const char *host)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	const char *what = "cannot create a tls context", *subject = "";
	char reason[200];
	unsigned long e;

	if (!ctx)
		goto err_free;
	what = "cannot require tls 1.2 with";
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		goto err_free;
	what = "cannot load CA file";
	subject = ca;
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		goto err_free;
	what = "cannot load client certificate";
	subject = cert;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		goto err_free;
	what = "cannot load private key";
	subject = key;
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto err_free;
	what = "cannot check the server's address";
	subject = host;
	if (X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx), host) != 1)
		goto err_free;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;

err_free:
	e = ERR_peek_error();
	fprintf(stderr, "%s: %s '%s': %s\n", bench_prog, what, subject,
		e ? tls_reason(e, reason, sizeof(reason)) : "failed");
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

void bench_tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

struct bufferevent *bench_tls_bufferevent_new(struct event_base *base, SSL_CTX *ctx,
					      const char **why)
{
	SSL *ssl = SSL_new(ctx);
	struct bufferevent *bev;

	if (!ssl) {
		*why = "cannot create a tls session";
		return NULL;
	}
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		*why = "cannot create a connection";
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

void bench_tls_shutdown(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	if (ssl && SSL_shutdown(ssl) < 0)
		ERR_clear_error();
}

void bench_tls_describe_end(struct bufferevent *bev, short what, char *buf, size_t len)
{
	int err = EVUTIL_SOCKET_ERROR();
	unsigned long e = bufferevent_get_openssl_error(bev);
	char reason[200];

	/* libevent queues a bare SSL_ERROR_SYSCALL for a socket error */
	if (e && ERR_GET_LIB(e) == 0)
		e = 0;
	if (e)
		snprintf(buf, len, "tls error: %s", tls_reason(e, reason, sizeof(reason)));
	else if (what & BEV_EVENT_EOF)
		snprintf(buf, len, "connection closed by server");
	else
		snprintf(buf, len, "connection error: %s",
			 err ? evutil_socket_error_to_string(err) : "unknown");
}
