#!/bin/sh
# smimepub-sync keeps SMIMEA records (issue 22) in a real Knot DNS with
# automatic DNSSEC signing: after --once each person's SMIMEA RRset is
# exactly the certificate on the entry, and kdig +dnssec shows it signed.
# Then the daemon with Knot stopped: a new hire is enrolled and published
# all the same (the pass completes), their DNS update is pending in the
# journal (smimepub status, metrics), as is everyone's check of the first
# full pass; Knot back on the same port, the
# record follows by itself (retry with backoff), and nothing is pending.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"
. "$SRCDIR/tests/lib/dns.sh"

T=$(mktemp -d)
SPID=
slapd_cleanup_add '[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null; rm -rf "$T"'
slapd_start
ldap_root ldapdelete "$(slapd_people_dn dup1)" "$(slapd_people_dn dup2)"
dns_key "$T/dns.key"
knot_start "$T/knot" example.com "$T/dns.key" dnssec
P=$KNOT_PORT
MP=$(_slapd_free_ports 1)

cat >"$T/smimepub.conf" <<EOC
$(slapd_conf_directory)
};
ca = { driver = "local"; local = { dir = "$T/ca"; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; discard_passphrase = true; };
sync = { state_dir = "$T/state"; interval = 3600; watch_interval = 1;
         metrics_listen = "127.0.0.1:$MP"; };
dns = { zones = ( { zone = "example.com"; server = "127.0.0.1:$P"; tsig_key_file = "$T/dns.key"; } );
        timeout = 2; retry_min = 1; retry_max = 2; };
EOC
C=$T/smimepub.conf
entry_rr() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' 'userCertificate;binary' 2>/dev/null |
	    sed -n 's/^userCertificate;binary:: //p' | head -1 | base64 -d |
	    od -An -v -tx1 | tr -d ' \n' | tr a-f A-F | sed 's/^/3 0 0 /'
	echo
}
kdig_smimea() {
	kdig +short +tcp -p "$P" @127.0.0.1 "$1" SMIMEA 2>/dev/null |
	    awk '{ h = ""; for (i = 4; i <= NF; i++) h = h $i;
		print $1, $2, $3, toupper(h) }' | sort
}

t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
t_ok "smimepub-sync --once" "$SYNC" -f "$C" --once
for u in alice bob carol; do
	t_eq "kdig: $u's SMIMEA is exactly the certificate on the entry" \
	    "$(kdig_smimea "$(dns_owner $u example.com)")" "$(entry_rr $u)"
done
out=$(kdig +dnssec +tcp -p "$P" @127.0.0.1 "$(dns_owner alice example.com)" SMIMEA 2>&1)
t_contains "kdig +dnssec: the SMIMEA RRset is signed (RRSIG SMIMEA)" "$out" "RRSIG	SMIMEA"
t_ok "status" "$SMIMEPUB" -f "$C" status
t_not_contains "nothing pending in DNS" "$T_OUT" "dns pending"

# the DNS server down during a pass
dns_stop "$KNOT_PID"
"$SYNC" -f "$C" --foreground >"$T/sync.log" 2>&1 &
SPID=$!
printf 'dn: uid=dave,%s\nobjectClass: inetOrgPerson\nuid: dave\ncn: Dave New\nsn: New\nmail: dave@example.com\n' \
    "$SLAPD_PEOPLE" | ldap_root ldapadd >/dev/null
i=0
until "$SMIMEPUB" -f "$C" status 2>/dev/null | grep -q '^dave@example.com	PUBLISHED.*dns pending' ||
    [ $i -ge 150 ]; do sleep 0.2; i=$((i + 1)); done
t_ok "status" "$SMIMEPUB" -f "$C" status
t_contains "with DNS down dave is enrolled and published all the same" "$T_OUT" "dave@example.com	PUBLISHED"
t_contains "his DNS update is pending, with the reason" "$T_OUT" "dns pending (attempt"
t_contains "it says why" "$T_OUT" "no answer from 127.0.0.1:$P within 2 s"
# the daemon's first full pass could not check anyone's records either
t_contains "the summary counts everyone (4 pending)" "$T_OUT" "# dns: SMIMEA records of 4 people pending"
t_eq "the entry has his certificate" "$(entry_rr dave | cut -c1-6)" "3 0 0 "
t_ok "status --json" "$SMIMEPUB" -f "$C" status --json
t_eq "status --json: dave's dns is pending" "$(printf '%s\n' "$T_OUT" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print([p["dns"]["pending"] for p in d["people"] if p["mail"]=="dave@example.com"])')" "[True]"
m=$(curl -s "http://127.0.0.1:$MP/metrics")
t_contains "metrics: a failed DNS update" "$m" 'smimepub_sync_dns_updates_total{result="failed"}'
t_contains "metrics: four people pending" "$m" "smimepub_sync_dns_pending 4"

knot_start "$T/knot" example.com "$T/dns.key" dnssec "$P"
DAVE=$(dns_owner dave example.com)
i=0
until [ "$(kdig_smimea "$DAVE")" = "$(entry_rr dave)" ] || [ $i -ge 100 ]; do
	sleep 0.2; i=$((i + 1))
done
t_eq "DNS back: dave's record follows by itself" "$(kdig_smimea "$DAVE")" "$(entry_rr dave)"
out=$(kdig +dnssec +tcp -p "$P" @127.0.0.1 "$DAVE" SMIMEA 2>&1)
t_contains "and it is signed" "$out" "RRSIG	SMIMEA"
i=0
until "$SMIMEPUB" -f "$C" status 2>/dev/null | grep -q '# dns: SMIMEA records of 0 people pending' ||
    [ $i -ge 50 ]; do sleep 0.2; i=$((i + 1)); done
t_ok "status" "$SMIMEPUB" -f "$C" status
t_contains "nobody pending any more" "$T_OUT" "# dns: SMIMEA records of 0 people pending"
m=$(curl -s "http://127.0.0.1:$MP/metrics")
t_contains "metrics: nobody pending" "$m" "smimepub_sync_dns_pending 0"
t_ok "smimepub status dave" "$SMIMEPUB" -f "$C" status dave@example.com
t_contains "his records are in step" "$T_OUT" "# dns: SMIMEA records in step since"
t_ok "smimepub status dave --json" "$SMIMEPUB" -f "$C" status dave@example.com --json
t_eq "status MAIL --json: not pending, synced" "$(printf '%s\n' "$T_OUT" |
    python3 -c 'import json,sys; d=json.load(sys.stdin)["people"][0]["dns"]; print(d["pending"], d["synced"] is not None)')" "False True"
kill -TERM "$SPID"
rc=0
wait "$SPID" 2>/dev/null || rc=$?
SPID=
t_eq "SIGTERM: the daemon exits 0" "$rc" 0
t_not_contains "its log has no sanitizer report (SANITIZE=1)" "$(cat "$T/sync.log")" "Sanitizer"
t_done
