#!/bin/sh
# run.sh TEST... - run cmocka test binaries one after the other, show their
# output, and close with the total: "N passed, N failed". Exit 1 if any test
# failed or a binary died before reporting.
passed=0
failed=0
root=$(cd "$(dirname "$0")/.." && pwd)
export MAILLAGE_ROOT="$root"
export MAILLAGE_BIN="$root/${BUILD:-build}/bin"
for t in "$@"; do
	name=$(basename "$t")
	out=$(mktemp)
	"$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	# a binary may run several groups: add their closing lines up
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{ n += $1 } END { print n + 0 }')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{ n += $1 } END { print n + 0 }')
	p=${p:-0}
	f=${f:-0}
	# cmocka's exit status leaves out a failed group setup or teardown (the
	# harness's check of the server's exit): each counts as one failure
	g=$(grep -c '^\[  FAILED  \] GROUP ' "$out")
	f=$((f + g))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$name: exited with status $rc before reporting its failures"
		f=$((f + 1))
	fi
	echo "== $name: $p passed, $f failed"
	passed=$((passed + p))
	failed=$((failed + f))
	rm -f "$out"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
