// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "prom.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int prom_escape(struct dynbuf *b, const char *v)
{
	const char *p = v ? v : "";
	int err = 0;

	while (*p && !err) {
		size_t run = strcspn(p, "\\\"\n");

		if (run)
			err = dynbuf_append(b, p, run);
		p += run;
		if (!*p || err)
			break;
		err = dynbuf_append_str(b, *p == '\n' ? "\\n" : *p == '"' ? "\\\"" : "\\\\");
		p++;
	}
	return err;
}

int prom_header(struct dynbuf *b, const char *name, const char *type, const char *help)
{
	int err = 0;

	err = err ?: dynbuf_append_str(b, "# HELP ");
	err = err ?: dynbuf_append_str(b, name);
	err = err ?: dynbuf_append_str(b, " ");
	/* HELP text escapes only \ and newline */
	for (const char *p = help; *p && !err; p++)
		err = *p == '\\' ? dynbuf_append_str(b, "\\\\") :
		      *p == '\n' ? dynbuf_append_str(b, "\\n") :
				   dynbuf_append(b, p, 1);
	err = err ?: dynbuf_append_str(b, "\n# TYPE ");
	err = err ?: dynbuf_append_str(b, name);
	err = err ?: dynbuf_append_str(b, " ");
	err = err ?: dynbuf_append_str(b, type);
	err = err ?: dynbuf_append_str(b, "\n");
	return err;
}

static int sample(struct dynbuf *b, const char *name, const char *const *labels, const char *val)
{
	int err = dynbuf_append_str(b, name);

	if (labels && labels[0]) {
		err = err ?: dynbuf_append_str(b, "{");
		for (size_t i = 0; labels[i] && !err; i += 2) {
			if (i)
				err = dynbuf_append_str(b, ",");
			err = err ?: dynbuf_append_str(b, labels[i]);
			err = err ?: dynbuf_append_str(b, "=\"");
			err = err ?: prom_escape(b, labels[i + 1]);
			err = err ?: dynbuf_append_str(b, "\"");
		}
		err = err ?: dynbuf_append_str(b, "}");
	}
	err = err ?: dynbuf_append_str(b, " ");
	err = err ?: dynbuf_append_str(b, val);
	err = err ?: dynbuf_append_str(b, "\n");
	return err;
}

int prom_u64(struct dynbuf *b, const char *name, const char *const *labels, uint64_t v)
{
	char val[24];

	snprintf(val, sizeof(val), "%" PRIu64, v);
	return sample(b, name, labels, val);
}

int prom_f64(struct dynbuf *b, const char *name, const char *const *labels, double v)
{
	char val[40];

	if (isnan(v))
		snprintf(val, sizeof(val), "NaN");
	else if (isinf(v))
		snprintf(val, sizeof(val), v > 0 ? "+Inf" : "-Inf");
	else
		snprintf(val, sizeof(val), "%.17g", v);
	return sample(b, name, labels, val);
}
