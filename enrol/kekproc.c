/*
 * kekproc.c — the journal's key-encryption key lives in a key process of
 * its own (common/kproc.h, as acme-client's acctproc): only that process
 * makes and reads sync.state_dir/keystore.key, and it seals and opens the
 * values keystore.c holds in the journal, AES-256-GCM (NIST SP 800-38D)
 * with the person id as additional data. The KEK is read once, when the
 * process starts: smimepub-sync starts it before any thread
 * (enr_kekproc_start); the CLI and the tests start one on first use.
 *
 * Requests: SEAL (items: person id, plaintext) -> IV || ciphertext || tag;
 * OPEN (items: person id, IV || ciphertext || tag) -> plaintext.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/kproc.h"
#include "common/log.h"
#include "enrol/enrol.h"
#include "enrol/enrol_priv.h"

#define KEK_LEN		32		/* AES-256 */
#define KEK_HEX		(2 * KEK_LEN)
enum { KEK_SEAL = 1, KEK_OPEN = 2 };

struct kek {
	char		 dir[PATH_MAX];
	char		 path[PATH_MAX];
	unsigned char	 key[KEK_LEN];
};

static pthread_mutex_t	 kek_mu = PTHREAD_MUTEX_INITIALIZER;
static struct kproc	*kek_kp;		/* the program's */
static char		 kek_dir[PATH_MAX];	/* the state_dir it serves */

/* Make the KEK file once: temp file, fsync, link (never over another). */
static int
kek_create(const struct kek *k, char *err, size_t sz)
{
	unsigned char rnd[KEK_LEN];
	char hex[KEK_HEX + 1], tmp[PATH_MAX];
	int fd = -1, rc = -1;
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		snprintf(err, sz, "%s: no random bytes", k->path);
		goto out;
	}
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	hex[KEK_HEX] = '\n';
	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", k->path,
	    (long)getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, sz, "%s: path too long", k->path);
		goto out;
	}
	if (mkdir(k->dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, sz, "sync.state_dir %s: %s", k->dir,
		    strerror(errno));
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1 || write(fd, hex, KEK_HEX + 1) != KEK_HEX + 1 ||
	    fsync(fd) == -1) {
		snprintf(err, sz, "%s: cannot write: %s", tmp, strerror(errno));
		goto out;
	}
	/* link, not rename: another process may have made (and sealed
	 * with) one meanwhile */
	if (link(tmp, k->path) == -1 && errno != EEXIST) {
		snprintf(err, sz, "%s: cannot create: %s", k->path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1) {
		close(fd);
		(void)unlink(tmp);
	}
	OPENSSL_cleanse(rnd, sizeof(rnd));
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

/* In the key process: read (or first make) the KEK; never logs. */
static int
kek_init(void *arg, char *err, size_t sz)
{
	struct kek *k = arg;
	char hex[KEK_HEX + 3];
	struct stat st;
	size_t n = 0;
	ssize_t len;
	int fd, rc = -1;

	if (stat(k->path, &st) == -1 && errno == ENOENT &&
	    kek_create(k, err, sz) == -1)
		return -1;
	if ((fd = open(k->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, sz, "%s: cannot open: %s", k->path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, sz, "%s: not a regular file of mode 0600 or "
		    "0400; refusing it", k->path);
		goto out;
	}
	/* 64 hexadecimal digits and an optional newline */
	len = read(fd, hex, sizeof(hex) - 1);
	if (len > 0 && hex[len - 1] == '\n')
		len--;
	hex[len > 0 ? len : 0] = '\0';
	if (len != KEK_HEX || OPENSSL_hexstr2buf_ex(k->key, KEK_LEN, &n, hex,
	    '\0') != 1 || n != KEK_LEN) {
		ERR_clear_error();
		snprintf(err, sz, "%s: not %d hexadecimal digits", k->path,
		    KEK_HEX);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(hex, sizeof(hex));
	close(fd);
	return rc;
}

/* AES-256-GCM of in under the KEK with aad; enc 1 seals, 0 opens. */
static int
kek_gcm(const struct kek *k, int enc, const unsigned char *iv,
    const unsigned char *aad, size_t aadlen, const unsigned char *in,
    size_t inlen, unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *c = NULL;
	int n = 0, rc = -1;

	if (inlen > INT_MAX || aadlen > INT_MAX ||
	    (c = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL,
	    enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, ENR_KS_IVLEN,
	    NULL) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, k->key, iv, enc) != 1 ||
	    EVP_CipherUpdate(c, NULL, &n, aad, (int)aadlen) != 1 ||
	    EVP_CipherUpdate(c, out, &n, in, (int)inlen) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG,
	    ENR_KS_TAGLEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + n, &n) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG,
	    ENR_KS_TAGLEN, tag) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int
enr_kek_request(const unsigned char *req, size_t len,
    const unsigned char **aad, size_t *aadlen, const unsigned char **data,
    size_t *datalen)
{
	const unsigned char *d;
	size_t off = 0, dl;

	if (kproc_item(req, len, &off, aad, aadlen) != 0 ||
	    kproc_item(req, len, &off, data, datalen) != 0 ||
	    kproc_item(req, len, &off, &d, &dl) != 1)
		return -1;	/* not exactly two items */
	/* a person id: printable, as the journal keys it */
	if (*aadlen < 1 || *aadlen > ENR_KEK_AAD_MAX ||
	    memchr(*aad, '\0', *aadlen) != NULL || *datalen > ENR_KS_MAX)
		return -1;
	return 0;
}

static int
kek_serve(void *arg, uint8_t op, const unsigned char *req, size_t len,
    struct kproc_buf *ans, char *err, size_t sz)
{
	const struct kek *k = arg;
	const unsigned char *aad, *in;
	unsigned char *out = NULL, tag[ENR_KS_TAGLEN];
	size_t aadlen, inlen, outlen;
	int rc = -1;

	if ((op != KEK_SEAL && op != KEK_OPEN) || enr_kek_request(req, len,
	    &aad, &aadlen, &in, &inlen) == -1 || (op == KEK_OPEN &&
	    inlen < ENR_KS_IVLEN + ENR_KS_TAGLEN)) {
		snprintf(err, sz, "a malformed request");
		return -1;
	}
	outlen = op == KEK_SEAL ? ENR_KS_IVLEN + inlen + ENR_KS_TAGLEN :
	    inlen - ENR_KS_IVLEN - ENR_KS_TAGLEN;
	if ((out = OPENSSL_malloc(outlen + 1)) == NULL) {
		snprintf(err, sz, "out of memory");
		return -1;
	}
	if (op == KEK_SEAL) {
		if (RAND_bytes(out, ENR_KS_IVLEN) != 1 || kek_gcm(k, 1, out,
		    aad, aadlen, in, inlen, out + ENR_KS_IVLEN, out +
		    ENR_KS_IVLEN + inlen) == -1) {
			snprintf(err, sz, "%.*s: cannot seal the key",
			    (int)aadlen, aad);
			goto out;
		}
	} else {
		memcpy(tag, in + ENR_KS_IVLEN + outlen, ENR_KS_TAGLEN);
		if (kek_gcm(k, 0, in, aad, aadlen, in + ENR_KS_IVLEN, outlen,
		    out, tag) == -1) {
			snprintf(err, sz, "%.*s: the held key does not open "
			    "with %s (replaced key file, or the journal was "
			    "altered)", (int)aadlen, aad, k->path);
			goto out;
		}
	}
	rc = kproc_append(ans, out, outlen);
out:
	ERR_clear_error();
	OPENSSL_clear_free(out, outlen + 1);
	return rc;
}

/* Fork the KEK process for state_dir; NULL logged. */
static struct kproc *
kek_spawn(const char *state_dir)
{
	struct kproc_server srv;
	struct kproc *kp;
	struct kek *k;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		log_err("sync.state_dir %s: out of memory", state_dir);
		return NULL;
	}
	if (snprintf(k->dir, sizeof(k->dir), "%s", state_dir) >=
	    (int)sizeof(k->dir) || snprintf(k->path, sizeof(k->path),
	    "%s/keystore.key", state_dir) >= (int)sizeof(k->path)) {
		log_err("sync.state_dir %s: path too long", state_dir);
		free(k);
		return NULL;
	}
	memset(&srv, 0, sizeof(srv));
	srv.name = "keystore";
	srv.comm = "smimepub-kek";
	srv.init = kek_init;
	srv.serve = kek_serve;
	srv.arg = k;
	kp = kproc_start(&srv);
	free(k);	/* the parent never read the KEK */
	return kp;
}

int
enr_kekproc_start(const struct cfg *cfg)
{
	int rc = 0;

	kproc_set_forked_early();
	pthread_mutex_lock(&kek_mu);
	if (kek_kp == NULL) {
		if ((kek_kp = kek_spawn(cfg->sync.state_dir)) == NULL)
			rc = -1;
		else
			snprintf(kek_dir, sizeof(kek_dir), "%s",
			    cfg->sync.state_dir);
	}
	pthread_mutex_unlock(&kek_mu);
	return rc;
}

void
enr_kekproc_stop(void)
{
	pthread_mutex_lock(&kek_mu);
	kproc_stop(kek_kp);
	kek_kp = NULL;
	kek_dir[0] = '\0';
	pthread_mutex_unlock(&kek_mu);
}

/* The KEK process for state_dir, started here unless the program started
 * its own at start; NULL logged. Called under kek_mu. */
static struct kproc *
kek_get(const char *state_dir)
{
	if (kek_kp != NULL && strcmp(kek_dir, state_dir) == 0)
		return kek_kp;
	if (kproc_forked_early()) {
		log_err("sync.state_dir %s: the keystore key process was "
		    "started for %s; restart the program", state_dir,
		    kek_kp != NULL ? kek_dir : "no state_dir");
		return NULL;
	}
	kproc_stop(kek_kp);	/* another state_dir (the tests) */
	kek_dir[0] = '\0';
	if ((kek_kp = kek_spawn(state_dir)) != NULL)
		snprintf(kek_dir, sizeof(kek_dir), "%s", state_dir);
	return kek_kp;
}

int
enr_kek_call(const char *state_dir, int seal, const char *person_id,
    const unsigned char *in, size_t inlen, struct kproc_buf *ans)
{
	struct kproc_buf req = { NULL, 0 };
	struct kproc *kp;
	size_t want;
	int rc = -1;

	memset(ans, 0, sizeof(*ans));
	if (!seal && inlen < ENR_KS_IVLEN + ENR_KS_TAGLEN)
		return -1;
	want = seal ? ENR_KS_IVLEN + inlen + ENR_KS_TAGLEN :
	    inlen - ENR_KS_IVLEN - ENR_KS_TAGLEN;
	if (kproc_put(&req, person_id, strlen(person_id)) == -1 ||
	    kproc_put(&req, in, inlen) == -1) {
		log_err("%s: keystore: out of memory", person_id);
		goto out;
	}
	pthread_mutex_lock(&kek_mu);
	kp = kek_get(state_dir);
	pthread_mutex_unlock(&kek_mu);
	if (kp == NULL || kproc_call(kp, seal ? KEK_SEAL : KEK_OPEN,
	    req.data, req.len, ans) == -1)
		goto out;
	if (ans->len != want) {
		log_err("%s: the keystore key process answered %zu bytes, not "
		    "%zu", person_id, ans->len, want);
		kproc_buf_free(ans);
		goto out;
	}
	rc = 0;
out:
	kproc_buf_free(&req);
	return rc;
}
