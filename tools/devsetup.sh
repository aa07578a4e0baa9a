#!/bin/sh
# devsetup.sh DIR PORT [DATA_DIR] - development certificates and configuration.
#
# Creates (keeping what already exists) a development CA, a server certificate
# for localhost/127.0.0.1, one client certificate per example organisation
# (subject CN = the organisation id), the household secret, and rewrites
# DIR/maillaged.conf and DIR/ORG.env (`. DIR/ORG.env` makes the maillage client
# act as ORG). Also makes test identities: `stranger` (signed by the CA but not
# declared) and `intruder` (CN of a declared organisation, signed by another CA).
set -eu

[ $# -ge 2 ] || { echo "usage: $0 DIR PORT [DATA_DIR]" >&2; exit 2; }
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
PORT=$2
DATA=${3:-$DIR/../data}
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
umask 077

# id|kind|display name|platforms
ORGS="bailleur-est|LANDLORD|Bailleur Est Habitat|vaulx-bron, venissieux
ccas-vaulx|CCAS|CCAS de Vaulx-en-Velin|vaulx-bron
mdm-venissieux|MDM|Maison de la Métropole de Vénissieux|venissieux
hopital-est|HOSPITAL|Hôpital Est|vaulx-bron, venissieux
siao-rhone|SIAO|SIAO du Rhône|vaulx-bron, venissieux
asso-habitat|ASSOCIATION|Habitat et Solidarité|vaulx-bron
asso-relais|ASSOCIATION|Relais Logement|vaulx-bron, venissieux
coord-vaulx-bron|COORDINATION|Coordination Vaulx-en-Velin / Bron|vaulx-bron
coord-venissieux|COORDINATION|Coordination Vénissieux|venissieux
funder-metropole|FUNDER|Métropole (financeur)|vaulx-bron, venissieux
auditor|AUDITOR|Auditeur|vaulx-bron, venissieux"

# make_ca NAME SUBJECT: a self-signed CA DIR/NAME.crt, DIR/NAME.key.
make_ca() {
	[ -s "$DIR/$1.crt" ] && return 0
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$DIR/$1.key" -out "$DIR/$1.crt" -days 3650 -sha256 \
		-subj "$2" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# issue NAME SUBJECT CA EXTENSIONS: a leaf DIR/NAME.crt, DIR/NAME.key signed by CA.
issue() {
	[ -s "$DIR/$1.crt" ] && return 0
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$DIR/$1.key" -out "$DIR/$1.csr" -subj "$2" 2>/dev/null
	printf '%s\n' "$4" >"$DIR/$1.ext"
	openssl x509 -req -in "$DIR/$1.csr" -CA "$DIR/$3.crt" -CAkey "$DIR/$3.key" \
		-CAcreateserial -out "$DIR/$1.crt" -days 825 -sha256 \
		-extfile "$DIR/$1.ext" 2>/dev/null
	rm -f "$DIR/$1.csr" "$DIR/$1.ext"
}

# client NAME CN DISPLAY CA: a client certificate DIR/NAME.crt with subject CN,
# signed by CA, and its env file DIR/NAME.env.
client() {
	issue "$1" "/O=$(printf '%s' "$3" | sed 's#/#\\/#g')/CN=$2" "$4" \
		"basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
	cat >"$DIR/$1.env" <<EOF
export MAILLAGE_ADDR=127.0.0.1:$PORT
export MAILLAGE_CERT=$DIR/$1.crt
export MAILLAGE_KEY=$DIR/$1.key
export MAILLAGE_CA=$DIR/ca.crt
EOF
}

make_ca ca "/O=maillage/CN=maillage development CA"
make_ca rogue-ca "/O=elsewhere/CN=another CA"
issue server "/O=maillage/CN=localhost" ca "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
[ -s "$DIR/household.secret" ] || openssl rand -hex 32 >"$DIR/household.secret"

echo "$ORGS" | while IFS='|' read -r id kind name platforms; do
	client "$id" "$id" "$name" ca
done
client stranger stranger "Not declared" ca
# The intruder claims a declared organisation's name; its CA must betray it.
client intruder coord-vaulx-bron "Forged" rogue-ca

{
	cat <<EOF
# maillaged development configuration, written by tools/devsetup.sh.
# Every key is documented in deploy/maillaged.conf.example.
listen = 127.0.0.1:$PORT
data_dir = $DATA
tls_cert = $DIR/server.crt
tls_key = $DIR/server.key
tls_ca = $DIR/ca.crt
household_secret_file = $DIR/household.secret
# max_frame_bytes = 1048576
# map_size_mb = 1024
# handshake_timeout_s = 10
# frame_timeout_s = 30
# idle_timeout_s = 600
# max_inflight = 256
# max_batch = 512

[platform vaulx-bron]
code = VNX
name = Vaulx-en-Velin / Bron

[platform venissieux]
code = VEN
name = Vénissieux
EOF
	echo "$ORGS" | while IFS='|' read -r id kind name platforms; do
		printf '\n[org %s]\nkind = %s\nname = %s\nplatforms = %s\n' \
			"$id" "$kind" "$name" "$platforms"
	done
} >"$DIR/maillaged.conf"

echo "development setup in $DIR: $(echo "$ORGS" | wc -l) organisations, port $PORT, data in $DATA"
