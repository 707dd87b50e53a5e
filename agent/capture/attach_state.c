// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The run-state registry.  Small fixed arrays behind one mutex: notes come
 * from the attach thread at most once per new file, the JSON is built by
 * the main loop at most once per second, so a linear search is cheaper than
 * any index would be worth.  When the file table is full, the least useful
 * entry makes room (runtime-only files before files with a stack we cannot
 * hook); files with hooks or attach errors are never replaced, they are
 * what `llmtap status` must be able to show.
 */
#include "util/fileio.h"
#include "attach_state.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct file_note {
	uint64_t dev, ino;
	char path[ATTACH_STATE_PATH_MAX];
	struct tls_detect det;
	bool classified, hooked;
	unsigned hooks;
	int err;
	uint64_t seq; /* age, for replacement */
};

struct proc_note {
	uint32_t pid;
	uint64_t dev, ino;
	char what[ATTACH_STATE_WHAT_MAX];
	int err;
	int64_t time; /* unix seconds */
};

static struct {
	pthread_mutex_t lock;
	struct file_note *files; /* ATTACH_STATE_MAX_FILES, allocated on first use */
	size_t n_files;
	struct proc_note procs[ATTACH_STATE_MAX_PROCS];
	size_t proc_next, n_procs;
	uint64_t seq, gen, written_gen;
	uint64_t files_noted, files_without_tls, files_dropped, proc_notes;
	uint64_t written_dev, written_ino; /* the file our last write created */
} st = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* 2: hooks or attach errors, 1: a TLS stack, 0: a runtime only. */
static int note_rank(const struct file_note *f)
{
	if (f->hooked || f->err)
		return 2;
	return f->det.stacks ? 1 : 0;
}

static struct file_note *find_file(uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < st.n_files; i++)
		if (st.files[i].ino == ino && st.files[i].dev == dev)
			return &st.files[i];
	return NULL;
}

/* A slot for a new entry of the given rank, or NULL (counted as dropped). */
static struct file_note *new_file(uint64_t dev, uint64_t ino, int rank)
{
	struct file_note *victim = NULL;

	if (!st.files) {
		st.files = calloc(ATTACH_STATE_MAX_FILES, sizeof(*st.files));
		if (!st.files)
			return NULL;
	}
	if (st.n_files < ATTACH_STATE_MAX_FILES) {
		victim = &st.files[st.n_files++];
	} else {
		for (size_t i = 0; i < st.n_files; i++) {
			struct file_note *f = &st.files[i];
			int r = note_rank(f);

			if (r < 2 && r <= rank &&
			    (!victim || r < note_rank(victim) ||
			     (r == note_rank(victim) && f->seq < victim->seq)))
				victim = f;
		}
		if (!victim) {
			st.files_dropped++;
			return NULL;
		}
	}
	memset(victim, 0, sizeof(*victim));
	victim->dev = dev;
	victim->ino = ino;
	victim->seq = ++st.seq;
	return victim;
}

int attach_state_note_file(uint64_t dev, uint64_t ino, const char *path,
			   const struct tls_detect *det)
{
	struct file_note *f;
	int err = 0;

	if (!path)
		return -EINVAL;
	pthread_mutex_lock(&st.lock);
	st.files_noted++;
	f = find_file(dev, ino);
	if (!f && det && !det->stacks && !det->runtimes) {
		st.files_without_tls++;
		goto out;
	}
	if (!f)
		f = new_file(dev, ino, det && det->stacks ? 1 : 0);
	if (!f) {
		err = -ENOSPC;
		goto out;
	}
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->classified = det != NULL;
	if (det)
		f->det = *det;
	st.gen++;
out:
	pthread_mutex_unlock(&st.lock);
	return err;
}

int attach_state_note_hooks(uint64_t dev, uint64_t ino, const char *path, unsigned hooks, int err)
{
	struct file_note *f;
	int rc = 0;

	pthread_mutex_lock(&st.lock);
	f = find_file(dev, ino);
	if (!f)
		f = new_file(dev, ino, 2);
	if (!f) {
		rc = -ENOSPC;
		goto out;
	}
	if (path)
		snprintf(f->path, sizeof(f->path), "%s", path);
	f->hooked = true;
	f->hooks = hooks;
	f->err = err;
	st.gen++;
out:
	pthread_mutex_unlock(&st.lock);
	return rc;
}

int attach_state_note_process(uint32_t pid, uint64_t dev, uint64_t ino, const char *what, int err)
{
	struct proc_note *p;

	if (!what)
		return -EINVAL;
	pthread_mutex_lock(&st.lock);
	p = &st.procs[st.proc_next];
	st.proc_next = (st.proc_next + 1) % ATTACH_STATE_MAX_PROCS;
	if (st.n_procs < ATTACH_STATE_MAX_PROCS)
		st.n_procs++;
	*p = (struct proc_note){ .pid = pid, .dev = dev, .ino = ino, .err = err };
	snprintf(p->what, sizeof(p->what), "%s", what);
	p->time = (int64_t)time(NULL);
	st.proc_notes++;
	st.gen++;
	pthread_mutex_unlock(&st.lock);
	return 0;
}

bool attach_state_dirty(void)
{
	bool dirty;

	pthread_mutex_lock(&st.lock);
	dirty = st.gen != st.written_gen;
	pthread_mutex_unlock(&st.lock);
	return dirty;
}

static const char *err_text(int err)
{
	return strerror(err < 0 ? -err : err);
}

/* Why a file has (no) hooks, as `llmtap status` prints it. */
static void file_reason(const struct file_note *f, char *buf, size_t size)
{
	uint32_t stack = f->det.stacks & -f->det.stacks; /* the lowest stack bit */

	if (f->hooks && !f->err)
		snprintf(buf, size, "attached");
	else if (f->hooks)
		snprintf(buf, size, "attached with errors: %s", err_text(f->err));
	else if (f->err)
		snprintf(buf, size, "attach failed: %s", err_text(f->err));
	else if (!f->classified)
		snprintf(buf, size, "not classified");
	else if (stack && tls_stack_hookable(stack))
		snprintf(buf, size, "%s: no hooks attached", tls_stack_describe(stack, &f->det));
	else if (stack)
		snprintf(buf, size, "%s: not covered", tls_stack_describe(stack, &f->det));
	else
		snprintf(buf, size, "no TLS symbols");
}

/* A JSON string of s; bytes that are not UTF-8 become '?'. */
static json_t *json_text(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *bit_names(uint32_t bits, int count, const char *(*name)(uint32_t))
{
	json_t *a = json_array();

	for (int i = 0; a && i < count; i++)
		if (bits & (1u << i))
			json_array_append_new(a, json_string(name(1u << i)));
	return a;
}

static json_t *file_json(const struct file_note *f)
{
	char reason[160];

	file_reason(f, reason, sizeof(reason));
	return json_pack("{sI sI so sb so so sI si so}", "dev", (json_int_t)f->dev, "ino",
			 (json_int_t)f->ino, "path", json_text(f->path), "classified",
			 f->classified, "stacks",
			 bit_names(f->det.stacks, TLS_STACK_COUNT, tls_stack_name), "runtimes",
			 bit_names(f->det.runtimes, TLS_RT_COUNT, tls_runtime_name), "hooks",
			 (json_int_t)f->hooks, "error", f->err, "reason", json_text(reason));
}

static json_t *proc_json(const struct proc_note *p)
{
	char reason[160];

	if (p->err)
		snprintf(reason, sizeof(reason), "%s: %s", p->what, err_text(p->err));
	else
		snprintf(reason, sizeof(reason), "%s", p->what);
	return json_pack("{sI sI sI so si so sI}", "pid", (json_int_t)p->pid, "dev",
			 (json_int_t)p->dev, "ino", (json_int_t)p->ino, "what", json_text(p->what),
			 "error", p->err, "reason", json_text(reason), "time", (json_int_t)p->time);
}

/* Builds the JSON; the caller holds the lock. */
static char *build_json(void)
{
	json_t *o, *files = json_array(), *procs = json_array();
	uint64_t start = 0;
	char *s;

	attach_state_pid_start((uint32_t)getpid(), &start);
	for (size_t i = 0; files && i < st.n_files; i++)
		json_array_append_new(files, file_json(&st.files[i]));
	/* newest first */
	for (size_t i = 0; procs && i < st.n_procs; i++) {
		size_t k = (st.proc_next + ATTACH_STATE_MAX_PROCS - 1 - i) % ATTACH_STATE_MAX_PROCS;

		json_array_append_new(procs, proc_json(&st.procs[k]));
	}
	o = json_pack("{si s{sI sI} sI s{sI sI sI sI} so so}", "version", ATTACH_STATE_VERSION,
		      "agent", "pid", (json_int_t)getpid(), "start_time", (json_int_t)start,
		      "written_at", (json_int_t)time(NULL), "counters", "files_noted",
		      (json_int_t)st.files_noted, "files_without_tls",
		      (json_int_t)st.files_without_tls, "files_dropped",
		      (json_int_t)st.files_dropped, "process_notes", (json_int_t)st.proc_notes,
		      "files", files, "processes", procs);
	if (!o)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

char *attach_state_json(void)
{
	char *s;

	pthread_mutex_lock(&st.lock);
	s = build_json();
	pthread_mutex_unlock(&st.lock);
	return s;
}

/* Creates the directory of path (0700) when missing; it must be ours or root's. */
static int prepare_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat sb;

	if (!slash)
		return 0; /* the current directory */
	if (slash == path)
		return 0; /* "/" */
	if ((size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &sb) != 0)
		return -errno;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	if (sb.st_uid != geteuid() && sb.st_uid != 0)
		return -EPERM;
	return 0;
}

int attach_state_write(const char *path)
{
	char tmp[PATH_MAX];
	uint64_t gen;
	struct stat sb;
	char *text;
	int fd = -1, err;

	if (!path || !path[0])
		return -EINVAL;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	err = prepare_dir(path);
	if (err)
		return err;
	pthread_mutex_lock(&st.lock);
	gen = st.gen;
	text = build_json();
	pthread_mutex_unlock(&st.lock);
	if (!text)
		return -ENOMEM;
	/* O_EXCL + O_NOFOLLOW: never write through something planted at tmp */
	for (int tries = 0; tries < 2; tries++) {
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
		unlink(tmp); /* left by a crashed run of ours */
	}
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	err = fchmod(fd, 0600) ? -errno : 0; /* the mode, whatever the umask */
	if (!err)
		err = fileio_write_all(fd, text, strlen(text));
	if (!err)
		err = fileio_write_all(fd, "\n", 1);
	if (!err && fstat(fd, &sb) != 0)
		err = -errno;
	if (close(fd) != 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) != 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		goto cleanup;
	}
	pthread_mutex_lock(&st.lock);
	st.written_gen = gen;
	st.written_dev = (uint64_t)sb.st_dev;
	st.written_ino = (uint64_t)sb.st_ino;
	pthread_mutex_unlock(&st.lock);
cleanup:
	free(text);
	return err;
}

int attach_state_remove(const char *path)
{
	struct stat sb;
	bool ours;

	if (!path)
		return -EINVAL;
	if (lstat(path, &sb) != 0)
		return -errno;
	pthread_mutex_lock(&st.lock);
	ours = st.written_ino && (uint64_t)sb.st_ino == st.written_ino &&
	       (uint64_t)sb.st_dev == st.written_dev;
	pthread_mutex_unlock(&st.lock);
	if (!ours)
		return -ESTALE;
	return unlink(path) ? -errno : 0;
}

void attach_state_reset(void)
{
	pthread_mutex_lock(&st.lock);
	free(st.files);
	st.files = NULL;
	st.n_files = st.proc_next = st.n_procs = 0;
	st.seq = st.files_noted = st.files_without_tls = st.files_dropped = st.proc_notes = 0;
	st.written_dev = st.written_ino = 0;
	st.gen++; /* differs from written_gen: a reset state is unwritten */
	pthread_mutex_unlock(&st.lock);
}

int attach_state_pid_start(uint32_t pid, uint64_t *out)
{
	char path[64], buf[1024], *p, *end;
	unsigned long long v;
	ssize_t n;
	int fd;

	*out = 0;
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: fields follow the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	p++;
	/* starttime is field 22; after ')' come fields 3 (state) to 21 */
	for (int field = 3; field <= 21; field++) {
		p += strspn(p, " ");
		p += strcspn(p, " ");
		if (!*p)
			return -EIO;
	}
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno || end == p || (*end != ' ' && *end != '\0' && *end != '\n'))
		return -EIO;
	*out = v;
	return 0;
}
