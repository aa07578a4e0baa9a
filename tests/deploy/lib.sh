# lib.sh - sourced by the shell tests under tests/deploy/: checks reported in
# cmocka's format so tests/run.sh counts them.
#
#   . "$(dirname "$0")/lib.sh"
#   check "what is checked" command args...   # passes when the command exits 0
#   skip "what" "why"                         # printed, counted neither way
#   finish                                    # the closing lines; exit status
#
# MAILLAGE_ROOT and MAILLAGE_BIN come from tests/run.sh.
: "${MAILLAGE_ROOT:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MAILLAGE_BIN:=$MAILLAGE_ROOT/build/bin}"
T_PASSED=0
T_FAILED=0

check() {
	what=$1
	shift
	echo "[ RUN      ] $what"
	if "$@"; then
		echo "[       OK ] $what"
		T_PASSED=$((T_PASSED + 1))
	else
		echo "[  FAILED  ] $what"
		T_FAILED=$((T_FAILED + 1))
	fi
}

skip() {
	echo "[ SKIPPED  ] $1: $2"
}

finish() {
	echo "[  PASSED  ] $T_PASSED test(s)."
	[ "$T_FAILED" -eq 0 ] || echo "[  FAILED  ] $T_FAILED test(s)."
	[ "$T_FAILED" -eq 0 ]
}
