/*
 * cmd_leavers.c — `smimepub approve-leavers N`: the operator's approval of
 * one pass that smimepub-sync held back because it would revoke or
 * unpublish more than sync.max_leavers people (sync/leavers.c). N must be
 * the count that pass reported; the approval goes into the journal, and
 * the daemon's next full pass consumes it, acting on the leavers only if
 * it still finds exactly N.
 */
#include <sys/types.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/audit.h"
#include "common/jrnl.h"
#include "common/log.h"

int
cmd_approve_leavers(struct cfg *cfg, int argc, char **argv)
{
	char val[JRNL_META_MAX], held[JRNL_META_MAX], who[64], *end;
	struct passwd *pw;
	struct jrnl *j = NULL;
	long n, last;
	int rc = EXIT_FAIL;

	if (argc != 2 || (n = strtol(argv[1], &end, 10)) <= 0 ||
	    *end != '\0' || n > 1000000000) {
		fprintf(stderr, "usage: smimepub [-f FILE] approve-leavers N "
		    "(N: the count of leavers the held pass reported)\n");
		return EXIT_USAGE;
	}
	if ((j = jrnl_open(cfg->sync.state_dir)) == NULL)
		goto out;
	switch (jrnl_meta_get(j, "leavers_held", held, sizeof(held))) {
	case 0:
		break;
	case 1:
		snprintf(held, sizeof(held), "0");
		break;
	default:
		goto out;
	}
	/* an approval is of what a pass held: nothing else to approve */
	last = strtol(held, NULL, 10);
	if (last != n) {
		log_err("approve-leavers %ld: the last full pass held %ld "
		    "leavers, not %ld; nothing recorded", n, last, n);
		goto out;
	}
	if ((pw = getpwuid(getuid())) != NULL)
		snprintf(who, sizeof(who), "%s", pw->pw_name);
	else
		snprintf(who, sizeof(who), "uid %ld", (long)getuid());
	snprintf(val, sizeof(val), "%ld\t%lld\t%s", n, (long long)time(NULL),
	    who);
	if (jrnl_meta_put(j, "approve_leavers", val) == -1)
		goto out;
	snprintf(val, sizeof(val), "%ld leavers approved by %s", n, who);
	(void)audit_event("leavers_approval", NULL, NULL, NULL, NULL,
	    "recorded", val);
	printf("approved: the next full pass of smimepub-sync acts on the %ld "
	    "leavers if it finds exactly %ld\n", n, n);
	rc = EXIT_OK;
out:
	jrnl_close(j);
	return rc;
}
