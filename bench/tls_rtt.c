// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TLS round-trip micro-benchmark: an OpenSSL client and server (two
 * processes) over loopback exchange HTTP/1.1 requests and responses of a
 * given body size on one keep-alive connection, and the client prints the
 * median microseconds per round trip and the CPU microseconds per round trip
 * of both processes (user + system, the loop only: what probes cost the
 * traced process, whatever else the machine runs).
 *
 *   tls_rtt CERT KEY BODY_BYTES ROUNDS PATH
 *
 * PATH decides how llmtap sees the traffic: /v1/chat/completions is LLM
 * traffic (captured), anything else is not (ignored in the kernel).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "tls_rtt: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Reads one HTTP message with a Content-Length body of n bytes. */
static void read_msg(SSL *ssl, char *buf, size_t cap, size_t n)
{
	size_t have = 0, need = 0;

	for (;;) {
		int r = SSL_read(ssl, buf + have, (int)(cap - have));
		char *end;

		if (r <= 0)
			die("SSL_read");
		have += (size_t)r;
		if (!need && (end = memmem(buf, have, "\r\n\r\n", 4)))
			need = (size_t)(end - buf) + 4 + n;
		if (need && have >= need)
			return;
	}
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

/* CPU seconds (user + system) this process used so far. */
static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof(addr);
	size_t body, rounds, hlen, cap;
	int lfd, one = 1;
	char *msg, *buf, head[256];
	double *lat, *server_cpu, cpu0;
	pid_t child;

	if (argc != 6)
		die("usage: tls_rtt CERT KEY BODY_BYTES ROUNDS PATH");
	body = strtoul(argv[3], NULL, 10);
	rounds = strtoul(argv[4], NULL, 10);
	if (!body || !rounds || body > (64u << 20))
		die("bad sizes");
	cap = body + 4096;
	msg = malloc(cap);
	buf = malloc(cap);
	lat = calloc(rounds, sizeof(*lat));
	server_cpu = mmap(NULL, sizeof(double), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			  -1, 0);
	if (!msg || !buf || !lat || server_cpu == MAP_FAILED)
		die("out of memory");

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen))
		die("listen");

	child = fork();
	if (child == 0) { /* server: answers each request with a body of the same size */
		SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
		int fd = accept(lfd, NULL, NULL);
		SSL *ssl;

		if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, argv[1]) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, argv[2], SSL_FILETYPE_PEM) != 1 || fd < 0)
			die("server setup");
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) != 1)
			die("SSL_accept");
		hlen = (size_t)snprintf(head, sizeof(head),
					"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					"Content-Length: %zu\r\n\r\n",
					body);
		memcpy(msg, head, hlen);
		memset(msg + hlen, 'r', body);
		cpu0 = cpu_s();
		for (size_t i = 0; i < rounds; i++) {
			read_msg(ssl, buf, cap, body);
			write_all(ssl, msg, hlen + body);
		}
		*server_cpu = cpu_s() - cpu0;
		SSL_shutdown(ssl);
		SSL_free(ssl);
		_exit(0);
	}
	close(lfd);
	{
		SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		SSL *ssl;

		if (!ctx || fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
			die("connect");
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, fd);
		SSL_set_tlsext_host_name(ssl, "localhost");
		if (SSL_connect(ssl) != 1)
			die("SSL_connect");
		hlen = (size_t)snprintf(
			head, sizeof(head),
			"POST %s HTTP/1.1\r\nHost: localhost\r\n"
			"Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			argv[5], body);
		memcpy(msg, head, hlen);
		memset(msg + hlen, 'q', body);
		cpu0 = cpu_s();
		for (size_t i = 0; i < rounds; i++) {
			double t0 = now_us();

			write_all(ssl, msg, hlen + body);
			read_msg(ssl, buf, cap, body);
			lat[i] = now_us() - t0;
		}
		cpu0 = cpu_s() - cpu0;
		SSL_shutdown(ssl);
		SSL_free(ssl);
		SSL_CTX_free(ctx);
		close(fd);
	}
	waitpid(child, NULL, 0);
	qsort(lat, rounds, sizeof(*lat), cmp_double);
	printf("%.2f %.3f\n", lat[rounds / 2], (cpu0 + *server_cpu) * 1e6 / rounds);
	return 0;
}
