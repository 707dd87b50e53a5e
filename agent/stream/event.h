/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Validating the raw bytes of a ring-buffer event before anything trusts
 * them: sizes, lengths and enums are checked against the ABI.
 */
#ifndef LLMTAP_EVENT_H
#define LLMTAP_EVENT_H

#include <stddef.h>

#include "llmtap_abi.h"

struct event_view {
	const struct lt_event_hdr *hdr;
	union {
		const struct lt_data_event *data;
		const struct lt_conn_info_event *info;
		const struct lt_conn_close_event *close;
		const struct lt_file_event *file;
	};
};

/* Fills out for a well-formed event of size bytes. Returns 0, -EBADMSG for
 * a malformed one, -ENOTSUP for an unknown type. No allocation. */
int event_decode(const void *buf, size_t size, struct event_view *out);

#endif
