#!/bin/sh
# A renewal that failed, then a new address while it waits for its backoff:
# gina's renewal is issued but refused at delivery (FAILED in ISSUED, her
# first certificate still on the entry), then her mail changes. Before the
# backoff (60-75 s) nothing happens; after it, the next pass re-enrols her
# for the new address, publishes that certificate alone, and revokes both
# certificates for the old address: the one she had, and the renewal that
# was issued but never delivered. Takes a little over a minute: the first
# backoff is a minute, and there is no clock to turn in a real daemon.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start

cat >"$T/ok.conf" <<EOC
$(slapd_conf_directory)
  filter = "(&(objectClass=inetOrgPerson)(uid=gina))";
};
ca = { driver = "local"; local = { dir = "$T/ca"; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; pkcs12_iterations = 10000; discard_passphrase = true; };
sync = { state_dir = "$T/state"; };
log = { audit_file = "$T/audit.jsonl"; };
EOC
sed 's|pkcs12_iterations = 10000;|pkcs12_iterations = 10000; delivery_command = "/bin/false";|; s|sync = {|sync = { renew_before_days = 365;|' \
    "$T/ok.conf" >"$T/renewfail.conf"
gina=$(slapd_people_dn gina)
printf 'dn: %s\nobjectClass: inetOrgPerson\nuid: gina\ncn: Gina\nsn: G\nmail: gina@example.com\n' \
    "$gina" | ldap_root ldapadd >/dev/null

# the certificates on gina's entry, one rfc822Name a line
on_entry() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$gina" -s base \
	    '(objectClass=*)' 'userCertificate;binary' |
	    sed -n 's/^userCertificate;binary:: //p' | while read -r b; do
		printf '%s\n' "$b" | base64 -d |
		    openssl x509 -inform DER -noout -ext subjectAltName 2>/dev/null |
		    sed -n 's/^ *email://p'
	done
}
status_of() { "$SMIMEPUB" -f "$T/ok.conf" status "$1" 2>/dev/null | tail -n 1; }

t_ok "ca init" "$SMIMEPUB" -f "$T/ok.conf" ca init
t_ok "gina enrolled" "$SYNC" -f "$T/ok.conf" --once
t_eq "her certificate on the entry" "$(on_entry)" gina@example.com
t_exit "her renewal fails at delivery" 1 "$SYNC" -f "$T/renewfail.conf" --once
t_contains "FAILED in ISSUED" "$(status_of gina@example.com)" "failed in ISSUED"
t_ok "ca list" "$SMIMEPUB" -f "$T/ok.conf" ca list
t_eq "the CA issued two for gina@, both valid" \
    "$(printf '%s\n' "$T_OUT" | grep -c 'gina@example.com valid')" 2

printf 'dn: %s\nchangetype: modify\nreplace: mail\nmail: gina.new@example.com\n' \
    "$gina" | ldap_root ldapmodify >/dev/null
t_ok "a pass within the backoff" "$SYNC" -f "$T/ok.conf" --once
t_contains "gina waits for it" "$T_OUT" "skipped 1"
t_eq "her first certificate still on the entry" "$(on_entry)" gina@example.com

# the backoff ends 60-75 s after the failure: a pass every 5 s until then
i=0
while [ "$i" -lt 24 ]; do
	sleep 5
	"$SYNC" -f "$T/ok.conf" --once >"$T/pass.out" 2>&1 || :
	case $(status_of gina.new@example.com) in
	*PUBLISHED*) break ;;
	esac
	i=$((i + 1))
done
echo "# published for the new address after $(( (i + 1) * 5 )) s"
t_contains "re-enrolled for the new address" "$(status_of gina.new@example.com)" "PUBLISHED"
t_eq "the entry holds only the new certificate" "$(on_entry)" gina.new@example.com
t_ok "ca list" "$SMIMEPUB" -f "$T/ok.conf" ca list
t_eq "both certificates for the old address revoked" \
    "$(printf '%s\n' "$T_OUT" | grep -c 'gina@example.com revoked')" 2
t_eq "one valid certificate, for the new address" \
    "$(printf '%s\n' "$T_OUT" | grep -c ' valid')" 1
t_contains "it is gina.new's" "$(printf '%s\n' "$T_OUT" | grep ' valid')" "gina.new@example.com"
t_ok "a pass after it changes nothing" "$SYNC" -f "$T/ok.conf" --once
t_contains "unchanged" "$T_OUT" "unchanged 1"

t_done
