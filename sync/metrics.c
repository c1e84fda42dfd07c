/*
 * metrics.c — the values behind smimepub-sync's GET /metrics and their
 * rendering in the Prometheus text format (exposition format 0.0.4). One
 * process-wide set under one mutex: the workers count failures and CA
 * latency as they go; the main thread sets the rest after each full pass.
 * The server is in metrics_http.c.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "common/cfg.h"
#include "common/log.h"
#include "common/version.h"
#include "sync/metrics.h"

/* CA request latency buckets, seconds: a local CA answers in milliseconds,
 * a remote one over HTTP in tens to hundreds, a CMP/EST one that polls or
 * times out in seconds (ca.*.timeout defaults to 30). */
static const double met_le[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
};
#define MET_NLE	(sizeof(met_le) / sizeof(met_le[0]))
#define MET_NSTATES	(JRNL_FAILED + 1)	/* indexed by enum jrnl_state */

static const char *const met_reason_names[MET_NREASONS] = {
	"prepare", "ca_rejected", "ca_unreachable", "delivery", "publish",
	"revoke", "unpublish", "directory", "other"
};

static struct {
	pthread_mutex_t	 mu;
	int		 interval, active;
	time_t		 last_ok;	/* end of the last full pass that ran */
	double		 last_duration;
	int		 passes_seen;
	unsigned long	 passes_failed;
	unsigned long	 failures[MET_NREASONS];
	unsigned long	 ca_bucket[MET_NLE];	/* not cumulative */
	unsigned long	 ca_count;
	double		 ca_sum;
	unsigned long	 leavers_held;
	unsigned long	 contested;	/* addresses two entries hold */
	unsigned long	 dns_ok, dns_failed, dns_conflict, dns_pending;
	int		 dns_seen;
	int		 journal_seen;
	unsigned long	 people[MET_NSTATES];
	unsigned long	 expiring;
	time_t		 crl_next;	/* 0: none known */
} met = { .mu = PTHREAD_MUTEX_INITIALIZER, .active = 1 };

void
met_instance(int interval, int active)
{
	pthread_mutex_lock(&met.mu);
	met.interval = interval;
	met.active = active;
	pthread_mutex_unlock(&met.mu);
}

void
met_pass(int ran, double seconds)
{
	pthread_mutex_lock(&met.mu);
	met.passes_seen = 1;
	met.last_duration = seconds;
	if (ran)
		met.last_ok = time(NULL);
	else
		met.passes_failed++;
	pthread_mutex_unlock(&met.mu);
}

void
met_failure(enum met_reason r)
{
	if ((int)r < 0 || r >= MET_NREASONS)
		r = MET_OTHER;
	pthread_mutex_lock(&met.mu);
	met.failures[r]++;
	pthread_mutex_unlock(&met.mu);
}

enum met_reason
met_reason_of(enum jrnl_state failed_in)
{
	/* the state a record was in names the step that failed leaving it
	 * (DESIGN.md, the enrolment state machine) */
	switch (failed_in) {
	case JRNL_PLANNED:
		return MET_PREPARE;
	case JRNL_KEY_READY:
	case JRNL_SUBMITTED:
		return MET_CA_REJECTED;
	case JRNL_ISSUED:
		return MET_DELIVERY;
	case JRNL_DELIVERED:
		return MET_PUBLISH;
	case JRNL_REVOKE_PENDING:
		return MET_REVOKE;
	case JRNL_REVOKED:
	case JRNL_UNPUBLISHED:
		return MET_UNPUBLISH;
	default:
		return MET_OTHER;
	}
}

void
met_ca_request(double seconds)
{
	size_t i;

	pthread_mutex_lock(&met.mu);
	for (i = 0; i < MET_NLE && seconds > met_le[i]; i++)
		;
	if (i < MET_NLE)
		met.ca_bucket[i]++;
	met.ca_count++;
	met.ca_sum += seconds;
	pthread_mutex_unlock(&met.mu);
}

static void
met_observe_failure(enum jrnl_state failed_in, int ca_unreachable)
{
	met_failure(ca_unreachable ? MET_CA_UNREACHABLE :
	    met_reason_of(failed_in));
}

const struct enr_observer met_observer = {
	.failure = met_observe_failure,
	.ca_request = met_ca_request,
};

double
met_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
met_leavers_held(unsigned long n)
{
	pthread_mutex_lock(&met.mu);
	met.leavers_held = n;
	pthread_mutex_unlock(&met.mu);
}

void
met_addresses_contested(size_t n)
{
	pthread_mutex_lock(&met.mu);
	met.contested = n;
	pthread_mutex_unlock(&met.mu);
}

void
met_dns(unsigned long ok, unsigned long failed, unsigned long conflict,
    unsigned long pending)
{
	pthread_mutex_lock(&met.mu);
	met.dns_ok += ok;
	met.dns_failed += failed;
	met.dns_conflict += conflict;
	met.dns_pending = pending;
	met.dns_seen = 1;
	pthread_mutex_unlock(&met.mu);
}

static void
met_render_dns(FILE *fp)
{
	if (!met.dns_seen)
		return;
	fprintf(fp, "# HELP smimepub_sync_dns_updates_total DNS UPDATEs of "
	    "SMIMEA records (dns.zones), by result.\n"
	    "# TYPE smimepub_sync_dns_updates_total counter\n"
	    "smimepub_sync_dns_updates_total{result=\"ok\"} %lu\n"
	    "smimepub_sync_dns_updates_total{result=\"failed\"} %lu\n"
	    "smimepub_sync_dns_updates_total{result=\"conflict\"} %lu\n"
	    "# HELP smimepub_sync_dns_pending People whose SMIMEA records are "
	    "not yet as the journal says (retried with backoff).\n"
	    "# TYPE smimepub_sync_dns_pending gauge\n"
	    "smimepub_sync_dns_pending %lu\n", met.dns_ok, met.dns_failed,
	    met.dns_conflict, met.dns_pending);
}

struct met_count {
	unsigned long	 people[MET_NSTATES];
	unsigned long	 expiring;
	time_t		 due;	/* not_after before this: renewal due */
};

static int
met_count_cb(const struct jrnl_enr *r, void *arg)
{
	struct met_count *c = arg;

	if ((int)r->state > 0 && r->state < MET_NSTATES)
		c->people[r->state]++;
	/* a certificate of ours due for renewal, and no renewal under way
	 * (PLANNED, KEY_READY, SUBMITTED are one; a FAILED one backing off
	 * is not, nor are leavers) */
	if (r->serial[0] != '\0' && r->not_after != 0 && r->not_after < c->due &&
	    (r->state == JRNL_PUBLISHED || r->state == JRNL_DELIVERED ||
	    r->state == JRNL_ISSUED || (r->state == JRNL_FAILED &&
	    r->failed_in < JRNL_REVOKE_PENDING)))
		c->expiring++;
	return 0;
}

/* nextUpdate of ca.local.dir/crl.pem; 0 when there is none to read. */
static time_t
met_crl_next(const struct cfg *cfg)
{
	char path[PATH_MAX];
	X509_CRL *crl = NULL;
	struct tm tm;
	time_t next = 0;
	FILE *fp;

	if (strcmp(cfg->ca.driver, "local") != 0 || cfg->ca.local.dir == NULL ||
	    snprintf(path, sizeof(path), "%s/%s", cfg->ca.local.dir,
	    CA_LOCAL_CRL) >= (int)sizeof(path) ||
	    (fp = fopen(path, "r")) == NULL)
		return 0;
	crl = PEM_read_X509_CRL(fp, NULL, NULL, NULL);
	fclose(fp);
	if (crl != NULL && X509_CRL_get0_nextUpdate(crl) != NULL &&
	    ASN1_TIME_to_tm(X509_CRL_get0_nextUpdate(crl), &tm) == 1)
		next = timegm(&tm);
	ERR_clear_error();
	X509_CRL_free(crl);
	return next;
}

int
met_journal(const struct cfg *cfg, struct jrnl *j)
{
	struct met_count c;
	time_t crl;

	memset(&c, 0, sizeof(c));
	c.due = time(NULL) + (time_t)cfg->sync.renew_before_days * 86400;
	if (jrnl_enr_each(j, met_count_cb, &c) == -1)
		return -1;
	crl = met_crl_next(cfg);
	pthread_mutex_lock(&met.mu);
	memcpy(met.people, c.people, sizeof(met.people));
	met.expiring = c.expiring;
	met.journal_seen = 1;
	met.crl_next = crl;
	pthread_mutex_unlock(&met.mu);
	return 0;
}

static void
met_render_ca(FILE *fp)
{
	unsigned long cum = 0;
	size_t i;

	fputs("# HELP smimepub_sync_ca_request_duration_seconds Requests to "
	    "the CA (enrol, poll, revoke).\n"
	    "# TYPE smimepub_sync_ca_request_duration_seconds histogram\n", fp);
	for (i = 0; i < MET_NLE; i++) {
		cum += met.ca_bucket[i];
		fprintf(fp, "smimepub_sync_ca_request_duration_seconds_bucket"
		    "{le=\"%g\"} %lu\n", met_le[i], cum);
	}
	fprintf(fp, "smimepub_sync_ca_request_duration_seconds_bucket"
	    "{le=\"+Inf\"} %lu\n"
	    "smimepub_sync_ca_request_duration_seconds_sum %.6f\n"
	    "smimepub_sync_ca_request_duration_seconds_count %lu\n",
	    met.ca_count, met.ca_sum, met.ca_count);
}

static void
met_render_people(FILE *fp)
{
	int s;

	fputs("# HELP smimepub_sync_people People in the journal by state "
	    "(counted after each full pass).\n"
	    "# TYPE smimepub_sync_people gauge\n", fp);
	for (s = JRNL_PLANNED; s < MET_NSTATES; s++)
		fprintf(fp, "smimepub_sync_people{state=\"%s\"} %lu\n",
		    jrnl_state_str((enum jrnl_state)s), met.people[s]);
	fprintf(fp, "# HELP smimepub_sync_certificates_expiring Certificates "
	    "of ours within sync.renew_before_days of notAfter (or past it) "
	    "with no renewal under way.\n"
	    "# TYPE smimepub_sync_certificates_expiring gauge\n"
	    "smimepub_sync_certificates_expiring %lu\n", met.expiring);
}

char *
met_render(size_t *len)
{
	char *buf = NULL;
	FILE *fp;
	int r;

	if ((fp = open_memstream(&buf, len)) == NULL)
		return NULL;
	version_metric(fp);
	pthread_mutex_lock(&met.mu);
	fprintf(fp, "# HELP smimepub_sync_interval_seconds sync.interval.\n"
	    "# TYPE smimepub_sync_interval_seconds gauge\n"
	    "smimepub_sync_interval_seconds %d\n"
	    "# HELP smimepub_sync_active 1 when this instance works (holds "
	    "sync.lease_dn, or has none), 0 on standby.\n"
	    "# TYPE smimepub_sync_active gauge\n"
	    "smimepub_sync_active %d\n", met.interval, met.active);
	if (met.last_ok != 0)
		fprintf(fp, "# HELP smimepub_sync_last_pass_success_timestamp_"
		    "seconds When the last full pass that ran through ended.\n"
		    "# TYPE smimepub_sync_last_pass_success_timestamp_seconds "
		    "gauge\n"
		    "smimepub_sync_last_pass_success_timestamp_seconds %lld\n",
		    (long long)met.last_ok);
	if (met.passes_seen)
		fprintf(fp, "# HELP smimepub_sync_pass_duration_seconds How "
		    "long the last full pass took.\n"
		    "# TYPE smimepub_sync_pass_duration_seconds gauge\n"
		    "smimepub_sync_pass_duration_seconds %.3f\n",
		    met.last_duration);
	fprintf(fp, "# HELP smimepub_sync_passes_failed_total Full passes "
	    "that could not run (the directory, the journal).\n"
	    "# TYPE smimepub_sync_passes_failed_total counter\n"
	    "smimepub_sync_passes_failed_total %lu\n"
	    "# HELP smimepub_sync_failures_total People failed, by the step "
	    "that failed.\n"
	    "# TYPE smimepub_sync_failures_total counter\n",
	    met.passes_failed);
	for (r = 0; r < MET_NREASONS; r++)
		fprintf(fp, "smimepub_sync_failures_total{reason=\"%s\"} %lu\n",
		    met_reason_names[r], met.failures[r]);
	met_render_ca(fp);
	if (met.journal_seen)
		met_render_people(fp);
	met_render_dns(fp);
	fprintf(fp, "# HELP smimepub_sync_leavers_held Leavers whose "
	    "revocation waits for an operator (sync.max_leavers).\n"
	    "# TYPE smimepub_sync_leavers_held gauge\n"
	    "smimepub_sync_leavers_held %lu\n"
	    "# HELP smimepub_sync_addresses_contested Addresses more than "
	    "one entry held at the last full pass: no certificate names "
	    "them.\n"
	    "# TYPE smimepub_sync_addresses_contested gauge\n"
	    "smimepub_sync_addresses_contested %lu\n", met.leavers_held,
	    met.contested);
	if (met.crl_next != 0)
		fprintf(fp, "# HELP smimepub_sync_crl_next_update_timestamp_"
		    "seconds nextUpdate of the local CA's CRL.\n"
		    "# TYPE smimepub_sync_crl_next_update_timestamp_seconds "
		    "gauge\n"
		    "smimepub_sync_crl_next_update_timestamp_seconds %lld\n",
		    (long long)met.crl_next);
	pthread_mutex_unlock(&met.mu);
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
