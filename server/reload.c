/* reload.c - SIGHUP: read the configuration file again and apply what may
 * change while the server runs (the contract is in reload.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "err.h"
#include "log.h"
#include "reload.h"
#include "server.h"
#include "tls.h"
#include "writer.h"

/* What a reload applies (bits); every other change needs a restart. */
enum reload_what {
	RELOAD_TLS = 1,         /* tls_cert, tls_key, tls_ca, tls_crl */
	RELOAD_LOG = 2,         /* log_level */
	RELOAD_MEMBERS = 4,     /* platforms = of an [org ID] */
};

struct reload {
	struct server *srv;
	struct config *next;    /* the file as it is now; NULL when refused */
	unsigned what;          /* enum reload_what */
	size_t kept;            /* changes that need a restart */
	size_t members;         /* organisations whose platforms were adopted */
};

/* RELOADING=1 with the time it began (what Type=notify-reload expects too). */
static void notify_reloading(void)
{
	char state[64];
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)now.tv_sec * 1000000 + (unsigned long long)now.tv_nsec / 1000);
	server_notify(state, "reloading");
}

/* An org's new platforms apply when the running configuration declares
 * them all (a new platform needs a restart). */
static bool members_known(const struct config *cfg, const struct org *next)
{
	for (size_t i = 0; i < next->n_platforms; i++)
		if (!config_find_platform(cfg, next->platforms[i]))
			return false;
	return true;
}

/* What a difference reported by config_diff() applies: an enum reload_what
 * bit, or 0 when it needs a restart. */
static unsigned reloadable(const struct reload *r, const char *section, const char *key)
{
	if (!key)
		return 0;       /* a section added or removed */
	if (!section && !strcmp(key, "log_level"))
		return RELOAD_LOG;
	if (!section && !strncmp(key, "tls_", 4))
		return RELOAD_TLS;
	if (section && !strncmp(section, "org ", 4) && !strcmp(key, "platforms") &&
	    members_known(r->srv->cfg, config_find_org(r->next, section + 4)))
		return RELOAD_MEMBERS;
	return 0;
}

/* config_diff() callback: note what applies, log what does not. */
static void on_change(void *arg, const char *section, const char *key)
{
	struct reload *r = arg;
	unsigned what = reloadable(r, section, key);

	r->what |= what;
	r->kept += !what;
	if (what)
		log_info("reload_change", "key=%s%s%s%s", key, section ? " section=\"" : "",
			 section ? section : "", section ? "\"" : "");
	else if (key)
		log_warn("reload_needs_restart", "key=%s%s%s%s kept=running", key,
			 section ? " section=\"" : "", section ? section : "", section ? "\"" : "");
	else
		log_warn("reload_needs_restart", "section=\"%s\" detail=\"declared in only one "
			 "of the running and the new configuration\" kept=running", section);
}

/* Certificate, key, CA and revocation lists, from next's files when given
 * (then adopted), else the running configuration's. New handshakes use them,
 * connections whose certificate is now revoked are closed. Returns 0, or
 * tls_ctx_new()'s ML_E* code (logged): the loaded context and the running
 * paths then stay. */
static int reload_tls(struct server *srv, struct config *next)
{
	static const char *const keys[] = { "tls_cert", "tls_key", "tls_ca", "tls_crl" };
	struct tls_ctx *ctx;
	char err[512];
	size_t closed = 0;
	int rc = tls_ctx_new(next ? next : srv->cfg, &ctx, err, sizeof(err));

	if (rc) {
		log_error("tls_reload_failed", "error=\"%s\" kept=previous", err);
		return rc;
	}
	for (size_t i = 0; next && i < sizeof(keys) / sizeof(keys[0]); i++)
		config_adopt(srv->cfg, next, NULL, keys[i]);
	tls_ctx_free(srv->tls);      /* live sessions hold their own reference */
	srv->tls = ctx;
	for (struct conn *c = srv->conns; c; c = conn_next(c))
		closed += conn_close_if_revoked(c);
	log_info("tls_reloaded", "revoked_certificates=%zu connections_closed=%zu",
		 tls_ctx_revoked(ctx), closed);
	return 0;
}

/* config_diff() callback: adopt an org's new platforms. */
static void adopt_members(void *arg, const char *section, const char *key)
{
	struct reload *r = arg;

	if (reloadable(r, section, key) == RELOAD_MEMBERS &&
	    !config_adopt(r->srv->cfg, r->next, section, key))
		r->members++;
}

/* Adopt next's platform memberships. The writer thread reads the orgs
 * (through its config and every job's org): it is paused between two
 * batches meanwhile (writer.h); jobs submitted by then wait in its queue.
 * The org structs stay where they are, so every pointer to them
 * (connections, jobs, subscriptions) stays valid. Cannot fail. */
static void reload_members(struct reload *r)
{
	struct server *srv = r->srv;

	writer_pause(srv->writer);
	config_diff(srv->cfg, r->next, adopt_members, r);
	writer_resume(srv->writer);
	log_info("members_reloaded", "organisations=%zu", r->members);
}

/* The replaced values are freed with the new configuration: nothing keeps a
 * pointer to them across callbacks. */
int server_reload(struct server *srv)
{
	struct reload r = { .srv = srv };
	char err[1024];
	int rc;

	if (srv->stopping)
		return 0;
	notify_reloading();
	rc = config_load(srv->cfg->path, &r.next, err, sizeof(err));
	if (rc)
		log_error("config_reload_failed", "error=\"%s\" kept=previous", err);
	else
		config_diff(srv->cfg, r.next, on_change, &r);
	reload_tls(srv, r.what & RELOAD_TLS ? r.next : NULL);   /* logged */
	if (r.what & RELOAD_LOG) {
		config_adopt(srv->cfg, r.next, NULL, "log_level");
		if (!srv->log_level_fixed)
			log_set_level((enum log_level)srv->cfg->log_level);
	}
	if (r.what & RELOAD_MEMBERS)
		reload_members(&r);
	log_info("reload_done", "config=%s applied=%s needs_restart=%zu", srv->cfg->path,
		 r.next ? "yes" : "no", r.kept);
	server_notify("READY=1", "listening on %s; %s", srv->cfg->listen,
		      r.next ? "configuration reloaded" : "configuration refused, see the log");
	config_free(r.next);
	return rc;
}
