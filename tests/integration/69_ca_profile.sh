#!/bin/sh
# The one S/MIME profile check (CA/Browser Forum S/MIME BR, strict mailbox
# profile) judges a CA's answer and a publication by hand, with a real slapd
# and the exec CA helper of tests/lib/capeers.sh. An answer that makes the
# person a CA (CA:TRUE, keyCertSign, serverAuth beside emailProtection), one
# with a DNS name beside her address, one whose subject emailAddress is
# someone else's: `smimepub enrol` exits 1 naming what is wrong, nothing is
# published, the refusal is journalled (status FAILED with the reason, the
# certificate kept for revocation, an audit line). clientAuth beside
# emailProtection is refused too, until ca.allowed_ekus allows it; so does
# lookupd's judgement (through `smimepub lookup`).
# `smimepub publish` of such certificates exits 1 naming the reason, writes
# nothing, and leaves an audit line. check-config refuses serverAuth in
# ca.allowed_ekus (exit 2).
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"
. "$SRCDIR/tests/lib/capeers.sh"
. "$SRCDIR/tests/lib/certs.sh"

slapd_test_start
MAIL=alice@example.com
ALICE=$(slapd_people_dn alice)

# conf NAME CA-FRAGMENT: $T/NAME.conf, state and audit per NAME
conf() {
	cat >"$T/$1.conf" <<EOC
$(slapd_conf_directory)
};
keys = {
  type = "ec:P-256";
  delivery_dir = "$T/$1.delivery";
  discard_passphrase = true;
};
sync = { state_dir = "$T/$1.state"; };
log = { audit_file = "$T/$1.audit"; };
EOC
	cat "$2" >>"$T/$1.conf"
}
ncerts() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$ALICE" -s base \
	    '(objectClass=*)' 'userCertificate;binary' userSMIMECertificate |
	    grep -c '^user' || :
}

# refused MODE WHY: enrol through the exec helper in MODE is refused
refused() {
	peer_exec "$T/p.$1" "$1"
	conf "$1" "$PEER_CONF"
	t_exit "$1: enrol exits 1" 1 "$SMIMEPUB" -f "$T/$1.conf" enrol "$MAIL"
	t_contains "$1: the error names what is wrong" "$T_OUT" "$2"
	t_contains "$1: it is the profile check that refused" "$T_OUT" "fails the check"
	t_eq "$1: nothing published on the entry" "$(ncerts)" 0
	t_ok "$1: smimepub status" "$SMIMEPUB" -f "$T/$1.conf" status "$MAIL"
	_last=$(printf '%s\n' "$T_OUT" | tail -n 1)
	t_contains "$1: journalled FAILED" "$_last" "	FAILED	"
	t_contains "$1: with the reason" "$_last" "$2"
	t_contains "$1: audit line: issuance refused, with the reason" \
	    "$(grep '"issuance"' "$T/$1.audit" || :)" "$2"
	t_contains "$1: the audit line says refused" \
	    "$(grep '"issuance"' "$T/$1.audit" || :)" '"outcome":"refused"'
	t_eq "$1: no PKCS#12 delivered" \
	    "$(find "$T/$1.delivery" -type f 2>/dev/null | wc -l | tr -d ' ')" 0
}

refused catrue "basicConstraints cA=TRUE"
refused dnssan "subjectAltName holds a dNSName"
refused subjmail "subject emailAddress mallory@example.com"
refused clientauth "extended key usage clientAuth beside emailProtection"

# the same helper, with clientAuth allowed by the operator
conf clientauth-ok "$T/p.clientauth/ca.conf"
sed -i 's/^ca = { driver/ca = { allowed_ekus = [ "clientAuth" ]; driver/' \
    "$T/clientauth-ok.conf"
t_ok "clientauth-ok: check-config accepts ca.allowed_ekus" \
    "$SMIMEPUB" -f "$T/clientauth-ok.conf" check-config
t_contains "clientauth-ok: and shows it" "$T_OUT" "clientAuth"
t_ok "clientauth-ok: enrol succeeds" "$SMIMEPUB" -f "$T/clientauth-ok.conf" enrol "$MAIL"
t_eq "clientauth-ok: published (userCertificate and userSMIMECertificate)" "$(ncerts)" 2
# lookupd's judgement (smimepub lookup answers as lookupd does): the same
# profile, the same ca.allowed_ekus
lkconf() {
	cat >"$T/lk-$1.conf" <<EOC
directory = { uri = "$SLAPD_URI"; base = "$SLAPD_PEOPLE"; };
lookup = {
  bind_dn = "$SLAPD_LOOKUP_DN";
  bind_password_file = "$SLAPD_LOOKUP_PW_FILE";
  trust_anchors = "$T/p.clientauth/ca.pem";
};
ca = { allowed_ekus = [ $2 ]; };
keys = { discard_passphrase = true; };
EOC
}
lkconf strict ""
lkconf client '"clientAuth"'
t_exit "lookup, strict profile: clientAuth beside emailProtection is not usable" 1 \
    "$SMIMEPUB" -f "$T/lk-strict.conf" lookup "$MAIL"
t_ok "lookup, clientAuth allowed: usable" "$SMIMEPUB" -f "$T/lk-client.conf" lookup "$MAIL"
t_contains "lookup, clientAuth allowed: her certificate" "$T_OUT" '"mail"'
t_ok "clientauth-ok: unpublish it again" "$SMIMEPUB" -f "$T/clientauth-ok.conf" unpublish "$MAIL"

# an EKU the S/MIME BR never allow: a configuration error
conf badeku "$T/p.clientauth/ca.conf"
sed -i 's/^ca = { driver/ca = { allowed_ekus = [ "serverAuth" ]; driver/' "$T/badeku.conf"
t_exit "check-config refuses serverAuth in ca.allowed_ekus" 2 \
    "$SMIMEPUB" -f "$T/badeku.conf" check-config
t_contains "naming the key and the reason" "$T_OUT" "ca.allowed_ekus"
t_contains "citing the BR" "$T_OUT" "7.1.2.3"
sed -i 's/"serverAuth"/"no such usage"/' "$T/badeku.conf"
t_exit "check-config refuses an unknown EKU name" 2 \
    "$SMIMEPUB" -f "$T/badeku.conf" check-config

# --- publish by hand -------------------------------------------------------
certs_ca "$T/ca" "smimepub profile test CA"
# leaf NAME EXT...: an EC certificate for alice with these extension lines
leaf() {
	_n=$1
	shift
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/$_n.key" -subj "${SUBJ:-/CN=Alice}" -out "$T/$_n.csr" 2>/dev/null
	printf '%s\n' "$@" >"$T/$_n.ext"
	openssl x509 -req -in "$T/$_n.csr" -CA "$T/ca/ca.pem" -CAkey "$T/ca/ca.key" \
	    -set_serial "0x$(openssl rand -hex 16)" -days 365 -sha256 \
	    -extfile "$T/$_n.ext" -out "$T/$_n.pem" 2>/dev/null
}
GOOD="keyUsage = critical,digitalSignature,keyAgreement
extendedKeyUsage = emailProtection
subjectAltName = email:$MAIL"
leaf good "$GOOD"
leaf ca "basicConstraints = critical,CA:TRUE" \
    "keyUsage = critical,digitalSignature,keyAgreement,keyCertSign" \
    "extendedKeyUsage = emailProtection,serverAuth" "subjectAltName = email:$MAIL"
leaf dns "keyUsage = critical,digitalSignature,keyAgreement" \
    "extendedKeyUsage = emailProtection" "subjectAltName = email:$MAIL,DNS:mail.example.com"
SUBJ=/CN=Alice/emailAddress=mallory@example.com leaf subj "$GOOD"
leaf any "keyUsage = critical,digitalSignature,keyAgreement" \
    "extendedKeyUsage = emailProtection,anyExtendedKeyUsage" "subjectAltName = email:$MAIL"
conf pub "$T/p.catrue/ca.conf"

# pub_refused NAME WHY
pub_refused() {
	t_exit "publish $1: exits 1" 1 "$SMIMEPUB" -f "$T/pub.conf" publish "$MAIL" "$T/$1.pem"
	t_contains "publish $1: names what is wrong" "$T_OUT" "$2"
	t_eq "publish $1: nothing on the entry" "$(ncerts)" 0
	t_contains "publish $1: an audit line, refused" \
	    "$(grep '"refused"' "$T/pub.audit" | tail -n 1)" "$2"
}
pub_refused ca "basicConstraints cA=TRUE"
pub_refused dns "dNSName"
pub_refused subj "subject emailAddress mallory@example.com"
pub_refused any "anyExtendedKeyUsage"
t_ok "publish good: the same certificate without the fault is published" \
    "$SMIMEPUB" -f "$T/pub.conf" publish "$MAIL" "$T/good.pem"
t_eq "publish good: on the entry" "$(ncerts)" 2
t_ok "show: says usable" "$SMIMEPUB" -f "$T/pub.conf" show "$MAIL"
t_contains "show: usable: yes" "$T_OUT" "usable: yes"
t_done
