/*
 * x509_profile.c — the one S/MIME profile check every certificate smimepub
 * handles must pass: a CA's answer (ca/check.c), `smimepub publish` by hand,
 * adoption, and lookupd's usability judgement (through x509_usable()).
 *
 * It follows the CA/Browser Forum "Baseline Requirements for the Issuance and
 * Management of Publicly-Trusted S/MIME Certificates" (SBR, version 1.0.10),
 * strict generation, mailbox-validated profile, for subscriber certificates
 * (SBR §7.1.2.3); "§" below cites that document unless an RFC is named:
 *  - basicConstraints, if present, not cA=TRUE and no pathLenConstraint (d);
 *  - keyUsage present (e), no bit beyond the strict table for the key type
 *    (never keyCertSign or cRLSign), and the bit the use needs: encryption
 *    RSA keyEncipherment, EC keyAgreement; signing digitalSignature;
 *  - extKeyUsage present with id-kp-emailProtection (f); strict allows no
 *    other value, an operator may allow more with ca.allowed_ekus, but never
 *    serverAuth, codeSigning, timeStamping or anyExtendedKeyUsage (f);
 *  - subjectAltName present (h) holding only rfc822Name and otherName
 *    id-on-SmtpUTF8Mailbox (RFC 9598) entries (§7.1.4.2.1), each one of the
 *    person's addresses;
 *  - every subject emailAddress repeated in subjectAltName (§7.1.4.2.1),
 *    hence one of the person's addresses too;
 *  - within its validity, of at most 825 days (§6.3.2).
 * Addresses compare ASCII case-insensitively, local part included, as the
 * directory matches mail (caseIgnoreIA5Match, RFC 4524 §2.16) and smimepub
 * finds a person by it: RFC 5321 §2.4 lets only the receiving host fold a
 * local part's case, and the directory is where its domain says which
 * mailbox "Alice" is. Bytes beyond ASCII (SmtpUTF8Mailbox) compare exactly.
 * Not checked here: the chain and revocation (the caller's trust store), the
 * policy, CRL distribution point and AIA contents (a private CA may not
 * publish those), and the subject attributes other than emailAddress.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/mail.h"
#include "common/x509.h"

#define PROF_MAX_PERIOD	(825LL * 86400)	/* SBR §6.3.2: 825 days of 86,400 s */

/* Record why (for the caller) and return code. */
static enum x509_prof
prof_why(char *why, size_t whysz, enum x509_prof code, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whysz > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whysz, fmt, ap);
		va_end(ap);
	}
	return code;
}

static int
prof_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int
x509_addr_eq(const unsigned char *a, size_t len, const char *addr)
{
	const unsigned char *at_a;
	const char *at_addr;
	size_t alen, local, i;

	if (a == NULL || addr == NULL || (alen = strlen(addr)) != len ||
	    memchr(a, '\0', len) != NULL)
		return 0;
	/* The domain follows the last '@'. */
	if ((at_a = memrchr(a, '@', len)) == NULL ||
	    (at_addr = memrchr(addr, '@', alen)) == NULL)
		return 0;
	local = (size_t)(at_a - a);
	if (local != (size_t)(at_addr - addr))
		return 0;
	for (i = 0; i < len; i++)
		if (prof_lower(a[i]) != prof_lower((unsigned char)addr[i]))
			return 0;
	return 1;
}

/* 1 if the len bytes at a are one of addrs. */
static int
prof_is_own(const unsigned char *a, size_t len, const char *const *addrs,
    size_t naddrs)
{
	size_t i;

	for (i = 0; i < naddrs; i++)
		if (x509_addr_eq(a, len, addrs[i]))
			return 1;
	return 0;
}

/* SBR §7.1.2.3 (d): cA not TRUE, no pathLenConstraint. */
static enum x509_prof
prof_basic(X509 *cert, char *why, size_t whysz)
{
	BASIC_CONSTRAINTS *bc;
	enum x509_prof rc = X509_PROF_OK;
	int crit = 0;

	if ((bc = X509_get_ext_d2i(cert, NID_basic_constraints, &crit,
	    NULL)) == NULL)
		return crit == -1 ? X509_PROF_OK : prof_why(why, whysz,
		    X509_PROF_PROFILE, "unreadable basicConstraints");
	if (bc->ca)
		rc = prof_why(why, whysz, X509_PROF_PROFILE, "basicConstraints "
		    "cA=TRUE: a CA certificate, not a person's (SBR 7.1.2.3 d)");
	else if (bc->pathlen != NULL)
		rc = prof_why(why, whysz, X509_PROF_PROFILE, "basicConstraints "
		    "with a pathLenConstraint (SBR 7.1.2.3 d)");
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

/* The name of the first bit of ku outside allowed, for the reason. */
static const char *
prof_ku_name(uint32_t bits)
{
	static const struct { uint32_t bit; const char *name; } n[] = {
		{ KU_DIGITAL_SIGNATURE, "digitalSignature" },
		{ KU_NON_REPUDIATION, "nonRepudiation" },
		{ KU_KEY_ENCIPHERMENT, "keyEncipherment" },
		{ KU_DATA_ENCIPHERMENT, "dataEncipherment" },
		{ KU_KEY_AGREEMENT, "keyAgreement" },
		{ KU_KEY_CERT_SIGN, "keyCertSign" },
		{ KU_CRL_SIGN, "cRLSign" },
		{ KU_ENCIPHER_ONLY, "encipherOnly" },
		{ KU_DECIPHER_ONLY, "decipherOnly" },
	};
	size_t i;

	for (i = 0; i < sizeof(n) / sizeof(n[0]); i++)
		if (bits & n[i].bit)
			return n[i].name;
	return "?";
}

/*
 * SBR §7.1.2.3 (e), strict row: keyUsage present; per key type only the
 * bits of the table ("Other bit positions SHALL NOT be set"); then the bit
 * the use needs.
 */
static enum x509_prof
prof_key_usage(X509 *cert, uint32_t flags, enum x509_use use, char *why,
    size_t whysz)
{
	const uint32_t sig = KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION;
	EVP_PKEY *pk;
	uint32_t ku, allowed, need;

	if ((pk = X509_get0_pubkey(cert)) == NULL)
		return prof_why(why, whysz, X509_PROF_PROFILE,
		    "unreadable public key");
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		allowed = sig | KU_KEY_ENCIPHERMENT;
		need = KU_KEY_ENCIPHERMENT;
		break;
	case EVP_PKEY_EC:
	case EVP_PKEY_X25519:
	case EVP_PKEY_X448:
		allowed = sig | KU_KEY_AGREEMENT | KU_ENCIPHER_ONLY |
		    KU_DECIPHER_ONLY;
		need = KU_KEY_AGREEMENT;
		break;
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		allowed = sig;
		need = 0;	/* a signature key: cannot encrypt */
		break;
	default:
		/* DSA, RSA-PSS...: not an S/MIME BR key (SBR §6.1.5) */
		return prof_why(why, whysz, X509_PROF_KEY_TYPE,
		    "key type cannot encrypt");
	}
	if (use == X509_USE_SIGN)
		need = KU_DIGITAL_SIGNATURE;
	if (!(flags & EXFLAG_KUSAGE))
		return prof_why(why, whysz, X509_PROF_PROFILE,
		    "no keyUsage extension (SBR 7.1.2.3 e)");
	ku = X509_get_key_usage(cert);
	if (need != 0 && !(ku & need))
		return prof_why(why, whysz, X509_PROF_KEY_USAGE, "key usage "
		    "forbids %s (an %s key needs %s)", use == X509_USE_SIGN ?
		    "signing" : "encryption", EVP_PKEY_get0_type_name(pk),
		    prof_ku_name(need));
	if (ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN))
		return prof_why(why, whysz, X509_PROF_PROFILE, "keyUsage %s "
		    "is for CAs, not a person (SBR 7.1.2.3 e)",
		    prof_ku_name(ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)));
	if (ku & ~allowed)
		return prof_why(why, whysz, X509_PROF_PROFILE, "keyUsage %s "
		    "is not allowed for an %s key (SBR 7.1.2.3 e, strict)",
		    prof_ku_name(ku & ~allowed),
		    EVP_PKEY_get0_type_name(pk));
	if ((ku & (KU_ENCIPHER_ONLY | KU_DECIPHER_ONLY)) &&
	    !(ku & KU_KEY_AGREEMENT))
		return prof_why(why, whysz, X509_PROF_PROFILE, "keyUsage "
		    "encipherOnly or decipherOnly without keyAgreement "
		    "(SBR 7.1.2.3 e)");
	if (need == 0)
		return prof_why(why, whysz, X509_PROF_KEY_TYPE,
		    "key type cannot encrypt");
	return X509_PROF_OK;
}

/* An EKU the operator allowed (ca.allowed_ekus: names or dotted OIDs). */
static int
prof_eku_extra(const ASN1_OBJECT *o, char *const *extra)
{
	ASN1_OBJECT *e;
	int eq;

	for (; extra != NULL && *extra != NULL; extra++) {
		if ((e = OBJ_txt2obj(*extra, 0)) == NULL)
			continue;
		eq = OBJ_cmp(e, o) == 0;
		ASN1_OBJECT_free(e);
		if (eq)
			return 1;
	}
	return 0;
}

/* Never allowed, whatever the configuration (SBR §7.1.2.3 f). */
static int
prof_eku_forbidden(int nid)
{
	return nid == NID_server_auth || nid == NID_code_sign ||
	    nid == NID_time_stamp || nid == NID_anyExtendedKeyUsage;
}

/* SBR §7.1.2.3 (f). */
static enum x509_prof
prof_eku(X509 *cert, char *const *extra, char *why, size_t whysz)
{
	EXTENDED_KEY_USAGE *eku;
	const ASN1_OBJECT *o;
	enum x509_prof rc = X509_PROF_OK;
	char name[80];
	int i, nid, crit = 0, email = 0;

	if ((eku = X509_get_ext_d2i(cert, NID_ext_key_usage, &crit,
	    NULL)) == NULL)
		return prof_why(why, whysz, X509_PROF_NO_EKU,
		    "no emailProtection EKU");
	for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++)
		if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) ==
		    NID_email_protect)
			email = 1;
	if (!email) {
		rc = prof_why(why, whysz, X509_PROF_NO_EKU,
		    "no emailProtection EKU");
		goto out;
	}
	for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		o = sk_ASN1_OBJECT_value(eku, i);
		nid = OBJ_obj2nid(o);
		if (nid == NID_email_protect ||
		    (!prof_eku_forbidden(nid) && prof_eku_extra(o, extra)))
			continue;
		if (nid != NID_undef)
			snprintf(name, sizeof(name), "%s", OBJ_nid2sn(nid));
		else if (OBJ_obj2txt(name, sizeof(name), o, 1) <= 0)
			snprintf(name, sizeof(name), "?");
		rc = prof_why(why, whysz, X509_PROF_PROFILE, "extended key "
		    "usage %s beside emailProtection is not allowed (SBR "
		    "7.1.2.3 f%s)", name, prof_eku_forbidden(nid) ? "" :
		    ", strict; see ca.allowed_ekus");
		goto out;
	}
out:
	EXTENDED_KEY_USAGE_free(eku);
	return rc;
}

/* The mailbox of a SAN entry (rfc822Name or SmtpUTF8Mailbox), or NULL. */
static const ASN1_STRING *
prof_mailbox(const GENERAL_NAME *gen)
{
	const ASN1_TYPE *v;

	if (gen->type == GEN_EMAIL)
		return gen->d.rfc822Name;
	/* RFC 9598 §3: otherName id-on-SmtpUTF8Mailbox, a UTF8String */
	if (gen->type == GEN_OTHERNAME &&
	    OBJ_obj2nid(gen->d.otherName->type_id) ==
	    NID_id_on_SmtpUTF8Mailbox) {
		v = gen->d.otherName->value;
		if (v != NULL && v->type == V_ASN1_UTF8STRING)
			return v->value.utf8string;
	}
	return NULL;
}

static const char *
prof_gen_name(int type)
{
	static const char *const n[] = { "otherName", "rfc822Name",
	    "dNSName", "x400Address", "directoryName", "ediPartyName",
	    "uniformResourceIdentifier", "iPAddress", "registeredID" };

	return type >= 0 && type < (int)(sizeof(n) / sizeof(n[0])) ?
	    n[type] : "unknown";
}

/* 1 if the len bytes at a are a mailbox of gens. */
static int
prof_in_san(const GENERAL_NAMES *gens, const unsigned char *a, size_t len)
{
	const ASN1_STRING *m;
	char buf[MAIL_MAX + 1];
	int i;

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, a, len);
	buf[len] = '\0';
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++)
		if ((m = prof_mailbox(sk_GENERAL_NAME_value(gens, i))) != NULL &&
		    x509_addr_eq(ASN1_STRING_get0_data(m),
		    (size_t)ASN1_STRING_length(m), buf))
			return 1;
	return 0;
}

/* Every subject emailAddress is repeated in the SAN (SBR §7.1.4.2.1). */
static enum x509_prof
prof_subject(X509 *cert, const GENERAL_NAMES *gens, char *why, size_t whysz)
{
	const X509_NAME *subj = X509_get_subject_name(cert);
	const ASN1_STRING *v;
	int i = -1, len;

	while ((i = X509_NAME_get_index_by_NID(subj, NID_pkcs9_emailAddress,
	    i)) >= 0) {
		v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
		len = ASN1_STRING_length(v);
		if (!prof_in_san(gens, ASN1_STRING_get0_data(v), (size_t)len))
			return prof_why(why, whysz, X509_PROF_PROFILE, "subject "
			    "emailAddress %.*s is not one of the certificate's "
			    "own addresses (SBR 7.1.4.2.1)",
			    len > 254 ? 254 : len, ASN1_STRING_get0_data(v));
	}
	return X509_PROF_OK;
}

/* SBR §7.1.2.3 (h), §7.1.4.2.1; then the subject. */
static enum x509_prof
prof_names(X509 *cert, const char *const *addrs, size_t naddrs, char *why,
    size_t whysz)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *gen, *other = NULL;
	const ASN1_STRING *m;
	enum x509_prof rc = X509_PROF_OK;
	int i, crit = 0, found = 0, len;

	if ((gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit,
	    NULL)) == NULL)
		return naddrs > 0 ? prof_why(why, whysz, X509_PROF_ADDRESS,
		    "address not in certificate: no subjectAltName") : prof_why(why, whysz,
		    X509_PROF_PROFILE, "no subjectAltName (SBR 7.1.2.3 h)");
	for (i = 0; i < sk_GENERAL_NAME_num(gens) && naddrs > 0; i++) {
		gen = sk_GENERAL_NAME_value(gens, i);
		if ((m = prof_mailbox(gen)) == NULL)
			continue;
		len = ASN1_STRING_length(m);
		if (x509_addr_eq(ASN1_STRING_get0_data(m), (size_t)len,
		    addrs[0]))
			found = 1;
		else if (other == NULL)
			other = gen;
	}
	if (naddrs > 0 && !found) {
		if ((m = other != NULL ? prof_mailbox(other) : NULL) == NULL)
			rc = prof_why(why, whysz, X509_PROF_ADDRESS, "address "
			    "not in certificate: no rfc822Name %s", addrs[0]);
		else
			rc = prof_why(why, whysz, X509_PROF_ADDRESS, "address "
			    "not in certificate: %s %.*s is not %s",
			    prof_gen_name(other->type),
			    ASN1_STRING_length(m) > 254 ? 254 :
			    ASN1_STRING_length(m), ASN1_STRING_get0_data(m),
			    addrs[0]);
		goto out;
	}
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		gen = sk_GENERAL_NAME_value(gens, i);
		if ((m = prof_mailbox(gen)) == NULL) {
			rc = prof_why(why, whysz, X509_PROF_PROFILE, "subjectAlt"
			    "Name holds a %s: only the person's mail addresses "
			    "may be named (SBR 7.1.4.2.1)",
			    prof_gen_name(gen->type));
			goto out;
		}
		len = ASN1_STRING_length(m);
		if (naddrs > 0 && !prof_is_own(ASN1_STRING_get0_data(m),
		    (size_t)len, addrs, naddrs)) {
			rc = prof_why(why, whysz, X509_PROF_PROFILE, "subjectAlt"
			    "Name %s %.*s is not the person's address %s (SBR "
			    "7.1.4.2.1)", prof_gen_name(gen->type),
			    len > 254 ? 254 : len, ASN1_STRING_get0_data(m),
			    addrs[0]);
			goto out;
		}
	}
	rc = prof_subject(cert, gens, why, whysz);
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

/* Valid at now, for at most 825 days (SBR §6.3.2). */
static enum x509_prof
prof_validity(X509 *cert, time_t now, char *why, size_t whysz)
{
	const ASN1_TIME *nb = X509_get0_notBefore(cert);
	const ASN1_TIME *na = X509_get0_notAfter(cert);
	long long period;
	int cmp, days = 0, secs = 0;

	if ((cmp = X509_cmp_time(nb, &now)) == 0)
		return prof_why(why, whysz, X509_PROF_UNPARSABLE,
		    "malformed validity dates");
	if (cmp > 0)
		return prof_why(why, whysz, X509_PROF_NOT_YET_VALID,
		    "not yet valid");
	/* -1 also when notAfter equals now: the last second has passed. */
	if ((cmp = X509_cmp_time(na, &now)) == 0)
		return prof_why(why, whysz, X509_PROF_UNPARSABLE,
		    "malformed validity dates");
	if (cmp < 0)
		return prof_why(why, whysz, X509_PROF_EXPIRED, "expired");
	if (!ASN1_TIME_diff(&days, &secs, nb, na))
		return prof_why(why, whysz, X509_PROF_UNPARSABLE,
		    "malformed validity dates");
	/* RFC 5280 §4.1.2.5: both ends inclusive */
	period = (long long)days * 86400 + secs + 1;
	if (period > PROF_MAX_PERIOD)
		return prof_why(why, whysz, X509_PROF_PROFILE, "validity of "
		    "%lld days exceeds the 825 days of the S/MIME Baseline "
		    "Requirements (SBR 6.3.2)", (period + 86399) / 86400);
	return X509_PROF_OK;
}

enum x509_prof
x509_profile_check(X509 *cert, const char *const *addrs, size_t naddrs,
    char *const *extra_ekus, enum x509_use use, time_t now, char *why,
    size_t whysz)
{
	enum x509_prof rc;
	uint32_t flags;

	if (why != NULL && whysz > 0)
		why[0] = '\0';
	if (cert == NULL)
		return prof_why(why, whysz, X509_PROF_UNPARSABLE,
		    "not a certificate");
	flags = X509_get_extension_flags(cert);	/* caches the extensions */
	if (flags & EXFLAG_INVALID) {
		rc = prof_why(why, whysz, X509_PROF_UNPARSABLE,
		    "malformed extensions");
		goto out;
	}
	if ((rc = prof_validity(cert, now, why, whysz)) != X509_PROF_OK ||
	    (rc = prof_basic(cert, why, whysz)) != X509_PROF_OK ||
	    (rc = prof_eku(cert, extra_ekus, why, whysz)) != X509_PROF_OK ||
	    (rc = prof_key_usage(cert, flags, use, why, whysz)) !=
	    X509_PROF_OK ||
	    (rc = prof_names(cert, addrs, naddrs, why, whysz)) != X509_PROF_OK)
		goto out;
	rc = X509_PROF_OK;
out:
	ERR_clear_error();
	return rc;
}

int
x509_profile_eku_ok(const char *name, const char **why)
{
	ASN1_OBJECT *o;
	int nid;

	if (name == NULL || (o = OBJ_txt2obj(name, 0)) == NULL) {
		ERR_clear_error();
		*why = "is not an extended key usage name (clientAuth) or a "
		    "dotted OID";
		return -1;
	}
	nid = OBJ_obj2nid(o);
	ASN1_OBJECT_free(o);
	if (prof_eku_forbidden(nid)) {
		*why = "is never allowed in a person's S/MIME certificate "
		    "(S/MIME Baseline Requirements 7.1.2.3 f)";
		return -1;
	}
	return 0;
}
