#!/bin/sh
# Two smimepub-sync instances on one directory, each with its own journal,
# sharing a lease entry (sync.lease_dn, DESIGN.md "Scaling out"): one is
# active, the other stands by; when the active one dies (kill -9, no
# goodbye) the standby takes over once the lease has gone unrenewed for
# its ttl, and adopts the certificates the other issued instead of
# enrolling everyone again; a clean exit gives the lease up, and the
# other takes over at once. A --once run while another instance holds the
# lease does nothing and says so; an instance that finds its lease written
# by another stops, and takes it back only once that one goes unrenewed; a
# value that is no lease is never overwritten.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

T=$(mktemp -d)
APID= BPID=
slapd_cleanup_add 'for p in $APID $BPID; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"'
slapd_start

LEASE="cn=lease,$SLAPD_SVC_DN"
conf() {	# conf NAME: instance NAME's configuration, the CA shared
	cat >"$T/$1.conf" <<EOC
$(slapd_conf_directory)
  filter = "(&(objectClass=inetOrgPerson)(mail=*)(!(uid=dup*)))";
};
ca = { driver = "local"; local = { dir = "$T/ca"; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/$1.delivery"; discard_passphrase = true; };
sync = { state_dir = "$T/$1.state"; interval = 3600; watch_interval = 1;
         lease_dn = "$LEASE"; lease_ttl = 10; };
log = { audit_file = "$T/$1.audit"; };
EOC
}
conf a
conf b
A=$T/a.conf
B=$T/b.conf
ncerts() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' 'userCertificate;binary' 2>/dev/null |
	    grep -c '^userCertificate;binary::' || true
}
lease() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$LEASE" -s base \
	    '(objectClass=*)' description 2>/dev/null | sed -n 's/^description: //p'
}
issued() { "$SMIMEPUB" -f "$A" ca list | grep -c . || true; }
serial_of() { "$SMIMEPUB" -f "$1" status "$2@example.com" | tail -n 1 | cut -f 3; }
hire() {
	printf 'dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nmail: %s@example.com\n' \
	    "$1" "$SLAPD_PEOPLE" "$1" "$1" "$1" "$1" | ldap_root ldapadd >/dev/null
}
wait_for() {	# wait_for SECONDS COMMAND...: until COMMAND succeeds
	_n=$(($1 * 10))
	shift
	until "$@" || [ "$_n" -le 0 ]; do sleep 0.1; _n=$((_n - 1)); done
}
published() { [ "$(ncerts "$1")" = 1 ]; }
logged() { grep -q "$2" "$T/$1.log" 2>/dev/null; }

t_exit "a lease attribute that is no attribute name" 2 sh -c \
    "sed 's/lease_ttl = 10;/lease_ttl = 10; lease_attribute = \"desc ription\";/' '$A' >'$T/bad.conf' && '$SMIMEPUB' -f '$T/bad.conf' check-config"
t_contains "the error names the key" "$T_OUT" "sync.lease_attribute"
t_ok "check-config shows the lease" "$SMIMEPUB" -f "$A" check-config
t_contains "sync.lease_dn printed" "$T_OUT" "$LEASE"
t_ok "ca init" "$SMIMEPUB" -f "$A" ca init

# A starts first: no lease entry yet, it makes one and is active
"$SYNC" -f "$A" --foreground >"$T/a.log" 2>&1 &
APID=$!
wait_for 30 published carol
t_eq "A enrolled the three people" "$(ncerts alice)$(ncerts bob)$(ncerts carol)" 111
t_contains "the lease names A" "$(lease)" "/$APID/"
t_contains "A made the lease entry" "$(cat "$T/a.log")" "no such entry; creating it"
t_contains "A names the lease authority: the first server of directory.uri" "$(cat "$T/a.log")" \
    "lease authority $SLAPD_URI (the first server of directory.uri)"
t_contains "and warns that sync.lease_uri is not set" "$(cat "$T/a.log")" "sync.lease_uri is not set"

"$SYNC" -f "$B" --foreground >"$T/b.log" 2>&1 &
BPID=$!
wait_for 10 logged b "standing by"
t_contains "B stands by" "$(cat "$T/b.log")" "standing by: the lease $LEASE is held by"
v1=$(lease)
hire dave
wait_for 20 published dave
t_eq "A, not B, publishes a new hire" "$(ncerts dave)" 1
sleep 4	# past a third of the ttl: A has renewed
v2=$(lease)
t_ne "A renews the lease (its value changes)" "$v1" "$v2"
t_contains "still A's" "$v2" "/$APID/"
t_eq "B's journal is empty" "$("$SMIMEPUB" -f "$B" status | grep -c '@example.com' || true)" 0
t_eq "B issued nothing" "$(grep -c '"issuance"' "$T/b.audit" 2>/dev/null || true)" 0
t_exit "--once while A holds the lease does nothing" 1 "$SYNC" -f "$B" --once
t_contains "and says who holds it" "$T_OUT" "held by"
before=$(issued)
t_eq "the CA issued one certificate each" "$before" 4

# A dies without a word; B takes over after the ttl
kill -9 "$APID"
wait "$APID" 2>/dev/null || true
APID=
hire erin
start=$(date +%s)
wait_for 60 published erin
t_eq "B took over and published the new hire" "$(ncerts erin)" 1
echo "# taken over and erin published $(( $(date +%s) - start )) s after A died (lease_ttl = 10)"
t_contains "B says it took the lease over" "$(cat "$T/b.log")" "lease taken over from"
t_contains "the lease names B" "$(lease)" "/$BPID/"
t_eq "no one enrolled again: one certificate more, erin's" "$(issued)" $((before + 1))
for p in alice bob carol dave erin; do
	t_eq "$p: one certificate" "$(ncerts "$p")" 1
done
t_eq "B adopted A's four" "$(grep -c '"event":"adoption"' "$T/b.audit" || true)" 4
t_contains "B's journal: alice PUBLISHED" "$("$SMIMEPUB" -f "$B" status)" "alice@example.com	PUBLISHED"
t_eq "with the serial A issued" "$(serial_of "$B" alice)" "$(serial_of "$A" alice)"

# while B is active, alice is renewed (by hand, through B's journal)
old=$(serial_of "$B" alice)
t_ok "renew alice through B" "$SMIMEPUB" -f "$B" renew alice@example.com
new=$(serial_of "$B" alice)
t_ne "alice has a new certificate" "$old" "$new"

# A comes back: B holds the lease and renews it, so A stands by
"$SYNC" -f "$A" --foreground >"$T/a.log" 2>&1 &
APID=$!
wait_for 10 logged a "standing by"
t_contains "A, restarted, stands by" "$(cat "$T/a.log")" "standing by"
n=$(issued)

# B stops cleanly: it gives the lease up, and A takes over at once
start=$(date +%s)
kill -TERM "$BPID"
wait "$BPID" 2>/dev/null || true
BPID=
t_contains "B gave the lease up" "$(cat "$T/b.log")" "lease given up"
wait_for 9 logged a "lease taken (it was free)"
t_contains "A took the free lease before its ttl ran out" "$(cat "$T/a.log")" "lease taken (it was free)"
echo "# A active $(( $(date +%s) - start )) s after B's SIGTERM"
wait_for 20 logged a "pass done"
sleep 1
t_eq "A's pass asked the CA for nothing" "$(issued)" "$n"
t_eq "A adopted alice's renewal" "$(serial_of "$A" alice)" "$new"
t_eq "and erin, whom B enrolled" "$(serial_of "$A" erin)" "$(serial_of "$B" erin)"
t_eq "alice: still one certificate" "$(ncerts alice)" 1
# someone else writes the lease (a third instance, say): A stands by at its
# next look, starts nothing, and takes the lease back once that value has
# gone unrenewed for the ttl
ldap_root ldapmodify >/dev/null <<EOL
dn: $LEASE
changetype: modify
replace: description
description: smimepub-sync holder=elsewhere/1/deadbeef seq=1 renewed=2026-01-01T00:00:00Z ttl=10
EOL
wait_for 10 logged a "is now held by elsewhere/1/deadbeef; standing by"
t_contains "A sees the lease is not its own any more" "$(cat "$T/a.log")" "the lease is now held by elsewhere/1/deadbeef; standing by"
hire fay
sleep 3
t_eq "A, not holding the lease, publishes nothing" "$(ncerts fay)" 0
wait_for 30 published fay
t_eq "the value unrenewed for the ttl, A takes it back and publishes" "$(ncerts fay)" 1
t_contains "A says from whom" "$(cat "$T/a.log")" "lease taken over from elsewhere/1/deadbeef"
# SIGHUP with the lease unchanged: A keeps it (no new holder, no take-over)
held=$(lease | sed 's/.*holder=\([^ ]*\).*/\1/')
kill -HUP "$APID"
wait_for 10 logged a "configuration reloaded"
hire gina
wait_for 20 published gina
t_eq "after SIGHUP A still publishes" "$(ncerts gina)" 1
t_eq "and holds the lease as the same holder" "$(lease | sed 's/.*holder=\([^ ]*\).*/\1/')" "$held"
t_eq "taken over once only" "$(grep -c 'lease taken over from elsewhere' "$T/a.log")" 1
kill -TERM "$APID"
wait "$APID" 2>/dev/null || true
APID=
t_eq "with both gone, the lease is free" "$(lease)" "smimepub-sync free"

# a value smimepub-sync did not write (too long for a lease): never taken
# over, whatever it is, and said so at once
big=$(printf '%0600d' 0)
ldap_root ldapmodify >/dev/null <<EOL
dn: $LEASE
changetype: modify
replace: description
description: $big
EOL
t_exit "--once with a lease value that is no lease" 1 "$SYNC" -f "$A" --once
t_contains "says the value is not a lease" "$T_OUT" "is not a lease smimepub-sync wrote (600 bytes)"
t_contains "and that it did nothing" "$T_OUT" "the lease cannot be read; this instance did nothing"
t_eq "the value is left as it was" "$(lease)" "$big"
t_done
