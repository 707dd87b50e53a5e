// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Plaintext connections open before the agent started (a gateway's
 * keep-alive pool to a local vLLM, a long-lived client of Ollama) were never
 * seen at connect or accept.  At start-up, every established TCP socket whose
 * local or peer port is selected is put in the kernel's `sock_conns` like a
 * new one: its first bytes are checked, then copied from that point on.
 * Sockets are matched to fds through each network namespace's
 * /proc/PID/net/tcp{,6} (read once per namespace) and /proc/PID/fd links.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "llmtap.skel.h"
#include "capture/proc_net.h"
#include "internal.h"

#define NET_FILE_MAX (8u << 20) /* /proc/net/tcp of a very busy namespace */
#define SOCK_SET_SLOTS 65536 /* power of two; at most half full */
#define NETNS_MAX 256

/* (network namespace, socket inode) pairs of selected established sockets. */
struct sock_set {
	uint64_t (*slots)[2];
	size_t n;
	uint64_t netns[NETNS_MAX];
	size_t n_netns;
	const struct capture_opts *opts;
	uint64_t cur_netns;
};

static size_t slot_of(uint64_t netns, uint64_t ino)
{
	return (size_t)(((ino ^ netns * 0x9e3779b97f4a7c15ull) * 0xff51afd7ed558ccdull) >> 48) &
	       (SOCK_SET_SLOTS - 1);
}

static bool set_has(const struct sock_set *s, uint64_t netns, uint64_t ino)
{
	for (size_t i = slot_of(netns, ino);; i = (i + 1) & (SOCK_SET_SLOTS - 1)) {
		if (s->slots[i][1] == 0)
			return false;
		if (s->slots[i][0] == netns && s->slots[i][1] == ino)
			return true;
	}
}

static bool port_selected(const struct capture_opts *o, uint16_t port)
{
	for (size_t i = 0; i < o->n_sock_ports; i++)
		if (o->sock_ports[i] == port)
			return true;
	return false;
}

static int add_sock(const struct proc_net_sock *ps, void *ctx)
{
	struct sock_set *s = ctx;
	size_t i;

	if (ps->state != PROC_NET_TCP_ESTABLISHED ||
	    (!port_selected(s->opts, ps->local_port) && !port_selected(s->opts, ps->peer_port)))
		return 0;
	if (s->n >= SOCK_SET_SLOTS / 2)
		return -E2BIG;
	for (i = slot_of(s->cur_netns, ps->inode); s->slots[i][1];
	     i = (i + 1) & (SOCK_SET_SLOTS - 1))
		if (s->slots[i][0] == s->cur_netns && s->slots[i][1] == ps->inode)
			return 0;
	s->slots[i][0] = s->cur_netns;
	s->slots[i][1] = ps->inode;
	s->n++;
	return 0;
}

/* Reads a whole /proc file (bounded); returns the length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		return -errno;
	while (len < cap) {
		ssize_t r = read(fd, buf + len, cap - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	return (ssize_t)len;
}

/* Loads the selected sockets of pid's network namespace, once per namespace. */
static int load_netns(struct sock_set *s, uint32_t pid, char *buf, uint64_t *netns)
{
	static const char *const files[] = { "tcp", "tcp6" };
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%u/ns/net", pid);
	if (stat(path, &st))
		return -errno;
	*netns = st.st_ino;
	for (size_t i = 0; i < s->n_netns; i++)
		if (s->netns[i] == *netns)
			return 0;
	if (s->n_netns == NETNS_MAX)
		return -E2BIG;
	s->netns[s->n_netns++] = *netns;
	s->cur_netns = *netns;
	for (size_t i = 0; i < 2; i++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%u/net/%s", pid, files[i]);
		n = read_small(path, buf, NET_FILE_MAX);
		if (n > 0)
			proc_net_tcp_parse(buf, (size_t)n, add_sock, s);
	}
	return 0;
}

/* Puts pid's selected sockets in the kernel map; returns how many. */
static int adopt_pid(struct capture *c, struct sock_set *s, uint32_t pid, uint64_t netns,
		     uint64_t *gen)
{
	int map = bpf_map__fd(c->skel->maps.sock_conns), n = 0;
	char path[64], link[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct lt_conn_state st = { .flags = LT_CONN_F_SOCK_BY_PORT |
						     LT_CONN_F_SOCK_PENDING };
		struct lt_conn_key key = { .pid = pid };
		unsigned long long ino;
		unsigned long fd;
		char *end;
		ssize_t len;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		errno = 0;
		fd = strtoul(de->d_name, &end, 10);
		if (errno || *end || fd > INT32_MAX)
			continue;
		snprintf(path, sizeof(path), "/proc/%u/fd/%lu", pid, fd);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "socket:[%llu]", &ino) != 1 || !set_has(s, netns, ino))
			continue;
		key.ssl = LT_SOCK_KEY(fd);
		st.fd = (int32_t)fd;
		/* generations from a range the kernel's counter never reaches */
		st.gen = (1ull << 62) | ++*gen;
		/* NOEXIST: a connection the kernel already tracks is newer than this scan */
		if (bpf_map_update_elem(map, &key, &st, BPF_NOEXIST) == 0)
			n++;
	}
	closedir(d);
	return n;
}

int sockets_adopt_existing(struct capture *c)
{
	struct sock_set s = { .opts = &c->opts };
	uint32_t self = (uint32_t)getpid();
	uint64_t gen = 0;
	struct dirent *de;
	char *buf = NULL;
	int total = 0;
	DIR *d = NULL;

	if (c->opts.no_sockets || c->opts.n_sock_ports == 0)
		return 0;
	s.slots = calloc(SOCK_SET_SLOTS, sizeof(*s.slots));
	buf = malloc(NET_FILE_MAX);
	d = opendir("/proc");
	if (!s.slots || !buf || !d) {
		total = d ? -ENOMEM : -errno;
		goto cleanup;
	}
	while ((de = readdir(d))) {
		unsigned long pid;
		uint64_t netns = 0;
		char *end;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		errno = 0;
		pid = strtoul(de->d_name, &end, 10);
		if (errno || *end || pid == 0 || pid > UINT32_MAX || pid == self)
			continue;
		/* processes come and go while we look: skip what vanished */
		if (load_netns(&s, (uint32_t)pid, buf, &netns))
			continue;
		total += adopt_pid(c, &s, (uint32_t)pid, netns, &gen);
	}
cleanup:
	if (d)
		closedir(d);
	free(buf);
	free(s.slots);
	return total;
}
