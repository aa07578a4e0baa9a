#!/usr/bin/env bash
# demo.sh [N] - fill the vaulx-bron platform with a year of N households
# (default 200) through the real server and the maillage client, show what a
# coordinator reads, and end with "demo data: DIR". Deterministic: the same N
# gives the same story. Uses build/demo/ (wiped first) and a free loopback port.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/bin
N=${1:-200}
DEMO=$ROOT/build/demo
YEAR=$(date -u +%Y)
RANDOM=42

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rm -rf "$DEMO"
"$ROOT/tools/devsetup.sh" "$DEMO/dev" "$PORT" "$DEMO/data" >/dev/null
"$BIN/maillaged" -c "$DEMO/dev/maillaged.conf" 2>"$DEMO/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	"$BIN/maillage" --addr "127.0.0.1:$PORT" --cert "$DEMO/dev/auditor.crt" \
		--key "$DEMO/dev/auditor.key" --ca "$DEMO/dev/ca.crt" ping >/dev/null 2>&1 && break
	sleep 0.1
done

# as ORG ARGS...: the client acting as ORG.
as() {
	local org=$1
	shift
	"$BIN/maillage" --addr "127.0.0.1:$PORT" --cert "$DEMO/dev/$org.crt" \
		--key "$DEMO/dev/$org.key" --ca "$DEMO/dev/ca.crt" "$@"
}

pick() {	# pick WORD...: one of the words
	local words=("$@")
	echo "${words[RANDOM % ${#words[@]}]}"
}

day() {	# day MONTH_FROM MONTH_TO: a date of this year between those months
	printf '%s-%02d-%02d' "$YEAR" $(($1 + RANDOM % ($2 - $1 + 1))) $((1 + RANDOM % 28))
}

LAST=(Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon
      Laurent Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier Benali
      Diallo Nguyen Haddad Traore Mendes Kaya Rossi Ferreira Ndiaye)
FIRST=(Marie Jean Fatima Karim Sophie Lucas Amina Thomas Nadia Paul Ines Hugo
       Yasmine Louis Chloe Mamadou Lea Sami Emma Rachid)

echo "filling vaulx-bron with $N households on port $PORT..."
for i in $(seq "$N"); do
	referrer=$(pick bailleur-est bailleur-est bailleur-est ccas-vaulx hopital-est siao-rhone)
	if [ "$referrer" = bailleur-est ]; then
		reason=$(pick unpaid_rent unpaid_rent unpaid_rent neighbourhood_nuisance over_occupation)
	else
		reason=$(pick leaving_psychiatric_hospital leaving_shelter unsuitable_dwelling too_expensive_dwelling unpaid_rent)
	fi
	out=$(as "$referrer" refer --platform vaulx-bron --reason "$reason" \
		--last-name "$(pick "${LAST[@]}")" --first-name "$(pick "${FIRST[@]}")" \
		--birth-date "$((1950 + RANDOM % 50))-0$((1 + RANDOM % 9))-1$((RANDOM % 9))" \
		--adults $((1 + RANDOM % 2)) --children $((RANDOM % 4)) \
		--debt "$((RANDOM % 9000)).$((10 + RANDOM % 90))" --need budget) || continue
	case_id=$(echo "$out" | awk '{print $2}')
	[ "$referrer" = bailleur-est ] && [ $((RANDOM % 3)) = 0 ] &&
		as bailleur-est step "$case_id" --stage payment_order --date "$(day 1 10)" >/dev/null
	r=$((RANDOM % 100))
	[ $r -lt 8 ] && continue                                   # left pending
	as coord-vaulx-bron acknowledge "$case_id" >/dev/null
	[ $r -lt 14 ] && continue                                  # acknowledged, pending
	if [ $r -lt 20 ]; then
		as coord-vaulx-bron decline "$case_id" --reason "$(pick not_eligible out_of_territory already_supported)" >/dev/null
		continue
	fi
	if [ $r -lt 24 ] && [ "$referrer" != bailleur-est ]; then
		as "$referrer" withdraw "$case_id" >/dev/null
		continue
	fi
	lead=$(pick asso-habitat asso-relais asso-relais ccas-vaulx)
	as coord-vaulx-bron accept "$case_id" --lead "$lead" \
		--level "$(pick coordination intensive_global intensive_global advice_to_referrer)" >/dev/null
	for _ in $(seq $((RANDOM % 5))); do
		as "$lead" visit "$case_id" --date "$(day 1 11)" \
			--mode "$(pick home home office phone accompanied_appointment household_absent)" \
			--domain "$(pick budget legal housing social health_access)" \
			--tool "$(pick rent_payment_aid debt_repayment_plan housing_solidarity_fund legal_aid rescue_lease)" >/dev/null
	done
	if [ "$referrer" = bailleur-est ] && [ $((RANDOM % 4)) = 0 ]; then
		as bailleur-est step "$case_id" --stage court_summons --date "$(day 6 10)" \
			--hearing-date "$(day 11 12)" >/dev/null
	fi
	if [ $((RANDOM % 5)) = 0 ]; then
		as coord-vaulx-bron propose "$case_id" --dwelling "BEH-$i" --landlord bailleur-est \
			--commune "$(pick Vaulx-en-Velin Bron Villeurbanne)" --typology "$(pick t2 t3 t4)" \
			--rent "$((350 + RANDOM % 400)).00" --kind "$(pick transfer social_housing sliding_lease)" >/dev/null
		if [ $((RANDOM % 2)) = 0 ]; then
			as "$lead" answer "$case_id" --proposal 1 --accept >/dev/null
			as "$lead" sign "$case_id" --proposal 1 --date "$(day 10 11)" >/dev/null
		else
			as "$lead" answer "$case_id" --proposal 1 --refuse "$(pick location rent_too_high size)" >/dev/null
		fi
	fi
	if [ $((RANDOM % 10)) -lt 6 ]; then
		as "$lead" close "$case_id" --date "$(date -u +%Y-%m-%d)" \
			--outcome "$(pick kept_in_dwelling kept_in_dwelling kept_in_dwelling rehoused_transfer adapted_housing oriented_to_shelter evicted lost_contact)" >/dev/null
	fi
done

section() { printf '\n== %s\n' "$1"; }
section "caseload board (first rows): maillage caseload vaulx-bron"
as coord-vaulx-bron caseload vaulx-bron --page-size 12
section "pending referrals: maillage pending vaulx-bron"
as coord-vaulx-bron pending vaulx-bron | head -n 8
section "partner load: maillage load vaulx-bron"
as coord-vaulx-bron load vaulx-bron
section "procedure deadlines within 60 days: maillage deadlines vaulx-bron --days 60"
as coord-vaulx-bron deadlines vaulx-bron --days 60 | head -n 8
section "rehousing pipeline: maillage pipeline vaulx-bron"
as coord-vaulx-bron pipeline vaulx-bron
section "statistics of the year: maillage stats vaulx-bron --from $YEAR-01-01 --to $YEAR-12-31"
as funder-metropole stats vaulx-bron --from "$YEAR-01-01" --to "$YEAR-12-31"

kill -TERM $SERVER
wait $SERVER || true
trap - EXIT
echo
"$BIN/maillage-admin" verify "$DEMO/data"
echo "demo data: $DEMO/data"
