#!/bin/sh
# smimepub-sync --once --dry-run against a real slapd and the local CA: over
# enrolled people and a new one, after a leave (deleted, out of filter), an
# address change and with renewals due, it prints one line per person with
# the action and why, then the summary, and leaves the directory, the
# journal, the CA's files and the audit log byte for byte as they were.
# --dry-run without --once is a usage error.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start

conf() {
	cat >"$1" <<EOC
$(slapd_conf_directory)
  filter = "(&(objectClass=inetOrgPerson)(mail=*)(!(description=gone)))";
};
ca = { driver = "local"; local = { dir = "$T/ca"; validity_days = 60; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; pkcs12_iterations = 10000;
         discard_passphrase = true; };
sync = { state_dir = "$T/state"; renew_before_days = $2; on_leave = "revoke"; };
log = { audit_file = "$T/audit.jsonl"; };
EOC
}
conf "$T/smimepub.conf" 30
conf "$T/renew.conf" 90
C=$T/smimepub.conf

# everything the dry run must leave alone, in one text
snapshot() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$SLAPD_BASE" '(objectClass=*)' '*' '+'
	mdb_dump -a "$T/state"
	(cd "$T/ca" && find . -type f | sort | xargs sha256sum)
	sha256sum "$T/audit.jsonl"
}

ldap_root ldapdelete "$(slapd_people_dn dup1)" "$(slapd_people_dn dup2)"
t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
t_ok "a real pass enrols alice, bob and carol" "$SYNC" -f "$C" --once
t_contains "three enrolled" "$T_OUT" "enrolled 3,"

t_exit "--dry-run without --once is a usage error" 2 "$SYNC" -f "$C" --dry-run
t_contains "the usage says --once [--dry-run]" "$T_OUT" "--once [--dry-run]"

snapshot >"$T/before"
t_ok "a dry run with nothing to do" "$SYNC" -f "$C" --once --dry-run
t_contains "it says nothing is done" "$T_OUT" "dry run, nothing done; would have: enrolled 0, renewed 0, revoked 0, republished 0, failed 0, unchanged 3"

# a new hire, a leaver (deleted), one out of the filter, a new address
printf 'dn: uid=dave,%s\nobjectClass: inetOrgPerson\nuid: dave\ncn: dave\nsn: dave\nmail: dave@example.com\n' \
    "$SLAPD_PEOPLE" | ldap_root ldapadd >/dev/null
ldap_root ldapdelete "$(slapd_people_dn bob)"
printf 'dn: %s\nchangetype: modify\nadd: description\ndescription: gone\n' \
    "$(slapd_people_dn carol)" | ldap_root ldapmodify >/dev/null
printf 'dn: %s\nchangetype: modify\nreplace: mail\nmail: alice.new@example.com\n' \
    "$(slapd_people_dn alice)" | ldap_root ldapmodify >/dev/null

snapshot >"$T/before"
t_ok "a dry run over enrolled, new, leaving and renamed people" "$SYNC" -f "$C" --once --dry-run
out=$T_OUT
t_contains "dave: enrol, new" "$out" "enrol	dave@example.com	new"
t_contains "alice: re-enrol, address changed" "$out" "re-enrol	alice.new@example.com	address changed from alice@example.com"
t_contains "bob: leave, deleted" "$out" "leave	bob@example.com	left: deleted"
t_contains "carol: leave, out of filter" "$out" "leave	carol@example.com	left: out of filter"
t_contains "the summary" "$out" "dry run, nothing done; would have: enrolled 2, renewed 0, revoked 2,"
snapshot >"$T/after"
t_ok "directory, journal, CA files and audit log byte for byte unchanged" cmp "$T/before" "$T/after"
t_ok "the audit log is as the real pass left it: no new line" test "$(wc -l <"$T/audit.jsonl")" -eq 6

# renewals due: the date is when renew_before_days starts
ldap_root ldapdelete "$(slapd_people_dn dave)"
printf 'dn: %s\nchangetype: modify\nreplace: mail\nmail: alice@example.com\n' \
    "$(slapd_people_dn alice)" | ldap_root ldapmodify >/dev/null
printf 'dn: %s\nchangetype: modify\ndelete: description\n' \
    "$(slapd_people_dn carol)" | ldap_root ldapmodify >/dev/null
snapshot >"$T/before"
t_ok "a dry run with renewals due" "$SYNC" -f "$T/renew.conf" --once --dry-run
out=$T_OUT
# 60-day certificates, renewal 90 days before the end: due 30 days ago
due=$(date -u -d '-30 days' +%Y-%m-%d)
due2=$(date -u -d '-31 days' +%Y-%m-%d)
case $out in
*"renew	alice@example.com	renewal due on $due"*|*"renew	alice@example.com	renewal due on $due2"*)
	t_ok "alice: renewal due on $due (60-day certificate, renewed 90 days before)" true ;;
*)	t_ok "alice: renewal due on $due (60-day certificate, renewed 90 days before)" false ;;
esac
t_contains "carol: renew (back in the filter, never left)" "$out" "renew	carol@example.com	renewal due on"
t_contains "bob still leaves" "$out" "leave	bob@example.com	left: deleted"
snapshot >"$T/after"
t_ok "still nothing changed" cmp "$T/before" "$T/after"
t_ok "the real pass after the dry runs does what they said" "$SYNC" -f "$T/renew.conf" --once
t_contains "two renewed, one revoked" "$T_OUT" "enrolled 0, renewed 2, revoked 1,"
t_done
