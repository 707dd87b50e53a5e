// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "merkle.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

/* SHA-256 of a one-byte prefix (or none, prefix < 0) then up to two parts */
static int sha256_parts(int prefix, const void *a, size_t an, const void *b, size_t bn,
			uint8_t out[MERKLE_HASH_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char pre = (unsigned char)prefix;
	unsigned int len = 0;
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	     (prefix < 0 || EVP_DigestUpdate(ctx, &pre, 1)) &&
	     (!an || EVP_DigestUpdate(ctx, a, an)) && (!bn || EVP_DigestUpdate(ctx, b, bn)) &&
	     EVP_DigestFinal_ex(ctx, out, &len) && len == MERKLE_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -ENOMEM;
}

int merkle_sha256(const void *p, size_t n, uint8_t out[MERKLE_HASH_LEN])
{
	return sha256_parts(-1, p, n, NULL, 0, out);
}

int merkle_leaf_hash(const void *data, size_t n, uint8_t out[MERKLE_HASH_LEN])
{
	return sha256_parts(0x00, data, n, NULL, 0, out);
}

int merkle_node_hash(const uint8_t l[MERKLE_HASH_LEN], const uint8_t r[MERKLE_HASH_LEN],
		     uint8_t out[MERKLE_HASH_LEN])
{
	return sha256_parts(0x01, l, MERKLE_HASH_LEN, r, MERKLE_HASH_LEN, out);
}

void merkle_range_init(struct merkle_range *r)
{
	memset(r, 0, sizeof(*r));
}

int merkle_range_append(struct merkle_range *r, const uint8_t leaf[MERKLE_HASH_LEN])
{
	uint8_t h[MERKLE_HASH_LEN];
	uint64_t s = r->size;
	int err;

	if (r->size == UINT64_MAX)
		return -EOVERFLOW;
	memcpy(h, leaf, sizeof(h));
	/* each trailing 1 bit of the size is a perfect subtree the new leaf completes */
	while (s & 1) {
		err = merkle_node_hash(r->hashes[r->n - 1], h, h);
		if (err)
			return err;
		r->n--;
		s >>= 1;
	}
	memcpy(r->hashes[r->n++], h, sizeof(h));
	r->size++;
	return 0;
}

int merkle_range_root(const struct merkle_range *r, uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t h[MERKLE_HASH_LEN];
	int err;

	if (r->n == 0)
		return merkle_sha256("", 0, out);
	/* RFC 6962 splits at the largest power of two: fold right to left */
	memcpy(h, r->hashes[r->n - 1], sizeof(h));
	for (unsigned int i = r->n - 1; i-- > 0;) {
		err = merkle_node_hash(r->hashes[i], h, h);
		if (err)
			return err;
	}
	memcpy(out, h, sizeof(h));
	return 0;
}

void merkle_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int merkle_unhex(const char *s, size_t slen, uint8_t *out, size_t n)
{
	if (slen != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

json_t *merkle_range_to_json(const struct merkle_range *r)
{
	json_t *o = json_object(), *a = json_array();
	char hex[2 * MERKLE_HASH_LEN + 1];

	if (!o || !a)
		goto fail;
	if (json_object_set_new(o, "size", json_integer((json_int_t)r->size)))
		goto fail;
	for (unsigned int i = 0; i < r->n; i++) {
		merkle_hex(r->hashes[i], MERKLE_HASH_LEN, hex);
		if (json_array_append_new(a, json_string(hex)))
			goto fail;
	}
	if (json_object_set_new(o, "hashes", a))
		goto fail_o;
	return o;
fail:
	json_decref(a);
fail_o:
	json_decref(o);
	return NULL;
}

int merkle_range_from_json(const json_t *j, struct merkle_range *r)
{
	const json_t *size = json_object_get(j, "size"), *hashes = json_object_get(j, "hashes");
	struct merkle_range tmp;
	json_int_t sz;

	if (!json_is_integer(size) || !json_is_array(hashes))
		return -EINVAL;
	sz = json_integer_value(size);
	if (sz < 0 || json_array_size(hashes) != (size_t)__builtin_popcountll((uint64_t)sz))
		return -EINVAL;
	merkle_range_init(&tmp);
	tmp.size = (uint64_t)sz;
	tmp.n = (unsigned int)json_array_size(hashes);
	for (unsigned int i = 0; i < tmp.n; i++) {
		const json_t *h = json_array_get(hashes, i);

		if (!json_is_string(h) || merkle_unhex(json_string_value(h), json_string_length(h),
						       tmp.hashes[i], MERKLE_HASH_LEN))
			return -EINVAL;
	}
	*r = tmp;
	return 0;
}
