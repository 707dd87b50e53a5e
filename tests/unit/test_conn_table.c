// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>

#include "stream/conn_table.h"
#include "test.h"

struct released {
	int n;
	int why[CONN_RELEASE_COUNT];
	uint64_t last_ssl;
};

static void on_release(struct conn *c, enum conn_release why, void *ctx)
{
	struct released *r = ctx;

	r->n++;
	r->why[why]++;
	r->last_ssl = c->key.ssl;
}

TEST(conn_table_get_create_and_find)
{
	struct released r = { 0 };
	struct conn_table t;
	struct conn_key k1 = { 10, 0x1000, 1 }, k2 = { 10, 0x1000, 2 }, k3 = { 11, 0x1000, 1 };

	ASSERT_EQ(conn_table_init(&t, 8, on_release, &r), 0);
	ASSERT_TRUE(conn_table_get(&t, &k1, 1, false) == NULL);
	struct conn *c1 = conn_table_get(&t, &k1, 1, true);
	ASSERT_TRUE(c1 != NULL);
	ASSERT_EQ(c1->fd, -1);
	/* same SSL pointer, other generation or other pid: distinct streams */
	struct conn *c2 = conn_table_get(&t, &k2, 2, true);
	struct conn *c3 = conn_table_get(&t, &k3, 3, true);
	ASSERT_TRUE(c2 != c1 && c3 != c1 && c2 != c3);
	ASSERT_TRUE(conn_table_get(&t, &k1, 4, false) == c1);
	ASSERT_UEQ(t.count, 3);
	ASSERT_UEQ(t.created, 3);
	conn_table_destroy(&t);
	ASSERT_EQ(r.why[CONN_RELEASE_SHUTDOWN], 3);
}

TEST(conn_table_evicts_least_recently_used)
{
	struct released r = { 0 };
	struct conn_table t;

	ASSERT_EQ(conn_table_init(&t, 3, on_release, &r), 0);
	for (uint64_t i = 1; i <= 3; i++) {
		struct conn_key k = { 1, i, 1 };
		ASSERT_TRUE(conn_table_get(&t, &k, i, true) != NULL);
	}
	/* touch 1 so that 2 is the least recently used */
	struct conn_key k1 = { 1, 1, 1 };
	ASSERT_TRUE(conn_table_get(&t, &k1, 10, false) != NULL);
	struct conn_key k4 = { 1, 4, 1 };
	ASSERT_TRUE(conn_table_get(&t, &k4, 11, true) != NULL);
	ASSERT_EQ(r.why[CONN_RELEASE_EVICT], 1);
	ASSERT_UEQ(r.last_ssl, 2);
	ASSERT_UEQ(t.count, 3);
	ASSERT_UEQ(t.released[CONN_RELEASE_EVICT], 1);
	conn_table_destroy(&t);
}

TEST(conn_table_expires_idle_only)
{
	struct released r = { 0 };
	struct conn_table t;

	ASSERT_EQ(conn_table_init(&t, 16, on_release, &r), 0);
	for (uint64_t i = 1; i <= 5; i++) {
		struct conn_key k = { 1, i, 1 };
		ASSERT_TRUE(conn_table_get(&t, &k, i * 100, true) != NULL);
	}
	/* idle limit 250 at time 600: connections last used at 100, 200, 300 expire */
	ASSERT_UEQ(conn_table_expire(&t, 600, 250), 3);
	ASSERT_UEQ(t.count, 2);
	ASSERT_EQ(r.why[CONN_RELEASE_IDLE], 3);
	conn_table_destroy(&t);
}

TEST(conn_table_releases_by_pid)
{
	struct released r = { 0 };
	struct conn_table t;

	ASSERT_EQ(conn_table_init(&t, 64, on_release, &r), 0);
	for (uint32_t pid = 1; pid <= 4; pid++)
		for (uint64_t s = 1; s <= 5; s++) {
			struct conn_key k = { pid, s, 1 };
			ASSERT_TRUE(conn_table_get(&t, &k, 1, true) != NULL);
		}
	ASSERT_UEQ(conn_table_release_pid(&t, 3, CONN_RELEASE_EXIT), 5);
	ASSERT_UEQ(t.count, 15);
	struct conn_key k = { 3, 1, 1 };
	ASSERT_TRUE(conn_table_get(&t, &k, 2, false) == NULL);
	conn_table_destroy(&t);
	ASSERT_EQ(r.why[CONN_RELEASE_EXIT], 5);
}

TEST(conn_table_many_entries_stay_bounded)
{
	struct released r = { 0 };
	struct conn_table t;

	ASSERT_EQ(conn_table_init(&t, 1000, on_release, &r), 0);
	for (uint64_t i = 0; i < 100000; i++) {
		struct conn_key k = { (uint32_t)(i % 97), i, i };
		ASSERT_TRUE(conn_table_get(&t, &k, i, true) != NULL);
		ASSERT_TRUE(t.count <= 1000);
	}
	ASSERT_UEQ(t.released[CONN_RELEASE_EVICT], 99000);
	conn_table_destroy(&t);
}
