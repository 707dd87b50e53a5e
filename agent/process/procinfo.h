/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Process identity for records: executable, command line, owner.  Learnt
 * from the kernel's exec event when the agent saw the exec (so a process
 * that already exited is still named), else read from /proc at first use.
 * Bounded cache with FIFO eviction.
 */
#ifndef LLMTAP_PROCINFO_H
#define LLMTAP_PROCINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmtap_abi.h"

struct procinfo {
	uint32_t pid;
	uint32_t uid;
	bool has_uid;
	char exe[512];
	char cmdline[LT_ARGS_MAX + 1]; /* argv joined with spaces */
	char owner[64];
	char comm[LT_COMM_LEN + 1];
};

struct proc_cache {
	struct procinfo *slots;
	size_t cap, next; /* FIFO replacement cursor */
	uint64_t evictions;
};

int proc_cache_init(struct proc_cache *pc, size_t cap);
void proc_cache_destroy(struct proc_cache *pc);
/* Records what an exec event says about its process (replacing older info). */
void proc_cache_exec(struct proc_cache *pc, const struct lt_file_event *ev);
/* Info for pid: cached, else read from /proc (comm is the fallback name).
 * The pointer is valid until the next proc_cache call. Never NULL. */
const struct procinfo *proc_cache_get(struct proc_cache *pc, uint32_t pid, const char *comm);
void proc_cache_forget(struct proc_cache *pc, uint32_t pid);
/* Joins NUL-separated argv (len bytes) into out with spaces, credentials redacted. */
void procinfo_join_args(const char *args, size_t len, char *out, size_t out_size);

#endif
