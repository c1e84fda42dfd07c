#!/bin/sh
# One entry whose stable id the service account cannot read (an ACL on that
# entry's entryUUID) is skipped and reported, never the end of the pass:
# the others are enrolled, the summary and `status` count it, the warning
# names the entry and the fix, and `smimepub enrol` for it says why.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start
ldap_root ldapdelete "$(slapd_people_dn dup1)" "$(slapd_people_dn dup2)"

cat >"$T/smimepub.conf" <<EOC
$(slapd_conf_directory)
};
ca = { driver = "local"; local = { dir = "$T/ca"; validity_days = 60; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; pkcs12_iterations = 10000;
         discard_passphrase = true; };
sync = { state_dir = "$T/state"; on_leave = "revoke"; };
EOC
C=$T/smimepub.conf
ncerts() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' 'userCertificate;binary' | grep -c '^userCertificate;binary::' || true
}

# bob's entryUUID is hidden from the service account only
ldap_ext ldapmodify >/dev/null <<LDIF
dn: olcDatabase={1}mdb,cn=config
changetype: modify
add: olcAccess
olcAccess: {0}to dn.exact="$(slapd_people_dn bob)" attrs=entryUUID by dn.exact="$SLAPD_SVC_DN" none by * break
LDIF
t_eq "the service account cannot read bob's entryUUID" \
    "$(ldap_svc ldapsearch -LLL -b "$(slapd_people_dn bob)" -s base '(objectClass=*)' entryUUID | grep -c '^entryUUID:' || true)" 0

t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
t_ok "the pass goes on past bob" "$SYNC" -f "$C" --once
t_contains "summary: two enrolled, bob skipped and counted" "$T_OUT" \
    "enrolled 2, renewed 0, revoked 0, republished 0, failed 0, unchanged 0, skipped 1 (1 without a readable id)"
t_contains "the warning names the entry and the attribute" "$T_OUT" \
    "$(slapd_people_dn bob): no entryUUID readable by the bind identity"
t_contains "the warning says what fixes it" "$T_OUT" "olcAccess"
t_not_contains "no 'search failed'" "$T_OUT" "search failed"
t_eq "alice enrolled" "$(ncerts alice)" 1
t_eq "carol enrolled" "$(ncerts carol)" 1
t_eq "bob got nothing" "$(ncerts bob)" 0
t_ok "status" "$SMIMEPUB" -f "$C" status
t_contains "status reports the skipped entry" "$T_OUT" "skipped 1 entry without a readable id, e.g. $(slapd_people_dn bob)"
t_fail "enrol bob by hand fails" "$SMIMEPUB" -f "$C" enrol bob@example.com
t_contains "and says why" "$T_OUT" "bob@example.com: not enrolled: $(slapd_people_dn bob): no entryUUID"

t_ok "second pass: nothing to do, bob still skipped" "$SYNC" -f "$C" --once
t_contains "summary: two unchanged" "$T_OUT" "enrolled 0, renewed 0, revoked 0, republished 0, failed 0, unchanged 2, skipped 1 (1 without a readable id)"

# the ACL goes: bob is enrolled like anyone, and status no longer reports
ldap_ext ldapmodify >/dev/null <<LDIF
dn: olcDatabase={1}mdb,cn=config
changetype: modify
delete: olcAccess
olcAccess: {0}
LDIF
t_ok "third pass" "$SYNC" -f "$C" --once
t_contains "bob enrolled once readable" "$T_OUT" "enrolled 1, renewed 0, revoked 0, republished 0, failed 0, unchanged 2, skipped 0"
t_eq "bob has a certificate" "$(ncerts bob)" 1
t_ok "status" "$SMIMEPUB" -f "$C" status
t_not_contains "status: nothing skipped any more" "$T_OUT" "without a readable id"
t_done
