#!/bin/sh
# smimepub-lookupd's HTTP as RFC 9110 says, against a real slapd (issue 17
# items 3 and 4): Accept with q-values and wildcards (q=0 excludes, 406 only
# when nothing is acceptable), application/pem-certificate-chain (RFC 8555
# 9.1), a strong ETag and 304 on If-None-Match, Cache-Control max-age and
# Vary: Accept, Allow on 405, Retry-After on 503; lookup.trusted_proxies:
# Forwarded / X-Forwarded-For believed only from those peers, for the rate
# limit and the logs; addresses matched without regard to case (lookupd,
# smimepub show, lookup, status); a Unicode domain looked up as its
# IDNA2008 A-label, a non-ASCII local part refused. Then every path and
# status of docs/openapi.yaml against the running daemon, each JSON answer
# validated against the schema there (tests/openapi_check.py).
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/certs.sh"
. "$SRCDIR/tests/lib/slapd.sh"

T=$(mktemp -d)
LK_PIDS=
stop_all() {
	for _p in $LK_PIDS; do kill -TERM "$_p" 2>/dev/null || :; done
	for _p in $LK_PIDS; do wait "$_p" 2>/dev/null || :; done
	LK_PIDS=
}
slapd_cleanup_add 'stop_all; rm -rf "$T"'
slapd_start

# ---- people and certificates ---------------------------------------------
certs_ca "$T/ca" "http test CA"
certs_leaf "$T/ca" "$T/alice" alice@example.com
certs_leaf "$T/ca" "$T/bob" bob@example.com "" ec
IDN=xn--bcher-kva.example	# bücher.example
certs_leaf "$T/ca" "$T/jurgen" "jurgen@$IDN"
cat >"$T/pub.conf" <<CONF
$(slapd_conf_directory)
};
keys = { discard_passphrase = true; };
sync = { state_dir = "$T/state"; };
CONF
cat >"$T/jurgen.ldif" <<LDIF
dn: uid=jurgen,$SLAPD_PEOPLE
objectClass: inetOrgPerson
uid: jurgen
cn: Jurgen Bucher
sn: Bucher
mail: jurgen@$IDN
LDIF
t_ok "add jurgen@$IDN" ldap_root ldapadd -f "$T/jurgen.ldif"
t_ok "publish alice" "$SMIMEPUB" -f "$T/pub.conf" publish alice@example.com "$T/alice.pem"
t_ok "publish bob" "$SMIMEPUB" -f "$T/pub.conf" publish bob@example.com "$T/bob.pem"
t_ok "publish jurgen" "$SMIMEPUB" -f "$T/pub.conf" publish "jurgen@$IDN" "$T/jurgen.pem"

# ---- addresses without regard to case, in the CLI ------------------------
t_ok "show Alice@Example.com" "$SMIMEPUB" -f "$T/pub.conf" show Alice@Example.com
t_contains "show Alice@Example.com: alice's certificate is usable" "$T_OUT" "usable: yes"
t_not_contains "show Alice@Example.com: not 'usable: no'" "$T_OUT" "usable: no"
# carol enrolled with the local CA (EC keys: quick), so the journal holds
# her by her address; status finds her however it is written
cat >"$T/enrol.conf" <<CONF
$(slapd_conf_directory)
};
ca = { driver = "local"; local = { dir = "$T/lca"; key_type = "ec:P-256";
  crl_url = "http://127.0.0.1/crl/smimepub.crl"; ocsp_url = "http://127.0.0.1/ocsp"; }; };
keys = { type = "ec:P-256"; discard_passphrase = true; delivery_dir = "$T/dlv"; };
sync = { state_dir = "$T/estate"; };
CONF
t_ok "local CA" "$SMIMEPUB" -f "$T/enrol.conf" ca init
t_ok "enrol carol" "$SMIMEPUB" -f "$T/enrol.conf" enrol carol@example.com
ldap_root ldapsearch -LLL -o ldif-wrap=no -tt -T "$T" -b "$(slapd_people_dn carol)" -s base \
    '(objectClass=*)' 'userCertificate;binary' >"$T/carol.ldif"
openssl x509 -inform DER -in "$(sed -n 's|^[^:]*:< file://||p' "$T/carol.ldif" | head -n 1)" \
    -out "$T/carol.pem"
t_ok "an OCSP request for carol's certificate" openssl ocsp -issuer "$T/lca/ca.pem" \
    -cert "$T/carol.pem" -no_nonce -reqout "$T/ocsp.req"
t_ok "status carol@example.com" "$SMIMEPUB" -f "$T/enrol.conf" status carol@example.com
st=$T_OUT
t_contains "... her enrolment" "$st" PUBLISHED
t_ok "status CAROL@Example.com: found too" "$SMIMEPUB" -f "$T/enrol.conf" status CAROL@Example.com
t_eq "... the same history" "$T_OUT" "$st"
t_ok "revoke CAROL@Example.com: her certificate, found by its address" \
    "$SMIMEPUB" -f "$T/enrol.conf" revoke CAROL@Example.com
t_ok "ca list" "$SMIMEPUB" -f "$T/enrol.conf" ca list
t_contains "... lists it revoked" "$T_OUT" "revoked"
cat >"$T/lk.conf" <<CONF
keys = { discard_passphrase = true; };
directory = { uri = "$SLAPD_URI"; base = "$SLAPD_PEOPLE"; timeout = 2; };
lookup = {
  bind_dn = "$SLAPD_LOOKUP_DN";
  bind_password_file = "$SLAPD_LOOKUP_PW_FILE";
  trust_anchors = "$T/ca/ca.pem";
};
CONF
t_ok "smimepub lookup Alice@EXAMPLE.com: found" "$SMIMEPUB" -f "$T/lk.conf" lookup Alice@EXAMPLE.com
t_contains "... alice's certificate" "$T_OUT" "$(certs_fingerprint "$T/alice.pem")"
t_ok "smimepub lookup jurgen@bücher.example: found as $IDN" \
    "$SMIMEPUB" -f "$T/lk.conf" lookup "jurgen@bücher.example"
t_contains "... jurgen's certificate" "$T_OUT" "$(certs_fingerprint "$T/jurgen.pem")"
t_exit "smimepub lookup with a non-ASCII local part: exit 2" 2 \
    "$SMIMEPUB" -f "$T/lk.conf" lookup "jürgen@$IDN"
t_contains "... saying why" "$T_OUT" "non-ASCII local part"

# ---- the daemon ------------------------------------------------------------
free_port() {
	while :; do
		_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' \n')
		_pp=$((10000 + _r % 22000))
		ss -Htan 2>/dev/null | awk '{ print $4 }' | grep -q ":$_pp\$" || break
	done
	echo "$_pp"
}
# start_lk NAME [lookup lines...]: sets LK_PID, URL and MURL (/metrics)
start_lk() {
	_name=$1
	shift
	_try=0
	while [ "$_try" -lt 5 ]; do
		_port=$(free_port)
		_mp=$(free_port)
		{
			echo "directory = { uri = \"$SLAPD_URI\"; base = \"$SLAPD_PEOPLE\"; timeout = 2; };"
			echo "lookup = {"
			echo "  listen = \"127.0.0.1:$_port\";"
			echo "  metrics_listen = \"127.0.0.1:$_mp\";"
			echo "  bind_dn = \"$SLAPD_LOOKUP_DN\";"
			echo "  bind_password_file = \"$SLAPD_LOOKUP_PW_FILE\";"
			echo "  trust_anchors = \"$T/ca/ca.pem\";"
			echo "  pid_file = \"$T/$_name.pid\";"
			echo "  cache_ttl = 120; negative_ttl = 30; drain_timeout = 1;"
			for _l in "$@"; do echo "  $_l"; done
			echo "};"
			echo "keys = { discard_passphrase = true; };"
			echo "${LK_TOP:-}"
		} >"$T/$_name.conf"
		"$LOOKUPD" -f "$T/$_name.conf" --foreground >"$T/$_name.log" 2>&1 &
		LK_PID=$!
		LK_PIDS="$LK_PIDS $LK_PID"
		URL=http://127.0.0.1:$_port
		MURL=http://127.0.0.1:$_mp
		_i=0
		while [ "$_i" -lt 100 ]; do
			curl -s -o /dev/null "$URL/healthz" && return 0
			kill -0 "$LK_PID" 2>/dev/null || break
			sleep 0.1
			_i=$((_i + 1))
		done
		grep -q 'in use' "$T/$_name.log" || break
		_try=$((_try + 1))
	done
	echo "smimepub-lookupd did not start:" >&2
	cat "$T/$_name.log" >&2
	return 1
}
# the main instance also serves the local CA's OCSP responses and CRL
LK_TOP='ca = { driver = "local"; local = { dir = "'$T/lca'";
  crl_url = "http://127.0.0.1/crl/smimepub.crl"; ocsp_url = "http://127.0.0.1/ocsp"; }; };'
start_lk main "rate = 0;" "search_rate = 0;" "batch_max = 3;" "max_body = 1024;" \
    "admin_socket = \"$T/admin.sock\";"
MAIN=$URL
MAINM=$MURL
LK_TOP=
# get PATH [curl args...]: the status; body in $T/body, headers in $T/hdr
get() {
	_p=$1
	shift
	rm -f "$T/body"	# curl writes no file for an answer without a body
	curl -s -g -o "$T/body" -D "$T/hdr" -w '%{http_code}' "$@" "$MAIN$_p" || echo 000
}
# hdr NAME: the value of a header field of the last answer
hdr() {
	tr -d '\r' <"$T/hdr" | awk -v n="$1" 'BEGIN { n = tolower(n) ":" }
	    tolower($1) == n { sub(/^[^:]*: */, ""); print; exit }'
}
ctype() { hdr Content-Type; }
A=/v1/certs/alice@example.com

# ---- Accept: q-values, wildcards, q=0 -------------------------------------
t_eq "no Accept: 200" "$(get $A)" 200
t_eq "no Accept: JSON" "$(ctype)" application/json
get $A -H 'Accept: application/pkix-cert;q=0, application/json' >/dev/null
t_eq "pkix-cert;q=0 is excluded: JSON" "$(ctype)" application/json
t_eq "only pkix-cert;q=0: 406" "$(get $A -H 'Accept: application/pkix-cert;q=0')" 406
get $A -H 'Accept: application/pkix-cert;q=0.5, application/x-pem-file' >/dev/null
t_eq "the higher weight wins, not the first named (PEM)" "$(ctype)" application/x-pem-file
get $A -H 'Accept: application/json;q=0.2, application/pkix-cert;q=0.9' >/dev/null
t_eq "q=0.9 DER over q=0.2 JSON" "$(ctype)" application/pkix-cert
t_ok "... the DER of alice's certificate" cmp "$T/body" "$T/alice.der"
get $A -H 'Accept: */*;q=0.1, application/pkcs7-mime' >/dev/null
t_contains "a type over */*;q=0.1" "$(ctype)" application/pkcs7-mime
get $A -H 'Accept: application/*' >/dev/null
t_eq "application/*: the server's first choice, JSON" "$(ctype)" application/json
get $A -H 'Accept: text/html, application/*;q=0.3, application/json;q=0' >/dev/null
t_eq "application/*;q=0.3 with json;q=0: DER (the more specific range decides)" \
    "$(ctype)" application/pkix-cert
t_eq "text/html, */*;q=0: 406" "$(get $A -H 'Accept: text/html, */*;q=0')" 406
t_eq "406 is JSON naming what is served" "$(ctype)" application/json
t_contains "... application/pem-certificate-chain among them" "$(cat "$T/body")" pem-certificate-chain
t_eq "text/html: 406" "$(get $A -H 'Accept: text/html')" 406
get $A -H 'Accept: APPLICATION/X-PEM-FILE' >/dev/null
t_eq "media types without regard to case" "$(ctype)" application/x-pem-file
get $A -H 'Accept: application/x-pem-file;q=1.5, application/json;q=0.1' >/dev/null
t_eq "an invalid weight: that element skipped" "$(ctype)" application/json

# ---- application/pem-certificate-chain (RFC 8555 9.1) --------------------
t_eq "pem-certificate-chain: 200" "$(get $A -H 'Accept: application/pem-certificate-chain')" 200
t_eq "pem-certificate-chain: its type" "$(ctype)" application/pem-certificate-chain
t_eq "chain: two certificates" "$(grep -c 'BEGIN CERTIFICATE' "$T/body")" 2
awk '/BEGIN CERT/{n++} {print > (F "." n)}' F="$T/ch" "$T/body"
t_eq "chain: alice's certificate first" "$(certs_fingerprint "$T/ch.1")" "$(certs_fingerprint "$T/alice.pem")"
t_eq "chain: then its issuer" "$(certs_fingerprint "$T/ch.2")" "$(certs_fingerprint "$T/ca/ca.pem")"
t_ok "chain: openssl verifies it" openssl verify -CAfile "$T/ch.2" "$T/ch.1"

# ---- ETag, 304, Cache-Control, Vary ----------------------------------------
get $A >/dev/null
E1=$(hdr ETag)
t_ok "JSON: a strong ETag ('$E1')" sh -c 'case "$1" in \"*\") exit 0 ;; *) exit 1 ;; esac' sh "$E1"
t_eq "Cache-Control: max-age = lookup.cache_ttl" "$(hdr Cache-Control)" max-age=120
t_eq "Vary: Accept" "$(hdr Vary)" Accept
get $A >/dev/null
t_eq "the same ETag the next time" "$(hdr ETag)" "$E1"
get $A -H 'Accept: application/pkix-cert' >/dev/null
E2=$(hdr ETag)
t_ne "DER: another ETag" "$E2" "$E1"
t_eq "If-None-Match with the ETag: 304" "$(get $A -H "If-None-Match: $E1")" 304
t_eq "304: no body" "$(cat "$T/body" 2>/dev/null | wc -c | tr -d ' ')" 0
t_eq "304: the ETag" "$(hdr ETag)" "$E1"
t_eq "304: Cache-Control" "$(hdr Cache-Control)" max-age=120
t_eq "304: Vary" "$(hdr Vary)" Accept
t_eq "If-None-Match: W/ and a list (weak comparison)" \
    "$(get $A -H "If-None-Match: \"x\", W/$E1")" 304
t_eq "If-None-Match: *" "$(get $A -H 'If-None-Match: *')" 304
t_eq "If-None-Match of another representation: 200" \
    "$(get $A -H "If-None-Match: $E2")" 200
t_eq "DER with its own ETag: 304" \
    "$(get $A -H "If-None-Match: $E2" -H 'Accept: application/pkix-cert')" 304
# the deferred path (a search on a directory worker) answers 304 as well:
# bob's ETag, the cache flushed by SIGHUP, bob again with If-None-Match
t_eq "bob: 200" "$(get /v1/certs/bob@example.com)" 200
EB=$(hdr ETag)
kill -HUP "$LK_PID"
i=0
while [ "$i" -lt 50 ] && [ "$(curl -s "$MAINM/metrics" | awk '$1 == "smimepub_lookupd_cache_entries" { print $2 }')" != 0 ]; do
	sleep 0.1
	i=$((i + 1))
done
t_eq "bob, uncached, If-None-Match: 304" "$(get /v1/certs/bob@example.com -H "If-None-Match: $EB")" 304
t_eq "... with its ETag" "$(hdr ETag)" "$EB"
t_eq "404: Cache-Control max-age = lookup.negative_ttl" \
    "$(get /v1/certs/nobody@example.com; hdr Cache-Control)" "404max-age=30"
t_eq "HEAD: 200 with the ETag" "$(curl -s -I -o "$T/hdr" -w '%{http_code}' "$MAIN$A"; hdr ETag)" "200$E1"

# ---- Allow on 405, Retry-After on 503 ---------------------------------------
t_eq "POST /v1/certs: 405" "$(get $A -X POST --data-binary x)" 405
t_eq "405 names GET and HEAD in Allow" "$(hdr Allow)" "GET, HEAD"
t_eq "GET /v1/lookup: 405" "$(get /v1/lookup)" 405
t_eq "405 names POST in Allow" "$(hdr Allow)" POST
t_eq "DELETE /healthz: 405" "$(get /healthz -X DELETE)" 405
t_eq "Allow: GET, HEAD" "$(hdr Allow)" "GET, HEAD"

# ---- addresses: case, IDNA, non-ASCII local parts --------------------------
t_eq "Alice@Example.COM: 200" "$(get /v1/certs/Alice@Example.COM)" 200
t_contains "Alice@Example.COM: alice's certificate" "$(cat "$T/body")" "$(certs_fingerprint "$T/alice.pem")"
t_eq "jurgen@bücher.example (UTF-8, escaped): 200" "$(get '/v1/certs/jurgen@b%C3%BCcher.example')" 200
t_contains "... answered for the A-label" "$(cat "$T/body")" "\"mail\":\"jurgen@$IDN\""
t_eq "jurgen@BÜCHER.example: 200 (UTS 46 case mapping)" "$(get '/v1/certs/jurgen@B%C3%9CCHER.example')" 200
t_eq "jurgen@$IDN itself: 200" "$(get "/v1/certs/jurgen@$IDN")" 200
t_eq "jürgen@$IDN (non-ASCII local part): 400" "$(get "/v1/certs/j%C3%BCrgen@$IDN")" 400
t_contains "... saying why" "$(cat "$T/body")" "non-ASCII local part"
t_eq "a domain that is no IDN: 400" "$(get '/v1/certs/a@%E2%98%83%E2%80%8D.example')" 400
t_eq "invalid UTF-8 in the domain: 400" "$(get '/v1/certs/a@%FF%FE.example')" 400
body='{"recipients":["ALICE@example.com","jurgen@b\u00fccher.example","j\u00fcrgen@b\u00fccher.example"]}'
t_eq "batch: 200" "$(get /v1/lookup -X POST --data-binary "$body")" 200
t_eq "batch: case and IDN found, non-ASCII local part invalid" \
    "$(grep -o '"status":"[a-z_]*"' "$T/body" | sed 's/.*:"//; s/"//' | tr '\n' ' ')" \
    "found found invalid "

# ---- lookup.trusted_proxies: Forwarded, X-Forwarded-For ----------------
# rate 1/s, burst 2, per client: the third request of a client in a burst
# is 429. 127.0.0.2 is a trusted proxy, 127.0.0.1 is not (both loopback:
# curl --interface picks the source address). One curl a burst, so that a
# loaded machine does not refill a bucket between the requests.
start_lk px "rate = 1;" "burst = 2;" \
    "trusted_proxies = [ \"127.0.0.2\", \"2001:db8:ffff::/48\" ];"
sed -i 's/^keys = /log = { level = "debug"; };\nkeys = /' "$T/px.conf"
kill -HUP "$LK_PID"	# the debug level: the 429 lines name the client
sleep 0.5
PX=$URL
PXM=$MURL
u=$PX/v1/certs/alice@example.com
# burst IFACE HEADER...: one request per header field ("-": none), the
# codes; the arguments are built in "$@", so a field may hold spaces
burst() {
	_if=$1
	shift
	_n=$#
	_first=1
	for _h in "$@"; do
		[ "$_first" = 1 ] || set -- "$@" --next
		_first=0
		[ "$_h" = - ] && _h='X-None: 1'
		set -- "$@" -s -o /dev/null -w '%{http_code}.' --interface "$_if" -H "$_h" "$u"
	done
	shift "$_n"
	curl "$@"
}
X1='X-Forwarded-For: 192.0.2.1'
X2='X-Forwarded-For: 192.0.2.2'
t_eq "trusted proxy: two clients, a bucket each" \
    "$(burst 127.0.0.2 "$X1" "$X1" "$X1" "$X2" "$X2" "$X2")" "200.200.429.200.200.429."
t_eq "untrusted peer: X-Forwarded-For ignored, one bucket" \
    "$(burst 127.0.0.1 'X-Forwarded-For: 198.51.100.1' 'X-Forwarded-For: 198.51.100.2' \
    'X-Forwarded-For: 198.51.100.3')" "200.200.429."
t_eq "the right-most untrusted hop counts, not a spoofed left one" \
    "$(burst 127.0.0.2 'X-Forwarded-For: 203.0.113.5, 192.0.2.3' \
    'X-Forwarded-For: 203.0.113.6,192.0.2.3' 'X-Forwarded-For: 203.0.113.7, 192.0.2.3')" \
    "200.200.429."
t_eq "a trusted hop is skipped: the client left of it" \
    "$(burst 127.0.0.2 'X-Forwarded-For: 192.0.2.4, 127.0.0.2' 'X-Forwarded-For: 192.0.2.4' \
    'X-Forwarded-For: 192.0.2.4, 2001:db8:ffff::9')" "200.200.429."
t_eq "Forwarded (RFC 7239), IPv6 quoted with a port" \
    "$(burst 127.0.0.2 - 'Forwarded: for="[2001:db8::1]:4711";proto=https' \
    'Forwarded: For="[2001:db8::1]"' 'Forwarded: for="[2001:db8::1]"')" "200.200.200.429."
rm -f "$T/px.hdr"
X='X-Forwarded-For: 192.0.2.77'
curl -s -o /dev/null --interface 127.0.0.2 -H "$X" "$u" --next -s -o /dev/null \
    --interface 127.0.0.2 -H "$X" "$u" --next -s -o /dev/null -D "$T/px.hdr" \
    --interface 127.0.0.2 -H "$X" "$u"
t_contains "429 carries Retry-After" "$(cat "$T/px.hdr")" "Retry-After:"
pm() { curl -s "$PXM/metrics" | awk -v k="$1" 'index($0, k " ") == 1 { print $2 }'; }
t_eq "/metrics: forwarding fields ignored from untrusted peers" \
    "$(pm 'smimepub_lookupd_forwarded_total{outcome="untrusted"}')" 3
t_ne "/metrics: believed from the trusted proxy" \
    "$(pm 'smimepub_lookupd_forwarded_total{outcome="believed"}')" 0
curl -s -o /dev/null --interface 127.0.0.2 -H 'Forwarded: for=unknown' "$u"
t_eq "/metrics: a trusted proxy's field without an address" \
    "$(pm 'smimepub_lookupd_forwarded_total{outcome="malformed"}')" 1
t_contains "the log names the forwarded client of a 429" "$(cat "$T/px.log")" "192.0.2.1: 429"
t_contains "... and the IPv6 one" "$(cat "$T/px.log")" "2001:db8::1: 429"
t_contains "... and the untrusted peer itself" "$(cat "$T/px.log")" "127.0.0.1: 429"
t_not_contains "... never the spoofed address" "$(cat "$T/px.log")" "198.51.100.3"
# a bad prefix is a configuration error naming the key and the value
sed 's|trusted_proxies = .*|trusted_proxies = [ "10.1.2.3/8" ];|' "$T/px.conf" >"$T/bad.conf"
t_exit "trusted_proxies 10.1.2.3/8: check-config exits 2" 2 "$SMIMEPUB" -f "$T/bad.conf" check-config
t_contains "... naming the key and the value" "$T_OUT" 'lookup.trusted_proxies: "10.1.2.3/8"'
sed 's|trusted_proxies = .*|trusted_proxies = [ "proxy.example" ];|' "$T/px.conf" >"$T/bad.conf"
t_exit "trusted_proxies with a host name: smimepub-lookupd exits 2" 2 "$LOOKUPD" -f "$T/bad.conf" --foreground

# ---- docs/openapi.yaml: every path and status, each answer validated ----
# Debian's python3 with python3-jsonschema and python3-yaml (scripts/deps.sh)
OA=/usr/bin/python3
[ -x "$OA" ] || OA=python3
oa() {
	_rc=0
	"$OA" "$SRCDIR/tests/openapi_check.py" "$SRCDIR/docs/openapi.yaml" "$T/oa.rec" "$@" \
	    >>"$T/oa.out" 2>&1 || _rc=$?
	tail -n 2 "$T/oa.out"
	return "$_rc"
}
if "$OA" -c 'import jsonschema, yaml' 2>/dev/null; then
	rm -f "$T/oa.rec"
	t_ok "ca crl" "$SMIMEPUB" -f "$T/enrol.conf" ca crl
	export OA_OCSP_REQUEST="$T/ocsp.req"
	t_ok "openapi: the statuses of a daemon with its directory" oa up "$MAIN" "$MAINM" "$T/admin.sock"
	t_ok "openapi: 429 from a rate-limited daemon" oa limited "$PX"
	slapd_stop
	t_ok "openapi: 503 with the directory stopped" oa down "$MAIN"
	t_ok "openapi: every documented status was produced" oa coverage
	echo "# openapi: $(grep -c '^ok - ' "$T/oa.out") answers checked against docs/openapi.yaml"
else
	t_skip "openapi" "python3-jsonschema or python3-yaml is not installed (scripts/deps.sh)"
fi

t_not_contains "no sanitizer report" "$(cat "$T"/*.log)" "Sanitizer"
t_not_contains "no UBSan report" "$(cat "$T"/*.log)" "runtime error"
t_done
