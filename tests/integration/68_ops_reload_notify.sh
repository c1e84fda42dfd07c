#!/bin/sh
# Reload that reloads, systemd notification and journald priorities (issue
# 16 items 5 and 6), for both daemons against a real slapd:
# - smimepub-sync under a NOTIFY_SOCKET of ours (tests/lib/notify_listen.py)
#   says READY=1, STATUS= with the last pass's summary, RELOADING=1 then
#   READY=1 around a SIGHUP, STOPPING=1 at SIGTERM;
# - with JOURNAL_STREAM naming its stderr, each line starts with its syslog
#   priority (<6> info, <3> error); without it, none does;
# - logrotate's rename of the audit file + SIGHUP: the next event lands in
#   the new file, none in the renamed one; log.level changed + SIGHUP is
#   applied (an info line appears after starting at "warn");
# - smimepub-lookupd: a bad new configuration on SIGHUP is reported and the
#   old one keeps serving; a good one is put in use (it serves on the new
#   port, the old one is closed), log.level re-applied, READY=1 again.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

T=$(mktemp -d)
SPID= NPID= LPID=
slapd_cleanup_add 'for p in $SPID $NPID $LPID; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"'
slapd_start

# wait_for FILE TEXT [N]: until FILE has TEXT (N times), 30 s at most
wait_for() {
	_i=0
	while [ "$(cat "$1" 2>/dev/null | grep -c -F -- "$2")" -lt "${3:-1}" ] &&
	    [ $_i -lt 300 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}
ncerts() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' 'userCertificate;binary' 2>/dev/null |
	    grep -c '^userCertificate;binary::' || true
}
python3 "$SRCDIR/tests/lib/notify_listen.py" "$T/notify" "$T/notify.log" &
NPID=$!
wait_for "$T/notify.log" LISTENING

sconf() {	# sconf LEVEL: the sync configuration at log.level LEVEL
	cat <<EOC
$(slapd_conf_directory)
};
ca = { driver = "local"; local = { dir = "$T/ca"; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; pkcs12_iterations = 10000;
         discard_passphrase = true; };
sync = { state_dir = "$T/state"; interval = 3600; watch_interval = 1; };
log = { level = "$1"; audit_file = "$T/audit.jsonl"; };
EOC
}
C=$T/sync.conf
sconf warn >"$C"
t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
: >"$T/sync.log"
JS=$(stat -c '%d:%i' "$T/sync.log")
NOTIFY_SOCKET=$T/notify JOURNAL_STREAM=$JS "$SYNC" -f "$C" --foreground \
    2>>"$T/sync.log" &
SPID=$!
wait_for "$T/notify.log" "STATUS=last pass"
t_contains "smimepub-sync: READY=1" "$(cat "$T/notify.log")" "READY=1"
t_contains "STATUS= gives the last pass's summary" \
    "$(grep STATUS= "$T/notify.log")" "enrolled 3,"
t_eq "alice published" "$(ncerts alice)" 1
t_contains "the audit file has alice's issuance" "$(cat "$T/audit.jsonl")" \
    '"mail":"alice@example.com"'
t_not_contains "log.level = warn: no info line yet" "$(cat "$T/sync.log")" \
    "pass done"

# logrotate: rename, then SIGHUP (postrotate); log.level now info
mv "$T/audit.jsonl" "$T/audit.jsonl.1"
sconf info >"$C"
kill -HUP "$SPID" || true
wait_for "$T/notify.log" "READY=1" 2
t_contains "RELOADING=1 on SIGHUP" "$(cat "$T/notify.log")" "RELOADING=1"
t_eq "RELOADING=1 comes before the second READY=1" \
    "$(grep -E '^(READY|RELOADING)' "$T/notify.log" | cut -d'|' -f1 | tr '\n' ' ')" \
    "READY=1 RELOADING=1 READY=1 "
wait_for "$T/sync.log" "configuration reloaded"
t_contains "the new log.level applies: the reload is said at info, <6>" \
    "$(cat "$T/sync.log")" "<6>smimepub-sync: info: $C: configuration reloaded"
sed -e "s/^uid: .*/uid: dave/" >"$T/dave.ldif" <<EOL
dn: uid=dave,$SLAPD_PEOPLE
objectClass: inetOrgPerson
uid: dave
cn: Dave New
sn: New
mail: dave@example.com
EOL
ldap_root ldapadd -f "$T/dave.ldif" >/dev/null
wait_for "$T/audit.jsonl" "dave@example.com"
t_contains "after rename + SIGHUP the next event lands in the new file" \
    "$(cat "$T/audit.jsonl" 2>/dev/null)" '"mail":"dave@example.com"'
t_not_contains "and none in the renamed one" "$(cat "$T/audit.jsonl.1")" \
    "dave@example.com"

cp "$C" "$T/good.conf"
echo 'bogus = 1;' >>"$C"
kill -HUP "$SPID" || true
wait_for "$T/sync.log" "keeping the old one"
t_contains "a bad configuration is an error line, <3>" "$(cat "$T/sync.log")" \
    "<3>smimepub-sync: error: $C: the new configuration is bad; keeping the old one"
t_eq "every line of the log carries a priority" \
    "$(grep -cv '^<[0-7]>' "$T/sync.log" || true)" 0
wait_for "$T/notify.log" "READY=1" 3
kill -TERM "$SPID" || true
rc=0
wait "$SPID" || rc=$?
SPID=
t_eq "SIGTERM: exit 0" "$rc" 0
t_contains "STOPPING=1 at SIGTERM" "$(tail -1 "$T/notify.log")" "STOPPING=1"

# ---- smimepub-lookupd --------------------------------------------------
free_port() {
	while :; do
		_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' \n')
		_pp=$((10000 + _r % 22000))
		ss -Htan 2>/dev/null | awk '{ print $4 }' | grep -q ":$_pp\$" || break
	done
	echo "$_pp"
}
lconf() {	# lconf PORT LEVEL
	cat <<EOC
directory = { uri = "$SLAPD_URI"; base = "$SLAPD_PEOPLE"; timeout = 2; };
ca = { driver = "local"; local = { dir = "$T/ca"; }; };
keys = { discard_passphrase = true; };
lookup = { listen = "127.0.0.1:$1"; bind_dn = "$SLAPD_LOOKUP_DN";
  bind_password_file = "$SLAPD_LOOKUP_PW_FILE";
  trust_anchors = "$T/ca/ca.pem"; drain_timeout = 2; };
log = { level = "$2"; };
EOC
}
L=$T/lk.conf
: >"$T/notify.log"
P1=$(free_port)
lconf "$P1" warn >"$L"
NOTIFY_SOCKET=$T/notify "$LOOKUPD" -f "$L" --foreground 2>"$T/lk.log" &
LPID=$!
wait_for "$T/notify.log" "READY=1"
t_contains "smimepub-lookupd: READY=1 once serving" "$(cat "$T/notify.log")" "READY=1"
t_contains "STATUS= says where it serves" "$(cat "$T/notify.log")" \
    "STATUS=serving on 127.0.0.1:$P1"
t_ok "it serves alice" curl -sf -o /dev/null "http://127.0.0.1:$P1/v1/certs/alice@example.com"
echo 'bogus = 1;' >>"$L"
kill -HUP "$LPID" || true
wait_for "$T/lk.log" "keeping the old one"
t_contains "lookupd: a bad new configuration is reported" "$(cat "$T/lk.log")" \
    "the new configuration is bad; keeping the old one"
t_ok "and the old one keeps serving" curl -sf -o /dev/null \
    "http://127.0.0.1:$P1/v1/certs/alice@example.com"
t_not_contains "no priority prefix without JOURNAL_STREAM" "$(cat "$T/lk.log")" "<3>"
P2=$(free_port)
lconf "$P2" info >"$L"
kill -HUP "$LPID" || true
wait_for "$T/notify.log" "READY=1" 3
wait_for "$T/lk.log" "configuration reloaded"
t_contains "a good new configuration is put in use, said at the new log.level" \
    "$(cat "$T/lk.log")" "configuration reloaded; serving on 127.0.0.1:$P2"
t_ok "it serves on the new port" curl -sf -o /dev/null \
    "http://127.0.0.1:$P2/v1/certs/alice@example.com"
t_fail "the old port is closed" curl -s -o /dev/null "http://127.0.0.1:$P1/healthz"
t_eq "lookupd: READY, RELOADING, READY, RELOADING, READY" \
    "$(grep -E '^(READY|RELOADING)' "$T/notify.log" | cut -d'|' -f1 | tr '\n' ' ')" \
    "READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 "
kill -TERM "$LPID" || true
rc=0
wait "$LPID" || rc=$?
LPID=
t_eq "lookupd: SIGTERM, exit 0" "$rc" 0
t_contains "lookupd: STOPPING=1" "$(cat "$T/notify.log")" "STOPPING=1"
t_done
