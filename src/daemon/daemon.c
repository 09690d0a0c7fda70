/* Daemon lifecycle: start-up, config ownership, reload, signals, shutdown. */
#include "daemon/daemon.h"
#include "daemon/loop.h"
#include "daemon/subsys.h"
#include "ops/config.h"
#include "ops/control.h"
#include "ops/exec.h"
#include "ops/log.h"
#include "util/out.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

static struct config *running;
static struct daemon_opts opts;
static char pid_path[PATH_MAX];
static int sig_fd = -1;

const struct config *daemon_config(void)
{
	return running;
}

static void apply_logging(const struct config *c)
{
	log_set_hostname(c->hostname);
	log_set_buffered(c->log_buffered_size, c->log_buffered_level);
	log_clear_hosts();
	log_set_trap_level(c->log_trap_level);
	for (const struct cfg_log_host *h = c->log_hosts; h; h = h->next)
		if (log_set_host(h->addr, h->port) < 0)
			log_ios(LOG_SEV_WARN, "SYS", "LOGGINGHOST_FAIL", "logging host ignored: at most %d hosts", LOG_MAX_HOSTS);
}

static int apply_all(const struct config *c)
{
	apply_logging(c);
	if (subsys_apply(c) == 0)
		return 0;
	log_ios(LOG_SEV_WARN, "SYS", "CONFIG_PARTIAL",
		"Not all of %s could be applied; the messages above say what was left out", opts.config_path);
	return 1;
}

int daemon_reload(struct out *err)
{
	struct config *nc = NULL;
	struct out e;
	out_init(&e);
	if (config_load_file(opts.config_path, &nc, &e) < 0) {
		char *save = NULL;
		for (char *l = strtok_r(e.buf ? e.buf : "", "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			log_ios(LOG_SEV_ERR, "PARSER", "RELOAD_FAILED", "%s", l);
		if (err && e.buf) {
			/* strtok_r cut the buffer up; re-read for the caller */
			out_reset(&e);
			if (config_load_file(opts.config_path, &nc, &e) == 0)
				config_free(nc); /* fixed in between: reload again to use it */
			out_write(err, e.buf, e.len);
		}
		out_free(&e);
		log_ios(LOG_SEV_ERR, "SYS", "CONFIG_NOT_LOADED",
			"Reload of %s failed; the running configuration is unchanged", opts.config_path);
		return -1;
	}
	out_free(&e);
	struct config *old = running;
	running = nc;
	int partial = apply_all(running);
	config_free(old);
	log_ios(LOG_SEV_NOTICE, "SYS", "CONFIG_I", "Configured from %s", opts.config_path);
	return partial;
}

static void on_signal(int fd, uint32_t ev, void *arg)
{
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			daemon_reload(NULL);
		else
			loop_stop();
	}
}

static int write_pidfile(void)
{
	snprintf(pid_path, sizeof(pid_path), "%s.pid", opts.socket_path);
	int fd = open(pid_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	dprintf(fd, "%d\n", (int)getpid());
	close(fd);
	return 0;
}

static void mkdir_parent(const char *path)
{
	char d[PATH_MAX];
	snprintf(d, sizeof(d), "%s", path);
	char *s = strrchr(d, '/');
	if (s && s != d) {
		*s = '\0';
		mkdir(d, 0700);
	}
}

int daemon_start(const struct daemon_opts *o)
{
	struct out err;
	opts = *o;
	out_init(&err);
	if (config_load_file(opts.config_path, &running, &err) < 0) {
		fputs(err.buf ? err.buf : "config: cannot load\n", stderr);
		out_free(&err);
		return 2;
	}
	out_free(&err);
	return 0;
}

int daemon_setup(void)
{
	log_set_stderr(opts.foreground);
	log_set_syslog(!opts.foreground);
	if (loop_init() < 0) {
		perror("insyncd: event loop");
		return 1;
	}
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig_fd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sig_fd < 0 || loop_add_fd(sig_fd, 0x001 /* EPOLLIN */, on_signal, NULL) < 0) {
		perror("insyncd: signals");
		return 1;
	}
	subsys_register_commands();
	mkdir(opts.data_dir, 0700);
	exec_set_datadir(opts.data_dir);
	mkdir_parent(opts.socket_path);
	if (control_listen(opts.socket_path) < 0) {
		fprintf(stderr, "insyncd: control socket %s: %s\n", opts.socket_path, strerror(errno));
		return 1;
	}
	write_pidfile();
	subsys_init();
	apply_all(running);
	if (control_publish() < 0) {
		fprintf(stderr, "insyncd: control socket %s: %s\n", opts.socket_path, strerror(errno));
		return 1;
	}
	log_ios(LOG_SEV_NOTICE, "SYS", "START", "insyncd started, configured from %s", opts.config_path);
	return 0;
}

int daemon_run(void)
{
	return loop_run();
}

void daemon_stop(void)
{
	log_ios(LOG_SEV_NOTICE, "SYS", "SHUTDOWN", "insyncd shutting down");
	subsys_shutdown();
	control_close();
	if (pid_path[0])
		unlink(pid_path);
	if (sig_fd >= 0) {
		loop_del_fd(sig_fd);
		close(sig_fd);
	}
	config_free(running);
	running = NULL;
	exec_unregister_all();
	loop_free();
	log_free();
}
