#!/bin/sh
# smimepub doctor against a real slapd and the local CA: green on a working
# setup (both accounts bind, people counted, the write right proved, the CA
# key matches its certificate, directories private), and the directory
# byte for byte unchanged by it; red, exit 1, naming the check and what to
# do: a wrong password (the bind), a read-only account (the write right),
# a cfssl URL on a closed loopback port (the CA), a state directory open to
# others (the directories), an olcAccess rule hiding entryUUID from the
# sync account (the read rights); a warning for an alias attribute no
# person shows (misspelt, or nobody has one yet), ok once one does.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start

# conf FILE BIND_DN PW_FILE CA_GROUP
conf() {
	cat >"$1" <<EOC
directory = {
  uri = "$SLAPD_URI";
  bind_dn = "$2";
  bind_password_file = "$3";
  base = "$SLAPD_PEOPLE";
};
ca = $4;
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; discard_passphrase = true; };
sync = { state_dir = "$T/state"; };
lookup = { bind_dn = "$SLAPD_LOOKUP_DN"; bind_password_file = "$SLAPD_LOOKUP_PW_FILE"; };
log = { audit_file = "$T/audit.jsonl"; };
EOC
}
LOCAL="{ driver = \"local\"; local = { dir = \"$T/ca\"; }; }"
conf "$T/ok.conf" "$SLAPD_SVC_DN" "$SLAPD_SVC_PW_FILE" "$LOCAL"
printf 'wrong' >"$T/bad.pw"
chmod 600 "$T/bad.pw"
conf "$T/badpw.conf" "$SLAPD_SVC_DN" "$T/bad.pw" "$LOCAL"
conf "$T/ro.conf" "$SLAPD_LOOKUP_DN" "$SLAPD_LOOKUP_PW_FILE" "$LOCAL"
# a loopback port nobody listens on: bound then closed
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
conf "$T/cfssl.conf" "$SLAPD_SVC_DN" "$SLAPD_SVC_PW_FILE" \
    "{ driver = \"cfssl\"; cfssl = { url = \"http://127.0.0.1:$PORT\"; ca_cert = \"$T/ca/ca.pem\"; timeout = 5; }; }"

ldap_root ldapdelete "$(slapd_people_dn dup1)" "$(slapd_people_dn dup2)"
t_ok "ca init" "$SMIMEPUB" -f "$T/ok.conf" ca init
t_ok "a pass makes the state and delivery directories" "$SYNC" -f "$T/ok.conf" --once
dump() { ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$SLAPD_BASE" '(objectClass=*)' '*' '+'; }
dump >"$T/before"
t_ok "doctor is green on a working setup" "$SMIMEPUB" -f "$T/ok.conf" doctor
out=$T_OUT
t_contains "the sync account binds" "$out" "ok   bind sync        bound as $SLAPD_SVC_DN"
t_contains "the lookupd account binds" "$out" "ok   bind lookupd     bound as $SLAPD_LOOKUP_DN"
t_contains "the people are counted" "$out" "ok   people           3 under $SLAPD_PEOPLE"
t_contains "the read rights: the id, and modifyTimestamp (the daemon polls: no syncprov)" "$out" \
    "ok   read rights      $SLAPD_SVC_DN can read the id and modifyTimestamp (changes between passes) on the people"
t_contains "the write right is proved" "$out" "ok   write right      $SLAPD_SVC_DN may add and delete both"
t_contains "the local CA key matches its certificate" "$out" "ok   ca               local CA in $T/ca: key readable, private and matching ca.pem"
t_contains "the state directory is private" "$out" "ok   directories      sync.state_dir $T/state: mode 0700"
t_contains "the clock: slapd without cn=Monitor says it has no time" "$out" "warn clock            the directory exposes no time"
t_contains "the verdict" "$out" "doctor: all checks passed"
dump >"$T/after"
t_ok "the directory is byte for byte unchanged (entryCSN, modifyTimestamp too)" cmp "$T/before" "$T/after"

t_exit "doctor is red on a wrong password" 1 "$SMIMEPUB" -f "$T/badpw.conf" doctor
t_contains "it names the bind" "$T_OUT" "FAIL bind sync        $SLAPD_SVC_DN at $SLAPD_URI"
t_contains "it says what to do" "$T_OUT" "check the account, its password file and the URI"
t_contains "the summary names it" "$T_OUT" "failed: bind sync"

t_exit "doctor is red for a read-only account" 1 "$SMIMEPUB" -f "$T/ro.conf" doctor
t_contains "it names the write right" "$T_OUT" "FAIL write right      $SLAPD_LOOKUP_DN may not write"
t_contains "the summary names only it" "$T_OUT" "doctor: 1 check failed: write right"

t_exit "doctor is red when the CA is unreachable" 1 "$SMIMEPUB" -f "$T/cfssl.conf" doctor
t_contains "it names the CA and its URL" "$T_OUT" "FAIL ca               http://127.0.0.1:$PORT/api/v1/cfssl/info"
t_contains "the summary names it" "$T_OUT" "doctor: 1 check failed: ca"

# alias attributes: one the server does not know, one nobody has yet, and
# one a person has (a warning is no failure)
sed 's|  base = "'"$SLAPD_PEOPLE"'";|&\n  alias_attributes = [ "mailAlternateAdress", "mailLocalAddress" ];|' \
    "$T/ok.conf" >"$T/alias.conf"
t_ok "doctor with alias attributes nobody shows: warnings only" "$SMIMEPUB" -f "$T/alias.conf" doctor
t_contains "a misspelt attribute is a warning" "$T_OUT" \
    "warn aliases          no person under $SLAPD_PEOPLE shows mailAlternateAdress to $SLAPD_SVC_DN"
t_contains "so is one nobody has" "$T_OUT" "shows mailLocalAddress to $SLAPD_SVC_DN: the server does not know it"
printf 'dn: %s\nchangetype: modify\nadd: objectClass\nobjectClass: inetLocalMailRecipient\n-\nadd: mailLocalAddress\nmailLocalAddress: ali@example.org\n' \
    "$(slapd_people_dn alice)" | ldap_root ldapmodify >/dev/null
t_ok "doctor once alice has an alias" "$SMIMEPUB" -f "$T/alias.conf" doctor
t_contains "the attribute is seen on her" "$T_OUT" \
    "ok   aliases          $SLAPD_SVC_DN can read mailLocalAddress (on $(slapd_people_dn alice), among others)"
dump >"$T/before"

chmod 0755 "$T/state"
t_exit "doctor is red for a state directory open to others" 1 "$SMIMEPUB" -f "$T/ok.conf" doctor
t_contains "it names the directory and the fix" "$T_OUT" "sync.state_dir $T/state is mode 0755, owner root: it holds keys or the journal; chmod 0700"
dump >"$T/after"
t_ok "still nothing changed in the directory" cmp "$T/before" "$T/after"
chmod 0700 "$T/state"

# entryUUID hidden from the sync account: smimepub-sync would skip everyone
ldap_ext ldapmodify >/dev/null <<LDIF
dn: olcDatabase={1}mdb,cn=config
changetype: modify
add: olcAccess
olcAccess: {0}to dn.subtree="$SLAPD_PEOPLE" attrs=entryUUID by dn.exact="$SLAPD_SVC_DN" none by * break
LDIF
t_exit "doctor is red when the sync account cannot read entryUUID" 1 "$SMIMEPUB" -f "$T/ok.conf" doctor
t_contains "it names the read rights and entryUUID" "$T_OUT" "FAIL read rights      $SLAPD_SVC_DN cannot read entryUUID on any person"
t_not_contains "modifyTimestamp is readable: not named" "$T_OUT" "cannot read entryUUID, modifyTimestamp"
t_contains "it says what grants it" "$T_OUT" "grant it read and search on it (an olcAccess rule grants it)"
t_contains "the summary names only it" "$T_OUT" "doctor: 1 check failed: read rights"
t_done
