#!/bin/sh
# bench_aliases_ab.sh OLD_BUILD NEW_BUILD — a one-off before/after of the
# address sets (issue 20): a no-op `smimepub-sync --once` over N (3000)
# people enrolled by OLD, half of whom hold a mailLocalAddress alias, run
# by NEW against OLD in turn (A B A B, 7 of each, /usr/bin/time), without
# and with directory.alias_attributes. Both builds must read the journal
# OLD writes; the figures went into docs/BENCHMARKS.md by hand.
set -eu
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-3000}
OLD=${1:?usage: bench_aliases_ab.sh OLD_BUILD NEW_BUILD}
NEW=${2:?usage: bench_aliases_ab.sh OLD_BUILD NEW_BUILD}
. "$SRCDIR/tests/lib/slapd.sh"
W=$(mktemp -d)
slapd_cleanup_add 'rm -rf "$W"'
slapd_start
awk -v n="$N" -v people="$SLAPD_PEOPLE" 'BEGIN {
	for (i = 1; i <= n; i++) {
		u = sprintf("s%07d", i)
		printf "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nobjectClass: inetLocalMailRecipient\nuid: %s\ncn: P %d\nsn: P\nmail: %s@example.com\nbusinessCategory: a\n", u, people, u, i, u
		if (i % 2 == 0) printf "mailLocalAddress: %s.alias@example.org\n", u
		printf "\n"
	}
}' >"$W/people.ldif"
ldap_root ldapadd -f "$W/people.ldif" >/dev/null
for v in plain alias; do
	extra=""; [ $v = alias ] && extra='alias_attributes = [ "mailLocalAddress" ];'
	cat >"$W/$v.conf" <<EOC
directory = { uri = "$SLAPD_URI"; bind_dn = "$SLAPD_SVC_DN"; bind_password_file = "$SLAPD_SVC_PW_FILE";
  base = "$SLAPD_PEOPLE"; filter = "(&(objectClass=inetOrgPerson)(businessCategory=a))"; page_size = 1000; $extra };
ca = { driver = "local"; local = { dir = "$W/ca"; key_type = "ec:P-256"; }; };
keys = { type = "ec:P-256"; delivery_dir = "$W/$v.delivery"; pkcs12_iterations = 10000; discard_passphrase = true; };
sync = { state_dir = "$W/$v.state"; workers = 2; };
log = { level = "warn"; };
EOC
done
"$OLD/smimepub" -f "$W/plain.conf" ca init >/dev/null 2>&1
# enrolled by the old binary (its journal format, which both read)
"$OLD/smimepub-sync" -f "$W/plain.conf" --once >"$W/enrol.log" 2>&1 || { tail "$W/enrol.log"; exit 1; }
tail -n1 "$W/enrol.log"
cp -a "$W/plain.state/." "$W/alias.state/" 2>/dev/null || { mkdir -p "$W/alias.state"; cp -a "$W/plain.state/." "$W/alias.state/"; }
"$NEW/smimepub-sync" -f "$W/alias.conf" --once 2>&1 | tail -n1
"$OLD/smimepub-sync" -f "$W/alias.conf" --once 2>&1 | tail -n1
# pass NAME BUILD: one timed run, "wall user sys" appended to $W/NAME.t
pass() {
	/usr/bin/time -f '%e %U %S' -a -o "$W/$1.t" "$2/smimepub-sync" -f "$W/$3.conf" --once \
	    >/dev/null 2>&1
}
med() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for v in plain alias; do
	pass warm "$NEW" "$v"; pass warm "$OLD" "$v"
	for _ in 1 2 3 4 5 6 7; do pass "new.$v" "$NEW" "$v"; pass "old.$v" "$OLD" "$v"; done
	for k in new old; do
		printf '%s %s: wall %s s, cpu %s s (medians of 7)\n' "$v" "$k" \
		    "$(cut -d' ' -f1 "$W/$k.$v.t" | med)" \
		    "$(awk '{ print $2 + $3 }' "$W/$k.$v.t" | med)"
	done
done
