/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Process identity for records: executable, command line, owner, parent,
 * start time and container.  Learnt from the kernel's exec event when the
 * agent saw the exec (so a process that already exited is still named),
 * else read from /proc at first use (processes older than the agent).
 * Bounded cache with FIFO eviction.
 *
 * /proc/PID/cmdline, comm and cgroup names are chosen by the process (or
 * whoever created its cgroup): every parser here takes them as hostile.
 */
#ifndef LLMTAP_PROCINFO_H
#define LLMTAP_PROCINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmtap_abi.h"
#include "process/hostinfo.h"

#define PROCINFO_CONTAINER_ID_LEN 64

struct procinfo_container {
	char id[PROCINFO_CONTAINER_ID_LEN + 1]; /* "" when not in a known container */
	const char *runtime; /* static: "docker", "containerd", "cri-o", "podman"; or NULL */
};

struct procinfo {
	uint32_t pid;
	uint32_t uid;
	uint32_t ppid;
	bool has_uid, has_ppid;
	uint64_t start_wall_ns; /* process start, ns since the epoch; 0 when unknown */
	char exe[512];
	char cmdline[LT_ARGS_MAX + 1]; /* argv joined with spaces */
	char owner[64]; /* resolved at first use, not at exec */
	char comm[LT_COMM_LEN + 1];
	struct procinfo_container container;
	const struct hostinfo *host; /* the cache's, set by proc_cache_get */
};

struct proc_cache {
	struct procinfo *slots;
	uint32_t *pids; /* slots[i].pid, packed: a lookup scans 16 KiB, not the slots */
	size_t cap, next; /* FIFO replacement cursor */
	uint64_t evictions;
	struct hostinfo host;
	/* cgroup v1 hierarchies are mounted (v1 or hybrid host): a container may
	 * show only there, not in the v2 path the kernel's exec event names */
	bool cgroup_v1;
};

/* Also reads the host's identity (hostinfo_read) and whether cgroup v1 is
 * in use. Returns 0 or -ENOMEM. */
int proc_cache_init(struct proc_cache *pc, size_t cap);
void proc_cache_destroy(struct proc_cache *pc);
/* Records what an exec event says about its process (replacing older info). */
void proc_cache_exec(struct proc_cache *pc, const struct lt_file_event *ev);
/* Info for pid: cached, else read from /proc (comm is the fallback name).
 * The pointer is valid until the next proc_cache call. Never NULL. */
const struct procinfo *proc_cache_get(struct proc_cache *pc, uint32_t pid, const char *comm);
void proc_cache_forget(struct proc_cache *pc, uint32_t pid);
/* Reads every running process (kernel threads and the caller excepted) from
 * /proc into the cache, up to its capacity: a process older than the agent
 * that exits right after its request is then named like one whose exec the
 * agent saw.  Call once the exec hook is attached.  Returns how many. */
size_t proc_cache_prefill(struct proc_cache *pc);
/* Joins NUL-separated argv (len bytes, at most LT_ARGS_MAX are read; the
 * last argument may lack its NUL) into out with spaces, credentials redacted. */
void procinfo_join_args(const char *args, size_t len, char *out, size_t out_size);

/*
 * Parsers, exported for tests and fuzzers.  Each returns 0 when it found
 * what it looks for, -ENOENT when the input holds none, -EINVAL when it is
 * malformed; out is cleared unless 0 is returned.
 */

/* The container of one cgroup path ("/system.slice/docker-<64hex>.scope"):
 * the innermost component naming one.  Known shapes: `docker-`,
 * `cri-containerd-`, `crio-`, `libpod-` + 64 hex (+ `.scope`), and a bare
 * 64-hex component under `docker/` or under a `kubepods*` ancestor. */
int procinfo_container_from_path(const char *path, size_t len, struct procinfo_container *out);
/* The container named by a /proc/PID/cgroup text (v1 and v2 lines): the first
 * line whose path names one.  An unterminated last line is ignored when
 * complete_only (the read may have been cut). */
int procinfo_container_from_cgroup(const char *text, size_t len, bool complete_only,
				   struct procinfo_container *out);
/* The container named by an exec event's cgroup components (leaf first);
 * -ERANGE instead of -ENOENT when the path is deeper than the event shows. */
int procinfo_container_from_names(const char names[LT_CGROUP_LEVELS][LT_CGROUP_NAME_MAX],
				  struct procinfo_container *out);
/* Parent pid and start time (clock ticks since boot) from /proc/PID/stat. */
int procinfo_parse_stat(const char *text, size_t len, uint32_t *ppid, uint64_t *start_ticks);
/* Wall-clock ns of a process start given as ns since boot (CLOCK_BOOTTIME),
 * cut to the clock tick (1/hz s) so that the kernel's exec value and
 * /proc/PID/stat's agree; boot_wall_ns is the wall-clock time of boot. */
uint64_t procinfo_start_wall_ns(uint64_t start_boot_ns, uint64_t boot_wall_ns, long hz);
/* The user name of uid from the password database, else the number. */
void procinfo_user_name(uint32_t uid, char *out, size_t out_size);

#endif
