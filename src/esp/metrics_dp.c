/* The data plane's Prometheus families: per tunnel (and its peer) and per SA
 * packets, bytes and drops by cause, datapath-wide drops, ESP in and out.
 * Read on the control thread with relaxed loads while workers count. */
#include <arpa/inet.h>
#include <stdio.h>
#include "esp/dp_int.h"
#include "esp/metrics_dp.h"
#include "ops/metrics.h"
#include "util/out.h"

#define LD(x) ((uint64_t)atomic_load_explicit(&(x), memory_order_relaxed))

struct sa_ctx {
	struct out *o;
	const char *family;
	int pass; /* 0 packets, 1 bytes, 2 drops */
};

static void sa_labels(const struct sad_sa *s, char *spi, size_t cap, char *tun, size_t tcap)
{
	snprintf(spi, cap, "0x%08X", s->esp->spi);
	if (s->tun)
		snprintf(tun, tcap, "Tunnel%u", s->tun->num);
	else
		snprintf(tun, tcap, "none");
}

static void sa_sample(struct out *o, const struct sad_sa *s, int inbound, int pass)
{
	char spi[16], tun[24];
	const struct esp_counters *c = &s->esp->ctr;

	sa_labels(s, spi, sizeof(spi), tun, sizeof(tun));
	if (pass == 0 || pass == 1) {
		const char *lab[] = {"tunnel", tun, "spi", spi, "direction", inbound ? "in" : "out", NULL};
		metrics_sample_u64(o, pass ? "insync_sa_bytes_total" : "insync_sa_packets_total", lab,
				   pass ? LD(c->bytes) : LD(c->pkts));
		return;
	}
	for (int d = 1; d < ESP_DROP_MAX; d++) {
		uint64_t n = LD(c->drops[d]);
		const char *lab[] = {"tunnel", tun, "spi", spi, "cause", esp_drop_name((enum esp_drop)d), NULL};
		if (n)
			metrics_sample_u64(o, "insync_sa_drops_total", lab, n);
	}
}

static void sa_in(struct sad_sa *s, void *arg)
{
	struct sa_ctx *x = arg;
	sa_sample(x->o, s, 1, x->pass);
}

static void dp_metrics(struct out *o, void *arg)
{
	static const char *const fam[] = {"insync_sa_packets_total", "insync_sa_bytes_total",
					  "insync_sa_drops_total"};
	static const char *const help[] = {"ESP packets per SA.", "ESP payload bytes per SA.",
					   "Packets dropped per SA, by cause."};
	char peer[INET_ADDRSTRLEN];
	(void)arg;

	metrics_family(o, "insync_datapath_drops_total", "counter", "Packets dropped by the data plane, by cause.");
	for (int d = 1; d < ESP_DROP_MAX; d++) {
		const char *lab[] = {"cause", esp_drop_name((enum esp_drop)d), NULL};
		metrics_sample_u64(o, "insync_datapath_drops_total", lab, dp_drops((enum esp_drop)d));
	}
	metrics_family(o, "insync_invalid_spi_packets_total", "counter",
		       "ESP packets whose SPI matched no SA (raw ESP and ESP in UDP).");
	metrics_sample_u64(o, "insync_invalid_spi_packets_total", NULL,
			   dp_drops(ESP_DROP_NO_SA_V4) + dp_drops(ESP_DROP_NO_SA_UDP) + dp_drops(ESP_DROP_NO_SA_V6));
	metrics_family(o, "insync_esp_packets_total", "counter", "ESP packets through the data plane.");
	metrics_sample_u64(o, "insync_esp_packets_total", (const char *[]){"direction", "in", NULL}, LD(dp_stats.esp_in));
	metrics_sample_u64(o, "insync_esp_packets_total", (const char *[]){"direction", "out", NULL}, LD(dp_stats.esp_out));

	static const char *const tfam[] = {"insync_tunnel_packets_total", "insync_tunnel_bytes_total",
					   "insync_tunnel_drops_total"};
	metrics_family(o, tfam[0], "counter", "Packets through a tunnel interface, per peer.");
	metrics_family(o, tfam[1], "counter", "Bytes through a tunnel interface, per peer.");
	metrics_family(o, tfam[2], "counter", "Packets a tunnel dropped, per peer and direction.");
	for (const struct dp_tunnel *t = dp_tunnels; t; t = t->next) {
		const struct sad_tun_ctr *c = &t->st->ctr;
		inet_ntop(AF_INET, &t->dst, peer, sizeof(peer));
		const char *in[] = {"tunnel", t->name, "peer", peer, "direction", "in", NULL};
		const char *out[] = {"tunnel", t->name, "peer", peer, "direction", "out", NULL};
		metrics_sample_u64(o, tfam[0], in, LD(c->in_pkts));
		metrics_sample_u64(o, tfam[0], out, LD(c->out_pkts));
		metrics_sample_u64(o, tfam[1], in, LD(c->in_bytes));
		metrics_sample_u64(o, tfam[1], out, LD(c->out_bytes));
		metrics_sample_u64(o, tfam[2], in, LD(c->in_drops));
		metrics_sample_u64(o, tfam[2], out, LD(c->out_drops));
	}
	for (int pass = 0; pass < 3; pass++) {
		struct sa_ctx x = {o, fam[pass], pass};
		metrics_family(o, fam[pass], "counter", help[pass]);
		sad_foreach_in(sa_in, &x);
		for (const struct dp_tunnel *t = dp_tunnels; t; t = t->next) {
			struct sad_sa *s = sad_out(t->st);
			if (s)
				sa_sample(o, s, 0, pass);
		}
	}
}

void metrics_dp_register(void)
{
	metrics_register_source(dp_metrics, NULL);
}

void metrics_dp_unregister(void)
{
	metrics_unregister_source(dp_metrics, NULL);
}
