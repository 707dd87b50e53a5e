// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Skeleton lifecycle: privileges, open -> knobs -> load -> attach
 * (every link checked), ring buffers, counters.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "llmtap.skel.h"
#include "internal.h"
#include "util/log.h"

#define CAP_CHECK_BPF 39
#define CAP_CHECK_PERFMON 38

static bool cap_has(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

void capture_missing_caps(char *out, size_t out_size)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = {};
	bool admin;

	out[0] = '\0';
	if (syscall(SYS_capget, &h, d) != 0) {
		snprintf(out, out_size, "(capget failed: %s)", strerror(errno));
		return;
	}
	/* CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON */
	admin = cap_has(d, CAP_SYS_ADMIN);
	if (!admin && !cap_has(d, CAP_CHECK_BPF))
		strncat(out, "CAP_BPF ", out_size - strlen(out) - 1);
	if (!admin && !cap_has(d, CAP_CHECK_PERFMON))
		strncat(out, "CAP_PERFMON ", out_size - strlen(out) - 1);
	if (!cap_has(d, CAP_SYS_PTRACE))
		strncat(out, "CAP_SYS_PTRACE ", out_size - strlen(out) - 1);
	if (!cap_has(d, CAP_DAC_READ_SEARCH) && !cap_has(d, CAP_DAC_OVERRIDE))
		strncat(out, "CAP_DAC_READ_SEARCH ", out_size - strlen(out) - 1);
	if (out[0])
		out[strlen(out) - 1] = '\0';
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!log_verbose)
		return 0;
	fputs("llmtap: libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

/* Attach thread: a file some process just exec'd or mapped executable. */
static int on_ctl_event(void *ctx, void *data, size_t size)
{
	struct capture *c = ctx;

	if (size < sizeof(struct lt_file_event))
		return 0;
	targets_on_file_event(c, data);
	return 0;
}

/*
 * The attach thread serves only the control ring, so a thread held while
 * its new library is inspected waits for that work alone, never behind a
 * backlog of payload parsing on the main thread.
 */
static void *attach_thread_main(void *arg)
{
	struct capture *c = arg;

	while (!atomic_load(&c->stop)) {
		int n = ring_buffer__poll(c->rb_ctl, 200);

		if (n < 0 && n != -EINTR) {
			log_error("control ring buffer: %s", strerror(-n));
			break;
		}
	}
	return NULL;
}

static int on_data_event(void *ctx, void *data, size_t size)
{
	struct capture *c = ctx;

	return c->cb(c->cb_ctx, data, size);
}

/*
 * The syscall programs: two BTF-typed raw tracepoints (tp_btf sys_enter and
 * sys_exit) dispatching on the syscall number, so no tracefs is needed and
 * other syscalls pay one bit test.
 */
static struct bpf_program **syscall_progs(struct llmtap_bpf *s, size_t *n)
{
	static struct bpf_program *progs[4];
	size_t k = 0;

	/* entry: executable mmap, the fd of TLS calls, and plaintext capture
	 * (sock_track) */
	progs[k++] = s->progs.sock_sys_enter;
	/* plaintext capture only: accept and the read/write family's exits */
	progs[k++] = s->progs.sock_sys_exit;
	*n = k;
	return progs;
}

/* Selects the server ports whose TCP connections are always captured. */
static int set_sock_ports(struct capture *c, const struct capture_opts *o)
{
	int fd = bpf_map__fd(c->skel->maps.sock_ports);
	uint8_t one = 1;

	for (size_t i = 0; i < o->n_sock_ports; i++)
		if (bpf_map_update_elem(fd, &o->sock_ports[i], &one, BPF_ANY))
			return -errno;
	return 0;
}

/* Attaches the always-on programs (syscalls when loaded, process lifecycle). */
static int attach_static(struct capture *c)
{
	size_t n_sys;
	struct bpf_program **sys = syscall_progs(c->skel, &n_sys);
	struct bpf_program *progs[32];
	struct bpf_link *l;
	size_t n = 0;

	progs[n++] = c->skel->progs.proc_exec;
	progs[n++] = c->skel->progs.proc_exit;
	for (size_t i = 0; i < n_sys; i++)
		if (bpf_program__autoload(sys[i]))
			progs[n++] = sys[i];
	for (size_t i = 0; i < n; i++) {
		l = bpf_program__attach(progs[i]);
		if (!l) {
			int err = -errno;

			log_error("failed to attach '%s': %s", bpf_program__name(progs[i]),
				  strerror(-err));
			return err;
		}
		if (c->n_static_links == sizeof(c->static_links) / sizeof(c->static_links[0])) {
			bpf_link__destroy(l);
			return -E2BIG;
		}
		c->static_links[c->n_static_links++] = l;
	}
	return 0;
}

int capture_open(const struct capture_opts *opts, capture_event_cb cb, void *cb_ctx,
		 struct capture **out)
{
	char missing[128];
	struct capture *c;
	int err;

	*out = NULL;
	capture_missing_caps(missing, sizeof(missing));
	if (missing[0]) {
		log_error("missing privileges: %s (run as root)", missing);
		return -EPERM;
	}
	libbpf_set_print(libbpf_print);

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cb = cb;
	c->cb_ctx = cb_ctx;
	c->opts = *opts;
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus <= 0) {
		err = c->ncpus ? c->ncpus : -EINVAL;
		goto cleanup;
	}

	c->skel = llmtap_bpf__open();
	if (!c->skel) {
		err = -errno;
		log_error("failed to open the BPF object: %s", strerror(-err));
		goto cleanup;
	}
	if (c->skel->rodata->abi_version != LLMTAP_ABI_VERSION) {
		log_error("BPF object ABI %u, agent ABI %u: rebuild", c->skel->rodata->abi_version,
			  LLMTAP_ABI_VERSION);
		err = -EINVAL;
		goto cleanup;
	}
	if (opts->no_sockets) {
		c->skel->rodata->sock_track = 0;
		bpf_program__set_autoload(c->skel->progs.sock_sys_exit, false);
	}
	c->skel->rodata->sock_classify = !opts->no_sock_classify;
	c->skel->rodata->agent_tgid = (uint32_t)getpid();
	c->skel->rodata->call_cap = opts->call_cap ? opts->call_cap : LT_CALL_CAP_DEFAULT;
	if (opts->ringbuf_bytes) {
		err = bpf_map__set_max_entries(c->skel->maps.events, opts->ringbuf_bytes);
		if (err)
			goto cleanup;
		c->skel->rodata->wakeup_bytes = opts->ringbuf_bytes / 4;
	}
	attach_prepare(c);
	err = llmtap_bpf__load(c->skel);
	if (err) {
		log_error("failed to load the BPF programs: %s%s", strerror(-err),
			  log_verbose ? "" : " (--verbose shows the verifier log)");
		goto cleanup;
	}
	err = set_sock_ports(c, opts);
	if (err) {
		log_error("cannot select socket ports: %s", strerror(-err));
		goto cleanup;
	}
	err = attach_static(c);
	if (err)
		goto cleanup;

	c->rb_ctl = ring_buffer__new(bpf_map__fd(c->skel->maps.ctl_events), on_ctl_event, c, NULL);
	c->rb_data = ring_buffer__new(bpf_map__fd(c->skel->maps.events), on_data_event, c, NULL);
	if (!c->rb_ctl || !c->rb_data) {
		err = -errno;
		goto cleanup;
	}

	/* After the exec/mmap hooks are live, so nothing started meanwhile is
	 * missed.  The loader cache first: the system's libssl is then covered
	 * before any process maps it. */
	err = targets_scan_ld_cache(c, "/etc/ld.so.cache");
	if (err < 0)
		log_warn("cannot read /etc/ld.so.cache: %s", strerror(-err));
	err = targets_scan_proc(c);
	if (err)
		goto cleanup;
	/* after attach: a connection opened meanwhile is already tracked (NOEXIST) */
	err = sockets_adopt_existing(c);
	if (err < 0)
		log_warn("cannot adopt open plaintext connections: %s", strerror(-err));
	else if (err > 0)
		log_info("tracking %d plaintext connections opened before start-up", err);
	err = -pthread_create(&c->attach_thread, NULL, attach_thread_main, c);
	if (err)
		goto cleanup;
	c->attach_thread_started = true;
	*out = c;
	return 0;
cleanup:
	capture_close(c);
	return err;
}

int capture_poll(struct capture *c, int timeout_ms)
{
	int n = ring_buffer__poll(c->rb_data, timeout_ms);

	if (n < 0 && n != -EINTR)
		return n;
	/* Data events are produced without wake-ups (batching): drain on every tick. */
	n = ring_buffer__consume(c->rb_data);
	return n < 0 && n != -EINTR ? n : 0;
}

int capture_set_ignore(struct capture *c, uint32_t pid, uint64_t ssl, uint64_t gen)
{
	struct lt_conn_key key = { .pid = pid, .ssl = ssl };
	struct lt_conn_state st;
	int fd = bpf_map__fd((ssl & LT_SOCK_KEY_BIT) ? c->skel->maps.sock_conns :
						       c->skel->maps.conns);

	if (bpf_map_lookup_elem(fd, &key, &st))
		return -ENOENT;
	if (st.gen != gen)
		return -ESTALE;
	/* Racy with the kernel's own updates of pos[], which only user space
	 * reads for statistics; the flag is what matters. */
	st.flags |= LT_CONN_F_IGNORE;
	return bpf_map_update_elem(fd, &key, &st, BPF_EXIST) ? -errno : 0;
}

int capture_read_stats(struct capture *c, struct lt_probe_stats *ps, uint64_t *cnt)
{
	struct lt_probe_stats *pcpu = calloc((size_t)c->ncpus, sizeof(*pcpu));
	uint64_t *vals = calloc((size_t)c->ncpus, sizeof(*vals));
	int err = 0;

	if (!pcpu || !vals) {
		err = -ENOMEM;
		goto cleanup;
	}
	memset(ps, 0, sizeof(*ps) * LT_PROBE_MAX);
	memset(cnt, 0, sizeof(*cnt) * LT_CNT_MAX);
	for (uint32_t k = 0; k < LT_PROBE_MAX; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.probe_stats), &k, pcpu))
			continue;
		for (int i = 0; i < c->ncpus; i++) {
			const uint64_t *src = (const uint64_t *)&pcpu[i];
			uint64_t *dst = (uint64_t *)&ps[k];

			for (size_t f = 0; f < sizeof(*ps) / sizeof(uint64_t); f++)
				dst[f] += src[f];
		}
	}
	for (uint32_t k = 0; k < LT_CNT_MAX; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.counters), &k, vals))
			continue;
		for (int i = 0; i < c->ncpus; i++)
			cnt[k] += vals[i];
	}
cleanup:
	free(pcpu);
	free(vals);
	return err;
}

size_t capture_n_targets(const struct capture *c)
{
	return atomic_load(&((struct capture *)c)->n_targets_pub);
}

void capture_get_stats(struct capture *c, struct capture_stats *out)
{
	out->holds = atomic_load(&c->holds);
	out->hold_failures = atomic_load(&c->hold_failures);
	out->files_inspected = atomic_load(&c->files_inspected);
	out->seen_resets = atomic_load(&c->seen_resets);
	out->targets_refused = atomic_load(&c->targets_refused);
}

void capture_close(struct capture *c)
{
	if (!c)
		return;
	atomic_store(&c->stop, true);
	if (c->attach_thread_started)
		pthread_join(c->attach_thread, NULL);
	ring_buffer__free(c->rb_ctl);
	ring_buffer__free(c->rb_data);
	for (size_t i = 0; i < c->n_static_links; i++)
		bpf_link__destroy(c->static_links[i]);
	targets_free(c);
	llmtap_bpf__destroy(c->skel);
	free(c);
}
