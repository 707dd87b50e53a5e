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
 *
 * Where the kernel has multi-uprobe links (6.6+), each program gets one link
 * per file carrying all its offsets and cookies: detaching a uprobe waits
 * for RCU grace periods, one per link, so a Go binary costs 3 links instead
 * of ~18 and the agent's exit seconds instead of a minute.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "llmtap.skel.h"
#include "capture/elf_syms.h"
#include "capture/x86_insn.h"
#include "internal.h"
#include "util/log.h"

/* Largest function body decoded for RET offsets; bigger ones use uretprobes. */
#define ATTACH_MAX_FUNC_BYTES 65536

static const char *const func_names[FN_COUNT] = {
	[FN_SSL_WRITE] = "SSL_write",
	[FN_SSL_READ] = "SSL_read",
	[FN_SSL_WRITE_EX] = "SSL_write_ex",
	[FN_SSL_READ_EX] = "SSL_read_ex",
	[FN_SSL_WRITE_EX2] = "SSL_write_ex2",
	[FN_SSL_SET_FD] = "SSL_set_fd",
	[FN_SSL_CTRL] = "SSL_ctrl",
	[FN_SSL_FREE] = "SSL_free",
	[FN_GNUTLS_SEND] = "gnutls_record_send",
	[FN_GNUTLS_RECV] = "gnutls_record_recv",
	[FN_GNUTLS_DEINIT] = "gnutls_deinit",
	[FN_GNUTLS_SNI] = "gnutls_server_name_set",
	[FN_GO_WRITE] = "crypto/tls.(*Conn).Write",
	[FN_GO_READ] = "crypto/tls.(*Conn).Read",
	[FN_GO_CLOSE] = "crypto/tls.(*Conn).Close",
};

/* The data functions of each stack and their probe ids (attach cookies). */
struct data_func {
	enum tls_func f;
	uint32_t probe;
};

static const struct data_func openssl_data[] = {
	{ FN_SSL_WRITE, LT_PROBE_SSL_WRITE },	      { FN_SSL_READ, LT_PROBE_SSL_READ },
	{ FN_SSL_WRITE_EX, LT_PROBE_SSL_WRITE_EX },   { FN_SSL_READ_EX, LT_PROBE_SSL_READ_EX },
	{ FN_SSL_WRITE_EX2, LT_PROBE_SSL_WRITE_EX2 },
};

/*
 * gnutls_record_send2 and gnutls_record_recv_seq are left out: applications
 * call the two below, and in GnuTLS 3.7 send is a tail call of send2, so
 * probing both would see one call twice.
 */
static const struct data_func gnutls_data[] = {
	{ FN_GNUTLS_SEND, LT_PROBE_GNUTLS_SEND },
	{ FN_GNUTLS_RECV, LT_PROBE_GNUTLS_RECV },
};

static const struct data_func go_data[] = {
	{ FN_GO_WRITE, LT_PROBE_GO_WRITE },
	{ FN_GO_READ, LT_PROBE_GO_READ },
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

unsigned attach_lookup(int fd, struct elf_func *funcs)
{
	unsigned stacks = 0;

	for (int i = 0; i < FN_COUNT; i++)
		funcs[i] = (struct elf_func){ .name = func_names[i] };
	if (elf_find_funcs(fd, funcs, FN_COUNT) <= 0)
		return 0;
	if (funcs[FN_SSL_WRITE].found && funcs[FN_SSL_READ].found)
		stacks |= ATTACH_OPENSSL;
	if (funcs[FN_GNUTLS_SEND].found && funcs[FN_GNUTLS_RECV].found)
		stacks |= ATTACH_GNUTLS;
	if (funcs[FN_GO_WRITE].found && funcs[FN_GO_READ].found)
		stacks |= ATTACH_GO;
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

/* BPF_TRACE_UPROBE_MULTI and its flag: the build's uapi headers may predate them. */
#define LT_BPF_TRACE_UPROBE_MULTI 48
#define LT_BPF_F_UPROBE_MULTI_RETURN 1u

/* bpf_attr.link_create for BPF_TRACE_UPROBE_MULTI (kernel 6.6 uapi layout). */
struct uprobe_multi_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 link_flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 flags;
	__u32 pid;
	__u32 pad;
};

/* One link of prog on cnt offsets of path (every process); fd or -errno. */
static int uprobe_multi_link(int prog_fd, const char *path, const uint64_t *offsets,
			     const uint64_t *cookies, size_t cnt, bool retprobe)
{
	struct uprobe_multi_attr a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.prog_fd = (__u32)prog_fd;
	a.attach_type = LT_BPF_TRACE_UPROBE_MULTI;
	a.path = (__u64)(uintptr_t)path;
	a.offsets = (__u64)(uintptr_t)offsets;
	a.cookies = (__u64)(uintptr_t)cookies;
	a.cnt = (__u32)cnt;
	a.flags = retprobe ? LT_BPF_F_UPROBE_MULTI_RETURN : 0;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	return fd < 0 ? -errno : (int)fd;
}

/*
 * Feature probe: a program loaded for multi-uprobe links, linked to "/"
 * (not a regular file), fails with EBADF where the kernel knows the link
 * type and with EINVAL where it does not.
 */
static bool have_uprobe_multi(void)
{
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o,
		    .expected_attach_type = (enum bpf_attach_type)LT_BPF_TRACE_UPROBE_MULTI);
	uint64_t off = 0;
	int prog, link;

	prog = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns, 2, &o);
	if (prog < 0)
		return false;
	link = uprobe_multi_link(prog, "/", &off, NULL, 1, false);
	close(prog);
	if (link >= 0)
		close(link);
	return link == -EBADF;
}

void attach_prepare(struct capture *c)
{
	struct llmtap_bpf *s = c->skel;
	struct bpf_program *progs[] = {
		s->progs.tls_data_enter, s->progs.tls_data_return, s->progs.tls_data_ret_insn,
		s->progs.tls_set_fd,	 s->progs.tls_ctrl,	   s->progs.tls_gnutls_sni,
		s->progs.tls_free,	 s->progs.go_tls_enter,	   s->progs.go_tls_ret,
		s->progs.go_tls_close,
	};
	size_t i;

	c->uprobe_multi = have_uprobe_multi();
	for (i = 0; c->uprobe_multi && i < N_OF(progs); i++)
		if (bpf_program__set_expected_attach_type(
			    progs[i], (enum bpf_attach_type)LT_BPF_TRACE_UPROBE_MULTI))
			break;
	if (c->uprobe_multi && i < N_OF(progs)) {
		/* all or none: a program left classic cannot share the attach path */
		while (i-- > 0)
			bpf_program__set_expected_attach_type(progs[i], 0);
		c->uprobe_multi = false;
	}
}

static int target_add_fd(struct tls_target *t, int fd)
{
	if (t->n_link_fds == t->cap_link_fds) {
		size_t cap = t->cap_link_fds ? t->cap_link_fds * 2 : 8;
		int *p = realloc(t->link_fds, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		t->link_fds = p;
		t->cap_link_fds = cap;
	}
	t->link_fds[t->n_link_fds++] = fd;
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

/* One uprobe to place. */
struct probe_req {
	struct bpf_program *prog;
	const char *what; /* function name, for messages */
	uint64_t offset, cookie;
	bool retprobe;
};

/* The uprobes of one file, placed together by batch_commit. */
struct probe_batch {
	struct probe_req *v;
	size_t n, cap;
	int err; /* -ENOMEM from batch_add */
};

static void batch_add(struct probe_batch *b, struct bpf_program *prog, uint64_t offset,
		      bool retprobe, uint64_t cookie, const char *what)
{
	if (b->err)
		return;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 32;
		struct probe_req *p = realloc(b->v, cap * sizeof(*p));

		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		b->v = p;
		b->cap = cap;
	}
	b->v[b->n++] = (struct probe_req){ prog, what, offset, cookie, retprobe };
}

static void keep_first(int *first, int err)
{
	if (err && !*first)
		*first = err;
}

/*
 * Places the batch: one multi-uprobe link per (program, return flag), in
 * the order the programs first appear, or one link per uprobe.  Returns 0
 * or the first error (what could be attached stays attached).
 */
static int batch_commit(struct capture *c, struct tls_target *t, const char *path,
			struct probe_batch *b)
{
	uint64_t *offsets = NULL, *cookies = NULL;
	bool *done = NULL;
	int first = b->err;

	if (!c->uprobe_multi) {
		for (size_t i = 0; i < b->n; i++) {
			int err = attach_one(t, b->v[i].prog, path, b->v[i].offset,
					     b->v[i].retprobe, b->v[i].cookie, b->v[i].what);

			keep_first(&first, err);
			if (!err)
				t->n_probes++;
		}
		return first;
	}
	offsets = calloc(b->n ? b->n : 1, sizeof(*offsets));
	cookies = calloc(b->n ? b->n : 1, sizeof(*cookies));
	done = calloc(b->n ? b->n : 1, sizeof(*done));
	if (!offsets || !cookies || !done) {
		first = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct probe_req *r = &b->v[i];
		size_t cnt = 0;
		int fd, err;

		if (done[i])
			continue;
		for (size_t j = i; j < b->n; j++) {
			if (done[j] || b->v[j].prog != r->prog || b->v[j].retprobe != r->retprobe)
				continue;
			offsets[cnt] = b->v[j].offset;
			cookies[cnt++] = b->v[j].cookie;
			done[j] = true;
		}
		fd = uprobe_multi_link(bpf_program__fd(r->prog), path, offsets, cookies, cnt,
				       r->retprobe);
		if (fd < 0) {
			log_error("failed to attach %s (%zu probes, %s...) to '%s': %s",
				  bpf_program__name(r->prog), cnt, r->what, t->desc, strerror(-fd));
			keep_first(&first, fd);
			continue;
		}
		err = target_add_fd(t, fd);
		if (err) {
			close(fd);
			keep_first(&first, err);
			continue;
		}
		t->n_probes += (unsigned)cnt;
	}
cleanup:
	free(offsets);
	free(cookies);
	free(done);
	return first;
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
static void attach_c_data(struct capture *c, struct tls_target *t, struct probe_batch *b,
			  int elf_fd, const struct elf_func *f, uint32_t probe)
{
	struct llmtap_bpf *s = c->skel;
	struct x86_func_exits ex;
	uint8_t *code = NULL;
	int nrets = 0;

	batch_add(b, s->progs.tls_data_enter, f->file_offset, false, probe, f->name);
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
		batch_add(b, s->progs.tls_data_return, f->file_offset, true, probe, f->name);
		return;
	}
	t->n_ret_insn++;
	for (int r = 0; r < nrets; r++)
		batch_add(b, s->progs.tls_data_ret_insn, f->file_offset + ex.ret_offsets[r], false,
			  probe | LT_COOKIE_AT_RET_INSN, f->name);
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
static int attach_go_data(struct capture *c, struct tls_target *t, struct probe_batch *b,
			  int elf_fd, const struct elf_func *f, uint32_t probe)
{
	struct llmtap_bpf *s = c->skel;
	struct x86_func_exits ex;
	uint8_t *code = read_func(elf_fd, f);
	int nrets;

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
	for (int r = 0; r < nrets; r++)
		batch_add(b, s->progs.go_tls_ret, f->file_offset + ex.ret_offsets[r], false,
			  probe | LT_COOKIE_AT_RET_INSN, f->name);
	batch_add(b, s->progs.go_tls_enter, f->file_offset, false, probe, f->name);
	t->n_ret_insn++;
	return 0;
}

/* An entry-only probe on an optional function (fd, SNI, end of connection). */
static void attach_entry(struct probe_batch *b, struct bpf_program *prog, const struct elf_func *f)
{
	if (f->found)
		batch_add(b, prog, f->file_offset, false, 0, f->name);
}

int attach_target(struct capture *c, struct tls_target *t, int elf_fd, const struct elf_func *funcs)
{
	struct llmtap_bpf *s = c->skel;
	struct probe_batch b = { 0 };
	char path[64];
	int first = 0;

	/* the kernel resolves the path at attach time: the pinned inode */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", t->fd);
	if (t->stacks & ATTACH_OPENSSL) {
		for (size_t i = 0; i < N_OF(openssl_data); i++)
			if (funcs[openssl_data[i].f].found)
				attach_c_data(c, t, &b, elf_fd, &funcs[openssl_data[i].f],
					      openssl_data[i].probe);
		attach_entry(&b, s->progs.tls_set_fd, &funcs[FN_SSL_SET_FD]);
		attach_entry(&b, s->progs.tls_ctrl, &funcs[FN_SSL_CTRL]);
		attach_entry(&b, s->progs.tls_free, &funcs[FN_SSL_FREE]);
	}
	if (t->stacks & ATTACH_GNUTLS) {
		for (size_t i = 0; i < N_OF(gnutls_data); i++)
			attach_c_data(c, t, &b, elf_fd, &funcs[gnutls_data[i].f],
				      gnutls_data[i].probe);
		attach_entry(&b, s->progs.tls_gnutls_sni, &funcs[FN_GNUTLS_SNI]);
		attach_entry(&b, s->progs.tls_free, &funcs[FN_GNUTLS_DEINIT]);
	}
	if (t->stacks & ATTACH_GO) {
		for (size_t i = 0; i < N_OF(go_data); i++)
			keep_first(&first, attach_go_data(c, t, &b, elf_fd, &funcs[go_data[i].f],
							  go_data[i].probe));
		attach_entry(&b, s->progs.go_tls_close, &funcs[FN_GO_CLOSE]);
	}
	keep_first(&first, batch_commit(c, t, path, &b));
	free(b.v);
	return first;
}
