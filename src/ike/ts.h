/* Traffic selectors and narrowing (RFC 7296 §2.9). An sVTI proposes
 * 0.0.0.0/0 <=> 0.0.0.0/0; the responder answers with the intersection. */
#ifndef INSYNC_TS_H
#define INSYNC_TS_H
#include "ike/ike_msg.h"

/* Everything: any protocol, ports 0-65535, 0.0.0.0-255.255.255.255. */
void ts_any(struct ike_ts *t);
/* Intersect each of ours with each of theirs; 0 if the result is non-empty. */
int ts_narrow(const struct ike_ts *ours, int n, const struct ike_ts *theirs, int m,
	      struct ike_ts *out, int max, int *k);
/* 1 if every selector in sub lies within one of sup. */
int ts_subset(const struct ike_ts *sub, int n, const struct ike_ts *sup, int m);
#endif
