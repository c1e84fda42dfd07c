/*
 * dir_lease.c — the directory half of smimepub-sync's lease (DESIGN.md
 * "Scaling out"): read the one value of the lease attribute on the lease
 * entry, and swap it for another in one modify carrying the assertion
 * control (RFC 4528) on the value read, so that of two instances racing
 * for it exactly one wins and the other gets assertionFailed (RFC 4528 §5,
 * result code 122); where the server has no assertion control, by
 * deleting the value read and adding the new one in one modify. Which
 * value means what is sync/lease.c's business.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "ldap/dir_priv.h"

#define LEASE_VAL_MAX	512	/* longer is nothing smimepub wrote */

int
dir_lease_value(const char *dn, const char *attr, struct berval **v,
    char **val)
{
	int n = v == NULL ? 0 : ldap_count_values_len(v);

	*val = NULL;
	if (n > 1) {
		log_err("sync.lease_dn %s: %s holds %d values; the lease is "
		    "one value, written by smimepub-sync alone", dn, attr, n);
		return -1;
	}
	if (n == 1 && (v[0]->bv_len == 0 || v[0]->bv_len > LEASE_VAL_MAX ||
	    memchr(v[0]->bv_val, '\0', v[0]->bv_len) != NULL)) {
		log_err("sync.lease_dn %s: the value of %s is not a lease "
		    "smimepub-sync wrote (%lu bytes)", dn, attr,
		    (unsigned long)v[0]->bv_len);
		return -1;
	}
	if (n == 1 && (*val = strndup(v[0]->bv_val, v[0]->bv_len)) == NULL) {
		log_err("sync.lease_dn %s: out of memory", dn);
		return -1;
	}
	return 0;
}

static int
lease_read_once(struct dir *d, const char *dn, const char *attr, char **val,
    int *rc)
{
	char *attrs[2] = { (char *)attr, NULL };
	struct timeval tv = { dir_timeout(d), 0 };
	LDAPMessage *res = NULL, *e;
	struct berval **v = NULL;
	int ret = -1;

	*rc = ldap_search_ext_s(d->ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)",
	    attrs, 0, NULL, NULL, &tv, 1, &res);
	if (*rc == LDAP_NO_SUCH_OBJECT) {
		ret = 1;
		goto out;
	}
	if (*rc != LDAP_SUCCESS)
		goto out;
	if ((e = ldap_first_entry(d->ld, res)) == NULL) {
		ret = 1;
		goto out;
	}
	v = ldap_get_values_len(d->ld, e, attr);
	if (dir_lease_value(dn, attr, v, val) == -1)
		goto out;
	ret = 0;
out:
	ldap_value_free_len(v);
	ldap_msgfree(res);
	return ret;
}

int
dir_lease_read(struct dir *d, const char *dn, const char *attr, char **val)
{
	int rc, ret;

	*val = NULL;
	if (dir_ensure(d) == -1)
		return -1;
	ret = lease_read_once(d, dn, attr, val, &rc);
	if (ret == -1 && dir_conn_lost(rc) && dir_reconnect(d) == 0)
		ret = lease_read_once(d, dn, attr, val, &rc);
	if (ret == -1 && rc != LDAP_SUCCESS)
		dir_log_ldap(d, rc, "read the lease %s of %s", attr, dn);
	return ret;
}

/*
 * One modify: delete the value read (if any) and add the new one. Where the
 * server offers it, the assertion control (RFC 4528) on the value read, or
 * on there being none, guards it. Without it (Samba AD offers none) the
 * modify alone is the compare-and-swap: it is all or nothing (RFC 4511
 * §4.6) and deleting a value that is not there fails it with
 * noSuchAttribute; but an empty attribute cannot be taken that way (an add
 * would succeed for two instances at once).
 */
int
dir_lease_swap(struct dir *d, const char *dn, const char *attr,
    const char *old, const char *new)
{
	char *ov[2] = { (char *)old, NULL }, *nv[2] = { (char *)new, NULL };
	char *esc = NULL, *filter = NULL;
	LDAPMod del, add, *mods[3] = { NULL, NULL, NULL };
	LDAPControl *actrl = NULL, *ctrls[2] = { NULL, NULL };
	size_t flen;
	int rc, n = 0, ret = -1;

	if (dir_ensure(d) == -1)
		return -1;
	if (old == NULL && !d->has_assert) {
		log_err("sync.lease_dn %s: %s has no value, and %s offers no "
		    "assertion control (RFC 4528) to take an empty one with: "
		    "give it the value \"smimepub-sync free\" (or let "
		    "smimepub-sync make the entry)", dn, attr, d->cfg->uri);
		return -1;
	}
	memset(&del, 0, sizeof(del));
	memset(&add, 0, sizeof(add));
	del.mod_op = LDAP_MOD_DELETE;
	del.mod_type = add.mod_type = (char *)attr;
	del.mod_values = ov;
	add.mod_op = LDAP_MOD_ADD;
	add.mod_values = nv;
	if (old != NULL)
		mods[n++] = &del;
	mods[n] = &add;
	if (d->has_assert) {
		/* the value we read, escaped (RFC 4515 §3), or none at all */
		if (old != NULL &&
		    (esc = dir_filter_escape(old, strlen(old))) == NULL)
			goto nomem;
		flen = strlen(attr) * 2 + (esc ? strlen(esc) : 0) + 16;
		if ((filter = malloc(flen)) == NULL)
			goto nomem;
		if (old != NULL)
			snprintf(filter, flen, "(%s=%s)", attr, esc);
		else
			snprintf(filter, flen, "(!(%s=*))", attr);
		if ((rc = ldap_create_assertion_control(d->ld, filter, 1,
		    &actrl)) != LDAP_SUCCESS) {
			dir_log_ldap(d, rc, "make the assertion %s", filter);
			goto out;
		}
		ctrls[0] = actrl;
	}
	/* No retry after a lost connection: the modify may have been done,
	 * and a second one would fail against our own value. The caller
	 * reads the value again and sees which it is. */
	rc = ldap_modify_ext_s(d->ld, dn, mods, d->has_assert ? ctrls : NULL,
	    NULL);
	if (rc == LDAP_ASSERTION_FAILED || rc == LDAP_NO_SUCH_ATTRIBUTE)
		ret = 1;
	else if (rc == LDAP_SUCCESS)
		ret = 0;
	else {
		dir_log_ldap(d, rc, "write the lease %s of %s", attr, dn);
		if (dir_conn_lost(rc))
			(void)dir_reconnect(d);
	}
	goto out;
nomem:
	log_err("sync.lease_dn %s: out of memory", dn);
out:
	if (actrl != NULL)
		ldap_control_free(actrl);
	free(filter);
	free(esc);
	return ret;
}

int
dir_lease_create(struct dir *d, const char *dn, const char *attr,
    const char *val)
{
	char *oc[] = { (char *)d->fl->lease_class, NULL }, *cn[2] = { NULL, NULL };
	char *vals[2] = { (char *)val, NULL };
	LDAPMod m_oc, m_cn, m_val, *mods[4] = { &m_oc, &m_cn, &m_val, NULL };
	LDAPDN ldn = NULL;
	LDAPAVA *ava;
	int rc, ret = -1;

	if (dir_ensure(d) == -1)
		return -1;
	/* the lease class must have cn: the RDN gives it */
	if (ldap_str2dn(dn, &ldn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    ldn == NULL || ldn[0] == NULL || (ava = ldn[0][0]) == NULL ||
	    ldn[0][1] != NULL || ava->la_attr.bv_len != 2 ||
	    strncasecmp(ava->la_attr.bv_val, "cn", 2) != 0 ||
	    (ava->la_flags & LDAP_AVA_BINARY)) {
		log_err("sync.lease_dn %s: no such entry, and smimepub-sync "
		    "makes one only for a cn= RDN; create it (any entry "
		    "that may hold %s) and let the service account write %s",
		    dn, attr, attr);
		goto out;
	}
	if ((cn[0] = strndup(ava->la_value.bv_val, ava->la_value.bv_len)) ==
	    NULL) {
		log_err("sync.lease_dn %s: out of memory", dn);
		goto out;
	}
	memset(&m_oc, 0, sizeof(m_oc));
	memset(&m_cn, 0, sizeof(m_cn));
	memset(&m_val, 0, sizeof(m_val));
	m_oc.mod_op = m_cn.mod_op = m_val.mod_op = LDAP_MOD_ADD;
	m_oc.mod_type = "objectClass";
	m_oc.mod_values = oc;
	m_cn.mod_type = "cn";
	m_cn.mod_values = cn;
	m_val.mod_type = (char *)attr;
	m_val.mod_values = vals;
	rc = ldap_add_ext_s(d->ld, dn, mods, NULL, NULL);
	if (rc == LDAP_ALREADY_EXISTS)
		ret = 1;	/* another instance made it first */
	else if (rc == LDAP_SUCCESS)
		ret = 0;
	else
		dir_log_ldap(d, rc, "create the lease entry %s (no such entry "
		    "yet)", dn);
out:
	free(cn[0]);
	ldap_dnfree(ldn);
	return ret;
}
