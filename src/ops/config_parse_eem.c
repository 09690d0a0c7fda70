/* Config parser: "event manager applet NAME" with its event line and action
 * lines. Actions are kept sorted by label the way cfg_label_cmp orders them;
 * regular expressions are compiled once here so that a bad one is a config
 * error, not a runtime surprise. */
#include "util/rx.h"
#include "ops/config_parse.h"
#include "ops/config_util.h"
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EEM_SEC_MAX 31536000u /* one year, IOS's bound for maxrun and wait */

int cfgp_eem(struct cfgp *p)
{
	static const char *const mgr[] = { "manager", NULL };
	static const char *const app[] = { "applet", NULL };
	char name[CFG_NAME_MAX];
	int i, col;
	if (cfgp_kw(p, mgr, &i) || cfgp_kw(p, app, &i))
		return -1;
	col = cfgp_col(p);
	if (cfgp_name(p, "applet name", name, sizeof(name)) || cfgp_eol(p))
		return -1;
	struct cfg_applet **pp = &p->c->applets;
	size_t n = 0;
	while (*pp && strcmp((*pp)->name, name) != 0) {
		pp = &(*pp)->next;
		n++;
	}
	if (p->neg) {
		if (*pp == NULL) {
			cfgp_err(p, col, "event manager applet %s is not defined", name);
			return -1;
		}
		struct cfg_applet *a = *pp;
		*pp = a->next;
		cfg_applet_free(a);
		return 0;
	}
	if (*pp) {
		cfgp_err(p, col, "event manager applet %s is already defined", name);
		return -1;
	}
	if (cfgp_list_full(p, n, "applets"))
		return -1;
	struct cfg_applet *a = cfgp_alloc(p, sizeof(*a));
	if (a == NULL)
		return -1;
	memcpy(a->name, name, sizeof(name));
	a->maxrun = CFG_DEFAULT_EEM_MAXRUN;
	*pp = a;
	cfgp_push(p, CM_APPLET, a, col);
	return 0;
}

static int quoted_text(struct cfgp *p, const char *what, char *dst, size_t cap)
{
	return cfgp_text(p, what, dst, cap);
}

static int regex_check(struct cfgp *p, int col, const char *re)
{
	regex_t rx;
	int r;

	memset(&rx, 0, sizeof(rx));
	r = rx_compile(&rx, re, REG_EXTENDED | REG_NOSUB);
	if (r != 0) {
		char msg[128];
		regerror(r, &rx, msg, sizeof(msg));
		cfgp_err(p, col, "%% Invalid regular expression: %s", msg);
		return -1;
	}
	regfree(&rx);
	return 0;
}

/* Dotted decimal OID of 2..128 arcs; a trailing '.' makes it a prefix. */
static int oid_check(struct cfgp *p, const struct cfg_word *w)
{
	const char *s = w->s;
	int arcs = 0, ok = !w->quoted && w->len < sizeof(((struct cfg_applet *)0)->oid);
	while (ok && *s) {
		int nd = 0;
		uint64_t v = 0;
		while (*s >= '0' && *s <= '9' && nd <= 10) {
			v = v * 10 + (uint64_t)(*s++ - '0');
			nd++;
		}
		ok = nd > 0 && nd <= 10 && v <= 0xFFFFFFFFu && (*s == '.' || *s == '\0');
		arcs++;
		if (ok && *s == '.')
			s++;
	}
	if (!ok || arcs < 2 || arcs > 128) {
		cfgp_err(p, w->col, "%% Invalid input \"%.64s\": expected an OID (dotted decimal, trailing '.' for a prefix)",
			 w->s);
		return -1;
	}
	return 0;
}

static int maxrun(struct cfgp *p, struct cfg_applet *e)
{
	return cfgp_u32(p, "maxrun seconds", 1, EEM_SEC_MAX, &e->maxrun);
}

static int event_line(struct cfgp *p, struct cfg_applet *a, struct cfgp_frame *f)
{
	static const char *const kinds[] = { "none", "snmp-notification", "syslog", "timer", NULL };
	static const char *const syslog_kw[] = { "maxrun", "occurs", "pattern", "period", NULL };
	static const char *const snmp_kw[] = { "maxrun", "oid", "oid-val", "op", "src-ip-address",
					       NULL };
	static const char *const ops[] = { "eq", "ne", "gt", "ge", "lt", "le", NULL };
	static const char *const timers[] = { "countdown", "watchdog", NULL };
	static const char *const time_kw[] = { "time", NULL };
	static const char *const mr_kw[] = { "maxrun", NULL };
	struct cfg_applet e; /* the event fields of a, filled here first */
	int k, i, col = cfgp_col(p), seen = 0;

	if (p->neg) { /* "no event" clears the event */
		if (cfgp_more(p) && cfgp_kw(p, kinds, &k))
			return -1;
		p->pos = p->ln->nwords; /* the rest names the event being removed */
		a->event = 0;
		f->aux_line[0] = 0;
		return 0;
	}
	memset(&e, 0, sizeof(e));
	e.maxrun = CFG_DEFAULT_EEM_MAXRUN;
	if (cfgp_kw(p, kinds, &k))
		return -1;
	switch (k) {
	case 0:
		e.event = EEM_EV_NONE;
		if (cfgp_opt_kw(p, mr_kw, &i) && maxrun(p, &e))
			return -1;
		break;
	case 1:
		e.event = EEM_EV_SNMP_NOTIF;
		while (cfgp_more(p)) {
			int c2 = cfgp_col(p);
			if (cfgp_kw(p, snmp_kw, &i))
				return -1;
			if (seen & (1 << i)) {
				cfgp_err(p, c2, "%% Invalid input \"%s\": given twice", snmp_kw[i]);
				return -1;
			}
			seen |= 1 << i;
			const struct cfg_word *w;
			if (i == 0 && maxrun(p, &e))
				return -1;
			if (i == 1 && (cfgp_word(p, "OID", &w) || oid_check(p, w) ||
				       (memcpy(e.oid, w->s, w->len + 1), 0)))
				return -1;
			if (i == 2 && quoted_text(p, "oid-val", e.oid_val, sizeof(e.oid_val)))
				return -1;
			if (i == 3) {
				int op;
				if (cfgp_kw(p, ops, &op))
					return -1;
				e.op = (enum cfg_eem_op)(op + 1);
			}
			if (i == 4 && cfgp_ipv4(p, "source address", &e.src_ip))
				return -1;
		}
		if ((seen & 0xe) != 0xe) {
			cfgp_err(p, cfgp_col(p), "%% Incomplete command: expected %s",
				 !(seen & 2) ? "oid" : !(seen & 4) ? "oid-val" : "op");
			return -1;
		}
		break;
	case 2:
		e.event = EEM_EV_SYSLOG;
		while (cfgp_more(p)) {
			int c2 = cfgp_col(p);
			if (cfgp_kw(p, syslog_kw, &i))
				return -1;
			if (seen & (1 << i)) {
				cfgp_err(p, c2, "%% Invalid input \"%s\": given twice", syslog_kw[i]);
				return -1;
			}
			seen |= 1 << i;
			if (i == 0 && maxrun(p, &e))
				return -1;
			if (i == 1 && cfgp_u32(p, "occurrences", 1, 32, &e.occurs))
				return -1;
			if (i == 2) {
				int c3 = cfgp_col(p);
				if (quoted_text(p, "pattern", e.pattern, sizeof(e.pattern)) ||
				    regex_check(p, c3, e.pattern))
					return -1;
			}
			if (i == 3 && cfgp_u32(p, "period seconds", 1, EEM_SEC_MAX, &e.period))
				return -1;
		}
		if (!(seen & 4)) {
			cfgp_err(p, cfgp_col(p), "%% Incomplete command: expected pattern");
			return -1;
		}
		break;
	default:
		if (cfgp_kw(p, timers, &i) || cfgp_kw(p, time_kw, &k) ||
		    cfgp_u32(p, "seconds", 1, EEM_SEC_MAX, &e.timer_sec))
			return -1;
		e.event = i == 0 ? EEM_EV_TIMER_COUNTDOWN : EEM_EV_TIMER_WATCHDOG;
		if (cfgp_opt_kw(p, mr_kw, &i) && maxrun(p, &e))
			return -1;
		break;
	}
	if (cfgp_eol(p))
		return -1;
	if (a->event) {
		cfgp_err(p, col, "applet %s already has an event (line %d)", a->name, f->aux_line[0]);
		return -1;
	}
	a->event = e.event;
	memcpy(a->pattern, e.pattern, sizeof(a->pattern));
	a->occurs = e.occurs;
	a->period = e.period;
	memcpy(a->oid, e.oid, sizeof(a->oid));
	memcpy(a->oid_val, e.oid_val, sizeof(a->oid_val));
	a->op = e.op;
	a->src_ip = e.src_ip;
	a->timer_sec = e.timer_sec;
	a->maxrun = e.maxrun;
	f->aux_line[0] = p->ln->lineno;
	return 0;
}

static int intdata(struct cfgp *p, long long *v)
{
	const struct cfg_word *w;
	if (cfgp_word(p, "integer", &w))
		return -1;
	char *end;
	errno = 0;
	long long r = strtoll(w->s, &end, 10);
	if (w->quoted || w->len == 0 || *end || errno || r < -2147483648LL || r > 2147483647LL ||
	    !(w->s[0] == '-' || (w->s[0] >= '0' && w->s[0] <= '9'))) {
		cfgp_err(p, w->col, "%% Invalid input \"%.64s\": expected an integer (-2147483648-2147483647)",
			 w->s);
		return -1;
	}
	*v = r;
	return 0;
}

static int action_body(struct cfgp *p, struct cfg_eem_action *x)
{
	static const char *const kinds[] = { "cli", "snmp-trap", "syslog", "wait", NULL };
	static const char *const cmd[] = { "command", NULL };
	static const char *const sys_kw[] = { "msg", "priority", NULL };
	static const char *const trap_kw[] = { "intdata1", "intdata2", "strdata", NULL };
	int k, i, seen = 0;
	if (cfgp_kw(p, kinds, &k))
		return -1;
	switch (k) {
	case 0:
		x->kind = EEM_ACT_CLI;
		return cfgp_kw(p, cmd, &i) || quoted_text(p, "command", x->text, sizeof(x->text));
	case 1:
		x->kind = EEM_ACT_SNMP_TRAP;
		while (cfgp_more(p)) {
			int col = cfgp_col(p);
			if (cfgp_kw(p, trap_kw, &i))
				return -1;
			if (seen & (1 << i)) {
				cfgp_err(p, col, "%% Invalid input \"%s\": given twice", trap_kw[i]);
				return -1;
			}
			seen |= 1 << i;
			if (i == 0 && intdata(p, &x->intdata1))
				return -1;
			if (i == 1 && intdata(p, &x->intdata2))
				return -1;
			if (i == 2 && quoted_text(p, "strdata", x->text, sizeof(x->text)))
				return -1;
		}
		x->has_int2 = (seen & 2) != 0;
		return 0;
	case 2: /* syslog [priority P] msg "TEXT" [priority P]: both orders occur */
		x->kind = EEM_ACT_SYSLOG;
		while (cfgp_more(p)) {
			int col = cfgp_col(p);
			if (cfgp_kw(p, sys_kw, &i))
				return -1;
			if (seen & (1 << i)) {
				cfgp_err(p, col, "%% Invalid input \"%s\": given twice", sys_kw[i]);
				return -1;
			}
			seen |= 1 << i;
			if (i == 0 && quoted_text(p, "message", x->text, sizeof(x->text)))
				return -1;
			if (i == 1) {
				const struct cfg_word *w;
				if (cfgp_word(p, "priority", &w))
					return -1;
				x->priority = w->quoted ? -1 : cfg_level_parse(w->s);
				if (x->priority < 0) {
					cfgp_err(p, w->col,
						 "%% Invalid input \"%.64s\": expected a priority (emergencies, alerts, critical, errors, warnings, notifications, informational, debugging)",
						 w->s);
					return -1;
				}
			}
		}
		if (!(seen & 1)) {
			cfgp_err(p, cfgp_col(p), "%% Incomplete command: expected msg");
			return -1;
		}
		return 0;
	default:
		x->kind = EEM_ACT_WAIT;
		return cfgp_u32(p, "seconds", 1, EEM_SEC_MAX, &x->wait_sec);
	}
}

static int action_line(struct cfgp *p, struct cfg_applet *a)
{
	struct cfg_eem_action x;
	const struct cfg_word *w;
	memset(&x, 0, sizeof(x));
	x.priority = -1;
	if (cfgp_word(p, "action label", &w))
		return -1;
	if (w->quoted || w->len >= sizeof(x.label) || cfg_label_parse(w->s, x.label_key) < 0) {
		cfgp_err(p, w->col, "%% Invalid input \"%.64s\": expected an action label (like 1, 8.1 or 1.0)",
			 w->s);
		return -1;
	}
	memcpy(x.label, w->s, w->len + 1);
	struct cfg_eem_action **pp = &a->actions, *dup = NULL;
	size_t n = 0;
	for (struct cfg_eem_action *o = a->actions; o; o = o->next, n++)
		if (strcmp(o->label, x.label) == 0)
			dup = o;
	if (p->neg) {
		p->pos = p->ln->nwords; /* "no action L ..." names the action it removes */
		if (dup == NULL) {
			cfgp_err(p, w->col, "action %s is not defined", x.label);
			return -1;
		}
		while (*pp != dup)
			pp = &(*pp)->next;
		*pp = dup->next;
		free(dup);
		return 0;
	}
	if (action_body(p, &x) || cfgp_eol(p))
		return -1;
	if (dup) {
		cfgp_err(p, w->col, "action label %s is already used in applet %s", x.label, a->name);
		return -1;
	}
	if (n >= CFG_EEM_ACTIONS_MAX) {
		cfgp_err(p, w->col, "too many actions in one applet (more than %d)", CFG_EEM_ACTIONS_MAX);
		return -1;
	}
	struct cfg_eem_action *na = cfgp_alloc(p, sizeof(*na));
	if (na == NULL)
		return -1;
	*na = x;
	while (*pp && cfg_label_cmp(*pp, na) < 0)
		pp = &(*pp)->next;
	na->next = *pp;
	*pp = na;
	return 0;
}

int cfgp_eem_sub(struct cfgp *p)
{
	static const char *const kws[] = { "action", "event", "no", NULL };
	struct cfgp_frame *f = &p->st[p->depth];
	int k;
	if (cfgp_cmd(p, kws, &k))
		return -1;
	return k == 0 ? action_line(p, f->obj) : event_line(p, f->obj, f);
}

int cfgp_eem_close(struct cfgp *p, struct cfgp_frame *f)
{
	struct cfg_applet *a = f->obj;
	if (a->event == 0) {
		cfgp_err_at(p, f->line, f->col,
			    "event manager applet %s is incomplete: expected event", a->name);
		return -1;
	}
	return 0;
}
