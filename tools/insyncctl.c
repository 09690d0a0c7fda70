/* insyncctl: run one exec command on insyncd, or an interactive IOS-like shell
 * with libedit line editing, history, "?" help and TAB completion. */
#include "ops/control.h"
#include "util/out.h"
#include <histedit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *sock = "/run/insync/insyncd.sock";
static char prompt_buf[80] = "insync#";

static int run_line(const char *line)
{
	struct out o;
	out_init(&o);
	int rc = control_request(sock, CTL_EXEC, line, &o);
	if (rc < 0) {
		fprintf(stderr, "%% insyncctl: cannot reach insyncd at %s\n", sock);
		out_free(&o);
		return 2;
	}
	if (o.len)
		fwrite(o.buf, 1, o.len, stdout);
	fflush(stdout);
	out_free(&o);
	return rc;
}

static void load_prompt(void)
{
	struct out o;
	out_init(&o);
	snprintf(prompt_buf, sizeof(prompt_buf), "insync#"); /* no hostname configured */
	if (control_request(sock, CTL_EXEC, "show running-config | include ^hostname ", &o) == 0 &&
	    o.buf) {
		char name[64];
		if (sscanf(o.buf, "hostname %63s", name) == 1)
			snprintf(prompt_buf, sizeof(prompt_buf), "%s#", name);
	}
	out_free(&o);
}

static char *prompt_fn(EditLine *el)
{
	return prompt_buf;
}

static void current_line(EditLine *el, char *buf, size_t cap)
{
	const LineInfo *li = el_line(el);
	size_t n = (size_t)(li->cursor - li->buffer);
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, li->buffer, n);
	buf[n] = '\0';
}

static unsigned char help_fn(EditLine *el, int ch)
{
	char line[CTL_REQ_MAX];
	struct out o;
	current_line(el, line, sizeof(line));
	out_init(&o);
	if (control_request(sock, CTL_HELP, line, &o) >= 0 && o.len) {
		fputc('\n', stdout);
		fwrite(o.buf, 1, o.len, stdout);
	}
	out_free(&o);
	return CC_REDISPLAY;
}

static unsigned char complete_fn(EditLine *el, int ch)
{
	char line[CTL_REQ_MAX];
	struct out o;
	unsigned char rc = CC_REFRESH;
	current_line(el, line, sizeof(line));
	out_init(&o);
	if (control_request(sock, CTL_COMPLETE, line, &o) >= 0 && o.len) {
		char *nl = strchr(o.buf, '\n');
		if (nl && nl[1] == '\0' && nl > o.buf && nl[-1] == ' ') {
			/* A unique completion: replace the line up to the cursor. */
			*nl = '\0';
			el_deletestr(el, (int)strlen(line));
			el_insertstr(el, o.buf);
		} else {
			fputc('\n', stdout);
			fwrite(o.buf, 1, o.len, stdout);
			rc = CC_REDISPLAY;
		}
	}
	out_free(&o);
	return rc;
}

/* exit, quit or logout, with blanks around allowed (as IOS takes them). */
static int is_exit(const char *line)
{
	char w[16];
	char rest;
	return sscanf(line, " %15s %c", w, &rest) == 1 &&
	       (!strcmp(w, "exit") || !strcmp(w, "quit") || !strcmp(w, "logout"));
}

static int interactive(void)
{
	HistEvent ev;
	int count, last = 0;
	if (!isatty(STDIN_FILENO)) {
		char line[CTL_REQ_MAX];
		while (fgets(line, sizeof(line), stdin)) {
			if (!strchr(line, '\n') && !feof(stdin)) {
				/* Too long: refuse it whole rather than run its tail as a command. */
				int ch;
				while ((ch = getchar()) != EOF && ch != '\n')
					;
				fprintf(stderr, "%% Command line too long (more than %d characters)\n",
					(int)sizeof(line) - 2);
				last = 1;
				continue;
			}
			line[strcspn(line, "\r\n")] = '\0';
			if (is_exit(line))
				break;
			last = run_line(line);
			if (last == 2 && access(sock, F_OK) != 0)
				return 2;
		}
		return last;
	}
	load_prompt();
	EditLine *el = el_init("insyncctl", stdin, stdout, stderr);
	History *h = history_init();
	history(h, &ev, H_SETSIZE, 1000);
	el_set(el, EL_EDITOR, "emacs");
	el_set(el, EL_PROMPT, prompt_fn);
	el_set(el, EL_HIST, history, h);
	el_set(el, EL_ADDFN, "ios-help", "List what may come next", help_fn);
	el_set(el, EL_BIND, "?", "ios-help", NULL);
	el_set(el, EL_ADDFN, "ios-complete", "Complete the word", complete_fn);
	el_set(el, EL_BIND, "^I", "ios-complete", NULL);
	for (;;) {
		const char *l = el_gets(el, &count);
		if (l == NULL || count <= 0)
			break;
		char line[CTL_REQ_MAX];
		snprintf(line, sizeof(line), "%s", l);
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		history(h, &ev, H_ENTER, line);
		if (is_exit(line))
			break;
		last = run_line(line);
		char w[16];
		if (sscanf(line, " %15s", w) == 1 && strlen(w) >= 3 && !strncasecmp(w, "reload", strlen(w)))
			load_prompt(); /* the hostname may have changed */
	}
	history_end(h);
	el_end(el);
	return last == 2 ? 2 : 0;
}

int main(int argc, char **argv)
{
	int ch;
	while ((ch = getopt(argc, argv, "+S:h")) != -1) {
		switch (ch) {
		case 'S':
			sock = optarg;
			break;
		default:
			fprintf(stderr, "usage: insyncctl [-S SOCKET] [WORDS...]\n");
			return ch == 'h' ? 0 : 2;
		}
	}
	if (optind == argc)
		return interactive();
	char line[CTL_REQ_MAX];
	size_t off = 0;
	for (int i = optind; i < argc; i++) {
		int n = snprintf(line + off, sizeof(line) - off, "%s%s", i > optind ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(line) - off) {
			fprintf(stderr, "%% insyncctl: command too long\n");
			return 1;
		}
		off += (size_t)n;
	}
	return run_line(line);
}
