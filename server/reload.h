/* reload.h - a SIGHUP reload: the configuration file is read again and what
 * can change without a restart is applied to the running server.
 */
#ifndef MAILLAGE_RELOAD_H
#define MAILLAGE_RELOAD_H

struct server;

/* Read srv->cfg->path again and apply, without dropping connections:
 *  - tls_cert, tls_key, tls_ca, tls_crl: new handshakes use them, and open
 *    connections whose certificate is now revoked are closed. The TLS files
 *    are read again even when their paths did not change (renewed
 *    certificates, a new revocation list);
 *  - log_level (unless -v fixed it at debug);
 *  - an org's platforms, when every platform it names is already declared:
 *    the writer is paused between two batches meanwhile (writer.h).
 * Every other difference (listen, data_dir, limits, key files, a section
 * added or removed, a new platform...) needs a restart: it is logged
 * (reload_needs_restart) and keeps its running value. A file that does not
 * load is refused whole (config_reload_failed) and the TLS material is read
 * again from the running configuration's files.
 * Tells systemd RELOADING=1, then READY=1 (server_notify()).
 * Returns 0 when the file loaded, else config_load()'s ML_E* code (logged).
 * Loop thread only, not while stopping (then a no-op returning 0). */
int server_reload(struct server *srv);

#endif
