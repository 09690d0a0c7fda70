/* IKE's Prometheus families: SAs up (by state), CHILD_SAs up, half-open SAs,
 * messages, retransmissions and cookies. Event counters (rekeys, DPD,
 * INVALID_SPI, recoveries, setup latency) are global metrics fed as they
 * happen (ops/metrics.h). */
#include "ike/ike.h"
#include "ike/metrics_ike.h"
#include "ops/metrics.h"

static void ike_metrics(struct out *o, void *arg)
{
	static const enum ike_sa_state states[] = {IKE_SA_CONNECTING, IKE_SA_ESTABLISHED, IKE_SA_REKEYING,
						   IKE_SA_REKEYED, IKE_SA_DELETING};
	struct ike *ike = ike_default();
	struct ike_sa_info v[256];
	struct ike_counters c;
	uint64_t by_state[IKE_SA_DEAD + 1] = {0};
	size_t n;
	(void)arg;

	if (!ike)
		return;
	ike_x_counters(ike, &c);
	n = ike_x_list(ike, v, 256);
	for (size_t i = 0; i < n && i < 256; i++)
		by_state[v[i].state]++;
	metrics_family(o, "insync_ike_sas", "gauge", "IKE SAs by state (up to 256 counted by state; total in state=\"all\").");
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		const char *lab[] = {"state", ike_sa_state_name(states[i]), NULL};
		metrics_sample_u64(o, "insync_ike_sas", lab, by_state[states[i]]);
	}
	metrics_sample_u64(o, "insync_ike_sas", (const char *[]){"state", "all", NULL}, c.n_sa);
	metrics_family(o, "insync_child_sas", "gauge", "CHILD_SAs (IPsec SA pairs) held by IKE.");
	metrics_sample_u64(o, "insync_child_sas", NULL, c.n_child);
	metrics_family(o, "insync_ike_half_open", "gauge", "Half-open IKE SAs (responder, not yet authenticated).");
	metrics_sample_u64(o, "insync_ike_half_open", NULL, c.half_open);
	metrics_family(o, "insync_ike_messages_total", "counter", "IKE messages, by direction.");
	metrics_sample_u64(o, "insync_ike_messages_total", (const char *[]){"direction", "in", NULL}, c.rx);
	metrics_sample_u64(o, "insync_ike_messages_total", (const char *[]){"direction", "out", NULL}, c.tx);
	metrics_family(o, "insync_ike_messages_dropped_total", "counter", "IKE messages dropped, by reason.");
	metrics_sample_u64(o, "insync_ike_messages_dropped_total", (const char *[]){"reason", "malformed", NULL}, c.rx_bad);
	metrics_sample_u64(o, "insync_ike_messages_dropped_total", (const char *[]){"reason", "no_sa", NULL},
			   c.rx_dropped);
	metrics_family(o, "insync_ike_retransmits_total", "counter", "IKE requests retransmitted.");
	metrics_sample_u64(o, "insync_ike_retransmits_total", NULL, c.retransmits);
	metrics_family(o, "insync_ike_cookies_sent_total", "counter", "COOKIE challenges sent (RFC 7296 2.6).");
	metrics_sample_u64(o, "insync_ike_cookies_sent_total", NULL, c.cookies_sent);
	metrics_family(o, "insync_ike_sa_refused_total", "counter", "New IKE SAs refused by crypto ikev2 limit: requests at max-sa or max-in-negotiation-sa, and our own initiations.");
	metrics_sample_u64(o, "insync_ike_sa_refused_total", (const char *[]){"limit", "max_sa", NULL}, c.rej_sa_limit);
	metrics_sample_u64(o, "insync_ike_sa_refused_total", (const char *[]){"limit", "in_negotiation_incoming", NULL},
			   c.rej_nego_in);
	metrics_sample_u64(o, "insync_ike_sa_refused_total", (const char *[]){"limit", "own_initiation", NULL}, c.rej_out);
}

void metrics_ike_register(void)
{
	metrics_register_source(ike_metrics, NULL);
}

void metrics_ike_unregister(void)
{
	metrics_unregister_source(ike_metrics, NULL);
}
