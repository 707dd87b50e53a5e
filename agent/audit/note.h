/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Checkpoints as C2SP signed notes (c2sp.org/signed-note,
 * c2sp.org/tlog-checkpoint): the body "<origin>\n<size>\n<base64 root>\n"
 * followed by a blank line and "— <key name> <base64(key id || sig)>\n",
 * the Ed25519 signature being over the body bytes.
 */
#ifndef LLMTAP_AUDIT_NOTE_H
#define LLMTAP_AUDIT_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "audit/keys.h"
#include "audit/merkle.h"

#define NOTE_MAX 4096
#define NOTE_ORIGIN_MAX 256

struct note_checkpoint {
	char origin[NOTE_ORIGIN_MAX];
	uint64_t size;
	uint8_t root[MERKLE_HASH_LEN];
};

/*
 * The signed checkpoint note for (origin, size, root) into out (NUL-
 * terminated).  Returns its length, -ENOSPC, -EINVAL (origin with a
 * newline or empty), or the signing error.
 */
int note_sign_checkpoint(const struct audit_key *k, const char *origin, uint64_t size,
			 const uint8_t root[MERKLE_HASH_LEN], char *out, size_t out_size);

/*
 * Verifies a signed note (len bytes) with key k: *body_len is the length
 * of the signed text.  Signatures by other keys are ignored (C2SP), one by
 * k must verify.  Returns 0, -EBADMSG (malformed), -ENOKEY (no signature
 * line for k), -EKEYREJECTED (k's signature does not verify).
 */
int note_verify(const char *text, size_t len, const struct audit_key *k, size_t *body_len);

/*
 * Verifies a signed note (len bytes) with key k and parses its body as a
 * checkpoint into cp.  Signatures by other keys are ignored (C2SP), one by
 * k must verify.  Returns 0, -EBADMSG (malformed note or body), -ENOKEY
 * (no signature line for k), -EKEYREJECTED (k's signature does not verify).
 */
int note_verify_checkpoint(const char *text, size_t len, const struct audit_key *k,
			   struct note_checkpoint *cp);

#endif
