#!/bin/sh
# Crash safety: smimepub-sync is killed with SIGKILL while bob's key is being
# delivered (his certificate issued, not yet published). The next pass
# resumes: bob ends with exactly one published certificate, the one issued
# before the crash is found and revoked, nobody else is enrolled twice.
# Then, for every transition of the enrolment state machine in turn, a
# failpoint (SMIMEPUB_TEST_FAILPOINT) makes it _exit right after committing
# it; a restart completes the pass.
set -eu
SRCDIR=${SRCDIR:-$(pwd)}
BUILD=${BUILD:-build}
SMIMEPUB=$SRCDIR/$BUILD/smimepub
SYNC=$SRCDIR/$BUILD/smimepub-sync
. "$SRCDIR/tests/lib/testlib.sh"
. "$SRCDIR/tests/lib/slapd.sh"

T=$(mktemp -d)
SPID=
slapd_cleanup_add '[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null; rm -rf "$T"'
slapd_start
ldap_root ldapdelete "$(slapd_people_dn dup1)" "$(slapd_people_dn dup2)"

# bob's hand-over hangs until the test kills the service
cat >"$T/hand-over" <<EOS
#!/bin/sh
cat >/dev/null
[ "\$SMIMEPUB_MAIL" = bob@example.com ] && [ ! -e "$T/no-hang" ] && { touch "$T/hanging"; sleep 60; }
exit 0
EOS
chmod 0700 "$T/hand-over"
cat >"$T/smimepub.conf" <<EOC
directory = {
  uri = "$SLAPD_URI";
  bind_dn = "$SLAPD_SVC_DN";
  bind_password_file = "$SLAPD_SVC_PW_FILE";
  base = "$SLAPD_PEOPLE";
};
ca = { driver = "local"; local = { dir = "$T/ca"; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; delivery_command = "$T/hand-over";
  pkcs12_iterations = 10000; };
sync = { state_dir = "$T/state"; workers = 1; };
EOC
C=$T/smimepub.conf
ncerts() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' 'userCertificate;binary' | grep -c '^userCertificate;binary::' || true
}

t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
"$SYNC" -f "$C" --once >"$T/sync1.log" 2>&1 &
SPID=$!
i=0
until [ -e "$T/hanging" ] || [ $i -ge 200 ]; do sleep 0.1; i=$((i + 1)); done
t_ok "the pass reached bob's delivery" test -e "$T/hanging"
kill -9 "$SPID"
wait "$SPID" 2>/dev/null || true
SPID=
pkill -f "$T/hand-over" 2>/dev/null || true
t_ok "status after the crash" "$SMIMEPUB" -f "$C" status bob@example.com
t_contains "bob's record stopped at ISSUED" "$(printf '%s\n' "$T_OUT" | tail -n 1)" "	ISSUED	"
t_eq "bob has nothing published yet" "$(ncerts bob)" 0

touch "$T/no-hang"
t_ok "the next pass resumes" "$SYNC" -f "$C" --once
for u in alice bob carol; do
	t_eq "$u has exactly one certificate" "$(ncerts $u)" 1
done
t_ok "ca list" "$SMIMEPUB" -f "$C" ca list
list=$T_OUT
t_eq "bob: two certificates issued in all" "$(printf '%s\n' "$list" | grep -c 'bob@example.com')" 2
t_eq "bob: the one from before the crash is revoked" \
    "$(printf '%s\n' "$list" | grep 'bob@example.com' | grep -c revoked)" 1
t_eq "alice was issued exactly one" "$(printf '%s\n' "$list" | grep -c 'alice@example.com')" 1
t_eq "carol was issued exactly one" "$(printf '%s\n' "$list" | grep -c 'carol@example.com')" 1
t_ok "status bob" "$SMIMEPUB" -f "$C" status bob@example.com
t_contains "bob is PUBLISHED now" "$(printf '%s\n' "$T_OUT" | tail -n 1)" "	PUBLISHED	"

serial_on_entry() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -tt -T "$T" -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' 'userCertificate;binary' >"$T/e.ldif"
	openssl x509 -inform DER -in "$(sed -n 's|^[^:]*:< file://||p' "$T/e.ldif" | head -n 1)" \
	    -noout -serial | cut -d= -f2
}
n=0
for fp in PLANNED KEY_READY SUBMITTED ISSUED DELIVERED PUBLISHED; do
	n=$((n + 1))
	u=crash$n
	printf 'dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nmail: %s@example.com\n' \
	    "$u" "$SLAPD_PEOPLE" "$u" "$u" "$u" "$u" | ldap_root ldapadd >/dev/null
	t_exit "[$fp] the service dies right after committing $fp" 99 \
	    env SMIMEPUB_TEST_FAILPOINT=$fp "$SYNC" -f "$C" --once
	t_ok "[$fp] a restart completes the pass" "$SYNC" -f "$C" --once
	t_eq "[$fp] $u has exactly one certificate" "$(ncerts $u)" 1
	st=$("$SMIMEPUB" -f "$C" status $u@example.com | tail -n 1)
	t_contains "[$fp] the journal says PUBLISHED" "$st" "	PUBLISHED	"
	t_contains "[$fp] with the serial on the entry" "$st" "	$(serial_on_entry $u)	"
	valid=$("$SMIMEPUB" -f "$C" ca list | grep " $u@example.com " | grep -c ' valid ' || true)
	t_eq "[$fp] the CA holds one valid certificate for $u" "$valid" 1
done
t_eq "no private key in the clear anywhere" \
    "$(grep -rl 'PRIVATE KEY' "$T/state" "$T/delivery" 2>/dev/null | wc -l)" 0
t_done
