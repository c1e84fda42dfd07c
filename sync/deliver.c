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
#include "common/log.h"
#include "common/x509.h"
#include "sync/deliver.h"

extern char **environ;

#define DLV_CMD_TIMEOUT	60	/* seconds the delivery command may take */

int
dlv_write_p12(const char *path, const char *pass, EVP_PKEY *key, X509 *cert,
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
dlv_passphrase(char out[DLV_PASS_LEN + 1])
{
	static const char b64u[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char r[DLV_PASS_BYTES];
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
dlv_safe_name(char *dst, size_t dstsz, const char *mail)
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

/* Run cmd with the passphrase on stdin; killed after DLV_CMD_TIMEOUT. */
static int
dlv_run(const char *cmd, const char *p12, const char *mail, const char *pass)
{
	int pfd[2] = { -1, -1 }, status, rc = -1;
	size_t len = strlen(pass), off = 0, n_env, i, j;
	char **env = NULL, *e_p12 = NULL, *e_mail = NULL, *argv[2];
	time_t deadline;
	pid_t pid = -1, w;
	ssize_t n;

	/* The environment is built before fork: the child of a threaded
	 * process may only call async-signal-safe functions before exec. */
	for (n_env = 0; environ[n_env] != NULL; n_env++)
		;
	if ((env = calloc(n_env + 3, sizeof(*env))) == NULL ||
	    asprintf(&e_p12, "SMIMEPUB_P12=%s", p12) == -1 ||
	    asprintf(&e_mail, "SMIMEPUB_MAIL=%s", mail) == -1) {
		e_p12 = e_mail = NULL;
		log_err("keys.delivery_command: out of memory");
		goto out;
	}
	for (i = 0, j = 0; i < n_env; i++)
		if (strncmp(environ[i], "SMIMEPUB_", 9) != 0)
			env[j++] = environ[i];
	env[j++] = e_p12;
	env[j++] = e_mail;
	env[j] = NULL;
	if (pipe(pfd) == -1) {
		log_err("keys.delivery_command: pipe: %s", strerror(errno));
		goto out;
	}
	if ((pid = fork()) == -1) {
		log_err("keys.delivery_command: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		if (dup2(pfd[0], STDIN_FILENO) == -1)
			_exit(127);
		close(pfd[0]);
		close(pfd[1]);
		argv[0] = (char *)cmd;
		argv[1] = NULL;
		execve(cmd, argv, env);
		_exit(127);	/* the parent reports exit 127 with the path */
	}
	close(pfd[0]);
	pfd[0] = -1;
	signal(SIGPIPE, SIG_IGN);
	while (off < len) {
		n = write(pfd[1], pass + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* the command need not read it all */
		off += (size_t)n;
	}
	if (off == len && write(pfd[1], "\n", 1) != 1)
		log_debug("keys.delivery_command: did not read the newline");
	close(pfd[1]);
	pfd[1] = -1;
	deadline = time(NULL) + DLV_CMD_TIMEOUT;
	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w == -1 && errno != EINTR) {
			log_err("keys.delivery_command: waitpid: %s",
			    strerror(errno));
			goto out;
		}
		if (time(NULL) >= deadline) {
			kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			log_err("keys.delivery_command %s: killed after %d s "
			    "for %s", cmd, DLV_CMD_TIMEOUT, mail);
			pid = -1;
			goto out;
		}
		poll(NULL, 0, 50);
	}
	pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_err("keys.delivery_command %s failed for %s (%s %d%s)", cmd,
		    mail, WIFEXITED(status) ? "exit" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
		    WIFEXITED(status) && WEXITSTATUS(status) == 127 ?
		    ": not found or not executable" : "");
		goto out;
	}
	rc = 0;
out:
	if (pfd[0] != -1)
		close(pfd[0]);
	if (pfd[1] != -1)
		close(pfd[1]);
	if (pid > 0) {
		kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
	}
	free(env);
	free(e_p12);
	free(e_mail);
	return rc;
}

int
dlv_deliver(const struct cfg_keys *k, const char *mail, EVP_PKEY *key,
    X509 *cert, STACK_OF(X509) *chain, char **p12_path)
{
	char pass[DLV_PASS_LEN + 1], name[128], path[PATH_MAX];
	char *serial = NULL;
	int rc = -1;

	if (p12_path != NULL)
		*p12_path = NULL;
	memset(pass, 0, sizeof(pass));
	if ((serial = x509_serial_hex(cert)) == NULL)
		goto out;
	dlv_safe_name(name, sizeof(name), mail);
	if (snprintf(path, sizeof(path), "%s/%s.%s.p12", k->delivery_dir, name,
	    serial) >= (int)sizeof(path)) {
		log_err("keys.delivery_dir %s: path too long", k->delivery_dir);
		goto out;
	}
	if (file_mkdirs(k->delivery_dir, 0700) == -1)
		goto out;
	if (dlv_passphrase(pass) == -1)
		goto out;
	if (dlv_write_p12(path, pass, key, cert, chain,
	    k->pkcs12_iterations) == -1)
		goto out;
	if (k->delivery_command != NULL &&
	    dlv_run(k->delivery_command, path, mail, pass) == -1)
		goto out;
	if (p12_path != NULL && (*p12_path = strdup(path)) == NULL)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(pass, sizeof(pass));
	free(serial);
	return rc;
}
