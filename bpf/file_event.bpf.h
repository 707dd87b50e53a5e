/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reporting a file user space may need to inspect for TLS symbols: an
 * exec (syscalls.bpf.c, sched_process_exec) or an executable mmap (the
 * sys_enter dispatcher of sockets.bpf.c).
 */
#ifndef LLMTAP_FILE_EVENT_BPF_H
#define LLMTAP_FILE_EVENT_BPF_H

#include "common.bpf.h"

#define LT_PROT_EXEC 0x4

/* kernfs_node's parent pointer was renamed __parent in 6.15: CO-RE picks
 * whichever the running kernel has. */
struct kernfs_node___parent_new {
	struct kernfs_node *__parent;
} __attribute__((preserve_access_index));
struct kernfs_node___parent_old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *sys__kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(struct kernfs_node___parent_new, __parent))
		return BPF_CORE_READ((struct kernfs_node___parent_new *)kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___parent_old *)kn, parent);
}

/*
 * Fills the exec event's process identity: parent, start time and the last
 * path components of its v2 cgroup (the container id is parsed from them in
 * user space).  At exec, so a process gone before user space looks is named.
 */
static __always_inline void sys__exec_identity(struct task_struct *task, struct lt_file_event *ev)
{
	struct kernfs_node *kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);
	int i;

	ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	for (i = 0; i < LT_CGROUP_LEVELS; i++) {
		const char *name = kn ? BPF_CORE_READ(kn, name) : NULL;

		/* the root's name is "": it ends the path like a missing node */
		if (!name || bpf_probe_read_kernel_str(ev->cgroup[i], LT_CGROUP_NAME_MAX, name) < 0)
			ev->cgroup[i][0] = '\0';
		kn = kn ? sys__kn_parent(kn) : NULL;
	}
}

/*
 * Reports an exec or an executable mmap.  A file not in `known_files` goes to
 * the control ring, which the agent's attach thread serves at once (it may
 * hold the thread while it inspects the file).  Every exec also goes to the
 * data ring, in order with the process's data, because it names the process
 * (executable, argv, uid, parent, start time, cgroup) even if it is gone by
 * the time its data is read.
 * Returns 0.
 */
static __always_inline int sys__report_file(struct file *f, __u16 type, int fd,
					    struct linux_binprm *bprm)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 arg_start, arg_end, n;
	struct lt_file_key key = {};
	struct lt_file_event *ev;
	const unsigned char *name;
	int known;

	if (!f)
		return 0;
	key.ino = BPF_CORE_READ(f, f_inode, i_ino);
	key.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	known = bpf_map_lookup_elem(&known_files, &key) != NULL;
	if (known && type != LT_EV_EXEC)
		return 0;
	ev = bpf_ringbuf_reserve(type == LT_EV_EXEC ? (void *)&events : (void *)&ctl_events,
				 sizeof(*ev), 0);
	if (!ev) {
		common__count(LT_CNT_CONTROL_DROPS);
		return 0;
	}
	common__fill_hdr(&ev->hdr, type, sizeof(*ev));
	ev->hdr.flags = known ? LT_FILE_F_KNOWN : 0;
	ev->dev = key.dev;
	ev->ino = key.ino;
	ev->fd = fd;
	ev->uid = BPF_CORE_READ(task, cred, euid.val);
	ev->args_len = 0;
	ev->pad2 = 0;
	ev->ppid = 0;
	ev->pad1 = 0;
	ev->start_ns = 0;
	for (int i = 0; i < LT_CGROUP_LEVELS; i++)
		ev->cgroup[i][0] = '\0';
	if (bprm)
		name = (const unsigned char *)BPF_CORE_READ(bprm, filename);
	else
		name = BPF_CORE_READ(f, f_path.dentry, d_name.name);
	if (bpf_probe_read_kernel_str(ev->name, sizeof(ev->name), name) < 0)
		ev->name[0] = '\0';
	if (bprm) {
		/* the new image's argv is in place at the exec tracepoint */
		arg_start = BPF_CORE_READ(task, mm, arg_start);
		arg_end = BPF_CORE_READ(task, mm, arg_end);
		n = arg_end > arg_start ? arg_end - arg_start : 0;
		if (n > LT_ARGS_MAX)
			n = LT_ARGS_MAX;
		barrier_var(n);
		if (n > LT_ARGS_MAX)
			n = LT_ARGS_MAX;
		if (n && bpf_probe_read_user(ev->args, n, (void *)arg_start) == 0)
			ev->args_len = n;
		sys__exec_identity(task, ev);
	}
	common__count(type == LT_EV_EXEC ? LT_CNT_EXEC_EVENTS : LT_CNT_MMAP_EVENTS);
	if (type == LT_EV_EXEC && !known &&
	    bpf_ringbuf_output(&ctl_events, ev, sizeof(*ev), BPF_RB_FORCE_WAKEUP))
		common__count(LT_CNT_CONTROL_DROPS);
	bpf_ringbuf_submit(ev, type == LT_EV_EXEC ? 0 : BPF_RB_FORCE_WAKEUP);
	return 0;
}

#endif
