#!/bin/sh
# smimepub-sync --once against a real slapd and the local CA: new people are
# enrolled and published, a second pass changes nothing, a removed
# certificate is republished, a deleted person is revoked, a changed address
# is re-enrolled, renewal replaces ours, and two entries with one address
# fail without stopping the pass.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start

conf() {
	cat >"$1" <<EOC
$(slapd_conf_directory)
};
ca = { driver = "local"; local = { dir = "$T/ca"; validity_days = 60; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; pkcs12_iterations = 10000; discard_passphrase = true; };
sync = { state_dir = "$T/state"; renew_before_days = $2; on_leave = "revoke"; };
log = { audit_file = "$T/audit.jsonl"; };
EOC
}
conf "$T/smimepub.conf" 30
conf "$T/renew.conf" 90
C=$T/smimepub.conf
ncerts() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' 'userCertificate;binary' | grep -c '^userCertificate;binary::' || true
}

# bad directory data beside the two dup@ entries: an address that fails
# validation, and a person with a 100 KB attribute and a long display name
big=$(head -c 75000 /dev/urandom | base64 -w0)
printf 'dn: uid=badmail,%s\nobjectClass: inetOrgPerson\nuid: badmail\ncn: x\nsn: x\nmail: not an address@example.com\n\ndn: uid=big,%s\nobjectClass: inetOrgPerson\nuid: big\ncn: big\nsn: big\ndisplayName: %s\ndescription: %s\nmail: big@example.com\n' \
    "$SLAPD_PEOPLE" "$SLAPD_PEOPLE" "$(head -c 300 /dev/zero | tr '\0' B)" "$big" | ldap_root ldapadd >/dev/null

t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
t_exit "first pass: exit 1 because the two dup@ entries fail" 1 "$SYNC" -f "$C" --once
t_contains "summary: four enrolled, two failed, one skipped" "$T_OUT" "enrolled 4, renewed 0, revoked 0, republished 0, failed 2, unchanged 0, skipped 1"
t_eq "the person with a 100 KB attribute is enrolled" "$(ncerts big)" 1
t_eq "the invalid address got nothing" "$(ncerts badmail)" 0
ldap_root ldapdelete "uid=badmail,$SLAPD_PEOPLE"
for u in alice bob carol; do
	t_eq "$u has one certificate" "$(ncerts $u)" 1
done
t_eq "dup1 got nothing" "$(ncerts dup1)" 0
A=$T/audit.jsonl
t_eq "audit: four issuances" "$(grep -c '"event":"issuance"' "$A")" 4
t_eq "audit: four publications" "$(grep -c '"event":"publication"' "$A")" 4
t_eq "audit: two failures" "$(grep -c '"event":"failure"' "$A")" 2
t_eq "audit: every issuance names serial, sha256 and CA" \
    "$(grep '"event":"issuance"' "$A" | grep -c '"serial":"[0-9A-F]*","sha256":"[0-9a-f]\{64\}","ca":"local","outcome":"issued"')" 4
t_eq "audit: the file is 0600" "$(stat -c %a "$A")" 600
t_ok "status" "$SMIMEPUB" -f "$C" status
t_contains "alice is PUBLISHED" "$T_OUT" "alice@example.com	PUBLISHED"
t_contains "dup is FAILED with the reason" "$T_OUT" "dup@example.com	FAILED	-	-"
t_contains "the reason names both entries" "$T_OUT" "uid=dup2"

t_ok "second pass changes nothing; the failed two wait for their retry" "$SYNC" -f "$C" --once
t_contains "summary: four unchanged, two skipped" "$T_OUT" "enrolled 0, renewed 0, revoked 0, republished 0, failed 0, unchanged 4, skipped 2"

# drop the duplicates so passes succeed from here on
ldap_root ldapdelete "$(slapd_people_dn dup1)" "$(slapd_people_dn dup2)"

cat >"$T/strip.ldif" <<EOL
dn: $(slapd_people_dn carol)
changetype: modify
delete: userCertificate;binary
-
delete: userSMIMECertificate
EOL
ldap_root ldapmodify -f "$T/strip.ldif" >/dev/null
t_ok "a pass after carol's certificate was removed by hand" "$SYNC" -f "$C" --once
t_contains "carol republished" "$T_OUT" "republished 1"
t_eq "carol has her certificate again" "$(ncerts carol)" 1

ldap_root ldapdelete "$(slapd_people_dn bob)"
t_ok "a pass after bob left" "$SYNC" -f "$C" --once
t_contains "bob revoked" "$T_OUT" "revoked 1"
t_ok "ca list" "$SMIMEPUB" -f "$C" ca list
t_contains "bob's certificate is revoked at the CA" "$T_OUT" "bob@example.com revoked"
t_eq "audit: bob's revocation" "$(grep '"event":"revocation"' "$A" | grep -c '"mail":"bob@example.com"')" 1

cat >"$T/rename.ldif" <<EOL
dn: $(slapd_people_dn alice)
changetype: modify
replace: mail
mail: alice.new@example.com
EOL
ldap_root ldapmodify -f "$T/rename.ldif" >/dev/null
t_ok "a pass after alice's address changed" "$SYNC" -f "$C" --once
t_contains "alice re-enrolled" "$T_OUT" "enrolled 1"
t_contains "and bob, gone, is not handled again" "$T_OUT" "revoked 0,"
t_eq "alice has exactly one certificate" "$(ncerts alice)" 1
ldap_root ldapsearch -LLL -o ldif-wrap=no -tt -T "$T" -b "$(slapd_people_dn alice)" -s base \
    '(objectClass=*)' 'userCertificate;binary' >"$T/alice.ldif"
f=$(sed -n 's|^[^:]*:< file://||p' "$T/alice.ldif" | head -n 1)
t_contains "it names the new address" "$(openssl x509 -inform DER -in "$f" -noout -ext subjectAltName)" "alice.new@example.com"
t_ok "ca list" "$SMIMEPUB" -f "$C" ca list
t_contains "the old address's certificate is revoked" "$T_OUT" "alice@example.com revoked"

# carol's certificate before the renewal: ours, and soon superseded
ldap_root ldapsearch -LLL -o ldif-wrap=no -tt -T "$T" -b "$(slapd_people_dn carol)" -s base \
    '(objectClass=*)' 'userCertificate;binary' >"$T/carol-old.ldif"
cp "$(sed -n 's|^userCertificate;binary:< file://||p' "$T/carol-old.ldif")" "$T/carol-old.der"
t_ok "a pass with renew_before_days beyond the validity" "$SYNC" -f "$T/renew.conf" --once
t_contains "all three renewed" "$T_OUT" "renewed 3"
t_eq "alice still has exactly one" "$(ncerts alice)" 1
t_eq "carol still has exactly one" "$(ncerts carol)" 1

# Tidying entries (DESIGN.md: ours first in both attributes, no other value
# of ours): carol gets her superseded certificate back as a second value
# beside a foreign one; alice loses her userSMIMECertificate. The next
# pass republishes both: the stale value of ours goes, the foreign one
# stays, and alice's bundle is back with the chain after her certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
    -subj "/CN=carol elsewhere" -days 30 -outform DER -out "$T/foreign.der" 2>/dev/null
cat >"$T/untidy.ldif" <<EOL
dn: $(slapd_people_dn carol)
changetype: modify
add: userCertificate;binary
userCertificate;binary:< file://$T/carol-old.der
userCertificate;binary:< file://$T/foreign.der

dn: $(slapd_people_dn alice)
changetype: modify
delete: userSMIMECertificate
EOL
ldap_root ldapmodify -f "$T/untidy.ldif" >/dev/null
t_eq "carol: three values before the pass" "$(ncerts carol)" 3
t_ok "a pass over the untidy entries" "$SYNC" -f "$C" --once
t_contains "both republished, nothing else" "$T_OUT" "enrolled 0, renewed 0, revoked 0, republished 2, failed 0"
ldap_root ldapsearch -LLL -o ldif-wrap=no -tt -T "$T" -b "$(slapd_people_dn carol)" -s base \
    '(objectClass=*)' 'userCertificate;binary' >"$T/carol.ldif"
t_eq "carol: two values, ours and the foreign one" "$(ncerts carol)" 2
t_ne "carol: the superseded one is gone" \
    "$(sed -n 's|^userCertificate;binary:< file://||p' "$T/carol.ldif" | xargs cat | od -An -tx1 | tr -d ' \n' | grep -c "$(od -An -tx1 <"$T/carol-old.der" | tr -d ' \n')" || true)" 1
t_eq "carol: the foreign one stays, second" \
    "$(sed -n 's|^userCertificate;binary:< file://||p' "$T/carol.ldif" | sed -n 2p | xargs cmp -s "$T/foreign.der" && echo same)" same
ldap_root ldapsearch -LLL -o ldif-wrap=no -tt -T "$T" -b "$(slapd_people_dn alice)" -s base \
    '(objectClass=*)' 'userCertificate;binary' userSMIMECertificate >"$T/alice.ldif"
sm=$(sed -n 's|^userSMIMECertificate:< file://||p' "$T/alice.ldif")
t_ok "alice: userSMIMECertificate is back" test -n "$sm"
t_eq "alice: her certificate and the CA's in the bundle" \
    "$(openssl pkcs7 -inform DER -in "$sm" -print_certs 2>/dev/null | grep -c 'BEGIN CERT')" 2
t_eq "alice: the bundle's first certificate is her userCertificate" \
    "$(openssl pkcs7 -inform DER -in "$sm" -print_certs | awk '/BEGIN/{n++} n==1' | openssl x509 -outform DER | od -An -tx1 | tr -d ' \n')" \
    "$(sed -n 's|^userCertificate;binary:< file://||p' "$T/alice.ldif" | xargs od -An -tx1 | tr -d ' \n')"
t_ok "the pass after" "$SYNC" -f "$C" --once
t_contains "changes nothing" "$T_OUT" "republished 0, failed 0"
t_done
