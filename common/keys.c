/*
 * keys.c — key pair generation for the configured keys.type and the PKCS#10
 * request (RFC 2986) sent to the CA: CN from the display name, the address
 * as subjectAltName rfc822Name in an extensionRequest, signed with SHA-256.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/keys.h"
#include "common/log.h"
#include "common/mail.h"

/* keys.type and ca.local.key_type allowed values (the config table). */
const char *const keys_type_names[] = {
	"rsa:2048", "rsa:3072", "rsa:4096", "ec:P-256", "ec:P-384", NULL
};

/* What each of keys_type_names[] is, in the same order. */
struct keys_type {
	const char	*alg;		/* EVP_PKEY_Q_keygen() type */
	size_t		 bits;		/* RSA modulus */
	const char	*curve;		/* EC group */
};

static const struct keys_type keys_types[] = {
	{ "RSA", 2048, NULL },
	{ "RSA", 3072, NULL },
	{ "RSA", 4096, NULL },
	{ "EC", 0, "P-256" },
	{ "EC", 0, "P-384" },
};
#define NTYPES	(sizeof(keys_types) / sizeof(keys_types[0]))
_Static_assert(sizeof(keys_type_names) / sizeof(keys_type_names[0]) ==
    NTYPES + 1, "keys_types[] describes each of keys_type_names[]");

static const struct keys_type *
keys_type_find(const char *type)
{
	size_t i;

	if (type == NULL)
		return NULL;
	for (i = 0; i < NTYPES; i++)
		if (strcmp(keys_type_names[i], type) == 0)
			return &keys_types[i];
	return NULL;
}

int
keys_type_valid(const char *type)
{
	return keys_type_find(type) != NULL;
}

EVP_PKEY *
keys_generate(const char *type)
{
	const struct keys_type *t;
	EVP_PKEY *key = NULL;

	if (type == NULL)
		type = KEYS_DEFAULT_TYPE;
	if ((t = keys_type_find(type)) == NULL) {
		log_err("key type \"%s\": not rsa:2048, rsa:3072, rsa:4096, "
		    "ec:P-256 or ec:P-384", type);
		return NULL;
	}
	if (t->curve != NULL)
		key = EVP_PKEY_Q_keygen(NULL, NULL, t->alg, t->curve);
	else
		key = EVP_PKEY_Q_keygen(NULL, NULL, t->alg, t->bits);
	if (key == NULL)
		log_ssl("key type %s: key generation failed", type);
	return key;
}

const EVP_MD *
keys_sig_md(EVP_PKEY *key)
{
	char group[32];
	size_t len = 0;

	if (EVP_PKEY_is_a(key, "EC") &&
	    EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group),
	    &len) == 1 && strcmp(group, "secp384r1") == 0)
		return EVP_sha384();
	return EVP_sha256();
}

/*
 * Copy at most KEYS_CN_MAX characters of the UTF-8 string in to out
 * (KEYS_CN_MAX * 4 + 1 bytes). -1 with *why on invalid UTF-8 or a control
 * character (C0, DEL, C1, U+2028/U+2029): a name is shown to people.
 */
static int
keys_cn_copy(const char *in, char *out, const char **why)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, chars = 0, n, i;
	uint32_t cp;

	while (*p != '\0') {
		if (*p < 0x80) {
			cp = *p;
			n = 1;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			n = 2;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			n = 3;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07;
			n = 4;
		} else {
			*why = "invalid UTF-8";
			return -1;
		}
		for (i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				*why = "invalid UTF-8";
				return -1;
			}
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		/* RFC 3629 §3: no overlong forms, surrogates or > U+10FFFF */
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			*why = "invalid UTF-8";
			return -1;
		}
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
		    cp == 0x2028 || cp == 0x2029) {
			*why = "contains a control character";
			return -1;
		}
		if (chars < KEYS_CN_MAX) {
			memcpy(out + o, p, n);
			o += n;
			chars++;
		}
		p += n;
	}
	out[o] = '\0';
	return 0;
}

/*
 * The key usage a request of this purpose asks for: both uses on one key
 * (the profile check wants digitalSignature and the encryption bit of the
 * key type), encryption only (RSA keyEncipherment, EC keyAgreement: RFC 8550
 * §4.4.2), or signing only (digitalSignature, and nonRepudiation when
 * asked: RFC 5280 §4.2.1.3). The CA reads the purpose from it
 * (keys_csr_purpose), so no driver needs a second channel for it.
 */
static const char *
keys_csr_ku(EVP_PKEY *key, enum keys_purpose purpose)
{
	int rsa = EVP_PKEY_is_a(key, "RSA");

	switch (purpose) {
	case KEYS_ENCRYPT:
		return rsa ? "critical,keyEncipherment" :
		    "critical,keyAgreement";
	case KEYS_SIGN:
		return "critical,digitalSignature";
	case KEYS_SIGN_NR:
		return "critical,digitalSignature,nonRepudiation";
	default:
		return rsa ? "critical,digitalSignature,keyEncipherment" :
		    "critical,digitalSignature,keyAgreement";
	}
}

/*
 * Ask for the S/MIME profile too (RFC 2985 §5.4.2 extensionRequest): the
 * emailProtection EKU and the key usage of the purpose, so that a CA that
 * honours requested extensions (certmonger's local signer, the local CA)
 * issues a certificate smimepub accepts. 0, or -1.
 */
static int
keys_csr_profile(STACK_OF(X509_EXTENSION) **exts, EVP_PKEY *key,
    enum keys_purpose purpose)
{
	X509_EXTENSION *e;
	int ok;

	if ((e = X509V3_EXT_conf_nid(NULL, NULL, NID_ext_key_usage,
	    "emailProtection")) == NULL)
		return -1;
	ok = X509v3_add_ext(exts, e, -1) != NULL;
	X509_EXTENSION_free(e);
	if (!ok || (e = X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage,
	    keys_csr_ku(key, purpose))) == NULL)
		return -1;
	ok = X509v3_add_ext(exts, e, -1) != NULL;
	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

enum keys_purpose
keys_csr_purpose(X509_REQ *req, uint32_t *ku_out)
{
	STACK_OF(X509_EXTENSION) *exts;
	ASN1_BIT_STRING *ku = NULL;
	uint32_t bits = 0;
	int i;

	if (ku_out != NULL)
		*ku_out = 0;
	if (req == NULL || (exts = X509_REQ_get_extensions(req)) == NULL)
		return KEYS_BOTH;
	if ((i = X509v3_get_ext_by_NID(exts, NID_key_usage, -1)) >= 0)
		ku = X509V3_EXT_d2i(sk_X509_EXTENSION_value(exts, i));
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (ku == NULL)
		return KEYS_BOTH;
	/* the first two octets: KU_* are their bits, as X509_get_key_usage */
	if (ku->length > 0)
		bits = ku->data[0];
	if (ku->length > 1)
		bits |= (uint32_t)ku->data[1] << 8;
	ASN1_BIT_STRING_free(ku);
	if (ku_out != NULL)
		*ku_out = bits;
	if (!(bits & (KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT)) &&
	    (bits & KU_DIGITAL_SIGNATURE))
		return bits & KU_NON_REPUDIATION ? KEYS_SIGN_NR : KEYS_SIGN;
	if (!(bits & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) &&
	    (bits & (KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT)))
		return KEYS_ENCRYPT;
	return KEYS_BOTH;
}

const char *
keys_purpose_str(enum keys_purpose p)
{
	switch (p) {
	case KEYS_ENCRYPT:
		return "encryption";
	case KEYS_SIGN:
	case KEYS_SIGN_NR:
		return "signing";
	default:
		return "encryption and signing";
	}
}

/* subjectAltName: each address an rfc822Name (RFC 5280 §4.2.1.6, an
 * IA5String addr-spec), canonical, in order. NULL logged. */
static GENERAL_NAMES *
keys_csr_san(const char *const *addrs, size_t n)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gen = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	char canon[MAIL_MAX + 1];
	const char *why = NULL;
	size_t i;

	if ((gens = GENERAL_NAMES_new()) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if (addrs[i] == NULL || mail_canon(addrs[i], strlen(addrs[i]),
		    canon, &why) == -1) {
			log_err("CSR for \"%s\": invalid address: %s",
			    addrs[i] ? addrs[i] : "(null)", why ? why :
			    "missing");
			goto fail;
		}
		if ((gen = GENERAL_NAME_new()) == NULL ||
		    (ia5 = ASN1_IA5STRING_new()) == NULL ||
		    !ASN1_STRING_set(ia5, canon, -1))
			goto nomem;
		GENERAL_NAME_set0_value(gen, GEN_EMAIL, ia5);
		ia5 = NULL;
		if (!sk_GENERAL_NAME_push(gens, gen))
			goto nomem;
		gen = NULL;
	}
	return gens;
nomem:
	log_ssl("CSR for %s: out of memory", n > 0 && addrs[0] ? addrs[0] :
	    "(null)");
fail:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	return NULL;
}

X509_REQ *
keys_csr_new(EVP_PKEY *key, const char *mail, const char *display_name)
{
	return keys_csr_new_addrs(key, &mail, 1, display_name, KEYS_BOTH);
}

X509_REQ *
keys_csr_new_for(EVP_PKEY *key, const char *mail, const char *display_name,
    enum keys_purpose purpose)
{
	return keys_csr_new_addrs(key, &mail, 1, display_name, purpose);
}

X509_REQ *
keys_csr_new_addrs(EVP_PKEY *key, const char *const *addrs, size_t n,
    const char *display_name, enum keys_purpose purpose)
{
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	GENERAL_NAMES *gens = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	char canon[MAIL_MAX + 1], cn[KEYS_CN_MAX * 4 + 1];
	const char *why = NULL, *mail = n > 0 ? addrs[0] : NULL;
	int ok = 0;

	if (mail == NULL || mail_canon(mail, strlen(mail), canon, &why) == -1) {
		log_err("CSR for \"%s\": invalid address: %s",
		    mail ? mail : "(null)", why ? why : "missing");
		return NULL;
	}
	if (display_name == NULL || display_name[0] == '\0')
		display_name = canon;
	if (keys_cn_copy(display_name, cn, &why) == -1) {
		log_err("CSR for %s: display name refused: %s", canon, why);
		return NULL;
	}
	if ((req = X509_REQ_new()) == NULL ||
	    !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    (name = X509_NAME_new()) == NULL ||
	    !X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_REQ_set_subject_name(req, name) ||
	    !X509_REQ_set_pubkey(req, key)) {
		log_ssl("CSR for %s: cannot set subject or key", canon);
		goto out;
	}
	if ((gens = keys_csr_san(addrs, n)) == NULL)
		goto out;
	if (X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT) != 1 ||
	    keys_csr_profile(&exts, key, purpose) == -1 ||
	    !X509_REQ_add_extensions(req, exts)) {
		log_ssl("CSR for %s: cannot add the extension request", canon);
		goto out;
	}
	if (X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
		log_ssl("CSR for %s: signing failed", canon);
		goto out;
	}
	ok = 1;
out:
	X509_NAME_free(name);
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (!ok) {
		X509_REQ_free(req);
		req = NULL;
	}
	return req;
}
