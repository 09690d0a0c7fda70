/* The exec command table: IOS-like commands with unambiguous-prefix matching,
 * typed arguments, and output pipes (| include/exclude/begin/append/redirect/tee).
 *
 * A command is registered with a syntax string of space-separated tokens:
 *   keyword   literal word, matched by unambiguous prefix
 *   A.B.C.D   an IPv4 address
 *   WORD      any single word
 *   NUM       a decimal or 0x number
 *   LINE      the rest of the line (must be last)
 * Optional parts are registered as separate variants. The handler receives the
 * canonical words: keywords expanded to their full spelling, arguments as typed. */
#ifndef INSYNC_EXEC_H
#define INSYNC_EXEC_H
#include "util/out.h"

#define EXEC_MAX_WORDS 32
#define EXEC_LINE_MAX 1024

struct exec_ctx {
	int from_applet; /* run by an event manager applet */
	const char *applet;
};

/* Return 0 on success, 1 on failure (the text in out says why), 2 when a
 * configuration could not be loaded (reload). */
typedef int (*exec_fn)(struct exec_ctx *ctx, int argc, char **argv, struct out *out);

int exec_register(const char *syntax, exec_fn fn, const char *help);
void exec_unregister_all(void);

/* Run one command line, with pipes. Output (and errors in IOS form) go to out.
 * Returns the handler's status (0, 1, 2), or 1 when the line was invalid. */
int exec_run(struct exec_ctx *ctx, const char *line, struct out *out);

/* For the interactive CLI: list what may come next after `line` ("?" help),
 * or complete its last word. Output is one candidate per line. */
void exec_help(const char *line, struct out *out);
void exec_complete(const char *line, struct out *out);

/* The data directory that disk0: maps to. */
void exec_set_datadir(const char *dir);
/* Resolve "disk0:NAME" (or a bare name) inside the data directory; -1 if it escapes. */
int exec_resolve_file(const char *spec, char *path, size_t cap);
#endif
