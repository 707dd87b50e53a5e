// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Loads bench/empty_probe.bpf.o and attaches its empty programs until
 * SIGTERM/SIGINT, then prints "ready" once everything is attached:
 *
 *   empty_probe OBJ ssl LIBSSL   uprobe + uretprobe on SSL_write, SSL_read,
 *                                SSL_write_ex, SSL_read_ex of LIBSSL
 *   empty_probe OBJ syscalls     the read/write-family syscall tracepoints
 *                                llmtap's socket hooks use (entry and exit)
 *   empty_probe OBJ raw          raw_tp sys_enter + sys_exit (every syscall)
 *
 * (fentry/fexit and kprobes, other designs' floors, are refused on the VM
 * these figures come from.)
 */
#include <bpf/libbpf.h>
#include <stdbool.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const ssl_funcs[] = { "SSL_write", "SSL_read", "SSL_write_ex", "SSL_read_ex" };
static const char *const syscalls[] = { "write",  "read",  "sendto",  "recvfrom",
					"writev", "readv", "sendmsg", "recvmsg" };

#define MAX_LINKS 32

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int attach_ssl(struct bpf_object *obj, const char *lib, struct bpf_link **links, int *n)
{
	struct bpf_program *enter = bpf_object__find_program_by_name(obj, "empty_enter");
	struct bpf_program *ret = bpf_object__find_program_by_name(obj, "empty_return");

	if (!enter || !ret)
		return -ENOENT;
	for (size_t i = 0; i < sizeof(ssl_funcs) / sizeof(ssl_funcs[0]); i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = ssl_funcs[i]);

		o.retprobe = false;
		links[(*n)++] = bpf_program__attach_uprobe_opts(enter, -1, lib, 0, &o);
		o.retprobe = true;
		links[(*n)++] = bpf_program__attach_uprobe_opts(ret, -1, lib, 0, &o);
		if (!links[*n - 2] || !links[*n - 1])
			return -errno;
	}
	return 0;
}

static int attach_syscalls(struct bpf_object *obj, struct bpf_link **links, int *n)
{
	struct bpf_program *tp = bpf_object__find_program_by_name(obj, "empty_tp");
	char name[64];

	if (!tp)
		return -ENOENT;
	for (size_t i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++) {
		for (int exit = 0; exit < 2; exit++) {
			snprintf(name, sizeof(name), "sys_%s_%s", exit ? "exit" : "enter",
				 syscalls[i]);
			links[(*n)++] = bpf_program__attach_tracepoint(tp, "syscalls", name);
			if (!links[*n - 1])
				return -errno;
		}
	}
	return 0;
}

/* Loads only the programs of mode (the others may need what this kernel lacks). */
static int load(struct bpf_object *obj, const char *mode)
{
	static const struct {
		const char *prefix, *mode;
	} owner[] = { { "empty_enter", "ssl" },
		      { "empty_return", "ssl" },
		      { "empty_tp", "syscalls" },
		      { "empty_raw", "raw" } };
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj)
	{
		bool on = false;

		for (size_t i = 0; i < sizeof(owner) / sizeof(owner[0]); i++)
			if (strncmp(bpf_program__name(p), owner[i].prefix,
				    strlen(owner[i].prefix)) == 0)
				on = strcmp(owner[i].mode, mode) == 0;
		bpf_program__set_autoload(p, on);
	}
	return bpf_object__load(obj);
}

/* Attaches every loaded program where its section says (raw_tp). */
static int attach_auto(struct bpf_object *obj, struct bpf_link **links, int *n)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj)
	{
		if (!bpf_program__autoload(p))
			continue;
		if (*n >= MAX_LINKS)
			return -E2BIG;
		links[(*n)++] = bpf_program__attach(p);
		if (!links[*n - 1])
			return -errno;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_link *links[MAX_LINKS] = { 0 };
	struct bpf_object *obj;
	int n = 0, err;

	if (argc < 3 || (strcmp(argv[2], "ssl") == 0 && argc != 4)) {
		fprintf(stderr, "usage: empty_probe OBJ ssl LIBSSL | empty_probe OBJ "
				"syscalls|raw\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || load(obj, argv[2])) {
		fprintf(stderr, "empty_probe: cannot load %s\n", argv[1]);
		return 1;
	}
	if (strcmp(argv[2], "ssl") == 0)
		err = attach_ssl(obj, argv[3], links, &n);
	else if (strcmp(argv[2], "syscalls") == 0)
		err = attach_syscalls(obj, links, &n);
	else
		err = attach_auto(obj, links, &n);
	if (err) {
		fprintf(stderr, "empty_probe: attach failed: %s\n", strerror(-err));
		goto cleanup;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready %d links\n", n);
	fflush(stdout);
	while (!stop)
		sleep(1); /* a signal cuts it short */
cleanup:
	for (int i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	return err ? 1 : 0;
}
