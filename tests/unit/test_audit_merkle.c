// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * RFC 6962 tree heads.  Expected roots were computed independently (python
 * hashlib, MTH() as RFC 6962 §2.1 defines it): sizes 0..8 over the leaves
 * of the RFC 6962 / certificate-transparency test vectors (sizes 1 and 8
 * match the published 6e340b9c... and 5dc9da79...), and larger trees over
 * "leaf-<i>".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "audit/merkle.h"

static const struct {
	const char *data;
	size_t len;
} ct_leaves[] = {
	{ "", 0 },
	{ "\x00", 1 },
	{ "\x10", 1 },
	{ "\x20\x21", 2 },
	{ "\x30\x31", 2 },
	{ "\x40\x41\x42\x43", 4 },
	{ "\x50\x51\x52\x53\x54\x55\x56\x57", 8 },
	{ "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16 },
};

static const char *const ct_roots[] = {
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static void root_hex(const struct merkle_range *r, char out[65])
{
	uint8_t root[MERKLE_HASH_LEN];

	ASSERT_EQ(merkle_range_root(r, root), 0);
	merkle_hex(root, sizeof(root), out);
}

TEST(audit_merkle_rfc6962_vectors)
{
	struct merkle_range r;
	char hex[65];

	merkle_range_init(&r);
	root_hex(&r, hex);
	ASSERT_STREQ(hex, ct_roots[0]);
	for (size_t i = 0; i < 8; i++) {
		uint8_t leaf[MERKLE_HASH_LEN];

		ASSERT_EQ(merkle_leaf_hash(ct_leaves[i].data, ct_leaves[i].len, leaf), 0);
		ASSERT_EQ(merkle_range_append(&r, leaf), 0);
		ASSERT_UEQ(r.size, i + 1);
		ASSERT_UEQ(r.n, (unsigned)__builtin_popcountll(r.size));
		root_hex(&r, hex);
		ASSERT_STREQ(hex, ct_roots[i + 1]);
	}
}

TEST(audit_merkle_larger_trees_and_resume)
{
	static const struct {
		size_t size;
		const char *root;
	} want[] = {
		{ 13, "a8ef4844c8e1d5ba49c811cdb86e95791f5d32ca7d9709afda28fdf65e949a53" },
		{ 64, "11206652df8512a0fbdc024270fcb6e4f72b5a9414f34e92f880242f6926f9a9" },
		{ 100, "951b744704efaf33c0d9b4db1d656e9a9798959de4823f96396bd28baf5979ef" },
		{ 1000, "84453b515db221e015241f91778d541a91e27472a3cbbd4922b023b180456359" },
	};
	struct merkle_range r, resumed;
	size_t w = 0;
	char hex[65], buf[32];

	merkle_range_init(&r);
	for (size_t i = 0; i < 1000; i++) {
		uint8_t leaf[MERKLE_HASH_LEN];
		int n = snprintf(buf, sizeof(buf), "leaf-%zu", i);

		/* at 100 leaves, serialise and continue from the copy (a verifier resuming) */
		if (r.size == 100) {
			json_t *j = merkle_range_to_json(&r);

			ASSERT_TRUE(j != NULL);
			ASSERT_EQ(merkle_range_from_json(j, &resumed), 0);
			json_decref(j);
			r = resumed;
		}
		ASSERT_EQ(merkle_leaf_hash(buf, (size_t)n, leaf), 0);
		ASSERT_EQ(merkle_range_append(&r, leaf), 0);
		if (w < 4 && r.size == want[w].size) {
			root_hex(&r, hex);
			ASSERT_STREQ(hex, want[w].root);
			w++;
		}
	}
	ASSERT_UEQ(w, 4);
}

TEST(audit_merkle_range_json_rejects_inconsistent)
{
	struct merkle_range r;
	json_t *j = json_loads("{\"size\":3,\"hashes\":[\"" /* one hash for size 3: needs 2 */
			       "00000000000000000000000000000000"
			       "00000000000000000000000000000000\"]}",
			       0, NULL);

	ASSERT_TRUE(j != NULL);
	ASSERT_EQ(merkle_range_from_json(j, &r), -EINVAL);
	json_decref(j);
	j = json_loads("{\"size\":1,\"hashes\":[\"zz\"]}", 0, NULL);
	ASSERT_EQ(merkle_range_from_json(j, &r), -EINVAL);
	json_decref(j);
	j = json_loads("{\"size\":-1,\"hashes\":[]}", 0, NULL);
	ASSERT_EQ(merkle_range_from_json(j, &r), -EINVAL);
	json_decref(j);
}
