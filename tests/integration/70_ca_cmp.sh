#!/bin/sh
# The cmp driver (ca/cmp.c) against tests/helpers/cmp_server, a CMP server
# on OpenSSL's OSSL_CMP_SRV_CTX that really signs the p10cr with a test CA,
# listening on a free 127.0.0.1 port. Driven by tests/helpers/cmp_drive
# (ca_new + ca_enrol / ca_revoke with a config file): MAC and signature
# protection, http and https, implicit confirm on and off, revocation, and
# the failures: wrong MAC secret, an unknown server signer, a TLS server not
# vouched for, a rejecting CA, a certificate for another key, garbage, HTTP
# 500, a CA that is down, bad configuration.
set -eu
SRCDIR=${SRCDIR:-$(pwd)}
BUILD=${BUILD:-build}
SERVER=$SRCDIR/$BUILD/tests/cmp_server
DRIVE=$SRCDIR/$BUILD/tests/cmp_drive
. "$SRCDIR/tests/lib/testlib.sh"

T=$(mktemp -d)
SPID=
stop_server() {
	if [ -n "$SPID" ]; then
		kill "$SPID" 2>/dev/null || true
		wait "$SPID" 2>/dev/null || true
		SPID=
	fi
}
trap 'stop_server; rm -rf "$T"' EXIT INT TERM

# A test CA, a CMP server certificate, a CMP client certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/ca.key" -out "$T/ca.pem" -days 30 -subj "/CN=Test CMP CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/other.key" -out "$T/other.pem" -days 30 \
    -subj "/CN=Another CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' \
    >"$T/ee.ext"
for n in srv cli; do
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/$n.key" -out "$T/$n.csr" -subj "/CN=CMP $n" 2>/dev/null
	openssl x509 -req -in "$T/$n.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
	    -days 30 -out "$T/$n.pem" -extfile "$T/ee.ext" 2>/dev/null
done
chmod 600 "$T/cli.key"
# the HTTPS certificate of the CMP server, from another CA
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/tls.key" -out "$T/tls.csr" -subj "/CN=127.0.0.1" 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n' \
    >"$T/tls.ext"
openssl x509 -req -in "$T/tls.csr" -CA "$T/other.pem" -CAkey "$T/other.key" \
    -days 30 -out "$T/tls.pem" -extfile "$T/tls.ext" 2>/dev/null
printf 'correct horse battery staple\n' >"$T/secret"
printf 'wrong secret\n' >"$T/wrong"
chmod 600 "$T/secret" "$T/wrong"

# start_server ARGS...: cmp_server with the test CA; sets PORT and SPID
start_server() {
	stop_server
	rm -f "$T/port"
	: >"$T/server.log"
	"$SERVER" -c "$T/ca.pem" -k "$T/ca.key" -o "$T/port" \
	    -R "$T/revoked" "$@" 2>"$T/server.log" &
	SPID=$!
	_i=0
	while [ ! -s "$T/port" ] && [ $_i -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	PORT=$(cat "$T/port" 2>/dev/null || echo 0)
}
mac_server() { start_server -r smimepub -s "$T/secret" "$@"; }

# conf NAME cmp-lines...: a config with ca.driver = "cmp"
conf() {
	_n=$1
	shift
	{
		echo 'directory = { uri = "ldap://127.0.0.1:1"; base = "dc=example,dc=com"; };'
		echo 'ca = { driver = "cmp"; cmp = {'
		for _l in "$@"; do echo "  $_l"; done
		echo '}; };'
		echo "keys = { discard_passphrase = true; };"
		echo "sync = { state_dir = \"$T/state\"; };"
	} >"$T/$_n.conf"
	echo "$T/$_n.conf"
}
mac_conf() {
	_n=$1
	shift
	conf "$_n" "url = \"http://127.0.0.1:$PORT/pkix/\";" \
	    'reference = "smimepub";' "ca_cert = \"$T/ca.pem\";" \
	    'timeout = 5;' "$@"
}
certconfs() { grep -c 'certConf' "$T/server.log" || true; }

# --- MAC protection, confirmation by certConf ---
mac_server
C=$(mac_conf mac "secret_file = \"$T/secret\";")
t_ok "server listens on 127.0.0.1" test "$PORT" -gt 0
t_ok "enrol with MAC protection" "$DRIVE" "$C" enrol alice@example.com "$T/alice"
t_contains "issued" "$T_OUT" "issued "
t_contains "the certificate carries our key" "$T_OUT" "key ours"
t_contains "the CA certificate came with it" "$T_OUT" "chain 1"
t_eq "public key of the certificate is ours" \
    "$(openssl x509 -in "$T/alice.pem" -noout -pubkey)" "$(cat "$T/alice.pub")"
t_ok "certificate verifies against the test CA for S/MIME" \
    openssl verify -CAfile "$T/ca.pem" -purpose smimesign "$T/alice.pem"
t_ok "certificate text" openssl x509 -in "$T/alice.pem" -noout -text
t_contains "SAN from the CSR" "$T_OUT" "email:alice@example.com"
t_contains "EKU emailProtection" "$T_OUT" "E-mail Protection"
t_contains "keyAgreement for an EC key" "$T_OUT" "Key Agreement"
t_eq "confirmed with certConf (implicit_confirm off)" "$(certconfs)" 1

# --- implicit confirm on ---
C=$(mac_conf ic "secret_file = \"$T/secret\";" "implicit_confirm = true;")
t_ok "enrol with implicit_confirm = true" "$DRIVE" "$C" enrol bob@example.com "$T/bob"
t_contains "issued with implicit confirm" "$T_OUT" "key ours"
t_eq "no certConf with implicit confirm" "$(certconfs)" 1

# --- revocation ---
C=$T/mac.conf
SERIAL=$(openssl x509 -in "$T/alice.pem" -noout -serial | cut -d= -f2)
t_ok "revoke" "$DRIVE" "$C" revoke "$T/alice.pem" keyCompromise
t_contains "the log names the serial and reason" "$T_OUT" \
    "revoked serial $SERIAL (keyCompromise)"
t_ok "the serial reached the server" grep -qx "$SERIAL" "$T/revoked"

# --- wrong MAC secret ---
C=$(mac_conf wrong "secret_file = \"$T/wrong\";")
t_exit "a wrong MAC secret is an error" 1 "$DRIVE" "$C" enrol carol@example.com "$T/carol"
t_contains "it names the URL" "$T_OUT" "http://127.0.0.1:$PORT/pkix/"
t_contains "it names the reason" "$T_OUT" "wrong pbm value"
t_not_contains "the secret is not logged" "$T_OUT" "wrong secret"

# --- a secret file others may read ---
chmod 644 "$T/wrong"
t_exit "a readable secret file is refused" 1 "$DRIVE" "$C" enrol carol@example.com "$T/carol"
t_contains "it names ca.cmp.secret_file" "$T_OUT" "ca.cmp.secret_file"

# --- signature protection, server certificate pinned or trusted ---
start_server -S "$T/srv.pem" -K "$T/srv.key" -T "$T/ca.pem"
SIG="url = \"http://127.0.0.1:$PORT/pkix/\"; client_cert = \"$T/cli.pem\"; client_key = \"$T/cli.key\"; ca_cert = \"$T/ca.pem\"; timeout = 5;"
C=$(conf sig "$SIG" "server_cert = \"$T/srv.pem\";")
t_ok "enrol with signature protection, pinned server_cert" \
    "$DRIVE" "$C" enrol dave@example.com "$T/dave"
t_contains "issued for our key" "$T_OUT" "key ours"
t_contains "the CMP server certificate is not in the chain" "$T_OUT" "chain 1"
t_ok "revoke with signature protection" "$DRIVE" "$C" revoke "$T/dave.pem"
t_ok "that serial reached the server" grep -qx \
    "$(openssl x509 -in "$T/dave.pem" -noout -serial | cut -d= -f2)" "$T/revoked"
C=$(conf trusted "$SIG" "trusted = \"$T/ca.pem\";")
t_ok "enrol with signature protection, trusted store" \
    "$DRIVE" "$C" enrol erin@example.com "$T/erin"
C=$(conf pinned "$SIG" "server_cert = \"$T/cli.pem\";")
t_exit "an answer from another server certificate is an error" 1 \
    "$DRIVE" "$C" enrol erin@example.com "$T/erin"
t_contains "it names the URL" "$T_OUT" "http://127.0.0.1:$PORT/pkix/"
t_contains "it says the sender is not the pinned one" "$T_OUT" \
    "does not match expected sender"
C=$(conf untrusted "$SIG" "trusted = \"$T/other.pem\";")
t_exit "a server not in the trusted store is an error" 1 \
    "$DRIVE" "$C" enrol erin@example.com "$T/erin"
t_contains "it says the signer is not trusted" "$T_OUT" "validating protection"

# --- HTTPS ---
mac_server -t "$T/tls.pem" -u "$T/tls.key"
HTTPS="url = \"https://127.0.0.1:$PORT/pkix/\"; reference = \"smimepub\"; secret_file = \"$T/secret\"; ca_cert = \"$T/ca.pem\"; timeout = 5;"
C=$(conf https "$HTTPS" "tls_ca_file = \"$T/other.pem\";")
t_ok "enrol over https, server verified with tls_ca_file" \
    "$DRIVE" "$C" enrol judy@example.com "$T/judy"
t_contains "issued over https" "$T_OUT" "key ours"
C=$(conf httpsbad "$HTTPS" "tls_ca_file = \"$T/ca.pem\";")
t_exit "an https server tls_ca_file does not vouch for is an error" 1 \
    "$DRIVE" "$C" enrol judy@example.com "$T/judy"
t_contains "it says the TLS verification failed" "$T_OUT" "certificate verify failed"
t_contains "it names the https URL" "$T_OUT" "https://127.0.0.1:$PORT/pkix/"

# --- a CA that rejects ---
mac_server -m reject
C=$(mac_conf rej "secret_file = \"$T/secret\";")
t_exit "a rejecting CA yields CA_REJECTED" 2 "$DRIVE" "$C" enrol frank@example.com "$T/frank"
t_contains "with its text" "$T_OUT" "test CA policy: no certificates today"
t_contains "and its failure info" "$T_OUT" "notAuthorized"
t_exit "a rejected revocation is an error" 1 "$DRIVE" "$C" revoke "$T/bob.pem"
t_contains "naming the CA's status" "$T_OUT" "no revocations today"

# --- a certificate for another key ---
mac_server -m otherkey
C=$(mac_conf other "secret_file = \"$T/secret\";")
t_exit "a certificate for another key is refused by ca_enrol" 3 \
    "$DRIVE" "$C" enrol grace@example.com "$T/grace"
t_contains "the reason says so" "$T_OUT" "public key is not the one of the CSR"
t_contains "the CA was told in certConf" "$(cat "$T/server.log")" \
    "does not match our enrollment key"

# --- garbage, HTTP 500 ---
mac_server -m garbage
C=$(mac_conf garbage "secret_file = \"$T/secret\";")
t_exit "garbage bytes are an error" 1 "$DRIVE" "$C" enrol heidi@example.com "$T/heidi"
t_contains "it names the URL" "$T_OUT" "http://127.0.0.1:$PORT/pkix/"
t_contains "and says the answer is not DER" "$T_OUT" "missing asn1 encoding"
mac_server -m http500
C=$(mac_conf h500 "secret_file = \"$T/secret\";")
t_exit "HTTP 500 is an error" 1 "$DRIVE" "$C" enrol heidi@example.com "$T/heidi"
t_contains "it names the status" "$T_OUT" "code=500"
t_contains "it names the URL" "$T_OUT" "http://127.0.0.1:$PORT/pkix/"

# --- a CA that is down ---
DOWN=$PORT
stop_server
C=$(conf down "url = \"http://127.0.0.1:$DOWN/pkix/\";" 'reference = "smimepub";' \
    "secret_file = \"$T/secret\";" "ca_cert = \"$T/ca.pem\";" 'timeout = 2;')
t_exit "a CA that is down is an error" 1 "$DRIVE" "$C" enrol ivan@example.com "$T/ivan"
t_contains "it names the URL" "$T_OUT" "http://127.0.0.1:$DOWN/pkix/"
t_contains "it says why" "$T_OUT" "connect"

# --- configuration ---
C=$(conf noca "url = \"http://127.0.0.1:$DOWN/\";" 'reference = "smimepub";' \
    "secret_file = \"$T/secret\";")
t_exit "ca.cmp.ca_cert is required" 1 "$DRIVE" "$C" enrol ivan@example.com "$T/ivan"
t_contains "the error names ca.cmp.ca_cert" "$T_OUT" "ca.cmp.ca_cert"
C=$(conf ftp "url = \"ftp://127.0.0.1:$DOWN/\";" 'reference = "smimepub";' \
    "secret_file = \"$T/secret\";" "ca_cert = \"$T/ca.pem\";")
t_exit "only http and https" 1 "$DRIVE" "$C" enrol ivan@example.com "$T/ivan"
t_contains "the error names ca.cmp.url" "$T_OUT" "ca.cmp.url"
C=$(conf noprot "url = \"http://127.0.0.1:$DOWN/\";" "ca_cert = \"$T/ca.pem\";")
t_exit "no protection configured" 1 "$DRIVE" "$C" enrol ivan@example.com "$T/ivan"
t_contains "the error says what to set" "$T_OUT" "secret_file"

t_done
