// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "otlp.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* nested attribute values deeper than this become their JSON text */
#define ANY_DEPTH_MAX 16

static int num(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int otlp_parse_time(const char *s, uint64_t *ns)
{
	struct tm tm = { 0 };
	uint64_t frac = 0;
	int y, off = 0, i = 19, fd = 0;
	time_t t;

	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':' || num(s, 4, &y) || num(s + 5, 2, &tm.tm_mon) ||
	    num(s + 8, 2, &tm.tm_mday) || num(s + 11, 2, &tm.tm_hour) ||
	    num(s + 14, 2, &tm.tm_min) || num(s + 17, 2, &tm.tm_sec))
		return -EINVAL;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || y < 1970)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon--;
	if (s[i] == '.') {
		for (i++; isdigit((unsigned char)s[i]); i++, fd++)
			if (fd < 9)
				frac = frac * 10 + (uint64_t)(s[i] - '0');
		if (!fd)
			return -EINVAL;
		for (; fd < 9; fd++)
			frac *= 10;
	}
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		int h, m;

		if (num(s + i + 1, 2, &h) || s[i + 3] != ':' || num(s + i + 4, 2, &m))
			return -EINVAL;
		off = (h * 60 + m) * 60 * (s[i] == '+' ? 1 : -1);
		i += 6;
	} else {
		return -EINVAL;
	}
	if (s[i])
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1 || (int64_t)t - off < 0)
		return -EINVAL;
	*ns = (uint64_t)((int64_t)t - off) * 1000000000ull + frac;
	return 0;
}

static json_t *u64_str(uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	return json_string(b);
}

static json_t *any_value(json_t *v, int depth);

static json_t *kv(const char *key, json_t *value)
{
	json_t *o;

	if (!value)
		return NULL;
	o = json_object();
	if (!o || json_object_set_new(o, "key", json_string(key)) ||
	    json_object_set_new(o, "value", value)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A JSON value as an OTLP AnyValue; NULL for JSON null (omitted). */
static json_t *any_value(json_t *v, int depth)
{
	json_t *out = json_object(), *list;
	char b[32];
	size_t i;
	const char *k;
	json_t *e;

	if (!out)
		return NULL;
	switch (json_typeof(v)) {
	case JSON_STRING:
		json_object_set_new(
			out, "stringValue",
			json_stringn_nocheck(json_string_value(v), json_string_length(v)));
		break;
	case JSON_INTEGER:
		snprintf(b, sizeof(b), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		json_object_set_new(out, "intValue", json_string(b));
		break;
	case JSON_REAL:
		json_object_set_new(out, "doubleValue", json_real(json_real_value(v)));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		json_object_set_new(out, "boolValue", json_boolean(json_is_true(v)));
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		if (depth >= ANY_DEPTH_MAX) {
			char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

			json_object_set_new(out, "stringValue", json_string(txt ? txt : ""));
			free(txt);
			break;
		}
		list = json_array();
		if (json_is_array(v)) {
			json_array_foreach(v, i, e) {
				json_t *a = any_value(e, depth + 1);

				/* arrays keep their length: null becomes an empty AnyValue */
				json_array_append_new(list, a ? a : json_object());
			}
			json_object_set_new(out, "arrayValue", json_pack("{s:o}", "values", list));
		} else {
			json_object_foreach(v, k, e) {
				json_t *a = any_value(e, depth + 1);

				if (a)
					json_array_append_new(list, kv(k, a));
			}
			json_object_set_new(out, "kvlistValue", json_pack("{s:o}", "values", list));
		}
		break;
	default:
		json_decref(out);
		return NULL;
	}
	return out;
}

static json_t *str_attr(const char *key, const char *s)
{
	return kv(key, json_pack("{s:s}", "stringValue", s));
}

static json_t *log_record(const char *line, size_t n, uint64_t observed_ns)
{
	json_t *rec = json_object(), *attrs = json_array(), *r, *a, *v;
	json_error_t jerr;
	uint64_t t = observed_ns, seq;
	int sev = OTLP_SEVERITY_INFO;
	const char *k;
	json_t *body;

	if (!rec || !attrs)
		goto nomem;
	r = json_loadb(line, n, 0, &jerr);
	if (json_is_object(r)) {
		v = json_object_get(r, "time");
		if (json_is_string(v))
			otlp_parse_time(json_string_value(v), &t);
		v = json_object_get(r, "alerts");
		if (json_is_array(v) && json_array_size(v))
			sev = OTLP_SEVERITY_WARN;
		v = json_object_get(r, "event.name");
		if (json_is_string(v))
			json_object_set_new(rec, "eventName", json_copy(v));
		a = json_object_get(r, "attributes");
		if (json_is_object(a)) {
			json_object_foreach(a, k, v) {
				json_t *av = any_value(v, 0);

				if (av)
					json_array_append_new(attrs, kv(k, av));
			}
		}
		v = json_object_get(r, "seq");
		if (json_is_integer(v) && json_integer_value(v) >= 0) {
			seq = (uint64_t)json_integer_value(v);
			json_array_append_new(attrs, kv("llmtap.seq", json_pack("{s:o}", "intValue",
										u64_str(seq))));
		}
		v = json_object_get(r, "prev");
		if (json_is_string(v))
			json_array_append_new(attrs, str_attr("llmtap.prev", json_string_value(v)));
		v = json_object_get(r, "id");
		if (json_is_string(v))
			json_array_append_new(attrs, str_attr("llmtap.id", json_string_value(v)));
	}
	json_decref(r);
	json_object_set_new(rec, "timeUnixNano", u64_str(t));
	json_object_set_new(rec, "observedTimeUnixNano", u64_str(observed_ns));
	json_object_set_new(rec, "severityNumber", json_integer(sev));
	json_object_set_new(rec, "severityText",
			    json_string(sev == OTLP_SEVERITY_WARN ? "WARN" : "INFO"));
	/* the exact bytes: the chain hashes them */
	body = json_stringn(line, n);
	if (!body)
		body = json_stringn_nocheck(line, n);
	json_object_set_new(rec, "body", json_pack("{s:o}", "stringValue", body));
	json_object_set_new(rec, "attributes", attrs);
	return rec;
nomem:
	json_decref(rec);
	json_decref(attrs);
	return NULL;
}

int otlp_encode_logs(const char *buf, size_t len, const struct otlp_resource *res,
		     uint64_t observed_ns, char **out, size_t *out_len)
{
	json_t *root = NULL, *rattrs, *records, *scope;
	size_t off = 0;
	int err = -ENOMEM;

	*out = NULL;
	*out_len = 0;
	rattrs = json_array();
	records = json_array();
	if (!rattrs || !records)
		goto out;
	json_array_append_new(rattrs, str_attr("service.name", "llmtap"));
	if (res && res->service_version)
		json_array_append_new(rattrs, str_attr("service.version", res->service_version));
	if (res && res->host_name)
		json_array_append_new(rattrs, str_attr("host.name", res->host_name));
	if (res && res->host_id)
		json_array_append_new(rattrs, str_attr("host.id", res->host_id));
	while (off < len) {
		const char *p = buf + off, *nl = memchr(p, '\n', len - off);
		size_t n = nl ? (size_t)(nl - p) : len - off;
		json_t *rec;

		off += n + (nl ? 1 : 0);
		if (!n)
			continue;
		rec = log_record(p, n, observed_ns);
		if (!rec || json_array_append_new(records, rec))
			goto out;
	}
	scope = json_pack("{s:s,s:s}", "name", "llmtap", "version",
			  res && res->service_version ? res->service_version : "");
	root = json_pack("{s:[{s:{s:o},s:[{s:o,s:o}]}]}", "resourceLogs", "resource", "attributes",
			 rattrs, "scopeLogs", "scope", scope, "logRecords", records);
	rattrs = records = NULL; /* json_pack took them, even on failure */
	if (!root)
		goto out;
	*out = json_dumps(root, JSON_COMPACT);
	if (*out) {
		*out_len = strlen(*out);
		err = 0;
	}
out:
	json_decref(rattrs);
	json_decref(records);
	json_decref(root);
	return err;
}

int otlp_parse_reply(const char *body, size_t len, struct otlp_reply *r)
{
	json_error_t jerr;
	json_t *root, *ps, *v;
	size_t i = 0;
	int err = 0;

	memset(r, 0, sizeof(*r));
	if (len > OTLP_REPLY_MAX)
		return -E2BIG;
	while (i < len && isspace((unsigned char)body[i]))
		i++;
	if (i == len)
		return 0;
	root = json_loadb(body, len, 0, &jerr);
	if (!json_is_object(root)) {
		json_decref(root);
		return -EINVAL;
	}
	ps = json_object_get(root, "partialSuccess");
	if (ps && !json_is_object(ps)) {
		err = -EINVAL;
		goto out;
	}
	if (!ps)
		goto out;
	r->partial = true;
	v = json_object_get(ps, "rejectedLogRecords");
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0) {
			err = -EINVAL;
			goto out;
		}
		r->rejected = (uint64_t)json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;

		if (!isdigit((unsigned char)s[0])) {
			err = -EINVAL;
			goto out;
		}
		errno = 0;
		r->rejected = strtoull(s, &end, 10);
		if (*end || errno) {
			err = -EINVAL;
			goto out;
		}
	} else if (v) {
		err = -EINVAL;
		goto out;
	}
	v = json_object_get(ps, "errorMessage");
	if (json_is_string(v))
		snprintf(r->message, sizeof(r->message), "%s", json_string_value(v));
out:
	json_decref(root);
	return err;
}
