#!/usr/bin/env bash
# bench-postgres.sh [OPTIONS] - what PostgreSQL does for maillage's durable
# appends on this machine (make bench): a throwaway cluster with TLS,
# synchronous commit and fsync on a free loopback port, and pgbench appending
# one event per transaction to a table shaped like maillage's event log
# (tools/bench-postgres/). The last line is "postgresql appends/s: N".
set -euo pipefail

usage() {
	cat <<EOF
usage: $0 [--clients N] [--threads N] [--seconds N] [--cases N] [--body-bytes N]
          [--progress N] [--set NAME=VALUE]... [--dir DIR] [--pg-bin DIR] [--keep]

  --clients N       pgbench connections, each appending in a loop (64)
  --threads N       pgbench threads (2)
  --seconds N       how long the appends run (20)
  --cases N         streams (cases) appended to, split between the clients,
                    from --clients to 999999 (100000)
  --body-bytes N    bytes of each event's body; 750 is the measured average of
                    a maillage event (750)
  --progress N      pgbench progress report every N seconds on stderr, 0 for
                    none (5)
  --set NAME=VALUE  one more server setting (repeatable), e.g. --set
                    shared_buffers=1GB; fsync, synchronous_commit,
                    full_page_writes, wal_sync_method and the TLS and network
                    settings cannot be changed
  --dir DIR         where the run directory (cluster, logs) is made; on the
                    same file system as maillage's data for a fair comparison
                    (BUILD/bench/postgres; BUILD defaults to build)
  --pg-bin DIR      PostgreSQL's programs (the newest /usr/lib/postgresql/*/bin;
                    Debian 12: /usr/lib/postgresql/15/bin)
  --keep            keep the run directory DIR/run.XXXXXX (the server is
                    stopped in any case)

Installs PostgreSQL if missing (apt-get install -y postgresql; root or sudo
without a password needed). As root, the server runs as the postgres user.
The server listens on 127.0.0.1 only, accepts TLS connections only
(hostssl, scram-sha-256, a random password), with fsync=on,
synchronous_commit=on, full_page_writes=on and the default wal_sync_method.
Each transaction inserts one event: a random 16-byte command id, the next
version of a random case's stream, the body (tools/bench-postgres/append.sql).
Prints throughput, latency percentiles (from pgbench's per-transaction log),
failures, server cpu, WAL and table bytes per event.
EOF
}

CLIENTS=64
THREADS=2
SECONDS_RUN=20
CASES=100000
BODY_BYTES=750
PROGRESS=5
SETTINGS=()
DIR=
PGBIN=
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--clients | --threads | --seconds | --cases | --body-bytes | --progress)
		[ $# -ge 2 ] || { echo "bench-postgres: $1 needs a value" >&2; exit 2; }
		case $2 in '' | *[!0-9]*) echo "bench-postgres: bad value '$2' for $1" >&2; exit 2 ;; esac
		case $1 in
		--clients) CLIENTS=$2 ;;
		--threads) THREADS=$2 ;;
		--seconds) SECONDS_RUN=$2 ;;
		--cases) CASES=$2 ;;
		--body-bytes) BODY_BYTES=$2 ;;
		--progress) PROGRESS=$2 ;;
		esac
		shift 2
		;;
	--set)
		[ $# -ge 2 ] || { echo "bench-postgres: $1 needs a value" >&2; exit 2; }
		case ${2%%=*} in
		fsync | synchronous_commit | full_page_writes | wal_sync_method | ssl* | \
			listen_addresses | port | unix_socket_directories | max_connections)
			echo "bench-postgres: '${2%%=*}' is set by this script" >&2
			exit 2
			;;
		esac
		case $2 in
		[a-z]*=*) case ${2%%=*} in *[!a-z0-9_.]*) echo "bench-postgres: bad setting '$2'" >&2; exit 2 ;; esac ;;
		*) echo "bench-postgres: bad setting '$2' (NAME=VALUE)" >&2; exit 2 ;;
		esac
		SETTINGS+=("$2")
		shift 2
		;;
	--dir | --pg-bin)
		if [ $# -lt 2 ] || [ -z "$2" ]; then
			echo "bench-postgres: $1 needs a value" >&2
			exit 2
		fi
		case $1 in --dir) DIR=$2 ;; --pg-bin) PGBIN=$2 ;; esac
		shift 2
		;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench-postgres: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
if [ "$CLIENTS" -lt 1 ] || [ "$THREADS" -lt 1 ] || [ "$SECONDS_RUN" -lt 1 ] ||
	[ "$BODY_BYTES" -lt 1 ]; then
	echo "bench-postgres: --clients, --threads, --seconds and --body-bytes must be positive" >&2
	exit 2
fi
if [ "$THREADS" -gt "$CLIENTS" ]; then
	echo "bench-postgres: --threads $THREADS is more than --clients $CLIENTS" >&2
	exit 2
fi
# Case ids have six digits (VNX-2026-000123); each client needs its own cases.
if [ "$CASES" -lt "$CLIENTS" ] || [ "$CASES" -gt 999999 ]; then
	echo "bench-postgres: --cases must be from --clients ($CLIENTS) to 999999" >&2
	exit 2
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
DIR=${DIR:-$BUILD/bench/postgres}
case $DIR in /*) ;; *) DIR=$(pwd)/$DIR ;; esac
SCRIPTS=$ROOT/tools/bench-postgres
IS_ROOT=0
[ "$(id -u)" = 0 ] && IS_ROOT=1

# find_pgbin: the newest installed PostgreSQL's programs, or nothing.
find_pgbin() {
	local d found=
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/postgres" ] && found="$found$d"$'\n'
	done
	[ -z "$found" ] || printf '%s' "$found" | sort -V | tail -1
}

# PostgreSQL itself: from Debian if missing (Debian 12: PostgreSQL 15, whose
# package postgresql-15 also holds pgbench). The package may create and start
# the system's own cluster (main, port 5432); it stays as it is, idle.
if [ -z "$PGBIN" ]; then
	PGBIN=$(find_pgbin)
	if [ -z "$PGBIN" ]; then
		SUDO=
		if [ $IS_ROOT = 0 ]; then
			if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
				SUDO="sudo -n"
			else
				echo "bench-postgres: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres)" >&2
				echo "bench-postgres: install it as root first: apt-get install -y postgresql" >&2
				exit 1
			fi
		fi
		echo "bench-postgres: installing PostgreSQL (apt-get install -y postgresql)" >&2
		if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; then
			$SUDO apt-get update -q >&2
			$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
		fi
		PGBIN=$(find_pgbin)
		if [ -z "$PGBIN" ]; then
			echo "bench-postgres: apt-get installed no /usr/lib/postgresql/*/bin/postgres" >&2
			exit 1
		fi
	fi
fi
for b in initdb pg_ctl postgres psql pgbench; do
	if ! [ -x "$PGBIN/$b" ]; then
		echo "bench-postgres: '$PGBIN/$b' not found" >&2
		exit 1
	fi
done
command -v openssl >/dev/null || { echo "bench-postgres: 'openssl' not found" >&2; exit 1; }

# as_pg CMD...: CMD as the user the server runs as. initdb and postgres refuse
# root: as root that is the postgres user the package made.
if [ $IS_ROOT = 1 ]; then
	if ! id postgres >/dev/null 2>&1; then
		echo "bench-postgres: no 'postgres' user to run the server as" >&2
		exit 1
	fi
	as_pg() { runuser -u postgres -- "$@"; }
else
	as_pg() { "$@"; }
fi

# Cleanup at exit, whatever happens from here: the server stopped, search
# permissions put back, the run directory removed unless --keep.
RUN=
DATA=
CREATED_DIR=0
OPENED=()
OPENED_MODES=()
cleanup() {
	local i pid
	if [ -n "$DATA" ] && [ -f "$DATA/postmaster.pid" ]; then
		if ! as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 30 stop >/dev/null 2>&1; then
			pid=$(head -1 "$DATA/postmaster.pid" 2>/dev/null || true)
			if [ -n "$pid" ]; then kill -QUIT "$pid" 2>/dev/null || true; fi
		fi
	fi
	for i in "${!OPENED[@]}"; do
		chmod "${OPENED_MODES[$i]}" "${OPENED[$i]}" 2>/dev/null || true
	done
	if [ -n "$RUN" ]; then
		if [ $KEEP = 1 ]; then
			echo "bench-postgres: kept $RUN" >&2
		else
			rm -rf "$RUN"
			[ $CREATED_DIR = 0 ] || rmdir "$DIR" 2>/dev/null || true
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -d "$DIR" ] || CREATED_DIR=1
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

# As root the server runs as postgres, which needs to search every directory
# above its data. tools/devsetup.sh leaves build/bench at 0700: inside the
# project the search bit for others is added for the run (the directories
# below stay as they are) and put back at exit; outside it, the script stops.
if [ $IS_ROOT = 1 ]; then
	d=$DIR
	ANCESTORS=()
	while :; do
		ANCESTORS=("$d" "${ANCESTORS[@]}")
		[ "$d" = / ] && break
		d=$(dirname "$d")
	done
	for d in "${ANCESTORS[@]}"; do
		runuser -u postgres -- test -x "$d" && continue
		case $d in
		"$ROOT"/*)
			OPENED+=("$d")
			OPENED_MODES+=("$(stat -c %a "$d")")
			chmod o+x "$d"
			;;
		*)
			echo "bench-postgres: the postgres user cannot reach '$DIR' (no search permission on '$d'); choose another --dir" >&2
			exit 1
			;;
		esac
	done
fi

RUN=$(mktemp -d "$DIR/run.XXXXXX")
[ $IS_ROOT = 0 ] || chown postgres: "$RUN"
DATA=$RUN/data

# The cluster: UTF8, C locale (no dependency on the machine's locales), a
# superuser 'postgres' with a random password given to initdb in a file.
PASSWORD=$(openssl rand -hex 16)
(umask 077 && echo "$PASSWORD" >"$RUN/pwfile")
[ $IS_ROOT = 0 ] || chown postgres: "$RUN/pwfile"
if ! as_pg "$PGBIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C \
	--auth-local=scram-sha-256 --auth-host=scram-sha-256 --pwfile="$RUN/pwfile" \
	>"$RUN/initdb.log" 2>&1; then
	echo "bench-postgres: initdb failed ($RUN/initdb.log):" >&2
	tail -5 "$RUN/initdb.log" >&2
	exit 1
fi
rm -f "$RUN/pwfile"

# A self-signed server certificate, made in the data directory by its owner
# (the server refuses a key others can read).
if ! as_pg openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$DATA/server.key" -out "$DATA/server.crt" -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 >"$RUN/openssl.log" 2>&1; then
	echo "bench-postgres: openssl req failed ($RUN/openssl.log):" >&2
	tail -5 "$RUN/openssl.log" >&2
	exit 1
fi
as_pg chmod 600 "$DATA/server.key"

if command -v python3 >/dev/null; then
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0));
print(s.getsockname()[1])')
else
	# Under the usual ephemeral range (32768-60999), nothing listening there.
	while :; do
		PORT=$((20000 + RANDOM % 12000))
		(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
	done
fi

# Settings: appended last, they win over initdb's. The durability settings are
# written out even where they are the defaults, so that the file says it.
{
	echo
	echo "# added by tools/bench-postgres.sh"
	echo "listen_addresses = '127.0.0.1'"
	echo "port = $PORT"
	echo "unix_socket_directories = ''"
	echo "max_connections = $((CLIENTS + 10))"
	echo "ssl = on"
	echo "ssl_cert_file = 'server.crt'"
	echo "ssl_key_file = 'server.key'"
	echo "ssl_min_protocol_version = 'TLSv1.2'"
	echo "fsync = on"
	echo "synchronous_commit = on"
	echo "full_page_writes = on"
	echo "# wal_sync_method: the platform's default"
	for s in "${SETTINGS[@]}"; do
		v=${s#*=}
		echo "${s%%=*} = '${v//\'/\'\'}'"
	done
} >>"$DATA/postgresql.conf"
# TLS only, from the loopback only, with the password.
cat >"$DATA/pg_hba.conf" <<EOF
# tools/bench-postgres.sh: TLS connections from 127.0.0.1 only
hostssl all postgres 127.0.0.1/32 scram-sha-256
EOF

if ! as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start >"$RUN/pg_ctl.log" 2>&1; then
	echo "bench-postgres: the server did not start ($DATA/server.log):" >&2
	tail -5 "$RUN/pg_ctl.log" "$DATA/server.log" >&2
	exit 1
fi
POSTMASTER=$(head -1 "$DATA/postmaster.pid")

# Every client below connects like this, over TLS (the server takes nothing
# else). PGOPTIONS could change synchronous_commit for a session: unset.
unset PGOPTIONS PGSERVICE PGSERVICEFILE PGSYSCONFDIR PGTARGETSESSIONATTRS
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
export PGPASSWORD=$PASSWORD PGSSLMODE=require PGCONNECT_TIMEOUT=10
export PGAPPNAME=bench-postgres

# sql QUERY: one value from the server, over TLS.
sql() {
	"$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"
}

if ! "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -f "$SCRIPTS/schema.sql" >"$RUN/schema.log" 2>&1; then
	echo "bench-postgres: cannot create the table ($RUN/schema.log):" >&2
	tail -5 "$RUN/schema.log" >&2
	exit 1
fi
VERSION=$(sql "SHOW server_version")
TLS=$(sql "SELECT version || ' ' || cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
DURABILITY=$(sql "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings
	WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method')")
LSN0=$(sql "SELECT pg_current_wal_insert_lsn()")
# WAL flushes to disk (fdatasync or the like): each makes durable every
# commit written before it, so events per flush is PostgreSQL's group commit.
WAL_SYNCS0=$(sql "SELECT wal_sync FROM pg_stat_wal")

# server_cpu: cpu seconds of the server so far: the postmaster, its children
# that ended (reaped: counted in its own stat) and those still running.
server_cpu() {
	local hz
	hz=$(getconf CLK_TCK)
	{
		sed 's/.*) //' "/proc/$POSTMASTER/stat" 2>/dev/null |
			awk '{ print "self", $12 + $13 + $14 + $15 }'
		for f in /proc/[0-9]*/stat; do
			sed 's/.*) //' "$f" 2>/dev/null || true
		done | awk -v pm="$POSTMASTER" '$2 == pm { print "child", $12 + $13 }'
	} | awk -v hz="$hz" '{ t += $2 } END { printf "%.1f", t / hz }'
}

# A body of BODY_BYTES letters and digits (bytea's escape input takes them as
# they are), sent by pgbench with each insert.
BODY=$(awk -v n="$BODY_BYTES" 'BEGIN {
	srand(); c = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for (i = 0; i < n; i++) s = s substr(c, int(rand() * 62) + 1, 1)
	print s }')

echo "postgresql benchmark: PostgreSQL $VERSION on 127.0.0.1:$PORT, data in $DATA"
echo "connections            $TLS, sslmode=require, scram-sha-256 (the server takes TLS only)"
echo "durability             $DURABILITY"
echo "$(nproc) cpus, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start" \
	"(other work skews the figures)"
echo "appending              $CLIENTS clients on $THREADS threads for $SECONDS_RUN s," \
	"one event of $BODY_BYTES bytes per transaction, $CASES cases"

PROGRESS_OPT=()
[ "$PROGRESS" = 0 ] || PROGRESS_OPT=(-P "$PROGRESS")
CPU0=$(server_cpu)
RC=0
"$PGBIN/pgbench" -n -M prepared -c "$CLIENTS" -j "$THREADS" -T "$SECONDS_RUN" \
	"${PROGRESS_OPT[@]}" -l --log-prefix="$RUN/txn" -f "$SCRIPTS/append.sql" \
	-D cases="$CASES" -D n_clients="$CLIENTS" -D body="$BODY" >"$RUN/pgbench.out" || RC=$?
# The backends end just after their clients: give the postmaster time to reap
# them, so that their cpu time counts.
for _ in $(seq 50); do
	[ -z "$(sql "SELECT 1 FROM pg_stat_activity WHERE backend_type = 'client backend'
		AND pid <> pg_backend_pid() LIMIT 1")" ] && break
	sleep 0.1
done
CPU1=$(server_cpu)
if [ $RC != 0 ]; then
	echo "bench-postgres: pgbench failed (exit $RC; $RUN/pgbench.out, $DATA/server.log):" >&2
	cat "$RUN/pgbench.out" >&2
	tail -5 "$DATA/server.log" >&2
	exit 1
fi

# pgbench_value LABEL: the figure after "LABEL" in pgbench's report.
pgbench_value() {
	awk -v l="$1" 'index($0, l) == 1 { s = substr($0, length(l) + 1); sub(/^[ =:]+/, "", s);
		split(s, a, " "); print a[1]; exit }' "$RUN/pgbench.out"
}
TPS=$(pgbench_value "tps")
DONE=$(pgbench_value "number of transactions actually processed")
FAILED=$(pgbench_value "number of failed transactions")
LAT_AVG=$(pgbench_value "latency average")
CONNECT_MS=$(pgbench_value "initial connection time")

# Latency percentiles from the per-transaction logs (one file per thread;
# the third field is the latency in microseconds, or "failed"), nearest rank.
PERCENTILES=$(cat "$RUN"/txn.* | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n |
	awk '{ v[NR] = $1 }
	function at(p,  i) { i = int(p * NR); if (i < p * NR) i++; if (i < 1) i = 1; return v[i] / 1000 }
	END {
		if (NR == 0) { print "none logged"; exit }
		printf "p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms",
			at(0.5), at(0.9), at(0.99), at(0.999), v[NR] / 1000
	}')

ROWS=$(sql "SELECT count(*) FROM events")
WAL_BYTES=$(sql "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$LSN0')")
TABLE_BYTES=$(sql "SELECT pg_total_relation_size('events')")
WAL_SYNCS=$(($(sql "SELECT wal_sync FROM pg_stat_wal") - WAL_SYNCS0))
HEADS=$(sql "SELECT count(DISTINCT stream) || ' streams, up to version ' || max(version) FROM events")
WARNINGS=$(grep -cE '(WARNING|ERROR|FATAL|PANIC):' "$DATA/server.log" || true)

echo
echo "== summary"
echo "transactions           $DONE in $SECONDS_RUN s, $FAILED failed; $ROWS events in the table ($HEADS)"
echo "throughput             $(printf '%.0f' "$TPS") appends/s (pgbench's tps, without the" \
	"initial connection time: $(printf '%.0f' "$CONNECT_MS") ms)"
echo "latency                average $(printf '%.1f' "$LAT_AVG") ms; $PERCENTILES"
echo "server cpu             $(awk -v a="$CPU0" -v b="$CPU1" 'BEGIN { printf "%.1f", b - a }') s" \
	"during the run (pgbench shares the machine)"
if [ "$ROWS" -gt 0 ] && [ "$WAL_SYNCS" -gt 0 ]; then
	echo "WAL flushes            $WAL_SYNCS ($(awk -v e="$ROWS" -v s="$WAL_SYNCS" \
		'BEGIN { printf "%.1f", e / s }') events each, $(awk -v s="$WAL_SYNCS" -v t="$SECONDS_RUN" \
		'BEGIN { printf "%.0f", s / t }')/s)"
fi
if [ "$ROWS" -gt 0 ]; then
	echo "bytes per event        WAL $((WAL_BYTES / ROWS)), table and indexes $((TABLE_BYTES / ROWS))" \
		"(body $BODY_BYTES)"
fi
echo "server log             $WARNINGS warnings or errors ($DATA/server.log)"
if [ "$ROWS" != "$DONE" ]; then
	echo "bench-postgres: $DONE transactions but $ROWS events" >&2
	exit 1
fi
echo "postgresql appends/s: $(printf '%.0f' "$TPS")"
