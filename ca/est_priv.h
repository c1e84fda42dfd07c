/*
 * est_priv.h — what the EST driver's two files share: est.c (the driver:
 * enrol, poll, trust, RFC 7030's message formats) and est_http.c (one
 * bounded HTTPS request through libcurl).
 */
#ifndef SMIMEPUB_EST_PRIV_H
#define SMIMEPUB_EST_PRIV_H

#include <stddef.h>

#include <openssl/x509.h>

#include "common/cfg.h"

#define EST_MAX_ANSWER	(1 << 20)	/* bytes of any answer */
#define EST_RETRY_DFLT	60		/* seconds, when no Retry-After */
#define EST_RETRY_MAX	(7 * 86400)
#define EST_REASON_MAX	200		/* characters of a rejection text */

struct est {
	const struct cfg_ca_est	*c;
	char			*base;	/* ca.est.url without trailing '/' */
	char			*pass;	/* HTTP Basic password, cleansed */
	size_t			 passlen;
	X509_STORE		*store;	/* anchors, NULL until known */
	STACK_OF(X509)		*extra;	/* /cacerts intermediates */
};

struct est_buf {
	unsigned char	*data;
	size_t		 len;
	int		 toobig;
};

struct est_answer {
	long		 status;	/* HTTP status */
	char		*ctype;		/* Content-Type, lower case */
	long		 retry;		/* Retry-After in seconds, -1 none */
	struct est_buf	 body;
};

/*
 * One HTTPS request to {base}/{op}: a GET when body is NULL, else a POST of
 * body as application/pkcs10. 0 with the answer read (any status), -1
 * logged when there is no HTTP answer (connection, TLS, timeout, size).
 */
int	est_request(struct est *, const char *op, const char *body,
	    struct est_answer *a);
void	est_answer_clear(struct est_answer *);
/*
 * est.c: an answer of /simpleenroll at url into res (issued, pending with
 * body as the poll id, rejected); no I/O, so tests/fuzz/fuzz_est.c feeds it
 * any bytes. 0, or -1 logged.
 */
struct ca_result;
int	est_answer_take(const char *url, const struct est_answer *a,
	    const char *body, X509_REQ *csr, STACK_OF(X509) *extra,
	    struct ca_result *res);

#endif
