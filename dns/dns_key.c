/*
 * dns_key.c — the TSIG key (RFC 8945) a zone is updated with, from a file
 * in BIND's `key` syntax (what tsig-keygen and ddns-confgen write, what
 * named.conf and knotc import). The file is a secret: only its owner may
 * read it (common/secret.c refuses anything else), and every copy of the
 * key is cleansed when dropped.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/cfg.h"
#include "common/log.h"
#include "dns/dns.h"

/* A TSIG key shorter than this is guessable offline from one signed
 * message; tsig-keygen makes as many octets as the hash output. */
#define DNS_KEY_MIN	16

enum tok { T_EOF, T_WORD, T_STRING, T_LBRACE, T_RBRACE, T_SEMI, T_ERR };

struct lex {
	const char	*p, *end;
	char		 tok[1100];	/* the last word or string */
	const char	*why;
};

/* Skip white space and the three comment styles of named.conf. */
static int
lex_skip(struct lex *lx)
{
	while (lx->p < lx->end) {
		if (isspace((unsigned char)*lx->p))
			lx->p++;
		else if (*lx->p == '#' || (*lx->p == '/' && lx->p + 1 <
		    lx->end && lx->p[1] == '/')) {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (*lx->p == '/' && lx->p + 1 < lx->end &&
		    lx->p[1] == '*') {
			lx->p += 2;
			while (lx->p + 1 < lx->end && !(lx->p[0] == '*' &&
			    lx->p[1] == '/'))
				lx->p++;
			if (lx->p + 1 >= lx->end) {
				lx->why = "an unterminated /* comment";
				return -1;
			}
			lx->p += 2;
		} else
			break;
	}
	return 0;
}

static enum tok
lex_next(struct lex *lx)
{
	size_t n = 0;
	char ch;

	if (lex_skip(lx) == -1)
		return T_ERR;
	if (lx->p >= lx->end)
		return T_EOF;
	ch = *lx->p++;
	switch (ch) {
	case '{':
		return T_LBRACE;
	case '}':
		return T_RBRACE;
	case ';':
		return T_SEMI;
	case '"':
		while (lx->p < lx->end && *lx->p != '"') {
			if (*lx->p == '\\' || *lx->p == '\n' ||
			    n + 1 >= sizeof(lx->tok)) {
				lx->why = "a quoted string that is too long, "
				    "spans lines or holds a backslash";
				return T_ERR;
			}
			lx->tok[n++] = *lx->p++;
		}
		if (lx->p >= lx->end) {
			lx->why = "an unterminated quoted string";
			return T_ERR;
		}
		lx->p++;
		lx->tok[n] = '\0';
		return T_STRING;
	}
	lx->p--;
	while (lx->p < lx->end && (isalnum((unsigned char)*lx->p) ||
	    strchr("-_.+/=", *lx->p) != NULL)) {
		if (n + 1 >= sizeof(lx->tok)) {
			lx->why = "a word that is too long";
			return T_ERR;
		}
		lx->tok[n++] = *lx->p++;
	}
	if (n == 0) {
		lx->why = "an unexpected character";
		return T_ERR;
	}
	lx->tok[n] = '\0';
	return T_WORD;
}

/* A key name: a domain name of letters, digits, '-', '_' and '.'. */
static int
key_name(struct dns_key *k, const char *name, const char **why)
{
	char canon[DNS_DOMAIN_MAX + 1];

	if (dns_zone_canon(name, canon, why) == -1)
		return -1;
	snprintf(k->name, sizeof(k->name), "%s.", canon);
	return 0;
}

static int
key_alg(struct dns_key *k, const char *alg, const char **why)
{
	static const char *const algs[] = { "hmac-sha256", "hmac-sha384",
	    "hmac-sha512" };
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcasecmp(alg, algs[i]) == 0) {
			snprintf(k->alg, sizeof(k->alg), "%s.", algs[i]);
			return 0;
		}
	*why = "the algorithm is not hmac-sha256, hmac-sha384 or hmac-sha512";
	return -1;
}

/* The secret: base64 (RFC 4648 §4) of at least DNS_KEY_MIN octets. */
static int
key_secret(struct dns_key *k, const char *b64, const char **why)
{
	unsigned char raw[sizeof(k->secret)];
	size_t len = strlen(b64), body, pad;
	int n;

	body = strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/");
	pad = strspn(b64 + body, "=");
	if (len == 0 || len % 4 != 0 || len >= sizeof(k->secret) ||
	    body + pad != len || pad > 2) {
		*why = "the secret is not base64";
		return -1;
	}
	n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (n < 0 || (size_t)n < pad || (size_t)n - pad < DNS_KEY_MIN) {
		*why = n < 0 ? "the secret is not base64" :
		    "the secret is shorter than 16 octets";
		return -1;
	}
	memcpy(k->secret, b64, len + 1);
	return 0;
}

int
dns_key_parse(const char *buf, size_t len, struct dns_key *k,
    const char **why)
{
	struct lex lx = { buf, buf + len, "", NULL };
	enum tok t;
	int have_alg = 0, have_secret = 0, rc = -1;

	memset(k, 0, sizeof(*k));
	*why = "not a key statement: key \"NAME\" { algorithm hmac-sha256; "
	    "secret \"...\"; };";
	if (lex_next(&lx) != T_WORD || strcmp(lx.tok, "key") != 0)
		goto out;
	t = lex_next(&lx);
	if ((t != T_WORD && t != T_STRING) || key_name(k, lx.tok, why) == -1)
		goto out;
	if (lex_next(&lx) != T_LBRACE)
		goto out;
	while ((t = lex_next(&lx)) == T_WORD) {
		if (strcmp(lx.tok, "algorithm") == 0 && !have_alg) {
			t = lex_next(&lx);
			if ((t != T_WORD && t != T_STRING) ||
			    key_alg(k, lx.tok, why) == -1)
				goto out;
			have_alg = 1;
		} else if (strcmp(lx.tok, "secret") == 0 && !have_secret) {
			t = lex_next(&lx);
			if (t != T_STRING || key_secret(k, lx.tok, why) == -1)
				goto out;
			have_secret = 1;
		} else {
			*why = "a statement other than one algorithm and one "
			    "secret in the key";
			goto out;
		}
		if (lex_next(&lx) != T_SEMI)
			goto out;
	}
	if (t != T_RBRACE || lex_next(&lx) != T_SEMI)
		goto out;
	if (!have_alg || !have_secret) {
		*why = have_alg ? "no secret" : "no algorithm";
		goto out;
	}
	if ((t = lex_next(&lx)) != T_EOF) {
		*why = "more than one key statement (give each zone its own "
		    "file)";
		goto out;
	}
	rc = 0;
out:
	if (rc == -1 && lx.why != NULL)
		*why = lx.why;
	OPENSSL_cleanse(lx.tok, sizeof(lx.tok));
	if (rc == -1)
		dns_key_clear(k);
	return rc;
}

int
dns_key_load(const char *path, const char *what, struct dns_key *k)
{
	const char *why = NULL;
	char *buf = NULL;
	size_t len = 0;
	int rc = -1;

	if (cfg_secret_read(path, what, &buf, &len) == -1)
		return -1;
	if (dns_key_parse(buf, len, k, &why) == -1)
		log_err("%s: %s: %s", what, path, why);
	else
		rc = 0;
	cfg_secret_free(buf, len);
	return rc;
}

void
dns_key_clear(struct dns_key *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}
