#!/bin/sh
# No key is lost (issue 15 item 3): a configuration with neither
# keys.delivery_command nor keys.escrow_certs would throw every PKCS#12
# passphrase away; check-config, doctor and both daemons refuse it (exit 2,
# naming the keys) unless keys.discard_passphrase = true says so.
# Nothing is contacted: every program stops at the configuration.
set -u
SRCDIR=${SRCDIR:-$(pwd)}
BUILD=${BUILD:-build}
B=$SRCDIR/$BUILD
. "$SRCDIR/tests/lib/testlib.sh"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# conf NAME [keys lines...]
conf() {
	_n=$1
	shift
	{
		echo 'directory = { uri = "ldap://127.0.0.1:1"; base = "dc=example,dc=com"; };'
		echo "ca = { local = { dir = \"$T/ca\"; }; };"
		echo "keys = { delivery_dir = \"$T/delivery\";"
		for _l in "$@"; do echo "  $_l"; done
		echo "};"
		echo "sync = { state_dir = \"$T/state\"; };"
		echo "lookup = { listen = \"127.0.0.1:1\"; pid_file = \"$T/lk.pid\"; anonymous = true; insecure_no_anchors = true; };"
	} >"$T/$_n.conf"
}
conf lost
conf empty 'escrow_certs = [ ];'
conf optout 'discard_passphrase = true;'
conf deliver "delivery_command = \"$T/hand-over\";"
conf escrow "escrow_certs = [ \"$T/kra.pem\" ];"

t_exit "check-config refuses a config that discards passphrases (exit 2)" 2 \
    "$B/smimepub" -f "$T/lost.conf" check-config
t_contains "naming keys.delivery_command" "$T_OUT" "keys.delivery_command"
t_contains "naming keys.escrow_certs" "$T_OUT" "keys.escrow_certs"
t_contains "naming keys.discard_passphrase" "$T_OUT" "keys.discard_passphrase"
t_exit "an empty escrow list keeps nothing either (exit 2)" 2 \
    "$B/smimepub" -f "$T/empty.conf" check-config
if "$B/smimepub" --help 2>&1 | grep -q doctor; then
	t_exit "doctor refuses it (exit 2)" 2 "$B/smimepub" -f "$T/lost.conf" doctor
	t_contains "doctor names the key" "$T_OUT" "keys.discard_passphrase"
else
	echo "# skip doctor: this build has no 'smimepub doctor' command yet"
fi
t_exit "smimepub enrol refuses it (exit 2)" 2 \
    "$B/smimepub" -f "$T/lost.conf" enrol alice@example.com
t_exit "smimepub-sync --once refuses it (exit 2)" 2 \
    "$B/smimepub-sync" -f "$T/lost.conf" --once --foreground
t_contains "smimepub-sync names the key" "$T_OUT" "keys.discard_passphrase"
t_exit "smimepub-lookupd refuses it (exit 2): it reads the same file" 2 \
    timeout 30 "$B/smimepub-lookupd" -f "$T/lost.conf" --foreground
t_contains "smimepub-lookupd names the key" "$T_OUT" "keys.delivery_command"
t_ok "keys.discard_passphrase = true is the explicit opt-out" \
    "$B/smimepub" -f "$T/optout.conf" check-config
t_contains "the effective configuration shows the opt-out" "$T_OUT" \
    "discard_passphrase = true;"
t_ok "a delivery command is enough" "$B/smimepub" -f "$T/deliver.conf" check-config
t_ok "escrow is enough" "$B/smimepub" -f "$T/escrow.conf" check-config
t_done
