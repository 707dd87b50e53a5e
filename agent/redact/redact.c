// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "redact.h"
#include "redact/memo.h"
#include "util/base64.h"
#include "util/fileio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* U+2026 HORIZONTAL ELLIPSIS: what partial mode left out */
#define ELLIPSIS "\xE2\x80\xA6"

/*
 * The hmac tokens of recent values: a value seen again (a conversation's
 * history repeats in every request) costs a lookup, not an HMAC (~12k
 * instructions).  Direct-mapped; holds values the record holds anyway, and
 * is wiped when the redactor is freed.
 */
#define TOKEN_CACHE_SLOTS 256
#define TOKEN_CACHE_VALUE 96
#define TOKEN_CACHE_TOKEN 40

struct token_ent {
	uint8_t used, entity, len, tlen;
	char value[TOKEN_CACHE_VALUE];
	char token[TOKEN_CACHE_TOKEN];
};

struct redactor {
	struct detector *det;
	struct redact_config cfg;
	EVP_MAC *mac;
	EVP_MAC_CTX *keyed; /* HMAC-SHA256 initialised with the key; duplicated per token */
	struct token_ent *tokens; /* [TOKEN_CACHE_SLOTS] */
};

/* The entity set and modes in force for one record. */
struct policy {
	uint64_t mask; /* detect_scan mask: entities + DETECT_SCAN_PRIVATE_IPS */
	enum redact_mode mode[DETECT_ENTITY_COUNT];
};

static const char *const mode_names[REDACT_MODE_COUNT] = { "hmac", "mask", "partial", "drop" };

/* How much a mode hides, for merging overrides. */
static int mode_strength(enum redact_mode m)
{
	static const int strength[REDACT_MODE_COUNT] = {
		[REDACT_PARTIAL] = 0, [REDACT_HMAC] = 1, [REDACT_MASK] = 2, [REDACT_DROP] = 3
	};

	return (unsigned)m < REDACT_MODE_COUNT ? strength[m] : 2;
}

#define REDACTABLE (DETECT_ALL_ENTITIES & ~DETECT_BIT(DETECT_INVISIBLE_UNICODE))

void redact_config_default(struct redact_config *c)
{
	memset(c, 0, sizeof(*c));
	c->enabled = REDACTABLE;
	for (int i = 0; i < DETECT_ENTITY_COUNT; i++)
		c->mode[i] = REDACT_HMAC;
	c->private_ips = false;
}

int redact_mode_parse(const char *name, enum redact_mode *out)
{
	for (int i = 0; i < REDACT_MODE_COUNT; i++)
		if (strcasecmp(name, mode_names[i]) == 0) {
			*out = (enum redact_mode)i;
			return 0;
		}
	return -EINVAL;
}

const char *redact_mode_name(enum redact_mode m)
{
	return (unsigned)m < REDACT_MODE_COUNT ? mode_names[m] : NULL;
}

void redact_policy_init(struct redact_policy *p)
{
	memset(p, 0, sizeof(*p));
}

void redact_policy_set(struct redact_policy *p, uint64_t entities, enum redact_mode m)
{
	entities &= REDACTABLE;
	for (int i = 0; i < DETECT_ENTITY_COUNT; i++) {
		if (!(entities & DETECT_BIT(i)))
			continue;
		if (!(p->entities & DETECT_BIT(i)) || mode_strength(m) > mode_strength(p->mode[i]))
			p->mode[i] = m;
	}
	p->entities |= entities;
}

static void policy_of(const struct redactor *r, const struct redact_policy *o, struct policy *p)
{
	bool priv = r->cfg.private_ips;

	p->mask = r->cfg.enabled & REDACTABLE;
	memcpy(p->mode, r->cfg.mode, sizeof(p->mode));
	if (o) {
		p->mask |= o->entities & REDACTABLE;
		for (int i = 0; i < DETECT_ENTITY_COUNT; i++)
			if (o->entities & DETECT_BIT(i))
				p->mode[i] = o->mode[i];
		priv |= o->private_ips;
	}
	if (priv)
		p->mask |= DETECT_SCAN_PRIVATE_IPS;
}

/* ---- the key ---- */

static int read_key(int fd, uint8_t key[REDACT_KEY_LEN])
{
	struct stat st;
	size_t got = 0;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size != REDACT_KEY_LEN)
		return -EINVAL;
	/* a pseudonymisation key others can read links records for them */
	if ((st.st_mode & 077) || st.st_uid != geteuid())
		return -EPERM;
	while (got < REDACT_KEY_LEN) {
		ssize_t k = read(fd, key + got, REDACT_KEY_LEN - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EINVAL;
		got += (size_t)k;
	}
	return 0;
}

static int load_existing(const char *path, uint8_t key[REDACT_KEY_LEN])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), err;

	if (fd < 0)
		return -errno;
	err = read_key(fd, key);
	close(fd);
	return err;
}

/* Creates the key file's directory (one level, mode 0700) if missing. */
static int make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int random_bytes(uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = getrandom(p, n, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int redact_key_load(const char *path, uint8_t key[REDACT_KEY_LEN])
{
	uint8_t fresh[REDACT_KEY_LEN];
	char tmp[PATH_MAX];
	int fd, err;

	if (!path || !path[0])
		return -EINVAL;
	err = load_existing(path, key);
	if (err != -ENOENT)
		return err;
	err = make_parent(path);
	if (err)
		return err;
	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* written under a private name, then linked: a reader never sees a
	 * partial key, and of two agents starting at once one key wins */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	err = random_bytes(fresh, sizeof(fresh));
	if (!err && fchmod(fd, 0600) != 0)
		err = -errno;
	if (!err)
		err = fileio_write_all(fd, fresh, sizeof(fresh));
	if (!err && fsync(fd) != 0)
		err = -errno;
	if (close(fd) != 0 && !err)
		err = -errno;
	if (!err && link(tmp, path) != 0)
		err = -errno;
	unlink(tmp);
	if (err == -EEXIST)
		err = load_existing(path, key);
	else if (!err)
		memcpy(key, fresh, sizeof(fresh));
	explicit_bzero(fresh, sizeof(fresh));
	return err;
}

/* ---- the redactor ---- */

int redact_new(const struct redact_config *c, const uint8_t key[REDACT_KEY_LEN],
	       struct redactor **out)
{
	OSSL_PARAM params[2];
	struct redactor *r;
	int err;

	*out = NULL;
	if (!c || !key)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->cfg = *c;
	r->tokens = calloc(TOKEN_CACHE_SLOTS, sizeof(*r->tokens));
	if (!r->tokens) {
		err = -ENOMEM;
		goto fail;
	}
	err = detect_new(&r->det);
	if (err)
		goto fail;
	err = -ENOMEM;
	r->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	r->keyed = r->mac ? EVP_MAC_CTX_new(r->mac) : NULL;
	if (!r->keyed)
		goto fail;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(r->keyed, key, REDACT_KEY_LEN, params))
		goto fail;
	*out = r;
	return 0;
fail:
	redact_free(r);
	return err;
}

void redact_free(struct redactor *r)
{
	if (!r)
		return;
	EVP_MAC_CTX_free(r->keyed); /* OpenSSL clears the key it holds */
	EVP_MAC_free(r->mac);
	detect_free(r->det);
	if (r->tokens)
		explicit_bzero(r->tokens, TOKEN_CACHE_SLOTS * sizeof(*r->tokens));
	free(r->tokens);
	free(r);
}

const struct detector *redact_detector(const struct redactor *r)
{
	return r ? r->det : NULL;
}

/* ---- tokens ---- */

/*
 * The form of a value that is hashed, so that one value written two ways
 * gets one pseudonym: e-mail lower-cased, card and SSN digits, phones in
 * E.164, IBANs upper-case without spaces, IPv6 in canonical form.  Returns
 * the length; *out points into buf or at v itself.
 */
static size_t normalise(enum detect_entity e, const char *v, size_t n, char *buf, size_t size,
			const char **out)
{
	size_t o = 0;

	*out = buf;
	if (n >= size)
		goto raw;
	switch (e) {
	case DETECT_EMAIL:
		for (size_t i = 0; i < n; i++)
			buf[o++] = (char)((v[i] >= 'A' && v[i] <= 'Z') ? v[i] + 32 : v[i]);
		return o;
	case DETECT_CREDIT_CARD:
	case DETECT_US_SSN:
	case DETECT_PHONE: {
		size_t digits = 0;

		for (size_t i = 0; i < n; i++)
			digits += v[i] >= '0' && v[i] <= '9';
		if (e == DETECT_PHONE) {
			/* NANP without a country code is +1 */
			buf[o++] = '+';
			if (v[0] != '+' && digits == 10)
				buf[o++] = '1';
		}
		for (size_t i = 0; i < n; i++)
			if (v[i] >= '0' && v[i] <= '9')
				buf[o++] = v[i];
		return o;
	}
	case DETECT_IBAN:
		for (size_t i = 0; i < n; i++)
			if (v[i] != ' ')
				buf[o++] = (char)((v[i] >= 'a' && v[i] <= 'z') ? v[i] - 32 : v[i]);
		return o;
	case DETECT_IP_ADDRESS: {
		struct in6_addr a;
		char in[64];

		if (!memchr(v, ':', n) || n >= sizeof(in) || size < INET6_ADDRSTRLEN)
			goto raw;
		memcpy(in, v, n);
		in[n] = '\0';
		if (inet_pton(AF_INET6, in, &a) != 1 ||
		    !inet_ntop(AF_INET6, &a, buf, (socklen_t)size))
			goto raw;
		return strlen(buf);
	}
	default:
		break;
	}
raw:
	*out = v;
	return n;
}

static int hmac_sha256(const struct redactor *r, const char *name, const char *v, size_t n,
		       unsigned char mac[32])
{
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(r->keyed);
	size_t len = 0;
	int ok;

	if (!c)
		return -ENOMEM;
	/* the NUL keeps "entity || value" unambiguous */
	ok = EVP_MAC_update(c, (const unsigned char *)name, strlen(name) + 1) &&
	     EVP_MAC_update(c, (const unsigned char *)v, n) && EVP_MAC_final(c, mac, &len, 32);
	EVP_MAC_CTX_free(c);
	return ok && len == 32 ? 0 : -ENOMEM;
}

/* The public prefix of a token format ("sk-proj-", "ghp_"): shown by
 * partial mode, it says what kind of credential leaked and nothing more. */
static size_t secret_prefix(enum detect_entity e, const char *v, size_t n)
{
	static const struct {
		enum detect_entity e;
		const char *prefix;
	} known[] = {
		{ DETECT_OPENAI_KEY, "sk-proj-" },   { DETECT_OPENAI_KEY, "sk-svcacct-" },
		{ DETECT_OPENAI_KEY, "sk-admin-" },  { DETECT_OPENAI_KEY, "sk-" },
		{ DETECT_ANTHROPIC_KEY, "sk-ant-" }, { DETECT_GITHUB_TOKEN, "github_pat_" },
		{ DETECT_GITLAB_TOKEN, "glpat-" },   { DETECT_STRIPE_KEY, "sk_live_" },
		{ DETECT_STRIPE_KEY, "rk_live_" },   { DETECT_HUGGINGFACE_TOKEN, "hf_" },
		{ DETECT_GOOGLE_API_KEY, "AIza" },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		size_t l = strlen(known[i].prefix);

		if (known[i].e == e && n > l && memcmp(v, known[i].prefix, l) == 0)
			return l;
	}
	if ((e == DETECT_GITHUB_TOKEN || e == DETECT_AWS_ACCESS_KEY) && n > 4)
		return 4; /* ghp_, AKIA */
	if (e == DETECT_SLACK_TOKEN && n > 5)
		return 5; /* xoxb- */
	return 0;
}

static int partial_token(enum detect_entity e, const char *name, const char *v, size_t n, char *buf,
			 size_t size)
{
	char norm[512];
	const char *nv;
	size_t nn, pl;

	switch (e) {
	case DETECT_CREDIT_CARD:
	case DETECT_US_SSN:
	case DETECT_PHONE:
	case DETECT_IBAN:
		/* at most the last four (PCI DSS 3.4.1 allows no more with a PAN) */
		nn = normalise(e, v, n, norm, sizeof(norm), &nv);
		if (nn < 8)
			break;
		return snprintf(buf, size, "[%s:" ELLIPSIS "%.*s]", name, 4, nv + nn - 4);
	case DETECT_EMAIL: {
		const char *at = memchr(v, '@', n);
		size_t dl = at ? n - (size_t)(at - v) - 1 : 0;

		/* the domain alone says which organisation, not who */
		if (!at || dl == 0 || dl > 80)
			break;
		nn = normalise(e, at + 1, dl, norm, sizeof(norm), &nv);
		return snprintf(buf, size, "[EMAIL:" ELLIPSIS "@%.*s]", (int)nn, nv);
	}
	default:
		pl = secret_prefix(e, v, n);
		if (!pl)
			break;
		return snprintf(buf, size, "[%s:%.*s" ELLIPSIS "]", name, (int)pl, v);
	}
	return snprintf(buf, size, "[REDACTED:%s]", name);
}

static struct token_ent *token_slot(const struct redactor *r, enum detect_entity e, const char *v,
				    size_t n)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)e;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)v[i]) * 1099511628211ull;
	return &r->tokens[(h ^ (h >> 29)) & (TOKEN_CACHE_SLOTS - 1)];
}

static int hmac_token(const struct redactor *r, enum detect_entity e, const char *name,
		      const char *value, size_t len, char *buf, size_t size)
{
	/* the cache is the redactor's own state, which one thread uses */
	struct token_ent *t = len <= TOKEN_CACHE_VALUE ? token_slot(r, e, value, len) : NULL;
	unsigned char mac[32];
	char norm[512];
	const char *nv;
	size_t nn;
	int err, tl;

	if (t && t->used && t->entity == e && t->len == len && memcmp(t->value, value, len) == 0) {
		memcpy(buf, t->token, t->tlen + 1u);
		return t->tlen;
	}
	nn = normalise(e, value, len, norm, sizeof(norm), &nv);
	err = hmac_sha256(r, name, nv, nn, mac);
	explicit_bzero(norm, sizeof(norm));
	if (err)
		return err;
	tl = snprintf(buf, size, "[%s:%02x%02x%02x%02x]", name, mac[0], mac[1], mac[2], mac[3]);
	if (t && tl > 0 && tl < TOKEN_CACHE_TOKEN) {
		t->used = 1;
		t->entity = (uint8_t)e;
		t->len = (uint8_t)len;
		memcpy(t->value, value, len);
		memcpy(t->token, buf, (size_t)tl + 1);
		t->tlen = (uint8_t)tl;
	}
	return tl;
}

int redact_token(const struct redactor *r, enum detect_entity e, enum redact_mode m,
		 const char *value, size_t len, char *buf, size_t size)
{
	const char *name = detect_entity_name(e);

	if (!r || !name || !buf || (!value && len))
		return -EINVAL;
	if (size < REDACT_TOKEN_MAX)
		return -ENOSPC;
	switch (m) {
	case REDACT_HMAC:
		return hmac_token(r, e, name, value, len, buf, size);
	case REDACT_PARTIAL:
		return partial_token(e, name, value, len, buf, size);
	default:
		return snprintf(buf, size, "[REDACTED:%s]", name);
	}
}

/* ---- text ---- */

struct matches {
	struct detect_match *m;
	size_t n, cap;
	int err;
	struct detect_match inline_m[8];
};

static int collect(const struct detect_match *m, void *ctx)
{
	struct matches *ml = ctx;

	if (ml->n == ml->cap) {
		size_t cap = ml->cap * 2;
		struct detect_match *p;

		if (ml->m == ml->inline_m) {
			p = malloc(cap * sizeof(*p));
			if (p)
				memcpy(p, ml->m, ml->n * sizeof(*p));
		} else {
			p = realloc(ml->m, cap * sizeof(*p));
		}
		if (!p) {
			ml->err = -ENOMEM;
			return 1;
		}
		ml->m = p;
		ml->cap = cap;
	}
	ml->m[ml->n++] = *m;
	return 0;
}

/* Builds in *out the text with every match of ml replaced by its token. */
static int apply(const struct redactor *r, const struct policy *p, const char *s, size_t n,
		 const struct matches *ml, char **out, size_t *out_len, unsigned *counts,
		 bool *drop)
{
	char *o = malloc(n + ml->n * REDACT_TOKEN_MAX + 1);
	size_t pos = 0, w = 0;

	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < ml->n; i++) {
		const struct detect_match *m = &ml->m[i];
		enum redact_mode mode = p->mode[m->entity];
		int tl;

		memcpy(o + w, s + pos, m->start - pos);
		w += m->start - pos;
		if (mode == REDACT_DROP)
			*drop = true;
		tl = redact_token(r, m->entity, mode, s + m->start, m->len, o + w,
				  REDACT_TOKEN_MAX);
		if (tl < 0) {
			free(o);
			return tl;
		}
		/* snprintf said how much it wanted: never more than it wrote */
		w += (size_t)tl < REDACT_TOKEN_MAX ? (size_t)tl : REDACT_TOKEN_MAX - 1;
		pos = m->start + m->len;
		if (counts)
			counts[m->entity]++;
	}
	memcpy(o + w, s + pos, n - pos);
	w += n - pos;
	o[w] = '\0';
	*out = o;
	*out_len = w;
	return 0;
}

/* A byte no detector reads as part of a token, a separator or context. */
static bool hard_boundary(const char *s, size_t n, size_t i)
{
	unsigned char c = i < n ? (unsigned char)s[i] : ' ';

	/* not '(' or '+': a phone number may start there, after a boundary */
	if (c && strchr(" \t\r\n\"'`)[]{}<>,;!?|", c))
		return true;
	/* sentence punctuation: a '.' or ':' before a space or the end */
	return (c == '.' || c == ':') && (i + 1 >= n || s[i + 1] == ' ' || s[i + 1] == '\n');
}

/*
 * Whether replacing the matches can change what the detectors see: only
 * through what was set aside for an overlapping match, through a neighbour
 * whose boundary the replacement changes (a token starts with '[' and ends
 * with ']'), or through the word "SSN" in a US_SSN token (context for a
 * bare 9-digit number).  When none applies the result needs no second scan.
 */
static bool settled(const char *s, size_t n, const struct matches *ml)
{
	for (size_t i = 0; i < ml->n; i++) {
		const struct detect_match *m = &ml->m[i];

		if ((m->flags & DETECT_F_DISPLACED) || m->entity == DETECT_US_SSN)
			return false;
		/* before a value, '=' is read by nothing that the value's first
		 * byte could change ("KEY=" + value, "KEY=" + token alike) */
		if ((m->start && s[m->start - 1] != '=' && !hard_boundary(s, n, m->start - 1)) ||
		    !hard_boundary(s, n, m->start + m->len))
			return false;
	}
	return true;
}

static int scan(const struct redactor *r, const struct policy *p, const char *s, size_t n,
		struct matches *ml)
{
	int rc;

	ml->n = 0;
	rc = detect_scan(r->det, s, n, p->mask, collect, ml);
	return rc < 0 ? rc : ml->err;
}

/*
 * The first scan of a record's own string: the rules engine may have
 * scanned it already, with INVISIBLE_UNICODE on top of p's entities.  Its
 * matches are ours exactly when it found no invisible character (no parser
 * reads that bit, and a short text holds nothing else); otherwise, or when
 * the memo does not know the string, scan.
 */
static int scan_first(const struct redactor *r, const struct policy *p, const char *s, size_t n,
		      const struct detect_memo *memo, struct matches *ml)
{
	const struct detect_match *mm;
	size_t k;

	if (memo && detect_memo_find(memo, s, n, p->mask | DETECT_BIT(DETECT_INVISIBLE_UNICODE),
				     &mm, &k) == 0) {
		size_t i;

		for (i = 0; i < k; i++)
			if (mm[i].entity == DETECT_INVISIBLE_UNICODE)
				break;
		if (i == k) {
			ml->n = 0;
			for (i = 0; i < k && !ml->err; i++)
				collect(&mm[i], ml);
			return ml->err;
		}
	}
	return scan(r, p, s, n, ml);
}

/*
 * A JSON member named like a credential ("api_key": "...") whose value,
 * once the detectors have run, still looks like one: the value is a secret
 * by its name, though the name is not in the text.
 */
static int redact_member(const struct redactor *r, const struct policy *p, const char *key,
			 char **out, size_t *out_len, const char *s, size_t n, unsigned *counts,
			 bool *drop)
{
	const char *cur = *out ? *out : s;
	size_t len = *out ? *out_len : n, off;
	struct matches one = { .n = 1, .cap = 1 };
	char *o;
	int rc;

	if (!(p->mask & DETECT_BIT(DETECT_GENERIC_SECRET)) ||
	    !detect_secret_assignment(key, strlen(key), cur, len, &off))
		return 0;
	one.m = one.inline_m;
	one.m[0] = (struct detect_match){ off, len - off, DETECT_GENERIC_SECRET, 0 };
	rc = apply(r, p, cur, len, &one, &o, &len, counts, drop);
	if (rc)
		return rc;
	free(*out);
	*out = o;
	*out_len = len;
	return 0;
}

/*
 * Redacts n bytes of s under policy p.  key (may be NULL) is the JSON
 * member name the string is the value of.  Same returns as redact_text.
 */
static int redact_buf(const struct redactor *r, const struct policy *p, const char *s, size_t n,
		      const char *key, const struct detect_memo *memo, char **out, size_t *out_len,
		      unsigned *counts)
{
	struct matches ml = { .cap = 8 };
	bool drop = false;
	int rc;

	*out = NULL;
	*out_len = 0;
	ml.m = ml.inline_m;
	rc = scan_first(r, p, s, n, memo, &ml);
	if (!rc && ml.n)
		rc = apply(r, p, s, n, &ml, out, out_len, counts, &drop);
	/*
	 * A replaced span can leave behind text that is a match of its own (a
	 * lower-priority overlap the first pass set aside, a number whose
	 * neighbour was part of the match): unless that cannot be, scan the
	 * result again until it is clean, a bounded number of times.
	 */
	for (int pass = 0; !rc && *out && !(pass == 0 && settled(s, n, &ml)); pass++) {
		char *again;
		size_t again_len;

		rc = scan(r, p, *out, *out_len, &ml);
		if (rc || !ml.n)
			break;
		if (pass == 3) {
			/* still not clean (crafted input): the whole field goes */
			free(*out);
			*out = strdup("[REDACTED]");
			*out_len = strlen("[REDACTED]");
			rc = *out ? 0 : -ENOMEM;
			break;
		}
		rc = apply(r, p, *out, *out_len, &ml, &again, &again_len, counts, &drop);
		if (!rc) {
			free(*out);
			*out = again;
			*out_len = again_len;
		}
	}
	if (!rc && key)
		rc = redact_member(r, p, key, out, out_len, s, n, counts, &drop);
	if (rc) {
		free(*out);
		*out = NULL;
		*out_len = 0;
	} else if (*out) {
		rc = drop ? 2 : 1;
	}
	if (ml.m != ml.inline_m)
		free(ml.m);
	return rc;
}

int redact_text(struct redactor *r, const char *text, size_t len,
		const struct redact_policy *override, char **out, size_t *out_len,
		unsigned counts[DETECT_ENTITY_COUNT])
{
	struct policy p;

	if (!r || !out || !out_len || (!text && len))
		return -EINVAL;
	policy_of(r, override, &p);
	return redact_buf(r, &p, text, len, NULL, NULL, out, out_len, counts);
}

/* ---- records ---- */

/*
 * Attributes that describe the connection, not what was said: addresses,
 * names chosen by the software, times.  Left as they are (a public peer
 * address is what an auditor needs to see).
 */
static bool metadata_key(const char *k)
{
	static const char *const keys[] = {
		"network.peer.address",
		"network.local.address",
		"server.address",
		"tls.client.server_name",
		"host.name",
		"host.id",
		"container.id",
		"container.runtime.name",
		"gen_ai.request.model",
		"gen_ai.response.model",
		"gen_ai.response.id",
		"gen_ai.operation.name",
		"gen_ai.provider.name",
		"llmtap.llm.api",
		"llmtap.capture.role",
		"llmtap.capture.source",
		"network.transport",
		"network.protocol.name",
		"network.protocol.version",
		"http.request.method",
		"process.creation.time",
		"llmtap.request.end_time",
		"llmtap.response.start_time",
		"llmtap.http.request.body.encoding",
		"llmtap.http.response.body.encoding",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(k, keys[i]) == 0)
			return true;
	return false;
}

struct walk {
	const struct redactor *r;
	const struct detect_memo *memo; /* the rules' scans of this record, or NULL */
	struct policy p;
	unsigned counts[DETECT_ENTITY_COUNT];
};

static int walk_value(struct walk *w, json_t *v, const char *key, int depth, json_t **repl,
		      bool *drop);

/*
 * The string of redacted text.  Not validated again: the input was a JSON
 * string (valid UTF-8), every match begins and ends at an ASCII byte and
 * every token is ASCII or U+2026, so the result is valid UTF-8 too.
 */
static json_t *string_of(const char *s, size_t n)
{
	return json_stringn_nocheck(s, n);
}

static int walk_string(struct walk *w, json_t *v, const char *key, json_t **repl, bool *drop)
{
	char *out;
	size_t len;
	int rc = redact_buf(w->r, &w->p, json_string_value(v), json_string_length(v), key, w->memo,
			    &out, &len, w->counts);

	if (rc == 1) {
		*repl = string_of(out, len);
		rc = *repl ? 0 : -ENOMEM;
	} else if (rc == 2) {
		*drop = true;
		rc = 0;
	}
	free(out);
	return rc;
}

/* A card or SSN may be a JSON number in tool arguments. */
static int walk_integer(struct walk *w, json_t *v, json_t **repl, bool *drop)
{
	json_int_t x = json_integer_value(v);
	char buf[32], *out;
	size_t len;
	int n, rc;

	if (x > -100000000 && x < 100000000)
		return 0; /* under 9 digits: nothing to find */
	n = snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, x);
	rc = redact_buf(w->r, &w->p, buf, (size_t)n, NULL, NULL, &out, &len, w->counts);
	if (rc == 1) {
		*repl = string_of(out, len);
		rc = *repl ? 0 : -ENOMEM;
	} else if (rc == 2) {
		*drop = true;
		rc = 0;
	}
	free(out);
	return rc;
}

static int walk_array(struct walk *w, json_t *a, const char *key, int depth)
{
	for (size_t i = 0; i < json_array_size(a);) {
		json_t *repl = NULL;
		bool drop = false;
		int rc = walk_value(w, json_array_get(a, i), key, depth, &repl, &drop);

		if (rc) {
			json_decref(repl);
			return rc;
		}
		if (drop) {
			json_array_remove(a, i);
			continue;
		}
		if (repl && json_array_set_new(a, i, repl))
			return -ENOMEM;
		i++;
	}
	return 0;
}

struct rename {
	char *from, *to; /* to NULL: drop the member */
};

/* Object keys inside content can carry data too ({"jane@x.com": ...}). */
static int walk_key(struct walk *w, const char *k, struct rename **rn, size_t *nrn)
{
	char *out;
	size_t len;
	struct rename *grown;
	int rc = redact_buf(w->r, &w->p, k, strlen(k), NULL, NULL, &out, &len, w->counts);

	if (rc <= 0)
		return rc;
	grown = realloc(*rn, (*nrn + 1) * sizeof(**rn));
	if (!grown) {
		free(out);
		return -ENOMEM;
	}
	*rn = grown;
	grown[*nrn].from = strdup(k);
	grown[*nrn].to = rc == 2 ? NULL : out;
	if (rc == 2)
		free(out);
	if (!grown[*nrn].from) {
		free(grown[*nrn].to);
		return -ENOMEM;
	}
	(*nrn)++;
	return 0;
}

/* "llmtap.http.*.body" holding base64 (the body was not UTF-8): the bytes
 * are redacted, then encoded again. */
static int walk_base64(struct walk *w, json_t *o, const char *key, json_t *v, bool *drop);

static int walk_object(struct walk *w, json_t *o, int depth)
{
	struct rename *rn = NULL;
	size_t nrn = 0;
	const char *k;
	json_t *v;
	void *iter;
	int rc = 0;

	json_object_foreach_safe(o, iter, k, v) {
		json_t *repl = NULL;
		bool drop = false;

		if (depth == 0 && metadata_key(k))
			continue;
		const char *name = k;
		size_t before = nrn;

		if (depth > 0) {
			rc = walk_key(w, k, &rn, &nrn);
			if (rc)
				break;
			/* the value is judged under the name it will have: a
			 * second pass then sees the same name and decides alike */
			if (nrn > before && rn[before].to)
				name = rn[before].to;
		}
		if (depth == 0 && json_is_string(v) && !strncmp(k, "llmtap.http.", 12))
			rc = walk_base64(w, o, k, v, &drop);
		else
			rc = walk_value(w, v, name, depth, &repl, &drop);
		if (rc) {
			json_decref(repl);
			break;
		}
		if (drop)
			json_object_del(o, k);
		else if (repl && json_object_set_new(o, k, repl))
			rc = -ENOMEM;
		if (rc)
			break;
	}
	for (size_t i = 0; i < nrn; i++) {
		json_t *val = json_object_get(o, rn[i].from);

		if (!rc && val && rn[i].to) {
			json_incref(val);
			json_object_del(o, rn[i].from);
			if (json_object_set_new(o, rn[i].to, val))
				rc = -ENOMEM;
		} else if (!rc && val) {
			json_object_del(o, rn[i].from);
		}
		free(rn[i].from);
		free(rn[i].to);
	}
	free(rn);
	return rc;
}

static int walk_value(struct walk *w, json_t *v, const char *key, int depth, json_t **repl,
		      bool *drop)
{
	/* jansson parses at most 2048 levels; records are built from parsed JSON */
	if (depth > 4096)
		return -E2BIG;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return walk_string(w, v, key, repl, drop);
	case JSON_INTEGER:
		return depth > 0 ? walk_integer(w, v, repl, drop) : 0;
	case JSON_OBJECT:
		return walk_object(w, v, depth + 1);
	case JSON_ARRAY:
		return walk_array(w, v, key, depth + 1);
	default:
		return 0;
	}
}

static int walk_base64(struct walk *w, json_t *o, const char *key, json_t *v, bool *drop)
{
	char enc_key[64];
	const char *enc;
	unsigned char *raw;
	char *out;
	size_t len;
	ssize_t n;
	json_t *repl = NULL;
	int rc;

	snprintf(enc_key, sizeof(enc_key), "%s.encoding", key);
	enc = json_string_value(json_object_get(o, enc_key));
	if (!enc || strcmp(enc, "base64") != 0) {
		rc = walk_string(w, v, key, &repl, drop);
		if (!rc && repl && json_object_set_new(o, key, repl))
			rc = -ENOMEM;
		return rc;
	}
	raw = malloc(json_string_length(v) / 4 * 3 + 3);
	if (!raw)
		return -ENOMEM;
	n = base64_decode(json_string_value(v), json_string_length(v), raw);
	if (n < 0) {
		free(raw);
		*drop = true; /* not ours, not readable: not kept */
		return 0;
	}
	rc = redact_buf(w->r, &w->p, (const char *)raw, (size_t)n, NULL, NULL, &out, &len,
			w->counts);
	free(raw);
	if (rc == 1) {
		repl = base64_json_string((const unsigned char *)out, len);
		rc = repl && !json_object_set_new(o, key, repl) ? 0 : -ENOMEM;
	} else if (rc == 2) {
		*drop = true;
		rc = 0;
	}
	free(out);
	return rc;
}

int redact_record(struct redactor *r, json_t *rec, const struct redact_policy *override)
{
	return redact_record_memo(r, rec, override, NULL);
}

int redact_record_memo(struct redactor *r, json_t *rec, const struct redact_policy *override,
		       const struct detect_memo *memo)
{
	json_t *attrs = json_object_get(rec, "attributes"),
	       *alerts = json_object_get(rec, "alerts");
	json_t *counts;
	struct walk w;
	int rc = 0;

	if (!r || !json_is_object(rec))
		return -EINVAL;
	memset(&w, 0, sizeof(w));
	w.r = r;
	if (memo && detect_memo_record(memo) == rec)
		w.memo = memo;
	policy_of(r, override, &w.p);
	if (json_is_object(attrs))
		rc = walk_object(&w, attrs, 0);
	if (!rc && json_is_array(alerts))
		rc = walk_array(&w, alerts, NULL, 1);
	if (rc)
		return rc;
	counts = json_object_get(rec, "redactions");
	if (!json_is_object(counts)) {
		counts = json_object();
		if (!counts || json_object_set_new(rec, "redactions", counts))
			return -ENOMEM;
	}
	for (int i = 0; i < DETECT_ENTITY_COUNT; i++) {
		const char *name = detect_entity_name((enum detect_entity)i);

		if (!w.counts[i])
			continue;
		if (json_object_set_new(
			    counts, name,
			    json_integer(json_integer_value(json_object_get(counts, name)) +
					 w.counts[i])))
			return -ENOMEM;
	}
	return 0;
}
