#!/usr/bin/env bash
# bench.sh [OPTIONS] - the command benchmark (make bench-maillage): starts a
# fresh maillaged (its own data directory and development certificates under
# BUILD/bench/commands/, a free port on 127.0.0.1), runs maillage-bench
# against it, stops it and prints the figures; first, the disk alone
# (maillage-diskbench). The last line is
# "maillage commands/s: N" (with --idle: "maillage idle connections: N,
# server rss: M MiB").
set -euo pipefail

usage() {
	cat <<EOF
usage: $0 [OPTIONS]

Durable command throughput and latency of a realistic mix (record_visit 30%,
record_procedure_step 20%, refer_household 25%, propose_rehousing 10%,
answer_proposal 5%, acknowledge_referral 5%, close_support 5%) sent by the
landlord, the coordination and three lead partners of vaulx-bron.

  --connections N   connections in all (64)
  --seconds N       how long the mix is sent (20)
  --rate N          commands/s in all, spread evenly (default: as fast as possible)
  --inflight N      commands in flight per connection at most (32)
  --cases N         cases in support shared by the mix (2000)
  --close-cases N   cases set aside for close_support (default: estimated)
  --mix LIST        e.g. visit=30,step=20,refer=25,propose=10,answer=5,ack=5,close=5
  --drain N         seconds allowed for the last replies (30)
  --idle N          instead of the mix: N idle connections, the server's memory
  --hold N          --idle: seconds they are held (5)
  -h, --help        this help

First times the disk alone with writes shaped like the server's commits
(maillage-diskbench; not with --idle). Uses BUILD/bench/commands/ (wiped
first; BUILD defaults to build). The server's log is kept there
(server.log), with the figures (results.txt).
EOF
}

ARGS=()
CONNECTIONS=64
IDLE=0
SECONDS_RUN=20
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	--connections | --seconds | --rate | --inflight | --cases | --close-cases | --drain | \
		--idle | --hold)
		if [ $# -lt 2 ] || [ -z "$2" ] || [ -n "${2//[0-9]/}" ]; then
			echo "bench: $1 needs a number" >&2
			exit 2
		fi
		case $1 in
		--connections) CONNECTIONS=$2 ;;
		--idle) IDLE=$2 ;;
		--seconds) SECONDS_RUN=$2 ;;
		esac
		ARGS+=("$1" "$2")
		shift 2
		;;
	--mix)
		[ $# -ge 2 ] || { echo "bench: --mix needs a value" >&2; exit 2; }
		ARGS+=("$1" "$2")
		shift 2
		;;
	*)
		echo "bench: unknown option '$1'" >&2
		usage >&2
		exit 2
		;;
	esac
done

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$TOP/$BUILD
BIN=$BUILD/bin
WORK=$BUILD/bench/commands
for prog in maillaged maillage maillage-bench maillage-diskbench; do
	[ -x "$BIN/$prog" ] || {
		echo "bench: no '$BIN/$prog' (make bench-maillage builds it)" >&2
		exit 1
	}
done

# Each connection is a file descriptor here and in the server, which
# inherits this shell's limit: take the hard limit if the soft one is short.
NEED=$(((IDLE > CONNECTIONS ? IDLE : CONNECTIONS) + 512))
LIMIT=$(ulimit -n)
if [ "$LIMIT" != unlimited ] && [ "$LIMIT" -lt "$NEED" ]; then
	ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
	LIMIT=$(ulimit -n)
	if [ "$LIMIT" != unlimited ] && [ "$LIMIT" -lt "$NEED" ]; then
		echo "bench: open-file limit $LIMIT (hard $(ulimit -Hn)) is under the $NEED needed" >&2
		exit 1
	fi
fi

rm -rf "$WORK"
mkdir -p "$WORK"

# The disk alone, where the data directory will be: commits of a paced run
# (~40 pages), the same while every core is kept busy (as the server, the
# benchmark's clients and the kernel can keep them during a run; on a virtual
# machine a flush may then wait for CPU time outside the guest), and commits
# of a run at full speed (~900 pages), for reading the server's commit times
# against. Only for reference: a failure is said and the benchmark goes on.
if [ "$IDLE" -eq 0 ]; then
	echo "== the disk alone (maillage-diskbench in $WORK, before the server starts)"
	CORES=$(nproc)
	[ "$CORES" -le 64 ] || CORES=64            # maillage-diskbench --busy's limit
	for shape in "40 1000 0" "40 1000 $CORES" "900 200 0"; do
		read -r pages rounds busy <<<"$shape"
		"$BIN/maillage-diskbench" --dir "$WORK" --pages "$pages" --rounds "$rounds" \
			--busy "$busy" ||
			echo "bench: maillage-diskbench failed; going on without its figures" >&2
	done
	echo
fi
PORT=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
"$TOP/tools/devsetup.sh" "$WORK/dev" "$PORT" "$WORK/data" >/dev/null
CONF=$WORK/dev/maillaged.conf

# The map is only address space: the file grows as the log does. Allow
# 100 MiB of log per second of run (about 130 000 events/s at the ~800
# bytes an event takes with its indexes), over the 1 GiB default.
MAP_MB=$((1024 + SECONDS_RUN * 100))
{
	echo "# tools/bench.sh"
	echo "map_size_mb = $MAP_MB"
	# --idle: every connection is one of the development organisations'.
	[ "$IDLE" -eq 0 ] || echo "max_connections_per_org = $IDLE"
	# BENCH_SERVER_CONF: more global keys, one per line (e.g. max_batch = 4096)
	printf '%s\n' "${BENCH_SERVER_CONF:-}"
	echo
	cat "$CONF"
} >"$CONF.new"
mv "$CONF.new" "$CONF"

"$BIN/maillaged" -c "$CONF" 2>"$WORK/server.log" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true' EXIT

# up: the server answers a ping as the landlord.
up() {
	"$BIN/maillage" --addr "127.0.0.1:$PORT" --ca "$WORK/dev/ca.crt" \
		--cert "$WORK/dev/bailleur-est.crt" --key "$WORK/dev/bailleur-est.key" \
		ping >/dev/null 2>&1
}
tries=0
until up; do
	tries=$((tries + 1))
	if [ $tries -ge 100 ] || ! kill -0 "$PID" 2>/dev/null; then
		echo "bench: maillaged did not come up; the end of $WORK/server.log:" >&2
		tail -n 5 "$WORK/server.log" >&2
		exit 1
	fi
	sleep 0.1
done

echo "command benchmark: maillaged pid $PID on 127.0.0.1:$PORT, data in $WORK/data," \
	"map_size_mb=$MAP_MB"
echo "machine: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg) before the run;" \
	"open files: $LIMIT (bench and server)"
echo

LAST='^maillage (commands/s|idle connections):'
set +e
"$BIN/maillage-bench" --addr "127.0.0.1:$PORT" --dev "$WORK/dev" --server-pid "$PID" \
	${ARGS[@]+"${ARGS[@]}"} | tee "$WORK/results.txt" | grep --line-buffered -Ev "$LAST"
RC=${PIPESTATUS[0]}
set -e

SERVER_FILES=$(awk '/^Max open files/ { print $4 }' "/proc/$PID/limits" 2>/dev/null || echo '?')
kill -TERM "$PID" 2>/dev/null || true
wait "$PID" 2>/dev/null || true
trap - EXIT

echo
echo "== after the run"
du -sh "$WORK/data" | awk '{ printf "data directory         %s\n", $1 }'
echo "server open-file limit $SERVER_FILES"
if grep -q 'event=accept_failed' "$WORK/server.log"; then
	echo "server ran out of something while accepting (accept_failed; out of file" \
		"descriptors?):"
	grep 'event=accept_failed' "$WORK/server.log" | sort | uniq -c | sort -rn | head -3
fi
PROBLEMS=$(grep -cE 'level=(warn|error)' "$WORK/server.log" || true)
echo "server log             $PROBLEMS warnings or errors ($WORK/server.log)"
grep -oE 'level=(warn|error) event=[a-z_]+' "$WORK/server.log" | sort | uniq -c |
	sort -rn | head -5 || true
if ! grep -E "$LAST" "$WORK/results.txt" | tail -n 1; then
	if [ "$IDLE" -gt 0 ]; then
		echo "maillage idle connections: 0, server rss: 0 MiB"
	else
		echo "maillage commands/s: 0"
	fi
fi
exit "$RC"
