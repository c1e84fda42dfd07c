/*
 * cmd_recover.c — `smimepub recover MAIL --kra-key KEY [--kra-cert CERT]
 * [--all | --serial S] [--out FILE]`: a recovery officer opens escrowed
 * decryption keys of the person MAIL names and gets them back in one
 * PKCS#12 under a fresh passphrase, printed once: the newest by default,
 * every one (newest first: old mail stays readable on a new device) with
 * --all, or the one of serial S. The person is found by the address and
 * followed by the journal's person id, so keys from before an address
 * change come too. Signing keys are never escrowed, so never here.
 */
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cli/cli.h"
#include "common/jrnl.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/mail.h"
#include "enrol/enrol.h"

#define RECOVER_IDS	8	/* person ids one address was ever given to */
#define RECOVER_MAX	256	/* escrowed keys of one person, plenty */

struct recover_key {
	char		 serial[80];
	X509		*cert;		/* as escrowed beside the key */
	time_t		 not_before, not_after;
	EVP_PKEY	*key;
	char		 name[384];	/* friendlyName */
};

struct recover_pick {
	const struct cfg *cfg;
	const char	*mail;
	char		 ids[RECOVER_IDS][80];
	int		 nids;
	struct recover_key keys[RECOVER_MAX];
	size_t		 n;
};

/* Pass 1: the person ids the address belongs or belonged to. */
static void
recover_add_id(struct recover_pick *p, const char *id)
{
	int i;

	if (id[0] == '\0' || p->nids == RECOVER_IDS)
		return;
	for (i = 0; i < p->nids; i++)
		if (strcmp(p->ids[i], id) == 0)
			return;
	snprintf(p->ids[p->nids++], sizeof(p->ids[0]), "%s", id);
}

static int
recover_id_cb(const struct jrnl_cert *r, void *arg)
{
	struct recover_pick *p = arg;

	if (mail_eq(r->mail, p->mail))
		recover_add_id(p, r->person_id);
	return 0;
}

static int
recover_enr_cb(const struct jrnl_enr *e, void *arg)
{
	struct recover_pick *p = arg;

	if (mail_eq(e->mail, p->mail))
		recover_add_id(p, e->person_id);
	return 0;
}

static time_t
recover_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* Pass 2: every certificate of the person with a key in escrow. */
static int
recover_key_cb(const struct jrnl_cert *r, void *arg)
{
	struct recover_pick *p = arg;
	struct recover_key *k;
	int i, mine = mail_eq(r->mail, p->mail);
	size_t j;
	X509 *c;

	for (i = 0; !mine && i < p->nids; i++)
		mine = strcmp(r->person_id, p->ids[i]) == 0;
	if (!mine || p->n == RECOVER_MAX)
		return 0;
	for (j = 0; j < p->n; j++)
		if (strcmp(p->keys[j].serial, r->serial) == 0)
			return 0;
	if ((c = enr_escrow_cert(p->cfg, r->serial)) == NULL)
		return 0;	/* not escrowed (a signing key, or no escrow) */
	k = &p->keys[p->n++];
	snprintf(k->serial, sizeof(k->serial), "%s", r->serial);
	k->cert = c;
	k->not_before = recover_time(X509_get0_notBefore(c));
	k->not_after = recover_time(X509_get0_notAfter(c));
	return 0;
}

/* Newest first: the later notBefore, then the later notAfter. */
static int
recover_cmp(const void *a, const void *b)
{
	const struct recover_key *x = a, *y = b;

	if (x->not_before != y->not_before)
		return x->not_before < y->not_before ? 1 : -1;
	if (x->not_after != y->not_after)
		return x->not_after < y->not_after ? 1 : -1;
	return strcmp(x->serial, y->serial);
}

/*
 * S as given on the command line (hex, case-insensitive, colons and a 0x
 * allowed) against a journal serial: equal as numbers. -1 if S is not hex.
 */
static int
recover_serial_canon(const char *in, char *out, size_t sz)
{
	size_t o = 0;

	if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
		in += 2;
	for (; *in != '\0'; in++) {
		if (*in == ':')
			continue;
		if (!isxdigit((unsigned char)*in) || o + 1 >= sz)
			return -1;
		if (o == 0 && *in == '0')
			continue;	/* leading zeros: the same number */
		out[o++] = (char)toupper((unsigned char)*in);
	}
	if (o == 0)
		out[o++] = '0';
	out[o] = '\0';
	return 0;
}

static int
recover_serial_eq(const char *canon, const char *serial)
{
	char s[80];

	return recover_serial_canon(serial, s, sizeof(s)) == 0 &&
	    strcmp(s, canon) == 0;
}

/* Keep only the key at index keep, freeing the others. */
static void
recover_keep(struct recover_pick *p, size_t keep)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (i != keep)
			X509_free(p->keys[i].cert);
	if (keep != 0)
		p->keys[0] = p->keys[keep];
	p->n = 1;
}

/* Keep only the key of serial canon (logged when it is not theirs). */
static int
recover_only(struct recover_pick *p, const char *canon, const char *given)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (recover_serial_eq(canon, p->keys[i].serial)) {
			recover_keep(p, i);
			return 0;
		}
	log_err("--serial %s: not an escrowed key of %s (smimepub status %s "
	    "lists the person's certificates)", given, p->mail, p->mail);
	return -1;
}

static void
recover_clear(struct recover_pick *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		X509_free(p->keys[i].cert);
		EVP_PKEY_free(p->keys[i].key);	/* cleanses the key */
	}
	p->n = 0;
}

/* Open each key with the officer's key and write them, newest first. */
static int
recover_write(struct recover_pick *p, const char *kkey, const char *kcert,
    const char *outp, const char *pass)
{
	struct keys_bag bags[RECOVER_MAX];
	char until[32];
	struct tm tm;
	size_t i;

	for (i = 0; i < p->n; i++) {
		struct recover_key *k = &p->keys[i];

		if ((k->key = enr_escrow_open(p->cfg, k->cert, kkey,
		    kcert)) == NULL) {
			log_err("%s: serial %s did not open: nothing written",
			    p->mail, k->serial);
			return -1;
		}
		until[0] = '\0';
		if (gmtime_r(&k->not_after, &tm) != NULL)
			strftime(until, sizeof(until), ", valid until %Y-%m-%d",
			    &tm);
		snprintf(k->name, sizeof(k->name), "%s decryption key, serial "
		    "%s%s", p->mail, k->serial, until);
		bags[i].key = k->key;
		bags[i].cert = k->cert;
		bags[i].name = k->name;
	}
	return keys_p12_write(outp, pass, bags, p->n, NULL,
	    p->cfg->keys.pkcs12_iterations);
}

/* Find the person's escrowed keys: all, or the one asked for. */
static int
recover_find(struct jrnl *j, struct recover_pick *p, const char *serial)
{
	char canon[80];

	if (serial != NULL && recover_serial_canon(serial, canon,
	    sizeof(canon)) == -1) {
		log_err("--serial %s: not a hexadecimal serial number", serial);
		return -2;
	}
	if (jrnl_cert_each(j, recover_id_cb, p) == -1 ||
	    jrnl_enr_each(j, recover_enr_cb, p) == -1 ||
	    jrnl_cert_each(j, recover_key_cb, p) == -1)
		return -1;
	if (p->n == 0) {
		log_err("%s: no escrowed key in %s/escrow", p->mail,
		    p->cfg->sync.state_dir);
		return -1;
	}
	qsort(p->keys, p->n, sizeof(p->keys[0]), recover_cmp);
	if (serial != NULL)
		return recover_only(p, canon, serial);
	return 0;
}

static int
recover_pass(char pass[2 * ENR_PASS_BYTES + 1])
{
	unsigned char rnd[ENR_PASS_BYTES];
	size_t i;

	if (RAND_priv_bytes(rnd, sizeof(rnd)) != 1) {
		log_ssl("cannot draw a random passphrase");
		return -1;
	}
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(pass + 2 * i, 3, "%02x", rnd[i]);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return 0;
}

int
cmd_recover(struct cfg *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kra-key", required_argument, NULL, 'k' },
		{ "kra-cert", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "all", no_argument, NULL, 'a' },
		{ "serial", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	char mail[MAIL_MAX + 1], out[PATH_MAX];
	char pass[2 * ENR_PASS_BYTES + 1];
	const char *kkey = NULL, *kcert = NULL, *outp = NULL, *serial = NULL;
	struct recover_pick *pick = NULL;
	struct jrnl *j = NULL;
	size_t i;
	int ch, all = 0, f, rc = EXIT_FAIL;

	memset(pass, 0, sizeof(pass));
	optind = 0;	/* glibc: 0 re-initialises (main used "+" ordering) */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			kkey = optarg;
			break;
		case 'c':
			kcert = optarg;
			break;
		case 'o':
			outp = optarg;
			break;
		case 'a':
			all = 1;
			break;
		case 's':
			serial = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 1 || kkey == NULL || (all && serial != NULL))
		goto usage;
	if (cli_mail_arg(argv[optind], mail) == -1)
		return EXIT_USAGE;
	if ((pick = calloc(1, sizeof(*pick))) == NULL) {
		log_err("recover: out of memory");
		goto out;
	}
	pick->cfg = cfg;
	pick->mail = mail;
	if ((j = jrnl_open(cfg->sync.state_dir)) == NULL)
		goto out;
	if ((f = recover_find(j, pick, serial)) != 0) {
		rc = f == -2 ? EXIT_USAGE : EXIT_FAIL;
		goto out;
	}
	if (!all && serial == NULL)
		recover_keep(pick, 0);	/* the newest */
	if (outp == NULL) {
		snprintf(out, sizeof(out), "%s.%.79s.recovered.p12", mail,
		    all ? "all" : pick->keys[0].serial);
		for (i = 0; out[i] != '\0'; i++)
			if (out[i] == '/')
				out[i] = '_';
		outp = out;
	}
	if (recover_pass(pass) == -1 ||
	    recover_write(pick, kkey, kcert, outp, pass) == -1)
		goto out;
	for (i = 0; i < pick->n; i++)
		printf("recovered serial %s into %s\n", pick->keys[i].serial,
		    outp);
	printf("passphrase: %s\n", pass);
	rc = EXIT_OK;
out:
	OPENSSL_cleanse(pass, sizeof(pass));
	if (pick != NULL)
		recover_clear(pick);
	free(pick);
	jrnl_close(j);
	return rc;
usage:
	fprintf(stderr, "usage: smimepub [-f FILE] recover MAIL --kra-key KEY "
	    "[--kra-cert CERT] [--all | --serial S] [--out FILE]\n");
	return EXIT_USAGE;
}
