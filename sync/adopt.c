/*
 * adopt.c — what an instance that took the lease over (sync/lease.h) does
 * with the certificates the former holder issued: each instance has a
 * journal of its own, so without this it would take every person the
 * other one enrolled for someone with no certificate of ours, and enrol
 * them all again. A person's current certificate is the first value of
 * userCertificate (DESIGN.md); when that is one the journal does not know,
 * our CA issued it, it names the person's address and is usable now, and
 * it is newer than what the journal holds, it is recorded as ours and
 * PUBLISHED: renewed, revoked and unpublished from then on like any other.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/audit.h"
#include "common/log.h"
#include "common/x509.h"
#include "sync/sync_priv.h"

int
sync_adopt(struct enr_ctx *e, const struct dir_person *p, const char *mail,
    const struct jrnl_enr *r)
{
	struct jrnl_enr rec;
	struct jrnl_tx *tx = NULL;
	const char *why = NULL;
	X509 *cert = NULL;
	char *serial = NULL;
	struct tm tm;
	time_t now = time(NULL), na;
	int rc = 0;

	if (p->n_usercert == 0 || (cert = x509_from_der(p->usercert[0].data,
	    p->usercert[0].len)) == NULL)
		goto out;
	if ((rc = jrnl_cert_is_ours(e->jrnl, cert)) != 0) {
		rc = rc == 1 ? 0 : -1;	/* known: nothing to adopt */
		goto out;
	}
	if (!x509_usable_ekus(cert, mail, e->cfg->ca.allowed_ekus, now,
	    &why) ||
	    !ca_issued_here(e->ca, cert) ||
	    ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
		goto out;
	na = timegm(&tm);
	if (r != NULL && r->serial[0] != '\0' && na <= r->not_after)
		goto out;	/* not newer than ours: republish ours */
	if ((serial = x509_serial_hex(cert)) == NULL) {
		rc = -1;
		goto out;
	}
	if (r != NULL)
		rec = *r;
	else {
		memset(&rec, 0, sizeof(rec));
		snprintf(rec.person_id, sizeof(rec.person_id), "%s", p->id);
	}
	snprintf(rec.mail, sizeof(rec.mail), "%s", mail);
	snprintf(rec.serial, sizeof(rec.serial), "%s", serial);
	rec.state = JRNL_PUBLISHED;
	rec.failed_in = 0;
	rec.not_after = na;
	rec.reason[0] = rec.txid[0] = '\0';
	/* the set it names is not ours to know: no re-enrolment for it */
	snprintf(rec.addrs, sizeof(rec.addrs), "?");
	snprintf(rec.named, sizeof(rec.named), "?");
	rec.attempts = 0;
	rec.next_retry = 0;
	if ((tx = jrnl_tx_begin(e->jrnl)) == NULL ||
	    jrnl_tx_cert_put(tx, cert, mail, p->id, JRNL_CERT_PUBLISHED) == -1 ||
	    jrnl_tx_enr_put(tx, &rec) == -1) {
		jrnl_tx_abort(tx);
		rc = -1;
		goto out;
	}
	if (jrnl_tx_commit(tx) == -1) {
		rc = -1;
		goto out;
	}
	log_info("sync: %s: adopted certificate %s found on %s (our CA's, "
	    "not in this journal: issued by the instance that held the "
	    "lease before)", mail, serial, p->dn);
	(void)audit_event_at("adoption", p->id, mail, cert, ca_name(e->ca),
	    "adopted", NULL, p->dn, NULL);
	rc = 1;
out:
	free(serial);
	X509_free(cert);
	return rc;
}
