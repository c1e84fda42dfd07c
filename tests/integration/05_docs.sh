#!/bin/sh
# The man pages format without warnings, and the sample configuration is a
# valid configuration (check-config accepts it once its paths exist).
set -u
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"

for m in "$SRCDIR"/docs/*.[1-8]; do
	out=$(LC_ALL=C.UTF-8 groff -ww -man -Tutf8 -z "$m" 2>&1)
	t_eq "groff -ww $(basename "$m") is silent" "$out" ""
	out=$(LC_ALL=C.UTF-8 man --warnings -l "$m" 2>&1 >/dev/null)
	t_eq "man --warnings $(basename "$m") is silent" "$out" ""
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'secret' >"$tmp/bind.secret"
chmod 0600 "$tmp/bind.secret"
sed -e "s|/etc/smimepub/bind.secret|$tmp/bind.secret|" \
    "$SRCDIR/etc/smimepub.conf" >"$tmp/smimepub.conf"
t_ok "sample smimepub.conf passes check-config" \
    "$BUILD/smimepub" -f "$tmp/smimepub.conf" check-config
"$BUILD/smimepub" -f "$tmp/smimepub.conf" check-config >"$tmp/eff.conf" 2>/dev/null
t_ok "the printed effective configuration passes check-config" \
    "$BUILD/smimepub" -f "$tmp/eff.conf" check-config
chmod 0644 "$tmp/bind.secret"
t_exit "check-config refuses a group/world-readable bind secret (exit 2)" 2 \
    "$BUILD/smimepub" -f "$tmp/smimepub.conf" check-config
printf 'directory = { uri = "ldap://x"; base = "dc=x";\n  nope = 1; };\n' >"$tmp/bad.conf"
out=$("$BUILD/smimepub" -f "$tmp/bad.conf" check-config 2>&1)
t_contains "unknown key named with file and line" "$out" "$tmp/bad.conf:2: directory.nope: unknown key"
t_exit "usage error exits 2" 2 "$BUILD/smimepub" -f "$tmp/smimepub.conf" frobnicate
t_exit "invalid address exits 2" 2 "$BUILD/smimepub" -f "$tmp/smimepub.conf" show 'x*)(mail=*'
t_done
