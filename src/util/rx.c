/* Bounded regex compilation (see rx.h). */
#include <stdlib.h>
#include <string.h>
#include "util/rx.h"

/* How many copies of subtrees glibc would make: the product of the interval
 * bounds and of 2 for every '+' (it compiles x+ as xx*). -1 when a repetition
 * operator follows another one (x++, x*{9}: undefined in ERE, and each one
 * doubles the tree again). Capped just above RX_MAX_REPEAT. */
static long rx_repeat(const char *s)
{
	unsigned long prod = 1, f;
	int prev_dup = 0;

	for (const char *p = s; *p; p++) {
		char *e = (char *)p;

		if (*p == '\\' && p[1]) {
			p++;
			prev_dup = 0;
			continue;
		}
		if (*p == '{' && ((p[1] >= '0' && p[1] <= '9') || p[1] == ',')) {
			unsigned long lo = strtoul(p + 1, &e, 10), hi = lo; /* {m}, {m,} count as m */
			if (*e == ',' && e[1] >= '0' && e[1] <= '9')
				hi = strtoul(e + 1, &e, 10);
			f = hi < 1 ? 1 : hi;
			p = *e == '}' ? e : p;
		} else if (*p == '+') {
			f = 2;
		} else if (*p == '*' || *p == '?') {
			f = 1;
		} else {
			prev_dup = 0;
			continue;
		}
		if (prev_dup)
			return -1;
		prev_dup = 1;
		prod = f > RX_MAX_REPEAT || prod * f > RX_MAX_REPEAT ? RX_MAX_REPEAT + 1 : prod * f;
	}
	return (long)prod;
}

/* Back references (\1..\9, a glibc extension to ERE) make matching
 * exponential: (.*)(.*)(.*)(.*)(.*)\5\4\3\2\1x took seconds on one log line. */
static int rx_has_backref(const char *s)
{
	for (const char *p = s; *p; p++)
		if (*p == '\\' && p[1]) {
			if (p[1] >= '1' && p[1] <= '9')
				return 1;
			p++;
		}
	return 0;
}

int rx_compile(regex_t *re, const char *pattern, int cflags)
{
	long r;

	if (strlen(pattern) > RX_MAX_LEN || (r = rx_repeat(pattern)) < 0 || r > RX_MAX_REPEAT)
		return REG_ESIZE;
	if (rx_has_backref(pattern))
		return REG_ESUBREG;
	return regcomp(re, pattern, cflags);
}
