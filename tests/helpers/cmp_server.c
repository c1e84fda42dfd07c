/*
 * cmp_server.c — a CMP server (RFC 4210/9480, RFC 6712 HTTP transfer) for
 * the tests of the cmp driver, built on OpenSSL's OSSL_CMP_SRV_CTX and
 * served by libmicrohttpd on 127.0.0.1 only. Its certificate-request
 * callback really signs the p10cr's CSR with a test CA: CSR signature
 * verified, SAN copied from the CSR, EKU emailProtection, keyUsage for
 * S/MIME (RSA: digitalSignature + keyEncipherment; EC: digitalSignature +
 * keyAgreement), 365 days, a random 128-bit serial. rr is answered and each
 * revoked serial appended to a file. Messages are MAC-protected with a
 * reference and secret, or signed with a server certificate and key.
 *
 * cmp_server -c CACERT -k CAKEY -o PORTFILE [-r REF -s SECRETFILE]
 *     [-S SRVCERT -K SRVKEY -T CLIENTTRUST] [-R REVOKEDFILE]
 *     [-m ok|reject|otherkey|garbage|http500] [-p PORT]
 *     [-t TLSCERT -u TLSKEY]
 * With -t/-u it serves HTTPS (libmicrohttpd's TLS). Binds 127.0.0.1:PORT (0, the default: a free port), writes the port to
 * PORTFILE once it listens, and serves until SIGTERM or SIGINT.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cmp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define BODY_MAX	(1 << 20)

enum mode { M_OK, M_REJECT, M_OTHERKEY, M_GARBAGE, M_HTTP500 };

static struct {
	X509		*cacert;
	EVP_PKEY	*cakey;
	const char	*revoked;
	enum mode	 mode;
	OSSL_CMP_SRV_CTX *srv;
} S;

struct body {
	unsigned char	*data;
	size_t		 len;
};

static void
die(const char *what)
{
	fprintf(stderr, "cmp_server: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(2);
}

static X509 *
load_cert(const char *path)
{
	FILE *f;
	X509 *x;

	if ((f = fopen(path, "r")) == NULL)
		die(path);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		die(path);
	return x;
}

static EVP_PKEY *
load_key(const char *path)
{
	FILE *f;
	EVP_PKEY *k;

	if ((f = fopen(path, "r")) == NULL)
		die(path);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		die(path);
	return k;
}

static int
add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext;
	int ok;

	if ((ext = X509V3_EXT_conf_nid(NULL, v3, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* The S/MIME certificate for the CSR (for another key in M_OTHERKEY). */
static X509 *
issue(const X509_REQ *creq)
{
	X509_REQ *req = (X509_REQ *)creq;	/* 3.0 getters are not const */
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *san;
	EVP_PKEY *pk = X509_REQ_get0_pubkey(req), *other = NULL;
	unsigned char rnd[16];
	BIGNUM *bn = NULL;
	X509V3_CTX v3;
	X509 *x = NULL;
	int i, ok = 0;

	if (pk == NULL || X509_REQ_verify(req, pk) != 1) {
		fprintf(stderr, "cmp_server: CSR signature does not verify\n");
		return NULL;
	}
	if (S.mode == M_OTHERKEY &&
	    (pk = other = EVP_EC_gen("P-256")) == NULL)
		return NULL;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	rnd[0] &= 0x7f;
	rnd[0] |= 0x40;
	if ((x = X509_new()) == NULL || !X509_set_version(x, 2) ||
	    (bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    !X509_set_issuer_name(x, X509_get_subject_name(S.cacert)) ||
	    !X509_set_subject_name(x, X509_REQ_get_subject_name(req)) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 365, -1, NULL) == NULL ||
	    !X509_set_pubkey(x, pk))
		goto out;
	X509V3_set_ctx(&v3, S.cacert, x, NULL, NULL, 0);
	if ((exts = X509_REQ_get_extensions(req)) != NULL &&
	    (i = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1)) >= 0) {
		san = X509v3_get_ext(exts, i);
		if (!X509_add_ext(x, san, -1))
			goto out;
	}
	if (!add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(x, &v3, NID_key_usage, EVP_PKEY_is_a(pk, "RSA") ?
	    "critical,digitalSignature,keyEncipherment" :
	    "critical,digitalSignature,keyAgreement") ||
	    !add_ext(x, &v3, NID_ext_key_usage, "emailProtection") ||
	    !add_ext(x, &v3, NID_subject_key_identifier, "hash") ||
	    !add_ext(x, &v3, NID_authority_key_identifier, "keyid") ||
	    X509_sign(x, S.cakey, EVP_sha256()) <= 0)
		goto out;
	ok = 1;
out:
	if (!ok) {
		ERR_print_errors_fp(stderr);
		X509_free(x);
		x = NULL;
	}
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	BN_free(bn);
	EVP_PKEY_free(other);
	return x;
}

static OSSL_CMP_PKISI *
cb_cert_request(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req, int rid,
    const OSSL_CRMF_MSG *crm, const X509_REQ *p10cr, X509 **certOut,
    STACK_OF(X509) **chainOut, STACK_OF(X509) **caPubs)
{
	(void)srv;
	(void)req;
	(void)rid;
	(void)crm;
	(void)caPubs;
	*certOut = NULL;
	*chainOut = NULL;
	if (S.mode == M_REJECT)
		return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_rejection,
		    1 << OSSL_CMP_PKIFAILUREINFO_notAuthorized,
		    "test CA policy: no certificates today");
	if (p10cr == NULL)
		return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_rejection,
		    1 << OSSL_CMP_PKIFAILUREINFO_badRequest,
		    "this test server answers p10cr only");
	if ((*certOut = issue(p10cr)) == NULL)
		return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_rejection,
		    1 << OSSL_CMP_PKIFAILUREINFO_badPOP,
		    "CSR does not verify or cannot be signed");
	if ((*chainOut = sk_X509_new_null()) == NULL ||
	    !X509_up_ref(S.cacert) || !sk_X509_push(*chainOut, S.cacert))
		return NULL;
	return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, NULL);
}

static OSSL_CMP_PKISI *
cb_rr(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req, const X509_NAME *iss,
    const ASN1_INTEGER *serial)
{
	BIGNUM *bn;
	char *hex;
	FILE *f;

	(void)srv;
	(void)req;
	if (S.mode == M_REJECT)
		return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_rejection,
		    1 << OSSL_CMP_PKIFAILUREINFO_notAuthorized,
		    "test CA policy: no revocations today");
	if (X509_NAME_cmp(iss, X509_get_subject_name(S.cacert)) != 0)
		return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_rejection,
		    1 << OSSL_CMP_PKIFAILUREINFO_badCertId, "not our issuer");
	if ((bn = ASN1_INTEGER_to_BN(serial, NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL) {
		BN_free(bn);
		return NULL;
	}
	if (S.revoked != NULL && (f = fopen(S.revoked, "a")) != NULL) {
		fprintf(f, "%s\n", hex);
		fclose(f);
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, NULL);
}

static int
cb_genm(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req,
    const STACK_OF(OSSL_CMP_ITAV) *in, STACK_OF(OSSL_CMP_ITAV) **out)
{
	(void)srv;
	(void)req;
	(void)in;
	*out = sk_OSSL_CMP_ITAV_new_null();
	return *out != NULL;
}

static void
cb_error(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req,
    const OSSL_CMP_PKISI *si, const ASN1_INTEGER *code,
    const OSSL_CMP_PKIFREETEXT *details)
{
	char buf[OSSL_CMP_PKISI_BUFLEN];

	(void)srv;
	(void)req;
	(void)code;
	(void)details;
	fprintf(stderr, "cmp_server: client error: %s\n",
	    OSSL_CMP_snprint_PKIStatusInfo(si, buf, sizeof(buf)));
}

static int
cb_certconf(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req, int rid,
    const ASN1_OCTET_STRING *hash, const OSSL_CMP_PKISI *si)
{
	char buf[OSSL_CMP_PKISI_BUFLEN];

	(void)srv;
	(void)req;
	(void)rid;
	(void)hash;
	fprintf(stderr, "cmp_server: certConf: %s\n", si == NULL ?
	    "accepted" : OSSL_CMP_snprint_PKIStatusInfo(si, buf, sizeof(buf)));
	return 1;
}

static int
cb_pollreq(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req, int rid,
    OSSL_CMP_MSG **creq, int64_t *after)
{
	(void)srv;
	(void)req;
	(void)rid;
	(void)after;
	*creq = NULL;
	return 0;
}

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned int code, const char *type,
    const void *data, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)data,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (type != NULL)
		MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* One CMP exchange: DER request in, DER response out. */
static enum MHD_Result
serve(struct MHD_Connection *conn, struct body *b)
{
	static const char garbage[] = "this is not a CMP message\n";
	OSSL_CMP_MSG *req = NULL, *rsp = NULL;
	BIO *in = NULL, *out = NULL;
	char *der = NULL;
	long len;
	enum MHD_Result ret;

	if (S.mode == M_HTTP500)
		return reply(conn, 500, "text/plain", "broken\n", 7);
	if (S.mode == M_GARBAGE)
		return reply(conn, 200, "application/pkixcmp", garbage,
		    sizeof(garbage) - 1);
	if ((in = BIO_new_mem_buf(b->data, (int)b->len)) == NULL ||
	    (req = d2i_OSSL_CMP_MSG_bio(in, NULL)) == NULL) {
		ERR_print_errors_fp(stderr);
		ret = reply(conn, 400, "text/plain", "bad request\n", 12);
		goto out;
	}
	if ((rsp = OSSL_CMP_SRV_process_request(S.srv, req)) == NULL ||
	    (out = BIO_new(BIO_s_mem())) == NULL ||
	    !i2d_OSSL_CMP_MSG_bio(out, rsp) ||
	    (len = BIO_get_mem_data(out, &der)) <= 0) {
		ERR_print_errors_fp(stderr);
		ret = reply(conn, 500, "text/plain", "server error\n", 13);
		goto out;
	}
	ERR_print_errors_fp(stderr);	/* why a request was refused */
	ret = reply(conn, 200, "application/pkixcmp", der, (size_t)len);
out:
	BIO_free(in);
	BIO_free(out);
	OSSL_CMP_MSG_free(req);
	OSSL_CMP_MSG_free(rsp);
	return ret;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *data, size_t *size,
    void **con_cls)
{
	struct body *b = *con_cls;
	unsigned char *p;

	(void)cls;
	(void)url;
	(void)version;
	if (strcmp(method, "POST") != 0)
		return reply(conn, 405, "text/plain", "POST only\n", 10);
	if (b == NULL) {
		if ((b = calloc(1, sizeof(*b))) == NULL)
			return MHD_NO;
		*con_cls = b;
		return MHD_YES;
	}
	if (*size > 0) {
		if (b->len + *size > BODY_MAX ||
		    (p = realloc(b->data, b->len + *size)) == NULL)
			return MHD_NO;
		memcpy(p + b->len, data, *size);
		b->data = p;
		b->len += *size;
		*size = 0;
		return MHD_YES;
	}
	return serve(conn, b);
}

static void
done(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct body *b = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (b != NULL) {
		free(b->data);
		free(b);
		*con_cls = NULL;
	}
}

static unsigned char *
read_secret(const char *path, int *len)
{
	static unsigned char buf[1024];
	FILE *f;
	size_t n;

	if ((f = fopen(path, "r")) == NULL)
		die(path);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	*len = (int)n;
	return buf;
}

/* A whole PEM file as a string (for MHD's TLS options). */
static char *
read_text(const char *path)
{
	FILE *f;
	char *buf;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if ((buf = calloc(1, BODY_MAX + 1)) != NULL &&
	    fread(buf, 1, BODY_MAX, f) == 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

int
main(int argc, char **argv)
{
	const char *cacert = NULL, *cakey = NULL, *portfile = NULL;
	const char *ref = NULL, *secret = NULL, *srvcert = NULL;
	const char *srvkey = NULL, *ctrust = NULL;
	const char *tlscert = NULL, *tlskey = NULL;
	char *tcpem = NULL, *tkpem = NULL;
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct MHD_Daemon *d;
	OSSL_CMP_CTX *ctx;
	X509_STORE *st;
	X509 *x;
	EVP_PKEY *k;
	unsigned char *sec;
	sigset_t set;
	FILE *f;
	int ch, fd, one = 1, port = 0, seclen, sig;

	while ((ch = getopt(argc, argv, "c:k:o:r:s:S:K:T:R:m:p:t:u:")) != -1) {
		switch (ch) {
		case 'c': cacert = optarg; break;
		case 'k': cakey = optarg; break;
		case 'o': portfile = optarg; break;
		case 'r': ref = optarg; break;
		case 's': secret = optarg; break;
		case 'S': srvcert = optarg; break;
		case 'K': srvkey = optarg; break;
		case 'T': ctrust = optarg; break;
		case 'R': S.revoked = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 't': tlscert = optarg; break;
		case 'u': tlskey = optarg; break;
		case 'm':
			if (strcmp(optarg, "ok") == 0) S.mode = M_OK;
			else if (strcmp(optarg, "reject") == 0)
				S.mode = M_REJECT;
			else if (strcmp(optarg, "otherkey") == 0)
				S.mode = M_OTHERKEY;
			else if (strcmp(optarg, "garbage") == 0)
				S.mode = M_GARBAGE;
			else if (strcmp(optarg, "http500") == 0)
				S.mode = M_HTTP500;
			else
				die("-m ok|reject|otherkey|garbage|http500");
			break;
		default:
			die("usage: cmp_server -c CACERT -k CAKEY -o PORTFILE "
			    "[-r REF -s SECRETFILE] [-S SRVCERT -K SRVKEY "
			    "-T CLIENTTRUST] [-R REVOKED] [-m MODE] [-p PORT]");
		}
	}
	if (cacert == NULL || cakey == NULL || portfile == NULL ||
	    (ref == NULL) != (secret == NULL) ||
	    (srvcert == NULL) != (srvkey == NULL) ||
	    (secret == NULL && srvcert == NULL))
		die("need -c, -k, -o and -r/-s or -S/-K");
	S.cacert = load_cert(cacert);
	S.cakey = load_key(cakey);

	if ((S.srv = OSSL_CMP_SRV_CTX_new(NULL, NULL)) == NULL ||
	    !OSSL_CMP_SRV_CTX_init(S.srv, NULL, cb_cert_request, cb_rr,
	    cb_genm, cb_error, cb_certconf, cb_pollreq) ||
	    !OSSL_CMP_SRV_CTX_set_grant_implicit_confirm(S.srv, 1))
		die("OSSL_CMP_SRV_CTX");
	ctx = OSSL_CMP_SRV_CTX_get0_cmp_ctx(S.srv);
	if (secret != NULL) {
		sec = read_secret(secret, &seclen);
		if (!OSSL_CMP_CTX_set1_referenceValue(ctx,
		    (const unsigned char *)ref, (int)strlen(ref)) ||
		    !OSSL_CMP_CTX_set1_secretValue(ctx, sec, seclen))
			die("MAC secret");
		OPENSSL_cleanse(sec, (size_t)seclen);
	}
	if (srvcert != NULL) {
		x = load_cert(srvcert);
		k = load_key(srvkey);
		if (!OSSL_CMP_CTX_set1_cert(ctx, x) ||
		    !OSSL_CMP_CTX_set1_pkey(ctx, k))
			die("server certificate and key");
		X509_free(x);
		EVP_PKEY_free(k);
	}
	if (ctrust != NULL) {
		x = load_cert(ctrust);
		if ((st = X509_STORE_new()) == NULL ||
		    !X509_STORE_add_cert(st, x) ||
		    !OSSL_CMP_CTX_set0_trustedStore(ctx, st))
			die(ctrust);
		X509_free(x);
	}

	/* loopback only, a free port unless -p says otherwise */
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 16) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &slen) == -1)
		die("bind 127.0.0.1");

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (tlscert != NULL) {
		if (tlskey == NULL || (tcpem = read_text(tlscert)) == NULL ||
		    (tkpem = read_text(tlskey)) == NULL)
			die("-t TLSCERT -u TLSKEY");
		d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
		    MHD_USE_TLS, 0, NULL, NULL, handler, NULL,
		    MHD_OPTION_LISTEN_SOCKET, fd,
		    MHD_OPTION_HTTPS_MEM_CERT, tcpem,
		    MHD_OPTION_HTTPS_MEM_KEY, tkpem,
		    MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
		    MHD_OPTION_END);
	} else
		d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
		    NULL, handler, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
		    MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
		    MHD_OPTION_END);
	if (d == NULL)
		die("MHD_start_daemon");
	if ((f = fopen(portfile, "w")) == NULL)
		die(portfile);
	fprintf(f, "%u\n", (unsigned)ntohs(sin.sin_port));
	fclose(f);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	OSSL_CMP_SRV_CTX_free(S.srv);
	X509_free(S.cacert);
	EVP_PKEY_free(S.cakey);
	free(tcpem);
	free(tkpem);
	return 0;
}
