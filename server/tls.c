/* tls.c - OpenSSL for the server: the context, TLS bufferevents and the
 * verified peer's identity.
 */
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "tls.h"

/* TLS 1.2: ECDHE only (forward secrecy) with AEAD ciphers. */
#define TLS12_CIPHERS "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

struct tls_ctx {
	SSL_CTX *ssl;
};

static int fail(char *err, size_t errlen, const char *what, const char *file)
{
	char reason[256];

	ERR_error_string_n(ERR_get_error(), reason, sizeof(reason));
	snprintf(err, errlen, "%s '%s': %s", what, file ? file : "", reason);
	ERR_clear_error();
	return ML_ETLS;
}

int tls_ctx_new(const struct config *cfg, struct tls_ctx **out, char *err, size_t errlen)
{
	struct tls_ctx *ctx = calloc(1, sizeof(*ctx));
	SSL_CTX *ssl;
	int rc;

	if (!ctx || !(ssl = SSL_CTX_new(TLS_server_method()))) {
		free(ctx);
		return fail(err, errlen, "cannot create a tls context", "");
	}
	ctx->ssl = ssl;
	SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION);
	SSL_CTX_set_options(ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
			    SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ssl, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_cipher_list(ssl, TLS12_CIPHERS) != 1) {
		rc = fail(err, errlen, "cannot set the ciphers", "");
		goto err_free;
	}
	if (SSL_CTX_use_certificate_chain_file(ssl, cfg->tls_cert) != 1) {
		rc = fail(err, errlen, "cannot load certificate", cfg->tls_cert);
		goto err_free;
	}
	if (SSL_CTX_use_PrivateKey_file(ssl, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
		rc = fail(err, errlen, "cannot load private key", cfg->tls_key);
		goto err_free;
	}
	if (SSL_CTX_check_private_key(ssl) != 1) {
		rc = fail(err, errlen, "private key does not match certificate", cfg->tls_cert);
		goto err_free;
	}
	if (SSL_CTX_load_verify_locations(ssl, cfg->tls_ca, NULL) != 1) {
		rc = fail(err, errlen, "cannot load CA", cfg->tls_ca);
		goto err_free;
	}
	SSL_CTX_set_client_CA_list(ssl, SSL_load_client_CA_file(cfg->tls_ca));
	SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ssl, 4);
	*out = ctx;
	return 0;

err_free:
	tls_ctx_free(ctx);
	return rc;
}

void tls_ctx_free(struct tls_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->ssl);
	free(ctx);
}

struct bufferevent *tls_bufferevent_new(struct tls_ctx *ctx, struct event_base *base,
					evutil_socket_t fd)
{
	SSL *ssl = SSL_new(ctx->ssl);
	struct bufferevent *bev;

	if (!ssl) {
		evutil_closesocket(fd);
		return NULL;
	}
	/* On success the bufferevent owns ssl and fd. */
	bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev) {
		SSL_free(ssl);
		evutil_closesocket(fd);
	}
	return bev;
}

int tls_peer_cn(struct bufferevent *bev, char *out, size_t outlen)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	X509 *cert;
	int n;

	if (!ssl || SSL_get_verify_result(ssl) != X509_V_OK)
		return ML_ETLS;
	cert = SSL_get1_peer_certificate(ssl);
	if (!cert)
		return ML_ETLS;
	n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName,
				      out, (int)outlen);
	X509_free(cert);
	return n > 0 && (size_t)n < outlen && strlen(out) == (size_t)n ? 0 : ML_ETLS;
}

const char *tls_error(struct bufferevent *bev, char *buf, size_t len)
{
	unsigned long e = bufferevent_get_openssl_error(bev);

	buf[0] = 0;
	if (e)
		ERR_error_string_n(e, buf, len);
	return buf;
}
