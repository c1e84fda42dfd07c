#!/bin/sh
# Leavers by sync.on_leave, for a person who is still in the directory but
# no longer matches the filter: "unpublish" takes ours off the entry and
# keeps it valid at the CA, "keep" leaves it, "revoke" revokes and unpublishes.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start
ldap_root ldapdelete "$(slapd_people_dn dup1)" "$(slapd_people_dn dup2)"

conf() {
	cat >"$T/$1.conf" <<EOC
$(slapd_conf_directory)
  filter = "(&(objectClass=inetOrgPerson)(mail=*)(!(employeeType=left)))";
};
ca = { driver = "local"; local = { dir = "$T/ca"; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; pkcs12_iterations = 10000; discard_passphrase = true; };
sync = { state_dir = "$T/state"; on_leave = "$1"; leave_grace_days = ${2:-0}; };
EOC
}
conf unpublish; conf keep; conf revoke
conf revoke 1; mv "$T/revoke.conf" "$T/grace.conf"; conf revoke
ncerts() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' 'userCertificate;binary' | grep -c '^userCertificate;binary::' || true
}
leave() {
	printf 'dn: %s\nchangetype: modify\nreplace: employeeType\nemployeeType: left\n' \
	    "$(slapd_people_dn "$1")" | ldap_root ldapmodify >/dev/null
}

t_ok "ca init" "$SMIMEPUB" -f "$T/keep.conf" ca init
t_ok "first pass" "$SYNC" -f "$T/keep.conf" --once
t_contains "three enrolled" "$T_OUT" "enrolled 3,"

back() {
	printf 'dn: %s\nchangetype: modify\ndelete: employeeType\n' \
	    "$(slapd_people_dn "$1")" | ldap_root ldapmodify >/dev/null
}
leave bob
t_ok "bob left, with a day of grace" "$SYNC" -f "$T/grace.conf" --once
t_eq "bob keeps his certificate during the grace" "$(ncerts bob)" 1
t_contains "status: REVOKE_PENDING" "$("$SMIMEPUB" -f "$T/keep.conf" status)" "bob@example.com	REVOKE_PENDING"
t_ok "another pass within the grace" "$SYNC" -f "$T/grace.conf" --once
t_eq "bob still has it" "$(ncerts bob)" 1
back bob
t_ok "bob is back within the grace" "$SYNC" -f "$T/grace.conf" --once
t_contains "status: PUBLISHED again" "$("$SMIMEPUB" -f "$T/keep.conf" status)" "bob@example.com	PUBLISHED"
t_eq "with his certificate" "$(ncerts bob)" 1

leave bob
t_ok "bob left (on_leave = unpublish)" "$SYNC" -f "$T/unpublish.conf" --once
t_contains "one leaver handled" "$T_OUT" "revoked 1,"
t_eq "bob's certificate is off his entry" "$(ncerts bob)" 0
t_ok "ca list" "$SMIMEPUB" -f "$T/keep.conf" ca list
t_contains "and still valid at the CA" "$T_OUT" "bob@example.com valid"
t_contains "status: UNPUBLISHED" "$("$SMIMEPUB" -f "$T/keep.conf" status)" "bob@example.com	UNPUBLISHED"

leave carol
t_ok "carol left (on_leave = keep)" "$SYNC" -f "$T/keep.conf" --once
t_eq "carol keeps her certificate" "$(ncerts carol)" 1

# dave stays: with alice gone the search would return nobody, which the
# guard against mass leavers never takes for everyone leaving (59_sync_leavers)
printf 'dn: uid=dave,%s\nobjectClass: inetOrgPerson\nuid: dave\ncn: dave\nsn: dave\nmail: dave@example.com\n' \
    "$SLAPD_PEOPLE" | ldap_root ldapadd >/dev/null
leave alice
t_ok "alice left (on_leave = revoke)" "$SYNC" -f "$T/revoke.conf" --once
t_eq "alice's certificate is off her entry" "$(ncerts alice)" 0
t_ok "ca list" "$SMIMEPUB" -f "$T/keep.conf" ca list
t_contains "and revoked at the CA" "$T_OUT" "alice@example.com revoked"
# the pass kept the local CA's CRL current: no `smimepub ca crl` was run
aserial=$(printf '%s\n' "$T_OUT" | awk '/alice@example.com revoked/ { print $1; exit }')
t_ok "the pass wrote ca.local.dir/crl.pem" test -s "$T/ca/crl.pem"
t_ok "it verifies" openssl crl -in "$T/ca/crl.pem" -CAfile "$T/ca/ca.pem" -verify -noout
t_contains "it lists alice's serial" \
    "$(openssl crl -in "$T/ca/crl.pem" -noout -text | tr -d ' :' | tr a-f A-F)" "$aserial"
num=$(openssl crl -in "$T/ca/crl.pem" -noout -crlnumber)
t_ok "a pass with nothing revoked leaves it as it is" "$SYNC" -f "$T/revoke.conf" --once
t_eq "same CRL number" "$(openssl crl -in "$T/ca/crl.pem" -noout -crlnumber)" "$num"

# A leaver whose renewal had failed (FAILED, the old certificate still
# valid and on the entry) is revoked and unpublished all the same, at once,
# not after the renewal's backoff: frank's renewal fails at delivery
# (/bin/false), then he leaves.
printf 'dn: uid=frank,%s\nobjectClass: inetOrgPerson\nuid: frank\ncn: frank\nsn: frank\nmail: frank@example.com\n' \
    "$SLAPD_PEOPLE" | ldap_root ldapadd >/dev/null
t_ok "frank enrolled" "$SYNC" -f "$T/keep.conf" --once
t_eq "frank has his certificate" "$(ncerts frank)" 1
sed 's|pkcs12_iterations = 10000;|pkcs12_iterations = 10000; delivery_command = "/bin/false";|; s|on_leave = "keep";|on_leave = "keep"; renew_before_days = 365;|' \
    "$T/keep.conf" >"$T/renewfail.conf"
t_exit "frank's renewal fails at delivery" 1 "$SYNC" -f "$T/renewfail.conf" --once
st=$("$SMIMEPUB" -f "$T/keep.conf" status frank@example.com | tail -n 1)
t_contains "frank: FAILED in ISSUED" "$st" "failed in ISSUED"
t_eq "frank still has his first certificate on the entry" "$(ncerts frank)" 1
leave frank
t_ok "frank left (on_leave = revoke)" "$SYNC" -f "$T/revoke.conf" --once
t_eq "frank: nothing of ours on the entry" "$(ncerts frank)" 0
t_ok "ca list" "$SMIMEPUB" -f "$T/keep.conf" ca list
t_eq "both of frank's certificates revoked at the CA" \
    "$(printf '%s\n' "$T_OUT" | grep -c 'frank@example.com revoked')" 2
t_contains "status: UNPUBLISHED" "$("$SMIMEPUB" -f "$T/keep.conf" status frank@example.com | tail -n 1)" "	UNPUBLISHED	"
t_done
