/*
 * dns_race.c — drives dns_query/dns_update (dns/dns.h) against a real
 * server with a change made by someone else between the read and the
 * UPDATE, which the prerequisite must catch (RFC 2136 §3.2):
 *
 *   dns_race ZONE SERVER KEYFILE OWNER HEX
 *
 * reads OWNER's SMIMEA RRset, prints "read N" and waits for a line on
 * stdin (the test changes the RRset meanwhile), then sends one UPDATE
 * adding "3 0 0 HEX" on the prerequisite that the RRset is as read, and
 * prints "ok", "conflict" or "failed: why". Exit 0 when it printed one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "dns/dns.h"

int
main(int argc, char *argv[])
{
	struct dns_rrset have, del, add;
	struct dns_server *srv = NULL;
	struct dns_key key;
	unsigned char data[512];
	char why[512], line[16];
	size_t i, n;
	int rc = 1;

	log_init("dns_race", 0, LOG_LVL_ERR);
	if (argc != 6 || (n = strlen(argv[5])) % 2 != 0 || n == 0 ||
	    n / 2 > sizeof(data)) {
		fprintf(stderr, "usage: dns_race ZONE SERVER KEYFILE OWNER "
		    "HEX\n");
		return 2;
	}
	for (i = 0; i < n / 2; i++)
		if (sscanf(argv[5] + 2 * i, "%2hhx", &data[i]) != 1)
			return 2;
	memset(&have, 0, sizeof(have));
	memset(&del, 0, sizeof(del));
	memset(&add, 0, sizeof(add));
	snprintf(have.owner, sizeof(have.owner), "%s", argv[4]);
	strcpy(del.owner, have.owner);
	strcpy(add.owner, have.owner);
	if (dns_key_load(argv[3], "KEYFILE", &key) == -1 ||
	    (srv = dns_server_new(argv[1], argv[2], &key, 5)) == NULL)
		goto out;
	if (dns_query(srv, &have, why, sizeof(why)) != DNS_OK) {
		printf("failed: %s\n", why);
		goto out;
	}
	printf("read %zu\n", have.n);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL ||
	    dns_rrset_add(&add, 3, 0, 0, data, n / 2) == -1)
		goto out;
	switch (dns_update(srv, &have, &del, &add, 300, why, sizeof(why))) {
	case DNS_OK:
		printf("ok\n");
		break;
	case DNS_CONFLICT:
		printf("conflict\n");
		break;
	default:
		printf("failed: %s\n", why);
	}
	rc = 0;
out:
	dns_key_clear(&key);
	dns_server_free(srv);
	dns_rrset_clear(&have);
	dns_rrset_clear(&add);
	return rc;
}
