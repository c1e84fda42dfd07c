/*
 * lease.h — one active smimepub-sync per directory (DESIGN.md "Scaling
 * out"): instances configured with the same sync.lease_dn share a lease
 * kept in the directory itself. The holder renews it every third of
 * sync.lease_ttl; an instance that sees the value unchanged for a whole
 * ttl (on its own clock, so clocks need not agree) takes it over with a
 * modify under the assertion control (RFC 4528), which only one can win.
 * The holder stops starting new work once a third of the ttl passes
 * without a renewal, so it has stopped before anyone may take over.
 */
#ifndef SMIMEPUB_LEASE_H
#define SMIMEPUB_LEASE_H

#include "common/cfg.h"

struct lease;

/* For cfg's sync.lease_dn (which must be set), with a directory connection
 * of its own; not yet looking. NULL logged. */
struct lease	*lease_new(const struct cfg *);
/* Stop looking; a held lease is given up (the value removed) so that a
 * standby takes over at once. */
void		 lease_free(struct lease *);
/* One look (and renewal or take-over) now: 1 held, 0 not, -1 the lease
 * could not be read (logged; a held lease stays held until it runs out). */
int		 lease_step(struct lease *);
/* Keep looking in a thread of its own. 0, or -1 logged. */
int		 lease_start(struct lease *);
/* A new configuration: the held lease is kept if its DN and attribute are
 * the same (cfg is borrowed from now on). 0, or -1 logged. */
int		 lease_reload(struct lease *, const struct cfg *);
/* Held, with at least a third of the ttl left: work may start. */
int		 lease_active(struct lease *);
/* 1 once after each take-over (the daemon then runs a full pass). */
int		 lease_gained(struct lease *);
/* Whether the value changed since lease_new: its holder is alive. */
int		 lease_renewed_by_other(struct lease *);
/*
 * Whether replica (the instance's own directory connection) has received
 * everything the lease authority had when first asked since the last 1:
 * 1 yes, 0 not yet, -1 it cannot tell (logged). Asked after a take-over
 * and before the first full pass, so that certificates the former holder
 * published on the authority's side are adopted, not issued again.
 */
struct dir;
int		 lease_caught_up(struct lease *, struct dir *replica);
/* The lease authority's URI, for messages. */
void		 lease_uri(struct lease *, char *buf, size_t sz);
/* Who holds it, as last read ("" if nobody), for messages. */
void		 lease_holder(struct lease *, char *buf, size_t sz);
/* The holder a lease value v names ("" when free or NULL, "someone" when it
 * names none), NUL-terminated in buf; tests/fuzz/fuzz_lease.c feeds it. */
void		 lease_value_holder(const char *v, char *buf, size_t sz);

#endif
