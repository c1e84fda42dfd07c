/*
 * dir_doctor.c — what `smimepub doctor` asks of the directory beyond a
 * bind and a search: proof of the write right on the certificate
 * attributes without changing an entry, and the server's clock.
 *
 * The proof. slapd checks the assertion control (RFC 4528) before access
 * rights (back-mdb: assertionFailed 122 comes back to a read-only account
 * too), so an assertion that is false proves nothing. It checks the rights
 * of the whole modification list before applying any of it, though, and a
 * modify fails as a whole (RFC 4511 §4.6). So: add a throwaway value to
 * each attribute, then delete a value that is not there: the server checks
 * add and delete rights on both attributes, then fails the delete with
 * noSuchAttribute (16) or inappropriateMatching (18, userSMIMECertificate
 * has no equality rule) and rolls the adds back; without the right it
 * answers insufficientAccessRights (50) before touching anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "ldap/dir_priv.h"

int
dir_probe_write(struct dir *d, const char *dn, const struct dir_val *add,
    const struct dir_val *absent)
{
	struct berval a = { (ber_len_t)add->len, (char *)add->data };
	struct berval b = { (ber_len_t)absent->len, (char *)absent->data };
	struct berval *av[2] = { &a, NULL }, *bv[2] = { &b, NULL };
	LDAPMod m[4], *mods[5] = { &m[0], &m[1], &m[2], &m[3], NULL };
	int rc, i;

	memset(m, 0, sizeof(m));
	for (i = 0; i < 4; i++) {
		m[i].mod_op = (i < 2 ? LDAP_MOD_ADD : LDAP_MOD_DELETE) |
		    LDAP_MOD_BVALUES;
		m[i].mod_type = (char *)(i % 2 == 0 ? d->fl->attr_usercert :
		    d->fl->attr_smime);
		m[i].mod_bvalues = i < 2 ? av : bv;
	}
	if (dir_ensure(d) == -1)
		return -1;
	rc = ldap_modify_ext_s(d->ld, dn, mods, NULL, NULL);
	if (dir_conn_lost(rc) && dir_reconnect(d) == 0)
		rc = ldap_modify_ext_s(d->ld, dn, mods, NULL, NULL);
	switch (rc) {
	case LDAP_NO_SUCH_ATTRIBUTE:		/* 16: rights checked */
	case LDAP_INAPPROPRIATE_MATCHING:	/* 18: the same */
		return 1;
	case LDAP_INSUFFICIENT_ACCESS:		/* 50 */
		return 0;
	case LDAP_SUCCESS:
		/* cannot happen (the value deleted is absent); say so */
		log_err("%s: the probe modify of %s succeeded: check the entry",
		    d->cfg->uri, dn);
		return -1;
	default:
		dir_log_ldap(d, rc, "probe modify of %s", dn);
		return -1;
	}
}

/* "20261206203744Z" or "20261206203744.0Z" (RFC 4517 §3.3.13), UTC. */
static int
dir_gentime(const struct berval *v, time_t *t)
{
	char buf[32];
	struct tm tm;
	const char *end;

	if (v->bv_len < 15 || v->bv_len >= sizeof(buf))
		return -1;
	memcpy(buf, v->bv_val, v->bv_len);
	buf[v->bv_len] = '\0';
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(buf, "%Y%m%d%H%M%S", &tm)) == NULL)
		return -1;
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	if (strcmp(end, "Z") != 0)
		return -1;
	*t = timegm(&tm);
	return 0;
}

/* One attribute of one entry, read at base scope; LDAP result code. */
static int
dir_read_time(struct dir *d, const char *dn, char *attr, time_t *t,
    int *found)
{
	char *attrs[2] = { attr, NULL };
	struct timeval tv = { dir_timeout(d), 0 };
	LDAPMessage *res = NULL, *e;
	struct berval **v = NULL;
	int rc;

	*found = 0;
	rc = ldap_search_ext_s(d->ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)",
	    attrs, 0, NULL, NULL, &tv, 1, &res);
	if (rc == LDAP_SUCCESS && (e = ldap_first_entry(d->ld, res)) != NULL &&
	    (v = ldap_get_values_len(d->ld, e, attr)) != NULL && v[0] != NULL)
		*found = dir_gentime(v[0], t) == 0;
	ldap_value_free_len(v);
	ldap_msgfree(res);
	return rc;
}

int
dir_server_time(struct dir *d, time_t *t, const char **src)
{
	int found = 0;

	if (dir_ensure(d) == -1)
		return -1;
	/* AD: the root DSE's currentTime */
	(void)dir_read_time(d, "", "currentTime", t, &found);
	if (found) {
		*src = "the root DSE's currentTime";
		return 0;
	}
	/* OpenLDAP with back-monitor enabled and readable */
	(void)dir_read_time(d, "cn=Current,cn=Time,cn=Monitor",
	    "monitorTimestamp", t, &found);
	if (found) {
		*src = "cn=Current,cn=Time,cn=Monitor";
		return 0;
	}
	return 1;
}
