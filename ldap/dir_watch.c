/*
 * dir_watch.c — change watching by syncrepl refreshAndPersist (RFC 4533)
 * where the server offers it (slapd with the syncprov overlay): a thread
 * with its own connection keeps a persistent sync search open under base
 * and calls back for every person added or modified after the initial
 * refresh, so the sync service reacts within a second instead of waiting
 * for its next poll. It uses libldap's own consumer (ldap_sync_*).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "ldap/dir_priv.h"

#define SYNC_CONTROL	LDAP_CONTROL_SYNC	/* 1.3.6.1.4.1.4203.1.9.1.1, RFC 4533 §2.2 */

struct dir_watch {
	struct dir	*d;
	ldap_sync_t	*ls;
	pthread_t	 tid;
	volatile int	 stop;
	int		 refreshed;	/* the initial refresh is over */
	void		(*notify)(void *);
	void		*arg;
};

static int
watch_entry(ldap_sync_t *ls, LDAPMessage *msg, struct berval *uuid,
    ldap_sync_refresh_t phase)
{
	struct dir_watch *w = ls->ls_private;

	(void)msg;
	(void)uuid;
	/* the refresh replays everything: only later changes matter */
	if (w->refreshed && (phase == LDAP_SYNC_CAPI_ADD ||
	    phase == LDAP_SYNC_CAPI_MODIFY || phase == LDAP_SYNC_CAPI_DELETE))
		w->notify(w->arg);
	return 0;
}

static int
watch_intermediate(ldap_sync_t *ls, LDAPMessage *msg,
    BerVarray syncUUIDs, ldap_sync_refresh_t phase)
{
	struct dir_watch *w = ls->ls_private;

	(void)msg;
	(void)syncUUIDs;
	if (phase == LDAP_SYNC_CAPI_DONE)
		w->refreshed = 1;
	return 0;
}

static int
watch_result(ldap_sync_t *ls, LDAPMessage *msg, int refreshDeletes)
{
	(void)ls;
	(void)msg;
	(void)refreshDeletes;
	return 0;
}

static void *
watch_main(void *arg)
{
	struct dir_watch *w = arg;
	int rc, backoff = 1;

	while (!w->stop) {
		w->refreshed = 0;
		if ((rc = ldap_sync_init(w->ls, LDAP_SYNC_REFRESH_AND_PERSIST)) !=
		    LDAP_SUCCESS) {
			dir_log_ldap(w->d, rc, "syncrepl refreshAndPersist");
			goto again;
		}
		/* the refresh may finish without an intermediate message */
		w->refreshed = 1;
		backoff = 1;
		while (!w->stop && (rc = ldap_sync_poll(w->ls)) == LDAP_SUCCESS)
			;
		if (w->stop)
			break;
		dir_log_ldap(w->d, rc, "syncrepl: the persistent search ended");
again:
		/* reconnect with backoff; the next refresh catches up */
		sleep((unsigned)backoff);
		if (backoff < 60)
			backoff *= 2;
		if (dir_reconnect(w->d) == 0)
			w->ls->ls_ld = w->d->ld;
	}
	return NULL;
}

int
dir_watch_offered(struct dir *d)
{
	char *attrs[] = { "supportedControl", NULL };
	struct berval **v = NULL;
	LDAPMessage *res = NULL;
	int rc, i, found = 0;

	rc = ldap_search_ext_s(d->ld, "", LDAP_SCOPE_BASE, "(objectClass=*)",
	    attrs, 0, NULL, NULL, NULL, 1, &res);
	if (rc != LDAP_SUCCESS) {
		ldap_msgfree(res);
		return -1;
	}
	v = ldap_get_values_len(d->ld, ldap_first_entry(d->ld, res),
	    "supportedControl");
	for (i = 0; v != NULL && v[i] != NULL; i++)
		if (v[i]->bv_len == strlen(SYNC_CONTROL) &&
		    memcmp(v[i]->bv_val, SYNC_CONTROL, v[i]->bv_len) == 0)
			found = 1;
	ldap_value_free_len(v);
	ldap_msgfree(res);
	return found;
}

struct dir_watch *
dir_watch_start(const struct cfg_directory *cfg, void (*notify)(void *),
    void *arg)
{
	static char *attrs[] = { "entryUUID", NULL };
	struct dir_watch *w = NULL;
	int ok = 0;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->notify = notify;
	w->arg = arg;
	if ((w->d = dir_new(cfg)) == NULL || dir_connect(w->d) == -1)
		goto out;
	switch (dir_watch_offered(w->d)) {
	case 1:
		break;
	case 0:
		log_info("%s: no syncrepl (RFC 4533) offered; polling for "
		    "changes instead", cfg->uri);
		goto out;
	default:
		goto out;
	}
	if ((w->ls = ldap_sync_initialize(NULL)) == NULL)
		goto out;
	w->ls->ls_ld = w->d->ld;
	w->ls->ls_base = strdup(cfg->base);
	w->ls->ls_scope = LDAP_SCOPE_SUBTREE;
	w->ls->ls_filter = strdup(cfg->filter != NULL ? cfg->filter :
	    w->d->fl->default_filter);
	w->ls->ls_attrs = attrs;
	w->ls->ls_timeout = 1;	/* seconds per poll, so stop is seen */
	w->ls->ls_search_entry = watch_entry;
	w->ls->ls_intermediate = watch_intermediate;
	w->ls->ls_search_result = watch_result;
	w->ls->ls_private = w;
	if (w->ls->ls_base == NULL || w->ls->ls_filter == NULL)
		goto out;
	if (pthread_create(&w->tid, NULL, watch_main, w) != 0)
		goto out;
	log_info("%s: watching %s by syncrepl refreshAndPersist", cfg->uri,
	    cfg->base);
	ok = 1;
out:
	if (!ok) {
		if (w->ls != NULL) {
			w->ls->ls_ld = NULL;	/* the dir owns the handle */
			w->ls->ls_attrs = NULL;
			ldap_sync_destroy(w->ls, 1);
		}
		dir_free(w->d);
		free(w);
		w = NULL;
	}
	return w;
}

void
dir_watch_stop(struct dir_watch *w)
{
	if (w == NULL)
		return;
	w->stop = 1;
	pthread_join(w->tid, NULL);
	w->ls->ls_ld = NULL;
	w->ls->ls_attrs = NULL;
	ldap_sync_destroy(w->ls, 1);
	dir_free(w->d);
	free(w);
}
