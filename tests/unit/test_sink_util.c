// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "test_sink_util.h"

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dirs[4][64];
static char urls[CONFIG_MAX_OUTPUTS][96];

char *tsink_tmpdir(int slot)
{
	snprintf(dirs[slot], sizeof(dirs[slot]), "/tmp/llmtap-sink-XXXXXX");
	return mkdtemp(dirs[slot]);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

void tsink_rmrf(const char *dir)
{
	if (dir && strncmp(dir, "/tmp/llmtap-sink-", 17) == 0)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void tsink_net_config(struct config *cfg, const char *state_dir, const char *name,
		      enum output_type type, uint16_t port)
{
	struct output_config *c = &cfg->outputs[cfg->n_outputs];

	cfg->state_dir = (char *)state_dir;
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->type = type;
	snprintf(urls[cfg->n_outputs], sizeof(urls[0]), "http://127.0.0.1:%u%s", port,
		 type == OUTPUT_HTTP ? "/ingest?x=1" : "");
	c->url = urls[cfg->n_outputs];
	c->tls_verify = true;
	c->gzip = true;
	c->batch_records = 100;
	c->batch_bytes = 1 << 20;
	c->batch_interval_ms = 20;
	c->timeout_ms = 2000;
	c->retry_max_ms = 200;
	c->retry_initial_ms = 10;
	c->spool_max_bytes = 1 << 20;
	cfg->n_outputs++;
}

const char *tsink_line(uint64_t seq, size_t pad)
{
	static char buf[4096];
	int n = snprintf(buf, sizeof(buf),
			 "{\"seq\":%" PRIu64 ",\"id\":\"id-%" PRIu64
			 "\",\"prev\":\"%064d\",\"pad\":\"",
			 seq, seq, 0);

	for (size_t i = 0; i < pad && (size_t)n < sizeof(buf) - 4; i++)
		buf[n++] = 'x';
	snprintf(buf + n, sizeof(buf) - (size_t)n, "\"}");
	return buf;
}

char *tsink_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		b = malloc((size_t)n + 1);
		if (b && fread(b, 1, (size_t)n, f) == (size_t)n) {
			b[n] = '\0';
			if (len)
				*len = (size_t)n;
		} else {
			free(b);
			b = NULL;
		}
	}
	fclose(f);
	return b;
}

size_t tsink_count(const char *s, char c)
{
	size_t n = 0;

	for (; s && *s; s++)
		n += *s == c;
	return n;
}
