#!/bin/sh
# The est CA driver (RFC 7030) against tests/helpers/est_server, an EST
# responder over HTTPS on 127.0.0.1 that verifies each CSR and issues for
# its key with a test CA. Driven through tests/helpers/est_drive (cfg_load,
# keys_generate("ec:P-256"), keys_csr_new, ca_new, ca_enrol, ca_poll):
# issuance checked by ca_enrol and by openssl; trust anchors from
# ca.est.ca_cert or bootstrapped from /cacerts; HTTP Basic and TLS client
# certificates; 202 + Retry-After and a poll; 401, 4xx, 500, garbage, a
# certificate for another key, an untrusted or misnamed TLS server, a server
# that is down, a plain http:// URL; no revocation in EST.
set -eu
SRCDIR=${SRCDIR:-$(pwd)}
BUILD=${BUILD:-build}
SERVER=$SRCDIR/$BUILD/tests/est_server
DRIVE=$SRCDIR/$BUILD/tests/est_drive
. "$SRCDIR/tests/lib/testlib.sh"
. "$SRCDIR/tests/lib/certs.sh"

T=$(mktemp -d)
PIDS=
cleanup() {
	for _p in $PIDS; do
		kill "$_p" 2>/dev/null || true
	done
	for _p in $PIDS; do
		wait "$_p" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

MAIL=person@example.com

# --- certificates: the issuing CA, a TLS CA, another CA, a client CA
certs_ca "$T/ca" "EST Test Issuing CA"
certs_ca "$T/tlsca" "EST Test TLS CA"
certs_ca "$T/other" "Some Other CA"
certs_ca "$T/clica" "EST Test Client CA"

# tls_cert NAME CADIR CN EXT: a key and certificate signed by CADIR
tls_cert() {
	( umask 077 && openssl genpkey -algorithm EC \
	    -pkeyopt ec_paramgen_curve:P-256 -out "$T/$1.key" 2>/dev/null )
	openssl req -new -key "$T/$1.key" -subj "/CN=$3" -out "$T/$1.csr" \
	    2>/dev/null
	printf '%s\n' "$4" >"$T/$1.ext"
	openssl x509 -req -in "$T/$1.csr" -CA "$2/ca.pem" -CAkey "$2/ca.key" \
	    -CAcreateserial -days 30 -sha256 -extfile "$T/$1.ext" \
	    -out "$T/$1.pem" 2>/dev/null
}
tls_cert server "$T/tlsca" 127.0.0.1 "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature"
tls_cert client "$T/clica" "est client" "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature"

# start NAME ARGS...: an est_server in the background; its port in $PORT
start() {
	_n=$1
	shift
	"$SERVER" -P "$T/$_n.port" -c "$T/server.pem" -k "$T/server.key" \
	    -C "$T/ca/ca.pem" -K "$T/ca/ca.key" "$@" 2>"$T/$_n.log" &
	PIDS="$PIDS $!"
	eval "PID_$_n=$!"
	_i=0
	while [ ! -s "$T/$_n.port" ]; do
		_i=$((_i + 1))
		if [ "$_i" -gt 100 ]; then
			echo "est_server $_n did not start:" >&2
			cat "$T/$_n.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	PORT=$(cat "$T/$_n.port")
}

printf 's3cret pass\n' >"$T/pw"
printf 'wrong\n' >"$T/pw.bad"
chmod 600 "$T/pw" "$T/pw.bad"
cp "$T/pw" "$T/pw.open"
chmod 644 "$T/pw.open"

# conf NAME PORT [ca.est lines...]: an est configuration in $T/NAME.conf
conf() {
	_n=$1
	_port=$2
	shift 2
	{
		echo 'directory = { uri = "ldap://127.0.0.1:1"; base = "dc=example,dc=com"; };'
		echo "ca = { driver = \"est\"; est = {"
		echo "  url = \"https://127.0.0.1:$_port/.well-known/est\";"
		echo "  timeout = 5;"
		for _l in "$@"; do echo "  $_l"; done
		echo "}; };"
		echo "keys = { discard_passphrase = true; };"
		echo "sync = { state_dir = \"$T/$_n.state\"; };"
	} >"$T/$_n.conf"
	echo "$T/$_n.conf"
}
TLSCA="tls_ca_file = \"$T/tlsca/ca.pem\";"
BASIC="user = \"alice\"; password_file = \"$T/pw\";"
ANCHOR="ca_cert = \"$T/ca/ca.pem\";"

# --- issuance with HTTP Basic
start ok -u alice -w 's3cret pass'
OK=$PORT
C=$(conf ok "$OK" "$TLSCA" "$BASIC" "$ANCHOR")
t_ok "enrol over EST issues" "$DRIVE" -o "$T/leaf.pem" "$C" "$MAIL"
t_contains "status issued" "$T_OUT" "status=issued"
t_contains "the certificate carries our key" "$T_OUT" "key=ours"
# smimesign: OpenSSL's smimeencrypt purpose wants keyEncipherment, which a
# certificate for an EC key does not carry (it has keyAgreement)
t_ok "openssl verifies it against the CA (S/MIME)" openssl verify \
    -CAfile "$T/ca/ca.pem" -purpose smimesign "$T/leaf.pem"
t_ok "certificate text" openssl x509 -in "$T/leaf.pem" -noout -text
TEXT=$T_OUT
t_contains "SAN copied from the CSR" "$TEXT" "email:$MAIL"
t_contains "EKU emailProtection" "$TEXT" "E-mail Protection"
t_contains "EC key usage keyAgreement" "$TEXT" "Key Agreement"
t_contains "the server verified and served the CSR" "$(cat "$T/ok.log")" \
    "POST /.well-known/est/simpleenroll"

t_ok "a second enrolment gets another serial" "$DRIVE" "$C" "$MAIL"
t_ne "serials differ" "$(printf '%s\n' "$T_OUT" | grep serial=)" \
    "serial=$(openssl x509 -in "$T/leaf.pem" -noout -serial | cut -d= -f2)"

C=$(conf boot "$OK" "$TLSCA" "$BASIC")
t_ok "anchors bootstrapped from /cacerts" "$DRIVE" "$C" "$MAIL"
t_contains "bootstrapped: issued" "$T_OUT" "status=issued"
t_contains "bootstrapped: said so" "$T_OUT" "trust anchor(s) taken over"
t_contains "bootstrap fetched /cacerts" "$(cat "$T/ok.log")" \
    "GET /.well-known/est/cacerts"

C=$(conf noanchor "$OK" "$BASIC")
t_exit "no ca_cert and no tls_ca_file is refused" 1 "$DRIVE" "$C" "$MAIL"
t_contains "it says why" "$T_OUT" "RFC 7030 §4.1.1"

C=$(conf wrongca "$OK" "$TLSCA" "$BASIC" "ca_cert = \"$T/other/ca.pem\";")
t_exit "a certificate not chaining to ca_cert is refused" 1 \
    "$DRIVE" "$C" "$MAIL"
t_contains "named as a chain failure" "$T_OUT" "does not chain"

C=$(conf revoke "$OK" "$TLSCA" "$BASIC" "$ANCHOR")
t_exit "revocation is not in EST" 1 "$DRIVE" -R "$C" "$MAIL"
t_contains "revoke failed" "$T_OUT" "revoke=failed"
t_contains "it says to ask the CA operator" "$T_OUT" "CA operator"

# --- authentication
C=$(conf badpw "$OK" "$TLSCA" "user = \"alice\";" \
    "password_file = \"$T/pw.bad\";" "$ANCHOR")
t_exit "wrong Basic password fails" 1 "$DRIVE" "$C" "$MAIL"
t_contains "HTTP 401 named" "$T_OUT" "HTTP 401: authentication failed"
t_contains "the URL named" "$T_OUT" "https://127.0.0.1:$OK/.well-known/est/simpleenroll"
C=$(conf nopw "$OK" "$TLSCA" "$ANCHOR")
t_exit "no credentials: 401" 1 "$DRIVE" "$C" "$MAIL"
t_contains "401 without credentials" "$T_OUT" "HTTP 401"
C=$(conf openpw "$OK" "$TLSCA" "user = \"alice\";" \
    "password_file = \"$T/pw.open\";" "$ANCHOR")
t_exit "a password file others can read is refused" 1 "$DRIVE" "$C" "$MAIL"
t_contains "mode named" "$T_OUT" "mode 0644"

start cli -T "$T/clica/ca.pem"
C=$(conf cli "$PORT" "$TLSCA" "$ANCHOR" \
    "client_cert = \"$T/client.pem\"; client_key = \"$T/client.key\";")
t_ok "TLS client certificate authentication" "$DRIVE" "$C" "$MAIL"
t_contains "client cert: issued" "$T_OUT" "key=ours"
C=$(conf nocli "$PORT" "$TLSCA" "$ANCHOR")
t_ok "without a client certificate: answered" "$DRIVE" "$C" "$MAIL"
t_contains "without a client certificate: refused" "$T_OUT" \
    "status=rejected"
t_contains "refusal carries HTTP 403" "$T_OUT" "HTTP 403"

# --- TLS
C=$(conf untrusted "$OK" "tls_ca_file = \"$T/other/ca.pem\";" "$BASIC" \
    "$ANCHOR")
N=$(grep -c "POST" "$T/ok.log" || true)
t_exit "server certificate from an untrusted CA fails" 1 \
    "$DRIVE" "$C" "$MAIL"
t_contains "a TLS error" "$T_OUT" "SSL"
t_not_contains "nothing issued" "$T_OUT" "status="
t_eq "no request reached the server" "$(grep -c "POST" "$T/ok.log" || true)" "$N"
C=$(conf untrustedboot "$OK" "tls_ca_file = \"$T/other/ca.pem\";" "$BASIC")
t_exit "no bootstrap from an unverified server" 1 "$DRIVE" "$C" "$MAIL"
t_contains "bootstrap names /cacerts" "$T_OUT" "/cacerts"
sed "s|127.0.0.1:$OK|localhost:$OK|" "$T/ok.conf" >"$T/host.conf"
t_exit "a server certificate for another name fails" 1 \
    "$DRIVE" "$T/host.conf" "$MAIL"
t_contains "host name mismatch is a TLS error" "$T_OUT" "SSL"
sed "s|https://|http://|" "$T/ok.conf" >"$T/http.conf"
t_exit "a plain http:// URL is refused" 1 "$DRIVE" "$T/http.conf" "$MAIL"
t_contains "HTTPS only" "$T_OUT" "HTTPS only"

# --- pending
start pend -u alice -w 's3cret pass' -m pending -n -1 -r 42
C=$(conf pend "$PORT" "$TLSCA" "$BASIC" "$ANCHOR")
t_ok "202 is pending" "$DRIVE" "$C" "$MAIL"
t_contains "status pending" "$T_OUT" "status=pending"
R=$(printf '%s\n' "$T_OUT" | sed -n 's/^retry_in=//p')
t_ok "retry_after from Retry-After: 42 ($R)" test "$R" -ge 40 -a "$R" -le 42
t_ok "a poll that is still pending" "$DRIVE" -p "$C" "$MAIL"
t_eq "two pending answers" "$(printf '%s\n' "$T_OUT" | grep -c status=pending)" 2

start pend1 -u alice -w 's3cret pass' -m pending -n 1 -r 7
C=$(conf pend1 "$PORT" "$TLSCA" "$BASIC" "$ANCHOR")
t_ok "pending, then the poll issues" "$DRIVE" -p "$C" "$MAIL"
t_contains "first pending" "$T_OUT" "status=pending"
t_contains "poll: issued for our key" "$T_OUT" "poll:
status=issued"
t_contains "poll: our key" "$T_OUT" "key=ours"

# --- a misbehaving CA
start err -u alice -w 's3cret pass' -m error
C=$(conf err "$PORT" "$TLSCA" "$BASIC" "$ANCHOR")
t_exit "HTTP 500 fails" 1 "$DRIVE" "$C" "$MAIL"
t_contains "HTTP 500 named" "$T_OUT" "HTTP 500"
t_contains "500: URL named" "$T_OUT" "https://127.0.0.1:$PORT/"

start garbage -u alice -w 's3cret pass' -m garbage
C=$(conf garbage "$PORT" "$TLSCA" "$BASIC" "$ANCHOR")
t_exit "garbage bytes fail" 1 "$DRIVE" "$C" "$MAIL"
t_contains "garbage named" "$T_OUT" "not a base64 certs-only PKCS#7"

start other -u alice -w 's3cret pass' -m otherkey
C=$(conf other "$PORT" "$TLSCA" "$BASIC" "$ANCHOR")
t_exit "a certificate for another key is refused" 1 "$DRIVE" "$C" "$MAIL"
t_contains "refused as rejected" "$T_OUT" "status=rejected"
t_contains "the reason is the key" "$T_OUT" "public key is not the one of the CSR"

start rej -u alice -w 's3cret pass' -m reject
C=$(conf rej "$PORT" "$TLSCA" "$BASIC" "$ANCHOR")
t_ok "a 400 is a rejection" "$DRIVE" "$C" "$MAIL"
t_contains "rejected" "$T_OUT" "status=rejected"
t_contains "with the server's text" "$T_OUT" \
    "reason=EST server refused (HTTP 400): request refused by policy:"
t_not_contains "no escape characters kept" "$T_OUT" "$(printf '\033')"

# --- server down
kill "$PID_err"
wait "$PID_err" 2>/dev/null || true
C=$(conf down "$(cat "$T/err.port")" "$TLSCA" "$BASIC" "$ANCHOR")
t_exit "server down fails" 1 "$DRIVE" "$C" "$MAIL"
t_contains "server down: URL named" "$T_OUT" \
    "https://127.0.0.1:$(cat "$T/err.port")/.well-known/est/simpleenroll"
t_contains "server down: connection refused" "$T_OUT" "onnect"

# --- the responders stop cleanly on SIGTERM (and, built with SANITIZE=1,
# without a sanitizer report)
for _n in ok cli pend pend1 garbage other rej; do
	eval "_p=\$PID_$_n"
	kill "$_p"
	_rc=0
	wait "$_p" || _rc=$?
	t_eq "est_server $_n exits 0" "$_rc" 0
	t_not_contains "est_server $_n: no sanitizer report" \
	    "$(cat "$T/$_n.log")" "Sanitizer"
done
PIDS=

t_done
