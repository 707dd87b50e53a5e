// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Plain TCP round-trip micro-benchmark: a client and a server (two
 * processes) on loopback exchange messages of a given body size on one
 * connection; the client prints the median microseconds per round trip.
 *
 *   plain_rtt PORT BODY_BYTES ROUNDS PATH
 *
 * PORT 0 picks a free port (not one llmtap selects by default).  PATH is the
 * HTTP/1.1 request target (/v1/chat/completions is LLM traffic, anything
 * else is not); PATH "raw" sends binary messages that are not HTTP, which
 * llmtap declines at the first bytes: the cost every other socket pays.
 * PATH "raw1" does the same in one thread (both ends of the connection in
 * one process, no sleeping): the time is the syscalls' own, without the
 * wake-up latency that dominates (and varies) across processes.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Reads one message of head_len + n bytes (the head length is found for HTTP). */
static void read_msg(int fd, char *buf, size_t cap, size_t n, int http)
{
	size_t have = 0, need = http ? 0 : n;

	for (;;) {
		ssize_t r = read(fd, buf + have, cap - have);
		char *end;

		if (r <= 0)
			die("read");
		have += (size_t)r;
		if (!need && (end = memmem(buf, have, "\r\n\r\n", 4)))
			need = (size_t)(end - buf) + 4 + n;
		if (need && have >= need)
			return;
	}
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			die("write");
		p += w;
		n -= (size_t)w;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The message one side sends: an HTTP head + body, or body bytes alone. */
static size_t build(char *msg, const char *path, size_t body, int server)
{
	size_t hlen = 0;

	if (strcmp(path, "raw") != 0) {
		if (server)
			hlen = (size_t)sprintf(
				msg,
				"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				"Content-Length: %zu\r\n\r\n",
				body);
		else
			hlen = (size_t)sprintf(msg,
					       "POST %s HTTP/1.1\r\nHost: localhost\r\n"
					       "Content-Type: application/json\r\n"
					       "Content-Length: %zu\r\n\r\n",
					       path, body);
	}
	memset(msg + hlen, server ? 'r' : 'q', body);
	if (!hlen)
		msg[0] = '\0'; /* not an HTTP method, not TLS */
	return hlen + body;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof(addr);
	size_t body, rounds, cap, len;
	int lfd, one = 1, http;
	char *msg, *buf;
	double *lat;
	pid_t child;

	if (argc != 5)
		die("usage: plain_rtt PORT BODY_BYTES ROUNDS PATH|raw");
	addr.sin_port = htons((unsigned short)strtoul(argv[1], NULL, 10));
	body = strtoul(argv[2], NULL, 10);
	rounds = strtoul(argv[3], NULL, 10);
	http = strcmp(argv[4], "raw") != 0 && strcmp(argv[4], "raw1") != 0;
	if (!body || !rounds || body > (64u << 20) || strlen(argv[4]) > 200)
		die("bad arguments");
	cap = body + 4096;
	msg = malloc(cap);
	buf = malloc(cap);
	lat = calloc(rounds, sizeof(*lat));
	if (!msg || !buf || !lat)
		die("out of memory");

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen))
		die("listen");

	if (strcmp(argv[4], "raw1") == 0) {
		int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), sfd;

		if (cfd < 0 || connect(cfd, (struct sockaddr *)&addr, sizeof(addr)))
			die("connect");
		sfd = accept(lfd, NULL, NULL);
		if (sfd < 0)
			die("accept");
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		len = build(msg, "raw", body, 0);
		for (size_t i = 0; i < rounds; i++) {
			double t0 = now_us();

			/* loopback queues the bytes at the peer inside write() */
			write_all(cfd, msg, len);
			read_msg(sfd, buf, cap, body, 0);
			write_all(sfd, msg, len);
			read_msg(cfd, buf, cap, body, 0);
			lat[i] = now_us() - t0;
		}
		qsort(lat, rounds, sizeof(*lat), cmp_double);
		printf("%.2f\n", lat[rounds / 2]);
		return 0;
	}
	child = fork();
	if (child == 0) { /* server: answers each message with one of the same size */
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			die("accept");
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		len = build(msg, argv[4], body, 1);
		for (size_t i = 0; i < rounds; i++) {
			read_msg(fd, buf, cap, body, http);
			write_all(fd, msg, len);
		}
		close(fd);
		_exit(0);
	}
	close(lfd);
	{
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
			die("connect");
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		len = build(msg, argv[4], body, 0);
		for (size_t i = 0; i < rounds; i++) {
			double t0 = now_us();

			write_all(fd, msg, len);
			read_msg(fd, buf, cap, body, http);
			lat[i] = now_us() - t0;
		}
		close(fd);
	}
	waitpid(child, NULL, 0);
	qsort(lat, rounds, sizeof(*lat), cmp_double);
	printf("%.2f\n", lat[rounds / 2]);
	return 0;
}
