/*
 * fuzz_http.c — lookupd's request header parsers on arbitrary bytes:
 * Accept (lk_accept_pick), If-None-Match (lk_etag_match), Forwarded and
 * X-Forwarded-For behind trusted proxies (lk_fwd_client), CIDR prefixes
 * (net_cidr_parse) and mail_canon_idn. The input's first byte picks the
 * parser, the rest is the field value (a C string, as libmicrohttpd gives
 * it). Checked: no crash, results in range, a picked type acceptable, a
 * client found only from a trusted peer and never a trusted proxy unless
 * every hop is one, a CIDR that parses round-trips through its text, and
 * an address mail_canon_idn returns is ASCII and canonical already.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/mail.h"
#include "common/net.h"
#include "lookup/lk.h"

#define FZ_CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", \
	__FILE__, __LINE__, #c); abort(); } } while (0)

static const char *const fz_types[] = {
	"application/json", "application/pkix-cert", "application/pkcs7-mime",
	"application/x-pem-file", "application/pem-certificate-chain",
};
#define FZ_NT	(sizeof(fz_types) / sizeof(fz_types[0]))

static void
fz_accept(const char *s)
{
	int i = lk_accept_pick(s, fz_types, FZ_NT);
	char one[80];

	FZ_CHECK(i >= -1 && i < (int)FZ_NT);
	/* the type picked, asked for alone, is picked again */
	if (i >= 0) {
		snprintf(one, sizeof(one), "%s", fz_types[i]);
		FZ_CHECK(lk_accept_pick(one, fz_types, FZ_NT) == i);
	}
}

static void
fz_etag(const char *s)
{
	int m = lk_etag_match(s, "\"j0123456789abcdef\"");

	FZ_CHECK(m == 0 || m == 1);
	FZ_CHECK(lk_etag_match(s, "\"*\"") <= 1);
}

static void
fz_fwd(const char *s, int which)
{
	static char *list[] = { "127.0.0.2", "10.0.0.0/8", "2001:db8::/32",
	    NULL };
	static struct lk_proxies px;
	static int ready;
	struct sockaddr_storage peer, c;
	struct net_addr a;
	enum lk_fwd o;

	if (!ready) {
		FZ_CHECK(lk_proxies_init(&px, list) == 0);
		ready = 1;
	}
	FZ_CHECK(net_addr_parse(which & 2 ? "127.0.0.2" : "192.0.2.1", 9,
	    &a) == 0);
	net_addr_sockaddr(&a, &peer);
	o = lk_fwd_client(&px, (struct sockaddr *)&peer, which & 1 ? s : NULL,
	    which & 1 ? NULL : s, &c);
	FZ_CHECK(o > LK_FWD_NONE && o < LK_FWD_MAX);
	if (!(which & 2)) {	/* an untrusted peer: nothing believed */
		FZ_CHECK(o == LK_FWD_UNTRUSTED && c.ss_family == 0);
		return;
	}
	FZ_CHECK(o != LK_FWD_UNTRUSTED);
	FZ_CHECK(c.ss_family == 0 || c.ss_family == AF_INET ||
	    c.ss_family == AF_INET6);
	if (o == LK_FWD_BELIEVED)
		FZ_CHECK(c.ss_family != 0);
}

static void
fz_cidr(const char *s)
{
	struct net_cidr c, c2;
	struct net_addr a;
	char buf[NET_ADDR_STR], again[NET_ADDR_STR + 8];
	const char *why;

	if (net_cidr_parse(s, &c, &why) == -1) {
		FZ_CHECK(why != NULL);
		return;
	}
	FZ_CHECK(c.bits >= 0 && c.bits <= 128);
	FZ_CHECK(net_addr_str(&c.addr, buf) != NULL);
	FZ_CHECK(net_addr_parse(buf, strlen(buf), &a) == 0);
	FZ_CHECK(memcmp(&a, &c.addr, sizeof(a)) == 0);
	FZ_CHECK(net_cidr_match(&c, 1, &c.addr) == 1);
	snprintf(again, sizeof(again), "%s/%d", buf, strchr(buf, ':') ?
	    c.bits : c.bits - 96);
	FZ_CHECK(net_cidr_parse(again, &c2, &why) == 0);
	FZ_CHECK(c2.bits == c.bits);
}

static void
fz_mail(const char *s, size_t len)
{
	char out[MAIL_MAX + 1], out2[MAIL_MAX + 1];
	const char *why;
	size_t i;

	if (mail_canon_idn(s, len, out, &why) == -1) {
		FZ_CHECK(why != NULL);
		return;
	}
	for (i = 0; out[i] != '\0'; i++)
		FZ_CHECK((unsigned char)out[i] < 0x80);
	FZ_CHECK(mail_canon(out, strlen(out), out2, &why) == 0);
	FZ_CHECK(strcmp(out, out2) == 0);
	FZ_CHECK(mail_eq(out, out2));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int ready;
	char *s;

	if (!ready) {
		log_init("fuzz_http", 0, LOG_LVL_ERR);
		log_set_level(LOG_LVL_ERR);
		ready = 1;
	}
	if (len == 0)
		return 0;
	if ((s = malloc(len)) == NULL)
		return 0;
	memcpy(s, data + 1, len - 1);
	s[len - 1] = '\0';
	switch (data[0] % 7) {
	case 0:
		fz_accept(s);
		break;
	case 1:
		fz_etag(s);
		break;
	case 2: case 3: case 4:
		fz_fwd(s, data[0] % 7 - 1);	/* 1 2 3: Forwarded, trust */
		break;
	case 5:
		fz_cidr(s);
		break;
	default:
		fz_mail((const char *)data + 1, len - 1);
		break;
	}
	free(s);
	return 0;
}
