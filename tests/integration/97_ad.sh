#!/bin/sh
# Active Directory: smimepub against a real Samba 4 AD DC provisioned in a
# temporary directory (tests/lib/samba.sh), as the least-privilege service
# account bound by UPN and by DN, over ldaps (the DC's own CA), StartTLS
# and plain ldap://. publish/show/unpublish with the AD spelling
# (userCertificate without ;binary), byte-exact and ours first, foreign
# values kept; smimepub-sync --once enrols the enabled people (objectGUID
# as the id), a disabled account is revoked and unpublished, a person moved
# out of the searched OU is revoked and, where the DC refuses the
# service account the write there, the refusal is reported (log, audit)
# and the certificate is in the CRL; with the delegation widened a person
# moved then is unpublished from the entry in its new OU, and the refused
# one is too, once its backoff is over (a minute); two people with one address fail
# without stopping the pass, a search from the domain root ignores the
# CN=Configuration referrals; the daemon publishes a new user within one
# poll interval (uSNChanged against highestCommittedUSN); a pass over 50
# people; smimepub-lookupd answers from AD with its own read-only account;
# a second instance with sync.lease_dn takes the lease (values swapped in
# one modify: Samba has no assertion control) on the PDC emulator (found
# from fSMORoleOwner, the lease authority) and adopts what the first one
# issued instead of enrolling again. Aliases from proxyAddresses (SMTP:
# and smtp: values only): one certificate names them all, lookupd finds it
# by each; an alias removed re-enrols and revokes the old certificate as
# superseded; an alias two users claim goes to neither, both reported.
set -eu
SRCDIR=${SRCDIR:-$(pwd)}
BUILD=${BUILD:-build}
SMIMEPUB=$SRCDIR/$BUILD/smimepub
SYNC=$SRCDIR/$BUILD/smimepub-sync
. "$SRCDIR/tests/lib/samba.sh"
# the DC's certificate names dc1.example.test: resolve it in a mount
# namespace of our own (private /etc/hosts)
samba_private_hosts "$0" "$@"
. "$SRCDIR/tests/lib/testlib.sh"
. "$SRCDIR/tests/lib/certs.sh"

T=$(mktemp -d)
SPID=
samba_cleanup_add '[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null; rm -rf "$T"'
t0=$(date +%s)
samba_start
echo "# Samba AD DC provisioned and started on $SAMBA_IP in $(( $(date +%s) - t0 )) s"

# conf NAME URI BIND_ID STATE [extra directory lines...]
conf() {
	_n=$1 _u=$2 _b=$3 _s=$4
	shift 4
	{
		echo "directory = {"
		echo "  uri = \"$_u\";"
		echo "  bind_dn = \"$_b\";"
		echo "  bind_password_file = \"$SAMBA_SVC_PW_FILE\";"
		echo "  base = \"$SAMBA_PEOPLE\";"
		echo "  flavour = \"ad\";"
		for _l in "$@"; do echo "  $_l"; done
		echo "};"
		echo "ca = { driver = \"local\"; local = { dir = \"$T/ca\"; validity_days = 60; }; };"
		echo "keys = { type = \"ec:P-256\"; delivery_dir = \"$T/delivery\"; pkcs12_iterations = 10000; discard_passphrase = true; };"
		echo "sync = { state_dir = \"$T/$_s\"; on_leave = \"revoke\"; interval = 3600; watch_interval = 1; workers = 2; };"
		echo "log = { level = \"debug\"; audit_file = \"$T/audit.jsonl\"; };"
	} >"$T/$_n.conf"
	echo "$T/$_n.conf"
}

# vals NAME ATTR [OU]: the values of ATTR, one file each, in the order the
# DC returns them (read as Administrator); prints the file names.
vals() {
	_d=$T/vals.$1.$2.$(date +%s%N)
	mkdir -p "$_d"
	ad_admin ldapsearch -LLL -o ldif-wrap=no -tt -T "$_d" \
	    -b "$(samba_user_dn "$1" "${3:-}")" -s base '(objectClass=*)' "$2" |
	    sed -n 's|^[^:]*:< file://||p'
}
nvals() { vals "$@" | wc -l | tr -d ' '; }
hexof() { od -An -tx1 <"$1" | tr -d ' \n'; }
p7first() {
	openssl pkcs7 -inform DER -in "$1" -print_certs 2>/dev/null |
	    awk '/BEGIN CERT/{n++} n==1' | openssl x509 -outform DER | od -An -tx1 | tr -d ' \n'
}
usn() {
	ad_admin ldapsearch -LLL -b "$(samba_user_dn "$1")" -s base '(objectClass=*)' \
	    uSNChanged | sed -n 's/^uSNChanged: //p'
}
guid() {
	samba-tool user show "$1" --attributes=objectGUID -s "$SAMBA_DIR/etc/smb.conf" 2>/dev/null |
	    sed -n 's/^objectGUID: //p'
}

certs_ca "$T/tca" "smimepub test CA"
certs_ca "$T/other" "someone else's CA"
certs_leaf "$T/tca" "$T/alice" alice@example.com
certs_leaf "$T/tca" "$T/alice2" alice@example.com "" ec
certs_leaf "$T/tca" "$T/bob1" bob@example.com
certs_leaf "$T/tca" "$T/bob2" bob@example.com
certs_leaf "$T/other" "$T/foreign" bob@example.com
certs_leaf "$T/other" "$T/cforeign" carol@example.com
certs_leaf "$T/tca" "$T/dup" dup@example.com
cat "$T/alice.pem" "$T/tca/ca.pem" >"$T/alice-chain.pem"

# --- binding: UPN and DN, ldaps with the DC's CA, StartTLS, plain --------
P=$(conf plain "$SAMBA_URI" "$SAMBA_SVC_UPN" cli)
L=$(conf ldaps "$SAMBA_LDAPS_URI" "$SAMBA_SVC_UPN" cli "tls_ca_file = \"$SAMBA_TLS_CA\";")
D=$(conf dn "$SAMBA_LDAPS_URI" "$SAMBA_SVC_DN" cli "tls_ca_file = \"$SAMBA_TLS_CA\";")
S=$(conf starttls "ldap://$SAMBA_HOST" "$SAMBA_SVC_UPN" cli "starttls = true;" \
    "tls_ca_file = \"$SAMBA_TLS_CA\";")
B=$(conf badca "$SAMBA_LDAPS_URI" "$SAMBA_SVC_UPN" cli "tls_ca_file = \"$T/other/ca.pem\";")
t_ok "ldap:// and a simple bind by UPN (strong auth = no)" "$SMIMEPUB" -f "$P" show alice@example.com
t_ok "ldaps with the DC's own CA, bind by UPN" "$SMIMEPUB" -f "$L" show alice@example.com
t_ok "ldaps, bind by DN" "$SMIMEPUB" -f "$D" show alice@example.com
t_ok "StartTLS with the DC's own CA" "$SMIMEPUB" -f "$S" show alice@example.com
t_exit "ldaps with an unrelated CA is refused (1)" 1 "$SMIMEPUB" -f "$B" show alice@example.com
t_contains "and says it is the certificate" "$T_OUT" "certificate verify failed"
printf 'wrong' >"$T/wrong.pw"
chmod 0600 "$T/wrong.pw"
sed "s|$SAMBA_SVC_PW_FILE|$T/wrong.pw|" "$L" >"$T/wrongpw.conf"
t_exit "a wrong password fails (1)" 1 "$SMIMEPUB" -f "$T/wrongpw.conf" show alice@example.com
t_contains "says invalid credentials" "$T_OUT" "Invalid credentials"

# --- what the DC and the service account allow ---------------------------
printf 'dn: %s\nchangetype: modify\nadd: userCertificate;binary\nuserCertificate;binary:< file://%s\n' \
    "$(samba_user_dn alice)" "$T/alice.der" >"$T/binary.ldif"
t_fail "the DC rejects userCertificate;binary (even for Administrator)" ad_admin ldapmodify -f "$T/binary.ldif"
t_contains "not in its schema" "$T_OUT" "not found in the schema"
printf 'dn: %s\nchangetype: modify\nreplace: description\ndescription: x\n' \
    "$(samba_user_dn alice)" >"$T/descr.ldif"
t_fail "the service account may not write other attributes" ad_svc ldapmodify -f "$T/descr.ldif"
t_contains "insufficient access" "$T_OUT" "Insufficient access"
printf 'dn: CN=Administrator,CN=Users,%s\nchangetype: modify\nadd: userCertificate\nuserCertificate:< file://%s\n' \
    "$SAMBA_BASE" "$T/alice.der" >"$T/admin.ldif"
t_fail "nor certificates outside the people OU" ad_svc ldapmodify -f "$T/admin.ldif"

# --- publish / show / unpublish with the AD spelling ---------------------
C=$L
t_ok "publish alice with chain" "$SMIMEPUB" -f "$C" publish alice@example.com "$T/alice-chain.pem"
t_eq "one userCertificate value" "$(nvals alice userCertificate)" 1
t_eq "userCertificate is the DER, byte for byte" \
    "$(hexof "$(vals alice userCertificate | head -n 1)")" "$(hexof "$T/alice.der")"
t_eq "one userSMIMECertificate value" "$(nvals alice userSMIMECertificate)" 1
f=$(vals alice userSMIMECertificate | head -n 1)
t_eq "the bundle is certs-only with the leaf first" "$(p7first "$f")" "$(hexof "$T/alice.der")"
t_eq "the bundle holds leaf and CA" \
    "$(openssl pkcs7 -inform DER -in "$f" -print_certs | grep -c 'BEGIN CERT')" 2
t_ok "show alice" "$SMIMEPUB" -f "$C" show alice@example.com
t_contains "show: usable" "$T_OUT" "usable: yes"
t_contains "show: ours" "$T_OUT" "published_by: smimepub"
t_contains "show: the AD spelling" "$T_OUT" "matches userCertificate[0]: yes"
t_ok "publish alice's renewal" "$SMIMEPUB" -f "$C" publish alice@example.com "$T/alice2.pem"
t_eq "still one value" "$(nvals alice userCertificate)" 1
t_eq "the new one is the value" \
    "$(hexof "$(vals alice userCertificate | head -n 1)")" "$(hexof "$T/alice2.der")"
before=$(usn alice)
t_ok "publish the same again" "$SMIMEPUB" -f "$C" publish alice@example.com "$T/alice2.pem"
t_eq "nothing written when nothing changes (uSNChanged)" "$(usn alice)" "$before"

cat >"$T/foreign.ldif" <<EOL
dn: $(samba_user_dn bob)
changetype: modify
add: userCertificate
userCertificate:< file://$T/foreign.der
-
add: userSMIMECertificate
userSMIMECertificate:< file://$T/foreign.p7c
EOL
t_ok "a foreign certificate on bob (Administrator)" ad_admin ldapmodify -f "$T/foreign.ldif"
t_ok "publish bob1" "$SMIMEPUB" -f "$C" publish bob@example.com "$T/bob1.pem"
t_ok "publish bob2" "$SMIMEPUB" -f "$C" publish bob@example.com "$T/bob2.pem"
t_eq "bob: two userCertificate values (ours + foreign)" "$(nvals bob userCertificate)" 2
t_eq "bob: ours (bob2) is the first" \
    "$(hexof "$(vals bob userCertificate | sed -n 1p)")" "$(hexof "$T/bob2.der")"
t_eq "bob: the foreign one follows, byte for byte" \
    "$(hexof "$(vals bob userCertificate | sed -n 2p)")" "$(hexof "$T/foreign.der")"
t_eq "bob: two userSMIMECertificate values" "$(nvals bob userSMIMECertificate)" 2
t_eq "bob: ours is the first bundle" \
    "$(p7first "$(vals bob userSMIMECertificate | sed -n 1p)")" "$(hexof "$T/bob2.der")"
t_eq "bob: the foreign bundle follows, byte for byte" \
    "$(hexof "$(vals bob userSMIMECertificate | sed -n 2p)")" "$(hexof "$T/foreign.p7c")"
"$SMIMEPUB" -f "$C" show bob@example.com >"$T/show.bob" 2>&1 || true
t_contains "show: the foreign one is someone else's" "$(cat "$T/show.bob")" "published_by: other"
t_ok "unpublish bob" "$SMIMEPUB" -f "$C" unpublish bob@example.com
t_contains "one removed" "$T_OUT" "removed 1 certificate"
t_eq "bob: only the foreign userCertificate is left" "$(nvals bob userCertificate)" 1
t_eq "bob: it is the foreign one" \
    "$(hexof "$(vals bob userCertificate | head -n 1)")" "$(hexof "$T/foreign.der")"
t_eq "bob: only the foreign bundle is left" \
    "$(hexof "$(vals bob userSMIMECertificate | head -n 1)")" "$(hexof "$T/foreign.p7c")"
t_exit "an address on two entries fails (1)" 1 "$SMIMEPUB" -f "$C" publish dup@example.com "$T/dup.pem"
t_contains "names both entries" "$T_OUT" "CN=dup2,$SAMBA_PEOPLE"
t_exit "an unknown address fails (1)" 1 "$SMIMEPUB" -f "$C" publish nobody@example.com "$T/alice.pem"
t_ok "unpublish alice (the sync starts from here)" "$SMIMEPUB" -f "$C" unpublish alice@example.com
t_eq "alice: nothing left" "$(nvals alice userCertificate)" 0
# bob keeps the foreign certificate; carol gets one too
cat >"$T/cforeign.ldif" <<EOL
dn: $(samba_user_dn carol)
changetype: modify
add: userCertificate
userCertificate:< file://$T/cforeign.der
EOL
t_ok "a foreign certificate on carol" ad_admin ldapmodify -f "$T/cforeign.ldif"

# --- smimepub-sync --once --------------------------------------------------
Y=$(conf sync "$SAMBA_URI" "$SAMBA_SVC_UPN" state)
A=$T/audit.jsonl
rm -f "$A"
t_ok "ca init" "$SMIMEPUB" -f "$Y" ca init
t_exit "first pass: exit 1 because the two dup@ people fail" 1 "$SYNC" -f "$Y" --once
t_contains "summary: three enrolled, two failed" "$T_OUT" "enrolled 3, renewed 0, revoked 0, republished 0, failed 2"
t_eq "alice: one userCertificate" "$(nvals alice userCertificate)" 1
t_eq "alice: one userSMIMECertificate" "$(nvals alice userSMIMECertificate)" 1
t_eq "bob: ours and the foreign one" "$(nvals bob userCertificate)" 2
t_eq "bob: the foreign one is second, byte for byte" \
    "$(hexof "$(vals bob userCertificate | sed -n 2p)")" "$(hexof "$T/foreign.der")"
t_eq "carol: ours and the foreign one" "$(nvals carol userCertificate)" 2
f=$(vals carol userCertificate | sed -n 1p)
t_contains "carol: ours is first (the local CA's, for her address)" \
    "$(openssl x509 -inform DER -in "$f" -noout -ext subjectAltName 2>&1)" "carol@example.com"
t_eq "carol: the foreign one is second, byte for byte" \
    "$(hexof "$(vals carol userCertificate | sed -n 2p)")" "$(hexof "$T/cforeign.der")"
t_eq "carol: the bundle's leaf is the first userCertificate" \
    "$(p7first "$(vals carol userSMIMECertificate | sed -n 1p)")" "$(hexof "$f")"
t_eq "dup1 got nothing" "$(nvals dup1 userCertificate)" 0
t_ok "status alice" "$SMIMEPUB" -f "$Y" status alice@example.com
ga=$(guid alice)
t_contains "the id is alice's objectGUID in string form ($ga)" "$T_OUT" "# person $ga"
t_ok "status" "$SMIMEPUB" -f "$Y" status
t_contains "alice is PUBLISHED" "$T_OUT" "alice@example.com	PUBLISHED"
t_contains "dup is FAILED naming both entries" "$T_OUT" "CN=dup2,$SAMBA_PEOPLE"
t_ok "second pass: nothing to do" "$SYNC" -f "$Y" --once
t_contains "three unchanged, two waiting" "$T_OUT" "failed 0, unchanged 3, skipped 2"
R=$(conf root "$SAMBA_URI" "$SAMBA_SVC_UPN" state)
sed -i "s|base = \"$SAMBA_PEOPLE\"|base = \"$SAMBA_BASE\"|" "$R"
t_ok "a pass searching from the domain root (referrals not chased)" "$SYNC" -f "$R" --once
t_contains "the same people, nothing else" "$T_OUT" "failed 0, unchanged 3, skipped 2"
t_ok "show from the domain root" "$SMIMEPUB" -f "$R" show alice@example.com
t_contains "finds alice" "$T_OUT" "usable: yes"

samba_tool user delete dup1
samba_tool user delete dup2
t_ok "samba-tool user disable bob" samba_tool user disable bob
t_ok "a pass after bob was disabled" "$SYNC" -f "$Y" --once
t_contains "bob revoked" "$T_OUT" "revoked 1"
t_eq "bob: only the foreign certificate is left" "$(nvals bob userCertificate)" 1
t_eq "bob: it is the foreign one" \
    "$(hexof "$(vals bob userCertificate | head -n 1)")" "$(hexof "$T/foreign.der")"
t_eq "bob: only the foreign bundle is left" \
    "$(hexof "$(vals bob userSMIMECertificate | head -n 1)")" "$(hexof "$T/foreign.p7c")"
t_ok "ca list" "$SMIMEPUB" -f "$Y" ca list
t_contains "bob's certificate is revoked at the CA" "$T_OUT" "bob@example.com revoked"
t_ok "status bob" "$SMIMEPUB" -f "$Y" status
t_contains "bob is UNPUBLISHED" "$T_OUT" "bob@example.com	UNPUBLISHED"

# moved out of the searched OU, where the service account may not write
# (delegated on the people OU only): revoked, the DC's refusal reported
cf=$(vals carol userCertificate | sed -n 1p)
cserial=$(openssl x509 -inform DER -in "$cf" -noout -serial | sed 's/^serial=//')
t_ok "move carol out of the people OU" samba_tool user move carol "$SAMBA_FORMER"
t_ok "a pass after carol moved (the refusal fails nothing: exit 0)" "$SYNC" -f "$Y" --once
t_contains "carol revoked" "$T_OUT" "revoked 1, republished 0, failed 0"
t_contains "the log names her new DN and the refusal" "$T_OUT" \
    "unpublish refused at CN=carol,$SAMBA_FORMER"
t_contains "with the DC's answer" "$T_OUT" "Insufficient access"
t_contains "and the right that is missing" "$T_OUT" \
    "may not write userCertificate and userSMIMECertificate there"
t_eq "carol: our certificate is still on her entry in OU=Former (the DC refused)" \
    "$(nvals carol userCertificate "$SAMBA_FORMER")" 2
t_contains "audit: the unpublication refused" \
    "$(grep '"carol@example.com"' "$A" | grep '"unpublication"')" '"outcome":"refused"'
t_contains "audit: the revocation" \
    "$(grep '"carol@example.com"' "$A" | grep '"revocation"')" '"outcome":"revoked"'
t_ok "ca list" "$SMIMEPUB" -f "$Y" ca list
t_contains "carol's certificate is revoked at the CA" "$T_OUT" "carol@example.com revoked"
t_ok "ca crl" "$SMIMEPUB" -f "$Y" ca crl --out "$T/crl.pem"
t_contains "carol's serial ($cserial) is in the CRL" \
    "$(openssl crl -in "$T/crl.pem" -noout -text | tr -d ' ')" "SerialNumber:$cserial"
t_ok "status" "$SMIMEPUB" -f "$Y" status
t_contains "carol's record is REVOKED, the unpublish to try again" "$T_OUT" "carol@example.com	REVOKED"
t_ok "the next pass leaves her alone" "$SYNC" -f "$Y" --once
t_contains "nothing revoked or failed" "$T_OUT" "revoked 0, republished 0, failed 0"

# --- a full pass over 50 people ---------------------------------------------
samba_people_bulk person 49
t0=$(date +%s)
t_ok "a pass with 49 new people (50 enabled in the OU)" "$SYNC" -f "$Y" --once
echo "# the pass over 50 people took $(( $(date +%s) - t0 )) s"
t_contains "49 enrolled" "$T_OUT" "enrolled 49, renewed 0"
t_contains "none failed" "$T_OUT" "failed 0"
n=0
for k in 01 23 49; do
	[ "$(nvals "person$k" userCertificate)" = 1 ] && n=$((n + 1))
done
t_eq "each has its certificate (3 of 3 checked)" "$n" 3
t_eq "all 50 enabled people: one userCertificate each" "$(ad_admin ldapsearch -LLL -o ldif-wrap=no \
    -b "$SAMBA_PEOPLE" '(&(objectClass=user)(userCertificate=*)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))' userCertificate |
    grep -c '^userCertificate::')" 50

# with the delegation widened to the parent of both OUs, a person moved
# out is unpublished where she now is
t_ok "delegate the certificate attributes on the domain root" samba_delegate_certs "$SAMBA_BASE"
t_ok "move person49 out of the people OU" samba_tool user move person49 "$SAMBA_FORMER"
t_ok "a pass after person49 moved" "$SYNC" -f "$Y" --once
t_contains "person49 revoked" "$T_OUT" "revoked 1, republished 0, failed 0"
t_contains "unpublished at the new DN" "$T_OUT" \
    "moved out of $SAMBA_PEOPLE to CN=person49,$SAMBA_FORMER; 1 certificate(s) of ours unpublished there"
t_eq "person49: no userCertificate left in OU=Former" "$(nvals person49 userCertificate "$SAMBA_FORMER")" 0
t_eq "person49: no userSMIMECertificate left" "$(nvals person49 userSMIMECertificate "$SAMBA_FORMER")" 0
t_contains "audit: unpublished" \
    "$(grep '"person49@example.com"' "$A" | grep '"unpublication"')" '"outcome":"unpublished"'
t_ok "status" "$SMIMEPUB" -f "$Y" status
t_contains "person49 is UNPUBLISHED" "$T_OUT" "person49@example.com	UNPUBLISHED"

# and carol's revoked certificate, refused earlier in OU=Former, is taken
# off there once her backoff (60-75 s after the refusal) is over: a pass
# every 5 s until then. Her foreign certificate stays.
: >"$T/retry.out"
i=0
while [ "$i" -lt 24 ]; do
	"$SMIMEPUB" -f "$Y" status 2>/dev/null | grep -q "carol@example.com	UNPUBLISHED" && break
	sleep 5
	"$SYNC" -f "$Y" --once >>"$T/retry.out" 2>&1 || :
	i=$((i + 1))
done
echo "# carol unpublished after $((i * 5)) s of passes"
t_eq "carol: one userCertificate left in OU=Former (tried again)" "$(nvals carol userCertificate "$SAMBA_FORMER")" 1
t_eq "it is the foreign one, byte for byte" \
    "$(hexof "$(vals carol userCertificate "$SAMBA_FORMER")")" "$(hexof "$T/cforeign.der")"
t_eq "carol: no userSMIMECertificate left there" "$(nvals carol userSMIMECertificate "$SAMBA_FORMER")" 0
t_contains "the retry says where" "$(cat "$T/retry.out")" \
    "moved out of $SAMBA_PEOPLE to CN=carol,$SAMBA_FORMER"
t_contains "audit: carol unpublished" \
    "$(grep '"carol@example.com"' "$A" | grep '"unpublication"' | tail -n 1)" '"outcome":"unpublished"'
t_eq "audit: the refusal reported once" \
    "$(grep '"carol@example.com"' "$A" | grep '"unpublication"' | grep -c '"outcome":"refused"')" 1
t_ok "status" "$SMIMEPUB" -f "$Y" status
t_contains "carol is UNPUBLISHED" "$T_OUT" "carol@example.com	UNPUBLISHED"

# --- the daemon: a new user within one poll interval (uSNChanged) ---------
"$SYNC" -f "$Y" --foreground >"$T/sync.log" 2>&1 &
SPID=$!
i=0
until grep -q 'pass done' "$T/sync.log" || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
t_contains "the daemon's first full pass" "$(cat "$T/sync.log")" "pass done"
samba_user_create dave dave@example.com
start=$(date +%s)
i=0
until [ "$(nvals dave userCertificate 2>/dev/null)" = 1 ] || [ $i -ge 200 ]; do sleep 0.1; i=$((i + 1)); done
took=$(( $(date +%s) - start ))
t_eq "the new user is published without a full pass" "$(nvals dave userCertificate)" 1
echo "# new user published after $took s (watch_interval = 1, interval = 3600)"
# one poll interval (1 s) plus the enrolment; generous for a loaded CI host
t_ok "within a poll interval and the pass (< 10 s)" test "$took" -lt 10
t_contains "found by uSNChanged" "$(cat "$T/sync.log")" "(uSNChanged>="
kill -TERM "$SPID"
rc=0
wait "$SPID" || rc=$?
SPID=
t_eq "SIGTERM ends the daemon with 0" "$rc" 0

# --- smimepub-lookupd answering from AD ------------------------------------
cat >"$T/lookupd.conf" <<EOC
keys = { discard_passphrase = true; };
directory = {
  uri = "$SAMBA_LDAPS_URI";
  tls_ca_file = "$SAMBA_TLS_CA";
  base = "$SAMBA_PEOPLE";
  flavour = "ad";
};
lookup = {
  listen = "$SAMBA_IP:8080";
  bind_dn = "$SAMBA_LOOKUP_UPN";
  bind_password_file = "$SAMBA_LOOKUP_PW_FILE";
  trust_anchors = "$T/ca/ca.pem";
};
EOC
"$SRCDIR/$BUILD/smimepub-lookupd" -f "$T/lookupd.conf" --foreground >"$T/lookupd.log" 2>&1 &
SPID=$!
i=0
until curl -s -o /dev/null "http://$SAMBA_IP:8080/metrics" || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
code() { curl -s -o "$T/body" -w '%{http_code}' "http://$SAMBA_IP:8080/v1/certs/$1"; }
t_eq "lookupd: alice 200" "$(code alice@example.com)" 200
t_contains "lookupd: alice's published certificate" "$(cat "$T/body")" \
    "$(openssl x509 -inform DER -in "$(vals alice userCertificate | head -n 1)" -noout -fingerprint -sha256 |
    sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')"
t_eq "lookupd: dave (new) 200" "$(code dave@example.com)" 200
t_eq "lookupd: bob (disabled, only a foreign certificate left) 404" "$(code bob@example.com)" 404
t_eq "lookupd: nobody 404" "$(code nobody@example.com)" 404
kill -TERM "$SPID"
wait "$SPID" || :
SPID=

# --- the lease on AD: no assertion control, so values are swapped -----------
LEASE="CN=smimepub-lease,$SAMBA_PEOPLE"
printf 'dn: %s\nobjectClass: container\ncn: smimepub-lease\ndescription: smimepub-sync free\n' \
    "$LEASE" | ad_admin ldapadd >/dev/null
samba_tool dsacl set --objectdn="$LEASE" --sddl="(A;;RPWP;;;$(samba_svc_sid))"
K=$(conf lease "$SAMBA_URI" "$SAMBA_SVC_UPN" state2)
sed -i "s|workers = 2; };|workers = 2; lease_dn = \"$LEASE\"; lease_ttl = 10; };|" "$K"
adlease() {
	ad_admin ldapsearch -LLL -o ldif-wrap=no -b "$LEASE" -s base '(objectClass=*)' \
	    description | sed -n 's/^description: //p'
}
issued=$("$SMIMEPUB" -f "$Y" ca list | grep -c .)
adopted=$(grep -c '"event":"adoption"' "$A" || true)
t_ok "a second instance, its journal empty, with the lease: --once" "$SYNC" -f "$K" --once
t_contains "it takes the free lease" "$T_OUT" "lease taken (it was free)"
t_contains "the lease authority is the PDC emulator, found from fSMORoleOwner" "$T_OUT" \
    "lease authority ldap://$SAMBA_HOST:389 (the PDC emulator (fSMORoleOwner of $SAMBA_BASE: CN=NTDS Settings,CN=DC1,"
t_contains "enrols nobody" "$T_OUT" "enrolled 0, renewed 0"
t_eq "the CA issued nothing" "$("$SMIMEPUB" -f "$Y" ca list | grep -c .)" "$issued"
t_ne "it adopted what the first instance issued" "$(grep -c '"event":"adoption"' "$A" || true)" "$adopted"
t_eq "alice: the serial the first instance issued" \
    "$("$SMIMEPUB" -f "$K" status alice@example.com | tail -n 1 | cut -f 3)" \
    "$("$SMIMEPUB" -f "$Y" status alice@example.com | tail -n 1 | cut -f 3)"
t_eq "the lease is given up at exit" "$(adlease)" "smimepub-sync free"
printf 'dn: %s\nchangetype: modify\nreplace: description\ndescription: smimepub-sync holder=elsewhere/1/x seq=1 renewed=2026-01-01T00:00:00Z ttl=10\n' \
    "$LEASE" | ad_admin ldapmodify >/dev/null
t_ok "held by another that does not renew it: taken over after the ttl" "$SYNC" -f "$K" --once
t_contains "from whom" "$T_OUT" "lease taken over from elsewhere/1/x"
t_eq "given up again" "$(adlease)" "smimepub-sync free"

# --- aliases: proxyAddresses (issue 20), the AD flavour's default -----------
# proxy WHO OP VALUE...: add, delete or replace proxyAddresses values
proxy() {
	_who=$1 _op=$2
	shift 2
	{
		echo "dn: $(samba_user_dn "$_who")"
		echo "changetype: modify"
		echo "$_op: proxyAddresses"
		for _v in "$@"; do echo "proxyAddresses: $_v"; done
	} | ad_admin ldapmodify >/dev/null
}
# the rfc822Names of WHO's first userCertificate, in order, one line
adsan() {
	f=$(vals "$1" userCertificate | head -n 1)
	[ -n "$f" ] || return 0
	openssl x509 -inform DER -in "$f" -noout -ext subjectAltName 2>/dev/null | tail -n 1 |
	    sed 's/^ *//; s/email://g'
}
adserial() {
	openssl x509 -inform DER -in "$(vals "$1" userCertificate | head -n 1)" -noout -serial |
	    cut -d= -f2
}
samba_user_create erin erin@example.com
samba_user_create frank frank@example.com
t_ok "erin: SMTP: primary, two smtp: aliases and an X500: value" proxy erin add \
    SMTP:erin@example.com smtp:e.smith@example.com smtp:erin@example.org \
    "X500:/o=Example/ou=Exchange Administrative Group/cn=Recipients/cn=erin"
t_ok "frank: his SMTP: primary only" proxy frank add SMTP:frank@example.com
t_ok "a pass with erin's aliases" "$SYNC" -f "$Y" --once
t_eq "erin's certificate names exactly the three addresses, mail first" "$(adsan erin)" \
    "erin@example.com, e.smith@example.com, erin@example.org"
t_eq "frank's names his one" "$(adsan frank)" "frank@example.com"
es1=$(adserial erin)
"$SRCDIR/$BUILD/smimepub-lookupd" -f "$T/lookupd.conf" --foreground >"$T/lookupd2.log" 2>&1 &
SPID=$!
i=0
until curl -s -o /dev/null "http://$SAMBA_IP:8080/metrics" || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
fp=$(openssl x509 -inform DER -in "$(vals erin userCertificate | head -n 1)" -noout -fingerprint \
    -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
for a in erin@example.com e.smith@example.com ERIN@example.org; do
	t_eq "lookupd: $a 200" "$(code "$a")" 200
	t_contains "lookupd: $a is erin's certificate" "$(cat "$T/body")" "$fp"
done
kill -TERM "$SPID"
wait "$SPID" || :
SPID=
t_ok "an alias removed" proxy erin delete smtp:erin@example.org
t_ok "the pass after" "$SYNC" -f "$Y" --once
t_contains "erin is enrolled again" "$T_OUT" "renewed 1"
t_eq "her new certificate names the two left" "$(adsan erin)" "erin@example.com, e.smith@example.com"
t_ok "ca list" "$SMIMEPUB" -f "$Y" ca list
t_contains "the old one is revoked" "$T_OUT" "$es1 erin@example.com revoked"
t_contains "as superseded: the addresses changed" "$(grep "\"$es1\"" "$A" | grep '"revoked"' || true)" \
    "superseded: the addresses changed"
t_ok "frank claims erin's alias too" proxy frank add smtp:e.smith@example.com
t_ok "the pass after" "$SYNC" -f "$Y" --once
t_contains "the conflict is reported naming frank" "$T_OUT" "CN=frank,$SAMBA_PEOPLE"
t_contains "and erin" "$T_OUT" "CN=erin,$SAMBA_PEOPLE"
t_eq "erin's certificate no longer names it" "$(adsan erin)" "erin@example.com"
t_eq "frank's does not either" "$(adsan frank)" "frank@example.com"
t_done
