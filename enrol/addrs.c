/*
 * addrs.c — which of a person's addresses their certificate names (issue
 * 20, DESIGN.md "A person's addresses"): mail, then every alias of
 * directory.alias_attributes that no other entry claims. An alias two
 * entries hold is a directory mistake, and a certificate naming it would
 * let one of them receive the other's mail: neither gets it, and both are
 * reported (here for the one enrolling, and by every full pass for all of
 * them: sync/contest.c). A mail that another entry holds as an alias is
 * refused outright, as a mail two entries hold is: the certificate cannot
 * leave out its primary address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "enrol/enrol_priv.h"

/*
 * Fill c with the addresses p's certificate is to name: mail (as the caller
 * asked for it) first, then the uncontested aliases; and r->addrs /
 * r->named with the digests of p's whole set and of c's. Without alias
 * attributes configured no search is made (one address, as ever). 0, or
 * -1 logged: the search failed, or mail is another entry's alias.
 */
int
enr_addrs_claim(struct enr_ctx *e, const struct dir_person *p,
    const char *mail, struct enr_claim *c, struct jrnl_enr *r)
{
	const char *attrs[DIR_ALIAS_ATTRS_MAX + 1];
	unsigned char contested[DIR_ADDRS_MAX];
	char *other = NULL;
	size_t i;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	memset(contested, 0, sizeof(contested));
	c->addrs[c->n++] = mail;
	if (p->n_addrs > 1 || (p->n_addrs == 1 &&
	    dir_alias_attrs(&e->cfg->directory, attrs) > 0)) {
		if (dir_addrs_contested(e->dir, p, contested, &other) == -1)
			goto out;
	}
	if (p->n_addrs > 0 && contested[0]) {
		log_err("%s: not enrolled: the mail of %s is also an address "
		    "of %s, and a certificate cannot leave its mail out; "
		    "correct one of the two entries", mail, p->dn,
		    other ? other : "another entry");
		goto out;
	}
	for (i = 1; i < p->n_addrs && i < DIR_ADDRS_MAX; i++) {
		if (!contested[i]) {
			c->addrs[c->n++] = p->addrs[i];
			continue;
		}
		c->left_out++;
		log_warn("%s: alias %s of %s is also claimed by another entry "
		    "(%s%s): left out of the certificate, as it is of the "
		    "other's", mail, p->addrs[i], p->dn, c->left_out > 1 ?
		    "the first found: " : "", other ? other : "?");
	}
	dir_addrs_digest(p->addrs, p->n_addrs, r->addrs);
	dir_addrs_digest((char *const *)c->addrs, c->n, r->named);
	rc = 0;
out:
	free(other);
	return rc;
}
