// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>

#include "llmtap_abi.h"
#include "stream/conn_table.h"
#include "stream/join.h"
#include "test.h"

struct sink {
	json_t *recs[16];
	int n;
};

static void collect(json_t *rec, void *ctx)
{
	struct sink *s = ctx;

	if (s->n < 16)
		s->recs[s->n++] = json_incref(rec);
}

static void sink_free(struct sink *s)
{
	for (int i = 0; i < s->n; i++)
		json_decref(s->recs[i]);
	s->n = 0;
}

/* A view of 127.0.0.1:client_port <-> 127.0.0.1:8000 from one end. */
static void loop_conn(struct conn *c, uint32_t pid, bool server, uint16_t client_port)
{
	static const uint8_t lo[4] = { 127, 0, 0, 1 };

	memset(c, 0, sizeof(*c));
	c->key.pid = pid;
	c->key.ssl = LT_SOCK_KEY(5);
	c->family = LT_AF_INET;
	memcpy(c->local_addr, lo, 4);
	memcpy(c->peer_addr, lo, 4);
	c->local_port = server ? 8000 : client_port;
	c->peer_port = server ? client_port : 8000;
}

static json_t *view(uint32_t pid, const char *tag)
{
	return json_pack("{s:{s:i, s:s, s:s}}", "attributes", "process.pid", (int)pid,
			 "process.executable.name", tag, "tag", tag);
}

static long long attr_int(json_t *rec, const char *k)
{
	return json_integer_value(json_object_get(json_object_get(rec, "attributes"), k));
}

static const char *attr_str(json_t *rec, const char *k)
{
	return json_string_value(json_object_get(json_object_get(rec, "attributes"), k));
}

TEST(join_pairs_client_and_server_views)
{
	struct sink out = { 0 };
	struct join j;
	struct conn cli, srv;

	join_init(&j, 8, 1000, collect, &out);
	loop_conn(&cli, 10, false, 40000);
	loop_conn(&srv, 20, true, 40000);
	ASSERT_TRUE(join_wanted(&cli));
	ASSERT_TRUE(join_wanted(&srv));
	/* server first: held; the client's completes the pair */
	join_offer(&j, view(20, "server"), &srv, true, 0);
	ASSERT_EQ(out.n, 0);
	join_offer(&j, view(10, "client"), &cli, false, 5);
	ASSERT_EQ(out.n, 1);
	ASSERT_EQ(attr_int(out.recs[0], "process.pid"), 10);
	ASSERT_EQ(attr_int(out.recs[0], "llmtap.peer.process.pid"), 20);
	ASSERT_STREQ(attr_str(out.recs[0], "llmtap.peer.process.executable.name"), "server");
	/* only process.* / container.* of the peer are copied */
	ASSERT_TRUE(!attr_str(out.recs[0], "llmtap.peer.tag"));
	ASSERT_STREQ(attr_str(out.recs[0], "tag"), "client");
	ASSERT_UEQ(j.stats.joined, 1);
	ASSERT_UEQ(j.count, 0);
	join_destroy(&j);
	sink_free(&out);
}

TEST(join_keeps_fifo_order_and_connections_apart)
{
	struct sink out = { 0 };
	struct join j;
	struct conn cli_a, srv_a, cli_b;

	join_init(&j, 8, 1000, collect, &out);
	loop_conn(&cli_a, 10, false, 40000);
	loop_conn(&srv_a, 20, true, 40000);
	loop_conn(&cli_b, 11, false, 40001);
	join_offer(&j, view(10, "a1"), &cli_a, false, 0);
	join_offer(&j, view(10, "a2"), &cli_a, false, 1);
	/* another connection's client view does not pair with a's */
	join_offer(&j, view(11, "b1"), &cli_b, false, 2);
	ASSERT_EQ(out.n, 0);
	join_offer(&j, view(20, "s1"), &srv_a, true, 3);
	ASSERT_EQ(out.n, 1);
	ASSERT_STREQ(attr_str(out.recs[0], "tag"), "a1");
	/* b1 and a2 wait; expiry emits them alone, oldest first */
	join_expire(&j, 500);
	ASSERT_EQ(out.n, 1);
	join_expire(&j, 1002);
	ASSERT_EQ(out.n, 3);
	ASSERT_STREQ(attr_str(out.recs[1], "tag"), "a2");
	ASSERT_STREQ(attr_str(out.recs[2], "tag"), "b1");
	ASSERT_UEQ(j.stats.alone, 2);
	join_destroy(&j);
	sink_free(&out);
}

TEST(join_maps_ipv4_to_dual_stack_server)
{
	struct sink out = { 0 };
	struct join j;
	struct conn cli, srv;

	join_init(&j, 8, 1000, collect, &out);
	loop_conn(&cli, 10, false, 40000);
	loop_conn(&srv, 20, true, 40000);
	/* the server's socket is IPv6 and sees ::ffff:127.0.0.1 */
	srv.family = LT_AF_INET6;
	memset(srv.local_addr, 0, 16);
	srv.local_addr[10] = srv.local_addr[11] = 0xff;
	srv.local_addr[12] = 127;
	srv.local_addr[15] = 1;
	memcpy(srv.peer_addr, srv.local_addr, 16);
	join_offer(&j, view(10, "client"), &cli, false, 0);
	join_offer(&j, view(20, "server"), &srv, true, 0);
	ASSERT_EQ(out.n, 1);
	ASSERT_STREQ(attr_str(out.recs[0], "tag"), "client");
	join_destroy(&j);
	sink_free(&out);
}

TEST(join_bounded_and_flushed)
{
	struct sink out = { 0 };
	struct join j;
	struct conn cli;

	join_init(&j, 2, 1000, collect, &out);
	loop_conn(&cli, 10, false, 40000);
	join_offer(&j, view(10, "1"), &cli, false, 0);
	join_offer(&j, view(10, "2"), &cli, false, 0);
	join_offer(&j, view(10, "3"), &cli, false, 0);
	ASSERT_EQ(out.n, 1);
	ASSERT_STREQ(attr_str(out.recs[0], "tag"), "1");
	ASSERT_UEQ(j.stats.overflow, 1);
	join_destroy(&j);
	ASSERT_EQ(out.n, 3);
	sink_free(&out);
}

TEST(join_wanted_only_for_local_plaintext)
{
	struct conn c;

	loop_conn(&c, 1, false, 40000);
	ASSERT_TRUE(join_wanted(&c));
	/* TLS connections are not joined */
	c.key.ssl = 0x7f0000001000ull;
	ASSERT_TRUE(!join_wanted(&c));
	/* a remote peer has no second view here */
	loop_conn(&c, 1, false, 40000);
	c.peer_addr[0] = 10;
	ASSERT_TRUE(!join_wanted(&c));
	/* the host calling its own LAN address */
	memcpy(c.local_addr, c.peer_addr, 4);
	ASSERT_TRUE(join_wanted(&c));
	/* ::1 */
	c.family = LT_AF_INET6;
	memset(c.peer_addr, 0, 16);
	c.peer_addr[15] = 1;
	memset(c.local_addr, 0, 16);
	ASSERT_TRUE(join_wanted(&c));
	/* address unknown */
	c.family = 0;
	ASSERT_TRUE(!join_wanted(&c));
}
