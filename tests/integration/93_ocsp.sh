#!/bin/sh
# The local CA's revocation where clients look for it (issue 21 items 1, 2),
# against a real slapd and OpenSSL's own OCSP client: smimepub signs an OCSP
# response for each certificate it issues with a delegated responder
# (id-kp-OCSPSigning, id-pkix-ocsp-nocheck, issued by the local CA);
# smimepub-lookupd, which holds neither key, answers `openssl ocsp` by POST
# and by GET from those files: good, revoked (with its reason and time)
# right after `smimepub revoke`, unauthorized for another CA's certificate;
# with RFC 5019 caching headers; and it serves the CRL at the path of
# ca.local.crl_url with Last-Modified and 304 on a conditional GET.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/certs.sh"
. "$SRCDIR/tests/lib/slapd.sh"

T=$(mktemp -d)
LK_PID=
stop_lk() {
	if [ -n "$LK_PID" ]; then
		kill -TERM "$LK_PID" 2>/dev/null || :
		wait "$LK_PID" 2>/dev/null || :
	fi
	LK_PID=
}
slapd_cleanup_add 'stop_lk; rm -rf "$T"'
slapd_start

free_port() {
	while :; do
		_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' \n')
		_pp=$((10000 + _r % 22000))
		ss -Htan 2>/dev/null | awk '{ print $4 }' | grep -q ":$_pp\$" || break
	done
	echo "$_pp"
}
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
cat >"$T/smimepub.conf" <<EOC
$(slapd_conf_directory)
};
ca = { driver = "local"; local = { dir = "$T/ca"; key_type = "ec:P-256";
  crl_url = "$URL/crl/smimepub.crl"; ocsp_url = "$URL/ocsp"; }; };
keys = { type = "ec:P-256"; discard_passphrase = true; delivery_dir = "$T/delivery"; };
sync = { state_dir = "$T/state"; };
lookup = { listen = "127.0.0.1:$PORT"; pid_file = "$T/lk.pid"; drain_timeout = 1;
  bind_dn = "$SLAPD_LOOKUP_DN"; bind_password_file = "$SLAPD_LOOKUP_PW_FILE";
  cache_ttl = 0; negative_ttl = 0; revocation = "both"; };
EOC
C=$T/smimepub.conf
CA=$T/ca/ca.pem

t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
t_ok "enrol alice" "$SMIMEPUB" -f "$C" enrol alice@example.com
t_ok "enrol bob" "$SMIMEPUB" -f "$C" enrol bob@example.com
t_ok "ca crl" "$SMIMEPUB" -f "$C" ca crl
getcert() {	# getcert NAME: the published certificate of uid=NAME into $T/NAME.pem
	ldap_root ldapsearch -LLL -o ldif-wrap=no -tt -T "$T" -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' 'userCertificate;binary' >"$T/$1.ldif"
	openssl x509 -inform DER -in "$(sed -n 's|^[^:]*:< file://||p' "$T/$1.ldif" | head -n 1)" \
	    -out "$T/$1.pem"
}
getcert alice
getcert bob
t_contains "the AIA names the OCSP responder" \
    "$(openssl x509 -in "$T/alice.pem" -noout -ocsp_uri)" "$URL/ocsp"
t_contains "the CDP names the CRL" \
    "$(openssl x509 -in "$T/alice.pem" -noout -ext crlDistributionPoints)" "$URL/crl/smimepub.crl"
alice_serial=$(openssl x509 -in "$T/alice.pem" -noout -serial | sed 's/serial=//')
t_ok "a response for alice is in ca.local.dir/ocsp" test -s "$T/ca/ocsp/$alice_serial.der"
t_ok "the responder's key is its own, mode 0600" test "$(stat -c %a "$T/ca/ocsp-responder.key")" = 600
rtext=$(openssl x509 -in "$T/ca/ocsp-responder.pem" -noout -text)
t_contains "responder certificate: id-kp-OCSPSigning" "$rtext" "OCSP Signing"
t_contains "responder certificate: id-pkix-ocsp-nocheck" "$rtext" "OCSP No Check"
t_ok "responder certificate: issued by the local CA" openssl verify -CAfile "$CA" -purpose ocsphelper "$T/ca/ocsp-responder.pem"

"$LOOKUPD" -f "$C" --foreground >"$T/lk.log" 2>&1 &
LK_PID=$!
i=0
while [ "$i" -lt 100 ] && ! curl -s -o /dev/null "$URL/healthz"; do sleep 0.1; i=$((i + 1)); done

# ---- OCSP (item 1) ---------------------------------------------------------
ocsp() {	# ocsp CERT [args]: openssl ocsp against lookupd, output in $T/ocsp.out
	_c=$1
	shift
	openssl ocsp -issuer "$CA" -cert "$_c" -url "$URL/ocsp" -CAfile "$CA" "$@" \
	    >"$T/ocsp.out" 2>&1
}
t_ok "openssl ocsp (POST) for alice" ocsp "$T/alice.pem"
t_contains "alice: good" "$(cat "$T/ocsp.out")" "$T/alice.pem: good"
t_contains "the response verifies (through the delegated responder)" "$(cat "$T/ocsp.out")" "Response verify OK"
t_ok "openssl ocsp -resp_text" ocsp "$T/alice.pem" -resp_text
t_contains "signed by the responder, not the CA: its certificate is in the response" \
    "$(cat "$T/ocsp.out")" "OCSP responder"
t_ok "openssl ocsp without a nonce for bob" ocsp "$T/bob.pem" -no_nonce
t_contains "bob: good" "$(cat "$T/ocsp.out")" "$T/bob.pem: good"
# OpenSSL 3's `openssl ocsp` only POSTs: the GET of RFC 6960 A.1 by curl
openssl ocsp -issuer "$CA" -cert "$T/bob.pem" -no_nonce -reqout "$T/bob.req" >/dev/null 2>&1
b64=$(openssl base64 -A -in "$T/bob.req" | sed 's|+|%2B|g; s|/|%2F|g; s|=|%3D|g')
code=$(curl -s -D "$T/get.hdr" -o "$T/bob.resp" -w '%{http_code}' "$URL/ocsp/$b64")
t_eq "GET /ocsp/{base64}: 200" "$code" 200
t_contains "as application/ocsp-response" "$(cat "$T/get.hdr")" "Content-Type: application/ocsp-response"
t_ok "the GET answer verifies with openssl" \
    sh -c "openssl ocsp -respin '$T/bob.resp' -issuer '$CA' -cert '$T/bob.pem' -CAfile '$CA' >'$T/ocsp.out' 2>&1"
t_contains "bob: good" "$(cat "$T/ocsp.out")" "$T/bob.pem: good"
hdr=$(cat "$T/get.hdr")
t_contains "RFC 5019 §6.2: Last-Modified" "$hdr" "Last-Modified: "
t_contains "RFC 5019 §6.2: Expires" "$hdr" "Expires: "
t_contains "RFC 5019 §6.2: Cache-Control max-age" "$hdr" "Cache-Control: max-age="
t_contains "RFC 5019 §6.2: public, no-transform, must-revalidate" "$hdr" "public, no-transform, must-revalidate"
etag=$(sed -n 's/^ETag: //Ip' "$T/get.hdr" | tr -d '\r')
t_ne "an ETag" "$etag" ""
t_eq "If-None-Match with it: 304" \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$URL/ocsp/$b64")" 304
lm=$(sed -n 's/^Last-Modified: //Ip' "$T/get.hdr" | tr -d '\r')
t_eq "If-Modified-Since its Last-Modified: 304" \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $lm" "$URL/ocsp/$b64")" 304

# another CA's certificate: unauthorized (RFC 6960 §2.3)
certs_ca "$T/other" "another CA"
certs_leaf "$T/other" "$T/carol" carol@example.com
openssl ocsp -issuer "$T/other/ca.pem" -cert "$T/carol.pem" -url "$URL/ocsp" \
    -CAfile "$T/other/ca.pem" >"$T/ocsp.out" 2>&1 || :
t_contains "carol (another CA): unauthorized" "$(cat "$T/ocsp.out")" "unauthorized"
# a certificate signed with the local CA's key behind smimepub's back: no
# response was ever signed for its serial
certs_leaf "$T/ca" "$T/ghost" ghost@example.com
openssl ocsp -issuer "$CA" -cert "$T/ghost.pem" -url "$URL/ocsp" -CAfile "$CA" >"$T/ocsp.out" 2>&1 || :
t_contains "a serial the index does not hold: unauthorized" "$(cat "$T/ocsp.out")" "unauthorized"
printf 'not DER' >"$T/junk.req"
curl -s -o "$T/junk.resp" -H 'Content-Type: application/ocsp-request' \
    --data-binary @"$T/junk.req" "$URL/ocsp"
t_contains "junk: malformedRequest" "$(openssl ocsp -respin "$T/junk.resp" -resp_text -noverify 2>&1)" "malformedrequest"
t_eq "GET /ocsp/ with no base64: an OCSP error, 200" "$(curl -s -o "$T/junk.resp" -w '%{http_code}' "$URL/ocsp/%25%25")" 200
t_eq "PUT /ocsp: 405" "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$URL/ocsp")" 405

# revoked, with reason and time, right after smimepub revoke
before=$(date -u +%s)
t_ok "smimepub revoke bob --reason keyCompromise" "$SMIMEPUB" -f "$C" revoke bob@example.com --reason keyCompromise
t_ok "openssl ocsp for bob" ocsp "$T/bob.pem"
out=$(cat "$T/ocsp.out")
t_contains "bob: revoked" "$out" "$T/bob.pem: revoked"
t_contains "with the reason" "$out" "Reason: keyCompromise"
rt=$(printf '%s\n' "$out" | sed -n 's/.*Revocation Time: //p' | head -n 1)
rts=$(date -u -d "$rt" +%s 2>/dev/null || echo 0)
t_ok "revocation time ($rt) within seconds of the revoke" test "$rts" -ge "$((before - 2))" -a "$rts" -le "$(($(date -u +%s) + 2))"
t_contains "the answer still verifies" "$out" "Response verify OK"
t_ok "openssl ocsp for alice" ocsp "$T/alice.pem"
t_contains "alice: still good" "$(cat "$T/ocsp.out")" "$T/alice.pem: good"

# ---- lookupd's and show's own check of the local CA's certificates ----------
# (items 3, 4: the local CA's OCSP URL is read from ca.local.dir, not asked)
t_eq "alice served (lookup.revocation both)" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/certs/alice@example.com")" 200
t_ok "smimepub show alice" "$SMIMEPUB" -f "$C" show alice@example.com
t_contains "show says good, from the local CA's OCSP response" "$T_OUT" "revocation: good (ocsp $URL/ocsp)"
t_ok "bob's revoked certificate published again by hand" \
    "$SMIMEPUB" -f "$C" publish bob@example.com "$T/bob.pem"
t_eq "it is not served" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/certs/bob@example.com")" 404
t_ok "smimepub show bob" "$SMIMEPUB" -f "$C" show bob@example.com
t_contains "show says revoked, why and where from" "$T_OUT" "revocation: revoked: keyCompromise at "
t_contains "and not usable" "$T_OUT" "usable: no (revoked)"
t_exit "smimepub lookup bob: 1" 1 "$SMIMEPUB" -f "$C" lookup bob@example.com

# ---- the CRL at the path of ca.local.crl_url (item 2) ----------------------
code=$(curl -s -D "$T/crl.hdr" -o "$T/crl.der" -w '%{http_code}' "$URL/crl/smimepub.crl")
t_eq "GET the CRL URL: 200" "$code" 200
openssl crl -in "$T/ca/crl.pem" -outform DER -out "$T/crl.expect"
t_ok "it is the CRL the local CA wrote (DER)" cmp "$T/crl.der" "$T/crl.expect"
t_contains "it lists bob" "$(openssl crl -inform DER -in "$T/crl.der" -noout -text | tr -d ' :' | tr a-f A-F)" \
    "$(openssl x509 -in "$T/bob.pem" -noout -serial | sed 's/serial=//')"
t_contains "as application/pkix-crl" "$(cat "$T/crl.hdr")" "Content-Type: application/pkix-crl"
lm=$(sed -n 's/^Last-Modified: //Ip' "$T/crl.hdr" | tr -d '\r')
t_ne "with Last-Modified" "$lm" ""
t_eq "If-Modified-Since: 304 without a body" \
    "$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -H "If-Modified-Since: $lm" "$URL/crl/smimepub.crl")" "304 0"
t_eq "If-Modified-Since a day earlier: 200" \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $(date -u -d "$(date -u -d "$lm") - 1 day" '+%a, %d %b %Y %H:%M:%S GMT')" "$URL/crl/smimepub.crl")" 200
t_eq "POST to the CRL URL: 405" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/crl/smimepub.crl")" 405
t_eq "another path still 404" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/crl/other.crl")" 404
stop_lk
t_done
