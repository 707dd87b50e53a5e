// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "outputs.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "metrics/prom.h"
#include "sink/file_out.h"
#include "sink/net_out.h"
#include "util/log.h"

#define LOSSES_MAX 64

struct output {
	char name[CONFIG_NAME_MAX];
	enum output_type type;
	struct file_out *file;
	struct net_out *net;
	uint64_t capacity;
	bool failing; /* logged once per failure streak */
	/* stdout */
	uint64_t records, bytes, errors, last_ns;
	char journal[OUTPUTS_PATH_MAX]; /* outputs_journal_files */
};

struct outputs {
	struct output v[CONFIG_MAX_OUTPUTS];
	size_t n;
	pthread_mutex_t mu; /* losses, stdout counters */
	struct output_loss losses[LOSSES_MAX];
	size_t n_losses;
};

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool valid_spool_name(const char *name)
{
	if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	return !strchr(name, '/');
}

static void close_output(struct output *out)
{
	if (out->file)
		file_out_close(out->file);
	if (out->net)
		net_out_close(out->net, OUTPUTS_CLOSE_GRACE_MS);
	out->file = NULL;
	out->net = NULL;
}

int outputs_open(const struct config *cfg, struct outputs **out, char *err, size_t errlen)
{
	struct outputs *o;
	int rc = 0;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	pthread_mutex_init(&o->mu, NULL);
	for (size_t i = 0; i < cfg->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		const struct output_config *c = &cfg->outputs[i];
		struct output *x = &o->v[o->n];
		char dir[OUTPUTS_PATH_MAX];

		snprintf(x->name, sizeof(x->name), "%s", c->name);
		x->type = c->type;
		switch (c->type) {
		case OUTPUT_FILE:
			rc = file_out_open(c, &x->file);
			if (rc)
				snprintf(err, errlen, "output '%s': cannot open %s: %s", c->name,
					 c->path ? c->path : "(no path)", strerror(-rc));
			break;
		case OUTPUT_STDOUT:
			break;
		case OUTPUT_HTTP:
		case OUTPUT_OTLP:
			if (!valid_spool_name(c->name)) {
				snprintf(err, errlen,
					 "output '%s': a network output's name names its spool "
					 "directory: no '/', not '.' or '..'",
					 c->name);
				rc = -EINVAL;
				break;
			}
			for (size_t j = 0; j < o->n; j++) {
				if (o->v[j].net && strcmp(o->v[j].name, c->name) == 0) {
					snprintf(err, errlen, "output '%s': name used twice",
						 c->name);
					rc = -EINVAL;
				}
			}
			if (rc)
				break;
			if (!cfg->state_dir || !cfg->state_dir[0]) {
				snprintf(err, errlen, "output '%s': no state_dir for its spool",
					 c->name);
				rc = -EINVAL;
				break;
			}
			snprintf(dir, sizeof(dir), "%s/spool/%s", cfg->state_dir, c->name);
			x->capacity = c->spool_max_bytes ? c->spool_max_bytes : 1ull << 30;
			rc = net_out_open(c, dir, &x->net, err, errlen);
			if (rc && !err[0])
				snprintf(err, errlen, "output '%s': %s", c->name, strerror(-rc));
			break;
		default:
			snprintf(err, errlen, "output '%s': unknown type", c->name);
			rc = -EINVAL;
		}
		if (rc)
			goto fail;
		o->n++;
	}
	*out = o;
	return 0;
fail:
	outputs_close(o);
	return rc;
}

static void add_loss(struct outputs *o, const char *name, const struct spool_drop *d)
{
	struct output_loss *l = NULL;

	pthread_mutex_lock(&o->mu);
	/* contiguous with the last loss of this output: one range */
	for (size_t i = o->n_losses; i-- > 0;) {
		if (strcmp(o->losses[i].output, name) == 0) {
			if (o->losses[i].last_seq + 1 == d->first_seq || o->n_losses == LOSSES_MAX)
				l = &o->losses[i];
			break;
		}
	}
	if (!l && o->n_losses == LOSSES_MAX)
		l = &o->losses[LOSSES_MAX - 1]; /* never silent: widened */
	if (l) {
		if (d->first_seq < l->first_seq)
			l->first_seq = d->first_seq;
		if (d->last_seq > l->last_seq)
			l->last_seq = d->last_seq;
		l->count += d->count;
	} else {
		l = &o->losses[o->n_losses++];
		snprintf(l->output, sizeof(l->output), "%s", name);
		l->first_seq = d->first_seq;
		l->last_seq = d->last_seq;
		l->count = d->count;
		l->reason = "spool_full";
	}
	pthread_mutex_unlock(&o->mu);
}

static int write_stdout(struct outputs *o, struct output *x, const char *line, size_t len)
{
	struct iovec iov[2] = { { (void *)line, len }, { (void *)"\n", 1 } };
	size_t need = len + 1, done = 0;
	int err = 0;

	while (done < need) {
		ssize_t n;

		if (done < len) {
			iov[0].iov_base = (char *)line + done;
			iov[0].iov_len = len - done;
			n = writev(STDOUT_FILENO, iov, 2);
		} else {
			n = write(STDOUT_FILENO, "\n", 1);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	pthread_mutex_lock(&o->mu);
	if (err) {
		x->errors++;
	} else {
		x->records++;
		x->bytes += need;
		x->last_ns = wall_ns();
	}
	pthread_mutex_unlock(&o->mu);
	return err;
}

int outputs_write(struct outputs *o, const char *line, size_t len, uint64_t seq, bool urgent)
{
	int first = 0;

	if (len && line[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < o->n; i++) {
		struct output *x = &o->v[i];
		struct spool_drop d = { 0 };
		int err = 0;

		switch (x->type) {
		case OUTPUT_FILE:
			err = file_out_write(x->file, line, len);
			break;
		case OUTPUT_STDOUT:
			err = write_stdout(o, x, line, len);
			break;
		default:
			err = net_out_write(x->net, line, len, seq, urgent, &d);
			if (d.count)
				add_loss(o, x->name, &d);
			break;
		}
		if (err && !x->failing && err != -ENOSPC)
			log_warn("output '%s': write failed: %s", x->name, strerror(-err));
		if (err != -ENOSPC)
			x->failing = err != 0;
		if (err && !first)
			first = err;
	}
	return first;
}

int outputs_flush(struct outputs *o)
{
	int first = 0;

	for (size_t i = 0; i < o->n; i++) {
		int err = 0;

		if (o->v[i].file)
			err = file_out_flush(o->v[i].file);
		else if (o->v[i].net)
			err = net_out_flush(o->v[i].net);
		if (err && !first)
			first = err;
	}
	return first;
}

void outputs_reopen(struct outputs *o)
{
	for (size_t i = 0; i < o->n; i++) {
		if (o->v[i].file) {
			int err = file_out_reopen(o->v[i].file);

			if (err)
				log_warn("output '%s': reopen failed: %s", o->v[i].name,
					 strerror(-err));
		} else if (o->v[i].net) {
			net_out_reload(o->v[i].net);
		}
	}
}

size_t outputs_journal_files(struct outputs *o, const char **paths, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < o->n && n < max; i++) {
		struct output *x = &o->v[i];

		if (x->file) {
			snprintf(x->journal, sizeof(x->journal), "%s", file_out_path(x->file));
		} else if (x->net) {
			spool_newest_path(net_out_spool(x->net), x->journal, sizeof(x->journal));
			if (!x->journal[0])
				continue;
		} else {
			continue;
		}
		paths[n++] = x->journal;
	}
	return n;
}

size_t outputs_take_losses(struct outputs *o, struct output_loss *v, size_t max)
{
	size_t n;

	pthread_mutex_lock(&o->mu);
	n = o->n_losses < max ? o->n_losses : max;
	memcpy(v, o->losses, n * sizeof(*v));
	memmove(o->losses, o->losses + n, (o->n_losses - n) * sizeof(*v));
	o->n_losses -= n;
	pthread_mutex_unlock(&o->mu);
	return n;
}

size_t outputs_count(const struct outputs *o)
{
	return o->n;
}

int outputs_get_stats(struct outputs *o, size_t i, struct output_stats *st)
{
	struct output *x;

	if (i >= o->n)
		return -ENOENT;
	x = &o->v[i];
	memset(st, 0, sizeof(*st));
	st->name = x->name;
	st->type = x->type;
	if (x->file) {
		struct file_out_stats fs;

		file_out_get_stats(x->file, &fs);
		st->records = fs.records;
		st->bytes = fs.bytes;
		st->write_errors = fs.write_errors;
		st->fsync_errors = fs.fsync_errors;
		st->rotations = fs.rotations;
		st->last_success_ns = fs.last_write_ns;
	} else if (x->net) {
		struct net_out_stats ns;

		net_out_get_stats(x->net, &ns);
		st->records = ns.records;
		st->bytes = ns.bytes;
		st->batches = ns.batches;
		st->retries = ns.retries;
		st->fail_connect = ns.fail_connect;
		st->fail_4xx = ns.fail_4xx;
		st->fail_5xx = ns.fail_5xx;
		st->fail_other = ns.fail_other;
		st->write_errors = ns.spool_errors;
		st->quarantined = ns.spool.quarantined;
		st->rejected = ns.rejected;
		st->dropped = ns.spool.dropped;
		st->spool_records = ns.spool.records;
		st->spool_bytes = ns.spool.disk_bytes;
		st->spool_capacity = x->capacity;
		st->spool_corrupt = ns.spool.corrupt;
		st->spool_oldest_ns = ns.spool.oldest_ns;
		st->last_success_ns = ns.last_success_ns;
	} else {
		pthread_mutex_lock(&o->mu);
		st->records = x->records;
		st->bytes = x->bytes;
		st->write_errors = x->errors;
		st->last_success_ns = x->last_ns;
		pthread_mutex_unlock(&o->mu);
	}
	return 0;
}

struct family {
	const char *name, *type, *help;
	size_t off; /* in struct output_stats */
	bool net_only;
	const char *label, *value; /* an extra label */
};

#define F(n, t, h, field, net, l, v)                                     \
	{                                                                \
		n, t, h, offsetof(struct output_stats, field), net, l, v \
	}

static const struct family families[] = {
	F("llmtap_output_records_total", "counter",
	  "Records written (file, stdout) or acknowledged by the endpoint (http, otlp).", records,
	  false, NULL, NULL),
	F("llmtap_output_bytes_total", "counter", "Bytes of the records counted in records_total.",
	  bytes, false, NULL, NULL),
	F("llmtap_output_batches_total", "counter", "Batches acknowledged by the endpoint.",
	  batches, true, NULL, NULL),
	F("llmtap_output_retries_total", "counter", "Batches sent again after a retryable failure.",
	  retries, true, NULL, NULL),
	F("llmtap_output_failures_total", "counter", "Delivery and write failures, by kind.",
	  fail_connect, false, "kind", "connect"),
	F("llmtap_output_failures_total", NULL, NULL, fail_4xx, true, "kind", "http_4xx"),
	F("llmtap_output_failures_total", NULL, NULL, fail_5xx, true, "kind", "http_5xx"),
	F("llmtap_output_failures_total", NULL, NULL, fail_other, true, "kind", "other"),
	F("llmtap_output_failures_total", NULL, NULL, write_errors, false, "kind", "write"),
	F("llmtap_output_quarantined_records_total", "counter",
	  "Records the endpoint refused (4xx), kept in the spool's quarantine.", quarantined, true,
	  NULL, NULL),
	F("llmtap_output_rejected_records_total", "counter",
	  "Records an OTLP endpoint rejected in a partial success.", rejected, true, NULL, NULL),
	F("llmtap_output_dropped_records_total", "counter",
	  "Records given up by a full spool (reported in gap records).", dropped, true, "reason",
	  "spool_full"),
	F("llmtap_spool_records", "gauge", "Records in the spool not yet acknowledged.",
	  spool_records, true, NULL, NULL),
	F("llmtap_spool_bytes", "gauge", "Bytes of the spool's segment files.", spool_bytes, true,
	  NULL, NULL),
	F("llmtap_spool_capacity_bytes", "gauge", "The spool's size cap.", spool_capacity, true,
	  NULL, NULL),
	F("llmtap_spool_corrupt_total", "counter", "Torn or corrupt spool lines skipped.",
	  spool_corrupt, true, NULL, NULL),
	F("llmtap_output_rotations_total", "counter", "File rotations.", rotations, false, NULL,
	  NULL),
};

int outputs_render_metrics_buf(struct outputs *o, struct dynbuf *b)
{
	struct output_stats st[CONFIG_MAX_OUTPUTS];
	uint64_t now = wall_ns();
	bool any_net = false;
	int err = 0;

	for (size_t i = 0; i < o->n; i++) {
		outputs_get_stats(o, i, &st[i]);
		any_net |= o->v[i].net != NULL;
	}
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]) && !err; f++) {
		const struct family *fm = &families[f];

		if (fm->net_only && !any_net)
			continue;
		if (fm->type)
			err = prom_header(b, fm->name, fm->type, fm->help);
		for (size_t i = 0; i < o->n && !err; i++) {
			const char *labels[] = { "output",  st[i].name,
						 "type",    output_type_name(st[i].type),
						 fm->label, fm->value,
						 NULL };

			if (fm->net_only && !o->v[i].net)
				continue;
			if (fm->off == offsetof(struct output_stats, rotations) && !o->v[i].file)
				continue;
			err = prom_u64(b, fm->name, labels,
				       *(const uint64_t *)((const char *)&st[i] + fm->off));
		}
	}
	if (!err && any_net)
		err = prom_header(
			b, "llmtap_spool_oldest_age_seconds", "gauge",
			"Age of the oldest spool segment holding unacknowledged records.");
	for (size_t i = 0; i < o->n && !err; i++) {
		const char *labels[] = { "output", st[i].name, "type", output_type_name(st[i].type),
					 NULL };

		if (!o->v[i].net)
			continue;
		err = prom_f64(b, "llmtap_spool_oldest_age_seconds", labels,
			       st[i].spool_oldest_ns && now > st[i].spool_oldest_ns ?
				       (double)(now - st[i].spool_oldest_ns) / 1e9 :
				       0.0);
	}
	if (!err)
		err = prom_header(b, "llmtap_output_last_success_timestamp_seconds", "gauge",
				  "When the output last wrote or delivered a record (0: never).");
	for (size_t i = 0; i < o->n && !err; i++) {
		const char *labels[] = { "output", st[i].name, "type", output_type_name(st[i].type),
					 NULL };

		err = prom_f64(b, "llmtap_output_last_success_timestamp_seconds", labels,
			       (double)st[i].last_success_ns / 1e9);
	}
	return err;
}

/* the snapshot of the outputs' metrics stays under this */
#define METRICS_TEXT_MAX (4u << 20)

int outputs_render_metrics(struct outputs *o, char **text, size_t *len)
{
	struct dynbuf b;
	char *t;
	int err;

	dynbuf_init(&b, METRICS_TEXT_MAX);
	err = outputs_render_metrics_buf(o, &b);
	if (err == -ENOMEM) {
		dynbuf_free(&b);
		return err;
	}
	t = realloc(*text, (*text ? *len : 0) + b.len + 1);
	if (!t) {
		dynbuf_free(&b);
		return -ENOMEM;
	}
	if (!*text)
		*len = 0;
	memcpy(t + *len, b.buf ? b.buf : "", b.len);
	*len += b.len;
	t[*len] = '\0';
	*text = t;
	dynbuf_free(&b);
	return 0;
}

bool outputs_healthy(struct outputs *o)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].net && !net_out_healthy(o->v[i].net))
			return false;
	return true;
}

void outputs_close(struct outputs *o)
{
	if (!o)
		return;
	/* every shipper's grace runs at the same time */
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].net)
			net_out_begin_close(o->v[i].net, OUTPUTS_CLOSE_GRACE_MS);
	for (size_t i = 0; i < o->n; i++)
		close_output(&o->v[i]);
	pthread_mutex_destroy(&o->mu);
	free(o);
}
