/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `llmtap rules check|test PATH...` and where rules come from by default. */
#ifndef LLMTAP_RULES_CLI_H
#define LLMTAP_RULES_CLI_H

#include <stddef.h>

#define RULES_SHARE_DIR "/usr/share/llmtap/rules"
#define RULES_ETC_DIR "/etc/llmtap/rules.d"

/* `llmtap rules ...` (argv[0] is "rules").  Returns the exit status:
 * 0 ok, 1 errors in the files or failed tests, 2 usage. */
int rules_cli_main(int argc, char **argv);

/*
 * The default rule paths, in load order: rules/ of the source checkout the
 * running binary was built in (BUILD/llmtap next to Makefile and rules/),
 * else /usr/share/llmtap/rules then /etc/llmtap/rules.d (those present).
 * Fills out[0..max) with malloc'd paths; returns how many (0: none).
 */
size_t rules_default_paths(char **out, size_t max);

#endif
