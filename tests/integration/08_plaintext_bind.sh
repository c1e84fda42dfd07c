#!/bin/sh
# A simple bind over plain ldap:// (no StartTLS) to a host that is not
# loopback would send the password in clear (issue 15 item 7): refused at
# the configuration check, before anything is contacted, unless
# directory.allow_plaintext_bind = true. 192.0.2.1 (TEST-NET-1, RFC 5737)
# is only named, never connected to: each refusal is exit 2, at once.
set -u
SRCDIR=${SRCDIR:-$(pwd)}
BUILD=${BUILD:-build}
B=$SRCDIR/$BUILD
. "$SRCDIR/tests/lib/testlib.sh"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
printf 'secret' >"$T/bind.secret"
chmod 0600 "$T/bind.secret"

# conf NAME URI [directory lines...]
conf() {
	_n=$1
	_u=$2
	shift 2
	{
		echo "directory = { uri = \"$_u\"; base = \"dc=example,dc=com\";"
		echo "  bind_dn = \"cn=smimepub,dc=example,dc=com\"; bind_password_file = \"$T/bind.secret\";"
		for _l in "$@"; do echo "  $_l"; done
		echo "};"
		echo "ca = { local = { dir = \"$T/ca\"; }; };"
		echo "keys = { delivery_dir = \"$T/delivery\"; discard_passphrase = true; };"
		echo "sync = { state_dir = \"$T/state\"; };"
		echo "lookup = { listen = \"127.0.0.1:1\"; pid_file = \"$T/lk.pid\"; anonymous = true; insecure_no_anchors = true; };"
	} >"$T/$_n.conf"
}
conf remote "ldap://192.0.2.1:389"
conf remote2 "ldap://127.0.0.1:1 ldap://dc2.example.com"
conf tls "ldap://192.0.2.1:389" "starttls = true;"
conf allowed "ldap://192.0.2.1:389" "allow_plaintext_bind = true;"
conf ldaps "ldaps://192.0.2.1:636"
conf loop "ldap://127.0.0.1:1"

t_exit "check-config refuses a plaintext bind to 192.0.2.1 (exit 2)" 2 \
    "$B/smimepub" -f "$T/remote.conf" check-config
t_contains "naming directory.allow_plaintext_bind" "$T_OUT" "directory.allow_plaintext_bind"
t_contains "and the URI" "$T_OUT" "ldap://192.0.2.1:389"
t_exit "any URI of the list counts" 2 "$B/smimepub" -f "$T/remote2.conf" check-config
t_contains "naming it" "$T_OUT" "ldap://dc2.example.com"
t_exit "smimepub-sync --once refuses it before connecting (exit 2)" 2 \
    timeout 30 "$B/smimepub-sync" -f "$T/remote.conf" --once --foreground
t_exit "smimepub show refuses it (exit 2)" 2 \
    timeout 30 "$B/smimepub" -f "$T/remote.conf" show alice@example.com
t_ok "StartTLS is fine" "$B/smimepub" -f "$T/tls.conf" check-config
t_ok "directory.allow_plaintext_bind = true is the opt-out" \
    "$B/smimepub" -f "$T/allowed.conf" check-config
t_ok "ldaps:// is fine" "$B/smimepub" -f "$T/ldaps.conf" check-config
t_ok "loopback is fine" "$B/smimepub" -f "$T/loop.conf" check-config
t_done
