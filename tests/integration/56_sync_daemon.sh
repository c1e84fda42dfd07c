#!/bin/sh
# smimepub-sync as a daemon in the foreground: a new hire added to the
# directory is published within seconds, a bad configuration on SIGHUP is
# reported and the old one kept, after a good reload watching goes on, and
# SIGTERM ends it cleanly. WATCH=poll (default): modifyTimestamp polling
# every second, the server offering no syncrepl. WATCH=syncrepl: slapd
# with the syncprov overlay and no polling at all, so only syncrepl
# refreshAndPersist (RFC 4533) can find the new hire.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

T=$(mktemp -d)
SPID=
slapd_cleanup_add '[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null; rm -rf "$T"'
WATCH=${WATCH:-poll}
if [ "$WATCH" = syncrepl ]; then
	SLAPD_SYNCPROV=1
	export SLAPD_SYNCPROV
	POLL=0
else
	POLL=1
fi
slapd_start

cat >"$T/smimepub.conf" <<EOC
$(slapd_conf_directory)
};
ca = { driver = "local"; local = { dir = "$T/ca"; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; pkcs12_iterations = 10000; discard_passphrase = true; };
sync = { state_dir = "$T/state"; interval = 3600; watch_interval = $POLL; };
EOC
C=$T/smimepub.conf
ncerts() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' 'userCertificate;binary' 2>/dev/null |
	    grep -c '^userCertificate;binary::' || true
}

t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
"$SYNC" -f "$C" --foreground --pid-file "$T/sync.pid" >"$T/sync.log" 2>&1 &
SPID=$!
i=0
until [ "$(ncerts alice)" = 1 ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
t_eq "the first full pass published alice" "$(ncerts alice)" 1
t_eq "the pid file names the daemon" "$(cat "$T/sync.pid" 2>/dev/null)" "$SPID"

cat >"$T/hire.ldif" <<EOL
dn: uid=dave,$SLAPD_PEOPLE
objectClass: inetOrgPerson
uid: dave
cn: Dave New
sn: New
displayName: Dave New
mail: dave@example.com
EOL
ldap_root ldapadd -f "$T/hire.ldif" >/dev/null
start=$(date +%s)
i=0
until [ "$(ncerts dave)" = 1 ] || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
t_eq "[$WATCH] the new hire is published without waiting for the next full pass" "$(ncerts dave)" 1
if [ "$WATCH" = syncrepl ]; then
	t_contains "the daemon said it watches by syncrepl" "$(cat "$T/sync.log")" "by syncrepl refreshAndPersist"
else
	t_contains "the daemon said it polls instead" "$(cat "$T/sync.log")" "polling for changes instead"
fi
echo "# new hire published after $(( $(date +%s) - start )) s (sync.interval = 3600)"

cp "$C" "$T/good.conf"
echo 'bogus = 1;' >>"$C"
kill -HUP "$SPID"
sleep 1.5
t_ok "a bad configuration on SIGHUP leaves the daemon running" kill -0 "$SPID"
t_contains "and is reported" "$(cat "$T/sync.log")" "keeping the old one"
cp "$T/good.conf" "$C"
kill -HUP "$SPID"
sleep 1
sed -e 's/uid=dave/uid=erin/; s/^uid: dave/uid: erin/; s/Dave/Erin/g; s/dave@/erin@/' "$T/hire.ldif" >"$T/hire2.ldif"
ldap_root ldapadd -f "$T/hire2.ldif" >/dev/null
i=0
until [ "$(ncerts erin)" = 1 ] || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
t_eq "after a reload the watch goes on (erin published)" "$(ncerts erin)" 1

kill -TERM "$SPID"
rc=0
wait "$SPID" || rc=$?
SPID=
t_eq "SIGTERM ends it with status 0" "$rc" 0
t_fail "the pid file is gone" test -e "$T/sync.pid"

# SIGTERM in the middle of a long pass: each worker finishes the person in
# hand, nobody new is started, the daemon exits; the next pass does the
# rest and nobody has two certificates. (Once, with WATCH=poll.)
if [ "$WATCH" = poll ]; then
	N=150
	i=1
	while [ $i -le $N ]; do
		printf 'dn: uid=m%d,%s\nobjectClass: inetOrgPerson\nuid: m%d\ncn: M %d\nsn: M\nmail: m%d@example.com\n\n' \
		    $i "$SLAPD_PEOPLE" $i $i $i
		i=$((i + 1))
	done | ldap_root ldapadd >/dev/null
	# slow enough per person (PKCS#12 at 400000 iterations) to stop mid-pass
	sed 's/pkcs12_iterations = 10000;/pkcs12_iterations = 400000;/; s/interval = 3600;/interval = 3600; workers = 2;/' \
	    "$C" >"$T/slow.conf"
	nm() {
		ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$SLAPD_PEOPLE" \
		    '(&(uid=m*)(userCertificate;binary=*))' 1.1 | grep -c '^dn:' || true
	}
	"$SYNC" -f "$T/slow.conf" --foreground >"$T/slow.log" 2>&1 &
	SPID=$!
	i=0
	until [ "$(nm)" -ge 3 ] || [ $i -ge 600 ]; do sleep 0.1; i=$((i + 1)); done
	t0=$(date +%s)
	kill -TERM "$SPID"
	rc=0
	wait "$SPID" || rc=$?
	SPID=
	took=$(( $(date +%s) - t0 ))
	done1=$(nm)
	echo "# SIGTERM mid-pass: exited in $took s with $done1 of $N published"
	t_eq "SIGTERM mid-pass: status 0" "$rc" 0
	t_ok "it stopped within 10 s ($took s)" test "$took" -le 10
	t_ok "before the pass was done ($done1 of $N published)" test "$done1" -lt $N
	t_contains "it said how many were left" "$(cat "$T/slow.log")" "people left for the next pass"
	t_ok "the next pass does the rest" "$SYNC" -f "$C" --once
	t_eq "all $N published" "$(nm)" $N
	t_eq "the CA issued one certificate each" "$("$SMIMEPUB" -f "$C" ca list | grep -c ' m[0-9]*@example.com ')" $N
fi
t_done
