/*
 * dir.c — the directory client's connection and reading side: connect over
 * ldap://, ldaps:// or ldapi:// (optionally StartTLS, never falling back to
 * plain), verify the server certificate always, bind (simple with a password
 * file, SASL EXTERNAL, or anonymous), reconnect with backoff when the server
 * went away, page through the people (RFC 2696) one entry at a time, and
 * find one person by mail. Publishing is in dir_publish.c, escaping in
 * dir_escape.c, the OpenLDAP/AD table in flavour.c.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <lber.h>
#include <ldap.h>

#include "common/cfg.h"
#include "common/log.h"
#include "ldap/dir.h"
#include "ldap/dir_priv.h"

#define DIR_DEFAULT_PAGE	500
#define DIR_RECONNECT_TRIES	3
#define DIR_BACKOFF_MS		200
#define DIR_OID_ASSERT		"1.3.6.1.1.12"	/* RFC 4528 */

/* Status of one search attempt, beyond 0 (done). */
#define SRCH_ERR	(-1)	/* failed, logged */
#define SRCH_LOST	(-2)	/* connection lost before any entry: retry */

static int
dir_timeout(const struct dir *d)
{
	return d->cfg->timeout > 0 ? d->cfg->timeout : 10;
}

int
dir_conn_lost(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR;
}

/* "ERR2STRING (DIAGNOSTIC)" of the handle's last error into buf. */
static void
dir_err_text(LDAP *ld, int rc, char *buf, size_t sz)
{
	char *diag = NULL;

	if (ld != NULL)
		(void)ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	if (diag != NULL && diag[0] != '\0')
		snprintf(buf, sz, "%s (%s)", ldap_err2string(rc), diag);
	else
		snprintf(buf, sz, "%s", ldap_err2string(rc));
	ldap_memfree(diag);
}

void
dir_log_ldap(struct dir *d, int rc, const char *fmt, ...)
{
	char what[512], err[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	dir_err_text(d->ld, rc, err, sizeof(err));
	log_err("%s: %s: %s", d->cfg->uri, what, err);
}

struct dir *
dir_new(const struct cfg_directory *cfg)
{
	struct dir *d;

	if (cfg == NULL || cfg->uri == NULL || cfg->base == NULL) {
		log_err("directory: uri and base are required");
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		log_err("directory: out of memory");
		return NULL;
	}
	d->cfg = cfg;
	d->fl = dir_flavour_get(cfg->flavour);
	return d;
}

static void
dir_drop(struct dir *d)
{
	if (d->ld != NULL)
		(void)ldap_unbind_ext_s(d->ld, NULL, NULL);
	d->ld = NULL;
}

void
dir_free(struct dir *d)
{
	if (d == NULL)
		return;
	dir_drop(d);
	free(d);
}

static int
dir_uses_tls(const struct dir *d)
{
	return d->cfg->starttls || strncasecmp(d->cfg->uri, "ldaps://", 8) == 0;
}

/* Set the options on the handle (never the global ones); err on failure. */
static int
dir_set_options(struct dir *d, LDAP *ld, char *err, size_t errsz)
{
	struct timeval tv = { dir_timeout(d), 0 };
	int ver = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
	const char *what;

#define SETOPT(opt, val, name) do {					\
	if (ldap_set_option(ld, (opt), (val)) != LDAP_OPT_SUCCESS) {	\
		what = (name);						\
		goto fail;						\
	}								\
} while (0)
	SETOPT(LDAP_OPT_PROTOCOL_VERSION, &ver, "protocol version 3");
	SETOPT(LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "referrals off");
	SETOPT(LDAP_OPT_NETWORK_TIMEOUT, &tv, "network timeout");
	SETOPT(LDAP_OPT_TIMEOUT, &tv, "timeout");
	/* Always verify: a missing or wrong CA is an error, never ignored. */
	SETOPT(LDAP_OPT_X_TLS_REQUIRE_CERT, &demand, "TLS require certificate");
	if (d->cfg->tls_ca_file != NULL)
		SETOPT(LDAP_OPT_X_TLS_CACERTFILE, d->cfg->tls_ca_file,
		    "tls_ca_file");
	if (d->cfg->tls_cert_file != NULL)
		SETOPT(LDAP_OPT_X_TLS_CERTFILE, d->cfg->tls_cert_file,
		    "tls_cert_file");
	if (d->cfg->tls_key_file != NULL)
		SETOPT(LDAP_OPT_X_TLS_KEYFILE, d->cfg->tls_key_file,
		    "tls_key_file");
	/* A TLS context of this handle's own, from the options above. */
	if (dir_uses_tls(d))
		SETOPT(LDAP_OPT_X_TLS_NEWCTX, &zero,
		    "TLS context (tls_ca_file, tls_cert_file, tls_key_file)");
#undef SETOPT
	return 0;
fail:
	snprintf(err, errsz, "%s: cannot set %s", d->cfg->uri, what);
	return -1;
}

static int
dir_bind(struct dir *d, LDAP *ld, char *err, size_t errsz)
{
	struct berval cred = { 0, NULL };
	char *pw = NULL, e[512];
	size_t pwlen = 0;
	int rc;

	if (d->cfg->sasl_mech != NULL &&
	    strcasecmp(d->cfg->sasl_mech, "EXTERNAL") == 0) {
		/* An empty initial response: authorize as authenticated. */
		cred.bv_val = "";
		rc = ldap_sasl_bind_s(ld, NULL, "EXTERNAL", &cred, NULL, NULL,
		    NULL);
		if (rc != LDAP_SUCCESS) {
			dir_err_text(ld, rc, e, sizeof(e));
			snprintf(err, errsz, "%s: SASL EXTERNAL bind: %s",
			    d->cfg->uri, e);
			return rc;
		}
		return 0;
	}
	if (d->cfg->bind_dn != NULL) {
		if (d->cfg->bind_password_file == NULL) {
			snprintf(err, errsz, "%s: bind as %s: "
			    "directory.bind_password_file is not set",
			    d->cfg->uri, d->cfg->bind_dn);
			return -1;
		}
		if (cfg_secret_read(d->cfg->bind_password_file,
		    "directory.bind_password_file", &pw, &pwlen) == -1) {
			err[0] = '\0';	/* cfg_secret_read said why */
			return -1;
		}
		cred.bv_val = pw;
		cred.bv_len = pwlen;
		rc = ldap_sasl_bind_s(ld, d->cfg->bind_dn, LDAP_SASL_SIMPLE,
		    &cred, NULL, NULL, NULL);
		cfg_secret_free(pw, pwlen);
		if (rc != LDAP_SUCCESS) {
			dir_err_text(ld, rc, e, sizeof(e));
			snprintf(err, errsz, "%s: bind as %s: %s", d->cfg->uri,
			    d->cfg->bind_dn, e);
			return rc;
		}
		return 0;
	}
	rc = ldap_sasl_bind_s(ld, NULL, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
	    NULL);
	if (rc != LDAP_SUCCESS) {
		dir_err_text(ld, rc, e, sizeof(e));
		snprintf(err, errsz, "%s: anonymous bind: %s", d->cfg->uri, e);
		return rc;
	}
	return 0;
}

/* Does the root DSE list the assertion control? Failure just means no. */
static int
dir_probe_assert(LDAP *ld)
{
	static char *attrs[] = { "supportedControl", NULL };
	struct timeval tv = { 10, 0 };
	LDAPMessage *res = NULL, *e;
	struct berval **v = NULL;
	int found = 0, i;

	if (ldap_search_ext_s(ld, "", LDAP_SCOPE_BASE, "(objectClass=*)",
	    attrs, 0, NULL, NULL, &tv, 1, &res) != LDAP_SUCCESS)
		goto out;
	if ((e = ldap_first_entry(ld, res)) == NULL)
		goto out;
	if ((v = ldap_get_values_len(ld, e, "supportedControl")) == NULL)
		goto out;
	for (i = 0; v[i] != NULL; i++)
		if (v[i]->bv_len == strlen(DIR_OID_ASSERT) &&
		    memcmp(v[i]->bv_val, DIR_OID_ASSERT, v[i]->bv_len) == 0)
			found = 1;
out:
	ldap_value_free_len(v);
	ldap_msgfree(res);
	return found;
}

/*
 * Can a plain TCP connection reach the URI's host and port? GnuTLS-based
 * libldap reports a failed certificate verification only as "Can't contact
 * LDAP server" with no diagnostic, so this tells a TLS failure from a dead
 * server. Nothing is sent.
 */
static int
tcp_reachable(const char *uri, int timeout)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv = { timeout, 0 };
	LDAPURLDesc *lud = NULL;
	char port[16];
	int fd, ok = 0;

	if (ldap_url_parse(uri, &lud) != LDAP_URL_SUCCESS ||
	    lud->lud_host == NULL || lud->lud_host[0] == '\0')
		goto out;
	snprintf(port, sizeof(port), "%d", lud->lud_port != 0 ? lud->lud_port :
	    strcasecmp(lud->lud_scheme, "ldaps") == 0 ? 636 : 389);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(lud->lud_host, port, &hints, &res) != 0)
		goto out;
	for (ai = res; ai != NULL && !ok; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		ok = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
		close(fd);
	}
out:
	if (res != NULL)
		freeaddrinfo(res);
	ldap_free_urldesc(lud);
	return ok;
}

/* The reason of a failed TLS handshake, in words an operator can act on. */
static void
tls_failure(struct dir *d, const char *step, int rc, char *err, size_t errsz)
{
	snprintf(err, errsz, "%s: %s: TLS: certificate verify failed "
	    "(hostname/CA): the server's certificate is not trusted by %s%s or "
	    "does not name the host of the URI (%s)", d->cfg->uri, step,
	    d->cfg->tls_ca_file != NULL ? "tls_ca_file " :
	    "the system's CA store", d->cfg->tls_ca_file != NULL ?
	    d->cfg->tls_ca_file : "", ldap_err2string(rc));
}

/* One connection attempt; on failure err says why (not logged here). */
static int
dir_connect_once(struct dir *d, char *err, size_t errsz, int *ldrc)
{
	LDAP *ld = NULL;
	char e[512];
	int rc;

	*ldrc = LDAP_SUCCESS;
	dir_drop(d);
	if ((rc = ldap_initialize(&ld, d->cfg->uri)) != LDAP_SUCCESS) {
		snprintf(err, errsz, "%s: %s", d->cfg->uri,
		    ldap_err2string(rc));
		return -1;
	}
	if (dir_set_options(d, ld, err, errsz) == -1)
		goto fail;
	if (d->cfg->starttls) {
		if ((rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
			*ldrc = rc;
			/* The server answered the StartTLS request: a
			 * connect error now is the handshake. */
			if (rc == LDAP_CONNECT_ERROR)
				tls_failure(d, "StartTLS", rc, err, errsz);
			else {
				dir_err_text(ld, rc, e, sizeof(e));
				snprintf(err, errsz, "%s: StartTLS: %s",
				    d->cfg->uri, e);
			}
			goto fail;
		}
	} else if ((rc = ldap_connect(ld)) != LDAP_SUCCESS) {
		*ldrc = rc;
		if (dir_uses_tls(d) && dir_conn_lost(rc) &&
		    tcp_reachable(d->cfg->uri, dir_timeout(d)))
			tls_failure(d, "connect", rc, err, errsz);
		else {
			dir_err_text(ld, rc, e, sizeof(e));
			snprintf(err, errsz, "%s: connect: %s", d->cfg->uri, e);
		}
		goto fail;
	}
	if ((rc = dir_bind(d, ld, err, errsz)) != 0) {
		*ldrc = rc;
		goto fail;
	}
	d->has_assert = dir_probe_assert(ld);
	d->ld = ld;
	return 0;
fail:
	(void)ldap_unbind_ext_s(ld, NULL, NULL);
	return -1;
}

int
dir_connect(struct dir *d)
{
	char err[1024];
	int ldrc;

	if (dir_connect_once(d, err, sizeof(err), &ldrc) == -1) {
		if (err[0] != '\0')
			log_err("%s", err);
		return -1;
	}
	log_debug("%s: connected (%s)", d->cfg->uri,
	    d->has_assert ? "assertion control" : "no assertion control");
	return 0;
}

int
dir_reconnect(struct dir *d)
{
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)d;
	struct timespec ts;
	char err[1024] = "";
	long ms = DIR_BACKOFF_MS;
	int i, ldrc;

	dir_drop(d);
	for (i = 0; i < DIR_RECONNECT_TRIES; i++) {
		/* Doubling backoff with up to 50% jitter. */
		ts.tv_sec = 0;
		ts.tv_nsec = (ms + rand_r(&seed) % (ms / 2 + 1)) * 1000000L;
		while (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
		if (dir_connect_once(d, err, sizeof(err), &ldrc) == 0) {
			log_info("%s: reconnected", d->cfg->uri);
			return 0;
		}
		log_debug("reconnect attempt %d: %s", i + 1, err);
		/* A refused bind or TLS setup will not heal by waiting. */
		if (ldrc != LDAP_SUCCESS && !dir_conn_lost(ldrc))
			break;
		ms *= 2;
	}
	if (err[0] != '\0')
		log_err("%s", err);
	return -1;
}

/* Make sure there is a connection (after a failed reconnect there is not). */
static int
dir_ensure(struct dir *d)
{
	if (d->ld != NULL)
		return 0;
	return dir_reconnect(d);
}

void
dir_person_free(struct dir_person *p)
{
	size_t i;

	if (p == NULL)
		return;
	free(p->dn);
	free(p->id);
	free(p->mail);
	free(p->display_name);
	for (i = 0; i < p->n_usercert; i++)
		free(p->usercert[i].data);
	free(p->usercert);
	for (i = 0; i < p->n_smime; i++)
		free(p->smime[i].data);
	free(p->smime);
	free(p);
}

static char *
bv_strdup(const struct berval *bv)
{
	char *s;

	if ((s = malloc(bv->bv_len + 1)) == NULL)
		return NULL;
	memcpy(s, bv->bv_val, bv->bv_len);
	s[bv->bv_len] = '\0';
	return s;
}

/* First value of attr as a string; *out NULL if absent. -1 on ENOMEM. */
static int
first_str(LDAP *ld, LDAPMessage *e, const char *attr, char **out)
{
	struct berval **v;
	int rc = 0;

	*out = NULL;
	if ((v = ldap_get_values_len(ld, e, attr)) == NULL)
		return 0;
	if (v[0] != NULL && (*out = bv_strdup(v[0])) == NULL)
		rc = -1;
	ldap_value_free_len(v);
	return rc;
}

/* Every value of attr, in order. -1 on ENOMEM. */
static int
all_vals(LDAP *ld, LDAPMessage *e, const char *attr, struct dir_val **out,
    size_t *n)
{
	struct berval **v;
	size_t i, cnt;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if ((v = ldap_get_values_len(ld, e, attr)) == NULL)
		return 0;
	cnt = (size_t)ldap_count_values_len(v);
	if (cnt == 0) {
		rc = 0;
		goto out;
	}
	if ((*out = calloc(cnt, sizeof(**out))) == NULL)
		goto out;
	for (i = 0; i < cnt; i++) {
		if (((*out)[i].data = malloc(v[i]->bv_len ? v[i]->bv_len : 1))
		    == NULL)
			goto out;
		memcpy((*out)[i].data, v[i]->bv_val, v[i]->bv_len);
		(*out)[i].len = v[i]->bv_len;
		*n = i + 1;
	}
	rc = 0;
out:
	ldap_value_free_len(v);
	return rc;
}

/* objectGUID: 16 bytes, the first three groups little-endian (as AD shows). */
static char *
guid_str(const struct berval *bv)
{
	static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6,
	    8, 9, 10, 11, 12, 13, 14, 15 };
	const unsigned char *b = (const unsigned char *)bv->bv_val;
	char *s, *w;
	int i;

	if (bv->bv_len != 16 || (s = malloc(37)) == NULL)
		return NULL;
	w = s;
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*w++ = '-';
		w += sprintf(w, "%02x", b[order[i]]);
	}
	return s;
}

/* Build a person from one entry; *guard gets the guard value (may be NULL). */
static int
person_from_entry(struct dir *d, LDAPMessage *e, struct dir_person **out,
    char **guard)
{
	const struct dir_flavour *fl = d->fl;
	const char *mailattr = d->cfg->mail_attribute != NULL ?
	    d->cfg->mail_attribute : "mail";
	struct dir_person *p;
	struct berval **v = NULL;
	char *dn = NULL, *s = NULL;
	int rc = -1;

	*out = NULL;
	if (guard != NULL)
		*guard = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto nomem;
	if ((dn = ldap_get_dn(d->ld, e)) == NULL ||
	    (p->dn = strdup(dn)) == NULL)
		goto nomem;
	if ((v = ldap_get_values_len(d->ld, e, fl->attr_id)) == NULL ||
	    v[0] == NULL) {
		log_err("%s: %s: no %s (is it readable by the bind identity?)",
		    d->cfg->uri, p->dn, fl->attr_id);
		goto out;
	}
	if (fl->id_is_binary) {
		if ((p->id = guid_str(v[0])) == NULL) {
			log_err("%s: %s: %s is not 16 bytes", d->cfg->uri,
			    p->dn, fl->attr_id);
			goto out;
		}
	} else if ((p->id = bv_strdup(v[0])) == NULL)
		goto nomem;
	if (first_str(d->ld, e, mailattr, &p->mail) == -1 ||
	    first_str(d->ld, e, "displayName", &p->display_name) == -1)
		goto nomem;
	if (p->display_name == NULL &&
	    first_str(d->ld, e, "cn", &p->display_name) == -1)
		goto nomem;
	if (fl->attr_disabled != NULL) {
		if (first_str(d->ld, e, fl->attr_disabled, &s) == -1)
			goto nomem;
		if (s != NULL)
			p->disabled = (strtoul(s, NULL, 10) &
			    fl->disabled_bit) != 0;
	}
	if (all_vals(d->ld, e, fl->attr_usercert, &p->usercert,
	    &p->n_usercert) == -1 ||
	    all_vals(d->ld, e, fl->attr_smime, &p->smime, &p->n_smime) == -1)
		goto nomem;
	if (guard != NULL && first_str(d->ld, e, fl->attr_guard, guard) == -1)
		goto nomem;
	*out = p;
	p = NULL;
	rc = 0;
	goto out;
nomem:
	log_err("%s: out of memory reading an entry", d->cfg->uri);
out:
	ldap_value_free_len(v);
	ldap_memfree(dn);
	free(s);
	dir_person_free(p);
	return rc;
}

/* What one search asks for: every attribute a dir_person holds. */
static void
dir_attrs(struct dir *d, char *attrs[10])
{
	const struct dir_flavour *fl = d->fl;
	int n = 0;

	attrs[n++] = (char *)(d->cfg->mail_attribute != NULL ?
	    d->cfg->mail_attribute : "mail");
	attrs[n++] = "displayName";
	attrs[n++] = "cn";
	attrs[n++] = (char *)fl->attr_id;
	attrs[n++] = (char *)fl->attr_usercert;
	attrs[n++] = (char *)fl->attr_smime;
	attrs[n++] = (char *)fl->attr_guard;
	if (fl->attr_disabled != NULL)
		attrs[n++] = (char *)fl->attr_disabled;
	attrs[n] = NULL;
}

typedef int (*entry_fn)(struct dir *, LDAPMessage *, void *);

/*
 * One search of filter under base (paged with page > 0), calling fn for
 * each entry. *delivered counts entries handed to fn. Returns 0,
 * SRCH_ERR (logged) or SRCH_LOST (nothing delivered, not logged).
 * A sizelimit of 0 means none; LDAP_SIZELIMIT_EXCEEDED is not an error
 * (*sizelimit_hit says it happened).
 */
static int
dir_search_once(struct dir *d, const char *filter, int page, int sizelimit,
    entry_fn fn, void *arg, size_t *delivered, int *sizelimit_hit)
{
	struct timeval tv = { dir_timeout(d), 0 };
	struct berval cookie = { 0, NULL };
	LDAPControl *pctrl = NULL, *ctrls[2] = { NULL, NULL }, **sctrls = NULL;
	LDAPControl *resp;
	LDAPMessage *msg = NULL;
	char *attrs[10], *diag = NULL;
	ber_int_t count;
	int msgid = -1, rc, err, ret = SRCH_ERR, more;

	dir_attrs(d, attrs);
	if (sizelimit_hit != NULL)
		*sizelimit_hit = 0;
	do {
		more = 0;
		if (page > 0) {
			rc = ldap_create_page_control(d->ld, (ber_int_t)page,
			    cookie.bv_val != NULL ? &cookie : NULL, 1, &pctrl);
			if (rc != LDAP_SUCCESS) {
				dir_log_ldap(d, rc, "paged results control");
				goto out;
			}
			ctrls[0] = pctrl;
		}
		rc = ldap_search_ext(d->ld, d->cfg->base, LDAP_SCOPE_SUBTREE,
		    filter, attrs, 0, page > 0 ? ctrls : NULL, NULL, &tv,
		    sizelimit, &msgid);
		ldap_control_free(pctrl);
		pctrl = NULL;
		if (rc != LDAP_SUCCESS)
			goto ldap_failed;
		for (;;) {
			rc = ldap_result(d->ld, msgid, LDAP_MSG_ONE, &tv, &msg);
			if (rc == 0) {
				log_err("%s: search %s under %s: no answer "
				    "within %d s", d->cfg->uri, filter,
				    d->cfg->base, dir_timeout(d));
				(void)ldap_abandon_ext(d->ld, msgid, NULL,
				    NULL);
				goto out;
			}
			if (rc == -1) {
				(void)ldap_get_option(d->ld,
				    LDAP_OPT_RESULT_CODE, &rc);
				goto ldap_failed;
			}
			if (rc == LDAP_RES_SEARCH_ENTRY) {
				if (fn(d, msg, arg) == -1) {
					(void)ldap_abandon_ext(d->ld, msgid,
					    NULL, NULL);
					goto out;
				}
				(*delivered)++;
			} else if (rc == LDAP_RES_SEARCH_RESULT)
				break;
			/* References: referrals are off; ignore them. */
			ldap_msgfree(msg);
			msg = NULL;
		}
		rc = ldap_parse_result(d->ld, msg, &err, NULL, &diag, NULL,
		    &sctrls, 0);
		if (rc != LDAP_SUCCESS)
			goto ldap_failed;
		if (err == LDAP_SIZELIMIT_EXCEEDED && sizelimit > 0 &&
		    sizelimit_hit != NULL)
			*sizelimit_hit = 1;
		else if (err != LDAP_SUCCESS) {
			rc = err;
			goto ldap_failed;
		}
		if (page > 0) {
			ber_memfree(cookie.bv_val);
			cookie.bv_val = NULL;
			cookie.bv_len = 0;
			resp = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS,
			    sctrls, NULL);
			if (resp != NULL && ldap_parse_pageresponse_control(
			    d->ld, resp, &count, &cookie) == LDAP_SUCCESS &&
			    cookie.bv_len > 0)
				more = 1;
		}
		ldap_controls_free(sctrls);
		sctrls = NULL;
		ldap_memfree(diag);
		diag = NULL;
		ldap_msgfree(msg);
		msg = NULL;
	} while (more);
	ret = 0;
	goto out;
ldap_failed:
	if (dir_conn_lost(rc) && *delivered == 0) {
		ret = SRCH_LOST;
		goto out;
	}
	if (diag != NULL && diag[0] != '\0')
		log_err("%s: search %s under %s: %s (%s)", d->cfg->uri, filter,
		    d->cfg->base, ldap_err2string(rc), diag);
	else
		dir_log_ldap(d, rc, "search %s under %s", filter,
		    d->cfg->base);
out:
	ber_memfree(cookie.bv_val);
	ldap_control_free(pctrl);
	ldap_controls_free(sctrls);
	ldap_memfree(diag);
	ldap_msgfree(msg);
	return ret;
}

/* Search, reconnecting and retrying once if the server went away first. */
static int
dir_search(struct dir *d, const char *filter, int page, int sizelimit,
    entry_fn fn, void *arg, int *sizelimit_hit)
{
	size_t delivered = 0;
	int rc;

	if (dir_ensure(d) == -1)
		return -1;
	rc = dir_search_once(d, filter, page, sizelimit, fn, arg, &delivered,
	    sizelimit_hit);
	if (rc == SRCH_LOST) {
		log_warn("%s: connection lost; reconnecting", d->cfg->uri);
		if (dir_reconnect(d) == -1)
			return -1;
		rc = dir_search_once(d, filter, page, sizelimit, fn, arg,
		    &delivered, sizelimit_hit);
		if (rc == SRCH_LOST) {
			log_err("%s: search %s: connection lost again",
			    d->cfg->uri, filter);
			rc = -1;
		}
	}
	return rc == 0 ? 0 : -1;
}

struct people_arg {
	dir_person_cb	 cb;
	void		*arg;
};

static int
people_entry(struct dir *d, LDAPMessage *e, void *arg)
{
	struct people_arg *pa = arg;
	struct dir_person *p = NULL;
	int rc;

	if (person_from_entry(d, e, &p, NULL) == -1)
		return -1;
	rc = pa->cb(p, pa->arg);
	dir_person_free(p);
	return rc == -1 ? -1 : 0;
}

int
dir_search_people(struct dir *d, const char *filter, dir_person_cb cb,
    void *arg)
{
	struct people_arg pa = { cb, arg };
	int page;

	if (filter == NULL)
		filter = d->cfg->filter != NULL ? d->cfg->filter :
		    d->fl->default_filter;
	page = d->cfg->page_size > 0 ? d->cfg->page_size : DIR_DEFAULT_PAGE;
	if (page > d->fl->max_page)
		page = d->fl->max_page;
	return dir_search(d, filter, page, 0, people_entry, &pa, NULL);
}

struct find_arg {
	struct dir_person *p[2];
	char		*guard;
	size_t		 n;
};

static int
find_entry(struct dir *d, LDAPMessage *e, void *arg)
{
	struct find_arg *fa = arg;
	struct dir_person *p = NULL;
	char *g = NULL;

	if (fa->n >= 2)
		return 0;	/* a size limit of 2 makes this impossible */
	if (person_from_entry(d, e, &p, fa->n == 0 ? &g : NULL) == -1)
		return -1;
	fa->p[fa->n++] = p;
	if (g != NULL)
		fa->guard = g;
	return 0;
}

int
dir_find_guarded(struct dir *d, const char *addr, struct dir_person **out,
    char **guard)
{
	struct find_arg fa = { { NULL, NULL }, NULL, 0 };
	const char *mailattr = d->cfg->mail_attribute != NULL ?
	    d->cfg->mail_attribute : "mail";
	const char *base = d->cfg->filter != NULL ? d->cfg->filter :
	    d->fl->default_filter;
	char *esc = NULL, *filter = NULL;
	int rc = -1, hit = 0;

	*out = NULL;
	if (guard != NULL)
		*guard = NULL;
	if ((esc = dir_filter_escape(addr, strlen(addr))) == NULL ||
	    asprintf(&filter, "(&%s(%s=%s))", base, mailattr, esc) == -1) {
		filter = NULL;
		log_err("%s: out of memory", addr);
		goto out;
	}
	if (dir_search(d, filter, 0, 2, find_entry, &fa, &hit) == -1)
		goto out;
	if (fa.n == 0) {
		log_err("%s: no entry with %s=%s under %s", d->cfg->uri,
		    mailattr, addr, d->cfg->base);
		goto out;
	}
	if (fa.n > 1) {
		log_err("%s: %s %s=%s under %s: %s and %s; publishing to "
		    "neither", d->cfg->uri, hit ? "more than two entries with" :
		    "two entries with", mailattr, addr, d->cfg->base,
		    fa.p[0]->dn, fa.p[1]->dn);
		goto out;
	}
	*out = fa.p[0];
	fa.p[0] = NULL;
	if (guard != NULL) {
		*guard = fa.guard;
		fa.guard = NULL;
	}
	rc = 0;
out:
	dir_person_free(fa.p[0]);
	dir_person_free(fa.p[1]);
	free(fa.guard);
	free(esc);
	free(filter);
	return rc;
}

int
dir_find_by_mail(struct dir *d, const char *addr, struct dir_person **out)
{
	return dir_find_guarded(d, addr, out, NULL);
}
