/*
 * publish.c — putting our certificate on a person's entry and taking ours
 * off, once for everyone: an enrolment, a republish and a leaver of the
 * sync service, and the CLI's publish/unpublish. The entry is found by the
 * person's stable id (DESIGN.md: never the address, which can change
 * between the plan and the write), the journal decides which values are
 * ours (by issuer and serial), and every certificate of ours the modify
 * took off is journalled as unpublished, so the journal stays the truth
 * about what is on the entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "common/log.h"
#include "common/x509.h"
#include "enrol/enrol.h"
#include "enrol/enrol_priv.h"

int
enr_is_ours(X509 *cert, void *arg)
{
	/* a journal error counts as foreign: that can only keep a value on
	 * the entry, never remove one */
	return jrnl_cert_is_ours(arg, cert) == 1;
}

/* Journal every certificate of ours that the entry held, other than keep
 * and keep2, as unpublished: the modify that read p took them off. */
static void
enr_mark_unpublished(struct jrnl *j, const struct dir_person *p, X509 *keep,
    X509 *keep2)
{
	X509 *c;
	size_t i;

	for (i = 0; p != NULL && i < p->n_usercert; i++) {
		c = x509_from_der(p->usercert[i].data, p->usercert[i].len);
		if (c == NULL)
			continue;
		if ((keep == NULL || X509_cmp(c, keep) != 0) &&
		    (keep2 == NULL || X509_cmp(c, keep2) != 0) &&
		    jrnl_cert_is_ours(j, c) == 1)
			(void)jrnl_cert_put(j, c, NULL, NULL,
			    JRNL_CERT_UNPUBLISHED);
		X509_free(c);
	}
}

int
enr_publish(struct jrnl *j, struct dir *d, const char *id, X509 *cert,
    STACK_OF(X509) *chain)
{
	return enr_publish_pair(j, d, id, cert, NULL, chain);
}

int
enr_publish_pair(struct jrnl *j, struct dir *d, const char *id, X509 *cert,
    X509 *sign, STACK_OF(X509) *chain)
{
	struct dir_person *before = NULL;
	int rc;

	if (id == NULL || cert == NULL) {
		log_err("publish: %s", id == NULL ? "the entry has no stable "
		    "id to publish by" : "no certificate");
		return -1;
	}
	rc = dir_publish_id_pair(d, id, cert, sign, chain, enr_is_ours, j,
	    &before, NULL);
	if (rc == 1)
		log_err("%s: publish: no entry has this id (deleted?)", id);
	if (rc == 0)
		enr_mark_unpublished(j, before, cert, sign);
	dir_person_free(before);
	return rc == 0 ? 0 : -1;
}

int
enr_unpublish(struct jrnl *j, struct dir *d, const char *id,
    size_t *removed, char **dn_out)
{
	struct dir_person *before = NULL;
	int rc;

	if (dn_out != NULL)
		*dn_out = NULL;
	rc = dir_publish_id(d, id, NULL, NULL, enr_is_ours, j, &before,
	    removed);
	if (rc == 0)
		enr_mark_unpublished(j, before, NULL, NULL);
	if (before != NULL && dn_out != NULL &&
	    (*dn_out = strdup(before->dn)) == NULL) {
		log_err("%s: unpublish: out of memory", id);
		rc = -1;
	}
	dir_person_free(before);
	return rc;
}
