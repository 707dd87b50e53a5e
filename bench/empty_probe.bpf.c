// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of the benchmarks: programs that do nothing, attached where
 * llmtap attaches.  What they cost is what any uprobe- or tracepoint-based
 * tool pays before doing any work (the kernel's trap, the trampoline, the
 * return-address hijack of a uretprobe).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("uprobe")
int empty_enter(void *ctx)
{
	return 0;
}

SEC("uretprobe")
int empty_return(void *ctx)
{
	return 0;
}

/* attached to the syscall tracepoints of bpf/sockets.bpf.c */
SEC("tracepoint")
int empty_tp(void *ctx)
{
	return 0;
}

/* another design's floor: every syscall's entry and exit, one program each */
SEC("raw_tp/sys_enter")
int empty_raw_enter(void *ctx)
{
	return 0;
}

SEC("raw_tp/sys_exit")
int empty_raw_exit(void *ctx)
{
	return 0;
}
