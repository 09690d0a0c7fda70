/* Hex test vectors into bytes, for the unit tests (cmocka's fail_msg on bad input). */
#ifndef INSYNC_TEST_HEX_H
#define INSYNC_TEST_HEX_H
#include <stdint.h>
#include <stdio.h>

static inline size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	for (; s[0] && s[1]; s += 2) {
		if (sscanf(s, "%2x", &v) != 1 || n >= cap)
			fail_msg("bad hex");
		out[n++] = (uint8_t)v;
	}
	return n;
}
#endif
