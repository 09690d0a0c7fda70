/* Wiring of subsystems. Kept in one place so the start/apply/stop order is
 * visible at a glance. */
#include "daemon/subsys.h"
#include <stdlib.h>
#include <string.h>
#include "esp/dp.h"
#include "esp/metrics_dp.h"
#include "esp/show_dp.h"
#include "ike/ike.h"
#include "ike/metrics_ike.h"
#include "ops/config.h"
#include "ops/eem.h"
#include "ops/flightrec.h"
#include "ops/metrics.h"
#include "ops/snmp.h"
#include "sync/recovery.h"

void basic_register_commands(void);
void daemon_register_commands(void);
int glue_init(void);
void glue_apply(const struct config *);
void glue_shutdown(void);
void glue_register_commands(void);


void subsys_register_commands(void)
{
	basic_register_commands();
	daemon_register_commands();
	dp_register_commands();
	ike_register_commands();
	glue_register_commands();
	sync_register_commands();
	eem_register_commands();
	snmp_register_commands();
	metrics_register_commands();
	flightrec_register_commands();
}

void subsys_init(void)
{
	/* Benchmarks compare with the flight recorder off (INSYNC_FLIGHTREC=off). */
	const char *fr = getenv("INSYNC_FLIGHTREC");
	if (fr && !strcmp(fr, "off"))
		flightrec_set_enabled(0);
	dp_init();
	glue_init();
	metrics_dp_register();
	metrics_ike_register();
}

int subsys_apply(const struct config *c)
{
	int rc = dp_apply(c);

	glue_apply(c);
	rc |= eem_apply(c);
	rc |= snmp_apply(c);
	rc |= metrics_apply(c);
	return rc ? -1 : 0;
}

void subsys_shutdown(void)
{
	metrics_ike_unregister();
	metrics_dp_unregister();
	metrics_shutdown();
	snmp_stop();
	eem_shutdown();
	glue_shutdown();
	dp_shutdown();
}
