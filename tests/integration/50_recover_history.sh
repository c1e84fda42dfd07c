#!/bin/sh
# Key history (issue 20 item 3) with the local CA against a real slapd:
# after two renewals `smimepub recover --all` puts the three escrowed
# decryption keys, newest first, each with its certificate, friendlyName and
# localKeyId, into one PKCS#12, and each key decrypts the mail encrypted to
# its own certificate; `--serial S` gives exactly that one; a serial that is
# not the person's is refused naming it. keys.deliver_history = 2: the
# second renewal's PKCS#12 holds the new key and the two earlier ones, each
# opening the mail of its own certificate; a leaver's kept keys are dropped.
set -eu
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
. "$SRCDIR/tests/lib/slapd.sh"

slapd_test_start

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/kra.key" -out "$T/kra.pem" \
    -days 30 -subj /CN=KRA 2>/dev/null
cat >"$T/hand-over" <<EOH
#!/bin/sh
umask 077
cat > "$T/pass.\$(basename "\$SMIMEPUB_P12")"
EOH
chmod 0700 "$T/hand-over"

cat >"$T/smimepub.conf" <<EOC
$(slapd_conf_directory)
};
ca = { driver = "local"; local = { dir = "$T/ca"; key_type = "ec:P-256"; validity_days = 30; }; };
keys = {
  type = "ec:P-256";
  delivery_dir = "$T/delivery";
  delivery_command = "$T/hand-over";
  escrow_certs = [ "$T/kra.pem" ];
  pkcs12_iterations = 10000;
};
sync = { state_dir = "$T/state"; };
EOC
C=$T/smimepub.conf

# the certificate of the newest PKCS#12 delivered for $1, into $2; its
# serial (from the file name) on stdout
delivered() {
	p=$(ls -t "$T"/delivery/"$1".*.p12 | head -n 1)
	openssl pkcs12 -in "$p" -passin "file:$T/pass.$(basename "$p")" -nokeys -clcerts \
	    -out "$2" 2>/dev/null
	basename "$p" .p12 | sed 's/.*\.//'
}

t_ok "ca init" "$SMIMEPUB" -f "$C" ca init
t_ok "enrol alice" "$SMIMEPUB" -f "$C" enrol alice@example.com
s1=$(delivered alice@example.com "$T/c1.pem")
sleep 1	# notBefore has a resolution of a second: newest first must be decidable
t_ok "renew alice" "$SMIMEPUB" -f "$C" renew alice@example.com
s2=$(delivered alice@example.com "$T/c2.pem")
sleep 1
t_ok "renew alice again" "$SMIMEPUB" -f "$C" renew alice@example.com
s3=$(delivered alice@example.com "$T/c3.pem")
t_ok "enrol bob" "$SMIMEPUB" -f "$C" enrol bob@example.com
sb=$(delivered bob@example.com "$T/cb.pem")
t_eq "three different serials for alice" "$(printf '%s\n' "$s1" "$s2" "$s3" | sort -u | wc -l)" 3

for i in 1 2 3; do
	echo "old mail $i for alice" >"$T/m$i"
	openssl cms -encrypt -binary -aes256 -in "$T/m$i" -out "$T/m$i.p7m" -outform DER \
	    "$T/c$i.pem" 2>/dev/null
done

# split `openssl pkcs12 -nocerts` output into one file per key, named by
# the serial in its friendlyName; the serials in file order on stdout
split_keys() {
	awk -v dir="$2" '
	/friendlyName:/ { n = $0; sub(/.*serial /, "", n); sub(/,.*/, "", n); print n }
	/-----BEGIN/ { f = dir "/k." n }
	f != "" { print > f }
	/-----END/ { close(f); f = "" }' "$1"
}

t_ok "recover --all" "$SMIMEPUB" -f "$C" recover alice@example.com --kra-key "$T/kra.key" \
    --all --out "$T/all.p12"
pass=$(printf '%s\n' "$T_OUT" | sed -n 's/^passphrase: //p')
t_eq "it names the three serials, newest first" \
    "$(printf '%s\n' "$T_OUT" | sed -n 's/^recovered serial \([0-9A-F]*\) .*/\1/p' | tr '\n' ' ')" \
    "$s3 $s2 $s1 "
mkdir "$T/all"
openssl pkcs12 -in "$T/all.p12" -passin "pass:$pass" -nocerts -nodes -out "$T/all.keys" 2>/dev/null
t_eq "three keys in the PKCS#12, newest first by friendlyName" \
    "$(split_keys "$T/all.keys" "$T/all" | tr '\n' ' ')" "$s3 $s2 $s1 "
t_contains "each key has a friendlyName naming the address" "$(cat "$T/all.keys")" \
    "friendlyName: alice@example.com decryption key, serial $s1"
t_eq "each key has a localKeyID" "$(grep -c 'localKeyID:' "$T/all.keys")" 3
openssl pkcs12 -in "$T/all.p12" -passin "pass:$pass" -nokeys -out "$T/all.certs" 2>/dev/null
t_eq "each certificate has a localKeyID too, the same set" \
    "$(grep 'localKeyID:' "$T/all.certs" | sort | tr -d ' \n')" \
    "$(grep 'localKeyID:' "$T/all.keys" | sort | tr -d ' \n')"
i=1
for s in "$s1" "$s2" "$s3"; do
	t_ok "mail $i decrypts with the key of serial $s" openssl cms -decrypt -binary -inform DER \
	    -in "$T/m$i.p7m" -inkey "$T/all/k.$s" -recip "$T/c$i.pem" -out "$T/m$i.out"
	t_eq "mail $i comes back" "$(cat "$T/m$i.out")" "old mail $i for alice"
	i=$((i + 1))
done
t_fail "a key does not decrypt another certificate's mail" openssl cms -decrypt -binary \
    -inform DER -in "$T/m1.p7m" -inkey "$T/all/k.$s3" -recip "$T/c3.pem" -out /dev/null

t_ok "recover --serial (the middle one, lower case, with colons)" "$SMIMEPUB" -f "$C" \
    recover alice@example.com --kra-key "$T/kra.key" \
    --serial "$(printf '%s' "$s2" | tr A-F a-f | sed 's/\(..\)/\1:/g; s/:$//')" --out "$T/one.p12"
pass=$(printf '%s\n' "$T_OUT" | sed -n 's/^passphrase: //p')
mkdir "$T/one"
openssl pkcs12 -in "$T/one.p12" -passin "pass:$pass" -nocerts -nodes -out "$T/one.keys" 2>/dev/null
t_eq "exactly that key" "$(split_keys "$T/one.keys" "$T/one" | tr '\n' ' ')" "$s2 "
t_ok "it decrypts mail 2" openssl cms -decrypt -binary -inform DER -in "$T/m2.p7m" \
    -inkey "$T/one/k.$s2" -recip "$T/c2.pem" -out /dev/null

t_ok "recover without --all: the newest only" "$SMIMEPUB" -f "$C" recover alice@example.com \
    --kra-key "$T/kra.key" --out "$T/newest.p12"
t_eq "the newest serial" "$(printf '%s\n' "$T_OUT" | sed -n 's/^recovered serial \([0-9A-F]*\) .*/\1/p')" "$s3"

t_exit "bob's serial is not alice's" 1 "$SMIMEPUB" -f "$C" recover alice@example.com \
    --kra-key "$T/kra.key" --serial "$sb" --out "$T/x.p12"
t_contains "the error names the serial" "$T_OUT" "--serial $sb: not an escrowed key of alice@example.com"
t_fail "nothing written" test -e "$T/x.p12"
t_exit "--all and --serial together are a usage error" 2 "$SMIMEPUB" -f "$C" recover \
    alice@example.com --kra-key "$T/kra.key" --all --serial "$s1"
t_exit "a serial that is not hexadecimal is a usage error" 2 "$SMIMEPUB" -f "$C" recover \
    alice@example.com --kra-key "$T/kra.key" --serial 'xyz'
t_contains "naming it" "$T_OUT" "--serial xyz"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other.key" -out "$T/other.pem" \
    -days 30 -subj /CN=other 2>/dev/null
t_exit "another officer key opens none: --all fails" 1 "$SMIMEPUB" -f "$C" recover \
    alice@example.com --kra-key "$T/other.key" --all --out "$T/y.p12"
t_fail "and writes nothing" test -e "$T/y.p12"

# keys.deliver_history = 2, in a state of its own (same CA, same directory)
sed -e "s|state_dir = \"$T/state\"|state_dir = \"$T/state2\"|" \
    -e 's|pkcs12_iterations = 10000;|pkcs12_iterations = 10000; deliver_history = 2;|' \
    "$C" >"$T/hist.conf"
H=$T/hist.conf
t_ok "check-config takes keys.deliver_history" "$SMIMEPUB" -f "$H" check-config
t_contains "and prints it" "$T_OUT" "deliver_history = 2"
t_ok "enrol carol (deliver_history = 2)" "$SMIMEPUB" -f "$H" enrol carol@example.com
h1=$(delivered carol@example.com "$T/h1.pem")
p=$(ls -t "$T"/delivery/carol@example.com.*.p12 | head -n 1)
t_eq "the first PKCS#12 holds one key" "$(openssl pkcs12 -in "$p" \
    -passin "file:$T/pass.$(basename "$p")" -nocerts -nodes 2>/dev/null | grep -c 'BEGIN PRIVATE KEY')" 1
sleep 1
t_ok "renew carol" "$SMIMEPUB" -f "$H" renew carol@example.com
h2=$(delivered carol@example.com "$T/h2.pem")
sleep 1
t_ok "renew carol again" "$SMIMEPUB" -f "$H" renew carol@example.com
h3=$(delivered carol@example.com "$T/h3.pem")
p=$(ls -t "$T"/delivery/carol@example.com.*.p12 | head -n 1)
mkdir "$T/hist"
openssl pkcs12 -in "$p" -passin "file:$T/pass.$(basename "$p")" -nocerts -nodes \
    -out "$T/hist.keys" 2>/dev/null
t_eq "the renewal's PKCS#12: the new key, then the two earlier ones, newest first" \
    "$(split_keys "$T/hist.keys" "$T/hist" | tr '\n' ' ')" "$h3 $h2 $h1 "
t_contains "an earlier key is named as such" "$(cat "$T/hist.keys")" \
    "friendlyName: carol@example.com earlier decryption key, serial $h1"
i=1
for s in "$h1" "$h2" "$h3"; do
	echo "carol's mail $i" >"$T/hm$i"
	openssl cms -encrypt -binary -aes256 -in "$T/hm$i" -out "$T/hm$i.p7m" -outform DER \
	    "$T/h$i.pem" 2>/dev/null
	t_ok "carol's mail $i decrypts with the delivered key of serial $s" openssl cms -decrypt \
	    -binary -inform DER -in "$T/hm$i.p7m" -inkey "$T/hist/k.$s" -recip "$T/h$i.pem" \
	    -out "$T/hm$i.out"
	t_eq "carol's mail $i comes back" "$(cat "$T/hm$i.out")" "carol's mail $i"
	i=$((i + 1))
done
sleep 1
t_ok "a third renewal" "$SMIMEPUB" -f "$H" renew carol@example.com
h4=$(delivered carol@example.com "$T/h4.pem")
p=$(ls -t "$T"/delivery/carol@example.com.*.p12 | head -n 1)
mkdir "$T/hist4"
openssl pkcs12 -in "$p" -passin "file:$T/pass.$(basename "$p")" -nocerts -nodes \
    -out "$T/hist4.keys" 2>/dev/null
t_eq "still the last two only: the oldest is no longer kept" \
    "$(split_keys "$T/hist4.keys" "$T/hist4" | tr '\n' ' ')" "$h4 $h3 $h2 "
t_eq "alice's deliveries (deliver_history = 0) hold one key each" \
    "$(openssl pkcs12 -in "$(ls -t "$T"/delivery/alice@example.com.*.p12 | head -n 1)" \
    -passin "file:$T/pass.$(basename "$(ls -t "$T"/delivery/alice@example.com.*.p12 | head -n 1)")" \
    -nocerts -nodes 2>/dev/null | grep -c 'BEGIN PRIVATE KEY')" 1
t_eq "two kept keys in the journal (keystore-sealed), no more" \
    "$(mdb_dump -s held "$T/state2" 2>/dev/null | grep -c '^ 683a' || true)" 2
t_ok "revoke carol" "$SMIMEPUB" -f "$H" revoke carol@example.com
t_eq "a leaver's kept keys are dropped from the journal" \
    "$(mdb_dump -s held "$T/state2" 2>/dev/null | grep -c '^ 683a' || true)" 0
t_done
