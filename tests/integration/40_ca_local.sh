#!/bin/sh
# smimepub ca init / list / crl with the local CA, checked with the openssl
# command line: file modes, a CA certificate with CA:TRUE, never a second
# init over an existing CA, an empty list, and CRLs that verify against the
# CA certificate and carry increasing CRL numbers.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM

# conf NAME [ca.local lines...]: a config with the local CA in $T/NAME.ca
conf() {
	_n=$1
	shift
	{
		echo 'directory = { uri = "ldap://127.0.0.1:1"; base = "dc=example,dc=com"; };'
		echo "ca = { driver = \"local\"; local = { dir = \"$T/$_n.ca\";"
		for _l in "$@"; do echo "  $_l"; done
		echo "}; };"
		echo "keys = { discard_passphrase = true; };"
		echo "sync = { state_dir = \"$T/$_n.state\"; };"
	} >"$T/$_n.conf"
	echo "$T/$_n.conf"
}
mode() { stat -c %a "$1"; }

C=$(conf main 'subject_cn = "Example Corp S/MIME CA";' 'crl_days = 3;')
CA=$T/main.ca

t_exit "ca list before init fails" 1 "$SMIMEPUB" -f "$C" ca list
t_contains "the failure names the directory" "$T_OUT" "$CA"
t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
t_eq "ca.local.dir is 0700" "$(mode "$CA")" 700
t_eq "CA key is 0600" "$(mode "$CA/ca.key")" 600
t_eq "CA certificate is 0644" "$(mode "$CA/ca.pem")" 644
t_eq "index is 0700" "$(mode "$CA/index")" 700

t_ok "CA certificate parses" openssl x509 -in "$CA/ca.pem" -noout -text
TEXT=$T_OUT
t_contains "basicConstraints CA:TRUE" "$TEXT" "CA:TRUE, pathlen:0"
t_contains "basicConstraints is critical" "$TEXT" "X509v3 Basic Constraints: critical"
t_contains "keyUsage certSign and cRLSign" "$TEXT" "Certificate Sign, CRL Sign"
t_contains "subject CN from ca.local.subject_cn" "$TEXT" "CN = Example Corp S/MIME CA"
t_contains "RSA-3072 by default" "$TEXT" "(3072 bit)"
t_ok "CA certificate verifies as its own anchor" \
    openssl verify -CAfile "$CA/ca.pem" "$CA/ca.pem"
t_ok "CA key matches the certificate" sh -c \
    "[ \"\$(openssl pkey -in '$CA/ca.key' -pubout)\" = \"\$(openssl x509 -in '$CA/ca.pem' -noout -pubkey)\" ]"

SUM=$(cat "$CA/ca.key" "$CA/ca.pem" | sha256sum)
t_exit "a second init fails" 1 "$SMIMEPUB" -f "$C" ca init
t_contains "it says the CA exists" "$T_OUT" "exists already"
t_eq "the CA is untouched" "$(cat "$CA/ca.key" "$CA/ca.pem" | sha256sum)" "$SUM"

t_ok "ca list on an empty CA" "$SMIMEPUB" -f "$C" ca list
t_eq "nothing issued yet" "$T_OUT" ""

t_ok "ca crl" "$SMIMEPUB" -f "$C" ca crl
t_eq "crl.pem in ca.local.dir" "$(test -f "$CA/crl.pem" && echo yes)" yes
t_ok "the CRL verifies against the CA" \
    openssl crl -in "$CA/crl.pem" -CAfile "$CA/ca.pem" -verify -noout
t_ok "CRL text" openssl crl -in "$CA/crl.pem" -noout -text
t_contains "CRL v2" "$T_OUT" "Version 2"
t_contains "CRL number 1" "$T_OUT" "X509v3 CRL Number: 
                1"
t_contains "CRL has an AKI" "$T_OUT" "X509v3 Authority Key Identifier"
t_contains "no revoked certificates yet" "$T_OUT" "No Revoked Certificates"
t_ok "nextUpdate is crl_days ahead" sh -c "
	nu=\$(openssl crl -in '$CA/crl.pem' -noout -nextupdate | cut -d= -f2)
	lu=\$(openssl crl -in '$CA/crl.pem' -noout -lastupdate | cut -d= -f2)
	[ \$(( \$(date -d \"\$nu\" +%s) - \$(date -d \"\$lu\" +%s) )) -eq 259200 ]"

t_ok "ca crl --out FILE" "$SMIMEPUB" -f "$C" ca crl --out "$T/out.crl"
t_ok "that CRL verifies too" \
    openssl crl -in "$T/out.crl" -CAfile "$CA/ca.pem" -verify -noout
t_ok "CRL number text" openssl crl -in "$T/out.crl" -noout -crlnumber
t_eq "the number went up" "$T_OUT" "crlNumber=0x02"

# A certificate the local CA issues carries smimeCapabilities (RFC 4262;
# RFC 8551 §2.5.2 order of preference): AES-256-CBC, AES-192-CBC,
# AES-128-CBC, each without parameters (RFC 3565 §4.2), non-critical.
DRIVE=$SRCDIR/$BUILD/tests/ca_drive
t_ok "the local CA issues a certificate" "$DRIVE" "$C" enrol caps@example.com ec:P-256
printf '%s\n' "$T_OUT" | sed -n '1,/END CERTIFICATE/p' >"$T/leaf.pem"
t_ok "leaf text" openssl x509 -in "$T/leaf.pem" -noout -text
t_contains "it has S/MIME Capabilities" "$T_OUT" "S/MIME Capabilities:"
t_eq "not critical" "$(printf '%s\n' "$T_OUT" | grep -c 'S/MIME Capabilities: critical')" 0
EXTOFF=$(openssl asn1parse -in "$T/leaf.pem" | awk '/:S\/MIME Capabilities/ { getline; sub(":.*", "", $1); print $1 }')
t_ok "its value parses as DER" openssl asn1parse -in "$T/leaf.pem" -strparse "$EXTOFF"
CAPS=$(printf '%s\n' "$T_OUT" | sed -n 's/.*OBJECT *:\(.*\)/\1/p' | tr '\n' ' ')
t_eq "AES-256, -192, -128 CBC in that order" "$CAPS" "aes-256-cbc aes-192-cbc aes-128-cbc "
t_eq "no parameters (RFC 3565)" "$(printf '%s\n' "$T_OUT" | grep -c 'NULL')" 0
t_eq "three capabilities, each a SEQUENCE of the OID alone" \
    "$(printf '%s\n' "$T_OUT" | grep -c 'd=1.*SEQUENCE')" 3

t_exit "ca with no subcommand is a usage error" 2 "$SMIMEPUB" -f "$C" ca
t_exit "an unknown subcommand is a usage error" 2 "$SMIMEPUB" -f "$C" ca frobnicate
t_exit "crl --out without a file is a usage error" 2 "$SMIMEPUB" -f "$C" ca crl --out
t_exit "list takes no argument" 2 "$SMIMEPUB" -f "$C" ca list extra

# EC P-384 CA: signs with SHA-384
C2=$(conf ec 'key_type = "ec:P-384";')
t_ok "ca init with ec:P-384" "$SMIMEPUB" -f "$C2" ca init
t_ok "P-384 CA text" openssl x509 -in "$T/ec.ca/ca.pem" -noout -text
t_contains "P-384 key" "$T_OUT" "NIST CURVE: P-384"
t_contains "signed with SHA-384" "$T_OUT" "ecdsa-with-SHA384"
t_ok "P-384 CRL verifies" sh -c "'$SMIMEPUB' -f '$C2' ca crl &&
	openssl crl -in '$T/ec.ca/crl.pem' -CAfile '$T/ec.ca/ca.pem' -verify -noout"

# a key type outside the list is a configuration error (exit 2): nothing made
C3=$(conf bad 'key_type = "rsa:1024";')
t_exit "ca init refuses rsa:1024" 2 "$SMIMEPUB" -f "$C3" ca init
t_contains "naming the key" "$T_OUT" "ca.local.key_type"
t_eq "no CA key left behind" "$(test -e "$T/bad.ca/ca.key" && echo yes || echo no)" no

t_done
