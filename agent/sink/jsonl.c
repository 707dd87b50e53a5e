// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int jsonl_open(struct jsonl_sink *s, const char *path)
{
	struct stat st;
	int fd;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (strcmp(path, "-") == 0) {
		s->fd = STDOUT_FILENO;
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	/* an existing file keeps its mode: records are sensitive, tighten it */
	if (fstat(fd, &st) == 0 && (st.st_mode & 077) && fchmod(fd, st.st_mode & 0600) != 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	s->fd = fd;
	s->owned = 1;
	return 0;
}

/* a buffer grown past this by one large record is not kept for the next */
#define JSONL_KEEP_MAX (1u << 20)

static int jsonl_write_all(struct jsonl_sink *s, const char *p, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(s->fd, p + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t)n;
	}
	return 0;
}

int jsonl_write(struct jsonl_sink *s, const json_t *rec)
{
	struct json_fast_buf *b = &s->line;
	int err;

	b->len = 0;
	err = json_fast_dump(rec, b);
	if (!err) {
		if (b->len == b->alloc)
			err = json_fast_reserve(b, 1);
		if (!err) {
			b->data[b->len++] = '\n';
			err = jsonl_write_all(s, b->data, b->len);
		}
	} else if (err == -EINVAL) {
		/* what the fast path cannot reproduce exactly, jansson writes */
		char *line = json_dumps(rec, JSON_COMPACT);
		size_t len;

		if (!line) {
			err = -ENOMEM;
		} else {
			len = strlen(line);
			line[len++] = '\n'; /* json_dumps's NUL becomes the newline */
			err = jsonl_write_all(s, line, len);
			free(line);
		}
	}
	if (b->alloc > JSONL_KEEP_MAX)
		json_fast_buf_free(b);
	if (err)
		s->write_errors++;
	else
		s->records++;
	return err;
}

void jsonl_close(struct jsonl_sink *s)
{
	if (s->owned && s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	json_fast_buf_free(&s->line);
}
