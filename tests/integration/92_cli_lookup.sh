#!/bin/sh
# smimepub lookup MAIL [--format json|pem|der] against a real slapd: what
# smimepub-lookupd would answer, without the daemon. Certificates published
# with smimepub (and, for a second and an expired one, put on the entry by
# the rootdn); the JSON fields equal openssl's view of the best certificate,
# the expired one is never returned, DER and PEM are the usable ones best
# first; exit 1 for none usable, 2 for an invalid address or format.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/certs.sh"
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start

certs_ca "$T/ca" "cli lookup CA"
certs_leaf "$T/ca" "$T/alice" alice@example.com
certs_leaf "$T/ca" "$T/alice2" alice@example.com 700 ec
certs_leaf "$T/ca" "$T/exp" alice@example.com "" start="$(certs_time -30)" end="$(certs_time -1)"
certs_leaf "$T/ca" "$T/cexp" carol@example.com "" start="$(certs_time -30)" end="$(certs_time -1)"

cat >"$T/pub.conf" <<EOF
$(slapd_conf_directory)
};
keys = { discard_passphrase = true; };
sync = { state_dir = "$T/state"; };
EOF
# lookup reads as lookupd does: the read-only account, the anchors
cat >"$T/lk.conf" <<EOF
keys = { discard_passphrase = true; };
directory = {
  uri = "$SLAPD_URI";
  base = "$SLAPD_PEOPLE";
  timeout = 2;
};
lookup = {
  bind_dn = "$SLAPD_LOOKUP_DN";
  bind_password_file = "$SLAPD_LOOKUP_PW_FILE";
  trust_anchors = "$T/ca/ca.pem";
};
EOF
t_ok "publish alice" "$SMIMEPUB" -f "$T/pub.conf" publish alice@example.com "$T/alice.pem"
{
	echo "dn: $(slapd_people_dn alice)"
	echo "changetype: modify"
	echo "add: userCertificate;binary"
	echo "userCertificate;binary:< file://$T/alice2.der"
	echo "userCertificate;binary:< file://$T/exp.der"
	echo
	echo "dn: $(slapd_people_dn carol)"
	echo "changetype: modify"
	echo "add: userCertificate;binary"
	echo "userCertificate;binary:< file://$T/cexp.der"
} >"$T/mod.ldif"
t_ok "a second and an expired certificate on alice, an expired one on carol" \
    ldap_root ldapmodify -f "$T/mod.ldif"

# ---- JSON ------------------------------------------------------------------
rc=0
"$SMIMEPUB" -f "$T/lk.conf" lookup alice@example.com >"$T/out.json" 2>"$T/err" || rc=$?
t_eq "lookup alice: exit 0" "$rc" 0
# jget EXPR: a field of the JSON answer, by python3
jget() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
	    "$T/out.json" "$1"
}
rfc3339() {	# the notAfter/notBefore of a PEM as the API writes it
	date -u -d "$(openssl x509 -in "$1" -noout "-$2" | sed 's/^[^=]*=//')" \
	    +%Y-%m-%dT%H:%M:%SZ
}
t_eq "JSON: mail" "$(jget 'd["mail"]')" alice@example.com
t_eq "JSON: the two usable certificates" "$(jget 'len(d["certificates"])')" 2
t_eq "JSON: best first (sha256)" "$(jget 'd["certificates"][0]["sha256"]')" \
    "$(certs_fingerprint "$T/alice2.pem")"
t_eq "JSON: then the other" "$(jget 'd["certificates"][1]["sha256"]')" \
    "$(certs_fingerprint "$T/alice.pem")"
t_eq "JSON: serial as openssl" "$(jget 'd["certificates"][0]["serial"]')" \
    "$(certs_serial "$T/alice2.pem")"
t_eq "JSON: not_before as openssl" "$(jget 'd["certificates"][0]["not_before"]')" \
    "$(rfc3339 "$T/alice2.pem" startdate)"
t_eq "JSON: not_after as openssl" "$(jget 'd["certificates"][0]["not_after"]')" \
    "$(rfc3339 "$T/alice2.pem" enddate)"
t_eq "JSON: issuer as openssl" "$(jget 'd["certificates"][0]["issuer"]')" \
    "$(openssl x509 -in "$T/alice2.pem" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')"
t_eq "JSON: subject as openssl" "$(jget 'd["certificates"][0]["subject"]')" \
    "$(openssl x509 -in "$T/alice2.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"
t_eq "JSON: key" "$(jget 'd["certificates"][0]["key"]')" "ec:P-256"
jget 'd["certificates"][0]["pem"]' >"$T/best.pem"
t_eq "JSON: the pem is that certificate" "$(certs_fingerprint "$T/best.pem")" \
    "$(certs_fingerprint "$T/alice2.pem")"
t_not_contains "JSON: the expired certificate is not returned" "$(cat "$T/out.json")" \
    "$(certs_fingerprint "$T/exp.pem")"

# ---- DER and PEM -----------------------------------------------------------
"$SMIMEPUB" -f "$T/lk.conf" lookup alice@example.com --format der >"$T/out.der"
t_ok "DER: the best certificate, byte for byte" cmp "$T/out.der" "$T/alice2.der"
"$SMIMEPUB" -f "$T/lk.conf" lookup --format pem alice@example.com >"$T/out.pem"
t_eq "PEM: two certificates" "$(grep -c 'BEGIN CERT' "$T/out.pem")" 2
t_eq "PEM: best first" "$(certs_fingerprint "$T/out.pem")" "$(certs_fingerprint "$T/alice2.pem")"
awk '/BEGIN CERT/{n++} {print > (F "." n)}' F="$T/pemc" "$T/out.pem"
t_eq "PEM: then the other" "$(certs_fingerprint "$T/pemc.2")" "$(certs_fingerprint "$T/alice.pem")"

# ---- none usable, invalid input ------------------------------------------
t_exit "carol, only an expired certificate: exit 1" 1 "$SMIMEPUB" -f "$T/lk.conf" lookup carol@example.com
t_contains "... says so on stderr" "$T_OUT" "no usable certificate for carol@example.com"
t_exit "nobody@example.com: exit 1" 1 "$SMIMEPUB" -f "$T/lk.conf" lookup nobody@example.com
t_exit "an invalid address: exit 2" 2 "$SMIMEPUB" -f "$T/lk.conf" lookup 'not-an-address'
t_exit "a filter injection: exit 2" 2 "$SMIMEPUB" -f "$T/lk.conf" lookup '*)(mail=*'
t_exit "an unknown format: exit 2" 2 "$SMIMEPUB" -f "$T/lk.conf" lookup alice@example.com --format xml
t_exit "no address: exit 2" 2 "$SMIMEPUB" -f "$T/lk.conf" lookup

t_done
