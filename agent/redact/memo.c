// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "memo.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* What one record may keep; past this, results are returned, not kept. */
#define MEMO_MAX_STRINGS (1u << 18)
#define MEMO_MAX_MATCHES (1u << 19) /* 16 MiB of matches */
/* After a record that needed more than this, the storage is given back. */
#define MEMO_KEEP_MATCHES (1u << 14)
#define MEMO_KEEP_SLOTS (1u << 12)

struct memo_ent {
	const char *s;
	size_t len;
	uint64_t mask;
	uint32_t off, n; /* matches m[off .. off + n) */
	uint32_t gen; /* the slot is in use when gen == memo gen */
};

struct detect_memo {
	const void *rec;
	uint32_t gen;
	struct memo_ent *tab;
	size_t slots, used; /* slots: a power of two */
	struct detect_match *m;
	size_t nm, cap;
	size_t unkept; /* > 0: m[nm - unkept .. nm) is the last result, not kept */
	int err;
};

int detect_memo_new(struct detect_memo **out)
{
	struct detect_memo *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return -ENOMEM;
	m->gen = 1;
	*out = m;
	return 0;
}

void detect_memo_free(struct detect_memo *m)
{
	if (!m)
		return;
	free(m->tab);
	free(m->m);
	free(m);
}

void detect_memo_reset(struct detect_memo *m, const void *rec)
{
	m->rec = rec;
	m->used = 0;
	m->nm = 0;
	m->unkept = 0;
	if (m->cap > MEMO_KEEP_MATCHES) {
		free(m->m);
		m->m = NULL;
		m->cap = 0;
	}
	if (m->slots > MEMO_KEEP_SLOTS) {
		free(m->tab);
		m->tab = NULL;
		m->slots = 0;
	}
	/* a new generation empties every slot at once */
	if (++m->gen == 0) {
		if (m->tab)
			memset(m->tab, 0, m->slots * sizeof(*m->tab));
		m->gen = 1;
	}
}

const void *detect_memo_record(const struct detect_memo *m)
{
	return m ? m->rec : NULL;
}

static size_t slot_of(const char *s, size_t len, size_t mask)
{
	uint64_t h = ((uint64_t)(uintptr_t)s ^ ((uint64_t)len << 40)) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & mask;
}

static const struct memo_ent *find(const struct detect_memo *m, const char *s, size_t len,
				   uint64_t mask)
{
	if (!m->slots)
		return NULL;
	for (size_t i = slot_of(s, len, m->slots - 1);; i = (i + 1) & (m->slots - 1)) {
		const struct memo_ent *e = &m->tab[i];

		if (e->gen != m->gen)
			return NULL;
		if (e->s == s && e->len == len && e->mask == mask)
			return e;
	}
}

int detect_memo_find(const struct detect_memo *m, const char *s, size_t len, uint64_t mask,
		     const struct detect_match **out, size_t *n)
{
	const struct memo_ent *e = m ? find(m, s, len, mask) : NULL;

	if (!e)
		return -ENOENT;
	*out = e->n ? m->m + e->off : NULL;
	*n = e->n;
	return 0;
}

/* Room for one more entry at load 1/2; false at the cap or without memory. */
static bool grow_table(struct detect_memo *m)
{
	struct memo_ent *old = m->tab, *tab;
	size_t n = m->slots ? m->slots * 2 : 256;

	if ((m->used + 1) * 2 <= m->slots)
		return true;
	if (m->used + 1 > MEMO_MAX_STRINGS)
		return false;
	tab = calloc(n, sizeof(*tab));
	if (!tab)
		return false;
	for (size_t i = 0; i < m->slots; i++) {
		size_t k;

		if (old[i].gen != m->gen)
			continue;
		for (k = slot_of(old[i].s, old[i].len, n - 1); tab[k].gen == m->gen;
		     k = (k + 1) & (n - 1))
			;
		tab[k] = old[i];
	}
	free(old);
	m->tab = tab;
	m->slots = n;
	return true;
}

static int collect(const struct detect_match *dm, void *ctx)
{
	struct detect_memo *m = ctx;

	if (m->nm == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct detect_match *p = realloc(m->m, cap * sizeof(*p));

		if (!p) {
			m->err = -ENOMEM;
			return 1;
		}
		m->m = p;
		m->cap = cap;
	}
	m->m[m->nm++] = *dm;
	return 0;
}

int detect_memo_scan(struct detect_memo *m, const struct detector *d, const char *s, size_t len,
		     uint64_t mask, const struct detect_match **out, size_t *n)
{
	const struct memo_ent *e = find(m, s, len, mask);
	size_t start;
	int rc;

	if (e) {
		*out = e->n ? m->m + e->off : NULL;
		*n = e->n;
		return 0;
	}
	/* the previous result was not kept: its room is reused */
	m->nm -= m->unkept;
	m->unkept = 0;
	start = m->nm;
	m->err = 0;
	rc = detect_scan(d, s, len, mask, collect, m);
	if (rc >= 0 && m->err)
		rc = m->err;
	if (rc < 0) {
		m->nm = start;
		return rc;
	}
	*out = m->nm > start ? m->m + start : NULL;
	*n = m->nm - start;
	if (m->nm <= MEMO_MAX_MATCHES && m->nm <= UINT32_MAX && grow_table(m)) {
		size_t i = slot_of(s, len, m->slots - 1);

		while (m->tab[i].gen == m->gen)
			i = (i + 1) & (m->slots - 1);
		m->tab[i] =
			(struct memo_ent){ s, len, mask, (uint32_t)start, (uint32_t)*n, m->gen };
		m->used++;
	} else {
		m->unkept = *n;
	}
	return 0;
}
