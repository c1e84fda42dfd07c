#!/bin/sh
# Writes by the stable id (issue 19 item 2, DESIGN.md "never the mail
# address"): an enrolment finds its person once by address (that is where an
# address on two entries is caught) and then writes by entryUUID, so the
# directory sees exactly one search for the address per enrolment, whether
# smimepub-sync or `smimepub enrol` runs it; `smimepub publish` and
# `unpublish` likewise. slapd's stats log counts the searches.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
SLAPD_DEBUG=stats
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start
C=$T/smimepub.conf
cat >"$C" <<EOC
$(slapd_conf_directory)
  filter = "(&(objectClass=inetOrgPerson)(mail=*)(!(uid=dup*)))";
};
ca = { driver = "local"; local = { dir = "$T/ca"; validity_days = 60; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; pkcs12_iterations = 10000; discard_passphrase = true; };
sync = { state_dir = "$T/state"; on_leave = "revoke"; workers = 1; };
EOC
# "filter=(...(mail=alice@example.com)...)" in slapd's SRCH lines since mark
mark() { wc -l <"$SLAPD_LOG"; }
searches() {
	tail -n +"$(($2 + 1))" "$SLAPD_LOG" | grep ' SRCH base=' |
	    grep -ci "filter=\"[^\"]*$1" || true
}

t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
m=$(mark)
t_ok "a sync pass enrols everyone" "$SYNC" -f "$C" --once
t_eq "smimepub-sync: one search for alice's address" "$(searches '(mail=alice@example.com)' "$m")" 1
t_eq "smimepub-sync: bob's too" "$(searches '(mail=bob@example.com)' "$m")" 1
uuid=$(ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn alice)" -s base '(objectClass=*)' entryUUID | sed -n 's/^entryUUID: //p')
t_ok "alice has an entryUUID" test -n "$uuid"
t_ok "the publish was written by it" test "$(searches "(entryUUID=$uuid)" "$m")" -ge 1

m=$(mark)
t_ok "smimepub renew alice" "$SMIMEPUB" -f "$C" renew alice@example.com
t_eq "smimepub renew: one search for the address" "$(searches '(mail=alice@example.com)' "$m")" 1
t_ok "and the write by entryUUID" test "$(searches "(entryUUID=$uuid)" "$m")" -ge 1

"$SMIMEPUB" -f "$C" ca list | awk '$2 == "alice@example.com" { s = $1 } END { print s }' >"$T/serial"
m=$(mark)
t_ok "smimepub unpublish alice" "$SMIMEPUB" -f "$C" unpublish alice@example.com
t_eq "unpublish: one search for the address" "$(searches '(mail=alice@example.com)' "$m")" 1
t_eq "no certificate of ours left on alice" "$(ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn alice)" -s base '(objectClass=*)' 'userCertificate;binary' | grep -c '^userCertificate' || true)" 0
t_done
