// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "test_sink_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

uint64_t tsrv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool stopping(struct tsrv *s)
{
	bool v;

	pthread_mutex_lock(&s->mu);
	v = s->stop;
	pthread_mutex_unlock(&s->mu);
	return v;
}

/* Reads at least need bytes into buf (cap); false on close, error or stop. */
static bool fill(struct tsrv *s, int fd, char *buf, size_t *have, size_t need, size_t cap)
{
	while (*have < need) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (stopping(s) || need > cap)
			return false;
		if (poll(&p, 1, 50) <= 0)
			continue;
		n = recv(fd, buf + *have, cap - *have, 0);
		if (n <= 0)
			return false;
		*have += (size_t)n;
	}
	return true;
}

static void header(const char *head, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);

	out[0] = '\0';
	for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *l = p + 2, *e = strstr(l, "\r\n");

		if (e && strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
			const char *v = l + nl + 1;

			while (*v == ' ')
				v++;
			snprintf(out, len, "%.*s", (int)(e - v), v);
			return;
		}
	}
}

static char *gunzip(const char *in, size_t len, size_t *out_len)
{
	z_stream z = { 0 };
	size_t cap = len * 4 + 1024;
	char *out = malloc(cap);
	int rc;

	if (!out || inflateInit2(&z, 15 + 16) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	for (;;) {
		z.next_out = (Bytef *)out + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		rc = inflate(&z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			break;
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			inflateEnd(&z);
			free(out);
			return NULL;
		}
		cap *= 2;
		out = realloc(out, cap);
	}
	*out_len = z.total_out;
	inflateEnd(&z);
	return out;
}

static void serve_conn(struct tsrv *s, int fd)
{
	static const size_t cap = 8 << 20;
	char *buf = malloc(cap + 1);
	size_t have = 0;

	while (buf) {
		char *end, clen[32], resp[1024], ra[32] = "";
		const char *reason = "OK";
		size_t head_len, body_len, dlen;
		char *body, *dec = NULL;
		int status;

		buf[have] = '\0';
		while (!(end = strstr(buf, "\r\n\r\n"))) {
			if (!fill(s, fd, buf, &have, have + 1, cap))
				goto out;
			buf[have] = '\0';
		}
		head_len = (size_t)(end - buf) + 4;
		end[2] = '\0';
		header(buf, "Content-Length", clen, sizeof(clen));
		body_len = (size_t)strtoul(clen, NULL, 10);
		if (!fill(s, fd, buf, &have, head_len + body_len, cap))
			goto out;
		body = buf + head_len;
		pthread_mutex_lock(&s->mu);
		sscanf(buf, "%*s %255s", s->path);
		header(buf, "Content-Type", s->ctype, sizeof(s->ctype));
		header(buf, "Authorization", s->auth, sizeof(s->auth));
		header(buf, "Content-Encoding", s->enc, sizeof(s->enc));
		header(buf, "X-Test", s->custom, sizeof(s->custom));
		dlen = body_len;
		if (strcmp(s->enc, "gzip") == 0) {
			dec = gunzip(body, body_len, &dlen);
			if (dec)
				body = dec;
		}
		if (s->requests < TSRV_MAX_REQ)
			s->req_ms[s->requests] = tsrv_now_ms();
		s->requests++;
		status = s->status ? s->status : 200;
		if (s->fail_503 > 0) {
			s->fail_503--;
			status = 503;
			if (s->retry_after >= 0)
				snprintf(ra, sizeof(ra), "Retry-After: %d\r\n", s->retry_after);
		} else if (s->reject_multi && memchr(body, '\n', dlen) &&
			   (char *)memchr(body, '\n', dlen) != body + dlen - 1) {
			status = 413;
		}
		if (status == 200) {
			s->bodies = realloc(s->bodies, s->len + dlen + 1);
			memcpy(s->bodies + s->len, body, dlen);
			s->len += dlen;
			s->bodies[s->len] = '\0';
		}
		reason = status == 200 ? "OK" : status == 503 ? "Service Unavailable" : "Error";
		snprintf(resp, sizeof(resp),
			 "HTTP/1.1 %d %s\r\n%sContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 status, reason, ra, status == 200 ? strlen(s->reply) : 0,
			 status == 200 ? s->reply : "");
		pthread_mutex_unlock(&s->mu);
		free(dec);
		if (send(fd, resp, strlen(resp), MSG_NOSIGNAL) < 0)
			goto out;
		memmove(buf, buf + head_len + body_len, have - head_len - body_len);
		have -= head_len + body_len;
	}
out:
	free(buf);
}

static void *tsrv_thread(void *arg)
{
	struct tsrv *s = arg;

	while (!stopping(s)) {
		struct pollfd p = { s->lfd, POLLIN, 0 };
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(s->lfd, NULL, NULL);
		if (c < 0)
			continue;
		serve_conn(s, c);
		close(c);
	}
	return NULL;
}

int tsrv_start(struct tsrv *s, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int one = 1;

	if (!s->inited) {
		pthread_mutex_init(&s->mu, NULL);
		s->retry_after = s->retry_after ? s->retry_after : -1;
		s->inited = true;
	}
	s->stop = false;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		return -errno;
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(port);
	if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->lfd, 16) != 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&a, &al) != 0) {
		int err = -errno;

		close(s->lfd);
		return err;
	}
	s->port = ntohs(a.sin_port);
	if (pthread_create(&s->thread, NULL, tsrv_thread, s) != 0) {
		close(s->lfd);
		return -EAGAIN;
	}
	s->running = true;
	return 0;
}

void tsrv_stop(struct tsrv *s)
{
	if (!s->running)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	close(s->lfd);
	s->running = false;
}

void tsrv_free(struct tsrv *s)
{
	tsrv_stop(s);
	free(s->bodies);
	s->bodies = NULL;
}

size_t tsrv_lines(struct tsrv *s)
{
	size_t n = 0;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->len; i++)
		n += s->bodies[i] == '\n';
	pthread_mutex_unlock(&s->mu);
	return n;
}

bool tsrv_wait_lines(struct tsrv *s, size_t n, int ms)
{
	uint64_t end = tsrv_now_ms() + (uint64_t)ms;

	while (tsrv_lines(s) < n) {
		if (tsrv_now_ms() > end)
			return false;
		usleep(5000);
	}
	return true;
}
