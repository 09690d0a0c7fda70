/* IOS-dialect config lexer: see config_lex.h. Every byte is classified before
 * use; a line is never longer than CFG_LINE_MAX, so columns fit an int. */
#include "ops/config_lex.h"
#include <string.h>

void config_lex_init(struct cfg_lex *lx, const char *text, size_t len)
{
	lx->text = text;
	lx->len = text ? len : 0;
	lx->off = 0;
	lx->lineno = 0;
}

static int is_blank(unsigned char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Control characters other than tab have no business in a config line; bytes
 * of 0x80 and up are let through (UTF-8 descriptions and messages). */
static int is_bad(unsigned char ch)
{
	return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

int config_lex_next(struct cfg_lex *lx, struct cfg_line *ln, int *err_col, const char **err_msg)
{
	if (lx->off >= lx->len)
		return 0;
	const char *start = lx->text + lx->off;
	size_t left = lx->len - lx->off;
	const char *nl = memchr(start, '\n', left);
	size_t n = nl ? (size_t)(nl - start) : left;
	lx->off += nl ? n + 1 : n;
	lx->lineno++;
	if (n > 0 && start[n - 1] == '\r')
		n--; /* CRLF files */

	memset(ln, 0, offsetof(struct cfg_line, buf));
	ln->lineno = lx->lineno;
	ln->raw = start;
	ln->rawlen = n;
	if (n > CFG_LINE_MAX) {
		*err_col = CFG_LINE_MAX + 1;
		*err_msg = "line too long (more than 4096 characters)";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (is_bad((unsigned char)start[i])) {
			*err_col = (int)i + 1;
			*err_msg = "invalid control character";
			return -1;
		}
	}

	size_t i = 0, b = 0;
	while (i < n && is_blank((unsigned char)start[i]))
		i++;
	ln->indent = (int)i;
	if (i < n && start[i] == '!')
		return 1; /* comment */
	while (i < n) {
		if (is_blank((unsigned char)start[i])) {
			i++;
			continue;
		}
		if (ln->nwords == CFG_WORDS_MAX) {
			*err_col = (int)i + 1;
			*err_msg = "too many words on one line (more than 64)";
			return -1;
		}
		struct cfg_word *w = &ln->w[ln->nwords];
		w->col = (int)i + 1;
		w->s = ln->buf + b;
		if (start[i] == '"') {
			const char *q = memchr(start + i + 1, '"', n - i - 1);
			if (q == NULL) {
				*err_col = (int)i + 1;
				*err_msg = "unterminated quoted string";
				return -1;
			}
			size_t wl = (size_t)(q - (start + i + 1));
			memcpy(ln->buf + b, start + i + 1, wl);
			w->len = wl;
			w->quoted = 1;
			i += wl + 2;
			if (i < n && !is_blank((unsigned char)start[i])) {
				*err_col = (int)i + 1;
				*err_msg = "expected a blank after the closing quote";
				return -1;
			}
		} else {
			size_t j = i;
			while (j < n && !is_blank((unsigned char)start[j])) {
				if (start[j] == '"') {
					*err_col = (int)j + 1;
					*err_msg = "quote inside a word";
					return -1;
				}
				j++;
			}
			w->len = j - i;
			memcpy(ln->buf + b, start + i, w->len);
			i = j;
		}
		b += w->len;
		ln->buf[b++] = '\0';
		w->end_col = (int)i + 1;
		ln->nwords++;
	}
	return 1;
}
