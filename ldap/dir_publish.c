/*
 * dir_publish.c — publish and unpublish certificates on a person's entry by
 * the rules of DESIGN.md "What is in the directory": ours first in both
 * attributes, exactly one of ours, foreign values kept byte for byte in
 * their order, one modify per change, guarded against lost updates and
 * retried from a fresh read when the entry changed meanwhile.
 *
 * How the guard works on OpenLDAP 2.5 (tests/integration/10_slapd_harness.sh):
 * userCertificate;binary has an equality rule, so its exact old values are
 * deleted and a value changed meanwhile fails the modify (noSuchAttribute).
 * userSMIMECertificate has none (a value delete fails with
 * inappropriateMatching), so the whole attribute is deleted and added back,
 * and the modify carries the assertion control (RFC 4528) on the guard
 * attribute (entryCSN) read with the entry: assertionFailed if it changed.
 */
#include <stdlib.h>
#include <string.h>

#include <lber.h>
#include <ldap.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "common/x509.h"
#include "ldap/dir.h"
#include "ldap/dir_priv.h"

void	(*dir_test_before_modify)(const char *, int, void *);
void	*dir_test_before_modify_arg;

static int
vals_equal(const struct dir_val *a, size_t na, const struct dir_val *b,
    size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (a[i].len != b[i].len ||
		    memcmp(a[i].data, b[i].data, a[i].len) != 0)
			return 0;
	return 1;
}

/* A NULL-terminated array of berval pointers over vals (borrowed). */
static struct berval **
bv_array(const struct dir_val *vals, size_t n)
{
	struct berval **arr, *bv;
	size_t i;

	if ((arr = calloc(n + 1, sizeof(*arr))) == NULL)
		return NULL;
	if ((bv = calloc(n ? n : 1, sizeof(*bv))) == NULL) {
		free(arr);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		bv[i].bv_val = (char *)vals[i].data;
		bv[i].bv_len = vals[i].len;
		arr[i] = &bv[i];
	}
	/* arr[0] (or bv itself when n == 0) owns the block: see bv_free. */
	if (n == 0)
		free(bv);
	return arr;
}

static void
bv_free(struct berval **arr)
{
	if (arr != NULL)
		free(arr[0]);
	free(arr);
}

int
dir_modify_certs(struct dir *d, const char *dn, const char *guard,
    const struct dir_val *cur_uc, size_t n_cur_uc,
    const struct dir_val *new_uc, size_t n_new_uc,
    const struct dir_val *cur_sm, size_t n_cur_sm,
    const struct dir_val *new_sm, size_t n_new_sm)
{
	LDAPMod mods[4], *modp[5];
	LDAPControl *actrl = NULL, *ctrls[2] = { NULL, NULL };
	struct berval **bvs[4] = { NULL, NULL, NULL, NULL };
	char *esc = NULL, *filter = NULL;
	int n = 0, rc = LDAP_NO_MEMORY, guarded;

	guarded = guard != NULL && d->has_assert;
	memset(mods, 0, sizeof(mods));
	if (!vals_equal(cur_uc, n_cur_uc, new_uc, n_new_uc)) {
		if (n_cur_uc > 0) {
			if ((bvs[n] = bv_array(cur_uc, n_cur_uc)) == NULL)
				goto out;
			mods[n].mod_op = LDAP_MOD_DELETE | LDAP_MOD_BVALUES;
			mods[n].mod_type = (char *)d->fl->attr_usercert;
			mods[n].mod_bvalues = bvs[n];
			n++;
		}
		if (n_new_uc > 0) {
			if ((bvs[n] = bv_array(new_uc, n_new_uc)) == NULL)
				goto out;
			mods[n].mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES;
			mods[n].mod_type = (char *)d->fl->attr_usercert;
			mods[n].mod_bvalues = bvs[n];
			n++;
		}
	}
	if (!vals_equal(cur_sm, n_cur_sm, new_sm, n_new_sm)) {
		if (n_cur_sm > 0) {
			/* No equality rule on OpenLDAP: the whole attribute,
			 * under the assertion; else value by value. */
			if (!guarded &&
			    (bvs[n] = bv_array(cur_sm, n_cur_sm)) == NULL)
				goto out;
			mods[n].mod_op = LDAP_MOD_DELETE | LDAP_MOD_BVALUES;
			mods[n].mod_type = (char *)d->fl->attr_smime;
			mods[n].mod_bvalues = guarded ? NULL : bvs[n];
			n++;
		}
		if (n_new_sm > 0) {
			if ((bvs[n] = bv_array(new_sm, n_new_sm)) == NULL)
				goto out;
			mods[n].mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES;
			mods[n].mod_type = (char *)d->fl->attr_smime;
			mods[n].mod_bvalues = bvs[n];
			n++;
		}
	}
	if (n == 0) {
		rc = LDAP_SUCCESS;
		goto out;
	}
	for (int i = 0; i < n; i++)
		modp[i] = &mods[i];
	modp[n] = NULL;
	if (guarded) {
		if ((esc = dir_filter_escape(guard, strlen(guard))) == NULL ||
		    asprintf(&filter, "(%s=%s)", d->fl->attr_guard, esc) == -1) {
			filter = NULL;
			goto out;
		}
		rc = ldap_create_assertion_control(d->ld, filter, 1, &actrl);
		if (rc != LDAP_SUCCESS)
			goto out;
		ctrls[0] = actrl;
	}
	rc = ldap_modify_ext_s(d->ld, dn, modp, guarded ? ctrls : NULL, NULL);
out:
	for (int i = 0; i < 4; i++)
		bv_free(bvs[i]);
	ldap_control_free(actrl);
	free(esc);
	free(filter);
	return rc;
}

/* Remember cert among the removed ones unless an equal one is there. */
static void
note_removed(STACK_OF(X509) *removed, X509 *c)
{
	int i;

	if (removed == NULL)
		return;
	for (i = 0; i < sk_X509_num(removed); i++)
		if (X509_cmp(sk_X509_value(removed, i), c) == 0)
			return;
	if (X509_up_ref(c) == 1 && sk_X509_push(removed, c) == 0)
		X509_free(c);
}

/* One of the leaves being published (leaf[1] may be NULL)? */
static int
is_leaf(X509 *c, X509 *const *leaf)
{
	return leaf != NULL && ((leaf[0] != NULL && X509_cmp(c, leaf[0]) ==
	    0) || (leaf[1] != NULL && X509_cmp(c, leaf[1]) == 0));
}

/* Ours: is_ours says so, or it is a leaf being published. */
static int
cert_ours(X509 *c, X509 *const *leaf, dir_is_ours_fn is_ours, void *arg)
{
	if (is_leaf(c, leaf))
		return 1;
	return is_ours != NULL && is_ours(c, arg) == 1;
}

static int
uc_ours(const struct dir_val *v, X509 *const *leaf,
    const struct dir_val *mine, dir_is_ours_fn is_ours, void *arg,
    STACK_OF(X509) *removed)
{
	X509 *c;
	int r, i;

	for (i = 0; mine != NULL && i < 2; i++)
		if (mine[i].data != NULL && v->len == mine[i].len &&
		    memcmp(v->data, mine[i].data, v->len) == 0)
			return 1;
	if ((c = x509_from_der(v->data, v->len)) == NULL)
		return 0;	/* unparseable: foreign, kept as it is */
	if ((r = cert_ours(c, leaf, is_ours, arg)) && !is_leaf(c, leaf))
		note_removed(removed, c);
	X509_free(c);
	return r;
}

static int
sm_ours(const struct dir_val *v, X509 *const *leaf, dir_is_ours_fn is_ours,
    void *arg, STACK_OF(X509) *removed)
{
	STACK_OF(X509) *sk;
	X509 *c;
	int r = 0;

	if ((sk = x509_certsonly_parse(v->data, v->len)) == NULL)
		return 0;
	if (sk_X509_num(sk) > 0) {
		c = sk_X509_value(sk, 0);
		if ((r = cert_ours(c, leaf, is_ours, arg)) &&
		    !is_leaf(c, leaf))
			note_removed(removed, c);
	}
	sk_X509_pop_free(sk, X509_free);
	return r;
}

/*
 * new = [mine] (one or two: keys.separate_signing's encryption certificate
 * first, then the signing one) + the values of cur that are not ours, in
 * their order. The values are borrowed from cur and mine.
 */
static struct dir_val *
new_list(const struct dir_val *cur, size_t n, const struct dir_val *mine,
    const int *ours, size_t *nout)
{
	struct dir_val *out;
	size_t i, k = 0;

	if ((out = calloc(n + 2, sizeof(*out))) == NULL)
		return NULL;
	for (i = 0; mine != NULL && i < 2; i++)
		if (mine[i].data != NULL)
			out[k++] = mine[i];
	for (i = 0; i < n; i++)
		if (!ours[i])
			out[k++] = cur[i];
	*nout = k;
	return out;
}

/* One attempt at a publish: the entry as read, and the values it gets. */
struct dir_plan {
	struct dir_person *p;
	char		*guard;		/* the lost-update guard read with it */
	int		*ouc, *osm;	/* which values are ours */
	struct dir_val	*nuc, *nsm;	/* the values after the modify */
	size_t		 n_nuc, n_nsm;
	STACK_OF(X509)	*removed;	/* ours the modify takes off */
};

static void
dir_plan_clear(struct dir_plan *pl)
{
	dir_person_free(pl->p);
	free(pl->guard);
	free(pl->ouc);
	free(pl->osm);
	free(pl->nuc);
	free(pl->nsm);
	if (pl->removed != NULL)
		sk_X509_pop_free(pl->removed, X509_free);
	memset(pl, 0, sizeof(*pl));
}

/* The DER and certs-only bundle of each leaf (at most two: encryption,
 * then signing). 0, or -1 logged. */
static int
dir_mine(X509 *const *leaf, STACK_OF(X509) *chain, struct dir_val *mine_uc,
    struct dir_val *mine_sm, const char *addr, const char *verb)
{
	unsigned char *der, *bundle;
	size_t i;

	for (i = 0; leaf != NULL && i < 2 && leaf[i] != NULL; i++) {
		der = bundle = NULL;
		if (x509_to_der(leaf[i], &der, &mine_uc[i].len) == -1 ||
		    x509_certsonly_build(leaf[i], chain, &bundle,
		    &mine_sm[i].len) == -1) {
			OPENSSL_free(der);
			log_ssl("%s: %s: cannot encode the certificate", addr,
			    verb);
			return -1;
		}
		mine_uc[i].data = der;
		mine_sm[i].data = bundle;
	}
	return 0;
}

/*
 * Read the entry (by id, or by mail addr under base) with its guard and
 * plan the values: ours first, then the foreign ones byte for byte, every
 * other value of ours marked for removal. 0, 1 no such entry, -1 logged.
 */
static int
dir_plan_read(struct dir *d, const char *addr, const char *id,
    X509 *const *leaf, const struct dir_val *mine_uc,
    const struct dir_val *mine_sm, dir_is_ours_fn is_ours, void *arg,
    struct dir_plan *pl)
{
	struct dir_person *p;
	size_t i;
	int lrc;

	if ((pl->removed = sk_X509_new_null()) == NULL)
		goto nomem;
	lrc = id != NULL ? dir_find_id_guarded(d, id, &pl->p, &pl->guard) :
	    dir_find_guarded(d, addr, &pl->p, &pl->guard);
	if (lrc != 0)
		return lrc == 1 ? 1 : -1;
	p = pl->p;
	if ((pl->ouc = calloc(p->n_usercert + 1, sizeof(int))) == NULL ||
	    (pl->osm = calloc(p->n_smime + 1, sizeof(int))) == NULL)
		goto nomem;
	for (i = 0; i < p->n_usercert; i++)
		pl->ouc[i] = uc_ours(&p->usercert[i], leaf, mine_uc, is_ours,
		    arg, pl->removed);
	for (i = 0; i < p->n_smime; i++)
		pl->osm[i] = sm_ours(&p->smime[i], leaf, is_ours, arg,
		    pl->removed);
	if ((pl->nuc = new_list(p->usercert, p->n_usercert,
	    leaf != NULL ? mine_uc : NULL, pl->ouc, &pl->n_nuc)) == NULL ||
	    (pl->nsm = new_list(p->smime, p->n_smime,
	    leaf != NULL ? mine_sm : NULL, pl->osm, &pl->n_nsm)) == NULL)
		goto nomem;
	return 0;
nomem:
	log_err("%s: out of memory", addr);
	return -1;
}

/* The plan already holds: nothing to write. */
static int
dir_plan_done(const struct dir_plan *pl)
{
	const struct dir_person *p = pl->p;

	return vals_equal(p->usercert, p->n_usercert, pl->nuc, pl->n_nuc) &&
	    vals_equal(p->smime, p->n_smime, pl->nsm, pl->n_nsm);
}

/* The modify of one attempt, as planned; its LDAP result. */
static int
dir_plan_write(struct dir *d, const struct dir_plan *pl, int attempt)
{
	const struct dir_person *p = pl->p;

	if (pl->guard == NULL)
		log_debug("%s: no %s on the entry: exact-value deletes only",
		    p->dn, d->fl->attr_guard != NULL ? d->fl->attr_guard :
		    "lost-update guard");
	else if (!d->has_assert)
		log_debug("%s: the server lacks the assertion control: "
		    "exact-value deletes only", d->cfg->uri);
	if (dir_test_before_modify != NULL)
		dir_test_before_modify(p->dn, attempt,
		    dir_test_before_modify_arg);
	return dir_modify_certs(d, p->dn, pl->guard, p->usercert,
	    p->n_usercert, pl->nuc, pl->n_nuc, p->smime, p->n_smime, pl->nsm,
	    pl->n_nsm);
}

/*
 * publish (leaf != NULL) or unpublish (leaf == NULL) on the person with
 * mail addr under base, or (id != NULL) on the entry with that stable id
 * anywhere in the naming context: then 1 when there is none, and
 * DIR_REFUSED for insufficientAccessRights on an unpublish. A concurrent
 * change is read again, up to DIR_MAX_RETRY times; a lost connection is
 * reconnected once.
 */
static int
dir_apply(struct dir *d, const char *addr, const char *id, X509 *const *leaf,
    STACK_OF(X509) *chain, dir_is_ours_fn is_ours, void *arg,
    struct dir_person **person_out, size_t *nremoved)
{
	struct dir_plan pl;
	struct dir_val mine_uc[2], mine_sm[2];
	size_t i;
	int attempt, rc = -1, lrc, reconnected = 0;
	const char *verb = leaf != NULL ? "publish" : "unpublish";

	if (person_out != NULL)
		*person_out = NULL;
	if (nremoved != NULL)
		*nremoved = 0;
	memset(&pl, 0, sizeof(pl));
	memset(mine_uc, 0, sizeof(mine_uc));
	memset(mine_sm, 0, sizeof(mine_sm));
	if (dir_mine(leaf, chain, mine_uc, mine_sm, addr, verb) == -1)
		goto out;
	for (attempt = 0; ; attempt++) {
		dir_plan_clear(&pl);
		if ((lrc = dir_plan_read(d, addr, id, leaf, mine_uc, mine_sm,
		    is_ours, arg, &pl)) != 0) {
			rc = lrc == 1 ? 1 : -1;
			goto out;
		}
		if (dir_plan_done(&pl)) {
			log_debug("%s: %s: nothing to change", pl.p->dn, verb);
			break;
		}
		if ((lrc = dir_plan_write(d, &pl, attempt)) == LDAP_SUCCESS)
			break;
		if (dir_conn_lost(lrc) && !reconnected) {
			log_warn("%s: connection lost; reconnecting",
			    d->cfg->uri);
			reconnected = 1;
			if (dir_reconnect(d) == -1)
				goto out;
			continue;
		}
		if (lrc == LDAP_INSUFFICIENT_ACCESS && id != NULL &&
		    leaf == NULL) {
			/* a leaver moved out of base: said how to delegate */
			dir_log_ldap(d, lrc, "%s %s: modify %s refused: the "
			    "bind identity may not write %s and %s there "
			    "(delegate that right on the parent of every OU "
			    "people move between)", verb, addr, pl.p->dn,
			    d->fl->attr_usercert, d->fl->attr_smime);
			rc = DIR_REFUSED;
			goto give;
		}
		if (lrc != LDAP_NO_SUCH_ATTRIBUTE &&
		    lrc != LDAP_TYPE_OR_VALUE_EXISTS &&
		    lrc != LDAP_ASSERTION_FAILED) {
			dir_log_ldap(d, lrc, "%s %s: modify %s", verb, addr,
			    pl.p->dn);
			goto out;
		}
		if (attempt + 1 >= DIR_MAX_RETRY) {
			dir_log_ldap(d, lrc, "%s %s: modify %s: the entry "
			    "changed under every one of %d attempts", verb,
			    addr, pl.p->dn, DIR_MAX_RETRY);
			goto out;
		}
		log_info("%s: changed since it was read (%s); reading it "
		    "again", pl.p->dn, ldap_err2string(lrc));
	}
	if (nremoved != NULL)
		*nremoved = (size_t)sk_X509_num(pl.removed);
	rc = 0;
give:
	if (person_out != NULL) {
		*person_out = pl.p;
		pl.p = NULL;
	}
out:
	dir_plan_clear(&pl);
	for (i = 0; i < 2; i++) {
		OPENSSL_free(mine_uc[i].data);
		OPENSSL_free(mine_sm[i].data);
	}
	return rc;
}

int
dir_publish(struct dir *d, const char *addr, X509 *leaf,
    STACK_OF(X509) *chain, dir_is_ours_fn is_ours, void *arg,
    struct dir_person **person_out)
{
	X509 *leaves[2];

	if (leaf == NULL) {
		log_err("%s: publish: no certificate", addr);
		return -1;
	}
	leaves[0] = leaf;
	leaves[1] = NULL;
	/* nobody to publish to is a failure (logged by the search) */
	return dir_apply(d, addr, NULL, leaves, chain, is_ours, arg,
	    person_out, NULL) == 0 ? 0 : -1;
}

int
dir_unpublish(struct dir *d, const char *addr, dir_is_ours_fn is_ours,
    void *arg, size_t *removed)
{
	return dir_apply(d, addr, NULL, NULL, NULL, is_ours, arg, NULL,
	    removed);
}

int
dir_publish_id(struct dir *d, const char *id, X509 *leaf,
    STACK_OF(X509) *chain, dir_is_ours_fn is_ours, void *arg,
    struct dir_person **before, size_t *removed)
{
	return dir_publish_id_pair(d, id, leaf, NULL, chain, is_ours, arg,
	    before, removed);
}

int
dir_publish_id_pair(struct dir *d, const char *id, X509 *leaf, X509 *second,
    STACK_OF(X509) *chain, dir_is_ours_fn is_ours, void *arg,
    struct dir_person **before, size_t *removed)
{
	X509 *leaves[2];

	leaves[0] = leaf;
	leaves[1] = leaf != NULL ? second : NULL;
	return dir_apply(d, id, id, leaf != NULL ? leaves : NULL, chain,
	    is_ours, arg, before, removed);
}
