/*
 * fake_dir_few.h — for the tests that stand in a fake directory for ldap/
 * (test_lk_api.c, fuzz_lookup.c): dir_search_few, the searches lk_pool.c
 * sends together, as one call of the test's own dir_search_people each.
 */
#ifndef SMIMEPUB_FAKE_DIR_FEW_H
#define SMIMEPUB_FAKE_DIR_FEW_H

int
dir_search_few(struct dir *d, struct dir_query *q, size_t n)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++)
		if ((q[i].rc = dir_search_people(d, q[i].filter, q[i].cb,
		    q[i].arg)) == -1)
			rc = -1;
	return rc;
}

#endif
