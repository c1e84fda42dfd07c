#!/bin/sh
# The optional trigger and status attributes (schema/smimepub.ldif): with
# sync.require_trigger only people HR marked with smimepubTrigger are
# enrolled, and smimepub writes a one-line smimepubStatus back on the entry.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start

cat >"$T/smimepub.conf" <<EOC
$(slapd_conf_directory)
  trigger_attribute = "smimepubTrigger";
  status_attribute = "smimepubStatus";
};
ca = { driver = "local"; local = { dir = "$T/ca"; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; pkcs12_iterations = 10000; discard_passphrase = true; };
sync = { state_dir = "$T/state"; require_trigger = true; };
EOC
C=$T/smimepub.conf
ncerts() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' 'userCertificate;binary' | grep -c '^userCertificate;binary::' || true
}
status_of() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' smimepubStatus | sed -n 's/^smimepubStatus: //p'
}
trigger() {
	cat >"$T/trig.ldif" <<EOL
dn: $(slapd_people_dn "$1")
changetype: modify
add: objectClass
objectClass: smimepubPerson
-
add: smimepubTrigger
smimepubTrigger: enrol
EOL
	ldap_root ldapmodify -f "$T/trig.ldif" >/dev/null
}

printf 'directory = { uri = "ldap://x"; base = "dc=x"; };\nsync = { require_trigger = true; };\n' >"$T/bad.conf"
t_exit "require_trigger without trigger_attribute is a configuration error" 2 \
    "$SMIMEPUB" -f "$T/bad.conf" check-config
t_contains "naming the key" "$T_OUT" "sync.require_trigger: needs directory.trigger_attribute"

t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
trigger alice
t_ok "a pass with only alice triggered" "$SYNC" -f "$C" --once
t_contains "one enrolled, the others wait for HR" "$T_OUT" "enrolled 1,"
t_eq "alice has a certificate" "$(ncerts alice)" 1
t_eq "bob has none" "$(ncerts bob)" 0
st=$(status_of alice)
t_contains "alice's status says published" "$st" "smimepub: published serial "
t_contains "with the serial of the journal" "$("$SMIMEPUB" -f "$C" status)" "$(echo "$st" | sed 's/.*serial \([0-9A-F]*\).*/\1/')"

trigger bob
t_ok "a pass after HR triggered bob" "$SYNC" -f "$C" --once
t_contains "bob enrolled" "$T_OUT" "enrolled 1,"
t_eq "bob has a certificate" "$(ncerts bob)" 1

t_ok "revoke bob" "$SMIMEPUB" -f "$C" revoke bob@example.com
t_eq "bob's status is the code revoked" "$(status_of bob)" "smimepub: revoked"

# The status is a short code, never a CA's error text (issue 15 item 7):
# an exec CA that rejects carol with its internals in the reason.
cat >"$T/reject" <<'EOH'
#!/bin/sh
cat >/dev/null
echo "ca-db.internal.example:5432 password authentication failed for ca_admin" >&2
exit 1
EOH
chmod 0755 "$T/reject"
sed "s|^ca = .*|ca = { driver = \"exec\"; exec = { command = \"$T/reject\"; ca_cert = \"$T/ca/ca.pem\"; }; };|" \
    "$C" >"$T/reject.conf"
trigger carol
t_exit "the CA rejects carol" 1 "$SYNC" -f "$T/reject.conf" --once
st=$(status_of carol)
t_contains "carol's status is the code failed-ca" "$st" "smimepub: failed-ca"
t_not_contains "without the CA's text" "$st" "password"
t_contains "the reason is in the journal" \
    "$("$SMIMEPUB" -f "$C" status carol@example.com)" "password authentication failed"
t_done
