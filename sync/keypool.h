/*
 * keypool.h — a pool of pre-generated key pairs of keys.type, filled in
 * idle time by one low-priority thread of the sync daemon (keys.pool_size),
 * so a burst of new hires does not wait for RSA key generation. Memory
 * only: a pooled key is never written anywhere, and each is taken (removed)
 * once. Where OpenSSL's secure heap could be set up, the private halves of
 * all keys live in it (mlocked: never swapped, left out of core dumps).
 */
#ifndef SMIMEPUB_KEYPOOL_H
#define SMIMEPUB_KEYPOOL_H

#include <stddef.h>

#include <openssl/evp.h>

struct kp_pool;

/* An empty pool holding nothing (size 0) until kp_config(). */
struct kp_pool	*kp_new(void);
/* Stop the filler (a key in progress is abandoned) and free every key. */
void		 kp_free(struct kp_pool *);
/*
 * Hold up to size keys of type (one of keys_type_valid()). Keys of another
 * type are freed at once, and so are keys beyond size. -1 logged for an
 * invalid type (the pool is then left as it was).
 */
int		 kp_config(struct kp_pool *, const char *type, size_t size);
/* One key of type, removed from the pool; NULL if none is ready. NULL pool:
 * NULL. */
EVP_PKEY	*kp_take(struct kp_pool *, const char *type);
/*
 * Give key of type to the pool: 0 kept, 1 not wanted (full, or another
 * type: the key is freed). The filler's way in; tests use it directly.
 */
int		 kp_put(struct kp_pool *, const char *type, EVP_PKEY *key);
/* Keys ready now. */
size_t		 kp_count(struct kp_pool *);
/*
 * Start the filler thread (nice 19): it generates keys while the pool is
 * below its size and not paused, and logs "key pool: N TYPE keys ready"
 * when it is full. -1 logged if the thread could not start.
 */
int		 kp_start(struct kp_pool *);
/* Pause (1) the filler while a pass runs, resume (0) after. NULL: no-op. */
void		 kp_pause(struct kp_pool *, int paused);
/*
 * Put private keys in OpenSSL's secure heap, sized for size pooled keys
 * (once per process: later calls return what the first one did). 0 locked,
 * 1 set up but not locked (RLIMIT_MEMLOCK), -1 not available; logged.
 */
int		 kp_secure_heap(size_t size);

/* Whether the filler is generating a key now; how many keys in progress it
 * dropped (type changed, or shutdown) rather than finished. */
int		 kp_busy(struct kp_pool *);
unsigned long	 kp_abandoned(struct kp_pool *);

#endif
