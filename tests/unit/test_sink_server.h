/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A tiny HTTP/1.1 server thread on 127.0.0.1 for the output tests: keeps
 * connections alive, gunzips bodies, stores them, and answers as told
 * (200 with a body, N times 503 + Retry-After, 400, 413 for batches of more
 * than one line).
 */
#ifndef LLMTAP_TEST_SINK_SERVER_H
#define LLMTAP_TEST_SINK_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TSRV_MAX_REQ 256

struct tsrv {
	int lfd;
	uint16_t port;
	pthread_t thread;
	bool running, stop, inited;
	pthread_mutex_t mu;
	/* what to answer */
	int status; /* default 200 */
	int fail_503; /* answer 503 to this many requests first */
	int retry_after; /* seconds, with 503 (-1: no header) */
	bool reject_multi; /* 413 when a body has more than one line */
	char reply[512]; /* body of 200 answers */
	/* what came in */
	int requests;
	uint64_t req_ms[TSRV_MAX_REQ];
	char *bodies; /* decoded bodies, concatenated */
	size_t len;
	char path[256], ctype[128], auth[256], enc[64], custom[128];
};

/* Starts on port (0: ephemeral). 0 or -errno. */
int tsrv_start(struct tsrv *s, uint16_t port);
/* Stops listening and serving (the port then refuses connections). */
void tsrv_stop(struct tsrv *s);
void tsrv_free(struct tsrv *s);
/* Lines received so far (newlines counted in the stored bodies). */
size_t tsrv_lines(struct tsrv *s);
/* Waits up to ms for at least n lines; true when they came. */
bool tsrv_wait_lines(struct tsrv *s, size_t n, int ms);
uint64_t tsrv_now_ms(void);

#endif
