/*
 * local_cert.c — the building blocks of the local CA's certificates, for
 * its own (local_admin.c) and the leaves it issues (local.c): a random
 * serial, the validity, basicConstraints, keyUsage, the key identifiers
 * (RFC 5280 §4.2.1), smimeCapabilities (RFC 4262), the GeneralNames of
 * SANs and URLs; and a leaf's subject and whole set of extensions.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/local.h"
#include "common/keys.h"
#include "common/log.h"

#define SERIAL_BYTES	16	/* 128 bits; S/MIME BR §7.1: >= 64 from a CSPRNG */
#define DAY		86400

int
local_serial_hex(const ASN1_INTEGER *sn, char out[])
{
	BIGNUM *bn = NULL;
	char *hex = NULL;
	int rc = -1;

	if ((bn = ASN1_INTEGER_to_BN(sn, NULL)) != NULL &&
	    (hex = BN_bn2hex(bn)) != NULL && strlen(hex) < LIDX_SERIAL_MAX) {
		strcpy(out, hex);
		rc = 0;
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

GENERAL_NAME *
local_gen_ia5(int type, const char *value)
{
	GENERAL_NAME *gen = NULL;
	ASN1_IA5STRING *s = NULL;

	if ((gen = GENERAL_NAME_new()) == NULL ||
	    (s = ASN1_IA5STRING_new()) == NULL ||
	    !ASN1_STRING_set(s, value, -1)) {
		GENERAL_NAME_free(gen);
		ASN1_IA5STRING_free(s);
		return NULL;
	}
	GENERAL_NAME_set0_value(gen, type, s);
	return gen;
}

GENERAL_NAMES *
local_gens_one(int type, const char *value)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gen = NULL;

	if ((gens = GENERAL_NAMES_new()) == NULL ||
	    (gen = local_gen_ia5(type, value)) == NULL ||
	    !sk_GENERAL_NAME_push(gens, gen)) {
		GENERAL_NAME_free(gen);
		GENERAL_NAMES_free(gens);
		return NULL;
	}
	return gens;
}

/* SKI by RFC 5280 §4.2.1.2 method (1): SHA-1 of subjectPublicKey. */
int
local_add_ski(X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	ASN1_OCTET_STRING *ski = NULL;
	int ok;

	ok = X509_pubkey_digest(x, EVP_sha1(), md, &len) &&
	    (ski = ASN1_OCTET_STRING_new()) != NULL &&
	    ASN1_OCTET_STRING_set(ski, md, (int)len) &&
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0,
	    X509V3_ADD_REPLACE) == 1;
	ASN1_OCTET_STRING_free(ski);
	return ok ? 0 : -1;
}

AUTHORITY_KEYID *
local_aki(X509 *issuer)
{
	AUTHORITY_KEYID *aki = NULL;

	/* decoded, not X509_get0_subject_key_id(): issuer may be unsigned */
	if ((aki = AUTHORITY_KEYID_new()) == NULL ||
	    (aki->keyid = X509_get_ext_d2i(issuer, NID_subject_key_identifier,
	    NULL, NULL)) == NULL) {
		AUTHORITY_KEYID_free(aki);
		return NULL;
	}
	return aki;
}

int
local_add_basic(X509 *x, int ca)
{
	BASIC_CONSTRAINTS *bc = NULL;
	int ok;

	ok = (bc = BASIC_CONSTRAINTS_new()) != NULL;
	if (ok && ca) {
		bc->ca = 0xff;
		/* pathLenConstraint 0: no CA below this one */
		ok = (bc->pathlen = ASN1_INTEGER_new()) != NULL &&
		    ASN1_INTEGER_set(bc->pathlen, 0);
	}
	ok = ok && X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1,
	    X509V3_ADD_REPLACE) == 1;
	BASIC_CONSTRAINTS_free(bc);
	return ok ? 0 : -1;
}

int
local_add_ku(X509 *x, int b1, int b2)
{
	ASN1_BIT_STRING *ku = NULL;
	int ok;

	ok = (ku = ASN1_BIT_STRING_new()) != NULL &&
	    ASN1_BIT_STRING_set_bit(ku, b1, 1) &&
	    ASN1_BIT_STRING_set_bit(ku, b2, 1) &&
	    X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_REPLACE) == 1;
	ASN1_BIT_STRING_free(ku);
	return ok ? 0 : -1;
}

/*
 * smimeCapabilities (RFC 4262 §2; the SMIMECapabilities of RFC 8551
 * §2.5.2): the content-encryption algorithms the holder's client
 * decrypts, most preferred first, so that a sender reading it (Outlook)
 * picks AES rather than falling back to 3DES. AES-CBC in all three sizes
 * is what every S/MIME 3.2 and 4.0 client must decrypt (RFC 5751 §2.7,
 * RFC 8551 §2.7); each capability is the OID alone, parameters absent
 * (RFC 3565 §4.2). AES-GCM (AuthEnvelopedData, RFC 5084) is left out: the
 * extension promises, for the whole validity, what the person's clients
 * can decrypt, and a CA cannot see those clients; Outlook releases before
 * 2019 and other deployed agents open no AuthEnvelopedData, so a sender
 * choosing GCM because the certificate offered it would send unreadable
 * mail. Non-critical, as RFC 4262 §2 requires.
 */
int
local_add_smimecap(X509 *x)
{
	static const int caps[] = { NID_aes_256_cbc, NID_aes_192_cbc,
	    NID_aes_128_cbc };
	STACK_OF(X509_ALGOR) *algs = NULL;
	X509_ALGOR *alg = NULL;
	ASN1_OCTET_STRING *os = NULL;
	X509_EXTENSION *ext = NULL;
	unsigned char *der = NULL;
	size_t i;
	int len, ok = 0;

	if ((algs = sk_X509_ALGOR_new_null()) == NULL)
		goto out;
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if ((alg = X509_ALGOR_new()) == NULL ||
		    !X509_ALGOR_set0(alg, OBJ_nid2obj(caps[i]), V_ASN1_UNDEF,
		    NULL) || !sk_X509_ALGOR_push(algs, alg))
			goto out;
		alg = NULL;
	}
	/* SMIMECapabilities ::= SEQUENCE OF SMIMECapability, the DER of a
	 * SEQUENCE OF AlgorithmIdentifier */
	if ((len = i2d_X509_ALGORS(algs, &der)) <= 0 ||
	    (os = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(os, der, len) ||
	    (ext = X509_EXTENSION_create_by_NID(NULL, NID_SMIMECapabilities, 0,
	    os)) == NULL || !X509_add_ext(x, ext, -1))
		goto out;
	ok = 1;
out:
	X509_ALGOR_free(alg);
	sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
	OPENSSL_free(der);
	ASN1_OCTET_STRING_free(os);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* A random positive non-zero serial of SERIAL_BYTES (RFC 5280 §4.1.2.2). */
static int
set_serial(X509 *x)
{
	unsigned char buf[SERIAL_BYTES];
	BIGNUM *bn = NULL;
	ASN1_INTEGER *sn = NULL;
	int ok;

	do {
		if (RAND_bytes(buf, sizeof(buf)) != 1)
			return -1;
		buf[0] &= 0x7f;		/* positive in two's complement */
		BN_free(bn);
		if ((bn = BN_bin2bn(buf, sizeof(buf), NULL)) == NULL)
			return -1;
	} while (BN_is_zero(bn));
	ok = (sn = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	    X509_set_serialNumber(x, sn);
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	OPENSSL_cleanse(buf, sizeof(buf));
	return ok ? 0 : -1;
}

/* v3, serial, names, key, validity [now, now + days) (RFC 5280 §4.1.2.5). */
X509 *
local_cert_base(const X509_NAME *subj, const X509_NAME *issuer, EVP_PKEY *pub,
    time_t now, int days)
{
	X509 *x = NULL;

	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    set_serial(x) == -1 || !X509_set_subject_name(x, subj) ||
	    !X509_set_issuer_name(x, issuer) || !X509_set_pubkey(x, pub) ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), days, -1, &now) == NULL) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/*
 * keyUsage by the purpose the CSR asks for (keys_csr_purpose): both uses,
 * encryption only (RSA keyEncipherment, EC keyAgreement) or signing only
 * (digitalSignature, nonRepudiation if asked): keys.separate_signing's two
 * certificates. Nothing else a CSR asks for is taken from it.
 */
static int
leaf_ku(X509 *x, EVP_PKEY *pk, X509_REQ *csr)
{
	int enc = EVP_PKEY_is_a(pk, "RSA") ? KU_BIT_KEY_ENCIPHERMENT :
	    KU_BIT_KEY_AGREEMENT;

	switch (keys_csr_purpose(csr, NULL)) {
	case KEYS_ENCRYPT:
		return local_add_ku(x, enc, enc);
	case KEYS_SIGN:
		return local_add_ku(x, KU_BIT_DIGITAL_SIGNATURE,
		    KU_BIT_DIGITAL_SIGNATURE);
	case KEYS_SIGN_NR:
		return local_add_ku(x, KU_BIT_DIGITAL_SIGNATURE,
		    KU_BIT_NON_REPUDIATION);
	default:
		return local_add_ku(x, KU_BIT_DIGITAL_SIGNATURE, enc);
	}
}

/* AIA (RFC 5280 §4.2.2.1): the OCSP responder, then caIssuers, each if
 * configured. 0, or -1 (OpenSSL's error queue). */
static int
leaf_aia(X509 *x, const struct cfg_ca_local *lc)
{
	AUTHORITY_INFO_ACCESS *aia = NULL;
	ACCESS_DESCRIPTION *ad = NULL;
	const char *url;
	int i, rc = -1;

	for (i = 0; i < 2; i++) {
		if ((url = i == 0 ? lc->ocsp_url : lc->aia_url) == NULL)
			continue;
		if ((aia == NULL && (aia = sk_ACCESS_DESCRIPTION_new_null()) ==
		    NULL) || (ad = ACCESS_DESCRIPTION_new()) == NULL)
			goto out;
		ASN1_OBJECT_free(ad->method);
		ad->method = OBJ_nid2obj(i == 0 ? NID_ad_OCSP :
		    NID_ad_ca_issuers);
		GENERAL_NAME_free(ad->location);
		if ((ad->location = local_gen_ia5(GEN_URI, url)) == NULL ||
		    !sk_ACCESS_DESCRIPTION_push(aia, ad))
			goto out;
		ad = NULL;
	}
	if (aia != NULL && X509_add1_ext_i2d(x, NID_info_access, aia, 0,
	    0) != 1)
		goto out;
	rc = 0;
out:
	ACCESS_DESCRIPTION_free(ad);
	AUTHORITY_INFO_ACCESS_free(aia);
	return rc;
}

/* certificatePolicies of ca.local.policies, if any. 0, or -1. */
static int
leaf_policies(X509 *x, const struct cfg_ca_local *lc)
{
	CERTIFICATEPOLICIES *pols = NULL;
	POLICYINFO *pi = NULL;
	size_t i;
	int rc = -1;

	if (lc->n_policies == 0)
		return 0;
	if ((pols = sk_POLICYINFO_new_null()) == NULL)
		goto out;
	for (i = 0; i < lc->n_policies; i++) {
		if ((pi = POLICYINFO_new()) == NULL)
			goto out;
		ASN1_OBJECT_free(pi->policyid);
		if ((pi->policyid = OBJ_txt2obj(lc->policies[i], 1)) == NULL ||
		    !sk_POLICYINFO_push(pols, pi))
			goto out;
		pi = NULL;
	}
	if (X509_add1_ext_i2d(x, NID_certificate_policies, pols, 0, 0) == 1)
		rc = 0;
out:
	POLICYINFO_free(pi);
	CERTIFICATEPOLICIES_free(pols);
	return rc;
}

/* The extensions of the mailbox-validated strict profile (BR §7.1.2.3). */
int
local_leaf_exts(struct local *l, X509 *x, EVP_PKEY *pk, X509_REQ *csr,
    char *const *addrs, size_t naddrs, int san_critical)
{
	const struct cfg_ca_local *lc = l->lc;
	EXTENDED_KEY_USAGE *eku = NULL;
	GENERAL_NAMES *san = NULL;
	GENERAL_NAME *gen = NULL;
	AUTHORITY_KEYID *aki = NULL;
	CRL_DIST_POINTS *dps = NULL;
	DIST_POINT *dp = NULL;
	size_t i;
	int ok = 0;

	if (local_add_basic(x, 0) == -1 || leaf_ku(x, pk, csr) == -1)
		goto out;
	if ((eku = sk_ASN1_OBJECT_new_null()) == NULL ||
	    !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_email_protect)) ||
	    X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, 0) != 1)
		goto out;
	/* every address of the person, the primary first (DESIGN.md) */
	if ((san = GENERAL_NAMES_new()) == NULL)
		goto out;
	for (i = 0; i < naddrs; i++) {
		if ((gen = local_gen_ia5(GEN_EMAIL, addrs[i])) == NULL ||
		    !sk_GENERAL_NAME_push(san, gen))
			goto out;
		gen = NULL;
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, san, san_critical, 0) != 1)
		goto out;
	if (local_add_smimecap(x) == -1)
		goto out;
	if (local_add_ski(x) == -1 || (aki = local_aki(l->cert)) == NULL ||
	    X509_add1_ext_i2d(x, NID_authority_key_identifier, aki, 0, 0) != 1)
		goto out;
	if (lc->crl_url != NULL) {
		if ((dps = sk_DIST_POINT_new_null()) == NULL ||
		    (dp = DIST_POINT_new()) == NULL ||
		    (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
		    (dp->distpoint->name.fullname = local_gens_one(GEN_URI,
		    lc->crl_url)) == NULL || !sk_DIST_POINT_push(dps, dp))
			goto out;
		dp->distpoint->type = 0;	/* fullName */
		dp = NULL;
		if (X509_add1_ext_i2d(x, NID_crl_distribution_points, dps, 0,
		    0) != 1)
			goto out;
	}
	if (leaf_aia(x, lc) == -1 || leaf_policies(x, lc) == -1)
		goto out;
	ok = 1;
out:
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(san);
	AUTHORITY_KEYID_free(aki);
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(dps);
	return ok ? 0 : -1;
}

/*
 * Subject: CN = the address (BR §7.1.4.2.2: a mailbox-validated CN holds
 * only the mailbox) when it fits ub-common-name, plus emailAddress if
 * configured. *empty when nothing fits: the SAN is then critical.
 */
X509_NAME *
local_leaf_subject(const struct cfg_ca_local *lc, const char *mail, int *empty)
{
	X509_NAME *n = NULL;

	if ((n = X509_NAME_new()) == NULL)
		return NULL;
	if (strlen(mail) <= KEYS_CN_MAX && !X509_NAME_add_entry_by_NID(n,
	    NID_commonName, MBSTRING_UTF8, (const unsigned char *)mail, -1,
	    -1, 0))
		goto err;
	if (lc->subject_email && !X509_NAME_add_entry_by_NID(n,
	    NID_pkcs9_emailAddress, MBSTRING_ASC, (const unsigned char *)mail,
	    -1, -1, 0))
		goto err;
	*empty = X509_NAME_entry_count(n) == 0;
	return n;
err:
	X509_NAME_free(n);
	return NULL;
}
