/*
 * audit.c — append JSON lines (jansson) to log.audit_file. Each line goes
 * out in one write(2) on an O_APPEND descriptor, so concurrent writers never
 * interleave within a line, and it is fsynced: an audit record is not lost
 * to a crash after the action it records. The fsync is shared: a writer
 * waits for one that started after its write, and starts one itself only if
 * none is under way, so workers that audit at the same moment sync once.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/x509.h>

#include "common/audit.h"
#include "common/log.h"
#include "common/x509.h"

static int		 audit_fd = -1;
static char		*audit_path;
static pthread_mutex_t	 audit_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 audit_cv = PTHREAD_COND_INITIALIZER;
static unsigned long	 audit_written;	/* lines written, under audit_mu */
static unsigned long	 audit_synced;	/* of those, how many are on disk */
static int		 audit_syncing;

/* Return once line number seq is on disk (called with audit_mu held). */
static void
audit_sync(unsigned long seq)
{
	unsigned long target;

	while (audit_synced < seq) {
		if (audit_syncing) {
			pthread_cond_wait(&audit_cv, &audit_mu);
			continue;
		}
		audit_syncing = 1;
		target = audit_written;
		pthread_mutex_unlock(&audit_mu);
		(void)fdatasync(audit_fd);
		pthread_mutex_lock(&audit_mu);
		audit_synced = target;
		audit_syncing = 0;
		pthread_cond_broadcast(&audit_cv);
	}
}

int
audit_open(const char *path)
{
	audit_close();
	if (path == NULL)
		return 0;
	if ((audit_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) == -1) {
		log_err("log.audit_file %s: cannot open: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((audit_path = strdup(path)) == NULL) {
		close(audit_fd);
		audit_fd = -1;
		return -1;
	}
	return 0;
}

void
audit_close(void)
{
	/* not under a writer's shared fsync, which runs unlocked */
	pthread_mutex_lock(&audit_mu);
	while (audit_syncing)
		pthread_cond_wait(&audit_cv, &audit_mu);
	if (audit_fd != -1)
		close(audit_fd);
	audit_fd = -1;
	audit_synced = audit_written;
	free(audit_path);
	audit_path = NULL;
	pthread_mutex_unlock(&audit_mu);
}

int
audit_reopen(const char *path)
{
	char *np = NULL, *op;
	int fd = -1, ofd;

	if (path != NULL && ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0600)) == -1 || (np = strdup(path)) == NULL)) {
		log_err("log.audit_file %s: cannot reopen: %s; still writing "
		    "to the old file", path, fd == -1 ? strerror(errno) :
		    "out of memory");
		if (fd != -1)
			close(fd);
		return -1;
	}
	/* swapped under the lock, not under a writer's shared fsync: a
	 * line is whole in one file or the other */
	pthread_mutex_lock(&audit_mu);
	while (audit_syncing)
		pthread_cond_wait(&audit_cv, &audit_mu);
	ofd = audit_fd;
	op = audit_path;
	audit_fd = fd;
	audit_path = np;
	audit_synced = audit_written;
	pthread_mutex_unlock(&audit_mu);
	if (ofd != -1) {
		(void)fdatasync(ofd);	/* written before, on disk */
		close(ofd);
	}
	free(op);
	return 0;
}

static pthread_once_t	 audit_who_once = PTHREAD_ONCE_INIT;
static char		 audit_host[256] = "unknown";
static char		 audit_user[64] = "unknown";
static char		 audit_sudo[64];
static const char	*audit_actor = "daemon";

void
audit_set_actor(const char *actor)
{
	audit_actor = actor;
}

/* A name fit for the log: [A-Za-z0-9._@-], 1..63 bytes; else "". */
static void
audit_name(char *out, size_t sz, const char *in)
{
	size_t i;

	out[0] = '\0';
	if (in == NULL || strlen(in) == 0 || strlen(in) >= sz)
		return;
	for (i = 0; in[i] != '\0'; i++)
		if (!isalnum((unsigned char)in[i]) && strchr("._@-", in[i]) ==
		    NULL)
			return;
	memcpy(out, in, i + 1);
}

/* The host and the real user, once: they do not change while we run. */
static void
audit_who(void)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (gethostname(buf, sizeof(audit_host)) == 0) {
		buf[sizeof(audit_host) - 1] = '\0';
		memcpy(audit_host, buf, sizeof(audit_host));
	}
	/* the real uid: who ran the command, not what it is set to */
	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL)
		audit_name(audit_user, sizeof(audit_user), pw.pw_name);
	if (audit_user[0] == '\0')
		snprintf(audit_user, sizeof(audit_user), "uid %u",
		    (unsigned)getuid());
	/* sudo: who asked for root; set by sudo, so only believed when the
	 * real user is root (anyone may set it otherwise) */
	if (getuid() == 0)
		audit_name(audit_sudo, sizeof(audit_sudo), getenv("SUDO_USER"));
}

/* The issuer of cert in RFC 4514 form; NULL if none (caller frees). */
static char *
audit_issuer(X509 *cert)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL, *out = NULL;
	long n;

	if (b != NULL && X509_NAME_print_ex(b, X509_get_issuer_name(cert), 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (n = BIO_get_mem_data(b, &p)) >= 0 && (out = malloc((size_t)n +
	    1)) != NULL) {
		memcpy(out, p, (size_t)n);
		out[n] = '\0';
	}
	BIO_free(b);
	return out;
}

static json_t *
audit_str(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
audit_object(const struct audit_rec *a)
{
	char now[32], fp[X509_SHA256_HEX], *serial = NULL, *issuer = NULL;
	struct tm tm;
	time_t t = time(NULL);
	json_t *o;

	if ((o = json_object()) == NULL)
		return NULL;
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(o, "time", json_string(now));
	json_object_set_new(o, "event", json_string(a->event));
	json_object_set_new(o, "person", audit_str(a->person));
	json_object_set_new(o, "mail", audit_str(a->mail));
	if (a->cert != NULL && (serial = x509_serial_hex(a->cert)) != NULL &&
	    x509_sha256_hex(a->cert, fp) == 0) {
		json_object_set_new(o, "serial", json_string(serial));
		json_object_set_new(o, "sha256", json_string(fp));
		issuer = audit_issuer(a->cert);
	} else {
		json_object_set_new(o, "serial", audit_str(a->serial != NULL &&
		    a->serial[0] != '\0' ? a->serial : NULL));
		json_object_set_new(o, "sha256", json_null());
	}
	json_object_set_new(o, "ca", audit_str(a->ca));
	json_object_set_new(o, "outcome", json_string(a->outcome));
	if (a->reason != NULL && *a->reason != '\0')
		json_object_set_new(o, "reason", json_string(a->reason));
	json_object_set_new(o, "issuer", audit_str(issuer));
	json_object_set_new(o, "dn", audit_str(a->dn));
	if (a->leave != NULL)
		json_object_set_new(o, "leave", json_string(a->leave));
	if (a->step != NULL)
		json_object_set_new(o, "step", json_string(a->step));
	json_object_set_new(o, "host", json_string(audit_host));
	json_object_set_new(o, "actor", json_string(audit_actor));
	json_object_set_new(o, "user", json_string(audit_user));
	if (audit_sudo[0] != '\0')
		json_object_set_new(o, "sudo_user", json_string(audit_sudo));
	free(serial);
	free(issuer);
	return o;
}

int
audit_log(const struct audit_rec *a)
{
	char *line = NULL;
	json_t *o = NULL;
	size_t len;
	ssize_t n;
	int rc = -1;

	if (audit_fd == -1)
		return 0;
	(void)pthread_once(&audit_who_once, audit_who);
	if ((o = audit_object(a)) == NULL)
		goto out;
	/* JSON_ENSURE_ASCII: no raw control or non-ASCII byte reaches the file */
	if ((line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII |
	    JSON_PRESERVE_ORDER)) == NULL)
		goto out;
	len = strlen(line);
	line[len++] = '\n';	/* json_dumps leaves room: it NUL-terminates */
	pthread_mutex_lock(&audit_mu);
	n = write(audit_fd, line, len);
	if (n == (ssize_t)len)
		audit_sync(++audit_written);
	else	/* under the lock: audit_reopen() may free audit_path */
		log_err("log.audit_file %s: write: %s", audit_path ?
		    audit_path : "(closed)", n == -1 ? strerror(errno) :
		    "short write");
	pthread_mutex_unlock(&audit_mu);
	if (n != (ssize_t)len)
		goto out;
	rc = 0;
out:
	free(line);
	json_decref(o);
	return rc;
}

int
audit_event_at(const char *event, const char *person, const char *mail,
    X509 *cert, const char *ca, const char *outcome, const char *reason,
    const char *dn, const char *leave)
{
	struct audit_rec a;

	memset(&a, 0, sizeof(a));
	a.event = event;
	a.person = person;
	a.mail = mail;
	a.cert = cert;
	a.ca = ca;
	a.outcome = outcome;
	a.reason = reason;
	a.dn = dn;
	a.leave = leave;
	return audit_log(&a);
}

int
audit_event(const char *event, const char *person, const char *mail,
    X509 *cert, const char *ca, const char *outcome, const char *reason)
{
	return audit_event_at(event, person, mail, cert, ca, outcome, reason,
	    NULL, NULL);
}
