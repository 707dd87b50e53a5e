// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "chain.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "audit/note.h"
#include "audit/record.h"
#include "process/hostinfo.h"
#include "util/clock.h"
#include "util/json_fast.h"
#include "util/fileio.h"

#define DEFAULT_CP_RECORDS 1000
#define DEFAULT_CP_INTERVAL_NS (60ull * 1000000000ull)
#define DEFAULT_HEARTBEAT_NS (300ull * 1000000000ull)
#define STATE_MAX (64 * 1024)
#define RECOVER_TAIL (8u << 20)
#define LINE_KEEP_MAX (1u << 20)

/* the persisted head */
struct chain_head {
	uint64_t seq;
	uint8_t hash[MERKLE_HASH_LEN]; /* SHA-256 of line seq (zeros at seq 0) */
	struct merkle_range range; /* over lines 1..seq */
	uint64_t cp_seq; /* seq of the last checkpoint record (0: none) */
	uint64_t cp_size; /* tree size it signed */
	char cp_time[40];
};

struct audit_chain {
	struct audit_chain_opts o;
	char state_dir[PATH_MAX - 64]; /* room for the file names */
	char origin[NOTE_ORIGIN_MAX];
	char stream[AUDIT_STREAM_HEX + 1];
	char boot_id[40], prev_boot_id[40];
	struct hostinfo host;
	struct audit_key *key;
	struct chain_head h;
	uint64_t synced_seq;
	bool synced_once;
	bool prev_clean, first_start;
	bool started, stopped;
	uint64_t recovered_from; /* persisted seq before recovery */
	uint64_t since_cp; /* records (checkpoints excluded) since the last checkpoint */
	uint64_t last_cp_mono, last_health_mono;
	uint8_t config_sha[32], ruleset_sha[32];
	struct json_fast_buf line;
	struct audit_chain_counters n;
};

static void set_err(const struct audit_chain_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (!o->err || !o->err_size)
		return;
	va_start(ap, fmt);
	vsnprintf(o->err, o->err_size, fmt, ap);
	va_end(ap);
}

static void now_rfc3339(char *out, size_t size)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	clock_format_rfc3339((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, out, size);
}

static void read_line_file(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "re");

	out[0] = '\0';
	if (!f)
		return;
	if (fgets(out, (int)size, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

static void hex32(const uint8_t p[32], char out[65])
{
	merkle_hex(p, 32, out);
}

/* ---- state file ---- */

static int state_write(struct audit_chain *c, bool clean)
{
	char head[65], updated[40];
	json_t *st = json_object(), *range = merkle_range_to_json(&c->h.range);
	char *text = NULL;
	int err = -ENOMEM;

	if (!st || !range)
		goto cleanup;
	hex32(c->h.hash, head);
	now_rfc3339(updated, sizeof(updated));
	if (json_object_set_new(st, "version", json_integer(1)) ||
	    json_object_set_new(st, "stream", json_string(c->stream)) ||
	    json_object_set_new(st, "origin", json_string(c->origin)) ||
	    json_object_set_new(st, "seq", json_integer((json_int_t)c->h.seq)) ||
	    json_object_set_new(st, "head", json_string(head)) ||
	    json_object_set(st, "merkle", range) ||
	    json_object_set_new(st, "last_checkpoint_seq", json_integer((json_int_t)c->h.cp_seq)) ||
	    json_object_set_new(st, "last_checkpoint_size",
				json_integer((json_int_t)c->h.cp_size)) ||
	    json_object_set_new(st, "last_checkpoint_time", json_string(c->h.cp_time)) ||
	    json_object_set_new(st, "clean", json_boolean(clean)) ||
	    json_object_set_new(st, "boot_id", json_string(c->boot_id)) ||
	    json_object_set_new(st, "updated", json_string(updated)))
		goto cleanup;
	text = json_dumps(st, JSON_INDENT(1));
	if (!text)
		goto cleanup;
	err = fileio_replace(c->state_dir, AUDIT_STATE_FILE, text, strlen(text));
cleanup:
	c->n.syncs++;
	if (err)
		c->n.sync_failures++;
	else
		c->synced_seq = c->h.seq, c->synced_once = true;
	free(text);
	json_decref(range);
	json_decref(st);
	return err;
}

static bool hex_ok(const json_t *j, size_t n)
{
	uint8_t tmp[64];

	return json_is_string(j) && json_string_length(j) == 2 * n && n <= sizeof(tmp) &&
	       merkle_unhex(json_string_value(j), 2 * n, tmp, n) == 0;
}

/* Parses chain.json; -ENOENT when absent, -EBADMSG (with a message) when unusable. */
static int state_load(struct audit_chain *c, char *why, size_t why_size)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *st, *v;
	int err = -EBADMSG;
	json_int_t seq;

	snprintf(path, sizeof(path), "%s/%s", c->state_dir, AUDIT_STATE_FILE);
	st = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!st) {
		if (access(path, F_OK) != 0 && errno == ENOENT)
			return -ENOENT;
		snprintf(why, why_size, "line %d: %s", jerr.line, jerr.text);
		return -EBADMSG;
	}
	snprintf(why, why_size, "not a chain state");
	if (!json_is_object(st) || json_integer_value(json_object_get(st, "version")) != 1)
		goto cleanup;
	v = json_object_get(st, "stream");
	if (!hex_ok(v, AUDIT_STREAM_HEX / 2))
		goto cleanup;
	snprintf(c->stream, sizeof(c->stream), "%s", json_string_value(v));
	v = json_object_get(st, "seq");
	seq = json_integer_value(v);
	if (!json_is_integer(v) || seq < 0)
		goto cleanup;
	c->h.seq = (uint64_t)seq;
	v = json_object_get(st, "head");
	if (!hex_ok(v, 32) || merkle_unhex(json_string_value(v), 64, c->h.hash, 32))
		goto cleanup;
	if (merkle_range_from_json(json_object_get(st, "merkle"), &c->h.range) ||
	    c->h.range.size != c->h.seq) {
		snprintf(why, why_size, "Merkle range does not match seq");
		goto cleanup;
	}
	v = json_object_get(st, "origin");
	if (json_is_string(v) && json_string_length(v) < sizeof(c->origin))
		snprintf(c->origin, sizeof(c->origin), "%s", json_string_value(v));
	c->h.cp_seq = (uint64_t)json_integer_value(json_object_get(st, "last_checkpoint_seq"));
	c->h.cp_size = (uint64_t)json_integer_value(json_object_get(st, "last_checkpoint_size"));
	v = json_object_get(st, "last_checkpoint_time");
	if (json_is_string(v))
		snprintf(c->h.cp_time, sizeof(c->h.cp_time), "%s", json_string_value(v));
	v = json_object_get(st, "boot_id");
	if (json_is_string(v))
		snprintf(c->prev_boot_id, sizeof(c->prev_boot_id), "%s", json_string_value(v));
	v = json_object_get(st, "clean");
	if (!json_is_boolean(v))
		goto cleanup;
	c->prev_clean = json_is_true(v);
	err = 0;
cleanup:
	json_decref(st);
	return err;
}

/* ---- sealing ---- */

static int emit(struct audit_chain *c, json_t *rec, bool urgent)
{
	char prev[65], id[37];
	struct json_fast_buf *b = &c->line;
	uint8_t hash[MERKLE_HASH_LEN], leaf[MERKLE_HASH_LEN];
	struct merkle_range range;
	char *dumped = NULL;
	const char *p;
	size_t len;
	int err;

	if (!json_is_object(rec))
		return -EINVAL;
	if (c->h.seq == UINT64_MAX)
		return -EOVERFLOW;
	hex32(c->h.hash, prev);
	if (!json_is_string(json_object_get(rec, "id"))) {
		record_make_id(id);
		if (json_object_set_new(rec, "id", json_string(id)))
			return -ENOMEM;
	}
	if (json_object_set_new(rec, "stream", json_string(c->stream)) ||
	    json_object_set_new(rec, "seq", json_integer((json_int_t)(c->h.seq + 1))) ||
	    json_object_set_new(rec, "prev", json_string(prev)))
		return -ENOMEM;

	/* serialised once: these bytes are hashed and written, nothing else */
	b->len = 0;
	err = json_fast_dump(rec, b);
	if (err == -EINVAL) {
		dumped = json_dumps(rec, JSON_COMPACT);
		err = dumped ? 0 : -ENOMEM;
		p = dumped;
		len = dumped ? strlen(dumped) : 0;
	} else {
		p = b->data;
		len = b->len;
	}
	if (err)
		goto cleanup;
	range = c->h.range;
	err = merkle_sha256(p, len, hash);
	if (!err)
		err = merkle_leaf_hash(p, len, leaf);
	if (!err)
		err = merkle_range_append(&range, leaf);
	if (err)
		goto cleanup;
	if (dumped) {
		dumped[len++] = '\n'; /* its NUL becomes the newline */
	} else {
		err = json_fast_reserve(b, 1);
		if (err)
			goto cleanup;
		b->data[b->len++] = '\n';
		p = b->data;
		len = b->len;
	}
	c->h.seq++;
	memcpy(c->h.hash, hash, sizeof(hash));
	c->h.range = range;
	c->n.records_sealed++;
	err = c->o.write(c->o.write_ctx, p, len, c->h.seq, urgent);
	if (err)
		c->n.write_failures++;
cleanup:
	free(dumped);
	if (b->alloc > LINE_KEEP_MAX)
		json_fast_buf_free(b);
	return err;
}

/* A lifecycle record: the top-level shape of an exchange record. */
static json_t *lifecycle_new(struct audit_chain *c, const char *event, json_t **attrs)
{
	char id[37], now[40];
	json_t *rec = json_object(), *a = json_object();

	if (!rec || !a) {
		json_decref(rec);
		json_decref(a);
		return NULL;
	}
	record_make_id(id);
	now_rfc3339(now, sizeof(now));
	json_object_set_new(rec, "schema", json_string(RECORD_SCHEMA));
	json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "time", json_string(now));
	json_object_set_new(rec, "event.name", json_string(event));
	json_object_set_new(rec, "attributes", a);
	if (c->host.name[0])
		json_object_set_new(a, "host.name", json_string(c->host.name));
	if (c->host.id[0])
		json_object_set_new(a, "host.id", json_string(c->host.id));
	*attrs = a;
	return rec;
}

static int emit_checkpoint(struct audit_chain *c, const char *kind, uint64_t now_mono)
{
	char note[NOTE_MAX], root_hex[65];
	uint8_t root[MERKLE_HASH_LEN];
	json_t *a, *rec, *range;
	int n, err;

	err = merkle_range_root(&c->h.range, root);
	if (err)
		return err;
	n = note_sign_checkpoint(c->key, c->origin, c->h.range.size, root, note, sizeof(note));
	if (n < 0)
		return n;
	rec = lifecycle_new(c, AUDIT_EV_CHECKPOINT, &a);
	range = merkle_range_to_json(&c->h.range);
	if (!rec || !range) {
		json_decref(rec);
		json_decref(range);
		return -ENOMEM;
	}
	hex32(root, root_hex);
	json_object_set_new(a, "llmtap.checkpoint.kind", json_string(kind));
	json_object_set_new(a, "llmtap.checkpoint.origin", json_string(c->origin));
	json_object_set_new(a, "llmtap.checkpoint.size", json_integer((json_int_t)c->h.range.size));
	json_object_set_new(a, "llmtap.checkpoint.root", json_string(root_hex));
	json_object_set_new(a, "llmtap.checkpoint.previous_size",
			    json_integer((json_int_t)c->h.cp_size));
	json_object_set_new(a, "llmtap.checkpoint.range", range);
	json_object_set_new(a, "llmtap.checkpoint.note", json_stringn(note, (size_t)n));
	c->h.cp_size = c->h.range.size;
	err = emit(c, rec, true);
	json_decref(rec);
	c->h.cp_seq = c->h.seq;
	now_rfc3339(c->h.cp_time, sizeof(c->h.cp_time));
	c->since_cp = 0;
	c->last_cp_mono = now_mono;
	c->n.checkpoints++;
	return err;
}

/* A record not a checkpoint: counts toward the next checkpoint. */
static int emit_counted(struct audit_chain *c, json_t *rec, bool urgent)
{
	int err = emit(c, rec, urgent), err2 = 0;

	if (err == -ENOMEM || err == -EINVAL || err == -EOVERFLOW)
		return err;
	c->since_cp++;
	if (c->since_cp >= c->o.checkpoint_records)
		err2 = emit_checkpoint(c, "records", clock_mono_now());
	return err ? err : err2;
}

/* ---- agent_start attributes ---- */

static const char *const cap_names[] = {
	"cap_chown",
	"cap_dac_override",
	"cap_dac_read_search",
	"cap_fowner",
	"cap_fsetid",
	"cap_kill",
	"cap_setgid",
	"cap_setuid",
	"cap_setpcap",
	"cap_linux_immutable",
	"cap_net_bind_service",
	"cap_net_broadcast",
	"cap_net_admin",
	"cap_net_raw",
	"cap_ipc_lock",
	"cap_ipc_owner",
	"cap_sys_module",
	"cap_sys_rawio",
	"cap_sys_chroot",
	"cap_sys_ptrace",
	"cap_sys_pacct",
	"cap_sys_admin",
	"cap_sys_boot",
	"cap_sys_nice",
	"cap_sys_resource",
	"cap_sys_time",
	"cap_sys_tty_config",
	"cap_mknod",
	"cap_lease",
	"cap_audit_write",
	"cap_audit_control",
	"cap_setfcap",
	"cap_mac_override",
	"cap_mac_admin",
	"cap_syslog",
	"cap_wake_alarm",
	"cap_block_suspend",
	"cap_audit_read",
	"cap_perfmon",
	"cap_bpf",
	"cap_checkpoint_restore",
};

static void set_caps(json_t *a)
{
	FILE *f = fopen("/proc/self/status", "re");
	unsigned long long eff = 0;
	char line[256];
	bool found = false;
	json_t *arr;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1) {
			found = true;
			break;
		}
	fclose(f);
	if (!found)
		return;
	snprintf(line, sizeof(line), "%016llx", eff);
	json_object_set_new(a, "llmtap.capabilities.effective", json_string(line));
	arr = json_array();
	if (!arr)
		return;
	for (unsigned int i = 0; i < 64; i++) {
		if (!(eff & (1ull << i)))
			continue;
		if (i < sizeof(cap_names) / sizeof(cap_names[0])) {
			json_array_append_new(arr, json_string(cap_names[i]));
		} else {
			snprintf(line, sizeof(line), "cap_%u", i);
			json_array_append_new(arr, json_string(line));
		}
	}
	json_object_set_new(a, "llmtap.capabilities", arr);
}

static void set_clock(json_t *a)
{
	struct timex tx = { 0 };
	int state = adjtimex(&tx);

	if (state < 0)
		return;
	/* the kernel's view: STA_UNSYNC is cleared by an NTP/PTP daemon in sync */
	json_object_set_new(a, "llmtap.clock.synced",
			    json_boolean(state != TIME_ERROR && !(tx.status & STA_UNSYNC)));
	json_object_set_new(a, "llmtap.clock.max_error_us", json_integer(tx.maxerror));
	json_object_set_new(a, "llmtap.clock.est_error_us", json_integer(tx.esterror));
}

static int emit_start(struct audit_chain *c)
{
	char vkey[AUDIT_VKEY_LEN], fp[AUDIT_FINGERPRINT_LEN], hex[65];
	struct utsname u;
	json_t *a, *rec = lifecycle_new(c, AUDIT_EV_START, &a);
	int err;

	if (!rec)
		return -ENOMEM;
	audit_key_vkey(c->key, vkey, sizeof(vkey));
	audit_key_fingerprint(c->key, fp, sizeof(fp));
	json_object_set_new(a, "llmtap.agent.version", json_string(LLMTAP_VERSION));
	json_object_set_new(a, "process.pid", json_integer(getpid()));
	hex32(c->config_sha, hex);
	json_object_set_new(a, "llmtap.config.sha256", json_string(hex));
	hex32(c->ruleset_sha, hex);
	json_object_set_new(a, "llmtap.ruleset.sha256", json_string(hex));
	json_object_set_new(a, "llmtap.key.fingerprint", json_string(fp));
	json_object_set_new(a, "llmtap.key.vkey", json_string(vkey));
	json_object_set_new(a, "llmtap.checkpoint.origin", json_string(c->origin));
	set_caps(a);
	if (uname(&u) == 0)
		json_object_set_new(a, "os.kernel.release", json_string(u.release));
	if (c->boot_id[0])
		json_object_set_new(a, "llmtap.boot_id", json_string(c->boot_id));
	set_clock(a);
	json_object_set_new(a, "llmtap.previous_shutdown",
			    json_string(c->first_start ? "none" :
					c->prev_clean  ? "clean" :
							 "unclean"));
	err = emit_counted(c, rec, false);
	json_decref(rec);
	return err;
}

/* ---- public API ---- */

static void default_origin(char *out, size_t size)
{
	char host[HOST_NAME_MAX + 1] = "";

	if (gethostname(host, sizeof(host)) != 0 || !host[0])
		snprintf(host, sizeof(host), "localhost");
	host[HOST_NAME_MAX] = '\0';
	/* a key name: no whitespace, no '+' */
	for (char *p = host; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '+' || *p == 0x7f)
			*p = '_';
	snprintf(out, size, "llmtap/%s", host);
}

int audit_chain_open(const struct audit_chain_opts *o, struct audit_chain **out)
{
	struct audit_chain *c;
	char why[256] = "";
	uint8_t sid[AUDIT_STREAM_HEX / 2];
	int err;

	*out = NULL;
	if (!o->state_dir || !o->state_dir[0] || !o->write ||
	    strlen(o->state_dir) >= sizeof(c->state_dir)) {
		set_err(o, "audit chain: state_dir (shorter than PATH_MAX) and write are required");
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->o = *o;
	if (!c->o.checkpoint_records)
		c->o.checkpoint_records = DEFAULT_CP_RECORDS;
	if (!c->o.checkpoint_interval_ns)
		c->o.checkpoint_interval_ns = DEFAULT_CP_INTERVAL_NS;
	if (!c->o.heartbeat_interval_ns)
		c->o.heartbeat_interval_ns = DEFAULT_HEARTBEAT_NS;
	memcpy(c->config_sha, o->config_sha256, 32);
	memcpy(c->ruleset_sha, o->ruleset_sha256, 32);
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", o->state_dir);
	hostinfo_read(&c->host, NULL);
	read_line_file("/proc/sys/kernel/random/boot_id", c->boot_id, sizeof(c->boot_id));

	/* the directory first (the key module creates it 0700 and checks it) */
	err = audit_key_load(c->state_dir, "llmtap/pending", true, &c->key);
	if (err) {
		set_err(o, "signing key in %s: %s", c->state_dir,
			err == -EPERM ? "unsafe owner or mode (must be the agent's user, "
					"not accessible to group/other)" :
					strerror(-err));
		goto fail;
	}
	err = state_load(c, why, sizeof(why));
	if (err == -ENOENT) {
		if (getrandom(sid, sizeof(sid), 0) != sizeof(sid)) {
			err = -EIO;
			goto fail;
		}
		merkle_hex(sid, sizeof(sid), c->stream);
		merkle_range_init(&c->h.range);
		c->first_start = true;
		c->prev_clean = true;
		err = 0;
	} else if (err) {
		set_err(o, "%s/%s: %s (move it aside to start a new chain stream)", c->state_dir,
			AUDIT_STATE_FILE, why);
		goto fail;
	}
	if (o->origin && o->origin[0])
		snprintf(c->origin, sizeof(c->origin), "%s", o->origin);
	else if (!c->origin[0])
		default_origin(c->origin, sizeof(c->origin));
	err = audit_key_rename(c->key, c->origin);
	if (err) {
		set_err(o, "checkpoint origin '%s' is not a valid key name", c->origin);
		goto fail;
	}
	c->recovered_from = c->h.seq;
	c->synced_seq = c->h.seq;
	*out = c;
	return 0;
fail:
	audit_chain_free(c);
	return err;
}

/* Longest continuation of head h in buf (complete lines only); adopts into h. */
static int recover_buf(struct audit_chain *c, char *buf, size_t len, bool from_start,
		       struct chain_head *h)
{
	char *p = buf, *end = buf + len;
	uint64_t adopted = 0;
	char prev_hex[65];

	if (!from_start) {
		/* the window starts mid-line: skip to the first whole one */
		char *nl = memchr(p, '\n', len);

		if (!nl)
			return 0;
		p = nl + 1;
	}
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		json_t *rec, *ev;
		uint8_t hash[MERKLE_HASH_LEN], leaf[MERKLE_HASH_LEN];
		bool ok;

		if (!nl)
			break; /* torn last line */
		rec = json_loadb(p, (size_t)(nl - p), 0, NULL);
		hex32(h->hash, prev_hex);
		ok = rec &&
		     json_integer_value(json_object_get(rec, "seq")) == (json_int_t)(h->seq + 1) &&
		     json_is_string(json_object_get(rec, "stream")) &&
		     strcmp(json_string_value(json_object_get(rec, "stream")), c->stream) == 0 &&
		     json_is_string(json_object_get(rec, "prev")) &&
		     strcmp(json_string_value(json_object_get(rec, "prev")), prev_hex) == 0;
		if (ok) {
			if (merkle_sha256(p, (size_t)(nl - p), hash) ||
			    merkle_leaf_hash(p, (size_t)(nl - p), leaf) ||
			    merkle_range_append(&h->range, leaf)) {
				json_decref(rec);
				return -ENOMEM;
			}
			h->seq++;
			memcpy(h->hash, hash, sizeof(hash));
			ev = json_object_get(rec, "event.name");
			if (json_is_string(ev) &&
			    strcmp(json_string_value(ev), AUDIT_EV_CHECKPOINT) == 0) {
				h->cp_seq = h->seq;
				h->cp_size = h->seq - 1;
			}
			adopted++;
		} else if (adopted) {
			json_decref(rec);
			break; /* the continuation ends here */
		}
		json_decref(rec);
		p = nl + 1;
	}
	return adopted > 0;
}

int audit_chain_recover(struct audit_chain *c, const char *const *paths, size_t n)
{
	struct chain_head best = c->h;
	char *buf;
	int err = 0;

	if (c->started)
		return -EBUSY;
	buf = malloc(RECOVER_TAIL);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n && !err; i++) {
		struct chain_head h = c->h;
		int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		struct stat st;
		off_t start;
		size_t len = 0;

		if (fd < 0)
			continue;
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			continue;
		}
		start = st.st_size > (off_t)RECOVER_TAIL ? st.st_size - (off_t)RECOVER_TAIL : 0;
		while (len < RECOVER_TAIL) {
			ssize_t r = pread(fd, buf + len, RECOVER_TAIL - len, start + (off_t)len);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			len += (size_t)r;
		}
		close(fd);
		err = recover_buf(c, buf, len, start == 0, &h);
		if (err > 0 && h.seq > best.seq)
			best = h;
		err = err < 0 ? err : 0;
	}
	free(buf);
	if (err)
		return err;
	c->n.recovered += best.seq - c->h.seq;
	err = (int)(best.seq - c->h.seq);
	c->h = best;
	return err;
}

int audit_chain_start(struct audit_chain *c)
{
	uint64_t now = clock_mono_now(), resumed = c->h.seq;
	int err;

	if (c->started)
		return -EALREADY;
	/* from here on a crash must be noticed at the next start */
	err = state_write(c, false);
	if (err)
		return err;
	c->started = true;
	c->last_cp_mono = now;
	c->last_health_mono = now;
	err = emit_start(c);
	if (err)
		return err;
	if (!c->prev_clean) {
		json_t *d = json_object();

		if (!d)
			return -ENOMEM;
		json_object_set_new(d, "last_synced_seq",
				    json_integer((json_int_t)c->recovered_from));
		json_object_set_new(d, "last_recovered_seq", json_integer((json_int_t)resumed));
		json_object_set_new(d, "previous_boot_id", json_string(c->prev_boot_id));
		json_object_set_new(d, "same_boot",
				    json_boolean(strcmp(c->prev_boot_id, c->boot_id) == 0));
		json_object_set_new(d, "note",
				    json_string("events captured but not written before the "
						"crash are lost; the seq range is continuous"));
		err = audit_chain_gap(c, AUDIT_GAP_UNCLEAN, d);
		json_decref(d);
		if (err)
			return err;
	}
	return emit_checkpoint(c, "start", now);
}

int audit_chain_record(struct audit_chain *c, json_t *rec)
{
	if (!c->started || c->stopped)
		return -EALREADY;
	return emit_counted(c, rec, false);
}

int audit_chain_gap(struct audit_chain *c, const char *reason, json_t *detail)
{
	json_t *a, *rec;
	int err;

	if (!c->started || c->stopped)
		return -EALREADY;
	rec = lifecycle_new(c, AUDIT_EV_GAP, &a);
	if (!rec)
		return -ENOMEM;
	json_object_set_new(a, "llmtap.gap.reason", json_string(reason ? reason : "unknown"));
	if (detail)
		json_object_set(a, "llmtap.gap.detail", detail);
	c->n.gaps++;
	err = emit_counted(c, rec, true);
	json_decref(rec);
	return err;
}

int audit_chain_config_change(struct audit_chain *c, const uint8_t config_sha256[32],
			      const uint8_t ruleset_sha256[32])
{
	char hex[65];
	json_t *a, *rec;
	int err;

	if (!c->started || c->stopped)
		return -EALREADY;
	rec = lifecycle_new(c, AUDIT_EV_CONFIG, &a);
	if (!rec)
		return -ENOMEM;
	hex32(config_sha256, hex);
	json_object_set_new(a, "llmtap.config.sha256", json_string(hex));
	hex32(c->config_sha, hex);
	json_object_set_new(a, "llmtap.config.previous_sha256", json_string(hex));
	hex32(ruleset_sha256, hex);
	json_object_set_new(a, "llmtap.ruleset.sha256", json_string(hex));
	hex32(c->ruleset_sha, hex);
	json_object_set_new(a, "llmtap.ruleset.previous_sha256", json_string(hex));
	memcpy(c->config_sha, config_sha256, 32);
	memcpy(c->ruleset_sha, ruleset_sha256, 32);
	err = emit_counted(c, rec, false);
	json_decref(rec);
	return err;
}

bool audit_chain_health_due(const struct audit_chain *c, uint64_t now)
{
	return c->started && !c->stopped && c->o.health_interval_ns &&
	       now - c->last_health_mono >= c->o.health_interval_ns;
}

static json_t *counters_json(const struct audit_chain *c)
{
	return json_pack("{s:I s:I s:I s:I s:I}", "records_sealed", (json_int_t)c->n.records_sealed,
			 "checkpoints", (json_int_t)c->n.checkpoints, "gaps", (json_int_t)c->n.gaps,
			 "sync_failures", (json_int_t)c->n.sync_failures, "write_failures",
			 (json_int_t)c->n.write_failures);
}

int audit_chain_tick(struct audit_chain *c, uint64_t now, json_t *health)
{
	int err = 0;

	if (!c->started || c->stopped)
		return -EALREADY;
	if (audit_chain_health_due(c, now)) {
		json_t *a, *rec = lifecycle_new(c, AUDIT_EV_HEALTH, &a);

		if (!rec)
			return -ENOMEM;
		if (health && json_is_object(health))
			json_object_update(a, health);
		json_object_set_new(a, "llmtap.audit", counters_json(c));
		c->last_health_mono = now;
		err = emit_counted(c, rec, false);
		json_decref(rec);
		if (err)
			return err;
	}
	if (c->since_cp && now - c->last_cp_mono >= c->o.checkpoint_interval_ns)
		return emit_checkpoint(c, "interval", now);
	if (now - c->last_cp_mono >= c->o.heartbeat_interval_ns)
		return emit_checkpoint(c, "heartbeat", now);
	return 0;
}

int audit_chain_checkpoint(struct audit_chain *c)
{
	if (!c->started || c->stopped)
		return -EALREADY;
	return emit_checkpoint(c, "requested", clock_mono_now());
}

int audit_chain_sync(struct audit_chain *c)
{
	if (!c->started)
		return 0; /* nothing sealed: the state on disk is still right */
	if (c->synced_once && c->synced_seq == c->h.seq)
		return 0;
	return state_write(c, c->stopped);
}

int audit_chain_stop(struct audit_chain *c, const char *reason)
{
	json_t *a, *rec;
	int err, err2;

	if (!c->started || c->stopped)
		return -EALREADY;
	rec = lifecycle_new(c, AUDIT_EV_STOP, &a);
	if (!rec)
		return -ENOMEM;
	if (reason)
		json_object_set_new(a, "llmtap.stop.reason", json_string(reason));
	json_object_set_new(a, "llmtap.audit", counters_json(c));
	err = emit(c, rec, true);
	json_decref(rec);
	err2 = emit_checkpoint(c, "stop", clock_mono_now());
	c->stopped = true;
	if (!err)
		err = err2;
	err2 = state_write(c, true);
	return err ? err : err2;
}

void audit_chain_free(struct audit_chain *c)
{
	if (!c)
		return;
	audit_key_free(c->key);
	json_fast_buf_free(&c->line);
	free(c);
}

const struct audit_chain_counters *audit_chain_counters(const struct audit_chain *c)
{
	return &c->n;
}

uint64_t audit_chain_seq(const struct audit_chain *c)
{
	return c->h.seq;
}

const char *audit_chain_stream(const struct audit_chain *c)
{
	return c->stream;
}

const struct audit_key *audit_chain_key(const struct audit_chain *c)
{
	return c->key;
}

int audit_sha256_file(const char *path, uint8_t out[32])
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n, len = 0, cap = 1 << 16;
	int err = 0;

	if (!f)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	/* config and rule files are small; cap at 64 MiB */
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			char *nb = cap >= (64u << 20) ? NULL : realloc(buf, cap * 2);

			if (!nb) {
				err = -EFBIG;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	if (!err)
		err = merkle_sha256(buf, len, out);
	free(buf);
	return err;
}
