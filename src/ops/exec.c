/* The exec command table: IOS-style prefix matching over registered syntaxes,
 * caret error markers, "?" help and TAB completion, and output pipes. */
#include "util/rx.h"
#include "ops/exec.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXEC_MAX_CMDS 256

enum tok_kind { T_KW, T_ADDR, T_WORD, T_NUM, T_LINE };

struct cmd {
	int ntok;
	char *tok[EXEC_MAX_WORDS];
	enum tok_kind kind[EXEC_MAX_WORDS];
	exec_fn fn;
	char *help;
};

static struct cmd cmds[EXEC_MAX_CMDS];
static int ncmds;
static char datadir[PATH_MAX] = "/var/lib/insync";

static enum tok_kind tok_kind_of(const char *t)
{
	if (strcmp(t, "A.B.C.D") == 0)
		return T_ADDR;
	if (strcmp(t, "WORD") == 0)
		return T_WORD;
	if (strcmp(t, "NUM") == 0)
		return T_NUM;
	if (strcmp(t, "LINE") == 0)
		return T_LINE;
	return T_KW;
}

int exec_register(const char *syntax, exec_fn fn, const char *help)
{
	struct cmd *c;
	char *copy, *save = NULL;
	if (ncmds >= EXEC_MAX_CMDS)
		return -1;
	c = &cmds[ncmds];
	memset(c, 0, sizeof(*c));
	copy = strdup(syntax);
	if (copy == NULL)
		return -1;
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (c->ntok >= EXEC_MAX_WORDS)
			break;
		c->kind[c->ntok] = tok_kind_of(w);
		c->tok[c->ntok++] = strdup(w);
	}
	free(copy);
	c->fn = fn;
	c->help = strdup(help ? help : "");
	ncmds++;
	return 0;
}

void exec_unregister_all(void)
{
	for (int i = 0; i < ncmds; i++) {
		for (int j = 0; j < cmds[i].ntok; j++)
			free(cmds[i].tok[j]);
		free(cmds[i].help);
	}
	ncmds = 0;
}

void exec_set_datadir(const char *dir)
{
	snprintf(datadir, sizeof(datadir), "%s", dir);
}

int exec_resolve_file(const char *spec, char *path, size_t cap)
{
	const char *name = spec;
	if (strncmp(spec, "disk0:", 6) == 0)
		name = spec + 6;
	if (*name == '/')
		name++;
	/* A plain file name inside the data directory: no separators, no dot-dot. */
	if (*name == '\0' || strchr(name, '/') || strcmp(name, "..") == 0 || strcmp(name, ".") == 0 ||
	    strlen(name) > 128)
		return -1;
	for (const char *p = name; *p; p++)
		if (!isprint((unsigned char)*p))
			return -1;
	int n = snprintf(path, cap, "%s/%s", datadir, name);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* Split into words; quotes group words (and are stripped). Returns count or -1. */
struct words {
	int n;
	char *w[EXEC_MAX_WORDS];
	int col[EXEC_MAX_WORDS]; /* column of each word in the original line */
	char buf[EXEC_LINE_MAX];
};

static int split_words(const char *line, struct words *ws)
{
	size_t len = strlen(line), o = 0;
	ws->n = 0;
	if (len >= EXEC_LINE_MAX)
		return -1;
	for (size_t i = 0; i < len;) {
		while (i < len && isspace((unsigned char)line[i]))
			i++;
		if (i >= len)
			break;
		if (ws->n >= EXEC_MAX_WORDS)
			return -1;
		ws->col[ws->n] = (int)i;
		ws->w[ws->n++] = &ws->buf[o];
		int q = 0;
		while (i < len && (q || !isspace((unsigned char)line[i]))) {
			if (line[i] == '"')
				q = !q;
			else
				ws->buf[o++] = line[i];
			i++;
		}
		ws->buf[o++] = '\0';
		if (q)
			return -1;
	}
	return ws->n;
}

static int arg_ok(enum tok_kind k, const char *w)
{
	struct in_addr a;
	char *end;
	switch (k) {
	case T_ADDR:
		/* Every A.B.C.D is one peer: 0.0.0.0 would read as "all of them"
		 * to handlers that take 0 for no filter, and a clear would hit all. */
		return inet_pton(AF_INET, w, &a) == 1 && a.s_addr != htonl(INADDR_ANY) &&
		       a.s_addr != htonl(INADDR_BROADCAST);
	case T_NUM:
		errno = 0;
		(void)strtoull(w, &end, 0);
		return *w && *end == '\0' && errno == 0 && *w != '-';
	case T_WORD:
	case T_LINE:
		return 1;
	default:
		return 0;
	}
}

/* Match result */
enum { M_OK, M_AMBIG, M_INVALID, M_INCOMPLETE };

struct match {
	int status;
	int bad_word; /* index of the offending word */
	const struct cmd *cmd;
	char *canon[EXEC_MAX_WORDS];
	int ncanon;
};

/* Decide, for each word, which tokens of the still-alive commands it matches.
 * Keywords win over typed arguments; among keywords an exact match wins, then a
 * unique prefix. */
static void match_words(struct words *ws, int nwords, struct match *m, int alive[])
{
	for (int i = 0; i < ncmds; i++)
		alive[i] = 1;
	m->status = M_OK;
	m->cmd = NULL;
	m->ncanon = 0;
	for (int wi = 0; wi < nwords; wi++) {
		const char *w = ws->w[wi];
		const char *kw = NULL;
		int exact = 0, nkw = 0, line_taken = 0;
		for (int i = 0; i < ncmds; i++) {
			const struct cmd *c = &cmds[i];
			if (!alive[i])
				continue;
			/* A LINE token earlier swallowed the rest. */
			int pos = wi;
			for (int p = 0; p < c->ntok && p < wi; p++)
				if (c->kind[p] == T_LINE)
					pos = p;
			if (pos < wi) {
				line_taken = 1;
				continue;
			}
			if (pos >= c->ntok || c->kind[pos] != T_KW)
				continue;
			if (strcasecmp(c->tok[pos], w) == 0) {
				exact = 1;
				kw = c->tok[pos];
			} else if (!exact && strncasecmp(c->tok[pos], w, strlen(w)) == 0) {
				if (kw == NULL || strcmp(kw, c->tok[pos]) != 0)
					nkw++;
				kw = c->tok[pos];
			}
		}
		if (!exact && nkw > 1) {
			m->status = M_AMBIG;
			m->bad_word = wi;
			return;
		}
		int any = 0;
		for (int i = 0; i < ncmds; i++) {
			const struct cmd *c = &cmds[i];
			if (!alive[i])
				continue;
			int lpos = -1;
			for (int p = 0; p < c->ntok && p < wi; p++)
				if (c->kind[p] == T_LINE)
					lpos = p;
			if (lpos >= 0) {
				any = 1;
				continue;
			}
			if (wi >= c->ntok) {
				alive[i] = 0;
				continue;
			}
			if (kw) {
				alive[i] = c->kind[wi] == T_KW && strcmp(c->tok[wi], kw) == 0;
			} else {
				alive[i] = c->kind[wi] != T_KW && arg_ok(c->kind[wi], w);
			}
			any |= alive[i];
		}
		(void)line_taken;
		if (!any) {
			m->status = M_INVALID;
			m->bad_word = wi;
			return;
		}
		m->canon[m->ncanon++] = kw ? (char *)kw : ws->w[wi];
	}
	/* Pick the command whose syntax ends here (or whose LINE took the rest). */
	for (int i = 0; i < ncmds; i++) {
		const struct cmd *c = &cmds[i];
		if (!alive[i])
			continue;
		if (c->ntok == nwords || (c->kind[c->ntok - 1] == T_LINE && nwords >= c->ntok)) {
			m->cmd = c;
			return;
		}
	}
	m->status = M_INCOMPLETE;
	m->bad_word = nwords;
}

static void caret(struct out *o, const char *line, int col)
{
	out_printf(o, "%s\n%*s^\n%% Invalid input detected at '^' marker.\n", line, col, "");
}

/* --- pipes --- */
enum pipe_kind { P_INCLUDE, P_EXCLUDE, P_BEGIN, P_APPEND, P_REDIRECT, P_TEE };

static int pipe_kind(const char *w, enum pipe_kind *k)
{
	static const struct {
		const char *n;
		enum pipe_kind k;
	} t[] = {{"include", P_INCLUDE}, {"exclude", P_EXCLUDE},   {"begin", P_BEGIN},
		 {"append", P_APPEND},   {"redirect", P_REDIRECT}, {"tee", P_TEE}};
	int found = -1;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strncasecmp(t[i].n, w, strlen(w)) == 0 && *w) {
			if (found >= 0)
				return -2;
			found = (int)i;
		}
	if (found < 0)
		return -1;
	*k = t[found].k;
	return 0;
}

static int write_file(const char *spec, const char *data, size_t len, int append, struct out *err)
{
	char path[PATH_MAX];
	if (exec_resolve_file(spec, path, sizeof(path)) < 0) {
		out_printf(err, "%% Invalid file name: %s\n", spec);
		return 1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (append ? O_APPEND : O_TRUNC),
		      0600);
	if (fd < 0) {
		out_printf(err, "%% Error opening %s (%s)\n", spec, strerror(errno));
		return 1;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n <= 0) {
			close(fd);
			out_printf(err, "%% Error writing %s\n", spec);
			return 1;
		}
		off += (size_t)n;
	}
	close(fd);
	return 0;
}

static void filter_lines(struct out *in, regex_t *re, enum pipe_kind k, struct out *res)
{
	int begun = 0;
	char *s = in->buf ? in->buf : "";
	while (*s) {
		char *nl = strchr(s, '\n');
		size_t l = nl ? (size_t)(nl - s) : strlen(s);
		char save = s[l];
		s[l] = '\0';
		int hit = regexec(re, s, 0, NULL, 0) == 0;
		s[l] = save;
		int keep = k == P_INCLUDE ? hit : k == P_EXCLUDE ? !hit : (begun |= hit);
		if (keep) {
			out_write(res, s, l);
			out_write(res, "\n", 1);
		}
		s += l + (nl ? 1 : 0);
	}
}

/* Apply one pipe stage; returns 0 or 1 (error text in out). */
static int apply_pipe(struct out *cur, const char *stage, const char *full, int col, struct out *final)
{
	struct words ws;
	enum pipe_kind k;
	int n = split_words(stage, &ws);
	if (n < 2) {
		out_reset(final);
		out_printf(final, "%% Incomplete command.\n");
		return 1;
	}
	int pk = pipe_kind(ws.w[0], &k);
	if (pk < 0) {
		out_reset(final);
		if (pk == -2)
			out_printf(final, "%% Ambiguous command: \"%s\"\n", full);
		else
			caret(final, full, col + ws.col[0]);
		return 1;
	}
	if (k == P_INCLUDE || k == P_EXCLUDE || k == P_BEGIN) {
		regex_t re;
		/* The regex is the rest of the stage, as IOS takes it. */
		const char *rx = stage + ws.col[1];
		if (rx_compile(&re, rx, REG_EXTENDED | REG_NOSUB) != 0) {
			out_reset(final);
			out_printf(final, "%% Invalid regular expression: %s\n", rx);
			return 1;
		}
		struct out res;
		out_init(&res);
		filter_lines(cur, &re, k, &res);
		regfree(&re);
		out_free(cur);
		*cur = res;
		return 0;
	}
	int append = k == P_APPEND;
	const char *file = ws.w[1];
	if (k == P_TEE && strcmp(ws.w[1], "/append") == 0) {
		if (n < 3) {
			out_reset(final);
			out_printf(final, "%% Incomplete command.\n");
			return 1;
		}
		append = 1;
		file = ws.w[2];
	}
	struct out err;
	out_init(&err);
	int rc = write_file(file, cur->buf ? cur->buf : "", cur->len, append, &err);
	if (rc) {
		out_reset(final);
		out_write(final, err.buf, err.len);
		out_free(&err);
		return 1;
	}
	out_free(&err);
	if (k != P_TEE)
		out_reset(cur);
	return 0;
}

/* After the first '|', another starts a new stage only with a blank on
 * either side and a pipe keyword after it: "include ip|interface" and
 * "include ^crypto |^ip" are one regex each, as on IOS, and
 * "include a | exclude b" is two stages. */
static int stage_starts(const char *s, const char *p)
{
	const char *w = p + 1;
	char kw[16];
	size_t n = 0;
	enum pipe_kind k;
	int blank = (p > s && (p[-1] == ' ' || p[-1] == '\t')) || *w == ' ' || *w == '\t';

	while (*w == ' ' || *w == '\t')
		w++;
	while (w[n] && w[n] != ' ' && w[n] != '\t' && n < sizeof(kw) - 1) {
		kw[n] = w[n];
		n++;
	}
	kw[n] = '\0';
	return blank && n && pipe_kind(kw, &k) != -1;
}

/* The first '|' outside double quotes (in_pipe: that starts a stage), or NULL. */
static const char *pipe_find(const char *s, int in_pipe)
{
	int q = 0;

	for (const char *p = s; *p; p++) {
		if (*p == '"')
			q = !q;
		else if (*p == '|' && !q && (!in_pipe || stage_starts(s, p)))
			return p;
	}
	return NULL;
}

int exec_run(struct exec_ctx *ctx, const char *line, struct out *out)
{
	struct words ws;
	struct match m;
	int alive[EXEC_MAX_CMDS];
	char cmdpart[EXEC_LINE_MAX];
	const char *pipe;
	int rc;

	if (strlen(line) >= EXEC_LINE_MAX) {
		out_printf(out, "%% Command line too long\n");
		return 1;
	}
	pipe = pipe_find(line, 0); /* the first '|' outside quotes starts the pipes */
	size_t clen = pipe ? (size_t)(pipe - line) : strlen(line);
	memcpy(cmdpart, line, clen);
	cmdpart[clen] = '\0';
	int n = split_words(cmdpart, &ws);
	if (n < 0) {
		out_printf(out, "%% Invalid input: unbalanced quotes or too many words\n");
		return 1;
	}
	if (n == 0)
		return 0;
	match_words(&ws, n, &m, alive);
	switch (m.status) {
	case M_AMBIG:
		out_printf(out, "%% Ambiguous command: \"%s\"\n", line);
		return 1;
	case M_INVALID:
		caret(out, line, ws.col[m.bad_word]);
		return 1;
	case M_INCOMPLETE:
		out_printf(out, "%% Incomplete command.\n");
		return 1;
	}
	struct out res;
	out_init(&res);
	rc = m.cmd->fn(ctx, m.ncanon, m.canon, &res);
	/* Pipes apply to the command's output, one stage after another. */
	while (pipe && rc == 0) {
		const char *next = pipe_find(pipe + 1, 1);
		char stage[EXEC_LINE_MAX];
		size_t sl = next ? (size_t)(next - pipe - 1) : strlen(pipe + 1);
		memcpy(stage, pipe + 1, sl);
		while (next && sl && (stage[sl - 1] == ' ' || stage[sl - 1] == '\t'))
			sl--; /* the blank before the next '|' is not part of the regex */
		stage[sl] = '\0';
		rc = apply_pipe(&res, stage, line, (int)(pipe + 1 - line), out);
		if (rc) {
			out_reset(&res); /* the stage's error is in out; no unfiltered output after it */
			break;
		}
		pipe = next;
	}
	if (res.len)
		out_write(out, res.buf, res.len);
	if (res.oom) {
		out_printf(out, "%% Not enough memory for the output\n");
		rc = 1;
	}
	out_free(&res);
	return rc < 0 ? 1 : rc;
}

static int words_for_help(const char *line, struct words *ws, const char **partial)
{
	int n = split_words(line, ws);
	size_t l = strlen(line);
	*partial = "";
	if (n < 0)
		return -1;
	if (n > 0 && l > 0 && !isspace((unsigned char)line[l - 1])) {
		*partial = ws->w[n - 1];
		n--;
	}
	return n;
}

static const char *arg_help(enum tok_kind k)
{
	switch (k) {
	case T_ADDR:
		return "A.B.C.D";
	case T_NUM:
		return "<0-4294967295>";
	case T_WORD:
		return "WORD";
	case T_LINE:
		return "LINE";
	default:
		return "";
	}
}

/* Collect the distinct next tokens (after the complete words) matching partial. */
static int next_tokens(const char *line, const char **list, const struct cmd **owner, int max,
		       int *can_end, const char **partial_out)
{
	struct words ws;
	struct match m;
	int alive[EXEC_MAX_CMDS];
	const char *partial;
	int n = words_for_help(line, &ws, &partial), cnt = 0;
	*can_end = 0;
	*partial_out = partial;
	if (n < 0)
		return 0;
	match_words(&ws, n, &m, alive);
	if (m.status == M_AMBIG || m.status == M_INVALID)
		return -1;
	for (int i = 0; i < ncmds; i++) {
		const struct cmd *c = &cmds[i];
		if (!alive[i])
			continue;
		if (c->ntok == n && *partial == '\0')
			*can_end = 1;
		if (n >= c->ntok)
			continue;
		const char *t = c->kind[n] == T_KW ? c->tok[n] : arg_help(c->kind[n]);
		if (c->kind[n] == T_KW && strncasecmp(t, partial, strlen(partial)) != 0)
			continue;
		int dup = 0;
		for (int j = 0; j < cnt; j++)
			dup |= strcmp(list[j], t) == 0;
		if (!dup && cnt < max) {
			owner[cnt] = c;
			list[cnt++] = t;
		}
	}
	return cnt;
}

/* "?" and TAB after a '|': the pipe keywords, then what the keyword takes.
 * Returns 0 when line has no pipe (the command's own help applies). */
static int pipe_help(const char *line, struct out *out, int complete)
{
	static const struct {
		const char *kw, *help, *arg;
	} t[] = {
		{"append", "Append redirected output to a file", "WORD  disk0:FILE"},
		{"begin", "Begin with the line that matches", "LINE  Regular expression"},
		{"exclude", "Exclude lines that match", "LINE  Regular expression"},
		{"include", "Include lines that match", "LINE  Regular expression"},
		{"redirect", "Redirect output to a file", "WORD  disk0:FILE"},
		{"tee", "Copy output to a file", "WORD  disk0:FILE, or /append and the file"},
	};
	const char *p = pipe_find(line, 0), *next, *w, *e;
	size_t wl, n = sizeof(t) / sizeof(t[0]), hit = n, hits = 0;

	if (!p)
		return 0;
	while ((next = pipe_find(p + 1, 1)))
		p = next;
	/* A '|' just typed, with a blank before it and nothing after, starts a
	 * stage too: its keyword is what is being asked for. */
	for (next = p + 1; (next = pipe_find(next, 0)); next++)
		if ((next[-1] == ' ' || next[-1] == '\t') && next[1 + strspn(next + 1, " \t")] == '\0') {
			p = next;
			break;
		}
	for (w = p + 1; *w == ' ' || *w == '\t'; w++)
		;
	for (e = w; *e && *e != ' ' && *e != '\t'; e++)
		;
	wl = (size_t)(e - w);
	if (*e) { /* the keyword is complete: what follows it */
		for (size_t i = 0; i < n; i++)
			if (wl && !strncasecmp(t[i].kw, w, wl))
				hit = i, hits++;
		if (!complete)
			out_printf(out, hits == 1 ? "  %s\n" : "%% Unrecognized command\n", hit < n ? t[hit].arg : "");
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		if (!strncasecmp(t[i].kw, w, wl)) {
			hit = i, hits++;
			if (!complete)
				out_printf(out, "  %-24s %s\n", t[i].kw, t[i].help);
		}
	if (complete && hits == 1)
		out_printf(out, "%.*s%s \n", (int)(w - line), line, t[hit].kw);
	else if (complete)
		for (size_t i = 0; i < n; i++)
			if (!strncasecmp(t[i].kw, w, wl))
				out_printf(out, "%s\n", t[i].kw);
	if (!complete && !hits)
		out_printf(out, "%% Unrecognized command\n");
	return 1;
}

void exec_help(const char *line, struct out *out)
{
	const char *list[EXEC_MAX_CMDS], *partial;
	const struct cmd *owner[EXEC_MAX_CMDS];
	int can_end;
	if (pipe_help(line, out, 0))
		return;
	int n = next_tokens(line, list, owner, EXEC_MAX_CMDS, &can_end, &partial);
	if (n < 0) {
		out_printf(out, "%% Unrecognized command\n");
		return;
	}
	for (int i = 0; i < n; i++)
		out_printf(out, "  %-24s %s\n", list[i],
			   owner[i]->ntok == 1 || strcmp(list[i], owner[i]->tok[owner[i]->ntok - 1]) == 0
				   ? owner[i]->help
				   : "");
	if (can_end)
		out_printf(out, "  <cr>\n");
}

void exec_complete(const char *line, struct out *out)
{
	const char *list[EXEC_MAX_CMDS], *partial;
	const struct cmd *owner[EXEC_MAX_CMDS];
	int can_end, kw = 0;
	if (pipe_help(line, out, 1))
		return;
	int n = next_tokens(line, list, owner, EXEC_MAX_CMDS, &can_end, &partial);
	for (int i = 0; i < n; i++)
		kw += islower((unsigned char)list[i][0]) != 0;
	if (n == 1 && kw == 1)
		out_printf(out, "%.*s%s \n", (int)(strlen(line) - strlen(partial)), line, list[0]);
	else
		for (int i = 0; i < n; i++)
			out_printf(out, "%s\n", list[i]);
}
