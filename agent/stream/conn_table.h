/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The connection table: one entry per (pid, SSL object, generation).
 * Bounded: when full, the least recently used connection is evicted; idle
 * connections expire.  Every release goes through one callback so the
 * protocol layer can flush what it holds, and is counted by reason.
 */
#ifndef LLMTAP_CONN_TABLE_H
#define LLMTAP_CONN_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn_key {
	uint32_t pid;
	uint64_t ssl;
	uint64_t gen;
};

enum conn_release {
	CONN_RELEASE_CLOSE, /* SSL_free seen */
	CONN_RELEASE_EXIT, /* process exited */
	CONN_RELEASE_IDLE, /* expired */
	CONN_RELEASE_EVICT, /* table full: least recently used */
	CONN_RELEASE_SHUTDOWN,
	CONN_RELEASE_COUNT,
};

struct conn {
	struct conn_key key;
	struct conn *hnext;
	struct conn *lru_prev, *lru_next; /* head = most recent */
	uint64_t last_ns;
	/* what the kernel told about the connection */
	int32_t fd;
	uint16_t family; /* 2 / 10, 0 unknown */
	uint8_t local_addr[16], peer_addr[16];
	uint16_t local_port, peer_port;
	char sni[128];
	char comm[16];
	uint32_t tid; /* thread of the first event */
	uint8_t probe; /* LT_PROBE_* of the first data: which TLS stack, or the socket path */
	/* per-direction stream positions, for gap detection */
	uint64_t next_off[2];
	uint64_t gap_bytes[2];
	bool ignored; /* not LLM traffic: no more parsing */
	void *proto; /* owned by the protocol layer, released in the callback */
	size_t buffered; /* heap bytes proto held at the last count */
};

typedef void (*conn_release_cb)(struct conn *c, enum conn_release why, void *ctx);

struct conn_table {
	struct conn **buckets;
	size_t n_buckets;
	size_t count, cap;
	struct conn *lru_head, *lru_tail;
	conn_release_cb release;
	void *release_ctx;
	uint64_t created;
	uint64_t released[CONN_RELEASE_COUNT];
};

/* cap > 0 entries.  Returns 0 or -ENOMEM. */
int conn_table_init(struct conn_table *t, size_t cap, conn_release_cb cb, void *ctx);
/* Releases every connection (CONN_RELEASE_SHUTDOWN) and frees the table. */
void conn_table_destroy(struct conn_table *t);
/* Finds the connection and marks it used at now_ns; with create, adds it
 * (evicting the least recently used when full).  NULL if absent or -ENOMEM. */
struct conn *conn_table_get(struct conn_table *t, const struct conn_key *key, uint64_t now_ns,
			    bool create);
void conn_table_release(struct conn_table *t, struct conn *c, enum conn_release why);
/* Releases connections idle for more than idle_ns; returns how many. */
size_t conn_table_expire(struct conn_table *t, uint64_t now_ns, uint64_t idle_ns);
/* Releases every connection of a process; returns how many. */
size_t conn_table_release_pid(struct conn_table *t, uint32_t pid, enum conn_release why);

#endif
