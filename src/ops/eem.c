/* The event manager (IOS EEM applets). Detectors turn log lines, SNMP
 * notifications and timers into triggers; a trigger starts an instance that
 * walks the applet's actions as a state machine on loop timers:
 *
 *   trigger --(timer 0)--> step: run actions until `wait` or the end
 *                          wait S --(timer S)--> step ...
 *   maxrun timer ----------------------------------> abort
 *
 * Triggers never run actions synchronously: a log hook or a packet handler
 * only arms a timer, so applets cannot re-enter the code that logged. */
#include "util/rx.h"
#include "ops/eem.h"
#include "daemon/loop.h"
#include "ops/config.h"
#include "ops/exec.h"
#include "ops/log.h"
#include "ops/snmp.h"
#include "util/out.h"
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EEM_HIST_MAX 64
#define EEM_OCCURS_MAX 1000
#define EEM_DEFAULT_MAXRUN 20
#define EEM_MAX_DEPTH 8 /* applets started by applets, in a chain */

struct eem_inst;

struct eem_applet {
	char name[CFG_NAME_MAX];
	enum cfg_eem_event event;
	char pattern[256];
	regex_t re;
	int has_re;
	uint32_t occurs, period;
	char oid[128]; /* without a leading '.' */
	char oid_val[128];
	enum cfg_eem_op op;
	uint32_t src_ip;
	uint32_t timer_sec, maxrun;
	size_t n_act;
	struct cfg_eem_action *acts; /* in IOS label order */
	uint64_t *hits;              /* occurs/period ring of match times */
	size_t n_hits, hit_head;
	struct timer ev_timer; /* timer countdown / watchdog */
	time_t registered;
	struct eem_stats st;
	struct eem_inst *inst; /* the running instance, if any */
	struct eem_applet *next;
};

struct eem_inst {
	struct eem_applet *applet; /* NULL once a reload removed the applet */
	char name[CFG_NAME_MAX];
	unsigned job;
	size_t n_act, pc;
	struct cfg_eem_action *acts; /* own copy: a reload cannot pull it away */
	uint32_t maxrun;
	unsigned depth; /* 0: started by its event; n: by an action of an applet at depth n-1 */
	struct timer step_t, maxrun_t;
	struct eem_inst *next;
};

/* The instance whose action is running now: what it starts (event manager
 * run, a syslog line another applet matches) is one level deeper. */
static struct eem_inst *acting;

struct eem_hist {
	unsigned job;
	time_t when;
	char type[24];
	char name[CFG_NAME_MAX];
	char status[12];
};

static struct eem_applet *applets;
static struct eem_inst *insts;
static struct eem_hist hist[EEM_HIST_MAX];
static unsigned hist_n; /* total entries ever written */
static unsigned job_seq;
static int hooked;
static pthread_t ctl_thread; /* applets live on the control thread */
static uint64_t (*clock_fn)(void) = loop_now_ms;

void eem_set_clock(uint64_t (*now_ms)(void))
{
	clock_fn = now_ms ? now_ms : loop_now_ms;
}

static const char *event_name(enum cfg_eem_event e)
{
	switch (e) {
	case EEM_EV_NONE: return "none";
	case EEM_EV_SYSLOG: return "syslog";
	case EEM_EV_SNMP_NOTIF: return "snmp notification";
	case EEM_EV_TIMER_COUNTDOWN: return "timer countdown";
	case EEM_EV_TIMER_WATCHDOG: return "timer watchdog";
	}
	return "?";
}

/* ---- history ---- */

static void hist_add(unsigned job, const char *type, const char *name, const char *status)
{
	struct eem_hist *h = &hist[hist_n % EEM_HIST_MAX];
	h->job = job;
	h->when = time(NULL);
	snprintf(h->type, sizeof(h->type), "%s", type);
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(h->status, sizeof(h->status), "%s", status);
	hist_n++;
}

static void hist_set(unsigned job, const char *status)
{
	for (unsigned i = 0; i < EEM_HIST_MAX && i < hist_n; i++) {
		struct eem_hist *h = &hist[(hist_n - 1 - i) % EEM_HIST_MAX];
		if (h->job == job) {
			snprintf(h->status, sizeof(h->status), "%s", status);
			return;
		}
	}
}

/* ---- instances ---- */

static void inst_free(struct eem_inst *in)
{
	if (in == NULL)
		return;
	timer_cancel(&in->step_t);
	timer_cancel(&in->maxrun_t);
	for (struct eem_inst **pp = &insts; *pp; pp = &(*pp)->next)
		if (*pp == in) {
			*pp = in->next;
			break;
		}
	if (in->applet && in->applet->inst == in)
		in->applet->inst = NULL;
	free(in->acts);
	free(in);
}

static void inst_finish(struct eem_inst *in, int aborted)
{
	if (in->applet) {
		if (aborted)
			in->applet->st.aborted++;
		else
			in->applet->st.completed++;
	}
	hist_set(in->job, aborted ? "abort" : "success");
	inst_free(in);
}

static int sev_of(int priority)
{
	return priority >= LOG_SEV_EMERG && priority <= LOG_SEV_DEBUG ? priority : LOG_SEV_INFO;
}

/* Run one action; returns the delay to wait in ms, or 0 to go on. */
static uint64_t inst_action(struct eem_inst *in, const struct cfg_eem_action *a)
{
	switch (a->kind) {
	case EEM_ACT_CLI: {
		struct exec_ctx ctx = {.from_applet = 1, .applet = in->name};
		struct out o;
		out_init(&o);
		/* As in IOS, a failing command does not stop the applet. */
		acting = in;
		exec_run(&ctx, a->text, &o);
		acting = NULL;
		out_free(&o);
		return 0;
	}
	case EEM_ACT_WAIT:
		return (uint64_t)a->wait_sec * 1000;
	case EEM_ACT_SYSLOG: /* a %HA_EM line: never matched by applets (eem_syslog_line) */
		log_ios(sev_of(a->priority), "HA_EM", "LOG", "%s: %s", in->name, a->text);
		return 0;
	case EEM_ACT_SNMP_TRAP:
		snmp_send_eem_trap(in->name, in->job, a->intdata1, a->has_int2 ? a->intdata2 : 0,
				   a->text);
		return 0;
	}
	return 0;
}

static void on_step(struct timer *t, void *arg)
{
	struct eem_inst *in = arg;
	while (in->pc < in->n_act) {
		uint64_t delay = inst_action(in, &in->acts[in->pc++]);
		if (delay) {
			timer_arm(&in->step_t, delay);
			return;
		}
	}
	inst_finish(in, 0);
}

static void on_maxrun(struct timer *t, void *arg)
{
	struct eem_inst *in = arg;
	const char *label = in->pc > 0 && in->pc <= in->n_act ? in->acts[in->pc - 1].label : "-";
	log_ios(LOG_SEV_ERR, "HA_EM", "FMPD_ERROR",
		"Policy %s aborted: maxrun of %u.000 seconds exceeded (last action %s)", in->name,
		in->maxrun, label);
	inst_finish(in, 1);
}

/* Start a run of a: 0, or -1 when it was skipped (already running, chain
 * too deep, no memory). */
static int applet_trigger(struct eem_applet *a)
{
	const char *type = event_name(a->event);
	unsigned depth = acting ? acting->depth + 1 : 0;
	a->st.triggered++;
	if (a->inst) {
		a->st.skipped++;
		hist_add(++job_seq, type, a->name, "skipped");
		return -1;
	}
	/* Applets that start each other (A runs B, B runs A) would go on forever. */
	if (depth > EEM_MAX_DEPTH) {
		a->st.skipped++;
		hist_add(++job_seq, type, a->name, "skipped");
		log_ios(LOG_SEV_ERR, "HA_EM", "FMPD_ERROR",
			"Policy %s not started: started by a chain of %u applets (at most %u)", a->name,
			depth, EEM_MAX_DEPTH);
		return -1;
	}
	struct eem_inst *in = calloc(1, sizeof(*in));
	if (in == NULL)
		goto fail;
	in->acts = a->n_act ? calloc(a->n_act, sizeof(*in->acts)) : NULL;
	if (a->n_act && in->acts == NULL)
		goto fail;
	if (a->n_act)
		memcpy(in->acts, a->acts, a->n_act * sizeof(*in->acts));
	in->n_act = a->n_act;
	in->applet = a;
	in->job = ++job_seq;
	in->maxrun = a->maxrun;
	in->depth = depth;
	snprintf(in->name, sizeof(in->name), "%s", a->name);
	timer_init(&in->step_t, on_step, in);
	timer_init(&in->maxrun_t, on_maxrun, in);
	in->next = insts;
	insts = in;
	a->inst = in;
	a->st.started++;
	hist_add(in->job, type, a->name, "actv");
	timer_arm(&in->maxrun_t, (uint64_t)in->maxrun * 1000);
	timer_arm(&in->step_t, 0);
	return 0;
fail:
	if (in)
		free(in->acts);
	free(in);
	log_ios(LOG_SEV_ERR, "HA_EM", "FMPD_ERROR", "Policy %s not started: out of memory", a->name);
	return -1;
}

/* ---- detectors ---- */

/* The occurs/period rule: trigger on the Nth match, or on N matches within
 * `period` seconds; the count restarts after each trigger (as IOS does). */
static int occurs_hit(struct eem_applet *a, uint64_t now)
{
	size_t n = a->occurs > 1 ? a->occurs : 1;
	if (n == 1)
		return 1;
	if (a->period == 0) {
		if (++a->n_hits < n)
			return 0;
		a->n_hits = 0;
		return 1;
	}
	a->hits[a->hit_head] = now;
	a->hit_head = (a->hit_head + 1) % n;
	if (a->n_hits < n)
		a->n_hits++;
	if (a->n_hits < n)
		return 0;
	/* hit_head now points at the oldest of the last n matches */
	if (now - a->hits[a->hit_head] > (uint64_t)a->period * 1000)
		return 0;
	a->n_hits = 0;
	a->hit_head = 0;
	return 1;
}

void eem_syslog_line(int sev, const char *line)
{
	/* The event manager's own messages (%HA_EM-...) never feed the syslog
	 * detector: an applet logging what another (or itself) matches would
	 * otherwise loop forever. */
	if (line == NULL || strncmp(line, "%HA_EM-", 7) == 0)
		return;
	uint64_t now = 0;
	int have_now = 0;
	for (struct eem_applet *a = applets; a; a = a->next) {
		if (a->event != EEM_EV_SYSLOG || !a->has_re)
			continue;
		if (regexec(&a->re, line, 0, NULL, 0) != 0)
			continue;
		if (!have_now) {
			now = clock_fn();
			have_now = 1;
		}
		if (occurs_hit(a, now))
			applet_trigger(a);
	}
}

static void log_hook(int sev, const char *line, void *arg)
{
	/* Applet state and timers belong to the control thread; a line logged
	 * by another thread is not seen by the detectors. */
	if (pthread_equal(pthread_self(), ctl_thread))
		eem_syslog_line(sev, line);
}

static int parse_ll(const char *s, long long *v)
{
	char *end;
	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (errno || *end != '\0')
		return 0;
	*v = x;
	return 1;
}

static int oid_match(const char *want, const char *have)
{
	size_t n = strlen(want);
	if (n == 0)
		return 0;
	if (want[n - 1] == '.') /* prefix: the arc boundary is part of want */
		return strncmp(want, have, n) == 0 && have[n] != '\0';
	return strcmp(want, have) == 0;
}

static int val_match(const struct eem_applet *a, const struct eem_varbind *v)
{
	long long want, have;
	int cmp;
	int num = parse_ll(a->oid_val, &want);
	if (num) {
		if (v->numeric)
			have = v->num;
		else
			num = parse_ll(v->val, &have);
	}
	if (num)
		cmp = (have > want) - (have < want);
	else if (a->op == EEM_OP_EQ || a->op == EEM_OP_NE)
		cmp = strcmp(v->val, a->oid_val);
	else
		return 0; /* ordering needs two numbers */
	switch (a->op) {
	case EEM_OP_EQ: return cmp == 0;
	case EEM_OP_NE: return cmp != 0;
	case EEM_OP_GT: return cmp > 0;
	case EEM_OP_GE: return cmp >= 0;
	case EEM_OP_LT: return cmp < 0;
	case EEM_OP_LE: return cmp <= 0;
	}
	return 0;
}

void eem_snmp_notify(uint32_t src_be, const struct eem_varbind *vb, size_t n)
{
	for (struct eem_applet *a = applets; a; a = a->next) {
		if (a->event != EEM_EV_SNMP_NOTIF)
			continue;
		if (a->src_ip && a->src_ip != src_be)
			continue;
		for (size_t i = 0; i < n; i++)
			if (oid_match(a->oid, vb[i].oid) && val_match(a, &vb[i])) {
				applet_trigger(a); /* once per notification */
				break;
			}
	}
}

static void on_ev_timer(struct timer *t, void *arg)
{
	struct eem_applet *a = arg;
	if (a->event == EEM_EV_TIMER_WATCHDOG && a->timer_sec)
		timer_arm(&a->ev_timer, (uint64_t)a->timer_sec * 1000);
	applet_trigger(a);
}

static struct eem_applet *applet_find(struct eem_applet *list, const char *name)
{
	for (struct eem_applet *a = list; a; a = a->next)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

int eem_run(const char *name, struct out *o)
{
	struct eem_applet *a = applet_find(applets, name);
	if (a == NULL || a->event != EEM_EV_NONE) {
		if (o)
			out_printf(o, "%%ERROR: applet %s is not registered%s\n", name,
				   a ? " with event none" : "");
		return -1;
	}
	if (applet_trigger(a)) {
		if (o)
			out_printf(o, "%%ERROR: applet %s was not started: %s\n", name,
				   a->inst ? "it is still running (see show event manager history events)"
					   : "see the log");
		return -1;
	}
	return 0;
}

/* ---- registration ---- */

static void applet_free(struct eem_applet *a)
{
	if (a == NULL)
		return;
	timer_cancel(&a->ev_timer);
	if (a->has_re)
		regfree(&a->re);
	if (a->inst)
		a->inst->applet = NULL; /* it runs on as an orphan */
	free(a->acts);
	free(a->hits);
	free(a);
}

/* IOS runs actions in ascending alphanumeric order of their labels: plain
 * string comparison, so "1" < "10" < "2" < "8" < "8.1" < "9". */
static void sort_actions(struct cfg_eem_action *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct cfg_eem_action tmp = v[i];
		size_t j = i;
		while (j > 0 && strcmp(v[j - 1].label, tmp.label) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = tmp;
	}
}

static struct eem_applet *applet_new(const struct cfg_applet *c)
{
	struct eem_applet *a = calloc(1, sizeof(*a));
	size_t n = 0;
	if (a == NULL)
		goto fail;
	snprintf(a->name, sizeof(a->name), "%s", c->name);
	a->event = c->event;
	snprintf(a->pattern, sizeof(a->pattern), "%s", c->pattern);
	a->occurs = c->occurs > EEM_OCCURS_MAX ? EEM_OCCURS_MAX : c->occurs;
	a->period = c->period;
	snprintf(a->oid, sizeof(a->oid), "%s", c->oid[0] == '.' ? c->oid + 1 : c->oid);
	snprintf(a->oid_val, sizeof(a->oid_val), "%s", c->oid_val);
	a->op = c->op ? c->op : EEM_OP_EQ;
	a->src_ip = c->src_ip;
	a->timer_sec = c->timer_sec;
	a->maxrun = c->maxrun ? c->maxrun : EEM_DEFAULT_MAXRUN;
	timer_init(&a->ev_timer, on_ev_timer, a);
	if (a->event == EEM_EV_SYSLOG) {
		if (rx_compile(&a->re, a->pattern, REG_EXTENDED | REG_NOSUB) != 0) {
			log_ios(LOG_SEV_ERR, "HA_EM", "FMPD_ERROR",
				"applet %s: invalid syslog pattern; not registered", a->name);
			goto fail;
		}
		a->has_re = 1;
		if (a->occurs > 1 && a->period) {
			a->hits = calloc(a->occurs, sizeof(*a->hits));
			if (a->hits == NULL)
				goto fail;
		}
	}
	for (const struct cfg_eem_action *x = c->actions; x; x = x->next)
		n++;
	if (n > CFG_EEM_ACTIONS_MAX) {
		log_ios(LOG_SEV_ERR, "HA_EM", "FMPD_ERROR", "applet %s: more than %d actions",
			a->name, CFG_EEM_ACTIONS_MAX);
		goto fail;
	}
	if (n) {
		a->acts = calloc(n, sizeof(*a->acts));
		if (a->acts == NULL)
			goto fail;
		n = 0;
		for (const struct cfg_eem_action *x = c->actions; x; x = x->next) {
			a->acts[n] = *x;
			a->acts[n++].next = NULL;
		}
		sort_actions(a->acts, n);
	}
	a->n_act = n;
	return a;
fail:
	applet_free(a);
	return NULL;
}

int eem_apply(const struct config *cfg)
{
	struct eem_applet *list = NULL, **tail = &list;
	int rc = 0;
	for (const struct cfg_applet *c = cfg ? cfg->applets : NULL; c; c = c->next) {
		struct eem_applet *a = applet_new(c);
		if (a == NULL) {
			rc = -1;
			continue;
		}
		*tail = a;
		tail = &a->next;
	}
	/* Carry counters, registration time and the running instance over. */
	for (struct eem_applet *a = list; a; a = a->next) {
		struct eem_applet *old = applet_find(applets, a->name);
		a->registered = time(NULL);
		if (old == NULL)
			continue;
		a->registered = old->registered;
		a->st = old->st;
		a->inst = old->inst;
		old->inst = NULL;
		if (a->inst)
			a->inst->applet = a;
	}
	while (applets) {
		struct eem_applet *old = applets;
		applets = old->next;
		applet_free(old);
	}
	applets = list;
	for (struct eem_applet *a = applets; a; a = a->next)
		if ((a->event == EEM_EV_TIMER_COUNTDOWN || a->event == EEM_EV_TIMER_WATCHDOG) &&
		    a->timer_sec)
			timer_arm(&a->ev_timer, (uint64_t)a->timer_sec * 1000);
	ctl_thread = pthread_self();
	if (!hooked && log_add_hook(log_hook, NULL) == 0)
		hooked = 1;
	return rc;
}

void eem_shutdown(void)
{
	while (insts)
		inst_free(insts);
	while (applets) {
		struct eem_applet *a = applets;
		applets = a->next;
		applet_free(a);
	}
	if (hooked)
		log_del_hook(log_hook, NULL);
	hooked = 0;
}

int eem_applet_stats(const char *name, struct eem_stats *st)
{
	struct eem_applet *a = applet_find(applets, name);
	if (a == NULL)
		return -1;
	*st = a->st;
	st->running = a->inst != NULL;
	return 0;
}

/* ---- show ---- */

static void fmt_time(time_t t, char *buf, size_t cap)
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, cap, "%a%b%d %H:%M:%S %Y", &tm);
}

static void show_action(struct out *o, const struct cfg_eem_action *x)
{
	switch (x->kind) {
	case EEM_ACT_CLI:
		out_printf(o, " action %s cli command \"%s\"\n", x->label, x->text);
		break;
	case EEM_ACT_WAIT:
		out_printf(o, " action %s wait %u\n", x->label, x->wait_sec);
		break;
	case EEM_ACT_SYSLOG:
		if (x->priority >= 0)
			out_printf(o, " action %s syslog priority %s msg \"%s\"\n", x->label,
				   log_sev_name(sev_of(x->priority)), x->text);
		else
			out_printf(o, " action %s syslog msg \"%s\"\n", x->label, x->text);
		break;
	case EEM_ACT_SNMP_TRAP:
		out_printf(o, " action %s snmp-trap intdata1 %lld", x->label, x->intdata1);
		if (x->has_int2)
			out_printf(o, " intdata2 %lld", x->intdata2);
		out_printf(o, " strdata \"%s\"\n", x->text);
		break;
	}
}

static const char *op_name(enum cfg_eem_op op)
{
	static const char *const n[] = {"?", "eq", "ne", "gt", "ge", "lt", "le"};
	return op >= EEM_OP_EQ && op <= EEM_OP_LE ? n[op] : "?";
}

void eem_show_registered(struct out *o)
{
	char tb[40], ip[INET_ADDRSTRLEN];
	unsigned i = 0;
	if (applets == NULL) {
		out_printf(o, "No policies registered\n");
		return;
	}
	out_printf(o, "No.  Class     Type    Event Type          Trap  Time Registered           Name\n");
	for (const struct eem_applet *a = applets; a; a = a->next) {
		fmt_time(a->registered, tb, sizeof(tb));
		out_printf(o, "%-4u applet    user    %-19s Off   %-24s  %s\n", ++i, event_name(a->event),
			   tb, a->name);
		switch (a->event) {
		case EEM_EV_SYSLOG:
			out_printf(o, " pattern {%s}", a->pattern);
			if (a->occurs > 1)
				out_printf(o, " occurs %u", a->occurs);
			if (a->period)
				out_printf(o, " period %u", a->period);
			out_printf(o, "\n");
			break;
		case EEM_EV_SNMP_NOTIF:
			inet_ntop(AF_INET, &a->src_ip, ip, sizeof(ip));
			out_printf(o, " oid {%s} oid-val {%s} op %s src-ip-address %s\n", a->oid,
				   a->oid_val, op_name(a->op), a->src_ip ? ip : "any");
			break;
		case EEM_EV_TIMER_COUNTDOWN:
		case EEM_EV_TIMER_WATCHDOG:
			out_printf(o, " time %u.000\n", a->timer_sec);
			break;
		case EEM_EV_NONE:
			break;
		}
		out_printf(o, " maxrun %u.000\n", a->maxrun);
		for (size_t k = 0; k < a->n_act; k++)
			show_action(o, &a->acts[k]);
		out_printf(o, " triggered %llu, run %llu, skipped %llu, completed %llu, aborted %llu%s\n",
			   (unsigned long long)a->st.triggered, (unsigned long long)a->st.started,
			   (unsigned long long)a->st.skipped, (unsigned long long)a->st.completed,
			   (unsigned long long)a->st.aborted, a->inst ? ", running" : "");
		out_printf(o, "\n");
	}
}

void eem_show_history(struct out *o)
{
	char tb[40];
	unsigned n = hist_n < EEM_HIST_MAX ? hist_n : EEM_HIST_MAX;
	if (n == 0) {
		out_printf(o, "No events in history\n");
		return;
	}
	out_printf(o, "No.  Job Id Proc Status       Time of Event            Event Type          Name\n");
	for (unsigned i = 0; i < n; i++) {
		const struct eem_hist *h = &hist[(hist_n - n + i) % EEM_HIST_MAX];
		int active = strcmp(h->status, "actv") == 0;
		fmt_time(h->when, tb, sizeof(tb));
		out_printf(o, "%-4u %-6u %-4s %-12s %-24s %-19s applet: %s\n", i + 1, h->job,
			   "Actv", active ? "running" : h->status, tb, h->type,
			   h->name);
	}
}

static int cmd_show_registered(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	eem_show_registered(o);
	return 0;
}

static int cmd_show_history(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	eem_show_history(o);
	return 0;
}

static int cmd_run(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	return eem_run(argv[argc - 1], o) == 0 ? 0 : 1;
}

void eem_register_commands(void)
{
	exec_register("show event manager policy registered", cmd_show_registered,
		      "Registered event manager applets");
	exec_register("show event manager history events", cmd_show_history,
		      "Recent event manager events");
	exec_register("event manager run WORD", cmd_run, "Run an applet registered with event none");
}
