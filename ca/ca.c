/*
 * ca.c — the driver table and the wrappers every caller goes through:
 * ca_new() picks the driver named by ca.driver, and ca_enrol()/ca_poll()
 * check each issued certificate before returning it as issued.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "ca/ca.h"
#include "common/log.h"

struct ca {
	const struct ca_driver	*drv;
	void			*ctx;
	char *const		*allowed_ekus;	/* cfg's ca.allowed_ekus */
};

static const struct ca_driver *const ca_drivers[] = {
	&ca_driver_local,
	&ca_driver_cmp,
	&ca_driver_est,
	&ca_driver_cfssl,
	&ca_driver_exec,
};
#define NDRIVERS	(sizeof(ca_drivers) / sizeof(ca_drivers[0]))

/* RFC 5280 §5.3.1; 7 is unused, 8 (removeFromCRL) is for delta CRLs only */
static const char *const ca_reasons[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", NULL,
	"removeFromCRL", "privilegeWithdrawn", "aACompromise",
};
#define NREASONS	(sizeof(ca_reasons) / sizeof(ca_reasons[0]))

void
ca_result_clear(struct ca_result *r)
{
	if (r == NULL)
		return;
	X509_free(r->cert);
	sk_X509_pop_free(r->chain, X509_free);
	free(r->txid);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}

int
ca_reason_parse(const char *name)
{
	size_t i;

	for (i = 0; i < NREASONS; i++)
		if (ca_reasons[i] != NULL && strcmp(ca_reasons[i], name) == 0)
			return (int)i;
	return -1;
}

const char *
ca_reason_str(int reason)
{
	if (reason < 0 || (size_t)reason >= NREASONS ||
	    ca_reasons[reason] == NULL)
		return "?";
	return ca_reasons[reason];
}

const struct ca_driver *
ca_driver_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < NDRIVERS; i++)
		if (strcmp(ca_drivers[i]->name, name) == 0)
			return ca_drivers[i];
	return NULL;
}

int
ca_cfg_check(const struct cfg *cfg)
{
	const struct ca_driver *d = ca_driver_find(cfg->ca.driver);
	char list[128];
	size_t i, len = 0;

	if (d == NULL) {
		list[0] = '\0';
		for (i = 0; i < NDRIVERS && len < sizeof(list); i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len,
			    "%s%s", i == 0 ? "" : i + 1 == NDRIVERS ? " or " :
			    ", ", ca_drivers[i]->name);
		cfg_key_err(cfg, "ca.driver", "\"%s\" is not %s",
		    cfg->ca.driver ? cfg->ca.driver : "", list);
		return -1;
	}
	if (d->needs != NULL && cfg_str(cfg, d->needs) == NULL) {
		cfg_key_err(cfg, "ca.driver", "\"%s\" needs %s", d->name,
		    d->needs);
		return -1;
	}
	return 0;
}

struct ca *
ca_new(const struct cfg *cfg)
{
	const struct ca_driver *d;
	struct ca *ca = NULL;

	if (ca_cfg_check(cfg) == -1)
		return NULL;
	d = ca_driver_find(cfg->ca.driver);
	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		log_err("ca.driver %s: out of memory", cfg->ca.driver);
		return NULL;
	}
	ca->drv = d;
	ca->allowed_ekus = cfg->ca.allowed_ekus;
	if ((ca->ctx = ca->drv->new(cfg)) == NULL) {
		free(ca);
		return NULL;
	}
	return ca;
}

void
ca_free(struct ca *ca)
{
	if (ca == NULL)
		return;
	ca->drv->free(ca->ctx);
	free(ca);
}

const char *
ca_name(const struct ca *ca)
{
	return ca->drv->name;
}

/* Demote an issued answer that fails the check to a rejection. */
static int
ca_check_answer(struct ca *ca, X509_REQ *csr, const char *mail,
    struct ca_result *res)
{
	char *why = NULL;
	size_t len;

	if (res->status != CA_ISSUED)
		return 0;
	if (res->cert == NULL) {
		log_err("CA %s: issued for %s without a certificate",
		    ca->drv->name, mail);
		res->status = CA_REJECTED;
		free(res->reason);
		res->reason = strdup("CA answered without a certificate");
		return -1;
	}
	if (ca_check_issued(res->cert, res->chain, csr, mail, ca->allowed_ekus,
	    ca->drv->trust(ca->ctx), time(NULL), &why) == 0)
		return 0;
	log_err("CA %s: certificate issued for %s fails the check: %s",
	    ca->drv->name, mail, why ? why : "?");
	res->status = CA_REJECTED;
	free(res->reason);
	len = strlen("issued certificate fails the check: ") +
	    (why ? strlen(why) : 1) + 1;
	if ((res->reason = malloc(len)) != NULL)
		snprintf(res->reason, len, "issued certificate fails the "
		    "check: %s", why ? why : "?");
	free(why);
	return -1;
}

int
ca_enrol(struct ca *ca, X509_REQ *csr, const char *mail,
    struct ca_result *res)
{
	memset(res, 0, sizeof(*res));
	if (ca->drv->enrol(ca->ctx, csr, mail, res) == -1)
		return -1;
	return ca_check_answer(ca, csr, mail, res);
}

int
ca_poll(struct ca *ca, const char *txid, X509_REQ *csr, const char *mail,
    struct ca_result *res)
{
	memset(res, 0, sizeof(*res));
	if (ca->drv->poll(ca->ctx, txid, res) == -1)
		return -1;
	return ca_check_answer(ca, csr, mail, res);
}

int
ca_revoke(struct ca *ca, X509 *cert, int reason)
{
	if (reason < 0 || (size_t)reason >= NREASONS ||
	    ca_reasons[reason] == NULL || reason == 8) {
		log_err("CA %s: revocation reason %d is not a CRLReason "
		    "(RFC 5280 §5.3.1)", ca->drv->name, reason);
		return -1;
	}
	return ca->drv->revoke(ca->ctx, cert, reason);
}

/* The verified chain above cert (the CA's trust), or NULL: logged unless
 * quiet (a certificate of another CA is no news when only asking). */
static STACK_OF(X509) *
ca_build_chain(struct ca *ca, X509 *cert, int quiet)
{
	X509_STORE *trust = ca->drv->trust(ca->ctx);
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *all = NULL;

	if (trust == NULL)
		return NULL;
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    !X509_STORE_CTX_init(ctx, trust, cert, NULL)) {
		log_ssl("CA %s: cannot build a chain", ca->drv->name);
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		if (!quiet)
			log_warn("CA %s: no chain for a certificate of ours: "
			    "%s", ca->drv->name, X509_verify_cert_error_string(
			    X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	if ((all = X509_STORE_CTX_get1_chain(ctx)) != NULL)
		X509_free(sk_X509_shift(all));	/* cert itself */
out:
	X509_STORE_CTX_free(ctx);
	return all;
}

STACK_OF(X509) *
ca_chain(struct ca *ca, X509 *cert)
{
	return ca_build_chain(ca, cert, 0);
}

int
ca_issued_here(struct ca *ca, X509 *cert)
{
	STACK_OF(X509) *chain = ca_build_chain(ca, cert, 1);

	if (chain == NULL)
		return 0;
	sk_X509_pop_free(chain, X509_free);
	return 1;
}

int
ca_crl_refresh(struct ca *ca)
{
	if (ca->drv->crl_refresh == NULL)
		return 0;
	return ca->drv->crl_refresh(ca->ctx);
}
