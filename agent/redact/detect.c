// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Two stages, as in Suricata and gitleaks: Hyperscan finds trigger
 * positions (literal prefixes such as "sk-", "AKIA", "@", "://", three
 * digits in a row), then a small C parser per entity extends the trigger to
 * the exact span and validates it.  Every parser first checks the byte
 * before its start (a token begins at a word boundary), so a forward scan
 * only starts where no other scan of the same kind has been: work stays
 * linear in the text even on hostile input.  Runs of digits, IPv6
 * candidates and invisible characters are processed once per run.
 */
#include "detect.h"

#include <arpa/inet.h>
#include <errno.h>
#include <hs/hs.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

static const char *const entity_names[DETECT_ENTITY_COUNT] = {
	[DETECT_EMAIL] = "EMAIL",
	[DETECT_CREDIT_CARD] = "CREDIT_CARD",
	[DETECT_US_SSN] = "US_SSN",
	[DETECT_IBAN] = "IBAN",
	[DETECT_PHONE] = "PHONE",
	[DETECT_IP_ADDRESS] = "IP_ADDRESS",
	[DETECT_OPENAI_KEY] = "OPENAI_KEY",
	[DETECT_ANTHROPIC_KEY] = "ANTHROPIC_KEY",
	[DETECT_AWS_ACCESS_KEY] = "AWS_ACCESS_KEY",
	[DETECT_GITHUB_TOKEN] = "GITHUB_TOKEN",
	[DETECT_GITLAB_TOKEN] = "GITLAB_TOKEN",
	[DETECT_SLACK_TOKEN] = "SLACK_TOKEN",
	[DETECT_SLACK_WEBHOOK] = "SLACK_WEBHOOK",
	[DETECT_GOOGLE_API_KEY] = "GOOGLE_API_KEY",
	[DETECT_STRIPE_KEY] = "STRIPE_KEY",
	[DETECT_HUGGINGFACE_TOKEN] = "HUGGINGFACE_TOKEN",
	[DETECT_JWT] = "JWT",
	[DETECT_PRIVATE_KEY] = "PRIVATE_KEY",
	[DETECT_URL_PASSWORD] = "URL_PASSWORD",
	[DETECT_GENERIC_SECRET] = "GENERIC_SECRET",
	[DETECT_INVISIBLE_UNICODE] = "INVISIBLE_UNICODE",
};

/*
 * Which of two overlapping matches is kept (higher wins): whole credential
 * blocks first, then specific formats before generic ones, so that
 * "api_key=AKIA..." is an AWS key and "4111...@x.com" is a card.
 */
static const unsigned char priority[DETECT_ENTITY_COUNT] = {
	[DETECT_PRIVATE_KEY] = 20,
	[DETECT_JWT] = 19,
	[DETECT_OPENAI_KEY] = 18,
	[DETECT_ANTHROPIC_KEY] = 18,
	[DETECT_AWS_ACCESS_KEY] = 18,
	[DETECT_GITHUB_TOKEN] = 18,
	[DETECT_GITLAB_TOKEN] = 18,
	[DETECT_SLACK_TOKEN] = 18,
	[DETECT_GOOGLE_API_KEY] = 18,
	[DETECT_STRIPE_KEY] = 18,
	[DETECT_HUGGINGFACE_TOKEN] = 18,
	[DETECT_SLACK_WEBHOOK] = 17,
	[DETECT_URL_PASSWORD] = 16,
	[DETECT_CREDIT_CARD] = 15,
	[DETECT_US_SSN] = 14,
	[DETECT_IBAN] = 13,
	[DETECT_GENERIC_SECRET] = 12,
	[DETECT_EMAIL] = 11,
	[DETECT_PHONE] = 10,
	[DETECT_IP_ADDRESS] = 9,
	[DETECT_INVISIBLE_UNICODE] = 1,
};

/* Hyperscan pattern ids: what fired, not yet what it is. */
enum trig {
	T_SK,
	T_AWS,
	T_GH,
	T_GHPAT,
	T_GLPAT,
	T_XOX,
	T_SLACK_HOOK,
	T_AIZA,
	T_STRIPE,
	T_HF,
	T_JWT,
	T_PEM_BEGIN,
	T_PEM_END,
	T_URL,
	T_AT,
	T_KEY,
	T_DIGITS,
	T_IPV4,
	T_IPV6,
	T_IBAN,
	T_INVIS,
	T_COUNT
};

static const struct {
	const char *expr;
	unsigned id, flags;
} patterns[] = {
	{ "sk-", T_SK, 0 },
	{ "A(?:KIA|SIA|BIA|CCA)", T_AWS, 0 },
	{ "gh[pousr]_", T_GH, 0 },
	{ "github_pat_", T_GHPAT, 0 },
	{ "glpat-", T_GLPAT, 0 },
	{ "xox[abpr]-", T_XOX, 0 },
	{ "hooks\\.slack\\.com/", T_SLACK_HOOK, 0 },
	{ "AIza", T_AIZA, 0 },
	{ "[sr]k_live_", T_STRIPE, 0 },
	{ "hf_", T_HF, 0 },
	{ "eyJ", T_JWT, 0 },
	{ "-----BEGIN ", T_PEM_BEGIN, 0 },
	{ "-----END ", T_PEM_END, 0 },
	{ "://", T_URL, 0 },
	{ "@", T_AT, 0 },
	{ "passw|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential|auth",
	  T_KEY, HS_FLAG_CASELESS },
	{ "[0-9]{3}", T_DIGITS, 0 },
	{ "[0-9]\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]", T_IPV4, 0 },
	{ ":[0-9A-Fa-f]{0,4}:", T_IPV6, 0 },
	{ "[A-Z]{2}[0-9]{2}", T_IBAN, 0 },
	/* tag block U+E0000-E007F, zero-width U+200B-200F, bidi U+202A-202E,
	 * U+2060-2064 (word joiner, invisible operators), bidi isolates
	 * U+2066-2069, BOM / zero-width no-break space U+FEFF */
	{ "\\xF3\\xA0[\\x80\\x81]", T_INVIS, 0 },
	{ "\\xE2\\x80[\\x8B-\\x8F\\xAA-\\xAE]", T_INVIS, 0 },
	{ "\\xE2\\x81[\\xA0-\\xA4\\xA6-\\xA9]", T_INVIS, 0 },
	{ "\\xEF\\xBB\\xBF", T_INVIS, 0 },
};
#define N_PATTERNS (sizeof(patterns) / sizeof(patterns[0]))

/* The entities each trigger can produce: triggers nobody asked for are skipped. */
static const uint64_t trig_entities[T_COUNT] = {
	[T_SK] = DETECT_BIT(DETECT_OPENAI_KEY) | DETECT_BIT(DETECT_ANTHROPIC_KEY),
	[T_AWS] = DETECT_BIT(DETECT_AWS_ACCESS_KEY),
	[T_GH] = DETECT_BIT(DETECT_GITHUB_TOKEN),
	[T_GHPAT] = DETECT_BIT(DETECT_GITHUB_TOKEN),
	[T_GLPAT] = DETECT_BIT(DETECT_GITLAB_TOKEN),
	[T_XOX] = DETECT_BIT(DETECT_SLACK_TOKEN),
	[T_SLACK_HOOK] = DETECT_BIT(DETECT_SLACK_WEBHOOK),
	[T_AIZA] = DETECT_BIT(DETECT_GOOGLE_API_KEY),
	[T_STRIPE] = DETECT_BIT(DETECT_STRIPE_KEY),
	[T_HF] = DETECT_BIT(DETECT_HUGGINGFACE_TOKEN),
	[T_JWT] = DETECT_BIT(DETECT_JWT),
	[T_PEM_BEGIN] = DETECT_BIT(DETECT_PRIVATE_KEY),
	[T_PEM_END] = DETECT_BIT(DETECT_PRIVATE_KEY),
	[T_URL] = DETECT_BIT(DETECT_URL_PASSWORD),
	[T_AT] = DETECT_BIT(DETECT_EMAIL),
	[T_KEY] = DETECT_BIT(DETECT_GENERIC_SECRET),
	[T_DIGITS] = DETECT_BIT(DETECT_CREDIT_CARD) | DETECT_BIT(DETECT_US_SSN) |
		     DETECT_BIT(DETECT_PHONE) | DETECT_BIT(DETECT_IP_ADDRESS),
	[T_IPV4] = DETECT_BIT(DETECT_IP_ADDRESS),
	[T_IPV6] = DETECT_BIT(DETECT_IP_ADDRESS),
	[T_IBAN] = DETECT_BIT(DETECT_IBAN),
	[T_INVIS] = DETECT_BIT(DETECT_INVISIBLE_UNICODE),
};

struct detector {
	hs_database_t *db;
	hs_scratch_t *proto; /* cloned for concurrent scans */
	pthread_mutex_t lock; /* guards spare */
	hs_scratch_t *spare; /* one free scratch, reused by the next scan */
};

/* ---- tables built once ---- */

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static double xlog2x[257]; /* c * log2(c) for small counts */
static unsigned char iban_len[26][26]; /* IBAN length per country, 0: none */

/* log2 of an integer >= 1 without libm: exponent + atanh series. */
static double log2_uint(size_t x)
{
	int k = 0;
	double m, y, y2, term, s = 0;

	while ((x >> k) > 1)
		k++;
	m = (double)x / (double)((size_t)1 << k); /* [1, 2) */
	y = (m - 1) / (m + 1);
	y2 = y * y;
	term = y;
	for (int i = 1; i < 40; i += 2) {
		s += term / i;
		term *= y2;
	}
	return k + 2 * s / 0.69314718055994530942;
}

static void tables_init(void)
{
	/* ISO 13616 registry: country code and total length */
	static const char *const ibans[] = {
		"AD24", "AE23", "AL28", "AT20", "AZ28", "BA20", "BE16", "BG22", "BH22", "BI27",
		"BR29", "BY28", "CH21", "CR22", "CY28", "CZ24", "DE22", "DJ27", "DK18", "DO28",
		"EE20", "EG29", "ES24", "FI18", "FK18", "FO18", "FR27", "GB22", "GE22", "GI23",
		"GL18", "GR27", "GT28", "HN28", "HR21", "HU28", "IE22", "IL23", "IQ23", "IS26",
		"IT27", "JO30", "KW30", "KZ20", "LB28", "LC32", "LI21", "LT20", "LU20", "LV21",
		"LY25", "MC27", "MD24", "ME22", "MK19", "MN20", "MR27", "MT31", "MU30", "NI28",
		"NL18", "NO15", "OM23", "PK24", "PL28", "PS29", "PT25", "QA29", "RO24", "RS22",
		"RU33", "SA24", "SC31", "SD18", "SE24", "SI19", "SK24", "SM27", "SO23", "ST25",
		"SV28", "TL23", "TN24", "TR26", "UA29", "VA22", "VG24", "XK20", "YE30",
	};

	for (size_t c = 1; c <= 256; c++)
		xlog2x[c] = (double)c * log2_uint(c);
	for (size_t i = 0; i < sizeof(ibans) / sizeof(ibans[0]); i++)
		iban_len[ibans[i][0] - 'A'][ibans[i][1] - 'A'] =
			(unsigned char)((ibans[i][2] - '0') * 10 + (ibans[i][3] - '0'));
}

/* ---- character classes ---- */

static inline bool is_digit(unsigned char c)
{
	return (unsigned)(c - '0') < 10u;
}

static inline bool is_alpha(unsigned char c)
{
	return (unsigned)((c | 0x20) - 'a') < 26u;
}

static inline bool is_upper(unsigned char c)
{
	return (unsigned)(c - 'A') < 26u;
}

static inline bool is_lower(unsigned char c)
{
	return (unsigned)(c - 'a') < 26u;
}

static inline bool is_alnum(unsigned char c)
{
	return is_digit(c) || is_alpha(c);
}

static inline bool is_word(unsigned char c)
{
	return is_alnum(c) || c == '_';
}

static inline bool is_b64url(unsigned char c)
{
	return is_alnum(c) || c == '-' || c == '_';
}

static inline bool is_hex(unsigned char c)
{
	return is_digit(c) || (unsigned)((c | 0x20) - 'a') < 6u;
}

/* ---- validators ---- */

bool detect_luhn_ok(const char *d, size_t n)
{
	unsigned sum = 0;

	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (!is_digit((unsigned char)d[n - 1 - i]))
			return false;
		v = (unsigned)(d[n - 1 - i] - '0');
		if (i & 1) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

bool detect_iban_ok(const char *s, size_t n)
{
	unsigned rem = 0;

	pthread_once(&tables_once, tables_init);
	if (n < 15 || n > 34 || !is_upper((unsigned char)s[0]) || !is_upper((unsigned char)s[1]) ||
	    !is_digit((unsigned char)s[2]) || !is_digit((unsigned char)s[3]))
		return false;
	if (iban_len[s[0] - 'A'][s[1] - 'A'] != n)
		return false;
	/* ISO 7064 mod 97-10 over BBAN + country + check digits, letters as 10..35 */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[(i + 4) % n];

		if (is_digit(c))
			rem = (rem * 10 + (c - '0')) % 97;
		else if (is_upper(c))
			rem = (rem * 100 + (c - 'A' + 10)) % 97;
		else
			return false;
	}
	return rem == 1;
}

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* GitHub's 2021 token format: 30 random base62 characters, then the CRC32
 * of those 30 in base62, zero-padded to 6. */
bool detect_github_crc_ok(const char *body)
{
	uLong crc = crc32(0L, (const Bytef *)body, 30);
	char want[6];

	for (int i = 5; i >= 0; i--) {
		want[i] = b62[crc % 62];
		crc /= 62;
	}
	return memcmp(want, body + 30, 6) == 0;
}

double detect_entropy(const char *s, size_t n)
{
	size_t counts[256] = { 0 };
	double sum = 0;

	pthread_once(&tables_once, tables_init);
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		counts[(unsigned char)s[i]]++;
	for (int c = 0; c < 256; c++)
		if (counts[c])
			sum += counts[c] <= 256 ? xlog2x[counts[c]] :
						  (double)counts[c] * log2_uint(counts[c]);
	return log2_uint(n) - sum / (double)n;
}

static bool has_ci(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (strncasecmp(s + i, needle, k) == 0)
			return true;
	return false;
}

/* A lower-case, NUL-terminated copy of at most size - 1 bytes, for strstr. */
static void lower_copy(const char *s, size_t n, char *buf, size_t size)
{
	if (n > size - 1)
		n = size - 1;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
	buf[n] = '\0';
}

/* An entity name or REDACTED (any case): the label of a redaction token. */
static bool redaction_label(const char *p, size_t n)
{
	if (n == 8 && strncasecmp(p, "REDACTED", 8) == 0)
		return true;
	for (int i = 0; i < DETECT_ENTITY_COUNT; i++)
		if (strlen(entity_names[i]) == n && strncasecmp(entity_names[i], p, n) == 0)
			return true;
	return false;
}

/* Blanks the redaction tokens ("[PRIVATE_KEY:9f2c41d0]") of a NUL-terminated
 * copy: the names this module wrote are not the key's own words. */
static void blank_tokens(char *s)
{
	for (char *o = strchr(s, '['); o; o = strchr(o + 1, '[')) {
		char *colon = strchr(o, ':'), *close = colon ? strchr(colon, ']') : NULL;

		if (close && redaction_label(o + 1, (size_t)(colon - o - 1)))
			memset(o, ' ', (size_t)(close - o + 1));
	}
}

/* 0: not a credential name, 1: weak (token, auth), 2: strong (password, api key...) */
static int key_strength(const char *k, size_t n)
{
	static const char *const strong[] = {
		"passw",	 "pwd",		 "secret",     "api_key",      "api-key",
		"apikey",	 "access_key",	 "access-key", "accesskey",    "private_key",
		"private-key",	 "privatekey",	 "credential", "access_token", "access-token",
		"accesstoken",	 "auth_token",	 "auth-token", "authtoken",    "refresh_token",
		"refresh-token", "refreshtoken", "bearer",
	};
	char low[129];

	lower_copy(k, n, low, sizeof(low));
	if (memchr(k, '[', n))
		blank_tokens(low);
	/* every name below contains one of these: most member names
	 * ("role", "content") are settled here */
	if (!strstr(low, "pass") && !strstr(low, "pwd") && !strstr(low, "secret") &&
	    !strstr(low, "key") && !strstr(low, "token") && !strstr(low, "auth") &&
	    !strstr(low, "credential") && !strstr(low, "bearer"))
		return 0;
	for (size_t i = 0; i < sizeof(strong) / sizeof(strong[0]); i++)
		if (strstr(low, strong[i]))
			return 2;
	return strstr(low, "token") || strstr(low, "auth") ? 1 : 0;
}

/* A value that stands for a secret rather than being one. */
static bool placeholder(const char *v, size_t n)
{
	static const char *const words[] = {
		"xxxx",	    "****",  "...",	 "${",	      "{{",	    "<",
		">",	    "%s",    "changeme", "example",   "your",	    "placeholder",
		"redacted", "dummy", "sample",	 "undefined", "os.environ", "process.env",
		"getenv",   "env.",  "$(",	 "secrets.",  "vault:",	    "://",
	};
	static const char *const exact[] = { "null", "none", "true", "false", "nil", "empty" };
	char low[257];

	if (v[0] == '$' || v[0] == '/' || v[0] == '~' || (n > 1 && v[0] == '.' && v[1] == '/'))
		return true;
	/* "[REDACTED]", "[EMAIL:9f2c41d0]": already replaced */
	if (v[0] == '[' && v[n - 1] == ']')
		return true;
	lower_copy(v, n, low, sizeof(low));
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcmp(low, exact[i]) == 0)
			return true;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(low, words[i]))
			return true;
	return false;
}

static bool secret_value(int strength, const char *v, size_t n)
{
	bool digit = false, lower = false, sym = false;
	int upper = 0;

	if (strength == 0 || n < (strength == 2 ? 8u : 16u) || n > 256 || placeholder(v, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (is_digit(c))
			digit = true;
		else if (is_lower(c))
			lower = true;
		else if (is_upper(c))
			upper++;
		else if (c <= ' ' || c == 0x7f)
			return false; /* spaces: prose, not a credential */
		else
			sym = true;
	}
	if (strength == 2) {
		/* a word ("required", "Something") is not a password; anything
		 * with digits, symbols or inner capitals may be */
		if (!digit && !sym && upper <= 1)
			return false;
		return detect_entropy(v, n) >= 2.5;
	}
	if ((digit + lower + (upper > 0) + sym) < 2)
		return false;
	return detect_entropy(v, n) >= 3.5;
}

static const char *const auth_schemes[] = { "bearer ", "basic ", "token " };

/* Length of an auth scheme word and its space at v, 0 if none. */
static size_t auth_scheme_len(const char *v, size_t n)
{
	for (size_t k = 0; k < sizeof(auth_schemes) / sizeof(auth_schemes[0]); k++) {
		size_t l = strlen(auth_schemes[k]);

		if (n > l && strncasecmp(v, auth_schemes[k], l) == 0)
			return l;
	}
	return 0;
}

bool detect_secret_assignment(const char *key, size_t key_len, const char *value, size_t value_len,
			      size_t *start)
{
	size_t skip = auth_scheme_len(value, value_len);

	if (start)
		*start = skip;
	/* cheap refusals first: this runs for every JSON member */
	if (value_len - skip < 8 || value_len - skip > 256 ||
	    memchr(value + skip, ' ', value_len - skip) ||
	    memchr(value + skip, '\n', value_len - skip))
		return false;
	return secret_value(key_strength(key, key_len), value + skip, value_len - skip);
}

/* ---- scan state ---- */

struct pem_mark {
	size_t start, end;
	bool is_end;
};

struct scan {
	const char *t;
	size_t n;
	uint64_t mask;
	struct detect_match *m;
	size_t nm, cap;
	struct pem_mark *pem;
	size_t npem, pem_cap;
	/* generic values refused (placeholder, entropy): if a match overlaps
	 * one, replacing the match may change that verdict */
	struct pem_mark *rej;
	size_t nrej, rej_cap;
	/* ends of what was already processed, for the once-per-run parsers */
	size_t run_end, v6_end, invis_end, key_start;
	bool key_seen;
	int err;
	struct detect_match inline_m[16];
};

static void add(struct scan *s, size_t start, size_t end, enum detect_entity e, unsigned flags)
{
	if (!(s->mask & DETECT_BIT(e)) || end <= start || s->err)
		return;
	if ((flags & DETECT_F_PRIVATE) && !(s->mask & DETECT_SCAN_PRIVATE_IPS))
		return;
	if (s->nm == s->cap) {
		size_t cap = s->cap * 2;
		struct detect_match *m;

		if (s->m == s->inline_m) {
			m = malloc(cap * sizeof(*m));
			if (m)
				memcpy(m, s->m, s->nm * sizeof(*m));
		} else {
			m = realloc(s->m, cap * sizeof(*m));
		}
		if (!m) {
			s->err = -ENOMEM;
			return;
		}
		s->m = m;
		s->cap = cap;
	}
	s->m[s->nm++] = (struct detect_match){ start, end - start, e, flags };
}

static void push_mark(struct scan *s, struct pem_mark **arr, size_t *n, size_t *cap,
		      struct pem_mark m)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		struct pem_mark *p = realloc(*arr, c * sizeof(*p));

		if (!p) {
			s->err = -ENOMEM;
			return;
		}
		*arr = p;
		*cap = c;
	}
	(*arr)[(*n)++] = m;
}

static void add_pem(struct scan *s, size_t start, size_t end, bool is_end)
{
	push_mark(s, &s->pem, &s->npem, &s->pem_cap, (struct pem_mark){ start, end, is_end });
}

static inline unsigned char at(const struct scan *s, size_t i)
{
	return i < s->n ? (unsigned char)s->t[i] : 0;
}

/* True when the byte before i is not of the token's own class. */
static inline bool left_bound(const struct scan *s, size_t i, bool (*cls)(unsigned char))
{
	return i == 0 || !cls((unsigned char)s->t[i - 1]);
}

/* End of the run of cls bytes from i, at most max long. */
static inline size_t run(const struct scan *s, size_t i, size_t max, bool (*cls)(unsigned char))
{
	size_t end = s->n - i > max ? i + max : s->n;

	while (i < end && cls((unsigned char)s->t[i]))
		i++;
	return i;
}

static bool starts(const struct scan *s, size_t i, const char *lit)
{
	size_t k = strlen(lit);

	return s->n - i >= k && memcmp(s->t + i, lit, k) == 0;
}

static void classes(const char *p, size_t n, bool *digit, bool *lower, bool *upper)
{
	*digit = *lower = *upper = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		*digit |= is_digit(c);
		*lower |= is_lower(c);
		*upper |= is_upper(c);
	}
}

/* ---- credentials with a known prefix ---- */

/* sk-..., sk-proj-..., sk-ant-api03-... */
static void parse_sk(struct scan *s, size_t st)
{
	static const char *const kinds[] = { "proj-", "svcacct-", "admin-" };
	enum detect_entity e = DETECT_OPENAI_KEY;
	size_t body = st + 3, end;
	bool digit, lower, upper;

	if (!left_bound(s, st, is_b64url))
		return;
	if (starts(s, body, "ant-")) {
		e = DETECT_ANTHROPIC_KEY;
		body += 4;
	} else {
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (starts(s, body, kinds[i])) {
				body += strlen(kinds[i]);
				break;
			}
	}
	end = run(s, body, 512, is_b64url);
	if (end - body < 20 || is_b64url(at(s, end)))
		return;
	classes(s->t + body, end - body, &digit, &lower, &upper);
	if (!digit || !(lower || upper))
		return;
	/* T3BlbkFJ: base64 of "OpenAI", inside legacy and project keys */
	if (e == DETECT_OPENAI_KEY && !memmem(s->t + body, end - body, "T3BlbkFJ", 8) &&
	    detect_entropy(s->t + body, end - body) < 3.0)
		return;
	add(s, st, end, e, 0);
}

static void parse_aws(struct scan *s, size_t st)
{
	size_t end = st + 20;

	if (!left_bound(s, st, is_alnum) || end > s->n || is_alnum(at(s, end)))
		return;
	for (size_t i = st + 4; i < end; i++)
		if (!is_upper((unsigned char)s->t[i]) && !is_digit((unsigned char)s->t[i]))
			return;
	add(s, st, end, DETECT_AWS_ACCESS_KEY, 0);
}

static void parse_gh(struct scan *s, size_t st)
{
	size_t body = st + 4, end = body + 36;

	if (!left_bound(s, st, is_word) || run(s, body, 37, is_alnum) != end || at(s, end) == '_')
		return;
	if (detect_github_crc_ok(s->t + body))
		add(s, st, end, DETECT_GITHUB_TOKEN, 0);
}

static void parse_ghpat(struct scan *s, size_t st)
{
	size_t body = st + 11, mid = run(s, body, 23, is_alnum), end;

	/* 22 alphanumerics, '_', 59 alphanumerics today; a little slack on
	 * the second part */
	if (!left_bound(s, st, is_word) || mid - body != 22 || at(s, mid) != '_')
		return;
	end = run(s, mid + 1, 80, is_alnum);
	if (end - mid - 1 >= 50 && end - mid - 1 <= 70 && at(s, end) != '_')
		add(s, st, end, DETECT_GITHUB_TOKEN, 0);
}

static bool is_glpat(unsigned char c)
{
	return is_b64url(c) || c == '.';
}

static void parse_glpat(struct scan *s, size_t st)
{
	size_t body = st + 6, end = run(s, body, 256, is_glpat);

	if (!left_bound(s, st, is_b64url))
		return;
	while (end > body && s->t[end - 1] == '.')
		end--;
	if (end - body >= 20)
		add(s, st, end, DETECT_GITLAB_TOKEN, 0);
}

static bool is_slack(unsigned char c)
{
	return is_alnum(c) || c == '-';
}

static void parse_xox(struct scan *s, size_t st)
{
	size_t body = st + 5, end = run(s, body, 256, is_slack);
	bool digit, lower, upper;

	if (!left_bound(s, st, is_b64url) || end - body < 15)
		return;
	classes(s->t + body, end - body, &digit, &lower, &upper);
	if (digit)
		add(s, st, end, DETECT_SLACK_TOKEN, 0);
}

static bool is_hookc(unsigned char c)
{
	return is_b64url(c) || c == '/' || c == '+';
}

static void parse_slack_hook(struct scan *s, size_t st)
{
	static const char *const kinds[] = { "services/", "workflows/", "triggers/" };
	size_t p = st + 16, end;

	if (!left_bound(s, st, is_alnum))
		return;
	for (size_t i = 0;; i++) {
		if (i == sizeof(kinds) / sizeof(kinds[0]))
			return;
		if (starts(s, p, kinds[i])) {
			p += strlen(kinds[i]);
			break;
		}
	}
	end = run(s, p, 256, is_hookc);
	if (end - p < 20)
		return;
	if (st >= 8 && memcmp(s->t + st - 8, "https://", 8) == 0)
		st -= 8;
	else if (st >= 7 && memcmp(s->t + st - 7, "http://", 7) == 0)
		st -= 7;
	add(s, st, end, DETECT_SLACK_WEBHOOK, 0);
}

static void parse_aiza(struct scan *s, size_t st)
{
	size_t end = st + 39;

	if (left_bound(s, st, is_b64url) && run(s, st + 4, 36, is_b64url) == end)
		add(s, st, end, DETECT_GOOGLE_API_KEY, 0);
}

static void parse_stripe(struct scan *s, size_t st)
{
	size_t body = st + 8, end = run(s, body, 256, is_alnum);

	if (left_bound(s, st, is_word) && end - body >= 10 && end - body < 256 &&
	    !is_word(at(s, end)))
		add(s, st, end, DETECT_STRIPE_KEY, 0);
}

static void parse_hf(struct scan *s, size_t st)
{
	size_t body = st + 3, end = run(s, body, 41, is_alnum);
	bool digit, lower, upper;

	if (!left_bound(s, st, is_word) || end - body < 30 || end - body > 40 || at(s, end) == '_')
		return;
	classes(s->t + body, end - body, &digit, &lower, &upper);
	if (lower && upper && detect_entropy(s->t + body, end - body) >= 3.5)
		add(s, st, end, DETECT_HUGGINGFACE_TOKEN, 0);
}

/* ---- JWT: three base64url parts, the header a JSON object with "alg" ---- */

static int b64val(unsigned char c)
{
	if (is_upper(c))
		return c - 'A';
	if (is_lower(c))
		return c - 'a' + 26;
	if (is_digit(c))
		return c - '0' + 52;
	if (c == '-' || c == '+')
		return 62;
	if (c == '_' || c == '/')
		return 63;
	return -1;
}

/* Decodes unpadded base64url; returns the decoded length. */
static size_t b64url_decode(const char *in, size_t n, unsigned char *out)
{
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)in[i]);

		if (v < 0)
			break;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o;
}

static bool jwt_header_ok(const char *p, size_t n)
{
	unsigned char buf[3072];
	json_t *h;
	bool ok;

	if (n > 4096)
		return false;
	n = b64url_decode(p, n, buf);
	h = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
	ok = json_is_object(h) && json_is_string(json_object_get(h, "alg"));
	json_decref(h);
	return ok;
}

static bool is_b64url_or_dot_boundary(unsigned char c)
{
	return is_b64url(c) || c == '.';
}

static void parse_jwt(struct scan *s, size_t st)
{
	size_t h_end, p_end, sig_end;

	if (!left_bound(s, st, is_b64url_or_dot_boundary))
		return;
	h_end = run(s, st, 4097, is_b64url);
	if (h_end - st < 10 || h_end - st > 4096 || at(s, h_end) != '.')
		return;
	p_end = run(s, h_end + 1, 65536, is_b64url);
	if (p_end - h_end - 1 < 2 || at(s, p_end) != '.')
		return;
	sig_end = run(s, p_end + 1, 8192, is_b64url);
	if (jwt_header_ok(s->t + st, h_end - st))
		add(s, st, sig_end, DETECT_JWT, 0);
}

/* ---- PEM private key blocks ---- */

/* "<label>-----" after "-----BEGIN " / "-----END ": the end, or 0 unless the
 * label names a private key. */
static size_t pem_label(const struct scan *s, size_t p)
{
	size_t q = p;

	while (q < s->n && q - p <= 64 &&
	       (is_upper(at(s, q)) || is_digit(at(s, q)) || at(s, q) == ' '))
		q++;
	if (!starts(s, q, "-----"))
		return 0;
	if ((q - p >= 11 && memcmp(s->t + q - 11, "PRIVATE KEY", 11) == 0) ||
	    (q - p >= 17 && memcmp(s->t + q - 17, "PRIVATE KEY BLOCK", 17) == 0))
		return q + 5;
	return 0;
}

static bool is_pem_body(unsigned char c)
{
	return is_alnum(c) || c == '+' || c == '/' || c == '=' || c == '\n' || c == '\r' ||
	       c == ' ' || c == '\t' || c == ':' || c == ',' || c == '-' || c == '\\';
}

/* A block without its END line (cut by a capture limit, or pasted in part):
 * the armored body that follows is secret all the same. */
static size_t pem_body_end(const struct scan *s, size_t p)
{
	while (p < s->n && is_pem_body(at(s, p)) && !starts(s, p, "-----"))
		p++;
	return p;
}

/* Pairs each BEGIN with the next END (both arrive in text order). */
static void pem_pair(struct scan *s)
{
	bool open = false;
	size_t begin = 0, hdr_end = 0;

	for (size_t i = 0; i < s->npem; i++) {
		const struct pem_mark *m = &s->pem[i];

		if (!m->is_end) {
			if (open)
				add(s, begin, pem_body_end(s, hdr_end), DETECT_PRIVATE_KEY, 0);
			open = true;
			begin = m->start;
			hdr_end = m->end;
		} else if (open && m->start >= hdr_end) {
			add(s, begin, m->end, DETECT_PRIVATE_KEY, 0);
			open = false;
		}
	}
	if (open)
		add(s, begin, pem_body_end(s, hdr_end), DETECT_PRIVATE_KEY, 0);
}

/* ---- URLs with a password: scheme://user:password@host ---- */

static bool is_userinfo(unsigned char c)
{
	/* RFC 3986 userinfo: unreserved, pct-encoded, sub-delims, ':' */
	return is_alnum(c) || strchr("-._~%!$&'()*+,;=:", c) != NULL;
}

static void parse_url(struct scan *s, size_t st)
{
	size_t sch = st, p = st + 3, end, colon;

	while (sch > 0 && st - sch < 32 &&
	       (is_alnum(at(s, sch - 1)) || at(s, sch - 1) == '+' || at(s, sch - 1) == '.' ||
		at(s, sch - 1) == '-'))
		sch--;
	if (st - sch < 2 || !is_alpha(at(s, sch)))
		return;
	end = p;
	while (end < s->n && end - p < 512 && at(s, end) && is_userinfo(at(s, end)))
		end++;
	if (at(s, end) != '@' || end == s->n ||
	    !(is_alnum(at(s, end + 1)) || at(s, end + 1) == '['))
		return;
	colon = p;
	while (colon < end && s->t[colon] != ':')
		colon++;
	if (colon + 1 >= end)
		return;
	add(s, colon + 1, end, DETECT_URL_PASSWORD, 0);
}

/* ---- email ---- */

static bool is_local(unsigned char c)
{
	return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static bool is_domain(unsigned char c)
{
	return is_alnum(c) || c == '.' || c == '-';
}

static void parse_email(struct scan *s, size_t i)
{
	size_t a = i, b, label, labels = 0;

	while (a > 0 && i - a < 64 && is_local(at(s, a - 1)))
		a--;
	if (a > 0 && is_local(at(s, a - 1)))
		return; /* local part over 64 bytes */
	while (a < i && s->t[a] == '.')
		a++;
	if (a == i)
		return;
	b = run(s, i + 1, 255, is_domain);
	while (b > i + 1 && (s->t[b - 1] == '.' || s->t[b - 1] == '-'))
		b--;
	/* labels of 1..63 not starting or ending with '-', a TLD of letters */
	label = i + 1;
	for (size_t p = i + 1; p <= b; p++) {
		if (p < b && s->t[p] != '.')
			continue;
		if (p == label || p - label > 63 || s->t[label] == '-' || s->t[p - 1] == '-')
			return;
		labels++;
		if (p == b) {
			if (p - label < 2)
				return;
			for (size_t q = label; q < p; q++)
				if (!is_alpha(at(s, q)))
					return;
		}
		label = p + 1;
	}
	if (labels >= 2)
		add(s, a, b, DETECT_EMAIL, 0);
}

/* ---- key = value assignments with a credential-like key ---- */

static bool is_ident(unsigned char c)
{
	return is_word(c) || c == '.' || c == '-';
}

static bool is_value(unsigned char c)
{
	return c > ' ' && c != 0x7f && !strchr("\"'`,;&<>()[]{}\\", c);
}

static void parse_key(struct scan *s, size_t e)
{
	size_t ks = e, ke, p, vs, ve;
	unsigned char q = 0;
	int strength;

	while (ks > 0 && e - ks < 64 && is_ident(at(s, ks - 1)))
		ks--;
	if (s->key_seen && ks == s->key_start)
		return; /* two keywords in one key name */
	s->key_seen = true;
	s->key_start = ks;
	ke = run(s, e, 64, is_ident);
	p = ke;
	if (ks > 0 && (s->t[ks - 1] == '"' || s->t[ks - 1] == '\'') && at(s, p) == s->t[ks - 1])
		p++;
	while (p - ke < 8 && (at(s, p) == ' ' || at(s, p) == '\t'))
		p++;
	/* most "token" and "password" words are prose: no assignment follows */
	if (at(s, p) != '=' && at(s, p) != ':')
		return;
	if (ks > 0 && s->t[ks - 1] == '[' && redaction_label(s->t + ks, ke - ks))
		return; /* "[GENERIC_SECRET:9f2c41d0]": a token this module wrote */
	strength = key_strength(s->t + ks, ke - ks);
	if (!strength)
		return;
	p++;
	if (at(s, p) == '=' && s->t[p - 1] == '=')
		return; /* a comparison */
	if (at(s, p) == '>' || at(s, p) == '=')
		p++;
	for (size_t k = 0; k < 8 && (at(s, p) == ' ' || at(s, p) == '\t'); k++)
		p++;
	if (at(s, p) == '"' || at(s, p) == '\'' || at(s, p) == '`')
		q = at(s, p++);
	/* "Authorization: Bearer X": the credential is the second word */
	vs = p + auth_scheme_len(s->t + p, s->n - p);
	ve = vs;
	if (q) {
		while (ve < s->n && ve - vs <= 256 && at(s, ve) != q && at(s, ve) != '\n')
			ve++;
		if (at(s, ve) != q)
			return;
	} else {
		while (ve < s->n && ve - vs <= 256 && is_value(at(s, ve)))
			ve++;
		/* sentence punctuation after an unquoted value */
		while (ve > vs && (s->t[ve - 1] == '.' || s->t[ve - 1] == ':'))
			ve--;
	}
	if (secret_value(strength, s->t + vs, ve - vs))
		add(s, vs, ve, DETECT_GENERIC_SECRET, 0);
	else if (ve > vs && (s->mask & DETECT_BIT(DETECT_GENERIC_SECRET)))
		push_mark(s, &s->rej, &s->nrej, &s->rej_cap, (struct pem_mark){ vs, ve, false });
}

/* ---- numbers: cards, SSNs, phones, IPv4 ---- */

static bool is_runc(unsigned char c)
{
	return is_digit(c) || c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '+';
}

/* A number starts here: not inside a word, a signed number or a dotted /
 * dashed number (1.2.3.4.5, 0000-4111-...). */
static bool num_left_ok(const struct scan *s, size_t p)
{
	unsigned char c;

	if (p == 0)
		return true;
	c = at(s, p - 1);
	if (is_word(c) || c == '+')
		return false;
	if ((c == '.' || c == '-') && p >= 2 && is_digit(at(s, p - 2)))
		return false;
	return true;
}

static bool num_right_ok(const struct scan *s, size_t q)
{
	unsigned char c;

	if (q >= s->n)
		return true;
	c = at(s, q);
	if (is_word(c))
		return false;
	if ((c == '.' || c == '-') && is_digit(at(s, q + 1)))
		return false;
	return true;
}

static size_t digits_at(const struct scan *s, size_t p, size_t max)
{
	return run(s, p, max, is_digit) - p;
}

static bool card_brand_ok(const char *d, size_t n)
{
	int p2 = (d[0] - '0') * 10 + (d[1] - '0'), p3 = p2 * 10 + (d[2] - '0'),
	    p4 = p3 * 10 + (d[3] - '0'), p6 = p4 * 100 + (d[4] - '0') * 10 + (d[5] - '0');

	if (d[0] == '4') /* Visa */
		return n == 13 || n == 16 || n == 19;
	if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) /* Mastercard */
		return n == 16;
	if (p2 == 34 || p2 == 37) /* American Express */
		return n == 15;
	if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65 || (p6 >= 622126 && p6 <= 622925))
		return n >= 16; /* Discover */
	if (p4 >= 3528 && p4 <= 3589) /* JCB */
		return n >= 16;
	if ((p3 >= 300 && p3 <= 305) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39)
		return n >= 14; /* Diners Club */
	if (p2 == 62) /* UnionPay */
		return n >= 16;
	if (p4 >= 2200 && p4 <= 2204) /* Mir */
		return n == 16;
	/* Maestro */
	return p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893 || p4 == 6304 || p4 == 6759 ||
	       (p4 >= 6761 && p4 <= 6763);
}

static bool card_ok(const char *d, size_t n, unsigned *flags)
{
	static const char *const test_cards[] = {
		"4111111111111111", "4242424242424242", "4012888888881881", "4000056655665556",
		"5555555555554444", "5105105105105100", "5200828282828210", "2223003122003222",
		"378282246310005",  "371449635398431",	"6011111111111117", "6011000990139424",
		"3530111333300000", "3566002020360505", "30569309025904",   "38520000023237",
		"6200000000000005",
	};
	bool same = true;

	if (n < 13 || n > 19)
		return false;
	for (size_t i = 1; i < n; i++)
		same &= d[i] == d[0];
	if (same || !card_brand_ok(d, n) || !detect_luhn_ok(d, n))
		return false;
	*flags = 0;
	for (size_t i = 0; i < sizeof(test_cards) / sizeof(test_cards[0]); i++)
		if (strlen(test_cards[i]) == n && memcmp(test_cards[i], d, n) == 0)
			*flags = DETECT_F_TEST_DATA;
	return true;
}

/* 13-19 digits, bare or in groups of 4 (last 1-4), 4-6-5 or 4-6-4, one
 * separator kind; the longest valid prefix of the groups. */
static size_t match_card(const struct scan *s, size_t p, size_t b, unsigned *flags)
{
	size_t len[6], end[6], r, l = digits_at(s, p, 20);
	char d[20];
	unsigned char sep;
	int ng = 1;

	if (l >= 13 && l <= 19)
		return card_ok(s->t + p, l, flags) && num_right_ok(s, p + l) ? p + l : 0;
	if (l != 4)
		return 0;
	sep = at(s, p + 4);
	if (sep != ' ' && sep != '-')
		return 0;
	len[0] = 4;
	end[0] = r = p + 4;
	while (ng < 6 && r + 1 < b && at(s, r) == sep && is_digit(at(s, r + 1))) {
		size_t g = digits_at(s, r + 1, 7);

		len[ng] = g;
		end[ng] = r = r + 1 + g;
		ng++;
		if (g > 6)
			break;
	}
	for (int k = ng; k >= 3; k--) {
		size_t total = 0, o = 0;
		bool shape = len[k - 1] >= 1 && len[k - 1] <= 4;

		for (int i = 0; i < k - 1; i++)
			shape &= len[i] == 4;
		shape |= k == 3 && len[1] == 6 && (len[2] == 5 || len[2] == 4);
		for (int i = 0; i < k; i++)
			total += len[i];
		if (!shape || total < 13 || total > 19)
			continue;
		for (size_t i = p; i < end[k - 1]; i++)
			if (is_digit(at(s, i)))
				d[o++] = s->t[i];
		if (card_ok(d, o, flags) && num_right_ok(s, end[k - 1]))
			return end[k - 1];
	}
	return 0;
}

static bool ssn_ok(const char *a, const char *g, const char *sr)
{
	int area = (a[0] - '0') * 100 + (a[1] - '0') * 10 + (a[2] - '0');
	char all[10];

	if (area == 0 || area == 666 || area >= 900)
		return false;
	if (g[0] == '0' && g[1] == '0')
		return false;
	if (!memcmp(sr, "0000", 4))
		return false;
	memcpy(all, a, 3);
	memcpy(all + 3, g, 2);
	memcpy(all + 5, sr, 4);
	all[9] = '\0';
	/* the Woolworth wallet card, a 1940s ad, the textbook example */
	return strcmp(all, "078051120") && strcmp(all, "219099999") && strcmp(all, "123456789");
}

/* "ssn" or "social security" shortly before p: a bare 9-digit number is an
 * SSN only in that context. */
static bool ssn_context(const struct scan *s, size_t p)
{
	size_t from = p > 32 ? p - 32 : 0;

	return has_ci(s->t + from, p - from, "ssn") || has_ci(s->t + from, p - from, "social sec");
}

static size_t match_ssn(const struct scan *s, size_t p)
{
	unsigned char sep = at(s, p + 3);
	size_t l = digits_at(s, p, 10);

	if (l == 9)
		return ssn_context(s, p) && ssn_ok(s->t + p, s->t + p + 3, s->t + p + 5) &&
				       num_right_ok(s, p + 9) ?
			       p + 9 :
			       0;
	if (l != 3 || (sep != '-' && sep != ' ') || digits_at(s, p + 4, 3) != 2 ||
	    at(s, p + 6) != sep || digits_at(s, p + 7, 5) != 4)
		return 0;
	if (!ssn_ok(s->t + p, s->t + p + 4, s->t + p + 7) || !num_right_ok(s, p + 11))
		return 0;
	return p + 11;
}

/* NANP area code / exchange: [2-9]XX, not N11. */
static bool nanp_code_ok(const char *d)
{
	return d[0] >= '2' && d[0] <= '9' && !(d[1] == '1' && d[2] == '1');
}

static bool is_phone_sep(unsigned char c)
{
	return c == ' ' || c == '-' || c == '.';
}

/* (415) 555-2671, 415-555-2671, 415.555.2671, 1-415-555-2671 */
static size_t match_nanp(const struct scan *s, size_t p)
{
	size_t q = p;
	unsigned char sep1 = 0, sep2;
	const char *area;

	if (at(s, q) == '1' && is_phone_sep(at(s, q + 1)) &&
	    (is_digit(at(s, q + 2)) || at(s, q + 2) == '('))
		q += 2;
	if (at(s, q) == '(') {
		if (digits_at(s, q + 1, 4) != 3 || at(s, q + 4) != ')')
			return 0;
		area = s->t + q + 1;
		q += 5;
		if (at(s, q) == ' ')
			q++;
	} else {
		if (digits_at(s, q, 4) != 3 || !is_phone_sep(at(s, q + 3)))
			return 0;
		area = s->t + q;
		sep1 = at(s, q + 3);
		q += 4;
	}
	if (digits_at(s, q, 4) != 3)
		return 0;
	sep2 = at(s, q + 3);
	if (!is_phone_sep(sep2) || (sep1 && sep2 != sep1))
		return 0;
	if (!nanp_code_ok(area) || !nanp_code_ok(s->t + q))
		return 0;
	q += 4;
	if (digits_at(s, q, 5) != 4 || !num_right_ok(s, q + 4))
		return 0;
	return q + 4;
}

/* +CC digits, 8-15 of them, single separators or a parenthesised group. */
static size_t match_e164(const struct scan *s, size_t p, size_t b)
{
	size_t q = p + 1, ends[16];
	int counts[16], ng = 0, nd = 0;
	char d[16];

	if (!is_digit(at(s, q)) || at(s, q) == '0')
		return 0;
	while (q < b && ng < 16) {
		size_t g = digits_at(s, q, 16), k;

		if (!g)
			break;
		for (k = 0; k < g && nd < 15; k++)
			d[nd++] = s->t[q + k];
		if (k < g)
			break; /* more than 15 digits: stop before this group */
		q += g;
		ends[ng] = q;
		counts[ng++] = nd;
		/* one separator, or ") ", " (", or ")" */
		k = 0;
		while (k < 2 && q + k < b && at(s, q + k) && strchr(" -.()", at(s, q + k)))
			k++;
		if (!k || !is_digit(at(s, q + k)))
			break;
		q += k;
	}
	/* the longest valid run of groups: what follows a shorter one (the
	 * next number, or a token once that is redacted) cannot change it */
	for (; ng > 0; ng--) {
		size_t e = ends[ng - 1];

		nd = counts[ng - 1];
		if (nd < 8 || !num_right_ok(s, e))
			continue;
		/* +1: the rest is a NANP number */
		if (d[0] == '1' && (nd != 11 || !nanp_code_ok(d + 1) || !nanp_code_ok(d + 4)))
			continue;
		return e;
	}
	return 0;
}

static unsigned ipv4_flags(const unsigned o[4])
{
	bool priv = o[0] == 0 || o[0] == 10 || o[0] == 127 || o[0] >= 224 ||
		    (o[0] == 100 && (o[1] & 0xc0) == 64) || (o[0] == 169 && o[1] == 254) ||
		    (o[0] == 172 && (o[1] & 0xf0) == 16) || (o[0] == 192 && o[1] == 168) ||
		    (o[0] == 192 && o[1] == 0 && (o[2] == 0 || o[2] == 2)) ||
		    (o[0] == 198 && (o[1] & 0xfe) == 18) ||
		    (o[0] == 198 && o[1] == 51 && o[2] == 100) ||
		    (o[0] == 203 && o[1] == 0 && o[2] == 113);

	return priv ? DETECT_F_PRIVATE : 0;
}

static size_t match_ipv4(const struct scan *s, size_t p, unsigned *flags)
{
	unsigned o[4];
	size_t q = p;

	if (p > 0 && at(s, p - 1) == '.')
		return 0;
	for (int i = 0; i < 4; i++) {
		size_t l = digits_at(s, q, 4);

		if (l < 1 || l > 3 || (l > 1 && at(s, q) == '0'))
			return 0;
		o[i] = 0;
		for (size_t k = 0; k < l; k++)
			o[i] = o[i] * 10 + (unsigned)(s->t[q + k] - '0');
		if (o[i] > 255)
			return 0;
		q += l;
		if (i < 3) {
			if (at(s, q) != '.')
				return 0;
			q++;
		}
	}
	if (!num_right_ok(s, q))
		return 0;
	*flags = ipv4_flags(o);
	return q;
}

/* Every entity that may start at p; the longest one wins. */
static void number_at(struct scan *s, size_t *pp, size_t b)
{
	size_t p = *pp, best = 0, q;
	enum detect_entity be = DETECT_PHONE;
	unsigned bf = 0, f = 0;
	unsigned char c = at(s, p);

	if (c == '+') {
		if (s->mask & DETECT_BIT(DETECT_PHONE) && (q = match_e164(s, p, b)) > best) {
			best = q;
			be = DETECT_PHONE;
		}
	} else if (c == '(') {
		if (s->mask & DETECT_BIT(DETECT_PHONE) && (q = match_nanp(s, p)) > best) {
			best = q;
			be = DETECT_PHONE;
		}
	} else {
		if (s->mask & DETECT_BIT(DETECT_CREDIT_CARD) &&
		    (q = match_card(s, p, b, &f)) > best) {
			best = q;
			be = DETECT_CREDIT_CARD;
			bf = f;
		}
		if (s->mask & DETECT_BIT(DETECT_US_SSN) && (q = match_ssn(s, p)) > best) {
			best = q;
			be = DETECT_US_SSN;
			bf = 0;
		}
		if (s->mask & DETECT_BIT(DETECT_PHONE) && (q = match_nanp(s, p)) > best) {
			best = q;
			be = DETECT_PHONE;
			bf = 0;
		}
		if (s->mask & DETECT_BIT(DETECT_IP_ADDRESS) && (q = match_ipv4(s, p, &f)) > best) {
			best = q;
			be = DETECT_IP_ADDRESS;
			bf = f;
		}
	}
	if (best) {
		add(s, p, best, be, bf);
		*pp = best;
	} else {
		*pp = p + 1;
	}
}

/* A maximal run of digits and number punctuation around a trigger, once. */
static void parse_number_run(struct scan *s, size_t e)
{
	size_t a = e - 1, b = e;

	if (e <= s->run_end)
		return;
	while (a > s->run_end && is_runc(at(s, a - 1)))
		a--;
	while (b < s->n && is_runc(at(s, b)))
		b++;
	s->run_end = b;
	for (size_t p = a, last_end = SIZE_MAX; p < b;) {
		unsigned char c = at(s, p);
		bool start = c == '+' || c == '(' ||
			     (is_digit(c) && (p == 0 || !is_digit(at(s, p - 1))));
		size_t before = s->nm;

		/* right after a match the text will be a token ending in ']': a
		 * boundary, so it is one now (redacting again finds nothing new) */
		if (start && (p == last_end || num_left_ok(s, p))) {
			number_at(s, &p, b);
			if (s->nm > before)
				last_end = p;
		} else {
			p++;
		}
	}
}

/* ---- IPv6 ---- */

static bool is_v6c(unsigned char c)
{
	return is_hex(c) || c == ':' || c == '.';
}

static void parse_ipv6(struct scan *s, size_t e)
{
	size_t a = e, b = e;
	struct in6_addr addr;
	char buf[48];
	unsigned flags = DETECT_F_PRIVATE;
	uint16_t g0;

	if (e <= s->v6_end)
		return;
	while (a > s->v6_end && is_v6c(at(s, a - 1)))
		a--;
	while (b < s->n && is_v6c(at(s, b)))
		b++;
	s->v6_end = b;
	while (b > a && s->t[b - 1] == '.')
		b--;
	if (b - a < 2 || b - a > 45 || (a > 0 && is_word(at(s, a - 1))) || is_word(at(s, b)))
		return;
	memcpy(buf, s->t + a, b - a);
	buf[b - a] = '\0';
	if (inet_pton(AF_INET6, buf, &addr) != 1)
		return;
	/* global unicast is 2000::/3, minus documentation 2001:db8::/32 */
	g0 = (uint16_t)(addr.s6_addr[0] << 8 | addr.s6_addr[1]);
	if (g0 >= 0x2000 && g0 <= 0x3fff &&
	    !(g0 == 0x2001 && addr.s6_addr[2] == 0x0d && addr.s6_addr[3] == 0xb8))
		flags = 0;
	/* ::ffff:a.b.c.d is an IPv4 address */
	if (IN6_IS_ADDR_V4MAPPED(&addr)) {
		unsigned o[4] = { addr.s6_addr[12], addr.s6_addr[13], addr.s6_addr[14],
				  addr.s6_addr[15] };

		flags = ipv4_flags(o);
	}
	add(s, a, b, DETECT_IP_ADDRESS, flags);
}

/* ---- IBAN ---- */

static void parse_iban(struct scan *s, size_t e)
{
	size_t st = e - 4, q = st + 4, n = 4, want;
	char buf[40];

	pthread_once(&tables_once, tables_init);
	if (!left_bound(s, st, is_alnum))
		return;
	want = iban_len[s->t[st] - 'A'][s->t[st + 1] - 'A'];
	if (!want)
		return;
	memcpy(buf, s->t + st, 4);
	while (n < want && q < s->n) {
		unsigned char c = at(s, q);

		/* printed form: a space after every group of four */
		if (c == ' ' && n % 4 == 0 && (is_upper(at(s, q + 1)) || is_digit(at(s, q + 1)))) {
			q++;
			continue;
		}
		if (!is_upper(c) && !is_digit(c))
			break;
		buf[n++] = (char)c;
		q++;
	}
	if (n == want && !is_alnum(at(s, q)) && detect_iban_ok(buf, n))
		add(s, st, q, DETECT_IBAN, 0);
}

/* ---- invisible characters ---- */

/* Length of the invisible character at p, 0 if there is none. */
static size_t invis_at(const struct scan *s, size_t p)
{
	unsigned char c0 = at(s, p), c1 = at(s, p + 1), c2 = at(s, p + 2), c3 = at(s, p + 3);

	if (c0 == 0xF3 && c1 == 0xA0 && (c2 == 0x80 || c2 == 0x81) && c3 >= 0x80 && c3 <= 0xBF &&
	    p + 4 <= s->n)
		return 4;
	if (p + 3 > s->n)
		return 0;
	if (c0 == 0xE2 && c1 == 0x80 &&
	    ((c2 >= 0x8B && c2 <= 0x8F) || (c2 >= 0xAA && c2 <= 0xAE))) {
		/* a zero-width joiner inside an emoji sequence is legitimate */
		if (c2 == 0x8D && ((p >= 4 && (at(s, p - 4) & 0xF8) == 0xF0) ||
				   (p >= 3 && at(s, p - 3) == 0xEF && at(s, p - 2) == 0xB8 &&
				    at(s, p - 1) == 0x8F)))
			return 0;
		return 3;
	}
	if (c0 == 0xE2 && c1 == 0x81 && ((c2 >= 0xA0 && c2 <= 0xA4) || (c2 >= 0xA6 && c2 <= 0xA9)))
		return 3;
	if (c0 == 0xEF && c1 == 0xBB && c2 == 0xBF)
		return 3;
	return 0;
}

/* U+1F3F4 + 2-6 tag letters/digits + CANCEL TAG: an emoji subdivision flag
 * (England, Scotland, Wales).  Returns its tags' end, 0 if not one. */
static size_t flag_tags_end(const struct scan *s, size_t p)
{
	int n = 0;

	if (p < 4 || memcmp(s->t + p - 4, "\xF0\x9F\x8F\xB4", 4) != 0)
		return 0;
	for (; n <= 6 && p + 4 <= s->n; n++, p += 4) {
		unsigned char c2 = at(s, p + 2), c3 = at(s, p + 3);
		unsigned cp;

		if (at(s, p) != 0xF3 || at(s, p + 1) != 0xA0 || (c2 != 0x80 && c2 != 0x81))
			return 0;
		cp = ((c2 & 0x01u) << 6) | (c3 & 0x3Fu);
		if (cp == 0x7F)
			return n >= 2 ? p + 4 : 0;
		if (!((cp >= 0x30 && cp <= 0x39) || (cp >= 0x61 && cp <= 0x7A)))
			return 0;
	}
	return 0;
}

static void parse_invis(struct scan *s, size_t e)
{
	size_t st = e - 3, p, l, f;

	if (st < s->invis_end)
		return;
	f = flag_tags_end(s, st);
	if (f) {
		s->invis_end = f;
		return;
	}
	for (p = st; (l = invis_at(s, p)) > 0; p += l)
		;
	s->invis_end = p;
	add(s, st, p, DETECT_INVISIBLE_UNICODE, 0);
}

/* ---- the scan ---- */

static int on_trigger(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
		      void *ctx)
{
	struct scan *s = ctx;
	size_t e = (size_t)to;

	if (!(s->mask & trig_entities[id]))
		return 0;
	switch (id) {
	case T_SK:
		parse_sk(s, e - 3);
		break;
	case T_AWS:
		parse_aws(s, e - 4);
		break;
	case T_GH:
		parse_gh(s, e - 4);
		break;
	case T_GHPAT:
		parse_ghpat(s, e - 11);
		break;
	case T_GLPAT:
		parse_glpat(s, e - 6);
		break;
	case T_XOX:
		parse_xox(s, e - 5);
		break;
	case T_SLACK_HOOK:
		parse_slack_hook(s, e - 16);
		break;
	case T_AIZA:
		parse_aiza(s, e - 4);
		break;
	case T_STRIPE:
		parse_stripe(s, e - 8);
		break;
	case T_HF:
		parse_hf(s, e - 3);
		break;
	case T_JWT:
		parse_jwt(s, e - 3);
		break;
	case T_PEM_BEGIN:
	case T_PEM_END: {
		size_t st = e - (id == T_PEM_BEGIN ? 11 : 9), end = pem_label(s, e);

		if (end)
			add_pem(s, st, end, id == T_PEM_END);
		break;
	}
	case T_URL:
		parse_url(s, e - 3);
		break;
	case T_AT:
		parse_email(s, e - 1);
		break;
	case T_KEY:
		parse_key(s, e);
		break;
	case T_DIGITS:
	case T_IPV4:
		parse_number_run(s, e);
		break;
	case T_IPV6:
		parse_ipv6(s, e);
		break;
	case T_IBAN:
		parse_iban(s, e);
		break;
	case T_INVIS:
		parse_invis(s, e);
		break;
	}
	return s->err ? 1 : 0;
}

static bool is_credential(enum detect_entity e)
{
	return DETECT_BIT(e) & DETECT_SECRETS;
}

/* Of two overlapping matches, does a replace b?  A longer credential
 * covers what it contains (no part of a secret is left visible); otherwise
 * the more specific entity wins, then the longer span. */
static bool better(const struct detect_match *a, const struct detect_match *b)
{
	if (a->len != b->len) {
		const struct detect_match *l = a->len > b->len ? a : b;

		if (is_credential(l->entity))
			return l == a;
	}
	if (priority[a->entity] != priority[b->entity])
		return priority[a->entity] > priority[b->entity];
	return a->len > b->len;
}

static int by_start(const void *x, const void *y)
{
	const struct detect_match *a = x, *b = y;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	return (int)a->entity - (int)b->entity;
}

static size_t resolve_overlaps(struct detect_match *m, size_t n)
{
	size_t k = 0;

	qsort(m, n, sizeof(*m), by_start);
	for (size_t i = 0; i < n; i++) {
		if (k && m[i].start < m[k - 1].start + m[k - 1].len) {
			struct detect_match *w = better(&m[i], &m[k - 1]) ? &m[i] : &m[k - 1];
			const struct detect_match *l = w == &m[i] ? &m[k - 1] : &m[i];

			/* a loser that reaches past the winner leaves text behind */
			if (l->start < w->start || l->start + l->len > w->start + w->len)
				w->flags |= DETECT_F_DISPLACED;
			m[k - 1] = *w;
			continue;
		}
		m[k++] = m[i];
	}
	return k;
}

static int mark_by_start(const void *x, const void *y)
{
	const struct pem_mark *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

/* A match inside a refused generic value ("api_key=...EXAMPLE...") may
 * hold what made it refused: the match is flagged DISPLACED, as if that
 * value had been set aside for it. */
static void mark_refused_overlaps(struct scan *s, size_t n)
{
	size_t j = 0;

	if (!s->nrej)
		return;
	qsort(s->rej, s->nrej, sizeof(*s->rej), mark_by_start);
	for (size_t i = 0; i < n; i++) {
		struct detect_match *m = &s->m[i];

		/* a value is at most 258 bytes (quotes included): those starting
		 * further back ended before this match, and before the next */
		while (j < s->nrej && s->rej[j].start + 258 <= m->start)
			j++;
		for (size_t k = j; k < s->nrej && s->rej[k].start < m->start + m->len; k++)
			if (s->rej[k].end > m->start) {
				m->flags |= DETECT_F_DISPLACED;
				break;
			}
	}
}

static hs_scratch_t *scratch_get(const struct detector *d)
{
	struct detector *w = (struct detector *)d; /* the spare is internal state */
	hs_scratch_t *sc;

	pthread_mutex_lock(&w->lock);
	sc = w->spare;
	w->spare = NULL;
	pthread_mutex_unlock(&w->lock);
	if (!sc && hs_clone_scratch(d->proto, &sc) != HS_SUCCESS)
		return NULL;
	return sc;
}

static void scratch_put(const struct detector *d, hs_scratch_t *sc)
{
	struct detector *w = (struct detector *)d;

	pthread_mutex_lock(&w->lock);
	if (!w->spare) {
		w->spare = sc;
		sc = NULL;
	}
	pthread_mutex_unlock(&w->lock);
	if (sc)
		hs_free_scratch(sc);
}

int detect_scan(const struct detector *d, const char *text, size_t len, uint64_t entity_mask,
		detect_cb cb, void *ctx)
{
	struct scan s;
	hs_scratch_t *sc;
	hs_error_t hr;
	size_t n;
	int rc = 0;

	if (!d || (!text && len))
		return -EINVAL;
	if (len > UINT_MAX)
		return -E2BIG;
	if (!len || !(entity_mask & DETECT_ALL_ENTITIES))
		return 0;
	/* the shortest match ("a@b.co") is 6 bytes; an invisible character 3 */
	if (len < 6 && !(entity_mask & DETECT_BIT(DETECT_INVISIBLE_UNICODE)))
		return 0;
	memset(&s, 0, offsetof(struct scan, inline_m));
	s.t = text;
	s.n = len;
	s.mask = entity_mask;
	s.m = s.inline_m;
	s.cap = sizeof(s.inline_m) / sizeof(s.inline_m[0]);
	sc = scratch_get(d);
	if (!sc)
		return -ENOMEM;
	hr = hs_scan(d->db, text, (unsigned)len, 0, sc, on_trigger, &s);
	scratch_put(d, sc);
	if (s.err) {
		rc = s.err;
		goto cleanup;
	}
	if (hr != HS_SUCCESS) {
		rc = hr == HS_NOMEM ? -ENOMEM : -EINVAL;
		goto cleanup;
	}
	pem_pair(&s);
	if (s.err) {
		rc = s.err;
		goto cleanup;
	}
	n = resolve_overlaps(s.m, s.nm);
	mark_refused_overlaps(&s, n);
	for (size_t i = 0; i < n; i++) {
		rc++;
		if (cb && cb(&s.m[i], ctx))
			break;
	}
cleanup:
	if (s.m != s.inline_m)
		free(s.m);
	free(s.pem);
	free(s.rej);
	return rc;
}

const char *detect_entity_name(enum detect_entity e)
{
	return (unsigned)e < DETECT_ENTITY_COUNT ? entity_names[e] : NULL;
}

int detect_entity_parse(const char *name, enum detect_entity *out)
{
	for (int i = 0; i < DETECT_ENTITY_COUNT; i++)
		if (strcasecmp(name, entity_names[i]) == 0) {
			*out = (enum detect_entity)i;
			return 0;
		}
	return -EINVAL;
}

int detect_new(struct detector **out)
{
	const char *exprs[N_PATTERNS];
	unsigned ids[N_PATTERNS], flags[N_PATTERNS];
	hs_compile_error_t *cerr = NULL;
	struct detector *d;
	int err = -ENOMEM;

	*out = NULL;
	pthread_once(&tables_once, tables_init);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < N_PATTERNS; i++) {
		exprs[i] = patterns[i].expr;
		ids[i] = patterns[i].id;
		flags[i] = patterns[i].flags;
	}
	if (hs_compile_multi(exprs, flags, ids, N_PATTERNS, HS_MODE_BLOCK, NULL, &d->db, &cerr) !=
	    HS_SUCCESS) {
		hs_free_compile_error(cerr);
		err = -EINVAL;
		goto fail;
	}
	if (hs_alloc_scratch(d->db, &d->proto) != HS_SUCCESS)
		goto fail;
	if (pthread_mutex_init(&d->lock, NULL))
		goto fail;
	*out = d;
	return 0;
fail:
	hs_free_scratch(d->proto);
	hs_free_database(d->db);
	free(d);
	return err;
}

void detect_free(struct detector *d)
{
	if (!d)
		return;
	hs_free_scratch(d->spare);
	hs_free_scratch(d->proto);
	hs_free_database(d->db);
	pthread_mutex_destroy(&d->lock);
	free(d);
}
