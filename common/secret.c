/*
 * secret.c — read a secret (a password, an HMAC key) from a file that only
 * its owner may read, and cleanse it when done. Secrets never come from the
 * command line or the configuration file itself.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/cfg.h"
#include "common/log.h"

#define SECRET_MAX	65536

int
cfg_secret_read(const char *path, const char *what, char **out, size_t *outlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd = -1, rc = -1;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		log_err("%s: %s: cannot open: %s", what, path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		log_err("%s: %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		log_err("%s: %s: not a regular file", what, path);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		log_err("%s: %s: mode %04o lets group or others read the "
		    "secret; refusing it (chmod 0600 or 0400)", what, path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size > SECRET_MAX) {
		log_err("%s: %s: larger than %d bytes", what, path, SECRET_MAX);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		log_err("%s: %s: out of memory", what, path);
		goto out;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_err("%s: %s: read: %s", what, path,
			    n == 0 ? "short read" : strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (len == 0 || memchr(buf, '\0', len) != NULL) {
		log_err("%s: %s: %s", what, path, len == 0 ? "empty" :
		    "contains a NUL byte");
		goto out;
	}
	*out = buf;
	buf = NULL;
	if (outlen != NULL)
		*outlen = len;
	rc = 0;
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, (size_t)st.st_size + 1);
		free(buf);
	}
	if (fd != -1)
		close(fd);
	return rc;
}

void
cfg_secret_free(char *secret, size_t len)
{
	if (secret == NULL)
		return;
	OPENSSL_cleanse(secret, len);
	free(secret);
}
