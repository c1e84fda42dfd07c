/*
 * ca.h — one interface for every certificate authority: enrol a PKCS#10
 * CSR (issued, pending with a transaction id and a retry time, or rejected
 * with a reason), poll a pending request, revoke a certificate. One driver
 * per file (local, cmp, est, cfssl, exec), chosen by ca.driver.
 * Every certificate a driver returns is checked (ca_check_issued) by
 * ca_enrol() and ca_poll() before the caller sees it as issued.
 */
#ifndef SMIMEPUB_CA_H
#define SMIMEPUB_CA_H

#include <stdio.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/cfg.h"

#define CA_MAX_VALIDITY_DAYS	825	/* CA/B Forum S/MIME BR §6.3.2 */

enum ca_status { CA_ISSUED, CA_PENDING, CA_REJECTED };

struct ca_result {
	enum ca_status	 status;
	X509		*cert;		/* CA_ISSUED: the certificate */
	STACK_OF(X509)	*chain;		/* CA_ISSUED: issuer(s), may be NULL */
	char		*txid;		/* CA_PENDING: what to poll with */
	time_t		 retry_after;	/* CA_PENDING: not before this time */
	char		*reason;	/* CA_REJECTED: why, for the journal */
};

/* Free what a result holds and zero it (safe on a zeroed result). */
void	ca_result_clear(struct ca_result *);

/*
 * A driver. Each function returns 0 when the CA answered (the answer in the
 * result) and -1, logged, when it could not be asked or its answer could not
 * be read. ctx is what new() returned.
 */
struct ca_driver {
	const char	*name;		/* the value of ca.driver */
	const char	*needs;		/* the key it cannot work without */
	/* doctor's look (probe.c): 0 reached, -1 not; msg says what */
	int		 (*probe)(const struct cfg *, char *msg, size_t sz);
	void		*(*new)(const struct cfg *);
	int		 (*enrol)(void *ctx, X509_REQ *csr, const char *mail,
			    struct ca_result *);
	int		 (*poll)(void *ctx, const char *txid,
			    struct ca_result *);
	/* RFC 5280 §5.3.1 CRLReason; revoking twice is not an error */
	int		 (*revoke)(void *ctx, X509 *cert, int reason);
	/* A CRL the driver publishes itself (local): write it again if a
	 * revocation is missing from it or it nears its nextUpdate; NULL
	 * for a CA that publishes its own. 0, or -1 logged. */
	int		 (*crl_refresh)(void *ctx);
	/* The anchors its certificates must chain to (owned by ctx). */
	X509_STORE	*(*trust)(void *ctx);
	void		 (*free)(void *ctx);
};

/*
 * The drivers built in. ca.c lists them, the one list of CA drivers: what
 * ca.driver may say (ca_cfg_check), what ca_new() makes, what doctor
 * probes (ca_probe).
 */
extern const struct ca_driver ca_driver_local;
extern const struct ca_driver ca_driver_cmp;
extern const struct ca_driver ca_driver_exec;
extern const struct ca_driver ca_driver_cfssl;
extern const struct ca_driver ca_driver_est;
/* Each driver's probe (probe.c). */
int	ca_probe_local(const struct cfg *, char *msg, size_t sz);
int	ca_probe_cmp(const struct cfg *, char *msg, size_t sz);
int	ca_probe_exec(const struct cfg *, char *msg, size_t sz);
int	ca_probe_cfssl(const struct cfg *, char *msg, size_t sz);
int	ca_probe_est(const struct cfg *, char *msg, size_t sz);

/* The driver named name; NULL if none is. */
const struct ca_driver *ca_driver_find(const char *name);
/*
 * ca.driver names a driver built in, and the key that driver needs is set;
 * -1 reported naming the file, line and key (cfg_key_err) otherwise. Every
 * program that uses a CA calls it after cfg_load() (ca_new() does too).
 */
int	ca_cfg_check(const struct cfg *);

struct ca;

/* The driver named by cfg->ca.driver (ca_cfg_check), ready; NULL logged. */
struct ca	*ca_new(const struct cfg *);
void		 ca_free(struct ca *);
const char	*ca_name(const struct ca *);
/*
 * Enrol csr for mail (canonical; the primary address the certificate must
 * name, whatever the CSR says; the person's other addresses travel as the
 * CSR's further rfc822Names, and the certificate must name exactly mail
 * and those, keys_csr_new_addrs()). An issued certificate that fails ca_check_issued()
 * turns the answer into CA_REJECTED with the reason, keeps res->cert for
 * the journal and revocation, and returns -1. The caller publishes only
 * on 0 with CA_ISSUED.
 */
int		 ca_enrol(struct ca *, X509_REQ *csr, const char *mail,
		    struct ca_result *);
/* Poll a pending request; csr and mail as given to ca_enrol(). */
int		 ca_poll(struct ca *, const char *txid, X509_REQ *csr,
		    const char *mail, struct ca_result *);
int		 ca_revoke(struct ca *, X509 *cert, int reason);
/*
 * The chain above cert up to the CA's anchor, as verification builds it
 * from the CA's trust (for a republish, when the CA's answer is long
 * gone); NULL, with a warning, when it does not verify or there is none.
 */
STACK_OF(X509)	*ca_chain(struct ca *, X509 *cert);
/* Does cert verify against the CA's trust? 1 yes, 0 no (nothing logged). */
int		 ca_issued_here(struct ca *, X509 *cert);
/* The driver's crl_refresh, if it has one; 0 when it has none. */
int		 ca_crl_refresh(struct ca *);

/* RFC 5280 §5.3.1 CRLReason values smimepub uses. */
#define CA_REASON_UNSPECIFIED		0
#define CA_REASON_KEY_COMPROMISE	1
#define CA_REASON_AFFILIATION_CHANGED	3
#define CA_REASON_SUPERSEDED		4
#define CA_REASON_CESSATION		5
#define CA_REASON_PRIVILEGE_WITHDRAWN	9
/* "keyCompromise" etc. (RFC 5280 names) -> code; -1 if unknown. */
int		 ca_reason_parse(const char *name);
const char	*ca_reason_str(int reason);

/*
 * Check a certificate a CA returned for csr and mail at time now: public key
 * equal to the CSR's, the S/MIME profile check of x509_profile_check() for
 * encryption (rfc822Names exactly mail and the other addresses the CSR
 * asks for, the person's aliases; no other name; emailProtection and no
 * other EKU but those of extra_ekus, ca.allowed_ekus; not a CA; key usage
 * fit for encryption; valid at now, for at most 825 days), and a chain
 * (through chain, may be NULL) to an anchor in trust, verified for the
 * S/MIME purpose. 0 if it passes; -1 with *why a string naming what failed
 * (caller frees).
 */
int	ca_check_issued(X509 *cert, STACK_OF(X509) *chain, X509_REQ *csr,
	    const char *mail, char *const *extra_ekus, X509_STORE *trust,
	    time_t now, char **why);

/*
 * The cfssl driver's reading of an answer (HTTP code, body) to a sign or
 * authsign request at url for mail, into res: issued, or rejected with
 * cfssl's first error. No I/O (tests/fuzz/fuzz_cfssl.c). 0, or -1 logged.
 */
int	cfssl_answer(const char *url, long code, const char *body,
	    size_t len, const char *mail, struct ca_result *res);

/*
 * Local CA administration (ca/local.c), for `smimepub ca ...`. Each
 * returns 0, or -1 with the reason logged naming the file or key.
 */
/* Create ca.local.dir (0700), the CA key (0600) and certificate, the index. */
int	ca_local_init(const struct cfg *);
/* One line per certificate: SERIAL MAIL STATUS NOT_AFTER (ISO 8601 UTC). */
int	ca_local_list(const struct cfg *, FILE *);
/* Write the CRL (PEM) to out_path, or ca.local.dir/crl.pem when NULL. */
int	ca_local_crl(const struct cfg *, const char *out_path);

/*
 * Privilege separation (ca/local_keyproc.c): with ca.driver = "local", fork
 * the process that alone opens and uses ca.local.dir/ca.key, for every later
 * ca_new() of this program. Call before the program starts a thread;
 * afterwards no ca_new() forks. Without it (the CLI), each ca_new() of the
 * local driver forks a key process of its own. 0, or -1 logged.
 */
int	ca_keyproc_start(const struct cfg *);
void	ca_keyproc_stop(void);

/*
 * `smimepub doctor`: reach the configured CA with a request that issues
 * nothing (ca/probe.c says what each driver is asked). 0 reached, -1 not;
 * msg says what was found or why not, naming the URL, file or command.
 */
int	ca_probe(const struct cfg *, char *msg, size_t sz);

/* File names inside ca.local.dir. */
#define CA_LOCAL_KEY	"ca.key"
#define CA_LOCAL_CERT	"ca.pem"
#define CA_LOCAL_CRL	"crl.pem"
#define CA_LOCAL_INDEX	"index"

#endif
