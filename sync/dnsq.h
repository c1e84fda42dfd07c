/*
 * dnsq.h — smimepub-sync's DNS thread (dnsq.c): SMIMEA records of
 * dns.zones kept in step with the journal after each person's action and
 * each full pass, and retried with backoff, never in a worker's way.
 */
#ifndef SMIMEPUB_SYNC_DNSQ_H
#define SMIMEPUB_SYNC_DNSQ_H

struct cfg;
struct jrnl;

/* Start the thread when dns.zones is set (cfg and j must outlive it,
 * until sync_dns_stop). -1 logged. */
int	sync_dns_start(const struct cfg *, struct jrnl *);
/* Finish what is queued, then stop. */
void	sync_dns_stop(void);
/* After an action on person_id; after a full pass, everyone. */
void	sync_dns_kick(const char *person_id);
void	sync_dns_all(void);

#endif
