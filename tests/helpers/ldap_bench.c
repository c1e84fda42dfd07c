/*
 * ldap_bench.c — the raw libldap baseline of make bench: THREADS threads,
 * each with its own connection and simple bind, search slapd for one
 * address after another (thread i takes addresses i, i+THREADS, ... of the
 * list, round and round) for SECONDS seconds, asking for the attributes
 * smimepub-lookupd asks for. Every search must find exactly one entry
 * holding a userCertificate value, or it counts as an error.
 *
 *   ldap_bench -H URI -D BINDDN -y PWFILE -b BASE -f FILTER -a ADDRFILE
 *              [-t THREADS] [-d SECONDS]
 *
 * FILTER holds exactly one %s, the address (RFC 4515-escaped here), e.g.
 * "(&(objectClass=inetOrgPerson)(mail=%s))". Prints one line:
 * "searches/s p50_ms p99_ms searches errors". Exit 0, 1 when any search
 * failed, 2 for usage errors.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ldap.h>

#include "ldap/dir.h"

#define MAX_ADDRS	1000000
#define MAX_LAT		(1 << 22)	/* latencies kept per thread */

struct job {
	pthread_t	 tid;
	int		 id;
	double		*lat;
	size_t		 nlat;
	unsigned long	 done, errors;
};

static const char *uri, *binddn, *base, *filter_fmt;
static char	 pw[256];
static char	**addrs;
static size_t	 naddrs;
static size_t	 fmt_pre;		/* bytes of filter_fmt before %s */
static int	 nthreads = 2;
static double	 secs = 10, t_end;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: ldap_bench -H URI -D BINDDN -y PWFILE -b BASE "
	    "-f FILTER -a ADDRFILE [-t THREADS] [-d SECONDS]\n");
	exit(2);
}

/* One search: 0 when it found exactly one entry with a certificate. */
static int
one(LDAP *ld, const char *addr)
{
	static char *attrs[] = { "mail", "displayName", "cn", "entryUUID",
	    "userCertificate;binary", "userSMIMECertificate", NULL };
	struct timeval tv = { 10, 0 };
	LDAPMessage *res = NULL, *e;
	struct berval **v = NULL;
	char *esc, filter[1024];
	int rc = -1;

	if ((esc = dir_filter_escape(addr, strlen(addr))) == NULL)
		return -1;
	if (snprintf(filter, sizeof(filter), "%.*s%s%s", (int)fmt_pre,
	    filter_fmt, esc, filter_fmt + fmt_pre + 2) >= (int)sizeof(filter)) {
		free(esc);
		return -1;
	}
	free(esc);
	if (ldap_search_ext_s(ld, base, LDAP_SCOPE_SUBTREE, filter, attrs, 0,
	    NULL, NULL, &tv, 0, &res) != LDAP_SUCCESS)
		goto out;
	if (ldap_count_entries(ld, res) != 1 ||
	    (e = ldap_first_entry(ld, res)) == NULL)
		goto out;
	if ((v = ldap_get_values_len(ld, e, "userCertificate;binary")) ==
	    NULL || v[0] == NULL || v[0]->bv_len == 0)
		goto out;
	rc = 0;
out:
	ldap_value_free_len(v);
	ldap_msgfree(res);
	return rc;
}

static void *
run(void *arg)
{
	struct job *j = arg;
	struct berval cred = { strlen(pw), pw };
	LDAP *ld = NULL;
	size_t i = (size_t)j->id % naddrs;
	int v3 = LDAP_VERSION3;
	double t0;

	if (ldap_initialize(&ld, uri) != LDAP_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) !=
	    LDAP_OPT_SUCCESS ||
	    ldap_sasl_bind_s(ld, binddn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
	    NULL) != LDAP_SUCCESS) {
		fprintf(stderr, "ldap_bench: %s: cannot bind as %s\n", uri,
		    binddn);
		j->errors++;
		goto out;
	}
	while ((t0 = now()) < t_end) {
		if (one(ld, addrs[i]) == -1)
			j->errors++;
		if (j->nlat < MAX_LAT)
			j->lat[j->nlat++] = now() - t0;
		j->done++;
		i = (i + (size_t)nthreads) % naddrs;
	}
out:
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	return NULL;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
load_addrs(const char *path)
{
	FILE *fp;
	char line[512];
	size_t len;

	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "ldap_bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((addrs = calloc(MAX_ADDRS, sizeof(*addrs))) == NULL)
		goto fail;
	while (naddrs < MAX_ADDRS && fgets(line, sizeof(line), fp) != NULL) {
		len = strcspn(line, "\r\n");
		line[len] = '\0';
		if (len == 0)
			continue;
		if ((addrs[naddrs++] = strdup(line)) == NULL)
			goto fail;
	}
	fclose(fp);
	if (naddrs == 0) {
		fprintf(stderr, "ldap_bench: %s: no address\n", path);
		return -1;
	}
	return 0;
fail:
	fclose(fp);
	fprintf(stderr, "ldap_bench: %s: out of memory\n", path);
	return -1;
}

int
main(int argc, char **argv)
{
	struct job *jobs;
	const char *pwfile = NULL, *addrfile = NULL, *p;
	double t0, el, *all;
	unsigned long done = 0, errors = 0;
	size_t n = 0, k;
	FILE *fp;
	int c, i;

	while ((c = getopt(argc, argv, "H:D:y:b:f:a:t:d:")) != -1) {
		switch (c) {
		case 'H': uri = optarg; break;
		case 'D': binddn = optarg; break;
		case 'y': pwfile = optarg; break;
		case 'b': base = optarg; break;
		case 'f': filter_fmt = optarg; break;
		case 'a': addrfile = optarg; break;
		case 't': nthreads = atoi(optarg); break;
		case 'd': secs = atof(optarg); break;
		default: usage();
		}
	}
	if (uri == NULL || binddn == NULL || pwfile == NULL || base == NULL ||
	    filter_fmt == NULL || addrfile == NULL || nthreads < 1 ||
	    nthreads > 1024 || secs <= 0 || secs > 3600)
		usage();
	/* exactly one conversion, and it is %s */
	if ((p = strchr(filter_fmt, '%')) == NULL || p[1] != 's' ||
	    strchr(p + 2, '%') != NULL) {
		fprintf(stderr, "ldap_bench: -f: exactly one %%s and no other "
		    "%%\n");
		return 2;
	}
	fmt_pre = (size_t)(p - filter_fmt);
	if ((fp = fopen(pwfile, "r")) == NULL ||
	    fgets(pw, sizeof(pw), fp) == NULL) {
		fprintf(stderr, "ldap_bench: %s: cannot read\n", pwfile);
		return 2;
	}
	fclose(fp);
	pw[strcspn(pw, "\r\n")] = '\0';
	if (load_addrs(addrfile) == -1)
		return 2;
	if ((jobs = calloc((size_t)nthreads, sizeof(*jobs))) == NULL)
		return 1;
	t0 = now();
	t_end = t0 + secs;
	for (i = 0; i < nthreads; i++) {
		jobs[i].id = i;
		if ((jobs[i].lat = malloc(MAX_LAT * sizeof(double))) == NULL ||
		    pthread_create(&jobs[i].tid, NULL, run, &jobs[i]) != 0) {
			fprintf(stderr, "ldap_bench: cannot start thread\n");
			return 1;
		}
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(jobs[i].tid, NULL);
		done += jobs[i].done;
		errors += jobs[i].errors;
		n += jobs[i].nlat;
	}
	el = now() - t0;
	if ((all = malloc((n + 1) * sizeof(double))) == NULL)
		return 1;
	for (n = 0, i = 0; i < nthreads; i++) {
		for (k = 0; k < jobs[i].nlat; k++)
			all[n++] = jobs[i].lat[k];
		free(jobs[i].lat);
	}
	qsort(all, n, sizeof(double), dcmp);
	printf("%.0f %.3f %.3f %lu %lu\n", (double)done / el,
	    n ? all[n / 2] * 1e3 : 0, n ? all[(n * 99) / 100] * 1e3 : 0,
	    done, errors);
	free(all);
	free(jobs);
	for (k = 0; k < naddrs; k++)
		free(addrs[k]);
	free(addrs);
	return errors > 0 ? 1 : 0;
}
