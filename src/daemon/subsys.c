/* Wiring of subsystems. Kept in one place so the start/apply/stop order is
 * visible at a glance. */
#include "daemon/subsys.h"
#include "ops/config.h"

/* Each subsystem's entry points. Weak while modules land, so a partial tree
 * still links; every one is present in a complete build. */
#define WEAK __attribute__((weak))
WEAK void basic_register_commands(void);
WEAK void daemon_register_commands(void);
WEAK int dp_init(void);
WEAK void dp_register_commands(void);
WEAK int dp_apply(const struct config *);
WEAK void dp_shutdown(void);
WEAK int glue_init(void);
WEAK void glue_apply(const struct config *);
WEAK void glue_shutdown(void);
WEAK void ike_register_commands(void);
WEAK void sync_register_commands(void);
WEAK void eem_register_commands(void);
WEAK int eem_apply(const struct config *);
WEAK void eem_shutdown(void);
WEAK void snmp_register_commands(void);
WEAK int snmp_apply(const struct config *);
WEAK void snmp_shutdown(void);
WEAK void metrics_register_commands(void);
WEAK int metrics_apply(const struct config *);
WEAK void metrics_shutdown(void);
WEAK void flightrec_register_commands(void);

#define CALL(f, ...)                                                                               \
	do {                                                                                       \
		if (f)                                                                             \
			f(__VA_ARGS__);                                                            \
	} while (0)

void subsys_register_commands(void)
{
	CALL(basic_register_commands);
	CALL(daemon_register_commands);
	CALL(dp_register_commands);
	CALL(ike_register_commands);
	CALL(sync_register_commands);
	CALL(eem_register_commands);
	CALL(snmp_register_commands);
	CALL(metrics_register_commands);
	CALL(flightrec_register_commands);
}

void subsys_init(void)
{
	CALL(dp_init);
	CALL(glue_init);
}

void subsys_apply(const struct config *c)
{
	CALL(dp_apply, c);
	CALL(glue_apply, c);
	CALL(eem_apply, c);
	CALL(snmp_apply, c);
	CALL(metrics_apply, c);
}

void subsys_shutdown(void)
{
	CALL(metrics_shutdown);
	CALL(snmp_shutdown);
	CALL(eem_shutdown);
	CALL(glue_shutdown);
	CALL(dp_shutdown);
}
