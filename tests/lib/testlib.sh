# testlib.sh -- a tiny assertion library for shell integration tests.
# POSIX sh, safe under `set -eu`. Source it, call assertions, end with t_done:
#
#   . "$SRCDIR/tests/lib/testlib.sh"
#   t_ok "server answers" ldapsearch -x -H "$URI" -b '' -s base
#   t_fail "bad CA is refused" ldapsearch ...        # expects non-zero
#   t_exit "usage error exits 2" 2 prog --bogus       # expects that exit code
#   t_eq "two entries" "$n" 2
#   t_contains "error names the attribute" "$out" "no equality matching rule"
#   t_not_contains "no secret in the log" "$log" "s3cret"
#   t_done                                            # "N passed, N failed"
#
# Every assertion prints one line, "ok - NAME" or "not ok - NAME", followed on
# failure by a few "#"-prefixed detail lines. t_done prints exactly one closing
# line "N passed, N failed" and exits non-zero if anything failed.
# Commands run by t_ok/t_fail/t_exit have stdout and stderr captured; the last
# output of a command is kept in $T_OUT (t_ok, t_fail, t_exit) for follow-up checks.

T_PASS=0
T_FAIL=0
T_OUT=

# _t_detail TEXT: print TEXT (at most 15 lines) as "#   " comment lines.
_t_detail() {
	printf '%s\n' "$1" | sed -n '1,15s/^/#   /p'
}

_t_pass() {
	T_PASS=$((T_PASS + 1))
	printf 'ok - %s\n' "$1"
}

_t_failed() {
	T_FAIL=$((T_FAIL + 1))
	printf 'not ok - %s\n' "$1"
	shift
	for _t_d in "$@"; do
		_t_detail "$_t_d"
	done
}

# _t_run CMD...: run CMD, output into T_OUT, exit status into T_RC.
_t_run() {
	T_RC=0
	T_OUT=$("$@" 2>&1) || T_RC=$?
}

# t_ok NAME CMD...: CMD must exit 0.
t_ok() {
	_t_name=$1
	shift
	_t_run "$@"
	if [ "$T_RC" -eq 0 ]; then
		_t_pass "$_t_name"
	else
		_t_failed "$_t_name" "exit $T_RC from: $*" "$T_OUT"
	fi
}

# t_fail NAME CMD...: CMD must exit non-zero.
t_fail() {
	_t_name=$1
	shift
	_t_run "$@"
	if [ "$T_RC" -ne 0 ]; then
		_t_pass "$_t_name"
	else
		_t_failed "$_t_name" "expected failure, got exit 0 from: $*" "$T_OUT"
	fi
}

# t_exit NAME CODE CMD...: CMD must exit with status CODE.
t_exit() {
	_t_name=$1
	_t_want=$2
	shift 2
	_t_run "$@"
	if [ "$T_RC" -eq "$_t_want" ]; then
		_t_pass "$_t_name"
	else
		_t_failed "$_t_name" "expected exit $_t_want, got $T_RC from: $*" "$T_OUT"
	fi
}

# t_eq NAME GOT WANT: the two strings must be equal.
t_eq() {
	if [ "$2" = "$3" ]; then
		_t_pass "$1"
	else
		_t_failed "$1" "got:  $2" "want: $3"
	fi
}

# t_ne NAME GOT UNWANTED: the two strings must differ.
t_ne() {
	if [ "$2" != "$3" ]; then
		_t_pass "$1"
	else
		_t_failed "$1" "got the unwanted value: $2"
	fi
}

# t_contains NAME HAYSTACK NEEDLE: NEEDLE must occur in HAYSTACK (fixed string).
t_contains() {
	case $2 in
	*"$3"*) _t_pass "$1" ;;
	*) _t_failed "$1" "missing: $3" "in: $2" ;;
	esac
}

# t_not_contains NAME HAYSTACK NEEDLE: NEEDLE must not occur in HAYSTACK.
t_not_contains() {
	case $2 in
	*"$3"*) _t_failed "$1" "unexpected: $3" "in: $2" ;;
	*) _t_pass "$1" ;;
	esac
}

# t_skip NAME REASON: counted as passed, reported as skipped.
t_skip() {
	T_PASS=$((T_PASS + 1))
	printf 'ok - %s # SKIP %s\n' "$1" "$2"
}

# t_done: print the closing line and exit (1 if anything failed).
t_done() {
	printf '%s passed, %s failed\n' "$T_PASS" "$T_FAIL"
	[ "$T_FAIL" -eq 0 ] || exit 1
	exit 0
}
