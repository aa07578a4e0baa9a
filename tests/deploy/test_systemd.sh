#!/bin/sh
# test_systemd.sh - deploy/maillaged.service passes systemd-analyze (verify,
# and the security review, whose score is printed), and maillaged speaks the
# notification protocol of Type=notify without systemd: through a datagram
# socket in NOTIFY_SOCKET, READY=1 comes only once the port completes mutual
# TLS handshakes, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on
# SIGTERM, then exit 0.
. "$(dirname "$0")/lib.sh"

UNIT=$MAILLAGE_ROOT/deploy/maillaged.service
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# The unit with its programs taken from the build (verify wants them to exist).
sed "s|/usr/sbin/maillaged|$MAILLAGE_BIN/maillaged|g" "$UNIT" >"$TMP/maillaged.service"

verify_unit() {
	systemd-analyze verify --man=no "$TMP/maillaged.service" >"$TMP/verify.out" 2>&1
	rc=$?
	cat "$TMP/verify.out"
	[ "$rc" -eq 0 ] && ! [ -s "$TMP/verify.out" ]
}

# Prints the exposure score; fails above 2.0 ("OK" is below 2.0).
security_review() {
	systemd-analyze security --offline=true "$TMP/maillaged.service" >"$TMP/security.out" 2>&1 ||
		{ cat "$TMP/security.out"; return 1; }
	grep '✗' "$TMP/security.out"
	score=$(sed -n 's/.*Overall exposure level for maillaged.service: \([0-9.]*\).*/\1/p' \
		"$TMP/security.out")
	echo "systemd-analyze security --offline=true deploy/maillaged.service: $score"
	[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'
}

unit_has() {
	grep -qx "$1" "$UNIT" || { echo "deploy/maillaged.service lacks '$1'"; return 1; }
}

unit_settings() {
	for line in Type=notify 'ExecReload=/bin/kill -HUP $MAINPID' User=maillage \
		StateDirectory=maillage ProtectSystem=strict NoNewPrivileges=yes \
		CapabilityBoundingSet= AmbientCapabilities= LimitCORE=0 UMask=0077 \
		'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
		'SystemCallFilter=@system-service' MemoryDenyWriteExecute=yes; do
		unit_has "$line" || return 1
	done
	grep -q '^ExecStart=/usr/sbin/maillaged -c /etc/maillage/maillaged.conf$' "$UNIT"
}

if command -v systemd-analyze >/dev/null 2>&1; then
	check "systemd-analyze verify accepts the unit" verify_unit
	if systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
		check "systemd-analyze security: exposure 2.0 or less" security_review
	else
		skip "systemd-analyze security" "this systemd-analyze has no --offline"
	fi
else
	skip "systemd-analyze verify and security" \
		"systemd-analyze not found (Debian package 'systemd')"
fi
check "the unit has the settings the deployment relies on" unit_settings

# The notification protocol, against the real server.
notify_run() {
	"$MAILLAGE_ROOT/tools/devsetup.sh" "$TMP/dev" "$PORT" "$TMP/data" >/dev/null || return 1
	MAILLAGED=$MAILLAGE_BIN/maillaged CONF=$TMP/dev/maillaged.conf DEV=$TMP/dev \
		PORT=$PORT OUT=$TMP/notify.out python3 - <<'EOF'
import os, signal, socket, ssl, subprocess, sys, time

out = open(os.environ["OUT"], "w")
def note(*words):
    print(*words, file=out, flush=True)

dev, port = os.environ["DEV"], int(os.environ["PORT"])
path = os.path.join(os.path.dirname(os.environ["OUT"]), "notify.sock")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
env = dict(os.environ, NOTIFY_SOCKET=path)
log = open(os.path.join(dev, "server.log"), "w")
srv = subprocess.Popen([os.environ["MAILLAGED"], "-c", os.environ["CONF"]], env=env,
                       stderr=log)

def handshake():
    ctx = ssl.create_default_context(cafile=os.path.join(dev, "ca.crt"))
    ctx.load_cert_chain(os.path.join(dev, "asso-habitat.crt"),
                        os.path.join(dev, "asso-habitat.key"))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost"):
                return "ok"
    except OSError as e:
        return "failed:" + str(e).replace(" ", "_")

def receive(wanted, seconds=20):
    sock.settimeout(seconds)
    while True:
        try:
            msg = sock.recv(4096).decode()
        except socket.timeout:
            note("timeout waiting for", wanted)
            return False
        note("message", msg.replace("\n", "|"))
        if wanted in msg.split("\n"):
            return True

if receive("READY=1"):
    note("handshake_at_ready", handshake())
    srv.send_signal(signal.SIGHUP)
    if receive("RELOADING=1") and receive("READY=1"):
        note("handshake_after_reload", handshake())
    srv.send_signal(signal.SIGTERM)
    receive("STOPPING=1")
try:
    note("exit", srv.wait(timeout=20))
except subprocess.TimeoutExpired:
    srv.kill()
    note("exit killed")
EOF
	cat "$TMP/notify.out"
}

notified() {
	grep -q "^$1" "$TMP/notify.out" || { echo "no '$1' in the notifications"; return 1; }
}

# READY=1 is the first READY, and says what the server listens on.
ready_first() {
	first=$(grep -m1 '^message ' "$TMP/notify.out")
	case $first in
	"message READY=1|STATUS=listening on 127.0.0.1:$PORT") return 0 ;;
	*) echo "first notification: $first"; return 1 ;;
	esac
}

# The reload's messages come in order: RELOADING=1 (with MONOTONIC_USEC),
# then READY=1.
reload_order() {
	grep '^message ' "$TMP/notify.out" | sed -n '2,3p' >"$TMP/reload"
	sed -n 1p "$TMP/reload" | grep -q '^message RELOADING=1|MONOTONIC_USEC=[0-9]*|' &&
		sed -n 2p "$TMP/reload" | grep -q '^message READY=1|'
}

if command -v python3 >/dev/null 2>&1; then
	PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	check "maillaged runs under a notification socket" notify_run
	check "READY=1 first, with STATUS=listening on ADDRESS" ready_first
	check "the port completes an mTLS handshake when READY=1 arrives" \
		notified "handshake_at_ready ok"
	check "after SIGHUP the port still completes mTLS handshakes" \
		notified "handshake_after_reload ok"
	check "SIGHUP: RELOADING=1 then READY=1, in that order" reload_order
	check "SIGTERM: STOPPING=1" notified "message STOPPING=1|STATUS=stopping"
	check "SIGTERM: exit status 0" notified "exit 0"
else
	skip "the notification protocol" "python3 not found (Debian package 'python3')"
fi

finish
