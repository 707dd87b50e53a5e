/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The audit commands (docs/audit.md), called by main.c with argv[0] = the
 * command name:
 *   llmtap verify [--key VKEY|FILE] [--json] [--time-tolerance SEC] FILE...
 *   llmtap key show [--state-dir DIR] [--origin NAME] [--create] [--json]
 *   llmtap export --since T --until T --out DIR [--key VKEY|FILE] FILE...
 * Each returns the process exit status (verify: 0 intact, 1 tamper
 * evidence, 2 incomplete, 3 usage).
 */
#ifndef LLMTAP_AUDIT_CLI_H
#define LLMTAP_AUDIT_CLI_H

#include <stdbool.h>

#include "audit/keys.h"

int audit_verify_main(int argc, char **argv);
int audit_key_main(int argc, char **argv);
int audit_export_main(int argc, char **argv);

/* --state-dir, else the state_dir `llmtap run` would use: the configuration
 * file's, else ./.llmtap from a source checkout, else /var/lib/llmtap. */
const char *audit_cli_state_dir(const char *given);
/*
 * A trusted key from --key: a verifier key string, a file holding one, or
 * a PEM public key file (*name_from_log set: its name comes from the log).
 */
int audit_cli_load_key(const char *arg, struct audit_key **out, bool *name_from_log);

#endif
