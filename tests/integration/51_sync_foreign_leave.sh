#!/bin/sh
# A certificate another CA issued, put on by hand with `smimepub publish`,
# is never sent to our CA for revocation: when its owner leaves it is
# unpublished and recorded as not revocable here, ours is revoked, and the
# pass neither fails nor retries it (before: FAILED in REVOKE_PENDING,
# "not issued by this CA", retried forever).
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/certs.sh"
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start
ldap_root ldapdelete "$(slapd_people_dn dup1)" "$(slapd_people_dn dup2)"

cat >"$T/smimepub.conf" <<EOC
$(slapd_conf_directory)
  filter = "(&(objectClass=inetOrgPerson)(mail=*)(!(description=left)))";
};
ca = { driver = "local"; local = { dir = "$T/ca"; validity_days = 60; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; pkcs12_iterations = 10000;
         discard_passphrase = true; };
sync = { state_dir = "$T/state"; on_leave = "revoke"; };
log = { audit_file = "$T/audit.jsonl"; };
EOC
C=$T/smimepub.conf
ncerts() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' 'userCertificate;binary' | grep -c '^userCertificate;binary::' || true
}

t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
t_ok "first pass" "$SYNC" -f "$C" --once
certs_ca "$T/other" "another CA"
certs_leaf "$T/other" "$T/carolx" carol@example.com
t_ok "publish another CA's certificate for carol by hand" "$SMIMEPUB" -f "$C" publish carol@example.com "$T/carolx.pem"
t_eq "carol: the hand-published one replaced ours (publish keeps one of ours)" "$(ncerts carol)" 1

printf 'dn: %s\nchangetype: modify\nreplace: description\ndescription: left\n' \
    "$(slapd_people_dn carol)" | ldap_root ldapmodify >/dev/null
t_ok "carol leaves: the pass succeeds" "$SYNC" -f "$C" --once
t_contains "one revoked, none failed" "$T_OUT" "revoked 1, republished 0, failed 0"
t_contains "the hand-published one is not sent to our CA" "$T_OUT" "was put on by hand and not issued by CA local: not revocable here, unpublished only"
t_not_contains "no 'not issued by this CA'" "$T_OUT" "not issued by this CA"
t_eq "carol: both taken off" "$(ncerts carol)" 0
t_eq "audit: recorded as not revocable here" "$(grep -c '"outcome":"not revocable here"' "$T/audit.jsonl")" 1
t_ok "status" "$SMIMEPUB" -f "$C" status
t_contains "carol's record is closed" "$T_OUT" "carol@example.com	UNPUBLISHED"
t_ok "ca list" "$SMIMEPUB" -f "$C" ca list
t_eq "our CA revoked exactly one (carol's own)" "$(printf '%s\n' "$T_OUT" | grep -c 'revoked')" 1
t_ok "next pass" "$SYNC" -f "$C" --once
t_contains "nothing retried" "$T_OUT" "enrolled 0, renewed 0, revoked 0, republished 0, failed 0, unchanged 2"
t_done
