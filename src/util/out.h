/* A growable text buffer for command output. Allocation failure sets oom and
 * the buffer keeps what it had; callers check once at the end. */
#ifndef INSYNC_OUT_H
#define INSYNC_OUT_H
#include <stdarg.h>
#include <stddef.h>

struct out {
	char *buf;
	size_t len, cap;
	int oom;
};

void out_init(struct out *o);
void out_free(struct out *o);
void out_reset(struct out *o);
void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void out_vprintf(struct out *o, const char *fmt, va_list ap);
void out_write(struct out *o, const void *p, size_t n);
#endif
