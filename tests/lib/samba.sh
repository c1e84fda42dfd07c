# samba.sh -- a throwaway Samba 4 Active Directory domain controller for
# integration tests. POSIX sh, safe under `set -eu`; runs as root (as the
# tests do). Starts no system service: the DC is provisioned in a temporary
# directory, listens only on a loopback address of its own (127.0.0.N/32,
# added to lo and removed afterwards: its LDAP ports are fixed at 389/636),
# runs the ldap, cldap and kdc services only, has no DNS (backend NONE).
#
#   . "$SRCDIR/tests/lib/samba.sh"
#   samba_private_hosts "$0" "$@"        # optional, first: see below
#   samba_cleanup_add 'rm -rf "$mytmp"'  # optional: your own cleanup
#   samba_start                          # installs the EXIT/INT/TERM trap
#   ad_admin ldapsearch -LLL -b "$SAMBA_PEOPLE" '(mail=alice@example.com)' dn
#
# samba_start installs `trap ... EXIT` (and INT, TERM, HUP, which exit
# 130/143/129 through the EXIT trap) that stops samba, removes its directory
# and the loopback address even when a test fails. Do NOT set your own EXIT
# trap after samba_start; register extra cleanup with samba_cleanup_add CMD
# (commands run in order, before samba stops; the exit status is kept).
# If provisioning or starting fails, samba_start prints why (the tail of
# samba-tool's or samba's output) and exits 1: the test fails, it is never
# skipped silently.
#
# The DC's certificate is the one Samba generates at its first start,
# CN=dc1.example.test, signed by SAMBA_TLS_CA; it names no IP address. To
# verify it by name, samba_private_hosts "$0" "$@" re-runs the calling
# script in a mount namespace of its own (unshare -m) where samba_start
# bind-mounts a private /etc/hosts that maps SAMBA_HOST to the DC's address;
# the real /etc/hosts is never touched. SAMBA_LDAPS_URI needs it.
#
# After samba_start these are exported:
#   SAMBA_DIR          temp dir (etc/smb.conf, private/, samba.log, ...)
#   SAMBA_IP           127.0.0.N (the first of 127.0.0.97.. not on lo yet)
#   SAMBA_HOST         dc1.example.test (resolves to SAMBA_IP in the namespace)
#   SAMBA_URI          ldap://SAMBA_IP   (simple bind allowed: `ldap server
#                      require strong auth = no`)
#   SAMBA_LDAPS_URI    ldaps://SAMBA_HOST
#   SAMBA_TLS_CA       SAMBA_DIR/private/tls/ca.pem, the DC's own CA
#   SAMBA_REALM        EXAMPLE.TEST;  SAMBA_DOMAIN EXAMPLE
#   SAMBA_BASE         DC=example,DC=test
#   SAMBA_PEOPLE       OU=People,DC=example,DC=test (the searched OU)
#   SAMBA_FORMER       OU=Former,DC=example,DC=test (for people moved out)
#   SAMBA_SERVICES     OU=Services,DC=example,DC=test
#   SAMBA_ADMIN_UPN    Administrator@EXAMPLE.TEST; SAMBA_ADMIN_PW(_FILE)
#   SAMBA_SVC_UPN      smimepub@EXAMPLE.TEST, the least-privilege service
#   SAMBA_SVC_DN       account CN=smimepub,OU=Services,DC=example,DC=test;
#   SAMBA_SVC_PW_FILE  its password, mode 0600, no trailing newline
#   SAMBA_LOOKUP_UPN   lookup@EXAMPLE.TEST, a plain user (reads only, as every
#   SAMBA_LOOKUP_PW_FILE  authenticated user may) for smimepub-lookupd
#   SAMBA_LOG          samba's output
#
# The service account may write exactly userCertificate and
# userSMIMECertificate on user objects under SAMBA_PEOPLE (two
# object-specific ACEs, WP, inherited by user objects, set with
# `samba-tool dsacl set`); everything else it may only read, as any
# authenticated user.
# People under SAMBA_PEOPLE (user objects, CN = the name, password set,
# enabled): alice alice@example.com, bob bob@example.com,
# carol carol@example.com, dup1 and dup2 both dup@example.com.
#
# Other functions:
#   samba_stop              stop samba, remove SAMBA_DIR and the address
#   samba_tool ARGS         samba-tool ARGS -s SAMBA_DIR/etc/smb.conf (quiet
#                           on success, its output on stderr on failure)
#   samba_user_create NAME MAIL [OU]   a user (enabled) under OU
#                           (default SAMBA_PEOPLE)
#   samba_user_dn NAME [OU] -> CN=NAME,OU...
#   samba_people_bulk PREFIX N  N users PREFIX01.. (mail PREFIX01@example.com)
#                           under SAMBA_PEOPLE in one ldapadd over ldaps as
#                           Administrator (samba-tool takes ~1 s a user)
#   samba_delegate_certs DN grant the service account write access to
#                           userCertificate and userSMIMECertificate on user
#                           objects under DN (what samba_start does for
#                           SAMBA_PEOPLE)
#   samba_grant_dirsync     grant the service account "Replicating Directory
#                           Changes" (DS-Replication-Get-Changes) on
#                           SAMBA_BASE: DirSync without the object-security
#                           flag needs it
#   samba_svc_sid           the service account's objectSid
#   samba_kerberos          for SASL GSSAPI: registers ldap/SAMBA_HOST on
#                           the DC's account (samba_spnupdate, which would,
#                           does not run with server services = ldap cldap
#                           kdc), exports the service account's key to
#                           SAMBA_SVC_KEYTAB and writes SAMBA_KRB5_CONF (kdc
#                           = SAMBA_IP; provision's own krb5.conf finds the
#                           KDC by DNS, which this DC has not)
#   ad_admin CMD ARGS       run an ldap* tool as Administrator over SAMBA_URI
#   ad_svc CMD ARGS         the same as the service account

SAMBA_REALM=EXAMPLE.TEST
SAMBA_DOMAIN=EXAMPLE
SAMBA_BASE=DC=example,DC=test
SAMBA_HOST=dc1.example.test
SAMBA_PEOPLE=OU=People,$SAMBA_BASE
SAMBA_FORMER=OU=Former,$SAMBA_BASE
SAMBA_SERVICES=OU=Services,$SAMBA_BASE
SAMBA_ADMIN_UPN=Administrator@$SAMBA_REALM
SAMBA_ADMIN_PW='Adm1n-Pw.smimepub'
SAMBA_SVC_UPN=smimepub@$SAMBA_REALM
SAMBA_SVC_DN=CN=smimepub,$SAMBA_SERVICES
SAMBA_LOOKUP_UPN=lookup@$SAMBA_REALM
_SAMBA_SVC_PW='Svc-Pw.smimepub1'
_SAMBA_USER_PW='Usr-Pw.smimepub1'
export SAMBA_REALM SAMBA_DOMAIN SAMBA_BASE SAMBA_HOST SAMBA_PEOPLE \
    SAMBA_FORMER SAMBA_SERVICES SAMBA_ADMIN_UPN SAMBA_SVC_UPN SAMBA_SVC_DN \
    SAMBA_LOOKUP_UPN

# schemaIDGUIDs (the same in every AD forest)
_SAMBA_GUID_USER=bf967aba-0de6-11d0-a285-00aa003049e2
_SAMBA_GUID_USERCERT=bf967a7f-0de6-11d0-a285-00aa003049e2
_SAMBA_GUID_SMIME=e16a9db2-403c-11d1-a9c0-0000f80367c1
_SAMBA_GUID_GET_CHANGES=1131f6aa-9c07-11d1-f79f-00c04fc2dcd2

_SAMBA_CLEANUP=
_SAMBA_PID=
_SAMBA_IP_ADDED=
SAMBA_DIR=

samba_cleanup_add() {
	_SAMBA_CLEANUP="$_SAMBA_CLEANUP
$1"
}

_samba_err() {
	printf 'samba.sh: %s\n' "$*" >&2
}

# samba_private_hosts "$0" "$@": re-run the calling script in a mount
# namespace of its own (once), so samba_start can give SAMBA_HOST an address
# in a private /etc/hosts. Fails the test if unshare is not possible.
samba_private_hosts() {
	[ "${_SAMBA_NS:-}" = 1 ] && return 0
	if ! unshare -m true 2>"${TMPDIR:-/tmp}/samba-unshare.$$"; then
		_samba_err "cannot make a mount namespace for a private /etc/hosts: $(cat "${TMPDIR:-/tmp}/samba-unshare.$$")"
		rm -f "${TMPDIR:-/tmp}/samba-unshare.$$"
		exit 1
	fi
	rm -f "${TMPDIR:-/tmp}/samba-unshare.$$"
	_SAMBA_NS=1
	export _SAMBA_NS
	exec unshare -m --propagation private sh "$@"
}

_samba_on_exit() {
	_samba_rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$_SAMBA_CLEANUP" ]; then
		eval "$_SAMBA_CLEANUP" || :
	fi
	samba_stop || :
	exit "$_samba_rc"
}

_samba_install_trap() {
	trap _samba_on_exit EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

samba_stop() {
	_p=$_SAMBA_PID
	if [ -n "$_p" ] && kill -0 "$_p" 2>/dev/null; then
		kill -TERM "$_p" 2>/dev/null || :
		_i=0
		while kill -0 "$_p" 2>/dev/null && [ "$_i" -lt 100 ]; do
			sleep 0.05
			_i=$((_i + 1))
		done
		if kill -0 "$_p" 2>/dev/null; then
			kill -KILL "$_p" 2>/dev/null || :
		fi
		wait "$_p" 2>/dev/null || :
	fi
	_SAMBA_PID=
	if [ "${_SAMBA_NS:-}" = 1 ] && [ -n "$SAMBA_DIR" ]; then
		umount /etc/hosts 2>/dev/null || :
	fi
	if [ -n "$_SAMBA_IP_ADDED" ]; then
		ip addr del "$_SAMBA_IP_ADDED/32" dev lo 2>/dev/null || :
		_SAMBA_IP_ADDED=
	fi
	if [ -n "$SAMBA_DIR" ] && [ -d "$SAMBA_DIR" ]; then
		rm -rf "$SAMBA_DIR"
	fi
	SAMBA_DIR=
}

samba_tool() {
	if ! _st_out=$(samba-tool "$@" -s "$SAMBA_DIR/etc/smb.conf" 2>&1); then
		_samba_err "samba-tool $*: $(printf '%s\n' "$_st_out" | tail -n 5)"
		return 1
	fi
}

samba_user_dn() {
	printf 'CN=%s,%s\n' "$1" "${2:-$SAMBA_PEOPLE}"
}

samba_user_create() {
	_ou=${3:-$SAMBA_PEOPLE}
	samba_tool user create "$1" "$_SAMBA_USER_PW" --mail-address="$2" \
	    --userou="${_ou%,"$SAMBA_BASE"}"
}

samba_people_bulk() {
	_pw=$(printf '"%s"' "$_SAMBA_USER_PW" | iconv -f UTF-8 -t UTF-16LE | base64 -w0)
	_k=1
	while [ "$_k" -le "$2" ]; do
		_nm=$(printf '%s%02d' "$1" "$_k")
		printf 'dn: CN=%s,%s\nobjectClass: user\nsAMAccountName: %s\n' \
		    "$_nm" "$SAMBA_PEOPLE" "$_nm"
		printf 'userPrincipalName: %s@%s\nmail: %s@example.com\n' \
		    "$_nm" "$SAMBA_REALM" "$_nm"
		printf 'unicodePwd:: %s\nuserAccountControl: 512\n\n' "$_pw"
		_k=$((_k + 1))
	done >"$SAMBA_DIR/bulk.ldif"
	LDAPTLS_CACERT=$SAMBA_TLS_CA ldapadd -x -H "$SAMBA_LDAPS_URI" \
	    -D "$SAMBA_ADMIN_UPN" -y "$SAMBA_ADMIN_PW_FILE" -f "$SAMBA_DIR/bulk.ldif" >/dev/null
}

samba_svc_sid() {
	samba-tool user show smimepub --attributes=objectSid \
	    -s "$SAMBA_DIR/etc/smb.conf" 2>/dev/null | sed -n 's/^objectSid: //p'
}

samba_delegate_certs() {
	_sid=$(samba_svc_sid)
	[ -n "$_sid" ] || { _samba_err "no objectSid for the service account"; return 1; }
	samba_tool dsacl set --objectdn="$1" \
	    --sddl="(OA;CI;WP;$_SAMBA_GUID_USERCERT;$_SAMBA_GUID_USER;$_sid)(OA;CI;WP;$_SAMBA_GUID_SMIME;$_SAMBA_GUID_USER;$_sid)"
}

samba_grant_dirsync() {
	_sid=$(samba_svc_sid)
	[ -n "$_sid" ] || { _samba_err "no objectSid for the service account"; return 1; }
	samba_tool dsacl set --objectdn="$SAMBA_BASE" \
	    --sddl="(OA;;CR;$_SAMBA_GUID_GET_CHANGES;;$_sid)"
}

samba_kerberos() {
	SAMBA_SVC_KEYTAB=$SAMBA_DIR/svc.keytab
	SAMBA_KRB5_CONF=$SAMBA_DIR/krb5.conf
	export SAMBA_SVC_KEYTAB SAMBA_KRB5_CONF
	samba_tool spn add "ldap/$SAMBA_HOST" 'DC1$' || return 1
	samba_tool domain exportkeytab "$SAMBA_SVC_KEYTAB" \
	    --principal="$SAMBA_SVC_UPN" || return 1
	cat >"$SAMBA_KRB5_CONF" <<EOK
[libdefaults]
	default_realm = $SAMBA_REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	dns_canonicalize_hostname = false
[realms]
	$SAMBA_REALM = {
		kdc = $SAMBA_IP
	}
[domain_realm]
	.example.test = $SAMBA_REALM
	example.test = $SAMBA_REALM
EOK
}

ad_admin() {
	_t=$1
	shift
	"$_t" -x -H "$SAMBA_URI" -D "$SAMBA_ADMIN_UPN" -y "$SAMBA_ADMIN_PW_FILE" "$@"
}

ad_svc() {
	_t=$1
	shift
	"$_t" -x -H "$SAMBA_URI" -D "$SAMBA_SVC_UPN" -y "$SAMBA_SVC_PW_FILE" "$@"
}

# Add the first 127.0.0.N/32 (N = 97..126) that lo does not carry yet (a
# concurrent run that took it first makes `ip addr add` fail: try the next).
_samba_add_ip() {
	_n=97
	while [ "$_n" -le 126 ]; do
		if ! ip -o addr show dev lo | grep -q " 127\.0\.0\.$_n/" &&
		    ip addr add "127.0.0.$_n/32" dev lo 2>/dev/null; then
			SAMBA_IP=127.0.0.$_n
			_SAMBA_IP_ADDED=$SAMBA_IP
			return 0
		fi
		_n=$((_n + 1))
	done
	return 1
}

_samba_fail() {
	_samba_err "$1"
	if [ -n "${2:-}" ] && [ -f "$2" ]; then
		tail -n 15 "$2" | sed 's/^/samba.sh:   /' >&2
	fi
	exit 1
}

samba_start() {
	_samba_install_trap
	for _c in samba samba-tool ip ldapsearch; do
		command -v "$_c" >/dev/null 2>&1 ||
		    _samba_fail "$_c is not installed (sh scripts/deps.sh)"
	done
	if ss -Hltn 2>/dev/null | awk '{print $4}' |
	    grep -Eq '^(0\.0\.0\.0|\*|\[::\]):(389|636)$'; then
		_samba_fail "something holds the wildcard address on port 389/636 (a system slapd?): $(ss -Hltnp | grep -E ':(389|636) ' | head -n 2)"
	fi
	SAMBA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/samba.XXXXXX")
	chmod 0700 "$SAMBA_DIR"
	_samba_add_ip ||
	    _samba_fail "could not add any 127.0.0.N/32 (N = 97..126) to lo"
	SAMBA_URI=ldap://$SAMBA_IP
	SAMBA_LDAPS_URI=ldaps://$SAMBA_HOST
	SAMBA_TLS_CA=$SAMBA_DIR/private/tls/ca.pem
	SAMBA_LOG=$SAMBA_DIR/samba.log
	SAMBA_ADMIN_PW_FILE=$SAMBA_DIR/admin.pw
	SAMBA_SVC_PW_FILE=$SAMBA_DIR/svc.pw
	SAMBA_LOOKUP_PW_FILE=$SAMBA_DIR/lookup.pw
	export SAMBA_DIR SAMBA_IP SAMBA_URI SAMBA_LDAPS_URI SAMBA_TLS_CA \
	    SAMBA_LOG SAMBA_ADMIN_PW_FILE SAMBA_SVC_PW_FILE SAMBA_LOOKUP_PW_FILE
	(umask 077; printf '%s' "$SAMBA_ADMIN_PW" >"$SAMBA_ADMIN_PW_FILE";
	    printf '%s' "$_SAMBA_SVC_PW" >"$SAMBA_SVC_PW_FILE";
	    printf '%s' "$_SAMBA_USER_PW" >"$SAMBA_LOOKUP_PW_FILE")

	if [ "${_SAMBA_NS:-}" = 1 ]; then
		{
			printf '%s %s %s\n' "$SAMBA_IP" "$SAMBA_HOST" dc1
			cat /etc/hosts
		} >"$SAMBA_DIR/hosts"
		mount --bind "$SAMBA_DIR/hosts" /etc/hosts ||
		    _samba_fail "mount --bind of a private /etc/hosts failed"
	fi

	if ! samba-tool domain provision --targetdir="$SAMBA_DIR" \
	    --realm="$SAMBA_REALM" --domain="$SAMBA_DOMAIN" --server-role=dc \
	    --dns-backend=NONE --host-name=dc1 --adminpass="$SAMBA_ADMIN_PW" \
	    --option="interfaces=$SAMBA_IP" --option="bind interfaces only=yes" \
	    --option="server services=ldap cldap kdc" \
	    --option="log file=$SAMBA_DIR/log.%m" \
	    >"$SAMBA_DIR/provision.log" 2>&1; then
		_samba_fail "samba-tool domain provision failed:" \
		    "$SAMBA_DIR/provision.log"
	fi
	# Not kept by provision from --option: add them to [global].
	mkdir -p "$SAMBA_DIR/run"
	sed -i "s|^\[global\]\$|[global]\n\tldap server require strong auth = no\n\tpid directory = $SAMBA_DIR/run|" \
	    "$SAMBA_DIR/etc/smb.conf"

	samba -s "$SAMBA_DIR/etc/smb.conf" -i -M single --debug-stdout \
	    >"$SAMBA_LOG" 2>&1 </dev/null &
	_SAMBA_PID=$!
	_i=0
	until ldapsearch -x -H "$SAMBA_URI" -b '' -s base -o nettimeout=2 \
	    '(objectClass=*)' defaultNamingContext >/dev/null 2>&1 &&
	    [ -s "$SAMBA_TLS_CA" ]; do
		kill -0 "$_SAMBA_PID" 2>/dev/null ||
		    _samba_fail "samba exited during start:" "$SAMBA_LOG"
		[ "$_i" -ge 300 ] &&
		    _samba_fail "samba does not answer on $SAMBA_URI after 30 s:" "$SAMBA_LOG"
		sleep 0.1
		_i=$((_i + 1))
	done

	samba_tool ou create "$SAMBA_PEOPLE" &&
	    samba_tool ou create "$SAMBA_FORMER" &&
	    samba_tool ou create "$SAMBA_SERVICES" ||
	    _samba_fail "creating the OUs failed"
	samba_tool user create smimepub "$_SAMBA_SVC_PW" \
	    --userou="${SAMBA_SERVICES%,"$SAMBA_BASE"}" ||
	    _samba_fail "creating the service account failed"
	samba_tool user create lookup "$_SAMBA_USER_PW" \
	    --userou="${SAMBA_SERVICES%,"$SAMBA_BASE"}" ||
	    _samba_fail "creating the lookup account failed"
	samba_delegate_certs "$SAMBA_PEOPLE" ||
	    _samba_fail "delegating the certificate attributes failed"
	for _u in alice bob carol; do
		samba_user_create "$_u" "$_u@example.com" ||
		    _samba_fail "creating $_u failed"
	done
	samba_user_create dup1 dup@example.com &&
	    samba_user_create dup2 dup@example.com ||
	    _samba_fail "creating dup1/dup2 failed"
}
