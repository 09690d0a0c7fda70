/* insyncd: option parsing and the top-level run. */
#include "daemon/daemon.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: insyncd [-f CONFIG] [-S SOCKET] [-D DATADIR] [-F] [-n]\n"
			"  -f CONFIG   configuration file (default /etc/insync/insyncd.conf)\n"
			"  -S SOCKET   control socket (default /run/insync/insyncd.sock)\n"
			"  -D DATADIR  directory that disk0: maps to (default /var/lib/insync)\n"
			"  -F          run in the foreground, log to stderr\n"
			"  -n          check the configuration and exit (0 good, 2 bad)\n");
}

int main(int argc, char **argv)
{
	struct daemon_opts o = {
		.config_path = "/etc/insync/insyncd.conf",
		.socket_path = "/run/insync/insyncd.sock",
		.data_dir = "/var/lib/insync",
	};
	int ch, rc;
	while ((ch = getopt(argc, argv, "f:S:D:Fnh")) != -1) {
		switch (ch) {
		case 'f':
			o.config_path = optarg;
			break;
		case 'S':
			o.socket_path = optarg;
			break;
		case 'D':
			o.data_dir = optarg;
			break;
		case 'F':
			o.foreground = 1;
			break;
		case 'n':
			o.check_only = 1;
			break;
		default:
			usage();
			return ch == 'h' ? 0 : 2;
		}
	}
	if (optind != argc) {
		usage();
		return 2;
	}
	rc = daemon_start(&o);
	if (rc != 0 || o.check_only)
		return rc;
	if (!o.foreground && daemon(0, 0) < 0) {
		perror("insyncd: daemon");
		return 1;
	}
	if ((rc = daemon_setup()) != 0)
		return rc;
	rc = daemon_run();
	daemon_stop();
	return rc ? 1 : 0;
}
