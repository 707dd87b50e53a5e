// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * HPACK decoder.  The dynamic table is a ring of entries, oldest first; each
 * entry is one allocation "name\0value\0".  Huffman strings are decoded with
 * canonical-code tables derived from the code lengths of RFC 7541 Appendix B
 * (the code is canonical: within a length, codes follow symbol order), one
 * bit at a time: header strings are short and decoded once.
 */
#include "proto/hpack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* RFC 7541 4.1: the size of an entry is name + value + 32 */
#define ENTRY_OVERHEAD 32
/* at most this many continuation bytes after an integer prefix (35 bits) */
#define INT_MAX_CONT 5

struct static_entry {
	const char *name;
	const char *value;
};

/* RFC 7541 Appendix A */
static const struct static_entry static_table[HPACK_STATIC_ENTRIES] = {
	{ ":authority", "" },
	{ ":method", "GET" },
	{ ":method", "POST" },
	{ ":path", "/" },
	{ ":path", "/index.html" },
	{ ":scheme", "http" },
	{ ":scheme", "https" },
	{ ":status", "200" },
	{ ":status", "204" },
	{ ":status", "206" },
	{ ":status", "304" },
	{ ":status", "400" },
	{ ":status", "404" },
	{ ":status", "500" },
	{ "accept-charset", "" },
	{ "accept-encoding", "gzip, deflate" },
	{ "accept-language", "" },
	{ "accept-ranges", "" },
	{ "accept", "" },
	{ "access-control-allow-origin", "" },
	{ "age", "" },
	{ "allow", "" },
	{ "authorization", "" },
	{ "cache-control", "" },
	{ "content-disposition", "" },
	{ "content-encoding", "" },
	{ "content-language", "" },
	{ "content-length", "" },
	{ "content-location", "" },
	{ "content-range", "" },
	{ "content-type", "" },
	{ "cookie", "" },
	{ "date", "" },
	{ "etag", "" },
	{ "expect", "" },
	{ "expires", "" },
	{ "from", "" },
	{ "host", "" },
	{ "if-match", "" },
	{ "if-modified-since", "" },
	{ "if-none-match", "" },
	{ "if-range", "" },
	{ "if-unmodified-since", "" },
	{ "last-modified", "" },
	{ "link", "" },
	{ "location", "" },
	{ "max-forwards", "" },
	{ "proxy-authenticate", "" },
	{ "proxy-authorization", "" },
	{ "range", "" },
	{ "referer", "" },
	{ "refresh", "" },
	{ "retry-after", "" },
	{ "server", "" },
	{ "set-cookie", "" },
	{ "strict-transport-security", "" },
	{ "transfer-encoding", "" },
	{ "user-agent", "" },
	{ "vary", "" },
	{ "via", "" },
	{ "www-authenticate", "" },
};

/* Code length in bits of each symbol, 0..255 and EOS (RFC 7541 Appendix B). */
static const uint8_t huff_len[257] = {
	13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, /* 0x00 */
	28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, /* 0x10 */
	6,  10, 10, 12, 13, 6,	8,  11, 10, 10, 8,  11, 8,  6,	6,  6, /* ' ' */
	5,  5,	5,  6,	6,  6,	6,  6,	6,  6,	7,  8,	15, 6,	12, 10, /* '0' */
	13, 6,	7,  7,	7,  7,	7,  7,	7,  7,	7,  7,	7,  7,	7,  7, /* '@' */
	7,  7,	7,  7,	7,  7,	7,  7,	8,  7,	8,  13, 19, 13, 14, 6, /* 'P' */
	15, 5,	6,  5,	6,  5,	6,  6,	6,  5,	7,  7,	6,  6,	6,  5, /* '`' */
	6,  7,	6,  5,	5,  6,	7,  7,	7,  7,	7,  15, 11, 14, 13, 28, /* 'p' */
	20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, /* 0x80 */
	24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, /* 0x90 */
	22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, /* 0xa0 */
	21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, /* 0xb0 */
	26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, /* 0xc0 */
	19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, /* 0xd0 */
	20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, /* 0xe0 */
	26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, /* 0xf0 */
	30, /* EOS */
};

#define HUFF_MAX_BITS 30
#define HUFF_EOS 256

/*
 * Canonical decoding tables derived from huff_len (RFC 7541 Appendix B): the
 * codes of length L are huff_first[L] .. huff_first[L] + huff_count[L] - 1 and
 * stand for huff_sym[huff_offset[L]] onwards, symbols in increasing order.
 * tests/unit/test_hpack.c checks them against the RFC's codes.
 */
static const uint32_t huff_first[HUFF_MAX_BITS + 1] = {
	0x0,	  0x0,	     0x0,	0x0,	   0x0,	      0x0,	  0x14,	      0x5c,
	0xf8,	  0x1fc,     0x3f8,	0x7fa,	   0xffa,     0x1ff8,	  0x3ffc,     0x7ffc,
	0xfffe,	  0x1fffc,   0x3fff8,	0x7fff0,   0xfffe6,   0x1fffdc,	  0x3fffd2,   0x7fffd8,
	0xffffea, 0x1ffffec, 0x3ffffe0, 0x7ffffde, 0xfffffe2, 0x1ffffffe, 0x3ffffffc,
};
static const uint8_t huff_count[HUFF_MAX_BITS + 1] = {
	0, 0, 0, 0, 0, 10, 26, 32, 6,  0, 5,  3,  2,  6, 2, 3,
	0, 0, 0, 3, 8, 13, 26, 29, 12, 4, 15, 19, 29, 0, 4,
};
static const uint16_t huff_offset[HUFF_MAX_BITS + 1] = {
	0,  0,	0,  0,	0,  0,	 10,  36,  68,	74,  74,  79,  82,  84,	 90,  92,
	95, 95, 95, 95, 98, 106, 119, 145, 174, 186, 190, 205, 224, 253, 253,
};
static const uint16_t huff_sym[257] = {
	48,  49,  50,  97,  99,	 101, 105, 111, 115, 116, 32,  37,  45,	 46,  47,  51,	52,  53,
	54,  55,  56,  57,  61,	 65,  95,  98,	100, 102, 103, 104, 108, 109, 110, 112, 114, 117,
	58,  66,  67,  68,  69,	 70,  71,  72,	73,  74,  75,  76,  77,	 78,  79,  80,	81,  82,
	83,  84,  85,  86,  87,	 89,  106, 107, 113, 118, 119, 120, 121, 122, 38,  42,	44,  59,
	88,  90,  33,  34,  40,	 41,  63,  39,	43,  124, 35,  62,  0,	 36,  64,  91,	93,  126,
	94,  125, 60,  96,  123, 92,  195, 208, 128, 130, 131, 162, 184, 194, 224, 226, 153, 161,
	167, 172, 176, 177, 179, 209, 216, 217, 227, 229, 230, 129, 132, 133, 134, 136, 146, 154,
	156, 160, 163, 164, 169, 170, 173, 178, 181, 185, 186, 187, 189, 190, 196, 198, 228, 232,
	233, 1,	  135, 137, 138, 139, 140, 141, 143, 147, 149, 150, 151, 152, 155, 157, 158, 165,
	166, 168, 174, 175, 180, 182, 183, 188, 191, 197, 231, 239, 9,	 142, 144, 145, 148, 159,
	171, 206, 215, 225, 236, 237, 199, 207, 234, 235, 192, 193, 200, 201, 202, 205, 210, 213,
	218, 219, 238, 240, 242, 243, 255, 203, 204, 211, 212, 214, 221, 222, 223, 241, 244, 245,
	246, 247, 248, 250, 251, 252, 253, 254, 2,   3,	  4,   5,   6,	 7,   8,   11,	12,  14,
	15,  16,  17,  18,  19,	 20,  21,  23,	24,  25,  26,  27,  28,	 29,  30,  31,	127, 220,
	249, 10,  13,  22,  256,
};

void hpack_huffman_code(unsigned sym, uint32_t *code, unsigned *bits)
{
	unsigned len, k;

	if (sym > HUFF_EOS)
		sym = HUFF_EOS;
	len = huff_len[sym];
	for (k = huff_offset[len]; huff_sym[k] != sym; k++)
		;
	*code = huff_first[len] + (k - huff_offset[len]);
	*bits = len;
}

int hpack_huffman_decode(const uint8_t *src, size_t n, char *dst, size_t dst_size, size_t *out_len)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		for (int b = 7; b >= 0; b--) {
			uint32_t rel;

			acc = acc << 1 | ((src[i] >> b) & 1u);
			bits++;
			rel = acc - huff_first[bits];
			if (rel < huff_count[bits]) {
				unsigned sym = huff_sym[huff_offset[bits] + rel];

				/* RFC 7541 5.2: an EOS in the string is an error */
				if (sym == HUFF_EOS)
					return -EPROTO;
				if (o >= dst_size)
					return -ENOSPC;
				dst[o++] = (char)sym;
				acc = 0;
				bits = 0;
			} else if (bits >= HUFF_MAX_BITS) {
				return -EPROTO; /* unreachable with a complete code */
			}
		}
	}
	/* padding: at most 7 bits, the most significant bits of EOS (all ones) */
	if (bits > 7 || acc != (1u << bits) - 1)
		return -EPROTO;
	*out_len = o;
	return 0;
}

int hpack_decode_int(const uint8_t **p, const uint8_t *end, unsigned n, uint32_t *v)
{
	const uint8_t *q = *p;
	uint32_t max = (1u << n) - 1;
	uint64_t val;
	unsigned shift = 0;
	uint8_t b;

	if (q >= end)
		return -EPROTO;
	val = *q++ & max;
	if (val == max) {
		do {
			if (q >= end || shift >= 7 * INT_MAX_CONT)
				return -EPROTO;
			b = *q++;
			val += (uint64_t)(b & 0x7f) << shift;
			shift += 7;
		} while (b & 0x80);
		if (val > UINT32_MAX)
			return -EPROTO;
	}
	*v = (uint32_t)val;
	*p = q;
	return 0;
}

struct hp_entry {
	char *name; /* "name\0value\0" in one allocation; NULL: the name is unknown */
	char *value; /* into name's allocation */
	uint32_t nlen, vlen;
	size_t size; /* RFC size (an unknown name counts 0: keeps more, never less) */
};

struct hpack_decoder {
	struct hp_entry *ring;
	size_t ring_cap;
	size_t first; /* ring index of the oldest entry */
	size_t n;
	size_t size; /* sum of entry sizes */
	size_t max_size; /* current maximum, from size updates */
	size_t limit; /* largest size update allowed */
	size_t cap; /* hard cap */
	size_t heap; /* bytes allocated for entries */
	bool unknown;
};

struct hpack_decoder *hpack_decoder_new(size_t cap)
{
	struct hpack_decoder *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->cap = cap ? cap : HPACK_DEFAULT_CAP;
	d->max_size = d->limit =
		d->cap < HPACK_DEFAULT_TABLE_SIZE ? d->cap : HPACK_DEFAULT_TABLE_SIZE;
	return d;
}

static void entry_free(struct hpack_decoder *d, struct hp_entry *e)
{
	if (e->name)
		d->heap -= (size_t)e->nlen + e->vlen + 2;
	free(e->name);
	memset(e, 0, sizeof(*e));
}

static void evict_oldest(struct hpack_decoder *d)
{
	struct hp_entry *e = &d->ring[d->first];

	d->size -= e->size;
	entry_free(d, e);
	d->first = (d->first + 1) % d->ring_cap;
	d->n--;
}

static void table_clear(struct hpack_decoder *d)
{
	while (d->n)
		evict_oldest(d);
	d->first = 0;
}

void hpack_decoder_free(struct hpack_decoder *d)
{
	if (!d)
		return;
	table_clear(d);
	free(d->ring);
	free(d);
}

void hpack_decoder_set_limit(struct hpack_decoder *d, uint32_t value)
{
	size_t v = value < d->cap ? value : d->cap;

	if (!d->unknown && v > d->limit)
		d->limit = v;
}

void hpack_decoder_forget(struct hpack_decoder *d)
{
	table_clear(d);
	d->unknown = true;
	/* the real limit and size are unknown: allow and assume the largest,
	 * which keeps entries at least as long as the real table does */
	d->limit = d->max_size = d->cap;
}

bool hpack_decoder_unknown(const struct hpack_decoder *d)
{
	return d->unknown;
}

size_t hpack_decoder_table_size(const struct hpack_decoder *d)
{
	return d->size;
}

size_t hpack_decoder_table_entries(const struct hpack_decoder *d)
{
	return d->n;
}

size_t hpack_decoder_max_size(const struct hpack_decoder *d)
{
	return d->max_size;
}

size_t hpack_decoder_buffered(const struct hpack_decoder *d)
{
	return d ? sizeof(*d) + d->ring_cap * sizeof(*d->ring) + d->heap : 0;
}

static int ring_reserve(struct hpack_decoder *d)
{
	size_t ncap;
	struct hp_entry *r;

	if (d->n < d->ring_cap)
		return 0;
	ncap = d->ring_cap ? d->ring_cap * 2 : 16;
	r = calloc(ncap, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < d->n; i++)
		r[i] = d->ring[(d->first + i) % d->ring_cap];
	free(d->ring);
	d->ring = r;
	d->ring_cap = ncap;
	d->first = 0;
	return 0;
}

/*
 * Adds an entry (name NULL: unknown name) after evicting what no longer fits.
 * name may point into an entry this insertion evicts (a literal with an
 * indexed name, RFC 7541 4.4): it is copied before anything is evicted.
 */
static int table_insert(struct hpack_decoder *d, const char *name, size_t nlen, const char *value,
			size_t vlen)
{
	size_t esize = (name ? nlen : 0) + vlen + ENTRY_OVERHEAD;
	struct hp_entry e = { NULL, NULL, (uint32_t)nlen, (uint32_t)vlen, esize };
	int err;

	if (name && esize <= d->max_size) {
		e.name = malloc(nlen + vlen + 2);
		if (!e.name)
			return -ENOMEM;
		memcpy(e.name, name, nlen);
		e.name[nlen] = '\0';
		e.value = e.name + nlen + 1;
		memcpy(e.value, value, vlen);
		e.value[vlen] = '\0';
	}
	while (d->n && d->size + esize > d->max_size)
		evict_oldest(d);
	/* an entry larger than the table empties it and is not added */
	if (esize > d->max_size)
		return 0;
	err = ring_reserve(d);
	if (err) {
		free(e.name);
		return err;
	}
	if (e.name)
		d->heap += nlen + vlen + 2;
	d->ring[(d->first + d->n) % d->ring_cap] = e;
	d->n++;
	d->size += esize;
	return 0;
}

static int size_update(struct hpack_decoder *d, uint32_t v)
{
	if (v > d->limit)
		return -EPROTO;
	d->max_size = v;
	while (d->n && d->size > d->max_size)
		evict_oldest(d);
	return 0;
}

/* Entry `index` with its lengths (strings may hold NUL bytes). */
static int entry_at(const struct hpack_decoder *d, size_t index, const char **name, size_t *nlen,
		    const char **value, size_t *vlen)
{
	const struct hp_entry *e;

	if (index == 0)
		return -ENOENT;
	if (index <= HPACK_STATIC_ENTRIES) {
		*name = static_table[index - 1].name;
		*value = static_table[index - 1].value;
		*nlen = strlen(*name);
		*vlen = strlen(*value);
		return 0;
	}
	index -= HPACK_STATIC_ENTRIES + 1;
	if (index >= d->n)
		return -ENOENT;
	e = &d->ring[(d->first + d->n - 1 - index) % d->ring_cap];
	if (!e->name)
		return -EAGAIN;
	*name = e->name;
	*value = e->value;
	*nlen = e->nlen;
	*vlen = e->vlen;
	return 0;
}

int hpack_decoder_entry(const struct hpack_decoder *d, size_t index, const char **name,
			const char **value)
{
	size_t nlen, vlen;

	return entry_at(d, index, name, &nlen, value, &vlen);
}

/*
 * A string literal at *p.  Raw strings point into the block; Huffman ones are
 * decoded into *buf (malloc'd, the caller frees).
 */
static int read_string(const uint8_t **p, const uint8_t *end, char **buf, const char **s, size_t *n)
{
	bool huffman;
	uint32_t len;
	size_t room;
	int err;

	if (*p >= end)
		return -EPROTO;
	huffman = **p & 0x80;
	err = hpack_decode_int(p, end, 7, &len);
	if (err)
		return err;
	if (len > (size_t)(end - *p))
		return -EPROTO;
	if (!huffman) {
		*s = (const char *)*p;
		*n = len;
		*p += len;
		return 0;
	}
	/* the shortest code is 5 bits: at most len * 8 / 5 symbols */
	room = (size_t)len * 8 / 5 + 1;
	*buf = malloc(room);
	if (!*buf)
		return -ENOMEM;
	err = hpack_huffman_decode(*p, len, *buf, room, n);
	if (err)
		return err == -ENOSPC ? -EPROTO : err;
	*s = *buf;
	*p += len;
	return 0;
}

/* Resolves a name or field index: 0, -EAGAIN (unknown to us), -EPROTO. */
static int lookup(const struct hpack_decoder *d, uint32_t index, const char **name, size_t *nlen,
		  const char **value, size_t *vlen)
{
	int err = entry_at(d, index, name, nlen, value, vlen);

	if (err == -ENOENT)
		return index && d->unknown ? -EAGAIN : -EPROTO;
	return err;
}

struct decode_state {
	hpack_field_cb cb;
	void *ctx;
	size_t list, max_list;
	unsigned flags;
};

static int deliver(struct decode_state *st, const char *name, size_t nlen, const char *value,
		   size_t vlen)
{
	if (st->flags & HPACK_OUT_TRUNCATED)
		return 0;
	st->list += nlen + vlen + ENTRY_OVERHEAD;
	if (st->list > st->max_list) {
		st->flags |= HPACK_OUT_TRUNCATED;
		return 0;
	}
	return st->cb ? st->cb(st->ctx, name, nlen, value, vlen) : 0;
}

/* One literal field representation; nbits is the prefix of its name index. */
static int literal(struct hpack_decoder *d, struct decode_state *st, const uint8_t **p,
		   const uint8_t *end, unsigned nbits, bool indexing)
{
	char *nbuf = NULL, *vbuf = NULL;
	const char *name = NULL, *value, *ignored;
	size_t nlen = 0, vlen, ignored_len;
	uint32_t index;
	int err;

	err = hpack_decode_int(p, end, nbits, &index);
	if (err)
		return err;
	if (index) {
		err = lookup(d, index, &name, &nlen, &ignored, &ignored_len);
		if (err == -EAGAIN) {
			name = NULL; /* the value still has to be skipped (and kept) */
			nlen = 0;
			err = 0;
		}
		if (err)
			return err;
	} else {
		err = read_string(p, end, &nbuf, &name, &nlen);
		if (err)
			goto out;
	}
	err = read_string(p, end, &vbuf, &value, &vlen);
	if (err)
		goto out;
	/* an indexed name lives in a table entry this insertion may evict */
	if (indexing && index && name) {
		nbuf = strndup(name, nlen);
		if (!nbuf) {
			err = -ENOMEM;
			goto out;
		}
		name = nbuf;
	}
	if (indexing) {
		err = table_insert(d, name, nlen, value, vlen);
		if (err)
			goto out;
	}
	if (name)
		err = deliver(st, name, nlen, value, vlen);
	else
		st->flags |= HPACK_OUT_PARTIAL;
out:
	free(nbuf);
	free(vbuf);
	return err;
}

int hpack_decode(struct hpack_decoder *d, const void *block, size_t len, size_t max_list,
		 hpack_field_cb cb, void *ctx, unsigned *out)
{
	const uint8_t *p = block, *end = p + len;
	struct decode_state st = { cb, ctx, 0, max_list, 0 };
	bool field_seen = false;
	uint32_t v;
	int err = 0;

	while (p < end && !err) {
		uint8_t b = *p;

		if (b & 0x80) { /* indexed field */
			const char *name, *value;
			size_t nlen, vlen;

			err = hpack_decode_int(&p, end, 7, &v);
			if (!err)
				err = lookup(d, v, &name, &nlen, &value, &vlen);
			if (err == -EAGAIN) {
				st.flags |= HPACK_OUT_PARTIAL;
				err = 0;
			} else if (!err) {
				err = deliver(&st, name, nlen, value, vlen);
			}
			field_seen = true;
		} else if ((b & 0xc0) == 0x40) { /* literal with incremental indexing */
			err = literal(d, &st, &p, end, 6, true);
			field_seen = true;
		} else if ((b & 0xe0) == 0x20) { /* dynamic table size update */
			/* RFC 7541 4.2: only at the beginning of a block */
			err = hpack_decode_int(&p, end, 5, &v);
			if (!err)
				err = field_seen ? -EPROTO : size_update(d, v);
		} else { /* literal without indexing / never indexed */
			err = literal(d, &st, &p, end, 4, false);
			field_seen = true;
		}
	}
	if (out)
		*out = st.flags;
	if (err)
		hpack_decoder_forget(d); /* what the block changed in the table is unknown */
	return err;
}
