#!/bin/sh
# ca.exec.protocol = "certmonger": smimepub speaks certmonger's helper
# protocol (CERTMONGER_OPERATION, CERTMONGER_CSR, CERTMONGER_CA_COOKIE; exit
# 0 issued, 1 wait, 2 rejected, 3 unreachable, 4 underconfigured, 5 wait
# with delay), with certmonger's own local-submit (Debian's certmonger
# package, scripts/deps.sh) as the CA and a real slapd: enrol issues and
# publishes a certificate that chains to local-submit's signer (its
# FETCH-ROOTS answer) and passes the S/MIME profile check (the CSR asks for
# emailProtection and the key usage); local-submit with a data directory it
# cannot lock answers 3 (unreachable): enrol exits 1 saying so, the entry
# keeps its certificate, status shows FAILED. local-submit never rejects a
# well-formed request (its only exit 2 is a template it cannot build), so
# exit 2 and the waits are tested with a two-line script beside it. The
# default protocol stays smimepub's; an unknown protocol is a config error.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

LS=/usr/lib/certmonger/local-submit
if [ ! -x "$LS" ]; then
	t_skip "certmonger protocol" "$LS is missing: apt-get install certmonger (sh scripts/deps.sh)"
	t_done
fi

slapd_test_start
MAIL=alice@example.com
ALICE=$(slapd_people_dn alice)

mkdir -m 0700 "$T/lsca"
# local-submit creates its signer on first use; FETCH-ROOTS prints it
CERTMONGER_OPERATION=FETCH-ROOTS "$LS" -d "$T/lsca" >"$T/roots" 2>"$T/roots.err" || :
sed -n '/BEGIN CERT/,/END CERT/p' "$T/roots" >"$T/lsca.pem"
t_ok "local-submit made its signer (FETCH-ROOTS)" openssl x509 -in "$T/lsca.pem" -noout

# helper NAME BODY: an executable $T/NAME
helper() {
	printf '#!/bin/sh\n%s\n' "$2" >"$T/$1"
	chmod 0755 "$T/$1"
}
helper ls-ok "exec $LS -d $T/lsca"
helper ls-down "exec $LS -d $T/no-such-dir"
helper cm-reject 'echo "CA policy: no certificates for $CERTMONGER_REQ_EMAIL"; exit 2'
helper cm-wait 'printf "%s\n" cookie-42; exit 1'
helper cm-delay 'printf "%s\n%s\n" 300 cookie-43; exit 5'
helper cm-unconf 'echo "no CA URL configured"; exit 4'

conf() {
	cat >"$T/$1.conf" <<EOC
$(slapd_conf_directory)
};
keys = { type = "${3:-ec:P-256}"; delivery_dir = "$T/$1.delivery"; discard_passphrase = true; };
sync = { state_dir = "$T/$1.state"; };
ca = { driver = "exec"; exec = { protocol = "certmonger"; command = "$T/$2"; ca_cert = "$T/lsca.pem"; timeout = 20; }; };
EOC
}
ncerts() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$ALICE" -s base \
	    '(objectClass=*)' 'userCertificate;binary' | grep -c '^userCertificate' || :
}
first_cert() {
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$ALICE" -s base \
	    '(objectClass=*)' 'userCertificate;binary' |
	    sed -n 's/^userCertificate;binary:: //p' | head -n 1 | base64 -d |
	    openssl x509 -inform DER 2>/dev/null
}

# --- issued, published -----------------------------------------------------
conf ok ls-ok
t_ok "check-config accepts ca.exec.protocol = certmonger" "$SMIMEPUB" -f "$T/ok.conf" check-config
t_contains "and shows it" "$T_OUT" 'protocol = "certmonger"'
t_ok "enrol through local-submit" "$SMIMEPUB" -f "$T/ok.conf" enrol "$MAIL"
t_eq "published on the entry" "$(ncerts)" 1
first_cert >"$T/alice.pem"
t_ok "it chains to local-submit's signer for S/MIME" \
    openssl verify -CAfile "$T/lsca.pem" -purpose smimesign "$T/alice.pem"
t_contains "issued by local-submit's Local Signing Authority" \
    "$(openssl x509 -in "$T/alice.pem" -noout -issuer)" "Local Signing Authority"
t_contains "its SAN is alice" "$(openssl x509 -in "$T/alice.pem" -noout -ext subjectAltName)" "email:$MAIL"
t_contains "with emailProtection" "$(openssl x509 -in "$T/alice.pem" -noout -ext extendedKeyUsage)" "E-mail Protection"
FP=$(openssl x509 -in "$T/alice.pem" -noout -fingerprint -sha256)
t_exit "revoke: the certmonger protocol has none, a clear error" 1 \
    "$SMIMEPUB" -f "$T/ok.conf" revoke "$MAIL"
t_contains "saying so" "$T_OUT" "has no revocation"

# --- unreachable (exit 3) ---------------------------------------------------
conf down ls-down
t_exit "local-submit unreachable: enrol exits 1" 1 "$SMIMEPUB" -f "$T/down.conf" enrol "$MAIL"
t_contains "naming exit 3, unreachable" "$T_OUT" "exit 3: the CA is unreachable"
t_contains "with local-submit's own message" "$T_OUT" "lockfile"
t_eq "the entry keeps its certificate" "$(first_cert | openssl x509 -noout -fingerprint -sha256)" "$FP"
t_ok "status" "$SMIMEPUB" -f "$T/down.conf" status "$MAIL"
t_contains "journalled FAILED" "$(printf '%s\n' "$T_OUT" | tail -n 1)" "FAILED"

# --- the other answers -------------------------------------------------------
conf rej cm-reject
t_exit "exit 2: enrol exits 1" 1 "$SMIMEPUB" -f "$T/rej.conf" enrol "$MAIL"
t_contains "with the helper's reason" "$T_OUT" "CA policy: no certificates for $MAIL"
t_ok "status" "$SMIMEPUB" -f "$T/rej.conf" status "$MAIL"
t_contains "FAILED with the reason" "$(printf '%s\n' "$T_OUT" | tail -n 1)" "CA policy"
conf unconf cm-unconf
t_exit "exit 4: enrol exits 1" 1 "$SMIMEPUB" -f "$T/unconf.conf" enrol "$MAIL"
t_contains "saying the helper is not configured" "$T_OUT" "not configured completely: no CA URL configured"
conf wait cm-wait
t_exit "exit 1 (wait): enrol says not yet (exit 1)" 1 "$SMIMEPUB" -f "$T/wait.conf" enrol "$MAIL"
t_contains "pending, polling with the cookie" "$T_OUT" "pending (transaction cookie-42)"
t_contains "the key held sealed for the poll" "$T_OUT" "has not issued yet (pending)"
conf delay cm-delay
t_exit "exit 5 (wait with delay): enrol says not yet" 1 "$SMIMEPUB" -f "$T/delay.conf" enrol "$MAIL"
t_contains "pending, with the cookie of the second line" "$T_OUT" "pending (transaction cookie-43)"
secs=$(printf '%s\n' "$T_OUT" | sed -n 's/.*polling again after \([0-9]*\)s.*/\1/p')
t_eq "polling again after the helper's 300 s (not the default 60)" \
    "$([ "${secs:-0}" -ge 290 ] && [ "${secs:-0}" -le 300 ] && echo yes)" yes
t_eq "the entry still holds local-submit's certificate" \
    "$(first_cert | openssl x509 -noout -fingerprint -sha256)" "$FP"

sed 's/protocol = "certmonger"/protocol = "scep"/' "$T/ok.conf" >"$T/bad.conf"
t_exit "an unknown protocol is a config error" 2 "$SMIMEPUB" -f "$T/bad.conf" check-config
t_contains "naming the key" "$T_OUT" "ca.exec.protocol"
t_done
