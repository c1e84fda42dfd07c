#!/bin/sh
# smimepub-lookupd against a real slapd: certificates published with
# smimepub's own publish code (and, for the deliberately unusable ones, put
# on an entry by the rootdn), every endpoint and content type checked with
# OpenSSL, unusable certificates never served and counted by reason, hostile
# input refused before it reaches the directory, the limits (413, 429, a
# token per batch recipient, connections per client address), slapd going
# away and coming back, CRLs that do not verify refused, SIGHUP, the admin
# socket, SIGTERM, and the background mode with its pid file.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/certs.sh"
. "$SRCDIR/tests/lib/slapd.sh"

T=$(mktemp -d)
LK_PIDS=
# stop_all: every lookupd this script started, by pid; a restarted slapd.
stop_all() {
	for _p in $LK_PIDS; do
		kill -TERM "$_p" 2>/dev/null || :
	done
	for _p in $LK_PIDS; do
		wait "$_p" 2>/dev/null || :
	done
	LK_PIDS=
}
slapd_cleanup_add 'stop_all; rm -rf "$T"'
SLAPD_DEBUG=${SLAPD_DEBUG:-stats}
slapd_start

# ---- certificates ----------------------------------------------------------
certs_ca "$T/ca" "lookupd test CA"
certs_ca "$T/other" "an untrusted CA"
certs_leaf "$T/ca" "$T/alice" alice@example.com
certs_leaf "$T/ca" "$T/alice2" alice@example.com 700 ec
certs_leaf "$T/ca" "$T/bob" bob@example.com
certs_leaf "$T/ca" "$T/exp" carol@example.com "" start="$(certs_time -30)" end="$(certs_time -1)"
certs_leaf "$T/ca" "$T/notyet" carol@example.com "" start="$(certs_time 2)" end="$(certs_time 30)"
certs_leaf "$T/ca" "$T/signonly" carol@example.com "" ku=digitalSignature
certs_leaf "$T/ca" "$T/noeku" carol@example.com "" eku=none
certs_leaf "$T/ca" "$T/wrong" dave@example.com
certs_leaf "$T/other" "$T/untrusted" carol@example.com
certs_leaf "$T/ca" "$T/revoked" carol@example.com

# A CRL from the test CA listing $T/revoked, made with openssl ca -gencrl.
{
	echo '[ca]'
	echo 'default_ca = c'
	echo '[c]'
	echo "database = $T/crl.index"
	echo 'default_md = sha256'
	echo 'default_crl_days = 7'
} >"$T/crl.cnf"
printf 'R\t%s\t%s\t%s\tunknown\t/CN=carol@example.com\n' \
    "$(date -u -d '+1 year' +%y%m%d%H%M%SZ)" "$(date -u +%y%m%d%H%M%SZ)" \
    "$(certs_serial "$T/revoked.pem")" >"$T/crl.index"
openssl ca -gencrl -config "$T/crl.cnf" -keyfile "$T/ca/ca.key" \
    -cert "$T/ca/ca.pem" -out "$T/crl.pem" 2>"$T/crl.err" || cat "$T/crl.err" >&2
t_contains "the CRL lists the revoked certificate" \
    "$(openssl crl -in "$T/crl.pem" -noout -text)" "$(certs_serial "$T/revoked.pem")"

# ---- publish: usable ones with smimepub, the rest as the rootdn ----------
cat >"$T/pub.conf" <<EOF
$(slapd_conf_directory)
};
keys = { discard_passphrase = true; };
sync = { state_dir = "$T/state"; };
EOF
cat "$T/alice.pem" "$T/ca/ca.pem" >"$T/alice-chain.pem"
t_ok "publish alice (RSA)" "$SMIMEPUB" -f "$T/pub.conf" publish alice@example.com "$T/alice-chain.pem"
# a second certificate of alice's, foreign to smimepub, added by the rootdn
ldap_root ldapmodify >"$T/mod.log" 2>&1 <<EOF || cat "$T/mod.log" >&2
dn: $(slapd_people_dn alice)
changetype: modify
add: userCertificate;binary
userCertificate;binary:< file://$T/alice2.der
EOF
t_ok "publish bob" "$SMIMEPUB" -f "$T/pub.conf" publish bob@example.com "$T/bob.pem"
{
	echo "dn: $(slapd_people_dn carol)"
	echo "changetype: modify"
	echo "add: userCertificate;binary"
	for c in exp notyet signonly noeku wrong untrusted revoked; do
		echo "userCertificate;binary:< file://$T/$c.der"
	done
} >"$T/carol.ldif"
t_ok "put the unusable certificates on carol" ldap_root ldapmodify -f "$T/carol.ldif"

# ---- the daemon ------------------------------------------------------------
free_port() {
	while :; do
		_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' \n')
		# below the ephemeral range (32768-60999 here), where a
		# client socket could hold the port: 10000-31999
		_pp=$((10000 + _r % 22000))
		ss -Htan 2>/dev/null | awk '{ print $4 }' | grep -q ":$_pp\$" || break
	done
	echo "$_pp"
}

# lk_conf NAME PORT|LISTEN [lookup lines...]: a config for the read-only
# account, listening on 127.0.0.1:PORT or on LISTEN.
lk_conf() {
	_n=$1
	case $2 in
	*:*) _listen=$2 ;;
	*) _listen=127.0.0.1:$2 ;;
	esac
	shift 2
	_mp=$(free_port)
	MURL=http://127.0.0.1:$_mp	# lookup.metrics_listen: /metrics
	{
		echo "directory = {"
		echo "  uri = \"$SLAPD_URI\";"
		echo "  base = \"$SLAPD_PEOPLE\";"
		echo "  timeout = 2;"
		echo "};"
		echo "lookup = {"
		echo "  listen = \"$_listen\";"
		echo "  metrics_listen = \"127.0.0.1:$_mp\";"
		echo "  bind_dn = \"$SLAPD_LOOKUP_DN\";"
		echo "  bind_password_file = \"$SLAPD_LOOKUP_PW_FILE\";"
		echo "  crl_files = [ \"$T/crl.pem\" ];"
		echo "  trust_anchors = \"$T/ca/ca.pem\";"
		echo "  pid_file = \"$T/$_n.pid\";"
		echo "  drain_timeout = 2;"
		for _l in "$@"; do echo "  $_l"; done
		echo "};"
		echo "keys = { discard_passphrase = true; };"
		echo "log = { level = \"info\"; };"
	} >"$T/$_n.conf"
}

# start_lk NAME [lookup lines...]: start it in the foreground on a free port,
# retrying when another process took the port; sets LK_PID and URL.
start_lk() {
	_name=$1
	shift
	_try=0
	while [ "$_try" -lt 5 ]; do
		_port=$(free_port)
		lk_conf "$_name" "$_port" "$@"
		"$LOOKUPD" -f "$T/$_name.conf" --foreground >"$T/$_name.log" 2>&1 &
		LK_PID=$!
		LK_PIDS="$LK_PIDS $LK_PID"
		URL=http://127.0.0.1:$_port
		_i=0
		while [ "$_i" -lt 100 ]; do
			if curl -s -o /dev/null "$URL/healthz"; then
				return 0
			fi
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

start_lk main "rate = 0;" "search_rate = 0;" "batch_max = 10;" "max_body = 65536;" \
    "timeout = 3;" "admin_socket = \"$T/admin.sock\";"
MAIN_PID=$LK_PID
MAIN=$URL
MAINM=$MURL

# get PATH [curl args...]: body to $T/body, status printed.
get() {
	_p=$1
	shift
	curl -s -g --path-as-is -o "$T/body" -D "$T/headers" -w '%{http_code}' "$@" "$MAIN$_p" || echo 000
}
jfield() {	# jfield NAME: the first "NAME":"value" of $T/body
	grep -o "\"$1\":\"[^\"]*\"" "$T/body" | head -n 1 | sed 's/^[^:]*:"//; s/"$//'
}
rfc3339() {	# the notAfter/notBefore of a PEM as the API writes it
	date -u -d "$(openssl x509 -in "$1" -noout "-$2" | sed 's/^[^=]*=//')" \
	    +%Y-%m-%dT%H:%M:%SZ
}
metric() {	# metric LINE-PREFIX [BASE-URL]: the value from /metrics
	curl -s "${2:-$MAINM}/metrics" | awk -v k="$1" 'index($0, k " ") == 1 { print $2 }'
}

# ---- GET /v1/certs: JSON ---------------------------------------------------
t_eq "alice: 200" "$(get /v1/certs/alice@example.com)" 200
t_contains "JSON content type" "$(cat "$T/headers")" "Content-Type: application/json"
t_eq "JSON: mail" "$(jfield mail)" alice@example.com
t_eq "JSON: two usable certificates" "$(grep -o '"sha256"' "$T/body" | wc -l | tr -d ' ')" 2
t_eq "JSON: best first = latest notAfter (sha256)" "$(jfield sha256)" "$(certs_fingerprint "$T/alice2.pem")"
t_eq "JSON: serial as openssl" "$(jfield serial)" "$(certs_serial "$T/alice2.pem")"
t_eq "JSON: not_after as openssl" "$(jfield not_after)" "$(rfc3339 "$T/alice2.pem" enddate)"
t_eq "JSON: not_before as openssl" "$(jfield not_before)" "$(rfc3339 "$T/alice2.pem" startdate)"
t_eq "JSON: key" "$(jfield key)" "ec:P-256"
t_eq "JSON: issuer" "$(jfield issuer)" "CN=lookupd test CA"
t_contains "JSON: the second is the RSA one" "$(cat "$T/body")" \
    "\"sha256\":\"$(certs_fingerprint "$T/alice.pem")\""
t_eq "bob: 200" "$(get /v1/certs/bob@example.com)" 200
t_eq "bob: in both attributes, served once" "$(grep -o '"sha256"' "$T/body" | wc -l | tr -d ' ')" 1

# ---- content negotiation ---------------------------------------------------
t_eq "DER: 200" "$(get /v1/certs/alice@example.com -H 'Accept: application/pkix-cert')" 200
t_contains "DER: content type" "$(cat "$T/headers")" "Content-Type: application/pkix-cert"
t_ok "DER: openssl parses it" openssl x509 -inform DER -in "$T/body" -noout
t_ok "DER: the best certificate, byte for byte" cmp "$T/body" "$T/alice2.der"
t_eq "PKCS#7: 200" "$(get /v1/certs/alice@example.com -H 'Accept: application/pkcs7-mime')" 200
t_contains "PKCS#7: content type" "$(cat "$T/headers")" "application/pkcs7-mime"
openssl pkcs7 -inform DER -in "$T/body" -print_certs >"$T/p7.pem" 2>&1 || :
t_eq "PKCS#7: exactly the two usable certificates" "$(grep -c 'BEGIN CERT' "$T/p7.pem")" 2
awk '/BEGIN CERT/{n++} {print > (F "." n)}' F="$T/p7c" "$T/p7.pem"
t_eq "PKCS#7: the best first" "$(certs_fingerprint "$T/p7c.1")" "$(certs_fingerprint "$T/alice2.pem")"
t_eq "PKCS#7: then the other" "$(certs_fingerprint "$T/p7c.2")" "$(certs_fingerprint "$T/alice.pem")"
t_eq "PEM: 200" "$(get /v1/certs/alice@example.com -H 'Accept: application/x-pem-file')" 200
t_eq "PEM: best first" "$(certs_fingerprint "$T/body")" "$(certs_fingerprint "$T/alice2.pem")"
t_eq "text/html: 406" "$(get /v1/certs/alice@example.com -H 'Accept: text/html')" 406

# ---- unusable certificates ---------------------------------------------------
t_eq "carol: none usable, 404" "$(get /v1/certs/carol@example.com)" 404
t_contains "404 is a JSON error" "$(cat "$T/body")" '"error":"not found"'
for c in exp notyet signonly noeku wrong untrusted revoked; do
	f=$(certs_fingerprint "$T/$c.pem")
	for a in "" "-H Accept:application/pkcs7-mime"; do
		# shellcheck disable=SC2086
		get /v1/certs/carol@example.com $a >/dev/null
		t_not_contains "$c never served ${a:-(json)}" "$(cat "$T/body")" "$f"
	done
done
for r in expired not_yet_valid key_usage no_email_eku wrong_address untrusted revoked; do
	v=$(metric "smimepub_lookupd_certificates_rejected_total{reason=\"$r\"}")
	t_eq "/metrics counts $r" "${v:-0}" 1
done
t_eq "nobody: 404" "$(get /v1/certs/nobody@example.com)" 404

# ---- hostile input: 400, and nothing reaches the directory ----------------
nsrch() { grep -c 'SRCH base' "$SLAPD_LOG" || :; }
before=$(nsrch)
for p in '*' '%2A%29%28mail%3D%2A' '*)(mail=*' 'alice@example.com%00' \
    '%00' '..' '../../etc/passwd' 'al%C3%A9@example.com' '%FF%FE@example.com' \
    'alice%40example.com%29%28mail%3D%2A' 'alice'; do
	t_eq "400 for $p" "$(get "/v1/certs/$p")" 400
	t_contains "error names the problem ($p)" "$(cat "$T/body")" '"error":"invalid address"'
done
long=$(head -c 10240 /dev/zero | tr '\0' a)
st=$(get "/v1/certs/$long@example.com")
case $st in 400|414|431) t_ok "10 KB path: $st" true ;; *) t_eq "10 KB path refused" "$st" 400 ;; esac
t_eq "no hostile value reached slapd" "$(nsrch)" "$before"
t_not_contains "slapd never saw an unescaped (mail=*)(" "$(cat "$SLAPD_LOG")" '(mail=*)(mail'
t_eq "the next good request" "$(get /v1/certs/alice@example.com)" 200

# ---- POST /v1/lookup -------------------------------------------------------
body='{"recipients":["alice@example.com","nobody@example.com","*)(mail=*","carol@example.com","bob@EXAMPLE.com"]}'
t_eq "batch: 200" "$(get /v1/lookup -X POST -H 'Content-Type: application/json' --data-binary "$body")" 200
t_eq "batch: statuses in order" "$(grep -o '"status":"[a-z_]*"' "$T/body" | sed 's/.*:"//; s/"//' | tr '\n' ' ')" \
    "found not_found invalid not_found found "
t_contains "batch: alice's best certificate" "$(cat "$T/body")" "$(certs_fingerprint "$T/alice2.pem")"
t_eq "batch over lookup.batch_max: 413" "$(get /v1/lookup -X POST --data-binary \
    '{"recipients":["a@b.co","a@b.co","a@b.co","a@b.co","a@b.co","a@b.co","a@b.co","a@b.co","a@b.co","a@b.co","a@b.co"]}')" 413
t_eq "malformed JSON: 400" "$(get /v1/lookup -X POST --data-binary '{"recipients": [')" 400
head -c 3000 /dev/zero | tr '\0' '[' >"$T/deep.json"
t_eq "deeply nested JSON: 400" "$(get /v1/lookup -X POST --data-binary @"$T/deep.json")" 400
head -c 10485760 /dev/zero >"$T/10m"
t_eq "10 MB body: 413" "$(get /v1/lookup -X POST --data-binary @"$T/10m")" 413
t_eq "GET /v1/lookup: 405" "$(get /v1/lookup)" 405
t_eq "unknown path: 404" "$(get /nope)" 404

# ---- GET /v1/search --------------------------------------------------------
t_eq "search: 2 characters refused" "$(get '/v1/search?q=al')" 400
t_eq "search: ali" "$(get '/v1/search?q=ali')" 200
t_contains "search: alice with her name" "$(cat "$T/body")" '{"name":"Alice Liddell","mail":"alice@example.com"}'
t_eq "search: car finds nobody usable" "$(get '/v1/search?q=car')" 200
t_eq "search: carol is not listed" "$(cat "$T/body")" '{"results":[]}'
t_eq "search: invalid UTF-8 is 400, not a directory error" "$(get '/v1/search?q=%FF%FE%FD')" 400
t_eq "search: UTF-8 text is fine" "$(get '/v1/search?q=J%C3%BCrgen')" 200
t_eq "search: a wildcard in q is escaped" "$(get '/v1/search?q=%2A%2A%2A')" 200
t_eq "search: *** matches nobody" "$(cat "$T/body")" '{"results":[]}'
t_ok "slapd saw the escaped value" grep -qi '\\2a\\2a\\2a\*' "$SLAPD_LOG"
t_not_contains "search returns no certificate" "$(get '/v1/search?q=ali' >/dev/null; cat "$T/body")" "BEGIN"

# ---- metrics, healthz, cache flush ------------------------------------------
t_eq "healthz: 200" "$(get /healthz)" 200
t_contains "healthz: directory up" "$(cat "$T/body")" '"directory":"up"'
t_eq "/metrics is not on the public listener" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$MAIN/metrics")" 404
m=$(curl -s "$MAINM/metrics")
t_contains "metrics: requests by endpoint and status" "$m" 'smimepub_lookupd_requests_total{endpoint="certs",status="200"}'
t_contains "metrics: cache hits" "$m" 'smimepub_lookupd_cache_hits_total'
t_contains "metrics: latency histogram" "$m" 'smimepub_lookupd_directory_seconds_bucket{le="+Inf"}'
t_ne "cache holds entries" "$(metric smimepub_lookupd_cache_entries)" 0
t_eq "flush over TCP: 404" "$(get /v1/cache/flush -X POST)" 404
t_eq "flush on the admin socket" "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$T/admin.sock" -X POST http://lookupd/v1/cache/flush)" 200
t_eq "cache empty after flush" "$(metric smimepub_lookupd_cache_entries)" 0
get /v1/certs/alice@example.com >/dev/null
kill -HUP "$MAIN_PID"
sleep 0.3
t_eq "SIGHUP flushes the cache" "$(metric smimepub_lookupd_cache_entries)" 0
t_ok "still serving after SIGHUP" kill -0 "$MAIN_PID"

# 20 concurrent requests for one uncached address: one directory search
m0=$(metric smimepub_lookupd_cache_misses_total)
s0=$(grep -c 'SRCH base.*mail=carol@example.com' "$SLAPD_LOG" || :)
i=0
pids=
while [ "$i" -lt 20 ]; do
	curl -s -o "$T/par.$i" "$MAIN/v1/certs/carol@example.com" &
	pids="$pids $!"
	i=$((i + 1))
done
for p in $pids; do wait "$p" || :; done
t_eq "20 concurrent misses: one cache miss" "$(( $(metric smimepub_lookupd_cache_misses_total) - m0 ))" 1
t_eq "20 concurrent misses: one search in slapd's log" \
    "$(( $(grep -c 'SRCH base.*mail=carol@example.com' "$SLAPD_LOG" || :) - s0 ))" 1
t_eq "all 20 answered 404" "$(cat "$T"/par.* | grep -o '"not found"' | wc -l | tr -d ' ')" 20

# ---- a slow client is cut off, the daemon stays responsive ---------------
# Half a request, then silence: after lookup.timeout (3 s) the daemon has
# closed its side (no ESTABLISHED socket left on its port), while the
# client still holds its end open.
port=${MAIN##*:}
estab() { ss -Htn state established "( sport = :$port )" | wc -l | tr -d ' '; }
( printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n'; sleep 7 ) | \
    curl -s -m 10 "telnet://127.0.0.1:$port" >/dev/null 2>&1 &
slow=$!
sleep 1
t_eq "the slow client is connected" "$(estab)" 1
t_eq "answers while a slow client hangs" "$(get /v1/certs/alice@example.com)" 200
sleep 4
t_eq "slow client cut off by lookup.timeout (3 s)" "$(estab)" 0
wait "$slow" 2>/dev/null || :
# A body that trickles in, a byte a second: dropped once lookup.timeout has
# passed since the request began, though the connection is never idle.
( printf 'POST /v1/lookup HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n'
  i=0; while [ "$i" -lt 12 ]; do printf x; sleep 1; i=$((i + 1)); done ) | \
    curl -s -m 15 "telnet://127.0.0.1:$port" >/dev/null 2>&1 &
slow=$!
sleep 1
t_eq "the trickling client is connected" "$(estab)" 1
sleep 5
t_eq "trickling body cut off after lookup.timeout" "$(estab)" 0
wait "$slow" 2>/dev/null || :
# Headers that trickle in, a byte a second: cut off as well.
( printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: '
  i=0; while [ "$i" -lt 12 ]; do printf a; sleep 1; i=$((i + 1)); done ) | \
    curl -s -m 15 "telnet://127.0.0.1:$port" >/dev/null 2>&1 &
slow=$!
sleep 1
t_eq "the client trickling headers is connected" "$(estab)" 1
sleep 5
t_eq "trickling headers cut off after lookup.timeout" "$(estab)" 0
wait "$slow" 2>/dev/null || :
t_eq "answers after the slow clients" "$(get /v1/certs/alice@example.com)" 200

# ---- load (wrk from Debian): no 5xx, no sanitizer report -----------------
# LK_LOAD_SECS (default 5) per run; the issue's 60 s: LK_LOAD_SECS=60.
if command -v wrk >/dev/null 2>&1; then
	secs=${LK_LOAD_SECS:-5}
	cat >"$T/mix.lua" <<'EOF'
local paths = { "/v1/certs/alice@example.com", "/v1/certs/bob@example.com" }
local types = { "application/json", "application/pkix-cert",
    "application/pkcs7-mime", "application/x-pem-file" }
local n = 0
request = function()
	n = n + 1
	return wrk.format("GET", paths[n % 2 + 1],
	    { ["Accept"] = types[n % 4 + 1] })
end
EOF
	wrk -t2 -c32 -d"${secs}s" --latency -s "$T/mix.lua" "$MAIN" >"$T/wrk.out" 2>&1 || :
	sed 's/^/# /' "$T/wrk.out" | grep -E 'Requests/sec|50%|99%|Non-2xx|errors' || :
	t_contains "wrk ran" "$(cat "$T/wrk.out")" "Requests/sec"
	t_not_contains "wrk: no non-2xx answer" "$(cat "$T/wrk.out")" "Non-2xx"
	t_ok "alive after the load" kill -0 "$MAIN_PID"
	t_eq "answers after the load" "$(get /v1/certs/alice@example.com)" 200
else
	t_skip "load with wrk" "wrk is not installed"
fi

# ---- rate limit: a second instance with a small bucket -------------------
start_lk strict "rate = 1;" "burst = 3;" "search_rate = 1;" "search_burst = 1;"
# One curl for the four requests (one connection, no process start-up in
# between), so a loaded machine does not refill the bucket mid-burst.
u="$URL/v1/certs/alice@example.com"
codes=$(curl -s -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
    -w ' %{http_code}' "$u" "$u" "$u" "$u")
t_eq "burst of 3, then 429" "$codes" " 200 200 200 429"
hdr=$(curl -s -D - -o /dev/null "$URL/v1/certs/alice@example.com")
t_contains "429 carries Retry-After" "$hdr" "Retry-After: 1"
t_eq "search: its own stricter bucket" \
    "$(curl -s -o /dev/null -o /dev/null -w ' %{http_code}' "$URL/v1/search?q=ali" "$URL/v1/search?q=ali")" " 200 429"
t_ok "strict instance: SIGTERM" kill -TERM "$LK_PID"
rc=0
wait "$LK_PID" || rc=$?
t_eq "strict instance exits 0" "$rc" 0

# ---- batch rate: POST /v1/lookup takes a token per recipient ------------
# batch_rate 10/s, batch_burst 20: a batch of 20 empties the bucket; the
# next one (other addresses) is refused whole, with Retry-After, before it
# reaches the directory; a batch of 1 passes once Retry-After has passed.
start_lk batch "rate = 0;" "batch_rate = 10;" "batch_burst = 20;" "batch_max = 20;"
batch_json() {	# batch_json PREFIX N
	printf '{"recipients":['
	_i=0
	while [ "$_i" -lt "$2" ]; do
		[ "$_i" -gt 0 ] && printf ','
		printf '"%s%d@example.com"' "$1" "$_i"
		_i=$((_i + 1))
	done
	printf ']}'
}
batch_json first 20 >"$T/b20a.json"
batch_json second 20 >"$T/b20b.json"
# one curl for both (no process start-up in between to refill the bucket)
codes=$(curl -s -X POST --data-binary @"$T/b20a.json" -o /dev/null -w '%{http_code} ' \
    "$URL/v1/lookup" --next -s -X POST --data-binary @"$T/b20b.json" \
    -D "$T/b.hdr" -o "$T/b.body" -w '%{http_code}' "$URL/v1/lookup")
t_eq "batch of 20 passes, the next 20 are refused whole" "$codes" "200 429"
ra=$(sed -n 's/^Retry-After: *\([0-9]*\).*/\1/p' "$T/b.hdr")
t_ok "429 carries Retry-After of 1 or 2 s (20 recipients at 10/s): '$ra'" \
    test "${ra:-0}" -ge 1 -a "${ra:-0}" -le 2
t_contains "429 names lookup.batch_rate" "$(cat "$T/b.body")" "lookup.batch_rate"
t_ne "the first batch was searched (slapd's log shows first0)" \
    "$(grep -c 'mail=first0@example.com' "$SLAPD_LOG" || :)" 0
t_eq "the refused batch reached no directory" \
    "$(grep -c 'mail=second0@example.com' "$SLAPD_LOG" || :)" 0
t_eq "a GET is not charged to the batch bucket" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/certs/alice@example.com")" 200
sleep "${ra:-2}"
t_eq "a batch of 1 after Retry-After passes" \
    "$(curl -s -o "$T/b.body" -w '%{http_code}' -X POST --data-binary \
    '{"recipients":["alice@example.com"]}' "$URL/v1/lookup")" 200
t_contains "and finds alice" "$(cat "$T/b.body")" '"status":"found"'
t_ok "batch instance: SIGTERM" kill -TERM "$LK_PID"
wait "$LK_PID" || :

# ---- connection caps: a third connection is closed and counted ----------
# lookup.max_connections_per_ip (reason="per_ip") and lookup.max_connections
# (reason="max"), each 2 in its own instance: two idle connections held,
# three more refused at once, counted under their reason (and only there),
# never reaching a handler; the daemon answers once the two are closed.
over_cap() {	# NAME CONFIG REASON OTHER_REASON
	start_lk "$1" "$2" "timeout = 30;"
	port=${URL##*:}
	t_eq "[$3] no connection refused yet" "$(refused "$3")" 0
	rm -f "$T/hold"
	mkfifo "$T/hold"
	curl -s -m 60 "telnet://127.0.0.1:$port" <"$T/hold" >/dev/null 2>&1 &
	h1=$!
	curl -s -m 60 "telnet://127.0.0.1:$port" <"$T/hold" >/dev/null 2>&1 &
	h2=$!
	exec 7>"$T/hold"
	i=0
	while [ "$(estab)" -lt 2 ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	t_eq "[$3] two idle connections held from 127.0.0.1" "$(estab)" 2
	rc=0
	st=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$URL/healthz") || rc=$?
	t_eq "[$3] a third connection gets no answer" "$st" 000
	t_ok "[$3] closed by the daemon, not timed out (curl exit $rc: 52 or 56)" \
	    test "$rc" -eq 52 -o "$rc" -eq 56
	n=0
	for i in 1 2; do
		st=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$URL/v1/certs/alice@example.com") || :
		[ "$st" = 000 ] && n=$((n + 1))
	done
	t_eq "[$3] a fourth and a fifth: no answer either" "$n" 2
	kill "$h1" "$h2" 2>/dev/null || :
	wait "$h1" 2>/dev/null || :
	wait "$h2" 2>/dev/null || :
	exec 7>&-
	i=0
	while [ "$(estab)" -gt 0 ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	t_eq "[$3] answers once they are closed" \
	    "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/certs/alice@example.com")" 200
	t_eq "[$3] the three refused are counted in /metrics" "$(refused "$3")" 3
	t_eq "[$3] and not under $4" "$(refused "$4")" 0
	t_eq "[$3] requests: the ones over the cap never reached a handler" \
	    "$(curl -s "$MURL/metrics" | awk 'index($0, "smimepub_lookupd_requests_total{endpoint=\"certs\",status=\"200\"} ") == 1 { print $2 }')" 1
	t_ok "[$3] instance: SIGTERM" kill -TERM "$LK_PID"
	wait "$LK_PID" || :
}
refused() {
	curl -s "$MURL/metrics" | awk -v r="$1" 'index($0, "smimepub_lookupd_connections_refused_total{reason=\"" r "\"} ") == 1 { print $2 }'
}
over_cap perip "max_connections_per_ip = 2;" per_ip max
over_cap maxconn "max_connections = 2; max_connections_per_ip = 0;" max per_ip

# ---- slapd goes away and comes back ----------------------------------------
spid=$(cat "$SLAPD_DIR/slapd.pid")
kill -TERM "$spid"
i=0
while kill -0 "$spid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
t0=$(date +%s)
t_eq "healthz: 503 with slapd down" "$(get /healthz -m 15)" 503
t_contains "healthz: directory unreachable" "$(cat "$T/body")" '"directory":"unreachable"'
t_eq "uncached address: 503" "$(get /v1/certs/dup@example.com -m 15)" 503
t_contains "503 is a JSON error" "$(cat "$T/body")" '"error":"directory unavailable"'
t_eq "503 quickly (under 10 s)" "$(( $(date +%s) - t0 < 10 ))" 1
t_eq "a cached answer is still served" "$(get /v1/certs/alice@example.com)" 200
slapd -F "$SLAPD_DIR/slapd.d" -d none -h "$SLAPD_URI/ $SLAPD_LDAPS_URI/ $SLAPD_LDAPI_URI/" \
    </dev/null >>"$SLAPD_LOG" 2>&1 &
_SLAPD_PID=$!	# slapd.sh stops this one at exit
i=0
while [ "$i" -lt 100 ] && ! ldapsearch -x -H "$SLAPD_URI" -b '' -s base 1.1 >/dev/null 2>&1; do
	sleep 0.1
	i=$((i + 1))
done
st=000
i=0
while [ "$i" -lt 30 ]; do
	st=$(get /v1/certs/dup@example.com)
	[ "$st" != 503 ] && break
	sleep 0.5
	i=$((i + 1))
done
t_eq "lookups recover by themselves when slapd is back" "$st" 404
i=0
while [ "$i" -lt 10 ] && [ "$(get /healthz)" != 200 ]; do sleep 0.5; i=$((i + 1)); done
t_eq "healthz: 200 again" "$(get /healthz)" 200

# ---- a changed CRL is picked up without a restart -------------------------
printf 'R\t%s\t%s\t%s\tunknown\t/CN=alice@example.com\n' \
    "$(date -u -d '+1 year' +%y%m%d%H%M%SZ)" "$(date -u +%y%m%d%H%M%SZ)" \
    "$(certs_serial "$T/alice2.pem")" >>"$T/crl.index"
sleep 1
openssl ca -gencrl -config "$T/crl.cnf" -keyfile "$T/ca/ca.key" \
    -cert "$T/ca/ca.pem" -out "$T/crl.new" 2>"$T/crl.err" || cat "$T/crl.err" >&2
mv "$T/crl.new" "$T/crl.pem"
best=
i=0
while [ "$i" -lt 30 ]; do
	get /v1/certs/alice@example.com -H 'Accept: application/pkix-cert' >/dev/null
	best=$(openssl x509 -inform DER -in "$T/body" -noout -fingerprint -sha256 2>/dev/null |
	    sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f')
	[ "$best" = "$(certs_fingerprint "$T/alice.pem")" ] && break
	sleep 0.2
	i=$((i + 1))
done
t_eq "alice2 revoked by the new CRL: alice's other certificate is best" \
    "$best" "$(certs_fingerprint "$T/alice.pem")"
t_contains "the reload is logged" "$(cat "$T/main.log")" "reloaded"

# ---- a CRL must verify with its issuer in lookup.trust_anchors -----------
# crl_put NAME FILE: put FILE in place as the CRL, then ask (each request
# checks the CRL files, at most once a second) until the log has NAME's
# outcome (a line with PATTERN), 10 s at most.
crl_put() {
	_n=$(grep -c "$2" "$T/main.log" || :)
	cp "$1" "$T/crl.tmp"
	mv "$T/crl.tmp" "$T/crl.pem"
	_i=0
	while [ "$_i" -lt 50 ]; do
		get /healthz >/dev/null
		get /v1/certs/alice@example.com >/dev/null
		[ "$(grep -c "$2" "$T/main.log" || :)" -gt "$_n" ] && return 0
		sleep 0.2
		_i=$((_i + 1))
	done
	return 1
}
flush() {
	curl -s -o /dev/null --unix-socket "$T/admin.sock" -X POST http://lookupd/v1/cache/flush
}
# best_alice: the fingerprint of the DER served for alice, from a flushed cache
best_alice() {
	flush
	get /v1/certs/alice@example.com -H 'Accept: application/pkix-cert' >/dev/null
	openssl x509 -inform DER -in "$T/body" -noout -fingerprint -sha256 2>/dev/null |
	    sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f'
}
cp "$T/crl.pem" "$T/crl.good"
# the same issuer name, another key: a CRL revoking nothing
certs_ca "$T/forger" "lookupd test CA"
: >"$T/forged.index"
sed "s|$T/crl.index|$T/forged.index|" "$T/crl.cnf" >"$T/forged.cnf"
openssl ca -gencrl -config "$T/forged.cnf" -keyfile "$T/forger/ca.key" \
    -cert "$T/forger/ca.pem" -out "$T/crl.forged" 2>"$T/crl.err" || cat "$T/crl.err" >&2
openssl ca -gencrl -config "$T/forged.cnf" -keyfile "$T/other/ca.key" \
    -cert "$T/other/ca.pem" -out "$T/crl.other" 2>"$T/crl.err" || cat "$T/crl.err" >&2
e0=$(metric smimepub_lookupd_crl_errors_total)
t_ok "a CRL signed by another key: refused" crl_put "$T/crl.forged" "reload refused"
t_contains "the log names the file and the reason" "$(cat "$T/main.log")" \
    "$T/crl.pem: lookup.crl_files: CRL of /CN=lookupd test CA refused: bad signature"
t_eq "/metrics counts the refusal" "$(metric smimepub_lookupd_crl_errors_total)" $((e0 + 1))
t_eq "the good CRLs stay: alice2 still revoked" "$(best_alice)" "$(certs_fingerprint "$T/alice.pem")"
get /v1/certs/carol@example.com >/dev/null
t_not_contains "carol's revoked certificate still not served" "$(cat "$T/body")" \
    "$(certs_fingerprint "$T/revoked.pem")"
t_ok "a CRL of an issuer not among the anchors: refused" crl_put "$T/crl.other" "reload refused"
t_contains "the log says why" "$(cat "$T/main.log")" \
    "CRL of /CN=an untrusted CA refused: its issuer is not in lookup.trust_anchors"
t_eq "/metrics counts it" "$(metric smimepub_lookupd_crl_errors_total)" $((e0 + 2))
t_eq "alice2 still revoked" "$(best_alice)" "$(certs_fingerprint "$T/alice.pem")"
# past its nextUpdate, from the genuine CA: used, with a warning, counted
openssl ca -gencrl -config "$T/crl.cnf" -keyfile "$T/ca/ca.key" -cert "$T/ca/ca.pem" \
    -crl_lastupdate 20200101000000Z -crl_nextupdate 20200108000000Z \
    -out "$T/crl.old" 2>"$T/crl.err" || cat "$T/crl.err" >&2
t_ok "an expired CRL of the genuine CA is loaded" crl_put "$T/crl.old" "past its nextUpdate"
t_eq "/metrics: one expired CRL in use" "$(metric smimepub_lookupd_crls_expired)" 1
t_eq "the expired CRL is still used: alice2 revoked" "$(best_alice)" "$(certs_fingerprint "$T/alice.pem")"
t_ok "the genuine CRL again" crl_put "$T/crl.good" "reloaded"
t_eq "/metrics: no expired CRL" "$(metric smimepub_lookupd_crls_expired)" 0
t_eq "/metrics: one CRL in use" "$(metric smimepub_lookupd_crls)" 1
t_eq "no refusal for the good ones" "$(metric smimepub_lookupd_crl_errors_total)" $((e0 + 2))
# at start: a forged CRL keeps the daemon from starting
port=$(free_port)
lk_conf forged "$port"
sed -i "s|$T/crl.pem|$T/crl.forged|" "$T/forged.conf"
t_exit "a forged CRL at start: the daemon does not start (exit 1)" 1 \
    "$LOOKUPD" -f "$T/forged.conf" --foreground
t_contains "and says which file and why" "$T_OUT" "$T/crl.forged: lookup.crl_files: CRL of /CN=lookupd test CA refused: bad signature"
sed -i "s|^  trust_anchors = .*|  insecure_no_anchors = true;|; s|$T/crl.forged|$T/crl.good|" "$T/forged.conf"
t_exit "crl_files without trust_anchors (none at all): refused (exit 1)" 1 \
    "$LOOKUPD" -f "$T/forged.conf" --foreground
t_contains "naming lookup.trust_anchors" "$T_OUT" "needs lookup.trust_anchors"

# ---- SIGTERM ---------------------------------------------------------------
t_ok "SIGTERM" kill -TERM "$MAIN_PID"
rc=0
wait "$MAIN_PID" || rc=$?
t_eq "exits 0 after draining" "$rc" 0
t_contains "logs the drain" "$(cat "$T/main.log")" "draining"
t_not_contains "no sanitizer report" "$(cat "$T/main.log" "$T/strict.log")" "Sanitizer"
t_not_contains "no UBSan report" "$(cat "$T/main.log" "$T/strict.log")" "runtime error"

# ---- background mode with a pid file ---------------------------------------
port=$(free_port)
lk_conf bg "$port"
t_ok "starts in the background" "$LOOKUPD" -f "$T/bg.conf"
t_ok "pid file written" test -s "$T/bg.pid"
bgpid=$(cat "$T/bg.pid" 2>/dev/null || echo 0)
LK_PIDS="$LK_PIDS $bgpid"
t_eq "background instance answers" \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/certs/alice@example.com")" 200
kill -TERM "$bgpid" 2>/dev/null || :
i=0
while kill -0 "$bgpid" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
t_fail "background instance gone after SIGTERM" kill -0 "$bgpid"
t_fail "pid file removed" test -e "$T/bg.pid"
# ---- IPv6, a unix socket, TLS, lookup.user --------------------------------
# run_lk NAME CHECK-CMD...: start NAME.conf in the foreground, wait until
# CHECK-CMD succeeds (10 s at most); LK_PID is set.
run_lk() {
	_n=$1
	shift
	"$LOOKUPD" -f "$T/$_n.conf" --foreground >"$T/$_n.log" 2>&1 &
	LK_PID=$!
	LK_PIDS="$LK_PIDS $LK_PID"
	_i=0
	while [ "$_i" -lt 100 ]; do
		"$@" >/dev/null 2>&1 && return 0
		kill -0 "$LK_PID" 2>/dev/null || break
		sleep 0.1
		_i=$((_i + 1))
	done
	cat "$T/$_n.log" >&2
	return 1
}
stop_lk() {
	kill -TERM "$LK_PID" 2>/dev/null || :
	wait "$LK_PID" 2>/dev/null || :
}
# ---- uncached lookups in flight together on one directory connection -----
# 24 more people with a certificate each (bench_people, signed by the test
# CA), asked for all at once, three times, with 4 addresses nobody has,
# through a lookupd with no cache and one directory connection, slapd
# stopped (SIGSTOP) for half a second as they come, so they queue behind
# the first: with pool_depth = 8 up to 8 searches are sent before the first
# answer is read (lookupd's pipelined counter), with pool_depth = 1 none
# is; every answer must still be the asked person's own certificate.
# Then a cold POST /v1/lookup of the same people: looked up pool_depth at
# a time, each its own certificate.
"$SRCDIR/$BUILD/tests/bench_people" "$T/ca/ca.pem" "$T/ca/ca.key" 24 pipe \
    "$SLAPD_PEOPLE" >"$T/pipe.ldif"
t_ok "24 more people" ldap_root ldapadd -f "$T/pipe.ldif"
mkdir -p "$T/pipe"
awk -v d="$T/pipe" '/^uid: / { u = $2 } /^userCertificate;binary:: / {
	print $2 | ("base64 -d > " d "/" u ".der"); close("base64 -d > " d "/" u ".der") }' "$T/pipe.ldif"
PIPE_PEOPLE=$(seq -f 'pipe%05g' 1 24 | tr '\n' ' ')
PIPE_NOBODY="nopipe1 nopipe2 nopipe3 nopipe4"
# pipe_round NAME URL: all 28 at once (curl's parallel transfers, so they
# come together, not one fork apart); "right wrong" counts: each person
# 200 with its own DER, each nobody 404
pipe_round() {
	_args=
	for _u in $PIPE_PEOPLE $PIPE_NOBODY; do
		_args="$_args -o $T/pipe/$1.$_u.got $2/v1/certs/$_u@example.com"
	done
	_sp=$(slapd_pid)
	kill -STOP "$_sp"
	( sleep 0.5; kill -CONT "$_sp" ) &
	_cont=$!
	# shellcheck disable=SC2086
	curl -s --no-progress-meter -Z --parallel-immediate --parallel-max 28 \
	    -H 'Accept: application/pkix-cert' \
	    -w '%{url_effective} %{http_code}\n' $_args >"$T/pipe/$1.st" || :
	wait "$_cont" || :
	_ok=0 _bad=0
	for _u in $PIPE_PEOPLE $PIPE_NOBODY; do
		_st=$(awk -v u="/v1/certs/$_u@example.com" 'index($1, u) { print $2 }' "$T/pipe/$1.st")
		case $_u:$_st in
		nopipe*:404) _ok=$((_ok + 1)) ;;
		pipe*:200)
			if cmp -s "$T/pipe/$1.$_u.got" "$T/pipe/$_u.der"; then
				_ok=$((_ok + 1))
			else
				_bad=$((_bad + 1))
			fi ;;
		*) _bad=$((_bad + 1)) ;;
		esac
	done
	echo "$_ok $_bad"
}
for depth in 1 8; do
	port=$(free_port)
	lk_conf "pipe$depth" "$port" "cache_ttl = 0;" "negative_ttl = 0;" \
	    "pool_size = 1;" "pool_depth = $depth;" "rate = 0;" \
	    "max_connections_per_ip = 0;"
	run_lk "pipe$depth" curl -sf "http://127.0.0.1:$port/healthz" ||
	    t_fail "pool_depth = $depth: lookupd started" true
	p0=$(metric smimepub_lookupd_directory_pipelined_total "$MURL")
	for r in 1 2 3; do
		t_eq "pool_depth = $depth, round $r: 24 right certificates, 4 404s" \
		    "$(pipe_round "d$depth.$r" "http://127.0.0.1:$port")" "28 0"
	done
	pl=$(( $(metric smimepub_lookupd_directory_pipelined_total "$MURL") - p0 ))
	# a cold POST /v1/lookup: its misses pool_depth at a time (8, 8, 8
	# and 4 of the 28 valid ones: 24 sent behind others), in order
	body='{"recipients":["not an address"'
	want="invalid "
	for _u in $PIPE_PEOPLE; do
		body="$body,\"$_u@example.com\""
		want="${want}found "
	done
	for _u in $PIPE_NOBODY; do
		body="$body,\"$_u@example.com\""
		want="${want}not_found "
	done
	body="$body]}"
	b0=$(metric smimepub_lookupd_directory_pipelined_total "$MURL")
	curl -s -X POST --data-binary "$body" "http://127.0.0.1:$port/v1/lookup" >"$T/pipe/batch$depth.json"
	b1=$(metric smimepub_lookupd_directory_pipelined_total "$MURL")
	t_eq "pool_depth = $depth: cold batch of 29, statuses in order" \
	    "$(grep -o '"status":"[a-z_]*"' "$T/pipe/batch$depth.json" | sed 's/.*:"//; s/"//' | tr '\n' ' ')" "$want"
	nright=0
	for _u in $PIPE_PEOPLE; do
		_f=$(sha256sum "$T/pipe/$_u.der" | cut -d' ' -f1)
		# the certificate follows its own address in the answer
		if tr -d '\n' <"$T/pipe/batch$depth.json" | grep -o "\"mail\":\"$_u@example.com\"[^]]*" |
		    grep -q "\"sha256\":\"$_f\""; then
			nright=$((nright + 1))
		fi
	done
	t_eq "pool_depth = $depth: batch, each its own certificate" "$nright" 24
	if [ "$depth" = 1 ]; then
		t_eq "pool_depth = 1: batch searched one at a time" "$((b1 - b0))" 0
	else
		t_eq "pool_depth = 8: batch searched 8 at a time (24 behind others)" "$((b1 - b0))" 24
	fi
	echo "# pool_depth = $depth: $pl searches sent behind others"
	if [ "$depth" = 1 ]; then
		t_eq "pool_depth = 1: one search at a time on the connection" "$pl" 0
	else
		t_ok "pool_depth = 8: searches sent behind others ($pl)" test "$pl" -gt 0
	fi
	stop_lk
done
if ip -6 addr show dev lo 2>/dev/null | grep -q '::1/128'; then
	port=$(free_port)
	lk_conf v6 "[::1]:$port"
	rc=0
	run_lk v6 curl -sf -g "http://[::1]:$port/healthz" || rc=$?
	t_eq "listens on [::1]" "$rc" 0
	t_eq "IPv6: alice" "$(curl -s -g -o /dev/null -w '%{http_code}' "http://[::1]:$port/v1/certs/alice@example.com")" 200
	stop_lk
else
	t_skip "listens on [::1]" "no IPv6 on lo"
fi
lk_conf unix "unix:$T/lk.sock"
rc=0
run_lk unix curl -sf --unix-socket "$T/lk.sock" http://lk/healthz || rc=$?
t_eq "listens on a unix socket" "$rc" 0
t_eq "unix socket: alice" "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$T/lk.sock" http://lk/v1/certs/alice@example.com)" 200
stop_lk
t_fail "unix socket removed at exit" test -e "$T/lk.sock"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/https.key" -out "$T/https.pem" -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 2>/dev/null
chmod 0600 "$T/https.key"	# read as a secret: owner-only
port=$(free_port)
lk_conf tls "$port" "tls_cert = \"$T/https.pem\";" "tls_key = \"$T/https.key\";"
if run_lk tls curl -sf --cacert "$T/https.pem" "https://127.0.0.1:$port/healthz"; then
	t_eq "HTTPS: alice" "$(curl -s --cacert "$T/https.pem" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/v1/certs/alice@example.com")" 200
	t_fail "HTTPS: plain HTTP is not answered" curl -sf -m 3 "http://127.0.0.1:$port/healthz"
else
	t_fail "serves HTTPS with lookup.tls_cert" true
fi
stop_lk

# lookup.user: the secret, CRL and anchors must be readable by that user
if id nobody >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	chmod 0711 "$T"
	cp "$SLAPD_LOOKUP_PW_FILE" "$T/nobody.pw"
	chown nobody "$T/nobody.pw"
	chmod 0400 "$T/nobody.pw"
	port=$(free_port)
	lk_conf user "$port" "user = \"nobody\";"
	sed -i "s|$SLAPD_LOOKUP_PW_FILE|$T/nobody.pw|" "$T/user.conf"
	rc=0
	run_lk user curl -sf "http://127.0.0.1:$port/healthz" || rc=$?
	t_eq "starts with lookup.user" "$rc" 0
	t_eq "runs as nobody" "$(ps -o user= -p "$LK_PID" | tr -d ' ')" nobody
	t_eq "as nobody: alice" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/certs/alice@example.com")" 200
	stop_lk
	chmod 0700 "$T"
else
	t_skip "lookup.user" "needs root and a nobody user"
fi

t_exit "a bad config exits 2" 2 "$LOOKUPD" -f /nonexistent/smimepub.conf --foreground

t_done
