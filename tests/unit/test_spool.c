// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The disk spool: append/read/ack, the cursor across a restart, the full
 * policies, torn and corrupt segment files, the top-level seq scanner. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool/spool.h"
#include "test.h"
#include "test_sink_util.h"

static void append_n(struct spool *s, uint64_t from, uint64_t to, size_t pad)
{
	struct spool_drop d;

	for (uint64_t i = from; i <= to; i++) {
		const char *l = tsink_line(i, pad);

		ASSERT_EQ(spool_append(s, l, strlen(l), i, &d), 0);
		ASSERT_UEQ(d.count, 0);
	}
}

TEST(spool_line_seq_top_level_only)
{
	static const struct {
		const char *line;
		int rc;
		uint64_t seq;
	} cases[] = {
		{ "{\"seq\":42}", 0, 42 },
		{ "{\"a\":{\"seq\":1},\"b\":[{\"seq\":2}],\"seq\":7}", 0, 7 },
		{ "{\"s\":\"\\\"seq\\\":9\",\"seq\": 18446744073709551615}", 0, UINT64_MAX },
		{ "{\"a\":{\"seq\":1}}", -ENOENT, 0 },
		{ "{\"seq\":-1}", -ENOENT, 0 },
		{ "{\"seq\":1.5}", -ENOENT, 0 },
		{ "{\"seq\":18446744073709551616}", -ENOENT, 0 },
		{ "[\"seq\",1]", -ENOENT, 0 },
		{ "{\"seq\"", -ENOENT, 0 },
		{ "", -ENOENT, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;

		ASSERT_EQ(spool_line_seq(cases[i].line, strlen(cases[i].line), &v), cases[i].rc);
		if (!cases[i].rc)
			ASSERT_UEQ(v, cases[i].seq);
	}
}

TEST(spool_read_ack_and_cursor_survive_restart)
{
	struct spool_opts so = { 1 << 20, 0, SPOOL_DROP_OLDEST };
	struct spool_batch b = { 0 };
	struct spool_stats st;
	struct spool *s;
	char *dir = tsink_tmpdir(1);

	ASSERT_EQ(spool_open(dir, &so, &s), 0);
	append_n(s, 10, 19, 0);
	ASSERT_EQ(spool_read(s, 4, 1 << 20, &b), 0);
	ASSERT_UEQ(b.n, 4);
	ASSERT_UEQ(b.first_seq, 10);
	ASSERT_UEQ(b.last_seq, 13);
	ASSERT_EQ(spool_ack(s, &b), 0);
	ASSERT_EQ(spool_read(s, 4, 1 << 20, &b), 0);
	ASSERT_UEQ(b.first_seq, 14);
	/* not acknowledged: read again after the restart */
	spool_close(s);
	ASSERT_EQ(spool_open(dir, &so, &s), 0);
	spool_get_stats(s, &st);
	ASSERT_UEQ(st.records, 6);
	ASSERT_EQ(spool_read(s, 100, 1 << 20, &b), 0);
	ASSERT_UEQ(b.n, 6);
	ASSERT_UEQ(b.first_seq, 14);
	ASSERT_UEQ(b.last_seq, 19);
	ASSERT_TRUE(strncmp(b.data, tsink_line(14, 0), strlen(tsink_line(14, 0))) == 0);
	ASSERT_EQ(spool_ack(s, &b), 0);
	spool_get_stats(s, &st);
	ASSERT_UEQ(st.records, 0);
	/* appends after a restart go to a new segment, read in order */
	append_n(s, 20, 21, 0);
	ASSERT_EQ(spool_read(s, 100, 1 << 20, &b), 0);
	ASSERT_UEQ(b.n, 2);
	ASSERT_UEQ(b.first_seq, 20);
	spool_batch_free(&b);
	spool_close(s);
	tsink_rmrf(dir);
}

TEST(spool_batch_limits_bytes_but_never_below_one_line)
{
	struct spool_opts so = { 1 << 20, 0, SPOOL_DROP_OLDEST };
	struct spool_batch b = { 0 };
	struct spool *s;
	char *dir = tsink_tmpdir(1);

	ASSERT_EQ(spool_open(dir, &so, &s), 0);
	append_n(s, 1, 3, 1000);
	ASSERT_EQ(spool_read(s, 100, 10, &b), 0);
	ASSERT_UEQ(b.n, 1);
	ASSERT_EQ(spool_ack(s, &b), 0);
	ASSERT_EQ(spool_read(s, 100, 2 * strlen(tsink_line(2, 1000)) + 2, &b), 0);
	ASSERT_UEQ(b.n, 2);
	spool_batch_free(&b);
	spool_close(s);
	tsink_rmrf(dir);
}

TEST(spool_full_drop_oldest_and_newest)
{
	struct spool_opts so = { 1000, 0, SPOOL_DROP_OLDEST };
	struct spool_batch b = { 0 };
	struct spool_drop d, total = { 0 };
	struct spool_stats st;
	struct spool *s;
	char *dir = tsink_tmpdir(1);
	const char *big;

	ASSERT_EQ(spool_open(dir, &so, &s), 0);
	for (uint64_t i = 1; i <= 50; i++) {
		const char *l = tsink_line(i, 10);

		ASSERT_EQ(spool_append(s, l, strlen(l), i, &d), 0);
		if (d.count) {
			if (!total.count)
				total.first_seq = d.first_seq;
			else
				ASSERT_UEQ(d.first_seq, total.last_seq + 1);
			total.last_seq = d.last_seq;
			total.count += d.count;
		}
	}
	spool_get_stats(s, &st);
	ASSERT_UEQ(total.first_seq, 1);
	ASSERT_UEQ(total.count, total.last_seq);
	ASSERT_UEQ(total.count + st.records, 50);
	ASSERT_TRUE(st.disk_bytes <= 1000);
	ASSERT_UEQ(st.dropped, total.count);
	/* what is left is the newest, contiguous (batches stop at segment ends) */
	{
		uint64_t next = total.last_seq + 1;

		while (spool_read(s, 100, 1 << 20, &b) == 0 && b.n) {
			ASSERT_UEQ(b.first_seq, next);
			next = b.last_seq + 1;
			ASSERT_EQ(spool_ack(s, &b), 0);
		}
		ASSERT_UEQ(next, 51);
	}
	/* a line over the cap is refused whatever the policy */
	big = tsink_line(51, 2000);
	ASSERT_EQ(spool_append(s, big, strlen(big), 51, &d), -ENOSPC);
	ASSERT_UEQ(d.first_seq, 51);
	ASSERT_UEQ(d.count, 1);
	spool_close(s);

	/* drop_newest keeps what is queued */
	so.policy = SPOOL_DROP_NEWEST;
	ASSERT_EQ(spool_open(dir, &so, &s), 0);
	spool_get_stats(s, &st);
	{
		uint64_t before = st.records, refused = 0;

		for (uint64_t i = 52; i <= 80; i++) {
			const char *l = tsink_line(i, 10);
			int rc = spool_append(s, l, strlen(l), i, &d);

			if (rc == -ENOSPC) {
				ASSERT_UEQ(d.first_seq, i);
				refused++;
			} else {
				ASSERT_EQ(rc, 0);
			}
		}
		spool_get_stats(s, &st);
		ASSERT_TRUE(refused > 0);
		ASSERT_UEQ(st.records, before + 29 - refused);
		ASSERT_EQ(spool_read(s, 100, 1 << 20, &b), 0);
		ASSERT_UEQ(b.first_seq, 52); /* the oldest stayed */
	}
	spool_batch_free(&b);
	spool_close(s);
	tsink_rmrf(dir);
}

TEST(spool_torn_tail_and_corrupt_lines_skipped)
{
	struct spool_opts so = { 1 << 20, 0, SPOOL_DROP_OLDEST };
	struct spool_batch b = { 0 };
	struct spool_stats st;
	struct spool *s;
	char *dir = tsink_tmpdir(1), seg[600];
	static const char junk[] = "\0\0\0\0\n";
	static const char torn[] = "{\"seq\":4,\"id\":\"id-4\",\"pa";
	const char *l;
	int fd;

	ASSERT_EQ(spool_open(dir, &so, &s), 0);
	append_n(s, 1, 2, 0);
	spool_newest_path(s, seg, sizeof(seg));
	spool_close(s);
	/* a crash: garbage between records and a half-written last line */
	fd = open(seg, O_WRONLY | O_APPEND);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, junk, sizeof(junk) - 1), (long)sizeof(junk) - 1);
	l = tsink_line(3, 0);
	ASSERT_EQ(write(fd, l, strlen(l)), (long)strlen(l));
	ASSERT_EQ(write(fd, "\n", 1), 1);
	ASSERT_EQ(write(fd, torn, sizeof(torn) - 1), (long)sizeof(torn) - 1);
	close(fd);

	ASSERT_EQ(spool_open(dir, &so, &s), 0);
	spool_get_stats(s, &st);
	ASSERT_UEQ(st.records, 3);
	ASSERT_UEQ(st.corrupt, 2); /* the junk line and the torn tail */
	ASSERT_EQ(spool_read(s, 100, 1 << 20, &b), 0);
	ASSERT_UEQ(b.n, 3);
	ASSERT_UEQ(b.first_seq, 1);
	ASSERT_UEQ(b.last_seq, 3);
	ASSERT_TRUE(strstr(b.data, "\"pa\n") == NULL);
	ASSERT_EQ(spool_ack(s, &b), 0);
	append_n(s, 5, 5, 0);
	ASSERT_EQ(spool_read(s, 100, 1 << 20, &b), 0);
	ASSERT_UEQ(b.n, 1);
	ASSERT_UEQ(b.first_seq, 5);
	spool_batch_free(&b);
	spool_close(s);
	tsink_rmrf(dir);
}

TEST(spool_quarantine_moves_batch)
{
	struct spool_opts so = { 1 << 20, 0, SPOOL_DROP_OLDEST };
	struct spool_batch b = { 0 };
	struct spool_stats st;
	struct spool *s;
	char *dir = tsink_tmpdir(1);

	ASSERT_EQ(spool_open(dir, &so, &s), 0);
	append_n(s, 1, 3, 0);
	ASSERT_EQ(spool_read(s, 2, 1 << 20, &b), 0);
	ASSERT_EQ(spool_quarantine(s, &b), 0);
	spool_get_stats(s, &st);
	ASSERT_UEQ(st.quarantined, 2);
	ASSERT_UEQ(st.records, 1);
	spool_batch_free(&b);
	spool_close(s);
	tsink_rmrf(dir);
}
