// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "net_out.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "process/hostinfo.h"
#include "sink/otlp.h"
#include "sink/retry.h"
#include "util/fileio.h"
#include "util/log.h"

#define NS_PER_MS 1000000ull
#define TOKEN_MAX 8192
#define HTTP_REPLY_MAX (64u << 10)
/* never retry faster than this, whatever the jitter drew */
#define BACKOFF_FLOOR_MS 10
/* plain 5xx answers to the same batch before it is quarantined */
#define POISON_TRIES 10

enum send_result {
	SEND_OK,
	SEND_RETRY,
	SEND_QUARANTINE,
	SEND_TOO_LARGE,
};

struct net_out {
	char name[CONFIG_NAME_MAX];
	enum output_type type;
	char *url;
	bool gzip, tls_verify;
	char *token_file, *ca_file, *cert_file, *key_file;
	char curl_err[CURL_ERROR_SIZE]; /* libcurl's own words on the last failure */
	char **headers; /* "Name: value" */
	size_t n_headers;
	uint64_t batch_records, batch_bytes, batch_interval_ms, timeout_ms;
	uint64_t retry_max_ms, retry_initial_ms;
	struct otlp_resource res;
	struct hostinfo host;

	struct spool *spool;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop, urgent, reload;
	uint64_t appended_since_wake;
	uint64_t deadline_ns; /* mono: when stopping, the shipper's last moment */
	uint64_t beat_ns, busy_since_ns; /* mono: watchdog (beat: under mu) */

	/* shipper thread only */
	CURL *curl;
	struct curl_slist *hdrs;
	char *token;
	char retry_after[64];
	char *reply;
	size_t reply_len, reply_cap;
	bool failing;

	pthread_mutex_t st_mu;
	struct net_out_stats st;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define STAT_ADD(n, field, v)                      \
	do {                                       \
		pthread_mutex_lock(&(n)->st_mu);   \
		(n)->st.field += (v);              \
		pthread_mutex_unlock(&(n)->st_mu); \
	} while (0)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* otlp: "/v1/logs" appended unless the URL names a path of its own */
static char *otlp_url(const char *endpoint)
{
	const char *host = strstr(endpoint, "://"), *path;
	size_t len = strlen(endpoint);
	char *u;

	host = host ? host + 3 : endpoint;
	path = strpbrk(host, "/?#");
	if (path && path[0] == '/' && path[1] && path[1] != '?' && path[1] != '#')
		return strdup(endpoint);
	if (path)
		len = (size_t)(path - endpoint);
	u = malloc(len + sizeof("/v1/logs"));
	if (!u)
		return NULL;
	memcpy(u, endpoint, len);
	strcpy(u + len, "/v1/logs");
	return u;
}

static void free_token(struct net_out *n)
{
	if (n->token) {
		explicit_bzero(n->token, strlen(n->token));
		free(n->token);
		n->token = NULL;
	}
}

/* The token file's first line; the old token stays when it cannot be read. */
static int read_token(struct net_out *n)
{
	char *buf;
	ssize_t r;
	size_t len = 0;
	int fd, err = 0;

	if (!n->token_file)
		return 0;
	fd = open(n->token_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = calloc(1, TOKEN_MAX + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	r = fileio_read_full(fd, buf, TOKEN_MAX);
	close(fd);
	if (r < 0)
		err = (int)r;
	else
		len = (size_t)r;
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	len = strlen(buf);
	while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		buf[--len] = '\0';
	if (!err && !len)
		err = -ENODATA;
	if (err) {
		explicit_bzero(buf, TOKEN_MAX);
		free(buf);
		return err;
	}
	free_token(n);
	n->token = buf;
	return 0;
}

static bool has_header(const struct net_out *n, const char *name)
{
	size_t l = strlen(name);

	for (size_t i = 0; i < n->n_headers; i++)
		if (strncasecmp(n->headers[i], name, l) == 0 && n->headers[i][l] == ':')
			return true;
	return false;
}

static int build_headers(struct net_out *n)
{
	struct curl_slist *h = NULL, *t;
	char *auth = NULL;

	curl_slist_free_all(n->hdrs);
	n->hdrs = NULL;
#define ADD(s)                                 \
	do {                                   \
		t = curl_slist_append(h, (s)); \
		if (!t)                        \
			goto nomem;            \
		h = t;                         \
	} while (0)
	if (!has_header(n, "Content-Type"))
		ADD(n->type == OUTPUT_OTLP ? "Content-Type: application/json" :
					     "Content-Type: application/x-ndjson");
	if (n->gzip)
		ADD("Content-Encoding: gzip");
	ADD("Expect:"); /* no 100-continue round trip */
	if (n->token && !has_header(n, "Authorization")) {
		if (asprintf(&auth, "Authorization: Bearer %s", n->token) < 0) {
			auth = NULL;
			goto nomem;
		}
		ADD(auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
		auth = NULL;
	}
	for (size_t i = 0; i < n->n_headers; i++)
		ADD(n->headers[i]);
#undef ADD
	n->hdrs = h;
	return 0;
nomem:
	free(auth);
	curl_slist_free_all(h);
	return -ENOMEM;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct net_out *n = arg;
	size_t len = size * nmemb, take = len;

	if (n->reply_len + take > n->reply_cap)
		take = n->reply_cap - n->reply_len;
	if (take) {
		char *nb = realloc(n->reply, n->reply_len + take + 1);

		if (!nb)
			return 0;
		n->reply = nb;
		memcpy(n->reply + n->reply_len, p, take);
		n->reply_len += take;
		n->reply[n->reply_len] = '\0';
	}
	return len; /* past the cap: read and discarded */
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct net_out *n = arg;
	size_t len = size * nmemb;
	static const char key[] = "retry-after:";

	if (len > sizeof(key) - 1 && strncasecmp(p, key, sizeof(key) - 1) == 0) {
		size_t vl = len - (sizeof(key) - 1);

		if (vl >= sizeof(n->retry_after))
			vl = sizeof(n->retry_after) - 1;
		memcpy(n->retry_after, p + sizeof(key) - 1, vl);
		n->retry_after[vl] = '\0';
	}
	return len;
}

/* Aborts a transfer that runs past the shutdown deadline. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct net_out *n = arg;
	bool abort_now;

	pthread_mutex_lock(&n->mu);
	abort_now = n->stop && mono_ns() >= n->deadline_ns;
	pthread_mutex_unlock(&n->mu);
	return abort_now;
}

static int setup_curl(struct net_out *n)
{
	CURL *c = curl_easy_init();

	if (!c)
		return -ENOMEM;
	curl_easy_setopt(c, CURLOPT_URL, n->url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, n->curl_err);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)n->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(n->timeout_ms < 10000 ? n->timeout_ms : 10000));
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "llmtap/" LLMTAP_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, n->tls_verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, n->tls_verify ? 2L : 0L);
	if (n->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, n->ca_file);
	if (n->cert_file)
		curl_easy_setopt(c, CURLOPT_SSLCERT, n->cert_file);
	if (n->key_file)
		curl_easy_setopt(c, CURLOPT_SSLKEY, n->key_file);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, n);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, n);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, n);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	n->curl = c;
	return 0;
}

/* gzip (RFC 1952) of in into a malloc'd buffer. */
static int gzip_buf(const char *in, size_t len, char **out, size_t *out_len)
{
	z_stream z = { 0 };
	size_t cap;
	char *buf;
	int rc;

	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&z, (uLong)len) + 32;
	buf = malloc(cap);
	if (!buf) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)buf;
	z.avail_out = (uInt)cap;
	rc = deflate(&z, Z_FINISH);
	*out_len = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	return 0;
}

static const char *status_kind(long code)
{
	return code >= 500 ? "server error" : code == 429 ? "throttled" : "client error";
}

/* One POST of batch b.  *retry_ms: the server's Retry-After (0: none). */
static enum send_result send_batch(struct net_out *n, const struct spool_batch *b,
				   uint64_t *retry_ms, long *status)
{
	char *body = NULL, *gz = NULL;
	const char *post;
	size_t body_len, post_len;
	long code = 0;
	CURLcode rc;
	enum send_result res;
	int err;

	*retry_ms = 0;
	*status = 0;
	if (n->type == OUTPUT_OTLP) {
		err = otlp_encode_logs(b->data, b->len, &n->res, wall_ns(), &body, &body_len);
		if (err)
			return SEND_RETRY;
		post = body;
		post_len = body_len;
	} else {
		post = b->data;
		post_len = b->len;
	}
	if (n->gzip) {
		if (gzip_buf(post, post_len, &gz, &post_len)) {
			free(body);
			return SEND_RETRY;
		}
		post = gz;
	}
	n->retry_after[0] = '\0';
	n->reply_len = 0;
	curl_easy_setopt(n->curl, CURLOPT_HTTPHEADER, n->hdrs);
	curl_easy_setopt(n->curl, CURLOPT_POSTFIELDS, post);
	curl_easy_setopt(n->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)post_len);
	n->curl_err[0] = '\0';
	rc = curl_easy_perform(n->curl);
	curl_easy_setopt(n->curl, CURLOPT_POSTFIELDS, NULL);
	free(body);
	free(gz);
	if (rc != CURLE_OK) {
		STAT_ADD(n, fail_connect, 1);
		if (!n->failing)
			/* the error buffer names the cause ("unable to get local
			 * issuer certificate"); strerror only the class */
			log_warn("output '%s': delivery failing: %s; records stay in the spool",
				 n->name, n->curl_err[0] ? n->curl_err : curl_easy_strerror(rc));
		n->failing = true;
		return SEND_RETRY;
	}
	curl_easy_getinfo(n->curl, CURLINFO_RESPONSE_CODE, &code);
	*status = code;
	if (code >= 200 && code < 300) {
		if (n->type == OUTPUT_OTLP) {
			struct otlp_reply r;

			if (otlp_parse_reply(n->reply, n->reply_len, &r) == 0 && r.partial &&
			    (r.rejected || r.message[0])) {
				/* the spec: a partial success is never retried */
				STAT_ADD(n, rejected, r.rejected);
				for (char *p = r.message; *p; p++)
					if ((unsigned char)*p < 0x20)
						*p = ' ';
				log_warn(
					"output '%s': endpoint rejected %llu of %zu records: %.200s",
					n->name, (unsigned long long)r.rejected, b->n,
					r.message[0] ? r.message : "(no message)");
			}
		}
		if (n->failing)
			log_info("output '%s': delivery resumed", n->name);
		n->failing = false;
		return SEND_OK;
	}
	if (n->retry_after[0])
		retry_after_parse(n->retry_after, strlen(n->retry_after), time(NULL), retry_ms);
	if (code == 413)
		return SEND_TOO_LARGE;
	if (code == 429 || code == 502 || code == 503 || code == 504 ||
	    (code >= 500 && n->type == OUTPUT_HTTP)) {
		STAT_ADD(n, fail_5xx, 1);
		res = SEND_RETRY;
	} else {
		if (code >= 400 && code < 500)
			STAT_ADD(n, fail_4xx, 1);
		else
			STAT_ADD(n, fail_other, 1);
		res = SEND_QUARANTINE;
	}
	if (res == SEND_RETRY && !n->failing)
		log_warn("output '%s': delivery failing: HTTP %ld (%s); records stay in the spool",
			 n->name, code, status_kind(code));
	if (res == SEND_RETRY)
		n->failing = true;
	else
		log_warn("output '%s': HTTP %ld: %zu records quarantined in the spool, not retried",
			 n->name, code, b->n);
	return res;
}

static uint64_t rnd64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = mono_ns() * 6364136223846793005ull;
	return v;
}

static void timed_wait(struct net_out *n, uint64_t until_mono)
{
	struct timespec ts;
	uint64_t now = mono_ns(), wait = until_mono > now ? until_mono - now : 0;

	n->beat_ns = now;
	if (!wait)
		return;
	/* at most a second at a time: the heartbeat stays fresh */
	if (wait > 1000 * NS_PER_MS)
		wait = 1000 * NS_PER_MS;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	wait += (uint64_t)ts.tv_nsec;
	ts.tv_sec += (time_t)(wait / 1000000000ull);
	ts.tv_nsec = (long)(wait % 1000000000ull);
	pthread_cond_timedwait(&n->cond, &n->mu, &ts);
}

/* Waits until a batch is due.  false: the shipper must stop. */
static bool wait_for_batch(struct net_out *n, uint64_t backoff_until)
{
	bool reload;

	pthread_mutex_lock(&n->mu);
	for (;;) {
		uint64_t now = mono_ns(), since, pending;
		struct spool_stats ss;

		if (n->stop && (now >= n->deadline_ns || n->failing))
			goto stop;
		if (backoff_until > now) {
			if (n->stop)
				goto stop; /* never wait out a backoff at shutdown */
			timed_wait(n, backoff_until);
			continue;
		}
		pending = spool_pending(n->spool, &since);
		now = mono_ns(); /* since may be later than the first reading */
		if (!pending) {
			if (n->stop)
				goto stop;
			n->appended_since_wake = 0;
			timed_wait(n, now + 1000 * NS_PER_MS);
			continue;
		}
		if (n->stop || n->urgent || pending >= n->batch_records || !since ||
		    now - since >= n->batch_interval_ms * NS_PER_MS)
			break;
		spool_get_stats(n->spool, &ss);
		if (ss.bytes >= n->batch_bytes)
			break;
		timed_wait(n, since + n->batch_interval_ms * NS_PER_MS);
	}
	n->urgent = false;
	n->appended_since_wake = 0;
	reload = n->reload;
	n->reload = false;
	pthread_mutex_unlock(&n->mu);
	if (reload) {
		int err = read_token(n);

		if (err)
			log_warn(
				"output '%s': cannot read token file: %s (keeping the previous token)",
				n->name, strerror(-err));
		if (build_headers(n))
			log_warn("output '%s': out of memory building headers", n->name);
	}
	return true;
stop:
	pthread_mutex_unlock(&n->mu);
	return false;
}

static void *shipper(void *arg)
{
	struct net_out *n = arg;
	struct spool_batch b = { 0 };
	uint64_t backoff_until = 0, limit = n->batch_records, poison_seq = 0, poison_end = 0;
	unsigned int attempt = 0, poison = 0;

	while (wait_for_batch(n, backoff_until)) {
		uint64_t retry_ms, delay;
		enum send_result r;
		long status;
		int err;

		err = spool_read(n->spool, limit, n->batch_bytes, &b);
		if (err) {
			log_warn("output '%s': reading the spool failed: %s", n->name,
				 strerror(-err));
			backoff_until = mono_ns() + 1000 * NS_PER_MS;
			continue;
		}
		if (!b.n)
			continue;
		pthread_mutex_lock(&n->mu);
		n->busy_since_ns = mono_ns();
		pthread_mutex_unlock(&n->mu);
		r = send_batch(n, &b, &retry_ms, &status);
		/* a batch an http endpoint keeps failing with a plain 5xx (not
		 * 502/503/504: ClickHouse answers 500 to data it cannot parse)
		 * would block the spool forever: quarantined after a while */
		if (r == SEND_RETRY && status >= 500 && status != 502 && status != 503 &&
		    status != 504) {
			if (b.first_seq == poison_seq && b.end.off == poison_end) {
				if (++poison >= POISON_TRIES) {
					log_warn(
						"output '%s': HTTP %ld %d times to the same batch: "
						"%zu records quarantined in the spool",
						n->name, status, poison, b.n);
					r = SEND_QUARANTINE;
					poison = 0;
				}
			} else {
				poison_seq = b.first_seq;
				poison_end = b.end.off;
				poison = 1;
			}
		} else {
			poison = 0;
		}
		pthread_mutex_lock(&n->mu);
		n->busy_since_ns = 0;
		n->beat_ns = mono_ns();
		pthread_mutex_unlock(&n->mu);
		switch (r) {
		case SEND_OK:
			/* counted before the ack: a drained spool means counted */
			pthread_mutex_lock(&n->st_mu);
			n->st.records += b.n;
			n->st.bytes += b.len;
			n->st.batches++;
			n->st.last_success_ns = wall_ns();
			pthread_mutex_unlock(&n->st_mu);
			err = spool_ack(n->spool, &b);
			if (err)
				log_warn("output '%s': cannot persist the spool cursor: %s "
					 "(records may be sent again after a restart)",
					 n->name, strerror(-err));
			attempt = 0;
			backoff_until = 0;
			/* grow back after a 413 */
			if (limit < n->batch_records)
				limit = limit * 2 < n->batch_records ? limit * 2 : n->batch_records;
			break;
		case SEND_TOO_LARGE:
			if (b.n > 1) {
				limit = b.n / 2;
				break;
			}
			/* one record too large for the endpoint: quarantined */
			STAT_ADD(n, fail_4xx, 1);
			__attribute__((fallthrough));
		case SEND_QUARANTINE:
			err = spool_quarantine(n->spool, &b);
			if (err) {
				log_warn("output '%s': cannot quarantine a batch: %s", n->name,
					 strerror(-err));
				backoff_until = mono_ns() + 1000 * NS_PER_MS;
			} else {
				STAT_ADD(n, quarantined_batches, 1);
			}
			break;
		case SEND_RETRY:
			STAT_ADD(n, retries, 1);
			delay = retry_backoff_ms(attempt, n->retry_initial_ms, n->retry_max_ms,
						 rnd64());
			if (attempt < 64)
				attempt++;
			if (retry_ms > delay)
				delay = retry_ms;
			if (delay > n->retry_max_ms)
				delay = n->retry_max_ms;
			if (delay < BACKOFF_FLOOR_MS)
				delay = BACKOFF_FLOOR_MS;
			backoff_until = mono_ns() + delay * NS_PER_MS;
			break;
		}
	}
	spool_batch_free(&b);
	return NULL;
}

static char *dup_opt(const char *s, bool *oom)
{
	char *d;

	if (!s || !s[0])
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

static void free_fields(struct net_out *n)
{
	free(n->url);
	free(n->token_file);
	free(n->ca_file);
	free(n->cert_file);
	free(n->key_file);
	for (size_t i = 0; i < n->n_headers; i++)
		free(n->headers[i]);
	free(n->headers);
	free_token(n);
	free(n->reply);
	curl_slist_free_all(n->hdrs);
	if (n->curl)
		curl_easy_cleanup(n->curl);
}

int net_out_open(const struct output_config *c, const char *spool_dir, struct net_out **out,
		 char *errbuf, size_t errlen)
{
	struct spool_opts so = { c->spool_max_bytes, 0, c->spool_policy };
	struct net_out *n;
	bool oom = false;
	int err;

	*out = NULL;
	if (!c->url || !c->url[0]) {
		snprintf(errbuf, errlen, "output '%s': no url", c->name);
		return -EINVAL;
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		snprintf(errbuf, errlen, "output '%s': libcurl initialisation failed", c->name);
		return -ENOMEM;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	pthread_mutex_init(&n->mu, NULL);
	pthread_mutex_init(&n->st_mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&n->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	snprintf(n->name, sizeof(n->name), "%s", c->name);
	n->type = c->type;
	n->url = c->type == OUTPUT_OTLP ? otlp_url(c->url) : strdup(c->url);
	oom = !n->url;
	n->gzip = c->gzip;
	n->tls_verify = c->tls_verify;
	n->token_file = dup_opt(c->token_file, &oom);
	n->ca_file = dup_opt(c->ca_file, &oom);
	n->cert_file = dup_opt(c->cert_file, &oom);
	n->key_file = dup_opt(c->key_file, &oom);
	if (c->n_headers) {
		n->headers = calloc(c->n_headers, sizeof(char *));
		oom |= !n->headers;
		for (size_t i = 0; n->headers && i < c->n_headers; i++) {
			if (asprintf(&n->headers[i], "%s: %s", c->headers[i].name,
				     c->headers[i].value ? c->headers[i].value : "") < 0) {
				n->headers[i] = NULL;
				oom = true;
				break;
			}
			n->n_headers++;
		}
	}
	n->batch_records = c->batch_records ? c->batch_records : 500;
	n->batch_bytes = c->batch_bytes ? c->batch_bytes : 1u << 20;
	n->batch_interval_ms = c->batch_interval_ms ? c->batch_interval_ms : 1000;
	n->timeout_ms = c->timeout_ms ? c->timeout_ms : 10000;
	n->retry_max_ms = c->retry_max_ms ? c->retry_max_ms : 60000;
	n->retry_initial_ms = c->retry_initial_ms ? c->retry_initial_ms : 500;
	if (n->retry_initial_ms > n->retry_max_ms)
		n->retry_initial_ms = n->retry_max_ms;
	n->reply_cap = c->type == OUTPUT_OTLP ? OTLP_REPLY_MAX : HTTP_REPLY_MAX;
	hostinfo_read(&n->host, NULL);
	n->res.host_name = n->host.name[0] ? n->host.name : NULL;
	n->res.host_id = n->host.id[0] ? n->host.id : NULL;
	n->res.service_version = LLMTAP_VERSION;
	if (oom) {
		err = -ENOMEM;
		goto fail;
	}
	if (n->token_file) {
		err = read_token(n);
		if (err) {
			snprintf(errbuf, errlen, "output '%s': cannot read token_file %s: %s",
				 c->name, c->token_file, strerror(-err));
			goto fail;
		}
	}
	err = build_headers(n);
	if (!err)
		err = setup_curl(n);
	if (err)
		goto fail;
	err = spool_open(spool_dir, &so, &n->spool);
	if (err) {
		snprintf(errbuf, errlen, "output '%s': cannot open spool %s: %s", c->name,
			 spool_dir, strerror(-err));
		goto fail;
	}
	if (pthread_create(&n->thread, NULL, shipper, n) != 0) {
		err = -EAGAIN;
		goto fail;
	}
	n->thread_started = true;
	*out = n;
	return 0;
fail:
	if (err == -ENOMEM && !errbuf[0])
		snprintf(errbuf, errlen, "output '%s': out of memory", c->name);
	spool_close(n->spool);
	free_fields(n);
	pthread_cond_destroy(&n->cond);
	pthread_mutex_destroy(&n->mu);
	pthread_mutex_destroy(&n->st_mu);
	free(n);
	return err;
}

int net_out_write(struct net_out *n, const char *line, size_t len, uint64_t seq, bool urgent,
		  struct spool_drop *drop)
{
	int err;

	if (len && line[len - 1] == '\n')
		len--;
	err = spool_append(n->spool, line, len, seq, drop);
	if (err && err != -ENOSPC)
		STAT_ADD(n, spool_errors, 1);
	pthread_mutex_lock(&n->mu);
	if (urgent)
		n->urgent = true;
	/* wake the shipper to start its batch timer, when a batch is full, or now */
	if (!err &&
	    (urgent || ++n->appended_since_wake == 1 || n->appended_since_wake == n->batch_records))
		pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->mu);
	return err;
}

int net_out_flush(struct net_out *n)
{
	return spool_sync(n->spool);
}

void net_out_reload(struct net_out *n)
{
	pthread_mutex_lock(&n->mu);
	n->reload = true;
	pthread_mutex_unlock(&n->mu);
}

void net_out_get_stats(struct net_out *n, struct net_out_stats *st)
{
	pthread_mutex_lock(&n->st_mu);
	*st = n->st;
	pthread_mutex_unlock(&n->st_mu);
	spool_get_stats(n->spool, &st->spool);
}

struct spool *net_out_spool(struct net_out *n)
{
	return n->spool;
}

bool net_out_healthy(struct net_out *n)
{
	uint64_t now = mono_ns();
	bool ok;

	pthread_mutex_lock(&n->mu);
	if (n->busy_since_ns)
		ok = now - n->busy_since_ns < (n->timeout_ms + 5000) * NS_PER_MS;
	else
		ok = !n->beat_ns || now - n->beat_ns < 5000 * NS_PER_MS;
	pthread_mutex_unlock(&n->mu);
	return ok;
}

void net_out_begin_close(struct net_out *n, uint64_t grace_ms)
{
	spool_sync(n->spool);
	pthread_mutex_lock(&n->mu);
	if (!n->stop) {
		n->stop = true;
		n->deadline_ns = mono_ns() + grace_ms * NS_PER_MS;
	}
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->mu);
}

void net_out_close(struct net_out *n, uint64_t grace_ms)
{
	if (!n)
		return;
	net_out_begin_close(n, grace_ms);
	if (n->thread_started)
		pthread_join(n->thread, NULL);
	spool_close(n->spool);
	free_fields(n);
	pthread_cond_destroy(&n->cond);
	pthread_mutex_destroy(&n->mu);
	pthread_mutex_destroy(&n->st_mu);
	free(n);
}
