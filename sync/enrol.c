/*
 * enrol.c — the steps of one enrolment in order, each recorded before the
 * next side effect: the certificate is in the journal (ISSUED) before its
 * key is delivered or it is published, so a crash never loses an issued
 * certificate nor leaves one of ours on an entry that the journal would call
 * foreign. The private key lives only in memory between keys_generate() and
 * delivery, and is freed (cleansed) on every path.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/keys.h"
#include "common/log.h"
#include "common/x509.h"
#include "sync/deliver.h"
#include "sync/enrol.h"

static int
enr_is_ours(X509 *cert, void *arg)
{
	return jrnl_cert_is_ours(arg, cert) == 1;
}

/* Journal every certificate of ours that the entry held, but keep. */
static void
enr_mark_replaced(struct jrnl *j, const struct dir_person *p, X509 *keep,
    enum jrnl_cert_state state)
{
	X509 *c;
	size_t i;

	for (i = 0; p != NULL && i < p->n_usercert; i++) {
		c = x509_from_der(p->usercert[i].data, p->usercert[i].len);
		if (c == NULL)
			continue;
		if ((keep == NULL || X509_cmp(c, keep) != 0) &&
		    jrnl_cert_is_ours(j, c) == 1)
			(void)jrnl_cert_put(j, c, p->mail, p->id, state);
		X509_free(c);
	}
}

enum enr_outcome
enr_enrol(struct enr_ctx *e, const char *mail)
{
	struct ca_result res;
	struct dir_person *p = NULL, *before = NULL;
	EVP_PKEY *key = NULL;
	X509_REQ *csr = NULL;
	char *serial = NULL, *p12 = NULL;
	enum enr_outcome rc = ENR_FAILED;

	memset(&res, 0, sizeof(res));
	if (dir_find_by_mail(e->dir, mail, &p) == -1)
		goto out;
	if ((key = keys_generate(e->cfg->keys.type)) == NULL)
		goto out;
	if ((csr = keys_csr_new(key, mail, p->display_name)) == NULL)
		goto out;
	if (ca_enrol(e->ca, csr, mail, &res) == -1) {
		if (res.status == CA_REJECTED && res.cert != NULL) {
			/* issued but unfit: journal it so it can be revoked */
			(void)jrnl_cert_put(e->jrnl, res.cert, mail, p->id,
			    JRNL_CERT_ISSUED);
		}
		log_err("%s: enrolment with CA %s failed%s%s", mail,
		    ca_name(e->ca), res.reason ? ": " : "",
		    res.reason ? res.reason : "");
		goto out;
	}
	if (res.status == CA_REJECTED) {
		log_err("%s: CA %s rejected the request: %s", mail,
		    ca_name(e->ca), res.reason ? res.reason : "no reason");
		goto out;
	}
	if (res.status == CA_PENDING) {
		/* Holding the key until the CA answers needs the journal's
		 * encrypted key store (sync service); refuse rather than
		 * keep a key on disk unencrypted. */
		log_err("%s: CA %s answered pending (transaction %s); pending "
		    "requests are not supported by the command line yet", mail,
		    ca_name(e->ca), res.txid ? res.txid : "?");
		rc = ENR_PENDING;
		goto out;
	}
	serial = x509_serial_hex(res.cert);
	if (jrnl_cert_put(e->jrnl, res.cert, mail, p->id,
	    JRNL_CERT_ISSUED) == -1)
		goto out;
	if (dlv_escrow(e->cfg, key, res.cert) == -1)
		goto out;
	if (dlv_deliver(&e->cfg->keys, mail, key, res.cert, res.chain,
	    &p12) == -1)
		goto out;
	EVP_PKEY_free(key);	/* delivered: no copy of it stays here */
	key = NULL;
	if (dir_publish(e->dir, mail, res.cert, res.chain, enr_is_ours,
	    e->jrnl, &before) == -1)
		goto out;
	if (jrnl_cert_put(e->jrnl, res.cert, mail, p->id,
	    JRNL_CERT_PUBLISHED) == -1)
		goto out;
	enr_mark_replaced(e->jrnl, before, res.cert, JRNL_CERT_UNPUBLISHED);
	log_info("%s: issued serial %s by %s, delivered to %s, published on "
	    "%s", mail, serial ? serial : "?", ca_name(e->ca), p12, p->dn);
	rc = ENR_DONE;
out:
	EVP_PKEY_free(key);
	X509_REQ_free(csr);
	ca_result_clear(&res);
	dir_person_free(before);
	dir_person_free(p);
	free(serial);
	free(p12);
	return rc;
}

struct enr_revoke_arg {
	struct enr_ctx	*e;
	const char	*mail;
	int		 reason;
	int		 n, failed;
};

static int
enr_revoke_one(const struct jrnl_cert *r, void *arg)
{
	struct enr_revoke_arg *a = arg;
	X509 *c = NULL;

	if (strcmp(r->mail, a->mail) != 0 || r->state == JRNL_CERT_REVOKED)
		return 0;
	if (r->not_after < time(NULL))
		return 0;	/* expired: nothing left to revoke */
	if ((c = jrnl_cert_x509(a->e->jrnl, r)) == NULL ||
	    ca_revoke(a->e->ca, c, a->reason) == -1 ||
	    jrnl_cert_put(a->e->jrnl, c, r->mail, r->person_id,
	    JRNL_CERT_REVOKED) == -1) {
		a->failed++;
	} else {
		log_info("%s: revoked serial %s (%s)", a->mail, r->serial,
		    ca_reason_str(a->reason));
		a->n++;
	}
	X509_free(c);
	return 0;
}

enum enr_outcome
enr_revoke(struct enr_ctx *e, const char *mail, int reason)
{
	struct enr_revoke_arg a;
	struct dir_person *p = NULL;
	size_t removed = 0;
	enum enr_outcome rc = ENR_FAILED;

	memset(&a, 0, sizeof(a));
	a.e = e;
	a.mail = mail;
	a.reason = reason;
	/* Unpublish first: a revoked certificate must not stay on the entry
	 * even if the CA cannot be reached right now. */
	if (dir_find_by_mail(e->dir, mail, &p) == 0) {
		if (dir_unpublish(e->dir, mail, enr_is_ours, e->jrnl,
		    &removed) == -1)
			goto out;
	} else
		log_warn("%s: not in the directory; revoking from the journal "
		    "only", mail);
	if (jrnl_cert_each(e->jrnl, enr_revoke_one, &a) == -1)
		goto out;
	if (a.failed > 0)
		goto out;
	if (a.n == 0 && removed == 0) {
		log_err("%s: no certificate of ours to revoke", mail);
		goto out;
	}
	rc = ENR_DONE;
out:
	dir_person_free(p);
	return rc;
}
