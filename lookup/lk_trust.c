/*
 * lk_trust.c — what smimepub-lookupd trusts: lookup.trust_anchors (the
 * certificates a served one must chain to) and lookup.crl_files (reloaded
 * when a file changes, checked at most once a second).
 *
 * A CRL counts only once its signature verifies with the key of its
 * issuer, a certificate of lookup.trust_anchors whose subject is the CRL's
 * issuer name (and whose key usage, if any, allows cRLSign); so the CA of
 * every CRL must be in the anchors file (an intermediate CA may be listed
 * there too), and lookup.crl_files without lookup.trust_anchors is refused.
 * A file that cannot be read, holds no CRL or one that fails that check is
 * refused with its name and the reason: at start the daemon does not start
 * (it would serve revoked certificates); on a reload the set loaded before
 * is kept whole and smimepub_lookupd_crl_errors_total counts the refusal.
 * A CRL past its nextUpdate is still used (a stale list of revocations is
 * better than none), logged once as a warning and counted in the
 * smimepub_lookupd_crls_expired gauge.
 *
 * The anchors (issue 15: lookupd serves only what the organisation vouches
 * for) are lookup.trust_anchors, else the certificate of the CA
 * smimepub-sync issues under: ca.local.dir's ca.pem for the local CA, or
 * ca.<driver>.ca_cert. The path is read from the configuration: lookup/
 * never includes ca/. Without any, lookupd does not start unless
 * lookup.insecure_no_anchors = true, which it warns about at every start.
 * Also checked before start: lookupd binds as itself (lookup.bind_dn or
 * lookup.anonymous = true), never as smimepub-sync.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "lookup/lk.h"

struct lk_certs {
	pthread_rwlock_t rw;		/* crls, warned */
	pthread_mutex_t	 check_mu;	/* one refresh at a time */
	char *const	*files;
	struct timespec	*mtimes;
	off_t		*sizes;
	size_t		 nfiles;
	STACK_OF(X509_CRL) *crls;
	unsigned char	*warned;	/* per CRL: expiry logged */
	double		 checked;
	STACK_OF(X509)	*anchor_certs;	/* CRL issuers */
	X509_STORE	*anchors;	/* NULL: no chain required */
	struct lk_x509c	*x5;		/* parsed certificates */
	struct lk_x509c	*x5b;		/* parsed certs-only bundles */
	atomic_ulong	 errors;	/* CRL files refused */
	atomic_ulong	 reloads;
	char *const	*ekus;		/* ca.allowed_ekus */
	struct lk_rev	*rev;		/* lookup.revocation beyond files */
};

/* The anchor that signed crl, or NULL with *why set. */
static X509 *
lk_crl_issuer(struct lk_certs *lc, X509_CRL *crl, const char **why)
{
	EVP_PKEY *pk;
	X509 *a;
	int i;

	*why = "its issuer is not in lookup.trust_anchors";
	for (i = 0; i < sk_X509_num(lc->anchor_certs); i++) {
		a = sk_X509_value(lc->anchor_certs, i);
		if (X509_NAME_cmp(X509_get_subject_name(a),
		    X509_CRL_get_issuer(crl)) != 0)
			continue;
		if ((X509_get_extension_flags(a) & EXFLAG_KUSAGE) &&
		    !(X509_get_key_usage(a) & KU_CRL_SIGN)) {
			*why = "its issuer's key usage lacks cRLSign";
			continue;
		}
		if ((pk = X509_get0_pubkey(a)) != NULL &&
		    X509_CRL_verify(crl, pk) == 1) {
			ERR_clear_error();
			return a;
		}
		*why = "bad signature: it does not verify with the key of "
		    "its issuer in lookup.trust_anchors";
	}
	ERR_clear_error();
	return NULL;
}

/* Every CRL in path (PEM blocks, or one DER) onto sk, each checked; -1 and
 * nothing added if any is bad. */
static int
lk_crl_load(struct lk_certs *lc, const char *path, STACK_OF(X509_CRL) *sk)
{
	STACK_OF(X509_CRL) *got;
	X509_CRL *crl;
	BIO *bio = NULL;
	char *iss;
	const char *why = NULL;
	int i, rc = -1;

	if ((got = sk_X509_CRL_new_null()) == NULL ||
	    (bio = BIO_new_file(path, "rb")) == NULL) {
		log_ssl("%s: lookup.crl_files: cannot open", path);
		goto out;
	}
	while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_CRL_push(got, crl)) {
			X509_CRL_free(crl);
			goto oom;
		}
	if (sk_X509_CRL_num(got) == 0) {
		(void)BIO_reset(bio);
		if ((crl = d2i_X509_CRL_bio(bio, NULL)) != NULL &&
		    !sk_X509_CRL_push(got, crl)) {
			X509_CRL_free(crl);
			goto oom;
		}
	}
	ERR_clear_error();
	if (sk_X509_CRL_num(got) == 0) {
		log_err("%s: lookup.crl_files: no CRL in the file", path);
		goto out;
	}
	for (i = 0; i < sk_X509_CRL_num(got); i++) {
		crl = sk_X509_CRL_value(got, i);
		if (lk_crl_issuer(lc, crl, &why) == NULL) {
			iss = X509_NAME_oneline(X509_CRL_get_issuer(crl),
			    NULL, 0);
			log_err("%s: lookup.crl_files: CRL of %s refused: %s",
			    path, iss != NULL ? iss : "?", why);
			OPENSSL_free(iss);
			goto out;
		}
	}
	while ((crl = sk_X509_CRL_shift(got)) != NULL)
		if (!sk_X509_CRL_push(sk, crl)) {
			X509_CRL_free(crl);
			goto oom;
		}
	rc = 0;
	goto out;
oom:
	log_err("%s: lookup.crl_files: out of memory", path);
out:
	sk_X509_CRL_pop_free(got, X509_CRL_free);
	BIO_free(bio);
	return rc;
}

/*
 * Reload every CRL file if any changed (always at start): 1 when a new set
 * is in use, 0 when nothing changed, -1 when a file was refused (the old
 * set, if any, stays).
 */
static int
lk_crls_reload(struct lk_certs *lc, int force)
{
	STACK_OF(X509_CRL) *sk;
	unsigned char *warned;
	struct stat sb;
	size_t i;
	int changed = force, bad = 0;

	for (i = 0; i < lc->nfiles; i++) {
		if (stat(lc->files[i], &sb) == -1) {
			memset(&sb, 0, sizeof(sb));	/* missing: a change */
			sb.st_size = -1;
		}
		if (sb.st_mtim.tv_sec != lc->mtimes[i].tv_sec ||
		    sb.st_mtim.tv_nsec != lc->mtimes[i].tv_nsec ||
		    sb.st_size != lc->sizes[i]) {
			lc->mtimes[i] = sb.st_mtim;
			lc->sizes[i] = sb.st_size;
			changed = 1;
		}
	}
	if (!changed)
		return 0;
	if ((sk = sk_X509_CRL_new_null()) == NULL) {
		log_err("lookup.crl_files: out of memory");
		bad = 1;
	}
	for (i = 0; !bad && i < lc->nfiles; i++)
		if (lk_crl_load(lc, lc->files[i], sk) == -1)
			bad = 1;
	if (bad || (warned = calloc((size_t)sk_X509_CRL_num(sk) + 1,
	    1)) == NULL) {
		sk_X509_CRL_pop_free(sk, X509_CRL_free);
		atomic_fetch_add(&lc->errors, 1);
		if (!force)
			log_err("lookup.crl_files: reload refused; keeping "
			    "the %d CRLs loaded before",
			    sk_X509_CRL_num(lc->crls));
		return -1;
	}
	pthread_rwlock_wrlock(&lc->rw);
	sk_X509_CRL_pop_free(lc->crls, X509_CRL_free);
	lc->crls = sk;
	free(lc->warned);
	lc->warned = warned;
	pthread_rwlock_unlock(&lc->rw);
	atomic_fetch_add(&lc->reloads, 1);
	if (!force)
		log_info("lookup.crl_files: reloaded %d CRLs",
		    sk_X509_CRL_num(sk));
	return 1;
}

/* Warn once for each CRL in use past its nextUpdate; their number. */
static int
lk_crls_expired(struct lk_certs *lc, time_t now, int warn)
{
	const ASN1_TIME *next;
	X509_CRL *crl;
	char *iss;
	int i, n = 0;

	if (warn)
		pthread_rwlock_wrlock(&lc->rw);
	else
		pthread_rwlock_rdlock(&lc->rw);
	for (i = 0; i < sk_X509_CRL_num(lc->crls); i++) {
		crl = sk_X509_CRL_value(lc->crls, i);
		if ((next = X509_CRL_get0_nextUpdate(crl)) == NULL ||
		    X509_cmp_time(next, &now) > 0)
			continue;
		n++;
		if (!warn || lc->warned[i])
			continue;
		lc->warned[i] = 1;
		iss = X509_NAME_oneline(X509_CRL_get_issuer(crl), NULL, 0);
		log_warn("lookup.crl_files: the CRL of %s is past its "
		    "nextUpdate; still used until a newer one is loaded",
		    iss != NULL ? iss : "?");
		OPENSSL_free(iss);
	}
	pthread_rwlock_unlock(&lc->rw);
	return n;
}

struct lk_certs *
lk_certs_new(char *const *files, const char *anchors, size_t parse_max)
{
	struct lk_certs *lc;
	int i;

	if ((lc = calloc(1, sizeof(*lc))) == NULL) {
		log_err("lookup: out of memory");
		return NULL;
	}
	pthread_rwlock_init(&lc->rw, NULL);
	pthread_mutex_init(&lc->check_mu, NULL);
	lc->files = files;
	while (files != NULL && files[lc->nfiles] != NULL)
		lc->nfiles++;
	lc->mtimes = calloc(lc->nfiles + 1, sizeof(*lc->mtimes));
	lc->sizes = calloc(lc->nfiles + 1, sizeof(*lc->sizes));
	lc->warned = calloc(1, 1);
	/* a table that cannot be had means parsing every time */
	lc->x5 = lk_x509c_new(0, parse_max);
	lc->x5b = lk_x509c_new(1, parse_max);
	if (lc->mtimes == NULL || lc->sizes == NULL || lc->warned == NULL ||
	    (lc->crls = sk_X509_CRL_new_null()) == NULL) {
		log_err("lookup: out of memory");
		goto fail;
	}
	if (anchors != NULL) {
		if ((lc->anchor_certs = x509_load_file(anchors)) == NULL)
			goto fail;
		if ((lc->anchors = X509_STORE_new()) == NULL)
			goto fail;
		for (i = 0; i < sk_X509_num(lc->anchor_certs); i++)
			if (X509_STORE_add_cert(lc->anchors,
			    sk_X509_value(lc->anchor_certs, i)) != 1) {
				log_ssl("%s: lookup.trust_anchors", anchors);
				goto fail;
			}
	} else if (lc->nfiles > 0) {
		log_err("%s: lookup.crl_files: needs lookup.trust_anchors "
		    "(the CRL issuers' certificates) to check CRL signatures",
		    files[0]);
		goto fail;
	}
	if (lk_crls_reload(lc, 1) == -1)
		goto fail;
	(void)lk_crls_expired(lc, time(NULL), 1);
	lc->checked = lk_monotonic();
	return lc;
fail:
	lk_certs_free(lc);
	return NULL;
}

void
lk_certs_free(struct lk_certs *lc)
{
	if (lc == NULL)
		return;
	sk_X509_CRL_pop_free(lc->crls, X509_CRL_free);
	sk_X509_pop_free(lc->anchor_certs, X509_free);
	X509_STORE_free(lc->anchors);
	lk_x509c_free(lc->x5);
	lk_x509c_free(lc->x5b);
	free(lc->warned);
	free(lc->mtimes);
	free(lc->sizes);
	pthread_rwlock_destroy(&lc->rw);
	pthread_mutex_destroy(&lc->check_mu);
	free(lc);
}

void
lk_certs_refresh(struct lk_certs *lc, struct lk_cache *cache)
{
	double now = lk_monotonic();
	int changed = 0;

	if (lc->nfiles == 0 || pthread_mutex_trylock(&lc->check_mu) != 0)
		return;
	if (now - lc->checked >= 1.0) {
		lc->checked = now;
		changed = lk_crls_reload(lc, 0) == 1;
		(void)lk_crls_expired(lc, time(NULL), 1);
	}
	pthread_mutex_unlock(&lc->check_mu);
	if (changed && cache != NULL)
		lk_cache_flush(cache);
}

void
lk_certs_stats(struct lk_certs *lc, struct lk_crl_stats *st)
{
	unsigned long h, m;

	st->errors = atomic_load(&lc->errors);
	st->reloads = atomic_load(&lc->reloads);
	pthread_rwlock_rdlock(&lc->rw);
	st->loaded = (size_t)sk_X509_CRL_num(lc->crls);
	pthread_rwlock_unlock(&lc->rw);
	st->expired = (size_t)lk_crls_expired(lc, time(NULL), 0);
	lk_x509c_stats(lc->x5, &st->parse_hits, &st->parse_misses);
	lk_x509c_stats(lc->x5b, &h, &m);
	st->parse_hits += h;
	st->parse_misses += m;
}

X509 *
lk_certs_parse(struct lk_certs *lc, const unsigned char *der, size_t len)
{
	return lk_x509c_get(lc->x5, der, len);
}

STACK_OF(X509) *
lk_certs_parse_bundle(struct lk_certs *lc, const unsigned char *der,
    size_t len)
{
	return lk_x509c_get_bundle(lc->x5b, der, len);
}

int
lk_certs_revoked(struct lk_certs *lc, X509 *x)
{
	X509_REVOKED *rev;
	X509_CRL *crl;
	int i, hit = 0;

	pthread_rwlock_rdlock(&lc->rw);
	for (i = 0; !hit && i < sk_X509_CRL_num(lc->crls); i++) {
		crl = sk_X509_CRL_value(lc->crls, i);
		if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
		    X509_get_issuer_name(x)) == 0 &&
		    X509_CRL_get0_by_cert(crl, &rev, x) == 1)
			hit = 1;
	}
	pthread_rwlock_unlock(&lc->rw);
	return hit;
}

int
lk_certs_chains(struct lk_certs *lc, X509 *x, STACK_OF(X509) *untrusted,
    time_t now, STACK_OF(X509) **chain)
{
	X509_STORE_CTX *ctx;
	int ok = 0;

	if (chain != NULL)
		*chain = NULL;
	if (lc->anchors == NULL)
		return 1;
	if ((ctx = X509_STORE_CTX_new()) == NULL)
		return 0;
	if (X509_STORE_CTX_init(ctx, lc->anchors, x, untrusted) == 1) {
		X509_STORE_CTX_set_time(ctx, 0, now);
		ok = X509_verify_cert(ctx) == 1;
		/* the verified chain less x itself: x's issuers to the
		 * anchor */
		if (ok && chain != NULL &&
		    (*chain = X509_STORE_CTX_get1_chain(ctx)) != NULL)
			X509_free(sk_X509_shift(*chain));
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

void
lk_certs_set_rev(struct lk_certs *lc, struct lk_rev *rv)
{
	lc->rev = rv;
}

/* The issuer of x in the chain verified to the anchors (a reference in
 * *chain, freed by the caller), or NULL. */
static X509 *
lk_issuer_of(struct lk_certs *lc, X509 *x, STACK_OF(X509) *untrusted,
    time_t now, STACK_OF(X509) **chain)
{
	X509_STORE_CTX *ctx;
	X509 *issuer = NULL;

	*chain = NULL;
	if (lc->anchors == NULL || (ctx = X509_STORE_CTX_new()) == NULL)
		return NULL;
	if (X509_STORE_CTX_init(ctx, lc->anchors, x, untrusted) == 1) {
		X509_STORE_CTX_set_time(ctx, 0, now);
		if (X509_verify_cert(ctx) == 1 &&
		    (*chain = X509_STORE_CTX_get1_chain(ctx)) != NULL &&
		    sk_X509_num(*chain) > 1)
			issuer = sk_X509_value(*chain, 1);
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return issuer;
}

int
lk_certs_revocation(struct lk_certs *lc, X509 *x, STACK_OF(X509) *untrusted,
    time_t now, char *note, size_t notesz)
{
	struct lk_rev_ans a;
	STACK_OF(X509) *chain = NULL;
	char when[32] = "?";
	struct tm tm;
	int bad;

	if (lk_certs_revoked(lc, x)) {
		snprintf(note, notesz, "revoked (lookup.crl_files)");
		return 1;
	}
	if (lc->rev == NULL) {
		snprintf(note, notesz, "good (not in lookup.crl_files%s)",
		    lc->nfiles == 0 ? ", none set" : "");
		return 0;
	}
	bad = lk_rev_check(lc->rev, x, lk_issuer_of(lc, x, untrusted, now,
	    &chain), lc->anchors, now, &a);
	sk_X509_pop_free(chain, X509_free);
	switch (a.status) {
	case LK_RS_GOOD:
		snprintf(note, notesz, "good (%s)", a.source);
		return 0;
	case LK_RS_REVOKED:
		if (a.rev_time != -1 && gmtime_r(&a.rev_time, &tm) != NULL)
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(note, notesz, "revoked: %s at %s (%s)",
		    lk_rev_reason(a.reason), when, a.source);
		return 1;
	case LK_RS_UNAVAILABLE:
		snprintf(note, notesz, "unknown (%s); %s", a.source, bad ?
		    "not served: lookup.revocation_fail = hard" :
		    "served: lookup.revocation_fail = soft");
		return bad ? 2 : 0;
	default:
		snprintf(note, notesz, "not checked (%s)", a.source);
		return 0;
	}
}

void
lk_certs_allow_ekus(struct lk_certs *lc, char *const *ekus)
{
	lc->ekus = ekus;
}

char *const *
lk_certs_ekus(const struct lk_certs *lc)
{
	return lc->ekus;
}

/* ---- the configuration lookupd starts from ----------------------------- */

/* The issuing CA's certificate smimepub-sync is configured with, or NULL;
 * *key names where it came from. "ca.pem" is CA_LOCAL_CERT of ca/ca.h. */
static const char *
lk_issuer_cert(const struct cfg *cfg, char *buf, size_t len,
    const char **key)
{
	const struct cfg_ca *ca = &cfg->ca;
	static const char *const keys[] = { "ca.exec.ca_cert",
	    "ca.cfssl.ca_cert", "ca.cmp.ca_cert", "ca.est.ca_cert" };
	const char *const paths[] = { ca->exec.ca_cert, ca->cfssl.ca_cert,
	    ca->cmp.ca_cert, ca->est.ca_cert };
	size_t i;

	*key = NULL;
	if (ca->driver == NULL)
		return NULL;
	if (strcmp(ca->driver, "local") == 0 && ca->local.dir != NULL) {
		*key = "ca.local.dir";
		if ((size_t)snprintf(buf, len, "%s/ca.pem", ca->local.dir) >=
		    len)
			return NULL;
		return buf;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strncmp(keys[i] + 3, ca->driver, strlen(ca->driver)) == 0 &&
		    keys[i][3 + strlen(ca->driver)] == '.') {
			*key = keys[i];
			return paths[i];
		}
	return NULL;
}

const char *
lk_anchors_path(const struct cfg *cfg, char *buf, size_t len)
{
	const char *key;

	if (cfg->lookup.trust_anchors != NULL)
		return cfg->lookup.trust_anchors;
	if (cfg->lookup.insecure_no_anchors)
		return NULL;
	return lk_issuer_cert(cfg, buf, len, &key);
}

int
lk_cfg_check(const struct cfg *cfg)
{
	const struct cfg_lookup *l = &cfg->lookup;
	const char *path, *key;
	char buf[PATH_MAX], why[PATH_MAX + 128];
	struct stat sb;

	if (l->bind_dn == NULL && !l->anonymous) {
		log_err("%s: lookup.bind_dn (with lookup.bind_password_file) "
		    "is not set: smimepub-lookupd binds with its own read-only "
		    "account, never smimepub-sync's; set it, or "
		    "lookup.anonymous = true to read anonymously", cfg->path);
		return -1;
	}
	if (l->bind_dn != NULL && l->anonymous) {
		log_err("%s: lookup.bind_dn and lookup.anonymous = true: "
		    "choose one", cfg->path);
		return -1;
	}
	if (l->insecure_no_anchors) {
		if (l->trust_anchors != NULL) {
			log_err("%s: lookup.trust_anchors and "
			    "lookup.insecure_no_anchors = true: choose one",
			    cfg->path);
			return -1;
		}
		log_warn("%s: lookup.insecure_no_anchors = true: certificates "
		    "are served without checking that they chain to a trust "
		    "anchor; anyone who can write an entry can publish a "
		    "certificate that is served", cfg->path);
		return 0;
	}
	if (l->trust_anchors != NULL)
		return 0;
	path = lk_issuer_cert(cfg, buf, sizeof(buf), &key);
	if (path != NULL && stat(path, &sb) == 0)
		return 0;
	if (key == NULL)
		snprintf(why, sizeof(why), "ca.driver \"%s\" names no CA "
		    "certificate", cfg->ca.driver != NULL ? cfg->ca.driver : "");
	else if (path == NULL)
		snprintf(why, sizeof(why), "%s is not set", key);
	else
		snprintf(why, sizeof(why), "the issuing CA's certificate %s "
		    "(from %s) is not there: %s", path, key, strerror(errno));
	log_err("%s: no trust anchors: lookup.trust_anchors is not set and %s; "
	    "set lookup.trust_anchors to the certificate(s) of the CA "
	    "smimepub-sync issues under, or lookup.insecure_no_anchors = true "
	    "to serve certificates without a chain check", cfg->path, why);
	return -1;
}
