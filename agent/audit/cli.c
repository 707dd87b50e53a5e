// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/chain.h"
#include "audit/note.h"
#include "audit/verify.h"
#include "config/config.h"
#include "util/strnum.h"

const char *audit_cli_state_dir(const char *given)
{
	static char dir[PATH_MAX];
	struct config c;
	struct stat st;

	if (given && given[0])
		return given;
	/* the agent's own rule (main_run.c): the configuration's state_dir,
	 * whose default depends on a source checkout */
	if (config_init_default(&c))
		return CONFIG_STATE_DIR_DEFAULT;
	if (!config_in_checkout() && stat(CONFIG_DEFAULT_PATH, &st) == 0)
		config_load(CONFIG_DEFAULT_PATH, &c, NULL);
	snprintf(dir, sizeof(dir), "%s", c.state_dir ? c.state_dir : CONFIG_STATE_DIR_DEFAULT);
	config_free(&c);
	return dir;
}

int audit_cli_load_key(const char *arg, struct audit_key **out, bool *name_from_log)
{
	char buf[1024];
	FILE *f;
	size_t n;

	*name_from_log = false;
	if (audit_key_from_vkey(arg, out) == 0)
		return 0;
	f = fopen(arg, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (strstr(buf, "-----BEGIN PUBLIC KEY-----")) {
		*name_from_log = true;
		return audit_key_from_pub_file(arg, "llmtap/unnamed", out);
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	return audit_key_from_vkey(buf, out);
}

static void verify_usage(FILE *out)
{
	fprintf(out, "usage: llmtap verify [--key VKEY|FILE] [--json] [--time-tolerance SEC] "
		     "FILE...\n"
		     "  FILEs in order, oldest first (rotated, .gz read transparently, - = stdin)\n"
		     "  --key: the host's verifier key (llmtap key show), a file holding it, or\n"
		     "         its PEM public key (signing.pub); without it, signatures are only\n"
		     "         checked against the key the log itself names\n"
		     "exit: 0 intact, 1 tamper evidence, 2 incomplete, 3 usage\n");
}

int audit_verify_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "time-tolerance", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct audit_verify_opts o = { 0 };
	struct audit_verifier *v = NULL;
	const char *key_arg = NULL;
	bool json = false;
	uint64_t tol;
	int c, rc = AUDIT_USAGE, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:jt:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			key_arg = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 't':
			if (strnum_parse_size(optarg, &tol) || tol > 86400 * 365) {
				fprintf(stderr, "llmtap verify: bad --time-tolerance '%s'\n",
					optarg);
				return AUDIT_USAGE;
			}
			o.time_tolerance_ns = tol * 1000000000ull;
			break;
		case 'h':
			verify_usage(stdout);
			return 0;
		default:
			verify_usage(stderr);
			return AUDIT_USAGE;
		}
	}
	if (optind >= argc) {
		verify_usage(stderr);
		return AUDIT_USAGE;
	}
	if (key_arg) {
		err = audit_cli_load_key(key_arg, &o.key, &o.key_name_from_log);
		if (err) {
			fprintf(stderr, "llmtap verify: --key '%s': %s\n", key_arg,
				err == -EINVAL ? "not a verifier key or PEM public key" :
						 strerror(-err));
			return AUDIT_USAGE;
		}
	}
	if (audit_verifier_new(&o, &v)) {
		fprintf(stderr, "llmtap verify: out of memory\n");
		goto cleanup;
	}
	for (int i = optind; i < argc; i++) {
		err = audit_verifier_file(v, argv[i]);
		if (err) {
			fprintf(stderr, "llmtap verify: %s: %s\n", argv[i], strerror(-err));
			goto cleanup;
		}
	}
	rc = audit_verifier_finish(v);
	if (json) {
		json_t *r = audit_verifier_report(v);

		if (r)
			json_dumpf(r, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(r);
	} else {
		audit_verifier_print(v, stdout);
	}
cleanup:
	audit_verifier_free(v);
	audit_key_free(o.key);
	return rc;
}

static void key_usage(FILE *out)
{
	fprintf(out,
		"usage: llmtap key show [--state-dir DIR] [--origin NAME] [--create] [--json]\n"
		"  prints the host's public verifier key (for llmtap verify --key) and its\n"
		"  fingerprint.  The key is created at the agent's first start; --create\n"
		"  creates it now if missing.\n");
}

/* The origin (key name) the chain state records, else the default. */
static void state_origin(const char *dir, char *out, size_t size)
{
	char path[PATH_MAX], host[HOST_NAME_MAX + 1] = "localhost";
	json_t *st;

	snprintf(path, sizeof(path), "%s/%s", dir, AUDIT_STATE_FILE);
	st = json_load_file(path, 0, NULL);
	if (st && json_is_string(json_object_get(st, "origin"))) {
		snprintf(out, size, "%s", json_string_value(json_object_get(st, "origin")));
		json_decref(st);
		return;
	}
	json_decref(st);
	gethostname(host, sizeof(host));
	host[HOST_NAME_MAX] = '\0';
	for (char *p = host; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '+')
			*p = '_';
	snprintf(out, size, "llmtap/%s", host);
}

int audit_key_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "origin", required_argument, NULL, 'o' },
		{ "create", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dir_arg = NULL, *origin_arg = NULL, *dir;
	char origin[NOTE_ORIGIN_MAX], path[PATH_MAX], vkey[AUDIT_VKEY_LEN],
		fp[AUDIT_FINGERPRINT_LEN];
	struct audit_key *k = NULL;
	bool create = false, json = false;
	int c, err;

	if (argc < 2 || strcmp(argv[1], "show") != 0) {
		key_usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : AUDIT_USAGE;
	}
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "d:o:cjh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir_arg = optarg;
			break;
		case 'o':
			origin_arg = optarg;
			break;
		case 'c':
			create = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			key_usage(stdout);
			return 0;
		default:
			key_usage(stderr);
			return AUDIT_USAGE;
		}
	}
	if (optind < argc - 1) {
		key_usage(stderr);
		return AUDIT_USAGE;
	}
	dir = audit_cli_state_dir(dir_arg);
	if (origin_arg)
		snprintf(origin, sizeof(origin), "%s", origin_arg);
	else
		state_origin(dir, origin, sizeof(origin));
	snprintf(path, sizeof(path), "%s/%s", dir, AUDIT_PUB_FILE);
	/* the public half is enough (and readable without the private key's rights) */
	err = audit_key_from_pub_file(path, origin, &k);
	if (err == -ENOENT || create) {
		audit_key_free(k);
		k = NULL;
		err = audit_key_load(dir, origin, create, &k);
	}
	if (err) {
		if (err == -ENOENT)
			fprintf(stderr,
				"llmtap key: no key in %s yet: it is created at the agent's first "
				"start (or pass --create)\n",
				dir);
		else if (err == -EPERM)
			fprintf(stderr,
				"llmtap key: %s/%s: refused: not owned by this user, or readable "
				"by group/other\n",
				dir, AUDIT_KEY_FILE);
		else
			fprintf(stderr, "llmtap key: %s: %s\n", dir,
				err == -EINVAL ? "bad key file or origin" : strerror(-err));
		return 1;
	}
	audit_key_vkey(k, vkey, sizeof(vkey));
	audit_key_fingerprint(k, fp, sizeof(fp));
	if (json) {
		char *pem = audit_key_pub_pem(k);
		json_t *o = json_pack("{s:s s:s s:s s:s s:s?}", "name", audit_key_name(k), "vkey",
				      vkey, "fingerprint", fp, "public_key_file", path,
				      "public_key_pem", pem);

		if (o)
			json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
		free(pem);
	} else {
		printf("name:        %s\nvkey:        %s\nfingerprint: %s\npublic key:  %s\n",
		       audit_key_name(k), vkey, fp, path);
	}
	audit_key_free(k);
	return 0;
}
