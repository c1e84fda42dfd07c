# dns.sh — real DNS servers for the tests, on loopback, on free ports, in
# temporary directories, in the foreground as root: BIND 9 (named) and Knot
# DNS (knotd), each with one zone that takes RFC 2136 UPDATEs signed with a
# TSIG key made by tsig-keygen. Sourced after slapd.sh (its free-port
# picker and cleanup list).
#   dns_key FILE [NAME]         a hmac-sha256 key in BIND syntax, mode 0600
#   named_start DIR ZONE KEY    BIND; sets NAMED_PORT, NAMED_PID
#   knot_start DIR ZONE KEY [dnssec]   Knot; sets KNOT_PORT, KNOT_PID
#   dns_stop PID                stop one
#   dns_smimea PORT NAME        the SMIMEA RRset at NAME, one record a line,
#                               "U S M HEX" with the hex in upper case
#   dns_owner LOCAL DOMAIN      RFC 8162 owner name (sha256, 28 octets)

dns_key() {
	tsig-keygen -a hmac-sha256 "${2:-smimepub}" >"$1"
	chmod 0600 "$1"
}

_dns_secret() {
	sed -n 's/.*secret "\([^"]*\)".*/\1/p' "$1"
}

_dns_zonefile() {
	cat <<EOZ
\$TTL 300
@ IN SOA ns1.$1. hostmaster.$1. 1 3600 600 86400 300
@ IN NS ns1.$1.
ns1 IN A 127.0.0.1
EOZ
}

# _dns_wait PORT ZONE PID: until the server answers SOA for ZONE (5 s).
_dns_wait() {
	_i=0
	while [ "$_i" -lt 100 ]; do
		if ! kill -0 "$3" 2>/dev/null; then
			return 1
		fi
		if dig +short +tries=1 +time=1 -p "$1" @127.0.0.1 "$2" SOA 2>/dev/null |
		    grep -q hostmaster; then
			return 0
		fi
		sleep 0.05
		_i=$((_i + 1))
	done
	return 1
}

# named_start DIR ZONE KEYFILE [PORT]: a primary for ZONE allowing updates
# signed with KEYFILE's key. Keeps DIR's zone file and journal when called
# again on the same DIR (a restart).
named_start() {
	_d=$1
	mkdir -p "$_d"
	[ -f "$_d/$2.db" ] || _dns_zonefile "$2" >"$_d/$2.db"
	for _try in 1 2 3 4 5; do
		NAMED_PORT=${4:-$(_slapd_free_ports 1)}
		cat >"$_d/named.conf" <<EOC
options {
	directory "$_d";
	listen-on port $NAMED_PORT { 127.0.0.1; };
	listen-on-v6 { none; };
	pid-file "$_d/named.pid";
	session-keyfile "$_d/session.key";
	recursion no;
	dnssec-validation no;
	notify no;
};
controls { };
$(cat "$3")
zone "$2" {
	type primary;
	file "$_d/$2.db";
	allow-update { key "$(sed -n 's/^key "\([^"]*\)".*/\1/p' "$3")"; };
};
EOC
		named -g -n 1 -c "$_d/named.conf" >>"$_d/named.log" 2>&1 &
		NAMED_PID=$!
		if _dns_wait "$NAMED_PORT" "$2" "$NAMED_PID"; then
			slapd_cleanup_add "dns_stop $NAMED_PID"
			return 0
		fi
		dns_stop "$NAMED_PID"
		[ -n "${4:-}" ] && break
	done
	echo "dns.sh: named did not start; its log:" >&2
	tail -20 "$_d/named.log" >&2
	return 1
}

# knot_start DIR ZONE KEYFILE [dnssec [PORT]]
knot_start() {
	_d=$1
	mkdir -p "$_d"
	[ -f "$_d/$2.zone" ] || _dns_zonefile "$2" >"$_d/$2.zone"
	_sign=off
	[ "${4:-}" = dnssec ] && _sign=on
	for _try in 1 2 3 4 5; do
		KNOT_PORT=${5:-$(_slapd_free_ports 1)}
		cat >"$_d/knot.conf" <<EOC
server:
    rundir: "$_d"
    listen: 127.0.0.1@$KNOT_PORT
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$_d"
log:
  - target: stderr
    any: info
key:
  - id: $(sed -n 's/^key "\([^"]*\)".*/\1/p' "$3")
    algorithm: hmac-sha256
    secret: $(_dns_secret "$3")
acl:
  - id: upd
    key: $(sed -n 's/^key "\([^"]*\)".*/\1/p' "$3")
    action: update
policy:
  - id: fast
    algorithm: ecdsap256sha256
    single-type-signing: on
zone:
  - domain: $2
    storage: "$_d"
    file: "$2.zone"
    acl: upd
    dnssec-signing: $_sign
    dnssec-policy: fast
EOC
		knotd -c "$_d/knot.conf" >>"$_d/knot.log" 2>&1 &
		KNOT_PID=$!
		if _dns_wait "$KNOT_PORT" "$2" "$KNOT_PID"; then
			slapd_cleanup_add "dns_stop $KNOT_PID"
			return 0
		fi
		dns_stop "$KNOT_PID"
		[ -n "${5:-}" ] && break
	done
	echo "dns.sh: knotd did not start; its log:" >&2
	tail -20 "$_d/knot.log" >&2
	return 1
}

dns_stop() {
	if kill -0 "$1" 2>/dev/null; then
		kill -TERM "$1" 2>/dev/null || :
		_i=0
		while kill -0 "$1" 2>/dev/null && [ "$_i" -lt 100 ]; do
			sleep 0.05
			_i=$((_i + 1))
		done
		kill -KILL "$1" 2>/dev/null || :
		wait "$1" 2>/dev/null || :
	fi
}

dns_smimea() {
	dig +short +tcp +tries=1 +time=2 -p "$1" @127.0.0.1 "$2" SMIMEA |
	    awk '{ h = ""; for (i = 4; i <= NF; i++) h = h $i;
		print $1, $2, $3, toupper(h) }' | sort
}

dns_owner() {
	printf '%s._smimecert.%s.' "$(printf '%s' "$1" | sha256sum | cut -c1-56)" "$2"
}
