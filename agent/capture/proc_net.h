/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * /proc/net/tcp and tcp6: the established TCP sockets of a network
 * namespace, by inode.  Used once at start-up to adopt plaintext
 * connections that were open before the agent (a gateway's keep-alive pool
 * to a local vLLM).  The text is the kernel's, but parsed as hostile input.
 */
#ifndef LLMTAP_PROC_NET_H
#define LLMTAP_PROC_NET_H

#include <stddef.h>
#include <stdint.h>

#define PROC_NET_TCP_ESTABLISHED 1

struct proc_net_sock {
	uint64_t inode;
	uint16_t local_port, peer_port;
	uint8_t state; /* TCP_* of the kernel: 1 established, 10 listen, ... */
};

typedef int (*proc_net_cb)(const struct proc_net_sock *s, void *ctx);

/*
 * Calls cb for each well-formed socket line of a /proc/net/tcp{,6} text
 * (the header line and malformed lines are skipped).  A non-zero return of
 * cb stops the walk and is returned.  Returns 0 otherwise.
 */
int proc_net_tcp_parse(const char *text, size_t len, proc_net_cb cb, void *ctx);

#endif
