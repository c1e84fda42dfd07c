/*
 * deliver.c — hand a person's new private key over: a PKCS#12 under a
 * random passphrase in keys.delivery_dir, and the passphrase to the
 * delivery command on its stdin (never in argv or the environment, where
 * other local users could read it).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>

#include "common/file.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/run.h"
#include "common/x509.h"
#include "enrol/enrol.h"

#define ENR_CMD_TIMEOUT	60	/* keys.delivery_timeout unset (0) */

int
enr_write_p12(const char *path, const char *pass, EVP_PKEY *key, X509 *cert,
    STACK_OF(X509) *chain, int iterations)
{
	PKCS12 *p12 = NULL;
	unsigned char *der = NULL;
	int len, rc = -1;

	/* The key shrouded with PBES2, AES-256-CBC and PBKDF2 (RFC 8018
	 * §6.2). The certificates go in a plain SafeContents (RFC 7292 §4.1
	 * allows it; `openssl pkcs12 -certpbe NONE`): they are public, and a
	 * second PBKDF2 over them cost a third of the file's CPU for no
	 * secrecy. The MAC, which covers both, is set apart so it is SHA-256,
	 * not the SHA-1 of PKCS#12's default (RFC 7292 §5). */
	p12 = PKCS12_create(pass, NULL, key, cert, chain, NID_aes_256_cbc,
	    -1, iterations, -1, 0);
	if (p12 == NULL || PKCS12_set_mac(p12, pass, -1, NULL, 0, iterations,
	    EVP_sha256()) != 1) {
		log_ssl("%s: cannot build the PKCS#12", path);
		goto out;
	}
	if ((len = i2d_PKCS12(p12, &der)) <= 0) {
		log_ssl("%s: cannot encode the PKCS#12", path);
		goto out;
	}
	rc = file_write_atomic(path, der, (size_t)len, 0600);
out:
	OPENSSL_free(der);
	PKCS12_free(p12);
	return rc;
}

/* 144 random bits as base64url without padding (RFC 4648 §5). */
static int
enr_dlv_passphrase(char out[ENR_PASS_LEN + 1])
{
	static const char b64u[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char r[ENR_PASS_BYTES];
	size_t i, o = 0;

	if (RAND_priv_bytes(r, sizeof(r)) != 1) {
		log_ssl("cannot draw a random passphrase");
		return -1;
	}
	for (i = 0; i < sizeof(r); i += 3) {
		unsigned v = (unsigned)r[i] << 16 | (unsigned)r[i + 1] << 8 |
		    r[i + 2];

		out[o++] = b64u[(v >> 18) & 63];
		out[o++] = b64u[(v >> 12) & 63];
		out[o++] = b64u[(v >> 6) & 63];
		out[o++] = b64u[v & 63];
	}
	out[o] = '\0';
	OPENSSL_cleanse(r, sizeof(r));
	return 0;
}

/* A file name from the address: keep [A-Za-z0-9.@+_-], map the rest. */
static void
enr_dlv_safe_name(char *dst, size_t dstsz, const char *mail)
{
	size_t i;
	char c;

	for (i = 0; mail[i] != '\0' && i + 1 < dstsz; i++) {
		c = mail[i];
		dst[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '@' ||
		    c == '+' || c == '_' || c == '-') ? c : '_';
	}
	dst[i] = '\0';
	if (dst[0] == '.')
		dst[0] = '_';
}

/*
 * Run the delivery command with the passphrase on its stdin, through the
 * shared runner (common/run.c): no shell, its own process group, only its
 * pipes open (no other worker's passphrase pipe leaks into it), a minimal
 * environment (PATH, SMIMEPUB_P12, SMIMEPUB_MAIL: nothing of ours, no
 * credential of the daemon's), killed with its group after
 * keys.delivery_timeout.
 */
static int
enr_dlv_run(const struct cfg_keys *k, const char *p12, const char *mail,
    const char *pass)
{
	const char *vars[] = { "SMIMEPUB_P12", p12, "SMIMEPUB_MAIL", mail,
	    NULL };
	char in[ENR_PASS_LEN + 2], what[PATH_MAX + 64], *why = NULL;
	struct run_out o;
	struct run_cmd c;
	int rc = -1;

	snprintf(in, sizeof(in), "%s\n", pass);
	snprintf(what, sizeof(what), "keys.delivery_command %s for %s",
	    k->delivery_command, mail);
	memset(&c, 0, sizeof(c));
	c.path = k->delivery_command;
	c.what = what;
	c.timeout_key = "keys.delivery_timeout";
	c.timeout = k->delivery_timeout > 0 ? k->delivery_timeout :
	    ENR_CMD_TIMEOUT;
	c.minimal_env = 1;
	c.vars = vars;
	c.out_max = 4096;	/* read and dropped: it need print nothing */
	c.err_max = 4096;	/* its first line goes into the reason */
	if (run_cmd(&c, in, strlen(in), &o) == -1)
		goto out;
	if (o.status != 0) {
		why = run_first_line(o.err, o.errlen, 200);
		log_err("keys.delivery_command %s failed for %s (%s %d%s)%s%s",
		    k->delivery_command, mail, o.sig ? "signal" : "exit",
		    o.sig ? o.sig : o.status, o.status == 127 ?
		    ": not found or not executable" : "",
		    why != NULL && *why != '\0' ? ": " : "",
		    why != NULL ? why : "");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(in, sizeof(in));
	free(why);
	run_out_clear(&o);
	return rc;
}

int
enr_deliver(const struct cfg_keys *k, const char *mail, EVP_PKEY *key,
    X509 *cert, STACK_OF(X509) *chain, char **p12_path)
{
	struct keys_bag b;

	b.key = key;
	b.cert = cert;
	b.name = NULL;
	return enr_deliver_bags(k, mail, &b, 1, chain, p12_path);
}

int
enr_deliver_bags(const struct cfg_keys *k, const char *mail,
    const struct keys_bag *bags, size_t n, STACK_OF(X509) *chain,
    char **p12_path)
{
	char pass[ENR_PASS_LEN + 1], name[128], path[PATH_MAX];
	char *serial = NULL;
	int rc = -1;

	if (p12_path != NULL)
		*p12_path = NULL;
	memset(pass, 0, sizeof(pass));
	if (n == 0 || (serial = x509_serial_hex(bags[0].cert)) == NULL)
		goto out;
	enr_dlv_safe_name(name, sizeof(name), mail);
	if (snprintf(path, sizeof(path), "%s/%s.%s.p12", k->delivery_dir, name,
	    serial) >= (int)sizeof(path)) {
		log_err("keys.delivery_dir %s: path too long", k->delivery_dir);
		goto out;
	}
	if (file_mkdirs(k->delivery_dir, 0700) == -1)
		goto out;
	if (enr_dlv_passphrase(pass) == -1)
		goto out;
	/* one key: as ever; more (a signing key, earlier decryption keys):
	 * each named and paired with its certificate (keys_p12.c) */
	if (n == 1 && bags[0].name == NULL ? enr_write_p12(path, pass,
	    bags[0].key, bags[0].cert, chain, k->pkcs12_iterations) == -1 :
	    keys_p12_write(path, pass, bags, n, chain,
	    k->pkcs12_iterations) == -1)
		goto out;
	if (k->delivery_command != NULL &&
	    enr_dlv_run(k, path, mail, pass) == -1)
		goto out;
	if (p12_path != NULL && (*p12_path = strdup(path)) == NULL)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(pass, sizeof(pass));
	free(serial);
	return rc;
}
