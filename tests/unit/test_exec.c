/* The exec command table: prefix matching, ambiguity, caret errors, typed
 * arguments and output pipes (including disk0: files). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ops/exec.h"

static char last[256];

static int h_echo(struct exec_ctx *c, int argc, char **argv, struct out *o)
{
	last[0] = '\0';
	for (int i = 0; i < argc; i++) {
		strcat(last, argv[i]);
		if (i + 1 < argc)
			strcat(last, " ");
	}
	out_printf(o, "line one\nline two %s\nthird\n", last);
	return 0;
}

static char dir[64];

static int setup(void **s)
{
	exec_register("show crypto isakmp sa", h_echo, "");
	exec_register("show crypto ipsec sa", h_echo, "");
	exec_register("show crypto ipsec sa detail", h_echo, "");
	exec_register("show crypto ipsec sa peer A.B.C.D", h_echo, "");
	exec_register("show crypto sockets", h_echo, "");
	exec_register("show running-config", h_echo, "");
	exec_register("show ip interface brief", h_echo, "");
	exec_register("terminal length NUM", h_echo, "");
	exec_register("event manager run WORD", h_echo, "");
	snprintf(dir, sizeof(dir), "/tmp/insync-exec-XXXXXX");
	assert_non_null(mkdtemp(dir));
	exec_set_datadir(dir);
	return 0;
}

static int teardown(void **s)
{
	char cmd[128];
	exec_unregister_all();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int run(const char *line, struct out *o)
{
	struct exec_ctx ctx = {0};
	out_reset(o);
	return exec_run(&ctx, line, o);
}

static void test_prefixes(void **s)
{
	struct out o;
	out_init(&o);
	assert_int_equal(run("sh run", &o), 0);
	assert_string_equal(last, "show running-config");
	assert_int_equal(run("show crypto isa sa", &o), 0);
	assert_string_equal(last, "show crypto isakmp sa");
	assert_int_equal(run("sh cry ipsec sa det", &o), 0);
	assert_string_equal(last, "show crypto ipsec sa detail");
	assert_int_equal(run("sh cry ips sa peer 192.0.2.2", &o), 0);
	assert_string_equal(last, "show crypto ipsec sa peer 192.0.2.2");
	assert_int_equal(run("SHOW IP INT BRI", &o), 0);
	assert_int_equal(run("terminal length 0", &o), 0);
	assert_int_equal(run("event manager run command_hub", &o), 0);
	assert_string_equal(last, "event manager run command_hub");
	out_free(&o);
}

static void test_errors(void **s)
{
	struct out o;
	out_init(&o);
	assert_int_equal(run("show crypto i sa", &o), 1);
	assert_non_null(strstr(o.buf, "% Ambiguous command: \"show crypto i sa\""));
	assert_int_equal(run("show crypto bogus", &o), 1);
	assert_string_equal(o.buf, "show crypto bogus\n            ^\n% Invalid input detected at '^' marker.\n");
	assert_int_equal(run("show crypto ipsec sa peer 300.1.1.1", &o), 1);
	assert_non_null(strstr(o.buf, "^\n% Invalid input"));
	/* A peer is one address: 0.0.0.0 must not reach a handler as "all". */
	assert_int_equal(run("show crypto ipsec sa peer 0.0.0.0", &o), 1);
	assert_non_null(strstr(o.buf, "^\n% Invalid input"));
	assert_int_equal(run("show crypto ipsec sa peer 255.255.255.255", &o), 1);
	assert_int_equal(run("show crypto", &o), 1);
	assert_string_equal(o.buf, "% Incomplete command.\n");
	assert_int_equal(run("terminal length x", &o), 1);
	assert_int_equal(run("show \"unbalanced", &o), 1);
	assert_int_equal(run("", &o), 0);
	char big[EXEC_LINE_MAX + 10];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(run(big, &o), 1);
	out_free(&o);
}

static void test_pipes(void **s)
{
	struct out o;
	char path[256], buf[512];
	out_init(&o);
	assert_int_equal(run("show run | include two", &o), 0);
	assert_string_equal(o.buf, "line two show running-config\n");
	assert_int_equal(run("show run | exclude two", &o), 0);
	assert_string_equal(o.buf, "line one\nthird\n");
	assert_int_equal(run("show run | begin ^line t", &o), 0);
	assert_string_equal(o.buf, "line two show running-config\nthird\n");
	assert_int_equal(run("show run | inc (", &o), 1);
	assert_non_null(strstr(o.buf, "Invalid regular expression"));
	assert_null(strstr(o.buf, "line one")); /* the error alone, no unfiltered output */
	assert_int_equal(run("show run | include line | include (", &o), 1);
	assert_null(strstr(o.buf, "line one"));
	assert_int_equal(run("show run | append disk0:hub.txt", &o), 0);
	assert_int_equal(o.len, 0);
	assert_int_equal(run("show run | append disk0:hub.txt", &o), 0);
	snprintf(path, sizeof(path), "%s/hub.txt", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_int_equal(n, 2 * strlen("line one\nline two show running-config\nthird\n"));
	assert_int_equal(run("show run | redirect disk0:hub.txt", &o), 0);
	f = fopen(path, "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	assert_int_equal(n, strlen("line one\nline two show running-config\nthird\n"));
	assert_int_equal(run("show run | tee /append disk0:hub.txt", &o), 0);
	assert_non_null(strstr(o.buf, "third"));
	assert_int_equal(run("show run | tee disk0:t2.txt", &o), 0);
	assert_int_equal(run("show run | include line | exclude two", &o), 0);
	assert_string_equal(o.buf, "line one\n");
	/* A '|' without a blank before it is the regex's alternation, as on IOS. */
	assert_int_equal(run("show run | include one|third", &o), 0);
	assert_string_equal(o.buf, "line one\nthird\n");
	assert_int_equal(run("show run | include one|third | exclude ^t", &o), 0);
	assert_string_equal(o.buf, "line one\n");
	assert_int_equal(run("show run | exclude one|b", &o), 0); /* "b" is not a stage (begin) */
	assert_string_equal(o.buf, "line two show running-config\nthird\n");
	assert_int_equal(run("show run | include ^x |^th", &o), 0); /* "^th" is no keyword */
	assert_string_equal(o.buf, "third\n");
	assert_int_equal(run("show run | include two | exclude xyz", &o), 0); /* no blank kept */
	assert_string_equal(o.buf, "line two show running-config\n");
	assert_int_equal(run("show run | include one|two |exclude show", &o), 0);
	assert_string_equal(o.buf, "line one\n");
	/* A blank at the very end is part of the regex, as IOS takes it. */
	assert_int_equal(run("show run | include one ", &o), 0);
	assert_string_equal(o.buf, "");
	assert_int_equal(run("show run | include line ", &o), 0);
	assert_string_equal(o.buf, "line one\nline two show running-config\n");
	/* Paths cannot escape the data directory. */
	assert_int_equal(run("show run | append disk0:../escape", &o), 1);
	assert_int_equal(run("show run | redirect /etc/passwd", &o), 1);
	assert_null(strstr(o.buf, "line one"));
	assert_int_equal(run("show run | redirect disk0:", &o), 1);
	assert_int_equal(run("show run | frobnicate x", &o), 1);
	assert_null(strstr(o.buf, "line one"));
	assert_int_equal(run("show run | e x", &o), 0); /* unique prefix of exclude */
	out_free(&o);
}

static void test_help_complete(void **s)
{
	struct out o;
	out_init(&o);
	/* After a '|': the pipe keywords, then what the keyword takes. */
	exec_help("show run | ", &o);
	assert_non_null(strstr(o.buf, "include"));
	assert_non_null(strstr(o.buf, "redirect"));
	assert_null(strstr(o.buf, "Unrecognized"));
	out_reset(&o);
	exec_help("show run | inc ", &o);
	assert_string_equal(o.buf, "  LINE  Regular expression\n");
	out_reset(&o);
	exec_help("show run | include x | ", &o);
	assert_non_null(strstr(o.buf, "exclude"));
	out_reset(&o);
	exec_help("show run | include x | ex", &o);
	assert_non_null(strstr(o.buf, "exclude"));
	assert_null(strstr(o.buf, "include"));
	out_reset(&o);
	exec_help("show run | frob", &o);
	assert_non_null(strstr(o.buf, "% Unrecognized command"));
	out_reset(&o);
	exec_complete("show run | inc", &o);
	assert_string_equal(o.buf, "show run | include \n");
	out_reset(&o);
	exec_help("show crypto ", &o);
	assert_non_null(strstr(o.buf, "isakmp"));
	assert_non_null(strstr(o.buf, "ipsec"));
	assert_non_null(strstr(o.buf, "sockets"));
	out_reset(&o);
	exec_help("show crypto ipsec sa ", &o);
	assert_non_null(strstr(o.buf, "detail"));
	assert_non_null(strstr(o.buf, "<cr>"));
	out_reset(&o);
	exec_complete("show crypto so", &o);
	assert_string_equal(o.buf, "show crypto sockets \n");
	out_reset(&o);
	exec_complete("show crypto i", &o);
	assert_non_null(strstr(o.buf, "isakmp\nipsec\n"));
	out_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_pipes),
		cmocka_unit_test(test_help_complete),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
