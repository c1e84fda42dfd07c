/*
 * cmd_publish.c — `smimepub publish MAIL CERT.pem`, `unpublish MAIL` and
 * `show MAIL`: publishing by hand, through the same directory code and the
 * same journal as the sync service, so the journal stays the truth about
 * which certificates on an entry are ours.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "cli/cli.h"
#include "common/audit.h"
#include "common/jrnl.h"
#include "common/log.h"
#include "common/mail.h"
#include "common/x509.h"
#include "ldap/dir.h"
#include "enrol/enrol.h"
#include "lookup/lk.h"

/* The entry found by mail is written by its stable id (enr_publish):
 * one whose id cannot be read is named, with why, rather than written. */
static int
cli_need_id(struct dir *d, const struct dir_person *p)
{
	char why[256];

	if (p->id != NULL)
		return 0;
	dir_id_problem(d, p, why, sizeof(why));
	log_err("%s: %s", p->dn, why);
	return -1;
}

static int
cli_open(struct cfg *cfg, struct jrnl **j, struct dir **d)
{
	if ((*j = jrnl_open(cfg->sync.state_dir)) == NULL)
		return -1;
	if ((*d = dir_new(&cfg->directory)) == NULL || dir_connect(*d) == -1)
		return -1;
	return enr_id_attr(cfg, *j, *d);
}

int
cmd_publish(struct cfg *cfg, int argc, char **argv)
{
	char mail[MAIL_MAX + 1], *serial = NULL;
	STACK_OF(X509) *certs = NULL, *chain = NULL;
	struct dir_person *p = NULL;
	struct jrnl *j = NULL;
	struct dir *d = NULL;
	const char *addr = mail, *uwhy = NULL;
	char why[512];
	X509 *leaf;
	int i, rc = EXIT_FAIL;

	if (argc != 3) {
		fprintf(stderr, "usage: smimepub [-f FILE] publish MAIL "
		    "CERT.pem\n");
		return EXIT_USAGE;
	}
	if (cli_mail_arg(argv[1], mail) == -1)
		return EXIT_USAGE;
	if ((certs = x509_load_file(argv[2])) == NULL)
		goto out;
	leaf = sk_X509_value(certs, 0);
	/* The one S/MIME profile check, as for a CA's answer; the names
	 * beside mail once the person's aliases are known (below). */
	if (x509_profile_check(leaf, &addr, 0, cfg->ca.allowed_ekus,
	    X509_USE_ENCRYPT, time(NULL), why, sizeof(why)) != X509_PROF_OK) {
		log_err("%s: not published: the first certificate is not "
		    "usable for mail to %s: %s", argv[2], mail, why);
		(void)audit_event("publication", NULL, mail, leaf, "manual",
		    "refused", why);
		goto out;
	}
	if ((chain = sk_X509_new_null()) == NULL)
		goto out;
	for (i = 1; i < sk_X509_num(certs); i++)
		if (!sk_X509_push(chain, sk_X509_value(certs, i)))
			goto out;
	if (cli_open(cfg, &j, &d) == -1)
		goto out;
	if (dir_find_by_mail(d, mail, &p) != 0 || cli_need_id(d, p) == -1)
		goto out;
	/* the certificate may name the person's aliases too, and no one
	 * else's address */
	if (!x509_usable_set(leaf, mail, p->addrs, p->n_addrs,
	    cfg->ca.allowed_ekus, time(NULL), &uwhy)) {
		log_err("%s: not published: the first certificate is not "
		    "usable for mail to %s: %s", argv[2], mail, uwhy);
		(void)audit_event("publication", p->id, mail, leaf, "manual",
		    "refused", uwhy);
		goto out;
	}
	/* Ours before it is on the entry: a crash after the modify must not
	 * leave a certificate of ours that the journal calls foreign. */
	if (jrnl_cert_put(j, leaf, mail, p->id, JRNL_CERT_ISSUED) == -1 ||
	    jrnl_cert_mark_manual(j, leaf) == -1)
		goto out;
	if (enr_publish(j, d, p->id, leaf, chain) == -1 ||
	    jrnl_cert_put(j, leaf, mail, p->id, JRNL_CERT_PUBLISHED) == -1)
		goto out;
	(void)audit_event_at("publication", p->id, mail, leaf, "manual",
	    "published", NULL, p->dn, NULL);
	serial = x509_serial_hex(leaf);
	printf("published serial %s on %s\n", serial ? serial : "?", p->dn);
	rc = EXIT_OK;
out:
	free(serial);
	dir_person_free(p);
	dir_free(d);
	jrnl_close(j);
	sk_X509_free(chain);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

int
cmd_unpublish(struct cfg *cfg, int argc, char **argv)
{
	char mail[MAIL_MAX + 1];
	struct dir_person *p = NULL;
	struct jrnl *j = NULL;
	struct dir *d = NULL;
	size_t removed = 0;
	int rc = EXIT_FAIL;

	if (argc != 2) {
		fprintf(stderr, "usage: smimepub [-f FILE] unpublish MAIL\n");
		return EXIT_USAGE;
	}
	if (cli_mail_arg(argv[1], mail) == -1)
		return EXIT_USAGE;
	if (cli_open(cfg, &j, &d) == -1)
		goto out;
	if (dir_find_by_mail(d, mail, &p) != 0 || cli_need_id(d, p) == -1 ||
	    enr_unpublish(j, d, p->id, &removed, NULL) != 0)
		goto out;
	(void)audit_event_at("unpublication", p->id, mail, NULL, "manual",
	    removed > 0 ? "unpublished" : "none", NULL, p->dn, NULL);
	printf("removed %zu certificate%s of ours from %s\n", removed,
	    removed == 1 ? "" : "s", p->dn);
	rc = EXIT_OK;
out:
	dir_person_free(p);
	dir_free(d);
	jrnl_close(j);
	return rc;
}

static void
show_time(const char *label, const ASN1_TIME *t)
{
	struct tm tm;
	char buf[32];

	if (ASN1_TIME_to_tm(t, &tm) == 1 &&
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
		printf("  %s: %s\n", label, buf);
	else
		printf("  %s: (unreadable)\n", label);
}

/* How lookupd judges revocation (lookup.crl_files, lookup.revocation), for
 * show: lookupd's own code (lk_certs_revocation) with the same anchors. */
struct show_rev {
	struct lk_certs	*lc;
	struct lk_rev	*rv;
	STACK_OF(X509)	*chain;		/* from the certs-only bundles */
};

static void
show_rev_open(struct cfg *cfg, const struct dir_person *p, struct show_rev *sr)
{
	STACK_OF(X509) *b;
	char buf[PATH_MAX];
	size_t i;

	memset(sr, 0, sizeof(*sr));
	sr->chain = sk_X509_new_null();
	for (i = 0; sr->chain != NULL && i < p->n_smime; i++) {
		b = x509_certsonly_parse(p->smime[i].data, p->smime[i].len);
		while (b != NULL && sk_X509_num(b) > 1)
			if (!sk_X509_push(sr->chain, sk_X509_pop(b)))
				break;
		sk_X509_pop_free(b, X509_free);
	}
	if ((sr->lc = lk_certs_new(cfg->lookup.crl_files, lk_anchors_path(cfg,
	    buf, sizeof(buf)), 0)) == NULL)
		return;
	if (strcmp(cfg->lookup.revocation, "files") != 0 &&
	    (sr->rv = lk_rev_new(cfg)) != NULL)
		lk_certs_set_rev(sr->lc, sr->rv);
}

static void
show_rev_close(struct show_rev *sr)
{
	lk_certs_free(sr->lc);
	lk_rev_free(sr->rv);
	sk_X509_pop_free(sr->chain, X509_free);
}

static void
show_cert(X509 *c, const char *mail, const struct dir_person *p,
    char *const *ekus, struct jrnl *j, struct show_rev *sr)
{
	char fp[X509_SHA256_HEX], *subj, *iss, *sn, rev[192];
	const char *why = NULL;
	int bad = 0;

	subj = x509_name_str(X509_get_subject_name(c));
	iss = x509_name_str(X509_get_issuer_name(c));
	sn = x509_serial_hex(c);
	if (x509_sha256_hex(c, fp) == -1)
		strcpy(fp, "?");
	printf("  subject: %s\n  issuer: %s\n  serial: %s\n",
	    subj ? subj : "?", iss ? iss : "?", sn ? sn : "?");
	show_time("not_before", X509_get0_notBefore(c));
	show_time("not_after", X509_get0_notAfter(c));
	printf("  sha256: %s\n", fp);
	printf("  published_by: %s\n", jrnl_cert_is_ours(j, c) == 1 ?
	    "smimepub" : "other");
	if (sr->lc == NULL)
		snprintf(rev, sizeof(rev), "not checked (lookupd's trust "
		    "anchors or lookup.crl_files cannot be loaded)");
	else
		bad = lk_certs_revocation(sr->lc, c, sr->chain, time(NULL),
		    rev, sizeof(rev));
	printf("  revocation: %s\n", rev);
	if (!x509_usable_set(c, mail, p->addrs, p->n_addrs, ekus, time(NULL),
	    &why))
		printf("  usable: no (%s)\n", why);
	else if (bad)
		printf("  usable: no (%s)\n", bad == 1 ? "revoked" :
		    "no revocation answer, lookup.revocation_fail = hard");
	else
		printf("  usable: yes\n");
	free(subj);
	free(iss);
	free(sn);
}

int
cmd_show(struct cfg *cfg, int argc, char **argv)
{
	char mail[MAIL_MAX + 1], fp[X509_SHA256_HEX], fp0[X509_SHA256_HEX];
	const struct dir_flavour *fl;
	STACK_OF(X509) *bundle = NULL;
	struct dir_person *p = NULL;
	struct jrnl *j = NULL;
	struct dir *d = NULL;
	struct show_rev sr = { NULL, NULL, NULL };
	X509 *c;
	size_t i;
	int rc = EXIT_FAIL;

	if (argc != 2) {
		fprintf(stderr, "usage: smimepub [-f FILE] show MAIL\n");
		return EXIT_USAGE;
	}
	if (cli_mail_arg(argv[1], mail) == -1)
		return EXIT_USAGE;
	if (cli_open(cfg, &j, &d) == -1)
		goto out;
	if (dir_find_by_mail(d, mail, &p) != 0)
		goto out;
	fl = dir_flavour_get(cfg->directory.flavour);
	show_rev_open(cfg, p, &sr);
	printf("dn: %s\nid: %s\nmail: %s\n", p->dn, p->id ? p->id : "?",
	    p->mail ? p->mail : mail);
	fp0[0] = '\0';
	for (i = 0; i < p->n_usercert; i++) {
		printf("%s[%zu]:\n", fl->attr_usercert, i);
		if ((c = x509_from_der(p->usercert[i].data,
		    p->usercert[i].len)) == NULL) {
			printf("  (not a DER certificate, %zu bytes)\n",
			    p->usercert[i].len);
			continue;
		}
		show_cert(c, mail, p, cfg->ca.allowed_ekus, j, &sr);
		if (i == 0 && x509_sha256_hex(c, fp0) == -1)
			fp0[0] = '\0';
		X509_free(c);
	}
	/* 389-ds: the plain subtype, which clients asking for
	 * userCertificate see too; never written by smimepub */
	for (i = 0; i < p->n_usercert_plain; i++) {
		printf("%s[%zu]:\n", fl->attr_usercert_plain, i);
		if ((c = x509_from_der(p->usercert_plain[i].data,
		    p->usercert_plain[i].len)) == NULL) {
			printf("  (not a DER certificate, %zu bytes)\n",
			    p->usercert_plain[i].len);
			continue;
		}
		show_cert(c, mail, p, cfg->ca.allowed_ekus, j, &sr);
		X509_free(c);
	}
	for (i = 0; i < p->n_smime; i++) {
		printf("%s[%zu]:", fl->attr_smime, i);
		bundle = x509_certsonly_parse(p->smime[i].data, p->smime[i].len);
		if (bundle == NULL || sk_X509_num(bundle) == 0) {
			printf(" (not a certs-only bundle, %zu bytes)\n",
			    p->smime[i].len);
		} else {
			c = sk_X509_value(bundle, 0);
			if (x509_sha256_hex(c, fp) == -1)
				strcpy(fp, "?");
			printf(" certs-only bundle of %d certificate%s\n"
			    "  first sha256: %s\n  matches %s[0]: %s\n",
			    sk_X509_num(bundle),
			    sk_X509_num(bundle) == 1 ? "" : "s", fp,
			    fl->attr_usercert, strcmp(fp, fp0) == 0 ? "yes" :
			    "no");
		}
		sk_X509_pop_free(bundle, X509_free);
		bundle = NULL;
	}
	if (p->n_usercert == 0 && p->n_smime == 0 && p->n_usercert_plain == 0)
		printf("no certificate published\n");
	rc = EXIT_OK;
out:
	show_rev_close(&sr);
	dir_person_free(p);
	dir_free(d);
	jrnl_close(j);
	return rc;
}
