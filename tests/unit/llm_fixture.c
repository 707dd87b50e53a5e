// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "llm_fixture.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http1.h"
#include "test.h"

#define MAX_HDRS 32
#define MAX_HDR_VALUE 512

struct captured {
	char *body;
	size_t len;
	char method[16];
	char *target;
	int status;
	char ctype[128];
	struct {
		char name[128];
		char value[MAX_HDR_VALUE + 1];
	} hdrs[MAX_HDRS];
	int n_hdrs;
	bool incomplete;
};

static int capture_cb(struct http1_msg *m, void *ctx)
{
	struct captured *c = ctx;
	const char *ct = http1_msg_header(m, "content-type");

	if (m->status >= 100 && m->status < 200)
		return 0;
	c->body = dynbuf_take(&m->body, &c->len);
	memcpy(c->method, m->method, sizeof(c->method));
	c->target = m->target;
	m->target = NULL;
	c->status = m->status;
	c->incomplete = m->flags & HTTP1_F_INCOMPLETE;
	snprintf(c->ctype, sizeof(c->ctype), "%s", ct ? ct : "");
	for (size_t i = 0; i < m->n_headers && c->n_hdrs < MAX_HDRS; i++) {
		snprintf(c->hdrs[c->n_hdrs].name, sizeof(c->hdrs[0].name), "%s",
			 m->headers[i].name);
		snprintf(c->hdrs[c->n_hdrs].value, sizeof(c->hdrs[0].value), "%s",
			 m->headers[i].value);
		c->n_hdrs++;
	}
	return 0;
}

static void parse_file(const char *path, enum http1_kind kind, const char *method,
		       struct captured *c)
{
	size_t len = 0;
	char *raw = test_read_data(path, &len);
	struct http1_parser *p;

	if (!raw)
		test_fail_at(__FILE__, __LINE__, "cannot read tests/data/%s", path);
	p = http1_parser_new(kind, NULL);
	if (method)
		http1_push_request_method(p, method);
	if (http1_feed(p, raw, len, 1, capture_cb, c) != 0 || http1_eof(p, 2, capture_cb, c) != 0 ||
	    (!c->body && kind == HTTP1_REQUEST)) {
		http1_parser_free(p);
		free(raw);
		test_fail_at(__FILE__, __LINE__, "tests/data/%s is not a complete HTTP message",
			     path);
	}
	http1_parser_free(p);
	free(raw);
}

static const char *resp_header(const void *ctx, const char *name)
{
	const struct captured *c = ctx;

	for (int i = 0; i < c->n_hdrs; i++)
		if (strcmp(c->hdrs[i].name, name) == 0)
			return c->hdrs[i].value;
	return NULL;
}

int llm_fixture_decode(const char *family, const char *name, struct llm_exchange *ex)
{
	struct captured rq = { 0 }, rs = { 0 };
	struct llm_http h = { 0 };
	char path[256], *q;
	enum llm_api api;
	int err;

	snprintf(path, sizeof(path), "llm/%s/%s.req", family, name);
	parse_file(path, HTTP1_REQUEST, NULL, &rq);
	snprintf(path, sizeof(path), "llm/%s/%s.resp", family, name);
	parse_file(path, HTTP1_RESPONSE, rq.method, &rs);
	q = strchr(rq.target, '?');
	if (q)
		*q++ = '\0';
	h.method = rq.method;
	h.path = rq.target;
	h.query = q;
	h.host = "localhost";
	h.status = rs.status;
	h.req_content_type = "application/json";
	h.resp_content_type = rs.ctype;
	h.req_body = rq.body ? rq.body : "";
	h.req_len = rq.len;
	h.resp_body = rs.body ? rs.body : "";
	h.resp_len = rs.len;
	h.resp_incomplete = rs.incomplete;
	h.resp_header = resp_header;
	h.hdr_ctx = &rs;
	api = llm_api_detect(h.method, h.path, h.req_body, h.req_len);
	err = llm_decode(api, &h, ex);
	free(rq.body);
	free(rq.target);
	free(rs.body);
	free(rs.target);
	return err;
}

int llm_json_subset_diff(const json_t *exp, const json_t *act, const char *path, char *buf,
			 size_t size)
{
	char sub[512];

	if (json_is_object(exp)) {
		const char *k;
		json_t *v;

		if (!json_is_object(act)) {
			snprintf(buf, size, "%s: expected an object", path);
			return 1;
		}
		json_object_foreach((json_t *)exp, k, v) {
			json_t *a = json_object_get(act, k);

			snprintf(sub, sizeof(sub), "%s.%s", path, k);
			if (!a) {
				if (json_is_null(v))
					continue; /* null expects absence */
				snprintf(buf, size, "%s: missing", sub);
				return 1;
			}
			if (json_is_null(v)) {
				snprintf(buf, size, "%s: expected absent", sub);
				return 1;
			}
			if (llm_json_subset_diff(v, a, sub, buf, size))
				return 1;
		}
		return 0;
	}
	if (json_is_number(exp) && json_is_number(act)) {
		if (fabs(json_number_value(exp) - json_number_value(act)) > 1e-9) {
			snprintf(buf, size, "%s: actual %g, expected %g", path,
				 json_number_value(act), json_number_value(exp));
			return 1;
		}
		return 0;
	}
	if (!json_equal((json_t *)exp, (json_t *)act)) {
		char *a = json_dumps(act, JSON_COMPACT | JSON_ENCODE_ANY);
		char *e = json_dumps(exp, JSON_COMPACT | JSON_ENCODE_ANY);

		snprintf(buf, size, "%s: actual %.300s, expected %.300s", path, a ? a : "?",
			 e ? e : "?");
		free(a);
		free(e);
		return 1;
	}
	return 0;
}

void llm_fixture_check(const char *family, const char *name, const char *file, int line)
{
	struct llm_exchange ex;
	json_error_t jerr;
	char path[256], diff[1024];
	json_t *exp, *act, *exp_rc;
	size_t len;
	char *text;
	int rc, bad = 0;

	llm_exchange_init(&ex);
	rc = llm_fixture_decode(family, name, &ex);
	snprintf(path, sizeof(path), "llm/%s/%s.expect.json", family, name);
	text = test_read_data(path, &len);
	if (!text)
		test_fail_at(file, line, "cannot read tests/data/%s", path);
	exp = json_loadb(text, len, 0, &jerr);
	free(text);
	if (!exp)
		test_fail_at(file, line, "%s:%d: %s", path, jerr.line, jerr.text);
	/* "rc", when given, is the decoder's return value, not an exchange field */
	exp_rc = json_object_get(exp, "rc");
	if (exp_rc && !json_is_integer(exp_rc)) {
		snprintf(diff, sizeof(diff), "%s.rc: expected an integer in %s", name, path);
		bad = 1;
	} else if (exp_rc && json_integer_value(exp_rc) != rc) {
		snprintf(diff, sizeof(diff), "%s.rc: actual %d, expected %lld", name, rc,
			 (long long)json_integer_value(exp_rc));
		bad = 1;
	}
	json_object_del(exp, "rc");
	act = llm_exchange_to_json(&ex);
	if (!bad)
		bad = llm_json_subset_diff(exp, act, name, diff, sizeof(diff));
	json_decref(exp);
	json_decref(act);
	llm_exchange_clear(&ex);
	if (bad)
		test_fail_at(file, line, "%s/%s: %s", family, name, diff);
}
