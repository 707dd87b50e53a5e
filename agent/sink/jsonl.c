// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int jsonl_open(struct jsonl_sink *s, const char *path)
{
	struct stat st;
	int fd;

	memset(s, 0, sizeof(*s));
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (strcmp(path, "-") == 0) {
		s->f = stdout;
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
	s->f = fdopen(fd, "a");
	if (!s->f) {
		int err = -errno;

		close(fd);
		return err;
	}
	s->owned = 1;
	return 0;
}

int jsonl_write(struct jsonl_sink *s, const json_t *rec)
{
	char *line = json_dumps(rec, JSON_COMPACT);
	int err = 0;

	if (!line)
		return -ENOMEM;
	if (fputs(line, s->f) == EOF || fputc('\n', s->f) == EOF) {
		s->write_errors++;
		err = -EIO;
	} else {
		s->records++;
	}
	free(line);
	return err;
}

int jsonl_flush(struct jsonl_sink *s)
{
	if (!s->f)
		return 0;
	if (fflush(s->f) != 0) {
		s->write_errors++;
		return -errno;
	}
	return 0;
}

void jsonl_close(struct jsonl_sink *s)
{
	if (!s->f)
		return;
	fflush(s->f);
	if (s->owned)
		fclose(s->f);
	s->f = NULL;
}
