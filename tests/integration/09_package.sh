#!/bin/sh
# The Debian packages: dpkg-buildpackage -us -uc -b in a copy of the tree
# (the build tree is left as it is), their contents, lintian without errors,
# then installed on this machine: the smimepub user and directories made,
# systemd-analyze verify on the installed units, smimepub --version; then
# purged. Builds everything once more (a few minutes on 2 busy cores): only
# in the plain pass, not under SANITIZE=1.
set -u
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
cd "$SRCDIR" || exit 2

if [ "$BUILD" != build ]; then
	echo "# skipped in the $BUILD pass: the package build compiles the tree"
	echo "# again without sanitizers; it runs once, when BUILD=build"
	t_done
fi
for c in dpkg-buildpackage dh lintian systemd-analyze; do
	if ! command -v $c >/dev/null 2>&1; then
		t_fail "$c is installed (scripts/deps.sh)" true
		t_done
	fi
done

tmp=$(mktemp -d)
pkgs="smimepub smimepub-lookupd smimepub-common"
apt_opts="-y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0"
cleanup() {
	DEBIAN_FRONTEND=noninteractive apt-get purge $apt_opts $pkgs >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/src"
tar -cf - --exclude=./build --exclude=./build-san --exclude=./.git . |
    tar -xf - -C "$tmp/src"
before=$(git status --porcelain 2>/dev/null; ls)
t_ok "dpkg-buildpackage -us -uc -b" sh -c \
    'cd "$1/src" && DEB_BUILD_OPTIONS="parallel=2 noautodbgsym" dpkg-buildpackage -us -uc -b >"$1/build.log" 2>&1' \
    sh "$tmp" || sed -n '$p' "$tmp/build.log"
t_eq "the build tree is untouched" "$(git status --porcelain 2>/dev/null; ls)" "$before"
t_contains "the build used dpkg-buildflags' CFLAGS" "$(cat "$tmp/build.log")" "-ffile-prefix-map="
t_eq "no -Werror in the package build" "$(grep ' -c ' "$tmp/build.log" | grep -E -- '-Werror( |$)')" ""

v=$(dpkg-parsechangelog -l debian/changelog -S Version)
arch=$(dpkg --print-architecture)
deb() { echo "$tmp/${1}_${v}_$2.deb"; }
for p in smimepub smimepub-lookupd; do
	t_ok "$p package built" test -f "$(deb $p "$arch")"
done
t_ok "smimepub-common package built" test -f "$(deb smimepub-common all)"
c=$(dpkg-deb -c "$(deb smimepub "$arch")" | awk '{print $6}')
for f in ./usr/sbin/smimepub ./usr/sbin/smimepub-sync \
    ./lib/systemd/system/smimepub-sync.service ./usr/lib/sysusers.d/smimepub.conf \
    ./usr/lib/tmpfiles.d/smimepub.conf ./etc/logrotate.d/smimepub \
    ./usr/share/man/man8/smimepub-sync.8.gz; do
	t_contains "smimepub holds $f" "$c" "$f
"
done
t_not_contains "smimepub holds no lookupd" "$c" "smimepub-lookupd"
c=$(dpkg-deb -c "$(deb smimepub-lookupd "$arch")" | awk '{print $6}')
t_contains "smimepub-lookupd holds the daemon" "$c" "./usr/sbin/smimepub-lookupd"
t_contains "smimepub-lookupd holds its unit" "$c" "./lib/systemd/system/smimepub-lookupd.service"
t_not_contains "smimepub-lookupd holds no sync service" "$c" "smimepub-sync"
t_not_contains "smimepub-lookupd holds no CLI" "$c" "./usr/sbin/smimepub
"
c=$(dpkg-deb -c "$(deb smimepub-common all)" | awk '{print $6}')
t_contains "smimepub-common holds smimepub.conf(5)" "$c" "./usr/share/man/man5/smimepub.conf.5.gz"
t_contains "smimepub-common holds the schema" "$c" "./usr/share/smimepub/schema/smimepub.schema"

lintian --tag-display-limit 0 "$tmp"/smimepub_*.changes >"$tmp/lintian.log" 2>&1
t_eq "lintian: no errors" "$(grep '^E:' "$tmp/lintian.log")" ""
sed -n 's/^/# lintian: /p' "$tmp/lintian.log"

t_ok "the packages install" env DEBIAN_FRONTEND=noninteractive apt-get install $apt_opts \
    --no-install-recommends "$(deb smimepub "$arch")" "$(deb smimepub-lookupd "$arch")" \
    "$(deb smimepub-common all)"
t_ok "the smimepub user exists" getent passwd smimepub
t_eq "/var/lib/smimepub/state: 0700 smimepub" \
    "$(stat -c '%a %U' /var/lib/smimepub/state 2>&1)" "700 smimepub"
t_ok "systemd-analyze verify the installed units" systemd-analyze verify \
    /lib/systemd/system/smimepub-sync.service /lib/systemd/system/smimepub-lookupd.service
t_ok "smimepub --version" /usr/sbin/smimepub --version
t_contains "it is this version" "$T_OUT" "$v"
t_ok "smimepub-lookupd --version" /usr/sbin/smimepub-lookupd --version
t_ok "the packages purge" env DEBIAN_FRONTEND=noninteractive apt-get purge $apt_opts $pkgs
t_fail "nothing left in /usr/sbin" test -e /usr/sbin/smimepub-sync
t_fail "no unit left" test -e /lib/systemd/system/smimepub-sync.service
t_done
