/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared helpers of the output tests: temporary state dirs, configs. */
#ifndef LLMTAP_TEST_SINK_UTIL_H
#define LLMTAP_TEST_SINK_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* mkdtemp under /tmp; the path is static storage per call slot (0..3). */
char *tsink_tmpdir(int slot);
void tsink_rmrf(const char *dir);
/* A config with one network output named name to 127.0.0.1:port. */
void tsink_net_config(struct config *cfg, const char *state_dir, const char *name,
		      enum output_type type, uint16_t port);
/* A record line {"seq":N,"id":"id-N","prev":"...","pad":"xxx"} (static buffer). */
const char *tsink_line(uint64_t seq, size_t pad);
/* Reads a whole file (malloc'd, NUL-terminated); NULL on error. */
char *tsink_read(const char *path, size_t *len);
size_t tsink_count(const char *s, char c);

#endif
