/*
 * keypool.c — keys.pool_size key pairs of keys.type generated ahead of need
 * by one nice-19 thread while no pass runs, handed out once each to
 * enrolments (enrol/enrol.c), which generate their own when the pool is
 * empty. The pool is in memory only, never on disk, not even encrypted: a
 * key-encryption key would have to sit on the same machine. Private halves
 * go to OpenSSL's secure heap (mlocked, not in core dumps) where it can be
 * had. A key in progress is abandoned (keygen callback) on shutdown or when
 * the type changes, so SIGTERM never waits for an RSA generation.
 */
#include <sys/resource.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common/keys.h"
#include "common/log.h"
#include "enrol/enrol.h"
#include "enrol/enrol_priv.h"

#define KP_TYPE_MAX	16
#define KP_RETRY_SEC	30	/* after a failed generation */
#define KP_HEAP_PER_KEY	8192	/* an RSA-4096 private key needs ~2.5 KB */
#define KP_HEAP_SPARE	256	/* keys' worth for workers and the CA */
#define KP_HEAP_MAX	((size_t)1 << 30)

struct enr_keypool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* the filler waits on it */
	pthread_t	 tid;
	int		 started;
	int		 paused;
	int		 announced;	/* "keys ready" said since the config */
	int		 heap_said;	/* "secure heap half full" said */
	EVP_PKEY	**keys;
	size_t		 n, size, cap;
	char		 type[KP_TYPE_MAX];
	atomic_int	 stop;
	atomic_uint	 gen;		/* bumped when the type changes */
	unsigned	 filling;	/* gen of the key in progress (filler) */
	int		 busy;		/* a key is in progress */
	unsigned long	 abandoned;	/* keys in progress dropped */
};

static int enr_keypool_heap_rc = -2;	/* enr_keypool_secure_heap(): not tried yet */
static size_t enr_keypool_heap_size;

struct enr_keypool *
enr_keypool_new(void)
{
	struct enr_keypool *p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_err("key pool: out of memory");
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	atomic_init(&p->stop, 0);
	atomic_init(&p->gen, 0);
	return p;
}

void
enr_keypool_free(struct enr_keypool *p)
{
	size_t i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	atomic_store(&p->stop, 1);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (p->started)
		pthread_join(p->tid, NULL);
	for (i = 0; i < p->n; i++)
		EVP_PKEY_free(p->keys[i]);	/* cleanses the key */
	free(p->keys);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

int
enr_keypool_secure_heap(size_t size)
{
	size_t want, hsz = (size_t)1 << 20;
	int rc;

	if (enr_keypool_heap_rc != -2)
		return enr_keypool_heap_rc;
	if (size > KP_HEAP_MAX / KP_HEAP_PER_KEY)
		size = KP_HEAP_MAX / KP_HEAP_PER_KEY;
	want = (size + KP_HEAP_SPARE) * KP_HEAP_PER_KEY;
	while (hsz < want && hsz < KP_HEAP_MAX)
		hsz <<= 1;
	if (CRYPTO_secure_malloc_initialized()) {
		enr_keypool_heap_rc = 0;		/* someone else's: trust it */
		return enr_keypool_heap_rc;
	}
	rc = CRYPTO_secure_malloc_init(hsz, 16);
	if (rc == 1) {
		log_info("key pool: private keys in a locked secure heap of "
		    "%zu KiB", hsz / 1024);
		enr_keypool_heap_rc = 0;
	} else if (rc == 2) {
		log_warn("key pool: the secure heap of %zu KiB could not be "
		    "locked in memory (RLIMIT_MEMLOCK?): private keys may be "
		    "swapped out", hsz / 1024);
		enr_keypool_heap_rc = 1;
	} else {
		log_warn("key pool: no secure heap of %zu KiB; private keys "
		    "are in ordinary memory", hsz / 1024);
		ERR_clear_error();
		enr_keypool_heap_rc = -1;
	}
	if (enr_keypool_heap_rc >= 0)
		enr_keypool_heap_size = hsz;
	return enr_keypool_heap_rc;
}

int
enr_keypool_config(struct enr_keypool *p, const char *type, size_t size)
{
	EVP_PKEY **nk;
	size_t i, keep;
	int changed;

	if (type == NULL || !keys_type_valid(type) ||
	    strlen(type) >= KP_TYPE_MAX) {
		log_err("key pool: key type \"%s\" is not one of rsa:2048, "
		    "rsa:3072, rsa:4096, ec:P-256, ec:P-384",
		    type ? type : "(none)");
		return -1;
	}
	if (size > 0)
		(void)enr_keypool_secure_heap(size);
	pthread_mutex_lock(&p->mu);
	if (size > p->cap) {
		if ((nk = realloc(p->keys, size * sizeof(*nk))) == NULL) {
			pthread_mutex_unlock(&p->mu);
			log_err("key pool: out of memory for %zu keys", size);
			return -1;
		}
		p->keys = nk;
		p->cap = size;
	}
	changed = strcmp(p->type, type) != 0;
	/* a pool of the wrong type is of no use: free it now */
	keep = changed ? 0 : (p->n < size ? p->n : size);
	for (i = keep; i < p->n; i++) {
		EVP_PKEY_free(p->keys[i]);
		p->keys[i] = NULL;
	}
	if (p->n > keep)
		log_info("key pool: %zu %s keys discarded (now %zu %s)",
		    p->n - keep, p->type, size, type);
	p->n = keep;
	if (changed || size != p->size)
		p->announced = 0;
	if (changed)
		atomic_fetch_add(&p->gen, 1);	/* abandon one in progress */
	snprintf(p->type, sizeof(p->type), "%s", type);
	p->size = size;
	p->heap_said = 0;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

EVP_PKEY *
enr_keypool_take(struct enr_keypool *p, const char *type)
{
	EVP_PKEY *key = NULL;

	if (p == NULL || type == NULL)
		return NULL;
	pthread_mutex_lock(&p->mu);
	if (p->n > 0 && strcmp(p->type, type) == 0) {
		key = p->keys[--p->n];
		p->keys[p->n] = NULL;
		pthread_cond_signal(&p->cv);	/* room to fill */
		log_debug("key pool: took a %s key, %zu left", p->type, p->n);
	}
	pthread_mutex_unlock(&p->mu);
	return key;
}

/* Under p->mu. */
static int
enr_keypool_put_locked(struct enr_keypool *p, const char *type, EVP_PKEY *key)
{
	if (p->n >= p->size || strcmp(p->type, type) != 0) {
		EVP_PKEY_free(key);
		return 1;
	}
	p->keys[p->n++] = key;
	if (p->n == p->size) {
		if (!p->announced)
			log_info("key pool: %zu %s keys ready", p->n, p->type);
		else
			log_debug("key pool: %zu %s keys ready", p->n,
			    p->type);
		p->announced = 1;
	}
	return 0;
}

int
enr_keypool_put(struct enr_keypool *p, const char *type, EVP_PKEY *key)
{
	int rc;

	pthread_mutex_lock(&p->mu);
	rc = enr_keypool_put_locked(p, type, key);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

size_t
enr_keypool_count(struct enr_keypool *p)
{
	size_t n;

	pthread_mutex_lock(&p->mu);
	n = p->n;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void
enr_keypool_pause(struct enr_keypool *p, int paused)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->paused = paused;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* OpenSSL's keygen progress callback: 0 abandons the key in progress. */
static int
enr_keypool_gen_cb(EVP_PKEY_CTX *ctx)
{
	struct enr_keypool *p = EVP_PKEY_CTX_get_app_data(ctx);

	return !atomic_load(&p->stop) && atomic_load(&p->gen) == p->filling;
}

/* A key of type (valid: enr_keypool_config checked it); NULL if abandoned/failed. */
static EVP_PKEY *
enr_keypool_generate(struct enr_keypool *p, const char *type)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key = NULL;
	int rsa = strncmp(type, "rsa:", 4) == 0;

	ctx = EVP_PKEY_CTX_new_from_name(NULL, rsa ? "RSA" : "EC", NULL);
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0)
		goto out;
	if (rsa ? EVP_PKEY_CTX_set_rsa_keygen_bits(ctx,
	    atoi(type + 4)) <= 0 :
	    EVP_PKEY_CTX_set_group_name(ctx, type + 3) <= 0)
		goto out;
	EVP_PKEY_CTX_set_app_data(ctx, p);
	EVP_PKEY_CTX_set_cb(ctx, enr_keypool_gen_cb);
	if (EVP_PKEY_generate(ctx, &key) <= 0)
		key = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/* Under p->mu: 1 if the filler has nothing to do now. */
static int
enr_keypool_idle(struct enr_keypool *p)
{
	if (p->paused || p->n >= p->size)
		return 1;
	if (enr_keypool_heap_size > 0 && CRYPTO_secure_used() >= enr_keypool_heap_size / 2) {
		/* leave the other half to the workers and the CA */
		if (!p->heap_said)
			log_warn("key pool: the secure heap is half full at "
			    "%zu %s keys; not filling further", p->n,
			    p->type);
		p->heap_said = 1;
		return 1;
	}
	return 0;
}

static void *
enr_keypool_main(void *arg)
{
	struct enr_keypool *p = arg;
	struct timespec until;
	char type[KP_TYPE_MAX];
	EVP_PKEY *key;

	/* on Linux a thread has its own nice value: yield to the workers */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), 19) == -1)
		log_debug("key pool: setpriority: %s", strerror(errno));
	pthread_mutex_lock(&p->mu);
	while (!atomic_load(&p->stop)) {
		if (enr_keypool_idle(p)) {
			pthread_cond_wait(&p->cv, &p->mu);
			continue;
		}
		memcpy(type, p->type, sizeof(type));
		p->filling = atomic_load(&p->gen);
		p->busy = 1;
		pthread_mutex_unlock(&p->mu);
		key = enr_keypool_generate(p, type);
		pthread_mutex_lock(&p->mu);
		p->busy = 0;
		if (key != NULL) {
			(void)enr_keypool_put_locked(p, type, key);
			continue;
		}
		if (atomic_load(&p->stop) || atomic_load(&p->gen) != p->filling) {
			ERR_clear_error();	/* abandoned on purpose */
			p->abandoned++;
			continue;
		}
		log_ssl("key pool: generating a %s key failed; trying again "
		    "in %d s", type, KP_RETRY_SEC);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += KP_RETRY_SEC;
		while (!atomic_load(&p->stop) &&
		    atomic_load(&p->gen) == p->filling &&
		    pthread_cond_timedwait(&p->cv, &p->mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int
enr_keypool_start(struct enr_keypool *p)
{
	int err;

	if (p->started)
		return 0;
	if ((err = pthread_create(&p->tid, NULL, enr_keypool_main, p)) != 0) {
		log_err("key pool: cannot start the filler: %s", strerror(err));
		return -1;
	}
	p->started = 1;
	return 0;
}

int
enr_keypool_busy(struct enr_keypool *p)
{
	int b;

	pthread_mutex_lock(&p->mu);
	b = p->busy;
	pthread_mutex_unlock(&p->mu);
	return b;
}

unsigned long
enr_keypool_abandoned(struct enr_keypool *p)
{
	unsigned long n;

	pthread_mutex_lock(&p->mu);
	n = p->abandoned;
	pthread_mutex_unlock(&p->mu);
	return n;
}
