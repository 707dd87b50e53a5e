// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "verify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "audit/chain.h"
#include "audit/merkle.h"
#include "audit/note.h"

#define ISSUES_MAX 100
#define GAPS_MAX 1000
#define TIME_ANOMALIES_MAX 100
#define FILES_MAX 10000
#define DEFAULT_TOLERANCE_NS (300ull * 1000000000ull)
#define NO_ISSUE ((size_t)-1)

/* where the chain stands after a line */
struct vstate {
	uint64_t seq;
	uint8_t hash[MERKLE_HASH_LEN];
	bool anchored; /* range covers 1..seq and is trusted */
	struct merkle_range range;
};

struct audit_verifier {
	struct audit_verify_opts o;
	struct audit_key *log_key; /* from agent_start when no trusted key */
	char key_vkey[AUDIT_VKEY_LEN];

	bool have_line; /* a line of the current stream was accepted */
	char stream[AUDIT_STREAM_HEX + 1];
	struct vstate cur, before; /* after the last line, and before it */
	bool last_extended; /* the last line extended the chain normally */
	size_t last_issue; /* issue the last line raised (NO_ISSUE) */
	bool last_invalid;
	uint64_t miss_from, miss_to; /* seqs the last jump skipped */
	size_t miss_issue;

	uint64_t lines, records, first_seq, streams, restarts;
	uint64_t stream_first; /* first seq seen of the current stream */
	uint64_t cp_verified, last_cp_seq, unverified;
	uint64_t max_time_ns, time_anomalies;
	bool tampered, incomplete, finished;
	uint64_t break_seq;

	json_t *issues, *gaps, *times, *files, *stream_ids;
	json_t *cur_file;
	uint64_t prev_file_last;
	bool out_of_order;
	const char *result;
	int verdict;
};

int audit_parse_time(const char *s, uint64_t *wall_ns)
{
	struct tm tm = { 0 };
	const char *p;
	long frac_ns = 0, off = 0;
	time_t t;

	p = strptime(s, "%Y-%m-%d", &tm);
	if (!p)
		return -EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p = strptime(p + 1, "%H:%M:%S", &tm);
		if (!p)
			return -EINVAL;
		if (*p == '.') {
			long scale = 100000000;

			p++;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			for (; *p >= '0' && *p <= '9'; p++) {
				frac_ns += (*p - '0') * scale;
				scale /= 10;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if ((*p == '+' || *p == '-') && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
			   p[2] <= '9' && p[3] == ':' && p[4] >= '0' && p[4] <= '9' &&
			   p[5] >= '0' && p[5] <= '9') {
			off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 +
			      ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
			if (*p == '-')
				off = -off;
			p += 6;
		} else {
			return -EINVAL;
		}
	}
	if (*p)
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1 || t - off < 0)
		return -EINVAL;
	*wall_ns = (uint64_t)(t - off) * 1000000000ull + (uint64_t)frac_ns;
	return 0;
}

int audit_verifier_new(const struct audit_verify_opts *o, struct audit_verifier **out)
{
	struct audit_verifier *v = calloc(1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	v->o = *o;
	if (!v->o.time_tolerance_ns)
		v->o.time_tolerance_ns = DEFAULT_TOLERANCE_NS;
	v->issues = json_array();
	v->gaps = json_array();
	v->times = json_array();
	v->files = json_array();
	v->stream_ids = json_array();
	v->last_issue = NO_ISSUE;
	v->miss_issue = NO_ISSUE;
	if (!v->issues || !v->gaps || !v->times || !v->files || !v->stream_ids) {
		audit_verifier_free(v);
		return -ENOMEM;
	}
	if (o->key)
		audit_key_vkey(o->key, v->key_vkey, sizeof(v->key_vkey));
	*out = v;
	return 0;
}

void audit_verifier_free(struct audit_verifier *v)
{
	if (!v)
		return;
	audit_key_free(v->log_key);
	json_decref(v->issues);
	json_decref(v->gaps);
	json_decref(v->times);
	json_decref(v->files);
	json_decref(v->stream_ids);
	free(v);
}

enum severity { SEV_INFO, SEV_INCOMPLETE, SEV_TAMPER };

static const char *const sev_names[] = { "info", "incomplete", "tamper" };

/* Adds an issue.  Returns its index (NO_ISSUE if capped). */
static size_t issue(struct audit_verifier *v, int sev, uint64_t seq, const char *kind,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static size_t issue(struct audit_verifier *v, int sev, uint64_t seq, const char *kind,
		    const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *i;
	bool tamper = sev == SEV_TAMPER;

	if (tamper) {
		if (!v->tampered || seq < v->break_seq)
			v->break_seq = seq;
		v->tampered = true;
	} else if (sev == SEV_INCOMPLETE) {
		v->incomplete = true;
	}
	if (json_array_size(v->issues) >= ISSUES_MAX)
		return NO_ISSUE;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	i = json_pack("{s:s s:I s:s s:s s:I}", "kind", kind, "seq", (json_int_t)seq, "severity",
		      sev_names[sev], "message", msg, "line", (json_int_t)v->lines);
	if (!i || json_array_append_new(v->issues, i))
		return NO_ISSUE;
	return json_array_size(v->issues) - 1;
}

static void replace_issue(struct audit_verifier *v, size_t idx, uint64_t seq, const char *kind,
			  const char *msg, int sev)
{
	json_t *i = json_array_get(v->issues, idx);

	if (!i)
		return;
	json_object_set_new(i, "severity", json_string(sev_names[sev]));
	json_object_set_new(i, "kind", json_string(kind));
	json_object_set_new(i, "seq", json_integer((json_int_t)seq));
	json_object_set_new(i, "message", json_string(msg));
}

/* Recomputes break_seq from the issue list (after a replacement). */
static void recompute_break(struct audit_verifier *v)
{
	size_t i;
	json_t *it;

	v->break_seq = 0;
	v->tampered = false;
	json_array_foreach(v->issues, i, it) {
		uint64_t s = (uint64_t)json_integer_value(json_object_get(it, "seq"));

		if (strcmp(json_string_value(json_object_get(it, "severity")), "tamper") != 0)
			continue;
		if (!v->tampered || s < v->break_seq)
			v->break_seq = s;
		v->tampered = true;
	}
}

static const char *str_at(const json_t *o, const char *k)
{
	const json_t *j = json_object_get(o, k);

	return json_is_string(j) ? json_string_value(j) : NULL;
}

static bool unhex_str(const json_t *j, uint8_t *out, size_t n)
{
	return json_is_string(j) &&
	       merkle_unhex(json_string_value(j), json_string_length(j), out, n) == 0;
}

/* the seq after which nothing is signed (last checkpoint, or where the stream started in the input) */
static uint64_t sealed_to(const struct audit_verifier *v)
{
	return v->last_cp_seq > v->stream_first - 1 ? v->last_cp_seq : v->stream_first - 1;
}

static const struct audit_key *vkey(const struct audit_verifier *v)
{
	return v->o.key ? v->o.key : v->log_key;
}

/*
 * A checkpoint record at seq: its note must verify with the key and agree
 * with its attributes and, when anchored, with the tree of the lines
 * before it; when not anchored, its compact range becomes the anchor.
 */
static void check_checkpoint(struct audit_verifier *v, const json_t *attrs, uint64_t seq,
			     struct vstate *st)
{
	const json_t *note = json_object_get(attrs, "llmtap.checkpoint.note");
	const json_t *size = json_object_get(attrs, "llmtap.checkpoint.size");
	struct merkle_range theirs;
	struct note_checkpoint cp;
	uint8_t root[MERKLE_HASH_LEN], attr_root[MERKLE_HASH_LEN];
	int err;

	if (v->o.key && v->o.key_name_from_log) {
		const char *origin = str_at(attrs, "llmtap.checkpoint.origin");

		/* a PEM key has no name: label it as the log does (the key is still ours) */
		if (origin && strcmp(origin, audit_key_name(v->o.key)) != 0 &&
		    audit_key_rename(v->o.key, origin) == 0)
			audit_key_vkey(v->o.key, v->key_vkey, sizeof(v->key_vkey));
	}
	if (!vkey(v)) {
		issue(v, SEV_INCOMPLETE, seq, "no_key",
		      "checkpoint at seq %llu not checked: no key (pass --key)",
		      (unsigned long long)seq);
		return;
	}
	if (!json_is_string(note) || !json_is_integer(size) ||
	    !unhex_str(json_object_get(attrs, "llmtap.checkpoint.root"), attr_root, 32) ||
	    merkle_range_from_json(json_object_get(attrs, "llmtap.checkpoint.range"), &theirs)) {
		issue(v, SEV_TAMPER, seq, "checkpoint_malformed",
		      "checkpoint at seq %llu lacks a valid note, size, root or range",
		      (unsigned long long)seq);
		st->anchored = false;
		return;
	}
	err = note_verify_checkpoint(json_string_value(note), json_string_length(note), vkey(v),
				     &cp);
	if (err) {
		issue(v, SEV_TAMPER, seq, "checkpoint_signature", "checkpoint at seq %llu: %s",
		      (unsigned long long)seq,
		      err == -ENOKEY	   ? "not signed by the trusted key" :
		      err == -EKEYREJECTED ? "signature does not verify (forged or altered)" :
					     "malformed signed note");
		st->anchored = false;
		return;
	}
	if (cp.size != seq - 1 || (uint64_t)json_integer_value(size) != cp.size ||
	    memcmp(attr_root, cp.root, 32) != 0 || theirs.size != cp.size ||
	    merkle_range_root(&theirs, root) || memcmp(root, cp.root, 32) != 0) {
		issue(v, SEV_TAMPER, seq, "checkpoint_inconsistent",
		      "checkpoint at seq %llu: signed size/root (%llu) disagree with its seq, "
		      "attributes or compact range",
		      (unsigned long long)seq, (unsigned long long)cp.size);
		st->anchored = false;
		return;
	}
	if (st->anchored) {
		if (merkle_range_root(&st->range, root) == 0 && memcmp(root, cp.root, 32) != 0) {
			/* the first differing subtree bounds where the lines changed */
			uint64_t start = 0, width = 0;
			unsigned int k = 0;

			for (int bit = 63; bit >= 0 && st->range.size == cp.size; bit--) {
				if (!(cp.size & (1ull << bit)))
					continue;
				if (memcmp(st->range.hashes[k], theirs.hashes[k], 32) != 0) {
					width = 1ull << bit;
					break;
				}
				start += 1ull << bit;
				k++;
			}
			issue(v, SEV_TAMPER, width ? start + 1 : seq, "root_mismatch",
			      "checkpoint at seq %llu signs another tree than the lines before it: "
			      "records in seq %llu..%llu were altered, removed or re-chained",
			      (unsigned long long)seq, (unsigned long long)(width ? start + 1 : 1),
			      (unsigned long long)(width ? start + width : seq - 1));
			st->anchored = false;
			return;
		}
	} else {
		/* resume from the signed compact range */
		st->range = theirs;
		st->anchored = true;
	}
	v->cp_verified++;
	v->last_cp_seq = seq;
}

static void note_time(struct audit_verifier *v, const json_t *rec, uint64_t seq)
{
	const char *t = str_at(rec, "time");
	uint64_t ns;

	if (!t || audit_parse_time(t, &ns))
		return;
	if (v->max_time_ns && ns + v->o.time_tolerance_ns < v->max_time_ns) {
		v->time_anomalies++;
		if (json_array_size(v->times) < TIME_ANOMALIES_MAX)
			json_array_append_new(v->times,
					      json_pack("{s:I s:s s:f}", "seq", (json_int_t)seq,
							"time", t, "behind_s",
							(double)(v->max_time_ns - ns) / 1e9));
	}
	if (ns > v->max_time_ns)
		v->max_time_ns = ns;
}

static void note_start(struct audit_verifier *v, const json_t *attrs)
{
	const char *k = str_at(attrs, "llmtap.key.vkey");
	struct audit_key *nk = NULL;

	v->restarts++;
	if (v->o.key && v->o.key_name_from_log) {
		const char *origin = str_at(attrs, "llmtap.checkpoint.origin");

		/* a PEM key has no name: the log's label; the key itself is trusted */
		if (origin && audit_key_rename(v->o.key, origin) == 0)
			audit_key_vkey(v->o.key, v->key_vkey, sizeof(v->key_vkey));
		return;
	}
	if (v->o.key || !k)
		return;
	if (audit_key_from_vkey(k, &nk) == 0) {
		audit_key_free(v->log_key);
		v->log_key = nk;
		snprintf(v->key_vkey, sizeof(v->key_vkey), "%s", k);
	}
}

/*
 * A gap record declaring lost records (an output's spool dropped seq
 * first_seq..last_seq): jumps inside that range were the agent's own loss,
 * said in the chain, not a deletion.  The copy is still incomplete.
 */
static void declared_loss(struct audit_verifier *v, const json_t *detail)
{
	const json_t *f = json_object_get(detail, "first_seq"),
		     *l = json_object_get(detail, "last_seq");
	size_t i;
	json_t *it;

	if (!json_is_integer(f) || !json_is_integer(l))
		return;
	json_array_foreach(v->issues, i, it) {
		const char *k = str_at(it, "kind");
		const json_t *from = json_object_get(it, "from_seq"),
			     *to = json_object_get(it, "to_seq");

		if (!k || strcmp(k, "missing") != 0 || !from || !to ||
		    json_integer_value(from) < json_integer_value(f) ||
		    json_integer_value(to) > json_integer_value(l))
			continue;
		json_object_set_new(it, "kind", json_string("missing_declared"));
		json_object_set_new(it, "severity", json_string(sev_names[SEV_INCOMPLETE]));
		v->incomplete = true;
	}
	recompute_break(v);
}

/* Applies an accepted line to st: the hash, the leaf, the checkpoint checks. */
static void apply(struct audit_verifier *v, struct vstate *st, const char *line, size_t len,
		  uint64_t seq, const json_t *rec)
{
	const char *ev = str_at(rec, "event.name");
	const json_t *attrs = json_object_get(rec, "attributes");
	uint8_t leaf[MERKLE_HASH_LEN];

	if (ev && strcmp(ev, AUDIT_EV_START) == 0)
		note_start(v, attrs);
	if (ev && strcmp(ev, AUDIT_EV_CHECKPOINT) == 0)
		check_checkpoint(v, attrs, seq, st);
	if (ev && strcmp(ev, AUDIT_EV_GAP) == 0 && json_array_size(v->gaps) < GAPS_MAX) {
		json_t *detail = json_object_get(attrs, "llmtap.gap.detail");
		const char *reason = str_at(attrs, "llmtap.gap.reason");

		json_array_append_new(v->gaps,
				      json_pack("{s:I s:s s:O?}", "seq", (json_int_t)seq, "reason",
						reason ? reason : "unknown", "detail", detail));
		declared_loss(v, detail);
	}
	if (st->anchored && (st->range.size != seq - 1 || merkle_leaf_hash(line, len, leaf) ||
			     merkle_range_append(&st->range, leaf)))
		st->anchored = false;
	merkle_sha256(line, len, st->hash);
	st->seq = seq;
	if (!st->anchored)
		v->unverified++;
	note_time(v, rec, seq);
}

static void file_seq(struct audit_verifier *v, uint64_t seq)
{
	json_t *f = v->cur_file;

	if (!f)
		return;
	if (!json_object_get(f, "first_seq")) {
		json_object_set_new(f, "first_seq", json_integer((json_int_t)seq));
		if (v->prev_file_last && seq <= v->prev_file_last)
			v->out_of_order = true;
	}
	json_object_set_new(f, "last_seq", json_integer((json_int_t)seq));
}

static void new_stream(struct audit_verifier *v, const char *stream)
{
	snprintf(v->stream, sizeof(v->stream), "%s", stream);
	json_array_append_new(v->stream_ids, json_string(stream));
	v->streams++;
}

void audit_verifier_line(struct audit_verifier *v, const char *line, size_t len, bool torn)
{
	static const uint8_t zero[MERKLE_HASH_LEN];
	uint64_t expect = v->cur.seq + 1, seq;
	uint8_t prev[MERKLE_HASH_LEN];
	const char *stream;
	json_t *rec, *jseq;
	size_t raised = NO_ISSUE;
	bool invalid = false;

	v->lines++;
	if (v->cur_file)
		json_object_set_new(
			v->cur_file, "lines",
			json_integer(json_integer_value(json_object_get(v->cur_file, "lines")) +
				     1));
	rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	jseq = json_object_get(rec, "seq");
	stream = str_at(rec, "stream");
	if (!rec || !json_is_object(rec) || !json_is_integer(jseq) ||
	    json_integer_value(jseq) < 1 || !stream || strlen(stream) != AUDIT_STREAM_HEX ||
	    !unhex_str(json_object_get(rec, "prev"), prev, sizeof(prev))) {
		if (torn && !rec)
			issue(v, SEV_INCOMPLETE, expect, "torn_line",
			      "the last line (after seq %llu) is cut short: a write interrupted",
			      (unsigned long long)v->cur.seq);
		else
			raised = issue(
				v, SEV_TAMPER, expect, "invalid_line",
				"line %llu (where seq %llu is expected) is not a chained record",
				(unsigned long long)v->lines, (unsigned long long)expect);
		invalid = true;
		/* a torn last line is no record: it does not take a place in the chain */
		if (v->have_line && !(torn && !rec)) {
			/* take its place in the chain so the next line is judged once */
			v->before = v->cur;
			v->cur.seq = expect;
			merkle_sha256(line, len, v->cur.hash);
			v->cur.anchored = false;
		}
		goto done;
	}
	v->records++;
	seq = (uint64_t)json_integer_value(jseq);
	file_seq(v, seq);

	if (!v->have_line || strcmp(stream, v->stream) != 0) {
		bool fresh = seq == 1 && memcmp(prev, zero, sizeof(zero)) == 0;

		if (v->have_line && !fresh) {
			raised = issue(
				v, SEV_TAMPER, seq, "stream_changed",
				"seq %llu belongs to stream %s, not %s, and does not start it",
				(unsigned long long)seq, stream, v->stream);
		} else if (!fresh) {
			/* the input starts mid-stream: anchored only by a checkpoint */
			const char *ev = str_at(rec, "event.name");

			if (!ev || strcmp(ev, AUDIT_EV_CHECKPOINT) != 0)
				issue(v, SEV_INCOMPLETE, seq, "starts_mid_stream",
				      "the input starts at seq %llu, not at a checkpoint: records "
				      "before the first checkpoint are not covered by a signature",
				      (unsigned long long)seq);
		} else if (seq == 1 && memcmp(prev, zero, sizeof(zero)) != 0) {
			raised =
				issue(v, SEV_TAMPER, 1, "bad_genesis", "seq 1 has a non-zero prev");
		}
		if (!v->have_line)
			v->first_seq = seq;
		if (v->have_line && fresh && v->cur.seq > sealed_to(v))
			issue(v, SEV_INCOMPLETE, sealed_to(v) + 1, "unsealed_tail",
			      "stream %s ends with %llu record(s) no checkpoint covers", v->stream,
			      (unsigned long long)(v->cur.seq - sealed_to(v)));
		if (v->have_line && fresh)
			issue(v, SEV_INFO, seq, "new_stream",
			      "a new stream %s starts (the agent's state was reset)", stream);
		v->stream_first = seq;
		v->last_cp_seq = 0;
		new_stream(v, stream);
		memset(&v->cur, 0, sizeof(v->cur));
		v->cur.anchored = fresh;
		v->cur.seq = seq - 1;
		memcpy(v->cur.hash, prev, sizeof(prev)); /* unverifiable when mid-stream */
		v->before = v->cur;
		apply(v, &v->cur, line, len, seq, rec);
		v->have_line = true;
		v->last_extended = false;
		goto done;
	}

	if (seq == expect && memcmp(prev, v->cur.hash, sizeof(prev)) == 0) {
		v->before = v->cur;
		apply(v, &v->cur, line, len, seq, rec);
		v->last_extended = true;
		goto done;
	}
	/* a line the last jump skipped, arriving late: the lines were reordered */
	if (v->miss_issue != NO_ISSUE && seq >= v->miss_from && seq <= v->miss_to) {
		char msg[200];

		snprintf(msg, sizeof(msg), "seq %llu is out of order (found after seq %llu)",
			 (unsigned long long)v->miss_from, (unsigned long long)v->miss_to + 1);
		replace_issue(v, v->miss_issue, v->miss_from, "reordered", msg, SEV_TAMPER);
		recompute_break(v);
		goto done;
	}
	/* the line before this one was an intruder: this one chains to the one before it */
	if (v->last_extended || v->last_issue != NO_ISSUE || v->last_invalid) {
		if (seq == v->before.seq + 1 && memcmp(prev, v->before.hash, sizeof(prev)) == 0) {
			char msg[200];

			const char *ev = str_at(rec, "event.name");
			/* a write torn by a crash, then the next run: not an insertion */
			bool cut = v->last_invalid && ev && strcmp(ev, AUDIT_EV_START) == 0;
			int sev = cut ? SEV_INFO : SEV_TAMPER;
			const char *kind = cut ? "torn_line_before_restart" : "inserted";

			if (cut)
				snprintf(
					msg, sizeof(msg),
					"an unreadable line before the restart at seq %llu: a record "
					"cut short by a crash (the unclean_shutdown gap covers it)",
					(unsigned long long)seq);
			else
				snprintf(msg, sizeof(msg),
					 "a line was inserted before seq %llu (it claims seq %llu)",
					 (unsigned long long)seq, (unsigned long long)v->cur.seq);
			if (v->last_issue != NO_ISSUE) {
				replace_issue(v, v->last_issue, seq, kind, msg, sev);
				recompute_break(v);
			} else {
				raised = issue(v, sev, seq, kind, "%s", msg);
			}
			v->cur = v->before;
			v->before = v->cur;
			apply(v, &v->cur, line, len, seq, rec);
			v->last_extended = true;
			v->last_issue = NO_ISSUE;
			v->last_invalid = false;
			json_decref(rec);
			return;
		}
	}
	if (seq == expect) {
		if (!v->last_invalid)
			raised = issue(v, SEV_TAMPER, v->cur.seq, "modified",
				       "seq %llu was altered: its hash is not the prev of seq %llu",
				       (unsigned long long)v->cur.seq, (unsigned long long)seq);
	} else if (seq > expect) {
		const char *ev = str_at(rec, "event.name");
		bool restart = ev && strcmp(ev, AUDIT_EV_START) == 0;

		raised = issue(v, restart ? SEV_INCOMPLETE : SEV_TAMPER, expect,
			       restart ? "missing_before_restart" : "missing",
			       restart ? "seq %llu..%llu missing before a restart (lost in a "
					 "crash, or deleted)" :
					 "seq %llu..%llu missing (deleted, or files left out)",
			       (unsigned long long)expect, (unsigned long long)(seq - 1));
		v->miss_from = expect;
		v->miss_to = seq - 1;
		v->miss_issue = raised;
		if (raised != NO_ISSUE) {
			json_t *it = json_array_get(v->issues, raised);

			json_object_set_new(it, "from_seq", json_integer((json_int_t)expect));
			json_object_set_new(it, "to_seq", json_integer((json_int_t)(seq - 1)));
		}
	} else {
		raised = issue(v, SEV_TAMPER, seq, "duplicate",
			       "seq %llu appears again after seq %llu (inserted or replayed)",
			       (unsigned long long)seq, (unsigned long long)v->cur.seq);
		goto done; /* keep the chain where it was */
	}
	v->before = v->cur;
	v->cur.anchored = false;
	apply(v, &v->cur, line, len, seq, rec);
	v->last_extended = false;
done:
	v->last_issue = raised;
	v->last_invalid = invalid;
	json_decref(rec);
}

void audit_verifier_begin_file(struct audit_verifier *v, const char *name)
{
	json_t *f;

	if (v->cur_file) {
		json_t *last = json_object_get(v->cur_file, "last_seq");

		if (last)
			v->prev_file_last = (uint64_t)json_integer_value(last);
	}
	v->cur_file = NULL;
	if (json_array_size(v->files) >= FILES_MAX)
		return;
	f = json_pack("{s:s s:I}", "name", name, "lines", (json_int_t)0);
	if (f && json_array_append_new(v->files, f) == 0)
		v->cur_file = f;
}

struct reader_ctx {
	struct audit_verifier *v;
};

static int verify_line_cb(void *ctx, const char *line, size_t len, bool torn, bool too_long)
{
	struct audit_verifier *v = ctx;

	if (too_long) {
		v->lines++;
		issue(v, SEV_TAMPER, v->cur.seq + 1, "line_too_long",
		      "a line after seq %llu is longer than %u bytes",
		      (unsigned long long)v->cur.seq, AUDIT_VERIFY_LINE_MAX);
		v->before = v->cur;
		v->cur.seq++;
		memset(v->cur.hash, 0, sizeof(v->cur.hash));
		v->cur.anchored = false;
		v->last_invalid = true;
		v->last_issue = NO_ISSUE;
		return 0;
	}
	audit_verifier_line(v, line, len, torn);
	return 0;
}

int audit_read_lines(const char *path, size_t max, audit_line_fn fn, void *ctx)
{
	gzFile gz = strcmp(path, "-") == 0 ? gzdopen(dup(STDIN_FILENO), "rb") : gzopen(path, "rbe");
	size_t chunk = 1 << 16, len = 0, alloc = chunk * 2;
	char *buf = malloc(alloc);
	bool skipping = false;
	int err = 0;

	if (!gz || !buf) {
		err = gz ? -ENOMEM : (errno ? -errno : -ENOMEM);
		goto cleanup;
	}
	gzbuffer(gz, 1 << 17);
	for (;;) {
		int n;
		size_t start = 0;

		if (alloc - len < chunk) {
			size_t na = alloc * 2;
			char *nb;

			if (na > max + 2 * chunk)
				na = max + 2 * chunk;
			nb = na > alloc ? realloc(buf, na) : NULL;
			if (!nb) {
				err = -ENOMEM;
				goto cleanup;
			}
			buf = nb;
			alloc = na;
		}
		n = gzread(gz, buf + len,
			   (unsigned int)(alloc - len < chunk ? alloc - len : chunk));
		if (n < 0) {
			err = -EIO;
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		for (;;) {
			char *nl = memchr(buf + start, '\n', len - start);

			if (!nl)
				break;
			if (skipping)
				skipping = false; /* the end of an over-long line */
			else if ((size_t)(nl - buf) - start > max)
				err = fn(ctx, "", 0, false, true);
			else
				err = fn(ctx, buf + start, (size_t)(nl - buf) - start, false,
					 false);
			if (err)
				goto cleanup;
			start = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + start, len - start);
		len -= start;
		if (len > max) {
			/* never hold more than max bytes of one line */
			if (!skipping)
				err = fn(ctx, "", 0, false, true);
			if (err)
				goto cleanup;
			skipping = true;
			len = 0;
		}
	}
	if (len && !skipping)
		err = fn(ctx, buf, len, true, false);
cleanup:
	if (gz)
		gzclose(gz);
	free(buf);
	return err;
}

int audit_verifier_file(struct audit_verifier *v, const char *path)
{
	audit_verifier_begin_file(v, path);
	return audit_read_lines(path, AUDIT_VERIFY_LINE_MAX, verify_line_cb, v);
}

int audit_verifier_finish(struct audit_verifier *v)
{
	uint64_t tail;

	if (v->finished)
		return v->verdict;
	v->finished = true;
	if (!v->records)
		issue(v, SEV_INCOMPLETE, 0, "empty", "no chained record in the input");
	tail = v->records ? v->cur.seq - sealed_to(v) : 0;
	if (v->records && tail)
		issue(v, SEV_INCOMPLETE, sealed_to(v) + 1, "unsealed_tail",
		      "%llu record(s) after the last valid checkpoint (seq %llu..%llu) are "
		      "covered by no signature: truncation there is undetectable here",
		      (unsigned long long)tail, (unsigned long long)(sealed_to(v) + 1),
		      (unsigned long long)v->cur.seq);
	if (v->records && !v->cur.anchored && !tail)
		issue(v, SEV_INCOMPLETE, v->cur.seq, "unanchored",
		      "the chain was not anchored to a checkpoint at its end");
	v->verdict = v->tampered ? AUDIT_TAMPERED : v->incomplete ? AUDIT_INCOMPLETE : AUDIT_INTACT;
	v->result = v->verdict == AUDIT_TAMPERED   ? "tampered" :
		    v->verdict == AUDIT_INCOMPLETE ? "incomplete" :
						     "intact";
	return v->verdict;
}

uint64_t audit_verifier_break_seq(const struct audit_verifier *v)
{
	return v->tampered ? v->break_seq : 0;
}

static json_t *first_issue(const struct audit_verifier *v, const char *severity)
{
	size_t i;
	json_t *it, *best = NULL;

	json_array_foreach(v->issues, i, it) {
		if (strcmp(str_at(it, "severity"), severity) != 0)
			continue;
		if (!best || json_integer_value(json_object_get(it, "seq")) <
				     json_integer_value(json_object_get(best, "seq")))
			best = it;
	}
	return best;
}

json_t *audit_verifier_report(const struct audit_verifier *v)
{
	json_t *r = json_object(), *tail, *fb = first_issue(v, "tamper"), *jumps = json_array();
	uint64_t t = v->records ? v->cur.seq - sealed_to(v) : 0;
	size_t i;
	json_t *it;

	if (!r || !jumps) {
		json_decref(r);
		json_decref(jumps);
		return NULL;
	}
	json_array_foreach(v->issues, i, it) {
		const char *k = str_at(it, "kind");

		if (strcmp(k, "missing") == 0 || strcmp(k, "missing_before_restart") == 0)
			json_array_append(jumps, it);
	}
	tail = json_pack("{s:I s:I s:I}", "count", (json_int_t)t, "from_seq",
			 (json_int_t)(t ? sealed_to(v) + 1 : 0), "to_seq",
			 (json_int_t)(t ? v->cur.seq : 0));
	json_object_set_new(r, "result", json_string(v->result ? v->result : "unfinished"));
	json_object_set_new(r, "exit", json_integer(v->verdict));
	json_object_set_new(r, "first_break", fb ? json_deep_copy(fb) : json_null());
	json_object_set_new(r, "break_seq", json_integer((json_int_t)audit_verifier_break_seq(v)));
	json_object_set_new(r, "first_seq", json_integer((json_int_t)v->first_seq));
	json_object_set_new(r, "last_seq", json_integer((json_int_t)v->cur.seq));
	json_object_set_new(r, "records", json_integer((json_int_t)v->records));
	json_object_set_new(r, "lines", json_integer((json_int_t)v->lines));
	json_object_set(r, "streams", v->stream_ids);
	json_object_set_new(r, "agent_starts", json_integer((json_int_t)v->restarts));
	json_object_set_new(r, "checkpoints_verified", json_integer((json_int_t)v->cp_verified));
	json_object_set_new(r, "last_checkpoint_seq", json_integer((json_int_t)v->last_cp_seq));
	json_object_set_new(r, "key",
			    json_pack("{s:s s:s}", "source",
				      v->o.key	 ? "trusted" :
				      v->log_key ? "log" :
						   "none",
				      "vkey", v->key_vkey));
	json_object_set_new(r, "unsealed_tail", tail);
	json_object_set(r, "gaps", v->gaps);
	json_object_set_new(r, "unexplained_jumps", jumps);
	json_object_set(r, "issues", v->issues);
	json_object_set_new(r, "time_anomalies_count", json_integer((json_int_t)v->time_anomalies));
	json_object_set(r, "time_anomalies", v->times);
	json_object_set(r, "files", v->files);
	json_object_set_new(r, "files_out_of_order", json_boolean(v->out_of_order));
	return r;
}

void audit_verifier_print(const struct audit_verifier *v, FILE *out)
{
	json_t *fb = first_issue(v, "tamper");
	uint64_t t = v->records ? v->cur.seq - sealed_to(v) : 0;
	size_t i;
	json_t *it;

	fprintf(out, "result: %s\n", v->result ? v->result : "unfinished");
	fprintf(out, "records: %llu (seq %llu..%llu), %llu line(s), %zu stream(s), %llu start(s)\n",
		(unsigned long long)v->records, (unsigned long long)v->first_seq,
		(unsigned long long)v->cur.seq, (unsigned long long)v->lines,
		json_array_size(v->stream_ids), (unsigned long long)v->restarts);
	fprintf(out, "checkpoints verified: %llu (last at seq %llu), key: %s%s%s\n",
		(unsigned long long)v->cp_verified, (unsigned long long)v->last_cp_seq,
		v->o.key   ? "trusted " :
		v->log_key ? "from the log (not independent) " :
			     "none",
		v->key_vkey, v->o.key || v->log_key ? "" : " (pass --key)");
	if (fb)
		fprintf(out, "FIRST BREAK at seq %lld: %s: %s\n",
			(long long)json_integer_value(json_object_get(fb, "seq")),
			str_at(fb, "kind"), str_at(fb, "message"));
	if (v->out_of_order)
		fprintf(out,
			"note: seqs go backwards between files: give the files oldest first\n");
	json_array_foreach(v->issues, i, it)
		fprintf(out, "  %s seq %lld: %s: %s\n", str_at(it, "severity"),
			(long long)json_integer_value(json_object_get(it, "seq")),
			str_at(it, "kind"), str_at(it, "message"));
	fprintf(out, "explicit gaps: %zu\n", json_array_size(v->gaps));
	json_array_foreach(v->gaps, i, it) {
		char *d = json_dumps(json_object_get(it, "detail"), JSON_COMPACT | JSON_ENCODE_ANY);

		fprintf(out, "  seq %lld: %s %s\n",
			(long long)json_integer_value(json_object_get(it, "seq")),
			str_at(it, "reason"), d ? d : "");
		free(d);
	}
	if (t)
		fprintf(out, "unsealed tail: %llu record(s), seq %llu..%llu\n",
			(unsigned long long)t, (unsigned long long)(sealed_to(v) + 1),
			(unsigned long long)v->cur.seq);
	else
		fprintf(out, "unsealed tail: none\n");
	fprintf(out, "time anomalies: %llu\n", (unsigned long long)v->time_anomalies);
	json_array_foreach(v->times, i, it)
		fprintf(out, "  seq %lld: %s is %.3f s behind\n",
			(long long)json_integer_value(json_object_get(it, "seq")),
			str_at(it, "time"), json_real_value(json_object_get(it, "behind_s")));
}
