#!/bin/sh
# keys.pool_size: smimepub-sync as a daemon fills a pool of keys in idle
# time ("key pool: 5 ec:P-256 keys ready"); new hires added to the
# directory then take their keys from it, one each. Every published
# certificate has its own key, which is the one in the person's delivered
# PKCS#12; no private key is anywhere in the clear under the state and
# delivery directories. SIGHUP with another keys.type discards the pool;
# SIGTERM while an RSA-4096 key is being generated for the pool exits at
# once; --once keeps no pool.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

T=$(mktemp -d)
SPID=
slapd_cleanup_add '[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null; rm -rf "$T"'
slapd_start

# a delivery command that keeps each PKCS#12's passphrase (for the test)
mkdir -p "$T/pass" "$T/x"
cat >"$T/hand-over" <<EOS
#!/bin/sh
umask 077
cat > "$T/pass/\$SMIMEPUB_MAIL"
EOS
chmod 0700 "$T/hand-over"

# conf TYPE: the configuration, pool of 5 keys of TYPE
conf() {
	cat >"$T/smimepub.conf" <<EOC
$(slapd_conf_directory)
};
ca = { driver = "local"; local = { dir = "$T/ca"; }; };
keys = {
  type = "$1";
  delivery_dir = "$T/delivery";
  delivery_command = "$T/hand-over";
  pkcs12_iterations = 10000;
  pool_size = 5;
};
sync = { state_dir = "$T/state"; interval = 3600; watch_interval = 1; };
log = { level = "debug"; };
EOC
}
conf ec:P-256
C=$T/smimepub.conf
ncerts() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' 'userCertificate;binary' 2>/dev/null |
	    grep -c '^userCertificate;binary::' || true
}
# the daemon's last word on the pool
last_kp() { grep -F 'key pool:' "$T/sync.log" | tail -n 1; }
# wait_full: until that is "5 ec:P-256 keys ready"
wait_full() {
	_i=0
	until last_kp | grep -qF "5 ec:P-256 keys ready" || [ "$_i" -ge 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}
# wait_log TEXT SECS: until the daemon's log has TEXT
wait_log() {
	_i=0
	until grep -qF "$1" "$T/sync.log" || [ "$_i" -ge $(($2 * 10)) ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}

t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
"$SYNC" -f "$C" --foreground >"$T/sync.log" 2>&1 &
SPID=$!
wait_log "key pool: 5 ec:P-256 keys ready" 30
t_contains "the pool fills in idle time" "$(cat "$T/sync.log")" "key pool: 5 ec:P-256 keys ready"
# the filler may fill the pool before the first pass starts: wait for it
wait_log "pass done" 60
t_eq "the first pass published alice" "$(ncerts alice)" 1
t_contains "private keys are in a secure heap" "$(cat "$T/sync.log")" "key pool: private keys in a"

# four new hires at once: fewer than the pool holds
HIRES="hire1 hire2 hire3 hire4"
for u in $HIRES; do
	printf 'dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: New %s\nsn: %s\nmail: %s@example.com\n\n' \
	    "$u" "$SLAPD_PEOPLE" "$u" "$u" "$u" "$u"
done >"$T/hires.ldif"
# the first pass took keys too (the filler had a head start): full again
wait_log "pass done" 30
wait_full
ready_at=$(grep -n "keys ready" "$T/sync.log" | tail -n 1 | cut -d: -f1)
ldap_root ldapadd -f "$T/hires.ldif" >/dev/null
i=0
until [ "$(ncerts hire4)" = 1 ] && [ "$(ncerts hire1)" = 1 ] || [ $i -ge 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
n=0
for u in $HIRES; do
	[ "$(ncerts "$u")" = 1 ] && n=$((n + 1))
done
t_eq "the four hires are published" "$n" 4
took=$(sed -n "$((ready_at + 1)),\$p" "$T/sync.log" | grep -c "key pool: took a ec:P-256 key" || true)
t_eq "each hire took one key from the pool" "$took" 4
wait_full
t_contains "the pool refilled after the burst" "$(last_kp)" "key pool: 5 ec:P-256 keys ready"

# every certificate's key: its own, and the one its PKCS#12 delivered
: >"$T/x/pubs"
bad=
for u in alice bob carol $HIRES; do
	ldap_root ldapsearch -LLL -o ldif-wrap=no -tt -T "$T/x" -b "$(slapd_people_dn "$u")" \
	    -s base '(objectClass=*)' 'userCertificate;binary' >"$T/x/$u.ldif"
	der=$(sed -n 's|^[^:]*:< file://||p' "$T/x/$u.ldif" | head -n 1)
	cpub=$(openssl x509 -inform DER -in "$der" -noout -pubkey 2>/dev/null |
	    openssl pkey -pubin -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
	echo "$cpub" >>"$T/x/pubs"
	p12=$(ls "$T/delivery/$u@example.com".*.p12 2>/dev/null | head -n 1)
	if [ -z "$p12" ] || ! openssl pkcs12 -in "$p12" -passin "file:$T/pass/$u@example.com" \
	    -nocerts -nodes -out "$T/x/$u.key" 2>/dev/null; then
		bad="$bad $u(no PKCS#12)"
		continue
	fi
	kpub=$(openssl pkey -in "$T/x/$u.key" -pubout -outform DER 2>/dev/null |
	    sha256sum | cut -d' ' -f1)
	[ "$kpub" = "$cpub" ] || bad="$bad $u"
	# the private scalar, as hex, to look for in the state and delivery
	# (P-256: the last 32 bytes; the text may have a leading 00)
	openssl pkey -in "$T/x/$u.key" -noout -text 2>/dev/null |
	    sed -n '/^priv:/,/^pub:/p' | sed '1d;$d' | tr -d ' :\n' |
	    awk 'length($0) >= 64 { print substr($0, length($0) - 63) }' >"$T/x/$u.priv"
done
t_eq "the certificates of 7 people have 7 different keys" \
    "$(sort -u "$T/x/pubs" | grep -c .)" 7
t_eq "each certificate's key is the one in that person's PKCS#12" "$bad" ""
t_fail "a wrong passphrase does not open a PKCS#12" \
    openssl pkcs12 -in "$p12" -passin pass:wrong -nocerts -nodes -out /dev/null
t_eq "no PEM private key under the state and delivery dirs" \
    "$(grep -rl 'PRIVATE KEY' "$T/state" "$T/delivery" 2>/dev/null || true)" ""
# scan FILE...: "person:file" for every private scalar found in a file
scan() {
	for _f in "$@"; do
		od -An -v -tx1 "$_f" | tr -d ' \n' >"$T/x/hex"
		for _u in alice bob carol $HIRES; do
			if [ ! -s "$T/x/$_u.priv" ]; then
				printf ' %s(no scalar)' "$_u"
			elif grep -qF "$(cat "$T/x/$_u.priv")" "$T/x/hex"; then
				printf ' %s:%s' "$_u" "$_f"
			fi
		done
	done
}
openssl pkey -in "$T/x/hire2.key" -outform DER -out "$T/x/hire2.der"
t_contains "the scan finds a key left in the clear (DER)" "$(scan "$T/x/hire2.der")" "hire2:"
t_eq "no private key's bytes in the clear in any file there" \
    "$(scan $(find "$T/state" "$T/delivery" -type f))" ""

# SIGHUP with another type: the pool goes; SIGTERM does not wait for the
# RSA-4096 keys the filler is now making
conf rsa:4096
kill -HUP "$SPID"
wait_log "keys discarded" 10
t_contains "a new keys.type discards the pool" "$(cat "$T/sync.log")" \
    "key pool: 5 ec:P-256 keys discarded (now 5 rsa:4096)"
sleep 0.3
t0=$(date +%s%N)
kill -TERM "$SPID"
rc=0
wait "$SPID" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
SPID=
t_eq "SIGTERM ends it with status 0" "$rc" 0
echo "# exit ${ms} ms after SIGTERM, rsa:4096 keys in the making"
t_ok "SIGTERM mid RSA-4096 generation exits within 1.5 s (${ms} ms)" test "$ms" -lt 1500
t_not_contains "the pool never filled with rsa:4096 before it" \
    "$(cat "$T/sync.log")" "5 rsa:4096 keys ready"

conf ec:P-256
out=$("$SYNC" -f "$C" --once 2>&1) || :
t_not_contains "--once keeps no pool" "$out" "key pool"
t_done
