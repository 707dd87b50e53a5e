// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "note.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define EM_DASH "\xe2\x80\x94"

int note_sign_checkpoint(const struct audit_key *k, const char *origin, uint64_t size,
			 const uint8_t root[MERKLE_HASH_LEN], char *out, size_t out_size)
{
	uint8_t sig[AUDIT_KEY_ID_LEN + AUDIT_SIG_LEN];
	char root64[64], sig64[128];
	int body, n, err;

	if (!origin[0] || strpbrk(origin, "\n\r") || strlen(origin) >= NOTE_ORIGIN_MAX)
		return -EINVAL;
	audit_b64(root, MERKLE_HASH_LEN, root64);
	body = snprintf(out, out_size, "%s\n%llu\n%s\n", origin, (unsigned long long)size, root64);
	if (body < 0 || (size_t)body >= out_size)
		return -ENOSPC;
	memcpy(sig, audit_key_id(k), AUDIT_KEY_ID_LEN);
	err = audit_key_sign(k, out, (size_t)body, sig + AUDIT_KEY_ID_LEN);
	if (err)
		return err;
	audit_b64(sig, sizeof(sig), sig64);
	n = snprintf(out + body, out_size - (size_t)body, "\n" EM_DASH " %s %s\n",
		     audit_key_name(k), sig64);
	if (n < 0 || (size_t)n >= out_size - (size_t)body)
		return -ENOSPC;
	return body + n;
}

/* Strict decimal: no sign, no leading zero (but "0"), fits 64 bits. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EBADMSG;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -EBADMSG;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_body(const char *p, size_t n, struct note_checkpoint *cp)
{
	const char *end = p + n, *l1 = memchr(p, '\n', n), *l2, *l3;

	if (!l1 || l1 == p || (size_t)(l1 - p) >= sizeof(cp->origin))
		return -EBADMSG;
	l2 = memchr(l1 + 1, '\n', (size_t)(end - l1 - 1));
	if (!l2)
		return -EBADMSG;
	l3 = memchr(l2 + 1, '\n', (size_t)(end - l2 - 1));
	if (!l3)
		return -EBADMSG;
	memcpy(cp->origin, p, (size_t)(l1 - p));
	cp->origin[l1 - p] = '\0';
	if (memchr(cp->origin, '\0', (size_t)(l1 - p)))
		return -EBADMSG;
	if (parse_u64(l1 + 1, (size_t)(l2 - l1 - 1), &cp->size) ||
	    audit_unb64(l2 + 1, (size_t)(l3 - l2 - 1), cp->root, MERKLE_HASH_LEN))
		return -EBADMSG;
	/* extension lines (anything after the root) are allowed and ignored */
	return 0;
}

int note_verify(const char *text, size_t len, const struct audit_key *k, size_t *body_out)
{
	const char *sep = NULL, *p, *end = text + len, *name = audit_key_name(k);
	size_t body_len, name_len = strlen(name);
	bool seen = false;

	if (len == 0 || len > NOTE_MAX || text[len - 1] != '\n' || memchr(text, '\0', len))
		return -EBADMSG;
	/* the signatures follow the last blank line */
	for (p = text; p + 1 < end; p++)
		if (p[0] == '\n' && p[1] == '\n')
			sep = p;
	if (!sep)
		return -EBADMSG;
	body_len = (size_t)(sep - text) + 1;
	for (p = sep + 2; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *sp;
		uint8_t sig[AUDIT_KEY_ID_LEN + AUDIT_SIG_LEN];
		size_t ln = (size_t)(eol - p);

		if (ln < 4 || memcmp(p, EM_DASH " ", 4) != 0)
			return -EBADMSG;
		sp = memchr(p + 4, ' ', ln - 4);
		if (!sp || sp == p + 4)
			return -EBADMSG;
		if ((size_t)(sp - p - 4) == name_len && memcmp(p + 4, name, name_len) == 0 &&
		    audit_unb64(sp + 1, (size_t)(eol - sp - 1), sig, sizeof(sig)) == 0 &&
		    memcmp(sig, audit_key_id(k), AUDIT_KEY_ID_LEN) == 0) {
			seen = true;
			if (!audit_key_verify(k, text, body_len, sig + AUDIT_KEY_ID_LEN))
				return -EKEYREJECTED;
		}
		p = eol + 1;
	}
	if (!seen)
		return -ENOKEY;
	*body_out = body_len;
	return 0;
}

int note_verify_checkpoint(const char *text, size_t len, const struct audit_key *k,
			   struct note_checkpoint *cp)
{
	size_t body_len;
	int err = note_verify(text, len, k, &body_len);

	return err ? err : parse_body(text, body_len, cp);
}
