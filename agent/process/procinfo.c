// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "procinfo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "redact/cmdline.h"
#include "util/fileio.h"

/* /proc/PID/cgroup: 13 v1 hierarchies plus v2, each line a path; more than
 * this is not a process we can name anyway (the cut line is ignored). */
#define CGROUP_FILE_MAX 8192

static int read_small(const char *path, char *buf, size_t size, size_t *len);

/* Whether this host has cgroup v1 hierarchies: our own /proc/self/cgroup
 * then has lines other than the v2 one ("0::PATH"). */
static bool uses_cgroup_v1(void)
{
	char buf[CGROUP_FILE_MAX];
	size_t n;

	if (read_small("/proc/self/cgroup", buf, sizeof(buf), &n) != 0)
		return true; /* unknown: keep the /proc fallback */
	for (const char *p = buf, *end = buf + n; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);

		if (len && (len < 3 || memcmp(p, "0::", 3) != 0))
			return true;
		p = nl ? nl + 1 : end;
	}
	return false;
}

int proc_cache_init(struct proc_cache *pc, size_t cap)
{
	memset(pc, 0, sizeof(*pc));
	pc->slots = calloc(cap, sizeof(*pc->slots));
	pc->pids = calloc(cap, sizeof(*pc->pids));
	if (!pc->slots || !pc->pids) {
		proc_cache_destroy(pc);
		return -ENOMEM;
	}
	pc->cap = cap;
	hostinfo_read(&pc->host, NULL);
	pc->cgroup_v1 = uses_cgroup_v1();
	return 0;
}

void proc_cache_destroy(struct proc_cache *pc)
{
	free(pc->slots);
	free(pc->pids);
	pc->slots = NULL;
	pc->pids = NULL;
}

void procinfo_join_args(const char *args, size_t len, char *out, size_t out_size)
{
	char buf[LT_ARGS_MAX + 1];

	/* the last argument of a cut argv has no NUL, and the scrubber reads
	 * each argument up to its NUL: give it one */
	if (len > LT_ARGS_MAX)
		len = LT_ARGS_MAX;
	memcpy(buf, args, len);
	buf[len] = '\0';
	/* a command line can carry credentials (curl -H "Authorization: ...") */
	redact_cmdline_join(buf, len, out, out_size);
}

void procinfo_user_name(uint32_t uid, char *out, size_t out_size)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res && res->pw_name)
		snprintf(out, out_size, "%s", res->pw_name);
	else
		snprintf(out, out_size, "%u", uid);
}

/* Decimal digits only, no sign, no overflow. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int procinfo_parse_stat(const char *text, size_t len, uint32_t *ppid, uint64_t *start_ticks)
{
	/* "pid (comm) state ppid pgrp ... starttime ...": comm is the process's
	 * own choice and may hold spaces and ')', so fields count from the last
	 * ')'; what follows is the kernel's.  starttime is field 22. */
	const char *p = memrchr(text, ')', len), *end = text + len;
	uint64_t v, pp = 0;
	int field = 2;

	*ppid = 0;
	*start_ticks = 0;
	if (!p)
		return -EINVAL;
	p++;
	while (p < end && field < 22) {
		const char *tok;

		if (*p != ' ')
			return -EINVAL;
		p++;
		tok = p;
		while (p < end && *p != ' ' && *p != '\n')
			p++;
		field++;
		if (field == 4) {
			if (parse_u64(tok, (size_t)(p - tok), &pp) || pp > UINT32_MAX)
				return -EINVAL;
		} else if (field == 22) {
			if (parse_u64(tok, (size_t)(p - tok), &v))
				return -EINVAL;
			*ppid = (uint32_t)pp;
			*start_ticks = v;
			return 0;
		}
	}
	return -EINVAL;
}

uint64_t procinfo_start_wall_ns(uint64_t start_boot_ns, uint64_t boot_wall_ns, long hz)
{
	uint64_t tick = hz > 0 && hz <= 1000000000 ? 1000000000ull / (uint64_t)hz : 10000000ull;

	return boot_wall_ns + (start_boot_ns - start_boot_ns % tick);
}

static long clock_hz(void)
{
	long hz = sysconf(_SC_CLK_TCK);

	return hz > 0 ? hz : 100;
}

static uint64_t ts_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wall-clock time of boot (CLOCK_BOOTTIME 0), to the millisecond: finer
 * would only show the jitter of reading two clocks. */
static uint64_t boot_wall_ns(void)
{
	uint64_t b1 = ts_ns(CLOCK_BOOTTIME), r = ts_ns(CLOCK_REALTIME), b2 = ts_ns(CLOCK_BOOTTIME);
	uint64_t boot = r - (b1 + (b2 - b1) / 2);

	return (boot + 500000) / 1000000 * 1000000;
}

static bool is_hex64(const char *s, size_t n)
{
	if (n != PROCINFO_CONTAINER_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool span_eq(const char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/* systemd scope (or cgroupfs) names of container runtimes: prefix + id. */
static const struct {
	const char *prefix, *runtime;
} runtime_scopes[] = {
	{ "docker-", "docker" },
	{ "cri-containerd-", "containerd" },
	{ "crio-", "cri-o" },
	{ "libpod-", "podman" },
};

static bool match_component(const char *c, size_t n, const char *parent, size_t pn,
			    bool under_kubepods, struct procinfo_container *out)
{
	for (size_t i = 0; i < sizeof(runtime_scopes) / sizeof(runtime_scopes[0]); i++) {
		size_t plen = strlen(runtime_scopes[i].prefix);
		const char *rest;
		size_t rn;

		if (n < plen + PROCINFO_CONTAINER_ID_LEN ||
		    memcmp(c, runtime_scopes[i].prefix, plen) != 0 ||
		    !is_hex64(c + plen, PROCINFO_CONTAINER_ID_LEN))
			continue;
		rest = c + plen + PROCINFO_CONTAINER_ID_LEN;
		rn = n - plen - PROCINFO_CONTAINER_ID_LEN;
		if (rn != 0 && !span_eq(rest, rn, ".scope"))
			continue;
		memcpy(out->id, c + plen, PROCINFO_CONTAINER_ID_LEN);
		out->id[PROCINFO_CONTAINER_ID_LEN] = '\0';
		out->runtime = runtime_scopes[i].runtime;
		return true;
	}
	/* cgroupfs layouts: /docker/<id>, /kubepods/<qos>/pod<uid>/<id> */
	if (!is_hex64(c, n))
		return false;
	if (parent && span_eq(parent, pn, "docker"))
		out->runtime = "docker";
	else if (under_kubepods)
		out->runtime = NULL; /* docker or containerd: the path does not say */
	else
		return false;
	memcpy(out->id, c, PROCINFO_CONTAINER_ID_LEN);
	out->id[PROCINFO_CONTAINER_ID_LEN] = '\0';
	return true;
}

int procinfo_container_from_path(const char *path, size_t len, struct procinfo_container *out)
{
	const char *kube_end = NULL, *end = path + len, *c;

	memset(out, 0, sizeof(*out));
	/* the outermost kubepods* component: ids below it are pod containers */
	for (c = path; c < end;) {
		const char *e = memchr(c, '/', (size_t)(end - c));

		if (!e)
			e = end;
		if (e - c >= 8 && memcmp(c, "kubepods", 8) == 0) {
			kube_end = e;
			break;
		}
		c = e + 1;
	}
	/* innermost first: a container nested in another is named by its own id */
	for (const char *ce = end; ce > path;) {
		const char *cs = ce, *ps, *pe;

		while (cs > path && cs[-1] != '/')
			cs--;
		pe = cs > path ? cs - 1 : NULL;
		ps = pe;
		while (ps && ps > path && ps[-1] != '/')
			ps--;
		if (ce > cs &&
		    match_component(cs, (size_t)(ce - cs), ps, pe ? (size_t)(pe - ps) : 0,
				    kube_end && cs > kube_end, out))
			return 0;
		ce = cs > path ? cs - 1 : path;
	}
	memset(out, 0, sizeof(*out));
	return -ENOENT;
}

int procinfo_container_from_cgroup(const char *text, size_t len, bool complete_only,
				   struct procinfo_container *out)
{
	const char *p = text, *end = text + len;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *c1, *c2;

		if (!nl && complete_only)
			break;
		/* "hierarchy-id:controllers:path"; the path itself may hold ':' */
		c1 = memchr(p, ':', (size_t)(le - p));
		c2 = c1 ? memchr(c1 + 1, ':', (size_t)(le - c1 - 1)) : NULL;
		if (c2 && procinfo_container_from_path(c2 + 1, (size_t)(le - c2 - 1), out) == 0)
			return 0;
		p = le + 1;
	}
	memset(out, 0, sizeof(*out));
	return -ENOENT;
}

int procinfo_container_from_names(const char names[LT_CGROUP_LEVELS][LT_CGROUP_NAME_MAX],
				  struct procinfo_container *out)
{
	char path[LT_CGROUP_LEVELS * (LT_CGROUP_NAME_MAX + 1) + 1];
	size_t n = 0, levels = 0, len = 0;

	while (levels < LT_CGROUP_LEVELS && names[levels][0])
		levels++;
	/* root first; a path that reached the root starts with '/'.  A name
	 * the kernel cut at the slot size is longer than any pattern: it never
	 * matches, so it needs no special case. */
	if (levels < LT_CGROUP_LEVELS)
		path[len++] = '/';
	for (size_t i = levels; i-- > 0;) {
		n = strnlen(names[i], LT_CGROUP_NAME_MAX);
		memcpy(path + len, names[i], n);
		len += n;
		if (i)
			path[len++] = '/';
	}
	if (procinfo_container_from_path(path, len, out) == 0)
		return 0;
	return levels == LT_CGROUP_LEVELS ? -ERANGE : -ENOENT;
}

static struct procinfo *slot_find(struct proc_cache *pc, uint32_t pid)
{
	/* pid 0 marks a free slot */
	for (size_t i = 0; pid && i < pc->cap; i++)
		if (pc->pids[i] == pid)
			return &pc->slots[i];
	return NULL;
}

static struct procinfo *slot_new(struct proc_cache *pc, uint32_t pid)
{
	struct procinfo *p = slot_find(pc, pid);

	if (!p) {
		p = &pc->slots[pc->next];
		if (p->pid)
			pc->evictions++;
		pc->next = (pc->next + 1) % pc->cap;
	}
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	pc->pids[p - pc->slots] = pid;
	return p;
}

/* Reads up to size bytes of a /proc file.  Returns 0 with *len set, or -errno. */
static int read_small(const char *path, char *buf, size_t size, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	long n;

	*len = 0;
	if (fd < 0)
		return -errno;
	n = fileio_read_full(fd, buf, size);
	close(fd);
	if (n < 0)
		return (int)n;
	*len = (size_t)n;
	return 0;
}

static void read_exe(struct procinfo *p)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/exe", p->pid);
	n = readlink(path, p->exe, sizeof(p->exe) - 1);
	if (n > 0)
		p->exe[n] = '\0';
}

static void read_cgroup(struct procinfo *p)
{
	char path[64], buf[CGROUP_FILE_MAX];
	size_t n;

	snprintf(path, sizeof(path), "/proc/%u/cgroup", p->pid);
	if (read_small(path, buf, sizeof(buf), &n) == 0)
		procinfo_container_from_cgroup(buf, n, n == sizeof(buf), &p->container);
}

void proc_cache_exec(struct proc_cache *pc, const struct lt_file_event *ev)
{
	struct procinfo *p = slot_new(pc, ev->hdr.pid);
	int err;

	p->uid = ev->uid;
	p->has_uid = true;
	p->ppid = ev->ppid;
	p->has_ppid = true;
	if (ev->start_ns)
		p->start_wall_ns = procinfo_start_wall_ns(ev->start_ns, boot_wall_ns(), clock_hz());
	snprintf(p->comm, sizeof(p->comm), "%.*s", LT_COMM_LEN, ev->hdr.comm);
	/* the resolved path (python3 -> python3.11) while the process is there */
	read_exe(p);
	if (!p->exe[0])
		snprintf(p->exe, sizeof(p->exe), "%.*s", (int)sizeof(ev->name), ev->name);
	procinfo_join_args(ev->args, ev->args_len, p->cmdline, sizeof(p->cmdline));
	/* the kernel names the v2 cgroup only: on cgroup v1 (or hybrid) hosts,
	 * and past LT_CGROUP_LEVELS, /proc tells while the process lives */
	err = procinfo_container_from_names(ev->cgroup, &p->container);
	if (err == -ERANGE || (err && pc->cgroup_v1))
		read_cgroup(p);
}

static void read_proc(struct procinfo *p)
{
	char path[64], buf[LT_ARGS_MAX];
	uint64_t ticks;
	size_t n;
	FILE *f;

	read_exe(p);
	snprintf(path, sizeof(path), "/proc/%u/cmdline", p->pid);
	if (read_small(path, buf, sizeof(buf), &n) == 0 && n > 0)
		procinfo_join_args(buf, n, p->cmdline, sizeof(p->cmdline));
	snprintf(path, sizeof(path), "/proc/%u/stat", p->pid);
	if (read_small(path, buf, sizeof(buf), &n) == 0 &&
	    procinfo_parse_stat(buf, n, &p->ppid, &ticks) == 0) {
		long hz = clock_hz();

		p->has_ppid = true;
		if (ticks <= UINT64_MAX / (1000000000ull / (uint64_t)hz))
			p->start_wall_ns = procinfo_start_wall_ns(
				ticks * (1000000000ull / (uint64_t)hz), boot_wall_ns(), hz);
	}
	snprintf(path, sizeof(path), "/proc/%u/status", p->pid);
	f = fopen(path, "re");
	if (f) {
		char line[256];
		unsigned ruid, euid;

		/* the kernel's lines; Name: (the process's choice) is escaped */
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "Uid: %u %u", &ruid, &euid) == 2) {
				p->uid = euid;
				p->has_uid = true;
				break;
			}
		}
		fclose(f);
	}
	read_cgroup(p);
}

const struct procinfo *proc_cache_get(struct proc_cache *pc, uint32_t pid, const char *comm)
{
	struct procinfo *p = slot_find(pc, pid);

	if (!p) {
		p = slot_new(pc, pid);
		if (comm)
			snprintf(p->comm, sizeof(p->comm), "%.*s", LT_COMM_LEN, comm);
		read_proc(p);
	}
	/* only processes that make records pay for a password-database lookup */
	if (p->has_uid && !p->owner[0])
		procinfo_user_name(p->uid, p->owner, sizeof(p->owner));
	p->host = &pc->host;
	return p;
}

size_t proc_cache_prefill(struct proc_cache *pc)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while (n < pc->cap && (e = readdir(d))) {
		uint64_t pid;
		struct procinfo *p;

		if (parse_u64(e->d_name, strlen(e->d_name), &pid) || !pid || pid > UINT32_MAX ||
		    pid == (uint64_t)getpid() || slot_find(pc, (uint32_t)pid))
			continue;
		p = slot_new(pc, (uint32_t)pid);
		read_proc(p);
		/* kernel threads (no executable) make no TLS calls */
		if (!p->exe[0]) {
			pc->pids[p - pc->slots] = 0;
			memset(p, 0, sizeof(*p));
			continue;
		}
		n++;
	}
	closedir(d);
	return n;
}

void proc_cache_forget(struct proc_cache *pc, uint32_t pid)
{
	struct procinfo *p = slot_find(pc, pid);

	if (p) {
		memset(p, 0, sizeof(*p));
		pc->pids[p - pc->slots] = 0;
	}
}
