/*
 * metrics_http.c — the HTTP side of smimepub-sync's metrics: one
 * libmicrohttpd thread on sync.metrics_listen ("host:port" or
 * "[v6]:port"), answering GET /metrics (and HEAD) with the text of
 * met_render(), 404 elsewhere, 405 for other methods (with Allow, RFC 9110
 * section 15.5.6). Only the operator's scraper is meant to reach it:
 * nothing in it is secret, but bind it to loopback or a management network.
 */
#include <sys/socket.h>

#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "common/log.h"
#include "sync/metrics.h"

/* exposition format 0.0.4, the one Prometheus always accepts */
#define MET_CTYPE	"text/plain; version=0.0.4; charset=utf-8"

static struct MHD_Daemon *met_d;

static enum MHD_Result
met_reply(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text,
	    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, "Allow", "GET, HEAD");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
met_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **con_cls)
{
	struct MHD_Response *r;
	enum MHD_Result rc;
	char *body;
	size_t len;

	(void)cls;
	(void)version;
	(void)upload;
	if (*con_cls == NULL) {		/* headers only: answer next call */
		*con_cls = c;
		return MHD_YES;
	}
	if (*upload_len != 0) {
		*upload_len = 0;	/* a body is read and ignored */
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") != 0)
		return met_reply(c, MHD_HTTP_NOT_FOUND, "not found\n");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return met_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "GET /metrics only\n");
	if ((body = met_render(&len)) == NULL)
		return met_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "out of memory\n");
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", MET_CTYPE);
	rc = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

static void
met_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_warn("sync.metrics_listen: %s", buf);
}

/* "host:port" or "[v6]:port" into host and port; -1 if it is neither. */
static int
met_split(const char *spec, char *host, size_t hsz, char *port, size_t psz)
{
	const char *colon, *h = spec, *end;
	size_t n;

	if (spec[0] == '[') {
		if ((end = strchr(spec, ']')) == NULL || end[1] != ':')
			return -1;
		h = spec + 1;
		colon = end + 1;
	} else if ((colon = end = strrchr(spec, ':')) == NULL)
		return -1;
	n = (size_t)(end - h);
	if (n == 0 || n >= hsz || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= psz ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

int
met_start(const char *listen)
{
	struct addrinfo hints, *ai = NULL;
	char host[256], port[8];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	int e;

	met_stop();
	if (listen == NULL)
		return 0;
	if (met_split(listen, host, sizeof(host), port, sizeof(port)) == -1 ||
	    atoi(port) < 1 || atoi(port) > 65535) {
		log_err("sync.metrics_listen \"%s\": not host:port or "
		    "[v6]:port", listen);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(host, port, &hints, &ai)) != 0) {
		log_err("sync.metrics_listen %s: %s", listen, gai_strerror(e));
		return -1;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	met_d = MHD_start_daemon(flags, (uint16_t)atoi(port), NULL, NULL,
	    met_access, NULL,
	    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_CONNECTION_LIMIT, 16u,
	    MHD_OPTION_CONNECTION_TIMEOUT, 10u,
	    MHD_OPTION_EXTERNAL_LOGGER, met_mhd_log, NULL,
	    MHD_OPTION_END);
	freeaddrinfo(ai);
	if (met_d == NULL) {
		log_err("sync.metrics_listen %s: cannot listen (in use?)",
		    listen);
		return -1;
	}
	log_info("metrics on http://%s/metrics", listen);
	return 0;
}

void
met_stop(void)
{
	if (met_d != NULL)
		MHD_stop_daemon(met_d);
	met_d = NULL;
}
