#!/bin/sh
# Outages, against a real slapd and a real `cfssl serve`:
#  1. slapd stopped for ~5 s in the middle of a --once pass over 34 people
#     (two workers) and started again on the same port: the pass completes,
#     every person has exactly one certificate of ours, the one the journal
#     names; the CA issued at most one valid certificate per person. One
#     person whose entry the service account may not write fails alone.
#  2. the CA stopped: a --once pass fails the new people, and the journal
#     says FAILED; whoever asked the CA (one a worker) has a reason naming
#     its URL and may ask again 60-75 s later; the rest of the pass does not
#     ask it ("not sent"), due at the next pass; none of it counts as an
#     attempt (sync.max_attempts = 1 here, so one counted failure would
#     leave a person to `smimepub enrol`). The daemon, running while the CA
#     is down, stays idle (bounded CPU, measured); the CA started again on
#     the same port: the daemon enrols all of them by itself within a
#     bounded wait.
#  3. slapd stopped for ~8 s while the daemon runs: bounded CPU meanwhile;
#     once it is back, a new hire is published.
#  Throughout: no private key in the clear in the state or delivery dirs.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"
. "$SRCDIR/tests/lib/capeers.sh"

for p in cfssl sqlite3 curl; do
	if ! command -v "$p" >/dev/null 2>&1; then
		t_skip "outage tests" "$p is not installed (sh scripts/deps.sh)"
		t_done
	fi
done

T=$(mktemp -d)
SPID=
OPID=
slapd_cleanup_add '[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null; [ -n "$OPID" ] && kill -9 "$OPID" 2>/dev/null; rm -rf "$T"'
slapd_start
ldap_root ldapdelete "$(slapd_people_dn dup1)" "$(slapd_people_dn dup2)"
peer_cfssl "$T/cfssl"
CAD=$T/cfssl
CA_URL=http://127.0.0.1:$PEER_PORT

# q05's hand-over waits for the test to open the gate: the pass is then
# surely in progress while slapd is down. Everyone's takes a little while.
cat >"$T/hand-over" <<EOS
#!/bin/sh
cat >/dev/null
if [ "\$SMIMEPUB_MAIL" = q05@example.com ] && [ ! -e "$T/gate" ]; then
	touch "$T/hanging"
	i=0
	while [ ! -e "$T/gate" ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
fi
sleep 0.1
exit 0
EOS
chmod 0700 "$T/hand-over"
{
	cat <<EOC
$(slapd_conf_directory)
  timeout = 5;
};
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; delivery_command = "$T/hand-over";
  pkcs12_iterations = 10000; };
sync = { state_dir = "$T/state"; workers = 2; interval = 5; watch_interval = 1;
  max_attempts = 1; };
log = { audit_file = "$T/audit.jsonl"; };
EOC
	cat "$PEER_CONF"
} >"$T/smimepub.conf"
C=$T/smimepub.conf

add_people() {	# add_people PREFIX N
	_i=1
	while [ $_i -le "$2" ]; do
		_u=$(printf '%s%02d' "$1" $_i)
		printf 'dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nmail: %s@example.com\n\n' \
		    "$_u" "$SLAPD_PEOPLE" "$_u" "$_u" "$_u" "$_u"
		_i=$((_i + 1))
	done | ldap_root ldapadd >/dev/null
}

# "MAIL NUSERCERT NSMIME SERIAL" for every person under ou=people, SERIAL
# that of the first userCertificate value ("-" if none)
entries() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$SLAPD_PEOPLE" \
	    '(objectClass=inetOrgPerson)' mail 'userCertificate;binary' \
	    userSMIMECertificate >"$T/all.ldif"
	awk -v d="$T" '
	function flush() {
		if (mail != "") print mail, nuc, nsm, (first != "" ? first : "-")
		mail = ""; nuc = 0; nsm = 0; first = ""
	}
	/^dn: / { flush() }
	/^mail: / { mail = $2 }
	/^userCertificate;binary:: / {
		nuc++
		if (nuc == 1) {
			f = d "/c.b64"
			print $2 > f
			close(f)
			cmd = "base64 -d " f " | openssl x509 -inform DER -noout -serial"
			cmd | getline s
			close(cmd)
			sub(/^serial=/, "", s)
			first = s
		}
	}
	/^userSMIMECertificate:: / { nsm++ }
	END { flush() }' "$T/all.ldif" | sort
}

# Every person: one certificate of ours in each attribute, and it is the
# one the journal has as PUBLISHED. $1: people who are not expected to
# have one (a space-separated list of addresses).
check_all() {
	entries >"$T/entries"
	"$SMIMEPUB" -f "$C" status >"$T/status"
	bad=$(awk -v skip=" $1 " -v st="$T/status" '
	BEGIN {
		while ((getline l < st) > 0) {
			split(l, f, "\t")
			state[f[1]] = f[2]; serial[f[1]] = f[3]
		}
	}
	index(skip, " " $1 " ") { next }
	$2 != 1 || $3 != 1 { print $1 ": " $2 " userCertificate, " $3 " userSMIMECertificate"; next }
	state[$1] != "PUBLISHED" { print $1 ": journal says " state[$1]; next }
	serial[$1] != $4 { print $1 ": entry has " $4 ", journal " serial[$1] }' "$T/entries")
	t_eq "$2: everyone has exactly one certificate, the one the journal names" "$bad" ""
}

# The CA's view: how many valid certificates each address holds; prints
# the addresses with more than one (cfssl's certdb: status good).
ca_dups() {
	sqlite3 "$CAD/certs.db" "SELECT pem FROM certificates WHERE status = 'good'" |
	    awk -v d="$T/ca_pem" 'BEGIN { n = 0 }
	    /BEGIN CERTIFICATE/ { n++; f = d "." n }
	    f != "" { print > f }
	    /END CERTIFICATE/ { close(f); f = "" }'
	for f in "$T"/ca_pem.*; do
		[ -e "$f" ] || continue
		openssl x509 -in "$f" -noout -ext subjectAltName 2>/dev/null |
		    sed -n 's/.*email:\([^, ]*\).*/\1/p'
		rm -f "$f"
	done | sort | uniq -d
}

# how many r* people have a certificate on their entry
nr() {
	ldap_root ldapsearch -LLL -b "$SLAPD_PEOPLE" \
	    '(&(uid=r*)(userCertificate=*))' 1.1 | grep -c '^dn:' || true
}

no_clear_key() {
	t_eq "$1: no private key in the clear in the state or delivery dirs" \
	    "$(grep -rl 'PRIVATE KEY' "$T/state" "$T/delivery" 2>/dev/null | wc -l)" 0
}

# ---- 1. slapd stopped mid-pass --------------------------------------------
add_people q 30
# one person whose entry the service account may not write
printf 'dn: %s\nobjectClass: inetOrgPerson\nuid: locked\ncn: locked\nsn: locked\nmail: locked@example.com\n' \
    "$(slapd_people_dn locked)" | ldap_root ldapadd >/dev/null
ldap_ext ldapmodify >/dev/null <<LDIF
dn: olcDatabase={1}mdb,cn=config
changetype: modify
add: olcAccess
olcAccess: {0}to dn.exact="$(slapd_people_dn locked)" attrs=userCertificate,userSMIMECertificate by * read
LDIF

start=$(date +%s)
"$SYNC" -f "$C" --once >"$T/once1.out" 2>"$T/once1.log" &
OPID=$!
i=0
until [ -e "$T/hanging" ] || [ $i -ge 600 ]; do sleep 0.1; i=$((i + 1)); done
t_ok "the pass reached q05's delivery" test -e "$T/hanging"
slapd_pause
t_fail "slapd is down" ldapsearch -x -H "$SLAPD_URI" -o nettimeout=1 -b '' -s base -LLL 1.1
touch "$T/gate"		# q05 goes on to publish while the directory is down
sleep 5			# the outage
t_ok "slapd starts again on the same port" slapd_resume
rc=0
i=0
while kill -0 "$OPID" 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
wait "$OPID" || rc=$?
OPID=
echo "# the pass over 34 people with a 5 s directory outage took $(( $(date +%s) - start )) s"
t_eq "the pass completed: exit 1, for the one person it may not publish" "$rc" 1
t_contains "summary: 33 enrolled, 1 failed" "$(cat "$T/once1.out")" \
    "enrolled 33, renewed 0, revoked 0, republished 0, failed 1,"
t_contains "the workers saw the directory go away" "$(cat "$T/once1.log")" \
    "$SLAPD_URI"
t_not_contains "no sanitizer report (SANITIZE=1 builds)" "$(cat "$T/once1.log")" "Sanitizer"
check_all "locked@example.com" "after the directory outage"
t_eq "locked: nothing published" "$(grep '^locked@' "$T/entries" | cut -d' ' -f2)" 0
t_contains "locked: FAILED, for want of access" "$(grep '^locked@' "$T/status")" \
    "Insufficient access"
t_eq "nobody else is FAILED" "$(grep -v '^locked@' "$T/status" | grep -c '	FAILED	' || true)" 0
t_eq "the CA holds at most one valid certificate per person" "$(ca_dups)" ""
no_clear_key "after the directory outage"

# ---- 2. the CA down, then back -------------------------------------------
add_people r 10
peer_stop "$CAD"
t_exit "a pass with the CA down fails the new people" 1 "$SYNC" -f "$C" --once
t_contains "summary: 10 failed" "$T_OUT" "failed 10,"
t_contains "the reason names the CA's URL" "$T_OUT" "$CA_URL"
t_not_contains "no sanitizer report" "$T_OUT" "Sanitizer"
t_contains "the pass stops asking the CA after it failed" "$T_OUT" \
    "the rest of this pass does not ask it"
"$SMIMEPUB" -f "$C" status | grep '^r[0-9]*@' >"$T/rstatus"
t_eq "the journal: all ten FAILED" "$(grep -c '	FAILED	' "$T/rstatus")" 10
# one person per worker (2) asked the CA before the first failure was known
asked=$(grep -c 'CA cfssl unreachable (not counted as an attempt)' "$T/rstatus" || true)
t_ok "one or two asked the CA (got $asked)" test "$asked" -ge 1 -a "$asked" -le 2
t_eq "the others were not sent" "$(grep -c 'not sent: CA cfssl was unreachable earlier in the same pass' "$T/rstatus")" $((10 - asked))
t_eq "... and are due at the next pass" "$(grep -c 'next retry at the next pass' "$T/rstatus")" $((10 - asked))
t_eq "the audit log has one failure for each of the ten" \
    "$(grep '"event":"failure"' "$T/audit.jsonl" | grep -c '"mail":"r[0-9]*@example.com"')" 10
t_not_contains "no attempt is counted (sync.max_attempts = 1 here)" "$(cat "$T/rstatus")" "attempt 1"
ra=$(grep 'unreachable (not counted' "$T/rstatus" | head -n 1)
t_contains "at the CA step" "$ra" "failed in SUBMITTED (next retry "
# the one who asked may ask again a minute later, plus up to a quarter
nx=$(printf '%s\n' "$ra" | sed -n 's/.*next retry \([^)]*\)).*/\1/p')
upd=$(printf '%s\n' "$ra" | cut -f5)
gap=$(( $(date -d "$nx" +%s) - $(date -d "$upd" +%s) ))
t_ok "with the next retry 60-75 s later (got $gap s)" test "$gap" -ge 59 -a "$gap" -le 76
t_contains "naming the URL" "$ra" "ca.cfssl.url $CA_URL/api/v1/cfssl/sign: "
t_eq "no r* person has a certificate" "$(nr)" 0

"$SYNC" -f "$C" --foreground >"$T/daemon.log" 2>&1 &
SPID=$!
i=0
until grep -q 'pass done' "$T/daemon.log" || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
t_contains "the daemon ran its first pass with the CA down" "$(cat "$T/daemon.log")" "pass done"
tck=$(getconf CLK_TCK)
cpu() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$SPID/stat"; }
c0=$(cpu)
w0=$(date +%s)
p0=$(grep -c 'pass done' "$T/daemon.log" || true)
sleep 10		# the CA stays down; the daemon goes on
c1=$(cpu)
p1=$(grep -c 'pass done' "$T/daemon.log" || true)
used=$((c1 - c0))
echo "# CPU of smimepub-sync while the CA was down: $used ticks ($tck/s) over $(( $(date +%s) - w0 )) s, $((p1 - p0)) full passes"
t_ok "the daemon kept running its passes meanwhile" test $((p1 - p0)) -ge 1
t_ok "and used less than 2 s of CPU in those 10 s" test "$used" -lt $((2 * tck))
t_ok "the daemon is alive" kill -0 "$SPID"

# not through t_ok: its subshell would register the new cfssl's cleanup,
# and the exit would leave that cfssl running
rc=0
peer_cfssl_restart "$CAD" || rc=$?
t_eq "the CA starts again on the same port" "$rc" 0
back=$(date +%s)
while n=$(nr) && [ "$n" -lt 10 ] && [ $(( $(date +%s) - back )) -lt 150 ]; do
	sleep 0.5
done
echo "# the ten were enrolled $(( $(date +%s) - back )) s after the CA came back"
t_eq "the daemon enrolled the ten by itself once the CA was back (none past max_attempts)" "$n" 10
# ---- 3. slapd down while the daemon runs ----------------------------------
slapd_pause
c0=$(cpu)
w0=$(date +%s)
sleep 8			# the directory stays down; the daemon goes on
c1=$(cpu)
used=$((c1 - c0))
echo "# CPU of smimepub-sync while the directory was down: $used ticks ($tck/s) over $(( $(date +%s) - w0 )) s"
t_ok "the daemon lives through the directory outage" kill -0 "$SPID"
t_ok "using less than 2 s of CPU in those 8 s" test "$used" -lt $((2 * tck))
t_ok "slapd starts again on the same port" slapd_resume
back=$(date +%s)
printf 'dn: %s\nobjectClass: inetOrgPerson\nuid: s01\ncn: s01\nsn: s01\nmail: s01@example.com\n' \
    "$(slapd_people_dn s01)" | ldap_root ldapadd >/dev/null
while [ "$(ldap_root ldapsearch -LLL -b "$SLAPD_PEOPLE" '(&(uid=s01)(userCertificate=*))' 1.1 |
    grep -c '^dn:' || true)" -eq 0 ] && [ $(( $(date +%s) - back )) -lt 60 ]; do
	sleep 0.5
done
echo "# a new hire after the directory came back was published in $(( $(date +%s) - back )) s"
t_contains "the daemon found the directory again: s01 is published" \
    "$(ldap_root ldapsearch -LLL -b "$SLAPD_PEOPLE" '(&(uid=s01)(userCertificate=*))' 1.1)" \
    "uid=s01,"

kill -TERM "$SPID"
rc=0
wait "$SPID" || rc=$?
SPID=
t_eq "SIGTERM ends the daemon with status 0" "$rc" 0
[ "$rc" -eq 0 ] || grep -v ': info: ' "$T/daemon.log" | tail -n 40 | sed 's/^/# /'
t_not_contains "the daemon: no sanitizer report" "$(cat "$T/daemon.log")" "Sanitizer"

check_all "locked@example.com" "after the CA outage"
t_eq "nobody but locked is FAILED" "$(grep -v '^locked@' "$T/status" | grep -c '	FAILED	' || true)" 0
t_eq "the CA holds at most one valid certificate per person" "$(ca_dups)" ""
no_clear_key "after the CA outage"
t_done
