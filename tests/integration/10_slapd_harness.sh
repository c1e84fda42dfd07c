#!/bin/sh
# The test harness for every directory test (tests/lib/slapd.sh) and the
# smimepub schema, against a real OpenLDAP slapd 2.5 (back-mdb) on loopback.
#
# Findings on OpenLDAP 2.5.13 (Debian 12), asserted below so that a change of
# behaviour fails this test:
# (a) A SPECIFIC value of userSMIMECertificate cannot be deleted: it has no
#     EQUALITY rule in inetorgperson.schema (Binary syntax, 1.3.6.1.4.1.1466.115.121.1.5).
#     `delete: userSMIMECertificate` + `userSMIMECertificate:< file://...` fails:
#       ldap_modify: Inappropriate matching (18)
#         additional info: modify/delete: userSMIMECertificate: no equality matching rule
#     (the same as the rootdn). What works: delete the whole attribute (no values)
#     and add the wanted values in the same modify, or `replace:`; either one
#     keeps the given order. Guard it with the assertion control (b) to get the
#     "fail if something changed meanwhile" property a value delete would give.
#     userCertificate;binary (certificateExactMatch) does allow value deletes; a
#     value that is no longer there fails the whole modify:
#       ldap_modify: No such attribute (16)
#         additional info: modify/delete: userCertificate;binary: no such value
# (b) The LDAP assertion control (RFC 4528, 1.3.6.1.1.12, listed in the root DSE's
#     supportedControl) works with back-mdb and no syncprov overlay: every entry
#     has entryCSN (lastmod), each modify changes it (microsecond resolution plus
#     a counter), and `ldapmodify -e 'assert=(entryCSN=<csn read before>)'` succeeds
#     once and then fails with a stale CSN:
#       ldap_modify: Assertion Failed (122)        (no additional info)
#     The service account only needs read access to entryCSN for that.
# (c) Values keep insertion order. One modify that deletes all values of
#     userCertificate;binary by value (delete: with the values) and adds them back
#     in a new order returns them in the NEW order from ldapsearch. Deleting one
#     value and re-adding it moves it to the end. The same holds for
#     userSMIMECertificate with a delete of the whole attribute plus add.
# Also: userCertificate without ;binary is refused on write:
#       ldap_modify: Undefined attribute type (17)
#         additional info: userCertificate: requires ;binary transfer
#     and userSMIMECertificate;binary is refused on write:
#         additional info: userSMIMECertificate;binary: option "binary" not supported with type
#     and reading userSMIMECertificate;binary returns nothing.
set -eu
SRCDIR=${SRCDIR:-$(pwd)}
export SRCDIR
. "$SRCDIR/tests/lib/testlib.sh"
. "$SRCDIR/tests/lib/slapd.sh"
. "$SRCDIR/tests/lib/certs.sh"

slapd_start

W=$SLAPD_DIR/work
mkdir "$W"   # removed with SLAPD_DIR

# ---------------------------------------------------------------- transports
t_ok "ldap:// answers (anonymous root DSE)" \
    ldapsearch -x -H "$SLAPD_URI" -b '' -s base -LLL namingContexts
t_ok "ldaps:// answers with SLAPD_TLS_CA" \
    env LDAPTLS_CACERT="$SLAPD_TLS_CA" LDAPTLS_REQCERT=demand \
    ldapsearch -x -H "$SLAPD_LDAPS_URI" -b '' -s base -LLL namingContexts
t_ok "ldap:// with StartTLS (-ZZ) answers with SLAPD_TLS_CA" \
    env LDAPTLS_CACERT="$SLAPD_TLS_CA" LDAPTLS_REQCERT=demand \
    ldapsearch -ZZ -x -H "$SLAPD_URI" -b '' -s base -LLL namingContexts
t_fail "ldaps:// is refused with SLAPD_BAD_CA" \
    env LDAPTLS_CACERT="$SLAPD_BAD_CA" LDAPTLS_REQCERT=demand \
    ldapsearch -d 1 -x -H "$SLAPD_LDAPS_URI" -b '' -s base -LLL namingContexts
# Debian's libldap uses GnuTLS: its verification failure reads like this.
t_contains "the bad-CA failure is a certificate verification failure" \
    "$T_OUT" "TLS: peer cert untrusted"
out=$(ldap_ext ldapwhoami 2>&1) || :
t_eq "ldapi:// SASL EXTERNAL binds as root's peercred identity" "$out" \
    "dn:gidNumber=$(id -g)+uidNumber=$(id -u),cn=peercred,cn=external,cn=auth"
t_ok "root over ldapi:// can read cn=config" \
    ldap_ext ldapsearch -LLL -b cn=config -s base 1.1
out=$(ldap_svc ldapwhoami 2>&1) || :
t_eq "the service account binds with SLAPD_SVC_PW_FILE" "$out" "dn:$SLAPD_SVC_DN"
out=$(ldap_lookup ldapwhoami 2>&1) || :
t_eq "the lookup account binds with SLAPD_LOOKUP_PW_FILE" "$out" "dn:$SLAPD_LOOKUP_DN"
t_eq "SLAPD_SVC_PW_FILE is mode 0600" "$(stat -c %a "$SLAPD_SVC_PW_FILE")" 600
t_fail "a wrong password is refused" \
    ldapwhoami -x -H "$SLAPD_URI" -D "$SLAPD_SVC_DN" -w wrong

# ---------------------------------------------------------------- sample data
count() { # FILTER: number of entries under SLAPD_PEOPLE
	ldap_root ldapsearch -LLL -b "$SLAPD_PEOPLE" "$1" 1.1 | grep -c '^dn:' || :
}
for u in alice bob carol; do
	t_eq "$u@example.com matches one entry" "$(count "(mail=$u@example.com)")" 1
done
t_eq "dup@example.com matches exactly two entries" "$(count '(mail=dup@example.com)')" 2
out=$(ldap_lookup ldapsearch -LLL -b "$SLAPD_PEOPLE" '(mail=alice@example.com)' \
    uid cn sn displayName mail objectClass entryUUID)
for a in "uid: alice" "cn: Alice Liddell" "sn: Liddell" "displayName: Alice Liddell" \
    "mail: alice@example.com" "objectClass: inetOrgPerson" "entryUUID: "; do
	t_contains "alice has $a" "$out" "$a"
done
out=$(ldapsearch -x -LLL -H "$SLAPD_URI" -b "$SLAPD_SERVICES" '(cn=smimepub)' userPassword cn)
t_contains "anonymous can read the directory" "$out" "cn: smimepub"
t_not_contains "userPassword is not readable anonymously" "$out" "userPassword"
out=$(ldap_lookup ldapsearch -LLL -b "$SLAPD_SERVICES" '(cn=smimepub)' userPassword)
t_not_contains "userPassword is not readable by the lookup account" "$out" "userPassword"

# ---------------------------------------------------------------- schema
out=$(ldap_ext ldapsearch -LLL -o ldif-wrap=no -b cn=schema,cn=config '(cn=*smimepub)' \
    olcObjectClasses olcAttributeTypes)
t_contains "smimepub schema is in cn=schema,cn=config" "$out" "NAME 'smimepubPerson'"
out=$(ldapsearch -x -LLL -o ldif-wrap=no -H "$SLAPD_URI" -b cn=Subschema -s base \
    objectClasses attributeTypes)
t_contains "smimepubPerson is in the live subschema" "$out" "NAME 'smimepubPerson'"
t_contains "smimepubStatus is in the live subschema" "$out" "NAME 'smimepubStatus'"

# schema/smimepub.schema and schema/smimepub.ldif define exactly the same:
# convert the .schema with slaptest and compare the definitions.
mkdir "$W/conv" "$W/conv/d"
cat >"$W/conv/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include $SRCDIR/schema/smimepub.schema
CONF
t_ok "slaptest accepts schema/smimepub.schema" \
    slaptest -f "$W/conv/slapd.conf" -F "$W/conv/d"
defs() { # LDIF FILE: its olcAttributeTypes/olcObjectClasses, normalized
	sed -e '/^#/d' "$1" | awk '/^ / { line = line substr($0, 2); next }
	    { if (line != "") print line; line = $0 } END { if (line != "") print line }' |
	    sed -n 's/^\(olcAttributeTypes\|olcObjectClasses\): *\({[0-9]*}\)\?//p' |
	    tr -s ' \t' '  '
}
from_schema=$(defs "$(ls "$W"/conv/d/cn=config/cn=schema/cn=*smimepub.ldif)")
from_ldif=$(defs "$SRCDIR/schema/smimepub.ldif")
t_ne "smimepub.schema defines something" "$from_schema" ""
t_eq "smimepub.schema and smimepub.ldif define the same" "$from_schema" "$from_ldif"

C=$(slapd_people_dn carol)
t_ok "rootdn gives carol objectClass smimepubPerson and the smimepub attributes" \
    ldap_root ldapmodify <<LDIF
dn: $C
changetype: modify
add: objectClass
objectClass: smimepubPerson
-
add: smimepubTrigger
smimepubTrigger: enrol
-
add: smimepubStatus
smimepubStatus: published 2026-11-29 serial 0123ABCD
-
add: smimepubStatusTime
smimepubStatusTime: 20261129120000Z
LDIF
t_eq "smimepubTrigger matches case-insensitively" "$(count '(smimepubTrigger=ENROL)')" 1
t_eq "smimepubStatus matches by substring" "$(count '(smimepubStatus=published*serial*)')" 1
t_eq "smimepubStatusTime orders" "$(count '(smimepubStatusTime>=20260101000000Z)')" 1
t_fail "smimepubStatus is single-valued" ldap_root ldapmodify <<LDIF
dn: $C
changetype: modify
add: smimepubStatus
smimepubStatus: another
LDIF
t_ok "the service account writes smimepubStatus" ldap_svc ldapmodify <<LDIF
dn: $C
changetype: modify
replace: smimepubStatus
smimepubStatus: enrolment failed: CA rejected the request
LDIF
t_exit "the service account cannot write smimepubTrigger (50)" 50 ldap_svc ldapmodify <<LDIF
dn: $C
changetype: modify
delete: smimepubTrigger
LDIF
t_fail "smimepubStatus needs objectClass smimepubPerson" ldap_root ldapmodify <<LDIF
dn: $(slapd_people_dn bob)
changetype: modify
add: smimepubStatus
smimepubStatus: x
LDIF

# ---------------------------------------------------------------- certificates
certs_ca "$W/ca" "smimepub harness test CA"
certs_leaf "$W/ca" "$W/a1" alice@example.com "" ec
certs_leaf "$W/ca" "$W/a2" alice@example.com "" ec
certs_leaf "$W/ca" "$W/a3" alice@example.com "" ec
A=$(slapd_people_dn alice)

# values ATTR: the values of ATTR on alice, in server order, one sha256 a line
values() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$A" -s base "$1" |
	    sed -n "s/^$1:: //p" | while read -r v; do
		printf '%s' "$v" | base64 -d | sha256sum | cut -c1-64
	done
}
sums() { # FILE...: sha256 of each file, one a line
	for f in "$@"; do sha256sum <"$f" | cut -c1-64; done
}

t_ok "the service account adds userCertificate;binary to alice" ldap_svc ldapmodify <<LDIF
dn: $A
changetype: modify
add: userCertificate;binary
userCertificate;binary:< file://$W/a1.der
userCertificate;binary:< file://$W/a2.der
userCertificate;binary:< file://$W/a3.der
LDIF
t_eq "userCertificate;binary reads back in insertion order" \
    "$(values 'userCertificate;binary')" "$(sums "$W/a1.der" "$W/a2.der" "$W/a3.der")"
t_exit "userCertificate without ;binary is refused (17)" 17 ldap_svc ldapmodify <<LDIF
dn: $A
changetype: modify
add: userCertificate
userCertificate:< file://$W/a1.der
LDIF
t_contains "... with 'requires ;binary transfer'" "$T_OUT" \
    "userCertificate: requires ;binary transfer"
t_ok "the service account adds userSMIMECertificate (no ;binary, Binary syntax)" \
    ldap_svc ldapmodify <<LDIF
dn: $A
changetype: modify
add: userSMIMECertificate
userSMIMECertificate:< file://$W/a1.p7c
userSMIMECertificate:< file://$W/a2.p7c
LDIF
t_eq "userSMIMECertificate reads back byte for byte, in order" \
    "$(values userSMIMECertificate)" "$(sums "$W/a1.p7c" "$W/a2.p7c")"
t_exit "userSMIMECertificate;binary is refused on write (17)" 17 ldap_svc ldapmodify <<LDIF
dn: $A
changetype: modify
add: userSMIMECertificate;binary
userSMIMECertificate;binary:< file://$W/a3.p7c
LDIF
t_contains "... with 'option \"binary\" not supported'" "$T_OUT" \
    'userSMIMECertificate;binary: option "binary" not supported with type'
t_eq "reading userSMIMECertificate;binary returns nothing" \
    "$(values 'userSMIMECertificate;binary')" ""
t_exit "the lookup account cannot write userCertificate (50)" 50 ldap_lookup ldapmodify <<LDIF
dn: $A
changetype: modify
add: userCertificate;binary
userCertificate;binary:< file://$W/a1.der
LDIF
t_exit "the service account cannot write mail (50)" 50 ldap_svc ldapmodify <<LDIF
dn: $A
changetype: modify
replace: mail
mail: mallory@example.com
LDIF
t_exit "the service account cannot write outside ou=people (50)" 50 ldap_svc ldapmodify <<LDIF
dn: $SLAPD_LOOKUP_DN
changetype: modify
replace: description
description: x
LDIF
t_ok "the service account can create an entry below its own (lease)" ldap_svc ldapadd <<LDIF
dn: cn=lease,$SLAPD_SVC_DN
objectClass: applicationProcess
cn: lease
description: holder=test
LDIF

# (a) no value delete on userSMIMECertificate
t_exit "(a) deleting one userSMIMECertificate value fails: inappropriate matching (18)" 18 \
    ldap_svc ldapmodify <<LDIF
dn: $A
changetype: modify
delete: userSMIMECertificate
userSMIMECertificate:< file://$W/a1.p7c
LDIF
t_contains "(a) ... 'no equality matching rule'" "$T_OUT" \
    "modify/delete: userSMIMECertificate: no equality matching rule"
t_exit "(a) ... the same as the rootdn (18)" 18 ldap_root ldapmodify <<LDIF
dn: $A
changetype: modify
delete: userSMIMECertificate
userSMIMECertificate:< file://$W/a1.p7c
LDIF
t_ok "(a) delete of all userSMIMECertificate values + add in one modify works" \
    ldap_svc ldapmodify <<LDIF
dn: $A
changetype: modify
delete: userSMIMECertificate
-
add: userSMIMECertificate
userSMIMECertificate:< file://$W/a3.p7c
userSMIMECertificate:< file://$W/a1.p7c
LDIF
t_eq "(a) ... and keeps the new order" "$(values userSMIMECertificate)" \
    "$(sums "$W/a3.p7c" "$W/a1.p7c")"
t_exit "deleting a userCertificate;binary value that is not there fails (16)" 16 \
    ldap_svc ldapmodify <<LDIF
dn: $A
changetype: modify
delete: userCertificate;binary
userCertificate;binary:< file://$W/ca/ca.der
-
add: userCertificate;binary
userCertificate;binary:< file://$W/a1.der
LDIF
t_contains "... 'no such value'" "$T_OUT" \
    "modify/delete: userCertificate;binary: no such value"
t_eq "... and changes nothing" "$(values 'userCertificate;binary')" \
    "$(sums "$W/a1.der" "$W/a2.der" "$W/a3.der")"

# (b) assertion control on entryCSN
out=$(ldap_root ldapsearch -LLL -b '' -s base supportedControl)
t_contains "(b) the root DSE lists the assertion control" "$out" \
    "supportedControl: 1.3.6.1.1.12"
csn() { ldap_svc ldapsearch -LLL -b "$A" -s base entryCSN | sed -n 's/^entryCSN: //p'; }
csn1=$(csn)
t_ne "(b) alice has an entryCSN without syncprov" "$csn1" ""
t_ok "(b) a modify asserting the current entryCSN succeeds" \
    ldap_svc ldapmodify -e "assert=(entryCSN=$csn1)" <<LDIF
dn: $A
changetype: modify
replace: userSMIMECertificate
userSMIMECertificate:< file://$W/a1.p7c
LDIF
csn2=$(csn)
t_ne "(b) the modify changed entryCSN" "$csn2" "$csn1"
t_exit "(b) a modify asserting the old entryCSN fails: assertion failed (122)" 122 \
    ldap_svc ldapmodify -e "assert=(entryCSN=$csn1)" <<LDIF
dn: $A
changetype: modify
replace: userSMIMECertificate
userSMIMECertificate:< file://$W/a2.p7c
LDIF
t_contains "(b) ... 'Assertion Failed (122)'" "$T_OUT" "Assertion Failed (122)"
t_eq "(b) ... and changes nothing" "$(values userSMIMECertificate)" "$(sums "$W/a1.p7c")"

# (c) delete all values by value and add them back in a new order
t_ok "(c) one modify deletes the three userCertificate;binary values and re-adds them" \
    ldap_svc ldapmodify <<LDIF
dn: $A
changetype: modify
delete: userCertificate;binary
userCertificate;binary:< file://$W/a1.der
userCertificate;binary:< file://$W/a2.der
userCertificate;binary:< file://$W/a3.der
-
add: userCertificate;binary
userCertificate;binary:< file://$W/a3.der
userCertificate;binary:< file://$W/a1.der
userCertificate;binary:< file://$W/a2.der
LDIF
t_eq "(c) ldapsearch returns them in the new order" "$(values 'userCertificate;binary')" \
    "$(sums "$W/a3.der" "$W/a1.der" "$W/a2.der")"
t_ok "(c) deleting and re-adding one value in one modify" ldap_svc ldapmodify <<LDIF
dn: $A
changetype: modify
delete: userCertificate;binary
userCertificate;binary:< file://$W/a3.der
-
add: userCertificate;binary
userCertificate;binary:< file://$W/a3.der
LDIF
t_eq "(c) ... moves it to the end" "$(values 'userCertificate;binary')" \
    "$(sums "$W/a1.der" "$W/a2.der" "$W/a3.der")"

# ---------------------------------------------------------------- cleanup
# A test that fails (set -e, or t_done with failures) or is killed still stops
# its slapd and removes its directory, and runs slapd_cleanup_add hooks.
cat >"$W/child.sh" <<'CHILD'
set -eu
. "$SRCDIR/tests/lib/testlib.sh"
. "$SRCDIR/tests/lib/slapd.sh"
slapd_cleanup_add 'touch "$MARK"'
slapd_start
printf '%s %s\n' "$SLAPD_DIR" "$(cat "$SLAPD_DIR/slapd.pid")" >"$INFO"
case $1 in
fail) t_eq "simulated failure" 1 2; t_done ;;
sete) false ;;
wait) while :; do sleep 0.05; done ;;
esac
CHILD
# shellcheck disable=SC2016
check_cleanup() { # NAME
	d=
	p=
	[ ! -s "$W/info" ] || read -r d p <"$W/info"
	t_ok "$1: its slapd is gone" sh -c '[ -n "$1" ] && ! kill -0 "$1" 2>/dev/null' sh "$p"
	t_ok "$1: its SLAPD_DIR is removed" sh -c '[ -n "$1" ] && [ ! -e "$1" ]' sh "$d"
	t_ok "$1: the slapd_cleanup_add hook ran" test -e "$W/mark"
	rm -f "$W/mark" "$W/info"
}
rc=0
MARK=$W/mark INFO=$W/info sh "$W/child.sh" fail >"$W/child.out" 2>&1 || rc=$?
t_eq "a failing test keeps its exit status 1" "$rc" 1
t_contains "... and prints its closing line" "$(cat "$W/child.out")" "0 passed, 1 failed"
check_cleanup "after a failed test"
MARK=$W/mark INFO=$W/info sh "$W/child.sh" wait >"$W/child.out" 2>&1 &
child=$!
i=0
while [ ! -s "$W/info" ] && [ "$i" -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kill -TERM "$child"
rc=0
wait "$child" || rc=$?
t_eq "a test killed with TERM exits 143" "$rc" 143
check_cleanup "after TERM"

t_done
