#!/bin/sh
# revoke.sh CA_DIR DB_DIR CRL [CERT...] - revoke client certificates and write
# the certificate revocation list CRL (PEM) that maillaged reads (tls_crl),
# signed with CA_DIR/ca.crt and CA_DIR/ca.key. Revocations are kept in DB_DIR
# (an `openssl ca` database), so each run adds to the earlier ones; with no
# CERT it only rewrites the list (e.g. an empty one, or before it expires:
# lists are valid 30 days). Then send SIGHUP to maillaged to reload it.
set -eu

if [ $# -lt 3 ]; then
	echo "usage: $0 CA_DIR DB_DIR CRL [CERT...]" >&2
	exit 2
fi
CA=$1
DB=$2
CRL=$3
shift 3
for f in "$CA/ca.crt" "$CA/ca.key" "$@"; do
	[ -r "$f" ] || { echo "revoke: cannot read '$f'" >&2; exit 1; }
done
umask 077
mkdir -p "$DB"
[ -e "$DB/index.txt" ] || : >"$DB/index.txt"
[ -e "$DB/crlnumber" ] || echo 01 >"$DB/crlnumber"
cat >"$DB/openssl.cnf" <<CNF
[ca]
default_ca = maillage
[maillage]
database = $DB/index.txt
crlnumber = $DB/crlnumber
certificate = $CA/ca.crt
private_key = $CA/ca.key
default_md = sha256
default_crl_days = 30
CNF

# ossl ARGS...: openssl, silent unless it fails.
ossl() {
	if ! out=$(openssl "$@" 2>&1); then
		echo "revoke: openssl $1 failed:" >&2
		echo "$out" >&2
		exit 1
	fi
}

for cert in "$@"; do
	serial=$(openssl x509 -in "$cert" -noout -serial | sed 's/^serial=//')
	if grep -q "	$serial	" "$DB/index.txt"; then
		echo "revoke: '$cert' (serial $serial) was already revoked"
	else
		ossl ca -config "$DB/openssl.cnf" -revoke "$cert"
		echo "revoke: revoked '$cert' (serial $serial)"
	fi
done
ossl ca -config "$DB/openssl.cnf" -gencrl -out "$CRL.tmp"
mv "$CRL.tmp" "$CRL"
echo "revoke: wrote '$CRL' ($(grep -c '^R' "$DB/index.txt") revoked)"
