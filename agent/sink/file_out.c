// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "file_out.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "util/log.h"

/* ".yyyymmddThhmmss.uuuuuuZ" */
#define STAMP_LEN 23
#define MAINT_PERIOD_S 3600

struct rotated {
	char *name; /* base name */
	uint64_t size;
	time_t mtime;
	bool gz;
};

struct file_out {
	char *path, *dir, *base;
	uint64_t rotate_bytes, rotate_interval_s, retention_days, retention_bytes;
	bool compress;
	enum output_fsync fsync;
	mode_t mode;

	int fd;
	uint64_t size; /* of the current file */
	time_t period_start; /* time of the file's first (or, found at open, last) write */
	bool dirty;
	uint64_t last_stamp_us; /* newest rotated name: the next one must be later */

	pthread_mutex_t maint_mu; /* one maintenance pass at a time */
	pthread_mutex_t mu; /* stop, work, stats */
	pthread_cond_t cond;
	pthread_t thread;
	bool thread_started, stop, work;
	struct file_out_stats st;
};

/*
 * A crash can leave half a line at the end of the file.  Appending to it
 * would glue the next record onto it and break the chain for `llmtap
 * verify`; the half line is no record (it was never complete, the chain
 * resumes from the last whole one), so the file is cut back to its last
 * newline.  A file with no newline at all is not ours to cut: it gets one.
 * st->st_size is updated; st_mtim keeps the file's age for rotation.
 */
static int cut_torn_tail(int fd, struct stat *st)
{
	char buf[4096];
	off_t end = st->st_size;

	if (pread(fd, buf, 1, end - 1) != 1)
		return -1;
	if (buf[0] == '\n')
		return 0;
	while (end > 0) {
		off_t start = end > (off_t)sizeof(buf) ? end - (off_t)sizeof(buf) : 0;
		ssize_t n = pread(fd, buf, (size_t)(end - start), start);

		if (n != end - start)
			return -1;
		for (ssize_t i = n - 1; i >= 0; i--) {
			if (buf[i] == '\n') {
				if (ftruncate(fd, start + i + 1) != 0)
					return -1;
				st->st_size = start + i + 1;
				return 0;
			}
		}
		end = start;
	}
	if (write(fd, "\n", 1) != 1)
		return -1;
	st->st_size++;
	return 0;
}

static int open_current(struct file_out *f)
{
	struct stat st;
	int fd;

	fd = open(f->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, f->mode);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	/* records are sensitive: an existing file never stays looser than mode */
	if ((st.st_mode & 07777 & ~f->mode) && fchmod(fd, st.st_mode & f->mode & 0777) != 0)
		goto fail;
	if (st.st_size > 0 && cut_torn_tail(fd, &st) != 0)
		goto fail;
	f->fd = fd;
	f->size = (uint64_t)st.st_size;
	f->period_start = st.st_size ? st.st_mtim.tv_sec : 0;
	return 0;
fail : {
	int err = -errno;

	close(fd);
	return err;
}
}

/* Parses ".yyyymmddThhmmss.uuuuuuZ" into microseconds since the epoch. */
static bool parse_stamp(const char *s, uint64_t *us)
{
	struct tm tm = { 0 };
	uint64_t frac = 0;
	time_t t;

	if (s[0] != '.' || s[9] != 'T' || s[16] != '.' || s[23] != 'Z')
		return false;
	for (int i = 1; i < 23; i++) {
		if (i == 9 || i == 16)
			continue;
		if (!isdigit((unsigned char)s[i]))
			return false;
	}
#define NUM(a, n)                                           \
	({                                                  \
		int _v = 0;                                 \
		for (int _i = 0; _i < (n); _i++)            \
			_v = _v * 10 + (s[(a) + _i] - '0'); \
		_v;                                         \
	})
	tm.tm_year = NUM(1, 4) - 1900;
	tm.tm_mon = NUM(5, 2) - 1;
	tm.tm_mday = NUM(7, 2);
	tm.tm_hour = NUM(10, 2);
	tm.tm_min = NUM(12, 2);
	tm.tm_sec = NUM(14, 2);
	frac = (uint64_t)NUM(17, 6);
#undef NUM
	t = timegm(&tm);
	if (t < 0)
		return false;
	*us = (uint64_t)t * 1000000u + frac;
	return true;
}

/* Is name "<base>.<stamp>" or "<base>.<stamp>.gz"? */
static bool is_rotated(const struct file_out *f, const char *name, bool *gz, uint64_t *us)
{
	size_t bl = strlen(f->base), nl = strlen(name);

	if (nl < bl + 1 + STAMP_LEN || strncmp(name, f->base, bl) != 0)
		return false;
	if (nl == bl + 1 + STAMP_LEN)
		*gz = false;
	else if (nl == bl + 1 + STAMP_LEN + 3 && strcmp(name + nl - 3, ".gz") == 0)
		*gz = true;
	else
		return false;
	return parse_stamp(name + bl, us);
}

static int cmp_rotated(const void *a, const void *b)
{
	return strcmp(((const struct rotated *)a)->name, ((const struct rotated *)b)->name);
}

/* The rotated files (and .gz.tmp leftovers removed), sorted by name. */
static int list_rotated(struct file_out *f, struct rotated **out, size_t *n)
{
	struct rotated *v = NULL;
	size_t cnt = 0, alloc = 0;
	struct dirent *de;
	DIR *d = opendir(f->dir);

	*out = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct stat st;
		uint64_t us;
		bool gz;

		if (!is_rotated(f, de->d_name, &gz, &us))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (cnt == alloc) {
			size_t na = alloc ? alloc * 2 : 16;
			struct rotated *nv = realloc(v, na * sizeof(*nv));

			if (!nv)
				goto nomem;
			v = nv;
			alloc = na;
		}
		v[cnt].name = strdup(de->d_name);
		if (!v[cnt].name)
			goto nomem;
		v[cnt].size = (uint64_t)st.st_size;
		v[cnt].mtime = st.st_mtim.tv_sec;
		v[cnt].gz = gz;
		cnt++;
		if (us > f->last_stamp_us)
			f->last_stamp_us = us;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_rotated);
	*out = v;
	*n = cnt;
	return 0;
nomem:
	closedir(d);
	for (size_t i = 0; i < cnt; i++)
		free(v[i].name);
	free(v);
	return -ENOMEM;
}

static void free_rotated(struct rotated *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static bool stopping(struct file_out *f)
{
	bool s;

	pthread_mutex_lock(&f->mu);
	s = f->stop;
	pthread_mutex_unlock(&f->mu);
	return s;
}

/* Compresses dir/name to dir/name.gz (keeping its mode and mtime), then
 * removes the original.  -ECANCELED when stopped half-way (nothing lost). */
static int gzip_file(struct file_out *f, const char *name)
{
	char src[PATH_MAX], tmp[PATH_MAX], dst[PATH_MAX];
	static const size_t chunk = 256 << 10;
	struct timespec times[2];
	struct stat st;
	int in = -1, out = -1, err = 0;
	gzFile gz = NULL;
	char *buf = NULL;

	snprintf(src, sizeof(src), "%s/%s", f->dir, name);
	snprintf(dst, sizeof(dst), "%s/%s.gz", f->dir, name);
	snprintf(tmp, sizeof(tmp), "%s/%s.gz.tmp", f->dir, name);
	in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return -errno;
	if (fstat(in, &st) != 0) {
		err = -errno;
		goto out;
	}
	unlink(tmp); /* a leftover of an interrupted pass */
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, st.st_mode & 0777);
	if (out < 0) {
		err = -errno;
		goto out;
	}
	buf = malloc(chunk);
	gz = gzdopen(dup(out), "wb6");
	if (!buf || !gz) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(in, buf, chunk);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		if (gzwrite(gz, buf, (unsigned)r) != (int)r) {
			err = -EIO;
			goto out;
		}
		if (stopping(f)) {
			err = -ECANCELED;
			goto out;
		}
	}
	if (gzclose(gz) != Z_OK) {
		gz = NULL;
		err = -EIO;
		goto out;
	}
	gz = NULL;
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	futimens(out, times);
	if (fsync(out) != 0) {
		err = -errno;
		goto out;
	}
	if (rename(tmp, dst) != 0) {
		err = -errno;
		goto out;
	}
	unlink(src);
out:
	if (gz)
		gzclose(gz);
	if (out >= 0)
		close(out);
	if (err)
		unlink(tmp);
	close(in);
	free(buf);
	return err;
}

int file_out_maintain(struct file_out *f)
{
	struct rotated *v;
	size_t n;
	time_t now = time(NULL);
	uint64_t total = 0, compressed = 0, deleted = 0, errors = 0;
	int err;

	pthread_mutex_lock(&f->maint_mu);
	err = list_rotated(f, &v, &n);
	if (err)
		goto out;
	for (size_t i = 0; i < n && f->compress; i++) {
		int r;

		if (v[i].gz)
			continue;
		r = gzip_file(f, v[i].name);
		if (r == -ECANCELED)
			break;
		if (r) {
			errors++;
			continue;
		}
		compressed++;
	}
	if (compressed) {
		/* names and sizes changed */
		free_rotated(v, n);
		err = list_rotated(f, &v, &n);
		if (err)
			goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/%s", f->dir, v[i].name);
		if (f->retention_days &&
		    (uint64_t)(now - v[i].mtime) > f->retention_days * 86400ull &&
		    now > v[i].mtime) {
			if (unlink(p) == 0)
				deleted++;
			v[i].size = 0;
			v[i].name[0] = '\0';
		}
		total += v[i].size;
	}
	/* oldest first, until the rotated files fit the cap */
	for (size_t i = 0; i < n && f->retention_bytes && total > f->retention_bytes; i++) {
		char p[PATH_MAX];

		if (!v[i].name[0])
			continue;
		snprintf(p, sizeof(p), "%s/%s", f->dir, v[i].name);
		if (unlink(p) == 0)
			deleted++;
		total -= v[i].size;
	}
	free_rotated(v, n);
out:
	pthread_mutex_lock(&f->mu);
	f->st.compressed += compressed;
	f->st.deleted += deleted;
	f->st.maint_errors += errors + (err ? 1 : 0);
	pthread_mutex_unlock(&f->mu);
	pthread_mutex_unlock(&f->maint_mu);
	return err;
}

static void *maint_thread(void *arg)
{
	struct file_out *f = arg;

	for (;;) {
		struct timespec ts;

		pthread_mutex_lock(&f->mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += MAINT_PERIOD_S;
		while (!f->stop && !f->work)
			if (pthread_cond_timedwait(&f->cond, &f->mu, &ts) == ETIMEDOUT)
				break;
		f->work = false;
		if (f->stop) {
			pthread_mutex_unlock(&f->mu);
			return NULL;
		}
		pthread_mutex_unlock(&f->mu);
		if (file_out_maintain(f))
			log_warn("output file '%s': maintenance of rotated files failed", f->path);
	}
}

int file_out_open(const struct output_config *c, struct file_out **out)
{
	struct file_out *f;
	struct rotated *v;
	size_t n;
	char *slash;
	int err;

	*out = NULL;
	if (!c->path || !c->path[0])
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->fd = -1;
	pthread_mutex_init(&f->mu, NULL);
	pthread_mutex_init(&f->maint_mu, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->path = strdup(c->path);
	f->dir = strdup(c->path);
	if (!f->path || !f->dir) {
		err = -ENOMEM;
		goto fail;
	}
	slash = strrchr(f->dir, '/');
	if (!slash) {
		free(f->dir);
		f->dir = strdup(".");
		f->base = strdup(c->path);
	} else {
		f->base = strdup(slash + 1);
		if (slash == f->dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	if (!f->dir || !f->base || !f->base[0]) {
		err = f->base && !f->base[0] ? -EINVAL : -ENOMEM;
		goto fail;
	}
	f->rotate_bytes = c->rotate_bytes;
	f->rotate_interval_s = c->rotate_interval_s;
	f->retention_days = c->retention_days;
	f->retention_bytes = c->retention_bytes;
	f->compress = c->compress;
	f->fsync = c->fsync;
	f->mode = c->mode ? (mode_t)(c->mode & 0777) : 0640;
	err = open_current(f);
	if (err)
		goto fail;
	/* learn the newest rotated name (ours must sort after it) */
	if (list_rotated(f, &v, &n) == 0)
		free_rotated(v, n);
	if (pthread_create(&f->thread, NULL, maint_thread, f) != 0) {
		err = -EAGAIN;
		goto fail;
	}
	f->thread_started = true;
	/* leftovers of the last run (uncompressed, past retention) */
	pthread_mutex_lock(&f->mu);
	f->work = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->mu);
	*out = f;
	return 0;
fail:
	file_out_close(f);
	return err;
}

int file_out_rotate(struct file_out *f)
{
	char dst[PATH_MAX], stamp[40];
	struct timespec ts;
	struct tm tm;
	uint64_t us;
	time_t sec;
	int err;

	if (!f->size)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	/* strictly after every rotated name, even if the clock stepped back */
	if (us <= f->last_stamp_us)
		us = f->last_stamp_us + 1;
	sec = (time_t)(us / 1000000u);
	gmtime_r(&sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	snprintf(dst, sizeof(dst), "%s.%s.%06uZ", f->path, stamp, (unsigned)(us % 1000000u));
	/* a finished file is made durable before it gets its final name */
	if (f->fsync != OUTPUT_FSYNC_NEVER && fsync(f->fd) != 0)
		return -errno;
	if (rename(f->path, dst) != 0)
		return -errno;
	f->last_stamp_us = us;
	close(f->fd);
	f->fd = -1;
	f->dirty = false;
	err = open_current(f);
	pthread_mutex_lock(&f->mu);
	f->st.rotations++;
	f->work = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->mu);
	return err;
}

static bool rotation_due(struct file_out *f, size_t need, time_t now)
{
	if (!f->size)
		return false;
	if (f->rotate_bytes && f->size + need > f->rotate_bytes)
		return true;
	if (f->rotate_interval_s && f->period_start &&
	    (uint64_t)now / f->rotate_interval_s !=
		    (uint64_t)f->period_start / f->rotate_interval_s)
		return true;
	return false;
}

int file_out_write(struct file_out *f, const char *line, size_t len)
{
	struct iovec iov[2];
	size_t need, done = 0;
	time_t now = time(NULL);
	int err = 0;

	if (len && line[len - 1] == '\n')
		len--;
	need = len + 1;
	iov[0] = (struct iovec){ (void *)line, len };
	iov[1] = (struct iovec){ (void *)"\n", 1 };
	if (rotation_due(f, need, now)) {
		err = file_out_rotate(f);
		if (err)
			log_warn("output file '%s': rotation failed: %s", f->path, strerror(-err));
	}
	if (f->fd < 0) {
		err = open_current(f);
		if (err)
			goto out;
	}
	while (done < need) {
		ssize_t n;

		if (done) {
			/* only after a short write: finish the line */
			size_t skip = done;
			struct iovec *v = iov;
			int cnt = 2;

			while (skip >= v->iov_len) {
				skip -= v->iov_len;
				v++;
				cnt--;
			}
			v->iov_base = (char *)v->iov_base + skip;
			v->iov_len -= skip;
			n = writev(f->fd, v, cnt);
		} else {
			n = writev(f->fd, iov, 2);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			goto out;
		}
		done += (size_t)n;
		f->size += (uint64_t)n;
	}
	if (!f->period_start)
		f->period_start = now;
	f->dirty = true;
	if (f->fsync == OUTPUT_FSYNC_ALWAYS) {
		if (fdatasync(f->fd) != 0)
			err = -errno;
		f->dirty = false;
	}
out:
	pthread_mutex_lock(&f->mu);
	if (err && done < need) {
		f->st.write_errors++;
	} else {
		f->st.records++;
		f->st.bytes += need;
		f->st.last_write_ns = (uint64_t)now * 1000000000ull;
		if (f->fsync == OUTPUT_FSYNC_ALWAYS)
			f->st.fsyncs++;
		if (err)
			f->st.fsync_errors++;
	}
	pthread_mutex_unlock(&f->mu);
	return err;
}

int file_out_flush(struct file_out *f)
{
	int err = 0;

	if (f->fsync != OUTPUT_FSYNC_BATCH || !f->dirty || f->fd < 0)
		return 0;
	if (fdatasync(f->fd) != 0)
		err = -errno;
	f->dirty = false;
	pthread_mutex_lock(&f->mu);
	f->st.fsyncs++;
	if (err)
		f->st.fsync_errors++;
	pthread_mutex_unlock(&f->mu);
	return err;
}

int file_out_reopen(struct file_out *f)
{
	if (f->fd >= 0) {
		if (f->dirty && f->fsync != OUTPUT_FSYNC_NEVER)
			fdatasync(f->fd);
		close(f->fd);
		f->fd = -1;
	}
	f->dirty = false;
	return open_current(f);
}

const char *file_out_path(const struct file_out *f)
{
	return f->path;
}

void file_out_get_stats(struct file_out *f, struct file_out_stats *st)
{
	pthread_mutex_lock(&f->mu);
	*st = f->st;
	pthread_mutex_unlock(&f->mu);
}

void file_out_close(struct file_out *f)
{
	if (!f)
		return;
	if (f->thread_started) {
		pthread_mutex_lock(&f->mu);
		f->stop = true;
		pthread_cond_signal(&f->cond);
		pthread_mutex_unlock(&f->mu);
		pthread_join(f->thread, NULL);
	}
	if (f->fd >= 0) {
		if (f->dirty && f->fsync != OUTPUT_FSYNC_NEVER)
			fdatasync(f->fd);
		close(f->fd);
	}
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->mu);
	pthread_mutex_destroy(&f->maint_mu);
	free(f->path);
	free(f->dir);
	free(f->base);
	free(f);
}
