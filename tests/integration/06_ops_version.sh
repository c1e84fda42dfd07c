#!/bin/sh
# --help and --version on all three programs (issue 16 item 1): help on
# stdout with exit 0, a bad option exit 2 on stderr, the version from the
# VERSION file (plus git describe in a checkout) everywhere it is shown,
# including smimepub's HTTP User-Agent towards a CA (cfssl, caught here by
# a listener that records the request's headers).
set -u
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"

V=$(cat "$SRCDIR/VERSION")
T=$(mktemp -d)
trap 'kill $LPID 2>/dev/null; rm -rf "$T"' EXIT
LPID=

for p in smimepub smimepub-sync smimepub-lookupd; do
	out=$("$SRCDIR/$BUILD/$p" --help 2>"$T/err"); rc=$?
	t_eq "$p --help exits 0" "$rc" 0
	t_contains "$p --help prints the usage on stdout" "$out" "usage: $p"
	t_eq "$p --help writes nothing on stderr" "$(cat "$T/err")" ""
	out=$("$SRCDIR/$BUILD/$p" --version 2>&1); rc=$?
	t_eq "$p --version exits 0" "$rc" 0
	case $out in
	"$p $V"|"$p $V+"*) t_ok "$p --version is VERSION ($out)" true ;;
	*) t_ok "$p --version is VERSION ($out)" false ;;
	esac
	t_exit "$p --bogus is a usage error (exit 2)" 2 \
	    "$SRCDIR/$BUILD/$p" --bogus
	t_eq "$p: a usage error prints nothing on stdout" \
	    "$("$SRCDIR/$BUILD/$p" --bogus 2>/dev/null)" ""
done
VERS=$("$SRCDIR/$BUILD/smimepub" --version | cut -d' ' -f2)
if [ -e "$SRCDIR/.git" ] && command -v git >/dev/null; then
	d=$(git -C "$SRCDIR" describe --always --tags 2>/dev/null)
	t_contains "in a git checkout the version carries git describe" \
	    "$VERS" "+${d%-dirty}"
fi

# The User-Agent: a cfssl "CA" that records the headers and answers 500.
cat >"$T/l.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        open(sys.argv[1], "a").write(self.headers.get("User-Agent", "-") + "\n")
        self.send_response(500); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
python3 "$T/l.py" "$T/ua" "$T/port" & LPID=$!
i=0; while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/ca.key" -out "$T/ca.pem" -subj /CN=ua-test -days 2 2>/dev/null
cat >"$T/c.conf" <<CONF
directory = { uri = "ldap://127.0.0.1:1"; base = "dc=example,dc=com"; };
ca = { driver = "cfssl"; cfssl = { url = "http://127.0.0.1:$(cat "$T/port")"; timeout = 5;
  ca_cert = "$T/ca.pem"; }; };
keys = { discard_passphrase = true; };
sync = { state_dir = "$T/state"; };
CONF
t_exit "cfssl enrol against the recording listener fails (500: exit 1)" 1 \
    "$SRCDIR/$BUILD/tests/ca_drive" "$T/c.conf" enrol a@example.com ec:P-256
t_eq "the User-Agent is smimepub/VERSION" "$(head -1 "$T/ua" 2>/dev/null)" \
    "smimepub/$VERS"
t_done
