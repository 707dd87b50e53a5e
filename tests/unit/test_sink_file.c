// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The file output: mode, rotation by size with ordered names, gzip of
 * rotated files, retention by age and by total size. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "sink/file_out.h"
#include "test.h"
#include "test_sink_util.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* names in dir starting with prefix, sorted */
static size_t list(const char *dir, const char *prefix, char **names, size_t max)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d)))
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 && n < max)
			names[n++] = strdup(de->d_name);
	if (d)
		closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	return n;
}

static char *read_gz(const char *path)
{
	gzFile g = gzopen(path, "rb");
	char *buf = calloc(1, 1 << 20);
	int n;

	if (!g || !buf) {
		free(buf);
		return NULL;
	}
	n = gzread(g, buf, (1 << 20) - 1);
	gzclose(g);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

TEST(sink_file_rotation_by_size_ordered_and_gzipped)
{
	struct output_config c = { .type = OUTPUT_FILE, .rotate_bytes = 400, .compress = true };
	struct file_out_stats st;
	struct file_out *f;
	struct stat sb;
	char *dir = tsink_tmpdir(2), path[300], expect[16384] = "", all[16384] = "";
	char *names[64];
	size_t n;

	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	c.path = path;
	ASSERT_EQ(file_out_open(&c, &f), 0);
	ASSERT_EQ(stat(path, &sb), 0);
	ASSERT_EQ(sb.st_mode & 0777 & ~0640, 0);
	for (uint64_t i = 1; i <= 30; i++) {
		const char *l = tsink_line(i, 0);

		ASSERT_EQ(file_out_write(f, l, strlen(l)), 0);
		strcat(expect, l);
		strcat(expect, "\n");
	}
	ASSERT_EQ(file_out_flush(f), 0);
	file_out_get_stats(f, &st);
	ASSERT_TRUE(st.rotations >= 5);
	ASSERT_EQ(file_out_maintain(f), 0);
	n = list(dir, "audit.jsonl.", names, 64);
	ASSERT_UEQ(n, st.rotations);
	/* name order is write order; every rotated file is compressed */
	for (size_t i = 0; i < n; i++) {
		char p[600], *txt;

		ASSERT_TRUE(strlen(names[i]) == strlen("audit.jsonl.20261127T094100.123456Z.gz"));
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		txt = read_gz(p);
		ASSERT_TRUE(txt != NULL);
		ASSERT_TRUE(strlen(txt) <= 400);
		strcat(all, txt);
		free(txt);
		free(names[i]);
	}
	{
		char *cur = tsink_read(path, NULL);

		strcat(all, cur);
		free(cur);
	}
	ASSERT_STREQ(all, expect);
	file_out_close(f);
	tsink_rmrf(dir);
}

TEST(sink_file_existing_mode_tightened)
{
	struct output_config c = { .type = OUTPUT_FILE, .mode = 0600 };
	struct file_out *f;
	struct stat sb;
	char *dir = tsink_tmpdir(2), path[300];
	int fd;

	snprintf(path, sizeof(path), "%s/a.jsonl", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0666);
	fchmod(fd, 0666);
	close(fd);
	c.path = path;
	ASSERT_EQ(file_out_open(&c, &f), 0);
	ASSERT_EQ(stat(path, &sb), 0);
	ASSERT_EQ(sb.st_mode & 0777, 0600);
	file_out_close(f);
	/* never through a symlink */
	unlink(path);
	ASSERT_EQ(symlink("/etc/passwd", path), 0);
	ASSERT_EQ(file_out_open(&c, &f), -ELOOP);
	tsink_rmrf(dir);
}

static void make_rotated(const char *dir, const char *name, size_t size, time_t mtime)
{
	char p[600], *buf = calloc(1, size + 1);
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	memset(buf, 'x', size);
	if (write(fd, buf, size) != (ssize_t)size)
		abort();
	futimens(fd, ts);
	close(fd);
	free(buf);
}

TEST(sink_file_retention_by_age_and_size)
{
	struct output_config c = { .type = OUTPUT_FILE,
				   .retention_days = 180,
				   .retention_bytes = 2500 };
	struct file_out_stats st;
	struct file_out *f;
	char *dir = tsink_tmpdir(2), path[300], *names[16];
	time_t now = time(NULL);
	size_t n;

	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	c.path = path;
	make_rotated(dir, "audit.jsonl.20200101T000000.000000Z.gz", 1000, now - 200 * 86400);
	make_rotated(dir, "audit.jsonl.20260101T000000.000000Z.gz", 1000, now - 100 * 86400);
	make_rotated(dir, "audit.jsonl.20260201T000000.000000Z", 1000, now - 90 * 86400);
	make_rotated(dir, "audit.jsonl.20260301T000000.000000Z.gz", 1000, now - 80 * 86400);
	make_rotated(dir, "audit.jsonl.notastamp", 5000, now - 400 * 86400);
	make_rotated(dir, "other.jsonl.20200101T000000.000000Z", 100, now - 400 * 86400);
	ASSERT_EQ(file_out_open(&c, &f), 0);
	ASSERT_EQ(file_out_maintain(f), 0);
	file_out_get_stats(f, &st);
	n = list(dir, "audit.jsonl.2", names, 16);
	/* 200 days old: gone; then the oldest until <= 2500 bytes remain */
	ASSERT_UEQ(n, 2);
	ASSERT_STREQ(names[0], "audit.jsonl.20260201T000000.000000Z");
	ASSERT_STREQ(names[1], "audit.jsonl.20260301T000000.000000Z.gz");
	ASSERT_UEQ(st.deleted, 2);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	/* what is not ours is never touched */
	ASSERT_UEQ(list(dir, "audit.jsonl.notastamp", names, 16), 1);
	free(names[0]);
	ASSERT_UEQ(list(dir, "other.jsonl", names, 16), 1);
	free(names[0]);
	/* rotation after a later name: still sorts last */
	{
		const char *l = tsink_line(1, 0);

		make_rotated(dir, "audit.jsonl.29990101T000000.000000Z.gz", 10, now);
		file_out_close(f);
		ASSERT_EQ(file_out_open(&c, &f), 0);
		ASSERT_EQ(file_out_write(f, l, strlen(l)), 0);
		ASSERT_EQ(file_out_rotate(f), 0);
		n = list(dir, "audit.jsonl.2", names, 16);
		ASSERT_STREQ(names[n - 1], "audit.jsonl.29990101T000000.000001Z");
		for (size_t i = 0; i < n; i++)
			free(names[i]);
	}
	file_out_close(f);
	tsink_rmrf(dir);
}

TEST(sink_file_rotation_by_time_period)
{
	struct output_config c = { .type = OUTPUT_FILE, .rotate_interval_s = 86400 };
	struct file_out_stats st;
	struct file_out *f;
	char *dir = tsink_tmpdir(2), path[300], *names[4];
	const char *l = tsink_line(1, 0);
	time_t old = time(NULL) - 2 * 86400;

	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	c.path = path;
	/* yesterday's file, left by the last run */
	make_rotated(dir, "audit.jsonl", 100, old);
	ASSERT_EQ(file_out_open(&c, &f), 0);
	ASSERT_EQ(file_out_write(f, l, strlen(l)), 0);
	ASSERT_EQ(file_out_write(f, l, strlen(l)), 0);
	file_out_get_stats(f, &st);
	ASSERT_UEQ(st.rotations, 1); /* once: the new file is today's */
	ASSERT_UEQ(list(dir, "audit.jsonl.2", names, 4), 1);
	free(names[0]);
	file_out_close(f);
	tsink_rmrf(dir);
}

/* A crash left half a line: it is cut, so the next record starts a line. */
TEST(sink_file_torn_tail_cut_at_open)
{
	struct output_config c = { .type = OUTPUT_FILE, .mode = 0600 };
	struct file_out *f;
	char *dir = tsink_tmpdir(3), path[300], buf[256];
	const char *l = "{\"seq\":3}\n";
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	c.path = path;
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, "{\"seq\":1}\n{\"seq\":2,\"to", 22), 22);
	close(fd);
	ASSERT_EQ(file_out_open(&c, &f), 0);
	ASSERT_EQ(file_out_write(f, l, strlen(l)), 0);
	file_out_close(f);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_TRUE(n > 0);
	buf[n] = '\0';
	ASSERT_STREQ(buf, "{\"seq\":1}\n{\"seq\":3}\n");
	tsink_rmrf(dir);
}
