/*
 * audit.c — append JSON lines (jansson) to log.audit_file. Each line goes
 * out in one write(2) on an O_APPEND descriptor, so concurrent writers never
 * interleave within a line, and it is fsynced: an audit record is not lost
 * to a crash after the action it records. The fsync is shared: a writer
 * waits for one that started after its write, and starts one itself only if
 * none is under way, so workers that audit at the same moment sync once.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

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
audit_event(const char *event, const char *person, const char *mail,
    X509 *cert, const char *ca, const char *outcome, const char *reason)
{
	char now[32], fp[X509_SHA256_HEX], *serial = NULL, *line = NULL;
	struct tm tm;
	time_t t = time(NULL);
	json_t *o = NULL;
	size_t len;
	ssize_t n;
	int rc = -1;

	if (audit_fd == -1)
		return 0;
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((o = json_object()) == NULL)
		goto out;
	json_object_set_new(o, "time", json_string(now));
	json_object_set_new(o, "event", json_string(event));
	json_object_set_new(o, "person", person ? json_string(person) :
	    json_null());
	json_object_set_new(o, "mail", mail ? json_string(mail) : json_null());
	if (cert != NULL && (serial = x509_serial_hex(cert)) != NULL &&
	    x509_sha256_hex(cert, fp) == 0) {
		json_object_set_new(o, "serial", json_string(serial));
		json_object_set_new(o, "sha256", json_string(fp));
	} else {
		json_object_set_new(o, "serial", json_null());
		json_object_set_new(o, "sha256", json_null());
	}
	json_object_set_new(o, "ca", ca ? json_string(ca) : json_null());
	json_object_set_new(o, "outcome", json_string(outcome));
	if (reason != NULL && *reason != '\0')
		json_object_set_new(o, "reason", json_string(reason));
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
	pthread_mutex_unlock(&audit_mu);
	if (n != (ssize_t)len) {
		log_err("log.audit_file %s: write: %s", audit_path,
		    n == -1 ? strerror(errno) : "short write");
		goto out;
	}
	rc = 0;
out:
	free(line);
	free(serial);
	json_decref(o);
	return rc;
}
