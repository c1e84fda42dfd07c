# bench_lookupd.sh — sourced by scripts/bench.sh after the enrolment figures
# (it uses that run's slapd, $W, $B, $OUT and its helpers); appends the
# smimepub-lookupd figures to the report.
# ======================================================================
# smimepub-lookupd: GET /v1/certs/{mail} with wrk on loopback, appended to
# the report above. One person (bench001) gets a fresh certificate; nginx
# (Debian nginx-light) serves the same DER as a static file on another
# loopback port, with as many workers as lookupd has threads; lookupd
# answers with the DER (Accept: application/pkix-cert) from its cache
# (cache_ttl 300, warmed), then from a second lookupd with cache_ttl 0,
# where every request searches slapd. lookup.rate, batch_rate and
# max_connections_per_ip = 0 (no per-client limit: wrk is one client).
# Each run must answer only 2xx with the same bytes, or the benchmark fails.
#
# Then BENCH_LK_PEOPLE (10,000) more people, bench00001..., each with an
# EC P-256 certificate of its own (rfc822Name = its address) made by
# tests/helpers/bench_people.c and added with one ldapadd (publishing them
# one by one through smimepub would take longer than the benchmark):
#   - uncached lookupd (cache_ttl 0) over all of them, against the raw
#     libldap baseline tests/helpers/ldap_bench.c doing the same searches
#     (the filter lookupd sends, the attributes it asks for) straight to
#     slapd with as many connections as lookupd's pool, and with as many
#     as wrk has;
#   - POST /v1/lookup with 100 recipients a request (cached lookupd);
#   - p99 latency of cached GETs paced at about half the cached peak: wrk
#     has no rate option here, so a Lua delay() of D ms between a
#     connection's requests, with peak/2 x D/1000 connections, for D in
#     LK_DELAYS (1 ms: few connections, as a gateway keeps; 10 ms: many).
#
#   BENCH_LK_SECS   seconds per wrk run (default 10)
#   BENCH_LK_CONNS  wrk connections (default 32), wrk threads = nproc
#   BENCH_LK_PEOPLE people for the uncached and batch runs (default 10000)
# ======================================================================
LK_SECS=${BENCH_LK_SECS:-10}
LK_CONNS=${BENCH_LK_CONNS:-32}
LK_PEOPLE=${BENCH_LK_PEOPLE:-10000}
LK_DELAYS="1 10"
LK_THREADS=$(nproc)
for _p in "$B/smimepub-lookupd" "$B/tests/ldap_bench" "$B/tests/bench_people"; do
	[ -x "$_p" ] || { echo "bench: $_p is missing (make all tests)" >&2; exit 2; }
done
if ! command -v wrk >/dev/null 2>&1 || [ ! -x /usr/sbin/nginx ]; then
	sh "$SRCDIR/scripts/deps.sh"
fi
. "$SRCDIR/tests/lib/certs.sh"

L=$W/lookupd
NG=$(mktemp -d)		# nginx's workers (nobody) read it: not under $W
chmod 0755 "$NG"
LK_PIDS=
lk_stop() {
	for _p in $LK_PIDS; do
		kill -TERM "$_p" 2>/dev/null || :
	done
	for _p in $LK_PIDS; do
		wait "$_p" 2>/dev/null || :
	done
	LK_PIDS=
}
slapd_cleanup_add 'lk_stop; rm -rf "$NG"'
mkdir -p "$L"

lk_port() {
	while :; do
		_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' \n')
		# below the ephemeral range (32768-60999 here), where a
		# client socket could hold the port: 10000-31999
		_pp=$((10000 + _r % 22000))
		ss -Htan 2>/dev/null | awk '{ print $4 }' | grep -q ":$_pp\$" || break
	done
	echo "$_pp"
}
# lk_wait URL: up to 10 s for a 200 on URL
lk_wait() {
	_i=0
	while [ "$_i" -lt 100 ]; do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" = 200 ] && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# --- the certificate, on bench001's entry alone --------------------------
MAIL=bench001@example.com
certs_ca "$L/ca" "bench lookupd CA" >/dev/null 2>&1
certs_leaf "$L/ca" "$L/leaf" "$MAIL" 365 ec >/dev/null 2>&1
printf 'dn: uid=bench001,%s\nchangetype: modify\nreplace: userCertificate;binary\nuserCertificate;binary:< file://%s\n-\ndelete: userSMIMECertificate\n\n' \
    "$SLAPD_PEOPLE" "$L/leaf.der" >"$L/pub.ldif"
ldap_root ldapmodify -c -f "$L/pub.ldif" >/dev/null 2>&1 || :
DER_BYTES=$(wc -c <"$L/leaf.der" | tr -d ' ')

# --- nginx: the same DER as a static file --------------------------------
mkdir -p "$NG/www/v1/certs"
cp "$L/leaf.der" "$NG/www/v1/certs/$MAIL"
chmod -R a+rX "$NG/www"
NG_PORT=$(lk_port)
cat >"$NG/nginx.conf" <<EOC
user nobody nogroup;
worker_processes $LK_THREADS;
daemon off;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/pkix-cert;
  keepalive_requests 1000000;
  open_file_cache max=1000 inactive=60s;
  server {
    listen 127.0.0.1:$NG_PORT;
    root $NG/www;
  }
}
EOC
/usr/sbin/nginx -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" &
LK_PIDS="$LK_PIDS $!"
NG_URL=http://127.0.0.1:$NG_PORT/v1/certs/$MAIL
lk_wait "$NG_URL" || { echo "bench: nginx did not start:" >&2; cat "$NG/error.log" >&2; exit 1; }

# --- lookupd, cached and uncached ----------------------------------------
# lk_start NAME CACHE_TTL: a lookupd in the foreground; sets LK_URL
lk_start() {
	_port=$(lk_port)
	cat >"$L/$1.conf" <<EOC
keys = { discard_passphrase = true; };
directory = {
  uri = "$SLAPD_URI";
  base = "$SLAPD_PEOPLE";
  timeout = 5;
};
lookup = {
  listen = "127.0.0.1:$_port";
  bind_dn = "$SLAPD_LOOKUP_DN";
  bind_password_file = "$SLAPD_LOOKUP_PW_FILE";
  cache_ttl = $2;
  negative_ttl = 0;
  threads = $LK_THREADS;
  pool_size = $LK_THREADS;
  rate = 0;
  batch_rate = 0;
  max_connections_per_ip = 0;
  pid_file = "$L/$1.pid";
};
log = { level = "warn"; };
EOC
	"$B/smimepub-lookupd" -f "$L/$1.conf" --foreground 2>>"$L/$1.log" &
	LK_PIDS="$LK_PIDS $!"
	LK_URL=http://127.0.0.1:$_port/v1/certs/$MAIL
	lk_wait "http://127.0.0.1:$_port/healthz" || {
		echo "bench: smimepub-lookupd ($1) did not start:" >&2
		cat "$L/$1.log" >&2
		exit 1
	}
}
lk_start cached 300
LK_CACHED=$LK_URL
lk_start uncached 0
LK_UNCACHED=$LK_URL

# all three answer the same bytes
for u in "$NG_URL" "$LK_CACHED" "$LK_UNCACHED"; do
	curl -s -H 'Accept: application/pkix-cert' -o "$L/got.der" "$u"
	cmp -s "$L/got.der" "$L/leaf.der" || { echo "bench: $u does not serve the DER" >&2; exit 1; }
done

# wrk_run NAME URL [wrk args...]: "requests/s p50_ms p99_ms"; fails on any
# non-2xx. WRK_CONNS (default LK_CONNS) connections.
wrk_run() {
	_name=$1
	_url=$2
	shift 2
	_c=${WRK_CONNS:-$LK_CONNS}
	echo "bench: wrk ${LK_SECS}s, $_c connections: $_name" >&2
	[ "${WRK_WARM:-2}" = 0 ] ||
	    wrk -t "$LK_THREADS" -c "$_c" -d "${WRK_WARM:-2}s" -H 'Accept: application/pkix-cert' "$@" "$_url" >/dev/null 2>&1
	wrk -t "$LK_THREADS" -c "$_c" -d "${LK_SECS}s" --latency \
	    -H 'Accept: application/pkix-cert' "$@" "$_url" >"$L/wrk.$_name" 2>&1
	set -- "$_name"
	if grep -q 'Non-2xx\|Socket errors' "$L/wrk.$1"; then
		echo "bench: $1: errors under load:" >&2
		cat "$L/wrk.$1" >&2
		exit 1
	fi
	awk '
	function ms(v) {
		if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
		if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
		if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
		return v + 0
	}
	$1 == "50%" { p50 = ms($2) }
	$1 == "99%" { p99 = ms($2) }
	$1 == "Requests/sec:" { rps = $2 }
	END { printf "%.0f %.3f %.3f\n", rps, p50, p99 }' "$L/wrk.$1"
}
LK_LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
R_NG=$(wrk_run nginx "$NG_URL")
R_C=$(wrk_run cached "$LK_CACHED")
R_U=$(wrk_run uncached "$LK_UNCACHED")

# --- BENCH_LK_PEOPLE people with a certificate each ----------------------
echo "bench: $LK_PEOPLE people with a certificate each (bench_people, ldapadd)" >&2
"$B/tests/bench_people" "$L/ca/ca.pem" "$L/ca/ca.key" "$LK_PEOPLE" bench \
    "$SLAPD_PEOPLE" >"$L/people.ldif"
ldap_root ldapadd -f "$L/people.ldif" >"$L/people.log" 2>&1 || {
	echo "bench: ldapadd of $LK_PEOPLE people failed:" >&2
	tail -n 5 "$L/people.log" >&2
	exit 1
}
rm -f "$L/people.ldif"
awk -v n="$LK_PEOPLE" 'BEGIN { for (i = 1; i <= n; i++) printf "bench%05d@example.com\n", i }' \
    >"$L/addrs"
LK_URL_BASE=${LK_CACHED%%/v1/*}
LK_U_BASE=${LK_UNCACHED%%/v1/*}
for u in "$LK_U_BASE/v1/certs/bench00001@example.com" \
    "$LK_U_BASE/v1/certs/bench$(printf %05d "$LK_PEOPLE")@example.com"; do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$u")" = 200 ] ||
	    { echo "bench: $u is not 200" >&2; exit 1; }
done

# GETs cycling over every person; each wrk thread starts elsewhere, so no
# two connections ask for one address at once (no shared miss)
cat >"$L/people.lua" <<EOL
local n, N = 0, $LK_PEOPLE
local tid = 0
function setup(thread) thread:set("id", tid); tid = tid + 1 end
function init(args) n = (id or 0) * 4999 end
request = function()
	n = n + 1
	return wrk.format("GET", string.format("/v1/certs/bench%05d@example.com",
	    n % N + 1), { ["Accept"] = "application/pkix-cert" })
end
EOL
# the warm-up: every person once (each wrk thread its half, then it stops),
# so the run measures a daemon that has been up: each certificate seen and
# parsed once already, as its values rarely change
cat >"$L/warm.lua" <<EOL
local N, T = $LK_PEOPLE, $LK_THREADS
local tid = 0
function setup(thread) thread:set("id", tid); tid = tid + 1 end
local first, last, n, done
function init(args)
	first = math.floor((id or 0) * N / T) + 1
	last = math.floor(((id or 0) + 1) * N / T)
	n, done = first - 1, 0
end
request = function()
	if n < last then n = n + 1 end
	return wrk.format("GET", string.format("/v1/certs/bench%05d@example.com", n),
	    { ["Accept"] = "application/pkix-cert" })
end
response = function(status, headers, body)
	done = done + 1
	if done >= last - first + 1 then wrk.thread:stop() end
end
EOL
echo "bench: warm-up, every person once" >&2
wrk -t "$LK_THREADS" -c "$LK_CONNS" -d 120s -s "$L/warm.lua" "$LK_U_BASE/" >"$L/wrk.warm" 2>&1
R_U10=$(WRK_WARM=0 wrk_run uncached10k "$LK_U_BASE/" -s "$L/people.lua")

# the raw libldap baseline: lookupd's filter and attributes, straight to slapd
# ldap_raw NAME CONNECTIONS: "searches/s p50_ms p99_ms"
ldap_raw() {
	echo "bench: ldap_bench ${LK_SECS}s, $2 connections" >&2
	"$B/tests/ldap_bench" -H "$SLAPD_URI" -D "$SLAPD_LOOKUP_DN" \
	    -y "$SLAPD_LOOKUP_PW_FILE" -b "$SLAPD_PEOPLE" \
	    -f '(&(&(objectClass=inetOrgPerson)(mail=*))(mail=%s))' \
	    -a "$L/addrs" -t "$2" -d 2 >/dev/null
	"$B/tests/ldap_bench" -H "$SLAPD_URI" -D "$SLAPD_LOOKUP_DN" \
	    -y "$SLAPD_LOOKUP_PW_FILE" -b "$SLAPD_PEOPLE" \
	    -f '(&(&(objectClass=inetOrgPerson)(mail=*))(mail=%s))' \
	    -a "$L/addrs" -t "$2" -d "$LK_SECS" >"$L/raw.$1" || {
		echo "bench: ldap_bench ($1) failed: $(cat "$L/raw.$1")" >&2
		exit 1
	}
	cut -d' ' -f1-3 "$L/raw.$1"
}
R_RAW=$(ldap_raw pool "$LK_THREADS")
R_RAWC=$(ldap_raw conns "$LK_CONNS")

# POST /v1/lookup, 100 recipients a request, cycling over every person
cat >"$L/batch.lua" <<EOL
local bodies, n = {}, 0
local N = math.floor($LK_PEOPLE / 100)
local tid = 0
function setup(thread) thread:set("id", tid); tid = tid + 1 end
function init(args)
	for b = 0, N - 1 do
		local r = {}
		for i = 1, 100 do
			r[i] = string.format('"bench%05d@example.com"', b * 100 + i)
		end
		bodies[b + 1] = '{"recipients":[' .. table.concat(r, ",") .. ']}'
	end
	n = (id or 0) * 37
end
request = function()
	n = n + 1
	return wrk.format("POST", "/v1/lookup",
	    { ["Content-Type"] = "application/json" }, bodies[n % N + 1])
end
EOL
# every batch once first, so the run measures cached answers (a cold batch
# is 100 searches of slapd in a row)
awk -v n="$LK_PEOPLE" 'BEGIN { for (b = 0; b < int(n / 100); b++) {
	printf "{\"recipients\":["
	for (i = 1; i <= 100; i++) printf "%s\"bench%05d@example.com\"", (i > 1 ? "," : ""), b * 100 + i
	printf "]}\n" } }' >"$L/batches"
while IFS= read -r body; do
	curl -s -o /dev/null -X POST --data-binary "$body" "$LK_URL_BASE/v1/lookup"
done <"$L/batches"
nfound=$(head -n 1 "$L/batches" | curl -s -X POST --data-binary @- "$LK_URL_BASE/v1/lookup" |
    grep -o '"status":"found"' | wc -l | tr -d ' ')
[ "$nfound" = 100 ] || { echo "bench: a batch of 100 found $nfound" >&2; exit 1; }
R_B=$(wrk_run batch100 "$LK_URL_BASE/" --timeout 10s -s "$L/batch.lua")

# cached GETs paced at about half the cached peak, with each of LK_DELAYS
# ms between a connection's requests (so few connections, or many)
LK_HALF=$(echo "$R_C" | awk '{ printf "%d", $1 / 2 }')
# paced DELAY: a row for lookupd and one for nginx into $L/paced.rows
paced() {
	_d=$1
	_hc=$(echo "$LK_HALF" | awk -v d="$_d" '{ c = int($1 * d / 1000 + 0.5); if (c < 1) c = 1; if (c > 1000) c = 1000; print c }')
	echo "function delay() return $_d end" >"$L/paced$_d.lua"
	_r=$(WRK_CONNS=$_hc wrk_run "paced$_d" "$LK_CACHED" -s "$L/paced$_d.lua")
	# each request's own latency adds to the wait: up to twice, more
	# connections in proportion when the rate fell short of the target
	# by more than a tenth
	for _try in 1 2; do
		_hc2=$(echo "$_r" | awk -v c="$_hc" -v t="$LK_HALF" '{
			if ($1 > 0 && $1 < 0.9 * t) { c = int(c * t / $1 + 0.5); if (c > 1000) c = 1000 }
			print c }')
		[ "$_hc2" != "$_hc" ] || break
		_hc=$_hc2
		_r=$(WRK_CONNS=$_hc wrk_run "paced$_d" "$LK_CACHED" -s "$L/paced$_d.lua")
	done
	# the same paced load on nginx: what wrk and this machine add by themselves
	_rn=$(WRK_CONNS=$_hc wrk_run "paced$_d-nginx" "$NG_URL" -s "$L/paced$_d.lua")
	echo "$LK_HALF $_hc $_r" | awk -v d="$_d" '{ printf "| lookupd, cached | %d ms | %d | %d | %d | %.3f | %.3f |\n", d, $1, $3, $2, $4, $5 }' >>"$L/paced.rows"
	echo "$LK_HALF $_hc $_rn" | awk -v d="$_d" '{ printf "| nginx, static file, the same load | %d ms | %d | %d | %d | %.3f | %.3f |\n", d, $1, $3, $2, $4, $5 }' >>"$L/paced.rows"
}
: >"$L/paced.rows"
for _d in $LK_DELAYS; do
	paced "$_d"
done
LK_LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
lk_stop
NGINX_V=$(/usr/sbin/nginx -v 2>&1 | sed 's/^nginx version: //')
WRK_V=$(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }')

# lk_row PATH "rps p50 p99" "base rps p50 p99" [cached rps]
lk_row() {
	echo "$2 $3 ${4:-}" | awk -v p="$1" '{
		printf "| %s | %d | %.3f | %.3f | %.2f |", p, $1, $2, $3, $1 / $4
		if (NF >= 7) printf " %.2f |\n", $1 / $7; else printf " |\n"
	}'
}
{
	cat <<EOF

## smimepub-lookupd: GET /v1/certs/{mail}

- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); load average $LK_LOAD0 before, $LK_LOAD1 after
- machine: $(nproc) CPUs, $CPU_MODEL; wrk, smimepub-lookupd, nginx and slapd on the same machine, over loopback
- software: $NGINX_V (nginx-light), $WRK_V, libmicrohttpd $(dpkg-query -W -f='${Version}' libmicrohttpd12 2>/dev/null || echo '?'), smimepub at $(git -C "$SRCDIR" rev-parse --short HEAD 2>/dev/null || echo '?')

| server | requests/s | p50 ms | p99 ms | vs nginx | vs lookupd cached |
|---|---:|---:|---:|---:|---:|
EOF
	lk_row 'nginx, static file' "$R_NG" "$R_NG"
	lk_row 'lookupd, cached (`cache_ttl = 300`)' "$R_C" "$R_NG" "$R_C"
	lk_row 'lookupd, uncached (`cache_ttl = 0`: one slapd search per request)' "$R_U" "$R_NG" "$R_C"
	cat <<EOF

Each row is one wrk run of ${LK_SECS} s after a 2 s warm-up, $LK_CONNS
connections, $LK_THREADS wrk threads, at full load (the latencies are those
at the peak rate; the paced run below gives them at half of it). Every
answer is the same $DER_BYTES-byte DER certificate (EC P-256) of
\`$MAIL\`, checked byte for byte before the runs; a non-2xx answer or a socket
error fails the benchmark. "vs nginx" is requests/s over nginx's; "vs
lookupd cached" is requests/s over the cached lookupd's. The issue's bar:
cached at least 0.8x nginx.

### Uncached over $LK_PEOPLE people, against raw libldap

| client | connections to slapd | lookups/s | p50 ms | p99 ms | vs raw, same connections to slapd |
|---|---:|---:|---:|---:|---:|
EOF
	echo "$R_RAW" | awk -v c="$LK_THREADS" '{ printf "| raw libldap (ldap_bench), %d threads | %d | %d | %.3f | %.3f | 1.00 |\n", c, c, $1, $2, $3 }'
	echo "$R_RAWC" | awk -v c="$LK_CONNS" '{ printf "| raw libldap (ldap_bench), %d threads | %d | %d | %.3f | %.3f | |\n", c, c, $1, $2, $3 }'
	echo "$R_U10 $R_RAW" | awk -v c="$LK_THREADS" -v w="$LK_CONNS" '{ printf "| lookupd, `cache_ttl = 0`, wrk %d connections | %d (pool) | %d | %.3f | %.3f | %.2f |\n", w, c, $1, $2, $3, $1 / $4 }'
	cat <<EOF

$LK_PEOPLE people \`bench00001\`...: each has its own EC P-256 certificate
(rfc822Name = the address, emailProtection, signed by the bench CA; made by
\`tests/helpers/bench_people\`, all sharing one key pair, and added with one
ldapadd). lookupd runs with \`cache_ttl = 0\` and \`negative_ttl = 0\`, so
each request is one search of slapd, over its pool of $LK_THREADS
connections with up to \`pool_depth\` (8) searches in flight on each
(sent before the first answer is read, so a connection does not wait a
round trip between two searches), and a judgement of the certificate
found. The parse of a certificate is kept by its DER bytes (up to
lookup.cache_max of them: OpenSSL 3.0 takes about 0.25 ms to parse an EC
certificate here, more than the search); the warm-up before the run asks
for every person once (each wrk thread its half, then it stops), so the
run measures a daemon that has been up a while, with each certificate
parsed once already. wrk then cycles through every address for
${LK_SECS} s (each thread from another place, so no two requests share a
miss) and every answer must be 200.
\`tests/helpers/ldap_bench\` is the baseline: THREADS threads, each with its own
connection and simple bind as lookupd's read-only account, searching with the
filter lookupd sends, \`(&(&(objectClass=inetOrgPerson)(mail=*))(mail=ADDR))\`,
for the attributes lookupd asks for, one address after another; a search
that does not find exactly one entry with a certificate counts as an error
and fails the benchmark. "vs raw" compares lookupd with the baseline holding
as many connections to slapd as lookupd's pool (the issue's bar: at least
0.8x); the baseline with $LK_CONNS connections shows what more connections
to slapd would give.

### POST /v1/lookup, 100 recipients a request (cached)

| requests/s | recipients/s | p50 ms | p99 ms | recipients/s vs cached GET requests/s |
|---:|---:|---:|---:|---:|
EOF
	echo "$R_B $R_C" | awk '{ printf "| %d | %d | %.3f | %.3f | %.2f |\n", $1, $1 * 100, $2, $3, $1 * 100 / $4 }'
	cat <<EOF

wrk ($LK_CONNS connections) posts \`{"recipients": [...]}\` with 100 of the
$LK_PEOPLE people at a time, cycling, to the cached lookupd (each answer is
JSON holding every recipient's certificates as PEM); every batch is posted
once before the run (so the run measures cached answers), and one is
checked to find all 100.

### Latency at half the cached peak

| server | delay | target requests/s | achieved requests/s | connections | p50 ms | p99 ms |
|---|---:|---:|---:|---:|---:|---:|
EOF
	cat "$L/paced.rows"
	cat <<EOF

Debian's wrk has no rate option: each connection waits a fixed delay
(a Lua \`delay()\`: 1 ms, then 10 ms) before its next request, and the
connections are peak/2 x delay/1000, so the rate is about half the cached
peak above (a little less: each request's own latency adds to the wait, so
when a run falls short of the target by more than a tenth it is run again
with proportionally more connections, twice at most, at most 1000; the
table shows the last run). The issue's bar: p99 under 2 ms at half the
peak rate; it names no number of connections, so both are shown: with a
1 ms delay the rate comes from a few dozen busy connections (as a mail
gateway's connection pool), with 10 ms from hundreds of mostly idle ones,
where each wake-up of the HTTP threads serves fewer requests. Each nginx
row puts the same connections and pacing on nginx: the latency that wrk,
sharing the two CPUs, and the machine add whatever the server.

Commands (\`scripts/bench.sh\`, after the enrolment figures, same slapd;
\`scripts/bench_lookupd.sh\` holds the Lua scripts):

\`\`\`
# nginx.conf: worker_processes $LK_THREADS; access_log off; keepalive_requests 1000000;
#             open_file_cache max=1000 inactive=60s;
#             server { listen 127.0.0.1:PORT; root www; }  # www/v1/certs/$MAIL = the DER
nginx -p DIR -c DIR/nginx.conf -e DIR/error.log      # daemon off
# lookupd.conf: lookup = { listen = "127.0.0.1:PORT"; bind_dn = (read-only);
#   cache_ttl = 300 (cached) or 0 (uncached); negative_ttl = 0;
#   threads = $LK_THREADS; pool_size = $LK_THREADS; (pool_depth = 8, the default);
#   rate = 0; batch_rate = 0; max_connections_per_ip = 0; }; log.level = "warn"
$BUILD/smimepub-lookupd -f lookupd.conf --foreground
wrk -t $LK_THREADS -c $LK_CONNS -d 2s -H 'Accept: application/pkix-cert' URL          # warm-up
wrk -t $LK_THREADS -c $LK_CONNS -d ${LK_SECS}s --latency -H 'Accept: application/pkix-cert' URL
    # URL: http://127.0.0.1:PORT/v1/certs/$MAIL on each server
$BUILD/tests/bench_people ca.pem ca.key $LK_PEOPLE bench ou=people,... | ldapadd ...
wrk -t $LK_THREADS -c $LK_CONNS -d 120s -s warm.lua http://127.0.0.1:PORT/   # every person once, then stop
wrk ... -s people.lua http://127.0.0.1:PORT/            # uncached lookupd, every person
$BUILD/tests/ldap_bench -H ldap://... -D (read-only) -y PWFILE -b ou=people,... \\
    -f '(&(&(objectClass=inetOrgPerson)(mail=*))(mail=%s))' -a addrs -t $LK_THREADS -d ${LK_SECS}
wrk ... -s batch.lua http://127.0.0.1:PORT/             # POST /v1/lookup, 100 a request
wrk -t $LK_THREADS -c CONNS -d ${LK_SECS}s --latency -s paced.lua URL  # delay() = 1 and 10 ms
\`\`\`
EOF
} >>"$OUT"
echo "bench: appended smimepub-lookupd figures to $OUT" >&2
sed -n '/^## smimepub-lookupd/,$p' "$OUT"
