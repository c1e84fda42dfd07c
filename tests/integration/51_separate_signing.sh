#!/bin/sh
# keys.separate_signing (issue 20 item 2) with the local CA against a real
# slapd: one enrolment gives two certificates, an encryption one (RSA
# keyEncipherment only) and a signing one (digitalSignature and
# nonRepudiation only); both on the entry, encryption first in
# userCertificate and userSMIMECertificate; one PKCS#12 with both keys
# (friendlyName, localKeyId); mail encrypted to the first value decrypts
# with the delivered key, a signature by the signing key verifies; escrow
# holds the encryption key only; lookup answers with the encryption one;
# renewed and revoked together. A crash at each step of the pair (the
# failpoints, one between the two issuances) never leaves one on the entry
# without the other, and the CA issues exactly two.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/kra.key" -out "$T/kra.pem" \
    -days 30 -subj /CN=KRA 2>/dev/null
cat >"$T/hand-over" <<EOH
#!/bin/sh
umask 077
cat > "$T/pass.\$(basename "\$SMIMEPUB_P12")"
EOH
chmod 0700 "$T/hand-over"
cat >"$T/smimepub.conf" <<EOC
$(slapd_conf_directory)
};
ca = { driver = "local"; local = { dir = "$T/ca"; key_type = "ec:P-256"; validity_days = 30; }; };
keys = {
  type = "rsa:2048";
  delivery_dir = "$T/delivery";
  delivery_command = "$T/hand-over";
  escrow_certs = [ "$T/kra.pem" ];
  pkcs12_iterations = 10000;
  separate_signing = true;
  signing_non_repudiation = true;
};
sync = { state_dir = "$T/state"; };
lookup = { bind_dn = "$SLAPD_LOOKUP_DN"; bind_password_file = "$SLAPD_LOOKUP_PW_FILE"; };
EOC
C=$T/smimepub.conf

# the values of $2 (userCertificate;binary or userSMIMECertificate) of $1,
# one file per value in order: $T/$1.$2.N
values() {
	rm -rf "$T/v"; mkdir "$T/v"
	ldap_root ldapsearch -LLL -o ldif-wrap=no -tt -T "$T/v" -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' "$2" | sed -n 's|^[^:]*:< file://||p'
}
ku() { openssl x509 -in "$1" -noout -ext keyUsage 2>/dev/null | tail -n 1 | sed 's/^ *//'; }
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
ncas() { "$SMIMEPUB" -f "$C" ca list | grep -c " $1@example.com " || true; }

t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
t_ok "enrol alice" "$SMIMEPUB" -f "$C" enrol alice@example.com
t_eq "the CA issued two certificates for alice" "$(ncas alice)" 2
i=0
for f in $(values alice 'userCertificate;binary'); do
	i=$((i + 1)); openssl x509 -inform DER -in "$f" -out "$T/uc$i.pem"
done
t_eq "two userCertificate values" "$i" 2
t_eq "the first is the encryption certificate: keyEncipherment only" "$(ku "$T/uc1.pem")" \
    "Key Encipherment"
t_eq "the second is the signing one: digitalSignature, nonRepudiation" "$(ku "$T/uc2.pem")" \
    "Digital Signature, Non Repudiation"
i=0
for f in $(values alice userSMIMECertificate); do
	i=$((i + 1))
	openssl pkcs7 -inform DER -in "$f" -print_certs 2>/dev/null | \
	    openssl x509 -out "$T/sm$i.pem" 2>/dev/null
done
t_eq "two userSMIMECertificate bundles" "$i" 2
t_eq "the first bundle leads with the encryption certificate" "$(serial "$T/sm1.pem")" \
    "$(serial "$T/uc1.pem")"
t_eq "the second with the signing one" "$(serial "$T/sm2.pem")" "$(serial "$T/uc2.pem")"
t_ok "the signing certificate verifies for S/MIME signing" \
    openssl verify -CAfile "$T/ca/ca.pem" -purpose smimesign "$T/uc2.pem"
t_fail "the signing certificate is not one to encrypt to" \
    openssl verify -CAfile "$T/ca/ca.pem" -purpose smimeencrypt "$T/uc2.pem"

p=$(ls "$T"/delivery/alice@example.com.*.p12)
t_eq "one PKCS#12, named by the encryption serial" "$(basename "$p")" \
    "alice@example.com.$(serial "$T/uc1.pem").p12"
openssl pkcs12 -in "$p" -passin "file:$T/pass.$(basename "$p")" -nocerts -nodes \
    -out "$T/keys.pem" 2>/dev/null
t_eq "two keys in it" "$(grep -c 'BEGIN PRIVATE KEY' "$T/keys.pem")" 2
t_contains "the encryption key named" "$(cat "$T/keys.pem")" \
    "friendlyName: alice@example.com encryption key, serial $(serial "$T/uc1.pem")"
t_contains "the signing key named" "$(cat "$T/keys.pem")" \
    "friendlyName: alice@example.com signing key, serial $(serial "$T/uc2.pem")"
t_eq "each with a localKeyID" "$(grep -c 'localKeyID:' "$T/keys.pem")" 2
awk '/-----BEGIN/ { n++; f = dir "/key" n ".pem" } f != "" { print > f } /-----END/ { close(f); f = "" }' \
    dir="$T" "$T/keys.pem"
echo "for alice's eyes" >"$T/msg"
t_ok "openssl cms -encrypt to the first userCertificate" openssl cms -encrypt -binary -aes256 \
    -in "$T/msg" -out "$T/msg.p7m" -outform DER "$T/uc1.pem"
t_ok "openssl cms -decrypt with the encryption key from the PKCS#12" openssl cms -decrypt \
    -binary -inform DER -in "$T/msg.p7m" -inkey "$T/key1.pem" -recip "$T/uc1.pem" -out "$T/msg.out"
t_eq "the message comes back" "$(cat "$T/msg.out")" "for alice's eyes"
t_ok "openssl cms -sign with the signing key" openssl cms -sign -nodetach -binary -in "$T/msg" \
    -signer "$T/uc2.pem" -inkey "$T/key2.pem" -out "$T/signed.p7m" -outform DER
t_ok "the signature verifies against the local CA" openssl cms -verify -binary -inform DER \
    -in "$T/signed.p7m" -CAfile "$T/ca/ca.pem" -out /dev/null
t_eq "escrow holds one key: the encryption one" \
    "$(ls "$T"/state/escrow/*.p7m | xargs -n 1 basename | tr '\n' ' ')" "$(serial "$T/uc1.pem").p7m "
t_ok "recover --all" "$SMIMEPUB" -f "$C" recover alice@example.com --kra-key "$T/kra.key" \
    --all --out "$T/rec.p12"
t_eq "recovers the encryption key only" \
    "$(printf '%s\n' "$T_OUT" | sed -n 's/^recovered serial \([0-9A-F]*\) .*/\1/p')" \
    "$(serial "$T/uc1.pem")"
t_ok "smimepub lookup alice" "$SMIMEPUB" -f "$C" lookup alice@example.com --format pem
printf '%s\n' "$T_OUT" | openssl x509 -out "$T/best.pem" 2>/dev/null || true
t_eq "lookup's best is the encryption certificate" "$(serial "$T/best.pem")" \
    "$(serial "$T/uc1.pem")"

old1=$(serial "$T/uc1.pem"); old2=$(serial "$T/uc2.pem")
t_ok "renew alice" "$SMIMEPUB" -f "$C" renew alice@example.com
t_eq "the CA issued two more" "$(ncas alice)" 4
i=0
for f in $(values alice 'userCertificate;binary'); do
	i=$((i + 1)); openssl x509 -inform DER -in "$f" -out "$T/r$i.pem"
done
t_eq "still two values on the entry" "$i" 2
t_eq "both new, encryption first" "$(ku "$T/r1.pem") / $(ku "$T/r2.pem")" \
    "Key Encipherment / Digital Signature, Non Repudiation"
t_not_contains "neither old serial is on the entry" "$(serial "$T/r1.pem") $(serial "$T/r2.pem")" "$old1"
t_not_contains "(the old signing one neither)" "$(serial "$T/r1.pem") $(serial "$T/r2.pem")" "$old2"
t_ok "revoke alice" "$SMIMEPUB" -f "$C" revoke alice@example.com
t_eq "both current certificates are revoked" \
    "$("$SMIMEPUB" -f "$C" ca list | grep -E "^($(serial "$T/r1.pem")|$(serial "$T/r2.pem")) " | \
    grep -c revoked)" 2
t_eq "nothing of ours on the entry" "$(values alice 'userCertificate;binary' | wc -l)" 0

# a crash at each step of the pair: never one certificate on the entry
# without the other, two issued in all
n=0
for fp in SUBMITTED CA_ANSWERED PAIR_ENCRYPTION_ISSUED ISSUED DELIVERED; do
	n=$((n + 1))
	u=pair$n
	printf 'dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nmail: %s@example.com\n' \
	    "$u" "$SLAPD_PEOPLE" "$u" "$u" "$u" "$u" | ldap_root ldapadd >/dev/null
	t_exit "[$fp] the enrolment dies right after $fp" 99 \
	    env SMIMEPUB_TEST_FAILPOINT=$fp "$SMIMEPUB" -f "$C" enrol $u@example.com
	t_eq "[$fp] nothing on the entry yet" "$(values $u 'userCertificate;binary' | wc -l)" 0
	t_ok "[$fp] enrolling again completes it" "$SMIMEPUB" -f "$C" enrol $u@example.com
	t_eq "[$fp] both on the entry" "$(values $u 'userCertificate;binary' | wc -l)" 2
	t_eq "[$fp] the CA issued exactly two for $u" "$(ncas $u)" 2
done

# aliases (issue 20): both certificates of the pair name every address;
# the pair that named fewer is revoked together, as superseded
ldap_root ldapmodify >/dev/null <<EOL
dn: $(slapd_people_dn pair1)
changetype: modify
add: objectClass
objectClass: inetLocalMailRecipient
-
add: mailLocalAddress
mailLocalAddress: p1.alias@example.org
EOL
sed "s|base = \"$SLAPD_PEOPLE\";|&\n  alias_attributes = [ \"mailLocalAddress\" ];|" "$C" >"$T/alias.conf"
i=0
for f in $(values pair1 'userCertificate;binary'); do
	i=$((i + 1)); openssl x509 -inform DER -in "$f" -out "$T/a$i.pem"
done
t_ok "pair1 renewed with an alias" "$SMIMEPUB" -f "$T/alias.conf" renew pair1@example.com
i=0
for f in $(values pair1 'userCertificate;binary'); do
	i=$((i + 1)); openssl x509 -inform DER -in "$f" -out "$T/b$i.pem"
done
san() { openssl x509 -in "$1" -noout -ext subjectAltName | tail -n 1 | sed 's/^ *//'; }
t_eq "the encryption certificate names both addresses" "$(san "$T/b1.pem")" \
    "email:pair1@example.com, email:p1.alias@example.org"
t_eq "the signing certificate too" "$(san "$T/b2.pem")" \
    "email:pair1@example.com, email:p1.alias@example.org"
t_eq "encryption first still" "$(ku "$T/b1.pem")" "Key Encipherment"
t_eq "both of the old pair are revoked (they named fewer addresses)" \
    "$("$SMIMEPUB" -f "$C" ca list | grep -E "^($(serial "$T/a1.pem")|$(serial "$T/a2.pem")) " | \
    grep -c revoked)" 2

# configurations that cannot do it are refused at start
sed 's|signing_non_repudiation = true;|signing_non_repudiation = true; separate_signing = false;|; s|  separate_signing = true;||' \
    "$C" >"$T/nr.conf"
t_exit "signing_non_repudiation without separate_signing is refused" 2 \
    "$SMIMEPUB" -f "$T/nr.conf" check-config
t_contains "naming the key" "$T_OUT" "keys.signing_non_repudiation"
sed 's|ca = { driver = "local";|ca = { driver = "cfssl"; cfssl = { url = "http://127.0.0.1:1"; ca_cert = "'"$T"'/ca/ca.pem"; };|' \
    "$C" >"$T/cfssl.conf"
t_exit "cfssl without ca.cfssl.signing_profile is refused" 2 \
    "$SMIMEPUB" -f "$T/cfssl.conf" check-config
t_contains "naming what to set" "$T_OUT" "ca.cfssl.signing_profile"
t_done
