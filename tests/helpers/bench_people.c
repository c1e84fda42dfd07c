/*
 * bench_people.c — N people with a usable S/MIME certificate each, as LDIF
 * for ldapadd, for the uncached smimepub-lookupd benchmark (publishing
 * 10,000 certificates one by one through smimepub would take far longer
 * than the benchmark itself).
 *
 *   bench_people CA.pem CA.key N PREFIX BASE >people.ldif
 *
 * Person i (1..N) is uid=PREFIX%05d,BASE with mail PREFIX%05d@example.com
 * and one userCertificate;binary: an EC P-256 certificate signed by the
 * CA, subject CN and rfc822Name = that address, emailProtection EKU, key
 * usage digitalSignature + keyAgreement, valid from a minute ago for a
 * year, a random 128-bit serial. All N certificates share one key pair:
 * key generation is the slow part, and lookupd does not look at the key
 * beyond its type. Exit 0, 1 on failure, 2 for usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

static int
add_ext(X509 *x, X509 *ca, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&v3, ca, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok == 1 ? 0 : -1;
}

/* The certificate of mail as DER into *der (OPENSSL_free), or -1. */
static int
make_cert(X509 *ca, EVP_PKEY *cakey, EVP_PKEY *key, const char *mail,
    unsigned char **der)
{
	unsigned char rnd[16];
	char san[300];
	X509 *x = NULL;
	BIGNUM *bn = NULL;
	X509_NAME *n;
	int len = -1;

	if ((x = X509_new()) == NULL || RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	rnd[0] &= 0x7f;
	rnd[0] |= 0x01;
	if ((bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	snprintf(san, sizeof(san), "email:%s", mail);
	n = X509_get_subject_name(x);
	if (X509_set_version(x, 2) != 1 ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)mail, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -60) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) == NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(x, ca, NID_key_usage,
	    "critical,digitalSignature,keyAgreement") ||
	    add_ext(x, ca, NID_ext_key_usage, "emailProtection") ||
	    add_ext(x, ca, NID_subject_alt_name, san) ||
	    add_ext(x, ca, NID_authority_key_identifier, "keyid") ||
	    X509_sign(x, cakey, EVP_sha256()) == 0)
		goto out;
	*der = NULL;
	len = i2d_X509(x, der);
out:
	BN_free(bn);
	X509_free(x);
	return len;
}

int
main(int argc, char **argv)
{
	EVP_PKEY *cakey = NULL, *key = NULL;
	X509 *ca = NULL;
	FILE *fp;
	unsigned char *der, *b64 = NULL;
	char uid[64], mail[100], *end;
	long i, n;
	int len, rc = 1;

	if (argc != 6) {
		fprintf(stderr, "usage: bench_people CA.pem CA.key N PREFIX "
		    "BASE\n");
		return 2;
	}
	n = strtol(argv[3], &end, 10);
	if (*end != '\0' || n < 1 || n > 99999 || strlen(argv[4]) > 32 ||
	    strspn(argv[4], "abcdefghijklmnopqrstuvwxyz") != strlen(argv[4])) {
		fprintf(stderr, "bench_people: N is 1..99999, PREFIX a-z, at "
		    "most 32 letters\n");
		return 2;
	}
	if ((fp = fopen(argv[1], "r")) == NULL ||
	    (ca = PEM_read_X509(fp, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "bench_people: %s: no certificate\n", argv[1]);
		goto out;
	}
	fclose(fp);
	if ((fp = fopen(argv[2], "r")) == NULL ||
	    (cakey = PEM_read_PrivateKey(fp, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "bench_people: %s: no key\n", argv[2]);
		goto out;
	}
	fclose(fp);
	fp = NULL;
	if ((key = EVP_EC_gen("P-256")) == NULL ||
	    (b64 = malloc(8192)) == NULL)
		goto out;
	for (i = 1; i <= n; i++) {
		snprintf(uid, sizeof(uid), "%s%05ld", argv[4], i);
		snprintf(mail, sizeof(mail), "%s@example.com", uid);
		der = NULL;
		if ((len = make_cert(ca, cakey, key, mail, &der)) <= 0 ||
		    len > 6000) {
			fprintf(stderr, "bench_people: %s: cannot make the "
			    "certificate\n", mail);
			OPENSSL_free(der);
			goto out;
		}
		EVP_EncodeBlock(b64, der, len);
		OPENSSL_free(der);
		printf("dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\n"
		    "cn: Bench Lookup %ld\nsn: Lookup %ld\nmail: %s\n"
		    "userCertificate;binary:: %s\n\n", uid, argv[5], uid, i, i,
		    mail, (char *)b64);
	}
	if (fflush(stdout) != 0)
		goto out;
	rc = 0;
out:
	if (fp != NULL)
		fclose(fp);
	free(b64);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	X509_free(ca);
	return rc;
}
