#!/bin/sh
# bench_keypool.sh — issue 4: a burst of N rsa:3072 new hires added to the
# directory at once while smimepub-sync runs as a daemon (syncrepl
# refreshAndPersist, and polling every second), without and with a key pool
# (keys.pool_size = N, waited for until full). The time is from just before
# the ldapadd of the N people until every one of them holds a certificate.
# Standalone: starts its own slapd (tests/lib/slapd.sh); appends (or
# replaces) the section "## Key pool: ..." of $BENCH_OUT. Every run must end
# with all N published, or the benchmark fails; no figure is asserted.
#
#   BUILD          build directory (default build)
#   BENCH_POOL_N   people in the burst, and the pool's size (default 200)
#   BENCH_OUT      the report (default docs/BENCHMARKS.md)
set -eu
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
B=$SRCDIR/$BUILD
N=${BENCH_POOL_N:-200}
OUT=${BENCH_OUT:-$SRCDIR/docs/BENCHMARKS.md}
KT=rsa:3072
. "$SRCDIR/tests/lib/slapd.sh"

for p in "$B/smimepub" "$B/smimepub-sync"; do
	[ -x "$p" ] || { echo "bench: $p is missing (make all)" >&2; exit 2; }
done

W=$(mktemp -d)
KPID=
slapd_cleanup_add '[ -n "$KPID" ] && kill -9 "$KPID" 2>/dev/null; rm -rf "$W"'
SLAPD_SYNCPROV=1
export SLAPD_SYNCPROV
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
# what was measured: the tree as the run starts (others may commit meanwhile)
REV="$(git -C "$SRCDIR" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$SRCDIR" diff --quiet HEAD -- sync common 2>/dev/null || echo ' (with uncommitted changes in sync/ or common/)')"
slapd_start

now() { date +%s.%N; }
HZ=$(getconf CLK_TCK)
# cpu PID: user + system seconds of PID (all its threads) so far
cpu() { awk -v hz="$HZ" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# published PREFIX: how many PREFIXnnnn people hold a certificate
published() {
	ldap_root ldapsearch -LLL -b "$SLAPD_PEOPLE" \
	    "(&(uid=$1*)(userCertificate;binary=*))" 1.1 | grep -c '^dn:' || true
}
# wait_log FILE TEXT SECS: until FILE has TEXT; 1 on timeout
wait_log() {
	_end=$(($(date +%s) + $3))
	until grep -qF "$2" "$1"; do
		[ "$(date +%s)" -lt "$_end" ] || return 1
		sleep 0.2
	done
}

# run NAME POOL: one daemon, one burst of N people uid=NAMEnnnn (its own
# state, CA and delivery dir; directory.filter limits it to its people);
# prints "seconds fill_seconds cpu_seconds" (cpu: the daemon's, during the
# burst)
run() {
	d=$W/$1
	mkdir -p "$d"
	cat >"$d/smimepub.conf" <<EOC
directory = {
  uri = "$SLAPD_URI";
  bind_dn = "$SLAPD_SVC_DN";
  bind_password_file = "$SLAPD_SVC_PW_FILE";
  base = "$SLAPD_PEOPLE";
  filter = "(&(objectClass=inetOrgPerson)(uid=$1*))";
};
ca = { driver = "local"; local = { dir = "$d/ca"; key_type = "ec:P-256"; }; };
keys = { type = "$KT"; delivery_dir = "$d/delivery"; pkcs12_iterations = 10000;
  pool_size = $2; discard_passphrase = true; };
sync = { state_dir = "$d/state"; interval = 3600; watch_interval = 1; };
EOC
	"$B/smimepub" -f "$d/smimepub.conf" ca init >/dev/null 2>&1
	_i=1
	while [ "$_i" -le "$N" ]; do
		printf 'dn: uid=%s%04d,%s\nobjectClass: inetOrgPerson\nuid: %s%04d\ncn: Burst %d\nsn: Burst\nmail: %s%04d@example.com\n\n' \
		    "$1" "$_i" "$SLAPD_PEOPLE" "$1" "$_i" "$_i" "$1" "$_i"
		_i=$((_i + 1))
	done >"$d/people.ldif"
	_s0=$(now)
	"$B/smimepub-sync" -f "$d/smimepub.conf" --foreground >"$d/sync.log" 2>&1 &
	KPID=$!
	wait_log "$d/sync.log" "pass done" 60 || { echo "bench: $1: no first pass" >&2; exit 1; }
	_fill=-
	if [ "$2" -gt 0 ]; then
		echo "bench: $1: waiting for $2 $KT keys in the pool" >&2
		wait_log "$d/sync.log" "key pool: $2 $KT keys ready" $(($2 * 5 + 60)) || {
			echo "bench: $1: the pool did not fill" >&2
			tail -n 5 "$d/sync.log" >&2
			exit 1
		}
		_fill=$(secs "$_s0" "$(now)")
	fi
	echo "bench: $1: a burst of $N $KT people (keys.pool_size = $2)" >&2
	_c0=$(cpu "$KPID")
	_t0=$(now)
	ldap_root ldapadd -f "$d/people.ldif" >/dev/null
	_end=$(($(date +%s) + N * 5 + 120))
	until [ "$(published "$1")" -ge "$N" ]; do
		if [ "$(date +%s)" -ge "$_end" ]; then
			echo "bench: $1: only $(published "$1") of $N published" >&2
			tail -n 20 "$d/sync.log" >&2
			exit 1
		fi
		sleep 0.2
	done
	_t1=$(now)
	_c1=$(cpu "$KPID")
	kill -TERM "$KPID"
	wait "$KPID" || :
	KPID=
	echo "$(secs "$_t0" "$_t1") $_fill $(secs "$_c0" "$_c1")"
}

R0=$(run kpa 0)
R1=$(run kpb "$N")
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
set -- $R0
S0=$1
C0=$3
set -- $R1
S1=$1
FILL=$2
C1=$3
echo "bench: pool 0: $S0 s ($C0 s CPU); pool $N: $S1 s ($C1 s CPU; filled in $FILL s)" >&2

CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
row() {
	awk -v p="$1" -v s="$2" -v c="$3" -v n="$N" -v s0="$S0" 'BEGIN {
	    printf "| %s | %.2f | %.1f | %.2f | %.2f | %.3f |\n", p, s, n / s,
	    s0 / s, c, c / n }'
}
# the section, replacing one from an earlier run
[ -f "$OUT" ] || : >"$OUT"
# (and no trailing blank lines: the section starts with one)
awk '/^## Key pool: / { skip = 1; next } /^## / { skip = 0 } skip { next }
    /^$/ { blank = blank "\n"; next } { printf "%s", blank; blank = ""; print }' \
    "$OUT" >"$OUT.tmp"
{
	cat <<EOF

## Key pool: a burst of $N $KT people

- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); load average $LOAD0 before, $LOAD1 after
- machine: $(nproc) CPUs (nproc), $CPU_MODEL; slapd on the same machine, over loopback
- software: $(openssl version), smimepub at $REV, \`$BUILD/\`

| keys.pool_size | seconds | people/s | speed-up | daemon CPU s | CPU s/person |
|---:|---:|---:|---:|---:|---:|
EOF
	row 0 "$S0" "$C0"
	row "$N" "$S1" "$C1"
	cat <<EOF

seconds: from just before one \`ldapadd\` of $N new inetOrgPerson entries
until all $N hold \`userCertificate;binary\`, with \`smimepub-sync\` running as
a daemon that learns of them by syncrepl refreshAndPersist (slapd with
syncprov; polling every second as well). people/s is $N over that;
speed-up is the pool-less time over this row's. daemon CPU s is the
user + system time of smimepub-sync (all threads, from /proc/PID/stat)
over the same interval: on a shared machine it moves less than the
wall-clock figures. The pool-less burst is CPU-bound (two workers
generating RSA keys), so other load on the machine slows it far more than
the burst with the pool: when the load average above is high, the
wall-clock speed-up overstates what a quiet machine sees, and the CPU
columns are the figures to compare. With the pool, the daemon
was first left until it logged "key pool: $N $KT keys ready": $FILL s
after it started, one nice-19 thread generating while no pass ran (about
a core's worth of RSA key generation per key, paid in idle time instead of
during the burst). Everything else per person is the same in both rows:
CSR, local CA (ec:P-256 CA key), checks, PKCS#12 with
\`keys.pkcs12_iterations = 10000\` (the minimum, so that the PKCS#12's key
derivation does not hide the key generation), journal, publish;
\`sync.workers = 0\` (one per core).

Commands (\`BUILD=$BUILD BENCH_POOL_N=$N sh scripts/bench_keypool.sh\`):

\`\`\`
# smimepub.conf (one per run, fresh state_dir, CA and delivery_dir):
#   directory.filter = "(&(objectClass=inetOrgPerson)(uid=RUN*))";
#   ca = { driver = "local"; local = { key_type = "ec:P-256"; }; };
#   keys = { type = "$KT"; pkcs12_iterations = 10000; pool_size = 0 or $N; };
#   sync = { interval = 3600; watch_interval = 1; };
$BUILD/smimepub -f smimepub.conf ca init
$BUILD/smimepub-sync -f smimepub.conf --foreground &
#   (pool_size = $N: wait for "key pool: $N $KT keys ready" in its log)
ldapadd -x -H ldap://127.0.0.1:PORT -D $SLAPD_ROOT_DN -y root.pw -f people.ldif
#   $N entries uid=RUNnnnn,$SLAPD_PEOPLE, mail RUNnnnn@example.com;
#   then every 0.2 s: ldapsearch "(&(uid=RUN*)(userCertificate;binary=*))"
#   until $N entries are returned
\`\`\`
EOF
} >>"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "bench: wrote the key pool section of $OUT" >&2
sed -n '/^## Key pool: /,/^seconds:/p' "$OUT" | sed -n '/^| /p'
