/*
 * exec.c — the exec driver (ca.driver = "exec"), the way certmonger reaches
 * any CA: run ca.exec.command (no shell) with the CSR PEM on stdin and
 * SMIMEPUB_OPERATION, SMIMEPUB_MAIL, SMIMEPUB_ADDRESSES (every address the
 * certificate must name, space-separated, SMIMEPUB_MAIL first: with
 * directory.alias_attributes, the aliases follow), SMIMEPUB_DISPLAY_NAME,
 * SMIMEPUB_KEY_PURPOSE ("encryption and signing", or with
 * keys.separate_signing "encryption" or "signing": what the CSR's keyUsage
 * request asks for) and SMIMEPUB_REQUEST_ID in its environment. Its exit status is the answer:
 * 0 issued (stdout: the chain in PEM, leaf first), 1 rejected (stderr's
 * first line: the reason), 2 pending (stdout's first line: the poll id, an
 * optional second line: seconds to wait), anything else an error. A poll
 * runs it with SMIMEPUB_OPERATION=poll and SMIMEPUB_POLL_ID; a revocation
 * with SMIMEPUB_OPERATION=revoke, the certificate PEM on stdin and
 * SMIMEPUB_REVOKE_REASON. A helper that outlives ca.exec.timeout is killed
 * with its process group. The anchors come from ca.exec.ca_cert only:
 * nothing the helper prints is ever trusted as a root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "ca/exec_priv.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/x509.h"

#define RETRY_DEFAULT	60
#define RETRY_MAX	(7 * 86400)

/* The helper failed: log its status and the first line of its stderr. */
static void
run_failed(struct exec_ctx *x, const char *op, const struct run_out *r)
{
	char *why = exec_first_line(r->err, r->errlen);

	if (r->status == -1)
		log_err("ca.exec.command %s: %s: killed by signal %d%s%s",
		    x->command, op, r->sig, why && *why ? ": " : "",
		    why ? why : "");
	else if (r->status == 127 && (why == NULL || *why == '\0'))
		log_err("ca.exec.command %s: %s: exit 127 (cannot be run?)",
		    x->command, op);
	else
		log_err("ca.exec.command %s: %s: exit status %d%s%s",
		    x->command, op, r->status,
		    why && *why ? ": " : "", why ? why : "");
	free(why);
}

/* Every PEM certificate of the helper's stdout, leaf first, into res. */
static int
parse_chain(struct exec_ctx *x, const char *op, const struct run_out *r,
    struct ca_result *res)
{
	BIO *b = NULL;
	X509 *c = NULL;
	unsigned long e;
	int rc = -1;

	if ((b = BIO_new_mem_buf(r->out, (int)r->outlen)) == NULL ||
	    (res->chain = sk_X509_new_null()) == NULL) {
		log_ssl("ca.exec.command %s: out of memory", x->command);
		goto out;
	}
	while ((c = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (res->cert == NULL)
			res->cert = c;
		else if (!sk_X509_push(res->chain, c)) {
			X509_free(c);
			log_ssl("ca.exec.command %s: out of memory",
			    x->command);
			goto out;
		}
	}
	e = ERR_peek_last_error();
	if (res->cert == NULL || ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
		ERR_clear_error();
		log_err("ca.exec.command %s: %s: exit 0 but stdout is not a "
		    "PEM certificate chain (%zu bytes)", x->command, op,
		    r->outlen);
		goto out;
	}
	ERR_clear_error();
	res->status = CA_ISSUED;
	rc = 0;
out:
	BIO_free(b);
	if (rc == -1)
		ca_result_clear(res);
	return rc;
}

/* Turn a finished run of enrol or poll into the result. */
int
exec_answer(struct exec_ctx *x, const char *op, const struct run_out *r,
    struct ca_result *res)
{
	const char *nl;
	char *end;
	long secs = RETRY_DEFAULT;

	switch (r->status) {
	case 0:
		return parse_chain(x, op, r, res);
	case 1:
		res->status = CA_REJECTED;
		if ((res->reason = exec_first_line(r->err, r->errlen)) == NULL)
			return -1;
		if (*res->reason == '\0') {
			free(res->reason);
			res->reason = strdup("rejected by ca.exec.command "
			    "(no reason on stderr)");
		}
		return res->reason == NULL ? -1 : 0;
	case 2:
		if ((res->txid = exec_first_line(r->out, r->outlen)) == NULL)
			return -1;
		if (*res->txid == '\0' || strlen(res->txid) >= LINE_MAX_) {
			log_err("ca.exec.command %s: %s: exit 2 (pending) "
			    "without a poll id on stdout's first line",
			    x->command, op);
			ca_result_clear(res);
			return -1;
		}
		if ((nl = memchr(r->out, '\n', r->outlen)) != NULL &&
		    nl[1] != '\0' && nl[1] != '\n') {
			errno = 0;
			secs = strtol(nl + 1, &end, 10);
			if (errno != 0 || end == nl + 1 || secs < 0 ||
			    secs > RETRY_MAX || (*end != '\0' &&
			    *end != '\n' && *end != '\r')) {
				log_err("ca.exec.command %s: %s: exit 2: "
				    "second line is not a number of seconds "
				    "(0..%d)", x->command, op, RETRY_MAX);
				ca_result_clear(res);
				return -1;
			}
		}
		res->status = CA_PENDING;
		res->retry_after = time(NULL) + secs;
		return 0;
	default:
		run_failed(x, op, r);
		return -1;
	}
}

/* The CN of the CSR's subject in UTF-8 when it is printable; else NULL. */
static char *
csr_cn(X509_REQ *csr)
{
	const X509_NAME *n = X509_REQ_get_subject_name(csr);
	unsigned char *u = NULL;
	char *s = NULL;
	int i, len;

	if ((i = X509_NAME_get_index_by_NID(n, NID_commonName, -1)) < 0 ||
	    (len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(
	    X509_NAME_get_entry(n, i)))) <= 0)
		goto out;
	for (i = 0; i < len; i++)
		if (u[i] < 0x20 || u[i] == 0x7f)
			goto out;
	s = strdup((char *)u);
out:
	OPENSSL_free(u);
	return s;
}

/*
 * mail, then every other rfc822Name the CSR asks for, space-separated (an
 * address holds no space: mail_canon refuses quoted local parts): what the
 * certificate must name (ca_check_issued). NULL when out of memory.
 */
static char *
exec_addresses(X509_REQ *csr, const char *mail)
{
	char **v, *s = NULL, *t;
	size_t n = 0, i;

	v = x509_req_addrs(csr, &n);
	if ((s = strdup(mail)) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if (strcasecmp(v[i], mail) == 0 || strchr(v[i], ' ') != NULL)
			continue;
		if (asprintf(&t, "%s %s", s, v[i]) == -1) {
			free(s);
			s = NULL;
			goto out;
		}
		free(s);
		s = t;
	}
out:
	x509_addrs_free(v);
	return s;
}

static int
exec_enrol(void *ctx, X509_REQ *csr, const char *mail, struct ca_result *res)
{
	struct exec_ctx *x = ctx;
	struct run_out r = { 0 };
	const char *vars[] = { "SMIMEPUB_MAIL", mail,
	    "SMIMEPUB_DISPLAY_NAME", NULL, "SMIMEPUB_KEY_PURPOSE",
	    keys_purpose_str(keys_csr_purpose(csr, NULL)),
	    "SMIMEPUB_ADDRESSES", NULL, NULL };
	const char *cmvars[] = { "CERTMONGER_OPERATION", "SUBMIT",
	    "CERTMONGER_CSR", NULL, "CERTMONGER_REQ_EMAIL", NULL, NULL };
	char *pem, *cn = NULL, *csrenv = NULL, *addrs = NULL;
	BIO *b = NULL;
	long len;
	int rc = -1;

	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509_REQ(b, csr) ||
	    (len = BIO_get_mem_data(b, &pem)) <= 0) {
		log_ssl("ca.exec.command %s: enrol %s: cannot encode the CSR",
		    x->command, mail);
		goto out;
	}
	vars[3] = cn = csr_cn(csr);
	if ((vars[7] = addrs = exec_addresses(csr, mail)) == NULL) {
		log_err("ca.exec.command %s: enrol %s: out of memory",
		    x->command, mail);
		goto out;
	}
	if (x->certmonger) {
		/* certmonger's helpers read the CSR from the environment */
		if ((csrenv = strndup(pem, (size_t)len)) == NULL)
			goto out;
		cmvars[3] = csrenv;
		cmvars[5] = mail;
		if (exec_run(x, "enrol", pem, (size_t)len, cmvars, &r) == -1)
			goto out;
		rc = exec_cm_answer(x, "enrol", &r, res);
		goto out;
	}
	if (exec_run(x, "enrol", pem, (size_t)len, vars, &r) == -1)
		goto out;
	rc = exec_answer(x, "enrol", &r, res);
out:
	exec_run_clear(&r);
	free(csrenv);
	free(addrs);
	free(cn);
	BIO_free(b);
	return rc;
}

static int
exec_poll(void *ctx, const char *txid, struct ca_result *res)
{
	struct exec_ctx *x = ctx;
	struct run_out r = { 0 };
	const char *vars[] = { "SMIMEPUB_POLL_ID", txid, NULL };
	const char *cmvars[] = { "CERTMONGER_OPERATION", "POLL",
	    "CERTMONGER_CA_COOKIE", txid, NULL };
	int rc = -1;

	if (exec_run(x, "poll", "", 0, x->certmonger ? cmvars : vars,
	    &r) == 0)
		rc = x->certmonger ? exec_cm_answer(x, "poll", &r, res) :
		    exec_answer(x, "poll", &r, res);
	exec_run_clear(&r);
	return rc;
}

static int
exec_revoke(void *ctx, X509 *cert, int reason)
{
	struct exec_ctx *x = ctx;
	struct run_out r = { 0 };
	const char *vars[] = { "SMIMEPUB_REVOKE_REASON", ca_reason_str(reason),
	    "SMIMEPUB_SERIAL", NULL, NULL };
	char *serial = NULL, *pem;
	BIO *b = NULL;
	long len;
	int rc = -1;

	if (x->certmonger) {
		/* certmonger revokes nothing itself (getcert has no revoke) */
		log_err("ca.exec.command %s: ca.exec.protocol certmonger has no "
		    "revocation: revoke the certificate at the CA by hand",
		    x->command);
		return -1;
	}
	if ((serial = x509_serial_hex(cert)) == NULL ||
	    (b = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509(b, cert) ||
	    (len = BIO_get_mem_data(b, &pem)) <= 0) {
		log_ssl("ca.exec.command %s: revoke: unreadable certificate",
		    x->command);
		goto out;
	}
	vars[3] = serial;
	if (exec_run(x, "revoke", pem, (size_t)len, vars, &r) == -1)
		goto out;
	if (r.status != 0) {
		run_failed(x, "revoke", &r);
		goto out;
	}
	log_info("ca.exec.command %s: revoked serial %s (%s)", x->command,
	    serial, ca_reason_str(reason));
	rc = 0;
out:
	exec_run_clear(&r);
	BIO_free(b);
	free(serial);
	return rc;
}

static X509_STORE *
exec_trust(void *ctx)
{
	return ((struct exec_ctx *)ctx)->store;
}

static void
exec_free(void *ctx)
{
	struct exec_ctx *x = ctx;

	if (x == NULL)
		return;
	X509_STORE_free(x->store);
	free(x->command);
	free(x);
}

static void *
exec_new(const struct cfg *cfg)
{
	const struct cfg_ca_exec *ec = &cfg->ca.exec;
	STACK_OF(X509) *anchors = NULL;
	struct exec_ctx *x = NULL;
	int i, ok = 0;

	if (ec->command == NULL || ec->command[0] != '/') {
		log_err("ca.exec.command %s: must be an absolute path",
		    ec->command ? ec->command : "(not set)");
		goto out;
	}
	if (access(ec->command, X_OK) == -1) {
		log_err("ca.exec.command %s: %s", ec->command,
		    strerror(errno));
		goto out;
	}
	if (ec->ca_cert == NULL) {
		log_err("ca.exec.ca_cert is not set: the exec driver needs "
		    "the CA certificate its helper's certificates must chain "
		    "to, and never trusts a root the helper returns");
		goto out;
	}
	if ((anchors = x509_load_file(ec->ca_cert)) == NULL)
		goto out;
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->command = strdup(ec->command)) == NULL ||
	    (x->store = X509_STORE_new()) == NULL) {
		log_err("ca.exec.command %s: out of memory", ec->command);
		goto out;
	}
	x->timeout = ec->timeout > 0 ? ec->timeout : 60;
	x->certmonger = ec->protocol != NULL &&
	    strcmp(ec->protocol, "certmonger") == 0;
	for (i = 0; i < sk_X509_num(anchors); i++)
		if (X509_STORE_add_cert(x->store, sk_X509_value(anchors,
		    i)) != 1) {
			log_ssl("ca.exec.ca_cert %s: cannot use certificate "
			    "%d", ec->ca_cert, i + 1);
			goto out;
		}
	ok = 1;
out:
	sk_X509_pop_free(anchors, X509_free);
	if (!ok) {
		exec_free(x);
		x = NULL;
	}
	return x;
}

const struct ca_driver ca_driver_exec = {
	.name = "exec",
	.needs = "ca.exec.command",
	.probe = ca_probe_exec,
	.new = exec_new,
	.enrol = exec_enrol,
	.poll = exec_poll,
	.revoke = exec_revoke,
	.trust = exec_trust,
	.free = exec_free,
};
