#!/bin/sh
# The directory client (ldap/) against a real slapd: runs $BUILD/tests/dir_itest
# (tests/helpers/dir_itest.c, check-based) with the harness's values in its
# environment, then checks from the outside, with ldapsearch as the rootdn,
# what it left on the entries. slapd is stopped by the harness's trap whatever
# happens.
set -eu
SRCDIR=${SRCDIR:-$(pwd)}
BUILD=${BUILD:-build}
ITEST=$SRCDIR/$BUILD/tests/dir_itest
. "$SRCDIR/tests/lib/testlib.sh"
. "$SRCDIR/tests/lib/slapd.sh"

if [ ! -x "$ITEST" ]; then
	echo "20_dir: $ITEST is missing (make BUILD=$BUILD $BUILD/tests/dir_itest)" >&2
	exit 1
fi

slapd_start
DIR_ITEST_TMP=$SLAPD_DIR/itest
mkdir "$DIR_ITEST_TMP"   # removed with SLAPD_DIR
export DIR_ITEST_TMP SLAPD_PEOPLE SLAPD_ROOT_DN SLAPD_ROOT_PW SLAPD_SVC_DN

# check forks a child per test; CK_DEFAULT_TIMEOUT bounds each one.
t_ok "dir_itest (check suite against slapd)" env CK_DEFAULT_TIMEOUT=60 "$ITEST"
printf '%s\n' "$T_OUT" | sed -n '/^[0-9]*%: Checks/p; /:[EF]:/p; /: error: /s/^/# /p'

# From the outside: what the suite left behind.
vals() { # UID ATTR: number of values of ATTR on UID
	ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$(slapd_people_dn "$1")" -s base \
	    '(objectClass=*)' "$2" | grep -c "^$2:" || :
}
t_eq "alice: one userCertificate;binary" "$(vals alice 'userCertificate;binary')" 1
t_eq "alice: one userSMIMECertificate" "$(vals alice userSMIMECertificate)" 1
t_eq "bob: only the foreign userCertificate;binary left" "$(vals bob 'userCertificate;binary')" 1
t_eq "bob: only the two foreign userSMIMECertificate values left" \
    "$(vals bob userSMIMECertificate)" 2
t_eq "dup1/dup2: nothing written" \
    "$(vals dup1 'userCertificate;binary')$(vals dup2 'userCertificate;binary')" 00
t_done
