#!/bin/sh
# make demo: a throwaway slapd on loopback with sample people, one sync pass
# with the local CA, smimepub-lookupd answering for a recipient, and an
# openssl cms encryption to the certificate it returned; then everything it
# started is stopped and removed.
set -eu
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
B=$SRCDIR/$BUILD
. "$SRCDIR/tests/lib/slapd.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

T=$(mktemp -d)
LKPID=
slapd_cleanup_add '[ -n "$LKPID" ] && kill "$LKPID" 2>/dev/null; rm -rf "$T"'
say "starting a throwaway slapd on loopback with sample people"
slapd_start
echo "slapd at $SLAPD_URI, people under $SLAPD_PEOPLE"
ldap_root ldapsearch -LLL -b "$SLAPD_PEOPLE" '(mail=*)' mail | sed -n 's/^mail: /  /p'

port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 10000 ))
# the demo's delivery command keeps each passphrase beside its PKCS#12 (a
# real one would hand it to the person, e.g. through a password manager)
cat >"$T/hand-over" <<EOS
#!/bin/sh
umask 077
cat > "\$SMIMEPUB_P12.pass"
EOS
chmod 0700 "$T/hand-over"
cat >"$T/smimepub.conf" <<EOC
directory = {
  uri = "$SLAPD_URI";
  bind_dn = "$SLAPD_SVC_DN";
  bind_password_file = "$SLAPD_SVC_PW_FILE";
  base = "$SLAPD_PEOPLE";
};
ca = { driver = "local"; local = { dir = "$T/ca"; }; };
keys = { type = "ec:P-256"; delivery_dir = "$T/delivery"; delivery_command = "$T/hand-over"; };
sync = { state_dir = "$T/state"; };
# lookupd reads with its own read-only account; it serves what chains to
# the local CA (its trust anchor by default)
lookup = { listen = "127.0.0.1:$port"; bind_dn = "$SLAPD_LOOKUP_DN";
           bind_password_file = "$SLAPD_LOOKUP_PW_FILE"; };
EOC
C=$T/smimepub.conf

say "smimepub ca init (the embedded local CA)"
"$B/smimepub" -f "$C" ca init

say "smimepub-sync --once (two sample entries share dup@example.com: they fail, the rest go on)"
"$B/smimepub-sync" -f "$C" --once || true

say "smimepub status"
"$B/smimepub" -f "$C" status

say "what alice's entry holds now"
"$B/smimepub" -f "$C" show alice@example.com

if [ -x "$B/smimepub-lookupd" ]; then
	say "smimepub-lookupd on 127.0.0.1:$port"
	"$B/smimepub-lookupd" -f "$C" --foreground &
	LKPID=$!
	i=0
	until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 50 ] || { echo "lookupd did not start" >&2; exit 1; }
		sleep 0.1
	done
	echo "GET /v1/certs/alice@example.com:"
	curl -fsS "http://127.0.0.1:$port/v1/certs/alice@example.com" | head -c 600
	echo
	curl -fsS -H 'Accept: application/pkix-cert' \
	    "http://127.0.0.1:$port/v1/certs/alice@example.com" -o "$T/alice.der"
else
	say "smimepub-lookupd is not built yet; reading the directory as a client would"
	ldap_root ldapsearch -LLL -o ldif-wrap=no -tt -T "$T" -b "$SLAPD_PEOPLE" \
	    '(mail=alice@example.com)' 'userCertificate;binary' >"$T/alice.ldif"
	cp "$(sed -n 's|^[^:]*:< file://||p' "$T/alice.ldif" | head -n 1)" "$T/alice.der"
fi
openssl x509 -inform DER -in "$T/alice.der" -out "$T/alice.pem"
openssl x509 -in "$T/alice.pem" -noout -subject -issuer -enddate -ext subjectAltName

say "openssl cms -encrypt to the looked-up certificate, decrypted with the delivered key"
echo "Hello Alice, this is encrypted to the certificate smimepub published." >"$T/msg.txt"
openssl cms -encrypt -binary -aes256 -in "$T/msg.txt" -out "$T/msg.p7m" -outform DER "$T/alice.pem"
ls -l "$T/msg.p7m"
p12=$(ls "$T"/delivery/alice@example.com.*.p12)
echo "alice opens her PKCS#12 ($p12) with the passphrase her delivery command got:"
openssl pkcs12 -in "$p12" -passin "file:$p12.pass" -nocerts -nodes -out "$T/alice.key" 2>/dev/null
openssl cms -decrypt -binary -inform DER -in "$T/msg.p7m" -inkey "$T/alice.key" \
    -recip "$T/alice.pem"
rm -f "$T/alice.key"
say "done; stopping what the demo started"
