/* Prometheus text exposition (format 0.0.4): the global counters and
 * histograms, the source registry and the text builders. The HTTP side is in
 * metrics_http.c. */
#include "ops/metrics.h"
#include "ops/exec.h"
#include "ops/flightrec.h"
#include "util/out.h"
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- text builders ---- */

/* HELP text escaping: backslash and newline (label values also escape "). */
static void put_escaped(struct out *o, const char *s, int quote)
{
	const char *run = s;
	for (; *s; s++) {
		const char *rep = NULL;
		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '\n')
			rep = "\\n";
		else if (quote && *s == '"')
			rep = "\\\"";
		if (rep == NULL)
			continue;
		out_write(o, run, (size_t)(s - run));
		out_write(o, rep, strlen(rep));
		run = s + 1;
	}
	out_write(o, run, (size_t)(s - run));
}

void metrics_escape_label(struct out *o, const char *v)
{
	put_escaped(o, v ? v : "", 1);
}

void metrics_family(struct out *o, const char *name, const char *type, const char *help)
{
	out_printf(o, "# HELP %s ", name);
	put_escaped(o, help ? help : "", 0);
	out_printf(o, "\n# TYPE %s %s\n", name, type);
}

/* Shortest text that reads back as the same double; +Inf/-Inf/NaN as the
 * format spells them. */
static void put_double(struct out *o, double v)
{
	char buf[40];
	if (isnan(v)) {
		out_printf(o, "NaN");
		return;
	}
	if (isinf(v)) {
		out_printf(o, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	out_printf(o, "%s", buf);
}

static void put_labels(struct out *o, const char *const *labels)
{
	if (labels == NULL || labels[0] == NULL)
		return;
	out_write(o, "{", 1);
	for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
		out_printf(o, "%s%s=\"", i ? "," : "", labels[i]);
		metrics_escape_label(o, labels[i + 1]);
		out_write(o, "\"", 1);
	}
	out_write(o, "}", 1);
}

void metrics_sample(struct out *o, const char *name, const char *const *labels, double value)
{
	out_printf(o, "%s", name);
	put_labels(o, labels);
	out_write(o, " ", 1);
	put_double(o, value);
	out_write(o, "\n", 1);
}

void metrics_sample_u64(struct out *o, const char *name, const char *const *labels, uint64_t value)
{
	out_printf(o, "%s", name);
	put_labels(o, labels);
	out_printf(o, " %llu\n", (unsigned long long)value);
}

/* ---- histograms ---- */

int metrics_hist_init(struct metrics_hist *h, const double *le, size_t n)
{
	if (n > METRICS_HIST_MAX_BUCKETS)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (isnan(le[i]) || (i && le[i] <= le[i - 1]))
			return -1;
	memset(h, 0, sizeof(*h));
	h->n = n;
	if (n)
		memcpy(h->le, le, n * sizeof(*le));
	return 0;
}

void metrics_hist_observe(struct metrics_hist *h, double v)
{
	size_t i = 0;
	if (isnan(v))
		return;
	while (i < h->n && v > h->le[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum += v;
}

#define HIST_MAX_LABELS 16

void metrics_hist_emit(struct out *o, const char *name, const char *const *labels,
		       const struct metrics_hist *h)
{
	const char *lab[2 * HIST_MAX_LABELS + 3];
	char le[40], fam[160];
	size_t nl = 0;
	for (; nl < 2 * HIST_MAX_LABELS && labels && labels[nl] && labels[nl + 1]; nl += 2) {
		lab[nl] = labels[nl];
		lab[nl + 1] = labels[nl + 1];
	}
	lab[nl] = "le";
	lab[nl + 1] = le;
	lab[nl + 2] = NULL;
	snprintf(fam, sizeof(fam), "%s_bucket", name);
	uint64_t cum = 0;
	for (size_t i = 0; i <= h->n; i++) {
		cum += h->bucket[i];
		if (i == h->n) {
			snprintf(le, sizeof(le), "+Inf");
		} else {
			snprintf(le, sizeof(le), "%.15g", h->le[i]);
			if (strtod(le, NULL) != h->le[i])
				snprintf(le, sizeof(le), "%.17g", h->le[i]);
		}
		metrics_sample_u64(o, fam, lab, cum);
	}
	lab[nl] = NULL;
	snprintf(fam, sizeof(fam), "%s_sum", name);
	metrics_sample(o, fam, lab, h->sum);
	snprintf(fam, sizeof(fam), "%s_count", name);
	metrics_sample_u64(o, fam, lab, h->count);
}

/* ---- global counters and histograms ---- */

struct counter_desc {
	const char *family, *help, *lname, *lval;
};

/* Members of one family are adjacent so render() prints its header once. */
static const struct counter_desc mc_desc[MC_COUNT] = {
	[MC_RECOVERIES_OK] = { "insync_recoveries_total", "Out-of-sync SA recoveries by result.",
			       "result", "ok" },
	[MC_RECOVERIES_FAILED] = { "insync_recoveries_total", NULL, "result", "failed" },
	[MC_INVALID_SPI_SENT] = { "insync_invalid_spi_notify_total",
				  "INVALID_SPI notifies sent and received.", "direction", "sent" },
	[MC_INVALID_SPI_RECV] = { "insync_invalid_spi_notify_total", NULL, "direction",
				  "received" },
	[MC_DPD_SENT] = { "insync_dpd_sent_total", "Dead peer detection probes sent.", NULL, NULL },
	[MC_DPD_FAILED] = { "insync_dpd_failed_total", "Peers declared dead by DPD.", NULL, NULL },
	[MC_REKEYS_IKE] = { "insync_rekeys_total", "Completed rekeys by SA kind.", "sa", "ike" },
	[MC_REKEYS_CHILD] = { "insync_rekeys_total", NULL, "sa", "child" },
	[MC_REKEY_COLLISIONS] = { "insync_rekey_collisions_total",
				  "Simultaneous rekeys resolved (RFC 7296 2.8.1).", NULL, NULL },
	[MC_IKE_SA_ESTABLISHED] = { "insync_ike_sa_established_total",
				    "IKE SAs established (initial and rekeyed).", NULL, NULL },
	[MC_IKE_SA_FAILED] = { "insync_ike_sa_failed_total",
			       "IKE SA setups that failed or timed out.", NULL, NULL },
	[MC_FLIGHTREC_DUMPS] = { "insync_flightrec_dumps_total",
				 "Flight recorder dumps written to disk0:.", NULL, NULL },
};

static const struct {
	const char *name, *help;
	size_t n;
	double le[METRICS_HIST_MAX_BUCKETS];
} mh_desc[MH_COUNT] = {
	[MH_RECOVERY_SECONDS] = { "insync_recovery_duration_seconds",
				  "Time from detecting an out-of-sync SA to traffic flowing again.",
				  10,
				  { 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60 } },
	[MH_IKE_SETUP_SECONDS] = { "insync_ike_setup_duration_seconds",
				   "Time from IKE_SA_INIT request to the first CHILD_SA.",
				   11,
				   { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 } },
};

static _Atomic uint64_t mc_val[MC_COUNT];
static pthread_mutex_t mh_lock = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_hist mh[MH_COUNT];
static int mh_ready;

void metrics_add(enum metrics_counter c, uint64_t n)
{
	if ((unsigned)c < MC_COUNT)
		atomic_fetch_add_explicit(&mc_val[c], n, memory_order_relaxed);
}

void metrics_inc(enum metrics_counter c)
{
	metrics_add(c, 1);
}

uint64_t metrics_get(enum metrics_counter c)
{
	return (unsigned)c < MC_COUNT ? atomic_load_explicit(&mc_val[c], memory_order_relaxed) : 0;
}

/* Called with mh_lock held. */
static void mh_setup(void)
{
	if (mh_ready)
		return;
	for (int i = 0; i < MH_COUNT; i++)
		metrics_hist_init(&mh[i], mh_desc[i].le, mh_desc[i].n);
	mh_ready = 1;
}

void metrics_observe(enum metrics_hist_id h, double seconds)
{
	if ((unsigned)h >= MH_COUNT)
		return;
	pthread_mutex_lock(&mh_lock);
	mh_setup();
	metrics_hist_observe(&mh[h], seconds);
	pthread_mutex_unlock(&mh_lock);
}

/* ---- sources ---- */

#define METRICS_SOURCES_MAX 32
static struct {
	metrics_source_fn fn;
	void *arg;
} sources[METRICS_SOURCES_MAX];
static size_t n_sources;

int metrics_register_source(metrics_source_fn fn, void *arg)
{
	if (fn == NULL || n_sources >= METRICS_SOURCES_MAX)
		return -1;
	sources[n_sources].fn = fn;
	sources[n_sources].arg = arg;
	n_sources++;
	return 0;
}

void metrics_unregister_source(metrics_source_fn fn, void *arg)
{
	for (size_t i = 0; i < n_sources; i++) {
		if (sources[i].fn != fn || sources[i].arg != arg)
			continue;
		memmove(&sources[i], &sources[i + 1], (n_sources - i - 1) * sizeof(sources[0]));
		n_sources--;
		return;
	}
}

void metrics_render(struct out *o)
{
	const char *prev = NULL;
	for (int i = 0; i < MC_COUNT; i++) {
		const struct counter_desc *d = &mc_desc[i];
		if (prev == NULL || strcmp(prev, d->family) != 0)
			metrics_family(o, d->family, "counter", d->help);
		prev = d->family;
		const char *lab[] = { d->lname, d->lval, NULL };
		metrics_sample_u64(o, d->family, d->lname ? lab : NULL, metrics_get(i));
	}
	struct metrics_hist snap[MH_COUNT];
	pthread_mutex_lock(&mh_lock);
	mh_setup();
	memcpy(snap, mh, sizeof(snap));
	pthread_mutex_unlock(&mh_lock);
	for (int i = 0; i < MH_COUNT; i++) {
		metrics_family(o, mh_desc[i].name, "histogram", mh_desc[i].help);
		metrics_hist_emit(o, mh_desc[i].name, NULL, &snap[i]);
	}
	metrics_family(o, "insync_flightrec_peers", "gauge", "Peers with a flight recorder ring.");
	metrics_sample_u64(o, "insync_flightrec_peers", NULL, flightrec_peers());
	for (size_t i = 0; i < n_sources; i++)
		sources[i].fn(o, sources[i].arg);
}

static int cmd_show_metrics(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	metrics_render(o);
	return 0;
}

void metrics_register_commands(void)
{
	exec_register("show metrics", cmd_show_metrics, "Prometheus metrics (as served at /metrics)");
}
