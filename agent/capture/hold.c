// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "hold.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

int hold_thread(pid_t tid, struct hold *h)
{
	int status;
	pid_t r;

	memset(h, 0, sizeof(*h));
	h->tid = tid;
	if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0)
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0) {
		int err = -errno;

		/* a seized thread that cannot be stopped is gone or exiting */
		return err;
	}
	for (;;) {
		r = waitpid(tid, &status, __WALL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (WIFSTOPPED(status))
			break;
	}
	/*
	 * A signal-delivery stop (not our PTRACE_EVENT_STOP) holds a signal
	 * the thread must still get: it is passed on at release.  Group stops
	 * (SIGSTOP/SIGTSTP) show up as PTRACE_EVENT_STOP and stay in force.
	 */
	if ((status >> 16) != PTRACE_EVENT_STOP)
		h->pending_sig = WSTOPSIG(status);
	h->held = true;
	return 0;
}

void hold_release(struct hold *h)
{
	if (!h->held)
		return;
	ptrace(PTRACE_DETACH, h->tid, 0, (void *)(long)h->pending_sig);
	h->held = false;
}
