/*
 * cmd_doctor.c — `smimepub doctor`: everything check-config checks (main
 * loaded and validated the file), then the setup live, one line per check:
 * each configured account binds, the people base + filter match are
 * counted, the write right on the certificate attributes is proved without
 * changing an entry, the CA is reached through its driver (nothing is
 * issued), the delivery command and the state, delivery and CA directories
 * are checked, the clock is compared with the directory's, and each zone
 * of dns.zones answers queries signed with its TSIG key. Exit 0 when
 * every check passed (warnings do not fail), 1 naming each that failed.
 */
#include <sys/stat.h>

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "cli/cli.h"
#include "common/log.h"
#include "dns/dns.h"
#include "ldap/dir.h"
#include "sync/sync.h"

#define DOC_SKEW_MAX	300	/* s: Kerberos' default tolerance (RFC 4120) */

struct doc {
	char	failed[512];	/* names of the failed checks */
	int	nfail;
};

/* One line: "ok", "warn" or "FAIL", the check's name, what was found. */
static void
doc_line(struct doc *d, const char *st, const char *name, const char *fmt,
    ...)
{
	va_list ap;
	size_t len;

	printf("%-4s %-16s ", st, name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (strcmp(st, "FAIL") != 0)
		return;
	len = strlen(d->failed);
	snprintf(d->failed + len, sizeof(d->failed) - len, "%s%s",
	    d->nfail++ ? ", " : "", name);
}

/* The last error logged, for a line: the check's reason, on its line. */
static const char *
doc_err(void)
{
	return log_last_err()[0] ? log_last_err() : "no reason given";
}

static void
doc_secrets(struct doc *d, const struct cfg *cfg)
{
	const char *files[2] = { cfg->directory.bind_password_file,
	    cfg->lookup.bind_password_file };
	const char *keys[2] = { "directory.bind_password_file",
	    "lookup.bind_password_file" };
	char *s = NULL;
	size_t len = 0, i;

	for (i = 0; i < 2; i++) {
		if (files[i] == NULL)
			continue;
		log_clear_err();
		if (cfg_secret_read(files[i], keys[i], &s, &len) == -1) {
			doc_line(d, "FAIL", "secret", "%s: %s; make it a "
			    "file of mode 0600 or 0400 holding the password",
			    keys[i], doc_err());
			continue;
		}
		cfg_secret_free(s, len);
		doc_line(d, "ok", "secret", "%s %s readable, private", keys[i],
		    files[i]);
	}
}

/* Bind as one account; the connection is kept when keep is not NULL. */
static void
doc_bind(struct doc *d, const char *name, const struct cfg_directory *dc,
    struct dir **keep)
{
	struct dir *dir;
	const char *who = dc->bind_dn ? dc->bind_dn : dc->sasl_mech ?
	    dc->sasl_mech : "anonymous";

	log_clear_err();
	if ((dir = dir_new(dc)) == NULL || dir_connect(dir) == -1) {
		doc_line(d, "FAIL", name, "%s at %s: %s; check the account, "
		    "its password file and the URI", who, dc->uri, doc_err());
		dir_free(dir);
		return;
	}
	doc_line(d, "ok", name, "bound as %s at %s", who, dc->uri);
	if (keep != NULL)
		*keep = dir;
	else
		dir_free(dir);
}

struct doc_count {
	size_t	 n;
	char	*first_dn;
};

static int
doc_count_cb(const struct dir_person *p, void *arg)
{
	struct doc_count *c = arg;

	if (c->n++ == 0 && (c->first_dn = strdup(p->dn)) == NULL)
		return -1;
	return 0;
}

/* A throwaway self-signed certificate (DER), never published. */
static int
doc_cert(const char *cn, struct dir_val *v)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_get_subject_name(x);
	int len, rc = -1;

	v->data = NULL;
	if (k == NULL || x == NULL || !X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL)) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, n) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 3600) ||
	    !X509_set_pubkey(x, k) || !X509_sign(x, k, EVP_sha256()) ||
	    (len = i2d_X509(x, &v->data)) <= 0)
		goto out;
	v->len = (size_t)len;
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

static void
doc_write(struct doc *d, const struct cfg *cfg, struct dir *dir,
    const char *dn)
{
	struct dir_val add = { NULL, 0 }, absent = { NULL, 0 };
	int rc;

	if (cfg->directory.flavour != CFG_FLAVOUR_OPENLDAP) {
		doc_line(d, "warn", "write right", "cannot be proved without "
		    "a change on this directory flavour: check by hand that "
		    "%s may add and delete userCertificate and "
		    "userSMIMECertificate values under %s",
		    cfg->directory.bind_dn, cfg->directory.base);
		return;
	}
	if (dn == NULL) {
		doc_line(d, "warn", "write right", "not proved: nobody to try "
		    "it on");
		return;
	}
	log_clear_err();
	if (doc_cert("smimepub doctor probe", &add) == -1 ||
	    doc_cert("smimepub doctor absent", &absent) == -1) {
		doc_line(d, "FAIL", "write right", "cannot make a probe "
		    "certificate");
		goto out;
	}
	rc = dir_probe_write(dir, dn, &add, &absent);
	if (rc == 1)
		doc_line(d, "ok", "write right", "%s may add and delete both "
		    "certificate attributes of %s (proved by a modify the "
		    "server refused after its access check: nothing "
		    "changed)", cfg->directory.bind_dn, dn);
	else if (rc == 0)
		doc_line(d, "FAIL", "write right", "%s may not write "
		    "userCertificate/userSMIMECertificate of %s "
		    "(insufficientAccessRights): grant it write on both "
		    "attributes under %s", cfg->directory.bind_dn, dn,
		    cfg->directory.base);
	else
		doc_line(d, "FAIL", "write right", "the probe on %s: %s", dn,
		    doc_err());
out:
	OPENSSL_free(add.data);
	OPENSSL_free(absent.data);
}

static void
doc_people(struct doc *d, const struct cfg *cfg, struct dir *dir,
    struct doc_count *c)
{
	log_clear_err();
	if (dir_search_people(dir, NULL, doc_count_cb, c) == -1) {
		doc_line(d, "FAIL", "people", "the search under %s failed: "
		    "%s; check directory.base and directory.filter",
		    cfg->directory.base, doc_err());
		return;
	}
	if (c->n == 0)
		doc_line(d, "warn", "people", "base %s with filter %s matches "
		    "nobody: check directory.base and directory.filter",
		    cfg->directory.base, cfg->directory.filter);
	else
		doc_line(d, "ok", "people", "%zu under %s match %s", c->n,
		    cfg->directory.base, cfg->directory.filter);
}

/*
 * What smimepub-sync's start check asks (dir_check_access): the id, and
 * modifyTimestamp when the daemon would look at it between passes
 * (sync_polls, with syncrepl as sync.watch and the server would give it).
 */
static void
doc_rights(struct doc *d, const struct cfg *cfg, struct dir *dir)
{
	const char *how = cfg->sync.watch, *grant =
	    cfg->directory.flavour == CFG_FLAVOUR_OPENLDAP ? "an olcAccess "
	    "rule" : cfg->directory.flavour == CFG_FLAVOUR_389DS ? "an ACI" :
	    "the directory's access control";
	char report[512];
	int polls;

	log_clear_err();
	polls = sync_polls(cfg, strcmp(how, "auto") == 0 ||
	    strcmp(how, "syncrepl") == 0 ? dir_watch_offered(dir) == 1 : 0,
	    strcmp(how, "dirsync") == 0);
	switch (dir_check_access(dir, polls, report, sizeof(report))) {
	case 0:
		doc_line(d, "ok", "read rights", "%s can read the id%s on the "
		    "people", cfg->directory.bind_dn ? cfg->directory.bind_dn :
		    "anonymous", polls ? " and modifyTimestamp (changes between "
		    "passes)" : "");
		break;
	case 1:
		doc_line(d, "FAIL", "read rights", "%s (%s grants it)", report,
		    grant);
		break;
	default:
		doc_line(d, "FAIL", "read rights", "the search failed: %s",
		    doc_err());
	}
}

/*
 * Each alias attribute (directory.alias_attributes, or the flavour's):
 * shown on some person, or a warning, as an attribute the server does not
 * know, or the account may not read, only ever matches nothing, and the
 * aliases would be left out of every certificate without a word.
 */
static void
doc_aliases(struct doc *d, const struct cfg *cfg, struct dir *dir)
{
	const char *attrs[DIR_ALIAS_ATTRS_MAX + 1], *who =
	    cfg->directory.bind_dn ? cfg->directory.bind_dn : "anonymous";
	char *dn = NULL;
	size_t i, n;

	n = dir_alias_attrs(&cfg->directory, attrs);
	for (i = 0; i < n; i++) {
		log_clear_err();
		switch (dir_alias_seen(dir, attrs[i], &dn)) {
		case 1:
			doc_line(d, "ok", "aliases", "%s can read %s (on %s, "
			    "among others)", who, attrs[i], dn);
			break;
		case 0:
			doc_line(d, "warn", "aliases", "no person under %s "
			    "shows %s to %s: the server does not know it, the "
			    "account may not read it, or nobody has an alias "
			    "yet", cfg->directory.base, attrs[i], who);
			break;
		default:
			doc_line(d, "FAIL", "aliases", "the search for %s "
			    "failed: %s", attrs[i], doc_err());
		}
		free(dn);
		dn = NULL;
	}
}

static void
doc_ca(struct doc *d, const struct cfg *cfg)
{
	char msg[1024];

	log_clear_err();
	if (ca_probe(cfg, msg, sizeof(msg)) == -1)
		doc_line(d, "FAIL", "ca", "%s; check ca.%s and that the CA "
		    "runs", msg, cfg->ca.driver);
	else
		doc_line(d, "ok", "ca", "%s", msg);
}

static void
doc_delivery(struct doc *d, const struct cfg *cfg)
{
	const char *cmd = cfg->keys.delivery_command;
	struct stat st;

	if (cmd == NULL) {
		doc_line(d, "ok", "delivery", "no keys.delivery_command%s",
		    cfg->keys.n_escrow_certs > 0 ? "; keys are escrowed" :
		    cfg->keys.discard_passphrase ? " (keys.discard_passphrase "
		    "= true)" : "");
		return;
	}
	if (stat(cmd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    access(cmd, X_OK) == -1)
		doc_line(d, "FAIL", "delivery", "keys.delivery_command %s is "
		    "not an executable file: install it or fix the path", cmd);
	else if ((st.st_mode & 022) != 0)
		doc_line(d, "FAIL", "delivery", "keys.delivery_command %s is "
		    "writable by group or others (mode %04o): chmod go-w",
		    cmd, (unsigned)(st.st_mode & 07777));
	else
		doc_line(d, "ok", "delivery", "keys.delivery_command %s is "
		    "executable (not run)", cmd);
}

/* A directory of secrets: exists, no access for group or others. */
static void
doc_dir(struct doc *d, const char *key, const char *path)
{
	struct passwd *pw;
	struct stat st;
	char owner[64];

	if (path == NULL)
		return;
	if (stat(path, &st) == -1) {
		/* smimepub-sync and `ca init` create them, 0700 */
		doc_line(d, "warn", "directories", "%s %s does not exist yet "
		    "(created 0700 at first use)", key, path);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		doc_line(d, "FAIL", "directories", "%s %s is not a directory",
		    key, path);
		return;
	}
	if ((pw = getpwuid(st.st_uid)) != NULL)
		snprintf(owner, sizeof(owner), "%s", pw->pw_name);
	else
		snprintf(owner, sizeof(owner), "uid %u", (unsigned)st.st_uid);
	if ((st.st_mode & 077) != 0)
		doc_line(d, "FAIL", "directories", "%s %s is mode %04o, owner "
		    "%s: it holds keys or the journal; chmod 0700", key, path,
		    (unsigned)(st.st_mode & 07777), owner);
	else if (st.st_uid != geteuid())
		doc_line(d, "warn", "directories", "%s %s is owned by %s, not "
		    "by the user running doctor: fine if that is the service "
		    "user", key, path, owner);
	else
		doc_line(d, "ok", "directories", "%s %s: mode %04o, owner %s",
		    key, path, (unsigned)(st.st_mode & 07777), owner);
}

static void
doc_clock(struct doc *d, struct dir *dir)
{
	const char *src = NULL;
	time_t t, now;
	long skew;

	if (dir_server_time(dir, &t, &src) != 0) {
		doc_line(d, "warn", "clock", "the directory exposes no time "
		    "(OpenLDAP shows it only in cn=Monitor, when enabled): "
		    "not compared; check NTP on both");
		return;
	}
	now = time(NULL);
	skew = (long)(now - t);
	if (skew > DOC_SKEW_MAX || skew < -DOC_SKEW_MAX)
		doc_line(d, "FAIL", "clock", "%ld s off the directory's (%s): "
		    "certificates and renewals go by the clock; fix NTP",
		    skew, src);
	else
		doc_line(d, "ok", "clock", "within %ld s of the directory's "
		    "(%s)", skew < 0 ? -skew : skew, src);
}

/*
 * Each zone of dns.zones: its key file usable, its server answering a
 * query signed with that key, authoritatively, with a signed answer. The
 * right to update is proved only by an UPDATE, which doctor does not send.
 */
static void
doc_dns(struct doc *d, const struct cfg *cfg)
{
	const struct cfg_dns_zone *z;
	struct dns_server *srv;
	struct dns_rrset set;
	struct dns_key key;
	char what[64], why[512], kname[sizeof(key.name)];
	size_t i;

	for (i = 0; i < cfg->dns.n_zones; i++) {
		z = &cfg->dns.zones[i];
		snprintf(what, sizeof(what), "dns.zones[%zu].tsig_key_file", i);
		if (dns_key_load(z->tsig_key_file, what, &key) == -1) {
			doc_line(d, "FAIL", "dns", "%s %s cannot be used (see "
			    "above)", what, z->tsig_key_file);
			continue;
		}
		memcpy(kname, key.name, sizeof(kname));
		srv = dns_server_new(z->zone, z->server, &key, cfg->dns.timeout);
		dns_key_clear(&key);
		if (srv == NULL) {
			doc_line(d, "FAIL", "dns", "zone %s: server %s cannot be "
			    "used: %s", z->zone, z->server, doc_err());
			continue;
		}
		memset(&set, 0, sizeof(set));
		snprintf(set.owner, sizeof(set.owner), "_smimecert.%s.",
		    z->zone);
		if (dns_query(srv, &set, why, sizeof(why)) == DNS_OK)
			doc_line(d, "ok", "dns", "%s answers for zone %s, "
			    "signed with TSIG key %s", z->server, z->zone,
			    kname);
		else
			doc_line(d, "FAIL", "dns", "zone %s: %s", z->zone, why);
		dns_rrset_clear(&set);
		dns_server_free(srv);
	}
}

int
cmd_doctor(struct cfg *cfg, int argc, char **argv)
{
	struct cfg_directory lk;
	struct doc_count cnt = { 0, NULL };
	struct dir *dir = NULL;
	struct doc d;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: smimepub [-f FILE] doctor\n");
		return EXIT_USAGE;
	}
	memset(&d, 0, sizeof(d));
	doc_line(&d, "ok", "config", "%s is valid", cfg->path);
	doc_secrets(&d, cfg);
	doc_bind(&d, "bind sync", &cfg->directory, &dir);
	if (cfg->lookup.bind_dn != NULL || cfg->lookup.anonymous) {
		lk = cfg->directory;	/* the same server, its own account */
		lk.bind_dn = cfg->lookup.bind_dn;
		lk.bind_password_file = cfg->lookup.bind_password_file;
		lk.sasl_mech = NULL;
		doc_bind(&d, "bind lookupd", &lk, NULL);
	}
	if (dir != NULL) {
		doc_people(&d, cfg, dir, &cnt);
		doc_rights(&d, cfg, dir);
		doc_aliases(&d, cfg, dir);
		doc_write(&d, cfg, dir, cnt.first_dn);
		doc_clock(&d, dir);
	}
	doc_ca(&d, cfg);
	doc_dns(&d, cfg);
	doc_delivery(&d, cfg);
	doc_dir(&d, "sync.state_dir", cfg->sync.state_dir);
	doc_dir(&d, "keys.delivery_dir", cfg->keys.delivery_dir);
	if (strcmp(cfg->ca.driver, "local") == 0)
		doc_dir(&d, "ca.local.dir", cfg->ca.local.dir);
	free(cnt.first_dn);
	dir_free(dir);
	if (d.nfail > 0) {
		printf("doctor: %d check%s failed: %s\n", d.nfail,
		    d.nfail == 1 ? "" : "s", d.failed);
		return EXIT_FAIL;
	}
	printf("doctor: all checks passed\n");
	return EXIT_OK;
}
