// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Load for the capacity benchmark: OpenAI-style streaming chat completions
 * (SSE, CHUNKS events, each its own SSL_write and HTTP chunk) over loopback
 * TLS, from PROCS client processes on keep-alive connections, paced at RATE
 * exchanges per second in total.
 *
 *   sse_load CERT KEY PROCS RATE SECONDS MARKER [CHUNKS]
 *
 * The server forks one process per connection.  MARKER is the request's
 * model name, so the records of this run can be told from others.  Prints
 * "exchanges N seconds S" (completed exchanges, elapsed time).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "sse_load: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void write_all(SSL *ssl, const char *p, size_t n)
{
	while (n) {
		int w = SSL_write(ssl, p, (int)n);

		if (w <= 0)
			die("SSL_write");
		p += w;
		n -= (size_t)w;
	}
}

/* Reads until the buffer holds end (a request head + body, or the last chunk). */
static int read_until(SSL *ssl, char *buf, size_t cap, size_t *have, const char *end, size_t extra)
{
	for (;;) {
		char *e = memmem(buf, *have, end, strlen(end));
		int r;

		if (e && (size_t)(e - buf) + strlen(end) + extra <= *have)
			return 0;
		if (*have == cap)
			return -1;
		r = SSL_read(ssl, buf + *have, (int)(cap - *have));
		if (r <= 0)
			return -1;
		*have += (size_t)r;
	}
}

static void serve(SSL *ssl, int chunks)
{
	static char buf[65536];
	char ev[512], out[640];

	for (;;) {
		size_t have = 0, n;
		const char *cl;

		if (read_until(ssl, buf, sizeof(buf) - 1, &have, "\r\n\r\n", 0))
			return;
		buf[have] = '\0';
		cl = strcasestr(buf, "Content-Length:");
		n = cl ? strtoul(cl + 15, NULL, 10) : 0;
		if (read_until(ssl, buf, sizeof(buf) - 1, &have, "\r\n\r\n", n))
			return;
		n = (size_t)snprintf(out, sizeof(out),
				     "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
				     "Transfer-Encoding: chunked\r\n\r\n");
		write_all(ssl, out, n);
		for (int i = 0; i <= chunks; i++) {
			int m;

			if (i < chunks)
				m = snprintf(
					ev, sizeof(ev),
					"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\","
					"\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":"
					"{\"content\":\"word%d \"}}]}\n\n",
					i % 100);
			else
				m = snprintf(ev, sizeof(ev),
					     "data: {\"id\":\"c\",\"choices\":[],\"usage\":"
					     "{\"prompt_tokens\":10,\"completion_tokens\":%d}}\n\n"
					     "data: [DONE]\n\n",
					     chunks);
			n = (size_t)snprintf(out, sizeof(out), "%x\r\n%s\r\n", m, ev);
			write_all(ssl, out, n);
		}
		write_all(ssl, "0\r\n\r\n", 5);
	}
}

static void server(int lfd, const char *cert, const char *key, int chunks)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int one = 1;

	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		die("server setup");
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		if (fork() == 0) {
			SSL *ssl = SSL_new(ctx);

			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			SSL_set_fd(ssl, fd);
			if (SSL_accept(ssl) == 1)
				serve(ssl, chunks);
			SSL_free(ssl);
			_exit(0);
		}
		close(fd);
	}
}

/* One client process: exchanges paced every `interval` seconds until `end`. */
static long client(const struct sockaddr_in *addr, double interval, double end, const char *marker)
{
	static char buf[1 << 20];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	char body[256], req[512];
	double next = now_s();
	long done = 0;
	size_t blen, rlen;
	SSL *ssl;

	if (!ctx || fd < 0 || connect(fd, (const struct sockaddr *)addr, sizeof(*addr)))
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, "localhost");
	if (SSL_connect(ssl) != 1)
		die("SSL_connect");
	blen = (size_t)snprintf(body, sizeof(body),
				"{\"model\":\"%s\",\"stream\":true,\"messages\":[{\"role\":"
				"\"user\",\"content\":\"count to two hundred\"}]}",
				marker);
	rlen = (size_t)snprintf(req, sizeof(req),
				"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
				"Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
				blen, body);
	while (now_s() < end) {
		size_t have = 0;
		double t = now_s();

		if (t < next) {
			struct timespec ts = { 0, (long)((next - t) * 1e9) };

			nanosleep(&ts, NULL);
			continue;
		}
		next += interval;
		write_all(ssl, req, rlen);
		if (read_until(ssl, buf, sizeof(buf), &have, "\r\n0\r\n\r\n", 0))
			die("response");
		done++;
	}
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	return done;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof(addr);
	int lfd, procs, chunks;
	double rate, seconds, t0, end;
	long *counts, total = 0;
	pid_t srv;

	if (argc < 7)
		die("usage: sse_load CERT KEY PROCS RATE SECONDS MARKER [CHUNKS]");
	procs = atoi(argv[3]);
	rate = strtod(argv[4], NULL);
	seconds = strtod(argv[5], NULL);
	chunks = argc > 7 ? atoi(argv[7]) : 200;
	if (procs < 1 || procs > 1024 || rate <= 0 || seconds <= 0 || chunks < 1)
		die("bad arguments");
	counts = mmap(NULL, sizeof(long) * (size_t)procs, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED)
		die("mmap");
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 1024) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen))
		die("listen");
	srv = fork();
	if (srv == 0)
		server(lfd, argv[1], argv[2], chunks);
	close(lfd);
	t0 = now_s();
	end = t0 + seconds;
	for (int i = 0; i < procs; i++) {
		if (fork() == 0) {
			counts[i] = client(&addr, procs / rate, end, argv[6]);
			_exit(0);
		}
	}
	for (int i = 0; i < procs; i++)
		wait(NULL);
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	for (int i = 0; i < procs; i++)
		total += counts[i];
	printf("exchanges %ld seconds %.3f\n", total, now_s() - t0);
	return 0;
}
