/* The daemon's running state: the active configuration and the subsystems it
 * drives. Load and reload are atomic: a new file is parsed and checked in full
 * before anything is applied; on error the running config stays. */
#ifndef INSYNC_DAEMON_H
#define INSYNC_DAEMON_H

struct config;
struct out;

struct daemon_opts {
	const char *config_path;
	const char *socket_path;
	const char *data_dir;
	int foreground;
	int check_only;
};

/* Load and check the configuration: 0, or 2 with FILE:LINE:COL errors on stderr. */
int daemon_start(const struct daemon_opts *o);
/* Open sockets, start subsystems and apply the config (after daemonizing). */
int daemon_setup(void);
int daemon_run(void);
void daemon_stop(void);
/* Re-read the config file. Returns 0; 1 when some part could not be applied
 * (logged, and the rest is running); -1 with the errors in err (if given). */
int daemon_reload(struct out *err);
/* The running configuration (borrowed). */
const struct config *daemon_config(void);
#endif
