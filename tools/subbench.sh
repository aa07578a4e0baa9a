#!/usr/bin/env bash
# subbench.sh [OPTIONS] - the subscription benchmark (make bench-sub): a fresh
# server in BUILD/bench/ on a free loopback port, delivery latency to many
# subscribers, then a log filled to N events read by one subscriber from 0.
set -euo pipefail

usage() {
	cat <<EOF
usage: $0 [--events N] [--subscribers N] [--rate N] [--seconds N] [--connections N]

  --events N        catch-up: events in the log read from position 0 (1000000)
  --subscribers N   latency: subscriber connections (1000)
  --rate N          latency: ReferHousehold commands per second (25)
  --seconds N       latency: how long the commands are sent (20)
  --connections N   fill: connections pipelining the referrals (4)

Uses BUILD/bench/ (wiped first; BUILD defaults to build), 127.0.0.1 only.
EOF
}

EVENTS=1000000
SUBSCRIBERS=1000
RATE=25
SECONDS_RUN=20
CONNECTIONS=4
HEARTBEAT_S=5
while [ $# -gt 0 ]; do
	case $1 in
	--events | --subscribers | --rate | --seconds | --connections)
		[ $# -ge 2 ] || { echo "subbench: $1 needs a value" >&2; exit 2; }
		case $2 in '' | *[!0-9]*) echo "subbench: bad value '$2' for $1" >&2; exit 2 ;; esac
		case $1 in
		--events) EVENTS=$2 ;;
		--subscribers) SUBSCRIBERS=$2 ;;
		--rate) RATE=$2 ;;
		--seconds) SECONDS_RUN=$2 ;;
		--connections) CONNECTIONS=$2 ;;
		esac
		shift 2
		;;
	-h | --help) usage; exit 0 ;;
	*) echo "subbench: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
BIN=$BUILD/bin
BENCH=$BUILD/bench
for b in maillaged maillage maillage-subbench; do
	if ! [ -x "$BIN/$b" ]; then
		echo "subbench: '$BIN/$b' not found (make bench-sub builds it)" >&2
		exit 1
	fi
done

# One file descriptor per subscriber here and in the server (which inherits it).
want=$((SUBSCRIBERS + 256))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
	ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
		echo "subbench: open-file limit $(ulimit -n) is under the $want needed" >&2
		exit 1
	fi
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0));
print(s.getsockname()[1])')
rm -rf "$BENCH"
"$ROOT/tools/devsetup.sh" "$BENCH/dev" "$PORT" "$BENCH/data" >/dev/null
DEV=$BENCH/dev

# Global keys go before the first section. A referral takes about 800 bytes
# of data file (event, stream, command, household, key and projections;
# measured): map 2 KiB per event over the 1 GiB default, which the file only
# takes as it fills.
MAP_MB=$((1024 + EVENTS * 2 / 1024))
awk -v map="$MAP_MB" -v hb="$HEARTBEAT_S" '
	!done && /^\[/ {
		print "# added by tools/subbench.sh"
		print "map_size_mb = " map
		print "heartbeat_s = " hb
		print ""
		done = 1
	}
	{ print }' "$DEV/maillaged.conf" >"$DEV/maillaged.conf.tmp"
mv "$DEV/maillaged.conf.tmp" "$DEV/maillaged.conf"

"$BIN/maillaged" -c "$DEV/maillaged.conf" 2>"$BENCH/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
UP=0
for _ in $(seq 100); do
	if "$BIN/maillage" --addr "127.0.0.1:$PORT" --cert "$DEV/auditor.crt" \
		--key "$DEV/auditor.key" --ca "$DEV/ca.crt" ping >/dev/null 2>&1; then
		UP=1
		break
	fi
	kill -0 $SERVER 2>/dev/null || break
	sleep 0.1
done
if [ $UP = 0 ]; then
	echo "subbench: the server did not start ($BENCH/server.log):" >&2
	tail -5 "$BENCH/server.log" >&2
	exit 1
fi

# heap_sampler: the server's largest RssAnon so far (its heap; its RSS also
# counts the pages of the LMDB map it read), written to BENCH/heap-peak-kb.
heap_sampler() {
	local peak=0 kb
	while kill -0 $SERVER 2>/dev/null; do
		kb=$(awk '$1 == "RssAnon:" { print $2 }' "/proc/$SERVER/status" 2>/dev/null || true)
		if [ -n "$kb" ] && [ "$kb" -gt "$peak" ]; then
			peak=$kb
			echo "$peak" >"$BENCH/heap-peak-kb"
		fi
		sleep 0.5
	done
}
heap_sampler &
SAMPLER=$!
trap 'kill $SERVER $SAMPLER 2>/dev/null || true' EXIT

# heap_peak: the peak so far, in MiB.
heap_peak() {
	awk '{ printf "%.0f MiB", $1 / 1024 }' "$BENCH/heap-peak-kb" 2>/dev/null || echo "?"
}

# server_stat FIELD: a line of /proc/PID/status of the server (VmRSS, VmHWM).
server_stat() {
	awk -v f="$1:" '$1 == f { printf "%.0f MiB", $2 / 1024 }' "/proc/$SERVER/status" 2>/dev/null ||
		echo "?"
}

# server_cpu: the server's cpu time so far, in seconds (every thread).
server_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.1f", ($12 + $13) / hz }' \
		"/proc/$SERVER/stat" 2>/dev/null || echo 0
}

# bench PHASE [OPTIONS]: maillage-subbench against this server, its output
# also kept in BENCH/results.txt; the phase's wall time in PHASE_S.
bench() {
	local phase=$1 t0 cpu0 rc=0
	shift
	t0=$(date +%s%N)
	cpu0=$(server_cpu)
	"$BIN/maillage-subbench" --addr "127.0.0.1:$PORT" --ca "$DEV/ca.crt" \
		--producer-cert "$DEV/bailleur-est.crt" --producer-key "$DEV/bailleur-est.key" \
		--subscriber-cert "$DEV/coord-vaulx-bron.crt" \
		--subscriber-key "$DEV/coord-vaulx-bron.key" \
		--platform vaulx-bron "$@" "$phase" | tee -a "$BENCH/results.txt" || rc=$?
	PHASE_S=$(awk -v t0="$t0" -v t1="$(date +%s%N)" 'BEGIN { printf "%.1f", (t1 - t0) / 1e9 }')
	printf 'phase time             %s s (server cpu %s s)\n\n' "$PHASE_S" \
		"$(awk -v a="$cpu0" -v b="$(server_cpu)" 'BEGIN { printf "%.1f", b - a }')" |
		tee -a "$BENCH/results.txt"
	return $rc
}

echo "subscription benchmark: server 127.0.0.1:$PORT, data in $BENCH/data, heartbeat_s=$HEARTBEAT_S"
echo "subscribers are coord-vaulx-bron (sees every event of vaulx-bron)," \
	"commands come from bailleur-est"
echo "$(nproc) cpus, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start" \
	"(other work skews the figures)"
echo
FAILED=0
bench latency --subscribers "$SUBSCRIBERS" --rate "$RATE" --seconds "$SECONDS_RUN" || FAILED=1
LATENCY_S=$PHASE_S
HEAP_LATENCY=$(heap_peak)
bench fill --events "$EVENTS" --connections "$CONNECTIONS" --inflight 256 || FAILED=1
FILL_S=$PHASE_S
bench catchup || FAILED=1
CATCHUP_S=$PHASE_S
HWM_END=$(server_stat VmHWM)
HEAP_END=$(heap_peak)
CPU_S=$(server_cpu)

kill -TERM $SERVER 2>/dev/null || true
wait $SERVER || true
wait $SAMPLER || true
trap - EXIT

DATA_BYTES=$(du -sb "$BENCH/data" | awk '{ print $1 }')
HEAD=$(awk '/^catch-up / { n = $2 } END { print n + 0 }' "$BENCH/results.txt")
WARNINGS=$(grep -cE 'level=(warn|error)' "$BENCH/server.log" || true)

echo "== summary"
KEPT='subscribers  |commands  |command round trip|  of which|notifications|delivery latency'
grep -E "^($KEPT|fill  |catch-up)" "$BENCH/results.txt"
echo "phase times            latency $LATENCY_S s, fill $FILL_S s, catch-up $CATCHUP_S s"
echo "server memory          heap (RssAnon) peak $HEAP_LATENCY during the latency phase," \
	"$HEAP_END overall;"
echo "                       peak RSS $HWM_END (with the pages of the LMDB map it read)"
echo "server cpu             $CPU_S s in all"
if [ "$HEAD" -gt 0 ]; then
	echo "data directory         $((DATA_BYTES / 1048576)) MiB for $HEAD events" \
		"($((DATA_BYTES / HEAD)) bytes/event)"
fi
echo "server log             $WARNINGS warnings or errors ($BENCH/server.log)"
grep -oE 'level=(warn|error) event=[a-z_]+' "$BENCH/server.log" | sort | uniq -c | sort -rn || true
exit $FAILED
