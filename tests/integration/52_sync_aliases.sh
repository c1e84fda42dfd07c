#!/bin/sh
# Alias addresses (issue 20 item 1) through the OpenLDAP flavour, against a
# real slapd and the local CA: directory.alias_attributes =
# ["mailLocalAddress"]. One certificate names mail and every alias, mail
# first; smimepub lookup (smimepub-lookupd's code) answers for each alias,
# in any case, with it; a pass with nothing changed issues nothing; an
# alias removed re-enrols and revokes the old certificate as superseded; an
# alias added re-enrols; an alias two people claim goes to neither, both
# are reported (log and metric), and when one lets it go the other gets it
# at the next full pass; a mail that is another person's alias is refused.
# (A journal record from before address sets: test_jrnl.)
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start

cat >"$T/smimepub.conf" <<EOC
$(slapd_conf_directory)
  filter = "(&(objectClass=inetOrgPerson)(|(uid=alice)(uid=bob)(uid=carol)))";
  alias_attributes = [ "mailLocalAddress" ];
};
ca = { driver = "local"; local = { dir = "$T/ca"; key_type = "ec:P-256"; validity_days = 30; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; discard_passphrase = true; };
sync = { state_dir = "$T/state"; renew_before_days = 5; };
log = { audit_file = "$T/audit.jsonl"; };
lookup = { bind_dn = "$SLAPD_LOOKUP_DN"; bind_password_file = "$SLAPD_LOOKUP_PW_FILE";
  trust_anchors = "$T/ca/ca.pem"; };
EOC
C=$T/smimepub.conf

# aliases WHO OP VALUE...: add, delete or replace mailLocalAddress values
aliases() {
	_who=$1 _op=$2
	shift 2
	{
		echo "dn: $(slapd_people_dn "$_who")"
		echo "changetype: modify"
		echo "$_op: mailLocalAddress"
		for _v in "$@"; do echo "mailLocalAddress: $_v"; done
	} >"$T/mod.ldif"
	ldap_root ldapmodify -f "$T/mod.ldif" >/dev/null
}
# the rfc822Names of WHO's first userCertificate, in order, one line
san() {
	rm -rf "$T/v"; mkdir "$T/v"
	f=$(ldap_root ldapsearch -LLL -o ldif-wrap=no -tt -T "$T/v" -b "$(slapd_people_dn "$1")" \
	    -s base '(objectClass=*)' 'userCertificate;binary' | sed -n 's|^[^:]*:< file://||p' |
	    head -n 1)
	[ -n "$f" ] || return 0
	openssl x509 -inform DER -in "$f" -noout -ext subjectAltName 2>/dev/null | tail -n 1 |
	    sed 's/^ *//; s/email://g'
}
first_serial() {
	rm -rf "$T/v"; mkdir "$T/v"
	f=$(ldap_root ldapsearch -LLL -o ldif-wrap=no -tt -T "$T/v" -b "$(slapd_people_dn "$1")" \
	    -s base '(objectClass=*)' 'userCertificate;binary' | sed -n 's|^[^:]*:< file://||p' |
	    head -n 1)
	openssl x509 -inform DER -in "$f" -noout -serial | cut -d= -f2
}
# how many certificates the CA issued naming $1 first
ncas() { "$SMIMEPUB" -f "$C" ca list | grep -c " $1 " || true; }
lookup_serial() {
	"$SMIMEPUB" -f "$C" lookup "$1" --format pem 2>/dev/null |
	    openssl x509 -noout -serial 2>/dev/null | cut -d= -f2
}

ldap_root ldapmodify >/dev/null <<EOL
dn: $(slapd_people_dn alice)
changetype: modify
add: objectClass
objectClass: inetLocalMailRecipient
-
add: mailLocalAddress
mailLocalAddress: Ali@Example.com
mailLocalAddress: a.liddell@example.org

dn: $(slapd_people_dn bob)
changetype: modify
add: objectClass
objectClass: inetLocalMailRecipient

dn: $(slapd_people_dn carol)
changetype: modify
add: objectClass
objectClass: inetLocalMailRecipient
EOL

t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
t_ok "first pass" "$SYNC" -f "$C" --once
t_eq "alice's certificate names mail first, then her aliases (sorted; the domain lower-cased)" "$(san alice)" \
    "alice@example.com, a.liddell@example.org, Ali@example.com"
t_eq "bob's names his mail only" "$(san bob)" "bob@example.com"
s1=$(first_serial alice)
t_eq "smimepub lookup by mail" "$(lookup_serial alice@example.com)" "$s1"
t_eq "by one alias" "$(lookup_serial a.liddell@example.org)" "$s1"
t_eq "by the other, in another case" "$(lookup_serial ali@EXAMPLE.COM)" "$s1"
t_exit "an address nobody holds: none" 1 "$SMIMEPUB" -f "$C" lookup nobody@example.com

t_ok "a pass with nothing changed" "$SYNC" -f "$C" --once
t_contains "changes nothing" "$T_OUT" "enrolled 0, renewed 0"
t_eq "the CA issued one certificate for alice" "$(ncas alice@example.com)" 1

aliases alice delete a.liddell@example.org
t_ok "a pass after an alias was removed" "$SYNC" -f "$C" --once
t_contains "alice is enrolled again" "$T_OUT" "renewed 1"
t_eq "the new certificate names the two addresses left" "$(san alice)" \
    "alice@example.com, Ali@example.com"
s2=$(first_serial alice)
t_ne "a new certificate" "$s2" "$s1"
t_ok "ca list" "$SMIMEPUB" -f "$C" ca list
t_contains "the old one is revoked" "$T_OUT" "$s1 alice@example.com revoked"
t_contains "as superseded, in the audit log" "$(grep "\"$s1\"" "$T/audit.jsonl" | grep '"revoked"' || true)" \
    "superseded: the addresses changed"
t_exit "the removed alias finds nothing" 1 "$SMIMEPUB" -f "$C" lookup a.liddell@example.org
t_eq "the kept one finds the new certificate" "$(lookup_serial ali@example.com)" "$s2"

aliases bob add bob.builder@example.net
t_ok "a pass after an alias was added" "$SYNC" -f "$C" --once
t_eq "bob's new certificate names it" "$(san bob)" "bob@example.com, bob.builder@example.net"
t_eq "found by it" "$(lookup_serial bob.builder@example.net)" "$(first_serial bob)"

# one alias, two people: neither gets it
aliases carol add ali@example.com
t_exit "a pass with an alias claimed twice: the pass reports it" 0 "$SYNC" -f "$C" --once
t_contains "the conflict is logged with both entries" "$T_OUT" "ali@example.com"
t_contains "naming carol" "$T_OUT" "uid=carol"
t_contains "and alice" "$T_OUT" "uid=alice"
t_contains "alice is renewed without it; carol, whose certificate names the same, is not" \
    "$T_OUT" "renewed 1,"
t_contains "carol: nothing to issue" "$T_OUT" \
    "carol@example.com: the addresses changed, but not those serial"
t_eq "alice's certificate no longer names it" "$(san alice)" "alice@example.com"
t_eq "carol's does not either" "$(san carol)" "carol@example.com"
t_exit "nobody is served for it" 1 "$SMIMEPUB" -f "$C" lookup ali@example.com
t_ok "a pass with the conflict unchanged" "$SYNC" -f "$C" --once
t_contains "issues nothing" "$T_OUT" "enrolled 0, renewed 0"

# alice's other alias taken by bob while the first is still contested
aliases alice add liddell@example.net
t_ok "alice gets another alias" "$SYNC" -f "$C" --once
t_eq "her certificate names it, not the contested one" "$(san alice)" \
    "alice@example.com, liddell@example.net"
aliases bob add liddell@example.net
t_ok "bob claims that one too" "$SYNC" -f "$C" --once
t_contains "alice is renewed without it, bob issued nothing" "$T_OUT" "renewed 1,"
t_eq "alice's certificate names her mail alone" "$(san alice)" "alice@example.com"
aliases bob delete liddell@example.net
aliases alice delete liddell@example.net
t_ok "both let it go" "$SYNC" -f "$C" --once
t_contains "nothing to issue for either" "$T_OUT" "enrolled 0, renewed 0"

aliases carol delete ali@example.com
cs=$(first_serial carol)
t_ok "a pass after carol let it go" "$SYNC" -f "$C" --once
t_contains "alice is renewed with it (at the next full pass)" "$T_OUT" "renewed 1,"
t_eq "alice's certificate names it again" "$(san alice)" "alice@example.com, Ali@example.com"
t_eq "carol's is unchanged" "$(san carol)" "carol@example.com"
t_eq "carol keeps her certificate (no new key for alice's alias)" "$(first_serial carol)" "$cs"

# a mail that is someone else's alias: refused, as a duplicate mail is
aliases bob add carol@example.com
t_exit "a pass with carol's mail as bob's alias fails" 1 "$SYNC" -f "$C" --once
t_contains "carol is refused, naming both entries" "$T_OUT" \
    "carol@example.com: not enrolled: the mail of uid=carol,$SLAPD_PEOPLE is also an address of uid=bob,$SLAPD_PEOPLE"
t_contains "bob's alias is left out, naming carol" "$T_OUT" \
    "alias carol@example.com of uid=bob,$SLAPD_PEOPLE is also claimed by another entry (uid=carol,$SLAPD_PEOPLE)"
t_eq "bob's certificate does not name carol" "$(san bob)" "bob@example.com, bob.builder@example.net"
aliases bob delete carol@example.com

# metric of the conflict
aliases carol add ali@example.com
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed "s|sync = { state_dir = \"$T/state\"; renew_before_days = 5; };|sync = { state_dir = \"$T/state\"; renew_before_days = 5; metrics_listen = \"127.0.0.1:$port\"; interval = 3600; };|" \
    "$C" >"$T/daemon.conf"
"$SYNC" -f "$T/daemon.conf" --foreground >"$T/daemon.log" 2>&1 &
dpid=$!
slapd_cleanup_add "kill $dpid 2>/dev/null || true"
m=
for _ in $(seq 1 100); do
	m=$(curl -s "http://127.0.0.1:$port/metrics" || true)
	case $m in *smimepub_sync_last_pass_success_timestamp_seconds\ [1-9]*) break ;; esac
	sleep 0.1
done
t_contains "the contested address is a metric" "$m" "smimepub_sync_addresses_contested 1"
kill "$dpid"; wait "$dpid" 2>/dev/null || true

t_done
