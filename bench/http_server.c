// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A busy non-LLM service for the socket-hook benchmark: a single-threaded
 * epoll HTTP/1.1 server on 127.0.0.1:PORT answering every request on a
 * keep-alive connection with 200 and a 200-byte body (read + write per
 * request, like nginx's `return 200`).  Runs until killed.
 *
 *   http_server PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 256

static char body[201];

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN }, evs[MAX_EVENTS];
	char resp[512], buf[16384];
	int lfd, ep, one = 1, rlen;

	if (argc != 2)
		return 2;
	memset(body, 'x', sizeof(body) - 1);
	rlen = snprintf(resp, sizeof(resp),
			"HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Type: text/plain\r\n"
			"Content-Length: %zu\r\n\r\n%s",
			sizeof(body) - 1, body);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons((unsigned short)strtoul(argv[1], NULL, 10));
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 1024)) {
		perror("http_server: listen");
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			ssize_t r;

			if (fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

				if (c < 0)
					continue;
				setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				ev.data.fd = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				continue;
			}
			/* wrk's requests are small and never pipelined here: one read, one answer */
			r = read(fd, buf, sizeof(buf));
			if (r <= 0 || write(fd, resp, (size_t)rlen) != rlen) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
			}
		}
	}
}
