// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Finding files that carry TLS code: every executable mapping of every
 * process at start-up, then each exec and executable mmap the kernel
 * reports.  A file is inspected once per (device, inode); the kernel's
 * `known_files` map filters repeats before they cost an event.  Files are
 * opened through /proc/PID/{fd,map_files,root} so a container's or a venv's
 * private copy is the one inspected, never a guessed host path.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "llmtap.skel.h"
#include "capture/attach_state.h"
#include "capture/elf_syms.h"
#include "capture/hold.h"
#include "capture/ld_cache.h"
#include "internal.h"
#include "util/clock.h"
#include "util/log.h"

/* The kernel encodes s_dev as major << 20 | minor (MKDEV). */
static uint64_t dev_to_kernel(uint64_t dev)
{
	return ((uint64_t)major(dev) << 20) | minor(dev);
}

static uint64_t dev_from_kernel(uint64_t kdev)
{
	return makedev((unsigned)(kdev >> 20), (unsigned)(kdev & 0xfffff));
}

static size_t seen_slot(uint64_t dev, uint64_t ino)
{
	uint64_t h = (ino ^ (dev << 32 | dev >> 32)) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 40) & (SEEN_SLOTS - 1);
}

bool targets_seen(const struct capture *c, uint64_t dev, uint64_t ino)
{
	if (!c->seen)
		return false;
	for (size_t i = seen_slot(dev, ino);; i = (i + 1) & (SEEN_SLOTS - 1)) {
		const struct seen_file *f = &c->seen[i];

		if (f->ino == 0)
			return false;
		if (f->ino == ino && f->dev == dev)
			return true;
	}
}

void targets_mark_seen(struct capture *c, uint64_t dev, uint64_t ino)
{
	struct lt_file_key key = { .dev = dev_to_kernel(dev), .ino = ino };
	uint8_t one = 1;
	size_t i;

	bpf_map_update_elem(bpf_map__fd(c->skel->maps.known_files), &key, &one, BPF_ANY);
	if (ino == 0 || targets_seen(c, dev, ino))
		return;
	if (!c->seen) {
		c->seen = calloc(SEEN_SLOTS, sizeof(*c->seen));
		if (!c->seen)
			return; /* only costs a re-inspection later */
	}
	if (c->n_seen >= SEEN_MAX) {
		memset(c->seen, 0, SEEN_SLOTS * sizeof(*c->seen));
		c->n_seen = 0;
		atomic_fetch_add(&c->seen_resets, 1);
	}
	for (i = seen_slot(dev, ino); c->seen[i].ino; i = (i + 1) & (SEEN_SLOTS - 1))
		;
	c->seen[i].dev = dev;
	c->seen[i].ino = ino;
	c->n_seen++;
}

/* Cheap pre-check before libelf: an ELF file at all? */
static bool is_elf(int fd)
{
	unsigned char m[4];

	return pread(fd, m, sizeof(m), 0) == 4 && memcmp(m, "\177ELF", 4) == 0;
}

/* "openssl+go" for a log line. */
static void stacks_desc(unsigned stacks, char *out, size_t size)
{
	static const char *const names[] = { "openssl", "gnutls", "go" }; /* ATTACH_* bits */
	size_t len = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]) && len < size; i++)
		if (stacks & (1u << i))
			len += (size_t)snprintf(out + len, size - len, "%s%s", len ? "+" : "",
						names[i]);
}

/* A TLS stack found in a file llmtap cannot hook: said once per file, so
 * that the traffic it carries is known to be missing, not silently absent. */
static void log_uncovered(const char *desc, const struct tls_detect *det)
{
	for (uint32_t bit = 1; bit && bit <= det->stacks; bit <<= 1)
		if ((det->stacks & bit) && !tls_stack_hookable(bit))
			log_warn("%s carries %s: not covered, its TLS traffic is not seen "
				 "(llmtap status, docs/coverage.md)",
				 desc, tls_stack_describe(bit, det));
}

/* The full marker scan of an executable without TLS symbols (diagnostics). */
static void diagnose_fd(int fd, const char *desc)
{
	struct tls_detect det;
	struct stat st;

	if (fstat(fd, &st) || tls_detect_fd(fd, 0, &det))
		return;
	attach_state_note_file(st.st_dev, st.st_ino, desc, &det);
	log_uncovered(desc, &det);
}

int targets_inspect_fd(struct capture *c, int fd, const char *desc)
{
	struct elf_func funcs[FN_COUNT];
	struct tls_target *t;
	char self[64], stacks[32];
	unsigned found;
	uint64_t t0;
	struct stat st;
	int err;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return 0;
	if (targets_seen(c, st.st_dev, st.st_ino))
		return 0;
	targets_mark_seen(c, st.st_dev, st.st_ino);
	atomic_fetch_add(&c->files_inspected, 1);
	if (!is_elf(fd))
		return 0;
	found = attach_lookup(fd, funcs);
	if (!found) {
		struct tls_detect det;

		/* diagnostics only (`llmtap status`): a TLS stack we cannot hook, or a
		 * runtime; the cheap detection, since the thread may be held */
		if (tls_detect_fd(fd, TLS_DETECT_NO_SCAN, &det) != 0)
			return 0;
		/* an executable that names no stack may still carry one stripped
		 * (Bun, static BoringSSL): scanned once no thread waits on it */
		if (!det.stacks && (det.flags & TLS_F_EXEC))
			return TARGETS_SCAN_LATER;
		attach_state_note_file(st.st_dev, st.st_ino, desc, &det);
		log_uncovered(desc, &det);
		return 0;
	}

	if (c->n_targets >= TARGETS_MAX) {
		if (atomic_fetch_add(&c->targets_refused, 1) == 0)
			log_warn("more than %d TLS libraries: '%s' and later ones are not probed",
				 TARGETS_MAX, desc);
		attach_state_note_hooks(st.st_dev, st.st_ino, desc, 0, -ENOSPC);
		return -ENOSPC;
	}
	if (c->n_targets == c->cap_targets) {
		size_t cap = c->cap_targets ? c->cap_targets * 2 : 8;
		struct tls_target *p = realloc(c->targets, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		c->targets = p;
		c->cap_targets = cap;
	}
	t = &c->targets[c->n_targets];
	memset(t, 0, sizeof(*t));
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->stacks = found;
	snprintf(t->desc, sizeof(t->desc), "%s", desc);
	/* An O_PATH handle pins the inode: attach paths stay valid after the
	 * process that revealed the file exits or the file is unlinked. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	t->fd = open(self, O_PATH | O_CLOEXEC);
	if (t->fd < 0)
		return -errno;
	c->n_targets++;
	atomic_store(&c->n_targets_pub, c->n_targets);
	t0 = clock_mono_now();
	err = attach_target(c, t, fd, funcs);
	attach_state_note_hooks(t->dev, t->ino, t->desc, t->n_probes, err);
	stacks_desc(found, stacks, sizeof(stacks));
	log_info("attached TLS probes to %s (%u uprobe-at-RET, %u uretprobe functions, %u probes "
		 "in %zu links, %.1f ms; %s%s)%s",
		 t->desc, t->n_ret_insn, t->n_uretprobe, t->n_probes, t->n_links + t->n_link_fds,
		 (double)(clock_mono_now() - t0) / 1e6, stacks,
		 funcs[FN_GO_WRITE].from_pclntab ? " via .gopclntab" : "",
		 err ? " with errors" : "");
	return err ? err : 1;
}

/* Opens path (relative to a /proc/PID dir fd) read-only; -errno on failure. */
static int open_at(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

/* One line of /proc/PID/maps. */
struct maps_entry {
	unsigned long long start, end;
	uint64_t dev, ino;
	bool exec;
	const char *path; /* "" for anonymous mappings */
};

/*
 * Calls cb for each mapping of pid until it returns non-zero (which is
 * returned).  Returns 0 at the end, or -errno when the maps are unreadable.
 */
static int maps_foreach(uint32_t pid, int (*cb)(const struct maps_entry *e, void *ctx), void *ctx)
{
	char path[64], line[PATH_MAX + 256];
	int rc = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!rc && fgets(line, sizeof(line), f)) {
		unsigned long long off, ino;
		struct maps_entry e;
		unsigned maj, mnr;
		char perms[8];
		int pos = 0;

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &e.start, &e.end, perms, &off,
			   &maj, &mnr, &ino, &pos) < 7 ||
		    pos == 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		e.dev = makedev(maj, mnr);
		e.ino = ino;
		e.exec = perms[2] == 'x';
		e.path = line + pos;
		rc = cb(&e, ctx);
	}
	fclose(f);
	return rc;
}

/*
 * Opens a mapping's file: /proc/PID/map_files names the exact inode even
 * when the path was replaced or deleted; /proc/PID/root/PATH is the
 * fallback when map_files needs privileges we lack.  Returns an fd or -errno.
 */
static int open_entry(uint32_t pid, const struct maps_entry *e)
{
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/map_files/%llx-%llx", pid, e->start, e->end);
	fd = open_at(path);
	if (fd < 0 && e->path[0] == '/') {
		snprintf(path, sizeof(path), "/proc/%u/root%s", pid, e->path);
		fd = open_at(path);
	}
	return fd;
}

struct find_ctx {
	uint32_t pid;
	uint64_t dev, ino;
	char *desc;
	size_t desc_size;
	int fd;
};

static int find_cb(const struct maps_entry *e, void *ctx)
{
	struct find_ctx *f = ctx;

	if (e->ino != f->ino || e->dev != f->dev)
		return 0;
	snprintf(f->desc, f->desc_size, "%s", e->path);
	f->fd = open_entry(f->pid, e);
	return 1;
}

/* Opens the mapping of (dev, ino) in a process. Returns an fd or negative errno. */
static int open_mapped(uint32_t pid, uint64_t dev, uint64_t ino, char *desc, size_t desc_size)
{
	struct find_ctx f = { pid, dev, ino, desc, desc_size, -ENOENT };
	int rc = maps_foreach(pid, find_cb, &f);

	return rc < 0 ? rc : f.fd;
}

static bool fd_is(int fd, uint64_t dev, uint64_t ino)
{
	struct stat st;

	return fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

int targets_on_file_event(struct capture *c, const struct lt_file_event *ev)
{
	uint64_t dev = dev_from_kernel(ev->dev);
	char path[64], desc[PATH_MAX];
	struct hold h = { 0 };
	int fd = -1, err;

	if (targets_seen(c, dev, ev->ino)) {
		targets_mark_seen(c, dev, ev->ino); /* the kernel's LRU forgot it */
		return 0;
	}
	/* Hold the thread that mapped the file until its probes are in place. */
	if (!c->opts.no_hold) {
		err = hold_thread((pid_t)ev->hdr.tid, &h);
		if (err == 0) {
			atomic_fetch_add(&c->holds, 1);
		} else if (err != -ESRCH) {
			atomic_fetch_add(&c->hold_failures, 1);
			attach_state_note_process(ev->hdr.pid, dev, ev->ino, "hold failed", err);
		}
	}
	snprintf(desc, sizeof(desc), "%.*s", (int)sizeof(ev->name), ev->name);
	if (ev->hdr.type == LT_EV_EXEC) {
		snprintf(path, sizeof(path), "/proc/%u/exe", ev->hdr.pid);
		fd = open_at(path);
		if (fd >= 0) {
			ssize_t n = readlink(path, desc, sizeof(desc) - 1);

			if (n > 0)
				desc[n] = '\0';
		}
	} else if (ev->fd >= 0) {
		snprintf(path, sizeof(path), "/proc/%u/fd/%d", ev->hdr.pid, ev->fd);
		fd = open_at(path);
		if (fd >= 0 && !fd_is(fd, dev, ev->ino)) {
			close(fd);
			fd = -1;
		}
		if (fd >= 0) {
			ssize_t n = readlink(path, desc, sizeof(desc) - 1);

			if (n > 0)
				desc[n] = '\0';
		}
	}
	if (fd < 0)
		fd = open_mapped(ev->hdr.pid, dev, ev->ino, desc, sizeof(desc));
	if (fd < 0) {
		hold_release(&h);
		if (fd != -ENOENT && fd != -ESRCH)
			attach_state_note_process(ev->hdr.pid, dev, ev->ino,
						  "cannot open mapped file", fd);
		log_debug("cannot open '%s' of pid %u: %s", desc, ev->hdr.pid, strerror(-fd));
		return fd;
	}
	err = targets_inspect_fd(c, fd, desc);
	hold_release(&h);
	if (err == TARGETS_SCAN_LATER) {
		diagnose_fd(fd, desc);
		err = 0;
	}
	close(fd);
	return err;
}

struct scan_ctx {
	struct capture *c;
	uint32_t pid;
};

static int scan_cb(const struct maps_entry *e, void *ctx)
{
	struct scan_ctx *sc = ctx;
	int fd;

	if (!e->exec || e->ino == 0 || targets_seen(sc->c, e->dev, e->ino))
		return 0;
	fd = open_entry(sc->pid, e);
	if (fd >= 0) {
		if (targets_inspect_fd(sc->c, fd, e->path) == TARGETS_SCAN_LATER)
			diagnose_fd(fd, e->path);
		close(fd);
	}
	return 0;
}

static int scan_pid(struct capture *c, uint32_t pid)
{
	struct scan_ctx sc = { c, pid };

	return maps_foreach(pid, scan_cb, &sc);
}

/* Library names whose system copies are attached at start-up. */
static const char *const ld_cache_prefixes[] = { "libssl.so", "libgnutls.so" };

static int ld_cache_entry(const char *path, void *ctx)
{
	int fd = open_at(path);

	if (fd < 0)
		return 0; /* a stale cache entry is not an error */
	targets_inspect_fd(ctx, fd, path);
	close(fd);
	return 0;
}

int targets_scan_ld_cache(struct capture *c, const char *path)
{
	struct stat st;
	void *img;
	int fd, n;

	fd = open_at(path);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > (64 << 20)) {
		close(fd);
		return -EINVAL;
	}
	img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (img == MAP_FAILED)
		return -errno;
	n = ld_cache_find(img, (size_t)st.st_size, ld_cache_prefixes,
			  sizeof(ld_cache_prefixes) / sizeof(ld_cache_prefixes[0]), ld_cache_entry,
			  c);
	munmap(img, (size_t)st.st_size);
	return n;
}

int targets_scan_proc(struct capture *c)
{
	uint32_t self = (uint32_t)getpid();
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		unsigned long pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		errno = 0;
		pid = strtoul(de->d_name, &end, 10);
		if (errno || *end || pid == 0 || pid > UINT32_MAX || pid == self)
			continue;
		scan_pid(c, (uint32_t)pid); /* processes come and go: errors are expected */
	}
	closedir(d);
	return 0;
}

/* Threads that detach uprobes at exit, and the fewest links worth a thread. */
#define UNLINK_THREADS 16
#define UNLINK_MIN_PER_THREAD 4

struct unlink_job {
	struct capture *c;
	atomic_size_t next; /* next target to detach */
};

static void *unlink_thread(void *arg)
{
	struct unlink_job *job = arg;
	size_t i;

	while ((i = atomic_fetch_add(&job->next, 1)) < job->c->n_targets) {
		struct tls_target *t = &job->c->targets[i];

		for (size_t j = 0; j < t->n_links; j++)
			bpf_link__destroy(t->links[j]);
		for (size_t j = 0; j < t->n_link_fds; j++)
			close(t->link_fds[j]);
		t->n_links = t->n_link_fds = 0;
	}
	return NULL;
}

/*
 * Detaching a uprobe waits for an RCU grace period, tens to hundreds of ms
 * on a busy host, one after the other: a few hundred links would hold the
 * agent's exit for a minute.  Waits in parallel threads share grace
 * periods, so the targets are spread over a few threads.
 */
static void unlink_all(struct capture *c)
{
	struct unlink_job job = { .c = c };
	pthread_t th[UNLINK_THREADS];
	size_t n_links = 0, n_th = 0, want;

	for (size_t i = 0; i < c->n_targets; i++)
		n_links += c->targets[i].n_links + c->targets[i].n_link_fds;
	want = n_links / UNLINK_MIN_PER_THREAD;
	if (want > UNLINK_THREADS)
		want = UNLINK_THREADS;
	atomic_init(&job.next, 0);
	while (n_th < want && pthread_create(&th[n_th], NULL, unlink_thread, &job) == 0)
		n_th++;
	unlink_thread(&job); /* also what is left when no thread could start */
	for (size_t i = 0; i < n_th; i++)
		pthread_join(th[i], NULL);
}

void targets_free(struct capture *c)
{
	unlink_all(c);
	for (size_t i = 0; i < c->n_targets; i++) {
		struct tls_target *t = &c->targets[i];

		free(t->links);
		free(t->link_fds);
		if (t->fd >= 0)
			close(t->fd);
	}
	free(c->targets);
	free(c->seen);
	c->targets = NULL;
	c->seen = NULL;
	c->n_targets = c->n_seen = 0;
}
