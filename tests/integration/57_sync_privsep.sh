#!/bin/sh
# Privilege separation (issue 19 item 4): under strace, smimepub-sync --once
# opens the CA key (ca.key) only in its CA key process and the journal's
# key-encryption key (keystore.key) only in the keystore's; neither creates
# a socket or connects, while the parsing process connects to the directory
# and opens neither key. What it issued and the CRL verify with openssl. In
# the daemon each key process is filtered (seccomp) and holds two
# descriptors; killed, the next enrolment fails cleanly: journalled FAILED
# with a reason naming that key process, the daemon still running and ending
# on SIGTERM with 0.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

T=$(mktemp -d)
SPID=
slapd_cleanup_add '[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null; rm -rf "$T"'
slapd_start

cat >"$T/smimepub.conf" <<EOC
$(slapd_conf_directory)
};
ca = { driver = "local"; local = { dir = "$T/ca"; crl_url = "http://ca.example.com/crl.pem"; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; pkcs12_iterations = 10000; discard_passphrase = true; };
sync = { state_dir = "$T/state"; interval = 3600; watch_interval = 1; on_leave = "revoke"; };
EOC
C=$T/smimepub.conf
# the two entries sharing one address fail every pass: not this test's
ldap_root ldapdelete "$(slapd_people_dn dup1)" "$(slapd_people_dn dup2)"
t_ok "ca init" "$SMIMEPUB" -f "$C" ca init

if strace -V >/dev/null 2>&1; then
	# (LeakSanitizer cannot run under ptrace: SANITIZE=1 builds skip it
	# for this one run)
	t_ok "a pass under strace -ff" env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	    strace -ff -qq -o "$T/tr" -e trace=open,openat,socket,connect \
	    "$SYNC" -f "$C" --once
	t_contains "it enrolled" "$T_OUT" "enrolled 3,"
	keypids=$(grep -l '/ca\.key"' "$T"/tr.* | sed 's/.*\.//' | sort -u)
	t_eq "one process opened ca.key" "$(echo "$keypids" | wc -w)" 1
	mainpid=$(grep -l 'connect(' "$T"/tr.* | sed 's/.*\.//' | sort -u | head -n 1)
	t_ok "the parsing process connected to the directory" test -n "$mainpid"
	t_ok "and it is not the key process" test "$mainpid" != "$keypids"
	t_eq "the key process made no socket and connected nowhere" \
	    "$(grep -c -E '^(socket|connect)\(' "$T/tr.$keypids" || true)" 0
	t_eq "the key process opened ca.key and ca.pem, nothing else" \
	    "$(grep -E '^open' "$T/tr.$keypids" | grep -c -v -E '/ca/ca\.(key|pem)"')" 0
	t_eq "no other process opened ca.key" \
	    "$(cat "$T"/tr.* | grep -c '/ca\.key"' || true)" 1
	# the journal's key-encryption key, made and read by its own process
	kekpids=$(grep -l '/keystore\.key"' "$T"/tr.* | sed 's/.*\.//' | sort -u)
	t_eq "one process opened keystore.key" "$(echo "$kekpids" | wc -w)" 1
	t_ok "neither the parsing process nor the CA's" test "$kekpids" != "$mainpid" -a \
	    "$kekpids" != "$keypids"
	t_eq "the KEK process made no socket and connected nowhere" \
	    "$(grep -c -E '^(socket|connect)\(' "$T/tr.$kekpids" || true)" 0
	t_eq "it opened keystore.key (and its temporary file) only" \
	    "$(grep -E '^open' "$T/tr.$kekpids" | grep -c -v '/keystore\.key')" 0
	[ -z "${PRIVSEP_DEBUG:-}" ] || cat "$T/tr.$keypids" "$T/tr.$kekpids" >&2
	t_ok "that process made the KEK file" \
	    test -s "$T/state/keystore.key"
else
	echo "# skipped: strace is not installed (scripts/deps.sh installs it)"
fi

# what the key process signed verifies against the CA
ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn alice)" -s base \
    '(objectClass=*)' 'userCertificate;binary' | sed -n 's/^userCertificate;binary:: //p' |
    base64 -d >"$T/alice.der"
t_ok "alice's certificate verifies with openssl" openssl verify -x509_strict \
    -CAfile "$T/ca/ca.pem" "$T/alice.der"
t_ok "smimepub revoke alice" "$SMIMEPUB" -f "$C" revoke alice@example.com
t_ok "smimepub ca crl" "$SMIMEPUB" -f "$C" ca crl --out "$T/crl.pem"
t_ok "the CRL verifies with openssl" openssl crl -in "$T/crl.pem" -CAfile "$T/ca/ca.pem" -noout
t_contains "openssl says so" "$T_OUT" "verify OK"
t_contains "and it lists alice's serial" "$(openssl crl -in "$T/crl.pem" -noout -text)" \
    "$(openssl x509 -inform DER -in "$T/alice.der" -noout -serial | sed 's/serial=//')"

# the daemon: its key process, then without it
"$SYNC" -f "$C" --foreground >"$T/sync.log" 2>&1 &
SPID=$!
KP=
i=0
# named at once, filtered once its key is open: wait for both
until { [ -n "$KP" ] && grep -q 'Seccomp:.2' /proc/"$KP"/status; } ||
    [ $i -ge 300 ]; do
	KP=$(pgrep -P "$SPID" -x smimepub-cakey || true)
	sleep 0.1
	i=$((i + 1))
done
t_ok "the daemon has a CA key process" test -n "$KP"
t_contains "with a seccomp filter" "$(cat /proc/"$KP"/status)" "Seccomp:	2"
t_contains "no new privileges" "$(cat /proc/"$KP"/status)" "NoNewPrivs:	1"
t_eq "two descriptors: stderr and its socket" "$(ls /proc/"$KP"/fd | wc -l)" 2
t_eq "one socket: its own, no directory connection" \
    "$(ls -l /proc/"$KP"/fd | grep -c 'socket:' || true)" 1
[ -z "$KP" ] || kill -9 "$KP"
cat >"$T/hire.ldif" <<EOL
dn: uid=erin,$SLAPD_PEOPLE
objectClass: inetOrgPerson
uid: erin
cn: Erin New
sn: New
mail: erin@example.com
EOL
ldap_root ldapadd -f "$T/hire.ldif" >/dev/null
i=0
until "$SMIMEPUB" -f "$C" status erin@example.com 2>/dev/null | grep -q FAILED ||
    [ $i -ge 300 ]; do sleep 0.2; i=$((i + 1)); done
t_ok "erin's enrolment is journalled" "$SMIMEPUB" -f "$C" status erin@example.com
t_contains "FAILED" "$T_OUT" "FAILED"
t_contains "the reason names the key process" "$T_OUT" "CA key process (pid $KP) is gone"
t_contains "and how it ended" "$T_OUT" "killed by signal 9"
t_ok "the daemon still runs" kill -0 "$SPID"
kill -TERM "$SPID"
rc=0
wait "$SPID" || rc=$?
SPID=
t_eq "SIGTERM ends it with 0" "$rc" 0

# again, the keystore's key process this time
"$SYNC" -f "$C" --foreground >"$T/sync2.log" 2>&1 &
SPID=$!
KK=
i=0
until { [ -n "$KK" ] && grep -q 'Seccomp:.2' /proc/"$KK"/status; } ||
    [ $i -ge 300 ]; do
	KK=$(pgrep -P "$SPID" -x smimepub-kek || true)
	sleep 0.1
	i=$((i + 1))
done
t_ok "the daemon has a keystore key process" test -n "$KK"
t_contains "with a seccomp filter" "$(cat /proc/"$KK"/status)" "Seccomp:	2"
t_eq "two descriptors" "$(ls /proc/"$KK"/fd | wc -l)" 2
[ -z "$KK" ] || kill -9 "$KK"
sed 's/erin/frank/g; s/Erin/Frank/' "$T/hire.ldif" | ldap_root ldapadd >/dev/null
i=0
until "$SMIMEPUB" -f "$C" status frank@example.com 2>/dev/null | grep -q FAILED ||
    [ $i -ge 300 ]; do sleep 0.2; i=$((i + 1)); done
t_ok "frank's enrolment is journalled" "$SMIMEPUB" -f "$C" status frank@example.com
t_contains "FAILED" "$T_OUT" "FAILED"
t_contains "the reason names the keystore key process" "$T_OUT" \
    "keystore key process (pid $KK) is gone"
t_ok "the daemon still runs" kill -0 "$SPID"
kill -TERM "$SPID"
rc=0
wait "$SPID" || rc=$?
SPID=
t_eq "SIGTERM ends it with 0" "$rc" 0
t_eq "nobody's key was ever written in the clear: no PEM key in the state dir" \
    "$(grep -rl 'PRIVATE KEY' "$T/state" | wc -l)" 0
t_done
