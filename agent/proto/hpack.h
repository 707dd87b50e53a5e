/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HPACK (RFC 7541) header block decoder for one direction of an HTTP/2
 * connection: static table, dynamic table with size updates, integers and
 * strings with Huffman coding.
 *
 * Bounded whatever the input: the dynamic table never holds more than the
 * hard cap given at creation (a size update above the limit is an error),
 * strings are bounded by the block they come from, and fields stop being
 * delivered past max_list bytes (the rest of the block is still decoded, so
 * the table stays in sync).  No logging; errors are returned.
 *
 * A passive observer may not know the dynamic table: the capture began
 * after the connection did, or a header block was lost.  In the "unknown"
 * mode (hpack_decoder_forget) a reference to an entry the decoder never saw
 * is skipped and reported with HPACK_OUT_PARTIAL instead of failing the
 * block.  What is delivered is still exact: the entries the decoder saw are
 * the newest entries of the real table, in the same order, and it keeps them
 * at least as long as the real table does (entries of unknown name hold their
 * place).
 */
#ifndef LLMTAP_PROTO_HPACK_H
#define LLMTAP_PROTO_HPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SETTINGS_HEADER_TABLE_SIZE before any SETTINGS (RFC 9113 6.5.2) */
#define HPACK_DEFAULT_TABLE_SIZE 4096u
/* Hard cap on the dynamic table of one decoder when none is given. */
#define HPACK_DEFAULT_CAP (64u * 1024)
/* Entries of the static table (RFC 7541 Appendix A). */
#define HPACK_STATIC_ENTRIES 61

/* out flags of hpack_decode */
/* fields past max_list bytes were decoded (the table updated) but not delivered */
#define HPACK_OUT_TRUNCATED (1u << 0)
/* fields referring to table entries the decoder does not know were skipped */
#define HPACK_OUT_PARTIAL (1u << 1)

/*
 * Receives one decoded field.  name and value are not NUL-terminated and are
 * valid during the call only.  Returns 0, or a negative errno that stops the
 * decoding and is returned by hpack_decode (the table is then out of sync).
 */
typedef int (*hpack_field_cb)(void *ctx, const char *name, size_t name_len, const char *value,
			      size_t value_len);

struct hpack_decoder;

/* A decoder whose dynamic table never exceeds cap bytes (RFC 7541 4.1 sizes);
 * 0 means HPACK_DEFAULT_CAP.  NULL on -ENOMEM. */
struct hpack_decoder *hpack_decoder_new(size_t cap);
/* NULL ok. */
void hpack_decoder_free(struct hpack_decoder *d);

/*
 * The peer that decodes this direction advertised SETTINGS_HEADER_TABLE_SIZE
 * = value: size updates up to it become valid.  An observer cannot tell when
 * the setting is acknowledged, so the largest value seen applies, clamped to
 * the cap.
 */
void hpack_decoder_set_limit(struct hpack_decoder *d, uint32_t value);

/*
 * The table state is lost (capture began mid-connection, bytes were lost, a
 * block failed): empties the table and enters the unknown mode for good.
 */
void hpack_decoder_forget(struct hpack_decoder *d);
/* True in the unknown mode. */
bool hpack_decoder_unknown(const struct hpack_decoder *d);

/*
 * Decodes one complete header block (HEADERS + CONTINUATION fragments
 * joined), calling cb for each field in order while the list (RFC 9113
 * 6.5.2 sizes: name + value + 32 each) stays within max_list.  *out (may be
 * NULL) receives HPACK_OUT_* flags.  Returns 0; -EPROTO on a malformed block
 * (bad integer, string, Huffman code, index, or size update); -ENOMEM; or
 * cb's error.  After any error the decoder is in the unknown mode with an
 * empty table (what the block changed is unknown).
 */
int hpack_decode(struct hpack_decoder *d, const void *block, size_t len, size_t max_list,
		 hpack_field_cb cb, void *ctx, unsigned *out);

/* Size of the dynamic table in RFC 7541 4.1 terms, its entries, its maximum. */
size_t hpack_decoder_table_size(const struct hpack_decoder *d);
size_t hpack_decoder_table_entries(const struct hpack_decoder *d);
size_t hpack_decoder_max_size(const struct hpack_decoder *d);
/* Heap bytes held, for memory budgets. */
size_t hpack_decoder_buffered(const struct hpack_decoder *d);

/*
 * Entry `index` of the combined index space (1..61 static, 62.. dynamic,
 * newest first).  Returns 0; -ENOENT beyond the table; -EAGAIN for an entry
 * whose name is unknown (unknown mode).  Strings are NUL-terminated.
 */
int hpack_decoder_entry(const struct hpack_decoder *d, size_t index, const char **name,
			const char **value);

/*
 * An integer with an n-bit prefix (RFC 7541 5.1) at *p (the prefix bits are
 * the low n bits of the first byte).  Advances *p.  Returns 0 or -EPROTO
 * (truncated, longer than 5 continuation bytes, or above UINT32_MAX).
 */
int hpack_decode_int(const uint8_t **p, const uint8_t *end, unsigned n, uint32_t *v);

/*
 * Huffman-decodes n bytes (RFC 7541 5.2, Appendix B) into dst (dst_size
 * bytes; n * 8 / 5 always suffices).  Returns 0 with *out_len set, -EPROTO on
 * EOS, padding longer than 7 bits or not all ones, -ENOSPC if dst is short.
 */
int hpack_huffman_decode(const uint8_t *src, size_t n, char *dst, size_t dst_size, size_t *out_len);
/* The code of symbol sym (0..256, 256 = EOS), right-aligned, and its bit length. */
void hpack_huffman_code(unsigned sym, uint32_t *code, unsigned *bits);

#endif
