/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One record per exchange when both ends are on this host.  An app calling
 * a local inference server over plaintext is captured twice, once in each
 * process; the two views of the n-th exchange of a TCP connection are
 * joined on the connection's 4-tuple into the client's record, which also
 * names the server process (llmtap.peer.process.*).  A view whose other
 * half does not come within the wait is emitted alone.  Bounded: past the
 * cap the oldest held record is emitted alone (counted).
 */
#ifndef LLMTAP_JOIN_H
#define LLMTAP_JOIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;

struct join_stats {
	uint64_t joined; /* pairs merged into one record */
	uint64_t alone; /* views emitted without their other half (wait expired) */
	uint64_t overflow; /* views emitted early because the table was full */
};

struct join_entry;

typedef void (*join_emit_fn)(json_t *rec, void *ctx);

struct join {
	struct join_entry *head, *tail; /* oldest first */
	size_t count, cap;
	uint64_t wait_ns;
	join_emit_fn emit;
	void *ctx;
	struct join_stats stats;
};

/* cap views held at most, each for at most wait_ns.  emit receives each
 * record (it takes no reference). */
void join_init(struct join *j, size_t cap, uint64_t wait_ns, join_emit_fn emit, void *ctx);
/* Emits every held view alone and frees them. */
void join_destroy(struct join *j);
/* True when c's exchanges may have a second view on this host: a plaintext
 * socket whose peer address is loopback or the connection's own address. */
bool join_wanted(const struct conn *c);
/* Offers the record of an exchange seen on c (server_side: the process
 * served it).  Takes the caller's reference to rec. */
void join_offer(struct join *j, json_t *rec, const struct conn *c, bool server_side,
		uint64_t now_ns);
/* Emits views held longer than the wait. */
void join_expire(struct join *j, uint64_t now_ns);

#endif
