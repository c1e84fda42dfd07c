#!/bin/sh
# Active Directory, continued (a Samba 4 AD DC of its own, tests/lib/samba.sh):
# sync.watch = "dirsync": the daemon, as the least-privilege service account,
# polls with the DirSync control (object-security flag: Samba refuses the
# plain control to an account without "Replicating Directory Changes", and
# this test shows it) and publishes a new user within a poll interval, the
# log proving DirSync was used and not uSNChanged; sync.watch = "syncrepl"
# against AD stops the daemon with the reason; "poll" polls uSNChanged
# without trying syncrepl. SASL GSSAPI from a keytab against the Samba KDC:
# show and publish over ldap:// (sealed), ldaps and StartTLS; check-config
# refuses GSSAPI with a password file or without a keytab; a missing keytab
# fails naming it.
set -eu
SRCDIR=${SRCDIR:-$(pwd)}
BUILD=${BUILD:-build}
SMIMEPUB=$SRCDIR/$BUILD/smimepub
SYNC=$SRCDIR/$BUILD/smimepub-sync
. "$SRCDIR/tests/lib/samba.sh"
samba_private_hosts "$0" "$@"
. "$SRCDIR/tests/lib/testlib.sh"
. "$SRCDIR/tests/lib/certs.sh"

T=$(mktemp -d)
SPID=
samba_cleanup_add '[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null; rm -rf "$T"'
samba_start
echo "# Samba AD DC on $SAMBA_IP"
# one journal for every configuration below; no two people share an address
samba_tool user delete dup2

# conf NAME [extra directory lines...]: the service account over ldaps
conf() {
	_n=$1
	shift
	{
		echo "directory = {"
		echo "  uri = \"$SAMBA_LDAPS_URI\";"
		echo "  tls_ca_file = \"$SAMBA_TLS_CA\";"
		echo "  base = \"$SAMBA_PEOPLE\";"
		echo "  flavour = \"ad\";"
		for _l in "$@"; do echo "  $_l"; done
		echo "};"
		echo "ca = { driver = \"local\"; local = { dir = \"$T/ca\"; validity_days = 60; }; };"
		echo "keys = { type = \"ec:P-256\"; delivery_dir = \"$T/delivery\"; pkcs12_iterations = 10000; discard_passphrase = true; };"
		echo "sync = { state_dir = \"$T/state\"; interval = 3600; watch_interval = 1; workers = 2; watch = \"${WATCH:-auto}\"; };"
		echo "log = { level = \"debug\"; audit_file = \"$T/audit.jsonl\"; };"
	} >"$T/$_n.conf"
	echo "$T/$_n.conf"
}
svc='bind_password_file = "'$SAMBA_SVC_PW_FILE'";'
nvals() {
	ad_admin ldapsearch -LLL -o ldif-wrap=no -b "$(samba_user_dn "$1")" -s base \
	    '(objectClass=*)' "$2" | grep -c "^$2::" || :
}

# --- what Samba's DirSync allows the service account --------------------
t_fail "DirSync without the object-security flag: refused to the service account" \
    ad_svc ldapsearch -LLL -b "$SAMBA_BASE" -E '!dirSync=0/0/' '(objectClass=user)' objectGUID
t_contains "insufficient access rights" "$T_OUT" "insufficient access rights"
# (with the flag, Samba returns an object only when one of the asked
# attributes besides objectGUID can be read: ask for mail too)
t_ok "with LDAP_DIRSYNC_OBJECT_SECURITY (0x1): allowed, no extra right" \
    ad_svc ldapsearch -LLL -b "$SAMBA_BASE" -E '!dirSync=1/0/' '(objectClass=user)' objectGUID mail
t_contains "returns the people" "$T_OUT" "dn: CN=alice,$SAMBA_PEOPLE"
t_fail "DirSync below the naming context's root is refused" \
    ad_svc ldapsearch -LLL -b "$SAMBA_PEOPLE" -E '!dirSync=1/0/' '(objectClass=user)' objectGUID
t_contains "says so" "$T_OUT" "not one of the naming context"

# --- sync.watch = "dirsync": a new user within a poll interval ------------
WATCH=dirsync
Y=$(conf dirsync "bind_dn = \"$SAMBA_SVC_UPN\";" "$svc")
t_ok "ca init" "$SMIMEPUB" -f "$Y" ca init
"$SYNC" -f "$Y" --foreground >"$T/sync.log" 2>&1 &
SPID=$!
i=0
until grep -q 'pass done' "$T/sync.log" || [ $i -ge 600 ]; do sleep 0.1; i=$((i + 1)); done
t_contains "the first full pass" "$(cat "$T/sync.log")" "pass done"
t_contains "watching by DirSync" "$(cat "$T/sync.log")" "watching by DirSync (1.2.840.113556.1.4.841)"
t_eq "alice published by the full pass" "$(nvals alice userCertificate)" 1
samba_user_create erin erin@example.com
start=$(date +%s)
i=0
until [ "$(nvals erin userCertificate)" = 1 ] || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
took=$(( $(date +%s) - start ))
t_eq "the new user is published without a full pass" "$(nvals erin userCertificate)" 1
echo "# new user published after $took s (DirSync, watch_interval = 1, interval = 3600)"
t_ok "within a poll interval and the pass (< 15 s)" test "$took" -lt 15
log=$(cat "$T/sync.log")
t_contains "DirSync reported her" "$log" "DirSync: CN=erin,$SAMBA_PEOPLE changed"
t_contains "and the watch looked at what DirSync found" "$log" "watch: DirSync: 1 changed under $SAMBA_PEOPLE"
t_not_contains "no uSNChanged polling" "$log" "uSNChanged>="
t_not_contains "no modifyTimestamp polling" "$log" "modifyTimestamp>="
t_not_contains "no syncrepl" "$log" "syncrepl refreshAndPersist"
kill -TERM "$SPID"
rc=0
wait "$SPID" || rc=$?
SPID=
t_eq "SIGTERM ends the daemon with 0" "$rc" 0

# --- sync.watch = "syncrepl" is required: AD has none -------------------
WATCH=syncrepl
R=$(conf syncrepl "bind_dn = \"$SAMBA_SVC_UPN\";" "$svc")
t_exit "sync.watch = syncrepl against AD: the daemon stops (1)" 1 timeout 60 "$SYNC" -f "$R" --foreground
t_contains "naming the reason" "$T_OUT" "does not offer syncrepl (RFC 4533)"

# --- sync.watch = "poll": uSNChanged, syncrepl not even asked for --------
WATCH=poll
P=$(conf poll "bind_dn = \"$SAMBA_SVC_UPN\";" "$svc")
"$SYNC" -f "$P" --foreground >"$T/poll.log" 2>&1 &
SPID=$!
i=0
until grep -q 'pass done' "$T/poll.log" || [ $i -ge 600 ]; do sleep 0.1; i=$((i + 1)); done
t_contains "the first full pass" "$(cat "$T/poll.log")" "pass done"
samba_user_create gina gina@example.com
i=0
until [ "$(nvals gina userCertificate)" = 1 ] || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
t_eq "the new user is published without a full pass" "$(nvals gina userCertificate)" 1
log=$(cat "$T/poll.log")
t_contains "watching by polling" "$log" "watching by polling (sync.watch = poll)"
t_contains "found by uSNChanged" "$log" "(uSNChanged>="
t_not_contains "syncrepl not tried" "$log" "syncrepl"
t_not_contains "no DirSync" "$log" "DirSync"
kill -TERM "$SPID"
rc=0
wait "$SPID" || rc=$?
SPID=
t_eq "SIGTERM ends the daemon with 0" "$rc" 0
WATCH=auto

# --- SASL GSSAPI from a keytab ------------------------------------------
# Under SANITIZE=1: with no SASL security layer (ldaps, StartTLS: maxssf=0)
# the GSSAPI plugin of cyrus-sasl leaves the credential MIT krb5's mechglue
# allocated in gss_acquire_cred_from (32 bytes, and the krb5 structures
# under it) unreleased; smimepub never calls GSS itself. Over ldap:// (a
# layer) nothing leaks. Suppressed for the commands below only.
{ cat "$SRCDIR/tests/lsan.supp"; echo "leak:gss_acquire_cred_from"; } >"$T/lsan.supp"
LSAN_OPTIONS="suppressions=$T/lsan.supp:print_suppressions=0"
export LSAN_OPTIONS
# not through t_ok: its subshell would lose the variables it exports
if ! samba_kerberos; then
	echo "not ok - Kerberos for the test realm (ldap/ SPN, keytab, krb5.conf)"
	exit 1
fi
t_ok "the service account's keytab" test -s "$SAMBA_SVC_KEYTAB"
KRB5_CONFIG=$SAMBA_KRB5_CONF
export KRB5_CONFIG
unset KRB5CCNAME || :
kt="keytab = \"$SAMBA_SVC_KEYTAB\";"
G=$(conf gssapi "sasl_mech = \"GSSAPI\";" "$kt")
GP=$(conf gplain "sasl_mech = \"GSSAPI\";" "$kt")
sed -i "s|uri = \"$SAMBA_LDAPS_URI\"|uri = \"ldap://$SAMBA_HOST\"|" "$GP"
GS=$(conf gstarttls "sasl_mech = \"GSSAPI\";" "$kt" "starttls = true;")
sed -i "s|uri = \"$SAMBA_LDAPS_URI\"|uri = \"ldap://$SAMBA_HOST\"|" "$GS"
t_ok "GSSAPI over ldaps: show" "$SMIMEPUB" -f "$G" show alice@example.com
t_contains "finds alice" "$T_OUT" "dn: CN=alice,$SAMBA_PEOPLE"
t_ok "GSSAPI over ldap:// (SASL sealing): show" "$SMIMEPUB" -f "$GP" show alice@example.com
t_contains "finds alice" "$T_OUT" "dn: CN=alice,$SAMBA_PEOPLE"
t_ok "GSSAPI after StartTLS: show" "$SMIMEPUB" -f "$GS" show alice@example.com
certs_ca "$T/tca" "smimepub test CA"
certs_leaf "$T/tca" "$T/bob" bob@example.com
t_eq "bob: the daemon's certificate" "$(nvals bob userCertificate)" 1
t_ok "GSSAPI: publish bob as the service account" "$SMIMEPUB" -f "$G" publish bob@example.com "$T/bob.pem"
t_eq "bob: one userCertificate (the new one replaced the daemon's)" "$(nvals bob userCertificate)" 1
t_ok "GSSAPI: unpublish bob" "$SMIMEPUB" -f "$G" unpublish bob@example.com
t_eq "bob: none left" "$(nvals bob userCertificate)" 0
t_ok "a pass over GSSAPI" "$SYNC" -f "$G" --once
t_contains "republishes bob's certificate" "$T_OUT" "republished 1, failed 0"
t_eq "bob published again by the pass" "$(nvals bob userCertificate)" 1

X=$(conf gbad "sasl_mech = \"GSSAPI\";" "keytab = \"$T/nonexistent.keytab\";")
t_exit "a missing keytab fails (1)" 1 "$SMIMEPUB" -f "$X" show alice@example.com
t_contains "naming the keytab" "$T_OUT" "$T/nonexistent.keytab"
X=$(conf gpw "sasl_mech = \"GSSAPI\";" "$kt" "$svc")
t_exit "check-config: GSSAPI with a password file (2)" 2 "$SMIMEPUB" -f "$X" check-config
t_contains "says why" "$T_OUT" "is not used with sasl_mech \"GSSAPI\""
X=$(conf gnokt "sasl_mech = \"GSSAPI\";")
t_exit "check-config: GSSAPI without keytab or KRB5CCNAME (2)" 2 "$SMIMEPUB" -f "$X" check-config
t_contains "says why" "$T_OUT" "needs directory.keytab, or a ticket cache in KRB5CCNAME"

# --- the right DirSync without the object-security flag needs -------------
t_ok "grant Replicating Directory Changes on the domain root" samba_grant_dirsync
t_ok "then DirSync without the flag is allowed to the service account" \
    ad_svc ldapsearch -LLL -b "$SAMBA_BASE" -E '!dirSync=0/0/' '(objectClass=user)' objectGUID mail
t_contains "and returns the people" "$T_OUT" "dn: CN=alice,$SAMBA_PEOPLE"
t_done
