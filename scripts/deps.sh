#!/bin/sh
# Install, noninteractively, the Debian 12 packages that building and testing
# smimepub need, when they are missing. Called by `make check` and `make demo`.
# libsystemd-dev: sd_notify (Type=notify units). prometheus: only for its
# promtool, which checks docs/alerts.yml and the scraped metrics
# (tests/integration/67_sync_metrics.sh); it is heavy: 28.5 MB downloaded,
# 333 MB installed (mostly the web UI's JavaScript), about 1 min here.
# libldns-dev: RFC 2136 UPDATE and TSIG for dns.zones; bind9, knot and their
# dnsutils: the DNS servers tests/integration/71_dns_*.sh update.
# libidn2-dev: a Unicode domain asked of lookupd is looked up in its IDNA2008
# A-label form. python3-jsonschema, python3-yaml: tests/openapi_check.py
# validates lookupd's answers against docs/openapi.yaml.
set -eu

PKGS="build-essential pkg-config openssl
libssl-dev libldap2-dev libconfig-dev check liblmdb-dev lmdb-utils
libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev
slapd ldap-utils groff-base man-db
golang-cfssl sqlite3 curl python3 certmonger
samba samba-dsdb-modules samba-ad-provision samba-vfs-modules winbind
libsasl2-dev libsasl2-modules-gssapi-mit
gpgsm dirmngr ldnsutils strace
wrk nginx-light
389-ds-base libnss3-tools
dpkg-dev debhelper fakeroot lintian systemd logrotate
libsystemd-dev prometheus
libldns-dev bind9 bind9-dnsutils knot knot-dnsutils
libidn2-dev python3-jsonschema python3-yaml"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing Debian packages:$missing" >&2
	echo "deps.sh: run as root, or: apt-get install$missing" >&2
	exit 2
fi

echo "deps.sh: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# The tests start their own slapd on a loopback port; keep the package's
# postinst from starting a system slapd on the wildcard address :389,
# which would also stop a Samba AD DC from binding there.
prc=/usr/sbin/policy-rc.d
made_prc=0
if [ ! -e "$prc" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$prc"
	chmod 0755 "$prc"
	made_prc=1
fi
trap '[ "$made_prc" = 1 ] && rm -f "$prc"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
