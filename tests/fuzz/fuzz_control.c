/* libFuzzer: control-protocol requests, then the exec line parser on whatever
 * passes validation (with a representative command table). */
#include <stddef.h>
#include <stdint.h>
#include "ops/control.h"
#include "ops/exec.h"

static int h(struct exec_ctx *c, int argc, char **argv, struct out *o)
{
	out_printf(o, "a\nb %d\n", argc);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	char line[CTL_REQ_MAX];
	int type;
	if (!init) {
		exec_register("show crypto ipsec sa", h, "");
		exec_register("show crypto ipsec sa peer A.B.C.D", h, "");
		exec_register("show crypto isakmp sa", h, "");
		exec_register("terminal length NUM", h, "");
		exec_register("event manager run WORD", h, "");
		exec_register("debug LINE", h, "");
		exec_set_datadir("/nonexistent-insync-fuzz");
		init = 1;
	}
	if (control_parse_request(data, size, &type, line, sizeof(line)) < 0)
		return 0;
	struct out o;
	struct exec_ctx ctx = {0};
	out_init(&o);
	if (type == CTL_EXEC)
		exec_run(&ctx, line, &o);
	else if (type == CTL_HELP)
		exec_help(line, &o);
	else
		exec_complete(line, &o);
	out_free(&o);
	return 0;
}
