/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * OTLP/HTTP JSON logs (opentelemetry-proto, JSON mapping: lowerCamelCase
 * keys, 64-bit integers as decimal strings, enums as integers).  Each sealed
 * line becomes one logRecord whose body is the line itself as a string, so
 * the hash chain stays verifiable at the receiver; its "attributes" are
 * mapped to OTLP AnyValues next to llmtap.seq / llmtap.prev / llmtap.id.
 * Pure functions, never log.
 */
#ifndef LLMTAP_OTLP_H
#define LLMTAP_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The OTLP/HTTP spec's cap on a response body (the server's side of it). */
#define OTLP_REPLY_MAX (4u << 20)

#define OTLP_SEVERITY_INFO 9
#define OTLP_SEVERITY_WARN 13

struct otlp_resource {
	const char *host_name; /* NULL: omitted */
	const char *host_id; /* NULL: omitted */
	const char *service_version;
};

/*
 * Encodes the '\n'-separated lines in buf as one ExportLogsServiceRequest
 * into *out (malloc'd, NUL-terminated, *out_len bytes).  observed_ns stamps
 * observedTimeUnixNano (and timeUnixNano of records without a "time").
 * 0 or -ENOMEM.
 */
int otlp_encode_logs(const char *buf, size_t len, const struct otlp_resource *res,
		     uint64_t observed_ns, char **out, size_t *out_len);

struct otlp_reply {
	uint64_t rejected; /* partialSuccess.rejectedLogRecords */
	bool partial; /* a partialSuccess object was present */
	char message[256]; /* partialSuccess.errorMessage (truncated) */
};

/*
 * Parses an ExportLogsServiceResponse (an empty body is a full success).
 * 0; -E2BIG over OTLP_REPLY_MAX; -EINVAL not JSON or wrong shape.
 */
int otlp_parse_reply(const char *body, size_t len, struct otlp_reply *r);

/* RFC 3339 ("2026-11-27T04:10:01.123456789Z", offsets allowed) to ns since
 * the epoch.  0 or -EINVAL. */
int otlp_parse_time(const char *s, uint64_t *ns);

#endif
