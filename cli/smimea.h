/*
 * smimea.h — the pure part of `smimepub export-smimea`: DNS SMIMEA records
 * (RFC 8162), in smimea.c. Kept apart from the command (cli/cmd_smimea.c)
 * so the unit tests check it without a directory.
 *
 * RFC 8162 §3: the owner is hex(SHA2-256(local-part)) truncated to 28
 * octets (56 hex digits), then "_smimecert", then the domain of the address.
 * RDATA (§2, the TLSA RDATA of RFC 6698 §2.1): usage, selector (0 the whole
 * certificate DER, 1 its SubjectPublicKeyInfo DER), matching type (0 exact,
 * 1 SHA-256, 2 SHA-512) and the association data.
 */
#ifndef SMIMEPUB_SMIMEA_H
#define SMIMEPUB_SMIMEA_H

#include <stddef.h>

#include <openssl/x509.h>

#define SMIMEA_HASH_LEN		28			/* octets kept */
#define SMIMEA_LABEL_HEX	(2 * SMIMEA_HASH_LEN + 1)	/* + NUL */
#define SMIMEA_DOMAIN_MAX	253	/* presentation form, no final dot */

/* Lower-case hex of len bytes into out (2 * len + 1 bytes). */
void	smimea_hex(const unsigned char *in, size_t len, char *out);

/*
 * The first label of the owner for the local part local (len bytes, as
 * given: no case folding here). Returns 0, -1 on a digest failure.
 */
int	smimea_owner_label(const char *local, size_t len,
	    char out[SMIMEA_LABEL_HEX]);

/*
 * The association data of cert for selector (0, 1) and matching type (0, 1,
 * 2), as lower-case hex in a malloc'd string (caller free()s). NULL on an
 * invalid selector/matching type or a failure.
 */
char	*smimea_data_hex(X509 *cert, int selector, int matching);

/*
 * Check a zone name (presentation form, at most one final dot, labels of
 * 1..63 letters, digits, '-' or '_', not starting or ending with '-') and
 * write it lower-cased without the final dot into out (SMIMEA_DOMAIN_MAX +
 * 1). Returns 0, or -1 with *why a static reason.
 */
int	smimea_zone_canon(const char *zone, char *out, const char **why);

/*
 * 1 if domain (lower-case, no final dot) equals zone (smimea_zone_canon'd)
 * or lies under it, else 0.
 */
int	smimea_in_zone(const char *domain, const char *zone);

#endif
