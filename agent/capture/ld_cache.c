// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "ld_cache.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define OLD_MAGIC "ld.so-1.7.0"
#define NEW_MAGIC "glibc-ld.so.cache1.1"
#define NEW_HDR_SIZE 48 /* magic+version 20, nlibs, len_strings, flags, ext, unused[3] */
#define NEW_ENTRY_SIZE 24 /* flags, key, value, osversion, hwcap (u64) */
#define OLD_ENTRY_SIZE 12 /* flags, key, value */

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* A NUL-terminated string at off within [0, size), or NULL. */
static const char *str_at(const uint8_t *base, size_t size, uint32_t off)
{
	if (off >= size || !memchr(base + off, '\0', size - off))
		return NULL;
	return (const char *)base + off;
}

int ld_cache_find(const void *image, size_t size, const char *const *prefixes, size_t n_prefixes,
		  int (*cb)(const char *path, void *ctx), void *ctx)
{
	const uint8_t *p = image, *hdr;
	size_t hdr_off = 0, avail;
	uint32_t nlibs;
	int found = 0;

	if (size >= 16 && memcmp(p, OLD_MAGIC, sizeof(OLD_MAGIC) - 1) == 0) {
		/* old header: magic[11] (padded to 12), nlibs, entries; new header follows, 8-aligned */
		uint32_t old_n = rd32(p + 12);

		if (old_n > (size - 16) / OLD_ENTRY_SIZE)
			return -EBADMSG;
		hdr_off = (16 + (size_t)old_n * OLD_ENTRY_SIZE + 7) & ~(size_t)7;
	}
	if (hdr_off > size || size - hdr_off < NEW_HDR_SIZE ||
	    memcmp(p + hdr_off, NEW_MAGIC, sizeof(NEW_MAGIC) - 1) != 0)
		return -EBADMSG;
	hdr = p + hdr_off;
	avail = size - hdr_off; /* string offsets are relative to the new header */
	nlibs = rd32(hdr + 20);
	if (nlibs > (avail - NEW_HDR_SIZE) / NEW_ENTRY_SIZE)
		return -EBADMSG;
	for (uint32_t i = 0; i < nlibs; i++) {
		const uint8_t *e = hdr + NEW_HDR_SIZE + (size_t)i * NEW_ENTRY_SIZE;
		const char *key = str_at(hdr, avail, rd32(e + 4));
		const char *value = str_at(hdr, avail, rd32(e + 8));

		if (!key || !value || value[0] != '/')
			continue;
		for (size_t j = 0; j < n_prefixes; j++) {
			if (strncmp(key, prefixes[j], strlen(prefixes[j])) != 0)
				continue;
			found++;
			if (cb) {
				int err = cb(value, ctx);

				if (err < 0)
					return err;
			}
			break;
		}
	}
	return found;
}
