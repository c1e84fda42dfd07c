/*
 * test_jrnl_group.c — the journal's group commit (common/jrnl_tx.c):
 * transactions of several threads written in one LMDB commit, a failing
 * one taking nothing of the others with it, and many threads committing at
 * once losing no record and no transition.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/jrnl.h"
#include "common/jrnl_priv.h"
#include "common/log.h"

static char tmpdir[] = "/tmp/test_jrnl_group.XXXXXX";

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
	strcpy(tmpdir, "/tmp/test_jrnl_group.XXXXXX");
}

struct job {
	struct jrnl	*j;
	char		 id[80];
	int		 n;		/* groups to commit, one after another */
	int		 rc;		/* the first commit's result that was not 0 */
};

/* Each group: PLANNED and KEY_READY and a held key, as enr_group writes. */
static void *
committer(void *arg)
{
	struct job *jb = arg;
	struct jrnl_enr e;
	struct jrnl_tx *tx;
	char id[80];
	int i, rc;

	for (i = 0; i < jb->n; i++) {
		snprintf(id, sizeof(id), jb->n == 1 ? "%s" : "%s-%d", jb->id, i);
		memset(&e, 0, sizeof(e));
		snprintf(e.person_id, sizeof(e.person_id), "%s", id);
		snprintf(e.mail, sizeof(e.mail), "p%d@example.com", i);
		if ((tx = jrnl_tx_begin(jb->j)) == NULL) {
			jb->rc = -2;
			return NULL;
		}
		e.state = JRNL_PLANNED;
		(void)jrnl_tx_enr_put(tx, &e);
		e.state = JRNL_KEY_READY;
		(void)jrnl_tx_enr_put(tx, &e);
		if (strchr(id, '\t') == NULL)
			(void)jrnl_tx_held_put(tx, id, id, strlen(id));
		if ((rc = jrnl_tx_commit(tx)) != 0 && jb->rc == 0)
			jb->rc = rc;
	}
	return NULL;
}

static int
hist_cb(const struct jrnl_enr *e, void *arg)
{
	strcat(arg, jrnl_state_str(e->state));
	strcat(arg, " ");
	return 0;
}

static void
check_person(struct jrnl *j, const char *id)
{
	struct jrnl_enr got;
	unsigned char *blob = NULL;
	size_t len = 0;
	char hist[256] = "";

	ck_assert_int_eq(jrnl_enr_get(j, id, &got), 0);
	ck_assert_int_eq(got.state, JRNL_KEY_READY);
	ck_assert_int_eq(jrnl_enr_history(j, id, hist_cb, hist), 0);
	ck_assert_str_eq(hist, "PLANNED KEY_READY ");
	ck_assert_int_eq(jrnl_held_get(j, id, &blob, &len), 0);
	ck_assert_int_eq(len, strlen(id));
	ck_assert_int_eq(memcmp(blob, id, len), 0);
	free(blob);
}

/*
 * Five transactions queued while a (pretended) leader writes: the next
 * leader takes all five as one group. The one whose record is bad (a tab
 * in its id) fails alone: the four others are committed whole.
 */
START_TEST(test_one_group)
{
	static const char *ids[] = { "g-a", "g-b", "bad\tid", "g-c", "g-d" };
	struct job jobs[5];
	pthread_t th[5];
	struct jrnl_enr got;
	struct jrnl_tx *t;
	struct jrnl *j;
	int i, queued, waited;

	ck_assert_ptr_nonnull(j = jrnl_open(tmpdir));
	pthread_mutex_lock(&j->gmu);
	j->leading = 1;
	pthread_mutex_unlock(&j->gmu);
	for (i = 0; i < 5; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].j = j;
		jobs[i].n = 1;
		snprintf(jobs[i].id, sizeof(jobs[i].id), "%s", ids[i]);
		ck_assert_int_eq(pthread_create(&th[i], NULL, committer,
		    &jobs[i]), 0);
	}
	for (waited = 0; ; waited++) {
		ck_assert_int_lt(waited, 10000);	/* 10 s: a thread is stuck */
		pthread_mutex_lock(&j->gmu);
		for (queued = 0, t = j->qhead; t != NULL; t = t->qnext)
			queued++;
		pthread_mutex_unlock(&j->gmu);
		if (queued == 5)
			break;
		usleep(1000);
	}
	pthread_mutex_lock(&j->gmu);
	j->leading = 0;
	pthread_cond_broadcast(&j->gcv);
	pthread_mutex_unlock(&j->gmu);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(jobs[i].rc, i == 2 ? -1 : 0);
	}
	ck_assert_ptr_null(j->qhead);
	jrnl_close(j);

	ck_assert_ptr_nonnull(j = jrnl_open(tmpdir));
	for (i = 0; i < 5; i++)
		if (i != 2)
			check_person(j, ids[i]);
	ck_assert_int_eq(jrnl_enr_get(j, "bad\tid", &got), 1);
	jrnl_close(j);
}
END_TEST

/* Six threads, 40 groups each, at once: every record, every transition. */
START_TEST(test_many_threads)
{
	struct job jobs[6];
	pthread_t th[6];
	struct jrnl *j;
	char id[80];
	int i, k;

	ck_assert_ptr_nonnull(j = jrnl_open(tmpdir));
	for (i = 0; i < 6; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].j = j;
		jobs[i].n = 40;
		snprintf(jobs[i].id, sizeof(jobs[i].id), "t%d", i);
		ck_assert_int_eq(pthread_create(&th[i], NULL, committer,
		    &jobs[i]), 0);
	}
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(jobs[i].rc, 0);
	}
	jrnl_close(j);
	ck_assert_ptr_nonnull(j = jrnl_open(tmpdir));
	for (i = 0; i < 6; i++)
		for (k = 0; k < 40; k++) {
			snprintf(id, sizeof(id), "t%d-%d", i, k);
			check_person(j, id);
		}
	jrnl_close(j);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("jrnl_group");
	TCase *tc = tcase_create("jrnl_group");
	SRunner *sr;
	int nf;

	log_init("test_jrnl_group", 0, LOG_LVL_ERR);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_one_group);
	tcase_add_test(tc, test_many_threads);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
