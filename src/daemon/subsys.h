/* The subsystems the daemon drives, in dependency order: ops commands, the ESP
 * data plane, IKE, sync, the event manager and SNMP, metrics. */
#ifndef INSYNC_SUBSYS_H
#define INSYNC_SUBSYS_H
struct config;
void subsys_register_commands(void);
void subsys_init(void);
/* 0, or -1 when some part could not be applied (each part logs why). */
int subsys_apply(const struct config *c);
void subsys_shutdown(void);
#endif
