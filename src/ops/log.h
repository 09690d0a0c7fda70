/* IOS-style logging: "*Mmm dd hh:mm:ss.mmm: %FAC-SEV-MNEMONIC: text" lines,
 * sent to every configured sink (stderr, syslog(3), logging host, buffer) and to
 * subscribers (the event manager's syslog pattern detector). */
#ifndef INSYNC_LOG_H
#define INSYNC_LOG_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

enum {
	LOG_SEV_EMERG = 0,
	LOG_SEV_ALERT,
	LOG_SEV_CRIT,
	LOG_SEV_ERR,
	LOG_SEV_WARN,
	LOG_SEV_NOTICE,
	LOG_SEV_INFO,
	LOG_SEV_DEBUG,
};

/* Log "%FAC-SEV-MNEM: text". Subject to the global lines-per-second cap. */
void log_ios(int sev, const char *fac, const char *mnem, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Log a preformatted body at sev with no %FAC prefix (debug output). */
void log_raw(int sev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sinks */
void log_set_stderr(int on);
void log_set_syslog(int on);
/* Buffered ring of `size` bytes keeping lines at or below `level`; size 0 disables. */
int log_set_buffered(size_t size, int level);
/* Remote syslog over UDP (RFC 3164 framing); addr 0 removes. */
#define LOG_MAX_HOSTS 8 /* logging hosts in use; more are refused with a warning */
int log_set_host(uint32_t addr_be, uint16_t port);
/* Highest severity (0-7) sent to logging hosts (`logging trap`, default 6). */
void log_set_trap_level(int level);
void log_clear_hosts(void);
void log_set_hostname(const char *name);
/* Print the "show logging" view. */
struct out;
void log_show(struct out *o);
void log_clear_buffer(void);
/* Format one line's timestamp prefix: "*Mmm dd hh:mm:ss.mmm: " */
size_t log_stamp(char *dst, size_t cap);

/* Subscribers get every emitted line (after rate limits), body without stamp. */
typedef void (*log_hook_fn)(int sev, const char *line, void *arg);
int log_add_hook(log_hook_fn fn, void *arg);
void log_del_hook(log_hook_fn fn, void *arg);

/* Global cap on lines per second (default 200); excess lines are counted. */
void log_set_rate_cap(unsigned per_sec);
uint64_t log_suppressed(void);
void log_free(void);

const char *log_sev_name(int sev);
/* Parse an IOS level name or number; -1 on error. */
int log_sev_parse(const char *s);
#endif
