/*
 * lk_http.c — the HTTP side of smimepub-lookupd on libmicrohttpd: a thread
 * pool, each thread with its own epoll, on a socket we bind ourselves
 * (host:port, [v6]:port or unix:/path: lk_listen.c) before privileges are
 * dropped; an optional second server on lookup.admin_socket for
 * POST /v1/cache/flush, and a third on lookup.metrics_listen for /metrics
 * (never on the public listener: issue 15) and /healthz. An uncached GET /v1/certs is suspended while a
 * directory worker (lk_work.c) searches, and answered when it resumes.
 *
 * The access handler answers on its SECOND call, as DESIGN.md measured
 * (queueing on the first makes MHD close the connection: about 18k instead
 * of 96k requests/s). The first call only allocates the per-request state,
 * and refuses at once a declared body over lookup.max_body (413). Limits:
 * lookup.max_connections, lookup.max_connections_per_ip (a client's
 * connection beyond it is closed at once and counted in /metrics; by IPv4
 * address or IPv6 /64, unix-socket clients are not capped: lk_conns.c),
 * lookup.timeout,
 * lookup.max_header (MHD's per-connection memory: request line and
 * headers beyond it get 431/414 from MHD). MHD's own timeout counts idle seconds only, so a client that
 * sends a byte a second would hold its connection for hours: the headers
 * of each request and its body must both be in within lookup.timeout (a
 * reaper thread shuts down the socket of a client still sending headers;
 * the access handler drops a body that is late).
 * %00 is never decoded, so no NUL hides the rest of a path or query.
 * HTTPS (lookup.tls_cert): TLS 1.2 and 1.3 with AEAD ciphers and ephemeral
 * key exchange only (LK_TLS_PRIORITIES); the key is read as a secret
 * (owner-only mode, cleansed when freed).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/log.h"
#include "lookup/lk.h"
#include "lookup/lk_mhd.h"

struct lk_srv {
	struct lk_http	*h;
	int		 admin;		/* lookup.admin_socket */
	int		 metrics;	/* lookup.metrics_listen */
};

/*
 * GnuTLS priorities (libmicrohttpd's TLS is GnuTLS): TLS 1.3 and 1.2 only
 * (RFC 8996 deprecates 1.0 and 1.1), AEAD ciphers only (no CBC with its
 * MAC-then-encrypt padding oracles, RFC 7457 section 2.4), no static RSA
 * key exchange (no forward secrecy), as RFC 9325 section 4.2 recommends.
 */
#define LK_TLS_PRIORITIES	"SECURE128:-VERS-ALL:+VERS-TLS1.3:" \
	"+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:" \
	"+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-RSA:-DHE-DSS:%SERVER_PRECEDENCE"

/* One client connection, for the reaper. */
struct lk_track {
	struct lk_track	*prev, *next;
	int		 fd;
	atomic_long	 since_ms;	/* began waiting for request headers */
	atomic_int	 busy;		/* headers in, answer not yet sent */
	struct lk_ip	 ip;		/* counted in h->conns (len > 0) */
	int		 refused;	/* over the per-address cap */
};

struct lk_http {
	struct lk_ctx	*ctx;
	pthread_mutex_t	 tmu;		/* the list of tracks */
	pthread_cond_t	 tcv;
	struct lk_track	 tracks;
	pthread_t	 reaper;
	int		 reaper_on;
	int		 stopping;
	int		 fd, admin_fd, metrics_fd;
	struct MHD_Daemon *d, *admin, *metrics;
	struct lk_srv	 pub, adm, met;
	struct lk_conns	*conns;		/* lookup.max_connections_per_ip */
	struct lk_work	*work;		/* directory workers */
	atomic_int	 inflight;
	char		*cert_pem, *key_pem;
	size_t		 key_len;
};

/* Per request: the body as it arrives; a search on a directory worker. */
struct lk_conn {
	struct lk_job	 job;		/* first: lk_run finds the rest */
	char		*body;
	size_t		 len;
	double		 start;		/* the body must be in by start+timeout */
	struct lk_http	*h;
	struct MHD_Connection *c;	/* suspended while on a worker */
	struct lk_defer	 d;
	struct lk_reply	 rp;		/* the worker's answer */
	int		 done;		/* rp is set: queue it */
	struct sockaddr_storage client;	/* behind trusted proxies */
};

static size_t
lk_mhd_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return lk_unescape(s);
}

static void
lk_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("libmicrohttpd: %s", buf);
}

static long
lk_now_ms(void)
{
	return (long)(lk_monotonic() * 1000);
}

static struct lk_track *
lk_track_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

static void
lk_notify(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct lk_http *h = cls;
	struct lk_track *t = *socket_context;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL || (t = calloc(1, sizeof(*t))) == NULL)
			return;
		t->fd = ci->connect_fd;
		atomic_init(&t->since_ms, lk_now_ms());
		atomic_init(&t->busy, 0);
		ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci != NULL)
			(void)lk_conns_key(ci->client_addr, &t->ip);
		if (lk_conns_open(h->conns, &t->ip) == -1) {
			/* over the cap though the accept policy let it in
			 * (another thread accepted one from the same address
			 * meanwhile): MHD sees the end of it at once */
			t->ip.len = 0;
			t->refused = 1;
			(void)shutdown(t->fd, SHUT_RDWR);
		}
		pthread_mutex_lock(&h->tmu);
		t->next = h->tracks.next;
		t->prev = &h->tracks;
		h->tracks.next->prev = t;
		h->tracks.next = t;
		pthread_mutex_unlock(&h->tmu);
		*socket_context = t;
	} else if (t != NULL) {
		/* before MHD closes the socket: the reaper never sees a
		 * descriptor that another connection may reuse */
		pthread_mutex_lock(&h->tmu);
		t->prev->next = t->next;
		t->next->prev = t->prev;
		pthread_mutex_unlock(&h->tmu);
		if (!t->refused)	/* never counted */
			lk_conns_close(h->conns, &t->ip);
		free(t);
		*socket_context = NULL;
	}
}

/* MHD's accept policy: a client at lookup.max_connections_per_ip, or any
 * client once lookup.max_connections are open, gets its new connection
 * closed before MHD allocates anything for it. */
static enum MHD_Result
lk_accept(void *cls, const struct sockaddr *sa, socklen_t salen)
{
	struct lk_http *h = cls;

	(void)salen;
	return lk_conns_full(h->conns, sa) ? MHD_NO : MHD_YES;
}

/* Every half second: shut down clients whose headers are late. */
static void *
lk_reaper(void *arg)
{
	struct lk_http *h = arg;
	struct lk_track *t;
	struct timespec ts;
	long limit = h->ctx->cfg->lookup.timeout * 1000L, now;

	pthread_mutex_lock(&h->tmu);
	while (!h->stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 500000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&h->tcv, &h->tmu, &ts);
		now = lk_now_ms();
		for (t = h->tracks.next; t != &h->tracks; t = t->next)
			if (!atomic_load(&t->busy) &&
			    now - atomic_load(&t->since_ms) > limit) {
				(void)shutdown(t->fd, SHUT_RDWR);
				atomic_store(&t->since_ms, LONG_MAX / 2);
			}
	}
	pthread_mutex_unlock(&h->tmu);
	return NULL;
}

/* On a directory worker (or, once they stopped, in the HTTP thread): the
 * searches, then each connection goes back to its HTTP thread, which calls
 * lk_access again to queue the answer. lc is not touched after resuming. */
static void
lk_run(struct lk_job **jobs, size_t n, int stopping, void *arg)
{
	struct lk_ctx *ctx = arg;
	const struct lk_defer *d[LK_MANY_MAX] = { NULL };
	struct lk_reply *rp[LK_MANY_MAX] = { NULL };
	struct lk_conn *lc;
	size_t i;

	for (i = 0; i < n && i < LK_MANY_MAX; i++) {
		lc = (struct lk_conn *)(void *)jobs[i];
		d[i] = &lc->d;
		rp[i] = &lc->rp;
		if (stopping) {
			memset(rp[i], 0, sizeof(*rp[i]));
			rp[i]->ep = d[i]->ep;
			lk_api_error(rp[i], 503, "shutting down", NULL);
			/* another instance behind the balancer, or this one
			 * restarted, answers by then */
			rp[i]->retry_after = 1;
			lk_metrics_count(&ctx->m, rp[i]->ep, rp[i]->status);
		}
	}
	if (!stopping)
		lk_api_finish(ctx, d, rp, i);
	for (i = 0; i < n && i < LK_MANY_MAX; i++) {
		lc = (struct lk_conn *)(void *)jobs[i];
		lc->done = 1;
		MHD_resume_connection(lc->c);
	}
}

static enum MHD_Result
lk_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct lk_srv *srv = cls;
	struct lk_http *h = srv->h;
	struct lk_conn *lc = *con_cls;
	struct lk_track *t;
	const union MHD_ConnectionInfo *ci;
	struct lk_request rq;
	struct lk_reply rp;
	const char *cl;
	char *end;
	unsigned long long n;
	size_t max = (size_t)h->ctx->cfg->lookup.max_body;

	(void)version;
	if (lc == NULL) {
		if (srv == &h->pub && (t = lk_track_of(c)) != NULL &&
		    t->refused)
			return MHD_NO;	/* over the cap: shut down already */
		if ((lc = calloc(1, sizeof(*lc))) == NULL)
			return MHD_NO;
		*con_cls = lc;
		lc->start = lk_monotonic();
		if (srv == &h->pub && (t = lk_track_of(c)) != NULL)
			atomic_store(&t->busy, 1);
		atomic_fetch_add(&h->inflight, 1);
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && ((n = strtoull(cl, &end, 10)), *end != '\0' ||
		    n > max)) {
			/* refuse before reading it: MHD closes afterwards */
			memset(&rp, 0, sizeof(rp));	/* no stray header */
			lk_api_error(&rp, 413, "request body too large",
			    "see lookup.max_body");
			lk_metrics_count(&h->ctx->m, LK_EP_OTHER, 413);
			return lk_http_queue(c, &rp);
		}
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (lk_monotonic() - lc->start > h->ctx->cfg->lookup.timeout) {
			/* a body trickling in: MHD's idle timeout alone would
			 * let one byte a second hold the connection */
			log_debug("request body not in after %d s: dropped",
			    h->ctx->cfg->lookup.timeout);
			return MHD_NO;
		}
		if (lk_body_append(&lc->body, &lc->len, upload, *upload_size,
		    max) == -1) {
			/* a chunked body past the limit: drop the client */
			lk_metrics_count(&h->ctx->m, LK_EP_OTHER, 413);
			return MHD_NO;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (lc->done) {
		lc->done = 0;
		return lk_http_queue(c, &lc->rp);	/* lk_http_queue owns its body */
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = url;
	rq.accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_ACCEPT);
	rq.q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q");
	rq.if_modified_since = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
	rq.if_none_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_NONE_MATCH);
	rq.body = lc->body != NULL ? lc->body : "";
	rq.body_len = lc->len;
	rq.admin = srv->admin;
	rq.metrics = srv->metrics;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	rq.peer = ci != NULL ? ci->client_addr : NULL;
	if (srv == &h->pub)
		rq.peer = lk_http_client(h->ctx, c, rq.peer, &lc->client);
	if (srv != &h->pub) {
		lk_api_handle(h->ctx, &rq, &rp);
		return lk_http_queue(c, &rp);
	}
	if (lk_api_begin(h->ctx, &rq, &rp, &lc->d) == 1)
		return lk_http_queue(c, &rp);
	/* a search: this thread serves other clients meanwhile */
	lc->h = h;
	lc->c = c;
	MHD_suspend_connection(c);
	if (lk_work_push(h->work, &lc->job) == -1) {
		struct lk_job *one = &lc->job;

		lk_run(&one, 1, 1, h->ctx);
	}
	return MHD_YES;
}

static void
lk_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct lk_srv *srv = cls;
	struct lk_conn *lc = *con_cls;
	struct lk_track *t;

	(void)toe;
	if (lc == NULL)
		return;
	if (srv == &srv->h->pub && (t = lk_track_of(c)) != NULL) {
		atomic_store(&t->since_ms, lk_now_ms());
		atomic_store(&t->busy, 0);
	}
	free(lc->body);
	free(lc);
	*con_cls = NULL;
	atomic_fetch_sub(&srv->h->inflight, 1);
}

struct lk_http *
lk_http_bind(struct lk_ctx *ctx)
{
	const struct cfg_lookup *l = &ctx->cfg->lookup;
	struct lk_http *h;
	char spec[PATH_MAX + 8];

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->ctx = ctx;
	h->fd = h->admin_fd = h->metrics_fd = -1;
	pthread_mutex_init(&h->tmu, NULL);
	pthread_cond_init(&h->tcv, NULL);
	h->tracks.next = h->tracks.prev = &h->tracks;
	h->pub.h = h->adm.h = h->met.h = h;
	h->adm.admin = 1;
	h->met.metrics = 1;
	if ((h->fd = lk_listen(l->listen, "lookup.listen", 0666)) == -1)
		goto fail;
	if (l->admin_socket != NULL) {
		snprintf(spec, sizeof(spec), "unix:%s", l->admin_socket);
		if ((h->admin_fd = lk_listen(spec, "lookup.admin_socket",
		    0600)) == -1)
			goto fail;
	}
	if (l->metrics_listen != NULL && (h->metrics_fd =
	    lk_listen(l->metrics_listen, "lookup.metrics_listen", 0660)) == -1)
		goto fail;
	/* the key as every secret: owner-only mode, cleansed when freed */
	if (l->tls_cert != NULL && ((h->cert_pem = lk_slurp(l->tls_cert,
	    "lookup.tls_cert")) == NULL || cfg_secret_read(l->tls_key,
	    "lookup.tls_key", &h->key_pem, &h->key_len) == -1))
		goto fail;
	return h;
fail:
	lk_http_stop(h, 0);
	return NULL;
}

/* A server of one thread for the admin socket or the metrics listener:
 * a few operator requests, answered in place. */
static struct MHD_Daemon *
lk_side_start(struct lk_http *h, int fd, struct lk_srv *srv)
{
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, NULL, NULL, lk_access, srv,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_LIMIT, 16u,
	    MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)h->ctx->cfg->lookup.timeout,
	    MHD_OPTION_NOTIFY_COMPLETED, lk_completed, srv,
	    MHD_OPTION_UNESCAPE_CALLBACK, lk_mhd_unescape, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, lk_mhd_log, NULL,
	    MHD_OPTION_END);
}

int
lk_http_start(struct lk_http *h)
{
	const struct cfg_lookup *l = &h->ctx->cfg->lookup;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;

	if (h->cert_pem != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			log_err("lookup.tls_cert: this libmicrohttpd has no TLS");
			return -1;
		}
		flags |= MHD_USE_TLS;
	}
	/* a worker a directory connection, each taking up to pool_depth
	 * requests at once (their searches in flight together) */
	if ((h->work = lk_work_new(l->pool_size, l->pool_depth, lk_run,
	    h->ctx)) == NULL)
		return -1;
	if ((h->conns = lk_conns_new((unsigned)l->max_connections_per_ip,
	    &h->ctx->m.refused_per_ip, (unsigned)l->max_connections,
	    &h->ctx->m.refused_max)) == NULL) {
		log_err("%s: lookup.max_connections_per_ip: out of memory",
		    l->listen);
		return -1;
	}
	/* both caps are ours (lk_accept, lk_notify): MHD's refusals are
	 * silent, and it splits MHD_OPTION_CONNECTION_LIMIT between its
	 * threads; its own limit is set so that any one thread could hold
	 * them all, and only ours is ever reached */
	h->d = MHD_start_daemon(flags, 0, lk_accept, h, lk_access, &h->pub,
	    MHD_OPTION_LISTEN_SOCKET, h->fd,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)l->threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)l->max_connections *
	    (unsigned)l->threads + 1u,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)l->timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)l->max_header,
	    MHD_OPTION_NOTIFY_COMPLETED, lk_completed, &h->pub,
	    MHD_OPTION_NOTIFY_CONNECTION, lk_notify, h,
	    MHD_OPTION_UNESCAPE_CALLBACK, lk_mhd_unescape, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, lk_mhd_log, NULL,
	    h->cert_pem != NULL ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
	    h->cert_pem, MHD_OPTION_HTTPS_MEM_KEY, h->key_pem,
	    MHD_OPTION_HTTPS_PRIORITIES, LK_TLS_PRIORITIES,
	    MHD_OPTION_END);
	if (h->d == NULL) {
		log_err("%s: lookup.listen: libmicrohttpd did not start",
		    l->listen);
		return -1;
	}
	if (pthread_create(&h->reaper, NULL, lk_reaper, h) != 0) {
		log_err("%s: cannot start the slow-client reaper", l->listen);
		return -1;
	}
	h->reaper_on = 1;
	if (h->metrics_fd != -1 && (h->metrics = lk_side_start(h,
	    h->metrics_fd, &h->met)) == NULL) {
		log_err("%s: lookup.metrics_listen: libmicrohttpd did not "
		    "start", l->metrics_listen);
		return -1;
	}
	if (h->admin_fd != -1 && (h->admin = lk_side_start(h, h->admin_fd,
	    &h->adm)) == NULL) {
		log_err("%s: lookup.admin_socket: libmicrohttpd did not start",
		    l->admin_socket);
		return -1;
	}
	return 0;
}

void
lk_http_stop(struct lk_http *h, int drain)
{
	const struct cfg_lookup *l;
	double until;
	int fd;

	if (h == NULL)
		return;
	l = &h->ctx->cfg->lookup;
	if (h->d != NULL) {
		/* no new connections; requests under way finish */
		if ((fd = MHD_quiesce_daemon(h->d)) != -1)
			close(fd);
		h->fd = -1;
		until = lk_monotonic() + drain;
		while (atomic_load(&h->inflight) > 0 && lk_monotonic() < until)
			usleep(10000);
		if (atomic_load(&h->inflight) > 0)
			log_warn("%d requests still running after %d s; "
			    "stopping", atomic_load(&h->inflight), drain);
		/* every suspended connection resumed before MHD stops */
		lk_work_stop(h->work);
		MHD_stop_daemon(h->d);
	}
	lk_work_free(h->work);
	if (h->reaper_on) {
		pthread_mutex_lock(&h->tmu);
		h->stopping = 1;
		pthread_cond_signal(&h->tcv);
		pthread_mutex_unlock(&h->tmu);
		pthread_join(h->reaper, NULL);
	}
	pthread_mutex_destroy(&h->tmu);
	pthread_cond_destroy(&h->tcv);
	lk_conns_free(h->conns);	/* MHD closed every connection */
	if (h->admin != NULL)
		MHD_stop_daemon(h->admin);
	else if (h->admin_fd != -1)
		close(h->admin_fd);
	if (h->metrics != NULL)
		MHD_stop_daemon(h->metrics);
	else if (h->metrics_fd != -1)
		close(h->metrics_fd);
	if (l->metrics_listen != NULL &&
	    strncmp(l->metrics_listen, "unix:", 5) == 0)
		(void)unlink(l->metrics_listen + 5);
	if (h->fd != -1)
		close(h->fd);
	if (strncmp(l->listen, "unix:", 5) == 0)
		(void)unlink(l->listen + 5);
	if (l->admin_socket != NULL)
		(void)unlink(l->admin_socket);
	free(h->cert_pem);
	cfg_secret_free(h->key_pem, h->key_len);
	free(h);
}
