#!/bin/sh
# smimepub-lookupd checks revocation of another CA's certificates (issue 21
# item 3) against real peers: an external CA run with `openssl ca`, its CRL
# served over HTTP by python3 -m http.server, and `openssl ocsp -index` as
# its responder. lookupd stops serving a certificate once the CRL
# (lookup.revocation = "crl") or the responder ("ocsp") says revoked, counting
# the reason; with the responder down, lookup.revocation_fail = "soft" serves
# it (counted) and "hard" does not. `smimepub lookup` says the status and
# where it came from (item 4).
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/certs.sh"
. "$SRCDIR/tests/lib/slapd.sh"

T=$(mktemp -d)
LK_PID= HTTP_PID= OCSP_PID= BRIDGE_PID=
stop_pid() {	# stop_pid VAR
	eval "_p=\${$1}"
	if [ -n "$_p" ]; then
		kill -TERM "$_p" 2>/dev/null || :
		wait "$_p" 2>/dev/null || :
	fi
	eval "$1="
}
slapd_cleanup_add 'stop_pid LK_PID; stop_pid HTTP_PID; stop_pid OCSP_PID; stop_pid BRIDGE_PID; rm -rf "$T"'
slapd_start

free_port() {
	while :; do
		_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' \n')
		_pp=$((10000 + _r % 22000))
		ss -Htan 2>/dev/null | awk '{ print $4 }' | grep -q ":$_pp\$" || break
	done
	echo "$_pp"
}
wait_port() {	# wait_port PORT: until something listens on it
	_i=0
	while [ "$_i" -lt 100 ]; do
		ss -Htln 2>/dev/null | awk '{ print $4 }' | grep -q ":$1\$" && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}
HPORT=$(free_port)
# openssl ca reads $ENV::MAIL of every section, also to revoke and for CRLs
MAIL=nobody@example.com
export MAIL
OPORT=$(free_port)

# ---- the external CA, with openssl ca ---------------------------------------
E=$T/ext
certs_ca "$E" "External CA"
mkdir -p "$E/new" "$T/www"
: >"$E/index.txt"
echo 01 >"$E/crlnumber"
cat >"$E/ca.cnf" <<EOF
[ ca ]
default_ca = ext
[ ext ]
dir = $E
database = \$dir/index.txt
new_certs_dir = \$dir/new
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
crlnumber = \$dir/crlnumber
default_md = sha256
default_days = 30
default_crl_days = 1
policy = any
unique_subject = no
rand_serial = yes
[ any ]
commonName = supplied
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:\$ENV::MAIL
[ with_crl ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:\$ENV::MAIL
crlDistributionPoints = URI:http://127.0.0.1:$HPORT/ext.crl
[ with_ocsp ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:\$ENV::MAIL
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$OPORT/
EOF
issue() {	# issue NAME EXTENSIONS: $T/NAME.pem for NAME@example.com, published
	openssl req -new -newkey rsa:2048 -nodes -keyout "$T/$1.key" -subj "/CN=$1@example.com" \
	    -out "$T/$1.csr" 2>/dev/null
	MAIL=$1@example.com openssl ca -batch -notext -config "$E/ca.cnf" -extensions "$2" \
	    -in "$T/$1.csr" -out "$T/$1.pem" 2>"$T/ca.log" || cat "$T/ca.log" >&2
	openssl x509 -in "$T/$1.pem" -outform DER -out "$T/$1.der"
	ldap_root ldapmodify >"$T/mod.log" 2>&1 <<EOF || cat "$T/mod.log" >&2
dn: $(slapd_people_dn "$1")
changetype: modify
add: userCertificate;binary
userCertificate;binary:< file://$T/$1.der
EOF
}
gencrl() {	# gencrl [openssl ca args]: the CRL the web server hands out
	openssl ca -config "$E/ca.cnf" -gencrl "$@" -out "$T/crl.pem" 2>"$T/ca.log" || cat "$T/ca.log" >&2
	openssl crl -in "$T/crl.pem" -outform DER -out "$T/www/ext.crl.new"
	mv "$T/www/ext.crl.new" "$T/www/ext.crl"
}
issue alice with_crl
issue bob with_ocsp
issue carol with_ocsp
gencrl

(cd "$T/www" && exec python3 -m http.server --bind 127.0.0.1 "$HPORT" >"$T/http.log" 2>&1) &
HTTP_PID=$!
# openssl ocsp -port takes a port only and listens on every address: it runs
# in a network namespace of its own (every address there is loopback), and
# tests/lib/netns_bridge.py forwards 127.0.0.1:OPORT here to it
unshare --net sh -c 'ip link set lo up && exec "$@"' ocspd \
    openssl ocsp -index "$E/index.txt" -port 8080 -ignore_err -rsigner "$E/ca.pem" \
    -rkey "$E/ca.key" -CA "$E/ca.pem" >"$T/ocspd.log" 2>&1 &
OCSP_PID=$!
_i=0	# until unshare has made the namespace
while [ "$(readlink /proc/$OCSP_PID/ns/net)" = "$(readlink /proc/self/ns/net)" ] && [ "$_i" -lt 100 ]; do
	sleep 0.05
	_i=$((_i + 1))
done
python3 "$SRCDIR/tests/lib/netns_bridge.py" "$OPORT" "$OCSP_PID" 8080 2>"$T/bridge.log" &
BRIDGE_PID=$!
ns_listens() {	# ns_listens: openssl ocsp listens in its namespace
	_i=0
	while [ "$_i" -lt 100 ]; do
		nsenter -t "$OCSP_PID" -n ss -Htln 2>/dev/null | awk '{ print $4 }' | grep -q ':8080$' && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}
t_ok "the static web server listens" wait_port "$HPORT"
t_ok "openssl ocsp listens, in a network namespace of its own" ns_listens
t_ok "the bridge to it listens on 127.0.0.1" wait_port "$OPORT"
t_eq "nothing of this test listens on a wildcard address" "$(ss -Htlnp 2>/dev/null | awk '$4 ~ /^(0\.0\.0\.0|\*|\[::\]):/' | grep -c "pid=$OCSP_PID," || true)" 0

# conf NAME LOOKUP-LINES...: a lookupd configuration in $T/NAME.conf
conf() {
	_n=$1
	shift
	PORT=$(free_port)
	MPORT=$(free_port)
	{
		echo "directory = { uri = \"$SLAPD_URI\"; base = \"$SLAPD_PEOPLE\";"
		echo "  bind_dn = \"$SLAPD_SVC_DN\"; bind_password_file = \"$SLAPD_SVC_PW_FILE\"; };"
		echo "keys = { discard_passphrase = true; };"
		echo "lookup = { listen = \"127.0.0.1:$PORT\"; metrics_listen = \"127.0.0.1:$MPORT\";"
		echo "  pid_file = \"$T/$_n.pid\"; drain_timeout = 1; rate = 0;"
		echo "  cache_ttl = 0; negative_ttl = 0; trust_anchors = \"$E/ca.pem\";"
		echo "  bind_dn = \"$SLAPD_LOOKUP_DN\"; bind_password_file = \"$SLAPD_LOOKUP_PW_FILE\";"
		for _l in "$@"; do echo "  $_l"; done
		echo "};"
	} >"$T/$_n.conf"
}
start() {	# start NAME
	stop_pid LK_PID
	"$LOOKUPD" -f "$T/$1.conf" --foreground >"$T/$1.log" 2>&1 &
	LK_PID=$!
	URL=http://127.0.0.1:$PORT
	MURL=http://127.0.0.1:$MPORT
	_i=0
	while [ "$_i" -lt 100 ] && ! curl -s -o /dev/null "$URL/healthz"; do
		sleep 0.1
		_i=$((_i + 1))
	done
}
st() {	# st MAIL: the status of GET /v1/certs/MAIL
	curl -s -o /dev/null -w '%{http_code}' "$URL/v1/certs/$1" || echo 000
}
poll() {	# poll MAIL STATUS: until GET answers STATUS (at most ~30 s)
	_i=0
	while [ "$_i" -lt 60 ]; do
		[ "$(st "$1")" = "$2" ] && return 0
		sleep 0.5
		_i=$((_i + 1))
	done
	return 1
}
metric() {	# metric LINE-PREFIX: its value
	curl -s "$MURL/metrics" | awk -v k="$1" 'index($0, k " ") == 1 { print $2 }'
}

# ---- files (the default) fetches nothing -----------------------------------
conf files
start files
t_eq "revocation files: alice served" "$(st alice@example.com)" 200
t_eq "nothing fetched from the distribution point" "$(grep -c 'GET /ext.crl' "$T/http.log" || :)" 0

# ---- the CRL at the distribution point --------------------------------------
conf crl 'revocation = "crl";'
start crl
t_eq "revocation crl: alice served" "$(st alice@example.com)" 200
t_ne "the CRL was fetched from the distribution point" "$(grep -c 'GET /ext.crl' "$T/http.log" || :)" 0
t_ok "smimepub lookup alice" "$SMIMEPUB" -f "$T/crl.conf" lookup alice@example.com
t_contains "smimepub lookup says good, from the CRL" "$T_OUT" "revocation: good (crl http://127.0.0.1:$HPORT/ext.crl)"
openssl ca -config "$E/ca.cnf" -revoke "$T/alice.pem" -crl_reason keyCompromise 2>"$T/ca.log" || cat "$T/ca.log" >&2
gencrl
t_eq "alice still served: lookupd keeps the CRL it has until its nextUpdate" "$(st alice@example.com)" 200
start crl	# a fresh lookupd fetches the new CRL
t_ok "once the CRL says revoked, alice is no longer served" poll alice@example.com 404
t_eq "counted by reason" "$(metric 'smimepub_lookupd_revoked_total{reason="keyCompromise"}')" 1
t_ne "and as rejected: revoked" "$(metric 'smimepub_lookupd_certificates_rejected_total{reason="revoked"}')" 0
t_exit "smimepub lookup alice: 1" 1 "$SMIMEPUB" -f "$T/crl.conf" lookup alice@example.com
t_ok "smimepub show alice" "$SMIMEPUB" -f "$T/crl.conf" show alice@example.com
t_contains "show says revoked, why and from which CRL" "$T_OUT" \
    "revocation: revoked: keyCompromise at "
t_contains "... the CRL" "$T_OUT" "(crl http://127.0.0.1:$HPORT/ext.crl)"

# ---- OCSP via the AIA --------------------------------------------------------
conf ocsp 'revocation = "ocsp";'
start ocsp
t_eq "revocation ocsp: bob served" "$(st bob@example.com)" 200
t_ok "smimepub lookup bob" "$SMIMEPUB" -f "$T/ocsp.conf" lookup bob@example.com
t_contains "smimepub lookup says good, from the responder" "$T_OUT" "revocation: good (ocsp http://127.0.0.1:$OPORT/)"
t_ne "the responder answered good" "$(metric 'smimepub_lookupd_revocation_checks_total{source="ocsp",result="good"}')" 0
openssl ca -config "$E/ca.cnf" -revoke "$T/bob.pem" -crl_reason affiliationChanged 2>"$T/ca.log" || cat "$T/ca.log" >&2
t_ok "once the responder says revoked, bob is no longer served" poll bob@example.com 404
t_eq "counted by reason" "$(metric 'smimepub_lookupd_revoked_total{reason="affiliationChanged"}')" 1
t_eq "alice (CRL only) is not asked by OCSP: no URL, served" "$(st alice@example.com)" 200

# ---- the responder down: soft and hard fail ---------------------------------
stop_pid OCSP_PID
conf soft 'revocation = "ocsp"; revocation_fail = "soft"; revocation_timeout = 2;'
start soft
t_eq "responder down, soft-fail: carol served" "$(st carol@example.com)" 200
t_ne "counted as served without an answer" "$(metric smimepub_lookupd_revocation_soft_fail_total)" 0
t_ok "smimepub lookup carol (soft)" "$SMIMEPUB" -f "$T/soft.conf" lookup carol@example.com
t_contains "it says why" "$T_OUT" "revocation: unknown (ocsp http://127.0.0.1:$OPORT/"
conf hard 'revocation = "ocsp"; revocation_fail = "hard"; revocation_timeout = 2;'
start hard
t_eq "responder down, hard-fail: carol not served" "$(st carol@example.com)" 404
t_ne "rejected: revocation_unknown" "$(metric 'smimepub_lookupd_certificates_rejected_total{reason="revocation_unknown"}')" 0
stop_pid LK_PID
t_done
