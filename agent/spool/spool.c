// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "spool.h"
#include "util/fileio.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SEG_PREFIX "seg-"
#define SEG_SUFFIX ".ndjson"
#define SEG_NAME_LEN (4 + 20 + 7)
#define CURSOR_NAME "cursor"
#define SEG_MIN (256u)
#define SEG_MAX (64ull << 20)
#define READ_CHUNK (64u << 10)
/* a line longer than this is not a record this agent wrote: skipped */
#define LINE_MAX_BYTES (256ull << 20)

struct seg {
	uint64_t gen;
	uint64_t name_seq; /* the number in the file name (sort order) */
	uint64_t first_seq, last_seq;
	uint64_t size, records;
	uint64_t created_ns; /* wall clock */
};

struct spool {
	pthread_mutex_t mu;
	pthread_mutex_t cursor_mu; /* serialises cursor file writes */
	char *dir;
	struct spool_opts o;
	struct seg *segs;
	size_t nseg, aseg;
	uint64_t next_gen;
	int wfd; /* appending to segs[nseg - 1] when >= 0 */
	bool dirty;
	/* the cursor is always in segs[0]: earlier segments are deleted */
	uint64_t cur_off, cur_records; /* records of segs[0] before cur_off */
	uint64_t total_size;
	uint64_t pending_since; /* mono ns; 0: records found at open */
	struct spool_stats st;
};

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void seg_name(uint64_t name_seq, char *buf, size_t len)
{
	snprintf(buf, len, SEG_PREFIX "%020" PRIu64 SEG_SUFFIX, name_seq);
}

static void seg_path(const struct spool *s, const struct seg *g, char *buf, size_t len)
{
	char name[SEG_NAME_LEN + 1];

	seg_name(g->name_seq, name, sizeof(name));
	snprintf(buf, len, "%s/%s", s->dir, name);
}

static bool parse_seg_name(const char *name, uint64_t *seq)
{
	uint64_t v = 0;

	if (strlen(name) != SEG_NAME_LEN || strncmp(name, SEG_PREFIX, 4) != 0 ||
	    strcmp(name + 24, SEG_SUFFIX) != 0)
		return false;
	for (int i = 4; i < 24; i++) {
		if (!isdigit((unsigned char)name[i]))
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*seq = v;
	return true;
}

/* ---- top-level "seq" without a full parse ---- */

static size_t skip_ws(const char *p, size_t i, size_t n)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	return i;
}

/* i at the opening quote; returns the index after the closing quote, or n */
static size_t skip_string(const char *p, size_t i, size_t n)
{
	for (i++; i < n; i++) {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '"')
			return i + 1;
	}
	return n;
}

static size_t skip_value(const char *p, size_t i, size_t n)
{
	size_t depth = 0;

	if (i < n && p[i] == '"')
		return skip_string(p, i, n);
	while (i < n) {
		char c = p[i];

		if (c == '"') {
			i = skip_string(p, i, n);
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (!depth)
				return i;
			if (--depth == 0)
				return i + 1;
		} else if (c == ',' && !depth) {
			return i;
		}
		i++;
	}
	return n;
}

int spool_line_seq(const char *p, size_t n, uint64_t *seq)
{
	size_t i = skip_ws(p, 0, n);

	if (i >= n || p[i] != '{')
		return -ENOENT;
	i++;
	for (;;) {
		size_t ks, ke;

		i = skip_ws(p, i, n);
		if (i >= n || p[i] != '"')
			return -ENOENT;
		ks = i + 1;
		i = skip_string(p, i, n);
		if (i >= n)
			return -ENOENT;
		ke = i - 1;
		i = skip_ws(p, i, n);
		if (i >= n || p[i] != ':')
			return -ENOENT;
		i = skip_ws(p, i + 1, n);
		if (ke - ks == 3 && memcmp(p + ks, "seq", 3) == 0) {
			uint64_t v = 0;
			size_t d = i;

			while (i < n && p[i] >= '0' && p[i] <= '9') {
				uint64_t dg = (uint64_t)(p[i] - '0');

				if (v > (UINT64_MAX - dg) / 10)
					return -ENOENT;
				v = v * 10 + dg;
				i++;
			}
			if (i == d || (i < n && (p[i] == '.' || p[i] == 'e' || p[i] == 'E')))
				return -ENOENT;
			*seq = v;
			return 0;
		}
		i = skip_value(p, i, n);
		i = skip_ws(p, i, n);
		if (i >= n || p[i] != ',')
			return -ENOENT;
		i++;
	}
}

/* ---- reading lines from a segment file ---- */

/* Reads the line starting at off (up to its newline, or end) into *buf. */
static int read_line_at(int fd, uint64_t off, uint64_t end, char **buf, size_t *len)
{
	size_t alloc = 0, got = 0;
	char *b = NULL;

	while (off + got < end) {
		size_t want = READ_CHUNK;
		ssize_t r;
		char *nl;

		if (got + want > alloc) {
			char *nb;

			if (got + want > LINE_MAX_BYTES)
				break;
			nb = realloc(b, got + want);
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
			alloc = got + want;
		}
		if (want > end - off - got)
			want = (size_t)(end - off - got);
		r = pread(fd, b + got, want, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(b);
			return r < 0 ? -errno : -EIO;
		}
		nl = memchr(b + got, '\n', (size_t)r);
		if (nl) {
			got = (size_t)(nl - b);
			break;
		}
		got += (size_t)r;
	}
	*buf = b;
	*len = got;
	return 0;
}

static bool line_ok(const char *p, size_t len)
{
	return len > 0 && p[0] == '{';
}

/*
 * Scans one segment at open: counts valid lines (and those before cur_off),
 * finds the first and last seq, truncates a torn tail.  Returns 0, or
 * 1 when the segment is empty and was removed.
 */
static int scan_segment(struct spool *s, struct seg *g, uint64_t cur_off, bool is_cursor)
{
	char path[PATH_MAX], *buf;
	uint64_t off = 0, line_start = 0, last_valid = UINT64_MAX, first_valid = UINT64_MAX;
	bool at_line_start = true;
	struct stat st;
	int fd, err = 0;

	seg_path(s, g, path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		err = -errno;
		goto out;
	}
	g->created_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
	buf = malloc(READ_CHUNK);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = pread(fd, buf, READ_CHUNK, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		for (ssize_t i = 0; i < r; i++) {
			if (at_line_start) {
				line_start = off + (uint64_t)i;
				at_line_start = false;
				if (buf[i] == '{') {
					if (first_valid == UINT64_MAX)
						first_valid = line_start;
					last_valid = line_start;
					g->records++;
					if (is_cursor && line_start < cur_off)
						s->cur_records++;
				} else if (buf[i] != '\n') {
					s->st.corrupt++;
				}
			}
			if (buf[i] == '\n')
				at_line_start = true;
		}
		off += (uint64_t)r;
	}
	free(buf);
	if (err)
		goto out;
	if (!at_line_start) {
		/* a torn tail: the last write never completed */
		if (last_valid == line_start) {
			g->records--;
			if (is_cursor && line_start < cur_off)
				s->cur_records--;
			last_valid = UINT64_MAX;
			if (first_valid == line_start)
				first_valid = UINT64_MAX;
		}
		s->st.corrupt++;
		if (ftruncate(fd, (off_t)line_start) != 0) {
			err = -errno;
			goto out;
		}
		off = line_start;
	}
	g->size = off;
	if (!g->records && (!is_cursor || off == 0)) {
		close(fd);
		unlink(path);
		return 1;
	}
	g->first_seq = g->last_seq = g->name_seq;
	if (last_valid != UINT64_MAX) {
		char *l;
		size_t n;

		/* (if there is no valid line, the records were all corrupt and the
		 * segment still exists for the cursor: the name's seq stands) */
		if (read_line_at(fd, first_valid, off, &l, &n) == 0) {
			spool_line_seq(l, n, &g->first_seq);
			free(l);
		}
		if (read_line_at(fd, last_valid, off, &l, &n) == 0) {
			if (spool_line_seq(l, n, &g->last_seq) != 0)
				g->last_seq = g->first_seq + g->records - 1;
			free(l);
		}
	}
out:
	close(fd);
	return err;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->name_seq < y->name_seq ? -1 : x->name_seq > y->name_seq;
}

static int mkdir_p(const char *dir, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, dir, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int read_cursor(const char *dir, uint64_t *name_seq, uint64_t *off)
{
	char path[PATH_MAX], buf[128], name[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/" CURSOR_NAME, dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	buf[n] = '\0';
	if (sscanf(buf, "%63s %" SCNu64, name, off) != 2 || !parse_seg_name(name, name_seq))
		return -EINVAL;
	return 0;
}

static int write_cursor(struct spool *s, uint64_t name_seq, uint64_t off)
{
	char name[SEG_NAME_LEN + 1], line[96];
	int err, n;

	seg_name(name_seq, name, sizeof(name));
	n = snprintf(line, sizeof(line), "%s %" PRIu64 "\n", name, off);
	pthread_mutex_lock(&s->cursor_mu);
	err = fileio_replace(s->dir, CURSOR_NAME, line, (size_t)n);
	pthread_mutex_unlock(&s->cursor_mu);
	if (err) {
		pthread_mutex_lock(&s->mu);
		s->st.cursor_errors++;
		pthread_mutex_unlock(&s->mu);
	}
	return err;
}

int spool_open(const char *dir, const struct spool_opts *opts, struct spool **out)
{
	uint64_t cur_seq = 0, cur_off = 0;
	bool have_cursor;
	struct spool *s;
	struct dirent *de;
	DIR *d = NULL;
	int err;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->cursor_mu, NULL);
	s->wfd = -1;
	s->o = *opts;
	if (!s->o.max_bytes)
		s->o.max_bytes = 1ull << 30;
	if (!s->o.segment_bytes) {
		s->o.segment_bytes = s->o.max_bytes / 8;
		if (s->o.segment_bytes < SEG_MIN)
			s->o.segment_bytes = SEG_MIN;
		if (s->o.segment_bytes > SEG_MAX)
			s->o.segment_bytes = SEG_MAX;
	}
	s->dir = strdup(dir);
	if (!s->dir) {
		err = -ENOMEM;
		goto fail;
	}
	err = mkdir_p(dir, 0700);
	if (err)
		goto fail;
	/* records are sensitive: the spool is the agent's alone */
	if (chmod(dir, 0700) != 0) {
		err = -errno;
		goto fail;
	}
	d = opendir(dir);
	if (!d) {
		err = -errno;
		goto fail;
	}
	while ((de = readdir(d))) {
		uint64_t seq;

		if (!parse_seg_name(de->d_name, &seq))
			continue;
		if (s->nseg == s->aseg) {
			size_t na = s->aseg ? s->aseg * 2 : 16;
			struct seg *ns = realloc(s->segs, na * sizeof(*ns));

			if (!ns) {
				err = -ENOMEM;
				goto fail;
			}
			s->segs = ns;
			s->aseg = na;
		}
		memset(&s->segs[s->nseg], 0, sizeof(struct seg));
		s->segs[s->nseg++].name_seq = seq;
	}
	closedir(d);
	d = NULL;
	if (s->nseg)
		qsort(s->segs, s->nseg, sizeof(*s->segs), cmp_seg);

	have_cursor = read_cursor(dir, &cur_seq, &cur_off) == 0;
	for (size_t i = 0; i < s->nseg;) {
		struct seg *g = &s->segs[i];
		char path[PATH_MAX];
		bool is_cursor;
		int r;

		if (have_cursor && g->name_seq < cur_seq) {
			/* acknowledged, its deletion lost in a crash */
			seg_path(s, g, path, sizeof(path));
			unlink(path);
			memmove(g, g + 1, (s->nseg - i - 1) * sizeof(*g));
			s->nseg--;
			continue;
		}
		/* the cursor lives in the first remaining segment */
		is_cursor = i == 0 && have_cursor && g->name_seq == cur_seq;
		if (i == 0)
			s->cur_records = 0;
		r = scan_segment(s, g, is_cursor ? cur_off : 0, is_cursor);
		if (r < 0) {
			err = r;
			goto fail;
		}
		if (r == 1) {
			memmove(g, g + 1, (s->nseg - i - 1) * sizeof(*g));
			s->nseg--;
			continue;
		}
		if (i == 0)
			s->cur_off = is_cursor ? (cur_off < g->size ? cur_off : g->size) : 0;
		g->gen = s->next_gen++;
		s->total_size += g->size;
		i++;
	}
	if (s->nseg == 0)
		s->cur_records = s->cur_off = 0;
	*out = s;
	return 0;
fail:
	if (d)
		closedir(d);
	spool_close(s);
	return err;
}

void spool_close(struct spool *s)
{
	if (!s)
		return;
	if (s->wfd >= 0) {
		if (s->dirty)
			fdatasync(s->wfd);
		close(s->wfd);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->cursor_mu);
	free(s->segs);
	free(s->dir);
	free(s);
}

static uint64_t pending_locked(const struct spool *s)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->nseg; i++)
		n += s->segs[i].records;
	return n - (s->nseg ? s->cur_records : 0);
}

/* Removes segs[0] (the cursor moves to the next segment's start). */
static void remove_first_locked(struct spool *s)
{
	char path[PATH_MAX];

	seg_path(s, &s->segs[0], path, sizeof(path));
	if (s->nseg == 1 && s->wfd >= 0) {
		close(s->wfd);
		s->wfd = -1;
		s->dirty = false;
	}
	unlink(path);
	s->total_size -= s->segs[0].size;
	memmove(s->segs, s->segs + 1, (s->nseg - 1) * sizeof(*s->segs));
	s->nseg--;
	s->cur_off = s->cur_records = 0;
}

static void drop_oldest_locked(struct spool *s, struct spool_drop *d)
{
	struct seg *g = &s->segs[0];
	uint64_t unacked = g->records - s->cur_records;

	if (unacked) {
		uint64_t first = g->first_seq;

		if (s->cur_off > 0) {
			char path[PATH_MAX], *l;
			size_t n;
			int fd;

			/* the first record not yet acknowledged names the range */
			seg_path(s, g, path, sizeof(path));
			fd = open(path, O_RDONLY | O_CLOEXEC);
			first = g->last_seq - unacked + 1;
			if (fd >= 0) {
				if (read_line_at(fd, s->cur_off, g->size, &l, &n) == 0) {
					spool_line_seq(l, n, &first);
					free(l);
				}
				close(fd);
			}
		}
		if (!d->count)
			d->first_seq = first;
		d->last_seq = g->last_seq;
		d->count += unacked;
		s->st.dropped += unacked;
	}
	remove_first_locked(s);
}

static int new_segment_locked(struct spool *s, uint64_t seq)
{
	char path[PATH_MAX];
	struct seg *g;
	int fd;

	if (s->wfd >= 0) {
		/* the segment is complete: make it durable before the next */
		if (s->dirty)
			fdatasync(s->wfd);
		close(s->wfd);
		s->wfd = -1;
		s->dirty = false;
	}
	if (s->nseg == s->aseg) {
		size_t na = s->aseg ? s->aseg * 2 : 16;
		struct seg *ns = realloc(s->segs, na * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		s->segs = ns;
		s->aseg = na;
	}
	g = &s->segs[s->nseg];
	memset(g, 0, sizeof(*g));
	/* names must sort in write order even if seq ever went backwards */
	g->name_seq = seq;
	if (s->nseg && g->name_seq <= s->segs[s->nseg - 1].name_seq)
		g->name_seq = s->segs[s->nseg - 1].name_seq + 1;
	g->first_seq = g->last_seq = seq;
	g->created_ns = now_ns(CLOCK_REALTIME);
	seg_path(s, g, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (s->nseg == 0)
		s->cur_off = s->cur_records = 0;
	g->gen = s->next_gen++;
	s->nseg++;
	s->wfd = fd;
	fileio_fsync_dir(s->dir);
	return 0;
}

int spool_append(struct spool *s, const char *line, size_t len, uint64_t seq,
		 struct spool_drop *dropped)
{
	struct iovec iov[2] = { { (void *)line, len }, { (void *)"\n", 1 } };
	uint64_t need = (uint64_t)len + 1, was_pending;
	struct seg *g;
	ssize_t n;
	int err = 0;

	memset(dropped, 0, sizeof(*dropped));
	pthread_mutex_lock(&s->mu);
	if (need > s->o.max_bytes)
		goto refuse;
	while (s->total_size + need > s->o.max_bytes) {
		if (s->nseg && s->cur_off >= s->segs[0].size && !(s->nseg == 1 && s->wfd >= 0)) {
			remove_first_locked(s); /* fully acknowledged: free room */
			continue;
		}
		if (s->o.policy == SPOOL_DROP_NEWEST || !s->nseg)
			goto refuse;
		drop_oldest_locked(s, dropped);
	}
	if (s->wfd < 0 ||
	    (s->segs[s->nseg - 1].size && s->segs[s->nseg - 1].size + need > s->o.segment_bytes)) {
		err = new_segment_locked(s, seq);
		if (err)
			goto out;
	}
	g = &s->segs[s->nseg - 1];
	was_pending = pending_locked(s);
	n = writev(s->wfd, iov, 2);
	if (n != (ssize_t)need) {
		err = n < 0 ? -errno : -EIO;
		/* never leave half a line behind a whole one */
		if (n > 0 && ftruncate(s->wfd, (off_t)g->size) != 0) {
			close(s->wfd);
			s->wfd = -1;
		}
		goto out;
	}
	if (!g->records)
		g->first_seq = seq;
	g->size += need;
	g->records++;
	g->last_seq = seq;
	s->total_size += need;
	s->st.appended++;
	s->dirty = true;
	if (!was_pending)
		s->pending_since = now_ns(CLOCK_MONOTONIC);
	goto out;
refuse:
	dropped->first_seq = dropped->last_seq = seq;
	dropped->count = 1;
	s->st.dropped++;
	err = -ENOSPC;
out:
	pthread_mutex_unlock(&s->mu);
	return err;
}

int spool_sync(struct spool *s)
{
	int err = 0;

	pthread_mutex_lock(&s->mu);
	if (s->wfd >= 0 && s->dirty) {
		if (fdatasync(s->wfd) != 0)
			err = -errno;
		else
			s->dirty = false;
	}
	pthread_mutex_unlock(&s->mu);
	return err;
}

void spool_batch_free(struct spool_batch *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static int batch_reserve(struct spool_batch *b, size_t need)
{
	char *p;
	size_t na;

	if (need <= b->alloc)
		return 0;
	na = b->alloc ? b->alloc : READ_CHUNK;
	while (na < need)
		na *= 2;
	p = realloc(b->data, na);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->alloc = na;
	return 0;
}

/*
 * Fills b from [off, end) of fd: whole lines only, corrupt ones skipped
 * (counted in *corrupt).  *consumed: bytes of the file the batch covers.
 */
static int fill_batch(int fd, uint64_t off, uint64_t end, size_t max_records, size_t max_bytes,
		      struct spool_batch *b, uint64_t *consumed, uint64_t *corrupt)
{
	size_t want = max_bytes < READ_CHUNK ? READ_CHUNK : max_bytes;
	uint64_t pos = off; /* file offset of b->data[scan] */
	size_t have = 0, scan = 0;
	int err;

	/* Read [pos, pos + want) after what is kept; lines are compacted in place. */
	for (;;) {
		size_t room;
		ssize_t r;
		char *nl;

		if (pos + (have - scan) >= end && have == scan)
			break;
		if (pos + (have - scan) < end) {
			room = want;
			if (room > end - pos - (have - scan))
				room = (size_t)(end - pos - (have - scan));
			err = batch_reserve(b, have + room + 1);
			if (err)
				return err;
			r = pread(fd, b->data + have, room, (off_t)(pos + (have - scan)));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -errno;
			if (r == 0)
				end = pos + (have - scan); /* shrank under us */
			have += (size_t)r;
		}
		while (scan < have) {
			size_t ll;

			nl = memchr(b->data + scan, '\n', have - scan);
			if (!nl)
				break;
			ll = (size_t)(nl - (b->data + scan)) + 1;
			if (!line_ok(b->data + scan, ll - 1)) {
				(*corrupt)++;
			} else {
				if (b->n && (b->n >= max_records || b->len + ll > max_bytes))
					goto done;
				memmove(b->data + b->len, b->data + scan, ll);
				b->len += ll;
				b->n++;
			}
			scan += ll;
			pos += ll;
		}
		if (b->n && (b->n >= max_records || b->len >= max_bytes))
			goto done;
		/* what is left is an unfinished line: keep it, read on */
		memmove(b->data + b->len, b->data + scan, have - scan);
		have = b->len + (have - scan);
		scan = b->len;
		if (pos + (have - scan) >= end) {
			if (have > scan) {
				/* a tail without its newline: torn, skipped */
				(*corrupt)++;
				pos += have - scan;
				have = scan;
			}
			break;
		}
		if (have - scan > LINE_MAX_BYTES) {
			(*corrupt)++;
			return -EFBIG;
		}
		if (have - scan >= want / 2)
			want *= 2;
	}
done:
	*consumed = pos - off;
	return 0;
}

int spool_read(struct spool *s, size_t max_records, size_t max_bytes, struct spool_batch *b)
{
	char path[PATH_MAX];
	uint64_t gen, off, end, consumed = 0, corrupt = 0;
	int fd, err;

	if (!max_records)
		max_records = 1;
again:
	b->len = b->n = 0;
	b->first_seq = b->last_seq = 0;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (!s->nseg) {
			pthread_mutex_unlock(&s->mu);
			return 0;
		}
		if (s->cur_off < s->segs[0].size)
			break;
		if (s->nseg == 1 && s->wfd >= 0) {
			pthread_mutex_unlock(&s->mu);
			return 0;
		}
		remove_first_locked(s); /* fully acknowledged */
	}
	gen = s->segs[0].gen;
	off = s->cur_off;
	end = s->segs[0].size;
	seg_path(s, &s->segs[0], path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	err = fd < 0 ? -errno : 0;
	pthread_mutex_unlock(&s->mu);
	if (err)
		return err;
	err = fill_batch(fd, off, end, max_records, max_bytes, b, &consumed, &corrupt);
	close(fd);
	b->end.gen = gen;
	b->end.off = off + consumed;
	if (corrupt) {
		pthread_mutex_lock(&s->mu);
		s->st.corrupt += corrupt;
		pthread_mutex_unlock(&s->mu);
	}
	if (err == -EFBIG) {
		/* an absurd line: step over it rather than stall forever */
		b->end.off = end;
		b->n = 0;
		err = 0;
	}
	if (err)
		return err;
	if (!b->n) {
		if (consumed || b->end.off > off) {
			spool_ack(s, b); /* only corrupt lines: step over them */
			goto again;
		}
		return 0;
	}
	{
		const char *last = b->data, *p;

		spool_line_seq(b->data, b->len, &b->first_seq);
		for (p = b->data; p < b->data + b->len - 1; p++)
			if (*p == '\n')
				last = p + 1;
		spool_line_seq(last, (size_t)(b->data + b->len - last), &b->last_seq);
	}
	return 0;
}

int spool_ack(struct spool *s, const struct spool_batch *b)
{
	uint64_t name_seq, off;

	pthread_mutex_lock(&s->mu);
	if (!s->nseg || b->end.gen != s->segs[0].gen || b->end.off <= s->cur_off) {
		/* dropped meanwhile, or already acknowledged */
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	s->cur_off = b->end.off;
	s->cur_records += b->n;
	if (s->cur_records > s->segs[0].records)
		s->cur_records = s->segs[0].records;
	if (s->cur_off >= s->segs[0].size && !(s->nseg == 1 && s->wfd >= 0))
		remove_first_locked(s);
	if (s->nseg) {
		name_seq = s->segs[0].name_seq;
		off = s->cur_off;
	} else {
		/* nothing left: a cursor before any future segment */
		name_seq = 0;
		off = 0;
	}
	pthread_mutex_unlock(&s->mu);
	return write_cursor(s, name_seq, off);
}

int spool_quarantine(struct spool *s, const struct spool_batch *b)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	int fd, err;

	snprintf(dir, sizeof(dir), "%s/quarantine", s->dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/q-%020" PRIu64 "-%" PRIu64 ".ndjson", dir, b->first_seq,
		 now_ns(CLOCK_REALTIME));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	err = fileio_write_all(fd, b->data, b->len);
	if (!err && fsync(fd) != 0)
		err = -errno;
	close(fd);
	if (err) {
		unlink(path);
		return err;
	}
	fileio_fsync_dir(dir);
	pthread_mutex_lock(&s->mu);
	s->st.quarantined += b->n;
	pthread_mutex_unlock(&s->mu);
	return spool_ack(s, b);
}

void spool_get_stats(struct spool *s, struct spool_stats *st)
{
	pthread_mutex_lock(&s->mu);
	*st = s->st;
	st->records = pending_locked(s);
	st->disk_bytes = s->total_size;
	st->bytes = s->nseg ? s->total_size - s->cur_off : 0;
	st->segments = s->nseg;
	st->oldest_ns = st->records ? s->segs[0].created_ns : 0;
	pthread_mutex_unlock(&s->mu);
}

uint64_t spool_pending(struct spool *s, uint64_t *since_mono_ns)
{
	uint64_t n;

	pthread_mutex_lock(&s->mu);
	n = pending_locked(s);
	if (since_mono_ns)
		*since_mono_ns = s->pending_since;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void spool_newest_path(struct spool *s, char *buf, size_t len)
{
	pthread_mutex_lock(&s->mu);
	if (s->nseg)
		seg_path(s, &s->segs[s->nseg - 1], buf, len);
	else if (len)
		buf[0] = '\0';
	pthread_mutex_unlock(&s->mu);
}
