// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `llmtap status`.  Reads every process's executable mappings, classifies
 * each distinct file once, and says per process which TLS stacks it carries
 * and whether the running agent has hooks on them.  The agent is "running"
 * only if the pid its state file names is alive with the same start time:
 * a stale state file of a stopped (or crashed) agent must not read as
 * coverage.  Errors reading one process or file are shown in its row; the
 * command itself always exits 0.
 */
#include "status/status.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "capture/attach_state.h"

#define STATE_MAX_BYTES (16u << 20)
#define MAX_ENTRIES 65536 /* agent files/processes read from a state file */
#define MAX_FILES 65536 /* distinct mapped files classified */
#define MAX_PROCS 65536

/* ---- the agent's state file ---- */

static int cmp_agent_file(const void *a, const void *b)
{
	const struct status_agent_file *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

static bool get_u64(json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static void get_text(json_t *o, const char *key, char *out, size_t size)
{
	const char *s = json_string_value(json_object_get(o, key));

	snprintf(out, size, "%s", s ? s : "");
}

int status_agent_parse(const char *text, size_t len, struct status_agent *a)
{
	json_t *root, *agent, *files, *procs, *v;
	uint64_t pid = 0, start = 0;
	int err = -EBADMSG;
	size_t i;

	memset(a, 0, sizeof(*a));
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root))
		goto out;
	v = json_object_get(root, "version");
	agent = json_object_get(root, "agent");
	if (!json_is_integer(v) || json_integer_value(v) != ATTACH_STATE_VERSION ||
	    !get_u64(agent, "pid", &pid) || pid == 0 || pid > UINT32_MAX ||
	    !get_u64(agent, "start_time", &start))
		goto out;
	a->pid = (uint32_t)pid;
	a->start_time = start;
	a->written_at = json_integer_value(json_object_get(root, "written_at"));
	files = json_object_get(root, "files");
	procs = json_object_get(root, "processes");
	if (json_array_size(files) > MAX_ENTRIES || json_array_size(procs) > MAX_ENTRIES)
		goto out;
	err = -ENOMEM;
	if (json_array_size(files)) {
		a->files = calloc(json_array_size(files), sizeof(*a->files));
		if (!a->files)
			goto out;
	}
	if (json_array_size(procs)) {
		a->procs = calloc(json_array_size(procs), sizeof(*a->procs));
		if (!a->procs)
			goto out;
	}
	json_array_foreach(files, i, v) {
		struct status_agent_file *f = &a->files[a->n_files];
		uint64_t hooks = 0;
		json_t *e = json_object_get(v, "error");

		if (!get_u64(v, "dev", &f->dev) || !get_u64(v, "ino", &f->ino))
			continue; /* a malformed entry is skipped, not fatal */
		get_u64(v, "hooks", &hooks);
		f->hooks = hooks > UINT32_MAX ? UINT32_MAX : (unsigned)hooks;
		f->err = json_is_integer(e) && json_integer_value(e) < 0 &&
					 json_integer_value(e) > -4096 ?
				 (int)json_integer_value(e) :
				 0;
		get_text(v, "reason", f->reason, sizeof(f->reason));
		a->n_files++;
	}
	json_array_foreach(procs, i, v) {
		struct status_agent_proc *p = &a->procs[a->n_procs];

		if (!get_u64(v, "pid", &pid) || pid > UINT32_MAX || !get_u64(v, "dev", &p->dev) ||
		    !get_u64(v, "ino", &p->ino))
			continue;
		p->pid = (uint32_t)pid;
		get_text(v, "reason", p->reason, sizeof(p->reason));
		a->n_procs++;
	}
	if (a->n_files)
		qsort(a->files, a->n_files, sizeof(*a->files), cmp_agent_file);
	err = 0;
out:
	json_decref(root);
	if (err)
		status_agent_free(a);
	return err;
}

void status_agent_free(struct status_agent *a)
{
	free(a->files);
	free(a->procs);
	a->files = NULL;
	a->procs = NULL;
	a->n_files = a->n_procs = 0;
}

static const struct status_agent_file *agent_file(const struct status_agent *a, uint64_t dev,
						  uint64_t ino)
{
	struct status_agent_file key = { .dev = dev, .ino = ino };

	if (!a->n_files)
		return NULL;
	return bsearch(&key, a->files, a->n_files, sizeof(*a->files), cmp_agent_file);
}

/* Reads the state file and checks that its agent is alive. */
static void agent_load(const char *path, struct status_agent *a)
{
	char *text = NULL;
	size_t len = 0;
	uint64_t start;
	int fd, err;

	memset(a, 0, sizeof(*a));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		a->err = -errno;
		a->state = errno == ENOENT ? STATUS_AGENT_NOT_RUNNING : STATUS_AGENT_UNKNOWN;
		return;
	}
	text = malloc(STATE_MAX_BYTES);
	err = text ? 0 : -ENOMEM;
	while (!err && len < STATE_MAX_BYTES) {
		ssize_t n = read(fd, text + len, STATE_MAX_BYTES - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = -errno;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (!err)
		err = status_agent_parse(text, len, a);
	free(text);
	if (err) {
		a->err = err;
		a->state = STATUS_AGENT_UNKNOWN;
		return;
	}
	/* the pid alone could have been reused since the agent exited */
	if (attach_state_pid_start(a->pid, &start) == 0 && start == a->start_time)
		a->state = STATUS_AGENT_RUNNING;
	else
		a->state = STATUS_AGENT_NOT_RUNNING;
}

/* ---- rows ---- */

static json_t *bit_names(uint32_t bits, int count, const char *(*name)(uint32_t))
{
	json_t *arr = json_array();

	for (int i = 0; arr && i < count; i++)
		if (bits & (1u << i))
			json_array_append_new(arr, json_string(name(1u << i)));
	return arr;
}

/* A JSON string of s; bytes that are not UTF-8 become '?'. */
static json_t *json_text(const char *s)
{
	json_t *j;
	char *copy;

	if (!s)
		return json_null();
	j = json_string(s);
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

static const char *base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : (path ? path : "?");
}

static void add_note(json_t *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_note(json_t *notes, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(notes, json_text(buf));
}

/* Runtimes worth a row even without a TLS stack: they do network I/O. */
#define LISTED_RUNTIMES (TLS_RT_GO | TLS_RT_NODE | TLS_RT_BUN | TLS_RT_JAVA)

static bool proc_has_file(const struct status_proc *p, const struct status_file *files,
			  uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < p->n_files; i++)
		if (files[p->files[i]].dev == dev && files[p->files[i]].ino == ino)
			return true;
	return false;
}

/* The notes of one file's stacks, and whether its hookable stacks are hooked. */
static void file_notes(const struct status_file *f, const struct status_agent *a, json_t *notes,
		       size_t *n_hookable, size_t *n_hooked)
{
	const struct status_agent_file *af =
		a->state == STATUS_AGENT_RUNNING ? agent_file(a, f->dev, f->ino) : NULL;
	bool hookable = false;

	for (int b = 0; b < TLS_STACK_COUNT; b++) {
		uint32_t bit = 1u << b;
		const char *desc = tls_stack_describe(bit, &f->det);

		if (!(f->det.stacks & bit))
			continue;
		if (!tls_stack_hookable(bit)) {
			add_note(notes, "%s in %s: not covered", desc, base_name(f->path));
			continue;
		}
		hookable = true;
		if (a->state != STATUS_AGENT_RUNNING)
			add_note(notes, "%s in %s", desc, base_name(f->path));
		else if (af && af->hooks)
			add_note(notes, "%s in %s: %u hooks%s", desc, base_name(f->path), af->hooks,
				 af->err ? " (with errors)" : "");
		else
			add_note(notes, "%s in %s: no hooks (agent: %s)", desc, base_name(f->path),
				 af && af->reason[0] ? af->reason : "file not inspected");
	}
	if (hookable) {
		(*n_hookable)++;
		if (af && af->hooks)
			(*n_hooked)++;
	}
}

static json_t *file_json(const struct status_file *f, const struct status_agent *a)
{
	const struct status_agent_file *af =
		a->state == STATUS_AGENT_RUNNING ? agent_file(a, f->dev, f->ino) : NULL;

	return json_pack("{so sI sI so so so so so}", "path", json_text(f->path), "dev",
			 (json_int_t)f->dev, "ino", (json_int_t)f->ino, "stacks",
			 bit_names(f->det.stacks, TLS_STACK_COUNT, tls_stack_name), "runtimes",
			 bit_names(f->det.runtimes, TLS_RT_COUNT, tls_runtime_name), "hooks",
			 af ? json_integer(af->hooks) : json_null(), "agent_reason",
			 af ? json_text(af->reason) : json_null(), "error",
			 f->err ? json_text(strerror(-f->err)) : json_null());
}

int status_row_build(const struct status_proc *p, const struct status_file *files,
		     const struct status_agent *a, struct status_row *row)
{
	size_t n_hookable = 0, n_hooked = 0, n_unreadable = 0, first_bad = 0;
	json_t *notes;
	size_t len;

	memset(row, 0, sizeof(*row));
	row->pid = p->pid;
	snprintf(row->comm, sizeof(row->comm), "%s", p->comm);
	row->exe = p->exe;
	row->files = json_array();
	notes = json_array();
	if (!row->files || !notes) {
		json_decref(notes);
		status_row_free(row);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->n_files; i++) {
		const struct status_file *f = &files[p->files[i]];

		if (f->err && n_unreadable++ == 0)
			first_bad = p->files[i];
		row->stacks |= f->det.stacks;
		row->runtimes |= f->det.runtimes;
		if (f->det.stacks || f->det.runtimes || f->err)
			json_array_append_new(row->files, file_json(f, a));
		if (f->det.stacks)
			file_notes(f, a, notes, &n_hookable, &n_hooked);
	}
	if ((row->runtimes & TLS_RT_GO) && !row->stacks)
		add_note(notes, "Go binary without crypto/tls");
	if (p->maps_err)
		add_note(notes, "cannot read its mappings: %s", strerror(-p->maps_err));
	if (n_unreadable)
		add_note(notes, "%zu mapped file%s unreadable (%s: %s)", n_unreadable,
			 n_unreadable == 1 ? "" : "s", files[first_bad].path,
			 strerror(-files[first_bad].err));
	/* the agent's own problems with this process; the file check guards
	 * against a pid reused since the note */
	for (size_t i = 0; a->state == STATUS_AGENT_RUNNING && i < a->n_procs; i++)
		if (a->procs[i].pid == p->pid &&
		    proc_has_file(p, files, a->procs[i].dev, a->procs[i].ino))
			add_note(notes, "agent: %s", a->procs[i].reason);

	if (!row->stacks)
		row->hooks = "-";
	else if (a->state == STATUS_AGENT_NOT_RUNNING)
		row->hooks = "agent not running";
	else if (a->state == STATUS_AGENT_UNKNOWN)
		row->hooks = "unknown";
	else if (n_hookable && n_hooked == n_hookable)
		row->hooks = "attached";
	else if (n_hooked)
		row->hooks = "partial";
	else
		row->hooks = "not attached";
	row->listed = row->stacks || (row->runtimes & LISTED_RUNTIMES);

	len = 0;
	for (int b = 0; b < TLS_STACK_COUNT && len < sizeof(row->stack_text); b++)
		if (row->stacks & (1u << b))
			len += (size_t)snprintf(row->stack_text + len,
						sizeof(row->stack_text) - len, "%s%s",
						len ? "," : "", tls_stack_name(1u << b));
	for (int b = 0, first = 1; b < TLS_RT_COUNT && len < sizeof(row->stack_text); b++) {
		if (!(row->runtimes & (1u << b)))
			continue;
		len += (size_t)snprintf(row->stack_text + len, sizeof(row->stack_text) - len,
					"%s%s", first ? (len ? " (" : "(") : ",",
					tls_runtime_name(1u << b));
		first = 0;
	}
	if (row->runtimes && len < sizeof(row->stack_text))
		len += (size_t)snprintf(row->stack_text + len, sizeof(row->stack_text) - len, ")");
	if (!len)
		snprintf(row->stack_text, sizeof(row->stack_text), "-");

	len = 0;
	for (size_t i = 0; i < json_array_size(notes) && len < sizeof(row->notes); i++)
		len += (size_t)snprintf(row->notes + len, sizeof(row->notes) - len, "%s%s",
					len ? "; " : "",
					json_string_value(json_array_get(notes, i)));
	row->note_list = notes;
	return 0;
}

void status_row_free(struct status_row *row)
{
	json_decref(row->files);
	json_decref(row->note_list);
	row->files = row->note_list = NULL;
}

static const char *agent_state_name(enum status_agent_state s)
{
	return s == STATUS_AGENT_RUNNING ? "running" :
	       s == STATUS_AGENT_UNKNOWN ? "unknown" :
					   "not running";
}

static void print_agent(FILE *f, const struct status_agent *a, const char *state_path)
{
	if (a->state == STATUS_AGENT_RUNNING)
		fprintf(f, "agent: running, pid %u (state %s)\n", a->pid, state_path);
	else if (a->state == STATUS_AGENT_UNKNOWN)
		fprintf(f, "agent: unknown (cannot use %s: %s)\n", state_path, strerror(-a->err));
	else if (a->pid)
		fprintf(f, "agent: not running (pid %u of %s has exited)\n", a->pid, state_path);
	else
		fprintf(f, "agent: not running (no %s)\n", state_path);
}

void status_print_table(FILE *f, const struct status_row *rows, size_t n,
			const struct status_agent *a, const char *state_path, bool all)
{
	print_agent(f, a, state_path);
	fprintf(f, "%-7s %-15s %-26s %-17s %s\n", "PID", "COMM", "TLS STACK(S)", "HOOKS", "NOTE");
	for (size_t i = 0; i < n; i++) {
		const struct status_row *r = &rows[i];

		if (!all && !r->listed)
			continue;
		fprintf(f, "%-7u %-15s %-26s %-17s %s\n", r->pid, r->comm, r->stack_text, r->hooks,
			r->notes);
	}
}

json_t *status_json(const struct status_row *rows, size_t n, const struct status_agent *a,
		    const char *state_path, bool all, size_t unreadable)
{
	json_t *procs = json_array(), *o;

	for (size_t i = 0; procs && i < n; i++) {
		const struct status_row *r = &rows[i];

		if (!all && !r->listed)
			continue;
		json_array_append_new(
			procs,
			json_pack("{sI so so so so ss sO sO}", "pid", (json_int_t)r->pid, "comm",
				  json_text(r->comm), "exe", json_text(r->exe), "stacks",
				  bit_names(r->stacks, TLS_STACK_COUNT, tls_stack_name), "runtimes",
				  bit_names(r->runtimes, TLS_RT_COUNT, tls_runtime_name), "hooks",
				  r->hooks, "notes", r->note_list, "files", r->files));
	}
	o = json_pack("{s{ss so ss so} so sI}", "agent", "state", agent_state_name(a->state), "pid",
		      a->pid ? json_integer(a->pid) : json_null(), "state_file", state_path,
		      "error", a->err ? json_text(strerror(-a->err)) : json_null(), "processes",
		      procs, "unreadable_processes", (json_int_t)unreadable);
	return o;
}

/* ---- scanning /proc ---- */

struct file_slot {
	uint64_t dev, ino; /* maps key */
	size_t idx1; /* index + 1 into files, 0 = empty */
};

struct scan {
	struct status_file *files;
	size_t n_files, cap_files;
	struct file_slot *slots;
	size_t mask;
	struct status_proc *procs;
	size_t n_procs, cap_procs;
	size_t unreadable;
};

static size_t slot_of(uint64_t dev, uint64_t ino, size_t mask)
{
	return (size_t)(((ino ^ (dev << 32 | dev >> 32)) * 0x9e3779b97f4a7c15ull) >> 20) & mask;
}

/* Grows the (maps key -> file) table to keep it at most half full. */
static int slots_grow(struct scan *s)
{
	size_t cap = s->mask ? (s->mask + 1) * 2 : 1024;
	struct file_slot *n = calloc(cap, sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (size_t i = 0; s->slots && i <= s->mask; i++) {
		size_t j;

		if (!s->slots[i].idx1)
			continue;
		for (j = slot_of(s->slots[i].dev, s->slots[i].ino, cap - 1); n[j].idx1;
		     j = (j + 1) & (cap - 1))
			;
		n[j] = s->slots[i];
	}
	free(s->slots);
	s->slots = n;
	s->mask = cap - 1;
	return 0;
}

/* Opens a path for reading only if it is a regular file: opening a device
 * node can have side effects, and a process may map one executable. */
static int open_regular(const char *path)
{
	char self[64];
	struct stat sb;
	int pfd, fd;

	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(pfd);
		return -ENOEXEC;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	fd = fd < 0 ? -errno : fd;
	close(pfd);
	return fd;
}

/* Opens a mapping of pid: map_files names the exact inode, /proc/PID/root
 * the same path in the process's mount namespace. */
static int open_mapping(uint32_t pid, unsigned long long start, unsigned long long end,
			const char *path)
{
	char p[PATH_MAX + 64];
	int fd;

	snprintf(p, sizeof(p), "/proc/%u/map_files/%llx-%llx", pid, start, end);
	fd = open_regular(p);
	if (fd < 0 && fd != -ENOEXEC && path[0] == '/') {
		snprintf(p, sizeof(p), "/proc/%u/root%s", pid, path);
		fd = open_regular(p);
	}
	return fd;
}

/* The file index of a mapping, classifying the file the first time; -errno. */
static long file_of(struct scan *s, uint32_t pid, unsigned long long start, unsigned long long end,
		    uint64_t dev, uint64_t ino, const char *path)
{
	struct status_file *f;
	struct stat sb;
	size_t j;
	int fd;

	if ((s->n_files + 1) * 2 > s->mask + 1 && slots_grow(s))
		return -ENOMEM;
	for (j = slot_of(dev, ino, s->mask); s->slots[j].idx1; j = (j + 1) & s->mask)
		if (s->slots[j].dev == dev && s->slots[j].ino == ino)
			return (long)(s->slots[j].idx1 - 1);
	if (s->n_files >= MAX_FILES)
		return -ENOSPC;
	if (s->n_files == s->cap_files) {
		size_t cap = s->cap_files ? s->cap_files * 2 : 256;
		struct status_file *n = realloc(s->files, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->files = n;
		s->cap_files = cap;
	}
	f = &s->files[s->n_files];
	memset(f, 0, sizeof(*f));
	f->dev = dev;
	f->ino = ino;
	f->path = strdup(path);
	if (!f->path)
		return -ENOMEM;
	fd = open_mapping(pid, start, end, path);
	if (fd == -ENOEXEC) {
		f->err = 0; /* not a regular file: nothing to classify */
	} else if (fd < 0) {
		f->err = fd;
	} else {
		/* the agent keys files by fstat(), which may differ from maps on
		 * stacked file systems */
		if (fstat(fd, &sb) == 0) {
			f->dev = (uint64_t)sb.st_dev;
			f->ino = (uint64_t)sb.st_ino;
		}
		f->err = tls_detect_fd(fd, 0, &f->det);
		if (f->err == -ENOEXEC)
			f->err = 0; /* not ELF (or not ours): nothing to say */
		close(fd);
	}
	s->slots[j] = (struct file_slot){ dev, ino, s->n_files + 1 };
	return (long)s->n_files++;
}

static int proc_add_file(struct status_proc *p, size_t idx)
{
	size_t *n;

	for (size_t i = 0; i < p->n_files; i++)
		if (p->files[i] == idx)
			return 0;
	n = realloc(p->files, (p->n_files + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->files = n;
	p->files[p->n_files++] = idx;
	return 0;
}

static int scan_maps(struct scan *s, struct status_proc *p)
{
	char path[64], line[PATH_MAX + 256];
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%u/maps", p->pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!err && fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off, ino;
		unsigned maj, mnr;
		char perms[8];
		int pos = 0;
		long idx;

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off,
			   &maj, &mnr, &ino, &pos) < 7 ||
		    pos == 0 || perms[2] != 'x' || ino == 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		idx = file_of(s, p->pid, start, end, makedev(maj, mnr), ino, line + pos);
		if (idx == -ENOSPC)
			continue;
		if (idx < 0)
			err = (int)idx;
		else
			err = proc_add_file(p, (size_t)idx);
	}
	fclose(f);
	return err;
}

static void read_comm(uint32_t pid, char *out, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(out, size, "?");
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, out, size - 1);
	close(fd);
	if (n <= 0) {
		snprintf(out, size, "?");
		return;
	}
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

static int scan_proc(struct scan *s)
{
	uint32_t self = (uint32_t)getpid();
	struct dirent *de;
	DIR *d = opendir("/proc");
	int err = 0;

	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		struct status_proc *p;
		char link[64], exe[PATH_MAX];
		unsigned long pid;
		ssize_t n;
		char *end;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		errno = 0;
		pid = strtoul(de->d_name, &end, 10);
		if (errno || *end || pid == 0 || pid > UINT32_MAX || pid == self)
			continue;
		if (s->n_procs >= MAX_PROCS)
			break;
		if (s->n_procs == s->cap_procs) {
			size_t cap = s->cap_procs ? s->cap_procs * 2 : 256;
			struct status_proc *np = realloc(s->procs, cap * sizeof(*np));

			if (!np) {
				err = -ENOMEM;
				break;
			}
			s->procs = np;
			s->cap_procs = cap;
		}
		p = &s->procs[s->n_procs];
		memset(p, 0, sizeof(*p));
		p->pid = (uint32_t)pid;
		snprintf(link, sizeof(link), "/proc/%lu/exe", pid);
		n = readlink(link, exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = '\0';
			p->exe = strdup(exe);
		}
		read_comm(p->pid, p->comm, sizeof(p->comm));
		p->maps_err = scan_maps(s, p);
		if (p->maps_err == -ENOMEM) {
			err = -ENOMEM;
		} else if (p->maps_err == -ENOENT || (!p->maps_err && !p->n_files && !p->exe)) {
			/* exited meanwhile, or a kernel thread: not a row */
			free(p->exe);
			free(p->files);
			continue;
		}
		if (p->maps_err)
			s->unreadable++;
		s->n_procs++;
	}
	closedir(d);
	return err;
}

static void scan_free(struct scan *s)
{
	for (size_t i = 0; i < s->n_files; i++)
		free(s->files[i].path);
	for (size_t i = 0; i < s->n_procs; i++) {
		free(s->procs[i].exe);
		free(s->procs[i].files);
	}
	free(s->files);
	free(s->slots);
	free(s->procs);
	memset(s, 0, sizeof(*s));
}

static void status_usage(FILE *f)
{
	fprintf(f,
		"Usage: llmtap status [--all] [--json] [--state PATH]\n"
		"\n"
		"Lists running processes with the TLS stacks found in their executable\n"
		"mappings and whether the running agent has hooks on them.\n"
		"\n"
		"      --all          every process (kernel threads excepted), not only those\n"
		"                     with a TLS stack or a network runtime (Go, Node, Bun, Java)\n"
		"      --json         one JSON document instead of the table\n"
		"      --state PATH   the agent's run-state file (default " ATTACH_STATE_DEFAULT_PATH
		")\n"
		"  -h, --help         this help\n");
}

int status_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "state", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *state_path = ATTACH_STATE_DEFAULT_PATH;
	struct status_row *rows = NULL;
	struct status_agent agent;
	struct scan s = { 0 };
	bool all = false, as_json = false;
	size_t n_rows = 0;
	int opt, err;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			all = true;
			break;
		case 'j':
			as_json = true;
			break;
		case 's':
			state_path = optarg;
			break;
		case 'h':
			status_usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "llmtap: option '%s' needs a value\n", argv[optind - 1]);
			status_usage(stderr);
			return 2;
		default:
			fprintf(stderr, "llmtap: unknown option '%s'\n", argv[optind - 1]);
			status_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "llmtap: unexpected argument '%s'\n", argv[optind]);
		status_usage(stderr);
		return 2;
	}

	agent_load(state_path, &agent);
	err = scan_proc(&s);
	if (err)
		fprintf(stderr, "llmtap: warning: process scan incomplete: %s\n", strerror(-err));
	rows = calloc(s.n_procs ? s.n_procs : 1, sizeof(*rows));
	for (size_t i = 0; rows && i < s.n_procs; i++)
		if (status_row_build(&s.procs[i], s.files, &agent, &rows[n_rows]) == 0)
			n_rows++;
	if (as_json) {
		json_t *o = status_json(rows, n_rows, &agent, state_path, all, s.unreadable);
		char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;

		if (text)
			printf("%s\n", text);
		else
			fprintf(stderr, "llmtap: warning: out of memory\n");
		free(text);
		json_decref(o);
	} else {
		status_print_table(stdout, rows, n_rows, &agent, state_path, all);
		if (s.unreadable)
			printf("(%zu process%s could not be inspected: run as root)\n",
			       s.unreadable, s.unreadable == 1 ? "" : "es");
	}
	for (size_t i = 0; i < n_rows; i++)
		status_row_free(&rows[i]);
	free(rows);
	scan_free(&s);
	status_agent_free(&agent);
	return 0;
}
