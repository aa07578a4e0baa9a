#!/usr/bin/env bash
# bench-replay.sh - rebuild every model from a log of a million events, and
# read a case's history of a thousand (make bench-replay; issue 6).
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: tools/bench-replay.sh [--events N] [--history N] [--reads N] [--verify]

Makes a data directory in BUILD/bench/replay/ (wiped first; BUILD defaults
to build) with the development configuration, fills it in process with
about N events (default 1000000; about a minute), then runs
maillage-replaybench's timings: the rebuild of every model from the log (what
maillage-admin rebuild does) and --reads reads of one case's history of
--history events (default 1000). Prints the figures; stops by itself.
--verify first checks that a rebuild gives the models the writer stored,
byte for byte (what maillage-admin verify does; fails when they differ).
USAGE
}

ARGS=()
EVENTS=1000000
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	--verify)
		ARGS+=("$1")
		shift
		;;
	--events | --history | --reads)
		if [ $# -lt 2 ] || [ -z "$2" ] || [ -n "${2//[0-9]/}" ]; then
			echo "bench-replay: $1 needs a number" >&2
			exit 2
		fi
		[ "$1" = --events ] && EVENTS=$2
		ARGS+=("$1" "$2")
		shift 2
		;;
	*)
		echo "bench-replay: unknown option '$1'" >&2
		usage >&2
		exit 2
		;;
	esac
done

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$TOP/$BUILD
WORK=$BUILD/bench/replay
[ -x "$BUILD/bin/maillage-replaybench" ] || {
	echo "bench-replay: no '$BUILD/bin/maillage-replaybench' (make bench-replay builds it)" >&2
	exit 1
}
rm -rf "$WORK"
mkdir -p "$WORK"
"$TOP/tools/devsetup.sh" "$WORK/dev" 7499 "$WORK/data" >/dev/null
CONF=$WORK/dev/maillaged.conf
# The map is address space only: about 2 KiB of file per event, doubled.
{
	echo "map_size_mb = $((1024 + EVENTS * 4 / 1024))"
	echo
	cat "$CONF"
} >"$CONF.new"
mv "$CONF.new" "$CONF"
"$BUILD/bin/maillage-replaybench" -c "$CONF" "${ARGS[@]}"
echo "data file              $(du -h "$WORK/data/data.mdb" | cut -f1) ($WORK/data)"
