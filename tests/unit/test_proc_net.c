// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>

#include "capture/proc_net.h"
#include "test.h"

struct seen {
	struct proc_net_sock s[8];
	int n;
	int stop_after;
};

static int collect_sock(const struct proc_net_sock *s, void *ctx)
{
	struct seen *v = ctx;

	if (v->n < 8)
		v->s[v->n] = *s;
	v->n++;
	return v->stop_after && v->n == v->stop_after ? 7 : 0;
}

static const char tcp4[] =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	"timeout inode\n"
	"   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        "
	"0 107 1 000000001458dc5f 100 0 0 10 0\n"
	"   1: 0100007F:1F40 0100007F:B1A7 01 00000000:00000000 00:00000000 00000000  1000        "
	"0 123456 1 0000000000000000 20 4 30 10 -1\n"
	"   2: 0100007F:847E 0100007F:B1A7 06 00000000:00000000 03:0000000A 00000000     0        "
	"0 0 3 00000000162bc354\n";

static const char tcp6[] =
	"  sl  local_address                         remote_address                        st "
	"tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	"   0: 00000000000000000000000001000000:2CAA 00000000000000000000000001000000:D431 01 "
	"00000000:00000000 00:00000000 00000000     0        0 99887766 1 0000000000000000 20 4 "
	"1 10 -1\n";

TEST(proc_net_parses_ipv4_lines)
{
	struct seen v = { 0 };

	ASSERT_EQ(proc_net_tcp_parse(tcp4, strlen(tcp4), collect_sock, &v), 0);
	/* the TIME_WAIT line has inode 0: no socket to match, skipped */
	ASSERT_EQ(v.n, 2);
	ASSERT_UEQ(v.s[0].inode, 107);
	ASSERT_UEQ(v.s[0].local_port, 8000);
	ASSERT_UEQ(v.s[0].state, 0x0a);
	ASSERT_UEQ(v.s[1].inode, 123456);
	ASSERT_UEQ(v.s[1].local_port, 8000);
	ASSERT_UEQ(v.s[1].peer_port, 0xb1a7);
	ASSERT_UEQ(v.s[1].state, PROC_NET_TCP_ESTABLISHED);
}

TEST(proc_net_parses_ipv6_lines)
{
	struct seen v = { 0 };

	ASSERT_EQ(proc_net_tcp_parse(tcp6, strlen(tcp6), collect_sock, &v), 0);
	ASSERT_EQ(v.n, 1);
	ASSERT_UEQ(v.s[0].inode, 99887766);
	ASSERT_UEQ(v.s[0].local_port, 11434);
	ASSERT_UEQ(v.s[0].peer_port, 0xd431);
}

TEST(proc_net_skips_malformed_lines)
{
	static const char *const bad[] = {
		"hdr\n   0: 0100007F:1F40 0100007F:B1A7 01\n", /* truncated */
		"hdr\n   0: 0100007G:1F40 0100007F:B1A7 01 0:0 0:0 0 0 0 5\n", /* bad hex */
		"hdr\n   0: 01007F:1F40 0100007F:B1A7 01 0:0 0:0 0 0 0 5\n", /* short address */
		"hdr\n   0: 0100007F:1F40 0100007F:B1A7 01 0:0 0:0 0 0 0 99999999999999999999\n",
		"hdr\n   0: 0100007F:1F40 0100007F:B1A7 01 0:0 0:0 0 0 0 12x\n",
		"hdr\n   x: 0100007F:1F40 0100007F:B1A7 01 0:0 0:0 0 0 0 5\n",
		"hdr\n0100007F:1F40",
		"",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct seen v = { 0 };

		ASSERT_EQ(proc_net_tcp_parse(bad[i], strlen(bad[i]), collect_sock, &v), 0);
		if (v.n != 0)
			test_fail_at(__FILE__, __LINE__, "case %zu parsed %d sockets", i, v.n);
	}
}

TEST(proc_net_callback_stops_walk)
{
	struct seen v = { .stop_after = 1 };

	ASSERT_EQ(proc_net_tcp_parse(tcp4, strlen(tcp4), collect_sock, &v), 7);
	ASSERT_EQ(v.n, 1);
}
