/*
 * dir_sasl.c — SASL GSSAPI (Kerberos) binds, the way AD admins run
 * services: the service's key in a keytab (directory.keytab), a ticket got
 * from it by the Kerberos library itself (MIT krb5 reads KRB5_CLIENT_KTNAME
 * for a client keytab) into a credential cache private to this process
 * (KRB5CCNAME=MEMORY:smimepub), so no kinit, no cron job and no ticket file
 * on disk. Without a keytab, the ticket cache of the environment is used.
 * Both variables are set before the first bind and never changed after:
 * the library reads them once. The host name of the URI must be the DC's
 * (its ldap/HOST principal); reverse DNS is not asked (SASL_NOCANON).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldap.h>
#include <sasl/sasl.h>

#include "common/log.h"
#include "ldap/dir_priv.h"

/* Accept every default libsasl proposes (no prompt, no authzid). */
static int
sasl_defaults(LDAP *ld, unsigned flags, void *defaults, void *in)
{
	sasl_interact_t *it = in;

	(void)ld;
	(void)flags;
	(void)defaults;
	for (; it != NULL && it->id != SASL_CB_LIST_END; it++) {
		it->result = it->defresult != NULL ? it->defresult : "";
		it->len = (unsigned)strlen(it->result);
	}
	return LDAP_SUCCESS;
}

/* Point MIT krb5 at the keytab and a private cache, once per process. */
static int
sasl_krb5_env(const struct cfg_directory *cfg, char *err, size_t errsz)
{
	const char *cur;

	if (cfg->keytab == NULL)
		return 0;	/* the environment's ticket cache */
	cur = getenv("KRB5_CLIENT_KTNAME");
	if (cur != NULL && strcmp(cur, cfg->keytab) != 0 &&
	    strcmp(cur + (strncmp(cur, "FILE:", 5) == 0 ? 5 : 0),
	    cfg->keytab) != 0) {
		snprintf(err, errsz, "%s: GSSAPI: KRB5_CLIENT_KTNAME is %s in "
		    "the environment, not directory.keytab %s", cfg->uri, cur,
		    cfg->keytab);
		return -1;
	}
	if (setenv("KRB5_CLIENT_KTNAME", cfg->keytab, 0) == -1 ||
	    setenv("KRB5CCNAME", "MEMORY:smimepub", 0) == -1) {
		snprintf(err, errsz, "%s: GSSAPI: setenv failed", cfg->uri);
		return -1;
	}
	return 0;
}

int
dir_bind_gssapi(struct dir *d, LDAP *ld, int tls, char *err, size_t errsz)
{
	char *diag = NULL;
	int rc;

	if (sasl_krb5_env(d->cfg, err, errsz) == -1)
		return -1;
	if (ldap_set_option(ld, LDAP_OPT_X_SASL_NOCANON, LDAP_OPT_ON) !=
	    LDAP_OPT_SUCCESS ||
	    /* AD refuses SASL signing or sealing inside TLS */
	    (tls && ldap_set_option(ld, LDAP_OPT_X_SASL_SECPROPS,
	    "maxssf=0") != LDAP_OPT_SUCCESS)) {
		snprintf(err, errsz, "%s: GSSAPI: cannot set the SASL options",
		    d->cfg->uri);
		return -1;
	}
	rc = ldap_sasl_interactive_bind_s(ld, NULL, "GSSAPI", NULL, NULL,
	    LDAP_SASL_QUIET, sasl_defaults, NULL);
	if (rc != LDAP_SUCCESS) {
		(void)ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
		snprintf(err, errsz, "%s: SASL GSSAPI bind%s%s: %s%s%s%s",
		    d->cfg->uri, d->cfg->keytab != NULL ? " with keytab " : "",
		    d->cfg->keytab != NULL ? d->cfg->keytab : "",
		    ldap_err2string(rc), diag != NULL && diag[0] != '\0' ?
		    " (" : "", diag != NULL ? diag : "",
		    diag != NULL && diag[0] != '\0' ? ")" : "");
		ldap_memfree(diag);
		return rc;
	}
	return 0;
}
