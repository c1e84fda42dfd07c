#!/bin/sh
# smimepub-sync's metrics (issue 16 item 4), scraped from a running daemon
# after enrolment against a real slapd and the local CA: the values (people
# per state, certificates expiring, CA requests, the last pass, failures,
# leavers held, the CRL's nextUpdate, build_info), the format (promtool
# check metrics, where Debian's prometheus package provides promtool),
# 404/405, a reload that moves the listener, check-config refusing a bad
# address, --once serving nothing. docs/alerts.yml passes promtool check
# rules and its unit tests (tests/alerts_test.yml).
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"

if command -v promtool >/dev/null; then
	t_ok "promtool check rules docs/alerts.yml" promtool check rules "$SRCDIR/docs/alerts.yml"
	t_ok "promtool test rules: the alerts fire as meant" \
	    sh -c "cd '$SRCDIR/tests' && promtool test rules alerts_test.yml"
else
	echo "# promtool missing (Debian package prometheus, scripts/deps.sh): rules checked as YAML only"
	t_ok "docs/alerts.yml is YAML with groups" python3 -c \
	    "import sys,yaml; d=yaml.safe_load(open(sys.argv[1])); assert d['groups'][0]['rules']" \
	    "$SRCDIR/docs/alerts.yml"
fi

. "$SRCDIR/tests/lib/slapd.sh"
T=$(mktemp -d)
SPID=
slapd_cleanup_add '[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null; rm -rf "$T"'
slapd_start

free_port() {
	while :; do
		_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' \n')
		_pp=$((10000 + _r % 22000))
		ss -Htan 2>/dev/null | awk '{ print $4 }' | grep -q ":$_pp\$" || break
	done
	echo "$_pp"
}
sconf() {	# sconf METRICS_LISTEN
	cat <<EOC
$(slapd_conf_directory)
};
# certificates of 20 days, renewed 30 days ahead: due as soon as issued
ca = { driver = "local"; local = { dir = "$T/ca"; validity_days = 20; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; discard_passphrase = true; };
sync = { state_dir = "$T/state"; interval = 3600; watch_interval = 0;
         renew_before_days = 30; metrics_listen = "$1"; };
EOC
}
C=$T/sync.conf
sconf "nonsense" >"$C"
t_exit "check-config refuses sync.metrics_listen without a port (exit 2)" 2 \
    "$SMIMEPUB" -f "$C" check-config
t_contains "naming the key" "$T_OUT" "sync.metrics_listen"
P1=$(free_port)
sconf "127.0.0.1:$P1" >"$C"
t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
t_ok "ca crl" "$SMIMEPUB" -f "$C" ca crl
# four to enrol (alice, bob, carol and dave), two who share an address
cat >"$T/dave.ldif" <<EOL
dn: uid=dave,$SLAPD_PEOPLE
objectClass: inetOrgPerson
uid: dave
cn: Dave New
sn: New
mail: dave@example.com
EOL
ldap_root ldapadd -f "$T/dave.ldif" >/dev/null
t0=$(date +%s)
"$SYNC" -f "$C" --foreground 2>"$T/sync.log" &
SPID=$!
i=0
until grep -q "pass done" "$T/sync.log" || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
curl -sf -o "$T/m1" "http://127.0.0.1:$P1/metrics" || true
t_ok "GET /metrics answers" test -s "$T/m1"
M=$(cat "$T/m1")
val() { printf '%s\n' "$M" | awk -v k="$1" '$1 == k { print $2 }'; }
t_eq "people PUBLISHED: alice, bob, carol, dave" "$(val 'smimepub_sync_people{state="PUBLISHED"}')" 4
t_eq "people FAILED: dup1 and dup2" "$(val 'smimepub_sync_people{state="FAILED"}')" 2
t_eq "their failures, before the CA was asked" \
    "$(val 'smimepub_sync_failures_total{reason="prepare"}')" 2
t_eq "CA requests counted (4 enrolments)" \
    "$(val smimepub_sync_ca_request_duration_seconds_count)" 4
t_eq "the +Inf bucket holds them all" \
    "$(val 'smimepub_sync_ca_request_duration_seconds_bucket{le="+Inf"}')" 4
t_eq "all four expiring (20-day certificates, renewal 30 days ahead)" \
    "$(val smimepub_sync_certificates_expiring)" 4
last=$(val smimepub_sync_last_pass_success_timestamp_seconds)
t_ok "last successful pass ($last) is after the start ($t0)" test "${last:-0}" -ge "$t0"
t_ok "and not in the future" test "${last:-0}" -le "$(date +%s)"
t_ok "the pass took some time" awk -v d="$(val smimepub_sync_pass_duration_seconds)" \
    'BEGIN { exit !(d > 0 && d < 600) }'
t_eq "no failures by CA" "$(val 'smimepub_sync_failures_total{reason="ca_rejected"}')" 0
t_eq "leavers held: 0" "$(val smimepub_sync_leavers_held)" 0
t_eq "interval exported" "$(val smimepub_sync_interval_seconds)" 3600
t_eq "this instance is active" "$(val smimepub_sync_active)" 1
V=$("$SYNC" --version | cut -d' ' -f2)
t_eq "build_info carries the version" "$(val "smimepub_build_info{version=\"$V\"}")" 1
crl=$(openssl crl -in "$T/ca/crl.pem" -noout -nextupdate | cut -d= -f2)
t_eq "the CRL's nextUpdate" "$(val smimepub_sync_crl_next_update_timestamp_seconds)" \
    "$(date -d "$crl" +%s)"
if command -v promtool >/dev/null; then
	t_ok "promtool check metrics accepts the page" sh -c "promtool check metrics <'$T/m1'"
else
	echo "# promtool missing: format not checked by promtool"
fi
t_eq "POST /metrics: 405" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$P1/metrics")" 405
t_eq "GET /other: 404" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P1/other")" 404
t_contains "content type of the text format" \
    "$(curl -s -D - -o /dev/null "http://127.0.0.1:$P1/metrics")" "version=0.0.4"

# two leavers over sync.max_leavers = 1: the full pass after the reload
# holds them (sync/leavers.c) and says so in the gauge
P2=$(free_port)
sconf "127.0.0.1:$P2" | sed 's/renew_before_days = 30;/renew_before_days = 30; max_leavers = "1";/' >"$C"
ldap_root ldapdelete "uid=alice,$SLAPD_PEOPLE" "uid=bob,$SLAPD_PEOPLE"
kill -HUP "$SPID"
i=0
until curl -sf -o "$T/m2" "http://127.0.0.1:$P2/metrics" &&
    grep -q '^smimepub_sync_leavers_held 2$' "$T/m2" || [ $i -ge 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
t_ok "after a reload the metrics move to the new sync.metrics_listen" test -s "$T/m2"
t_eq "two leavers held by sync.max_leavers = 1" \
    "$(awk '$1 == "smimepub_sync_leavers_held" { print $2 }' "$T/m2")" 2
t_fail "and the old port is closed" curl -sf -o /dev/null "http://127.0.0.1:$P1/metrics"
kill -TERM "$SPID"
rc=0
wait "$SPID" || rc=$?
SPID=
t_eq "SIGTERM: exit 0" "$rc" 0
t_exit "--once: exit 1 (the two leavers still held)" 1 "$SYNC" -f "$C" --once
t_fail "--once served no metrics" curl -sf "http://127.0.0.1:$P2/metrics"
t_done
