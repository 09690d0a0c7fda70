/* Line and word lexer for the IOS-dialect configuration. One call yields one
 * line: its indent (leading blanks: the line belongs to the sub-mode above),
 * its words with 1-based columns, and quoted strings unquoted. A line whose
 * first non-blank character is '!' is a comment. No escapes exist inside
 * quotes, so a value can never contain '"'; that keeps printing reversible. */
#ifndef INSYNC_CONFIG_LEX_H
#define INSYNC_CONFIG_LEX_H
#include <stddef.h>

#define CFG_LINE_MAX 4096 /* bytes per line, newline excluded */
#define CFG_WORDS_MAX 64  /* words per line */

struct cfg_word {
	const char *s; /* NUL-terminated copy (quotes removed) */
	size_t len;
	int col;     /* column of the first character (the quote when quoted) */
	int end_col; /* column just after the word (after the closing quote) */
	int quoted;
};

struct cfg_line {
	int lineno;
	int indent; /* leading blanks (space or tab) */
	int nwords; /* 0 for a blank or comment line */
	struct cfg_word w[CFG_WORDS_MAX];
	const char *raw; /* the line in the source text, not NUL-terminated */
	size_t rawlen;
	char buf[CFG_LINE_MAX + CFG_WORDS_MAX + 1];
};

struct cfg_lex {
	const char *text;
	size_t len, off;
	int lineno;
};

void config_lex_init(struct cfg_lex *lx, const char *text, size_t len);
/* Read the next line into ln. Returns 1 for a line, 0 at the end of the text,
 * -1 for a line with a lexical error (*err_col and *err_msg say where and what;
 * the line is consumed and ln->lineno is set). */
int config_lex_next(struct cfg_lex *lx, struct cfg_line *ln, int *err_col, const char **err_msg);
#endif
