/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The /metrics endpoint: a thread that accepts on a loopback address and
 * answers GET /metrics with the last published snapshot (Prometheus text
 * format 0.0.4), 404 for any other path, 405 for other methods.  One
 * connection at a time, requests capped at 8 KiB, 2 s per connection.
 * Non-loopback listen addresses are refused: the records' metadata (models,
 * rule names) is not for the network at large; a remote scraper goes
 * through a local proxy.  Never logs.
 */
#ifndef LLMTAP_METRICS_H
#define LLMTAP_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;

/*
 * listen: "127.0.0.1:9464", "[::1]:9464", "localhost:9464" (port 0: any,
 * see metrics_port).  0; -EINVAL malformed; -EPERM not a loopback address;
 * -errno from socket/bind/listen.
 */
int metrics_open(const char *listen, struct metrics **out);
/* Swaps in a new snapshot (copied).  Any thread. */
void metrics_publish(struct metrics *m, const char *text, size_t len);
/* The port actually bound. */
uint16_t metrics_port(const struct metrics *m);
/* Stops the thread, closes the socket, frees m (NULL is fine). */
void metrics_close(struct metrics *m);

#endif
