#!/bin/sh
# deps.sh PACKAGE... - install the Debian packages among PACKAGE that are missing.
# Quiet when everything is there; uses sudo when not root.
missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "maillage: installing missing Debian packages:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq || exit 1
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing || exit 1
