/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The agent's configuration: one YAML file (/etc/llmtap/llmtap.yaml, or
 * `llmtap run --config FILE`), documented key by key in docs/config.md.
 * Every key has a default, so an empty file is valid; unknown keys are
 * errors with a "did you mean" hint; every error names file:line:col.
 * Command-line flags override the file (main.c applies them after loading).
 */
#ifndef LLMTAP_CONFIG_H
#define LLMTAP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redact/redact.h"

#define CONFIG_DEFAULT_PATH "/etc/llmtap/llmtap.yaml"
#define CONFIG_STATE_DIR_DEFAULT "/var/lib/llmtap"
#define CONFIG_STATE_DIR_CHECKOUT "./.llmtap"
#define CONFIG_MAX_OUTPUTS 16
#define CONFIG_MAX_RULE_PATHS 16
#define CONFIG_MAX_PORTS 16 /* LT_SOCK_PORTS_MAX */
#define CONFIG_MAX_HEADERS 16
#define CONFIG_NAME_MAX 64

enum output_type {
	OUTPUT_FILE, /* JSON Lines file with rotation and retention */
	OUTPUT_STDOUT, /* JSON Lines on stdout */
	OUTPUT_HTTP, /* NDJSON batches POSTed (Vector, Fluent Bit, Logstash, ClickHouse) */
	OUTPUT_OTLP, /* OTLP/HTTP JSON logs (/v1/logs) */
};

enum output_fsync {
	OUTPUT_FSYNC_BATCH, /* once per event-loop pass that wrote (default) */
	OUTPUT_FSYNC_ALWAYS, /* after every record */
	OUTPUT_FSYNC_NEVER, /* the kernel decides */
};

enum spool_policy {
	SPOOL_DROP_OLDEST, /* default: make room, and say so with a gap record */
	SPOOL_DROP_NEWEST, /* keep what is queued, refuse new records (gap record) */
};

struct output_header {
	char *name;
	char *value;
};

struct output_config {
	char name[CONFIG_NAME_MAX]; /* unique; names the spool directory */
	enum output_type type;
	unsigned int line; /* where it was defined in the file (0: command line) */

	/* file */
	char *path;
	uint64_t rotate_bytes; /* 0: never by size; default 100 MiB */
	uint64_t rotate_interval_s; /* 0: never by age; default 86400 */
	bool compress; /* gzip rotated files; default true */
	uint64_t retention_days; /* delete rotated files older; 0: keep; default 180 */
	uint64_t retention_bytes; /* cap on rotated files together; 0: none */
	enum output_fsync fsync;
	uint32_t mode; /* default 0640 */

	/* http, otlp */
	char *url; /* http: the POST URL; otlp: the endpoint, "/v1/logs" appended
		    * unless the URL already has a path */
	struct output_header headers[CONFIG_MAX_HEADERS];
	size_t n_headers;
	char *token_file; /* "Authorization: Bearer <first line>" */
	char *ca_file, *cert_file, *key_file;
	bool tls_verify; /* default true; false only with an explicit key */
	bool gzip; /* Content-Encoding: gzip; default true */
	uint64_t batch_records; /* default 500 */
	uint64_t batch_bytes; /* default 1 MiB */
	uint64_t batch_interval_ms; /* default 1000 */
	uint64_t timeout_ms; /* per request; default 10000 */
	uint64_t retry_max_ms; /* backoff ceiling; default 60000 */
	uint64_t retry_initial_ms; /* first backoff step; 0: 500 (tests set it low) */
	uint64_t spool_max_bytes; /* default 1 GiB */
	enum spool_policy spool_policy;
};

struct config {
	char *path; /* the file loaded, NULL: defaults only */
	uint8_t sha256[32]; /* of the file's bytes (all zero: no file) */
	char *state_dir;

	struct {
		bool sockets; /* plaintext HTTP capture (TLS capture is always on) */
		uint16_t ports[CONFIG_MAX_PORTS];
		size_t n_ports;
		bool ports_only, all_http, content, hold;
		uint64_t call_cap, ringbuf_bytes;
		char *return_probes; /* "auto", "uretprobe", "ret-insn" */
		char *prices; /* NULL: the embedded table */
	} capture;

	struct {
		bool enabled;
		char *key_file; /* NULL: <state_dir>/redact.key */
		struct redact_config cfg; /* entities and modes */
	} redaction;

	struct {
		char *paths[CONFIG_MAX_RULE_PATHS];
		size_t n_paths; /* 0 and !paths_set: the default paths */
		bool paths_set;
	} rules;

	struct {
		uint64_t checkpoint_records; /* default 1000 */
		uint64_t checkpoint_interval_s; /* default 60 */
		uint64_t heartbeat_interval_s; /* idle checkpoint; default 300 */
		uint64_t health_interval_s; /* health record; default 300 */
		char *origin; /* checkpoint origin line; NULL: "llmtap/<host name>" */
	} audit;

	struct {
		char *listen; /* "127.0.0.1:9464"; NULL or "": no endpoint */
	} metrics;

	struct output_config outputs[CONFIG_MAX_OUTPUTS];
	size_t n_outputs;
	bool outputs_set; /* the file named outputs (else the defaults apply) */
};

struct config_diag {
	char *file;
	unsigned int line, col;
	char *msg;
};

struct config_diags {
	struct config_diag *v;
	size_t n, alloc;
};

/* The defaults: what an empty file means. 0 or -ENOMEM. */
int config_init_default(struct config *c);
/*
 * Loads path over the defaults.  0; -EINVAL with diagnostics in d
 * (file:line:col: message each); -errno when the file cannot be read.
 * c is left freeable in every case.
 */
int config_load(const char *path, struct config *c, struct config_diags *d);
/* Loads from memory (fuzzing, tests); name is used in diagnostics. */
int config_load_buf(const char *name, const char *buf, size_t len, struct config *c,
		    struct config_diags *d);
void config_free(struct config *c);
void config_diags_free(struct config_diags *d);

/* Adds a file output for --output PATH ("-": stdout), named after the path. */
int config_add_output_path(struct config *c, const char *path);

/* When no output is configured: ./llmtap-audit.jsonl and stdout from a
 * source checkout, else /var/log/llmtap/audit.jsonl.  0 or -ENOMEM. */
int config_default_outputs(struct config *c);

/* True for a binary at BUILD/llmtap of a source checkout: its state and
 * outputs stay in the checkout, and /etc/llmtap/llmtap.yaml is not read
 * unless named with --config. */
bool config_in_checkout(void);
/* The checkout's top directory (static storage), or NULL when installed. */
const char *config_checkout_dir(void);

/* "90" (seconds), "500ms", "30s", "5m", "24h", "180d" -> ms.  0 or -EINVAL. */
int config_parse_duration_ms(const char *s, uint64_t *out);

const char *output_type_name(enum output_type t);

#endif
