/*
 * est_server.c — an RFC 7030 EST responder for the tests, backed by a test
 * CA. HTTPS only, on 127.0.0.1, through libmicrohttpd's TLS (GnuTLS on
 * Debian). It is honest: /simpleenroll decodes the base64 DER PKCS#10,
 * verifies its signature and issues for the CSR's own key (subjectAltName
 * copied from its extensionRequest, EKU emailProtection, key usage for
 * S/MIME encryption, 365 days, random serial), answering a base64
 * certs-only PKCS#7 (leaf, then the CA). /cacerts answers the CA.
 *
 *   est_server -P PORTFILE -c TLSCERT -k TLSKEY -C CACERT -K CAKEY
 *       [-u USER -w PASSWORD] [-T CLIENTCA] [-m MODE] [-n COUNT] [-r SECS]
 *
 * It listens on 127.0.0.1, port chosen by the kernel and written to
 * PORTFILE once it is ready. -u/-w require HTTP Basic on /simpleenroll
 * (401 otherwise); -T requires a TLS client certificate verified against
 * CLIENTCA (403 otherwise). MODE misbehaves on /simpleenroll: ok (default),
 * pending (202 with Retry-After SECS for the first COUNT requests, all when
 * COUNT is -1, then ok), error (500), garbage (200 with bytes that are not
 * a PKCS#7), otherkey (a certificate for another key), reject (400 with a
 * text). SIGTERM or SIGINT stops it.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/keys.h"
#include "common/x509.h"

#define BODY_MAX	65536
#define PREFIX		"/.well-known/est/"

static const char garbage[] = "MIIB\x01\xff garbage, not a PKCS#7 \x00\x7f";

enum mode { M_OK, M_PENDING, M_ERROR, M_GARBAGE, M_OTHERKEY, M_REJECT };

static struct {
	X509		*ca;
	EVP_PKEY	*cakey;
	const char	*user, *pass;
	int		 clientauth;
	enum mode	 mode;
	long		 pending;	/* requests still answered 202 */
	long		 retry;
	int		 (*verify_peers)(void *, unsigned int *);
} S;

struct req {
	unsigned char	*buf;
	size_t		 len;
	int		 toobig;
};

static char *
slurp(const char *path)
{
	FILE *f;
	char *b;
	long n;

	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (b = malloc((size_t)n + 1)) == NULL ||
	    fread(b, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "est_server: %s: cannot read\n", path);
		exit(2);
	}
	b[n] = '\0';
	fclose(f);
	return b;
}

/* Base64 with whitespace tolerated; NULL if invalid. */
static unsigned char *
unb64(const unsigned char *in, size_t inlen, size_t *outlen)
{
	unsigned char *s, *d;
	size_t i, n = 0, pad = 0;
	int r;

	if ((s = malloc(inlen + 1)) == NULL)
		return NULL;
	for (i = 0; i < inlen; i++)
		if (in[i] != ' ' && in[i] != '\r' && in[i] != '\n' &&
		    in[i] != '\t')
			s[n++] = in[i];
	if (n == 0 || n % 4 != 0 || (d = malloc(n / 4 * 3 + 1)) == NULL) {
		free(s);
		return NULL;
	}
	pad = (s[n - 1] == '=') + (s[n - 2] == '=');
	if ((r = EVP_DecodeBlock(d, s, (int)n)) < 0 || (size_t)r < pad) {
		free(s);
		free(d);
		return NULL;
	}
	free(s);
	*outlen = (size_t)r - pad;
	return d;
}

/* Base64 in lines of 64 characters ending in CRLF (RFC 7030 §4.1.3). */
static char *
b64_lines(const unsigned char *der, size_t len, size_t *outlen)
{
	char *flat, *out;
	size_t n, i, o = 0;

	if ((flat = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	n = (size_t)EVP_EncodeBlock((unsigned char *)flat, der, (int)len);
	if ((out = malloc(n + n / 64 * 2 + 3)) == NULL) {
		free(flat);
		return NULL;
	}
	for (i = 0; i < n; i += 64) {
		memcpy(out + o, flat + i, n - i < 64 ? n - i : 64);
		o += n - i < 64 ? n - i : 64;
		out[o++] = '\r';
		out[o++] = '\n';
	}
	free(flat);
	*outlen = o;
	return out;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned int status, const char *ctype,
    const void *body, size_t len, const char *hname, const char *hval)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	fprintf(stderr, "est_server: -> %u\n", status);
	if ((r = MHD_create_response_from_buffer(len, (void *)body,
	    MHD_RESPMEM_MUST_COPY)) == NULL)
		return MHD_NO;
	if (ctype != NULL)
		MHD_add_response_header(r, "Content-Type", ctype);
	if (hname != NULL)
		MHD_add_response_header(r, hname, hval);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
text(struct MHD_Connection *c, unsigned int status, const char *msg)
{
	return reply(c, status, "text/plain", msg, strlen(msg), NULL, NULL);
}

static enum MHD_Result
certs_reply(struct MHD_Connection *c, X509 *leaf, STACK_OF(X509) *chain)
{
	struct MHD_Response *r;
	unsigned char *der = NULL;
	char *b64 = NULL;
	size_t len = 0, blen = 0;
	enum MHD_Result ret = MHD_NO;

	if (x509_certsonly_build(leaf, chain, &der, &len) == -1 ||
	    (b64 = b64_lines(der, len, &blen)) == NULL) {
		OPENSSL_free(der);
		return text(c, 500, "cannot encode the answer");
	}
	fprintf(stderr, "est_server: -> 200 certs-only\n");
	if ((r = MHD_create_response_from_buffer(blen, b64,
	    MHD_RESPMEM_MUST_COPY)) != NULL) {
		MHD_add_response_header(r, "Content-Type",
		    "application/pkcs7-mime; smime-type=certs-only");
		MHD_add_response_header(r, "Content-Transfer-Encoding",
		    "base64");
		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
	}
	OPENSSL_free(der);
	free(b64);
	return ret;
}

static int
add_ext(X509 *x, X509V3_CTX *v, int nid, const char *value)
{
	X509_EXTENSION *ext;
	int ok;

	if ((ext = X509V3_EXT_conf_nid(NULL, v, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* A certificate for pub with the CSR's subject and subjectAltName. */
static X509 *
issue(X509_REQ *req, EVP_PKEY *pub)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	unsigned char rnd[16];
	X509V3_CTX v;
	BIGNUM *bn = NULL;
	X509 *x = NULL;
	int i, ok = 0;

	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	rnd[0] &= 0x7f;
	rnd[0] |= 0x40;
	if ((bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    !X509_set_issuer_name(x, X509_get_subject_name(S.ca)) ||
	    !X509_set_subject_name(x, X509_REQ_get_subject_name(req)) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -60) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) == NULL ||
	    !X509_set_pubkey(x, pub))
		goto out;
	X509V3_set_ctx(&v, S.ca, x, NULL, NULL, 0);
	if (add_ext(x, &v, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(x, &v, NID_key_usage, EVP_PKEY_is_a(pub, "EC") ?
	    "critical,digitalSignature,keyAgreement" :
	    "critical,digitalSignature,keyEncipherment") ||
	    add_ext(x, &v, NID_ext_key_usage, "emailProtection") ||
	    add_ext(x, &v, NID_subject_key_identifier, "hash") ||
	    add_ext(x, &v, NID_authority_key_identifier, "keyid:always"))
		goto out;
	exts = X509_REQ_get_extensions(req);
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);

		if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) ==
		    NID_subject_alt_name && !X509_add_ext(x, e, -1))
			goto out;
	}
	if (X509_sign(x, S.cakey, EVP_sha256()) <= 0)
		goto out;
	ok = 1;
 out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int
basic_ok(struct MHD_Connection *c)
{
	const char *h;
	unsigned char *d;
	size_t n = 0, ul, pl;
	int ok;

	if (S.user == NULL)
		return 1;
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0 ||
	    (d = unb64((const unsigned char *)h + 6, strlen(h + 6), &n)) ==
	    NULL)
		return 0;
	ul = strlen(S.user);
	pl = strlen(S.pass);
	ok = n == ul + 1 + pl && memcmp(d, S.user, ul) == 0 && d[ul] == ':' &&
	    memcmp(d + ul + 1, S.pass, pl) == 0;
	free(d);
	return ok;
}

static int
client_ok(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;
	unsigned int st = 1;

	if (!S.clientauth)
		return 1;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	return ci != NULL && ci->tls_session != NULL &&
	    S.verify_peers(ci->tls_session, &st) == 0 && st == 0;
}

static enum MHD_Result
enroll(struct MHD_Connection *c, struct req *r)
{
	const char *ct;
	const unsigned char *p;
	unsigned char *der = NULL;
	size_t len = 0;
	X509_REQ *req = NULL;
	EVP_PKEY *pub = NULL, *other = NULL;
	X509 *x = NULL;
	STACK_OF(X509) *chain = NULL;
	char ra[32];
	enum MHD_Result ret;

	if (!client_ok(c))
		return text(c, 403, "a verified TLS client certificate is "
		    "required");
	if (!basic_ok(c))
		return reply(c, 401, "text/plain", "authentication required",
		    23, "WWW-Authenticate", "Basic realm=\"est\"");
	ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	if (ct == NULL || strncasecmp(ct, "application/pkcs10", 18) != 0)
		return text(c, 415, "Content-Type must be application/pkcs10");
	if (r->toobig)
		return text(c, 413, "request too large");
	if ((der = unb64(r->buf, r->len, &len)) == NULL ||
	    (p = der, req = d2i_X509_REQ(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		free(der);
		X509_REQ_free(req);
		return text(c, 400, "the body is not a base64 DER PKCS#10");
	}
	free(der);
	if ((pub = X509_REQ_get0_pubkey(req)) == NULL ||
	    X509_REQ_verify(req, pub) != 1) {
		X509_REQ_free(req);
		return text(c, 400, "the CSR signature does not verify");
	}
	switch (S.mode) {
	case M_PENDING:
		if (S.pending != 0) {
			if (S.pending > 0)
				S.pending--;
			X509_REQ_free(req);
			snprintf(ra, sizeof(ra), "%ld", S.retry);
			return reply(c, 202, "text/plain", "pending", 7,
			    "Retry-After", ra);
		}
		break;
	case M_ERROR:
		X509_REQ_free(req);
		return text(c, 500, "internal error");
	case M_GARBAGE:
		X509_REQ_free(req);
		return reply(c, 200, "application/pkcs7-mime", garbage,
		    sizeof(garbage) - 1, NULL, NULL);
	case M_REJECT:
		X509_REQ_free(req);
		return text(c, 400, "request refused by policy:\r\n"
		    "\x1b[31mno certificates for this address\x1b[0m");
	case M_OTHERKEY:
		if ((other = keys_generate("ec:P-256")) == NULL) {
			X509_REQ_free(req);
			return text(c, 500, "cannot make a key");
		}
		pub = other;
		break;
	case M_OK:
		break;
	}
	if ((x = issue(req, pub)) == NULL ||
	    (chain = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(chain, S.ca))
		ret = text(c, 500, "cannot issue");
	else
		ret = certs_reply(c, x, chain);
	sk_X509_free(chain);
	X509_free(x);
	EVP_PKEY_free(other);
	X509_REQ_free(req);
	return ret;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upsize, void **con_cls)
{
	struct req *r = *con_cls;

	(void)cls;
	(void)version;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		*con_cls = r;
		return MHD_YES;
	}
	if (*upsize > 0) {
		if (!r->toobig && *upsize <= BODY_MAX - r->len) {
			unsigned char *nb = realloc(r->buf, r->len + *upsize);

			if (nb == NULL)
				return MHD_NO;
			r->buf = nb;
			memcpy(r->buf + r->len, upload, *upsize);
			r->len += *upsize;
		} else
			r->toobig = 1;
		*upsize = 0;
		return MHD_YES;
	}
	fprintf(stderr, "est_server: %s %s\n", method, url);
	if (strcmp(method, "GET") == 0 &&
	    strcmp(url, PREFIX "cacerts") == 0)
		return certs_reply(c, S.ca, NULL);
	if (strcmp(url, PREFIX "simpleenroll") == 0) {
		if (strcmp(method, "POST") != 0)
			return reply(c, 405, "text/plain", "POST only", 9,
			    "Allow", "POST");
		return enroll(c, r);
	}
	return text(c, 404, "no such EST operation");
}

static void
done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (r != NULL) {
		free(r->buf);
		free(r);
		*con_cls = NULL;
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: est_server -P portfile -c tlscert -k tlskey "
	    "-C cacert -K cakey [-u user -w password] [-T clientca]\n"
	    "    [-m ok|pending|error|garbage|otherkey|reject] [-n count] "
	    "[-r seconds]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static const char *const modes[] = { "ok", "pending", "error",
	    "garbage", "otherkey", "reject" };
	const char *portfile = NULL, *tlscert = NULL, *tlskey = NULL;
	const char *cacert = NULL, *cakey = NULL, *clientca = NULL;
	char *kpem, *cpem, *tpem = NULL, tmp[4096];
	struct sockaddr_in sin;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *di;
	STACK_OF(X509) *cas;
	BIO *b;
	FILE *f;
	sigset_t ss;
	size_t i;
	int ch, sig;

	S.pending = -1;
	S.retry = 30;
	while ((ch = getopt(argc, argv, "P:c:k:C:K:u:w:T:m:n:r:")) != -1) {
		switch (ch) {
		case 'P': portfile = optarg; break;
		case 'c': tlscert = optarg; break;
		case 'k': tlskey = optarg; break;
		case 'C': cacert = optarg; break;
		case 'K': cakey = optarg; break;
		case 'u': S.user = optarg; break;
		case 'w': S.pass = optarg; break;
		case 'T': clientca = optarg; break;
		case 'n': S.pending = strtol(optarg, NULL, 10); break;
		case 'r': S.retry = strtol(optarg, NULL, 10); break;
		case 'm':
			for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
				if (strcmp(optarg, modes[i]) == 0)
					break;
			if (i == sizeof(modes) / sizeof(modes[0]))
				usage();
			S.mode = (enum mode)i;
			break;
		default:
			usage();
		}
	}
	if (portfile == NULL || tlscert == NULL || tlskey == NULL ||
	    cacert == NULL || cakey == NULL || (S.user == NULL) !=
	    (S.pass == NULL))
		usage();
	if ((cas = x509_load_file(cacert)) == NULL)
		return 2;
	S.ca = sk_X509_shift(cas);
	sk_X509_pop_free(cas, X509_free);
	if ((b = BIO_new_file(cakey, "r")) == NULL ||
	    (S.cakey = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "est_server: %s: cannot read the CA key\n",
		    cakey);
		return 2;
	}
	BIO_free(b);
	if (clientca != NULL) {
		/* libmicrohttpd requests the certificate; checking is ours */
		*(void **)&S.verify_peers = dlsym(RTLD_DEFAULT,
		    "gnutls_certificate_verify_peers2");
		if (S.verify_peers == NULL) {
			fprintf(stderr, "est_server: GnuTLS not found\n");
			return 2;
		}
		S.clientauth = 1;
		tpem = slurp(clientca);
	}
	kpem = slurp(tlskey);
	cpem = slurp(tlscert);

	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);	/* the daemon thread inherits */
	signal(SIGPIPE, SIG_IGN);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = 0;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_ERROR_LOG, 0, NULL, NULL, handler, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
	    MHD_OPTION_HTTPS_MEM_KEY, kpem,
	    MHD_OPTION_HTTPS_MEM_CERT, cpem,
	    MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
	    tpem ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, tpem,
	    MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "est_server: cannot start the TLS daemon\n");
		return 1;
	}
	if ((di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)) == NULL ||
	    di->port == 0) {
		fprintf(stderr, "est_server: no port\n");
		return 1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", portfile);
	if ((f = fopen(tmp, "w")) == NULL ||
	    fprintf(f, "%u\n", (unsigned)di->port) < 0 || fclose(f) != 0 ||
	    rename(tmp, portfile) != 0) {
		fprintf(stderr, "est_server: %s: cannot write\n", portfile);
		return 1;
	}
	fprintf(stderr, "est_server: listening on 127.0.0.1:%u\n",
	    (unsigned)di->port);
	sigwait(&ss, &sig);
	MHD_stop_daemon(d);
	X509_free(S.ca);
	EVP_PKEY_free(S.cakey);
	free(kpem);
	free(cpem);
	free(tpem);
	return 0;
}
