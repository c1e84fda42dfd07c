#!/bin/sh
# 200 people, one pass: each ends with exactly one certificate of ours, and
# userSMIMECertificate names the same one; a second pass asks the CA for
# nothing and writes nothing to the directory.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

N=200
slapd_test_start
ldap_root ldapdelete "$(slapd_people_dn dup1)" "$(slapd_people_dn dup2)"
i=1
while [ $i -le $N ]; do
	printf 'dn: uid=p%d,%s\nobjectClass: inetOrgPerson\nuid: p%d\ncn: Person %d\nsn: P\nmail: p%d@example.com\n\n' \
	    $i "$SLAPD_PEOPLE" $i $i $i
	i=$((i + 1))
done >"$T/people.ldif"
ldap_root ldapadd -f "$T/people.ldif" >/dev/null

cat >"$T/smimepub.conf" <<EOC
$(slapd_conf_directory)
  page_size = 50;
};
ca = { driver = "local"; local = { dir = "$T/ca"; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; pkcs12_iterations = 10000; discard_passphrase = true; };
sync = { state_dir = "$T/state"; };
EOC
C=$T/smimepub.conf
total=$((N + 3))

t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
t_ok "one pass over $total people" "$SYNC" -f "$C" --once
t_contains "all enrolled" "$T_OUT" "enrolled $total, renewed 0, revoked 0, republished 0, failed 0"

# every entry: one userCertificate value, and the bundle's first certificate is it
ldap_root ldapsearch -LLL -o ldif-wrap=no -tt -T "$T" -b "$SLAPD_PEOPLE" '(mail=*)' \
    'userCertificate;binary' userSMIMECertificate >"$T/all.ldif"
bad=0
awk -v RS= '{ print > ("'"$T"'/entry." NR) }' "$T/all.ldif"
for f in "$T"/entry.*; do
	uc=$(grep -c '^userCertificate;binary:<' "$f" || true)
	sm=$(grep -c '^userSMIMECertificate:<' "$f" || true)
	if [ "$uc" != 1 ] || [ "$sm" != 1 ]; then bad=$((bad + 1)); continue; fi
	# the bundle's first certificate, checked on every tenth entry (openssl
	# per entry would dominate the test's time)
	case $f in *0) ;; *) continue ;; esac
	c=$(sed -n 's|^userCertificate;binary:< file://||p' "$f")
	b=$(sed -n 's|^userSMIMECertificate:< file://||p' "$f")
	first=$(openssl pkcs7 -inform DER -in "$b" -print_certs | awk '/BEGIN/{n++} n==1' |
	    openssl x509 -outform DER | od -An -tx1 | tr -d ' \n')
	[ "$first" = "$(od -An -tx1 <"$c" | tr -d ' \n')" ] || bad=$((bad + 1))
done
t_eq "$total entries checked" "$(ls "$T"/entry.* | wc -l)" $total
t_eq "every entry: one of ours in each attribute; sampled: the bundle names it" "$bad" 0
t_eq "the CA issued exactly one each" "$("$SMIMEPUB" -f "$C" ca list | wc -l)" $total

csns() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$SLAPD_PEOPLE" '(mail=*)' entryCSN |
	    sed -n 's/^entryCSN: //p' | sort | md5sum
}
before=$(csns)
t_ok "a second pass" "$SYNC" -f "$C" --once
t_contains "changes nothing" "$T_OUT" "enrolled 0, renewed 0, revoked 0, republished 0, failed 0, unchanged $total"
t_eq "no directory write (every entryCSN unchanged)" "$(csns)" "$before"
t_eq "no CA call (nothing new in its index)" "$("$SMIMEPUB" -f "$C" ca list | wc -l)" $total
t_done
