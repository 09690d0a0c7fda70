/* IKE's metrics source (metrics_ike.c). */
#ifndef INSYNC_METRICS_IKE_H
#define INSYNC_METRICS_IKE_H
void metrics_ike_register(void);
void metrics_ike_unregister(void);
#endif
