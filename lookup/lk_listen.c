/*
 * lk_listen.c — the sockets and files smimepub-lookupd opens before it
 * drops privileges: a listening socket for lookup.listen or
 * lookup.admin_socket (host:port, [v6]:port with IPV6_V6ONLY, or
 * unix:/path with its mode), and the PEM of lookup.tls_cert and
 * lookup.tls_key. Each failure is logged naming the spec or file and the
 * config key.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "lookup/lk.h"

/* A listening socket for spec (host:port, [v6]:port, unix:/path). */
int
lk_listen(const char *spec, const char *key, mode_t mode)
{
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_un sun;
	char host[256], *port;
	int fd = -1, on = 1, rc;

	if (strncmp(spec, "unix:", 5) == 0) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(spec + 5) >= sizeof(sun.sun_path) ||
		    spec[5] != '/') {
			log_err("%s: %s: not an absolute socket path of at most "
			    "%zu bytes", spec, key, sizeof(sun.sun_path) - 1);
			return -1;
		}
		strcpy(sun.sun_path, spec + 5);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			goto syserr;
		(void)unlink(sun.sun_path);
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
		    chmod(sun.sun_path, mode) == -1)
			goto syserr;
	} else {
		if (spec[0] == '[') {
			snprintf(host, sizeof(host), "%s", spec + 1);
			port = strstr(host, "]:");
			if (port != NULL)
				*port++ = '\0';
		} else {
			snprintf(host, sizeof(host), "%s", spec);
			port = strrchr(host, ':');
		}
		if (port == NULL || port == host || port[1] == '\0') {
			log_err("%s: %s: expected host:port, [v6]:port or "
			    "unix:/path", spec, key);
			return -1;
		}
		*port++ = '\0';
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
		if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
			log_err("%s: %s: %s", spec, key, gai_strerror(rc));
			return -1;
		}
		if ((fd = socket(ai->ai_family, ai->ai_socktype |
		    SOCK_CLOEXEC, 0)) == -1)
			goto syserr;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
			    sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
			goto syserr;
		freeaddrinfo(ai);
		ai = NULL;
	}
	if (listen(fd, 1024) == -1 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		goto syserr;
	return fd;
syserr:
	log_err("%s: %s: %s", spec, key, strerror(errno));
	if (ai != NULL)
		freeaddrinfo(ai);
	if (fd != -1)
		close(fd);
	return -1;
}

/* The first 64 KB of a PEM file named by config key, NUL-terminated. */
char *
lk_slurp(const char *path, const char *key)
{
	FILE *fp;
	char *buf = NULL;
	size_t len = 0, n;

	if ((fp = fopen(path, "r")) == NULL) {
		log_err("%s: %s: %s", path, key, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(65537)) != NULL) {
		n = fread(buf, 1, 65536, fp);
		len = n;
		buf[len] = '\0';
	}
	fclose(fp);
	return buf;
}
