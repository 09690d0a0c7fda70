/* Traffic selector arithmetic. */
#include "ike/ts.h"

void ts_any(struct ike_ts *t)
{
	*t = (struct ike_ts){0, 0, 0xffff, 0, 0xffffffffu};
}

static int ts_isect(const struct ike_ts *a, const struct ike_ts *b, struct ike_ts *o)
{
	if (a->proto && b->proto && a->proto != b->proto)
		return -1;
	o->proto = a->proto ? a->proto : b->proto;
	o->sport = a->sport > b->sport ? a->sport : b->sport;
	o->eport = a->eport < b->eport ? a->eport : b->eport;
	o->saddr = a->saddr > b->saddr ? a->saddr : b->saddr;
	o->eaddr = a->eaddr < b->eaddr ? a->eaddr : b->eaddr;
	/* OPAQUE ports (start 65535, end 0) never intersect a range here. */
	if (o->sport > o->eport || o->saddr > o->eaddr)
		return -1;
	return 0;
}

int ts_narrow(const struct ike_ts *ours, int n, const struct ike_ts *theirs, int m,
	      struct ike_ts *out, int max, int *k)
{
	*k = 0;
	for (int j = 0; j < m; j++)
		for (int i = 0; i < n && *k < max; i++)
			if (!ts_isect(&ours[i], &theirs[j], &out[*k]))
				(*k)++;
	return *k ? 0 : -1;
}

int ts_subset(const struct ike_ts *sub, int n, const struct ike_ts *sup, int m)
{
	for (int i = 0; i < n; i++) {
		int in = 0;
		for (int j = 0; j < m && !in; j++)
			in = (!sup[j].proto || sup[j].proto == sub[i].proto) &&
			     sub[i].sport >= sup[j].sport && sub[i].eport <= sup[j].eport &&
			     sub[i].saddr >= sup[j].saddr && sub[i].eaddr <= sup[j].eaddr;
		if (!in)
			return 0;
	}
	return 1;
}
