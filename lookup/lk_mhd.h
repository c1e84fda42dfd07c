/*
 * lk_mhd.h — what lk_http.c and lk_hdr.c share on libmicrohttpd (kept out
 * of lk.h, which the CLI, the tests and the fuzz targets include without
 * libmicrohttpd's header).
 */
#ifndef SMIMEPUB_LK_MHD_H
#define SMIMEPUB_LK_MHD_H

#include <microhttpd.h>

#include "lookup/lk.h"

/* Queue rp on c with its header fields; rp's body is the response's. */
enum MHD_Result	 lk_http_queue(struct MHD_Connection *c, struct lk_reply *rp);
/* The client of a request on the public listener (lk_fwd.c): peer, or the
 * address a trusted proxy forwarded (then kept in ss); counted by outcome
 * in ctx's metrics. */
const struct sockaddr *lk_http_client(struct lk_ctx *ctx,
		    struct MHD_Connection *c, const struct sockaddr *peer,
		    struct sockaddr_storage *ss);

#endif
