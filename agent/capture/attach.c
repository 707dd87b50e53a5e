// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Attaching the OpenSSL-family probes to one file, by inode (pid -1), so
 * every present and future process mapping the file is covered.
 *
 * Returns are caught either by a uretprobe or by plain uprobes on each RET
 * instruction of the function.  uretprobes rewrite the return address on
 * the stack and, on kernels with the uretprobe syscall, kill processes whose
 * seccomp filter forbids that syscall; RET-instruction uprobes have neither
 * problem but are only safe when a linear decode of the whole function
 * proves every exit is a RET (no tail jump, no indirect jump).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "llmtap.skel.h"
#include "capture/elf_syms.h"
#include "capture/x86_insn.h"
#include "internal.h"
#include "util/log.h"

/* Largest function body decoded for RET offsets; bigger ones use uretprobes. */
#define ATTACH_MAX_FUNC_BYTES 65536

enum {
	F_SSL_WRITE,
	F_SSL_READ,
	F_SSL_WRITE_EX,
	F_SSL_READ_EX,
	F_SSL_WRITE_EX2,
	F_SSL_SET_FD,
	F_SSL_CTRL,
	F_SSL_FREE,
	F_COUNT
};

static const char *const func_names[F_COUNT] = {
	[F_SSL_WRITE] = "SSL_write",	     [F_SSL_READ] = "SSL_read",
	[F_SSL_WRITE_EX] = "SSL_write_ex",   [F_SSL_READ_EX] = "SSL_read_ex",
	[F_SSL_WRITE_EX2] = "SSL_write_ex2", [F_SSL_SET_FD] = "SSL_set_fd",
	[F_SSL_CTRL] = "SSL_ctrl",	     [F_SSL_FREE] = "SSL_free",
};

static const uint32_t func_probe[F_SSL_WRITE_EX2 + 1] = {
	[F_SSL_WRITE] = LT_PROBE_SSL_WRITE,	    [F_SSL_READ] = LT_PROBE_SSL_READ,
	[F_SSL_WRITE_EX] = LT_PROBE_SSL_WRITE_EX,   [F_SSL_READ_EX] = LT_PROBE_SSL_READ_EX,
	[F_SSL_WRITE_EX2] = LT_PROBE_SSL_WRITE_EX2,
};

static int target_add_link(struct tls_target *t, struct bpf_link *l)
{
	if (t->n_links == t->cap_links) {
		size_t cap = t->cap_links ? t->cap_links * 2 : 16;
		struct bpf_link **p = realloc(t->links, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		t->links = p;
		t->cap_links = cap;
	}
	t->links[t->n_links++] = l;
	return 0;
}

static int attach_one(struct tls_target *t, struct bpf_program *prog, const char *path,
		      uint64_t offset, bool retprobe, uint64_t cookie, const char *what)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = retprobe, .bpf_cookie = cookie);
	struct bpf_link *l;
	int err;

	l = bpf_program__attach_uprobe_opts(prog, -1, path, (size_t)offset, &o);
	if (!l) {
		err = -errno;
		log_error("failed to attach %s to '%s'+0x%llx: %s", what, t->desc,
			  (unsigned long long)offset, strerror(-err));
		return err;
	}
	err = target_add_link(t, l);
	if (err)
		bpf_link__destroy(l);
	return err;
}

/*
 * Finds the RET offsets of a function; returns the count (> 0) when RET
 * probes are safe for it, 0 when a uretprobe must be used.
 */
static int ret_insn_offsets(int elf_fd, const struct elf_func *f, struct x86_func_exits *ex)
{
	uint8_t *code;
	ssize_t n;
	int ret = 0;

	if (f->size == 0 || f->size > ATTACH_MAX_FUNC_BYTES)
		return 0;
	code = malloc(f->size);
	if (!code)
		return 0;
	n = elf_read_code(elf_fd, f->file_offset, code, f->size);
	if (n == (ssize_t)f->size && x86_find_exits(code, f->size, ex) == 0 && ex->n_rets > 0 &&
	    !ex->truncated && ex->n_tail_jumps == 0 && ex->n_indirect_jumps == 0)
		ret = (int)ex->n_rets;
	free(code);
	return ret;
}

int attach_openssl(struct capture *c, struct tls_target *t, int elf_fd)
{
	struct elf_func funcs[F_COUNT];
	struct llmtap_bpf *s = c->skel;
	char path[64];
	int err = 0, first_err = 0;

	memset(funcs, 0, sizeof(funcs));
	for (int i = 0; i < F_COUNT; i++)
		funcs[i].name = func_names[i];
	err = elf_find_funcs(elf_fd, funcs, F_COUNT);
	if (err < 0)
		return err;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", t->fd);

	for (int i = 0; i <= F_SSL_WRITE_EX2; i++) {
		struct x86_func_exits ex;
		int nrets = 0;

		if (!funcs[i].found)
			continue;
		err = attach_one(t, s->progs.tls_data_enter, path, funcs[i].file_offset, false,
				 func_probe[i], func_names[i]);
		if (err) {
			first_err = first_err ? first_err : err;
			continue;
		}
		if (c->opts.ret_mode != CAPTURE_RET_URETPROBE)
			nrets = ret_insn_offsets(elf_fd, &funcs[i], &ex);
		if (nrets == 0 && c->opts.ret_mode == CAPTURE_RET_INSN)
			log_warn(
				"%s in '%s': exits are not all RET instructions, using a uretprobe",
				func_names[i], t->desc);
		if (nrets > 0) {
			for (int r = 0; r < nrets && !err; r++)
				err = attach_one(t, s->progs.tls_data_ret_insn, path,
						 funcs[i].file_offset + ex.ret_offsets[r], false,
						 func_probe[i] | LT_COOKIE_AT_RET_INSN,
						 func_names[i]);
			t->n_ret_insn++;
		} else {
			err = attach_one(t, s->progs.tls_data_return, path, funcs[i].file_offset,
					 true, func_probe[i], func_names[i]);
			t->n_uretprobe++;
		}
		if (err)
			first_err = first_err ? first_err : err;
	}
	if (funcs[F_SSL_SET_FD].found)
		err = attach_one(t, s->progs.tls_set_fd, path, funcs[F_SSL_SET_FD].file_offset,
				 false, 0, "SSL_set_fd");
	if (!err && funcs[F_SSL_CTRL].found)
		err = attach_one(t, s->progs.tls_ctrl, path, funcs[F_SSL_CTRL].file_offset, false,
				 0, "SSL_ctrl");
	if (!err && funcs[F_SSL_FREE].found)
		err = attach_one(t, s->progs.tls_free, path, funcs[F_SSL_FREE].file_offset, false,
				 0, "SSL_free");
	if (err)
		first_err = first_err ? first_err : err;
	return first_err;
}
