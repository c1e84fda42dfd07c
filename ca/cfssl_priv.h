/*
 * cfssl_priv.h — what the cfssl driver's two files share: the driver's
 * state (cfssl.c: enrol, poll, revoke) and its HTTP and JSON exchange with
 * cfssl (cfssl_http.c: the POST, cfssl's envelope, the signed answer).
 */
#ifndef SMIMEPUB_CFSSL_PRIV_H
#define SMIMEPUB_CFSSL_PRIV_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "ca/ca.h"

#define RESP_MAX	(1 << 20)
#define MSG_MAX		400
#define PATH_SIGN	"/api/v1/cfssl/sign"
#define PATH_AUTHSIGN	"/api/v1/cfssl/authsign"
#define PATH_REVOKE	"/api/v1/cfssl/revoke"

struct cfssl {
	char		*url;		/* without a trailing '/' */
	char		*profile;
	char		*signing_profile; /* keys.separate_signing */
	char		*label;
	char		*tls_ca_file;
	unsigned char	*key;		/* HMAC key of /authsign, or NULL */
	size_t		 keylen;
	long		 timeout;
	X509_STORE	*store;
};

struct buf {
	char		*data;
	size_t		 len;
	int		 overflow;
};

/*
 * POST body (JSON) to url + path. 0 when the server answered (the status
 * in *code, the body in *resp), -1 logged naming the URL otherwise. url
 * receives the URL asked.
 */
int	cfssl_post(struct cfssl *c, const char *path, const char *body,
	    long *code, struct buf *resp, char *url, size_t urlsz);
/*
 * Read cfssl's envelope. 0 with *ok = success and *result (borrowed from
 * *root), or *msg (caller frees) holding the first error's code and
 * message when there is one; -1 if the body is not cfssl's JSON.
 */
int	cfssl_envelope(const struct buf *resp, json_t **root, int *ok,
	    json_t **result, char **msg);

#endif
