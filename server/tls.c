/* tls.c - OpenSSL for the server: the context, TLS bufferevents, the
 * verified peer's identity and the validity of certificates (ours, logged at
 * each load; the peer's, for its connection and for a refused handshake).
 */
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "tls.h"

/* TLS 1.2: ECDHE only (forward secrecy) with AEAD ciphers. */
#define TLS12_CIPHERS "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

/* The server's certificate is announced this many days before it expires. */
#define TLS_CERT_WARN_DAYS 30
/* The longest description of a refused client certificate. */
#define TLS_REFUSAL_MAX 256

/* SSL ex_data index of the description (malloc'd, freed with the SSL) of
 * why the client certificate failed verification; -1 until the first
 * tls_ctx_new(), which runs on the loop thread like every user. */
static int refusal_idx = -1;

struct tls_ctx {
	SSL_CTX *ssl;
	STACK_OF(X509_CRL) *crls;   /* from cfg->tls_crl; NULL when none */
	size_t revoked;             /* entries over every list */
};

static int fail(char *err, size_t errlen, const char *what, const char *file)
{
	char reason[256];

	ERR_error_string_n(ERR_get_error(), reason, sizeof(reason));
	snprintf(err, errlen, "%s '%s': %s", what, file ? file : "", reason);
	ERR_clear_error();
	return ML_ETLS;
}

/* Read every CRL of the PEM file path into ctx and the context's store, and
 * check client certificates against them. */
static int load_crls(struct tls_ctx *ctx, const char *path, char *err, size_t errlen)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx->ssl);
	BIO *in = BIO_new_file(path, "r");
	X509_CRL *crl;

	if (!in)
		return fail(err, errlen, "cannot open certificate revocation list", path);
	ctx->crls = sk_X509_CRL_new_null();
	while (ctx->crls && (crl = PEM_read_bio_X509_CRL(in, NULL, NULL, NULL))) {
		STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);

		ctx->revoked += rev ? (size_t)sk_X509_REVOKED_num(rev) : 0;
		if (!X509_STORE_add_crl(store, crl) || !sk_X509_CRL_push(ctx->crls, crl)) {
			X509_CRL_free(crl);
			BIO_free(in);
			return fail(err, errlen, "cannot use certificate revocation list", path);
		}
	}
	BIO_free(in);
	/* The end of the file reads as "no start line"; anything else is bad. */
	if (ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE &&
	    ctx->crls && sk_X509_CRL_num(ctx->crls) > 0)
		ERR_clear_error();
	if (!ctx->crls || !sk_X509_CRL_num(ctx->crls) || ERR_peek_error())
		return fail(err, errlen, "cannot read certificate revocation list", path);
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	return 0;
}

/* t as seconds since the epoch in *when and "2026-11-24T07:40:11Z" in iso
 * (when and iso may be NULL). 0, or ML_ETLS when t does not read. */
static int asn1_time(const ASN1_TIME *t, time_t *when, char *iso, size_t isolen)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
		if (iso && isolen)
			snprintf(iso, isolen, "unknown");
		return ML_ETLS;
	}
	if (when)
		*when = timegm(&tm);
	if (iso && isolen && !strftime(iso, isolen, "%Y-%m-%dT%H:%M:%SZ", &tm))
		iso[0] = 0;
	return 0;
}

/* cert's subject CN for a log line: '?' for anything but printable ASCII
 * and quotes, so that a certificate cannot forge log lines. */
static void subject_cn(X509 *cert, char *out, size_t len)
{
	int n = cert ? X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName,
						  out, (int)len) : -1;

	if (n < 0) {
		snprintf(out, len, "-");
		return;
	}
	for (char *p = out; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\' || *p == '\'')
			*p = '?';
}

static void free_refusal(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			 void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

/* Verification of a client's chain: keep OpenSSL's verdict, and remember
 * the first failure (which certificate, why) for tls_error(). */
static int on_verify(int ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	X509 *cert = X509_STORE_CTX_get_current_cert(store);
	int e = X509_STORE_CTX_get_error(store);
	char cn[128], when[32] = "", *why;

	if (ok || !ssl || SSL_get_ex_data(ssl, refusal_idx) || !(why = malloc(TLS_REFUSAL_MAX)))
		return ok;
	subject_cn(cert, cn, sizeof(cn));
	if (cert && e == X509_V_ERR_CERT_HAS_EXPIRED)
		asn1_time(X509_get0_notAfter(cert), NULL, when, sizeof(when));
	else if (cert && e == X509_V_ERR_CERT_NOT_YET_VALID)
		asn1_time(X509_get0_notBefore(cert), NULL, when, sizeof(when));
	snprintf(why, TLS_REFUSAL_MAX, "%s (subject CN '%s', depth %d%s%s)",
		 X509_verify_cert_error_string(e), cn, X509_STORE_CTX_get_error_depth(store),
		 when[0] ? e == X509_V_ERR_CERT_HAS_EXPIRED ? ", not after " : ", not before " : "",
		 when);
	if (!SSL_set_ex_data(ssl, refusal_idx, why))
		free(why);
	return ok;
}

/* Log the validity of the server's own certificate: a warning under
 * TLS_CERT_WARN_DAYS, an error once expired. An expired certificate is
 * still used: refusing to start (or to reload) would take the whole
 * platform down, while clients that check dates refuse it themselves and
 * the operator has the error line; renew it and send SIGHUP. */
static void check_own_cert(SSL_CTX *ssl, const char *file)
{
	const ASN1_TIME *not_after;
	X509 *cert = SSL_CTX_get0_certificate(ssl);
	char when[32];
	int days, secs;

	if (!cert || !(not_after = X509_get0_notAfter(cert)) ||
	    asn1_time(not_after, NULL, when, sizeof(when)) ||
	    !ASN1_TIME_diff(&days, &secs, NULL, not_after)) {
		log_error("tls_cert_unreadable_expiry", "file=\"%s\"", file);
		return;
	}
	if (days < 0 || secs < 0)
		log_error("tls_cert_expired", "file=\"%s\" not_after=%s days=%d", file, when, days);
	else if (days < TLS_CERT_WARN_DAYS)
		log_warn("tls_cert_expires_soon", "file=\"%s\" not_after=%s days=%d", file, when,
			 days);
}

int tls_ctx_new(const struct config *cfg, struct tls_ctx **out, char *err, size_t errlen)
{
	struct tls_ctx *ctx = calloc(1, sizeof(*ctx));
	SSL_CTX *ssl;
	int rc;

	if (refusal_idx < 0)
		refusal_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_refusal);
	if (!ctx || refusal_idx < 0 || !(ssl = SSL_CTX_new(TLS_server_method()))) {
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
		rc = fail(err, errlen, "cannot use the private key (it must be tls_cert's)",
			  cfg->tls_key);
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
	if (cfg->tls_crl && (rc = load_crls(ctx, cfg->tls_crl, err, errlen)))
		goto err_free;
	SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, on_verify);
	SSL_CTX_set_verify_depth(ssl, 4);
	check_own_cert(ssl, cfg->tls_cert);
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
	sk_X509_CRL_pop_free(ctx->crls, X509_CRL_free);
	free(ctx);
}

size_t tls_ctx_revoked(const struct tls_ctx *ctx)
{
	return ctx->revoked;
}

bool tls_peer_revoked(const struct tls_ctx *ctx, struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	X509_REVOKED *entry;
	bool revoked = false;
	X509 *cert;

	if (!ssl || !ctx->crls || !(cert = SSL_get1_peer_certificate(ssl)))
		return false;
	for (int i = 0; !revoked && i < sk_X509_CRL_num(ctx->crls); i++)
		revoked = X509_CRL_get0_by_cert(sk_X509_CRL_value(ctx->crls, i), &entry, cert) == 1;
	X509_free(cert);
	return revoked;
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

int tls_peer_not_after(struct bufferevent *bev, time_t *when, char *iso, size_t isolen)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	X509 *cert;

	if (!ssl || SSL_get_verify_result(ssl) != X509_V_OK ||
	    !(cert = SSL_get0_peer_certificate(ssl))) {
		if (iso && isolen)
			snprintf(iso, isolen, "unknown");
		return ML_ETLS;
	}
	return asn1_time(X509_get0_notAfter(cert), when, iso, isolen);
}

const char *tls_error(struct bufferevent *bev, char *buf, size_t len)
{
	unsigned long e = bufferevent_get_openssl_error(bev);
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	const char *why = ssl ? SSL_get_ex_data(ssl, refusal_idx) : NULL;

	buf[0] = 0;
	/* OpenSSL says "certificate verify failed"; say which and why. */
	if (why)
		snprintf(buf, len, "client certificate refused: %s", why);
	else if (e)
		ERR_error_string_n(e, buf, len);
	return buf;
}
