/*
 * local.h — internal to the local CA driver (ca/local.c): its issuance
 * index, an LMDB environment in ca.local.dir/index (ca/local_index.c).
 * One record per certificate, keyed by the serial in upper-case hex.
 */
#ifndef SMIMEPUB_CA_LOCAL_H
#define SMIMEPUB_CA_LOCAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/cfg.h"
#include "common/kproc.h"
#include "common/mail.h"

#define LIDX_SERIAL_MAX	(2 * 20 + 1)	/* RFC 5280 §4.1.2.2: <= 20 octets */

struct lidx;

/* The local CA, loaded from ca.local.dir (local.c). */
struct local {
	const struct cfg_ca_local *lc;
	struct kproc	*kp;		/* holds ca.key (local_keyproc.c) */
	int		 own_kp;	/* started by this open, stopped by close */
	EVP_PKEY	*ph;		/* throwaway: encodes what kp signs */
	X509		*cert;
	X509_STORE	*store;		/* the CA certificate, as trust anchor */
	struct lidx	*idx;
};

/* Load the certificate and index, with the key process that holds the key
 * (0600 or 0400 only); NULL logged. */
struct local	*local_open(const struct cfg *);
void		 local_close(struct local *);
/* ca.local.dir/name into buf (PATH_MAX); -1 logged if too long. */
int		 local_path(const struct cfg_ca_local *, const char *name,
		    char *buf);
/* The ca.local settings beyond their type (URLs, policy OIDs); logged. */
int		 local_cfg_ok(const struct cfg_ca_local *);
/* The key process of l (local_keyproc.c): the program's, or one of its
 * own; -1 logged. */
int		 local_kp_attach(struct local *l);
void		 local_kp_detach(struct local *l);
/* Have the key process sign *x / *crl, replaced by the signed one; -1
 * logged (refused, or the key process is gone). */
int		 local_kp_sign_cert(struct local *, X509 **x);
int		 local_kp_sign_crl(struct local *, X509_CRL **crl);
/* Certificate building blocks shared by the CA and the leaf profile
 * (local_cert.c). */
X509		*local_cert_base(const X509_NAME *subj, const X509_NAME *issuer,
		    EVP_PKEY *pub, time_t now, int days);
int		 local_add_basic(X509 *, int ca);
int		 local_add_ku(X509 *, int bit1, int bit2);
int		 local_add_ski(X509 *);
/* smimeCapabilities (RFC 4262): AES-256/192/128-CBC; 0 or -1. */
int		 local_add_smimecap(X509 *);
/*
 * An end-entity's extensions (local_cert.c): basicConstraints, the
 * keyUsage the CSR's purpose asks for, EKU emailProtection, the SAN of the
 * n addresses (critical when the subject is empty), SKI/AKI, the CRL
 * distribution point and OCSP AIA, smimeCapabilities. 0, or -1 (OpenSSL's
 * error queue says why).
 */
int		 local_leaf_exts(struct local *, X509 *, EVP_PKEY *, X509_REQ *,
		    char *const *addrs, size_t naddrs, int san_critical);
/* The subject of mail's certificate; *empty when nothing fits in it. */
X509_NAME	*local_leaf_subject(const struct cfg_ca_local *, const char *mail,
		    int *empty);
/* keyUsage bits, RFC 5280 §4.2.1.3 */
#define KU_BIT_DIGITAL_SIGNATURE	0
#define KU_BIT_NON_REPUDIATION		1
#define KU_BIT_KEY_ENCIPHERMENT		2
#define KU_BIT_KEY_AGREEMENT		4
#define KU_BIT_KEY_CERT_SIGN		5
#define KU_BIT_CRL_SIGN			6

/* One GeneralName of type (GEN_EMAIL, GEN_URI) / a list of just it
 * (local_cert.c); NULL on allocation failure. */
GENERAL_NAME	*local_gen_ia5(int type, const char *value);
GENERAL_NAMES	*local_gens_one(int type, const char *value);
/* Serial in upper-case hex, whole octets (as `openssl x509 -serial`). */
int		 local_serial_hex(const ASN1_INTEGER *, char out[]);
/* AKI keyIdentifier = the issuer's SKI (RFC 5280 §4.2.1.1). */
AUTHORITY_KEYID	*local_aki(X509 *issuer);
/*
 * With ca.local.ocsp_url: renew the OCSP responder's certificate when it
 * is half expired, and sign again each response in ca.local.dir/ocsp that
 * is missing, half expired, signed by another responder or says another
 * status than the index (local_ocsp.c). 0, or -1 logged.
 */
int		 local_ocsp_refresh(struct local *, time_t now);
/* Sign r's response now (just issued or revoked): 0, or -1 logged (the
 * next local_ocsp_refresh tries again). */
struct lidx_rec;
int		 local_ocsp_one(struct local *, const struct lidx_rec *r,
		    time_t now);
/* Write the CRL (PEM) to out_path, or ca.local.dir/crl.pem when NULL. */
int		 local_crl_write(struct local *, const char *out_path);
/* 1 if ca.local.dir/crl.pem is missing, half expired or misses a
 * revocation (local_admin.c); 0 if it is fresh. */
int		 local_crl_stale(struct local *);

struct lidx_rec {
	const char		*serial;
	char			 mail[MAIL_MAX + 1];
	int			 revoked;
	time_t			 not_after;
	time_t			 rev_time;	/* when revoked */
	int			 reason;	/* RFC 5280 §5.3.1 CRLReason */
	const unsigned char	*der;		/* valid during the callback */
	size_t			 derlen;
};

/* Open ca_dir/index; create it only if create. NULL logged. */
struct lidx	*lidx_open(const char *ca_dir, int create);
void		 lidx_close(struct lidx *);
#define LIDX_KEYID_LEN	32	/* SHA-256 of the SubjectPublicKeyInfo */
/* keyid of pk, the index's notion of "the same key"; -1 logged. */
int		 lidx_keyid(EVP_PKEY *pk, unsigned char keyid[LIDX_KEYID_LEN]);
/*
 * Add a new certificate for mail and the key keyid: 0, 1 if the serial is
 * taken, -1 logged.
 */
int		 lidx_add(struct lidx *, const char *serial, const char *mail,
		    time_t not_after, const unsigned char *der, size_t len,
		    const unsigned char keyid[LIDX_KEYID_LEN]);
/*
 * The newest certificate issued to mail for the key keyid, if it is neither
 * revoked nor expired at now: 0 with serial and *der (caller frees), 1 if
 * none, -1 logged.
 */
int		 lidx_find_key(struct lidx *, const char *mail,
		    const unsigned char keyid[LIDX_KEYID_LEN], time_t now,
		    char serial[LIDX_SERIAL_MAX], unsigned char **der,
		    size_t *len);
/*
 * Mark the certificate (serial, and der to be sure it is that one) revoked:
 * 0 done, 1 was revoked already (left as it was), -1 logged (unknown).
 */
int		 lidx_revoke(struct lidx *, const char *serial,
		    const unsigned char *der, size_t len, time_t when,
		    int reason);
/* Call fn for each record in serial order; stops at the first -1. */
int		 lidx_each(struct lidx *, int (*fn)(const struct lidx_rec *,
		    void *), void *arg);
/* Increment and commit the stored CRL number (RFC 5280 §5.2.3). */
int		 lidx_crl_number_next(struct lidx *, uint64_t *out);

#endif
