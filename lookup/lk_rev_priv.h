/*
 * lk_rev_priv.h — internal to lookup/lk_revoke.c (cache, fetching, CRLs,
 * the check) and lookup/lk_revoke_ocsp.c (the OCSP client).
 */
#ifndef SMIMEPUB_LK_REV_PRIV_H
#define SMIMEPUB_LK_REV_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <limits.h>
#include <time.h>

#include <openssl/x509.h>

#include "lookup/lk.h"

#define FETCH_MAX	(16 << 20)	/* a CRL of ~300k entries */
#define SLOTS		512		/* answers kept */
#define FAIL_TTL	10		/* seconds a failure is remembered */
/* no nextUpdate: newer information is always there (RFC 6960 §4.2.2.1) */
#define NO_NEXT_TTL	0
#define MAX_TTL		(7 * 86400)
#define SKEW		300		/* RFC 5019 §4: clock leeway */

enum { SRC_CRL, SRC_OCSP };

struct slot {
	char		*key;
	time_t		 until;
	X509_CRL	*crl;		/* SRC_CRL: verified; NULL: failed */
	int		 status;	/* SRC_OCSP: LK_RS_* */
	int		 reason;
	time_t		 rev_time;
};

struct lk_rev {
	int		 mode;		/* LK_REVM_* */
	int		 hard;
	int		 nonce;
	long		 timeout;
	char		*local_crl_url, *local_ocsp_url;
	char		 local_dir[PATH_MAX];
	pthread_mutex_t	 mu;
	struct slot	 slots[SLOTS];
	atomic_ulong	 checks[2][3];	/* source x good/revoked/unavailable */
	atomic_ulong	 revoked[11];	/* RFC 5280 §5.3.1 reasons 0..10 */
	atomic_ulong	 soft;		/* served without an answer */
};

struct buf {
	unsigned char	*p;
	size_t		 len;
};

/* A copy of the current answer under key (a CRL reference taken): 1, or 0. */
int	lk_rev_cache_get(struct lk_rev *, const char *key, time_t now,
	    struct slot *out);
/* Keep s under key (its CRL reference passes to the cache). */
void	lk_rev_cache_put(struct lk_rev *, const char *key, struct slot *s);
/* An ASN1_TIME as time_t; -1 if none or unreadable. */
time_t	lk_rev_asn1_t(const ASN1_TIME *);
/* Until when an answer with this nextUpdate is kept. */
time_t	lk_rev_ttl_until(const ASN1_TIME *next, time_t now);
/* GET url, or POST an OCSP request: 0 with the body, -1 with *why. */
int	lk_rev_fetch(struct lk_rev *, const char *url,
	    const unsigned char *post, size_t plen, struct buf *out, char *why,
	    size_t whysz);
/* OCSP via x's AIA into *a (LK_RS_NONE when it names no responder). */
void	lk_rev_ocsp_check(struct lk_rev *, X509 *x, X509 *issuer,
	    X509_STORE *anchors, time_t now, struct lk_rev_ans *a);

#endif
