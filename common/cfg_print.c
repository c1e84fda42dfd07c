/*
 * cfg_print.c — print the effective configuration (defaults filled in) in
 * libconfig syntax, for `smimepub check-config`.
 */
#include <stdio.h>
#include <string.h>

#include "common/cfg_priv.h"

static void
cfg_print_str(FILE *fp, const char *v)
{
	const char *p;

	fputc('"', fp);
	for (p = v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', fp);
		fputc(*p, fp);
	}
	fputc('"', fp);
}

/*
 * Print every key with its effective value, in the table's order, closing a
 * group when the next key is outside it. No secret is held inline (they come
 * from files), so only paths are printed; the file contents never are.
 */
void
cfg_print(const struct cfg *c, FILE *fp)
{
	const char *base = (const char *)c;
	const char *open[4];
	const struct cfg_key *k;
	const char *name, *v;
	size_t i, depth = 0, j, plen;
	char **lv;

	fprintf(fp, "# effective configuration of %s\n", c->path);
	for (i = 0; i < cfg_nkeys; i++) {
		k = &cfg_keys[i];
		/* close groups that k is not inside */
		while (depth > 0) {
			plen = strlen(open[depth - 1]);
			if (strncmp(k->path, open[depth - 1], plen) == 0 &&
			    k->path[plen] == '.')
				break;
			depth--;
			fprintf(fp, "%*s};\n", (int)depth * 2, "");
		}
		name = strrchr(k->path, '.');
		name = name != NULL ? name + 1 : k->path;
		if (k->type == T_STR && *(char *const *)(base + k->off) == NULL) {
			fprintf(fp, "%*s# %s is unset\n", (int)depth * 2, "",
			    name);
			continue;
		}
		fprintf(fp, "%*s%s = ", (int)depth * 2, "", name);
		switch (k->type) {
		case T_GROUP:
			fputs("{\n", fp);
			open[depth++] = k->path;
			continue;
		case T_STR:
			v = *(char *const *)(base + k->off);
			cfg_print_str(fp, v);
			fputc(';', fp);
			break;
		case T_BOOL:
			fprintf(fp, "%s;", *(const int *)(base + k->off) ?
			    "true" : "false");
			break;
		case T_INT:
			fprintf(fp, "%d;", *(const int *)(base + k->off));
			break;
		case T_ENUM:
			fprintf(fp, "\"%s\";",
			    k->values[*(const int *)(base + k->off)]);
			break;
		case T_STRLIST:
			fputs("[ ", fp);
			lv = *(char **const *)(base + k->off);
			for (j = 0; lv != NULL && lv[j] != NULL; j++) {
				if (j > 0)
					fputs(", ", fp);
				cfg_print_str(fp, lv[j]);
			}
			fputs(" ];", fp);
			break;
		case T_DNSZONES:
			cfg_dns_zones_print(c, fp);
			break;
		}
		fputc('\n', fp);
	}
	while (depth > 0) {
		depth--;
		fprintf(fp, "%*s};\n", (int)depth * 2, "");
	}
}
