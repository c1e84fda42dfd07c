/*
 * dir_replica.c — the directory as several replicas (DESIGN.md "Scaling
 * out"): which server is the lease authority by default, and whether the
 * replica an instance reads has caught up with that authority.
 *
 * The authority: with OpenLDAP, the first server of directory.uri; with AD,
 * the domain controller holding the PDC emulator role, named by the
 * fSMORoleOwner of the domain's naming context (MS-ADTS 3.1.1.1.11): that
 * is the DN of the role owner's nTDSDSA object, whose parent, the server
 * object, holds its dNSHostName.
 *
 * Caught up: a sync point read on the authority is later compared on the
 * replica. OpenLDAP: the naming context's contextCSN values, one per
 * serverID (RFC 4533 is silent on several; slapd keeps one per provider);
 * the replica has caught up when, for each serverID of the point, its own
 * CSN is at least as recent (a CSN starts with a fixed-width generalized
 * time, so strings compare as times). AD: USNs are per domain controller,
 * so the point is the authority's invocationId and highestCommittedUSN;
 * the replica has caught up when it is that DC, or when its up-to-dateness
 * vector (replUpToDateVector on the naming context, MS-DRSR 5.166
 * REPLUPTODATEVECTOR_BLOB) holds a cursor for that invocationId at least
 * as high. The flavour table says which (attr_sync_point).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "ldap/dir_priv.h"

#define CSN_MAX		64	/* 20231231235959.999999Z#ffffff#fff#ffffff */
#define GUID_LEN	16

/* The values of attr of dn (base search), or NULL (*vals) when it has
 * none. 0, or -1 logged. */
static int
read_vals(struct dir *d, const char *dn, const char *attr,
    struct berval ***vals)
{
	char *attrs[2] = { (char *)attr, NULL };
	struct timeval tv = { dir_timeout(d), 0 };
	LDAPMessage *res = NULL, *e;
	int rc;

	*vals = NULL;
	if (dir_ensure(d) == -1)
		return -1;
	rc = ldap_search_ext_s(d->ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)",
	    attrs, 0, NULL, NULL, &tv, 1, &res);
	if (dir_conn_lost(rc) && dir_reconnect(d) == 0)
		rc = ldap_search_ext_s(d->ld, dn, LDAP_SCOPE_BASE,
		    "(objectClass=*)", attrs, 0, NULL, NULL, &tv, 1, &res);
	if (rc != LDAP_SUCCESS) {
		dir_log_ldap(d, rc, "read %s of \"%s\"", attr, dn);
		ldap_msgfree(res);
		return -1;
	}
	if ((e = ldap_first_entry(d->ld, res)) != NULL)
		*vals = ldap_get_values_len(d->ld, e, attr);
	ldap_msgfree(res);
	return 0;
}

/* The one value of attr of dn as a string (malloc'd). 0, or -1 logged. */
static int
read_str(struct dir *d, const char *dn, const char *attr, char **out)
{
	struct berval **v = NULL;

	*out = NULL;
	if (read_vals(d, dn, attr, &v) == -1)
		return -1;
	if (v == NULL || v[0] == NULL || v[0]->bv_len == 0 ||
	    memchr(v[0]->bv_val, '\0', v[0]->bv_len) != NULL) {
		log_err("%s: \"%s\" has no %s", d->cfg->uri, dn, attr);
		ldap_value_free_len(v);
		return -1;
	}
	*out = strndup(v[0]->bv_val, v[0]->bv_len);
	ldap_value_free_len(v);
	if (*out == NULL) {
		log_err("%s: out of memory", d->cfg->uri);
		return -1;
	}
	return 0;
}

/* The first server of a URI list (libldap takes spaces or commas). */
static int
first_uri(const char *list, char **out)
{
	size_t n = strcspn(list, " \t,");

	if ((*out = strndup(list, n)) == NULL) {
		log_err("directory.uri: out of memory");
		return -1;
	}
	return 0;
}

/* dn less its first RDN (RFC 4514: the first unescaped comma). */
static const char *
dn_parent(const char *dn)
{
	const char *p;

	for (p = dn; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == ',')
			return p + 1;
	}
	return NULL;
}

/* AD: the PDC emulator's host, as the scheme and port of the first URI. */
static int
pdc_uri(struct dir *d, char **out, char **why)
{
	char *nc = NULL, *owner = NULL, *host = NULL, *first = NULL;
	const char *server;
	LDAPURLDesc *lud = NULL;
	int ret = -1;

	if (dir_naming_context(d, &nc) == -1 ||
	    read_str(d, nc, d->fl->attr_role_owner, &owner) == -1)
		goto out;
	if ((server = dn_parent(owner)) == NULL) {
		log_err("%s: %s of \"%s\" is no DN with a parent: \"%s\"",
		    d->cfg->uri, d->fl->attr_role_owner, nc, owner);
		goto out;
	}
	if (read_str(d, server, "dNSHostName", &host) == -1 ||
	    first_uri(d->cfg->uri, &first) == -1)
		goto out;
	if (ldap_url_parse(first, &lud) != LDAP_URL_SUCCESS ||
	    strcasecmp(lud->lud_scheme, "ldapi") == 0) {
		log_err("%s: the PDC emulator %s is reached over the network: "
		    "set sync.lease_uri", first, host);
		goto out;
	}
	if ((lud->lud_port != 0 && asprintf(out, "%s://%s:%d",
	    lud->lud_scheme, host, lud->lud_port) == -1) ||
	    (lud->lud_port == 0 && asprintf(out, "%s://%s", lud->lud_scheme,
	    host) == -1) || asprintf(why, "the PDC emulator (%s of %s: %s)",
	    d->fl->attr_role_owner, nc, owner) == -1) {
		*out = NULL;
		log_err("%s: out of memory", d->cfg->uri);
		goto out;
	}
	ret = 0;
out:
	if (ret == -1) {
		free(*out);
		*out = NULL;
	}
	ldap_free_urldesc(lud);
	free(nc);
	free(owner);
	free(host);
	free(first);
	return ret;
}

int
dir_lease_authority(struct dir *d, char **uri, char **why)
{
	*uri = *why = NULL;
	if (d->fl->attr_role_owner != NULL)
		return pdc_uri(d, uri, why);
	if (first_uri(d->cfg->uri, uri) == -1)
		return -1;
	if ((*why = strdup("the first server of directory.uri")) == NULL) {
		free(*uri);
		*uri = NULL;
		log_err("directory.uri: out of memory");
		return -1;
	}
	return 0;
}

/* AD: this DC's invocationId (its nTDSDSA object, dsServiceName). */
static int
invocation_id(struct dir *d, unsigned char id[GUID_LEN])
{
	struct berval **v = NULL;
	char *dsa = NULL;
	int ret = -1;

	if (read_str(d, "", "dsServiceName", &dsa) == -1 ||
	    read_vals(d, dsa, "invocationId", &v) == -1)
		goto out;
	if (v == NULL || v[0] == NULL || v[0]->bv_len != GUID_LEN) {
		log_err("%s: \"%s\" has no invocationId", d->cfg->uri, dsa);
		goto out;
	}
	memcpy(id, v[0]->bv_val, GUID_LEN);
	ret = 0;
out:
	ldap_value_free_len(v);
	free(dsa);
	return ret;
}

static int
ad_point(struct dir *d, char **point)
{
	unsigned char id[GUID_LEN];
	unsigned long long usn;
	char hex[2 * GUID_LEN + 1];
	int i;

	if (invocation_id(d, id) == -1 || dir_highest_usn(d, &usn) != 0)
		return -1;
	for (i = 0; i < GUID_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	if (asprintf(point, "%s:%llu", hex, usn) == -1) {
		*point = NULL;
		log_err("%s: out of memory", d->cfg->uri);
		return -1;
	}
	return 0;
}

static uint64_t
le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The USN of the cursor for id in a REPLUPTODATEVECTOR_BLOB (MS-DRSR
 * 5.166: version 1 cursors are a GUID and a USN, 24 bytes; version 2 add
 * a time, 32 bytes; both after a 16-byte header). 0 and *usn, 1 none. */
int
dir_utd_cursor(const void *blob, size_t len, const unsigned char id[16],
    uint64_t *usn)
{
	const unsigned char *p = blob;
	size_t n, i, sz;
	uint32_t ver;

	if (len < 16)
		return 1;
	ver = (uint32_t)p[0] | (uint32_t)p[1] << 8;
	n = (size_t)p[8] | (size_t)p[9] << 8 | (size_t)p[10] << 16 |
	    (size_t)p[11] << 24;
	sz = ver == 1 ? 24 : ver == 2 ? 32 : 0;
	if (sz == 0 || n > (len - 16) / sz)
		return 1;
	for (i = 0; i < n; i++)
		if (memcmp(p + 16 + i * sz, id, GUID_LEN) == 0) {
			*usn = le64(p + 16 + i * sz + GUID_LEN);
			return 0;
		}
	return 1;
}

static int
ad_reached(struct dir *d, const char *point)
{
	unsigned char id[GUID_LEN], mine[GUID_LEN];
	unsigned long long want;
	struct berval **v = NULL;
	char *nc = NULL, *end;
	uint64_t have = 0;
	unsigned x;
	int i, ret = -1;

	for (i = 0; i < GUID_LEN; i++) {
		if (sscanf(point + 2 * i, "%2x", &x) != 1)
			goto bad;
		id[i] = (unsigned char)x;
	}
	if (point[2 * GUID_LEN] != ':')
		goto bad;
	want = strtoull(point + 2 * GUID_LEN + 1, &end, 10);
	if (*end != '\0')
		goto bad;
	if (invocation_id(d, mine) == -1)
		return -1;
	if (memcmp(id, mine, GUID_LEN) == 0)
		return 1;	/* the replica is the authority */
	if (dir_naming_context(d, &nc) == -1 ||
	    read_vals(d, nc, "replUpToDateVector", &v) == -1)
		goto out;
	ret = v != NULL && v[0] != NULL && dir_utd_cursor(v[0]->bv_val,
	    v[0]->bv_len, id, &have) == 0 &&
	    have >= want;
	goto out;
bad:
	log_err("%s: \"%s\" is no sync point of this flavour", d->cfg->uri,
	    point);
out:
	ldap_value_free_len(v);
	free(nc);
	return ret;
}

/* OpenLDAP: the contextCSN values of the naming context, space separated. */
static int
csn_point(struct dir *d, char **point)
{
	struct berval **v = NULL;
	char *nc = NULL;
	size_t len = 1, i;
	int ret = -1;

	*point = NULL;
	if (dir_naming_context(d, &nc) == -1 ||
	    read_vals(d, nc, d->fl->attr_sync_point, &v) == -1)
		goto out;
	for (i = 0; v != NULL && v[i] != NULL; i++)
		len += v[i]->bv_len + 1;
	if ((*point = calloc(1, len)) == NULL) {
		log_err("%s: out of memory", d->cfg->uri);
		goto out;
	}
	for (i = 0; v != NULL && v[i] != NULL; i++) {
		if (v[i]->bv_len == 0 || v[i]->bv_len >= CSN_MAX ||
		    memchr(v[i]->bv_val, ' ', v[i]->bv_len) != NULL ||
		    memchr(v[i]->bv_val, '\0', v[i]->bv_len) != NULL)
			continue;	/* no CSN */
		if ((*point)[0] != '\0')
			strcat(*point, " ");
		strncat(*point, v[i]->bv_val, v[i]->bv_len);
	}
	ret = 0;
out:
	ldap_value_free_len(v);
	free(nc);
	return ret;
}

/* The serverID field of a CSN (its third, '#'-separated), with length. */
static const char *
csn_sid(const char *csn, size_t len, size_t *sidlen)
{
	const char *end = csn + len, *p = memchr(csn, '#', len), *q, *r;

	if (p == NULL || (q = memchr(p + 1, '#', (size_t)(end - p - 1))) ==
	    NULL)
		return NULL;
	q++;
	r = memchr(q, '#', (size_t)(end - q));
	*sidlen = (size_t)((r != NULL ? r : end) - q);
	return q;
}

int
dir_csn_covered(struct berval **have, const char *want, size_t wlen)
{
	const char *ws, *hs;
	size_t wsl, hsl, i;

	if ((ws = csn_sid(want, wlen, &wsl)) == NULL)
		return 1;	/* no CSN: nothing to wait for */
	for (i = 0; have != NULL && have[i] != NULL; i++) {
		hs = csn_sid(have[i]->bv_val, have[i]->bv_len, &hsl);
		if (hs == NULL || hsl != wsl || memcmp(hs, ws, wsl) != 0)
			continue;
		return have[i]->bv_len == wlen && memcmp(have[i]->bv_val,
		    want, wlen) >= 0;
	}
	return 0;
}

static int
csn_reached(struct dir *d, const char *point)
{
	struct berval **v = NULL;
	const char *p = point;
	char *nc = NULL;
	size_t n;
	int ret = -1;

	if (dir_naming_context(d, &nc) == -1 ||
	    read_vals(d, nc, d->fl->attr_sync_point, &v) == -1)
		goto out;
	for (ret = 1; ret == 1 && *p != '\0'; p += n + (p[n] == ' ')) {
		n = strcspn(p, " ");
		ret = dir_csn_covered(v, p, n);
	}
out:
	ldap_value_free_len(v);
	free(nc);
	return ret;
}

int
dir_sync_point(struct dir *d, char **point)
{
	if (d->fl->sync_point_per_dc)
		return ad_point(d, point);
	return csn_point(d, point);
}

int
dir_sync_reached(struct dir *d, const char *point)
{
	if (d->fl->sync_point_per_dc)
		return ad_reached(d, point);
	return csn_reached(d, point);
}
