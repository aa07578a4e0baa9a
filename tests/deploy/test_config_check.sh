#!/bin/sh
# test_config_check.sh - deploy/maillaged.conf.example documents every key of
# server/config.c's key tables, with a value (its default) for every optional
# global key; `maillaged --check-config -c FILE` accepts the example (with
# real paths) without starting anything, and refuses a bad value and an
# unknown key with a status other than 0 and "FILE:LINE: problem".
. "$(dirname "$0")/lib.sh"

EXAMPLE=$MAILLAGE_ROOT/deploy/maillaged.conf.example
CONFIG_C=$MAILLAGE_ROOT/server/config.c
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# The names of a key table: `{ "name", required, ...` lines between
# `TABLE[] = {` and its end.
table_keys() {
	sed -n "/^static const struct key $1\[\] = {/,/^};/p" "$CONFIG_C" |
		sed -n 's/^[[:space:]]*{ "\([a-z_]*\)", \(true\|false\),.*/\1 \2/p'
}

# Global keys: a `key = value` line, commented out for an optional key (its
# default), with a comment just above it.
globals_documented() {
	table_keys global_keys >"$TMP/globals"
	[ "$(wc -l <"$TMP/globals")" -ge 20 ] || { echo "cannot read the global key table"; return 1; }
	ok=0
	while read -r key required; do
		if [ "$required" = true ]; then
			line=$(grep -n "^$key = ." "$EXAMPLE" | head -n 1)
		else
			line=$(grep -n "^#\{0,1\} *$key = ." "$EXAMPLE" | head -n 1)
		fi
		if [ -z "$line" ]; then
			echo "global key '$key' is not in deploy/maillaged.conf.example with a value"
			ok=1
			continue
		fi
		# Above it, after the keys documented together with it: a comment.
		n=${line%%:*}
		while [ "$n" -gt 1 ] && sed -n "$((n - 1))p" "$EXAMPLE" | grep -q '^[a-z_]* = '; do
			n=$((n - 1))
		done
		sed -n "$((n - 1))p" "$EXAMPLE" | grep -q '^#' ||
			{ echo "global key '$key' has no comment above it"; ok=1; }
	done <"$TMP/globals"
	return $ok
}

# Section keys: listed in the comment of their section ("#   key   ...").
sections_documented() {
	ok=0
	for table in platform_keys org_keys; do
		table_keys $table >"$TMP/keys"
		[ -s "$TMP/keys" ] || { echo "cannot read $table"; return 1; }
		while read -r key required; do
			grep -q "^#   $key\( \|$\)" "$EXAMPLE" ||
				{ echo "section key '$key' ($table) is not documented"; ok=1; }
		done <"$TMP/keys"
	done
	return $ok
}

# Every optional number documented says its range ("N to M").
ranges_documented() {
	table_keys global_keys | while read -r key required; do
		grep -q "{ \"$key\", false, set_\(size\|uint\)," "$CONFIG_C" || continue
		# Its comment: the lines above it, up to the previous key.
		n=$(grep -n "^# $key = " "$EXAMPLE" | cut -d: -f1)
		start=$n
		while [ "$start" -gt 1 ] && sed -n "$((start - 1))p" "$EXAMPLE" | grep -q '^#' &&
			! sed -n "$((start - 1))p" "$EXAMPLE" | grep -q '^# [a-z_]* = '; do
			start=$((start - 1))
		done
		sed -n "${start},${n}p" "$EXAMPLE" | grep -q '[0-9] to [0-9]' ||
			{ echo "'$key': no range ('N to M') in its comment"; exit 1; }
	done
}

# The example with the paths of a development setup.
"$MAILLAGE_ROOT/tools/devsetup.sh" "$TMP/dev" 7400 "$TMP/devdata" >/dev/null
sed -e "s|/etc/maillage/|$TMP/dev/|" -e "s|/var/lib/maillage|$TMP/data|" "$EXAMPLE" \
	>"$TMP/ok.conf"

accepts_example() {
	"$MAILLAGE_BIN/maillaged" --check-config -c "$TMP/ok.conf" >"$TMP/out" 2>&1 ||
		{ cat "$TMP/out"; return 1; }
	grep -q "^$TMP/ok.conf: ok (" "$TMP/out" || { cat "$TMP/out"; return 1; }
	# Checked, not started: no data directory, nothing logged.
	! [ -e "$TMP/data" ] || { echo "--check-config created the data directory"; return 1; }
}

# refuses NAME LINE TEXT MESSAGE: the example with TEXT inserted as line LINE
# (or appended when LINE is past the end) is refused with status 1 and
# "FILE:LINE: MESSAGE".
refuses() {
	{
		sed -n "1,$(($2 - 1))p" "$TMP/ok.conf"
		printf '%s\n' "$3"
		sed -n "$2,\$p" "$TMP/ok.conf"
	} >"$TMP/$1.conf"
	"$MAILLAGE_BIN/maillaged" --check-config -c "$TMP/$1.conf" >"$TMP/out" 2>&1
	rc=$?
	cat "$TMP/out"
	[ "$rc" -eq 1 ] || { echo "exit status $rc, expected 1"; return 1; }
	grep -qF "$TMP/$1.conf:$2: $4" "$TMP/out"
}

# The first line of the first section: insertions before it are global.
first_section=$(grep -n '^\[' "$TMP/ok.conf" | head -n 1 | cut -d: -f1)
last=$(wc -l <"$TMP/ok.conf")

check "every global key of config.c is in the example, with a value and a comment" \
	globals_documented
check "every platform and org key of config.c is documented" sections_documented
check "every optional number says its range" ranges_documented
check "--check-config accepts the example with real paths, and starts nothing" \
	accepts_example
check "--check-config refuses a bad value, naming its line" \
	refuses bad-value "$first_section" "max_inflight = 0" \
	"'max_inflight' must be a whole number from 1 to 65536, not '0'"
check "--check-config refuses a bad log_level, naming its line" \
	refuses bad-level "$first_section" "log_level = verbose" \
	"'log_level' must be debug, info, warn or error, not 'verbose'"
check "--check-config refuses an unknown global key, naming its line" \
	refuses unknown-key 20 "max_conections = 10" "unknown key 'max_conections'"
check "--check-config refuses an unknown key in a section, naming its line" \
	refuses unknown-org-key "$((last + 1))" "platform = vaulx-bron" \
	"unknown key 'platform' in [org auditor]"
check "--check-config refuses a bad value in a section, naming its line" \
	refuses bad-kind "$((last + 1))" "data_protection = perhaps" \
	"'data_protection' must be yes or no, not 'perhaps'"

finish
