// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Process lifecycle: a process that exits ends its connections even when it
 * never called SSL_free (a response delimited by connection close, a killed
 * client), and lets user space drop what it cached about the pid.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/sched_process_exit")
int BPF_PROG(proc_exit, struct task_struct *p)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct lt_event_hdr *ev;

	/*
	 * A thread that dies inside a TLS call leaves its saved arguments
	 * behind; a new thread reusing the tid must not inherit them (its
	 * calls would look nested and be skipped).
	 */
	bpf_map_delete_elem(&active_calls, &id);
	/* signal->live drops to zero before the tracepoint for the last thread */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	if (common__is_agent(BPF_CORE_READ(p, tgid)))
		return 0;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		common__count(LT_CNT_CONTROL_DROPS);
		return 0;
	}
	common__fill_hdr(ev, LT_EV_PROC_EXIT, sizeof(*ev));
	ev->pid = BPF_CORE_READ(p, tgid);
	bpf_ringbuf_submit(ev, 0);
	return 0;
}
