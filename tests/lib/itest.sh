# itest.sh — what every integration test begins with, sourced first:
#   set -eu
#   . "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
# SRCDIR (the checkout; tests/run.sh runs from it), BUILD (build, or
# build-san under SANITIZE=1), the programs under test (SMIMEPUB, SYNC,
# LOOKUPD) and the assertions of testlib.sh.
SRCDIR=${SRCDIR:-$(pwd)}
BUILD=${BUILD:-build}
SMIMEPUB=$SRCDIR/$BUILD/smimepub
SYNC=$SRCDIR/$BUILD/smimepub-sync
LOOKUPD=$SRCDIR/$BUILD/smimepub-lookupd
. "$SRCDIR/tests/lib/testlib.sh"
