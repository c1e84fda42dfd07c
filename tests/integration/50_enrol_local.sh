#!/bin/sh
# smimepub enrol / renew / revoke / recover with the local CA against a real
# slapd: the certificate read back from the directory encrypts a message that
# the delivered PKCS#12's key decrypts; escrow gives back the same key;
# revocation shows in `ca list`, in the CRL and on the entry.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start

# key-recovery certificate and a delivery command that keeps the passphrase
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/kra.key" -out "$T/kra.pem" \
    -days 30 -subj /CN=KRA 2>/dev/null
cat >"$T/hand-over" <<EOS
#!/bin/sh
umask 077
cat > "$T/pass.\$(basename "\$SMIMEPUB_P12")"
echo "\$SMIMEPUB_MAIL" >> "$T/delivered"
EOS
chmod 0700 "$T/hand-over"

cat >"$T/smimepub.conf" <<EOC
$(slapd_conf_directory)
};
ca = { driver = "local"; local = { dir = "$T/ca"; key_type = "ec:P-384"; validity_days = 30; }; };
keys = {
  type = "ec:P-256";
  delivery_dir = "$T/delivery";
  delivery_command = "$T/hand-over";
  escrow_certs = [ "$T/kra.pem" ];
  pkcs12_iterations = 10000;
};
sync = { state_dir = "$T/state"; };
EOC
C=$T/smimepub.conf

t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
t_exit "enrol before... an invalid address is a usage error" 2 "$SMIMEPUB" -f "$C" enrol 'a@b'
t_ok "enrol alice" "$SMIMEPUB" -f "$C" enrol alice@example.com
t_eq "the delivery command ran once for alice" "$(cat "$T/delivered")" "alice@example.com"
p12=$(ls "$T"/delivery/alice@example.com.*.p12)
t_eq "the PKCS#12 is mode 0600" "$(stat -c %a "$p12")" 600
pass=$T/pass.$(basename "$p12")

# the certificate as the directory holds it
ldap_root ldapsearch -LLL -o ldif-wrap=no -tt -T "$T" -b "$(slapd_people_dn alice)" -s base \
    '(objectClass=*)' 'userCertificate;binary' >"$T/alice.ldif"
der=$(sed -n 's|^[^:]*:< file://||p' "$T/alice.ldif" | head -n 1)
t_ok "the published value is a certificate" openssl x509 -inform DER -in "$der" -noout
openssl x509 -inform DER -in "$der" -out "$T/alice.pem"
t_ok "it verifies against the local CA (smimesign: OpenSSL's smimeencrypt wants keyEncipherment, which EC keys lack)" \
    openssl verify -CAfile "$T/ca/ca.pem" -purpose smimesign "$T/alice.pem"
t_contains "SAN is the address" "$(openssl x509 -in "$T/alice.pem" -noout -ext subjectAltName)" "email:alice@example.com"

echo "secret message for alice" >"$T/msg"
t_ok "openssl cms -encrypt to the published certificate" \
    openssl cms -encrypt -binary -aes256 -in "$T/msg" -out "$T/msg.p7m" -outform DER "$T/alice.pem"
t_ok "extract the key from the delivered PKCS#12" \
    openssl pkcs12 -in "$p12" -passin "file:$pass" -nocerts -nodes -out "$T/alice.key"
t_ok "openssl cms -decrypt with the delivered key" \
    openssl cms -decrypt -binary -inform DER -in "$T/msg.p7m" -inkey "$T/alice.key" \
    -recip "$T/alice.pem" -out "$T/msg.out"
t_eq "the message comes back" "$(cat "$T/msg.out")" "secret message for alice"
t_fail "a wrong passphrase does not open the PKCS#12" \
    openssl pkcs12 -in "$p12" -passin pass:wrong -nocerts -nodes -out /dev/null
t_not_contains "no private key in the state dir in the clear" \
    "$(grep -rl 'PRIVATE KEY' "$T/state" "$T/delivery" 2>/dev/null || true)" "/"

# escrow
t_ok "recover alice with the KRA key" "$SMIMEPUB" -f "$C" recover alice@example.com \
    --kra-key "$T/kra.key" --out "$T/recovered.p12"
rpass=$(printf '%s\n' "$T_OUT" | sed -n 's/^passphrase: //p')
openssl pkcs12 -in "$T/recovered.p12" -passin "pass:$rpass" -nocerts -nodes -out "$T/rec.key" 2>/dev/null
t_eq "the recovered key is the delivered key" \
    "$(openssl pkey -in "$T/rec.key" -pubout)" "$(openssl pkey -in "$T/alice.key" -pubout)"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other.key" -out "$T/other.pem" \
    -days 30 -subj /CN=other 2>/dev/null
t_exit "another key does not recover it" 1 "$SMIMEPUB" -f "$C" recover alice@example.com \
    --kra-key "$T/other.key" --out "$T/nope.p12"

# renewal: a new certificate replaces ours, still exactly one value
old_serial=$(openssl x509 -in "$T/alice.pem" -noout -serial | cut -d= -f2)
t_ok "renew alice" "$SMIMEPUB" -f "$C" renew alice@example.com
n=$(ldap_root ldapsearch -LLL -b "$(slapd_people_dn alice)" -s base '(objectClass=*)' \
    'userCertificate;binary' | grep -c '^userCertificate;binary::')
t_eq "one certificate on the entry after renewal" "$n" 1
t_ok "ca list" "$SMIMEPUB" -f "$C" ca list
t_eq "ca list shows two certificates for alice" \
    "$(printf '%s\n' "$T_OUT" | grep -c 'alice@example.com')" 2

# revocation
t_ok "revoke alice" "$SMIMEPUB" -f "$C" revoke alice@example.com --reason keyCompromise
t_ok "ca list after revoke" "$SMIMEPUB" -f "$C" ca list
t_contains "the old serial is revoked... at least one revoked line" "$T_OUT" "revoked"
t_ok "ca crl" "$SMIMEPUB" -f "$C" ca crl --out "$T/crl.pem"
t_ok "the CRL verifies" openssl crl -in "$T/crl.pem" -CAfile "$T/ca/ca.pem" -verify -noout
crl=$(openssl crl -in "$T/crl.pem" -noout -text)
new_serial=$(printf '%s\n' "$("$SMIMEPUB" -f "$C" ca list)" | grep revoked | awk '{print $1}' | head -n 1)
t_contains "the CRL lists the revoked serial" "$(printf '%s' "$crl" | tr -d ' :' | tr a-f A-F)" "$new_serial"
t_contains "smimepub revoke already wrote it into ca.local.dir/crl.pem" \
    "$(openssl crl -in "$T/ca/crl.pem" -noout -text | tr -d ' :' | tr a-f A-F)" "$new_serial"
t_eq "the entry holds no certificate of ours" \
    "$(ldap_root ldapsearch -LLL -b "$(slapd_people_dn alice)" -s base '(objectClass=*)' \
    'userCertificate;binary' userSMIMECertificate | grep -c -i '^user' || true)" 0
t_ok "status lists alice" "$SMIMEPUB" -f "$C" status
t_contains "status: alice unpublished" "$T_OUT" "alice@example.com	UNPUBLISHED"
t_ok "status alice shows her history" "$SMIMEPUB" -f "$C" status alice@example.com
hist=$(printf '%s\n' "$T_OUT" | grep -v '^#' | cut -f2 | tr '\n' ' ')
t_eq "the states in order" "$hist" \
    "PLANNED KEY_READY SUBMITTED ISSUED DELIVERED PUBLISHED PLANNED KEY_READY SUBMITTED ISSUED DELIVERED PUBLISHED REVOKE_PENDING REVOKED UNPUBLISHED "
t_exit "revoking again finds nothing to revoke" 1 "$SMIMEPUB" -f "$C" revoke alice@example.com
t_exit "enrol an unknown person fails" 1 "$SMIMEPUB" -f "$C" enrol nobody@example.com
t_exit "an unknown revocation reason is a usage error" 2 "$SMIMEPUB" -f "$C" revoke bob@example.com --reason because
t_done
