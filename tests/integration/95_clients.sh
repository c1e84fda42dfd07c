#!/bin/sh
# Real clients against what smimepub publishes (a real slapd, smimepub's own
# local CA, enrol/renew/revoke/publish/unpublish), each replayed the way the
# client itself reads the directory (DESIGN.md "What is in the directory"):
#   - Thunderbird: (mail=ADDR), OR-ed for several recipients, attribute
#     usercertificate;binary, at most two values taken per address;
#   - Outlook: userSMIMECertificate first, so its first bundle must name the
#     same certificate as the first userCertificate value;
#   - gpgsm through dirmngr (GnuPG 2.2): --list-external-keys '<ADDR>' finds
#     the first userCertificate; fetched, imported, encrypted to, and the
#     delivered key decrypts;
#   - DNS: export-smimea output parsed by ldns-read-zone and every record
#     checked against the certificates.
# A foreign certificate (another CA) sits on alice's entry throughout.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/certs.sh"
. "$SRCDIR/tests/lib/slapd.sh"

T=$(mktemp -d)
G=$T/gnupg
# dirmngr (and any agent) run with our throwaway home only: stop them there
slapd_cleanup_add 'gpgconf --homedir "$G" --kill all >/dev/null 2>&1 || :; rm -rf "$T"'
slapd_start

# ---------------------------------------------------------------- helpers
hexof() { od -An -v -tx1 <"$1" | tr -d ' \n'; }
# entry_vals LDIF DN ATTR: the value files of ATTR (case-insensitive, options
# such as ;binary allowed) of entry DN in an ldapsearch -tt LDIF, in order.
entry_vals() {
	awk -v dn="$2" -v at="$(printf '%s' "$3" | tr 'A-Z' 'a-z')" '
	/^dn: / { cur = substr($0, 5); next }
	cur == dn {
		i = index($0, ":< file://")
		if (i == 0) next
		a = tolower(substr($0, 1, i - 1))
		if (a == at || index(a, at ";") == 1)
			print substr($0, i + 10)
	}' "$1"
}
# search FILTER ATTR...: anonymous, as a mail client does; LDIF path printed.
nsearch=0
search() {
	nsearch=$((nsearch + 1))
	_d=$T/s.$nsearch
	mkdir -p "$_d"
	_f=$1
	shift
	ldapsearch -x -H "$SLAPD_URI" -LLL -o ldif-wrap=no -tt -T "$_d" \
	    -b "$SLAPD_PEOPLE" "$_f" "$@" >"$_d.ldif"
	echo "$_d.ldif"
}
# is_ours DERFILE: issued by smimepub's local CA and usable for mail now
is_ours() {
	openssl x509 -inform DER -in "$1" -out "$1.pem" 2>/dev/null &&
	    openssl verify -CAfile "$T/ca/ca.pem" -purpose smimeencrypt \
	    "$1.pem" >/dev/null 2>&1
}
sha256_der() { openssl x509 -inform DER -in "$1" -outform DER | sha256sum | cut -c1-64; }
sha256_pem() { openssl x509 -in "$1" -outform DER | sha256sum | cut -c1-64; }
# p7first DERFILE OUT: the first certificate of a certs-only bundle, as DER
p7first() {
	openssl pkcs7 -inform DER -in "$1" -print_certs 2>/dev/null |
	    awk '/BEGIN CERT/{n++} n==1' | openssl x509 -outform DER -out "$2" 2>/dev/null
}
# p7first_hex DERFILE: hex DER of the first certificate of a certs-only bundle
p7first_hex() {
	p7first "$1" "$1.first" && hexof "$1.first"
}

# thunderbird NAME UID...: replay Thunderbird's search for the addresses
# UID@example.com (one: (mail=A); several: (|(mail=A)(mail=B)...)), take at
# most two values per address; the first must be ours and usable, and of
# everything on the entry exactly one certificate is ours.
thunderbird() {
	_n=$1
	shift
	if [ "$#" -eq 1 ]; then
		_flt="(mail=$1@example.com)"
	else
		_flt="(|"
		for _u in "$@"; do _flt="$_flt(mail=$_u@example.com)"; done
		_flt="$_flt)"
	fi
	_l=$(search "$_flt" 'usercertificate;binary')
	for _u in "$@"; do
		_dn=$(slapd_people_dn "$_u")
		_taken=$(entry_vals "$_l" "$_dn" usercertificate | head -n 2)
		_first=$(printf '%s\n' "$_taken" | head -n 1)
		_ours=0
		for _v in $(entry_vals "$_l" "$_dn" usercertificate); do
			if is_ours "$_v"; then _ours=$((_ours + 1)); fi
		done
		if [ -n "$_first" ] && is_ours "$_first"; then _ok=yes; else _ok=no; fi
		t_eq "thunderbird $_n $_flt: $_u's first value is our usable certificate" "$_ok" yes
		t_eq "thunderbird $_n: exactly one of ours on $_u's entry" "$_ours" 1
		if [ -n "${WANT_SHA:-}" ] && [ "$_u" = alice ]; then
			t_eq "thunderbird $_n: alice's first value is the current certificate" \
			    "$(sha256_der "$_first")" "$WANT_SHA"
		fi
	done
}

# outlook NAME UID OURS(yes|no): the first userSMIMECertificate bundle names
# the same certificate as the first userCertificate value; OURS says whether
# that certificate is one of ours.
outlook() {
	_l=$(search "(mail=$2@example.com)" 'userCertificate;binary' userSMIMECertificate)
	_dn=$(slapd_people_dn "$2")
	_uc=$(entry_vals "$_l" "$_dn" usercertificate | head -n 1)
	_sm=$(entry_vals "$_l" "$_dn" usersmimecertificate | head -n 1)
	_ours=no
	for _v in $(entry_vals "$_l" "$_dn" usercertificate); do
		if is_ours "$_v"; then _ours=yes; fi
	done
	for _v in $(entry_vals "$_l" "$_dn" usersmimecertificate); do
		if p7first "$_v" "$_v.first" && is_ours "$_v.first"; then
			_ours=yes
		fi
	done
	if [ -n "$_uc" ] && [ -n "$_sm" ]; then
		t_eq "outlook $1: $2's first userSMIMECertificate names the first userCertificate" \
		    "$(p7first_hex "$_sm")" "$(hexof "$_uc")"
	else
		t_eq "outlook $1: $2 has both attributes or neither" \
		    "${_uc:+uc}${_sm:+sm}" ""
	fi
	t_eq "outlook $1: a certificate of ours on $2's entry" "$_ours" "$3"
}

# ------------------------------------------------------------------ setup
cat >"$T/hand-over" <<EOS
#!/bin/sh
umask 077
cat > "$T/pass.\$(basename "\$SMIMEPUB_P12")"
EOS
chmod 0700 "$T/hand-over"
# RSA throughout: gpgsm 2.2 cannot encrypt to EC (ECDH) certificates
cat >"$T/smimepub.conf" <<EOC
$(slapd_conf_directory)
};
ca = { driver = "local"; local = { dir = "$T/ca"; key_type = "rsa:2048"; validity_days = 30; }; };
keys = {
  type = "rsa:2048";
  delivery_dir = "$T/delivery";
  delivery_command = "$T/hand-over";
  pkcs12_iterations = 10000;
};
sync = { state_dir = "$T/state"; };
EOC
C=$T/smimepub.conf
t_ok "ca init" "$SMIMEPUB" -f "$C" ca init

# more people: a mixed-case local part, one in a subdomain, one elsewhere
ldap_root ldapadd >/dev/null <<LDIF
dn: uid=dave,$SLAPD_PEOPLE
objectClass: inetOrgPerson
uid: dave
cn: Dave Smith
sn: Smith
mail: Dave.Smith@Example.COM

dn: uid=frank,$SLAPD_PEOPLE
objectClass: inetOrgPerson
uid: frank
cn: Frank Sub
sn: Sub
mail: frank@sub.example.com

dn: uid=hugh,$SLAPD_PEOPLE
objectClass: inetOrgPerson
uid: hugh
cn: Hugh Vector
sn: Vector
mail: hugh@example.com

dn: uid=erin,$SLAPD_PEOPLE
objectClass: inetOrgPerson
uid: erin
cn: Erin Else
sn: Else
mail: erin@example.org
LDIF

# a foreign certificate (another CA) already on alice's entry, both attributes
certs_ca "$T/foreign" "someone else's CA"
certs_leaf "$T/foreign" "$T/falice" alice@example.com
ldap_root ldapmodify >/dev/null <<LDIF
dn: $(slapd_people_dn alice)
changetype: modify
add: userCertificate;binary
userCertificate;binary:< file://$T/falice.der
-
add: userSMIMECertificate
userSMIMECertificate:< file://$T/falice.p7c
LDIF
FOREIGN_SHA=$(sha256_pem "$T/falice.pem")

for u in alice bob hugh; do
	t_ok "enrol $u" "$SMIMEPUB" -f "$C" enrol "$u@example.com"
done
t_ok "enrol dave (mixed-case local part)" "$SMIMEPUB" -f "$C" enrol Dave.Smith@example.com
t_ok "enrol frank (subdomain)" "$SMIMEPUB" -f "$C" enrol frank@sub.example.com
t_ok "enrol erin (another zone)" "$SMIMEPUB" -f "$C" enrol erin@example.org

# current_cert UID OUT: the first userCertificate value of UID, as PEM
current_cert() {
	_l=$(search "(uid=$1)" 'userCertificate;binary')
	openssl x509 -inform DER -in "$(entry_vals "$_l" "$(slapd_people_dn "$1")" \
	    usercertificate | head -n 1)" -out "$2"
}
# key_of PEM OUT: the delivered private key of that certificate
key_of() {
	_sn=$(certs_serial "$1")
	_p12=$(ls "$T"/delivery/*."$_sn".p12)
	openssl pkcs12 -in "$_p12" -passin "file:$T/pass.$(basename "$_p12")" \
	    -nocerts -nodes -out "$2" 2>/dev/null
}
current_cert alice "$T/alice1.pem"
ALICE1_SHA=$(sha256_pem "$T/alice1.pem")
t_ne "alice's first value is not the foreign certificate" "$ALICE1_SHA" "$FOREIGN_SHA"

# ------------------------------------------------------------ Thunderbird
WANT_SHA=$ALICE1_SHA
thunderbird "after enrol" alice
thunderbird "after enrol" alice bob
l=$(search '(mail=alice@example.com)' 'usercertificate;binary')
t_eq "the foreign certificate is still there, second" \
    "$(sha256_der "$(entry_vals "$l" "$(slapd_people_dn alice)" usercertificate | sed -n 2p)")" \
    "$FOREIGN_SHA"

# ---------------------------------------------------------------- Outlook
outlook "after enrol" alice yes
outlook "after enrol" bob yes

# ----------------------------------------------------------------- gpgsm
mkdir -m 0700 "$G"
# dirmngr 2.2.40 takes the colon form; an ldap:// URL given to ldapserver
# is split at its colons ("ldap" became the host). No HTTP, no keyserver,
# no CRL/OCSP fetching from distribution points: only the test slapd.
cat >"$G/dirmngr.conf" <<EOF
ldapserver 127.0.0.1:$SLAPD_PORT:::$SLAPD_PEOPLE:plain
ldaptimeout 10
disable-http
ignore-http-dp
ignore-ldap-dp
ignore-ocsp-service-url
log-file $G/dirmngr.log
EOF
printf 'disable-crl-checks\n' >"$G/gpgsm.conf"
GNUPGHOME=$G
export GNUPGHOME
t_ok "gpgsm imports the test CA" gpgsm --batch --import "$T/ca/ca.pem"
echo "$(openssl x509 -in "$T/ca/ca.pem" -noout -fingerprint -sha1 | sed 's/.*=//') S" \
    >"$G/trustlist.txt"

# gpg_fetch NAME: list alice's certificate through dirmngr, check it is
# WANT_SHA, make it permanent in the keybox (--list-external-keys leaves it
# ephemeral), and check dirmngr-client's LOOKUP hands over the same DER.
gpg_fetch() {
	t_ok "gpgsm --list-external-keys '<alice@example.com>' ($1)" \
	    gpgsm --with-colons --list-external-keys '<alice@example.com>'
	_fp2=$(printf '%s\n' "$T_OUT" | awk -F: '$1 == "fp2" { print tolower($10) }')
	_fpr=$(printf '%s\n' "$T_OUT" | awk -F: '$1 == "fpr" { print $10 }')
	t_eq "gpgsm ($1): exactly one certificate, the current one of ours" "$_fp2" "$WANT_SHA"
	t_ok "gpgsm ($1): export it from the keybox (ephemeral)" \
	    sh -c 'gpgsm --with-ephemeral-keys --export "$1" >"$2"' sh "$_fpr" "$T/gpg.$1.der"
	t_eq "gpgsm ($1): the exported DER is the published certificate" \
	    "$(sha256_der "$T/gpg.$1.der" 2>/dev/null || echo none)" "$WANT_SHA"
	t_ok "gpgsm ($1): import it" gpgsm --batch --import "$T/gpg.$1.der"
	t_ok "dirmngr-client --lookup ($1)" \
	    sh -c 'dirmngr-client --lookup "<alice@example.com>" >"$1"' sh "$T/dc.$1.b64"
	{ echo '-----BEGIN CERTIFICATE-----'; grep -v '^$' "$T/dc.$1.b64"; \
	    echo '-----END CERTIFICATE-----'; } >"$T/dc.$1.pem"
	t_eq "dirmngr-client ($1): the same certificate" \
	    "$(sha256_pem "$T/dc.$1.pem" 2>/dev/null || echo none)" "$WANT_SHA"
	GPG_FPR=$_fpr
}
# gpg_roundtrip NAME PEM: gpgsm encrypts to alice, her delivered key decrypts
gpg_roundtrip() {
	printf 'for alice, %s, via gpgsm\n' "$1" >"$T/gmsg.$1"
	t_ok "gpgsm --encrypt -r alice@example.com ($1)" gpgsm --batch --encrypt \
	    -r alice@example.com -o "$T/gmsg.$1.p7m" "$T/gmsg.$1"
	key_of "$2" "$T/key.$1.pem"
	t_ok "openssl cms -decrypt with the delivered key ($1)" \
	    openssl cms -decrypt -binary -inform DER -in "$T/gmsg.$1.p7m" \
	    -inkey "$T/key.$1.pem" -recip "$2" -out "$T/gmsg.$1.out"
	t_eq "the gpgsm message comes back ($1)" "$(cat "$T/gmsg.$1.out" 2>/dev/null)" \
	    "$(cat "$T/gmsg.$1")"
}
t_fail "gpgsm --encrypt never asks the directory: alice unknown before the import" \
    gpgsm --batch --encrypt -r alice@example.com -o "$T/none.p7m" "$T/hand-over"
gpg_fetch enrol
OLD_FPR=$GPG_FPR
gpg_roundtrip enrol "$T/alice1.pem"

# ------------------------------------------------------------ renewal
t_ok "renew alice" "$SMIMEPUB" -f "$C" renew alice@example.com
current_cert alice "$T/alice2.pem"
ALICE2_SHA=$(sha256_pem "$T/alice2.pem")
t_ne "renewal gave a new certificate" "$ALICE2_SHA" "$ALICE1_SHA"
WANT_SHA=$ALICE2_SHA
thunderbird "after renew" alice
thunderbird "after renew" bob alice
outlook "after renew" alice yes
gpg_fetch renew
# two certificates of alice in the keybox now: drop the old one
t_ok "gpgsm deletes the old certificate" gpgsm --batch --yes --delete-keys "$OLD_FPR"
gpg_roundtrip renew "$T/alice2.pem"

# ------------------------------------------------------------ SMIMEA
current_cert bob "$T/bob.pem"
current_cert hugh "$T/hugh.pem"
current_cert dave "$T/dave.pem"
current_cert frank "$T/frank.pem"
current_cert erin "$T/erin.pem"
# rec LOCAL DOMAIN PEM SEL MT: the record computed with the openssl CLI
rec() {
	_lab=$(printf '%s' "$1" | sha256sum | cut -c1-56)
	if [ "$4" = 0 ]; then
		openssl x509 -in "$3" -outform DER >"$T/rec.der"
	else
		openssl x509 -in "$3" -pubkey -noout | openssl pkey -pubin -outform DER >"$T/rec.der"
	fi
	case $5 in
	0) _d=$(hexof "$T/rec.der") ;;
	1) _d=$(sha256sum <"$T/rec.der" | cut -d' ' -f1) ;;
	2) _d=$(sha512sum <"$T/rec.der" | cut -d' ' -f1) ;;
	esac
	echo "$_lab._smimecert.$2. SMIMEA 3 $4 $5 $_d"
}
# zone_of FILE: FILE wrapped in a zone, parsed by ldns-read-zone; prints
# the SMIMEA records normalised (owner, type, usage selector matching data)
zone_of() {
	{
		echo '$ORIGIN example.com.'
		echo '$TTL 3600'
		echo '@ IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600'
		echo '@ IN NS ns1.example.com.'
		echo 'ns1 IN A 127.0.0.1'
		cat "$1"
	} >"$1.zone"
	ldns-read-zone -E SMIMEA "$1.zone" 2>"$1.lerr" |
	    awk '{ d = ""; for (i = 8; i <= NF; i++) d = d $i;
		print tolower($1), $4, $5, $6, $7, tolower(d) }' | sort
}
expected() {
	{
		rec alice example.com "$T/alice2.pem" "$1" "$2"
		rec bob example.com "$T/bob.pem" "$1" "$2"
		rec hugh example.com "$T/hugh.pem" "$1" "$2"
		rec Dave.Smith example.com "$T/dave.pem" "$1" "$2"
		rec dave.smith example.com "$T/dave.pem" "$1" "$2"
		rec frank sub.example.com "$T/frank.pem" "$1" "$2"
		[ -z "${3:-}" ] || rec alice example.com "$T/falice.pem" "$1" "$2"
	} | sort
}
for sm in "0 0" "0 1" "0 2" "1 0" "1 1" "1 2"; do
	set -- $sm
	t_ok "export-smimea --zone example.com --selector $1 --matching $2" \
	    sh -c '"$1" -f "$2" export-smimea --zone example.com --selector "$3" \
	    --matching "$4" >"$5" 2>"$5.err"' sh "$SMIMEPUB" "$C" "$1" "$2" "$T/z.$1$2"
	got=$(zone_of "$T/z.$1$2")
	t_ok "ldns-read-zone parses it ($1 $2)" ldns-read-zone "$T/z.$1$2.zone"
	t_eq "records $1 $2: owner and data match the certificates" "$got" "$(expected "$1" "$2")"
done
t_contains "the known vector: hugh's owner" "$(cat "$T/z.01")" \
    c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1afd6._smimecert.example.com.
t_contains "the skipped are counted on stderr" "$(cat "$T/z.01.err")" "1 outside the zone"
t_contains "foreign certificates are left out and counted" "$(cat "$T/z.01.err")" \
    "1 not published by smimepub"
t_ok "export-smimea --all includes the foreign usable certificate" \
    sh -c '"$1" -f "$2" export-smimea --zone example.com. --all --selector 0 \
    --matching 1 >"$3" 2>/dev/null' sh "$SMIMEPUB" "$C" "$T/z.all"
t_eq "records with --all" "$(zone_of "$T/z.all")" "$(expected 0 1 foreign)"
t_ok "export-smimea --ttl 300 --usage 3" \
    sh -c '"$1" -f "$2" export-smimea --zone EXAMPLE.org --ttl 300 --usage 3 \
    --selector 1 --matching 1 >"$3" 2>/dev/null' sh "$SMIMEPUB" "$C" "$T/z.org"
t_eq "zone example.org: erin only, with the TTL" "$(cat "$T/z.org")" \
    "$(rec erin example.org "$T/erin.pem" 1 1 | sed 's/ SMIMEA/ 300 IN SMIMEA/')"
t_exit "no --zone is a usage error" 2 "$SMIMEPUB" -f "$C" export-smimea
t_exit "a bad zone is a usage error" 2 "$SMIMEPUB" -f "$C" export-smimea --zone 'exa mple.com'
t_exit "--selector 2 is a usage error" 2 "$SMIMEPUB" -f "$C" export-smimea --zone example.com --selector 2
t_exit "--matching 3 is a usage error" 2 "$SMIMEPUB" -f "$C" export-smimea --zone example.com --matching 3
t_exit "--usage 4 is a usage error" 2 "$SMIMEPUB" -f "$C" export-smimea --zone example.com --usage 4
t_exit "--ttl -1 is a usage error" 2 "$SMIMEPUB" -f "$C" export-smimea --zone example.com --ttl -1
t_contains "the message names the option" "$T_OUT" "--ttl"
sed "s|$SLAPD_URI|ldap://127.0.0.1:1|" "$C" >"$T/down.conf"
t_exit "an unreachable directory exits 1" 1 "$SMIMEPUB" -f "$T/down.conf" export-smimea --zone example.com

# --------------------------------------------------- revoke and unpublish
t_ok "revoke alice" "$SMIMEPUB" -f "$C" revoke alice@example.com
outlook "after revoke" alice no
l=$(search '(mail=alice@example.com)' 'usercertificate;binary')
t_eq "thunderbird after revoke: alice's first value is the foreign one" \
    "$(sha256_der "$(entry_vals "$l" "$(slapd_people_dn alice)" usercertificate | head -n 1)")" \
    "$FOREIGN_SHA"
t_ok "gpgsm --list-external-keys after revoke" \
    gpgsm --with-colons --list-external-keys '<alice@example.com>'
t_eq "dirmngr now finds only the foreign certificate" \
    "$(printf '%s\n' "$T_OUT" | awk -F: '$1 == "fp2" { print tolower($10) }')" "$FOREIGN_SHA"
t_ok "export-smimea after revoke" sh -c '"$1" -f "$2" export-smimea --zone example.com \
    --selector 0 --matching 1 >"$3" 2>/dev/null' sh "$SMIMEPUB" "$C" "$T/z.rev"
t_not_contains "no record for alice after revoke" "$(cat "$T/z.rev")" \
    "$(printf alice | sha256sum | cut -c1-56)"
# the revoked certificate put back on the entry behind smimepub's back: the
# journal knows it is revoked, so it is still not exported
openssl x509 -in "$T/alice2.pem" -outform DER -out "$T/alice2.der"
ldap_root ldapmodify >/dev/null <<LDIF
dn: $(slapd_people_dn alice)
changetype: modify
add: userCertificate;binary
userCertificate;binary:< file://$T/alice2.der
LDIF
t_ok "export-smimea with a revoked certificate of ours on the entry" sh -c '"$1" -f "$2" \
    export-smimea --zone example.com >"$3" 2>/dev/null' sh "$SMIMEPUB" "$C" "$T/z.rev2"
t_not_contains "a revoked certificate of ours is not exported" "$(cat "$T/z.rev2")" \
    "$(printf alice | sha256sum | cut -c1-56)"
# the superseded (renewed-away) certificate put back: not exported either
openssl x509 -in "$T/alice1.pem" -outform DER -out "$T/alice1.der"
ldap_root ldapmodify >/dev/null <<LDIF
dn: $(slapd_people_dn alice)
changetype: modify
add: userCertificate;binary
userCertificate;binary:< file://$T/alice1.der
LDIF
t_ok "export-smimea with a superseded certificate of ours on the entry" sh -c '"$1" -f "$2" \
    export-smimea --zone example.com >"$3" 2>/dev/null' sh "$SMIMEPUB" "$C" "$T/z.rev3"
t_not_contains "a superseded certificate of ours is not exported" "$(cat "$T/z.rev3")" \
    "$(printf alice | sha256sum | cut -c1-56)"
t_ok "export-smimea --all exports what is usable on the entry, ours or not" sh -c '"$1" -f "$2" \
    export-smimea --zone example.com --all --matching 1 >"$3" 2>/dev/null' sh "$SMIMEPUB" "$C" "$T/z.rev4"
t_eq "--all: three records for alice (foreign, revoked, superseded: no CRL is consulted)" \
    "$(grep -c "^$(printf alice | sha256sum | cut -c1-56)\\." "$T/z.rev4")" 3
t_ok "unpublish alice removes it again" "$SMIMEPUB" -f "$C" unpublish alice@example.com
outlook "after unpublish" alice no

# a certificate published by hand (its chain follows in the file), then
# unpublished
certs_ca "$T/hand" "hand CA"
certs_leaf "$T/hand" "$T/carol" carol@example.com
cat "$T/carol.pem" "$T/hand/ca.pem" >"$T/carol.chain.pem"
t_ok "publish carol by hand" "$SMIMEPUB" -f "$C" publish carol@example.com "$T/carol.chain.pem"
l=$(search '(mail=carol@example.com)' 'userCertificate;binary' userSMIMECertificate)
uc=$(entry_vals "$l" "$(slapd_people_dn carol)" usercertificate | head -n 1)
sm=$(entry_vals "$l" "$(slapd_people_dn carol)" usersmimecertificate | head -n 1)
t_eq "outlook after publish: carol's bundle names her certificate" \
    "$(p7first_hex "$sm")" "$(openssl x509 -in "$T/carol.pem" -outform DER | od -An -v -tx1 | tr -d ' \n')"
t_eq "outlook after publish: the same as the first userCertificate" \
    "$(p7first_hex "$sm")" "$(hexof "$uc")"
t_ok "unpublish carol" "$SMIMEPUB" -f "$C" unpublish carol@example.com
l=$(search '(mail=carol@example.com)' 'userCertificate;binary' userSMIMECertificate)
t_eq "outlook after unpublish: neither attribute holds carol's certificate" \
    "$(entry_vals "$l" "$(slapd_people_dn carol)" usercertificate)$(entry_vals "$l" \
    "$(slapd_people_dn carol)" usersmimecertificate)" ""
t_ok "unpublish bob" "$SMIMEPUB" -f "$C" unpublish bob@example.com
outlook "after unpublish" bob no
t_done
