/*
 * dir.c — the directory client's connection: connect over ldap://, ldaps://
 * or ldapi:// (optionally StartTLS, never falling back to plain), verify the
 * server certificate always, bind (simple with a password file, SASL
 * EXTERNAL, SASL GSSAPI in dir_sasl.c, or anonymous), and reconnect with
 * backoff when the server went away; read the root DSE (assertion control,
 * highestCommittedUSN for change watching on AD). Reading people is in
 * dir_search.c, publishing in dir_publish.c, DirSync in dir_dirsync.c,
 * escaping in dir_escape.c, the OpenLDAP/AD table in flavour.c.
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

#define DIR_RECONNECT_TRIES	3
#define DIR_BACKOFF_MS		200
#define DIR_OID_ASSERT		"1.3.6.1.1.12"	/* RFC 4528 */

int
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
	d->attr_id = d->fl->attr_id;
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
	free(d->nc);
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
	    strcasecmp(d->cfg->sasl_mech, "GSSAPI") == 0)
		return dir_bind_gssapi(d, ld, dir_uses_tls(d), err, errsz);
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
dir_connected(const struct dir *d)
{
	return d->ld != NULL;
}

int
dir_try_connect(struct dir *d)
{
	char err[1024];
	int ldrc;

	if (dir_connect_once(d, err, sizeof(err), &ldrc) == -1) {
		log_debug("%s", err[0] != '\0' ? err : "connect failed");
		return -1;
	}
	log_info("%s: reconnected", d->cfg->uri);
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

/* One read of the root DSE's highestCommittedUSN; LDAP result code. */
static int
dir_read_usn(struct dir *d, unsigned long long *usn, int *found)
{
	static char *attrs[] = { "highestCommittedUSN", NULL };
	struct timeval tv = { dir_timeout(d), 0 };
	LDAPMessage *res = NULL, *e;
	struct berval **v = NULL;
	char buf[32], *end;
	int rc;

	*found = 0;
	rc = ldap_search_ext_s(d->ld, "", LDAP_SCOPE_BASE, "(objectClass=*)",
	    attrs, 0, NULL, NULL, &tv, 1, &res);
	if (rc != LDAP_SUCCESS)
		goto out;
	if ((e = ldap_first_entry(d->ld, res)) == NULL ||
	    (v = ldap_get_values_len(d->ld, e, "highestCommittedUSN")) == NULL ||
	    v[0] == NULL)
		goto out;
	if (v[0]->bv_len == 0 || v[0]->bv_len >= sizeof(buf)) {
		rc = LDAP_DECODING_ERROR;
		goto out;
	}
	memcpy(buf, v[0]->bv_val, v[0]->bv_len);
	buf[v[0]->bv_len] = '\0';
	errno = 0;
	*usn = strtoull(buf, &end, 10);
	if (errno != 0 || *end != '\0' || buf[0] < '0' || buf[0] > '9') {
		rc = LDAP_DECODING_ERROR;
		goto out;
	}
	*found = 1;
out:
	ldap_value_free_len(v);
	ldap_msgfree(res);
	return rc;
}

int
dir_highest_usn(struct dir *d, unsigned long long *usn)
{
	int rc, found;

	if (dir_ensure(d) == -1)
		return -1;
	rc = dir_read_usn(d, usn, &found);
	if (dir_conn_lost(rc)) {
		log_warn("%s: connection lost; reconnecting", d->cfg->uri);
		if (dir_reconnect(d) == -1)
			return -1;
		rc = dir_read_usn(d, usn, &found);
	}
	if (rc == LDAP_DECODING_ERROR) {
		log_err("%s: root DSE: highestCommittedUSN is not a number",
		    d->cfg->uri);
		return -1;
	}
	if (rc != LDAP_SUCCESS) {
		dir_log_ldap(d, rc, "read highestCommittedUSN from the root DSE");
		return -1;
	}
	return found ? 0 : 1;
}

int
dir_ensure(struct dir *d)
{
	if (d->ld != NULL)
		return 0;
	return dir_reconnect(d);
}
