/*
 * idattr.c — which directory attribute a journal's person ids are values
 * of. The journal is keyed by the stable id; reading people with another
 * one would make everyone look like a leaver (and revoke them all). So the
 * choice is made once per journal, recorded in it ("id_attribute") and
 * never changed silently: a directory or flavour that would read another
 * id is refused at start. 389-ds gives entryUUID where its entryuuid
 * plugin runs and the ACIs allow, else nsUniqueId; the other flavours
 * have one id each. A journal from before the record holds the flavour's
 * usual id.
 */
#include <stdio.h>
#include <string.h>

#include "common/jrnl.h"
#include "common/log.h"
#include "ldap/dir.h"
#include "enrol/enrol.h"

static int
count_enr(const struct jrnl_enr *r, void *arg)
{
	(void)r;
	(*(size_t *)arg)++;
	return 0;
}

static int
count_cert(const struct jrnl_cert *c, void *arg)
{
	(void)c;
	(*(size_t *)arg)++;
	return 0;
}

int
enr_id_attr(const struct cfg *cfg, struct jrnl *j, struct dir *d)
{
	const struct dir_flavour *fl = dir_flavour_get(cfg->directory.flavour);
	char rec[JRNL_META_MAX];
	const char *attr = fl->attr_id;
	size_t n = 0;
	int rc;

	if ((rc = jrnl_meta_get(j, "id_attribute", rec, sizeof(rec))) == -1)
		return -1;
	if (rc == 0) {
		if (dir_set_id_attr(d, rec) == 0)
			return 0;
		log_err("journal %s holds person ids read from %s; "
		    "directory.flavour \"%s\" cannot read that one: switching "
		    "would make everyone look like a leaver. Keep the flavour, "
		    "or give this directory a new sync.state_dir",
		    cfg->sync.state_dir, rec, fl->name);
		return -1;
	}
	if (jrnl_enr_each(j, count_enr, &n) == -1 ||
	    jrnl_cert_each(j, count_cert, &n) == -1)
		return -1;
	/* an empty journal may choose; one in use holds the usual id */
	if (n == 0 && dir_probe_id_attr(d, &attr) == -1)
		return -1;
	if (dir_set_id_attr(d, attr) == -1 ||
	    jrnl_meta_put(j, "id_attribute", attr) == -1)
		return -1;
	log_info("journal %s: person ids are %s values (recorded)",
	    cfg->sync.state_dir, attr);
	return 0;
}
