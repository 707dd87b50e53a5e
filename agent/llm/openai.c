// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * OpenAI-style APIs: Chat Completions, legacy Completions, Embeddings and
 * the Responses API, as served by OpenAI and by the compatible servers
 * (vLLM, SGLang, llama.cpp, Ollama's /v1, TGI, proxies).  Request and
 * response bodies become the OTel GenAI structured form of llm.h.
 *
 * Streams are merged incrementally: text deltas go into capped dynbufs and
 * become JSON strings once at the end, so the work is linear in the body
 * whatever the number of chunks.  Every count is capped (choices, tool
 * calls, output items) and indexes are keys, never array sizes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_util.h"
#include "llm.h"
#include "proto/sse.h"
#include "util/dynbuf.h"
#include "util/json_fast.h"

#define OA_MAX_SLOTS 64 /* choices (chat) or output items (Responses) */
#define OA_MAX_TOOLS 128 /* tool calls over all choices */
#define OA_MAX_INDEX 65535 /* a larger choice / tool / output index is hostile */
#define OA_TEXT_CAP (1u << 20) /* per accumulated text */
#define OA_EVENT_CAP (16u << 20) /* one SSE event's data */
#define OA_JSON_FLAGS JSON_ALLOW_NUL

/* A choice (chat, completions) or an output item (Responses) being streamed. */
struct oa_slot {
	int64_t index;
	char *role, *finish_reason;
	char *type; /* Responses output item type */
	struct dynbuf text, reasoning, refusal;
	json_t *item; /* Responses: the finished item (output_item.done) */
};

struct oa_tool {
	int slot;
	int64_t index; /* tool call index in its choice; -1 for legacy function_call */
	char *id, *name;
	struct dynbuf args;
};

struct oa_stream {
	struct oa_slot slot[OA_MAX_SLOTS];
	int n_slot;
	struct oa_tool tool[OA_MAX_TOOLS];
	int n_tool;
	json_t *terminal; /* Responses: the response object of the terminal event */
	bool done; /* [DONE], a terminal event or an error event was seen */
};

/* ---- small JSON helpers ---- */

static const char *jstr(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool jstr_eq(const json_t *o, const char *k, const char *want)
{
	const char *s = jstr(o, k);

	return s && strcmp(s, want) == 0;
}

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* *dst = copy of s, unless *dst is already set or s is NULL or empty. */
static int set_once(char **dst, const char *s)
{
	if (*dst || !s || !*s)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

/* A copy of a JSON string (embedded NULs kept). */
static json_t *jcopy(const json_t *s)
{
	return json_stringn(json_string_value(s), json_string_length(s));
}

static json_t *parse_json(const char *buf, size_t len)
{
	json_error_t jerr;

	if (!buf || !len)
		return NULL;
	return json_loadb(buf, len, OA_JSON_FLAGS, &jerr);
}

/* {"type": type, "content": s}: text cut at a cap may end in half a
 * character, kept as U+FFFD. */
static json_t *content_part(const char *type, const char *s, size_t n)
{
	return lj_part(type, lj_string_lossy(s, n));
}

/* Tool call arguments: the parsed JSON when the text is an object or an
 * array, else the text itself. */
static json_t *args_value_bytes(const char *s, size_t n)
{
	json_t *v = parse_json(s, n);

	return v ? v : lj_string_lossy(s, n);
}

static json_t *args_value(const json_t *v)
{
	if (json_is_string(v))
		return args_value_bytes(json_string_value(v), json_string_length(v));
	return json_incref((json_t *)v);
}

/* {"type":"tool_call","id"?,"name"?,"arguments"?}; args is stolen. */
static json_t *tool_call_part(const char *id, const char *name, json_t *args)
{
	json_t *p = lj_typed("tool_call");
	int err = p ? 0 : -ENOMEM;

	if (!err && id && *id)
		err = lj_put(p, "id", json_string(id));
	if (!err && name)
		err = lj_put(p, "name", json_string(name));
	if (!err && args)
		err = lj_put(p, "arguments", json_incref(args));
	json_decref(args);
	if (err) {
		json_decref(p);
		return NULL;
	}
	return p;
}

/* Joins the text of a content value (string or array of text parts). */
static json_t *content_text(const json_t *content)
{
	struct dynbuf b;
	size_t i;
	json_t *p, *v;

	if (json_is_string(content))
		return jcopy(content);
	if (!json_is_array(content))
		return json_incref((json_t *)content);
	dynbuf_init(&b, OA_TEXT_CAP);
	json_array_foreach(content, i, p) {
		const json_t *t = json_is_string(p) ? p : json_object_get(p, "text");

		if (json_is_string(t) &&
		    dynbuf_append(&b, json_string_value(t), json_string_length(t)) == -ENOMEM) {
			dynbuf_free(&b);
			return NULL;
		}
	}
	v = lj_string_lossy(b.buf, b.len);
	dynbuf_free(&b);
	return v;
}

/* ---- request side ---- */

/*
 * Appends the parts of an OpenAI content value to parts: a string, or an
 * array of typed parts (Chat: text, image_url, input_audio, file; Responses:
 * input_text, output_text, input_image, input_file, refusal).  Media parts
 * keep only their type: base64 blobs are not copied.
 */
static int content_to_parts(const json_t *content, json_t *parts)
{
	size_t i;
	json_t *p;
	int err = 0;

	if (json_is_string(content)) {
		if (json_string_length(content))
			err = lj_push(parts, lj_str_part("text", content));
		return err;
	}
	if (!json_is_array(content))
		return 0;
	json_array_foreach(content, i, p) {
		const char *type = jstr(p, "type");
		const json_t *text = json_object_get(p, "text");

		if (json_is_string(p)) {
			err = lj_push(parts, lj_str_part("text", p));
		} else if (!type) {
			continue;
		} else if ((streq(type, "text") || streq(type, "input_text") ||
			    streq(type, "output_text")) &&
			   json_is_string(text)) {
			err = lj_push(parts, lj_str_part("text", text));
		} else if (streq(type, "refusal") &&
			   json_is_string(json_object_get(p, "refusal"))) {
			err = lj_push(parts, lj_str_part("refusal", json_object_get(p, "refusal")));
		} else {
			err = lj_push(parts, lj_typed(type));
		}
		if (err)
			return err;
	}
	return 0;
}

/* A Chat tool call object {"id","type","function":{"name","arguments"}} (or
 * "custom":{"name","input"}) as a tool_call part. */
static json_t *chat_tool_call_part(const json_t *tc)
{
	const json_t *fn = json_object_get(tc, "function");
	const json_t *args;

	if (!json_is_object(fn)) {
		fn = json_object_get(tc, "custom");
		if (!json_is_object(fn))
			return NULL;
		args = json_object_get(fn, "input");
	} else {
		args = json_object_get(fn, "arguments");
	}
	return tool_call_part(jstr(tc, "id"), jstr(fn, "name"), args ? args_value(args) : NULL);
}

/* Appends the tool_call parts of tool_calls[] / function_call to parts;
 * *budget caps the total over a body. */
static int chat_tool_calls_to_parts(const json_t *msg, json_t *parts, int *budget)
{
	const json_t *tcs = json_object_get(msg, "tool_calls");
	const json_t *fc = json_object_get(msg, "function_call");
	size_t i;
	json_t *tc;
	int err;

	json_array_foreach(tcs, i, tc) {
		json_t *part;

		if (*budget <= 0)
			return 0;
		if (!json_is_object(tc))
			continue;
		part = chat_tool_call_part(tc);
		if (!part)
			continue; /* not a tool call shape, or -ENOMEM: either way nothing to add */
		err = lj_push(parts, part);
		if (err)
			return err;
		(*budget)--;
	}
	if (json_is_object(fc) && *budget > 0) {
		const json_t *args = json_object_get(fc, "arguments");

		err = lj_push(parts, tool_call_part(NULL, jstr(fc, "name"),
						    args ? args_value(args) : NULL));
		if (err)
			return err;
		(*budget)--;
	}
	return 0;
}

/* {"type":"tool_call_response","id"?,"response"} for a tool result. */
static json_t *tool_response_part(const char *id, const json_t *content)
{
	json_t *p = lj_typed("tool_call_response");
	int err = p ? 0 : -ENOMEM;

	if (!err && id && *id)
		err = lj_put(p, "id", json_string(id));
	if (!err)
		err = lj_put(p, "response", content ? content_text(content) : json_null());
	if (err) {
		json_decref(p);
		return NULL;
	}
	return p;
}

/* Appends {"role","parts","name"?} to msgs (parts stolen). */
static int push_message(json_t *msgs, const char *role, json_t *parts, const char *name)
{
	json_t *m = llm_message(role, parts);

	if (m && name && *name && lj_put(m, "name", json_string(name))) {
		json_decref(m);
		return -ENOMEM;
	}
	return lj_push(msgs, m);
}

/*
 * The parts of a chat message in the order a reader meets them: reasoning,
 * content, refusal, tool calls.  Responses may carry the reasoning under
 * "reasoning" (OpenRouter, newer vLLM) as well as "reasoning_content".
 */
static int chat_message_parts(const json_t *m, bool response, json_t *parts, int *budget)
{
	const json_t *v = json_object_get(m, "reasoning_content");
	int err = 0;

	if (response && !json_is_string(v))
		v = json_object_get(m, "reasoning");
	if (json_is_string(v) && json_string_length(v))
		err = lj_push(parts, lj_str_part("reasoning", v));
	if (!err)
		err = content_to_parts(json_object_get(m, "content"), parts);
	v = json_object_get(m, "refusal");
	if (!err && json_is_string(v))
		err = lj_push(parts, lj_str_part("refusal", v));
	if (!err)
		err = chat_tool_calls_to_parts(m, parts, budget);
	return err;
}

static int chat_decode_message(const json_t *m, json_t *msgs, int *budget)
{
	const char *role = jstr(m, "role");
	const json_t *content = json_object_get(m, "content");
	json_t *parts = json_array();
	int err = 0;

	if (!parts)
		return -ENOMEM;
	if (!role)
		role = "user";
	if (streq(role, "tool") || streq(role, "function")) {
		/* the deprecated "function" role is a tool result without a call id */
		err = lj_push(parts, tool_response_part(jstr(m, "tool_call_id"), content));
		if (err) {
			json_decref(parts);
			return err;
		}
		return push_message(msgs, "tool", parts, jstr(m, "name"));
	}
	err = chat_message_parts(m, false, parts, budget);
	if (err) {
		json_decref(parts);
		return err;
	}
	return push_message(msgs, role, parts, jstr(m, "name"));
}

static int chat_decode_messages(const json_t *req, struct llm_exchange *ex)
{
	const json_t *msgs = json_object_get(req, "messages");
	int budget = OA_MAX_TOOLS, err;
	json_t *out, *m;
	size_t i;

	if (!json_is_array(msgs))
		return 0;
	out = json_array();
	if (!out)
		return -ENOMEM;
	json_array_foreach(msgs, i, m) {
		if (!json_is_object(m))
			continue;
		err = chat_decode_message(m, out, &budget);
		if (err) {
			json_decref(out);
			return err;
		}
	}
	ex->input_messages = out;
	return 0;
}

/* One tool definition: Chat {"type","function":{...}}, custom tools,
 * Responses' flat {"type","name","description","parameters"} and built-in
 * tools ({"type":"web_search"}), legacy functions[] entries. */
static json_t *tool_def(const json_t *t, const char *type)
{
	const json_t *src = json_object_get(t, "function"), *params;
	const char *name, *desc;
	json_t *d;
	int err;

	if (!json_is_object(src))
		src = json_object_get(t, "custom");
	if (!json_is_object(src))
		src = t;
	name = jstr(src, "name");
	desc = jstr(src, "description");
	params = json_object_get(src, "parameters");
	d = lj_typed(type);
	err = d ? 0 : -ENOMEM;
	if (!err && name)
		err = lj_put(d, "name", json_string(name));
	if (!err && desc)
		err = lj_put(d, "description", json_string(desc));
	if (!err && json_is_object(params))
		err = lj_put(d, "parameters", json_incref((json_t *)params));
	if (err) {
		json_decref(d);
		return NULL;
	}
	return d;
}

static int decode_tool_defs(const json_t *req, struct llm_exchange *ex)
{
	const json_t *tools = json_object_get(req, "tools");
	const json_t *fns = json_object_get(req, "functions");
	json_t *defs = json_array(), *t;
	size_t i;
	int err = 0;

	if (!defs)
		return -ENOMEM;
	json_array_foreach(tools, i, t) {
		const char *type = jstr(t, "type");

		if (!json_is_object(t))
			continue;
		err = lj_push(defs, tool_def(t, type ? type : "function"));
		if (err)
			goto fail;
	}
	json_array_foreach(fns, i, t) {
		if (!json_is_object(t))
			continue;
		err = lj_push(defs, tool_def(t, "function"));
		if (err)
			goto fail;
	}
	if (json_array_size(defs)) {
		ex->tool_definitions = defs;
		return 0;
	}
fail:
	json_decref(defs);
	return err;
}

static int extra_set(struct llm_exchange *ex, const char *k, json_t *v)
{
	if (!ex->extra) {
		ex->extra = json_object();
		if (!ex->extra) {
			json_decref(v);
			return -ENOMEM;
		}
	}
	return lj_put(ex->extra, k, v);
}

static int extra_str(struct llm_exchange *ex, const char *k, const json_t *v)
{
	return json_is_string(v) ? extra_set(ex, k, jcopy(v)) : 0;
}

/* A string or an array of strings as an array of strings. */
static json_t *string_list(const json_t *v)
{
	json_t *arr, *s;
	size_t i;

	if (json_is_string(v))
		return json_pack("[o]", jcopy(v));
	arr = json_array();
	json_array_foreach(v, i, s) {
		if (json_is_string(s) && lj_push(arr, jcopy(s))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* gen_ai.output.type from a response_format / text.format type. */
static const char *output_type(const json_t *fmt)
{
	const char *t = jstr(fmt, "type");

	if (streq(t, "json_object") || streq(t, "json_schema"))
		return "json";
	if (streq(t, "text"))
		return "text";
	return NULL;
}

/* Request parameters without a field of their own, under OTel names. */
static int request_extra(const json_t *req, enum llm_api api, struct llm_exchange *ex)
{
	const json_t *v;
	const char *ot;
	int err = 0;

	if (api == LLM_API_OPENAI_CHAT)
		err = extra_set(ex, "openai.api.type", json_string("chat_completions"));
	else if (api == LLM_API_OPENAI_RESPONSES)
		err = extra_set(ex, "openai.api.type", json_string("responses"));
	v = json_object_get(req, "seed");
	if (!err && json_is_integer(v))
		err = extra_set(ex, "gen_ai.request.seed", json_integer(json_integer_value(v)));
	v = json_object_get(req, "frequency_penalty");
	if (!err && json_is_number(v))
		err = extra_set(ex, "gen_ai.request.frequency_penalty",
				json_real(json_number_value(v)));
	v = json_object_get(req, "presence_penalty");
	if (!err && json_is_number(v))
		err = extra_set(ex, "gen_ai.request.presence_penalty",
				json_real(json_number_value(v)));
	v = json_object_get(req, "top_k"); /* vLLM, SGLang, llama.cpp */
	if (!err && json_is_number(v))
		err = extra_set(ex, "gen_ai.request.top_k", json_real(json_number_value(v)));
	v = json_object_get(req, "stop");
	if (!err && (json_is_string(v) || json_array_size(v)))
		err = extra_set(ex, "gen_ai.request.stop_sequences", string_list(v));
	v = json_object_get(req, "n");
	if (!err && json_is_integer(v) && json_integer_value(v) != 1)
		err = extra_set(ex, "gen_ai.request.choice.count",
				json_integer(json_integer_value(v)));
	if (!err)
		err = extra_str(ex, "openai.request.service_tier",
				json_object_get(req, "service_tier"));
	v = json_object_get(req, "encoding_format");
	if (!err && json_is_string(v))
		err = extra_set(ex, "gen_ai.request.encoding_formats", string_list(v));
	ot = output_type(json_object_get(req, "response_format"));
	if (!ot)
		ot = output_type(json_object_get(json_object_get(req, "text"), "format"));
	if (!err && ot)
		err = extra_set(ex, "gen_ai.output.type", json_string(ot));
	/* why a stream may carry no usage: OpenAI sends it only on request */
	v = json_object_get(json_object_get(req, "stream_options"), "include_usage");
	if (!err && json_is_boolean(v))
		err = extra_set(ex, "llmtap.openai.include_usage", json_boolean(json_is_true(v)));
	return err;
}

static int request_common(const json_t *req, struct llm_exchange *ex)
{
	static const char *const max_keys[] = { "max_completion_tokens", "max_tokens",
						"max_output_tokens" };
	const json_t *v;
	size_t i;

	ex->stream = json_is_true(json_object_get(req, "stream"));
	v = json_object_get(req, "temperature");
	if (json_is_number(v))
		ex->temperature = json_number_value(v);
	v = json_object_get(req, "top_p");
	if (json_is_number(v))
		ex->top_p = json_number_value(v);
	for (i = 0; i < sizeof(max_keys) / sizeof(max_keys[0]); i++) {
		int64_t n = llm_int_key(req, max_keys[i]);

		if (n >= 0) {
			ex->max_tokens = n;
			break;
		}
	}
	return set_once(&ex->request_model, jstr(req, "model"));
}

/*
 * A prompt / embeddings input: a string, an array of strings, an array of
 * token ids or an array of token-id arrays.  Token ids are not text: they
 * become {"type":"tokens","count":N}.
 */
static int prompt_to_parts(const json_t *v, json_t *parts)
{
	json_t *e;
	size_t i;
	int err = 0;

	if (json_is_string(v))
		return lj_push(parts, lj_str_part("text", v));
	if (!json_is_array(v))
		return 0;
	if (json_is_integer(json_array_get(v, 0)))
		return lj_push(parts, json_pack("{s:s, s:I}", "type", "tokens", "count",
						(json_int_t)json_array_size(v)));
	json_array_foreach(v, i, e) {
		if (json_is_string(e))
			err = lj_push(parts, lj_str_part("text", e));
		else if (json_is_array(e))
			err = lj_push(parts, json_pack("{s:s, s:I}", "type", "tokens", "count",
						       (json_int_t)json_array_size(e)));
		if (err)
			return err;
	}
	return 0;
}

static int prompt_decode(const json_t *v, struct llm_exchange *ex)
{
	json_t *msgs, *parts;
	int err;

	if (!v)
		return 0;
	msgs = json_array();
	parts = json_array();
	if (!msgs || !parts) {
		json_decref(msgs);
		json_decref(parts);
		return -ENOMEM;
	}
	err = prompt_to_parts(v, parts);
	if (err) {
		json_decref(msgs);
		json_decref(parts);
		return err;
	}
	err = push_message(msgs, "user", parts, NULL);
	if (err) {
		json_decref(msgs);
		return err;
	}
	ex->input_messages = msgs;
	return 0;
}

/* The last message of msgs when it has this role (to add parts to it). */
static json_t *last_parts_if(json_t *msgs, const char *role)
{
	json_t *m = json_array_get(msgs, json_array_size(msgs) - 1);

	return jstr_eq(m, "role", role) ? json_object_get(m, "parts") : NULL;
}

/* Appends part to the last assistant message, or to a new one. */
static int push_assistant_part(json_t *msgs, json_t *part)
{
	json_t *parts = last_parts_if(msgs, "assistant");

	if (!part)
		return -ENOMEM;
	if (parts)
		return lj_push(parts, part);
	parts = json_array();
	if (lj_push(parts, part)) {
		json_decref(parts);
		return -ENOMEM;
	}
	return push_message(msgs, "assistant", parts, NULL);
}

/* The reasoning item {"summary":[{"text"}], "content":[{"text"}]} as parts. */
static int reasoning_item_parts(const json_t *item, json_t *parts)
{
	static const char *const keys[] = { "summary", "content" };
	size_t i, k;
	json_t *p;
	int err;

	for (k = 0; k < 2; k++) {
		json_array_foreach(json_object_get(item, keys[k]), i, p) {
			const json_t *t = json_object_get(p, "text");

			if (!json_is_string(t))
				continue;
			err = lj_push(parts, lj_str_part("reasoning", t));
			if (err)
				return err;
		}
	}
	return 0;
}

/* A Responses function_call / custom_tool_call item as a tool_call part. */
static json_t *responses_call_part(const json_t *item)
{
	const json_t *args = json_object_get(item, "arguments");

	if (!args)
		args = json_object_get(item, "input");
	return tool_call_part(jstr(item, "call_id"), jstr(item, "name"),
			      args ? args_value(args) : NULL);
}

static int responses_input_item(const json_t *item, json_t *msgs)
{
	const char *type = jstr(item, "type"), *role = jstr(item, "role");
	json_t *parts;
	int err;

	if (streq(type, "function_call") || streq(type, "custom_tool_call"))
		return push_assistant_part(msgs, responses_call_part(item));
	parts = json_array();
	if (!parts)
		return -ENOMEM;
	if (streq(type, "function_call_output") || streq(type, "custom_tool_call_output")) {
		err = lj_push(parts, tool_response_part(jstr(item, "call_id"),
							json_object_get(item, "output")));
		role = "tool";
	} else if (streq(type, "reasoning")) {
		err = reasoning_item_parts(item, parts);
		role = "assistant";
	} else if (streq(type, "message") || (!type && role)) {
		err = content_to_parts(json_object_get(item, "content"), parts);
		if (!role)
			role = "user";
	} else {
		/* item references, built-in tool calls: nothing to show */
		json_decref(parts);
		return 0;
	}
	if (err) {
		json_decref(parts);
		return err;
	}
	return push_message(msgs, role, parts, NULL);
}

static int responses_decode_input(const json_t *input, struct llm_exchange *ex)
{
	json_t *msgs, *item;
	size_t i;
	int err = 0;

	if (json_is_string(input))
		return prompt_decode(input, ex);
	if (!json_is_array(input))
		return 0;
	msgs = json_array();
	if (!msgs)
		return -ENOMEM;
	json_array_foreach(input, i, item) {
		if (json_is_object(item))
			err = responses_input_item(item, msgs);
		if (err) {
			json_decref(msgs);
			return err;
		}
	}
	ex->input_messages = msgs;
	return 0;
}

static int responses_decode_request(const json_t *req, struct llm_exchange *ex)
{
	const json_t *instr = json_object_get(req, "instructions");
	const json_t *conv = json_object_get(req, "conversation");
	int err;

	err = responses_decode_input(json_object_get(req, "input"), ex);
	if (!err && (json_is_string(instr) || json_is_array(instr))) {
		json_t *parts = json_array();

		/* instructions may also be a list of input messages */
		err = parts ? 0 : -ENOMEM;
		if (!err && json_is_string(instr)) {
			err = lj_push(parts, lj_str_part("text", instr));
		} else if (!err) {
			size_t i;
			json_t *m;

			json_array_foreach(instr, i, m) {
				err = content_to_parts(json_object_get(m, "content"), parts);
				if (err)
					break;
			}
		}
		if (!err)
			ex->system_instructions = parts;
		else
			json_decref(parts);
	}
	if (!err && json_is_object(conv))
		conv = json_object_get(conv, "id");
	if (!err && json_is_string(conv))
		err = set_once(&ex->conversation_id, json_string_value(conv));
	if (!err)
		err = set_once(&ex->conversation_id, jstr(req, "previous_response_id"));
	return err;
}

static int decode_request(enum llm_api api, const json_t *req, struct llm_exchange *ex)
{
	int err = request_common(req, ex);

	if (!err)
		err = request_extra(req, api, ex);
	if (err)
		return err;
	switch (api) {
	case LLM_API_OPENAI_CHAT:
		err = chat_decode_messages(req, ex);
		break;
	case LLM_API_OPENAI_COMPLETIONS:
		err = prompt_decode(json_object_get(req, "prompt"), ex);
		break;
	case LLM_API_OPENAI_EMBEDDINGS:
		err = prompt_decode(json_object_get(req, "input"), ex);
		break;
	case LLM_API_OPENAI_RESPONSES:
		err = responses_decode_request(req, ex);
		break;
	default:
		break;
	}
	if (!err && api != LLM_API_OPENAI_EMBEDDINGS && api != LLM_API_OPENAI_COMPLETIONS)
		err = decode_tool_defs(req, ex);
	return err;
}

/* ---- response side ---- */

/*
 * Usage as both OpenAI shapes spell it: Chat/Completions say prompt_tokens /
 * completion_tokens, Responses input_tokens / output_tokens; the details
 * objects follow the same prefix.  Input already includes cached tokens.
 */
static void usage_decode(const json_t *u, const char *in_name, const char *out_name,
			 struct llm_usage *out)
{
	char in_details[48], out_details[48];
	const json_t *in, *o;

	if (!json_is_object(u))
		return;
	snprintf(in_details, sizeof(in_details), "%s_details", in_name);
	snprintf(out_details, sizeof(out_details), "%s_details", out_name);
	in = json_object_get(u, in_details);
	o = json_object_get(u, out_details);
	out->input_tokens = llm_int_key(u, in_name);
	out->output_tokens = llm_int_key(u, out_name);
	out->cache_read_input_tokens = llm_int_key(in, "cached_tokens");
	out->cache_creation_input_tokens = llm_int_key(in, "cache_write_tokens");
	out->reasoning_output_tokens = llm_int_key(o, "reasoning_tokens");
}

static void chat_usage(const json_t *u, struct llm_usage *out)
{
	usage_decode(u, "prompt_tokens", "completion_tokens", out);
}

static void responses_usage(const json_t *u, struct llm_usage *out)
{
	usage_decode(u, "input_tokens", "output_tokens", out);
}

/*
 * Records an error: its type, else its code (string or integer: vLLM and
 * llama.cpp put the HTTP status there), else the HTTP status, else "_OTHER"
 * (OTel's fallback).  The first error of an exchange is kept: it is the one
 * that explains the failure.
 */
static int set_error(struct llm_exchange *ex, const char *type, const json_t *code, const char *msg,
		     int status)
{
	char buf[32];
	int err;

	if (ex->error_type)
		return 0;
	if (type && *type) {
		err = lj_dup_str(&ex->error_type, type);
	} else if (json_is_string(code) && json_string_length(code)) {
		err = lj_dup_str(&ex->error_type, json_string_value(code));
	} else if (json_is_integer(code)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(code));
		err = lj_dup_str(&ex->error_type, buf);
	} else if (status >= 400) {
		err = lj_error_status(ex, status);
	} else {
		err = lj_dup_str(&ex->error_type, "_OTHER");
	}
	if (!err && msg)
		err = lj_dup_str(&ex->error_message, msg);
	return err;
}

/* An OpenAI error object {"message","type","param","code"}. */
static int error_from_object(const json_t *e, int status, struct llm_exchange *ex)
{
	return set_error(ex, jstr(e, "type"), json_object_get(e, "code"), jstr(e, "message"),
			 status);
}

/* {"error":{...}}, {"error":"text"} or vLLM's old {"object":"error",...};
 * leaves ex alone when the body carries no error. */
static int decode_error_body(const json_t *root, int status, struct llm_exchange *ex)
{
	const json_t *e = json_object_get(root, "error");

	if (json_is_object(e))
		return error_from_object(e, status, ex);
	if (json_is_string(e)) /* TGI: {"error": "...", "error_type": "validation"} */
		return set_error(ex, jstr(root, "error_type"), NULL, json_string_value(e), status);
	if (jstr_eq(root, "object", "error"))
		return error_from_object(root, status, ex);
	if (status >= 400) /* FastAPI: {"detail": "..."} */
		return set_error(ex, NULL, NULL, jstr(root, "detail"), status);
	return 0;
}

static int push_finish_reason(struct llm_exchange *ex, json_t *msg, const char *reason)
{
	if (!reason)
		return 0;
	if (!ex->finish_reasons) {
		ex->finish_reasons = json_array();
		if (!ex->finish_reasons)
			return -ENOMEM;
	}
	if (msg && lj_put(msg, "finish_reason", json_string(reason)))
		return -ENOMEM;
	return lj_push(ex->finish_reasons, json_string(reason));
}

static int response_common(const json_t *r, struct llm_exchange *ex)
{
	int err = set_once(&ex->response_id, jstr(r, "id"));

	if (!err)
		err = set_once(&ex->response_model, jstr(r, "model"));
	if (!err)
		err = set_once(&ex->system_fingerprint, jstr(r, "system_fingerprint"));
	if (!err && !json_object_get(ex->extra, "openai.response.service_tier"))
		err = extra_str(ex, "openai.response.service_tier",
				json_object_get(r, "service_tier"));
	return err;
}

/* One non-streamed choice as an output message. */
static int chat_decode_choice(const json_t *c, bool completions, struct llm_exchange *ex,
			      int *budget)
{
	const json_t *m = json_object_get(c, "message"), *v;
	const char *role = jstr(m, "role");
	json_t *parts = json_array(), *msg;
	int err = 0;

	if (!parts)
		return -ENOMEM;
	if (completions) {
		v = json_object_get(c, "text");
		if (json_is_string(v))
			err = lj_push(parts, lj_str_part("text", v));
	} else if (json_is_object(m)) {
		err = chat_message_parts(m, true, parts, budget);
	}
	if (err) {
		json_decref(parts);
		return err;
	}
	msg = llm_message(role ? role : "assistant", parts);
	err = lj_push(ex->output_messages, msg);
	if (!err)
		err = push_finish_reason(ex, msg, jstr(c, "finish_reason"));
	return err;
}

static int chat_decode_response(const json_t *r, bool completions, struct llm_exchange *ex)
{
	const json_t *choices = json_object_get(r, "choices");
	int budget = OA_MAX_TOOLS, err;
	size_t i, n = json_array_size(choices);

	err = response_common(r, ex);
	if (err)
		return err;
	chat_usage(json_object_get(r, "usage"), &ex->usage);
	if (!n)
		return 0;
	ex->output_messages = json_array();
	if (!ex->output_messages)
		return -ENOMEM;
	for (i = 0; i < n && i < OA_MAX_SLOTS; i++) {
		const json_t *c = json_array_get(choices, i);

		if (!json_is_object(c))
			continue;
		err = chat_decode_choice(c, completions, ex, &budget);
		if (err)
			return err;
	}
	return 0;
}

/* Embedding vector length: a float array, or base64 of little-endian float32. */
static int64_t embedding_dims(const json_t *emb)
{
	size_t n, pad = 0;
	const char *s;

	if (json_is_array(emb))
		return (int64_t)json_array_size(emb);
	if (!json_is_string(emb))
		return -1;
	s = json_string_value(emb);
	n = json_string_length(emb);
	while (n > 0 && s[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	return (int64_t)(n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0)) / 4;
}

static int embeddings_decode_response(const json_t *r, struct llm_exchange *ex)
{
	const json_t *first = json_array_get(json_object_get(r, "data"), 0);
	const json_t *u = json_object_get(r, "usage");
	int err;

	err = response_common(r, ex);
	if (err)
		return err;
	if (json_is_object(first))
		ex->embedding_dimensions = embedding_dims(json_object_get(first, "embedding"));
	if (json_is_object(u)) {
		ex->usage.input_tokens = llm_int_key(u, "prompt_tokens");
		ex->usage.output_tokens = 0;
	}
	return 0;
}

/* Parts of one Responses output item; *has_call when it is a tool call. */
static int responses_output_item(const json_t *item, json_t *parts, bool *has_call)
{
	const char *type = jstr(item, "type");
	json_t *p;

	if (streq(type, "message"))
		return content_to_parts(json_object_get(item, "content"), parts);
	if (streq(type, "reasoning"))
		return reasoning_item_parts(item, parts);
	if (streq(type, "function_call") || streq(type, "custom_tool_call")) {
		*has_call = true;
		return lj_push(parts, responses_call_part(item));
	}
	if (!type)
		return 0;
	/* built-in tools (web_search_call, code_interpreter_call, ...) run on the server */
	p = json_pack("{s:s, s:s}", "type", "server_tool_call", "name", type);
	if (p && jstr(item, "id") && lj_put(p, "id", json_string(jstr(item, "id")))) {
		json_decref(p);
		return -ENOMEM;
	}
	return lj_push(parts, p);
}

/*
 * The Responses API has no finish reason: derive the OTel one from the
 * status ("stop", "tool_call", "error"; an incomplete response gives its
 * incomplete_details.reason, e.g. "max_output_tokens").
 */
static const char *responses_finish_reason(const json_t *r, bool has_call)
{
	const char *status = jstr(r, "status"), *reason;

	if (streq(status, "completed"))
		return has_call ? "tool_call" : "stop";
	if (streq(status, "incomplete")) {
		reason = jstr(json_object_get(r, "incomplete_details"), "reason");
		return reason ? reason : "incomplete";
	}
	if (streq(status, "failed"))
		return "error";
	if (streq(status, "cancelled"))
		return "cancelled";
	return NULL;
}

/* All output items go into one assistant message, in output order. */
static int responses_decode_output(const json_t *r, struct llm_exchange *ex)
{
	const json_t *out = json_object_get(r, "output");
	json_t *parts, *item, *msg;
	bool has_call = false;
	size_t i;
	int err = 0;

	if (!json_array_size(out) || ex->output_messages)
		return 0;
	parts = json_array();
	if (!parts)
		return -ENOMEM;
	json_array_foreach(out, i, item) {
		if (json_is_object(item))
			err = responses_output_item(item, parts, &has_call);
		if (err) {
			json_decref(parts);
			return err;
		}
	}
	ex->output_messages = json_array();
	msg = llm_message("assistant", parts);
	if (!ex->output_messages || !msg) {
		json_decref(msg);
		return -ENOMEM;
	}
	err = lj_push(ex->output_messages, msg);
	if (!err && !ex->finish_reasons)
		err = push_finish_reason(ex, msg, responses_finish_reason(r, has_call));
	return err;
}

static int responses_decode_response(const json_t *r, struct llm_exchange *ex)
{
	const json_t *conv = json_object_get(r, "conversation");
	int err = response_common(r, ex);

	if (!err)
		err = responses_decode_output(r, ex);
	if (!err && !ex->finish_reasons)
		err = push_finish_reason(ex, NULL, responses_finish_reason(r, false));
	if (!err && json_is_object(conv))
		err = set_once(&ex->conversation_id, jstr(conv, "id"));
	if (!err && json_is_object(json_object_get(r, "error")))
		err = error_from_object(json_object_get(r, "error"), 0, ex);
	if (json_is_object(json_object_get(r, "usage")))
		responses_usage(json_object_get(r, "usage"), &ex->usage);
	return err;
}

/* ---- streams ---- */

static void stream_free(struct oa_stream *st)
{
	int i;

	for (i = 0; i < st->n_slot; i++) {
		struct oa_slot *s = &st->slot[i];

		free(s->role);
		free(s->finish_reason);
		free(s->type);
		dynbuf_free(&s->text);
		dynbuf_free(&s->reasoning);
		dynbuf_free(&s->refusal);
		json_decref(s->item);
	}
	for (i = 0; i < st->n_tool; i++) {
		free(st->tool[i].id);
		free(st->tool[i].name);
		dynbuf_free(&st->tool[i].args);
	}
	json_decref(st->terminal);
	free(st);
}

/* Appends a JSON string to a capped buffer; only -ENOMEM is an error (text
 * past the cap is dropped). */
static int buf_add(struct dynbuf *b, const json_t *s)
{
	int err;

	if (!json_is_string(s))
		return 0;
	err = dynbuf_append(b, json_string_value(s), json_string_length(s));
	return err == -ENOMEM ? err : 0;
}

/* The index under key (0 when absent, as some servers omit it); -1 when
 * it is not a sane index. */
static int64_t stream_index(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	int64_t idx;

	if (!v)
		return 0;
	if (!json_is_integer(v))
		return -1;
	idx = json_integer_value(v);
	return idx < 0 || idx > OA_MAX_INDEX ? -1 : idx;
}

/* The slot for an index, added when new; NULL past the caps. */
static struct oa_slot *stream_slot(struct oa_stream *st, int64_t idx, int *slot_no)
{
	struct oa_slot *s;
	int i;

	if (idx < 0)
		return NULL;
	for (i = 0; i < st->n_slot; i++) {
		if (st->slot[i].index == idx) {
			*slot_no = i;
			return &st->slot[i];
		}
	}
	if (st->n_slot == OA_MAX_SLOTS)
		return NULL;
	s = &st->slot[st->n_slot];
	s->index = idx;
	dynbuf_init(&s->text, OA_TEXT_CAP);
	dynbuf_init(&s->reasoning, OA_TEXT_CAP);
	dynbuf_init(&s->refusal, OA_TEXT_CAP);
	*slot_no = st->n_slot++;
	return s;
}

/*
 * The tool call a fragment continues: the latest one of the slot with the
 * same index (any index when the fragment has none).  A fragment with a new
 * id starts another call, for servers that give every call index 0.
 */
static struct oa_tool *stream_tool(struct oa_stream *st, int slot, int64_t idx, bool has_idx,
				   const char *id)
{
	struct oa_tool *t = NULL;
	int i, in_slot = 0;

	for (i = st->n_tool - 1; i >= 0; i--) {
		if (st->tool[i].slot != slot)
			continue;
		in_slot++;
		if (!t && (!has_idx || st->tool[i].index == idx))
			t = &st->tool[i];
	}
	if (t && id && *id && t->id && strcmp(t->id, id) != 0)
		t = NULL;
	if (t)
		return t;
	if (st->n_tool == OA_MAX_TOOLS)
		return NULL;
	t = &st->tool[st->n_tool++];
	t->slot = slot;
	t->index = has_idx ? idx : in_slot;
	dynbuf_init(&t->args, OA_TEXT_CAP);
	return t;
}

/* Adds one piece of a tool call: id and name from the first piece that has
 * them, argument text appended. */
static int stream_tool_piece(struct oa_tool *t, const char *id, const char *name,
			     const json_t *args)
{
	int err = set_once(&t->id, id);

	if (!err)
		err = set_once(&t->name, name);
	if (!err)
		err = buf_add(&t->args, args);
	return err;
}

/* A delta.tool_calls[] fragment {index, id?, function:{name?, arguments?}}. */
static int chat_stream_tool(struct oa_stream *st, int slot, const json_t *frag)
{
	const json_t *fn = json_object_get(frag, "function"), *args, *iv;
	struct oa_tool *t;
	int64_t idx = 0;

	if (!json_is_object(frag))
		return 0;
	if (json_is_object(fn)) {
		args = json_object_get(fn, "arguments");
	} else {
		fn = json_object_get(frag, "custom");
		args = json_object_get(fn, "input");
	}
	iv = json_object_get(frag, "index");
	if (iv) {
		idx = stream_index(frag, "index");
		if (idx < 0)
			return 0;
	}
	t = stream_tool(st, slot, idx, iv != NULL, jstr(frag, "id"));
	if (!t)
		return 0;
	return stream_tool_piece(t, jstr(frag, "id"), jstr(fn, "name"), args);
}

/* One delta (chat) or text (completions) of a choice; *content when it
 * carried content (not a role-only or finish-only chunk). */
static int chat_stream_choice(struct oa_stream *st, const json_t *c, bool completions,
			      bool *content)
{
	const json_t *d = json_object_get(c, "delta"), *v, *frag;
	struct oa_slot *s;
	int err = 0, no;
	size_t i;

	s = stream_slot(st, stream_index(c, "index"), &no);
	if (!s)
		return 0;
	if (completions) {
		v = json_object_get(c, "text");
		*content |= lj_nonempty(v);
		err = buf_add(&s->text, v);
	} else if (json_is_object(d)) {
		err = set_once(&s->role, jstr(d, "role"));
		v = json_object_get(d, "content");
		*content |= lj_nonempty(v);
		if (!err)
			err = buf_add(&s->text, v);
		v = json_object_get(d, "reasoning_content");
		if (!json_is_string(v))
			v = json_object_get(d, "reasoning");
		*content |= lj_nonempty(v);
		if (!err)
			err = buf_add(&s->reasoning, v);
		v = json_object_get(d, "refusal");
		*content |= lj_nonempty(v);
		if (!err)
			err = buf_add(&s->refusal, v);
		json_array_foreach(json_object_get(d, "tool_calls"), i, frag) {
			if (err)
				break;
			*content = true;
			err = chat_stream_tool(st, no, frag);
		}
		v = json_object_get(d, "function_call");
		if (!err && json_is_object(v)) {
			struct oa_tool *t = stream_tool(st, no, -1, true, NULL);

			*content = true;
			if (t)
				err = stream_tool_piece(t, NULL, jstr(v, "name"),
							json_object_get(v, "arguments"));
		}
	}
	v = json_object_get(c, "finish_reason");
	if (!err && json_is_string(v))
		err = lj_dup_str(&s->finish_reason, json_string_value(v));
	return err;
}

static int chat_stream_chunk(struct oa_stream *st, const json_t *chunk, bool completions,
			     struct llm_exchange *ex, bool *content)
{
	const json_t *choices = json_object_get(chunk, "choices"), *c;
	int err;
	size_t i;

	err = response_common(chunk, ex);
	if (!err)
		err = decode_error_body(chunk, 0, ex);
	if (ex->error_type)
		st->done = true; /* an error ends the stream: it is not cut off */
	chat_usage(json_object_get(chunk, "usage"), &ex->usage);
	json_array_foreach(choices, i, c) {
		if (err)
			break;
		if (json_is_object(c))
			err = chat_stream_choice(st, c, completions, content);
	}
	return err;
}

/* Slot numbers ordered by index (at most OA_MAX_SLOTS: insertion sort). */
static void slots_by_index(const struct oa_stream *st, int *order)
{
	int i, j;

	for (i = 0; i < st->n_slot; i++) {
		for (j = i; j > 0 && st->slot[order[j - 1]].index > st->slot[i].index; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
}

/* The merged parts of one slot: reasoning, text, refusal, tool calls. */
static int slot_parts(const struct oa_stream *st, int no, json_t *parts)
{
	const struct oa_slot *s = &st->slot[no];
	int err = 0, i;
	json_t *args;

	if (s->reasoning.len)
		err = lj_push(parts, content_part("reasoning", s->reasoning.buf, s->reasoning.len));
	if (!err && s->text.len)
		err = lj_push(parts, content_part("text", s->text.buf, s->text.len));
	if (!err && s->refusal.len)
		err = lj_push(parts, content_part("refusal", s->refusal.buf, s->refusal.len));
	for (i = 0; i < st->n_tool && !err; i++) {
		const struct oa_tool *t = &st->tool[i];

		if (t->slot != no)
			continue;
		args = args_value_bytes(t->args.buf ? t->args.buf : "", t->args.len);
		err = lj_push(parts, tool_call_part(t->id, t->name, args));
	}
	return err;
}

static int chat_stream_finish(const struct oa_stream *st, struct llm_exchange *ex)
{
	int order[OA_MAX_SLOTS], i, err = 0;

	if (!st->n_slot)
		return 0;
	slots_by_index(st, order);
	ex->output_messages = json_array();
	if (!ex->output_messages)
		return -ENOMEM;
	for (i = 0; i < st->n_slot && !err; i++) {
		const struct oa_slot *s = &st->slot[order[i]];
		json_t *parts = json_array(), *msg;

		err = parts ? slot_parts(st, order[i], parts) : -ENOMEM;
		if (err) {
			json_decref(parts);
			break;
		}
		msg = llm_message(s->role ? s->role : "assistant", parts);
		err = lj_push(ex->output_messages, msg);
		if (!err)
			err = push_finish_reason(ex, msg, s->finish_reason);
	}
	return err;
}

/* Responses "error" event: {"type":"error","code","message"} per the SDK, or
 * {"type":"error","error":{...}} as recorded from the real API.  The flat
 * layout's "type" is the event's name, not an error type. */
static int responses_stream_error(const json_t *ev, struct llm_exchange *ex)
{
	const json_t *e = json_object_get(ev, "error");

	if (json_is_object(e))
		return error_from_object(e, 0, ex);
	return set_error(ex, NULL, json_object_get(ev, "code"), jstr(ev, "message"), 0);
}

static int responses_stream_item(struct oa_stream *st, const json_t *ev, bool done, bool *content)
{
	const json_t *item = json_object_get(ev, "item");
	const char *type = jstr(item, "type");
	struct oa_slot *s;
	int no, err;

	if (!json_is_object(item))
		return 0;
	s = stream_slot(st, stream_index(ev, "output_index"), &no);
	if (!s)
		return 0;
	err = set_once(&s->type, type);
	if (!err && (streq(type, "function_call") || streq(type, "custom_tool_call"))) {
		struct oa_tool *t = stream_tool(st, no, 0, true, NULL);

		*content = true;
		if (t)
			err = stream_tool_piece(t, jstr(item, "call_id"), jstr(item, "name"), NULL);
	}
	if (!err && done) {
		json_decref(s->item);
		s->item = json_incref((json_t *)item);
	}
	return err;
}

/* Text deltas of a Responses stream, by output item. */
static int responses_stream_delta(struct oa_stream *st, const json_t *ev, const char *type,
				  bool *content)
{
	const json_t *delta = json_object_get(ev, "delta");
	struct oa_slot *s;
	struct oa_tool *t;
	int no;

	s = stream_slot(st, stream_index(ev, "output_index"), &no);
	if (!s || !json_is_string(delta))
		return 0;
	*content |= json_string_length(delta) > 0;
	if (streq(type, "response.output_text.delta"))
		return buf_add(&s->text, delta);
	if (streq(type, "response.refusal.delta"))
		return buf_add(&s->refusal, delta);
	if (streq(type, "response.reasoning_summary_text.delta") ||
	    streq(type, "response.reasoning_text.delta"))
		return buf_add(&s->reasoning, delta);
	if (streq(type, "response.function_call_arguments.delta") ||
	    streq(type, "response.custom_tool_call_input.delta")) {
		*content = true;
		t = stream_tool(st, no, 0, true, NULL);
		return t ? buf_add(&t->args, delta) : 0;
	}
	*content = false;
	return 0;
}

static int responses_stream_event(struct oa_stream *st, const json_t *ev, const char *evname,
				  struct llm_exchange *ex, bool *content)
{
	const char *type = jstr(ev, "type");
	const json_t *resp = json_object_get(ev, "response");

	if (!type)
		type = evname;
	if (streq(type, "error")) {
		st->done = true;
		return responses_stream_error(ev, ex);
	}
	if (streq(type, "response.completed") || streq(type, "response.incomplete") ||
	    streq(type, "response.failed")) {
		st->done = true;
		if (json_is_object(resp)) {
			json_decref(st->terminal);
			st->terminal = json_incref((json_t *)resp);
		}
		return 0;
	}
	if (json_is_object(resp)) /* created, in_progress, queued */
		return response_common(resp, ex);
	if (streq(type, "response.output_item.added"))
		return responses_stream_item(st, ev, false, content);
	if (streq(type, "response.output_item.done"))
		return responses_stream_item(st, ev, true, content);
	if (type && strstr(type, ".delta"))
		return responses_stream_delta(st, ev, type, content);
	return 0;
}

/* Without a terminal response object: one assistant message from the
 * finished items, and the merged deltas of the unfinished ones. */
static int responses_stream_finish(const struct oa_stream *st, struct llm_exchange *ex)
{
	int order[OA_MAX_SLOTS], i, err = 0;
	bool has_call = false;
	json_t *parts, *msg, *rs;

	if (st->terminal)
		err = responses_decode_response(st->terminal, ex);
	if (err || ex->output_messages || !st->n_slot)
		return err;
	slots_by_index(st, order);
	parts = json_array();
	if (!parts)
		return -ENOMEM;
	for (i = 0; i < st->n_slot && !err; i++) {
		const struct oa_slot *s = &st->slot[order[i]];

		if (s->item)
			err = responses_output_item(s->item, parts, &has_call);
		else
			err = slot_parts(st, order[i], parts);
	}
	msg = llm_message("assistant", parts);
	ex->output_messages = json_array();
	if (!err && (!msg || !ex->output_messages))
		err = -ENOMEM;
	/* a terminal event without its output items still gave the reason */
	rs = json_array_get(ex->finish_reasons, 0);
	if (!err && rs)
		err = lj_put(msg, "finish_reason", jcopy(rs));
	if (err) {
		json_decref(msg);
		return err;
	}
	return lj_push(ex->output_messages, msg);
}

/* The stream ended cleanly without [DONE] but every choice finished: some
 * compatible servers omit the sentinel. */
static bool chat_stream_finished(const struct oa_stream *st, const struct llm_http *h)
{
	int i;

	if (h->resp_incomplete || h->resp_truncated || !st->n_slot)
		return false;
	for (i = 0; i < st->n_slot; i++)
		if (!st->slot[i].finish_reason)
			return false;
	return true;
}

/*
 * Chat stream fast path.  Almost every chunk of a chat stream has one shape:
 * {"id","object","created","model","system_fingerprint","choices":[{"index",
 * "delta":{"role"?,"content"},"finish_reason"}]} and parsing each into a
 * jansson tree dominated the cost of a stream.  This reads that shape in
 * place and applies exactly what chat_stream_chunk would; anything else
 * (usage, errors, tool calls, reasoning, duplicate keys, nested unknown
 * values, numbers jansson might reject, escapes it may not decode the same)
 * returns "not handled" before any side effect, and the chunk goes through
 * jansson.
 */
#define OA_FAST_CHOICES 4

/* A JSON string value of the chunk: its body in the event text. */
struct oa_span {
	const char *p;
	size_t n;
	bool set, esc;
};

struct oa_fast_choice {
	int64_t index;
	struct oa_span role, content, finish;
};

struct oa_fast_chunk {
	struct oa_span id, model, fingerprint;
	struct oa_fast_choice c[OA_FAST_CHOICES];
	int n;
};

/* Tests set this to compare the fast path with jansson's. */
bool openai_sse_fast_off;

static const char *oa_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* A string at p into sp; the position past it, or NULL. */
static const char *oa_str(const char *p, const char *end, struct oa_span *sp)
{
	ssize_t n;

	if (p >= end || *p != '"')
		return NULL;
	n = json_fast_str_scan(p + 1, (size_t)(end - p - 1), &sp->esc);
	if (n < 0)
		return NULL;
	sp->p = p + 1;
	sp->n = (size_t)n;
	sp->set = true;
	return p + 1 + n + 1;
}

static bool oa_lit(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

/* A non-negative integer of at most 18 digits (no overflow in jansson); its
 * value in *v.  Fractions and exponents make reals: left to jansson. */
static const char *oa_uint(const char *p, const char *end, int64_t *v)
{
	const char *s = p;

	*v = 0;
	if (p < end && *p == '0') {
		p++;
	} else {
		while (p < end && *p >= '0' && *p <= '9' && p - s < 18)
			*v = *v * 10 + (*p++ - '0');
	}
	if (p == s ||
	    (p < end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E')))
		return NULL;
	return p;
}

/* A scalar that chat_stream_chunk ignores: string, integer, true/false/null. */
static const char *oa_skip(const char *p, const char *end)
{
	struct oa_span sp;
	int64_t v;

	if (p >= end)
		return NULL;
	if (*p == '"')
		return oa_str(p, end, &sp);
	if (oa_lit(p, end, "null") || oa_lit(p, end, "true"))
		return p + 4;
	if (oa_lit(p, end, "false"))
		return p + 5;
	if (*p == '-')
		p++;
	return oa_uint(p, end, &v);
}

static const char *oa_null(const char *p, const char *end)
{
	return oa_lit(p, end, "null") ? p + 4 : NULL;
}

/* A string or null (sp left unset); NULL on anything else. */
static const char *oa_str_or_null(const char *p, const char *end, struct oa_span *sp)
{
	return p < end && *p == '"' ? oa_str(p, end, sp) : oa_null(p, end);
}

static bool oa_key_is(const struct oa_span *k, const char *name)
{
	return k->n == strlen(name) && memcmp(k->p, name, k->n) == 0;
}

/*
 * Walks an object at p: calls fn for each key with p at its value; fn
 * returns the position past the value or NULL.  Keys with escapes are left
 * to jansson.
 */
typedef const char *(*oa_member_fn)(const struct oa_span *key, const char *p, const char *end,
				    void *ctx, unsigned int *seen);

static const char *oa_object(const char *p, const char *end, oa_member_fn fn, void *ctx)
{
	unsigned int seen = 0;
	struct oa_span key;

	if (p >= end || *p != '{')
		return NULL;
	p = oa_ws(p + 1, end);
	if (p < end && *p == '}')
		return p + 1;
	for (;;) {
		p = oa_str(p, end, &key);
		if (!p || key.esc)
			return NULL;
		p = oa_ws(p, end);
		if (p >= end || *p != ':')
			return NULL;
		p = fn(&key, oa_ws(p + 1, end), end, ctx, &seen);
		if (!p)
			return NULL;
		p = oa_ws(p, end);
		if (p < end && *p == '}')
			return p + 1;
		if (p >= end || *p != ',')
			return NULL;
		p = oa_ws(p + 1, end);
	}
}

/* Marks a key seen; false when it was already (jansson keeps the last). */
static bool oa_once(unsigned int *seen, unsigned int bit)
{
	if (*seen & bit)
		return false;
	*seen |= bit;
	return true;
}

static const char *oa_delta_member(const struct oa_span *k, const char *p, const char *end,
				   void *ctx, unsigned int *seen)
{
	struct oa_fast_choice *c = ctx;

	if (oa_key_is(k, "role"))
		return oa_once(seen, 1) ? oa_str_or_null(p, end, &c->role) : NULL;
	if (oa_key_is(k, "content"))
		return oa_once(seen, 2) ? oa_str_or_null(p, end, &c->content) : NULL;
	/* present but null, these add nothing */
	if (oa_key_is(k, "refusal") || oa_key_is(k, "reasoning_content") ||
	    oa_key_is(k, "reasoning") || oa_key_is(k, "tool_calls") ||
	    oa_key_is(k, "function_call"))
		return oa_null(p, end);
	return NULL;
}

static const char *oa_choice_member(const struct oa_span *k, const char *p, const char *end,
				    void *ctx, unsigned int *seen)
{
	struct oa_fast_choice *c = ctx;

	if (oa_key_is(k, "index")) {
		if (!oa_once(seen, 1))
			return NULL;
		p = oa_uint(p, end, &c->index);
		return p && c->index <= OA_MAX_INDEX ? p : NULL;
	}
	if (oa_key_is(k, "delta")) {
		if (!oa_once(seen, 2))
			return NULL;
		return p < end && *p == '{' ? oa_object(p, end, oa_delta_member, c) :
					      oa_null(p, end);
	}
	if (oa_key_is(k, "finish_reason"))
		return oa_once(seen, 4) ? oa_str_or_null(p, end, &c->finish) : NULL;
	if (oa_key_is(k, "logprobs"))
		return oa_null(p, end);
	return oa_skip(p, end);
}

struct oa_fast_ctx {
	struct oa_fast_chunk *ch;
	bool tier_known; /* service_tier already recorded: later ones are ignored */
};

static const char *oa_choices(const char *p, const char *end, struct oa_fast_chunk *ch)
{
	if (p >= end || *p != '[')
		return NULL;
	p = oa_ws(p + 1, end);
	if (p < end && *p == ']')
		return p + 1;
	for (;;) {
		struct oa_fast_choice *c;

		if (ch->n == OA_FAST_CHOICES)
			return NULL;
		c = &ch->c[ch->n++];
		p = oa_object(p, end, oa_choice_member, c);
		if (!p)
			return NULL;
		p = oa_ws(p, end);
		if (p < end && *p == ']')
			return p + 1;
		if (p >= end || *p != ',')
			return NULL;
		p = oa_ws(p + 1, end);
	}
}

static const char *oa_chunk_member(const struct oa_span *k, const char *p, const char *end,
				   void *ctx, unsigned int *seen)
{
	struct oa_fast_ctx *fc = ctx;
	struct oa_fast_chunk *ch = fc->ch;
	struct oa_span sp;

	if (oa_key_is(k, "id"))
		return oa_once(seen, 1) ? oa_str(p, end, &ch->id) : NULL;
	if (oa_key_is(k, "model"))
		return oa_once(seen, 2) ? oa_str(p, end, &ch->model) : NULL;
	if (oa_key_is(k, "system_fingerprint"))
		return oa_once(seen, 4) ? oa_str_or_null(p, end, &ch->fingerprint) : NULL;
	if (oa_key_is(k, "choices"))
		return oa_once(seen, 8) ? oa_choices(p, end, ch) : NULL;
	if (oa_key_is(k, "usage"))
		return oa_null(p, end);
	if (oa_key_is(k, "service_tier"))
		return fc->tier_known ? oa_skip(p, end) : NULL;
	if (oa_key_is(k, "object")) {
		p = oa_str(p, end, &sp);
		/* {"object":"error"} is an error body */
		return p && !sp.esc && !(sp.n == 5 && memcmp(sp.p, "error", 5) == 0) ? p : NULL;
	}
	if (oa_key_is(k, "error") || oa_key_is(k, "error_type"))
		return NULL;
	return oa_skip(p, end);
}

/* The decoded span, NUL-terminated, in the scratch buffer. */
static int oa_span_get(const struct oa_span *sp, struct dynbuf *scratch, const char **s, size_t *n)
{
	int err;

	dynbuf_reset(scratch);
	err = dynbuf_append(scratch, sp->p, sp->n);
	if (err)
		return err == -E2BIG ? -ENOMEM : err;
	if (sp->esc) {
		scratch->len = json_fast_str_unescape(sp->p, sp->n, scratch->buf);
		scratch->buf[scratch->len] = '\0';
	}
	*s = scratch->buf ? scratch->buf : "";
	*n = scratch->len;
	return 0;
}

static int oa_set_once_span(char **dst, const struct oa_span *sp, struct dynbuf *scratch)
{
	const char *s;
	size_t n;
	int err;

	if (*dst || !sp->set || !sp->n)
		return 0;
	err = oa_span_get(sp, scratch, &s, &n);
	return err ? err : set_once(dst, s);
}

/*
 * Returns 1 when the chunk was applied, 0 when it is left to jansson (no
 * side effect then), or -ENOMEM.
 */
static int chat_stream_fast(struct oa_stream *st, const char *data, size_t len,
			    struct llm_exchange *ex, bool *content, struct dynbuf *scratch)
{
	const char *p, *end = data + len, *s;
	struct oa_fast_chunk ch;
	struct oa_fast_ctx fc = { &ch, false };
	int err = 0, i, no;
	size_t n;

	if (openai_sse_fast_off)
		return 0;
	memset(&ch, 0, sizeof(ch));
	fc.tier_known = json_object_get(ex->extra, "openai.response.service_tier") != NULL;
	p = oa_object(oa_ws(data, end), end, oa_chunk_member, &fc);
	if (!p || oa_ws(p, end) != end)
		return 0;

	/* what chat_stream_chunk does, in its order */
	err = oa_set_once_span(&ex->response_id, &ch.id, scratch);
	if (!err)
		err = oa_set_once_span(&ex->response_model, &ch.model, scratch);
	if (!err)
		err = oa_set_once_span(&ex->system_fingerprint, &ch.fingerprint, scratch);
	if (ex->error_type)
		st->done = true;
	for (i = 0; i < ch.n && !err; i++) {
		const struct oa_fast_choice *c = &ch.c[i];
		struct oa_slot *sl = stream_slot(st, c->index, &no);

		if (!sl)
			continue;
		err = oa_set_once_span(&sl->role, &c->role, scratch);
		if (!err && c->content.set) {
			*content |= c->content.n > 0;
			if (c->content.esc) {
				err = oa_span_get(&c->content, scratch, &s, &n);
			} else {
				s = c->content.p;
				n = c->content.n;
			}
			if (!err && dynbuf_append(&sl->text, s, n) == -ENOMEM)
				err = -ENOMEM;
		}
		if (!err && c->finish.set) {
			err = oa_span_get(&c->finish, scratch, &s, &n);
			if (!err)
				err = lj_dup_str(&sl->finish_reason, s);
		}
	}
	return err ? err : 1;
}

static int decode_sse(enum llm_api api, const struct llm_http *h, struct llm_exchange *ex)
{
	struct oa_stream *st = calloc(1, sizeof(*st));
	unsigned int good = 0, bad = 0;
	struct dynbuf scratch;
	struct sse_iter it;
	struct sse_event ev;
	int rc = 0, err = 0;

	if (!st)
		return -ENOMEM;
	ex->stream = true;
	dynbuf_init(&scratch, OA_EVENT_CAP);
	sse_iter_init(&it, h->resp_body, h->resp_len, OA_EVENT_CAP);
	while (!err && (rc = sse_next(&it, &ev)) == 1) {
		bool content = false;
		json_t *j;

		if (ev.data_len >= 6 && memcmp(ev.data, "[DONE]", 6) == 0) {
			st->done = true;
			break;
		}
		if (api == LLM_API_OPENAI_CHAT && !ev.truncated) {
			int fast =
				chat_stream_fast(st, ev.data, ev.data_len, ex, &content, &scratch);

			if (fast) {
				err = fast < 0 ? fast : 0;
				good += fast > 0;
				if (content && ex->first_content_offset < 0)
					ex->first_content_offset = (int64_t)ev.end_off;
				continue;
			}
		}
		j = ev.truncated ? NULL : parse_json(ev.data, ev.data_len);
		if (!json_is_object(j)) {
			/* a cut last event is expected; other garbage is counted */
			bad += ev.complete;
			json_decref(j);
			continue;
		}
		good++;
		if (api == LLM_API_OPENAI_RESPONSES)
			err = responses_stream_event(st, j, ev.event, ex, &content);
		else
			err = chat_stream_chunk(st, j, api == LLM_API_OPENAI_COMPLETIONS, ex,
						&content);
		json_decref(j);
		if (content && ex->first_content_offset < 0)
			ex->first_content_offset = (int64_t)ev.end_off;
	}
	if (!err && rc < 0)
		err = rc;
	if (!err && api == LLM_API_OPENAI_RESPONSES)
		err = responses_stream_finish(st, ex);
	else if (!err)
		err = chat_stream_finish(st, ex);
	if (!st->done && api != LLM_API_OPENAI_RESPONSES && chat_stream_finished(st, h))
		st->done = true;
	ex->incomplete = !st->done;
	sse_iter_free(&it);
	dynbuf_free(&scratch);
	stream_free(st);
	if (!err && !good && bad)
		err = -EBADMSG;
	return err;
}

/* ---- entry point ---- */

static bool looks_like_sse(const char *b, size_t n)
{
	static const char *const starts[] = { "data:", "event:", "id:", "retry:", ":" };
	size_t i = 0, k;

	if (n >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < n && (b[i] == ' ' || b[i] == '\r' || b[i] == '\n' || b[i] == '\t'))
		i++;
	for (k = 0; k < sizeof(starts) / sizeof(starts[0]); k++) {
		size_t m = strlen(starts[k]);

		if (n - i >= m && memcmp(b + i, starts[k], m) == 0)
			return true;
	}
	return false;
}

static int decode_json_response(enum llm_api api, const struct llm_http *h, struct llm_exchange *ex)
{
	bool ok_status = h->status >= 200 && h->status < 300;
	json_t *r = parse_json(h->resp_body, h->resp_len);
	int err = 0;

	if (!json_is_object(r)) {
		json_decref(r);
		if (h->resp_incomplete || h->resp_truncated) {
			/* a cut body explains it; the exchange says so */
			ex->incomplete = true;
			return 0;
		}
		/* proxies answer errors with HTML: the status is the error */
		return ok_status ? -EBADMSG : 0;
	}
	err = decode_error_body(r, h->status, ex);
	if (!err && ok_status) {
		switch (api) {
		case LLM_API_OPENAI_CHAT:
		case LLM_API_OPENAI_COMPLETIONS:
			err = chat_decode_response(r, api == LLM_API_OPENAI_COMPLETIONS, ex);
			break;
		case LLM_API_OPENAI_EMBEDDINGS:
			err = embeddings_decode_response(r, ex);
			break;
		case LLM_API_OPENAI_RESPONSES:
			err = responses_decode_response(r, ex);
			break;
		default:
			break;
		}
	}
	json_decref(r);
	return err;
}

static const char *operation_name(enum llm_api api)
{
	switch (api) {
	case LLM_API_OPENAI_COMPLETIONS:
		return "text_completion";
	case LLM_API_OPENAI_EMBEDDINGS:
		return "embeddings";
	default:
		return "chat";
	}
}

int openai_decode(enum llm_api api, const struct llm_http *h, struct llm_exchange *ex)
{
	json_t *req;
	int err = 0, rerr = 0;

	if (api != LLM_API_OPENAI_CHAT && api != LLM_API_OPENAI_COMPLETIONS &&
	    api != LLM_API_OPENAI_EMBEDDINGS && api != LLM_API_OPENAI_RESPONSES)
		return -EINVAL;
	ex->api = api;
	ex->api_family = "openai";
	ex->operation = operation_name(api);
	req = parse_json(h->req_body, h->req_len);
	if (json_is_object(req))
		err = decode_request(api, req, ex);
	else
		rerr = -EBADMSG; /* the response may still say what happened */
	json_decref(req);
	if (err)
		return err;
	if (h->status) {
		if (api != LLM_API_OPENAI_EMBEDDINGS &&
		    (llm_is_sse(h) || looks_like_sse(h->resp_body, h->resp_len)))
			err = decode_sse(api, h, ex);
		else
			err = decode_json_response(api, h, ex);
	} else if (h->resp_incomplete) {
		ex->incomplete = true; /* no response at all */
	}
	if (!err && h->status >= 400)
		err = lj_error_status(ex, h->status);
	if (err == -ENOMEM)
		return err;
	return rerr ? rerr : err;
}
