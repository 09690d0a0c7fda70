/* libFuzzer: the /metrics request-head parser, and label-value escaping on the
 * same bytes. Checks the parser's contract: a result is "need more" (0), a
 * head length within the input, or one of the documented error statuses; a
 * complete head parses the same on its own, and one byte less is incomplete.
 * An escaped label value never contains a raw newline or an unescaped quote. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ops/metrics.h"
#include "util/out.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metrics_http_req req;
	int r = metrics_http_parse(data, size, &req);
	if (!(r == 0 || r == -400 || r == -431 || r == -505 || (r > 0 && (size_t)r <= size)))
		abort();
	if (r > 0) {
		struct metrics_http_req again;
		if (metrics_http_parse(data, (size_t)r, &again) != r ||
		    memcmp(&again, &req, sizeof(req)) != 0)
			abort();
		if (metrics_http_parse(data, (size_t)r - 1, &again) != 0)
			abort();
		if (req.method < MHTTP_GET || req.method > MHTTP_OTHER || req.minor < 0 || req.minor > 9)
			abort();
	}

	char *v = malloc(size + 1);
	if (v == NULL)
		return 0;
	memcpy(v, data, size);
	v[size] = '\0';
	struct out o;
	out_init(&o);
	metrics_escape_label(&o, v);
	for (size_t i = 0; i < o.len; i++) {
		if (o.buf[i] == '\n')
			abort();
		if (o.buf[i] == '\\' && (i + 1 >= o.len || !strchr("\\\"n", o.buf[i + 1])))
			abort();
		if (o.buf[i] == '\\')
			i++;
		else if (o.buf[i] == '"')
			abort();
	}
	out_free(&o);
	free(v);
	return 0;
}
