#!/bin/sh
# SMIMEA records in a real BIND 9 (named on a free loopback port, a zone
# taking TSIG-signed UPDATEs) kept in step with the journal by
# `smimepub dns-sync` (issue 22): --dry-run changes nothing; after a sync
# pass each person's SMIMEA RRset is exactly the certificate on their entry;
# a renewal replaces it in one UPDATE (a reader polling meanwhile never sees
# none or two); a leaver's record goes; records smimepub does not own (at
# another name, and a foreign one at a person's own name) stay; a wrong TSIG
# key is reported and nothing is written; a change by someone else between
# the read and the UPDATE fails it as a whole (tests/helpers/dns_race); a
# key file others may read is refused, naming it.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"
. "$SRCDIR/tests/lib/dns.sh"

slapd_test_start
ldap_root ldapdelete "$(slapd_people_dn dup1)" "$(slapd_people_dn dup2)"

dns_key "$T/dns.key"
dns_key "$T/wrong.key"		# same name, another secret
sed -i 's/^key "[^"]*"/key "smimepub"/' "$T/wrong.key"
HAND=$(dns_owner hand example.com)
CAROL=$(dns_owner carol example.com)
mkdir -p "$T/named"
{
	_dns_zonefile example.com
	echo "$HAND 300 IN SMIMEA 3 1 1 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
	echo "$CAROL 300 IN SMIMEA 3 1 1 FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210"
} >"$T/named/example.com.db"
named_start "$T/named" example.com "$T/dns.key"
P=$NAMED_PORT

conf() {
	cat >"$1" <<EOC
$(slapd_conf_directory)
};
ca = { driver = "local"; local = { dir = "$T/ca"; validity_days = 60; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; discard_passphrase = true; };
sync = { state_dir = "$T/state"; renew_before_days = $2; };
EOC
	[ -z "$3" ] || echo "dns = { zones = ( { zone = \"example.com\"; server = \"127.0.0.1:$P\"; tsig_key_file = \"$3\"; } ); ttl = 120; };" >>"$1"
}
# smimepub-sync runs without dns.zones here (72_dns_knot has it do DNS
# itself): this is about what `smimepub dns-sync` does
conf "$T/smimepub.conf" 30 "$T/dns.key"
conf "$T/nodns.conf" 30 ""
conf "$T/renew.conf" 90 ""
conf "$T/wrong.conf" 90 "$T/wrong.key"
C=$T/smimepub.conf

# the certificate on the entry, as SMIMEA 3 0 0 wants it: the DER in hex
entry_rr() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' 'userCertificate;binary' |
	    sed -n 's/^userCertificate;binary:: //p' | head -1 | base64 -d |
	    od -An -v -tx1 | tr -d ' \n' | tr a-f A-F | sed 's/^/3 0 0 /'
	echo
}

t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
t_ok "a sync pass publishes alice, bob, carol" "$SYNC" -f "$T/nodns.conf" --once
t_ok "dns-sync --dry-run" "$SMIMEPUB" -f "$C" dns-sync --dry-run
t_eq "--dry-run prints one add per person" "$(printf '%s\n' "$T_OUT" | grep -c '^update add .*._smimecert.example.com. 120 IN SMIMEA 3 0 0 ')" 3
t_eq "--dry-run prints no delete" "$(printf '%s\n' "$T_OUT" | grep -c '^update delete')" 0
t_eq "--dry-run changed nothing in DNS" "$(dns_smimea $P "$(dns_owner alice example.com)")" ""

t_ok "dns-sync" "$SMIMEPUB" -f "$C" dns-sync
t_contains "summary: 3 added in 3 UPDATEs" "$T_OUT" "3 people with records in dns.zones; 3 added, 0 deleted in 3 UPDATEs"
for u in alice bob; do
	t_eq "dig: $u's SMIMEA is exactly the certificate on the entry" \
	    "$(dns_smimea $P "$(dns_owner $u example.com)")" "$(entry_rr $u)"
done
t_eq "dig: carol's RRset is hers and the foreign one" \
    "$(dns_smimea $P "$CAROL")" "$(printf '%s\n%s' "$(entry_rr carol)" \
    "3 1 1 FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210" | sort)"
t_ok "a second dns-sync" "$SMIMEPUB" -f "$C" dns-sync
t_contains "changes nothing" "$T_OUT" "0 added, 0 deleted in 0 UPDATEs"

# renewal: one UPDATE; a reader polling meanwhile sees exactly one record
old=$(entry_rr alice)
t_ok "a renewal pass" "$SYNC" -f "$T/renew.conf" --once
t_ne "alice has a new certificate on the entry" "$(entry_rr alice)" "$old"
t_eq "DNS still holds the old one until DNS is synced" \
    "$(dns_smimea $P "$(dns_owner alice example.com)")" "$old"
ALICE=$(dns_owner alice example.com)
( while :; do dns_smimea $P "$ALICE" | wc -l; done ) >"$T/poll" 2>/dev/null &
poller=$!
slapd_cleanup_add "kill $poller 2>/dev/null || :"
sleep 0.3
# wrong key first: refused, nothing half-written
t_exit "dns-sync with a wrong TSIG key fails (exit 1)" 1 \
    "$SMIMEPUB" -f "$T/wrong.conf" dns-sync
t_contains "it says the server refused the key" "$T_OUT" "refused TSIG key smimepub."
t_eq "nothing written: alice's record is the old one" "$(dns_smimea $P "$ALICE")" "$old"
t_ok "dns-sync with the right key" "$SMIMEPUB" -f "$C" dns-sync
t_contains "each renewal is one UPDATE: 1 added, 1 deleted" "$T_OUT" "$ALICE in zone example.com: 1 added, 1 deleted in one UPDATE"
t_contains "summary: 3 replaced" "$T_OUT" "3 added, 3 deleted in 3 UPDATEs"
sleep 0.3
kill "$poller" 2>/dev/null || :
wait "$poller" 2>/dev/null || :
t_eq "the new record is in DNS" "$(dns_smimea $P "$ALICE")" "$(entry_rr alice)"
t_ne "the reader polled during the renewal" "$(wc -l <"$T/poll")" 0
t_eq "the reader never saw zero or two records" "$(sort -u "$T/poll" | tr '\n' ' ')" "1 "

# a leaver's record goes; records not ours stay
ldap_root ldapdelete "$(slapd_people_dn carol)"
t_ok "a pass revokes carol" "$SYNC" -f "$T/nodns.conf" --once
t_ok "dns-sync" "$SMIMEPUB" -f "$C" dns-sync
t_eq "carol's record is gone, the foreign one at her name stays" "$(dns_smimea $P "$CAROL")" \
    "3 1 1 FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210"
t_eq "the hand-added record at another name survives" "$(dns_smimea $P "$HAND")" \
    "3 1 1 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
t_eq "bob's record is still his certificate" "$(dns_smimea $P "$(dns_owner bob example.com)")" "$(entry_rr bob)"

# someone else changes the RRset between the read and the UPDATE: the
# prerequisite (the RRset as read) fails the UPDATE as a whole
RACE=$(dns_owner race example.com)
OTHER="3 1 1 1111111111111111111111111111111111111111111111111111111111111111"
race() {	# race CHANGE: dns_race reads, CHANGE runs, dns_race updates
	rm -f "$T/race.in"
	mkfifo "$T/race.in"
	"$SRCDIR/$BUILD/tests/dns_race" example.com "127.0.0.1:$P" "$T/dns.key" \
	    "$RACE" ABCDEF0123 <"$T/race.in" >"$T/race.out" 2>&1 &
	rpid=$!
	exec 3>"$T/race.in"
	i=0
	until grep -q '^read' "$T/race.out" || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
	eval "$1"
	echo go >&3
	exec 3>&-
	wait "$rpid" || :
}
race 'printf "server 127.0.0.1 %s\nupdate add %s 300 IN SMIMEA %s\nsend\n" "$P" "$RACE" "$OTHER" | nsupdate -k "$T/dns.key"'
t_eq "read an empty RRset, then someone added a record: conflict" \
    "$(tr '\n' ' ' <"$T/race.out")" "read 0 conflict "
t_eq "nothing of the UPDATE was written, the other change stands" "$(dns_smimea $P "$RACE")" "$OTHER"
race ':'
t_eq "with no change in between the same UPDATE goes through" \
    "$(tr '\n' ' ' <"$T/race.out")" "read 1 ok "
t_eq "both records are there" "$(dns_smimea $P "$RACE" | tr '\n' ' ')" "3 0 0 ABCDEF0123 $OTHER "

chmod 0644 "$T/dns.key"
t_exit "a key file others may read: dns-sync fails" 1 "$SMIMEPUB" -f "$C" dns-sync
t_contains "naming the file" "$T_OUT" "dns.zones[0].tsig_key_file: $T/dns.key: mode 0644"
t_exit "check-config refuses it too (exit 2)" 2 "$SMIMEPUB" -f "$C" check-config
t_contains "naming the file" "$T_OUT" "dns.zones[0].tsig_key_file: $T/dns.key: mode 0644"
chmod 0600 "$T/dns.key"
printf 'key "k" { algorithm hmac-md5; secret "c2hvcnQ="; };\n' >"$T/md5.key"
chmod 0600 "$T/md5.key"
conf "$T/md5.conf" 30 "$T/md5.key"
t_exit "check-config refuses an hmac-md5 key (exit 2)" 2 "$SMIMEPUB" -f "$T/md5.conf" check-config
t_contains "saying why" "$T_OUT" "$T/md5.key: the algorithm is not hmac-sha256"
"$SMIMEPUB" -f "$C" doctor >"$T/doctor.out" 2>&1 || :
t_contains "doctor: the zone answers, signed with the key" "$(cat "$T/doctor.out")" \
    "127.0.0.1:$P answers for zone example.com, signed with TSIG key smimepub."
t_exit "doctor with the wrong key fails (exit 1)" 1 "$SMIMEPUB" -f "$T/wrong.conf" doctor
t_contains "naming the dns check" "$T_OUT" "FAIL dns "
t_ok "check-config accepts the good key" "$SMIMEPUB" -f "$C" check-config
t_contains "and prints dns.zones" "$T_OUT" "zones = ( { zone = \"example.com\"; server = \"127.0.0.1:$P\"; tsig_key_file = \"$T/dns.key\"; } );"
# pending with the wrong key; the zone then taken out of dns.zones: nobody
# has records there any more, so nobody stays pending (no endless retry)
t_exit "the wrong key leaves people pending" 1 "$SMIMEPUB" -f "$T/wrong.conf" dns-sync
t_ok "status" "$SMIMEPUB" -f "$C" status
t_contains "status shows them pending (alice, bob, carol the leaver)" "$T_OUT" "# dns: SMIMEA records of 3 people pending"
sed 's/zone = \"example.com\"/zone = \"example.org\"/' "$C" >"$T/other.conf"
t_ok "dns-sync with only another zone configured" "$SMIMEPUB" -f "$T/other.conf" dns-sync
t_contains "finds nobody with records there" "$T_OUT" "0 people with records in dns.zones"
t_ok "status" "$SMIMEPUB" -f "$C" status
t_contains "and nobody is pending any more" "$T_OUT" "# dns: SMIMEA records of 0 people pending"
t_exit "dns-sync without dns.zones is a configuration error" 2 \
    "$SMIMEPUB" -f "$T/nodns.conf" dns-sync
t_done
