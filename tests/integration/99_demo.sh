#!/bin/sh
# make demo's script runs end to end: sync, lookupd, encryption to the
# looked-up certificate, decryption with the delivered key.
set -u
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
out=$(BUILD=$BUILD sh "$SRCDIR/scripts/demo.sh" 2>&1)
rc=$?
t_eq "scripts/demo.sh exits 0" "$rc" 0
t_contains "one pass enrolled the sample people" "$out" "enrolled 3,"
t_contains "lookupd answered with alice's certificate" "$out" '{"mail":"alice@example.com","certificates":[{'
t_contains "alice decrypted the message" "$out" "Hello Alice, this is encrypted to the certificate smimepub published."
t_eq "nothing left running" "$(pgrep -f "$SRCDIR/$BUILD/smimepub-lookupd" | wc -l)" 0
t_done
