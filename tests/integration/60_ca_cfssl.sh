#!/bin/sh
# The cfssl driver against a real `cfssl serve` (Debian's golang-cfssl,
# 1.2.0) on 127.0.0.1: a test CA, an S/MIME signing profile, a profile
# behind an auth key for /authsign, and a sqlite certdb for revocation
# (the certificates and ocsp_responses tables of cfssl's
# certdb/sqlite/migrations/001, which no package ships). Driven through
# tests/helpers/ca_drive.c: ca_new() + ca_enrol(), whose answer check must
# pass, and ca_revoke(). Also over https with ca.cfssl.tls_ca_file.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
DRIVE=$SRCDIR/$BUILD/tests/ca_drive
. "$SRCDIR/tests/lib/capeers.sh"

for p in cfssl sqlite3 curl openssl; do
	if ! command -v "$p" >/dev/null 2>&1; then
		t_skip "cfssl driver" "$p is not installed (sh scripts/deps.sh)"
		t_done
	fi
done

T=$(mktemp -d)
PIDS=
cleanup() {
	for _p in $PIDS; do kill "$_p" 2>/dev/null || true; done
	for _p in $PIDS; do wait "$_p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- the CA, its profiles, the certdb ---------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" \
    -subj "/CN=smimepub cfssl test CA" -days 2 \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other.key" \
    -out "$T/other.pem" -subj "/CN=smimepub cfssl test CA" -days 2 \
    -addext basicConstraints=critical,CA:TRUE 2>/dev/null
# TLS for the https instance: a server certificate for 127.0.0.1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/tls.key" -out "$T/tls.pem" -subj "/CN=127.0.0.1" -days 2 \
    -addext subjectAltName=IP:127.0.0.1 2>/dev/null

KEY=$(openssl rand -hex 32)
(umask 077 && printf '%s\n' "$KEY" >"$T/auth.key" &&
    openssl rand -hex 32 >"$T/wrong.key")
USAGES='"usages": ["digital signature", "key encipherment", "email protection"]'
cat >"$T/cfssl.json" <<EOF
{
  "signing": {
    "default": { "expiry": "8760h", $USAGES },
    "profiles": {
      "smime": { "expiry": "8760h", $USAGES },
      "smime-ec": { "expiry": "8760h",
        "usages": ["digital signature", "key agreement", "email protection"] },
      "smime-auth": { "expiry": "8760h", $USAGES, "auth_key": "smimepub" }
    }
  },
  "auth_keys": { "smimepub": { "type": "standard", "key": "$KEY" } }
}
EOF
cfssl_certdb "$T"

# free_port: a TCP port nothing listens on (10000-31999); the caller
# retries if another process takes it first.
free_port() {
	while :; do
		_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' \n')
		_p=$((10000 + _r % 22000))
		ss -Htln 2>/dev/null | awk '{ print $4 }' | grep -q ":$_p\$" ||
		    break
	done
	echo "$_p"
}

# start_cfssl NAME SCHEME [serve options]: start it, wait until it answers;
# sets PORT. Up to five ports are tried.
start_cfssl() {
	_n=$1
	_s=$2
	shift 2
	for _try in 1 2 3 4 5; do
		PORT=$(free_port)
		cfssl serve -address 127.0.0.1 -port "$PORT" -ca "$T/ca.pem" \
		    -ca-key "$T/ca.key" -config "$T/cfssl.json" \
		    -db-config "$T/db.json" "$@" >"$T/$_n.log" 2>&1 &
		_pid=$!
		PIDS="$PIDS $_pid"
		_i=0
		while [ "$_i" -lt 100 ] && kill -0 "$_pid" 2>/dev/null; do
			if curl -s --cacert "$T/tls.pem" -o /dev/null \
			    -d '{}' "$_s://127.0.0.1:$PORT/api/v1/cfssl/info"; then
				return 0
			fi
			sleep 0.1
			_i=$((_i + 1))
		done
		kill "$_pid" 2>/dev/null || true
	done
	cat "$T/$_n.log" >&2
	return 1
}

start_cfssl plain http
URL=http://127.0.0.1:$PORT
t_ok "cfssl serve answers on $URL" true

# conf NAME [ca.cfssl lines...]
conf() {
	_n=$1
	shift
	{
		echo 'directory = { uri = "ldap://127.0.0.1:1"; base = "dc=example,dc=com"; };'
		echo 'ca = { driver = "cfssl"; cfssl = {'
		for _l in "$@"; do echo "  $_l"; done
		echo '}; };'
		echo "keys = { discard_passphrase = true; };"
		echo "sync = { state_dir = \"$T/$_n.state\"; };"
	} >"$T/$_n.conf"
	echo "$T/$_n.conf"
}
serial_dec() {
	_h=$(openssl x509 -in "$1" -noout -serial | cut -d= -f2)
	echo "ibase=16; $_h" | BC_LINE_LENGTH=0 bc
}
db() { sqlite3 "$T/certs.db" "$1"; }

SIGN=$(conf sign "url = \"$URL\";" 'profile = "smime";' \
    "ca_cert = \"$T/ca.pem\";" 'timeout = 10;')

# --- /sign ---------------------------------------------------------------
t_ok "/sign issues a certificate that passes the answer check" \
    sh -c "'$DRIVE' '$SIGN' enrol alice@example.com >'$T/alice.pem'"
TEXT=$(openssl x509 -in "$T/alice.pem" -noout -text 2>&1)
t_contains "SAN is the address" "$TEXT" "email:alice@example.com"
t_contains "EKU emailProtection" "$TEXT" "E-mail Protection"
t_contains "keyEncipherment" "$TEXT" "Key Encipherment"
t_ok "openssl verifies it for S/MIME encryption" openssl verify \
    -CAfile "$T/ca.pem" -purpose smimeencrypt "$T/alice.pem"
ALICE=$(serial_dec "$T/alice.pem")
t_eq "certdb holds it as good, serial in decimal, AKI empty" \
    "$(db "SELECT status || '|' || authority_key_identifier FROM certificates WHERE serial_number = '$ALICE'")" \
    "good|"
t_exit "an EC key on the RSA profile: the check refuses it" 1 \
    "$DRIVE" "$SIGN" enrol erin@example.com ec:P-256
t_contains "for want of keyAgreement" "$T_OUT" "keyAgreement"
SIGNEC=$(conf signec "url = \"$URL\";" 'profile = "smime-ec";' \
    "ca_cert = \"$T/ca.pem\";")
t_ok "an EC key on a keyAgreement profile" sh -c \
    "'$DRIVE' '$SIGNEC' enrol erin@example.com ec:P-256 >'$T/erin.pem'"

# --- revoke --------------------------------------------------------------
t_ok "revoke keyCompromise" "$DRIVE" "$SIGN" revoke "$T/alice.pem" keyCompromise
t_eq "certdb: revoked, reason 1" \
    "$(db "SELECT status || '|' || reason FROM certificates WHERE serial_number = '$ALICE'")" \
    "revoked|1"
t_ok "revoking twice is not an error" "$DRIVE" "$SIGN" revoke "$T/alice.pem" keyCompromise
t_ok "revoke superseded" "$DRIVE" "$SIGN" revoke "$T/erin.pem" superseded
t_eq "certdb: reason 4" \
    "$(db "SELECT reason FROM certificates WHERE serial_number = '$(serial_dec "$T/erin.pem")'")" 4
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/x.key" -out "$T/x.pem" \
    -subj /CN=x -days 1 2>/dev/null
t_exit "revoking a certificate cfssl never issued fails" 1 \
    "$DRIVE" "$SIGN" revoke "$T/x.pem"
t_contains "with cfssl's message" "$T_OUT" "certificate not found"
t_contains "naming the URL" "$T_OUT" "$URL/api/v1/cfssl/revoke"

# --- /authsign -------------------------------------------------------------
AUTH=$(conf auth "url = \"$URL/\";" 'profile = "smime-auth";' \
    "auth_key_file = \"$T/auth.key\";" "ca_cert = \"$T/ca.pem\";")
t_ok "/authsign issues a certificate that passes the answer check" \
    sh -c "'$DRIVE' '$AUTH' enrol bob@example.com >'$T/bob.pem'"
t_contains "for bob" "$(openssl x509 -in "$T/bob.pem" -noout -ext subjectAltName)" \
    "email:bob@example.com"
t_eq "certdb: bob is good" \
    "$(db "SELECT status FROM certificates WHERE serial_number = '$(serial_dec "$T/bob.pem")'")" good
WRONG=$(conf wrong "url = \"$URL\";" 'profile = "smime-auth";' \
    "auth_key_file = \"$T/wrong.key\";" "ca_cert = \"$T/ca.pem\";")
t_exit "a wrong auth key is refused (rejected)" 3 "$DRIVE" "$WRONG" enrol bob@example.com
t_contains "cfssl's message" "$T_OUT" "invalid token"
t_contains "the URL" "$T_OUT" "$URL/api/v1/cfssl/authsign"
t_contains "the HTTP status" "$T_OUT" "HTTP 400"
NOAUTH=$(conf noauth "url = \"$URL\";" 'profile = "smime-auth";' \
    "ca_cert = \"$T/ca.pem\";")
t_exit "/sign on a profile with an auth key is refused" 3 "$DRIVE" "$NOAUTH" enrol bob@example.com
t_contains "authentication required" "$T_OUT" "authentication required"
chmod 0644 "$T/auth.key"
t_exit "an auth key file others may read is refused" 2 "$DRIVE" "$AUTH" enrol bob@example.com
t_contains "naming the key" "$T_OUT" "ca.cfssl.auth_key_file"
chmod 0600 "$T/auth.key"

# --- the answer check and the configuration --------------------------------
OTHERCA=$(conf otherca "url = \"$URL\";" 'profile = "smime";' \
    "ca_cert = \"$T/other.pem\";")
t_exit "a certificate that does not chain to ca.cfssl.ca_cert is refused" 1 \
    "$DRIVE" "$OTHERCA" enrol carol@example.com
t_contains "the check says why" "$T_OUT" "fails the check"
NOCA=$(conf noca "url = \"$URL\";")
t_exit "no ca.cfssl.ca_cert: configuration error" 2 "$DRIVE" "$NOCA" enrol carol@example.com
t_contains "naming ca.cfssl.ca_cert" "$T_OUT" "ca.cfssl.ca_cert"
FTP=$(conf ftp 'url = "ftp://127.0.0.1/";' "ca_cert = \"$T/ca.pem\";")
t_exit "a non-http URL is refused" 2 "$DRIVE" "$FTP" enrol carol@example.com
t_contains "naming it" "$T_OUT" "ftp://127.0.0.1/"

# --- cfssl down, not cfssl -------------------------------------------------
DPORT=$(free_port)
DOWN=$(conf down "url = \"http://127.0.0.1:$DPORT\";" "ca_cert = \"$T/ca.pem\";" \
    'timeout = 2;')
t_exit "cfssl down: an error" 1 "$DRIVE" "$DOWN" enrol carol@example.com
t_contains "naming the URL" "$T_OUT" "http://127.0.0.1:$DPORT/api/v1/cfssl/sign"
t_contains "saying why" "$T_OUT" "connect"
# A fake server answering whatever $T/ans.status and $T/ans.body hold:
# every answer that is not a well-formed cfssl success must be an error
# or a rejection, never a crash or an issued certificate.
if command -v python3 >/dev/null 2>&1; then
	cat >"$T/fake.py" <<'EOF'
import http.server, sys
d = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        st = int(open(d + "/ans.status").read())
        body = open(d + "/ans.body", "rb").read()
        self.send_response(st)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
	# answer STATUS BODY: what the fake server says next
	answer() { echo "$1" >"$T/ans.status"; printf '%s' "$2" >"$T/ans.body"; }
	answer 200 '{}'
	FPORT=$(free_port)
	python3 "$T/fake.py" "$FPORT" "$T" >"$T/fake.log" 2>&1 &
	PIDS="$PIDS $!"
	_i=0
	until curl -s -o /dev/null -d x "http://127.0.0.1:$FPORT/" || [ $_i -ge 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	FAKE=$(conf fake "url = \"http://127.0.0.1:$FPORT\";" \
	    "ca_cert = \"$T/ca.pem\";" 'timeout = 5;')
	answer 501 '<html>Unsupported method</html>'
	t_exit "HTTP 501 in HTML: an error" 1 "$DRIVE" "$FAKE" enrol carol@example.com
	t_contains "with the HTTP status" "$T_OUT" "HTTP 501"
	t_contains "saying it is not cfssl's JSON" "$T_OUT" "not cfssl's JSON"
	t_contains "naming the URL" "$T_OUT" "http://127.0.0.1:$FPORT/api/v1/cfssl/sign"
	answer 500 '{"success":false,"result":null,"errors":[{"code":5000,"message":"database is locked"}]}'
	t_exit "HTTP 500 with cfssl's error: rejected" 3 "$DRIVE" "$FAKE" enrol carol@example.com
	t_contains "with cfssl's message and status" "$T_OUT" \
	    "HTTP 500: cfssl error 5000: database is locked"
	for bad in '[]' '{"success":"yes"}' '{"success":true}' \
	    '{"success":true,"result":{"certificate":5}}' \
	    '{"success":true,"result":{"certificate":"not PEM"}}' \
	    '{"success":false,"errors":[{"code":"x","message":7}]}' \
	    '{"success":false,"errors":"nope"}' '{"success":true,' \
	    '{"success":true,"success":true,"result":{}}'; do
		answer 200 "$bad"
		t_exit "answer $bad: an error" 1 "$DRIVE" "$FAKE" enrol carol@example.com
	done
	answer 200 "{\"success\":true,\"result\":{\"certificate\":\"$(awk '{ printf "%s\\n", $0 }' "$T/bob.pem")\"}}"
	t_exit "a certificate for another key and address: refused by the check" 1 \
	    "$DRIVE" "$FAKE" enrol carol@example.com
	t_contains "the check says why" "$T_OUT" "fails the check"
	head -c 1100000 /dev/zero | tr '\0' ' ' >"$T/ans.body"
	t_exit "an answer over 1 MiB: an error" 1 "$DRIVE" "$FAKE" enrol carol@example.com
	t_contains "saying so" "$T_OUT" "larger than"
	answer 200 '{"success":true,"result":{}}'
	t_ok "a revoke that cfssl confirms" "$DRIVE" "$FAKE" revoke "$T/bob.pem"
	answer 200 '{"success":false,"errors":[]}'
	t_exit "a revoke refused without a message: an error" 1 \
	    "$DRIVE" "$FAKE" revoke "$T/bob.pem"
else
	t_skip "answers of a fake server" "no python3"
fi

# --- https -------------------------------------------------------------------
start_cfssl tls https -tls-cert "$T/tls.pem" -tls-key "$T/tls.key"
TLS=$(conf tls "url = \"https://127.0.0.1:$PORT\";" 'profile = "smime";' \
    "tls_ca_file = \"$T/tls.pem\";" "ca_cert = \"$T/ca.pem\";")
t_ok "over https with ca.cfssl.tls_ca_file" \
    sh -c "'$DRIVE' '$TLS' enrol dave@example.com >'$T/dave.pem'"
BADTLS=$(conf badtls "url = \"https://127.0.0.1:$PORT\";" 'profile = "smime";' \
    "tls_ca_file = \"$T/other.pem\";" "ca_cert = \"$T/ca.pem\";")
t_exit "a server certificate not from tls_ca_file is refused" 1 \
    "$DRIVE" "$BADTLS" enrol dave@example.com
t_contains "naming the URL" "$T_OUT" "https://127.0.0.1:$PORT/api/v1/cfssl/sign"

t_done
