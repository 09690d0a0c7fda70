/* Basic exec commands: logging, debugging, and IOS no-ops. */
#include "ops/debug.h"
#include "ops/exec.h"
#include "ops/log.h"
#include "util/out.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static int cmd_show_logging(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	log_show(o);
	return 0;
}

static int cmd_clear_logging(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	log_clear_buffer();
	return 0;
}

static int cmd_show_debug(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	debug_show(o);
	return 0;
}

static unsigned cat_of(const char *w)
{
	if (strcmp(w, "isakmp") == 0)
		return DBG_ISAKMP;
	if (strcmp(w, "ikev2") == 0)
		return DBG_IKEV2;
	if (strcmp(w, "ipsec") == 0)
		return DBG_IPSEC;
	return DBG_ENGINE;
}

static int cmd_debug(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	int on = strcmp(argv[0], "debug") == 0;
	const char *w = argv[argc - 1];
	debug_set(cat_of(w), on);
	if (strcmp(w, "isakmp") == 0)
		out_printf(o, "Crypto ISAKMP debugging is %s\n", on ? "on" : "off");
	else if (strcmp(w, "ikev2") == 0)
		out_printf(o, "IKEv2 default debugging is %s\n", on ? "on" : "off");
	else if (strcmp(w, "ipsec") == 0)
		out_printf(o, "Crypto IPSEC debugging is %s\n", on ? "on" : "off");
	else
		out_printf(o, "Crypto Engine debugging is %s\n", on ? "on" : "off");
	return 0;
}

static int cmd_debug_cond(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	struct in_addr a;
	if (inet_pton(AF_INET, argv[argc - 1], &a) != 1)
		return 1;
	if (debug_cond_add(a.s_addr) < 0) {
		out_printf(o, "%% Too many debug conditions\n");
		return 1;
	}
	return 0;
}

static int cmd_undebug_cond(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	struct in_addr a;
	if (inet_pton(AF_INET, argv[argc - 1], &a) != 1)
		return 1;
	if (debug_cond_del(a.s_addr) < 0) {
		out_printf(o, "%% No debug condition for peer %s\n", argv[argc - 1]);
		return 1;
	}
	return 0;
}

static int cmd_undebug_all(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	debug_reset();
	out_printf(o, "All possible debugging has been turned off\n");
	return 0;
}

static int cmd_noop(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	return 0;
}

void basic_register_commands(void)
{
	static const char *cats[] = {"isakmp", "ikev2", "ipsec", "engine"};
	char syn[96];
	exec_register("show logging", cmd_show_logging, "Show the contents of logging buffers");
	exec_register("clear logging", cmd_clear_logging, "Clear logging buffer");
	exec_register("show debugging", cmd_show_debug, "State of each debugging option");
	for (size_t i = 0; i < 4; i++) {
		snprintf(syn, sizeof(syn), "debug crypto %s", cats[i]);
		exec_register(syn, cmd_debug, "Crypto debugging");
		snprintf(syn, sizeof(syn), "no debug crypto %s", cats[i]);
		exec_register(syn, cmd_debug, "Disable crypto debugging");
		snprintf(syn, sizeof(syn), "undebug crypto %s", cats[i]);
		exec_register(syn, cmd_debug, "Disable crypto debugging");
	}
	exec_register("debug crypto condition peer ipv4 A.B.C.D", cmd_debug_cond,
		      "Filter crypto debugs by peer address");
	exec_register("no debug crypto condition peer ipv4 A.B.C.D", cmd_undebug_cond,
		      "Remove one peer filter");
	exec_register("undebug crypto condition peer ipv4 A.B.C.D", cmd_undebug_cond,
		      "Remove one peer filter");
	exec_register("undebug all", cmd_undebug_all, "Disable all debugging");
	exec_register("no debug all", cmd_undebug_all, "Disable all debugging");
	exec_register("enable", cmd_noop, "Turn on privileged commands (no-op)");
	exec_register("terminal length NUM", cmd_noop, "Set number of lines on a screen (no-op)");
}
