#!/usr/bin/python3
"""openapi_check.py -- smimepub-lookupd against docs/openapi.yaml.

    openapi_check.py SPEC RECORD PHASE URL [METRICS_URL ADMIN_SOCKET]

PHASE is one setting of a running daemon (see 93_lookupd_http.sh):
  up       the daemon with its directory: every path, method and status
           that a well-behaved directory gives (URL: lookup.listen with
           lookup.batch_max = 3 and lookup.max_body = 1024, METRICS_URL:
           lookup.metrics_listen, ADMIN_SOCKET: lookup.admin_socket;
           the local CA's OCSP and CRL paths with OA_OCSP_REQUEST, a DER
           OCSPRequest, in the environment)
  limited  a daemon with lookup.rate = 1, burst = 2: the 429s
  down     the directory stopped: the 503s
  coverage every status the file documents was seen in RECORD (except
           those marked x-smimepub-untested)
Each answer must have a documented status for its path and method, a
documented content type, the header fields the file says are required
(their values matching their schemas), and a JSON body valid against the
schema (Draft 2020-12, as OpenAPI 3.1 says). Each seen
"METHOD PATH STATUS" is appended to RECORD. Prints one line per request;
exits 1 on the first mismatch.
"""
import base64
import http.client
import json
import os
import re
import socket
import sys
import urllib.parse

import jsonschema
import yaml


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.unix_path)


class Checker:
    def __init__(self, spec_path, record):
        with open(spec_path, encoding="utf-8") as f:
            self.spec = yaml.safe_load(f)
        self.record = record
        self.seen = 0

    def fail(self, msg):
        print("not ok - " + msg)
        sys.exit(1)

    def deref(self, obj):
        while isinstance(obj, dict) and "$ref" in obj:
            node = self.spec
            for part in obj["$ref"].lstrip("#/").split("/"):
                node = node[part]
            obj = node
        return obj

    def validate(self, value, schema, what):
        # the $refs point into the whole file: validate against a schema
        # that carries the file's components beside the reference
        root = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                "allOf": [schema], "components": self.spec["components"]}
        try:
            jsonschema.Draft202012Validator(root).validate(value)
        except jsonschema.ValidationError as e:
            self.fail("%s: %s" % (what, e.message))

    def template(self, path):
        for tpl in self.spec["paths"]:
            rx = "^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(tpl)) + "$"
            if re.match(rx, path):
                return tpl
        return None

    def check(self, method, path, status, headers, body):
        raw = urllib.parse.urlsplit(path).path
        tpl = self.template(raw)
        what = "%s %s -> %d" % (method, path, status)
        ctype = headers.get("content-type", "").split(";")[0].strip()
        if tpl is None:
            # a path not listed: 404 with an Error body (info.description)
            if status != 404:
                self.fail(what + ": an unlisted path is not 404")
            self.validate(json.loads(body), {"$ref": "#/components/schemas/Error"}, what)
            print("ok - " + what + " (unlisted path)")
            return
        op_method = "get" if method == "HEAD" else method.lower()
        op = self.spec["paths"][tpl].get(op_method)
        if op is None and status == 405:
            # another method: the 405 is documented with the path's own
            op_method = next(m for m in self.spec["paths"][tpl]
                             if m in ("get", "post"))
            op = self.spec["paths"][tpl][op_method]
        if op is None:
            self.fail(what + ": the method is not documented for " + tpl)
        resp = op["responses"].get(str(status))
        if resp is None:
            self.fail(what + ": status not documented for %s %s" % (op_method, tpl))
        resp = self.deref(resp)
        for name, h in (resp.get("headers") or {}).items():
            h = self.deref(h)
            v = headers.get(name.lower())
            if v is None:
                if h.get("required"):
                    self.fail(what + ": no " + name + " header")
                continue
            self.validate(v, h.get("schema", {}), what + ": header " + name)
        content = resp.get("content")
        if content is None:
            if body:
                self.fail(what + ": a body where none is documented")
        elif method != "HEAD":
            if ctype not in content:
                # application/x-pkcs7-mime is served as application/pkcs7-mime
                self.fail(what + ": Content-Type %r not documented" % ctype)
            if ctype == "application/json":
                try:
                    doc = json.loads(body)
                except ValueError as e:
                    self.fail(what + ": not JSON: %s" % e)
                self.validate(doc, content[ctype].get("schema", {}), what)
            elif not body:
                self.fail(what + ": an empty body")
        with open(self.record, "a", encoding="utf-8") as f:
            f.write("%s %s %d\n" % (op_method, tpl, status))
        self.seen += 1
        print("ok - " + what + (" " + ctype if ctype else ""))

    def request(self, conn, method, path, want, headers=None, body=None):
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if want is not None and r.status != want:
            self.fail("%s %s: status %d, want %d: %r" % (method, path, r.status, want, data[:200]))
        self.check(method, path, r.status, hdrs, data)
        return r.status, hdrs, data

    def coverage(self):
        with open(self.record, encoding="utf-8") as f:
            seen = set(line.strip() for line in f)
        missing = []
        for tpl, item in self.spec["paths"].items():
            for method, op in item.items():
                if method not in ("get", "post", "put", "delete", "head"):
                    continue
                for status, resp in op["responses"].items():
                    if self.deref(resp).get("x-smimepub-untested"):
                        continue
                    key = "%s %s %s" % (method, tpl, status)
                    if key not in seen:
                        missing.append(key)
        if missing:
            self.fail("documented but never produced: " + ", ".join(sorted(missing)))
        print("ok - every documented status produced (%d distinct)" % len(seen))


def conn_of(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def phase_up(c, url, murl, admin):
    p = conn_of(url)
    a = "/v1/certs/alice@example.com"
    _, h, _ = c.request(p, "GET", a, 200)
    etag = h["etag"]
    for t in ("application/pkix-cert", "application/pkcs7-mime",
              "application/x-pkcs7-mime", "application/x-pem-file",
              "application/pem-certificate-chain",
              "application/pkix-cert;q=0, */*;q=0.5"):
        c.request(p, "GET", a, 200, {"Accept": t})
    c.request(p, "GET", a, 304, {"If-None-Match": etag})
    c.request(p, "HEAD", a, 200)
    c.request(p, "GET", "/v1/certs/not-an-address", 400)
    c.request(p, "GET", "/v1/certs/j%C3%BCrgen@example.com", 400)
    c.request(p, "GET", "/v1/certs/nobody@example.com", 404)
    c.request(p, "POST", a, 405, body=b"x")
    c.request(p, "GET", a, 406, {"Accept": "text/html"})
    c.request(p, "POST", "/v1/lookup", 200, {"Content-Type": "application/json"},
              b'{"recipients":["alice@example.com","x",7]}')
    c.request(p, "POST", "/v1/lookup", 200, body=b'{"recipients":["nobody@example.com"]}')
    c.request(p, "POST", "/v1/lookup", 400, body=b'{"recipients":')
    c.request(p, "POST", "/v1/lookup", 400, body=b'{"to":[]}')
    c.request(p, "GET", "/v1/lookup", 405)
    c.request(p, "POST", "/v1/lookup", 413,
              body=b'{"recipients":["a@b.co","a@b.co","a@b.co","a@b.co"]}')
    p.close()
    # a declared body over lookup.max_body: refused before it is read
    p = conn_of(url)
    p.putrequest("POST", "/v1/lookup")
    p.putheader("Content-Length", "100000000")
    p.endheaders()
    r = p.getresponse()
    data = r.read()
    if r.status != 413:
        c.fail("Content-Length 100000000: %d, want 413" % r.status)
    c.check("POST", "/v1/lookup", r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    p.close()
    p = conn_of(url)
    c.request(p, "GET", "/v1/search?q=ali", 200)
    c.request(p, "GET", "/v1/search?q=al", 400)
    c.request(p, "POST", "/v1/search?q=ali", 405, body=b"")
    c.request(p, "GET", "/healthz", 200)
    c.request(p, "DELETE", "/healthz", 405)
    c.request(p, "GET", "/nope", 404)
    c.request(p, "GET", "/metrics", 404)
    c.request(p, "POST", "/v1/cache/flush", 404, body=b"")
    m = conn_of(murl)
    c.request(m, "GET", "/metrics", 200)
    c.request(m, "POST", "/metrics", 405, body=b"")
    s = UnixHTTPConnection(admin)
    c.request(s, "POST", "/v1/cache/flush", 200, body=b"")
    c.request(s, "GET", "/v1/cache/flush", 405)
    ocsp_req = os.environ.get("OA_OCSP_REQUEST")
    if ocsp_req:
        phase_ocsp(c, conn_of(url), ocsp_req)


def phase_ocsp(c, p, req_file):
    """The local CA's OCSP responder and CRL (lk_ocsp.c): OA_OCSP_REQUEST
    is a DER OCSPRequest for a certificate it has a response for."""
    with open(req_file, "rb") as f:
        der = f.read()
    c.request(p, "POST", "/ocsp", 200, {"Content-Type": "application/ocsp-request"}, der)
    c.request(p, "GET", "/ocsp", 405)
    path = "/ocsp/" + urllib.parse.quote(base64.b64encode(der).decode(), safe="")
    _, h, _ = c.request(p, "GET", path, 200)
    c.request(p, "GET", path, 304, {"If-None-Match": h["etag"]})
    c.request(p, "GET", "/ocsp/%25%25", 200)
    c.request(p, "PUT", path, 405, body=b"")
    crl = "/crl/smimepub.crl"
    _, h, _ = c.request(p, "GET", crl, 200)
    c.request(p, "GET", crl, 304, {"If-None-Match": h["etag"]})
    c.request(p, "POST", crl, 405, body=b"")


def until(c, conn, method, path, want, body=None, tries=50):
    for _ in range(tries):
        st, _, _ = c.request(conn, method, path, None, body=body)
        if st == want:
            return
    c.fail("%s %s: never %d" % (method, path, want))


def phase_limited(c, url):
    p = conn_of(url)
    until(c, p, "GET", "/v1/certs/alice@example.com", 429)
    c.request(p, "POST", "/v1/lookup", 429, body=b'{"recipients":["alice@example.com"]}')
    until(c, p, "GET", "/v1/search?q=ali", 429)


def phase_down(c, url):
    p = conn_of(url)
    c.request(p, "GET", "/v1/certs/uncached@example.com", 503)
    c.request(p, "POST", "/v1/lookup", 503, body=b'{"recipients":["uncached2@example.com"]}')
    c.request(p, "GET", "/v1/search?q=xyz", 503)
    until(c, p, "GET", "/healthz", 503, tries=20)


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    c = Checker(argv[1], argv[2])
    phase = argv[3]
    if phase == "coverage":
        c.coverage()
    elif phase == "up":
        phase_up(c, argv[4], argv[5], argv[6])
    elif phase == "limited":
        phase_limited(c, argv[4])
    elif phase == "down":
        phase_down(c, argv[4])
    else:
        print("unknown phase " + phase, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
