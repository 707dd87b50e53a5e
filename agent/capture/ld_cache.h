/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading the dynamic loader's cache (/etc/ld.so.cache) to learn where the
 * system's shared TLS libraries live, the way ld.so itself resolves them:
 * no hard-coded distro path, no ldconfig process.  Attaching to them at
 * start-up means the first process to load libssl after the agent started
 * is already covered (attaching to a new file takes ~10 ms, longer than a
 * fast client needs to reach its first SSL_write).
 */
#ifndef LLMTAP_LD_CACHE_H
#define LLMTAP_LD_CACHE_H

#include <stddef.h>

/*
 * Calls cb(path, ctx) for each entry of the cache image whose library name
 * starts with one of the prefixes (e.g. "libssl.so").  Handles the new
 * format ("glibc-ld.so.cache1.1"), alone or after the old one.  Every
 * offset is bounds-checked.  Returns the number of matches, -EBADMSG for an
 * image that is not a loader cache, or the first negative value cb returns.
 */
int ld_cache_find(const void *image, size_t size, const char *const *prefixes, size_t n_prefixes,
		  int (*cb)(const char *path, void *ctx), void *ctx);

#endif
