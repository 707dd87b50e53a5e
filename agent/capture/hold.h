/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Holding a thread still while a file it just mapped or exec'd is inspected
 * and, if it carries TLS code, probed: a fast client (curl) reaches its
 * first SSL_write a few ms after loading libssl, and attaching to a file
 * the kernel has never probed takes ~10 ms.  The hold is a ptrace stop
 * (PTRACE_SEIZE + PTRACE_INTERRUPT), visible only to the tracer: unlike
 * SIGSTOP it is not a group stop, so a shell's job control never sees it.
 * If the agent dies, the kernel detaches and the thread runs on.
 */
#ifndef LLMTAP_HOLD_H
#define LLMTAP_HOLD_H

#include <stdbool.h>
#include <sys/types.h>

struct hold {
	pid_t tid;
	bool held;
	int pending_sig; /* a signal that arrived during the hold, re-injected */
};

/*
 * Stops thread tid.  Returns 0 held; -ESRCH gone; -EPERM when it cannot be
 * traced (already traced by a debugger, Yama, missing CAP_SYS_PTRACE); the
 * caller then proceeds without a hold.
 */
int hold_thread(pid_t tid, struct hold *h);
/* Lets a held thread run on (no-op when not held). */
void hold_release(struct hold *h);

#endif
