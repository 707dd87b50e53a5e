// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * llmtap: audit the LLM traffic of a host from the kernel.
 * main dispatches the commands; the daemon itself is main_run.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/cli.h"
#include "capture/attach_state.h"
#include "config/cli.h"
#include "main.h"
#include "rules/cli.h"
#include "status/status.h"

void usage(FILE *f)
{
	fprintf(f,
		"Usage: llmtap [run] [OPTIONS]\n"
		"       llmtap status [--all] [--json] [--state PATH]\n"
		"       llmtap rules check|test [PATH...]\n"
		"       llmtap config check|show [FILE]\n"
		"       llmtap verify [--key VKEY|FILE] [--json] FILE...\n"
		"       llmtap export --since TIME --until TIME --out DIR FILE...\n"
		"       llmtap key show [--state-dir DIR]\n"
		"       llmtap --version | --help\n"
		"\n"
		"Captures the TLS and plaintext HTTP of LLM API calls of every process on the\n"
		"host and writes one tamper-evident JSON record per exchange.\n"
		"\n"
		"  -c, --config FILE         configuration (default " CONFIG_DEFAULT_PATH
		" when it\n"
		"                            exists; see docs/config.md); flags override it\n"
		"      --state-dir DIR       chain head, keys, spools (default " CONFIG_STATE_DIR_DEFAULT
		",\n"
		"                            " CONFIG_STATE_DIR_CHECKOUT
		" from a source checkout)\n"
		"  -o, --output PATH         add a file output ('-' for stdout); repeatable;\n"
		"                            default: ./llmtap-audit.jsonl and stdout\n"
		"      --all-http            record every HTTP exchange, not only LLM API calls\n"
		"      --ports LIST          plaintext HTTP: server ports always captured\n"
		"                            (default 8000,30000,11434,8080,3000; 'none')\n"
		"      --ports-only          plaintext HTTP: only those ports; do not select\n"
		"                            other connections by their first bytes\n"
		"      --no-sockets          no plaintext capture at all (TLS only)\n"
		"      --call-cap BYTES      bytes captured per TLS read/write (default 1048576,\n"
		"                            suffixes k/m)\n"
		"      --ringbuf BYTES       kernel ring buffer size (power of two, default 16m)\n"
		"      --return-probes MODE  auto | uretprobe | ret-insn (default auto)\n"
		"      --no-hold             do not pause a thread (ptrace stop) while a TLS\n"
		"                            library it just loaded is being probed\n"
		"      --no-content          record metadata only: no prompts, responses or\n"
		"                            tool schemas (tool names are kept)\n"
		"      --prices FILE         price table for llmtap.cost.usd (default: the\n"
		"                            embedded share/prices.json)\n"
		"      --state PATH          run state read by 'llmtap status' (default\n"
		"                            " ATTACH_STATE_DEFAULT_PATH ")\n"
		"      --redact-key FILE     key of the redaction pseudonyms (32 bytes, 0600,\n"
		"                            created if absent; default STATE_DIR/redact.key)\n"
		"      --no-redact           write records UNREDACTED (debugging only)\n"
		"      --rules PATH          detection rules: a file or a directory of *.yaml;\n"
		"                            repeatable; replaces the config's rules.paths\n"
		"                            (default: the checkout's rules/, else\n"
		"                            " RULES_SHARE_DIR " and " RULES_ETC_DIR ")\n"
		"  -v, --verbose             debug messages, libbpf's included\n"
		"  -V, --version             print the version\n"
		"  -h, --help                this help\n"
		"\n"
		"SIGUSR1 prints the counters (kernel and agent) as one JSON line on stderr;\n"
		"SIGHUP reloads the configuration and the rules (the old ones stay if the new\n"
		"ones do not load); SIGTERM flushes every record to the outputs' spools.\n"
		"\n"
		"Exit status: 0 stopped by a signal, 1 runtime error, 2 usage or configuration\n"
		"error, 4 missing privileges (needs root: CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE).\n");
}

void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "llmtap: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage(stderr);
	exit(EXIT_USAGE);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "run", cmd_run },
		{ "status", status_main },
		{ "rules", rules_cli_main },
		{ "config", config_cli_main },
		{ "verify", audit_verify_main },
		{ "export", audit_export_main },
		{ "key", audit_key_main },
	};

	if (argc > 1 && argv[1][0] != '-') {
		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if (strcmp(argv[1], cmds[i].name) == 0)
				return cmds[i].fn(argc - 1, argv + 1);
		usage_error("unknown command '%s'", argv[1]);
	}
	return cmd_run(argc, argv);
}
