# slapd.sh -- a throwaway OpenLDAP slapd on loopback for integration tests.
# POSIX sh, safe under `set -eu`. Runs as root (as the tests do); starts no
# system service and listens only on 127.0.0.1 and a socket in its temp dir.
#
#   . "$SRCDIR/tests/lib/slapd.sh"
#   slapd_cleanup_add 'rm -rf "$mytmp"'   # optional: your own cleanup
#   slapd_start                           # installs the EXIT/INT/TERM trap
#   ldap_root ldapsearch -LLL -b "$SLAPD_PEOPLE" '(mail=alice@example.com)' cn
#
# slapd_start installs `trap ... EXIT` (and INT, TERM, HUP, which exit 130/143/129
# through the EXIT trap) that stops slapd and removes its directory even when a
# test fails. Do NOT set your own EXIT trap after slapd_start (it would replace
# ours); register extra cleanup with slapd_cleanup_add CMD instead (commands
# run in order, before slapd is stopped; the exit status is preserved).
#
# After slapd_start these are exported:
#   SLAPD_DIR           temp dir (config, db, certs, log slapd.log, pid file)
#   SLAPD_URI           ldap://127.0.0.1:PORT
#   SLAPD_LDAPS_URI     ldaps://127.0.0.1:PORT
#   SLAPD_LDAPI_URI     ldapi://%2F...%2Fldapi   (SASL EXTERNAL as root = manage)
#   SLAPD_HOST          127.0.0.1
#   SLAPD_PORT          the ldap:// port;  SLAPD_LDAPS_PORT the ldaps:// port
#   SLAPD_BASE          dc=example,dc=com
#   SLAPD_PEOPLE        ou=people,dc=example,dc=com
#   SLAPD_SERVICES      ou=services,dc=example,dc=com
#   SLAPD_ROOT_DN       cn=admin,dc=example,dc=com (rootdn, bypasses ACLs)
#   SLAPD_ROOT_PW       its password;  SLAPD_ROOT_PW_FILE the same in a file
#   SLAPD_SVC_DN        cn=smimepub,ou=services,dc=example,dc=com
#   SLAPD_SVC_PW_FILE   its password, mode 0600, no trailing newline
#   SLAPD_LOOKUP_DN     cn=lookup,ou=services,dc=example,dc=com (read-only)
#   SLAPD_LOOKUP_PW_FILE
#   SLAPD_TLS_CA        PEM of the CA that signed the server certificate
#   SLAPD_BAD_CA        PEM of an unrelated CA (did not sign the server)
#   SLAPD_LOG           slapd's stderr: errors only (slapd -d none); set
#                       SLAPD_DEBUG (e.g. stats, -1) before slapd_start for more
#
# Access control (database dc=example,dc=com):
#   - userPassword: auth only (self may change it).
#   - under ou=people: userCertificate, userSMIMECertificate, smimepubStatus,
#     smimepubStatusTime are writable by SLAPD_SVC_DN; all else read-only.
#   - SLAPD_SVC_DN may create/modify/delete entries BELOW its own entry
#     (e.g. a lease entry cn=lease,cn=smimepub,ou=services,dc=example,dc=com).
#   - everyone (anonymous too) may read everything else; root over ldapi
#     (SASL EXTERNAL) has manage on cn=config and on the data.
# Sample people under ou=people (inetOrgPerson with uid, cn, sn, displayName, mail):
#   uid=alice alice@example.com, uid=bob bob@example.com,
#   uid=carol carol@example.com, uid=dup1 and uid=dup2 both dup@example.com.
#
# Other functions:
#   slapd_stop           stop slapd, remove SLAPD_DIR (idempotent)
#   ldap_root CMD ARGS   run an ldap* tool bound as the rootdn against SLAPD_URI
#   ldap_svc  CMD ARGS   the same, bound as SLAPD_SVC_DN
#   ldap_lookup CMD ARGS the same, bound as SLAPD_LOOKUP_DN
#   ldap_ext  CMD ARGS   the same, SASL EXTERNAL over SLAPD_LDAPI_URI (quiet)
#   slapd_people_dn UID  -> uid=UID,ou=people,dc=example,dc=com
#
# Set SLAPD_SYNCPROV=1 before slapd_start for the syncprov overlay
# (syncrepl refreshAndPersist, RFC 4533).
#
# Two providers in multi-provider replication (set SLAPD_SYNCPROV=1 and
# SLAPD_SERVER_ID=1 before slapd_start):
#   slapd_second 2        # another slapd, olcServerID 2, no data of its own;
#                         # its settings as SLAPD2_URI, SLAPD2_DIR,
#                         # SLAPD2_LDAPI_URI, SLAPD2_ROOT_PW_FILE, SLAPD2_PORT,
#                         # SLAPD2_LOG; stopped at exit like the first
#   slapd_multiprovider LDAPI_URI RID PROVIDER_URI ROOT_PW_FILE
#                         # that instance replicates from PROVIDER_URI (bound
#                         # as its rootdn) and accepts writes: olcMultiProvider
#   ldap_root2 CMD ARGS   # ldap_root against the second instance

SLAPD_BASE=dc=example,dc=com
SLAPD_PEOPLE=ou=people,$SLAPD_BASE
SLAPD_SERVICES=ou=services,$SLAPD_BASE
SLAPD_ROOT_DN=cn=admin,$SLAPD_BASE
SLAPD_SVC_DN=cn=smimepub,$SLAPD_SERVICES
SLAPD_LOOKUP_DN=cn=lookup,$SLAPD_SERVICES
SLAPD_HOST=127.0.0.1
export SLAPD_BASE SLAPD_PEOPLE SLAPD_SERVICES SLAPD_ROOT_DN SLAPD_SVC_DN \
    SLAPD_LOOKUP_DN SLAPD_HOST

_SLAPD_CLEANUP=
_SLAPD_PID=
SLAPD_DIR=

# slapd_cleanup_add CMD: run the shell command CMD at exit (before slapd stops).
slapd_cleanup_add() {
	_SLAPD_CLEANUP="$_SLAPD_CLEANUP
$1"
}

_slapd_on_exit() {
	_slapd_rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$_SLAPD_CLEANUP" ]; then
		eval "$_SLAPD_CLEANUP" || :
	fi
	slapd_stop || :
	exit "$_slapd_rc"
}

_slapd_install_trap() {
	trap _slapd_on_exit EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

_slapd_err() {
	printf 'slapd.sh: %s\n' "$*" >&2
}

# slapd_stop: kill slapd (by its pid), wait for it, remove SLAPD_DIR.
slapd_stop() {
	_slapd_kill "$_SLAPD_PID" "$SLAPD_DIR"
	_SLAPD_PID=
	SLAPD_DIR=
}

# _slapd_kill PID DIR: stop that slapd (PID, else DIR's pid file), remove DIR.
_slapd_kill() {
	_p=$1
	if [ -z "$_p" ] && [ -n "$2" ] && [ -s "$2/slapd.pid" ]; then
		_p=$(cat "$2/slapd.pid")
	fi
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
	if [ -n "$2" ] && [ -d "$2" ]; then
		rm -rf "$2"
	fi
}

# _slapd_free_ports N: print N distinct TCP ports that nothing listens on,
# drawn at random from 10000-31999 (below Linux's ephemeral range). Another
# process may still take one before slapd binds: _slapd_launch then retries.
_slapd_free_ports() {
	_used=$(ss -Htln 2>/dev/null | awk '{ sub(/.*:/, "", $4); print $4 }') || _used=
	_out=
	_n=0
	while [ "$_n" -lt "$1" ]; do
		_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' \n')
		_pp=$((10000 + _r % 22000))
		case " $_out " in *" $_pp "*) continue ;; esac
		if printf '%s\n' "$_used" | grep -qx "$_pp"; then
			continue
		fi
		_out="$_out $_pp"
		_n=$((_n + 1))
	done
	printf '%s\n' "${_out# }"
}

# _slapd_urlencode PATH: percent-encode what an ldapi:// URL cannot hold.
_slapd_urlencode() {
	printf '%s' "$1" |
	    sed 's/%/%25/g; s|/|%2F|g; s/ /%20/g; s/:/%3A/g; s/?/%3F/g; s/#/%23/g; s/,/%2C/g'
}

# _slapd_tls DIR: test CA, server certificate for 127.0.0.1/localhost, bad CA.
_slapd_tls() {
	_d=$1
	_ec='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'
	# shellcheck disable=SC2086
	openssl req -x509 $_ec -keyout "$_d/ca.key" -out "$_d/ca.pem" -days 2 \
	    -subj "/CN=smimepub test LDAP CA" \
	    -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || return 1
	# shellcheck disable=SC2086
	openssl req -x509 $_ec -keyout "$_d/badca.key" -out "$_d/badca.pem" -days 2 \
	    -subj "/CN=smimepub test LDAP CA" \
	    -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || return 1
	# shellcheck disable=SC2086
	openssl req -x509 $_ec -keyout "$_d/server.key" -out "$_d/server.pem" -days 2 \
	    -CA "$_d/ca.pem" -CAkey "$_d/ca.key" -subj "/CN=127.0.0.1" \
	    -addext basicConstraints=critical,CA:FALSE \
	    -addext keyUsage=critical,digitalSignature \
	    -addext extendedKeyUsage=serverAuth \
	    -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null || return 1
	chmod 0600 "$_d/ca.key" "$_d/badca.key" "$_d/server.key"
}

_slapd_secret() {
	# $1 file; writes a fresh random password without a newline, mode 0600
	( umask 077 && openssl rand -hex 16 | tr -d '\n' >"$1" )
}

_slapd_config_ldif() {
	_d=$1
	_uid=$(id -u)
	_gid=$(id -g)
	_peer="gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth"
	_me="gidNumber=$_gid+uidNumber=$_uid,cn=peercred,cn=external,cn=auth"
	_mgr="by dn.exact=\"$_peer\" manage"
	if [ "$_me" != "$_peer" ]; then
		_mgr="$_mgr by dn.exact=\"$_me\" manage"
	fi
	_rootpw=$(slappasswd -s "$SLAPD_ROOT_PW") || return 1
	cat <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $_d/slapd.pid
olcArgsFile: $_d/slapd.args
olcTLSCACertificateFile: $_d/ca.pem
olcTLSCertificateFile: $_d/server.pem
olcTLSCertificateKeyFile: $_d/server.key
olcTLSProtocolMin: 3.3
${SLAPD_SERVER_ID:+olcServerID: $SLAPD_SERVER_ID}

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
${SLAPD_SYNCPROV:+olcModuleLoad: syncprov}

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

include: file:///etc/ldap/schema/cosine.ldif

include: file:///etc/ldap/schema/inetorgperson.ldif

# mailLocalAddress (inetLocalMailRecipient): the alias attribute of the
# tests of directory.alias_attributes
include: file:///etc/ldap/schema/misc.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 5000

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * $_mgr by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $SLAPD_BASE
olcRootDN: $SLAPD_ROOT_DN
olcRootPW: $_rootpw
olcDbDirectory: $_d/db
olcDbMaxSize: 268435456
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
olcDbIndex: mail eq
olcDbIndex: mailLocalAddress eq
olcDbIndex: entryUUID eq
olcLastMod: TRUE
olcAccess: {0}to attrs=userPassword $_mgr by self =xw by anonymous auth by * none
olcAccess: {1}to dn.subtree="$SLAPD_PEOPLE" attrs=userCertificate,userSMIMECertificate $_mgr by dn.exact="$SLAPD_SVC_DN" write by * read
olcAccess: {2}to dn.children="$SLAPD_SVC_DN" $_mgr by dn.exact="$SLAPD_SVC_DN" write by * read
olcAccess: {3}to dn.base="$SLAPD_SVC_DN" attrs=children $_mgr by dn.exact="$SLAPD_SVC_DN" write by * read
olcAccess: {4}to * $_mgr by * read
LDIF
	# SLAPD_SYNCPROV=1 before slapd_start: the syncprov overlay, so
	# clients can use syncrepl refreshAndPersist (RFC 4533)
	if [ -n "${SLAPD_SYNCPROV:-}" ]; then
		cat <<LDIF

dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {0}syncprov
LDIF
	fi
}

_slapd_data_ldif() {
	_svcpw=$(slappasswd -T "$SLAPD_SVC_PW_FILE") || return 1
	_lkpw=$(slappasswd -T "$SLAPD_LOOKUP_PW_FILE") || return 1
	cat <<LDIF
dn: $SLAPD_BASE
objectClass: dcObject
objectClass: organization
dc: example
o: Example Corp

dn: $SLAPD_PEOPLE
objectClass: organizationalUnit
ou: people

dn: $SLAPD_SERVICES
objectClass: organizationalUnit
ou: services

dn: $SLAPD_SVC_DN
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: smimepub
description: smimepub-sync service account
userPassword: $_svcpw

dn: $SLAPD_LOOKUP_DN
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: lookup
description: smimepub-lookupd read-only account
userPassword: $_lkpw
LDIF
	for _p in "alice Alice Liddell" "bob Bob Builder" "carol Carol Danvers" \
	    "dup1 Dup One" "dup2 Dup Two"; do
		# shellcheck disable=SC2086
		set -- $_p
		case $1 in
		dup*) _m=dup@example.com ;;
		*) _m=$1@example.com ;;
		esac
		cat <<LDIF

dn: uid=$1,$SLAPD_PEOPLE
objectClass: inetOrgPerson
uid: $1
cn: $2 $3
sn: $3
givenName: $2
displayName: $2 $3
mail: $_m
LDIF
	done
}

# _slapd_launch: pick ports, start slapd, wait until it answers.
# Returns 0 when up, 2 if the ports were taken (retry), 1 on other failure.
_slapd_launch() {
	_ports=$(_slapd_free_ports 2) || return 1
	SLAPD_PORT=${_ports% *}
	SLAPD_LDAPS_PORT=${_ports#* }
	SLAPD_URI=ldap://127.0.0.1:$SLAPD_PORT
	SLAPD_LDAPS_URI=ldaps://127.0.0.1:$SLAPD_LDAPS_PORT
	: >"$SLAPD_LOG"
	rm -f "$SLAPD_DIR/slapd.pid"
	slapd -F "$SLAPD_DIR/slapd.d" -d "${SLAPD_DEBUG:-none}" \
	    -h "$SLAPD_URI/ $SLAPD_LDAPS_URI/ $SLAPD_LDAPI_URI/" \
	    </dev/null >>"$SLAPD_LOG" 2>&1 &
	_SLAPD_PID=$!
	_i=0
	while [ "$_i" -lt 200 ]; do
		if ! kill -0 "$_SLAPD_PID" 2>/dev/null; then
			wait "$_SLAPD_PID" 2>/dev/null || :
			_SLAPD_PID=
			if grep -q 'bind(.*failed\|Address already in use' "$SLAPD_LOG"; then
				return 2
			fi
			return 1
		fi
		if ldapsearch -x -H "$SLAPD_URI" -o nettimeout=1 -b '' -s base \
		    -LLL 1.1 >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
		_i=$((_i + 1))
	done
	_slapd_err "slapd did not answer on $SLAPD_URI within 10 s"
	return 1
}

# slapd_start: create, configure, start and populate a test slapd.
slapd_start() {
	_slapd_install_trap
	_slapd_create
}

# slapd_test_start: what most tests begin with: T, a temporary directory
# removed at exit, and a started slapd.
slapd_test_start() {
	T=$(mktemp -d)
	slapd_cleanup_add 'rm -rf "$T"'
	slapd_start
}

# slapd_conf_directory: the opening of a smimepub.conf directory block for
# this slapd (its URI, the service account, the people OU as base), for a
# here-document: "$(slapd_conf_directory)", then the test's own directory
# settings and the closing "};".
slapd_conf_directory() {
	printf 'directory = {\n  uri = "%s";\n  bind_dn = "%s";\n' \
	    "$SLAPD_URI" "$SLAPD_SVC_DN"
	printf '  bind_password_file = "%s";\n  base = "%s";\n' \
	    "$SLAPD_SVC_PW_FILE" "$SLAPD_PEOPLE"
}

_slapd_create() {
	SLAPD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/slapd.XXXXXX") || return 1
	SLAPD_LOG=$SLAPD_DIR/slapd.log
	_sock=$SLAPD_DIR/ldapi
	if [ "${#_sock}" -gt 100 ]; then
		_slapd_err "socket path too long ($_sock): set a shorter TMPDIR"
		return 1
	fi
	SLAPD_LDAPI_URI=ldapi://$(_slapd_urlencode "$_sock") || return 1
	mkdir "$SLAPD_DIR/slapd.d" "$SLAPD_DIR/db"

	SLAPD_ROOT_PW_FILE=$SLAPD_DIR/root.pw
	SLAPD_SVC_PW_FILE=$SLAPD_DIR/svc.pw
	SLAPD_LOOKUP_PW_FILE=$SLAPD_DIR/lookup.pw
	_slapd_secret "$SLAPD_ROOT_PW_FILE"
	_slapd_secret "$SLAPD_SVC_PW_FILE"
	_slapd_secret "$SLAPD_LOOKUP_PW_FILE"
	SLAPD_ROOT_PW=$(cat "$SLAPD_ROOT_PW_FILE")

	if ! _slapd_tls "$SLAPD_DIR"; then
		_slapd_err "could not make the test TLS certificates"
		return 1
	fi
	SLAPD_TLS_CA=$SLAPD_DIR/ca.pem
	SLAPD_BAD_CA=$SLAPD_DIR/badca.pem

	_slapd_config_ldif "$SLAPD_DIR" >"$SLAPD_DIR/config.ldif" || return 1
	if ! slapadd -n0 -F "$SLAPD_DIR/slapd.d" -l "$SLAPD_DIR/config.ldif" \
	    >"$SLAPD_DIR/slapadd.log" 2>&1; then
		_slapd_err "slapadd -n0 failed:"
		cat "$SLAPD_DIR/slapadd.log" >&2
		return 1
	fi

	export SLAPD_DIR SLAPD_LOG SLAPD_LDAPI_URI SLAPD_ROOT_PW SLAPD_ROOT_PW_FILE \
	    SLAPD_SVC_PW_FILE SLAPD_LOOKUP_PW_FILE SLAPD_TLS_CA SLAPD_BAD_CA

	_try=0
	while :; do
		_rc=0
		_slapd_launch || _rc=$?
		[ "$_rc" -eq 0 ] && break
		_try=$((_try + 1))
		if [ "$_rc" -ne 2 ] || [ "$_try" -ge 5 ]; then
			_slapd_err "slapd failed to start; its log:"
			cat "$SLAPD_LOG" >&2
			return 1
		fi
	done
	export SLAPD_PORT SLAPD_LDAPS_PORT SLAPD_URI SLAPD_LDAPS_URI

	# The smimepub schema (this is also the test that the LDIF loads), then
	# the ACL letting the service account write the status attributes.
	if ! ldap_ext ldapadd -f "${SRCDIR:-.}/schema/smimepub.ldif" >"$SLAPD_DIR/setup.log" 2>&1 ||
	    ! ldap_ext ldapmodify >>"$SLAPD_DIR/setup.log" 2>&1 <<LDIF
dn: olcDatabase={1}mdb,cn=config
changetype: modify
add: olcAccess
olcAccess: {2}to dn.subtree="$SLAPD_PEOPLE" attrs=smimepubStatus,smimepubStatusTime by dn.exact="gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth" manage by dn.exact="$SLAPD_SVC_DN" write by * read
LDIF
	then
		_slapd_err "loading schema/smimepub.ldif failed:"
		cat "$SLAPD_DIR/setup.log" >&2
		return 1
	fi
	# a second provider gets its data by replication (slapd_second)
	[ -z "${_SLAPD_NO_DATA:-}" ] || return 0
	_slapd_data_ldif >"$SLAPD_DIR/data.ldif" || return 1
	if ! ldap_root ldapadd -f "$SLAPD_DIR/data.ldif" >>"$SLAPD_DIR/setup.log" 2>&1; then
		_slapd_err "adding the sample entries failed:"
		cat "$SLAPD_DIR/setup.log" >&2
		return 1
	fi
}

# ldap_root CMD ARGS...: e.g. ldap_root ldapsearch -LLL -b "$SLAPD_PEOPLE" '(mail=x)' cn
ldap_root() {
	_c=$1
	shift
	"$_c" -x -H "$SLAPD_URI" -D "$SLAPD_ROOT_DN" -y "$SLAPD_ROOT_PW_FILE" "$@"
}

ldap_svc() {
	_c=$1
	shift
	"$_c" -x -H "$SLAPD_URI" -D "$SLAPD_SVC_DN" -y "$SLAPD_SVC_PW_FILE" "$@"
}

ldap_lookup() {
	_c=$1
	shift
	"$_c" -x -H "$SLAPD_URI" -D "$SLAPD_LOOKUP_DN" -y "$SLAPD_LOOKUP_PW_FILE" "$@"
}

ldap_ext() {
	_c=$1
	shift
	"$_c" -Q -Y EXTERNAL -H "$SLAPD_LDAPI_URI" "$@"
}

slapd_people_dn() {
	printf 'uid=%s,%s\n' "$1" "$SLAPD_PEOPLE"
}

# slapd_pid: the pid of the running slapd (empty when none).
slapd_pid() {
	if [ -n "$_SLAPD_PID" ]; then
		echo "$_SLAPD_PID"
	elif [ -s "$SLAPD_DIR/slapd.pid" ]; then
		cat "$SLAPD_DIR/slapd.pid"
	fi
}

# slapd_pause: an outage. Stop slapd (TERM, KILL after 5 s) but keep
# SLAPD_DIR, its database and its ports: slapd_resume starts the same
# instance again. Clients see their connections closed and new ones refused.
slapd_pause() {
	_p=$_SLAPD_PID
	if [ -z "$_p" ] && [ -s "$SLAPD_DIR/slapd.pid" ]; then
		_p=$(cat "$SLAPD_DIR/slapd.pid")
	fi
	[ -n "$_p" ] || return 0
	kill -TERM "$_p" 2>/dev/null || :
	_i=0
	while kill -0 "$_p" 2>/dev/null && [ "$_i" -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	kill -KILL "$_p" 2>/dev/null || :
	wait "$_p" 2>/dev/null || :
	_SLAPD_PID=
}

# slapd_resume: start the instance slapd_pause stopped, on the same ports
# (SLAPD_URI etc. stay valid), and wait (10 s) until it answers.
slapd_resume() {
	rm -f "$SLAPD_DIR/slapd.pid"
	slapd -F "$SLAPD_DIR/slapd.d" -d "${SLAPD_DEBUG:-none}" \
	    -h "$SLAPD_URI/ $SLAPD_LDAPS_URI/ $SLAPD_LDAPI_URI/" \
	    </dev/null >>"$SLAPD_LOG" 2>&1 &
	_SLAPD_PID=$!
	_i=0
	while [ "$_i" -lt 200 ]; do
		if ! kill -0 "$_SLAPD_PID" 2>/dev/null; then
			wait "$_SLAPD_PID" 2>/dev/null || :
			_SLAPD_PID=
			_slapd_err "slapd did not start again on $SLAPD_URI; its log:"
			tail -n 20 "$SLAPD_LOG" >&2
			return 1
		fi
		if ldapsearch -x -H "$SLAPD_URI" -o nettimeout=1 -b '' -s base \
		    -LLL 1.1 >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
		_i=$((_i + 1))
	done
	_slapd_err "slapd did not answer again on $SLAPD_URI within 10 s"
	return 1
}

# slapd_second SERVER_ID: a second slapd (after slapd_start), with the
# syncprov overlay and olcServerID SERVER_ID, holding no data until it
# replicates (slapd_multiprovider). The first instance's SLAPD_* stay as
# they were; the second's are SLAPD2_*. The service account's password is
# the first's (it is an entry, and entries come by replication).
slapd_second() {
	_s1="$_SLAPD_PID|$SLAPD_DIR|$SLAPD_LOG|$SLAPD_LDAPI_URI|$SLAPD_ROOT_PW|$SLAPD_ROOT_PW_FILE|$SLAPD_SVC_PW_FILE|$SLAPD_LOOKUP_PW_FILE|$SLAPD_TLS_CA|$SLAPD_BAD_CA|$SLAPD_PORT|$SLAPD_LDAPS_PORT|$SLAPD_URI|$SLAPD_LDAPS_URI"
	_SLAPD_PID=
	_rc=0
	_s2="${SLAPD_SYNCPROV:-}|${SLAPD_SERVER_ID:-}"
	_SLAPD_NO_DATA=1 SLAPD_SYNCPROV=1 SLAPD_SERVER_ID=$1
	_slapd_create || _rc=$?
	_SLAPD_NO_DATA=
	IFS='|' read -r SLAPD_SYNCPROV SLAPD_SERVER_ID <<EOV
$_s2
EOV
	SLAPD2_PID=$_SLAPD_PID SLAPD2_DIR=$SLAPD_DIR SLAPD2_LOG=$SLAPD_LOG
	SLAPD2_LDAPI_URI=$SLAPD_LDAPI_URI SLAPD2_ROOT_PW_FILE=$SLAPD_ROOT_PW_FILE
	SLAPD2_PORT=$SLAPD_PORT SLAPD2_URI=$SLAPD_URI
	export SLAPD2_PID SLAPD2_DIR SLAPD2_LOG SLAPD2_LDAPI_URI \
	    SLAPD2_ROOT_PW_FILE SLAPD2_PORT SLAPD2_URI
	slapd_cleanup_add '_slapd_kill "$SLAPD2_PID" "$SLAPD2_DIR"'
	IFS='|' read -r _SLAPD_PID SLAPD_DIR SLAPD_LOG SLAPD_LDAPI_URI \
	    SLAPD_ROOT_PW SLAPD_ROOT_PW_FILE SLAPD_SVC_PW_FILE \
	    SLAPD_LOOKUP_PW_FILE SLAPD_TLS_CA SLAPD_BAD_CA SLAPD_PORT \
	    SLAPD_LDAPS_PORT SLAPD_URI SLAPD_LDAPS_URI <<EOV
$_s1
EOV
	return "$_rc"
}

# slapd_multiprovider LDAPI_URI RID PROVIDER_URI ROOT_PW_FILE: the instance
# at LDAPI_URI replicates the data from PROVIDER_URI (refreshAndPersist,
# retried every second) and takes writes of its own (olcMultiProvider).
slapd_multiprovider() {
	_pw=$(cat "$4")
	ldapmodify -Q -Y EXTERNAL -H "$1" >/dev/null <<LDIF
dn: olcDatabase={1}mdb,cn=config
changetype: modify
add: olcSyncrepl
olcSyncrepl: rid=$2 provider=$3 bindmethod=simple binddn="$SLAPD_ROOT_DN" credentials=$_pw searchbase="$SLAPD_BASE" type=refreshAndPersist retry="1 +" timeout=3 network-timeout=3 keepalive=5:2:1
-
add: olcMultiProvider
olcMultiProvider: TRUE
LDIF
}

ldap_root2() {
	_c=$1
	shift
	"$_c" -x -H "$SLAPD2_URI" -D "$SLAPD_ROOT_DN" -y "$SLAPD2_ROOT_PW_FILE" "$@"
}
