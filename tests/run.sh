#!/bin/sh
# Run every test: the check unit tests, then the integration tests (each
# starts its own real servers on loopback). Prints one closing line,
# "N passed, N failed", and exits non-zero if anything failed.
set -u
BUILD=${BUILD:-build}
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
export BUILD SRCDIR
cd "$SRCDIR" || exit 2
# Third-party leaks only; each one is explained in the file.
LSAN_OPTIONS="suppressions=$SRCDIR/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS

pass=0
fail=0
failed=""
run() {
	name=$1
	shift
	echo "=== $name"
	_t0=$(date +%s)
	if "$@"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "=== FAILED: $name"
	fi
	# so the next person sees where make check's minutes go
	echo "=== $name: $(($(date +%s) - _t0)) s"
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run "unit/$(basename "$t")" "$t"
done
# Fuzz targets: seeds from tests/fuzz/seeds/NAME/, then bounded mutations.
for t in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	run "fuzz/$name" sh -c '"$1" "${FUZZ_ITERS:-20000}" $(ls tests/fuzz/seeds/"$2"/* 2>/dev/null) 2>/dev/null' \
	    sh "$t" "${name#fuzz_}"
done
for t in tests/integration/*.sh; do
	[ -e "$t" ] || continue
	run "integration/$(basename "$t" .sh)" sh "$t"
done

echo "=== suites failed:${failed:- none}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
