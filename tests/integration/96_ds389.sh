#!/bin/sh
# 389 Directory Server (Debian's 389-ds-base) as the third flavour, with
# the accounts and ACIs of docs/389ds.md: everyone enrolled, a second pass
# silent, an entry without entryUUID skipped while the others are enrolled,
# a plain userCertificate value seen, renewal, a locked (nsAccountLock) and
# a deleted person revoked and unpublished, a certificate of another CA
# put on by hand unpublished on leave but never sent to our CA, a new hire
# published by polling, another by Content Sync (389-ds's RFC 4533
# syncrepl, on the Retro Changelog; one restart), the lookup reader, and a
# missing right named at start. Slow (instance creation): only in the build pass, not SANITIZE.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/certs.sh"

if [ "$BUILD" != build ]; then
	t_skip "389-ds" "creating a 389-ds instance takes ~25 s: run in the BUILD=build pass only"
	t_done
fi
. "$SRCDIR/tests/lib/ds389.sh"

T=$(mktemp -d)
DS389_DIR=$T/389ds
DPID=
cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	[ -z "$DPID" ] || { kill -TERM "$DPID" 2>/dev/null || :; wait "$DPID" 2>/dev/null || :; }
	ds389_stop || :
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$(date +%s)
if ! ds389_start 2>"$T/start.err"; then
	cat "$T/start.err" >&2
	t_ok "389-ds starts (the reason is above)" false
	t_done
fi
t_ok "389-ds starts ($(($(date +%s) - t0)) s)" true
t_eq "erin has no entryUUID" "$(ldap_dm ldapsearch -LLL -b "uid=erin,$DS389_PEOPLE" -s base '(objectClass=*)' entryUUID | grep -c '^entryUUID:' || true)" 0

printf 'publisher' >"$T/pub.pw"
printf 'lookup' >"$T/lk.pw"
chmod 600 "$T/pub.pw" "$T/lk.pw"
conf() {
	cat >"$1" <<EOC
directory = {
  uri = "$DS389_URI";
  starttls = true;
  tls_ca_file = "$DS389_DIR/tls/ca.pem";
  bind_dn = "${3:-$DS389_PUB_DN}";
  bind_password_file = "$T/pub.pw";
  base = "$DS389_PEOPLE";
  flavour = "389ds";
};
ca = { driver = "local"; local = { dir = "$T/ca"; validity_days = 60; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; pkcs12_iterations = 10000;
         discard_passphrase = true; };
sync = { state_dir = "$T/state"; renew_before_days = $2; on_leave = "revoke";
         watch = "poll"; watch_interval = 1; interval = 3600; };
log = { audit_file = "$T/audit.jsonl"; };
EOC
}
conf "$T/s.conf" 30
conf "$T/renew.conf" 90
C=$T/s.conf
nbin() {
	ldap_dm ldapsearch -LLL -o ldif-wrap=no -b "uid=$1,$DS389_PEOPLE" -s base \
	    '(objectClass=*)' 'userCertificate;binary' | grep -c '^userCertificate;binary::' || true
}
nsm() {
	ldap_dm ldapsearch -LLL -o ldif-wrap=no -b "uid=$1,$DS389_PEOPLE" -s base \
	    '(objectClass=*)' userSMIMECertificate | grep -c '^userSMIMECertificate::' || true
}

t_ok "check-config takes flavour 389ds" "$SMIMEPUB" -f "$C" check-config
t_contains "and prints it back" "$T_OUT" 'flavour = "389ds";'
t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
t_ok "first pass" "$SYNC" -f "$C" --once
t_contains "four enrolled, erin skipped for want of an id" "$T_OUT" \
    "enrolled 4, renewed 0, revoked 0, republished 0, failed 0, unchanged 0, skipped 1 (1 without a readable id)"
t_contains "the warning names erin and the fixup task" "$T_OUT" "uid=erin,$DS389_PEOPLE: no entryUUID"
t_contains "... the fixup task" "$T_OUT" "plugin entryuuid fixup"
t_contains "the journal's id is recorded" "$T_OUT" "person ids are entryUUID values (recorded)"
for u in alice bob carol frank; do
	t_eq "$u: one userCertificate;binary" "$(nbin $u)" 1
	t_eq "$u: one userSMIMECertificate" "$(nsm $u)" 1
done
t_eq "erin: nothing" "$(nbin erin)" 0
t_ok "status" "$SMIMEPUB" -f "$C" status
t_contains "status: alice PUBLISHED" "$T_OUT" "alice@example.com	PUBLISHED"
t_contains "status: erin reported" "$T_OUT" "skipped 1 entry without a readable id, e.g. uid=erin"

t_ok "second pass" "$SYNC" -f "$C" --once
t_contains "second pass is silent" "$T_OUT" "enrolled 0, renewed 0, revoked 0, republished 0, failed 0, unchanged 4, skipped 1"

# a plain userCertificate value (another subtype on 389-ds) is read, kept
certs_ca "$T/other" "another CA"
certs_leaf "$T/other" "$T/carolx" carol@example.com
openssl x509 -in "$T/carolx.pem" -outform DER -out "$T/carolx.der"
ldap_dm ldapmodify >/dev/null <<EOL
dn: uid=carol,$DS389_PEOPLE
changetype: modify
add: userCertificate
userCertificate:< file://$T/carolx.der
EOL
t_ok "show carol" "$SMIMEPUB" -f "$C" show carol@example.com
t_contains "show lists the plain userCertificate value" "$T_OUT" "userCertificate[0]"
t_ok "third pass" "$SYNC" -f "$C" --once
t_contains "the plain value changes nothing" "$T_OUT" "unchanged 4"
t_eq "carol: the plain value stays" "$(ldap_dm ldapsearch -LLL -o ldif-wrap=no -b "uid=carol,$DS389_PEOPLE" -s base '(objectClass=*)' userCertificate | grep -c '^userCertificate[;binary]*::')" 2

# renewal
t_ok "renewal pass" "$SYNC" -f "$T/renew.conf" --once
t_contains "four renewed" "$T_OUT" "enrolled 0, renewed 4"
for u in alice bob carol frank; do
	t_eq "$u: still one of ours" "$(nbin $u)" 1
done

# a certificate of another CA put on by hand for frank
certs_leaf "$T/other" "$T/frankx" frank@example.com
t_ok "publish a foreign certificate for frank" "$SMIMEPUB" -f "$C" publish frank@example.com "$T/frankx.pem"

# frank is locked, bob deleted
ldap_dm ldapmodify >/dev/null <<EOL
dn: uid=frank,$DS389_PEOPLE
changetype: modify
replace: nsAccountLock
nsAccountLock: true
EOL
ldap_dm ldapdelete "uid=bob,$DS389_PEOPLE"
t_ok "leavers' pass" "$SYNC" -f "$C" --once
t_contains "two revoked" "$T_OUT" "revoked 2, republished 0, failed 0"
t_contains "frank's hand-published certificate is not sent to our CA" "$T_OUT" "was put on by hand and not issued by CA local: not revocable here"
t_eq "frank (locked): unpublished" "$(nbin frank)" 0
t_eq "frank: no userSMIMECertificate" "$(nsm frank)" 0
t_ok "status" "$SMIMEPUB" -f "$C" status
t_contains "frank UNPUBLISHED" "$T_OUT" "frank@example.com	UNPUBLISHED"
t_contains "bob closed" "$T_OUT" "bob@example.com	REVOKED"
t_not_contains "nothing FAILED" "$T_OUT" "FAILED"
t_ok "ca list" "$SMIMEPUB" -f "$C" ca list
t_eq "our CA revoked frank's and bob's, issued and renewed" "$(printf '%s\n' "$T_OUT" | grep -ci revoked)" 4
t_ok "a pass after" "$SYNC" -f "$C" --once
t_contains "nothing retried" "$T_OUT" "revoked 0, republished 0, failed 0"


# a new hire, found by polling modifyTimestamp
"$SYNC" -f "$C" --foreground >"$T/daemon.log" 2>&1 &
DPID=$!
i=0
until grep -q "pass done" "$T/daemon.log" 2>/dev/null || [ $i -ge 600 ]; do sleep 0.1; i=$((i + 1)); done
t_contains "the daemon did its full pass" "$(cat "$T/daemon.log")" "pass done"
t_contains "and watches by polling" "$(cat "$T/daemon.log")" "watching by polling"
t_not_contains "no right reported missing at start" "$(cat "$T/daemon.log")" "cannot read"
_ds389_person gina gina@example.com | ldap_dm ldapadd >/dev/null
i=0
until [ "$(nbin gina)" = 1 ] || [ $i -ge 600 ]; do sleep 0.1; i=$((i + 1)); done
t_eq "gina published by polling ($((i / 10)) s)" "$(nbin gina)" 1
t_contains "found by a poll, not a full pass" "$(cat "$T/daemon.log")" "changes: enrolled 1"
kill -TERM "$DPID" 2>/dev/null || :; wait "$DPID" 2>/dev/null || :; DPID=

# Content Sync: the Retro Changelog and Content Synchronization plugins
# enabled with dsconf (as docs/389ds.md says), one restart
dsconf_dm() {
	env PREFIX="$DS389_DIR" LDAPTLS_CACERT="$DS389_DIR/tls/ca.pem" \
	    dsconf -D "cn=Directory Manager" -w "$DS389_PW" "$DS389_LDAPS_URI" "$@"
}
t_ok "dsconf plugin retro-changelog enable" dsconf_dm plugin retro-changelog enable
t_ok "dsconf plugin retro-changelog set --attribute nsuniqueid:targetUniqueId" \
    dsconf_dm plugin retro-changelog set --attribute nsuniqueid:targetUniqueId
t_ok "dsconf plugin contentsync enable" dsconf_dm plugin contentsync enable
t0=$(date +%s)
ds389_stop
if ! _ds389_run 2>"$T/start.err"; then
	cat "$T/start.err" >&2
	t_ok "389-ds restarts with Content Sync (the reason is above)" false
	t_done
fi
t_ok "389-ds restarts with Content Sync ($(($(date +%s) - t0)) s)" true
# no timed looks (watch_interval 0) and a full pass an hour away: only a
# syncrepl notification can make the daemon look at a new hire
sed 's|watch = "poll"; watch_interval = 1;|watch = "syncrepl"; watch_interval = 0;|' "$C" >"$T/sr.conf"
t_contains "the syncrepl config" "$(cat "$T/sr.conf")" 'watch = "syncrepl"; watch_interval = 0;'
"$SYNC" -f "$T/sr.conf" --foreground >"$T/sr.log" 2>&1 &
DPID=$!
i=0
until grep -q "pass done" "$T/sr.log" 2>/dev/null || [ $i -ge 600 ]; do sleep 0.1; i=$((i + 1)); done
t_contains "the daemon did its full pass" "$(cat "$T/sr.log")" "pass done"
t_contains "and watches by syncrepl (389-ds offers it now)" "$(cat "$T/sr.log")" \
    "$DS389_URI: watching $DS389_PEOPLE by syncrepl refreshAndPersist"
t_not_contains "not by polling" "$(cat "$T/sr.log")" "polling"
t_not_contains "no right reported missing at start" "$(cat "$T/sr.log")" "cannot read"
ms0=$(date +%s%3N)
_ds389_person hank hank@example.com | ldap_dm ldapadd >/dev/null
i=0
until [ "$(nbin hank)" = 1 ] || [ $i -ge 600 ]; do sleep 0.1; i=$((i + 1)); done
t_eq "hank published by Content Sync ($(($(date +%s%3N) - ms0)) ms after the add)" "$(nbin hank)" 1
t_contains "by the look syncrepl kicked, not a full pass" "$(cat "$T/sr.log")" "changes: enrolled 1"
t_eq "one full pass only (the one at start)" "$(grep -c "pass done" "$T/sr.log" || true)" 1
kill -TERM "$DPID" 2>/dev/null || :; wait "$DPID" 2>/dev/null || :; DPID=

# the lookup reader (what smimepub-lookupd answers, through its code)
cat >"$T/lk.conf" <<EOC
directory = { uri = "$DS389_URI"; starttls = true; tls_ca_file = "$DS389_DIR/tls/ca.pem";
              base = "$DS389_PEOPLE"; flavour = "389ds"; };
lookup = { bind_dn = "$DS389_LK_DN"; bind_password_file = "$T/lk.pw";
           trust_anchors = "$T/ca/ca.pem"; };
keys = { discard_passphrase = true; };
EOC
t_ok "lookup alice with the reader account" "$SMIMEPUB" -f "$T/lk.conf" lookup alice@example.com
t_contains "answers alice's certificate" "$T_OUT" "alice@example.com"
t_eq "the reader cannot read entryUUID" "$(LDAPTLS_CACERT=$DS389_DIR/tls/ca.pem ldapsearch -x -ZZ -H "$DS389_URI" -D "$DS389_LK_DN" -w lookup -LLL -b "uid=alice,$DS389_PEOPLE" -s base '(objectClass=*)' entryUUID | grep -c '^entryUUID:' || true)" 0

# the reader as sync account: the missing rights are named at start
conf "$T/weak.conf" 30 "$DS389_LK_DN"
sed -i "s|pub.pw|lk.pw|; s|$T/state|$T/state2|" "$T/weak.conf"
"$SYNC" -f "$T/weak.conf" --foreground >"$T/weak.log" 2>&1 &
DPID=$!
i=0
until grep -q "cannot read" "$T/weak.log" 2>/dev/null || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
kill -TERM "$DPID" 2>/dev/null || :; wait "$DPID" 2>/dev/null || :; DPID=
t_contains "at start: the rights the account lacks" "$(cat "$T/weak.log")" "$DS389_LK_DN cannot read nsUniqueId, modifyTimestamp on any person"
t_done
