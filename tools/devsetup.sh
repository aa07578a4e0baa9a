#!/bin/sh
# devsetup.sh DIR PORT [DATA_DIR] - development certificates and configuration.
#
# Creates, keeping what already exists, a development CA, a server certificate
# for localhost/127.0.0.1, one client certificate per example organisation
# (subject CN = the organisation id, O = its display name), the household
# secret and the master key; rewrites DIR/maillaged.conf and DIR/ORG.env
# (`. DIR/ORG.env` makes the maillage client act as ORG). Also makes test
# identities: `stranger` (signed by the CA but not declared), `rogue-ca`
# (another CA) and `intruder` (CN of a declared organisation, signed by the
# rogue CA).
# DATA_DIR defaults to DIR/../data. Prints one line when done.
set -eu

usage() {
	echo "usage: $0 DIR PORT [DATA_DIR]" >&2
	exit 2
}

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	usage
fi
case $2 in
'' | *[!0-9]*) usage ;;
esac
if [ "$2" -lt 1 ] || [ "$2" -gt 65535 ]; then
	echo "devsetup: bad port '$2' (1 to 65535)" >&2
	exit 2
fi
command -v openssl >/dev/null || { echo "devsetup: 'openssl' not found" >&2; exit 1; }

umask 077
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
PORT=$2
DATA=${3:-$DIR/../data}
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP" "$DIR/.maillaged.conf.tmp"' EXIT

# id|kind|display name|platforms|data_protection (yes: may erase household data)
ORGS="bailleur-est|LANDLORD|Bailleur Est Habitat|vaulx-bron, venissieux
ccas-vaulx|CCAS|CCAS de Vaulx-en-Velin|vaulx-bron
mdm-venissieux|MDM|Maison de la Métropole de Vénissieux|venissieux
hopital-est|HOSPITAL|Hôpital Est|vaulx-bron, venissieux
siao-rhone|SIAO|SIAO du Rhône|vaulx-bron, venissieux
asso-habitat|ASSOCIATION|Habitat et Solidarité|vaulx-bron
asso-relais|ASSOCIATION|Relais Logement|vaulx-bron, venissieux
coord-vaulx-bron|COORDINATION|Coordination Vaulx-en-Velin / Bron|vaulx-bron|yes
coord-venissieux|COORDINATION|Coordination Vénissieux|venissieux
funder-metropole|FUNDER|Métropole de Lyon (financeur)|vaulx-bron, venissieux
auditor|AUDITOR|Auditeur|vaulx-bron, venissieux"

CA_EXT="basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash"
SERVER_EXT="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"
CLIENT_EXT="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"

# ossl ARGS...: openssl, silent unless it fails.
ossl() {
	if ! openssl "$@" >"$TMP/out" 2>&1; then
		echo "devsetup: openssl $1 failed:" >&2
		cat "$TMP/out" >&2
		exit 1
	fi
}

# quote S: S as a shell word (single-quoted when it needs to be).
quote() {
	case $1 in
	*[!A-Za-z0-9_./:@%+,=-]*) printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
	*) printf '%s' "$1" ;;
	esac
}

# rdn VALUE: VALUE escaped for openssl's -subj ('/' and '\').
rdn() {
	case $1 in
	*[/\\]*) printf '%s' "$1" | sed 's#[/\\]#\\&#g' ;;
	*) printf '%s' "$1" ;;
	esac
}

# issue NAME SUBJECT CA EXTENSIONS: DIR/NAME.key and DIR/NAME.crt (signed by
# DIR/CA.crt, or self-signed when CA is NAME). Kept when both exist and the
# certificate is not older than its CA.
issue() {
	if [ -s "$DIR/$1.crt" ] && [ -s "$DIR/$1.key" ] &&
		{ [ "$3" = "$1" ] || [ -z "$(find "$DIR/$3.crt" -newer "$DIR/$1.crt")" ]; }; then
		return 0
	fi
	printf '%s\n' "$4" >"$TMP/ext"
	ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -utf8 \
		-subj "$2" -keyout "$DIR/$1.key" -out "$TMP/csr"
	serial=0x$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	if [ "$3" = "$1" ]; then
		ossl x509 -req -in "$TMP/csr" -signkey "$DIR/$1.key" -days 3650 -sha256 \
			-set_serial "$serial" -extfile "$TMP/ext" -out "$DIR/$1.crt"
	else
		ossl x509 -req -in "$TMP/csr" -CA "$DIR/$3.crt" -CAkey "$DIR/$3.key" \
			-days 825 -sha256 -set_serial "$serial" -extfile "$TMP/ext" \
			-out "$DIR/$1.crt"
	fi
	chmod 600 "$DIR/$1.key"
}

# client NAME CN DISPLAY_NAME CA: a client certificate DIR/NAME.crt with subject
# CN, O=DISPLAY_NAME, signed by CA, and DIR/NAME.env to act with it.
client() {
	issue "$1" "/O=$(rdn "$3")/CN=$2" "$4" "$CLIENT_EXT"
	printf 'export MAILLAGE_ADDR=127.0.0.1:%s MAILLAGE_CERT=%s/%s.crt MAILLAGE_KEY=%s/%s.key MAILLAGE_CA=%s/ca.crt\n' \
		"$PORT" "$QDIR" "$1" "$QDIR" "$1" "$QDIR" >"$DIR/$1.env"
}

QDIR=$(quote "$DIR")
issue ca "/O=maillage/CN=maillage development CA" ca "$CA_EXT"
issue rogue-ca "/O=elsewhere/CN=rogue development CA" rogue-ca "$CA_EXT"
issue server "/O=maillage/CN=localhost" ca "$SERVER_EXT"
if ! [ -s "$DIR/household.secret" ]; then
	ossl rand -hex -out "$DIR/household.secret" 32
fi
chmod 600 "$DIR/household.secret"
if ! [ -s "$DIR/master.key" ]; then
	ossl rand -hex -out "$DIR/master.key" 32
fi
chmod 600 "$DIR/master.key"

n=0
while IFS='|' read -r id kind name platforms dp; do
	client "$id" "$id" "$name" ca
	n=$((n + 1))
done <<EOF
$ORGS
EOF
client stranger stranger "Stranger (not declared)" ca
# The intruder claims a declared organisation's id; its CA must betray it.
client intruder coord-vaulx-bron "Intruder (rogue CA)" rogue-ca

{
	cat <<EOF
# maillaged development configuration, written by tools/devsetup.sh (rewritten
# on every run). Every key is documented in deploy/maillaged.conf.example.
listen = 127.0.0.1:$PORT
data_dir = $DATA
tls_cert = $DIR/server.crt
tls_key = $DIR/server.key
tls_ca = $DIR/ca.crt
household_secret_file = $DIR/household.secret
master_key_file = $DIR/master.key

# Limits and retention periods, at their defaults.
# max_frame_bytes = 1048576
# map_size_mb = 1024
# handshake_timeout_s = 10
# frame_timeout_s = 30
# idle_timeout_s = 600
# max_inflight = 256
# max_connections = 20000
# max_connections_per_org = 1000
# max_batch = 4096
# heartbeat_s = 15
# subscriber_stall_s = 60
# retention_s = 63072000
# retention_check_s = 3600
# journal_retention_s = 31536000

[platform vaulx-bron]
code = VNX
name = Vaulx-en-Velin / Bron

[platform venissieux]
code = VEN
name = Vénissieux
EOF
	while IFS='|' read -r id kind name platforms dp; do
		printf '\n[org %s]\nkind = %s\nname = %s\nplatforms = %s\n' \
			"$id" "$kind" "$name" "$platforms"
		if [ -n "$dp" ]; then
			printf 'data_protection = %s\n' "$dp"
		fi
	done <<EOF
$ORGS
EOF
} >"$DIR/.maillaged.conf.tmp"
mv "$DIR/.maillaged.conf.tmp" "$DIR/maillaged.conf"

echo "development setup in $DIR: $n organisations"
