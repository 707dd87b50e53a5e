/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every TLS library's probes share once a call's arguments are known:
 * the connection state, the end of a connection, and copying a call's
 * plaintext to the ring buffer in LT_CHUNK_MAX pieces.  Every byte advances
 * the connection's per-direction position, copied or not, so user space sees
 * any loss as a gap of an exact size.  BPF only.
 */
#ifndef LLMTAP_TLS_BPF_H
#define LLMTAP_TLS_BPF_H

#include "emit.bpf.h"

/* Bytes the process received for reads, sent for writes. */
static __always_inline __u32 tls__dir(__u32 probe)
{
	switch (probe) {
	case LT_PROBE_SSL_READ:
	case LT_PROBE_SSL_READ_EX:
	case LT_PROBE_GNUTLS_RECV:
	case LT_PROBE_GO_READ:
		return LT_DIR_INGRESS;
	default:
		return LT_DIR_EGRESS;
	}
}

/* Looks up or creates the connection of (pid, ssl); NULL if the map is full. */
static __always_inline struct lt_conn_state *tls__conn(__u32 pid, __u64 ssl)
{
	struct lt_conn_key key = { .pid = pid, .ssl = ssl };
	struct lt_conn_state *st, init = { .fd = -1 };

	st = bpf_map_lookup_elem(&conns, &key);
	if (st)
		return st;
	init.gen = common__next_gen();
	/* NOEXIST: another CPU may have created it meanwhile; then we use theirs. */
	bpf_map_update_elem(&conns, &key, &init, BPF_NOEXIST);
	st = bpf_map_lookup_elem(&conns, &key);
	if (!st)
		common__count(LT_CNT_CONN_TABLE_FULL);
	return st;
}

/* Ends connection (pid, ssl): a later object at this address is a new stream. */
static __always_inline void tls__close(__u32 pid, __u64 ssl)
{
	struct lt_conn_key key = { .pid = pid, .ssl = ssl };
	struct lt_conn_state *st;

	st = bpf_map_lookup_elem(&conns, &key);
	if (!st)
		return;
	emit__close(ssl, st);
	bpf_map_delete_elem(&conns, &key);
}

/*
 * A data call of probe moved n > 0 bytes at buf on connection ssl (state
 * cs, already counted in ps->calls/bytes): see emit__data.
 */
static __always_inline void tls__emit_data(struct lt_probe_stats *ps, struct lt_conn_state *cs,
					   __u64 ssl, __u32 probe, __u64 buf, __u64 n)
{
	struct emit_copy_ctx cc = {};

	emit__init(&cc, ps, buf, 0, n);
	emit__data(&cc, cs, ssl, probe, tls__dir(probe), n);
}

#endif
