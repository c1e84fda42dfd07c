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
# where every request searches slapd. lookup.rate = 0 (no per-client
# limit: wrk is one client). Each run must answer only 2xx with the same
# bytes, or the benchmark fails.
#
#   BENCH_LK_SECS   seconds per wrk run (default 10; three runs)
#   BENCH_LK_CONNS  wrk connections (default 32), wrk threads = nproc
# ======================================================================
LK_SECS=${BENCH_LK_SECS:-10}
LK_CONNS=${BENCH_LK_CONNS:-32}
LK_THREADS=$(nproc)
[ -x "$B/smimepub-lookupd" ] || { echo "bench: $B/smimepub-lookupd is missing (make all)" >&2; exit 2; }
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
		_pp=$((32000 + _r % 8000))
		ss -Htln 2>/dev/null | awk '{ print $4 }' | grep -q ":$_pp\$" || break
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

# wrk_run NAME URL: "requests/s p50_ms p99_ms"; fails on any non-2xx
wrk_run() {
	echo "bench: wrk ${LK_SECS}s, $LK_CONNS connections: $1" >&2
	wrk -t "$LK_THREADS" -c "$LK_CONNS" -d 2s -H 'Accept: application/pkix-cert' "$2" >/dev/null 2>&1
	wrk -t "$LK_THREADS" -c "$LK_CONNS" -d "${LK_SECS}s" --latency \
	    -H 'Accept: application/pkix-cert' "$2" >"$L/wrk.$1" 2>&1
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
at the peak rate, not at a fixed lower rate: Debian's wrk has no rate
option). Every answer is the same $DER_BYTES-byte DER certificate (EC P-256) of
\`$MAIL\`, checked byte for byte before the runs; a non-2xx answer or a socket
error fails the benchmark. "vs nginx" is requests/s over nginx's; "vs
lookupd cached" is requests/s over the cached lookupd's. The issue's bars:
cached at least 0.8x nginx; uncached is compared here with the cached rate
only (the raw-libldap client baseline, the 10,000-people uncached run and
the 100-recipient batch are not measured yet).

Commands (\`scripts/bench.sh\`, after the enrolment figures, same slapd):

\`\`\`
# nginx.conf: worker_processes $LK_THREADS; access_log off; keepalive_requests 1000000;
#             open_file_cache max=1000 inactive=60s;
#             server { listen 127.0.0.1:PORT; root www; }  # www/v1/certs/$MAIL = the DER
nginx -p DIR -c DIR/nginx.conf -e DIR/error.log      # daemon off
# lookupd.conf: lookup = { listen = "127.0.0.1:PORT"; bind_dn = (read-only);
#   cache_ttl = 300 (cached) or 0 (uncached); negative_ttl = 0;
#   threads = $LK_THREADS; pool_size = $LK_THREADS; rate = 0; }; log.level = "warn"
$BUILD/smimepub-lookupd -f lookupd.conf --foreground
wrk -t $LK_THREADS -c $LK_CONNS -d 2s -H 'Accept: application/pkix-cert' URL          # warm-up
wrk -t $LK_THREADS -c $LK_CONNS -d ${LK_SECS}s --latency -H 'Accept: application/pkix-cert' URL
    # URL: http://127.0.0.1:PORT/v1/certs/$MAIL on each server
\`\`\`
EOF
} >>"$OUT"
echo "bench: appended smimepub-lookupd figures to $OUT" >&2
sed -n '/^| server/,/^$/p' "$OUT"
