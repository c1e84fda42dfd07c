#!/bin/sh
# The progress line of a long pass on a terminal (script(1) gives
# smimepub-sync a pty): redrawn in place with counts, rate and time left,
# and cleared before every log line, so that on the rendered screen no log
# line shares a line with it and none is left behind at the end. Without a
# terminal (a pipe) there is no progress line at all.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start

C=$T/smimepub.conf
cat >"$C" <<EOC
$(slapd_conf_directory)
};
ca = { driver = "local"; local = { dir = "$T/ca"; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; discard_passphrase = true; };
sync = { state_dir = "$T/state"; workers = 2; };
EOC
ldap_root ldapdelete "$(slapd_people_dn dup1)" "$(slapd_people_dn dup2)"
i=0
while [ $i -lt 60 ]; do
	printf 'dn: uid=p%d,%s\nobjectClass: inetOrgPerson\nuid: p%d\ncn: p\nsn: p\nmail: p%d@example.com\n\n' \
	    $i "$SLAPD_PEOPLE" $i $i
	i=$((i + 1))
done | ldap_root ldapadd >/dev/null
t_ok "ca init" "$SMIMEPUB" -f "$C" ca init

t_ok "a pass of 63 people on a pty" script -q -e -c "'$SYNC' -f '$C' --once" "$T/typescript"
t_ok "the screen: progress redrawn in place, cleared before each log line and at the end" \
    python3 - "$T/typescript" <<'EOP'
import re, sys
raw = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
draws = re.findall(r"\r\x1b\[K(sync: \d+/63 \(\d+%\), [0-9.]+/s, [^\r\n\x1b]*)", raw)
assert len(draws) >= 2, ("fewer than two progress draws", draws)
assert all("left" in d for d in draws), draws
# render: CR to column 0, ESC[K erases to the end, text overwrites
screen, cur, col = [], [], 0
i = 0
while i < len(raw):
    if raw.startswith("\x1b[K", i):
        del cur[col:]; i += 3; continue
    c = raw[i]; i += 1
    if c == "\r": col = 0
    elif c == "\n": screen.append("".join(cur)); cur, col = [], 0
    else:
        if col < len(cur): cur[col] = c
        else: cur.append(c)
        col += 1
screen.append("".join(cur))
logs = [l for l in screen if "smimepub-sync: info:" in l]
assert len(logs) >= 60, len(logs)
for l in screen:
    assert not re.search(r"sync: \d+/63 \(", l), ("a progress line left on screen", l)
print(len(draws), "draws;", len(logs), "log lines, none mixed; e.g.", draws[len(draws)//2])
EOP
t_contains "the summary" "$(cat "$T/typescript")" "enrolled 63,"

t_ok "a pass on a pipe" sh -c "'$SYNC' -f '$C' --once 2>'$T/err' >/dev/null"
t_ok "no progress line without a terminal" sh -c "! grep -q 'sync: [0-9]*/' '$T/err'"
t_done
