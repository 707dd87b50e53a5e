/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * RFC 6962 (C2SP merkle-tree) hashing over the records of a chain: leaf =
 * SHA-256(0x00 || line), node = SHA-256(0x01 || left || right), and a
 * compact range (the roots of the perfect subtrees that make up the tree,
 * at most one per bit of the size) that gives the root at any size in
 * O(log n) memory and can be serialised so a verifier resumes mid-stream.
 */
#ifndef LLMTAP_AUDIT_MERKLE_H
#define LLMTAP_AUDIT_MERKLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN 32
#define MERKLE_MAX_LEVELS 64

struct merkle_range {
	uint64_t size; /* leaves appended */
	unsigned int n; /* == popcount(size) */
	/* subtree roots, largest (leftmost) first */
	uint8_t hashes[MERKLE_MAX_LEVELS][MERKLE_HASH_LEN];
};

/* SHA-256 of p (n bytes). Returns 0 or -ENOMEM. */
int merkle_sha256(const void *p, size_t n, uint8_t out[MERKLE_HASH_LEN]);
/* RFC 6962 leaf hash of data. Returns 0 or -ENOMEM. */
int merkle_leaf_hash(const void *data, size_t n, uint8_t out[MERKLE_HASH_LEN]);
/* RFC 6962 interior node hash. Returns 0 or -ENOMEM. */
int merkle_node_hash(const uint8_t l[MERKLE_HASH_LEN], const uint8_t r[MERKLE_HASH_LEN],
		     uint8_t out[MERKLE_HASH_LEN]);

void merkle_range_init(struct merkle_range *r);
/* Appends one leaf hash. Returns 0, -EOVERFLOW at 2^64 - 1 leaves, -ENOMEM. */
int merkle_range_append(struct merkle_range *r, const uint8_t leaf[MERKLE_HASH_LEN]);
/* The tree head at r->size (SHA-256 of "" for the empty tree). 0 or -ENOMEM. */
int merkle_range_root(const struct merkle_range *r, uint8_t out[MERKLE_HASH_LEN]);

/* {"size":N,"hashes":["<hex>",...]}; NULL on -ENOMEM. */
json_t *merkle_range_to_json(const struct merkle_range *r);
/* Parses what merkle_range_to_json wrote; -EINVAL unless the number of
 * hashes matches the size and each is 64 lower-case hex digits. */
int merkle_range_from_json(const json_t *j, struct merkle_range *r);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void merkle_hex(const uint8_t *p, size_t n, char *out);
/* Decodes exactly 2n lower- or upper-case hex digits; 0 or -EINVAL. */
int merkle_unhex(const char *s, size_t slen, uint8_t *out, size_t n);

#endif
