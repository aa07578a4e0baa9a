#!/bin/sh
# replay.sh - run each fuzz target once on every input of its committed corpus
# (tests/fuzz/corpus/TARGET/), without fuzzing, so that the crashes found so
# far stay fixed: one process per target, one per input when that fails.
# FUZZ is the directory of the target binaries (default build-fuzz).
# Prints "fuzz corpus: N inputs replayed, N failed"; exits 1 on a failure.
set -u

FUZZ=${FUZZ:-build-fuzz}
CORPUS=$(dirname "$0")/corpus
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
n=0
failed=0

for dir in "$CORPUS"/*/; do
	t=$(basename "$dir")
	if ! [ -x "$FUZZ/$t" ]; then
		echo "replay: no target '$FUZZ/$t' (make $FUZZ/$t)" >&2
		failed=$((failed + 1))
		continue
	fi
	set -- "$dir"*
	[ -f "$1" ] || continue
	n=$((n + $#))
	# One process for the whole corpus; when it fails, one per input to
	# count and show the failures.
	"$FUZZ/$t" "$@" >"$LOG" 2>&1 && continue
	for f in "$@"; do
		if ! "$FUZZ/$t" "$f" >"$LOG" 2>&1; then
			failed=$((failed + 1))
			echo "FAIL $t $f" >&2
			tail -n 30 "$LOG" >&2
		fi
	done
done
echo "fuzz corpus: $n inputs replayed, $failed failed"
[ "$failed" -eq 0 ]
