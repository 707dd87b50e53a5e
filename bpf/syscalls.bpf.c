// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Exec: every exec names its process and may bring a file with TLS symbols.
 * Executable mmap (python's _ssl loading libssl at `import ssl`, a venv's
 * own copy) is caught by the sys_enter dispatcher of sockets.bpf.c, which
 * spares every syscall on the host a second tracepoint.
 */
#include "common.bpf.h"
#include "file_event.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return sys__report_file(BPF_CORE_READ(bprm, file), LT_EV_EXEC, -1, bprm);
}
