/*
 * enrol.h — the per-person engine that smimepub-sync and the CLI share:
 * one person's enrolment, renewal and revocation, step by step through the
 * journal (key, CSR, CA, check, record, escrow, deliver, publish by the
 * person's stable id), the pool of pre-generated keys, delivery of the
 * private key and its escrow. The CLI's enrol/renew/revoke/publish use it,
 * and the sync service runs it from its worker pool (sync/workers.c).
 * It sits on ldap/ and ca/, and knows nothing of the daemon: what the
 * daemon counts it learns through struct enr_observer.
 */
#ifndef SMIMEPUB_ENROL_H
#define SMIMEPUB_ENROL_H
#include <pthread.h>
#include <stddef.h>
#include <signal.h>
#include <stdatomic.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "common/cfg.h"
#include "common/jrnl.h"
#include "ldap/dir.h"

struct enr_keypool;
struct lease;

/*
 * What the engine tells its caller as it goes: smimepub-sync counts it in
 * its metrics (sync/metrics.c); the CLI listens to nothing. Called from
 * the worker threads. Either member may be NULL.
 */
struct enr_observer {
	/* a person failed in step failed_in (the state it was in);
	 * ca_unreachable: because the CA could not be asked, which is not
	 * counted as an attempt */
	void	(*failure)(enum jrnl_state failed_in, int ca_unreachable);
	/* one request to the CA (enrol, poll, revoke) took seconds */
	void	(*ca_request)(double seconds);
};

struct enr_ctx {
	const struct cfg *cfg;		/* borrowed, like the rest */
	struct dir	*dir;		/* one per thread */
	struct ca	*ca;		/* shared: calls under ca_lock */
	struct jrnl	*jrnl;
	pthread_mutex_t	*ca_lock;	/* NULL when single-threaded */
	struct enr_keypool	*keypool;	/* pre-generated keys; NULL: none */
	/* set by the first enrolment of a pass that could not reach the CA:
	 * the rest of the pass does not ask it (NULL: always ask) */
	atomic_int	*ca_down;
	/* set (by SIGTERM) to end the pass after each worker's current
	 * person: NULL, never */
	volatile sig_atomic_t *quit;
	/* sync.lease_dn: work only while it is held (NULL: always) */
	struct lease	*lease;
	/* --dry-run: sync_pass plans and prints, asks no CA, writes nothing;
	 * ca is NULL then */
	int		 dry_run;
	/* the plan's why of the leaver being acted on ("left: deleted"),
	 * for the audit log; NULL outside a leave */
	const char	*leave_why;
	/* who counts failures and CA requests; NULL: nobody */
	const struct enr_observer *observer;
};

enum enr_outcome {
	ENR_DONE = 0,		/* issued, delivered and published */
	ENR_PENDING,		/* the CA will answer later */
	ENR_FAILED,		/* reason logged; nothing unchecked published */
	ENR_NOTHING,		/* revoke: no certificate of ours to revoke;
				 * enr_enrol_addrs: nothing to issue */
	ENR_CA_DOWN,		/* the CA could not be asked (or not this pass):
				 * journalled FAILED, not counted as an attempt */
};

/*
 * Enrol (or renew: same steps, the new certificate replaces ours).
 * person_id, when the caller knows it (the sync pass), is where a failure
 * to even find the person is journalled; NULL from the command line.
 */
enum enr_outcome enr_enrol(struct enr_ctx *, const char *mail,
	    const char *person_id);
/*
 * enr_enrol for a change of the person's address set (an alias added,
 * removed, or now another entry's): ENR_NOTHING, with the new set
 * recorded, when the addresses the certificate is to name are still those
 * it names (an alias that changed is one left out as contested), so
 * nobody gets a new key for someone else's directory mistake.
 */
enum enr_outcome enr_enrol_addrs(struct enr_ctx *, const char *mail,
	    const char *person_id);
/* Revoke every certificate of ours for mail at the CA and unpublish it. */
/* person_id as for enr_enrol: the record closed when no entry is found. */
enum enr_outcome enr_revoke(struct enr_ctx *, const char *mail,
	    const char *person_id, int reason);
/*
 * Try again to take our (revoked) certificates off the entry of a leaver
 * who moved out of base where the directory refused it: 0 done (or nothing
 * left to try), 1 still refused (backing off), -1 on a journal error.
 */
int		 enr_unpublish_retry(struct enr_ctx *, const char *person_id);

/*
 * Publish cert (+ chain) on the entry of the person whose stable id is id,
 * wherever it is in the naming context: ours becomes the first value of
 * both attributes (dir_publish's rules), and every other certificate of
 * ours the entry held is taken off and journalled as unpublished. 0, or -1
 * logged (no entry with that id is an error).
 */
int		 enr_publish(struct jrnl *, struct dir *, const char *id,
		    X509 *cert, STACK_OF(X509) *chain);
/*
 * Take every certificate of ours off the entry of id, wherever it is, and
 * journal them as unpublished: 0 (*removed, may be NULL: how many), 1 no
 * such entry, DIR_REFUSED no write access there, -1 any other error; all
 * logged. *dn_out (may be NULL) gets the entry's DN, malloc'd, when found.
 */
int		 enr_unpublish(struct jrnl *, struct dir *, const char *id,
		    size_t *removed, char **dn_out);
/* dir_is_ours_fn over the journal (arg: the struct jrnl): ours is what the
 * journal records by issuer and serial. */
int		 enr_is_ours(X509 *cert, void *arg);

/*
 * Read people with the id this journal's person ids are values of
 * (idattr.c): the one recorded in it, or, for a journal that has none yet,
 * the one the directory gives (dir_probe_id_attr), recorded now. -1
 * (logged) when the flavour cannot read the recorded one, or on error:
 * the caller must not go on.
 */
int		 enr_id_attr(const struct cfg *, struct jrnl *, struct dir *);

/*
 * Key pool: a pool of pre-generated key pairs of keys.type, filled in
 * idle time by one low-priority thread of the sync daemon (keys.pool_size),
 * so a burst of new hires does not wait for RSA key generation. Memory
 * only: a pooled key is never written anywhere, and each is taken (removed)
 * once. Where OpenSSL's secure heap could be set up, the private halves of
 * all keys live in it (mlocked: never swapped, left out of core dumps).
 */
struct enr_keypool;

/* An empty pool holding nothing (size 0) until enr_keypool_config(). */
struct enr_keypool	*enr_keypool_new(void);
/* Stop the filler (a key in progress is abandoned) and free every key. */
void		 enr_keypool_free(struct enr_keypool *);
/*
 * Hold up to size keys of type (one of keys_type_valid()). Keys of another
 * type are freed at once, and so are keys beyond size. -1 logged for an
 * invalid type (the pool is then left as it was).
 */
int		 enr_keypool_config(struct enr_keypool *, const char *type, size_t size);
/* One key of type, removed from the pool; NULL if none is ready. NULL pool:
 * NULL. */
EVP_PKEY	*enr_keypool_take(struct enr_keypool *, const char *type);
/*
 * Give key of type to the pool: 0 kept, 1 not wanted (full, or another
 * type: the key is freed). The filler's way in; tests use it directly.
 */
int		 enr_keypool_put(struct enr_keypool *, const char *type, EVP_PKEY *key);
/*
 * Start the filler thread (nice 19): it generates keys while the pool is
 * below its size and not paused, and logs "key pool: N TYPE keys ready"
 * when it is full. -1 logged if the thread could not start.
 */
int		 enr_keypool_start(struct enr_keypool *);
/*
 * Privilege separation (kekproc.c): fork the process that alone makes,
 * reads and uses sync.state_dir/keystore.key, the journal's key-encryption
 * key, for every later seal and open of this program. Call before the
 * program starts a thread; without it (the CLI) the first use forks one.
 * 0, or -1 logged.
 */
int		 enr_kekproc_start(const struct cfg *);
void		 enr_kekproc_stop(void);
/* Pause (1) the filler while a pass runs, resume (0) after. NULL: no-op. */
void		 enr_keypool_pause(struct enr_keypool *, int paused);
/*
 * Put private keys in OpenSSL's secure heap, sized for size pooled keys
 * (once per process: later calls return what the first one did). 0 locked,
 * 1 set up but not locked (RLIMIT_MEMLOCK), -1 not available; logged.
 */
int		 enr_keypool_secure_heap(size_t size);

/*
 * Delivery and escrow: who hands a private key over: the PKCS#12 written to
 * keys.delivery_dir and the delivery command (deliver.c), and key escrow
 * to the key-recovery certificates with its recovery (escrow.c).
 * These two files and keys.c (generation) are the only ones that touch a
 * person's private key.
 */
#define ENR_PASS_BYTES	18	/* 144 bits of entropy, 24 base64url chars */
#define ENR_PASS_LEN	24

/*
 * Write key + cert (+ chain) as a PKCS#12 (PBES2: AES-256-CBC with PBKDF2,
 * SHA-256 MAC, keys.pkcs12_iterations) under a fresh random passphrase to
 * keys.delivery_dir (mode 0600: temp file, fsync, rename), then run
 * keys.delivery_command, if set, with the passphrase on its stdin and
 * SMIMEPUB_P12 / SMIMEPUB_MAIL in its environment. *p12_path (may be NULL)
 * receives the file's path (caller frees). The passphrase is cleansed.
 */
int	enr_deliver(const struct cfg_keys *, const char *mail, EVP_PKEY *key,
	    X509 *cert, STACK_OF(X509) *chain, char **p12_path);
/*
 * The same with several keys (common/keys.h): bags[0] the new one (its
 * serial names the file), then a signing key (keys.separate_signing) or
 * earlier decryption keys (keys.deliver_history), each with its
 * certificate and friendlyName.
 */
struct keys_bag;
int	enr_deliver_bags(const struct cfg_keys *, const char *mail,
	    const struct keys_bag *bags, size_t n, STACK_OF(X509) *chain,
	    char **p12_path);

/*
 * Write a PKCS#12 of key + cert with the given passphrase to path (0600,
 * atomic); used by delivery and by recovery.
 */
int	enr_write_p12(const char *path, const char *pass, EVP_PKEY *key,
	    X509 *cert, STACK_OF(X509) *chain, int iterations);

/*
 * Escrow: when keys.escrow_certs is set, store key as CMS EnvelopedData
 * (AES-256-CBC content, one recipient per key-recovery certificate) in
 * sync.state_dir/escrow/SERIAL.p7m (0600, atomic). 0 also when no escrow is
 * configured.
 */
int	enr_escrow(const struct cfg *, EVP_PKEY *key, X509 *cert);
/*
 * Open the escrowed key of cert with a recovery officer's key and
 * certificate (PEM files) and return it.
 */
/* The certificate stored beside the escrowed key of serial (hex). */
X509	*enr_escrow_cert(const struct cfg *, const char *serial);
EVP_PKEY *enr_escrow_open(const struct cfg *, X509 *cert,
	    const char *kra_key_path, const char *kra_cert_path);

#endif
