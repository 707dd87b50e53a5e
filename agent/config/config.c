// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The configuration file: parsed into the position-keeping YAML tree the
 * rule loader uses (same limits: no aliases, bounded depth and size), then
 * walked section by section.  Each section lists its keys, so an unknown
 * key is an error with the closest known key as a hint.  All errors are
 * collected (not just the first) so one `config check` shows them all.
 */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules/yaml_tree.h"
#include "util/fileio.h"
#include "util/strnum.h"

#define CONFIG_FILE_MAX (4u << 20) /* a configuration file is small */
#define CONFIG_MAX_DIAGS 100

struct cctx {
	struct config *c;
	struct config_diags *d;
	const char *file;
	int errors;
	int oom;
};

static void __attribute__((format(printf, 3, 4)))
diag(struct cctx *x, const struct ynode *at, const char *fmt, ...)
{
	struct config_diag *g;
	char msg[400];
	va_list ap;

	x->errors++;
	if (!x->d || x->d->n >= CONFIG_MAX_DIAGS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (x->d->n == x->d->alloc) {
		size_t na = x->d->alloc ? x->d->alloc * 2 : 8;
		struct config_diag *v = realloc(x->d->v, na * sizeof(*v));

		if (!v) {
			x->oom = 1;
			return;
		}
		x->d->v = v;
		x->d->alloc = na;
	}
	g = &x->d->v[x->d->n];
	g->file = strdup(x->file);
	g->msg = strdup(msg);
	g->line = at ? at->line : 0;
	g->col = at ? at->col : 0;
	if (!g->file || !g->msg) {
		free(g->file);
		free(g->msg);
		x->oom = 1;
		return;
	}
	x->d->n++;
}

/* ---- "did you mean" ---- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (tolower((unsigned char)a[i - 1]) !=
						    tolower((unsigned char)b[j - 1]));
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

static const char *closest(const char *s, const char *const *names)
{
	const char *best = NULL;
	size_t best_d = 3; /* at most 2 edits away */

	for (size_t i = 0; names[i]; i++) {
		size_t d = edit_distance(s, names[i]);

		if (d < best_d) {
			best_d = d;
			best = names[i];
		}
	}
	return best;
}

/* Unknown keys of mapping m are errors; returns false when m is no mapping. */
static bool check_map(struct cctx *x, const struct ynode *m, const char *what,
		      const char *const *keys)
{
	if (!m || m->type != YN_MAP) {
		diag(x, m, "%s must be a mapping, not %s", what, ynode_kind(m));
		return false;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct ynode *k = m->items[2 * i];
		bool known = false;

		for (size_t j = 0; keys[j] && !known; j++)
			known = strcmp(k->str, keys[j]) == 0;
		if (!known) {
			const char *hint = closest(k->str, keys);

			if (hint)
				diag(x, k, "unknown key '%s' in %s (did you mean '%s'?)", k->str,
				     what, hint);
			else
				diag(x, k, "unknown key '%s' in %s", k->str, what);
		}
	}
	return true;
}

/* ---- scalar values ---- */

static bool scalar(struct cctx *x, const struct ynode *n, const char *key)
{
	if (n->type != YN_SCALAR) {
		diag(x, n, "'%s' must be a single value, not %s", key, ynode_kind(n));
		return false;
	}
	if (memchr(n->str, '\0', n->len)) {
		diag(x, n, "'%s' contains a NUL byte", key);
		return false;
	}
	return true;
}

static void get_bool(struct cctx *x, const struct ynode *m, const char *key, bool *out)
{
	const struct ynode *n = ymap_get(m, key);

	if (!n || ynode_is_null(n))
		return;
	if (!scalar(x, n, key))
		return;
	if (ynode_bool(n, out))
		diag(x, n, "'%s' must be true or false, not '%s'", key, n->str);
}

/* Replaces *out (malloc'd) with the key's string; null keeps the default. */
static void get_str(struct cctx *x, const struct ynode *m, const char *key, char **out)
{
	const struct ynode *n = ymap_get(m, key);
	char *s;

	if (!n || (n->style == YS_PLAIN && ynode_is_null(n)))
		return;
	if (!scalar(x, n, key))
		return;
	if (n->len > PATH_MAX) {
		diag(x, n, "'%s' is too long (%zu bytes, at most %d)", key, n->len, PATH_MAX);
		return;
	}
	s = strdup(n->str);
	if (!s) {
		x->oom = 1;
		return;
	}
	free(*out);
	*out = s;
}

/* A byte size: 1048576, 512k, 100m, 2g. */
static void get_size(struct cctx *x, const struct ynode *m, const char *key, uint64_t min,
		     uint64_t max, uint64_t *out)
{
	const struct ynode *n = ymap_get(m, key);
	uint64_t v;

	if (!n || ynode_is_null(n) || !scalar(x, n, key))
		return;
	if (strnum_parse_size(n->str, &v)) {
		diag(x, n, "'%s' must be a size such as 1048576, 512k, 100m or 2g, not '%s'", key,
		     n->str);
		return;
	}
	if (v < min || v > max) {
		diag(x, n, "'%s' is out of range (%llu..%llu bytes)", key, (unsigned long long)min,
		     (unsigned long long)max);
		return;
	}
	*out = v;
}

/* A plain count. */
static void get_uint(struct cctx *x, const struct ynode *m, const char *key, uint64_t min,
		     uint64_t max, uint64_t *out)
{
	const struct ynode *n = ymap_get(m, key);
	long long v;

	if (!n || ynode_is_null(n) || !scalar(x, n, key))
		return;
	if (ynode_int(n, &v) || v < 0) {
		diag(x, n, "'%s' must be a whole number, not '%s'", key, n->str);
		return;
	}
	if ((uint64_t)v < min || (uint64_t)v > max) {
		diag(x, n, "'%s' is out of range (%llu..%llu)", key, (unsigned long long)min,
		     (unsigned long long)max);
		return;
	}
	*out = (uint64_t)v;
}

/* Parses "90", "500ms", "30s", "5m", "24h", "180d" into milliseconds. */
int config_parse_duration_ms(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = { { "ms", 1 },	{ "s", 1000 },	   { "m", 60000 },
		      { "h", 3600000 }, { "d", 86400000 }, { "", 1000 } };
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			if (v > UINT64_MAX / units[i].ms)
				return -EINVAL;
			*out = v * units[i].ms;
			return 0;
		}
	}
	return -EINVAL;
}

static void get_duration_ms(struct cctx *x, const struct ynode *m, const char *key, uint64_t min_ms,
			    uint64_t max_ms, uint64_t *out)
{
	const struct ynode *n = ymap_get(m, key);
	uint64_t v;

	if (!n || ynode_is_null(n) || !scalar(x, n, key))
		return;
	if (config_parse_duration_ms(n->str, &v)) {
		diag(x, n, "'%s' must be a duration such as 30s, 5m, 24h or 180d, not '%s'", key,
		     n->str);
		return;
	}
	if (v < min_ms || v > max_ms) {
		diag(x, n, "'%s' is out of range", key);
		return;
	}
	*out = v;
}

/* Seconds-valued duration keys (0 allowed: "never"). */
static void get_duration_s(struct cctx *x, const struct ynode *m, const char *key, uint64_t max_s,
			   uint64_t *out)
{
	uint64_t ms = UINT64_MAX;

	get_duration_ms(x, m, key, 0, max_s * 1000, &ms);
	if (ms != UINT64_MAX)
		*out = ms / 1000;
}

/* ---- sections ---- */

static void load_capture(struct cctx *x, const struct ynode *m)
{
	static const char *const keys[] = { "sockets",	     "ports",	 "ports_only", "all_http",
					    "content",	     "call_cap", "ringbuf",    "hold",
					    "return_probes", "prices",	 NULL };
	struct config *c = x->c;
	const struct ynode *n;

	if (!check_map(x, m, "'capture'", keys))
		return;
	get_bool(x, m, "sockets", &c->capture.sockets);
	get_bool(x, m, "ports_only", &c->capture.ports_only);
	get_bool(x, m, "all_http", &c->capture.all_http);
	get_bool(x, m, "content", &c->capture.content);
	get_bool(x, m, "hold", &c->capture.hold);
	get_size(x, m, "call_cap", 4096, 64u << 20, &c->capture.call_cap);
	get_size(x, m, "ringbuf", 65536, 1u << 30, &c->capture.ringbuf_bytes);
	if (c->capture.ringbuf_bytes & (c->capture.ringbuf_bytes - 1))
		diag(x, ymap_get(m, "ringbuf"), "'ringbuf' must be a power of two");
	get_str(x, m, "prices", &c->capture.prices);
	get_str(x, m, "return_probes", &c->capture.return_probes);
	if (strcmp(c->capture.return_probes, "auto") &&
	    strcmp(c->capture.return_probes, "uretprobe") &&
	    strcmp(c->capture.return_probes, "ret-insn"))
		diag(x, ymap_get(m, "return_probes"),
		     "'return_probes' must be auto, uretprobe or ret-insn, not '%s'",
		     c->capture.return_probes);
	n = ymap_get(m, "ports");
	if (n && !ynode_is_null(n)) {
		if (n->type != YN_SEQ) {
			diag(x, n, "'ports' must be a list of port numbers, such as [8000, 11434]");
			return;
		}
		if (n->n > CONFIG_MAX_PORTS) {
			diag(x, n, "'ports' lists %zu ports, at most %d", n->n, CONFIG_MAX_PORTS);
			return;
		}
		c->capture.n_ports = 0;
		for (size_t i = 0; i < n->n; i++) {
			const struct ynode *p = n->items[i];
			long long v;

			if (p->type != YN_SCALAR || ynode_int(p, &v) || v < 1 || v > 65535) {
				diag(x, p, "a port is a number from 1 to 65535");
				continue;
			}
			c->capture.ports[c->capture.n_ports++] = (uint16_t)v;
		}
	}
}

static void load_redaction(struct cctx *x, const struct ynode *m)
{
	static const char *const keys[] = { "enabled", "key_file", "private_ips", "entities",
					    NULL };
	struct config *c = x->c;
	const struct ynode *e;

	if (!check_map(x, m, "'redaction'", keys))
		return;
	get_bool(x, m, "enabled", &c->redaction.enabled);
	get_str(x, m, "key_file", &c->redaction.key_file);
	get_bool(x, m, "private_ips", &c->redaction.cfg.private_ips);
	e = ymap_get(m, "entities");
	if (!e || ynode_is_null(e))
		return;
	if (e->type != YN_MAP) {
		diag(x, e, "'entities' must map entity names to modes, such as EMAIL: mask");
		return;
	}
	for (size_t i = 0; i < e->n; i++) {
		const struct ynode *k = e->items[2 * i], *v = e->items[2 * i + 1];
		enum detect_entity ent;
		enum redact_mode mode;

		if (detect_entity_parse(k->str, &ent)) {
			const char *names[DETECT_ENTITY_COUNT + 1];

			for (int j = 0; j < DETECT_ENTITY_COUNT; j++)
				names[j] = detect_entity_name((enum detect_entity)j);
			names[DETECT_ENTITY_COUNT] = NULL;
			if (closest(k->str, names))
				diag(x, k, "unknown entity '%s' (did you mean '%s'?)", k->str,
				     closest(k->str, names));
			else
				diag(x, k, "unknown entity '%s'", k->str);
			continue;
		}
		if (v->type != YN_SCALAR) {
			diag(x, v, "the mode of %s must be hmac, mask, partial, drop or off",
			     k->str);
			continue;
		}
		if (strcasecmp(v->str, "off") == 0 ||
		    (v->style == YS_PLAIN && strcasecmp(v->str, "false") == 0)) {
			c->redaction.cfg.enabled &= ~DETECT_BIT(ent);
			continue;
		}
		if (redact_mode_parse(v->str, &mode)) {
			diag(x, v,
			     "unknown redaction mode '%s' for %s (hmac, mask, partial, drop, off)",
			     v->str, k->str);
			continue;
		}
		c->redaction.cfg.enabled |= DETECT_BIT(ent);
		c->redaction.cfg.mode[ent] = mode;
	}
}

static void load_rules(struct cctx *x, const struct ynode *m)
{
	static const char *const keys[] = { "paths", NULL };
	struct config *c = x->c;
	const struct ynode *p;

	if (!check_map(x, m, "'rules'", keys))
		return;
	p = ymap_get(m, "paths");
	if (!p || ynode_is_null(p))
		return;
	if (p->type != YN_SEQ) {
		diag(x, p, "'paths' must be a list of files or directories");
		return;
	}
	if (p->n > CONFIG_MAX_RULE_PATHS) {
		diag(x, p, "'paths' lists %zu entries, at most %d", p->n, CONFIG_MAX_RULE_PATHS);
		return;
	}
	c->rules.paths_set = true;
	for (size_t i = 0; i < p->n; i++) {
		const struct ynode *s = p->items[i];

		if (s->type != YN_SCALAR || s->len == 0 || s->len > PATH_MAX ||
		    memchr(s->str, '\0', s->len)) {
			diag(x, s, "a rules path must be a file or directory name");
			continue;
		}
		c->rules.paths[c->rules.n_paths] = strdup(s->str);
		if (!c->rules.paths[c->rules.n_paths]) {
			x->oom = 1;
			return;
		}
		c->rules.n_paths++;
	}
}

static void load_audit(struct cctx *x, const struct ynode *m)
{
	static const char *const keys[] = { "checkpoint_records",
					    "checkpoint_interval",
					    "heartbeat_interval",
					    "health_interval",
					    "origin",
					    NULL };
	struct config *c = x->c;

	if (!check_map(x, m, "'audit'", keys))
		return;
	get_uint(x, m, "checkpoint_records", 1, 1000000000, &c->audit.checkpoint_records);
	get_duration_s(x, m, "checkpoint_interval", 86400, &c->audit.checkpoint_interval_s);
	get_duration_s(x, m, "heartbeat_interval", 86400, &c->audit.heartbeat_interval_s);
	get_duration_s(x, m, "health_interval", 86400, &c->audit.health_interval_s);
	get_str(x, m, "origin", &c->audit.origin);
	if (c->audit.origin && (!c->audit.origin[0] || strchr(c->audit.origin, '\n')))
		diag(x, ymap_get(m, "origin"), "'origin' must be one non-empty line");
}

static void load_metrics(struct cctx *x, const struct ynode *m)
{
	static const char *const keys[] = { "listen", NULL };

	if (!check_map(x, m, "'metrics'", keys))
		return;
	get_str(x, m, "listen", &x->c->metrics.listen);
}

static void output_defaults(struct output_config *o)
{
	o->rotate_bytes = 100u << 20;
	o->rotate_interval_s = 86400;
	o->compress = true;
	o->retention_days = 180;
	o->retention_bytes = 0;
	o->fsync = OUTPUT_FSYNC_BATCH;
	o->mode = 0640;
	o->tls_verify = true;
	o->gzip = true;
	o->batch_records = 500;
	o->batch_bytes = 1u << 20;
	o->batch_interval_ms = 1000;
	o->timeout_ms = 10000;
	o->retry_max_ms = 60000;
	o->retry_initial_ms = 500;
	o->spool_max_bytes = 1ull << 30;
	o->spool_policy = SPOOL_DROP_OLDEST;
}

static bool valid_name(const char *s)
{
	if (!s[0] || strlen(s) >= CONFIG_NAME_MAX || s[0] == '.')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

static void load_output(struct cctx *x, const struct ynode *m, struct output_config *o)
{
	static const char *const common[] = { "name", "type", NULL };
	static const char *const file_keys[] = {
		"name",	    "type",	 "path",	   "rotate_size", "rotate_interval",
		"compress", "retention", "retention_size", "fsync",	  "mode",
		NULL,
	};
	static const char *const net_keys[] = {
		"name",	      "type",	       "url",	     "endpoint",       "headers",
		"token_file", "ca_file",       "cert_file",  "key_file",       "tls_verify",
		"gzip",	      "batch_records", "batch_size", "batch_interval", "timeout",
		"retry_max",  "retry_initial", "spool_size", "spool_policy",   NULL,
	};
	const struct ynode *t, *nm, *h;
	char *s = NULL;

	output_defaults(o);
	o->line = m ? m->line : 0;
	if (!m || m->type != YN_MAP) {
		diag(x, m, "an output must be a mapping with 'name' and 'type'");
		return;
	}
	t = ymap_get(m, "type");
	nm = ymap_get(m, "name");
	if (!t || t->type != YN_SCALAR) {
		check_map(x, m, "an output", common);
		diag(x, m, "an output needs a 'type': file, stdout, http or otlp");
		return;
	}
	if (strcmp(t->str, "file") == 0) {
		o->type = OUTPUT_FILE;
	} else if (strcmp(t->str, "stdout") == 0) {
		o->type = OUTPUT_STDOUT;
	} else if (strcmp(t->str, "http") == 0) {
		o->type = OUTPUT_HTTP;
	} else if (strcmp(t->str, "otlp") == 0) {
		o->type = OUTPUT_OTLP;
	} else {
		diag(x, t, "unknown output type '%s' (file, stdout, http, otlp)", t->str);
		return;
	}
	if (!nm || nm->type != YN_SCALAR || !valid_name(nm->str)) {
		diag(x, nm ? nm : m,
		     "an output needs a 'name' (letters, digits, '-', '_', '.'; it names its "
		     "spool directory)");
	} else {
		snprintf(o->name, sizeof(o->name), "%s", nm->str);
	}
	switch (o->type) {
	case OUTPUT_STDOUT:
		check_map(x, m, "a stdout output", common);
		return;
	case OUTPUT_FILE:
		check_map(x, m, "a file output", file_keys);
		get_str(x, m, "path", &o->path);
		if (!o->path)
			diag(x, m, "a file output needs a 'path'");
		get_size(x, m, "rotate_size", 0, 1ull << 40, &o->rotate_bytes);
		get_duration_s(x, m, "rotate_interval", 366 * 86400ull, &o->rotate_interval_s);
		get_bool(x, m, "compress", &o->compress);
		{
			uint64_t s_ret = o->retention_days * 86400;

			get_duration_s(x, m, "retention", 100 * 366 * 86400ull, &s_ret);
			o->retention_days = (s_ret + 86399) / 86400;
		}
		get_size(x, m, "retention_size", 0, 1ull << 50, &o->retention_bytes);
		get_str(x, m, "fsync", &s);
		if (s) {
			if (strcmp(s, "batch") == 0)
				o->fsync = OUTPUT_FSYNC_BATCH;
			else if (strcmp(s, "always") == 0)
				o->fsync = OUTPUT_FSYNC_ALWAYS;
			else if (strcmp(s, "never") == 0)
				o->fsync = OUTPUT_FSYNC_NEVER;
			else
				diag(x, ymap_get(m, "fsync"),
				     "'fsync' must be batch, always or never, not '%s'", s);
			free(s);
			s = NULL;
		}
		{
			const struct ynode *md = ymap_get(m, "mode");
			char *end;
			unsigned long v;

			if (md && md->type == YN_SCALAR && !ynode_is_null(md)) {
				errno = 0;
				v = strtoul(md->str, &end, 8);
				if (errno || *end || !md->str[0] || v > 0777 || (v & 0007))
					diag(x, md,
					     "'mode' must be octal permissions without access for "
					     "others, such as 0640 or 0600");
				else
					o->mode = (uint32_t)v;
			}
		}
		return;
	case OUTPUT_HTTP:
	case OUTPUT_OTLP:
		check_map(x, m, o->type == OUTPUT_HTTP ? "an http output" : "an otlp output",
			  net_keys);
		get_str(x, m, o->type == OUTPUT_HTTP ? "url" : "endpoint", &o->url);
		if (o->type == OUTPUT_HTTP && ymap_get(m, "endpoint"))
			diag(x, ymap_get(m, "endpoint"),
			     "an http output takes 'url', not 'endpoint'");
		if (o->type == OUTPUT_OTLP && ymap_get(m, "url"))
			diag(x, ymap_get(m, "url"), "an otlp output takes 'endpoint', not 'url'");
		if (!o->url)
			diag(x, m, "an %s output needs %s", t->str,
			     o->type == OUTPUT_HTTP ? "a 'url'" : "an 'endpoint'");
		else if (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8))
			diag(x, ymap_get(m, o->type == OUTPUT_HTTP ? "url" : "endpoint"),
			     "'%s' must start with http:// or https://",
			     o->type == OUTPUT_HTTP ? "url" : "endpoint");
		get_str(x, m, "token_file", &o->token_file);
		get_str(x, m, "ca_file", &o->ca_file);
		get_str(x, m, "cert_file", &o->cert_file);
		get_str(x, m, "key_file", &o->key_file);
		if (!o->cert_file != !o->key_file)
			diag(x, m, "mutual TLS needs both 'cert_file' and 'key_file'");
		get_bool(x, m, "tls_verify", &o->tls_verify);
		get_bool(x, m, "gzip", &o->gzip);
		get_uint(x, m, "batch_records", 1, 100000, &o->batch_records);
		get_size(x, m, "batch_size", 1024, 64u << 20, &o->batch_bytes);
		get_duration_ms(x, m, "batch_interval", 10, 3600000, &o->batch_interval_ms);
		get_duration_ms(x, m, "timeout", 100, 600000, &o->timeout_ms);
		get_duration_ms(x, m, "retry_max", 100, 86400000, &o->retry_max_ms);
		get_duration_ms(x, m, "retry_initial", 10, 600000, &o->retry_initial_ms);
		get_size(x, m, "spool_size", 16u << 10, 1ull << 44, &o->spool_max_bytes);
		get_str(x, m, "spool_policy", &s);
		if (s) {
			if (strcmp(s, "drop_oldest") == 0)
				o->spool_policy = SPOOL_DROP_OLDEST;
			else if (strcmp(s, "drop_newest") == 0)
				o->spool_policy = SPOOL_DROP_NEWEST;
			else
				diag(x, ymap_get(m, "spool_policy"),
				     "'spool_policy' must be drop_oldest or drop_newest, not '%s'",
				     s);
			free(s);
		}
		h = ymap_get(m, "headers");
		if (h && !ynode_is_null(h)) {
			if (h->type != YN_MAP) {
				diag(x, h, "'headers' must map header names to values");
				return;
			}
			for (size_t i = 0; i < h->n; i++) {
				const struct ynode *k = h->items[2 * i], *v = h->items[2 * i + 1];
				bool ok = k->len > 0 && k->len < 128;

				for (size_t j = 0; ok && j < k->len; j++)
					ok = isalnum((unsigned char)k->str[j]) ||
					     strchr("-_", k->str[j]);
				if (!ok) {
					diag(x, k, "invalid header name '%.60s'", k->str);
					continue;
				}
				if (v->type != YN_SCALAR || strpbrk(v->str, "\r\n") ||
				    memchr(v->str, '\0', v->len) || v->len > 4096) {
					diag(x, v, "the value of header '%s' must be one line",
					     k->str);
					continue;
				}
				if (o->n_headers == CONFIG_MAX_HEADERS) {
					diag(x, k, "at most %d headers", CONFIG_MAX_HEADERS);
					break;
				}
				o->headers[o->n_headers].name = strdup(k->str);
				o->headers[o->n_headers].value = strdup(v->str);
				if (!o->headers[o->n_headers].name ||
				    !o->headers[o->n_headers].value) {
					free(o->headers[o->n_headers].name);
					free(o->headers[o->n_headers].value);
					x->oom = 1;
					return;
				}
				o->n_headers++;
			}
		}
		return;
	}
}

static void load_outputs(struct cctx *x, const struct ynode *l)
{
	struct config *c = x->c;

	if (ynode_is_null(l)) {
		c->outputs_set = true; /* "outputs:" with nothing: explicitly none */
		return;
	}
	if (l->type != YN_SEQ) {
		diag(x, l, "'outputs' must be a list of outputs");
		return;
	}
	if (l->n > CONFIG_MAX_OUTPUTS) {
		diag(x, l, "%zu outputs, at most %d", l->n, CONFIG_MAX_OUTPUTS);
		return;
	}
	c->outputs_set = true;
	for (size_t i = 0; i < l->n; i++) {
		struct output_config *o = &c->outputs[c->n_outputs++];

		load_output(x, l->items[i], o);
		for (size_t j = 0; o->name[0] && j + 1 < c->n_outputs; j++)
			if (strcmp(c->outputs[j].name, o->name) == 0)
				diag(x, l->items[i], "output name '%s' is used twice", o->name);
	}
}

/* ---- defaults ---- */

/* A binary at BUILD/llmtap of a source checkout: state and rules stay there. */
const char *config_checkout_dir(void)
{
	static char root[PATH_MAX];
	char exe[PATH_MAX], cand[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stat st;

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(exe, '/');

		if (!slash)
			return NULL;
		*slash = '\0';
	}
	snprintf(cand, sizeof(cand), "%s/Makefile", exe);
	if (stat(cand, &st) || !S_ISREG(st.st_mode))
		return NULL;
	snprintf(cand, sizeof(cand), "%s/agent/main.c", exe);
	if (stat(cand, &st) || !S_ISREG(st.st_mode))
		return NULL;
	snprintf(root, sizeof(root), "%s", exe);
	return root;
}

bool config_in_checkout(void)
{
	return config_checkout_dir() != NULL;
}

int config_init_default(struct config *c)
{
	static const uint16_t ports[] = { 8000, 30000, 11434, 8080, 3000 };

	memset(c, 0, sizeof(*c));
	c->state_dir =
		strdup(config_in_checkout() ? CONFIG_STATE_DIR_CHECKOUT : CONFIG_STATE_DIR_DEFAULT);
	c->capture.sockets = true;
	memcpy(c->capture.ports, ports, sizeof(ports));
	c->capture.n_ports = sizeof(ports) / sizeof(ports[0]);
	c->capture.content = true;
	c->capture.hold = true;
	c->capture.call_cap = 1u << 20;
	c->capture.ringbuf_bytes = 16u << 20;
	c->capture.return_probes = strdup("auto");
	c->redaction.enabled = true;
	redact_config_default(&c->redaction.cfg);
	c->audit.checkpoint_records = 1000;
	c->audit.checkpoint_interval_s = 60;
	c->audit.heartbeat_interval_s = 300;
	c->audit.health_interval_s = 300;
	if (!c->state_dir || !c->capture.return_probes) {
		config_free(c);
		return -ENOMEM;
	}
	return 0;
}

const char *output_type_name(enum output_type t)
{
	switch (t) {
	case OUTPUT_FILE:
		return "file";
	case OUTPUT_STDOUT:
		return "stdout";
	case OUTPUT_HTTP:
		return "http";
	case OUTPUT_OTLP:
		return "otlp";
	}
	return "?";
}

int config_add_output_path(struct config *c, const char *path)
{
	struct output_config *o;
	const char *base;

	if (c->n_outputs == CONFIG_MAX_OUTPUTS)
		return -E2BIG;
	o = &c->outputs[c->n_outputs];
	memset(o, 0, sizeof(*o));
	output_defaults(o);
	if (strcmp(path, "-") == 0) {
		o->type = OUTPUT_STDOUT;
		snprintf(o->name, sizeof(o->name), "stdout");
	} else {
		o->type = OUTPUT_FILE;
		o->path = strdup(path);
		if (!o->path)
			return -ENOMEM;
		/* a file named on the command line: written, never rotated away */
		o->rotate_bytes = 0;
		o->rotate_interval_s = 0;
		o->retention_days = 0;
		o->mode = 0600;
		base = strrchr(path, '/');
		base = base ? base + 1 : path;
		snprintf(o->name, sizeof(o->name), "file-%.*s", CONFIG_NAME_MAX - 8, base);
		for (char *p = o->name; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
				*p = '_';
	}
	/* names stay unique: they name spool directories */
	for (size_t j = 0; j < c->n_outputs; j++) {
		if (strcmp(c->outputs[j].name, o->name) == 0) {
			char suffix[24];
			size_t l = strlen(o->name), sl;

			sl = (size_t)snprintf(suffix, sizeof(suffix), "-%u",
					      (unsigned)(c->n_outputs + j));
			if (l + sl >= CONFIG_NAME_MAX)
				l = CONFIG_NAME_MAX - 1 - sl;
			memcpy(o->name + l, suffix, sl + 1);
			j = (size_t)-1;
		}
	}
	c->n_outputs++;
	return 0;
}

int config_default_outputs(struct config *c)
{
	int err;

	if (!config_in_checkout()) {
		err = config_add_output_path(c, "/var/log/llmtap/audit.jsonl");
		if (!err) {
			struct output_config *o = &c->outputs[c->n_outputs - 1];

			/* the packaged layout: rotated, kept 180 days */
			snprintf(o->name, sizeof(o->name), "file");
			o->rotate_bytes = 100u << 20;
			o->rotate_interval_s = 86400;
			o->retention_days = 180;
			o->mode = 0640;
		}
		return err;
	}
	err = config_add_output_path(c, "llmtap-audit.jsonl");
	return err ? err : config_add_output_path(c, "-");
}

/* ---- loading ---- */

int config_load_buf(const char *name, const char *buf, size_t len, struct config *c,
		    struct config_diags *d)
{
	static const char *const top[] = { "state_dir", "capture", "redaction", "rules",
					   "audit",	"metrics", "outputs",	NULL };
	struct cctx x = { .c = c, .d = d, .file = name };
	struct ynode *root = NULL;
	struct yerror ye = { 0 };
	struct arena a;
	const struct ynode *n;
	int rc;

	SHA256((const unsigned char *)buf, len, c->sha256);
	arena_init(&a, 8u << 20);
	rc = ytree_parse(&a, buf, len, &root, &ye);
	if (rc == -ENOMEM) {
		arena_free(&a);
		return -ENOMEM;
	}
	if (rc) {
		struct ynode at = { .line = ye.line, .col = ye.col };

		diag(&x, &at, "%s", ye.msg);
		arena_free(&a);
		return -EINVAL;
	}
	if (!root || ynode_is_null(root)) {
		arena_free(&a);
		return 0; /* an empty file: the defaults */
	}
	if (check_map(&x, root, "the configuration", top)) {
		n = ymap_get(root, "state_dir");
		get_str(&x, root, "state_dir", &c->state_dir);
		if (n && c->state_dir && !c->state_dir[0])
			diag(&x, n, "'state_dir' must not be empty");
		if ((n = ymap_get(root, "capture")) && !ynode_is_null(n))
			load_capture(&x, n);
		if ((n = ymap_get(root, "redaction")) && !ynode_is_null(n))
			load_redaction(&x, n);
		if ((n = ymap_get(root, "rules")) && !ynode_is_null(n))
			load_rules(&x, n);
		if ((n = ymap_get(root, "audit")) && !ynode_is_null(n))
			load_audit(&x, n);
		if ((n = ymap_get(root, "metrics")) && !ynode_is_null(n))
			load_metrics(&x, n);
		if ((n = ymap_get(root, "outputs")))
			load_outputs(&x, n);
	}
	arena_free(&a);
	if (x.oom)
		return -ENOMEM;
	return x.errors ? -EINVAL : 0;
}

int config_load(const char *path, struct config *c, struct config_diags *d)
{
	struct cctx x = { .c = c, .d = d, .file = path };
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	long n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		diag(&x, NULL, "not a regular file");
		return -EINVAL;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		close(fd);
		diag(&x, NULL, "too large (%lld bytes, at most %u)", (long long)st.st_size,
		     CONFIG_FILE_MAX);
		return -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = fileio_read_full(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	len = (size_t)n;
	free(c->path);
	c->path = strdup(path);
	rc = c->path ? config_load_buf(path, buf, len, c, d) : -ENOMEM;
	free(buf);
	return rc;
}

void config_free(struct config *c)
{
	free(c->path);
	free(c->state_dir);
	free(c->capture.return_probes);
	free(c->capture.prices);
	free(c->redaction.key_file);
	for (size_t i = 0; i < c->rules.n_paths; i++)
		free(c->rules.paths[i]);
	free(c->audit.origin);
	free(c->metrics.listen);
	for (size_t i = 0; i < c->n_outputs; i++) {
		struct output_config *o = &c->outputs[i];

		free(o->path);
		free(o->url);
		free(o->token_file);
		free(o->ca_file);
		free(o->cert_file);
		free(o->key_file);
		for (size_t j = 0; j < o->n_headers; j++) {
			free(o->headers[j].name);
			free(o->headers[j].value);
		}
	}
	memset(c, 0, sizeof(*c));
}

void config_diags_free(struct config_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}
