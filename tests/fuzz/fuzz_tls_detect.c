// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for tls_detect.  Each input is a file image (seeds: the
 * small ELF files of tests/data/tls_detect/), classified in memory and
 * through a memfd (the path `llmtap status` and the agent take), with and
 * without the marker scan: both paths must agree, the scan may only add
 * findings, and every reported bit must be a known one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/tls_detect.h"

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

static int memfd = -1;

static void check_known(const struct tls_detect *d)
{
	CHECK((d->stacks >> TLS_STACK_COUNT) == 0);
	CHECK((d->runtimes >> TLS_RT_COUNT) == 0);
	CHECK((d->flags & ~0x1fu) == 0);
	for (int i = 0; i < TLS_STACK_COUNT; i++)
		if (d->stacks & (1u << i))
			CHECK(strcmp(tls_stack_describe(1u << i, d), "?") != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_detect full, quick, viafd;
	uint8_t *img = malloc(size ? size : 1);
	int rf, rq, rd;

	if (!img)
		return 0;
	/* an exact-size copy so ASan sees any overread */
	memcpy(img, data, size);
	rf = tls_detect_mem(img, size, 0, &full);
	rq = tls_detect_mem(img, size, TLS_DETECT_NO_SCAN, &quick);
	check_known(&full);
	check_known(&quick);
	CHECK(rf == rq);
	if (rf == 0) {
		/* the scan only adds what symbols and sections could not say */
		CHECK((quick.flags & ~TLS_F_SCAN_CUT) == (full.flags & ~TLS_F_SCAN_CUT));
		CHECK((quick.stacks & full.stacks) == quick.stacks ||
		      (quick.runtimes & TLS_RT_GO) != (full.runtimes & TLS_RT_GO));
	} else {
		CHECK(full.stacks == 0 && full.runtimes == 0 && full.flags == 0);
	}

	if (memfd < 0)
		memfd = memfd_create("fuzz-tls-detect", MFD_CLOEXEC);
	if (memfd >= 0 && ftruncate(memfd, 0) == 0 &&
	    pwrite(memfd, img, size, 0) == (ssize_t)size) {
		rd = tls_detect_fd(memfd, 0, &viafd);
		CHECK(rd == rf);
		CHECK(memcmp(&viafd, &full, sizeof(full)) == 0);
	}
	free(img);
	return 0;
}
