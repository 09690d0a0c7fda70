/* Exec commands about the daemon itself: running config, reload, version. */
#include "daemon/daemon.h"
#include "ops/config.h"
#include "ops/exec.h"
#include "util/out.h"
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#define INSYNC_VERSION "0.1.0"

static time_t started;

static int cmd_show_run(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	const struct config *c = daemon_config();
	int unmasked = argc > 2 && strcmp(argv[2], "unmasked") == 0;
	if (c == NULL)
		return 1;
	out_printf(o, "Building configuration...\n\nCurrent configuration:\n!\n");
	config_print(c, unmasked, o);
	return 0;
}

static int cmd_reload(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	int rc = daemon_reload(o);
	if (rc < 0) {
		out_printf(o, "%% Reload failed; the running configuration is unchanged\n");
		return 2;
	}
	if (rc > 0) {
		out_printf(o, "%% Configuration reloaded, but not all of it could be applied (show logging)\n");
		return 1;
	}
	out_printf(o, "Configuration reloaded\n");
	return 0;
}

static int cmd_show_version(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	struct utsname u;
	const struct config *c = daemon_config();
	long up = (long)(time(NULL) - started);
	uname(&u);
	out_printf(o, "insync IPsec VPN daemon, Version %s\n", INSYNC_VERSION);
	out_printf(o, "Running on %s %s %s\n", u.sysname, u.release, u.machine);
	out_printf(o, "%s uptime is %ld days, %ld hours, %ld minutes, %ld seconds\n",
		   c && c->hostname[0] ? c->hostname : "insync", up / 86400, up / 3600 % 24,
		   up / 60 % 60, up % 60);
	return 0;
}

void daemon_register_commands(void)
{
	started = time(NULL);
	exec_register("show running-config", cmd_show_run, "Current operating configuration");
	exec_register("show running-config unmasked", cmd_show_run, "Show secrets in clear text");
	exec_register("reload", cmd_reload, "Reload the configuration file");
	exec_register("show version", cmd_show_version, "System hardware and software status");
}
