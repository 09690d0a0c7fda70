/* IOS-style log lines and their sinks. Lines are formatted once, then copied to
 * stderr, syslog(3), remote hosts (RFC 3164 over UDP) and the buffer ring, and
 * finally offered to hooks (the event manager). A global per-second cap keeps a
 * flood of events from turning into a flood of lines. */
#include "ops/log.h"
#include "util/out.h"
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 1024
#define LOG_MAX_HOOKS 8

static const char *sev_names[] = {"emergencies", "alerts",        "critical",      "errors",
				  "warnings",    "notifications", "informational", "debugging"};

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int to_stderr, to_syslog;
static char hostname[64] = "insync";

struct host_sink {
	uint32_t addr;
	uint16_t port;
	uint64_t sent;
};
static struct host_sink hosts[LOG_MAX_HOSTS];
static int nhosts;
static int udp_fd = -1;

/* Buffer ring: lines kept oldest-first in a FIFO with a byte budget. */
struct bline {
	struct bline *next;
	size_t len;
	char text[];
};
static struct bline *bhead, *btail;
static size_t bbytes, bsize;
static int blevel = LOG_SEV_DEBUG;
static uint64_t blogged;

struct hook {
	log_hook_fn fn;
	void *arg;
};
static struct hook hooks[LOG_MAX_HOOKS];
static int hook_depth;

static unsigned cap_per_sec = 200;
static uint64_t cap_sec, cap_count, suppressed_total, lines_total;

const char *log_sev_name(int sev)
{
	return sev >= 0 && sev <= 7 ? sev_names[sev] : "?";
}

int log_sev_parse(const char *s)
{
	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	for (int i = 0; i < 8; i++)
		if (strcmp(s, sev_names[i]) == 0)
			return i;
	return -1;
}

size_t log_stamp(char *dst, size_t cap)
{
	static const char *mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	int n = snprintf(dst, cap, "*%s %2d %02d:%02d:%02d.%03ld: ", mon[tm.tm_mon], tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

void log_set_stderr(int on)
{
	to_stderr = on;
}

void log_set_syslog(int on)
{
	if (on && !to_syslog)
		openlog("insyncd", LOG_PID | LOG_NDELAY, LOG_LOCAL0);
	else if (!on && to_syslog)
		closelog();
	to_syslog = on;
}

void log_set_hostname(const char *name)
{
	snprintf(hostname, sizeof(hostname), "%s", name && *name ? name : "insync");
}

static void buffer_trim(void)
{
	while (bhead && bbytes > bsize) {
		struct bline *b = bhead;
		bhead = b->next;
		if (bhead == NULL)
			btail = NULL;
		bbytes -= b->len;
		free(b);
	}
}

int log_set_buffered(size_t size, int level)
{
	pthread_mutex_lock(&log_mu);
	bsize = size;
	blevel = level < 0 ? LOG_SEV_DEBUG : level;
	buffer_trim();
	pthread_mutex_unlock(&log_mu);
	return 0;
}

void log_clear_buffer(void)
{
	pthread_mutex_lock(&log_mu);
	size_t keep = bsize;
	bsize = 0;
	buffer_trim();
	bsize = keep;
	pthread_mutex_unlock(&log_mu);
}

void log_clear_hosts(void)
{
	pthread_mutex_lock(&log_mu);
	nhosts = 0;
	pthread_mutex_unlock(&log_mu);
}

/* `logging trap LEVEL`: what goes to the logging hosts (IOS default: informational). */
static int trap_level = 6;

void log_set_trap_level(int level)
{
	pthread_mutex_lock(&log_mu);
	trap_level = level;
	pthread_mutex_unlock(&log_mu);
}

int log_set_host(uint32_t addr_be, uint16_t port)
{
	int rc = 0;
	pthread_mutex_lock(&log_mu);
	if (udp_fd < 0)
		udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (nhosts >= LOG_MAX_HOSTS)
		rc = -1;
	else
		hosts[nhosts++] = (struct host_sink){addr_be, port ? port : 514, 0};
	pthread_mutex_unlock(&log_mu);
	return rc;
}

static void send_hosts(int sev, const char *body)
{
	/* RFC 3164: <PRI>Mmm dd hh:mm:ss HOST TAG: MSG, facility local7 as IOS uses. */
	static const char *mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	char pkt[LOG_LINE_MAX + 128];
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	int n = snprintf(pkt, sizeof(pkt), "<%d>%s %2d %02d:%02d:%02d %s insyncd: %s", 23 * 8 + sev,
			 mon[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, hostname, body);
	if (n < 0 || sev > trap_level)
		return;
	if ((size_t)n >= sizeof(pkt))
		n = sizeof(pkt) - 1;
	for (int i = 0; i < nhosts && udp_fd >= 0; i++) {
		struct sockaddr_in sin = {.sin_family = AF_INET,
					  .sin_port = htons(hosts[i].port),
					  .sin_addr.s_addr = hosts[i].addr};
		if (sendto(udp_fd, pkt, (size_t)n, 0, (struct sockaddr *)&sin, sizeof(sin)) > 0)
			hosts[i].sent++;
	}
}

static void buffer_add(const char *stamp, const char *body)
{
	size_t ls = strlen(stamp), lb = strlen(body);
	if (bsize == 0)
		return;
	struct bline *b = malloc(sizeof(*b) + ls + lb + 1);
	if (b == NULL)
		return;
	memcpy(b->text, stamp, ls);
	memcpy(b->text + ls, body, lb + 1);
	b->len = ls + lb + 1;
	b->next = NULL;
	if (btail)
		btail->next = b;
	else
		bhead = b;
	btail = b;
	bbytes += b->len;
	blogged++;
	buffer_trim();
}

static void emit(int sev, const char *body)
{
	char stamp[48];
	struct hook hk[LOG_MAX_HOOKS];
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&log_mu);
	if ((uint64_t)ts.tv_sec != cap_sec) {
		cap_sec = (uint64_t)ts.tv_sec;
		cap_count = 0;
	}
	if (cap_per_sec && ++cap_count > cap_per_sec) {
		suppressed_total++;
		pthread_mutex_unlock(&log_mu);
		return;
	}
	lines_total++;
	log_stamp(stamp, sizeof(stamp));
	if (to_stderr)
		fprintf(stderr, "%s%s\n", stamp, body);
	if (to_syslog)
		syslog(sev, "%s", body);
	send_hosts(sev, body);
	if (sev <= blevel)
		buffer_add(stamp, body);
	memcpy(hk, hooks, sizeof(hk));
	pthread_mutex_unlock(&log_mu);

	/* Hooks may log (an applet's syslog action); bound the recursion. */
	if (hook_depth > 2)
		return;
	hook_depth++;
	for (int i = 0; i < LOG_MAX_HOOKS; i++)
		if (hk[i].fn)
			hk[i].fn(sev, body, hk[i].arg);
	hook_depth--;
}

void log_ios(int sev, const char *fac, const char *mnem, const char *fmt, ...)
{
	char body[LOG_LINE_MAX];
	va_list ap;
	int n = snprintf(body, sizeof(body), "%%%s-%d-%s: ", fac, sev, mnem);
	if (n < 0 || (size_t)n >= sizeof(body))
		return;
	va_start(ap, fmt);
	vsnprintf(body + n, sizeof(body) - (size_t)n, fmt, ap);
	va_end(ap);
	emit(sev, body);
}

void log_raw(int sev, const char *fmt, ...)
{
	char body[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	emit(sev, body);
}

int log_add_hook(log_hook_fn fn, void *arg)
{
	int rc = -1;
	pthread_mutex_lock(&log_mu);
	for (int i = 0; i < LOG_MAX_HOOKS; i++)
		if (hooks[i].fn == NULL) {
			hooks[i] = (struct hook){fn, arg};
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&log_mu);
	return rc;
}

void log_del_hook(log_hook_fn fn, void *arg)
{
	pthread_mutex_lock(&log_mu);
	for (int i = 0; i < LOG_MAX_HOOKS; i++)
		if (hooks[i].fn == fn && hooks[i].arg == arg)
			hooks[i] = (struct hook){NULL, NULL};
	pthread_mutex_unlock(&log_mu);
}

void log_set_rate_cap(unsigned per_sec)
{
	cap_per_sec = per_sec;
}

uint64_t log_suppressed(void)
{
	return suppressed_total;
}

void log_show(struct out *o)
{
	pthread_mutex_lock(&log_mu);
	out_printf(o, "Syslog logging: enabled (%llu messages dropped by rate limit, 0 flushes, 0 overruns)\n",
		   (unsigned long long)suppressed_total);
	out_printf(o, "    Console logging: %s\n", to_stderr ? "level debugging" : "disabled");
	out_printf(o, "    Monitor logging: disabled\n");
	if (bsize)
		out_printf(o, "    Buffer logging:  level %s, %llu messages logged\n",
			   log_sev_name(blevel), (unsigned long long)blogged);
	else
		out_printf(o, "    Buffer logging:  disabled\n");
	out_printf(o, "    Trap logging: level %s, %llu message lines logged\n", log_sev_name(trap_level),
		   (unsigned long long)lines_total);
	for (int i = 0; i < nhosts; i++) {
		char a[INET_ADDRSTRLEN];
		struct in_addr ia = {hosts[i].addr};
		inet_ntop(AF_INET, &ia, a, sizeof(a));
		out_printf(o, "        Logging to %s  (udp port %u, RFC 3164, %llu message lines sent)\n", a,
			   hosts[i].port, (unsigned long long)hosts[i].sent);
	}
	if (bsize) {
		out_printf(o, "\nLog Buffer (%zu bytes):\n\n", bsize);
		for (struct bline *b = bhead; b; b = b->next)
			out_printf(o, "%s\n", b->text);
	}
	pthread_mutex_unlock(&log_mu);
}

void log_free(void)
{
	log_clear_buffer();
	bsize = 0;
	nhosts = 0;
	if (udp_fd >= 0)
		close(udp_fd);
	udp_fd = -1;
	memset(hooks, 0, sizeof(hooks));
	log_set_syslog(0);
}
