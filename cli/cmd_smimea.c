/*
 * cmd_smimea.c — `smimepub export-smimea --zone ZONE [--usage N]
 * [--selector 0|1] [--matching 0|1|2] [--ttl N] [--all]`: zone-file SMIMEA
 * records (RFC 8162) on stdout for every person under the configured base
 * and filter whose address is in ZONE and who holds a usable certificate
 * (by default only certificates smimepub published, per the journal).
 *
 * Owner names: RFC 8162 §3 hashes the local part as it is, but clients
 * differ on case, so when the stored local part is not all lower case a
 * second owner is written for its lower-cased form.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "cli/cli.h"
#include "dns/dns.h"
#include "common/jrnl.h"
#include "common/log.h"
#include "common/mail.h"
#include "common/x509.h"
#include "ldap/dir.h"

struct smimea_run {
	const char	*zone;		/* canonical, no final dot */
	int		 usage, selector, matching;
	long		 ttl;		/* -1: none written */
	int		 all;		/* foreign certificates too */
	struct jrnl	*j;		/* NULL with all */
	char *const	*ekus;		/* ca.allowed_ekus */
	time_t		 now;
	unsigned long	 records, people, out_of_zone, bad_mail, disabled,
			 foreign, unusable;
	int		 write_err;
};

static int
smimea_usage(void)
{
	fprintf(stderr, "usage: smimepub [-f FILE] export-smimea --zone ZONE "
	    "[--usage 0-3] [--selector 0|1] [--matching 0|1|2] [--ttl N] "
	    "[--all]\n");
	return EXIT_USAGE;
}

/* A decimal in [lo, hi] from an option value; -1 (logged) if it is not. */
static int
smimea_num(const char *opt, const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    v < lo || v > hi) {
		log_err("--%s \"%s\": must be a whole number from %ld to %ld",
		    opt, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static void
smimea_record(struct smimea_run *r, const char *label, const char *domain,
    const char *hex)
{
	int n;

	if (r->ttl >= 0)
		n = printf("%s._smimecert.%s. %ld IN SMIMEA %d %d %d %s\n",
		    label, domain, r->ttl, r->usage, r->selector, r->matching,
		    hex);
	else
		n = printf("%s._smimecert.%s. IN SMIMEA %d %d %d %s\n", label,
		    domain, r->usage, r->selector, r->matching, hex);
	if (n < 0)
		r->write_err = 1;
	r->records++;
}

static int
smimea_person(const struct dir_person *p, void *arg)
{
	struct smimea_run *r = arg;
	char mail[MAIL_MAX + 1], label[DNS_LABEL_HEX];
	char lower[DNS_LABEL_HEX], lpart[MAIL_LOCAL_MAX + 1];
	const char *why = NULL, *at;
	struct jrnl_cert jc;
	char *hex;
	size_t llen, i, n = 0;
	int ours;
	X509 *c;

	if (p->mail == NULL || p->n_usercert == 0)
		return 0;
	if (mail_canon(p->mail, strlen(p->mail), mail, &why) == -1) {
		log_warn("%s: mail \"%s\" skipped: %s", p->dn, p->mail, why);
		r->bad_mail++;
		return 0;
	}
	at = strrchr(mail, '@');
	llen = (size_t)(at - mail);
	if (!dns_in_zone(at + 1, r->zone)) {
		log_debug("%s: %s is not in zone %s", p->dn, mail, r->zone);
		r->out_of_zone++;
		return 0;
	}
	if (p->disabled) {
		log_debug("%s: disabled, skipped", p->dn);
		r->disabled++;
		return 0;
	}
	if (llen > MAIL_LOCAL_MAX)
		return 0;	/* mail_canon refuses it already */
	for (i = 0; i < llen; i++)
		lpart[i] = (char)(mail[i] >= 'A' && mail[i] <= 'Z' ?
		    mail[i] - 'A' + 'a' : mail[i]);
	lpart[llen] = '\0';
	if (dns_owner_label(mail, llen, label) == -1 ||
	    dns_owner_label(lpart, llen, lower) == -1) {
		log_ssl("%s: SHA-256 of the local part failed", p->dn);
		return -1;
	}
	for (i = 0; i < p->n_usercert; i++) {
		c = x509_from_der(p->usercert[i].data, p->usercert[i].len);
		if (c == NULL)
			continue;
		if (!x509_usable_set(c, mail, p->addrs, p->n_addrs, r->ekus,
		    r->now, &why)) {
			log_debug("%s: %s[%zu] not usable: %s", p->dn, mail, i,
			    why);
			r->unusable++;
			X509_free(c);
			continue;
		}
		if (!r->all && (ours = jrnl_cert_get(r->j, c, &jc)) != 0) {
			X509_free(c);
			if (ours == -1)
				return -1;
			r->foreign++;
			continue;
		}
		/* revoked or taken off by us, yet on the entry (an unpublish
		 * pending, or put back by someone else): not ours to announce */
		if (!r->all && (jc.state == JRNL_CERT_REVOKED ||
		    jc.state == JRNL_CERT_UNPUBLISHED)) {
			log_debug("%s: %s[%zu] %s in the journal", p->dn, mail,
			    i, jrnl_cert_state_str(jc.state));
			r->unusable++;
			X509_free(c);
			continue;
		}
		hex = dns_data_hex(c, r->selector, r->matching);
		X509_free(c);
		if (hex == NULL) {
			log_ssl("%s: %s[%zu]: encoding the certificate failed",
			    p->dn, mail, i);
			return -1;
		}
		smimea_record(r, label, at + 1, hex);
		if (strcmp(label, lower) != 0)
			smimea_record(r, lower, at + 1, hex);
		free(hex);
		n++;
	}
	if (n > 0)
		r->people++;
	return 0;
}

int
cmd_smimea(struct cfg *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "zone", required_argument, NULL, 'z' },
		{ "usage", required_argument, NULL, 'u' },
		{ "selector", required_argument, NULL, 's' },
		{ "matching", required_argument, NULL, 'm' },
		{ "ttl", required_argument, NULL, 't' },
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	char zone[DNS_DOMAIN_MAX + 1];
	const char *zarg = NULL, *why = NULL;
	struct smimea_run r;
	struct dir *d = NULL;
	long v;
	int ch, rc = EXIT_FAIL;

	memset(&r, 0, sizeof(r));
	r.usage = 3;		/* DANE-EE: the certificate itself */
	r.selector = 0;		/* whole certificate ... */
	r.matching = 0;		/* ... in full: a sender needs it to encrypt */
	r.ttl = -1;
	optind = 0;	/* glibc: 0 re-initialises (main used "+" ordering) */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'z':
			zarg = optarg;
			break;
		case 'u':
			if (smimea_num("usage", optarg, 0, 3, &v) == -1)
				return EXIT_USAGE;
			r.usage = (int)v;
			break;
		case 's':
			if (smimea_num("selector", optarg, 0, 1, &v) == -1)
				return EXIT_USAGE;
			r.selector = (int)v;
			break;
		case 'm':
			if (smimea_num("matching", optarg, 0, 2, &v) == -1)
				return EXIT_USAGE;
			r.matching = (int)v;
			break;
		case 't':
			/* RFC 2181 §8: 0 .. 2^31 - 1 */
			if (smimea_num("ttl", optarg, 0, INT_MAX, &v) == -1)
				return EXIT_USAGE;
			r.ttl = v;
			break;
		case 'a':
			r.all = 1;
			break;
		default:
			return smimea_usage();
		}
	}
	if (optind != argc) {
		log_err("export-smimea: unexpected argument \"%s\"",
		    argv[optind]);
		return smimea_usage();
	}
	if (zarg == NULL) {
		log_err("export-smimea: --zone is required");
		return smimea_usage();
	}
	if (dns_zone_canon(zarg, zone, &why) == -1) {
		log_err("--zone \"%s\": not a domain name: %s", zarg, why);
		return EXIT_USAGE;
	}
	r.zone = zone;
	r.now = time(NULL);
	r.ekus = cfg->ca.allowed_ekus;
	if (!r.all && (r.j = jrnl_open(cfg->sync.state_dir)) == NULL)
		goto out;
	if ((d = dir_new(&cfg->directory)) == NULL || dir_connect(d) == -1)
		goto out;
	if (dir_search_people(d, NULL, smimea_person, &r) == -1) {
		log_err("export-smimea: searching %s failed; no complete "
		    "record set was written", cfg->directory.base);
		goto out;
	}
	if (fflush(stdout) == EOF || ferror(stdout) || r.write_err) {
		log_err("export-smimea: writing the records failed");
		goto out;
	}
	fprintf(stderr, "smimepub: export-smimea: %lu record%s for %lu %s in zone %s; "
	    "skipped: %lu outside the zone, %lu invalid address%s, "
	    "%lu disabled, %lu unusable certificate%s, %lu %s\n",
	    r.records, r.records == 1 ? "" : "s", r.people,
	    r.people == 1 ? "person" : "people", zone, r.out_of_zone,
	    r.bad_mail, r.bad_mail == 1 ? "" : "es", r.disabled, r.unusable,
	    r.unusable == 1 ? "" : "s", r.foreign, r.all ? "foreign" :
	    "not published by smimepub (--all includes them)");
	rc = EXIT_OK;
out:
	dir_free(d);
	jrnl_close(r.j);
	return rc;
}
