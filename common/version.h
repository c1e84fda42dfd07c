/*
 * version.h — the version of this build, from one place: the VERSION file
 * at the top of the tree, followed by `git describe` where the tree is a git
 * checkout (the Makefile computes it at build time and passes it to
 * common/version.c only, so a new commit relinks without recompiling
 * everything). Used by --version, the smimepub_build_info metric and the
 * HTTP User-Agent.
 */
#ifndef SMIMEPUB_VERSION_H
#define SMIMEPUB_VERSION_H

#include <stdio.h>

/* "0.9.0" or "0.9.0+<git describe>", never NULL. */
const char	*version_string(void);
/* "smimepub/0.9.0+...", for User-Agent (RFC 9110 section 10.1.5). */
const char	*version_user_agent(void);
/* "PROG VERSION\n" on fp (--version). */
void		 version_print(FILE *fp, const char *prog);
/* The Prometheus lines of smimepub_build_info{version="..."} 1. */
void		 version_metric(FILE *fp);

#endif
