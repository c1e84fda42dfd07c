/*
 * file.c — the one way smimepub writes a file that matters (keys, CRLs,
 * PKCS#12, escrow): temp file + fsync + rename, see file.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/file.h"
#include "common/log.h"

int
file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX], dircopy[PATH_MAX];
	unsigned char rnd[6];
	const unsigned char *p = data;
	ssize_t n;
	int fd = -1, dfd = -1, rc = -1, made = 0;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp%02x%02x%02x%02x%02x%02x", path,
	    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]) >= (int)sizeof(tmp)) {
		log_err("%s: path too long", path);
		return -1;
	}
	/* created for the owner only, whatever the umask, then given its
	 * mode with fchmod: umask() is process-wide, and changing it here
	 * would race with every other thread creating a file */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode & S_IRWXU);
	if (fd == -1) {
		log_err("%s: cannot create: %s", tmp, strerror(errno));
		goto out;
	}
	made = 1;
	if (fchmod(fd, mode) == -1) {
		log_err("%s: chmod: %s", tmp, strerror(errno));
		goto out;
	}
	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_err("%s: write: %s", tmp, strerror(errno));
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		log_err("%s: fsync: %s", tmp, strerror(errno));
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		log_err("%s: rename to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	made = 0;
	/* the rename itself is durable only once the directory is synced */
	snprintf(dircopy, sizeof(dircopy), "%s", path);
	if ((dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (made)
		unlink(tmp);
	return rc;
}

int
file_mkdirs(const char *dir, mode_t mode)
{
	char buf[PATH_MAX], *p;
	struct stat st;

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf)) {
		log_err("%s: path too long", dir);
		return -1;
	}
	for (p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST) {
			log_err("%s: cannot create: %s", buf, strerror(errno));
			return -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_err("%s: not a directory", dir);
		return -1;
	}
	return 0;
}

int
file_read_all(const char *path, size_t max, unsigned char **out, size_t *len)
{
	unsigned char *buf = NULL;
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd, rc = -1;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_err("%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_err("%s: not a regular file", path);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		log_err("%s: larger than %zu bytes", path, max);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_err("%s: read: %s", path, n == 0 ? "short read" :
			    strerror(errno));
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	buf = NULL;
	*len = got;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}
