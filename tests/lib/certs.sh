# certs.sh -- S/MIME test certificates made with the openssl CLI.
# POSIX sh, safe under `set -eu`. Source it, then:
#
#   certs_ca DIR NAME
#       A self-signed CA (EC P-256, 3650 days) in DIR:
#       DIR/ca.key, DIR/ca.pem, DIR/ca.der; subject CN=NAME.
#
#   certs_leaf CADIR OUT_PREFIX MAIL [DAYS] [OPTION...]
#       An S/MIME end-entity certificate for MAIL signed by the CA in CADIR:
#       OUT_PREFIX.key (PKCS#8 PEM, unencrypted), OUT_PREFIX.pem, OUT_PREFIX.der,
#       OUT_PREFIX.p7c (DER CMS certs-only: the leaf then the CA, as stored in
#       userSMIMECertificate). DAYS defaults to 365 ("" for the default).
#       Defaults: RSA-2048 key, subject CN=MAIL, SAN email:MAIL,
#       EKU emailProtection, keyUsage critical digitalSignature,keyEncipherment,
#       random 128-bit serial, notBefore now - 1 minute.
#       OPTIONs:
#         ec                EC P-256 key, keyUsage digitalSignature,keyAgreement
#         rsa               RSA-2048 (the default);  rsa:BITS  another size
#         cn=NAME           subject CN (default MAIL)
#         eku=LIST|none     extendedKeyUsage value (default emailProtection)
#         ku=LIST|none      keyUsage value (default as above, "critical," added)
#         san=LIST|none     subjectAltName value (default email:MAIL)
#         start=YYYYMMDDHHMMSSZ  notBefore (e.g. in the future: not yet valid)
#         end=YYYYMMDDHHMMSSZ    notAfter (e.g. in the past: expired); overrides DAYS
#         key=FILE          use this existing private key instead of a new one
#
#   certs_serial PEM      print the serial in hex (upper case, as openssl does)
#   certs_fingerprint PEM print the SHA-256 fingerprint, lower-case hex, no colons
#   certs_time OFFSET_DAYS  print a GeneralizedTime OFFSET_DAYS from now (may be
#                         negative), for start= / end=

# _certs_subj NAME: "/CN=NAME" for openssl -subj, "/" "+" "=" "," escaped.
_certs_subj() {
	printf '/CN=%s' "$(printf '%s' "$1" | sed 's|[/+=,\\]|\\&|g')"
}

# certs_time DAYS: UTC time DAYS (integer, may be negative) from now.
certs_time() {
	date -u -d "@$(($(date -u +%s) + $1 * 86400))" +%Y%m%d%H%M%SZ
}

certs_ca() {
	_cd=$1
	_cn=$2
	mkdir -p "$_cd"
	( umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$_cd/ca.key" 2>/dev/null ) || return 1
	if ! _e=$(openssl req -x509 -new -key "$_cd/ca.key" -out "$_cd/ca.pem" \
	    -days 3650 -sha256 -subj "$(_certs_subj "$_cn")" \
	    -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign 2>&1); then
		printf 'certs_ca: openssl failed for %s:\n%s\n' "$_cn" "$_e" >&2
		return 1
	fi
	openssl x509 -in "$_cd/ca.pem" -outform DER -out "$_cd/ca.der" || return 1
}

certs_leaf() {
	_ca=$1
	_out=$2
	_mail=$3
	_days=${4:-365}
	if [ "$#" -ge 4 ]; then shift 4; else shift "$#"; fi
	_alg=rsa:2048
	_cn=$_mail
	_eku=emailProtection
	_ku=
	_san=email:$_mail
	_start=$(date -u -d "@$(($(date -u +%s) - 60))" +%Y%m%d%H%M%SZ)
	_end=
	_key=
	for _o in "$@"; do
		case $_o in
		ec) _alg=ec ;;
		rsa) _alg=rsa:2048 ;;
		rsa:*) _alg=$_o ;;
		cn=*) _cn=${_o#cn=} ;;
		eku=*) _eku=${_o#eku=} ;;
		ku=*) _ku=${_o#ku=} ;;
		san=*) _san=${_o#san=} ;;
		start=*) _start=${_o#start=} ;;
		end=*) _end=${_o#end=} ;;
		key=*) _key=${_o#key=} ;;
		*) printf 'certs_leaf: unknown option %s\n' "$_o" >&2; return 2 ;;
		esac
	done
	if [ -z "$_ku" ]; then
		case $_alg in
		ec) _ku=digitalSignature,keyAgreement ;;
		*) _ku=digitalSignature,keyEncipherment ;;
		esac
	fi
	[ -n "$_end" ] || _end=$(certs_time "$_days")

	if [ -n "$_key" ]; then
		cp "$_key" "$_out.key"
	elif [ "$_alg" = ec ]; then
		( umask 077 && openssl genpkey -algorithm EC \
		    -pkeyopt ec_paramgen_curve:P-256 -out "$_out.key" 2>/dev/null ) || return 1
	else
		( umask 077 && openssl genpkey -algorithm RSA \
		    -pkeyopt "rsa_keygen_bits:${_alg#rsa:}" -out "$_out.key" 2>/dev/null ) || return 1
	fi

	# openssl ca is the CLI that sets arbitrary notBefore/notAfter (OpenSSL 3.0).
	_w=$(mktemp -d "${TMPDIR:-/tmp}/certs.XXXXXX") || return 1
	: >"$_w/index.txt"
	echo 01 >"$_w/serial"
	{
		echo '[ca]'
		echo 'default_ca = c'
		echo '[c]'
		echo "database = $_w/index.txt"
		echo "new_certs_dir = $_w"
		echo "serial = $_w/serial"
		echo 'unique_subject = no'
		echo 'policy = p'
		echo 'default_md = sha256'
		echo 'email_in_dn = no'
		echo '[p]'
		echo 'commonName = supplied'
		echo '[ext]'
		echo 'basicConstraints = critical,CA:FALSE'
		echo 'subjectKeyIdentifier = hash'
		echo 'authorityKeyIdentifier = keyid'
		[ "$_ku" = none ] || echo "keyUsage = critical,$_ku"
		[ "$_eku" = none ] || echo "extendedKeyUsage = $_eku"
		[ "$_san" = none ] || echo "subjectAltName = $_san"
	} >"$_w/ca.cnf"
	_rc=0
	openssl req -new -key "$_out.key" -subj "$(_certs_subj "$_cn")" -out "$_w/req.pem" \
	    2>"$_w/err" &&
	openssl ca -batch -config "$_w/ca.cnf" -extensions ext -notext -rand_serial \
	    -cert "$_ca/ca.pem" -keyfile "$_ca/ca.key" -in "$_w/req.pem" \
	    -startdate "$_start" -enddate "$_end" -out "$_out.pem" \
	    >>"$_w/err" 2>&1 &&
	openssl x509 -in "$_out.pem" -outform DER -out "$_out.der" 2>>"$_w/err" &&
	openssl crl2pkcs7 -nocrl -certfile "$_out.pem" -certfile "$_ca/ca.pem" \
	    -outform DER -out "$_out.p7c" 2>>"$_w/err" || _rc=$?
	if [ "$_rc" -ne 0 ]; then
		printf 'certs_leaf: openssl failed for %s:\n' "$_mail" >&2
		cat "$_w/err" >&2
	fi
	rm -rf "$_w"
	return "$_rc"
}

certs_serial() {
	openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'
}

certs_fingerprint() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 |
	    sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f'
}
