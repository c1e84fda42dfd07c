#!/bin/sh
# A standby pair on a replicated directory (issue 18, DESIGN.md "Scaling
# out"): two slapd providers in multi-provider replication whose links run
# through two TCP relays the test cuts. Instance A talks to provider 1,
# instance B to provider 2; both name provider 1 as the lease authority
# (sync.lease_uri). Started at the same moment, exactly one becomes active
# and the CA issues one certificate per person; with the replication cut
# the standby (still reaching the authority) never takes over while the
# holder renews; the holder killed -9, the standby takes over, waits for
# its replica to catch up with the authority before its first pass, and
# enrols nobody the former holder had enrolled.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

N=${REPLICAS_PEOPLE:-150}	# people per round
if [ "$BUILD" != build ] && [ -z "${REPLICAS_PEOPLE:-}" ]; then
	N=50
	echo "# $BUILD: $N people per round, not 150 (the sanitizer build enrols several times slower)"
fi
ROUNDS=5
T=$(mktemp -d)
APID= BPID= PX1= PX2=
slapd_cleanup_add 'for p in $APID $BPID $PX1 $PX2; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"'
SLAPD_SYNCPROV=1
SLAPD_SERVER_ID=1
slapd_start
slapd_second 2
P1=$SLAPD_URI
P2=$SLAPD2_URI

# the replication of each provider from the other runs through a relay
ports=$(_slapd_free_ports 2)
X=${ports% *}	# relay to provider 1 (provider 2 reads through it)
Y=${ports#* }	# relay to provider 2 (provider 1 reads through it)
listening() { ss -Htln 2>/dev/null | awk '{ print $4 }' | grep -q ":$1\$"; }
wait_for() {	# wait_for SECONDS COMMAND...: until COMMAND succeeds
	_end=$(( $(date +%s) + $1 ))
	shift
	until "$@" || [ "$(date +%s)" -ge "$_end" ]; do sleep 0.2; done
	"$@"
}
# replication lags 200 ms each way, as between two sites
link_up() {
	python3 "$SRCDIR/tests/lib/tcpproxy.py" "$X" "$SLAPD_PORT" 200 &
	PX1=$!
	python3 "$SRCDIR/tests/lib/tcpproxy.py" "$Y" "$SLAPD2_PORT" 200 &
	PX2=$!
	wait_for 10 listening "$X" && wait_for 10 listening "$Y"
}
link_cut() {
	kill -9 $PX1 $PX2
	wait $PX1 $PX2 2>/dev/null || true
	PX1= PX2=
}
link_up
slapd_multiprovider "$SLAPD_LDAPI_URI" 002 "ldap://127.0.0.1:$Y" "$SLAPD2_ROOT_PW_FILE"
slapd_multiprovider "$SLAPD2_LDAPI_URI" 001 "ldap://127.0.0.1:$X" "$SLAPD_ROOT_PW_FILE"

# N people on provider 1
i=0
while [ "$i" -lt "$N" ]; do
	printf 'dn: uid=p%03d,%s\nobjectClass: inetOrgPerson\nuid: p%03d\ncn: P %03d\nsn: P\nmail: p%03d@example.com\n\n' \
	    "$i" "$SLAPD_PEOPLE" "$i" "$i" "$i"
	i=$((i + 1))
done >"$T/people.ldif"
ldap_root ldapadd -f "$T/people.ldif" >/dev/null
for u in alice bob carol dup1 dup2; do	# the sample people: ours only
	ldap_root ldapdelete "$(slapd_people_dn "$u")"
done
# on1/on2 CMD...: an ldap tool as the rootdn against provider 1 / 2
on1() { ldap_root "$@"; }
on2() { ldap_root2 "$@"; }
npeople() { "$1" ldapsearch -LLL -b "$SLAPD_PEOPLE" '(uid=p*)' 1.1 2>/dev/null | grep -c '^dn:' || true; }
wait_for 30 eval '[ "$(npeople on2)" = "$N" ]' || true
t_eq "provider 2 has the $N people by replication" "$(npeople on2)" "$N"

# "ONES MORE": people with exactly one certificate, people with more
certs() {
	"$1" ldapsearch -LLL -o ldif-wrap=no -b "$SLAPD_PEOPLE" "${2:-(uid=p*)}" \
	    'userCertificate;binary' 2>/dev/null | awk '
	    /^dn:/ { if (seen) { if (n == 1) o++; else if (n > 1) m++ } seen = 1; n = 0 }
	    /^userCertificate;binary::/ { n++ }
	    END { if (seen) { if (n == 1) o++; else if (n > 1) m++ } print o + 0, m + 0 }'
}
lease() { on1 ldapsearch -LLL -o ldif-wrap=no -b "$LEASE" -s base description 2>/dev/null | sed -n 's/^description: //p'; }
LEASE="cn=lease,$SLAPD_SVC_DN"
conf() {	# conf NAME URI: instance NAME on URI; the lease on provider 1
	cat >"$T/$1.conf" <<EOC
directory = {
  uri = "$2";
  bind_dn = "$SLAPD_SVC_DN";
  bind_password_file = "$SLAPD_SVC_PW_FILE";
  base = "$SLAPD_PEOPLE";
  filter = "(&(objectClass=inetOrgPerson)(mail=*)(!(uid=dup*)))";
};
ca = { driver = "local"; local = { dir = "$T/ca"; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/$1.delivery"; discard_passphrase = true; };
sync = { state_dir = "$T/$1.state"; interval = 3600; watch_interval = 1;
         lease_dn = "$LEASE"; lease_ttl = 10; lease_uri = "$P1"; };
log = { audit_file = "$T/$1.audit"; };
EOC
}
conf a "$P1"
conf b "$P2"
A=$T/a.conf
B=$T/b.conf
t_exit "sync.lease_uri is one server, not a list" 2 sh -c \
    "sed 's|lease_uri = \"$P1\"|lease_uri = \"$P1 $P2\"|' '$A' >'$T/bad.conf' && '$SMIMEPUB' -f '$T/bad.conf' check-config"
t_contains "the error names the key" "$T_OUT" "sync.lease_uri"
t_exit "sync.lease_uri without sync.lease_dn" 2 sh -c \
    "sed 's|lease_dn = \"$LEASE\";||' '$A' >'$T/bad.conf' && '$SMIMEPUB' -f '$T/bad.conf' check-config"
t_contains "says it needs sync.lease_dn" "$T_OUT" "is only used with sync.lease_dn"
t_ok "ca init" "$SMIMEPUB" -f "$A" ca init
t_contains "check-config shows sync.lease_uri" "$("$SMIMEPUB" -f "$A" check-config)" "$P1"
issued() { "$SMIMEPUB" -f "$A" ca list | grep -c . || true; }
logged() { grep -q "$2" "$T/$1.log" 2>/dev/null; }
start() {	# start a|b [GATE]: GATE, a FIFO, opened for writing lets it go
	if [ -n "${2:-}" ]; then
		sh -c ': <"$1"; exec "$2" -f "$3" --foreground' sh "$2" "$SYNC" \
		    "$T/$1.conf" >"$T/$1.log" 2>&1 &
	else
		"$SYNC" -f "$T/$1.conf" --foreground >"$T/$1.log" 2>&1 &
	fi
	eval "$(echo "$1" | tr ab AB)PID=$!"
}
stop_both() {
	for p in $APID $BPID; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $APID $BPID; do wait "$p" 2>/dev/null || true; done
	APID= BPID=
}
# a clean start: no certificate on anyone (on both providers), no lease
# entry, empty journals
reset() {
	awk '/^dn:/ { printf "%s\nchangetype: modify\ndelete: userCertificate;binary\n-\ndelete: userSMIMECertificate\n\n", $0 }' \
	    "$T/people.ldif" | on1 ldapmodify -c >/dev/null 2>&1 || true
	on1 ldapdelete "$LEASE" >/dev/null 2>&1 || true
	wait_for 30 eval '[ "$(certs on2)" = "0 0" ] && [ "$(certs on1)" = "0 0" ]' || true
	wait_for 30 eval '! on2 ldapsearch -LLL -b "$LEASE" -s base 1.1 >/dev/null 2>&1' || true
	rm -rf "$T/a.state" "$T/b.state" "$T/a.delivery" "$T/b.delivery"
}
done_both() { [ "$(certs on1)" = "$N 0" ] && [ "$(certs on2)" = "$N 0" ]; }

r=1
while [ "$r" -le "$ROUNDS" ]; do
	t0=$(date +%s)
	reset
	before=$(issued)
	# both released at the same moment
	rm -f "$T/gate"
	mkfifo "$T/gate"
	start a "$T/gate"
	start b "$T/gate"
	sleep 0.3
	: >"$T/gate"
	wait_for 90 done_both || true
	sleep 2	# a second active instance would publish more by now
	act=$(cat "$T/a.log" "$T/b.log" | grep -c "this instance is active" || true)
	t_eq "round $r: exactly one instance became active" "$act" 1
	t_eq "round $r: everyone has one certificate on provider 1" "$(certs on1)" "$N 0"
	t_eq "round $r: and on provider 2" "$(certs on2)" "$N 0"
	t_eq "round $r: the CA issued one per person" "$(( $(issued) - before ))" "$N"
	echo "# round $r: $(grep -h 'this instance is active\|made it first' "$T/a.log" "$T/b.log" | sed 's/.*: //' | tr '\n' ' ')($(( $(date +%s) - t0 )) s)"
	stop_both
	r=$((r + 1))
done
t_contains "the lease authority is logged" "$(cat "$T/b.log")" "lease authority $P1"

# --- the replication link cut while both run ------------------------------
reset
start a
wait_for 60 done_both || true
start b
wait_for 10 logged b "standing by" || true
t_contains "B stands by" "$(cat "$T/b.log")" "standing by"
# lag: on both providers, not yet someone to enrol (no mail)
printf 'dn: uid=lag,%s\nobjectClass: inetOrgPerson\nuid: lag\ncn: lag\nsn: lag\n' \
    "$SLAPD_PEOPLE" | on1 ldapadd >/dev/null
wait_for 20 eval 'on2 ldapsearch -LLL -b "uid=lag,$SLAPD_PEOPLE" -s base 1.1 >/dev/null 2>&1' || true
link_cut
cut=$(date +%s)
# during the cut lag gets a mail on both sides, provider 2 first: A enrols
# lag on provider 1, provider 2 sees lag without a certificate
mail_lag() {
	printf 'dn: uid=lag,%s\nchangetype: modify\nadd: mail\nmail: lag@example.com\n' \
	    "$SLAPD_PEOPLE" | "$1" ldapmodify >/dev/null
}
mail_lag on2
sleep 1
mail_lag on1
printf 'dn: uid=nh1,%s\nobjectClass: inetOrgPerson\nuid: nh1\ncn: nh1\nsn: nh1\nmail: nh1@example.com\n' \
    "$SLAPD_PEOPLE" | on1 ldapadd >/dev/null
wait_for 20 eval '[ "$(certs on1 "(uid=nh1)")" = "1 0" ]' || true
t_eq "during the cut, the holder publishes a new hire on provider 1" "$(certs on1 "(uid=nh1)")" "1 0"
t_eq "and lag" "$(certs on1 "(uid=lag)")" "1 0"
t_eq "provider 2 has lag without a certificate" "$(certs on2 "(uid=lag)")" "0 0"
while [ $(( $(date +%s) - cut )) -lt 30 ]; do sleep 1; done	# three ttls
t_eq "cut for three lease ttls: B never became active" \
    "$(grep -c 'this instance is active' "$T/b.log" || true)" 0
t_contains "the lease is still A's" "$(lease)" "/$APID/"

# --- the holder killed -9, the link still cut -------------------------------
n=$(issued)
kill -9 "$APID"
wait "$APID" 2>/dev/null || true
APID=
wait_for 40 logged b "this instance is active" || true
t_contains "B takes over (through the authority)" "$(cat "$T/b.log")" "this instance is active"
wait_for 10 logged b "to catch up" || true
t_contains "B waits for its replica to catch up" "$(cat "$T/b.log")" "to catch up"
sleep 3
t_eq "while waiting, B asks the CA for nothing" "$(issued)" "$n"
link_up
wait_for 60 logged b "pass done" || true
t_contains "caught up, B runs its pass" "$(cat "$T/b.log")" "pass done"
grep -h 'catch up\|caught up\|lag@' "$T/b.log" | sed 's/^/# B: /' | cut -c1-200
printf 'dn: uid=nh2,%s\nobjectClass: inetOrgPerson\nuid: nh2\ncn: nh2\nsn: nh2\nmail: nh2@example.com\n' \
    "$SLAPD_PEOPLE" | on2 ldapadd >/dev/null
wait_for 30 eval '[ "$(certs on2 "(uid=nh2)")" = "1 0" ]' || true
t_eq "B publishes a new hire added on provider 2" "$(certs on2 "(uid=nh2)")" "1 0"
t_eq "the CA issued one more: nh2's, nobody enrolled again" "$(issued)" $((n + 1))
wait_for 20 eval '[ "$(certs on1 "(uid=lag)")" = "1 0" ] && [ "$(certs on2 "(uid=lag)")" = "1 0" ]' || true
t_eq "lag: one certificate on provider 1" "$(certs on1 "(uid=lag)")" "1 0"
t_eq "lag: one certificate on provider 2" "$(certs on2 "(uid=lag)")" "1 0"
t_eq "everyone still has one certificate" "$(certs on2)" "$N 0"
t_contains "the lease names B" "$(lease)" "/$BPID/"
stop_both
t_done
