// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "conn_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t conn_hash(const struct conn_table *t, const struct conn_key *k)
{
	uint64_t h = k->ssl * 0x9e3779b97f4a7c15ull;

	h ^= ((uint64_t)k->pid << 32 | (k->gen & 0xffffffffu)) * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 29;
	return (size_t)(h & (t->n_buckets - 1));
}

static bool key_eq(const struct conn_key *a, const struct conn_key *b)
{
	return a->pid == b->pid && a->ssl == b->ssl && a->gen == b->gen;
}

int conn_table_init(struct conn_table *t, size_t cap, conn_release_cb cb, void *ctx)
{
	size_t nb = 16;

	memset(t, 0, sizeof(*t));
	if (cap == 0)
		return -EINVAL;
	while (nb < cap && nb < ((size_t)1 << 30))
		nb <<= 1;
	t->buckets = calloc(nb, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->n_buckets = nb;
	t->cap = cap;
	t->release = cb;
	t->release_ctx = ctx;
	return 0;
}

static void lru_unlink(struct conn_table *t, struct conn *c)
{
	if (c->lru_prev)
		c->lru_prev->lru_next = c->lru_next;
	else
		t->lru_head = c->lru_next;
	if (c->lru_next)
		c->lru_next->lru_prev = c->lru_prev;
	else
		t->lru_tail = c->lru_prev;
	c->lru_prev = c->lru_next = NULL;
}

static void lru_push_front(struct conn_table *t, struct conn *c)
{
	c->lru_prev = NULL;
	c->lru_next = t->lru_head;
	if (t->lru_head)
		t->lru_head->lru_prev = c;
	t->lru_head = c;
	if (!t->lru_tail)
		t->lru_tail = c;
}

void conn_table_release(struct conn_table *t, struct conn *c, enum conn_release why)
{
	struct conn **pp = &t->buckets[conn_hash(t, &c->key)];

	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	lru_unlink(t, c);
	t->count--;
	t->released[why]++;
	if (t->release)
		t->release(c, why, t->release_ctx);
	free(c);
}

struct conn *conn_table_get(struct conn_table *t, const struct conn_key *key, uint64_t now_ns,
			    bool create)
{
	size_t h = conn_hash(t, key);
	struct conn *c;

	for (c = t->buckets[h]; c; c = c->hnext) {
		if (key_eq(&c->key, key)) {
			c->last_ns = now_ns;
			lru_unlink(t, c);
			lru_push_front(t, c);
			return c;
		}
	}
	if (!create)
		return NULL;
	if (t->count >= t->cap && t->lru_tail)
		conn_table_release(t, t->lru_tail, CONN_RELEASE_EVICT);
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->key = *key;
	c->fd = -1;
	c->last_ns = now_ns;
	c->hnext = t->buckets[h];
	t->buckets[h] = c;
	lru_push_front(t, c);
	t->count++;
	t->created++;
	return c;
}

size_t conn_table_expire(struct conn_table *t, uint64_t now_ns, uint64_t idle_ns)
{
	size_t n = 0;

	/* the LRU tail is the least recently used: stop at the first fresh one */
	while (t->lru_tail && now_ns - t->lru_tail->last_ns > idle_ns &&
	       now_ns >= t->lru_tail->last_ns) {
		conn_table_release(t, t->lru_tail, CONN_RELEASE_IDLE);
		n++;
	}
	return n;
}

size_t conn_table_release_pid(struct conn_table *t, uint32_t pid, enum conn_release why)
{
	struct conn *c = t->lru_head, *next;
	size_t n = 0;

	while (c) {
		next = c->lru_next;
		if (c->key.pid == pid) {
			conn_table_release(t, c, why);
			n++;
		}
		c = next;
	}
	return n;
}

void conn_table_destroy(struct conn_table *t)
{
	while (t->lru_head)
		conn_table_release(t, t->lru_head, CONN_RELEASE_SHUTDOWN);
	free(t->buckets);
	t->buckets = NULL;
}
