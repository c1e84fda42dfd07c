/*
 * metrics.h — smimepub-sync's Prometheus metrics, served on
 * sync.metrics_listen (GET /metrics, text format 0.0.4): the last full
 * pass (its end when it ran through, its duration), the journal's people
 * per state and the certificates of ours due for renewal with none in
 * progress (both counted after each full pass), failures by reason, the
 * CA's request latency, the leavers held for sync.max_leavers, the local
 * CA's CRL nextUpdate, and smimepub_build_info. The counters are process
 * wide; the engine (enrol/) reports its failures and CA requests through
 * met_observer, which sync_open puts in every enr_ctx.
 */
#ifndef SMIMEPUB_SYNC_METRICS_H
#define SMIMEPUB_SYNC_METRICS_H

#include <time.h>

#include "common/jrnl.h"
#include "enrol/enrol.h"

struct cfg;

/* Why a person failed: the label of smimepub_sync_failures_total. */
enum met_reason {
	MET_PREPARE = 0,	/* before the CA: the entry (an address on two), the key */
	MET_CA_REJECTED,	/* the CA refused, or its answer was unfit */
	MET_CA_UNREACHABLE,	/* the CA could not be asked */
	MET_DELIVERY,		/* keys.delivery_command, escrow */
	MET_PUBLISH,		/* the directory write of the certificate */
	MET_REVOKE,		/* revocation at the CA */
	MET_UNPUBLISH,		/* taking a leaver's certificate off */
	MET_DIRECTORY,		/* the directory went away mid-person */
	MET_OTHER,
	MET_NREASONS
};

/* Serve on listen ("host:port", "[v6]:port"); NULL: off. -1 logged. */
int	met_start(const char *listen);
void	met_stop(void);
/* sync.interval, and whether this instance works (holds the lease). */
void	met_instance(int interval, int active);
/* A full pass ended after seconds; ran: it ran through (-1 is not). */
void	met_pass(int ran, double seconds);
void	met_failure(enum met_reason);
/* The reason for a FAILED record's failed_in (the step it failed in). */
enum met_reason met_reason_of(enum jrnl_state failed_in);
/* One request to the CA (enrol, poll, revoke) took seconds. */
void	met_ca_request(double seconds);
/* The engine's failures and CA requests, counted as above. */
extern const struct enr_observer met_observer;
/* CLOCK_MONOTONIC in seconds, for the durations above. */
double	met_clock(void);
/* For the max_leavers guard: how many leavers wait for approval. */
void	met_leavers_held(unsigned long n);
/* Addresses more than one entry held at the last full pass. */
void	met_addresses_contested(size_t n);
/* DNS (sync/dnsq.c): UPDATEs done, failed, refused for a concurrent
 * change since the last call; people whose records are pending now. */
void	met_dns(unsigned long ok, unsigned long failed, unsigned long conflict,
	    unsigned long pending);
/* Count the journal's people per state and those expiring (-1 logged),
 * and read the local CA's CRL nextUpdate. Not thread-safe with passes. */
int	met_journal(const struct cfg *, struct jrnl *);
/* The metrics page (for the test and the server); free() it. */
char	*met_render(size_t *len);

#endif
