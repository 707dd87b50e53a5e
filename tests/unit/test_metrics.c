// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The /metrics endpoint over a real socket, and the text rendering. */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "metrics/prom.h"
#include "test.h"

/* One request; the whole answer in out (NUL-terminated). */
static int fetch(uint16_t port, const char *req, char *out, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	size_t have = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		return -1;
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return -1;
	while (have < len - 1 && (n = read(fd, out + have, len - 1 - have)) > 0)
		have += (size_t)n;
	out[have] = '\0';
	close(fd);
	return 0;
}

TEST(metrics_endpoint_serves_snapshot)
{
	struct metrics *m = NULL;
	char resp[4096];
	static const char snap1[] = "# TYPE llmtap_x counter\nllmtap_x 1\n";
	static const char snap2[] = "llmtap_x 2\n";

	ASSERT_EQ(metrics_open("127.0.0.1:0", &m), 0);
	ASSERT_TRUE(metrics_port(m) != 0);
	metrics_publish(m, snap1, strlen(snap1));
	ASSERT_EQ(fetch(metrics_port(m), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", resp,
			sizeof(resp)),
		  0);
	ASSERT_TRUE(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0);
	ASSERT_TRUE(strstr(resp, "Content-Type: text/plain; version=0.0.4") != NULL);
	ASSERT_TRUE(strstr(resp, "Content-Length: 35\r\n") != NULL);
	ASSERT_TRUE(strstr(resp, "\r\n\r\n# TYPE llmtap_x counter\nllmtap_x 1\n") != NULL);
	metrics_publish(m, snap2, strlen(snap2));
	ASSERT_EQ(fetch(metrics_port(m), "GET /metrics?x=1 HTTP/1.0\r\n\r\n", resp, sizeof(resp)),
		  0);
	ASSERT_TRUE(strstr(resp, "\r\n\r\nllmtap_x 2\n") != NULL);
	ASSERT_EQ(fetch(metrics_port(m), "GET /other HTTP/1.1\r\n\r\n", resp, sizeof(resp)), 0);
	ASSERT_TRUE(strncmp(resp, "HTTP/1.1 404", 12) == 0);
	ASSERT_EQ(fetch(metrics_port(m), "POST /metrics HTTP/1.1\r\n\r\n", resp, sizeof(resp)), 0);
	ASSERT_TRUE(strncmp(resp, "HTTP/1.1 405", 12) == 0);
	metrics_close(m);
}

TEST(metrics_listen_addresses)
{
	struct metrics *m = NULL;

	ASSERT_EQ(metrics_open("0.0.0.0:0", &m), -EPERM);
	ASSERT_EQ(metrics_open("10.1.2.3:9464", &m), -EPERM);
	ASSERT_EQ(metrics_open("127.0.0.1", &m), -EINVAL);
	ASSERT_EQ(metrics_open("127.0.0.1:99999", &m), -EINVAL);
	ASSERT_EQ(metrics_open("127.0.0.1:x", &m), -EINVAL);
	ASSERT_EQ(metrics_open("::1:9464", &m), -EINVAL);
	ASSERT_EQ(metrics_open("localhost:0", &m), 0);
	metrics_close(m);
	m = NULL;
	/* IPv6 loopback, when the host has it */
	if (metrics_open("[::1]:0", &m) == 0)
		metrics_close(m);
	metrics_close(NULL);
}

TEST(metrics_prom_render)
{
	struct dynbuf b;
	const char *labels[] = { "rule", "a\"b\\c\nd", "output", NULL, NULL };

	dynbuf_init(&b, 4096);
	ASSERT_EQ(prom_header(&b, "llmtap_alerts_total", "counter", "Alerts by rule."), 0);
	ASSERT_EQ(prom_u64(&b, "llmtap_alerts_total", labels, 18446744073709551615ull), 0);
	ASSERT_EQ(prom_f64(&b, "llmtap_up", NULL, 1.5), 0);
	ASSERT_STREQ(b.buf, "# HELP llmtap_alerts_total Alerts by rule.\n"
			    "# TYPE llmtap_alerts_total counter\n"
			    "llmtap_alerts_total{rule=\"a\\\"b\\\\c\\nd\",output=\"\"} "
			    "18446744073709551615\n"
			    "llmtap_up 1.5\n");
	dynbuf_free(&b);
}
