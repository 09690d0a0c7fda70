/* libFuzzer harness for the SNMP notification decoder: any byte string must
 * decode cleanly or be rejected, never read out of bounds or leak. */
#include "ops/snmp.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct snmp_notif n;
	if (snmp_notif_parse(data, size, &n) == 0 && n.n_vb > SNMP_MAX_VB)
		abort();
	return 0;
}
