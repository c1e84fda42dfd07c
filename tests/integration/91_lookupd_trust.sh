#!/bin/sh
# smimepub-lookupd serves only what the organisation vouches for (issue 15),
# against a real slapd: an address on two entries (uid=mallory holding
# alice's address and a self-signed certificate naming her) is not found,
# in every format, counted and logged once; a self-signed end-entity
# certificate is never usable; the trust anchors default to the CA
# smimepub-sync issues under (ca.local.dir, ca.<driver>.ca_cert),
# lookup.trust_anchors overrides; no anchors needs
# lookup.insecure_no_anchors and warns; lookupd binds as itself
# (lookup.bind_dn or lookup.anonymous, else exit 2); /metrics only on
# lookup.metrics_listen; HTTPS offers TLS 1.2+ with AEAD ciphers only and
# its key is read like a secret. `smimepub lookup` applies the same rules.
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
SLAPD_DEBUG=${SLAPD_DEBUG:-stats}
slapd_start

certs_ca "$T/ca" "smimepub issuing CA"
certs_ca "$T/other" "another CA"
certs_leaf "$T/ca" "$T/alice" alice@example.com
certs_leaf "$T/ca" "$T/bob" bob@example.com
certs_leaf "$T/other" "$T/carol" carol@example.com
certs_leaf "$T/ca" "$T/dup" dup@example.com
# self-signed end-entity certificates, otherwise fit for S/MIME
selfsigned() {	# OUT MAIL
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" \
	    -days 30 -subj "/CN=$2" -addext "subjectAltName=email:$2" \
	    -addext basicConstraints=critical,CA:FALSE \
	    -addext keyUsage=critical,digitalSignature,keyEncipherment \
	    -addext extendedKeyUsage=emailProtection 2>/dev/null
	openssl x509 -in "$1.pem" -outform DER -out "$1.der"
}
selfsigned "$T/mallory" alice@example.com
selfsigned "$T/selfie" selfie@example.com

cat >"$T/pub.conf" <<EOF
$(slapd_conf_directory)
};
keys = { discard_passphrase = true; };
sync = { state_dir = "$T/state"; };
EOF
t_ok "publish alice" "$SMIMEPUB" -f "$T/pub.conf" publish alice@example.com "$T/alice.pem"
t_ok "publish bob" "$SMIMEPUB" -f "$T/pub.conf" publish bob@example.com "$T/bob.pem"
ldap_root ldapmodify >"$T/mod.log" 2>&1 <<EOF || cat "$T/mod.log" >&2
dn: $(slapd_people_dn carol)
changetype: modify
add: userCertificate;binary
userCertificate;binary:< file://$T/carol.der

dn: $(slapd_people_dn dup1)
changetype: modify
add: userCertificate;binary
userCertificate;binary:< file://$T/dup.der

dn: uid=selfie,$SLAPD_PEOPLE
changetype: add
objectClass: inetOrgPerson
uid: selfie
cn: Self Signed
sn: Signed
mail: selfie@example.com
userCertificate;binary:< file://$T/selfie.der
EOF
t_eq "selfie is in the directory" \
    "$(ldap_root ldapsearch -LLL -b "$SLAPD_PEOPLE" '(uid=selfie)' dn | grep -c '^dn:')" 1

free_port() {
	while :; do
		_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' \n')
		_pp=$((10000 + _r % 22000))
		ss -Htan 2>/dev/null | awk '{ print $4 }' | grep -q ":$_pp\$" || break
	done
	echo "$_pp"
}

# conf NAME [TOP-LEVEL LINES] -- [LOOKUP LINES]: a config in $T/NAME.conf
conf() {
	_n=$1
	shift
	{
		echo "directory = { uri = \"$SLAPD_URI\"; base = \"$SLAPD_PEOPLE\";"
		echo "  bind_dn = \"$SLAPD_SVC_DN\"; bind_password_file = \"$SLAPD_SVC_PW_FILE\"; };"
		echo "keys = { discard_passphrase = true; };"
		while [ "$#" -gt 0 ] && [ "$1" != -- ]; do echo "$1"; shift; done
		[ "$#" -gt 0 ] && shift
		echo "lookup = { listen = \"127.0.0.1:$(free_port)\";"
		echo "  pid_file = \"$T/$_n.pid\"; drain_timeout = 1;"
		echo "  cache_ttl = 0; negative_ttl = 0; rate = 0;"
		for _l in "$@"; do echo "  $_l"; done
		echo "};"
	} >"$T/$_n.conf"
}
RO="bind_dn = \"$SLAPD_LOOKUP_DN\"; bind_password_file = \"$SLAPD_LOOKUP_PW_FILE\";"
LOCAL_CA="ca = { driver = \"local\"; local = { dir = \"$T/ca\"; }; };"

# start NAME SCHEME: start lookupd on $T/NAME.conf (listen appended);
# sets URL (and MURL when metrics_listen is wanted: METRICS=1)
start() {
	_port=$(sed -n 's/^lookup = { listen = "127.0.0.1:\([0-9]*\)";/\1/p' "$T/$1.conf")
	_mport=$(free_port)
	if [ "${METRICS:-0}" = 1 ]; then
		sed -i "s|^lookup = {|lookup = { metrics_listen = \"127.0.0.1:$_mport\";|" "$T/$1.conf"
	fi
	"$LOOKUPD" -f "$T/$1.conf" --foreground >"$T/$1.log" 2>&1 &
	LK_PID=$!
	URL=$2://127.0.0.1:$_port
	MURL=http://127.0.0.1:$_mport
	_i=0
	while [ "$_i" -lt 100 ]; do
		curl -sk -o /dev/null "$URL/healthz" && return 0
		kill -0 "$LK_PID" 2>/dev/null || break
		sleep 0.1
		_i=$((_i + 1))
	done
	echo "smimepub-lookupd did not start:" >&2
	cat "$T/$1.log" >&2
	return 1
}
st() {	# st PATH [curl args]: the status of GET URL/PATH
	_p=$1
	shift
	curl -sk -o "$T/body" -w '%{http_code}' "$@" "$URL$_p" || echo 000
}

# ---- lookupd binds as itself (item 6) -------------------------------------
conf nobind "$LOCAL_CA" --
rc=0
timeout 8 "$LOOKUPD" -f "$T/nobind.conf" --foreground >"$T/nobind.log" 2>&1 || rc=$?
t_eq "no lookup.bind_dn and no lookup.anonymous: exit 2" "$rc" 2
t_contains "it names lookup.bind_dn" "$(cat "$T/nobind.log")" "lookup.bind_dn"
t_contains "it names lookup.anonymous" "$(cat "$T/nobind.log")" "lookup.anonymous"
t_exit "smimepub lookup: the same, exit 2" 2 "$SMIMEPUB" -f "$T/nobind.conf" lookup bob@example.com

# ---- no anchors: refused unless opted out (item 1) -------------------------
conf noanchor -- "$RO"
rc=0
timeout 8 "$LOOKUPD" -f "$T/noanchor.conf" --foreground >"$T/noanchor.log" 2>&1 || rc=$?
t_eq "no trust anchors: exit 2" "$rc" 2
t_contains "it names lookup.trust_anchors" "$(cat "$T/noanchor.log")" "lookup.trust_anchors"
t_contains "it names lookup.insecure_no_anchors" "$(cat "$T/noanchor.log")" "lookup.insecure_no_anchors"
t_exit "smimepub lookup without anchors: exit 2" 2 "$SMIMEPUB" -f "$T/noanchor.conf" lookup bob@example.com

# ---- default anchors: the local CA's certificate; metrics_listen ----------
conf main "$LOCAL_CA" -- "$RO"
svc_binds() { grep -c "BIND dn=\"$SLAPD_SVC_DN\"" "$SLAPD_LOG" || :; }
b0=$(svc_binds)
METRICS=1 start main http
t_eq "alice (issued by the local CA): 200" "$(st /v1/certs/alice@example.com)" 200
t_eq "bob: 200" "$(st /v1/certs/bob@example.com)" 200
t_eq "carol (another CA): 404" "$(st /v1/certs/carol@example.com)" 404
t_eq "selfie (self-signed only): 404" "$(st /v1/certs/selfie@example.com)" 404
t_eq "selfie as DER: 404" "$(st /v1/certs/selfie@example.com -H 'Accept: application/pkix-cert')" 404
t_eq "public listener: GET /metrics is 404" "$(st /metrics)" 404
t_eq "metrics_listen serves /metrics" \
    "$(curl -s -o "$T/metrics" -w '%{http_code}' "$MURL/metrics")" 200
t_contains "with the lookupd metrics" "$(cat "$T/metrics")" 'smimepub_lookupd_requests_total{endpoint="certs",status="200"}'
t_contains "the self-signed one counted as untrusted" "$(cat "$T/metrics")" 'smimepub_lookupd_certificates_rejected_total{reason="untrusted"}'
t_eq "metrics_listen does not serve the API" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$MURL/v1/certs/alice@example.com")" 404

# a second entry claims alice's address with a self-signed certificate
ldap_root ldapadd >"$T/mod.log" 2>&1 <<EOF || cat "$T/mod.log" >&2
dn: uid=mallory,$SLAPD_PEOPLE
objectClass: inetOrgPerson
uid: mallory
cn: Mallory
sn: Mallory
mail: alice@example.com
userCertificate;binary:< file://$T/mallory.der
EOF
t_eq "alice on two entries: 404" "$(st /v1/certs/alice@example.com)" 404
t_eq "as application/pkix-cert: 404" "$(st /v1/certs/alice@example.com -H 'Accept: application/pkix-cert')" 404
t_eq "as application/pkcs7-mime: 404" "$(st /v1/certs/alice@example.com -H 'Accept: application/pkcs7-mime')" 404
t_not_contains "mallory's certificate is not served" "$(cat "$T/body")" "BEGIN"
curl -s -X POST --data-binary '{"recipients":["alice@example.com","bob@example.com"]}' "$URL/v1/lookup" >"$T/batch"
t_contains "batch: alice not found" "$(tr -d '\n' <"$T/batch")" '"mail":"alice@example.com","status":"not_found"'
t_contains "batch: bob found" "$(tr -d '\n' <"$T/batch")" '"mail":"bob@example.com","status":"found"'
t_eq "dup@ (dup1 and dup2, one certificate): 404" "$(st /v1/certs/dup@example.com)" 404
dupm=$(curl -s "$MURL/metrics" | awk 'index($0, "smimepub_lookupd_duplicate_addresses_total ") == 1 { print $2 }')
t_ok "duplicate addresses counted ($dupm)" test "${dupm:-0}" -ge 4
t_eq "logged once per address" "$(grep -c 'alice@example.com: on 2 entries' "$T/main.log")" 1
t_contains "the log names the entries" "$(cat "$T/main.log")" "uid=mallory"
t_exit "smimepub lookup alice (two entries): exit 1" 1 "$SMIMEPUB" -f "$T/main.conf" lookup alice@example.com
t_exit "smimepub lookup selfie: exit 1" 1 "$SMIMEPUB" -f "$T/main.conf" lookup selfie@example.com
t_exit "smimepub lookup carol (another CA): exit 1" 1 "$SMIMEPUB" -f "$T/main.conf" lookup carol@example.com
t_exit "smimepub lookup bob: exit 0" 0 "$SMIMEPUB" -f "$T/main.conf" lookup bob@example.com
t_contains "lookupd bound as its own account" "$(cat "$SLAPD_LOG")" "BIND dn=\"$SLAPD_LOOKUP_DN\""
t_eq "never as smimepub-sync's (whose directory.bind_dn is set)" "$(svc_binds)" "$b0"
stop_lk

# ---- the driver's ca_cert; lookup.trust_anchors overrides ---------------
conf exec "ca = { driver = \"exec\"; exec = { command = \"/bin/false\"; ca_cert = \"$T/other/ca.pem\"; }; };" -- "$RO"
start exec http
t_eq "ca.exec.ca_cert anchors: carol 200" "$(st /v1/certs/carol@example.com)" 200
t_eq "ca.exec.ca_cert anchors: bob 404" "$(st /v1/certs/bob@example.com)" 404
stop_lk
conf over "ca = { driver = \"exec\"; exec = { command = \"/bin/false\"; ca_cert = \"$T/other/ca.pem\"; }; };" -- \
    "$RO" "trust_anchors = \"$T/ca/ca.pem\";"
start over http
t_eq "lookup.trust_anchors overrides: bob 200" "$(st /v1/certs/bob@example.com)" 200
t_eq "lookup.trust_anchors overrides: carol 404" "$(st /v1/certs/carol@example.com)" 404
stop_lk

# ---- the explicit opt-outs: anonymous, no anchors -------------------------
conf open -- "anonymous = true;" "insecure_no_anchors = true;"
start open http
t_contains "no anchors: warned at start" "$(cat "$T/open.log")" "lookup.insecure_no_anchors"
t_eq "no anchors: carol (any CA) 200" "$(st /v1/certs/carol@example.com)" 200
t_eq "no anchors: selfie still 404 (self-signed never)" "$(st /v1/certs/selfie@example.com)" 404
t_eq "anonymous: bob 200" "$(st /v1/certs/bob@example.com)" 200
stop_lk

# ---- HTTPS: TLS 1.2+ with AEAD ciphers only; the key read as a secret ----
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/https.key" -out "$T/https.pem" \
    -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
chmod 0644 "$T/https.key"
conf tls "$LOCAL_CA" -- "$RO" "tls_cert = \"$T/https.pem\";" "tls_key = \"$T/https.key\";"
rc=0
timeout 8 "$LOOKUPD" -f "$T/tls.conf" --foreground >"$T/tls0.log" 2>&1 || rc=$?
t_eq "a TLS key others may read: refused" "$rc" 1
t_contains "naming lookup.tls_key" "$(cat "$T/tls0.log")" "lookup.tls_key"
chmod 0600 "$T/https.key"
start tls https
port=${URL##*:}
sc() {	# sc ARGS: 0 if a TLS handshake with these s_client options succeeds
	echo Q | openssl s_client -connect "127.0.0.1:$port" "$@" >"$T/sc.out" 2>&1
}
t_eq "HTTPS: bob" "$(st /v1/certs/bob@example.com)" 200
t_ok "TLS 1.3" sc -tls1_3
t_ok "TLS 1.2 with AES-GCM" sc -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
t_ok "TLS 1.2 with ChaCha20-Poly1305" sc -tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305
t_fail "TLS 1.2 with a CBC cipher: refused" sc -tls1_2 -cipher 'ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA384:AES128-SHA256:@SECLEVEL=0'
t_fail "TLS 1.1: refused" sc -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
t_fail "TLS 1.0: refused" sc -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
stop_lk

t_done
