#!/bin/sh
# A CA that answers "pending" (the exec driver's exit 2 with a poll id, as
# certmonger helpers do): the pass does not count it as failed, the journal
# holds the request (SUBMITTED, transaction id) and its key sealed, never in
# the clear; the next pass after the CA's retry time polls, and the
# certificate issued for that same key is delivered and published. The CA is
# asked once to enrol and once to poll; nobody is enrolled twice.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"
. "$SRCDIR/tests/lib/capeers.sh"

slapd_test_start
ldap_root ldapdelete "$(slapd_people_dn dup1)" "$(slapd_people_dn dup2)" \
    "$(slapd_people_dn bob)" "$(slapd_people_dn carol)" 2>/dev/null || :
peer_exec "$T/peer" pending
mkdir "$T/pass"
cat >"$T/hand-over" <<EOS
#!/bin/sh
umask 077
cat > "$T/pass/\$(basename "\$SMIMEPUB_P12")"
EOS
chmod 0700 "$T/hand-over"
{
	cat <<EOC
$(slapd_conf_directory)
};
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; delivery_command = "$T/hand-over";
  pkcs12_iterations = 10000; };
sync = { state_dir = "$T/state"; workers = 1; };
EOC
	cat "$PEER_CONF"
} >"$T/smimepub.conf"
C=$T/smimepub.conf
ncerts() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' 'userCertificate;binary' | grep -c '^userCertificate;binary::' || true
}
held() { mdb_dump -s held "$T/state" | grep -c '^ ' || true; }

t_ok "first pass: the CA answers pending (not a failure)" "$SYNC" -f "$C" --once
t_contains "summary: nothing failed, alice waits" "$T_OUT" "failed 0"
t_contains "the log says pending" "$T_OUT" "answered pending"
t_eq "alice has nothing published yet" "$(ncerts alice)" 0
st=$("$SMIMEPUB" -f "$C" status alice@example.com | tail -n 1)
t_contains "the journal says SUBMITTED" "$st" "	SUBMITTED	"
t_contains "status says it waits for the CA" "$st" "pending at the CA, next poll 20"
t_eq "the key is held in the journal" "$(held)" 2
t_eq "no private key in the clear" \
    "$(grep -rla 'PRIVATE KEY' "$T/state" "$T/delivery" 2>/dev/null | wc -l)" 0
t_eq "no PKCS#12 delivered yet" "$(ls "$T/delivery" 2>/dev/null | wc -l)" 0
t_ok "a pass before the retry time leaves it waiting" "$SYNC" -f "$C" --once
t_contains "it is skipped, not failed" "$T_OUT" "failed 0, unchanged 0, skipped 1"
t_eq "the CA was asked once" "$(grep -c ' enrol alice@example.com' "$T/peer/peer.log")" 1
t_eq "and not polled yet" "$(grep -c ' poll ' "$T/peer/peer.log" || true)" 0
sleep 6
t_ok "a pass after the retry time polls" "$SYNC" -f "$C" --once
t_contains "summary: one enrolled" "$T_OUT" "enrolled 1,"
t_eq "polled once" "$(grep -c ' poll ' "$T/peer/peer.log")" 1
t_eq "still asked to enrol only once" "$(grep -c ' enrol alice@example.com' "$T/peer/peer.log")" 1
t_eq "alice: one certificate" "$(ncerts alice)" 1
st=$("$SMIMEPUB" -f "$C" status alice@example.com | tail -n 1)
t_contains "the journal says PUBLISHED" "$st" "	PUBLISHED	"
t_eq "no key held any more" "$(held)" 0
# the certificate is for the key generated before the CA said pending
p12=$(ls "$T/delivery"/*.p12)
ldap_root ldapsearch -LLL -o ldif-wrap=no -tt -T "$T" -b "$(slapd_people_dn alice)" -s base \
    '(objectClass=*)' 'userCertificate;binary' >"$T/e.ldif"
der=$(sed -n 's|^[^:]*:< file://||p' "$T/e.ldif" | head -n 1)
t_eq "the published certificate matches the delivered key" \
    "$(openssl x509 -inform DER -in "$der" -noout -pubkey)" \
    "$(openssl pkcs12 -in "$p12" -passin "file:$T/pass/$(basename "$p12")" -nocerts -nodes 2>/dev/null | openssl pkey -pubout)"
t_ok "the next pass changes nothing" "$SYNC" -f "$C" --once
t_contains "unchanged" "$T_OUT" "failed 0, unchanged 1"

# the command line says what pending means, and exits 1
printf 'dn: uid=erin,%s\nobjectClass: inetOrgPerson\nuid: erin\ncn: erin\nsn: erin\nmail: erin@example.com\n' \
    "$SLAPD_PEOPLE" | ldap_root ldapadd >/dev/null
t_exit "smimepub enrol on a pending CA exits 1" 1 "$SMIMEPUB" -f "$C" enrol erin@example.com
t_contains "and says the CA has not issued yet" "$T_OUT" "has not issued yet (pending)"
sleep 6
t_ok "run again later: it polls and publishes" "$SMIMEPUB" -f "$C" enrol erin@example.com
t_eq "erin: one certificate" "$(ncerts erin)" 1
t_eq "erin: the CA was asked to enrol once" "$(grep -c ' enrol erin@example.com' "$T/peer/peer.log")" 1

# The daemon wakes up when the CA said to poll, not at its next full pass
# (sync.interval is an hour here): frank, added before it starts, is
# pending after its first pass and published once his retry time (about
# 5 s) and the gap between passes (10 s) have passed.
printf 'dn: uid=frank,%s\nobjectClass: inetOrgPerson\nuid: frank\ncn: frank\nsn: frank\nmail: frank@example.com\n' \
    "$SLAPD_PEOPLE" | ldap_root ldapadd >/dev/null
sed 's/workers = 1;/workers = 1; interval = 3600; watch = "poll"; watch_interval = 0;/' "$C" >"$T/daemon.conf"
SPID=
slapd_cleanup_add '[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null'
"$SYNC" -f "$T/daemon.conf" --foreground >"$T/daemon.log" 2>&1 &
SPID=$!
i=0
while [ "$(ncerts frank)" = 0 ] && [ $i -lt 90 ]; do sleep 1; i=$((i + 1)); done
echo "# frank was published ${i} s after the daemon started"
t_eq "frank is published by the daemon, within 90 s, with an hour between full passes" "$(ncerts frank)" 1
t_contains "it said why it would pass early" "$(cat "$T/daemon.log")" "a retry is due then"
t_eq "frank: the CA was asked to enrol once" "$(grep -c ' enrol frank@example.com' "$T/peer/peer.log")" 1
kill -TERM "$SPID"
rc=0
wait "$SPID" || rc=$?
SPID=
t_eq "the daemon ends on SIGTERM" "$rc" 0

# An address change while the CA answers pending: the new address's
# certificate is published a pass later, and then the old address's one is
# revoked at the CA (it left the entry with the new one's publish).
old=$("$SMIMEPUB" -f "$C" status alice@example.com | tail -n 1 | cut -f3)
nrev() { cat "$T/peer/revoked" 2>/dev/null | grep -ci "^$1\$" || :; }
printf 'dn: %s\nchangetype: modify\nreplace: mail\nmail: alice.new@example.com\n' \
    "$(slapd_people_dn alice)" | ldap_root ldapmodify >/dev/null
t_ok "a pass after alice's address changed" "$SYNC" -f "$C" --once
t_contains "the CA answers pending: skipped, not failed" "$T_OUT" "failed 0,"
t_eq "the old certificate is not revoked yet" "$(nrev "$old")" 0
sleep 6
t_ok "a pass after the retry time" "$SYNC" -f "$C" --once
t_contains "alice.new enrolled" "$T_OUT" "enrolled 1,"
t_eq "alice: one certificate" "$(ncerts alice)" 1
t_eq "the old address's certificate ($old) is revoked at the CA" \
    "$(nrev "$old")" 1
t_done
