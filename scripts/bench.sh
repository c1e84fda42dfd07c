#!/bin/sh
# make bench: enrolments per second with the local CA, against a baseline
# measured in the same invocation, written to docs/BENCHMARKS.md.
#
# A throwaway slapd on loopback gets N people (bench001...). For each key
# type, three runs over the same N people, each starting from entries
# without certificates:
#   baseline  per person `openssl req -newkey` + `openssl x509 -req` (signed
#             by a CA of the same key type as the local CA) + one
#             `ldapmodify` writing userCertificate;binary
#   enrol     `smimepub enrol MAIL` in a loop (one process per person)
#   sync      one `smimepub-sync --once` over the same people, fresh state
# Every run must end with each person's certificate on the entry, or the
# benchmark fails; no figure is asserted. Wall-clock times of a machine
# shared with others: the baseline runs in the same invocation so that the
# ratios, not the absolute figures, are what to compare.
#
#   BENCH_N       people for ec:P-256 (default 50)
#   BENCH_N_RSA   people for rsa:3072 (default 20: RSA key generation alone
#                 takes about a second of CPU per key here)
#   BENCH_OUT     the report (default docs/BENCHMARKS.md)
#   BENCH_PARTS   which of the later parts run: "lookupd sync keypool"
set -eu
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
B=$SRCDIR/$BUILD
N_EC=${BENCH_N:-50}
N_RSA=${BENCH_N_RSA:-20}
OUT=${BENCH_OUT:-$SRCDIR/docs/BENCHMARKS.md}
. "$SRCDIR/tests/lib/slapd.sh"

for p in "$B/smimepub" "$B/smimepub-sync"; do
	[ -x "$p" ] || { echo "bench: $p is missing (make all)" >&2; exit 2; }
done

W=$(mktemp -d)
slapd_cleanup_add 'rm -rf "$W"'
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
slapd_start
NMAX=$N_EC
[ "$N_RSA" -gt "$NMAX" ] && NMAX=$N_RSA
echo "bench: slapd at $SLAPD_URI, adding $NMAX people" >&2

uid() { printf 'bench%03d' "$1"; }
i=1
while [ "$i" -le "$NMAX" ]; do
	u=$(uid "$i")
	printf 'dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: Bench Person %d\nsn: Person %d\ndisplayName: Bench Person %d\nmail: %s@example.com\n\n' \
	    "$u" "$SLAPD_PEOPLE" "$u" "$i" "$i" "$i" "$u"
	i=$((i + 1))
done >"$W/people.ldif"
ldap_root ldapadd -f "$W/people.ldif" >/dev/null

# clear: no certificate on any bench entry (rootdn, -c: absent is fine)
clear_certs() {
	_i=1
	while [ "$_i" -le "$NMAX" ]; do
		printf 'dn: uid=%s,%s\nchangetype: modify\ndelete: userCertificate;binary\n-\ndelete: userSMIMECertificate\n\n' \
		    "$(uid "$_i")" "$SLAPD_PEOPLE"
		_i=$((_i + 1))
	done >"$W/clear.ldif"
	ldap_root ldapmodify -c -f "$W/clear.ldif" >/dev/null 2>&1 || :
}
# published N: how many of the first N bench people hold a userCertificate
published() {
	ldap_root ldapsearch -LLL -b "$SLAPD_PEOPLE" \
	    '(&(uid=bench*)(userCertificate;binary=*))' uid |
	    sed -n 's/^uid: bench0*//p' | awk -v n="$1" '$1 <= n' | wc -l
}
now() { date +%s.%N; }
# cpu: user + system seconds of this shell's finished children so far
# (times(1) into a file: in a subshell it would count the subshell's only)
# into CPU; call it as is, not in $(...)
cpu() {
	times >"$W/times"
	CPU=$(sed -n 2p "$W/times" | awk '{ split($1, a, /[ms]/); split($2, b, /[ms]/);
	    printf "%.3f", a[1] * 60 + a[2] + b[1] * 60 + b[2] }')
}
# cpp N C0 C1: CPU seconds per person
cpp() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.3f", (b - a) / n }'; }
# rate N T0 T1: "seconds people/s"
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.2f %.1f", b - a, n / (b - a) }'; }
check() {
	_got=$(published "$2")
	if [ "$_got" -ne "$2" ]; then
		echo "bench: $1: only $_got of $2 people hold a certificate" >&2
		exit 1
	fi
}

# conf DIR NAME STATE DELIVERY KEYTYPE FILTER [ITERATIONS]: DIR/NAME.conf
conf() {
	cat >"$1/$2.conf" <<EOC
directory = {
  uri = "$SLAPD_URI";
  bind_dn = "$SLAPD_SVC_DN";
  bind_password_file = "$SLAPD_SVC_PW_FILE";
  base = "$SLAPD_PEOPLE";
  filter = "(&(objectClass=inetOrgPerson)$6)";
};
ca = { driver = "local"; local = { dir = "$1/ca"; key_type = "$5"; }; };
keys = { type = "$5"; delivery_dir = "$1/$4";${7:+ pkcs12_iterations = $7;} discard_passphrase = true; };
sync = { state_dir = "$1/$3"; };
EOC
}

# sync_run NAME KEYTYPE N: one smimepub-sync --once with $d/NAME.conf over
# entries without certificates; prints "seconds people/s"
sync_run() {
	clear_certs
	echo "bench: $2 smimepub-sync --once ($1) over $3 people" >&2
	cpu
	_c0=$CPU
	_t0=$(now)
	"$B/smimepub-sync" -f "$d/$1.conf" --once >>"$d/$1.log" 2>&1 || {
		echo "bench: smimepub-sync --once failed:" >&2
		tail -n 20 "$d/$1.log" >&2
		exit 1
	}
	_t1=$(now)
	cpu
	_c1=$CPU
	check "$2 smimepub-sync --once ($1)" "$3"
	echo "$(rate "$3" "$_t0" "$_t1") $(cpp "$3" "$_c0" "$_c1")"
}

# row KEY N PATH SECONDS RATE CPU BASE_RATE BASE_CPU: one line of the table
row() {
	awk -v k="$1" -v n="$2" -v p="$3" -v s="$4" -v r="$5" -v c="$6" \
	    -v br="$7" -v bc="$8" 'BEGIN { printf "| %s | %s | %s | %s | %s | %.2f | %s | %.2f |\n",
	    k, n, p, s, r, r / br, c, (c > 0 ? bc / c : 0) }'
}

RESULTS=
# run KEYTYPE N
run() {
	kt=$1
	n=$2
	tag=$(echo "$kt" | tr ':' '-')
	case $kt in
	ec:*) alg="-newkey ec -pkeyopt ec_paramgen_curve:${kt#ec:}"
	      ku=digitalSignature,keyAgreement ;;
	rsa:*) alg="-newkey rsa:${kt#rsa:}"
	       ku=digitalSignature,keyEncipherment ;;
	esac
	d=$W/$tag
	mkdir -p "$d/base"

	# --- baseline: openssl req + openssl x509 -req + ldapmodify --------
	# shellcheck disable=SC2086
	openssl req -x509 $alg -nodes -keyout "$d/base/ca.key" -out "$d/base/ca.pem" \
	    -days 30 -subj "/CN=bench baseline CA" \
	    -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
	clear_certs
	echo "bench: $kt baseline over $n people" >&2
	cpu
	c0=$CPU
	t0=$(now)
	i=1
	while [ "$i" -le "$n" ]; do
		u=$(uid "$i")
		# shellcheck disable=SC2086
		openssl req $alg -nodes -keyout "$d/base/$u.key" -out "$d/base/$u.csr" \
		    -subj "/CN=Bench Person $i" 2>/dev/null
		printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,%s\nextendedKeyUsage=emailProtection\nsubjectAltName=email:%s@example.com\n' \
		    "$ku" "$u" >"$d/base/$u.ext"
		openssl x509 -req -in "$d/base/$u.csr" -CA "$d/base/ca.pem" \
		    -CAkey "$d/base/ca.key" -days 365 -sha256 -extfile "$d/base/$u.ext" \
		    -outform DER -out "$d/base/$u.der" 2>/dev/null
		printf 'dn: uid=%s,%s\nchangetype: modify\nreplace: userCertificate;binary\nuserCertificate;binary:< file://%s\n' \
		    "$u" "$SLAPD_PEOPLE" "$d/base/$u.der" |
		    ldap_svc ldapmodify >/dev/null
		i=$((i + 1))
	done
	t1=$(now)
	cpu
	c1=$CPU
	check "$kt baseline" "$n"
	base="$(rate "$n" "$t0" "$t1") $(cpp "$n" "$c0" "$c1")"
	rm -f "$d"/base/*.key

	# --- smimepub enrol in a loop ----------------------------------------
	# the runs cover exactly the first n people: bench001...
	filt="(|"
	i=1
	while [ "$i" -le "$n" ]; do
		filt="$filt(uid=$(uid "$i"))"
		i=$((i + 1))
	done
	filt="$filt)"
	conf "$d" smimepub state delivery "$kt" "$filt"
	conf "$d" sync sync.state sync.delivery "$kt" "$filt"
	conf "$d" sync10k sync10k.state sync10k.delivery "$kt" "$filt" 10000
	C=$d/smimepub.conf
	"$B/smimepub" -f "$C" ca init >/dev/null 2>&1
	clear_certs
	echo "bench: $kt smimepub enrol over $n people" >&2
	cpu
	c0=$CPU
	t0=$(now)
	i=1
	while [ "$i" -le "$n" ]; do
		"$B/smimepub" -f "$C" enrol "$(uid "$i")@example.com" 2>>"$d/enrol.log"
		i=$((i + 1))
	done
	t1=$(now)
	cpu
	c1=$CPU
	check "$kt smimepub enrol" "$n"
	enrol="$(rate "$n" "$t0" "$t1") $(cpp "$n" "$c0" "$c1")"

	# --- smimepub-sync --once, fresh state ------------------------------
	sync=$(sync_run sync "$kt" "$n")
	sync10k=$(sync_run sync10k "$kt" "$n")

	RESULTS="$RESULTS$kt $n $base $enrol $sync $sync10k
"
}

run ec:P-256 "$N_EC"
run rsa:3072 "$N_RSA"
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the report ---------------------------------------------------------
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
{
	cat <<EOF
# Benchmarks

Written by \`make bench\` (scripts/bench.sh); regenerate with it. Figures
are wall-clock and CPU times on a loopback slapd; nothing here is asserted by any
test. The baseline runs in the same invocation as smimepub, so compare the
ratios: the absolute figures move with the machine and its load.

- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')
- machine: $(nproc) CPUs (nproc), $CPU_MODEL; load average $LOAD0 before, $LOAD1 after
- software: $(openssl version), $(slapd -VV 2>&1 | sed -n 's/^@(#) \$OpenLDAP: \(slapd [^ ]*\).*/OpenLDAP \1/p' | head -n 1), smimepub at $(git -C "$SRCDIR" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$SRCDIR" diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes in the tree)')
- build: \`$BUILD/\` (\`make all\`: -O2)

## Enrolments per second, local CA

| key | people | path | seconds | people/s | vs baseline | CPU s/person | CPU vs baseline |
|---|---:|---|---:|---:|---:|---:|---:|
EOF
	printf '%s' "$RESULTS" | while read -r kt n bs br bc es er ec ss sr sc ks kr kc; do
		row "$kt" "$n" "baseline: openssl req + openssl x509 -req + ldapmodify" "$bs" "$br" "$bc" "$br" "$bc"
		row "$kt" "$n" '`smimepub enrol` in a loop' "$es" "$er" "$ec" "$br" "$bc"
		row "$kt" "$n" '`smimepub-sync --once` (fresh state)' "$ss" "$sr" "$sc" "$br" "$bc"
		row "$kt" "$n" '`smimepub-sync --once`, `keys.pkcs12_iterations = 10000`' "$ks" "$kr" "$kc" "$br" "$bc"
	done
	cat <<EOF

people/s is wall-clock; "vs baseline" is people/s over the baseline's
people/s of the same key type (above 1: faster than the baseline). CPU
s/person is the user + system time of the processes the benchmark ran
(openssl and ldapmodify, or smimepub / smimepub-sync), from times(1), per
person; slapd's own share is in neither. "CPU vs baseline" is the baseline's
CPU s/person over this path's (above 1: cheaper than the baseline). On a
shared machine the CPU figures move less than the wall-clock ones.

What each path does per person:
- baseline: generates the key and CSR, signs it, writes \`userCertificate;binary\`
  (replace) in one ldapmodify bound as the service account. It leaves the key
  unencrypted on disk, delivers nothing, publishes no \`userSMIMECertificate\`
  and keeps no record; it is the cron job smimepub replaces.
- \`smimepub enrol\`: one process per person: reads the configuration, opens the
  journal (LMDB) and the local CA's index, binds to the directory, finds the
  person, generates the key and CSR, issues with the local CA (S/MIME profile),
  checks the answer, writes the PKCS#12 (AES-256, PBKDF2 with the default
  \`keys.pkcs12_iterations\` = 100000, SHA-256 MAC; temp file, fsync, rename),
  publishes \`userCertificate;binary\` and \`userSMIMECertificate\` in one modify
  guarded by an assertion, and commits each of the six journal states.
- \`smimepub-sync --once\`: the same steps for every person in one process:
  one paged search, then the plan carried out by the pool of workers
  (\`sync.workers\`, default one per core, each with its own directory
  connection; CA requests serialised).
- the same with \`keys.pkcs12_iterations = 10000\` (the lowest the
  configuration accepts, the issue's minimum) instead of the default 100000:
  the difference is the cost of the PKCS#12's key derivation.

## Commands

Setup: \`scripts/bench.sh\` starts slapd (tests/lib/slapd.sh) on 127.0.0.1 and
adds people \`uid=benchNNN,$SLAPD_PEOPLE\` with \`mail: benchNNN@example.com\`.
Before each run the certificates of those entries are deleted. For KEY
ec:P-256 ALG is \`-newkey ec -pkeyopt ec_paramgen_curve:P-256\` and KU
\`digitalSignature,keyAgreement\`; for rsa:3072 ALG is \`-newkey rsa:3072\`
and KU \`digitalSignature,keyEncipherment\`.

Baseline, for each person (CA: \`openssl req -x509 ALG -nodes\`, same key type):

\`\`\`
openssl req ALG -nodes -keyout U.key -out U.csr -subj "/CN=Bench Person I"
openssl x509 -req -in U.csr -CA ca.pem -CAkey ca.key -days 365 -sha256 \\
    -extfile U.ext -outform DER -out U.der
    # U.ext: basicConstraints=critical,CA:FALSE / keyUsage=critical,KU /
    #        extendedKeyUsage=emailProtection / subjectAltName=email:U@example.com
ldapmodify -x -H ldap://127.0.0.1:PORT -D $SLAPD_SVC_DN -y svc.pw <<LDIF
dn: uid=U,$SLAPD_PEOPLE
changetype: modify
replace: userCertificate;binary
userCertificate;binary:< file://U.der
LDIF
\`\`\`

smimepub (configuration: \`ca.driver = "local"\` with \`ca.local.key_type\` =
KEY, \`keys.type\` = KEY, no delivery command, no escrow):

\`\`\`
$BUILD/smimepub -f smimepub.conf ca init
for each person: $BUILD/smimepub -f smimepub.conf enrol U@example.com
$BUILD/smimepub-sync -f sync.conf --once    # fresh sync.state_dir and delivery_dir,
                                           # directory.filter = the same N people
$BUILD/smimepub-sync -f sync10k.conf --once # the same, keys.pkcs12_iterations = 10000
\`\`\`

Run: \`make bench\` (BENCH_N=$N_EC people for ec:P-256, BENCH_N_RSA=$N_RSA for
rsa:3072; \`make bench BENCH_N=... BENCH_N_RSA=...\` to change them).
EOF
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "bench: wrote $OUT" >&2
sed -n '/^| key/,/^$/p' "$OUT"

# The other parts, each appending its section to $OUT (BENCH_PARTS: a
# subset of "lookupd sync keypool", for a rerun of one of them).
PARTS=" ${BENCH_PARTS:-lookupd sync keypool} "
case $PARTS in *" lookupd "*) . "$SRCDIR/scripts/bench_lookupd.sh" ;; esac
# smimepub-sync at scale: its own slapd with 100,000 people (issue 4)
case $PARTS in *" sync "*)
	BUILD=$BUILD BENCH_OUT=$OUT sh "$SRCDIR/scripts/bench_sync.sh" ;;
esac
# the key pool: a burst of 200 rsa:3072 hires, with and without (issue 4)
case $PARTS in *" keypool "*)
	BUILD=$BUILD BENCH_OUT=$OUT sh "$SRCDIR/scripts/bench_keypool.sh" ;;
esac
