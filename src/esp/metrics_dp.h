/* The data plane's metrics source (metrics_dp.c). */
#ifndef INSYNC_METRICS_DP_H
#define INSYNC_METRICS_DP_H
void metrics_dp_register(void);
void metrics_dp_unregister(void);
#endif
