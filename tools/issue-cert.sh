#!/bin/sh
# issue-cert.sh CA_DIR ORG_ID OUT_DIR [NAME [ORG_IDENTIFIER]] - issue a partner
# organisation's client certificate from the platform CA (CA_DIR/ca.crt and
# ca.key): OUT_DIR/ORG_ID.key (EC P-256, mode 600) and OUT_DIR/ORG_ID.crt,
# valid 825 days, for TLS client authentication, subject
#   O = NAME, organizationIdentifier = ORG_IDENTIFIER (e.g. SIRET:...), CN = ORG_ID
# The server reads the organisation from the CN: declare ORG_ID as [org ORG_ID]
# in its configuration. Existing files are never overwritten.
set -eu

if [ $# -lt 3 ] || [ $# -gt 5 ]; then
	echo "usage: $0 CA_DIR ORG_ID OUT_DIR [NAME [ORG_IDENTIFIER]]" >&2
	exit 2
fi
CA=$1
ORG=$2
OUT=$3
NAME=${4:-$2}
IDENT=${5:-}
case $ORG in
'' | *[!a-z0-9-]*) echo "issue-cert: organisation id '$ORG' must be lowercase letters, digits and '-'" >&2; exit 2 ;;
esac
for f in "$CA/ca.crt" "$CA/ca.key"; do
	[ -r "$f" ] || { echo "issue-cert: cannot read '$f'" >&2; exit 1; }
done
umask 077
mkdir -p "$OUT"
for f in "$OUT/$ORG.key" "$OUT/$ORG.crt"; do
	[ ! -e "$f" ] || { echo "issue-cert: '$f' exists; not overwritten" >&2; exit 1; }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# rdn VALUE: VALUE escaped for openssl's -subj ('/' and '\').
rdn() {
	printf '%s' "$1" | sed 's#[/\\]#\\&#g'
}

subject="/O=$(rdn "$NAME")"
[ -z "$IDENT" ] || subject="$subject/organizationIdentifier=$(rdn "$IDENT")"
subject="$subject/CN=$ORG"
cat >"$TMP/ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
# ossl ARGS...: openssl, silent unless it fails.
ossl() {
	if ! openssl "$@" >"$TMP/out" 2>&1; then
		echo "issue-cert: openssl $1 failed:" >&2
		cat "$TMP/out" >&2
		exit 1
	fi
}
ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -utf8 \
	-subj "$subject" -keyout "$TMP/key" -out "$TMP/csr"
serial=0x$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
ossl x509 -req -in "$TMP/csr" -CA "$CA/ca.crt" -CAkey "$CA/ca.key" -days 825 -sha256 \
	-set_serial "$serial" -extfile "$TMP/ext" -out "$TMP/crt"
mv "$TMP/key" "$OUT/$ORG.key"
mv "$TMP/crt" "$OUT/$ORG.crt"
chmod 600 "$OUT/$ORG.key"
echo "issue-cert: $OUT/$ORG.crt: $(openssl x509 -in "$OUT/$ORG.crt" -noout -subject -nameopt RFC2253)," \
	"serial $serial"
