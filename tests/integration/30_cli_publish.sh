#!/bin/sh
# smimepub publish / unpublish / show against a real slapd: byte-exact
# values, ours first, foreign values untouched, errors that write nothing,
# and TLS (ldaps, StartTLS) verified against the right CA only.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/certs.sh"
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start

# conf NAME [extra directory lines]: a config for the service account.
conf() {
	_n=$1
	shift
	{
		echo "directory = {"
		echo "  uri = \"$SLAPD_URI\";"
		echo "  bind_dn = \"$SLAPD_SVC_DN\";"
		echo "  bind_password_file = \"$SLAPD_SVC_PW_FILE\";"
		echo "  base = \"$SLAPD_PEOPLE\";"
		for _l in "$@"; do echo "  $_l"; done
		echo "};"
		echo "keys = { discard_passphrase = true; };"
		echo "sync = { state_dir = \"$T/state\"; };"
	} >"$T/$_n.conf"
	echo "$T/$_n.conf"
}
C=$(conf main)

# vals UID ATTR: the values of ATTR on the person, one file per value, in
# the order the server returns them; prints the file names.
vals() {
	_d=$T/vals.$1.$(printf '%s' "$2" | tr ';' _).$$.$(date +%s%N)
	mkdir -p "$_d"
	ldap_root ldapsearch -LLL -o ldif-wrap=no -tt -T "$_d" -b "$(slapd_people_dn "$1")" \
	    -s base '(objectClass=*)' "$2" |
	    sed -n 's|^[^:]*:< file://||p'
}
nvals() { vals "$1" "$2" | wc -l | tr -d ' '; }
first() { vals "$1" "$2" | head -n 1; }
csn() {
	ldap_root ldapsearch -LLL -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' entryCSN | sed -n 's/^entryCSN: //p'
}
# p7first FILE: PEM of the first certificate of a DER certs-only bundle.
p7first() {
	openssl pkcs7 -inform DER -in "$1" -print_certs 2>/dev/null |
	    awk '/BEGIN CERT/{n++} n==1' | openssl x509 -outform DER | od -An -tx1 | tr -d ' \n'
}
hexof() { od -An -tx1 <"$1" | tr -d ' \n'; }

certs_ca "$T/ca" "smimepub test CA"
certs_ca "$T/other" "someone else's CA"
certs_leaf "$T/ca" "$T/alice" alice@example.com
certs_leaf "$T/ca" "$T/alice2" alice@example.com "" ec
certs_leaf "$T/ca" "$T/bob1" bob@example.com
certs_leaf "$T/ca" "$T/bob2" bob@example.com
certs_leaf "$T/other" "$T/foreign" bob@example.com
certs_leaf "$T/ca" "$T/expired" carol@example.com "" end="$(certs_time -1)" start="$(certs_time -30)"
cat "$T/alice.pem" "$T/ca/ca.pem" >"$T/alice-chain.pem"

# --- publish writes byte-exact DER and a certs-only bundle --------------
t_ok "publish alice with chain" "$SMIMEPUB" -f "$C" publish alice@example.com "$T/alice-chain.pem"
t_eq "one userCertificate;binary value" "$(nvals alice 'userCertificate;binary')" 1
t_eq "userCertificate;binary is the DER, byte for byte" \
    "$(hexof "$(first alice 'userCertificate;binary')")" "$(hexof "$T/alice.der")"
t_eq "one userSMIMECertificate value" "$(nvals alice userSMIMECertificate)" 1
f=$(first alice userSMIMECertificate)
t_eq "openssl pkcs7 reads the bundle: leaf first" "$(p7first "$f")" "$(hexof "$T/alice.der")"
t_eq "the bundle holds leaf and CA" \
    "$(openssl pkcs7 -inform DER -in "$f" -print_certs | grep -c 'BEGIN CERT')" 2
t_ok "show alice" "$SMIMEPUB" -f "$C" show alice@example.com
t_contains "show: usable" "$T_OUT" "usable: yes"
t_contains "show: ours" "$T_OUT" "published_by: smimepub"
t_contains "show: sha256" "$T_OUT" "sha256: $(certs_fingerprint "$T/alice.pem")"
t_contains "show: bundle matches userCertificate" "$T_OUT" "matches userCertificate;binary[0]: yes"

# a renewal replaces ours in place; publishing the same again writes nothing
t_ok "publish alice's new certificate" "$SMIMEPUB" -f "$C" publish alice@example.com "$T/alice2.pem"
t_eq "still one value after renewal" "$(nvals alice 'userCertificate;binary')" 1
t_eq "the new certificate is the value" \
    "$(hexof "$(first alice 'userCertificate;binary')")" "$(hexof "$T/alice2.der")"
before=$(csn alice)
t_ok "publish the same certificate again" "$SMIMEPUB" -f "$C" publish alice@example.com "$T/alice2.pem"
t_eq "nothing written when nothing changes (entryCSN)" "$(csn alice)" "$before"

# --- foreign values survive, ours go first -------------------------------
cat >"$T/foreign.ldif" <<EOL
dn: $(slapd_people_dn bob)
changetype: modify
add: userCertificate;binary
userCertificate;binary:< file://$T/foreign.der
-
add: userSMIMECertificate
userSMIMECertificate:< file://$T/foreign.p7c
EOL
t_ok "a foreign certificate on bob" ldap_root ldapmodify -f "$T/foreign.ldif"
t_ok "publish bob1" "$SMIMEPUB" -f "$C" publish bob@example.com "$T/bob1.pem"
t_ok "publish bob2" "$SMIMEPUB" -f "$C" publish bob@example.com "$T/bob2.pem"
t_eq "bob: two userCertificate values (ours + foreign)" "$(nvals bob 'userCertificate;binary')" 2
t_eq "bob: ours (bob2) is the first userCertificate" \
    "$(hexof "$(vals bob 'userCertificate;binary' | sed -n 1p)")" "$(hexof "$T/bob2.der")"
t_eq "bob: the foreign one follows, byte for byte" \
    "$(hexof "$(vals bob 'userCertificate;binary' | sed -n 2p)")" "$(hexof "$T/foreign.der")"
t_eq "bob: two userSMIMECertificate values" "$(nvals bob userSMIMECertificate)" 2
t_eq "bob: ours is the first bundle" \
    "$(p7first "$(vals bob userSMIMECertificate | sed -n 1p)")" "$(hexof "$T/bob2.der")"
t_eq "bob: the foreign bundle follows, byte for byte" \
    "$(hexof "$(vals bob userSMIMECertificate | sed -n 2p)")" "$(hexof "$T/foreign.p7c")"
"$SMIMEPUB" -f "$C" show bob@example.com >"$T/show.bob" 2>&1 || true
t_contains "show: the foreign one is someone else's" "$(cat "$T/show.bob")" "published_by: other"

t_ok "unpublish bob" "$SMIMEPUB" -f "$C" unpublish bob@example.com
t_contains "unpublish reports one removed" "$T_OUT" "removed 1 certificate"
t_eq "bob: only the foreign userCertificate is left" \
    "$(hexof "$(first bob 'userCertificate;binary')")" "$(hexof "$T/foreign.der")"
t_eq "bob: one userCertificate value" "$(nvals bob 'userCertificate;binary')" 1
t_eq "bob: only the foreign bundle is left" \
    "$(hexof "$(first bob userSMIMECertificate)")" "$(hexof "$T/foreign.p7c")"
t_ok "unpublish again is harmless" "$SMIMEPUB" -f "$C" unpublish bob@example.com
t_eq "bob: foreign still there" "$(nvals bob 'userCertificate;binary')" 1

# --- errors write nothing -------------------------------------------------
d1=$(csn dup1); d2=$(csn dup2); c0=$(csn carol)
t_exit "unknown mail fails (1)" 1 "$SMIMEPUB" -f "$C" publish nobody@example.com "$T/alice.pem"
t_contains "names the address" "$T_OUT" "nobody@example.com"
certs_leaf "$T/ca" "$T/dup" dup@example.com
t_exit "an address on two entries fails (1)" 1 "$SMIMEPUB" -f "$C" publish dup@example.com "$T/dup.pem"
t_contains "names both entries" "$T_OUT" "uid=dup2"
t_eq "dup1 untouched" "$(csn dup1)" "$d1"
t_eq "dup2 untouched" "$(csn dup2)" "$d2"
t_exit "an injection string is an invalid address (2)" 2 "$SMIMEPUB" -f "$C" publish '*)(mail=*' "$T/alice.pem"
t_exit "an injection with a domain too (2)" 2 "$SMIMEPUB" -f "$C" unpublish '*)(mail=*)@example.com'
t_exit "a certificate for another address is refused (1)" 1 "$SMIMEPUB" -f "$C" publish carol@example.com "$T/alice.pem"
t_contains "says why" "$T_OUT" "address not in certificate"
t_exit "an expired certificate is refused (1)" 1 "$SMIMEPUB" -f "$C" publish carol@example.com "$T/expired.pem"
t_contains "says expired" "$T_OUT" "expired"
t_eq "carol untouched" "$(csn carol)" "$c0"
printf 'garbage' >"$T/garbage.pem"
t_exit "a file with no certificate is refused (1)" 1 "$SMIMEPUB" -f "$C" publish carol@example.com "$T/garbage.pem"
t_contains "names the file" "$T_OUT" "$T/garbage.pem"

# --- binding and TLS ------------------------------------------------------
printf 'wrong' >"$T/wrong.pw"; chmod 0600 "$T/wrong.pw"
W=$(conf wrongpw)
sed -i "s|$SLAPD_SVC_PW_FILE|$T/wrong.pw|" "$W"
t_exit "a wrong bind password fails (1)" 1 "$SMIMEPUB" -f "$W" show alice@example.com
t_contains "says invalid credentials" "$T_OUT" "Invalid credentials"
chmod 0644 "$T/wrong.pw"
t_exit "a readable password file is refused" 1 "$SMIMEPUB" -f "$W" show alice@example.com
t_contains "says why" "$T_OUT" "lets group or others read"

L=$(conf ldaps "tls_ca_file = \"$SLAPD_TLS_CA\";")
sed -i "s|uri = \"$SLAPD_URI\"|uri = \"$SLAPD_LDAPS_URI\"|" "$L"
t_ok "ldaps with the server's CA" "$SMIMEPUB" -f "$L" show alice@example.com
LB=$(conf ldapsbad "tls_ca_file = \"$SLAPD_BAD_CA\";")
sed -i "s|uri = \"$SLAPD_URI\"|uri = \"$SLAPD_LDAPS_URI\"|" "$LB"
t_exit "ldaps with an unrelated CA is refused (1)" 1 "$SMIMEPUB" -f "$LB" show alice@example.com
t_contains "the error names the URI" "$T_OUT" "$SLAPD_LDAPS_URI"
S=$(conf starttls "starttls = true;" "tls_ca_file = \"$SLAPD_TLS_CA\";")
t_ok "StartTLS with the server's CA" "$SMIMEPUB" -f "$S" show alice@example.com
SB=$(conf starttlsbad "starttls = true;" "tls_ca_file = \"$SLAPD_BAD_CA\";")
t_exit "StartTLS with an unrelated CA is refused (1)" 1 "$SMIMEPUB" -f "$SB" show alice@example.com
t_done
