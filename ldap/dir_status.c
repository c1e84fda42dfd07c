/*
 * dir_status.c — the optional status attribute: one line smimepub writes on
 * a person's entry (directory.status_attribute) so a helpdesk sees in the
 * directory what happened, without access to the journal; and the switch
 * that lets a leaver who no longer matches the filter be found, so that
 * ours can be taken off the entry.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "ldap/dir_priv.h"

#define STATUS_MAX	256

int
dir_set_status(struct dir *d, const char *dn, const char *status)
{
	char line[STATUS_MAX], *vals[2] = { line, NULL };
	LDAPMod mod, *mods[2] = { &mod, NULL };
	size_t i;
	int rc;

	if (d->cfg->status_attribute == NULL)
		return 0;
	for (i = 0; status[i] != '\0' && i + 1 < sizeof(line); i++)
		line[i] = ((unsigned char)status[i] < 0x20 ||
		    status[i] == 0x7f) ? ' ' : status[i];
	line[i] = '\0';
	memset(&mod, 0, sizeof(mod));
	mod.mod_op = LDAP_MOD_REPLACE;
	mod.mod_type = d->cfg->status_attribute;
	mod.mod_values = vals;
	if (d->ld == NULL && dir_reconnect(d) == -1)
		return -1;
	rc = ldap_modify_ext_s(d->ld, dn, mods, NULL, NULL);
	if (dir_conn_lost(rc) && dir_reconnect(d) == 0)
		rc = ldap_modify_ext_s(d->ld, dn, mods, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		dir_log_ldap(d, rc, "write %s on %s", d->cfg->status_attribute,
		    dn);
		return -1;
	}
	return 0;
}

void
dir_set_unfiltered(struct dir *d, int on)
{
	d->unfiltered = on;
}
