/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * gen_ai.provider.name: the value an SDK instrumentation would report.
 * From the host for known services, else from a server fingerprint for
 * self-hosted servers, else the API family.
 */
#ifndef LLMTAP_PROVIDER_H
#define LLMTAP_PROVIDER_H

#include "llm/llm.h"

/* host: lower-case, no port, may be NULL. Returns a static string. */
const char *llm_provider(const char *host, const struct llm_exchange *ex, const struct llm_http *h);

#endif
