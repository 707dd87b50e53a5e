// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Attaching the TLS probes (OpenSSL family, GnuTLS, Go crypto/tls) to one
 * file, by inode (pid -1), so every present and future process mapping the
 * file is covered.
 *
 * Returns are caught either by a uretprobe or by plain uprobes on each RET
 * instruction of the function.  uretprobes rewrite the return address on
 * the stack and, on kernels with the uretprobe syscall, kill processes whose
 * seccomp filter forbids that syscall; RET-instruction uprobes have neither
 * problem but are only safe when a linear decode of the whole function
 * proves every exit is a RET (no tail jump, no indirect jump).  Go code only
 * ever gets RET-instruction uprobes: Go moves goroutine stacks, and a
 * rewritten return address crashes it; a Go function whose exits cannot all
 * be proven is not probed.
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

static const char *const func_names[TLS_F_COUNT] = {
	[TLS_F_SSL_WRITE] = "SSL_write",
	[TLS_F_SSL_READ] = "SSL_read",
	[TLS_F_SSL_WRITE_EX] = "SSL_write_ex",
	[TLS_F_SSL_READ_EX] = "SSL_read_ex",
	[TLS_F_SSL_WRITE_EX2] = "SSL_write_ex2",
	[TLS_F_SSL_SET_FD] = "SSL_set_fd",
	[TLS_F_SSL_CTRL] = "SSL_ctrl",
	[TLS_F_SSL_FREE] = "SSL_free",
	[TLS_F_GNUTLS_SEND] = "gnutls_record_send",
	[TLS_F_GNUTLS_RECV] = "gnutls_record_recv",
	[TLS_F_GNUTLS_DEINIT] = "gnutls_deinit",
	[TLS_F_GNUTLS_SNI] = "gnutls_server_name_set",
	[TLS_F_GO_WRITE] = "crypto/tls.(*Conn).Write",
	[TLS_F_GO_READ] = "crypto/tls.(*Conn).Read",
	[TLS_F_GO_CLOSE] = "crypto/tls.(*Conn).Close",
};

/* The data functions of each stack and their probe ids (attach cookies). */
struct data_func {
	enum tls_func f;
	uint32_t probe;
};

static const struct data_func openssl_data[] = {
	{ TLS_F_SSL_WRITE, LT_PROBE_SSL_WRITE },	 { TLS_F_SSL_READ, LT_PROBE_SSL_READ },
	{ TLS_F_SSL_WRITE_EX, LT_PROBE_SSL_WRITE_EX },	 { TLS_F_SSL_READ_EX, LT_PROBE_SSL_READ_EX },
	{ TLS_F_SSL_WRITE_EX2, LT_PROBE_SSL_WRITE_EX2 },
};

/*
 * gnutls_record_send2 and gnutls_record_recv_seq are left out: applications
 * call the two below, and in GnuTLS 3.7 send is a tail call of send2, so
 * probing both would see one call twice.
 */
static const struct data_func gnutls_data[] = {
	{ TLS_F_GNUTLS_SEND, LT_PROBE_GNUTLS_SEND },
	{ TLS_F_GNUTLS_RECV, LT_PROBE_GNUTLS_RECV },
};

static const struct data_func go_data[] = {
	{ TLS_F_GO_WRITE, LT_PROBE_GO_WRITE },
	{ TLS_F_GO_READ, LT_PROBE_GO_READ },
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

unsigned attach_lookup(int fd, struct elf_func *funcs)
{
	unsigned stacks = 0;

	for (int i = 0; i < TLS_F_COUNT; i++)
		funcs[i] = (struct elf_func){ .name = func_names[i] };
	if (elf_find_funcs(fd, funcs, TLS_F_COUNT) <= 0)
		return 0;
	if (funcs[TLS_F_SSL_WRITE].found && funcs[TLS_F_SSL_READ].found)
		stacks |= TLS_STACK_OPENSSL;
	if (funcs[TLS_F_GNUTLS_SEND].found && funcs[TLS_F_GNUTLS_RECV].found)
		stacks |= TLS_STACK_GNUTLS;
	if (funcs[TLS_F_GO_WRITE].found && funcs[TLS_F_GO_READ].found)
		stacks |= TLS_STACK_GO;
	return stacks;
}

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

/* Reads a function's code; NULL when it is empty, too large or unreadable. */
static uint8_t *read_func(int elf_fd, const struct elf_func *f)
{
	uint8_t *code;

	if (f->size == 0 || f->size > ATTACH_MAX_FUNC_BYTES)
		return NULL;
	code = malloc(f->size);
	if (code && elf_read_code(elf_fd, f->file_offset, code, f->size) != (ssize_t)f->size) {
		free(code);
		code = NULL;
	}
	return code;
}

/*
 * Finds the RET offsets of a function; returns the count (> 0) when RET
 * probes are safe for it, 0 when they are not (then a uretprobe, or for Go
 * nothing).
 */
static int ret_insn_offsets(const uint8_t *code, size_t size, struct x86_func_exits *ex)
{
	if (code && x86_find_exits(code, size, ex) == 0 && ex->n_rets > 0 && !ex->truncated &&
	    ex->n_tail_jumps == 0 && ex->n_indirect_jumps == 0)
		return (int)ex->n_rets;
	return 0;
}

/* Entry probe plus RET-instruction probes or a uretprobe for one C data function. */
static int attach_c_data(struct capture *c, struct tls_target *t, const char *path, int elf_fd,
			 const struct elf_func *f, uint32_t probe)
{
	struct llmtap_bpf *s = c->skel;
	struct x86_func_exits ex;
	uint8_t *code = NULL;
	int err, nrets = 0;

	err = attach_one(t, s->progs.tls_data_enter, path, f->file_offset, false, probe, f->name);
	if (err)
		return err;
	if (c->opts.ret_mode != CAPTURE_RET_URETPROBE) {
		code = read_func(elf_fd, f);
		nrets = ret_insn_offsets(code, f->size, &ex);
		free(code);
	}
	if (nrets == 0 && c->opts.ret_mode == CAPTURE_RET_INSN)
		log_warn("%s in '%s': exits are not all RET instructions, using a uretprobe",
			 f->name, t->desc);
	if (nrets == 0) {
		t->n_uretprobe++;
		return attach_one(t, s->progs.tls_data_return, path, f->file_offset, true, probe,
				  f->name);
	}
	t->n_ret_insn++;
	for (int r = 0; r < nrets && !err; r++)
		err = attach_one(t, s->progs.tls_data_ret_insn, path,
				 f->file_offset + ex.ret_offsets[r], false,
				 probe | LT_COOKIE_AT_RET_INSN, f->name);
	return err;
}

/*
 * True when the code starts with the ABIInternal stack check, which reads
 * the goroutine's stack bound through R14 (cmp 0x10(%r14), %rsp or %r12):
 * then R14 holds g and the arguments are in registers (Go >= 1.17).
 */
static bool go_regabi_prologue(const uint8_t *code, size_t size)
{
	for (size_t i = 0; i + 4 <= size && i < 16; i++)
		if ((code[i] == 0x49 || code[i] == 0x4d) && code[i + 1] == 0x3b &&
		    code[i + 2] == 0x66 && code[i + 3] == 0x10)
			return true;
	return false;
}

/* RET-instruction probes, then the entry probe, for one Go data function. */
static int attach_go_data(struct capture *c, struct tls_target *t, const char *path, int elf_fd,
			  const struct elf_func *f, uint32_t probe)
{
	struct llmtap_bpf *s = c->skel;
	struct x86_func_exits ex;
	uint8_t *code = read_func(elf_fd, f);
	int err = 0, nrets;

	if (!code || !go_regabi_prologue(code, f->size)) {
		free(code);
		log_warn("%s in '%s': not Go >= 1.17 register-ABI code, not probed", f->name,
			 t->desc);
		return -ENOTSUP;
	}
	nrets = ret_insn_offsets(code, f->size, &ex);
	free(code);
	if (nrets == 0) {
		log_warn("%s in '%s': exits are not all RET instructions, not probed (no "
			 "uretprobes on Go)",
			 f->name, t->desc);
		return -ENOTSUP;
	}
	/* returns first: an entry without its returns would only fill go_calls */
	for (int r = 0; r < nrets && !err; r++)
		err = attach_one(t, s->progs.go_tls_ret, path, f->file_offset + ex.ret_offsets[r],
				 false, probe | LT_COOKIE_AT_RET_INSN, f->name);
	if (!err)
		err = attach_one(t, s->progs.go_tls_enter, path, f->file_offset, false, probe,
				 f->name);
	if (!err)
		t->n_ret_insn++;
	return err;
}

/* An entry-only probe on an optional function (fd, SNI, end of connection). */
static int attach_entry(struct tls_target *t, struct bpf_program *prog, const char *path,
			const struct elf_func *f)
{
	if (!f->found)
		return 0;
	return attach_one(t, prog, path, f->file_offset, false, 0, f->name);
}

static void keep_first(int *first, int err)
{
	if (err && !*first)
		*first = err;
}

int attach_target(struct capture *c, struct tls_target *t, int elf_fd,
		  const struct elf_func *funcs)
{
	struct llmtap_bpf *s = c->skel;
	char path[64];
	int first = 0;

	/* the kernel resolves the path at attach time: the pinned inode */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", t->fd);
	if (t->stacks & TLS_STACK_OPENSSL) {
		for (size_t i = 0; i < N_OF(openssl_data); i++)
			if (funcs[openssl_data[i].f].found)
				keep_first(&first, attach_c_data(c, t, path, elf_fd,
								 &funcs[openssl_data[i].f],
								 openssl_data[i].probe));
		keep_first(&first, attach_entry(t, s->progs.tls_set_fd, path,
						&funcs[TLS_F_SSL_SET_FD]));
		keep_first(&first,
			   attach_entry(t, s->progs.tls_ctrl, path, &funcs[TLS_F_SSL_CTRL]));
		keep_first(&first,
			   attach_entry(t, s->progs.tls_free, path, &funcs[TLS_F_SSL_FREE]));
	}
	if (t->stacks & TLS_STACK_GNUTLS) {
		for (size_t i = 0; i < N_OF(gnutls_data); i++)
			keep_first(&first, attach_c_data(c, t, path, elf_fd,
							 &funcs[gnutls_data[i].f],
							 gnutls_data[i].probe));
		keep_first(&first, attach_entry(t, s->progs.tls_gnutls_sni, path,
						&funcs[TLS_F_GNUTLS_SNI]));
		keep_first(&first,
			   attach_entry(t, s->progs.tls_free, path, &funcs[TLS_F_GNUTLS_DEINIT]));
	}
	if (t->stacks & TLS_STACK_GO) {
		for (size_t i = 0; i < N_OF(go_data); i++)
			keep_first(&first, attach_go_data(c, t, path, elf_fd, &funcs[go_data[i].f],
							  go_data[i].probe));
		keep_first(&first,
			   attach_entry(t, s->progs.go_tls_close, path, &funcs[TLS_F_GO_CLOSE]));
	}
	return first;
}
