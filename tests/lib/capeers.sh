# capeers.sh -- test certificate authorities for the CA drivers, each on
# 127.0.0.1 only, each writing the smimepub configuration fragment that
# points its driver at it. POSIX sh, safe under `set -eu`. Needs SRCDIR and
# BUILD (the test helpers cmp_server and est_server come from
# $SRCDIR/$BUILD/tests/). Source tests/lib/slapd.sh first: every peer that
# runs a process registers its kill with slapd_cleanup_add, so call these
# after slapd_start (its EXIT trap runs the cleanup).
#
#   peer_local DIR            the embedded CA: no process; `smimepub ca init`
#                             creates DIR/ca (the caller runs it)
#   peer_cfssl DIR            a real `cfssl serve` (golang-cfssl) with an RSA
#                             test CA, S/MIME profiles and a sqlite certdb
#                             for revocation
#   peer_cmp DIR [MODE]       tests/helpers/cmp_server (OSSL_CMP_SRV_CTX, MAC
#                             protection); MODE ok (default) | reject |
#                             otherkey | garbage | http500
#   peer_est DIR [MODE]       tests/helpers/est_server (HTTPS, HTTP Basic);
#                             MODE ok (default) | reject | otherkey |
#                             garbage | error (HTTP 500) | pending
#   peer_exec DIR [MODE]      a certmonger-style helper script that signs
#                             the CSR with a test CA through
#                             `openssl x509 -req` and an extfile (SAN email
#                             from SMIMEPUB_MAIL, EKU emailProtection,
#                             keyUsage per key type); MODE ok (default) |
#                             othermail (a certificate for another address)
#                             | noeku (clientAuth instead of emailProtection)
#                             | expired | long (900 days) | otherca (signed
#                             by a CA that is not ca.exec.ca_cert) |
#                             otherkey | garbage | reject (exit 1) | hang
#                             (sleeps; ca.exec.timeout = 2) | catrue
#                             (CA:TRUE, keyCertSign, serverAuth beside
#                             emailProtection) | dnssan (a DNS name beside
#                             the address) | subjmail (subject emailAddress
#                             mallory@example.com) | clientauth (clientAuth
#                             beside emailProtection)
#
# Each call creates DIR (one peer per DIR) and sets:
#   PEER_CONF   DIR/ca.conf, a `ca = { driver = ...; ... };` block to paste
#               into a smimepub.conf (cfssl: the profile for EC keys, with
#               keyAgreement; DIR/ca.rsa.conf the one for RSA keys, with
#               keyEncipherment, since a cfssl profile fixes the key usage)
#   PEER_CA     the PEM of the CA its certificates chain to
#   PEER_PID    the process (cfssl, cmp, est), empty for local and exec
#   PEER_PORT   its 127.0.0.1 port (cfssl, cmp, est)
# peer_stop DIR stops a peer before the exit (then, e.g., check its log for
# sanitizer reports); the exit cleanup stops the others.
# Logs: DIR/peer.log. cmp and exec append each revoked serial (hex) to
# DIR/revoked; cfssl records revocations in its certdb DIR/certs.db.

PEER_CONF=
PEER_CA=
PEER_PID=
PEER_PORT=

_peer_err() {
	printf 'capeers.sh: %s\n' "$*" >&2
}

_PEER_STOPPED=" "

# _peer_stop PID: TERM it, give it 5 s, then KILL; reap it. Once reaped a
# PID may be reused, so a PID is stopped at most once.
_peer_stop() {
	case $_PEER_STOPPED in *" $1 "*) return 0 ;; esac
	_PEER_STOPPED="$_PEER_STOPPED$1 "
	kill -TERM "$1" 2>/dev/null || { wait "$1" 2>/dev/null || :; return 0; }
	_ps_i=0
	while kill -0 "$1" 2>/dev/null && [ "$_ps_i" -lt 50 ]; do
		sleep 0.1
		_ps_i=$((_ps_i + 1))
	done
	kill -KILL "$1" 2>/dev/null || :
	wait "$1" 2>/dev/null || :
}

# peer_stop DIR: stop the peer started in DIR now (e.g. to read its log
# whole); the cleanup at exit skips it then. Call it in the test's shell,
# not in a subshell.
peer_stop() {
	[ -s "$1/peer.pid" ] && _peer_stop "$(cat "$1/peer.pid")"
	return 0
}

# _peer_started DIR PID: remember PID and register its cleanup.
_peer_started() {
	PEER_PID=$2
	echo "$2" >"$1/peer.pid"
	slapd_cleanup_add "_peer_stop $2"
}

# _peer_wait_port DIR PORTFILE PID: wait (10 s) until PORTFILE is written.
_peer_wait_port() {
	_pw_i=0
	while [ ! -s "$2" ]; do
		if ! kill -0 "$3" 2>/dev/null || [ "$_pw_i" -ge 100 ]; then
			_peer_err "$(basename "$1"): the peer did not start; its log:"
			cat "$1/peer.log" >&2
			return 1
		fi
		sleep 0.1
		_pw_i=$((_pw_i + 1))
	done
	PEER_PORT=$(cat "$2")
}

# _peer_free_port: a TCP port nothing listens on (10000-31999).
_peer_free_port() {
	while :; do
		_fp_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' \n')
		_fp_p=$((10000 + _fp_r % 22000))
		ss -Htln 2>/dev/null | awk '{ print $4 }' | grep -q ":$_fp_p\$" ||
		    break
	done
	echo "$_fp_p"
}

# _peer_ca DIR NAME [ec|rsa]: a self-signed CA, DIR/ca.key and DIR/ca.pem.
_peer_ca() {
	case ${3:-ec} in
	rsa) _pc_k='-newkey rsa:2048' ;;
	*) _pc_k='-newkey ec -pkeyopt ec_paramgen_curve:P-256' ;;
	esac
	# shellcheck disable=SC2086
	( umask 077 && openssl req -x509 $_pc_k -nodes -keyout "$1/ca.key" \
	    -out "$1/ca.pem" -days 30 -subj "/CN=$2" \
	    -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null ) || {
		_peer_err "cannot make the CA $2 in $1"
		return 1
	}
}

_peer_fresh() {
	mkdir -p "$1"
	: >"$1/peer.log"
	PEER_CONF=$1/ca.conf
	PEER_CA=$1/ca.pem
	PEER_PID=
	PEER_PORT=
}

peer_local() {
	_peer_fresh "$1"
	PEER_CA=$1/ca/ca.pem
	cat >"$PEER_CONF" <<EOC
ca = { driver = "local"; local = { dir = "$1/ca"; key_type = "ec:P-256"; validity_days = 30; }; };
EOC
}

# cfssl_certdb DIR: DIR/certs.db with the tables of cfssl's
# certdb/sqlite/migrations/001 (no package ships them) and DIR/db.json
# pointing `cfssl serve -db-config` at it.
cfssl_certdb() {
	sqlite3 "$1/certs.db" <<'EOF' || return 1
CREATE TABLE certificates (
  serial_number            blob NOT NULL,
  authority_key_identifier blob NOT NULL,
  ca_label                 blob,
  status                   blob NOT NULL,
  reason                   int,
  expiry                   timestamp,
  revoked_at               timestamp,
  pem                      blob NOT NULL,
  PRIMARY KEY(serial_number, authority_key_identifier)
);
CREATE TABLE ocsp_responses (
  serial_number            blob NOT NULL,
  authority_key_identifier blob NOT NULL,
  body                     blob NOT NULL,
  expiry                   timestamp,
  PRIMARY KEY(serial_number, authority_key_identifier),
  FOREIGN KEY(serial_number, authority_key_identifier)
    REFERENCES certificates(serial_number, authority_key_identifier)
);
EOF
	printf '{"driver": "sqlite3", "data_source": "%s"}\n' "$1/certs.db" \
	    >"$1/db.json"
}

peer_cfssl() {
	_peer_fresh "$1"
	_d=$1
	_peer_ca "$_d" "smimepub cfssl test CA" rsa || return 1
	_u='"usages": ["digital signature", "key encipherment", "email protection"]'
	cat >"$_d/cfssl.json" <<EOF
{
  "signing": {
    "default": { "expiry": "8760h", $_u },
    "profiles": {
      "smime": { "expiry": "8760h", $_u },
      "smime-ec": { "expiry": "8760h",
        "usages": ["digital signature", "key agreement", "email protection"] }
    }
  }
}
EOF
	cfssl_certdb "$_d" || return 1
	for _try in 1 2 3 4 5; do
		_port=$(_peer_free_port)
		cfssl serve -address 127.0.0.1 -port "$_port" -ca "$_d/ca.pem" \
		    -ca-key "$_d/ca.key" -config "$_d/cfssl.json" \
		    -db-config "$_d/db.json" >"$_d/peer.log" 2>&1 &
		_pid=$!
		_i=0
		while [ "$_i" -lt 100 ] && kill -0 "$_pid" 2>/dev/null; do
			if curl -s -o /dev/null -d '{}' \
			    "http://127.0.0.1:$_port/api/v1/cfssl/info"; then
				_peer_started "$_d" "$_pid"
				PEER_PORT=$_port
				for _p in smime-ec smime; do
					_f=$_d/ca.conf
					[ "$_p" = smime ] && _f=$_d/ca.rsa.conf
					cat >"$_f" <<EOC
ca = { driver = "cfssl"; cfssl = { url = "http://127.0.0.1:$_port"; profile = "$_p"; ca_cert = "$_d/ca.pem"; timeout = 10; }; };
EOC
				done
				return 0
			fi
			sleep 0.1
			_i=$((_i + 1))
		done
		_peer_stop "$_pid"
	done
	_peer_err "cfssl serve did not start; its log:"
	cat "$_d/peer.log" >&2
	return 1
}

peer_cmp() {
	_peer_fresh "$1"
	_d=$1
	_peer_ca "$_d" "smimepub CMP test CA" || return 1
	( umask 077 && printf 'correct horse battery staple\n' >"$_d/secret" )
	rm -f "$_d/port"
	"$SRCDIR/$BUILD/tests/cmp_server" -c "$_d/ca.pem" -k "$_d/ca.key" \
	    -o "$_d/port" -R "$_d/revoked" -r smimepub -s "$_d/secret" \
	    -m "${2:-ok}" 2>"$_d/peer.log" &
	_peer_started "$_d" $!
	_peer_wait_port "$_d" "$_d/port" "$PEER_PID" || return 1
	cat >"$PEER_CONF" <<EOC
ca = { driver = "cmp"; cmp = { url = "http://127.0.0.1:$PEER_PORT/pkix/"; reference = "smimepub"; secret_file = "$_d/secret"; ca_cert = "$_d/ca.pem"; timeout = 5; }; };
EOC
}

peer_est() {
	_peer_fresh "$1"
	_d=$1
	_peer_ca "$_d" "smimepub EST test CA" || return 1
	mkdir -p "$_d/tls"
	_peer_ca "$_d/tls" "smimepub EST TLS CA" || return 1
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' \
	    >"$_d/tls/server.ext"
	( umask 077 && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout "$_d/tls/server.key" -out "$_d/tls/server.csr" \
	    -subj /CN=127.0.0.1 2>/dev/null ) &&
	openssl x509 -req -in "$_d/tls/server.csr" -CA "$_d/tls/ca.pem" \
	    -CAkey "$_d/tls/ca.key" -CAcreateserial -days 30 -sha256 \
	    -extfile "$_d/tls/server.ext" -out "$_d/tls/server.pem" 2>/dev/null || {
		_peer_err "cannot make the EST TLS certificate"
		return 1
	}
	( umask 077 && printf 's3cret pass\n' >"$_d/password" )
	rm -f "$_d/port"
	"$SRCDIR/$BUILD/tests/est_server" -P "$_d/port" -c "$_d/tls/server.pem" \
	    -k "$_d/tls/server.key" -C "$_d/ca.pem" -K "$_d/ca.key" \
	    -u estuser -w 's3cret pass' -m "${2:-ok}" 2>"$_d/peer.log" &
	_peer_started "$_d" $!
	_peer_wait_port "$_d" "$_d/port" "$PEER_PID" || return 1
	cat >"$PEER_CONF" <<EOC
ca = { driver = "est"; est = { url = "https://127.0.0.1:$PEER_PORT/.well-known/est"; tls_ca_file = "$_d/tls/ca.pem"; user = "estuser"; password_file = "$_d/password"; ca_cert = "$_d/ca.pem"; timeout = 5; }; };
EOC
}

# The exec helper: $1 the mode; the CSR PEM on stdin; SMIMEPUB_OPERATION,
# SMIMEPUB_MAIL in the environment (ca/exec.c). Everything it writes stays
# in its own directory; it never sees a private key but the test CA's.
_peer_exec_helper() {
	cat <<'EOS'
#!/bin/sh
# exec CA helper for the tests (tests/lib/capeers.sh): signs the CSR on
# stdin with the test CA next to this script; $1 says how to misbehave.
set -u
D=$(cd "$(dirname "$0")" && pwd)
MODE=${1:-ok}
W=$(mktemp -d "$D/work/req.XXXXXX") || exit 3
trap 'rm -rf "$W"' EXIT
cat >"$W/in.pem"
echo "$(date -u +%FT%TZ) ${SMIMEPUB_OPERATION:-?} ${SMIMEPUB_MAIL:-${SMIMEPUB_POLL_ID:-?}} $MODE" >>"$D/peer.log"
case ${SMIMEPUB_OPERATION:-enrol} in
revoke)
	openssl x509 -in "$W/in.pem" -noout -serial | cut -d= -f2 >>"$D/revoked" || exit 3
	exit 0 ;;
enrol) ;;
poll)
	# pending mode: the request kept at enrol time is signed now
	case ${SMIMEPUB_POLL_ID:-} in *[!0-9a-f]*|'') echo "bad poll id" >&2; exit 3 ;; esac
	[ -s "$D/pending/$SMIMEPUB_POLL_ID.csr" ] || { echo "unknown poll id $SMIMEPUB_POLL_ID" >&2; exit 3; }
	cp "$D/pending/$SMIMEPUB_POLL_ID.csr" "$W/in.pem"
	SMIMEPUB_MAIL=$(cat "$D/pending/$SMIMEPUB_POLL_ID.mail")	# a poll names only the id
	SMIMEPUB_ADDRESSES=$(cat "$D/pending/$SMIMEPUB_POLL_ID.addrs" 2>/dev/null || true)
	MODE=ok ;;
*) echo "operation ${SMIMEPUB_OPERATION} is not supported" >&2; exit 3 ;;
esac
case $MODE in
pending)
	mkdir -p "$D/pending"
	id=$(openssl rand -hex 8)
	cp "$W/in.pem" "$D/pending/$id.csr"
	echo "$SMIMEPUB_MAIL" >"$D/pending/$id.mail"
	echo "${SMIMEPUB_ADDRESSES:-}" >"$D/pending/$id.addrs"
	printf '%s\n5\n' "$id"	# poll id; poll again after 5 s
	exit 2 ;;
hang) echo $$ >"$D/hang.pid"; exec sleep 600 ;;
reject) echo "test CA policy: no certificates for ${SMIMEPUB_MAIL}" >&2; exit 1 ;;
garbage) printf 'MIIB\001\377 garbage, not a certificate\n'; exit 0 ;;
esac
CSR=$W/in.pem
[ "$MODE" = otherkey ] && CSR=$D/otherkey.csr
if openssl req -in "$CSR" -noout -text 2>/dev/null | grep -q id-ecPublicKey; then
	KU=digitalSignature,keyAgreement
else
	KU=digitalSignature,keyEncipherment
fi
MAIL=$SMIMEPUB_MAIL EKU=emailProtection DAYS=365 CA=$D BC=CA:FALSE SAN=
# every address smimepub asks for (mail, then the aliases), as a CA would
for _a in ${SMIMEPUB_ADDRESSES:-}; do
	[ "$_a" = "$MAIL" ] || SAN="$SAN,email:$_a"
done
SUBJ=
case $MODE in
othermail) MAIL=mallory@example.com SAN= ;;
noeku) EKU=clientAuth ;;
long) DAYS=900 ;;
otherca) CA=$D/other ;;
catrue) BC=CA:TRUE KU=$KU,keyCertSign EKU=emailProtection,serverAuth ;;
dnssan) SAN=,DNS:mail.example.com ;;
subjmail) SUBJ="-subj /CN=Alice/emailAddress=mallory@example.com" ;;
clientauth) EKU=emailProtection,clientAuth ;;
esac
{
	echo "basicConstraints = critical,$BC"
	echo "keyUsage = critical,$KU"
	echo "extendedKeyUsage = $EKU"
	echo "subjectAltName = email:$MAIL$SAN"
	echo 'subjectKeyIdentifier = hash'
	echo 'authorityKeyIdentifier = keyid'
} >"$W/ext"
if [ "$MODE" = expired ]; then
	# openssl x509 -req cannot back-date (OpenSSL 3.0); openssl ca can
	: >"$W/index.txt"
	echo 01 >"$W/serial"
	printf '[ca]\ndefault_ca = c\n[c]\ndatabase = %s/index.txt\nnew_certs_dir = %s\nserial = %s/serial\nunique_subject = no\npolicy = p\ndefault_md = sha256\n[p]\ncommonName = optional\n' \
	    "$W" "$W" "$W" >"$W/ca.cnf"
	openssl ca -batch -config "$W/ca.cnf" -extfile "$W/ext" -notext \
	    -rand_serial -preserveDN -cert "$CA/ca.pem" -keyfile "$CA/ca.key" \
	    -in "$CSR" -startdate "$(date -u -d '-10 days' +%Y%m%d%H%M%SZ)" \
	    -enddate "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" \
	    -out "$W/leaf.pem" >"$W/err" 2>&1 || { cat "$W/err" >&2; exit 3; }
else
	openssl x509 -req -in "$CSR" -CA "$CA/ca.pem" -CAkey "$CA/ca.key" \
	    $SUBJ \
	    -set_serial "0x$(openssl rand -hex 16)" -days "$DAYS" -sha256 \
	    -extfile "$W/ext" -out "$W/leaf.pem" 2>"$W/err" || { cat "$W/err" >&2; exit 3; }
fi
openssl x509 -in "$W/leaf.pem"
cat "$CA/ca.pem"
EOS
}

peer_exec() {
	_peer_fresh "$1"
	_d=$(cd "$1" && pwd)
	_m=${2:-ok}
	PEER_CONF=$_d/ca.conf
	PEER_CA=$_d/ca.pem
	_peer_ca "$_d" "smimepub exec test CA" || return 1
	mkdir -p "$_d/work" "$_d/other"
	case $_m in
	otherca) _peer_ca "$_d/other" "smimepub exec test CA" || return 1 ;;
	otherkey)
		( umask 077 && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout "$_d/otherkey.key" -out "$_d/otherkey.csr" \
		    -subj /CN=other 2>/dev/null ) || return 1 ;;
	esac
	_peer_exec_helper >"$_d/helper"
	printf '#!/bin/sh\nexec "%s/helper" %s\n' "$_d" "$_m" >"$_d/helper-$_m"
	chmod 0755 "$_d/helper" "$_d/helper-$_m"
	_t=10
	[ "$_m" = hang ] && _t=2
	cat >"$PEER_CONF" <<EOC
ca = { driver = "exec"; exec = { command = "$_d/helper-$_m"; ca_cert = "$_d/ca.pem"; timeout = $_t; }; };
EOC
}

# peer_cfssl_restart DIR: start the cfssl peer of DIR again after
# peer_stop DIR, on the same port with the same CA, profiles and certdb
# (a CA outage and its end); waits (10 s) until it answers. Sets PEER_PID.
peer_cfssl_restart() {
	_d=$1
	_port=$(sed -n 's|.*url = "http://127.0.0.1:\([0-9]*\)".*|\1|p' "$_d/ca.conf")
	[ -n "$_port" ] || { _peer_err "$_d/ca.conf names no port"; return 1; }
	cfssl serve -address 127.0.0.1 -port "$_port" -ca "$_d/ca.pem" \
	    -ca-key "$_d/ca.key" -config "$_d/cfssl.json" \
	    -db-config "$_d/db.json" >>"$_d/peer.log" 2>&1 &
	_pid=$!
	_i=0
	while [ "$_i" -lt 100 ] && kill -0 "$_pid" 2>/dev/null; do
		if curl -s -o /dev/null -d '{}' \
		    "http://127.0.0.1:$_port/api/v1/cfssl/info"; then
			_peer_started "$_d" "$_pid"
			PEER_PORT=$_port
			return 0
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
	_peer_stop "$_pid"
	_peer_err "cfssl serve did not start again on port $_port; its log:"
	tail -n 20 "$_d/peer.log" >&2
	return 1
}
