// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "fields.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	enum ftype type;
} attrs[] = {
	/* process, container, host (docs/record.md) */
	{ "process.pid", FT_NUM },
	{ "process.parent_pid", FT_NUM },
	{ "thread.id", FT_NUM },
	{ "process.executable.name", FT_STR },
	{ "process.executable.path", FT_STR },
	{ "process.command_line", FT_STR },
	{ "process.owner", FT_STR },
	{ "process.user.id", FT_NUM },
	{ "process.creation.time", FT_STR },
	{ "container.id", FT_STR },
	{ "container.runtime.name", FT_STR },
	{ "host.name", FT_STR },
	{ "host.id", FT_STR },
	{ "llmtap.capture.role", FT_STR },
	{ "llmtap.capture.source", FT_STR },
	{ "llmtap.capture.joined", FT_BOOL },
	/* connection and HTTP */
	{ "server.address", FT_STR },
	{ "server.port", FT_NUM },
	{ "tls.client.server_name", FT_STR },
	{ "network.peer.address", FT_STR },
	{ "network.peer.port", FT_NUM },
	{ "network.local.address", FT_STR },
	{ "network.local.port", FT_NUM },
	{ "network.transport", FT_STR },
	{ "network.protocol.name", FT_STR },
	{ "network.protocol.version", FT_STR },
	{ "http.request.method", FT_STR },
	{ "url.path", FT_STR },
	{ "url.query", FT_STR },
	{ "http.response.status_code", FT_NUM },
	{ "http.request.body.size", FT_NUM },
	{ "http.response.body.size", FT_NUM },
	{ "llmtap.request.body.truncated", FT_BOOL },
	{ "llmtap.response.body.truncated", FT_BOOL },
	{ "llmtap.request.headers.truncated", FT_BOOL },
	{ "llmtap.response.headers.truncated", FT_BOOL },
	{ "llmtap.exchange.incomplete", FT_BOOL },
	{ "llmtap.capture.gap_bytes", FT_NUM },
	{ "llmtap.http.content_decoding_failed", FT_BOOL },
	{ "llmtap.http.decoded_body_truncated", FT_BOOL },
	{ "llmtap.http.request.body", FT_STR },
	{ "llmtap.http.response.body", FT_STR },
	/* LLM */
	{ "gen_ai.operation.name", FT_STR },
	{ "gen_ai.provider.name", FT_STR },
	{ "llmtap.llm.api", FT_STR },
	{ "gen_ai.request.model", FT_STR },
	{ "gen_ai.response.model", FT_STR },
	{ "gen_ai.response.id", FT_STR },
	{ "gen_ai.conversation.id", FT_STR },
	{ "gen_ai.request.stream", FT_BOOL },
	{ "gen_ai.request.temperature", FT_NUM },
	{ "gen_ai.request.top_p", FT_NUM },
	{ "gen_ai.request.max_tokens", FT_NUM },
	{ "gen_ai.response.finish_reasons", FT_LIST },
	{ "gen_ai.usage.input_tokens", FT_NUM },
	{ "gen_ai.usage.output_tokens", FT_NUM },
	{ "gen_ai.usage.cache_read.input_tokens", FT_NUM },
	{ "gen_ai.usage.cache_creation.input_tokens", FT_NUM },
	{ "gen_ai.usage.reasoning.output_tokens", FT_NUM },
	{ "gen_ai.embeddings.dimension.count", FT_NUM },
	{ "gen_ai.response.time_to_first_chunk", FT_NUM },
	{ "llmtap.duration_s", FT_NUM },
	{ "llmtap.time_per_output_token_s", FT_NUM },
	{ "llmtap.cost.usd", FT_NUM },
	{ "error.type", FT_STR },
	{ "llmtap.error.message", FT_STR },
	{ "llmtap.llm.decode_error", FT_BOOL },
	{ "openai.response.system_fingerprint", FT_STR },
};

#define N_ATTRS (sizeof(attrs) / sizeof(attrs[0]))

/* Attribute families whose names are open-ended. */
static const struct {
	const char *prefix;
	enum ftype type;
} prefixes[] = {
	{ "http.request.header.", FT_LIST },
	{ "http.response.header.", FT_LIST },
	{ "llmtap.peer.", FT_ANY },
	{ "ollama.", FT_ANY },
	{ "llamacpp.", FT_ANY },
};

static const char *const content_names[CF_MAX] = {
	[CF_PROMPT] = "prompt",
	[CF_SYSTEM_PROMPT] = "system_prompt",
	[CF_USER_PROMPT] = "user_prompt",
	[CF_RESPONSE] = "response",
	[CF_TOOL_NAME] = "tool.name",
	[CF_TOOL_ARGUMENTS] = "tool.arguments",
	[CF_TOOL_RESPONSE] = "tool.response",
	[CF_PROMPT_DECODED] = "prompt.decoded",
	[CF_RESPONSE_DECODED] = "response.decoded",
	[CF_TOOL_ARGUMENTS_DECODED] = "tool.arguments.decoded",
};

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[65], cur[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t d = prev[j - 1] + (a[i - 1] != b[j - 1]);

			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			cur[j] = d;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

const char *fields_closest(const char *s, const char *const *names, size_t n)
{
	size_t best = SIZE_MAX, limit = strlen(s) / 3;
	const char *found = NULL;

	if (limit < 2)
		limit = 2;
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(s, names[i]);

		if (d < best) {
			best = d;
			found = names[i];
		}
	}
	return best <= limit ? found : NULL;
}

int fields_lookup(const char *name, int *id, enum ftype *type, char *hint, size_t hint_size)
{
	const char *all[N_ATTRS + CF_MAX + 2], *c;
	size_t n = 0;

	for (int i = 0; i < CF_MAX; i++) {
		if (strcmp(name, content_names[i]) == 0) {
			*id = FIELD_CONTENT(i);
			*type = FT_STR;
			return 0;
		}
	}
	for (size_t i = 0; i < N_ATTRS; i++) {
		if (strcmp(name, attrs[i].name) == 0) {
			*id = (int)i;
			*type = attrs[i].type;
			return 0;
		}
	}
	if (strcmp(name, "event.name") == 0) {
		*id = FIELD_EVENT_NAME;
		*type = FT_STR;
		return 0;
	}
	if (strcmp(name, "response.system_prompt_overlap") == 0) {
		*id = FIELD_SYSPROMPT_OVERLAP;
		*type = FT_NUM;
		return 0;
	}
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i].prefix);

		if (strncmp(name, prefixes[i].prefix, pl) == 0 && name[pl]) {
			*id = FIELD_DYNAMIC;
			*type = prefixes[i].type;
			return 0;
		}
	}
	if (hint && hint_size) {
		for (int i = 0; i < CF_MAX; i++)
			all[n++] = content_names[i];
		for (size_t i = 0; i < N_ATTRS; i++)
			all[n++] = attrs[i].name;
		all[n++] = "event.name";
		all[n++] = "response.system_prompt_overlap";
		c = fields_closest(name, all, n);
		snprintf(hint, hint_size, "%s", c ? c : "");
	}
	return -ENOENT;
}

const char *fields_name(int id)
{
	if (FIELD_IS_CONTENT(id))
		return FIELD_CF(id) < CF_MAX ? content_names[FIELD_CF(id)] : NULL;
	if (id == FIELD_EVENT_NAME)
		return "event.name";
	if (id == FIELD_SYSPROMPT_OVERLAP)
		return "response.system_prompt_overlap";
	if (id >= 0 && (size_t)id < N_ATTRS)
		return attrs[id].name;
	return NULL;
}

json_t *fields_attr(json_t *rec, int id, const char *name)
{
	if (id == FIELD_EVENT_NAME)
		return json_object_get(rec, "event.name");
	if (id >= 0 && (size_t)id < N_ATTRS)
		name = attrs[id].name;
	return json_object_get(json_object_get(rec, "attributes"), name);
}

/* Where the parts of a content field go: into one text (b), or one by one
 * to fn, cut where the text would be. */
struct sink {
	struct dynbuf *b;
	fields_part_fn fn;
	void *ctx;
	size_t used; /* fn: the length the text would have */
	bool cut;
};

static bool sink_full(const struct sink *k)
{
	return k->b ? k->b->truncated : k->cut;
}

/* Appends a part, after a newline when it is not the first; a cut at the
 * cap is not an error. */
static int put(struct sink *k, const char *s, size_t n)
{
	struct dynbuf *b = k->b;
	int err;

	if (b) {
		err = b->len ? dynbuf_append(b, "\n", 1) : 0;
		if (!err)
			err = dynbuf_append(b, s, n);
		return err == -E2BIG ? 0 : err;
	}
	if (k->cut)
		return 0;
	if (k->used) {
		if (k->used + 1 > CONTENT_FIELD_CAP) {
			k->cut = true;
			return 0;
		}
		k->used++;
	}
	if (n > CONTENT_FIELD_CAP - k->used) {
		n = CONTENT_FIELD_CAP - k->used;
		k->cut = true;
	}
	k->used += n;
	return n ? k->fn(s, n, k->ctx) : 0;
}

/* The string leaves of a JSON value (tool arguments, tool results). */
static int put_strings(struct sink *b, const json_t *v, int depth)
{
	const char *k;
	json_t *x;
	size_t i;
	int err = 0;

	if (depth > 32 || sink_full(b))
		return 0;
	if (json_is_string(v))
		return put(b, json_string_value(v), json_string_length(v));
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, x) {
			err = put_strings(b, x, depth + 1);
			if (err)
				break;
		}
	} else if (json_is_array(v)) {
		json_array_foreach((json_t *)v, i, x) {
			err = put_strings(b, x, depth + 1);
			if (err)
				break;
		}
	}
	return err;
}

enum part_pick { PICK_TEXT, PICK_TOOL_NAME, PICK_TOOL_ARGS, PICK_TOOL_RESPONSE };

/* Appends what pick selects from a parts array. */
static int put_parts(struct sink *b, const json_t *parts, enum part_pick pick)
{
	json_t *p;
	size_t i;
	int err = 0;

	json_array_foreach((json_t *)parts, i, p) {
		const char *type = json_string_value(json_object_get(p, "type"));

		if (!type || err)
			break;
		switch (pick) {
		case PICK_TEXT:
			if (strcmp(type, "text") == 0 || strcmp(type, "reasoning") == 0)
				err = put_strings(b, json_object_get(p, "content"), 0);
			else if (strcmp(type, "tool_call_response") == 0)
				err = put_strings(b, json_object_get(p, "response"), 0);
			break;
		case PICK_TOOL_NAME:
			if (strcmp(type, "tool_call") == 0)
				err = put_strings(b, json_object_get(p, "name"), 0);
			break;
		case PICK_TOOL_ARGS:
			if (strcmp(type, "tool_call") == 0)
				err = put_strings(b, json_object_get(p, "arguments"), 0);
			break;
		case PICK_TOOL_RESPONSE:
			if (strcmp(type, "tool_call_response") == 0)
				err = put_strings(b, json_object_get(p, "response"), 0);
			break;
		}
	}
	return err;
}

/* Messages of a role (NULL: all roles) and of a pick. */
static int put_messages(struct sink *b, const json_t *msgs, const char *role, enum part_pick pick)
{
	json_t *m;
	size_t i;
	int err = 0;

	json_array_foreach((json_t *)msgs, i, m) {
		const char *r = json_string_value(json_object_get(m, "role"));

		if (role && (!r || strcmp(r, role) != 0))
			continue;
		err = put_parts(b, json_object_get(m, "parts"), pick);
		if (err)
			break;
	}
	return err;
}

static const char b64_vals[256] = {
#define B(c, v) [c] = v
	B('A', 1),  B('B', 2),	B('C', 3),  B('D', 4),	B('E', 5),  B('F', 6),	B('G', 7),
	B('H', 8),  B('I', 9),	B('J', 10), B('K', 11), B('L', 12), B('M', 13), B('N', 14),
	B('O', 15), B('P', 16), B('Q', 17), B('R', 18), B('S', 19), B('T', 20), B('U', 21),
	B('V', 22), B('W', 23), B('X', 24), B('Y', 25), B('Z', 26), B('a', 27), B('b', 28),
	B('c', 29), B('d', 30), B('e', 31), B('f', 32), B('g', 33), B('h', 34), B('i', 35),
	B('j', 36), B('k', 37), B('l', 38), B('m', 39), B('n', 40), B('o', 41), B('p', 42),
	B('q', 43), B('r', 44), B('s', 45), B('t', 46), B('u', 47), B('v', 48), B('w', 49),
	B('x', 50), B('y', 51), B('z', 52), B('0', 53), B('1', 54), B('2', 55), B('3', 56),
	B('4', 57), B('5', 58), B('6', 59), B('7', 60), B('8', 61), B('9', 62), B('+', 63),
	B('/', 64), B('-', 63), B('_', 64),
#undef B
};

/* Decodes one run (standard or URL-safe alphabet) into out when the
 * result is text: at least 90% printable ASCII, tabs, newlines or UTF-8. */
static int decode_run(const char *s, size_t n, struct dynbuf *out)
{
	unsigned char buf[4096];
	size_t start = out->len, printable = 0, total = 0;
	uint32_t acc = 0;
	int bits = 0, err = 0;

	for (size_t i = 0; i < n;) {
		size_t k = 0;

		while (i < n && k < sizeof(buf)) {
			acc = (acc << 6) | (uint32_t)(b64_vals[(unsigned char)s[i++]] - 1);
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				buf[k++] = (unsigned char)(acc >> bits);
			}
		}
		for (size_t j = 0; j < k; j++)
			printable += (buf[j] >= 0x20 && buf[j] < 0x7f) || buf[j] == '\n' ||
				     buf[j] == '\t' || buf[j] == '\r' || buf[j] >= 0x80;
		total += k;
		err = dynbuf_append(out, buf, k);
		if (err)
			break;
	}
	if (err == -ENOMEM)
		return err;
	if (total == 0 || printable * 10 < total * 9) {
		/* binary (an image, a compressed blob): not text to scan */
		out->len = start;
		if (out->buf)
			out->buf[start] = '\0';
		out->truncated = false;
		return 0;
	}
	err = dynbuf_append(out, "\n", 1);
	return err == -ENOMEM ? err : 0;
}

static int decode_pass(const char *text, size_t len, size_t min_run, struct dynbuf *out)
{
	const unsigned char *t = (const unsigned char *)text;
	size_t i = 0, runs = 0;
	int err = 0;

	/* i is always where a run may start (0, or after a byte outside the
	 * alphabet): the last such byte in [i, i + min_run) moves i past it,
	 * and without one, a run of min_run starts at i */
	while (i + min_run <= len && !out->truncated && runs < 64) {
		size_t j, q = i + min_run;

		while (q > i && b64_vals[t[q - 1]])
			q--;
		if (q > i) {
			i = q;
			continue;
		}
		j = i + min_run;
		while (j < len && b64_vals[t[j]])
			j++;
		/* at most 1 MiB of one run: the rest is rarely text */
		err = decode_run(text + i, j - i > (1u << 20) ? (1u << 20) : j - i, out);
		if (err)
			return err;
		runs++;
		i = j;
	}
	return 0;
}

int fields_decode_base64(const char *text, size_t len, size_t min_run, struct dynbuf *out)
{
	size_t first = out->len;
	int err = decode_pass(text, len, min_run, out);

	/* one more level: base64 of base64 is a common way to hide */
	if (!err && out->len > first && !out->truncated) {
		size_t end = out->len;
		char *copy = malloc(end - first);

		if (!copy)
			return -ENOMEM;
		memcpy(copy, out->buf + first, end - first);
		err = decode_pass(copy, end - first, min_run, out);
		free(copy);
	}
	return err;
}

/* The parts of a content field that is built from the messages. */
static int put_field(json_t *rec, enum content_field cf, struct sink *b)
{
	json_t *a = json_object_get(rec, "attributes");
	json_t *sys = json_object_get(a, "gen_ai.system_instructions");
	json_t *in = json_object_get(a, "gen_ai.input.messages");
	json_t *out = json_object_get(a, "gen_ai.output.messages");
	int err = 0;

	switch (cf) {
	case CF_PROMPT:
		err = put_parts(b, sys, PICK_TEXT);
		if (!err)
			err = put_messages(b, in, NULL, PICK_TEXT);
		break;
	case CF_SYSTEM_PROMPT:
		err = put_parts(b, sys, PICK_TEXT);
		if (!err)
			err = put_messages(b, in, "system", PICK_TEXT);
		if (!err)
			err = put_messages(b, in, "developer", PICK_TEXT);
		break;
	case CF_USER_PROMPT:
		err = put_messages(b, in, "user", PICK_TEXT);
		break;
	case CF_RESPONSE:
		err = put_messages(b, out, NULL, PICK_TEXT);
		break;
	case CF_TOOL_NAME:
	case CF_TOOL_ARGUMENTS: {
		enum part_pick pick = cf == CF_TOOL_NAME ? PICK_TOOL_NAME : PICK_TOOL_ARGS;

		err = put_messages(b, in, NULL, pick);
		if (!err)
			err = put_messages(b, out, NULL, pick);
		break;
	}
	case CF_TOOL_RESPONSE:
		err = put_messages(b, in, NULL, PICK_TOOL_RESPONSE);
		break;
	default:
		return -EINVAL;
	}
	return err;
}

int fields_content(json_t *rec, enum content_field cf, struct dynbuf *b,
		   const struct dynbuf *source)
{
	struct sink k = { .b = b };
	int err = 0;

	dynbuf_reset(b);
	switch (cf) {
	case CF_PROMPT_DECODED:
	case CF_RESPONSE_DECODED:
	case CF_TOOL_ARGUMENTS_DECODED:
		if (source && source->len)
			err = fields_decode_base64(source->buf, source->len, 32, b);
		break;
	default:
		err = put_field(rec, cf, &k);
		break;
	}
	return err == -E2BIG ? 0 : err;
}

int fields_parts(json_t *rec, enum content_field cf, fields_part_fn fn, void *ctx)
{
	struct sink k = { .fn = fn, .ctx = ctx };

	return put_field(rec, cf, &k);
}

#define SHINGLE_WORDS 6
#define MAX_SHINGLES 8192
#define ROLL_BASE 0x100000001b3ull

/* A random 64-bit value per word byte (letters folded to lower case,
 * digits, any byte of a UTF-8 sequence); 0 for the bytes between words. */
static uint64_t word_tab[256];
static pthread_once_t word_tab_once = PTHREAD_ONCE_INIT;

static void word_tab_init(void)
{
	uint64_t x = 0x243f6a8885a308d3ull, lower[256];

	for (int c = 0; c < 256; c++) {
		/* splitmix64: fixed, so hashes do not change from run to run */
		uint64_t z = (x += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		lower[c] = (z ^ (z >> 31)) | 1;
	}
	for (int c = 0; c < 256; c++) {
		if (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))
			word_tab[c] = lower[c];
		else if (c >= 'A' && c <= 'Z')
			word_tab[c] = lower[c | 32];
	}
}

#define WORD_CHUNK 1024

/* Calls fn for the hash of each shingle of text (a rolling hash over word
 * hashes: O(1) a word); stops when fn returns non-zero.  The whole response
 * is hashed, so the byte loop has no branch that depends on the text (a
 * word boundary every few bytes was a misprediction each): word hashes
 * (cyclic polynomial over a table) are computed and stored unconditionally,
 * a word's slot kept only where the word ends. */
static void shingles(const char *t, size_t n, int (*fn)(uint64_t, void *), void *ctx)
{
	const unsigned char *u = (const unsigned char *)t;
	uint64_t ring[SHINGLE_WORDS], roll = 0, top = 1, h = 0, prev = 0;
	uint64_t hw[WORD_CHUNK + 1];
	size_t words = 0;

	pthread_once(&word_tab_once, word_tab_init);
	for (int k = 1; k < SHINGLE_WORDS; k++)
		top *= ROLL_BASE;
	for (size_t i = 0; i < n || prev;) {
		size_t end = n - i > WORD_CHUNK ? i + WORD_CHUNK : n, nw = 0;

		for (; i < end; i++) {
			uint64_t c = word_tab[u[i]];

			hw[nw] = h;
			nw += prev && !c; /* a word ended before byte i */
			h = c ? ((h << 1) | (h >> 63)) ^ c : 0;
			prev = c;
		}
		if (i == n && prev) {
			hw[nw++] = h; /* the last word ends with the text */
			prev = 0;
		}
		for (size_t k = 0; k < nw; k++) {
			uint64_t w = hw[k] * 0x9e3779b97f4a7c15ull;

			w ^= w >> 31;
			if (words >= SHINGLE_WORDS)
				roll -= ring[words % SHINGLE_WORDS] * top;
			roll = roll * ROLL_BASE + w;
			ring[words % SHINGLE_WORDS] = w;
			if (++words >= SHINGLE_WORDS && fn(roll | 1, ctx))
				return;
		}
	}
}

/* The shingles of the system prompt: an open-addressing set (0 is empty;
 * hashes are odd), each with a seen mark. */
struct shingle_set {
	uint64_t *v;
	unsigned char *seen;
	size_t mask, n, found;
};

static uint64_t *slot(struct shingle_set *s, uint64_t h)
{
	size_t i = (size_t)(h >> 17) & s->mask;

	while (s->v[i] && s->v[i] != h)
		i = (i + 1) & s->mask;
	return &s->v[i];
}

static int collect(uint64_t h, void *ctx)
{
	struct shingle_set *s = ctx;
	uint64_t *p;

	if (s->n == MAX_SHINGLES)
		return 1;
	p = slot(s, h);
	if (!*p) {
		*p = h;
		s->n++;
	}
	return 0;
}

static int probe(uint64_t h, void *ctx)
{
	struct shingle_set *s = ctx;
	uint64_t *p = slot(s, h);

	if (*p && !s->seen[p - s->v]) {
		s->seen[p - s->v] = 1;
		s->found++;
	}
	return s->found == s->n;
}

int fields_overlap(const char *sys, size_t sn, const char *resp, size_t rn, double *pct)
{
	/* a shingle ends a word and a word takes two bytes (one a separator):
	 * the table is sized to what sys can hold, load at most 1/4, so that a
	 * short system prompt costs a small allocation, not 288 KiB of zeroes */
	size_t most = sn / 2 + 1 < MAX_SHINGLES ? sn / 2 + 1 : MAX_SHINGLES, slots = 64;
	struct shingle_set s = { 0 };
	int rc = 0;

	while (slots < 4 * most)
		slots *= 2;
	s.mask = slots - 1;
	s.v = calloc(s.mask + 1, sizeof(*s.v));
	s.seen = calloc(s.mask + 1, 1);
	if (!s.v || !s.seen) {
		rc = -ENOMEM;
		goto cleanup;
	}
	shingles(sys, sn, collect, &s);
	if (s.n == 0)
		goto cleanup;
	shingles(resp, rn, probe, &s);
	*pct = 100.0 * (double)s.found / (double)s.n;
	rc = 1;
cleanup:
	free(s.v);
	free(s.seen);
	return rc;
}
