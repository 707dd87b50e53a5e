/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HTTP Content-Encoding (RFC 9110 section 8.4) decoding of a captured body:
 * gzip (x-gzip), deflate, br and zstd, alone or chained.
 *
 * The codings run as a pipeline of streaming decoders joined by 64 KiB
 * chunks, so a body is decoded without whole intermediate copies and the
 * work stops as soon as the output cap is reached: a 10 KiB bomb that would
 * inflate to 10 GiB costs the time to fill the cap.  Memory is the output
 * cap plus, per coding, one chunk and the decoder's window, which the
 * formats bound (zlib 32 KiB, brotli 16 MiB, zstd 8 MiB as RFC 9659 lets an
 * HTTP decoder require).
 *
 * Choices for a passive observer:
 *  - "deflate" accepts a zlib stream (RFC 1950, what HTTP means), a raw
 *    deflate stream (what some servers send) and a gzip member (mislabelled);
 *    the first two bytes tell them apart;
 *  - gzip accepts concatenated members and zstd concatenated frames;
 *  - a stream cut off by the end of the capture is not an error (incomplete);
 *  - bytes after the end of a complete br/deflate stream, or that do not
 *    start a new gzip member or zstd frame, are corrupt data (-EBADMSG);
 *  - an empty input decodes to an empty output (a response with a
 *    Content-Encoding header and no body), not an incomplete one;
 *  - a zstd frame asking for a window over 8 MiB is refused (-EBADMSG);
 *  - brotli fills its window before it hands any output over, so a br bomb
 *    costs up to 16 MiB of decoding whatever the cap.
 */
#ifndef LLMTAP_PROTO_CONTENT_H
#define LLMTAP_PROTO_CONTENT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/dynbuf.h"

enum content_coding {
	CONTENT_IDENTITY,
	CONTENT_GZIP,
	CONTENT_DEFLATE,
	CONTENT_BR,
	CONTENT_ZSTD,
	CONTENT_UNKNOWN,
};

/* Longest chain content_decode accepts (identity entries not counted). */
#define CONTENT_MAX_CODINGS 4

/*
 * Parses a Content-Encoding value: a comma-separated, case-insensitive list
 * (optional whitespace, empty elements and "identity" ignored, "x-gzip" is
 * gzip) into codings[] in the order they were applied (decode in reverse).
 * Returns the count (0 for NULL or ""), -ENOTSUP if any coding is unknown,
 * else -E2BIG if there are more than max.
 */
int content_parse_encoding(const char *header, enum content_coding *codings, size_t max);

/*
 * Decodes in (codings[] as applied: the last is undone first) and appends the
 * result to out; out->cap bounds the output and, at twice that plus a chunk,
 * what one coding may pass to the next.  Returns 0, -EBADMSG on corrupt data
 * (out keeps what was decoded before it, but br may drop the output of up to
 * 1 KiB of input before the error), -ENOTSUP for an unknown coding or a chain
 * longer than CONTENT_MAX_CODINGS, -ENOMEM.  *truncated (when non-NULL)
 * says a cap cut the output short; *incomplete says the input ended inside a
 * stream (a cut capture; 0 is returned with what was decoded).
 */
int content_decode(const enum content_coding *codings, size_t n, const void *in, size_t in_len,
		   struct dynbuf *out, bool *truncated, bool *incomplete);

/* The coding's token ("gzip", "br", ...); "unknown" for anything else. */
const char *content_coding_name(enum content_coding c);

#endif
