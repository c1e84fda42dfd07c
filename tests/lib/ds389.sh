# ds389.sh — a private 389 Directory Server (Debian's 389-ds-base, 2.3) for
# the tests, without systemd, everything below $DS389_DIR, on loopback only:
# ldap://127.0.0.1:21390 (StartTLS) and ldaps://127.0.0.1:21637 (fixed
# ports: run one at a time). Needs root (ns-slapd drops to user dirsrv).
#
# How it is made to work (adapted from ../shared/peers/ds389-up.sh):
#  * dscreate/lib389 take their paths from defaults.inf under $PREFIX: we
#    write a private one (all state below $DS389_DIR, with_systemd = 0) and
#    run dscreate with PREFIX=$DS389_DIR; it also needs etc/dirsrv/schema
#    and config copied from /etc/dirsrv.
#  * every parent directory must be traversable by user dirsrv (0755), or
#    ns-slapd fails after a 60 s timeout.
#  * dscreate's ports bind every interface: nsslapd-listenhost and the
#    TLS port are patched into dse.ldif while the server is stopped.
#  * dscreate's self-signed certificate names only "localhost": we install
#    our own (SAN IP:127.0.0.1) into the NSS database.
#  * an entry without entryUUID is made with the entryuuid plugin off (it
#    cannot be deleted from an entry), then the plugin is turned back on.
#
# ds389_start: creates and starts it with people alice, bob, carol, frank
# (mail @example.com), dave (no mail) and erin (no entryUUID), the accounts
# cn=publisher and cn=lookup under ou=services with the ACIs of docs/389ds.md.
# 1 and the reason on stderr if it cannot start. ds389_stop stops it.
DS389_PORT=21390
DS389_TLS_PORT=21637
DS389_PW='Passw0rd!Dm'
DS389_BASE=dc=example,dc=com
DS389_PEOPLE=ou=People,$DS389_BASE
DS389_SERVICES=ou=services,$DS389_BASE
DS389_PUB_DN=cn=publisher,$DS389_SERVICES
DS389_LK_DN=cn=lookup,$DS389_SERVICES
DS389_URI=ldap://127.0.0.1:$DS389_PORT
DS389_LDAPS_URI=ldaps://127.0.0.1:$DS389_TLS_PORT
DS389_INST=tb

_ds389_err() {
	printf 'ds389.sh: %s\n' "$*" >&2
}

# ldap_dm CMD ARGS...: as cn=Directory Manager over ldaps.
ldap_dm() {
	_c=$1
	shift
	LDAPTLS_CACERT=$DS389_DIR/tls/ca.pem "$_c" -x -H "$DS389_LDAPS_URI" \
	    -D "cn=Directory Manager" -w "$DS389_PW" "$@"
}

_ds389_prefix() {
	_d=$DS389_DIR
	mkdir -p "$_d/share/dirsrv/inf" "$_d/etc/dirsrv" "$_d/etc/default" \
	    "$_d/run/dirsrv" "$_d/run/lock/dirsrv" "$_d/var/lib/dirsrv" \
	    "$_d/var/log/dirsrv" "$_d/lib/dirsrv" "$_d/tmp" "$_d/dev/shm" "$_d/tls"
	for _x in "$_d" "$_d/share" "$_d/share/dirsrv" "$_d/share/dirsrv/inf" \
	    "$_d/etc" "$_d/etc/dirsrv" "$_d/etc/default" "$_d/run" "$_d/run/lock" \
	    "$_d/var" "$_d/var/lib" "$_d/var/log" "$_d/lib" "$_d/dev" "$_d/dev/shm"; do
		chmod 755 "$_x"
	done
	# and the parents of $DS389_DIR (mktemp makes them 0700)
	_x=$(dirname "$_d")
	while [ "$_x" != / ]; do
		chmod o+x "$_x" 2>/dev/null || :
		_x=$(dirname "$_x")
	done
	chown dirsrv:dirsrv "$_d/run/dirsrv" "$_d/run/lock/dirsrv" \
	    "$_d/var/lib/dirsrv" "$_d/var/log/dirsrv" "$_d/lib/dirsrv"
	chmod 1777 "$_d/tmp"
	cp -a /etc/dirsrv/schema /etc/dirsrv/config "$_d/etc/dirsrv/"
	sed -e "s|^with_systemd = 1|with_systemd = 0|" \
	    -e "s|^sysconf_dir = /etc|sysconf_dir = $_d/etc|" \
	    -e "s|^initconfig_dir = /etc/default|initconfig_dir = $_d/etc/default|" \
	    -e "s|= /etc/dirsrv/|= $_d/etc/dirsrv/|" \
	    -e "s|^local_state_dir = /var|local_state_dir = $_d/var|" \
	    -e "s|= /run/|= $_d/run/|" -e "s|= /var/log/dirsrv/|= $_d/var/log/dirsrv/|" \
	    -e "s|= /var/lib/dirsrv/|= $_d/var/lib/dirsrv/|" \
	    -e "s|^db_home_dir = /dev/shm/|db_home_dir = $_d/dev/shm/|" \
	    -e "s|^tmpfiles_d = /etc/tmpfiles.d|tmpfiles_d = $_d/etc/tmpfiles.d|" \
	    -e "s|^inst_dir = .*|inst_dir = $_d/lib/dirsrv/|" \
	    -e "s|^tmp_dir = /tmp|tmp_dir = $_d/tmp|" \
	    /usr/share/dirsrv/inf/defaults.inf >"$_d/share/dirsrv/inf/defaults.inf"
	cat >"$_d/instance.inf" <<EOI
[general]
config_version = 2
full_machine_name = localhost
selinux = False
systemd = False
start = False
strict_host_checking = False
[slapd]
instance_name = $DS389_INST
port = $DS389_PORT
secure_port = $DS389_TLS_PORT
root_dn = cn=Directory Manager
root_password = $DS389_PW
self_sign_cert = True
[backend-userroot]
sample_entries = yes
suffix = $DS389_BASE
create_suffix_entry = True
EOI
}

# Our CA and server certificate into the instance's NSS database.
_ds389_tls() {
	_c=$DS389_CONF
	(
		cd "$DS389_DIR/tls" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/O=Test/CN=Test 389ds CA" \
		    -keyout ca.key -out ca.pem -addext basicConstraints=critical,CA:TRUE \
		    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null &&
		openssl req -newkey rsa:2048 -nodes -subj "/O=Test/CN=localhost" \
		    -keyout server.key -out server.csr 2>/dev/null &&
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' >server.ext &&
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
		    -days 3650 -extfile server.ext -out server.pem 2>/dev/null &&
		openssl pkcs12 -export -inkey server.key -in server.pem -name Test-Server-Cert \
		    -passout pass:p12 -out server.p12
	) || return 1
	certutil -A -d "sql:$_c" -n "Test-CA" -t "CT,," -a -i "$DS389_DIR/tls/ca.pem" \
	    -f "$_c/pwdfile.txt" || return 1
	pk12util -i "$DS389_DIR/tls/server.p12" -d "sql:$_c" -k "$_c/pwdfile.txt" \
	    -W p12 >/dev/null || return 1
	chown dirsrv:dirsrv "$_c"/*.db
	sed -i 's|^nsSSLPersonalitySSL: Server-Cert$|nsSSLPersonalitySSL: Test-Server-Cert|' "$_c/dse.ldif"
}

# _ds389_run: start ns-slapd (it daemonizes) and wait until it answers.
_ds389_run() {
	/usr/sbin/ns-slapd -D "$DS389_CONF" -i "$DS389_PIDF" >>"$DS389_DIR/ns-slapd.out" 2>&1 || {
		tail -5 "$DS389_DIR/var/log/dirsrv/slapd-$DS389_INST/errors" >&2
		_ds389_err "ns-slapd did not start"
		return 1
	}
	_i=0
	while [ $_i -lt 300 ]; do
		LDAPTLS_CACERT=$DS389_DIR/tls/ca.pem ldapsearch -x -H "$DS389_LDAPS_URI" \
		    -b "" -s base >/dev/null 2>&1 && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	tail -5 "$DS389_DIR/var/log/dirsrv/slapd-$DS389_INST/errors" >&2
	_ds389_err "ns-slapd does not answer on $DS389_LDAPS_URI"
	return 1
}

# ds389_stop: stop ns-slapd by the pid in its pid file, wait for it.
ds389_stop() {
	[ -n "${DS389_PIDF:-}" ] && [ -s "$DS389_PIDF" ] || return 0
	_p=$(cat "$DS389_PIDF")
	if kill -0 "$_p" 2>/dev/null &&
	    tr '\0' ' ' <"/proc/$_p/cmdline" | grep -q "ns-slapd -D $DS389_CONF"; then
		kill -TERM "$_p"
		_i=0
		while kill -0 "$_p" 2>/dev/null && [ $_i -lt 300 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
		kill -0 "$_p" 2>/dev/null && kill -KILL "$_p"
	fi
	rm -f "$DS389_PIDF"
}

# _ds389_plugin NAME on|off: while stopped.
_ds389_plugin() {
	sed -i "/^dn: cn=$1,cn=plugins,cn=config\$/,/^\$/ s/^nsslapd-pluginEnabled: .*/nsslapd-pluginEnabled: $2/" \
	    "$DS389_CONF/dse.ldif"
}

_ds389_person() {
	printf 'dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s Example\nsn: Example\n' \
	    "$1" "$DS389_PEOPLE" "$1" "$1"
	[ -z "${2:-}" ] || printf 'mail: %s\n' "$2"
	printf '\n'
}

# The ACIs of docs/389ds.md: the sync writer reads the people (with the
# id, modifyTimestamp and nsAccountLock) and writes the two certificate
# attributes; the lookup reader reads the mail and the certificates.
_ds389_data() {
	{
		# ou=services is one of dscreate's sample entries
		printf 'dn: %s\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: publisher\nuserPassword: publisher\n\n' "$DS389_PUB_DN"
		printf 'dn: %s\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: lookup\nuserPassword: lookup\n\n' "$DS389_LK_DN"
		for _u in alice bob carol frank; do
			_ds389_person $_u $_u@example.com
		done
		_ds389_person dave
	} | ldap_dm ldapadd >/dev/null || return 1
	ldap_dm ldapmodify >/dev/null <<EOL
dn: $DS389_PEOPLE
changetype: modify
add: aci
aci: (targetattr="objectClass || cn || displayName || mail || entryUUID || nsUniqueId || modifyTimestamp || nsAccountLock || userCertificate || userSMIMECertificate")(targetfilter="(objectClass=inetOrgPerson)")(version 3.0; acl "smimepub-sync reads people"; allow (read, search, compare)(userdn="ldap:///$DS389_PUB_DN");)
aci: (targetattr="userCertificate || userSMIMECertificate")(targetfilter="(objectClass=inetOrgPerson)")(version 3.0; acl "smimepub-sync publishes"; allow (write)(userdn="ldap:///$DS389_PUB_DN");)
aci: (targetattr="objectClass || cn || displayName || mail || userCertificate || userSMIMECertificate")(targetfilter="(objectClass=inetOrgPerson)")(version 3.0; acl "smimepub-lookupd reads certificates"; allow (read, search, compare)(userdn="ldap:///$DS389_LK_DN");)
EOL
}

ds389_start() {
	for _x in dscreate certutil pk12util ns-slapd; do
		command -v "$_x" >/dev/null 2>&1 || [ -x "/usr/sbin/$_x" ] || {
			_ds389_err "$_x not found: install 389-ds-base libnss3-tools (scripts/deps.sh)"
			return 1
		}
	done
	[ "$(id -u)" = 0 ] || { _ds389_err "needs root (ns-slapd drops to user dirsrv)"; return 1; }
	DS389_CONF=$DS389_DIR/etc/dirsrv/slapd-$DS389_INST
	DS389_PIDF=$DS389_DIR/run/dirsrv/slapd-$DS389_INST.pid
	if ss -Htln 2>/dev/null | awk '{ print $4 }' | grep -Eq ":($DS389_PORT|$DS389_TLS_PORT)\$"; then
		_ds389_err "port $DS389_PORT or $DS389_TLS_PORT is taken (another 389-ds test running?)"
		return 1
	fi
	_ds389_prefix || return 1
	PREFIX=$DS389_DIR dscreate -v from-file "$DS389_DIR/instance.inf" >"$DS389_DIR/dscreate.log" 2>&1 || {
		tail -20 "$DS389_DIR/dscreate.log" >&2
		_ds389_err "dscreate failed"
		return 1
	}
	sed -i "s|^nsslapd-port: $DS389_PORT\$|nsslapd-port: $DS389_PORT\nnsslapd-listenhost: 127.0.0.1\nnsslapd-securePort: $DS389_TLS_PORT\nnsslapd-securelistenhost: 127.0.0.1\nnsslapd-security: on|" \
	    "$DS389_CONF/dse.ldif"
	_ds389_tls || { _ds389_err "cannot install the TLS certificate"; return 1; }
	# erin is made while the entryuuid plugin is off: no entryUUID
	_ds389_plugin entryuuid off
	_ds389_run || return 1
	_ds389_person erin erin@example.com | ldap_dm ldapadd >/dev/null || return 1
	ds389_stop
	_ds389_plugin entryuuid on
	_ds389_run || return 1
	_ds389_data || { _ds389_err "cannot add the test data"; return 1; }
}
