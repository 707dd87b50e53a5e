// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Running a compiled rule set: records (alerts, labels, redaction requests)
 * and the tests embedded in rule files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redact/memo.h"
#include "rules/internal.h"
#include "util/clock.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* True when the rule may alert now (a window of rl_window_ns, rl_max alerts). */
static bool rate_ok(struct rule *ru)
{
	uint64_t now;

	if (!ru->rl_max)
		return true;
	now = now_ns();
	if (ru->rl_used == 0 || now - ru->rl_start >= ru->rl_window_ns) {
		ru->rl_start = now;
		ru->rl_used = 0;
	}
	if (ru->rl_used >= ru->rl_max)
		return false;
	ru->rl_used++;
	return true;
}

static int add_alert(struct rules *r, struct rule *ru, json_t *alerts)
{
	json_t *a, *tags = json_array();
	char *msg = eval_render(r, ru);
	int err = 0;

	if (!tags || !msg) {
		json_decref(tags);
		free(msg);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ru->n_tags && !err; i++)
		err = json_array_append_new(tags, json_string(ru->tags[i]));
	a = err ? NULL :
		  json_pack("{s:s s:s s:s s:s s:o}", "rule", ru->name, "id", ru->id, "severity",
			    severity_names[ru->sev], "message", msg, "tags", tags);
	free(msg);
	if (!a) {
		if (err)
			json_decref(tags);
		return -ENOMEM;
	}
	return json_array_append_new(alerts, a) ? -ENOMEM : 0;
}

static int add_labels(const struct rule *ru, json_t *rec)
{
	json_t *attrs = json_object_get(rec, "attributes"), *l;

	if (!attrs)
		return 0;
	l = json_object_get(attrs, "llmtap.labels");
	if (!l) {
		l = json_array();
		if (!l || json_object_set_new(attrs, "llmtap.labels", l))
			return -ENOMEM;
	}
	for (size_t i = 0; i < ru->n_labels; i++) {
		json_t *x;
		size_t k;
		bool have = false;

		json_array_foreach(l, k, x) {
			have |= json_is_string(x) &&
				strcmp(json_string_value(x), ru->labels[i]) == 0;
		}
		if (!have && json_array_append_new(l, json_string(ru->labels[i])))
			return -ENOMEM;
	}
	return 0;
}

static void add_redact(const struct rule *ru, struct rules_verdict *v)
{
	for (size_t i = 0; i < ru->n_redact; i++) {
		size_t k;

		for (k = 0; k < v->n_redact; k++)
			if (strcmp(v->redact[k].entity, ru->redact[i].entity) == 0)
				break;
		if (k < v->n_redact) {
			/* the stronger mode wins: drop > mask > hmac > partial */
			static const int strength[] = { [RULES_REDACT_DEFAULT] = 0,
							[RULES_REDACT_PARTIAL] = 1,
							[RULES_REDACT_HMAC] = 2,
							[RULES_REDACT_MASK] = 3,
							[RULES_REDACT_DROP] = 4 };

			if (strength[ru->redact[i].mode] > strength[v->redact[k].mode])
				v->redact[k].mode = ru->redact[i].mode;
			continue;
		}
		if (v->n_redact == RULES_MAX_REDACT)
			return;
		v->redact[v->n_redact].entity = ru->redact[i].entity;
		v->redact[v->n_redact].mode = ru->redact[i].mode;
		v->n_redact++;
	}
}

int rules_eval(struct rules *r, json_t *rec, struct rules_stats *st, struct rules_verdict *v)
{
	struct rules_stats dummy = { 0 };
	json_t *alerts;
	int err = 0;

	if (!st)
		st = &dummy;
	if (v)
		memset(v, 0, sizeof(*v));
	/* from here on the memo describes no record, until eval_begin: never
	 * an earlier one whose freed strings this record may now occupy */
	detect_memo_reset(r->ev.memo, NULL);
	alerts = json_object_get(rec, "alerts");
	if (!json_is_array(alerts)) {
		alerts = json_array();
		if (!alerts || json_object_set_new(rec, "alerts", alerts)) {
			st->eval_errors++;
			return -ENOMEM;
		}
	}
	eval_begin(r, rec, st);
	for (size_t i = 0; i < r->n_rules && !err; i++) {
		struct rule *ru = &r->rules[i];
		uint64_t t0 = 0;
		bool hit;

		if (!ru->enabled)
			continue;
		/* alone: the caches start empty, so the rule pays for all it uses */
		if (r->profile_alone)
			eval_begin(r, rec, st);
		r->ev.n_fired = 0;
		if (r->profiling)
			t0 = now_ns();
		hit = eval_cond(r, ru->cond);
		if (r->profiling) {
			ru->prof_ns += now_ns() - t0;
			ru->prof_evals++;
		}
		if (!hit)
			continue;
		if (ru->alert) {
			if (!rate_ok(ru)) {
				st->rate_limited++;
			} else {
				err = add_alert(r, ru, alerts);
				if (!err) {
					st->alerts++;
					if (v)
						v->alerts++;
				}
			}
		}
		if (!err && ru->n_labels)
			err = add_labels(ru, rec);
		if (v && ru->n_redact)
			add_redact(ru, v);
	}
	st->records++;
	if (!err)
		err = r->ev.err;
	if (err)
		st->eval_errors++;
	return err;
}

/* ---- embedded tests ---- */

static json_t *scalar_json(const struct ynode *y)
{
	long long i;
	bool b;

	if (ynode_int(y, &i) == 0)
		return json_integer(i);
	if (ynode_bool(y, &b) == 0)
		return json_boolean(b);
	return json_stringn(y->str, y->len);
}

/* A YAML value as JSON (tool arguments given as a mapping). */
static json_t *yaml_json(const struct ynode *y, int depth)
{
	json_t *o;

	if (depth > 32)
		return NULL;
	if (y->type == YN_SCALAR)
		return y->style == YS_PLAIN ? scalar_json(y) : json_stringn(y->str, y->len);
	if (y->type == YN_SEQ) {
		o = json_array();
		for (size_t i = 0; o && i < y->n; i++)
			json_array_append_new(o, yaml_json(y->items[i], depth + 1));
		return o;
	}
	o = json_object();
	for (size_t i = 0; o && i < y->n; i++)
		json_object_set_new(o, y->items[2 * i]->str,
				    yaml_json(y->items[2 * i + 1], depth + 1));
	return o;
}

static json_t *text_part(const char *type, const char *key, json_t *value)
{
	return json_pack("{s:s s:o}", "type", type, key, value);
}

/* Each scalar of a value (a list gives one message per item). */
static int each_text(const struct ynode *y, json_t *msgs, const char *role, const char *type,
		     const char *key)
{
	size_t n = y->type == YN_SEQ ? y->n : 1;

	for (size_t i = 0; i < n; i++) {
		const struct ynode *it = y->type == YN_SEQ ? y->items[i] : y;
		json_t *v =
			it->type == YN_SCALAR ? json_stringn(it->str, it->len) : yaml_json(it, 0);
		json_t *m =
			json_pack("{s:s s:[o]}", "role", role, "parts", text_part(type, key, v));

		if (!m || json_array_append_new(msgs, m))
			return -ENOMEM;
	}
	return 0;
}

/* A record as record_build would make it, from a test's input fields. */
static json_t *test_record(const struct ynode *input)
{
	json_t *rec = json_pack("{s:s s:s s:s s:{} s:[] s:{}}", "schema", "llmtap.audit/1", "id",
				"00000000-0000-4000-8000-000000000000", "event.name",
				"gen_ai.client.inference.operation.details", "attributes", "alerts",
				"redactions");
	json_t *attrs = json_object_get(rec, "attributes");
	json_t *in = json_array(), *out = json_array(), *sys = json_array(), *call = NULL;
	int err = !rec || !in || !out || !sys ? -ENOMEM : 0;

	for (size_t i = 0; !err && i < input->n; i++) {
		const char *k = input->items[2 * i]->str;
		const struct ynode *y = input->items[2 * i + 1];
		enum ftype t;
		int fid;

		if (strcmp(k, "prompt") == 0 || strcmp(k, "user_prompt") == 0) {
			err = each_text(y, in, "user", "text", "content");
		} else if (strcmp(k, "system_prompt") == 0) {
			err = json_array_append_new(
				sys, text_part("text", "content", json_stringn(y->str, y->len)));
		} else if (strcmp(k, "response") == 0) {
			err = each_text(y, out, "assistant", "text", "content");
		} else if (strcmp(k, "tool.response") == 0) {
			err = each_text(y, in, "tool", "tool_call_response", "response");
		} else if (strcmp(k, "tool.name") == 0 || strcmp(k, "tool.arguments") == 0) {
			if (!call) {
				call = json_pack("{s:s}", "type", "tool_call");
				err = !call || json_array_append_new(
						       out, json_pack("{s:s s:[O]}", "role",
								      "assistant", "parts", call));
				json_decref(call);
			}
			if (!err)
				err = json_object_set_new(call, k[5] == 'n' ? "name" : "arguments",
							  y->type == YN_SCALAR ?
								  json_stringn(y->str, y->len) :
								  yaml_json(y, 0));
		} else if (strcmp(k, "event.name") == 0) {
			err = json_object_set_new(rec, "event.name", json_stringn(y->str, y->len));
		} else if (fields_lookup(k, &fid, &t, NULL, 0) == 0) {
			json_t *v;

			if (t == FT_LIST && y->type == YN_SCALAR)
				v = json_pack("[s#]", y->str, (int)y->len);
			else if (y->type != YN_SCALAR)
				v = yaml_json(y, 0);
			else if (t == FT_STR || y->style != YS_PLAIN)
				v = json_stringn(y->str, y->len);
			else if (t == FT_NUM) {
				char *end;
				double d = strtod(y->str, &end);
				long long ll;

				v = ynode_int(y, &ll) == 0 ? json_integer(ll) :
				    *end		   ? json_stringn(y->str, y->len) :
							     json_real(d);
			} else {
				v = scalar_json(y);
			}
			err = json_object_set_new(attrs, k, v);
		}
		if (err)
			err = -ENOMEM;
	}
	if (!err && json_array_size(sys))
		err = json_object_set(attrs, "gen_ai.system_instructions", sys);
	if (!err && json_array_size(in))
		err = json_object_set(attrs, "gen_ai.input.messages", in);
	if (!err && json_array_size(out))
		err = json_object_set(attrs, "gen_ai.output.messages", out);
	json_decref(in);
	json_decref(out);
	json_decref(sys);
	if (err) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

static int run_tests(struct rules *r, void (*fn)(const struct rules_test_result *, void *),
		     void *ctx, unsigned *passed, unsigned *failed)
{
	*passed = *failed = 0;
	for (size_t i = 0; i < r->n_rules; i++) {
		const struct rule *ru = &r->rules[i];

		for (size_t k = 0; k < ru->n_tests; k++) {
			const struct rule_test *t = &ru->tests[k];
			struct rules_test_result res = { .rule = ru->name,
							 .test = t->name,
							 .file = t->file,
							 .line = t->line,
							 .col = t->col };
			json_t *rec = test_record(t->input);
			bool hit;

			if (!rec)
				return -ENOMEM;
			eval_begin(r, rec, NULL);
			r->ev.n_fired = 0;
			hit = eval_cond(r, ru->cond);
			if (r->ev.err) {
				json_decref(rec);
				return r->ev.err;
			}
			res.passed = hit == t->expect;
			if (!res.passed) {
				snprintf(res.detail, sizeof(res.detail), "expected %s, got %s",
					 t->expect ? "a match" : "no match",
					 hit ? "a match" : "no match");
			} else if (hit && t->message) {
				char *msg = eval_render(r, ru);

				if (!msg) {
					json_decref(rec);
					return -ENOMEM;
				}
				if (strcmp(msg, t->message) != 0) {
					res.passed = false;
					snprintf(res.detail, sizeof(res.detail),
						 "message \"%.140s\", expected \"%.140s\"", msg,
						 t->message);
				}
				free(msg);
			}
			json_decref(rec);
			if (res.passed)
				(*passed)++;
			else
				(*failed)++;
			if (fn)
				fn(&res, ctx);
		}
	}
	return 0;
}

int rules_run_tests(struct rules *r, void (*fn)(const struct rules_test_result *, void *),
		    void *ctx, unsigned *passed, unsigned *failed)
{
	int rc = run_tests(r, fn, ctx, passed, failed);

	/* the test records are gone: the memo must not point into them */
	detect_memo_reset(r->ev.memo, NULL);
	return rc;
}

size_t rules_profile(const struct rules *r, size_t i, const char **name, uint64_t *evals,
		     uint64_t *ns)
{
	if (!r || i >= r->n_rules)
		return 0;
	*name = r->rules[i].name;
	*evals = r->rules[i].prof_evals;
	*ns = r->rules[i].prof_ns;
	return r->n_rules;
}

void rules_set_profiling(struct rules *r, bool on)
{
	r->profiling = on;
}

void rules_set_profiling_alone(struct rules *r, bool alone)
{
	r->profile_alone = alone;
}

void rules_profile_reset(struct rules *r)
{
	for (size_t i = 0; i < r->n_rules; i++)
		r->rules[i].prof_evals = r->rules[i].prof_ns = 0;
	memset(r->ev.stage_ns, 0, sizeof(r->ev.stage_ns));
}

const char *rules_content_field(size_t cf)
{
	return cf < CF_MAX ? fields_name(FIELD_CONTENT((int)cf)) : NULL;
}

uint64_t rules_profile_stage(const struct rules *r, enum rules_stage stage, size_t cf)
{
	static const enum prof_stage map[] = {
		[RULES_STAGE_CONTENT] = PS_CONTENT, [RULES_STAGE_SCAN] = PS_SCAN,
		[RULES_STAGE_BUILTIN] = PS_BUILTIN, [RULES_STAGE_CONFIRM] = PS_CONFIRM,
		[RULES_STAGE_OVERLAP] = PS_OVERLAP,
	};

	if (!r || (unsigned)stage >= RULES_STAGE_COUNT || cf >= CF_MAX)
		return 0;
	return r->ev.stage_ns[map[stage]][cf];
}

const struct detect_memo *rules_detect_memo(const struct rules *r)
{
	return r ? r->ev.memo : NULL;
}
