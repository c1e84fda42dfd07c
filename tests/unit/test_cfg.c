/*
 * test_cfg.c — configuration loading: every error path names file, line
 * and key; defaults; secrets from files with safe modes only.
 */
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca/ca.h"
#include "common/cfg.h"
#include "common/cfg_priv.h"
#include "common/keys.h"
#include "common/log.h"
#include "ldap/dir.h"

static char tmpdir[] = "/tmp/test_cfg.XXXXXX";
static char errbuf[8192];

#define MINIMAL "directory = { uri = \"ldap://127.0.0.1:389\"; " \
	"base = \"dc=example,dc=com\"; };\n"

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(tmpdir, "/tmp/test_cfg.XXXXXX");
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp;

	unlink(path);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/*
 * Load text as a config file, then check ca.driver as every program that
 * uses a CA does (ca/ owns that list); stderr is captured into errbuf.
 */
static struct cfg *
load(const char *text, char *path, size_t pathsz)
{
	struct cfg *c;
	int saved, fd;
	ssize_t n;
	char errpath[256];

	snprintf(path, pathsz, "%s/smimepub.conf", tmpdir);
	snprintf(errpath, sizeof(errpath), "%s/stderr", tmpdir);
	write_file(path, text, 0644);
	fflush(stderr);
	saved = dup(2);
	fd = open(errpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	dup2(fd, 2);
	c = cfg_load(path);
	if (c != NULL && ca_cfg_check(c) == -1) {
		cfg_free(c);
		c = NULL;
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, errbuf, sizeof(errbuf) - 1);
	errbuf[n > 0 ? n : 0] = '\0';
	close(fd);
	return c;
}

static void
expect_error(const char *text, const char *want)
{
	char path[256];
	struct cfg *c = load(text, path, sizeof(path));

	ck_assert_msg(c == NULL, "accepted: %s", text);
	ck_assert_msg(strstr(errbuf, want) != NULL,
	    "error \"%s\" does not contain \"%s\"", errbuf, want);
	ck_assert_msg(strstr(errbuf, path) != NULL,
	    "error \"%s\" does not name the file", errbuf);
}

START_TEST(test_minimal_defaults)
{
	char path[256];
	struct cfg *c = load(MINIMAL "keys = { discard_passphrase = true; };\n",
	    path, sizeof(path));

	ck_assert_msg(c != NULL, "%s", errbuf);
	ck_assert_str_eq(c->directory.uri, "ldap://127.0.0.1:389");
	ck_assert_int_eq(c->directory.flavour, CFG_FLAVOUR_OPENLDAP);
	ck_assert_str_eq(c->directory.filter,
	    "(&(objectClass=inetOrgPerson)(mail=*))");
	ck_assert_int_eq(c->directory.timeout, 10);
	ck_assert_str_eq(c->ca.driver, "local");
	ck_assert_int_eq(c->ca.local.validity_days, 365);
	ck_assert_str_eq(c->keys.type, "rsa:3072");
	ck_assert_int_eq(c->sync.renew_before_days, 30);
	ck_assert_int_eq(c->sync.interval, 300);
	ck_assert_str_eq(c->sync.on_leave, "revoke");
	ck_assert_int_eq(c->lookup.cache_ttl, 300);
	ck_assert_int_eq(c->lookup.negative_ttl, 60);
	ck_assert_int_ge(c->keys.pkcs12_iterations, 10000);
	ck_assert_uint_eq(c->keys.n_escrow_certs, 0);
	cfg_free(c);
}
END_TEST

/* directory.flavour = "389ds": parsed, its default filter, the table. */
START_TEST(test_flavour_389ds)
{
	char path[256];
	struct cfg *c = load("directory = { uri = \"ldap://x\"; base = "
	    "\"dc=x\"; flavour = \"389ds\"; };\n"
	    "keys = { discard_passphrase = true; };\n", path, sizeof(path));
	const struct dir_flavour *fl;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->directory.flavour, CFG_FLAVOUR_389DS);
	ck_assert_str_eq(c->directory.filter,
	    "(&(objectClass=inetOrgPerson)(mail=*))");
	fl = dir_flavour_get(c->directory.flavour);
	ck_assert_str_eq(fl->name, "389ds");
	ck_assert_str_eq(fl->attr_id, "entryUUID");
	ck_assert_str_eq(fl->attr_id_alt, "nsUniqueId");
	ck_assert_str_eq(fl->attr_disabled, "nsAccountLock");
	ck_assert_str_eq(fl->disabled_match, "true");
	ck_assert_ptr_null(fl->attr_guard);
	ck_assert_str_eq(fl->attr_usercert, "userCertificate;binary");
	ck_assert_str_eq(fl->attr_usercert_plain, "userCertificate");
	cfg_free(c);
}
END_TEST

START_TEST(test_full_design_example)
{
	/* The example of DESIGN.md "Configuration", verbatim keys. */
	static const char text[] =
	    "directory = {\n"
	    "  uri = \"ldap://127.0.0.1:389\";\n"
	    "  starttls = false;\n"
	    "  tls_ca_file = \"/etc/ssl/certs/ca-certificates.crt\";\n"
	    "  bind_dn = \"cn=smimepub,ou=services,dc=example,dc=com\";\n"
	    "  bind_password_file = \"/etc/smimepub/bind.secret\";\n"
	    "  base = \"ou=people,dc=example,dc=com\";\n"
	    "  filter = \"(&(objectClass=inetOrgPerson)(mail=*))\";\n"
	    "  flavour = \"openldap\";\n"
	    "};\n"
	    "ca = {\n"
	    "  driver = \"local\";\n"
	    "  local = { dir = \"/var/lib/smimepub/ca\"; validity_days = 365; };\n"
	    "};\n"
	    "keys = {\n"
	    "  type = \"rsa:3072\";\n"
	    "  delivery_dir = \"/var/lib/smimepub/delivery\";\n"
	    "  delivery_command = \"/usr/local/libexec/hand-over\";\n"
	    "  escrow_certs = [ \"/etc/smimepub/kra1.pem\", \"/etc/smimepub/kra2.pem\" ];\n"
	    "};\n"
	    "sync = { state_dir = \"/var/lib/smimepub/state\"; interval = 300; "
	    "renew_before_days = 30; on_leave = \"revoke\"; };\n"
	    "lookup = { listen = \"127.0.0.1:8080\"; cache_ttl = 300; negative_ttl = 60; };\n"
	    "log = { level = \"info\"; audit_file = \"/var/log/smimepub/audit.jsonl\"; };\n";
	char path[256];
	struct cfg *c = load(text, path, sizeof(path));
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	ck_assert_msg(c != NULL, "%s", errbuf);
	ck_assert_str_eq(c->directory.bind_dn,
	    "cn=smimepub,ou=services,dc=example,dc=com");
	ck_assert_uint_eq(c->keys.n_escrow_certs, 2);
	ck_assert_str_eq(c->keys.escrow_certs[1], "/etc/smimepub/kra2.pem");
	ck_assert_ptr_null(c->keys.escrow_certs[2]);
	ck_assert_str_eq(c->log.audit_file, "/var/log/smimepub/audit.jsonl");

	/* the printed form is itself a valid configuration */
	fp = open_memstream(&buf, &len);
	cfg_print(c, fp);
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(buf, "uri = \"ldap://127.0.0.1:389\";"));
	ck_assert_ptr_nonnull(strstr(buf, "escrow_certs = [ "
	    "\"/etc/smimepub/kra1.pem\", \"/etc/smimepub/kra2.pem\" ];"));
	cfg_free(c);
	c = load(buf, path, sizeof(path));
	ck_assert_msg(c != NULL, "printed config does not load: %s", errbuf);
	ck_assert_uint_eq(c->keys.n_escrow_certs, 2);
	cfg_free(c);
	free(buf);
}
END_TEST

START_TEST(test_errors)
{
	expect_error(MINIMAL "bogus = 1;\n", ":2: bogus: unknown key");
	expect_error("directory = { uri = \"ldap://x\"; base = \"dc=x\";\n"
	    "  colour = \"blue\"; };\n", ":2: directory.colour: unknown key");
	expect_error(MINIMAL "sync = {\n interval = \"300\"; };\n",
	    ":3: sync.interval: must be an integer");
	expect_error(MINIMAL "directory2 = 1;\n", "directory2: unknown key");
	expect_error("directory = { base = \"dc=x\"; };\n",
	    "directory.uri: required key is missing");
	expect_error("directory = { uri = \"ldap://x\"; };\n",
	    "directory.base: required key is missing");
	expect_error(MINIMAL "ca = { local = {\n validity_days = 826; }; };\n",
	    ":3: ca.local.validity_days: 826 is out of range (1..825)");
	expect_error(MINIMAL "sync = { renew_before_days = 0; };\n",
	    "sync.renew_before_days: 0 is out of range");
	expect_error(MINIMAL "keys = { pkcs12_iterations = 1000; };\n",
	    "keys.pkcs12_iterations: 1000 is out of range");
	expect_error("directory = { uri = \"http://x\"; base = \"dc=x\"; };\n",
	    "directory.uri: \"http://x\" is not an ldap://");
	expect_error("directory = { uri = \"ldaps://x\"; base = \"dc=x\"; "
	    "starttls = true; };\n", "directory.starttls: StartTLS needs");
	expect_error("directory = { uri = \"ldap://x\"; base = \"dc=x\"; "
	    "flavour = \"novell\"; };\n", "directory.flavour: \"novell\"");
	expect_error("directory = { uri = \"ldap://x\"; base = \"dc=x\"; "
	    "bind_dn = \"cn=a\"; };\n", "directory.bind_dn: needs "
	    "directory.bind_password_file");
	expect_error("directory = { uri = \"ldap://x\"; base = \"dc=x\"; "
	    "filter = \"mail=*\"; };\n", "directory.filter:");
	expect_error("directory = { uri = \"ldap://x\"; base = \"dc=x\"; "
	    "starttls = 1; };\n", "directory.starttls: must be a boolean");
	expect_error("directory = { uri = \"\"; base = \"dc=x\"; };\n",
	    "directory.uri: must not be empty");
	/* an alias attribute is named in filters: an attribute name only */
	expect_error("directory = { uri = \"ldap://x\"; base = \"dc=x\"; "
	    "alias_attributes = [ \"mail)(uid=*\" ]; };\n",
	    "directory.alias_attributes: \"mail)(uid=*\" is not an attribute");
	expect_error("directory = { uri = \"ldap://x\"; base = \"dc=x\"; "
	    "alias_attributes = [ \"a\", \"b\", \"c\", \"d\", \"e\", \"f\", "
	    "\"g\", \"h\", \"i\" ]; };\n",
	    "directory.alias_attributes: 9 attributes: at most 8");
	expect_error(MINIMAL "ca = { driver = \"acme\"; };\n"
	    "keys = { discard_passphrase = true; };\n",
	    "ca.driver: \"acme\" is not");
	expect_error(MINIMAL "sync = { on_leave = \"delete\"; };\n",
	    "sync.on_leave: \"delete\"");
	expect_error(MINIMAL "sync = { state_dir = \"state\"; };\n",
	    "sync.state_dir: \"state\" must be an absolute path");
	expect_error(MINIMAL "keys = { escrow_certs = [ 1, 2 ]; };\n",
	    "keys.escrow_certs: element 1 must be a string");
	expect_error(MINIMAL "keys = \"x\";\n", "keys: must be a group");
	expect_error(MINIMAL "log = { level = \"loud\"; };\n",
	    "log.level: \"loud\"");
	expect_error(MINIMAL "lookup = { negative_ttl = 600; };\n",
	    "lookup.negative_ttl: 600 is longer");
	expect_error(MINIMAL "keys = { type = \"dsa:1024\"; };\n",
	    "keys.type: \"dsa:1024\" is not");
	expect_error(MINIMAL "ca = { driver = \"exec\"; };\n"
	    "keys = { discard_passphrase = true; };\n",
	    "\"exec\" needs ca.exec.command");
	expect_error(MINIMAL "ca = { cmp = { colour = 1; }; };\n",
	    "ca.cmp.colour: unknown key");
	/* syntax errors name the line too */
	expect_error(MINIMAL "sync = { interval = ; };\n", ":2: syntax error");
}
END_TEST

/* dns.zones: a list of groups, each member required, nothing else. */
START_TEST(test_dns_zones)
{
	char path[256];
	struct cfg *c;

#define DNSZ(x) MINIMAL "keys = { discard_passphrase = true; };\n" \
	"dns = { zones = (\n" x " ); };\n"
	c = load(DNSZ("{ zone = \"Example.COM.\"; server = \"127.0.0.1:5353\";"
	    " tsig_key_file = \"/k\"; },\n { zone = \"sub.example.com\"; "
	    "server = \"[::1]:53\"; tsig_key_file = \"/k2\"; }"), path,
	    sizeof(path));
	ck_assert_msg(c != NULL, "%s", errbuf);
	ck_assert_uint_eq(c->dns.n_zones, 2);
	ck_assert_str_eq(c->dns.zones[0].zone, "example.com");
	ck_assert_str_eq(c->dns.zones[1].server, "[::1]:53");
	ck_assert_int_eq(c->dns.usage, 3);
	ck_assert_int_eq(c->dns.selector, 0);
	ck_assert_int_eq(c->dns.matching, 0);
	ck_assert_int_eq(c->dns.ttl, 3600);
	cfg_free(c);
	expect_error(DNSZ("{ zone = \"example.com\"; server = \"x:53\"; }"),
	    ":4: dns.zones[0]: tsig_key_file is missing");
	expect_error(DNSZ("{ zone = \"a..b\"; server = \"x:53\"; "
	    "tsig_key_file = \"/k\"; }"), "dns.zones[0]: zone \"a..b\"");
	expect_error(DNSZ("{ zone = \"a.b\"; server = \"x\"; "
	    "tsig_key_file = \"/k\"; }"), "dns.zones[0]: server \"x\"");
	expect_error(DNSZ("{ zone = \"a.b\"; server = \"x:53\"; "
	    "tsig_key_file = \"k\"; }"), "must be an absolute path");
	expect_error(DNSZ("{ zone = \"a.b\"; server = \"x:53\"; "
	    "tsig_key_file = \"/k\"; colour = 1; }"), "colour: unknown key");
	expect_error(DNSZ("{ zone = \"a.b\"; server = \"x:53\"; "
	    "tsig_key_file = \"/k\"; },\n{ zone = \"A.b.\"; server = \"x:53\"; "
	    "tsig_key_file = \"/k\"; }"), "dns.zones[1]: zone a.b is listed "
	    "twice");
	expect_error(DNSZ("\"example.com\""), "dns.zones[0]: must be a group");
	expect_error(MINIMAL "dns = { zones = [ \"x\" ]; };\n",
	    "dns.zones: must be a list of groups");
	expect_error(MINIMAL "dns = { matching = 3; };\n",
	    "dns.matching: 3 is out of range");
#undef DNSZ
}
END_TEST

/*
 * Enum keys are declared in the table with their allowed values: any other
 * value is refused by the loader naming the file, the line, the key and
 * every allowed value. ca.driver's values are ca/'s list of drivers.
 */
START_TEST(test_enum_keys)
{
	char path[256];
	struct cfg *c;
	size_t i, j;

	expect_error(MINIMAL "sync = { on_leave = \"delete\"; };\n",
	    "smimepub.conf:2: sync.on_leave: \"delete\" is not revoke, "
	    "unpublish or keep");
	expect_error(MINIMAL "sync = {\n watch = \"inotify\"; };\n",
	    "smimepub.conf:3: sync.watch: \"inotify\" is not auto, syncrepl, "
	    "poll or dirsync");
	expect_error(MINIMAL "log = { level = \"loud\"; };\n",
	    ":2: log.level: \"loud\" is not err, warn, info or debug");
	expect_error(MINIMAL "keys = { type = \"dsa:1024\"; };\n",
	    ":2: keys.type: \"dsa:1024\" is not rsa:2048, rsa:3072, rsa:4096, "
	    "ec:P-256 or ec:P-384");
	expect_error(MINIMAL "ca = { local = { key_type = \"ec:P-521\"; }; };\n",
	    ":2: ca.local.key_type: \"ec:P-521\" is not rsa:2048");
	expect_error(MINIMAL "lookup = { revocation = \"none\"; };\n",
	    ":2: lookup.revocation: \"none\" is not files, crl, ocsp or both");
	expect_error(MINIMAL "lookup = { revocation_fail = \"open\"; };\n",
	    ":2: lookup.revocation_fail: \"open\" is not soft or hard");
	expect_error(MINIMAL "ca = { exec = { protocol = \"scep\"; }; };\n",
	    ":2: ca.exec.protocol: \"scep\" is not smimepub or certmonger");
	expect_error("directory = { uri = \"ldap://x\"; base = \"dc=x\";\n"
	    "flavour = \"novell\"; };\n", ":2: directory.flavour: \"novell\" "
	    "is not openldap, ad or 389ds");
	expect_error("directory = { uri = \"ldap://x\"; base = \"dc=x\"; "
	    "sasl_mech = \"PLAIN\"; };\n",
	    "directory.sasl_mech: \"PLAIN\" is not EXTERNAL or GSSAPI");
	expect_error(MINIMAL "ca = {\n driver = \"acme\"; };\n"
	    "keys = { discard_passphrase = true; };\n",
	    "smimepub.conf:3: ca.driver: \"acme\" is not local, cmp, est, "
	    "cfssl or exec");
	expect_error(MINIMAL "ca = {\n driver = \"cmp\"; };\n"
	    "keys = { discard_passphrase = true; };\n",
	    "smimepub.conf:3: ca.driver: \"cmp\" needs ca.cmp.url");
	/* a value of the list is taken, an enum field holds its index */
	c = load("directory = { uri = \"ldap://x\"; base = \"dc=x\"; "
	    "flavour = \"ad\"; };\nkeys = { discard_passphrase = true; type = "
	    "\"ec:P-256\"; };\nsync = { on_leave = \"keep\"; watch = "
	    "\"poll\"; };\n", path, sizeof(path));
	ck_assert_msg(c != NULL, "%s", errbuf);
	ck_assert_str_eq(c->keys.type, "ec:P-256");
	ck_assert_str_eq(c->sync.on_leave, "keep");
	ck_assert_str_eq(c->sync.watch, "poll");
	ck_assert_int_eq(c->directory.flavour, CFG_FLAVOUR_AD);
	cfg_free(c);
	/* every default of an enum key is one of its values */
	for (i = 0; i < cfg_nkeys; i++) {
		if (cfg_keys[i].values == NULL)
			continue;
		for (j = 0; cfg_keys[i].values[j] != NULL; j++)
			if (cfg_keys[i].def != NULL &&
			    strcmp(cfg_keys[i].def, cfg_keys[i].values[j]) == 0)
				break;
		if (cfg_keys[i].type == T_ENUM)
			ck_assert_int_lt(cfg_keys[i].idef, (long)j);
		else
			ck_assert_msg(cfg_keys[i].def == NULL ||
			    cfg_keys[i].values[j] != NULL, "%s: default %s "
			    "is not allowed", cfg_keys[i].path,
			    cfg_keys[i].def);
	}
	/* the key types the table allows are those keys.c generates */
	for (i = 0; keys_type_names[i] != NULL; i++)
		ck_assert(keys_type_valid(keys_type_names[i]));
}
END_TEST

/* No key is lost: a passphrase with nowhere to go is a config error. */
START_TEST(test_no_key_lost)
{
	static const char *const ok[] = {
		"keys = { discard_passphrase = true; };\n",
		"keys = { delivery_command = \"/usr/libexec/hand-over\"; };\n",
		"keys = { escrow_certs = [ \"/etc/smimepub/kra.pem\" ]; };\n",
	};
	char path[256], text[512];
	struct cfg *c;
	size_t i;

	expect_error(MINIMAL, "keys.delivery_command: neither");
	ck_assert_ptr_nonnull(strstr(errbuf, "keys.escrow_certs"));
	ck_assert_ptr_nonnull(strstr(errbuf, "keys.discard_passphrase"));
	/* an empty escrow list keeps nothing either */
	expect_error(MINIMAL "keys = { escrow_certs = [ ]; };\n",
	    "keys.delivery_command: neither");
	expect_error(MINIMAL "keys = { discard_passphrase = false; };\n",
	    "keys.delivery_command: neither");
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", MINIMAL, ok[i]);
		c = load(text, path, sizeof(path));
		ck_assert_msg(c != NULL, "%s: %s", ok[i], errbuf);
		cfg_free(c);
	}
}
END_TEST

/* A simple bind over plain ldap:// only to loopback, unless allowed. */
START_TEST(test_plaintext_bind)
{
	static const char *const ok[] = {
		"ldap://127.0.0.1:389", "ldap://localhost", "ldap://[::1]:389",
		"ldap:///", "ldaps://192.0.2.1", "ldapi://%2Frun%2Fslapd",
		"ldap://127.0.0.2 ldap://127.0.0.3",
	};
	static const char *const bad[] = {
		"ldap://192.0.2.1", "ldap://dc1.example.com:389",
		"ldap://[2001:db8::1]", "ldap://127.0.0.1 ldap://192.0.2.1",
		"ldap://127.0.0.1.example.com",
	};
	char path[256], text[1024];
	struct cfg *c;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "directory = { uri = \"%s\"; "
		    "base = \"dc=x\"; bind_dn = \"cn=s,dc=x\"; "
		    "bind_password_file = \"/s\"; };\n"
		    "keys = { discard_passphrase = true; };\n", ok[i]);
		c = load(text, path, sizeof(path));
		ck_assert_msg(c != NULL, "%s: %s", ok[i], errbuf);
		cfg_free(c);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "directory = { uri = \"%s\"; "
		    "base = \"dc=x\"; bind_dn = \"cn=s,dc=x\"; "
		    "bind_password_file = \"/s\"; };\n"
		    "keys = { discard_passphrase = true; };\n", bad[i]);
		expect_error(text, "directory.allow_plaintext_bind");
		/* StartTLS, or the explicit opt-out, make it fine */
		snprintf(text, sizeof(text), "directory = { uri = \"%s\"; "
		    "base = \"dc=x\"; bind_dn = \"cn=s,dc=x\"; "
		    "bind_password_file = \"/s\"; %s };\n"
		    "keys = { discard_passphrase = true; };\n", bad[i],
		    i % 2 ? "starttls = true;" : "allow_plaintext_bind = true;");
		c = load(text, path, sizeof(path));
		ck_assert_msg(c != NULL, "%s: %s", bad[i], errbuf);
		cfg_free(c);
	}
	/* the lookup account's password too; no password, no problem */
	expect_error("directory = { uri = \"ldap://192.0.2.1\"; base = \"dc=x\"; };\n"
	    "lookup = { bind_dn = \"cn=l,dc=x\"; bind_password_file = \"/l\"; };\n"
	    "keys = { discard_passphrase = true; };\n",
	    "directory.allow_plaintext_bind");
	c = load("directory = { uri = \"ldap://192.0.2.1\"; base = \"dc=x\"; };\n"
	    "keys = { discard_passphrase = true; };\n", path, sizeof(path));
	ck_assert_msg(c != NULL, "anonymous: %s", errbuf);
	cfg_free(c);
}
END_TEST

START_TEST(test_missing_file)
{
	struct cfg *c;

	c = cfg_load("/nonexistent/smimepub.conf");
	ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_secret_modes)
{
	char path[256], *s = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/secret", tmpdir);
	write_file(path, "hunter2\n", 0600);
	ck_assert_int_eq(cfg_secret_read(path, "k", &s, &len), 0);
	ck_assert_str_eq(s, "hunter2");
	ck_assert_uint_eq(len, 7);
	cfg_secret_free(s, len);

	write_file(path, "hunter2", 0400);
	ck_assert_int_eq(cfg_secret_read(path, "k", &s, &len), 0);
	cfg_secret_free(s, len);

	write_file(path, "hunter2", 0644);
	ck_assert_int_eq(cfg_secret_read(path, "k", &s, &len), -1);
	ck_assert_ptr_null(s);
	write_file(path, "hunter2", 0640);
	ck_assert_int_eq(cfg_secret_read(path, "k", &s, &len), -1);
	write_file(path, "hunter2", 0604);
	ck_assert_int_eq(cfg_secret_read(path, "k", &s, &len), -1);
	write_file(path, "", 0600);
	ck_assert_int_eq(cfg_secret_read(path, "k", &s, &len), -1);
	ck_assert_int_eq(cfg_secret_read(tmpdir, "k", &s, &len), -1);
	snprintf(path, sizeof(path), "%s/none", tmpdir);
	ck_assert_int_eq(cfg_secret_read(path, "k", &s, &len), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("cfg");
	TCase *tc = tcase_create("load");
	SRunner *sr;
	int nf;

	log_init("test_cfg", 0, LOG_LVL_ERR);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_minimal_defaults);
	tcase_add_test(tc, test_full_design_example);
	tcase_add_test(tc, test_flavour_389ds);
	tcase_add_test(tc, test_enum_keys);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_no_key_lost);
	tcase_add_test(tc, test_plaintext_bind);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_secret_modes);
	tcase_add_test(tc, test_dns_zones);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
