#include "util/out.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void out_init(struct out *o)
{
	memset(o, 0, sizeof(*o));
}

void out_free(struct out *o)
{
	if (o == NULL)
		return;
	free(o->buf);
	memset(o, 0, sizeof(*o));
}

void out_reset(struct out *o)
{
	o->len = 0;
	if (o->buf)
		o->buf[0] = '\0';
}

static int out_grow(struct out *o, size_t need)
{
	if (o->oom)
		return -1;
	if (o->cap - o->len > need)
		return 0;
	size_t cap = o->cap ? o->cap : 256;
	while (cap - o->len <= need)
		cap *= 2;
	char *n = realloc(o->buf, cap);
	if (n == NULL) {
		o->oom = 1;
		return -1;
	}
	o->buf = n;
	o->cap = cap;
	return 0;
}

void out_write(struct out *o, const void *p, size_t n)
{
	if (out_grow(o, n + 1))
		return;
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

void out_vprintf(struct out *o, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0 || out_grow(o, (size_t)n + 1))
		return;
	vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	o->len += (size_t)n;
}

void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	out_vprintf(o, fmt, ap);
	va_end(ap);
}
