/*
 * fuzz_person.c — libFuzzer target for turning a directory entry into a
 * person (dir_person_parse, what dir_person_from_entry does with an LDAP
 * entry): the first byte picks the flavour (OpenLDAP, AD or 389-ds), the stable id
 * attribute (entryUUID, nsUniqueId) and whether a trigger attribute is
 * configured; then records of [attribute index][length, 2 bytes][value]
 * give the entry's values, in order, any bytes. No crash, no leak; an id
 * that is read is well-formed (printable, no space); every certificate
 * value comes back byte for byte, and its serial is read as the pass reads
 * it (x509_der_serial_hex, then x509_from_der). The person's addresses
 * (mail, then the aliases of proxyAddresses or mailLocalAddress, 64 in the
 * first byte: configured rather than the flavour's default) are at most
 * DIR_ADDRS_MAX, each canonical, none twice, mail first; their filter and
 * digest are made without a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lber.h>
#include <ldap.h>

#include "common/cfg.h"
#include "common/log.h"
#include "common/mail.h"
#include "common/x509.h"
#include "ldap/dir.h"
#include "ldap/dir_priv.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const attrs[] = { "mail", "displayName", "cn",
    "entryUUID", "objectGUID", "nsUniqueId", "userCertificate;binary",
    "userCertificate", "userSMIMECertificate", "userAccountControl",
    "entryCSN", "uSNChanged", "smimepubTrigger", "MAIL", "otherMail",
    "nsAccountLock", "proxyAddresses", "mailLocalAddress",
    "proxyaddresses" };
static char *aliases[] = { "mailLocalAddress", "proxyAddresses", NULL };
#define NATTRS	(sizeof(attrs) / sizeof(attrs[0]))

struct rec {
	const char	*attr;
	const uint8_t	*val;
	size_t		 len;
};

struct entry {
	struct rec	 r[64];
	size_t		 n;
};

/* Every value of attr (names compare case-insensitively, as on the wire). */
static struct berval **
fuzz_vals(void *arg, const char *attr)
{
	struct entry *e = arg;
	struct berval **v = NULL, **nv;
	size_t i, n = 0;

	for (i = 0; i < e->n; i++) {
		if (strcasecmp(e->r[i].attr, attr) != 0)
			continue;
		if ((nv = ber_memrealloc(v, (n + 2) * sizeof(*v))) == NULL)
			break;
		v = nv;
		if ((v[n] = ber_mem2bv((char *)e->r[i].val,
		    (ber_len_t)e->r[i].len, 1, NULL)) == NULL)
			break;
		v[++n] = NULL;
	}
	return v;
}

static void
check_certs(const struct dir_val *v, size_t n)
{
	char hex[64];
	X509 *x;
	size_t i;

	for (i = 0; i < n; i++) {
		if (x509_der_serial_hex(v[i].data, v[i].len, hex,
		    sizeof(hex)) == 0 && memchr(hex, '\0', sizeof(hex)) == NULL)
			abort();
		if ((x = x509_from_der(v[i].data, v[i].len)) != NULL)
			X509_free(x);
	}
}

/* The address set's invariants. */
static void
check_addrs(struct dir *d, const struct cfg_directory *cfg,
    const struct dir_person *p)
{
	char canon[MAIL_MAX + 1], digest[DIR_ADDRS_DIGEST], *f;
	const char *why;
	size_t i, j;

	(void)d;
	if (p->n_addrs > DIR_ADDRS_MAX || (p->n_addrs > 0 && (p->mail == NULL ||
	    mail_canon(p->mail, strlen(p->mail), canon, &why) == -1 ||
	    strcmp(canon, p->addrs[0]) != 0)))
		abort();
	for (i = 0; i < p->n_addrs; i++) {
		if (mail_canon(p->addrs[i], strlen(p->addrs[i]), canon,
		    &why) == -1 || strcmp(canon, p->addrs[i]) != 0)
			abort();
		for (j = 0; j < i; j++)
			if (strcasecmp(p->addrs[i], p->addrs[j]) == 0)
				abort();
		if ((f = dir_addr_filter(cfg, p->addrs[i])) == NULL ||
		    f[0] != '(')
			abort();
		free(f);
	}
	dir_addrs_digest(p->addrs, p->n_addrs, digest);
	if (p->n_addrs > 1 && strlen(digest) != 32)
		abort();
}

/* The values of attr come back byte for byte, in order. */
static void
same_vals(struct entry *e, const char *attr, const struct dir_val *v,
    size_t n)
{
	struct berval **bv = fuzz_vals(e, attr);
	size_t i;

	for (i = 0; bv != NULL && bv[i] != NULL; i++)
		if (i >= n || bv[i]->bv_len != v[i].len ||
		    memcmp(bv[i]->bv_val, v[i].data, v[i].len) != 0)
			abort();
	if (i != n)
		abort();
	ldap_value_free_len(bv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int init;
	struct cfg_directory cfg;
	struct entry e;
	struct dir_entry_src src;
	struct dir_person *p = NULL;
	struct dir *d = NULL;
	char *guard = NULL;
	const char *c;
	size_t i = 1, vlen;

	if (!init) {
		log_init("fuzz_person", 0, LOG_LVL_ERR);
		init = 1;
	}
	if (len < 1)
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	cfg.uri = "ldap://127.0.0.1:1";
	cfg.base = "dc=example,dc=com";
	cfg.flavour = data[0] & 1 ? CFG_FLAVOUR_AD : data[0] & 32 ?
	    CFG_FLAVOUR_389DS : CFG_FLAVOUR_OPENLDAP;
	cfg.trigger_attribute = data[0] & 2 ? "smimepubTrigger" : NULL;
	cfg.mail_attribute = data[0] & 4 ? "otherMail" : NULL;
	if (data[0] & 64) {
		cfg.alias_attributes = aliases;
		cfg.n_alias_attributes = 2;
	}
	if ((d = dir_new(&cfg)) == NULL)
		return 0;
	if ((data[0] & 8) && cfg.flavour == CFG_FLAVOUR_389DS)
		(void)dir_set_id_attr(d, "nsUniqueId");
	e.n = 0;
	while (i + 3 <= len && e.n < 64) {
		vlen = (size_t)data[i + 1] << 8 | data[i + 2];
		if (vlen > len - i - 3)
			vlen = len - i - 3;
		e.r[e.n].attr = attrs[data[i] % NATTRS];
		e.r[e.n].val = data + i + 3;
		e.r[e.n].len = vlen;
		e.n++;
		i += 3 + vlen;
	}
	src.dn = "uid=fuzz,ou=people,dc=example,dc=com";
	src.vals = fuzz_vals;
	src.arg = &e;
	if (dir_person_parse(d, &src, &p, (data[0] & 16) ? &guard : NULL) == 0) {
		if (p == NULL || p->dn == NULL)
			abort();
		for (c = p->id; c != NULL && *c != '\0'; c++)
			if ((unsigned char)*c <= ' ' || (unsigned char)*c > '~')
				abort();
		if (p->id != NULL && p->id_bad != 0)
			abort();
		same_vals(&e, dir_flavour_get(cfg.flavour)->attr_usercert,
		    p->usercert, p->n_usercert);
		check_certs(p->usercert, p->n_usercert);
		check_certs(p->smime, p->n_smime);
		check_addrs(d, &cfg, p);
	}
	free(guard);
	dir_person_free(p);
	dir_free(d);
	return 0;
}
