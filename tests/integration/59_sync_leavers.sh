#!/bin/sh
# The guard against mass leavers (issue 15 item 4): 40 people enrolled; a
# filter typo or a wrong base makes the search return nobody, which never
# means everyone left; 20 falling out of the filter at once are more than
# sync.max_leavers (default: the larger of 10 and 2%) and are held until
# an operator approves exactly that count (smimepub approve-leavers N, or
# smimepub-sync --once --approve-leavers N).
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start

# conf NAME FILTER [BASE] [sync lines]
conf() {
	cat >"$T/$1.conf" <<EOC
directory = {
  uri = "$SLAPD_URI";
  bind_dn = "$SLAPD_SVC_DN";
  bind_password_file = "$SLAPD_SVC_PW_FILE";
  base = "${3:-$SLAPD_PEOPLE}";
  filter = "$2";
};
ca = { driver = "local"; local = { dir = "$T/ca"; key_type = "ec:P-256"; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; discard_passphrase = true; };
sync = { state_dir = "$T/state"; on_leave = "revoke"; ${4:-} };
log = { audit_file = "$T/audit.jsonl"; };
EOC
}
F='(objectClass=inetOrgPerson)(mail=*)(employeeType=staff)'
conf all "(&$F)"
conf typo "(&$F(departmentNumber=typo))"
conf wrongbase "(&$F)" "$SLAPD_SERVICES" 'max_leavers = "100%";'
conf sales "(&$F(departmentNumber=sales))"
conf few "(&$F(departmentNumber=sales)(|(uid=p0*)(uid=p10)))" "" 'max_leavers = "5";'

i=1
while [ $i -le 40 ]; do
	u=$(printf 'p%02d' $i)
	d=ops
	[ $i -le 20 ] && d=sales
	printf 'dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nmail: %s@example.com\nemployeeType: staff\ndepartmentNumber: %s\n\n' \
	    "$u" "$SLAPD_PEOPLE" "$u" "$u" "$u" "$u" "$d"
	i=$((i + 1))
done >"$T/people.ldif"
t_ok "40 people added" ldap_root ldapadd -f "$T/people.ldif"
t_ok "ca init" "$SMIMEPUB" -f "$T/all.conf" ca init
t_ok "first pass enrols them" "$SYNC" -f "$T/all.conf" --once
t_contains "40 enrolled" "$T_OUT" "enrolled 40,"
published() {
	"$SMIMEPUB" -f "$T/all.conf" status | grep -c '	PUBLISHED	' || true
}
t_eq "40 published" "$(published)" 40

t_exit "a filter typo: the pass fails" 1 "$SYNC" -f "$T/typo.conf" --once
t_contains "it revokes nobody" "$T_OUT" "revoked 0,"
t_contains "it says an empty search is not everyone leaving" "$T_OUT" \
    "never means everyone left"
t_contains "the summary counts the held leavers" "$T_OUT" "leavers held 40"
t_eq "still 40 published" "$(published)" 40
t_contains "an audit line" "$(cat "$T/audit.jsonl")" '"event":"leavers_held"'
t_exit "an approval does not override an empty search" 1 \
    "$SYNC" -f "$T/typo.conf" --once --approve-leavers 40
t_eq "still 40 published" "$(published)" 40
t_exit "a wrong base (max_leavers 100%): the pass fails" 1 \
    "$SYNC" -f "$T/wrongbase.conf" --once
t_eq "still 40 published after the wrong base" "$(published)" 40

t_exit "20 out of the filter, more than max(10, 2%): held, exit 1" 1 \
    "$SYNC" -f "$T/sales.conf" --once
t_contains "nobody revoked" "$T_OUT" "revoked 0,"
t_contains "the log names sync.max_leavers and the count to approve" "$T_OUT" \
    "smimepub approve-leavers 20"
t_eq "still 40 published" "$(published)" 40
t_exit "a dry run shows the hold (and exits 1 like the pass)" 1 "$SYNC" -f "$T/sales.conf" --once --dry-run
t_contains "in its summary" "$T_OUT" "leavers held 20"
t_exit "approve-leavers with the wrong count is refused" 1 \
    "$SMIMEPUB" -f "$T/sales.conf" approve-leavers 19
t_exit "approve-leavers 0 is a usage error" 2 \
    "$SMIMEPUB" -f "$T/sales.conf" approve-leavers 0
t_exit "--approve-leavers with another count still holds" 1 \
    "$SYNC" -f "$T/sales.conf" --once --approve-leavers 19
t_eq "still 40 published" "$(published)" 40
t_ok "smimepub approve-leavers 20" "$SMIMEPUB" -f "$T/sales.conf" approve-leavers 20
t_contains "the approval is audited" "$(cat "$T/audit.jsonl")" '"event":"leavers_approval"'
t_ok "the next pass consumes the approval and acts" "$SYNC" -f "$T/sales.conf" --once
t_contains "20 revoked" "$T_OUT" "revoked 20,"
t_eq "20 published" "$(published)" 20
t_ok "the approval was of one pass: nothing more to do" "$SYNC" -f "$T/sales.conf" --once
t_contains "nothing revoked" "$T_OUT" "revoked 0,"

t_exit "10 more leave with max_leavers = \"5\": held" 1 "$SYNC" -f "$T/few.conf" --once
t_eq "still 20 published" "$(published)" 20
t_ok "--once --approve-leavers 10 acts" "$SYNC" -f "$T/few.conf" --once --approve-leavers 10
t_contains "10 revoked" "$T_OUT" "revoked 10,"
t_eq "10 published" "$(published)" 10
t_exit "--approve-leavers needs --once" 2 "$SYNC" -f "$T/few.conf" --approve-leavers 10
printf 'directory = { uri = "ldap://x"; base = "dc=x"; };\nkeys = { discard_passphrase = true; };\nsync = { max_leavers = "2 %%"; };\n' >"$T/bad.conf"
t_exit "a bad sync.max_leavers is a configuration error" 2 "$SMIMEPUB" -f "$T/bad.conf" check-config
t_contains "naming the key" "$T_OUT" "sync.max_leavers"
t_done
