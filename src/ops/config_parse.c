/* IOS-dialect configuration parser: the line loop, sub-mode tracking by
 * indentation, and the shared word readers. The commands themselves live in
 * config_parse_global.c, config_parse_crypto.c, config_parse_ipsec.c and
 * config_parse_eem.c.
 *
 * Validate, then act: every handler reads all words of its line first and only
 * then touches the model; any error anywhere throws the whole new model away,
 * so a caller gets a complete config or an error list, never half of one. */
#include "ops/config_parse.h"
#include "ops/config_util.h"
#include "util/out.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- errors and word readers ---- */

static void verr(struct cfgp *p, int line, int col, const char *fmt, va_list ap)
{
	for (int i = 1; i <= p->depth; i++)
		p->st[i].bad = 1; /* no "incomplete block" follow-up errors */
	p->nerr++;
	if (p->err == NULL || p->nerr > CFGP_MAX_ERRORS)
		return;
	out_printf(p->err, "%s:%d:%d: ", p->fname, line, col);
	out_vprintf(p->err, fmt, ap);
	out_printf(p->err, "\n");
	if (p->nerr == CFGP_MAX_ERRORS)
		out_printf(p->err, "%s:%d:%d: too many errors, giving up\n", p->fname, line, col);
}

void cfgp_err(struct cfgp *p, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(p, p->ln->lineno, col, fmt, ap);
	va_end(ap);
}

void cfgp_err_at(struct cfgp *p, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(p, line, col, fmt, ap);
	va_end(ap);
}

int cfgp_more(const struct cfgp *p)
{
	return p->pos < p->ln->nwords;
}

int cfgp_col(const struct cfgp *p)
{
	if (cfgp_more(p))
		return p->ln->w[p->pos].col;
	if (p->ln->nwords == 0)
		return p->ln->indent + 1;
	return p->ln->w[p->ln->nwords - 1].end_col + 1;
}

static void list_expected(struct out *o, const char *const *set)
{
	for (int i = 0; set[i]; i++)
		out_printf(o, "%s%s", i ? ", " : "", set[i]);
}

static int kw_match(const char *w, const char *const *set, int *idx)
{
	size_t n = strlen(w);
	int hit = -1, nhit = 0;
	for (int i = 0; set[i]; i++) {
		if (strcasecmp(w, set[i]) == 0) {
			*idx = i;
			return 1;
		}
		/* No abbreviations of numbers: "group 2" must not become 20. */
		if (n > 0 && !(w[0] >= '0' && w[0] <= '9') && strncasecmp(w, set[i], n) == 0) {
			hit = i;
			nhit++;
		}
	}
	*idx = hit;
	return nhit;
}

int cfgp_kw(struct cfgp *p, const char *const *set, int *idx)
{
	struct out o;
	out_init(&o);
	list_expected(&o, set);
	const char *exp = o.buf ? o.buf : "?";
	int rc = -1;
	if (!cfgp_more(p)) {
		cfgp_err(p, cfgp_col(p), "%% Incomplete command: expected one of: %s", exp);
		goto out;
	}
	const struct cfg_word *w = &p->ln->w[p->pos];
	int n = w->quoted ? 0 : kw_match(w->s, set, idx);
	if (n == 0)
		cfgp_err(p, w->col, "%% Invalid input \"%s\": expected one of: %s", w->s, exp);
	else if (n > 1)
		cfgp_err(p, w->col, "%% Ambiguous command \"%s\": expected one of: %s", w->s, exp);
	else {
		p->pos++;
		rc = 0;
	}
out:
	out_free(&o);
	return rc;
}

int cfgp_opt_kw(struct cfgp *p, const char *const *set, int *idx)
{
	if (!cfgp_more(p) || p->ln->w[p->pos].quoted)
		return 0;
	if (kw_match(p->ln->w[p->pos].s, set, idx) != 1)
		return 0;
	p->pos++;
	return 1;
}

int cfgp_word(struct cfgp *p, const char *what, const struct cfg_word **w)
{
	if (!cfgp_more(p)) {
		cfgp_err(p, cfgp_col(p), "%% Incomplete command: expected %s", what);
		return -1;
	}
	*w = &p->ln->w[p->pos++];
	return 0;
}

int cfgp_name(struct cfgp *p, const char *what, char *dst, size_t cap)
{
	const struct cfg_word *w;
	if (cfgp_word(p, what, &w))
		return -1;
	int ok = !w->quoted && w->len > 0 && w->len < cap && w->len < CFG_NAME_MAX;
	for (size_t i = 0; ok && i < w->len; i++)
		ok = w->s[i] > 0x20 && w->s[i] < 0x7f;
	if (!ok) {
		cfgp_err(p, w->col, "%% Invalid input \"%.64s\": expected %s (1-%d printable characters)",
			 w->s, what, CFG_NAME_MAX - 1);
		return -1;
	}
	memcpy(dst, w->s, w->len + 1);
	return 0;
}

int cfgp_text(struct cfgp *p, const char *what, char *dst, size_t cap)
{
	const struct cfg_word *w;
	if (cfgp_word(p, what, &w))
		return -1;
	if (w->len >= cap) {
		cfgp_err(p, w->col, "%% Invalid input: %s is longer than %zu characters", what, cap - 1);
		return -1;
	}
	memcpy(dst, w->s, w->len + 1);
	return 0;
}

/* Decimal, or hexadecimal with 0x; no sign, no overflow. */
static int parse_u64(const char *s, int allow_hex, uint64_t *v)
{
	int base = 10;
	if (allow_hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (*s == '\0')
		return -1;
	uint64_t r = 0;
	for (; *s; s++) {
		int d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		if (r > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -1;
		r = r * (uint64_t)base + (uint64_t)d;
	}
	*v = r;
	return 0;
}

static int num_common(struct cfgp *p, const char *what, uint64_t lo, uint64_t hi, uint64_t *v,
		      int hex)
{
	const struct cfg_word *w;
	if (cfgp_word(p, what, &w))
		return -1;
	uint64_t r;
	if (w->quoted || parse_u64(w->s, hex, &r) || r < lo || r > hi) {
		if (hex)
			cfgp_err(p, w->col, "%% Invalid input \"%.64s\": expected %s (0x%llX-0x%llX)",
				 w->s, what, (unsigned long long)lo, (unsigned long long)hi);
		else
			cfgp_err(p, w->col, "%% Invalid input \"%.64s\": expected %s (%llu-%llu)", w->s,
				 what, (unsigned long long)lo, (unsigned long long)hi);
		return -1;
	}
	*v = r;
	return 0;
}

int cfgp_num(struct cfgp *p, const char *what, uint64_t lo, uint64_t hi, uint64_t *v)
{
	return num_common(p, what, lo, hi, v, 0);
}

int cfgp_u32(struct cfgp *p, const char *what, uint32_t lo, uint32_t hi, uint32_t *v)
{
	uint64_t r;
	if (num_common(p, what, lo, hi, &r, 0))
		return -1;
	*v = (uint32_t)r;
	return 0;
}

int cfgp_spi(struct cfgp *p, uint32_t *v)
{
	uint64_t r;
	if (num_common(p, "SPI", 1, 0xFFFFFFFFu, &r, 1))
		return -1;
	*v = (uint32_t)r;
	return 0;
}

int cfgp_ipv4(struct cfgp *p, const char *what, uint32_t *be)
{
	const struct cfg_word *w;
	if (cfgp_word(p, what, &w))
		return -1;
	if (w->quoted || cfg_ip_parse(w->s, be)) {
		cfgp_err(p, w->col, "%% Invalid input \"%.64s\": expected %s (A.B.C.D)", w->s, what);
		return -1;
	}
	return 0;
}

int cfgp_mask(struct cfgp *p, uint32_t *be)
{
	int col = cfgp_col(p);
	if (cfgp_ipv4(p, "mask", be))
		return -1;
	if (!cfg_mask_valid(*be)) {
		cfgp_err(p, col, "%% Invalid input \"%s\": mask is not contiguous", p->ln->w[p->pos - 1].s);
		return -1;
	}
	return 0;
}

int cfgp_eol(struct cfgp *p)
{
	if (!cfgp_more(p))
		return 0;
	const struct cfg_word *w = &p->ln->w[p->pos];
	cfgp_err(p, w->col, "%% Invalid input \"%.64s\": expected end of line", w->s);
	return -1;
}

/* The same after a secret: what follows may be the rest of a key split by a
 * space, and error lines go to syslog, so the word is not quoted. */
int cfgp_eol_secret(struct cfgp *p)
{
	if (!cfgp_more(p))
		return 0;
	cfgp_err(p, p->ln->w[p->pos].col, "%% Invalid input after the key (not shown): expected end of line");
	return -1;
}

void *cfgp_alloc(struct cfgp *p, size_t n)
{
	if (p->nobj >= CFGP_MAX_OBJECTS) {
		cfgp_err(p, 1, "too many objects in one configuration (more than %d)",
			 CFGP_MAX_OBJECTS);
		return NULL;
	}
	void *o = calloc(1, n);
	if (o == NULL)
		cfgp_err(p, 1, "out of memory");
	else
		p->nobj++;
	return o;
}

int cfgp_list_full(struct cfgp *p, size_t count, const char *what)
{
	if (count < CFGP_MAX_LIST)
		return 0;
	cfgp_err(p, 1, "too many %s (more than %d)", what, CFGP_MAX_LIST);
	return 1;
}

void cfgp_push(struct cfgp *p, enum cfgp_mode mode, void *obj, int col)
{
	if (p->depth >= CFGP_DEPTH)
		return; /* cannot happen: modes nest at most three deep */
	struct cfgp_frame *f = &p->st[++p->depth];
	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->indent = p->ln->indent;
	f->obj = obj;
	f->line = p->ln->lineno;
	f->col = col;
}

int cfgp_cmd(struct cfgp *p, const char *const *set, int *idx)
{
	if (cfgp_kw(p, set, idx))
		return -1;
	if (strcmp(set[*idx], "no") != 0)
		return 0;
	p->neg = 1;
	if (cfgp_kw(p, set, idx))
		return -1;
	if (strcmp(set[*idx], "no") == 0) {
		cfgp_err(p, p->ln->w[p->pos - 1].col, "%% Invalid input \"no\": \"no\" twice");
		return -1;
	}
	return 0;
}

/* "Tunnel7", "tunnel7", "Tu7": IOS accepts any abbreviation of the type. */
int cfgp_tunnel_num(const char *s, unsigned *num)
{
	size_t i = 0;
	while (s[i] && !(s[i] >= '0' && s[i] <= '9'))
		i++;
	if (i < 2 || strncasecmp(s, "tunnel", i) != 0 || i > 6)
		return -1;
	uint64_t v;
	if (strlen(s + i) > 5 || parse_u64(s + i, 0, &v) || v > 65535)
		return -1;
	*num = (unsigned)v;
	return 0;
}

/* ---- the line loop ---- */

static void close_frame(struct cfgp *p)
{
	struct cfgp_frame *f = &p->st[p->depth];
	if (!f->bad) {
		switch (f->mode) {
		case CM_APPLET:
			cfgp_eem_close(p, f);
			break;
		case CM_GLOBAL:
		case CM_SKIP:
		case CM_TUNNEL:
			break;
		default:
			cfgp_crypto_close(p, f);
			break;
		}
	}
	p->depth--;
}

/* Returns 1 when the line was "end". */
static int parse_line(struct cfgp *p)
{
	struct cfg_line *ln = p->ln;
	while (p->depth > 0 && p->st[p->depth].indent >= ln->indent)
		close_frame(p);
	p->pos = 0;
	p->neg = 0;
	enum cfgp_mode m = p->st[p->depth].mode;
	if (m == CM_SKIP)
		return 0;
	const char *w0 = ln->w[0].quoted ? "" : ln->w[0].s;
	int is_end = strcasecmp(w0, "end") == 0;
	if (is_end || strcasecmp(w0, "exit") == 0) {
		p->pos = 1;
		if (cfgp_eol(p))
			return 0;
		if (is_end)
			return 1;
		if (p->depth == 0)
			cfgp_err(p, ln->w[0].col, "%% Invalid input \"exit\": no sub-mode to leave");
		else
			close_frame(p);
		return 0;
	}
	if (ln->indent > 0 && p->depth == 0) {
		cfgp_err(p, ln->w[0].col, "indented line outside a sub-mode");
		return 0;
	}
	int depth = p->depth, rc;
	switch (m) {
	case CM_GLOBAL: rc = cfgp_global(p); break;
	case CM_TUNNEL: rc = cfgp_tunnel_sub(p); break;
	case CM_APPLET: rc = cfgp_eem_sub(p); break;
	default: rc = cfgp_crypto_sub(p); break;
	}
	if (rc && p->depth == depth)
		cfgp_push(p, CM_SKIP, NULL, 1); /* its sub-mode lines are not checked */
	return 0;
}

int config_parse(const char *fname, const char *text, size_t len, struct config **out,
		 struct out *err)
{
	struct cfgp p;
	struct cfg_lex lx;
	int rc = -1, ended = 0;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.fname = fname ? fname : "config";
	p.err = err;
	p.c = config_new();
	p.ln = malloc(sizeof(*p.ln));
	if (p.c == NULL || p.ln == NULL) {
		if (err)
			out_printf(err, "%s:0:0: out of memory\n", p.fname);
		goto out;
	}
	config_lex_init(&lx, text, len);
	for (;;) {
		int col = 0;
		const char *msg = NULL;
		int r = config_lex_next(&lx, p.ln, &col, &msg);
		if (r == 0 || p.nerr >= CFGP_MAX_ERRORS)
			break;
		if (r < 0) {
			while (p.depth > 0 && p.st[p.depth].indent >= p.ln->indent)
				close_frame(&p);
			cfgp_err(&p, col, "%s", msg);
			p.pos = 0;
			cfgp_push(&p, CM_SKIP, NULL, 1);
			continue;
		}
		if (p.ln->nwords == 0)
			continue;
		if (ended) {
			cfgp_err(&p, p.ln->w[0].col, "%% Invalid input \"%.64s\": text after \"end\"",
				 p.ln->w[0].s);
			break;
		}
		ended = parse_line(&p);
	}
	while (p.depth > 0)
		close_frame(&p);
	if (p.nerr == 0) {
		*out = p.c;
		p.c = NULL;
		rc = 0;
	}
out:
	config_free(p.c);
	free(p.ln);
	return rc;
}

#define CFG_FILE_MAX (16u << 20)

int config_load_file(const char *path, struct config **out, struct out *err)
{
	int rc = -1;
	char *text = NULL;
	size_t len = 0, cap = 0;
	*out = NULL;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		if (err)
			out_printf(err, "%s:0:0: cannot open: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			if (cap > CFG_FILE_MAX) {
				if (err)
					out_printf(err, "%s:0:0: file larger than 16 MiB\n", path);
				goto out;
			}
			cap = cap ? cap * 2 : 65536;
			char *n = realloc(text, cap);
			if (n == NULL) {
				if (err)
					out_printf(err, "%s:0:0: out of memory\n", path);
				goto out;
			}
			text = n;
		}
		size_t r = fread(text + len, 1, cap - len, f);
		len += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		if (err)
			out_printf(err, "%s:0:0: read error\n", path);
		goto out;
	}
	rc = config_parse(path, text, len, out, err);
out:
	free(text);
	fclose(f);
	return rc;
}
