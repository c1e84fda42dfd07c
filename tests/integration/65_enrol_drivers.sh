#!/bin/sh
# `smimepub enrol` end to end through every CA driver (local, cmp, est,
# cfssl, exec), each against its peer from tests/lib/capeers.sh, with a real
# slapd: the certificate read back from the directory encrypts a message
# that the key in the delivered PKCS#12 (passphrase captured by a test
# delivery command) decrypts; `smimepub revoke` reaches the CA and clears
# the entry (est: RFC 7030 has no revocation, a clear error). Then the bad
# CAs through the command line: a certificate for another key or address,
# without emailProtection, expired, longer than 825 days, not chaining,
# garbage, HTTP 500, a refusal, a helper that hangs. Each exits 1 naming
# the reason, leaves the entry untouched (same entryCSN), shows FAILED with
# the reason in `smimepub status`, delivers no PKCS#12 and leaves no
# private key unencrypted in the state, delivery or temp dirs.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"
. "$SRCDIR/tests/lib/capeers.sh"

HAVE_CFSSL=1
for p in cfssl sqlite3 curl; do
	command -v "$p" >/dev/null 2>&1 || HAVE_CFSSL=0
done

slapd_test_start
mkdir "$T/tmp" "$T/pass" "$T/work"
MAIL=alice@example.com
ALICE=$(slapd_people_dn alice)

# the delivery command keeps the passphrase it reads on stdin
cat >"$T/hand-over" <<EOS
#!/bin/sh
umask 077
cat > "$T/pass/\$(basename "\$SMIMEPUB_P12")"
echo "\$SMIMEPUB_MAIL \$SMIMEPUB_P12" >> "$T/delivered"
EOS
chmod 0700 "$T/hand-over"

# smimepub with its own TMPDIR, so that the temp dir can be searched after
sp() { TMPDIR=$T/tmp "$SMIMEPUB" "$@"; }

# conf NAME FRAGMENT [KEYTYPE]: $T/NAME.conf; state and delivery per NAME
conf() {
	{
		cat <<EOC
$(slapd_conf_directory)
};
keys = {
  type = "${3:-ec:P-256}";
  delivery_dir = "$T/$1.delivery";
  delivery_command = "$T/hand-over";
  pkcs12_iterations = 10000;
};
sync = { state_dir = "$T/$1.state"; };
EOC
		cat "$2"
	} >"$T/$1.conf"
	echo "$T/$1.conf"
}

# entry_certs TAG: the DER files of alice's userCertificate;binary, in order
entry_certs() {
	rm -rf "$T/ldif.$1"
	mkdir "$T/ldif.$1"
	ldap_root ldapsearch -LLL -o ldif-wrap=no -tt -T "$T/ldif.$1" -b "$ALICE" \
	    -s base '(objectClass=*)' 'userCertificate;binary' >"$T/ldif.$1/out"
	sed -n 's|^[^:]*:< file://||p' "$T/ldif.$1/out"
}
# entry_fps TAG: the SHA-256 fingerprints of those, one a line
entry_fps() {
	for _f in $(entry_certs "$1"); do
		openssl x509 -inform DER -in "$_f" -noout -fingerprint -sha256
	done
}
entry_csn() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$ALICE" -s base \
	    '(objectClass=*)' entryCSN | sed -n 's/^entryCSN: //p'
}
# no_clear_key LABEL: no PEM private key in any state, delivery or temp dir
no_clear_key() {
	t_eq "$1: no private key unencrypted in the state, delivery or temp dirs" \
	    "$(grep -rl 'PRIVATE KEY' "$T"/*.state "$T"/*.delivery "$T/tmp" 2>/dev/null || true)" ""
}
# delivered NAME: files in NAME's delivery dir (PKCS#12 or a temp file)
delivered() {
	find "$T/$1.delivery" -type f 2>/dev/null | wc -l
}

# roundtrip NAME KEYTYPE: enrol alice, read the certificate back from slapd,
# encrypt to it, decrypt with the delivered key. Sets CERT (PEM).
roundtrip() {
	_n=$1
	_c=$T/$_n.conf
	t_ok "$_n: enrol $MAIL ($2)" sp -f "$_c" enrol "$MAIL"
	_p12=$(ls -t "$T/$_n.delivery"/"$MAIL".*.p12 2>/dev/null | head -n 1)
	t_ne "$_n: a PKCS#12 was delivered" "$_p12" ""
	t_eq "$_n: the delivery command got it" \
	    "$(tail -n 1 "$T/delivered" 2>/dev/null)" "$MAIL $_p12"
	_der=$(entry_certs "$_n" | head -n 1)
	CERT=$T/work/$_n.pem
	t_ok "$_n: the first userCertificate on the entry is a certificate" \
	    openssl x509 -inform DER -in "$_der" -out "$CERT"
	t_ok "$_n: it chains to the CA for S/MIME" \
	    openssl verify -CAfile "$PEER_CA" -purpose smimesign "$CERT"
	t_contains "$_n: SAN is the address" \
	    "$(openssl x509 -in "$CERT" -noout -ext subjectAltName 2>&1)" "email:$MAIL"
	case $2 in
	ec:*) _ka="EC" ;;
	*) _ka="RSA" ;;
	esac
	t_contains "$_n: the key is $2" \
	    "$(openssl x509 -in "$CERT" -noout -text 2>&1)" \
	    "$([ "$_ka" = EC ] && echo 'NIST CURVE: P-256' || echo 'Public-Key: (3072 bit)')"
	t_ok "$_n: openssl cms -encrypt to it" openssl cms -encrypt -binary -aes256 \
	    -in "$T/msg" -out "$T/work/$_n.p7m" -outform DER "$CERT"
	t_ok "$_n: the key from the delivered PKCS#12" openssl pkcs12 -in "$_p12" \
	    -passin "file:$T/pass/$(basename "$_p12")" -nocerts -nodes \
	    -out "$T/work/$_n.key"
	t_eq "$_n: the delivered key is the certificate's" \
	    "$(openssl pkey -in "$T/work/$_n.key" -pubout 2>&1)" \
	    "$(openssl x509 -in "$CERT" -noout -pubkey 2>&1)"
	rm -f "$T/work/$_n.out"
	t_ok "$_n: openssl cms -decrypt with it" openssl cms -decrypt -binary \
	    -inform DER -in "$T/work/$_n.p7m" -inkey "$T/work/$_n.key" \
	    -recip "$CERT" -out "$T/work/$_n.out"
	t_eq "$_n: the message comes back" "$(cat "$T/work/$_n.out" 2>&1)" \
	    "$(cat "$T/msg")"
	rm -f "$T/work/$_n.key"
	no_clear_key "$_n"
	SERIAL=$(openssl x509 -in "$CERT" -noout -serial | cut -d= -f2)
	FP=$(openssl x509 -in "$CERT" -noout -fingerprint -sha256)
}

# revoked_gone NAME: revoke alice, her certificate is no longer on the entry
revoked_gone() {
	t_ok "$1: revoke $MAIL" sp -f "$T/$1.conf" revoke "$MAIL" --reason keyCompromise
	t_not_contains "$1: the entry no longer holds it" "$(entry_fps "$1.r")" "$FP"
}

echo "a message for alice, $(date)" >"$T/msg"

# --- each driver against its peer ---------------------------------------
peer_local "$T/p.local"
conf local "$PEER_CONF" >/dev/null
t_ok "local: ca init" sp -f "$T/local.conf" ca init
roundtrip local ec:P-256
revoked_gone local
t_ok "local: ca list" sp -f "$T/local.conf" ca list
t_contains "local: ca list shows it revoked" "$(printf '%s\n' "$T_OUT" | grep -i "^$SERIAL" || true)" revoked

peer_cmp "$T/p.cmp"
conf cmp "$PEER_CONF" >/dev/null
conf cmprsa "$PEER_CONF" rsa:3072 >/dev/null
roundtrip cmp ec:P-256
revoked_gone cmp
t_ok "cmp: the CMP server got the rr for the serial" grep -qix "$SERIAL" "$T/p.cmp/revoked"
roundtrip cmprsa rsa:3072
t_contains "cmprsa: keyEncipherment for RSA" \
    "$(openssl x509 -in "$CERT" -noout -ext keyUsage 2>&1)" "Key Encipherment"
revoked_gone cmprsa
t_ok "cmprsa: the CMP server got the rr for the serial" grep -qix "$SERIAL" "$T/p.cmp/revoked"

if [ "$HAVE_CFSSL" = 1 ]; then
	peer_cfssl "$T/p.cfssl"
	conf cfssl "$PEER_CONF" >/dev/null
	roundtrip cfssl ec:P-256
	revoked_gone cfssl
	t_eq "cfssl: its certdb has it revoked, reason 1" \
	    "$(sqlite3 "$T/p.cfssl/certs.db" "SELECT status || '|' || reason FROM certificates WHERE serial_number = '$(echo "ibase=16; $SERIAL" | BC_LINE_LENGTH=0 bc)'")" \
	    "revoked|1"
else
	t_skip "cfssl driver" "cfssl, sqlite3 or curl is not installed (sh scripts/deps.sh)"
fi

peer_exec "$T/p.exec"
conf exec "$PEER_CONF" >/dev/null
roundtrip exec ec:P-256
revoked_gone exec
t_ok "exec: the helper was asked to revoke the serial" grep -qix "$SERIAL" "$T/p.exec/revoked"

peer_est "$T/p.est"
conf est "$PEER_CONF" >/dev/null
roundtrip est ec:P-256
t_exit "est: revoke fails (RFC 7030 has no revocation)" 1 sp -f "$T/est.conf" revoke "$MAIL"
t_contains "est: saying so" "$T_OUT" "RFC 7030 has no revocation"
t_contains "est: naming the serial for the CA operator" "$T_OUT" "$SERIAL"
t_contains "est: the certificate stays published, as it is not revoked" "$(entry_fps est.r)" "$FP"
t_ok "est: status after the failed revocation" sp -f "$T/est.conf" status "$MAIL"
t_contains "est: FAILED with the reason" "$(printf '%s\n' "$T_OUT" | tail -n 1)" "RFC 7030 has no revocation"
t_ok "est: unpublish by hand" sp -f "$T/est.conf" unpublish "$MAIL"
t_not_contains "est: then the entry no longer holds it" "$(entry_fps est.u)" "$FP"

# --- aliases through every driver (issue 20) ------------------------------
# alice gets an alias: each driver's CA must name both addresses, mail
# first, or the answer check refuses the certificate
ldap_root ldapmodify >/dev/null <<EOL
dn: $ALICE
changetype: modify
add: objectClass
objectClass: inetLocalMailRecipient
-
add: mailLocalAddress
mailLocalAddress: liddell@example.org
EOL
for d in local cmp cfssl exec est; do
	[ -f "$T/$d.conf" ] || continue
	sed "s|base = \"$SLAPD_PEOPLE\";|&\n  alias_attributes = [ \"mailLocalAddress\" ];|; s|$T/$d.state|$T/${d}a.state|; s|$T/$d.delivery|$T/${d}a.delivery|" \
	    "$T/$d.conf" >"$T/${d}a.conf"
	t_ok "$d: enrol $MAIL with an alias" sp -f "$T/${d}a.conf" enrol "$MAIL"
	t_eq "$d: the certificate names mail, then the alias" \
	    "$(openssl x509 -inform DER -in "$(entry_certs "${d}a" | head -n 1)" -noout \
	    -ext subjectAltName 2>&1 | tail -n 1 | sed 's/^ *//')" \
	    "email:$MAIL, email:liddell@example.org"
done
ldap_root ldapmodify >/dev/null <<EOL
dn: $ALICE
changetype: modify
delete: mailLocalAddress
EOL

# --- bad CAs through the command line -------------------------------------
# alice holds a good certificate that each failure must leave in place
t_ok "bad CAs: alice holds a certificate first" sp -f "$T/local.conf" enrol "$MAIL"
t_ne "bad CAs: the entry holds it" "$(entry_fps good)" ""

# bad NAME WHY: enrol through $T/NAME.conf fails with WHY and changes nothing
bad() {
	_n=$1
	_csn=$(entry_csn)
	_fps=$(entry_fps "$_n.b")
	t_exit "$_n: enrol exits 1" 1 sp -f "$T/$_n.conf" enrol "$MAIL"
	t_contains "$_n: the error names the reason" "$T_OUT" "$2"
	t_contains "$_n: and the address" "$T_OUT" "$MAIL"
	t_eq "$_n: the entry is unchanged (entryCSN)" "$(entry_csn)" "$_csn"
	t_eq "$_n: the same userCertificate values" "$(entry_fps "$_n.a")" "$_fps"
	t_ok "$_n: smimepub status $MAIL" sp -f "$T/$_n.conf" status "$MAIL"
	_last=$(printf '%s\n' "$T_OUT" | tail -n 1)
	t_contains "$_n: status shows FAILED" "$_last" "	FAILED	"
	t_contains "$_n: with the reason" "$_last" "$2"
	t_eq "$_n: nothing in the delivery dir (no PKCS#12, no temp file)" "$(delivered "$_n")" 0
	no_clear_key "$_n"
}

# bad_peer DRIVER MODE WHY
bad_peer() {
	"peer_$1" "$T/p.$1.$2" "$2"
	conf "$1-$2" "$PEER_CONF" >/dev/null
	bad "$1-$2" "$3"
}

bad_peer cmp otherkey "public key is not the one of the CSR"
bad_peer cmp garbage "missing asn1 encoding"
bad_peer cmp http500 "code=500"
bad_peer cmp reject "no certificates today"
bad_peer est otherkey "public key is not the one of the CSR"
bad_peer est garbage "not a base64 certs-only PKCS#7"
bad_peer est error "HTTP 500"
bad_peer est reject "request refused by policy"
bad_peer exec othermail "rfc822Name mallory@example.com is not $MAIL"
bad_peer exec noeku "no emailProtection EKU"
bad_peer exec expired "fails the check: expired"
bad_peer exec long "exceeds the 825 days"
bad_peer exec otherca "does not chain to the configured CA"
bad_peer exec otherkey "public key is not the one of the CSR"
bad_peer exec garbage "stdout is not a PEM certificate chain"
bad_peer exec reject "test CA policy: no certificates for $MAIL"
bad_peer exec hang "no answer within ca.exec.timeout (2 s)"
_hp=$(cat "$T/p.exec.hang/hang.pid" 2>/dev/null || echo)
t_ne "exec-hang: the helper ran" "$_hp" ""
t_fail "exec-hang: the hanging helper was killed" kill -0 "${_hp:-0}"

# the good certificate is still alice's first value and still usable
t_ok "after the bad CAs, alice's certificate is still published" \
    sh -c "'$SMIMEPUB' -f '$T/local.conf' show '$MAIL'"
no_clear_key "in the end"

# every peer stops on SIGTERM, without a sanitizer report (SANITIZE=1)
for f in "$T"/p.*/peer.pid; do
	[ -e "$f" ] || continue
	pd=$(dirname "$f")
	peer_stop "$pd"
	t_not_contains "$(basename "$pd"): no sanitizer report in its log" \
	    "$(cat "$pd/peer.log")" "Sanitizer"
done
t_done
