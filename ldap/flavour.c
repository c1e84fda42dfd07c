/*
 * flavour.c — the one table of differences between OpenLDAP, Active
 * Directory and 389 Directory Server (DESIGN.md "What is in the
 * directory"): attribute spellings,
 * the stable identity, the disabled flag, the lost-update guard, the
 * default people filter, the largest page the server allows, the
 * class of a lease entry smimepub-sync makes, the default lease authority,
 * how a replica is known to have caught up (dir_replica.c) and where a
 * person's alias addresses are (dir_addrs.c).
 * Nothing else in ldap/ may test which flavour it talks to.
 */
#include <stddef.h>
#include <strings.h>

#include <ldap.h>

#include "common/log.h"
#include "ldap/dir.h"
#include "ldap/dir_priv.h"

static const struct dir_flavour flavours[] = {
	[CFG_FLAVOUR_OPENLDAP] = {
		.name = "openldap",
		/* Certificate syntax: the name without ;binary is refused. */
		.attr_usercert = "userCertificate;binary",
		/* Binary syntax: ;binary is refused on write, empty on read. */
		.attr_smime = "userSMIMECertificate",
		.attr_id = "entryUUID",
		.id_is_binary = 0,
		.attr_disabled = NULL,
		.disabled_bit = 0,
		.attr_guard = "entryCSN",
		.default_filter = "(&(objectClass=inetOrgPerson)(mail=*))",
		.max_page = 1000,
		.lease_class = "applicationProcess",	/* RFC 4519 §3.2 */
		.id_fix = "an olcAccess rule must grant it read",
		/* no role owner: the first server of directory.uri */
		.attr_role_owner = NULL,
		/* one CSN per serverID on the naming context (syncprov) */
		.attr_sync_point = "contextCSN",
		.sync_point_per_dc = 0,
	},
	[CFG_FLAVOUR_AD] = {
		.name = "ad",
		/* Octet String; AD/Samba reject userCertificate;binary. */
		.attr_usercert = "userCertificate",
		.attr_smime = "userSMIMECertificate",
		.attr_id = "objectGUID",
		.id_is_binary = 1,
		.attr_disabled = "userAccountControl",
		.disabled_bit = 0x2,	/* ACCOUNTDISABLE */
		.attr_guard = "uSNChanged",
		.default_filter = "(&(objectCategory=person)(objectClass=user)"
		    "(mail=*)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))",
		.max_page = 1000,	/* MaxPageSize */
		.lease_class = "container",
		.id_fix = "the account must be allowed to read objectGUID",
		/* the PDC emulator (MS-ADTS 3.1.1.1.11) */
		.attr_role_owner = "fSMORoleOwner",
		/* per DC: compared through replUpToDateVector */
		.attr_sync_point = "highestCommittedUSN",
		.sync_point_per_dc = 1,
		/* Exchange's addresses: "SMTP:primary", "smtp:alias",
		 * "X500:/o=...", "SIP:..." (MS-ADA3 proxyAddresses) */
		.alias_default = "proxyAddresses",
		.alias_typed = "proxyAddresses",
	},
	[CFG_FLAVOUR_389DS] = {
		.name = "389ds",
		/* Separate subtypes on 389-ds: ours go to ;binary (what
		 * Thunderbird asks for; a request for userCertificate
		 * returns both); plain values are read, never written. */
		.attr_usercert = "userCertificate;binary",
		.attr_usercert_plain = "userCertificate",
		.attr_smime = "userSMIMECertificate",
		/* entryuuid plugin (389-ds 2.x), else nsUniqueId: one
		 * choice per journal (enrol/idattr.c) */
		.attr_id = "entryUUID",
		.attr_id_alt = "nsUniqueId",
		.id_is_binary = 0,
		.attr_disabled = "nsAccountLock",
		.disabled_match = "true",
		/* no entryCSN, no assertion control: exact-value deletes */
		.attr_guard = NULL,
		.default_filter = "(&(objectClass=inetOrgPerson)(mail=*))",
		.max_page = 1000,
		.lease_class = "applicationProcess",
		.id_fix = "an entry made while the entryuuid plugin was off: "
		    "run its fixup task (dsconf INSTANCE plugin entryuuid "
		    "fixup BASE); or an ACI must grant read on it",
	},
};

const struct dir_flavour *
dir_flavour_get(enum cfg_flavour f)
{
	if ((unsigned)f >= sizeof(flavours) / sizeof(flavours[0]))
		return &flavours[CFG_FLAVOUR_OPENLDAP];
	return &flavours[f];
}

/* Which of the flavour's ids a connection reads (enrol/idattr.c chooses). */
int
dir_set_id_attr(struct dir *d, const char *attr)
{
	if (attr == NULL)
		d->attr_id = NULL;
	else if (strcasecmp(attr, d->fl->attr_id) == 0)
		d->attr_id = d->fl->attr_id;
	else if (d->fl->attr_id_alt != NULL &&
	    strcasecmp(attr, d->fl->attr_id_alt) == 0)
		d->attr_id = d->fl->attr_id_alt;
	else {
		log_err("%s: %s is not a stable id of a %s directory",
		    d->cfg->uri, attr, d->fl->name);
		return -1;
	}
	return 0;
}

const char *
dir_id_attr(const struct dir *d)
{
	return d->attr_id;
}
