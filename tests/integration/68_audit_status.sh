#!/bin/sh
# The audit log an auditor accepts, and `smimepub status --json`, against a
# real slapd and the local CA: every event carries issuer, serial, the
# entry's DN, the host, who acted (the daemon, or the CLI's real user with
# SUDO_USER) and an outcome from the documented list (never a journal
# state); leavers carry why they left (deleted, out of filter). status
# --json and status MAIL --json parse as JSON and hold the records.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start

C=$T/smimepub.conf
cat >"$C" <<EOC
$(slapd_conf_directory)
  filter = "(&(objectClass=inetOrgPerson)(mail=*)(!(description=gone)))";
};
ca = { driver = "local"; local = { dir = "$T/ca"; subject_cn = "Audit Test CA"; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; discard_passphrase = true; };
sync = { state_dir = "$T/state"; on_leave = "revoke"; };
log = { audit_file = "$T/audit.jsonl"; };
EOC
A=$T/audit.jsonl
# ev EVENT MAIL: the JSON lines of that event for that address
ev() { grep "\"event\":\"$1\"" "$A" | grep "\"mail\":\"$2\"" || true; }

ldap_root ldapdelete "$(slapd_people_dn dup1)" "$(slapd_people_dn dup2)"
t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
t_ok "a pass enrols alice, bob and carol" "$SYNC" -f "$C" --once
HOST=$(hostname)
l=$(ev issuance alice@example.com)
t_contains "issuance: the issuer" "$l" '"issuer":"CN=Audit Test CA"'
t_contains "issuance: the serial" "$l" '"serial":"'
t_contains "issuance: the entry's DN" "$l" "\"dn\":\"$(slapd_people_dn alice)\""
t_contains "issuance: the host" "$l" "\"host\":\"$HOST\""
t_contains "issuance: the daemon acted, as root" "$l" '"actor":"daemon","user":"root"'
t_contains "publication: the DN too" "$(ev publication alice@example.com)" "\"dn\":\"$(slapd_people_dn alice)\""

# leavers: bob deleted, carol out of the filter
ldap_root ldapdelete "$(slapd_people_dn bob)"
printf 'dn: %s\nchangetype: modify\nadd: description\ndescription: gone\n' \
    "$(slapd_people_dn carol)" | ldap_root ldapmodify >/dev/null
t_ok "a pass after bob and carol left" "$SYNC" -f "$C" --once
t_contains "two revoked" "$T_OUT" "revoked 2,"
l=$(ev revocation bob@example.com)
t_contains "bob's revocation: left because deleted" "$l" '"leave":"deleted"'
t_contains "bob's revocation: the issuer" "$l" '"issuer":"CN=Audit Test CA"'
t_contains "bob's revocation: outcome revoked, CRL reason" "$l" '"outcome":"revoked","reason":"affiliationChanged"'
l=$(ev revocation carol@example.com)
t_contains "carol's revocation: left because out of filter" "$l" '"leave":"out of filter"'
t_contains "carol's revocation: her DN" "$l" "\"dn\":\"$(slapd_people_dn carol)\""
t_contains "carol's unpublication: out of filter, her DN" "$(ev unpublication carol@example.com)" \
    "\"dn\":\"$(slapd_people_dn carol)\",\"leave\":\"out of filter\""

# the CLI: the real user, and who sudo'ed
t_ok "unpublish by hand, under sudo" env SUDO_USER=opsadmin "$SMIMEPUB" -f "$C" unpublish alice@example.com
t_contains "the CLI acted, as root, for opsadmin" "$(ev unpublication alice@example.com)" \
    '"actor":"cli","user":"root","sudo_user":"opsadmin"'

# a failure: the CA unreachable (cfssl on a closed loopback port); the
# step is named, the outcome is not a journal state
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed "s|^ca = .*|ca = { driver = \"cfssl\"; cfssl = { url = \"http://127.0.0.1:$PORT\"; ca_cert = \"$T/ca/ca.pem\"; timeout = 5; }; };|" "$C" >"$T/down.conf"
printf 'dn: uid=dave,%s\nobjectClass: inetOrgPerson\nuid: dave\ncn: dave\nsn: dave\nmail: dave@example.com\n' \
    "$SLAPD_PEOPLE" | ldap_root ldapadd >/dev/null
t_exit "a pass with the CA unreachable fails dave" 1 "$SYNC" -f "$T/down.conf" --once
t_contains "dave's failure: outcome unreachable, the step named" "$(ev failure dave@example.com)" '"outcome":"unreachable"'
t_contains "and the step" "$(ev failure dave@example.com)" '"step":"SUBMITTED"'

t_ok "every line: the fields, and an outcome from the documented list" python3 - "$A" <<'EOP'
import json, sys
outcomes = {"issued", "refused", "published", "revoked", "unpublished", "none",
            "not found", "adopted", "failed", "unreachable", "not sent"}
events = {"issuance", "publication", "revocation", "unpublication", "adoption", "failure"}
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    n += 1
    for k in ("time", "event", "person", "mail", "serial", "ca", "outcome",
              "issuer", "dn", "host", "actor", "user"):
        assert k in o, (k, line)
    assert o["event"] in events, line
    assert o["outcome"] in outcomes, line
    assert o["actor"] in ("daemon", "cli"), line
    if o["event"] == "failure":
        assert "step" in o, line
assert n >= 10, n
print(n, "lines")
EOP

t_ok "status --json" sh -c "'$SMIMEPUB' -f '$C' status --json >'$T/s.json'"
t_ok "it parses" python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d['people'])==4, d" "$T/s.json"
t_ok "it holds carol's revocation and dave's failure" python3 -c "
import json,sys
d={p['mail']:p for p in json.load(open(sys.argv[1]))['people']}
assert d['carol@example.com']['state']=='UNPUBLISHED', d
assert d['bob@example.com']['state']=='REVOKED', d
assert d['dave@example.com']['state']=='FAILED' and d['dave@example.com']['failed_in'], d
assert d['dave@example.com']['reason'], d
" "$T/s.json"
t_ok "status MAIL --json" sh -c "'$SMIMEPUB' -f '$C' status carol@example.com --json >'$T/c.json'"
t_ok "it parses and is carol's history" python3 -c "
import json,sys
d=json.load(open(sys.argv[1]))
assert d['mail']=='carol@example.com'
h=d['people'][0]['history']
s=[r['state'] for r in h]
assert s[-1]=='UNPUBLISHED' and 'REVOKED' in s and 'PUBLISHED' in s, h
" "$T/c.json"
t_exit "status --bogus is a usage error" 2 "$SMIMEPUB" -f "$C" status --bogus
t_done
