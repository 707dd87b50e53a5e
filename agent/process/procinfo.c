// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "procinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redact/cmdline.h"

int proc_cache_init(struct proc_cache *pc, size_t cap)
{
	memset(pc, 0, sizeof(*pc));
	pc->slots = calloc(cap, sizeof(*pc->slots));
	if (!pc->slots)
		return -ENOMEM;
	pc->cap = cap;
	return 0;
}

void proc_cache_destroy(struct proc_cache *pc)
{
	free(pc->slots);
	pc->slots = NULL;
}

void procinfo_join_args(const char *args, size_t len, char *out, size_t out_size)
{
	/* a command line can carry credentials (curl -H "Authorization: ...") */
	redact_cmdline_join(args, len, out, out_size);
}

static void owner_name(struct procinfo *p)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwuid_r(p->uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(p->owner, sizeof(p->owner), "%s", res->pw_name);
	else
		snprintf(p->owner, sizeof(p->owner), "%u", p->uid);
}

static struct procinfo *slot_find(struct proc_cache *pc, uint32_t pid)
{
	for (size_t i = 0; i < pc->cap; i++)
		if (pc->slots[i].pid == pid)
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
	return p;
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

void proc_cache_exec(struct proc_cache *pc, const struct lt_file_event *ev)
{
	struct procinfo *p = slot_new(pc, ev->hdr.pid);

	p->uid = ev->uid;
	p->has_uid = true;
	snprintf(p->comm, sizeof(p->comm), "%.*s", LT_COMM_LEN, ev->hdr.comm);
	read_exe(p);
	if (!p->exe[0])
		snprintf(p->exe, sizeof(p->exe), "%.*s", (int)sizeof(ev->name), ev->name);
	procinfo_join_args(ev->args, ev->args_len, p->cmdline, sizeof(p->cmdline));
	owner_name(p);
}

static void read_proc(struct procinfo *p)
{
	char path[64], buf[LT_ARGS_MAX];
	ssize_t n;
	FILE *f;
	int fd;

	read_exe(p);
	snprintf(path, sizeof(path), "/proc/%u/cmdline", p->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0)
			procinfo_join_args(buf, (size_t)n, p->cmdline, sizeof(p->cmdline));
		close(fd);
	}
	snprintf(path, sizeof(path), "/proc/%u/status", p->pid);
	f = fopen(path, "re");
	if (f) {
		char line[256];
		unsigned ruid, euid;

		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "Uid: %u %u", &ruid, &euid) == 2) {
				p->uid = euid;
				p->has_uid = true;
				break;
			}
		}
		fclose(f);
	}
	if (p->has_uid)
		owner_name(p);
}

const struct procinfo *proc_cache_get(struct proc_cache *pc, uint32_t pid, const char *comm)
{
	struct procinfo *p = slot_find(pc, pid);

	if (p)
		return p;
	p = slot_new(pc, pid);
	if (comm)
		snprintf(p->comm, sizeof(p->comm), "%.*s", LT_COMM_LEN, comm);
	read_proc(p);
	return p;
}

void proc_cache_forget(struct proc_cache *pc, uint32_t pid)
{
	struct procinfo *p = slot_find(pc, pid);

	if (p)
		memset(p, 0, sizeof(*p));
}
