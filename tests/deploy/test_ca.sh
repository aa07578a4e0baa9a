#!/bin/sh
# test_ca.sh - tools/maillage-ca end to end with the real server: a CA, a
# server certificate and partners' client certificates; onboarding a new
# organisation (certificate, [org] section, restart); revocation by
# organisation and by serial, seen by maillaged after SIGHUP; refusals
# (existing CA, duplicate, bad ids, another CA) and file modes.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
. "$(dirname "$0")/lib.sh"

CA_TOOL=$MAILLAGE_ROOT/tools/maillage-ca
T=$(mktemp -d "${TMPDIR:-/tmp}/test_ca.XXXXXX")
CA=$T/ca
CONF=$T/maillaged.conf
LOG=$T/server.log
PID=

cleanup() {
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ca() {
	"$CA_TOOL" "$@" >>"$T/ca.out" 2>&1
}

# fails CODE CMD...: CMD exits with status CODE.
fails() {
	want=$1
	shift
	"$@" >>"$T/ca.out" 2>&1
	[ $? -eq "$want" ]
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + $$ % 20000))
}
PORT=$(free_port)

mode_is() {
	[ "$(stat -c %a "$2")" = "$1" ]
}

# has_ext CERT TEXT: the certificate's extensions mention TEXT.
has_ext() {
	openssl x509 -in "$1" -noout -text | grep -q "$2"
}

# verify PURPOSE CERT: CERT chains to the CA (and the CRL, when checked) for PURPOSE.
verify() {
	openssl verify -purpose "$1" -CAfile "$CA/ca.crt" "$2" >/dev/null 2>&1
}

# list_has ORG STATUS: `maillage-ca list` shows a client certificate of ORG with STATUS.
list_has() {
	"$CA_TOOL" list "$CA" | awk -v o="$1" -v s="$2" '$2 == s && $NF == o { f = 1 } END { exit !f }'
}

# listed_once ORG STATUS: ORG has one certificate in the list, with STATUS.
listed_once() {
	list_has "$1" "$2" &&
		[ "$("$CA_TOOL" list "$CA" | awk -v o="$1" '$NF == o { n++ } END { print n + 0 }')" -eq 1 ]
}

# ping DIR ORG [CERT_DIR]: the CLI's ping as ORG, with DIR/orgs/ORG.{crt,key}.
ping_as() {
	"$MAILLAGE_BIN/maillage" --addr "127.0.0.1:$PORT" --cert "$1/orgs/$2.crt" \
		--key "$1/orgs/$2.key" --ca "$CA/ca.crt" --timeout 5000 ping >"$T/ping.out" 2>&1
}

pings() {
	ping_as "$CA" "$1" && grep -q "organisation.*$1" "$T/ping.out"
}

# refused CODE ORG: ping as ORG exits with CODE.
refused() {
	ping_as "${3:-$CA}" "$2"
	[ $? -eq "$1" ]
}

log_has() {
	grep -q "$1" "$LOG"
}

wait_log() {
	i=0
	while [ $i -lt 100 ]; do
		grep -q "$1" "$LOG" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# write_conf ORG:KIND...: the server's configuration, as an operator writes it.
write_conf() {
	cat >"$CONF" <<EOF
listen = 127.0.0.1:$PORT
data_dir = $T/data
tls_cert = $CA/server.crt
tls_key = $CA/server.key
tls_ca = $CA/ca.crt
tls_crl = $CA/crl.pem
household_secret_file = $T/household.secret
master_key_file = $T/master.key

[platform test-ca]
code = TCA
name = Plateforme de test
EOF
	for o in "$@"; do
		printf '\n[org %s]\nkind = %s\nname = %s\nplatforms = test-ca\n' \
			"${o%%:*}" "${o#*:}" "${o%%:*}" >>"$CONF"
	done
}

start_server() {
	: >"$LOG"
	"$MAILLAGE_BIN/maillaged" -c "$CONF" >>"$LOG" 2>&1 &
	PID=$!
	wait_log "event=listening"
}

stop_server() {
	kill "$PID" && wait "$PID"
	rc=$?
	PID=
	[ $rc -eq 0 ]
}

hup() {
	n=$(grep -c "event=tls_reloaded" "$LOG")
	kill -HUP "$PID" || return 1
	i=0
	while [ "$(grep -c "event=tls_reloaded" "$LOG")" -le "$n" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ $i -lt 100 ]
}

serial_of() {
	openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'
}

# crl_number: the list's number, in decimal.
crl_number() {
	echo $(($(openssl crl -in "$CA/crl.pem" -noout -crlnumber | sed 's/^crlNumber=//')))
}

# --- the tool itself -----------------------------------------------------------
check "--help has a synopsis, every command, the files and the exit status" \
	sh -c '"$1" --help >"$2" && for w in SYNOPSIS "init DIR" "server DIR" "issue DIR" \
		"list DIR" "revoke DIR" "crl DIR" FILES "EXIT STATUS"; do
		grep -q "$w" "$2" || exit 1; done' sh "$CA_TOOL" "$T/help"
check "an unknown command is a usage error (2)" fails 2 "$CA_TOOL" frobnicate "$CA"
check "init without --name is a usage error (2)" fails 2 "$CA_TOOL" init "$CA"

# --- init ----------------------------------------------------------------------
check "init makes the CA" ca init "$CA" --name "Plateforme maillage de test (Métropole)"
check "the CA certificate is a self-signed CA" \
	sh -c 'openssl verify -CAfile "$1" "$1" >/dev/null && openssl x509 -in "$1" -noout -text |
		grep -q "CA:TRUE"' sh "$CA/ca.crt"
check "the CA directory is mode 0700" mode_is 700 "$CA"
check "the CA key is mode 0600" mode_is 600 "$CA/ca.key"
check "init writes an empty revocation list" \
	sh -c 'openssl crl -in "$1/crl.pem" -CAfile "$1/ca.crt" -noout 2>&1 | grep -q "verify OK" &&
		! openssl crl -in "$1/crl.pem" -noout -text | grep -q "Serial Number"' sh "$CA"
sum=$(cksum <"$CA/ca.key")
check "init refuses to overwrite an existing CA (1), key unchanged" \
	sh -c '"$1" init "$2" --name other >/dev/null 2>&1; [ $? -eq 1 ] &&
		[ "$(cksum <"$2/ca.key")" = "$3" ]' sh "$CA_TOOL" "$CA" "$sum"

# --- server certificate -----------------------------------------------------------
check "server issues the server's certificate" ca server "$CA" --host localhost --ip 127.0.0.1
check "it is for TLS server authentication, from the CA" verify sslserver "$CA/server.crt"
check "its subjectAltName names localhost and 127.0.0.1" \
	sh -c 'openssl x509 -in "$1" -noout -ext subjectAltName |
		grep -q "DNS:localhost, IP Address:127.0.0.1"' sh "$CA/server.crt"
check "the server key is mode 0600" mode_is 600 "$CA/server.key"
check "server refuses to overwrite it without --force (1)" \
	fails 1 "$CA_TOOL" server "$CA" --host localhost

# --- organisations ----------------------------------------------------------------
check "issue asso-nouvelle, with a name and an organisation identifier" \
	ca issue "$CA" asso-nouvelle --name "Habitat / Solidarité" \
	--org-identifier SIRET:12345678900017
check "its subject CN is the organisation id" \
	sh -c 'openssl x509 -in "$1" -noout -subject -nameopt RFC2253,-esc_msb |
		grep -q "^subject=CN=asso-nouvelle,organizationIdentifier=SIRET:12345678900017,O=Habitat / Solidarité$"' \
	sh "$CA/orgs/asso-nouvelle.crt"
check "it is for TLS client authentication only" \
	sh -c 'openssl x509 -in "$1" -noout -ext extendedKeyUsage | grep -qx " *TLS Web Client Authentication"' \
	sh "$CA/orgs/asso-nouvelle.crt"
check "it chains to the CA as a client certificate" verify sslclient "$CA/orgs/asso-nouvelle.crt"
check "its key is mode 0600" mode_is 600 "$CA/orgs/asso-nouvelle.key"
check "issue coord-test" ca issue "$CA" coord-test --name "Coordination de test"
check "a second certificate for asso-nouvelle is refused (1)" \
	fails 1 "$CA_TOOL" issue "$CA" asso-nouvelle
for bad in Asso-Nouvelle asso_nouvelle "a/b" "" \
	aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; do
	check "bad organisation id '$bad' is refused (1)" fails 1 "$CA_TOOL" issue "$CA" "$bad"
done
check "a 64-character organisation id is accepted" \
	ca issue "$CA" aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
check "list shows asso-nouvelle valid, once" listed_once asso-nouvelle valid

# A certificate that expired (signed by openssl ca with dates in the past):
# listed expired, and no obstacle to a new one.
(cd "$CA" && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj "/CN=asso-ancienne" -keyout "$T/old.key" -out "$T/old.csr" &&
	openssl ca -batch -config openssl.cnf -extensions client_ext -notext \
		-startdate 20200101000000Z -enddate 20210101000000Z -in "$T/old.csr" \
		-out "$T/old.crt") >/dev/null 2>&1
check "list shows a certificate past its date expired" listed_once asso-ancienne expired
check "an expired certificate does not stop a new one" ca issue "$CA" asso-ancienne
check "list then shows it valid too" list_has asso-ancienne valid

# A partner that makes its own key sends a request; what it asks for beyond
# its key (subject, CA:TRUE) is ignored.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=coord-test" \
	-addext "basicConstraints=critical,CA:TRUE" -keyout "$T/partner.key" \
	-out "$T/partner.csr" >/dev/null 2>&1
check "issue --csr signs a partner's own request" ca issue "$CA" asso-csr --csr "$T/partner.csr"
check "its subject is the organisation id, its extensions ours" \
	sh -c 'openssl x509 -in "$1" -noout -subject | grep -q "CN *= *asso-csr$" &&
		! openssl x509 -in "$1" -noout -text | grep -q "CA:TRUE"' sh "$CA/orgs/asso-csr.crt"
check "no key is written for it" test ! -e "$CA/orgs/asso-csr.key"
check "it matches the partner's key" \
	sh -c '[ "$(openssl x509 -in "$1" -noout -pubkey)" = "$(openssl pkey -in "$2" -pubout)" ]' \
	sh "$CA/orgs/asso-csr.crt" "$T/partner.key"

# --- with the server --------------------------------------------------------------
(umask 077 && openssl rand -hex -out "$T/household.secret" 32 &&
	openssl rand -hex -out "$T/master.key" 32)
write_conf asso-nouvelle:ASSOCIATION coord-test:COORDINATION
check "maillaged starts with the CA, its server certificate and its list" start_server
check "asso-nouvelle's certificate opens a session as asso-nouvelle" pings asso-nouvelle
check "coord-test's too" pings coord-test

# Onboarding: a certificate alone is not enough; the [org] section and a
# restart are.
check "issue asso-tardive" ca issue "$CA" asso-tardive --name "Association arrivée plus tard"
check "before it is declared, the server answers UNAUTHENTICATED (26)" refused 26 asso-tardive
write_conf asso-nouvelle:ASSOCIATION coord-test:COORDINATION asso-tardive:ASSOCIATION
check "the configuration with [org asso-tardive] checks" \
	sh -c '"$1" -c "$2" --check-config >/dev/null' sh "$MAILLAGE_BIN/maillaged" "$CONF"
check "maillaged stops cleanly for the restart" stop_server
check "and starts again" start_server
check "asso-tardive now opens a session" pings asso-tardive

# Revocation of an organisation.
check "revoke asso-nouvelle" ca revoke "$CA" asso-nouvelle --reason cessationOfOperation
check "list shows it revoked" list_has asso-nouvelle revoked
check "the list names its serial" \
	sh -c 'openssl crl -in "$1" -noout -text | grep -q "Serial Number: $2"' \
	sh "$CA/crl.pem" "$(serial_of "$CA/orgs/asso-nouvelle.crt")"
check "the server still accepts it until reloaded" pings asso-nouvelle
check "SIGHUP reloads the list" hup
check "the server counts one revoked certificate" \
	log_has "event=tls_reloaded revoked_certificates=1 "
check "a new connection as asso-nouvelle is refused (2)" refused 2 asso-nouvelle
check "the log says the certificate was revoked, and whose" \
	log_has "certificate revoked (subject CN 'asso-nouvelle'"
check "coord-test goes on" pings coord-test
check "revoking it again is refused (1)" fails 1 "$CA_TOOL" revoke "$CA" asso-nouvelle
check "revoking an unknown organisation is refused (1)" fails 1 "$CA_TOOL" revoke "$CA" asso-inconnue
check "once revoked, asso-nouvelle may have a new certificate" ca issue "$CA" asso-nouvelle
check "the earlier one's files are kept under its serial" \
	sh -c 'ls "$1"/asso-nouvelle.*.crt "$1"/asso-nouvelle.*.key >/dev/null' sh "$CA/orgs"
check "the new one works without a reload" pings asso-nouvelle

# Another CA, even for a declared organisation's id.
check "another CA issues a certificate for coord-test" \
	sh -c '{ "$1" init "$2" --name "Autre plateforme" && "$1" issue "$2" coord-test; } \
		>>"$3" 2>&1' sh "$CA_TOOL" "$T/other" "$T/ca.out"
check "a certificate from another CA is refused (2)" refused 2 coord-test "$T/other"
check "the log says why" log_has "unable to get local issuer certificate (subject CN 'coord-test'"

# Renewal: a second certificate, then the old one revoked by serial.
old=$(serial_of "$CA/orgs/coord-test.crt")
check "issue --renew gives coord-test a second certificate" ca issue "$CA" coord-test --renew
check "list shows two valid for coord-test" \
	sh -c '[ "$("$1" list "$2" | grep -c "valid .* coord-test$")" -eq 2 ]' sh "$CA_TOOL" "$CA"
check "revoke the old one by serial" ca revoke "$CA" "$old"
check "list shows one revoked, one valid" \
	sh -c '"$1" list "$2" | grep -q "^$3 *revoked .* coord-test$" &&
		[ "$("$1" list "$2" | grep -c "valid .* coord-test$")" -eq 1 ]' sh "$CA_TOOL" "$CA" "$old"
check "SIGHUP again" hup
check "the server counts two revoked certificates" \
	log_has "event=tls_reloaded revoked_certificates=2 "
check "the renewed coord-test certificate works" pings coord-test
check "the old one, kept aside, is refused (2)" \
	sh -c '"$1/maillage" --addr "127.0.0.1:$2" --cert "$3/orgs/coord-test.$4.crt" \
		--key "$3/orgs/coord-test.$4.key" --ca "$3/ca.crt" --timeout 5000 ping >/dev/null 2>&1
		[ $? -eq 2 ]' sh "$MAILLAGE_BIN" "$PORT" "$CA" "$old"
check "revoking a revoked serial says so and succeeds" \
	sh -c '"$1" revoke "$2" "$3" | grep -q "already revoked"' sh "$CA_TOOL" "$CA" "$old"

# The list, rewritten before it expires.
n=$(crl_number)
check "crl rewrites the list" ca crl "$CA" --days 7
check "with the next number" test "$(crl_number)" -eq $((n + 1))
check "valid 7 days" \
	sh -c 'openssl crl -in "$1" -noout -nextupdate | grep -q "$(date -u -d "+7 days" "+%b %e")"' \
	sh "$CA/crl.pem"
check "SIGHUP with it" hup
check "the reload still counts two revoked certificates" \
	sh -c 'grep "event=tls_reloaded" "$1" | tail -n 1 | grep -q "revoked_certificates=2 "' sh "$LOG"
check "private keys are all mode 0600" \
	sh -c '[ -z "$(find "$1" -name "*.key" ! -perm 600)" ]' sh "$CA"
check "maillaged stops cleanly" stop_server

finish
