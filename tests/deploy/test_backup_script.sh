#!/bin/bash
# test_backup_script.sh - tools/maillage-backup against a running server: three
# nightly runs with --keep 2 keep the two newest backups (each at the position
# the log had), a failing run logs one error line and deletes nothing, the
# newest backup restores; and deploy/maillage-backup.service and .timer pass
# systemd-analyze verify.
. "$(dirname "$0")/lib.sh"

SCRIPT=$MAILLAGE_ROOT/tools/maillage-backup
export MAILLAGE_ADMIN=$MAILLAGE_BIN/maillage-admin
TMP=$(mktemp -d)
SERVER=
stop_server() {
	if [ -n "$SERVER" ]; then
		kill -TERM "$SERVER" 2>/dev/null
		wait "$SERVER" 2>/dev/null
		SERVER=
	fi
}
trap 'stop_server; rm -rf "$TMP"' EXIT

# client ARGS...: the maillage client as the landlord.
client() {
	(. "$TMP/dev/bailleur-est.env" && "$MAILLAGE_BIN/maillage" "$@")
}

start_server() {
	PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	"$MAILLAGE_ROOT/tools/devsetup.sh" "$TMP/dev" "$PORT" "$TMP/data" >/dev/null || return 1
	"$MAILLAGE_BIN/maillaged" -c "$TMP/dev/maillaged.conf" 2>"$TMP/server.log" &
	SERVER=$!
	for _ in $(seq 100); do
		client ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	cat "$TMP/server.log"
	return 1
}

# refer N: refer household N.
refer() {
	client refer --platform vaulx-bron --reason unpaid_rent --last-name "Nuit$1" \
		--first-name Jeanne --birth-date 1970-03-04 --adults 1 >/dev/null
}

# run: one nightly run, its output in $TMP/run.out, its status in $TMP/run.rc.
run() {
	rc=0
	"$SCRIPT" --keep 2 -c "$TMP/dev/maillaged.conf" "$TMP/data" "$TMP/backups" \
		>"$TMP/run.out" 2>&1 || rc=$?
	echo "$rc" >"$TMP/run.rc"
	cat "$TMP/run.out"
}

backups() {
	find "$TMP/backups" -mindepth 1 -maxdepth 1 -type d -name '*T*Z' -printf '%f\n' | sort
}

# one_line EVENT: the run wrote exactly one logfmt line, of that event.
one_line() {
	[ "$(wc -l <"$TMP/run.out")" -eq 1 ] &&
		grep -Eq "^ts=[0-9TZ:-]+ level=[a-z]+ event=$1( [a-z_]+=[^ ]+)+" "$TMP/run.out"
}

# three_runs: runs at positions 3, 4 and 5 (one referral between runs).
three_runs() {
	for n in 1 2 3; do
		run
		[ "$(cat "$TMP/run.rc")" -eq 0 ] && one_line backup_done || return 1
		grep -q " position=$((n + 2)) " "$TMP/run.out" || return 1
		backups | tail -n 1 >>"$TMP/names"
		refer "$((n + 3))" || return 1
		sleep 1     # backups are named to the second
	done
}

kept_newest_two() {
	backups
	[ "$(backups | wc -l)" -eq 2 ] && [ "$(backups)" = "$(tail -n 2 "$TMP/names")" ] &&
		grep -q '^position=4$' "$TMP/backups/$(backups | head -n 1)/manifest" &&
		grep -q '^position=5$' "$TMP/backups/$(backups | tail -n 1)/manifest" &&
		grep -q ' kept=2 deleted=1 ' "$TMP/run.out"
}

failing_run_keeps_all() {
	rc=0
	"$SCRIPT" --keep 1 "$TMP/no-such-dir" "$TMP/backups" >"$TMP/run.out" 2>&1 || rc=$?
	cat "$TMP/run.out"
	[ "$rc" -eq 2 ] && one_line backup_failed && [ "$(backups | wc -l)" -eq 2 ]
}

newest_restores() {
	"$MAILLAGE_ADMIN" restore "$TMP/backups/$(backups | tail -n 1)" "$TMP/restored" \
		-c "$TMP/dev/maillaged.conf" && "$MAILLAGE_ADMIN" verify "$TMP/restored"
}

bad_keep_refused() {
	! "$SCRIPT" --keep 0 "$TMP/data" "$TMP/backups" 2>/dev/null &&
		! "$SCRIPT" --keep two "$TMP/data" "$TMP/backups" 2>/dev/null
}

# The units with the script taken from the tree (verify wants it to exist).
verify_units() {
	mkdir -p "$TMP/units"
	sed "s|/usr/bin/maillage-backup|$SCRIPT|" "$MAILLAGE_ROOT/deploy/maillage-backup.service" \
		>"$TMP/units/maillage-backup.service"
	cp "$MAILLAGE_ROOT/deploy/maillage-backup.timer" "$TMP/units/"
	systemd-analyze verify --man=no "$TMP/units/maillage-backup.service" \
		"$TMP/units/maillage-backup.timer" >"$TMP/verify.out" 2>&1
	rc=$?
	cat "$TMP/verify.out"
	[ "$rc" -eq 0 ] && ! [ -s "$TMP/verify.out" ]
}

timer_settings() {
	for line in Persistent=true 'RandomizedDelaySec=30min' 'OnCalendar=*-*-* 02:30:00' \
		WantedBy=timers.target; do
		grep -qxF "$line" "$MAILLAGE_ROOT/deploy/maillage-backup.timer" || return 1
	done
}

serving() {
	start_server && refer 1 && refer 2 && refer 3
}

check "a server to back up, three households referred" serving
check "three runs with --keep 2, each one logfmt line at the log's position" three_runs
check "the two newest kept (positions 4 and 5), the oldest deleted" kept_newest_two
check "a failing run exits 2, logs one error line, deletes nothing" failing_run_keeps_all
check "the newest backup restores and verifies" newest_restores
check "--keep 0 and --keep two are refused" bad_keep_refused
stop_server
check "the timer: nightly, randomized delay, persistent" timer_settings
if command -v systemd-analyze >/dev/null 2>&1; then
	check "systemd-analyze verify accepts maillage-backup.service and .timer" verify_units
else
	skip "systemd-analyze verify of the backup units" \
		"systemd-analyze not found (Debian package 'systemd')"
fi
finish
