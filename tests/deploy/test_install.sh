#!/bin/sh
# test_install.sh - `make install DESTDIR=... PREFIX=...` puts every file in
# its place with its mode, the installed programs answer --help, and the
# units name the programs under PREFIX.
#
# make runs on the tree being tested: BUILD (from tests/run.sh) is build/ or
# build-san/, and SANITIZE (inherited from `make SANITIZE=... test`, else
# address,undefined for build-san/) keeps make from building another tree.
. "$(dirname "$0")/lib.sh"

BUILD=${BUILD:-build}
if [ "$BUILD" = build-san ]; then
	SANITIZE=${SANITIZE:-address,undefined}
else
	SANITIZE=
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# make_install ROOT PREFIX: install into ROOT; make's output in ROOT.log.
make_install() {
	make -s -C "$MAILLAGE_ROOT" install DESTDIR="$1" PREFIX="$2" SANITIZE="$SANITIZE" \
		>"$1.log" 2>&1 || { cat "$1.log"; return 1; }
}

# has MODE FILE: FILE exists, regular, with permissions MODE (octal).
has() {
	[ -f "$2" ] || { echo "missing: $2"; return 1; }
	mode=$(stat -c %a "$2")
	[ "$mode" = "$1" ] || { echo "$2: mode $mode, expected $1"; return 1; }
}

# The scripts other parts of the tree provide, when present.
SCRIPTS=
for s in maillage-ca maillage-backup; do
	[ -f "$MAILLAGE_ROOT/tools/$s" ] && SCRIPTS="$SCRIPTS $s"
done

files_in_place() {
	R=$TMP/root
	has 755 "$R/usr/sbin/maillaged" &&
		has 755 "$R/usr/bin/maillage" &&
		has 755 "$R/usr/bin/maillage-admin" &&
		has 644 "$R/etc/maillage/maillaged.conf.example" &&
		has 644 "$R/usr/lib/systemd/system/maillaged.service" &&
		has 644 "$R/usr/lib/sysusers.d/maillage.conf" || return 1
	for p in maillaged maillage maillage-admin $SCRIPTS; do
		has 644 "$R/usr/share/doc/maillage/$p.txt" || return 1
		[ -s "$R/usr/share/doc/maillage/$p.txt" ] || { echo "$p.txt is empty"; return 1; }
	done
	for s in $SCRIPTS; do
		has 755 "$R/usr/bin/$s" || return 1
	done
	for u in "$MAILLAGE_ROOT"/deploy/*.service "$MAILLAGE_ROOT"/deploy/*.timer; do
		[ -f "$u" ] || continue
		has 644 "$R/usr/lib/systemd/system/$(basename "$u")" || return 1
	done
}

# Nothing else than the files above (and their directories).
nothing_else() {
	n=$(find "$TMP/root" -type f | wc -l)
	units=$(ls "$MAILLAGE_ROOT"/deploy/*.service "$MAILLAGE_ROOT"/deploy/*.timer 2>/dev/null | wc -l)
	set -- $SCRIPTS
	expected=$((3 + 3 + 1 + 1 + units + 2 * $#))
	[ "$n" -eq "$expected" ] || { find "$TMP/root" -type f; echo "$n files, expected $expected"; return 1; }
}

# The installed programs run, and the doc files are their --help.
programs_run() {
	for p in sbin/maillaged bin/maillage bin/maillage-admin; do
		"$TMP/root/usr/$p" --help >"$TMP/help" 2>&1 || { cat "$TMP/help"; return 1; }
		cmp -s "$TMP/help" "$TMP/root/usr/share/doc/maillage/$(basename "$p").txt" ||
			{ echo "$p --help differs from its doc file"; return 1; }
	done
	for s in $SCRIPTS; do
		"$TMP/root/usr/bin/$s" --help >/dev/null 2>&1 || { echo "$s --help failed"; return 1; }
	done
}

sample_config() {
	cmp "$MAILLAGE_ROOT/deploy/maillaged.conf.example" \
		"$TMP/root/etc/maillage/maillaged.conf.example"
}

unit_paths_usr() {
	grep -qx 'ExecStart=/usr/sbin/maillaged -c /etc/maillage/maillaged.conf' \
		"$TMP/root/usr/lib/systemd/system/maillaged.service"
}

# Another PREFIX: programs, doc and units under it, the units pointing there;
# the configuration still under /etc.
other_prefix() {
	make_install "$TMP/opt" /opt/maillage || return 1
	O=$TMP/opt
	has 755 "$O/opt/maillage/sbin/maillaged" &&
		has 755 "$O/opt/maillage/bin/maillage" &&
		has 644 "$O/opt/maillage/share/doc/maillage/maillaged.txt" &&
		has 644 "$O/etc/maillage/maillaged.conf.example" &&
		grep -qx 'ExecStart=/opt/maillage/sbin/maillaged -c /etc/maillage/maillaged.conf' \
			"$O/opt/maillage/lib/systemd/system/maillaged.service" &&
		! grep -n '/usr/s\?bin/' "$O/opt/maillage/lib/systemd/system/"*
}

check "make install DESTDIR=\$tmp PREFIX=/usr" make_install "$TMP/root" /usr
check "every file in place with its mode" files_in_place
check "nothing else installed" nothing_else
check "installed programs run --help, as their doc files say" programs_run
check "the sample configuration is deploy/maillaged.conf.example" sample_config
check "the unit starts /usr/sbin/maillaged" unit_paths_usr
check "PREFIX=/opt/maillage: programs, doc and units under it" other_prefix

finish
