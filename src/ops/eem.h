/* The event manager: IOS EEM applets. Event detectors (syslog pattern, SNMP
 * notification, timers, none) start applet instances; each instance is a small
 * state machine driven by loop timers, so `wait` never blocks the daemon.
 * One instance per applet runs at a time; maxrun aborts a slow one. */
#ifndef INSYNC_EEM_H
#define INSYNC_EEM_H
#include <stddef.h>
#include <stdint.h>

struct config;
struct out;

#define EEM_OID_MAX 128
#define EEM_VAL_MAX 256

/* One received varbind, already decoded to text by snmp.c. */
struct eem_varbind {
	char oid[EEM_OID_MAX]; /* dotted decimal, no leading '.' */
	char val[EEM_VAL_MAX]; /* value as text (integers in decimal) */
	int numeric;           /* 1 when val came from an integer-valued type */
	long long num;         /* that integer */
};

/* (Re)register the applets of cfg. History, counters and running instances
 * survive a reload; a running instance of a removed applet runs to its end.
 * Returns 0, or -1 when an applet could not be registered (logged). */
int eem_apply(const struct config *cfg);
/* Register the exec commands (show event manager ..., event manager run). */
void eem_register_commands(void);
/* Abort every instance, drop all applets and the log hook. */
void eem_shutdown(void);

/* Feed an authenticated SNMP notification from src (network order). */
void eem_snmp_notify(uint32_t src_be, const struct eem_varbind *vb, size_t n);
/* Feed one log line body ("%FAC-SEV-MNEM: text"); the log hook calls this. */
void eem_syslog_line(int sev, const char *line);
/* `event manager run NAME`: start an `event none` applet. 0, or -1 with the
 * reason in o. */
int eem_run(const char *name, struct out *o);

void eem_show_registered(struct out *o);
void eem_show_history(struct out *o);

/* Per-applet counters (tests and show). */
struct eem_stats {
	uint64_t triggered; /* events that matched */
	uint64_t started;   /* instances started */
	uint64_t skipped;   /* triggers while an instance was running */
	uint64_t completed; /* instances that ran to the end */
	uint64_t aborted;   /* instances stopped by maxrun */
	int running;
};
/* 0 and *st filled, or -1 when no such applet. */
int eem_applet_stats(const char *name, struct eem_stats *st);

/* Test hook: the clock used for `occurs/period` windows (default loop_now_ms). */
void eem_set_clock(uint64_t (*now_ms)(void));
#endif
