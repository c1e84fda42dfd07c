/*
 * version.c — the build's version string; SMIMEPUB_VERSION is defined on
 * this file's compile line by the Makefile (VERSION + git describe).
 */
#include <stdio.h>

#include "common/version.h"

#ifndef SMIMEPUB_VERSION
#define SMIMEPUB_VERSION "unknown"
#endif

const char *
version_string(void)
{
	return SMIMEPUB_VERSION;
}

const char *
version_user_agent(void)
{
	return "smimepub/" SMIMEPUB_VERSION;
}

void
version_print(FILE *fp, const char *prog)
{
	fprintf(fp, "%s %s\n", prog, SMIMEPUB_VERSION);
}

void
version_metric(FILE *fp)
{
	/* the version is [0-9A-Za-z.+-] only (Makefile): no label escaping */
	fputs("# HELP smimepub_build_info The version of this build.\n"
	    "# TYPE smimepub_build_info gauge\n"
	    "smimepub_build_info{version=\"" SMIMEPUB_VERSION "\"} 1\n", fp);
}
