/* libFuzzer harness for the IOS config parser. Any input must parse or fail
 * cleanly; when it parses, the printed config must parse again and print the
 * same text (the round-trip property the unit tests check on the examples). */
#include "ops/config.h"
#include "util/out.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c = NULL, *c2 = NULL;
	struct out err, t1, t2;
	out_init(&err);
	out_init(&t1);
	out_init(&t2);
	if (config_parse("fuzz.conf", (const char *)data, size, &c, &err) == 0) {
		config_print(c, 1, &t1);
		config_print(c, 0, &t2); /* masked output must not crash either */
		out_reset(&t2);
		if (config_parse("print.conf", t1.buf, t1.len, &c2, &err) != 0)
			abort(); /* printed text that does not parse back */
		config_print(c2, 1, &t2);
		if (t1.len != t2.len || memcmp(t1.buf, t2.buf, t1.len) != 0)
			abort(); /* round trip changed the model */
	}
	config_free(c);
	config_free(c2);
	out_free(&err);
	out_free(&t1);
	out_free(&t2);
	return 0;
}
