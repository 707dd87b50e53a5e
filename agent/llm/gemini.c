// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Google Gemini generateContent / streamGenerateContent (AI Studio and
 * Vertex paths), normalised to struct llm_exchange.  A response is one
 * GenerateContentResponse, an SSE stream of them (alt=sse) or a JSON array
 * of them (the default stream framing), possibly cut off.  Every form goes
 * through the same chunk accumulator: text is joined per candidate, usage is
 * the last usageMetadata seen.
 *
 * The REST API takes both camelCase and snake_case field names (proto JSON),
 * so both are read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_util.h"
#include "llm.h"
#include "proto/sse.h"
#include "util/dynbuf.h"

#define TEXT_CAP (1u << 20)
#define MAX_CANDS 64
#define MAX_PARTS 128

/* obj[camel], else obj[snake]. */
static json_t *get2(const json_t *obj, const char *camel, const char *snake)
{
	json_t *v = json_object_get(obj, camel);

	return v ? v : json_object_get(obj, snake);
}

/* The model name from .../models/{model}:action (tunedModels too). */
static int model_from_path(const char *path, struct llm_exchange *ex)
{
	const char *colon, *slash;
	char *m;

	if (!path)
		return 0;
	colon = strrchr(path, ':');
	if (!colon)
		return 0;
	slash = colon;
	while (slash > path && slash[-1] != '/')
		slash--;
	if (slash == colon)
		return 0;
	m = strndup(slash, (size_t)(colon - slash));
	if (!m)
		return -ENOMEM;
	free(ex->request_model);
	ex->request_model = m;
	return 0;
}

/* inlineData / fileData: the kind of media, never the bytes. */
static json_t *media_part(const json_t *blob)
{
	const char *mime = json_string_value(get2(blob, "mimeType", "mime_type"));
	const char *type = "file";
	json_t *p;

	if (mime && !strncmp(mime, "image/", 6))
		type = "image";
	else if (mime && !strncmp(mime, "audio/", 6))
		type = "audio";
	else if (mime && !strncmp(mime, "video/", 6))
		type = "video";
	p = lj_typed(type);
	if (mime && lj_put(p, "mime_type", json_string(mime))) {
		json_decref(p);
		return NULL;
	}
	return p;
}

static json_t *response_part(const json_t *fr)
{
	const json_t *id = json_object_get(fr, "id");

	/* function responses are matched by name when the call had no id */
	if (!json_is_string(id))
		id = json_object_get(fr, "name");
	return lj_tool_response_part(id, json_object_get(fr, "response"));
}

/* Appends a non-text part; unknown parts are skipped. */
static int add_other_part(json_t *parts, const json_t *p)
{
	const json_t *v;

	if ((v = get2(p, "functionCall", "function_call")) && json_is_object(v))
		return lj_push(parts, lj_tool_call_part(json_object_get(v, "id"),
							json_object_get(v, "name"),
							json_object_get(v, "args")));
	if ((v = get2(p, "functionResponse", "function_response")) && json_is_object(v))
		return lj_push(parts, response_part(v));
	if ((v = get2(p, "inlineData", "inline_data")) && json_is_object(v))
		return lj_push(parts, media_part(v));
	if ((v = get2(p, "fileData", "file_data")) && json_is_object(v))
		return lj_push(parts, media_part(v));
	if (get2(p, "executableCode", "executable_code"))
		return lj_push(parts, lj_typed("executable_code"));
	if (get2(p, "codeExecutionResult", "code_execution_result"))
		return lj_push(parts, lj_typed("code_execution_result"));
	return 0;
}

static bool is_thought(const json_t *p)
{
	return json_is_true(json_object_get(p, "thought"));
}

/* Appends the parts of a Content (request side: one part per Gemini part). */
static int add_parts(json_t *parts, const json_t *content)
{
	const json_t *list = json_object_get(content, "parts"), *p, *t;
	size_t i;
	int err;

	json_array_foreach(list, i, p) {
		if (json_array_size(parts) >= MAX_PARTS)
			break;
		t = json_object_get(p, "text");
		if (json_is_string(t))
			err = lj_push(parts, lj_str_part(is_thought(p) ? "reasoning" : "text", t));
		else
			err = add_other_part(parts, p);
		if (err)
			return err;
	}
	return 0;
}

/* Content.parts as a new array of OTel parts. */
static int parts_of(const json_t *content, json_t **out)
{
	return lj_build_array(out, add_parts, content);
}

static const char *otel_role(const char *role)
{
	if (!role)
		return "user";
	if (!strcmp(role, "model"))
		return "assistant";
	if (!strcmp(role, "function"))
		return "tool";
	return role;
}

/* Appends one contents[] entry to msgs. */
static int add_content(const json_t *c, json_t *msgs)
{
	const char *role = otel_role(json_string_value(json_object_get(c, "role")));
	json_t *parts;
	int err;

	err = parts_of(c, &parts);
	if (!err)
		err = lj_push(msgs, llm_message(role, parts));
	return err;
}

static int decode_system(const json_t *si, struct llm_exchange *ex)
{
	if (json_is_string(si)) {
		ex->system_instructions = json_array();
		return lj_push(ex->system_instructions,
			       llm_text_part(json_string_value(si), json_string_length(si)));
	}
	if (!json_is_object(si))
		return 0;
	return parts_of(si, &ex->system_instructions);
}

static int add_function_decl(json_t *defs, const json_t *fd)
{
	const json_t *params = get2(fd, "parameters", "parameters_json_schema");

	if (!params)
		params = json_object_get(fd, "parametersJsonSchema");
	return lj_push(defs, lj_tool_def("function", json_object_get(fd, "name"),
					 json_object_get(fd, "description"), params));
}

static int decode_tools(const json_t *tools, struct llm_exchange *ex)
{
	const json_t *t, *fd, *v;
	const char *key;
	size_t i, j;
	int err = 0;

	if (!json_is_array(tools))
		return 0;
	ex->tool_definitions = json_array();
	if (!ex->tool_definitions)
		return -ENOMEM;
	json_array_foreach(tools, i, t) {
		json_object_foreach((json_t *)t, key, v) {
			if (json_array_size(ex->tool_definitions) >= MAX_PARTS)
				return 0;
			if (strcmp(key, "functionDeclarations") &&
			    strcmp(key, "function_declarations")) {
				/* built-in tools (googleSearch, codeExecution...) */
				err = lj_push(ex->tool_definitions, lj_typed(key));
			} else {
				json_array_foreach(v, j, fd) {
					if (json_array_size(ex->tool_definitions) >= MAX_PARTS)
						return 0;
					if (json_is_object(fd))
						err = add_function_decl(ex->tool_definitions, fd);
					if (err)
						return err;
				}
			}
			if (err)
				return err;
		}
	}
	return 0;
}

static int decode_request(const struct llm_http *h, struct llm_exchange *ex)
{
	json_t *req, *gc;
	int err;

	err = lj_parse_object(h->req_body, h->req_len, &req);
	if (err)
		return err;
	gc = get2(req, "generationConfig", "generation_config");
	ex->temperature = lj_num(json_object_get(gc, "temperature"));
	ex->top_p = lj_num(get2(gc, "topP", "top_p"));
	ex->max_tokens = lj_int(get2(gc, "maxOutputTokens", "max_output_tokens"));
	err = decode_system(get2(req, "systemInstruction", "system_instruction"), ex);
	if (!err)
		err = lj_each_object(json_object_get(req, "contents"), &ex->input_messages,
				     add_content);
	if (!err)
		err = decode_tools(json_object_get(req, "tools"), ex);
	json_decref(req);
	return err;
}

enum pend_kind { PEND_NONE = 0, PEND_TEXT, PEND_THOUGHT };

/* One candidate being assembled: finished parts plus the text run still
 * growing (stream chunks carry text deltas). */
struct gcand {
	bool used;
	json_t *parts;
	struct dynbuf pend;
	enum pend_kind kind;
	char *finish;
};

struct gstate {
	struct gcand c[MAX_CANDS];
	json_t *usage; /* the last usageMetadata */
	bool finished; /* a candidate carried finishReason */
	bool chunked; /* SSE or array: offsets of content matter */
};

static int flush_pending(struct gcand *c)
{
	int err = 0;

	if (c->kind != PEND_NONE && json_array_size(c->parts) < MAX_PARTS)
		err = lj_push(c->parts,
			      lj_content_part(c->kind == PEND_THOUGHT ? "reasoning" : "text",
					      c->pend.buf ? c->pend.buf : "", c->pend.len));
	dynbuf_reset(&c->pend);
	c->kind = PEND_NONE;
	return err;
}

static int cand_text(struct gcand *c, const json_t *p, const json_t *t, bool *content)
{
	enum pend_kind kind = is_thought(p) ? PEND_THOUGHT : PEND_TEXT;
	int err = 0;

	if (c->kind != kind)
		err = flush_pending(c);
	if (err)
		return err;
	c->kind = kind;
	err = dynbuf_append(&c->pend, json_string_value(t), json_string_length(t));
	if (err == -ENOMEM)
		return err;
	if (json_string_length(t))
		*content = true;
	return 0;
}

static int cand_add(struct gcand *c, const json_t *cand, bool *content)
{
	const json_t *list = json_object_get(json_object_get(cand, "content"), "parts"), *p, *t;
	size_t i;
	int err = 0;

	if (!c->used) {
		c->parts = json_array();
		if (!c->parts)
			return -ENOMEM;
		dynbuf_init(&c->pend, TEXT_CAP);
		c->used = true;
	}
	json_array_foreach(list, i, p) {
		t = json_object_get(p, "text");
		if (json_is_string(t)) {
			err = cand_text(c, p, t, content);
		} else if (json_array_size(c->parts) < MAX_PARTS) {
			size_t before;

			err = flush_pending(c);
			before = json_array_size(c->parts);
			if (!err)
				err = add_other_part(c->parts, p);
			if (json_array_size(c->parts) > before)
				*content = true;
		}
		if (err)
			return err;
	}
	t = get2(cand, "finishReason", "finish_reason");
	if (json_is_string(t))
		err = lj_dup_json(&c->finish, t);
	return err;
}

static int decode_error(const json_t *body, struct llm_exchange *ex)
{
	const json_t *e = json_object_get(body, "error");
	const json_t *status = json_object_get(e, "status");
	int err = 0;

	if (!json_is_object(e))
		return 0;
	if (json_is_string(status)) {
		err = lj_dup_json(&ex->error_type, status);
	} else if (json_is_integer(json_object_get(e, "code"))) {
		char code[24];

		snprintf(code, sizeof(code), "%lld",
			 (long long)json_integer_value(json_object_get(e, "code")));
		err = lj_dup_str(&ex->error_type, code);
	}
	if (!err)
		err = lj_dup_json(&ex->error_message, json_object_get(e, "message"));
	return err;
}

static int block_reason(const json_t *chunk, struct llm_exchange *ex)
{
	const json_t *r = get2(get2(chunk, "promptFeedback", "prompt_feedback"), "blockReason",
			       "block_reason");

	if (!json_is_string(r))
		return 0;
	if (!ex->extra && !(ex->extra = json_object()))
		return -ENOMEM;
	return lj_put_ref(ex->extra, "gcp.gemini.prompt_block_reason", r);
}

/* One GenerateContentResponse; end_off is where it ends in the body. */
static int on_chunk(struct gstate *st, const json_t *chunk, size_t end_off, struct llm_exchange *ex)
{
	const json_t *cands = json_object_get(chunk, "candidates"), *cand, *u;
	bool content = false;
	size_t i;
	int err;

	if (json_is_object(json_object_get(chunk, "error"))) {
		return decode_error(chunk, ex);
	}
	json_array_foreach(cands, i, cand) {
		const json_t *ix = json_object_get(cand, "index");
		json_int_t idx = json_is_integer(ix) ? json_integer_value(ix) : (json_int_t)i;

		if (i >= MAX_CANDS)
			break;
		if (!json_is_object(cand) || idx < 0 || idx >= MAX_CANDS)
			continue;
		err = cand_add(&st->c[idx], cand, &content);
		if (err)
			return err;
		if (st->c[idx].finish)
			st->finished = true;
	}
	u = get2(chunk, "usageMetadata", "usage_metadata");
	if (json_is_object(u)) {
		json_decref(st->usage);
		st->usage = json_incref((json_t *)u);
	}
	err = lj_dup_json(&ex->response_model, get2(chunk, "modelVersion", "model_version"));
	if (!err)
		err = lj_dup_json(&ex->response_id, get2(chunk, "responseId", "response_id"));
	if (!err)
		err = block_reason(chunk, ex);
	if (content && st->chunked && ex->first_content_offset < 0)
		ex->first_content_offset = (int64_t)end_off;
	return err;
}

static int on_event(void *st, const struct sse_event *ev, struct llm_exchange *ex)
{
	json_t *chunk;
	int err;

	err = lj_parse_object(ev->data, ev->data_len, &chunk);
	if (err)
		return err == -ENOMEM ? err : 0; /* a broken event is skipped */
	err = on_chunk(st, chunk, ev->end_off, ex);
	json_decref(chunk);
	return err;
}

static int decode_sse(const struct llm_http *h, struct gstate *st, struct llm_exchange *ex)
{
	int err = lj_sse_each(h, TEXT_CAP, on_event, st, ex);

	/* no end marker: the last chunk carries finishReason */
	if (!st->finished)
		ex->incomplete = true;
	return err;
}

static size_t skip_ws(const char *b, size_t n, size_t i)
{
	while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
		i++;
	return i;
}

/* A JSON array of responses, parsed one element at a time so a cut array
 * still gives its complete elements. */
static int decode_array(const struct llm_http *h, struct gstate *st, struct llm_exchange *ex)
{
	const char *b = h->resp_body;
	size_t n = h->resp_len, pos = skip_ws(b, n, 0) + 1;
	json_error_t jerr;
	json_t *v;
	int err;

	for (;;) {
		pos = skip_ws(b, n, pos);
		if (pos >= n)
			break;
		if (b[pos] == ']')
			return 0;
		if (b[pos] == ',') {
			pos++;
			continue;
		}
		v = json_loadb(b + pos, n - pos,
			       JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
		if (!v) {
			if (json_error_code(&jerr) == json_error_out_of_memory)
				return -ENOMEM;
			break;
		}
		if (jerr.position <= 0 || (size_t)jerr.position > n - pos) {
			json_decref(v);
			break;
		}
		pos += (size_t)jerr.position;
		err = json_is_object(v) ? on_chunk(st, v, pos, ex) : 0;
		json_decref(v);
		if (err)
			return err;
	}
	ex->incomplete = true;
	return 0;
}

static int set_usage(const json_t *u, struct llm_usage *out)
{
	int64_t prompt = lj_int(get2(u, "promptTokenCount", "prompt_token_count"));
	int64_t tool = lj_int(get2(u, "toolUsePromptTokenCount", "tool_use_prompt_token_count"));
	int64_t cand = lj_int(get2(u, "candidatesTokenCount", "candidates_token_count"));
	int64_t thoughts = lj_int(get2(u, "thoughtsTokenCount", "thoughts_token_count"));

	if (!u)
		return 0;
	/* tool-use prompt tokens are input too: input + output = totalTokenCount */
	out->input_tokens = prompt >= 0 ? prompt + (tool > 0 ? tool : 0) : -1;
	if (cand >= 0 || thoughts >= 0)
		out->output_tokens = (cand > 0 ? cand : 0) + (thoughts > 0 ? thoughts : 0);
	out->reasoning_output_tokens = thoughts;
	out->cache_read_input_tokens =
		lj_int(get2(u, "cachedContentTokenCount", "cached_content_token_count"));
	return 0;
}

static int build_output(struct gstate *st, struct llm_exchange *ex)
{
	int err;

	for (int i = 0; i < MAX_CANDS; i++) {
		struct gcand *c = &st->c[i];

		if (!c->used)
			continue;
		err = flush_pending(c);
		if (!err)
			err = lj_add_output(ex, json_incref(c->parts), c->finish);
		if (err)
			return err;
	}
	return 0;
}

static int decode_response(const struct llm_http *h, struct llm_exchange *ex)
{
	struct gstate *st = calloc(1, sizeof(*st));
	size_t first = skip_ws(h->resp_body, h->resp_len, 0);
	json_t *resp;
	int err;

	if (!st)
		return -ENOMEM;
	if (lj_body_is_sse(h)) {
		ex->stream = true;
		st->chunked = true;
		err = decode_sse(h, st, ex);
	} else if (first < h->resp_len && h->resp_body[first] == '[') {
		st->chunked = true;
		err = decode_array(h, st, ex);
	} else {
		err = lj_parse_object(h->resp_body, h->resp_len, &resp);
		if (!err) {
			err = on_chunk(st, resp, h->resp_len, ex);
			json_decref(resp);
		}
	}
	if (err != -ENOMEM)
		err = lj_err_worse(err, build_output(st, ex));
	set_usage(st->usage, &ex->usage);
	for (int i = 0; i < MAX_CANDS; i++) {
		json_decref(st->c[i].parts);
		dynbuf_free(&st->c[i].pend);
		free(st->c[i].finish);
	}
	json_decref(st->usage);
	free(st);
	return err;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, m = strlen(suffix);

	return n >= m && !memcmp(s + n - m, suffix, m);
}

int gemini_decode(const struct llm_http *h, struct llm_exchange *ex)
{
	int err, r = 0;

	ex->api_family = "gcp.gemini";
	ex->operation = "generate_content";
	ex->stream = ends_with(h->path, ":streamGenerateContent");
	err = model_from_path(h->path, ex);
	err = lj_err_worse(err, decode_request(h, ex));
	if (h->resp_len)
		r = decode_response(h, ex);
	return lj_decode_end(h, ex, err, r);
}
