// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "join.h"

#include <stdlib.h>
#include <string.h>

#include "llmtap_abi.h"
#include "stream/conn_table.h"

/* A connection as (client, server), whichever end saw it; IPv4 as mapped
 * IPv6 so a dual-stack server and an IPv4 client agree. */
struct join_tuple {
	uint8_t client[16], server[16];
	uint16_t client_port, server_port;
};

struct join_entry {
	struct join_entry *next;
	struct join_tuple t;
	json_t *rec;
	bool server_side;
	uint64_t since_ns;
};

void join_init(struct join *j, size_t cap, uint64_t wait_ns, join_emit_fn emit, void *ctx)
{
	memset(j, 0, sizeof(*j));
	j->cap = cap ? cap : 1;
	j->wait_ns = wait_ns;
	j->emit = emit;
	j->ctx = ctx;
}

static void to_v6(uint16_t family, const uint8_t *addr, uint8_t out[16])
{
	if (family == LT_AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, addr, 4);
	} else {
		memcpy(out, addr, 16);
	}
}

static bool is_loopback(const uint8_t a[16])
{
	static const uint8_t v6_lo[16] = { [15] = 1 };
	static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (memcmp(a, v6_lo, 16) == 0)
		return true;
	return memcmp(a, v4_mapped, 12) == 0 && a[12] == 127;
}

bool join_wanted(const struct conn *c)
{
	uint8_t local[16], peer[16];

	if (!(c->key.ssl & LT_SOCK_KEY_BIT) ||
	    (c->family != LT_AF_INET && c->family != LT_AF_INET6))
		return false;
	to_v6(c->family, c->local_addr, local);
	to_v6(c->family, c->peer_addr, peer);
	return is_loopback(peer) || memcmp(local, peer, 16) == 0;
}

static void tuple_of(const struct conn *c, bool server_side, struct join_tuple *t)
{
	memset(t, 0, sizeof(*t));
	if (server_side) {
		to_v6(c->family, c->peer_addr, t->client);
		to_v6(c->family, c->local_addr, t->server);
		t->client_port = c->peer_port;
		t->server_port = c->local_port;
	} else {
		to_v6(c->family, c->local_addr, t->client);
		to_v6(c->family, c->peer_addr, t->server);
		t->client_port = c->local_port;
		t->server_port = c->peer_port;
	}
}

/* Names the server process in the client's record: its process.* and
 * container.* attributes under llmtap.peer. */
static void merge(json_t *client, json_t *server)
{
	json_t *ca = json_object_get(client, "attributes");
	json_t *sa = json_object_get(server, "attributes");
	const char *k;
	json_t *v;
	char key[128];

	if (!json_is_object(ca) || !json_is_object(sa))
		return;
	json_object_foreach(sa, k, v) {
		if (strncmp(k, "process.", 8) != 0 && strncmp(k, "container.", 10) != 0)
			continue;
		if ((size_t)snprintf(key, sizeof(key), "llmtap.peer.%s", k) >= sizeof(key))
			continue;
		json_object_set(ca, key, v);
	}
	json_object_set_new(ca, "llmtap.capture.joined", json_true());
}

static void unlink_entry(struct join *j, struct join_entry *prev, struct join_entry *e)
{
	if (prev)
		prev->next = e->next;
	else
		j->head = e->next;
	if (j->tail == e)
		j->tail = prev;
	j->count--;
}

static void emit_alone(struct join *j, struct join_entry *e)
{
	j->emit(e->rec, j->ctx);
	json_decref(e->rec);
	free(e);
}

void join_offer(struct join *j, json_t *rec, const struct conn *c, bool server_side,
		uint64_t now_ns)
{
	struct join_entry *e, *prev = NULL;
	struct join_tuple t;

	tuple_of(c, server_side, &t);
	/* the oldest view of the other end on this connection is this one's pair */
	for (e = j->head; e; prev = e, e = e->next) {
		if (e->server_side == server_side || memcmp(&e->t, &t, sizeof(t)) != 0)
			continue;
		unlink_entry(j, prev, e);
		merge(server_side ? e->rec : rec, server_side ? rec : e->rec);
		j->emit(server_side ? e->rec : rec, j->ctx);
		j->stats.joined++;
		json_decref(e->rec);
		json_decref(rec);
		free(e);
		return;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		j->emit(rec, j->ctx);
		json_decref(rec);
		return;
	}
	if (j->count == j->cap) {
		struct join_entry *old = j->head;

		unlink_entry(j, NULL, old);
		j->stats.overflow++;
		emit_alone(j, old);
	}
	e->t = t;
	e->rec = rec;
	e->server_side = server_side;
	e->since_ns = now_ns;
	if (j->tail)
		j->tail->next = e;
	else
		j->head = e;
	j->tail = e;
	j->count++;
}

void join_expire(struct join *j, uint64_t now_ns)
{
	/* entries are in arrival order: stop at the first one still waiting */
	while (j->head && now_ns - j->head->since_ns >= j->wait_ns) {
		struct join_entry *e = j->head;

		unlink_entry(j, NULL, e);
		j->stats.alone++;
		emit_alone(j, e);
	}
}

void join_destroy(struct join *j)
{
	while (j->head) {
		struct join_entry *e = j->head;

		unlink_entry(j, NULL, e);
		j->stats.alone++;
		emit_alone(j, e);
	}
}
