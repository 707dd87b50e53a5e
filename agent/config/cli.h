/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `llmtap config check|show [FILE]`. */
#ifndef LLMTAP_CONFIG_CLI_H
#define LLMTAP_CONFIG_CLI_H

#include <stdio.h>

#include "config/config.h"

/* argv[0] is "config".  Exit status: 0 valid, 1 errors (file:line:col on
 * stderr), 2 usage. */
int config_cli_main(int argc, char **argv);

/* Prints each diagnostic as "file:line:col: message" on f. */
void config_print_diags(const struct config_diags *d, FILE *f);

/* The effective configuration as JSON (for `config show` and agent_start). */
struct json_t;
struct json_t *config_to_json(const struct config *c);

#endif
