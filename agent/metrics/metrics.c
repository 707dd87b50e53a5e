// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "metrics/prom.h"

#define REQ_MAX 8192
#define CONN_MS 2000

struct metrics {
	int fd;
	int stop_pipe[2];
	uint16_t port;
	pthread_t thread;
	pthread_mutex_t mu;
	char *text;
	size_t len;
};

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		const uint8_t *a = in6->sin6_addr.s6_addr;

		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && a[12] == 127;
	}
	return false;
}

/* "host:port" or "[v6]:port" into host and port strings. */
static int split_listen(const char *listen, char *host, size_t hl, char *port, size_t pl)
{
	const char *colon, *h = listen;
	unsigned long v = 0;
	size_t n;

	if (listen[0] == '[') {
		const char *end = strchr(listen, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		h = listen + 1;
		n = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon || strchr(listen, ':') != colon)
			return -EINVAL;
		n = (size_t)(colon - listen);
	}
	if (!n || n >= hl || strlen(colon + 1) >= pl || !colon[1])
		return -EINVAL;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > 65535) /* at most pl - 1 digits: no overflow */
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void send_all(int fd, const char *p, size_t len, uint64_t deadline)
{
	while (len) {
		struct pollfd pfd = { fd, POLLOUT, 0 };
		uint64_t now = ms_now();
		ssize_t n;

		if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0)
			return;
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void respond(struct metrics *m, int fd, const char *req, uint64_t deadline)
{
	char head[256];
	const char *status = "404 Not Found", *ctype = "text/plain; charset=utf-8";
	const char *body = "not found\n";
	char *snap = NULL;
	size_t blen;
	bool head_only = strncmp(req, "HEAD ", 5) == 0;
	int n;

	if (strncmp(req, "GET ", 4) != 0 && !head_only) {
		status = "405 Method Not Allowed";
		body = "method not allowed\n";
	} else {
		const char *path = req + (head_only ? 5 : 4);

		if (strncmp(path, "/metrics", 8) == 0 && (path[8] == ' ' || path[8] == '?')) {
			pthread_mutex_lock(&m->mu);
			snap = malloc(m->len + 1);
			if (snap) {
				memcpy(snap, m->text ? m->text : "", m->len);
				snap[m->len] = '\0';
			}
			blen = m->len;
			pthread_mutex_unlock(&m->mu);
			if (snap) {
				status = "200 OK";
				ctype = PROM_CONTENT_TYPE;
				body = snap;
			} else {
				status = "503 Service Unavailable";
				body = "out of memory\n";
			}
		}
	}
	if (body != snap)
		blen = strlen(body);
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n",
		     status, ctype, blen);
	send_all(fd, head, (size_t)n, deadline);
	if (!head_only)
		send_all(fd, body, blen, deadline);
	free(snap);
}

static void serve(struct metrics *m, int fd)
{
	char req[REQ_MAX + 1];
	uint64_t deadline = ms_now() + CONN_MS;
	size_t len = 0;

	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint64_t now = ms_now();
		ssize_t n;

		if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0)
			return;
		n = recv(fd, req + len, REQ_MAX - len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return;
		len += (size_t)n;
		req[len] = '\0';
		/* the request line is all that matters; wait for the head's end */
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
		if (len == REQ_MAX) {
			static const char big[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
						  "Content-Length: 0\r\nConnection: close\r\n\r\n";

			send_all(fd, big, sizeof(big) - 1, deadline);
			return;
		}
	}
	respond(m, fd, req, deadline);
}

static void *metrics_thread(void *arg)
{
	struct metrics *m = arg;

	for (;;) {
		struct pollfd p[2] = { { m->fd, POLLIN, 0 }, { m->stop_pipe[0], POLLIN, 0 } };
		int c;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (p[1].revents)
			return NULL;
		if (!(p[0].revents & POLLIN))
			continue;
		c = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve(m, c);
		close(c);
	}
}

int metrics_open(const char *addr, struct metrics **out)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char host[256], port[8];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct metrics *m;
	int one = 1, err, fd = -1;

	*out = NULL;
	if (!addr || split_listen(addr, host, sizeof(host), port, sizeof(port)))
		return -EINVAL;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	hints.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
		return -EINVAL;
	if (!is_loopback(ai->ai_addr)) {
		freeaddrinfo(ai);
		return -EPERM;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		freeaddrinfo(ai);
		return err;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		err = -errno;
		freeaddrinfo(ai);
		close(fd);
		return err;
	}
	freeaddrinfo(ai);
	m = calloc(1, sizeof(*m));
	if (!m) {
		close(fd);
		return -ENOMEM;
	}
	m->fd = fd;
	m->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
						  ((struct sockaddr_in6 *)&ss)->sin6_port);
	pthread_mutex_init(&m->mu, NULL);
	if (pipe2(m->stop_pipe, O_CLOEXEC) != 0) {
		err = -errno;
		goto fail;
	}
	if (pthread_create(&m->thread, NULL, metrics_thread, m) != 0) {
		err = -EAGAIN;
		close(m->stop_pipe[0]);
		close(m->stop_pipe[1]);
		goto fail;
	}
	*out = m;
	return 0;
fail:
	pthread_mutex_destroy(&m->mu);
	close(fd);
	free(m);
	return err;
}

void metrics_publish(struct metrics *m, const char *text, size_t len)
{
	char *copy = malloc(len + 1);

	if (!copy)
		return; /* the previous snapshot stays */
	memcpy(copy, text, len);
	copy[len] = '\0';
	pthread_mutex_lock(&m->mu);
	free(m->text);
	m->text = copy;
	m->len = len;
	pthread_mutex_unlock(&m->mu);
}

uint16_t metrics_port(const struct metrics *m)
{
	return m->port;
}

void metrics_close(struct metrics *m)
{
	if (!m)
		return;
	if (write(m->stop_pipe[1], "x", 1) < 0) {
		/* the pipe is ours and empty: cannot fail */
	}
	pthread_join(m->thread, NULL);
	close(m->stop_pipe[0]);
	close(m->stop_pipe[1]);
	close(m->fd);
	pthread_mutex_destroy(&m->mu);
	free(m->text);
	free(m);
}
